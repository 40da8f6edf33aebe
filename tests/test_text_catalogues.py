"""User-facing text lives in pages/locales/<lang>/<page>.toml: every key a page reads exists in English,
and another language falls back to English key by key."""
import re
import tomllib
from pathlib import Path

import pytest

from pages import chrome

PAGES = Path(__file__).resolve().parents[1] / "pages"


def _pages_and_keys():
    for path in sorted(PAGES.glob("*.py")):
        source = path.read_text()
        match = re.search(r'T = chrome\.text\("(\w+)"\)', source)
        if match:
            yield path.name, match.group(1), set(re.findall(r'\bT\["(\w+)"\]', source))


@pytest.mark.parametrize("filename,catalogue,keys", list(_pages_and_keys()))
def test_every_key_a_page_reads_exists_in_english(filename, catalogue, keys):
    with (PAGES / "locales" / "en" / f"{catalogue}.toml").open("rb") as f:
        english = tomllib.load(f)
    assert keys, f"{filename} reads no text from its catalogue"
    assert not keys - set(english), f"{filename}: missing in en/{catalogue}.toml: {sorted(keys - set(english))}"


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
