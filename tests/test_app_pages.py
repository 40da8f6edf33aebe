"""Every page renders under AppTest without an exception, and the shell shows what it promises."""
import pytest
from streamlit.testing.v1 import AppTest

PAGES = ["pages/home.py", "pages/shopping.py", "pages/gradient_check.py", "pages/training.py"]


def app():
    return AppTest.from_file("../app.py", default_timeout=30)


@pytest.mark.parametrize("page", PAGES)
def test_page_renders(page):
    at = app()
    at.run()
    at.switch_page(page).run()
    assert not at.exception, at.exception


def test_home_names_explorers_dataset_and_credits():
    at = app()
    at.run()
    links = [link.proto.label for link in at.get("page_link")]
    assert links == ["Shopping graph", "Gradient check", "Live training"]
    body = " ".join(m.value for m in at.markdown)
    for words in ("bundled sample: 5,000 training + 10,000 test images", "LeCun", "Koki Sait"):
        assert words in body, words


def test_presentation_mode_from_url_and_toggle():
    at = app()
    at.query_params["present"] = "1"
    at.run()
    assert at.session_state.present is True
    assert any("font-size: 22px" in h.proto.body for h in at.get("html"))
    at.sidebar.toggle[0].set_value(False).run()
    assert "present" not in at.query_params
    assert not any("font-size: 22px" in h.proto.body for h in at.get("html"))


def test_unknown_language_falls_back_to_english():
    at = app()
    at.query_params["lang"] = "zz"
    at.run()
    assert not at.exception
    assert at.title[0].value == "Backprop Explorer"
