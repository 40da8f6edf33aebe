"""Figures of the live training page: loss, accuracy per epoch, update-to-weight ratios, runs overlaid.

Pure functions from history arrays (see backprop.live) to Plotly figures; labels come in as
arguments so that pages can pass translated text.
"""
import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .style import (ACTIVE, BACKWARD, FONT_FAMILY, FORWARD, GOOD, MUTED, SEQUENCE, base_layout, empty_figure,
                    plain_layout, unchecked_figure)

LN10 = math.log(10)
RATIO_BAND = (1e-4, 1e-2)


def _finite(a):
    """float64 with NaN where a value is not finite: the line breaks there. Plotly sends NumPy arrays
    as compact binary (NaN included), far cheaper to build and send than lists."""
    a = np.asarray(a, dtype=np.float64)
    return np.where(np.isfinite(a), a, np.nan)


def _raw_band(curve):
    """The raw loss as one line: each bucket's min then max (the plain values when a bucket is 1 value)."""
    if curve.bucket == 1:
        return curve.x, curve.mean
    x = np.repeat(curve.x, 2)
    y = np.column_stack([curve.lo, curve.hi]).ravel()
    return x, y


def _loss_top(curve):
    """Top of the loss axis: ln 10 with room, or the 99th percentile of the bucket maxima (one wild
    mini-batch should not flatten the whole curve)."""
    finite = curve.hi[np.isfinite(curve.hi)]
    return max(LN10 * 1.15, float(np.percentile(finite, 99)) * 1.05) if len(finite) else LN10 * 1.15


def _rule(line, *, x=None, y=None):
    """A line across the whole plot at iteration ``x`` or loss ``y``, as one plain shape (what add_vline and
    add_hline draw; those look at every subplot first)."""
    if x is not None:
        return dict(type="line", xref="x", yref="paper", x0=x, x1=x, y0=0, y1=1, line=line)
    return dict(type="line", xref="paper", yref="y", x0=0, x1=1, y0=y, y1=y, line=line)


def _legend_on_top():
    return dict(orientation="h", yanchor="bottom", y=1.0, xanchor="left", x=0)


def loss_figure(curve, *, labels, big=False, height=300, divergence=None, markers=()):
    """Mini-batch loss per iteration: raw values faint, the smoothed (EMA) line strong, ln 10 for reference.

    curve: a backprop.live.Curve; labels: dict with "x", "y", "raw", "smooth", "chance";
    divergence: (iteration, text) to mark where the loss became NaN or infinite;
    markers: [(iteration, text)] where a knob changed mid-run (e.g. "learning rate → 0.01").

    Built from plain dicts without Plotly's checks (``style.unchecked_figure``): every paused page draws
    it, and a hall pausing at once drew thirty (tests/test_unchecked_figures.py checks it as Plotly would).
    """
    if len(curve) == 0:
        return empty_figure(labels.get("empty", ""), big=big)
    rx, ry = _raw_band(curve)
    top = _loss_top(curve)
    data = [dict(type="scatter", x=rx, y=_finite(ry), mode="lines", name=labels["raw"],
                 line=dict(color=FORWARD, width=1), opacity=0.25, hoverinfo="skip"),
            dict(type="scatter", x=curve.x, y=_finite(curve.smooth), mode="lines", name=labels["smooth"],
                 line=dict(color=FORWARD, width=3), hovertemplate="%{x:,.0f}: %{y:.3f}<extra></extra>")]
    shapes = [_rule(dict(color=MUTED, dash="dot", width=1), y=LN10)]
    annotations = [dict(text=labels["chance"], xref="paper", x=1, y=LN10, xanchor="right", yanchor="bottom",
                        showarrow=False, font=dict(color=MUTED))]
    for i, (it, text) in enumerate(markers or ()):  # where a live knob changed: a dotted line and its label
        shapes.append(_rule(dict(color=ACTIVE, width=2, dash="dot"), x=it))
        annotations.append(dict(x=it, y=top * (0.97 - 0.09 * (i % 3)), text=text, showarrow=False, xanchor="left",
                                xshift=4, font=dict(color="#9a6700", size=18 if big else 13)))
    if divergence is not None:
        it, text = divergence
        shapes.append(_rule(dict(color=BACKWARD, width=2, dash="dash"), x=it))
        annotations.append(dict(x=it, y=top * 0.9, text=text, showarrow=False, xanchor="right",
                                font=dict(color=BACKWARD)))
    layout = dict(xaxis=dict(title=dict(text=labels["x"]), rangemode="tozero"),
                  yaxis=dict(title=dict(text=labels["y"]), range=[0, top], rangemode="tozero"),
                  shapes=shapes, annotations=annotations, legend=_legend_on_top())
    return unchecked_figure(data, plain_layout(layout, big=big, height=height))


def accuracy_figure(evals, *, labels, big=False, height=300):
    """Train and test accuracy at each evaluation; evals: (k, 4) iteration, epoch, train, test.

    labels: dict with "x", "y", "train", "test", "empty". Unchecked, as loss_figure.
    """
    evals = np.asarray(evals)
    if len(evals) == 0:
        return empty_figure(labels.get("empty", ""), big=big)
    mode = "lines+markers" if len(evals) <= 30 else "lines"
    data = [dict(type="scatter", x=evals[:, 1], y=evals[:, col], mode=mode, name=name,
                 line=dict(color=color, width=2.5), hovertemplate="%{x:.1f}: %{y:.1%}<extra>" + name + "</extra>")
            for col, name, color in ((2, labels["train"], FORWARD), (3, labels["test"], GOOD))]
    layout = dict(xaxis=dict(title=dict(text=labels["x"]), rangemode="tozero"),
                  yaxis=dict(title=dict(text=labels["y"]), range=[0, 1.02], tickformat=".0%"),
                  legend=_legend_on_top())
    return unchecked_figure(data, plain_layout(layout, big=big, height=height))


def ratio_figure(iterations, ratios, *, labels, big=False, height=260):
    """Update-to-weight ratio ||ΔW|| / ||W|| per layer over iterations, log scale, 1e-4..1e-2 shaded.

    ratios: (m, n_layers); labels: dict with "x", "y", "band", "empty".
    """
    ratios = np.asarray(ratios)
    if len(ratios) == 0:
        return empty_figure(labels.get("empty", ""), big=big)
    fig = go.Figure()
    fig.add_hrect(y0=RATIO_BAND[0], y1=RATIO_BAND[1], fillcolor=GOOD, opacity=0.08, line_width=0,
                  annotation_text=labels["band"], annotation_position="top left",
                  annotation_font_color=GOOD)
    for i in range(ratios.shape[1]):
        y = np.where(ratios[:, i] > 0, ratios[:, i], np.nan)
        fig.add_trace(go.Scatter(x=iterations, y=_finite(y), mode="lines", name=f"W{i + 1}",
                                 line=dict(color=SEQUENCE[i % len(SEQUENCE)], width=2)))
    fig.update_yaxes(title_text=labels["y"], type="log", exponentformat="power")
    fig.update_xaxes(title_text=labels["x"], rangemode="tozero")
    fig.update_layout(legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="left", x=0))
    return base_layout(fig, big=big, height=height)


def overlay_figure(runs, *, labels, big=False, height=340):
    """Several runs overlaid: smoothed loss per iteration (left) and test accuracy per epoch (right).

    runs: [(name, curve, evals), ...] oldest first; earlier runs are drawn fainter and thinner so
    the newest stands out. labels: dict with "loss", "accuracy", "iterations", "epochs", "empty".
    """
    if not runs:
        return empty_figure(labels.get("empty", ""), big=big)
    fig = make_subplots(rows=1, cols=2, subplot_titles=(labels["loss"], labels["accuracy"]),
                        horizontal_spacing=0.08)
    n = len(runs)
    top = LN10 * 1.1
    for i, (name, curve, evals) in enumerate(runs):
        fade = 0.35 + 0.65 * (i + 1) / n
        color = SEQUENCE[i % len(SEQUENCE)]
        width = 1.5 + 1.5 * (i + 1) / n
        group = f"run{i}"
        if len(curve):
            fig.add_trace(go.Scatter(x=curve.x, y=_finite(curve.smooth), mode="lines", name=name,
                                     legendgroup=group, opacity=fade, line=dict(color=color, width=width)),
                          row=1, col=1)
            finite = curve.smooth[np.isfinite(curve.smooth)]
            if len(finite):
                top = max(top, float(finite.max()) * 1.05)
        evals = np.asarray(evals)
        if len(evals):
            fig.add_trace(go.Scatter(x=evals[:, 1], y=evals[:, 3], mode="lines", name=name, legendgroup=group,
                                     showlegend=not len(curve), opacity=fade,
                                     line=dict(color=color, width=width),
                                     hovertemplate="%{x:.1f}: %{y:.1%}<extra>" + name + "</extra>"),
                          row=1, col=2)
    fig.update_yaxes(range=[0, min(top, 10.0)], row=1, col=1)
    fig.update_yaxes(range=[0, 1.02], tickformat=".0%", row=1, col=2)
    fig.update_xaxes(title_text=labels["iterations"], row=1, col=1, rangemode="tozero")
    fig.update_xaxes(title_text=labels["epochs"], row=1, col=2, rangemode="tozero")
    fig.update_layout(legend=dict(orientation="h", yanchor="top", y=-0.2, xanchor="left", x=0))
    base_layout(fig, big=big, height=height)
    fig.update_annotations(font_size=18 if big else 14)  # the subplot titles
    return fig


def _rounded(a, digits=5):
    """JSON-able list with None for gaps, to ``digits`` significant digits of its largest value (a
    smaller message). Rounded by NumPy, not value by value in Python: a live view sends about 4,000
    numbers a redraw, and formatting each one was a fifth of the redraw (py-spy, 30 sessions)."""
    a = np.asarray(a, dtype=np.float64)
    finite = np.isfinite(a)
    top = float(np.abs(a[finite]).max()) if finite.any() else 0.0
    decimals = max(0, digits - 1 - math.floor(math.log10(top))) if top > 0 else digits
    values = np.round(np.where(finite, a, 0.0), decimals).tolist()
    if finite.all():
        return values
    return [v if ok else None for v, ok in zip(values, finite.tolist())]


def live_curves_data(curve, evals, *, labels, big=False, markers=()):
    """What the live canvas chart (pages/components/live_curves) draws while a run goes on: the loss
    panel and the accuracy panel of loss_figure and accuracy_figure, as plain JSON-able data.

    Streamlit 1.67 rebuilds a Plotly chart from scratch whenever its data changes; in the browser that
    costs several times more than drawing these lines on a canvas, which matters when the browser
    shares the machine with the training. Same colours, same reference line, same ranges, the same
    markers (``[(iteration, text)]`` where a knob changed) as vertical lines on the loss panel.
    """
    evals = np.asarray(evals)
    rx, ry = _raw_band(curve) if len(curve) else (np.empty(0), np.empty(0))
    loss = {
        "xlabel": labels["x"], "ylabel": labels["y"], "ymin": 0.0,
        "ymax": _loss_top(curve) if len(curve) else LN10 * 1.15, "percent": False,
        "hline": {"y": LN10, "label": labels["chance"], "color": MUTED},
        "vlines": [{"x": int(it), "label": str(text), "color": ACTIVE} for it, text in markers or ()],
        "series": [
            {"name": labels["raw"], "x": _rounded(rx), "y": _rounded(ry), "color": FORWARD, "width": 1, "alpha": 0.25},
            {"name": labels["smooth"], "x": _rounded(curve.x), "y": _rounded(curve.smooth), "color": FORWARD,
             "width": 3, "alpha": 1.0},
        ],
    }
    accuracy = {
        "xlabel": labels["epochs"], "ylabel": labels["accuracy"], "ymin": 0.0, "ymax": 1.02, "percent": True,
        "series": [
            {"name": labels["train"], "x": _rounded(evals[:, 1]) if len(evals) else [],
             "y": _rounded(evals[:, 2]) if len(evals) else [], "color": FORWARD, "width": 2.5, "alpha": 1.0},
            {"name": labels["test"], "x": _rounded(evals[:, 1]) if len(evals) else [],
             "y": _rounded(evals[:, 3]) if len(evals) else [], "color": GOOD, "width": 2.5, "alpha": 1.0},
        ],
    }
    return {"panels": [loss, accuracy], "weights": [3, 2], "font": 20 if big else 14,
            "family": FONT_FAMILY}  # CJK glyphs by <html lang>, as in every figure
