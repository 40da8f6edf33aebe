"""backprop.gradient and backprop.planted_bugs: numerical gradients, the check, its verdicts, the h sweep,
and the planted bugs it must catch. Real MNIST images where the book uses them (3 bundled images)."""
import numpy as np
import pytest

from backprop.datasets import load_dataset
from backprop.gradient import (
    CheckConfig, SWEEP_HS, fast_numerical_gradient, gradient_check, h_sweep, numerical_gradient, run_check,
    run_sweep, verdict,
)
from backprop.net import MultiLayerNet, TwoLayerNet
from backprop.planted_bugs import BUGS, BugNotApplicable, build_net, plant

EPS = np.finfo(np.float64).eps


@pytest.fixture(scope="module")
def mnist3():
    """The book's gradient check input: 3 MNIST images (bundled sample), pixels in [0, 1], integer labels."""
    data = load_dataset("sample")
    return data.x_train[:3].reshape(3, -1) / 255.0, data.t_train[:3].astype(np.intp)


# --- numerical_gradient: the book's loop ----------------------------------------------------------

def test_numerical_gradient_is_a_central_difference_with_h_1e_4():
    # For x^3 the central difference is exactly 3x^2 + h^2; a forward difference would add 3xh.
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    g = numerical_gradient(lambda v: float(np.sum(v ** 3)), x)
    np.testing.assert_allclose(g, 3 * x ** 2 + 1e-8, rtol=1e-7)
    assert g.shape == x.shape and g.dtype == np.float64


def test_numerical_gradient_restores_every_entry_and_perturbs_one_at_a_time():
    x = np.random.default_rng(0).standard_normal((3, 4))
    original = x.copy()
    changed = []

    def f(v):
        changed.append(int(np.sum(v != original)))
        return float(np.sum(np.sin(v)))

    g = numerical_gradient(f, x)
    assert np.array_equal(x, original)  # bit for bit
    assert changed == [1] * (2 * x.size)  # exactly one entry moved per evaluation, twice per entry
    np.testing.assert_allclose(g, np.cos(x), rtol=1e-7)


def test_numerical_gradient_divides_float32_by_the_step_actually_stored():
    # float32 cannot store 300 +- 1e-4 exactly: the stored step is 1.83e-4, not 2e-4 (at 1000: 2.44e-4).
    x = np.array([1.0, 300.0, 1000.0], dtype=np.float32)
    f = lambda v: float(np.sum(v.astype(np.float64) ** 2))  # noqa: E731 - evaluated in float64
    g = numerical_gradient(f, x)
    np.testing.assert_allclose(g, 2 * x.astype(np.float64), rtol=1e-6)
    assert x.tolist() == [1.0, 300.0, 1000.0]
    # Dividing by 2h instead would be off by the rounding of the step: 8% at 300, 22% at 1000.
    for v in (300.0, 1000.0):
        up, down = np.float32(v) + np.float32(1e-4), np.float32(v) - np.float32(1e-4)
        assert abs((float(up) ** 2 - float(down) ** 2) / 2e-4 / (2 * v) - 1) > 0.05


def test_numerical_gradient_gives_nan_where_h_is_below_the_dtype_resolution():
    x = np.array([1.0, 0.0], dtype=np.float32)
    g = numerical_gradient(lambda v: float(np.sum(v.astype(np.float64) ** 2)), x, h=1e-12)
    assert np.isnan(g[0])  # 1 + 1e-12 rounds to 1 in float32: no step, no value (not a ZeroDivisionError)
    assert g[1] == 0.0  # 0 +- 1e-12 is representable: a true step, f'(0) = 0
    assert x.tolist() == [1.0, 0.0]


# --- the fast numerical gradient equals the book's loop -------------------------------------------

@pytest.mark.parametrize("sizes, activation, n, decay", [
    ((30, [8], 5), "relu", 4, 0.0),
    ((30, [8], 5), "sigmoid", 1, 0.0),
    ((20, [9, 7], 4), "relu", 3, 0.1),
    ((20, [9, 7], 4), "sigmoid", 5, 0.0),
    ((12, [16], 3), "relu", 2, 0.0),
])
def test_fast_numerical_gradient_equals_the_loop(sizes, activation, n, decay):
    rng = np.random.default_rng(1)
    net = MultiLayerNet(*sizes, weight_init_std=0.3, activation=activation, weight_decay_lambda=decay, seed=2)
    x, t = rng.random((n, sizes[0])), rng.integers(0, sizes[2], n)
    fast = fast_numerical_gradient(net, x, t)
    f = net.loss(x, t)
    before = {k: p.copy() for k, p in net.params.items()}
    for key, p in net.params.items():
        loop = numerical_gradient(lambda _: net.loss(x, t), p).reshape(-1)
        values, kinks = fast[key]
        # 1e-9 relative, plus the loop's own round-off: f(w+h) - f(w-h) loses ~eps*|f| per evaluation.
        bound = 1e-9 * np.abs(loop) + 4 * EPS * abs(f) / 2e-4
        assert np.all(np.abs(values - loop) <= bound), key
        assert kinks.shape == values.shape
    assert all(np.array_equal(before[k], net.params[k]) for k in before)  # fast touches nothing


def test_fast_numerical_gradient_on_mnist_equals_the_loop_per_entry(mnist3):
    x, t = mnist3
    net = TwoLayerNet(784, 50, 10, seed=0)
    idx = {"W1": np.arange(0, 39200, 97), "b1": np.arange(50), "W2": np.arange(500), "b2": np.arange(10)}
    fast = fast_numerical_gradient(net, x, t, indices=idx)
    f = net.loss(x, t)
    for key, flat in idx.items():
        loop = numerical_gradient(lambda _: net.loss(x, t), net.params[key], indices=flat).reshape(-1)[flat]
        assert np.all(np.abs(fast[key][0] - loop) <= 1e-9 * np.abs(loop) + 4 * EPS * f / 2e-4), key


# --- gradient_check on real MNIST (the book's section 5.7.3) --------------------------------------

@pytest.mark.parametrize("activation, worst", [("relu", 1e-8), ("sigmoid", 1e-6)])
def test_gradient_check_on_three_mnist_images(mnist3, activation, worst):
    x, t = mnist3
    net = TwoLayerNet(784, 50, 10, activation=activation, seed=0)
    check = gradient_check(net, x, t, h=1e-4)
    assert list(check.params) == ["W1", "b1", "W2", "b2"]
    for p in check.params.values():
        assert p.n_checked == np.prod(p.shape)
        # Kinks are handled by detection: an entry whose ReLU inputs change sign between the +h and -h
        # passes would be flagged and left out of the verdict. At h = 1e-4 none occur in this net (the
        # pre-activations are far from 0 relative to the change h * x), so every entry is counted.
        assert p.n_kinks == 0 and p.counted.all()
        assert p.max_rel_err < worst, (p.name, p.max_rel_err)  # ReLU ~1e-9; Sigmoid < 4e-7 (truncation, h^2)
        assert p.verdict in ("excellent", "acceptable")
    assert check.passed and check.failed == []
    # The book's figure, mean |backprop - numerical|, is tiny for every parameter.
    assert max(p.mean_abs_diff for p in check.params.values()) < 1e-9


def test_kinks_at_large_h_are_flagged_by_both_methods_and_excluded_from_the_verdict(mnist3):
    x, t = mnist3
    net = TwoLayerNet(784, 50, 10, seed=0)
    fast = gradient_check(net, x, t, h=1e-2)
    # At h = 1e-2 the nudge reaches ReLU's corner for some hidden units: exactly these entries.
    assert (fast.params["W1"].n_kinks, fast.params["b1"].n_kinks) == (666, 7)
    assert fast.params["W2"].n_kinks == fast.params["b2"].n_kinks == 0
    assert fast.passed  # kinks excluded: the rest agree (truncation error ~h^2 at most 1e-4)
    included = fast.with_kinks_excluded(False)
    assert set(included.failed) == {"W1", "b1"}  # the straddling entries disagree with backprop
    assert included.params["W1"].max_rel_err > 0.5
    # The book's loop flags the same entries (it compares the ReLU masks of its two forward passes).
    loop = gradient_check(net, x, t, h=1e-2, method="loop", entries=400, seed=3)
    sampled = gradient_check(net, x, t, h=1e-2, method="fast", entries=400, seed=3)
    for key in ("W1", "b1"):
        assert np.array_equal(loop.params[key].kinks, sampled.params[key].kinks)
    assert loop.params["W1"].n_kinks > 0


def test_sampling_takes_k_entries_per_parameter_and_reports_progress(mnist3):
    x, t = mnist3
    net = TwoLayerNet(784, 50, 10, seed=0)
    for method in ("fast", "loop"):
        seen = []
        check = gradient_check(net, x, t, entries=20, method=method, progress=seen.append)
        assert [p.n_checked for p in check.params.values()] == [20, 20, 20, 10]  # b2 has only 10
        assert check.method == method and check.passed
        assert seen == sorted(seen) and seen[-1] == pytest.approx(1.0)


def test_verdict_thresholds():
    assert [verdict(v) for v in (0, 9.9e-8, 1e-7, 9.9e-5, 1e-4, 1e-2, 1.01e-2, np.inf, np.nan)] == [
        "excellent", "excellent", "acceptable", "acceptable", "suspicious", "suspicious", "wrong", "wrong", "wrong"]


def test_gradient_check_refuses_bad_arguments(mnist3):
    x, t = mnist3
    net = TwoLayerNet(784, 5, 10, seed=0)
    for kwargs in ({"h": 0}, {"h": -1e-4}, {"h": np.nan}, {"entries": 0}, {"method": "magic"}):
        with pytest.raises(ValueError):
            gradient_check(net, x, t, **kwargs)
    with pytest.raises(ValueError):
        gradient_check(net, x, t[:2])


def test_float32_below_resolution_is_reported_not_crashed(mnist3):
    x, t = mnist3
    net = TwoLayerNet(784, 50, 10, dtype=np.float32, seed=0)
    check = gradient_check(net, x.astype(np.float32), t, h=1e-11)
    w2 = check.params["W2"]
    assert w2.n_unresolved > 0  # w + 1e-11 rounds to w for weights ~0.01
    assert not w2.counted[w2.unresolved].any()
    assert check.params["b2"].n_unresolved == 0  # b = 0 can move by 1e-11


# --- planted bugs ---------------------------------------------------------------------------------

@pytest.mark.parametrize("key", list(BUGS))
def test_each_planted_bug_is_caught_and_only_where_it_should_be(mnist3, key):
    x, t = mnist3
    bug = BUGS[key]
    net = build_net(key, input_size=784, hidden_size=50, output_size=10, activation=bug.activation or "relu",
                    seed=0)
    check = gradient_check(net, x, t, h=1e-4)
    assert set(check.failed) == set(bug.corrupts) == set(bug.expected(3))
    for name, p in check.params.items():
        if name in bug.corrupts:
            assert p.max_rel_err > 1e-2 and p.verdict == "wrong", name
        else:
            assert p.max_rel_err < 1e-6, name


def test_softmax_bug_is_off_by_the_batch_size_and_invisible_with_one_image(mnist3):
    x, t = mnist3
    bug = BUGS["softmax_no_batch_divide"]
    for n in (2, 3):
        net = build_net(bug.key, input_size=784, hidden_size=50, output_size=10, seed=0)
        check = gradient_check(net, x[:n], t[:n])
        for p in check.params.values():
            assert p.max_rel_err == pytest.approx((n - 1) / n, rel=1e-6)
    net = build_net(bug.key, input_size=784, hidden_size=50, output_size=10, seed=0)
    assert gradient_check(net, x[:1], t[:1]).passed  # x / 1 = x: nothing to catch
    assert bug.expected(1) == () and bug.min_batch == 2


def test_db_bug_reports_the_wrong_shape_and_still_fails_when_shapes_happen_to_match():
    data = load_dataset("sample")
    net = build_net("affine_db_wrong_axis", input_size=784, hidden_size=20, output_size=10, seed=0)
    x, t = data.x_train[:10].reshape(10, -1) / 255.0, data.t_train[:10].astype(np.intp)
    check = gradient_check(net, x[:3], t[:3])
    b2 = check.params["b2"]
    assert b2.shape_error == (3,) and b2.verdict == "wrong" and b2.max_rel_err == np.inf
    assert np.isnan(b2.mean_abs_diff)
    row = check.rows()[3]
    assert row["shape error"] == (3,) and row["verdict"] == "wrong"
    # With N = 10 the shape matches b2's (10,), but each entry is a sum of (y - t) / N over classes: 0.
    check10 = gradient_check(net, x, t)
    assert check10.params["b2"].shape_error is None
    assert np.all(check10.params["b2"].backprop == pytest.approx(0, abs=1e-15))
    assert check10.failed == ["b2"]


def test_plant_keeps_parameters_shared_and_refuses_a_missing_layer():
    net = TwoLayerNet(784, 50, 10, seed=0)
    plant(net, "affine_db_wrong_axis")
    assert net.layers["Affine2"].W is net.params["W2"] and net.layers["Affine2"].b is net.params["b2"]
    assert list(net.layers) == ["Affine1", "Relu1", "Affine2"]
    with pytest.raises(BugNotApplicable, match="activation='sigmoid'"):
        plant(net, "sigmoid_backward_from_input")
    x = np.random.default_rng(0).random((3, 784))
    t = np.array([1, 2, 3])
    correct = TwoLayerNet(784, 50, 10, seed=0)
    assert net.loss(x, t) == correct.loss(x, t)  # forward untouched


# --- the h sweep ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sweep(mnist3):
    x, t = mnist3
    return h_sweep(TwoLayerNet(784, 50, 10, seed=0), x, t, entries=20, seed=0)


def test_h_sweep_shows_the_v_in_float64(sweep):
    assert sweep.hs[0] == pytest.approx(1e-1) and sweep.hs[-1] == pytest.approx(1e-12)
    for key, err in sweep.errors["float64"].items():
        k = int(np.argmin(err))
        assert 0 < k < len(err) - 1, key  # the minimum lies between the ends
        assert err[0] >= 100 * err[k] and err[-1] >= 100 * err[k], (key, err[0], err[k], err[-1])
    assert sweep.resolution_limit("float64") is None


def test_h_sweep_in_float32_has_a_gap_below_resolution_and_a_higher_minimum(sweep):
    limit = sweep.resolution_limit("float32")
    assert limit is not None and 1e-11 < limit < 1e-8
    w1 = sweep.errors["float32"]["W1"]
    assert np.isnan(w1[-1]) and np.all(np.isnan(w1[sweep.hs < limit]))  # a gap, not a crash
    for key in sweep.errors["float32"]:
        assert np.nanmin(sweep.errors["float32"][key]) > 100 * np.nanmin(sweep.errors["float64"][key])
        h32, _ = sweep.minimum("float32", key)
        h64, _ = sweep.minimum("float64", key)
        assert h32 > h64  # float32's best h is larger


# --- the page's configuration ---------------------------------------------------------------------

def test_check_config_problems_name_what_is_wrong():
    assert CheckConfig().problems(5000) == []
    codes = lambda cfg, n=5000: [code for code, _ in cfg.problems(n)]  # noqa: E731
    assert codes(CheckConfig(h=0)) == ["h"]
    assert codes(CheckConfig(batch_size=6000)) == ["batch_large"]
    assert codes(CheckConfig(batch_size=3, first_image=4999)) == ["images_past_end"]
    assert codes(CheckConfig(batch_size=0)) == ["batch_small"]
    assert codes(CheckConfig(bug="sigmoid_backward_from_input")) == ["bug_activation"]
    assert codes(CheckConfig(bug="nonsense", entries=0)) == ["entries", "bug"]
    assert CheckConfig(entries=30).n_entries() == 30 + 30 + 30 + 10
    assert CheckConfig().n_entries() == 39_760
    with pytest.raises(ValueError, match="batch_large"):
        run_check(CheckConfig(batch_size=20), np.zeros((5, 28, 28), np.uint8), np.zeros(5, np.uint8))


def test_run_check_and_run_sweep_use_the_configured_images():
    data = load_dataset("sample")
    check = run_check(CheckConfig(first_image=10, batch_size=4, hidden_size=8, entries=5, bug="relu_mask_wrong_side"),
                      data.x_train, data.t_train)
    assert check.n_images == 4 and set(check.failed) == {"W1", "b1"}
    sweep = run_sweep(CheckConfig(hidden_size=8, bug="relu_mask_wrong_side"), data.x_train, data.t_train,
                      entries=3)
    assert len(sweep.hs) == len(SWEEP_HS)
    assert np.nanmin(sweep.errors["float64"]["W1"]) < 1e-6  # the sweep ignores the bug


# --- figures (pure: data in, Plotly figure out) ---------------------------------------------------

@pytest.fixture(scope="module")
def labels():
    import tomllib
    from pathlib import Path

    with open(Path(__file__).parents[1] / "pages" / "locales" / "en" / "gradient_check.toml", "rb") as f:
        return tomllib.load(f)


def test_number_formatting_is_scientific_and_shows_where_values_differ():
    from backprop.figures.gradcheck import fmt, fmt_pair

    assert [fmt(v) for v in (4.4194e-10, -1.99e-6, 2.0, 0, np.nan, np.inf)] == [
        "4.42e\u221210", "\u22121.99e\u221206", "2.00e+00", "0", "—", "∞"]
    assert fmt_pair(0.1, 0.3) == ("1.00e\u221201", "3.00e\u221201")  # far apart: 3 digits
    a, n = fmt_pair(-2.7265004e-05, -2.7262168e-05)  # 1e-4 apart: enough digits to see it
    assert a != n and a.startswith("\u22122.726")


def test_heatmaps_draw_backprop_numerical_difference_with_gaps_and_kinks(mnist3, labels):
    import plotly.graph_objects as go

    from backprop.figures.gradcheck import param_heatmaps

    x, t = mnist3
    check = gradient_check(TwoLayerNet(784, 50, 10, seed=0), x, t, h=1e-2, entries=500, seed=1)
    w1 = check.params["W1"]
    fig = param_heatmaps(w1, labels, row_name="input pixel", col_name="hidden unit")
    maps = [tr for tr in fig.data if isinstance(tr, go.Heatmap)]
    assert len(maps) == 3 and [m.coloraxis for m in maps] == ["coloraxis", "coloraxis", "coloraxis2"]
    back, num = np.asarray(maps[0].z), np.asarray(maps[1].z)
    assert back.shape == (50, 784)  # W1 drawn transposed: hidden units across, pixels along
    assert np.isnan(num).sum() == 39_200 - 500 and not np.isnan(back).any()  # only 500 entries were checked
    np.testing.assert_allclose(back, w1.backprop_full.T.astype(np.float32))
    kinks = [tr for tr in fig.data if isinstance(tr, go.Scatter) and tr.name == labels["fig_kinks"]]
    assert w1.n_kinks > 0 and len(kinks[0].x) == w1.n_kinks
    # A backprop gradient of the wrong shape gets a message instead of a heatmap.
    net = build_net("affine_db_wrong_axis", input_size=784, hidden_size=50, output_size=10, seed=0)
    bad = gradient_check(net, x, t).params["b2"]
    msg = param_heatmaps(bad, labels, row_name="class", col_name="")
    assert not msg.data and "(3,)" in msg.layout.annotations[0].text


def test_w1_tiles_draw_each_hidden_units_column_as_an_image(mnist3, labels):
    from backprop.figures.gradcheck import w1_tiles

    x, t = mnist3
    w1 = gradient_check(TwoLayerNet(784, 7, 10, seed=0), x, t).params["W1"]
    fig = w1_tiles(w1, labels, cols=5)
    mosaic = np.asarray(fig.data[0].z)
    assert mosaic.shape == (2 * 29 - 1, 5 * 29 - 1)  # 7 units in 2 rows of 5, 1-pixel gutters
    np.testing.assert_allclose(mosaic[29:57, 29:57], w1.backprop_full[:, 6].reshape(28, 28).astype(np.float32))
    assert np.isnan(mosaic[28]).all() and np.isnan(mosaic[29:, 58:]).all()  # gutter, and no 8th unit


def test_scatter_has_the_identity_line_and_leaves_out_double_zeros(mnist3, labels):
    from backprop.figures.gradcheck import scatter

    x, t = mnist3
    check = gradient_check(TwoLayerNet(784, 50, 10, seed=0), x, t)
    fig = scatter(check, labels)
    lines = [tr for tr in fig.data if tr.mode == "lines"]
    assert len(lines) == 4 and all(tuple(tr.x) == tuple(tr.y) for tr in lines)  # y = x in each panel
    w1_points = next(tr for tr in fig.data if tr.mode == "markers" and tr.xaxis == "x")
    w1 = check.params["W1"]
    assert len(w1_points.x) == int(np.sum((w1.backprop != 0) | (w1.numerical != 0))) < w1.n_checked


def test_sweep_figure_draws_both_dtypes_with_a_gap_below_float32_resolution(sweep, labels):
    from backprop.figures.gradcheck import sweep_figure

    fig = sweep_figure(sweep, labels, h=1e-4)
    assert len(fig.data) == 8  # 4 parameters x 2 dtypes
    w1_32 = next(tr for tr in fig.data if tr.name == "W1 · float32")
    assert w1_32.line.dash == "dash" and w1_32.connectgaps is False
    assert np.isnan(np.asarray(w1_32.y, dtype=float)[-1])  # h = 1e-12: no value, a gap
    assert fig.layout.xaxis.type == "log" and fig.layout.yaxis.type == "log"
    assert any("rounds to w" in a.text for a in fig.layout.annotations)
    assert len(fig.layout.shapes) == 2  # the shaded float32 region and the line at the chosen h


def test_gradient_check_feeds_both_sides_the_net_dtype():
    """float64 images into a float32 net: backprop must run in float32 too, as the numerical side does."""
    from backprop.net import TwoLayerNet

    net = TwoLayerNet(6, 4, 3, dtype=np.float32, seed=0)
    x = np.random.default_rng(0).random((2, 6))  # float64
    check = gradient_check(net, x, np.array([0, 2]), h=1e-2)
    expected = net.gradient(x.astype(np.float32), np.array([0, 2]))
    for key, p in check.params.items():
        assert np.array_equal(p.backprop_full, expected[key].astype(np.float64)), key
