"""Give freed memory back to the operating system (glibc's allocator; elsewhere these do nothing).

Measured on the server (issue 13): ten browser sessions that each loaded a 20 MB weights file and
closed left about 19 MB per session in the server's RSS, yet nothing Python-level held them (after
``gc.collect()`` only the one session Streamlit still keeps for a reconnect was alive), and
``malloc_trim(0)`` gave back 130 MB of 336. glibc raises its mmap threshold each time a large block
is freed (up to 32 MB), so after the first weights file every array of a few MB is carved from the
heaps of the script threads' arenas, where a freed block stays mapped unless it sits at a heap's top.
``tune()`` fixes the threshold at 1 MB: an array that large is its own mapping, unmapped when freed.
"""
import ctypes
import ctypes.util
import threading

MMAP_THRESHOLD = 1 << 20  # bytes: blocks at least this large are mapped alone and unmapped when freed
_M_MMAP_THRESHOLD = -3  # mallopt's parameter numbers (glibc's malloc.h)

_lock = threading.Lock()
_tuned = False


def _libc():
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return libc if libc is not None and hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


_LIBC = _libc()


def tune():
    """Fix glibc's mmap threshold (once per process): True if this process's allocator now has it."""
    global _tuned
    with _lock:
        if not _tuned and _LIBC is not None:
            _tuned = bool(_LIBC.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD))
        return _tuned


def trim():
    """Hand the allocator's free pages back to the OS (glibc's malloc_trim, every arena); True if any were."""
    return bool(_LIBC.malloc_trim(0)) if _LIBC is not None else False
