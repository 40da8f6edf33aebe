"""Issue 12: a freshly started server, and a hall of students opening the lecturer's bookmarks at the
same moment (on a fresh server, 19 of 20 tabs opening /shopping at once once got an ImportError).

Each student is a real session speaking Streamlit's websocket protocol (tests/wsclient.py), as the
browser does: 20 Chromium tabs on a 2-core machine would measure Chromium, not the server."""
import asyncio
import re
from concurrent.futures import ThreadPoolExecutor

from conftest import running_app
from wsclient import Session

HALL = 20  # sessions opening a bookmark at the same moment
BOOKMARKS = [  # (path, query, a sentence that page shows in that state)
    ("/shopping", "preset=apples_oranges&step=7", "Backward 3 of 4"),
    ("/shopping", "preset=apples_oranges&step=7&present=1", "Backward 3 of 4"),
    ("/network", "step=5&n=3", "backward"),
    ("/training", "lr=0.05&batch_size=50", "Live training"),
    ("/gradient_check", "bug=relu_mask", "Gradient check"),
]
PAGES = ["Home", "Shopping graph", "Inside the network", "Gradient check", "Live training"]


async def student(url, path, query, expected):
    async with Session.open(url, path, query, timeout=150) as s:
        try:
            await s.wait_for(lambda s: expected in s.text(), 60)
        except TimeoutError:
            raise AssertionError(f"{path}?{query} never showed {expected!r}: {s.texts()[:6]}") from None
        return s.path, s.pages, s.exceptions, s.text()


async def live_student(url):
    """Start a run and watch, without a click: the live view must redraw itself, fragment run after
    fragment run (each begins with a new_session message that must not stop the browser's timers)."""
    async with Session.open(url, "/training", "iterations=100000", timeout=150) as s:
        await s.click("training_btn_start")
        seen = set()

        def moving(s):
            m = re.search(r"Iteration ([\d,]+) of", s.text())
            if m and m.group(1) != "0":
                seen.add(m.group(1))
            return len(seen) >= 3

        try:
            await s.wait_for(moving, 90)
        except TimeoutError:
            raise AssertionError(f"the live view stopped redrawing at {sorted(seen)}: {s.texts()[:4]}") from None
        await s.click("training_btn_stop")
        return s.exceptions


def test_a_hall_opening_bookmarks_at_once_on_a_fresh_server():
    async def hall(url):
        return await asyncio.gather(*(student(url, *BOOKMARKS[i % len(BOOKMARKS)]) for i in range(HALL)),
                                    return_exceptions=True)

    with running_app() as url, ThreadPoolExecutor(1) as thread:  # nobody has run app.py on it yet
        results = thread.submit(asyncio.run, hall(url)).result()  # its own loop: Playwright's may run here
        assert not thread.submit(asyncio.run, live_student(url)).result()
    failed = [r for r in results if isinstance(r, BaseException)]
    assert not failed, failed[:3]
    for path, pages, exceptions, text in results:
        assert not exceptions, (path, exceptions)
        assert "Traceback" not in text and "ImportError" not in text, path
        assert pages == PAGES, (path, pages)  # app.py's navigation, not Streamlit's pages/ folder app


async def _fragment_clicks(url):
    """Next three times on /shopping, then a live view's timed redraws on /training: what each began."""
    async with Session.open(url, "/shopping", "step=0", timeout=60) as s:
        before = dict(s.started)
        for step in (1, 2, 3):
            await s.click("shop_next")
            await s.wait_for(lambda s: f"step={step}" in s.query and not s.running, 30)
        shopping = {kind: s.started[kind] - before[kind] for kind in before}, s.text()
    async with Session.open(url, "/training", "iterations=100000", timeout=60) as s:
        await s.click("training_btn_start")
        await s.wait_for(lambda s: re.search(r"Iteration [1-9][\d,]* of", s.text()), 60)
        before = dict(s.started)
        await s.wait_for(lambda s: s.started["fragment"] >= before["fragment"] + 4, 60)
        training = {kind: s.started[kind] - before[kind] for kind in before}
        training["timers"] = len(s.timers)  # the curves and the sanity badges below them: one fragment
        await s.click("training_btn_stop")
    return shopping, training


def test_a_click_or_a_redraw_inside_a_fragment_reruns_only_the_fragment(app_url):
    """A fragment's rerun must not be rerouted through app.py as a bookmark's first run is: that made every
    Next on /shopping a fragment run and then a whole run, twice the server's work for each click."""
    with ThreadPoolExecutor(1) as thread:
        (shopping, text), training = thread.submit(asyncio.run, _fragment_clicks(app_url)).result()
    assert shopping == {"whole": 0, "fragment": 3}, shopping
    assert "Forward" in text or "Backward" in text, text[:200]
    assert training["whole"] == 0 and training["fragment"] >= 4 and training["timers"] == 1, training
