"""The trainer pool: at most K trainer processes per server, each serving many runs (worker.py).

Each run talks to its trainer process through a ``Channel``, which looks to ``LiveRun`` like a
connection of its own (send, recv) and a process (poll, wait, kill); the pool tags its messages
with the run's key on the process's one socket, and one router thread per process hands the
answers back. The pool also keeps the server's limits:

- at most ``trainers`` processes (BACKPROP_TRAINERS, default the number of cores), started when a
  run needs one and ended after IDLE_SECONDS without runs, at a lower scheduling priority
  (BACKPROP_TRAINER_NICE, default 10) so that the server answers first;
- at most ``max_running`` runs stepping at once (BACKPROP_MAX_RUNS, default 32 per process): a
  further Start waits in a queue, first come first served, and its run knows its place;
- at most ``memory_mb`` of estimated run memory on the server (BACKPROP_POOL_MEMORY_MB, default
  1024): beyond that a new run is refused ("server_full").

A trainer process that dies takes only its own runs: their channels end (the run says
"process_ended", keeps its history and can be restarted from its last checkpoint) and the next run
gets a fresh process.
"""
import collections
import os
import threading
import time

from .budget import images as budget_images, limits as budget_limits, run_bytes as budget_run_bytes
from .messages import Close, ErrorInfo, Failed, Init, Pause, Run, Stopped
from .spawn import start_process

REFRESH_INTERVALS = (0.5, 1.0, 2.0, 4.0)  # seconds between live redraws: quiet, busy, very busy, overrun server
# Running runs per trainer process that slow the redraws down one level: a hall of 30 on two processes
# redraws every 2 s (each redraw of 30 pages is CPU the trainers do not get), 36 and more every 4 s.
RUNS_PER_LEVEL = 6
IDLE_SECONDS = 3.0  # a trainer process without runs for this long ends (memory and processes back to idle)


def _env_number(name, default, kind=int):
    value = os.environ.get(name)
    try:
        return max(1, kind(value)) if value else default
    except ValueError:
        return default


def cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class RunRefused(RuntimeError):
    """The pool cannot take another run; ``error`` is an ErrorInfo."""

    def __init__(self, error):
        self.error = error
        super().__init__(error.code)


class Channel:
    """One run's end of its trainer process: a connection (send, recv, close) and a process (poll, wait, kill)."""

    def __init__(self, pool, worker, key):
        self._pool, self.worker, self.key = pool, worker, key
        self._inbox = collections.deque()
        self._cond = threading.Condition()
        self._ended = False
        self.cost = 0  # estimated bytes, counted against the pool's memory budget

    # --- the connection ---
    def send(self, message):
        self._pool._send(self, message)

    def recv(self):
        with self._cond:
            self._cond.wait_for(lambda: self._inbox or self._ended)
            if self._inbox:
                return self._inbox.popleft()
            raise EOFError("the run's channel ended")

    def close(self):
        self._pool._detach(self)

    def place(self):
        """1-based place in the server's queue of runs waiting to step, 0 if not waiting."""
        return self._pool.place(self)

    # --- the process ---
    def poll(self):
        """None while the run has its trainer process, else 0 (as Popen.poll)."""
        with self._cond:
            return 0 if self._ended else None

    def wait(self, timeout=None):
        return self.poll()

    def kill(self):
        self._pool._detach(self)

    # --- the pool's side ---
    def _deliver(self, message):
        with self._cond:
            self._inbox.append(message)
            self._cond.notify_all()

    def _end(self):
        with self._cond:
            self._ended = True
            self._cond.notify_all()


class _Worker:
    """The server's side of one trainer process: its socket, its runs, its router thread."""

    def __init__(self, pool, nice):
        self.proc, self.conn = start_process(nice)
        self.channels = {}  # key -> Channel
        self.send_lock = threading.Lock()
        self.idle_since = time.monotonic()
        self.retired = False
        self.thread = threading.Thread(target=pool._route, args=(self,), name=f"backprop-trainer-{self.proc.pid}",
                                       daemon=True)
        self.thread.start()

    def send(self, key, message):
        with self.send_lock:
            try:
                self.conn.send((key, message))
            except (OSError, ValueError):  # the process is gone: the router reports it
                pass


class TrainerPool:
    """At most ``trainers`` trainer processes sharing out the runs (a spawner for LiveRun: ``take()``)."""

    def __init__(self, trainers=None, max_running=None, memory_mb=None, nice=None, idle_seconds=IDLE_SECONDS):
        self.trainers = trainers or _env_number("BACKPROP_TRAINERS", cores())
        self.max_running = max_running or _env_number("BACKPROP_MAX_RUNS", 32 * self.trainers)
        self.memory_budget = int((memory_mb or _env_number("BACKPROP_POOL_MEMORY_MB", 1024, float)) * 2**20)
        self.nice = nice if nice is not None else int(os.environ.get("BACKPROP_TRAINER_NICE", 10))
        self.idle_seconds = idle_seconds
        self._lock = threading.Lock()
        self._workers = []
        self._running = set()  # channels stepping (a Run sent, its Stopped not yet back)
        self._waiting = collections.deque()  # (channel, Run) waiting for a place
        self._hosted = 0  # estimated bytes of the runs the processes hold
        self._next_key = 1
        self._cpu = (time.monotonic(), time.process_time(), 0.0)  # for server_cpu()
        self._level = 0  # of REFRESH_INTERVALS, as last returned

    # --- what LiveRun calls ---------------------------------------------------------------------------
    def take(self):
        """(process, connection) for one new run: a Channel on the least loaded trainer process."""
        with self._lock:
            live = [w for w in self._workers if not w.retired and w.proc.poll() is None]
            if len(live) < self.trainers:
                worker = _Worker(self, self.nice)
                self._workers.append(worker)
            else:
                worker = min(live, key=lambda w: len(w.channels))
            channel = Channel(self, worker, self._next_key)
            self._next_key += 1
            worker.channels[channel.key] = channel
            return channel, channel

    # --- the channels' messages -------------------------------------------------------------------------
    def _send(self, channel, message):
        forward = [message]
        with self._lock:
            if channel.key not in channel.worker.channels:
                return  # ended: nothing reaches the process any more
            if isinstance(message, Init):
                self._admit_memory(channel, message)
            elif isinstance(message, Run):
                if len(self._running) >= self.max_running or self._waiting:
                    self._waiting.append((channel, message))
                    return
                self._running.add(channel)
            elif isinstance(message, Pause):
                held = self._unqueue(channel)
                if held is not None:  # it never started: the process runs it and stops at once
                    self._running.add(channel)
                    forward = [held, message]
            elif isinstance(message, Close):
                self._unqueue(channel)
        for m in forward:
            channel.worker.send(channel.key, m)
        if isinstance(message, Close):
            self._detach(channel)

    def _admit_memory(self, channel, init):
        """Count the run's memory (at most what a run may use: Lab checks that limit) or refuse it (lock held)."""
        try:
            n_train, n_test = budget_images(init.config, init.data)
            cost = min(budget_run_bytes(init.config, n_train, n_test), budget_limits()[0])
        except Exception:  # noqa: BLE001 - no data set: the process will say what is missing
            cost = 0
        if self._hosted + cost > self.memory_budget:
            del channel.worker.channels[channel.key]
            channel._end()
            raise RunRefused(ErrorInfo("server_full", {"runs": self.hosted_runs(),
                                                       "used_mb": round(self._hosted / 2**20),
                                                       "limit_mb": round(self.memory_budget / 2**20)}))
        channel.cost = cost
        self._hosted += cost

    def _unqueue(self, channel):
        """Take ``channel`` out of the waiting queue (lock held); its held Run, or None."""
        for i, (waiting, run) in enumerate(self._waiting):
            if waiting is channel:
                del self._waiting[i]
                return run
        return None

    def _detach(self, channel):
        """The run is over for its trainer process: forget it there and free its place and memory."""
        with self._lock:
            if channel.worker.channels.pop(channel.key, None) is None:
                return
            self._hosted -= channel.cost
            self._running.discard(channel)
            self._unqueue(channel)
            if not channel.worker.channels:
                channel.worker.idle_since = time.monotonic()
            admitted = self._admit_waiting()
        channel._end()
        self._forward(admitted)

    def _admit_waiting(self):
        """Runs that may step now that a place is free (lock held): [(channel, Run)]."""
        admitted = []
        while self._waiting and len(self._running) < self.max_running:
            channel, run = self._waiting.popleft()
            self._running.add(channel)
            admitted.append((channel, run))
        return admitted

    @staticmethod
    def _forward(admitted):
        for channel, run in admitted:
            channel.worker.send(channel.key, run)

    # --- each process's router thread ---------------------------------------------------------------
    def _route(self, worker):
        """Hand the process's messages to its runs' channels; retire the process when idle; report its end."""
        conn = worker.conn
        while True:
            try:
                if not conn.poll(0.5):
                    self._retire_if_idle(worker)
                    continue
                key, message = conn.recv()
            except (EOFError, OSError):
                break
            channel = worker.channels.get(key)
            if channel is None:
                continue
            if isinstance(message, Stopped):
                with self._lock:
                    self._running.discard(channel)
                    admitted = self._admit_waiting()
                self._forward(admitted)
            channel._deliver(message)
            if isinstance(message, Failed):
                self._detach(channel)
        self._ended(worker)

    def _retire_if_idle(self, worker):
        with self._lock:
            if worker.retired or worker.channels or time.monotonic() - worker.idle_since < self.idle_seconds:
                return
            worker.retired = True
            self._workers.remove(worker)
        worker.send(None, Close())

    def _ended(self, worker):
        """The process ended (retired, killed, out of memory): its runs' channels end with it."""
        with self._lock:
            if worker in self._workers:
                self._workers.remove(worker)
            channels = list(worker.channels.values())
            worker.channels.clear()
            for channel in channels:
                self._hosted -= channel.cost
                self._running.discard(channel)
                self._unqueue(channel)
            admitted = self._admit_waiting()
        for channel in channels:
            channel._end()
        self._forward(admitted)
        worker.conn.close()
        try:
            worker.proc.wait(5)
        except Exception:  # noqa: BLE001 - a process that will not end is killed
            worker.proc.kill()
            worker.proc.wait()

    # --- what the page shows -------------------------------------------------------------------------
    def place(self, channel):
        with self._lock:
            for i, (waiting, _) in enumerate(self._waiting):
                if waiting is channel:
                    return i + 1
            return 0

    def hosted_runs(self):
        return sum(len(w.channels) for w in self._workers)

    def load(self):
        """{running, waiting, runs, processes, trainers}: how many runs share the server right now."""
        with self._lock:
            return {"running": len(self._running), "waiting": len(self._waiting), "runs": self.hosted_runs(),
                    "processes": len(self._workers), "trainers": self.trainers}

    def processes(self):
        """The pids of the trainer processes (for benchmarks and tests)."""
        with self._lock:
            return [w.proc.pid for w in self._workers]

    def server_cpu(self, window=1.0):
        """This server process's CPU use (1.0 = one core) over the last ``window`` seconds or so: cheap."""
        with self._lock:
            wall0, cpu0, last = self._cpu
            wall, cpu = time.monotonic(), time.process_time()
            if wall - wall0 >= window:
                last = (cpu - cpu0) / (wall - wall0)
                self._cpu = (wall, cpu, last)
            return last

    def refresh_interval(self):
        """Seconds between two redraws of a live view: 0.5, 1, 2 or 4 as the server gets busier.

        Busy means many runs stepping per trainer process, or the server itself using much of a core
        (many open pages redrawing): then every page redraws less often, leaving CPU to the rest.
        """
        with self._lock:
            running = len(self._running)
        busy = max(running / (RUNS_PER_LEVEL * self.trainers), self.server_cpu() / 0.4)
        level = min(int(busy), len(REFRESH_INTERVALS) - 1)  # 6, 12, 18 runs per process (or 40%, 80%, 120% CPU)
        if level < self._level and busy > self._level - 0.25:
            level = self._level  # calm down a little below the threshold first: no flapping between rates
        self._level = level
        return REFRESH_INTERVALS[level]

    def shutdown(self):
        """End every trainer process (their runs end as if the processes died)."""
        with self._lock:
            workers = list(self._workers)
        for w in workers:
            w.send(None, Close())
        for w in workers:
            w.thread.join(10)


_default = None
_default_lock = threading.Lock()


def default_pool():
    """The server's pool, made on first use (its processes start when runs need them)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = TrainerPool()
        return _default
