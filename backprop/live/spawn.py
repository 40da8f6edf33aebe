"""Starting a trainer process (worker.py): ``python -m backprop.live.worker FD`` with one end of a socket pair.

Not multiprocessing: while Streamlit runs a page it puts the page in sys.modules["__main__"], and
multiprocessing's children would run that page again to rebuild their __main__.
"""
import os
import socket
import subprocess
import sys
from multiprocessing.connection import Connection
from pathlib import Path

PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])
ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def start_process(nice=0):
    """(Popen, Connection) of a new trainer process; it lowers its own priority by ``nice`` first."""
    ours, theirs = socket.socketpair()
    proc = subprocess.Popen([sys.executable, "-m", "backprop.live.worker", str(theirs.fileno()), str(nice)],
                            pass_fds=(theirs.fileno(),), cwd=PACKAGE_ROOT, env={**os.environ, **ONE_THREAD},
                            stdin=subprocess.DEVNULL)
    theirs.close()
    return proc, Connection(ours.detach())
