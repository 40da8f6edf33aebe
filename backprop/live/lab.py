"""A browser session's bench: ``Lab`` holds its current run, the runs queued after it, and past records;
``SessionGuard`` ends its training when the session ends. Nothing here imports or calls streamlit.
"""
import collections
import threading
import time

from .allocator import trim as trim_memory
from .budget import check as budget_check, images as budget_images
from .messages import FINISHED, STOPPED, ErrorInfo
from .run import LiveRun, RunError


class Lab:
    """One browser session's runs: the current LiveRun, runs queued to follow it, records of past runs.

    Records are kept newest last, at most ``max_records`` (the oldest go first). A comparison
    (``queue``) starts its first run at once and each next one when the previous finishes. So a
    session has at most one run in a trainer process at a time; a run over budget (budget.py) is
    refused before it starts, with a RunError saying why and what fits.
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
        self._closings = 0  # how many times its session went away (a forget names the one it follows)

    def _make(self, config, label, group=None):
        data = self._data_loader(config) if self._data_loader else None
        try:
            refusal = budget_check(config, *budget_images(config, data))
        except (OSError, ValueError):  # the data set is missing or unreadable: its run will say so
            refusal = None
        if refusal is not None:
            raise RunError(ErrorInfo(*refusal))
        run = LiveRun(config, data, run_id=self._next_id, label=label or "", group=group,
                      on_finish=self._finished)
        self._next_id += 1
        return run

    def new_run(self, config, label=""):
        """A fresh READY run from ``config`` replaces the current one (which is archived if it made progress)."""
        with self._lock:
            self._queue.clear()
            self._end(self.current)
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
            self._end(self.current)
            (label, config), *rest = runs
            self._queue.extend((lbl, cfg, group) for lbl, cfg in rest)
            first = self._make(config, label, group)
            first.start()
            self.current = first
            return group

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
        self._end(run)

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

    def _end(self, run):
        """Stop ``run`` if it is not over (archiving it) and end its process."""
        if run is None:
            return
        if run.state not in (STOPPED, FINISHED):
            run.stop()
            self.archive(run)
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
        """The browser session ended: stop the current run and end its process (its history is kept).
        Returns a token for ``forget``."""
        with self._lock:
            self.closed = True
            self._closings += 1
            closing = self._closings
            self._queue.clear()
            run = self.current
        self._end(run)
        return closing

    def reopen(self):
        """The session came back (a reconnect): queued runs may continue again."""
        with self._lock:
            self.closed = False

    def forget(self, closing):
        """The session closed by ``shutdown`` (which returned ``closing``) can no longer come back: drop
        its runs and records (their weights and histories), then hand the freed memory back to the OS.
        Does nothing if the session came back since (even if it went away again)."""
        with self._lock:
            if not self.closed or closing != self._closings:
                return False
            run, self.current = self.current, None
            self._queue.clear()
            self._records.clear()
        if run is not None:
            run.close()
        del run
        trim_memory()
        return True


class SessionGuard:
    """Ends training when the browser session ends.

    The page registers its session's Lab here; the app keeps one guard per session in a
    session-scoped resource cache whose on_release (called when the session disconnects) is
    ``release``. A Lab in session state survives a reconnect; the guard does not, so the next
    script run of the session creates a new guard and registers the Lab again (``watch``).

    With ``forget_after`` (seconds: the server's reconnect window plus a margin), a released Lab that
    no guard has watched again by then is told to ``forget`` its runs: Streamlit drops a closed session
    only when a later session disconnects, so the last one's runs and weights would otherwise stay.
    """

    def __init__(self, forget_after=None):
        self._lock = threading.Lock()
        self._labs = []
        self.forget_after = forget_after

    def watch(self, lab):
        with self._lock:
            if not any(known is lab for known in self._labs):
                self._labs.append(lab)
                lab.reopen()

    def release(self):
        with self._lock:
            labs, self._labs = self._labs, []
        for lab in labs:
            closing = lab.shutdown()
            if self.forget_after is not None:
                timer = threading.Timer(self.forget_after, lab.forget, args=(closing,))
                timer.daemon = True
                timer.start()


# A run lives in its session and its trainer process: when the server restarts, every run is gone.
# The page puts run_token(run_id) in its URL; a token from another start of the server means the
# run it names was lost (a fresh session after a restart simply has none).
SERVER_START = f"{time.time_ns() // 1_000_000:x}"


def run_token(run_id):
    return f"{SERVER_START}-{run_id}"


def run_from_earlier_server(token):
    """True if ``token`` (from a URL) names a run of an earlier start of this server."""
    start, _, run_id = str(token or "").partition("-")
    return bool(start and run_id.isdigit()) and start != SERVER_START
