"""The runs part of the training page: overlay, comparison table, exports, loading weights; and the wording
of the core's codes (config problems, run errors, refused weight files). Drawn by pages/training.py.
"""
import logging
import weakref

import streamlit as st

from backprop import live
from backprop.training import ConfigError
from backprop.figures import training as figs
from pages import chrome, data_problem

log = logging.getLogger(__name__)
P = "training_"  # session-state prefix of the training page
# Nothing language- or session-dependent at module level: this module is imported once per server
# process, so every function takes the session's catalogue T (render() looks it up).


# --- the core's codes in words ------------------------------------------------------------------------

def g(x):
    """A number as people write it: 0.1 not 0.1000000000000000055, 1e-05 as 1e-05."""
    return f"{x:g}"


def problem_text(T, code, values):
    """One (code, values) of ConfigError.problems or config_from_query, in words."""
    return T[f"problem_{code}"].format(**values)


def error_text(T, error, W=None):
    """What to say for an exception a command raised: the core's codes worded; data that cannot be loaded in
    Home's words (which file, how to restore it); anything else as an internal error, logged with its
    traceback on the server. W: ``data_problem.words()`` (looked up here if None: not in a callback)."""
    if isinstance(error, live.RunError):
        return run_error_text(T, error.error, W)
    if isinstance(error, ConfigError):
        return "; ".join(problem_text(T, code, values) for code, values in error.problems)
    data = data_problem.error_text(W or data_problem.words(), error)
    if data is not None:
        return data
    log.error("a training-page command failed", exc_info=error)
    return T["run_error_bug"]


def run_error_text(T, info, W=None):
    """An ErrorInfo (from the training process or the controller) in words. A "bug" never shows its
    exception: the controller logged the traceback (backprop.live.run). W as for ``error_text``."""
    if info.code == "config":
        return "; ".join(problem_text(T, code, values) for code, values in info.values["problems"])
    if info.code in ("dataset_missing", "data_corrupt"):
        return data_problem.values_text(W or data_problem.words(), info.values)
    if info.code == "bug":
        return T["run_error_bug"]
    return T[f"run_error_{info.code}"].format(**info.values)


def weights_text(T, error):
    """Why a weights file was refused (a WeightsError's code and values), in words."""
    # Names and values come from the file: shown as plain text (no Markdown link or image a file could carry).
    values = {k: chrome.escape_markdown(v) if isinstance(v, str) else v for k, v in error.values.items()}
    if error.code == "bad_config":
        values["problems"] = "; ".join(problem_text(T, c, {k: chrome.escape_markdown(x) for k, x in v.items()})
                                       for c, v in values["problems"]) or T["weights_not_json"]
    if error.code == "mismatch":
        parts = ([T["weights_missing"].format(keys=values["missing"])] if values["missing"] else []) + (
            [T["weights_extra"].format(keys=values["extra"])] if values["extra"] else [])
        values["parts"] = "; ".join(parts)
    for key in ("got", "expected"):
        if key in values:
            values[key] = str(tuple(values[key]))
    if "hidden" in values:
        values["hidden"] = ", ".join(map(str, values["hidden"]))
    return T[f"weights_{error.code}"].format(**values)


def describe(T, config, fields=None):
    """A short label such as "Adam lr=0.001" naming ``fields`` of config."""
    return " ".join(T[f"describe_{code}"].format(value=value) for code, value in live.describe(config, fields))


def names(T, records):
    """'#3 Adam' style names: the run's label, else the config fields that differ among the runs."""
    fields = live.distinguishing_fields([r.config for r in records]) or ("optimizer", "lr")
    fields = [f for f in fields if f not in ("iterations",)][:3] or ["optimizer", "lr"]
    return {r.run_id: f"#{r.run_id} " + (r.label or describe(T, r.config, fields)) for r in records}


# --- compare, export, load -----------------------------------------------------------------------------

def _selection(records):
    """The runs to overlay: freshly ended runs join; a comparison shows its own runs only."""
    ss = st.session_state
    ids = [r.run_id for r in records]
    seen = ss.get(P + "seen_records", [])
    selection = [i for i in ss.get(P + "overlay", []) if i in ids]
    group = ss.get(P + "overlay_group")
    new = [i for i in ids if i not in seen]
    if new:
        grouped = [r.run_id for r in records if group is not None and r.group == group]
        selection = grouped if group is not None and any(
            r.group == group for r in records if r.run_id in new) else selection + new
        finished = [r.run_id for r in records if r.run_id in new and r.status != live.LOADED]
        if finished:
            ss[P + "export"] = finished[-1]  # export the newest run unless the user picks another
    ss[P + "seen_records"] = ids
    return selection[-8:]


def overlay(T, big, records):
    st.session_state[P + "overlay"] = _selection(records)
    ids = [r.run_id for r in records]
    all_names = names(T, records)
    picked = st.multiselect(T["overlay_pick"], ids, key=P + "overlay", format_func=lambda i: all_names[i])
    chosen = [r for r in records if r.run_id in picked]
    overlay_names = names(T, chosen)
    labels = {"loss": T["overlay_loss"], "accuracy": T["overlay_accuracy"], "iterations": T["iterations"],
              "epochs": T["epochs"], "empty": T["overlay_empty"]}
    st.plotly_chart(figs.overlay_figure([(overlay_names[r.run_id], r.curve(), r.evals) for r in chosen],
                                        labels=labels, big=big, height=380 if big else 340),
                    key=P + "overlay_chart")


def _column_config(T):
    cc = st.column_config
    return {
        "run": cc.TextColumn(T["col_run"]), "status": cc.TextColumn(T["col_status"]),
        "dataset": cc.TextColumn(T["col_dataset"]), "optimizer": cc.TextColumn(T["optimizer"]),
        "lr": cc.NumberColumn(T["lr"], format="%g"), "hidden": cc.TextColumn(T["col_hidden"]),
        "activation": cc.TextColumn(T["activation"]), "init": cc.TextColumn(T["init"]),
        "batch": cc.NumberColumn(T["batch_size"]), "weight_decay": cc.NumberColumn(T["col_decay"], format="%g"),
        "images": cc.NumberColumn(T["col_images"], format="%d"),
        "iterations": cc.NumberColumn(T["col_iterations"], format="localized"),
        "train_acc": cc.NumberColumn(T["col_train_acc"], format="percent"),
        "test_acc": cc.NumberColumn(T["col_test_acc"], format="percent"),
        "seconds": cc.NumberColumn(T["col_time"], format="%.1f s"),
    }


def table(T, lab, records):
    rows = live.runs_table(records)
    all_names = names(T, records)
    for row in rows:
        row["run"] = all_names[row["run"]]
        row["status"] = T[f"status_{row['status']}"] + (" ⚡" if row["changed"] else "") + (
            " ⚠" if row["diverged"] else "")
        init = row["init"]
        row["init"] = T[f"init_{init}"] if isinstance(init, str) else T["describe_weight_init_std"].format(value=init)
        del row["changed"], row["diverged"], row["label"]
    order = ["run", "test_acc", "train_acc", "seconds", "iterations", "optimizer", "lr", "batch", "hidden",
             "activation", "init", "weight_decay", "images", "dataset", "status"]
    st.dataframe(rows[::-1], hide_index=True, width="stretch", column_order=order, column_config=_column_config(T))
    if lab.dropped:
        st.caption(T["records_dropped"].format(n=lab.dropped, max=lab.max_records))


def _on_demand(record, make):
    """Download data made when the button is clicked, from a weak reference to the run: Streamlit's media
    file manager keeps a deferred download's callable after its session has closed (until another
    session's run ends), and that must not keep the run's weights and history alive."""
    ref = weakref.ref(record)

    def data():
        alive = ref()
        return make(alive) if alive is not None else b""
    return data


def export(T, records):
    """Downloads of one run: its history as CSV, its weights as .npz, and a link to its config."""
    all_names = names(T, records)
    by_id = {r.run_id: r for r in records}
    ids = [r.run_id for r in records if r.status != live.LOADED][::-1]
    if not ids:
        return
    c1, c2, c3 = st.columns([2, 1, 1], vertical_alignment="bottom")
    run_id = c1.selectbox(T["export_pick"], ids, format_func=lambda i: all_names[i], key=P + "export")
    record = by_id[run_id]
    csv = _on_demand(record, lambda r: live.history_csv(r.losses, r.loss_stride, r.evals))
    c2.download_button(T["download_csv"], csv,
                       file_name=f"run{record.run_id}-history.csv", mime="text/csv", icon=":material/table:",
                       width="stretch", on_click="ignore")
    c3.download_button(T["download_npz"], _on_demand(record, lambda r: live.weights_npz(r.params, r.config)),
                       file_name=f"run{record.run_id}-weights.npz", mime="application/octet-stream",
                       icon=":material/download:", width="stretch", on_click="ignore")
    link = live.reproduce_link((st.context.url or "").split("?")[0], record.config)
    st.markdown(T["reproduce"].format(link=link))
    st.code(link, language=None)
    if record.adjustments:
        st.caption(T["reproduce_adjusted"])


def load(T, lab):
    """An uploaded weights file: validated in backprop.live, never unpickled."""
    upload = st.file_uploader(T["upload"], key=P + "upload", help=T["upload_help"],
                              max_upload_size=live.MAX_WEIGHTS_BYTES // 2**20)
    if upload is None:
        return
    results = st.session_state.setdefault(P + "uploads", {})
    name = chrome.escape_markdown(upload.name)  # a file name is the uploader's text: never a link here
    if upload.file_id not in results:
        try:
            if upload.size > live.MAX_WEIGHTS_BYTES:  # server.maxUploadSize stops bigger ones first
                raise live.WeightsError("too_big", mb=round(upload.size / 2**20),
                                        max_mb=round(live.MAX_WEIGHTS_BYTES / 2**20))
            config, params = live.load_weights(upload.getvalue())
        except live.WeightsError as e:
            results[upload.file_id] = ("error", T["weights_refused"].format(name=name, reason=weights_text(T, e)))
        else:
            record = live.RunRecord.loaded(lab.new_id(), upload.name, config, params)
            lab.add_record(record)
            st.session_state[P + "inspect"] = record.run_id
            results[upload.file_id] = ("success", T["weights_loaded"].format(
                name=name, hidden=", ".join(map(str, config.hidden_sizes))))
    kind, message = results[upload.file_id]
    (st.error if kind == "error" else st.success)(message)


def render(lab):
    """The "Compare runs" section and the weights loader."""
    T = chrome.text("training")
    records = lab.records()
    st.subheader(T["compare_heading"])
    if records:
        overlay(T, chrome.presenting(), records)
        table(T, lab, records)
        export(T, records)
    else:
        st.caption(T["no_records"])
    with st.expander(T["load_heading"], expanded=False):
        load(T, lab)
