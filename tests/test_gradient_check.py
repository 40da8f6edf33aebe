"""backprop.gradcheck, backprop.checkconfig and backprop.planted_bugs: the check, its verdicts (float64
and float32), and the planted bugs it must catch. Real MNIST images (3 bundled images, as the book)."""
import difflib
import inspect
import textwrap

import numpy as np
import pytest

from backprop.checkconfig import CheckConfig, ConfigProblems, fit_images, run_check, run_sweep
from backprop.datasets import load_dataset
from backprop.gradcheck import bug_outcome, gradient_check, roundoff_floor, verdict
from backprop.hsweep import SWEEP_HS
from backprop.net import TwoLayerNet
from backprop.planted_bugs import BUGS, BugNotApplicable, build_net, plant


@pytest.fixture(scope="module")
def mnist3():
    """The book's gradient check input: 3 MNIST images (bundled sample), pixels in [0, 1], integer labels."""
    data = load_dataset("sample")
    return data.x_train[:3].reshape(3, -1) / 255.0, data.t_train[:3].astype(np.intp)


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
            assert p.verdict == ("shape_mismatch" if p.shape_error else "wrong"), name
            assert p.shape_error or p.max_rel_err > 1e-2, name
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
    assert b2.shape_error == (3,) and b2.verdict == "shape_mismatch"  # its own verdict, not "wrong" at infinity
    assert np.isnan(b2.max_rel_err) and np.isnan(b2.mean_abs_diff) and b2.worst[0] is None
    assert check.failed == ["b2"] and check.headline() == ("fail", {"params": ["b2"]})
    row = check.rows()[3]
    assert row["shape error"] == (3,) and row["verdict"] == "shape_mismatch"
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
    with pytest.raises(ConfigProblems) as info:
        run_check(CheckConfig(batch_size=20), np.zeros((5, 28, 28), np.uint8), np.zeros(5, np.uint8))
    assert info.value.problems == [("batch_large", {"batch": 20, "n": 5})]


def test_run_check_and_run_sweep_use_the_configured_images():
    data = load_dataset("sample")
    check = run_check(CheckConfig(first_image=10, batch_size=4, hidden_size=8, entries=5, bug="relu_mask_wrong_side"),
                      data.x_train, data.t_train)
    assert check.n_images == 4 and set(check.failed) == {"W1", "b1"}
    sweep = run_sweep(CheckConfig(hidden_size=8, bug="relu_mask_wrong_side"), data.x_train, data.t_train,
                      entries=3)
    assert len(sweep.hs) == len(SWEEP_HS)
    assert np.nanmin(sweep.errors["float64"]["W1"]) < 1e-6  # the sweep ignores the bug


def test_the_image_range_is_clamped_to_the_data_set():
    assert fit_images(0, 3, 5000) == (0, 3, False)
    assert fit_images(4999, 3, 5000) == (4997, 3, True)  # moved back so that all 3 fit
    assert fit_images(0, 1_000_000, 5000) == (0, 100, False)  # at most MAX_BATCH images
    assert fit_images(0, 0, 5000) == (0, 1, False) and fit_images(2, 9, 5) == (0, 5, True)


# --- every planted bug is one line -------------------------------------------------------------------

@pytest.mark.parametrize("key", list(BUGS))
def test_each_planted_bug_differs_from_the_correct_layer_in_exactly_one_line(key):
    """The page shows both backward methods side by side and says "one line": that must be true."""
    bug = BUGS[key]
    right = textwrap.dedent(inspect.getsource(bug.replaces.backward)).splitlines()
    wrong = textwrap.dedent(inspect.getsource(bug.layer_class.backward)).splitlines()
    diff = [line for line in difflib.ndiff(right, wrong) if line[:1] in "+-"]
    assert len(diff) == 2 and diff[0][0] == "-" and diff[1][0] == "+", "\n".join(diff)
    assert "# BUG" in diff[1] and "# BUG" not in diff[0]


# --- float32: honest verdicts ------------------------------------------------------------------------

# h = 1e-2 is left out: there truncation (h^2) makes the Sigmoid net's W1 'suspicious' in float64 too.
CONFIGS32 = [dict(method="fast", h=1e-4), dict(method="fast", h=1e-3), dict(method="loop", h=1e-3, entries=150),
             dict(method="loop", h=1e-4, entries=150)]


@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
@pytest.mark.parametrize("settings", CONFIGS32, ids=lambda s: f"{s['method']}-h{s['h']:g}")
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_correct_code_never_fails_in_either_precision(dtype, settings, activation):
    data = load_dataset("sample")
    check = run_check(CheckConfig(activation=activation, dtype=dtype, **settings), data.x_train, data.t_train)
    assert check.failed == [], {k: (p.verdict, p.judged_err) for k, p in check.params.items()}
    code, values = check.headline()
    assert code in ("pass", "imprecise")
    if dtype == "float64":
        assert code == "pass"


@pytest.mark.parametrize("key", list(BUGS))
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_every_planted_bug_is_caught_in_float64_and_in_float32(dtype, key):
    data = load_dataset("sample")
    bug = BUGS[key]
    config = CheckConfig(activation=bug.activation or "relu", dtype=dtype, bug=key)
    check = run_check(config, data.x_train, data.t_train)
    assert set(check.failed) == set(bug.corrupts), {k: (p.verdict, p.judged_err) for k, p in check.params.items()}
    assert check.headline()[0] == "fail"
    assert bug_outcome(check, bug) == ("caught", {"caught": check.failed,
                                                   "clean": [k for k in check.params if k not in bug.corrupts]})


def test_float32_is_judged_beyond_its_round_off_and_says_when_it_cannot_resolve(mnist3):
    x, t = mnist3
    net = TwoLayerNet(784, 50, 10, dtype=np.float32, seed=0)
    fast = gradient_check(net, x, t)
    w1 = fast.params["W1"]
    # Plain relative errors are large on faint pixels (tiny gradients, float32 round-off) ...
    assert w1.max_rel_err > 1e-2
    # ... but every difference lies within the derived round-off floor, so nothing is held against backprop.
    assert 0 < w1.floor < 0.1 * w1.scale and w1.judged_err < 1e-7 and w1.verdict == "excellent"
    assert fast.headline() == ("pass", {"n": 4, "worst": fast.judged_err, "dtype": "float32"})
    # The book's loop subtracts two float32 losses: its floor eps*|f|/h = 2.7e-3 is as large as W1's gradients.
    loop = gradient_check(net, x, t, method="loop", entries=100)
    eps = np.finfo(np.float32).eps
    assert loop.params["W1"].floor == pytest.approx(4 * eps * (loop.loss / 1e-4 + loop.params["W1"].scale))
    assert loop.params["W1"].verdict == "imprecise" and "W1" in loop.imprecise and not loop.failed
    code, values = loop.headline()
    assert code == "imprecise" and "W1" in values["params"] and values["dtype"] == "float32"
    assert roundoff_floor("float64", "loop", 1e-4, 2.3, 1.0) == 0.0  # float64: the plain relative error


def test_non_finite_values_get_their_own_verdict(mnist3):
    x, t = mnist3
    net = TwoLayerNet(784, 50, 10, seed=0)
    backward = net.last_layer.backward
    net.last_layer.backward = lambda dout=1: backward(dout) * np.inf  # every backprop gradient overflows
    with np.errstate(invalid="ignore"):  # inf * 0 in the layers below: NaN, as a real overflow would give
        check = gradient_check(net, x, t, entries=20)
    assert {p.verdict for p in check.params.values()} == {"not_finite"}
    assert check.failed == ["W1", "b1", "W2", "b2"] and check.headline() == ("fail", {"params": check.failed})


def test_a_bug_that_a_single_image_hides_is_said_to_be_invisible(mnist3):
    x, t = mnist3
    bug = BUGS["softmax_no_batch_divide"]
    net = build_net(bug.key, input_size=784, hidden_size=20, output_size=10, seed=0)
    assert bug_outcome(gradient_check(net, x[:1], t[:1]), bug) == ("invisible", {"batch": 1})
    relu = BUGS["relu_mask_wrong_side"]
    assert bug_outcome(gradient_check(net, x, t), relu)[0] == "missed"  # a check of another bug's net
