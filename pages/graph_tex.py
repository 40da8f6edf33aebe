"""LaTeX for one step of a computational graph: the node's formula forward, its local rule backward.

Notation only (no words): the shopping page puts it beside the catalogue's explanation.
"""
from backprop.graph import fmt
from backprop.nodes import local_gradient


def name(n):
    return r"\text{" + n.replace("_", r"\_") + "}"


def num(x):
    """A number for LaTeX: book rounding to 6 digits as on the graph's edges (the gradient table keeps 10;
    beside the graph 10 made a formula wider than its column), 10^k for exponents, negatives in parentheses."""
    s = fmt(x, 6)
    if "e" in s:
        mantissa, exponent = s.split("e")
        s = rf"{mantissa} \times 10^{{{int(exponent)}}}"
    return f"({s})" if x < 0 else s


def d(out, n):
    return rf"\frac{{\partial\,{name(out)}}}{{\partial\,{name(n)}}}"


def _apply(op, args, c):
    """The node's operation on its (TeX) arguments."""
    if op in ("mul", "add", "sub", "sum"):
        sign = {"mul": r" \times ", "add": " + ", "sub": " - ", "sum": " + "}[op]
        return sign.join(args)
    x = args[0]
    return {
        "div": lambda: rf"\frac{{{args[0]}}}{{{args[-1]}}}", "exp": lambda: rf"\exp({x})", "log": lambda: rf"\log({x})",
        "recip": lambda: rf"\frac{{1}}{{{x}}}", "scale": lambda: rf"{num(c)} \times {x}", "shift": lambda: rf"{x} + {num(c)}",
        "pow": lambda: rf"{{{x}}}^{{{num(c)}}}", "max0": lambda: rf"\max(0,\, {x})",
    }[op]()


def _local(step, slot, c):
    """d(node)/d(input slot) written symbolically."""
    op, names = step.op, [name(i) for i in step.inputs]
    if op == "mul":
        return names[1 - slot]
    if op == "div":
        return rf"\frac{{1}}{{{names[1]}}}" if slot == 0 else rf"-\frac{{{names[0]}}}{{{names[1]}^2}}"
    x = names[slot]
    if op == "scale":
        return num(c)
    if op == "pow":
        return rf"{num(c)}\,{x}^{{{num(c - 1)}}}"
    return {
        "add": "1", "sum": "1", "shift": "1", "sub": "1" if slot == 0 else "-1", "exp": rf"\exp({x})",
        "log": rf"\frac{{1}}{{{x}}}", "recip": rf"-\frac{{1}}{{{x}^2}}", "max0": rf"[{x} > 0]",
    }[op]


def formula(graph, state):
    """LaTeX of what the current step computed, with its numbers."""
    step, out = state.step, graph.output
    c = graph.nodes[step.node].constant
    if step.direction == "forward":
        symbolic = _apply(step.op, [name(i) for i in step.inputs], c)
        numeric = _apply(step.op, [num(v) for v in step.in_values], c)
        # two lines, as the backward rules: on one, the numbers were cut off beside the graph (issue 9)
        return (r"\begin{aligned}" + rf"{name(step.node)} &= {symbolic} \\[2pt] "
                + rf"&= {numeric} = {num(step.out_value)}" + r"\end{aligned}")
    lines = [rf"{d(out, out)} &= 1"] if step.node == out else []
    upstream = "1" if step.node == out else d(out, step.node)
    for slot, (n, grad) in enumerate(zip(step.inputs, step.in_grads)):
        local = local_gradient(step.op, slot, step.in_values, step.out_value, c)
        lines.append(rf"{d(out, n)} &= {upstream} \times {_local(step, slot, c)}")
        lines.append(rf"&= {num(step.upstream)} \times {num(local)} = \mathbf{{{num(grad)}}}")
    return r"\begin{aligned}" + r" \\[2pt] ".join(lines) + r"\end{aligned}"
