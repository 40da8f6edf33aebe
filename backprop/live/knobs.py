"""The training page's knobs <-> TrainConfig, and knobs <-> the page's URL (and reproduce links). Pure functions.

Knobs are a dict named as in KNOBS: the network as layers x width, the weight init as a name ("std",
"xavier", "he") plus a std, and the run's length in iterations or epochs.

The URL: ``URL_FIELDS`` is the one urlstate table of the page (every knob, the preset, the inspection
tab and the inspected run), its ranges those of the knobs (LIMITS), so a link can never ask for more
than the sidebar can: ``knobs_from_url(query)`` gives (knobs, page, problems) and ``url_from_knobs``
the query back; ``reproduce_link`` writes a run's config through the same table.
"""
import math
import re
from dataclasses import replace
from urllib.parse import urlencode

from .. import urlstate as U
from ..datasets import SOURCES
from ..optimizers import OPTIMIZERS
from ..training import ConfigError, PRESETS, TrainConfig, iterations_per_epoch

KNOBS = ("dataset", "layers", "width", "activation", "init", "std", "optimizer", "lr", "momentum", "decay_rate",
         "beta1", "beta2", "batch_size", "unit", "length", "weight_decay", "train_size", "seed", "dtype")
_SAME = ("dataset", "activation", "optimizer", "lr", "momentum", "decay_rate", "beta1", "beta2", "batch_size",
         "weight_decay", "train_size", "seed", "dtype")  # knobs that are config fields as they are


def knobs_epoch_length(knobs, n_images):
    """Iterations per epoch for the knobs' batch size and training images, on a data set of ``n_images``."""
    used = min(knobs["train_size"], n_images) if knobs["train_size"] else n_images
    return iterations_per_epoch(used, knobs["batch_size"])


def knobs_from_config(config, std=0.01):
    """The knobs that show ``config`` (length in iterations); ``std`` is kept for a named init."""
    knobs = {name: getattr(config, name) for name in _SAME}
    named = isinstance(config.weight_init, str)
    knobs.update(layers=len(config.hidden_sizes), width=config.hidden_sizes[0],
                 init=config.weight_init if named else "std", std=std if named else float(config.weight_init),
                 unit="iterations", length=config.iterations)
    for name in ("lr", "momentum", "decay_rate", "beta1", "beta2", "weight_decay"):
        knobs[name] = float(knobs[name])
    return knobs


def config_from_knobs(knobs, n_images):
    """The TrainConfig the knobs show; ``n_images``: training images of the knobs' data set (for epochs)."""
    iterations = int(knobs["length"])
    if knobs["unit"] == "epochs":
        iterations *= knobs_epoch_length(knobs, n_images)
    return TrainConfig(hidden_sizes=(knobs["width"],) * knobs["layers"], iterations=iterations,
                       weight_init=knobs["std"] if knobs["init"] == "std" else knobs["init"],
                       **{name: knobs[name] for name in _SAME if name != "seed"}, seed=int(knobs["seed"]))


def convert_length(knobs, n_images):
    """The knobs' length in their (new) unit, keeping the run as long when the unit was just switched."""
    ipe = knobs_epoch_length(knobs, n_images)
    if knobs["unit"] == "epochs":
        return max(1, round(knobs["length"] / ipe))
    return knobs["length"] * ipe


def config_query(config):
    """The fields of ``config`` that differ from the defaults, as strings for a URL's query."""
    defaults = TrainConfig().to_dict()
    query = {}
    for key, value in config.to_dict().items():
        if value == defaults[key]:
            continue
        if key == "hidden_sizes":
            query[key] = ",".join(map(str, value))
        elif isinstance(value, float):
            query[key] = repr(value)
        else:
            query[key] = str(value)
    return query


def reproduce_link(base, config):
    """``base`` (the page's URL without a query) with the query that sets the knobs to ``config``
    (written through URL_FIELDS, as the page's own URL; a std init keeps its std)."""
    knobs = knobs_from_config(config, std=config.weight_init if isinstance(config.weight_init, float) else 0.01)
    query = url_from_knobs(knobs, preset="custom")
    query.pop("preset", None)  # a link with knobs and no preset is "custom"
    return base + ("?" + urlencode(query, safe=",") if query else "")


def config_from_query(query, available=None):
    """(TrainConfig, problems) from URL query values (other keys are ignored); (None, []) if none given.

    problems: [(code, values)] as ConfigError.problems, plus ("dataset_missing", {dataset}) when the
    data set is not among ``available`` (then "sample" is used). A bad value keeps its default; the
    other fields still apply.
    """
    names = set(TrainConfig().to_dict())
    given = {k: query[k] for k in query if k in names}
    if not given:
        return None, []
    good, problems = {}, []
    for key, value in given.items():
        try:
            TrainConfig.from_dict({key: value})
            good[key] = value
        except ConfigError as e:
            problems.extend(e.problems)
    try:
        config = TrainConfig.from_dict(good)
    except ConfigError as e:  # fields fine alone but not together
        config, problems = TrainConfig(), problems + list(e.problems)
    if available is not None and config.dataset not in available:
        problems.append(("dataset_missing", {"dataset": config.dataset}))
        config = replace(config, dataset="sample")
    return config, problems


# --- the page's URL: one table, bounded by the knobs' ranges ---------------------------------------------

# The largest network, run and batch the sidebar can make; a link is held to the same (issue 13).
LIMITS = {"layers": 8, "width": 1000, "batch_size": 1000, "iterations": 1_000_000, "epochs": 1000,
          "train_size": 60_000, "seed": 2**31 - 1, "lr": (1e-4, 10.0), "std": (1e-4, 1.0), "weight_decay": 1.0}
INSPECT_TABS = ("weights", "predictions", "confusion", "mistakes", "draw")
_DEFAULT = TrainConfig()
_INIT = re.compile(r"xavier|he|[0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?", re.ASCII)

URL_FIELDS = U.table(
    U.Choice("preset", "ch5", ("custom", *PRESETS)),
    U.Choice("dataset", _DEFAULT.dataset, SOURCES),
    U.IntList("hidden_sizes", _DEFAULT.hidden_sizes, lo=1, hi=LIMITS["width"], max_items=LIMITS["layers"]),
    U.Choice("activation", _DEFAULT.activation, ("relu", "sigmoid")),
    U.Str("weight_init", repr(_DEFAULT.weight_init), max_len=16, pattern=_INIT.pattern),
    U.Choice("optimizer", _DEFAULT.optimizer, tuple(OPTIMIZERS)),
    U.Float("lr", _DEFAULT.lr, lo=LIMITS["lr"][0], hi=LIMITS["lr"][1]),
    U.Float("momentum", _DEFAULT.momentum, lo=0.0, hi=0.999),
    U.Float("decay_rate", _DEFAULT.decay_rate, lo=0.0, hi=0.9999),
    U.Float("beta1", _DEFAULT.beta1, lo=0.0, hi=0.999),
    U.Float("beta2", _DEFAULT.beta2, lo=0.0, hi=0.99999),
    U.Int("batch_size", _DEFAULT.batch_size, lo=1, hi=LIMITS["batch_size"]),
    U.Int("iterations", _DEFAULT.iterations, lo=1, hi=LIMITS["iterations"]),
    U.Int("epochs", 0, lo=0, hi=LIMITS["epochs"]),  # 0: the length is in iterations
    U.Float("weight_decay", _DEFAULT.weight_decay, lo=0.0, hi=LIMITS["weight_decay"]),
    U.Int("train_size", _DEFAULT.train_size, lo=0, hi=LIMITS["train_size"]),
    U.Int("seed", _DEFAULT.seed, lo=0, hi=LIMITS["seed"]),
    U.Choice("dtype", _DEFAULT.dtype, ("float32", "float64")),
    U.Choice("tab", INSPECT_TABS[0], INSPECT_TABS),
    U.Int("run", 0, lo=0, hi=1_000_000),  # the inspected run: 0 is the current one
)
KNOB_PARAMS = tuple(name for name in URL_FIELDS if name not in ("preset", "tab", "run"))
PAGE_PARAMS = ("preset", "tab", "run")


def _weight_init(text, problems):
    """The knobs' (init, std) from a URL's weight_init: "xavier", "he" or a std within LIMITS["std"]."""
    if text in ("xavier", "he"):
        return text, 0.01
    lo, hi = LIMITS["std"]
    std = float(text)
    if not (math.isfinite(std) and lo <= std <= hi):
        used = min(max(std, lo), hi) if math.isfinite(std) else _DEFAULT.weight_init
        problems.append(U.Problem("out_of_range", "weight_init", U.echo(text), used=used, lo=lo, hi=hi))
        std = used
    return "std", std


def knobs_from_url(query):
    """(knobs, page, problems) from a URL query: every knob typed and within the sidebar's ranges.

    page: {"preset", "tab", "run"}; the preset is "custom" when the link sets any knob and names none.
    problems: urlstate.Problem codes, plus "not_uniform" for hidden_sizes whose widths differ (the
    knobs make layers of one width: the first is used)."""
    state, problems = U.parse(URL_FIELDS, query)
    init, std = _weight_init(state["weight_init"], problems)
    hidden = state["hidden_sizes"]
    if len(set(hidden)) > 1:
        problems.append(U.Problem("not_uniform", "hidden_sizes", U.echo(",".join(map(str, hidden))),
                                  used=(hidden[0],) * len(hidden)))
    knobs = {name: state[name] for name in _SAME}
    knobs.update(layers=len(hidden), width=hidden[0], init=init, std=std,
                 unit="epochs" if state["epochs"] else "iterations",
                 length=state["epochs"] or state["iterations"])
    page = {name: state[name] for name in PAGE_PARAMS}
    if "preset" not in query and any(name in query for name in KNOB_PARAMS):
        page["preset"] = "custom"
    return knobs, page, problems


def url_from_knobs(knobs, preset="ch5", tab=INSPECT_TABS[0], run=0):
    """The query (strings, defaults left out) that ``knobs_from_url`` reads back as these knobs."""
    state = {name: knobs[name] for name in _SAME}
    state.update(hidden_sizes=(int(knobs["width"]),) * int(knobs["layers"]),
                 weight_init=knobs["init"] if knobs["init"] != "std" else U.text_of(URL_FIELDS["lr"], knobs["std"]),
                 iterations=int(knobs["length"]) if knobs["unit"] == "iterations" else _DEFAULT.iterations,
                 epochs=int(knobs["length"]) if knobs["unit"] == "epochs" else 0,
                 preset=preset, tab=tab, run=run)
    query = U.write(URL_FIELDS, state)
    if query.get("weight_init") == U.text_of(URL_FIELDS["lr"], _DEFAULT.weight_init):
        del query["weight_init"]
    return query
