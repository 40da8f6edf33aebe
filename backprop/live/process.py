"""The training process: one run's Trainer, stepped and evaluated in an OS process of its own.

Started as ``python -m backprop.live.process FD`` (see ``spawn.py``) with one end of a socket pair;
it waits for an ``Init``, builds the ``Trainer`` and obeys the messages of ``messages.py``.

The path of a loss value, from the training step to the drawn curve:
1. ``TrainingProcess.advance`` here calls ``Trainer.step()`` (backprop/training.py), whose StepRecord
   holds the mini-batch loss; the loss waits in ``TrainingProcess.losses``.
2. Every FLUSH_EVERY seconds (and when it stops) the process sends them as one ``messages.Batch``.
3. In the server, the run's receiving thread (``LiveRun._receive`` in run.py) appends them to its
   ``LossHistory`` (history.py), under the run's lock.
4. The page's live fragment calls ``LiveRun.snapshot()``, which reduces the history to a ``Curve``
   (``loss_curve``: bucket means, extremes and the smoothed line).
5. ``backprop.figures.training`` turns the Curve into the live canvas data or a Plotly figure,
   which pages/training.py draws.
"""
import sys
import time
from multiprocessing.connection import Connection

import numpy as np
from threadpoolctl import threadpool_limits

from ..training import Trainer
from .messages import (FINISHED, PAUSED, Adjust, Adjusted, Batch, Close, Divergence, ErrorInfo, Failed, Params,
                       Pause, Ready, Run, SendParams, Stopped)

FLUSH_EVERY = 0.1  # seconds between reports while running
RATIO_EVERY = 25  # measure update-to-weight ratios on the first step and every this many steps


def main(fd):
    """Entry point: wait for the run's Init, build its Trainer, then serve it until told to close."""
    conn = Connection(fd)
    try:
        init = conn.recv()
    except (EOFError, OSError, KeyboardInterrupt):
        return  # a spare the server never used
    threadpool_limits(limits=1, user_api="blas")  # its own process: one BLAS thread (see backprop.bench)
    np.seterr(all="ignore")  # overflow is reported as divergence, not as warnings on stderr
    try:
        trainer = Trainer(init.config, init.data)
    except Exception as e:  # noqa: BLE001 - whatever it is, the controller must hear of it
        conn.send(Failed(ErrorInfo.of(e)))
        return
    conn.send(Ready(trainer.iter_per_epoch, trainer.net.n_layers, trainer.dataset_title, trainer.net.params))
    try:
        TrainingProcess(trainer, conn).serve()
    except (EOFError, OSError, KeyboardInterrupt):
        pass  # the controller went away


class TrainingProcess:
    """The training loop: steps and evaluations of the Trainer, with the controller's messages in between.

    The book's order of work: evaluate before the first step and after each epoch's last step.
    """

    def __init__(self, trainer, conn):
        self.tr, self.conn = trainer, conn
        self.running = False
        self.target = trainer.config.iterations
        self.pause_at = None
        self.evaluation = trainer.evaluation()  # the book evaluates before the first step too
        self.broken = False
        self.losses, self.evals, self.ratio_its, self.ratios = [], [], [], []
        self.eval_seconds = 0.0
        self.last_flush = time.perf_counter()

    def serve(self):
        while True:
            if not self.running or self.conn.poll():
                if self.handle(self.conn.recv()):
                    return
                continue
            try:
                self.advance()
            except Exception as e:  # noqa: BLE001 - a bug must not lose the run: keep the history, say what happened
                self.broken = True
                self.stop(PAUSED, error=ErrorInfo.of(e))

    def handle(self, message):
        """Obey one message; True to close."""
        if isinstance(message, Run):
            if self.broken:
                self.stop(PAUSED)
            else:
                self.target, self.pause_at = message.target, message.pause_at
                self.running = True
                self.last_flush = time.perf_counter()
        elif isinstance(message, Pause) and self.running:
            self.stop(PAUSED)
        elif isinstance(message, Adjust):
            self.tr.adjust(**message.changes)
            self.conn.send(Adjusted(self.tr.iteration + 1, message.changes, self.tr.iter_per_epoch))
        elif isinstance(message, SendParams):
            self.conn.send(Params(self.tr.net.params))
        elif isinstance(message, Close):
            return True
        return False

    def advance(self):
        """One unit of work: an evaluation chunk if one is due, else one step (or stop at the target)."""
        tr = self.tr
        if self.evaluation is not None:
            self.evaluate_chunk()
        elif tr.iteration >= self.target:
            self.stop(FINISHED)
        elif self.pause_at is not None and tr.iteration >= self.pause_at:
            self.stop(PAUSED)
        else:
            self.step()

    def step(self):
        tr = self.tr
        rec = tr.step(ratios=tr.iteration == 0 or (tr.iteration + 1) % RATIO_EVERY == 0)
        self.losses.append(rec.loss)
        if rec.ratios is not None:
            self.ratio_its.append(rec.iteration)
            self.ratios.append(rec.ratios)
        if rec.epoch_end:
            self.evaluation = tr.evaluation()
        if rec.diverged:
            self.stop(PAUSED, divergence=Divergence(rec.iteration, float(rec.loss), float(tr.config.lr),
                                                    tr.weights_finite()))
        elif time.perf_counter() - self.last_flush >= FLUSH_EVERY:
            self.flush()

    def evaluate_chunk(self):
        """One chunk of the book's per-epoch accuracies: messages are read between two chunks."""
        start = time.perf_counter()
        if self.evaluation.advance():
            e = self.evaluation.record()
            self.evals.append((e.iteration, e.epoch, e.train_acc, e.test_acc))
            self.evaluation = None
        self.eval_seconds += time.perf_counter() - start

    def flush(self):
        self.conn.send(Batch(np.array(self.losses, dtype=np.float32), self.evals, self.ratio_its, self.ratios,
                             self.eval_seconds, self.tr.iteration, self.tr.iter_per_epoch))
        self.losses, self.evals, self.ratio_its, self.ratios = [], [], [], []
        self.eval_seconds = 0.0
        self.last_flush = time.perf_counter()

    def stop(self, state, divergence=None, error=None):
        self.running = False
        self.pause_at = None
        self.flush()
        self.conn.send(Stopped(state, self.tr.iteration, self.tr.net.params, divergence, error))


if __name__ == "__main__":
    main(int(sys.argv[1]))
