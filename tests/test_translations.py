"""Every other language's catalogues match the English ones: each file is valid TOML with an English
original, has the same keys (nested tables included), the same placeholders with the same conversion
and format spec, and every string translated (not left in English). What the pages actually read is
checked in tests/test_text_catalogues.py."""
import re
import string
import tomllib
from pathlib import Path

import pytest

from pages import chrome

LOCALES = Path(__file__).resolve().parents[1] / "pages" / "locales"
LANGS = tuple(lang for lang in chrome.LANGUAGES if lang != chrome.DEFAULT_LANG)
PAIRS = [(lang, en.stem) for en in sorted((LOCALES / "en").glob("*.toml")) for lang in LANGS
         if (LOCALES / lang / en.name).exists()]


def load(lang, page):
    with (LOCALES / lang / f"{page}.toml").open("rb") as f:
        return tomllib.load(f)


def _flatten(table, prefix=""):
    """{"a": {"b": "x"}} -> {"a.b": "x"}: nested tables compared key by key."""
    out = {}
    for key, value in table.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[prefix + key] = value
    return out


def _string_pairs(lang, page):
    """(key, English, translation) for every English string whose key the translation has too (missing
    keys are test_same_keys_as_english's part); a translation that is not a string fails here."""
    english, other = _flatten(load("en", page)), _flatten(load(lang, page))
    for key, source in english.items():
        if key in other and isinstance(source, str):
            assert isinstance(other[key], str), f"{lang}/{page}.toml {key} is not a string"
            yield key, source, other[key]


def placeholders(s):
    """The replacement fields of a str.format string, with their conversion and format spec."""
    return {(name, conv, spec) for _, name, spec, conv in string.Formatter().parse(s) if name is not None}


PROSE_WORD = re.compile(r"[A-Za-z]{2,}")


def prose_words(s):
    """English words outside code spans, placeholders, Streamlit directives, markup and symbols."""
    s = re.sub(r"`[^`]*`", " ", s)                   # code spans
    s = re.sub(r"%?\{[^{}]*\}", " ", s)              # {placeholders}, plotly %{fields}
    s = re.sub(r":[\w-]+(/[\w-]+)?(?=[:\[])", " ", s)  # :material/bolt:, :blue-badge[
    s = re.sub(r"<[^>]+>", " ", s)                   # HTML tags
    s = re.sub(r"\b[\w.]+\.(py|npz|csv)\b", " ", s)  # file names
    return PROSE_WORD.findall(s)


def test_there_are_translations_to_check():
    assert {lang for lang, _ in PAIRS} == set(LANGS)
    assert len(PAIRS) >= 2 * 5


def test_helpers_see_what_they_should():
    assert placeholders("{n:,} of {done:.0%} {bug!r} %{customdata[0]}") == {
        ("n", None, ","), ("done", None, ".0%"), ("bug", "r", ""), ("customdata[0]", None, "")}
    assert prose_words("`MulLayer` is a **multiply** node") == ["is", "multiply", "node"]
    assert prose_words(":blue-badge[:material/arrow_forward: forward]") == ["forward"]


@pytest.mark.parametrize("path", sorted(p for lang in LANGS for p in (LOCALES / lang).glob("*.toml")),
                         ids=lambda p: f"{p.parent.name}/{p.name}")
def test_catalogue_parses_and_has_an_english_original(path):
    with path.open("rb") as f:
        assert tomllib.load(f)
    assert (LOCALES / "en" / path.name).exists(), f"{path} has no English original"


@pytest.mark.parametrize("lang,page", PAIRS)
def test_same_keys_as_english(lang, page):
    english, other = _flatten(load("en", page)), _flatten(load(lang, page))
    assert not set(english) - set(other), f"{lang}/{page}.toml misses {sorted(set(english) - set(other))}"
    assert not set(other) - set(english), f"{lang}/{page}.toml has extra {sorted(set(other) - set(english))}"


@pytest.mark.parametrize("lang,page", PAIRS)
def test_same_placeholders_as_english(lang, page):
    for key, source, translation in _string_pairs(lang, page):
        assert placeholders(translation) == placeholders(source), f"{lang}/{page}.toml {key}: {translation!r}"


@pytest.mark.parametrize("lang,page", PAIRS)
def test_every_string_is_translated(lang, page):
    for key, source, translation in _string_pairs(lang, page):
        assert translation.strip(), f"{lang}/{page}.toml {key} is empty"
        if len(prose_words(source)) >= 3:
            assert translation != source, f"{lang}/{page}.toml {key} is still English"
            assert len(prose_words(translation)) < len(prose_words(source)), \
                f"{lang}/{page}.toml {key} reads mostly English: {translation!r}"
