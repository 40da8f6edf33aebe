"""Small Streamlit components of our own: static HTML/CSS/JS, no build step, no network."""
from pathlib import Path

import streamlit as st


def inline_component(name, folder, stem):
    """A components v2 element from ``folder/stem.{html,css,js}``, read once at import.

    v2 components take inline HTML/CSS/JS (asset paths would need an installed package).
    """
    folder = Path(folder)
    return st.components.v2.component(
        f"backprop_explorer.{name}",
        **{part: (folder / f"{stem}.{part}").read_text(encoding="utf-8") for part in ("html", "css", "js")},
    )
