"""Optimizers of chapter 6: the book's defaults, first steps by hand, state on first use, in-place updates."""
import numpy as np
import pytest

from backprop.optimizers import OPTIMIZERS, SGD, AdaGrad, Adam, Momentum, Nesterov, RMSprop, make_optimizer

W0 = np.array([1.0, -2.0, 3.0])
G1 = np.array([0.5, -1.0, 2.0])
G2 = np.array([-0.25, 0.75, 1.5])
STATE = {"SGD": (), "Momentum": ("v",), "Nesterov": ("v",), "AdaGrad": ("h",), "RMSprop": ("h",), "Adam": ("m", "v")}


def test_the_books_defaults():
    assert SGD().lr == 0.01
    assert (Momentum().lr, Momentum().momentum) == (0.01, 0.9)
    assert (Nesterov().lr, Nesterov().momentum) == (0.01, 0.9)
    assert AdaGrad().lr == 0.01
    assert (RMSprop().lr, RMSprop().decay_rate) == (0.01, 0.99)
    adam = Adam()
    assert (adam.lr, adam.beta1, adam.beta2, adam.iter) == (0.001, 0.9, 0.999, 0)


def steps(name, *grads, **kwargs):
    """Params after updating a fresh optimizer with each gradient in turn, from W0."""
    opt = make_optimizer(name, **kwargs)
    params = {"w": W0.copy()}
    for g in grads:
        opt.update(params, {"w": g.copy()})
    return params["w"]


def test_first_steps_by_hand():
    lr, m = 0.01, 0.9
    # SGD: W -= lr * g
    np.testing.assert_allclose(steps("SGD", G1), W0 - lr * G1, rtol=1e-15)
    np.testing.assert_allclose(steps("SGD", G1, G2), W0 - lr * G1 - lr * G2, rtol=1e-15)
    # Momentum: v = m v - lr g; W += v
    v1 = -lr * G1
    v2 = m * v1 - lr * G2
    np.testing.assert_allclose(steps("Momentum", G1), W0 + v1, rtol=1e-15)
    np.testing.assert_allclose(steps("Momentum", G1, G2), W0 + v1 + v2, rtol=1e-15)
    # Nesterov, Bengio et al. 2012 eq. 7: W += m^2 v_old - (1 + m) lr g, then v = m v_old - lr g.
    # (The book's code would give W0 - (1 + m + m^2) lr G1 for the first step.)
    w1 = W0 - (1 + m) * lr * G1
    np.testing.assert_allclose(steps("Nesterov", G1), w1, rtol=1e-15)
    np.testing.assert_allclose(steps("Nesterov", G1, G2), w1 + m * m * v1 - (1 + m) * lr * G2, rtol=1e-15)
    # AdaGrad: h += g^2; W -= lr g / (sqrt(h) + 1e-7)
    np.testing.assert_allclose(steps("AdaGrad", G1), W0 - lr * G1 / (np.abs(G1) + 1e-7), rtol=1e-15)
    h2 = G1**2 + G2**2
    np.testing.assert_allclose(steps("AdaGrad", G1, G2),
                               W0 - lr * G1 / (np.abs(G1) + 1e-7) - lr * G2 / (np.sqrt(h2) + 1e-7), rtol=1e-14)
    # RMSprop: h = 0.99 h + 0.01 g^2; W -= lr g / (sqrt(h) + 1e-7)
    np.testing.assert_allclose(steps("RMSprop", G1), W0 - lr * G1 / (np.sqrt(0.01 * G1**2) + 1e-7), rtol=1e-14)


def test_adam_first_steps_by_hand():
    lr, b1, b2 = 0.001, 0.9, 0.999
    m1, v1 = (1 - b1) * G1, (1 - b2) * G1**2
    w1 = W0 - lr * np.sqrt(1 - b2) / (1 - b1) * m1 / (np.sqrt(v1) + 1e-7)
    np.testing.assert_allclose(steps("Adam", G1), w1, rtol=1e-14)
    # the first Adam step moves every weight by about lr, whatever the gradient's size
    np.testing.assert_allclose(W0 - w1, lr * np.sign(G1), rtol=1e-4)
    m2, v2 = b1 * m1 + (1 - b1) * G2, b2 * v1 + (1 - b2) * G2**2
    w2 = w1 - lr * np.sqrt(1 - b2**2) / (1 - b1**2) * m2 / (np.sqrt(v2) + 1e-7)
    np.testing.assert_allclose(steps("Adam", G1, G2), w2, rtol=1e-13)


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_state_on_first_use_and_updates_in_place(name):
    opt = make_optimizer(name)
    for attr in STATE[name]:
        assert getattr(opt, attr) is None  # nothing before the first update: params are not known yet
    params = {"W": np.ones((3, 2)), "b": np.zeros(2)}
    originals = dict(params)
    grads = {"W": np.full((3, 2), 0.5), "b": np.array([1.0, -1.0])}
    grads_before = {k: g.copy() for k, g in grads.items()}
    opt.update(params, grads)
    for key in params:
        assert params[key] is originals[key]  # updated in place, never rebound
    assert not np.array_equal(params["W"], np.ones((3, 2)))
    for attr in STATE[name]:
        state = getattr(opt, attr)
        assert set(state) == {"W", "b"}
        assert all(state[k].shape == params[k].shape for k in params)
    for key in grads:  # gradients are read, never written
        np.testing.assert_array_equal(grads[key], grads_before[key])


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_float32_params_stay_float32_and_in_place(name):
    params = {"W": np.ones((4, 3), dtype=np.float32)}
    W = params["W"]
    opt = make_optimizer(name)
    for _ in range(3):
        opt.update(params, {"W": np.full((4, 3), 0.1, dtype=np.float32)})
    assert params["W"] is W and W.dtype == np.float32
    for attr in STATE[name]:
        assert getattr(opt, attr)["W"].dtype == np.float32


# lr per optimizer, so that each gets close within 200 steps on f(w) = sum((w - 3)^2) (curvature 2)
QUADRATIC_LR = {"SGD": 0.1, "Momentum": 0.05, "Nesterov": 0.05, "AdaGrad": 1.0, "RMSprop": 0.05, "Adam": 0.1}


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_each_optimizer_minimizes_a_quadratic(name):
    def f(w):
        return float(np.sum((w - 3.0) ** 2))

    params = {"w": np.array([0.0, -1.0, 5.0, 10.0])}
    opt = make_optimizer(name, lr=QUADRATIC_LR[name])
    start = f(params["w"])
    for _ in range(200):
        opt.update(params, {"w": 2 * (params["w"] - 3.0)})
    assert f(params["w"]) < 1e-2 * start


def test_each_optimizer_with_its_defaults_goes_downhill():
    """The book's own defaults (small for this toy problem) reduce f at once and after 20 steps."""
    for name in OPTIMIZERS:
        params = {"w": np.array([0.0, 6.0])}
        opt = make_optimizer(name)
        values = []
        for _ in range(20):
            values.append(float(np.sum((params["w"] - 3.0) ** 2)))
            opt.update(params, {"w": 2 * (params["w"] - 3.0)})
        assert values[1] < values[0] and values[-1] < values[1], name


def test_make_optimizer():
    opt = make_optimizer("Adam", lr=0.5, beta1=0.8)
    assert isinstance(opt, Adam) and (opt.lr, opt.beta1, opt.beta2) == (0.5, 0.8, 0.999)
    assert isinstance(make_optimizer("RMSprop", decay_rate=0.9), RMSprop)
    assert set(OPTIMIZERS) == {"SGD", "Momentum", "Nesterov", "AdaGrad", "RMSprop", "Adam"}


@pytest.mark.parametrize("bad", ["adam", "LBFGS", "", None])
def test_make_optimizer_bad_name(bad):
    with pytest.raises(ValueError, match="unknown optimizer.*SGD, Momentum"):
        make_optimizer(bad)
