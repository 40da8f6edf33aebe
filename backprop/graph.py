"""Computational graphs of chapter 5 as data: input leaves, elementary nodes, and their steps.

A ``Graph`` holds ``Node``s (name, op, inputs, value, grad). Every operation node owns a layer of
``backprop.nodes`` (``MulLayer`` and ``AddLayer`` are the book's own) and does its arithmetic
through it, so the page runs the very code a learner reads. ``Graph.states()`` replays the book's
``buy_apple_orange.py`` one node at a time and returns "the state after step k" for every k:

    k = 0            nothing computed: leaves hold their inputs; node values and gradients unknown
    k = 1 .. n       forward: step k runs operation node k of the topological order
    k = n+1 .. 2n    backward: step n+j runs node j of the reverse order; step n+1 first sets
                     d(out)/d(out) = 1 at the output, then runs the output node's backward

(n = number of operation nodes; the page's ``?step=k`` uses the same numbering.) Where a value
feeds several nodes its gradient is the sum over those paths (``+=``); every backward pass starts
from zeroed gradients. The book's presets and typed expressions build graphs of this one kind
(``backprop.presets``, ``backprop.expr``).
"""
import math
from dataclasses import dataclass, field

import numpy as np

from .gradient import numerical_gradient
from .nodes import OPS, backward_as_tuple, domain_problem, make_layer, symbol


class DomainError(ValueError):
    """A node met inputs it is not defined for: ``code`` (log_domain, div_zero, pow_domain, overflow) at ``node``."""

    def __init__(self, code, node):
        super().__init__(f"{code} at {node}")
        self.code = code
        self.node = node


@dataclass
class Node:
    """A leaf (``op="input"``, no inputs, value given) or an operation ``op(*inputs)``.

    ``layer`` names the layer variable as the book's code does (``mul_apple_layer``); ``constant``
    is the c of ``scale`` (×c), ``shift`` (+c) and ``pow`` (**c); ``pos`` is where a typed
    expression wrote this node (a character offset), for messages.
    """

    name: str
    op: str = "input"
    inputs: tuple = ()
    value: float | None = None
    grad: float | None = None
    layer: str = ""
    constant: float | None = None
    pos: int | None = None

    @property
    def symbol(self):
        return symbol(self.op, self.constant)


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


def _check_node(node):
    """ValueError if a node's op, inputs or constant do not fit together."""
    if node.op == "input":
        if node.inputs:
            raise ValueError(f"{node.name}: a leaf has no inputs")
        return
    if node.op not in OPS:
        raise ValueError(f"{node.name}: unknown op {node.op!r} (use one of {', '.join(OPS)})")
    spec, n = OPS[node.op], len(node.inputs)
    if spec.arity is None and n < 2 or spec.arity is not None and n != spec.arity:
        wanted = "two or more" if spec.arity is None else {1: "one", 2: "two"}[spec.arity]
        raise ValueError(f"{node.name}: {node.op} takes {wanted} inputs, got {n}")
    if spec.has_constant != (node.constant is not None):
        raise ValueError(f"{node.name}: {node.op} " + ("needs a constant" if spec.has_constant else "takes no constant"))


class Graph:
    """A DAG of leaves and elementary nodes with one output (the only node nobody uses).

    nodes: iterable of ``Node``; operation nodes may list any earlier or later node as input,
    including the same node twice (x * x). Raises ValueError for unknown ops or inputs, a wrong
    number of inputs, cycles, or a node that does not reach the output.
    """

    def __init__(self, nodes):
        self.nodes = {}
        for node in nodes:
            if node.name in self.nodes:
                raise ValueError(f"duplicate node name {node.name!r}")
            _check_node(node)
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
        self.layers = {name: make_layer(self.nodes[name].op, self.nodes[name].constant) for name in self.order}
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
        """Run one node's layer forward; DomainError where the node is not defined for its inputs."""
        node = self.nodes[name]
        xs = tuple(self.nodes[i].value for i in node.inputs)
        if (code := domain_problem(node.op, xs, node.constant)) is not None:
            raise DomainError(code, name)
        with np.errstate(all="ignore"):
            node.value = float(self.layers[name].forward(*xs))
        if not math.isfinite(node.value):
            raise DomainError("overflow", name)
        return xs

    def _backward_node(self, name):
        node = self.nodes[name]
        with np.errstate(all="ignore"):
            grads = tuple(float(d) for d in backward_as_tuple(node.op, self.layers[name].backward(node.grad)))
        for parent, d in zip(node.inputs, grads):
            self.nodes[parent].grad += d  # += : a value used twice collects both paths
        return grads

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
        with np.errstate(all="ignore"):
            for name in self.order:
                node = self.nodes[name]
                known[name] = make_layer(node.op, node.constant).forward(*(known[i] for i in node.inputs))
        return float(known[self.output])

    def states(self):
        """The state after every step k = 0 .. 2n (see the module docstring), by running the layers.

        Leaves the graph fully computed (values and gradients), as forward() then backward() would.
        Raises DomainError where a node cannot take its inputs or a value overflows.
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
        states += self._backward_states(values)
        return states

    def _backward_states(self, values):
        n = len(self.order)
        self.zero_grad()
        self.nodes[self.output].grad = 1.0
        grads, edge_grads, states = {self.output: 1.0}, {}, []
        waiting = {name: len(used) for name, used in self.consumers.items()}  # paths not yet summed
        complete = {self.output}
        for number, name in enumerate(reversed(self.order), 1):
            node = self.nodes[name]
            upstream = node.grad
            in_grads = self._backward_node(name)
            for slot, (parent, d) in enumerate(zip(node.inputs, in_grads)):
                if not math.isfinite(self.nodes[parent].grad):
                    raise DomainError("overflow", name)
                edge_grads[(name, slot)] = d
                grads[parent] = self.nodes[parent].grad
                waiting[parent] -= 1
                if waiting[parent] == 0:
                    complete.add(parent)
            step = Step(n + number, "backward", number, name, node.op, node.inputs,
                        tuple(self.nodes[i].value for i in node.inputs), node.value, upstream, in_grads)
            states.append(State(n + number, 2 * n, dict(values), dict(grads), dict(edge_grads),
                                frozenset(complete), step))
        return states


def _constructor(graph, name):
    node = graph.nodes[name]
    cls = type(graph.layers[name]).__name__
    return f"{cls}({url_number(node.constant)})" if node.constant is not None else f"{cls}()"


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
    lines += [(None, f"{graph.nodes[name].layer} = {_constructor(graph, name)}") for name in graph.order]
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
        difference = abs(grad - numerical[name])
        checks.append(LeafCheck(name, graph.nodes[name].value, grad, numerical[name],
                                difference if math.isfinite(difference) else math.inf, tolerance))
    return checks


# ----------------------------------------------------------------------------- display

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
