"""The graphs the shopping page offers, and the URL that names one moment of one of them.

Presets are the book's graphs: the shopping examples (figures 5-16, 5-17), Sigmoid as its
elementary graph (figures 5-19, 5-20) and Softmax-with-Loss for three classes (figures 5-29,
5-30). A typed expression (``backprop.expr``) becomes a preset of the same kind, keyed
``"expression"``. ``parse_params`` reads a URL into a ``Setup`` plus warnings (codes with
values), ``query_for`` writes one back, ``evaluate`` runs a graph and names what went wrong.
"""
from dataclasses import dataclass

import numpy as np

from .expr import ExpressionError, parse
from .graph import DomainError, Graph, Node, read_number, url_number
from .layers import Sigmoid, SoftmaxWithLoss
from .urlstate import Problem


def _op(name, op, inputs, layer="", constant=None, pos=None):
    return (name, op, tuple(inputs), layer, constant, pos)


@dataclass(frozen=True)
class Preset:
    """A named graph with default inputs: leaves ((name, default), ...) and ops (see ``_op``).

    ``text`` is the expression it was typed as (None for the book's presets); ``positions``
    ((name, column, row), ...) draws it as the book does (empty: laid out automatically).
    """

    key: str
    leaves: tuple
    ops: tuple
    text: str | None = None
    positions: tuple = ()

    @property
    def drawn_at(self):
        """name -> (column, row) where the book draws each node, or None: the figure lays it out."""
        return {name: (c, r) for name, c, r in self.positions} or None

    @property
    def defaults(self):
        return dict(self.leaves)

    @property
    def n_steps(self):
        return 2 * len(self.ops)

    def graph(self, values=None):
        """A fresh Graph with the leaves set to ``values`` (name -> float; missing ones default)."""
        values = {**self.defaults, **(values or {})}
        nodes = [Node(name, value=float(values[name])) for name, _ in self.leaves]
        nodes += [Node(name, op, inputs, layer=layer, constant=c, pos=pos) for name, op, inputs, layer, c, pos in self.ops]
        return Graph(nodes)


def _softmax_with_loss():
    """Figure 5-29: a_i -> exp -> S = sum -> 1/S -> y_i = exp(a_i) / S -> log -> × t_i -> sum -> ×(−1) = L."""
    ops = [_op(f"e{i}", "exp", [f"a{i}"]) for i in (1, 2, 3)]
    ops += [_op("S", "sum", ["e1", "e2", "e3"]), _op("r", "recip", ["S"])]
    ops += [_op(f"y{i}", "mul", [f"e{i}", "r"]) for i in (1, 2, 3)]
    ops += [_op(f"l{i}", "log", [f"y{i}"]) for i in (1, 2, 3)]
    ops += [_op(f"m{i}", "mul", [f"t{i}", f"l{i}"]) for i in (1, 2, 3)]
    ops += [_op("s", "sum", ["m1", "m2", "m3"]), _op("L", "scale", ["s"], constant=-1.0)]
    leaves = (("a1", 0.3), ("a2", 2.9), ("a3", 4.0), ("t1", 0.0), ("t2", 0.0), ("t3", 1.0))  # the book's 3.5.1 scores
    # One lane per class, the sum and 1/S below them, t_i joining between the lanes (figure 5-29). Placed so
    # that on a projector every number has a spot clear of the circles and of the others (tests/test_graph.py):
    # the t_i join from left of the log nodes, 1/S sits closer to the sum than to the lanes.
    lanes = {1: 0.0, 2: 1.5, 3: 3.0}
    positions = [(f"{v}{i}", c, lanes[i]) for i in lanes for v, c in (("a", 0), ("e", 1), ("y", 4), ("l", 5), ("m", 6))]
    positions += [(f"t{i}", 4.4, lanes[i] + 0.8) for i in lanes]
    positions += [("S", 2, 4.45), ("r", 2.8, 4.45), ("s", 7, 1.5), ("L", 8, 1.5)]
    return Preset("softmax_loss", leaves, tuple(ops), positions=tuple(positions))


PRESETS = {
    # The book's buy_apple.py (figure 5-16): price = apple * apple_num * tax.
    "apples": Preset(
        "apples",
        (("apple", 100.0), ("apple_num", 2.0), ("tax", 1.1)),
        (_op("apple_price", "mul", ("apple", "apple_num"), "mul_apple_layer"),
         _op("price", "mul", ("apple_price", "tax"), "mul_tax_layer")),
    ),
    # The book's buy_apple_orange.py (figure 5-17): (apple * apple_num + orange * orange_num) * tax.
    "apples_oranges": Preset(
        "apples_oranges",
        (("apple", 100.0), ("apple_num", 2.0), ("orange", 150.0), ("orange_num", 3.0), ("tax", 1.1)),
        (_op("apple_price", "mul", ("apple", "apple_num"), "mul_apple_layer"),
         _op("orange_price", "mul", ("orange", "orange_num"), "mul_orange_layer"),
         _op("all_price", "add", ("apple_price", "orange_price"), "add_apple_orange_layer"),
         _op("price", "mul", ("all_price", "tax"), "mul_tax_layer")),
    ),
    # Figures 5-19 and 5-20: y = 1 / (1 + exp(-x)) as ×(−1), exp, +1 and /.
    "sigmoid": Preset(
        "sigmoid",
        (("x", 1.0),),
        (_op("a", "scale", ["x"], constant=-1.0), _op("b", "exp", ["a"]), _op("c", "shift", ["b"], constant=1.0),
         _op("y", "recip", ["c"])),
    ),
    "softmax_loss": _softmax_with_loss(),
}
DEFAULT_PRESET = "apples_oranges"
EXPRESSION = "expression"  # the preset key of a typed expression
DEFAULT_EXPRESSION = "(x + y) * z"
DEFAULT_VALUES = {"x": 2.0, "y": 3.0, "z": 4.0}  # any other variable starts at 1
BOOK_LEAVES = frozenset(name for p in PRESETS.values() for name, _ in p.leaves)


def from_expression(text, values=None):
    """The preset of a typed expression (ExpressionError if it is not one); leaves default to ``values``."""
    parsed = parse(text)
    values = {**DEFAULT_VALUES, **(values or {})}
    leaves = tuple((name, float(values.get(name, 1.0))) for name in parsed.variables)
    ops = tuple(_op(name, op, inputs, constant=c, pos=pos) for name, op, inputs, c, pos in parsed.ops)
    return Preset(EXPRESSION, leaves, ops, text)


def evaluate(preset, values):
    """(graph with every state computed, states, None), or (None, None, Problem) if it cannot be:
    a ``urlstate.Problem`` whose ``name`` is the node (the emptied leaf, or the node whose value is not
    defined) and, for a typed expression, ``pos`` where that node was written.

    values: leaf name -> float or None (an emptied input).
    """
    empty = [name for name, _ in preset.leaves if values.get(name) is None or read_number(values[name]) is None]
    if empty:
        return None, None, Problem("empty_input", empty[0])
    graph = preset.graph(values)
    try:
        states = graph.states()
    except DomainError as e:
        return None, None, Problem(e.code, e.node, pos=graph.nodes[e.node].pos)
    return graph, states, None


@dataclass(frozen=True)
class GradientRow:
    """One gradient known after a step: the node's value, its gradient so far, whether this step found
    it (``new``), and, for a value used on several paths whose parts are not all summed yet, ``done``
    parts of ``paths`` (None once it is complete)."""

    name: str
    value: float
    grad: float
    new: bool = False
    done: int | None = None
    paths: int | None = None


def gradient_rows(graph, state):
    """[GradientRow] for every gradient ``state`` (a ``Graph.states()`` entry) knows, in the order found.

    A backward step finds its inputs' gradients (the first one also d(out)/d(out) = 1): those are new."""
    new = set()
    if state.phase == "backward":
        new = set(state.step.inputs) | ({graph.output} if state.step.node == graph.output else set())
    rows = []
    for name, grad in state.grads.items():
        done = paths = None
        if name not in state.complete:
            paths = len(graph.consumers[name])
            done = sum(1 for consumer in graph.consumers[name] if consumer in state.edge_grads)
        rows.append(GradientRow(name, state.values[name], grad, name in new, done, paths))
    return rows


def closed_form(preset_key, graph):
    """[(leaf, backprop through the elementary graph, the simplified layer's gradient)] for the book's
    Sigmoid (figure 5-21: y(1 - y)) and Softmax-with-Loss (figure 5-30: y - t); [] for other graphs.

    The simplified side runs ``backprop.layers.Sigmoid`` / ``SoftmaxWithLoss``, not the graph.
    """
    if preset_key == "sigmoid":
        layer = Sigmoid()
        layer.forward(np.array([graph.nodes["x"].value]))
        return [("x", graph.nodes["x"].grad, float(layer.backward(np.array([1.0]))[0]))]
    if preset_key == "softmax_loss":
        a = np.array([[graph.nodes[f"a{i}"].value for i in (1, 2, 3)]])
        t = np.array([[graph.nodes[f"t{i}"].value for i in (1, 2, 3)]])
        layer = SoftmaxWithLoss()
        layer.forward(a, t)
        dx = layer.backward(1.0)[0]
        return [(f"a{i}", graph.nodes[f"a{i}"].grad, float(dx[i - 1])) for i in (1, 2, 3)]
    return []


# ----------------------------------------------------------------------------- the URL

@dataclass(frozen=True)
class ParamWarning:
    """Why a URL parameter was ignored: ``code`` is a key of the page's text catalogue.

    For ``bad_expression``, ``reason`` is the parser's code and ``pos`` where it points.
    """

    code: str  # "unknown_preset", "bad_number", "other_preset", "bad_step", "overflow", "bad_expression", ...
    key: str
    value: str
    reason: str = ""
    pos: int | None = None


@dataclass(frozen=True)
class Setup:
    """Everything the URL can carry: preset key, leaf values (name -> float), step k, expression text."""

    preset: str
    values: dict
    step: int
    expression: str = DEFAULT_EXPRESSION


def _last(value):
    return value[-1] if isinstance(value, (list, tuple)) else value


def _read_preset(params, warnings):
    """The preset the URL names (a typed expression parsed), falling back with a warning."""
    key = str(_last(params.get("preset", DEFAULT_PRESET)))
    if key == EXPRESSION:
        text = str(_last(params.get("expr", DEFAULT_EXPRESSION)))
        try:
            return from_expression(text)
        except ExpressionError as e:
            warnings.append(ParamWarning("bad_expression", "expr", text, e.code, e.pos))
            return from_expression(DEFAULT_EXPRESSION)
    if key not in PRESETS:
        warnings.append(ParamWarning("unknown_preset", "preset", key))
        key = DEFAULT_PRESET
    return PRESETS[key]


def parse_params(params):
    """(Setup, [ParamWarning]) from URL query parameters; anything unusable is ignored with a warning.

    params: mapping of str -> str (or list of str, the last one counts). Keys: ``preset`` (a key of
    PRESETS or ``expression``), ``expr`` (the expression's text), one per leaf (``apple=120``,
    ``x=2``), ``step`` (0 .. 2n). Other keys are not ours and are left alone. A leaf of another
    preset, a non-finite number, or a step out of range is ignored; the default is used instead.
    """
    warnings = []
    preset = _read_preset(params, warnings)
    values = preset.defaults
    for name in sorted(BOOK_LEAVES | set(values)):
        if name not in params:
            continue
        raw = str(_last(params[name]))
        if name not in values:
            warnings.append(ParamWarning("other_preset", name, raw))
        elif (x := read_number(raw)) is None:
            warnings.append(ParamWarning("bad_number", name, raw))
        else:
            values[name] = x
    if (problem := evaluate(preset, values)[2]) is not None:  # 1e200 * 1e200, log(x) at x = -1
        changed = ",".join(f"{name}={url_number(x)}" for name, x in values.items() if x != preset.defaults[name])
        warnings.append(ParamWarning(problem.code, problem.name, changed))
        values = preset.defaults
        if evaluate(preset, values)[2] is not None:  # log(x - 1) at its defaults: the default expression
            preset = from_expression(DEFAULT_EXPRESSION)
            values = preset.defaults
    step = 0
    if "step" in params:
        raw = str(_last(params["step"]))
        digits = raw.strip()  # ASCII digits only ("²".isdigit() is true), and short (int() refuses 4,300+ digits)
        if digits.isascii() and digits.isdigit() and len(digits) <= 6 and int(digits) <= preset.n_steps:
            step = int(digits)
        else:
            warnings.append(ParamWarning("bad_step", "step", raw))
    return Setup(preset.key, values, step, preset.text or DEFAULT_EXPRESSION), warnings


def query_for(preset, values, step):
    """The URL parameters for this moment: preset, step, and the leaves that differ from defaults.

    A typed expression writes its text and every variable (its defaults are not fixed).
    """
    query = {"preset": preset.key, "step": str(step)}
    if preset.key == EXPRESSION:
        query["expr"] = preset.text
    for name, default in preset.leaves:
        if values[name] != default or preset.key == EXPRESSION:
            query[name] = url_number(values[name])
    return query


def play_tick(step, last, now, due, pace):
    """Auto-advance: (step, next due time, still playing) at time ``now`` (seconds).

    Advances one step once ``now`` reaches ``due`` (with 10% slack for timer jitter) and stops at
    ``last``; reruns before ``due`` (another widget changed) leave the step alone.
    """
    if step >= last:
        return last, due, False
    if now < due - 0.1 * pace:
        return step, due, True
    step += 1
    return step, now + pace, step < last
