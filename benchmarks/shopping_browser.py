"""Shopping graph speed: server time of one step rerun, and click-to-updated-drawing in Chromium.

    python -m benchmarks.shopping_browser [--steps 16] [--only server|browser]

Prints one JSON line per measurement (times in ms: median, p90, max):
- server: one step (Next or Back) through AppTest, i.e. app.py + the page script, run in-process
  (AppTest's own bookkeeping included, so an upper bound), plus the pure part of it: the graph's
  states, the figure and its JSON.
- browser: ``streamlit run app.py`` on a free port (``tests/appserver.py``, as the tests start it), headless Debian Chromium at 1280x720; after
  a warm-up, from the keydown of PageDown/PageUp (or the mousedown on Next/Back) to the moment the
  current drawing shows the new numbers, timed inside the page with performance.now(). Steps go
  back and forth between step 0 and step 8.
Target on this 2-core machine: server under 50 ms, browser under 300 ms. The load average is
printed too: other work on the machine shows up in every number.
"""
import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import plotly.io

from tests.appserver import ROOT, launch_chromium, running_app

# Text of the drawing currently shown (a rerun keeps the previous chart, marked stale, until it ends).
LABELS_JS = """() => [...document.querySelectorAll(
  '[data-testid="stElementContainer"]:not([data-stale="true"]) [data-testid="stPlotlyChart"] .annotation-text')]
  .map(t => t.textContent).join('|')"""
# Resolves with ms from the next keydown/mousedown until a complete drawing (ending with the legend) differs.
ARM_JS = """(labelsSrc) => {
  const labels = eval(labelsSrc);
  const before = labels();
  window.__shopDone = new Promise(resolve => {
    let t0 = null;
    const start = () => { if (t0 === null) t0 = performance.now(); };
    window.addEventListener('keydown', start, {capture: true, once: true});
    window.addEventListener('mousedown', start, {capture: true, once: true});
    const obs = new MutationObserver(() => {
      const s = labels();
      if (t0 !== null && s !== before && s.endsWith('(backward)')) {
        obs.disconnect();
        resolve(performance.now() - t0);
      }
    });
    obs.observe(document.body, {subtree: true, childList: true, characterData: true, attributes: true});
  });
}"""


def summary(ms):
    ms = sorted(ms)
    return {"median_ms": round(statistics.median(ms), 1), "p90_ms": round(ms[int(0.9 * (len(ms) - 1))], 1),
            "max_ms": round(ms[-1], 1), "n": len(ms)}


def bench_server(steps):
    from streamlit.testing.v1 import AppTest

    from backprop import graph as G
    from backprop.figures.graph import graph_figure

    os.chdir(ROOT / "tests")  # AppTest paths as in the test suite
    at = AppTest.from_file("../app.py", default_timeout=30)
    at.run()
    at.switch_page("pages/shopping.py").run()
    times = []
    k, forward = 0, True
    for _ in range(steps):
        forward = k < 8 if k in (0, 8) else forward
        k += 1 if forward else -1
        key = "shop_next" if forward else "shop_back"
        start = time.perf_counter()
        at.button(key=key).click().run()
        times.append(1000 * (time.perf_counter() - start))
        assert not at.exception, at.exception
    pure = []
    preset = G.PRESETS["apples_oranges"]
    for k in range(steps):
        start = time.perf_counter()
        graph, states = G.evaluate(preset, preset.defaults)
        plotly.io.to_json(graph_figure(graph, states[k % len(states)]), validate=False)
        pure.append(1000 * (time.perf_counter() - start))
    return [{"workload": "shopping_server_step", "what": "AppTest rerun of app.py + page after Next/Back",
             **summary(times)},
            {"workload": "shopping_compute_step", "what": "states + figure + JSON", **summary(pure)}]


def bench_browser(steps):
    from playwright.sync_api import sync_playwright

    log = Path(tempfile.gettempdir()) / "backprop-shopping-bench.log"
    with running_app(log_path=log) as server, sync_playwright() as pw:
        browser = launch_chromium(pw)
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.goto(server.url + "/shopping?preset=apples_oranges&step=0")
        page.wait_for_selector('[data-testid="stPlotlyChart"] .main-svg')
        page.wait_for_timeout(1500)
        results = []
        k, forward = 0, True  # ping-pong between step 0 and step 8
        for how in ("warm-up", "PageDown", "click"):
            times = []
            for _ in range(steps):
                forward = k < 8 if k in (0, 8) else forward
                k += 1 if forward else -1
                page.evaluate(ARM_JS, LABELS_JS)
                if how in ("click", "warm-up"):
                    page.get_by_role("button", name="Next" if forward else "Back").first.click()
                else:
                    page.keyboard.press("PageDown" if forward else "PageUp")
                times.append(page.evaluate("window.__shopDone"))
                page.wait_for_function("() => !document.querySelector('[data-stale=\"true\"]')")
            if how != "warm-up":
                results.append({"workload": "shopping_browser_step", "input": how, **summary(times)})
        browser.close()
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=16, help="steps timed per measurement (default 16)")
    parser.add_argument("--only", choices=("server", "browser"), help="run one of the two")
    args = parser.parse_args(argv)
    print(json.dumps({"load_average_1min": round(os.getloadavg()[0], 2), "cpus": os.cpu_count()}), flush=True)
    if args.only in (None, "browser"):
        for line in bench_browser(args.steps):
            print(json.dumps(line), flush=True)
    if args.only in (None, "server"):
        for line in bench_server(args.steps):
            print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
