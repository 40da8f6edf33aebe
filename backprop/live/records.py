"""What a run shows and what remains of it: a Snapshot of a run in progress, the RunRecord of one that ended.

Data only: copies of the history and the weights, safe to use in any thread.
"""
import math
from dataclasses import dataclass

import numpy as np

from ..training import TrainConfig, net_from_params
from .history import MAX_POINTS, Curve, loss_curve
from .messages import Divergence, ErrorInfo

LOADED = "loaded"  # the status of a record made from a weights file

__all__ = ["LOADED", "Adjustment", "Divergence", "RunRecord", "Snapshot"]


@dataclass(frozen=True)
class Adjustment:
    iteration: int  # first step that uses the new values
    changes: tuple  # ((field, value), ...)


@dataclass(frozen=True, eq=False)
class Snapshot:
    """What the live views draw, copied under the run's lock (safe to use in any thread)."""

    run_id: int
    label: str
    state: str
    config: TrainConfig  # with mid-run changes applied
    iteration: int
    target: int
    epoch: float
    iter_per_epoch: int
    rate: float  # iterations per second over the last few seconds, evaluations included (nan if unknown)
    eta: float  # seconds left at that rate (nan if unknown)
    seconds: float  # wall time spent running
    eval_seconds: float  # of which evaluating
    loss: Curve
    evals: np.ndarray  # (k, 4): iteration, epoch, train accuracy, test accuracy
    ratio_iterations: np.ndarray  # (m,)
    ratios: np.ndarray  # (m, n_layers): update-to-weight ratio of W1, W2, ...
    evaluations: int  # how many evaluations were made (evals may be downsampled)
    first_loss: float | None
    divergence: Divergence | None
    error: ErrorInfo | None  # why the run cannot go on (the page words the code)
    adjustments: tuple
    dataset_title: str
    waiting: int = 0  # its place in the server's queue of runs waiting to step (0: not waiting)
    age: float = math.nan  # seconds since the trainer last reported, while running (the figure is that old)

    @property
    def steps_per_s(self):
        """Training steps per second of running time, evaluations excluded (comparable with backprop.bench)."""
        busy = self.seconds - self.eval_seconds
        return self.iteration / busy if busy > 0 and self.iteration else math.nan

    @property
    def last_ratios(self):
        return {f"W{i + 1}": float(r) for i, r in enumerate(self.ratios[-1])} if len(self.ratios) else {}


@dataclass(frozen=True, eq=False)
class RunRecord:
    """A run that ended (finished, stopped, or loaded from a file): data only, no trainer."""

    run_id: int
    label: str
    status: str  # FINISHED, STOPPED or LOADED
    config: TrainConfig  # as started: with ``adjustments`` replayed it reproduces the run
    adjustments: tuple
    iterations: int
    seconds: float
    losses: np.ndarray  # float32, see LossHistory (stride)
    loss_stride: int
    evals: np.ndarray  # (k, 4) as Snapshot.evals
    params: dict  # copies of the weights
    diverged: bool
    dataset_title: str = ""
    group: int | None = None  # runs queued together by a comparison preset share a group

    @property
    def final(self):
        """(train accuracy, test accuracy) of the last evaluation, or (nan, nan)."""
        return (float(self.evals[-1, 2]), float(self.evals[-1, 3])) if len(self.evals) else (math.nan, math.nan)

    @classmethod
    def loaded(cls, run_id, label, config, params):
        """The record of weights loaded from a file: no history, status "loaded"."""
        return cls(run_id=run_id, label=label, status=LOADED, config=config, adjustments=(), iterations=0,
                   seconds=0.0, losses=np.empty(0, np.float32), loss_stride=1, evals=np.empty((0, 4)),
                   params=params, diverged=False)

    def curve(self, max_points=MAX_POINTS):
        its = (np.arange(1, len(self.losses) + 1) * self.loss_stride).astype(np.int64)
        return loss_curve(self.losses, its, self.loss_stride, max_points)

    def net(self):
        return net_from_params(self.config, self.params)
