"""Gradient check explorer: backprop against central differences for W1, b1, W2 and b2 (book section 5.7.3).

The page draws: ``backprop.checkconfig`` runs the check and the h sweep (run_check, run_sweep),
``backprop.gradcheck`` judges it (verdict and headline codes, worded here), ``backprop.planted_bugs``
holds the wrong layers and ``backprop.figures.gradcheck`` plots. Results are remembered per session, keyed
by their configuration, so a rerun that changes nothing recomputes nothing.
"""
import time

import pages  # noqa: F401,I001 - first: imports every module the pages use, once, in one order (pages/__init__.py)

import streamlit as st

from backprop import datasets, urlstate
from backprop.figures import gradcheck as figs
from backprop.checkconfig import (
    H_CHOICES, MAX_BATCH, MOMENTS, NO_BUG, STORY_FIELDS, TABS, URL_FIELDS, ConfigProblems,
    config_from_state, fit_images, loop_seconds_estimate, moment_fields, run_check, run_sweep, snap_h,
)
from backprop.planted_bugs import BUGS
from pages import chrome, data_problem
from pages import gradient_check_verdict as verdicts
from pages.gradient_check_verdict import VERDICT_ICON, h_label

T = chrome.text("gradient_check")
S = chrome.text("gradient_check_story")  # the moments' words
PRESENT = chrome.presenting()
VIEW = verdicts.View(T, S, PRESENT)  # what the verdict module draws with

ACTIVATIONS = {"relu": "ReLU", "sigmoid": "Sigmoid"}
INITS = {"0.01": "init_book", "0.1": "init_01", "xavier": "init_xavier", "he": "init_he"}  # URL text -> words
METHODS = {"fast": "method_fast", "loop": "method_loop"}
AXES = {"W1": ("axis_pixel", "axis_hidden"), "b1": ("axis_hidden", None),
        "W2": ("axis_hidden", "axis_class"), "b2": ("axis_class", None)}
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
    try:
        sample = datasets.load_dataset("sample")
    except (OSError, ValueError) as e:  # nothing to fall back on: say which file is damaged and how to restore it
        data_problem.stop(data_problem.words(), e, "sample")
    return sample, T["data_fallback"].format(source=name, problem=problem)


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
    return chrome.remember(store, key, compute, keep=KEEP)


# State: the URL (a bookmark, Back/Forward, a moment) or the widgets, then repairs before they are drawn ---
def moment_labels():
    out = []
    for code, preset in MOMENTS:
        if code.startswith("bug_"):
            out.append(S["moment_bug"].format(bug=T["bugs"][preset["gc_bug"]]))
        else:
            out.append(S[f"moment_{code}"])
    return out


def url_problems(fields):
    """The URL's state for ``fields`` and its problems, h snapped to the slider's nearest stop."""
    state, problems = chrome.url_state(fields, warn=False)
    h, exact = snap_h(state["gc_h"])
    if not exact and not any(problem.name == "gc_h" for problem in problems):
        problems.append(urlstate.Problem("not_a_choice", "gc_h", urlstate.echo(st.query_params.get("gc_h", "")),
                                         used=h_label(h), choices=tuple(map(h_label, H_CHOICES))))
    state["gc_h"] = h
    return state, problems


def widget_state():
    """The URL state the widgets hold now (URL_FIELDS' names)."""
    ss = st.session_state
    return {name: (int(ss[name]) if URL_FIELDS[name].kind == "int" else ss[name]) for name in URL_FIELDS}


def url_seen():
    return tuple(st.query_params.get(name) for name in (*URL_FIELDS, "moment"))


TAB_OF_LABEL = {T[f"tab_{code}"]: code for code in TABS}
for name in (*URL_FIELDS, "gc_tab_widget"):  # widgets not drawn in a run (a closed tab's) keep their values
    if name in st.session_state:
        st.session_state[name] = st.session_state[name]
if PRESENT:  # on a projector the navigation bar names the page: the moment is the headline
    k = chrome.moments("gradient_check", len(MOMENTS), moment_labels(), clears=STORY_FIELDS)
else:
    st.title(T["title"])
    k = chrome.moments("gradient_check", len(MOMENTS), moment_labels(), clears=STORY_FIELDS)
FIELDS = moment_fields(k)
# The URL changed under us, or the widgets' values are gone (Streamlit drops them while another page
# runs, and the URL back here may be the one we left): either way the URL is the state.
if st.session_state.get("gc_url_seen") != url_seen() or any(name not in st.session_state for name in URL_FIELDS):
    state, problems = url_problems(FIELDS)
    chrome.show_url_problems(problems)
    for name, value in state.items():
        st.session_state[name] = value
elif "gc_tab_widget" in st.session_state:  # a tab clicked: the tabs hold its label
    st.session_state.gc_tab = TAB_OF_LABEL.get(st.session_state.gc_tab_widget, st.session_state.gc_tab)
st.session_state.gc_tab_widget = T[f"tab_{st.session_state.gc_tab}"]
data, data_message = load_data()
n_images = len(data.x_train)
max_batch = min(MAX_BATCH, n_images)
st.session_state.gc_first, st.session_state.gc_batch, moved = fit_images(
    st.session_state.gc_first, st.session_state.gc_batch, n_images)
if moved:
    note(T["note_first_clamped"].format(n=n_images, first=st.session_state.gc_first,
                                        batch=st.session_state.gc_batch))
bug = st.session_state.gc_bug if st.session_state.gc_bug in BUGS else None
needed = BUGS[bug].activation if bug else None
if needed and st.session_state.gc_activation != needed:  # the bug's layer must exist in the net
    st.session_state.gc_activation = needed
    note(T["note_bug_activation"].format(bug=T["bugs"][bug], activation=ACTIVATIONS[needed]))
chrome.write_url_state(FIELDS, widget_state())  # the URL follows every change (one history entry)
st.session_state.gc_url_seen = url_seen()
config = config_from_state(widget_state())

if not PRESENT:  # on a projector the lecturer says it
    st.caption(S[f"story_{'bug' if MOMENTS[k][0].startswith('bug_') else MOMENTS[k][0]}"])
    st.markdown(T["intro"])
if data_message:
    st.warning(data_message)


def controls():
    """The four that matter most, in a row (on a projector in the sidebar)."""
    if PRESENT:  # in the sidebar, one above the other
        c_bug, c_act, c_h, c_method = (st.container() for _ in range(4))
    else:  # beside the sidebar: h gets a row of its own, wide enough for its twelve stops
        c_bug, c_act, c_method = st.columns([2.6, 1.3, 1.4], vertical_alignment="bottom")
        c_h = st.container()
    c_bug.selectbox(T["bug"], [NO_BUG, *BUGS], key="gc_bug", on_change=on_bug, help=T["bug_help"],
                    format_func=lambda key: T["bugs"].get(key, T["no_bug"]))
    c_act.segmented_control(T["activation"], list(ACTIVATIONS), format_func=ACTIVATIONS.get, key="gc_activation",
                            required=True, on_change=on_activation, help=T["activation_help"])
    c_method.segmented_control(T["method"], list(METHODS), format_func=lambda m: T[METHODS[m]], key="gc_method",
                               required=True, help=T["method_help"])
    c_h.select_slider(T["h"], H_CHOICES, format_func=h_label, key="gc_h", help=T["h_help"])


def rows(*widths):
    """Columns of these widths, or (in the narrow sidebar of presentation mode) one widget per line."""
    return [st.container() for _ in widths] if PRESENT else st.columns(widths)


def more_settings():
    row = rows(1, 1, 1, 1)
    row[0].number_input(T["hidden"], min_value=1, max_value=200, step=1, key="gc_hidden", help=T["hidden_help"])
    row[1].selectbox(T["weight_init"], list(INITS), format_func=lambda v: T[INITS[v]], key="gc_init",
                     help=T["weight_init_help"])
    row[2].segmented_control(T["dtype"], ["float64", "float32"], key="gc_dtype", required=True, help=T["dtype_help"])
    row[3].number_input(T["seed"], min_value=0, max_value=2**31 - 1, step=1, key="gc_seed", help=T["seed_help"])
    row = rows(1, 1, 1.4, 1.4)
    row[0].number_input(T["batch"], min_value=1, max_value=max_batch, step=1, key="gc_batch",
                        help=T["batch_help"].format(max=max_batch))
    row[1].number_input(T["first"], min_value=0, max_value=n_images - 1, step=1, key="gc_first",
                        help=T["first_help"].format(n=n_images))
    with row[2]:
        st.toggle(T["sample_toggle"], key="gc_sample", help=T["sample_help"])
        if st.session_state.gc_sample:
            st.number_input(T["entries"], min_value=1, max_value=40_000, step=10, key="gc_entries",
                            help=T["entries_help"])
    row[3].toggle(T["exclude_kinks"], key="gc_kinks", help=T["exclude_kinks_help"])
    first, batch = config.first_image, config.batch_size
    shown = min(batch, 12)
    st.image([data.x_train[i] for i in range(first, first + shown)], width=36 if PRESENT else 44,
             caption=[data.class_names[data.t_train[i]] for i in range(first, first + shown)])
    st.caption(T["images_caption"].format(first=first, last=first + batch - 1, source=T["source_titles"][data.name])
               + (" …" if batch > shown else ""))


if PRESENT:  # the moments carry the story; every control is in the (collapsed) sidebar
    with st.sidebar:
        controls()
        with st.expander(T["more_settings"], expanded=False):
            more_settings()
else:
    controls()
    with st.expander(T["more_settings"], expanded=True):
        more_settings()

for message in st.session_state.pop("gc_notes", []):
    st.info(message)


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
    # Measured once per configuration: the button's label shows it, and a widget's id follows its label,
    # so a label that changed between two runs would lose the click.
    estimate = remember("gc_loop_estimates", key, lambda: loop_seconds_estimate(config, data.x_train, data.t_train))
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


# Verdict first: headline, which method ran, the table (pages/gradient_check_verdict.py) ----------------
def notes():
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


def param_label(key):
    return f"{key} {VERDICT_ICON[params[key].verdict]}"


def compute_sweep():
    progress = Progress(T["progress_sweep"])
    try:
        return run_sweep(config, data.x_train, data.t_train, entries=SWEEP_ENTRIES, progress=progress)
    finally:
        progress.clear()


def figure(tab, height=None):
    """The open tab's figure (only that one is computed); on a projector sized to sit beside the verdict."""
    sized = (lambda fig: fig.update_layout(height=height)) if height else (lambda fig: fig)
    if tab == "heatmaps":
        st.segmented_control(T["param_pick"], list(params), key="gc_param", required=True, format_func=param_label,
                             label_visibility="collapsed" if PRESENT else "visible")
        name = st.session_state.gc_param
        rows_name, cols_name = AXES[name]
        st.plotly_chart(sized(figs.param_heatmaps(params[name], FIG_LABELS, row_name=T[rows_name],
                                                  col_name=T[cols_name] if cols_name else "", big=PRESENT)),
                        key="gc_heatmap", theme=None)
        if params[name].shape_error is None and not PRESENT:
            st.caption(T["heatmap_caption"])
    elif tab == "tiles":
        w1 = params["W1"]
        st.plotly_chart(figs.w1_tiles(w1, FIG_LABELS, big=PRESENT, width=640 if PRESENT else 820),
                        key="gc_tiles_fig", theme=None)
        st.caption(T["tiles_caption"].format(units=min(w1.shape[1], 100), total=w1.shape[1]))
    elif tab == "scatter":
        st.plotly_chart(sized(figs.scatter(check, FIG_LABELS, big=PRESENT)), key="gc_scatter", theme=None)
        if not PRESENT:
            st.caption(T["scatter_caption"])
    else:
        sweep = remember("gc_sweeps", (data.name, config.sweep_key()), compute_sweep)
        st.plotly_chart(sized(figs.sweep_figure(sweep, FIG_LABELS, h=config.h, big=PRESENT)), key="gc_sweep_fig",
                        theme=None, config={"displayModeBar": False})  # on a phone its toolbar covered "your h"
        if not PRESENT:
            st.caption(T["sweep_caption"].format(entries=SWEEP_ENTRIES))
        if not PRESENT:  # on a projector they stand beside the figure, in the verdict's place
            sweep_best()


def sweep_best():
    """The best h per parameter, in both precisions (the sweep is remembered: this computes nothing new)."""
    sweep = remember("gc_sweeps", (data.name, config.sweep_key()), compute_sweep)
    lines = []
    for name in sweep.errors["float64"]:
        (h64, e64), (h32, e32) = sweep.minimum("float64", name), sweep.minimum("float32", name)
        lines.append("- " + T["sweep_best"].format(name=name, h64=figs.fmt(h64, 2), e64=figs.fmt(e64, 2),
                                                  h32=figs.fmt(h32, 2), e32=figs.fmt(e32, 2)))
    with st.container(key="gc_sweep_best"):
        st.markdown("\n".join(lines))


def figures(height=None):
    """The figures, in tabs that run only when open."""
    tabs = st.tabs([T[f"tab_{code}"] for code in TABS], key="gc_tab_widget", on_change="rerun")
    for code, tab in zip(TABS, tabs):
        with tab:
            if tab.open:
                figure(code, height)


def verdict():
    verdicts.headline(VIEW, check)  # the headline first, its explanation right under it, then the evidence
    with st.container(key="gc_table"):
        if PRESENT:  # on a projector the table must fit under the headline: which method ran comes last
            st.table(verdicts.verdict_table(VIEW, check), hide_index=True)
        else:
            verdicts.which_ran(VIEW, check)
            st.table(verdicts.verdict_table(VIEW, check), hide_index=True)
            st.caption(T["legend"])


PRESENT_CSS = """<style>
.st-key-gc_verdict [data-testid="stAlert"] p { font-size: 0.95rem; }
.st-key-gc_verdict [data-testid="stAlertContainer"] { padding: 0.6rem 0.8rem; }
.st-key-gc_table table { font-size: 0.75rem; }
.st-key-gc_table th { white-space: nowrap; }
.st-key-gc_table th, .st-key-gc_table td { padding-top: 0.3rem; padding-bottom: 0.3rem; }
.st-key-gc_verdict { gap: 0.6rem; }
.st-key-gc_sweep_best li, .st-key-gc_verdict > div > [data-testid="stMarkdownContainer"] p { font-size: 0.8rem; }
.st-key-gc_bug_box { gap: 0.3rem; padding: 0.6rem 0.8rem; }
.st-key-gc_bug_box [data-testid="stCode"] code { font-size: 0.68rem; }
.st-key-gc_bug_box [data-testid="stCaptionContainer"] { font-size: 0.68rem; }
</style>"""
if PRESENT:  # one screen per moment: the verdict beside its figure
    st.html(PRESENT_CSS)
    sweeping = st.session_state.gc_tab == "sweep"  # choosing h: the figure needs the width
    left, right = st.columns([0.75, 1.4] if sweeping else [1, 1.12], gap="medium")
    with left:
        with st.container(key="gc_verdict"):
            if sweeping:  # choosing h: the best h of each parameter is the verdict
                st.markdown(S["story_sweep"])
                sweep_best()
            else:
                verdict()
                if config.bug:
                    verdicts.planted_bug(VIEW, check, BUGS[config.bug])
        verdicts.which_ran(VIEW, check)  # under the fold if it must: the verdict and its evidence come first
    with right, st.container(key="gc_figure"):
        figures(height=400 if sweeping else 380)
else:
    with st.container(key="gc_verdict"):
        verdict()
    notes()
    if config.bug:
        verdicts.planted_bug(VIEW, check, BUGS[config.bug])
    with st.container(key="gc_figure"):
        figures()
