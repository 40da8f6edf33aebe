"""Deliberately WRONG layers, for the gradient check page and its tests only. Never train with these.

Each class copies one layer of ``layers.py`` and changes exactly ONE line of its backward pass
(marked ``# BUG``; the page shows the two side by side). Forward passes are unchanged, so the numerical gradient, which uses forward passes
only, stays right while backprop goes wrong: exactly what a gradient check is for.
``BUGS`` says what each one breaks (by code: the page's catalogue words each bug by its key); ``plant(net, key)`` swaps one into a net (the parameters stay
shared), ``build_net(key, ...)`` builds a TwoLayerNet with it.
"""
from dataclasses import dataclass

import numpy as np

from .layers import Affine, Relu, Sigmoid, SoftmaxWithLoss
from .net import TwoLayerNet


class SoftmaxWithLossNoBatchDivide(SoftmaxWithLoss):
    """SoftmaxWithLoss whose backward forgets that the loss is a mean: every gradient is N times too big."""

    @classmethod
    def replacing(cls, layer):
        return cls()

    def backward(self, dout=1):
        batch_size = self.t.shape[0]
        dx = self.y.copy()
        if self.t.ndim == 2:  # one-hot: subtract in place, so int or float64 targets keep y's dtype
            dx -= self.t
        else:
            dx[np.arange(batch_size), self.t] -= 1
        dx *= dout  # BUG: the loss is the mean over the batch, so this must be dout / batch_size
        return dx


class AffineDbWrongAxis(Affine):
    """Affine whose db sums each sample's outputs (axis=1) instead of summing over the batch (axis=0)."""

    @classmethod
    def replacing(cls, layer):
        return cls(layer.W, layer.b, need_dx=layer.need_dx)  # the very same W and b arrays

    def backward(self, dout):
        self.dW = self.x.T @ dout
        self.db = dout.sum(axis=1)  # BUG: shape (N,), not b's shape; b is added to every sample, so sum axis=0
        if not self.need_dx:
            return None
        return (dout @ self.W.T).reshape(self.original_x_shape)


class SigmoidBackwardFromInput(Sigmoid):
    """Sigmoid whose backward uses its input x where the formula needs its output y = sigmoid(x)."""

    def __init__(self):
        super().__init__()
        self.x = None  # the input: kept only so that backward can misuse it

    @classmethod
    def replacing(cls, layer):
        return cls()

    def forward(self, x):
        self.x = x
        return super().forward(x)

    def backward(self, dout):
        return dout * (1.0 - self.x) * self.x  # BUG: dy/dx = y * (1 - y) with the OUTPUT y, not the input x


class ReluMaskWrongSide(Relu):
    """ReLU whose backward lets the gradient through where x <= 0 and blocks it where x > 0."""

    @classmethod
    def replacing(cls, layer):
        return cls()

    def backward(self, dout):
        # A new array: the book's `dout[self.mask] = 0` would zero the caller's dout in place.
        return dout * ~self.mask  # BUG: the mask is True where x > 0, the side that passes: dout * self.mask


@dataclass(frozen=True)
class PlantedBug:
    """One deliberately wrong layer and what a gradient check should say about it (its words: by key, in the page's catalogue)."""

    key: str
    layer: str  # name in net.layers, or "last_layer"
    replaces: type  # the correct layer class
    layer_class: type  # the wrong one
    corrupts: tuple  # the parameters whose backprop gradient it makes wrong
    activation: str | None = None  # the activation a net needs for this layer to exist
    min_batch: int = 1  # the smallest batch on which the bug changes anything

    def expected(self, batch_size):
        """The parameters a check on batch_size images should flag: ``corrupts``, or none below ``min_batch``."""
        return self.corrupts if batch_size >= self.min_batch else ()


BUGS = {bug.key: bug for bug in (
    PlantedBug(
        key="softmax_no_batch_divide",
        layer="last_layer", replaces=SoftmaxWithLoss, layer_class=SoftmaxWithLossNoBatchDivide,
        corrupts=("W1", "b1", "W2", "b2"), min_batch=2,
    ),
    PlantedBug(
        key="affine_db_wrong_axis",
        layer="Affine2", replaces=Affine, layer_class=AffineDbWrongAxis, corrupts=("b2",),
    ),
    PlantedBug(
        key="sigmoid_backward_from_input",
        layer="Sigmoid1", replaces=Sigmoid, layer_class=SigmoidBackwardFromInput,
        corrupts=("W1", "b1"), activation="sigmoid",
    ),
    PlantedBug(
        key="relu_mask_wrong_side",
        layer="Relu1", replaces=Relu, layer_class=ReluMaskWrongSide,
        corrupts=("W1", "b1"), activation="relu",
    ),
)}


class BugNotApplicable(ValueError):
    """The net has no layer for this bug to replace (e.g. the Sigmoid bug in a ReLU net).

    Attributes say what to do: ``key``, ``layer`` (the one missing), ``activation`` (the one the bug needs).
    """

    def __init__(self, key, layer=None, activation=None):  # defaults: pickle rebuilds it from its message alone
        super().__init__(f"{key}: the net has no layer {layer}; use activation={activation!r}" if layer else key)
        self.key, self.layer, self.activation = key, layer, activation


def plant(net, key):
    """Swap the wrong layer of ``BUGS[key]`` into net, in place, and return net.

    The new layer holds the same parameter arrays as the one it replaces, so net.params still
    drives it and ``net.loss`` (forward) is unchanged; only ``net.gradient`` (backward) goes wrong.
    """
    bug = BUGS[key]
    if bug.layer == "last_layer":
        net.last_layer = bug.layer_class.replacing(net.last_layer)
        return net
    if bug.layer not in net.layers:
        raise BugNotApplicable(key, bug.layer, bug.activation)
    net.layers[bug.layer] = bug.layer_class.replacing(net.layers[bug.layer])
    return net


def build_net(key=None, **net_kwargs):
    """``TwoLayerNet(**net_kwargs)`` with the bug ``key`` planted (None: the correct net)."""
    net = TwoLayerNet(**net_kwargs)
    return plant(net, key) if key is not None else net
