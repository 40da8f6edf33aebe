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
from .style import ACTIVE, BACKWARD, DIVERGING, FORWARD, MUTED, base_layout

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


def matrix_figure(m, *, labels, big=False, mask=None, targets=None, numbers=None, row_names=None,
                  col_names=None, signed=True, height=None):
    """An (r, c) tensor as cells (a vector as one row): colour by value, exact value on hover.

    mask: (r, c) bool, False cells crossed out (what ReLU cut); targets: (r,) column per row to outline
    (the label); numbers: write each value in its cell (None: when there are at most 10 columns).
    """
    m = np.atleast_2d(np.asarray(m, dtype=np.float64))
    r, c = m.shape
    numbers = c <= 10 if numbers is None else numbers
    lim = float(np.max(np.abs(m))) or 1.0  # unsigned tensors are probabilities: drawn on [0, 1]
    heat = go.Heatmap(
        z=m, x=col_names or list(range(c)), y=row_names or list(range(r)), colorscale=DIVERGING if signed else "Blues",
        zmin=-lim if signed else 0, zmax=lim if signed else 1.0, xgap=1, ygap=1, colorbar=dict(thickness=10, len=0.9), showscale=r > 1,
        text=[[_cell_text(v, signed) for v in row] for row in m] if numbers else None,
        texttemplate="%{text}" if numbers else None, textfont=dict(size=15 if big else 11),
        hovertemplate=labels["hover_cell"],
    )
    fig = go.Figure(heat)
    xs = col_names or list(range(c))
    ys = row_names or list(range(r))
    if mask is not None:
        cut = np.argwhere(~np.atleast_2d(mask))
        fig.add_trace(go.Scatter(x=[xs[j] for _, j in cut], y=[ys[i] for i, _ in cut], mode="markers",
                                 marker=dict(symbol="x-thin", size=10 if big else 7, line=dict(width=2, color=MUTED)),
                                 name=labels["cut"], hoverinfo="skip", showlegend=True))
    if targets is not None:
        fig.add_trace(go.Scatter(x=[xs[int(j)] for j in targets], y=ys[:len(targets)], mode="markers",
                                 marker=dict(symbol="square-open", size=30 if big else 24, line=dict(width=3, color=ACTIVE)),
                                 name=labels["target"], hoverinfo="skip", showlegend=True))
    cell = 34 if big else 26
    fig = base_layout(fig, big=big, height=height or min(60 + cell * r + (30 if mask is not None or targets is not None else 0), 520))
    fig.update_layout(margin=dict(l=40, r=10, t=10, b=30), legend=dict(orientation="h", y=-0.02, yanchor="top"))
    return _fixed_axes(fig, x=dict(type="category" if col_names else "linear", dtick=1 if c <= 10 else 5,
                                   side="top"), y=dict(dtick=1 if r <= 10 else 10, title=labels.get("rows")))


def _tiny_edges(graph):
    """(source node, target node, weight leaf or None) of the drawing: multiplies folded into weight edges."""
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


def tiny_positions(graph):
    """Node -> (x, y) in the drawing: inputs, the three hidden sums and ReLUs, the two scores, the loss."""
    pos = {"x1": (0.0, 0.5), "x2": (0.0, 3.5)}
    for j in (1, 2, 3):
        pos[f"a1_{j}"] = (1.6, 2.0 * (j - 1))
        pos[f"z1_{j}"] = (2.6, 2.0 * (j - 1))
    for k in (1, 2):
        pos[f"a2_{k}"] = (4.2, 1.0 + 2.0 * (k - 1))
    pos["L"] = (5.2, 2.0)
    return pos


def tiny_figure(graph, state, *, active=(), labels, big=False, height=None):
    """The 2-3-2 net as a scalar graph: every weight W an edge (its value above, ∂L/∂W below), a small × on it
    for the multiply node it is; + nodes add the products and the bias (written under the node), max0 is ReLU.

    state: a ``State`` of ``graph.states()``; active: the nodes the current step ran (highlighted).
    """
    pos, size = tiny_positions(graph), (18 if big else 13)
    radius = 26 if big else 20
    annotations, marks = [], {"x": [], "y": [], "text": []}
    hot = FORWARD if state.phase == "forward" else BACKWARD
    for src, dst, weight, product in _tiny_edges(graph):
        (x0, y0), (x1, y1) = pos[src], pos[dst]
        is_hot = dst in active or product in active
        annotations.append(dict(x=x1, y=y1, ax=x0, ay=y0, xref="x", yref="y", axref="x", ayref="y", text="",
                                showarrow=True, arrowhead=2, arrowwidth=3 if is_hot else 1.5, standoff=radius + 2,
                                startstandoff=radius if graph.nodes[src].op != "input" else 12,
                                arrowcolor=hot if is_hot else INK))
        name = weight or src  # a weight edge shows the weight; a plain edge the value flowing on it
        # Weights sit near their source, where the wires fanning out of it are well apart.
        t = 0.3 if weight else 0.5
        lx, ly = x0 + t * (x1 - x0), y0 + t * (y1 - y0)
        if weight:
            marks["x"].append(lx)
            marks["y"].append(ly)
            marks["text"].append(f"{product} = {src} × {weight}")
        grad = state.grads.get(name) if weight else state.edge_grads.get((dst, graph.nodes[dst].inputs.index(src)))
        value = state.values.get(name)
        text = (f"<span style='color:{FORWARD if value is not None else MUTED}'>{fmt(value, 3)}</span> "
                f"<span style='color:{BACKWARD if grad is not None else MUTED}'>{fmt(grad, 3)}</span>")
        hover = f"{labels.get(name, name)} = {value!r}" + (f"<br>∂L/∂{labels.get(name, name)} = {grad!r}" if grad is not None else "")
        if weight:  # one line beside the × of its multiply node: wires that fan out are close together
            annotations.append(dict(x=lx, y=ly, xref="x", yref="y", showarrow=False, xanchor="left", xshift=size * 0.7,
                                    text=text, font=dict(size=size), bgcolor="rgba(255,255,255,0.85)", hovertext=hover))
            continue
        for value_text, anchor, shift in ((fmt(value, 3), "bottom", 6), (fmt(grad, 3), "top", -6)):
            colour = (FORWARD if anchor == "bottom" else BACKWARD) if value_text != "?" else MUTED
            annotations.append(dict(x=lx, y=ly, xref="x", yref="y", showarrow=False, yanchor=anchor, yshift=shift,
                                    text=value_text, font=dict(size=size, color=colour),
                                    bgcolor="rgba(255,255,255,0.8)", hovertext=hover))
    annotations += _tiny_names(graph, state, pos, size, labels)
    trace_ops = [n for n in graph.order if graph.nodes[n].op in ("sum", "max0", "softmax_loss")]
    nodes = go.Scatter(
        x=[pos[n][0] for n in trace_ops], y=[pos[n][1] for n in trace_ops], mode="markers+text",
        text=[graph.nodes[n].symbol for n in trace_ops], textfont=dict(size=[radius if graph.nodes[n].op == "sum"
                                                                        else int(radius * 0.6) for n in trace_ops]),
        marker=dict(size=2 * radius, color=[ACTIVE if n in active else "white" for n in trace_ops],
                    line=dict(width=2, color=INK)), hoverinfo="text", showlegend=False, cliponaxis=False,
        hovertext=[labels.get(n, n) for n in trace_ops])
    products = go.Scatter(x=marks["x"], y=marks["y"], mode="markers+text", text=["×"] * len(marks["x"]),
                          textfont=dict(size=size - 2, color=MUTED), marker=dict(size=size + 2, color="white",
                          line=dict(width=1, color=MUTED)), hovertext=marks["text"], hoverinfo="text", showlegend=False)
    fig = go.Figure([products, nodes])
    fig.update_layout(annotations=annotations)
    fig = base_layout(fig, big=big, height=height or (390 if big else 400))
    fig.update_layout(margin=dict(l=10, r=10, t=10, b=10), hovermode="closest")
    return _fixed_axes(fig, x=dict(visible=False, range=[-0.7, 6.0]), y=dict(visible=False, range=[4.7, -0.6]))


def _tiny_names(graph, state, pos, size, labels):
    """Input names with value and Σ gradient, each node's bias or value under it, the loss's name."""
    out = []
    for name in ("x1", "x2"):
        x, y = pos[name]
        grad = state.grads.get(name) if name in state.complete else None
        out.append(dict(x=x, y=y, xref="x", yref="y", showarrow=False, xanchor="right", font=dict(size=size + 2),
                        text=f"{labels.get(name, name)} = <span style='color:{FORWARD}'>{fmt(state.values[name], 3)}</span>"
                             f"<br><span style='color:{BACKWARD if grad is not None else MUTED}'>Σ {fmt(grad, 3)}</span>"))
    for name in graph.order:
        node = graph.nodes[name]
        if node.op != "sum" and node.op != "max0":
            continue
        x, y = pos[name]
        if node.op == "sum":
            bias = node.inputs[-1]
            text = (f"{labels.get(bias, bias)} <span style='color:{FORWARD}'>{fmt(state.values.get(bias), 3)}</span>"
                    f" <span style='color:{BACKWARD if bias in state.grads else MUTED}'>{fmt(state.grads.get(bias), 3)}</span>")
        else:
            text = (f"<span style='color:{FORWARD if name in state.values else MUTED}'>{fmt(state.values.get(name), 3)}</span>"
                    f" <span style='color:{BACKWARD if name in state.grads else MUTED}'>{fmt(state.grads.get(name), 3)}</span>")
        # under the node, except the first output score's bias and ReLU's output: above, clear of the wires
        above = name == "a2_1" or node.op == "max0"
        out.append(dict(x=x, y=y, xref="x", yref="y", showarrow=False, yanchor="bottom" if above else "top",
                        yshift=size * 1.9 if above else -size * 1.9, xanchor="left" if name.startswith("a2") else "center",
                        text=text, font=dict(size=size - 1, color=INK)))
    x, y = pos["L"]
    value = state.values.get("L")
    out.append(dict(x=x, y=y, xref="x", yref="y", showarrow=False, xanchor="left", xshift=size * 1.6,
                    text=f"<b>L</b><br><span style='color:{FORWARD if value is not None else MUTED}'>{fmt(value, 3)}</span>",
                    font=dict(size=size + 1)))
    return out


PIPELINE = ("Affine1", "Relu1", "Affine2", "SoftmaxWithLoss")


def pipeline_figure(shapes, *, active=None, direction="start", labels, big=False):
    """The book's figure 5-25 as a strip: x -> Affine1 -> Relu1 -> Affine2 -> SoftmaxWithLoss -> L.

    shapes: the forward tensors' shapes on the edges, (x, a1, z1, a2, loss) as text, e.g. "(3, 784)";
    the gradients flowing back have the same shapes. active: the layer the step ran (highlighted in the
    colour of its direction).
    """
    size = 17 if big else 13
    hot = {"forward": FORWARD, "backward": BACKWARD}.get(direction, ACTIVE)
    xs = [1.0 + 2.0 * i for i in range(len(PIPELINE))]
    fig = go.Figure(go.Scatter(
        x=xs, y=[0] * len(xs), mode="markers+text", text=list(PIPELINE), textfont=dict(size=size, color=INK),
        marker=dict(symbol="square", size=[size * 5.2 if name == "SoftmaxWithLoss" else size * 4 for name in PIPELINE],
                    color=[ACTIVE if name == active else "white" for name in PIPELINE],
                    line=dict(width=[4 if name == active else 1.5 for name in PIPELINE],
                              color=[hot if name == active else INK for name in PIPELINE])),
        hoverinfo="skip", showlegend=False, cliponaxis=False))
    ends = [-0.6, *xs, xs[-1] + 1.9]
    names = ("x", "a1", "z1", "a2", "L")
    for i, (name, shape) in enumerate(zip(names, shapes)):
        x0, x1 = ends[i] + (0.75 if i else 0), ends[i + 1] - (0.95 if i + 1 == len(PIPELINE) else 0.72)
        if i == len(names) - 1:
            x0, x1 = xs[-1] + 1.05, ends[-1]
        fig.add_annotation(x=x1, y=0, ax=x0, ay=0, xref="x", yref="y", axref="x", ayref="y", text="", showarrow=True,
                           arrowhead=2, arrowwidth=1.5, arrowcolor=INK)
        fig.add_annotation(x=(x0 + x1) / 2, y=0, text=f"{name} <span style='color:{MUTED}'>{shape}</span>",
                           showarrow=False, yanchor="bottom", yshift=6, font=dict(size=size - 1, color=FORWARD))
        fig.add_annotation(x=(x0 + x1) / 2, y=0, text=labels["grad_of"].format(name=name), showarrow=False,
                           yanchor="top", yshift=-6, font=dict(size=size - 2, color=BACKWARD))
    fig = base_layout(fig, big=big, height=62 if big else 80)
    fig.update_layout(margin=dict(l=5, r=5, t=5, b=5))
    fig.update_xaxes(visible=False, range=[-0.7, xs[-1] + 2.0], fixedrange=True)
    fig.update_yaxes(visible=False, range=[-1, 1], fixedrange=True)
    return fig.update_layout(dragmode=False)
