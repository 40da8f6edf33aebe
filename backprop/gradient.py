"""Numerical gradients and the one function that answers "does backprop agree?".

``numerical_gradient(f, x)`` is the book's central-difference loop, the readable reference.
``fast_numerical_gradient(net, x, t)`` computes the same central differences of the same loss
for every parameter of a ``MultiLayerNet``, about 10x faster: perturbing W[i, j] of layer l only
changes column j of that layer's pre-activation, so the forward pass from there on is evaluated
for thousands of perturbed copies at once instead of one by one. It never uses backprop.
"""
from dataclasses import dataclass, field

import numpy as np

from .functions import sigmoid

VERDICTS = (  # (upper bound of max relative error, verdict), the usual thresholds (CS231n)
    (1e-7, "excellent"),
    (1e-4, "acceptable"),  # typical where ReLU kinks are involved
    (1e-2, "suspicious"),
    (np.inf, "wrong"),
)


def numerical_gradient(f, x, h=1e-4, indices=None):
    """Central difference (f(x+h) - f(x-h)) / 2h for each entry of x (or the flat ``indices``).

    f : callable taking x and returning a float; x is perturbed in place and every entry restored.
    Returns an array shaped like x (entries not in ``indices`` are 0).
    The denominator is the step actually stored in x, which differs from 2h in float32.
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
        flat_grad[idx] = (fxh1 - fxh2) / (float(up) - float(down))
    return grad


def _activation(net):
    return {"relu": lambda a: np.maximum(a, 0), "sigmoid": sigmoid}[net.activation]


def fast_numerical_gradient(net, x, t, h=1e-4, indices=None, progress=None, max_elements=1 << 21):
    """Central differences of ``net.loss(x, t)`` for the chosen entries of every parameter.

    net : MultiLayerNet (any depth, ReLU or Sigmoid), x : (N, D), t : labels (N,) or one-hot.
    indices : dict key -> flat indices to perturb (default: all entries of every parameter).
    Returns dict key -> (grad values (k,) float64, kink flags (k,) bool), in ``indices`` order.

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
            values[start:start + len(sel)] = (changes[0] - changes[1]) / (
                ws[0].astype(np.float64) - ws[1].astype(np.float64))
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
    backprop: np.ndarray  # backprop gradient at those indices
    numerical: np.ndarray  # central difference at those indices
    kinks: np.ndarray  # bool: a ReLU input changed sign between +h and -h
    excluded_kinks: bool
    backprop_full: np.ndarray = field(repr=False)  # the whole backprop gradient, shaped like the parameter

    @property
    def abs_diff(self):
        return np.abs(self.backprop - self.numerical)

    @property
    def rel_err(self):
        """|a - n| / max(|a|, |n|), 0 where both are 0."""
        denom = np.maximum(np.abs(self.backprop), np.abs(self.numerical))
        return np.divide(self.abs_diff, denom, out=np.zeros_like(denom), where=denom > 0)

    @property
    def counted(self):
        """Mask of entries that count towards the verdict."""
        return ~self.kinks if self.excluded_kinks else np.ones(len(self.indices), dtype=bool)

    @property
    def n_checked(self):
        return len(self.indices)

    @property
    def n_kinks(self):
        return int(self.kinks.sum())

    def _stat(self, values, fn):
        v = values[self.counted]
        return float(fn(v)) if v.size else 0.0

    @property
    def mean_abs_diff(self):
        """The figure the book prints: mean |backprop - numerical|."""
        return self._stat(self.abs_diff, np.mean)

    @property
    def max_abs_diff(self):
        return self._stat(self.abs_diff, np.max)

    @property
    def max_rel_err(self):
        return self._stat(self.rel_err, np.max)

    @property
    def worst(self):
        """(index tuple, backprop, numerical) of the counted entry with the largest relative error."""
        rel = np.where(self.counted, self.rel_err, -1.0)
        k = int(np.argmax(rel))
        index = tuple(int(i) for i in np.unravel_index(self.indices[k], self.shape))
        return index, float(self.backprop[k]), float(self.numerical[k])

    @property
    def verdict(self):
        return verdict(self.max_rel_err)


@dataclass
class GradientCheck:
    """Result of ``gradient_check``: one ParamCheck per parameter, in params order."""

    params: dict
    h: float
    method: str
    seconds: float

    @property
    def passed(self):
        return all(p.verdict in ("excellent", "acceptable") for p in self.params.values())

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
    exclude_kinks : leave entries that straddle a ReLU corner out of the statistics (they stay flagged);
        kinks are detected by the fast method only.
    """
    import time

    if method not in ("fast", "loop"):
        raise ValueError("method must be 'fast' or 'loop'")
    if not h > 0 or not np.isfinite(h):
        raise ValueError(f"h must be a positive finite number, got {h!r}")
    idx = sample_indices(net.params, entries, seed)
    grads = net.gradient(x, t)
    start = time.perf_counter()
    if method == "fast":
        numerical = fast_numerical_gradient(net, x, t, h=h, indices=idx, progress=progress)
    else:
        numerical = {}
        total = sum(len(v) for v in idx.values())
        done = 0
        for key, flat in idx.items():
            g = numerical_gradient(lambda _: net.loss(x, t), net.params[key], h=h, indices=flat)
            numerical[key] = (g.reshape(-1)[flat], np.zeros(len(flat), dtype=bool))
            done += len(flat)
            if progress is not None:
                progress(done / total)
    seconds = time.perf_counter() - start
    checks = {}
    for key, p in net.params.items():
        values, kinks = numerical[key]
        checks[key] = ParamCheck(
            name=key, shape=p.shape, indices=idx[key],
            backprop=grads[key].reshape(-1)[idx[key]].astype(np.float64),
            numerical=values, kinks=kinks, excluded_kinks=exclude_kinks,
            backprop_full=np.array(grads[key], dtype=np.float64),
        )
    return GradientCheck(params=checks, h=h, method=method, seconds=seconds)
