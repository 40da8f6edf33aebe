"""A canvas to draw a digit on: a Streamlit components v2 element with no build step and no network.

``digit_canvas(key=..., clear=..., hint=..., label=...)`` shows a 280x280 canvas and a Clear button and
returns the last drawing the browser sent: ``{"width": 56, "height": 56, "ink": [...]}`` or None.
The message is untrusted data: check it with ``backprop.inspect.drawing_from_payload``.
"""
from pathlib import Path

import streamlit as st

_HERE = Path(__file__).parent
# Read once at import: v2 components take inline HTML/CSS/JS (asset paths need an installed package).
_component = st.components.v2.component(
    "backprop_explorer.digit_canvas",
    html=(_HERE / "canvas.html").read_text(encoding="utf-8"),
    css=(_HERE / "canvas.css").read_text(encoding="utf-8"),
    js=(_HERE / "canvas.js").read_text(encoding="utf-8"),
)


def digit_canvas(*, key, clear="Clear", hint="", label="Drawing area"):
    """Mount the canvas; the words are passed in so they come from the page's text catalogue."""
    result = _component(key=key, data={"clear": clear, "hint": hint, "label": label},
                        on_image_change=_ignore, height="content")
    return result.get("image")


def _ignore():
    """A named state callback tells Streamlit which state key ("image") the component reports."""
