"""The live views of the training page: progress, messages, the curves as a run goes on, the sanity badges and
the comparison overlay on the projector. Drawn by pages/training.py, as fragments redrawn while a run goes on.
"""
import time
from dataclasses import dataclass

import streamlit as st

from backprop import live
from backprop.figures import training as figs
from backprop.figures.style import drawn_height
from backprop.health import check_first_loss, check_stalled, check_update_ratio
from pages import chrome, training_runs
from pages.components.live_curves import live_curves
from pages.training_runs import g as _g

P = "training_"  # session-state prefix of the training page
# Nothing language- or session-dependent at module level: this module is imported once per server process,
# so every function takes a View, built by pages/training.py on each run of the page.
STALE = 2.0  # seconds: a live view older than this says how old it is
NOTE_PX = 40  # a note under the progress bar in presentation mode (a caption line and its gap)
RATE_EVERY = 5.0  # seconds between two looks at the load by a live view (a new rate redraws the whole page)
LIVE_POINTS = 600  # buckets per live curve: plenty for a 700-pixel-wide chart
STATUS_COLORS = {"good": "green", "low": "orange", "zero": "red", "high": "orange", "too_high": "red",
                 "unknown": "gray"}


@dataclass(frozen=True)
class View:
    """What the live views need of the session: its catalogues, presentation mode, runs and the server's pool."""
    T: dict  # the training page's words
    S: dict  # the words added for links, moments and stalled runs
    big: bool  # presentation mode
    lab: live.Lab  # the session's runs
    pool: object  # the server's trainer processes
    restart: object  # the Restart button's callback (a run whose trainer process died)
    W: dict = None  # data_problem.words(): a data file a run could not load, in Home's words


def _duration(T, seconds):
    if seconds != seconds or seconds == float("inf"):  # NaN or unknown
        return "–"
    seconds = int(round(seconds))
    return T["minutes"].format(m=seconds // 60, s=seconds % 60) if seconds >= 60 else T["seconds"].format(s=seconds)


def _loss_labels(T):
    return {"x": T["iterations"], "y": T["loss"], "raw": T["loss_raw"], "smooth": T["loss_smooth"],
            "chance": T["chance"], "empty": T["empty_loss"]}


def _acc_labels(T):
    return {"x": T["epochs"], "y": T["accuracy"], "train": T["train"], "test": T["test"],
            "empty": T["empty_accuracy"]}


def _ratio_labels(T):
    return {"x": T["iterations"], "y": T["ratio_axis"], "band": T["ratio_band"], "empty": T["empty_loss"]}


def _live_labels(T):
    return {**_loss_labels(T), "epochs": T["epochs"], "accuracy": T["accuracy"], "train": T["train"],
            "test": T["test"]}


def _progress(v, snap):
    frac = min(snap.iteration / snap.target, 1.0) if snap.target else 0.0
    numbers = dict(it=f"{snap.iteration:,}", target=f"{snap.target:,}", epoch=f"{snap.epoch:.1f}",
                   rate=f"{snap.rate:,.0f}" if snap.rate == snap.rate else "–", eta=_duration(v.T, snap.eta),
                   time=_duration(v.T, snap.seconds))
    st.progress(frac, text=v.T[f"progress_{snap.state}"].format(**numbers))
    notes = _sharing(v, snap) if snap.state == live.RUNNING else 0
    if snap.state in (live.PAUSED, live.FINISHED, live.STOPPED) and snap.iteration and not v.big:
        # where the time went: the book's per-epoch evaluation often costs more than the training
        st.caption(v.T["timing"].format(
            train=f"{snap.seconds - snap.eval_seconds:.2f}", steps=f"{snap.steps_per_s:,.0f}",
            eval=f"{snap.eval_seconds:.2f}", n=f"{snap.evaluations:,}"))
    return notes


def _sharing(v, snap):
    """Why a run moves slowly or not at all: its place in the server's queue, a stale view, shared processes.
    Returns how many notes it wrote (on a projector each costs the curves a line of height)."""
    load = v.pool.load()
    notes = 0
    if snap.waiting:
        st.caption(v.T["waiting"].format(place=snap.waiting, running=load["running"]))
        notes += 1
    elif snap.age > STALE:
        st.caption(v.T["stale"].format(age=f"{snap.age:.0f}"))
        notes += 1
    if load["running"] > 1 and not snap.waiting:
        every = st.session_state.get(P + "refresh") or v.pool.refresh_interval()  # as this page's timer has it
        st.caption(v.T["shared"].format(runs=load["running"], processes=load["trainers"], every=_g(every)))
        notes += 1
    return notes


def _badges(v, snap, stalled):
    with st.container(horizontal=True, gap="small"):
        first = check_first_loss(snap.first_loss)
        text = (v.T["badge_first_loss_none"] if first.status == "unknown"
                else v.T["badge_first_loss"].format(loss=f"{first.value:.2f}", expected=f"{first.expected:.2f}"))
        st.badge(text, color=STATUS_COLORS[first.status], help=v.T[f"first_loss_{first.status}"])
        for name, ratio in snap.last_ratios.items():
            check = check_update_ratio(ratio)
            # a low or zero ratio has opposite remedies: a larger lr for a slow run, a smaller one (and He
            # init) for a network that jumped and died; the tooltip says which this is
            status = check.status if check.status not in ("low", "zero") else (
                "zero" if check.status == "zero" else "low_stalled" if stalled else "low")
            help_text = v.S[f"ratio_{status}"] if status in ("low", "zero", "low_stalled") else v.T[f"ratio_{status}"]
            # one significant digit: the order of magnitude is the lesson, and an unchanged badge is not redrawn
            st.badge(v.T["badge_ratio"].format(layer=name, ratio=f"{ratio:.0e}"), color=STATUS_COLORS[check.status],
                     help=help_text)


def _stall(snap):
    """backprop.health.check_stalled on what the snapshot holds (the loss curve, the ratios)."""
    curve = snap.loss
    return check_stalled(curve.x, curve.mean, snap.ratio_iterations, snap.ratios, peak_loss=curve.peak())


def _stall_warning(v, snap, stall):
    """Say that the network stopped learning, why and what to do; pause a lone run once so it stops wasting time."""
    cause = f"stalled_{stall.cause}_{snap.config.activation}" if stall.cause == "dead" else "stalled_too_high"
    st.error(v.S[cause].format(loss=f"{stall.loss:.2f}", since=f"{stall.since:,}", lr=_g(snap.config.lr),
                               suggest=_g(snap.config.lr / 100 if snap.config.lr >= 1 else snap.config.lr / 10),
                               ratio=f"{stall.ratio:.0e}"), icon=":material/heart_broken:")
    ss = st.session_state
    run = v.lab.current
    if snap.state == live.RUNNING and run is not None and ss.get(P + "stall_paused") != snap.run_id:
        ss[P + "stall_paused"] = snap.run_id
        if not v.lab.view()[1]:  # a comparison in the queue goes on: its lesson may be this very failure
            run.pause()
            st.caption(v.S["stalled_paused"])


def _messages(v, snap, stall):
    if stall.stalled:
        _stall_warning(v, snap, stall)
    d = snap.divergence
    if d is not None:
        key = "diverged" if d.weights_finite else "diverged_broken"
        st.error(v.T[key].format(it=f"{d.iteration:,}", loss=f"{d.loss:.3g}", lr=_g(d.lr), suggest=_g(d.lr / 10)),
                 icon=":material/error:")
    if snap.error:
        st.error(v.T["run_stopped_bug"] if snap.error.code == "bug" else  # its traceback is in the server's log
                 v.T["worker_error"].format(error=training_runs.run_error_text(v.T, snap.error, v.W)),
                 icon=":material/bug_report:")
        run = v.lab.current
        if run is not None and run.can_restart:
            st.button(v.T["restart"].format(it=f"{run.checkpoint_iteration:,}"), on_click=v.restart,
                      icon=":material/restart_alt:", key=P + "btn_restart")
    if snap.adjustments:
        a = snap.adjustments[-1]
        st.caption(v.T["adjusted"].format(changes=_changes(v.T, a.changes), it=f"{a.iteration:,}"))


def _changes(T, changes):
    """"lr → 0.01, batch size → 50": what one adjustment of the live knobs changed."""
    return chrome.join(f"{T.get(k, k)} → {_g(value)}" for k, value in changes)


def _markers(T, adjustments):
    """[(iteration, "lr → 0.01"), ...]: where a live knob changed, for the loss curve."""
    return [(a.iteration, _changes(T, a.changes)) for a in adjustments]


def _headline(v, snap):
    """A finished (or stopped) run's final test accuracy, in large type above its curves."""
    if snap.state in (live.FINISHED, live.STOPPED) and len(snap.evals):
        st.markdown(v.S["final_headline"].format(test=f"{snap.evals[-1, 3]:.1%}", train=f"{snap.evals[-1, 2]:.1%}",
                                                 it=f"{snap.iteration:,}"))


def live_view(v, badges=False):
    """Progress, messages and the curves; with ``badges``, the sanity badges below them in the same rerun (one
    fragment rerun a redraw instead of two: each rerun costs the server more in Streamlit's own work than
    the badges cost to draw, and a hall of 30 redraws 15 pages a second)."""
    run = v.lab.current
    if run is None:
        st.info(v.T["no_run"], icon=":material/play_circle:")
        return
    snap = run.snapshot(max_points=LIVE_POINTS)
    notes = _progress(v, snap)
    stall = _stall(snap)  # for the messages and the badges: checked once a redraw
    _messages(v, snap, stall)
    # On a 1280x720 projector: the moment bar, its line, controls, the notes on a busy server and these.
    height = 255 - NOTE_PX * notes if v.big else 290
    markers = _markers(v.T, snap.adjustments)
    if snap.state == live.RUNNING:  # redrawn up to twice a second: a canvas, cheap for the browser
        data = figs.live_curves_data(snap.loss, snap.evals, labels=_live_labels(v.T), big=v.big, markers=markers)
        live_curves(data, key=P + "live_curves", height=int(drawn_height(height, v.big)),
                    label=v.T["live_curves_label"])
    else:  # still: the interactive Plotly figures, in the same large type (theme=None keeps base_layout's)
        _headline(v, snap)
        divergence = (snap.divergence.iteration, v.T["chart_diverged"]) if snap.divergence else None
        left, right = st.columns([3, 2])
        left.plotly_chart(figs.loss_figure(snap.loss, labels=_loss_labels(v.T), big=v.big, height=height,
                                           divergence=divergence, markers=markers),
                          key=P + "loss_chart", config={"displayModeBar": False}, theme=None)
        right.plotly_chart(figs.accuracy_figure(snap.evals, labels=_acc_labels(v.T), big=v.big, height=height),
                           key=P + "acc_chart", config={"displayModeBar": False}, theme=None)
    if badges:
        _badges(v, snap, stall.stalled)
    # A run ended, paused itself or handed over to the next queued run, or the server's load changed the
    # redraw rate: redraw the whole page once (the fragment's timer is set there).
    ss = st.session_state
    if ss.get(P + "ticking") and time.monotonic() - ss.get(P + "refresh_at", 0.0) > RATE_EVERY:
        ss[P + "refresh_at"] = time.monotonic()
        if ss.get(P + "refresh") != v.pool.refresh_interval():
            st.rerun(scope="app")
    if st.session_state.get(P + "drawn") != (snap.run_id, snap.state):
        st.session_state[P + "drawn"] = (snap.run_id, snap.state)
        if st.session_state.get(P + "ticking"):
            st.rerun(scope="app")


def sanity_view(v, badges=True):
    """The sanity badges (unless the live view draws them) and the ratio chart if asked for: slower-moving, so
    redrawn less often."""
    run = v.lab.current
    ratios = st.session_state.get(P + "show_ratios")  # the toggle itself is drawn below, outside the fragments
    if run is None or not (badges or ratios):
        return
    snap = run.snapshot(max_points=LIVE_POINTS)
    if badges:
        _badges(v, snap, _stall(snap).stalled)
    if ratios:
        figure = figs.ratio_figure(snap.ratio_iterations, snap.ratios, labels=_ratio_labels(v.T), big=v.big)
        st.plotly_chart(figure, key=P + "ratio_chart", config={"displayModeBar": False}, theme=None)


def compare_live(v):
    """Moment 4 on the projector: the comparison's runs overlaid as they finish, the running one included."""
    group = st.session_state.get(P + "overlay_group")
    records = [r for r in v.lab.records() if group is not None and r.group == group]
    run = v.lab.current
    names = training_runs.names(v.T, records)
    runs = [(names[r.run_id], r.curve(), r.evals) for r in records]
    if run is not None and getattr(run, "group", None) == group and not run.closed and run.state != live.FINISHED:
        snap = run.snapshot(max_points=LIVE_POINTS)
        runs.append((f"#{snap.run_id} {snap.label}", snap.loss, snap.evals))
    labels = {"loss": v.T["overlay_loss"], "accuracy": v.T["overlay_accuracy"], "iterations": v.T["iterations"],
              "epochs": v.T["epochs"], "empty": v.T["overlay_empty"]}
    st.plotly_chart(figs.overlay_figure(runs, labels=labels, big=v.big, height=280), key=P + "compare_live",
                    config={"displayModeBar": False}, theme=None)
