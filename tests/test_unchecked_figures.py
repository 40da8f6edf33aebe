"""backprop.figures.style.unchecked_figure: the graph figures skip Plotly's checks, so check them here.

Plotly's own validation of each figure (``go.Figure(fig.to_dict())``) must give back the same figure:
a property name Plotly does not know, a shorthand it would have expanded, or a value it would have
changed would show up as a difference.
"""
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
