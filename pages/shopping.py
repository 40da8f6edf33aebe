"""Computational graphs: step forward and backward through the book's graphs, or one you type, one node at a time.

State (session keys ``shop_*``): the preset (the book's shopping graphs of figures 5-16 and 5-17, Sigmoid,
Softmax-with-Loss, or ``expression``), the typed expression and the last one that parsed, one number input
per leaf, the step k (numbered as in ``backprop.graph``: 0 = nothing computed, 1..n forward, n+1..2n
backward), the last inputs that gave a finite graph, and the player (playing, pace, next due time). The URL
mirrors preset, step, expression and any input that differs from its default, so a lecturer can bookmark a
moment: ``?preset=apples_oranges&step=7`` or ``?preset=expression&expr=(x+y)*z&x=2&y=3&z=4&step=3``.
"""
import time

import streamlit as st

import pages  # noqa: F401,I001 - first: imports every module the pages use, once, in one order (pages/__init__.py)

from backprop import graph as G
from backprop import presets as P
from backprop.expr import ExpressionError
from backprop.figures.graph import graph_figure, width as graph_width
from pages import chrome
from pages import graph_tex as tex
from pages import shopping_panels as panels
from pages.shopping_panels import SHOPPING

T = chrome.text("shopping")
ss = st.session_state
big = chrome.presenting()

BOOK_LEAVES = dict(kv for preset in P.PRESETS.values() for kv in preset.leaves)  # name -> default
INPUT_STEP = {"apple": 10.0, "orange": 10.0, "apple_num": 1.0, "orange_num": 1.0, "tax": 0.01}
CHROME_KEYS = ("present", "lang", "moment")  # the chrome's; every other query parameter is this page's
PACES = (0.5, 1.0, 2.0, 4.0)
CHOICES = (*P.PRESETS, P.EXPRESSION)
INTROS = {"sigmoid": "intro_sigmoid", "softmax_loss": "intro_softmax_loss", P.EXPRESSION: "intro_expression"}  # else "intro"


def _value_key(preset_key, name):
    """Session key of a leaf's number box: the book's leaves by name, a typed variable apart from them."""
    return f"shop_e_{name}" if preset_key == P.EXPRESSION else f"shop_v_{name}"


def _apply_url(params):
    """Go to the moment a URL describes (bad parts ignored, with warnings shown until the next action)."""
    setup, warnings = P.parse_params(params)
    ss.shop_preset = setup.preset
    ss.shop_expr = ss.shop_expr_text = setup.expression
    ss.shop_expr_error = None
    for name, x in setup.values.items():
        ss[_value_key(setup.preset, name)] = x
    ss.shop_good[setup.preset] = dict(setup.values)
    ss.shop_step = setup.step
    ss.shop_warnings = warnings
    ss.shop_playing = False


def _url_params():
    return {key: st.query_params[key] for key in st.query_params if key not in CHROME_KEYS}


if "shop_step" not in ss:  # first visit in this session
    for _name, _default in BOOK_LEAVES.items():
        ss[f"shop_v_{_name}"] = _default
    ss.shop_good = {key: p.defaults for key, p in P.PRESETS.items()}
    ss.shop_pace, ss.shop_due, ss.shop_url = 2.0, 0.0, {}
    _apply_url(_url_params())
elif (_params := _url_params()) and _params != ss.shop_url:
    # Every step is a browser history entry: Back/Forward (or an edited URL) go where it points.
    # No parameters at all means we came from another page, which clears the URL: carry on.
    _apply_url(_params)
_arrived = chrome.arrived_at("shopping", (P.PRESETS[ss.shop_preset].n_steps if ss.shop_preset != P.EXPRESSION
                                          else P.from_expression(ss.shop_expr).n_steps) + 1)
if _arrived is not None:  # from the chapter (``last`` from /network's PageUp): the step is the moment
    ss.shop_step, ss.shop_playing = _arrived, False


def current_preset():
    """The preset chosen; a typed expression is the last one that parsed, its leaves defaulting to its boxes."""
    if ss.shop_preset != P.EXPRESSION:
        return P.PRESETS[ss.shop_preset]
    known = {name: ss[key] for name in ss.shop_good.get(P.EXPRESSION, {})
             if (key := f"shop_e_{name}") in ss and ss[key] is not None}
    return P.from_expression(ss.shop_expr, {**ss.shop_good.get(P.EXPRESSION, {}), **known})


# ----------------------------------------------------------------------------- callbacks

def _quiet():
    """Any deliberate action: the link's warnings have been seen."""
    ss.shop_warnings = []


def _preset_changed():
    _quiet()
    ss.shop_step = 0
    ss.shop_playing = False


def _expr_changed():
    """A new expression: drawn if it parses (from step 0), else the message and the last good graph."""
    _quiet()
    text = ss.shop_expr_text or ""
    try:
        preset = P.from_expression(text)
    except ExpressionError as e:
        ss.shop_expr_error = (e.code, e.pos, e.value, text)
        return
    previous = ss.shop_good.get(P.EXPRESSION, {})
    values = {}  # a variable kept keeps its number; a new one starts at its default
    for name, default in preset.leaves:
        kept = ss.get(f"shop_e_{name}")
        values[name] = kept if kept is not None else previous.get(name, default)
    if (problem := P.evaluate(preset, values)[2]) is not None:  # log(x) at x = -1: named, the old graph stays
        shown = ", ".join(f"{name} = {G.fmt(x)}" for name, x in values.items())
        ss.shop_expr_error = (problem.code, problem.pos or 0, shown, text)
        return
    ss.shop_expr_error = None
    ss.shop_expr = text
    for name, x in values.items():
        ss[f"shop_e_{name}"] = x
    ss.shop_good[P.EXPRESSION] = values
    ss.shop_step = 0
    ss.shop_playing = False


def _last_step():
    return current_preset().n_steps


def _move(where):
    """Reset / Back / Next / End: ``where`` is a function of (step, last). Pauses the player."""
    _quiet()
    ss.shop_playing = False
    last = _last_step()
    ss.shop_step = max(0, min(last, where(ss.shop_step, last)))


def _reset():
    _move(lambda k, last: 0)


def _back():
    _move(lambda k, last: k - 1)


def _next():
    if ss.shop_step >= _last_step():  # after the last step: the next page of the chapter, at its first
        _quiet()
        ss.shop_playing = False
        chrome.leave("shopping", +1)  # the chapter's first page: PageUp at step 0 stays
        return
    _move(lambda k, last: k + 1)


def _end():
    _move(lambda k, last: last)


def _book_values():
    _quiet()
    for name, default in current_preset().leaves:
        ss[_value_key(ss.shop_preset, name)] = P.DEFAULT_VALUES.get(name, 1.0) if ss.shop_preset == P.EXPRESSION \
            else default


def _play_pause():
    _quiet()
    last = _last_step()
    if ss.shop_playing:
        ss.shop_playing = False
        return
    if ss.shop_step >= last:
        ss.shop_step = 0  # Play at the end replays from the start
    ss.shop_playing = True
    ss.shop_due = time.monotonic() + ss.shop_pace


def _pace_changed():
    ss.shop_due = time.monotonic() + ss.shop_pace


# ----------------------------------------------------------------------------- text helpers

def phase_text(state, n):
    if state.step is None:
        return T["phase_start"]
    key = "phase_forward" if state.phase == "forward" else "phase_backward"
    return T[key].format(number=state.step.number, n=n)


def sync_url(preset, values, step):
    """Write our own keys only (``present`` and ``lang`` belong to the chrome); drop the ones we wrote before."""
    old, want = ss.shop_url, P.query_for(preset, values, step)
    ss.shop_url = want
    for key in set(old) | set(BOOK_LEAVES) | {"expr"}:
        if key not in want and key in st.query_params:
            del st.query_params[key]
    for key, value in want.items():
        if st.query_params.get(key) != value:
            st.query_params[key] = value


# ----------------------------------------------------------------------------- the page

def pace_control():
    st.selectbox(T["pace_label"], PACES, key="shop_pace", persist_state="session", width=110,
                 format_func=lambda s: T["pace_format"].format(seconds=s), on_change=_pace_changed,
                 label_visibility="visible" if big else "collapsed", help=T["pace_help"])


def problem_text(problem, preset):
    """The catalogue's words for a Problem from ``P.evaluate``."""
    if problem.code == "empty_input":
        return T["invalid_empty"].format(label=_label(preset, problem.name))
    where = T["problem_at"].format(pos=problem.pos + 1) if problem.pos is not None else f"`{problem.name}`"
    return T[f"invalid_{problem.code}"].format(where=where)


def read_inputs(preset):
    """Check the number inputs; returns (the values drawn, the problem or None).

    Invalid input (an emptied box, values whose price overflows, log of a negative number, a division by
    zero) keeps the last good values.
    """
    entered = {name: ss.get(_value_key(preset.key, name)) for name, _ in preset.leaves}
    good = ss.shop_good.get(preset.key, preset.defaults)
    if (problem := evaluated(preset, entered)[2]) is not None:
        return {**preset.defaults, **{k: v for k, v in good.items() if k in preset.defaults}}, problem_text(problem, preset)
    ss.shop_good[preset.key] = {name: float(x) for name, x in entered.items()}
    return ss.shop_good[preset.key], None


def evaluated(preset, values):
    """``P.evaluate``'s (graph, states, problem) and the graph's gradient check, kept for the session's last
    inputs: every step shows the same graph, so a step computes neither again."""
    key = (preset.key, preset.text, tuple(values.items()))
    memo = ss.get("shop_evaluated")
    if memo is None or memo[0] != key:
        graph, states, problem = P.evaluate(preset, values)
        memo = ss.shop_evaluated = (key, graph, states, problem, G.gradient_check(graph) if graph else None)
    return memo[1:]


def _label(preset, name):
    return T["inputs"].get(name, name) if preset.key != P.EXPRESSION else name


def expression_box():
    """The text box of a typed expression, and the parser's message pointing at the position."""
    st.text_input(T["expr_label"], key="shop_expr_text", on_change=_expr_changed, help=T["expr_help"],
                  placeholder=P.DEFAULT_EXPRESSION)
    st.caption(T["expr_examples"])
    if ss.shop_expr_error:
        code, pos, value, text = ss.shop_expr_error
        st.error(T["expr_error"].format(problem=T[f"expr_{code}"].format(value=value, limit=value), pos=pos + 1,
                                        shown=ss.shop_expr), icon=":material/error:")
        if code != "too_long":
            st.code(f"{text}\n{' ' * pos}^", language=None)


def inputs_panel(preset, values, problem):
    """Preset, the expression, one number input per leaf (and the pace on a projector); the problem, if any."""
    if big:
        summary = ", ".join(f"{name} = {G.fmt(values[name])}" for name, _ in preset.leaves)
        box = st.expander(T["setup_expander"].format(summary=summary), icon=":material/tune:",
                          expanded=problem is not None or ss.shop_expr_error is not None)
    else:
        box = st.container(border=True, key="shop_inputs")
    with box:
        st.segmented_control(T["preset_label"], CHOICES, key="shop_preset", required=True,
                             format_func=lambda key: T["presets"][key], on_change=_preset_changed,
                             persist_state="session", label_visibility="collapsed")
        if preset.key == P.EXPRESSION:
            expression_box()
        with st.container(horizontal=True, gap="medium", vertical_alignment="bottom"):
            for name, _ in preset.leaves:
                key = _value_key(preset.key, name)
                if ss.get(key) is None and key not in ss:
                    ss[key] = values[name]
                st.number_input(_label(preset, name), value=None, step=INPUT_STEP.get(name, 0.1), format="%.10g",
                                width=140, key=key, help=T["inputs_help"].get(name), on_change=_quiet,
                                persist_state="session")
            defaults = preset.defaults if preset.key != P.EXPRESSION else \
                {name: P.DEFAULT_VALUES.get(name, 1.0) for name, _ in preset.leaves}
            st.button(T["book_values"] if preset.key != P.EXPRESSION else T["default_values"],
                      icon=":material/restart_alt:", on_click=_book_values, type="tertiary",
                      key="shop_book", help=T["book_values_help"], disabled=values == defaults and not problem)
            if big:
                pace_control()
        if problem:
            st.error(problem, icon=":material/error:")


def controls(state, where):
    k, last = state.k, state.total
    back_help, next_help = chrome.step_help("shopping", k, last + 1, T["back_help"], T["next_help"])
    with st.container(horizontal=True, vertical_alignment="center", gap="small"):
        st.button(T["reset"], icon=":material/first_page:", on_click=_reset, disabled=k == 0,
                  help=T["reset_help"], key="shop_reset", shortcut="Home")
        st.button(T["back"], icon=":material/chevron_left:", on_click=_back, disabled=k == 0,
                  help=back_help, key="shop_back", shortcut="PageUp")
        st.button(T["next"], icon=":material/chevron_right:", on_click=_next,
                  help=next_help, key="shop_next", shortcut="PageDown", type="primary")
        st.button(T["end"], icon=":material/last_page:", on_click=_end, disabled=k == last,
                  help=T["end_help"], key="shop_end", shortcut="End")
        st.button(T["pause"] if ss.shop_playing else T["play"], on_click=_play_pause, help=T["play_help"],
                  icon=":material/pause:" if ss.shop_playing else ":material/play_arrow:", key="shop_play")
        chrome.arrow_twins("shop", (T["back"], T["next"]), (_back, _next), disabled=(k == 0, False))
        if not big:
            pace_control()
            st.markdown(f"#### {where}", width="content")


def explanation_text(preset, graph, state, *, summary=True):
    """The step's rule and its formula with the numbers (and, at the end, with ``summary``, what the graph found)."""
    if state.step is None:
        st.markdown(T["explain_start"])
        return
    step = state.step
    if step.direction == "backward" and step.node == graph.output:
        st.markdown(T["explain_first_backward"].format(out=graph.output))
    st.markdown(T[f"explain_{step.rule}"].format(layer=graph.nodes[step.node].layer))
    st.latex(tex.formula(graph, state))
    if summary:
        summary_text(preset, graph, state)


def summary_text(preset, graph, state):
    if state.k == state.total:
        st.markdown(T["explain_done"] if preset.key in SHOPPING else T["explain_done_other"])
        panels.closed_form_table(T, preset, graph)


def explanation(preset, graph, state):
    explain, table = st.columns([1.5, 1], gap="large")
    with explain:
        st.subheader(T["explain_heading"])
        explanation_text(preset, graph, state)
    with table:
        gradients(graph, state)


def gradients(graph, state):
    """The gradients found so far, under their heading."""
    st.subheader(T["table_heading"])
    if state.grads:
        st.markdown(panels.gradient_table(T, graph, state), unsafe_allow_html=True)
    else:
        st.caption(T["table_empty"])


def warnings_box():
    default = T["presets"][P.DEFAULT_PRESET]
    problems = []
    # a bad expression's reason is a sentence of its own: it comes last, where the warning's full stop ends it
    for w in sorted(ss.shop_warnings, key=lambda w: w.code == "bad_expression"):
        if w.code == "bad_expression":
            reason = T[f"expr_{w.reason}"].format(value=chrome.code_text(w.value), limit=chrome.code_text(w.value))
            problems.append(T["warn_bad_expression"].format(reason=reason, pos=(w.pos or 0) + 1,
                                                            default=P.DEFAULT_EXPRESSION))
        else:
            problems.append(T[f"warn_{w.code}"].format(key=chrome.code_text(w.key), value=chrome.code_text(w.value), default=default))
    st.warning(T["url_warning"].format(problems="; ".join(problems)), icon=":material/link_off:")


if not big:  # on a projector the navigation bar names the page and the step is the headline
    st.title(T["title"])
# At a desk the page reads controls and graph, the inputs, then the explanation. The inputs are drawn by the
# page outside the stepper's fragment (a step does not redraw them): the fragment's two blocks are laid out in
# the page's own column (display: contents), and ``order`` puts the inputs between them.
DESK_ORDER = ('[data-testid="stLayoutWrapper"]:has(> [data-testid="stVerticalBlock"] > [data-testid="stLayoutWrapper"]'
              ' > .st-key-shop_top), [data-testid="stVerticalBlock"]:has(> [data-testid="stLayoutWrapper"]'
              ' > .st-key-shop_top) { display: contents; }'
              ' [data-testid="stLayoutWrapper"]:has(> .st-key-shop_inputs) { order: 1; }'
              ' [data-testid="stLayoutWrapper"]:has(> .st-key-shop_below) { order: 2; }')
st.html("<style>" + chrome.arrow_css("shop")
        # on a projector the explanation beside the graph: compact, so rule and formula fit one screen
        + (" .st-key-shop_explain p { font-size: 0.95rem; line-height: 1.4; margin-bottom: 0.3rem; }"
           " .st-key-shop_explain .katex-display { font-size: 0.85em; margin: 0.2em 0; overflow-x: auto; }"
           if big else " " + DESK_ORDER) + "</style>")

timer = (ss.shop_playing, ss.shop_pace)  # what this run's fragment timer was set up with
warned = bool(ss.shop_warnings)  # the link's warnings, drawn above the stepper by this run


def stepper():
    """The step: its controls, graph, explanation, code and check. Reruns alone on a click or a Play tick;
    the inputs around it are drawn by the page's full runs (an edit is one), not again at every step."""
    if (ss.shop_playing, ss.shop_pace) != timer or bool(ss.shop_warnings) != warned:
        st.rerun()  # Play, Pause, a new pace, or the link's warnings seen: only a full run redraws those
    chrome.follow_leave()

    preset = current_preset()
    values, problem = read_inputs(preset)
    graph, states, _, checks = evaluated(preset, values)
    last = len(states) - 1
    if ss.shop_playing:
        ss.shop_step, ss.shop_due, still = P.play_tick(ss.shop_step, last, time.monotonic(), ss.shop_due,
                                                       ss.shop_pace)
        if not still:
            ss.shop_playing = False
            st.rerun()
    k = ss.shop_step = min(ss.shop_step, last)
    state = states[k]
    sync_url(preset, values, k)

    where, plain_where = headline(graph, state, k, last)
    if big:
        st.markdown(f"## {where}")
    top = st.container(key="shop_top") if not big else st.container()
    with top:
        controls(state, where)
    shares = projector_shares(graph, preset) if big else None
    # Made once per server for every session showing this step (the key names all it depends on).
    fig = panels.STEP_FIGURES.get(
        (preset.key, preset.text, tuple((name, repr(x)) for name, x in values.items()), k, chrome.language(), big),
        lambda: graph_figure(graph, state, labels=dict(T["labels"]) if preset.key in SHOPPING else {},
                             legend=(T["legend_value"], T["legend_grad"]), big=big,
                             height=400 if preset.key in SHOPPING else None,
                             max_height=405 if big else None,  # a projector: the graph and its step on one screen
                             width=1170 * shares[0] / sum(shares) - 22 if big else None,  # its px at 1280 px
                             final=states[-1],  # each number's place, the same at every step
                             positions=preset.drawn_at))
    alt = T["alt"].format(where=plain_where, out=graph.output, value=G.fmt(state.values.get(graph.output)))
    if big:
        projector_view(preset, graph, state, checks, (fig, alt), shares)
    else:
        with top:
            _chart(fig, alt)
        with st.container(key="shop_below"):
            desk_view(preset, graph, state, checks)


def headline(graph, state, k, last):
    """The step's headline (phase, layer, k of n, done) in Markdown, and its plain phase for the figure's alt."""
    where = plain = phase_text(state, len(graph.order))
    if state.step:
        where += f" · `{graph.nodes[state.step.node].layer}`"
    if not big:  # on a projector the headline stays on one line
        where += f" :gray[· {T['step_of'].format(k=k, total=last)}]"
    if k == last:
        where += f" :green[· {T['done']}]"
    return where, plain


def _chart(fig, alt):
    st.plotly_chart(fig, theme=None, key="shop_fig", alt=alt, config={"displayModeBar": False, "scrollZoom": False})


def projector_shares(graph, preset):
    """The drawing's and the explanation's shares of a projector's width. A graph more than 8 columns wide as
    drawn (Softmax-with-Loss: 10) gets more of the screen, or its numbers would sit on its circles; the
    explanation beside it is a rule and one formula either way."""
    return [2.6, 1] if graph_width(graph, preset.drawn_at) > 8 else [1.7, 1]


def projector_view(preset, graph, state, checks, figure, shares):
    """One screen per moment: the graph and this step's rule and formula side by side; the rest folds below
    (the inputs' panel after it: the page draws that)."""
    drawing, explain = st.columns(shares, gap="medium")
    with drawing:
        _chart(*figure)
    with explain.container(key="shop_explain"):
        explanation_text(preset, graph, state, summary=False)
    summary_text(preset, graph, state)  # at the end: what the graph found, below the first screen's pair
    gradients(graph, state)
    with st.expander(T["code_heading"], icon=":material/code:"):
        panels.code_panel(T, graph, state, preset)
    with st.expander(T["check_heading"], icon=":material/calculate:"):
        panels.check_table(T, graph, state, checks)


def desk_view(preset, graph, state, checks):
    """Below the graph and its inputs: the step explained beside the gradients, then the code and the check."""
    explanation(preset, graph, state)
    st.subheader(T["code_heading"])
    panels.code_panel(T, graph, state, preset)
    st.subheader(T["check_heading"])
    panels.check_table(T, graph, state, checks)


if not big:  # what the graph chosen is (choosing another is a full run)
    st.markdown(T[INTROS.get(ss.shop_preset, "intro")])
if warned:
    warnings_box()
# The inputs are outside the stepper's fragment, so a step does not redraw a dozen widgets it leaves as
# they are (a third of a step's server time); an edit reruns the page. On a projector they fold below.
_preset = current_preset()
_values, _problem = read_inputs(_preset)
if not big:
    inputs_panel(_preset, _values, _problem)
chrome.fragment(stepper, run_every=ss.shop_pace if ss.shop_playing else None)()  # reruns alone, gated
if big:
    inputs_panel(_preset, _values, _problem)
