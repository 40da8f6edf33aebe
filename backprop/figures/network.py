"""Figures of the layer walk: the tensors of TwoLayerNet drawn so they can be read, and the tiny net.

Pure functions from arrays (and an explicit ``labels`` dict of words) to Plotly figures:
``images_figure`` tiles 28x28 images (the input, or dW1 as 50 images, one per hidden unit),
``matrix_figure`` draws an (N, k) tensor as cells, with ReLU's cut cells crossed out and the
labels' cells outlined, ``tiny_figure`` draws the 2-3-2 net's scalar graph with every weight an
edge carrying its value above and its gradient below.
"""
import numpy as np
import plotly.graph_objects as go

from ..graph import fmt
from .graph import text_px
from .style import ACTIVE, BACKWARD, DIVERGING, FORWARD, MUTED, base_layout, drawn_height

INK = "#24292f"


def _fixed_axes(fig, *, x=None, y=None):
    fig.update_xaxes(fixedrange=True, showgrid=False, zeroline=False, **(x or {}))
    fig.update_yaxes(fixedrange=True, showgrid=False, zeroline=False, autorange="reversed", **(y or {}))
    fig.update_layout(dragmode=False)
    return fig


def tile(images, cols, side=28, gap=2):
    """(k, side*side) images as one (rows*(side+gap)-gap, cols*(side+gap)-gap) array, NaN between tiles."""
    k = len(images)
    rows = -(-k // cols)
    out = np.full((rows * (side + gap) - gap, cols * (side + gap) - gap), np.nan)
    for i, image in enumerate(images):
        r, c = divmod(i, cols)
        out[r * (side + gap):r * (side + gap) + side, c * (side + gap):c * (side + gap) + side] = \
            np.asarray(image, dtype=np.float64).reshape(side, side)
    return out


def images_figure(images, *, cols, captions=(), signed=False, labels, big=False, height=None):
    """k images of 28x28 in a grid of ``cols`` columns; ``signed`` draws gradients (zero white, red +, blue −).

    captions: one short text per image (its label, or its hidden unit), shown under it.
    """
    grid = tile(images, cols)
    if signed:
        m = float(np.nanmax(np.abs(grid))) or 1.0
        heat = go.Heatmap(z=grid, colorscale=DIVERGING, zmin=-m, zmax=m, hoverongaps=False,
                          colorbar=dict(thickness=10, len=0.9), hovertemplate=labels["hover_grad"])
    else:
        heat = go.Heatmap(z=grid, colorscale="Greys", zmin=0, zmax=1, showscale=False, hoverongaps=False,
                          hovertemplate=labels["hover_pixel"])
    fig = go.Figure(heat)
    for i, caption in enumerate(captions):
        r, c = divmod(i, cols)
        fig.add_annotation(x=c * 30 + 13.5, y=r * 30 + 28.5, text=caption, showarrow=False, yanchor="top",
                           font=dict(size=14 if big else 11, color=INK))
    rows = -(-len(images) // cols)
    fig = base_layout(fig, big=big, height=height or (40 + rows * (110 if cols <= 8 else 60)))
    fig.update_layout(margin=dict(l=5, r=5, t=5, b=20 if captions else 5))
    return _fixed_axes(fig, x=dict(visible=False, scaleanchor="y"), y=dict(visible=False))


def _cell_text(v, signed):
    """Short enough for a cell: probabilities to 2 decimals, other numbers to 2 significant digits."""
    if not signed:
        return f"{v:.2f}"
    return "0" if abs(v) < 5e-4 else f"{v:.2g}"


def _ticks(n, step):
    """Tick positions for an axis of n cells: every cell up to 16, else every ``step``-th and the last one
    (a 50-cell axis reads 0, 5, ..., 45, 49: nothing past its last cell)."""
    if n <= 16:
        return list(range(n))
    return sorted(set(range(0, n, step)) - set(range(n - step // 2, n)) | {n - 1})


def matrix_figure(m, *, labels, big=False, mask=None, targets=None, numbers=None, row_names=None,
                  col_names=None, signed=True, height=None):
    """An (r, c) tensor as cells (a vector as one row): colour by value, exact value on hover.

    mask: (r, c) bool, False cells crossed out (what ReLU cut); targets: (r,) column per row to outline
    (the label); numbers: write each value in its cell (None: when there are at most 10 columns).
    height: in px before ``base_layout``'s presentation scale; rows, their names and numbers shrink to fit it.
    """
    m = np.atleast_2d(np.asarray(m, dtype=np.float64))
    r, c = m.shape
    numbers = c <= 10 if numbers is None else numbers
    legend = mask is not None or targets is not None
    cell = 34 if big else 26
    height = height or min(60 + cell * r + (30 if legend else 0), 520)
    base = 20 if big else 14
    top, bottom = int(base * 1.5), int(base * 1.3 + 18) if legend else 6  # the column names above, the legend below
    # the px a row gets once the top axis's labels and the legend have theirs: names and numbers fit it
    pitch = (drawn_height(height, big) - top - bottom) / r
    lim = float(np.max(np.abs(m))) or 1.0  # unsigned tensors are probabilities: drawn on [0, 1]
    xs = col_names or list(range(c))
    ys = row_names or list(range(r))
    text = [[_cell_text(v, signed) for v in row] for row in m] if numbers else None
    # numbers fit their cells: a cell is about 600 px / c wide on a projector (420 at a desk), a row ``pitch`` tall
    longest = max((len(t) for row in text for t in row), default=1) if numbers else 1
    number_size = max(9, min(15 if big else 11, int(pitch * 0.62), int((600 if big else 420) / c / (0.58 * longest))))
    heat = go.Heatmap(
        z=m, x=xs, y=ys, colorscale=DIVERGING if signed else "Blues",
        zmin=-lim if signed else 0, zmax=lim if signed else 1.0, xgap=1, ygap=1, colorbar=dict(thickness=10, len=0.9), showscale=r > 1,
        text=text, texttemplate="%{text}" if numbers else None, textfont=dict(size=number_size),
        hovertemplate=labels["hover_cell"],
    )
    fig = go.Figure(heat)
    if mask is not None:
        cut = np.argwhere(~np.atleast_2d(mask))
        fig.add_trace(go.Scatter(x=[xs[j] for _, j in cut], y=[ys[i] for i, _ in cut], mode="markers",
                                 marker=dict(symbol="x-thin", size=10 if big else 7, line=dict(width=2, color=MUTED)),
                                 name=labels["cut"], hoverinfo="skip", showlegend=True))
    if targets is not None:
        box = min(30 if big else 24, pitch - 1)  # inside its row: a label's before and after stay two boxes
        fig.add_trace(go.Scatter(x=[xs[int(j)] for j in targets], y=ys[:len(targets)], mode="markers",
                                 marker=dict(symbol="square-open", size=box, line=dict(width=3 if box > 20 else 2, color=ACTIVE)),
                                 name=labels["target"], hoverinfo="skip", showlegend=True))
    fig = base_layout(fig, big=big, height=height)
    fig.update_layout(margin=dict(l=40, r=10, t=top, b=bottom), legend=dict(orientation="h", y=0, yanchor="top"))
    x_ticks = dict(type="category") if col_names else dict(type="linear", tickmode="array", tickvals=_ticks(c, 5),
                                                           ticklabeloverflow="allow")
    rows_named = _ticks(r, 10)
    spacing = pitch * min((b - a for a, b in zip(rows_named, rows_named[1:])), default=1)  # px between row names
    y_ticks = dict(tickmode="array", tickvals=[ys[i] for i in rows_named], ticklabeloverflow="allow", tickfont=dict(size=max(9, min(base, int(spacing * 0.8)))))
    return _fixed_axes(fig, x=dict(side="top", **x_ticks), y=dict(title=labels.get("rows"), **y_ticks))


def _tiny_edges(graph):
    """(source node, target node, weight leaf or None, multiply node or None) of the drawing: multiplies
    folded into weight edges."""
    edges = []
    for name in graph.order:
        node = graph.nodes[name]
        if node.op == "sum":
            for term in node.inputs:
                if graph.nodes[term].op == "mul":
                    src, weight = graph.nodes[term].inputs
                    edges.append((src, name, weight, term))
        elif node.op in ("max0", "softmax_loss"):
            edges += [(src, name, None, None) for src in node.inputs]
    return edges


# The tiny drawing is laid out in px of a TINY_WIDTH x TINY_HEIGHT plot (its axes' ranges): the size it has
# on a 1280 px screen (a wider one only spreads it out; a phone scrolls it inside its box).
TINY_WIDTH, TINY_HEIGHT = 760, 350
_LANES = tuple(30.0 + 58.0 * i for i in range(6))  # six horizontal lanes per layer, one per weight


def tiny_positions(graph):
    """Node -> (x, y) in px of the drawing (y down): inputs, the three hidden sums and ReLUs, the two scores, the loss.

    Each weight has a lane of its own (``tiny_lanes``): a unit's inputs arrive on lanes beside it.
    """
    pos = {"x1": (88.0, 115.0), "x2": (88.0, 235.0)}
    for j in (1, 2, 3):
        pos[f"a1_{j}"] = (256.0, (_LANES[2 * j - 2] + _LANES[2 * j - 1]) / 2)
        pos[f"z1_{j}"] = (364.0, pos[f"a1_{j}"][1])
    for k in (1, 2):
        pos[f"a2_{k}"] = (606.0, _LANES[3 * k - 2])
    pos["L"] = (684.0, (pos["a2_1"][1] + pos["a2_2"][1]) / 2)
    return pos


def tiny_lanes(graph):
    """Weight leaf -> (y, x where the lane starts, x where it ends): W1 on lanes from x 134 to 220, W2 from 490 to
    576, ordered by the unit they feed (that unit's inputs side by side)."""
    lanes = {}
    for layer, units, inputs, (x0, x1) in ((1, 3, 2, (134.0, 220.0)), (2, 2, 3, (490.0, 576.0))):
        for j in range(1, units + 1):
            for i in range(1, inputs + 1):
                lanes[f"W{layer}_{i}{j}"] = (_LANES[(j - 1) * inputs + i - 1], x0, x1)
    return lanes


def _words(text, size, x, y, xanchor, yanchor, colour=INK, hover=None, bg=True):
    out = dict(x=x, y=y, xref="x", yref="y", showarrow=False, xanchor=xanchor, yanchor=yanchor, text=text,
               font=dict(size=size, color=colour))
    if bg:
        out["bgcolor"] = "rgba(255,255,255,0.85)"
    if hover:
        out["hovertext"] = hover
    return out


def _arrow(a, b, *, hot, colour, head_gap, tail_gap=0):
    return dict(x=b[0], y=b[1], ax=a[0], ay=a[1], xref="x", yref="y", axref="x", ayref="y", text="", showarrow=True,
                arrowhead=2, arrowwidth=3 if hot else 1.5, standoff=head_gap, startstandoff=tail_gap,
                arrowcolor=colour if hot else INK)


def _hover(name, value, grad):
    """The exact value (and gradient, once known) of ``name``, for its hover text."""
    return f"{name} = {value!r}" + (f"<br>∂L/∂{name} = {grad!r}" if grad is not None else "")


def _value_and_grad(value, grad, size, x, y, *, hover_name=None, prefix=""):
    """A value above the point and a gradient below it, as on the shopping graph's edges (muted while "?")."""
    hover = _hover(hover_name, value, grad) if hover_name else None
    return [_words(fmt(value, 3), size, x, y - 2, "center", "bottom", FORWARD if value is not None else MUTED, hover),
            _words(prefix + fmt(grad, 3), size, x, y + 2, "center", "top", BACKWARD if grad is not None else MUTED, hover)]


def tiny_figure(graph, state, *, active=(), labels, big=False, height=None):
    """The 2-3-2 net as a scalar graph: every weight W a lane of its own with a small × for the multiply node
    it is, W's value above the lane and ∂L/∂W below it; + nodes add the products and the bias (arriving from
    above or below), max0 is ReLU, and a value used by several units (x, z1) sums its paths (Σ).

    state: a ``State`` of ``graph.states()``; active: the nodes the current step ran (highlighted).
    """
    pos, lanes = tiny_positions(graph), tiny_lanes(graph)
    size, radius = (15, 22) if big else (13, 19)
    hot_colour = FORWARD if state.phase == "forward" else BACKWARD
    ops = [n for n in graph.order if graph.nodes[n].op in ("sum", "max0", "softmax_loss")]
    wires = {True: ([], []), False: ([], [])}  # hot? -> the xs and ys of its lines (None between them)
    annotations, marks = [], {"x": [], "y": [], "text": []}

    def line(points, hot):
        xs, ys = wires[hot]
        xs += [p[0] for p in points] + [None]
        ys += [p[1] for p in points] + [None]

    # where a value's wires fan out to their lanes: an input's point, the end of a ReLU's short output edge
    fan_from = {**{f"x{i}": pos[f"x{i}"] for i in (1, 2)}, **{f"z1_{j}": (446.0, pos[f"z1_{j}"][1]) for j in (1, 2, 3)}}
    for src, dst, weight, product in _tiny_edges(graph):
        hot = dst in active or product in active
        if weight is None:  # into a ReLU or the loss: a plain arrow with its value and gradient
            grad = state.edge_grads.get((dst, graph.nodes[dst].inputs.index(src)))
            annotations.append(_arrow(pos[src], pos[dst], hot=hot, colour=hot_colour, head_gap=radius + 2,
                                      tail_gap=radius))
            (x0, y0), (x1, y1) = pos[src], pos[dst]
            if graph.nodes[dst].op == "max0":
                annotations += _value_and_grad(state.values.get(src), grad, size, (x0 + x1) / 2, y0,
                                               hover_name=labels.get(src, src))
            else:  # a score into the loss: beside its sloping edge, on the side away from the other score's
                x, y = x0 + 0.4 * (x1 - x0) + 4, y0 + 0.4 * (y1 - y0)
                value = state.values.get(src)
                annotations.append(_words(
                    f"<span style='color:{FORWARD if value is not None else MUTED}'>{fmt(value, 3)}</span><br>"
                    f"<span style='color:{BACKWARD if grad is not None else MUTED}'>{fmt(grad, 3)}</span>",
                    size - 1, x, y, "left", "bottom" if y1 > y0 else "top", bg=True))
            continue
        ly, lx0, lx1 = lanes[weight]
        line([fan_from[src], (lx0, ly), (lx1, ly)], hot)
        annotations.append(_arrow((lx1, ly), pos[dst], hot=hot, colour=hot_colour, head_gap=radius + 2))
        mx = lx0 + size * 0.7
        marks["x"].append(mx)
        marks["y"].append(ly)
        marks["text"].append(f"{product} = {src} × {weight}")
        annotations += _value_and_grad(state.values.get(weight), state.grads.get(weight), size,
                                       (mx + size * 0.6 + lx1) / 2, ly, hover_name=labels.get(weight, weight))
    for j in (1, 2, 3):  # the ReLU's output: a short edge, then its two wires
        name = f"z1_{j}"
        (x, y), end = pos[name], fan_from[name]
        line([(x + radius, y), end], any(f"m2_{j}{k}" in active for k in (1, 2)))
        grad = state.grads.get(name) if name in state.complete else None
        annotations += _value_and_grad(state.values.get(name), grad, size - 2, (x + radius + end[0]) / 2 + 2, y,
                                       hover_name=labels.get(name, name), prefix="Σ " if grad is not None else "")
    annotations += _tiny_names(graph, state, pos, size, radius, labels, hot_colour, active)
    lines = [dict(type="scatter", x=xs, y=ys, mode="lines", hoverinfo="skip", showlegend=False,
                  line=dict(color=hot_colour if hot else INK, width=3 if hot else 1.5))
             for hot, (xs, ys) in wires.items() if xs]
    nodes = go.Scatter(
        x=[pos[n][0] for n in ops], y=[pos[n][1] for n in ops], mode="markers+text",
        text=[graph.nodes[n].symbol for n in ops], textfont=dict(size=[radius if graph.nodes[n].op == "sum"
                                                                  else int(radius * 0.6) for n in ops]),
        marker=dict(size=2 * radius, color=[ACTIVE if n in active else "white" for n in ops],
                    line=dict(width=2, color=INK)), hoverinfo="text", showlegend=False, cliponaxis=False,
        hovertext=[labels.get(n, n) for n in ops])
    products = go.Scatter(x=marks["x"], y=marks["y"], mode="markers+text", text=["×"] * len(marks["x"]),
                          textfont=dict(size=size - 3, color=MUTED), marker=dict(size=size + 1, color="white",
                          line=dict(width=1, color=MUTED)), hovertext=marks["text"], hoverinfo="text", showlegend=False)
    fig = go.Figure([products, nodes, *lines])
    fig.update_layout(annotations=annotations)
    fig = base_layout(fig, big=big, height=height or (305 if big else 360))
    fig.update_layout(margin=dict(l=4, r=4, t=4, b=4), hovermode="closest")
    return _fixed_axes(fig, x=dict(visible=False, range=[0, TINY_WIDTH]), y=dict(visible=False, range=[TINY_HEIGHT, 0]))


def _tiny_names(graph, state, pos, size, radius, labels, hot_colour, active):
    """The inputs' names (value, Σ gradient) at the left, each bias arriving at its sum, the loss beside its node."""
    out = []
    for name in ("x1", "x2"):
        x, y = pos[name]
        grad = state.grads.get(name) if name in state.complete else None
        out.append(_words(f"{labels.get(name, name)} = <span style='color:{FORWARD}'>{fmt(state.values[name], 3)}</span>"
                          f"<br><span style='color:{BACKWARD if grad is not None else MUTED}'>Σ {fmt(grad, 3)}</span>",
                          size + 1, x - 6, y, "right", "middle", bg=False))
    for name in graph.order:
        node = graph.nodes[name]
        if node.op != "sum":
            continue
        bias, (x, y) = node.inputs[-1], pos[name]
        from_above = name not in ("a1_3", "a2_2")  # a layer's last unit takes its bias from below, where there is room
        start = (x, y - radius - 20) if from_above else (x, y + radius + 20)
        out.append(_arrow(start, (x, y), hot=name in active, colour=hot_colour, head_gap=radius + 1))
        value, grad = state.values.get(bias), state.grads.get(bias)
        text = (f"{labels.get(bias, bias)} <span style='color:{FORWARD}'>{fmt(value, 3)}</span> "
                f"<span style='color:{BACKWARD if grad is not None else MUTED}'>{fmt(grad, 3)}</span>")
        hover = _hover(labels.get(bias, bias), value, grad)
        out.append(_words(text, size - 1, x + 5, start[1], "left", "middle", hover=hover))  # beside the arrow's tail
    x, y = pos["L"]
    value = state.values.get("L")
    out.append(_words(f"<b>L</b><br><span style='color:{FORWARD if value is not None else MUTED}'>{fmt(value, 3)}</span>",
                      size, x + radius + 4, y, "left", "middle", bg=False))
    return out


PIPELINE = ("Affine1", "Relu1", "Affine2", "SoftmaxWithLoss")


def pipeline_boxes(big=False):
    """Layer -> (width, height) in px of its box in the strip: its name and a margin, the same height for all."""
    size = 17 if big else 13
    return {name: (text_px(name, size) + 18, 44 if big else 40) for name in PIPELINE}


def pipeline_figure(shapes, *, active=None, direction="start", labels, big=False):
    """The book's figure 5-25 as a strip: x -> Affine1 -> Relu1 -> Affine2 -> SoftmaxWithLoss -> L.

    shapes: the forward tensors' shapes on the edges, (x, a1, z1, a2, loss) as text, e.g. "(3, 784)";
    the gradients flowing back have the same shapes. active: the layer the step ran (highlighted in the
    colour of its direction). Boxes are sized in px to hold their names whole (``pipeline_boxes``) and
    placed at fixed x; each edge runs between two boxes' sides and its words sit over its middle.
    """
    size = 17 if big else 13
    hot = {"forward": FORWARD, "backward": BACKWARD}.get(direction, ACTIVE)
    boxes = pipeline_boxes(big)
    xs = [1.0, 3.0, 5.0, 7.2]
    fig = go.Figure()
    for name, x in zip(PIPELINE, xs):
        w, h = boxes[name]
        fig.add_shape(type="rect", xref="x", yref="y", xsizemode="pixel", ysizemode="pixel", xanchor=x, yanchor=0,
                      x0=-w / 2, x1=w / 2, y0=-h / 2, y1=h / 2, fillcolor=ACTIVE if name == active else "white",
                      line=dict(width=4 if name == active else 1.5, color=hot if name == active else INK), layer="below")
        fig.add_annotation(x=x, y=0, text=name, showarrow=False, font=dict(size=size, color=INK))
    names = ("x", "a1", "z1", "a2", "L")
    starts = [(-0.6, 0.0), *((x, boxes[n][0] / 2) for n, x in zip(PIPELINE, xs))]  # (x, px from x to the side)
    ends = [*((x, boxes[n][0] / 2) for n, x in zip(PIPELINE, xs)), (xs[-1] + 2.0, 0.0)]
    for name, shape, (x0, gap0), (x1, gap1) in zip(names, shapes, starts, ends):
        fig.add_annotation(x=x1, y=0, ax=x0, ay=0, xref="x", yref="y", axref="x", ayref="y", text="", showarrow=True,
                           arrowhead=2, arrowwidth=1.5, arrowcolor=INK, standoff=gap1 + 2, startstandoff=gap0 + 2)
        # over the middle of the visible edge: between the two sides, not the two centres
        middle = dict(x=(x0 + x1) / 2, xshift=(gap0 - gap1) / 2, y=0, showarrow=False)
        fig.add_annotation(**middle, text=f"{name} <span style='color:{MUTED}'>{shape}</span>", yanchor="bottom",
                           yshift=5, font=dict(size=size - 1, color=FORWARD))
        fig.add_annotation(**middle, text=labels["grad_of"].format(name=name), yanchor="top", yshift=-5,
                           font=dict(size=size - 2, color=BACKWARD))
    fig = base_layout(fig, big=big, height=56 if big else 76)
    fig.update_layout(margin=dict(l=5, r=5, t=2, b=2))
    fig.update_xaxes(visible=False, range=[-0.7, xs[-1] + 2.1], fixedrange=True)
    fig.update_yaxes(visible=False, range=[-1, 1], fixedrange=True)
    return fig.update_layout(dragmode=False)
