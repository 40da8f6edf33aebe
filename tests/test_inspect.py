"""backprop.inspect: answers on test images, confusion matrix, mistakes, weights, and the MNIST-style
preprocessing of a hand-drawn digit (checked on real MNIST digits drawn back onto a canvas)."""
import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from backprop import inspect as insp
from backprop.datasets import load_dataset
from backprop.figures import inspect as figs
from backprop.training import TrainConfig, Trainer


@pytest.fixture(scope="module")
def data():
    return load_dataset("sample")


@pytest.fixture(scope="module")
def trainer(data):
    """The book's TwoLayerNet (784-50-10, SGD lr 0.1, batch 100) after 2,000 steps: ~0.6 s, ~91 % on test."""
    tr = Trainer(TrainConfig(iterations=2000), data)
    with threadpool_limits(1):  # 100x784 @ 784x50 gains nothing from threads, and suffers on a busy machine
        for _ in range(2000):
            tr.step()
    return tr


# --- confusion matrix, mistakes ------------------------------------------------------------------

def test_confusion_matrix_known_case():
    t = np.array([0, 0, 1, 2, 2, 2])
    pred = np.array([0, 1, 1, 2, 0, 2])
    c = insp.confusion_matrix(t, pred, n_classes=3)
    np.testing.assert_array_equal(c, [[1, 1, 0], [0, 1, 0], [1, 0, 2]])
    assert c.sum() == len(t)
    np.testing.assert_array_equal(np.diag(c), [1, 1, 2])  # the correct answers per class
    np.testing.assert_array_equal(c.sum(axis=1), np.bincount(t))  # each row holds every image of its class


def test_confusion_matrix_refuses_bad_labels():
    with pytest.raises(ValueError, match="0..2"):
        insp.confusion_matrix([0, 3], [0, 1], n_classes=3)
    with pytest.raises(ValueError, match="equal-length"):
        insp.confusion_matrix([0, 1], [0], n_classes=3)


def test_misclassified_most_confident_first_with_filter_and_limit():
    t = np.array([0, 1, 2, 1, 0])
    proba = np.array([
        [0.9, 0.1, 0.0],  # right
        [0.6, 0.3, 0.1],  # wrong (0), confidence 0.6
        [0.0, 0.95, 0.05],  # wrong (1), confidence 0.95
        [0.2, 0.7, 0.1],  # right
        [0.3, 0.0, 0.7],  # wrong (2), confidence 0.7
    ])
    np.testing.assert_array_equal(insp.misclassified(t, proba), [2, 4, 1])
    np.testing.assert_array_equal(insp.misclassified(t, proba, true_class=0), [4])
    np.testing.assert_array_equal(insp.misclassified(t, proba, limit=2), [2, 4])
    assert insp.misclassified(t, proba, true_class=1, limit=5).tolist() == [1]


def test_top_k_and_top_confusions():
    classes, probs = insp.top_k(np.array([0.1, 0.5, 0.15, 0.25]), k=3)
    assert classes.tolist() == [1, 3, 2]
    np.testing.assert_allclose(probs, [0.5, 0.25, 0.15])
    c = np.array([[50, 3, 0], [7, 40, 1], [0, 0, 9]])
    assert insp.top_confusions(c, k=5) == [(1, 0, 7), (0, 1, 3), (1, 2, 1)]  # zeros and the diagonal left out


def test_inspection_agrees_with_the_trainer(trainer, data):
    """Probabilities are a softmax of the net's scores; accuracy and mistakes match the Trainer's own count."""
    result = insp.inspect_predictions(trainer.net, data.x_test, data.t_test)
    assert result.proba.shape == (10_000, 10)
    np.testing.assert_allclose(result.proba.sum(axis=1), 1.0, rtol=1e-12)
    assert result.accuracy == trainer.accuracy(trainer.x_test, trainer.t_test)
    assert result.accuracy > 0.85
    assert result.confusion.sum() == 10_000
    assert np.trace(result.confusion) == 10_000 - len(result.mistakes)
    scores = trainer.net.predict(data.x_test[:50].reshape(50, -1).astype(np.float32) / np.float32(255))
    e = np.exp(scores - scores.max(axis=1, keepdims=True))
    np.testing.assert_allclose(insp.predict_proba(trainer.net, data.x_test[:50]),
                               e / e.sum(axis=1, keepdims=True), rtol=1e-5)
    # (N, 784) and (N, 28, 28) are the same images (float32 sums differ in the last bits between batch sizes)
    np.testing.assert_allclose(insp.predict_proba(trainer.net, data.x_test[:20].reshape(20, 784)),
                               result.proba[:20], rtol=1e-4, atol=1e-9)
    with pytest.raises(ValueError, match="784"):
        insp.predict_proba(trainer.net, np.zeros((3, 27, 27), np.uint8))


def test_net_fingerprint_sees_any_weight_change(trainer):
    net = trainer.net
    before = insp.net_fingerprint(net)
    assert insp.net_fingerprint(net) == before
    w = net.params["W1"]
    old = w[0, 0]  # a corner pixel's weight: training never changes it (MNIST corners are blank)
    w[0, 0] = old + 1e-6
    try:
        assert insp.net_fingerprint(net) != before
    finally:
        w[0, 0] = old
    assert insp.net_fingerprint(net) == before


def test_first_layer_weights_are_w1_columns_as_images(trainer):
    W1 = trainer.net.params["W1"]
    images = insp.first_layer_weights(trainer.net, 7)
    assert images.shape == (7, 28, 28)
    r, c, unit = 13, 5, 6
    assert images[unit, r, c] == W1[r * 28 + c, unit]


def test_tile_images_layout():
    imgs = np.arange(5 * 2 * 3, dtype=float).reshape(5, 2, 3)
    out = insp.tile_images(imgs, n_cols=2, gap=1)
    assert out.shape == (3 * 2 + 2, 2 * 3 + 1)
    np.testing.assert_array_equal(out[0:2, 4:7], imgs[1])
    np.testing.assert_array_equal(out[6:8, 0:3], imgs[4])
    assert np.isnan(out[6:8, 4:7]).all() and np.isnan(out[2]).all()  # empty cell and gap row


# --- preprocessing a drawing ----------------------------------------------------------------------

def _stroke(canvas, points, width):
    """Ink a thick polyline onto canvas (H, W) in place, full ink 255 within width/2 of the segments."""
    yy, xx = np.mgrid[0:canvas.shape[0], 0:canvas.shape[1]]
    for (y0, x0), (y1, x1) in zip(points[:-1], points[1:]):
        d = np.array([y1 - y0, x1 - x0], float)
        t = np.clip(((yy - y0) * d[0] + (xx - x0) * d[1]) / max(d @ d, 1e-9), 0, 1)
        dist = np.hypot(yy - (y0 + t * d[0]), xx - (x0 + t * d[1]))
        canvas[dist <= width / 2] = 255
    return canvas


def test_off_centre_stroke_ends_up_centred_by_mass_in_a_20px_box():
    canvas = _stroke(np.zeros((280, 280)), [(20, 30), (20, 120), (110, 60)], width=18)  # a "7" in a corner
    img = insp.preprocess_drawing(canvas)
    assert img.shape == (28, 28) and img.dtype == np.uint8
    assert img.max() == 255 and img.min() == 0
    cy, cx = insp.center_of_mass(img)
    assert abs(cy - 14) <= 0.5 and abs(cx - 14) <= 0.5
    rows = np.flatnonzero(img.any(axis=1))
    cols = np.flatnonzero(img.any(axis=0))
    h, w = rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1
    assert max(h, w) == 20 and min(h, w) <= 20  # the longer side is exactly MNIST's 20 px


def test_preprocessing_keeps_the_aspect_ratio():
    canvas = np.zeros((280, 280))
    canvas[40:240, 100:150] = 255  # a bar 200 tall, 50 wide
    img = insp.preprocess_drawing(canvas)
    rows = np.flatnonzero(img.any(axis=1))
    cols = np.flatnonzero(img.any(axis=0))
    assert (rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1) == (20, 5)
    assert insp.center_of_mass(img) == pytest.approx((14, 14), abs=0.5)


def test_blank_or_nearly_blank_drawings_give_none():
    assert insp.preprocess_drawing(np.zeros((56, 56))) is None
    assert insp.preprocess_drawing(np.full((56, 56), insp.INK_THRESHOLD)) is None  # faint haze is paper
    assert insp.preprocess_drawing([[0] * 28] * 28) is None  # lists are fine


@pytest.mark.parametrize("bad, message", [
    (np.zeros(784), "2-D"),
    (np.zeros((3, 28, 28)), "2-D"),
    (np.zeros((5, 5)), "between 8 and 1024"),
    (np.full((28, 28), np.nan), "NaN"),
    (np.full((28, 28), np.inf), "NaN or infinite"),
    (np.full((28, 28), -1.0), "0..255"),
    (np.full((28, 28), 256), "0..255"),
    ("a drawing", "got str"),
    ({"ink": []}, "got dict"),
    (None, "got NoneType"),
    ([["a"] * 28] * 28, "real numbers"),
    (np.ones((28, 28), dtype=bool), "real numbers"),
    ([[0] * 28, [0] * 27], "rectangular"),
    ([[None] * 28] * 28, "real numbers"),
])
def test_malformed_drawings_are_refused_with_a_clear_message(bad, message):
    with pytest.raises(ValueError, match=message):
        insp.preprocess_drawing(bad)


def test_canvas_payload_is_checked():
    ink = [0] * (56 * 56)
    ink[28 * 56 + 28] = 200
    a = insp.drawing_from_payload({"width": 56, "height": 56, "ink": ink})
    assert a.shape == (56, 56) and a[28, 28] == 200
    for bad, message in [
        ([1, 2, 3], "expected an object"),
        ({"width": 56, "ink": ink}, "lacks height"),
        ({"width": "56", "height": 56, "ink": ink}, "width must be an integer"),
        ({"width": True, "height": 56, "ink": ink}, "width must be an integer"),
        ({"width": 56, "height": 56, "ink": ink[:-1]}, "3135 ink values"),
        ({"width": 56, "height": 56, "ink": "0" * 3136}, "must be a list"),
        ({"width": 56, "height": 56, "ink": [True] * 3136}, "true/false"),
        ({"width": 56, "height": 56, "ink": [[0]] * 3136}, "not lists"),
        ({"width": 56, "height": 56, "ink": [300] * 3136}, "0..255"),
        ({"width": 4, "height": 4, "ink": [0] * 16}, "between 8 and 1024"),
    ]:
        with pytest.raises(ValueError, match=message):
            insp.drawing_from_payload(bad)


def test_resize_area_averages_areas():
    img = np.arange(36, dtype=float).reshape(6, 6)
    down = insp.resize_area(img, 3, 3)
    np.testing.assert_allclose(down, img.reshape(3, 2, 3, 2).mean(axis=(1, 3)))  # integer factor: block means
    odd = insp.resize_area(img, 4, 5)  # fractional factors keep the mean ink
    assert odd.mean() == pytest.approx(img.mean())


def _as_canvas_grid(digit, scale, top, left):
    """A 28x28 MNIST digit drawn on a 280x280 canvas (nearest-neighbour zoom by `scale`, at (top, left)),
    then sent as the component does: 56x56 means of 5x5 blocks, rounded to integers."""
    big = np.kron(digit.astype(float), np.ones((scale, scale)))
    canvas = np.zeros((280, 280))
    canvas[top:top + big.shape[0], left:left + big.shape[1]] = big
    return np.rint(canvas.reshape(56, 5, 56, 5).mean(axis=(1, 3)))


def test_real_mnist_digits_survive_the_canvas_round_trip(trainer, data):
    """50 real test digits, moved and zoomed on a canvas and preprocessed back, are still recognised."""
    rng = np.random.default_rng(0)
    images = []
    for digit in data.x_test[:50]:
        scale = int(rng.integers(5, 10))  # the digit's 28 px box becomes 140..252 px
        top, left = rng.integers(0, 280 - 28 * scale + 1, size=2)
        images.append(insp.preprocess_drawing(_as_canvas_grid(digit, scale, top, left)))
    images = np.array(images)
    on_canvas = insp.predict_proba(trainer.net, images).argmax(axis=1)
    original = insp.predict_proba(trainer.net, data.x_test[:50]).argmax(axis=1)
    t = data.t_test[:50]
    assert np.mean(on_canvas == t) >= 0.8, (np.mean(on_canvas == t), np.mean(original == t))
    # And the pictures themselves come back close to MNIST's: same centring, same size.
    assert np.mean(np.abs(images.astype(int) - data.x_test[:50].astype(int))) < 30


# --- the figures ----------------------------------------------------------------------------------

LABELS = {"unit": "Einheit", "pixel": "Pixel", "true": "wahr", "predicted": "vorhergesagt", "share": "Anteil",
          "hover": "%{y} als %{x}: %{text}"}


def test_figures_build_with_the_words_they_are_given(trainer, data):
    result = insp.inspect_predictions(trainer.net, data.x_test[:500], data.t_test[:500])
    names = data.class_names
    fig = figs.confusion_figure(result.confusion, names, title="Accuracy", labels=LABELS)
    assert fig.data[0].z.shape == (10, 10) and list(fig.data[0].x) == list(names)
    assert fig.layout.xaxis.title.text == "vorhergesagt" and fig.layout.yaxis.title.text == "wahr"
    assert fig.data[0].hovertemplate.startswith("%{y} als %{x}") and fig.data[0].colorbar.title.text == "Anteil"
    assert figs.digit_figure(data.x_test[0], labels=LABELS).data[0].hovertemplate.startswith("Pixel (")
    np.testing.assert_array_equal(fig.data[0].text, result.confusion)
    w = figs.weights_figure(insp.first_layer_weights(trainer.net, 20), n_cols=10, labels=LABELS)
    assert w.data[0].hovertemplate.startswith("Einheit %{customdata[0]:.0f}, Pixel (")
    assert w.data[0].zmin == -w.data[0].zmax  # symmetric colour range around 0
    strip = figs.prediction_strip_figure(data.x_test, data.t_test, result.proba, names, range(4))
    assert len(strip.data) == 8  # an image and a bar chart per column
    bars = figs.probability_figure(result.proba[0], names, true_class=int(data.t_test[0]))
    assert len(bars.data[0].x) == 10
    assert [figs.percent(p) for p in (0.001, 0.37, 0.999)] == ["<1%", "37%", ">99%"]
    thumb = figs.paper_image(data.x_test[0], scale=3)
    assert thumb.shape == (84, 84) and thumb.dtype == np.uint8 and thumb.max() == 255
