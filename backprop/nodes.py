"""Elementary nodes of a computational graph, each a layer with the book's forward/backward contract.

Every layer here works on floats and on NumPy arrays alike. A one-input layer's ``backward(dout)``
returns ``dx``; a layer of several inputs returns a tuple in argument order, as ``MulLayer`` does.
Constants a node is built with (the ``c`` of ``×c``, ``+c``, ``**c``) are not inputs: they get no
gradient, as in the book's figure 5-19 where ``×(−1)`` and ``+1`` are nodes of their own.

``OPS`` lists every node kind the graphs use: its layer, how many inputs (None: any number >= 2),
and the symbol drawn in its circle. ``domain_problem`` names the inputs a node cannot take
(``log`` of a non-positive number, a division by zero) before the layer runs into them.
"""
import math
from dataclasses import dataclass

import numpy as np

from .layers import AddLayer, MulLayer


class SubLayer:
    """out = x - y.  dx = dout, dy = -dout."""

    def __init__(self):
        pass

    def forward(self, x, y):
        return x - y

    def backward(self, dout):
        return dout * 1, -dout


class DivLayer:
    """out = x / y.  dx = dout / y, dy = -dout * x / y**2 (backward needs both inputs)."""

    def __init__(self):
        self.x = None
        self.y = None

    def forward(self, x, y):
        self.x = x
        self.y = y
        return x / y

    def backward(self, dout):
        dx = dout / self.y
        dy = -dout * self.x / (self.y * self.y)
        return dx, dy


class SumLayer:
    """out = x1 + x2 + ... (the book's '+' node of figure 5-29 with three inputs).  Each dxi = dout."""

    def __init__(self):
        self.n = None

    def forward(self, *xs):
        self.n = len(xs)
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return out

    def backward(self, dout):
        return tuple(dout * 1 for _ in range(self.n))


class ExpLayer:
    """out = exp(x).  dx = dout * out: the output is its own derivative (figure 5-19, step 2)."""

    def __init__(self):
        self.out = None

    def forward(self, x):
        self.out = np.exp(x)
        return self.out

    def backward(self, dout):
        return dout * self.out


class LogLayer:
    """out = log(x), x > 0.  dx = dout / x."""

    def __init__(self):
        self.x = None

    def forward(self, x):
        self.x = x
        return np.log(x)

    def backward(self, dout):
        return dout / self.x


class ReciprocalLayer:
    """out = 1 / x (the book's '/' node).  dx = dout * (-1 / x**2) = -dout * out**2."""

    def __init__(self):
        self.out = None

    def forward(self, x):
        self.out = 1 / x
        return self.out

    def backward(self, dout):
        return -dout * self.out * self.out


class ScaleLayer:
    """out = c * x for a constant c (c = -1 is the book's '×(−1)' node).  dx = c * dout."""

    def __init__(self, c):
        self.c = c

    def forward(self, x):
        return self.c * x

    def backward(self, dout):
        return self.c * dout


class ShiftLayer:
    """out = x + c for a constant c (the book's '+1' node).  dx = dout."""

    def __init__(self, c):
        self.c = c

    def forward(self, x):
        return x + self.c

    def backward(self, dout):
        return dout * 1


class PowLayer:
    """out = x ** c for a constant exponent c.  dx = dout * c * x ** (c - 1)."""

    def __init__(self, c):
        self.c = c
        self.x = None

    def forward(self, x):
        self.x = x
        return x ** self.c

    def backward(self, dout):
        return dout * self.c * self.x ** (self.c - 1)


class Max0Layer:
    """out = max(0, x): a one-input ReLU.  dx = dout where x > 0, else 0 (0 at the kink, as Relu)."""

    def __init__(self):
        self.mask = None

    def forward(self, x):
        self.mask = np.asarray(x) > 0
        return np.maximum(x, 0) * 1.0

    def backward(self, dout):
        return dout * self.mask


class SoftmaxWithLossNode:
    """loss = -log softmax(a)[c] for scores a1, a2, ... and the correct class c (0-based): the book's
    Softmax-with-Loss layer for one sample, as one node (figure 5-30).  Each da_k = dout * (y_k - t_k)."""

    def __init__(self, c):
        self.c = int(c)
        self.y = None

    def forward(self, *scores):
        a = np.array(scores, dtype=np.float64)
        e = np.exp(a - a.max())
        self.y = e / e.sum()
        return float(-np.log(self.y[self.c]))

    def backward(self, dout):
        t = np.eye(len(self.y))[self.c]
        return tuple(float(d) for d in dout * (self.y - t))


@dataclass(frozen=True)
class Op:
    """One kind of node: its layer class, number of inputs (None: two or more), whether it takes c."""

    layer: type
    arity: int | None
    has_constant: bool = False


OPS = {
    "mul": Op(MulLayer, 2), "add": Op(AddLayer, 2), "sub": Op(SubLayer, 2), "div": Op(DivLayer, 2),
    "sum": Op(SumLayer, None), "exp": Op(ExpLayer, 1), "log": Op(LogLayer, 1), "recip": Op(ReciprocalLayer, 1),
    "scale": Op(ScaleLayer, 1, True), "shift": Op(ShiftLayer, 1, True), "pow": Op(PowLayer, 1, True),
    "max0": Op(Max0Layer, 1), "softmax_loss": Op(SoftmaxWithLossNode, None, True),
}


def make_layer(op, constant=None):
    """A fresh layer for node kind ``op`` (with its constant, for scale, shift and pow)."""
    spec = OPS[op]
    return spec.layer(constant) if spec.has_constant else spec.layer()


def constant_text(c):
    """A constant as drawn: 2 for 2.0, 0.5, -1."""
    return f"{c:.6g}"


def symbol(op, constant=None):
    """What a node's circle shows: ×, +, exp, /, ×(−1), +1, ^2, ..."""
    c = None if constant is None else constant_text(constant).replace("-", "−")
    fixed = {"mul": "×", "add": "+", "sub": "−", "div": "÷", "sum": "+", "exp": "exp", "log": "log",
             "recip": "/", "max0": "max0", "softmax_loss": "loss"}
    if op in fixed:
        return fixed[op]
    if op == "scale":
        return f"×({c})" if constant < 0 else f"×{c}"
    if op == "shift":
        return f"−{c[1:]}" if constant < 0 else f"+{c}"
    return f"^{c}"  # pow


def backward_as_tuple(op, grads):
    """A layer's backward result as a tuple, one gradient per input (one-input layers return dx alone)."""
    return (grads,) if OPS[op].arity == 1 else tuple(grads)


def domain_problem(op, inputs, constant=None):
    """A code naming why ``op`` cannot take these (float) inputs, or None: log_domain, div_zero, pow_domain."""
    if op == "log" and not inputs[0] > 0:
        return "log_domain"
    if op == "recip" and inputs[0] == 0 or op == "div" and inputs[1] == 0:
        return "div_zero"
    if op == "pow":
        x = inputs[0]
        if x == 0 and constant < 1 or x < 0 and not float(constant).is_integer():
            return "pow_domain"  # 0 ** -1, (-2) ** 0.5, or a derivative 0 ** (c - 1) with c < 1
    return None


def is_finite(x):
    return all(math.isfinite(v) for v in np.ravel(x))


def local_gradient(op, slot, in_values, out, constant=None):
    """d(out)/d(input ``slot``) of one node at these values: what backward multiplies the upstream by."""
    x = in_values[slot]
    if op == "mul":
        return in_values[1 - slot]
    if op in ("add", "sum", "shift"):
        return 1.0
    if op == "sub":
        return 1.0 if slot == 0 else -1.0
    if op == "div":
        a, b = in_values
        return 1 / b if slot == 0 else -a / (b * b)
    return {
        "exp": lambda: out, "log": lambda: 1 / x, "recip": lambda: -out * out, "scale": lambda: constant,
        "pow": lambda: constant * x ** (constant - 1), "max0": lambda: 1.0 if x > 0 else 0.0,
        "softmax_loss": lambda: float(np.exp(x - np.log(np.sum(np.exp(in_values)))) - (slot == int(constant))),
    }[op]()
