"""Real browser: Debian's Chromium, driven by Playwright, reaches every page through the navigation."""
import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

NAV = [("Shopping graph", "/shopping"), ("Gradient check", "/gradient-check"), ("Live training", "/training"),
       ("Home", "/")]


def test_home_then_every_page_through_the_sidebar(app_url, page):
    page.goto(app_url)
    expect(page.get_by_role("heading", name="Backprop Explorer")).to_be_visible()
    nav = page.get_by_test_id("stSidebarNav")
    for label, path in NAV:
        nav.get_by_role("link", name=label).click()
        page.wait_for_url(app_url + path)
        expect(page.get_by_test_id("stHeading").first).to_be_visible()
        expect(page.get_by_test_id("stException")).to_have_count(0)


def test_presentation_mode_puts_navigation_on_top(app_url, page):
    page.goto(app_url + "/?present=1")
    page.wait_for_function("getComputedStyle(document.documentElement).fontSize === '22px'")
    expect(page.get_by_test_id("stExpandSidebarButton")).to_be_visible()  # sidebar collapsed
    page.get_by_test_id("stTopNav").get_by_role("link", name="Gradient check").click()
    page.wait_for_url(app_url + "/gradient-check?present=1")
    page.wait_for_function("getComputedStyle(document.documentElement).fontSize === '22px'")
