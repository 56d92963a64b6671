"""Local derivatives as formulas, printed from the registry's backward rules.

An op's backward rule is its one statement of its derivative. To show it (``explain``'s
steps, ``cgcli functions``), the rule is run on a :class:`~cgcli.record.Recorder` in display
mode, with names for its inputs (the op's parameters), its output (``out``) and the upstream
gradient (``g``); the recorded expression is printed in Unicode, ASCII or LaTeX. Where the
gradient is ``g`` times a factor, the factor alone is the local derivative (``e^x`` for
exp, ``-a/b²`` for the divisor of a/b); otherwise the whole vector-Jacobian product is shown,
``g`` in it (``gᵀ`` for a transpose).

The notation follows the lecture: ``·`` for products (``⊙`` between two arrays), ``e^x``,
``√x``, ``σ(x)``, ``‖x‖``, ``xᵀ``, ``Σ``, ``[x > 0]`` for a condition (1 where it holds, else
0), ``[a = out]`` for a max gate's routing. The ASCII notation writes cgcli's language where
it can (``sqrt(x)``, ``T(g)``, ``sigmoid(x)``), so most formulas evaluate with cgcli itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from typing import Any

from .ops import CONST, REGISTRY, VAR, Op

NOTATIONS = ("unicode", "ascii", "latex")


@dataclass(frozen=True)
class E:
    """A node of a formula: an op applied to sub-formulas, a name or a number."""

    op: str
    args: tuple[E, ...] = ()
    name: str | None = None
    value: float | None = None
    shape: tuple[int, ...] = ()


ONE = E("const", value=1.0)


def _tree(graph: Any, values: list, i: int) -> E:
    """Node ``i`` of a recorded graph as a formula tree (formulas are small)."""
    node = graph.nodes[i]
    shape = tuple(getattr(values[i], "shape", ()))
    if node.op is VAR:
        return E("var", name=node.name, shape=shape)
    if node.op is CONST:
        return E("const", value=float(node.value), shape=shape)
    return E(node.op.name, tuple(_tree(graph, values, j) for j in node.inputs), shape=shape)


def _is_g(e: E) -> bool:
    return e.op == "var" and e.name == "g"


def _factor(e: E) -> E | None:
    """``e`` divided by g, if g is a factor of it (appearing once, under * / - and where);
    else None."""
    if _is_g(e):
        return ONE
    if e.op == "mul":
        a, b = e.args
        fa, fb = _uses_g(a), _uses_g(b)
        if fa and not fb:
            f = _factor(a)
            return None if f is None else (b if f == ONE else E("mul", (f, b), shape=e.shape))
        if fb and not fa:
            f = _factor(b)
            return None if f is None else (a if f == ONE else E("mul", (a, f), shape=e.shape))
        return None
    if e.op == "div" and _uses_g(e.args[0]) and not _uses_g(e.args[1]):
        f = _factor(e.args[0])
        return None if f is None else E("div", (f, e.args[1]), shape=e.shape)
    if e.op == "neg":
        f = _factor(e.args[0])
        return None if f is None else E("neg", (f,), shape=e.shape)
    if e.op == "where" and not _uses_g(e.args[0]):
        zero = E("const", value=0.0)
        fa, fb = ((zero if x == zero else _factor(x)) for x in e.args[1:])
        return None if fa is None or fb is None else E("where", (e.args[0], fa, fb), shape=e.shape)
    return None


def _uses_g(e: E) -> bool:
    return _is_g(e) or any(_uses_g(a) for a in e.args)


@cache
def _recorded(op: Op, nargs: int | None = None) -> tuple[E | None, ...]:
    """Each input's local derivative (or whole VJP, with g) of ``op`` called with ``nargs``
    arguments (default: all its parameters), as a formula tree."""
    import numpy as np

    from .record import Recorder, namespace_for

    if not op.params:  # a leaf
        return ()
    variadic = op.variadic
    params = (op.params[0], "b") if variadic else op.params[:nargs]
    shapes = op.shapes[:len(params)] if op.shapes else tuple(() for _ in params)
    rec = Recorder(display=True)
    with np.errstate(all="ignore"):
        values = [0.5 if not shape else np.full(shape, 0.5) for shape in shapes]
        xs = [rec.variable(p, v) for p, v in zip(params, values, strict=True)]
        out_value = op.impl(namespace_for(op, values))(*values)
        out = rec.variable("out", out_value)
        g = rec.variable("g", 1.0 if not np.shape(out_value) else np.ones(np.shape(out_value)))
        parts = op.vjp_rule(rec, g, out, *xs)
    graph = rec.graph
    values_by_id = [rec.syms[i].value for i in range(len(graph.nodes))]
    trees: list[E | None] = []
    for part in parts[: 1 if variadic else len(params)]:
        if part is None:
            trees.append(None)
            continue
        e = _tree(graph, values_by_id, rec.sym(part).id)
        f = _factor(e)
        trees.append(e if f is None else f)
    return tuple(trees)


def local(op: Op, notation: str = "unicode", nargs: int | None = None) -> tuple[str, ...]:
    """``op``'s local derivative for each parameter (one for a variadic op), in ``notation``,
    when it is called with ``nargs`` arguments (default: all; the others take their
    defaults): a factor that multiplies the upstream gradient g, or a formula with g in it."""
    if op.variadic or nargs is None or nargs >= len(op.params):
        nargs = None
    return _local(op, notation, nargs)


@cache
def _local(op: Op, notation: str, nargs: int | None) -> tuple[str, ...]:
    printer = _PRINTERS[notation]()
    return tuple("0" if e is None else printer.text(e) for e in _recorded(op, nargs))


def derivative(op: Op) -> str:
    """One line for ``cgcli functions``: ``e^x``, or ``∂/∂a = 1/b, ∂/∂b = -a/b²``; an op
    with optional parameters also as it is most often called (log: ``1/x``)."""
    parts = local(op)
    line = parts[0] if len(parts) == 1 else ", ".join(
        f"∂/∂{p} = {f}" for p, f in zip(op.params, parts, strict=True))
    if op.defaults and not op.variadic and op.min_args == 1:
        line = f"{local(op, nargs=1)[0]}; {op.name}({', '.join(op.params)}): {line}"
    return line


def describe() -> list[tuple[str, str, str]]:
    """(signature, description, derivative) of every callable function, for docs and help."""
    from .ops import FUNCTIONS

    seen: dict[str, list[str]] = {}
    for alias, op in FUNCTIONS.items():
        seen.setdefault(op.name, []).append(alias)
    rows = []
    for name, aliases in sorted(seen.items(), key=lambda kv: kv[0].lower()):
        op = REGISTRY[name]
        others = [a for a in aliases if a != name]
        extra = f" (alias: {', '.join(others)})" if others else ""
        rows.append((op.signature(), op.doc + extra, derivative(op)))
    return rows


# --- printers --------------------------------------------------------------------------------

ADD, NEG, MUL, POW, ATOM = 1, 1.5, 2, 4, 10


class Printer:
    """Unicode: ``b·a^(b-1)``, ``1/(2·√x)``, ``[x > 0] + slope·[x ≤ 0]``."""

    times = "·"
    hadamard = "⊙"
    matmul = "·"
    le, ne = "≤", "≠"

    def text(self, e: E) -> str:
        return self.show(e)[0]

    def wrap(self, text: str) -> str:
        return f"({text})"

    def at(self, e: E, level: float, tight: bool = False) -> str:
        """``e`` as an operand that needs precedence above ``level``."""
        text, prec = self.show(e, tight)
        return text if prec > level else self.wrap(text)

    def number(self, x: float) -> str:
        if x.is_integer() and abs(x) < 1e15:
            return str(int(x))
        return repr(x) if math.isfinite(x) else ("inf" if x > 0 else "-inf")

    def show(self, e: E, tight: bool = False) -> tuple[str, float]:
        """(text, precedence); ``tight``: inside an exponent (no spaces around + and -)."""
        op, a = e.op, e.args
        if op == "var":
            return e.name or "?", ATOM
        if op == "const":
            s = self.number(e.value or 0.0)
            return s, (NEG if s.startswith("-") else ATOM)
        method = getattr(self, "op_" + op, None)
        if method is not None:
            return method(e, tight)
        return self.call(op, a), ATOM

    def call(self, name: str, args: tuple[E, ...]) -> str:
        return f"{name}({', '.join(self.text(x) for x in args)})"

    # arithmetic
    def op_add(self, e: E, tight: bool) -> tuple[str, float]:
        return self._sum(e, "+", tight)

    def op_sub(self, e: E, tight: bool) -> tuple[str, float]:
        return self._sum(e, "-", tight)

    def _sum(self, e: E, sign: str, tight: bool) -> tuple[str, float]:
        left = self.at(e.args[0], ADD - 1, tight)
        right, prec = self.show(e.args[1], tight)
        if prec <= ADD or right.startswith("-"):
            right = self.wrap(right)
        space = "" if tight else " "
        return f"{left}{space}{sign}{space}{right}", ADD

    def op_neg(self, e: E, tight: bool) -> tuple[str, float]:
        return "-" + self.at(e.args[0], NEG, tight), NEG

    def op_pos(self, e: E, tight: bool) -> tuple[str, float]:
        return self.show(e.args[0], tight)

    def op_mul(self, e: E, tight: bool) -> tuple[str, float]:
        a, b = e.args
        for x, other in ((a, b), (b, a)):
            if x.op == "ones_like" or (x.op == "const" and x.value == 1.0):  # 1·x is x
                return self.show(other, tight)
        if a == b:  # x·x is x²
            return self.power(a, E("const", value=2.0), tight)
        op = self.hadamard if a.shape and b.shape else self.times
        return self.product(self.at(a, NEG, tight), op, self.at(b, MUL, tight)), MUL

    def product(self, left: str, op: str, right: str) -> str:
        return f"{left}{op}{right}"

    def op_matmul(self, e: E, tight: bool) -> tuple[str, float]:
        a, b = e.args
        return self.product(self.at(a, NEG, tight), self.matmul, self.at(b, MUL, tight)), MUL

    def op_div(self, e: E, tight: bool) -> tuple[str, float]:
        a, b = e.args
        if a.op == "div" and a.args[1] == b:  # a/b/b is a/b²
            return self.quotient(a.args[0], E("pow", (b, E("const", value=2.0))), tight)
        return self.quotient(a, b, tight)

    def quotient(self, a: E, b: E, tight: bool) -> tuple[str, float]:
        return f"{self.at(a, NEG, tight)}/{self.at(b, MUL, tight)}", MUL

    def op_pow(self, e: E, tight: bool) -> tuple[str, float]:
        return self.power(*e.args, tight)

    def op_square(self, e: E, tight: bool) -> tuple[str, float]:
        return self.power(e.args[0], E("const", value=2.0), tight)

    def power(self, base: E, exponent: E, tight: bool) -> tuple[str, float]:
        b = self.at(base, POW, tight)
        if exponent.op == "const" and exponent.value == 2.0:
            return b + "²", POW
        return f"{b}^{self.at(exponent, POW, True)}", POW

    # functions
    def op_exp(self, e: E, tight: bool) -> tuple[str, float]:
        return "e^" + self.at(e.args[0], POW, True), POW

    def op_expm1(self, e: E, tight: bool) -> tuple[str, float]:
        space = "" if tight else " "
        return f"e^{self.at(e.args[0], POW, True)}{space}-{space}1", ADD

    def op_log(self, e: E, tight: bool) -> tuple[str, float]:
        x = e.args[0]
        if x.op == "const":
            return f"ln {self.number(x.value or 0.0)}", POW
        return f"ln({self.text(x)})", ATOM

    def op_sqrt(self, e: E, tight: bool) -> tuple[str, float]:
        return "√" + self.at(e.args[0], POW), ATOM

    def op_sigmoid(self, e: E, tight: bool) -> tuple[str, float]:
        return f"σ({self.text(e.args[0])})", ATOM

    def op_norm(self, e: E, tight: bool) -> tuple[str, float]:
        return f"‖{self.text(e.args[0])}‖", ATOM

    def op_T(self, e: E, tight: bool) -> tuple[str, float]:
        return self.at(e.args[0], POW) + "ᵀ", ATOM

    def op_sum(self, e: E, tight: bool) -> tuple[str, float]:
        return "Σ " + self.at(e.args[0], NEG, tight), MUL

    def op_ones_like(self, e: E, tight: bool) -> tuple[str, float]:
        return "1", ATOM

    def op_take(self, e: E, tight: bool) -> tuple[str, float]:
        return f"{self.at(e.args[0], POW)}[{self.text(e.args[1])}]", ATOM

    def op_ismax(self, e: E, tight: bool) -> tuple[str, float]:
        return f"[{self.text(e.args[0])} = out]", ATOM

    op_ismin = op_ismax

    def op_step(self, e: E, tight: bool) -> tuple[str, float]:
        return self.condition(e, True), ATOM

    def condition(self, c: E, holds: bool) -> str:
        """``[x > 0]`` for step(x), ``[a = b]`` for eq(a, b), else ``[c ≠ 0]``; or their
        negation."""
        if c.op == "step":
            return f"[{self.text(c.args[0])} {'>' if holds else self.le} 0]"
        if c.op == "eq":
            return f"[{self.text(c.args[0])} {'=' if holds else self.ne} {self.text(c.args[1])}]"
        return f"[{self.text(c)} {self.ne if holds else '='} 0]"

    def op_where(self, e: E, tight: bool) -> tuple[str, float]:
        c, a, b = e.args
        terms = []
        for value, holds in ((a, True), (b, False)):
            if value.op == "const" and value.value == 0.0:
                continue
            cond = self.condition(c, holds)
            if value.op == "const" and value.value == 1.0:
                terms.append(cond)
            else:
                terms.append(self.product(self.at(value, NEG), self.times, cond))
        if not terms:
            return "0", ATOM
        return (" + ".join(terms), ADD) if len(terms) > 1 else (terms[0], MUL)


class AsciiPrinter(Printer):
    """ASCII, cgcli's language where it can: ``b*a^(b-1)``, ``1/(2*sqrt(x))``."""

    times = hadamard = "*"
    matmul = " @ "
    le, ne = "<=", "!="

    def power(self, base: E, exponent: E, tight: bool) -> tuple[str, float]:
        return f"{self.at(base, POW, tight)}^{self.at(exponent, POW, True)}", POW

    def op_log(self, e: E, tight: bool) -> tuple[str, float]:
        return f"ln({self.text(e.args[0])})", ATOM

    def op_sqrt(self, e: E, tight: bool) -> tuple[str, float]:
        return f"sqrt({self.text(e.args[0])})", ATOM

    def op_sigmoid(self, e: E, tight: bool) -> tuple[str, float]:
        return f"sigmoid({self.text(e.args[0])})", ATOM

    def op_norm(self, e: E, tight: bool) -> tuple[str, float]:
        return f"norm({self.text(e.args[0])})", ATOM

    def op_T(self, e: E, tight: bool) -> tuple[str, float]:
        return f"T({self.text(e.args[0])})", ATOM

    def op_sum(self, e: E, tight: bool) -> tuple[str, float]:
        return f"sum({self.text(e.args[0])})", ATOM


class LatexPrinter(Printer):
    r"""LaTeX for an ``aligned`` block: ``\frac{1}{2\sqrt{x}}``, ``b\,a^{b-1}``."""

    times = r"\,"
    hadamard = r" \odot "
    matmul = r"\,"
    le, ne = r"\le", r"\ne"

    def number(self, x: float) -> str:
        s = super().number(x)
        return s.replace("inf", r"\infty")

    def quotient(self, a: E, b: E, tight: bool) -> tuple[str, float]:
        return rf"\frac{{{self.text(a)}}}{{{self.text(b)}}}", ATOM

    def op_neg(self, e: E, tight: bool) -> tuple[str, float]:
        x = e.args[0]
        if x.op == "div":  # -\frac{a}{b}
            return "-" + self.show(x)[0], NEG
        return super().op_neg(e, tight)

    def power(self, base: E, exponent: E, tight: bool) -> tuple[str, float]:
        return f"{self.at(base, POW)}^{{{self.show(exponent, True)[0]}}}", POW

    def op_exp(self, e: E, tight: bool) -> tuple[str, float]:
        return f"e^{{{self.text(e.args[0])}}}", POW

    def op_expm1(self, e: E, tight: bool) -> tuple[str, float]:
        return f"e^{{{self.text(e.args[0])}}} - 1", ADD

    def op_log(self, e: E, tight: bool) -> tuple[str, float]:
        x = e.args[0]
        if x.op == "const":
            return rf"\ln {self.number(x.value or 0.0)}", POW
        return rf"\ln({self.text(x)})", ATOM

    def op_sqrt(self, e: E, tight: bool) -> tuple[str, float]:
        return rf"\sqrt{{{self.text(e.args[0])}}}", ATOM

    def op_sigmoid(self, e: E, tight: bool) -> tuple[str, float]:
        return rf"\sigma({self.text(e.args[0])})", ATOM

    def op_norm(self, e: E, tight: bool) -> tuple[str, float]:
        return rf"\lVert {self.text(e.args[0])} \rVert", ATOM

    def op_T(self, e: E, tight: bool) -> tuple[str, float]:
        return self.at(e.args[0], POW) + r"^{\top}", ATOM

    def op_sum(self, e: E, tight: bool) -> tuple[str, float]:
        return r"\textstyle\sum " + self.at(e.args[0], NEG, tight), MUL

    def op_take(self, e: E, tight: bool) -> tuple[str, float]:
        return f"{self.at(e.args[0], POW)}_{{{self.text(e.args[1])}}}", ATOM

    def call(self, name: str, args: tuple[E, ...]) -> str:
        known = {"sin", "cos", "tan", "sinh", "cosh", "tanh"}
        head = "\\" + name if name in known else rf"\operatorname{{{name}}}".replace("_", r"\_")
        return f"{head}({', '.join(self.text(x) for x in args)})"


_PRINTERS: dict[str, type[Printer]] = {"unicode": Printer, "ascii": AsciiPrinter,
                                       "latex": LatexPrinter}
