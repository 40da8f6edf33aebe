"""backprop.gradient: the book's numerical_gradient loop and fast_numerical_gradient, which must equal it.
Real MNIST images where the book uses them (3 bundled images)."""
import numpy as np
import pytest

from backprop.datasets import load_dataset
from backprop.gradient import fast_numerical_gradient, numerical_gradient
from backprop.net import MultiLayerNet, TwoLayerNet

EPS = np.finfo(np.float64).eps


@pytest.fixture(scope="module")
def mnist3():
    """The book's gradient check input: 3 MNIST images (bundled sample), pixels in [0, 1], integer labels."""
    data = load_dataset("sample")
    return data.x_train[:3].reshape(3, -1) / 255.0, data.t_train[:3].astype(np.intp)


# --- numerical_gradient: the book's loop ----------------------------------------------------------

def test_numerical_gradient_is_a_central_difference_with_h_1e_4():
    # For x^3 the central difference is exactly 3x^2 + h^2; a forward difference would add 3xh.
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    g = numerical_gradient(lambda v: float(np.sum(v ** 3)), x)
    np.testing.assert_allclose(g, 3 * x ** 2 + 1e-8, rtol=1e-7)
    assert g.shape == x.shape and g.dtype == np.float64


def test_numerical_gradient_restores_every_entry_and_perturbs_one_at_a_time():
    x = np.random.default_rng(0).standard_normal((3, 4))
    original = x.copy()
    changed = []

    def f(v):
        changed.append(int(np.sum(v != original)))
        return float(np.sum(np.sin(v)))

    g = numerical_gradient(f, x)
    assert np.array_equal(x, original)  # bit for bit
    assert changed == [1] * (2 * x.size)  # exactly one entry moved per evaluation, twice per entry
    np.testing.assert_allclose(g, np.cos(x), rtol=1e-7)


def test_numerical_gradient_divides_float32_by_the_step_actually_stored():
    # float32 cannot store 300 +- 1e-4 exactly: the stored step is 1.83e-4, not 2e-4 (at 1000: 2.44e-4).
    x = np.array([1.0, 300.0, 1000.0], dtype=np.float32)
    f = lambda v: float(np.sum(v.astype(np.float64) ** 2))  # noqa: E731 - evaluated in float64
    g = numerical_gradient(f, x)
    np.testing.assert_allclose(g, 2 * x.astype(np.float64), rtol=1e-6)
    assert x.tolist() == [1.0, 300.0, 1000.0]
    # Dividing by 2h instead would be off by the rounding of the step: 8% at 300, 22% at 1000.
    for v in (300.0, 1000.0):
        up, down = np.float32(v) + np.float32(1e-4), np.float32(v) - np.float32(1e-4)
        assert abs((float(up) ** 2 - float(down) ** 2) / 2e-4 / (2 * v) - 1) > 0.05


def test_numerical_gradient_gives_nan_where_h_is_below_the_dtype_resolution():
    x = np.array([1.0, 0.0], dtype=np.float32)
    g = numerical_gradient(lambda v: float(np.sum(v.astype(np.float64) ** 2)), x, h=1e-12)
    assert np.isnan(g[0])  # 1 + 1e-12 rounds to 1 in float32: no step, no value (not a ZeroDivisionError)
    assert g[1] == 0.0  # 0 +- 1e-12 is representable: a true step, f'(0) = 0
    assert x.tolist() == [1.0, 0.0]


# --- the fast numerical gradient equals the book's loop -------------------------------------------

@pytest.mark.parametrize("sizes, activation, n, decay", [
    ((30, [8], 5), "relu", 4, 0.0),
    ((30, [8], 5), "sigmoid", 1, 0.0),
    ((20, [9, 7], 4), "relu", 3, 0.1),
    ((20, [9, 7], 4), "sigmoid", 5, 0.0),
    ((12, [16], 3), "relu", 2, 0.0),
])
def test_fast_numerical_gradient_equals_the_loop(sizes, activation, n, decay):
    rng = np.random.default_rng(1)
    net = MultiLayerNet(*sizes, weight_init_std=0.3, activation=activation, weight_decay_lambda=decay, seed=2)
    x, t = rng.random((n, sizes[0])), rng.integers(0, sizes[2], n)
    fast = fast_numerical_gradient(net, x, t)
    f = net.loss(x, t)
    before = {k: p.copy() for k, p in net.params.items()}
    for key, p in net.params.items():
        loop = numerical_gradient(lambda _: net.loss(x, t), p).reshape(-1)
        values, kinks = fast[key]
        # 1e-9 relative, plus the loop's own round-off: f(w+h) - f(w-h) loses ~eps*|f| per evaluation.
        bound = 1e-9 * np.abs(loop) + 4 * EPS * abs(f) / 2e-4
        assert np.all(np.abs(values - loop) <= bound), key
        assert kinks.shape == values.shape
    assert all(np.array_equal(before[k], net.params[k]) for k in before)  # fast touches nothing


def test_fast_numerical_gradient_on_mnist_equals_the_loop_per_entry(mnist3):
    x, t = mnist3
    net = TwoLayerNet(784, 50, 10, seed=0)
    idx = {"W1": np.arange(0, 39200, 97), "b1": np.arange(50), "W2": np.arange(500), "b2": np.arange(10)}
    fast = fast_numerical_gradient(net, x, t, indices=idx)
    f = net.loss(x, t)
    for key, flat in idx.items():
        loop = numerical_gradient(lambda _: net.loss(x, t), net.params[key], indices=flat).reshape(-1)[flat]
        assert np.all(np.abs(fast[key][0] - loop) <= 1e-9 * np.abs(loop) + 4 * EPS * f / 2e-4), key
