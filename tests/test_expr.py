"""Typed expressions (backprop/expr.py) and the book's Sigmoid and Softmax-with-Loss graphs (backprop/presets.py)."""
import math

import numpy as np
import pytest

from backprop import graph as G
from backprop import presets as P
from backprop.expr import MAX_NODES, ExpressionError, parse


def computed(text, **values):
    preset = P.from_expression(text, values)
    graph, states, problem = P.evaluate(preset, preset.defaults)
    assert problem is None, problem
    return graph, states


def test_the_issue_example_gives_20_with_gradients_4_4_5():
    graph, states = computed("(x + y) * z", x=2, y=3, z=4)
    assert graph.nodes[graph.output].value == 20
    assert graph.gradients() == {"x": 4, "y": 4, "z": 5}
    assert [graph.nodes[n].op for n in graph.order] == ["add", "mul"] and graph.output == "f"
    assert len(states) == 5 and all(c.ok for c in G.gradient_check(graph))


@pytest.mark.parametrize("text, ops", [
    ("1 / (1 + exp(-x))", ["scale", "exp", "shift", "recip"]),  # the book's figure 5-19, node for node
    ("x*x + 2*x*y", ["mul", "scale", "mul", "add"]),
    ("max(0, w*x + b)", ["mul", "add", "max0"]),
    ("x ** 2 - 3 / y + log(z)", ["pow", "recip", "scale", "sub", "log", "add"]),
    ("-(x - y) / (2 * 3)", ["sub", "scale", "scale"]),  # 2 * 3 folds to 6
])
def test_the_examples_parse_into_elementary_nodes_whose_gradients_check(text, ops):
    graph, _ = computed(text, x=0.7, y=1.3, z=2.0, w=0.5, b=0.25)
    assert [graph.nodes[n].op for n in graph.order] == ops
    checks = G.gradient_check(graph)
    assert checks and all(c.ok for c in checks), checks


def test_a_variable_used_twice_sums_its_gradients():
    graph, states = computed("x*x + 2*x*y", x=3, y=5)
    assert graph.gradients() == {"x": pytest.approx(2 * 3 + 2 * 5), "y": pytest.approx(6)}
    assert len(graph.consumers["x"]) == 3 and "x" in states[-1].complete


def test_the_sigmoid_example_equals_the_sigmoid_preset():
    typed, _ = computed("1 / (1 + exp(-x))", x=1.0)
    book = P.PRESETS["sigmoid"].graph()
    book.states()
    assert typed.gradients()["x"] == book.gradients()["x"]


@pytest.mark.parametrize("text, code, pos, value", [
    ("__import__('os')", "call_not_allowed", 0, "__import__"),
    ("x.real + 1", "not_allowed", 0, "x.real"),
    ("().__class__", "not_allowed", 0, "().__class__"),
    ("open(x)", "call_not_allowed", 0, "open"),
    ("x + sin(y)", "call_not_allowed", 4, "sin"),
    ("x + (lambda: 1)()", "call_not_allowed", 4, "lambda: 1"),
    ("x[0]", "not_allowed", 0, "x[0]"),
    ("x if y else z", "not_allowed", 0, "x if y else z"),
    ("x < y", "not_allowed", 0, "x < y"),
    ("'a' * x", "not_allowed", 0, "'a'"),
    ("x ** y", "pow_exponent", 5, "y"),
    ("max(1, x)", "max_form", 0, "max(1, x)"),
    ("max(0, 3)", "max_form", 0, "max(0, 3)"),
    ("exp(x, y)", "bad_arguments", 0, "exp"),
    ("x / 0", "div_zero", 2, "x / 0"),  # at the operator, not the x
    ("(x + 1) / (3 - 3)", "div_zero", 8, "(x + 1) / (3 - 3)"),
    ("log(0) + x", "log_domain", 0, "log(0)"),
    ("x + 1e999", "bad_number", 4, ""),
    ("(x + y", "syntax", 0, ""),
    ("x + * y", "syntax", 4, ""),
    ("x = 1", "syntax", 2, ""),
    ("  ", "empty", 0, ""),
    ("2 * 3", "no_variable", 0, ""),
    ("x", "no_operation", 0, ""),
    ("step * 2", "bad_name", 0, "step"),
    ("_x * 2", "bad_name", 0, "_x"),
    ("x + y" * 2001, "too_long", 0, "10000"),
    ("+".join(f"x{i}" for i in range(30)), "too_many_nodes", 0, str(MAX_NODES)),
], ids=lambda v: v[:24] if isinstance(v, str) else None)
def test_refused_with_a_code_and_the_position(text, code, pos, value):
    with pytest.raises(ExpressionError) as error:
        parse(text)
    assert (error.value.code, error.value.pos, error.value.value) == (code, pos, value)


def test_ten_kilobytes_are_refused_before_parsing(monkeypatch):
    import ast
    monkeypatch.setattr(ast, "parse", lambda *a, **k: pytest.fail("parsed"))
    with pytest.raises(ExpressionError, match="too_long"):
        parse("x" * 10_001)


def test_positions_count_from_the_first_character_typed():
    with pytest.raises(ExpressionError) as error:
        parse("   x + foo(y)")
    assert error.value.pos == 7


def test_evaluation_problems_are_named_where_they_were_written():
    preset = P.from_expression("x + log(y)", {"y": -1.0})
    assert P.evaluate(preset, preset.defaults)[2] == P.Problem("log_domain", "u1", pos=4)
    preset = P.from_expression("1 / (x - 2)", {"x": 2.0})
    assert P.evaluate(preset, preset.defaults)[2] == P.Problem("div_zero", "f", pos=2)  # the /, not the 1
    preset = P.from_expression("1/(x-y)", {"x": 3.0, "y": 3.0})
    assert P.evaluate(preset, preset.defaults)[2].pos == 1
    preset = P.from_expression("exp(x)", {"x": 1000.0})
    assert P.evaluate(preset, preset.defaults)[2].code == "overflow"


# ----------------------------------------------------------------------------- the book's graphs

@pytest.mark.parametrize("x", [-3.0, -0.5, 0.0, 1.0, 2.5])
def test_sigmoid_graph_backward_is_y_times_one_minus_y(x):
    graph, states, _ = P.evaluate(P.PRESETS["sigmoid"], {"x": x})
    y = graph.nodes["y"].value
    assert y == pytest.approx(1 / (1 + math.exp(-x)), abs=1e-15)
    assert abs(graph.gradients()["x"] - y * (1 - y)) < 1e-12
    (name, through_graph, layer), = P.closed_form("sigmoid", graph)
    assert abs(through_graph - layer) < 1e-12
    # the book's figure 5-20, right to left: -1/c², then 1, then exp(a) = exp(-x), then ×(−1)
    upstreams = [s.step.in_grads[0] for s in states[5:]]
    assert upstreams[0] == pytest.approx(-y * y) and upstreams[1] == pytest.approx(-y * y)
    assert upstreams[2] == pytest.approx(-y * y * math.exp(-x))
    assert [graph.nodes[n].symbol for n in graph.order] == ["×(−1)", "exp", "+1", "/"]


@pytest.mark.parametrize("a, label", [((0.3, 2.9, 4.0), 2), ((1.0, -2.0, 0.5), 0), ((10.0, 10.0, -5.0), 1)])
def test_softmax_with_loss_graph_backward_is_y_minus_t(a, label):
    t = np.eye(3)[label]
    values = {**{f"a{i + 1}": a[i] for i in range(3)}, **{f"t{i + 1}": t[i] for i in range(3)}}
    graph, states, _ = P.evaluate(P.PRESETS["softmax_loss"], values)
    y = np.exp(a) / np.exp(a).sum()
    assert graph.nodes[graph.output].value == pytest.approx(-math.log(y[label]), abs=1e-12)
    for i in range(3):
        assert abs(graph.gradients()[f"a{i + 1}"] - (y[i] - t[i])) < 1e-12
    assert all(abs(g - layer) < 1e-12 for _, g, layer in P.closed_form("softmax_loss", graph))
    assert len(states) == 2 * 16 + 1
    assert [graph.nodes[n].op for n in graph.order[:5]] == ["exp", "exp", "exp", "sum", "recip"]


def test_expression_urls_round_trip_and_bad_ones_warn():
    preset = P.from_expression("x*x + 2*x*y", {"x": 3.0, "y": 0.5})
    query = P.query_for(preset, preset.defaults, 5)
    assert query == {"preset": "expression", "step": "5", "expr": "x*x + 2*x*y", "x": "3", "y": "0.5"}
    setup, warnings = P.parse_params(query)
    assert warnings == [] and setup == P.Setup("expression", {"x": 3.0, "y": 0.5}, 5, "x*x + 2*x*y")
    setup, warnings = P.parse_params({"preset": "expression", "expr": "x + os.system", "step": "2"})
    assert [(w.code, w.key, w.reason, w.pos) for w in warnings] == [("bad_expression", "expr", "not_allowed", 4)]
    assert setup.expression == P.DEFAULT_EXPRESSION and setup.step == 2
    setup, warnings = P.parse_params({"preset": "expression", "expr": "log(x)", "x": "-1"})
    assert [(w.code, w.value) for w in warnings] == [("log_domain", "x=-1")] and setup.values == {"x": 2.0}
    setup, warnings = P.parse_params({"preset": "expression", "expr": "log(x - 2)"})  # fails at its defaults
    assert setup.expression == P.DEFAULT_EXPRESSION and [w.code for w in warnings] == ["log_domain"]
