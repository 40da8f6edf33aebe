"""The layer walk through TwoLayerNet (backprop/walk.py): its tensors are the network's own, its checks agree."""
import numpy as np
import pytest

from backprop.datasets import load_mnist
from backprop.net import TwoLayerNet
from backprop.walk import layer_walk, rows


@pytest.fixture(scope="module")
def mnist():
    (x, t), _ = load_mnist()
    return x, t


@pytest.mark.parametrize("n", [1, 3])
def test_every_step_equals_the_networks_own_forward_and_gradient(mnist, n):
    x, t = mnist[0][:n], mnist[1][:n]
    net = TwoLayerNet(784, 50, 10, weight_init_std=0.1, dtype=np.float64, seed=7)
    walk = layer_walk(net, x, t)
    assert [s.layer for s in walk.steps] == ["", "Affine1", "Relu1", "Affine2", "SoftmaxWithLoss", "SoftmaxWithLoss",
                                             "Affine2", "Relu1", "Affine1", ""]
    known = walk.known(walk.last)
    ref = TwoLayerNet(784, 50, 10, dtype=np.float64)
    for key in ref.params:
        ref.params[key][...] = net.params[key]
    a1 = x @ net.params["W1"] + net.params["b1"]
    np.testing.assert_array_equal(known["a1"], ref.layers["Affine1"].forward(x.astype(np.float64)))
    np.testing.assert_allclose(known["z1"], np.maximum(a1, 0), rtol=1e-12)
    np.testing.assert_allclose(known["a2"], ref.predict(x), rtol=1e-12)
    assert float(known["loss"]) == pytest.approx(ref.loss(x, t), rel=1e-12)
    grads = ref.gradient(x, t)
    for key in ("W1", "b1", "W2", "b2"):
        np.testing.assert_allclose(known[f"d{key}"], grads[key], rtol=1e-12, atol=1e-15, err_msg=key)
    assert known["da2"].shape == (n, 10) and known["dW1"].shape == (784, 50) and known["mask"].dtype == bool
    relu = next(s.k for s in walk.steps if s.rule == "relu_forward")
    assert walk.passed(relu - 1) == 0 and walk.passed(walk.last) == walk.passed(relu) == int((a1 > 0).sum()) > 0
    np.testing.assert_allclose(known["da2"], (ref.last_layer.y - np.eye(10)[t]) / n, rtol=1e-12)
    assert all(c.ok for s in walk.steps for c in s.checks), [c for s in walk.steps for c in s.checks if not c.ok]
    assert {c.kind for s in walk.steps[5:9] for c in s.checks} == {"numerical"}


def test_the_update_lowers_the_loss_and_leaves_the_net_alone(mnist):
    x, t = mnist[0][:2], mnist[1][:2]
    net = TwoLayerNet(784, 50, 10, weight_init_std=0.1, dtype=np.float64, seed=3)
    before = {k: p.copy() for k, p in net.params.items()}
    walk = layer_walk(net, x, t, lr=0.5)
    update = walk.steps[-1].tensors
    assert float(update["loss_after"]) < float(walk.known(4)["loss"])
    np.testing.assert_allclose(update["W2_after"], before["W2"] - 0.5 * walk.known(8)["dW2"], rtol=1e-12)
    assert all(np.array_equal(net.params[k], before[k]) for k in before)  # the caller's weights are untouched


def test_a_wrong_backward_is_caught_by_the_numerical_check(mnist, monkeypatch):
    from backprop.layers import Relu
    monkeypatch.setattr(Relu, "backward", lambda self, dout: dout)  # forgets the mask
    net = TwoLayerNet(784, 50, 10, weight_init_std=0.1, dtype=np.float64, seed=1)
    walk = layer_walk(net, mnist[0][:2], mnist[1][:2])
    verdicts = {c.tensor: c.ok for s in walk.steps for c in s.checks}
    assert not verdicts["da1"] and not verdicts["dW1"] and verdicts["dW2"]


def test_the_shapes_one_hot_labels_and_rows_a_rule_writes(mnist):
    x, t = mnist[0][:3], mnist[1][:3]
    walk = layer_walk(TwoLayerNet(784, 50, 10, dtype=np.float64, seed=1), x, t)
    shapes = walk.shapes(6)
    assert shapes["x"] == (3, 784) and shapes["dW2"] == (50, 10) and shapes["db2"] == (10,) and shapes["loss"] == ()
    assert "dW1" not in shapes and walk.shapes(8)["dW1"] == (784, 50)
    np.testing.assert_array_equal(walk.one_hot, np.eye(10)[t])
    assert walk.one_hot.sum(axis=1).tolist() == [1.0, 1.0, 1.0] and walk.one_hot.argmax(axis=1).tolist() == list(t)
    assert rows(2.5) == [[2.5]] and rows([1, 2]) == [[1.0, 2.0]] and rows([1, 2], transpose=True) == [[1.0], [2.0]]
    assert rows([[1, 2, 3], [4, 5, 6]], transpose=True) == [[1.0, 4.0], [2.0, 5.0], [3.0, 6.0]]

