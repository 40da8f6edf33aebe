"""Live loss and accuracy curves drawn on a canvas: a Streamlit components v2 element, no build step, no network.

``live_curves(data, key=..., height=..., label=...)`` draws ``backprop.figures.training.live_curves_data``
output. The training page uses it only while a run trains and redraws twice a second: Streamlit
rebuilds a Plotly chart whenever its data changes, which in the browser costs several times more
than this (and the browser may share the machine with the training). Paused or finished, the page
shows the interactive Plotly figures instead.
"""
from pathlib import Path

from pages.components import inline_component

_component = inline_component("live_curves", Path(__file__).parent, "live_curves")


def live_curves(data, *, key, height, label):
    """Draw the panels in ``data`` (JSON-able) ``height`` pixels tall; ``label`` is the canvas's accessible name."""
    _component(key=key, data={**data, "height": int(height), "label": label}, height="content")
