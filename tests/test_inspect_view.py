"""pages/training_inspect.render under AppTest: the hint without a net, every tab with a trained one."""
import numpy as np
import pytest
from streamlit.testing.v1 import AppTest
from threadpoolctl import threadpool_limits

from backprop.datasets import load_dataset
from backprop.training import TrainConfig, Trainer


def section(net, x_test, t_test, class_names):
    from pages import training_inspect

    training_inspect.render(net, x_test, t_test, class_names)


@pytest.fixture(scope="module")
def data():
    return load_dataset("sample")


@pytest.fixture(scope="module")
def net(data):
    tr = Trainer(TrainConfig(iterations=300), data)
    with threadpool_limits(1):
        for _ in range(300):
            tr.step()
    return tr.net


def _app(net, data, class_names=None, present=False):
    at = AppTest.from_function(section, args=(net, data.x_test, data.t_test, class_names or data.class_names),
                               default_timeout=30)
    if present:
        at.query_params["present"] = "1"
    return at.run()


def _open(at, tab):
    at.session_state["insp_tab"] = tab
    return at.run()


def test_without_a_net_shows_the_hint(data):
    at = _app(None, data)
    assert not at.exception
    assert "Start or step a training run" in at.info[0].value
    assert len(at.tabs) == 0


def test_tabs_and_the_weights_view(net, data):
    at = _app(net, data)
    assert not at.exception, at.exception
    assert [t.label for t in at.tabs] == ["First-layer weights", "Predictions", "Confusion matrix", "Mistakes",
                                          "Draw a digit"]
    assert at.slider(key="insp_units").value == 50  # all 50 hidden units of the book's net
    assert len(at.get("plotly_chart")) == 1


def test_confusion_matrix_tab_names_the_accuracy(net, data):
    at = _open(_app(net, data), "Confusion matrix")
    assert not at.exception, at.exception
    charts = at.get("plotly_chart")
    assert len(charts) == 1  # only the open tab is drawn
    spec = charts[0].proto.spec
    assert '"type":"heatmap"' in spec.replace(" ", "") and "Accuracy" in spec and "on 10,000 test images" in spec
    assert "Most often confused" in " ".join(m.value for m in at.markdown)
    assert "insp_cache" in at.session_state  # predictions kept for the next rerun


def test_predictions_tab_browses_with_the_slider(net, data):
    at = _open(_app(net, data), "Predictions")
    assert not at.exception, at.exception
    at.slider(key="insp_start").set_value(100).run()
    assert "Test images #100–#107 of 10,000" in at.caption[0].value


def test_clicking_a_mistake_shows_its_probabilities(net, data):
    at = _open(_app(net, data), "Mistakes")
    assert not at.exception, at.exception
    buttons = [b for b in at.button if b.key and b.key.startswith("insp_m")]
    assert len(buttons) == 18
    third = buttons[2]
    index = int(third.key.removeprefix("insp_m"))
    third.click().run()
    assert at.session_state["insp_mistake"] == index
    assert f"Test image #{index}: true **{data.class_names[data.t_test[index]]}**" in " ".join(
        m.value for m in at.markdown)


def test_mistakes_filter_by_class_and_page(net, data):
    at = _open(_app(net, data), "Mistakes")
    at.number_input(key="insp_mpage").set_value(3).run()
    at.selectbox(key="insp_mclass").set_value(5).run()  # fewer pages for one class: back to page 1
    assert not at.exception, at.exception
    pages = [w for w in at.number_input if w.key == "insp_mpage"]
    assert not pages or pages[0].value == 1
    shown = [int(b.key.removeprefix("insp_m")) for b in at.button if b.key.startswith("insp_m")]
    assert shown and all(data.t_test[i] == 5 for i in shown)
    assert f"Test image #{shown[0]}: true **5**" in " ".join(m.value for m in at.markdown)  # detail follows


def test_draw_tab_waits_for_a_drawing_and_warns_about_fashion(net, data):
    at = _open(_app(net, data), "Draw a digit")
    assert not at.exception, at.exception
    assert "Draw a digit in the box" in at.info[0].value
    fashion = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
               "Ankle boot")
    at = _open(_app(net, data, class_names=fashion), "Draw a digit")
    assert "makes sense mainly for MNIST" in at.info[0].value


def _draw(at, payload):
    """What the canvas component does when a stroke ends: set its "image" state, which reruns the app."""
    at.session_state["insp_canvas"] = {"image": payload}
    return at.run()


def test_a_drawing_gets_an_answer_and_bad_messages_are_refused(net, data):
    at = _open(_app(net, data), "Draw a digit")
    ink = np.zeros((56, 56), dtype=int)
    ink[8:48, 20:25] = 255  # one upright stroke, off-centre: a "1"
    at = _draw(at, {"width": 56, "height": 56, "ink": ink.ravel().tolist()})
    assert not at.exception, at.exception
    assert [m.value for m in at.metric] == ["1"]
    assert "sure" in " ".join(m.value for m in at.markdown)
    assert len(at.get("plotly_chart")) == 2  # the 28x28 the net sees, and the probabilities

    at = _draw(at, {"width": 56, "height": 56, "ink": [0] * 3136})
    assert "The canvas is empty" in at.info[0].value and len(at.metric) == 0
    at = _draw(at, {"width": 56, "height": 56, "ink": ["__import__('os')"] * 3136})
    assert "could not be read (a drawing must hold real numbers" in at.error[0].value
    assert not at.exception


def test_presentation_mode_has_fewer_controls(net, data):
    at = _app(net, data, present=True)
    assert not at.exception, at.exception
    assert len(at.slider) == 0  # no "hidden units shown" knob on a projector
    at = _open(at, "Mistakes")
    assert len(at.selectbox) == 0 and len([b for b in at.button if b.key.startswith("insp_m")]) == 8
