"""The shopping graph of chapter 5 as data: input leaves, multiply and add nodes, and their steps.

A ``Graph`` holds ``Node``s (name, op, inputs, value, grad). Every operation node owns a
``MulLayer`` or ``AddLayer`` and does its arithmetic through it, so the page runs the very code
a learner reads. ``Graph.states()`` replays the book's ``buy_apple_orange.py`` one node at a time
and returns "the state after step k" for every k:

    k = 0            nothing computed: leaves hold their inputs; node values and gradients unknown
    k = 1 .. n       forward: step k runs operation node k of the topological order
    k = n+1 .. 2n    backward: step n+j runs node j of the reverse order; step n+1 first sets
                     d(out)/d(out) = 1 at the output, then runs the output node's backward

(n = number of operation nodes; the page's ``?step=k`` uses the same numbering.) Where a value
feeds several nodes its gradient is the sum over those paths (``+=``); every backward pass starts
from zeroed gradients.
"""
import math
from dataclasses import dataclass, field

import numpy as np

from .gradient import numerical_gradient
from .layers import AddLayer, MulLayer

LAYERS = {"mul": MulLayer, "add": AddLayer}
SYMBOLS = {"mul": "×", "add": "+"}


@dataclass
class Node:
    """A leaf (``op="input"``, no inputs, value given) or an operation ``op(inputs[0], inputs[1])``.

    ``layer`` names the layer variable as the book's code does (``mul_apple_layer``).
    """

    name: str
    op: str = "input"
    inputs: tuple = ()
    value: float | None = None
    grad: float | None = None
    layer: str = ""


@dataclass(frozen=True)
class Step:
    """What one step did: node ``node`` ran ``op`` forward or backward.

    forward:  out = op(in_values)
    backward: in_grads[i] = d(out)/d(inputs[i]) * upstream, with upstream = d(output)/d(node)
    """

    index: int  # k, 1 .. 2n
    direction: str  # "forward" or "backward"
    number: int  # 1 .. n within its direction
    node: str
    op: str
    inputs: tuple
    in_values: tuple
    out_value: float
    upstream: float | None = None
    in_grads: tuple | None = None

    @property
    def rule(self):
        """``"mul_forward"``, ``"add_backward"``, ...: which local rule this step applied."""
        return f"{self.op}_{self.direction}"


@dataclass(frozen=True)
class State:
    """The graph after step ``k`` of ``total``: what is known, what is active, what just happened.

    values: name -> value for every leaf and every node already run forward.
    grads: name -> d(output)/d(name) summed over the paths walked back so far.
    edge_grads: (consumer, slot) -> gradient the consumer sent back to its input ``slot``.
    complete: names whose gradient has all its paths summed (final).
    """

    k: int
    total: int
    values: dict
    grads: dict = field(default_factory=dict)
    edge_grads: dict = field(default_factory=dict)
    complete: frozenset = frozenset()
    step: Step | None = None

    @property
    def active(self):
        return self.step.node if self.step else None

    @property
    def phase(self):
        """``"start"``, ``"forward"`` or ``"backward"``."""
        return self.step.direction if self.step else "start"


class Graph:
    """A DAG of leaves and two-input multiply/add nodes with one output (the only node nobody uses).

    nodes: iterable of ``Node``; operation nodes may list any earlier or later node as input,
    including the same node twice (x * x). Raises ValueError for unknown inputs, cycles, or a
    node that does not reach the output.
    """

    def __init__(self, nodes):
        self.nodes = {}
        for node in nodes:
            if node.name in self.nodes:
                raise ValueError(f"duplicate node name {node.name!r}")
            if node.op != "input" and node.op not in LAYERS:
                raise ValueError(f"{node.name}: unknown op {node.op!r} (use 'mul' or 'add')")
            if node.op != "input" and len(node.inputs) != 2:
                raise ValueError(f"{node.name}: {node.op} takes two inputs, got {len(node.inputs)}")
            if node.op == "input" and node.inputs:
                raise ValueError(f"{node.name}: a leaf has no inputs")
            self.nodes[node.name] = node
        for node in self.nodes.values():
            for name in node.inputs:
                if name not in self.nodes:
                    raise ValueError(f"{node.name}: unknown input {name!r}")
        self.consumers = {name: [] for name in self.nodes}  # name -> [(consumer, slot), ...]
        for node in self.nodes.values():
            for slot, name in enumerate(node.inputs):
                self.consumers[name].append((node.name, slot))
        sinks = [name for name, used in self.consumers.items() if not used]
        if len(sinks) != 1 or self.nodes[sinks[0]].op == "input":
            raise ValueError(f"the graph needs exactly one output operation node, found {sinks}")
        self.output = sinks[0]
        self.order = self._topological_order()
        self.layers = {name: LAYERS[self.nodes[name].op]() for name in self.order}
        for name in self.order:
            self.nodes[name].layer = self.nodes[name].layer or f"{self.nodes[name].op}_{name}_layer"

    def _topological_order(self):
        """Operation nodes so that inputs come first; ties keep the order the nodes were given."""
        order, done, visiting = [], set(), set()

        def visit(name):
            if name in done:
                return
            if name in visiting:
                raise ValueError(f"the graph has a cycle through {name!r}")
            visiting.add(name)
            for parent in self.nodes[name].inputs:
                visit(parent)
            visiting.discard(name)
            done.add(name)
            if self.nodes[name].op != "input":
                order.append(name)

        for name in self.nodes:
            visit(name)
        return order

    @property
    def leaves(self):
        """Names of the input leaves, in the order given."""
        return [name for name, node in self.nodes.items() if node.op == "input"]

    @property
    def n_steps(self):
        """2n: one forward and one backward step per operation node."""
        return 2 * len(self.order)

    def _forward_node(self, name):
        node = self.nodes[name]
        x, y = (self.nodes[i].value for i in node.inputs)
        node.value = self.layers[name].forward(x, y)
        return x, y

    def _backward_node(self, name):
        node = self.nodes[name]
        dx, dy = self.layers[name].backward(node.grad)
        for parent, d in zip(node.inputs, (dx, dy)):
            self.nodes[parent].grad += d  # += : a value used twice collects both paths
        return dx, dy

    def forward(self):
        """Run every operation node in topological order; returns the output's value."""
        for name in self.order:
            self._forward_node(name)
        return self.nodes[self.output].value

    def zero_grad(self):
        for node in self.nodes.values():
            node.grad = 0.0

    def backward(self, dout=1.0):
        """d(output)/d(every node) into ``node.grad``, from zeroed gradients (run forward first)."""
        self.zero_grad()
        self.nodes[self.output].grad = dout
        for name in reversed(self.order):
            self._backward_node(name)

    def gradients(self):
        """Leaf name -> its gradient after ``backward``."""
        return {name: self.nodes[name].grad for name in self.leaves}

    def output_at(self, values):
        """The output with the leaves set to ``values`` (name -> float; others unchanged), by forward only.

        Runs fresh layers, leaving this graph's values, gradients and layer caches untouched.
        """
        known = {name: float(values.get(name, self.nodes[name].value)) for name in self.leaves}
        for name in self.order:
            node = self.nodes[name]
            known[name] = LAYERS[node.op]().forward(*(known[i] for i in node.inputs))
        return known[self.output]

    def states(self):
        """The state after every step k = 0 .. 2n (see the module docstring), by running the layers.

        Leaves the graph fully computed (values and gradients), as forward() then backward() would.
        """
        n = len(self.order)
        values = {name: self.nodes[name].value for name in self.leaves}
        states = [State(0, 2 * n, dict(values))]
        for number, name in enumerate(self.order, 1):
            node = self.nodes[name]
            in_values = self._forward_node(name)
            values[name] = node.value
            step = Step(number, "forward", number, name, node.op, node.inputs, tuple(in_values), node.value)
            states.append(State(number, 2 * n, dict(values), step=step))

        self.zero_grad()
        self.nodes[self.output].grad = 1.0
        grads = {self.output: 1.0}
        edge_grads = {}
        waiting = {name: len(used) for name, used in self.consumers.items()}  # paths not yet summed
        complete = {self.output}
        for number, name in enumerate(reversed(self.order), 1):
            node = self.nodes[name]
            upstream = node.grad
            in_grads = self._backward_node(name)
            for slot, (parent, d) in enumerate(zip(node.inputs, in_grads)):
                edge_grads[(name, slot)] = d
                grads[parent] = self.nodes[parent].grad
                waiting[parent] -= 1
                if waiting[parent] == 0:
                    complete.add(parent)
            step = Step(n + number, "backward", number, name, node.op, node.inputs,
                        tuple(self.nodes[i].value for i in node.inputs), node.value, upstream, tuple(in_grads))
            states.append(State(n + number, 2 * n, dict(values), dict(grads), dict(edge_grads),
                                frozenset(complete), step))
        return states


def script(graph):
    """The graph as the book's script (``buy_apple_orange.py``): [(step k or None, line of Python), ...].

    Each forward and backward line carries the step that runs it, e.g.
    (1, "apple_price = mul_apple_layer.forward(apple, apple_num)") and
    (8, "dapple, dapple_num = mul_apple_layer.backward(dapple_price)"). A value used by several
    nodes gets one partial gradient per path and a line that adds them up.
    """
    n, out = len(graph.order), graph.output
    lines = [(None, f"{name} = {url_number(graph.nodes[name].value)}") for name in graph.leaves]
    lines.append((None, ""))
    lines += [(None, f"{graph.nodes[name].layer} = {type(graph.layers[name]).__name__}()") for name in graph.order]
    lines += [(None, ""), (None, "# forward")]
    for k, name in enumerate(graph.order, 1):
        node = graph.nodes[name]
        lines.append((k, f"{name} = {node.layer}.forward({', '.join(node.inputs)})"))
    lines += [(None, ""), (None, "# backward"), (n + 1, f"d{out} = 1")]
    waiting = {name: len(used) for name, used in graph.consumers.items()}
    for j, name in enumerate(reversed(graph.order), 1):
        node, targets, sums = graph.nodes[name], [], []
        for slot, parent in enumerate(node.inputs):
            paths = graph.consumers[parent]
            if len(paths) == 1:
                targets.append(f"d{parent}")
                continue
            targets.append(f"d{parent}_{paths.index((name, slot)) + 1}")  # one partial per path
            waiting[parent] -= 1
            if waiting[parent] == 0:
                sums.append(f"d{parent} = " + " + ".join(f"d{parent}_{i}" for i in range(1, len(paths) + 1)))
        lines.append((n + j, f"{', '.join(targets)} = {node.layer}.backward(d{name})"))
        lines += [(n + j, line) for line in sums]
    return lines


def numerical_gradients(graph, h=1e-4):
    """Leaf name -> (out(x+h) - out(x-h)) / 2h by the book's loop, forward passes only (never backprop)."""
    leaves = graph.leaves
    x = np.array([graph.nodes[name].value for name in leaves], dtype=np.float64)
    grad = numerical_gradient(lambda v: graph.output_at(dict(zip(leaves, v.tolist()))), x, h=h)
    return dict(zip(leaves, grad.tolist()))


@dataclass(frozen=True)
class LeafCheck:
    """One input's backprop gradient beside its central difference; ``ok`` if they agree within tolerance."""

    name: str
    value: float
    backprop: float
    numerical: float
    difference: float
    tolerance: float

    @property
    def ok(self):
        return self.difference <= self.tolerance


def gradient_check(graph, h=1e-4):
    """[LeafCheck] for every leaf, after ``backward`` (or ``states``) has run.

    tolerance = 1e-6 * max(1, |grad|) + 8 * eps * |out| / h: out(x+h) - out(x-h) loses about
    eps * |out| to rounding, which dominates when the output is large beside this input's share.
    """
    numerical = numerical_gradients(graph, h)
    out = abs(graph.nodes[graph.output].value)
    checks = []
    for name in graph.leaves:
        grad = graph.nodes[name].grad
        tolerance = 1e-6 * max(1.0, abs(grad)) + 8 * np.finfo(np.float64).eps * out / h
        checks.append(LeafCheck(name, graph.nodes[name].value, grad, numerical[name],
                                abs(grad - numerical[name]), tolerance))
    return checks


# ----------------------------------------------------------------------------- presets

@dataclass(frozen=True)
class Preset:
    """A named graph with default inputs: leaves ((name, default), ...) and ops ((name, op, inputs, layer), ...)."""

    key: str
    leaves: tuple
    ops: tuple

    @property
    def defaults(self):
        return dict(self.leaves)

    def graph(self, values=None):
        """A fresh Graph with the leaves set to ``values`` (name -> float; missing ones default)."""
        values = {**self.defaults, **(values or {})}
        nodes = [Node(name, value=float(values[name])) for name, _ in self.leaves]
        nodes += [Node(name, op, tuple(inputs), layer=layer) for name, op, inputs, layer in self.ops]
        return Graph(nodes)


PRESETS = {
    # The book's buy_apple.py (figure 5-16): price = apple * apple_num * tax.
    "apples": Preset(
        "apples",
        (("apple", 100.0), ("apple_num", 2.0), ("tax", 1.1)),
        (("apple_price", "mul", ("apple", "apple_num"), "mul_apple_layer"),
         ("price", "mul", ("apple_price", "tax"), "mul_tax_layer")),
    ),
    # The book's buy_apple_orange.py (figure 5-17): (apple * apple_num + orange * orange_num) * tax.
    "apples_oranges": Preset(
        "apples_oranges",
        (("apple", 100.0), ("apple_num", 2.0), ("orange", 150.0), ("orange_num", 3.0), ("tax", 1.1)),
        (("apple_price", "mul", ("apple", "apple_num"), "mul_apple_layer"),
         ("orange_price", "mul", ("orange", "orange_num"), "mul_orange_layer"),
         ("all_price", "add", ("apple_price", "orange_price"), "add_apple_orange_layer"),
         ("price", "mul", ("all_price", "tax"), "mul_tax_layer")),
    ),
}
DEFAULT_PRESET = "apples_oranges"


# ----------------------------------------------------------------------------- display and URL

def fmt(x, digits=10):
    """A number as the book prints it: 3.3 for 3.3000000000000003, 715 for 715.0000000000001; None -> "?"."""
    if x is None:
        return "?"
    s = f"{x:.{digits}g}"
    return "0" if s == "-0" else s


def url_number(x):
    """The shortest text that reads back as exactly x (100.0 -> "100", 1.1 -> "1.1")."""
    s = repr(float(x))
    return s[:-2] if s.endswith(".0") else s


def read_number(text):
    """A finite float from text, else None (``"abc"``, ``"nan"``, ``"inf"``, ``""``)."""
    try:
        x = float(text)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


@dataclass(frozen=True)
class ParamWarning:
    """Why a URL parameter was ignored: ``code`` is a key of the page's text catalogue."""

    code: str  # "unknown_preset", "bad_number", "other_preset", "bad_step"
    key: str
    value: str


@dataclass(frozen=True)
class Setup:
    """Everything the URL can carry: preset key, leaf values (name -> float), step k."""

    preset: str
    values: dict
    step: int


def _last(value):
    return value[-1] if isinstance(value, (list, tuple)) else value


def parse_params(params):
    """(Setup, [ParamWarning]) from URL query parameters; anything unusable is ignored with a warning.

    params: mapping of str -> str (or list of str, the last one counts). Keys: ``preset`` (a key of
    PRESETS), one per leaf of that preset (``apple=120``), ``step`` (0 .. 2n). Other keys are not
    ours and are left alone. A leaf of another preset, a non-finite number, or a step out of range
    is ignored; the default is used instead.
    """
    warnings = []
    preset_key = _last(params.get("preset", DEFAULT_PRESET))
    if preset_key not in PRESETS:
        warnings.append(ParamWarning("unknown_preset", "preset", str(preset_key)))
        preset_key = DEFAULT_PRESET
    preset = PRESETS[preset_key]
    values = preset.defaults
    all_leaves = {name for p in PRESETS.values() for name, _ in p.leaves}
    for name in sorted(all_leaves):
        if name not in params:
            continue
        raw = str(_last(params[name]))
        if name not in values:
            warnings.append(ParamWarning("other_preset", name, raw))
        elif (x := read_number(raw)) is None:
            warnings.append(ParamWarning("bad_number", name, raw))
        else:
            values[name] = x
    step = 0
    if "step" in params:
        raw = str(_last(params["step"]))
        n_steps = 2 * len(preset.ops)
        if raw.strip().isdigit() and int(raw) <= n_steps:
            step = int(raw)
        else:
            warnings.append(ParamWarning("bad_step", "step", raw))
    if evaluate(preset, values)[0] is None:  # finite inputs whose price overflows (1e200 * 1e200)
        changed = ",".join(f"{name}={url_number(x)}" for name, x in values.items() if x != preset.defaults[name])
        warnings.append(ParamWarning("overflow", "", changed))
        values = preset.defaults
    return Setup(preset_key, values, step), warnings


def evaluate(preset, values):
    """(graph with every state computed, states) if every value and gradient is finite, else (None, None).

    values: leaf name -> float or None (an emptied input).
    """
    if any(values.get(name) is None or not math.isfinite(values[name]) for name, _ in preset.leaves):
        return None, None
    graph = preset.graph(values)
    states = graph.states()
    last = states[-1]
    if not all(math.isfinite(v) for v in (*last.values.values(), *last.grads.values())):
        return None, None
    return graph, states


def query_for(preset_key, values, step):
    """The URL parameters for this moment: preset, step, and only the leaves that differ from defaults."""
    preset = PRESETS[preset_key]
    query = {"preset": preset_key, "step": str(step)}
    for name, default in preset.leaves:
        if values[name] != default:
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
