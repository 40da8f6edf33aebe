"""backprop.figures.style.unchecked_figure: the graph figures skip Plotly's checks, so check them here.

Plotly's own validation of each figure (``go.Figure(fig.to_dict())``) must give back the same figure:
a property name Plotly does not know, a shorthand it would have expanded, or a value it would have
changed would show up as a difference.
"""
import numpy as np
import plotly.graph_objects as go
import pytest

from backprop import presets as P
from backprop.figures.graph import graph_figure
from backprop.figures.style import unchecked_figure

CASES = [P.PRESETS[key] for key in P.PRESETS] + [P.from_expression("max(0, w*x + b) / (1 + exp(-x*x))")]


@pytest.mark.parametrize("preset", CASES, ids=lambda p: p.key if p.key != P.EXPRESSION else "typed")
@pytest.mark.parametrize("big", [False, True], ids=["desk", "projector"])
def test_every_step_is_what_plotly_s_validation_makes_of_it(preset, big):
    graph, states, problem = P.evaluate(preset, dict(preset.leaves))
    assert problem is None and len(states) > 4
    for state in states:
        fig = graph_figure(graph, state, labels={"x": "x"}, legend=("value", "gradient"), big=big,
                           positions=preset.drawn_at, max_height=410)
        assert fig.to_dict() == go.Figure(fig.to_dict()).to_dict()


def test_none_and_empty_entries_are_left_out_as_plotly_leaves_them_out():
    fig = unchecked_figure([{"type": "scatter", "x": [1], "hovertext": None}],
                           {"title": {}, "annotations": [{"text": "a", "hovertext": None, "font": {}}]})
    assert fig.to_dict() == go.Figure(fig.to_dict()).to_dict()
    assert fig.to_dict()["layout"]["annotations"] == [{"text": "a"}] and "hovertext" not in fig.to_dict()["data"][0]


def test_a_frozen_figure_hands_out_one_plain_dict_that_draws_as_the_figure_does():
    import plotly.io as pio

    from backprop.figures.style import FigureCache, FrozenFigure, frozen

    preset = P.PRESETS["apples_oranges"]
    graph, states, _ = P.evaluate(preset, dict(preset.leaves))
    fig = graph_figure(graph, states[5], labels={"x": "x"}, legend=("value", "gradient"), positions=preset.drawn_at)
    ice = frozen(fig)
    assert isinstance(ice, go.Figure) and ice.to_dict() is ice.to_dict()  # no copy at each draw
    assert ice.to_dict() == fig.to_dict() and pio.to_json(ice, validate=False) == pio.to_json(fig, validate=False)
    assert ice.layout.annotations == fig.layout.annotations  # a whole figure, for whoever reads it as one

    made = []
    figures = FigureCache(kept=2)
    for key in ("a", "b", "a", "c", "b"):  # kept: the two drawn last
        figures.get(key, lambda: made.append(key) or fig)
    assert made == ["a", "b", "c", "b"] and len(figures) == 2
    assert isinstance(figures.get("c", lambda: 1 / 0), FrozenFigure)  # "c" is still there: not made again


def _curve(n, gap=None):
    from backprop.live.history import loss_curve

    losses = (2.3 * np.exp(-np.arange(n) / 800) + np.random.default_rng(n).random(n) * 0.3).astype(np.float32)
    if gap is not None:
        losses[gap] = np.nan  # a diverged mini-batch: the line breaks there
    return loss_curve(losses, np.arange(1, n + 1), 1, 600)


@pytest.mark.parametrize("big", [False, True], ids=["desk", "projector"])
def test_the_paused_run_s_loss_and_accuracy_figures_are_what_plotly_s_validation_makes_of_them(big):
    """A hall pausing at once draws thirty of each: they skip Plotly's checks too (backprop/figures/training.py)."""
    from backprop.figures.training import accuracy_figure, loss_figure

    labels = dict(x="iteration", y="loss", raw="raw", smooth="smooth", chance="ln 10", empty="nothing yet")
    for curve in (_curve(1), _curve(300, gap=100), _curve(5000)):
        for extra in ({}, dict(divergence=(250, "NaN"), markers=[(50, "lr → 0.01"), (80, "batch → 50")])):
            fig = loss_figure(curve, labels=labels, big=big, height=255, **extra)
            assert fig.to_dict() == go.Figure(fig.to_dict()).to_dict()
            assert fig.layout.height == int(255 * (1.15 if big else 1)) and fig.layout.font.size == (20 if big else 14)
    acc = dict(x="epoch", y="accuracy", train="train", test="test", empty="nothing yet")
    for n in (3, 40):
        evals = np.column_stack([np.arange(n) * 50, np.arange(n), np.linspace(0.1, 0.9, n), np.linspace(0.1, 0.85, n)])
        fig = accuracy_figure(evals, labels=acc, big=big, height=255)
        assert fig.to_dict() == go.Figure(fig.to_dict()).to_dict()
        assert [t.name for t in fig.data] == ["train", "test"] and fig.layout.yaxis.tickformat == ".0%"
