"""The computational graph drawn as in the book's figures 5-16 and 5-17, at one step of its schedule.

Left to right: leaf names, then circles (× and +) in topological columns, then the output's name.
Every edge carries its forward value above (blue) and its gradient below (red); "?" until that
step has computed it. The node the step ran is filled in the highlight colour, and the edges it
touched are drawn thicker in the colour of its direction. Numbers are rounded like the book's
(3.3, not 3.3000000000000003); hovering a number shows its exact float.
"""
import functools

import plotly.graph_objects as go

from ..graph import SYMBOLS, fmt
from .style import ACTIVE, BACKWARD, FORWARD, MUTED, base_layout

INK = "#24292f"


def layout(graph):
    """name -> (x, y) for every node, plus ``"__out__"`` for the output's label at the far right.

    x: an operation node's column is 1 + the largest column of its inputs; a leaf sits one column
    left of its first consumer. y: leaves in the order a depth-first walk from the output meets
    them (rows 0, 1, ...); an operation node halfway between its inputs. y grows downwards.
    """
    col = {}
    for name in graph.order:
        col[name] = 1 + max(col.get(i, 0) for i in graph.nodes[name].inputs)
    for name in graph.leaves:
        col[name] = min(col[consumer] for consumer, _ in graph.consumers[name]) - 1

    rows, seen = [], set()

    def walk(name):
        if name in seen:
            return
        seen.add(name)
        for parent in graph.nodes[name].inputs:
            walk(parent)
        if graph.nodes[name].op == "input":
            rows.append(name)

    walk(graph.output)
    y = {name: float(i) for i, name in enumerate(rows)}
    for name in graph.order:
        y[name] = sum(y[i] for i in graph.nodes[name].inputs) / 2
    pos = {name: (float(col[name]), y[name]) for name in graph.nodes}
    pos["__out__"] = (col[graph.output] + 1.0, y[graph.output])
    return pos


def _number(value, *, exact_label):
    """(shown text, hover text) for a value that may be unknown (None)."""
    if value is None:
        return "?", None
    return fmt(value, 6), f"{exact_label} = {value!r}"


def graph_figure(graph, state, *, labels=None, legend=None, big=False, height=None):
    """A Plotly figure of ``graph`` as it stands in ``state`` (a ``State`` from ``graph.states()``).

    labels: name -> display text for the leaves and the output (default: the names themselves).
    legend: (word for values, word for gradients), shown top right in their colours; None: no legend.
    big: presentation mode (larger type, circles and arrows).
    """
    labels = labels or {}
    pos = layout(graph)
    step = state.step
    radius = 30 if big else 24  # circle radius in px: arrows stop at the rim
    size = 22 if big else 15  # numbers on the edges
    out = graph.output
    annotations = []

    touched = set()  # edges (consumer, slot) or (out, "out") that the current step used
    if step:
        touched = {(step.node, 0), (step.node, 1)}
        if step.direction == "forward" or step.node == out:
            touched.add((step.node, "out"))
    hot = FORWARD if state.phase == "forward" else BACKWARD

    edges = [(graph.nodes[c].inputs[slot], c, slot) for c in graph.order for slot in (0, 1)]
    edges.append((out, "__out__", "out"))
    for src, dst, slot in edges:
        x0, y0 = pos[src]
        x1, y1 = pos[dst]
        key = (out, "out") if slot == "out" else (dst, slot)
        is_hot = key in touched
        leaf = graph.nodes[src].op == "input"
        annotations.append(dict(
            x=x1, y=y1, ax=x0, ay=y0, xref="x", yref="y", axref="x", ayref="y", text="",
            showarrow=True, arrowhead=2, arrowsize=1.1 if big else 1, arrowwidth=(4 if big else 3) if is_hot else 2,
            arrowcolor=hot if is_hot else INK, standoff=4 if dst == "__out__" else radius + 2,
            startstandoff=6 if leaf else radius,
        ))
        # Labels sit on the edge, nearer its start for leaf edges (they fan in, so they are
        # farther apart there), above for the value and below for the gradient.
        t = 0.3 if leaf else 0.5
        lx, ly = x0 + t * (x1 - x0), y0 + t * (y1 - y0)
        value = state.values.get(src)
        grad = state.grads.get(out) if slot == "out" else state.edge_grads.get((dst, slot))
        d_label = f"∂{out}/∂{src}" + ("" if len(graph.consumers[src]) < 2 else f" (→ {dst})")
        for number, exact_label, colour, anchor, shift in (
            (value, src, FORWARD, "bottom", 3),
            (grad, d_label, BACKWARD, "top", -3),
        ):
            text, hover = _number(number, exact_label=exact_label)
            bold = is_hot and number is not None and (colour == FORWARD) == (state.phase == "forward")
            if bold and colour == FORWARD and slot != "out" and state.phase == "forward":
                bold = False  # a forward step computes only its output; its inputs were known
            if bold and colour == BACKWARD and slot == "out" and step.node != out:
                bold = False  # a backward step computes its inputs' gradients, not its upstream
            annotations.append(dict(
                x=lx, y=ly, xref="x", yref="y", text=f"<b>{text}</b>" if bold else text,
                showarrow=False, yanchor=anchor, yshift=shift,
                font=dict(size=size + (2 if bold else 0), color=colour if number is not None else MUTED),
                bgcolor="rgba(255,255,255,0.85)", hovertext=hover,
            ))

    # Leaf and output names.
    for name in graph.leaves:
        x, y = pos[name]
        annotations.append(dict(x=x, y=y, xref="x", yref="y", text=labels.get(name, name), showarrow=False,
                                xanchor="right", xshift=-2, font=dict(size=size, color=INK)))
        if len(graph.consumers[name]) > 1:  # a shared value: its gradient is the sum of its paths
            total = state.grads.get(name) if name in state.complete else None
            text, hover = _number(total, exact_label=f"∂{out}/∂{name}")
            annotations.append(dict(x=x, y=y, xref="x", yref="y", text=f"Σ {text}", showarrow=False,
                                    xanchor="right", xshift=-2, yanchor="top", yshift=-size * 0.8,
                                    font=dict(size=size - 1, color=BACKWARD if total is not None else MUTED),
                                    hovertext=hover))
    x, y = pos["__out__"]
    annotations.append(dict(x=x, y=y, xref="x", yref="y", text=f"<b>{labels.get(out, out)}</b>", showarrow=False,
                            xanchor="left", xshift=2, font=dict(size=size + 1, color=INK)))

    # Operation nodes: circles with × or + (the layer's name on hover).
    ops = graph.order
    nodes = dict(
        type="scatter", x=[pos[n][0] for n in ops], y=[pos[n][1] for n in ops], mode="markers+text",
        text=[SYMBOLS[graph.nodes[n].op] for n in ops], textposition="middle center",
        textfont=dict(size=radius + 4, color=INK),
        marker=dict(size=2 * radius, color=[ACTIVE if n == state.active else "white" for n in ops],
                    line=dict(width=[4 if n == state.active else 2 for n in ops],
                              color=[hot if n == state.active else INK for n in ops])),
        hovertext=[f"{graph.nodes[n].layer}: {type(graph.layers[n]).__name__}" for n in ops],
        hoverinfo="text", showlegend=False, cliponaxis=False,
    )
    if legend:
        annotations.append(dict(
            x=1, y=1, xref="paper", yref="paper", xanchor="right", yanchor="top", showarrow=False, align="right",
            text=(f"<span style='color:{FORWARD}'>{legend[0]}</span><br>"
                  f"<span style='color:{BACKWARD}'>{legend[1]}</span>"),
            font=dict(size=size - 2)))

    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    look = _look(big, height or (60 + 80 * (max(ys) - min(ys) + 1)))
    return go.Figure(data=[nodes], layout={
        **look, "annotations": annotations, "dragmode": False, "hovermode": "closest",
        "margin": dict(l=10, r=10, t=10, b=10),
        "xaxis": dict(visible=False, range=[min(xs) - 0.75, max(xs) + 0.55], fixedrange=True),
        "yaxis": dict(visible=False, range=[max(ys) + 0.6, min(ys) - 0.45], fixedrange=True),
    })


@functools.cache
def _look(big, height):
    """The shared ``base_layout`` look as a plain layout dict, built once per size.

    Its template is cut down to what this drawing uses (no axes, no colour scales): validating
    the whole plotly_white template costs more than everything else in a step's rerun.
    """
    layout = base_layout(go.Figure(), big=big, height=height).layout.to_plotly_json()
    template = layout.pop("template")["layout"]
    keep = ("font", "paper_bgcolor", "plot_bgcolor", "hoverlabel", "annotationdefaults")
    return {**layout, "template": {"layout": {k: template[k] for k in keep if k in template}}}
