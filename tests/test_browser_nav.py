"""Real browser: Debian's Chromium, driven by Playwright, reaches every page through the navigation,
keeps the chrome's parameters (present, lang) across it, and a bookmark opened first on a freshly
started server is routed (tests/test_hall.py opens a hall of them at once)."""
import re
import urllib.parse

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


def test_presentation_mode_and_language_stay_on_through_the_navigation(app_url, page):
    page.goto(app_url + "/?present=1&lang=ja")
    page.wait_for_function("getComputedStyle(document.documentElement).fontSize === '22px'")
    expect(page.get_by_test_id("stExpandSidebarButton")).to_be_visible()  # sidebar collapsed
    nav = page.get_by_test_id("stTopNav")
    expect(nav.get_by_role("link", name="勾配確認")).to_be_visible()  # app.toml's words in Japanese
    picker = page.locator(".st-key-chrome_lang_box")
    expect(picker).to_be_visible()
    expect(picker.get_by_role("radio", name="日本語")).to_be_checked()
    for label, path in (("勾配確認", "/gradient_check"), ("買い物の計算グラフ", "/shopping")):
        nav.get_by_role("link", name=label).click()
        page.wait_for_url(re.compile(re.escape(app_url + path) + r"\?(.*&)?lang=ja(&.*)?$"))
        expect(page).to_have_url(re.compile(r"[?&]present=1(&|$)"))
        page.wait_for_function("getComputedStyle(document.documentElement).fontSize === '22px'")
    picker.get_by_role("radio", name="中文").click()
    expect(nav.get_by_role("link", name="梯度确认")).to_be_visible()
    expect(page).to_have_url(re.compile(r"[?&]lang=zh(&|$)"))


def test_a_hostile_value_in_a_warning_is_plain_text(app_url, page):
    value = "[click here](http://127.0.0.1:9/phish) ![x](http://127.0.0.1:9/x.png) `code`"
    page.goto(app_url + "/?" + urllib.parse.urlencode({"lang": value}))
    alert = page.get_by_test_id("stAlert")
    expect(alert).to_contain_text("lang=[click here](http")
    shown = alert.evaluate("e => e.textContent.replaceAll('\u2060', '')")
    assert value[:40] in shown  # as typed (cut to 40 characters), not rendered
    expect(alert.locator("a, img, code")).to_have_count(0)


def test_a_bookmarked_page_opens_first_on_a_fresh_server(page):
    # Before any session has run app.py, Streamlit would run pages/shopping.py on its own, as an
    # old-style pages/ folder app (no routing, a sidebar listing chrome.py); pages/routing.py reroutes.
    with running_app() as url:
        page.goto(url + "/shopping?preset=apples_oranges&step=7")
        expect(page.get_by_text("Backward 3 of 4")).to_be_visible()
        nav = page.get_by_test_id("stSidebarNav")
        expect(nav.get_by_role("link")).to_have_count(5)
        expect(nav).not_to_contain_text("chrome")
        expect(page).to_have_url(url + "/shopping?preset=apples_oranges&step=7")
