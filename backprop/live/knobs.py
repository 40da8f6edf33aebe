"""The training page's knobs <-> TrainConfig, and a config <-> the query of a reproduce link. Pure functions.

Knobs are a dict named as in KNOBS: the network as layers x width, the weight init as a name ("std",
"xavier", "he") plus a std, and the run's length in iterations or epochs.
"""
from dataclasses import replace
from urllib.parse import urlencode

from ..training import ConfigError, TrainConfig, iterations_per_epoch

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
    """``base`` (the page's URL without a query) with the query that sets the knobs to ``config``."""
    query = config_query(config)
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
