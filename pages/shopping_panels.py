"""The panels that explain a step of the shopping page's graph: the gradients known so far, the code that
ran (the book's script and the layer method), the numerical check, and at the end of Sigmoid and
Softmax-with-Loss the simplified layer beside the graph. Drawn by pages/shopping.py, which passes its words
(``T``: this module is imported once per server process, so nothing language-dependent lives here).
"""
import functools
import inspect

import streamlit as st

from backprop import graph as G
from backprop import presets as P
from backprop.figures.style import FigureCache
from backprop.nodes import OPS

SHOPPING = ("apples", "apples_oranges")  # the book's shopping graphs (its script and words differ)
# The figures of graph steps, each made once per server process and drawn by every session that shows the same
# step: a lecture's hall steps the same graph with the same numbers, and making the figure was a third of
# what a student's Next cost the server. The key (pages/shopping.py) names everything a figure shows: the
# graph and its inputs, the step, the language, the mode. The book's graphs in three languages and both
# modes are about 300 figures.
STEP_FIGURES = FigureCache(kept=256)


def hover_num(x, digits=10):
    """Book-rounded number whose exact float shows on hover (HTML for markdown tables)."""
    return f'<span title="{x!r}">{G.fmt(x, digits)}</span>'


def gradient_table(T, graph, state):
    """Markdown table of every gradient known so far, newest marked; exact floats on hover."""
    rows = [f"| {T['col_variable']} | {T['col_value']} | {T['col_grad'].format(out=graph.output)} |", "|---|--:|--:|"]
    for row in P.gradient_rows(graph, state):
        shown = hover_num(row.grad)
        if row.paths is not None:
            shown = T["partial"].format(value=shown, done=row.done, paths=row.paths)
        label = f":orange-badge[{row.name}]" if row.new else f"`{row.name}`"
        rows.append(f"| {label} | {hover_num(row.value)} | **{shown}** |")
    return "\n".join(rows)


@functools.lru_cache(maxsize=64)
def _method_source(cls, direction):
    """The layer method's source under its class line (read and tokenized once, not at every step)."""
    return f"class {cls.__name__}:\n" + inspect.getsource(getattr(cls, direction))


def code_panel(T, graph, state, preset):
    """The graph as the book's script with the line this step ran marked, and the layer method it called."""
    marker = T["code_marker"].format(k=state.k)
    script = "\n".join(f"{line}  # {marker}" if k and k == state.k else line for k, line in G.script(graph))
    step = state.step
    node = graph.nodes[step.node if step else graph.order[0]]  # at step 0: what step 1 will call
    direction = step.direction if step else "forward"
    cls = OPS[node.op].layer
    source = _method_source(cls, direction)
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
    module = "backprop/layers.py" if cls.__module__.endswith("layers") else "backprop/nodes.py"
    st.caption(T["code_method_caption"].format(module=module) if step else T["code_start"])
    st.code(source, language="python")
    st.caption(T["code_script_caption"] if preset.key in SHOPPING else T["code_script_caption_other"])
    st.code(script, language="python")


def check_table(T, graph, state, checks):
    """Backprop beside central differences for every input (``checks``: ``G.gradient_check(graph)``); backprop
    shows once this step has found it."""
    rows = [f"| {T['col_input']} | x | {T['col_numerical']} | {T['col_backprop']} | {T['col_difference']} |",
            "|---|--:|--:|--:|--:|"]
    for c in checks:
        if c.name in state.complete:
            verdict = ":green[:material/check_circle:]" if c.ok else ":red[:material/cancel:]"
            backprop, difference = f"**{hover_num(c.backprop)}**", f"{c.difference:.1e} {verdict}"
        else:
            backprop, difference = T["check_pending"], ""
        numerical = hover_num(c.numerical, 8)
        rows.append(f"| `{c.name}` | {hover_num(c.value)} | {numerical} | {backprop} | {difference} |")
    st.markdown(T["check_intro"].format(h="10⁻⁴", out=graph.output))
    st.markdown("\n".join(rows), unsafe_allow_html=True)
    st.page_link("pages/gradient_check.py", label=T["check_link"], icon=":material/rule:")


def closed_form_table(T, preset, graph):
    """At the end of Sigmoid / Softmax-with-Loss: the elementary graph's gradients beside the simplified layer's."""
    rows = P.closed_form(preset.key, graph)
    if not rows:
        return
    st.markdown(T[f"closed_{preset.key}"])
    table = [f"| {T['col_input']} | {T['col_graph']} | {T[f'col_closed_{preset.key}']} | {T['col_difference']} |",
             "|---|--:|--:|--:|"]
    for name, through_graph, layer in rows:
        ok = ":green[:material/check_circle:]" if abs(through_graph - layer) <= 1e-12 else ":red[:material/cancel:]"
        table.append(f"| `{name}` | {hover_num(through_graph)} | {hover_num(layer)} | "
                     f"{abs(through_graph - layer):.1e} {ok} |")
    st.markdown("\n".join(table), unsafe_allow_html=True)
