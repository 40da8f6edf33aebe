"""Real browser, as a lecturer with a clicker: the gradient check walked with PageDown only at 1280x720 in
presentation mode (each moment's verdict and figure inside the screen), on to /training after the last and
back with PageUp; a bookmark of every knob on a freshly started server; every page on a 390 px phone."""
import re

import pytest
from playwright.sync_api import expect

from conftest import running_app, wait_for_app

pytestmark = pytest.mark.browser
SLOW = 60_000  # ms: a loaded 2-core machine
SHOTS = None  # set to a folder to keep a screenshot of each moment


def inside(page, selector, timeout=SLOW):
    """True once the element lies inside the viewport (a rerun may still be replacing the last moment's)."""
    try:
        page.wait_for_function("""sel => { const e = document.querySelector(sel); if (!e) return false;
            const r = e.getBoundingClientRect();
            return r.top >= 0 && r.left >= 0 && r.bottom <= innerHeight + 1 && r.right <= innerWidth + 1; }""",
                               arg=selector, timeout=timeout)
        return True
    except Exception:
        return False


def at_moment(page, k):
    bar = page.locator(".st-key-chrome_moment_bar")
    expect(bar).to_contain_text(f"{k} of 7", timeout=SLOW)
    expect(page.locator('[data-testid="stSkeleton"]')).to_have_count(0, timeout=SLOW)
    expect(page.locator(".st-key-gc_figure [data-testid='stPlotlyChart']").first).to_be_visible(timeout=SLOW)
    wait_for_app(page)


def test_pagedown_walks_every_moment_then_the_next_page_and_pageup_back(app_url, page):
    page.goto(app_url)
    wait_for_app(page)
    page.goto(app_url + "/gradient_check?present=1")
    for k in range(1, 8):
        at_moment(page, k)
        assert inside(page, ".st-key-gc_verdict"), f"moment {k}: the explanation leaves the screen"
        assert inside(page, ".st-key-gc_figure"), f"moment {k}: the figure leaves the screen"
        if k in (2, 3, 5):
            expect(page.locator(".st-key-gc_table")).to_contain_text("wrong")
        if SHOTS:
            page.screenshot(path=f"{SHOTS}/moment-{k}.png")
        page.keyboard.press("PageDown")
        if k < 7:
            expect(page).to_have_url(re.compile(rf"[?&]moment={k + 1}(&|$)"), timeout=SLOW)
    page.wait_for_url(re.compile(re.escape(app_url) + r"/training\?.*"), timeout=SLOW)
    expect(page).to_have_url(re.compile(r"[?&]present=1(&|$)"))
    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect(page.locator(".st-key-chrome_moment_bar")).to_contain_text(re.compile(r"(?<!\d)1 of \d+"), timeout=SLOW)
    wait_for_app(page)
    page.keyboard.press("PageUp")  # at the training page's first moment: the gradient check at its last
    page.wait_for_url(re.compile(re.escape(app_url) + r"/gradient_check\?.*"), timeout=SLOW)
    at_moment(page, 7)
    page.keyboard.press("ArrowLeft")
    at_moment(page, 6)
    page.go_back()  # the browser's Back walks moments too
    at_moment(page, 7)


KNOBS = {"gc_seed": "7", "gc_hidden": "20", "gc_batch": "4", "gc_first": "10", "gc_kinks": "0",
         "gc_bug": "affine_db_wrong_axis", "gc_activation": "sigmoid", "gc_h": "1e-05", "gc_dtype": "float32",
         "gc_init": "he", "gc_sample": "1", "gc_entries": "30", "gc_tab": "scatter", "gc_method": "loop"}


def test_a_bookmark_of_every_knob_opens_on_a_fresh_server(browser):
    query = "&".join(f"{k}={v}" for k, v in KNOBS.items())
    with running_app() as url:
        context = browser.new_context(viewport={"width": 1280, "height": 720})
        try:
            page = context.new_page()
            page.goto(url + "/gradient_check?" + query)
            table = page.get_by_test_id("stTable")
            expect(table).to_be_visible(timeout=SLOW)
            expect(table.get_by_role("row").filter(has_text="b2").first).to_contain_text("shape mismatch")
            expect(table.get_by_role("row").filter(has_text="b1").first).to_contain_text("20")  # 20 hidden units
            expect(page.get_by_text(re.compile("book's loop.*4 images, float32, h = 1e-5"))).to_be_visible()
            expect(page.get_by_role("tab", name="Numerical vs backprop")).to_have_attribute("aria-selected", "true")
            expect(page.get_by_test_id("stAlert").filter(has_text="could not be used")).to_have_count(0)
            for name, value in KNOBS.items():
                expect(page).to_have_url(re.compile(rf"[?&]{name}={re.escape(value)}(&|$)"))
        finally:
            context.close()


PAGES = ["/", "/shopping", "/gradient_check", "/training"]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_fits_a_phone(app_url, browser, path, tmp_path):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        page.goto(app_url)
        wait_for_app(page)
        page.goto(app_url + path)
        wait_for_app(page)
        expect(page.locator('[data-testid="stSkeleton"]')).to_have_count(0, timeout=SLOW)
        if path == "/gradient_check":
            expect(page.get_by_test_id("stTable")).to_be_visible(timeout=SLOW)
        name = path.strip("/") or "home"
        page.screenshot(path=tmp_path / f"phone-{name}.png")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
    finally:
        context.close()
