"""Live training: the book's section 5.7.4 as an instrument. Turn a knob, watch the curves move, compare runs.

Each run trains in a process of its own (backprop.live); this page only sends commands and draws
what a snapshot of the run says. The live views are a fragment redrawn twice a second while a run
goes on; the knobs and the rest of the page redraw only when someone acts.
"""
from dataclasses import replace

import streamlit as st

from backprop import datasets, live
from backprop.figures import training as figs
from backprop.optimizers import OPTIMIZERS
from backprop.training import (LIVE_FIELDS, OPTIMIZER_PARAMS, PRESETS, TrainConfig, check_first_loss,
                               check_update_ratio)
from pages import chrome
from pages.components.live_curves import live_curves

try:  # the "Inspect the trained network" section lives in its own module (another issue)
    from pages import training_inspect
except ImportError:
    training_inspect = None

T = chrome.text("training")
BIG = chrome.presenting()
P = "training_"  # session-state prefix of this page
REFRESH = 0.5  # seconds between live redraws while a run goes on: 2 a second, the least the issue allows,
# because each redraw costs the server and the browser CPU time the training could use
SANITY_REFRESH = 2.0  # the badges and the ratio chart move slowly: redrawn every 2 s
LIVE_POINTS = 600  # buckets per live curve: plenty for a 700-pixel-wide chart

LRS = tuple(m * 10.0**e for e in range(-4, 1) for m in (1, 2, 5)) + (10.0,)
WIDTHS = (10, 20, 50, 100, 200, 500)
STDS = (0.0001, 0.001, 0.01, 0.1, 1.0)
BATCHES = (1, 10, 20, 32, 50, 64, 100, 128, 200, 256, 500, 1000)
DECAYS = (0.0, 0.0001, 0.001, 0.01, 0.1, 0.2, 0.5, 1.0)
TRAIN_SIZES = (0, 100, 300, 1000, 3000, 10_000, 30_000)
OPT_PARAM_CHOICES = {"momentum": (0.5, 0.8, 0.9, 0.95, 0.99), "decay_rate": (0.9, 0.95, 0.99, 0.999),
                     "beta1": (0.5, 0.8, 0.9, 0.95, 0.99), "beta2": (0.99, 0.999, 0.9999)}
STATUS_COLORS = {"good": "green", "low": "orange", "high": "orange", "too_high": "red", "unknown": "gray"}


def _g(x):
    """A number as people write it: 0.1 not 0.1000000000000000055, 1e-05 as 1e-05."""
    return f"{x:g}"


def _duration(seconds):
    if seconds != seconds or seconds == float("inf"):  # NaN or unknown
        return "–"
    seconds = int(round(seconds))
    return T["minutes"].format(m=seconds // 60, s=seconds % 60) if seconds >= 60 else T["seconds"].format(s=seconds)


# --- the session's runs -------------------------------------------------------------------------------

@st.cache_resource(scope="session", on_release=live.SessionGuard.release, show_spinner=False)
def _session_guard():
    """One per browser session; released (ending its training) when the session disconnects."""
    return live.SessionGuard()


def _lab():
    if P + "lab" not in st.session_state:
        st.session_state[P + "lab"] = live.Lab()
    return st.session_state[P + "lab"]


LAB = _lab()
_session_guard().watch(LAB)


# --- knobs <-> config ------------------------------------------------------------------------------------

def _available():
    return [name for name, ok in datasets.available_sources().items() if ok]


def _train_count(dataset, train_size):
    n = len(datasets.load_dataset(dataset).t_train)
    return min(train_size, n) if train_size else n


def _set_knobs(config):
    """Show ``config`` on the knobs (before they are drawn)."""
    ss = st.session_state
    ss[P + "dataset"] = config.dataset
    ss["dataset"] = config.dataset  # what chrome.dataset_in_use() reports to the other pages
    ss[P + "layers"] = len(config.hidden_sizes)
    ss[P + "width"] = config.hidden_sizes[0]
    ss[P + "activation"] = config.activation
    if isinstance(config.weight_init, str):
        ss[P + "init"] = config.weight_init
    else:
        ss[P + "init"], ss[P + "std"] = "std", float(config.weight_init)
    ss[P + "optimizer"] = config.optimizer
    for name in ("lr", "momentum", "decay_rate", "beta1", "beta2", "weight_decay"):
        ss[P + name] = float(getattr(config, name))
    ss[P + "batch_size"] = config.batch_size
    ss[P + "unit"] = "iterations"
    ss[P + "length"] = config.iterations
    ss[P + "train_size"] = config.train_size
    ss[P + "seed"] = config.seed
    ss[P + "dtype"] = config.dtype


def _knob_config():
    """The TrainConfig the knobs show."""
    ss = st.session_state
    iterations = int(ss[P + "length"])
    if ss[P + "unit"] == "epochs":
        ipe = max(_train_count(ss[P + "dataset"], ss[P + "train_size"]) // ss[P + "batch_size"], 1)
        iterations *= ipe
    return TrainConfig(
        dataset=ss[P + "dataset"], hidden_sizes=(ss[P + "width"],) * ss[P + "layers"],
        activation=ss[P + "activation"],
        weight_init=ss[P + "std"] if ss[P + "init"] == "std" else ss[P + "init"],
        optimizer=ss[P + "optimizer"], lr=ss[P + "lr"], momentum=ss[P + "momentum"],
        decay_rate=ss[P + "decay_rate"], beta1=ss[P + "beta1"], beta2=ss[P + "beta2"],
        batch_size=ss[P + "batch_size"], iterations=iterations, weight_decay=ss[P + "weight_decay"],
        train_size=ss[P + "train_size"], seed=int(ss[P + "seed"]), dtype=ss[P + "dtype"],
    )


def _init_knobs():
    ss = st.session_state
    if P + "lr" not in ss:
        _set_knobs(TrainConfig(dataset=chrome.dataset_in_use() if chrome.dataset_in_use() in _available()
                               else "sample"))
        ss.setdefault(P + "std", 0.01)
        ss[P + "preset"] = "ch5"
    if not ss.get(P + "link_read"):  # a reproduce link prefills the knobs once per session
        ss[P + "link_read"] = True
        config, problems = live.config_from_query(st.query_params.to_dict())
        if config is not None:
            if config.dataset not in _available():
                problems.append(T["link_dataset_missing"].format(dataset=config.dataset))
                config = replace(config, dataset="sample")
            _set_knobs(config)
            ss[P + "preset"] = "custom"
            ss[P + "link_note"] = problems
            for key in TrainConfig().to_dict():
                st.query_params.pop(key, None)  # ours, applied: later knob changes would make them stale


# --- commands (button callbacks: they run before the page is drawn) --------------------------------

def _say(kind, message):
    st.session_state[P + "message"] = (kind, message)


def _fresh_run():
    """The current run if it is ready and matches the knobs, else a new ready run from the knobs."""
    config = _knob_config()
    run = LAB.current
    if run is None or run.closed or (run.state == live.READY and run.initial_config != config):
        run = LAB.new_run(config)
    return run


def _guarded(action):
    def callback(*args):
        try:
            action(*args)
        except (ValueError, OSError) as e:  # a missing or corrupt dataset, a config the core refuses
            _say("error", T["command_failed"].format(error=e))
    return callback


@_guarded
def _start():
    run = LAB.current
    if run is not None and run.state in (live.PAUSED, live.RUNNING):
        run.resume()
    elif run is not None and run.state == live.READY and run.initial_config == _knob_config():
        run.start()
    else:
        LAB.start(_knob_config())


@_guarded
def _pause():
    if LAB.current is not None:
        LAB.current.pause()


@_guarded
def _resume():
    if LAB.current is not None:
        LAB.current.resume()


def _continuable():
    """The current run if Step and +1 epoch can go on with it, else a fresh one from the knobs."""
    run = LAB.current
    if run is not None and run.state in (live.PAUSED, live.FINISHED) and not run.closed:
        return run
    return _fresh_run()


@_guarded
def _step():
    _continuable().step_once()


@_guarded
def _plus_epoch():
    _continuable().plus_epoch()


@_guarded
def _stop():
    LAB.stop()


@_guarded
def _new_run():
    LAB.new_run(_knob_config())


@_guarded
def _compare():
    key = st.session_state[P + "preset"]
    base = _knob_config()
    runs = [(label, replace(config, dataset=base.dataset, seed=base.seed)) for label, config in PRESETS[key]]
    st.session_state[P + "overlay_group"] = LAB.queue(runs)


def _apply_preset():
    key = st.session_state[P + "preset"]
    if key in PRESETS:
        config = PRESETS[key][0][1]
        _set_knobs(replace(config, dataset=st.session_state[P + "dataset"], seed=st.session_state[P + "seed"]))


def _live_change(field):
    """A knob that may change mid-run: hand the new value to the current run at once."""
    run = LAB.current
    if run is None or run.closed:
        return
    value = st.session_state[P + field]
    try:
        run.adjust(**{field: value})
    except ValueError as e:
        _say("warning", T["adjust_failed"].format(error=e))


def _dataset_changed():
    st.session_state["dataset"] = st.session_state[P + "dataset"]


def _unit_changed():
    """Keep the run length the same when switching between iterations and epochs."""
    ss = st.session_state
    ipe = max(_train_count(ss[P + "dataset"], ss[P + "train_size"]) // ss[P + "batch_size"], 1)
    if ss[P + "unit"] == "epochs":
        ss[P + "length"] = max(1, round(ss[P + "length"] / ipe))
    else:
        ss[P + "length"] = ss[P + "length"] * ipe


# --- knobs ----------------------------------------------------------------------------------------------

def _options(standard, value):
    return sorted(set(standard) | {value})


def _kept(name):
    """A knob's key, kept for the session: it keeps its value while hidden (the std, another optimizer's
    settings) and when the user visits another page."""
    return {"key": P + name, "persist_state": "session"}


def _knobs():
    ss = st.session_state
    live_mark = ":material/bolt: "
    with st.sidebar:
        st.selectbox(T["preset"], ["custom", *PRESETS], **_kept("preset"), on_change=_apply_preset,
                     format_func=lambda k: T[f"preset_{k}"])
        st.caption(T["live_knobs_note"])
        st.markdown(f"**{T['group_network']}**")
        st.selectbox(T["dataset"], _available(), **_kept("dataset"), on_change=_dataset_changed,
                     format_func=lambda k: T[f"dataset_{k}"])
        c1, c2 = st.columns(2)
        c1.number_input(T["layers"], min_value=1, max_value=8, step=1, **_kept("layers"))
        c2.selectbox(T["width"], _options(WIDTHS, ss[P + "width"]), **_kept("width"))
        st.segmented_control(T["activation"], ["relu", "sigmoid"], **_kept("activation"), required=True,
                             format_func=lambda k: T[f"activation_{k}"])
        st.segmented_control(T["init"], ["std", "xavier", "he"], **_kept("init"), required=True,
                             format_func=lambda k: T[f"init_{k}"], help=T["init_help"])
        if ss[P + "init"] == "std":
            st.select_slider(T["std"], _options(STDS, ss[P + "std"]), **_kept("std"), format_func=_g)

        st.markdown(f"**{T['group_optimizer']}**")
        st.selectbox(T["optimizer"], list(OPTIMIZERS), **_kept("optimizer"), help=T["optimizer_help"])
        st.select_slider(live_mark + T["lr"], _options(LRS, ss[P + "lr"]), **_kept("lr"), format_func=_g,
                         on_change=_live_change, args=("lr",), help=T["lr_help"])
        st.select_slider(live_mark + T["batch_size"], _options(BATCHES, ss[P + "batch_size"]),
                         **_kept("batch_size"), on_change=_live_change, args=("batch_size",))
        more = st.expander(T["more_settings"]) if BIG else st.container()
        with more:
            for name in OPTIMIZER_PARAMS[ss[P + "optimizer"]]:
                st.select_slider(live_mark + T[name], _options(OPT_PARAM_CHOICES[name], ss[P + name]),
                                 **_kept(name), format_func=_g, on_change=_live_change, args=(name,))
            st.markdown(f"**{T['group_run']}**")
            st.number_input(T["length"], min_value=1, max_value=1_000_000, step=100, **_kept("length"))
            st.segmented_control(T["unit"], ["iterations", "epochs"], **_kept("unit"), required=True,
                                 format_func=lambda k: T[f"unit_{k}"], on_change=_unit_changed,
                                 label_visibility="collapsed")
            st.select_slider(T["weight_decay"], _options(DECAYS, ss[P + "weight_decay"]), **_kept("weight_decay"),
                             format_func=_g, help=T["weight_decay_help"])
            st.select_slider(T["train_size"], _options(TRAIN_SIZES, ss[P + "train_size"]), **_kept("train_size"),
                             format_func=lambda n: T["train_size_all"] if n == 0 else f"{n:,}",
                             help=T["train_size_help"])
            st.number_input(T["seed"], min_value=0, max_value=2**31 - 1, step=1, **_kept("seed"))
            st.segmented_control(T["dtype"], ["float32", "float64"], **_kept("dtype"), required=True)


# --- live views (a fragment: redrawn every REFRESH seconds while a run goes on) -----------------------

def _progress(snap):
    frac = min(snap.iteration / snap.target, 1.0) if snap.target else 0.0
    numbers = dict(it=f"{snap.iteration:,}", target=f"{snap.target:,}", epoch=f"{snap.epoch:.1f}",
                   rate=f"{snap.rate:,.0f}" if snap.rate == snap.rate else "–", eta=_duration(snap.eta),
                   time=_duration(snap.seconds))
    st.progress(frac, text=T[f"progress_{snap.state}"].format(**numbers))
    if snap.state in (live.PAUSED, live.FINISHED, live.STOPPED) and snap.iteration:
        # where the time went: the book's per-epoch evaluation often costs more than the training
        st.caption(T["timing"].format(
            train=f"{snap.seconds - snap.eval_seconds:.2f}", steps=f"{snap.steps_per_s:,.0f}",
            eval=f"{snap.eval_seconds:.2f}", n=f"{snap.evaluations:,}"))


def _badges(snap):
    with st.container(horizontal=True, gap="small"):
        first = check_first_loss(snap.first_loss)
        text = (T["badge_first_loss_none"] if first.status == "unknown"
                else T["badge_first_loss"].format(loss=f"{first.value:.2f}", expected=f"{first.expected:.2f}"))
        st.badge(text, color=STATUS_COLORS[first.status], help=T[f"first_loss_{first.status}"])
        for name, ratio in snap.last_ratios.items():
            check = check_update_ratio(ratio)
            # one significant digit: the order of magnitude is the lesson, and an unchanged badge is not redrawn
            st.badge(T["badge_ratio"].format(layer=name, ratio=f"{ratio:.0e}"), color=STATUS_COLORS[check.status],
                     help=T[f"ratio_{check.status}"])


def _messages(snap):
    d = snap.divergence
    if d is not None:
        key = "diverged" if d.weights_finite else "diverged_broken"
        st.error(T[key].format(it=f"{d.iteration:,}", loss=f"{d.loss:.3g}", lr=_g(d.lr), suggest=_g(d.lr / 10)),
                 icon=":material/error:")
    if snap.error:
        st.error(T["worker_error"].format(error=snap.error), icon=":material/bug_report:")
    if snap.adjustments:
        a = snap.adjustments[-1]
        changes = ", ".join(f"{T.get(k, k)} → {_g(v)}" for k, v in a.changes)
        st.caption(T["adjusted"].format(changes=changes, it=f"{a.iteration:,}"))


def _live_view():
    run = LAB.current
    if run is None:
        st.info(T["no_run"], icon=":material/play_circle:")
        return
    snap = run.snapshot(max_points=LIVE_POINTS)
    _progress(snap)
    _messages(snap)
    height = 330 if BIG else 290
    if snap.state == live.RUNNING:  # redrawn twice a second: a canvas, cheap for the browser
        live_curves(figs.live_curves_data(snap.loss, snap.evals, labels=LIVE_LABELS, big=BIG),
                    key=P + "live_curves", height=height, label=T["live_curves_label"])
    else:  # still: the interactive Plotly figures
        divergence = (snap.divergence.iteration, T["chart_diverged"]) if snap.divergence else None
        left, right = st.columns([3, 2])
        left.plotly_chart(figs.loss_figure(snap.loss, labels=LOSS_LABELS, big=BIG, height=height,
                                           divergence=divergence),
                          key=P + "loss_chart", config={"displayModeBar": False})
        right.plotly_chart(figs.accuracy_figure(snap.evals, labels=ACC_LABELS, big=BIG, height=height),
                           key=P + "acc_chart", config={"displayModeBar": False})
    # A run ended, paused itself or handed over to the next queued run: redraw the whole page once.
    if st.session_state.get(P + "drawn") != (snap.run_id, snap.state):
        st.session_state[P + "drawn"] = (snap.run_id, snap.state)
        if st.session_state.get(P + "ticking"):
            st.rerun(scope="app")


def _sanity_view():
    """The sanity badges (and the ratio chart if asked for): slower-moving, so redrawn less often."""
    run = LAB.current
    if run is None:
        return
    snap = run.snapshot(max_points=LIVE_POINTS)
    _badges(snap)
    if st.session_state.get(P + "show_ratios"):  # the toggle itself is drawn below, outside the fragments
        st.plotly_chart(figs.ratio_figure(snap.ratio_iterations, snap.ratios, labels=RATIO_LABELS, big=BIG),
                        key=P + "ratio_chart", config={"displayModeBar": False})


LOSS_LABELS = {"x": T["iterations"], "y": T["loss"], "raw": T["loss_raw"], "smooth": T["loss_smooth"],
               "chance": T["chance"], "empty": T["empty_loss"]}
ACC_LABELS = {"x": T["epochs"], "y": T["accuracy"], "train": T["train"], "test": T["test"],
              "empty": T["empty_accuracy"]}
RATIO_LABELS = {"x": T["iterations"], "y": T["ratio_axis"], "band": T["ratio_band"], "empty": T["empty_loss"]}
LIVE_LABELS = {**LOSS_LABELS, "epochs": T["epochs"], "accuracy": T["accuracy"], "train": T["train"],
               "test": T["test"]}
OVERLAY_LABELS = {"loss": T["overlay_loss"], "accuracy": T["overlay_accuracy"], "iterations": T["iterations"],
                  "epochs": T["epochs"], "empty": T["overlay_empty"]}


# --- compare, export, load ---------------------------------------------------------------------------------

def _names(records):
    """'#3 Adam' style names: the run's label, else the config fields that differ among the runs."""
    fields = live.distinguishing_fields([r.config for r in records]) or ("optimizer", "lr")
    fields = [f for f in fields if f not in ("iterations",)][:3] or ["optimizer", "lr"]
    return {r.run_id: f"#{r.run_id} " + (r.label or live.describe(r.config, fields)) for r in records}


def _overlay(records):
    ss = st.session_state
    ids = [r.run_id for r in records]
    seen = ss.get(P + "seen_records", [])
    selection = [i for i in ss.get(P + "overlay", []) if i in ids]
    group = ss.get(P + "overlay_group")
    new = [i for i in ids if i not in seen]
    if new:  # freshly ended runs join the overlay; a comparison shows its own runs only
        grouped = [r.run_id for r in records if group is not None and r.group == group]
        selection = grouped if group is not None and any(
            r.group == group for r in records if r.run_id in new) else selection + new
        finished = [r.run_id for r in records if r.run_id in new and r.status != "loaded"]
        if finished:
            ss[P + "export"] = finished[-1]  # export the newest run unless the user picks another
    ss[P + "seen_records"] = ids
    ss[P + "overlay"] = selection[-8:]
    names = _names(records)
    picked = st.multiselect(T["overlay_pick"], ids, key=P + "overlay", format_func=lambda i: names[i])
    chosen = [r for r in records if r.run_id in picked]
    overlay_names = _names(chosen)
    st.plotly_chart(figs.overlay_figure([(overlay_names[r.run_id], r.curve(), r.evals) for r in chosen],
                                        labels=OVERLAY_LABELS, big=BIG, height=380 if BIG else 340),
                    key=P + "overlay_chart")


def _table(records):
    rows = live.runs_table(records)
    names = _names(records)
    for row in rows:
        row["run"] = names[row["run"]]
        row["status"] = T[f"status_{row['status']}"] + (" ⚡" if row["changed"] else "") + (
            " ⚠" if row["diverged"] else "")
        del row["changed"], row["diverged"], row["label"]
    cc = st.column_config
    order = ["run", "test_acc", "train_acc", "seconds", "iterations", "optimizer", "lr", "batch", "hidden",
             "activation", "init", "weight_decay", "images", "dataset", "status"]
    st.dataframe(rows[::-1], hide_index=True, width="stretch", column_order=order, column_config={
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
    })
    if LAB.dropped:
        st.caption(T["records_dropped"].format(n=LAB.dropped, max=LAB.max_records))


def _export(records):
    """Downloads of one run: its history as CSV, its weights as .npz, and a link to its config."""
    names = _names(records)
    by_id = {r.run_id: r for r in records}
    ids = [r.run_id for r in records if r.status != "loaded"][::-1]
    if not ids:
        return
    c1, c2, c3 = st.columns([2, 1, 1], vertical_alignment="bottom")
    run_id = c1.selectbox(T["export_pick"], ids, format_func=lambda i: names[i], key=P + "export")
    record = by_id[run_id]
    c2.download_button(T["download_csv"], lambda: live.history_csv(record.losses, record.loss_stride, record.evals),
                       file_name=f"run{record.run_id}-history.csv", mime="text/csv", icon=":material/table:",
                       width="stretch", on_click="ignore")
    c3.download_button(T["download_npz"], lambda: live.weights_npz(record.params, record.config),
                       file_name=f"run{record.run_id}-weights.npz", mime="application/octet-stream",
                       icon=":material/download:", width="stretch", on_click="ignore")
    base = (st.context.url or "").split("?")[0]
    query = live.config_query(record.config)
    link = base + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")
    st.markdown(T["reproduce"].format(link=link))
    st.code(link, language=None)
    if record.adjustments:
        st.caption(T["reproduce_adjusted"])


def _load():
    """An uploaded weights file: validated in backprop.live, never unpickled."""
    upload = st.file_uploader(T["upload"], key=P + "upload", help=T["upload_help"])
    if upload is None:
        return
    results = st.session_state.setdefault(P + "uploads", {})
    if upload.file_id not in results:
        try:
            config, params = live.load_weights(upload.getvalue())
        except live.WeightsError as e:
            results[upload.file_id] = ("error", T["weights_refused"].format(name=upload.name, reason=e))
        else:
            record = live.RunRecord(
                run_id=LAB.new_id(), label=upload.name, status="loaded", config=config, adjustments=(),
                iterations=0, seconds=0.0, losses=live.LossHistory(2).values(), loss_stride=1,
                evals=live.Rows(4).array(), params=params, diverged=False)
            LAB.add_record(record)
            st.session_state[P + "inspect"] = record.run_id
            results[upload.file_id] = ("success", T["weights_loaded"].format(
                name=upload.name, hidden=", ".join(map(str, config.hidden_sizes))))
    kind, message = results[upload.file_id]
    (st.error if kind == "error" else st.success)(message)


# --- inspect (drawn by pages/training_inspect.py) --------------------------------------------------------------

def _inspect(records):
    if training_inspect is None:
        return
    st.divider()
    choices = {}
    run = LAB.current
    if run is not None:
        choices[0] = T["inspect_current"].format(run=run.run_id)
    names = _names(records)
    for r in records[::-1]:
        if r.run_id != getattr(run, "run_id", None):
            choices[r.run_id] = names[r.run_id]
    if not choices:
        data = datasets.load_dataset(st.session_state[P + "dataset"])
        training_inspect.render(None, data.x_test, data.t_test, data.class_names)
        return
    ss = st.session_state
    if ss.get(P + "inspect") not in choices:
        ss[P + "inspect"] = next(iter(choices))
    if len(choices) > 1:
        pick = st.selectbox(T["inspect_pick"], list(choices), key=P + "inspect", format_func=choices.get)
    else:
        pick = ss[P + "inspect"]
    if pick == 0:
        key = (run.run_id, run.iteration)
        cached = ss.get(P + "inspect_net")
        if cached is None or cached[0] != key:
            cached = (key, run.snapshot_net())  # a copy: the training process never sees it
            ss[P + "inspect_net"] = cached
        net, config = cached[1], run.config
    else:
        record = LAB.record(pick)
        net, config = record.net(), record.config
    source = config.dataset if config.dataset in _available() else "sample"
    data = datasets.load_dataset(source)
    training_inspect.render(net, data.x_test, data.t_test, data.class_names)


# --- the page -------------------------------------------------------------------------------------------------

_init_knobs()
st.title(T["title"])
if not BIG:  # on a projector the presenter says it; the curves need the room
    st.markdown(T["intro"])
for problem in st.session_state.pop(P + "link_note", None) or ():
    st.warning(T["link_problem"].format(problem=problem))
_knobs()

run, queued = LAB.view()
state = run.state if run is not None else None
can_step = state not in (live.RUNNING,)
controls = st.container(horizontal=True, gap="small", vertical_alignment="center")
with controls:
    st.button(T["start"], on_click=_start, icon=":material/play_arrow:", type="primary",
              disabled=state in (live.RUNNING, live.PAUSED), key=P + "btn_start")
    st.button(T["pause"], on_click=_pause, icon=":material/pause:", disabled=state != live.RUNNING,
              key=P + "btn_pause")
    st.button(T["resume"], on_click=_resume, icon=":material/resume:",
              disabled=not (run is not None and run.can_resume), key=P + "btn_resume")
    st.button(T["step"], on_click=_step, icon=":material/skip_next:", disabled=not can_step, key=P + "btn_step",
              help=T["step_help"])
    st.button(T["plus_epoch"], on_click=_plus_epoch, icon=":material/fast_forward:", disabled=not can_step,
              key=P + "btn_epoch", help=T["plus_epoch_help"])
    st.button(T["stop"], on_click=_stop, icon=":material/stop:",
              disabled=state not in (live.RUNNING, live.PAUSED), key=P + "btn_stop", help=T["stop_help"])
    # on a projector the row must fit in one line of large type: New run moves to the sidebar
    (st.sidebar if BIG else controls).button(T["new_run"], on_click=_new_run, icon=":material/restart_alt:",
                                             key=P + "btn_new", help=T["new_run_help"])
    preset = st.session_state[P + "preset"]
    if len(PRESETS.get(preset, ())) > 1:
        st.button(T["compare"].format(n=len(PRESETS[preset])), on_click=_compare, icon=":material/stacked_line_chart:",
                  key=P + "btn_compare", help=T[f"preset_{preset}_help"])

message = st.session_state.pop(P + "message", None)
if message:
    (st.error if message[0] == "error" else st.warning)(message[1])

if run is not None and state in (live.READY, live.RUNNING, live.PAUSED):
    knobs = _knob_config()
    pending = [f for f in live.distinguishing_fields([run.config, knobs]) if f not in LIVE_FIELDS]
    if pending:
        st.caption(T["next_run_note"].format(fields=", ".join(T.get(f, f) for f in pending)))
if queued:
    st.caption(T["queued"].format(n=queued))

ticking = state == live.RUNNING or queued > 0  # a queued run is about to start
st.session_state[P + "ticking"] = ticking
st.session_state[P + "drawn"] = (run.run_id, state) if run is not None else None
st.fragment(_live_view, run_every=REFRESH if ticking else None)()
st.fragment(_sanity_view, run_every=SANITY_REFRESH if ticking else None)()
if run is not None:
    st.toggle(T["show_ratios"], key=P + "show_ratios", help=T["ratio_help"])

records = LAB.records()
st.subheader(T["compare_heading"])
if records:
    _overlay(records)
    _table(records)
    _export(records)
else:
    st.caption(T["no_records"])
with st.expander(T["load_heading"], expanded=False):
    _load()
# A training network changes under the inspector: inspecting is for a paused or finished run (which
# also keeps the browser's work light while the live views redraw).
if ticking:
    st.divider()
    st.caption(T["inspect_while_running"])
else:
    _inspect(LAB.records())
