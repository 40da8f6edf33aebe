"""A run's training loop: one Trainer stepped and evaluated between the controller's messages.

``TrainingProcess`` obeys the messages of ``messages.py`` for one run; a trainer process of the pool
(worker.py) hosts many of them and gives each a slice of time in turn (``run_slice``).

The path of a loss value, from the training step to the drawn curve:
1. ``TrainingProcess.advance`` here calls ``Trainer.step()`` (backprop/training.py), whose StepRecord
   holds the mini-batch loss; the loss waits in ``TrainingProcess.losses``.
2. Every FLUSH_EVERY seconds (at the end of a slice, and when it stops) the run sends them as one
   ``messages.Batch`` through the worker's socket, tagged with the run's key.
3. In the server, the pool's router thread (pool.py) hands the message to the run's Channel; the run's
   receiving thread (``LiveRun._receive`` in run.py) appends them to its ``LossHistory`` (history.py),
   under the run's lock.
4. The page's live fragment calls ``LiveRun.snapshot()``, which reduces the history to a ``Curve``
   (``loss_curve``: bucket means, extremes and the smoothed line).
5. ``backprop.figures.training`` turns the Curve into the live canvas data or a Plotly figure,
   which pages/training.py draws.

Every CHECKPOINT_SECONDS of running, right after a flush (so the server's history ends exactly at
its iteration), and whenever it stops, the run sends a ``Checkpoint``: everything that makes the
next step (weights, optimizer state, the batch generator), so a run whose trainer process died can
be restarted where it was and go on exactly as it would have.
"""
import copy
import time

import numpy as np

from .messages import (FINISHED, PAUSED, Adjust, Adjusted, Batch, Checkpoint, Close, Divergence, ErrorInfo, Params,
                       Pause, Run, SendParams, Stopped)

FLUSH_EVERY = 0.1  # seconds between reports while running
RATIO_EVERY = 25  # measure update-to-weight ratios on the first step and every this many steps
CHECKPOINT_SECONDS = 2.0  # of running between two checkpoints (a copy of the weights and optimizer state)


class TrainingProcess:
    """The training loop: steps and evaluations of the Trainer, with the controller's messages in between.

    The book's order of work: evaluate before the first step and after each epoch's last step.
    ``conn`` is anything with ``send`` (and ``poll``/``recv`` for ``serve``).
    """

    def __init__(self, trainer, conn, pending_evaluation=True):
        self.tr, self.conn = trainer, conn
        self.running = False
        self.target = trainer.config.iterations
        self.pause_at = None
        # the book evaluates before the first step too (a restored run: if its checkpoint had one due)
        self.evaluation = trainer.evaluation() if pending_evaluation else None
        self.broken = False
        self.losses, self.evals, self.ratio_its, self.ratios = [], [], [], []
        self.eval_seconds = 0.0
        self.last_flush = self.last_checkpoint = time.perf_counter()
        self.spacing = 1.0  # reports this many times further apart (the worker's crowd)
        self.checkpoint_spacing = 1.0  # checkpoints this many times further apart

    def serve(self):
        """This run alone: obey messages and step until told to close."""
        while True:
            if not self.running or self.conn.poll():
                if self.handle(self.conn.recv()):
                    return
                continue
            self.run_slice(0.0)

    def run_slice(self, seconds):
        """Step (or evaluate) for about ``seconds`` of wall time, at least one unit of work, unless it stops."""
        end = time.perf_counter() + seconds
        while self.running:
            try:
                self.advance()
            except Exception as e:  # noqa: BLE001 - a bug must not lose the run: keep the history, say what happened
                self.broken = True
                self.stop(PAUSED, error=ErrorInfo.of(e))
            if time.perf_counter() >= end:
                break
        if self.running:
            now = time.perf_counter()
            if now - self.last_flush >= FLUSH_EVERY * self.spacing:
                self.flush()
                if now - self.last_checkpoint >= CHECKPOINT_SECONDS * self.checkpoint_spacing:
                    self.checkpoint()

    def handle(self, message):
        """Obey one message; True to close."""
        if isinstance(message, Run):
            if self.broken:
                self.stop(PAUSED)
            else:
                self.target, self.pause_at = message.target, message.pause_at
                self.running = True
                self.last_flush = self.last_checkpoint = time.perf_counter()
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

    def evaluate_chunk(self):
        """One chunk of the book's per-epoch accuracies: messages are read between two chunks."""
        start = time.perf_counter()
        if self.evaluation.advance():
            e = self.evaluation.record()
            self.evals.append((e.iteration, e.epoch, e.train_acc, e.test_acc))
            self.evaluation = None
            forget_activations(self.tr.net)
        self.eval_seconds += time.perf_counter() - start

    def flush(self):
        self.conn.send(Batch(np.array(self.losses, dtype=np.float32), self.evals, self.ratio_its, self.ratios,
                             self.eval_seconds, self.tr.iteration, self.tr.iter_per_epoch))
        self.losses, self.evals, self.ratio_its, self.ratios = [], [], [], []
        self.eval_seconds = 0.0
        self.last_flush = time.perf_counter()

    def checkpoint(self):
        """Send everything the next step depends on (right after a flush: the server's history ends here)."""
        self.conn.send(Checkpoint(self.tr.iteration, trainer_state(self.tr), self.evaluation is not None))
        self.last_checkpoint = time.perf_counter()

    def stop(self, state, divergence=None, error=None):
        self.running = False
        self.pause_at = None
        self.flush()
        if error is None:
            self.checkpoint()
        self.conn.send(Stopped(state, self.tr.iteration, self.tr.net.params, divergence, error))


def forget_activations(net):
    """Drop what the layers cached in their last forward pass (the next step's forward sets it again).

    After an evaluation the layers hold a chunk of EVAL_CHUNK images' activations (3 MB for the chapter 5
    net): a paused run would keep them for nothing, and a trainer process holds many runs.
    """
    for layer in net.layers.values():
        for name in ("x", "mask", "out"):
            if getattr(layer, name, None) is not None:
                setattr(layer, name, None)


_TRAINER_STATE = ("iteration", "seconds", "_batches", "_next", "_saved")


def trainer_state(tr):
    """Copies of what a Trainer's next steps depend on, besides its config and data (plain arrays and dicts)."""
    state = {name: copy.deepcopy(getattr(tr, name)) for name in _TRAINER_STATE}
    state.update(params={k: p.copy() for k, p in tr.net.params.items()}, config=tr.config,
                 optimizer=copy.deepcopy(vars(tr.optimizer)), rng=tr.batch_rng.bit_generator.state)
    return state


def restore_trainer(tr, state):
    """Put ``state`` (from trainer_state) into a Trainer built from the same initial config and data."""
    changed = {k: v for k, v in state["config"].to_dict().items() if v != tr.config.to_dict()[k]}
    if changed:
        tr.adjust(**changed)  # the live changes made before the checkpoint (anything else is a different run)
    for key, p in tr.net.params.items():
        np.copyto(p, state["params"][key])  # in place: the layers hold these very arrays
    vars(tr.optimizer).update(copy.deepcopy(state["optimizer"]))
    tr.batch_rng.bit_generator.state = state["rng"]
    for name in _TRAINER_STATE:
        setattr(tr, name, copy.deepcopy(state[name]))
