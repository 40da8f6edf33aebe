"""The book's TwoLayerNet stepped one layer at a time, forward then backward, then one update.

``layer_walk(net, x, t)`` runs the network's own layers (``Affine1``, ``Relu1``, ``Affine2``,
``SoftmaxWithLoss``) on a copy of its weights and records, after every step, the tensors that just
appeared, the layer method that made them, and one check of each:

    k = 0   start        x (N, 784), t (N,)
    k = 1   Affine1      a1 = x · W1 + b1                      (N, 50)
    k = 2   Relu1        z1 = max(0, a1), mask = a1 > 0        (N, 50)
    k = 3   Affine2      a2 = z1 · W2 + b2                     (N, 10)
    k = 4   SoftmaxWithLoss  y = softmax(a2), loss             (N, 10), ()
    k = 5   SoftmaxWithLoss.backward  da2 = (y - t) / N        (N, 10)
    k = 6   Affine2.backward  dW2 = z1ᵀ · da2, db2 = Σ da2, dz1 = da2 · W2ᵀ
    k = 7   Relu1.backward    da1 = dz1 * mask
    k = 8   Affine1.backward  dW1 = xᵀ · da1, db1 = Σ da1      (no dx: nothing below it)
    k = 9   update       W <- W - lr · dW for every parameter, then forward again: the loss after

A forward tensor is checked against the same formula written directly in NumPy; a gradient
against central differences of the loss as a function of that very tensor (``numerical_gradient``
for activations and W2, ``fast_numerical_gradient`` for W1), never backprop.
"""
from dataclasses import dataclass, field

import numpy as np

from .functions import softmax
from .gradient import fast_numerical_gradient, numerical_gradient
from .layers import Affine, Relu, SoftmaxWithLoss
from .net import TwoLayerNet

RULES = ("start", "affine_forward", "relu_forward", "affine_forward", "softmax_loss_forward",
         "softmax_loss_backward", "affine_backward", "relu_backward", "affine_backward", "update")
LAYERS = ("", "Affine1", "Relu1", "Affine2", "SoftmaxWithLoss", "SoftmaxWithLoss", "Affine2", "Relu1", "Affine1", "")
METHODS = (None, Affine.forward, Relu.forward, Affine.forward, SoftmaxWithLoss.forward, SoftmaxWithLoss.backward,
           Affine.backward, Relu.backward, Affine.backward, None)
TOLERANCE = 1e-6  # relative error (to the largest entry) below which a check agrees


@dataclass(frozen=True)
class Check:
    """One tensor against an independent computation: ``kind`` "recomputed" or "numerical"."""

    tensor: str
    kind: str
    max_abs_diff: float
    scale: float  # the largest |entry| of the tensor
    entries: int

    @property
    def rel_err(self):
        return self.max_abs_diff / max(self.scale, 1e-12)

    @property
    def ok(self):
        return bool(self.rel_err <= TOLERANCE)


@dataclass(frozen=True)
class LayerStep:
    """Step k: ``layer`` ran ``method`` (``direction`` forward/backward), making ``tensors`` (name -> array)."""

    k: int
    direction: str  # "start", "forward", "backward", "update"
    layer: str
    rule: str
    method: object
    tensors: dict
    checks: tuple = ()


@dataclass
class Walk:
    """Every step of one pass through TwoLayerNet on images x (N, 784) with labels t (N,)."""

    x: np.ndarray
    t: np.ndarray
    lr: float
    params: dict  # the weights the pass used (copies)
    steps: list = field(default_factory=list)

    @property
    def n(self):
        return len(self.x)

    @property
    def last(self):
        return len(self.steps) - 1

    def known(self, k):
        """name -> array of every tensor known after step k."""
        out = {"x": self.x, "t": self.t, **self.params}
        for step in self.steps[1:k + 1]:
            out.update(step.tensors)
        return out

    def shapes(self, k):
        """name -> shape (a tuple) of every tensor known after step k: what the rules write under them."""
        return {name: tuple(np.shape(value)) for name, value in self.known(k).items()}

    def passed(self, k):
        """How many of the hidden layer's values ReLU let through, as known after step k (0 before its mask)."""
        mask = self.known(k).get("mask")
        return int(mask.sum()) if mask is not None else 0

    @property
    def one_hot(self):
        """The labels t as the one-hot rows the loss compares y with: (N, classes) of 0.0 and 1.0."""
        return np.eye(self.params["W2"].shape[1])[self.t]


def rows(m, transpose=False):
    """A scalar, vector or matrix as a list of rows of floats (a vector is one row), its transpose if
    ``transpose``: the entries a rule with the numbers writes, in the order it writes them."""
    m = np.atleast_2d(np.asarray(m, dtype=np.float64))
    return (m.T if transpose else m).tolist()


def _check(name, kind, value, reference):
    value, reference = np.asarray(value, dtype=np.float64), np.asarray(reference, dtype=np.float64)
    return Check(name, kind, float(np.max(np.abs(value - reference))), float(np.max(np.abs(value))), int(value.size))


def _numerical(name, f, tensor, value):
    """Central differences of the loss f as a function of a (float64 copy of) ``tensor``."""
    x = np.array(tensor, dtype=np.float64)
    return _check(name, "numerical", value, numerical_gradient(lambda _: f(x), x))


def _copy_net(net):
    """A float64 TwoLayerNet with the same weights: the walk never touches the caller's net or its caches."""
    copy = TwoLayerNet(net.sizes[0], net.sizes[1], net.sizes[2], dtype=np.float64)
    for key, p in net.params.items():
        np.copyto(copy.params[key], p)
    return copy


def _loss_from(a2, t):
    return SoftmaxWithLoss().forward(a2, t)


def _forward(w, x, t):
    """The four forward steps: [(tensors, checks)] by the net's own layers."""
    A1, R1, A2, SL = w.layers["Affine1"], w.layers["Relu1"], w.layers["Affine2"], w.last_layer
    p = w.params
    a1 = A1.forward(x)
    z1 = R1.forward(a1)
    a2 = A2.forward(z1)
    loss = SL.forward(a2, t)
    y = SL.y
    direct_loss = -np.mean(np.log(softmax(a2)[np.arange(len(t)), t]))
    return [
        ({"a1": a1}, (_check("a1", "recomputed", a1, x @ p["W1"] + p["b1"]),)),
        ({"z1": z1, "mask": R1.mask}, (_check("z1", "recomputed", z1, np.maximum(a1, 0)),)),
        ({"a2": a2}, (_check("a2", "recomputed", a2, z1 @ p["W2"] + p["b2"]),)),
        ({"y": y, "loss": np.float64(loss)}, (_check("y", "recomputed", y, softmax(a2)),
                                              _check("loss", "recomputed", loss, direct_loss))),
    ]


def _backward(w, x, t, a1, z1, a2):
    """The four backward steps (after ``_forward``, whose caches they use), each beside its numerical twin."""
    A1, R1, A2, SL = w.layers["Affine1"], w.layers["Relu1"], w.layers["Affine2"], w.last_layer
    p = w.params
    da2 = SL.backward(1)
    dz1 = A2.backward(da2)
    dW2, db2 = A2.dW, A2.db
    da1 = R1.backward(dz1)
    A1.backward(da1)
    dW1, db1 = A1.dW, A1.db
    above_relu = lambda a: _loss_from(np.maximum(a, 0) @ p["W2"] + p["b2"], t)  # noqa: E731
    fast = fast_numerical_gradient(w, x, t, indices={"W1": np.arange(dW1.size), "b1": np.arange(db1.size)})
    return [
        ({"da2": da2}, (_numerical("da2", lambda a: _loss_from(a, t), a2, da2),)),
        ({"dW2": dW2, "db2": db2, "dz1": dz1},
         (_numerical("dW2", lambda W: _loss_from(z1 @ W + p["b2"], t), p["W2"], dW2),
          _numerical("db2", lambda b: _loss_from(z1 @ p["W2"] + b, t), p["b2"], db2),
          _numerical("dz1", lambda z: _loss_from(z @ p["W2"] + p["b2"], t), z1, dz1))),
        ({"da1": da1}, (_numerical("da1", above_relu, a1, da1),)),
        ({"dW1": dW1, "db1": db1}, (_check("dW1", "numerical", dW1, fast["W1"][0].reshape(dW1.shape)),
                                    _check("db1", "numerical", db1, fast["b1"][0]))),
    ]


def layer_walk(net, x, t, lr=0.1):
    """The Walk of TwoLayerNet ``net`` on x (N, 784) floats and integer labels t (N,); see the module docstring."""
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    t = np.asarray(t, dtype=np.intp)
    w = _copy_net(net)
    walk = Walk(x, t, float(lr), {key: p.copy() for key, p in w.params.items()})
    walk.steps.append(LayerStep(0, "start", "", "start", None, {}))
    forward = _forward(w, x, t)
    a1, z1, a2 = (forward[i][0][name] for i, name in ((0, "a1"), (1, "z1"), (2, "a2")))
    for i, (tensors, checks) in enumerate(forward + _backward(w, x, t, a1, z1, a2), start=1):
        direction = "forward" if i <= 4 else "backward"
        walk.steps.append(LayerStep(i, direction, LAYERS[i], RULES[i], METHODS[i], tensors, checks))
    walk.steps.append(_update(w, walk, x, t))
    return walk


def _update(w, walk, x, t):
    """W <- W - lr · dW on a copy, then forward again: the new weights, y and loss after."""
    known = walk.known(8)
    after = _copy_net(w)
    for key in after.params:
        after.params[key] -= walk.lr * known[f"d{key}"]
    loss_after = after.loss(x, t)
    tensors = {"loss_after": np.float64(loss_after), "y_after": after.last_layer.y.copy(),
               **{f"{key}_after": p.copy() for key, p in after.params.items()}}
    check = _check("W1_after", "recomputed", after.params["W1"], walk.params["W1"] - walk.lr * known["dW1"])
    return LayerStep(9, "update", "", "update", None, tensors, (check,))
