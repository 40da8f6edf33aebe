"""What the training page says about the shared server (AppTest): a place in the server's queue, how many
runs share it, a configuration refused with what fits, a run lost to a server restart, and the restart
of a run whose trainer process died."""
import os
import signal
import time

import pytest

from backprop import live
from backprop.training import TrainConfig




@pytest.fixture
def page(training_pages):
    return training_pages


def captions(at):
    return " ".join(c.value for c in at.caption)


def click(at, name):
    at.button(key=f"training_btn_{name}").click().run()
    assert not at.exception, at.exception


def test_a_run_beyond_the_server_limit_shows_its_place_and_starts_when_one_is_free(page, monkeypatch):
    from backprop.live import pool as pool_module
    pool = pool_module.TrainerPool()  # the server's pool of its own: other tests' sessions may still train
    monkeypatch.setattr(pool_module, "_default", pool)
    monkeypatch.setattr(pool, "max_running", 1)
    other = live.Lab()  # another session, training
    other.start(TrainConfig(iterations=10**5))
    at = page()
    click(at, "start")
    assert "number 1 in line (1 runs are training on this server)" in captions(at)
    assert at.session_state["training_lab"].current.iteration == 0
    other.shutdown()  # the place is free: this page's run steps
    assert at.session_state["training_lab"].current.wait(0.01) is False
    deadline = time.time() + 30
    while at.session_state["training_lab"].current.iteration == 0 and time.time() < deadline:
        time.sleep(0.01)
    monkeypatch.setattr(pool, "max_running", 64)
    second = live.Lab()
    second.start(TrainConfig(iterations=10**5))
    at.run()
    assert "in line" not in captions(at) and "2 runs share this server's" in captions(at)
    assert "the curves redraw every 0.5 s" in captions(at)  # the rate this page's timer was given
    second.shutdown()
    at.session_state["training_lab"].shutdown()
    pool.shutdown()


def test_the_largest_network_is_refused_with_what_fits(page):
    at = page()
    at.number_input(key="training_layers").set_value(8).run()
    at.session_state["training_width"] = 500
    at.session_state["training_batch_size"] = 1000
    at.run()
    click(at, "start")
    (error,) = at.error
    assert "Pause must answer within half a second" in error.value and "What fits: 8 layer(s) of at most" in error.value
    assert at.session_state["training_lab"].current is None


def test_a_bookmark_from_before_a_server_restart_says_the_runs_were_lost(page):
    at = page({"run_id": "5f3a-2"})  # a token of another start of the server
    assert any("runs trained before were lost" in i.value for i in at.info)
    at = page()
    click(at, "step")
    token = live.run_token(at.session_state["training_lab"].current.run_id)
    assert at.query_params["run_id"] in (token, [token])  # AppTest gives a value or a list, by version
    assert not any("were lost" in i.value for i in at.info)


def test_a_run_whose_trainer_process_died_says_so_and_restarts(page):
    at = page()
    click(at, "step")
    run = at.session_state["training_lab"].current
    assert run.iteration == 1 and run.checkpoint_iteration == 1
    pid = run._conn.worker.proc.pid
    os.kill(pid, signal.SIGKILL)
    deadline = time.time() + 10
    while not run.can_restart and time.time() < deadline:
        time.sleep(0.01)
    at.run()
    assert any("the training process ended unexpectedly" in e.value for e in at.error)
    at.button(key="training_btn_restart").click().run()
    assert not at.exception and run.state == live.PAUSED and run.iteration == 1 and not run.closed
    assert not at.button(key="training_btn_resume").disabled


def test_on_a_projector_the_shared_server_s_note_costs_the_curves_its_line(page, monkeypatch):
    """Presentation mode at 1280x720: the note under the progress bar ("2 runs share ...") takes a line,
    so the canvas is that much shorter and the curves still end inside the screen."""
    from backprop.live import pool as pool_module
    pool = pool_module.TrainerPool()
    monkeypatch.setattr(pool_module, "_default", pool)
    at = page({"present": "1", "iterations": "100000"})
    click(at, "start")
    alone = _canvas_height(at)
    other = live.Lab()
    other.start(TrainConfig(iterations=10**5))
    deadline = time.time() + 30
    while pool.load()["running"] < 2 and time.time() < deadline:
        time.sleep(0.01)
    at.run()
    assert "2 runs share this server's" in captions(at)
    from pages.training_live import NOTE_PX
    assert alone - _canvas_height(at) == int(NOTE_PX * 1.15), (alone, _canvas_height(at))
    other.shutdown()
    at.session_state["training_lab"].shutdown()
    pool.shutdown()


def _canvas_height(at):
    """The live canvas's height in px (its data goes out as one JSON text)."""
    import json
    found = [json.loads(json.loads(c.proto.json))["height"] for c in at.get("bidi_component")
             if c.proto.component_name == "backprop_explorer.live_curves"]
    assert found, "no live canvas"
    return found[0]
