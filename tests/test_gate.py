"""pages/gate.py: at most SLOTS page runs at a time, re-entrant in a thread, never a lock-out."""
import threading
import time
from functools import partial

from pages.gate import Gate


def _crowd(gate, n, hold):
    """n threads each inside ``gate`` for ``hold`` s; the most that were inside at once."""
    most, lock = [0], threading.Lock()

    def visit():
        with gate():
            with lock:
                most[0] = max(most[0], gate.inside)
            time.sleep(hold)

    threads = [threading.Thread(target=visit) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    return most[0]


def test_no_more_than_its_slots_are_inside_at_once():
    gate = Gate(2)
    assert _crowd(gate, 8, 0.05) == 2
    assert gate.inside == 0 and gate.waited_out == 0


def test_a_fragment_inside_its_page_run_does_not_wait_for_itself():
    gate = Gate(1, wait=5)
    started = time.perf_counter()
    with gate():
        with gate():  # the live view drawn inline during the training page's run
            assert gate.inside == 1
        assert gate.inside == 1
    assert gate.inside == 0 and time.perf_counter() - started < 1 and gate.waited_out == 0


def test_a_run_stuck_inside_delays_the_others_but_never_locks_them_out():
    gate = Gate(1, wait=0.2)
    release = threading.Event()
    stuck = threading.Thread(target=lambda: gate.wrap(release.wait)(5))
    stuck.start()
    time.sleep(0.05)
    started = time.perf_counter()
    with gate():  # waits its 0.2 s, then goes ahead
        waited = time.perf_counter() - started
    release.set()
    stuck.join(5)
    assert 0.15 < waited < 2 and gate.waited_out == 1 and gate.inside == 0
    assert _crowd(gate, 3, 0.01) == 1  # the slot came back: one at a time again


def test_a_gated_fragment_keeps_its_function_s_name():
    """Streamlit names a fragment by its function's module and name: a partial's is its function's."""
    def live_view(view):
        return view

    gated = Gate(1).wrap(partial(live_view, "v"))
    assert gated() == "v" and gated.__qualname__ == live_view.__qualname__
