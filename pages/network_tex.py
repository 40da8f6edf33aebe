"""LaTeX for the layer walk: each step's rule with the tensors' shapes (the actual N), and for the tiny
net the rule again with its numbers, so dW = Xᵀ · dY can be read entry by entry. Notation only, no words.
"""
from backprop.graph import fmt
from backprop.walk import rows

NAMES = {"x": "X", "a1": "a_1", "z1": "z_1", "a2": "a_2", "y": "y", "t": "t", "W1": "W_1", "b1": "b_1",
         "W2": "W_2", "b2": "b_2", "da2": r"\frac{\partial L}{\partial a_2}", "dz1": r"\frac{\partial L}{\partial z_1}",
         "da1": r"\frac{\partial L}{\partial a_1}", "dW1": r"\frac{\partial L}{\partial W_1}",
         "db1": r"\frac{\partial L}{\partial b_1}", "dW2": r"\frac{\partial L}{\partial W_2}",
         "db2": r"\frac{\partial L}{\partial b_2}"}


def shape_text(shape):
    return "(" + ",\\,".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def u(name, shapes, tex=None):
    """A tensor's symbol with its shape under it (``shapes``: ``Walk.shapes``)."""
    return rf"\underset{{{shape_text(shapes[name])}}}{{{tex or NAMES[name]}}}"


def ut(name, shapes):
    """A transposed matrix with its transposed shape under it."""
    return rf"\underset{{{shape_text(tuple(reversed(shapes[name])))}}}{{{NAMES[name]}^{{\top}}}}"


def pipeline_shapes(walk):
    """The shapes written on the strip's edges: x, a1, z1, a2 and the loss."""
    n, (d, h), c = walk.n, walk.params["W1"].shape, walk.params["W2"].shape[1]
    return (f"({n}, {d})", f"({n}, {h})", f"({n}, {h})", f"({n}, {c})", "()")


def matrix(m, digits=3, transpose=False):
    return r"\begin{bmatrix}" + r" \\ ".join(" & ".join(fmt(v, digits) for v in row) for row in rows(m, transpose)) \
        + r"\end{bmatrix}"


def _forward(step, shapes, n, loss):
    layer, r = step.layer, step.rule
    if r == "affine_forward" and layer == "Affine1":
        return [rf"{u('a1', shapes)} = {u('x', shapes)} \cdot {u('W1', shapes)} + {u('b1', shapes)}"]
    if r == "relu_forward":
        return [rf"{u('z1', shapes)} = \max(0,\ {u('a1', shapes)})", r"\text{mask} = (a_1 > 0)"]
    if r == "affine_forward":
        return [rf"{u('a2', shapes)} = {u('z1', shapes)} \cdot {u('W2', shapes)} + {u('b2', shapes)}"]
    return [rf"{u('y', shapes)} = \mathrm{{softmax}}(a_2)",
            rf"L = -\frac{{1}}{{{n}}} \sum_{{n=1}}^{{{n}}} \log y_{{n,\,t_n}} = {fmt(loss, 5)}"]


def _backward(step, shapes, n):
    layer, r = step.layer, step.rule
    if r == "softmax_loss_backward":
        return [rf"{u('da2', shapes)} = \frac{{y - t}}{{N}} = \frac{{y - t}}{{{n}}}"]
    if r == "relu_backward":
        return [rf"{u('da1', shapes)} = {u('dz1', shapes)} \odot \text{{mask}}"]
    if layer == "Affine2":
        return [rf"{u('dW2', shapes)} = {ut('z1', shapes)} \cdot {u('da2', shapes)}",
                rf"{u('db2', shapes)} = \sum_{{n=1}}^{{{n}}} \frac{{\partial L}}{{\partial a_2}}_{{n}}",
                rf"{u('dz1', shapes)} = {u('da2', shapes)} \cdot {ut('W2', shapes)}"]
    return [rf"{u('dW1', shapes)} = {ut('x', shapes)} \cdot {u('da1', shapes)}",
            rf"{u('db1', shapes)} = \sum_{{n=1}}^{{{n}}} \frac{{\partial L}}{{\partial a_1}}_{{n}}"]


def _numbers(step, k, one_hot):
    """The tiny net's rule once more with its matrices (one sample, a few entries), as one line."""
    r, layer = step.rule, step.layer
    if r == "affine_forward" and layer == "Affine1":
        return rf"a_1 = {matrix(k['x'])} {matrix(k['W1'])} + {matrix(k['b1'])} = {matrix(k['a1'])}"
    if r == "relu_forward":
        return rf"z_1 = \max\left(0,\ {matrix(k['a1'])}\right) = {matrix(k['z1'])}"
    if r == "affine_forward":
        return rf"a_2 = {matrix(k['z1'])} {matrix(k['W2'])} + {matrix(k['b2'])} = {matrix(k['a2'])}"
    if r == "softmax_loss_forward":
        return rf"y = \mathrm{{softmax}}\left({matrix(k['a2'])}\right) = {matrix(k['y'])}"
    if r == "softmax_loss_backward":
        return rf"\frac{{\partial L}}{{\partial a_2}} = {matrix(k['y'])} - {matrix(one_hot)} = {matrix(k['da2'])}"
    if r == "affine_backward" and layer == "Affine2":
        return rf"\frac{{\partial L}}{{\partial W_2}} = {matrix(k['z1'], transpose=True)} {matrix(k['da2'])} = {matrix(k['dW2'])}"
    if r == "relu_backward":
        return (rf"\frac{{\partial L}}{{\partial a_1}} = {matrix(k['dz1'])} \odot {matrix(k['mask'].astype(float))}"
                rf" = {matrix(k['da1'])}")
    if r == "affine_backward":
        return rf"\frac{{\partial L}}{{\partial W_1}} = {matrix(k['x'], transpose=True)} {matrix(k['da1'])} = {matrix(k['dW1'])}"
    return None


def is_tiny(walk):
    return walk.x.shape[1] <= 3


def rules(step, walk):
    """The LaTeX lines for this step: its rule with the tensors' shapes (the tiny net's start: its numbers)."""
    k, shapes, n = walk.known(step.k), walk.shapes(step.k), walk.n
    if step.direction == "start":
        return [rf"x = {matrix(walk.x)}, \quad t = {int(walk.t[0])}" if is_tiny(walk)
                else rf"{u('x', shapes)}, \quad t \in \{{0, \dots, 9\}}^{{{n}}}"]
    if step.direction == "update":
        return [r"W \leftarrow W - \eta\,\frac{\partial L}{\partial W}, \quad \eta = " + fmt(walk.lr)]
    return _forward(step, shapes, n, float(k["loss"]) if "loss" in k else None) if step.direction == "forward" \
        else _backward(step, shapes, n)


def numbers(step, walk):
    """The tiny net's rule with its numbers, one line (None for the full net, the start and the update)."""
    if not is_tiny(walk) or step.direction in ("start", "update"):
        return None
    return _numbers(step, walk.known(step.k), walk.one_hot)
