"""Inside the network: TwoLayerNet stepped one layer at a time, forward then backward, then one update.

State (session keys ``net_*``): a ``NetSetup`` (full or tiny net, fresh or trained weights, the image by
index or digit, N, seed, lr, the step 0..9) mirrored in the URL, e.g. ``/network?n=3&weights=trained&step=6``.
Everything is computed by ``backprop.walk`` (the full net) and ``backprop.tiny`` (the 2-3-2 net as a
scalar graph); this page only draws it.
"""
import inspect
from dataclasses import replace

import streamlit as st

import pages  # noqa: F401,I001 - first: imports every module the pages use, once, in one order (pages/__init__.py)

from backprop import network_state as S
from backprop import tiny
from backprop.datasets import load_dataset
from backprop.figures.network import images_figure, matrix_figure, pipeline_figure, tiny_figure
from backprop.graph import fmt
from backprop.layers import Affine
from backprop.optimizers import SGD
from backprop.walk import layer_walk
from pages import chrome
from pages import network_tex as tex

T = chrome.text("network")
ss = st.session_state
big = chrome.presenting()
CHART = {"displayModeBar": False, "scrollZoom": False}


@st.cache_resource(show_spinner=False, max_entries=4)
def trained(seed):
    """Read-only weights, the same for everyone who asks for this seed: shared across sessions."""
    net = S.train_for_a_moment(seed, load_dataset("sample"))
    test = load_dataset("sample")
    return net, net.accuracy(test.x_test.reshape(len(test.x_test), -1) / 255.0, test.t_test)


@st.cache_resource(show_spinner=False, max_entries=16)
def full_walk(weights, seed, start, n, lr):
    test = load_dataset("sample")
    x, t, _ = S.pick_images(S.NetSetup(image=start, n=n), test.x_test, test.t_test)
    net = trained(seed)[0] if weights == "trained" else S.fresh_net(seed)
    return layer_walk(net, x, t, lr=lr)


@st.cache_resource(show_spinner=False, max_entries=8)
def tiny_walk(lr):
    """The tiny net's matrices (the walk), its scalar graph's states, and the graph after the update."""
    net = tiny.tiny_net()
    walk = layer_walk(net, [tiny.X], [tiny.LABEL], lr=lr)
    graph = tiny.scalar_graph(net)
    states = graph.states()
    after = tiny.tiny_net()
    for key, p in after.params.items():
        p -= lr * walk.known(8)[f"d{key}"]
    graph_after = tiny.scalar_graph(after)
    return walk, graph, states, graph_after, graph_after.states()


# ----------------------------------------------------------------------------- state and URL

def _apply_url(params):
    setup, warnings = S.parse_params(params)
    ss.net_setup, ss.net_warnings, ss.net_url = setup, warnings, None
    ss.net_mode, ss.net_weights, ss.net_image = setup.net, setup.weights, setup.image
    ss.net_digit, ss.net_n, ss.net_seed, ss.net_lr = setup.digit, setup.n, setup.seed, setup.lr


def _url_params():
    return {key: st.query_params[key] for key in S.FIELDS if key in st.query_params}


if "net_setup" not in ss:
    _apply_url(_url_params())
elif (_params := _url_params()) and _params != ss.net_url:
    _apply_url(_params)  # Back/Forward in the browser, or an edited link
if (_arrived := chrome.arrived_at("network", S.N_STEPS + 1)) is not None:  # 1 from /shopping, last from the check
    ss.net_setup = S.with_step(ss.net_setup, _arrived)
chrome.follow_leave()  # Next after the last step, Back before the first


def _set(**changes):
    ss.net_warnings = []
    ss.net_setup = replace(ss.net_setup, **changes)


def _knobs_changed():
    """Any setup widget: the new setup, from step 0 if what is computed changed (the lr keeps the step)."""
    old = ss.net_setup
    new = replace(old, net=ss.net_mode, weights=ss.net_weights, image=int(ss.net_image or 0),
                  digit=ss.net_digit, n=int(ss.net_n), seed=int(ss.net_seed or 0),
                  lr=float(ss.net_lr) if ss.net_lr else old.lr)
    same_pass = replace(new, lr=old.lr) == old
    _set(**{f: getattr(new, f) for f in ("net", "weights", "image", "digit", "n", "seed", "lr")},
         step=old.step if same_pass else 0)


def _move(where):
    ss.net_warnings = []
    target = where(ss.net_setup.step)
    if not 0 <= target <= S.N_STEPS:  # the chapter walks on to the next page, or back to the previous one
        chrome.leave("network", 1 if target > 0 else -1)
    else:
        ss.net_setup = S.with_step(ss.net_setup, target)


def _sync_url():
    want = S.query_for(ss.net_setup)
    ss.net_url = want
    for key in S.FIELDS:
        if key in want:
            if st.query_params.get(key) != want[key]:
                st.query_params[key] = want[key]
        elif key in st.query_params:
            del st.query_params[key]


# ----------------------------------------------------------------------------- pieces

def controls(k, headline_md=None):
    """Reset / Back / Next / End (and, on a projector, the headline on the same row, to save height)."""
    last = S.N_STEPS
    back_help, next_help = chrome.step_help("network", k, last + 1, T["back_help"], T["next_help"])
    with st.container(horizontal=True, vertical_alignment="center", gap="small", key="net_controls"):
        if headline_md:
            st.markdown(headline_md, width="content")
        st.button(T["reset"], icon=":material/first_page:", on_click=_move, args=(lambda s: 0,), disabled=k == 0,
                  help=T["reset_help"], key="net_reset", shortcut="Home")
        st.button(T["back"], icon=":material/chevron_left:", on_click=_move, args=(lambda s: s - 1,),
                  help=back_help, key="net_back", shortcut="PageUp")
        st.button(T["next"], icon=":material/chevron_right:", on_click=_move, args=(lambda s: s + 1,),
                  help=next_help, key="net_next", shortcut="PageDown", type="primary")
        st.button(T["end"], icon=":material/last_page:", on_click=_move, args=(lambda s: last,), disabled=k == last,
                  help=T["end_help"], key="net_end", shortcut="End")
        chrome.arrow_twins("net", (T["back"], T["next"]), (_move, _move),
                           args=((lambda s: s - 1,), (lambda s: s + 1,)))
        if k == last and not big:  # on a projector: under the loss (``explanation``), not a second row up here
            next_page_link()


def next_page_link():
    st.page_link("pages/gradient_check.py", label=T["next_page"], icon=":material/arrow_forward:")


def headline(step):
    if step.direction == "start":
        return T["phase_start"]
    if step.direction == "update":
        return T["phase_update"]
    number = step.k if step.direction == "forward" else step.k - 4
    method = f"{step.layer}.{step.direction}" if step.direction == "backward" else step.layer
    return T[f"phase_{step.direction}"].format(number=number, n=4) + f" · `{method}`"


def code_panel(step):
    """The real source of the layer method that ran (what step 1 will call, at the start)."""
    method = step.method or (SGD.update if step.direction == "update" else Affine.forward)
    owner = method.__qualname__.split(".")[0]
    badge = {"backward": T["code_backward_badge"], "update": T["code_update_badge"]}.get(step.direction,
                                                                                          T["code_forward_badge"])
    st.markdown(f"{badge} **`{method.__qualname__}`** · `{method.__module__.replace('.', '/')}.py`")
    st.code(f"class {owner}:\n" + inspect.getsource(method), language="python")


def check_lines(step):
    lines = []
    for c in step.checks:
        verdict = T["check_ok"] if c.ok else T["check_bad"]
        lines.append(T[f"check_{c.kind}"].format(tensor=c.tensor, entries=f"{c.entries:,}", diff=f"{c.max_abs_diff:.1e}",
                                                 rel=f"{c.rel_err:.1e}", verdict=verdict))
    return lines


def explanation_key(step, walk):
    """The catalogue key of what this step did; the tiny net has its own words (one sample of 2 numbers)."""
    name = "affine1_backward" if step.rule == "affine_backward" and step.layer == "Affine1" else step.rule
    return f"explain_tiny_{name}" if tex.is_tiny(walk) else f"explain_{name}"


def explanation(step, walk, *, checks=True):
    st.markdown(T[explanation_key(step, walk)].format(layer=step.layer, n=walk.n, lr=fmt(walk.lr),
                                                     passed=walk.passed(step.k),
                                                     units=walk.params["W1"].shape[1], label=int(walk.t[0])))
    for line in tex.rules(step, walk):
        st.latex(line)
    if step.direction == "update":
        before, after = float(walk.known(4)["loss"]), float(step.tensors["loss_after"])
        with st.container(horizontal=True, key="net_loss", gap="medium"):
            st.metric(T["loss_before"], fmt(before, 5), width="content")
            st.metric(T["loss_after"], fmt(after, 5), delta=fmt(after - before, 3), delta_color="inverse",
                      width="content")
        if big:
            next_page_link()
    if checks:
        for line in check_lines(step):
            st.markdown(line)


def _plot(fig, key, alt):
    st.plotly_chart(fig, theme=None, key=key, config=CHART, alt=alt)


def full_tensors(step, walk):
    """The tensors of this step drawn so they can be read (see the issue's list)."""
    known, n, F = walk.known(step.k), walk.n, T["figure"]
    rows = [T["sample"].format(i=i + 1) for i in range(n)]
    digits = [str(d) for d in range(10)]
    r = step.rule
    if r == "start":
        captions = [T["caption_label"].format(label=int(t)) for t in walk.t]
        _plot(images_figure(walk.x, cols=min(n, 8), captions=captions, labels=F, big=big, height=200 if big else 170),
              "net_x", T["alt_x"])
    elif step.layer in ("Affine1", "Relu1") and r.endswith("forward"):
        z = known["z1"] if r == "relu_forward" else known["a1"]
        _plot(matrix_figure(z, labels=F, big=big, mask=known["mask"] if r == "relu_forward" else None,
                            row_names=rows, numbers=False), "net_a1", T["alt_cells"])
    elif r == "affine_forward":
        _plot(matrix_figure(known["a2"], labels=F, big=big, row_names=rows, col_names=digits), "net_a2", T["alt_cells"])
    elif r == "softmax_loss_forward":
        _plot(matrix_figure(known["y"], labels=F, big=big, row_names=rows, col_names=digits, targets=walk.t,
                            signed=False), "net_y", T["alt_cells"])
    elif r == "softmax_loss_backward":
        _plot(matrix_figure(known["da2"], labels=F, big=big, row_names=rows, col_names=digits, targets=walk.t),
              "net_da2", T["alt_cells"])
    elif step.layer == "Affine2":  # on a projector the three share one screen: 480 px below the strip
        _plot(matrix_figure(known["dW2"], labels=F, big=big, col_names=digits, numbers=False,
                            height=175 if big else 330), "net_dW2", T["alt_cells"])
        _plot(matrix_figure(known["db2"], labels=F, big=big, col_names=digits, row_names=["db2"], height=72),
              "net_db2", T["alt_cells"])
        _plot(matrix_figure(known["dz1"], labels=F, big=big, row_names=rows, numbers=False,
                            height=55 + 12 * n if big else None), "net_dz1", T["alt_cells"])
    elif r == "relu_backward":
        _plot(matrix_figure(known["da1"], labels=F, big=big, mask=known["mask"], row_names=rows, numbers=False),
              "net_da1", T["alt_cells"])
    elif step.layer == "Affine1":
        _plot(images_figure(known["dW1"].T, cols=10, signed=True, labels=F, big=big,
                            height=320 if big else 300), "net_dW1", T["alt_dW1"])
        _plot(matrix_figure(known["db1"], labels=F, big=big, row_names=["db1"], numbers=False, height=62), "net_db1",
              T["alt_cells"])
    else:  # the update: the probabilities before and after, against the labels
        both = [row for pair in zip(known["y"], step.tensors["y_after"]) for row in pair]
        names = [T[key].format(i=i + 1) for i in range(n) for key in ("before", "after")]
        targets = [t for t in walk.t for _ in (0, 1)]
        # 2N rows: on a projector at most 390 px (before its scale), so the table and the loss share one screen
        height = min(90 + 34 * 2 * n, 390) if big else None
        _plot(matrix_figure(both, labels=F, big=big, row_names=names, col_names=digits, targets=targets,
                            signed=False, height=height), "net_update", T["alt_cells"])


def tiny_view(step, walk, graph, states, graph_after, states_after):
    ends, groups = tiny.layer_steps(graph), tiny.layer_nodes(graph)
    labels = {**{n: tiny.leaf_label(n) for n in graph.leaves}, **{n: n for n in graph.order}}
    if step.direction == "update":
        state, active = states_after[len(graph_after.order)], ()
    else:
        state, active = states[ends[step.k]], set(groups[step.k]) if step.k else ()
    fig = tiny_figure(graph_after if step.direction == "update" else graph, state, active=active,
                      labels=labels, big=big)
    with st.container(key="net_tiny_box"):  # scrolls sideways on a phone (LOOK)
        _plot(fig, "net_tiny", T["alt_tiny"].format(where=headline(step)))
    if line := tex.numbers(step, walk):  # the same step as matrices, under the drawing
        with st.container(key="net_numbers"):
            st.latex(line)


def setup_panel(setup, accuracy):
    """Which net, which weights, which images, N, the seed and the learning rate."""
    with st.container(horizontal=True, gap="medium", vertical_alignment="bottom"):
        st.segmented_control(T["mode_label"], ("full", "tiny"), key="net_mode", required=True,
                             format_func=lambda m: T["modes"][m], on_change=_knobs_changed)
        st.number_input(T["lr_label"], min_value=0.001, max_value=10.0, step=0.05, format="%.4g", key="net_lr",
                        on_change=_knobs_changed, help=T["lr_help"], width=120)
        if setup.net == "full":
            st.segmented_control(T["weights_label"], ("fresh", "trained"), key="net_weights", required=True,
                                 format_func=lambda w: T["weights"][w].format(steps=S.TRAIN_STEPS),
                                 on_change=_knobs_changed, help=T["weights_help"])
            st.number_input(T["seed_label"], min_value=0, step=1, key="net_seed", on_change=_knobs_changed, width=100)
            st.number_input(T["image_label"], min_value=0, max_value=9_999, step=1, key="net_image",
                            on_change=_knobs_changed, help=T["image_help"], width=120)
            st.selectbox(T["digit_label"], (None, *range(10)), key="net_digit", on_change=_knobs_changed, width=120,
                         format_func=lambda d: T["digit_any"] if d is None else str(d), help=T["digit_help"])
            st.slider(T["n_label"], 1, S.MAX_N, key="net_n", on_change=_knobs_changed, width=200, help=T["n_help"])
    if setup.net == "full" and accuracy is not None:
        st.caption(T["trained_caption"].format(steps=S.TRAIN_STEPS, accuracy=f"{accuracy:.1%}"))


def warnings_box():
    problems = "; ".join(T[f"warn_{w.code}"].format(key=w.name, value=chrome.code_text(w.value)) for w in ss.net_warnings)
    st.warning(T["url_warning"].format(problems=problems), icon=":material/link_off:")


# ----------------------------------------------------------------------------- the page

# The tiny net's drawing and the strip of layers are laid out for about 760 px: a phone scrolls them inside
# their boxes (the page itself never scrolls sideways), and the tiny net's matrices shrink to their column.
LOOK = (".st-key-net_numbers { container-type: inline-size; }"
        " .st-key-net_numbers .katex-display { overflow-x: auto; overflow-y: hidden; margin: 0.2em 0; }"
        " .st-key-net_numbers .katex-display > .katex { font-size: min(1.1em, 3.4cqi); }"
        " @media (max-width: 800px) { .st-key-net_tiny_box, .st-key-net_pipeline_box { overflow-x: auto; }"
        " .st-key-net_tiny { min-width: 760px; } .st-key-net_pipeline { min-width: 800px; } }")
# On a projector each step is one 1280x720 screen: the first row clears the chrome's header bar (82 px tall
# there) with the headline level with Back and Next; the explanation's type is smaller (not the loss's
# metrics), and the figures of a step sit closer together.
PROJECTOR = (" [data-testid='stAppViewContainer'] .block-container[data-testid='stMainBlockContainer']"
             " { padding-top: 4.3rem; }"
             " .st-key-net_controls [data-testid='stMarkdownContainer'] { margin-bottom: 0; }"
             " .st-key-net_controls h3 { font-size: 1.3rem; padding: 0; margin: 0; line-height: 1.3; white-space: nowrap; }"
             " .st-key-net_controls button { min-height: 2.2rem; padding-top: 0; padding-bottom: 0; }"
             " .st-key-net_explain p:not([data-testid='stMetric'] *), .st-key-net_explain li { font-size: 0.8rem !important; }"
             " .st-key-net_explain { container-type: inline-size; }"
             " .st-key-net_explain .katex-display { font-size: 0.85em; margin: 0.3em 0; overflow-y: hidden; }"
             " .st-key-net_explain .katex-display > .katex { font-size: min(1.21em, 5.2cqi); }"
             " .st-key-net_loss [data-testid='stMetricLabel'] p { font-size: 0.8rem !important; }"
             " .st-key-net_loss [data-testid='stMetricValue'] { font-size: 1.6rem; line-height: 1.3; }"
             # one row for headline, Back and Next; Home and End still work as keys
             " .st-key-net_reset, .st-key-net_end { display: none; }")

if not big:
    st.title(T["title"])
    st.markdown(T["intro_tiny" if ss.net_setup.net == "tiny" else "intro"])
st.html("<style>" + chrome.arrow_css("net") + LOOK + (PROJECTOR if big else "") + "</style>")
if ss.net_warnings:
    warnings_box()

setup = ss.net_setup
accuracy = None
if setup.net == "full":
    if setup.weights == "trained":
        with st.spinner(T["training"].format(steps=S.TRAIN_STEPS)):
            accuracy = trained(setup.seed)[1]
    test = load_dataset("sample")
    start = S.pick_images(setup, test.x_test, test.t_test)[2]
    with st.spinner(T["computing"]):
        walk = full_walk(setup.weights, setup.seed, start, setup.n, setup.lr)
    bundle = None
else:
    bundle = tiny_walk(setup.lr)
    walk = bundle[0]
_sync_url()
step = walk.steps[setup.step]

where = headline(step) + ("" if big else f" :gray[· {T['step_of'].format(k=step.k, total=S.N_STEPS)}]")
with st.container(key="net_screen", gap="xsmall" if big else "small"):
    controls(step.k, f"### {where}" if big else None)
    if not big:
        st.markdown(f"#### {where}")
    shapes = tex.pipeline_shapes(walk)
    with st.container(key="net_pipeline_box"):
        _plot(pipeline_figure(shapes, active=step.layer or None, direction=step.direction, labels=T["figure"], big=big),
              "net_pipeline", T["alt_pipeline"])
    if setup.net == "full":
        left, right = st.columns([3, 2], gap="medium")
        with left.container(gap="xsmall" if big else "small"):
            full_tensors(step, walk)
    elif big:  # the drawing needs the width: its explanation beside it in a narrower column
        left, right = st.columns([2, 1], gap="medium")
        with left.container(gap="xsmall"):
            tiny_view(step, walk, *bundle[1:])
    else:  # at a desk the drawing gets the page's width, its explanation follows
        tiny_view(step, walk, *bundle[1:])
        right = st.container()
    with right.container(key="net_explain", gap="xsmall" if big else "small"):
        explanation(step, walk, checks=not big)
if big:  # the rule and its shapes fit the first screen; the numerical checks fold below it
    if lines := check_lines(step):
        with st.expander(T["checks_heading"], icon=":material/calculate:"):
            for line in lines:
                st.markdown(line)
    with st.expander(T["setup_heading"], icon=":material/tune:"):
        setup_panel(setup, accuracy)
    with st.expander(T["code_heading"], icon=":material/code:"):
        code_panel(step)
else:
    st.subheader(T["setup_heading"])
    setup_panel(setup, accuracy)
    st.subheader(T["code_heading"])
    code_panel(step)
