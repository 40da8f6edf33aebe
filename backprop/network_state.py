"""The /network page's state as one table (name, type, range, default), read from and written to the URL.

``parse_params(query)`` gives a ``NetSetup`` and warnings (codes with the parameter and its value);
``query_for(setup)`` writes back only what differs from the defaults, plus the step. ``pick_images``
turns the setup into the batch the walk runs on, and ``train_for_a_moment`` is the "trained" weights.
"""
import math
from dataclasses import dataclass, fields, replace

import numpy as np

from .net import TwoLayerNet
from .training import Trainer, TrainConfig
from .urlstate import Problem, echo

MAX_N = 8
TRAIN_STEPS = 500
N_STEPS = 9  # the walk's steps 0..9: start, 4 forward, 4 backward, the update
# name -> (kind, allowed, default): kind "int" (inclusive range), "float" (open-closed range), "choice".
FIELDS = {
    "net": ("choice", ("full", "tiny"), "full"),
    "weights": ("choice", ("fresh", "trained"), "fresh"),
    "image": ("int", (0, 9_999), 0),
    "digit": ("int", (0, 9), None),  # None: pick by index
    "n": ("int", (1, MAX_N), 1),
    "seed": ("int", (0, 2**31 - 1), 0),
    "lr": ("float", (0.0, 10.0), 0.1),
    "step": ("int", (0, N_STEPS), 0),
}


@dataclass(frozen=True)
class NetSetup:
    """Everything the /network URL can carry."""

    net: str = "full"
    weights: str = "fresh"
    image: int = 0
    digit: int | None = None
    n: int = 1
    seed: int = 0
    lr: float = 0.1
    step: int = 0


def _read(kind, allowed, raw):
    """The typed value of one parameter, or None if it is not allowed."""
    raw = raw.strip()
    if len(raw) > 32 or not raw.isascii():  # int() refuses 4,300+ digits; "²" is no number of ours
        return None
    if kind == "choice":
        return raw if raw in allowed else None
    try:
        value = int(raw) if kind == "int" else float(raw)
    except ValueError:
        return None
    low, high = allowed
    if kind == "int":
        return value if low <= value <= high else None
    return value if math.isfinite(value) and low < value <= high else None


def parse_params(params):
    """(NetSetup, [urlstate.Problem]) from query parameters (str or list of str: the last counts); others
    ignored. A problem's ``code`` is a key of the page's catalogue (``bad_value``)."""
    values, warnings = {}, []
    for name, (kind, allowed, _default) in FIELDS.items():
        if name not in params:
            continue
        raw = params[name]
        raw = str(raw[-1] if isinstance(raw, (list, tuple)) else raw)
        value = _read(kind, allowed, raw)
        if value is None:
            warnings.append(Problem("bad_value", name, echo(raw)))
        else:
            values[name] = value
    return NetSetup(**values), warnings


def query_for(setup):
    """The URL parameters of this moment: the step always, every other field only where it is not the default."""
    defaults = NetSetup()
    query = {}
    for f in fields(NetSetup):
        value = getattr(setup, f.name)
        if f.name == "step" or value != getattr(defaults, f.name):
            if value is not None:
                query[f.name] = repr(value) if isinstance(value, float) and not value.is_integer() else \
                    str(int(value) if isinstance(value, float) else value)
    return query


def pick_images(setup, images, labels):
    """(x (N, 784) floats in [0, 1], t (N,), first index): N images from ``image`` on, or from the first
    image of ``digit`` at or after it. images (uint8), labels: a test set (N wraps around its end).
    """
    start = setup.image % len(images)
    if setup.digit is not None:
        hits = np.flatnonzero(labels == setup.digit)
        after = hits[hits >= start]
        start = int(after[0] if len(after) else hits[0])
    idx = (start + np.arange(setup.n)) % len(images)
    return images[idx].reshape(setup.n, -1) / 255.0, labels[idx].astype(np.intp), start


def with_step(setup, step):
    return replace(setup, step=max(0, min(N_STEPS, step)))


def fresh_net(seed):
    """The book's TwoLayerNet(784, 50, 10), weights N(0, 0.01²) from ``seed``."""
    return TwoLayerNet(784, 50, 10, weight_init_std=0.01, dtype=np.float64, seed=seed)


def train_for_a_moment(seed, data, steps=None, progress=None):
    """TwoLayerNet trained for ``steps`` (default TRAIN_STEPS) mini-batches of 100 by the core's Trainer
    (SGD, lr 0.1) on ``data``; ``progress(fraction)`` is called every 50 steps."""
    steps = steps or TRAIN_STEPS
    trainer = Trainer(TrainConfig(iterations=steps, seed=seed), data=data)  # float32, as the training page
    for i in range(steps):
        trainer.step()
        if progress is not None and (i + 1) % 50 == 0:
            progress((i + 1) / steps)
    net = fresh_net(seed)
    for key, p in trainer.net.params.items():
        np.copyto(net.params[key], p)
    return net
