"""The one function that answers "does backprop agree?": ``gradient_check``, and what it returns.

``gradient_check(net, x, t)`` compares ``net.gradient`` (backprop) with central differences of
``net.loss`` (``backprop.gradient``) entry by entry. The result holds data and codes, never
sentences: per parameter the errors, the worst entry and a verdict code; for the whole check a
headline code with its values. Pages word them.

Verdicts follow the usual thresholds on the largest relative error |a - n| / max(|a|, |n|)
(CS231n): excellent < 1e-7 <= acceptable < 1e-4 <= suspicious <= 1e-2 < wrong. They assume float64,
whose round-off (eps 2.2e-16) is far below them. float32 (eps 1.2e-7) is judged on what its
round-off cannot explain: see ``roundoff_floor``. A backprop gradient of the wrong shape is
'shape_mismatch', a non-finite value 'not_finite', a parameter float32 cannot resolve 'imprecise',
and one with nothing left to compare (every entry a kink or below the dtype's resolution) 'unresolved'.
"""
import time
from dataclasses import dataclass, field, replace

import numpy as np

from .gradient import fast_numerical_gradient, forward_trace, numerical_gradient
from .layers import Relu

VERDICTS = (  # (upper bound of the judged relative error, verdict), the usual thresholds (CS231n)
    (1e-7, "excellent"),
    (1e-4, "acceptable"),  # typical where ReLU kinks are involved
    (1e-2, "suspicious"),
    (np.inf, "wrong"),
)
PASSING = ("excellent", "acceptable")
FAILING = ("suspicious", "wrong", "shape_mismatch", "not_finite")
ROUNDOFF_SAFETY = 4  # the round-off estimates below are orders of magnitude; 4x covers their constants
RESOLVE = 0.1  # a check resolves a parameter only if its round-off floor is below a tenth of its gradients
SIGMOID_SLOPE = 0.25  # sigmoid'(a) near a = 0, where the pre-activations of a freshly initialised net sit


def roundoff_floor(dtype, method, h, loss, scale, spread=0.0):
    """The largest |backprop - numerical| that rounding in ``dtype`` alone can cause on one parameter.

    eps is the dtype's machine epsilon, scale the parameter's largest |numerical gradient|.
    - The book's loop subtracts two losses, each rounded to about eps * |f|, and divides by 2h:
      eps * |f| / h. float32 at h = 1e-4 with f = ln 10: 2.7e-3, the size of W1's gradients.
    - The fast method computes each loss change directly; what rounds is the perturbed hidden
      value a + delta and its activation, to about eps * spread (``activation_spread``), against
      a change delta = h * x: a relative error eps * spread / h, that is eps * spread / h * scale.
      The output layer's change is exact up to eps * scale (spread 0).
    - Backprop in the dtype adds about eps * scale.
    Returns 0 for float64: its floor (about 5e-12 relative at h = 1e-4) is far below the thresholds,
    which were made for float64, so float64 is judged on the plain relative error.
    """
    dtype = np.dtype(dtype)
    if dtype == np.float64:
        return 0.0
    eps = float(np.finfo(dtype).eps)
    if method == "loop":
        return ROUNDOFF_SAFETY * eps * (abs(loss) / h + scale)
    return ROUNDOFF_SAFETY * eps * scale * (1 + spread / h)


def activation_spread(net, z, a):
    """Per layer l (0-based): how far, in units of a pre-activation, rounding moves act(a + delta) - act(a)
    in layer l and every hidden layer above it: max |a| + max |act(a)| / slope. 0 for the output layer."""
    slope = 1.0 if net.activation == "relu" else SIGMOID_SLOPE
    per_hidden = [float(np.max(np.abs(a[m]))) + float(np.max(np.abs(z[m + 1]))) / slope
                  for m in range(net.n_layers - 1)]
    return [max(per_hidden[l:], default=0.0) for l in range(net.n_layers)]


@dataclass
class ParamCheck:
    """How backprop and numerical gradients compare on one parameter."""

    name: str
    shape: tuple
    indices: np.ndarray  # flat indices checked
    backprop: np.ndarray  # backprop gradient at those indices (NaN if its shape is wrong)
    numerical: np.ndarray  # central difference at those indices (NaN where h is below resolution)
    kinks: np.ndarray  # bool: a ReLU input changed sign between +h and -h
    excluded_kinks: bool
    backprop_full: np.ndarray = field(repr=False)  # the whole backprop gradient, shaped like the parameter
    shape_error: tuple | None = None  # the shape backprop returned, when it is not the parameter's shape
    floor: float = 0.0  # |backprop - numerical| the dtype's round-off alone can cause (0 in float64)

    @property
    def abs_diff(self):
        return np.abs(self.backprop - self.numerical)

    def _relative(self, diff):
        denom = np.maximum(np.abs(self.backprop), np.abs(self.numerical))
        with np.errstate(invalid="ignore"):
            out = np.divide(diff, denom, out=np.zeros_like(denom), where=denom > 0)
        out[np.isnan(denom)] = np.nan
        return out

    @property
    def rel_err(self):
        """|a - n| / max(|a|, |n|), 0 where both are 0, NaN where either is NaN."""
        return self._relative(self.abs_diff)

    @property
    def excess_rel_err(self):
        """The part of |a - n| that round-off cannot explain, relative: max(|a - n| - floor, 0) / max(|a|, |n|)."""
        return self._relative(np.maximum(self.abs_diff - self.floor, 0.0))

    @property
    def unresolved(self):
        """Mask of entries with no numerical value: w+h and w-h round to w (h below the dtype's resolution)."""
        return np.isnan(self.numerical)

    @property
    def counted(self):
        """Mask of entries that count towards the verdict: resolved, and not kinks if kinks are excluded."""
        counted = ~self.unresolved
        return counted & ~self.kinks if self.excluded_kinks else counted

    @property
    def n_checked(self):
        return len(self.indices)

    @property
    def n_kinks(self):
        return int(self.kinks.sum())

    @property
    def n_unresolved(self):
        return int(self.unresolved.sum())

    def _stat(self, values, fn):
        v = values[self.counted]
        return float(fn(v)) if v.size and self.shape_error is None else np.nan

    @property
    def mean_abs_diff(self):
        """The figure the book prints: mean |backprop - numerical| (NaN if nothing is comparable)."""
        return self._stat(self.abs_diff, np.mean)

    @property
    def max_abs_diff(self):
        return self._stat(self.abs_diff, np.max)

    @property
    def max_rel_err(self):
        """Largest relative error over the counted entries; NaN if backprop's shape is wrong."""
        return self._stat(self.rel_err, np.max)

    @property
    def judged_err(self):
        """What the verdict judges: the largest relative error beyond round-off (= max_rel_err in float64)."""
        return self._stat(self.excess_rel_err, np.max)

    @property
    def scale(self):
        """The largest finite |numerical gradient| over the counted entries (0 if none)."""
        n = self.numerical[self.counted]
        n = np.abs(n[np.isfinite(n)])
        return float(n.max()) if n.size else 0.0

    @property
    def finite(self):
        """True if every counted entry has a finite backprop and numerical value."""
        c = self.counted
        return bool(np.isfinite(self.backprop[c]).all() and np.isfinite(self.numerical[c]).all())

    @property
    def worst(self):
        """(index tuple, backprop, numerical) of the counted entry with the largest judged error (then plain error)."""
        if self.shape_error is not None or not self.counted.any():
            return None, np.nan, np.nan
        excess = np.where(self.counted, np.nan_to_num(self.excess_rel_err, nan=np.inf), -1.0)
        plain = np.where(self.counted, np.nan_to_num(self.rel_err, nan=np.inf), -1.0)
        k = int(np.lexsort((plain, excess))[-1])  # the largest judged error; among equals, the largest plain one
        index = tuple(int(i) for i in np.unravel_index(self.indices[k], self.shape))
        return index, float(self.backprop[k]), float(self.numerical[k])

    @property
    def verdict(self):
        """A verdict code: one of VERDICTS' names, or shape_mismatch, not_finite, imprecise, unresolved."""
        if self.shape_error is not None:
            return "shape_mismatch"
        if not self.counted.any():
            return "unresolved"
        if not self.finite:
            return "not_finite"
        if self.floor and not self.floor < RESOLVE * self.scale:
            return "imprecise"
        return verdict(self.judged_err)


@dataclass
class GradientCheck:
    """Result of ``gradient_check``: one ParamCheck per parameter, in params order."""

    params: dict
    h: float
    method: str
    seconds: float  # time of the numerical gradient
    backprop_seconds: float = 0.0
    dtype: str = "float64"
    n_images: int = 0
    loss: float = np.nan  # the loss at the unperturbed weights

    def _with_verdict(self, verdicts):
        return [p.name for p in self.params.values() if p.verdict in verdicts]

    @property
    def passed(self):
        return all(p.verdict in PASSING for p in self.params.values())

    @property
    def failed(self):
        """Names of the parameters where backprop disagrees (suspicious, wrong, shape, not finite), in order."""
        return self._with_verdict(FAILING)

    @property
    def imprecise(self):
        """Names of the parameters this dtype and h cannot resolve (round-off as large as the gradients)."""
        return self._with_verdict(("imprecise",))

    @property
    def n_checked(self):
        return sum(p.n_checked for p in self.params.values())

    @property
    def n_kinks(self):
        return sum(p.n_kinks for p in self.params.values())

    @property
    def n_unresolved(self):
        return sum(p.n_unresolved for p in self.params.values())

    @property
    def max_rel_err(self):
        """The worst relative error over every parameter (NaN-safe)."""
        errs = [p.max_rel_err for p in self.params.values() if not np.isnan(p.max_rel_err)]
        return max(errs) if errs else np.nan

    @property
    def judged_err(self):
        """The worst judged error (beyond round-off) over every parameter (NaN-safe)."""
        errs = [p.judged_err for p in self.params.values() if not np.isnan(p.judged_err)]
        return max(errs) if errs else np.nan

    def headline(self):
        """What the check says first, as (code, values). Codes, in order of precedence:
        fail {params}, imprecise {params, dtype, h, floor}, unresolved {params, dtype, h}, pass {n, worst, dtype}."""
        if self.failed:
            return "fail", {"params": self.failed}
        if self.imprecise:
            floor = max(self.params[k].floor for k in self.imprecise)
            return "imprecise", {"params": self.imprecise, "dtype": self.dtype, "h": self.h, "floor": floor}
        unresolved = self._with_verdict(("unresolved",))
        if unresolved:
            return "unresolved", {"params": unresolved, "dtype": self.dtype, "h": self.h}
        return "pass", {"n": len(self.params), "worst": self.judged_err, "dtype": self.dtype}

    def with_kinks_excluded(self, exclude):
        """The same comparison, with kinks left out of (True) or kept in (False) the statistics. Shares arrays."""
        return replace(self, params={k: replace(p, excluded_kinks=bool(exclude)) for k, p in self.params.items()})

    def rows(self):
        """One dict per parameter, ready for a table."""
        out = []
        for p in self.params.values():
            index, a, n = p.worst
            out.append({
                "parameter": p.name, "shape": p.shape, "checked": p.n_checked, "kinks": p.n_kinks,
                "mean |diff|": p.mean_abs_diff, "max |diff|": p.max_abs_diff,
                "max rel. error": p.max_rel_err, "judged error": p.judged_err, "verdict": p.verdict,
                "worst entry": index, "backprop": a, "numerical": n,
                "unresolved": p.n_unresolved, "shape error": p.shape_error,
            })
        return out


def verdict(judged_err):
    """'excellent' < 1e-7 <= 'acceptable' < 1e-4 <= 'suspicious' <= 1e-2 < 'wrong' (and 'wrong' if not finite)."""
    if not np.isfinite(judged_err):
        return "wrong"
    for bound, name in VERDICTS:
        if judged_err < bound or (name == "suspicious" and judged_err <= bound):
            return name
    return "wrong"


def bug_outcome(check, bug):
    """Did the check catch a planted bug? (code, values):
    invisible {batch} (the batch is too small for the bug to change anything), caught {caught, clean},
    or missed {caught, expected}. ``bug`` is a ``planted_bugs.PlantedBug``."""
    expected = list(bug.expected(check.n_images))
    if not expected:
        return "invisible", {"batch": check.n_images}
    if set(check.failed) == set(expected):
        return "caught", {"caught": check.failed, "clean": [k for k in check.params if k not in expected]}
    return "missed", {"caught": check.failed, "expected": expected}


def sample_indices(params, entries=None, seed=0):
    """Flat indices to check per parameter: all (entries=None) or up to K sampled from each parameter."""
    rng = np.random.default_rng(seed)
    out = {}
    for key, p in params.items():
        if entries is None or entries >= p.size:
            out[key] = np.arange(p.size)
        else:
            out[key] = np.sort(rng.choice(p.size, size=int(entries), replace=False))
    return out


def gradient_check(net, x, t, *, h=1e-4, entries=None, seed=0, method="fast",
                   exclude_kinks=True, progress=None):
    """Compare ``net.gradient(x, t)`` (backprop) with central differences of ``net.loss``.

    entries : None for every entry, or K entries sampled per parameter (so biases are not under-sampled)
    method : "fast" (``fast_numerical_gradient``) or "loop" (the book's ``numerical_gradient``)
    exclude_kinks : leave entries that straddle a ReLU corner out of the statistics (they stay flagged).
    progress : called with the fraction done (0..1] while the numerical gradient runs.
    A backprop gradient of the wrong shape is reported (``ParamCheck.shape_error``, verdict 'shape_mismatch'), not raised.
    """
    if method not in ("fast", "loop"):
        raise ValueError("method must be 'fast' or 'loop'")
    if not h > 0 or not np.isfinite(h):
        raise ValueError(f"h must be a positive finite number, got {h!r}")
    if entries is not None and entries < 1:
        raise ValueError(f"entries must be None (all) or at least 1, got {entries!r}")
    if len(x) == 0 or len(x) != len(t):
        raise ValueError(f"need one target per input and at least one input, got {len(x)} inputs, {len(t)} targets")
    # Both sides must see the same input: float64 images into a float32 net would give float64
    # backprop gradients, while the numerical side evaluates the net in float32.
    x = np.asarray(x, dtype=net.dtype)
    idx = sample_indices(net.params, entries, seed)
    start = time.perf_counter()
    loss, grads = net.loss_and_gradient(x, t)
    backprop_seconds = time.perf_counter() - start
    start = time.perf_counter()
    if method == "fast":
        numerical = fast_numerical_gradient(net, x, t, h=h, indices=idx, progress=progress)
    else:
        numerical = _loop_numerical(net, x, t, h, idx, progress)
    seconds = time.perf_counter() - start
    spread = activation_spread(net, *forward_trace(net, x.reshape(len(x), -1)))
    checks = {}
    for key, p in net.params.items():
        values, kinks = numerical[key]
        g = np.asarray(grads[key], dtype=np.float64)
        shape_error = None if g.shape == p.shape else tuple(g.shape)
        if shape_error is not None:
            g = np.full(p.shape, np.nan)
        checks[key] = ParamCheck(
            name=key, shape=p.shape, indices=idx[key], backprop=g.reshape(-1)[idx[key]],
            numerical=values, kinks=kinks, excluded_kinks=exclude_kinks, backprop_full=g,
            shape_error=shape_error,
        )
        scale = checks[key].scale
        checks[key].floor = roundoff_floor(net.dtype, method, h, loss, scale, spread[int(key[1:]) - 1])
    return GradientCheck(params=checks, h=h, method=method, seconds=seconds, backprop_seconds=backprop_seconds,
                         dtype=net.dtype.name, n_images=len(x), loss=float(loss))


LOOP_CHUNK = 256  # entries per call of the book's loop between progress reports


class _KinkWatcher:
    """``f`` for ``numerical_gradient``: net.loss(x, t), noting for each entry whether a ReLU mask
    differs between its +h and its -h forward pass (numerical_gradient calls f at +h, then at -h)."""

    def __init__(self, net, x, t):
        self.net, self.x, self.t = net, x, t
        self.relus = [layer for layer in net.layers.values() if isinstance(layer, Relu)]
        self.pending = None  # masks of the +h pass, waiting for the -h pass
        self.kinks = []

    def __call__(self, _):
        loss = self.net.loss(self.x, self.t)
        masks = [layer.mask for layer in self.relus]  # a fresh array each forward pass
        if self.pending is None:
            self.pending = masks
        else:
            self.kinks.append(any(bool(np.any(up != down)) for up, down in zip(self.pending, masks)))
            self.pending = None
        return loss


def _loop_numerical(net, x, t, h, idx, progress):
    """The book's loop over the ``idx`` entries of every parameter: dict key -> (values, kink flags)."""
    total = sum(len(v) for v in idx.values())
    done = 0
    out = {}
    for key, flat in idx.items():
        watcher = _KinkWatcher(net, x, t)
        values = np.empty(len(flat))
        for start in range(0, len(flat), LOOP_CHUNK):
            sel = flat[start:start + LOOP_CHUNK]
            values[start:start + len(sel)] = numerical_gradient(watcher, net.params[key], h=h,
                                                                indices=sel).reshape(-1)[sel]
            done += len(sel)
            if progress is not None:
                progress(done / total)
        out[key] = (values, np.array(watcher.kinks, dtype=bool).reshape(len(flat)))
    return out


