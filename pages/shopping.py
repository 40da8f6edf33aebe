"""Shopping graph: step forward and backward through the book's figures 5-16 and 5-17, one node at a time.

State (session keys ``shop_*``): the preset, one number input per leaf, the step k (numbered as in
``backprop.graph``: 0 = nothing computed, 1..n forward, n+1..2n backward), the last inputs that gave
a finite graph, and the player (playing, pace, next due time). The URL mirrors preset, step and any
input that differs from its default, so a lecturer can bookmark a moment: ``?preset=apples_oranges&step=7``.
"""
import inspect
import time

import streamlit as st

from backprop import graph as G
from backprop.figures.graph import graph_figure
from backprop.layers import AddLayer, MulLayer
from pages import chrome

T = chrome.text("shopping")
ss = st.session_state
big = chrome.presenting()

ALL_LEAVES = dict(kv for preset in G.PRESETS.values() for kv in preset.leaves)  # name -> default
INPUT_STEP = {"apple": 10.0, "orange": 10.0, "apple_num": 1.0, "orange_num": 1.0, "tax": 0.01}
URL_KEYS = ("preset", "step", *ALL_LEAVES)
PACES = (0.5, 1.0, 2.0, 4.0)
LAYER_CLASSES = {"mul": MulLayer, "add": AddLayer}


def _apply_url(params):
    """Go to the moment a URL describes (bad parts ignored, with warnings shown until the next action)."""
    setup, warnings = G.parse_params(params)
    ss.shop_preset = setup.preset
    for name, x in setup.values.items():
        ss[f"shop_v_{name}"] = x
    ss.shop_good[setup.preset] = dict(setup.values)
    ss.shop_step = setup.step
    ss.shop_warnings = warnings
    ss.shop_playing = False


def _url_params():
    return {key: st.query_params[key] for key in URL_KEYS if key in st.query_params}


if "shop_step" not in ss:  # first visit in this session
    for _name, _default in ALL_LEAVES.items():
        ss[f"shop_v_{_name}"] = _default
    ss.shop_good = {key: p.defaults for key, p in G.PRESETS.items()}
    ss.shop_pace, ss.shop_due, ss.shop_url = 2.0, 0.0, {}
    _apply_url(_url_params())
elif (_params := _url_params()) and _params != ss.shop_url:
    # Every step is a browser history entry: Back/Forward (or an edited URL) go where it points.
    # No parameters at all means we came from another page, which clears the URL: carry on.
    _apply_url(_params)


# ----------------------------------------------------------------------------- callbacks

def _quiet():
    """Any deliberate action: the link's warnings have been seen."""
    ss.shop_warnings = []


def _preset_changed():
    _quiet()
    ss.shop_step = 0
    ss.shop_playing = False


def _move(where):
    """Reset / Back / Next / End: ``where`` is a function of (step, last). Pauses the player."""
    _quiet()
    ss.shop_playing = False
    last = 2 * len(G.PRESETS[ss.shop_preset].ops)
    ss.shop_step = max(0, min(last, where(ss.shop_step, last)))


def _reset():
    _move(lambda k, last: 0)


def _back():
    _move(lambda k, last: k - 1)


def _next():
    _move(lambda k, last: k + 1)


def _end():
    _move(lambda k, last: last)


def _book_values():
    _quiet()
    for name, default in G.PRESETS[ss.shop_preset].leaves:
        ss[f"shop_v_{name}"] = default


def _play_pause():
    _quiet()
    last = 2 * len(G.PRESETS[ss.shop_preset].ops)
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

def _tex_name(name):
    return r"\text{" + name.replace("_", r"\_") + "}"


def _tex_num(x):
    """A number for LaTeX: book rounding, 10^k for exponents, negatives in parentheses."""
    s = G.fmt(x)
    if "e" in s:
        mantissa, exponent = s.split("e")
        s = rf"{mantissa} \times 10^{{{int(exponent)}}}"
    return f"({s})" if x < 0 else s


def _d(out, name):
    return rf"\frac{{\partial\,{_tex_name(out)}}}{{\partial\,{_tex_name(name)}}}"


def _hover_num(x, digits=10):
    """Book-rounded number whose exact float shows on hover (HTML for markdown tables)."""
    return f'<span title="{x!r}">{G.fmt(x, digits)}</span>'


def phase_text(state, n):
    if state.step is None:
        return T["phase_start"]
    key = "phase_forward" if state.phase == "forward" else "phase_backward"
    return T[key].format(number=state.step.number, n=n)


def formula(graph, state):
    """LaTeX of what the current step computed, with its numbers."""
    step, out = state.step, graph.output
    a, b = step.inputs
    op = r" \times " if step.op == "mul" else " + "
    if step.direction == "forward":
        va, vb = step.in_values
        return (rf"{_tex_name(step.node)} = {_tex_name(a)}{op}{_tex_name(b)}"
                rf" = {_tex_num(va)}{op}{_tex_num(vb)} = {_tex_num(step.out_value)}")
    lines = []
    if step.node == out:
        lines.append(rf"{_d(out, out)} &= 1")
    for slot, (name, grad) in enumerate(zip(step.inputs, step.in_grads)):
        if step.op == "mul":  # upstream times the other input
            local, local_num = _tex_name(step.inputs[1 - slot]), _tex_num(step.in_values[1 - slot])
        else:  # upstream passes through
            local, local_num = "1", "1"
        upstream = "1" if step.node == out else _d(out, step.node)
        lines.append(rf"{_d(out, name)} &= {upstream} \times {local}")
        lines.append(rf"&= {_tex_num(step.upstream)} \times {local_num} = \mathbf{{{_tex_num(grad)}}}")
    return r"\begin{aligned}" + r" \\[2pt] ".join(lines) + r"\end{aligned}"


def gradient_table(graph, state):
    """Markdown table of every gradient known so far, newest marked; exact floats on hover."""
    out, new = graph.output, set()
    if state.phase == "backward":  # this step found its inputs' gradients (the first one also d(out)/d(out))
        new = set(state.step.inputs) | ({out} if state.step.node == out else set())
    rows = [f"| {T['col_variable']} | {T['col_value']} | {T['col_grad'].format(out=out)} |", "|---|--:|--:|"]
    for name, grad in state.grads.items():
        shown = _hover_num(grad)
        if name not in state.complete:
            paths = len(graph.consumers[name])
            done = sum(1 for c, s in graph.consumers[name] if (c, s) in state.edge_grads)
            shown = T["partial"].format(value=shown, done=done, paths=paths)
        label = f":orange-badge[{name}]" if name in new else f"`{name}`"
        rows.append(f"| {label} | {_hover_num(state.values[name])} | **{shown}** |")
    return "\n".join(rows)


def code_panel(graph, state):
    """The book's script with the line this step ran marked, and the layer method it called."""
    marker = T["code_marker"].format(k=state.k)
    script = "\n".join(f"{line}  # {marker}" if k and k == state.k else line for k, line in G.script(graph))
    step = state.step
    node = graph.nodes[step.node if step else graph.order[0]]  # at step 0: what step 1 will call
    direction = step.direction if step else "forward"
    cls = LAYER_CLASSES[node.op]
    source = f"class {cls.__name__}:\n" + inspect.getsource(getattr(cls, direction))
    if step and direction == "backward" and node.op == "mul":
        x, y = step.in_values
        source = f"# {T['code_cached'].format(layer=node.layer, x=G.fmt(x), y=G.fmt(y))}\n" + source
    if step and direction == "forward":
        source += "\n# " + T["code_result"].format(names=step.node, values=G.fmt(step.out_value))
    elif step:
        source += "\n# " + T["code_result"].format(names=", ".join(f"d{i}" for i in step.inputs),
                                                   values=", ".join(G.fmt(g) for g in step.in_grads))

    badge = T["code_backward_badge"] if direction == "backward" else T["code_forward_badge"]
    st.markdown(f"{badge} **`{node.layer}.{direction}`** · `{cls.__name__}.{direction}`")
    st.caption(T["code_method_caption"] if step else T["code_start"])
    st.code(source, language="python")
    st.caption(T["code_script_caption"])
    st.code(script, language="python")


def check_table(graph, state):
    """Backprop beside central differences for every input; backprop shows once this step has found it."""
    rows = [f"| {T['col_input']} | x | {T['col_numerical']} | {T['col_backprop']} | {T['col_difference']} |",
            "|---|--:|--:|--:|--:|"]
    for c in G.gradient_check(graph):
        if c.name in state.complete:
            verdict = ":green[:material/check_circle:]" if c.ok else ":red[:material/cancel:]"
            backprop, difference = f"**{_hover_num(c.backprop)}**", f"{c.difference:.1e} {verdict}"
        else:
            backprop, difference = T["check_pending"], ""
        numerical = _hover_num(c.numerical, 8)
        rows.append(f"| `{c.name}` | {_hover_num(c.value)} | {numerical} | {backprop} | {difference} |")
    st.markdown(T["check_intro"].format(h="10⁻⁴"))
    st.markdown("\n".join(rows), unsafe_allow_html=True)
    st.page_link("pages/gradient_check.py", label=T["check_link"], icon=":material/rule:")


def sync_url(preset_key, values, step):
    """Write our own keys only (``present`` and ``lang`` belong to the chrome)."""
    want = ss.shop_url = G.query_for(preset_key, values, step)
    for key in URL_KEYS:
        if key in want:
            if st.query_params.get(key) != want[key]:
                st.query_params[key] = want[key]
        elif key in st.query_params:
            del st.query_params[key]


# ----------------------------------------------------------------------------- the page

def pace_control():
    st.selectbox(T["pace_label"], PACES, key="shop_pace", persist_state="session", width=110,
                 format_func=lambda s: T["pace_format"].format(seconds=s), on_change=_pace_changed,
                 label_visibility="visible" if big else "collapsed", help=T["pace_help"])


def read_inputs(preset):
    """Check the number inputs; returns (the values drawn, the problem or None).

    Invalid input (an emptied box, or values whose price overflows) keeps the last good values.
    """
    entered = {name: ss.get(f"shop_v_{name}") for name, _ in preset.leaves}
    if (empty := [name for name, x in entered.items() if x is None]):
        return ss.shop_good[preset.key], T["invalid_empty"].format(label=T["inputs"][empty[0]])
    if G.evaluate(preset, entered)[0] is None:
        return ss.shop_good[preset.key], T["invalid_overflow"]
    ss.shop_good[preset.key] = {name: float(x) for name, x in entered.items()}
    return ss.shop_good[preset.key], None


def inputs_panel(preset, values, problem):
    """Preset, one number input per leaf (and the pace on a projector); the problem, if any."""
    if big:
        summary = ", ".join(f"{name} = {G.fmt(values[name])}" for name, _ in preset.leaves)
        box = st.expander(T["setup_expander"].format(summary=summary), icon=":material/tune:",
                          expanded=problem is not None)
    else:
        box = st.container(border=True)
    with box:
        st.segmented_control(T["preset_label"], list(G.PRESETS), key="shop_preset", required=True,
                             format_func=lambda key: T["presets"][key], on_change=_preset_changed,
                             persist_state="session", label_visibility="collapsed")
        with st.container(horizontal=True, gap="medium", vertical_alignment="bottom"):
            for name, _ in preset.leaves:
                st.number_input(T["inputs"][name], value=None, step=INPUT_STEP[name], format="%.10g", width=140,
                                key=f"shop_v_{name}", help=T["inputs_help"][name], on_change=_quiet,
                                persist_state="session")
            st.button(T["book_values"], icon=":material/restart_alt:", on_click=_book_values, type="tertiary",
                      key="shop_book", help=T["book_values_help"], disabled=values == preset.defaults and not problem)
            if big:
                pace_control()
        if problem:
            st.error(problem, icon=":material/error:")


def controls(state, where):
    k, last = state.k, state.total
    with st.container(horizontal=True, vertical_alignment="center", gap="small"):
        st.button(T["reset"], icon=":material/first_page:", on_click=_reset, disabled=k == 0,
                  help=T["reset_help"], key="shop_reset", shortcut="Home")
        st.button(T["back"], icon=":material/chevron_left:", on_click=_back, disabled=k == 0,
                  help=T["back_help"], key="shop_back", shortcut="PageUp")
        st.button(T["next"], icon=":material/chevron_right:", on_click=_next, disabled=k == last,
                  help=T["next_help"], key="shop_next", shortcut="PageDown", type="primary")
        st.button(T["end"], icon=":material/last_page:", on_click=_end, disabled=k == last,
                  help=T["end_help"], key="shop_end", shortcut="End")
        st.button(T["pause"] if ss.shop_playing else T["play"], on_click=_play_pause, help=T["play_help"],
                  icon=":material/pause:" if ss.shop_playing else ":material/play_arrow:", key="shop_play")
        # Hidden twins of Back and Next (CSS below): a button takes one shortcut, and presenter
        # clickers send PageUp/PageDown while keyboards have the arrows.
        st.button(T["back"], on_click=_back, key="shop_back_arrow", shortcut="Left", disabled=k == 0)
        st.button(T["next"], on_click=_next, key="shop_next_arrow", shortcut="Right", disabled=k == last)
        if not big:
            pace_control()
            st.markdown(f"#### {where}", width="content")


def explanation(graph, state):
    explain, table = st.columns([1.5, 1], gap="large")
    with explain:
        st.subheader(T["explain_heading"])
        if state.step is None:
            st.markdown(T["explain_start"])
        else:
            step = state.step
            if step.direction == "backward" and step.node == graph.output:
                st.markdown(T["explain_first_backward"].format(out=graph.output))
            st.markdown(T[f"explain_{step.rule}"].format(layer=graph.nodes[step.node].layer))
            st.latex(formula(graph, state))
            if state.k == state.total:
                st.markdown(T["explain_done"])
    with table:
        st.subheader(T["table_heading"])
        if state.grads:
            st.markdown(gradient_table(graph, state), unsafe_allow_html=True)
        else:
            st.caption(T["table_empty"])


if not big:  # on a projector the navigation bar names the page and the step is the headline
    st.title(T["title"])
    st.markdown(T["intro"])
st.html("<style>.st-key-shop_back_arrow, .st-key-shop_next_arrow { display: none; }</style>")

timer = (ss.shop_playing, ss.shop_pace)  # what this run's fragment timer was set up with


@st.fragment(run_every=ss.shop_pace if ss.shop_playing else None)
def stepper():
    """The page below the title. Reruns alone on a click, an edit or a Play tick."""
    if (ss.shop_playing, ss.shop_pace) != timer:
        st.rerun()  # Play, Pause or a new pace: only a full run sets the timer up again
    if ss.shop_warnings:
        default = T["presets"][G.DEFAULT_PRESET]
        problems = "; ".join(T[f"warn_{w.code}"].format(key=w.key, value=w.value, default=default)
                             for w in ss.shop_warnings)
        st.warning(T["url_warning"].format(problems=problems), icon=":material/link_off:")

    preset = G.PRESETS[ss.shop_preset]
    values, problem = read_inputs(preset)
    graph, states = G.evaluate(preset, values)
    last = len(states) - 1
    if ss.shop_playing:
        ss.shop_step, ss.shop_due, still = G.play_tick(ss.shop_step, last, time.monotonic(), ss.shop_due,
                                                       ss.shop_pace)
        if not still:
            ss.shop_playing = False
            st.rerun()
    k = ss.shop_step = min(ss.shop_step, last)
    state = states[k]
    sync_url(preset.key, values, k)

    where = phase_text(state, len(graph.order))
    plain_where = where
    if state.step:
        where += f" · `{graph.nodes[state.step.node].layer}`"
    if not big:  # on a projector the headline stays on one line
        where += f" :gray[· {T['step_of'].format(k=k, total=last)}]"
    if k == last:
        where += f" :green[· {T['done']}]"
    if big:
        st.markdown(f"## {where}")
    controls(state, where)
    fig = graph_figure(graph, state, labels=dict(T["labels"]), legend=(T["legend_value"], T["legend_grad"]),
                       big=big, height=400)
    alt = T["alt"].format(where=plain_where, price=G.fmt(state.values.get(graph.output)))
    st.plotly_chart(fig, theme=None, key="shop_fig", alt=alt, config={"displayModeBar": False, "scrollZoom": False})

    if not big:
        inputs_panel(preset, values, problem)
    explanation(graph, state)
    if big:
        inputs_panel(preset, values, problem)
        with st.expander(T["code_heading"], icon=":material/code:"):
            code_panel(graph, state)
        with st.expander(T["check_heading"], icon=":material/calculate:"):
            check_table(graph, state)
    else:
        st.subheader(T["code_heading"])
        code_panel(graph, state)
        st.subheader(T["check_heading"])
        check_table(graph, state)


stepper()
