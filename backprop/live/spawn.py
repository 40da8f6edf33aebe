"""Starting training processes (see process.py), one kept warm so that a new run starts at once.

A process is ``python -m backprop.live.process FD`` with one end of a socket pair; it imports NumPy
and waits for its Init. Not multiprocessing: while Streamlit runs a page it puts the page in
sys.modules["__main__"], and multiprocessing's children would run that page again to rebuild
their __main__.
"""
import os
import socket
import subprocess
import sys
import threading
from multiprocessing.connection import Connection
from pathlib import Path

PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])
ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def start_process():
    """(Popen, Connection) of a new training process waiting for its Init."""
    ours, theirs = socket.socketpair()
    proc = subprocess.Popen([sys.executable, "-m", "backprop.live.process", str(theirs.fileno())],
                            pass_fds=(theirs.fileno(),), cwd=PACKAGE_ROOT, env={**os.environ, **ONE_THREAD},
                            stdin=subprocess.DEVNULL)
    theirs.close()
    return proc, Connection(ours.detach())


class Spawner:
    """Hands out training processes, starting the next one in the background as it hands one out."""

    def __init__(self):
        self._lock = threading.Lock()
        self._spare = None

    def take(self):
        """(Popen, Connection) of a fresh training process (the warm one if it is still fine)."""
        with self._lock:
            spare, self._spare = self._spare, None
            if spare is None or spare[0].poll() is not None:
                spare = start_process()
            self._spare = start_process()  # importing NumPy happens in the background
            return spare


SPAWNER = Spawner()
