"""One way to start the app for tests and benchmarks: ``streamlit run app.py`` on a free port of
127.0.0.1, and Debian's Chromium with the flags every browser test uses.

    from tests.appserver import running_app, launch_chromium     # benchmarks (run from the root)
    from appserver import running_app                              # tests (tests/ is on sys.path)

    with running_app() as server, sync_playwright() as pw:
        browser = launch_chromium(pw)
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.goto(server.url + "/shopping?present=1")

The server is started exactly as the README does, plus a port and headless mode; its output goes to
a log file (``server.log_path``) so that a failing start can be read afterwards.
"""
import contextlib
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
DEFAULT_LOG = ROOT / "tests" / ".streamlit-test.log"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class AppServer:
    """A running ``streamlit run app.py``: its URL, its process and where its output goes."""
    url: str
    proc: subprocess.Popen
    log_path: Path


def _wait_healthy(server, timeout):
    deadline = time.time() + timeout
    while True:
        try:
            with urllib.request.urlopen(server.url + "/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if server.proc.poll() is not None or time.time() > deadline:
            raise RuntimeError(f"streamlit did not start; see {server.log_path}")
        time.sleep(0.2)


@contextlib.contextmanager
def running_app(log_path=DEFAULT_LOG, extra_args=(), timeout=60):
    """Start the app as the README does (plus a free port on 127.0.0.1), wait until it answers,
    yield an ``AppServer``, and stop it afterwards."""
    port = free_port()
    log_path = Path(log_path)
    with log_path.open("a") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true", *extra_args],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        )
        server = AppServer(f"http://127.0.0.1:{port}", proc, log_path)
        try:
            _wait_healthy(server, timeout)
            yield server
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def launch_chromium(playwright):
    """Debian's Chromium (no Playwright browser download), headless, with the shared flags."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
