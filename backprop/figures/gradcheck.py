"""Figures of the gradient check page: data in (a ParamCheck, a GradientCheck, an HSweep), Plotly figure out.

Every user-facing word comes in through ``labels``, a dict the page builds from its catalogue with
the keys in ``LABELS``, so the functions stay pure and translatable. Signed quantities use the
diverging scale with zero white; entries that were not checked (sampling) are NaN and show as the
grey background.
"""
import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .style import ACTIVE, BAD, DIVERGING, MUTED, SEQUENCE, base_layout, empty_figure

LABELS = (  # the words the figures need: the keys of their ``labels`` dict
    "backprop", "numerical", "difference", "gradient", "kinks", "worst", "shape_error", "tile_hover",
    "nothing_to_plot", "scatter_title", "max_rel", "below_resolution", "your_h", "roundoff", "truncation",
)
GAP = "#c9d1d9"  # background behind NaN cells (entries not checked): darker than 0, which is near-white
KINK = ACTIVE
MINUS = "\u2212"  # a real minus sign reads better on a projector than a hyphen


def fmt(value, digits=3):
    """``digits`` significant digits, scientific: 4.42e−10, −1.99e−06, 2.00e+00; NaN '—', inf '∞'."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    value = float(value)
    if math.isinf(value):
        return "∞" if value > 0 else MINUS + "∞"
    if value == 0:
        return "0"
    mantissa, exponent = f"{value:.{digits - 1}e}".split("e")
    # A minus sign (not a hyphen) everywhere: it reads better and a table cell never breaks at it.
    return f"{mantissa}e{int(exponent):+03d}".replace("-", MINUS)


def fmt_pair(a, b, *, least=3, most=7):
    """(a, b) formatted with just enough significant digits to show where they differ (least..most)."""
    if any(v is None or not math.isfinite(v) for v in (a, b)) or a == b:
        return fmt(a, least), fmt(b, least)
    rel = abs(a - b) / max(abs(a), abs(b))
    digits = least if rel >= 1e-2 else min(most, max(least, math.ceil(-math.log10(rel)) + 1))
    return fmt(a, digits), fmt(b, digits)


def _symmetric(*arrays):
    """A colour range symmetric about 0 covering the finite values of the arrays (1 if there are none)."""
    finite = [np.abs(a[np.isfinite(a)]) for a in arrays]
    m = max((float(f.max()) for f in finite if f.size), default=0.0)
    return m if m > 0 else 1.0


def _grids(check):
    """(backprop, numerical, difference) shaped like the parameter; NaN where an entry was not checked."""
    shape = check.shape
    back = np.asarray(check.backprop_full, dtype=np.float64).reshape(shape)
    num = np.full(shape, np.nan)
    num.reshape(-1)[check.indices] = check.numerical
    diff = np.full(shape, np.nan)
    diff.reshape(-1)[check.indices] = check.backprop - check.numerical
    return back, num, diff


def _display(grid, transpose):
    """A 2-D float32 view for a heatmap: vectors as one row, tall matrices transposed to be wide."""
    grid = grid.reshape(1, -1) if grid.ndim == 1 else (grid.T if transpose else grid)
    return grid.astype(np.float32)


def param_heatmaps(check, labels, *, row_name, col_name, big=False):
    """Backprop, numerical and their difference for one parameter, as three stacked heatmaps.

    check : ParamCheck. row_name, col_name : what the parameter's axes mean (W1: input pixel, hidden unit).
    A matrix taller than wide (W1 is 784 x 50) is drawn transposed, so that three fit on a screen.
    Kinks are crossed and the worst entry is ringed on the difference panel.
    """
    if check.shape_error is not None:
        return empty_figure(labels["shape_error"].format(
            name=check.name, got=str(check.shape_error), want=str(check.shape)), big=big)
    back, num, diff = _grids(check)
    vector = back.ndim == 1
    transpose = not vector and back.shape[0] > back.shape[1]
    x_name, y_name = (row_name, col_name) if transpose else (col_name, row_name)
    if vector:
        x_name, y_name = row_name, ""
    titles = (labels["backprop"], labels["numerical"], labels["difference"])
    fig = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.09, subplot_titles=titles)
    scale = _symmetric(back, num)
    dscale = _symmetric(diff)
    for row, (grid, axis) in enumerate(((back, "coloraxis"), (num, "coloraxis"), (diff, "coloraxis2")), start=1):
        fig.add_trace(go.Heatmap(
            z=_display(grid, transpose), coloraxis=axis, hoverongaps=False,
            hovertemplate=(f"{x_name} %{{x}}<br>{y_name} %{{y}}<br>%{{z:.3e}}<extra></extra>" if not vector
                           else f"{x_name} %{{x}}<br>%{{z:.3e}}<extra></extra>"),
        ), row=row, col=1)
    marks = _marks(check, labels)
    for where, marker, name in marks:  # on the difference panel, in display coordinates
        if vector:
            xs, ys = where, np.zeros(len(where), dtype=int)
        else:
            r, c = np.unravel_index(where, check.shape)
            xs, ys = (r, c) if transpose else (c, r)
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="markers", marker=marker, name=name, hoverinfo="skip"),
                      row=3, col=1)
    bar = dict(thickness=14, exponentformat="e", showexponent="all")
    fig.update_layout(
        coloraxis=dict(colorscale=DIVERGING, cmin=-scale, cmax=scale,
                       colorbar=dict(**bar, y=1.0, yanchor="top", len=0.62, title=labels["gradient"])),
        coloraxis2=dict(colorscale=DIVERGING, cmin=-dscale, cmax=dscale,
                        colorbar=dict(**bar, y=0.0, yanchor="bottom", len=0.32, nticks=3,
                                      title=labels["difference"])),
        plot_bgcolor=GAP, showlegend=bool(marks),
        legend=dict(orientation="h", yanchor="bottom", y=1.04, xanchor="right", x=1),
    )
    n_rows, n_cols = _display(back, transpose).shape
    for row in (1, 2, 3):  # explicit ranges: the heatmap fills its panel edge to edge; one y title (three overlap)
        fig.update_yaxes(title_text=y_name if row == 2 else None, showgrid=False, zeroline=False, row=row, col=1,
                         showticklabels=not vector, range=[n_rows - 0.5, -0.5])
        fig.update_xaxes(showgrid=False, zeroline=False, row=row, col=1, range=[-0.5, n_cols - 0.5])
    fig.update_xaxes(title_text=x_name, row=3, col=1)
    height = 420 if vector else (620 if transpose and back.shape[0] > 100 else 560)
    return _titles_sized(base_layout(fig, big=big, height=height), big)


def _marks(check, labels):
    """[(flat indices, marker, name)]: the kinks (crossed) and the worst entry when it is not excellent (ringed)."""
    marks = []
    if check.n_kinks:
        marks.append((check.indices[check.kinks],
                      dict(symbol="x-thin", size=6, opacity=0.8, line=dict(width=1.5, color=KINK)), labels["kinks"]))
    index, _, _ = check.worst
    if index is not None and check.verdict not in ("excellent", "unresolved"):
        marks.append((np.array([np.ravel_multi_index(index, check.shape)]),
                      dict(symbol="circle-open", size=16, color=BAD, line=dict(width=3)), labels["worst"]))
    return marks


def shape_text(shape):
    """(784, 50) -> '784×50', (10,) -> '10'."""
    return "×".join(str(n) for n in shape)


def w1_tiles(check, labels, *, image_shape=(28, 28), cols=5, max_units=100, big=False, width=820):
    """W1's gradient as one image per hidden unit: column j of W1 (784,) drawn as 28 x 28, for
    backprop, numerical and difference side by side. Pixels not checked are grey.

    width : the expected width in pixels, so that the height fits square tiles without empty bands.
    """
    if check.shape_error is not None:
        return empty_figure(labels["shape_error"].format(
            name=check.name, got=str(check.shape_error), want=str(check.shape)), big=big)
    back, num, diff = _grids(check)
    h, w = image_shape
    units = min(back.shape[1], max_units)
    rows = math.ceil(units / cols)
    cols = min(cols, units)

    def mosaic(grid):
        out = np.full((rows * (h + 1) - 1, cols * (w + 1) - 1), np.nan, dtype=np.float32)
        for j in range(units):
            r, c = divmod(j, cols)
            out[r * (h + 1):r * (h + 1) + h, c * (w + 1):c * (w + 1) + w] = grid[:, j].reshape(h, w)
        return out

    # customdata: hidden unit and pixel (row, column) under the cursor, -1 in the gutters
    unit = np.full(mosaic(back).shape, -1)
    pix_r, pix_c = np.full(unit.shape, -1), np.full(unit.shape, -1)
    for j in range(units):
        r, c = divmod(j, cols)
        block = (slice(r * (h + 1), r * (h + 1) + h), slice(c * (w + 1), c * (w + 1) + w))
        unit[block] = j
        pix_r[block], pix_c[block] = np.mgrid[0:h, 0:w]
    custom = np.stack([unit, pix_r, pix_c], axis=-1)
    titles = (labels["backprop"], labels["numerical"], labels["difference"])
    fig = make_subplots(rows=1, cols=3, horizontal_spacing=0.05, subplot_titles=titles)
    scale, dscale = _symmetric(back, num), _symmetric(diff)
    hover = labels["tile_hover"] + "<br>%{z:.3e}<extra></extra>"
    for col, (grid, axis) in enumerate(((back, "coloraxis"), (num, "coloraxis"), (diff, "coloraxis2")), start=1):
        fig.add_trace(go.Heatmap(z=mosaic(grid), coloraxis=axis, customdata=custom, hoverongaps=False,
                                 hovertemplate=hover), row=1, col=col)
        fig.update_xaxes(visible=False, constrain="domain", row=1, col=col)
        fig.update_yaxes(visible=False, autorange="reversed", scaleanchor=f"x{'' if col == 1 else col}",
                         constrain="domain", row=1, col=col)
    bar = dict(thickness=12, exponentformat="e", showexponent="all", nticks=4, orientation="h", y=-0.02,
               yanchor="top", title=dict(side="top"))
    fig.update_layout(
        coloraxis=dict(colorscale=DIVERGING, cmin=-scale, cmax=scale,
                       colorbar={**bar, "x": 0.345, "xanchor": "center", "len": 0.6,
                                 "title": dict(text=labels["gradient"], side="top")}),
        coloraxis2=dict(colorscale=DIVERGING, cmin=-dscale, cmax=dscale,
                        colorbar={**bar, "x": 0.85, "xanchor": "center", "len": 0.28,
                                  "title": dict(text=labels["difference"], side="top")}),
        plot_bgcolor="white", margin=dict(b=90),
    )
    tile = 0.3 * width / cols  # each panel is about 30% of the width
    fig = _titles_sized(base_layout(fig, big=big), big)
    # base_layout's height factor for big type is not wanted here: the tiles set the height.
    fig.update_layout(height=int(70 + rows * tile + 110), margin=dict(t=50, b=110))
    return fig


def scatter(check_result, labels, *, big=False, max_points=20_000, seed=0):
    """Numerical against backprop, one panel per parameter, with the y = x line where they should lie.

    Entries where both are exactly 0 (pixels that are 0 in every image) are left out; kinks are
    orange crosses. A parameter with more than max_points other entries is subsampled for drawing.
    """
    names = list(check_result.params)
    n_cols = 2
    n_rows = math.ceil(len(names) / n_cols)
    fig = make_subplots(rows=n_rows, cols=n_cols, horizontal_spacing=0.12, vertical_spacing=0.16,
                        subplot_titles=[_panel_title(check_result.params[k], labels) for k in names])
    rng = np.random.default_rng(seed)
    for i, key in enumerate(names):
        p = check_result.params[key]
        row, col = divmod(i, n_cols)
        row, col = row + 1, col + 1
        a, n = p.backprop, p.numerical
        keep = np.isfinite(a) & np.isfinite(n) & ~((a == 0) & (n == 0))
        if keep.sum() > max_points:
            keep[rng.choice(np.flatnonzero(keep), size=keep.sum() - max_points, replace=False)] = False
        if not keep.any():
            fig.add_annotation(text=labels["nothing_to_plot"], showarrow=False, xref="x domain",
                               yref="y domain", x=0.5, y=0.5, row=row, col=col, font=dict(color=MUTED))
            continue
        lo = float(min(a[keep].min(), n[keep].min()))
        hi = float(max(a[keep].max(), n[keep].max()))
        pad = 0.05 * (hi - lo or abs(hi) or 1.0)
        fig.add_trace(go.Scatter(x=[lo - pad, hi + pad], y=[lo - pad, hi + pad], mode="lines",
                                 line=dict(color=MUTED, dash="dash", width=2), hoverinfo="skip"), row=row, col=col)
        plain, kink = keep & ~p.kinks, keep & p.kinks
        for mask, marker in ((plain, dict(color=SEQUENCE[i % len(SEQUENCE)], size=6, opacity=0.7)),
                             (kink, dict(color=KINK, symbol="x", size=9))):
            if not mask.any():
                continue
            where = np.unravel_index(p.indices[mask], p.shape)
            fig.add_trace(go.Scattergl(
                x=a[mask], y=n[mask], mode="markers", marker=marker,
                customdata=np.stack(where, axis=-1), hovertemplate=(
                    f"{key}[" + ", ".join(f"%{{customdata[{d}]}}" for d in range(len(p.shape))) + "]<br>"
                    + labels["backprop"] + " %{x:.4e}<br>" + labels["numerical"] + " %{y:.4e}<extra></extra>"),
            ), row=row, col=col)
        fig.update_xaxes(title_text=labels["backprop"], exponentformat="e", row=row, col=col)
        fig.update_yaxes(title_text=labels["numerical"], exponentformat="e", row=row, col=col)
    fig.update_layout(showlegend=False)
    return _titles_sized(base_layout(fig, big=big, height=330 * n_rows), big)


def _titles_sized(fig, big):
    """Subplot titles (annotations made by make_subplots) at the figure's type size, not plotly's 16 px."""
    size = 20 if big else 15
    for a in fig.layout.annotations:
        if a.font.size is None:
            a.font.size = size
    return fig


def _panel_title(p, labels):
    return labels["scatter_title"].format(name=p.name, err=fmt(p.max_rel_err, 2))


def sweep_figure(sweep, labels, *, h=None, big=False):
    """Max relative error against h, log-log: float64 solid, float32 dashed, one colour per parameter.

    The V: truncation error (~h^2) on the right, round-off (~eps/h) on the left. Where w + h rounds
    to w in a dtype the curve has a gap and the region is shaded. Nothing written on the plot can
    meet another label however narrow it is drawn (a phone, beside the verdict on a projector): the
    two sides of the V are named in opposite top corners, the chosen h above the plot, and the
    legend (a colour per parameter, a dash per dtype, the shaded region) stands below it.
    """
    fig = go.Figure()
    dashes = {"float64": "solid", "float32": "dash"}
    floor = 1e-16  # an exact 0 cannot sit on a log axis
    keys = list(next(iter(sweep.errors.values())))
    finite = [e[np.isfinite(e)] for per_param in sweep.errors.values() for e in per_param.values()]
    lowest = max(floor, min((float(e.min()) for e in finite if e.size), default=1e-12))
    x_range = [math.log10(float(sweep.hs.min()) / 2), math.log10(float(sweep.hs.max()) * 2)]
    top = 1e3  # headroom above the errors of order 1: the corner labels stay clear of the curves
    for dtype in sweep.errors:
        limit = sweep.resolution_limit(dtype)
        if limit is not None:  # the region where w + h rounds to w, as a legend entry of its own
            x0, x1 = 10 ** x_range[0], limit * 1.3
            fig.add_trace(go.Scatter(
                x=[x0, x1, x1, x0, x0], y=[floor / 1e4, floor / 1e4, top * 1e2, top * 1e2, floor / 1e4],
                mode="none", fill="toself", fillcolor="rgba(140,149,159,0.18)", hoverinfo="skip",
                name=labels["below_resolution"].format(dtype=dtype), legendrank=2000))
    for dtype, per_param in sweep.errors.items():
        for k_i, key in enumerate(keys):
            err = np.maximum(per_param[key], floor)
            fig.add_trace(go.Scatter(
                x=sweep.hs, y=err, mode="lines+markers", connectgaps=False,
                line=dict(color=SEQUENCE[k_i % len(SEQUENCE)], dash=dashes.get(dtype, "dot"), width=3),
                marker=dict(size=6), name=key, legendgroup=key, showlegend=dtype == "float64",
                meta=dtype, hovertemplate=f"{key} · {dtype}<br>h %{{x:.1e}}<br>" + labels["max_rel"]
                + " %{y:.2e}<extra></extra>",
            ))
    for dtype, dash in dashes.items():  # the key to the dashes (the curves toggle by parameter)
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", name=dtype, legendrank=1500,
                                 line=dict(color="#57606a", dash=dash, width=3), hoverinfo="skip"))
    if h is not None:
        fig.add_vline(x=h, line=dict(color=ACTIVE, width=2, dash="dot"))
        at = (math.log10(h) - x_range[0]) / (x_range[1] - x_range[0])  # keep the words inside the figure
        fig.add_annotation(x=math.log10(h), y=1, yref="paper", yanchor="bottom", showarrow=False,
                           xanchor="right" if at > 0.8 else "left" if at < 0.2 else "center",
                           text=labels["your_h"].format(h=fmt(h, 1)), font=dict(color=ACTIVE))
    for x, anchor, key in ((0.01, "left", "roundoff"), (0.99, "right", "truncation")):
        fig.add_annotation(x=x, y=0.99, xref="paper", yref="paper", xanchor=anchor, yanchor="top",
                           showarrow=False, text=labels[key], font=dict(color="#57606a"))
    fig.update_xaxes(type="log", title_text="h", exponentformat="power", range=x_range, dtick=2 if big else 1,
                     minor=dict(dtick=1, showgrid=True) if big else None)
    fig.update_yaxes(type="log", title_text=labels["max_rel"], exponentformat="power", dtick=2,
                     range=[math.floor(math.log10(lowest)) - 0.5, math.log10(top)])
    # the legend under the plot, across the figure's width: beside it, it took half a phone's screen
    fig.update_layout(legend=dict(orientation="h", yref="container", y=0, yanchor="bottom", x=0, xanchor="left",
                                  font=dict(size=17 if big else 12), tracegroupgap=0))
    fig = base_layout(fig, big=big, height=480)
    fig.update_layout(margin=dict(t=40))  # room for the "your h" label above the plot
    return fig
