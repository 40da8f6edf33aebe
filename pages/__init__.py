"""The Streamlit pages (each script a page of app.py's navigation) and the modules they share.

Importing this package imports every module the pages use, once per process, in one fixed order.
On a freshly started server a hall of students opening the lecturer's bookmark starts 20 script
threads at the same moment, each importing the pages' modules in its own page's order. Python's
per-module import locks then see a cycle between two threads (one holds ``backprop.graph`` and waits
for ``backprop.figures.graph``, the other the reverse) and hand one of them a half-initialised module:
``cannot import name 'graph_figure'``, ``partially initialized module 'pandas'`` (seen with 20
websocket sessions, tests/test_hall.py). app.py and every page script import this package before
anything else of the project, so the first session imports everything while the others wait on this
package's one lock; later runs find it all in ``sys.modules``. It also tunes the server's allocator
and moves the imported modules out of the garbage collector's way, once, whichever page is opened
first (Streamlit's full collection after every run is off: .streamlit/config.toml).
"""
import gc
import importlib
import pkgutil
from pathlib import Path

import backprop

HERE = Path(__file__).parent
PAGE_SCRIPTS = {"home", "shopping", "network", "gradient_check", "training"}  # run by Streamlit, never imported
LIBRARIES = ("numpy", "pandas", "plotly.graph_objects", "plotly.io")  # Streamlit imports some of them lazily


def _modules():
    yield from LIBRARIES
    for info in pkgutil.walk_packages(backprop.__path__, "backprop."):
        yield info.name
    for path in sorted(HERE.glob("*.py")):
        if path.stem not in PAGE_SCRIPTS and path.stem != "__init__":
            yield f"pages.{path.stem}"
    for info in pkgutil.walk_packages([str(HERE / "components")], "pages.components."):
        yield info.name


for _name in _modules():
    importlib.import_module(_name)

# Plotly's first figure from a NumPy array makes narwhals scan every installed package's entry points
# (about a second, remembered afterwards, but not locked): the first Pause of a hall, when 30 paused
# pages draw their first Plotly charts at once, did it 30 times over and every page waited 9-13 s.
# Doing it here, once, before any session draws.
import numpy as _np  # noqa: E402
import plotly.graph_objects as _go  # noqa: E402

_go.Scatter(x=_np.zeros(1), y=_np.zeros(1))

gc.freeze()  # what was imported stays for the server's life: Python's collector no longer walks it
backprop.live.tune_allocator()  # once per server: freed weights and uploads go back to the OS (backprop/live/allocator.py)
