"""The shopping graph as data (backprop/graph.py) and its drawing (backprop/figures/graph.py), no Streamlit."""
import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backprop import graph as G
from backprop import presets as P
from backprop.figures.graph import graph_figure, layout
from backprop.figures.style import ACTIVE
from backprop.layers import AddLayer, MulLayer

APPLES = P.PRESETS["apples"]
BOTH = P.PRESETS["apples_oranges"]


def approx(d):
    return {k: pytest.approx(v, rel=1e-12) for k, v in d.items()}


def test_apples_matches_the_book():
    g = APPLES.graph()
    assert g.forward() == pytest.approx(220)
    g.backward()
    assert g.gradients() == approx({"apple": 2.2, "apple_num": 110, "tax": 200})
    assert g.nodes["apple_price"].grad == pytest.approx(1.1)
    assert len(g.order) == 2 and g.n_steps == 4


def test_apples_and_oranges_matches_the_book():
    g = BOTH.graph()
    assert g.forward() == pytest.approx(715)
    g.backward()
    assert g.gradients() == approx({"apple": 2.2, "apple_num": 110, "orange": 3.3, "orange_num": 165, "tax": 650})
    assert g.nodes["all_price"].grad == pytest.approx(1.1)
    assert len(g.order) == 4 and g.n_steps == 8


def test_nodes_compute_through_the_books_layers():
    g = BOTH.graph()
    g.states()
    assert [type(g.layers[n]) for n in g.order] == [MulLayer, MulLayer, AddLayer, MulLayer]
    assert (g.layers["orange_price"].x, g.layers["orange_price"].y) == (150, 3)  # cached by forward
    assert g.nodes["price"].layer == "mul_tax_layer"


def test_schedule_is_topological_forward_then_reverse_backward():
    states = BOTH.graph().states()
    assert [s.k for s in states] == list(range(9))
    steps = [s.step for s in states[1:]]
    assert [(s.direction, s.number, s.node) for s in steps] == [
        ("forward", 1, "apple_price"), ("forward", 2, "orange_price"), ("forward", 3, "all_price"),
        ("forward", 4, "price"),
        ("backward", 1, "price"), ("backward", 2, "all_price"), ("backward", 3, "orange_price"),
        ("backward", 4, "apple_price"),
    ]
    assert [s.rule for s in steps] == ["mul_forward"] * 2 + ["add_forward", "mul_forward", "mul_backward",
                                                             "add_backward"] + ["mul_backward"] * 2
    assert states[0].phase == "start" and states[0].active is None and states[0].step is None


LEAVES = {"apple": 100, "apple_num": 2, "orange": 150, "orange_num": 3, "tax": 1.1}
# After step k: the values known beyond the leaves, and every gradient known (book figure 5-17).
EXPECTED = [
    ({}, {}),
    ({"apple_price": 200}, {}),
    ({"apple_price": 200, "orange_price": 450}, {}),
    ({"apple_price": 200, "orange_price": 450, "all_price": 650}, {}),
    ({"apple_price": 200, "orange_price": 450, "all_price": 650, "price": 715}, {}),
    (None, {"price": 1, "all_price": 1.1, "tax": 650}),
    (None, {"price": 1, "all_price": 1.1, "tax": 650, "apple_price": 1.1, "orange_price": 1.1}),
    (None, {"price": 1, "all_price": 1.1, "tax": 650, "apple_price": 1.1, "orange_price": 1.1,
            "orange": 3.3, "orange_num": 165}),
    (None, {"price": 1, "all_price": 1.1, "tax": 650, "apple_price": 1.1, "orange_price": 1.1,
            "orange": 3.3, "orange_num": 165, "apple": 2.2, "apple_num": 110}),
]


@pytest.mark.parametrize("k", range(9))
def test_state_after_every_step(k):
    state = BOTH.graph().states()[k]
    values, grads = EXPECTED[k]
    values = EXPECTED[4][0] if values is None else values
    assert state.values == approx({**LEAVES, **values})
    assert state.grads == approx(grads)
    assert set(state.complete) == set(grads)  # no value is shared: every gradient is final at once
    assert list(state.grads) == list(grads)  # in the order they were found
    assert state.total == 8


def test_steps_record_the_rule_they_applied():
    states = BOTH.graph().states()
    fwd = states[3].step  # all_price = apple_price + orange_price
    assert (fwd.inputs, fwd.in_values, fwd.out_value) == (("apple_price", "orange_price"), (200, 450), 650)
    first_back = states[5].step  # starts from d(price) = 1: d(all_price) = 1 * tax, d(tax) = 1 * all_price
    assert first_back.upstream == 1 and first_back.in_grads == pytest.approx((1.1, 650))
    mul = states[7].step  # the other input: d(orange) = 1.1 * 3, d(orange_num) = 1.1 * 150
    assert mul.upstream == pytest.approx(1.1) and mul.in_grads == pytest.approx((3.3, 165))
    add = states[6].step  # passes through unchanged
    assert add.in_grads == (add.upstream, add.upstream)
    assert states[7].edge_grads[("orange_price", 0)] == pytest.approx(3.3)


def test_a_shared_value_sums_its_paths():
    # price = a*b + a*c: d/da = b + c, collected over two backward steps
    g = G.Graph([G.Node("a", value=3.0), G.Node("b", value=5.0), G.Node("c", value=7.0),
                 G.Node("ab", "mul", ("a", "b")), G.Node("ac", "mul", ("a", "c")),
                 G.Node("out", "add", ("ab", "ac"))])
    states = g.states()
    assert g.gradients() == {"a": 12.0, "b": 3.0, "c": 3.0}
    after_first_path = states[5]  # backward 2 of 3: node ac has sent its part to a
    assert after_first_path.grads["a"] == 7.0 and "a" not in after_first_path.complete
    assert states[6].grads["a"] == 12.0 and "a" in states[6].complete
    assert states[6].edge_grads[("ab", 0)] == 5.0 and states[6].edge_grads[("ac", 0)] == 7.0
    g.backward()  # a second pass starts from zero (no 24: micrograd issue 53)
    assert g.gradients()["a"] == 12.0


def test_a_value_multiplied_by_itself():
    g = G.Graph([G.Node("x", value=3.0), G.Node("sq", "mul", ("x", "x")), G.Node("one", value=1.0),
                 G.Node("out", "add", ("sq", "one"))])
    g.states()
    assert g.gradients()["x"] == 6.0
    assert G.script(g)[-2:] == [(4, "dx_1, dx_2 = mul_sq_layer.backward(dsq)"), (4, "dx = dx_1 + dx_2")]


@pytest.mark.parametrize("nodes, message", [
    ([G.Node("a", value=1.0), G.Node("m", "mul", ("a", "zz"))], "unknown input"),
    ([G.Node("a", value=1.0), G.Node("m", "nope", ("a", "a"))], "unknown op"),
    ([G.Node("a", value=1.0), G.Node("m", "mul", ("a",))], "two inputs"),
    ([G.Node("a", value=1.0), G.Node("b", value=1.0), G.Node("m", "mul", ("a", "a"))], "one output"),
    ([G.Node("a", value=1.0), G.Node("p", "add", ("a", "q")), G.Node("q", "add", ("a", "p")),
      G.Node("o", "add", ("p", "q"))], "cycle"),
])
def test_bad_graphs_are_refused(nodes, message):
    with pytest.raises(ValueError, match=message):
        G.Graph(nodes)


finite = st.floats(min_value=-1e3, max_value=1e3, allow_nan=False).filter(lambda x: abs(x) > 1e-3)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(["apples", "apples_oranges"]), st.lists(finite, min_size=5, max_size=5))
def test_every_gradient_equals_a_numerical_derivative(key, xs):
    preset = P.PRESETS[key]
    g = preset.graph(dict(zip(preset.defaults, xs)))
    g.states()
    checks = G.gradient_check(g)
    assert [c.name for c in checks] == g.leaves
    for c in checks:
        assert c.ok, c
        assert c.backprop == g.gradients()[c.name]


def test_gradient_check_catches_a_wrong_backward(monkeypatch):
    monkeypatch.setattr(MulLayer, "backward", lambda self, dout: (dout * self.x, dout * self.y))  # no swap
    g = BOTH.graph()
    g.states()
    bad = {c.name for c in G.gradient_check(g) if not c.ok}
    assert bad == {"apple", "apple_num", "orange", "orange_num", "tax"}


def random_graph(rng):
    """A random DAG of 2-4 leaves and mul/add nodes; dangling nodes are summed into one output."""
    nodes = [G.Node(f"x{i}", value=rng.uniform(-3, 3)) for i in range(rng.randint(2, 4))]
    for i in range(rng.randint(1, 6)):
        nodes.append(G.Node(f"n{i}", rng.choice(["mul", "add"]), tuple(rng.choice(nodes).name for _ in "ab")))
    used = {i for n in nodes for i in n.inputs}
    dangling = [n.name for n in nodes if n.name not in used]
    while len(dangling) > 1:
        a, b = dangling.pop(), dangling.pop()
        nodes.append(G.Node(f"s{len(nodes)}", "add", (a, b)))
        dangling.append(nodes[-1].name)
    if nodes[-1].op == "input":
        nodes.append(G.Node("out", "mul", (nodes[-1].name, nodes[0].name)))
    return G.Graph(nodes)


@pytest.mark.parametrize("seed", range(40))
def test_random_graphs_with_shared_values_agree_with_numerical(seed):
    g = random_graph(random.Random(seed))
    states = g.states()
    assert all(c.ok for c in G.gradient_check(g)), seed
    assert states[-1].complete == frozenset(g.nodes)
    assert states[-1].grads == pytest.approx({n: g.nodes[n].grad for n in states[-1].grads})


def test_numerical_gradients_never_run_backward_and_leave_the_graph_alone(monkeypatch):
    g = BOTH.graph()
    g.states()
    before = {n: (node.value, node.grad) for n, node in g.nodes.items()}
    monkeypatch.setattr(MulLayer, "backward", lambda self, dout: 1 / 0)
    monkeypatch.setattr(AddLayer, "backward", lambda self, dout: 1 / 0)
    numerical = G.numerical_gradients(g)
    book = {"apple": 2.2, "apple_num": 110, "orange": 3.3, "orange_num": 165, "tax": 650}
    assert numerical == {k: pytest.approx(v, rel=1e-8) for k, v in book.items()}
    assert {n: (node.value, node.grad) for n, node in g.nodes.items()} == before


def test_the_books_script_line_by_line():
    lines = G.script(BOTH.graph())
    stepped = [(k, line) for k, line in lines if k]
    assert stepped == [
        (1, "apple_price = mul_apple_layer.forward(apple, apple_num)"),
        (2, "orange_price = mul_orange_layer.forward(orange, orange_num)"),
        (3, "all_price = add_apple_orange_layer.forward(apple_price, orange_price)"),
        (4, "price = mul_tax_layer.forward(all_price, tax)"),
        (5, "dprice = 1"),
        (5, "dall_price, dtax = mul_tax_layer.backward(dprice)"),
        (6, "dapple_price, dorange_price = add_apple_orange_layer.backward(dall_price)"),
        (7, "dorange, dorange_num = mul_orange_layer.backward(dorange_price)"),
        (8, "dapple, dapple_num = mul_apple_layer.backward(dapple_price)"),
    ]
    assert (None, "tax = 1.1") in lines and (None, "add_apple_orange_layer = AddLayer()") in lines


# ----------------------------------------------------------------------------- display and URL

@pytest.mark.parametrize("x, text", [
    (3.3000000000000003, "3.3"), (715.0000000000001, "715"), (110.00000000000001, "110"), (2.2, "2.2"),
    (1.0, "1"), (-0.0, "0"), (None, "?"), (-1.5, "-1.5"), (1e21, "1e+21"),
])
def test_numbers_read_like_the_book(x, text):
    assert G.fmt(x) == text


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_url_numbers_round_trip_exactly(x):
    assert float(G.url_number(x)) == x


def test_parse_params_restores_a_moment():
    setup, warnings = P.parse_params({"preset": "apples", "step": "3", "tax": "1.08", "present": "1", "lang": "en"})
    assert warnings == []
    assert setup == P.Setup("apples", {"apple": 100.0, "apple_num": 2.0, "tax": 1.08}, 3)
    assert P.parse_params({})[0] == P.Setup("apples_oranges", BOTH.defaults, 0)
    assert P.parse_params({"step": ["2", "7"]})[0].step == 7  # a repeated key: the last one counts


@pytest.mark.parametrize("params, code, value", [
    ({"preset": "bananas"}, "unknown_preset", "bananas"),
    ({"apple": "abc"}, "bad_number", "abc"),
    ({"apple": "nan"}, "bad_number", "nan"),
    ({"tax": "inf"}, "bad_number", "inf"),
    ({"tax": ""}, "bad_number", ""),
    ({"preset": "apples", "orange": "3"}, "other_preset", "3"),
    ({"step": "9"}, "bad_step", "9"),
    ({"step": "-1"}, "bad_step", "-1"),
    ({"step": "2.5"}, "bad_step", "2.5"),
    ({"preset": "apples", "step": "5"}, "bad_step", "5"),
    ({"apple": "1e300", "apple_num": "1e300"}, "overflow", "apple=1e+300,apple_num=1e+300"),
])
def test_bad_params_are_ignored_with_a_warning(params, code, value):
    setup, warnings = P.parse_params(params)
    assert [(w.code, w.value) for w in warnings] == [(code, value)]
    preset = P.PRESETS[setup.preset]
    assert setup.values == preset.defaults and setup.step == 0


def test_query_for_keeps_the_url_short_and_round_trips():
    values = {**BOTH.defaults, "tax": 1.08, "apple_num": 5.0}
    query = P.query_for(BOTH, values, 7)
    assert query == {"preset": "apples_oranges", "step": "7", "apple_num": "5", "tax": "1.08"}
    assert P.parse_params(query) == (P.Setup("apples_oranges", values, 7), [])


def test_evaluate_refuses_empty_and_overflowing_inputs():
    assert P.evaluate(BOTH, {**BOTH.defaults, "tax": None}) == (None, None, P.Problem("empty_input", "tax"))
    assert P.evaluate(BOTH, {**BOTH.defaults, "apple": 1e200, "apple_num": 1e200}) == (
        None, None, P.Problem("overflow", "apple_price"))
    graph, states, problem = P.evaluate(BOTH, BOTH.defaults)
    assert problem is None
    assert states[-1].values["price"] == pytest.approx(715)


def test_play_ticks_once_per_pace_and_stops_at_the_end():
    assert P.play_tick(2, 8, now=10.0, due=11.0, pace=1.0) == (2, 11.0, True)  # early rerun: wait
    assert P.play_tick(2, 8, now=10.95, due=11.0, pace=1.0) == (3, 11.95, True)  # timer jitter
    assert P.play_tick(7, 8, now=20.0, due=20.0, pace=1.0) == (8, 21.0, False)  # reached the end
    assert P.play_tick(8, 8, now=30.0, due=0.0, pace=1.0) == (8, 0.0, False)
    step, due, t = 0, 1.0, 0.0
    while True:  # one tick per second from step 0: the end after 8 ticks
        t += 1.0
        step, due, playing = P.play_tick(step, 8, t, due, 1.0)
        if not playing:
            break
    assert (step, t) == (8, 8.0)


# ----------------------------------------------------------------------------- the drawing

def texts(fig):
    return [a.text for a in fig.layout.annotations if a.text]


def edge_labels(fig):
    """Edge value and gradient labels (annotations with a hovertext or a '?')."""
    return [a for a in fig.layout.annotations if a.text and a.xref == "x" and a.showarrow is False
            and a.xanchor in (None, "center") and a.yanchor in ("bottom", "top")]


def test_layout_is_left_to_right_like_the_book():
    pos = layout(BOTH.graph())
    assert pos["apple"][0] == pos["orange"][0] == 0 < pos["apple_price"][0] < pos["all_price"][0] < pos["price"][0]
    assert pos["__out__"][0] == pos["price"][0] + 1
    assert pos["tax"][0] == pos["price"][0] - 1  # a leaf sits just left of its node
    assert pos["apple"][1] < pos["apple_num"][1] < pos["orange"][1] < pos["orange_num"][1] < pos["tax"][1]
    assert pos["apple_price"][1] == 0.5 and pos["all_price"][1] == 1.5


def test_step_zero_shows_inputs_and_question_marks():
    g = BOTH.graph()
    fig = graph_figure(g, g.states()[0])
    labels = [a.text for a in edge_labels(fig)]
    assert len(labels) == 2 * 9  # 9 edges (8 inputs + the output), value and gradient each
    assert sorted(t for t in labels if t != "?") == sorted(["100", "2", "150", "3", "1.1"])
    assert all(c == "white" for c in fig.data[0].marker.color)


def test_the_end_shows_every_number_rounded_and_exact_on_hover():
    g = BOTH.graph()
    fig = graph_figure(g, g.states()[-1], labels={"price": "price"}, legend=("value", "gradient"))
    shown = {a.text.replace("<b>", "").replace("</b>", "") for a in edge_labels(fig)}
    assert {"715", "2.2", "110", "3.3", "165", "650", "1"} <= shown and "?" not in shown
    spec = json.dumps(fig.to_plotly_json())
    assert "3.3000000000000003" in spec  # exact float, on hover only
    assert not any("3.3000000000000003" in a.text for a in fig.layout.annotations if a.text)
    assert any("gradient" in t for t in texts(fig))


def test_active_node_and_its_edges_are_highlighted():
    g = BOTH.graph()
    state = g.states()[7]  # backward 3 of 4: mul_orange_layer
    fig = graph_figure(g, state, big=True)
    colours = dict(zip(g.order, fig.data[0].marker.color))
    assert colours["orange_price"] == ACTIVE and colours["apple_price"] == "white"
    bold = [a.text for a in edge_labels(fig) if a.text.startswith("<b>")]
    assert sorted(bold) == ["<b>165</b>", "<b>3.3</b>"]  # what this step computed
    assert fig.layout.height > graph_figure(g, state).layout.height  # presentation: bigger


def test_a_shared_leaf_shows_the_sum_of_its_paths():
    g = G.Graph([G.Node("a", value=3.0), G.Node("b", value=5.0), G.Node("c", value=7.0),
                 G.Node("ab", "mul", ("a", "b")), G.Node("ac", "mul", ("a", "c")),
                 G.Node("out", "add", ("ab", "ac"))])
    states = g.states()
    assert "Σ ?" in texts(graph_figure(g, states[5]))
    assert "Σ 12" in texts(graph_figure(g, states[6]))


def test_gradient_rows_mark_what_a_step_found_and_the_paths_still_to_sum():
    # price = a*b + a*c: a feeds two nodes, so its gradient is partial until both have sent theirs
    g = G.Graph([G.Node("a", value=3.0), G.Node("b", value=5.0), G.Node("c", value=7.0),
                 G.Node("ab", "mul", ("a", "b")), G.Node("ac", "mul", ("a", "c")),
                 G.Node("out", "add", ("ab", "ac"))])
    states = g.states()
    assert P.gradient_rows(g, states[3]) == []  # forward only: nothing known yet
    first = P.gradient_rows(g, states[4])  # backward 1: out sends 1 to ab and ac
    assert [(r.name, r.grad, r.new) for r in first] == [("out", 1.0, True), ("ab", 1.0, True), ("ac", 1.0, True)]
    half = {r.name: r for r in P.gradient_rows(g, states[5])}  # backward 2: ac sends 7 to a (1 path of 2)
    assert (half["a"].grad, half["a"].done, half["a"].paths, half["a"].new) == (7.0, 1, 2, True)
    assert not half["out"].new and half["c"].done is None and half["c"].grad == 3.0
    whole = {r.name: r for r in P.gradient_rows(g, states[6])}
    assert (whole["a"].grad, whole["a"].done, whole["a"].value) == (12.0, None, 3.0)


@pytest.mark.parametrize("big", [False, True])
def test_every_name_has_room_in_the_margins_however_narrow_the_figure(big):
    """Names are written outside the x range, in margins sized to them: in a narrow column (a phone,
    the projector's side-by-side layout) the range shrinks, the margins do not (issue 9: "ple_num")."""
    g = P.from_expression("learning_rate_ab * weight_of_edge_1 + b").graph()
    fig = graph_figure(g, g.states()[-1], big=big)
    x_min = min(x for x, _ in layout(g).values())
    assert fig.layout.xaxis.range[0] >= x_min - 0.1  # no name relies on data units left of the leaves
    size = 20 if big else 15
    assert fig.layout.margin.l >= 0.5 * size * len("weight_of_edge_1")  # at least half an em a letter
    assert fig.layout.margin.r >= 0.5 * size * len("f")
    short = graph_figure(BOTH.graph(), BOTH.graph().states()[0], big=big)
    assert 0.5 * size * len("orange_num") <= short.layout.margin.l < fig.layout.margin.l


def test_a_long_graph_rounds_its_numbers_to_four_digits():
    g = P.PRESETS["sigmoid"].graph()
    shown = {a.text.replace("<b>", "").replace("</b>", "") for a in edge_labels(graph_figure(g, g.states()[-1]))}
    assert {"0.3679", "1.368", "0.7311", "0.1966"} <= shown  # e^-1, 1 + e^-1, σ(1), σ'(1)


def number_boxes(fig, width):
    """(text, box in px) of every edge number, and the circles (x, y, r) in px, of ``fig`` drawn ``width`` px wide
    (digits and signs taken as 0.55 em, a point 0.3: the drawing's type)."""
    m, (x_lo, x_hi), (y_hi, y_lo) = fig.layout.margin, fig.layout.xaxis.range, fig.layout.yaxis.range
    sx, sy = (width - m.l - m.r) / (x_hi - x_lo), (fig.layout.height - m.t - m.b) / (y_hi - y_lo)
    boxes = []
    for a in edge_labels(fig):
        text = a.text.replace("<b>", "").replace("</b>", "")
        w, h = sum(0.3 if c == "." else 0.55 for c in text) * a.font.size, 1.2 * a.font.size
        x, y = (a.x - x_lo) * sx + (a.xshift or 0), (a.y - y_lo) * sy - (a.yshift or 0)
        top = y - h if a.yanchor == "bottom" else y
        boxes.append((text, (x - w / 2, top, x + w / 2, top + h)))
    nodes = fig.data[0]
    circles = [((x - x_lo) * sx, (y - y_lo) * sy, nodes.marker.size / 2) for x, y in zip(nodes.x, nodes.y)]
    return boxes, circles


def covers(box, circle):
    (x0, y0, x1, y1), (cx, cy, r) = box, circle
    return (min(max(cx, x0), x1) - cx) ** 2 + (min(max(cy, y0), y1) - cy) ** 2 < (r - 1) ** 2


def overlap(a, b):
    """More than touching: the boxes (estimates, a little wider than the glyphs) share more than 3 px each way."""
    return min(a[2], b[2]) - max(a[0], b[0]) > 3 and min(a[3], b[3]) - max(a[1], b[1]) > 3


@pytest.mark.parametrize("key,width", [("softmax_loss", 823), ("sigmoid", 714), ("apples_oranges", 714),
                                       ("x*x + 2*x*y", 714), ("1 / (1 + exp(-x))", 714)])
def test_no_number_covers_a_circle_or_another_number_on_a_projector(key, width):
    """As /shopping draws it at 1280x720 (``width``: its column's px): Softmax-with-Loss's numbers used to sit on
    its exp and log nodes' names and on ×(−1); x * x stacked its two wires' gradients on each other."""
    preset = P.PRESETS[key] if key in P.PRESETS else P.from_expression(key, {"x": 3, "y": 5})
    graph, states, _ = P.evaluate(preset, preset.defaults)
    for k in range(len(states)):
        fig = graph_figure(graph, states[k], big=True, max_height=405, positions=preset.drawn_at, width=width,
                           legend=("value", "gradient"), final=states[-1])
        boxes, circles = number_boxes(fig, width)
        for i, (text, box) in enumerate(boxes):
            assert not [c for c in circles if covers(box, c)], (key, k, text)
            assert not [t for t, b in boxes[i + 1:] if overlap(box, b)], (key, k, text)


def test_numbers_stay_where_they_are_from_step_to_step():
    preset = P.PRESETS["softmax_loss"]
    graph, states, _ = P.evaluate(preset, preset.defaults)
    places = [[(a.x, a.y, a.yshift) for a in edge_labels(graph_figure(graph, s, big=True, max_height=405,
                                                                      positions=preset.drawn_at, width=823,
                                                                      final=states[-1]))] for s in states]
    assert all(p == places[-1] for p in places)


def test_a_value_used_twice_by_one_node_has_two_wires_each_with_its_gradient():
    g = P.from_expression("x*x + 2*x*y", {"x": 3, "y": 5}).graph()
    fig = graph_figure(g, g.states()[-1], big=True)
    square = next(n for n in g.order if g.nodes[n].inputs == ("x", "x"))
    (x, y), (sx, sy) = layout(g)["x"], layout(g)[square]
    wires = [a for a in fig.layout.annotations if a.showarrow and a.ax == x and a.x == sx and abs(a.y - sy) < 0.5]
    assert len(wires) == 2 and abs(wires[0].ay - wires[1].ay) > 0.2  # apart, not on top of each other
    gradients = [a for a in edge_labels(fig) if a.yanchor == "top" and a.text.replace("<b>", "").replace("</b>", "") == "3"]
    assert len(gradients) == 2 and abs(gradients[0].y - gradients[1].y) > 0.2
