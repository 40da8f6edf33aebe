"""The training page's state is a link (issue 9) and a link cannot make it misbehave (issue 13): every
knob from the URL, bad values named, sizes held to the knobs' ranges with a warning, echoed values as
plain text; the dead network at lr=10 said so; the clicker's moments. AppTest through app.py."""
import time

import pytest

from backprop import live
from backprop.live import knobs as KU
from test_training_page import click, lab, texts


@pytest.fixture
def pages(training_pages):
    return training_pages


def knobs(at):
    return {name: at.session_state[f"training_{name}"] for name in live.KNOBS}


BOOKMARK = {"dataset": "sample", "hidden_sizes": "20,20,20", "activation": "sigmoid", "weight_init": "xavier",
            "optimizer": "Adam", "lr": "0.002", "beta1": "0.8", "beta2": "0.99", "batch_size": "32",
            "epochs": "3", "weight_decay": "0.001", "train_size": "1000", "seed": "42", "dtype": "float64",
            "preset": "custom", "tab": "confusion"}


def test_every_knob_of_a_bookmark_is_restored_and_the_url_keeps_saying_it(pages):
    at = pages(BOOKMARK)
    assert not at.warning
    assert knobs(at) == {**knobs(at), "layers": 3, "width": 20, "activation": "sigmoid", "init": "xavier",
                         "optimizer": "Adam", "lr": 0.002, "beta1": 0.8, "beta2": 0.99, "batch_size": 32,
                         "unit": "epochs", "length": 3, "weight_decay": 0.001, "train_size": 1000, "seed": 42,
                         "dtype": "float64"}
    assert {k: at.query_params[k] for k in BOOKMARK if k != "dataset"} == {
        k: v for k, v in BOOKMARK.items() if k != "dataset"}  # written back, defaults left out
    at.select_slider(key="training_lr").set_value(0.01).run()  # a knob turned: the URL follows at once
    assert at.query_params["lr"] == "0.01"
    at.selectbox(key="training_optimizer").set_value("SGD").run()
    assert "optimizer" not in at.query_params  # back at its default


def test_garbage_in_every_parameter_is_named_in_a_warning(pages):
    garbage = {name: "x!" for name in KU.URL_FIELDS}
    at = pages(garbage)
    warning = texts(at.warning).replace("\\", "")
    for name in KU.URL_FIELDS:
        assert f"{name}=x!" in warning, name
    assert knobs(at)["lr"] == 0.1 and knobs(at)["batch_size"] == 100  # defaults kept; the page works
    assert not at.exception


def test_sizes_a_link_sets_are_held_to_the_knobs_ranges_with_a_warning(pages):
    at = pages({"batch_size": "1000000", "hidden_sizes": "10000000", "iterations": "5000000",
                "seed": str(2**31)})
    warning = texts(at.warning).replace("\\", "")
    for name in ("batch_size", "hidden_sizes", "iterations", "seed"):
        assert name in warning
    k = knobs(at)
    assert (k["batch_size"], k["width"], k["length"], k["seed"]) == (1000, 1000, 1_000_000, 2**31 - 1)
    at = pages({"hidden_sizes": ",".join(["10"] * 9)})  # nine layers: the first eight kept, said so
    assert knobs(at)["layers"] == 8 and "hidden_sizes" in texts(at.warning).replace("\\", "")
    at = pages({"hidden_sizes": "100000"})
    assert knobs(at)["width"] == 1000 and "using 1000" in texts(at.warning)


def test_a_markdown_link_in_a_value_is_shown_as_text(pages):
    at = pages({"lr": "[click here](http://127.0.0.1:8809/phish)", "tab": "![x](http://127.0.0.1:8809/i.png)"})
    (warning,) = at.warning
    assert "\\[click here\\]\\(" in warning.value and "\\!\\[x\\]" in warning.value  # escaped: no link, no image
    assert "](" not in warning.value.replace("\\]\\(", "")


def test_a_network_that_died_at_lr_10_is_said_so_and_paused(pages):
    at = pages({"lr": "10", "iterations": "3000"})
    click(at, "start")
    deadline = time.time() + 90
    while "stopped learning" not in texts(at.error) and time.time() < deadline:
        time.sleep(0.5)
        at.run()
    error = texts(at.error)
    assert "The network has stopped learning" in error and "dead" in error
    assert "lower learning rate" in error and "He init" in error
    run = lab(at).current
    for _ in range(20):
        if run.state != live.RUNNING:
            break
        time.sleep(0.1)
    assert run.state == live.PAUSED and run.iteration < 3000  # it does not waste the rest of the run
    at.run()
    badges = [m for m in at.markdown if "update/weight 0e+00" in m.value]  # st.badge is a markdown badge
    assert badges and all("will not help" in m.proto.help or "not too low" in m.proto.help for m in badges)
    assert not any("would speed it up" in m.proto.help for m in at.markdown if "update/weight" in m.value)


def test_the_clicker_walks_start_pause_inspect_compare(pages):
    at = pages({"moment": "1"})  # arriving at the first moment starts the chapter 5 run
    run = lab(at).current
    assert run is not None and run.state == live.RUNNING and run.config.lr == 0.1
    at.button(key="chrome_moment_next").click().run()
    assert run.state == live.PAUSED and at.query_params["moment"] == "2"
    at.button(key="chrome_moment_next").click().run()
    assert at.query_params["moment"] == "3" and "Inspect the trained network" in [s.value for s in at.subheader]
    at.button(key="chrome_moment_next").click().run()
    assert at.query_params["moment"] == "4" and at.session_state["training_preset"] == "ch6_optimizers"
    assert lab(at).current.group is not None and lab(at).view()[1] == 3  # SGD runs, 3 more queued
    assert at.button(key="chrome_moment_next").disabled  # the chapter ends here
    at.button(key="chrome_moment_back").click().run()
    assert at.query_params["moment"] == "3" and not at.exception
