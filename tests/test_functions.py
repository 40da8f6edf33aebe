"""Activation and loss functions: the book's numbers, stability at extreme inputs, dtypes."""
import numpy as np
import pytest

from backprop.functions import cross_entropy_error, relu, sigmoid, softmax, softmax_cross_entropy


def no_overflow():
    """Errors for overflow, invalid (NaN) and division by zero. Underflow stays allowed: exp(-1000) = 0
    is the right answer (the stable formulas rely on it), not a problem to report."""
    return np.errstate(over="raise", invalid="raise", divide="raise", under="ignore")


# --- softmax ---------------------------------------------------------------------------------------

def test_softmax_book_example():
    a = np.array([0.3, 2.9, 4.0])
    np.testing.assert_allclose(softmax(a), [0.01821127, 0.24519181, 0.73659691], atol=1e-8)


def test_softmax_2d_rows_sum_to_one_and_match_the_definition():
    x = np.random.default_rng(0).standard_normal((5, 7))
    y = softmax(x)
    assert y.shape == (5, 7)
    np.testing.assert_allclose(y.sum(axis=1), 1, rtol=1e-15)
    np.testing.assert_allclose(y, np.exp(x) / np.exp(x).sum(axis=1, keepdims=True), rtol=1e-14)
    # each row separately, like the 1-D case
    for row, expected in zip(x, y):
        np.testing.assert_allclose(softmax(row), expected, rtol=1e-15)


@pytest.mark.parametrize("x", [
    [1000.0, 1000.0, 999.0],
    [-1000.0, -1000.0, -999.0],
    [1000.0, -1000.0, 0.0],
    [[1010.0, 1000.0, 990.0], [-1010.0, -1000.0, -990.0]],
])
def test_softmax_is_stable_for_huge_logits(x):
    x = np.array(x)
    with no_overflow():
        y = softmax(x)
    assert np.all(np.isfinite(y))
    np.testing.assert_allclose(y.sum(axis=-1), 1, rtol=1e-15)
    # shifting all logits by a constant changes nothing (the max trick relies on it)
    np.testing.assert_allclose(y, softmax(x - x.max(axis=-1, keepdims=True)), rtol=1e-15)


def test_softmax_huge_logits_values():
    with no_overflow():
        np.testing.assert_allclose(softmax(np.array([1010.0, 1000.0, 990.0])),
                                   softmax(np.array([20.0, 10.0, 0.0])), rtol=1e-15)
        np.testing.assert_array_equal(softmax(np.array([1000.0, -1000.0])), [1.0, 0.0])


def test_softmax_keeps_float32():
    assert softmax(np.ones((2, 3), dtype=np.float32)).dtype == np.float32


def test_softmax_does_not_write_into_its_input():
    x = np.array([[1.0, 2.0, 3.0]])
    x.flags.writeable = False
    softmax(x)


# --- cross-entropy -----------------------------------------------------------------------------------

BOOK_T = np.array([0, 0, 1, 0, 0, 0, 0, 0, 0, 0])
BOOK_Y_RIGHT = np.array([0.1, 0.05, 0.6, 0.0, 0.05, 0.1, 0.0, 0.1, 0.0, 0.0])
BOOK_Y_WRONG = np.array([0.1, 0.05, 0.1, 0.0, 0.05, 0.1, 0.0, 0.6, 0.0, 0.0])


def test_cross_entropy_book_examples_1d():
    """Chapter 4.2.2: 0.510825457099338 when '2' gets 0.6, 2.302584092994546 when it gets 0.1."""
    assert cross_entropy_error(BOOK_Y_RIGHT, BOOK_T) == pytest.approx(0.510825457099338, rel=1e-12)
    assert cross_entropy_error(BOOK_Y_WRONG, BOOK_T) == pytest.approx(2.302584092994546, rel=1e-12)
    # a 1-D y with its label instead of a one-hot vector
    assert cross_entropy_error(BOOK_Y_RIGHT, 2) == pytest.approx(0.510825457099338, rel=1e-12)
    assert cross_entropy_error(BOOK_Y_RIGHT, np.array(2)) == pytest.approx(0.510825457099338, rel=1e-12)


def test_cross_entropy_one_hot_and_labels_agree_and_average_over_the_batch():
    y = np.stack([BOOK_Y_RIGHT, BOOK_Y_WRONG, BOOK_Y_RIGHT])
    labels = np.array([2, 2, 0])
    one_hot = np.eye(10)[labels]
    expected = (-np.log(0.6 + 1e-7) - np.log(0.1 + 1e-7) - np.log(0.1 + 1e-7)) / 3  # the book's 1e-7 guard
    assert cross_entropy_error(y, labels) == pytest.approx(expected, rel=1e-12)
    assert cross_entropy_error(y, one_hot) == pytest.approx(expected, rel=1e-12)
    assert cross_entropy_error(y, labels.astype(np.uint8)) == pytest.approx(expected, rel=1e-12)
    # the mean, not the sum: one sample repeated gives that sample's loss
    assert cross_entropy_error(np.stack([BOOK_Y_RIGHT] * 4), np.full(4, 2)) == pytest.approx(
        cross_entropy_error(BOOK_Y_RIGHT, BOOK_T), rel=1e-12)


def test_cross_entropy_of_zero_probability_is_finite():
    with no_overflow():
        loss = cross_entropy_error(np.array([[1.0, 0.0]]), np.array([1]))
    assert loss == pytest.approx(-np.log(1e-7))


def test_softmax_cross_entropy_matches_softmax_then_cross_entropy():
    rng = np.random.default_rng(1)
    x = 3 * rng.standard_normal((8, 10))
    t = rng.integers(0, 10, 8)
    y, loss = softmax_cross_entropy(x, t)
    np.testing.assert_allclose(y, softmax(x), rtol=1e-14)
    y_t = softmax(x)[np.arange(8), t]
    assert loss == pytest.approx(-np.mean(np.log(y_t)), rel=1e-12)
    # cross_entropy_error differs only by the book's 1e-7 guard inside the log
    guard = np.mean(np.log(y_t + 1e-7) - np.log(y_t))
    assert loss - guard == pytest.approx(cross_entropy_error(softmax(x), t), rel=1e-12)


def test_softmax_cross_entropy_is_finite_for_huge_logits():
    x = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 0.0]])
    with no_overflow():
        y, loss = softmax_cross_entropy(x, np.array([1, 1]))
    assert loss == pytest.approx(1000.0)  # (2000 for the first sample + 0 for the second) / 2
    assert np.all(np.isfinite(y))


# --- sigmoid and ReLU ----------------------------------------------------------------------------------

def test_sigmoid_values():
    np.testing.assert_allclose(sigmoid(np.array([-1.0, 1.0, 2.0])), [0.26894142, 0.73105858, 0.88079708], atol=1e-8)
    assert sigmoid(np.array(0.0)) == 0.5
    x = np.linspace(-30, 30, 61)
    np.testing.assert_allclose(sigmoid(x), 1 / (1 + np.exp(-x)), rtol=1e-15)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sigmoid_without_overflow_for_huge_inputs(dtype):
    x = np.array([-1000.0, -100.0, 0.0, 100.0, 1000.0], dtype=dtype)
    with no_overflow():
        y = sigmoid(x)
    assert y.dtype == dtype
    np.testing.assert_array_equal(y[[0, 2, 4]], [0.0, 0.5, 1.0])
    assert np.all((0 <= y) & (y <= 1))


def test_sigmoid_of_integers_is_float64():
    assert sigmoid(np.array([0, 1])).dtype == np.float64


def test_relu():
    x = np.array([-2.0, -0.0, 0.0, 3.0], dtype=np.float32)
    y = relu(x)
    np.testing.assert_array_equal(y, [0, 0, 0, 3])
    assert y.dtype == np.float32
