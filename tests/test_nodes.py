"""Elementary nodes (backprop/nodes.py): each layer's backward against central differences, on arrays."""
import numpy as np
import pytest

from backprop.gradient import numerical_gradient
from backprop.nodes import OPS, backward_as_tuple, domain_problem, make_layer, symbol

CONSTANTS = {"scale": -1.5, "shift": 1.0, "pow": 3.0, "softmax_loss": 1}


def shape(op):
    """Elementwise nodes take arrays; Softmax-with-Loss of one sample takes one score per input."""
    return () if op == "softmax_loss" else (2, 3)


def inputs_for(op, rng):
    """Inputs where the node is smooth: positive for log, away from 0 for 1/x and max0's kink."""
    n = 3 if OPS[op].arity is None else OPS[op].arity
    xs = [np.asarray(rng.uniform(0.5, 2.0, size=shape(op)) * rng.choice([-1, 1], size=shape(op))) for _ in range(n)]
    if op in ("log", "pow"):
        xs = [np.abs(x) for x in xs]
    return xs


@pytest.mark.parametrize("op", sorted(OPS))
def test_backward_equals_the_numerical_gradient_of_every_input(op):
    rng = np.random.default_rng(sorted(OPS).index(op))
    xs = inputs_for(op, rng)
    dout = np.asarray(rng.standard_normal(shape(op)))
    layer = make_layer(op, CONSTANTS.get(op))
    out = layer.forward(*xs)
    grads = backward_as_tuple(op, layer.backward(dout))
    assert len(grads) == len(xs)
    for i, x in enumerate(xs):
        def f(_, i=i):  # sum(dout * out) as a function of input i, by fresh forward passes only
            return float(np.sum(dout * make_layer(op, CONSTANTS.get(op)).forward(*xs)))
        numerical = numerical_gradient(f, x)
        np.testing.assert_allclose(grads[i], numerical, rtol=1e-6, atol=1e-8, err_msg=f"{op} input {i}")
    assert np.shape(out) == shape(op)


@pytest.mark.parametrize("op", sorted(OPS))
def test_backward_never_writes_into_the_arrays_it_was_given(op):
    rng = np.random.default_rng(1)
    xs = inputs_for(op, rng)
    kept = [x.copy() for x in xs]
    dout = np.asarray(rng.standard_normal(shape(op)))
    dout_kept = dout.copy()
    layer = make_layer(op, CONSTANTS.get(op))
    layer.forward(*xs)
    layer.backward(dout)
    assert all(np.array_equal(a, b) for a, b in zip(xs, kept)) and np.array_equal(dout, dout_kept)


def test_the_books_local_rules_on_scalars():
    exp = make_layer("exp")
    assert exp.forward(0.0) == 1.0 and exp.backward(2.0) == 2.0  # exp's output is its own derivative
    recip = make_layer("recip")
    assert recip.forward(2.0) == 0.5 and recip.backward(1.0) == -0.25  # -1/x² = -y²
    assert make_layer("scale", -1.0).backward(3.0) == -3.0
    relu = make_layer("max0")
    relu.forward(-2.0)
    assert relu.backward(5.0) == 0.0
    div = make_layer("div")
    div.forward(6.0, 3.0)
    assert div.backward(1.0) == pytest.approx((1 / 3, -6 / 9))
    assert make_layer("sum").forward(1.0, 2.0, 3.0) == 6.0


def test_symbols_and_domains():
    assert [symbol("scale", -1.0), symbol("shift", 1.0), symbol("shift", -2.0), symbol("pow", 2.0)] == \
        ["×(−1)", "+1", "−2", "^2"]
    assert symbol("recip") == "/" and symbol("mul") == "×"
    assert domain_problem("log", (0.0,)) == "log_domain" and domain_problem("log", (1e-9,)) is None
    assert domain_problem("recip", (0.0,)) == "div_zero" and domain_problem("div", (1.0, 0.0)) == "div_zero"
    assert domain_problem("pow", (-2.0,), 0.5) == "pow_domain" and domain_problem("pow", (-2.0,), 2.0) is None


@pytest.mark.parametrize("op", sorted(OPS))
def test_the_local_gradient_is_what_backward_multiplies_the_upstream_by(op):
    from backprop.nodes import local_gradient
    xs = [1.7, 0.6, 2.2][: 3 if OPS[op].arity is None else OPS[op].arity]
    layer = make_layer(op, CONSTANTS.get(op))
    out = layer.forward(*xs)
    grads = backward_as_tuple(op, layer.backward(2.5))
    for slot, g in enumerate(grads):
        assert 2.5 * local_gradient(op, slot, xs, out, CONSTANTS.get(op)) == pytest.approx(g, rel=1e-12)
