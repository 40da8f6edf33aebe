"""A classroom on one server: N real sessions train at once while a few step the shopping graph.

    python -m benchmarks.load --sessions 30 [--seconds 20] [--shoppers 6]      (from the repository root)

Starts the app on 127.0.0.1 (tests/conftest.py's starter), measures ``python -m backprop.bench``'s
steps/s, then opens N sessions, each speaking Streamlit's websocket protocol as a browser does
(tests/wsclient.py: the page's first run, button clicks, the live fragment's timed reruns), so that the
machine's two cores measure the server, not N Chromium tabs: each opens /training and presses Start
(the book's chapter 5 run, made long enough to last), and ``--shoppers`` more step /shopping with Next.
Once every run trains, after ``--seconds`` more, every session presses Pause, the N clicks evenly spread over
``--pause-spread`` seconds (default 3: a hall told to pause; 0 puts them in the same instant), and waits
for "Paused"; all sessions close
and the benchmark waits (at most 60 s) until the server is idle again.
Everything is bounded in count and time; it stops by itself.

Prints ONE JSON line:
- sessions, shoppers, trainers (the server's trainer processes), errors (and the first few messages)
- peak_rss_mb: the server and its trainer processes, sampled every 0.2 s; peak_processes: trainer processes
- core_steps_per_s: backprop.bench, the median of six runs, three before the server starts and three after it
  has stopped (core_runs: each run's, in that order)
- total_iterations_per_s: all runs together while every one of them trains (from the moment the last run
  shows progress, for ``--seconds``: the iterations each page shows at the two ends, evaluations
  included); sum_of_run_rates: the runs' own rates (iterations over their own running time) added up,
  which overstates it, since the runs that start early or pause late train part of the time with fewer
  others; total_train_steps_per_s: total_iterations_per_s with the time spent evaluating taken out
  (the runs' own timing lines), comparable with core_steps_per_s x trainers; vs_core: that ratio
- run_iterations_per_s_min / _median, slowest_vs_fair (slowest run / the mean run)
- pause_p50_s / pause_p95_s: Pause click -> the page says "Paused"; shopping_step_p50_s / _p95_s: Next
  click -> the URL shows the next step
- server_cores, trainer_cores, client_cores: the CPU each used in that same window (1.0 = one core the
  whole time): the server process, its trainer processes together, this benchmark's own sessions (they
  share the machine: what the trainers get is what the other two leave); sessions_s: from the first
  session opening to the last one closing
- idle_after_s: seconds from the last context closing until no trainer process is left and the RSS
  has settled (idle_rss_mb; baseline_rss_mb is the warmed-up server's before the sessions); load_average: the machine's, at the end
"""
import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

from tests.appserver import running_app
from tests.wsclient import Session

ROOT = Path(__file__).resolve().parents[1]
PAUSED = re.compile(r"Paused at iteration [\d,]+")
RUNNING = re.compile(r"Iteration [1-9][\d,]* of")  # it has trained
RUNNING_AT = re.compile(r"Iteration ([\d,]+) of")
TIMING = re.compile(r"([\d.]+) s training \(([\d,]+|–) steps/s\) and ([\d.]+) s evaluating")
ITERATION = re.compile(r"[Ii]teration ([\d,]+)")


# --- processes ----------------------------------------------------------------------------------------

def _children(pid):
    kids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                kids.append(int(entry))
    return kids


def _cpu_s(pid):
    """CPU seconds (user + system) the process has used so far, 0 if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def _rss_mb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class Sampler:
    """Samples the RSS of the server and its trainer processes every 0.2 s in a thread."""

    def __init__(self, pid):
        self.pid = pid
        self.peak_rss = self.peak_processes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def now(self):
        kids = _children(self.pid)
        return _rss_mb(self.pid) + sum(_rss_mb(k) for k in kids), len(kids)

    def _run(self):
        while not self._stop.wait(0.2):
            rss, n = self.now()
            self.peak_rss, self.peak_processes = max(self.peak_rss, rss), max(self.peak_processes, n)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def core_steps_per_s(repeats=3):
    """backprop.bench's steps/s in ``repeats`` runs (one short run on a shared machine varies by 10-20%, and
    the target is a ratio to it: main() takes the median of three before and three after the sessions)."""
    rates = []
    for _ in range(repeats):
        out = subprocess.run([sys.executable, "-m", "backprop.bench", "--only", "train", "--steps", "1000"],
                             cwd=ROOT, capture_output=True, text=True, check=True, timeout=300).stdout
        rates.append(json.loads(out.splitlines()[-1])["steps_per_s"])
    return rates


class Clock:
    """CPU seconds of the server, its trainer processes and this benchmark at a moment (for the training window)."""

    def __init__(self, pid):
        self.pid = pid

    def read(self):
        return time.perf_counter(), _cpu_s(self.pid), sum(_cpu_s(k) for k in _children(self.pid)), time.process_time()

    @staticmethod
    def cores(start, end):
        wall = end[0] - start[0]
        return {name: round((b - a) / wall, 2) if wall > 0 else None
                for name, a, b in zip(("server_cores", "trainer_cores", "client_cores"), start[1:], end[1:])}


# --- sessions ----------------------------------------------------------------------------------------------
# Each session is Streamlit's own websocket protocol (tests/wsclient.py), as a browser speaks it, timed
# reruns of the live fragment included: N students cost the machine what they cost the server, not N
# Chromium tabs, so the figures are the server's.

async def trainer(url, result, start_gate, pause_gate, timeout, pause_delay=0.0):
    """One student: open /training, Start, wait until it trains (``start_gate``) and for the signal, Pause
    (``pause_delay`` s after it), read the run's own timing line."""
    s = None
    try:
        async with Session.open(url, "/training", "iterations=200000", timeout) as session:
            s = result["session"] = session  # long enough to last; drive() reads its progress meanwhile
            await s.click("training_btn_start")
            await s.wait_for(lambda s: RUNNING.search(s.text()), timeout)
            start_gate.set_result(None)
            await pause_gate
            await asyncio.sleep(pause_delay)
            clicked = time.perf_counter()
            await s.click("training_btn_pause")
            await s.wait_for(lambda s: PAUSED.search(s.text()) and TIMING.search(s.text()), timeout)
            result["pause_s"] = time.perf_counter() - clicked
            text = s.text()
            iterations = int(ITERATION.search(PAUSED.search(text).group(0)).group(1).replace(",", ""))
            timing = TIMING.search(text)
            result.update(iterations=iterations, train_s=float(timing.group(1)), eval_s=float(timing.group(3)))
            if s.exceptions:
                raise RuntimeError(f"a traceback on /training: {s.exceptions[0][:120]}")
    except Exception as e:  # noqa: BLE001 - counted and reported, never fatal to the benchmark
        shown = [t for t in (s.texts() if s else []) if ITERATION.search(t) or "aus" in t]
        result["error"] = f"{type(e).__name__}: {(str(e).splitlines() or [''])[0][:160]} {shown[:2]}"
    finally:
        start_gate.done() or start_gate.set_result(None)  # a session that failed holds nobody up
        result.pop("session", None)


def shown_iterations(trainers):
    """Each trainer session's iteration as its page shows it now (None if it shows none)."""
    out = []
    for r in trainers:
        found = RUNNING_AT.search(r["session"].text()) if "session" in r else None
        out.append(int(found.group(1).replace(",", "")) if found else None)
    return out


async def shopper(url, result, stop, timeout):
    """A visitor stepping the shopping graph: Next, wait until the URL shows the step; back to the start after the last."""
    result["steps_s"] = []
    try:
        async with Session.open(url, "/shopping", "step=0", timeout) as s:
            step = 0
            while not stop.done() or len(result["steps_s"]) < 2:  # at least two steps, however slow the start
                clicked = time.perf_counter()
                step = 0 if step >= 7 else step + 1
                await s.click("shop_next" if step else "shop_reset")
                await s.wait_for(lambda s: dict(urllib.parse.parse_qsl(s.query)).get("step", "0") == str(step), timeout)
                result["steps_s"].append(time.perf_counter() - clicked)
                await asyncio.sleep(0.5)
            if s.exceptions:
                raise RuntimeError(f"a traceback on /shopping: {s.exceptions[0][:120]}")
    except Exception as e:  # noqa: BLE001
        result["error"] = f"{type(e).__name__}: {(str(e).splitlines() or [''])[0][:160]}"


async def drive(url, sessions, shoppers, seconds, timeout, pause_spread, clock, marks):
    """Run the hall; ``marks`` gets the training window's two ends: ``clock`` readings and each page's iteration."""
    loop = asyncio.get_running_loop()
    # the hall pauses when the lecturer says so: each student within ``pause_spread`` s (evenly spread)
    delays = [pause_spread * i / max(sessions - 1, 1) for i in range(sessions)]
    trainers = [{} for _ in range(sessions)]
    shopping = [{} for _ in range(shoppers)]
    pause_gate, stop = loop.create_future(), loop.create_future()
    gates = [loop.create_future() for _ in range(sessions)]
    tasks = [asyncio.create_task(trainer(url, r, g, pause_gate, timeout, d)) for r, g, d in zip(trainers, gates, delays)]
    tasks += [asyncio.create_task(shopper(url, r, stop, timeout)) for r in shopping]
    await asyncio.wait(gates, timeout=timeout)  # every student's run trains
    marks["start"], marks["shown_start"] = clock.read(), shown_iterations(trainers)
    await asyncio.sleep(seconds)  # every student trains meanwhile
    marks["end"], marks["shown_end"] = clock.read(), shown_iterations(trainers)
    pause_gate.set_result(None)
    stop.set_result(None)
    await asyncio.wait(tasks, timeout=2 * timeout)
    return trainers, shopping


def _quantile(values, q):
    return round(statistics.quantiles(values, n=100, method="inclusive")[q - 1], 3) if len(values) > 1 else (
        round(values[0], 3) if values else None)


def window_rate(marks):
    """Iterations a second of all runs together while every one of them trained: the progress each page shows
    at the window's two ends (a redraw old at both, on average alike), over the window's length."""
    pairs = [(a, b) for a, b in zip(marks["shown_start"], marks["shown_end"]) if a is not None and b is not None]
    seconds = marks["end"][0] - marks["start"][0]
    return sum(b - a for a, b in pairs) / seconds if pairs and seconds > 0 else 0.0


def summarise(trainers, shopping, trainer_processes, core, marks):
    done = [r for r in trainers if "iterations" in r]
    rates = [r["iterations"] / (r["train_s"] + r["eval_s"]) for r in done if r["train_s"] + r["eval_s"] > 0]
    # Not the sum of the runs' own rates: the hall starts and pauses over a few seconds, and a run that trains
    # while others have paused (or not started) trains faster, so that sum overstates the hall's throughput.
    total = window_rate(marks)
    window = statistics.median([r["train_s"] + r["eval_s"] for r in done]) if done else 0
    evaluating = sum(r["eval_s"] for r in done) / (trainer_processes * window) if window else 0
    train_total = total / (1 - min(evaluating, 0.95))
    steps = [s for r in shopping for s in r.get("steps_s", [])]
    errors = [r["error"] for r in trainers + shopping if "error" in r]
    return {
        "errors": len(errors), "error_messages": errors[:5], "core_steps_per_s": core,
        "total_iterations_per_s": round(total, 1), "sum_of_run_rates": round(sum(rates), 1),
        "evaluating_share": round(evaluating, 3),
        "total_train_steps_per_s": round(train_total, 1),
        "vs_core": round(train_total / (core * trainer_processes), 3) if core else None,
        "run_iterations_per_s_min": round(min(rates), 1) if rates else None,
        "run_iterations_per_s_median": round(statistics.median(rates), 1) if rates else None,
        "slowest_vs_fair": round(min(rates) / statistics.mean(rates), 3) if rates else None,
        "pause_p50_s": _quantile([r["pause_s"] for r in done], 50),
        "pause_p95_s": _quantile([r["pause_s"] for r in done], 95),
        "shopping_step_p50_s": _quantile(steps, 50), "shopping_step_p95_s": _quantile(steps, 95),
        "shopping_steps": len(steps),
    }


async def warm_up(url, timeout):
    """Open each page once, so that the baseline is a server that has imported them (as after the sessions)."""
    for path in ("/training", "/shopping"):
        async with Session.open(url, path, "", timeout):
            pass


def wait_idle(sampler, limit=60.0, window=2.0):
    """(seconds until no trainer process is left and the RSS has stopped falling, the RSS then), at most ``limit``.

    Settled: no trainer process, and the RSS of the last ``window`` seconds within 2% (the server keeps
    what Python and Streamlit keep after a session, so "idle" is where it settles, not the cold start).
    """
    start = time.perf_counter()
    samples = []
    while time.perf_counter() - start < limit:
        rss, processes = sampler.now()
        now = time.perf_counter() - start
        samples = [(t, r) for t, r in samples if t >= now - window] + [(now, rss)] if processes == 0 else []
        if samples and samples[-1][0] - samples[0][0] >= window * 0.9 and max(r for _, r in samples) <= 1.02 * min(
                r for _, r in samples):
            return round(samples[0][0], 2), round(rss, 1)
        time.sleep(0.2)
    return None, round(rss, 1)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=30, help="browser sessions that train (1-80)")
    parser.add_argument("--shoppers", type=int, default=None, help="sessions stepping /shopping (default N/5, >= 1)")
    parser.add_argument("--seconds", type=float, default=20.0, help="seconds of training before Pause (1-120)")
    parser.add_argument("--pause-spread", type=float, default=3.0,
                        help="seconds over which the sessions press Pause, evenly spread (0-30; 0: all at once)")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds any one wait may take (5-300)")
    parser.add_argument("--no-core", action="store_true", help="skip the backprop.bench measurement")
    args = parser.parse_args(argv)
    sessions = min(max(args.sessions, 1), 80)
    shoppers = min(max(args.shoppers if args.shoppers is not None else max(1, sessions // 5), 0), 20)
    seconds, timeout = min(max(args.seconds, 1.0), 120.0), min(max(args.timeout, 5.0), 300.0)
    pause_spread = min(max(args.pause_spread, 0.0), 30.0)
    before = [] if args.no_core else core_steps_per_s()
    with running_app() as server:  # 127.0.0.1 on a free port
        url = server.url
        pid = server.proc.pid
        asyncio.run(warm_up(url, timeout))
        time.sleep(1.0)
        with Sampler(pid) as sampler:
            baseline_rss, _ = sampler.now()
            marks, closed = {}, time.perf_counter()
            trainers, shopping = asyncio.run(drive(url, sessions, shoppers, seconds, timeout, pause_spread,
                                                   Clock(pid), marks))
            closed = time.perf_counter() - closed
            cpu = Clock.cores(marks["start"], marks["end"])  # while every session trained, before the Pause clicks
            idle, idle_rss = wait_idle(sampler)
    load_average = round(os.getloadavg()[0], 1)
    after = [] if args.no_core else core_steps_per_s()  # the machine's speed drifts: measured on both sides
    core = statistics.median(before + after) if before else None
    from backprop.live.pool import _env_number, cores
    trainer_processes = _env_number("BACKPROP_TRAINERS", cores())
    record = {"sessions": sessions, "shoppers": shoppers, "seconds": seconds, "pause_spread_s": pause_spread,
              "trainers": trainer_processes,
              "peak_rss_mb": round(sampler.peak_rss, 1), "peak_processes": sampler.peak_processes,
              "baseline_rss_mb": round(baseline_rss, 1),
              **summarise(trainers, shopping, trainer_processes, core, marks), "core_runs": before + after, **cpu,
              "sessions_s": round(closed, 1),
              "idle_after_s": idle, "idle_rss_mb": idle_rss, "load_average": load_average}
    print(json.dumps(record), flush=True)
    return 0 if record["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
