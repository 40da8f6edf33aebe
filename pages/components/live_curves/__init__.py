"""Live loss and accuracy curves drawn on a canvas: a Streamlit components v2 element, no build step, no network.

``live_curves(data, key=..., height=..., label=...)`` draws ``backprop.figures.training.live_curves_data``
output. The training page uses it only while a run trains and redraws twice a second: Streamlit
rebuilds a Plotly chart whenever its data changes, which in the browser costs several times more
than this (and the browser may share the machine with the training). Paused or finished, the page
shows the interactive Plotly figures instead.
"""
import json
from pathlib import Path

from pages.components import inline_component

_component = inline_component("live_curves", Path(__file__).parent, "live_curves")


def live_curves(data, *, key, height, label):
    """Draw the panels in ``data`` (JSON-able) ``height`` pixels tall; ``label`` is the canvas's accessible name.

    The data goes out as one JSON text, encoded here once: given a dict, Streamlit encodes it twice
    (once to send, once sorted for the element's identity), a third of a live redraw's server time.
    """
    text = json.dumps({**data, "height": int(height), "label": label}, separators=(",", ":"))
    _component(key=key, data=text, height="content")
