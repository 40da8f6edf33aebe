"""Bounded histories of a run and their reduction to curves a chart can draw.

A run's losses go into a ``LossHistory`` (at most ``capacity`` float32 slots, neighbours averaged
when full); a page draws a ``Curve``: at most MAX_POINTS buckets with mean, min, max and a
zero-phase smoothed line. Pure NumPy.
"""
import math
from dataclasses import dataclass

import numpy as np

SMOOTHING = 0.95  # EMA factor per iteration for the smoothed loss (run both ways: about a 40-step window)
MAX_POINTS = 1000  # buckets a drawn curve is reduced to


class Rows:
    """A growable (n, width) float64 array: amortised O(1) appends; ``array()`` returns a copy."""

    def __init__(self, width, initial=64):
        self._buf = np.empty((initial, width))
        self._n = 0

    def __len__(self):
        return self._n

    def append(self, row):
        if self._n == len(self._buf):
            grown = np.empty((2 * len(self._buf), self._buf.shape[1]))
            grown[: self._n] = self._buf
            self._buf = grown
        self._buf[self._n] = row
        self._n += 1

    def array(self):
        return self._buf[: self._n].copy()

    def keep(self, n):
        """Forget every row after the first ``n``."""
        self._n = min(self._n, n)


class LossHistory:
    """Every mini-batch loss as float32, in at most ``capacity`` slots (memory stays bounded).

    When full, neighbouring pairs are averaged and ``stride`` doubles: entry i then holds the mean
    loss of iterations i*stride+1 .. (i+1)*stride. Until then (stride 1) entry i is iteration i+1.
    """

    def __init__(self, capacity=1 << 20, initial=4096):
        if capacity % 2 or capacity < 2:
            raise ValueError("capacity must be a positive even number")
        self.capacity = capacity
        self.stride = 1
        self.count = 0  # iterations appended
        self._buf = np.empty(min(initial, capacity), dtype=np.float32)
        self._n = 0
        self._partial = 0.0  # sum of the losses of a bucket not yet full (stride > 1)

    def __len__(self):
        return self._n

    def append(self, loss):
        self.count += 1
        if self.stride > 1:
            self._partial += loss
            if self.count % self.stride:
                return
            loss, self._partial = self._partial / self.stride, 0.0
        if self._n == len(self._buf):
            if self._n < self.capacity:
                grown = np.empty(min(2 * self._n, self.capacity), dtype=np.float32)
                grown[: self._n] = self._buf
                self._buf = grown
            else:
                half = self._n // 2
                # float64 for the sum: float32 halves could overflow to inf on huge (finite) losses
                self._buf[:half] = (self._buf[0::2].astype(np.float64) + self._buf[1::2]) / 2
                self._n = half
                # ``loss`` covers the first half of the next, twice as long bucket: it waits in _partial
                self._partial = loss * self.stride
                self.stride *= 2
                return
        self._buf[self._n] = loss
        self._n += 1

    def truncate(self, count):
        """Forget the iterations after the first ``count`` (whole buckets only once stride > 1)."""
        if count >= self.count:
            return
        self._n = min(self._n, count // self.stride)
        self.count = self._n * self.stride
        self._partial = 0.0

    def values(self):
        """Copy of the stored losses (float32)."""
        return self._buf[: self._n].copy()

    def iterations(self):
        """The last iteration each stored value covers (1-based)."""
        return (np.arange(1, self._n + 1) * self.stride).astype(np.int64)


@dataclass(frozen=True, eq=False)
class Curve:
    """A curve reduced to buckets: x (mean iteration), mean, lo, hi per bucket (NaN where nothing finite),
    smooth (the means smoothed, see ``smooth``), and ``bucket``, the stored values per bucket."""

    x: np.ndarray
    mean: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    smooth: np.ndarray
    bucket: int

    def __len__(self):
        return len(self.x)

    def peak(self):
        """The highest finite value the curve reached (its buckets' maxima), or None before any."""
        finite = self.hi[np.isfinite(self.hi)]
        return float(finite.max()) if len(finite) else None


def downsample(x, y, max_points=MAX_POINTS):
    """Reduce (x, y) to at most ``max_points`` buckets of equal size: (x mean, y mean, y min, y max) each.

    Non-finite y (a diverged loss) counts as missing, so a NaN spoils no bucket; a bucket with no finite
    value gives NaN. Mean for the smoothed line, min and max for the faint raw band: together they
    look like the full-resolution plot at any zoom the chart can show.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n = len(y)
    if n == 0:
        empty = np.empty(0)
        return empty, empty, empty, empty, 1
    b = max(1, math.ceil(n / max_points))
    k = math.ceil(n / b)
    pad = k * b - n
    finite = np.isfinite(y)
    yy = np.pad(np.where(finite, y, 0.0), (0, pad)).reshape(k, b)
    ok = np.pad(finite, (0, pad)).reshape(k, b)
    counts = ok.sum(axis=1)
    xx = np.pad(x, (0, pad)).reshape(k, b)
    sizes = np.full(k, b)
    sizes[-1] = b - pad
    xm = xx.sum(axis=1) / sizes
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = yy.sum(axis=1) / counts
    lo = np.where(ok, np.pad(y, (0, pad), constant_values=np.inf).reshape(k, b), np.inf).min(axis=1)
    hi = np.where(ok, np.pad(y, (0, pad), constant_values=-np.inf).reshape(k, b), -np.inf).max(axis=1)
    none = counts == 0
    mean[none] = lo[none] = hi[none] = np.nan
    return xm, mean, lo, hi, b


def ema(values, beta):
    """Debiased exponential moving average (as TensorBoard's smoothing): s_k = beta*s_(k-1) + (1-beta)*v_k,
    divided by 1 - beta^(k+1) so the start is not pulled towards 0. NaN values are skipped (carried over)."""
    out = np.empty(len(values))
    s, weight = 0.0, 0.0
    for i, v in enumerate(values):
        if math.isfinite(v):
            s = beta * s + (1 - beta) * v
            weight = beta * weight + (1 - beta)
        out[i] = s / weight if weight > 0 else math.nan
    return out


def smooth(values, beta):
    """Zero-phase smoothing: the debiased EMA run forwards, then backwards over the result.

    A one-way EMA lags behind a falling loss by about 1/(1-beta) steps, which reads as "the
    smoothed loss is higher than the real one"; the backward pass cancels that lag (as filtfilt).
    """
    return ema(ema(values, beta)[::-1], beta)[::-1]


def loss_curve(history_values, history_iterations, stride=1, max_points=MAX_POINTS, beta=SMOOTHING):
    """The loss history as a Curve for drawing: bucket means and extremes, and their smoothed line.

    The smoothing runs over the bucket means with beta**(iterations per bucket), which keeps the
    per-iteration time constant however many iterations a bucket holds.
    """
    x, mean, lo, hi, b = downsample(history_iterations, history_values, max_points)
    smoothed = smooth(mean, beta ** (b * stride)) if len(mean) else mean
    return Curve(x, mean, lo, hi, smoothed, b)


def downsample_rows(x, rows, max_points=MAX_POINTS):
    """(x, rows) with rows (k, c) reduced to at most ``max_points`` rows of bucket means (x included)."""
    if len(rows) <= max_points:
        return x, rows
    bx = downsample(x, x, max_points)[0]
    return bx, np.column_stack([downsample(x, rows[:, c], max_points)[1] for c in range(rows.shape[1])])
