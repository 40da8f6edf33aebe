"""The downloader against a local HTTP server on 127.0.0.1: verification, mirrors, failures, cleanup, CLI."""
import gzip
import hashlib
import http.server
import os
import pathlib
import socket
import subprocess
import sys
import threading

import numpy as np
import pytest

from backprop.datasets import DownloadError, download
from backprop.idx import read_idx, write_idx

REPO = pathlib.Path(__file__).resolve().parents[1]
PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch):
    # urllib honours proxy variables; requests to our loopback server must not go through one.
    for var in PROXY_VARS:
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def served(tmp_path):
    """Small IDX files under good/; bad/ has the same names with other content. Returns {name: (sha, size)}."""
    rng = np.random.default_rng(0)
    arrays = {
        # 200 images make a file of several 64 KiB chunks, so streaming and progress are exercised.
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (200, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte.gz": rng.integers(0, 10, 200, dtype=np.uint8),
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (20, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte.gz": rng.integers(0, 10, 20, dtype=np.uint8),
    }
    files = {}
    for folder in ("good", "bad"):
        (tmp_path / "www" / folder).mkdir(parents=True)
    for name, array in arrays.items():
        write_idx(tmp_path / "www" / "good" / name, array)
        write_idx(tmp_path / "www" / "bad" / name, array[::-1].copy())
        data = (tmp_path / "www" / "good" / name).read_bytes()
        files[name] = (hashlib.sha256(data).hexdigest(), len(data))
    return files


class Server:
    """A ThreadingHTTPServer on 127.0.0.1 serving tmp_path/www, logging request paths.

    /drop/NAME answers with the full Content-Length of good/NAME but closes after half the body.
    """

    def __init__(self, root):
        self.requests = []
        log = self.requests

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=str(root), **kwargs)

            def log_message(self, *args):
                pass

            def do_GET(self):
                log.append(self.path)
                if self.path.startswith("/drop/"):
                    body = (root / "good" / self.path[len("/drop/"):]).read_bytes()
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body[: len(body) // 2])
                    self.close_connection = True
                    return
                super().do_GET()

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        # A short poll interval makes shutdown() return quickly.
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


@pytest.fixture
def server(tmp_path, served):
    s = Server(tmp_path / "www")
    yield s
    s.close()


@pytest.fixture
def dest(tmp_path):
    return tmp_path / "dest"


@pytest.fixture
def dead_url():
    """A loopback URL on which nothing listens, so connecting is refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if ".part" in p.name) if folder.exists() else []


def test_good_download(server, served, dest):
    paths = download(dest=dest, mirrors=[server.url + "good/"], files=served, timeout=5)
    assert paths == [dest / name for name in served]
    for path, (sha, size) in zip(paths, served.values()):
        data = path.read_bytes()
        assert len(data) == size and hashlib.sha256(data).hexdigest() == sha
    assert read_idx(dest / "train-images-idx3-ubyte.gz").shape == (200, 28, 28)
    assert leftovers(dest) == []


def test_bad_checksum_discards_file(server, served, dest):
    name = "t10k-labels-idx1-ubyte.gz"
    with pytest.raises(DownloadError) as info:
        download(dest=dest, mirrors=[server.url + "bad/"], files={name: served[name]}, timeout=5)
    message = str(info.value)
    assert f"checksum mismatch for {name} from {server.url}bad/{name}" in message
    assert served[name][0] in message and "discarded" in message
    assert list(dest.iterdir()) == []


def test_dead_server(dead_url, served, dest):
    with pytest.raises(DownloadError) as info:
        download(dest=dest, mirrors=[dead_url, dead_url + "other/"], files=served, timeout=5)
    message = str(info.value)
    assert message.startswith("could not reach any mirror for train-images-idx3-ubyte.gz: ")
    assert "refused" in message.lower() and dead_url in message
    assert "Check your network connection" in message and str(dest) in message
    assert list(dest.iterdir()) == []


def test_silent_server_times_out(served, dest):
    # Listening but never answering: the connection is made, then the read must time out.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        url = f"http://127.0.0.1:{s.getsockname()[1]}/"
        name = "t10k-labels-idx1-ubyte.gz"
        with pytest.raises(DownloadError, match="timed out"):
            download(dest=dest, mirrors=[url], files={name: served[name]}, timeout=0.3)
    assert list(dest.iterdir()) == []


def test_second_mirror_used_after_404(server, served, dest):
    name = "t10k-images-idx3-ubyte.gz"
    paths = download(dest=dest, mirrors=[server.url + "missing/", server.url + "good"],
                     files={name: served[name]}, timeout=5)
    assert paths == [dest / name] and paths[0].is_file()
    assert server.requests == [f"/missing/{name}", f"/good/{name}"]


def test_http_error_everywhere(server, served, dest):
    with pytest.raises(DownloadError, match=r"could not download .*HTTP 404"):
        download(dest=dest, mirrors=[server.url + "missing/"], files=served, timeout=5)


def test_verified_file_not_downloaded_again(server, served, dest):
    download(dest=dest, mirrors=[server.url + "good/"], files=served, timeout=5)
    assert len(server.requests) == 4
    download(dest=dest, mirrors=[server.url + "good/"], files=served, timeout=5)
    assert len(server.requests) == 4
    # A damaged file under the final name is fetched again and replaced.
    (dest / "train-labels-idx1-ubyte.gz").write_bytes(b"junk")
    download(dest=dest, mirrors=[server.url + "good/"], files=served, timeout=5)
    assert server.requests[4:] == ["/good/train-labels-idx1-ubyte.gz"]
    assert hashlib.sha256((dest / "train-labels-idx1-ubyte.gz").read_bytes()).hexdigest() == \
        served["train-labels-idx1-ubyte.gz"][0]


def test_dropped_connection_leaves_nothing(server, served, dest):
    name = "train-images-idx3-ubyte.gz"
    with pytest.raises(DownloadError, match="dropped after"):
        download(dest=dest, mirrors=[server.url + "drop/"], files={name: served[name]}, timeout=5)
    assert list(dest.iterdir()) == []


def test_oversized_response_is_rejected(server, served, dest):
    name = "train-labels-idx1-ubyte.gz"
    sha, size = served[name]
    with pytest.raises(DownloadError, match="more than the expected"):
        download(dest=dest, mirrors=[server.url + "good/"], files={name: (sha, size - 1)}, timeout=5)
    assert list(dest.iterdir()) == []


def test_progress_reports_increasing_counts(server, served, dest):
    calls = []
    download(dest=dest, mirrors=[server.url + "good/"], files=served, timeout=5,
             progress=lambda *args: calls.append(args))
    name = "train-images-idx3-ubyte.gz"
    done = [d for n, d, total in calls if n == name]
    assert len(done) >= 3 and done[0] == 0 and done[-1] == served[name][1]
    assert all(a < b for a, b in zip(done, done[1:]))
    assert {total for n, _, total in calls if n == name} == {served[name][1]}
    assert {n for n, _, _ in calls} == set(served)


def test_interrupt_removes_partial_file(server, served, dest):
    def interrupt(name, done, total):
        if done > 0:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        download(dest=dest, mirrors=[server.url + "good/"], files=served, progress=interrupt, timeout=5)
    assert list(dest.iterdir()) == []


def run_cli(*args, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in PROXY_VARS}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["BACKPROP_DATA_DIR"] = str(tmp_path / "cache")
    return subprocess.run([sys.executable, "-m", "backprop.datasets", *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)


def test_cli_download(server, served, dest, tmp_path):
    sums = tmp_path / "SHA256SUMS"
    sums.write_text("".join(f"{sha}  {name}\n" for name, (sha, _) in served.items()))
    result = run_cli("download", "--dest", str(dest), "--mirror", server.url + "good/",
                     "--checksums", str(sums), tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "100%" in result.stderr and "Traceback" not in result.stderr
    assert str(dest) in result.stdout
    assert sorted(p.name for p in dest.iterdir()) == sorted(served)


def test_cli_download_failure(dead_url, dest, tmp_path):
    result = run_cli("download", "--dest", str(dest), "--mirror", dead_url, "--timeout", "5", tmp_path=tmp_path)
    assert result.returncode == 1
    assert "could not reach any mirror" in result.stderr and "Traceback" not in result.stderr
    assert list(dest.iterdir()) == []


def test_cli_status(tmp_path):
    result = run_cli("status", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "bundled sample: 5,000 training + 10,000 test images" in result.stdout
    assert "not downloaded" in result.stdout


def test_official_checksums_match_the_bundled_test_set():
    # The bundled t10k files are byte-identical to the official ones, so they check the constants.
    from backprop.datasets import BUNDLED_DIR, FULL_MNIST_FILES

    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        data = (BUNDLED_DIR / name).read_bytes()
        assert FULL_MNIST_FILES[name] == (hashlib.sha256(data).hexdigest(), len(data))
        assert gzip.decompress(data)[:4] in (b"\0\0\x08\x03", b"\0\0\x08\x01")
