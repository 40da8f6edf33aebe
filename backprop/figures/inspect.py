"""Figures for inspecting a trained network: first-layer weights, predictions, confusion matrix, digits.

Pure functions: arrays in, a Plotly figure out. Images are uint8 (28, 28), 0 = paper, 255 = ink,
drawn dark on light as on paper.
"""
import functools

import numpy as np
import plotly.graph_objects as go

from ..inspect import tile_images, top_k
from .style import BAD, DIVERGING, FORWARD, GOOD, MUTED, base_layout

INK = [[0.0, "#ffffff"], [1.0, "#111111"]]  # 0 = paper (white), 255 = ink (near black)
# Rises fast near 0 so that a 2 % confusion is visible beside a 98 % diagonal.
SHARE = [[0.0, "#ffffff"], [0.03, "#dbe9f6"], [0.15, "#9ecae1"], [0.5, "#4292c6"], [1.0, "#08306b"]]


def percent(p):
    """A probability as short text: "<1%", "37%", ">99%" (a rounded "100%" would claim certainty)."""
    if p < 0.005:
        return "<1%"
    if p > 0.995:
        return ">99%"
    return f"{p:.0%}"


def paper_image(image, scale=3):
    """A uint8 (28, 28) image as a (28*scale, 28*scale) uint8 thumbnail, dark ink on white, crisp pixels."""
    image = np.asarray(image, dtype=np.uint8).reshape(28, 28)
    return 255 - np.repeat(np.repeat(image, scale, axis=0), scale, axis=1)


def _image_axes(fig, row=None, col=None, x_anchor="x"):
    """Square pixels, row 0 at the top, no ticks. ``x_anchor``: the x axis paired with this y axis."""
    kw = {} if row is None else {"row": row, "col": col}
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False, ticks="", constrain="domain", **kw)
    fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False, ticks="", autorange="reversed",
                     scaleanchor=x_anchor, constrain="domain", **kw)


@functools.lru_cache(maxsize=16)
def _hover_index(n, h, w, n_cols):
    """(rows, cols, 3) unit number, pixel row and column of every cell of a mosaic from tile_images (gap 2).

    Small integers, as Plotly sends them as one byte (two beyond 255 units) each: 50 tiles are 0.3 MB
    for the browser, not the 2 MB of float64 everything; the same for every mosaic of this layout.
    """
    index = np.uint8 if n < 256 else np.uint16
    label = lambda a: tile_images(a, n_cols, gap=2, fill=0, dtype=index)  # noqa: E731 - the values' layout
    out = np.dstack([label(np.broadcast_to(np.arange(1, n + 1)[:, None, None], (n, h, w))),
                     label(np.broadcast_to(np.arange(h)[:, None], (n, h, w))),
                     label(np.broadcast_to(np.arange(w)[None, :], (n, h, w)))])
    out.flags.writeable = False
    return out


def weights_figure(weights, *, labels, n_cols=10, tile_px=None, big=False, title=None):
    """Hidden units' incoming weights (n, 28, 28) as one mosaic of heatmaps; blue < 0 < red, symmetric range.

    One colour scale for all units, zmin = -zmax, with zmax the 99.5th percentile of |w| so that one
    outlier does not wash out every other unit (hovering shows the exact weight). The figure gets a
    fixed size, ``tile_px`` screen pixels per unit, so the tiles are square with no padding around them.
    labels: dict with "unit" and "pixel" (words of the hover text).
    """
    weights = np.asarray(weights, dtype=np.float32)  # Plotly sends arrays as binary: 4 bytes a weight
    n, h, w = weights.shape
    n_cols = max(1, min(n_cols, n))
    n_rows = -(-n // n_cols)
    zmax = float(np.percentile(np.abs(weights), 99.5)) or float(np.max(np.abs(weights))) or 1.0
    fig = go.Figure(go.Heatmap(
        z=tile_images(weights, n_cols, gap=2, dtype=np.float32), zmin=-zmax, zmax=zmax, zmid=0,
        colorscale=DIVERGING, customdata=_hover_index(n, h, w, n_cols),
        hovertemplate=labels["unit"] + " %{customdata[0]:.0f}, " + labels["pixel"]
                      + " (%{customdata[1]:.0f}, %{customdata[2]:.0f})<br>w = %{z:.3f}<extra></extra>",
        colorbar=dict(thickness=14, title=dict(text="w", side="top")), hoverongaps=False,
    ))
    _image_axes(fig)
    base_layout(fig, big=big, title=title)
    tile_px = tile_px or (88 if big else 68)
    top = 50 if title else 10
    fig.update_layout(width=n_cols * tile_px + 100, height=n_rows * tile_px + top + 10,
                      margin=dict(l=10, r=10, t=top, b=10), plot_bgcolor="#ffffff")
    return fig


def _bar_colours(classes, true_class, predicted):
    colours = []
    for c in classes:
        if true_class is None:
            colours.append(FORWARD if c == predicted else MUTED)
        elif c == true_class:
            colours.append(GOOD)
        elif c == predicted:
            colours.append(BAD)
        else:
            colours.append(MUTED)
    return colours


def probability_figure(p, class_names, *, true_class=None, big=False, title=None, height=360):
    """Every class's probability as a horizontal bar, class 0 on top.

    With ``true_class``: the true class is green and a wrong top answer red; without it the top answer is blue.
    """
    p = np.asarray(p, dtype=np.float64)
    classes = np.arange(len(p))
    predicted = int(np.argmax(p))
    # The true class's name in bold, so it can be found even when its bar is too short to see.
    names = [f"<b>{class_names[c]}</b>" if c == true_class else class_names[c] for c in classes]
    fig = go.Figure(go.Bar(
        x=p, y=names, orientation="h",
        marker_color=_bar_colours(classes, true_class, predicted),
        text=[percent(v) if v >= 0.005 else "" for v in p], textposition="outside", cliponaxis=False,
        hovertemplate="%{y}: %{x:.1%}<extra></extra>",
    ))
    fig.update_xaxes(range=[0, 1.3], tickformat=".0%", tickvals=[0, 0.5, 1], showgrid=True)
    fig.update_yaxes(autorange="reversed", type="category")
    base_layout(fig, big=big, height=height, title=title)
    return fig


def digit_figure(image, *, labels, big=False, title=None, size=240):
    """One 28x28 uint8 image as a square heatmap ``size`` px wide, ink dark; hovering shows each pixel.

    labels: dict with "pixel".
    """
    image = np.asarray(image)
    fig = go.Figure(go.Heatmap(z=image, zmin=0, zmax=255, colorscale=INK, showscale=False,
                               hovertemplate=labels["pixel"] + " (%{y}, %{x}) = %{z}<extra></extra>"))
    _image_axes(fig)
    base_layout(fig, big=big, title=title)
    side = int(size * (1.25 if big else 1))
    top = 50 if title else 4
    fig.update_layout(width=side, height=side + top - 4, margin=dict(l=4, r=4, t=top, b=4),
                      plot_bgcolor="#ffffff")
    # A thin frame shows where the 28x28 field ends: MNIST's digits float in 4 px of blank border.
    fig.add_shape(type="rect", x0=-0.5, x1=27.5, y0=-0.5, y1=27.5, line=dict(color=MUTED, width=1))
    return fig


def prediction_strip_figure(images, labels, proba, class_names, indices, *, k=3, big=False):
    """A row of test images, each above a bar chart of its top-k probabilities.

    images : (N, 28, 28) uint8; labels : (N,); proba : (N, C); indices : which images to show, in order.
    The true class's bar is green; a wrong top answer's bar is red. Column titles: "#index · true class".
    Built as one layout dict (axes placed by hand): make_subplots and per-axis updates cost 10x more.
    """
    indices = list(indices)
    n = max(len(indices), 1)
    size = 18 if big else 13
    traces, annotations, layout = [], [], {}
    for c, i in enumerate(indices):
        left, right = c / n + 0.012, (c + 1) / n - 0.012
        img, bar = 2 * c + 1, 2 * c + 2  # axis numbers: "x1"/"y1" are written "x"/"y"
        ax = lambda kind, num: kind if num == 1 else f"{kind}{num}"  # noqa: E731
        traces.append(go.Heatmap(z=np.asarray(images[i]).reshape(28, 28), zmin=0, zmax=255, colorscale=INK,
                                 showscale=False, hoverinfo="skip", xaxis=ax("x", img), yaxis=ax("y", img)))
        classes, probs = top_k(proba[i], k)
        names = [class_names[j] for j in classes]
        traces.append(go.Bar(
            x=probs, y=np.arange(len(classes)), orientation="h", width=0.38, xaxis=ax("x", bar), yaxis=ax("y", bar),
            marker_color=_bar_colours(classes, int(labels[i]), int(classes[0])), customdata=names,
            hovertemplate="%{customdata}: %{x:.1%}<extra></extra>",
        ))
        hidden = dict(showticklabels=False, showgrid=False, zeroline=False, ticks="")
        layout[ax("xaxis", img)] = dict(domain=[left, right], constrain="domain", **hidden)
        layout[ax("yaxis", img)] = dict(domain=[0.5, 0.9], autorange="reversed", scaleanchor=ax("x", img),
                                       constrain="domain", **hidden)
        layout[ax("xaxis", bar)] = dict(domain=[left, right], range=[0, 1], showticklabels=False, showgrid=False,
                                       zeroline=True, zerolinecolor=MUTED)
        layout[ax("yaxis", bar)] = dict(domain=[0, 0.46], range=[len(classes) - 0.5, -0.85], **hidden)
        annotations.append(dict(text=f"#{i} · {class_names[int(labels[i])]}", x=(left + right) / 2, y=1,
                                xref="paper", yref="paper", xanchor="center", yanchor="top", showarrow=False,
                                font=dict(size=size)))
        # Labels above the bars rather than beside them: class names such as "Ankle boot" fit any width.
        for j, (name, v) in enumerate(zip(names, probs)):
            annotations.append(dict(text=f"{name} · {percent(v)}", x=0, y=j - 0.22, xref=f"{ax('x', bar)} domain",
                                    yref=ax("y", bar), xanchor="left", yanchor="bottom", showarrow=False,
                                    font=dict(size=size, color="#24292f" if j == 0 else "#57606a")))
    fig = go.Figure(data=traces, layout=dict(layout, annotations=annotations))
    base_layout(fig, big=big, height=330)
    fig.update_layout(showlegend=False, plot_bgcolor="#ffffff", margin=dict(l=10, r=10, t=10, b=10))
    return fig


def confusion_figure(confusion, class_names, *, labels, title=None, big=False):
    """The (C, C) confusion matrix: counts as text; colour = share of the row's images (true class).

    Rows are true classes (0 at the top), columns predicted classes; the diagonal is the correct answers.
    labels: dict with "true", "predicted", "share" (the colour bar) and "hover", a Plotly hover template
    (%{y} true class, %{x} predicted, %{text} count, %{z} share of the row).
    """
    confusion = np.asarray(confusion)
    totals = confusion.sum(axis=1, keepdims=True)
    share = confusion / np.maximum(totals, 1)
    names = list(class_names)
    fig = go.Figure(go.Heatmap(
        z=share, x=names, y=names, zmin=0, zmax=1, colorscale=SHARE,
        text=confusion, texttemplate="%{text}", customdata=share,
        hovertemplate=labels["hover"] + "<extra></extra>",
        colorbar=dict(thickness=14, tickformat=".0%", title=dict(text=labels["share"], side="right")),
        xgap=1, ygap=1,
    ))
    fig.update_xaxes(title_text=labels["predicted"], type="category", tickangle=0 if max(map(len, names)) < 3 else -30)
    fig.update_yaxes(title_text=labels["true"], type="category", autorange="reversed")
    base_layout(fig, big=big, height=560 if big else 480, title=title)
    fig.update_layout(plot_bgcolor="#ffffff")
    return fig
