"""The load benchmark runs (small N, as issue 12 asks: 5 sessions) so that it cannot rot: one JSON line
with every field, zero errors. Its figures are not checked here (timing on a shared machine); the
README reports the big runs. Its sessions speak Streamlit's websocket protocol (tests/wsclient.py)."""
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIELDS = {"sessions", "shoppers", "pause_spread_s", "trainers", "server_cores", "trainer_cores", "client_cores", "peak_rss_mb", "peak_processes", "baseline_rss_mb", "errors",
          "error_messages", "core_steps_per_s", "total_iterations_per_s", "total_train_steps_per_s", "vs_core",
          "run_iterations_per_s_min", "run_iterations_per_s_median", "slowest_vs_fair", "pause_p50_s",
          "pause_p95_s", "shopping_step_p50_s", "shopping_step_p95_s", "idle_after_s", "idle_rss_mb",
          "load_average"}


def test_the_load_benchmark_prints_one_json_line_with_every_field_and_no_errors():
    done = subprocess.run([sys.executable, "-m", "benchmarks.load", "--sessions", "5", "--shoppers", "1",
                           "--seconds", "3", "--no-core", "--timeout", "60"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, env={**os.environ})
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1, done.stdout + done.stderr
    record = json.loads(lines[0])
    assert FIELDS <= set(record), FIELDS - set(record)
    assert record["errors"] == 0 and done.returncode == 0, record["error_messages"]
    assert record["sessions"] == 5 and record["peak_processes"] >= 1  # the runs trained in the pool
    assert record["run_iterations_per_s_min"] > 0 and record["pause_p95_s"] is not None
    assert record["shopping_step_p50_s"] is not None
    assert record["idle_after_s"] is not None  # every trainer process ended after the sessions closed
