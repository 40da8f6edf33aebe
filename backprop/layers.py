"""The layers of chapter 5: each is ``forward(...) -> out`` and ``backward(dout) -> d(inputs)``.

Same names, signatures and results as the book's ``ch05/layer_naive.py`` and ``common/layers.py``,
with its traps fixed: no layer writes into an array it was given, ``Affine`` accepts N-D input
and can skip ``dx``, and ``SoftmaxWithLoss`` takes one-hot or label targets.
"""
import numpy as np

from .functions import sigmoid, softmax_cross_entropy


class MulLayer:
    """out = x * y.  Backward swaps the inputs: dx = dout * y, dy = dout * x."""

    def __init__(self):
        self.x = None
        self.y = None

    def forward(self, x, y):
        self.x = x
        self.y = y
        return x * y

    def backward(self, dout):
        dx = dout * self.y
        dy = dout * self.x
        return dx, dy


class AddLayer:
    """out = x + y.  Backward passes dout through unchanged to both inputs."""

    def __init__(self):
        pass

    def forward(self, x, y):
        return x + y

    def backward(self, dout):
        dx = dout * 1
        dy = dout * 1
        return dx, dy


class Relu:
    """out = max(x, 0).  dx = dout where x > 0, else 0."""

    def __init__(self):
        self.mask = None  # True where x > 0: the only thing backward needs

    def forward(self, x):
        self.mask = x > 0
        return np.maximum(x, 0)

    def backward(self, dout):
        # A new array: the book's `dout[self.mask] = 0` would zero the caller's dout in place.
        return dout * self.mask


class Sigmoid:
    """out = 1 / (1 + exp(-x)).  dx = dout * out * (1 - out): backward needs only out."""

    def __init__(self):
        self.out = None

    def forward(self, x):
        self.out = sigmoid(x)
        return self.out

    def backward(self, dout):
        return dout * (1.0 - self.out) * self.out


class Affine:
    """out = x @ W + b for x of shape (N, D) or (N, d1, d2, ...) flattened to (N, D).

    Backward: dW = x.T @ dout, db = dout.sum(axis=0), dx = dout @ W.T in x's original shape.
    ``need_dx=False`` skips dx (a first layer has no one to pass it to); backward then returns None.
    """

    def __init__(self, W, b, need_dx=True):
        self.W = W
        self.b = b
        self.need_dx = need_dx
        self.x = None
        self.original_x_shape = None
        self.dW = None
        self.db = None

    def forward(self, x):
        self.original_x_shape = x.shape
        self.x = x.reshape(x.shape[0], -1)  # a view, never a copy of contiguous input
        out = self.x @ self.W
        out += self.b
        return out

    def backward(self, dout):
        self.dW = self.x.T @ dout
        self.db = dout.sum(axis=0)
        if not self.need_dx:
            return None
        return (dout @ self.W.T).reshape(self.original_x_shape)


class SoftmaxWithLoss:
    """Softmax then mean cross-entropy.  forward(x, t) -> loss; backward() -> (y - t) / N.

    t may be one-hot (N, C) or integer labels (N,). The loss is computed from log-softmax, so
    backward is its exact derivative (see ``softmax_cross_entropy``).
    """

    def __init__(self):
        self.loss = None
        self.y = None  # softmax output
        self.t = None  # targets as given

    def forward(self, x, t):
        if t.shape != x.shape[:1] and t.shape != x.shape:
            # e.g. labels as a column (N, 1): argmax would silently read every label as 0
            raise ValueError(f"targets must be labels {x.shape[:1]} or one-hot {x.shape}, got shape {t.shape}")
        self.t = t
        labels = t.argmax(axis=1) if t.ndim == 2 else t
        self.y, self.loss = softmax_cross_entropy(x, labels)
        return self.loss

    def backward(self, dout=1):
        batch_size = self.t.shape[0]
        dx = self.y.copy()
        if self.t.ndim == 2:  # one-hot: subtract in place, so int or float64 targets keep y's dtype
            dx -= self.t
        else:
            dx[np.arange(batch_size), self.t] -= 1
        dx *= dout / batch_size
        return dx
