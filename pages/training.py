"""Live training: the book's section 5.7.4 as an instrument. Turn a knob, watch the curves move, compare runs.

Runs train in the server's trainer pool (backprop.live); this page only sends commands and draws
what a snapshot of the run says. The live views (pages/training_live.py) are fragments redrawn up to
twice a second while a run goes on (less often when the server is busy); the knobs and the rest of the
page redraw only when someone acts.
"""
import time
from dataclasses import replace
from functools import partial

import streamlit as st

import pages  # noqa: F401,I001 - first: imports every module the pages use, once, in one order (pages/__init__.py)

from backprop import datasets, live
from backprop import urlstate as U
from backprop.live import knobs as KU
from backprop.optimizers import OPTIMIZERS
from backprop.training import LIVE_FIELDS, OPTIMIZER_PARAMS, PRESETS, ConfigError, TrainConfig
from pages import chrome, data_problem, training_inspect, training_live, training_runs
from pages.training_runs import g as _g

T = chrome.text("training")
S = chrome.text("training_state")  # words added for links, moments and stalled runs (issue 9)
W = data_problem.words()  # a data set that cannot be loaded, in Home's words (callbacks cannot look them up)
BIG = chrome.presenting()
P = "training_"  # session-state prefix of this page
POOL = live.default_pool()  # the server's trainer processes: one per process, shared by every session
# Seconds between live redraws while a run goes on: POOL.refresh_interval(), 0.5 (twice a second) when the
# server is quiet, 1, 2 or 4 when it is busy, because each redraw costs the server CPU time others could use.
COMPARE_REFRESH = 2.0  # the comparison overlay (a Plotly figure: costlier to redraw than the canvas)
SANITY_REFRESH = 2.0  # the badges and the ratio chart move slowly: every 2 s, or every other live redraw if slower

LRS = tuple(m * 10.0**e for e in range(-4, 1) for m in (1, 2, 5)) + (10.0,)
WIDTHS = (10, 20, 50, 100, 200, 500)
STDS = (0.0001, 0.001, 0.01, 0.1, 1.0)
BATCHES = (1, 10, 20, 32, 50, 64, 100, 128, 200, 256, 500, 1000)
DECAYS = (0.0, 0.0001, 0.001, 0.01, 0.1, 0.2, 0.5, 1.0)
TRAIN_SIZES = (0, 100, 300, 1000, 3000, 10_000, 30_000)
OPT_PARAM_CHOICES = {"momentum": (0.5, 0.8, 0.9, 0.95, 0.99), "decay_rate": (0.9, 0.95, 0.99, 0.999),
                     "beta1": (0.5, 0.8, 0.9, 0.95, 0.99), "beta2": (0.99, 0.999, 0.9999)}


# --- the session's runs -------------------------------------------------------------------------------

@st.cache_resource(scope="session", on_release=live.SessionGuard.release, show_spinner=False)
def _session_guard():
    """One per browser session; released (ending its training) when the session disconnects. Its runs and
    weights are dropped once the session can no longer reconnect (the server's TTL, plus a margin)."""
    return live.SessionGuard(forget_after=st.get_option("server.disconnectedSessionTTL") + 5)


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


# --- the URL: every knob, the preset, the inspection tab and run (backprop/live/knobs.py's table) ----------

def _url_query():
    return {k: st.query_params.get_all(k) for k in st.query_params}


def _ours(query):
    return {k: v[-1] for k, v in query.items() if k in KU.URL_FIELDS}


def _link_problems(problems):
    """Warnings naming each parameter of the link that could not be used as given (values as plain text)."""
    standard = [p for p in problems if p.code != "not_uniform"]
    chrome.show_url_problems(standard)
    for p in problems:
        if p.code == "not_uniform":
            chrome.warn_param(S["url_not_uniform"], name=p.name, value=p.value, used=p.used[0])


def _read_url():
    """The URL sets the knobs on a session's first visit, and whenever it changed from outside (Back,
    Forward, an edited link); otherwise the knobs are the truth and ``_write_url`` follows them."""
    ss = st.session_state
    ours = _ours(_url_query())
    written = ss.get(P + "url_written")
    if written is not None and (ours == written or not ours):  # nothing new (or back from another page)
        return
    knobs, page, problems = KU.knobs_from_url(ours)
    available = _available()
    if knobs["dataset"] not in available:
        st.warning(T["link_problem"].format(problem=training_runs.problem_text(
            T, "dataset_missing", {"dataset": chrome.escape_markdown(knobs["dataset"])})))
        knobs["dataset"] = "sample"
    if written is None and not ours:  # a plain visit: keep the session's data set
        knobs["dataset"] = ss[P + "dataset"]
    for name, value in knobs.items():
        ss[P + name] = value
    ss["dataset"] = knobs["dataset"]
    ss[P + "preset"] = page["preset"]
    training_inspect.open_tab(page["tab"])
    ss[P + "url_run"] = page["run"]
    _link_problems(problems)
    ss[P + "url_written"] = ours


def _write_url():
    """The URL says the knobs as they are now (defaults left out), so any state is a link."""
    ss = st.session_state
    inspected = ss.get(P + "inspect") or 0  # 0: the current run; a past one by its number
    want = KU.url_from_knobs(_knobs_state(), preset=ss[P + "preset"], tab=training_inspect.current_tab(),
                             run=inspected if LAB.record(inspected) is not None else 0)
    state, _ = U.parse(KU.URL_FIELDS, want)  # typed again, for chrome's one-update write
    chrome.write_url_state(KU.URL_FIELDS, state)
    ss[P + "url_written"] = want


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
            _say("error", T["command_failed"].format(error=training_runs.error_text(T, e, W)))
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
        _say("warning", T["adjust_failed"].format(error=training_runs.error_text(T, e, W)))


def _dataset_changed():
    st.session_state["dataset"] = st.session_state[P + "dataset"]


@_guarded  # the data set may be unreadable: say so, as for the other commands
def _unit_changed():
    """Keep the run length the same when switching between iterations and epochs."""
    knobs = _knobs_state()
    st.session_state[P + "length"] = live.convert_length(knobs, _train_images(knobs["dataset"]))


# --- moments for the clicker: the chapter-5 run, pause, inspect, chapter 6's optimizers -------------------

MOMENTS = ("run", "pause", "inspect", "compare")


def _enter_moment(k):
    """What arriving at moment k does (once per arrival, never on a plain rerun)."""
    ss = st.session_state
    run = LAB.current
    if MOMENTS[k] == "run":
        if run is None or run.state != live.RUNNING:
            if run is None or run.state not in (live.PAUSED,) or ss[P + "preset"] != "ch5":
                _set_knobs(replace(PRESETS["ch5"][0][1], dataset=ss[P + "dataset"], seed=ss[P + "seed"]))
                ss[P + "preset"] = "ch5"
            _start()
    elif MOMENTS[k] in ("pause", "inspect"):
        if run is not None and run.state == live.RUNNING:
            _pause()
    elif MOMENTS[k] == "compare":
        group = ss.get(P + "overlay_group")
        if group is None or not any(r.group == group for r in LAB.records()) and LAB.current is not None \
                and getattr(LAB.current, "group", None) != group:
            ss[P + "preset"] = "ch6_optimizers"
            _apply_preset()
            _compare()


def _moments():
    """The moment bar (chrome.moments); entering a moment acts, as the lecturer would with the mouse."""
    ss = st.session_state
    asked = st.query_params.get("moment") is not None
    k = chrome.moments("training", len(MOMENTS), [S[f"moment_{m}"] for m in MOMENTS])
    seen = ss.get(P + "moment_seen")
    if (seen is None and asked) or (seen is not None and seen != k):
        _enter_moment(k)
    ss[P + "moment_seen"] = k
    return MOMENTS[k]


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


def _inspect(records, divider=True):
    if divider:
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
        data = data_problem.load(W, st.session_state[P + "dataset"], "inspect_needs")
        if data is not None:
            training_inspect.render(None, data.x_test, data.t_test, data.class_names, heading=divider)
        return
    ss = st.session_state
    wanted = ss.pop(P + "url_run", 0)
    if wanted in choices:
        ss[P + "inspect"] = wanted
    elif wanted:
        st.caption(S["url_run_missing"].format(run=wanted))
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
    data = data_problem.load(W, source, "inspect_needs")
    if data is not None:
        training_inspect.render(net, data.x_test, data.t_test, data.class_names, heading=divider)


# --- live views (pages/training_live.py): fragments, redrawn every POOL.refresh_interval() s while a run goes on --

VIEW = training_live.View(T=T, S=S, big=BIG, lab=LAB, pool=POOL, restart=_restart, W=W)  # this run's session
LIVE_VIEW = partial(training_live.live_view, VIEW)  # progress, messages, the curves
LIVE_AND_BADGES = partial(training_live.live_view, VIEW, badges=True)  # and the sanity badges below them
SANITY_VIEW = partial(training_live.sanity_view, VIEW)  # the badges, the ratio chart
RATIO_VIEW = partial(training_live.sanity_view, VIEW, badges=False)  # the ratio chart alone
COMPARE_LIVE = partial(training_live.compare_live, VIEW)  # moment 4 on the projector: the overlay


# --- the page -------------------------------------------------------------------------------------------------

_init_knobs()
_read_url()
if not BIG:  # on a projector the moment bar says where we are; the curves need the room
    st.title(T["title"])
    st.markdown(T["intro"])
MOMENT = _moments()
if BIG:
    st.markdown(S[f"moment_{MOMENT}_explain"])
_knobs()

run, queued = LAB.view()
if run is None and not LAB.records() and live.run_from_earlier_server(st.query_params.get("run_id")):
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
    if len(PRESETS.get(preset, ())) > 1 and not (BIG and MOMENT == "compare" and queued):  # already queued
        st.button(T["compare"].format(n=len(PRESETS[preset])), on_click=_compare, icon=":material/stacked_line_chart:",
                  key=P + "btn_compare", help=T[f"preset_{preset}_help"])

message = st.session_state.pop(P + "message", None)
if message:
    (st.error if message[0] == "error" else st.warning)(message[1])

if run is not None and state in (live.READY, live.RUNNING, live.PAUSED):
    knobs = _knob_config()
    pending = [f for f in live.distinguishing_fields([run.config, knobs]) if f not in LIVE_FIELDS]
    if pending:
        st.caption(T["next_run_note"].format(fields=chrome.join(T.get(f, f) for f in pending)))
if queued:
    st.caption(T["queued"].format(n=queued))

ticking = state == live.RUNNING or queued > 0  # a queued run is about to start
st.session_state[P + "ticking"] = ticking
st.session_state[P + "drawn"] = (run.run_id, state) if run is not None else None
refresh = st.session_state[P + "refresh"] = POOL.refresh_interval()
st.session_state[P + "refresh_at"] = time.monotonic()
if run is not None:  # a bookmark of this page then tells, after a server restart, that the run was lost
    st.query_params["run_id"] = live.run_token(run.run_id)
# On the projector, inspecting a paused run and comparing runs put the moment's figure first and the live view
# further down, below the ratio toggle; everywhere else the badges come right below the curves, drawn by the
# same fragment.
beside = BIG and ((MOMENT == "inspect" and not ticking) or MOMENT == "compare")
if BIG and MOMENT == "inspect" and not ticking:
    _inspect(LAB.records(), divider=False)
elif BIG and MOMENT == "compare":
    chrome.fragment(COMPARE_LIVE, run_every=COMPARE_REFRESH if ticking else None)()
else:
    chrome.fragment(LIVE_AND_BADGES, run_every=refresh if ticking else None)()
if beside or st.session_state.get(P + "show_ratios"):
    chrome.fragment(SANITY_VIEW if beside else RATIO_VIEW,
                    run_every=max(SANITY_REFRESH, 2 * refresh) if ticking else None)()
if run is not None:
    st.toggle(T["show_ratios"], key=P + "show_ratios", help=T["ratio_help"])
if beside:
    chrome.fragment(LIVE_VIEW, run_every=refresh if ticking else None)()

training_runs.render(LAB)
# A training network changes under the inspector: inspecting is for a paused or finished run (which
# also keeps the browser's work light while the live views redraw).
if ticking:
    st.divider()
    st.caption(T["inspect_while_running"])
elif not (BIG and MOMENT == "inspect"):
    _inspect(LAB.records())
_write_url()
