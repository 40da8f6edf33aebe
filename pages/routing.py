"""How a URL reaches its page: every run goes through app.py, and a page's own failure stops at its edge.

Two things live here, both used by app.py and the chrome, never by a page directly:

- ``ensure_routed()``: a bookmarked page URL (``/shopping?step=7``) opened first on a freshly started
  server. Until some session has run app.py's ``st.navigation``, Streamlit treats the ``pages/``
  folder as an old-style multipage app and runs the requested file on its own, without app.py's
  routing and chrome. The chrome calls ``ensure_routed()`` at the start of every page (from
  ``chrome.text``, the first thing each page does, and from ``chrome.presenting``): when the run
  did not start from app.py, it turns that mode off for the process and reruns, this time through
  app.py; the st.Page URLs equal the file names, so the rerun lands on the same page with the same
  query string. It never runs during an import (a rerun raised while ``pages.chrome`` is half
  imported made concurrent first visitors fail with ``ImportError: cannot import name 'chrome'``),
  and it decides per run, so a session that started in the old mode while another one switched it
  off is rerouted too. A fragment's rerun is never rerouted (its stack starts at the fragment, not at
  app.py, but its page's whole run came through app.py).
- ``run_page(page, T)``: the page's edge. An error the page did not foresee is logged with its
  traceback on the server and shown as a short message from the catalogue with two ways on (try
  again, reset this page); Streamlit's own control flow (``st.rerun``, ``st.stop``,
  ``st.switch_page``: ``ScriptControlException``, a ``BaseException``) passes through untouched.
  An error inside a fragment is caught by Streamlit itself; the session's ``on_script_error``
  handler, set here, words that one the same way instead of showing the exception. The page runs
  inside ``pages.gate.GATE``: a few runs at a time, so that a hall's runs do not starve the server's
  event loop (pages/gate.py).
"""
import functools
import logging
import sys
from pathlib import Path

import streamlit as st
from streamlit.errors import FragmentHandledException
from streamlit.runtime.pages_manager import PagesManager
from streamlit.runtime.scriptrunner_utils.exceptions import ScriptControlException
from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

from pages.gate import GATE

log = logging.getLogger(__name__)

# Query parameters that belong to the chrome, not to a page: a reset keeps them.
CHROME_PARAMS = ("lang", "present")
# Session-state keys each page owns (their prefixes), for "Reset this page".
PAGE_STATE = {"shopping": ("shop_",), "gradient_check": ("gc_",), "training": ("training_", "insp_")}


@functools.lru_cache(maxsize=64)
def _resolved(filename):
    return Path(filename).resolve()  # a few stat calls: once per file name, not at every page run


def _started_from_app(main_script):
    """True if app.py is on the call stack, i.e. this run is app.py's (its navigation ran the page)."""
    frame = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if filename.endswith(main_script.name) and _resolved(filename) == main_script:
            return True
        frame = frame.f_back
    return False


def ensure_routed():
    """Rerun through app.py if Streamlit ran a ``pages/`` file on its own (see the module docstring)."""
    ctx = get_script_run_ctx(suppress_warning=True)
    if ctx is None:  # called outside a script run (a test reading a catalogue)
        return
    if ctx.fragment_ids_this_run:  # a fragment's rerun: its page's whole run came through app.py (its stack
        return  # does not: rerouting it made every click in a fragment a second, whole run)
    if PagesManager.uses_pages_directory or not _started_from_app(_resolved(ctx.main_script_path)):
        PagesManager.uses_pages_directory = False
        if st.session_state.get("chrome_rerouted"):  # one reroute is enough: never a loop
            log.warning("a page run still bypasses app.py after a reroute; showing it as it is")
            return
        st.session_state.chrome_rerouted = True
        st.rerun()
    st.session_state.chrome_rerouted = False


def _owned_by(key, prefixes):
    if prefixes:
        return key.startswith(prefixes)
    return not key.startswith("chrome_") and key != "present"  # a page we know nothing of: all but ours


def _reset_page(url_path):
    """Forget what this page holds (its session state and its URL parameters), keep the chrome's."""
    ss = st.session_state
    prefixes = PAGE_STATE.get(url_path)
    for key in [k for k in ss if _owned_by(str(k), prefixes)]:
        del ss[key]
    for key in [k for k in st.query_params if k not in CHROME_PARAMS]:
        del st.query_params[key]


def _show_failure(url_path, T, where=""):
    st.error(T["page_failed"], icon=":material/error:")
    left, right, _ = st.columns([1, 1, 3])
    left.button(T["page_failed_retry"], key=f"chrome_retry{where}", icon=":material/refresh:")
    right.button(T["page_failed_reset"], key=f"chrome_reset{where}", icon=":material/restart_alt:",
                 on_click=_reset_page, args=(url_path,), help=T["page_failed_reset_help"])


def _explain_handled(url_path, T, error):
    """Streamlit's own handler for an error it catches itself (inside a fragment): it has logged the
    traceback; say it in our words instead of showing the exception, and suppress that."""
    log.error("page /%s failed in a fragment", url_path, exc_info=error)
    _show_failure(url_path, T, where="_fragment")
    return True


def run_page(page, T):
    """``page.run()``, with anything the page did not foresee caught, logged and explained."""
    ctx = get_script_run_ctx(suppress_warning=True)
    if ctx is not None:
        ctx.on_script_error = functools.partial(_explain_handled, page.url_path, T)
    try:
        with GATE():  # a few runs at a time (pages/gate.py)
            page.run()
    except ScriptControlException:  # st.rerun, st.stop, st.switch_page: Streamlit's control flow
        raise
    except FragmentHandledException:  # explained inside the fragment already
        pass
    except Exception:
        log.exception("page /%s failed (query %s)", page.url_path, dict(st.query_params))
        _show_failure(page.url_path, T)
