"""The digit data sets: where their IDX files live, loading them once per process, and fetching full MNIST.

Sources: "sample" (bundled 5,000 train + 10,000 test MNIST images), "full" (the official MNIST files,
downloaded into cache_dir()/mnist), "fashion" (Fashion-MNIST from Debian's dataset-fashion-mnist
package or cache_dir()/fashion-mnist). Command line: python -m backprop.datasets {download,status}.
"""
import argparse
import dataclasses
import hashlib
import http.client
import os
import pathlib
import sys
import tempfile
import threading
import types
import urllib.error
import urllib.request

import numpy as np

from .idx import IDXError, idx_shape, parse_idx

__all__ = [
    "SOURCES",
    "MIRRORS",
    "FULL_MNIST_FILES",
    "Dataset",
    "DatasetNotFoundError",
    "DownloadError",
    "IDXError",
    "cache_dir",
    "load_dataset",
    "source_files",
    "clear_cache",
    "available_sources",
    "source_status",
    "load_mnist",
    "download",
    "main",
]

BUNDLED_DIR = pathlib.Path(__file__).resolve().parent / "data" / "mnist"
SYSTEM_FASHION_DIR = pathlib.Path("/usr/share/datasets/fashion-mnist")
DOWNLOAD_COMMAND = "python -m backprop.datasets download"

MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
# name -> (sha256, size in bytes) of the official MNIST distribution. Read-only, as it is a default argument.
FULL_MNIST_FILES = types.MappingProxyType({
    "train-images-idx3-ubyte.gz": ("440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609", 9912422),
    "train-labels-idx1-ubyte.gz": ("3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c", 28881),
    "t10k-images-idx3-ubyte.gz": ("8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6", 1648877),
    "t10k-labels-idx1-ubyte.gz": ("f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6", 4542),
})
_OFFICIAL_NAMES = tuple(FULL_MNIST_FILES)  # train images, train labels, test images, test labels

DIGIT_NAMES = tuple(str(d) for d in range(10))
FASHION_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                 "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")


class DatasetNotFoundError(FileNotFoundError):
    """The files of a source are not on this machine; the message says how to get them."""


class DownloadError(RuntimeError):
    """A file could not be downloaded and verified; the message says why, per mirror tried."""


def cache_dir():
    """Folder for downloaded data: $BACKPROP_DATA_DIR, else $XDG_CACHE_HOME/backprop-explorer, else ~/.cache/..."""
    override = os.environ.get("BACKPROP_DATA_DIR")
    if override:
        return pathlib.Path(override).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    # The XDG spec says relative values are invalid and must be ignored.
    if xdg and os.path.isabs(xdg):
        return pathlib.Path(xdg) / "backprop-explorer"
    return pathlib.Path.home() / ".cache" / "backprop-explorer"


@dataclasses.dataclass(frozen=True)
class _Source:
    key: str
    title: str  # used as Dataset.title
    label: str  # used in one-line status messages
    files: tuple  # names of train images, train labels, test images, test labels
    class_names: tuple
    folders: object  # () -> tuple of candidate folders, looked up at call time (env vars may change)
    how_to_get: object  # () -> str, the end of a "not found" message
    checksums: str | None = None  # name of a sha256sum file in the folder to verify against on load


SOURCES = types.MappingProxyType({
    "sample": _Source(
        key="sample",
        title="MNIST, bundled sample",
        label="bundled sample",
        files=("train-5k-images-idx3-ubyte.gz", "train-5k-labels-idx1-ubyte.gz",
               "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
        class_names=DIGIT_NAMES,
        folders=lambda: (BUNDLED_DIR,),
        how_to_get=lambda: f"the installation is incomplete; reinstall Backprop Explorer (expected {BUNDLED_DIR})",
        checksums="SHA256SUMS",
    ),
    "full": _Source(
        key="full",
        title="MNIST",
        label="full MNIST",
        files=_OFFICIAL_NAMES,
        class_names=DIGIT_NAMES,
        folders=lambda: (cache_dir() / "mnist",),
        how_to_get=lambda: f"run {DOWNLOAD_COMMAND} (or copy the four official files into {cache_dir() / 'mnist'})",
    ),
    "fashion": _Source(
        key="fashion",
        title="Fashion-MNIST",
        label="Fashion-MNIST",
        files=_OFFICIAL_NAMES,  # Fashion-MNIST reuses MNIST's file names
        class_names=FASHION_NAMES,
        # The user's cache comes first so a copy put there wins over the system package.
        folders=lambda: (cache_dir() / "fashion-mnist", SYSTEM_FASHION_DIR),
        how_to_get=lambda: ("run apt-get install dataset-fashion-mnist, or put its four files "
                            f"(train-images-idx3-ubyte.gz etc.) in {cache_dir() / 'fashion-mnist'}"),
    ),
})


@dataclasses.dataclass(frozen=True, eq=False)
class Dataset:
    """One loaded source: x_* are read-only uint8 (N, 28, 28) images, t_* read-only uint8 (N,) labels 0..9."""

    name: str
    title: str
    x_train: np.ndarray
    t_train: np.ndarray
    x_test: np.ndarray
    t_test: np.ndarray
    class_names: tuple
    files: tuple

    def __repr__(self):
        return (f"Dataset(name={self.name!r}, title={self.title!r}, "
                f"train={len(self.t_train)}, test={len(self.t_test)})")


def _source(source):
    try:
        return SOURCES[source]
    except (KeyError, TypeError):
        raise ValueError(f"unknown data source {source!r}; valid sources: {', '.join(SOURCES)}") from None


def _find_folder(spec):
    """First candidate folder holding all four files of the source, or None."""
    for folder in spec.folders():
        if all((folder / name).is_file() for name in spec.files):
            return folder
    return None


def _not_found(spec):
    problems = []
    for folder in spec.folders():
        missing = [name for name in spec.files if not (folder / name).is_file()]
        if len(missing) == len(spec.files):
            problems.append(f"nothing in {folder}")
        else:
            problems.append(f"{folder} lacks {', '.join(missing)}")
    return DatasetNotFoundError(f"{spec.label} not found ({'; '.join(problems)}): {spec.how_to_get()}")


def _read_checksums(path):
    sums = {}
    for line in path.read_text().splitlines():
        if line.strip():
            digest, _, name = line.strip().partition(" ")
            sums[name.strip().lstrip("*")] = digest.lower()  # "*" marks binary mode in sha256sum output
    return sums


def _read_dataset(spec, folder):
    """Read, verify and validate the four files of a source in `folder` into a Dataset."""
    paths = tuple(folder / name for name in spec.files)
    raw = [p.read_bytes() for p in paths]
    if spec.checksums:
        sums_path = folder / spec.checksums
        try:
            sums = _read_checksums(sums_path)
        except OSError as e:
            raise IDXError(sums_path, f"cannot read the checksum list ({e}); reinstall Backprop Explorer") from e
        for path, data in zip(paths, raw):
            expected = sums.get(path.name)
            if expected is None:
                raise IDXError(sums_path, f"has no checksum for {path.name}")
            got = hashlib.sha256(data).hexdigest()
            if got != expected:
                raise IDXError(path, f"checksum mismatch (expected sha256 {expected}, got {got}); "
                                     "the installed data is corrupt, reinstall Backprop Explorer")
    arrays = [parse_idx(data, path, expect_ndim=3 if i % 2 == 0 else 1)
              for i, (path, data) in enumerate(zip(paths, raw))]
    for images, labels, ipath, lpath in ((arrays[0], arrays[1], paths[0], paths[1]),
                                         (arrays[2], arrays[3], paths[2], paths[3])):
        if images.shape[1:] != (28, 28):
            raise IDXError(ipath, f"expected 28x28 images, got {images.shape[1]}x{images.shape[2]}")
        if len(labels) != len(images):
            raise IDXError(lpath, f"has {len(labels)} labels but {ipath.name} has {len(images)} images")
        if labels.max() > 9:
            bad = int(np.argmax(labels > 9))
            raise IDXError(lpath, f"label {labels[bad]} at index {bad} is out of range 0..9")
    for a in arrays:
        a.flags.writeable = False  # shared by every caller (and Streamlit session) in the process
    return Dataset(spec.key, spec.title, *arrays, class_names=spec.class_names, files=paths)


# (source, resolved folder) -> Dataset. Keyed by folder so a changed BACKPROP_DATA_DIR loads afresh.
_cache = {}
_key_locks = {}
_cache_lock = threading.Lock()


def load_dataset(source="sample"):
    """The Dataset of a source, read from disk on the first call per process and shared afterwards.

    Thread-safe: concurrent first calls read the files once. Raises ValueError for an unknown source,
    DatasetNotFoundError if its files are absent, IDXError if one is corrupt.
    """
    spec = _source(source)
    folder = _find_folder(spec)
    if folder is None:
        raise _not_found(spec)
    key = (spec.key, folder.resolve())
    with _cache_lock:
        if key in _cache:
            return _cache[key]
        lock = _key_locks.setdefault(key, threading.Lock())
    # A lock per key: other sources can load meanwhile, and waiters on this key find the result cached.
    with lock:
        with _cache_lock:
            if key in _cache:
                return _cache[key]
        dataset = _read_dataset(spec, folder)
        with _cache_lock:
            _cache[key] = dataset
    return dataset


def source_files(source="sample"):
    """The four files a source loads from (train images, train labels, test images, test labels), without
    reading them. Raises ValueError for an unknown source, DatasetNotFoundError if they are absent."""
    spec = _source(source)
    folder = _find_folder(spec)
    if folder is None:
        raise _not_found(spec)
    return tuple(folder.resolve() / name for name in spec.files)


def clear_cache():
    """Forget every loaded Dataset (after a download, or in tests)."""
    with _cache_lock:
        _cache.clear()


def available_sources():
    """{source: True if its files are present}; checks file presence only, so it is cheap."""
    return {key: _find_folder(spec) is not None for key, spec in SOURCES.items()}


def source_status(source):
    """One human-readable line on a source, e.g. "bundled sample: 5,000 training + 10,000 test images"."""
    spec = _source(source)
    folder = _find_folder(spec)
    if folder is None:
        if spec.key == "full":
            return f"{spec.label}: not downloaded — run {DOWNLOAD_COMMAND}"
        if spec.key == "fashion":
            return f"{spec.label}: not installed — {spec.how_to_get()}"
        return f"{spec.label}: missing — {spec.how_to_get()}"
    try:
        # Header reads only: a few hundred bytes, fine on every page render.
        n_train = idx_shape(folder / spec.files[0])[0]
        n_test = idx_shape(folder / spec.files[2])[0]
    except (OSError, IDXError) as e:
        return f"{spec.label}: unreadable — {e}"
    where = "" if spec.key == "sample" else f" (in {folder})"
    return f"{spec.label}: {n_train:,} training + {n_test:,} test images{where}"


def load_mnist(normalize=True, flatten=True, one_hot_label=False, source="sample"):
    """The book's loader: returns (x_train, t_train), (x_test, t_test) as fresh, writable arrays.

    x: float32 in [0, 1] if normalize else uint8; shape (N, 784) if flatten else (N, 1, 28, 28).
    t: (N, 10) float32 one-hot if one_hot_label else (N,) int64 labels.
    """
    ds = load_dataset(source)

    def images(x):
        if normalize:
            out = x.astype(np.float32)
            out /= 255.0
        else:
            out = x.copy()
        return out.reshape(len(x), 784) if flatten else out.reshape(len(x), 1, 28, 28)

    def labels(t):
        if one_hot_label:
            out = np.zeros((len(t), 10), dtype=np.float32)
            out[np.arange(len(t)), t] = 1.0
            return out
        return t.astype(np.int64)

    return (images(ds.x_train), labels(ds.t_train)), (images(ds.x_test), labels(ds.t_test))


# --- downloading ---------------------------------------------------------------------------------

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


def download(dest=None, mirrors=MIRRORS, files=FULL_MNIST_FILES, progress=None, timeout=30):
    """Fetch and sha256-verify `files` ({name: (sha256, size or None)}) into dest (default cache_dir()/mnist).

    Files already present and verified are kept; otherwise each mirror base URL is tried in turn.
    progress(name, bytes_done, bytes_total_or_None) is called while streaming. Returns the final paths.
    Raises DownloadError if a file cannot be fetched and verified from any mirror.
    """
    # Absolute, so the paths returned and named in messages do not depend on the working directory.
    dest = (pathlib.Path(dest).expanduser() if dest is not None else cache_dir() / "mnist").absolute()
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DownloadError(f"cannot create the download folder {dest}: {e}") from None
    if isinstance(mirrors, str):
        mirrors = (mirrors,)
    if not mirrors:
        raise DownloadError("no mirror given to download from")
    paths = []
    for name, (sha256, size) in files.items():
        final = dest / name
        if not _is_verified(final, sha256, size):
            failures = []
            for base in mirrors:
                try:
                    _fetch(_join(base, name), name, sha256.lower(), size, dest, progress, timeout)
                    break
                except _Failure as e:
                    failures.append(e)
                except OSError as e:  # local trouble (disk full, permissions): no mirror will fix it
                    raise DownloadError(f"cannot write {name} into {dest}: {e}") from None
            else:
                reasons = "; ".join(str(f) for f in failures)
                if all(f.unreachable for f in failures):
                    raise DownloadError(f"could not reach any mirror for {name}: {reasons}. "
                                        f"Check your network connection, or copy the files into {dest}")
                raise DownloadError(f"could not download {name}: {reasons}. "
                                    f"Try again or another --mirror, or copy the files into {dest}")
        paths.append(final)
    # Files changed on disk: drop Datasets loaded from them before.
    clear_cache()
    return paths


# --- command line --------------------------------------------------------------------------------

class _ProgressBar:
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


def _checksum_file_arg(path):
    """--checksums FILE (sha256sum format) -> {name: (sha256, None)}; sizes are then unchecked."""
    try:
        sums = _read_checksums(pathlib.Path(path))
    except OSError as e:
        raise argparse.ArgumentTypeError(f"cannot read {path}: {e}") from None
    return {name: (digest, None) for name, digest in sums.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m backprop.datasets", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    get = commands.add_parser("download", help="download and verify the full MNIST files")
    get.add_argument("--dest", type=pathlib.Path, default=None,
                     help="folder to put the files in (default: %s)" % (cache_dir() / "mnist"))
    get.add_argument("--mirror", action="append", metavar="URL",
                     help="base URL to download from; repeat to try several in turn (default: public mirrors)")
    # Hidden: lets tests (or another data set) use files other than the official MNIST ones.
    get.add_argument("--checksums", type=_checksum_file_arg, default=None, help=argparse.SUPPRESS)
    get.add_argument("--timeout", type=float, default=30, help="seconds to wait on a silent server (default 30)")
    commands.add_parser("status", help="show which data sources are available")
    args = parser.parse_args(argv)

    if args.command == "status":
        for key, ok in available_sources().items():
            print(f"{key:<8} {'available' if ok else 'missing':<10} {source_status(key)}")
        return 0

    bar = _ProgressBar(sys.stderr)
    try:
        paths = download(dest=args.dest, mirrors=tuple(args.mirror or MIRRORS),
                         files=args.checksums or FULL_MNIST_FILES, progress=bar, timeout=args.timeout)
    except DownloadError as e:
        bar.end_line()
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        bar.end_line()
        print("interrupted; no partial file was kept", file=sys.stderr)
        return 130
    print(f"Verified files in {paths[0].parent if paths else args.dest}:")
    for p in paths:
        print(f"  {p.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
