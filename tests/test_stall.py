"""A run's health (backprop.health): the badges' checks, and a network that stopped learning said so by
check_stalled on real short runs of the bundled MNIST sample (the issue's /training?lr=10), and never on
runs that learn or learn slowly."""
import functools
import math

import numpy as np
import pytest

from backprop.health import ZERO_UPDATE, check_first_loss, check_stalled, check_update_ratio, update_ratios
from backprop.training import TrainConfig, Trainer


@functools.cache
def _run(steps, every, changes):
    return _steps(steps, every, **dict(changes))


def run(steps=150, every=25, **changes):
    return _run(steps, every, tuple(sorted(changes.items())))


def _steps(steps=150, every=25, **changes):
    """(loss iterations, losses, ratio iterations, ratios) of ``steps`` real steps, ratios every ``every``."""
    trainer = Trainer(TrainConfig(iterations=steps, **changes))
    losses, r_its, ratios = [], [], []
    for i in range(steps):
        rec = trainer.step(ratios=i == 0 or (i + 1) % every == 0)
        losses.append(rec.loss)
        if rec.ratios is not None:
            r_its.append(rec.iteration)
            ratios.append(rec.ratios)
    return np.arange(1, steps + 1), np.array(losses), np.array(r_its), np.array(ratios)


def test_lr_10_kills_every_relu_and_is_called_dead():
    its, losses, r_its, ratios = run(lr=10.0)
    stall = check_stalled(its, losses, r_its, ratios)
    assert stall.cause == "dead" and stall.stalled
    assert abs(stall.loss - math.log(10)) < 0.1 * math.log(10)  # it stays near ln 10 = 2.30
    assert stall.ratio < ZERO_UPDATE and check_update_ratio(ratios[-1][0]).status == "zero"  # the badge agrees


def test_a_jump_far_above_ln10_then_frozen_weights_is_called_too_high():
    """As Adam at lr=1 does after a few hundred steps: losses of 500, then 2.35 with ratios near 3e-6."""
    its = np.arange(1, 301)
    losses = np.where(its < 5, 500.0, 2.35)
    r_its = np.arange(25, 301, 25)
    ratios = np.full((len(r_its), 2), 3e-6)
    assert check_stalled(its, losses, r_its, ratios).cause == "too_high"
    assert check_stalled(its, np.full(300, 2.35), r_its, ratios).cause is None  # no jump: maybe just slow


@pytest.mark.parametrize("changes", [dict(lr=1e-4)])
def test_runs_that_learn_or_learn_slowly_are_not_stalled(changes):
    """lr=1e-4 keeps the loss at 2.30 too, but its updates are alive: the remedy would be the opposite one."""
    stall = check_stalled(*run(**changes))
    assert not stall.stalled and stall.cause is None


def test_too_early_or_without_ratios_says_nothing():
    its, losses, r_its, ratios = run(steps=150, lr=10.0)
    assert check_stalled(its[:50], losses[:50], r_its[:2], ratios[:2]).cause is None  # fewer than 100 steps
    assert check_stalled(its, losses, [], np.empty((0, 2))).cause is None
    assert check_stalled([], [], [], []).cause is None
    # downsampled curves (the page's Curve) are judged the same
    assert check_stalled(its[::5], losses[::5], r_its, ratios).cause == "dead"


def test_sanity_checks():
    assert check_first_loss(2.31).status == "good" and check_first_loss(2.31).expected == pytest.approx(2.302585)
    assert check_first_loss(5.0).status == "high" and check_first_loss(1.0).status == "low"
    assert check_first_loss(None).status == "unknown" and check_first_loss(math.nan).status == "high"
    assert [check_update_ratio(r).status for r in (1e-3, 5e-5, 0.05, 0.5, None)] == [
        "good", "low", "high", "too_high", "unknown"]
    w = {"W1": np.full((2, 2), 3.0), "b1": np.zeros(2)}
    after = {"W1": w["W1"] - 0.003 * np.ones((2, 2)), "b1": np.ones(2)}
    assert update_ratios(w, after) == {"W1": pytest.approx(1e-3)}  # ||0.003 * 1|| / ||3 * 1||
