"""Gradient check explorer: backprop against central differences for W1, b1, W2 and b2 (book section 5.7.3).

The page draws: ``backprop.checkconfig`` runs the check and the h sweep (run_check, run_sweep),
``backprop.gradcheck`` judges it (verdict and headline codes, worded here), ``backprop.planted_bugs``
holds the wrong layers and ``backprop.figures.gradcheck`` plots. Results are remembered per session, keyed
by their configuration, so a rerun that changes nothing recomputes nothing.
"""
import inspect
import textwrap
import time
from collections import OrderedDict

import pandas as pd
import streamlit as st

from backprop import datasets
from backprop.figures import gradcheck as figs
from backprop.checkconfig import (
    H_CHOICES, MAX_BATCH, CheckConfig, ConfigProblems, fit_images, loop_seconds_estimate, run_check, run_sweep,
)
from backprop.gradcheck import bug_outcome
from backprop.planted_bugs import BUGS
from pages import chrome

T = chrome.text("gradient_check")
PRESENT = chrome.presenting()

ACTIVATIONS = {"relu": "ReLU", "sigmoid": "Sigmoid"}
INITS = {0.01: "init_book", 0.1: "init_01", "xavier": "init_xavier", "he": "init_he"}
METHODS = {"fast": "method_fast", "loop": "method_loop"}
AXES = {"W1": ("axis_pixel", "axis_hidden"), "b1": ("axis_hidden", None),
        "W2": ("axis_hidden", "axis_class"), "b2": ("axis_class", None)}
VERDICT_STYLE = {  # cell background and text colour of each verdict
    "excellent": ("#dafbe1", "#116329"), "acceptable": ("#eef7d6", "#3f6212"),
    "suspicious": ("#fff1c2", "#7d4e00"), "wrong": ("#ffd7d5", "#a40e26"), "shape_mismatch": ("#ffd7d5", "#a40e26"),
    "not_finite": ("#ffd7d5", "#a40e26"), "imprecise": ("#eaeef2", "#424a53"), "unresolved": ("#eaeef2", "#424a53"),
}
VERDICT_ICON = {"excellent": "✔", "acceptable": "✔", "suspicious": "⚠", "wrong": "✘", "shape_mismatch": "✘",
                "not_finite": "✘", "imprecise": "?", "unresolved": "?"}
NO_BUG = "none"  # a selectbox shows None as "nothing chosen", so "no bug" is an option of its own
DEFAULTS = {
    "gc_bug": NO_BUG, "gc_activation": "relu", "gc_h": 1e-4, "gc_method": "fast", "gc_hidden": 50,
    "gc_init": 0.01, "gc_dtype": "float64", "gc_seed": 0, "gc_batch": 3, "gc_first": 0,
    "gc_sample": False, "gc_entries": 100, "gc_kinks": True, "gc_param": "W1",
}
FIG_LABELS = {  # the figures' words (backprop.figures.gradcheck.LABELS names the keys)
    "backprop": T["fig_backprop"], "numerical": T["fig_numerical"], "difference": T["fig_difference"],
    "gradient": T["fig_gradient"], "kinks": T["fig_kinks"], "worst": T["fig_worst"],
    "shape_error": T["fig_shape_error"], "tile_hover": T["fig_tile_hover"], "nothing_to_plot": T["fig_nothing_to_plot"],
    "scatter_title": T["fig_scatter_title"], "max_rel": T["fig_max_rel"], "below_resolution": T["fig_below_resolution"],
    "your_h": T["fig_your_h"], "roundoff": T["fig_roundoff"], "truncation": T["fig_truncation"],
}
KEEP = 6  # checks (and sweeps) remembered per session
LOOP_ASK_S = 15  # the book's loop asks before running longer than this
SWEEP_ENTRIES = 20  # entries per parameter in the h sweep


def h_label(h):
    """1e-04 -> '1e-4'."""
    return f"{h:.0e}".replace("e-0", "e-")


def note(text):
    """A message for the next run, shown once (callbacks run before the page draws)."""
    st.session_state.setdefault("gc_notes", []).append(text)


def on_activation():
    bug = st.session_state.gc_bug
    if bug in BUGS and BUGS[bug].activation not in (None, st.session_state.gc_activation):
        st.session_state.gc_bug = NO_BUG
        note(T["note_bug_removed"].format(activation=ACTIVATIONS[st.session_state.gc_activation]))


def on_bug():
    bug = st.session_state.gc_bug
    if bug in BUGS:  # show a parameter the bug breaks
        st.session_state.gc_param = BUGS[bug].corrupts[0]


def sample_instead():
    st.session_state.gc_sample = True
    st.session_state.gc_entries = 100


def duration_text(seconds):
    return T["about_min"].format(n=round(seconds / 60)) if seconds >= 90 else T["about_s"].format(n=round(seconds))


def load_data():
    """(dataset in use, message if we fell back to the bundled sample)."""
    source = chrome.dataset_in_use()
    try:
        return datasets.load_dataset(source), None
    except datasets.DatasetNotFoundError:
        problem = T["data_missing"]
    except datasets.IDXError as e:
        problem = T["data_unreadable"].format(file=e.file)
    except ValueError:  # not a source at all
        problem = T["data_unknown"]
    name = T["source_titles"].get(source, source)
    return datasets.load_dataset("sample"), T["data_fallback"].format(source=name, problem=problem)


class Progress:
    """A progress bar that appears only when a computation looks like it will take over a second."""

    def __init__(self, template, **values):
        self.slot = st.empty()
        self.template, self.values = template, values
        self.start = self.last = time.perf_counter()
        self.shown = False

    def __call__(self, done):
        now = time.perf_counter()
        elapsed = now - self.start
        if done <= 0 or (not self.shown and elapsed / done < 1.0 and elapsed < 1.0):
            return
        if self.shown and now - self.last < 0.1 and done < 1:  # a few updates a second is plenty
            return
        self.shown, self.last = True, now
        left = max(elapsed / done - elapsed, 0.0)
        self.slot.progress(min(done, 1.0), text=self.template.format(done=done, left=left, **self.values))

    def clear(self):
        self.slot.empty()


def remember(store, key, compute):
    """compute() once per key per session, keeping the KEEP most recent results."""
    cache = st.session_state.setdefault(store, OrderedDict())
    if key in cache:
        cache.move_to_end(key)
        return cache[key]
    cache[key] = compute()
    while len(cache) > KEEP:
        cache.popitem(last=False)
    return cache[key]


# State: defaults once, then repairs that must happen before the widgets are drawn --------------------
for k, v in DEFAULTS.items():
    st.session_state.setdefault(k, v)
if "gc_url_read" not in st.session_state:  # a shared link such as ?gc_bug=relu_mask_wrong_side
    st.session_state.gc_url_read = True
    if st.query_params.get("gc_bug") in BUGS:
        st.session_state.gc_bug = st.query_params["gc_bug"]
data, data_message = load_data()
n_images = len(data.x_train)
max_batch = min(MAX_BATCH, n_images)
st.session_state.gc_first, st.session_state.gc_batch, moved = fit_images(
    st.session_state.gc_first, st.session_state.gc_batch, n_images)
if moved:
    note(T["note_first_clamped"].format(n=n_images, first=st.session_state.gc_first,
                                        batch=st.session_state.gc_batch))

st.title(T["title"])
if not PRESENT:  # on a projector the presenter says it; the table needs the room
    st.markdown(T["intro"])
if data_message:
    st.warning(data_message)

# Controls: the four that matter most in a row; the rest in an expander (collapsed when presenting) -----
if PRESENT:  # one row across the projector
    c_bug, c_act, c_h, c_method = st.columns([2.6, 2.3, 2.1, 2.4], vertical_alignment="bottom")
else:  # beside the sidebar: h gets a row of its own, wide enough for its twelve stops
    c_bug, c_act, c_method = st.columns([2.6, 1.3, 1.4], vertical_alignment="bottom")
    c_h = st.container()
c_bug.selectbox(T["bug"], [NO_BUG, *BUGS], key="gc_bug", on_change=on_bug, help=T["bug_help"],
                format_func=lambda k: T["bugs"].get(k, T["no_bug"]), persist_state="session")
bug = st.session_state.gc_bug if st.session_state.gc_bug in BUGS else None
# The URL names the planted bug by its key (a bound widget would put its translated title there).
if bug:
    st.query_params["gc_bug"] = bug
else:
    st.query_params.pop("gc_bug", None)
needed = BUGS[bug].activation if bug else None
if needed and st.session_state.gc_activation != needed:  # the bug's layer must exist in the net
    st.session_state.gc_activation = needed
    note(T["note_bug_activation"].format(bug=T["bugs"][bug], activation=ACTIVATIONS[needed]))
c_act.segmented_control(T["activation"], list(ACTIVATIONS), format_func=ACTIVATIONS.get, key="gc_activation",
                        required=True, on_change=on_activation, help=T["activation_help"],
                        bind="query-params", persist_state="session")
c_method.segmented_control(T["method"], list(METHODS), format_func=lambda m: T[METHODS[m]], key="gc_method",
                           required=True, help=T["method_help"], persist_state="session")
c_h.select_slider(T["h"], H_CHOICES, format_func=h_label, key="gc_h", help=T["h_help"],
                  bind="query-params", persist_state="session")

with st.expander(T["more_settings"], expanded=not PRESENT):
    row = st.columns(4)
    row[0].number_input(T["hidden"], min_value=1, max_value=200, step=1, key="gc_hidden", help=T["hidden_help"],
                        persist_state="session")
    row[1].selectbox(T["weight_init"], list(INITS), format_func=lambda v: T[INITS[v]], key="gc_init",
                     help=T["weight_init_help"], persist_state="session")
    row[2].segmented_control(T["dtype"], ["float64", "float32"], key="gc_dtype", required=True,
                             help=T["dtype_help"], bind="query-params", persist_state="session")
    row[3].number_input(T["seed"], min_value=0, max_value=2**31 - 1, step=1, key="gc_seed", help=T["seed_help"],
                        persist_state="session")
    row = st.columns([1, 1, 1.4, 1.4])
    row[0].number_input(T["batch"], min_value=1, max_value=max_batch, step=1, key="gc_batch",
                        help=T["batch_help"].format(max=max_batch), persist_state="session")
    row[1].number_input(T["first"], min_value=0, max_value=n_images - 1, step=1, key="gc_first",
                        help=T["first_help"].format(n=n_images), persist_state="session")
    with row[2]:
        st.toggle(T["sample_toggle"], key="gc_sample", help=T["sample_help"], persist_state="session")
        if st.session_state.gc_sample:
            st.number_input(T["entries"], min_value=1, max_value=40_000, step=10, key="gc_entries",
                            help=T["entries_help"], persist_state="session")
    row[3].toggle(T["exclude_kinks"], key="gc_kinks", help=T["exclude_kinks_help"], persist_state="session")
    first, batch = int(st.session_state.gc_first), int(st.session_state.gc_batch)
    shown = min(batch, 12)
    st.image([data.x_train[i] for i in range(first, first + shown)], width=44,
             caption=[data.class_names[data.t_train[i]] for i in range(first, first + shown)])
    st.caption(T["images_caption"].format(first=first, last=first + batch - 1, source=T["source_titles"][data.name])
               + (" …" if batch > shown else ""))

for message in st.session_state.pop("gc_notes", []):
    st.info(message)

config = CheckConfig(
    hidden_size=int(st.session_state.gc_hidden), activation=st.session_state.gc_activation,
    weight_init=st.session_state.gc_init, batch_size=batch, first_image=first, h=float(st.session_state.gc_h),
    dtype=st.session_state.gc_dtype, seed=int(st.session_state.gc_seed),
    entries=int(st.session_state.gc_entries) if st.session_state.gc_sample else None,
    method=st.session_state.gc_method, bug=bug,
)


def say_problems(problems):
    """Word CheckConfig.problems codes and stop: the controls should prevent this, but never fail silently."""
    named = lambda values: {k: ACTIVATIONS.get(v, v) if k == "activation" else v  # noqa: E731
                            for k, v in values.items()}
    st.error(T["problem_intro"] + "\n" + "\n".join(
        f"- {T['problem_' + code].format(**named(values))}" for code, values in problems))
    st.stop()


if config.problems(n_images):
    say_problems(config.problems(n_images))


key = (data.name, config)
if (config.method == "loop" and key not in st.session_state.get("gc_checks", {})
        and st.session_state.get("gc_loop_ok") != key):
    estimate = loop_seconds_estimate(config, data.x_train, data.t_train)
    if estimate > LOOP_ASK_S:  # a long wait should be a choice, with the quick way out next to it
        st.warning(T["loop_slow"].format(entries=config.n_entries(), images=config.batch_size,
                                         time=duration_text(estimate)))
        go, sample = st.columns([1, 1.4])
        if go.button(T["loop_run"].format(time=duration_text(estimate)), icon=":material/hourglass_top:"):
            st.session_state.gc_loop_ok = key
            st.rerun()
        sample.button(T["loop_sample"], on_click=sample_instead, icon=":material/filter_alt:")
        st.stop()


def compute_check():
    progress = Progress(T["progress_check"], method=T[METHODS[config.method]], entries=config.n_entries())
    try:
        return run_check(config, data.x_train, data.t_train, progress=progress)
    finally:
        progress.clear()


try:
    stored = remember("gc_checks", key, compute_check)
except ConfigProblems as e:  # defensive: problems() above should have caught it
    say_problems(e.problems)
check = stored.with_kinks_excluded(st.session_state.gc_kinks)
params = check.params


# Verdict first: headline, which method ran, the table -------------------------------------------------
def seconds_text(s):
    return f"{s * 1000:.1f} ms" if s < 1 else f"{s:.2f} s"


def error_text(p, dtype):
    """The error cell: the shape mismatch or non-finite value itself, else the error the verdict judged."""
    if p.verdict == "shape_mismatch":
        return T["shape_mismatch"].format(got=p.shape_error, want=p.shape)
    if p.verdict == "not_finite":
        return T["not_finite"]
    if p.verdict == "imprecise":
        return T["below_roundoff"].format(floor=figs.fmt(p.floor, 2))
    return figs.fmt(p.judged_err if dtype == "float32" else p.max_rel_err)


def reason_text(p):
    """Why one parameter failed, in a few words: 'W1 (relative error 1.98e+00)', 'b2 (shape mismatch)'."""
    if p.verdict in ("shape_mismatch", "not_finite"):
        return T["reason_" + p.verdict].format(name=p.name)
    return T["reason_error"].format(name=p.name, err=figs.fmt(p.judged_err, 2))


def verdict_table(check):
    rel_column = T["col_rel_float32" if check.dtype == "float32" else "col_rel"]  # float32: beyond round-off
    rows, styles = [], []
    for p in check.params.values():
        index, a, n = p.worst
        a_text, n_text = figs.fmt_pair(a, n, most=5)
        bad_shape = p.shape_error is not None
        row = {
            T["col_parameter"]: p.name, T["col_shape"]: figs.shape_text(p.shape),
            T["col_checked"]: f"{p.n_checked:,}", T["col_kinks"]: f"{p.n_kinks:,}" if p.n_kinks else "0",
            T["col_mean"]: figs.fmt(p.mean_abs_diff), T["col_max"]: figs.fmt(p.max_abs_diff),
            rel_column: error_text(p, check.dtype),
            T["col_verdict"]: T["verdict_" + p.verdict],
            T["col_worst"]: "—" if bad_shape or index is None else "[" + ", ".join(map(str, index)) + "]",
            T["col_backprop"]: "—" if bad_shape else a_text, T["col_numerical"]: "—" if bad_shape else n_text,
        }
        if PRESENT:  # fewer columns on a projector: the book's mean |diff| and the verdict matter most
            for col in ("col_checked", "col_max"):
                row.pop(T[col])
        rows.append(row)
        styles.append(VERDICT_STYLE[p.verdict])
    df = pd.DataFrame(rows)

    def colour(column):
        return [f"background-color: {bg}; color: {fg}; font-weight: 600" for bg, fg in styles]

    return df.style.apply(colour, subset=[T["col_verdict"], rel_column])


def headline(check):
    """The check's headline (backprop.gradcheck's code and values, worded), and right under it what it means."""
    code, values = check.headline()
    names = ", ".join(values.get("params", ()))
    if code == "fail":
        st.error(T["headline_fail"].format(reasons=", ".join(reason_text(check.params[k]) for k in values["params"])),
                 icon=":material/error:")
    elif code == "imprecise":
        st.warning(T["headline_imprecise"].format(params=names, dtype=values["dtype"], h=h_label(values["h"]),
                                                  floor=figs.fmt(values["floor"], 2)), icon=":material/help:")
    elif code == "unresolved":
        st.warning(T["headline_unresolved"].format(params=names, h=h_label(values["h"]), dtype=values["dtype"]),
                   icon=":material/help:")
    else:
        st.success(T["headline_pass_" + values["dtype"]].format(n=values["n"], worst=figs.fmt(values["worst"])),
                   icon=":material/check_circle:")
    if check.dtype == "float32" and not PRESENT:  # a float32 verdict's explanation, next to it (on a projector
        st.caption(T["note_float32"])  # the headlines carry it: "within float32 precision", "cannot resolve")


def which_ran(check):
    """Which numerical gradient ran, on what, and how long it took."""
    st.caption(T[("ran_short_" if PRESENT else "ran_") + check.method].format(
        entries=check.n_checked, seconds=seconds_text(check.seconds), backprop=seconds_text(check.backprop_seconds),
        images=check.n_images, dtype=check.dtype, h=h_label(check.h)))


headline(check)  # the headline first, its explanation right under it, then the evidence
if PRESENT:  # on a projector the table must fit under the headline: which method ran comes after it
    st.table(verdict_table(check), hide_index=True)
    which_ran(check)
else:
    which_ran(check)
    st.table(verdict_table(check), hide_index=True)
    st.caption(T["legend"])

if check.n_kinks:
    st.info(T["note_kinks_excluded" if st.session_state.gc_kinks else "note_kinks_included"].format(
        n=check.n_kinks, h=h_label(check.h)))
if check.n_unresolved:
    st.info(T["note_unresolved"].format(n=check.n_unresolved, h=h_label(check.h), dtype=check.dtype))
for p in params.values():
    if p.shape_error is not None:
        st.info(T["note_shape"].format(name=p.name, got=p.shape_error, want=p.shape))
if config.method == "loop" and not config.bug and any(p.verdict == "acceptable" for p in params.values()):
    st.info(T["note_loop_roundoff"].format(loss=check.loss))

# The planted bug: what it is, whether the check caught it, and the code --------------------------------
if config.bug:
    planted = BUGS[config.bug]
    outcome, values = bug_outcome(check, planted)
    with st.container(border=True):
        st.markdown("**" + T["bug_heading"].format(title=T["bug_titles"][planted.key]) + "**")
        st.markdown(T["bug_explanations"][planted.key])
        if outcome == "invisible":
            st.warning(T["bug_not_caught_batch"].format(batch=values["batch"]))
        elif outcome == "caught":
            clean = T["bug_clean"].format(params=", ".join(values["clean"])) if values["clean"] else ""
            st.success(T["bug_caught"].format(caught=", ".join(reason_text(params[k]) for k in values["caught"]),
                                              clean=clean))
        else:
            st.warning(T["bug_partly"].format(caught=", ".join(values["caught"]) or T["none"],
                                              expected=", ".join(values["expected"])))
        with st.expander(T["bug_show_code"], expanded=not PRESENT):
            left, right = st.columns(2)
            left.caption(T["bug_code_right"].format(cls=planted.replaces.__name__))
            left.code(textwrap.dedent(inspect.getsource(planted.replaces.backward)), language="python",
                      wrap_lines=True)
            right.caption(T["bug_code_wrong"].format(cls=planted.layer_class.__name__))
            right.code(textwrap.dedent(inspect.getsource(planted.layer_class.backward)), language="python",
                       wrap_lines=True)

# Figures, in tabs that run only when open ------------------------------------------------------------
TABS = ("tab_heatmaps", "tab_tiles", "tab_scatter", "tab_sweep")
tabs = dict(zip(TABS, st.tabs([T[k] for k in TABS], key="gc_tab", on_change="rerun")))


def param_label(key):
    return f"{key} {VERDICT_ICON[params[key].verdict]}"


with tabs["tab_heatmaps"]:
    if tabs["tab_heatmaps"].open:
        st.segmented_control(T["param_pick"], list(params), key="gc_param", required=True, format_func=param_label)
        key = st.session_state.gc_param
        rows_name, cols_name = AXES[key]
        st.plotly_chart(figs.param_heatmaps(params[key], FIG_LABELS, row_name=T[rows_name],
                                            col_name=T[cols_name] if cols_name else "", big=PRESENT),
                        key="gc_heatmap", theme=None)
        if params[key].shape_error is None:
            st.caption(T["heatmap_caption"])

with tabs["tab_tiles"]:
    if tabs["tab_tiles"].open:
        w1 = params["W1"]
        st.plotly_chart(figs.w1_tiles(w1, FIG_LABELS, big=PRESENT, width=1060 if PRESENT else 820), key="gc_tiles_fig",
                        theme=None)
        st.caption(T["tiles_caption"].format(units=min(w1.shape[1], 100), total=w1.shape[1]))

with tabs["tab_scatter"]:
    if tabs["tab_scatter"].open:
        st.plotly_chart(figs.scatter(check, FIG_LABELS, big=PRESENT), key="gc_scatter", theme=None)
        st.caption(T["scatter_caption"])

with tabs["tab_sweep"]:
    if tabs["tab_sweep"].open:
        def compute_sweep():
            progress = Progress(T["progress_sweep"])
            try:
                return run_sweep(config, data.x_train, data.t_train, entries=SWEEP_ENTRIES, progress=progress)
            finally:
                progress.clear()

        sweep = remember("gc_sweeps", (data.name, config.sweep_key()), compute_sweep)
        st.plotly_chart(figs.sweep_figure(sweep, FIG_LABELS, h=config.h, big=PRESENT), key="gc_sweep_fig", theme=None)
        st.caption(T["sweep_caption"].format(entries=SWEEP_ENTRIES))
        if not PRESENT:
            lines = []
            for key in sweep.errors["float64"]:
                (h64, e64), (h32, e32) = sweep.minimum("float64", key), sweep.minimum("float32", key)
                lines.append("- " + T["sweep_best"].format(name=key, h64=figs.fmt(h64, 2), e64=figs.fmt(e64, 2),
                                                          h32=figs.fmt(h32, 2), e32=figs.fmt(e32, 2)))
            st.markdown("\n".join(lines))
