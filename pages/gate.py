"""At most a few page runs at a time execute the pages' code; the others wait their turn, asleep.

Streamlit runs every script run (a click, a fragment's timed redraw) in a new thread of the one server
process, so a hall of students is dozens of threads taking turns on one interpreter lock. The
server's event loop is one more thread among them: it starts each run's thread, and
``Thread.start()`` waits until that thread has had the lock once. With 60 training pages redrawing
and pausing, py-spy found the event loop there nearly every time it looked. Every click and every
finished figure queued behind it: the runs finished within a second, but their pages saw them 5 to 7 s
later, all at once (benchmarks/load.py, 60 sessions: Pause p50 6.0 s, p95 7.4 s).

A run waiting here waits on a semaphore, not on the interpreter lock. So only SLOTS runs compete for
that lock at a time and the event loop gets it back at once. The same work is done in turn instead of
all at the same time, and each run finishes sooner (Pause p50 1.0 s, p95 1.6 s with the same 60 sessions).

``GATE()`` is re-entrant within a thread (a page's fragment drawn inside its page's run). A run that
has waited WAIT seconds goes ahead anyway, so a page stuck in a long computation delays the others
but never locks them out. Slots: ``BACKPROP_PAGE_RUNS`` (default 2: one can run Python while the
other is in NumPy or writing its messages).
"""
import contextlib
import functools
import os
import threading

WAIT = 10.0  # seconds a run waits for a slot before it goes ahead anyway


def _slots():
    try:
        return max(1, int(os.environ.get("BACKPROP_PAGE_RUNS", "2")))
    except ValueError:
        return 2


class Gate:
    def __init__(self, slots, wait=WAIT):
        self.slots = slots
        self._free = threading.BoundedSemaphore(slots)
        self._wait = wait
        self._depth = threading.local()
        self._lock = threading.Lock()
        self.inside = 0  # runs inside now (for tests and benchmarks)
        self.waited_out = 0  # runs that went ahead after waiting ``wait`` s

    @contextlib.contextmanager
    def __call__(self):
        depth = getattr(self._depth, "n", 0)
        if depth:  # this thread is inside already: a fragment drawn during its page's run
            self._depth.n = depth + 1
            try:
                yield
            finally:
                self._depth.n = depth
            return
        got = self._free.acquire(timeout=self._wait)
        with self._lock:
            self.inside += 1
            self.waited_out += not got
        self._depth.n = 1
        try:
            yield
        finally:
            self._depth.n = 0
            with self._lock:
                self.inside -= 1
            if got:
                self._free.release()

    def wrap(self, fn):
        """``fn`` run inside the gate (a fragment's function: its reruns do not pass through app.py)."""
        @functools.wraps(getattr(fn, "func", fn))  # a partial is named by its function (a fragment's id)
        def gated(*args, **kwargs):
            with self():
                return fn(*args, **kwargs)
        return gated


GATE = Gate(_slots())  # one per server process: it is the process's interpreter lock that it spares
