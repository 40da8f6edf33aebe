"""A network where every number fits: TwoLayerNet with 2 inputs, 3 hidden units and 2 classes, one sample.

``tiny_net()`` is a real ``TwoLayerNet(2, 3, 2)`` with short weights; ``scalar_graph(net, x, label)``
is the same network as a computational graph of the shopping graph's kind, one scalar per node:

    m1_ij = x_i × W1_ij          a1_j = m1_1j + m1_2j + b1_j      z1_j = max0(a1_j)
    m2_jk = z1_j × W2_jk         a2_k = m2_1k + m2_2k + m2_3k + b2_k
    L = Softmax-with-Loss(a2_1, a2_2; label)

so every weight is an input edge of one multiply node, and its gradient is that node's rule,
upstream × the other input: dW1_ij = x_i · da1_j, which is ``dW = Xᵀ · dY`` written entry by entry.
A value feeding several nodes (x_i, z1_j) sums its paths: ``dX = dY · Wᵀ``. ``LAYER_NODES`` says
which nodes make up each step of the layer walk, so the tiny net steps as the full one does.
"""
import numpy as np

from .graph import Graph, Node
from .net import TwoLayerNet

SIZES = (2, 3, 2)
X = (1.0, 0.5)
LABEL = 0
# Short weights, so that every value and gradient reads at a glance (seeded draws, rounded).
W1 = ((0.5, -0.3, 0.8), (-0.6, 0.9, 0.2))
B1 = (0.1, 0.0, -0.2)
W2 = ((0.7, -0.4), (-0.5, 0.6), (0.3, 0.9))
B2 = (0.0, 0.1)


def tiny_net():
    """TwoLayerNet(2, 3, 2) in float64 with the weights above."""
    net = TwoLayerNet(*SIZES, dtype=np.float64)
    for key, value in (("W1", W1), ("b1", B1), ("W2", W2), ("b2", B2)):
        net.params[key][...] = value
    return net


def _sub(i):
    return "₀₁₂₃₄₅₆₇₈₉"[i]


def leaf_label(name):
    """W1_12 -> W1₁₂, b1_3 -> b1₃, x1 -> x₁ (the drawing's names)."""
    if "_" in name:
        head, idx = name.split("_")
        return head + "".join(_sub(int(c)) for c in idx)
    return name[0] + _sub(int(name[1:]))


def _layer(names_in, W, b, prefix):
    """Leaves and nodes of one Affine layer on scalar inputs ``names_in``: multiplies, then one sum per output."""
    leaves, nodes, outs = [], [], []
    n_in, n_out = np.shape(W)
    for j in range(1, n_out + 1):
        terms = []
        for i in range(1, n_in + 1):
            w = f"W{prefix}_{i}{j}"
            leaves.append(Node(w, value=float(W[i - 1][j - 1])))
            nodes.append(Node(f"m{prefix}_{i}{j}", "mul", (names_in[i - 1], w)))
            terms.append(f"m{prefix}_{i}{j}")
        leaves.append(Node(f"b{prefix}_{j}", value=float(b[j - 1])))
        nodes.append(Node(f"a{prefix}_{j}", "sum", (*terms, f"b{prefix}_{j}")))
        outs.append(f"a{prefix}_{j}")
    return leaves, nodes, outs


def scalar_graph(net, x=X, label=LABEL):
    """The Graph of ``net`` (a 2-3-2 TwoLayerNet) on one sample x with its label; see the module docstring."""
    p = net.params
    leaves = [Node(f"x{i}", value=float(v)) for i, v in enumerate(x, 1)]
    l1, n1, a1 = _layer([f"x{i}" for i in range(1, len(x) + 1)], p["W1"], p["b1"], 1)
    relu = [Node(f"z1_{j}", "max0", (a,)) for j, a in enumerate(a1, 1)]
    l2, n2, a2 = _layer([r.name for r in relu], p["W2"], p["b2"], 2)
    loss = Node("L", "softmax_loss", tuple(a2), constant=float(label))
    return Graph(leaves + l1 + l2 + n1 + relu + n2 + [loss])


def _forward_groups(graph):
    first = [n for n in graph.order if n.startswith(("m1_", "a1_"))]
    relu = [n for n in graph.order if n.startswith("z1_")]
    second = [n for n in graph.order if n.startswith(("m2_", "a2_"))]
    return [first, relu, second, ["L"]]


def layer_steps(graph):
    """The graph state index that ends each layer-walk step 0..8 (Affine1, Relu1, Affine2, loss, then back)."""
    n = len(graph.order)
    position = {name: i + 1 for i, name in enumerate(graph.order)}
    ends = [0]
    for group in _forward_groups(graph):
        ends.append(max(position[name] for name in group))
    for group in reversed(_forward_groups(graph)):  # backward runs the reverse order: each group ends at its first
        ends.append(n + n + 1 - min(position[name] for name in group))
    return ends


def layer_nodes(graph):
    """Walk step k (1..8) -> the nodes that step runs (the highlighted part of the drawing)."""
    groups = _forward_groups(graph)
    return [[], *groups, *reversed(groups)]
