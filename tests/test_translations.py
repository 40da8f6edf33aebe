"""The Japanese and Chinese catalogues match the English ones: same keys, same placeholders, every
string translated (not left in English), and each file is valid TOML."""
import re
import string
import tomllib
from pathlib import Path

import pytest

LOCALES = Path(__file__).resolve().parents[1] / "pages" / "locales"
LANGS = ("ja", "zh")
PAIRS = [(lang, en.stem) for en in sorted((LOCALES / "en").glob("*.toml")) for lang in LANGS
         if (LOCALES / lang / en.name).exists()]


def _load(lang, page):
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
    english, other = _flatten(_load("en", page)), _flatten(_load(lang, page))
    assert not set(english) - set(other), f"{lang}/{page}.toml misses {sorted(set(english) - set(other))}"
    assert not set(other) - set(english), f"{lang}/{page}.toml has extra {sorted(set(other) - set(english))}"


@pytest.mark.parametrize("lang,page", PAIRS)
def test_same_placeholders_as_english(lang, page):
    english, other = _flatten(_load("en", page)), _flatten(_load(lang, page))
    for key, source in english.items():
        if key not in other or not isinstance(source, str):
            continue
        assert isinstance(other[key], str), f"{lang}/{page}.toml {key} is not a string"
        assert placeholders(other[key]) == placeholders(source), f"{lang}/{page}.toml {key}: {other[key]!r}"


@pytest.mark.parametrize("lang,page", PAIRS)
def test_every_string_is_translated(lang, page):
    english, other = _flatten(_load("en", page)), _flatten(_load(lang, page))
    for key, source in english.items():
        if key not in other or not isinstance(source, str):
            continue
        assert other[key].strip(), f"{lang}/{page}.toml {key} is empty"
        if len(prose_words(source)) >= 3:
            assert other[key] != source, f"{lang}/{page}.toml {key} is still English"
            assert len(prose_words(other[key])) < len(prose_words(source)), \
                f"{lang}/{page}.toml {key} reads mostly English: {other[key]!r}"
