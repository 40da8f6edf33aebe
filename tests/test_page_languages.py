"""Every page, opened through app.py with ``?lang=ja`` or ``?lang=zh``, shows no English sentence of the
English catalogues anywhere a user reads it: markdown, captions, headings, widget labels and options,
help texts, alerts, tables' column labels, and the Plotly figures' titles, axis titles, annotations,
legend names and hover templates. Every string of every element the page sent is searched (the
figures' JSON included), so a label that stays English in any corner of a page fails here."""
import json
import re
import tomllib

import pytest
from google.protobuf.message import Message

from conftest import open_page
from pages import chrome
from test_translations import LOCALES, _flatten

WORD = re.compile(r"[A-Za-z]{2,}")
# Placed between the English catalogues' sentences: code spans, placeholders, markup, sentence ends.
CUT = re.compile(r"`[^`]*`|%?\{[^{}]*\}|<[^>]+>|:[\w-]+(?:/[\w-]+)?:|\*\*|\*|__|\]\([^)]*\)|[\[\]\n()|—:;.!?·]")


def _strings(lang):
    out = []
    for path in sorted((LOCALES / lang).glob("*.toml")):
        with path.open("rb") as f:
            out += [v for v in _flatten(tomllib.load(f)).values() if isinstance(v, str)]
    return out


def english_phrases(lang):
    """Runs of at least three English words from the English catalogues, cut at code, placeholders,
    markup and punctuation, leaving out those the ``lang`` catalogues keep on purpose (names such as
    Fashion-MNIST, commands, the book's English title)."""
    kept = "\n".join(_strings(lang))
    phrases = set()
    for s in _strings("en"):
        for piece in CUT.split(s):
            piece = " ".join(piece.split()).strip(" #,'\"=+-/")
            if len(WORD.findall(piece)) >= 3 and piece not in kept:
                phrases.add(piece)
    return phrases


def _collect(message, out):
    """Every string field of a protobuf message, nested messages and repeated fields included; a Plotly
    figure (``spec``) and the other JSON fields are parsed so that their strings count one by one."""
    for field, value in message.ListFields():
        for v in value if isinstance(value, (list, tuple)) or hasattr(value, "extend") else [value]:
            if isinstance(v, Message):
                _collect(v, out)
            elif isinstance(v, str):
                if v[:1] in "{[":
                    try:
                        _json_strings(json.loads(v), out)
                        continue
                    except ValueError:
                        pass
                out.append(v)


def _json_strings(value, out):
    if isinstance(value, dict):
        for v in value.values():
            _json_strings(v, out)
    elif isinstance(value, list):
        for v in value:
            _json_strings(v, out)
    elif isinstance(value, str):
        out.append(value)


def shown_text(at):
    """Every string of every element and block the app sent in its last run (style sheets left out)."""
    out = []

    def walk(node):
        proto = getattr(node, "proto", None)
        if isinstance(proto, Message) and node.type != "html":
            _collect(proto, out)
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    for frame in [*at.dataframe, *at.table]:  # their cells travel as Arrow bytes
        df = frame.value
        out += [str(c) for c in [*df.columns, *df.index]]
        out += [v for v in df.to_numpy().ravel() if isinstance(v, str)]
    return [" ".join(s.split()) for s in out]


def _leaks(at, phrases):
    text = "\n".join(shown_text(at))
    return sorted(p for p in phrases if p in text)


VIEWS = {  # name -> (page, query)
    "home": ("pages/home.py", {}),
    "shopping": ("pages/shopping.py", {"step": "5"}),
    "shopping_sigmoid": ("pages/shopping.py", {"preset": "sigmoid", "step": "7"}),
    "shopping_softmax": ("pages/shopping.py", {"preset": "softmax_loss", "step": "20"}),
    "shopping_expression": ("pages/shopping.py", {"preset": "expression", "expr": "log(x) * y + exp(z)", "step": "3"}),
    "network": ("pages/network.py", {"n": "3", "step": "6"}),
    "network_tiny": ("pages/network.py", {"net": "tiny", "step": "5"}),
    "gradient_check": ("pages/gradient_check.py", {}),
    "gradient_check_bug": ("pages/gradient_check.py", {"present": "1", "moment": "4"}),
    "gradient_check_tiles": ("pages/gradient_check.py", {"gc_bug": "affine_db_wrong_axis", "gc_tab": "tiles"}),
    "gradient_check_scatter": ("pages/gradient_check.py", {"gc_tab": "scatter", "gc_dtype": "float32"}),
    "gradient_check_sweep": ("pages/gradient_check.py", {"gc_tab": "sweep"}),
    "training_present": ("pages/training.py", {"present": "1"}),
    "training": ("pages/training.py", {}),
    "bad_link": ("pages/shopping.py", {"step": "x", "apple": "y", "x": "1"}),
    "bad_expression": ("pages/shopping.py", {"preset": "expression", "expr": "log(x) + * 2"}),
    "bad_network_link": ("pages/network.py", {"net": "huge", "lr": "-1", "step": "3"}),
    "bad_check_link": ("pages/gradient_check.py", {"gc_bug": "nope", "gc_h": "1e9", "gc_batch": "0"}),
}


@pytest.fixture(scope="module")
def phrases():
    return {lang: english_phrases(lang) for lang in ("ja", "zh")}


def test_the_phrase_list_holds_the_catalogues_sentences(phrases):
    assert len(phrases["ja"]) > 300 and len(phrases["zh"]) > 300
    assert "step forward and backward through the book's computational graph, one node at a time" in phrases["ja"]
    assert not any("Fashion-MNIST" == p or "MulLayer" in p for p in phrases["ja"])


def test_the_search_sees_labels_help_and_figures():
    at = open_page("pages/shopping.py", {"preset": "sigmoid", "step": "7"})
    text = shown_text(at)
    assert "Shopping graph" in text  # the page's heading (the navigation's titles are not elements)
    assert any("value (forward)" in s for s in text)  # the figure's legend
    assert "scale_a_layer: ScaleLayer" in text  # a node's hover text
    assert _leaks(at, english_phrases("ja"))  # in English, the search finds English


@pytest.mark.parametrize("view", list(VIEWS))
def test_no_english_sentence_on_the_page(view, phrases):
    """Opened in Japanese, then switched to Chinese in the same session (as the picker does)."""
    path, query = VIEWS[view]
    at = open_page(path, {**query, "lang": "ja"})
    for lang in ("ja", "zh"):
        if lang != "ja":
            at.query_params["lang"] = lang
            at.run()
        assert not at.exception, at.exception
        assert at.session_state.chrome_lang == lang
        assert any(f'const lang = "{chrome.HTML_LANG[lang]}"' in h.proto.body for h in at.get("html"))  # <html lang>
        assert not _leaks(at, phrases[lang]), f"English on {view} in {lang}: {_leaks(at, phrases[lang])}"


def test_the_data_in_use_is_one_sentence_in_each_language():
    """Its source's name once, then its status: no second colon ("使用中：同梱のサンプル：" was)."""
    at = open_page("pages/home.py", {"lang": "ja"})
    expected = {"ja": "使用中：**同梱のサンプル**、訓練画像 5,000 枚 + テスト画像 10,000 枚",
                "zh": "正在使用：**随附样本**，5,000 张训练图像 + 10,000 张测试图像",
                "en": "In use: **bundled sample**, 5,000 training + 10,000 test images"}
    for lang, line in expected.items():
        at.query_params["lang"] = lang
        at.run()
        assert line in [m.value for m in at.markdown]
