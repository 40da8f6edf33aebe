"""The layers of chapter 5: the book's shopping numbers, every backward against central differences,
and no layer writing into an array it was given."""
import numpy as np
import pytest

from backprop.layers import Affine, AddLayer, MulLayer, Relu, Sigmoid, SoftmaxWithLoss


def central_difference(f, x, h=1e-5):
    """(f(x+h) - f(x-h)) / 2h for every entry of the float64 array x, perturbed in place and restored.

    Written here rather than imported, so that the check shares no code with what it checks.
    """
    grad = np.zeros_like(x, dtype=np.float64)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        up = f()
        x[i] = old - h
        down = f()
        x[i] = old
        grad[i] = (up - down) / (2 * h)
    return grad


def rel_error(analytic, numerical):
    """max |a - n| / max(|a|, |n|) over the whole array: a relative error that tiny entries cannot inflate."""
    scale = max(np.abs(analytic).max(), np.abs(numerical).max())
    return np.abs(analytic - numerical).max() / scale


def away_from_kink(x, margin=1e-3):
    """x with every entry at least `margin` from 0, where ReLU has its corner (the central difference
    straddles the corner there and agrees with neither one-sided slope)."""
    return np.where(np.abs(x) < margin, np.copysign(margin + np.abs(x), x), x)


def readonly(*arrays):
    """Read-only copies: a layer that writes into one of them raises instead of silently corrupting it."""
    out = []
    for a in arrays:
        a = np.array(a)
        a.flags.writeable = False
        out.append(a)
    return out


# --- the book's shopping graphs (ch05/buy_apple.py and buy_apple_orange.py) -------------------------

def test_buy_apple():
    apple, apple_num, tax = 100, 2, 1.1
    mul_apple_layer = MulLayer()
    mul_tax_layer = MulLayer()

    apple_price = mul_apple_layer.forward(apple, apple_num)
    price = mul_tax_layer.forward(apple_price, tax)

    dprice = 1
    dapple_price, dtax = mul_tax_layer.backward(dprice)
    dapple, dapple_num = mul_apple_layer.backward(dapple_price)

    assert price == pytest.approx(220)
    assert dapple == pytest.approx(2.2)
    assert dapple_num == pytest.approx(110)
    assert dtax == pytest.approx(200)


def test_buy_apple_orange_in_the_books_order():
    apple, apple_num, orange, orange_num, tax = 100, 2, 150, 3, 1.1
    mul_apple_layer = MulLayer()
    mul_orange_layer = MulLayer()
    add_apple_orange_layer = AddLayer()
    mul_tax_layer = MulLayer()

    # forward (1)..(4), then backward (4)..(1), exactly as the book's script calls them
    apple_price = mul_apple_layer.forward(apple, apple_num)  # (1)
    orange_price = mul_orange_layer.forward(orange, orange_num)  # (2)
    all_price = add_apple_orange_layer.forward(apple_price, orange_price)  # (3)
    price = mul_tax_layer.forward(all_price, tax)  # (4)

    dprice = 1
    dall_price, dtax = mul_tax_layer.backward(dprice)  # (4)
    dapple_price, dorange_price = add_apple_orange_layer.backward(dall_price)  # (3)
    dorange, dorange_num = mul_orange_layer.backward(dorange_price)  # (2)
    dapple, dapple_num = mul_apple_layer.backward(dapple_price)  # (1)

    assert (apple_price, orange_price, all_price) == (200, 450, 650)
    assert price == pytest.approx(715)
    assert dall_price == pytest.approx(1.1) and dapple_price == dorange_price == dall_price
    assert dapple == pytest.approx(2.2)
    assert dapple_num == pytest.approx(110)
    assert dorange == pytest.approx(3.3)
    assert dorange_num == pytest.approx(165)
    assert dtax == pytest.approx(650)


def test_mul_layer_backward_uses_the_values_of_its_own_forward():
    """Each MulLayer keeps its own inputs: a second layer's forward must not leak into the first's backward."""
    a, b = MulLayer(), MulLayer()
    a.forward(100, 2)
    b.forward(150, 3)
    assert a.backward(1.1) == pytest.approx((2.2, 110))
    assert b.backward(1.1) == pytest.approx((3.3, 165))


# --- backward against central differences (float64, seeded) ----------------------------------------

@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def test_mul_and_add_layers_against_numerical(rng):
    x, y = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    dout = rng.standard_normal((3, 4))
    for layer in (MulLayer(), AddLayer()):
        layer.forward(x, y)
        dx, dy = layer.backward(dout)
        loss = lambda: np.sum(layer.forward(x, y) * dout)  # noqa: E731 - d(loss)/d(out) = dout
        assert rel_error(dx, central_difference(loss, x)) < 1e-7
        assert rel_error(dy, central_difference(loss, y)) < 1e-7


def test_relu_against_numerical(rng):
    x = away_from_kink(rng.standard_normal((4, 5)))  # no entry within 1e-3 of ReLU's kink at 0
    dout = rng.standard_normal((4, 5))
    relu = Relu()
    out = relu.forward(x)
    np.testing.assert_array_equal(out, np.maximum(x, 0))
    dx = relu.backward(dout)
    assert rel_error(dx, central_difference(lambda: np.sum(relu.forward(x) * dout), x)) < 1e-7
    np.testing.assert_array_equal(dx[x < 0], 0)


def test_sigmoid_against_numerical(rng):
    x = 3 * rng.standard_normal((4, 5))
    dout = rng.standard_normal((4, 5))
    sig = Sigmoid()
    np.testing.assert_allclose(sig.forward(x), 1 / (1 + np.exp(-x)), rtol=1e-15)
    dx = sig.backward(dout)
    assert rel_error(dx, central_difference(lambda: np.sum(sig.forward(x) * dout), x)) < 1e-7


@pytest.mark.parametrize("x_shape", [(5, 6), (3, 1, 4, 4), (2, 1, 28, 28)])
def test_affine_against_numerical(rng, x_shape):
    """2-D and N-D input (the book's (N, 1, 28, 28) images): dx comes back in the input's shape."""
    d = int(np.prod(x_shape[1:]))
    x = rng.standard_normal(x_shape)
    W, b = rng.standard_normal((d, 3)), rng.standard_normal(3)
    dout = rng.standard_normal((x_shape[0], 3))
    affine = Affine(W, b)
    out = affine.forward(x)
    np.testing.assert_allclose(out, x.reshape(x_shape[0], -1) @ W + b, rtol=1e-12)
    dx = affine.backward(dout)
    assert dx.shape == x_shape

    loss = lambda: np.sum(affine.forward(x) * dout)  # noqa: E731
    assert rel_error(dx, central_difference(loss, x)) < 1e-7
    assert rel_error(affine.dW, central_difference(loss, W)) < 1e-7  # perturbs the W the layer holds
    assert rel_error(affine.db, central_difference(loss, b)) < 1e-7
    assert affine.dW.shape == W.shape and affine.db.shape == b.shape


def test_affine_need_dx_false_returns_none_and_still_computes_dw_db(rng):
    x = rng.standard_normal((3, 1, 4, 4))
    W, b = rng.standard_normal((16, 5)), rng.standard_normal(5)
    dout = rng.standard_normal((3, 5))
    full, first = Affine(W, b), Affine(W, b, need_dx=False)
    np.testing.assert_array_equal(full.forward(x), first.forward(x))
    full.backward(dout)
    assert first.backward(dout) is None
    np.testing.assert_allclose(first.dW, full.dW, rtol=1e-15)
    np.testing.assert_allclose(first.db, full.db, rtol=1e-15)


def test_affine_batch_of_one(rng):
    x = rng.standard_normal((1, 1, 3, 3))
    W, b = rng.standard_normal((9, 2)), rng.standard_normal(2)
    affine = Affine(W, b)
    assert affine.forward(x).shape == (1, 2)
    dx = affine.backward(np.ones((1, 2)))
    assert dx.shape == (1, 1, 3, 3)
    np.testing.assert_allclose(affine.dW, x.reshape(1, 9).T @ np.ones((1, 2)))


def test_softmax_with_loss_against_numerical_labels_and_one_hot(rng):
    x = 2 * rng.standard_normal((6, 4))
    labels = np.array([0, 3, 1, 2, 3, 0])
    one_hot = np.eye(4)[labels]
    losses, grads = [], []
    for t in (labels, one_hot):
        layer = SoftmaxWithLoss()
        losses.append(layer.forward(x, t))
        grads.append(layer.backward())
        assert rel_error(grads[-1], central_difference(lambda: layer.forward(x, t), x)) < 1e-7
    assert losses[0] == pytest.approx(losses[1], rel=1e-15)
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-14, atol=1e-17)
    # the loss is the mean cross-entropy of softmax, and dx = (y - t) / N
    y = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
    assert losses[0] == pytest.approx(-np.mean(np.log(y[np.arange(6), labels])), rel=1e-12)
    np.testing.assert_allclose(grads[0], (y - one_hot) / 6, rtol=1e-12, atol=1e-17)


def test_softmax_with_loss_dout_scales_and_backward_can_repeat(rng):
    x, t = rng.standard_normal((3, 5)), np.array([4, 0, 2])
    layer = SoftmaxWithLoss()
    layer.forward(x, t)
    once = layer.backward()
    np.testing.assert_array_equal(layer.backward(), once)  # backward does not consume its cache
    np.testing.assert_allclose(layer.backward(2.0), 2 * once, rtol=1e-15)


@pytest.mark.parametrize("t_dtype", [np.uint8, np.int32, np.int64])
def test_softmax_with_loss_integer_label_dtypes(rng, t_dtype):
    x, t = rng.standard_normal((4, 3)), np.array([2, 0, 1, 2])
    ref = SoftmaxWithLoss()
    ref_loss, ref_dx = ref.forward(x, t), ref.backward()
    layer = SoftmaxWithLoss()
    assert layer.forward(x, t.astype(t_dtype)) == ref_loss
    np.testing.assert_array_equal(layer.backward(), ref_dx)


def test_softmax_with_loss_rejects_labels_as_a_column():
    """(N, 1) labels are not one-hot: argmax would read every label as 0 and train on garbage."""
    with pytest.raises(ValueError, match="labels"):
        SoftmaxWithLoss().forward(np.zeros((3, 4)), np.array([[1], [2], [3]]))


def test_softmax_with_loss_keeps_float32_for_any_target_dtype(rng):
    x = rng.standard_normal((5, 4)).astype(np.float32)
    labels = np.array([0, 1, 2, 3, 0], dtype=np.uint8)
    for t in (labels, np.eye(4, dtype=np.float32)[labels], np.eye(4)[labels], np.eye(4, dtype=np.int64)[labels]):
        layer = SoftmaxWithLoss()
        layer.forward(x, t)
        assert layer.backward().dtype == np.float32, t.dtype


# --- no layer writes into an array it was given -----------------------------------------------------

def test_relu_backward_leaves_the_callers_dout_alone(rng):
    """The book's Relu.backward does dout[mask] = 0: the caller's array came back zeroed."""
    x = rng.standard_normal((4, 5))
    dout = rng.standard_normal((4, 5))
    before = dout.copy()
    relu = Relu()
    relu.forward(x)
    dx = relu.backward(dout)
    np.testing.assert_array_equal(dout, before)
    assert not np.shares_memory(dx, dout)


def test_no_layer_writes_into_its_inputs(rng):
    """Every input is read-only, so any in-place write raises; values are compared as well."""
    x2, y2, dout2 = readonly(*(rng.standard_normal((3, 4)) for _ in range(3)))
    x4 = readonly(rng.standard_normal((3, 1, 2, 2)))[0]
    W, b = readonly(rng.standard_normal((4, 4)), rng.standard_normal(4))
    labels, one_hot = readonly(np.array([0, 3, 1]), np.eye(4)[[0, 3, 1]])
    given = [x2, y2, dout2, x4, W, b, labels, one_hot]
    copies = [a.copy() for a in given]

    for layer in (MulLayer(), AddLayer()):
        layer.forward(x2, y2)
        layer.backward(dout2)
    for layer in (Relu(), Sigmoid()):
        layer.forward(x2)
        layer.backward(dout2)
    for x in (x2, x4):
        for need_dx in (True, False):
            affine = Affine(W, b, need_dx=need_dx)
            affine.forward(x)
            affine.backward(dout2)
    for t in (labels, one_hot):
        layer = SoftmaxWithLoss()
        layer.forward(x2, t)
        layer.backward(dout=1)

    for a, c in zip(given, copies):
        np.testing.assert_array_equal(a, c)
