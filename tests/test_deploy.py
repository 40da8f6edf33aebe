"""Scale-out: deploy/run-replicas for real (two replicas and Debian's nginx on 127.0.0.1, Chromium through
nginx, whose access log says which replica served each request), and deploy/k8s.yaml's consistency."""
import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import tomllib
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect

from appserver import ROOT, free_port
from conftest import wait_for_app

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
COOKIE = "bpx_replica"  # nginx's affinity cookie (deploy/nginx.conf.template)
TIMEOUT = 60_000  # ms for a page to react: generous, as this 2-core machine is often shared (Plotly alone can take 30 s)
LOG_LINE = re.compile(r'"(?P<method>\w+) (?P<uri>\S+) [^"]*" (?P<status>\d+) .* upstream=(?P<upstream>\S+)'
                      r' affinity=(?P<affinity>\S+)')


def app_pages():
    """The path of every page in app.py's st.navigation: "/" for the default one, else its file's stem."""
    pages = re.findall(r'st\.Page\(\s*"pages/(\w+)\.py"([^)]*)\)', (ROOT / "app.py").read_text())
    assert pages, "no st.Page in app.py"
    return ["/" if "default=True" in rest else "/" + stem for stem, rest in pages]


def children(pid):
    """Processes whose parent is ``pid``: {pid: command line}."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found[int(stat.parent.name)] = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    return found


def alive(pid):
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class Cluster:
    def __init__(self, proc, out, logs, port):
        self.proc, self.out, self.logs = proc, out, logs
        self.url = f"http://127.0.0.1:{port}"

    def wait_ready(self, timeout=150):  # run-replicas gives up on its own after 90 s per stage
        deadline = time.monotonic() + timeout
        while "ready:" not in self.output():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"deploy/run-replicas did not get ready:\n{self.output()}")
            time.sleep(0.2)
        self.replicas = re.findall(r"replica \d+: http://(127\.0\.0\.1:\d+)", self.output())

    def output(self):
        return self.out.read_text()

    def access(self, uri_prefix=""):
        """nginx's access log so far: one dict per request whose URI starts with ``uri_prefix``."""
        lines = (self.logs / "access.log").read_text().splitlines()
        return [m.groupdict() for m in map(LOG_LINE.search, lines) if m and m["uri"].startswith(uri_prefix)]

    def replica_for(self, cookie):
        """The replica nginx sends a browser holding ``cookie`` to (asked with one plain request)."""
        req = urllib.request.Request(self.url + "/_stcore/health", headers={"Cookie": f"{COOKIE}={cookie}"})
        urllib.request.urlopen(req, timeout=10).close()
        deadline = time.monotonic() + 10
        while True:  # nginx writes the line just after the response
            served = [r["upstream"] for r in self.access("/_stcore/health") if r["affinity"] == cookie]
            if served or time.monotonic() > deadline:
                return served[-1]
            time.sleep(0.05)


@contextlib.contextmanager
def run_replicas(tmp_path, replicas=2):
    """deploy/run-replicas as the README runs it (plus free ports and logs kept in tmp_path); always stopped."""
    if not os.access(NGINX, os.X_OK):
        if os.environ.get("CI"):
            pytest.fail(f"{NGINX} is missing: scripts/install-test-deps installs Debian's nginx")
        pytest.skip(f"{NGINX} not installed (apt-get install nginx)")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "STREAMLIT_SERVER_COOKIE_SECRET"}
    out = tmp_path / "run-replicas.out"
    with open(out, "w") as f:
        proc = subprocess.Popen(
            [sys.executable, "deploy/run-replicas", "--replicas", str(replicas), "--port", str(port),
             "--log-dir", str(tmp_path / "logs"), "--secret-file", str(tmp_path / "cookie-secret"), "--nginx", NGINX],
            cwd=ROOT, env=env, stdout=f, stderr=subprocess.STDOUT, start_new_session=True)
    cluster = Cluster(proc, out, tmp_path / "logs", port)
    try:
        cluster.wait_ready()
        yield cluster
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)  # its own session: only what it started
                proc.wait()


def new_page(context):
    """A tab in front: Chromium does not draw a tab behind another one (Plotly waits for a frame)."""
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    return page


def visit(page, url, path, first=False):
    """One page load (a new websocket, a new session): the page's heading, no traceback."""
    page.goto(url + path)
    page.set_default_timeout(3 * TIMEOUT if first else TIMEOUT)  # a replica's first run imports the app
    wait_for_app(page)
    page.set_default_timeout(TIMEOUT)
    expect(page.locator("h1").first).to_be_visible(timeout=TIMEOUT)
    expect(page.get_by_test_id("stException")).to_have_count(0)


def step_shopping(page):
    expect(page.get_by_text("Start: nothing computed yet")).to_be_visible(timeout=TIMEOUT)
    expect(page.get_by_role("button", name=re.compile("Next"))).to_be_enabled(timeout=TIMEOUT)
    wait_for_app(page)
    page.keyboard.press("PageDown")
    page.wait_for_url("**step=1**")
    expect(page.get_by_text("Forward 1 of 4")).to_be_visible(timeout=TIMEOUT)


def train_download_and_upload(page, tmp_path):
    """A short run, its weights downloaded (a replica's media) and uploaded back (to the session's replica)."""
    expect(page.get_by_role("spinbutton", name="Length")).to_have_value("200", timeout=TIMEOUT)  # from the URL
    page.get_by_role("button", name="Start").click()
    expect(page.get_by_test_id("stProgress")).to_contain_text("Finished: 200 iterations", timeout=TIMEOUT)
    with page.expect_download() as download:
        page.get_by_role("button", name="Weights (.npz)").click()
    weights = tmp_path / download.value.suggested_filename
    download.value.save_as(weights)
    assert weights.stat().st_size > 10_000  # 784x50 + 50x10 float32 weights, compressed
    page.get_by_text("Load weights from a file").click()  # an expander
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(weights)
    expect(page.get_by_text(f"Loaded {weights.name}: a network with hidden layers 50.")).to_be_visible(timeout=TIMEOUT)
    expect(page.get_by_test_id("stException")).to_have_count(0)


def tour(page, url, pages, tmp_path):
    """Every page of app.py's navigation, each its own page load; the shopping graph steps, the net trains."""
    for n, path in enumerate(pages):
        query = {"/shopping": "?preset=apples_oranges&step=0", "/training": "?iterations=200"}.get(path, "")
        visit(page, url, path + query, first=n == 0)
        if n == 0:  # app.py's pages are the sidebar's
            links = page.get_by_test_id("stSidebarNav").get_by_role("link")
            expect(links).to_have_count(len(pages))
            hrefs = [links.nth(i).get_attribute("href") for i in range(len(pages))]
            assert sorted(re.sub(r"^https?://[^/]+", "", h) or "/" for h in hrefs) == sorted(pages)
        if path == "/shopping":
            step_shopping(page)
        elif path == "/training":
            train_download_and_upload(page, tmp_path)


def assert_one_secret(cluster, secret_file):
    """Both replicas got the file's cookie secret, in their environment rather than on their command line."""
    secret = secret_file.read_text().strip()
    assert len(secret) >= 32 and secret_file.stat().st_mode & 0o077 == 0
    streamlits = {pid: cmd for pid, cmd in children(cluster.proc.pid).items() if "streamlit run" in cmd}
    assert len(streamlits) == len(cluster.replicas)
    for pid, cmd in streamlits.items():
        assert secret not in cmd
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        assert f"STREAMLIT_SERVER_COOKIE_SECRET={secret}".encode() in environ


@pytest.mark.browser
def test_two_replicas_behind_nginx_keep_every_session_on_its_replica(browser, tmp_path):
    pages = app_pages()
    with run_replicas(tmp_path) as cluster:
        assert len(cluster.replicas) == 2
        assert_one_secret(cluster, tmp_path / "cookie-secret")
        started = set(children(cluster.proc.pid))

        # A: a first visit gets nginx's affinity cookie; B: a cookie nginx hashes to the other replica
        # (a fresh random one would be, with probability 1/2). One tab at a time in front (new_page).
        a = browser.new_context(viewport={"width": 1280, "height": 720}, accept_downloads=True)
        b = browser.new_context(viewport={"width": 1280, "height": 720})
        try:
            page_a = new_page(a)
            tour(page_a, cluster.url, pages, tmp_path)
            (key_a,) = [c["value"] for c in a.cookies() if c["name"] == COOKIE]
            replica_a = cluster.replica_for(key_a)
            page_a.reload()  # a reconnect: a new websocket from the same browser
            wait_for_app(page_a)
            expect(page_a.locator("h1").first).to_be_visible(timeout=TIMEOUT)

            # B, on the other replica while A's session stays open: a session there works too.
            key_b = next(k for k in (f"b{i}" for i in range(64)) if cluster.replica_for(k) != replica_a)
            b.add_cookies([{"name": COOKIE, "value": key_b, "url": cluster.url}])
            page_b = new_page(b)
            visit(page_b, cluster.url, "/", first=True)
            visit(page_b, cluster.url, "/shopping?preset=apples_oranges&step=0")
            step_shopping(page_b)
        except Exception:
            for context in (a, b):  # what each browser showed, beside the logs in tmp_path
                for i, p in enumerate(context.pages):
                    p.screenshot(path=tmp_path / f"failed-{'ab'[context is b]}{i}.png")
            raise
        finally:
            a.close()
            b.close()

        # nginx logs a websocket when it closes: every one of A's on A's replica, B's on the other.
        deadline = time.monotonic() + 10
        while True:
            streams = cluster.access("/_stcore/stream")
            by_key = {k: [r["upstream"] for r in streams if r["affinity"] == k] for k in (key_a, key_b)}
            # A: a page load per page and the reload; B: 2 page loads
            if len(by_key[key_a]) >= len(pages) + 1 and len(by_key[key_b]) >= 2 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert set(by_key[key_a]) == {replica_a}, by_key
        assert len(by_key[key_a]) >= len(pages) + 1 and len(by_key[key_b]) >= 2, by_key
        replica_b = cluster.replica_for(key_b)
        assert set(by_key[key_b]) == {replica_b} and {replica_a, replica_b} == set(cluster.replicas), by_key
        assert all(r["status"] == "101" for r in streams), streams
        # A's upload and download went to A's replica too.
        a_http = [r for r in cluster.access() if r["affinity"] == key_a]
        assert {r["upstream"] for r in a_http} == {replica_a}
        assert any(r["method"] == "PUT" and r["uri"].startswith("/_stcore/upload_file/") and r["status"] == "204"
                   for r in a_http), a_http

    # SIGTERM to run-replicas stopped nginx and both replicas.
    assert cluster.proc.returncode == 0, cluster.output()
    assert not [pid for pid in started if alive(pid)]


def test_the_kubernetes_manifest_hangs_together():
    yaml = pytest.importorskip("yaml")  # PyYAML comes with streamlit; not a dependency of its own
    docs = list(yaml.safe_load_all((ROOT / "deploy" / "k8s.yaml").read_text()))
    kinds = {d["kind"]: d for d in docs}
    assert sorted(kinds) == ["Deployment", "Ingress", "Secret", "Service"] and len(docs) == 4
    secret, deployment, service, ingress = (kinds[k] for k in ("Secret", "Deployment", "Service", "Ingress"))

    # The cookie secret: from the Secret, under Streamlit's own variable; the placeholder stops a pod.
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    ref = {e["name"]: e for e in container["env"]}["STREAMLIT_SERVER_COOKIE_SECRET"]["valueFrom"]["secretKeyRef"]
    assert ref["name"] == secret["metadata"]["name"]
    placeholder = secret["stringData"][ref["key"]]
    assert placeholder in " ".join(container["args"]) and "exit 1" in " ".join(container["args"])
    assert "streamlit run app.py" in " ".join(container["args"])

    assert deployment["spec"]["replicas"] >= 2
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert service["spec"]["selector"].items() <= labels.items()
    port_names = {p["name"] for p in container["ports"]}
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["path"] == "/_stcore/health" and container[probe]["httpGet"]["port"] in port_names

    assert service["spec"]["sessionAffinity"] == "ClientIP"
    assert {p["targetPort"] for p in service["spec"]["ports"]} <= port_names
    notes = ingress["metadata"]["annotations"]
    assert notes["nginx.ingress.kubernetes.io/affinity"] == "cookie"
    assert notes["nginx.ingress.kubernetes.io/session-cookie-name"] == COOKIE
    assert int(notes["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert notes["nginx.ingress.kubernetes.io/proxy-body-size"] == f"{config.get('server', {}).get('maxUploadSize', 200) + 1}m"
    (rule,) = ingress["spec"]["rules"]
    backend = rule["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == service["metadata"]["name"]
    assert backend["port"]["name"] in {p["name"] for p in service["spec"]["ports"]}
