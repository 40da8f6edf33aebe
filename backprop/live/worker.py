"""A trainer process of the pool: many runs, each a TrainingProcess (process.py), stepped in turn.

Started by spawn.py as ``python -m backprop.live.worker FD NICE``. Every message on its socket is a
pair ``(key, message)``: the key names the run (pool.py gives each run one), the message is one of
messages.py. ``(None, Close())`` ends the process.

Fair time-slicing: the runs that are running take turns, each stepping for SLICE seconds (at least
one step or evaluation chunk); the socket is read between two slices, so a Pause waits for at most
one slice of another run. Equal slices give every run the same share of this process's CPU. With more
running runs each reports and checkpoints less often (REPORT_CROWD, CROWD), so that the server reads a
bounded number of messages a second.
"""
import collections
import os
import sys
from multiprocessing.connection import Connection

import numpy as np
from threadpoolctl import threadpool_limits

from ..training import Trainer
from .messages import PAUSED, Close, ErrorInfo, Failed, Init, Ready
from .process import TrainingProcess, restore_trainer
from .shared import shared_dataset

SLICE = 0.01  # seconds of stepping per turn
# Beyond REPORT_CROWD running runs per process each reports (every FLUSH_EVERY s alone) proportionally less
# often, at most every MAX_REPORT_SPACING times FLUSH_EVERY (a live view older than 2 s says so); beyond
# CROWD each also checkpoints proportionally less often. A hall of 30 on two processes: each run reports every
# 0.75 s, the live views redraw every 2 s, and the server handles 40 reports a second instead of 160 (each
# woke two of its threads, and each wake-up took a core from a trainer process for a moment).
REPORT_CROWD = 2
MAX_REPORT_SPACING = 10
CROWD = 8


class _Outbox:
    """What a run's TrainingProcess sends through: its messages go out tagged with its key."""

    def __init__(self, conn, key):
        self.conn, self.key = conn, key

    def send(self, message):
        self.conn.send((self.key, message))


class Worker:
    def __init__(self, conn):
        self.conn = conn
        self.runs = {}  # key -> TrainingProcess
        self._turns = collections.deque()  # keys still to get a slice in this round

    def serve(self):
        while True:
            busy = any(run.running for run in self.runs.values())
            timeout = 0 if busy else None  # nothing to step: sleep until a message comes
            while self.conn.poll(timeout):
                if self.dispatch(*self.conn.recv()):
                    return
                timeout = 0
            self.turn()

    def turn(self):
        """Give the next running run one slice (a new round once every running run has had one)."""
        if not self._turns:
            self._turns.extend(key for key, run in self.runs.items() if run.running)
            # Many runs: each reports less often, so that the server reads a bounded number of messages a
            # second (a hall of 60 on two processes sent 600 a second, more than a busy server's router
            # threads could take, and the processes waited on their sockets instead of training).
            spacing = min(MAX_REPORT_SPACING, max(1.0, len(self._turns) / REPORT_CROWD))
            checkpoint_spacing = max(1.0, len(self._turns) / CROWD)
            for run in self.runs.values():
                run.spacing, run.checkpoint_spacing = spacing, checkpoint_spacing
        while self._turns:
            run = self.runs.get(self._turns.popleft())
            if run is not None and run.running:
                run.run_slice(SLICE)
                return

    def dispatch(self, key, message):
        """Obey one message; True to end the process."""
        if key is None:
            return isinstance(message, Close)
        if isinstance(message, Init):
            self.start(key, message)
            return False
        run = self.runs.get(key)
        if run is None:
            return False
        try:
            if run.handle(message):
                del self.runs[key]
        except Exception as e:  # noqa: BLE001 - one run's trouble must not end the others
            run.broken = True
            run.stop(PAUSED, error=ErrorInfo.of(e))
        return False

    def start(self, key, init):
        outbox = _Outbox(self.conn, key)
        try:
            trainer = Trainer(init.config, init.data if init.data is not None else shared_dataset(init.config.dataset))
            if init.checkpoint is not None:
                restore_trainer(trainer, init.checkpoint.state)
            due = init.checkpoint.evaluation_due if init.checkpoint is not None else True
            run = TrainingProcess(trainer, outbox, pending_evaluation=due)
        except Exception as e:  # noqa: BLE001 - whatever it is, the controller must hear of it
            outbox.send(Failed(ErrorInfo.of(e, init.config.dataset)))
            return
        self.runs[key] = run
        outbox.send(Ready(trainer.iter_per_epoch, trainer.net.n_layers, trainer.dataset_title, trainer.net.params))


def main(fd, nice):
    conn = Connection(fd)
    if nice:
        os.nice(nice)  # the server answers first: it preempts this process whenever it needs the CPU
    threadpool_limits(limits=1, user_api="blas")  # one BLAS thread per process (see backprop.bench)
    np.seterr(all="ignore")  # overflow is reported as divergence, not as warnings on stderr
    try:
        Worker(conn).serve()
    except (EOFError, OSError, KeyboardInterrupt):
        pass  # the server went away


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
