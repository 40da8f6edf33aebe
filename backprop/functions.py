"""Activation and loss functions of chapter 3-4, numerically safe and dtype-preserving."""
import numpy as np


def sigmoid(x):
    """1 / (1 + exp(-x)), elementwise, without overflow warnings for large |x|."""
    x = np.asarray(x)
    # exp(-|x|) never overflows; the two branches are the same function written two ways.
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(
        x.dtype if np.issubdtype(x.dtype, np.floating) else np.float64, copy=False
    )


def relu(x):
    return np.maximum(x, 0)


def softmax(x):
    """Softmax over the last axis of a (D,) or (N, D) array; subtracting the max keeps exp finite."""
    return _softmax_parts(np.asarray(x))[0]


def _softmax_parts(x):
    """(softmax of x over the last axis, x minus its max, the sum of exp of that): the last two give log-softmax."""
    shifted = x - x.max(axis=-1, keepdims=True)
    y = np.exp(shifted)
    total = y.sum(axis=-1, keepdims=True)
    y /= total
    return y, shifted, total


def cross_entropy_error(y, t):
    """Mean cross-entropy of probabilities y (N, C) or (C,) against one-hot or label targets t.

    The 1e-7 inside the log is the book's guard against log(0).
    """
    y = np.asarray(y)
    t = np.asarray(t)
    if y.ndim == 1:
        y = y.reshape(1, -1)
        t = t.reshape(1, -1) if t.ndim == 1 and t.size == y.size else t.reshape(1)
    if t.shape == y.shape:  # one-hot -> labels
        t = t.argmax(axis=1)
    n = y.shape[0]
    return float(-np.log(y[np.arange(n), t] + 1e-7).sum() / n)


def softmax_cross_entropy(x, t):
    """Softmax of scores x (N, C) and its mean cross-entropy against labels t (N,): (y, loss).

    The loss is computed from log-softmax, without the book's 1e-7 guard: log-softmax is finite
    for any finite x, so (y - onehot(t)) / N is this loss's exact gradient. (With the guard, a
    gradient check on the output layer is off by about 1e-7 / y, some 1e-6.)
    """
    n = x.shape[0]
    y, shifted, total = _softmax_parts(x)
    loss = float((np.log(total[:, 0]) - shifted[np.arange(n), t]).sum() / n)
    return y, loss
