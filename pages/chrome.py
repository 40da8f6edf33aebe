"""Shared chrome for every page: the session's language and words, presentation mode, warnings about
a link's parameters, the URL state of a page, and the dataset in use.

Words: a page reads all of them from ``pages/locales/<lang>/<page>.toml`` through ``text(page)``;
English fills any key a language lacks. The language is the session's, chosen once per session
from the browser (``Accept-Language``, else ``st.context.locale``), then by ``?lang=en|ja|zh`` or the
picker at the top right; nothing about it is process-wide (the catalogue files are read once per
process, as read-only data keyed by language).

URL state, in a few lines per page (the table lives in the core, see ``backprop/urlstate.py``)::

    state = chrome.url_state(FIELDS)          # typed, in range; warnings shown for bad values
    ...
    chrome.write_url_state(FIELDS, state)     # the URL follows; defaults are left out

Moments, for a lecture given with a clicker (PageDown/PageUp, or →/←)::

    k = chrome.moments("gradient_check", 6, labels)   # 0-based; ?moment= is 1-based in the URL
    ...                                               # draw moment k

Each page of the chapter (``CHAPTER``) has its moments; Next after the last one opens the next page at
its first, Back before the first opens the previous page at its last (``?moment=last``), presentation
mode and language kept. A moment change is a new browser history entry, so Back/Forward walk them.

The shopping graph and /network walk their steps with controls of their own rather than ``moments()``:
their step is part of their own URL state (``step=``, 0-based, in links the README shows), and they have
Reset/End (Home/End), Play and the headline in the row of buttons. They share the rest of the walk::

    k = chrome.arrived_at("network", 10)      # opened from the chapter at ?moment=1|last: that step, or None
    chrome.follow_leave()                     # early in the script: a leave() asked for in a callback
    chrome.leave("network", +1)               # in Next's callback after the last step (-1: Back before 0)
    back_help, next_help = chrome.step_help("network", k, 10, T["back_help"], T["next_help"])
    chrome.arrow_twins("net", ...)            # Left/Right twins of Back/Next, hidden by chrome.arrow_css("net")
"""
import functools
import json
import re
import tomllib
from collections import OrderedDict
from pathlib import Path

import streamlit as st
from streamlit.errors import StreamlitAPIException, StreamlitPageNotFoundError
from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

from backprop import urlstate
from pages import routing
from pages.chrome_look import (
    DOCUMENT_LANG_JS, LECTURE_FIT_CSS, MOMENT_CSS, PICKER_CSS, PRESENTATION_CSS, SMALL_SCREEN_CSS,
)
from pages.gate import GATE

LOCALES = Path(__file__).parent / "locales"
DEFAULT_LANG = "en"
LANGUAGES = {"en": "English", "ja": "日本語", "zh": "中文"}  # each shown in its own language
# The page's <html lang>: Chromium picks a CJK font's Japanese or Simplified Chinese glyphs by it.
HTML_LANG = {"en": "en", "ja": "ja", "zh": "zh-Hans"}
KEYS_READ = None  # tests set a dict here: page -> every key read from its catalogue (see _Recorded)


@functools.cache
def _catalogue(lang, page):
    if lang not in LANGUAGES:  # never a path from a URL
        raise ValueError(f"unknown language {lang!r}")
    path = LOCALES / lang / f"{page}.toml"
    if not path.exists():
        return {}
    with path.open("rb") as f:
        return tomllib.load(f)


def negotiate(accept_language=None, locale=None):
    """The app's language for a browser: the first of its preferred languages the app has, else English.

    ``accept_language`` is the header (``"ja,en;q=0.8"``), ``locale`` the browser's own tag
    (``"zh-CN"``); any Chinese (zh, zh-CN, zh-Hans, ...) gets the Simplified Chinese catalogue."""
    ranked = []
    for i, part in enumerate((accept_language or "")[:1000].split(",")[:32]):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        ranked.append((-q, i, tag.strip()))
    tags = [tag for q, _, tag in sorted(ranked) if q < 0] + [locale or ""]
    for tag in tags:
        primary = tag.split("-")[0].split("_")[0].lower()
        if primary in LANGUAGES:
            return primary
    return DEFAULT_LANG


def _browser_language():
    try:
        header = st.context.headers.get("Accept-Language")
    except Exception:  # no browser behind this run (AppTest)
        header = None
    return negotiate(header, st.context.locale)


def language():
    """This session's language: ``?lang=`` when it is one of LANGUAGES, else the one chosen before, else
    the browser's. A ``?lang=`` seen once is kept in the URL from then on (``apply_chrome``)."""
    if get_script_run_ctx(suppress_warning=True) is None:
        return DEFAULT_LANG
    ss = st.session_state
    asked = st.query_params.get("lang")
    if asked in LANGUAGES:
        ss.chrome_lang, ss.chrome_lang_in_url = asked, True
    elif "chrome_lang" not in ss:
        ss.chrome_lang = _browser_language()
    return ss.chrome_lang


class _Recorded(dict):
    """A catalogue that notes every key read, computed ones (``T[f"preset_{k}"]``) included (tests only)."""

    def __init__(self, words, keys):
        super().__init__(words)
        self._keys = keys

    def __getitem__(self, key):
        self._keys.add(key)
        return super().__getitem__(key)

    def get(self, key, default=None):
        self._keys.add(key)
        return super().get(key, default)


def text(page):
    """All user-facing strings of one page in the session's language, English filling any gap.

    Every page calls this first, so it is also where a page run that bypassed app.py is rerouted."""
    routing.ensure_routed()
    words = {**_catalogue(DEFAULT_LANG, page), **_catalogue(language(), page)}
    if KEYS_READ is not None:
        return _Recorded(words, KEYS_READ.setdefault(page, set()))
    return words


def join(items):
    """Items of a list inside a sentence, separated as the session's language does ("W1, b1"; "W1、b1")."""
    return text("app")["list_separator"].join(map(str, items))


_AUTOLINK = re.compile(r"(:|@|www(?=\.))", re.IGNORECASE)


def escape_markdown(value):
    """``value`` as plain text inside Markdown: every ASCII punctuation mark backslash-escaped (so no
    link, image, code, emphasis or HTML), line breaks and other control characters made spaces, and
    an invisible word joiner after ``:``/``www`` and before ``@`` so that no bare URL or e-mail
    address is turned into a link (GFM autolinks)."""
    value = "".join(" " if ord(c) < 32 or 127 <= ord(c) < 160 else c for c in str(value))
    value = _AUTOLINK.sub(lambda m: "\u2060@" if m.group() == "@" else m.group() + "\u2060", value)
    return "".join("\\" + c if c.isascii() and not c.isalnum() and not c.isspace() else c for c in value)


def remember(store, key, compute, keep=1):
    """compute() once per ``key`` in this session (st.session_state[store]), keeping the ``keep`` most
    recent results: a rerun with the same inputs finds its result, and memory stays bounded."""
    cache = st.session_state.setdefault(store, OrderedDict())
    if key in cache:
        cache.move_to_end(key)
        return cache[key]
    cache[key] = compute()
    while len(cache) > keep:
        cache.popitem(last=False)
    return cache[key]


def fragment(fn, *, run_every=None):
    """``st.fragment(fn, run_every=...)`` whose reruns wait their turn at the page gate as whole runs do
    (pages/gate.py): a fragment's rerun does not pass through app.py, so it is gated here."""
    return st.fragment(GATE.wrap(fn), run_every=run_every)


def code_text(value):
    """A link's value inside a catalogue's code span (`` `step={value}` ``): cut to urlstate.ECHO_CHARS,
    no backtick or control character to break out of the span (inside one, Markdown makes no link)."""
    return urlstate.echo("".join("ˋ" if c == "`" else " " if ord(c) < 32 else c for c in str(value)))


def warn_param(template, **fields):
    """A warning about a link's parameter: ``template`` (a catalogue string) with every field
    (the parameter's name, its value, ...) filled in as plain text."""
    st.warning(template.format(**{k: escape_markdown(v) for k, v in fields.items()}), icon=":material/link_off:")


def describe_problem(problem, T=None):
    """One urlstate.Problem in words (app.toml's ``url_<code>``), its values escaped."""
    T = T or text("app")
    fields = {"name": problem.name, "value": problem.value, "used": _shown(problem.used),
              "lo": _shown(problem.lo), "hi": _shown(problem.hi), "limit": problem.limit,
              "choices": ", ".join(map(str, problem.choices))}
    return T[f"url_{problem.code}"].format(**{k: escape_markdown(v) for k, v in fields.items()})


def _shown(value):
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    return "" if value is None else str(value)


def show_url_problems(problems):
    """One warning listing why each parameter of the link was not used as given."""
    if problems:
        T = text("app")
        st.warning(T["url_problems"] + "\n" + "\n".join(f"- {describe_problem(p, T)}" for p in problems),
                   icon=":material/link_off:")


def _query():
    return {key: st.query_params.get_all(key) for key in st.query_params}


def url_state(fields, *, warn=True, report_unknown=False):
    """The page's typed state from the URL (``fields``: a ``urlstate.table``), with a warning naming
    each parameter whose value was not used. Returns ``(state, problems)`` if ``warn`` is False."""
    query = _query()
    state, problems = urlstate.parse(fields, query)
    if report_unknown:
        problems += urlstate.unknown(fields, query, allowed=routing.CHROME_PARAMS)
    if not warn:
        return state, problems
    show_url_problems(problems)
    return state


def write_url_state(fields, state):
    """Make the URL say ``state`` for these fields (defaults left out; other parameters untouched)."""
    mine = urlstate.write(fields, state)
    want = {name: v[-1] for name, v in _url_now().items() if name not in fields}
    want.update(mine)
    _set_query(want)  # one update, so one browser history entry per change


def _url_now():
    return {key: st.query_params.get_all(key) for key in st.query_params}


def _set_query(want):
    """Make the whole query ``want`` (a dict of strings) in one update: one browser history entry."""
    now = {k: v[-1] if len(v) == 1 else v for k, v in _url_now().items()}
    if now == want:
        return
    try:
        st.query_params.from_dict(want)
    except StreamlitAPIException:  # a widget bound to a parameter: set them one by one
        for name in [k for k in now if k not in want]:
            del st.query_params[name]
        for name, value in want.items():
            if now.get(name) != value:
                st.query_params[name] = value


# Moments --------------------------------------------------------------------------------------------
CHAPTER = ("shopping", "network", "gradient_check", "training")  # the order a lecture walks
PAGES_DIR = Path(__file__).parent


def _moment_field(count):
    return urlstate.Int("moment", 1, lo=1, hi=max(count, 1), max_len=8)


def chapter_neighbour(page, step):
    """The page before (step -1) or after (+1) ``page`` in CHAPTER that exists in this app, or None."""
    if page not in CHAPTER:
        return None
    i = CHAPTER.index(page) + step
    while 0 <= i < len(CHAPTER):
        if (PAGES_DIR / f"{CHAPTER[i]}.py").exists():
            return CHAPTER[i]
        i += step
    return None


def page_title(page, T):
    """A chapter page's title as the navigation shows it (``T``: app.toml's words)."""
    return T[page]


def step_help(page, k, count, back_help, next_help):
    """The help of Back and Next at moment k of ``count``: ``back_help``/``next_help`` inside the page,
    "to <the neighbouring page>" where a step leaves it (at either end, if CHAPTER has a page there)."""
    T = text("app")
    before, after = chapter_neighbour(page, -1), chapter_neighbour(page, +1)
    if k == 0 and before is not None:
        back_help = T["moment_back_page_help"].format(page=page_title(before, T))
    if k >= count - 1 and after is not None:
        next_help = T["moment_next_page_help"].format(page=page_title(after, T))
    return back_help, next_help


def _chrome_query():
    """The chrome's parameters to carry to another page: presentation mode, and the language if chosen."""
    out = {}
    if st.session_state.get("present"):
        out["present"] = "1"
    if st.session_state.get("chrome_lang_in_url"):
        out["lang"] = language()
    return out


def leave(page, step):
    """From a Back/Next callback: walk off ``page`` to the neighbouring page of CHAPTER (step +1: the next
    at its first moment, -1: the previous at its last). st.switch_page cannot run in a callback, so this
    only asks; ``follow_leave()`` in the page's script does it. False if there is no page that way."""
    other = chapter_neighbour(page, step)
    if other is not None:
        st.session_state.chrome_switch = (other, "1" if step > 0 else "last")
    return other is not None


def follow_leave():
    """Open the page a callback asked for with ``leave()``, if any (call it early in the page's script)."""
    switch = st.session_state.pop("chrome_switch", None)
    if switch is not None:
        switch_chapter(*switch)


def _move(page, count, k, step, clears):
    """Back/Next callback: the moment k + step of this page, or the neighbouring page of the chapter."""
    target = k + step
    if 0 <= target < count:
        set_moment(page, target, clears=clears)
    else:
        leave(page, step)


def switch_chapter(other, moment):
    """Open ``other`` (at ``moment``: "1" or "last"), or the one beyond it if the app does not have it."""
    step = 1 if moment == "1" else -1
    while other is not None:
        try:
            st.switch_page(f"pages/{other}.py", query_params={**_chrome_query(), "moment": moment})
        except StreamlitPageNotFoundError:  # a file not (yet) in the app's navigation
            other = chapter_neighbour(other, step)


def arrived_at(page, count):
    """The 0-based moment a page opened from the chapter is asked for (``?moment=``, ``last`` the last),
    the parameter then dropped from the URL; None if it was not opened that way. For a page that walks
    its moments with a parameter of its own (``step=``) rather than ``moments()``."""
    if "moment" not in st.query_params:
        return None
    k = current_moment(page, count)
    del st.query_params["moment"]
    return k


def arrow_css(prefix):
    """CSS hiding the arrow twins of ``prefix``'s Back and Next (see ``arrow_twins``)."""
    return f".st-key-{prefix}_back_arrow, .st-key-{prefix}_next_arrow {{ display: none; }}"


def arrow_twins(prefix, labels, on_click, args=((), ()), disabled=(False, False)):
    """Hidden twins of Back and Next (keys ``<prefix>_back_arrow``/``_next_arrow``, hidden by ``arrow_css``)
    that take Left and Right: a button takes one shortcut, and presenter clickers send PageUp/PageDown
    while keyboards have the arrows. ``labels``, ``on_click``, ``args``, ``disabled``: (back, next)."""
    for i, (side, shortcut) in enumerate((("back", "Left"), ("next", "Right"))):
        st.button(labels[i], key=f"{prefix}_{side}_arrow", shortcut=shortcut, on_click=on_click[i], args=args[i],
                  disabled=disabled[i])


def set_moment(page, k, *, clears=()):
    """Move ``page`` to its moment k (0-based), as a new browser history entry; the URL parameters
    named in ``clears`` (those a moment sets) are dropped so the new moment's own values apply."""
    want = {name: v[-1] for name, v in _url_now().items() if name not in clears and name != "moment"}
    if k > 0:
        want["moment"] = str(k + 1)
    st.session_state[f"chrome_moment_{page}"] = k
    _set_query(want)


def current_moment(page, count, *, warn=True):
    """The 0-based moment ``?moment=`` asks for (``last`` is the last), in range; a bad value warns."""
    raw = st.query_params.get("moment")
    if raw is not None and raw.strip().lower() == "last":
        return count - 1
    state, problems = urlstate.parse({"moment": _moment_field(count)}, {"moment": raw} if raw is not None else {})
    if problems and warn:
        show_url_problems(problems)
    return state["moment"] - 1


def moments(page: str, count: int, labels: list[str] | None = None, *, clears=()) -> int:
    """The current 0-based moment of ``page`` (from ``?moment=``, 1-based there, validated: a bad value
    warns naming the parameter), drawn as "k of n" with its label between Back and Next.

    Next (PageDown or →) after the last moment opens the next page of CHAPTER at its first moment;
    Back (PageUp or ←) before the first opens the previous page at its last. ``clears``: URL
    parameters that a move to another moment drops (the ones the moments set)."""
    follow_leave()
    T = text("app")
    count = max(int(count), 1)
    k = current_moment(page, count)
    if raw := st.query_params.get("moment"):
        if raw.strip().lower() == "last" or raw != str(k + 1):  # say it as it is: ?moment=6, not last or 99
            set_moment(page, k)
    st.session_state[f"chrome_moment_{page}"] = k
    at_start = k == 0 and chapter_neighbour(page, -1) is None
    at_end = k == count - 1 and chapter_neighbour(page, +1) is None
    back_help, next_help = step_help(page, k, count, T["moment_back_help"], T["moment_next_help"])
    args = (page, count, k)
    with st.container(key="chrome_moment_bar", horizontal=True, vertical_alignment="center", gap="small"):
        st.button(T["moment_back"], icon=":material/chevron_left:", key="chrome_moment_back", shortcut="PageUp",
                  on_click=_move, args=(*args, -1, clears), disabled=at_start, help=back_help)
        label = labels[k] if labels and k < len(labels) else ""
        shown = T["moment_of"].format(k=k + 1, n=count)
        st.markdown(f"**{shown}**" + (f" · {label}" if label else ""), width="content")
        st.button(T["moment_next"], icon=":material/chevron_right:", key="chrome_moment_next", shortcut="PageDown",
                  on_click=_move, args=(*args, +1, clears), disabled=at_end, help=next_help, type="primary")
        arrow_twins("chrome_moment", (T["moment_back"], T["moment_next"]), (_move, _move),
                    args=((*args, -1, clears), (*args, +1, clears)), disabled=(at_start, at_end))
    st.html(MOMENT_CSS)
    return k


def presenting():
    """True in presentation mode (``?present=1`` or the sidebar toggle)."""
    routing.ensure_routed()
    if "present" not in st.session_state:
        st.session_state.present = st.query_params.get("present") == "1"
    return st.session_state.present


def _sync_present():
    if st.session_state.present:
        st.query_params["present"] = "1"
    else:
        st.query_params.pop("present", None)


def _language_picked():
    ss = st.session_state
    if ss.chrome_lang_pick in LANGUAGES:  # clicking the chosen one again deselects it: keep it
        ss.chrome_lang, ss.chrome_lang_in_url = ss.chrome_lang_pick, True
        st.query_params["lang"] = ss.chrome_lang


def _language_picker(T):
    if st.session_state.get("chrome_lang_pick") != language():  # the URL changed it, or a new session
        st.session_state.chrome_lang_pick = language()
    with st.container(key="chrome_lang_box"):
        st.segmented_control(T["language"], list(LANGUAGES), format_func=LANGUAGES.get, key="chrome_lang_pick",
                             on_change=_language_picked, label_visibility="collapsed", help=T["language_help"])
        _document_language(T)


def _js_string(value):
    return json.dumps(value).replace("<", "\\u003c")  # no "</script>" in a catalogue's text can end the script


def _document_language(T):
    """The browser's document says this session's language (a script; inside the picker's box, out of the flow)."""
    st.html(DOCUMENT_LANG_JS % (_js_string(HTML_LANG[language()]), _js_string(T["skip_to_content"])),
            unsafe_allow_javascript=True)


def _check_lang_param(T):
    asked = st.query_params.get("lang")
    if asked is not None and asked not in LANGUAGES:
        warn_param(T["lang_unknown"], name="lang", value=urlstate.echo(asked),
                   known=", ".join(LANGUAGES), used=LANGUAGES[language()])
        del st.query_params["lang"]


def apply_chrome():
    """The shared controls (language picker, presentation toggle), the larger type of presentation
    mode, and the chrome's parameters kept in the URL across navigation (which clears it)."""
    T = text("app")
    _check_lang_param(T)
    _language_picker(T)
    presenting()
    with st.sidebar:
        st.toggle(T["present_toggle"], key="present", on_change=_sync_present, help=T["present_help"])
    st.html(PICKER_CSS + SMALL_SCREEN_CSS + (PRESENTATION_CSS + LECTURE_FIT_CSS if st.session_state.present else ""))  # one element: no extra gap
    if st.session_state.present:
        st.query_params["present"] = "1"
    if st.session_state.get("chrome_lang_in_url") and st.query_params.get("lang") != language():
        st.query_params["lang"] = language()


def dataset_in_use():
    """The dataset the explorers use in this session (the training page may change it)."""
    return st.session_state.get("dataset", "sample")
