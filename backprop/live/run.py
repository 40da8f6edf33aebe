"""The run controller: ``LiveRun`` steers one run's training process and keeps what it reports.

The page calls its methods from any thread; they send messages (messages.py) to the process and
wait for its answer, so Pause and Stop take effect between two steps (or two evaluation chunks).
Only the process touches the training network: snapshots, records and exports use copies of
the weights it sends. Where the process comes from is the spawner's business: by default the
server's trainer pool (pool.py), which hosts many runs per process.
"""
import collections
import logging
import math
import subprocess
import threading
import time
from dataclasses import replace

import numpy as np

from ..training import LIVE_FIELDS, TrainConfig, check_live_fields, net_from_params
from .history import MAX_POINTS, LossHistory, Rows, downsample_rows, loss_curve
from .messages import (FINISHED, PAUSED, READY, RUNNING, STOPPED, Adjust, Adjusted, Batch, Checkpoint, Close,
                       ErrorInfo, Failed, Init, Params, Pause, Run, SendParams, Stopped)
from .pool import RunRefused, default_pool
from .records import Adjustment, RunRecord, Snapshot

log = logging.getLogger(__name__)


def _log_bug(run_id, error):
    """An unexpected exception in a trainer process: its traceback goes to the server's log (the page
    says only that the run stopped on an internal error)."""
    if error is not None and error.code == "bug":
        log.error("run %s stopped on an internal error in its trainer process:\n%s", run_id,
                  error.values.get("traceback", error.values.get("type", "")))


class RunError(RuntimeError):
    """A run could not be made or changed; ``error`` is an ErrorInfo (a code and values for the page)."""

    def __init__(self, error):
        self.error = error
        super().__init__(f"{error.code} {error.values}")

    def __reduce__(self):
        return RunError, (self.error,)


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
    spawner: where the training process comes from (``take()`` -> (process, connection)): the server's
    trainer pool unless given (pool.py).
    Raises RunError if the Trainer cannot be built (its ErrorInfo says why, e.g. "dataset_missing") or the
    server has no room for it ("server_full").
    """

    def __init__(self, config=None, data=None, *, run_id=1, label="", group=None, on_finish=None,
                 history_capacity=1 << 20, spawner=None):
        self.initial_config = config or TrainConfig()
        self.run_id = run_id
        self.label = label
        self.group = group
        self._on_finish = on_finish
        self._data = data
        self._spawner = spawner or default_pool()
        self._proc, self._conn, info = self._connect(None)
        self._send_lock = threading.Lock()
        self._cond = threading.Condition()
        self._config = self.initial_config  # as requested: mid-run changes included
        self._state = READY
        self._busy = False  # the child is stepping
        self._closed = False
        self._target = self.initial_config.iterations
        self._iteration = 0
        self._iter_per_epoch = info.iter_per_epoch
        self.dataset_title = info.dataset_title
        self._params = info.params  # as of the last time the child stopped
        self._params_reply = None
        self._losses = LossHistory(history_capacity)
        self._evals = Rows(4)
        self._ratio_its = []
        self._ratios = Rows(info.n_layers)
        self._first_loss = None
        self._divergence = None
        self._diverged = False  # ever, even if resumed since
        self._error = None
        self._adjustments = []
        self._seconds = 0.0
        self._eval_seconds = 0.0
        self._started_at = None  # perf_counter when the current stretch of running began
        self._rate_samples = collections.deque(maxlen=12)
        self._checkpoint = None  # the last Checkpoint: where a restart goes on from
        self._last_report = None  # perf_counter of the last report while running
        self._receiver = None
        self._listen()

    def _connect(self, checkpoint):
        """(process, connection, Ready) of this run's Trainer in a trainer process (restored to ``checkpoint``)."""
        try:
            proc, conn = self._spawner.take()
            conn.send(Init(self.initial_config, self._data, checkpoint))
            info = conn.recv()
        except RunRefused as e:
            raise RunError(e.error) from None
        except (EOFError, OSError):
            raise RunError(ErrorInfo("start_failed")) from None
        if isinstance(info, Failed):
            proc.wait(5)
            _log_bug(self.run_id, info.error)
            raise RunError(info.error)
        return proc, conn, info

    def _listen(self):
        self._receiver = threading.Thread(target=self._receive, name=f"backprop-receive-{self.run_id}", daemon=True)
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

    @property
    def can_restart(self):
        """Its trainer process died under it, or its training stopped on an internal error: ``restart`` goes
        on from the last checkpoint in a fresh trainer."""
        error = self._error
        return error is not None and (self._closed and error == ErrorInfo("process_ended") or error.code == "bug")

    @property
    def checkpoint_iteration(self):
        """The iteration a restart would go on from (0: from the start)."""
        with self._cond:
            return self._checkpoint.iteration if self._checkpoint is not None else 0

    def restart(self):
        """Go on in a new trainer process from the last checkpoint (paused there); False if it cannot.

        The history after the checkpoint is dropped (those steps are made again, exactly as before);
        mid-run changes made since are applied again. Raises RunError if the server refuses it.
        """
        with self._cond:
            if not self.can_restart:
                return False
            checkpoint, receiver = self._checkpoint, self._receiver
        self.close()  # a run stopped by a bug still has its (broken) trainer: end it first
        if receiver is not None and receiver is not threading.current_thread():
            receiver.join(5)  # its last act closes the old connection: before the new one is set
        proc, conn, info = self._connect(checkpoint)
        with self._cond:
            self._proc, self._conn = proc, conn
            at = checkpoint.iteration if checkpoint is not None else 0
            self._truncate(at, checkpoint.evaluation_due if checkpoint is not None else True)
            self._iteration, self._params = at, info.params
            self._iter_per_epoch = info.iter_per_epoch
            self._state = PAUSED if at else READY
            self._error, self._closed, self._busy = None, False, False
            base = checkpoint.state["config"] if checkpoint is not None else self.initial_config
            changes = {f: getattr(self._config, f) for f in LIVE_FIELDS
                       if getattr(self._config, f) != getattr(base, f)}
            if checkpoint is None:
                self._adjustments.clear()
            self._listen()
            if changes:
                self._send(Adjust(changes))
        return True

    def _truncate(self, iteration, evaluation_due):
        """Forget what came after ``iteration`` (lock held)."""
        self._losses.truncate(iteration)
        evals = self._evals.array()
        self._evals.keep(int(np.sum(evals[:, 0] < iteration if evaluation_due else evals[:, 0] <= iteration)))
        kept = sum(1 for it in self._ratio_its if it <= iteration)
        del self._ratio_its[kept:]
        self._ratios.keep(kept)
        self._adjustments[:] = [a for a in self._adjustments if a.iteration <= iteration]
        if iteration == 0:
            self._first_loss = None

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
                self._send(Pause())
            return self._cond.wait_for(lambda: not self._busy, timeout)

    def stop(self, timeout=2.0):
        """End the run for good (it keeps its history and weights) and its process."""
        with self._cond:
            if self._state not in (FINISHED, STOPPED):
                self._state = STOPPED
                if self._busy:
                    self._send(Pause())
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
                self._send(Pause())
                self._cond.wait_for(lambda: not self._busy, timeout)
            if self._state in (READY, PAUSED):
                self._state = STOPPED
            self._closed = True
            self._send(Close())
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
        """Change knobs from ``LIVE_FIELDS`` mid-run; they apply from the child's next step.

        Raises ConfigError for a bad value or a field that needs a new run, RunError ("run_ended") once closed.
        """
        check_live_fields(changes)
        with self._cond:
            if self._closed:
                raise RunError(ErrorInfo("run_ended"))
            config = replace(self._config, **changes)  # validates, raises ValueError
            self._config = config
            self._send(Adjust(changes))

    def snapshot_net(self, timeout=5.0):
        """A new MultiLayerNet holding a copy of the weights (sent by the child between two steps)."""
        with self._cond:
            if self._busy:
                self._params_reply = None
                self._send(SendParams())
                self._cond.wait_for(lambda: self._params_reply is not None or not self._busy, timeout)
                params = self._params_reply if self._params_reply is not None else self._params
            else:
                params = self._params
            config = self._config
        return net_from_params(config, params)

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
            report = self._last_report
            fields = dict(config=self._config, evaluations=len(self._evals), first_loss=self._first_loss,
                          divergence=self._divergence, error=self._error, adjustments=tuple(self._adjustments),
                          eval_seconds=self._eval_seconds)
        its = (np.arange(1, len(losses) + 1) * stride).astype(np.int64)
        rate = math.nan
        if state == RUNNING and len(samples) >= 2 and samples[-1][0] > samples[0][0]:
            rate = (samples[-1][1] - samples[0][1]) / (samples[-1][0] - samples[0][0])
        eta = (target - iteration) / rate if rate > 0 else math.nan
        waiting = self._conn.place() if state == RUNNING and hasattr(self._conn, "place") else 0
        age = now - report if state == RUNNING and report is not None else math.nan
        if len(evals) > max_points:
            evals = np.column_stack(downsample_rows(evals[:, 0], evals[:, 1:], max_points))
        ratio_its, ratios = downsample_rows(ratio_its, ratios, max_points)
        return Snapshot(
            run_id=self.run_id, label=self.label, state=state, iteration=iteration, target=target,
            epoch=iteration / ipe, iter_per_epoch=ipe, rate=rate, eta=eta, seconds=seconds,
            loss=loss_curve(losses, its, stride, max_points), evals=evals, ratio_iterations=ratio_its,
            ratios=ratios, dataset_title=self.dataset_title, waiting=waiting, age=age, **fields,
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
        self._last_report = self._started_at
        self._send(Run(self._target, pause_at))

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
            with self._cond:
                finished = self._take(message)
                self._cond.notify_all()
            if finished and self._on_finish is not None:
                self._on_finish(self)
        with self._cond:
            if not self._closed:
                self._error = self._error or ErrorInfo("process_ended")
                if self._state == RUNNING:
                    self._state = PAUSED
                self._closed = True
            self._stop_clock()
            self._busy = False
            self._cond.notify_all()
        self._conn.close()

    def _take(self, message):
        """Apply one message from the child (lock held); True if the run just reached its target."""
        if isinstance(message, Batch):
            self._take_batch(message)
        elif isinstance(message, Adjusted):
            self._adjustments.append(Adjustment(message.iteration, tuple(sorted(message.changes.items()))))
            self._iter_per_epoch = message.iter_per_epoch
        elif isinstance(message, Params):
            self._params_reply = message.params
        elif isinstance(message, Checkpoint):
            self._checkpoint = message
        elif isinstance(message, Stopped):
            self._iteration, self._params = message.iteration, message.params
            if message.divergence is not None:
                self._divergence = message.divergence
                self._diverged = True
            if message.error is not None:
                self._error = message.error
                _log_bug(self.run_id, message.error)
            finished = message.state == FINISHED
            if finished:
                self._state = FINISHED
            elif self._state == RUNNING:
                self._state = PAUSED  # it stopped by itself: +1 epoch done, divergence, error
            self._stop_clock()
            self._busy = False
            return finished
        return False

    def _stop_clock(self):
        if self._started_at is not None:
            self._seconds += time.perf_counter() - self._started_at
            self._started_at = None

    def _take_batch(self, batch):
        if self._first_loss is None and len(batch.losses):
            self._first_loss = float(batch.losses[0])
        for loss in batch.losses:
            self._losses.append(loss)
        for row in batch.evals:
            self._evals.append(row)
        self._ratio_its.extend(batch.ratio_iterations)
        for row in batch.ratios:
            self._ratios.append(row)
        self._eval_seconds += batch.eval_seconds
        self._iteration, self._iter_per_epoch = batch.iteration, batch.iter_per_epoch
        self._last_report = time.perf_counter()
        self._rate_samples.append((self._last_report, batch.iteration))
