"""Every page renders under AppTest through app.py without an exception, and the shell shows what it promises."""
import pytest

from conftest import open_page

PAGES = ["pages/home.py", "pages/shopping.py", "pages/gradient_check.py", "pages/training.py"]


@pytest.mark.parametrize("page", PAGES)
def test_page_renders(page):
    at = open_page(page)
    assert not at.exception, at.exception


def test_home_names_explorers_dataset_and_credits():
    at = open_page()
    links = [link.proto.label for link in at.get("page_link")]
    assert links == ["Shopping graph", "Inside the network", "Gradient check", "Live training"]  # the chapter order
    body = " ".join(m.value for m in at.markdown)
    for words in ("bundled sample: 5,000 training + 10,000 test images", "LeCun", "Koki Sait"):
        assert words in body, words


def test_presentation_mode_from_url_and_toggle():
    at = open_page(query={"present": "1"})
    assert at.session_state.present is True
    assert any("font-size: 22px" in h.proto.body for h in at.get("html"))
    at.sidebar.toggle[0].set_value(False).run()
    assert "present" not in at.query_params
    assert not any("font-size: 22px" in h.proto.body for h in at.get("html"))


def test_the_language_picker_is_there_in_both_modes():
    for query in (None, {"present": "1"}):
        at = open_page(query=query)
        picker = at.get("button_group")[0]
        assert [o.content for o in picker.proto.options] == ["English", "日本語", "中文"]
        assert any(".st-key-chrome_lang_box" in h.proto.body for h in at.get("html"))  # pinned at the top


def test_unknown_language_falls_back_to_english():
    at = open_page(query={"lang": "zz"})
    assert not at.exception
    assert at.title[0].value == "Backprop Explorer"
    assert "lang=zz" in at.warning[0].value
