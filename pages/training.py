"""Live training: the book's section 5.7.4 as an instrument. Turn a knob, watch the curves move, compare runs.

Runs train in the server's trainer pool (backprop.live); this page only sends commands and draws
what a snapshot of the run says. The live views are a fragment redrawn up to twice a second while a
run goes on (less often when the server is busy); the knobs and the rest of the page redraw only
when someone acts.
"""
import time
from dataclasses import replace

import streamlit as st

from backprop import datasets, live
from backprop.figures import training as figs
from backprop.optimizers import OPTIMIZERS
from backprop.training import (LIVE_FIELDS, OPTIMIZER_PARAMS, PRESETS, ConfigError, TrainConfig, check_first_loss,
                               check_update_ratio)
from pages import chrome, training_inspect, training_runs
from pages.components.live_curves import live_curves
from pages.training_runs import g as _g

T = chrome.text("training")
BIG = chrome.presenting()
P = "training_"  # session-state prefix of this page
POOL = live.default_pool()  # the server's trainer processes: one per process, shared by every session
# Seconds between live redraws while a run goes on: POOL.refresh_interval(), 0.5 (twice a second) when the
# server is quiet, 1 or 2 when it is busy, because each redraw costs the server CPU time others could use.
STALE = 2.0  # seconds: a live view older than this says how old it is
RATE_EVERY = 5.0  # seconds between two looks at the load by a live view (a new rate redraws the whole page)
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


def _train_images(dataset):
    """How many training images the data set has (the knobs' length in epochs depends on it)."""
    return len(datasets.load_dataset(dataset).t_train)


def _knobs_state():
    ss = st.session_state
    return {name: ss[P + name] for name in live.KNOBS}


def _set_knobs(config):
    """Show ``config`` on the knobs (before they are drawn)."""
    ss = st.session_state
    for name, value in live.knobs_from_config(config, std=ss.get(P + "std", 0.01)).items():
        ss[P + name] = value
    ss["dataset"] = config.dataset  # what chrome.dataset_in_use() reports to the other pages


def _knob_config():
    """The TrainConfig the knobs show."""
    knobs = _knobs_state()
    return live.config_from_knobs(knobs, _train_images(knobs["dataset"]))


def _init_knobs():
    ss = st.session_state
    if P + "lr" not in ss:
        _set_knobs(TrainConfig(dataset=chrome.dataset_in_use() if chrome.dataset_in_use() in _available()
                               else "sample"))
        ss[P + "preset"] = "ch5"
    if not ss.get(P + "link_read"):  # a reproduce link prefills the knobs once per session
        ss[P + "link_read"] = True
        config, problems = live.config_from_query(st.query_params.to_dict(), available=_available())
        if config is not None:
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
        except (live.RunError, ValueError, OSError) as e:  # a missing or corrupt dataset, a config refused
            _say("error", T["command_failed"].format(error=training_runs.error_text(T, e)))
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
def _restart():
    if LAB.current is not None:
        LAB.current.restart()


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
    except (ConfigError, live.RunError) as e:
        _say("warning", T["adjust_failed"].format(error=training_runs.error_text(T, e)))


def _dataset_changed():
    st.session_state["dataset"] = st.session_state[P + "dataset"]


def _unit_changed():
    """Keep the run length the same when switching between iterations and epochs."""
    knobs = _knobs_state()
    st.session_state[P + "length"] = live.convert_length(knobs, _train_images(knobs["dataset"]))


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


# --- live views (a fragment: redrawn every POOL.refresh_interval() seconds while a run goes on) --------

def _progress(snap):
    frac = min(snap.iteration / snap.target, 1.0) if snap.target else 0.0
    numbers = dict(it=f"{snap.iteration:,}", target=f"{snap.target:,}", epoch=f"{snap.epoch:.1f}",
                   rate=f"{snap.rate:,.0f}" if snap.rate == snap.rate else "–", eta=_duration(snap.eta),
                   time=_duration(snap.seconds))
    st.progress(frac, text=T[f"progress_{snap.state}"].format(**numbers))
    if snap.state == live.RUNNING:
        _sharing(snap)
    if snap.state in (live.PAUSED, live.FINISHED, live.STOPPED) and snap.iteration:
        # where the time went: the book's per-epoch evaluation often costs more than the training
        st.caption(T["timing"].format(
            train=f"{snap.seconds - snap.eval_seconds:.2f}", steps=f"{snap.steps_per_s:,.0f}",
            eval=f"{snap.eval_seconds:.2f}", n=f"{snap.evaluations:,}"))


def _sharing(snap):
    """Why a run moves slowly or not at all: its place in the server's queue, a stale view, shared processes."""
    load = POOL.load()
    if snap.waiting:
        st.caption(T["waiting"].format(place=snap.waiting, running=load["running"]))
    elif snap.age > STALE:
        st.caption(T["stale"].format(age=f"{snap.age:.0f}"))
    if load["running"] > 1 and not snap.waiting:
        st.caption(T["shared"].format(runs=load["running"], processes=load["trainers"]))


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
        st.error(T["worker_error"].format(error=training_runs.run_error_text(T, snap.error)),
                 icon=":material/bug_report:")
        run = LAB.current
        if run is not None and run.can_restart:
            st.button(T["restart"].format(it=f"{run.checkpoint_iteration:,}"), on_click=_restart,
                      icon=":material/restart_alt:", key=P + "btn_restart")
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
    # A run ended, paused itself or handed over to the next queued run, or the server's load changed the
    # redraw rate: redraw the whole page once (the fragment's timer is set there).
    ss = st.session_state
    if ss.get(P + "ticking") and time.monotonic() - ss.get(P + "refresh_at", 0.0) > RATE_EVERY:
        ss[P + "refresh_at"] = time.monotonic()
        if ss.get(P + "refresh") != POOL.refresh_interval():
            st.rerun(scope="app")
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
# --- inspect (drawn by pages/training_inspect.py) --------------------------------------------------------------

def _inspect(records):
    st.divider()
    choices = {}
    run = LAB.current
    if run is not None:
        choices[0] = T["inspect_current"].format(run=run.run_id)
    names = training_runs.names(T, records)
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
for code, values in st.session_state.pop(P + "link_note", None) or ():
    st.warning(T["link_problem"].format(problem=training_runs.problem_text(T, code, values)))
_knobs()

run, queued = LAB.view()
if run is None and not LAB.records() and live.run_from_earlier_server(st.query_params.get("run")):
    st.info(T["runs_lost"], icon=":material/history:")
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
refresh = st.session_state[P + "refresh"] = POOL.refresh_interval()
st.session_state[P + "refresh_at"] = time.monotonic()
if run is not None:  # a bookmark of this page then tells, after a server restart, that the run was lost
    st.query_params["run"] = live.run_token(run.run_id)
st.fragment(_live_view, run_every=refresh if ticking else None)()
st.fragment(_sanity_view, run_every=SANITY_REFRESH if ticking else None)()
if run is not None:
    st.toggle(T["show_ratios"], key=P + "show_ratios", help=T["ratio_help"])

training_runs.render(LAB)
# A training network changes under the inspector: inspecting is for a paused or finished run (which
# also keeps the browser's work light while the live views redraw).
if ticking:
    st.divider()
    st.caption(T["inspect_while_running"])
else:
    _inspect(LAB.records())
