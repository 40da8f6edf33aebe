"""Numerical gradients: central differences of a loss, computed from forward passes only.

``numerical_gradient(f, x)`` is the book's central-difference loop (``common/gradient.py``), the
readable reference. ``fast_numerical_gradient(net, x, t)`` computes the same central differences of
the same loss for every parameter of a ``MultiLayerNet``, some 50-100x faster: perturbing W[i, j] of
layer l only changes column j of that layer's pre-activation, so the forward pass from there on is
evaluated for thousands of perturbed copies at once instead of one by one. Neither uses backprop;
``backprop.gradcheck`` compares them with it.
"""
from dataclasses import dataclass

import numpy as np

from .functions import relu, sigmoid, softmax


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


def activation_function(net):
    """The elementwise activation of net's hidden layers, as a function of its pre-activation."""
    return {"relu": relu, "sigmoid": sigmoid}[net.activation]


def forward_trace(net, x):
    """One plain forward pass of net's Affine/activation stack, from its params alone (no layer is called).

    Returns (z, a): z[l] the input of Affine layer l (z[0] = x), a[l] its output (pre-activation), 0-based.
    """
    act = activation_function(net)
    z, a = [x], []
    for l in range(net.n_layers):
        a.append(z[l] @ net.params[f"W{l + 1}"] + net.params[f"b{l + 1}"])
        if l < net.n_layers - 1:
            z.append(act(a[l]))
    return z, a


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
    z, a = forward_trace(net, x)
    W = [net.params[f"W{l}"] for l in range(1, net.n_layers + 1)]
    base = _Base(act=activation_function(net), relu=net.activation == "relu", z=z, a=a, W=W, y=softmax(a[-1]), t=t)
    indices = indices or {key: np.arange(p.size) for key, p in net.params.items()}
    total = sum(len(v) for v in indices.values())
    done = 0
    results = {}
    for key, flat_idx in indices.items():
        l = int(key[1:]) - 1
        flat_idx = np.asarray(flat_idx, dtype=np.intp)
        values = np.empty(len(flat_idx))
        kinks = np.zeros(len(flat_idx), dtype=bool)
        chunk = max(1, max_elements // (len(x) * max(net.sizes[l + 1:])))
        for start in range(0, len(flat_idx), chunk):
            sel = flat_idx[start:start + chunk]
            values[start:start + len(sel)], kinks[start:start + len(sel)] = _central_differences(
                base, key, net.params[key], sel, h, net.weight_decay_lambda)
            done += len(sel)
            if progress is not None:
                progress(done / total)
        results[key] = (values, kinks)
    return results


def _central_differences(base, key, p, sel, h, lam):
    """(central differences (k,) float64, kink flags (k,)) of the loss for the flat entries ``sel`` of parameter p."""
    kind, l = key[0], int(key[1:]) - 1
    n = len(base.z[0])
    if kind == "W":
        rows, cols = np.unravel_index(sel, p.shape)
        inputs = base.z[l][:, rows].T  # (P, N): what the perturbed weight multiplies
    else:
        cols, inputs = sel, np.ones((len(sel), n), dtype=p.dtype)
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
        values = np.where(step != 0, (changes[0] - changes[1]) / step, np.nan)
    kinks = np.zeros(len(sel), dtype=bool)
    for m_up, m_down in zip(*masks):
        kinks |= (m_up != m_down).reshape(len(sel), -1).any(axis=1)
    return values, kinks


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
