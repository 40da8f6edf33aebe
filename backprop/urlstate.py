"""A page's state in its URL: one table of fields, one parse, one write-back (no Streamlit here).

As TensorFlow Playground's ``state.ts``, each page lists its URL fields once, with a type, a range,
a default and a length limit, and derives both directions from that list, so nothing is forgotten
and nothing a link says reaches ``int()``, ``float()`` or a file path unchecked::

    from backprop import urlstate as U

    FIELDS = U.table(
        U.Int("step", 0, lo=0, hi=8),
        U.Float("tax", 1.1, lo=0.0, hi=10.0),
        U.Bool("present", False),
        U.Choice("preset", "apples_oranges", ("apples", "apples_oranges")),
        U.IntList("hidden_sizes", (50,), lo=1, hi=1000, max_items=8),
    )
    state, problems = U.parse(FIELDS, {"step": "99", "tax": "abc"})
    # state    == {"step": 8, "tax": 1.1, "present": False, "preset": "apples_oranges", "hidden_sizes": (50,)}
    # problems == [Problem("out_of_range", "step", "99", used=8, lo=0, hi=8),
    #              Problem("not_a_number", "tax", "abc", used=1.1, lo=0.0, hi=10.0)]
    U.write(FIELDS, state)   # {"step": "8"}: defaults are left out

A query maps a name to a string or to a list of strings (a repeated key: the last one counts, as
``st.query_params`` does). ``parse`` never raises and always returns every field, in range: a
value it cannot use gives the field's default (or the nearest bound, when it is a number outside
the range) and one ``Problem``. A problem is a code with the parameter's name, the value as given
(cut to ``ECHO_CHARS`` characters), the value used instead and the limits that applied; the
page words it from its catalogue (``pages/chrome.py`` has ``url_state`` for that).

Codes: ``too_long`` (more than ``max_len`` characters), ``not_a_number``, ``not_finite`` (nan,
inf), ``out_of_range`` (clamped to lo..hi), ``not_a_choice``, ``not_a_bool``, ``too_many``
(a list longer than ``max_items``: the first ones are kept), ``not_allowed`` (a text that does
not match its field's pattern), and ``unknown`` from ``unknown()`` (a name the page does not have). Numbers are ASCII only: ``²`` or an
Arabic-Indic ``٣`` is not a number here, whatever ``str.isdigit`` says.
"""
import math
import re
from dataclasses import dataclass
from typing import Any

ECHO_CHARS = 40  # a value quoted back in a problem is cut to this many characters (plus "…")
KINDS = ("int", "float", "bool", "choice", "str", "int_list")

_INT = re.compile(r"[+-]?[0-9]+", re.ASCII)
_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)
_NOT_FINITE = re.compile(r"[+-]?(?:nan|inf|infinity)", re.IGNORECASE)
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")
_MAX_INT_DIGITS = 18  # beyond this, an integer is outside any range a page has: no int() of 4,000 digits


@dataclass(frozen=True)
class Field:
    """One URL parameter: its name, kind (one of KINDS), default and limits."""
    name: str
    kind: str
    default: Any
    lo: float | None = None
    hi: float | None = None
    choices: tuple = ()
    max_len: int = 32
    max_items: int = 8
    pattern: str | None = None  # str fields: the whole value must match

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"{self.name}: unknown kind {self.kind!r}")
        if self.kind in ("int", "float", "int_list") and (self.lo is None or self.hi is None or self.lo > self.hi):
            raise ValueError(f"{self.name}: a number needs lo <= hi")
        if self.kind == "choice" and self.default not in self.choices:
            raise ValueError(f"{self.name}: default {self.default!r} is not one of its choices")
        values = self.default if self.kind == "int_list" else (self.default,)
        if self.kind in ("int", "float", "int_list") and not all(self.lo <= v <= self.hi for v in values):
            raise ValueError(f"{self.name}: default {self.default!r} outside {self.lo}..{self.hi}")


def Int(name, default, *, lo, hi, max_len=24):
    return Field(name, "int", int(default), lo=lo, hi=hi, max_len=max_len)


def Float(name, default, *, lo, hi, max_len=32):
    return Field(name, "float", float(default), lo=float(lo), hi=float(hi), max_len=max_len)


def Bool(name, default=False):
    return Field(name, "bool", bool(default), max_len=8)


def Choice(name, default, choices, *, max_len=64):
    return Field(name, "choice", default, choices=tuple(choices), max_len=max_len)


def Str(name, default="", *, max_len=64, pattern=None):
    return Field(name, "str", default, max_len=max_len, pattern=pattern)


def IntList(name, default, *, lo, hi, max_items=8, max_len=None):
    max_len = max_len or max_items * (len(str(hi)) + 1)
    return Field(name, "int_list", tuple(default), lo=lo, hi=hi, max_items=max_items, max_len=max_len)


def table(*fields):
    """The fields of one page, by name (names must be unique)."""
    names = [f.name for f in fields]
    if len(set(names)) != len(names):
        raise ValueError(f"repeated field names in {names}")
    return {f.name: f for f in fields}


@dataclass(frozen=True)
class Problem:
    """Why a value was not used as given: a code, the name, the value (cut), what was used.

    The same type names why a graph a page computes cannot be (``backprop.presets.evaluate``:
    ``empty_input``, ``overflow``, ``log_domain``, ``div_zero``, ``pow_domain`` at the node ``name``,
    and for a typed expression ``pos``, where in its text the node was written)."""
    code: str
    name: str
    value: str = ""
    used: Any = None
    lo: Any = None
    hi: Any = None
    choices: tuple = ()
    limit: int | None = None  # max_len for too_long, max_items for too_many
    pos: int | None = None  # where in a text value the problem lies


def echo(value):
    """The value as quoted back in a problem: at most ECHO_CHARS characters."""
    return value if len(value) <= ECHO_CHARS else value[:ECHO_CHARS] + "…"


def _problem(code, f, raw, used, **limits):
    return Problem(code, f.name, echo(raw), used, **limits)


class _Refused(Exception):
    def __init__(self, code, used=None, **limits):
        super().__init__(code)
        self.code, self.used, self.limits = code, used, limits


def _number(f, text, parse_int):
    """An int or float in f's range from text; raises _Refused (with the clamped value if a number)."""
    text = text.strip()
    limits = {"lo": f.lo, "hi": f.hi}
    if parse_int:
        if not _INT.fullmatch(text):
            raise _Refused("not_a_number", **limits)
        digits = text.lstrip("+-").lstrip("0") or "0"
        x = int(text) if len(digits) <= _MAX_INT_DIGITS else (-math.inf if text.startswith("-") else math.inf)
    else:
        if _NOT_FINITE.fullmatch(text):
            raise _Refused("not_finite", **limits)
        if not _FLOAT.fullmatch(text):
            raise _Refused("not_a_number", **limits)
        x = float(text)  # 1e999 is inf: out of range below
    if f.lo <= x <= f.hi:
        return int(x) if parse_int else x
    clamped = min(max(x, f.lo), f.hi)
    raise _Refused("out_of_range", used=int(clamped) if parse_int else float(clamped), **limits)


def _parse_one(f, text):
    """The typed value of text for field f, or _Refused."""
    if f.kind in ("int", "float"):
        return _number(f, text, f.kind == "int")
    if f.kind == "bool":
        word = text.strip().lower()
        if word in _TRUE or word in _FALSE:
            return word in _TRUE
        raise _Refused("not_a_bool")
    if f.kind == "choice":
        if text in f.choices:
            return text
        raise _Refused("not_a_choice", choices=f.choices)
    if f.kind == "str":
        if f.pattern is not None and not re.fullmatch(f.pattern, text):
            raise _Refused("not_allowed")
        return text
    return _int_list(f, text)


def _int_list(f, text):
    parts = [p for p in text.split(",") if p.strip()]
    if not parts:
        raise _Refused("not_a_number", lo=f.lo, hi=f.hi)
    values, clamped = [], False
    for part in parts[:f.max_items]:
        try:
            values.append(_number(f, part, True))
        except _Refused as refused:
            if refused.code != "out_of_range":
                raise _Refused("not_a_number", lo=f.lo, hi=f.hi) from None
            values.append(refused.used)
            clamped = True
    if clamped:
        raise _Refused("out_of_range", used=tuple(values), lo=f.lo, hi=f.hi)
    if len(parts) > f.max_items:
        raise _Refused("too_many", used=tuple(values), limit=f.max_items)
    return tuple(values)


def _last(value):
    """A query value: a string, or a list of them (a repeated key) of which the last counts."""
    if isinstance(value, (list, tuple)):
        value = value[-1] if value else None
    return None if value is None else str(value)


def parse(fields, query):
    """(state, problems): every field of ``fields`` typed and in range, and why a value was not used.

    ``query`` maps names to strings or lists of strings; names not in ``fields`` are ignored."""
    state, problems = {}, []
    for name, f in fields.items():
        raw = _last(query.get(name)) if name in query else None
        if raw is None:
            state[name] = f.default
            continue
        if len(raw) > f.max_len:
            state[name] = f.default
            problems.append(_problem("too_long", f, raw, f.default, limit=f.max_len))
            continue
        try:
            state[name] = _parse_one(f, raw)
        except _Refused as refused:
            used = f.default if refused.used is None else refused.used
            state[name] = used
            problems.append(_problem(refused.code, f, raw, used, **refused.limits))
    return state, problems


def unknown(fields, query, allowed=()):
    """Problems ("unknown", name, value) for the query's names that are neither fields nor allowed."""
    return [Problem("unknown", echo(str(name)), echo(_last(query[name]) or ""))
            for name in query if name not in fields and name not in allowed]


def text_of(f, value):
    """The URL text of one typed value (parse gives the value back)."""
    if f.kind == "bool":
        return "1" if value else "0"
    if f.kind == "float":
        s = repr(float(value))
        return s[:-2] if s.endswith(".0") else s
    if f.kind == "int_list":
        return ",".join(str(int(v)) for v in value)
    return str(value)


def write(fields, state):
    """The query for ``state``: one string per field that differs from its default, in table order."""
    return {name: text_of(f, state[name]) for name, f in fields.items()
            if name in state and state[name] != f.default}
