"""Property-based: whatever a link says, every page in app.py's navigation opens as a page.

Hypothesis draws URL queries for each page (its own parameters, the chrome's ``lang`` and ``present``,
and names no page has): arbitrary text, Unicode digits, huge numbers, 10 kB values, repeated keys,
path-like values and Markdown links. Each is opened through app.py under AppTest, as a bookmark
would be; the page must show its title with no exception and without falling back to the page
edge's "something went wrong" message."""
import re
import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from backprop.training import TrainConfig

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app.py"
NAV = re.findall(r'st\.Page\("(pages/\w+\.py)"', APP.read_text())

CHROME = ("lang", "present")
COMMON = ("step", "preset", "seed", "lr", "n", "digit", "index", "weights", "dataset", "x", "../../etc/passwd")


def page_params(path):
    """The names a page may read from its URL: what its source names as a URL field, plus likely ones."""
    source = (ROOT / path).read_text()
    names = set(re.findall(r'U\.\w+\(\s*"(\w+)"', source)) | set(re.findall(r'query_params\.get\("(\w+)"', source))
    names |= set(re.findall(r'query_params\["(\w+)"\]', source))
    if path.endswith("training.py"):
        names |= set(TrainConfig().to_dict())
    if path.endswith("shopping.py"):
        names |= {"apple", "apple_num", "orange", "orange_num", "tax"}
    if path.endswith("gradient_check.py"):
        names |= {"gc_bug", "gc_batch", "gc_first", "gc_h", "gc_dtype", "gc_method", "gc_hidden"}
    return sorted(names | set(CHROME) | set(COMMON))


def edge_message():
    with (ROOT / "pages" / "locales" / "en" / "app.toml").open("rb") as f:
        app = tomllib.load(f)
    return app["page_failed"]


hostile_text = st.one_of(
    st.text(max_size=60),
    st.sampled_from(["²", "³", "٣", "۴", "०", "๓", "１２", "Ⅻ", "½", "2²", "-²", "1_000", " 7 ", "0x10", "1e3"]),
    st.sampled_from(["9" * 400, "-" + "9" * 5000, "1e309", "-1e400", "nan", "inf", "-inf", str(2**64),
                     "2147483648", "0", "-1", "1,2,3", ",,,", "100000," * 20, "10000000", "1000000"]),
    st.sampled_from(["a" * 10_000, "9" * 10_000, "[x](http://127.0.0.1:9/p)" * 400]),
    st.sampled_from(["..", "../../etc/passwd", "/etc", "/tmp/x/home.toml", "C:\\Windows\\win.ini",
                     "%2e%2e%2f", "file:///etc/passwd", "\x00", "a\nb", "en/../ja"]),
    st.sampled_from(["[click here](http://127.0.0.1:9/phish)", "![x](http://127.0.0.1:9/x.png)",
                     "`code`", "<script>alert(1)</script>", "**bold**", "<img src=x onerror=alert(1)>",
                     "javascript:alert(1)", "http://127.0.0.1:9/"]),
)
value = st.one_of(hostile_text, st.lists(hostile_text, min_size=2, max_size=3))  # a list: a repeated key


def open_with(path, query):
    at = AppTest.from_file(str(APP), default_timeout=60)
    for key, v in query.items():
        at.query_params[key] = v
    at.switch_page(path).run()
    return at


EVERY_NAME = ["²", "9" * 10_000, "[click here](http://127.0.0.1:9/phish)", "../../etc/passwd", ["1", "٣", "-1e400"]]


@pytest.mark.parametrize("path", NAV)
def test_every_page_opens_whatever_its_url_says(path):
    """Each page: one hostile value in every parameter at once (the examples), then random mixes. The
    examples are few because a page run costs 1-4 s on a loaded 2-core machine."""
    assert len(NAV) >= 4, NAV
    names = page_params(path)
    failed = edge_message()

    @settings(max_examples=2, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(st.dictionaries(st.sampled_from(names), value, min_size=1, max_size=8))
    def opens(query):
        at = open_with(path, query)
        assert not at.exception, (query, at.exception)
        assert at.title and at.title[0].value, query  # a page, with its title
        assert not any(failed in e.value for e in at.error), query  # not the page edge's fallback

    for hostile in EVERY_NAME:
        opens = example({name: hostile for name in names})(opens)
    opens()
