"""Real browser: /network and the big shopping graph on a phone scroll no page sideways. (PageDown through
/network at 1280x720, each step on one screen, its headline, Home: tests/test_browser_flow.py.)"""
import pytest

from conftest import wait_for_app

pytestmark = pytest.mark.browser


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
