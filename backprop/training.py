"""Mini-batch training of chapter 5.7.4: a frozen config, and a Trainer that steps and never prints.

A run is reproducible from its ``TrainConfig`` alone: the seed fixes the initial weights and the
sequence of mini-batches, so pausing between steps changes nothing.
"""
import math
import numbers
import operator
import time
from dataclasses import asdict, dataclass, fields, replace

import numpy as np

from .datasets import SOURCES, load_dataset
from .health import update_ratios
from .net import MultiLayerNet
from .optimizers import OPTIMIZERS, make_optimizer

# The parameters each optimizer takes besides lr (book defaults live in TrainConfig).
OPTIMIZER_PARAMS = {
    "SGD": (), "Momentum": ("momentum",), "Nesterov": ("momentum",), "AdaGrad": (),
    "RMSprop": ("decay_rate",), "Adam": ("beta1", "beta2"),
}
BATCH_BLOCK = 64  # mini-batches of indices drawn per generator call
CHECKPOINT_EVERY = 16  # steps between copies of the weights kept to undo a divergence
EVAL_CHUNK = 1000  # images per forward pass when evaluating: the training process obeys Pause between
# chunks, and a chunk this size stays in cache (faster than 2,000, and the training steps after it are faster too)
# Knobs that may change in the middle of a run; every other field needs a new run.
LIVE_FIELDS = ("lr", "momentum", "decay_rate", "beta1", "beta2", "batch_size")
_UNIT = lambda v: 0 <= v < 1  # noqa: E731
# name -> (Python type, test). NumPy scalars are accepted and stored as Python numbers. A failed test is
# reported with the field's name as its code (the page words it: problem_lr = "lr must be a positive number").
_NUMBER_FIELDS = {
    "lr": (float, lambda v: math.isfinite(v) and v > 0),
    "momentum": (float, _UNIT), "decay_rate": (float, _UNIT), "beta1": (float, _UNIT), "beta2": (float, _UNIT),
    "batch_size": (int, lambda v: v > 0),
    "iterations": (int, lambda v: v > 0),
    "weight_decay": (float, lambda v: math.isfinite(v) and v >= 0),
    "train_size": (int, lambda v: v >= 0),
    "seed": (int, lambda v: v >= 0),
}


class ConfigError(ValueError):
    """A TrainConfig was refused. ``problems``: [(code, values)], e.g. ("lr", {"got": -1.0}); the codes are
    the field names plus "unknown_fields", "unreadable" and "frozen_fields" (pages word them)."""

    def __init__(self, problems):
        self.problems = tuple(problems)
        super().__init__("invalid training config: " + "; ".join(f"{code} {values}" for code, values in self.problems))

    def __reduce__(self):  # the problems, not the message, rebuild it (it crosses the process boundary)
        return ConfigError, (self.problems,)


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a run. Defaults are the book's chapter 5 run (train_neuralnet.py)."""

    dataset: str = "sample"  # "sample", "full" or "fashion" (see backprop.datasets)
    hidden_sizes: tuple = (50,)
    activation: str = "relu"
    weight_init: object = 0.01  # a std (float), "xavier" or "he"
    optimizer: str = "SGD"
    lr: float = 0.1
    momentum: float = 0.9  # Momentum, Nesterov
    decay_rate: float = 0.99  # RMSprop
    beta1: float = 0.9  # Adam
    beta2: float = 0.999  # Adam
    batch_size: int = 100
    iterations: int = 10_000
    weight_decay: float = 0.0  # L2 lambda
    train_size: int = 0  # use only the first n training images (0: all), e.g. 300 to overfit
    seed: int = 0
    dtype: str = "float32"

    def __post_init__(self):
        problems = []
        if not (isinstance(self.dataset, str) and self.dataset in SOURCES):
            problems.append(("dataset", {"got": self.dataset, "choices": ", ".join(SOURCES)}))
        try:
            if isinstance(self.hidden_sizes, str):
                raise TypeError
            object.__setattr__(self, "hidden_sizes", tuple(operator.index(h) for h in self.hidden_sizes))
        except TypeError:
            problems.append(("hidden_sizes", {"got": self.hidden_sizes}))
        else:
            if not self.hidden_sizes or min(self.hidden_sizes) < 1:
                problems.append(("hidden_sizes", {"got": self.hidden_sizes}))
        if self.optimizer not in OPTIMIZERS:
            problems.append(("optimizer", {"got": self.optimizer, "choices": ", ".join(OPTIMIZERS)}))
        if self.activation not in ("relu", "sigmoid"):
            problems.append(("activation", {"got": self.activation}))
        init = self.weight_init
        if isinstance(init, numbers.Real) and not isinstance(init, bool) and math.isfinite(init) and init > 0:
            object.__setattr__(self, "weight_init", float(init))
        elif not (isinstance(init, str) and init in ("xavier", "he")):
            problems.append(("weight_init", {"got": init}))
        for name, (kind, valid) in _NUMBER_FIELDS.items():
            value = getattr(self, name)
            abc = numbers.Integral if kind is int else numbers.Real
            # bool is an int to Python, but lr=True is a mistake; strings would raise TypeError in `valid`.
            if isinstance(value, abc) and not isinstance(value, bool) and valid(value):
                object.__setattr__(self, name, kind(value))  # Python numbers: to_dict stays JSON-able
            else:
                problems.append((name, {"got": value}))
        if self.dtype not in ("float32", "float64"):
            problems.append(("dtype", {"got": self.dtype}))
        if problems:
            raise ConfigError(problems)

    def optimizer_kwargs(self):
        return {"lr": self.lr, **{name: getattr(self, name) for name in OPTIMIZER_PARAMS[self.optimizer]}}

    def to_dict(self):
        """Plain JSON-able values (for URLs, CSV and .npz metadata)."""
        d = asdict(self)
        d["hidden_sizes"] = list(self.hidden_sizes)
        return d

    @classmethod
    def from_dict(cls, d):
        """A config from ``to_dict`` output (or URL strings); unknown keys are an error, missing ones default."""
        known = {f.name: f for f in fields(cls)}
        unknown = set(d) - set(known)
        if unknown:
            raise ConfigError([("unknown_fields", {"fields": ", ".join(sorted(unknown))})])
        kwargs = {}
        defaults = cls()
        for name, value in d.items():
            default = getattr(defaults, name)
            try:
                if name == "hidden_sizes":
                    parts = value.split(",") if isinstance(value, str) else value
                    kwargs[name] = tuple(int(p) for p in parts)
                elif name == "weight_init":
                    kwargs[name] = value if value in ("xavier", "he") else float(value)
                elif isinstance(default, bool):
                    kwargs[name] = str(value).lower() in ("1", "true")
                elif isinstance(default, int):
                    kwargs[name] = int(value)
                elif isinstance(default, float):
                    kwargs[name] = float(value)
                else:
                    kwargs[name] = str(value)
            except (TypeError, ValueError):
                raise ConfigError([("unreadable", {"field": name, "got": value})]) from None
        return cls(**kwargs)


@dataclass(frozen=True)
class StepRecord:
    """What one training step did."""

    iteration: int  # 1-based count of steps taken, including this one
    loss: float  # mini-batch loss before the update
    epoch_end: bool  # this step completed an epoch (time to evaluate)
    diverged: bool  # the loss was NaN or infinite: the update was skipped, broken weights restored
    ratios: tuple | None = None  # update-to-weight ratio of W1, W2, ... if asked for (see update_ratios)


@dataclass(frozen=True)
class EvalRecord:
    iteration: int
    epoch: float
    train_acc: float
    test_acc: float


class Trainer:
    """Trains a MultiLayerNet on a dataset, one mini-batch per ``step()``.

    data : a ``backprop.datasets.Dataset`` (uint8 images); by default ``load_dataset(config.dataset)``.
    Batches are converted to float in [0, 1] as they are drawn, so the shared uint8 dataset is
    never copied whole.
    """

    def __init__(self, config=None, data=None):
        self.config = config or TrainConfig()
        data = data if data is not None else load_dataset(self.config.dataset)
        n = self.config.train_size or len(data.x_train)
        # np.asarray: a plain view of a memory-mapped shared copy (backprop/live/shared.py), not a copy. As
        # np.memmap every slice and product of it went through the subclass's hooks, 5% of a step's time.
        self.x_train = np.asarray(data.x_train[:n]).reshape(min(n, len(data.x_train)), -1)
        self.t_train = data.t_train[:n].astype(np.intp)
        self.x_test = np.asarray(data.x_test).reshape(len(data.x_test), -1)
        self.t_test = data.t_test.astype(np.intp)
        self.dataset_title = getattr(data, "title", "")

        # Two independent streams from one seed: initial weights, and the order of mini-batches.
        init_seq, batch_seq = np.random.SeedSequence(self.config.seed).spawn(2)
        self.batch_rng = np.random.default_rng(batch_seq)
        c = self.config
        self.dtype = np.dtype(c.dtype)
        self.net = MultiLayerNet(
            self.x_train.shape[1], c.hidden_sizes, 10, weight_init_std=c.weight_init,
            activation=c.activation, weight_decay_lambda=c.weight_decay, dtype=self.dtype,
            seed=np.random.default_rng(init_seq),
        )
        self.optimizer = make_optimizer(c.optimizer, **c.optimizer_kwargs())
        self.iteration = 0
        self.seconds = 0.0  # time spent inside step()
        self._scale = self.dtype.type(1 / 255)
        self._pixels = self._x = None  # batch buffers, uint8 and float
        self._batches, self._next = None, 0  # pre-drawn mini-batch indices, and the next row to use
        self._saved = None  # the weights at the last checkpoint

    @property
    def train_size(self):
        return len(self.x_train)

    @property
    def iter_per_epoch(self):
        return iterations_per_epoch(self.train_size, self.config.batch_size)

    @property
    def epoch(self):
        return self.iteration / self.iter_per_epoch

    def step(self, ratios=False):
        """One mini-batch: forward, backward, update. Returns a StepRecord; never prints.

        ratios: also measure each weight matrix's update-to-weight ratio (StepRecord.ratios; costs a copy).

        A non-finite loss skips the update and reports divergence. An update that overflows shows
        up one step later: NaN or infinite weights always give a NaN loss (inf * 0 is NaN), so the
        loss, a free scalar, catches every divergence. Weights broken that way are put back to
        the last checkpoint (taken every CHECKPOINT_EVERY steps), so a run can resume at a lower lr.
        """
        start = time.perf_counter()
        b = self.config.batch_size
        idx = self._next_batch(b)
        if self._x is None or self._x.shape[0] != b:  # reused buffers: no allocation per step
            self._pixels = np.empty((b, self.x_train.shape[1]), dtype=np.uint8)
            self._x = np.empty((b, self.x_train.shape[1]), dtype=self.dtype)
        np.take(self.x_train, idx, axis=0, out=self._pixels)
        np.copyto(self._x, self._pixels)  # uint8 -> float, then scale in place: faster than one mixed-type op
        self._x *= self._scale
        loss, grads = self.net.loss_and_gradient(self._x, self.t_train[idx])
        diverged = not math.isfinite(loss)
        measured = None
        if diverged:
            self._restore_if_broken()
        else:
            if self.iteration % CHECKPOINT_EVERY == 0:
                self._checkpoint()
            before = {k: p.copy() for k, p in self.net.params.items() if k.startswith("W")} if ratios else None
            self.optimizer.update(self.net.params, grads)
            if ratios:
                measured = tuple(update_ratios(before, self.net.params).values())
        self.iteration += 1
        self.seconds += time.perf_counter() - start
        return StepRecord(self.iteration, loss, self.iteration % self.iter_per_epoch == 0, diverged, measured)

    def weights_finite(self):
        """Whether every weight is a finite number (after a divergence: can the run go on?)."""
        return all(bool(np.isfinite(p).all()) for p in self.net.params.values())

    def _checkpoint(self):
        if self._saved is None:
            self._saved = {key: np.empty_like(p) for key, p in self.net.params.items()}
        for key, p in self.net.params.items():
            np.copyto(self._saved[key], p)

    def _restore_if_broken(self):
        """Copy the checkpoint back in place (the layers share these arrays) if any weight is not finite."""
        params = self.net.params
        if self._saved is not None and not all(np.isfinite(p).all() for p in params.values()):
            for key, p in params.items():
                np.copyto(p, self._saved[key])

    def _next_batch(self, batch_size):
        """Indices of the next mini-batch, drawn with replacement as the book does.

        Drawn BATCH_BLOCK batches at a time (one generator call instead of one per step); the
        sequence depends only on the seed and the batch sizes used, so pausing changes nothing.
        """
        if self._batches is None or self._batches.shape[1] != batch_size or self._next == len(self._batches):
            self._batches = self.batch_rng.integers(0, self.train_size, size=(BATCH_BLOCK, batch_size))
            self._next = 0
        self._next += 1
        return self._batches[self._next - 1]

    def evaluate(self):
        """Accuracy on the whole training set and the whole test set (the book's per-epoch check)."""
        evaluation = self.evaluation()
        while not evaluation.advance():
            pass
        return evaluation.record()

    def evaluation(self, chunk=EVAL_CHUNK):
        """An Evaluation of the current weights, to be advanced one chunk of images at a time."""
        return Evaluation(self, chunk)

    def accuracy(self, x_uint8, t, chunk=EVAL_CHUNK):
        return self.net.accuracy(x_uint8, t, chunk, scale=self._scale)

    def adjust(self, **changes):
        """Change knobs mid-run (only LIVE_FIELDS); they take effect from the next step."""
        check_live_fields(changes)
        self.config = replace(self.config, **changes)
        for name, value in self.config.optimizer_kwargs().items():
            setattr(self.optimizer, name, value)


class Evaluation:
    """The book's per-epoch accuracies on the whole training and test sets, ``chunk`` images per ``advance()``.

    The training process advances it between two looks at its messages, so Pause is obeyed within
    one chunk; ``Trainer.evaluate`` advances it to the end at once.
    """

    def __init__(self, trainer, chunk=EVAL_CHUNK):
        self.trainer = trainer
        self.chunk = chunk
        self._sets = ((trainer.x_train, trainer.t_train), (trainer.x_test, trainer.t_test))
        self._correct = [0, 0]
        self._set, self._start = 0, 0

    def advance(self):
        """Evaluate the next chunk; True once both sets are done."""
        if self._set < 2:
            x, t = self._sets[self._set]
            end = self._start + self.chunk
            self._correct[self._set] += self.trainer.net.count_correct(
                x[self._start:end], t[self._start:end], self.chunk, scale=self.trainer._scale)
            self._start = end
            if self._start >= len(x):
                self._set, self._start = self._set + 1, 0
        return self._set == 2

    def record(self):
        tr = self.trainer
        return EvalRecord(tr.iteration, tr.epoch, self._correct[0] / len(tr.x_train),
                          self._correct[1] / len(tr.x_test))


def iterations_per_epoch(n_images, batch_size):
    """The book's max(train_size / batch_size, 1), rounded to whole steps."""
    return max(n_images // batch_size, 1)


def check_live_fields(changes):
    """Raise ConfigError ("frozen_fields") if ``changes`` names a field that needs a new run."""
    frozen = set(changes) - set(LIVE_FIELDS)
    if frozen:
        raise ConfigError([("frozen_fields", {"fields": ", ".join(sorted(frozen))})])


# --- For the live page: the book's runs as presets, a network from saved weights (sanity checks: health.py)

def _ch6(**changes):
    """Chapter 6's experiments: four hidden ReLU layers of 100, He init, batch 128, 2,000 iterations."""
    return TrainConfig(**{"hidden_sizes": (100, 100, 100, 100), "weight_init": "he", "optimizer": "SGD",
                          "lr": 0.01, "batch_size": 128, "iterations": 2000, **changes})


# key -> ((run label, config), ...). One run is a setting; several are a comparison, run one after another.
PRESETS = {
    # ch05/train_neuralnet.py
    "ch5": (("ch5", TrainConfig()),),
    # ch06/optimizer_compare_mnist.py (the book leaves RMSprop commented out)
    "ch6_optimizers": tuple((name, _ch6(optimizer=name, lr=lr))
                            for name, lr in (("SGD", 0.01), ("Momentum", 0.01), ("AdaGrad", 0.01), ("Adam", 0.001))),
    # ch06/weight_init_compare.py: the book's 'sigmoid' and 'relu' mean Xavier and He
    "ch6_init": tuple((name, _ch6(weight_init=init))
                      for name, init in (("std=0.01", 0.01), ("Xavier", "xavier"), ("He", "he"))),
    # ch06/overfit_weight_decay.py: 300 images, six layers of 100, 201 evaluations (3 steps an epoch)
    "ch6_overfit": tuple(
        (name, TrainConfig(hidden_sizes=(100,) * 6, weight_init="he", lr=0.01, batch_size=100, iterations=600,
                           train_size=300, weight_decay=lam))
        for name, lam in (("λ=0", 0.0), ("λ=0.1", 0.1))
    ),
}


def param_shapes(config, input_size=784, output_size=10):
    """{"W1": (784, h1), "b1": (h1,), ...}: the parameters a network built from ``config`` has."""
    sizes = [input_size, *config.hidden_sizes, output_size]
    shapes = {}
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        shapes[f"W{i}"] = (n_in, n_out)
        shapes[f"b{i}"] = (n_out,)
    return shapes


def net_from_params(config, params):
    """A MultiLayerNet shaped by ``config`` holding copies of ``params`` (keys and shapes as param_shapes)."""
    input_size = params["W1"].shape[0]
    output_size = params[f"W{len(config.hidden_sizes) + 1}"].shape[1]
    net = MultiLayerNet(input_size, config.hidden_sizes, output_size, activation=config.activation,
                        weight_decay_lambda=config.weight_decay, dtype=np.dtype(config.dtype), seed=0)
    return net.load_params(params)
