"""A typed expression such as ``(x + y) * z`` as a computational graph, read with ``ast``, never ``eval``.

The whitelist: numbers, variable names, ``+ - * /``, unary minus, ``**`` with a constant exponent,
``exp(·)``, ``log(·)`` and ``max(0, ·)``. Everything else is refused with an ``ExpressionError``
whose ``code`` names the problem (a key of the page's catalogue), ``pos`` the character offset
where it starts (an operation's: its operator, ``/`` for a division), and ``value`` the offending text or number.

A number next to an expression becomes a node of its own, as in the book's figure 5-19: ``1 + e``
is a ``+1`` node, ``-e`` a ``×(−1)`` node, ``1 / e`` the book's ``/`` node, ``e ** 2`` a ``^2``
node; numbers alone are folded (``2 * 3`` is 6). A name used twice is one leaf, so its gradient
sums both paths.
"""
import ast
import math
import re
from dataclasses import dataclass

MAX_CHARS = 10_000  # longer input is refused before it is parsed
MAX_NODES = 40  # leaves and operation nodes together
MAX_NAME = 16
FUNCTIONS = ("exp", "log", "max")
# Names this page's links use for themselves, and the function names: not variables.
RESERVED = frozenset({*FUNCTIONS, "step", "preset", "expr", "present", "lang"})
BINARY = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div"}
SYMBOLS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}


class ExpressionError(ValueError):
    """Why a text is not an expression we draw: ``code`` at character ``pos`` (0-based), about ``value``."""

    def __init__(self, code, pos=0, value=""):
        super().__init__(f"{code} at {pos}: {value}")
        self.code = code
        self.pos = pos
        self.value = value


@dataclass(frozen=True)
class Parsed:
    """The expression's graph as plain data: variables in order of first use, and operation nodes.

    ops: ((name, op, inputs, constant, pos), ...) in an order where inputs come first; the last is
    the output.
    """

    text: str
    variables: tuple
    ops: tuple


def _const(x, node):
    """A finite float, or ExpressionError (1e999, 10 ** 400)."""
    try:
        x = float(x)
    except (OverflowError, ValueError, TypeError):
        raise ExpressionError("bad_number", node.col_offset, "") from None
    if not math.isfinite(x):
        raise ExpressionError("bad_number", node.col_offset, "")
    return x


class _Builder:
    """Walks the tree; returns ("const", value) or ("node", name) for each sub-expression."""

    def __init__(self, text, prefix):
        self.text = text
        self.prefix = prefix
        self.variables = []
        self.ops = []

    def segment(self, node):
        return ast.get_source_segment(self.text, node) or ""

    def at(self, node):
        """Where an operation was written: a binary one's operator (the ``/`` of ``1 / (x - y)``, not the 1),
        anything else where it starts (``log``, a unary ``-``)."""
        if isinstance(node, ast.BinOp):
            between = self.text[node.left.end_col_offset:node.right.col_offset]
            if (i := between.find(SYMBOLS[type(node.op)])) >= 0:
                return node.left.end_col_offset + i
        return node.col_offset

    def add(self, op, inputs, node, constant=None):
        if len(self.variables) + len(self.ops) + 1 > MAX_NODES:
            raise ExpressionError("too_many_nodes", node.col_offset, str(MAX_NODES))
        name = f"{self.prefix}{len(self.ops) + 1}"
        self.ops.append((name, op, tuple(inputs), constant, self.at(node)))
        return ("node", name)

    def visit(self, node):
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
                raise ExpressionError("not_allowed", node.col_offset, self.segment(node))
            return ("const", _const(node.value, node))
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            kind, x = self.visit(node.operand)
            if isinstance(node.op, ast.UAdd):
                return (kind, x)
            return ("const", -x) if kind == "const" else self.add("scale", [x], node, -1.0)
        if isinstance(node, ast.BinOp) and (type(node.op) in BINARY or isinstance(node.op, ast.Pow)):
            return self.binary(node)
        if isinstance(node, ast.Call):
            return self.call(node)
        raise ExpressionError("not_allowed", node.col_offset, self.segment(node))

    def name(self, node):
        name = node.id
        if name in RESERVED or name.startswith("_") or len(name) > MAX_NAME or not name.isascii():
            raise ExpressionError("bad_name", node.col_offset, name)
        if name not in self.variables:
            if len(self.variables) + len(self.ops) + 1 > MAX_NODES:
                raise ExpressionError("too_many_nodes", node.col_offset, str(MAX_NODES))
            self.variables.append(name)
        return ("node", name)

    def binary(self, node):
        (ka, a), (kb, b) = self.visit(node.left), self.visit(node.right)
        if isinstance(node.op, ast.Pow):
            if kb != "const":
                raise ExpressionError("pow_exponent", node.right.col_offset, self.segment(node.right))
            return self.fold(lambda: a ** b, node) if ka == "const" else self.add("pow", [a], node, b)
        op = BINARY[type(node.op)]
        if ka == kb == "const":
            return self.fold({"add": lambda: a + b, "sub": lambda: a - b, "mul": lambda: a * b,
                              "div": lambda: a / b}[op], node)
        if kb == "const" and (b == 0 and op in ("add", "sub") or b == 1 and op in ("mul", "div")):
            return (ka, a)  # e + 0, e * 1: nothing to draw
        if ka == "const" and (a == 0 and op == "add" or a == 1 and op == "mul"):
            return (kb, b)
        if kb == "const":  # e + c, e - c, e * c, e / c
            if op == "div" and b == 0:
                raise ExpressionError("div_zero", self.at(node), self.segment(node))
            return {"add": lambda: self.add("shift", [a], node, b), "sub": lambda: self.add("shift", [a], node, -b),
                    "mul": lambda: self.add("scale", [a], node, b), "div": lambda: self.add("scale", [a], node, 1 / b)}[op]()
        if ka == "const":  # c + e, c - e, c * e, c / e
            if op == "add":
                return self.add("shift", [b], node, a)
            if op == "mul":
                return self.add("scale", [b], node, a)
            if op == "sub":
                return self.add("shift", [self.add("scale", [b], node, -1.0)[1]], node, a)
            inverse = self.add("recip", [b], node)
            return inverse if a == 1 else self.add("scale", [inverse[1]], node, a)
        return self.add(op, [a, b], node)

    def fold(self, compute, node):
        try:
            return ("const", _const(compute(), node))
        except ZeroDivisionError:
            raise ExpressionError("div_zero", self.at(node), self.segment(node)) from None
        except (OverflowError, ValueError, TypeError):  # 10.0 ** 400; (-8) ** 0.5 is complex
            raise ExpressionError("bad_number", node.col_offset, self.segment(node)) from None

    def call(self, node):
        func = node.func
        if not isinstance(func, ast.Name) or func.id not in FUNCTIONS:
            raise ExpressionError("call_not_allowed", node.col_offset, self.segment(func))
        if node.keywords or len(node.args) != (2 if func.id == "max" else 1):
            raise ExpressionError("bad_arguments", node.col_offset, func.id)
        if func.id == "max":
            args = [self.visit(arg) for arg in node.args]
            zero = [i for i, (kind, x) in enumerate(args) if kind == "const" and x == 0]
            other = [a for i, a in enumerate(args) if i not in zero[:1]]
            if not zero or other[0][0] == "const":
                raise ExpressionError("max_form", node.col_offset, self.segment(node))
            return self.add("max0", [other[0][1]], node)
        kind, x = self.visit(node.args[0])
        if kind == "const":
            compute = (lambda: math.exp(x)) if func.id == "exp" else (lambda: math.log(x))
            if func.id == "log" and x <= 0:
                raise ExpressionError("log_domain", node.col_offset, self.segment(node))
            return self.fold(compute, node)
        return self.add(func.id, [x], node)


def _prefix(names):
    """A letter for operation node names (u1, u2, ...) that no variable uses as letter + digits."""
    for letter in "uvwhqk":
        if not any(re.fullmatch(rf"{letter}\d+", name) for name in names):
            return letter
    return "node_"


def parse(text):
    """``Parsed`` for an expression text, or ExpressionError (see the module docstring for the codes)."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_CHARS:
        raise ExpressionError("too_long", 0, str(MAX_CHARS))
    if not text.strip():
        raise ExpressionError("empty", 0, "")
    flat = text.replace("\r", " ").replace("\n", " ")  # one line, so column offsets are positions
    try:
        tree = ast.parse(flat.strip(), mode="eval")
    except SyntaxError as e:
        raise ExpressionError("syntax", max(0, (e.offset or 1) - 1 + len(flat) - len(flat.lstrip())), "") from None
    except (ValueError, RecursionError, MemoryError):  # 5000-digit integers, absurd nesting
        raise ExpressionError("syntax", 0, "") from None
    shift = len(flat) - len(flat.lstrip())
    names = [n.id for n in ast.walk(tree) if isinstance(n, ast.Name)]
    builder = _Builder(flat.strip(), _prefix(names))
    try:
        kind, _ = builder.visit(tree.body)
    except RecursionError:
        raise ExpressionError("syntax", 0, "") from None
    except ExpressionError as e:
        raise ExpressionError(e.code, e.pos + shift, e.value) from None
    if not builder.variables:
        raise ExpressionError("no_variable", shift, "")
    if kind != "node" or not builder.ops:
        raise ExpressionError("no_operation", shift, "")
    ops = [(name, op, inputs, c, pos + shift) for name, op, inputs, c, pos in builder.ops]
    if "f" not in builder.variables:  # the output is f, as in ∂f/∂x (nothing consumes it: one rename)
        ops[-1] = ("f", *ops[-1][1:])
    return Parsed(text, tuple(builder.variables), tuple(ops))
