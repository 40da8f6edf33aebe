"""Shared fixtures: a live `streamlit run app.py`, headless Chromium driven by Playwright, and
``open_page``, the one way tests open a page under AppTest (through app.py, as a visitor would)."""
import contextlib
import os
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import appserver
from appserver import CHROMIUM, ROOT, launch_chromium
from pages import chrome

# Every catalogue key a page reads during this test session (tests/test_text_catalogues.py checks
# them against the catalogues after every other test has run).
chrome.KEYS_READ = {}


def open_page(path="pages/home.py", query=None, timeout=30, locale=None, run=True):
    """An AppTest of app.py showing ``path`` with the URL's ``query`` (a dict), as a bookmark opens it.

    ``locale`` is the browser's language (``st.context.locale``, e.g. "ja-JP"); ``run=False`` returns
    the AppTest before its first run, for a test that sets more up first."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    if locale:
        at.context["locale"] = locale
    if not run:
        return at
    at.run()
    if path != "pages/home.py":
        at.switch_page(path).run()
    return at


def open_training(query=None):
    """The training page under AppTest, opened straight from a link (one run, no exception)."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.switch_page("pages/training.py").run()
    assert not at.exception, at.exception
    return at


@pytest.fixture
def training_pages():
    """Open training pages (``open_training``); every run they started ends afterwards, pass or fail."""
    opened = []

    def make(query=None):
        at = open_training(query)
        opened.append(at)
        return at

    yield make
    for at in opened:
        if "training_lab" in at.session_state:
            at.session_state["training_lab"].shutdown()


@contextlib.contextmanager
def running_app():
    """A fresh server of its own (for tests that need one nobody else has used); yields its URL."""
    with appserver.running_app() as server:
        yield server.url


@pytest.fixture(scope="session")
def app_url():
    """One server shared by the browser tests."""
    with running_app() as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import expect

    expect.set_options(timeout=15_000)  # a loaded 2-core machine can take seconds to rerun a page
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = launch_chromium(pw)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    """A fresh 1280x720 tab (a projector's size)."""
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    p = context.new_page()
    p.set_default_timeout(20_000)
    yield p
    context.close()


def wait_for_app(page):
    """Wait until Streamlit has finished running the script (no 'running' indicator)."""
    page.wait_for_selector('[data-testid="stApp"]')
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " && document.querySelector('[data-testid=\"stMain\"]')"
    )


def pytest_configure(config):
    config.addinivalue_line("markers", "after_pages: runs after every other test (it checks what they recorded)")


# Two groups for the two cores (pytest.ini runs ``-n 2 --dist loadgroup``), about equally long: the browser
# tests against the shared server (``app_url``), with the hall and the load benchmark (servers of their
# own, driven by websocket sessions), on one worker; everything else on the other: NumPy, AppTest, and
# the browser tests that start servers of their own (nginx and its replicas, fresh servers for
# bookmarks). ``after_pages`` tests stay with the AppTest pages whose catalogue reads they check.
WITH_SHARED = {"test_hall.py", "test_load_bench.py"}
@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(items):
    """Tests marked ``after_pages`` run last: they check what every page test has recorded."""
    items.sort(key=lambda item: item.get_closest_marker("after_pages") is not None)
    for item in items:
        shared = "app_url" in getattr(item, "fixturenames", ()) or item.path.name in WITH_SHARED
        item.add_marker(pytest.mark.xdist_group("shared_server" if shared else "own_process"))
