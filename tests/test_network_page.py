"""The /network page under AppTest: every step of the layer walk, its shapes and checks, the tiny net, the URL."""
import re

from backprop import network_state as S
from conftest import open_page

LAYERS = ["Affine1", "Relu1", "Affine2", "SoftmaxWithLoss", "SoftmaxWithLoss.backward", "Affine2.backward",
          "Relu1.backward", "Affine1.backward"]


def network(**params):
    at = open_page("pages/network.py", params, timeout=60)
    assert not at.exception, at.exception
    return at


def where(at):
    return next(m.value for m in at.markdown if m.value.startswith(("####", "### ")))


def body(at):
    return " ".join(m.value for m in at.markdown) + " " + " ".join(l.value for l in at.latex)


def test_stepping_to_the_end_shows_every_layer_its_shapes_code_and_check():
    at = network(n="3")
    assert where(at).startswith("#### Start") and r"\underset{(3,\,784)}{X}" in at.latex[0].value
    for k, layer in enumerate(LAYERS, start=1):
        at.button(key="net_next").click().run()
        assert not at.exception, at.exception
        assert f"`{layer}`" in where(at), (k, where(at))
        assert at.query_params["step"] == str(k)
        text = body(at)
        assert "agree" in text and "disagree" not in text, (layer, text)
        kind, method = layer.split(".") if "." in layer else (layer, "forward")
        assert f"def {method}(self" in at.code[0].value, layer
    shapes = " ".join(l.value for l in at.latex)
    assert r"\underset{(784,\,50)}{\frac{\partial L}{\partial W_1}}" in shapes
    assert r"\underset{(784,\,3)}{X^{\top}}" in shapes and r"\underset{(3,\,50)}{\frac{\partial L}{\partial a_1}}" in shapes
    at.button(key="net_next").click().run()
    assert where(at).startswith("#### One update")
    before, after = (float(m.value) for m in at.metric)
    assert after < before  # one step downhill on these images
    assert "Gradient check" in at.button(key="net_next").help  # Next after the update walks on
    assert at.get("page_link")[-1].proto.page == "gradient_check"


def test_a_backward_step_shows_the_rule_with_the_actual_n():
    at = network(n="2", step="6")
    shapes = " ".join(l.value for l in at.latex)
    assert r"\underset{(50,\,2)}{z_1^{\top}}" in shapes and r"\sum_{n=1}^{2}" in shapes
    assert "dW = Xᵀ · dY" in body(at) and "N = 2" in body(at)
    assert "class Affine:" in at.code[0].value and "self.dW = self.x.T @ dout" in at.code[0].value
    assert len(at.get("plotly_chart")) == 4  # the strip, dW2, db2 and dz1


def test_the_tiny_net_is_a_scalar_graph_whose_numbers_are_its_matrices():
    at = network(net="tiny", step="8")
    fig = at.get("plotly_chart")[1].proto.spec
    assert "x₁" in fig and "Σ -0.235" in fig  # the input's gradient, summed over its three wires
    latex = " ".join(l.value for l in at.latex)
    assert r"\frac{\partial L}{\partial W_1} = \begin{bmatrix}1 \\ 0.5\end{bmatrix}" in latex
    assert "-0.647 & 0.647 & 0.353" in latex  # dW1's first row: x₁ times the hidden units' upstream
    assert at.query_params["net"] == "tiny" and at.query_params["step"] == "8"


# What the tiny net's explanation says at each step 0..9 (its own words: one sample of 2 numbers, 2 scores,
# lanes), and what only the full net's says (images, pixels, 784 or 10 numbers, crossed-out cells, 50 images).
TINY_WORDS = ["one sample", "× node", "3 of 3 pass", "× node", "2 scores", "N = 1 for one sample", "node by node",
              "3 of 3 pass", "one layer down", "same sample"]
FULL_NET_WORDS = ("28×28", "784", "10 scores", "crossed out", "50 images", "pixel", "image(s)", "images")


def all_text(at):
    return " ".join(m.value for m in at.markdown)


def test_the_tiny_net_walks_from_start_to_end_in_its_own_words():
    at = network(net="tiny")
    assert "TwoLayerNet** made tiny" in all_text(at) and "MNIST" not in all_text(at)
    for k in range(S.N_STEPS + 1):
        if k:
            at.button(key="net_next").click().run()
            assert not at.exception, at.exception
        assert at.query_params["step"] == str(k) and at.query_params["net"] == "tiny"
        text = all_text(at)
        assert TINY_WORDS[k] in text, (k, text)
        assert not [w for w in FULL_NET_WORDS if w in text], (k, [w for w in FULL_NET_WORDS if w in text])
        latex = [line.value for line in at.latex]
        if 1 <= k <= 8:  # the same step with its numbers under the drawing, the rule with its shapes beside it
            assert r"\begin{bmatrix}" in latex[0] and any(r"\underset" in line for line in latex[1:]), (k, latex)
        assert len(at.get("plotly_chart")) == 2, k  # the strip and the drawing, at every step
    assert where(at).startswith("#### One update")
    before, after = (float(m.value) for m in at.metric)
    assert after < before
    relu = network(net="tiny", step="2").latex[0].value.strip("$\n")
    assert relu == r"z_1 = \max\left(0,\ \begin{bmatrix}0.3 & 0.15 & 0.7\end{bmatrix}\right) = " \
                   r"\begin{bmatrix}0.3 & 0.15 & 0.7\end{bmatrix}"


def test_the_tiny_nets_own_words_in_japanese_and_chinese():
    for lang, start, relu in (("ja", "1つのサンプル", "3 個のうち 3 個"), ("zh", "一个样本", "3 个中有 3 个")):
        assert start in all_text(network(net="tiny", step="0", lang=lang)), lang
        assert relu in all_text(network(net="tiny", step="2", lang=lang)), lang


def test_the_link_restores_a_moment_and_bad_values_are_named():
    at = network(n="2", digit="3", step="4", lr="0.5")
    assert at.session_state.net_setup == S.NetSetup(n=2, digit=3, step=4, lr=0.5)
    assert "label 3" not in body(at) and where(at).startswith("#### Forward 4 of 4")
    assert dict(at.query_params) == {"n": "2", "digit": "3", "step": "4", "lr": "0.5"}
    bad = network(n="99", weights="magic", step="x", lr="-1")
    warning = bad.warning[0].value
    for words in ("`n=99`", "`weights=magic`", "`step=x`", "`lr=-1`"):
        assert words in warning, words
    assert where(bad).startswith("#### Start")
    bad.button(key="net_next").click().run()
    assert not bad.warning


def test_changing_the_images_starts_over_and_the_lr_keeps_the_step():
    at = network(step="5")
    at.slider(key="net_n").set_value(4).run()
    assert at.session_state.net_setup.step == 0 and at.query_params["n"] == "4"
    at.button(key="net_end").click().run()
    at.number_input(key="net_lr").set_value(0.3).run()
    assert at.session_state.net_setup.step == 9 and at.query_params["lr"] == "0.3"


def test_trained_weights_come_from_the_trainer(monkeypatch):
    monkeypatch.setattr(S, "TRAIN_STEPS", 100)  # the page's 500, shortened: same path, fewer mini-batches
    at = network(weights="trained", seed="5", step="4")
    assert not at.exception
    caption = next(c.value for c in at.caption if "Trained for" in c.value)
    accuracy = float(re.search(r"([\d.]+)% of the 10,000", caption).group(1))
    assert accuracy > 50  # fresh weights get about 10%


def test_presentation_mode_folds_the_setup_and_the_code():
    at = network(present="1", step="2")
    assert where(at).startswith("### Forward 2 of 4 · `Relu1`")
    assert [e.label for e in at.expander] == ["Backprop against numerical gradients", "Network and images",
                                            "The code that ran"]


def test_the_chapter_walks_on_at_both_ends_and_moment_last_opens_the_update():
    at = network(moment="last", present="1")
    assert at.session_state.net_setup.step == S.N_STEPS and "moment" not in at.query_params
    assert [e.label for e in at.expander][0] == "Backprop against numerical gradients"  # checks fold below
    at.button(key="net_next").click().run()  # after the update: /gradient_check at its first moment
    assert not at.exception
    assert at.query_params.get("moment") == "1" and at.query_params.get("present") == "1"
    assert "step" not in at.query_params


def test_bad_long_or_non_ascii_values_are_named_not_an_exception():
    for raw in ("²", "7" * 5000):
        at = network(step=raw)
        assert "`step=" in at.warning[0].value and len(at.warning[0].value) < 300
