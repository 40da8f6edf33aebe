"""Shared chrome for every page: user-facing text, presentation mode, the dataset in use.

Pages draw; they import their words from ``pages/locales/<lang>/<page>.toml`` through ``text``
so that a Japanese or Chinese catalogue can be dropped in beside the English one.
"""
import functools
import tomllib
from pathlib import Path

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

LOCALES = Path(__file__).parent / "locales"
DEFAULT_LANG = "en"


@functools.cache
def _catalogue(lang, page):
    path = LOCALES / lang / f"{page}.toml"
    if not path.exists():
        return {}
    with path.open("rb") as f:
        return tomllib.load(f)


def language():
    """The catalogue in use: ``?lang=xx`` if a catalogue for xx exists, else English."""
    lang = st.query_params.get("lang", DEFAULT_LANG)
    return lang if (LOCALES / lang).is_dir() else DEFAULT_LANG


def text(page):
    """All user-facing strings of one page, English filling any gap in the chosen language."""
    return {**_catalogue(DEFAULT_LANG, page), **_catalogue(language(), page)}


def presenting():
    """True in presentation mode (``?present=1`` or the sidebar toggle)."""
    if "present" not in st.session_state:
        st.session_state.present = st.query_params.get("present") == "1"
    return st.session_state.present


def _sync_present():
    if st.session_state.present:
        st.query_params["present"] = "1"
    else:
        st.query_params.pop("present", None)


PRESENTATION_CSS = """
<style>
html { font-size: 22px; }
[data-testid="stAppViewContainer"] .block-container { padding-top: 3.2rem; max-width: 100%; }
[data-testid="stMarkdownContainer"] p, [data-testid="stMarkdownContainer"] li { font-size: 1.15rem; }
h1 { font-size: 2.2rem !important; }
button[kind] p { font-size: 1.1rem; }
[data-testid="stDecoration"], footer { display: none; }
</style>
"""


def apply_chrome():
    """The sidebar's shared controls, and the larger type of presentation mode."""
    T = text("app")
    presenting()
    with st.sidebar:
        st.toggle(T["present_toggle"], key="present", on_change=_sync_present, help=T["present_help"])
    if st.session_state.present:
        st.query_params["present"] = "1"  # navigation clears the URL; keep the mode bookmarkable
        st.html(PRESENTATION_CSS)


def dataset_in_use():
    """The dataset the explorers use in this session (the training page may change it)."""
    return st.session_state.get("dataset", "sample")


def _route_through_app():
    """Make a bookmarked page URL work on a freshly started server.

    Until some session has run app.py's st.navigation, Streamlit treats the ``pages/`` folder as
    an old-style multipage app and runs a requested page file (``/shopping``) on its own, without
    app.py's routing and chrome. Every page imports this module first, so the first such run turns
    that mode off for the process and reruns, this time through app.py; st.Page URLs equal the file
    names, so the rerun lands on the same page with the same query string.
    """
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


_route_through_app()
