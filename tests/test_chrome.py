"""The shared chrome under AppTest through app.py: the session's language (browser, ?lang=, nothing
process-wide), hostile ?lang= values, warnings that echo values as plain text, the page's edge, and
the URL-state helpers a page adopts in a few lines."""
import logging
import re

import pytest
from streamlit.testing.v1 import AppTest

from backprop import datasets
from conftest import open_page
from pages import chrome


@pytest.mark.parametrize("header,locale,lang", [
    ("ja,en;q=0.8", None, "ja"), ("zh-CN", None, "zh"), ("zh-Hans", None, "zh"), ("zh-Hans-CN,en;q=0.5", None, "zh"),
    ("fr-FR,de;q=0.9", None, "en"), ("en;q=0.5,ja;q=0.9", None, "ja"), ("*", None, "en"), (None, None, "en"),
    (None, "ja-JP", "ja"), ("fr", "zh-CN", "zh"), ("ja;q=abc,zh", None, "zh"), ("x" * 100_000, None, "en"),
])
def test_the_browser_language_is_the_first_the_app_has(header, locale, lang):
    assert chrome.negotiate(header, locale) == lang


def labels(at):
    return at.sidebar.toggle[0].label, at.get("button_group")[0].proto.label


@pytest.mark.parametrize("locale,toggle", [("ja-JP", "プレゼンテーションモード"), ("zh-Hans", "演示模式"),
                                           ("zh-CN", "演示模式"), ("de-DE", "Presentation mode")])
def test_without_lang_the_browser_decides(locale, toggle):
    at = open_page(locale=locale)
    assert not at.exception and labels(at)[0] == toggle
    assert "lang" not in at.query_params  # nothing chosen: a bookmark keeps following the browser


def test_lang_overrides_the_browser_and_is_kept():
    at = open_page("pages/shopping.py", {"lang": "zh"}, locale="ja-JP")
    assert labels(at) == ("演示模式", "语言")
    at.query_params.pop("lang")  # as a click in the navigation clears the URL
    at.switch_page("pages/home.py").run()
    assert labels(at)[0] == "演示模式" and at.query_params["lang"] == "zh"


def test_two_sessions_at_once_never_see_each_others_language():
    ja, zh = open_page(locale="ja", run=False), open_page(locale="zh-CN", run=False)
    for _ in range(2):
        ja.run()
        zh.run()
        assert labels(ja)[0] == "プレゼンテーションモード" and labels(zh)[0] == "演示模式"
    ja.get("button_group")[0].set_value("en").run()  # the picker
    zh.run()
    assert labels(ja)[0] == "Presentation mode" and ja.query_params["lang"] == "en"
    assert labels(zh)[0] == "演示模式" and "lang" not in zh.query_params


@pytest.mark.parametrize("value", ["zz", "x" * 300, "..", "../../etc", "/tmp", "en/../ja", "ja\x00", "[a](http://x)"])
def test_lang_is_a_known_code_and_nothing_else(value):
    at = open_page(query={"lang": value})
    assert not at.exception
    assert at.title[0].value == "Backprop Explorer" and labels(at)[0] == "Presentation mode"
    warning = at.warning[0].value
    assert "lang=" in warning and "showing English" in warning
    assert "lang" not in at.query_params  # the bad value leaves the URL


def test_echoed_values_are_plain_text():
    hostile = "[click here](http://127.0.0.1:9/phish) ![x](http://127.0.0.1:9/x.png) `code` <b>b</b> *em*\nnext"
    shown = chrome.escape_markdown(hostile)
    assert not re.search(r"(?<!\\)[][()!`<>*_#:/.]", shown)  # every mark escaped: no link, image, code
    assert "\n" not in shown
    assert shown.replace("\\", "").replace("\u2060", "") == hostile.replace("\n", " ")
    assert "http\\:\u2060" in shown and "\u2060\\@" in chrome.escape_markdown("me@example.com")  # no autolink
    at = open_page(query={"lang": "[click](http://127.0.0.1:9/phish)"})
    assert r"\[click\]\(http\:\/\/127\.0\.0\.1\:9\/phish\)" in at.warning[0].value.replace("\u2060", "")


def test_an_unforeseen_error_stops_at_the_page_edge(monkeypatch, caplog):
    def broken(name):
        raise RuntimeError("disk on fire")

    at = open_page()  # home reads the dataset's status
    monkeypatch.setattr(datasets, "source_status", broken)
    with caplog.at_level(logging.ERROR, logger="pages.routing"):
        at.run()
    assert not at.exception
    assert at.error[0].value.startswith("Something went wrong on this page")
    assert "disk on fire" not in at.error[0].value and "Traceback" not in at.error[0].value
    assert "disk on fire" in caplog.text and "Traceback" in caplog.text  # the server's log has it all
    assert [b.label for b in at.button] == ["Try again", "Reset this page"]
    monkeypatch.undo()
    at.button(key="chrome_retry").click().run()
    assert not at.error and not at.exception and at.title[0].value == "Backprop Explorer"


def test_reset_forgets_the_page_and_keeps_the_chrome(monkeypatch):
    at = open_page("pages/shopping.py", {"step": "5", "lang": "ja", "present": "1"})
    assert at.session_state.shop_step == 5
    from backprop import presets

    monkeypatch.setattr(presets, "query_for", lambda *a, **k: 1 / 0)  # in the page's fragment: Streamlit catches it
    at.switch_page("pages/shopping.py")
    at.run()
    assert at.error and not at.exception
    monkeypatch.undo()
    assert "division" not in at.error[0].value
    at.button(key="chrome_reset_fragment").click().run()  # in Japanese: このページをリセット
    assert not at.error and not at.exception
    assert at.session_state.shop_step == 0 and at.query_params["step"] == "0"  # the page starts afresh
    assert (at.query_params["lang"], at.query_params["present"]) == ("ja", "1")  # the chrome's are kept


FIELDS = None


def url_page():
    import streamlit as st

    from backprop import urlstate as U
    from pages import chrome

    fields = U.table(U.Int("step", 0, lo=0, hi=8), U.Float("lr", 0.1, lo=1e-4, hi=10.0))
    state = chrome.url_state(fields)
    st.write(f"state {state['step']} {state['lr']}")
    if st.button("next"):
        state["step"] += 1
    chrome.write_url_state(fields, state)


def test_url_state_warns_in_the_sessions_language_and_writes_back():
    at = AppTest.from_function(url_page)
    at.query_params.update({"step": "99", "lr": "[x](http://127.0.0.1:9/)", "lang": "ja"})
    at.run()
    assert not at.exception
    assert at.markdown[0].value == "state 8 0.1"
    warning = at.warning[0].value
    assert "リンクのパラメータ" in warning and "step=99：0 から 8 の範囲外です。8 を使います。" in warning
    assert r"lr=\[x\]\(http\:\/\/127\.0\.0\.1\:9\/\)" in warning.replace("\u2060", "")
    assert at.query_params["step"] == "8" and "lr" not in at.query_params
    at.query_params.update({"step": "2"})
    at.button[0].click().run()
    assert at.query_params["step"] == "3" and at.query_params["lang"] == "ja"


def test_the_chapter_neighbours_and_the_help_at_its_ends():
    assert chrome.chapter_neighbour("shopping", -1) is None  # the chapter's first page
    assert chrome.chapter_neighbour("shopping", +1) == "network"
    assert chrome.chapter_neighbour("gradient_check", -1) == "network"
    assert chrome.chapter_neighbour("training", +1) is None and chrome.chapter_neighbour("home", +1) is None
    assert chrome.page_title("network", {"network": "Inside the network"}) == "Inside the network"
