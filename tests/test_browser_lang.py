"""Real browser: a Japanese or Chinese browser (its Accept-Language, no ``?lang=``) gets the app in its
language, the document says so (``<html lang>``, by which Chromium picks Noto CJK's Japanese or Chinese
glyphs), and the choice survives a click in the navigation."""
import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

# (browser locale, <html lang>, the picker's choice, Home in the navigation, the shopping page's link and
# heading, Streamlit's skip link as app.toml words it)
BROWSERS = [("ja-JP", "ja", "日本語", "ホーム", "買い物の計算グラフ", "メインコンテンツへ移動"),
            ("zh-CN", "zh-Hans", "中文", "首页", "购物的计算图", "跳到主要内容")]


@pytest.mark.parametrize("locale,html_lang,choice,home,shopping,skip", BROWSERS, ids=[b[0] for b in BROWSERS])
def test_the_browser_language_is_the_apps_and_stays_across_the_navigation(
        app_url, browser, locale, html_lang, choice, home, shopping, skip):
    context = browser.new_context(locale=locale, viewport={"width": 1280, "height": 720})
    try:
        page = context.new_page()
        page.goto(app_url)
        nav = page.get_by_test_id("stSidebarNav")
        expect(nav.get_by_role("link", name=home)).to_be_visible()
        expect(page.locator("html")).to_have_attribute("lang", html_lang)
        expect(page.get_by_test_id("stSkipToContent")).to_have_text(skip)
        expect(page.locator(".st-key-chrome_lang_box").get_by_role("radio", name=choice)).to_be_checked()
        assert "lang=" not in page.url  # the browser chose, not the link
        nav.get_by_role("link", name=shopping).click()
        page.wait_for_url(re.compile(re.escape(app_url) + r"/shopping(\?.*)?$"))
        expect(page.get_by_role("heading", name=shopping, exact=True)).to_be_visible()
        expect(page.locator("html")).to_have_attribute("lang", html_lang)
        expect(page.locator(".st-key-chrome_lang_box").get_by_role("radio", name=choice)).to_be_checked()
        expect(page.get_by_text("Shopping graph")).to_have_count(0)
    finally:
        context.close()
