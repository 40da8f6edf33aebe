"""Fetching files over HTTP(S), verified: each mirror in turn, the SHA-256 checked while streaming, and
written atomically (a temporary file renamed only once complete and verified, never a half-written
file under its real name). ``backprop.datasets.download`` uses it for the official MNIST files.
"""
import hashlib
import http.client
import os
import pathlib
import tempfile
import urllib.error
import urllib.request


class DownloadError(RuntimeError):
    """A file could not be downloaded and verified; the message says why, per mirror tried."""


def read_checksums(path):
    """{file name: sha256} from a sha256sum-format file."""
    sums = {}
    for line in pathlib.Path(path).read_text().splitlines():
        if line.strip():
            digest, _, name = line.strip().partition(" ")
            sums[name.strip().lstrip("*")] = digest.lower()  # "*" marks binary mode in sha256sum output
    return sums


_CHUNK = 1 << 16


class _Failure(Exception):
    """One mirror failed for one file; `unreachable` means no server answered at all."""

    def __init__(self, message, unreachable=False):
        super().__init__(message)
        self.unreachable = unreachable


def _sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _is_verified(path, sha256, size):
    try:
        if size is not None and path.stat().st_size != size:
            return False
        return _sha256_file(path) == sha256
    except OSError:
        return False


def _join(base, name):
    return base.rstrip("/") + "/" + name


def _fetch(url, name, sha256, size, dest, progress, timeout):
    """Download url into a temp file in dest, verify it, move it to dest/name; raise _Failure if not."""
    request = urllib.request.Request(url, headers={"User-Agent": "backprop-explorer"})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as e:
        e.close()
        raise _Failure(f"{url}: HTTP {e.code} {e.reason}") from None
    except urllib.error.URLError as e:
        raise _Failure(f"{url}: {e.reason}", unreachable=True) from None
    except (OSError, http.client.HTTPException) as e:  # e.g. a timeout or reset before the response
        raise _Failure(f"{url}: {e or type(e).__name__}", unreachable=True) from None

    fd, tmp_name = tempfile.mkstemp(prefix=f"{name}.part-", dir=dest)
    tmp = pathlib.Path(tmp_name)
    try:
        with response, os.fdopen(fd, "wb") as out:
            length = response.headers.get("Content-Length")
            length = int(length) if length and length.isdigit() else None
            total = size if size is not None else length
            h = hashlib.sha256()
            done = 0
            if progress:
                progress(name, 0, total)
            while True:
                try:
                    chunk = response.read(_CHUNK)
                except (OSError, http.client.HTTPException) as e:
                    raise _Failure(f"{url}: connection lost after {done:,} bytes "
                                   f"({e or type(e).__name__})") from None
                if not chunk:
                    break
                out.write(chunk)  # an OSError here is local (disk full...) and propagates as such
                h.update(chunk)
                done += len(chunk)
                if progress:
                    progress(name, done, total)
                if size is not None and done > size:
                    raise _Failure(f"{url}: got more than the expected {size:,} bytes")
            # http.client returns a short body without error when the server closes early.
            if length is not None and done < length:
                raise _Failure(f"{url}: connection dropped after {done:,} of {length:,} bytes")
            if size is not None and done != size:
                raise _Failure(f"{url}: size mismatch: expected {size:,} bytes, got {done:,}")
            got = h.hexdigest()
            if got != sha256:
                raise _Failure(f"checksum mismatch for {name} from {url}: expected {sha256}, got {got}; "
                               "the file was discarded")
            out.flush()
            os.fsync(out.fileno())
        # Atomic: the final name only ever holds a complete, verified file.
        os.replace(tmp, dest / name)
    except BaseException:  # including KeyboardInterrupt: never leave the partial file behind
        tmp.unlink(missing_ok=True)
        raise


def fetch_files(dest, mirrors, files, progress=None, timeout=30):
    """Fetch and sha256-verify ``files`` ({name: (sha256, size or None)}) into the folder dest.

    Files already present and verified are kept; otherwise each mirror base URL is tried in turn.
    progress(name, bytes_done, bytes_total_or_None) is called while streaming. Returns the final paths.
    Raises DownloadError if a file cannot be fetched and verified from any mirror.
    """
    # Absolute, so the paths returned and named in messages do not depend on the working directory.
    dest = pathlib.Path(dest).expanduser().absolute()
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DownloadError(f"cannot create the download folder {dest}: {e}") from None
    if isinstance(mirrors, str):
        mirrors = (mirrors,)
    if not mirrors:
        raise DownloadError("no mirror given to download from")
    return [_fetch_one(name, sha256.lower(), size, dest, mirrors, progress, timeout)
            for name, (sha256, size) in files.items()]


def _fetch_one(name, sha256, size, dest, mirrors, progress, timeout):
    """dest/name, verified: kept if already right, else fetched from the first mirror that serves it right."""
    final = dest / name
    if _is_verified(final, sha256, size):
        return final
    failures = []
    for base in mirrors:
        try:
            _fetch(_join(base, name), name, sha256, size, dest, progress, timeout)
            return final
        except _Failure as e:
            failures.append(e)
        except OSError as e:  # local trouble (disk full, permissions): no mirror will fix it
            raise DownloadError(f"cannot write {name} into {dest}: {e}") from None
    reasons = "; ".join(str(f) for f in failures)
    if all(f.unreachable for f in failures):
        raise DownloadError(f"could not reach any mirror for {name}: {reasons}. "
                            f"Check your network connection, or copy the files into {dest}")
    raise DownloadError(f"could not download {name}: {reasons}. "
                        f"Try again or another --mirror, or copy the files into {dest}")


class ProgressBar:
    """progress() callback drawing one updating line per file on a stream."""

    WIDTH = 30

    def __init__(self, stream):
        self.stream = stream
        self.last = None
        self.open_line = False  # a bar was drawn without its closing newline

    def end_line(self):
        if self.open_line:
            self.stream.write("\n")
            self.open_line = False

    def __call__(self, name, done, total):
        mb = f"{done / 1e6:.1f}"
        if total:
            frac = min(done / total, 1.0)
            filled = int(frac * self.WIDTH)
            line = (f"\r{name:<28} [{'#' * filled}{'-' * (self.WIDTH - filled)}] "
                    f"{frac:4.0%}  {mb}/{total / 1e6:.1f} MB")
            finished = done >= total
        else:
            line, finished = f"\r{name:<28} {mb} MB", False
        if line != self.last:  # redraw only when the text changes, not on every 64 KiB chunk
            self.stream.write(line + ("\n" if finished else ""))
            self.stream.flush()
            self.last = line
            self.open_line = not finished
