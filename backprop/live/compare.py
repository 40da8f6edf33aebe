"""Telling runs apart: which config fields differ, short labels as codes and values, the comparison table."""


def describe(config, fields=None):
    """A short label naming ``fields`` of config (the usual ones if None) as [(code, value)], in order.

    Codes are the field names, but weight_init is "weight_init_std" (value: the std), "weight_init_xavier"
    or "weight_init_he", and train_size 0 is "train_size_all"; hidden_sizes comes as "50-50".
    The page words each code (e.g. "lr" -> "lr={value:g}").
    """
    parts = []
    for field in fields or ("optimizer", "lr", "hidden_sizes", "batch_size"):
        value = getattr(config, field)
        if field == "hidden_sizes":
            value = "-".join(map(str, value))
        elif field == "weight_init":
            field = f"weight_init_{value}" if isinstance(value, str) else "weight_init_std"
        elif field == "train_size" and not value:
            field = "train_size_all"
        parts.append((field, value))
    return parts


def distinguishing_fields(configs):
    """The config fields whose values differ among ``configs`` (in TrainConfig order)."""
    if len(configs) < 2:
        return ()
    dicts = [c.to_dict() for c in configs]
    return tuple(k for k in dicts[0] if any(d[k] != dicts[0][k] for d in dicts[1:]))


def runs_table(records):
    """One row per record for the comparison table: its config against final accuracy and time."""
    rows = []
    for r in records:
        c = r.config
        train, test = r.final
        rows.append({
            "run": r.run_id, "label": r.label, "status": r.status, "dataset": c.dataset,
            "optimizer": c.optimizer, "lr": c.lr, "hidden": "-".join(map(str, c.hidden_sizes)),
            "activation": c.activation,
            "init": c.weight_init,  # a std, "xavier" or "he"
            "batch": c.batch_size, "weight_decay": c.weight_decay, "images": c.train_size or None,
            "iterations": r.iterations, "train_acc": train, "test_acc": test, "seconds": r.seconds,
            "changed": bool(r.adjustments), "diverged": r.diverged,
        })
    return rows
