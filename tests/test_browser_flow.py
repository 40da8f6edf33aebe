"""Real browser, a lecturer's clicker at 1280x720 in presentation mode: PageDown alone walks every step of
the shopping graph and of /network into /gradient_check's first moment, PageUp steps back within a
page and across each page edge to the previous page's last step, and at every step the figure and its explanation are on the screen together."""
import os
import re
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import expect

from conftest import wait_for_app

pytestmark = pytest.mark.browser

SHOPPING_STEPS = 8  # apples_oranges: 4 nodes forward, 4 backward
NETWORK_STEPS = 9  # backprop.network_state.N_STEPS: start, 4 forward, 4 backward, the update
NETWORK_HEADLINES = ["Forward 1 of 4", "Forward 2 of 4", "Forward 3 of 4", "Forward 4 of 4", "Backward 1 of 4",
                     "Backward 2 of 4", "Backward 3 of 4", "Backward 4 of 4", "One update"]
SHOTS = Path(os.environ.get("FLOW_SHOTS", tempfile.gettempdir()))  # screenshots to look at
BOX = ("sel => { const e = document.querySelector(sel); if (!e) return null;"
       " const r = e.getBoundingClientRect(); return r.height > 0 ? {x: r.x, y: r.y, width: r.width,"
       " height: r.height} : null; }")
FRESH = "() => document.querySelectorAll('[data-stale=\"true\"]').length === 0"


def on_screen(page, selector, what):
    """The bounding box of the first current element matching ``selector`` lies inside the 1280x720 viewport."""
    box = page.wait_for_function(BOX, arg=selector).json_value()  # read at once: a redraw replaces elements
    assert box is not None, f"{what}: not drawn"
    assert box["y"] >= 0 and box["x"] >= 0, f"{what} starts off screen: {box}"
    assert box["y"] + box["height"] <= 720 + 1 and box["x"] + box["width"] <= 1280 + 1, f"{what} leaves the screen: {box}"


def press(page, key, path, step):
    """``key``, until the URL shows ``path`` at ``step``: a press that lands while the page is still
    wiring its shortcut buttons after a rerun is lost, and a lecturer presses again (the URL still
    shows the step before, so a second press cannot skip one)."""
    want = re.compile(rf"/{path}\?(.*&)?step={step}(&|$)")
    for _ in range(3):
        page.evaluate("document.activeElement && document.activeElement.blur()")  # keys go to the page
        page.keyboard.press(key)
        try:
            page.wait_for_url(want, timeout=15_000)
            return
        except Exception:  # noqa: BLE001 - pressed too early; press again
            continue
    page.screenshot(path=str(SHOTS / f"flow-stuck-{path}-{step}.png"))  # what the lecturer would see
    page.wait_for_url(want)


def at(page, path, step, figure, explanation):
    """Wait until ``path`` shows ``step`` (its own URL), drawn afresh; figure and explanation on screen."""
    page.wait_for_url(re.compile(rf"/{path}\?(.*&)?step={step}(&|$)"))
    page.wait_for_function(FRESH)
    page.wait_for_selector(f"{explanation} p")
    on_screen(page, figure, f"{path} step {step}: the figure")
    on_screen(page, explanation, f"{path} step {step}: the explanation")
    assert "present=1" in page.url


def test_clicker_walks_the_chapter_and_back_one_screen_per_step(app_url, page):
    page.set_default_timeout(60_000)  # a first visit loads Plotly's bundle, /network its MNIST sample
    page.goto(f"{app_url}/shopping?present=1&preset=apples_oranges&step=0")
    wait_for_app(page)
    shop = ('.st-key-shop_fig [data-testid="stPlotlyChart"]', ".st-key-shop_explain")
    net = ('.st-key-net_pipeline [data-testid="stPlotlyChart"]', ".st-key-net_explain")
    at(page, "shopping", 0, *shop)
    for k in range(1, SHOPPING_STEPS + 1):
        press(page, "PageDown", "shopping", k)
        at(page, "shopping", k, *shop)
        if k == 6:
            page.screenshot(path=str(SHOTS / "shopping-6.png"))
    for k in range(NETWORK_STEPS + 1):
        press(page, "PageDown", "network", k)
        at(page, "network", k, *net)
        if k:  # step 0 is the input; then the layers, forward and backward, and the update
            expect(page.get_by_role("heading", name=NETWORK_HEADLINES[k - 1])).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 1280, f"network step {k}"
        if k in (5, 8):
            page.screenshot(path=str(SHOTS / f"network-{k}.png"))
    expect(page.get_by_text("loss after")).to_be_visible()  # the update: the loss before and after
    page.keyboard.press("PageDown")
    page.wait_for_url(re.compile(r"/gradient_check\?"))
    page.get_by_text(re.compile(r"^1 of \d+$")).wait_for()
    assert "present=1" in page.url and "step=" not in page.url  # no other page's parameters

    # Back: PageUp steps back within a page and, at a page's first step, opens the previous page at its
    # last. Every step back was walked forward above; here each page edge and one step on either side.
    press(page, "PageUp", "network", NETWORK_STEPS)
    at(page, "network", NETWORK_STEPS, *net)
    press(page, "PageUp", "network", NETWORK_STEPS - 1)
    at(page, "network", NETWORK_STEPS - 1, *net)
    press(page, "Home", "network", 0)  # Home: the first step
    at(page, "network", 0, *net)
    press(page, "PageUp", "shopping", SHOPPING_STEPS)  # at /network's first step: the shopping graph at its last
    at(page, "shopping", SHOPPING_STEPS, *shop)
    press(page, "PageUp", "shopping", SHOPPING_STEPS - 1)
    at(page, "shopping", SHOPPING_STEPS - 1, *shop)
    page.goto(f"{app_url}/shopping?present=1&preset=apples_oranges&step=0")
    at(page, "shopping", 0, *shop)
    page.keyboard.press("PageUp")  # the chapter's first page: PageUp at its first step stays
    page.wait_for_timeout(1000)  # what a second press would have changed by now, it has not
    at(page, "shopping", 0, *shop)
    assert page.get_by_test_id("stException").count() == 0
