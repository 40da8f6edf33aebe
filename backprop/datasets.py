"""The digit data sets: where their IDX files live, loading them once per process, and fetching full MNIST.

Sources: "sample" (bundled 5,000 train + 10,000 test MNIST images), "full" (the official MNIST files,
downloaded into cache_dir()/mnist), "fashion" (Fashion-MNIST from Debian's dataset-fashion-mnist
package or cache_dir()/fashion-mnist). Command line: python -m backprop.datasets {download,status}.
"""
import argparse
import dataclasses
import hashlib
import os
import pathlib
import sys
import threading
import types

import numpy as np

from .download import DownloadError, ProgressBar, fetch_files, read_checksums
from .idx import IDXError, check_idx_length, parse_idx

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
    "SourceStatus",
    "source_status",
    "problem_status",
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
    """The files of a source are not on this machine; ``source`` names it, the message says how to get them."""

    def __init__(self, message, source=None):  # source has a default so that the error unpickles
        super().__init__(message)
        self.source = source


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
    return DatasetNotFoundError(f"{spec.label} not found ({'; '.join(problems)}): {spec.how_to_get()}", spec.key)


def _read_dataset(spec, folder):
    """Read, verify and validate the four files of a source in `folder` into a Dataset."""
    paths = tuple(folder / name for name in spec.files)
    raw = [p.read_bytes() for p in paths]
    if spec.checksums:
        sums_path = folder / spec.checksums
        try:
            sums = read_checksums(sums_path)
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


STATUS_CODES = ("bundled", "ready", "not_downloaded", "not_installed", "missing", "unreadable", "corrupt")


@dataclasses.dataclass(frozen=True)
class SourceStatus:
    """Where a source stands, as a code and values (pages word it):

    code (one of STATUS_CODES) : "bundled" or "ready" (present: n_train, n_test, folder), "not_downloaded" (full MNIST),
    "not_installed" (Fashion-MNIST), "missing" (the bundled sample: the installation is incomplete),
    "unreadable" (present, but ``file``'s header cannot be read), "corrupt" (``file`` fails its check: the
    bundled sample's SHA256SUMS, else its length against its header). folder : where it is or would go.
    """

    source: str
    code: str
    folder: pathlib.Path
    n_train: int = 0
    n_test: int = 0
    file: str = ""

    @property
    def present(self):
        return self.code in ("bundled", "ready")


_ABSENT = {"sample": "missing", "full": "not_downloaded", "fashion": "not_installed"}


# (path, size, mtime) -> (shape, problem code or None): each file is checked once until it changes.
_checked = {}


def _check_file(path, ndim, digest):
    """(shape, None) for a file that passes; (None, "unreadable") or (shape, "corrupt") for one that does not.

    Cheap enough for every page render: the header and the length (gzip trailer) of the file, and, where
    a checksum is known, a SHA-256 of its bytes once per (size, mtime)."""
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _checked:
        try:
            shape = check_idx_length(path, ndim)
        except IDXError as e:
            result = (None, "corrupt" if e.problem.startswith("length mismatch") else "unreadable")
        else:
            ok = digest is None or hashlib.sha256(path.read_bytes()).hexdigest() == digest
            result = (shape, None if ok else "corrupt")
        _checked[key] = result
    return _checked[key]


def source_status(source):
    """A SourceStatus: is the source on this machine, how many images it holds, and do its files pass their
    checks (header and length; the bundled sample's checksums), each checked once until it changes."""
    spec = _source(source)
    folder = _find_folder(spec)
    if folder is None:
        return SourceStatus(spec.key, _ABSENT[spec.key], spec.folders()[0])
    try:
        sums = read_checksums(folder / spec.checksums) if spec.checksums else {}
    except OSError:
        return SourceStatus(spec.key, "unreadable", folder, file=spec.checksums)
    shapes = []
    for i, name in enumerate(spec.files):
        if spec.checksums and name not in sums:
            return SourceStatus(spec.key, "corrupt", folder, file=spec.checksums)
        try:
            shape, problem = _check_file(folder / name, 3 if i % 2 == 0 else 1, sums.get(name))
        except OSError:
            shape, problem = None, "unreadable"
        if problem:
            return SourceStatus(spec.key, problem, folder, file=name)
        shapes.append(shape)
    return SourceStatus(spec.key, "bundled" if spec.key == "sample" else "ready", folder, shapes[0][0], shapes[2][0])


def _source_of_folder(folder):
    """The source whose candidate folders include ``folder``, or None."""
    folder = pathlib.Path(folder).resolve()
    for key, spec in SOURCES.items():
        if any(pathlib.Path(f).resolve() == folder for f in spec.folders()):
            return key
    return None


def problem_status(error, source=None):
    """Why loading a source raised ``error``, as the SourceStatus Home shows for it (pages word it the same
    way), or None if ``error`` is not about data files (an unknown source name, a bug).

    DatasetNotFoundError: the source's "absent" code. IDXError: "corrupt" or "unreadable" naming the file
    (what ``source_status`` finds if its checks see it, else what the error says); ``source`` defaults to
    the one whose folder holds the file."""
    if isinstance(error, DatasetNotFoundError):
        key = source or error.source
        return SourceStatus(key, _ABSENT[key], SOURCES[key].folders()[0]) if key in SOURCES else None
    if not isinstance(error, IDXError):
        return None
    folder = pathlib.Path(error.path).parent
    key = source if source in SOURCES else _source_of_folder(folder)
    if key is None:
        return None
    status = source_status(key)
    if status.code in ("unreadable", "corrupt"):
        return status
    damaged = error.problem.startswith(("checksum mismatch", "length mismatch", "truncated", "corrupt"))
    return SourceStatus(key, "corrupt" if damaged else "unreadable", folder, file=error.file)


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


def download(dest=None, mirrors=MIRRORS, files=FULL_MNIST_FILES, progress=None, timeout=30):
    """Fetch and sha256-verify ``files`` ({name: (sha256, size or None)}) into dest (default cache_dir()/mnist).

    See ``backprop.download.fetch_files``; afterwards Datasets loaded before are forgotten. Returns the paths.
    Raises DownloadError if a file cannot be fetched and verified from any mirror.
    """
    paths = fetch_files(cache_dir() / "mnist" if dest is None else dest, mirrors, files, progress, timeout)
    clear_cache()  # files changed on disk: drop Datasets loaded from them before
    return paths


# --- command line ---------------------------------------------------------------------------------

def _checksum_file_arg(path):
    """--checksums FILE (sha256sum format) -> {name: (sha256, None)}; sizes are then unchecked."""
    try:
        sums = read_checksums(pathlib.Path(path))
    except OSError as e:
        raise argparse.ArgumentTypeError(f"cannot read {path}: {e}") from None
    return {name: (digest, None) for name, digest in sums.items()}


def _status_line(status):
    """The command line's English for a SourceStatus (pages word it from their catalogues)."""
    spec = SOURCES[status.source]
    if status.code == "bundled":
        return f"{spec.label}: {status.n_train:,} training + {status.n_test:,} test images"
    if status.code == "ready":
        return f"{spec.label}: {status.n_train:,} training + {status.n_test:,} test images (in {status.folder})"
    if status.code == "unreadable":
        return f"{spec.label}: unreadable ({status.file} in {status.folder})"
    if status.code == "corrupt":
        return f"{spec.label}: damaged ({status.file} in {status.folder} fails its check)"
    if status.code == "not_downloaded":
        return f"{spec.label}: not downloaded — run {DOWNLOAD_COMMAND}"
    if status.code == "not_installed":
        return f"{spec.label}: not installed — {spec.how_to_get()}"
    return f"{spec.label}: missing — {spec.how_to_get()}"


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
            print(f"{key:<8} {'available' if ok else 'missing':<10} {_status_line(source_status(key))}")
        return 0

    bar = ProgressBar(sys.stderr)
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
