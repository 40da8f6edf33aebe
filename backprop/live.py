"""Training in the background for the live page: a run controller, its bounded history, run records, exports.

``LiveRun`` owns one Trainer in a child process that steps it while the run's state is "running";
the page talks to it through methods that send commands and wait for the child's answer, so Pause
and Stop take effect between two steps (or two evaluation chunks), and only the child ever touches
the training network: snapshots, records and exports use copies of the weights it sends.
``Lab`` is one browser session's bench: the current run, the runs a comparison preset queued, and
the records of finished or stopped runs. Nothing here imports streamlit or calls it.
"""
import collections
import csv
import io
import json
import math
import os
import socket
import subprocess
import sys
import threading
import time
import zipfile
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from .training import LIVE_FIELDS, TrainConfig, Trainer, net_from_params, param_shapes, update_ratios

READY, RUNNING, PAUSED, FINISHED, STOPPED = "ready", "running", "paused", "finished", "stopped"

EVAL_CHUNK = 1000  # images per forward pass when evaluating: Pause is obeyed between chunks, and a
# chunk this size stays in cache (faster than 2,000, and the training steps after it are faster too)
RATIO_EVERY = 25  # measure update-to-weight ratios on the first step and every this many steps
SMOOTHING = 0.95  # EMA factor per iteration for the smoothed loss (run both ways: about a 40-step window)
MAX_POINTS = 1000  # buckets a drawn curve is reduced to


# --- histories --------------------------------------------------------------------------------------

class Rows:
    """A growable (n, width) float64 array: amortised O(1) appends; ``array()`` returns a copy."""

    def __init__(self, width, initial=64):
        self._buf = np.empty((initial, width))
        self._n = 0

    def __len__(self):
        return self._n

    def append(self, row):
        if self._n == len(self._buf):
            grown = np.empty((2 * len(self._buf), self._buf.shape[1]))
            grown[: self._n] = self._buf
            self._buf = grown
        self._buf[self._n] = row
        self._n += 1

    def array(self):
        return self._buf[: self._n].copy()


class LossHistory:
    """Every mini-batch loss as float32, in at most ``capacity`` slots (memory stays bounded).

    When full, neighbouring pairs are averaged and ``stride`` doubles: entry i then holds the mean
    loss of iterations i*stride+1 .. (i+1)*stride. Until then (stride 1) entry i is iteration i+1.
    """

    def __init__(self, capacity=1 << 20, initial=4096):
        if capacity % 2 or capacity < 2:
            raise ValueError("capacity must be a positive even number")
        self.capacity = capacity
        self.stride = 1
        self.count = 0  # iterations appended
        self._buf = np.empty(min(initial, capacity), dtype=np.float32)
        self._n = 0
        self._partial = 0.0  # sum of the losses of a bucket not yet full (stride > 1)

    def __len__(self):
        return self._n

    def append(self, loss):
        self.count += 1
        if self.stride > 1:
            self._partial += loss
            if self.count % self.stride:
                return
            loss, self._partial = self._partial / self.stride, 0.0
        if self._n == len(self._buf):
            if self._n < self.capacity:
                grown = np.empty(min(2 * self._n, self.capacity), dtype=np.float32)
                grown[: self._n] = self._buf
                self._buf = grown
            else:
                half = self._n // 2
                # float64 for the sum: float32 halves could overflow to inf on huge (finite) losses
                self._buf[:half] = (self._buf[0::2].astype(np.float64) + self._buf[1::2]) / 2
                self._n = half
                # ``loss`` covers the first half of the next, twice as long bucket: it waits in _partial
                self._partial = loss * self.stride
                self.stride *= 2
                return
        self._buf[self._n] = loss
        self._n += 1

    def values(self):
        """Copy of the stored losses (float32)."""
        return self._buf[: self._n].copy()

    def iterations(self):
        """The last iteration each stored value covers (1-based)."""
        return (np.arange(1, self._n + 1) * self.stride).astype(np.int64)


@dataclass(frozen=True, eq=False)
class Curve:
    """A curve reduced to buckets: x (mean iteration), mean, lo, hi per bucket (NaN where nothing finite),
    smooth (the means smoothed, see ``smooth``), and ``bucket``, the stored values per bucket."""

    x: np.ndarray
    mean: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    smooth: np.ndarray
    bucket: int

    def __len__(self):
        return len(self.x)


def downsample(x, y, max_points=MAX_POINTS):
    """Reduce (x, y) to at most ``max_points`` buckets of equal size: (x mean, y mean, y min, y max) each.

    Non-finite y (a diverged loss) counts as missing, so a NaN spoils no bucket; a bucket with no finite
    value gives NaN. Mean for the smoothed line, min and max for the faint raw band: together they
    look like the full-resolution plot at any zoom the chart can show.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n = len(y)
    if n == 0:
        empty = np.empty(0)
        return empty, empty, empty, empty, 1
    b = max(1, math.ceil(n / max_points))
    k = math.ceil(n / b)
    pad = k * b - n
    finite = np.isfinite(y)
    yy = np.pad(np.where(finite, y, 0.0), (0, pad)).reshape(k, b)
    ok = np.pad(finite, (0, pad)).reshape(k, b)
    counts = ok.sum(axis=1)
    xx = np.pad(x, (0, pad)).reshape(k, b)
    sizes = np.full(k, b)
    sizes[-1] = b - pad
    xm = xx.sum(axis=1) / sizes
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = yy.sum(axis=1) / counts
    lo = np.where(ok, np.pad(y, (0, pad), constant_values=np.inf).reshape(k, b), np.inf).min(axis=1)
    hi = np.where(ok, np.pad(y, (0, pad), constant_values=-np.inf).reshape(k, b), -np.inf).max(axis=1)
    none = counts == 0
    mean[none] = lo[none] = hi[none] = np.nan
    return xm, mean, lo, hi, b


def ema(values, beta):
    """Debiased exponential moving average (as TensorBoard's smoothing): s_k = beta*s_(k-1) + (1-beta)*v_k,
    divided by 1 - beta^(k+1) so the start is not pulled towards 0. NaN values are skipped (carried over)."""
    out = np.empty(len(values))
    s, weight = 0.0, 0.0
    for i, v in enumerate(values):
        if math.isfinite(v):
            s = beta * s + (1 - beta) * v
            weight = beta * weight + (1 - beta)
        out[i] = s / weight if weight > 0 else math.nan
    return out


def smooth(values, beta):
    """Zero-phase smoothing: the debiased EMA run forwards, then backwards over the result.

    A one-way EMA lags behind a falling loss by about 1/(1-beta) steps, which reads as "the
    smoothed loss is higher than the real one"; the backward pass cancels that lag (as filtfilt).
    """
    return ema(ema(values, beta)[::-1], beta)[::-1]


def loss_curve(history_values, history_iterations, stride=1, max_points=MAX_POINTS, beta=SMOOTHING):
    """The loss history as a Curve for drawing: bucket means and extremes, and their smoothed line.

    The smoothing runs over the bucket means with beta**(iterations per bucket), which keeps the
    per-iteration time constant however many iterations a bucket holds.
    """
    x, mean, lo, hi, b = downsample(history_iterations, history_values, max_points)
    smoothed = smooth(mean, beta ** (b * stride)) if len(mean) else mean
    return Curve(x, mean, lo, hi, smoothed, b)


# --- a run --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Divergence:
    """A step whose loss was NaN or infinite: the update was skipped and the run paused."""

    iteration: int
    loss: float
    lr: float
    weights_finite: bool  # False: an earlier update already broke the weights, the run cannot continue


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
    error: str | None
    adjustments: tuple
    dataset_title: str

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
    status: str  # FINISHED, STOPPED or "loaded"
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

    def curve(self, max_points=MAX_POINTS):
        its = (np.arange(1, len(self.losses) + 1) * self.loss_stride).astype(np.int64)
        return loss_curve(self.losses, its, self.loss_stride, max_points)

    def net(self):
        return net_from_params(self.config, self.params)


class LiveRun:
    """One training run, stepped in a child process while the page stays free.

    States: ready -> running <-> paused -> finished | stopped. ``start``/``resume`` run until the
    target iteration (config.iterations, extended by ``plus_epoch``/``step_once``); ``pause`` and
    ``stop`` return once the child has stopped between two steps (or two evaluation chunks).

    Why a process and not a thread: a Streamlit rerun is tens of milliseconds of Python, and while
    the server runs Python a training thread waits for the GIL at every NumPy call; in its own
    process the trainer loses nothing to the page. The child owns the Trainer; this object keeps
    the history the child reports (every FLUSH_EVERY seconds) and the weights it sends whenever it
    stops, so snapshots, records and exports never touch the training network.

    data: a Dataset-like object sent to the child, or None for ``load_dataset(config.dataset)`` there.
    on_finish(run): called (in this run's receiving thread, no lock held) when the run reaches its target.
    Raises what building the Trainer raised (e.g. DatasetNotFoundError).
    """

    def __init__(self, config=None, data=None, *, run_id=1, label="", group=None, on_finish=None,
                 history_capacity=1 << 20):
        self.initial_config = config or TrainConfig()
        self.run_id = run_id
        self.label = label
        self.group = group
        self._on_finish = on_finish
        self._proc, self._conn = _SPAWNER.take()
        try:
            self._conn.send(("init", self.initial_config, data))
            kind, info = self._conn.recv()
        except (EOFError, OSError):
            self._end_process(5)
            raise RuntimeError("the training process could not start") from None
        if kind == "failed":
            self._end_process(5)
            raise info
        self._send_lock = threading.Lock()
        self._cond = threading.Condition()
        self._config = self.initial_config  # as requested: mid-run changes included
        self._state = READY
        self._busy = False  # the child is stepping
        self._closed = False
        self._target = self.initial_config.iterations
        self._iteration = 0
        self._iter_per_epoch = info["iter_per_epoch"]
        self.dataset_title = info["dataset_title"]
        self._params = info["params"]  # as of the last time the child stopped
        self._params_reply = None
        self._losses = LossHistory(history_capacity)
        self._evals = Rows(4)
        self._ratio_its = []
        self._ratios = Rows(info["n_layers"])
        self._first_loss = None
        self._divergence = None
        self._diverged = False  # ever, even if resumed since
        self._error = None
        self._adjustments = []
        self._seconds = 0.0
        self._eval_seconds = 0.0
        self._started_at = None  # perf_counter when the current stretch of running began
        self._rate_samples = collections.deque(maxlen=12)
        self._receiver = threading.Thread(target=self._receive, name=f"backprop-receive-{run_id}", daemon=True)
        self._receiver.start()

    # --- commands (any thread) ---------------------------------------------------------------------

    @property
    def state(self):
        return self._state

    @property
    def iteration(self):
        return self._iteration

    @property
    def config(self):
        """The current config, mid-run changes included."""
        return self._config

    @property
    def closed(self):
        """The child process has ended: the run keeps its history and weights but cannot go on."""
        return self._closed

    @property
    def can_resume(self):
        return self._state == PAUSED and self._runnable()

    def start(self):
        """Run from READY, or continue a PAUSED run (same as ``resume``). Returns False if it cannot run."""
        with self._cond:
            if self._state not in (READY, PAUSED) or not self._runnable():
                return False
            self._launch(None)
            return True

    resume = start

    def plus_epoch(self):
        """Run one more epoch, then pause (a finished run continues past its end)."""
        with self._cond:
            if self._state not in (READY, PAUSED, FINISHED) or not self._runnable():
                return False
            pause_at = self._iteration + self._iter_per_epoch
            self._target = max(self._target, pause_at)
            self._launch(pause_at)
            return True

    def step_once(self):
        """One iteration (plus any evaluation due), waiting until it is done; the run must not be running."""
        return self.run_steps(1)

    def run_steps(self, n, timeout=None):
        """``n`` iterations, waiting until they are done; then paused (or finished at the target)."""
        with self._cond:
            if self._state not in (READY, PAUSED, FINISHED) or not self._runnable():
                return False
            self._target = max(self._target, self._iteration + n)
            self._launch(self._iteration + n)
            return self._cond.wait_for(lambda: not self._busy, timeout)

    def pause(self, timeout=2.0):
        """Stop stepping after the current step; returns True once the child has stopped."""
        with self._cond:
            if self._state == RUNNING:
                self._state = PAUSED
                self._send(("pause",))
            return self._cond.wait_for(lambda: not self._busy, timeout)

    def stop(self, timeout=2.0):
        """End the run for good (it keeps its history and weights) and its process."""
        with self._cond:
            if self._state not in (FINISHED, STOPPED):
                self._state = STOPPED
                if self._busy:
                    self._send(("pause",))
            stopped = self._cond.wait_for(lambda: not self._busy, timeout)
        self.close()
        return stopped

    def close(self, timeout=2.0):
        """End the child process (pausing first if it is running). Idempotent."""
        with self._cond:
            if self._closed:
                return
            if self._busy:
                if self._state == RUNNING:
                    self._state = PAUSED
                self._send(("pause",))
                self._cond.wait_for(lambda: not self._busy, timeout)
            if self._state in (READY, PAUSED):
                self._state = STOPPED
            self._closed = True
            self._send(("close",))
        self._end_process(timeout)

    @property
    def process_alive(self):
        """Whether this run's training process is still there (False once closed)."""
        return self._proc.poll() is None

    def _end_process(self, timeout):
        try:
            self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(timeout)

    def wait(self, timeout=None):
        """Block until the run is not running (finished, paused, stopped); True if so."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._busy, timeout)

    def adjust(self, **changes):
        """Change knobs from ``LIVE_FIELDS`` mid-run; they apply from the child's next step. Raises ValueError."""
        frozen = set(changes) - set(LIVE_FIELDS)
        if frozen:
            raise ValueError(f"{', '.join(sorted(frozen))} cannot change mid-run: start a new run")
        with self._cond:
            if self._closed:
                raise ValueError("this run has ended: start a new run")
            config = replace(self._config, **changes)  # validates, raises ValueError
            self._config = config
            self._send(("adjust", changes))

    def snapshot_net(self, timeout=5.0):
        """A new MultiLayerNet holding a copy of the weights (sent by the child between two steps)."""
        with self._cond:
            if self._busy:
                self._params_reply = None
                self._send(("params",))
                self._cond.wait_for(lambda: self._params_reply is not None or not self._busy, timeout)
                params = self._params_reply if self._params_reply is not None else self._params
            else:
                params = self._params
            config = self._config
        return net_from_params(config, params)

    def history(self):
        """(losses, loss stride, evals): copies of the full history, for export; never pauses the run."""
        with self._cond:
            return self._losses.values(), self._losses.stride, self._evals.array()

    def snapshot(self, max_points=MAX_POINTS):
        """Copies of the history and progress for drawing, reduced to at most ``max_points`` per curve."""
        now = time.perf_counter()
        with self._cond:
            losses = self._losses.values()
            stride = self._losses.stride
            evals = self._evals.array()
            ratio_its = np.array(self._ratio_its, dtype=np.int64)
            ratios = self._ratios.array()
            seconds = self._seconds + (now - self._started_at if self._started_at is not None else 0.0)
            samples = list(self._rate_samples)
            state = self._state
            iteration = self._iteration
            target = self._target
            ipe = self._iter_per_epoch
            fields = dict(config=self._config, evaluations=len(self._evals), first_loss=self._first_loss,
                          divergence=self._divergence, error=self._error, adjustments=tuple(self._adjustments),
                          eval_seconds=self._eval_seconds)
        its = (np.arange(1, len(losses) + 1) * stride).astype(np.int64)
        rate = math.nan
        if state == RUNNING and len(samples) >= 2 and samples[-1][0] > samples[0][0]:
            rate = (samples[-1][1] - samples[0][1]) / (samples[-1][0] - samples[0][0])
        eta = (target - iteration) / rate if rate > 0 else math.nan
        if len(evals) > max_points:
            ex = downsample(evals[:, 0], evals[:, 0], max_points)[0]
            cols = [downsample(evals[:, 0], evals[:, c], max_points)[1] for c in (1, 2, 3)]
            evals = np.column_stack([ex, *cols])
        if len(ratios) > max_points:
            rx = downsample(ratio_its, ratio_its, max_points)[0]
            ratios = np.column_stack([downsample(ratio_its, ratios[:, c], max_points)[1]
                                      for c in range(ratios.shape[1])])
            ratio_its = rx
        return Snapshot(
            run_id=self.run_id, label=self.label, state=state, iteration=iteration, target=target,
            epoch=iteration / ipe, iter_per_epoch=ipe, rate=rate, eta=eta, seconds=seconds,
            loss=loss_curve(losses, its, stride, max_points), evals=evals, ratio_iterations=ratio_its,
            ratios=ratios, dataset_title=self.dataset_title, **fields,
        )

    def record(self):
        """This run as a RunRecord (paused first if it is running)."""
        if self._state == RUNNING:
            self.pause()
        with self._cond:
            return RunRecord(
                run_id=self.run_id, label=self.label, status=FINISHED if self._state == FINISHED else STOPPED,
                config=self.initial_config, adjustments=tuple(self._adjustments), iterations=self._iteration,
                seconds=self._seconds, losses=self._losses.values(), loss_stride=self._losses.stride,
                evals=self._evals.array(), params=dict(self._params), diverged=self._diverged,
                dataset_title=self.dataset_title, group=self.group,
            )

    # --- talking to the child --------------------------------------------------------------------------

    def _runnable(self):
        return not self._closed and self._error is None and (
            self._divergence is None or self._divergence.weights_finite)

    def _launch(self, pause_at):
        """Tell the child to run (lock held)."""
        self._divergence = None  # _runnable() said it was recoverable: the message has served
        self._state = RUNNING
        self._busy = True
        self._started_at = time.perf_counter()
        self._rate_samples.clear()
        self._send(("run", self._target, pause_at))

    def _send(self, message):
        with self._send_lock:
            try:
                self._conn.send(message)
            except (OSError, ValueError):  # the child is gone; _receive reports it
                pass

    def _receive(self):
        """This run's receiving thread: applies what the child reports (it never calls Streamlit)."""
        while True:
            try:
                message = self._conn.recv()
            except (EOFError, OSError):
                break
            finished = False
            with self._cond:
                kind = message[0]
                if kind == "batch":
                    self._take_batch(*message[1:])
                elif kind == "adjusted":
                    _, iteration, changes, ipe = message
                    self._adjustments.append(Adjustment(iteration, tuple(sorted(changes.items()))))
                    self._iter_per_epoch = ipe
                elif kind == "params":
                    self._params_reply = message[1]
                elif kind == "stopped":
                    _, state, iteration, divergence, error, params = message
                    self._iteration, self._params = iteration, params
                    if divergence is not None:
                        self._divergence = Divergence(*divergence)
                        self._diverged = True
                    if error is not None:
                        self._error = error
                    if state == FINISHED:
                        self._state = FINISHED
                        finished = True
                    elif self._state == RUNNING:
                        self._state = PAUSED  # it stopped by itself: +1 epoch done, divergence, error
                    self._stop_clock()
                    self._busy = False
                self._cond.notify_all()
            if finished and self._on_finish is not None:
                self._on_finish(self)
        with self._cond:
            if not self._closed:
                self._error = self._error or "the training process ended unexpectedly"
                if self._state == RUNNING:
                    self._state = PAUSED
                self._closed = True
            self._stop_clock()
            self._busy = False
            self._cond.notify_all()
        self._conn.close()

    def _stop_clock(self):
        if self._started_at is not None:
            self._seconds += time.perf_counter() - self._started_at
            self._started_at = None

    def _take_batch(self, losses, evals, ratio_its, ratios, eval_seconds, iteration, ipe):
        if self._first_loss is None and len(losses):
            self._first_loss = float(losses[0])
        for loss in losses:
            self._losses.append(loss)
        for row in evals:
            self._evals.append(row)
        self._ratio_its.extend(ratio_its)
        for row in ratios:
            self._ratios.append(row)
        self._eval_seconds += eval_seconds
        self._iteration, self._iter_per_epoch = iteration, ipe
        self._rate_samples.append((time.perf_counter(), iteration))


# --- the training process ---------------------------------------------------------------------------------

FLUSH_EVERY = 0.1  # seconds between the child's reports while it runs

class _Spawner:
    """Starts training processes and keeps one warm, so that a new run starts at once.

    A process is ``python -c "from backprop.live import _worker_main; ..."`` with one end of a socket
    pair; it imports NumPy and waits for its config. Not multiprocessing: while Streamlit runs a page
    it puts the page in sys.modules["__main__"], and multiprocessing's children would run that
    page again to rebuild their __main__.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._spare = None

    def take(self):
        """(Popen, Connection) of a fresh training process (the warm one if it is still fine)."""
        with self._lock:
            spare, self._spare = self._spare, None
            if spare is None or spare[0].poll() is not None:
                spare = self._start()
            self._spare = self._start()  # importing NumPy happens in the background
            return spare

    @staticmethod
    def _start():
        ours, theirs = socket.socketpair()
        env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        proc = subprocess.Popen(
            [sys.executable, "-c", f"from backprop.live import _worker_main; _worker_main({theirs.fileno()})"],
            pass_fds=(theirs.fileno(),), cwd=_PACKAGE_ROOT, env=env, stdin=subprocess.DEVNULL)
        theirs.close()
        return proc, Connection(ours.detach())


_PACKAGE_ROOT = str(Path(__file__).resolve().parents[1])
_SPAWNER = _Spawner()


def _worker_main(fd):
    """Entry point of a training process: wait for the run's config, then serve it."""
    conn = Connection(fd)
    try:
        kind, config, data = conn.recv()
    except (EOFError, OSError, KeyboardInterrupt):
        return  # a spare the server never used
    _serve(conn, config, data)


def _serve(conn, config, data):
    """The training process: builds the Trainer, then does what the parent says until told to close."""
    threadpool_limits(limits=1, user_api="blas")  # its own process: one BLAS thread (see backprop.bench)
    np.seterr(all="ignore")  # overflow is reported as divergence, not as warnings on stderr
    try:
        trainer = Trainer(config, data)
    except Exception as e:
        try:
            conn.send(("failed", e))
        except Exception:  # an exception that does not pickle
            conn.send(("failed", RuntimeError(f"{type(e).__name__}: {e}")))
        return
    conn.send(("ready", {"iter_per_epoch": trainer.iter_per_epoch, "n_layers": trainer.net.n_layers,
                         "dataset_title": trainer.dataset_title, "params": trainer.net.params}))
    try:
        _Child(trainer, conn).serve()
    except (EOFError, OSError, KeyboardInterrupt):
        pass  # the parent went away


class _Child:
    """The loop of the training process (same order of work as Trainer.run: evaluate at epoch ends)."""

    def __init__(self, trainer, conn):
        self.tr, self.conn = trainer, conn
        self.running = False
        self.target = trainer.config.iterations
        self.pause_at = None
        self.pending_eval = True  # the book evaluates before the first step too
        self.broken = False
        self.losses, self.evals, self.ratio_its, self.ratios = [], [], [], []
        self.eval_seconds = 0.0
        self.last_flush = time.perf_counter()

    def serve(self):
        while True:
            if not self.running:
                if self.handle(self.conn.recv()):
                    return
            elif self.conn.poll():
                if self.handle(self.conn.recv()):
                    return
            else:
                try:
                    self.advance()
                except Exception as e:  # a bug must not lose the run: keep the history, say what happened
                    self.broken = True
                    self.stop(PAUSED, error=f"{type(e).__name__}: {e}")

    def handle(self, message):
        """Obey one message; True to close."""
        kind = message[0]
        if kind == "run" and not self.broken:
            _, self.target, self.pause_at = message
            self.running = True
            self.last_flush = time.perf_counter()
        elif kind == "run":
            self.stop(PAUSED)
        elif kind == "pause" and self.running:
            self.stop(PAUSED)
        elif kind == "adjust":
            self.tr.adjust(**message[1])
            self.conn.send(("adjusted", self.tr.iteration + 1, message[1], self.tr.iter_per_epoch))
        elif kind == "params":
            self.conn.send(("params", self.tr.net.params))
        elif kind == "close":
            return True
        return False

    def advance(self):
        tr = self.tr
        if self.pending_eval:
            self.evaluate()
            return
        if tr.iteration >= self.target:
            self.stop(FINISHED)
            return
        if self.pause_at is not None and tr.iteration >= self.pause_at:
            self.stop(PAUSED)
            return
        sample = tr.iteration == 0 or (tr.iteration + 1) % RATIO_EVERY == 0
        before = {k: p.copy() for k, p in tr.net.params.items() if k.startswith("W")} if sample else None
        rec = tr.step()
        self.losses.append(rec.loss)
        if sample and not rec.diverged:
            ratios = update_ratios(before, tr.net.params)
            self.ratio_its.append(rec.iteration)
            self.ratios.append([ratios[f"W{i}"] for i in range(1, len(ratios) + 1)])
        if rec.epoch_end:
            self.pending_eval = True
        if rec.diverged:
            finite = all(bool(np.isfinite(p).all()) for p in tr.net.params.values())
            self.stop(PAUSED, divergence=(rec.iteration, float(rec.loss), float(tr.config.lr), finite))
        elif time.perf_counter() - self.last_flush >= FLUSH_EVERY:
            self.flush()

    def evaluate(self):
        """The book's per-epoch accuracies, chunk by chunk, obeying messages between chunks."""
        tr = self.tr
        start = time.perf_counter()
        accs = []
        for x, t in ((tr.x_train, tr.t_train), (tr.x_test, tr.t_test)):
            correct = 0
            for s in range(0, len(x), EVAL_CHUNK):
                if self.conn.poll():
                    self.eval_seconds += time.perf_counter() - start
                    start = time.perf_counter()
                    self.handle(self.conn.recv())
                    if not self.running:
                        return  # still pending: done again on Resume
                xs = x[s:s + EVAL_CHUNK]
                correct += round(tr.accuracy(xs, t[s:s + EVAL_CHUNK], chunk=EVAL_CHUNK) * len(xs))
            accs.append(correct / len(x))
        self.evals.append((tr.iteration, tr.epoch, accs[0], accs[1]))
        self.pending_eval = False
        self.eval_seconds += time.perf_counter() - start

    def flush(self):
        self.conn.send(("batch", np.array(self.losses, dtype=np.float32), self.evals, self.ratio_its, self.ratios,
                        self.eval_seconds, self.tr.iteration, self.tr.iter_per_epoch))
        self.losses, self.evals, self.ratio_its, self.ratios = [], [], [], []
        self.eval_seconds = 0.0
        self.last_flush = time.perf_counter()

    def stop(self, state, divergence=None, error=None):
        self.running = False
        self.pause_at = None
        self.flush()
        self.conn.send(("stopped", state, self.tr.iteration, divergence, error, self.tr.net.params))


# --- a session's bench of runs ---------------------------------------------------------------------------

class Lab:
    """One browser session's runs: the current LiveRun, runs queued to follow it, records of past runs.

    Records are kept newest last, at most ``max_records`` (the oldest go first). A comparison
    (``queue``) starts its first run at once and each next one when the previous finishes.
    """

    def __init__(self, data_loader=None, max_records=20):
        self._lock = threading.RLock()
        self._data_loader = data_loader  # config -> Dataset, or None for load_dataset(config.dataset)
        self.max_records = max_records
        self.current = None
        self._queue = collections.deque()
        self._records = {}
        self._next_id = 1
        self._next_group = 1
        self.dropped = 0  # records dropped to respect max_records
        self.closed = False

    def _make(self, config, label, group=None):
        data = self._data_loader(config) if self._data_loader else None
        run = LiveRun(config, data, run_id=self._next_id, label=label or "", group=group,
                      on_finish=self._finished)
        self._next_id += 1
        return run

    def new_run(self, config, label=""):
        """A fresh READY run from ``config`` replaces the current one (which is archived if it made progress)."""
        with self._lock:
            self._queue.clear()
            self._retire()
            self.current = self._make(config, label)
            return self.current

    def start(self, config, label=""):
        run = self.new_run(config, label)
        run.start()
        return run

    def queue(self, runs):
        """Run ``[(label, config), ...]`` one after another as a comparison group; returns the group id."""
        with self._lock:
            group = self._next_group
            self._next_group += 1
            self._queue.clear()
            self._retire()
            (label, config), *rest = runs
            self._queue.extend((lbl, cfg, group) for lbl, cfg in rest)
            first = self._make(config, label, group)
            first.start()
            self.current = first
            return group

    @property
    def queued(self):
        with self._lock:
            return len(self._queue)

    def view(self):
        """(current run, runs queued after it), consistent with each other: a run handing over to the
        next queued one does so under the lock this waits for."""
        with self._lock:
            return self.current, len(self._queue)

    def stop(self):
        """Stop the current run (it goes to the records) and drop the queue."""
        with self._lock:
            self._queue.clear()
            run = self.current
        if run is not None and run.state not in (STOPPED, FINISHED):
            run.stop()
            self.archive(run)
        elif run is not None:
            run.close()

    def archive(self, run):
        """Put (or update) ``run``'s record among the records."""
        if run.iteration == 0:
            return
        record = run.record()
        with self._lock:
            self._records.pop(record.run_id, None)
            self._records[record.run_id] = record
            self._trim()

    def add_record(self, record):
        with self._lock:
            self._records[record.run_id] = record
            self._trim()

    def new_id(self):
        with self._lock:
            self._next_id += 1
            return self._next_id - 1

    def _trim(self):
        while len(self._records) > self.max_records:
            del self._records[next(iter(self._records))]
            self.dropped += 1

    def records(self):
        with self._lock:
            return list(self._records.values())

    def record(self, run_id):
        with self._lock:
            return self._records.get(run_id)

    def _retire(self):
        """Archive the current run before it is replaced, and end its process."""
        run = self.current
        if run is not None and run.state not in (STOPPED, FINISHED):
            run.stop()
            self.archive(run)
        if run is not None:
            run.close()

    def _finished(self, run):
        """A run reached its target (its receiving thread): record it, then start the next queued run."""
        self.archive(run)
        with self._lock:
            if run is not self.current or self.closed or not self._queue:
                return
            label, config, group = self._queue.popleft()
            run.close()
            successor = self._make(config, label, group)
            successor.start()
            self.current = successor  # only once it runs: a page must never see it "ready" in between

    def shutdown(self):
        """The browser session ended: stop the current run and end its process (its history is kept)."""
        with self._lock:
            self.closed = True
            self._queue.clear()
            run = self.current
        if run is not None:
            if run.state not in (STOPPED, FINISHED):
                run.stop()
                self.archive(run)
            run.close()

    def reopen(self):
        """The session came back (a reconnect): queued runs may continue again."""
        with self._lock:
            self.closed = False


# --- exports -------------------------------------------------------------------------------------------------

def history_csv(losses, loss_stride, evals):
    """CSV text: iteration, loss, epoch, train_acc, test_acc (accuracy columns filled where evaluated).

    losses as LossHistory values (stride >1: the mean loss of the ``loss_stride`` iterations up to the row's).
    """
    rows = {}
    for i, value in enumerate(losses, start=1):
        rows[i * loss_stride] = [f"{float(value):.6g}", "", "", ""]
    for it, epoch, train, test in evals:
        row = rows.setdefault(int(it), ["", "", "", ""])
        row[1:] = [f"{epoch:.4g}", f"{train:.4f}", f"{test:.4f}"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["iteration", "loss", "epoch", "train_acc", "test_acc"])
    for it in sorted(rows):
        writer.writerow([it, *rows[it]])
    return out.getvalue()


WEIGHTS_FORMAT = "backprop-explorer weights 1"
MAX_WEIGHTS_BYTES = 64 * 1024 * 1024


class WeightsError(ValueError):
    """A weights file was refused; the message says why."""


def weights_npz(params, config):
    """The weights as .npz bytes (np.savez_compressed): one array per parameter, plus the config as JSON."""
    buf = io.BytesIO()
    np.savez_compressed(buf, **{k: np.asarray(v) for k, v in params.items()},
                        config=np.array(json.dumps(config.to_dict())), format=np.array(WEIGHTS_FORMAT))
    return buf.getvalue()


def _read_member(zf, name, check):
    """Read one .npy member without unpickling: the header is checked by ``check(shape, dtype)`` first."""
    with zf.open(name) as f:
        try:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
            elif version == (2, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
            else:
                raise WeightsError(f"{name} uses an unsupported .npy version {version}")
        except ValueError as e:
            if isinstance(e, WeightsError):
                raise
            raise WeightsError(f"{name} is not a NumPy array ({e})") from None
        if dtype.hasobject:
            raise WeightsError(f"{name} holds Python objects; only plain numbers are accepted (nothing is unpickled)")
        check(shape, dtype)
    with zf.open(name) as f:
        return np.lib.format.read_array(f, allow_pickle=False)


def load_weights(data):
    """Validate weights .npz bytes from ``weights_npz`` -> (TrainConfig, {key: array}); never unpickles.

    Checks: a zip of .npy arrays, a config that TrainConfig accepts, exactly the parameters that
    config implies, each a float array of the right shape with only finite values. Raises WeightsError.
    """
    if len(data) > MAX_WEIGHTS_BYTES:
        raise WeightsError(f"the file is {len(data) / 1e6:.0f} MB; weights files here are at most "
                           f"{MAX_WEIGHTS_BYTES / 1e6:.0f} MB")
    if data[:1] == b"\x80":
        raise WeightsError("this is a Python pickle, which is never loaded (it could run code); "
                           "use an .npz file saved by this page")
    if data[:6] == b"\x93NUMPY":
        raise WeightsError("this is a single .npy array; weights are an .npz file saved by this page")
    if not data.startswith(b"PK"):
        raise WeightsError("not an .npz file (an .npz is a zip archive of NumPy arrays)")
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        names = zf.namelist()
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise WeightsError(f"not a readable .npz file ({e})") from None
    with zf:
        members = {n[:-4]: n for n in names if n.endswith(".npy")}
        others = sorted(set(names) - set(members.values()))
        if others:
            raise WeightsError(f"unexpected entries in the archive: {', '.join(others[:5])}")
        if "config" not in members:
            raise WeightsError("the file has no config entry: it was not saved by this page")

        def text_check(name):
            def check(shape, dtype):
                if shape != () or dtype.kind != "U" or dtype.itemsize > 4 * 10_000:
                    raise WeightsError(f"{name} entry is not a short text")
            return check

        try:
            raw = _read_member(zf, members["config"], text_check("config"))
            config = TrainConfig.from_dict(json.loads(str(raw[()])))
        except (json.JSONDecodeError, ValueError, TypeError) as e:
            if isinstance(e, WeightsError):
                raise
            raise WeightsError(f"the config in the file is not valid: {e}") from None
        expected = param_shapes(config)
        keys = set(members) - {"config", "format"}
        missing, extra = sorted(set(expected) - keys), sorted(keys - set(expected))
        if missing or extra:
            parts = ([f"missing {', '.join(missing)}"] if missing else []) + (
                [f"unexpected {', '.join(extra)}"] if extra else [])
            raise WeightsError(f"the arrays do not match its config ({config.hidden_sizes} hidden): "
                               + "; ".join(parts))
        params = {}
        for key, shape in expected.items():
            def check(got, dtype, key=key, shape=shape):
                if dtype.kind != "f":
                    raise WeightsError(f"{key} has dtype {dtype}, expected floating-point numbers")
                if tuple(got) != shape:
                    raise WeightsError(f"{key} has shape {tuple(got)}, expected {shape} for hidden sizes "
                                       f"{', '.join(map(str, config.hidden_sizes))}")
            array = _read_member(zf, members[key], check)
            if not np.isfinite(array).all():
                raise WeightsError(f"{key} contains NaN or infinite values")
            params[key] = array.astype(config.dtype)
    return config, params


def config_query(config):
    """The fields of ``config`` that differ from the defaults, as strings for a URL's query."""
    defaults = TrainConfig().to_dict()
    query = {}
    for key, value in config.to_dict().items():
        if value == defaults[key]:
            continue
        if key == "hidden_sizes":
            query[key] = ",".join(map(str, value))
        elif isinstance(value, float):
            query[key] = repr(value)
        else:
            query[key] = str(value)
    return query


def config_from_query(query):
    """(TrainConfig, problems) from URL query values (other keys are ignored); (None, []) if none given.

    A bad value is reported in ``problems`` and its default kept; the other fields still apply.
    """
    names = set(TrainConfig().to_dict())
    given = {k: query[k] for k in query if k in names}
    if not given:
        return None, []
    good, problems = {}, []
    for key, value in given.items():
        try:
            TrainConfig.from_dict({key: value})
            good[key] = value
        except ValueError as e:
            problems.append(str(e).removeprefix("invalid training config: "))  # each names its field
    try:
        return TrainConfig.from_dict(good), problems
    except ValueError as e:  # fields fine alone but not together
        return TrainConfig(), problems + [str(e)]


def describe(config, fields=None):
    """A short label naming ``fields`` of config (all the usual ones if None), e.g. "Adam lr=0.001"."""
    parts = {
        "optimizer": config.optimizer,
        "lr": f"lr={config.lr:g}",
        "hidden_sizes": "-".join(map(str, config.hidden_sizes)),
        "activation": config.activation,
        "weight_init": (config.weight_init if isinstance(config.weight_init, str) else f"std={config.weight_init:g}"),
        "batch_size": f"batch {config.batch_size}",
        "weight_decay": f"λ={config.weight_decay:g}",
        "train_size": f"{config.train_size} images" if config.train_size else "all images",
        "dataset": config.dataset,
        "iterations": f"{config.iterations:,} it",
        "seed": f"seed {config.seed}",
        "momentum": f"momentum={config.momentum:g}",
        "decay_rate": f"decay={config.decay_rate:g}",
        "beta1": f"β1={config.beta1:g}",
        "beta2": f"β2={config.beta2:g}",
        "dtype": config.dtype,
    }
    if fields is None:
        fields = ("optimizer", "lr", "hidden_sizes", "batch_size")
    return " ".join(parts[f] for f in fields)


def distinguishing_fields(configs):
    """The config fields whose values differ among ``configs`` (in TrainConfig order)."""
    if len(configs) < 2:
        return ()
    dicts = [c.to_dict() for c in configs]
    return tuple(k for k in dicts[0] if any(d[k] != dicts[0][k] for d in dicts[1:]))


def runs_table(records):
    """One row per record for the comparison table: its config against final accuracy and time."""
    rows = []
    for r in records:
        c = r.config
        train, test = r.final
        rows.append({
            "run": r.run_id, "label": r.label, "status": r.status, "dataset": c.dataset,
            "optimizer": c.optimizer, "lr": c.lr, "hidden": "-".join(map(str, c.hidden_sizes)),
            "activation": c.activation,
            "init": c.weight_init if isinstance(c.weight_init, str) else f"std={c.weight_init:g}",
            "batch": c.batch_size, "weight_decay": c.weight_decay, "images": c.train_size or None,
            "iterations": r.iterations, "train_acc": train, "test_acc": test, "seconds": r.seconds,
            "changed": bool(r.adjustments), "diverged": r.diverged,
        })
    return rows


class SessionGuard:
    """Ends training when the browser session ends.

    The page registers its session's Lab here; the app keeps one guard per session in a
    session-scoped resource cache whose on_release (called when the session disconnects) is
    ``release``. A Lab in session state survives a reconnect; the guard does not, so the next
    script run of the session creates a new guard and registers the Lab again (``watch``).
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._labs = []

    def watch(self, lab):
        with self._lock:
            if not any(known is lab for known in self._labs):
                self._labs.append(lab)
                lab.reopen()

    def release(self):
        with self._lock:
            labs, self._labs = self._labs, []
        for lab in labs:
            lab.shutdown()
