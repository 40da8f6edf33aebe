"""A computational graph drawn as in the book's figures 5-16 to 5-30, at one step of its schedule.

Left to right: leaf names, then circles (×, +, exp, /, ...) in topological columns, then the
output's name. Every edge carries its forward value above (blue) and its gradient below (red);
"?" until that step has computed it. The node the step ran is filled in the highlight colour, and
the edges it touched are drawn thicker in the colour of its direction. Numbers are rounded like
the book's (3.3, not 3.3000000000000003); hovering a number shows its exact float.

``graph_figure`` reads as its steps: place the nodes (``layout``), find what the step touched,
then draw the edges with their numbers, the leaf and output names, the circles and the legend.
"""
import functools
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass

import plotly.graph_objects as go

from ..graph import fmt
from .style import ACTIVE, BACKWARD, FORWARD, MUTED, base_layout, drawn_height, unchecked_figure

INK = "#24292f"
GAP = 1.0  # least vertical distance between two nodes of one column
NARROWEST_COLUMN = 40  # px between two columns in the narrowest place a graph is drawn (a phone, a side column)
DESK_WIDTH = 820  # px of the page's column at a 1280 px desk with the sidebar open


def _columns(graph):
    """name -> column: an operation node 1 + its inputs' largest column; a leaf just left of its first consumer."""
    col = {}
    for name in graph.order:
        col[name] = 1 + max(col.get(i, 0) for i in graph.nodes[name].inputs)
    for name in graph.leaves:
        col[name] = min(col[consumer] for consumer, _ in graph.consumers[name]) - 1
    return col


def _leaf_rows(graph):
    """Leaves in the order a depth-first walk from the output meets them: rows 0, 1, ..."""
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
    return {name: float(i) for i, name in enumerate(rows)}


def _spread(wanted, blocked):
    """{name: y} as near the wanted ys as possible, in their order, GAP apart, off the ``blocked`` ys."""
    placed, last = {}, None
    for name, y in sorted(wanted.items(), key=lambda item: item[1]):
        low = y if last is None else max(y, last + GAP)
        candidates = [low + d / 2 for d in range(0, 12)]
        y = next((c for c in candidates if all(abs(c - b) > GAP / 2 for b in blocked)), low)
        placed[name] = last = y
    return placed


def layout(graph, positions=None):
    """name -> (x, y) for every node, plus ``"__out__"`` for the output's label at the far right.

    positions: name -> (column, row) to use instead (a preset drawn as the book draws it).
    Otherwise x is the column (``_columns``) and y starts from the leaves' rows; column by column,
    left to right, an operation node sits halfway between its inputs, nodes of one column are kept
    GAP apart, and off the rows of longer edges passing through the column. y grows downwards.
    """
    if positions:
        pos = {name: (float(c), float(r)) for name, (c, r) in positions.items()}
    else:
        col, y = _columns(graph), _leaf_rows(graph)
        for c in sorted(set(col.values())):
            here = [name for name in graph.nodes if col[name] == c]
            wanted = {name: y[name] if graph.nodes[name].op == "input"
                      else sum(y[i] for i in graph.nodes[name].inputs) / len(graph.nodes[name].inputs)
                      for name in here}
            passing = [y[src] for dst in graph.order for src in graph.nodes[dst].inputs
                       if col[src] < c < col[dst]]  # a long edge's row where it leaves its source
            y.update(_spread(wanted, passing))
        top = min(y.values())
        pos = {name: (float(col[name]), y[name] - top) for name in graph.nodes}
    x_out, y_out = pos[graph.output]
    pos["__out__"] = (x_out + 1.0, y_out)
    return pos


def width(graph, positions=None):
    """How many columns the drawing of ``graph`` spans (``layout``'s x, the output's label included)."""
    xs = [x for x, _ in layout(graph, positions).values()]
    return max(xs) - min(xs) + 1


@dataclass(frozen=True)
class _Look:
    """Sizes in px (circle radius, numbers on the edges) and significant digits shown."""

    radius: int
    size: int
    digits: int = 6

    @classmethod
    def of(cls, big, columns):
        """Wide graphs get 4 digits and smaller circles (6 columns and more, as Sigmoid's: its 4-digit
        gradients then fit between them) and smaller type (more than 7, as Softmax-with-Loss): their edges
        are short where the graph shares the screen with its text."""
        radius, size = (30, 22) if big else (24, 15)
        if columns > 7:
            return cls(radius - 4, size - 4, 4)
        if columns >= 6:
            return cls(radius - 4, size - 2, 4)
        return cls(radius, size)


def _number(value, *, exact_label, digits=6):
    """(shown text, hover text) for a value that may be unknown (None)."""
    if value is None:
        return "?", None
    return fmt(value, digits), f"{exact_label} = {value!r}"


def _touched(graph, state):
    """The edges (consumer, slot) or (output, "out") the current step used."""
    step = state.step
    if not step:
        return set()
    touched = {(step.node, slot) for slot in range(len(step.inputs))}
    if step.direction == "forward" or step.node == graph.output:
        touched.add((step.node, "out"))
    return touched


def _edges(graph):
    """(source, destination, slot) for every input of every node, then the output's edge."""
    edges = [(src, c, slot) for c in graph.order for slot, src in enumerate(graph.nodes[c].inputs)]
    return edges + [(graph.output, "__out__", "out")]


class _Room:
    """The circles and the numbers placed so far, in px of the figure as drawn (``scale``: px per column and
    per row), so that each new number goes where it covers no circle and no other number."""

    def __init__(self, graph, pos, look, scale, names):
        self.scale, self.boxes = scale, []
        self.circles = [(pos[n][0] * scale[0], pos[n][1] * scale[1], look.radius + 1) for n in graph.order]
        for a in names:  # a leaf's name (and its Σ) right of its point, the output's left of its own
            width, height = text_px(a["text"], a["font"]["size"]), a["font"]["size"] * 1.25
            x, y = a["x"] * scale[0] + a.get("xshift", 0), a["y"] * scale[1] - a.get("yshift", 0)
            x0 = x - width if a.get("xanchor") == "right" else x
            y0 = y if a.get("yanchor") == "top" else y - height / 2
            self.boxes.append((x0, y0, x0 + width, y0 + height))

    def box(self, x, y, width, height, anchor, shift, xshift=0.0):
        """The px box of a label at data (x, y): ``anchor`` "bottom" (above the point) or "top", shifted up by ``shift``."""
        cx, cy = x * self.scale[0] + xshift, y * self.scale[1] - shift
        top = cy - height if anchor == "bottom" else cy
        return cx - width / 2, top, cx + width / 2, top + height

    def covered(self, box):
        """How much of ``box`` lies on a circle or on a number already placed (0: nothing)."""
        x0, y0, x1, y1 = box
        n = 0.0
        for cx, cy, r in self.circles:
            dx, dy = max(x0, min(cx, x1)) - cx, max(y0, min(cy, y1)) - cy
            n += max(0.0, r * r - dx * dx - dy * dy)
        for u0, v0, u1, v1 in self.boxes:
            if x0 < u1 and u0 < x1 and y0 < v1 and v0 < y1:
                n += (min(x1, u1) - max(x0, u0)) * (min(y1, v1) - max(y0, v0))
        return n


def _number_px(text, size, bold=False):
    """A number's width in px at font ``size``: digits and signs about 0.54 em, a point 0.28 (tighter than
    ``text_px``, which is generous for names; numbers are placed by this)."""
    return sum(0.28 if ch == "." else 0.54 for ch in text) * size * (1.03 if bold else 1.0) + 2


def _edge_annotations(graph, state, pos, look, big, scale, names, final):
    """An arrow per edge, its value above and its gradient below; what this step computed in bold.

    A number sits on the middle of its edge (a leaf's: just right of the leaf) unless it would cover a
    circle or another number there: then it moves along its edge or, on a level edge too short for it,
    over (under) the circles. Where it goes is decided by its number in ``final`` (the last state, every
    number known), so numbers stay put while the graph is stepped. Two wires from one value into one node
    (x * x) are drawn apart, each with its own gradient.
    """
    out, hot_keys = graph.output, _touched(graph, state)
    hot = FORWARD if state.phase == "forward" else BACKWARD
    annotations, labels, room = [], [], _Room(graph, pos, look, scale, names)
    # where a value feeds several nodes, it is written on its most level edge only
    value_edge = {src: min(used, key=lambda e: abs(pos[e[0]][1] - pos[src][1])) for src, used in graph.consumers.items()
                  if used}
    wires, drawn = Counter((src, dst) for src, dst, _ in _edges(graph)), Counter()
    for src, dst, slot in _edges(graph):
        (x0, y0), (x1, y1) = pos[src], pos[dst]
        twins, twin = wires[(src, dst)], drawn[(src, dst)]
        drawn[(src, dst)] += 1
        if twins > 1:  # x * x: parallel wires, a gradient's height apart
            dy = (twin - (twins - 1) / 2) * (look.size + 12) / scale[1]
            y0, y1 = y0 + dy, y1 + dy
        key = (out, "out") if slot == "out" else (dst, slot)
        is_hot = key in hot_keys
        leaf = graph.nodes[src].op == "input"
        annotations.append(dict(
            x=x1, y=y1, ax=x0, ay=y0, xref="x", yref="y", axref="x", ayref="y", text="",
            showarrow=True, arrowhead=2, arrowsize=1.1 if big else 1, arrowwidth=(4 if big else 3) if is_hot else 2,
            arrowcolor=hot if is_hot else INK, standoff=4 if dst == "__out__" else look.radius + 2,
            startstandoff=6 if leaf else look.radius,
        ))
        value = state.values.get(src)
        grad = state.grads.get(out) if slot == "out" else state.edge_grads.get((dst, slot))
        settled = {FORWARD: final.values.get(src),
                   BACKWARD: final.grads.get(out) if slot == "out" else final.edge_grads.get((dst, slot))}
        d_label = f"∂{out}/∂{src}" + ("" if len(graph.consumers[src]) < 2 else f" (→ {dst})")
        numbers = [(grad, d_label, BACKWARD, "top", -3)]
        is_value_edge = slot == "out" or value_edge[src] == (dst, slot)
        if is_value_edge:  # a value fanning out is written once
            numbers.insert(0, (value, src, FORWARD, "bottom", 3))
        # Leaf edges fan in, so their numbers start just right of the leaf, where the edges are farthest apart
        # (and clear of its name); a leaf's other edges fan out from it and have theirs further along.
        t0 = 0.15 if leaf and (is_value_edge or len(graph.consumers[src]) < 2) else 0.6 if twins > 1 else 0.5
        level = abs(y1 - y0) * scale[1] < 8
        for number, exact_label, colour, anchor, shift in numbers:
            text, hover = _number(number, exact_label=exact_label, digits=look.digits)
            bold = _is_new(state, graph, slot, is_hot and number is not None, colour == FORWARD)
            size = look.size  # a new number is bold, not larger: it keeps the room its edge has
            shown = _number_px(text, size, bold)
            width = _number_px(_number(settled[colour], exact_label="", digits=look.digits)[0], look.size, bold=True)
            lift = (look.radius + 3) * (1 if anchor == "bottom" else -1)  # over (under) the circles
            places = [(t0, shift)] + ([(t, lift) for t in (t0, 0.35, 0.65)] if level else [])
            places += [(t, shift) for t in (0.35, 0.65, 0.25, 0.75, 0.2, 0.8) if t != t0]
            label = dict(text=f"<b>{text}</b>" if bold else text, showarrow=False, xref="x", yref="y", yanchor=anchor,
                         font=dict(size=size, color=colour if number is not None else MUTED),
                         bgcolor="rgba(255,255,255,0.85)", hovertext=hover)
            labels.append((not leaf, len(labels), label, (x0, y0, x1, y1), places, width, shown))
    # leaf edges' numbers first: they have the least room to move
    for _, _, label, (x0, y0, x1, y1), places, width, shown in sorted(labels, key=lambda item: item[:2]):
        best = None
        for t, lift in places:
            lx, ly = x0 + t * (x1 - x0), y0 + t * (y1 - y0)
            # a number just right of its leaf: centred, shifted by half its width (its box: the widest's)
            xshift = 2 + shown / 2 if t == 0.15 else 0.0
            box = room.box(lx, ly, width, look.size * 1.25, label["yanchor"], lift,
                           xshift + (width - shown) / 2 if xshift else 0.0)
            cost = room.covered(box)
            if best is None or cost < best[0]:
                best = (cost, lx, ly, lift, xshift, box)
            if cost == 0:
                break
        _, lx, ly, lift, xshift, box = best
        room.boxes.append(box)
        annotations.append({**label, "x": lx, "y": ly, "yshift": lift, **({"xshift": xshift} if xshift else {})})
    return annotations


def _is_new(state, graph, slot, shown_on_hot_edge, is_value):
    """Whether this number on an edge the step touched is one the step computed."""
    if not shown_on_hot_edge or is_value != (state.phase == "forward"):
        return False
    if is_value:
        return slot == "out"  # a forward step computes only its output; its inputs were known
    return slot != "out" or state.step.node == graph.output  # backward: its inputs' gradients


def _name_annotations(graph, state, pos, look, labels):
    """Leaf names (with Σ of the paths for a leaf used more than once) and the output's name."""
    out, annotations = graph.output, []
    for name in graph.leaves:
        x, y = pos[name]
        annotations.append(dict(x=x, y=y, xref="x", yref="y", text=labels.get(name, name), showarrow=False,
                                xanchor="right", xshift=-2, font=dict(size=look.size, color=INK)))
        if len(graph.consumers[name]) > 1:  # a shared value: its gradient is the sum of its paths
            total = state.grads.get(name) if name in state.complete else None
            text, hover = _number(total, exact_label=f"∂{out}/∂{name}", digits=look.digits)
            annotations.append(dict(x=x, y=y, xref="x", yref="y", text=f"Σ {text}", showarrow=False,
                                    xanchor="right", xshift=-2, yanchor="top", yshift=-look.size * 0.8,
                                    font=dict(size=look.size - 1, color=BACKWARD if total is not None else MUTED),
                                    hovertext=hover))
    x, y = pos["__out__"]
    annotations.append(dict(x=x, y=y, xref="x", yref="y", text=f"<b>{labels.get(out, out)}</b>", showarrow=False,
                            xanchor="left", xshift=2, font=dict(size=look.size + 1, color=INK)))
    return annotations


def text_px(text, size, bold=False):
    """A generous estimate of ``text``'s width in px at font ``size`` (markup ignored): a wide (CJK)
    character takes one em, any other about 0.6 em of Source Sans (wider when bold)."""
    plain = re.sub(r"<[^>]+>", "", text)
    ems = sum(1.0 if unicodedata.east_asian_width(ch) in "WF" else 0.6 for ch in plain)
    return ems * size * (1.1 if bold else 1.0)


def _margins(graph, annotations, pos):
    """(left, right) margins in px that hold every name whole, however narrow the figure is drawn.

    The x range ends at the leftmost node and at the output's label point, so a name written left
    of a leaf (right of the output) must fit in the margin, less the columns lying between that
    leaf and the left edge (counted at their narrowest)."""
    x_left = min(x for x, _ in pos.values())
    left, right = 10, 10
    for a in annotations:
        if a.get("xref") != "x" or a.get("showarrow"):
            continue
        width = text_px(a["text"], a["font"]["size"], bold="<b>" in a["text"]) + abs(a.get("xshift", 0)) + 6
        if a.get("xanchor") == "right":
            left = max(left, width - (a["x"] - x_left) * NARROWEST_COLUMN)
        elif a.get("xanchor") == "left":
            right = max(right, width)
    return int(left), int(right)


def _symbol_size(symbol, radius):
    """Type that fits the circle: × and + large, exp and log smaller, ×(−1) smaller still."""
    return radius + 4 if len(symbol) == 1 else int(radius * (0.75 if len(symbol) <= 3 else 0.58))


def _node_trace(graph, state, pos, look):
    """Operation nodes as circles with their symbol (the layer's name on hover); the active one filled."""
    ops = graph.order
    hot = FORWARD if state.phase == "forward" else BACKWARD
    symbols = [graph.nodes[n].symbol for n in ops]
    return dict(
        type="scatter", x=[pos[n][0] for n in ops], y=[pos[n][1] for n in ops], mode="markers+text",
        text=symbols, textposition="middle center",
        textfont=dict(size=[_symbol_size(s, look.radius) for s in symbols], color=INK),
        marker=dict(size=2 * look.radius, color=[ACTIVE if n == state.active else "white" for n in ops],
                    line=dict(width=[4 if n == state.active else 2 for n in ops],
                              color=[hot if n == state.active else INK for n in ops])),
        hovertext=[f"{graph.nodes[n].layer}: {type(graph.layers[n]).__name__}" for n in ops],
        hoverinfo="text", showlegend=False, cliponaxis=False,
    )


def _legend(legend, look):
    return dict(
        x=1, y=1, xref="paper", yref="paper", xanchor="right", yanchor="top", showarrow=False, align="right",
        text=(f"<span style='color:{FORWARD}'>{legend[0]}</span><br>"
              f"<span style='color:{BACKWARD}'>{legend[1]}</span>"),
        font=dict(size=look.size - 2))


def graph_figure(graph, state, *, labels=None, legend=None, big=False, height=None, positions=None,
                 max_height=None, width=None, final=None):
    """A Plotly figure of ``graph`` as it stands in ``state`` (a ``State`` from ``graph.states()``).

    labels: name -> display text for the leaves and the output (default: the names themselves).
    legend: (word for values, word for gradients), shown top right in their colours; None: no legend.
    big: presentation mode (larger type, circles and arrows). positions: see ``layout``.
    height: the figure's height in px (default: 80 a row); max_height: at most this (a projector's screen).
    width: about how wide the page draws it, in px (default DESK_WIDTH), for putting each number where it
    covers no circle and no other number (``_edge_annotations``); drawn wider, it only has more room.
    final: the graph's last state (``graph.states()[-1]``): its numbers decide where each number goes, so
    that they stay put from step to step (default: ``state``'s).
    """
    labels, pos = labels or {}, layout(graph, positions)
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    look = _Look.of(big, max(xs) - min(xs) + 1)
    names = _name_annotations(graph, state, pos, look, labels)
    left, right = _margins(graph, names, pos)
    # Room above for the legend where the output's name would sit under it (a one-row graph).
    top, bottom = (1.0 if legend and pos["__out__"][1] - min(ys) < 0.8 else 0.45), 0.6
    for _ in range(3):  # once more if numbers written over the top row's (under the bottom row's) circles need room
        figure_height = height or min(60 + 80 * (max(ys) - min(ys) + top + bottom - 0.05), max_height or float("inf"))
        drawn = drawn_height(figure_height, big) - 20  # as drawn, less the margins
        scale = (((width or DESK_WIDTH) - left - right) / (max(xs) - min(xs) + 0.1),
                 drawn / (max(ys) - min(ys) + top + bottom))  # px per column and per row
        numbers = _edge_annotations(graph, state, pos, look, big, scale, names, final or state)
        written, tall = [a for a in numbers if not a.get("showarrow")], look.size * 1.25
        over = max((a["yshift"] + tall) / scale[1] - (a["y"] - min(ys)) for a in written if a["yanchor"] == "bottom")
        under = max((tall - a["yshift"]) / scale[1] + (a["y"] - max(ys)) for a in written if a["yanchor"] == "top")
        if over + 0.05 <= top and under + 0.05 <= bottom:
            break
        top, bottom = max(top, over + 0.1), max(bottom, under + 0.1)
    annotations = numbers + names
    if legend:
        annotations.append(_legend(legend, look))
    return unchecked_figure([_node_trace(graph, state, pos, look)], {
        **_base(big, figure_height),
        "annotations": annotations,
        "dragmode": False, "hovermode": "closest", "margin": dict(l=left, r=right, t=10, b=10),
        # the names live in the margins (``_margins``); the range holds the circles and arrows
        "xaxis": dict(visible=False, range=[min(xs) - 0.1, max(xs)], fixedrange=True),
        "yaxis": dict(visible=False, range=[max(ys) + bottom, min(ys) - top], fixedrange=True),
    })


@functools.cache
def _base(big, height):
    """The shared ``base_layout`` look as a plain layout dict, built once per size.

    Its template is cut down to what this drawing uses (no axes, no colour scales): validating
    the whole plotly_white template costs more than everything else in a step's rerun.
    """
    base = base_layout(go.Figure(), big=big, height=height).layout.to_plotly_json()
    template = base.pop("template")["layout"]
    keep = ("font", "paper_bgcolor", "plot_bgcolor", "hoverlabel", "annotationdefaults")
    return {**base, "template": {"layout": {k: template[k] for k in keep if k in template}}}
