"""One copy of a data set for every trainer process: its uint8 arrays as .npy files, memory-mapped read-only.

The first trainer process that needs a source writes ``<cache>/shared/<source>-<key>/*.npy`` (atomically,
from ``load_dataset``, so the files are checked as usual); every process then maps the same files, and
the operating system keeps one copy of their pages in memory however many processes and runs use
them. The key changes when the source's files change (their paths, sizes and times), so a new
download is never shadowed by an old copy.
"""
import hashlib
import os
import threading

import numpy as np

from ..datasets import SOURCES, Dataset, cache_dir, clear_cache, load_dataset, source_files

ARRAYS = ("x_train", "t_train", "x_test", "t_test")
_opened = {}
_lock = threading.Lock()


def shared_folder(source):
    """Where the shared copy of ``source`` lives (it may not exist yet)."""
    h = hashlib.sha256()
    for path in source_files(source):
        st = path.stat()
        h.update(f"{path}|{st.st_size}|{st.st_mtime_ns};".encode())
    return cache_dir() / "shared" / f"{source}-{h.hexdigest()[:16]}"


def _write(folder, data):
    folder.mkdir(parents=True, exist_ok=True)
    for name in ARRAYS:
        final = folder / f"{name}.npy"
        tmp = folder / f".{name}.{os.getpid()}.npy"
        np.save(tmp, np.ascontiguousarray(getattr(data, name)), allow_pickle=False)
        os.replace(tmp, final)  # another process may write the same file: either copy is whole and equal


def _map(folder, source):
    """The Dataset of the files in ``folder``, or None if one is missing or not what it should be."""
    try:
        arrays = {name: np.load(folder / f"{name}.npy", mmap_mode="r", allow_pickle=False) for name in ARRAYS}
    except (OSError, ValueError):
        return None
    x, t, xt, tt = (arrays[name] for name in ARRAYS)
    if not (x.dtype == t.dtype == xt.dtype == tt.dtype == np.uint8 and x.shape[1:] == xt.shape[1:] == (28, 28)
            and len(x) == len(t) and len(xt) == len(tt)):
        return None
    spec = SOURCES[source]
    return Dataset(source, spec.title, class_names=spec.class_names, files=source_files(source), **arrays)


def shared_dataset(source):
    """The Dataset of ``source`` with memory-mapped arrays (written on first use); once per process.

    Falls back to ``load_dataset`` (a private copy) if the cache folder cannot be written.
    """
    with _lock:
        folder = shared_folder(source)
        if folder not in _opened:
            shared = _map(folder, source)
            if shared is None:
                data = load_dataset(source)
                try:
                    _write(folder, data)
                except OSError:
                    return data
                shared = _map(folder, source)
                clear_cache()  # drop this process's private copy: the mapped files serve from now on
                if shared is None:
                    return data
            _opened[folder] = shared
        return _opened[folder]
