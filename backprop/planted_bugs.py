"""Deliberately WRONG layers, for the gradient check page and its tests only. Never train with these.

Each class copies one layer of ``layers.py`` and changes ONE line of its backward pass (marked
``# BUG``). Forward passes are unchanged, so the numerical gradient, which uses forward passes
only, stays right while backprop goes wrong: exactly what a gradient check is for.
``BUGS`` says what each one breaks; ``plant(net, key)`` swaps one into a net (the parameters stay
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
        if self.t.size == self.y.size:  # one-hot
            dx = self.y - self.t
        else:
            dx = self.y.copy()
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
        return dout * ~self.mask  # BUG: the mask is True where x > 0, the side that passes: dout * self.mask


@dataclass(frozen=True)
class PlantedBug:
    """One deliberately wrong layer and what a gradient check should say about it."""

    key: str
    title: str
    explanation: str
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
        title="SoftmaxWithLoss: backward forgets to divide by the batch size",
        explanation="dx = (y - t) instead of (y - t) / N: every gradient is N times too big, so every "
                    "parameter is off by a relative error of (N - 1) / N. With N = 1 it is invisible.",
        layer="last_layer", replaces=SoftmaxWithLoss, layer_class=SoftmaxWithLossNoBatchDivide,
        corrupts=("W1", "b1", "W2", "b2"), min_batch=2,
    ),
    PlantedBug(
        key="affine_db_wrong_axis",
        title="Affine2: db summed over the wrong axis",
        explanation="db = dout.sum(axis=1) sums each sample's 10 outputs, giving one number per image "
                    "(shape (N,)) where b2 needs one per class (shape (10,)). Only b2 is affected.",
        layer="Affine2", replaces=Affine, layer_class=AffineDbWrongAxis, corrupts=("b2",),
    ),
    PlantedBug(
        key="sigmoid_backward_from_input",
        title="Sigmoid: backward from the input x instead of the output y",
        explanation="dx = dout * (1 - x) * x instead of dout * (1 - y) * y. The gradient reaching "
                    "Affine1 is wrong, so W1 and b1 are; W2 and b2, above the Sigmoid, are not.",
        layer="Sigmoid1", replaces=Sigmoid, layer_class=SigmoidBackwardFromInput,
        corrupts=("W1", "b1"), activation="sigmoid",
    ),
    PlantedBug(
        key="relu_mask_wrong_side",
        title="ReLU: mask on the wrong side",
        explanation="dx = dout * ~mask passes the gradient where the input was <= 0 and blocks it "
                    "where it was > 0. W1 and b1, below the ReLU, go wrong; W2 and b2 do not.",
        layer="Relu1", replaces=Relu, layer_class=ReluMaskWrongSide,
        corrupts=("W1", "b1"), activation="relu",
    ),
)}


class BugNotApplicable(ValueError):
    """The net has no layer for this bug to replace (e.g. the Sigmoid bug in a ReLU net)."""


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
        raise BugNotApplicable(f"{bug.title}: the net has no layer {bug.layer} "
                               f"(it has {', '.join(net.layers)}); use activation={bug.activation!r}")
    net.layers[bug.layer] = bug.layer_class.replacing(net.layers[bug.layer])
    return net


def build_net(key=None, **net_kwargs):
    """``TwoLayerNet(**net_kwargs)`` with the bug ``key`` planted (None: the correct net)."""
    net = TwoLayerNet(**net_kwargs)
    return plant(net, key) if key is not None else net
