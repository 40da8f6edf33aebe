"""Real browser: Debian's Chromium, driven by Playwright, reaches every page through the navigation."""
import re

import pytest
from playwright.sync_api import expect

from conftest import running_app

pytestmark = pytest.mark.browser

# (link, path, the page's own heading)
NAV = [("Shopping graph", "/shopping", "Shopping graph"), ("Gradient check", "/gradient_check", "Gradient check"),
       ("Live training", "/training", "Live training"), ("Home", "/", "Backprop Explorer")]


def test_home_then_every_page_through_the_sidebar(app_url, page):
    page.goto(app_url)
    expect(page.get_by_role("heading", name="Backprop Explorer")).to_be_visible()
    nav = page.get_by_test_id("stSidebarNav")
    for label, path, heading in NAV:
        nav.get_by_role("link", name=label).click()
        page.wait_for_url(re.compile(re.escape(app_url + path) + r"(\?.*)?$"))  # pages may add their own state
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        expect(page.get_by_test_id("stException")).to_have_count(0)


def test_presentation_mode_puts_navigation_on_top(app_url, page):
    page.goto(app_url + "/?present=1")
    page.wait_for_function("getComputedStyle(document.documentElement).fontSize === '22px'")
    expect(page.get_by_test_id("stExpandSidebarButton")).to_be_visible()  # sidebar collapsed
    page.get_by_test_id("stTopNav").get_by_role("link", name="Gradient check").click()
    page.wait_for_url(app_url + "/gradient_check?present=1")
    page.wait_for_function("getComputedStyle(document.documentElement).fontSize === '22px'")


def test_a_bookmarked_page_opens_first_on_a_fresh_server(page):
    # Before any session has run app.py, Streamlit would run pages/shopping.py on its own, as an
    # old-style pages/ folder app (no routing, a sidebar listing chrome.py); pages/chrome.py reroutes.
    with running_app() as url:
        page.goto(url + "/shopping?preset=apples_oranges&step=7")
        expect(page.get_by_text("Backward 3 of 4")).to_be_visible()
        nav = page.get_by_test_id("stSidebarNav")
        expect(nav.get_by_role("link")).to_have_count(5)
        expect(nav).not_to_contain_text("chrome")
        expect(page).to_have_url(url + "/shopping?preset=apples_oranges&step=7")
