"""backprop.hsweep and backprop.figures.gradcheck: the h sweep's V, and the page's figures (pure: data in,
Plotly figure out), on 3 bundled MNIST images."""
import numpy as np
import pytest

from backprop.datasets import load_dataset
from backprop.gradcheck import gradient_check
from backprop.hsweep import h_sweep
from backprop.net import TwoLayerNet
from backprop.planted_bugs import build_net


@pytest.fixture(scope="module")
def mnist3():
    """The book's gradient check input: 3 MNIST images (bundled sample), pixels in [0, 1], integer labels."""
    data = load_dataset("sample")
    return data.x_train[:3].reshape(3, -1) / 255.0, data.t_train[:3].astype(np.intp)


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


# --- figures (pure: data in, Plotly figure out) ---------------------------------------------------

@pytest.fixture(scope="module")
def labels():
    """The figures' words as the page gives them: its catalogue's fig_* entries, keyed without the prefix."""
    import tomllib
    from pathlib import Path

    from backprop.figures.gradcheck import LABELS

    with open(Path(__file__).parents[1] / "pages" / "locales" / "en" / "gradient_check.toml", "rb") as f:
        catalogue = tomllib.load(f)
    words = {k.removeprefix("fig_"): v for k, v in catalogue.items() if k.startswith("fig_")}
    assert set(words) == set(LABELS)  # the catalogue words exactly what the figures need
    return words


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
    kinks = [tr for tr in fig.data if isinstance(tr, go.Scatter) and tr.name == labels["kinks"]]
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
    curves = [tr for tr in fig.data if tr.mode == "lines+markers"]
    assert len(curves) == 8  # 4 parameters x 2 dtypes
    w1_32 = next(tr for tr in curves if tr.name == "W1" and tr.meta == "float32")
    assert w1_32.line.dash == "dash" and w1_32.connectgaps is False
    assert np.isnan(np.asarray(w1_32.y, dtype=float)[-1])  # h = 1e-12: no value, a gap
    assert fig.layout.xaxis.type == "log" and fig.layout.yaxis.type == "log"
    band = [tr for tr in fig.data if tr.fill == "toself"]  # the float32 region, named in the legend
    assert len(band) == 1 and "rounds to w" in band[0].name and band[0].showlegend is not False
    assert max(band[0].x) == pytest.approx(sweep.resolution_limit("float32") * 1.3)
    assert len(fig.layout.shapes) == 1  # the line at the chosen h
    # the legend: a colour per parameter and a dash per dtype, each once
    shown = [tr.name for tr in fig.data if tr.showlegend is not False and tr.fill != "toself"]
    assert sorted(shown) == sorted(["W1", "b1", "W2", "b2", "float64", "float32"])


@pytest.mark.parametrize("h, anchor", [(1e-1, "right"), (1e-4, "center"), (1e-12, "left")])
def test_sweep_figure_labels_stand_apart_at_any_width(sweep, labels, h, anchor):
    """Issue 9: at 1280x720 presentation mode and on a phone the labels were drawn over each other."""
    from backprop.figures.gradcheck import fmt, sweep_figure

    fig = sweep_figure(sweep, labels, h=h, big=True)
    words = {a.text: a for a in fig.layout.annotations}
    roundoff, truncation = words[labels["roundoff"]], words[labels["truncation"]]
    # the two sides of the V hang from opposite corners: they meet only if the plot were narrower than both
    assert (roundoff.xref, roundoff.x, roundoff.xanchor) == ("paper", 0.01, "left")
    assert (truncation.xref, truncation.x, truncation.xanchor) == ("paper", 0.99, "right")
    yours = next(a for a in fig.layout.annotations if a.text == labels["your_h"].format(h=fmt(h, 1)))
    assert yours.yref == "paper" and yours.y == 1 and yours.yanchor == "bottom"  # above the plot, not in it
    assert yours.xanchor == anchor  # at either end it leans inwards, never past the figure's edge
    assert all(a.yref == "paper" for a in fig.layout.annotations)  # no words among the curves


def test_gradient_check_feeds_both_sides_the_net_dtype():
    """float64 images into a float32 net: backprop must run in float32 too, as the numerical side does."""
    from backprop.net import TwoLayerNet

    net = TwoLayerNet(6, 4, 3, dtype=np.float32, seed=0)
    x = np.random.default_rng(0).random((2, 6))  # float64
    check = gradient_check(net, x, np.array([0, 2]), h=1e-2)
    expected = net.gradient(x.astype(np.float32), np.array([0, 2]))
    for key, p in check.params.items():
        assert np.array_equal(p.backprop_full, expected[key].astype(np.float64)), key
