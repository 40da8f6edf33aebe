"""What a run costs before it starts: memory and time estimated from its config, and the limits a server sets.

A run is refused before it starts (``check``) if it would need more memory than a run may use, if one
of its steps would take so long that Pause could not answer within half a second, or if the whole
run would take longer than a run may train; each refusal says what fits instead. Estimates are
deliberately generous (every copy of the weights a run keeps, the activations of a mini-batch and
of an evaluation chunk); ``REFERENCE_FLOPS`` is the arithmetic speed of one trainer process on a
modest machine (this 2-core one does 1.5-3 times that on the chapter 5 net when it is not shared).

Limits come from the environment: BACKPROP_RUN_MEMORY_MB (default 256), BACKPROP_RUN_MINUTES (60).
"""
import os
from dataclasses import replace

from ..datasets import source_files
from ..idx import idx_shape
from ..training import EVAL_CHUNK, iterations_per_epoch

REFERENCE_FLOPS = 10e9  # floating-point operations per second of one trainer process (one BLAS thread)
STEP_LIMIT = 0.25  # seconds a step (or an evaluation chunk) may take: Pause must answer within half a second
OPTIMIZER_SLOTS = {"SGD": 0, "Momentum": 1, "Nesterov": 1, "AdaGrad": 1, "RMSprop": 1, "Adam": 2}
WEIGHT_COPIES = 6  # the weights, their gradients, the divergence checkpoint, a ratio copy, two messages' copies
BASE_BYTES = 1 << 20  # history, records, message buffers


def limits():
    """(bytes a run may use, seconds a run may train) from the environment."""
    mb = float(os.environ.get("BACKPROP_RUN_MEMORY_MB", 256))
    minutes = float(os.environ.get("BACKPROP_RUN_MINUTES", 60))
    return int(mb * 2**20), minutes * 60


def images(config, data=None):
    """(training images used, test images) of a run on ``data`` (None: its data set's files, headers only)."""
    if data is not None:
        n_train, n_test = len(data.x_train), len(data.x_test)
    else:
        files = source_files(config.dataset)
        n_train, n_test = idx_shape(files[0])[0], idx_shape(files[2])[0]
    return (min(config.train_size, n_train) if config.train_size else n_train), n_test


def n_weights(config, inputs=784, outputs=10):
    sizes = (inputs, *config.hidden_sizes, outputs)
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))


def run_bytes(config, n_train, n_test):
    """Memory one run needs in its trainer process and the server (the images themselves are shared)."""
    item = 4 if config.dtype == "float32" else 8
    units = sum(config.hidden_sizes) + 10
    weights = n_weights(config) * item * (WEIGHT_COPIES + OPTIMIZER_SLOTS[config.optimizer])
    batch = config.batch_size * (784 * (item + 1) + units * item * 5)  # pixels, inputs, per layer out/mask/grads
    evaluation = min(EVAL_CHUNK, n_train + n_test) * (784 * item + units * item * 2)
    labels = (n_train + n_test) * 8
    return BASE_BYTES + weights + batch + evaluation + labels


def step_seconds(config):
    """One training step: forward 2·batch·weights operations, backward twice that."""
    return 6 * config.batch_size * n_weights(config) / REFERENCE_FLOPS


def chunk_seconds(config):
    """One evaluation chunk: a forward pass of EVAL_CHUNK images."""
    return 2 * EVAL_CHUNK * n_weights(config) / REFERENCE_FLOPS


def run_seconds(config, n_train, n_test):
    """The whole run alone on a trainer process: its steps and the book's evaluation after every epoch."""
    epochs = config.iterations // iterations_per_epoch(n_train, config.batch_size) + 1
    return config.iterations * step_seconds(config) + epochs * 2 * (n_train + n_test) * n_weights(config) / REFERENCE_FLOPS


def _largest(fits, high):
    """The largest n in 1..high with fits(n), or 0 (fits is monotone: true up to some n)."""
    lo, hi = 0, high
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if fits(mid) else (lo, mid - 1)
    return lo


def _refusal(code, config, fits, values):
    """(code, values) with what fits: a smaller batch, else narrower layers at this batch."""
    batch = _largest(lambda b: fits(replace(config, batch_size=b)), config.batch_size)
    if batch:
        return code, {**values, "batch": batch}
    width = _largest(lambda w: fits(replace(config, hidden_sizes=(w,) * len(config.hidden_sizes))),
                     max(config.hidden_sizes))
    return f"{code}_width", {**values, "width": width, "layers": len(config.hidden_sizes)}


def check(config, n_train, n_test):
    """None if the run fits, else the first refusal as (code, values) for an ErrorInfo:
    "budget_memory" {need_mb, limit_mb, batch}, "budget_step" {need_s, limit_s, batch} (or their "_width"
    forms with {width, layers} when no batch fits), "budget_time" {hours, limit_hours, iterations}."""
    max_bytes, max_seconds = limits()
    need = run_bytes(config, n_train, n_test)
    if need > max_bytes:
        return _refusal("budget_memory", config, lambda c: run_bytes(c, n_train, n_test) <= max_bytes,
                        {"need_mb": round(need / 2**20), "limit_mb": round(max_bytes / 2**20)})
    slowest = max(step_seconds(config), chunk_seconds(config))
    if slowest > STEP_LIMIT:
        return _refusal("budget_step", config,
                        lambda c: max(step_seconds(c), chunk_seconds(c)) <= STEP_LIMIT,
                        {"need_s": f"{slowest:.2g}", "limit_s": STEP_LIMIT})
    seconds = run_seconds(config, n_train, n_test)
    if seconds > max_seconds:
        iterations = _largest(lambda n: run_seconds(replace(config, iterations=n), n_train, n_test) <= max_seconds,
                              config.iterations)
        return "budget_time", {"hours": f"{seconds / 3600:.1f}", "limit_hours": f"{max_seconds / 3600:g}",
                               "iterations": iterations}
    return None
