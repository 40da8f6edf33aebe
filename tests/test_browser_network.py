"""Real browser: /network steps on PageDown at 1280x720 in presentation mode; each step fits the screen."""
import pytest
from playwright.sync_api import expect

from conftest import wait_for_app

pytestmark = pytest.mark.browser

HEADLINES = ["Forward 1 of 4", "Forward 2 of 4", "Forward 3 of 4", "Forward 4 of 4", "Backward 1 of 4",
             "Backward 2 of 4", "Backward 3 of 4", "Backward 4 of 4", "One update"]
CURRENT_CHARTS = '[data-testid="stElementContainer"]:not([data-stale="true"]) [data-testid="stPlotlyChart"]'


def test_pagedown_walks_the_layers_and_each_step_fits_a_projector(app_url, page):
    page.set_default_timeout(60_000)  # the first visit computes the walk on a machine shared with others
    page.goto(f"{app_url}/network?present=1&n=2&step=0")
    page.wait_for_selector('[data-testid="stPlotlyChart"] .main-svg')
    wait_for_app(page)
    expect(page.get_by_text("Start: the input")).to_be_visible()
    for k, headline in enumerate(HEADLINES, start=1):
        page.keyboard.press("PageDown")
        page.wait_for_url(f"**step={k}**")
        expect(page.get_by_role("heading", name=headline)).to_be_visible()
        wait_for_app(page)
        charts = page.locator(CURRENT_CHARTS)
        main = charts.nth(1).bounding_box()  # the strip of layers is the first; the step's tensor the second
        assert main["y"] < 720 - 150, (headline, main)  # the tensor starts on the screen, beside its explanation
        words = page.locator(".st-key-net_explain p").first.bounding_box()
        assert words["y"] + words["height"] <= 720, headline
        assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    expect(page.get_by_text("loss after")).to_be_visible()
    page.keyboard.press("Home")
    page.wait_for_url("**step=0**")
    expect(page.get_by_test_id("stException")).to_have_count(0)


def test_a_phone_gets_no_sideways_scrolling(app_url, browser):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    phone = context.new_page()
    phone.set_default_timeout(60_000)
    try:
        for path in ("network?net=tiny&step=6", "network?n=3&step=8", "shopping?preset=softmax_loss&step=20"):
            phone.goto(f"{app_url}/{path}")
            phone.wait_for_selector('[data-testid="stPlotlyChart"] .main-svg')
            wait_for_app(phone)
            assert phone.evaluate("document.documentElement.scrollWidth") <= 390, path
    finally:
        context.close()
