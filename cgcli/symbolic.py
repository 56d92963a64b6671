"""SymPy for the algebra: a derivative graph simplified and written as a person writes it.

:func:`simplify` builds a SymPy expression from a scalar graph, node by node (never from
text: ``sympify`` and ``parse_expr`` evaluate their input), asks SymPy to simplify it within
a time budget, and prints the result back in cgcli's language with :class:`CgcliPrinter`.
SymPy is imported here only, on the path of ``cgcli diff``.

The mapping is faithful, conventions at kinks included: ``step`` is ``Heaviside(x, 0)``
(relu'(0) = 0, not Heaviside's default 1/2), ``abs`` is ``Abs``, ``sign`` is ``sign``
(0 at 0). Functions SymPy has no exact counterpart for (sigmoid, softplus, relu, ismax,
where, log1p, ...) stay functions of their own name, which SymPy treats as unknown: they come
back unchanged, in cgcli's form.
"""

from __future__ import annotations

import math
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .graphs import Graph
from .ops import CONST, VAR


class Budget(Exception):
    """SymPy ran out of its time budget."""


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Raise :class:`Budget` in the block after ``seconds`` of CPU time (main thread, POSIX),
    else no limit: SymPy's simplification cannot be told to stop, but it is Python code,
    which a signal interrupts. CPU time, not wall time: a busy machine gives the same
    answer, later."""
    usable = (hasattr(signal, "setitimer") and hasattr(signal, "SIGPROF") and
              threading.current_thread() is threading.main_thread())
    if not usable or seconds <= 0:
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise Budget

    old = signal.signal(signal.SIGPROF, expire)
    # Again every 50 ms: an exception raised where Python ignores it (inside a garbage
    # collector callback, say) must not let SymPy run on.
    signal.setitimer(signal.ITIMER_PROF, seconds, 0.05)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, old)


_SP: dict[str, Any] = {}


def _sympy() -> Any:
    """SymPy, its functions for cgcli's names and the printer (made once)."""
    if _SP:
        return _SP["sp"]
    import sympy as sp

    _SP["sp"] = sp
    _SP["unknown"] = {}
    return sp


def _unknown(name: str) -> Any:
    """An undefined SymPy function that prints as cgcli's ``name``."""
    sp = _sympy()
    table = _SP["unknown"]
    if name not in table:
        table[name] = sp.Function(name, real=True)
    return table[name]


#: cgcli op -> how to build it in SymPy from the arguments.
def _builders(sp: Any) -> dict[str, Any]:
    return {
        "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
        "div": lambda a, b: a / b, "neg": lambda a: -a, "pos": lambda a: a,
        "pow": lambda a, b: a ** b, "id": lambda a: a, "square": lambda a: a ** 2,
        "exp": sp.exp, "log": sp.log, "sqrt": sp.sqrt, "sin": sp.sin, "cos": sp.cos,
        "tan": sp.tan, "asin": sp.asin, "acos": sp.acos, "atan": sp.atan, "sinh": sp.sinh,
        "cosh": sp.cosh, "tanh": sp.tanh, "abs": sp.Abs, "sign": sp.sign,
        "step": lambda a: sp.Heaviside(a, 0),
        "sum": lambda a: a, "mean": lambda a: a, "T": lambda a: a,
        "logsumexp": lambda a: a, "softmax": lambda a: sp.Integer(1),
        "ones_like": lambda a: sp.Integer(1), "zeros_like": lambda a: sp.Integer(0),
        "unbroadcast": lambda a, like: a,
    }


def _number(sp: Any, x: float, name: str | None) -> Any:
    """A constant: pi and e by name, whole numbers and halves exactly, other floats as
    float64 (printed back with all their digits)."""
    if name == "pi" and x == math.pi:
        return sp.pi
    if name == "e" and x == math.e:
        return sp.E
    if math.isfinite(x) and (2 * x).is_integer() and abs(x) < 2**52:
        return sp.Rational(int(2 * x), 2)
    if math.isinf(x):
        return sp.oo if x > 0 else -sp.oo
    return sp.Float(x, precision=53)


def to_sympy(graph: Graph, root: int | None = None) -> Any:
    """The SymPy expression of node ``root`` (default: the output) of a scalar graph, built
    node by node; ValueError for a node of an array op."""
    sp = _sympy()
    builders = _builders(sp)
    root = graph.output if root is None else root
    need = graph.ancestors(root)
    exprs: list[Any] = [None] * (root + 1)
    for node in graph.nodes[: root + 1]:
        if not need[node.id]:
            continue
        op = node.op
        if op is VAR:
            exprs[node.id] = sp.Symbol(node.name, real=True)
            continue
        if op is CONST:
            if not isinstance(node.value, float):
                raise ValueError("an array constant")
            exprs[node.id] = _number(sp, node.value, node.name)
            continue
        args = [exprs[j] for j in node.inputs]
        name = op.name
        if name in ("max", "min") and len(args) > 1:
            exprs[node.id] = (sp.Max if name == "max" else sp.Min)(*args)
        elif name in ("max", "min", "norm") and len(args) == 1:
            exprs[node.id] = sp.Abs(args[0]) if name == "norm" else args[0]
        elif name in builders:
            exprs[node.id] = builders[name](*args)
        elif name in ("matmul", "dot", "outer", "array", "rowsum", "column", "take", "put"):
            raise ValueError(f"the array op {name}")
        else:  # a function SymPy does not know: kept as it is
            exprs[node.id] = _unknown(name)(*args)
    return exprs[root]


def printer() -> Any:
    """A SymPy printer that writes cgcli's language: ``x^2``, ``e``, ``abs(x)``, ``step(x)``,
    floats with all their digits."""
    if "printer" in _SP:
        return _SP["printer"]
    _sympy()
    from sympy.printing.str import StrPrinter

    class CgcliPrinter(StrPrinter):
        def _print_Pow(self, expr: Any, rational: bool = False) -> str:
            return super()._print_Pow(expr, rational).replace("**", "^")

        def _print_Exp1(self, expr: Any) -> str:
            return "e"

        def _print_Abs(self, expr: Any) -> str:
            return f"abs({self._print(expr.args[0])})"

        def _print_Heaviside(self, expr: Any) -> str:
            return f"step({self._print(expr.args[0])})"

        def _print_Max(self, expr: Any) -> str:
            return "max(" + ", ".join(self._print(a) for a in expr.args) + ")"

        def _print_Min(self, expr: Any) -> str:
            return "min(" + ", ".join(self._print(a) for a in expr.args) + ")"

        def _print_Float(self, expr: Any) -> str:
            x = float(expr)
            text = repr(x) if math.isfinite(x) else ("1e999" if x > 0 else "-1e999")
            return text[:-2] if text.endswith(".0") else text

        def _print_Infinity(self, expr: Any) -> str:
            return "1e999"

        def _print_NegativeInfinity(self, expr: Any) -> str:
            return "-1e999"

    _SP["printer"] = CgcliPrinter()
    return _SP["printer"]


def _simplest(expr: Any) -> Any:
    """The most readable of SymPy's forms: its canonical one (as built) or, for a formula of
    up to :data:`LARGE` operations, what ``simplify`` makes of it, unless that brings in
    functions the formula did not have (a sigmoid's derivative is e^-x/(e^-x + 1)², not
    1/(4·cosh²(x/2))); the one with the fewest operations, then the shortest."""
    sp = _sympy()
    if sp.count_ops(expr) > LARGE:  # simplify's search grows fast: the canonical form
        return expr
    known = {type(f) for f in expr.atoms(sp.Function)}
    candidates = [expr]
    simple = sp.simplify(expr)
    if {type(f) for f in simple.atoms(sp.Function)} <= known:
        candidates.append(simple)
    return min(candidates, key=lambda e: (sp.count_ops(e), len(str(e))))


#: Formulas with more operations than this get SymPy's canonical form (terms collected,
#: constants folded) without the slow search of ``simplify``.
LARGE = 300


class Simplified:
    """A formula as SymPy simplified it, or the reason it was kept as it was."""

    def __init__(self, text: str | None, note: str = "", seconds: float = 0.0) -> None:
        self.text, self.note, self.seconds = text, note, seconds


def simplify(graph: Graph, root: int | None = None, budget: float = 2.5) -> Simplified:
    """SymPy's simplest form of node ``root`` of a scalar graph, printed in cgcli's language.

    Building the SymPy expression collects terms and folds constants (linear in the
    formula's size); SymPy's ``simplify`` then searches for a shorter form within ``budget``
    seconds of CPU time, and when the budget runs out the collected form is kept, with a
    note. ``text`` is None (with a note) for array ops, or when SymPy itself fails."""
    _sympy()  # the import is not SymPy's thinking: outside the budget
    start = time.perf_counter()
    note = ""
    try:
        expr = to_sympy(graph, root)
        try:
            with deadline(budget):
                best = _simplest(expr)
        except Budget:
            best = expr
            note = (f"SymPy's simplify ran out of its {budget:g} s: terms collected, not "
                    "simplified further")
        sp = _sympy()
        if best.has(sp.zoo, sp.nan, sp.I):  # no number of the language: cgcli's text stands
            return Simplified(None, "SymPy's form is not a real number everywhere: written "
                              "by cgcli")
        text = printer().doprint(best)
    except ValueError:
        return Simplified(None, "has vectors or matrices: written by cgcli, not SymPy")
    except RecursionError:
        return Simplified(None, "too deep for SymPy: written unsimplified")
    except Exception as exc:  # SymPy's own failure: cgcli's own text is right anyway
        return Simplified(None, f"SymPy could not simplify it ({type(exc).__name__}): "
                          "written unsimplified")
    return Simplified(text, note, time.perf_counter() - start)
