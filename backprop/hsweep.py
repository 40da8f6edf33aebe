"""The h sweep: how the error of a central difference depends on h, in float64 and float32.

Large h: truncation error, the curve's bend, shrinking as h^2. Small h: round-off, f(w+h) - f(w-h)
losing digits, growing as eps/h. The minimum between them is the best h; float32's is higher and
further right. ``h_sweep`` measures that V with the book's ``numerical_gradient``.
"""
import time
from dataclasses import dataclass

import numpy as np

from .gradient import numerical_gradient


SWEEP_HS = tuple(10.0 ** (-e / 2) for e in range(2, 25))  # 1e-1, 10^-1.5, ..., 1e-12 (half decades)


@dataclass
class HSweep:
    """Result of ``h_sweep``: for each dtype and parameter, the max relative error at each h."""

    hs: np.ndarray  # (H,) step sizes, large to small
    errors: dict  # dtype name -> {param: (H,) max relative error; NaN where h is below the dtype's resolution}
    unresolved: dict  # dtype name -> {param: (H,) number of sampled entries with no step (w+h and w-h round to w)}
    indices: dict  # param -> sampled flat indices
    seconds: float

    def minimum(self, dtype, key):
        """(h, error) where the error of one parameter in one dtype is smallest."""
        err = self.errors[dtype][key]
        if np.all(np.isnan(err)):
            return np.nan, np.nan
        k = int(np.nanargmin(err))
        return float(self.hs[k]), float(err[k])

    def resolution_limit(self, dtype):
        """The largest h at which some sampled entry had no step in this dtype, or None."""
        hit = np.any([u > 0 for u in self.unresolved[dtype].values()], axis=0)
        return float(self.hs[np.argmax(hit)]) if hit.any() else None


def h_sweep(net, x, t, *, hs=SWEEP_HS, entries=20, seed=0, dtypes=("float64", "float32"), progress=None):
    """Max relative error of the book's loop against backprop at each h, for nets with net's weights in each dtype.

    The numerical side is ``numerical_gradient``, the naive (f(w+h) - f(w-h)) / step that shows
    round-off (~eps*|f|/h) at small h as well as truncation (~h^2) at large h. It runs on up to
    ``entries`` entries per parameter, sampled among those with a nonzero gradient (a pixel that is
    0 in every image has nothing to show). The reference is backprop in float64 at the same
    dtype-rounded weights and inputs, so the curves show the numerical side's error alone.
    Fresh nets with the standard layers are used: a planted bug in ``net`` does not matter here.
    """
    hs = np.asarray(hs, dtype=np.float64)
    x = np.asarray(x).reshape(len(x), -1)
    base = net.copy(np.float64)
    g = base.gradient(x.astype(np.float64), t)
    rng = np.random.default_rng(seed)
    idx = {}
    for key, grad in g.items():
        candidates = np.flatnonzero(grad) if np.any(grad) else np.arange(grad.size)
        idx[key] = np.sort(rng.choice(candidates, size=min(entries, len(candidates)), replace=False))
    total = len(dtypes) * len(hs) * sum(len(v) for v in idx.values())
    done = 0
    start = time.perf_counter()
    errors, unresolved = {}, {}
    for dtype in dtypes:
        name = np.dtype(dtype).name
        twin = net.copy(dtype)
        x_d = x.astype(dtype)
        reference = twin.copy(np.float64).gradient(x_d.astype(np.float64), t)
        errors[name] = {key: np.empty(len(hs)) for key in idx}
        unresolved[name] = {key: np.zeros(len(hs), dtype=int) for key in idx}
        for i, h in enumerate(hs):
            for key, flat in idx.items():
                n = numerical_gradient(lambda _: twin.loss(x_d, t), twin.params[key], h=h,
                                       indices=flat).reshape(-1)[flat]
                a = reference[key].reshape(-1)[flat]
                denom = np.maximum(np.abs(a), np.abs(n))
                rel = np.divide(np.abs(a - n), denom, out=np.zeros_like(denom), where=denom > 0)
                no_step = int(np.isnan(n).sum())
                unresolved[name][key][i] = no_step
                errors[name][key][i] = np.nan if no_step else rel.max()
                done += len(flat)
                if progress is not None:
                    progress(done / total)
    return HSweep(hs=hs, errors=errors, unresolved=unresolved, indices=idx, seconds=time.perf_counter() - start)
