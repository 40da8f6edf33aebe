"""A canvas to draw a digit on: a Streamlit components v2 element with no build step and no network.

``digit_canvas(key=..., clear=..., hint=..., label=...)`` shows a 280x280 canvas and a Clear button and
returns the last drawing the browser sent: ``{"width": 56, "height": 56, "ink": [...]}`` or None.
The message is untrusted data: check it with ``backprop.inspect.drawing_from_payload``.
"""
from pathlib import Path

from pages.components import inline_component

_component = inline_component("digit_canvas", Path(__file__).parent, "canvas")


def digit_canvas(*, key, clear="Clear", hint="", label="Drawing area"):
    """Mount the canvas; the words are passed in so they come from the page's text catalogue."""
    result = _component(key=key, data={"clear": clear, "hint": hint, "label": label},
                        on_image_change=_ignore, height="content")
    return result.get("image")


def _ignore():
    """A named state callback tells Streamlit which state key ("image") the component reports."""
