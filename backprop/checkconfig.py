"""The gradient check page's configuration: ``CheckConfig`` (frozen, reproducible from itself) and
its entry points ``run_check`` and ``run_sweep``, which build the config's net, planted bug included,
on the config's images of a data set.
"""
import difflib
import time
from dataclasses import dataclass, replace

import numpy as np

from . import urlstate as U
from .gradcheck import gradient_check
from .hsweep import h_sweep
from .planted_bugs import BUGS, build_net


H_CHOICES = tuple(float(f"1e-{k}") for k in range(1, 13))  # the page's h slider: 1e-1 ... 1e-12
MAX_BATCH = 100  # a gradient check needs a few images (the book uses 3); the loop's time grows with N


@dataclass(frozen=True)
class CheckConfig:
    """One check of the explorer page: TwoLayerNet(784, hidden_size, 10) on images first_image.. of a data set.

    weight_init : a std (float), "xavier" or "he"; entries : None (every entry) or K sampled per parameter;
    bug : None or a key of ``planted_bugs.BUGS``. The same config and seed always give the same numbers.
    """

    hidden_size: int = 50
    activation: str = "relu"
    weight_init: object = 0.01
    batch_size: int = 3
    first_image: int = 0
    h: float = 1e-4
    dtype: str = "float64"
    seed: int = 0
    entries: int | None = None
    method: str = "fast"
    bug: str | None = None

    def problems(self, n_images):
        """Why this config cannot run on a data set of n_images images: [(code, values)], empty if it can.

        Codes (the page words each one): h, hidden, batch_small, batch_large, images_past_end, entries,
        activation, dtype, method, weight_init, bug, bug_activation.
        """
        out = []
        if not (isinstance(self.h, (int, float)) and np.isfinite(self.h) and self.h > 0):
            out.append(("h", {"h": self.h}))
        if self.hidden_size < 1:
            out.append(("hidden", {"hidden": self.hidden_size}))
        if self.batch_size < 1:
            out.append(("batch_small", {"batch": self.batch_size}))
        elif self.batch_size > n_images:
            out.append(("batch_large", {"batch": self.batch_size, "n": n_images}))
        elif self.first_image < 0 or self.first_image + self.batch_size > n_images:
            out.append(("images_past_end", {"first": self.first_image, "last": self.first_image + self.batch_size - 1,
                                            "n": n_images}))
        if self.entries is not None and self.entries < 1:
            out.append(("entries", {"entries": self.entries}))
        if self.activation not in ("relu", "sigmoid"):
            out.append(("activation", {"activation": self.activation}))
        if self.dtype not in ("float64", "float32"):
            out.append(("dtype", {"dtype": self.dtype}))
        if self.method not in ("fast", "loop"):
            out.append(("method", {"method": self.method}))
        if not (self.weight_init in ("xavier", "he") or (
                isinstance(self.weight_init, (int, float)) and np.isfinite(self.weight_init) and self.weight_init > 0)):
            out.append(("weight_init", {"weight_init": self.weight_init}))
        if self.bug is not None:
            if self.bug not in BUGS:
                out.append(("bug", {"bug": self.bug}))
            elif BUGS[self.bug].activation not in (None, self.activation):
                out.append(("bug_activation", {"bug": self.bug, "activation": BUGS[self.bug].activation}))
        return out

    def n_entries(self):
        """How many entries a check of this config compares (all, or up to K per parameter)."""
        sizes = (784 * self.hidden_size, self.hidden_size, self.hidden_size * 10, 10)
        return sum(sizes) if self.entries is None else sum(min(self.entries, s) for s in sizes)

    def net(self):
        """The TwoLayerNet this config describes, with its planted bug (if any) swapped in."""
        return build_net(self.bug, input_size=784, hidden_size=self.hidden_size, output_size=10,
                         weight_init_std=self.weight_init, activation=self.activation,
                         dtype=np.dtype(self.dtype), seed=self.seed)

    def batch(self, images, labels):
        """(x (N, 784) in [0, 1] in this config's dtype, t (N,) int labels) for images first_image.. of a data set."""
        sl = slice(self.first_image, self.first_image + self.batch_size)
        dtype = np.dtype(self.dtype)
        x = np.asarray(images[sl]).reshape(self.batch_size, -1).astype(dtype) / dtype.type(255)
        return x, np.asarray(labels[sl]).astype(np.intp)

    def sweep_key(self):
        """The part of the config an h sweep depends on (the sweep runs every h, both dtypes, no bug)."""
        return replace(self, h=1e-4, dtype="float64", entries=None, method="fast", bug=None)


def loop_seconds_estimate(config, images, labels, repeats=3):
    """Rough time of the book's loop for this config: two forward passes per entry, timed on its net."""
    x, t = config.batch(images, labels)
    net = config.net()
    net.loss(x, t)  # warm up
    start = time.perf_counter()
    for _ in range(repeats):
        net.loss(x, t)
    return 2 * config.n_entries() * (time.perf_counter() - start) / repeats


class ConfigProblems(ValueError):
    """A CheckConfig that cannot run: ``problems`` is its list of (code, values), as ``CheckConfig.problems``."""

    def __init__(self, problems):
        super().__init__("; ".join(code for code, _ in problems))
        self.problems = problems


def _raise_problems(config, n_images):
    problems = config.problems(n_images)
    if problems:
        raise ConfigProblems(problems)


def run_check(config, images, labels, *, exclude_kinks=True, progress=None):
    """``gradient_check`` of ``config.net()`` on the config's images of (images (M, 28, 28), labels (M,))."""
    _raise_problems(config, len(images))
    x, t = config.batch(images, labels)
    return gradient_check(config.net(), x, t, h=config.h, entries=config.entries, seed=config.seed,
                          method=config.method, exclude_kinks=exclude_kinks, progress=progress)


def run_sweep(config, images, labels, *, entries=20, progress=None):
    """``h_sweep`` of the config's net without its bug, on the config's images, in float64 and float32."""
    config = config.sweep_key()
    _raise_problems(config, len(images))
    x, t = config.batch(images, labels)
    return h_sweep(config.net(), x, t, entries=entries, seed=config.seed, progress=progress)


def fit_images(first, batch, n_images, max_batch=MAX_BATCH):
    """(first, batch, moved): the batch clamped to 1..min(max_batch, n_images), and the first image moved
    back (moved True) when first..first + batch - 1 would run past the data set's end."""
    batch = min(max(int(batch), 1), max_batch, n_images)
    first = max(int(first), 0)
    if first + batch > n_images:
        return n_images - batch, batch, True
    return first, batch, False


# The page's URL and its moments ----------------------------------------------------------------------
NO_BUG = "none"  # the page's "no bug" option (a selectbox shows None as "nothing chosen")
INIT_CHOICES = {"0.01": 0.01, "0.1": 0.1, "xavier": "xavier", "he": "he"}  # URL text -> weight_init
TABS = ("heatmaps", "tiles", "scatter", "sweep")
PARAMS = ("W1", "b1", "W2", "b2")
URL_FIELDS = U.table(
    U.Choice("gc_bug", NO_BUG, (NO_BUG, *BUGS)),
    U.Choice("gc_activation", "relu", ("relu", "sigmoid")),
    U.Float("gc_h", 1e-4, lo=0.0, hi=H_CHOICES[0]),  # snap_h: 0 is no step
    U.Choice("gc_method", "fast", ("fast", "loop")),
    U.Choice("gc_dtype", "float64", ("float64", "float32")),
    U.Int("gc_hidden", 50, lo=1, hi=200),
    U.Choice("gc_init", "0.01", tuple(INIT_CHOICES)),
    U.Int("gc_seed", 0, lo=0, hi=2**31 - 1),
    U.Int("gc_batch", 3, lo=1, hi=MAX_BATCH),
    U.Int("gc_first", 0, lo=0, hi=69_999),
    U.Bool("gc_sample", False),
    U.Int("gc_entries", 100, lo=1, hi=40_000),
    U.Bool("gc_kinks", True),
    U.Choice("gc_param", "W1", PARAMS),
    U.Choice("gc_tab", "heatmaps", TABS),
)
# The story a lecture tells, one moment per step: (code, URL values that differ from the defaults).
# Correct code first, then each planted bug (its layer in the net, its first broken parameter shown),
# then float32 judged honestly, then the h sweep. A move to another moment resets STORY_FIELDS.
STORY_BUGS = ("relu_mask_wrong_side", "softmax_no_batch_divide", "affine_db_wrong_axis", "sigmoid_backward_from_input")
MOMENTS = (
    ("correct", {}),
    *((f"bug_{key}", {"gc_bug": key, "gc_param": BUGS[key].corrupts[0],
                      **({"gc_activation": BUGS[key].activation} if BUGS[key].activation else {})})
      for key in STORY_BUGS),
    ("float32", {"gc_dtype": "float32"}),
    ("sweep", {"gc_tab": "sweep"}),
)
STORY_FIELDS = ("gc_bug", "gc_activation", "gc_param", "gc_tab", "gc_dtype")


def moment_fields(k):
    """URL_FIELDS with moment k's values as defaults: a moment's URL names only what differs from it."""
    preset = MOMENTS[k][1]
    return {name: replace(f, default=preset.get(name, f.default)) for name, f in URL_FIELDS.items()}


def snap_h(h):
    """The slider's h nearest to h on a log scale, and whether h was one of them already (h <= 0: 1e-4)."""
    if not h > 0:
        return 1e-4, False
    nearest = min(H_CHOICES, key=lambda c: abs(np.log10(c) - np.log10(h)))
    return nearest, bool(np.isclose(nearest, h, rtol=1e-9, atol=0))


def config_from_state(state):
    """The CheckConfig of a parsed URL state (URL_FIELDS' names), the bug None when it is NO_BUG."""
    return CheckConfig(
        hidden_size=state["gc_hidden"], activation=state["gc_activation"],
        weight_init=INIT_CHOICES[state["gc_init"]], batch_size=state["gc_batch"], first_image=state["gc_first"],
        h=state["gc_h"], dtype=state["gc_dtype"], seed=state["gc_seed"],
        entries=state["gc_entries"] if state["gc_sample"] else None, method=state["gc_method"],
        bug=None if state["gc_bug"] == NO_BUG else state["gc_bug"])


def changed_lines(right, wrong):
    """The lines of source ``wrong`` that differ from ``right`` as (right lines, wrong lines), stripped."""
    removed, added = [], []
    for line in difflib.ndiff(right.splitlines(), wrong.splitlines()):
        if line.startswith("- "):
            removed.append(line[2:].strip())
        elif line.startswith("+ "):
            added.append(line[2:].strip())
    return removed, added
