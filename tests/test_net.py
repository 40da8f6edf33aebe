"""TwoLayerNet / MultiLayerNet: shared parameters, initial weights, dtypes, accuracy, weight decay,
and backprop against the book's numerical gradient."""
import numpy as np
import pytest

from backprop.gradient import numerical_gradient
from backprop.layers import Relu, Sigmoid
from backprop.net import MultiLayerNet, TwoLayerNet
from backprop.optimizers import OPTIMIZERS, make_optimizer


def toy_data(n=8, d=6, c=4, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)).astype(dtype), rng.integers(0, c, n)


def forward_by_hand(net, x):
    """Scores computed straight from net.params (no layer objects), and every hidden pre-activation."""
    act = {"relu": lambda a: np.maximum(a, 0), "sigmoid": lambda a: 1 / (1 + np.exp(-a))}[net.activation]
    z, pre = x.reshape(len(x), -1), []
    for i in range(1, net.n_layers + 1):
        a = z @ net.params[f"W{i}"] + net.params[f"b{i}"]
        if i < net.n_layers:
            pre.append(a)
            a = act(a)
        z = a
    return z, pre


def rel_error(a, n):
    """max |a - n| / max(|a|, |n|) over one parameter's gradient."""
    return np.abs(a - n).max() / max(np.abs(a).max(), np.abs(n).max())


def numerical_grads(net, x, t):
    """The book's central differences (backprop.gradient.numerical_gradient) of net.loss, per parameter."""
    return {key: numerical_gradient(lambda _: net.loss(x, t), p) for key, p in net.params.items()}


def with_random_biases(net, seed=1):
    """Nonzero biases, so that db and the bias path are really exercised."""
    rng = np.random.default_rng(seed)
    for key, p in net.params.items():
        if key.startswith("b"):
            p += 0.1 * rng.standard_normal(p.shape)
    return net


# --- structure -------------------------------------------------------------------------------------

def test_two_layer_net_params_and_layers():
    net = TwoLayerNet(input_size=784, hidden_size=50, output_size=10, seed=0)
    assert list(net.params) == ["W1", "b1", "W2", "b2"]
    shapes = {k: p.shape for k, p in net.params.items()}
    assert shapes == {"W1": (784, 50), "b1": (50,), "W2": (50, 10), "b2": (10,)}
    assert list(net.layers) == ["Affine1", "Relu1", "Affine2"]
    assert isinstance(net.layers["Relu1"], Relu)
    # the layers hold the very same arrays as params (identity, not equality)
    assert net.layers["Affine1"].W is net.params["W1"] and net.layers["Affine1"].b is net.params["b1"]
    assert net.layers["Affine2"].W is net.params["W2"] and net.layers["Affine2"].b is net.params["b2"]
    np.testing.assert_array_equal(net.params["b1"], 0)
    assert net.n_layers == 2


def test_activation_sigmoid_builds_sigmoid_layers():
    net = MultiLayerNet(6, [5, 4], 3, activation="sigmoid", seed=0)
    assert list(net.layers) == ["Affine1", "Sigmoid1", "Affine2", "Sigmoid2", "Affine3"]
    assert all(isinstance(net.layers[k], Sigmoid) for k in ("Sigmoid1", "Sigmoid2"))
    with pytest.raises(ValueError, match="activation"):
        MultiLayerNet(6, [5], 3, activation="tanh")


def test_same_seed_same_weights():
    a, b, c = (TwoLayerNet(20, 10, 3, seed=s) for s in (7, 7, 8))
    assert all(np.array_equal(a.params[k], b.params[k]) for k in a.params)
    assert not np.array_equal(a.params["W1"], c.params["W1"])


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_layers_still_share_params_after_every_optimizer(name):
    """The book's design breaks silently if an optimizer rebinds params[key]: the layers would keep the old array."""
    net = with_random_biases(TwoLayerNet(6, 5, 4, weight_init_std=0.5, seed=0))
    originals = dict(net.params)
    before = {k: p.copy() for k, p in net.params.items()}
    x, t = toy_data()
    opt = make_optimizer(name, lr=0.1)
    for _ in range(3):
        opt.update(net.params, net.gradient(x, t))
    for key, p in net.params.items():
        assert p is originals[key]
        assert not np.array_equal(p, before[key]), key
    assert net.layers["Affine1"].W is net.params["W1"] and net.layers["Affine2"].b is net.params["b2"]
    # ... so predict sees the updated weights
    np.testing.assert_allclose(net.predict(x), forward_by_hand(net, x)[0], rtol=1e-12)


# --- initial weights ---------------------------------------------------------------------------------

@pytest.mark.parametrize("init, expected", [
    (0.01, lambda n: 0.01),
    (0.5, lambda n: 0.5),
    ("xavier", lambda n: np.sqrt(1 / n)),
    ("he", lambda n: np.sqrt(2 / n)),
])
def test_weight_init_std(init, expected):
    net = MultiLayerNet(400, [300], 200, weight_init_std=init, seed=0)
    for key, n_in in (("W1", 400), ("W2", 300)):
        w = net.params[key]
        # 120,000 and 60,000 samples: the empirical std's standard error is about 0.3%
        assert w.std() == pytest.approx(expected(n_in), rel=0.02), key
        assert abs(w.mean()) < 0.02 * expected(n_in)
    assert all(np.array_equal(net.params[b], np.zeros_like(net.params[b])) for b in ("b1", "b2"))


def test_weight_init_bad_name():
    with pytest.raises(ValueError, match="weight init"):
        TwoLayerNet(4, 3, 2, weight_init_std="glorot")


# --- dtypes ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("target", ["labels", "labels uint8", "one-hot float32", "one-hot float64", "one-hot int"])
def test_float32_stays_float32(target):
    net = with_random_biases(MultiLayerNet(6, [5, 4], 3, dtype=np.float32, seed=0, weight_decay_lambda=0.1))
    x, t = toy_data(d=6, c=3, dtype=np.float32)
    t = {"labels": t, "labels uint8": t.astype(np.uint8), "one-hot float32": np.eye(3, dtype=np.float32)[t],
         "one-hot float64": np.eye(3)[t], "one-hot int": np.eye(3, dtype=np.int64)[t]}[target]
    assert all(p.dtype == np.float32 for p in net.params.values())
    assert net.predict(x).dtype == np.float32
    loss, grads = net.loss_and_gradient(x, t)
    assert np.isfinite(loss)
    assert {k: g.dtype for k, g in grads.items()} == {k: np.dtype(np.float32) for k in net.params}
    make_optimizer("Adam").update(net.params, grads)
    assert all(p.dtype == np.float32 for p in net.params.values())


def test_float32_and_float64_nets_agree():
    x, t = toy_data(d=6, c=3)
    n64 = with_random_biases(MultiLayerNet(6, [5], 3, weight_init_std=0.5, seed=0))
    n32 = with_random_biases(MultiLayerNet(6, [5], 3, weight_init_std=0.5, seed=0, dtype=np.float32))
    assert n32.loss(x.astype(np.float32), t) == pytest.approx(n64.loss(x, t), rel=1e-5)
    g32, g64 = n32.gradient(x.astype(np.float32), t), n64.gradient(x, t)
    for key in g64:
        assert rel_error(g32[key], g64[key]) < 1e-5


# --- accuracy ----------------------------------------------------------------------------------------

def test_accuracy_with_labels_and_one_hot():
    net = with_random_biases(TwoLayerNet(6, 8, 4, weight_init_std=1.0, seed=3))
    x, t = toy_data(n=50, d=6, c=4, seed=4)
    expected = np.mean(np.argmax(forward_by_hand(net, x)[0], axis=1) == t)
    assert 0 < expected < 1  # a test that could fail either way
    assert net.accuracy(x, t) == pytest.approx(expected)
    assert net.accuracy(x, np.eye(4)[t]) == pytest.approx(expected)
    assert net.accuracy(x, t.astype(np.uint8)) == pytest.approx(expected)
    assert net.accuracy(x, t, batch_size=7) == pytest.approx(expected)  # chunks, the last one short


def test_nd_input_equals_flattened_input():
    """Images as (N, 1, 4, 4) go through the first Affine as (N, 16)."""
    net = with_random_biases(MultiLayerNet(16, [5], 3, weight_init_std=0.5, seed=0))
    x, t = toy_data(n=4, d=16, c=3)
    images = x.reshape(4, 1, 4, 4)
    np.testing.assert_array_equal(net.predict(images), net.predict(x))
    assert net.loss(images, t) == net.loss(x, t)
    g_img, g_flat = net.gradient(images, t), net.gradient(x, t)
    assert all(np.array_equal(g_img[k], g_flat[k]) for k in g_flat)
    assert net.accuracy(images, t) == net.accuracy(x, t)


# --- backprop against numerical gradients (float64) ---------------------------------------------------

def assert_backprop_matches_numerical(net, x, t, tol=1e-7):
    if net.activation == "relu":
        # central differences with h = 1e-4 straddle ReLU's kink if a pre-activation is within h of 0:
        # these seeds keep every one at least 1e-3 away, so all entries must agree
        assert min(np.abs(a).min() for a in forward_by_hand(net, x)[1]) > 1e-3
    grads = net.gradient(x, t)
    numerical = numerical_grads(net, x, t)
    for key in net.params:
        assert grads[key].shape == net.params[key].shape
        assert rel_error(grads[key], numerical[key]) < tol, key


@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
@pytest.mark.parametrize("hidden", [[6], [6, 5], [5, 4, 3]])
def test_backprop_equals_numerical_gradient(hidden, activation):
    net = with_random_biases(MultiLayerNet(7, hidden, 4, weight_init_std="he", activation=activation, seed=1))
    x, t = toy_data(n=5, d=7, c=4, seed=3)
    assert_backprop_matches_numerical(net, x, t)


def test_backprop_equals_numerical_gradient_batch_of_one_and_one_hot():
    net = with_random_biases(MultiLayerNet(5, [4, 4], 3, weight_init_std="he", seed=3))
    x, t = toy_data(n=1, d=5, c=3, seed=5)
    assert_backprop_matches_numerical(net, x, t)
    assert_backprop_matches_numerical(net, x, np.eye(3)[t])


def test_net_numerical_gradient_is_the_books_api():
    net = with_random_biases(TwoLayerNet(5, 4, 3, weight_init_std=0.5, seed=0))
    x, t = toy_data(n=3, d=5, c=3)
    before = {k: p.copy() for k, p in net.params.items()}
    ng = net.numerical_gradient(x, t)
    expected = numerical_grads(net, x, t)
    assert all(np.array_equal(ng[k], expected[k]) for k in expected)
    assert all(np.array_equal(net.params[k], before[k]) for k in before)  # every perturbed entry restored


# --- weight decay ------------------------------------------------------------------------------------

def test_weight_decay_loss_and_gradient():
    lam = 0.3
    x, t = toy_data(n=6, d=7, c=4)
    plain = with_random_biases(MultiLayerNet(7, [6, 5], 4, weight_init_std=0.5, seed=0))
    decayed = with_random_biases(MultiLayerNet(7, [6, 5], 4, weight_init_std=0.5, seed=0, weight_decay_lambda=lam))
    penalty = 0.5 * lam * sum(np.sum(decayed.params[f"W{i}"] ** 2) for i in (1, 2, 3))  # biases are not decayed
    assert decayed.loss(x, t) == pytest.approx(plain.loss(x, t) + penalty, rel=1e-14)
    g_plain, g_decay = plain.gradient(x, t), decayed.gradient(x, t)
    for key in g_plain:
        extra = lam * decayed.params[key] if key.startswith("W") else 0.0
        np.testing.assert_allclose(g_decay[key], g_plain[key] + extra, rtol=1e-13, atol=1e-16)
    assert_backprop_matches_numerical(decayed, x, t)


# --- copies -----------------------------------------------------------------------------------------

def test_copy_is_independent_and_can_change_dtype():
    net = with_random_biases(MultiLayerNet(6, [5, 4], 3, activation="sigmoid", weight_init_std=0.5, seed=0,
                                           weight_decay_lambda=0.1))
    x, t = np.random.default_rng(1).normal(size=(4, 6)), np.array([0, 2, 1, 2])
    twin = net.copy()
    assert (twin.sizes, twin.activation, twin.weight_decay_lambda, twin.dtype) == (
        net.sizes, "sigmoid", 0.1, np.float64)
    assert twin.loss(x, t) == net.loss(x, t)
    twin.params["W1"] += 1.0  # in place: the twin's layers see it, the original does not
    assert twin.loss(x, t) != net.loss(x, t) and not np.shares_memory(twin.params["W1"], net.params["W1"])
    low = net.copy(np.float32)
    assert all(p.dtype == np.float32 for p in low.params.values())
    np.testing.assert_allclose(low.loss(x.astype(np.float32), t), net.loss(x, t), rtol=1e-5)


def test_accuracy_of_uint8_pixels_scaled_chunk_by_chunk():
    net = MultiLayerNet(6, [5], 3, weight_init_std=0.5, seed=0, dtype=np.float32)
    pixels = np.random.default_rng(2).integers(0, 256, size=(25, 6), dtype=np.uint8)
    t = np.random.default_rng(3).integers(0, 3, size=25)
    scaled = pixels.astype(np.float32) * np.float32(1 / 255)
    expected = int(np.sum(net.predict(scaled).argmax(axis=1) == t))
    assert net.count_correct(pixels, t, batch_size=7, scale=1 / 255) == expected
    assert net.accuracy(pixels, t, batch_size=7, scale=1 / 255) == expected / 25 == net.accuracy(scaled, t)
