"""The tiny net as a scalar graph (backprop/tiny.py), the /network URL table, and the walk's figures."""
import numpy as np
import pytest

from backprop import network_state as S
from backprop import tiny
from backprop.figures.graph import text_px
from backprop.figures.network import (PIPELINE, TINY_HEIGHT, TINY_WIDTH, images_figure, matrix_figure, pipeline_boxes,
                                      pipeline_figure, tile, tiny_figure)
from backprop.graph import gradient_check
from backprop.net import TwoLayerNet

LABELS = {"hover_pixel": "", "hover_grad": "", "hover_cell": "", "cut": "cut", "target": "label", "grad_of": "d{name}"}


def matrices(net, x, label):
    return net.gradient(np.array([x], dtype=np.float64), np.array([label]))


@pytest.mark.parametrize("seed", [None, 0, 1, 2])
def test_the_scalar_graph_gives_the_same_gradients_as_the_matrices(seed):
    net, x, label = tiny.tiny_net(), tiny.X, tiny.LABEL
    if seed is not None:  # other weights, inputs and labels: not a coincidence of the chosen ones
        rng = np.random.default_rng(seed)
        net = TwoLayerNet(2, 3, 2, weight_init_std=1.0, dtype=np.float64, seed=seed)
        x, label = tuple(rng.uniform(-1, 1, 2)), int(rng.integers(2))
    graph = tiny.scalar_graph(net, x, label)
    graph.states()
    grads = matrices(net, x, label)
    for i in range(2):
        for j in range(3):
            assert graph.nodes[f"W1_{i + 1}{j + 1}"].grad == pytest.approx(grads["W1"][i, j], rel=1e-12, abs=1e-15)
    for j in range(3):
        assert graph.nodes[f"b1_{j + 1}"].grad == pytest.approx(grads["b1"][j], rel=1e-12, abs=1e-15)
        for k in range(2):
            assert graph.nodes[f"W2_{j + 1}{k + 1}"].grad == pytest.approx(grads["W2"][j, k], rel=1e-12, abs=1e-15)
    assert [graph.nodes[f"b2_{k}"].grad for k in (1, 2)] == pytest.approx(list(grads["b2"]), rel=1e-12)
    assert graph.nodes["L"].value == pytest.approx(net.loss(np.array([x]), np.array([label])), rel=1e-12)
    assert all(c.ok for c in gradient_check(graph))


def test_dW_is_upstream_times_the_other_input_summed_over_the_wires():
    graph = tiny.scalar_graph(tiny.tiny_net())
    graph.states()
    for i in (1, 2):
        for j in (1, 2, 3):  # the multiply node m1_ij = x_i × W1_ij sends back upstream × x_i
            assert graph.nodes[f"W1_{i}{j}"].grad == pytest.approx(graph.nodes[f"x{i}"].value * graph.nodes[f"a1_{j}"].grad)
    dx1 = sum(graph.nodes[f"a1_{j}"].grad * graph.nodes[f"W1_1{j}"].value for j in (1, 2, 3))
    assert graph.nodes["x1"].grad == pytest.approx(dx1)  # dX = dY · Wᵀ: the three wires summed


def test_the_layer_steps_map_onto_the_graphs_states():
    graph = tiny.scalar_graph(tiny.tiny_net())
    states = graph.states()
    ends = tiny.layer_steps(graph)
    assert ends[0] == 0 and ends[4] == len(graph.order) and ends[8] == 2 * len(graph.order)
    assert states[ends[4]].step.node == "L" and states[ends[5]].step.node == "L"  # loss forward, then back
    assert {"a1_1", "a1_2", "a1_3"} <= set(states[ends[1]].values) and "z1_1" not in states[ends[1]].values
    assert "z1_1" in states[ends[6]].grads and "W1_11" not in states[ends[6]].grads
    assert set(tiny.layer_nodes(graph)[2]) == {"z1_1", "z1_2", "z1_3"}


def test_url_table_round_trips_and_refuses_what_is_out_of_range():
    setup = S.NetSetup(net="tiny", weights="trained", image=17, digit=4, n=5, seed=3, lr=0.25, step=7)
    assert S.parse_params(S.query_for(setup)) == (setup, [])
    assert S.query_for(S.NetSetup()) == {"step": "0"}
    setup, warnings = S.parse_params({"n": "0", "lr": "nan", "image": "10000", "net": "huge", "step": ["1", "3"]})
    assert [w.name for w in warnings] == ["net", "image", "n", "lr"] and setup == S.NetSetup(step=3)


def test_images_are_picked_by_index_or_digit():
    images = np.arange(12 * 784, dtype=np.uint8).reshape(12, 28, 28)
    labels = np.array([3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8])
    x, t, start = S.pick_images(S.NetSetup(image=2, digit=5, n=3), images, labels)
    assert start == 4 and list(t) == [5, 9, 2] and x.shape == (3, 784) and x.max() <= 1
    x, t, start = S.pick_images(S.NetSetup(image=10, n=3), images, labels)
    assert list(t) == [5, 8, 3]  # wraps around the end


def test_figures_draw_the_mask_the_labels_and_fifty_images():
    m = np.array([[1.0, -2.0, 0.5], [0.0, 3.0, -1.0]])
    fig = matrix_figure(m, labels=LABELS, mask=m > 0, targets=[2, 1])
    cut, targets = fig.data[1], fig.data[2]
    assert len(cut.x) == 3 and list(targets.x) == [2, 1]
    assert tile(np.zeros((50, 784)), cols=10).shape == (5 * 30 - 2, 10 * 30 - 2)
    fig = images_figure(np.ones((3, 784)), cols=3, captions=["a", "b", "c"], labels=LABELS)
    assert [a.text for a in fig.layout.annotations] == ["a", "b", "c"]
    graph = tiny.scalar_graph(tiny.tiny_net())
    states = graph.states()
    fig = tiny_figure(graph, states[-1], active={"L"}, labels={})
    texts = " ".join(a.text for a in fig.layout.annotations if a.text)
    assert "Σ -0.235" in texts and "?" not in texts
    assert len(fig.data[0].x) == 12  # a × on every weight edge: 6 + 6 multiply nodes
    assert "?" in " ".join(a.text for a in tiny_figure(graph, states[0], labels={}).layout.annotations if a.text)


def _label_boxes(fig):
    """(text, x0, y0, x1, y1) in the drawing's px (its axes are px of the design size, y down) of every text label."""
    boxes = []
    for a in fig.layout.annotations:
        if a.showarrow or not a.text:
            continue
        lines = a.text.split("<br>")
        w = max(text_px(line, a.font.size) for line in lines)
        h = 1.25 * a.font.size * len(lines)
        x0 = {"left": a.x, "center": a.x - w / 2, "right": a.x - w}[a.xanchor]
        top = {"top": a.y, "middle": a.y - h / 2, "bottom": a.y - h}[a.yanchor]  # y grows downwards
        boxes.append((a.text, x0, top, x0 + w, top + h))
    return boxes


@pytest.mark.parametrize("big", [False, True])
@pytest.mark.parametrize("k", range(9))
def test_the_tiny_drawings_labels_cover_no_other_label_and_no_node(big, k):
    graph = tiny.scalar_graph(tiny.tiny_net())
    states = graph.states()
    ends, groups = tiny.layer_steps(graph), tiny.layer_nodes(graph)
    fig = tiny_figure(graph, states[ends[k]], active=set(groups[k]), labels={}, big=big)
    boxes = _label_boxes(fig)
    assert len(boxes) > 30
    for i, (text, x0, y0, x1, y1) in enumerate(boxes):
        assert 0 <= x0 and x1 <= TINY_WIDTH and 0 <= y0 and y1 <= TINY_HEIGHT, (text, x0, y0, x1, y1)
        for other, u0, v0, u1, v1 in boxes[i + 1:]:
            assert x1 <= u0 or u1 <= x0 or y1 <= v0 or v1 <= y0, (text, other)
    radius = fig.data[1].marker.size / 2
    for cx, cy in zip(fig.data[1].x, fig.data[1].y):  # the circles of the sums, the ReLUs and the loss
        for text, x0, y0, x1, y1 in boxes:
            nearest = (min(max(cx, x0), x1) - cx) ** 2 + (min(max(cy, y0), y1) - cy) ** 2
            assert nearest >= radius ** 2, (text, cx, cy)


def test_every_weight_is_a_lane_with_its_value_above_and_its_gradient_below():
    graph = tiny.scalar_graph(tiny.tiny_net())
    states = graph.states()
    fig = tiny_figure(graph, states[-1], labels={})
    texts = [(a.text, a.x, a.y, a.yanchor) for a in fig.layout.annotations if not a.showarrow]
    for name in ("W1_12", "W2_31"):
        w = graph.nodes[name]
        above = [t for t in texts if t[0] == f"{w.value:.3g}" and t[3] == "bottom"]
        below = [t for t in texts if t[0] == f"{w.grad:.3g}" and t[3] == "top"]
        assert any(abs(a[1] - b[1]) < 1 and 0 < b[2] - a[2] < 8 for a in above for b in below), name
    assert len({round(y) for y in fig.data[0].y}) == 6  # the ×s of a layer sit on six lanes, one per weight


@pytest.mark.parametrize("big", [False, True])
def test_the_strips_boxes_hold_their_names_and_fit_the_figure(big):
    fig = pipeline_figure(("(8, 784)", "(8, 50)", "(8, 50)", "(8, 10)", "()"), active="SoftmaxWithLoss",
                          direction="backward", labels={"grad_of": "d{name}"}, big=big)
    size = 17 if big else 13
    plot_height = fig.layout.height - fig.layout.margin.t - fig.layout.margin.b
    for shape, name in zip(fig.layout.shapes, PIPELINE):
        assert shape.x1 - shape.x0 >= text_px(name, size) + 8, name  # px: the shape is sized in pixels
        assert shape.y1 - shape.y0 + 2 * shape.line.width <= plot_height, name
    assert pipeline_boxes(big)["SoftmaxWithLoss"][0] > pipeline_boxes(big)["Affine1"][0]


def test_matrix_axes_end_at_their_last_cell_and_name_every_row_of_a_short_one():
    fig = matrix_figure(np.zeros((3, 50)), labels=LABELS, row_names=["a", "b", "c"], numbers=False)
    assert max(fig.layout.xaxis.tickvals) == 49 and 50 not in fig.layout.xaxis.tickvals
    fig = matrix_figure(np.zeros((50, 10)), labels=LABELS, col_names=[str(d) for d in range(10)], numbers=False)
    assert list(fig.layout.yaxis.tickvals) == [0, 10, 20, 30, 40, 49]
    rows = [f"{i} {when}" for i in range(1, 9) for when in ("before", "after")]
    fig = matrix_figure(np.full((16, 10), 0.1), labels=LABELS, big=True, row_names=rows,
                        col_names=[str(d) for d in range(10)], targets=[1] * 16, signed=False, height=390)
    assert list(fig.layout.yaxis.tickvals) == rows  # all 16 named, in type that fits their rows
    assert fig.layout.yaxis.tickfont.size * 1.2 <= (390 * 1.15 - 60) / 16
