"""Numerical gradients and the one function that answers "does backprop agree?".

``numerical_gradient(f, x)`` is the book's central-difference loop, the readable reference.
``fast_numerical_gradient(net, x, t)`` computes the same central differences of the same loss
for every parameter of a ``MultiLayerNet``, some 50-100x faster: perturbing W[i, j] of layer l only
changes column j of that layer's pre-activation, so the forward pass from there on is evaluated
for thousands of perturbed copies at once instead of one by one. It never uses backprop.
``gradient_check`` compares either with backprop per parameter; ``h_sweep`` shows how the error
depends on h (truncation against round-off); ``CheckConfig`` and ``run_check`` are the explorer
page's configuration and entry point.
"""
import time
from dataclasses import dataclass, field, replace

import numpy as np

from .functions import sigmoid
from .layers import Relu

VERDICTS = (  # (upper bound of max relative error, verdict), the usual thresholds (CS231n)
    (1e-7, "excellent"),
    (1e-4, "acceptable"),  # typical where ReLU kinks are involved
    (1e-2, "suspicious"),
    (np.inf, "wrong"),
)


def numerical_gradient(f, x, h=1e-4, indices=None):
    """Central difference (f(x+h) - f(x-h)) / 2h for each entry of x (or the flat ``indices``).

    f : callable taking x and returning a float; x is perturbed in place and every entry restored.
        It is called exactly twice per entry, at x+h then at x-h.
    Returns an array shaped like x (entries not in ``indices`` are 0).
    The denominator is the step actually stored in x, which differs from 2h in float32; where h is
    below the resolution of x's dtype (w+h and w-h both round to w) there is no step and the entry is NaN.
    """
    if not x.flags.c_contiguous:
        raise ValueError("x must be C-contiguous, so that perturbing its flat view perturbs x")
    grad = np.zeros(x.shape, dtype=np.float64)
    flat_x, flat_grad = x.reshape(-1), grad.reshape(-1)
    for idx in range(x.size) if indices is None else indices:
        tmp = flat_x[idx]
        flat_x[idx] = tmp + h
        fxh1 = f(x)
        up = flat_x[idx]
        flat_x[idx] = tmp - h
        fxh2 = f(x)
        down = flat_x[idx]
        flat_x[idx] = tmp  # restore
        step = float(up) - float(down)
        flat_grad[idx] = (fxh1 - fxh2) / step if step else np.nan
    return grad


def _activation(net):
    return {"relu": lambda a: np.maximum(a, 0), "sigmoid": sigmoid}[net.activation]


def fast_numerical_gradient(net, x, t, h=1e-4, indices=None, progress=None, max_elements=1 << 21):
    """Central differences of ``net.loss(x, t)`` for the chosen entries of every parameter.

    net : MultiLayerNet (any depth, ReLU or Sigmoid), x : (N, D), t : labels (N,) or one-hot.
    indices : dict key -> flat indices to perturb (default: all entries of every parameter).
    Returns dict key -> (grad values (k,) float64, kink flags (k,) bool), in ``indices`` order;
    a value is NaN where h is below the resolution of the parameter's dtype (w+h and w-h round to w).

    For each entry w it evaluates the loss at the stored values w+h and w-h by forward passes, as
    the plain loop does, but as the change f(w+-h) - f(w), per sample
        loss change = log1p(sum_c y_c * expm1(d_c)) - d_t,   y = softmax(logits), d = logit change,
    which is the same loss written without subtracting two numbers near ln 10: entries with tiny
    gradients (faint pixels) keep their digits. A kink is a ReLU input that changes sign between
    the +h and -h evaluations: there the central difference straddles ReLU's corner.
    """
    x = np.asarray(x, dtype=net.dtype).reshape(len(x), -1)
    t = np.asarray(t)
    if t.ndim == 2:
        t = t.argmax(axis=1)
    act = _activation(net)
    L, lam = net.n_layers, net.weight_decay_lambda
    W = [net.params[f"W{l}"] for l in range(1, L + 1)]
    b = [net.params[f"b{l}"] for l in range(1, L + 1)]

    # One plain forward pass, keeping every layer's input z[l] and pre-activation a[l] (0-based l).
    z, a = [x], []
    for l in range(L):
        a.append(z[l] @ W[l] + b[l])
        if l < L - 1:
            z.append(act(a[l]))
    y = np.exp(a[-1] - a[-1].max(axis=1, keepdims=True))
    y /= y.sum(axis=1, keepdims=True)
    base = _Base(act=act, relu=net.activation == "relu", z=z, a=a, W=W, y=y, t=t)

    indices = indices or {key: np.arange(p.size) for key, p in net.params.items()}
    total = sum(len(v) for v in indices.values())
    done = 0
    results = {}
    for key, flat_idx in indices.items():
        kind, l = key[0], int(key[1:]) - 1
        p = net.params[key]
        flat_idx = np.asarray(flat_idx, dtype=np.intp)
        values = np.empty(len(flat_idx))
        kinks = np.zeros(len(flat_idx), dtype=bool)
        chunk = max(1, max_elements // (len(x) * max(net.sizes[l + 1:])))
        for start in range(0, len(flat_idx), chunk):
            sel = flat_idx[start:start + chunk]
            if kind == "W":
                rows, cols = np.unravel_index(sel, p.shape)
                inputs = z[l][:, rows].T  # (P, N): what the perturbed weight multiplies
            else:
                cols, inputs = sel, np.ones((len(sel), len(x)), dtype=p.dtype)
            w = p.reshape(-1)[sel]
            # The values actually stored at w+h and w-h, as numerical_gradient stores them.
            ws = (w + p.dtype.type(h), w - p.dtype.type(h))
            changes, masks = [], []
            for w_new in ws:
                change, mask = _loss_change(base, l, cols, (w_new - w)[:, None] * inputs)
                if lam and kind == "W":  # 0.5*lam*(w_new**2 - w**2), factored to keep its digits
                    change = change + 0.5 * lam * ((w_new - w) * (w_new + w)).astype(np.float64)
                changes.append(change)
                masks.append(mask)
            step = ws[0].astype(np.float64) - ws[1].astype(np.float64)
            with np.errstate(divide="ignore", invalid="ignore"):  # no step: h below the dtype's resolution
                values[start:start + len(sel)] = np.where(step != 0, (changes[0] - changes[1]) / step, np.nan)
            for m_up, m_down in zip(*masks):
                kinks[start:start + len(sel)] |= (m_up != m_down).reshape(len(sel), -1).any(axis=1)
            done += len(sel)
            if progress is not None:
                progress(done / total)
        results[key] = (values, kinks)
    return results


@dataclass
class _Base:
    """The unperturbed forward pass that every perturbed copy starts from."""

    act: object
    relu: bool
    z: list  # input of each Affine layer
    a: list  # output of each Affine layer (pre-activation)
    W: list
    y: np.ndarray  # softmax of the logits, (N, C)
    t: np.ndarray  # labels, (N,)


def _loss_change(base, l, cols, delta):
    """Mean loss change of P copies whose column cols[p] of layer l's pre-activation moves by delta[p].

    delta : (P, N). Returns (change (P,) float64, the ReLU masks met on the way, for kinks).
    """
    L = len(base.W)
    n = delta.shape[1]
    if l == L - 1:  # the output layer: logit cols[p] of each copy moves by delta[p]
        y_col = base.y[:, cols].T  # (P, N)
        per_sample = np.log1p(y_col * np.expm1(delta)) - delta * (cols[:, None] == base.t[None, :])
        return per_sample.sum(axis=1, dtype=np.float64) / n, []
    col = base.a[l][:, cols].T  # (P, N)
    moved = col + delta
    masks = [moved > 0] if base.relu else []
    dz = base.act(moved) - base.act(col)  # change of hidden unit cols[p], (P, N)
    # Only unit cols[p] changed, so the next pre-activation moves by a rank-1 term.
    d = dz[:, :, None] * base.W[l + 1][cols][:, None, :]  # (P, N, width of layer l+1)
    for m in range(l + 1, L - 1):  # deeper nets: carry the change through the remaining layers
        new = base.a[m][None] + d
        if base.relu:
            masks.append(new > 0)
        d = (base.act(new) - base.z[m + 1][None]) @ base.W[m + 1]
    per_sample = np.log1p(np.einsum("nc,pnc->pn", base.y, np.expm1(d))) - d[:, np.arange(n), base.t]
    return per_sample.sum(axis=1, dtype=np.float64) / n, masks


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

    @property
    def abs_diff(self):
        return np.abs(self.backprop - self.numerical)

    @property
    def rel_err(self):
        """|a - n| / max(|a|, |n|), 0 where both are 0, NaN where either is NaN."""
        denom = np.maximum(np.abs(self.backprop), np.abs(self.numerical))
        out = np.divide(self.abs_diff, denom, out=np.zeros_like(denom), where=denom > 0)
        out[np.isnan(denom)] = np.nan
        return out

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
        """Largest relative error over the counted entries; inf if backprop's shape is wrong."""
        return np.inf if self.shape_error is not None else self._stat(self.rel_err, np.max)

    @property
    def worst(self):
        """(index tuple, backprop, numerical) of the counted entry with the largest relative error."""
        if not self.counted.any():
            return None, np.nan, np.nan
        rel = np.where(self.counted, np.nan_to_num(self.rel_err, nan=np.inf), -1.0)
        k = int(np.argmax(rel))
        index = tuple(int(i) for i in np.unravel_index(self.indices[k], self.shape))
        return index, float(self.backprop[k]), float(self.numerical[k])

    @property
    def verdict(self):
        """``verdict(max_rel_err)``, or 'unresolved' when no entry is left to judge (all kinks or below resolution)."""
        if self.shape_error is None and not self.counted.any():
            return "unresolved"
        return verdict(self.max_rel_err)


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

    @property
    def passed(self):
        return all(p.verdict in ("excellent", "acceptable") for p in self.params.values())

    @property
    def failed(self):
        """Names of the parameters judged suspicious or wrong, in params order."""
        return [p.name for p in self.params.values() if p.verdict in ("suspicious", "wrong")]

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
                "max rel. error": p.max_rel_err, "verdict": p.verdict,
                "worst entry": index, "backprop": a, "numerical": n,
                "unresolved": p.n_unresolved, "shape error": p.shape_error,
            })
        return out


def verdict(max_rel_err):
    """'excellent' < 1e-7 <= 'acceptable' < 1e-4 <= 'suspicious' <= 1e-2 < 'wrong'."""
    if not np.isfinite(max_rel_err):
        return "wrong"
    for bound, name in VERDICTS:
        if max_rel_err < bound or (name == "suspicious" and max_rel_err <= bound):
            return name
    return "wrong"


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
    A backprop gradient of the wrong shape is reported (``ParamCheck.shape_error``, verdict 'wrong'), not raised.
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


# The h sweep: truncation error against round-off --------------------------------------------------

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


def _twin(net, dtype):
    """A fresh MultiLayerNet with the standard layers and net's weights (rounded to dtype)."""
    from .net import MultiLayerNet  # net.py imports this module

    twin = MultiLayerNet(net.sizes[0], net.sizes[1:-1], net.sizes[-1], activation=net.activation,
                         weight_decay_lambda=net.weight_decay_lambda, dtype=dtype, seed=0)
    for key, p in net.params.items():
        twin.params[key][...] = p
    return twin


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
    base = _twin(net, np.float64)
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
        twin = _twin(net, dtype)
        x_d = x.astype(dtype)
        reference = _twin(twin, np.float64).gradient(x_d.astype(np.float64), t)
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


# The explorer page's configuration ---------------------------------------------------------------

H_CHOICES = tuple(float(f"1e-{k}") for k in range(1, 13))  # the page's h slider: 1e-1 ... 1e-12
MAX_BATCH = 100  # a gradient check needs a few images (the book uses 3); the loop's time grows with N


@dataclass(frozen=True)
class CheckConfig:
    """One check of the explorer page: TwoLayerNet(784, hidden_size, 10) on images first_image.. of a data set.

    weight_init : a std (float), "xavier" or "he"; entries : None (every entry) or K sampled per parameter;
    bug : None or a key of ``planted_bugs.BUGS``. The same config and seed always give the same numbers.
    """

    hidden_size: int = 50
    activation: str = "relu"
    weight_init: object = 0.01
    batch_size: int = 3
    first_image: int = 0
    h: float = 1e-4
    dtype: str = "float64"
    seed: int = 0
    entries: int | None = None
    method: str = "fast"
    bug: str | None = None

    def problems(self, n_images):
        """Why this config cannot run on a data set of n_images images: [(code, values)], empty if it can.

        Codes (the page words each one): h, hidden, batch_small, batch_large, images_past_end, entries,
        activation, dtype, method, weight_init, bug, bug_activation.
        """
        from .planted_bugs import BUGS  # planted_bugs imports net, which imports this module

        out = []
        if not (isinstance(self.h, (int, float)) and np.isfinite(self.h) and self.h > 0):
            out.append(("h", {"h": self.h}))
        if self.hidden_size < 1:
            out.append(("hidden", {"hidden": self.hidden_size}))
        if self.batch_size < 1:
            out.append(("batch_small", {"batch": self.batch_size}))
        elif self.batch_size > n_images:
            out.append(("batch_large", {"batch": self.batch_size, "n": n_images}))
        elif self.first_image < 0 or self.first_image + self.batch_size > n_images:
            out.append(("images_past_end", {"first": self.first_image, "last": self.first_image + self.batch_size - 1,
                                            "n": n_images}))
        if self.entries is not None and self.entries < 1:
            out.append(("entries", {"entries": self.entries}))
        if self.activation not in ("relu", "sigmoid"):
            out.append(("activation", {"activation": self.activation}))
        if self.dtype not in ("float64", "float32"):
            out.append(("dtype", {"dtype": self.dtype}))
        if self.method not in ("fast", "loop"):
            out.append(("method", {"method": self.method}))
        if not (self.weight_init in ("xavier", "he") or (
                isinstance(self.weight_init, (int, float)) and np.isfinite(self.weight_init) and self.weight_init > 0)):
            out.append(("weight_init", {"weight_init": self.weight_init}))
        if self.bug is not None:
            if self.bug not in BUGS:
                out.append(("bug", {"bug": self.bug}))
            elif BUGS[self.bug].activation not in (None, self.activation):
                out.append(("bug_activation", {"bug": self.bug, "activation": BUGS[self.bug].activation}))
        return out

    def n_entries(self):
        """How many entries a check of this config compares (all, or up to K per parameter)."""
        sizes = (784 * self.hidden_size, self.hidden_size, self.hidden_size * 10, 10)
        return sum(sizes) if self.entries is None else sum(min(self.entries, s) for s in sizes)

    def net(self):
        """The TwoLayerNet this config describes, with its planted bug (if any) swapped in."""
        from .planted_bugs import build_net

        return build_net(self.bug, input_size=784, hidden_size=self.hidden_size, output_size=10,
                         weight_init_std=self.weight_init, activation=self.activation,
                         dtype=np.dtype(self.dtype), seed=self.seed)

    def batch(self, images, labels):
        """(x (N, 784) in [0, 1] in this config's dtype, t (N,) int labels) for images first_image.. of a data set."""
        sl = slice(self.first_image, self.first_image + self.batch_size)
        dtype = np.dtype(self.dtype)
        x = np.asarray(images[sl]).reshape(self.batch_size, -1).astype(dtype) / dtype.type(255)
        return x, np.asarray(labels[sl]).astype(np.intp)

    def sweep_key(self):
        """The part of the config an h sweep depends on (the sweep runs every h, both dtypes, no bug)."""
        return replace(self, h=1e-4, dtype="float64", entries=None, method="fast", bug=None)


def loop_seconds_estimate(config, images, labels, repeats=3):
    """Rough time of the book's loop for this config: two forward passes per entry, timed on its net."""
    x, t = config.batch(images, labels)
    net = config.net()
    net.loss(x, t)  # warm up
    start = time.perf_counter()
    for _ in range(repeats):
        net.loss(x, t)
    return 2 * config.n_entries() * (time.perf_counter() - start) / repeats


def _raise_problems(config, n_images):
    problems = config.problems(n_images)
    if problems:
        raise ValueError("invalid gradient check config: " + "; ".join(
            f"{code} {values}" for code, values in problems))


def run_check(config, images, labels, *, exclude_kinks=True, progress=None):
    """``gradient_check`` of ``config.net()`` on the config's images of (images (M, 28, 28), labels (M,))."""
    _raise_problems(config, len(images))
    x, t = config.batch(images, labels)
    return gradient_check(config.net(), x, t, h=config.h, entries=config.entries, seed=config.seed,
                          method=config.method, exclude_kinks=exclude_kinks, progress=progress)


def run_sweep(config, images, labels, *, entries=20, progress=None):
    """``h_sweep`` of the config's net without its bug, on the config's images, in float64 and float32."""
    config = config.sweep_key()
    _raise_problems(config, len(images))
    x, t = config.batch(images, labels)
    return h_sweep(config.net(), x, t, entries=entries, seed=config.seed, progress=progress)
