"""Looking inside a trained network: its answers on test images, its mistakes, its first-layer weights,
and a hand-drawn digit prepared the way MNIST digits were made.

Pure NumPy. Images are uint8 (N, 28, 28) or (N, 784) with 0 = background and 255 = full ink, as in
``backprop.datasets``; the network sees them scaled to [0, 1], exactly as the Trainer feeds them.
"""
import hashlib
from dataclasses import dataclass

import numpy as np

from .functions import softmax

SIDE = 28  # MNIST images are SIDE x SIDE
BOX = 20  # MNIST scaled each digit's longer side to BOX pixels, then centred it by mass in SIDE x SIDE
CENTER = 14  # ... on pixel (CENTER, CENTER), counting pixels from 0
MIN_DRAWING_SIDE = 8
MAX_DRAWING_SIDE = 1024
INK_THRESHOLD = 8  # ink values (0..255) at or below this are paper: stray anti-aliasing, not a stroke

__all__ = [
    "SIDE", "BOX", "CENTER", "Inspection", "net_fingerprint", "data_fingerprint", "predict_proba",
    "confusion_matrix", "misclassified", "top_k", "top_confusions", "inspect_predictions", "first_layer_weights",
    "tile_images", "validate_drawing", "drawing_from_payload", "resize_area", "center_of_mass",
    "preprocess_drawing",
]


# --- answers on test images -----------------------------------------------------------------------

def net_fingerprint(net):
    """A short hex digest of every parameter (names, shapes, dtypes, bytes): equal iff the weights are equal.

    Hashes all the bytes (about 1 ms per MB) because a few sampled entries could miss an update:
    the weights of MNIST's always-blank border pixels never change during training.
    """
    h = hashlib.blake2b(digest_size=16)
    for name in sorted(net.params):
        p = np.ascontiguousarray(net.params[name])
        h.update(f"{name}{p.shape}{p.dtype.str}".encode())
        h.update(p)
    return h.hexdigest()


def data_fingerprint(x, t):
    """A cheap digest of a labelled image set: shapes, every label, and one pixel in 97."""
    x = np.asarray(x)
    t = np.asarray(t)
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{x.shape}{x.dtype.str}{t.shape}".encode())
    h.update(np.ascontiguousarray(t))
    h.update(np.ascontiguousarray(x.reshape(-1)[::97]))
    return h.hexdigest()


def _flat_images(x):
    x = np.asarray(x)
    if x.ndim == 2 and x.shape[1] == SIDE * SIDE:
        return x
    if x.ndim == 3 and x.shape[1:] == (SIDE, SIDE):
        return x.reshape(len(x), SIDE * SIDE)
    raise ValueError(f"images must be (N, 784) or (N, 28, 28), got shape {x.shape}")


def predict_proba(net, x_uint8, chunk=2000):
    """Softmax probabilities (N, C) float64 for uint8 images (N, 784) or (N, 28, 28).

    p = softmax(net.predict(x / 255)), computed in chunks of ``chunk`` images to bound memory.
    """
    x = _flat_images(x_uint8)
    scale = net.dtype.type(1 / 255)
    out = np.empty((len(x), net.sizes[-1]))
    for s in range(0, len(x), chunk):
        xb = x[s:s + chunk].astype(net.dtype) * scale
        out[s:s + chunk] = softmax(net.predict(xb).astype(np.float64))
    return out


def confusion_matrix(t, pred, n_classes=10):
    """(n_classes, n_classes) int64 counts: entry [i, j] = how many images of class i were predicted j."""
    t = np.asarray(t).astype(np.intp)
    pred = np.asarray(pred).astype(np.intp)
    if t.shape != pred.shape or t.ndim != 1:
        raise ValueError(f"labels and predictions must be equal-length 1-D arrays, got {t.shape} and {pred.shape}")
    for name, a in (("labels", t), ("predictions", pred)):
        if a.size and (a.min() < 0 or a.max() >= n_classes):
            raise ValueError(f"{name} must be in 0..{n_classes - 1}")
    return np.bincount(t * n_classes + pred, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def misclassified(t, proba, *, true_class=None, limit=None):
    """Indices of images whose top prediction is wrong, most confidently wrong first.

    t : (N,) labels; proba : (N, C) probabilities. ``true_class`` keeps only images of that class;
    ``limit`` keeps the first ``limit``. Ties keep test-set order (stable sort).
    """
    t = np.asarray(t)
    proba = np.asarray(proba)
    pred = proba.argmax(axis=1)
    wrong = pred != t
    if true_class is not None:
        wrong &= t == true_class
    idx = np.flatnonzero(wrong)
    order = np.argsort(-proba[idx, pred[idx]], kind="stable")
    idx = idx[order]
    return idx if limit is None else idx[:limit]


def top_k(p, k=3):
    """The k most probable classes of one probability vector p (C,): (classes, probabilities), best first."""
    p = np.asarray(p)
    classes = np.argsort(-p, kind="stable")[:k]
    return classes, p[classes]


def top_confusions(confusion, k=3):
    """The k largest off-diagonal entries as (true, predicted, count) tuples, largest first, zeros left out."""
    c = np.array(confusion, copy=True)
    np.fill_diagonal(c, 0)
    flat = np.argsort(-c, axis=None, kind="stable")[:k]
    return [(int(i), int(j), int(c[i, j])) for i, j in zip(*np.unravel_index(flat, c.shape)) if c[i, j] > 0]


@dataclass(frozen=True, eq=False)
class Inspection:
    """A network's answers on a labelled test set."""

    proba: np.ndarray  # (N, C) softmax probabilities
    pred: np.ndarray  # (N,) argmax of proba
    confusion: np.ndarray  # (C, C) counts, rows = true class, columns = predicted class
    accuracy: float  # trace(confusion) / N
    mistakes: np.ndarray  # indices of wrong answers, most confidently wrong first

    @property
    def n(self):
        return len(self.pred)


def inspect_predictions(net, x_uint8, t):
    """Everything the inspection views need from one pass of the net over (x_uint8, t)."""
    t = np.asarray(t).astype(np.intp)
    proba = predict_proba(net, x_uint8)
    if len(t) != len(proba):
        raise ValueError(f"{len(proba)} images but {len(t)} labels")
    pred = proba.argmax(axis=1)
    confusion = confusion_matrix(t, pred, n_classes=proba.shape[1])
    accuracy = float(np.trace(confusion)) / max(len(t), 1)
    return Inspection(proba, pred, confusion, accuracy, misclassified(t, proba))


# --- first-layer weights --------------------------------------------------------------------------

def first_layer_weights(net, n_units=None):
    """The weights into the first ``n_units`` hidden units as images: W1[:, :n].T -> (n, 28, 28) float64.

    Unit j's image is what it "looks for": a pixel with a positive weight raises its input when inked.
    """
    W1 = np.asarray(net.params["W1"])
    if W1.shape[0] != SIDE * SIDE:
        raise ValueError(f"first-layer weights need 784 inputs (28x28 images), this net has {W1.shape[0]}")
    n = W1.shape[1] if n_units is None else min(int(n_units), W1.shape[1])
    return W1[:, :n].T.astype(np.float64).reshape(n, SIDE, SIDE)


def tile_images(images, n_cols, gap=1, fill=np.nan, dtype=np.float64):
    """Lay (n, h, w) images out row by row in one 2-D array, ``gap`` pixels of ``fill`` between them.

    Returns (rows * (h + gap) - gap, n_cols * (w + gap) - gap) of ``dtype``; unused cells are ``fill``.
    """
    images = np.asarray(images, dtype=dtype)
    n, h, w = images.shape
    n_cols = max(1, min(int(n_cols), n))
    n_rows = -(-n // n_cols)
    out = np.full((n_rows * (h + gap) - gap, n_cols * (w + gap) - gap), fill, dtype=dtype)
    for i, img in enumerate(images):
        r, c = divmod(i, n_cols)
        out[r * (h + gap):r * (h + gap) + h, c * (w + gap):c * (w + gap) + w] = img
    return out


# --- a hand-drawn digit ---------------------------------------------------------------------------

def validate_drawing(ink):
    """A drawing as a checked (H, W) float64 array of ink values in 0..255 (0 = paper).

    Accepts any 2-D array-like of real numbers with sides in 8..1024. Raises ValueError, saying what
    is wrong, for anything else (other types, other shapes, NaN or infinity, values outside 0..255).
    """
    if ink is None or isinstance(ink, (str, bytes, dict)):
        raise ValueError(f"a drawing must be a 2-D array of ink values 0..255, got {type(ink).__name__}")
    try:
        a = np.asarray(ink)
    except (ValueError, TypeError):  # NumPy refuses ragged nested lists
        raise ValueError("a drawing must be a rectangular 2-D array: its rows have different lengths") from None
    if a.dtype.kind not in "iuf":
        raise ValueError(f"a drawing must hold real numbers 0..255, got values of type {a.dtype}")
    if a.ndim != 2:
        raise ValueError(f"a drawing must be a 2-D array (height, width), got shape {a.shape}")
    h, w = a.shape
    if not (MIN_DRAWING_SIDE <= h <= MAX_DRAWING_SIDE and MIN_DRAWING_SIDE <= w <= MAX_DRAWING_SIDE):
        raise ValueError(f"a drawing must be between {MIN_DRAWING_SIDE} and {MAX_DRAWING_SIDE} pixels "
                         f"on each side, got {h}x{w}")
    a = a.astype(np.float64)
    if not np.isfinite(a).all():
        raise ValueError("a drawing must not contain NaN or infinite values")
    lo, hi = float(a.min()), float(a.max())
    if lo < 0 or hi > 255:
        raise ValueError(f"ink values must be in 0..255, got {lo:g}..{hi:g}")
    return a


def drawing_from_payload(payload):
    """The canvas component's message {"width": W, "height": H, "ink": [W*H ints, row by row]} -> (H, W).

    Everything the browser sends is checked here (it is data, never code); a bad message raises ValueError.
    """
    if not isinstance(payload, dict):
        raise ValueError(f"the canvas sent {type(payload).__name__}, expected an object with width, height, ink")
    missing = {"width", "height", "ink"} - set(payload)
    if missing:
        raise ValueError(f"the canvas message lacks {', '.join(sorted(missing))}")
    w, h, ink = payload["width"], payload["height"], payload["ink"]
    for name, v in (("width", w), ("height", h)):
        if not isinstance(v, int) or isinstance(v, bool):
            raise ValueError(f"the canvas {name} must be an integer, got {v!r}")
    if not isinstance(ink, list):
        raise ValueError(f"the canvas ink must be a list, got {type(ink).__name__}")
    if not (MIN_DRAWING_SIDE <= w <= MAX_DRAWING_SIDE and MIN_DRAWING_SIDE <= h <= MAX_DRAWING_SIDE):
        raise ValueError(f"a drawing must be between {MIN_DRAWING_SIDE} and {MAX_DRAWING_SIDE} pixels "
                         f"on each side, got {h}x{w}")
    if len(ink) != w * h:
        raise ValueError(f"the canvas sent {len(ink)} ink values for a {h}x{w} image ({w * h} expected)")
    if any(isinstance(v, bool) for v in ink):  # NumPy would read True as 1 without complaint
        raise ValueError("ink values must be numbers 0..255, got true/false")
    return validate_drawing(_as_rows(ink, h, w))


def _as_rows(ink, h, w):
    try:
        a = np.asarray(ink)
    except (ValueError, TypeError):
        raise ValueError("ink values must be numbers 0..255") from None
    if a.ndim != 1:
        raise ValueError("ink values must be numbers 0..255, not lists")
    return a.reshape(h, w)


def _area_weights(n_in, n_out):
    """(n_out, n_in) matrix averaging input pixels over each output pixel's footprint (area resampling)."""
    edges = np.arange(n_out + 1) * (n_in / n_out)  # output pixel i covers [edges[i], edges[i+1]) of the input
    j = np.arange(n_in)
    overlap = np.minimum(edges[1:, None], j + 1) - np.maximum(edges[:-1, None], j)
    return np.clip(overlap, 0, None) / (n_in / n_out)


def resize_area(img, out_h, out_w):
    """Resample (h, w) -> (out_h, out_w) by area averaging: each output pixel is the mean of the input
    it covers, fractions of pixels weighted by area. Anti-aliased, and it keeps the mean ink."""
    img = np.asarray(img, dtype=np.float64)
    return _area_weights(img.shape[0], out_h) @ img @ _area_weights(img.shape[1], out_w).T


def center_of_mass(img):
    """(row, col) of the ink's centre of mass in pixel indices: sum(i * ink_i) / sum(ink_i) along each axis."""
    img = np.asarray(img, dtype=np.float64)
    total = img.sum()
    return (float(img.sum(axis=1) @ np.arange(img.shape[0]) / total),
            float(img.sum(axis=0) @ np.arange(img.shape[1]) / total))


def preprocess_drawing(ink, threshold=INK_THRESHOLD):
    """A drawing (H, W) of ink 0..255 -> the (28, 28) uint8 image the network sees, or None if blank.

    MNIST's recipe: crop to the ink's bounding box; scale it so the longer side is 20 px, keeping the
    aspect ratio (area averaging, so anti-aliased); put it in a 28x28 field with its centre of mass on
    pixel (14, 14), to the nearest pixel. (MNIST's own digits have their mass centres there: over the
    test set they average (14.0, 14.0) in pixel indices, within +-0.5.) The 20 px box has 4 px of room each way; a digit whose mass
    sits further off its box's middle is shifted only as far as it stays whole. Ink below ``threshold``
    is treated as paper. Raises ValueError for malformed input (see ``validate_drawing``).
    """
    img = validate_drawing(ink)
    mask = img > threshold
    if not mask.any():
        return None
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    crop = img[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    h, w = crop.shape
    scale = BOX / max(h, w)
    small = resize_area(crop, max(1, round(h * scale)), max(1, round(w * scale)))
    # A pen stroke thinner than a pixel after scaling comes out grey; MNIST strokes peak at full ink.
    small *= 255.0 / small.max()

    cy, cx = center_of_mass(small)
    nh, nw = small.shape
    top = min(max(int(np.floor(CENTER - cy + 0.5)), 0), SIDE - nh)
    left = min(max(int(np.floor(CENTER - cx + 0.5)), 0), SIDE - nw)
    out = np.zeros((SIDE, SIDE))
    out[top:top + nh, left:left + nw] = small
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)
