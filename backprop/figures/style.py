"""One look for every figure: readable on a projector, the same colours for the same ideas."""
import collections
import threading

import plotly.graph_objects as go
import plotly.io as pio

# The default template is applied when a figure is created, at no cost; passing template= to
# update_layout validates a copy of the whole template each time (about 10 ms a figure).
pio.templates.default = "plotly_white"

FORWARD = "#1f6feb"  # values flowing forward
BACKWARD = "#d1242f"  # gradients flowing backward
ACTIVE = "#f2a60c"  # the node or entry being looked at
MUTED = "#8c959f"  # not computed yet, faded history
GOOD = "#1a7f37"
BAD = "#cf222e"
DIVERGING = "RdBu_r"  # signed quantities (gradients, differences): zero is white
# No CJK family named: the browser falls back by the document's language (<html lang>, set by the app),
# so Japanese text gets Noto Sans CJK JP's glyphs and Chinese text Noto Sans CJK SC's.
FONT_FAMILY = "Source Sans Pro, sans-serif"
SEQUENCE = ("#1f6feb", "#d1242f", "#1a7f37", "#8250df", "#bf8700", "#0a7a8a", "#cf4a9b", "#57606a")


PROJECTOR_SCALE = 1.15  # a figure in presentation mode is drawn this much taller than asked (its type is larger)


def drawn_height(height, big=False):
    """The px a figure asked to be ``height`` px tall is drawn in (presentation mode scales it)."""
    return height * (PROJECTOR_SCALE if big else 1)


def _look(big, height=None, title=None):
    """The shared fonts, margins and height as a plain layout dict."""
    size = 20 if big else 14
    look = dict(font=dict(size=size, family=FONT_FAMILY), margin=dict(l=10, r=10, t=50 if title else 20, b=10),
                legend=dict(font=dict(size=size - 1)), hoverlabel=dict(font=dict(size=size)))
    if title:
        look["title"] = dict(text=title, font=dict(size=size + 4))
    if height:
        look["height"] = int(drawn_height(height, big))
    return look


def base_layout(fig, *, big=False, height=None, title=None):
    """Apply the shared fonts and margins; ``big`` for presentation mode (larger type)."""
    return fig.update_layout(**_look(big, height, title))


def plain_layout(layout, *, big=False, height=None):
    """``base_layout`` for a plain layout dict (``unchecked_figure``): the shared look merged into ``layout``."""
    look = _look(big, height)
    return {**layout, **look, "legend": {**layout.get("legend", {}), **look["legend"]}}


def _plain(value):
    """``value`` without the None entries and empty dicts Plotly's validation would leave out."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            v = _plain(v)
            if v is not None and not (isinstance(v, dict) and not v):  # (NumPy arrays stay as they are)
                out[k] = v
        return out
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def unchecked_figure(data, layout):
    """``go.Figure(data=data, layout=layout)`` without Plotly checking every property on the way in.

    For figures built from plain dicts with Plotly's own property names (no ``font_size``-style
    shorthands): the same figure, an order of magnitude sooner. A step of the shopping graph is a
    few dozen annotations, and their checks were half of what a student's click cost the server
    (py-spy, 30 sessions and 6 stepping the graph). tests/test_unchecked_figures.py checks that Plotly's own
    validation of every preset's every step gives the same figure.
    """
    return go.Figure(data=_plain(list(data)), layout=_plain(layout), _validate=False)


class FrozenFigure(go.Figure):
    """A finished figure drawn many times: ``to_dict()`` hands out the same plain dict every time.

    ``st.plotly_chart`` calls ``to_dict()`` at every draw, and Plotly's makes a deep copy of the whole figure
    and walks it for NumPy arrays: for a graph step a third of drawing it. Make one with ``frozen(fig)`` once
    the figure is complete; it must not be changed afterwards (its dict would no longer say what it shows),
    and whoever draws it must not change the dict (Streamlit and plotly.io only read it).
    """

    def __init__(self, spec):
        super().__init__(data=spec.get("data"), layout=spec.get("layout"), _validate=False)
        self._frozen_spec = spec

    def to_dict(self):
        return self._frozen_spec


def frozen(fig):
    """``fig`` as a FrozenFigure (its plain dict made once)."""
    return FrozenFigure(fig.to_dict())


class FigureCache:
    """Figures made once and drawn by every session that shows the same thing: ``get(key, make)`` returns the
    FrozenFigure of ``make()`` kept under ``key``, making it on the first call. The least recently drawn go
    first beyond ``kept``. Thread-safe (sessions run in threads of one process); the key must name
    everything the figure shows.
    """

    def __init__(self, kept):
        self._kept = kept
        self._figures = collections.OrderedDict()
        self._lock = threading.Lock()

    def get(self, key, make):
        with self._lock:
            fig = self._figures.get(key)
            if fig is not None:
                self._figures.move_to_end(key)
                return fig
        fig = frozen(make())  # outside the lock: two sessions making the same figure at once make equal ones
        with self._lock:
            self._figures[key] = fig
            while len(self._figures) > self._kept:
                self._figures.popitem(last=False)
        return fig

    def __len__(self):
        return len(self._figures)


def empty_figure(message, *, big=False):
    """A figure that says why there is nothing to draw yet."""
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper",
                       font=dict(size=22 if big else 16, color=MUTED))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return base_layout(fig, big=big, height=300)
