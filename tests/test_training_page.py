"""The live training page under AppTest: controls that start, pause and stop a background run, the run
history and its overlay, mid-run knobs, divergence, reproduce links, and weight files refused or loaded.

AppTest does not fire the live fragment's timer, so tests rerun the script themselves and wait on the
session's controller (st.session_state["training_lab"]) when they need a run to end.
"""
import io
import json
import pickle
import re
import time
from dataclasses import replace

import numpy as np
import pytest

from backprop import live, training
from backprop.training import TrainConfig, param_shapes




@pytest.fixture
def pages(training_pages):
    return training_pages


def lab(at):
    return at.session_state["training_lab"]


def progress(at):
    return at.get("progress")[0].proto.text


def iteration(at):
    return int(re.search(r"(?:Iteration|iteration) ([\d,]+)", progress(at)).group(1).replace(",", ""))


def click(at, name):
    at.button(key=f"training_btn_{name}").click().run()
    assert not at.exception, at.exception
    return at


def set_length(at, n):
    at.number_input(key="training_length").set_value(n).run()


def finish(at, timeout=60):
    assert lab(at).current.wait(timeout)
    at.run()
    assert not at.exception, at.exception


def live_curves(at):
    """The data of the live canvas chart, or None when it is not shown (it goes out as one JSON text,
    which the component's script parses)."""
    found = [json.loads(json.loads(c.proto.json)) for c in at.get("bidi_component")
             if c.proto.component_name == "backprop_explorer.live_curves"]
    return found[0] if found else None


def overlay_chart(at):
    (spec,) = [c.proto.spec for c in at.get("plotly_chart") if "Loss (smoothed)" in c.proto.spec]
    return json.loads(spec)


def texts(elements):
    return " ".join(e.value for e in elements)


def plain(elements):
    """The text as shown: echoed names are Markdown-escaped (``good\\.npz``) so that they stay text."""
    return texts(elements).replace("\\", "")


def test_start_then_reruns_show_the_run_growing_and_pause_stops_it(pages):
    at = pages()
    assert at.button(key="training_btn_pause").disabled and not at.button(key="training_btn_start").disabled
    click(at, "start")
    assert lab(at).current.state == live.RUNNING and at.button(key="training_btn_start").disabled
    deadline = time.time() + 20
    while lab(at).current.iteration == 0 and time.time() < deadline:
        time.sleep(0.01)
    seen = []
    while (len(seen) < 3 or seen[-1] == seen[0]) and time.time() < deadline:
        time.sleep(0.2)
        at.run()  # what the live fragment's timer does in a browser
        seen.append(iteration(at))
    assert seen == sorted(seen) and seen[-1] > seen[0] > 0, seen
    curves = live_curves(at)  # while it trains, a canvas draws the curves (cheap to redraw twice a second)
    loss, accuracy = curves["panels"]
    assert [s["name"] for s in loss["series"]] == ["each mini-batch", "smoothed"]
    assert 0 < max(loss["series"][1]["x"]) <= lab(at).current.iteration
    assert [s["name"] for s in accuracy["series"]] == ["train", "test"] and accuracy["series"][1]["y"]
    click(at, "pause")
    assert not live_curves(at)
    loss_chart = at.get("plotly_chart")[0].proto.spec  # paused: the interactive Plotly figures
    assert "each mini-batch" in loss_chart and "smoothed" in loss_chart
    run = lab(at).current
    assert run.state == live.PAUSED and progress(at).startswith("Paused at iteration")
    at_pause = iteration(at)
    assert at_pause == run.iteration
    time.sleep(0.2)
    at.run()
    assert iteration(at) == at_pause == run.iteration  # nothing trains while paused
    assert not at.button(key="training_btn_resume").disabled
    badges = [m.value for m in at.markdown if "-badge[" in m.value]
    assert badges[0] == ":green-badge[first loss 2.30 (≈ ln 10 = 2.30)]"  # the sanity check of section 4.2
    assert [b.split("[")[1].split()[0] for b in badges[1:]] == ["W1", "W2"]


def test_finished_runs_join_the_history_and_can_be_overlaid(pages):
    at = pages()
    set_length(at, 150)
    click(at, "start")
    finish(at)
    assert progress(at).startswith("Finished: 150 iterations")
    at.select_slider(key="training_lr").set_value(0.01).run()
    click(at, "start")  # a finished run: Start begins a new one from the knobs
    finish(at)
    records = lab(at).records()
    assert [r.config.lr for r in records] == [0.1, 0.01] and all(r.status == live.FINISHED for r in records)
    overlay = at.multiselect(key="training_overlay")
    assert overlay.value == [1, 2]
    chart = overlay_chart(at)
    names = {t["name"] for t in chart["data"]}
    assert names == {"#1 lr=0.1", "#2 lr=0.01"}  # labelled by what differs between the runs
    table = at.dataframe[0].value
    assert len(table) == 2 and list(table["lr"]) == [0.01, 0.1]  # newest first
    overlay.set_value([2]).run()
    chart = overlay_chart(at)
    assert {t["name"] for t in chart["data"]} == {"#2 SGD lr=0.01"}


def test_knobs_that_may_change_mid_run_apply_at_once_and_the_others_wait(pages):
    at = pages()
    click(at, "start")
    at.select_slider(key="training_lr").set_value(0.05).run()
    run = lab(at).current
    assert run.state == live.RUNNING and run.config.lr == 0.05 and run.initial_config.lr == 0.1
    at.number_input(key="training_layers").set_value(2).run()
    assert run.config.hidden_sizes == (50,) and lab(at).current is run
    captions = texts(at.caption)
    assert "Changed since this run started: hidden layers." in captions
    time.sleep(0.1)
    at.run()
    assert "Changed mid-run: Learning rate → 0.05, from iteration" in texts(at.caption)
    click(at, "stop")
    assert run.state == live.STOPPED and lab(at).records()[0].adjustments


def test_divergence_pauses_with_an_explanation_and_keeps_the_history(pages):
    at = pages()
    at.number_input(key="training_layers").set_value(4).run()
    at.segmented_control(key="training_init").set_value("he").run()
    at.select_slider(key="training_lr").set_value(10.0).run()
    click(at, "start")
    finish(at)
    run = lab(at).current
    assert run.state == live.PAUSED and run.snapshot().divergence is not None
    error = texts(at.error)
    assert "Training diverged at iteration" in error and "Lower the learning rate, e.g. to 1" in error
    assert iteration(at) == run.iteration > 0 and len(run.record().losses) == run.iteration
    assert not at.exception


def test_a_bug_in_a_run_says_so_in_a_sentence_keeps_the_history_and_offers_restart(caplog):
    from types import SimpleNamespace

    from backprop.datasets import load_dataset

    d = load_dataset("sample")
    labels = d.t_train.copy()
    labels[::50] = 200  # a label no softmax has: the first batches raise IndexError in the trainer process
    bad = SimpleNamespace(x_train=d.x_train, t_train=labels, x_test=d.x_test, t_test=d.t_test, title=d.title,
                          class_names=d.class_names)
    from conftest import open_page

    at = open_page("pages/training.py", run=False)
    at.session_state["training_lab"] = live.Lab(data_loader=lambda config: bad)  # the page's Lab, on that data
    at.switch_page("pages/training.py").run()
    try:
        click(at, "start")
        finish(at)
    finally:
        lab(at).shutdown()
    shown = texts(at.error)
    assert "This run stopped on an internal error in the app (the server's log has the details)" in shown
    assert "Its history so far is kept: restart it from its last checkpoint, or start a new run." in shown
    assert "IndexError" not in shown and "Traceback" not in shown
    assert "IndexError: index 200 is out of bounds" in caplog.text  # the server's log has it
    assert at.button(key="training_btn_restart").label.startswith("Restart from iteration")


def test_a_comparison_preset_runs_one_after_another_and_overlays_them(pages, monkeypatch):
    short = tuple((name, replace(c, hidden_sizes=(20,), iterations=40)) for name, c in training.PRESETS["ch6_init"])
    monkeypatch.setitem(training.PRESETS, "ch6_init", short)
    at = pages()
    at.selectbox(key="training_preset").set_value("ch6_init").run()
    assert at.session_state["training_lr"] == 0.01 and at.session_state["training_init"] == "std"
    click(at, "compare")
    deadline = time.time() + 60
    while len(lab(at).records()) < 3 and time.time() < deadline:
        time.sleep(0.05)
    at.run()
    assert [r.label for r in lab(at).records()] == ["std=0.01", "Xavier", "He"]
    assert at.multiselect(key="training_overlay").value == [1, 2, 3]
    chart = overlay_chart(at)
    assert [t["name"] for t in chart["data"] if t.get("showlegend", True)] == ["#1 std=0.01", "#2 Xavier", "#3 He"]
    opacities = [t["opacity"] for t in chart["data"] if t["xaxis"] == "x"]
    assert opacities == sorted(opacities) and opacities[0] < opacities[-1]  # earlier runs faded


def good_weights(config=TrainConfig(hidden_sizes=(8,))):
    rng = np.random.default_rng(0)
    params = {k: rng.normal(0, 0.1, s).astype(np.float32) for k, s in param_shapes(config).items()}
    return live.weights_npz(params, config)


def upload(at, name, data):
    at.file_uploader(key="training_upload").set_value((name, data, "application/octet-stream")).run()
    assert not at.exception, at.exception


def test_weight_files_with_wrong_shapes_or_pickles_are_refused_with_a_message(pages):
    at = pages()
    buf = io.BytesIO()
    np.savez(buf, W1=np.zeros((784, 9), np.float32), b1=np.zeros(8, np.float32), W2=np.zeros((8, 10), np.float32),
             b2=np.zeros(10, np.float32), config=np.array(json.dumps(TrainConfig(hidden_sizes=(8,)).to_dict())))
    upload(at, "wrong.npz", buf.getvalue())
    assert "wrong.npz was refused: W1 has shape (784, 9), expected (784, 8)" in plain(at.error)
    upload(at, "weights.npz", pickle.dumps({"W1": np.zeros((784, 8))}))
    assert "weights.npz was refused: this is a Python pickle, which is never loaded" in plain(at.error)
    assert lab(at).records() == []
    upload(at, "good.npz", good_weights())
    assert "Loaded good.npz: a network with hidden layers 8" in plain(at.success)
    (record,) = lab(at).records()
    assert record.status == "loaded" and record.config.hidden_sizes == (8,)
    assert at.session_state["training_inspect"] == record.run_id


def test_a_reproduce_link_prefills_the_knobs_and_bad_values_keep_their_default(pages):
    at = pages({"optimizer": "Adam", "lr": "0.001", "hidden_sizes": "100,100", "weight_init": "he",
                "batch_size": "lots"})
    ss = at.session_state
    assert (ss["training_optimizer"], ss["training_lr"], ss["training_layers"], ss["training_width"]) == (
        "Adam", 0.001, 2, 100)
    assert ss["training_init"] == "he" and ss["training_batch_size"] == 100
    assert "batch\\_size=lots: not a number; using 100" in texts(at.warning)  # named, quoted as plain text
    assert at.query_params["optimizer"] == "Adam" and at.query_params["hidden_sizes"] == "100,100"  # kept
    assert "batch_size" not in at.query_params  # the default it fell back to is left out
    set_length(at, 30)
    click(at, "start")
    finish(at)
    link = texts(at.code)
    assert "optimizer=Adam" in link and "lr=0.001" in link and "hidden_sizes=100,100" in link
    assert "iterations=30" in link


def test_two_sessions_train_on_their_own(pages):
    a, b = pages(), pages()
    b.select_slider(key="training_lr").set_value(0.02).run()
    for at in (a, b):
        set_length(at, 60)
        click(at, "start")
    for at in (a, b):
        finish(at)
    assert lab(a) is not lab(b)
    assert [r.config.lr for r in lab(a).records()] == [0.1] and [r.config.lr for r in lab(b).records()] == [0.02]
    assert not np.array_equal(lab(a).records()[0].params["W1"], lab(b).records()[0].params["W1"])


def test_knobs_keep_their_values_while_hidden_and_across_pages(pages):
    at = pages()
    at.selectbox(key="training_optimizer").set_value("Momentum").run()
    at.select_slider(key="training_momentum").set_value(0.5).run()
    at.selectbox(key="training_optimizer").set_value("Adam").run()  # momentum is not shown for Adam
    at.select_slider(key="training_lr").set_value(0.002).run()
    at.switch_page("pages/home.py").run()
    assert "In use: **bundled sample" in texts(at.markdown)  # the data set the training page uses
    at.switch_page("pages/training.py").run()
    assert not at.exception
    assert at.select_slider(key="training_lr").value == 0.002 and at.selectbox(key="training_optimizer").value == "Adam"
    at.selectbox(key="training_optimizer").set_value("Momentum").run()
    assert at.select_slider(key="training_momentum").value == 0.5


def test_the_data_set_picked_here_is_the_one_home_reports(pages):
    from backprop.datasets import available_sources

    if not available_sources()["fashion"]:
        pytest.skip("Fashion-MNIST is not installed")
    at = pages()
    at.selectbox(key="training_dataset").set_value("fashion").run()
    assert at.session_state["dataset"] == "fashion"
    at.switch_page("pages/home.py").run()
    assert "In use: **Fashion-MNIST" in texts(at.markdown)


# --- the core's codes, worded by the catalogue ---------------------------------------------------------

def english(catalogue="training"):
    import tomllib
    from pathlib import Path

    with (Path(__file__).resolve().parents[1] / "pages" / "locales" / "en" / f"{catalogue}.toml").open("rb") as f:
        return tomllib.load(f)


def test_every_code_the_core_sends_has_words_with_its_values():
    from backprop.training import ConfigError
    from pages import training_runs as words

    T = english()
    bad = dict(dataset="cifar", hidden_sizes=(), activation="tanh", weight_init="glorot", optimizer="LBFGS", lr=0,
               momentum=1.0, decay_rate=2.0, beta1=-1.0, beta2=1.0, batch_size=0, iterations=0, weight_decay=-1.0,
               train_size=-1, seed=-1, dtype="float16")
    with pytest.raises(ConfigError) as err:
        TrainConfig(**bad)
    assert {code for code, _ in err.value.problems} == set(TrainConfig().to_dict())  # every field, at once
    text = words.error_text(T, err.value)
    assert "lr must be a positive number, got 0" in text and "dtype must be 'float32' or 'float64'" in text
    _, problems = live.config_from_query({"learning_rate": "1", "lr": "x", "dataset": "fashion"}, available=[])
    assert [words.problem_text(T, c, v) for c, v in problems] == [
        "lr: cannot read 'x'", "the data set fashion is not on this machine"]
    with pytest.raises(ConfigError) as err:
        TrainConfig.from_dict({"learning_rate": "1"})
    assert words.error_text(T, err.value) == "unknown settings: learning_rate"
    with pytest.raises(ConfigError) as err:
        training.check_live_fields({"optimizer": "Adam"})
    assert words.error_text(T, err.value) == "optimizer cannot change mid-run: start a new run"

    infos = [live.ErrorInfo("dataset_missing", {"source": "full", "status": "not_downloaded", "folder": "/c/mnist",
                                                "file": ""}), live.ErrorInfo("memory"),
             live.ErrorInfo("data_corrupt", {"source": "sample", "status": "corrupt", "folder": "/app/data",
                                             "file": "t10k-labels-idx1-ubyte.gz"}),
             live.ErrorInfo("bug", {"type": "KeyError", "traceback": "Traceback ... KeyError: 'W9'"}),
             live.ErrorInfo("process_ended"), live.ErrorInfo("start_failed"), live.ErrorInfo("run_ended"),
             live.ErrorInfo("config", {"problems": (("lr", {"got": -1.0}),)})]
    W = {"home": english("home"), "data": english("data")}
    said = [words.run_error_text(T, info, W) for info in infos]
    assert said[0] == "full MNIST: not downloaded — run `python -m backprop.datasets download`"
    assert said[2].startswith("bundled sample: damaged — t10k\\-labels\\-idx1\\-ubyte\\.gz in \\/app\\/data is not")
    assert said[2].endswith("Restore it with `git checkout backprop/data` in the app's folder (a git checkout), "
                            "or reinstall Backprop Explorer.")
    assert said[3] == "an internal error in the app (the server's log has the details)"  # no class, no traceback
    assert said[7] == "lr must be a positive number, got -1.0"

    every = tuple(TrainConfig().to_dict())
    for config in (TrainConfig(), TrainConfig(weight_init="he", train_size=300), TrainConfig(weight_init="xavier")):
        assert words.describe(T, config, every)
    assert words.describe(T, TrainConfig(optimizer="Adam", lr=0.001)) == "Adam lr=0.001 50 batch 100"


@pytest.mark.parametrize("code, values, text", [
    ("too_big", {"mb": 70, "max_mb": 67}, "the file is 70 MB; weights files here are at most 67 MB"),
    ("unexpected_entries", {"names": "evil.pkl"}, "unexpected entries in the archive: evil.pkl"),
    ("bad_config", {"problems": ()}, "the config in the file is not valid: it is not a settings text (JSON)"),
    ("mismatch", {"missing": "b2", "extra": "W3", "hidden": (4,)},
     "the arrays do not match its config (4 hidden): missing b2; unexpected W3"),
    ("shape", {"key": "W1", "got": (784, 9), "expected": (784, 8), "hidden": (8,)},
     "W1 has shape (784, 9), expected (784, 8) for hidden sizes 8"),
    ("objects", {"name": "W1"}, "W1 holds Python objects"),
])
def test_refused_weight_files_are_worded(code, values, text):
    from pages import training_runs as words

    assert words.weights_text(english(), live.WeightsError(code, **values)).replace("\\", "").startswith(text)


def test_starting_a_run_at_the_inspect_moment_on_the_projector_shows_one_live_view(pages):
    """Moment 3 on the projector puts the inspector first and the live view further down; a run started (or
    resumed) there is drawn once, not in both places (twice, its canvas key clashed and the page failed)."""
    at = pages({"present": "1", "moment": "3"})
    click(at, "start")
    assert [p.proto.text for p in at.get("progress")] == [progress(at)], [p.proto.text for p in at.get("progress")]
    assert len([c for c in at.get("bidi_component") if c.proto.component_name == "backprop_explorer.live_curves"]) == 1
    lab(at).shutdown()


def test_the_ratio_chart_comes_with_its_toggle_and_the_badges_stay_under_the_curves(pages):
    at = pages()
    click(at, "start")
    deadline = time.time() + 20
    while lab(at).current.iteration < 30 and time.time() < deadline:
        time.sleep(0.05)
    at.run()
    assert not at.get("plotly_chart")  # running: the canvas draws the curves, and no ratio chart unless asked
    assert [m.value for m in at.markdown if "-badge[" in m.value]  # the badges, drawn with the curves
    at.toggle(key="training_show_ratios").set_value(True).run()
    assert not at.exception, at.exception
    (ratio_chart,) = at.get("plotly_chart")
    spec = json.loads(ratio_chart.proto.spec)
    assert spec["layout"]["yaxis"]["type"] == "log" and {t["name"] for t in spec["data"]} >= {"W1", "W2"}
    at.toggle(key="training_show_ratios").set_value(False).run()
    assert not at.get("plotly_chart")
    lab(at).shutdown()
