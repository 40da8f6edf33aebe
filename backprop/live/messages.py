"""What a run's controller (``LiveRun``) and its training process say to each other, declared once.

Every message is a small frozen dataclass sent whole through a ``multiprocessing.connection``
(pickled); both ends import these classes and read fields by name. Errors cross the boundary as an
``ErrorInfo``: a code and plain values, never an exception object (some cannot be rebuilt from
pickle, e.g. an ``IDXError``) and never a sentence (the page words the code).
"""
import os
import traceback
from dataclasses import dataclass, field

import numpy as np

from ..datasets import DatasetNotFoundError, problem_status
from ..idx import IDXError
from ..training import ConfigError

# A run's states (the process reports PAUSED or FINISHED when it stops).
READY, RUNNING, PAUSED, FINISHED, STOPPED = "ready", "running", "paused", "finished", "stopped"

# --- controller -> process ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Init:
    """The first message: build the Trainer of this run (data None: the shared copy of config.dataset, see
    shared.py), and restore ``checkpoint`` (a Checkpoint) into it if given."""

    config: object
    data: object = None
    checkpoint: object = None


@dataclass(frozen=True)
class Run:
    """Step until ``target`` iterations (finished), or pause at ``pause_at`` if given."""

    target: int
    pause_at: int | None = None


@dataclass(frozen=True)
class Pause:
    """Stop stepping after the current step (or evaluation chunk), then report Stopped."""


@dataclass(frozen=True)
class Adjust:
    """Change live knobs (TrainConfig.LIVE_FIELDS) from the next step on."""

    changes: dict


@dataclass(frozen=True)
class SendParams:
    """Send a copy of the weights now (between two steps), without stopping."""


@dataclass(frozen=True)
class Close:
    """End the process."""


# --- process -> controller ---------------------------------------------------------------------------

@dataclass(frozen=True)
class ErrorInfo:
    """An error as a code and values. Codes: "dataset_missing" and "data_corrupt" {source, status, folder, file}
    (a ``datasets.SourceStatus``: its code as "status"), "config" {problems}, "memory" {}, "bug" {type,
    traceback} (for the server's log, never shown); the controller adds "process_ended", "start_failed" (no
    values) and "budget_*" / "server_full" (see budget.py and pool.py)."""

    code: str
    values: dict = field(default_factory=dict)

    @classmethod
    def of(cls, exc, source=None):
        """The ErrorInfo of ``exc``, raised while training (or loading the data of) the source ``source``."""
        if isinstance(exc, (DatasetNotFoundError, IDXError)):
            status = problem_status(exc, source)
            code = "dataset_missing" if isinstance(exc, DatasetNotFoundError) else "data_corrupt"
            if status is None:  # a file of no known source (data handed in by a test, say)
                return cls(code, {"source": "", "status": "missing" if code == "dataset_missing" else "unreadable",
                                  "folder": os.path.dirname(getattr(exc, "path", "")),
                                  "file": getattr(exc, "file", "")})
            return cls(code, {"source": status.source, "status": status.code, "folder": str(status.folder),
                              "file": status.file})
        if isinstance(exc, ConfigError):
            return cls("config", {"problems": exc.problems})
        if isinstance(exc, MemoryError):
            return cls("memory")
        return cls("bug", {"type": type(exc).__name__, "traceback": "".join(traceback.format_exception(exc))})


@dataclass(frozen=True)
class Ready:
    """The Trainer is built: what the controller needs to know before the first step."""

    iter_per_epoch: int
    n_layers: int
    dataset_title: str
    params: dict


@dataclass(frozen=True)
class Failed:
    """Building the Trainer failed; the process ends."""

    error: ErrorInfo


@dataclass(frozen=True)
class Batch:
    """What happened since the last report (sent every FLUSH_EVERY seconds while running, and on stopping)."""

    losses: np.ndarray  # float32, one per step
    evals: list  # (iteration, epoch, train accuracy, test accuracy) per evaluation
    ratio_iterations: list
    ratios: list  # update-to-weight ratios of W1, W2, ... at each of ratio_iterations
    eval_seconds: float
    iteration: int
    iter_per_epoch: int


@dataclass(frozen=True)
class Adjusted:
    """An Adjust took effect from step ``iteration``."""

    iteration: int
    changes: dict
    iter_per_epoch: int


@dataclass(frozen=True)
class Params:
    """The answer to SendParams."""

    params: dict


@dataclass(frozen=True)
class Divergence:
    """A step whose loss was NaN or infinite: the update was skipped and the run paused."""

    iteration: int
    loss: float
    lr: float
    weights_finite: bool  # False: an earlier update already broke the weights, the run cannot continue


@dataclass(frozen=True)
class Checkpoint:
    """What the run's next step depends on (process.trainer_state), sent right after a Batch."""

    iteration: int
    state: dict
    evaluation_due: bool


@dataclass(frozen=True)
class Stopped:
    """The process stopped stepping (a Batch with the rest of the history came just before)."""

    state: str  # FINISHED or PAUSED
    iteration: int
    params: dict
    divergence: Divergence | None = None
    error: ErrorInfo | None = None
