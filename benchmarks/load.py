"""A classroom on one server: N real browser sessions train at once while a few step the shopping graph.

    python -m benchmarks.load --sessions 30 [--seconds 20] [--shoppers 6]      (from the repository root)

Starts the app on 127.0.0.1 (tests/conftest.py's starter), measures ``python -m backprop.bench``'s
steps/s, then opens N browser contexts in one headless Debian Chromium (Playwright): each opens
/training and presses Start (the book's chapter 5 run, made long enough to last), and ``--shoppers``
more step /shopping with Next. After ``--seconds`` of training every session presses Pause and waits
for "Paused"; all contexts close and the benchmark waits (at most 60 s) until the server is idle again.
Everything is bounded in count and time; it stops by itself.

Prints ONE JSON line:
- sessions, shoppers, trainers (the server's trainer processes), errors (and the first few messages)
- peak_rss_mb: the server and its trainer processes, sampled every 0.2 s; peak_processes: trainer processes
- core_steps_per_s: backprop.bench; total_iterations_per_s: all runs together (wall clock, evaluations
  included); total_train_steps_per_s: the same with the time spent evaluating taken out (the runs' own
  timing lines), comparable with core_steps_per_s x trainers; vs_core: that ratio
- run_iterations_per_s_min / _median, slowest_vs_fair (slowest run / the mean run)
- pause_p50_s / pause_p95_s: Pause click -> the page says "Paused"; shopping_step_p50_s / _p95_s: Next
  click -> the URL shows the next step
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
from pathlib import Path

from tests.appserver import CHROMIUM, CHROMIUM_ARGS, running_app

ROOT = Path(__file__).resolve().parents[1]
PAUSED = re.compile(r"Paused at iteration")
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


def core_steps_per_s():
    out = subprocess.run([sys.executable, "-m", "backprop.bench", "--only", "train", "--steps", "1000"], cwd=ROOT,
                         capture_output=True, text=True, check=True, timeout=300).stdout
    return json.loads(out.splitlines()[-1])["steps_per_s"]


# --- sessions ----------------------------------------------------------------------------------------------

async def _app_ready(page, selector):
    """Until the page's script has drawn ``selector`` (the navigation alone appears before the page)."""
    await page.locator(selector).first.wait_for()


async def _progress(page):
    return await page.get_by_test_id("stProgress").inner_text()


async def trainer(browser, url, result, start_gate, pause_gate, timeout_ms):
    """One student: open /training, Start, wait for the signal, Pause, read the run's own timing line."""
    context = await browser.new_context(viewport={"width": 1280, "height": 720})
    try:
        page = await context.new_page()
        page.set_default_timeout(timeout_ms)
        await page.goto(url + "/training?iterations=200000")  # long enough to last, within the budget
        await _app_ready(page, ".st-key-training_btn_start button")
        start_gate.set_result(None) if not start_gate.done() else None
        await page.locator(".st-key-training_btn_start button").click()
        await page.get_by_test_id("stProgress").filter(has_text="iterations/s").wait_for()
        await pause_gate
        clicked = time.perf_counter()
        await page.locator(".st-key-training_btn_pause button").click()
        await page.get_by_test_id("stProgress").filter(has_text=PAUSED).wait_for()
        result["pause_s"] = time.perf_counter() - clicked
        iterations = int(ITERATION.search(await _progress(page)).group(1).replace(",", ""))
        timing = TIMING.search(await page.get_by_test_id("stCaptionContainer").filter(has_text=TIMING).inner_text())
        train_s, eval_s = float(timing.group(1)), float(timing.group(3))
        result.update(iterations=iterations, train_s=train_s, eval_s=eval_s)
        if await page.get_by_test_id("stException").count():
            raise RuntimeError("a traceback on /training")
    except Exception as e:  # noqa: BLE001 - counted and reported, never fatal to the benchmark
        result["error"] = f"{type(e).__name__}: {str(e).splitlines()[0][:160]}"
    finally:
        await context.close()


async def shopper(browser, url, result, stop, timeout_ms):
    """A visitor stepping the shopping graph: Next, wait until the URL shows the step; back to the start after the last."""
    context = await browser.new_context(viewport={"width": 1280, "height": 720})
    result["steps_s"] = []
    try:
        page = await context.new_page()
        page.set_default_timeout(timeout_ms)
        await page.goto(url + "/shopping?step=0")
        await _app_ready(page, ".st-key-shop_next button")
        step = 0
        while not stop.done() or len(result["steps_s"]) < 2:  # at least two steps, however slow the start
            clicked = time.perf_counter()
            if step >= 7:
                await page.locator(".st-key-shop_reset button").first.click()
                step = 0
            else:
                await page.locator(".st-key-shop_next button").first.click()
                step += 1
            await page.wait_for_function(
                "(k) => (new URLSearchParams(location.search).get('step') || '0') === String(k)", arg=step)
            result["steps_s"].append(time.perf_counter() - clicked)
            await asyncio.sleep(0.5)
        if await page.get_by_test_id("stException").count():
            raise RuntimeError("a traceback on /shopping")
    except Exception as e:  # noqa: BLE001
        result["error"] = f"{type(e).__name__}: {str(e).splitlines()[0][:160]}"
    finally:
        await context.close()


async def drive(url, sessions, shoppers, seconds, timeout_ms):
    from playwright.async_api import async_playwright

    loop = asyncio.get_running_loop()
    trainers = [{} for _ in range(sessions)]
    shopping = [{} for _ in range(shoppers)]
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        pause_gate, stop = loop.create_future(), loop.create_future()
        gates = [loop.create_future() for _ in range(sessions)]
        tasks = [asyncio.create_task(trainer(browser, url, r, g, pause_gate, timeout_ms))
                 for r, g in zip(trainers, gates)]
        tasks += [asyncio.create_task(shopper(browser, url, r, stop, timeout_ms)) for r in shopping]
        await asyncio.wait(gates, timeout=timeout_ms / 1000)
        await asyncio.sleep(seconds)  # every student trains meanwhile
        pause_gate.set_result(None)
        stop.set_result(None)
        await asyncio.wait(tasks, timeout=2 * timeout_ms / 1000)
        await browser.close()
    return trainers, shopping


def _quantile(values, q):
    return round(statistics.quantiles(values, n=100, method="inclusive")[q - 1], 3) if len(values) > 1 else (
        round(values[0], 3) if values else None)


def summarise(trainers, shopping, trainer_processes, core):
    done = [r for r in trainers if "iterations" in r]
    rates = [r["iterations"] / (r["train_s"] + r["eval_s"]) for r in done if r["train_s"] + r["eval_s"] > 0]
    total = sum(rates)
    window = statistics.median([r["train_s"] + r["eval_s"] for r in done]) if done else 0
    evaluating = sum(r["eval_s"] for r in done) / (trainer_processes * window) if window else 0
    train_total = total / (1 - min(evaluating, 0.95))
    steps = [s for r in shopping for s in r.get("steps_s", [])]
    errors = [r["error"] for r in trainers + shopping if "error" in r]
    return {
        "errors": len(errors), "error_messages": errors[:5], "core_steps_per_s": core,
        "total_iterations_per_s": round(total, 1), "evaluating_share": round(evaluating, 3),
        "total_train_steps_per_s": round(train_total, 1),
        "vs_core": round(train_total / (core * trainer_processes), 3) if core else None,
        "run_iterations_per_s_min": round(min(rates), 1) if rates else None,
        "run_iterations_per_s_median": round(statistics.median(rates), 1) if rates else None,
        "slowest_vs_fair": round(min(rates) / (total / len(rates)), 3) if rates else None,
        "pause_p50_s": _quantile([r["pause_s"] for r in done], 50),
        "pause_p95_s": _quantile([r["pause_s"] for r in done], 95),
        "shopping_step_p50_s": _quantile(steps, 50), "shopping_step_p95_s": _quantile(steps, 95),
        "shopping_steps": len(steps),
    }


async def warm_up(url, timeout_ms):
    """Open each page once, so that the baseline is a server that has imported them (as after the sessions)."""
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = await browser.new_page()
        page.set_default_timeout(timeout_ms)
        for path, selector in (("/training", ".st-key-training_btn_start button"),
                               ("/shopping", ".st-key-shop_next button")):
            await page.goto(url + path)
            await _app_ready(page, selector)
        await browser.close()


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
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds any one wait may take (5-300)")
    parser.add_argument("--no-core", action="store_true", help="skip the backprop.bench measurement")
    args = parser.parse_args(argv)
    sessions = min(max(args.sessions, 1), 80)
    shoppers = min(max(args.shoppers if args.shoppers is not None else max(1, sessions // 5), 0), 20)
    seconds, timeout = min(max(args.seconds, 1.0), 120.0), min(max(args.timeout, 5.0), 300.0)
    core = None if args.no_core else core_steps_per_s()
    with running_app() as server:  # 127.0.0.1 on a free port
        url = server.url
        pid = server.proc.pid
        asyncio.run(warm_up(url, int(timeout * 1000)))
        time.sleep(1.0)
        with Sampler(pid) as sampler:
            baseline_rss, _ = sampler.now()
            trainers, shopping = asyncio.run(drive(url, sessions, shoppers, seconds, int(timeout * 1000)))
            idle, idle_rss = wait_idle(sampler)
        from backprop.live.pool import _env_number, cores
        trainer_processes = _env_number("BACKPROP_TRAINERS", cores())
        record = {"sessions": sessions, "shoppers": shoppers, "seconds": seconds, "trainers": trainer_processes,
                  "peak_rss_mb": round(sampler.peak_rss, 1), "peak_processes": sampler.peak_processes,
                  "baseline_rss_mb": round(baseline_rss, 1),
                  **summarise(trainers, shopping, trainer_processes, core),
                  "idle_after_s": idle, "idle_rss_mb": idle_rss, "load_average": round(os.getloadavg()[0], 1)}
    print(json.dumps(record), flush=True)
    return 0 if record["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
