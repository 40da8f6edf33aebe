"""backprop.urlstate: one table per page, a parse that never raises and always gives in-range values,
and a write-back that parse reads back."""
import math

import pytest
from hypothesis import given, settings, strategies as st

from backprop import urlstate as U

FIELDS = U.table(
    U.Int("step", 0, lo=0, hi=8),
    U.Float("tax", 1.1, lo=0.0, hi=10.0),
    U.Bool("present", False),
    U.Choice("lang", "en", ("en", "ja", "zh")),
    U.Str("note", "", max_len=20, pattern=r"[a-z ]*"),
    U.IntList("hidden_sizes", (50,), lo=1, hi=1000, max_items=8),
)


def problem(query):
    state, problems = U.parse(FIELDS, query)
    assert len(problems) == 1, problems
    return state, problems[0]


def test_good_values_are_typed_and_defaults_fill_the_rest():
    state, problems = U.parse(FIELDS, {"step": "7", "tax": "1.2", "present": "1", "lang": "ja",
                                       "hidden_sizes": "100,50", "other": "ignored"})
    assert problems == []
    assert state == {"step": 7, "tax": 1.2, "present": True, "lang": "ja", "note": "", "hidden_sizes": (100, 50)}


@pytest.mark.parametrize("value,code,used", [
    ("99", "out_of_range", 8), ("-3", "out_of_range", 0), ("²", "not_a_number", 0), ("٣", "not_a_number", 0),
    ("3.5", "not_a_number", 0), ("", "not_a_number", 0), ("1" * 5000, "too_long", 0),
    ("9" * 20, "out_of_range", 8), ("../../etc/passwd", "not_a_number", 0),
])
def test_bad_integers(value, code, used):
    state, p = problem({"step": value})
    assert (p.code, p.name, p.used, state["step"]) == (code, "step", used, used)
    assert len(p.value) <= U.ECHO_CHARS + 1 and value.startswith(p.value.rstrip("…"))


@pytest.mark.parametrize("value,code,used", [
    ("nan", "not_finite", 1.1), ("-Infinity", "not_finite", 1.1), ("1e999", "out_of_range", 10.0),
    ("-0.5", "out_of_range", 0.0), ("1,1", "not_a_number", 1.1), ("0x10", "not_a_number", 1.1),
])
def test_bad_floats(value, code, used):
    state, p = problem({"tax": value})
    assert (p.code, p.used, state["tax"]) == (code, used, used)
    assert (p.lo, p.hi) == (0.0, 10.0)


def test_choices_bools_texts_and_lists():
    assert problem({"lang": "../locales"})[1].code == "not_a_choice"
    assert problem({"lang": "x" * 300})[1].code == "too_long"
    assert problem({"present": "maybe"})[1].code == "not_a_bool"
    assert problem({"note": "Hi!"})[1].code == "not_allowed"
    state, p = problem({"hidden_sizes": "5,2000"})
    assert (p.code, state["hidden_sizes"]) == ("out_of_range", (5, 1000))
    state, p = problem({"hidden_sizes": ",".join(["7"] * 9)})
    assert (p.code, p.limit, state["hidden_sizes"]) == ("too_many", 8, (7,) * 8)
    assert problem({"hidden_sizes": "a,b"})[1].code == "not_a_number"


def test_repeated_keys_take_the_last_value_as_st_query_params_does():
    state, problems = U.parse(FIELDS, {"step": ["1", "5"], "lang": [], "present": ("0", "1")})
    assert (state["step"], state["lang"], state["present"], problems) == (5, "en", True, [])


def test_write_leaves_defaults_out_and_parse_reads_it_back():
    state = {"step": 3, "tax": 0.1, "present": True, "lang": "en", "note": "", "hidden_sizes": (100, 50)}
    query = U.write(FIELDS, state)
    assert query == {"step": "3", "tax": "0.1", "present": "1", "hidden_sizes": "100,50"}
    assert U.parse(FIELDS, query) == (state, [])


def test_unknown_names_are_reported_when_asked():
    found = U.unknown(FIELDS, {"step": "1", "lang": "en", "stpe": "2"}, allowed=("present",))
    assert [(p.code, p.name, p.value) for p in found] == [("unknown", "stpe", "2")]


def test_a_table_refuses_its_own_mistakes():
    with pytest.raises(ValueError):
        U.Int("k", 9, lo=0, hi=8)
    with pytest.raises(ValueError):
        U.Choice("c", "x", ("a", "b"))
    with pytest.raises(ValueError):
        U.table(U.Bool("b"), U.Bool("b"))


def in_range(state):
    assert 0 <= state["step"] <= 8 and isinstance(state["step"], int)
    assert 0.0 <= state["tax"] <= 10.0 and math.isfinite(state["tax"])
    assert isinstance(state["present"], bool) and state["lang"] in ("en", "ja", "zh")
    assert len(state["note"]) <= 20
    assert 1 <= len(state["hidden_sizes"]) <= 8 and all(1 <= h <= 1000 for h in state["hidden_sizes"])


hostile = st.one_of(
    st.text(max_size=50), st.text(alphabet="0123456789²³٣۴०१.,+-eE", max_size=30),
    st.integers().map(str), st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["nan", "inf", "-inf", "1" * 5000, "x" * 10_000, "../..", "/etc/passwd", "..\\..", "\x00",
                     "[a](http://x)", "![i](http://x/i.png)", "`code`", "٣", "²"]),
)
query = st.dictionaries(st.sampled_from(list(FIELDS) + ["zz"]),
                        st.one_of(hostile, st.lists(hostile, max_size=3)), max_size=8)


@settings(max_examples=300, deadline=None)
@given(query)
def test_parse_never_raises_and_always_gives_in_range_values(q):
    state, problems = U.parse(FIELDS, q)
    in_range(state)
    assert set(state) == set(FIELDS)
    assert all(p.name in FIELDS and len(p.value) <= U.ECHO_CHARS + 1 for p in problems)


@settings(max_examples=200, deadline=None)
@given(st.fixed_dictionaries({
    "step": st.integers(0, 8), "tax": st.floats(0.0, 10.0), "present": st.booleans(),
    "lang": st.sampled_from(["en", "ja", "zh"]), "note": st.text(alphabet="ab ", max_size=20),
    "hidden_sizes": st.lists(st.integers(1, 1000), min_size=1, max_size=8).map(tuple)}))
def test_every_in_range_state_survives_the_round_trip(state):
    assert U.parse(FIELDS, U.write(FIELDS, state)) == (state, [])
