"""Training throughput with the live page open, measured in a real browser.

    python -m benchmarks.training_live [--repeat 3]      (from the repository root)

Prints one JSON line per measurement, then a summary line:
- core: ``python -m backprop.bench --only train`` (Trainer.step alone: the standard 784-50-10 workload)
- controller: the book's chapter 5 run (10,000 steps on the bundled sample) through backprop.live (its
  training process), no page
- page: the same run started with the Start button of /training in headless Chromium while the live
  views redraw; its training steps/s (evaluations excluded, as in the core benchmark) come from the
  page's own timing line, and its wall-clock iterations/s (evaluations included) too
- pause: how long Pause takes: pause() until the training process has stopped, and in the browser
  (click until the page says "Paused")
- session_end: CPU use of the server and its training processes while a run trains, and after the
  browser tab closes on it (the session's resources are released: its training process must end)

Other work on the machine skews every figure: measurements are interleaved and repeated, and the
summary gives the best and the range. The steps/s ratio page / core is the figure of merit (target 0.8).
"""
import argparse
import contextlib
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.appserver import ROOT, launch_chromium, running_app


def emit(record):
    print(json.dumps(record), flush=True)
    return record


def core_bench(steps):
    out = subprocess.run([sys.executable, "-m", "backprop.bench", "--only", "train", "--steps", str(steps)],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout
    result = json.loads(out.splitlines()[-1])
    return emit({"measure": "core", "steps_per_s": result["steps_per_s"]})


def controller_bench():
    from backprop import live
    from backprop.training import TrainConfig

    run = live.LiveRun(TrainConfig())
    start = time.perf_counter()
    run.start()
    run.wait()
    wall = time.perf_counter() - start
    snap = run.snapshot()
    return emit({"measure": "controller", "steps_per_s": round(snap.steps_per_s, 1),
                 "wall_it_per_s": round(snap.iteration / wall, 1),
                 "eval_share": round(snap.eval_seconds / snap.seconds, 3)})


def pause_latency_in_process(trials=30):
    from backprop import live
    from backprop.training import TrainConfig

    run = live.LiveRun(TrainConfig(iterations=10**7))
    latencies = []
    for i in range(trials):
        run.resume()
        time.sleep(0.05 + 0.011 * (i % 7))  # land anywhere: in a step or an evaluation
        start = time.perf_counter()
        assert run.pause(timeout=5)
        latencies.append((time.perf_counter() - start) * 1000)
    run.stop()
    return emit({"measure": "pause_in_process", "trials": trials, "median_ms": round(statistics.median(latencies), 2),
                 "max_ms": round(max(latencies), 2)})


class Server(contextlib.ExitStack):
    """``streamlit run app.py`` on a free port (``tests/appserver.py``), and the processes under it."""

    def __enter__(self):
        super().__enter__()
        server = self.enter_context(running_app(
            log_path=Path(tempfile.gettempdir()) / "backprop-training-live-bench.log"))
        self.url, self.proc, self.log_path = server.url, server.proc, server.log_path
        return self

    def processes(self):
        """The server and every process under it (the forkserver and the training processes)."""
        children = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                except OSError:
                    continue
                children.setdefault(ppid, []).append(int(entry.name))
        found, stack = [self.proc.pid], [self.proc.pid]
        while stack:
            for child in children.get(stack.pop(), []):
                found.append(child)
                stack.append(child)
        return found

    def cpu_seconds(self):
        """CPU time (user + system) of the server and its processes so far."""
        total = 0.0
        for pid in self.processes():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total


def open_training(browser, url):
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    page.set_default_timeout(120_000)
    page.goto(url)  # in through the home page and the sidebar, as a visitor would
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Live training").click()
    page.wait_for_url(url + "/training")
    page.get_by_role("button", name="Start").wait_for()
    return context, page


def progress_text(page):
    return page.get_by_test_id("stProgress").inner_text()


def page_bench(browser, server):
    """The chapter 5 run started from the page, the live views redrawing throughout."""
    context, page = open_training(browser, server.url)
    page.get_by_role("button", name="Start").click()
    rates = []
    while True:
        time.sleep(1.0)
        text = progress_text(page)
        if text.startswith("Finished"):
            break
        m = re.search(r"([\d,]+) iterations/s", text)
        if m:
            rates.append(float(m.group(1).replace(",", "")))
    timing = page.get_by_text(re.compile(r"s training \(")).inner_text()
    train_s, steps, eval_s = re.search(r"([\d.]+) s training \(([\d,]+) steps/s\) and ([\d.]+) s evaluating",
                                       timing).groups()
    wall = float(train_s) + float(eval_s)
    context.close()
    return emit({"measure": "page", "steps_per_s": float(steps.replace(",", "")),
                 "wall_it_per_s": round(10_000 / wall, 1), "eval_share": round(float(eval_s) / wall, 3),
                 "live_rate_samples": rates})


def pause_latency_in_browser(browser, server, trials=3):
    context, page = open_training(browser, server.url)
    latencies = []
    for _ in range(trials):
        page.get_by_role("button", name="New run").click()
        page.get_by_text("Ready:").wait_for()
        page.get_by_role("button", name="Start").click()
        page.get_by_text(re.compile(r"iterations/s")).wait_for()
        time.sleep(1.0)
        start = time.perf_counter()
        page.get_by_role("button", name="Pause").click()
        page.get_by_text("Paused at iteration").wait_for()
        latencies.append((time.perf_counter() - start) * 1000)
    context.close()
    return emit({"measure": "pause_in_browser", "trials": trials, "ms": [round(x) for x in latencies]})


def session_end(browser, server):
    """Close the tab on a long run: the session's resource cache releases it and training must stop."""
    context, page = open_training(browser, server.url)
    box = page.get_by_role("spinbutton", name="Length")
    box.fill("1000000")
    box.press("Enter")
    time.sleep(1.0)
    page.get_by_role("button", name="Start").click()
    page.get_by_text(re.compile(r"iterations/s")).wait_for()
    time.sleep(1.0)
    processes_running = len(server.processes())
    c0 = server.cpu_seconds()
    time.sleep(2.0)
    busy = (server.cpu_seconds() - c0) / 2.0
    context.close()
    time.sleep(2.0)  # the server notices the closed websocket and releases the session's resources
    c0 = server.cpu_seconds()
    time.sleep(2.0)
    idle = (server.cpu_seconds() - c0) / 2.0
    return emit({"measure": "session_end", "cpu_while_training": round(busy, 2), "cpu_after_close": round(idle, 2),
                 "processes_while_training": processes_running, "processes_after_close": len(server.processes())})


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="rounds of core/controller/page (default 3)")
    parser.add_argument("--steps", type=int, default=3000, help="timed steps of the core benchmark")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    cores, controllers, pages_ = [], [], []
    with Server() as server, sync_playwright() as pw:
        browser = launch_chromium(pw)
        for _ in range(args.repeat):  # interleaved, so a busy spell of the machine hits all three alike
            cores.append(core_bench(args.steps)["steps_per_s"])
            controllers.append(controller_bench()["steps_per_s"])
            pages_.append(page_bench(browser, server))
        pause_latency_in_process()
        pause_latency_in_browser(browser, server)
        session_end(browser, server)
        browser.close()
    page_rates = [p["steps_per_s"] for p in pages_]
    emit({"measure": "summary", "core_steps_per_s": {"best": max(cores), "min": min(cores)},
          "controller_steps_per_s": {"best": max(controllers), "min": min(controllers)},
          "page_steps_per_s": {"best": max(page_rates), "min": min(page_rates)},
          "page_wall_it_per_s": {"best": max(p["wall_it_per_s"] for p in pages_),
                                 "min": min(p["wall_it_per_s"] for p in pages_)},
          "page_vs_core_best": round(max(page_rates) / max(cores), 2),
          "page_vs_core_per_round": [round(p / c, 2) for p, c in zip(page_rates, cores)]})


if __name__ == "__main__":
    main()
