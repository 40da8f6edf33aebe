"""User-facing text lives in pages/locales/<lang>/<page>.toml: every key a page reads exists in English
and in every other language's catalogue, and another language falls back to English key by key. Keys
read are recorded while the pages run under AppTest (computed ones, such as T[f"preset_{k}"],
included), here and in every other page test of the session. That the catalogues themselves agree
with English (keys, placeholders, translated) is tests/test_translations.py's part."""
import re
from pathlib import Path

import pytest

from conftest import open_page
from pages import chrome
from test_translations import LOCALES, load

PAGES = Path(__file__).resolve().parents[1] / "pages"


def _pages_and_keys():
    for path in sorted(PAGES.glob("*.py")):
        source = path.read_text()
        match = re.search(r'T = chrome\.text\("(\w+)"\)', source)
        if match:
            yield path.name, match.group(1), set(re.findall(r'\bT\["(\w+)"\]', source))


@pytest.mark.parametrize("filename,catalogue,keys", list(_pages_and_keys()))
def test_every_key_a_page_names_exists_in_english(filename, catalogue, keys):
    english = load("en", catalogue)
    assert keys, f"{filename} reads no text from its catalogue"
    assert not keys - set(english), f"{filename}: missing in en/{catalogue}.toml: {sorted(keys - set(english))}"


@pytest.mark.after_pages
def test_every_key_read_while_the_pages_ran_exists_in_every_catalogue():
    for path, query in [("pages/home.py", None), ("pages/shopping.py", {"step": "8"}),
                        ("pages/gradient_check.py", None), ("pages/training.py", None)]:
        assert not open_page(path, query).exception  # at least one run of each page, also when run alone
    assert set(chrome.KEYS_READ) >= {"app", "home", "shopping", "gradient_check", "training"}
    for catalogue, keys in chrome.KEYS_READ.items():
        for lang in chrome.LANGUAGES:
            if lang != "en" and not (LOCALES / lang / f"{catalogue}.toml").exists():
                continue
            missing = keys - set(load(lang, catalogue))
            assert not missing, f"read but missing in {lang}/{catalogue}.toml: {sorted(missing)}"


def test_a_second_language_overrides_english_and_falls_back(tmp_path, monkeypatch):
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "home.toml").write_text('title = "Backprop Explorer"\nintro = "See it work."\n')
    (tmp_path / "ja").mkdir()
    (tmp_path / "ja" / "home.toml").write_text('title = "誤差逆伝播エクスプローラー"\n', encoding="utf-8")
    monkeypatch.setattr(chrome, "LOCALES", tmp_path)
    chrome._catalogue.cache_clear()
    monkeypatch.setattr(chrome, "language", lambda: "ja")
    try:
        assert chrome.text("home") == {"title": "誤差逆伝播エクスプローラー", "intro": "See it work."}
    finally:
        chrome._catalogue.cache_clear()


def test_a_language_is_never_a_path():
    with pytest.raises(ValueError):
        chrome._catalogue("../en", "app")
