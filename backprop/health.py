"""Is a run healthy? The sanity checks the training page shows beside its curves, from what a run records.

``update_ratios`` measures how big one update was (||dW|| / ||W|| per weight matrix, recorded by
``Trainer.step(ratios=True)``); ``check_first_loss`` and ``check_update_ratio`` give the badges their
status ("good", "low", "high", ...); ``check_stalled`` says whether a run stopped learning and why
("dead" units, or a learning rate far too high), so the page can pause it with the cause and the remedy.
Codes and values only: the page words them.
"""
import math
from dataclasses import dataclass

import numpy as np


def update_ratios(before, after):
    """{"W1": ||W_after - W_before|| / ||W_before||, ...} for the weight matrices: how big one update was.

    A healthy run updates each weight matrix by about 1e-3 of its size per step (CS231n's rule of thumb).
    """
    ratios = {}
    for key, w0 in before.items():
        if key.startswith("W"):
            norm = float(np.linalg.norm(w0))
            step = float(np.linalg.norm(after[key] - w0))
            ratios[key] = step / norm if norm > 0 else math.inf
    return ratios


@dataclass(frozen=True)
class Check:
    """A sanity check's verdict: ``status`` is "good", "low" or "high" (or "unknown" before any data)."""

    value: float
    expected: float
    status: str


def check_first_loss(loss, n_classes=10, tolerance=0.1):
    """The first mini-batch loss of an untrained net should be near ln(n_classes) (2.30 for 10 classes).

    Small random weights give nearly uniform softmax outputs, so cross-entropy is -ln(1/n) = ln n.
    Far above means the initial weights are too large (confident wrong answers); "good" within ``tolerance``.
    """
    expected = math.log(n_classes)
    if loss is None or not math.isfinite(loss):
        return Check(math.nan if loss is None else float(loss), expected, "unknown" if loss is None else "high")
    rel = (loss - expected) / expected
    status = "good" if abs(rel) <= tolerance else ("high" if rel > 0 else "low")
    return Check(float(loss), expected, status)


ZERO_UPDATE = 1e-8  # an update-to-weight ratio below this is no update at all (float32 resolves ~1e-7 of a weight)


def check_update_ratio(ratio, low=1e-4, high=1e-2, too_high=1e-1):
    """An update-to-weight ratio near 1e-3 is "good" (low..high). Below: the layer learns slowly (or has
    settled); "zero" below ZERO_UPDATE: the layer does not change at all (dead units: a larger learning
    rate cannot help); "high" up to ``too_high`` is common early in a run; beyond that training is unstable."""
    if ratio is None or not math.isfinite(ratio):
        return Check(math.nan if ratio is None else float(ratio), 1e-3, "unknown" if ratio is None else "too_high")
    if ratio < ZERO_UPDATE:
        status = "zero"
    elif ratio < low:
        status = "low"
    elif ratio <= high:
        status = "good"
    else:
        status = "high" if ratio <= too_high else "too_high"
    return Check(float(ratio), 1e-3, status)


@dataclass(frozen=True)
class Stall:
    """Whether a run stopped learning. ``cause``: None (it learns, or too early to say), "dead" (no weight
    changes any more: with ReLU, every unit died), or "too_high" (the loss jumped far above ln 10, then
    settled there with the weights almost frozen: saturated units after steps far too large).
    ``loss``: mean loss over the window; ``ratio``: the largest update-to-weight ratio in it."""

    cause: str | None
    loss: float = math.nan
    ratio: float = math.nan
    since: int = 0  # the first iteration of the window judged

    @property
    def stalled(self):
        return self.cause is not None


def check_stalled(loss_iterations, losses, ratio_iterations, ratios, *, peak_loss=None, n_classes=10, window=100,
                  loss_tolerance=0.1, slow=1e-4, spike=2.0):
    """Has the network stopped learning? Fed by what a run already records: the loss per iteration
    (``loss_iterations``, ``losses``: any downsampling), the update-to-weight ratios measured now and
    then (``ratio_iterations`` (m,), ``ratios`` (m, layers)), and the largest loss seen (``peak_loss``,
    else the largest in ``losses``).

    Stalled when, over the last ``window`` iterations, the mean loss stays within ``loss_tolerance``
    (relative) of ln(n_classes), the loss of a network that answers the same for every image, and
    - every ratio is below ZERO_UPDATE ("dead": the weights do not change at all; with ReLU every unit
      outputs 0 for every image, so no gradient reaches the weights), or
    - every ratio is below ``slow`` after the loss once exceeded ``spike`` x ln(n_classes) ("too_high").
    A run that learns slowly at a small learning rate has small but live updates and never spiked: it is
    not stalled (its remedy is the opposite one). Returns a Stall.
    """
    its, loss = np.asarray(loss_iterations, dtype=np.float64), np.asarray(losses, dtype=np.float64)
    r_its, r = np.asarray(ratio_iterations, dtype=np.float64), np.asarray(ratios, dtype=np.float64)
    if len(its) == 0 or its[-1] < window or len(r_its) == 0:
        return Stall(None)
    since = its[-1] - window
    recent_loss, recent_r = loss[its > since], r[r_its > since]
    if len(recent_loss) == 0 or len(recent_r) < 2 or not np.isfinite(recent_loss).all():
        return Stall(None)
    mean, top = float(recent_loss.mean()), float(np.max(recent_r)) if recent_r.size else math.nan
    expected = math.log(n_classes)
    if not (abs(mean - expected) <= loss_tolerance * expected and math.isfinite(top)):
        return Stall(None, mean, top, int(since) + 1)
    finite = loss[np.isfinite(loss)]
    peak = peak_loss if peak_loss is not None else (float(finite.max()) if len(finite) else math.nan)
    if top < ZERO_UPDATE:
        cause = "dead"
    elif top < slow and peak > spike * expected:
        cause = "too_high"
    else:
        cause = None
    return Stall(cause, mean, top, int(since) + 1)
