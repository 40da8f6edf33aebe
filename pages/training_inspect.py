"""The "Inspect the trained network" section of the training page: weights, predictions, mistakes, a canvas.

The training page calls ``render(net, x_test, t_test, class_names)`` with a private snapshot of its
network. Tabs rerun on change and only the open one is drawn; the test-set predictions are computed
once per set of weights (keyed by a hash of the weights) and kept in st.session_state["insp_cache"], and
the weights' mosaic once per set of weights and size in st.session_state["insp_weights_cache"].
"""
import streamlit as st

from backprop import inspect as insp
from backprop.datasets import DIGIT_NAMES
from backprop.figures import inspect as figs
from pages import chrome
from pages.components.digit_canvas import digit_canvas

PLOT_CONFIG = {"displayModeBar": False}  # pictures to look at; hovering still shows the numbers
# The drawn digit's answer in big type: the metric inside the container keyed "insp_answer".
# The value is a <p>; presentation mode's CSS sizes every <p>, hence the more specific selector.
ANSWER_CSS = ("<style>.st-key-insp_answer [data-testid='stMetricValue'], .st-key-insp_answer "
              "[data-testid='stMetricValue'] p { font-size: 5rem; line-height: 1.1; }</style>")
TABS = ("tab_weights", "tab_predictions", "tab_confusion", "tab_mistakes", "tab_draw")


def open_tab(name):
    """Open the tab ``name`` ("weights", "predictions", ... as in backprop.live.knobs.INSPECT_TABS) next time."""
    T = chrome.text("training_inspect")
    st.session_state["insp_tab"] = T[f"tab_{name}"]


def current_tab():
    """The open tab's name ("weights" until another is picked)."""
    T = chrome.text("training_inspect")
    names = {T[key]: key.removeprefix("tab_") for key in TABS}
    return names.get(st.session_state.get("insp_tab"), "weights")


def render(net, x_test, t_test, class_names, heading=True):
    """Draw the section for ``net`` (a MultiLayerNet or None) on the labelled test set (x_test, t_test);
    ``heading=False`` leaves out its heading (and, in presentation mode, the weights' caption)."""
    T = chrome.text("training_inspect")
    big = chrome.presenting()
    if not (big and heading is False):  # on the projector the moment bar already says where we are
        st.subheader(T["heading"])
    if net is None:
        st.info(T["no_net"], icon=":material/search:")
        return
    class_names = tuple(class_names)
    if net.sizes[0] != insp.SIDE * insp.SIDE or net.sizes[-1] != len(class_names):
        st.warning(T["incompatible"].format(n_classes=len(class_names), n_in=net.sizes[0], n_out=net.sizes[-1]))
        return

    labels = [T[name] for name in TABS]
    # on_change="rerun": each tab knows whether it is open, so hidden tabs cost nothing.
    tabs = st.tabs(labels, key="insp_tab", on_change="rerun")
    views = (_weights, _predictions, _confusion, _mistakes, _draw)
    for tab, view in zip(tabs, views):
        if tab.open:
            with tab:
                try:
                    view(T, big, net, x_test, t_test, class_names)
                except _BadData as e:
                    st.error(T["bad_data"].format(error=e))


class _BadData(Exception):
    """The test set handed to render() cannot be evaluated."""


def _inspection(net, x_test, t_test):
    """The net's answers on the test set, recomputed only when its weights (or the test set) change."""
    def inspect():
        try:
            return insp.inspect_predictions(net, x_test, t_test)
        except ValueError as e:
            raise _BadData(str(e)) from None

    key = (insp.net_fingerprint(net), insp.data_fingerprint(x_test, t_test))
    return chrome.remember("insp_cache", key, inspect)  # one entry: memory stays bounded during a run


def _chart(fig, key, width="stretch"):
    # theme=None: keep base_layout's type sizes (Streamlit's theme would shrink tick labels on a projector).
    st.plotly_chart(fig, key=key, config=PLOT_CONFIG, width=width, theme=None)


def _weights(T, big, net, x_test, t_test, class_names):
    total = net.sizes[1]
    if not big:  # on the projector the lecturer says it; the tiles need the room
        st.caption(T["weights_caption"])
    if big or total <= 10:  # on the projector two rows of ten: the explanation and the tiles fit 720 px
        shown = min(total, 20 if big else 30)
    else:
        shown = st.slider(T["weights_count"], 1, min(total, 200), min(total, 50), key="insp_units", width=400)
    if shown < total:
        st.caption(T["weights_of"].format(shown=shown, total=total))
    labels = {"unit": T["hover_unit"], "pixel": T["hover_pixel"]}
    key = (insp.net_fingerprint(net), shown, big, tuple(labels.values()))
    fig = chrome.remember("insp_weights_cache", key, lambda: figs.weights_figure(
        insp.first_layer_weights(net, shown), n_cols=10, big=big, labels=labels))  # a rerun draws it again
    _chart(fig, "insp_weights_fig", width="content")


def _predictions(T, big, net, x_test, t_test, class_names):
    result = _inspection(net, x_test, t_test)
    k = 6 if big else 8
    n = result.n
    first = st.slider(T["predictions_start"], 0, max(n - k, 0), 0, step=1, key="insp_start") if n > k else 0
    shown = range(first, min(first + k, n))
    images = x_test.reshape(len(x_test), 28, 28)
    _chart(figs.prediction_strip_figure(images, t_test, result.proba, class_names, shown, big=big),
           "insp_strip_fig")
    st.caption(T["predictions_caption"].format(first=first, last=shown[-1], n=n))


def _confusion(T, big, net, x_test, t_test, class_names):
    result = _inspection(net, x_test, t_test)
    title = T["confusion_title"].format(accuracy=result.accuracy, n=result.n)
    labels = {"true": T["confusion_true"], "predicted": T["confusion_predicted"], "share": T["confusion_share"],
              "hover": T["confusion_hover"]}
    _chart(figs.confusion_figure(result.confusion, class_names, title=title, big=big, labels=labels),
           "insp_confusion_fig")
    pairs = insp.top_confusions(result.confusion, k=3)
    if pairs:
        text = "; ".join(T["confusion_pair"].format(true=class_names[i], pred=class_names[j], count=c)
                         for i, j, c in pairs)
        st.markdown(T["confusion_top"].format(pairs=text))
    else:
        st.markdown(T["confusion_none"])
    if not big:
        st.caption(T["confusion_caption"])


def _select_mistake(index):
    st.session_state["insp_mistake"] = index


def _first_page():
    """A new class filter starts at page 1 (the old page number may not exist any more)."""
    st.session_state.pop("insp_mpage", None)


def _mistakes(T, big, net, x_test, t_test, class_names):
    result = _inspection(net, x_test, t_test)
    if len(result.mistakes) == 0:
        st.success(T["mistakes_none"])
        return
    n, m = result.n, len(result.mistakes)
    st.markdown(T["mistakes_summary"].format(m=m, n=n, share=m / n))
    long_names = max(map(len, class_names)) > 2  # "Ankle boot→Sneaker" needs wider buttons than "7→2"
    per_page, per_row = (8, 4) if big else (16, 4) if long_names else (18, 6)
    mistakes = result.mistakes
    if not big:
        left, right = st.columns(2)
        options = [None, *range(len(class_names))]
        wanted = left.selectbox(T["mistakes_filter"], options, key="insp_mclass", on_change=_first_page,
                                format_func=lambda c: T["mistakes_any"] if c is None else class_names[c])
        if wanted is not None:
            mistakes = insp.misclassified(t_test, result.proba, true_class=wanted)
        pages = max(1, -(-len(mistakes) // per_page))
        page = right.number_input(T["mistakes_page"], 1, pages, 1, key="insp_mpage") if pages > 1 else 1
        mistakes = mistakes[(min(page, pages) - 1) * per_page:][:per_page]
    else:
        mistakes = mistakes[:per_page]
    if len(mistakes) == 0:
        st.info(T["mistakes_filter_none"])
        return

    selected = st.session_state.get("insp_mistake")
    if selected not in mistakes:  # none yet, another page or filter, or no longer a mistake for these weights
        selected = int(mistakes[0])
    images = x_test.reshape(len(x_test), 28, 28)
    gallery, detail = st.columns([3, 2], gap="medium")
    with gallery:
        for row in range(0, len(mistakes), per_row):
            cols = st.columns(per_row, gap="small")
            for col, i in zip(cols, mistakes[row:row + per_row]):
                i = int(i)
                true, pred = class_names[int(t_test[i])], class_names[int(result.pred[i])]
                with col:
                    st.image(figs.paper_image(images[i], scale=4 if big else 3), width="stretch")
                    label = T["mistake_button_long" if long_names else "mistake_button"].format(true=true, pred=pred)
                    st.button(label, key=f"insp_m{i}",
                              on_click=_select_mistake, args=(i,), width="stretch", wrap=True,
                              type="primary" if i == selected else "secondary",
                              help=T["mistake_button_help"].format(
                                  index=i, true=true, pred=pred, p=figs.percent(result.proba[i, result.pred[i]])))
    with detail.container(border=True):  # a frame, so the enlarged digit is not read as one more thumbnail
        true, pred = int(t_test[selected]), int(result.pred[selected])
        img_col, text_col = st.columns([2, 3], vertical_alignment="center")
        with img_col:
            st.image(figs.paper_image(images[selected], scale=4))
        with text_col:
            st.markdown(T["mistake_detail"].format(index=selected, true=class_names[true], pred=class_names[pred],
                                                   p=figs.percent(result.proba[selected, pred])))
        _chart(figs.probability_figure(result.proba[selected], class_names, true_class=true, big=big, height=300),
               "insp_mistake_bars")


def _draw(T, big, net, x_test, t_test, class_names):
    if class_names != DIGIT_NAMES:
        st.info(T["draw_fashion"].format(examples=chrome.join(class_names[:3])), icon=":material/info:")
    pad, sees, answer = st.columns([5, 4, 5], gap="medium")
    with pad:
        payload = digit_canvas(key="insp_canvas", clear=T["draw_clear"], hint=T["draw_hint"], label=T["draw_label"])
    if payload is None:
        with answer:
            st.info(T["draw_prompt"])
        return
    try:
        image = insp.preprocess_drawing(insp.drawing_from_payload(payload))
    except ValueError as e:
        with answer:
            st.error(T["draw_bad"].format(error=e))
        return
    if image is None:
        with answer:
            st.info(T["draw_empty"])
        return
    p = insp.predict_proba(net, image[None])[0]
    best = int(p.argmax())
    with sees:
        st.markdown(f"**{T['draw_sees']}**")
        _chart(figs.digit_figure(image, big=big, size=220, labels={"pixel": T["hover_pixel"]}), "insp_draw_img",
               width="content")
        if not big:
            st.caption(T["draw_sees_caption"])
    with answer:
        with st.container(key="insp_answer"):
            st.metric(T["draw_answer"], class_names[best])
        st.html(ANSWER_CSS)
        st.markdown(T["draw_sure"].format(p=figs.percent(p[best])))
        _chart(figs.probability_figure(p, class_names, big=big, height=300), "insp_draw_bars")
