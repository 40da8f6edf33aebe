"""Optimizers of chapter 6 (book's ``common/optimizer.py``), with the book's defaults.

Each ``update(params, grads)`` changes the arrays in ``params`` in place, so the layers that hold
those same arrays see the new values; per-parameter state is created on first use.
"""
import numpy as np


class SGD:
    """W -= lr * dW"""

    def __init__(self, lr=0.01):
        self.lr = lr

    def update(self, params, grads):
        for key, g in grads.items():
            params[key] -= self.lr * g


class Momentum:
    """v = momentum * v - lr * dW;  W += v"""

    def __init__(self, lr=0.01, momentum=0.9):
        self.lr = lr
        self.momentum = momentum
        self.v = None

    def update(self, params, grads):
        if self.v is None:
            self.v = {key: np.zeros_like(p) for key, p in params.items()}
        for key, g in grads.items():
            v = self.v[key]
            v *= self.momentum
            v -= self.lr * g
            params[key] += v


class Nesterov:
    """Nesterov's accelerated gradient, Bengio et al. 2012 (arXiv 1212.0901) eq. 7, with v the previous velocity:

    W += momentum**2 * v - (1 + momentum) * lr * dW;  then v = momentum * v - lr * dW.
    The same order as the book's ``common/optimizer.py`` (W first, then v).
    """

    def __init__(self, lr=0.01, momentum=0.9):
        self.lr = lr
        self.momentum = momentum
        self.v = None

    def update(self, params, grads):
        if self.v is None:
            self.v = {key: np.zeros_like(p) for key, p in params.items()}
        m = self.momentum
        for key, g in grads.items():
            v = self.v[key]
            params[key] += m * m * v
            params[key] -= (1 + m) * self.lr * g
            v *= m
            v -= self.lr * g


class AdaGrad:
    """h += dW**2;  W -= lr * dW / (sqrt(h) + 1e-7)"""

    def __init__(self, lr=0.01):
        self.lr = lr
        self.h = None

    def update(self, params, grads):
        if self.h is None:
            self.h = {key: np.zeros_like(p) for key, p in params.items()}
        for key, g in grads.items():
            self.h[key] += g * g
            params[key] -= self.lr * g / (np.sqrt(self.h[key]) + 1e-7)


class RMSprop:
    """h = decay * h + (1 - decay) * dW**2;  W -= lr * dW / (sqrt(h) + 1e-7)"""

    def __init__(self, lr=0.01, decay_rate=0.99):
        self.lr = lr
        self.decay_rate = decay_rate
        self.h = None

    def update(self, params, grads):
        if self.h is None:
            self.h = {key: np.zeros_like(p) for key, p in params.items()}
        for key, g in grads.items():
            h = self.h[key]
            h *= self.decay_rate
            h += (1 - self.decay_rate) * g * g
            params[key] -= self.lr * g / (np.sqrt(h) + 1e-7)


class Adam:
    """Adam (Kingma & Ba 2015) with bias correction folded into the step size, as in the book."""

    def __init__(self, lr=0.001, beta1=0.9, beta2=0.999):
        self.lr = lr
        self.beta1 = beta1
        self.beta2 = beta2
        self.iter = 0
        self.m = None
        self.v = None

    def update(self, params, grads):
        if self.m is None:
            self.m = {key: np.zeros_like(p) for key, p in params.items()}
            self.v = {key: np.zeros_like(p) for key, p in params.items()}
        self.iter += 1
        # A Python float: a NumPy float64 scalar would turn every float32 update into float64 temporaries.
        lr_t = float(self.lr * np.sqrt(1.0 - self.beta2**self.iter) / (1.0 - self.beta1**self.iter))
        for key, g in grads.items():
            m, v = self.m[key], self.v[key]
            m += (1 - self.beta1) * (g - m)
            v += (1 - self.beta2) * (g * g - v)
            params[key] -= lr_t * m / (np.sqrt(v) + 1e-7)


OPTIMIZERS = {cls.__name__: cls for cls in (SGD, Momentum, Nesterov, AdaGrad, RMSprop, Adam)}


def make_optimizer(name, **kwargs):
    """An optimizer by class name, e.g. ``make_optimizer("Adam", lr=1e-3)``."""
    try:
        cls = OPTIMIZERS[name]
    except KeyError:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}") from None
    return cls(**kwargs)
