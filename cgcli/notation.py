"""How ``explain`` writes math: Unicode (the default), ASCII or LaTeX.

A :class:`Notation` knows how to write a partial derivative, a product, a number, an array and
a node's name, and when a piece of text needs parentheses. :func:`substitute` puts names or
numbers into a formula of the op registry (``Op.local``, ``local_ascii``, ``local_latex``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from .formulas import local
from .graphs import Graph
from .numbers import abbreviate, fmt_scalar
from .ops import CONST, Op

NOTATIONS = ("unicode", "ascii", "latex")

#: (text, atomic): atomic text needs no parentheses next to an operator.
Piece = tuple[str, bool]


# --- notations ----------------------------------------------------------------------------

_PLAIN_OPERATORS = frozenset(" +-*/@·⊙=<>≤")
_BRACKETS = re.compile(r"[()\[\]{}]")
_TO_ASCII = str.maketrans({"·": "*", "⊙": "*", "∂": "d", "²": "^2", "ᵀ": "^T", "σ": "sigmoid",
                           "‖": "||", "√": "sqrt", "…": "...", "Σ": "sum", "≤": "<=",
                           "—": "-", "×": "x", "−": "-"})


def _depth0(text: str) -> str:
    """The characters of ``text`` outside all brackets."""
    if not _BRACKETS.search(text):
        return text
    depth, kept = 0, []
    for ch in text:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif depth == 0:
            kept.append(ch)
    return "".join(kept)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


class Notation:
    """How the math is written: Unicode, the default (``∂L/∂P = 1 · (-1/P²)``)."""

    name = "unicode"
    times = " · "
    hadamard = " ⊙ "

    def formulas(self, op: Op, nargs: int | None = None) -> tuple[str, ...]:
        return local(op, self.name, nargs)

    def atomic(self, text: str) -> bool:
        if not text or text.startswith("-"):
            return False
        if _is_number(text):
            return True
        return not (_PLAIN_OPERATORS & set(_depth0(text)))

    def wrap(self, text: str) -> str:
        return f"({text})"

    def piece(self, text: str) -> Piece:
        return text, self.atomic(text)

    def operand(self, piece: Piece) -> str:
        return piece[0] if piece[1] else self.wrap(piece[0])

    def differential(self, piece: Piece) -> str:
        """What follows ∂: a name or a call as it is, anything else in parentheses
        (``∂(P^2)``, not ``∂P^2``)."""
        text, atomic = piece
        return text if atomic and "^" not in _depth0(text) else self.wrap(text)

    def partial(self, top: Piece, bottom: Piece) -> str:
        return f"∂{self.differential(top)}/∂{self.differential(bottom)}"

    def chain(self, out: Piece, gate: Piece, node: Piece) -> str:
        return f"{self.partial(out, gate)} · {self.partial(gate, node)}"

    def label(self, graph: Graph, i: int) -> Piece:
        return self.piece(graph.label(i))

    def number(self, x: float, precision: int, trim: bool = False) -> str:
        s = fmt_scalar(x, precision)
        if trim and "." in s:  # 0.5000 -> 0.5, 1.200e-07 -> 1.2e-07
            mantissa, e, exp = s.partition("e")
            s = mantissa.rstrip("0").rstrip(".") + e + exp
        return s

    def value(self, v: Any, precision: int, trim: bool = False) -> Piece:
        return self.piece(abbreviate(v, lambda x: self.number(x, precision, trim)))

    def total(self, text: str) -> str:
        return f"Σ({text})"

    def shape(self, shape: tuple[int, ...]) -> str:
        return "×".join(map(str, shape))

    def plain(self, text: str) -> str:
        """Prose (a gate's role) in this notation."""
        return text


class AsciiNotation(Notation):
    """ASCII only: ``dL/dP = 1 * (-1/P^2)``."""

    name = "ascii"
    times = " * "
    hadamard = " * "


    def partial(self, top: Piece, bottom: Piece) -> str:
        return f"d{self.differential(top)}/d{self.differential(bottom)}"

    def chain(self, out: Piece, gate: Piece, node: Piece) -> str:
        return f"{self.partial(out, gate)} * {self.partial(gate, node)}"

    def label(self, graph: Graph, i: int) -> Piece:
        return self.piece(self.plain(_ascii_label(graph, i)))

    def value(self, v: Any, precision: int, trim: bool = False) -> Piece:
        text, atomic = super().value(v, precision, trim)
        return self.plain(text), atomic

    def total(self, text: str) -> str:
        return f"sum({text})"

    def shape(self, shape: tuple[int, ...]) -> str:
        return "x".join(map(str, shape))

    def plain(self, text: str) -> str:
        return text.translate(_TO_ASCII).encode("ascii", "replace").decode("ascii")


_LATEX_TEXT = str.maketrans({"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "_": r"\_",
                             "^": r"\textasciicircum{}", "#": r"\#", "$": r"\$", "%": r"\%",
                             "&": r"\&", "~": r"\textasciitilde{}", "—": "---"})
_LATEX_TT = str.maketrans({"\\": r"\backslash ", "{": r"\{", "}": r"\}", "_": r"\_",
                           "#": r"\#", "$": r"\$", "%": r"\%", "&": r"\&", "~": r"\sim ",
                           " ": r"\ ", "…": r"\dots "})
_GREEK = frozenset(("alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta",
                    "iota", "kappa", "lambda", "mu", "nu", "xi", "rho", "sigma", "tau",
                    "phi", "chi", "psi", "omega", "pi"))
_INDEXED = re.compile(r"([A-Za-z]+)_?(\d+)\Z")
_LATEX_OPERATORS = (" ", r"\,", "+", "-", "*", "/", "=", "<", ">")


class LatexNotation(Notation):
    r"""LaTeX for an ``aligned`` block: ``\frac{\partial L}{\partial P} = 1 \cdot ...``."""

    name = "latex"
    times = r" \cdot "
    hadamard = r" \odot "


    def atomic(self, text: str) -> bool:
        if not text or text.startswith("-"):
            return False
        rest = _depth0(text)
        return not any(o in rest for o in _LATEX_OPERATORS)

    def wrap(self, text: str) -> str:
        return rf"\left({text}\right)"

    def partial(self, top: Piece, bottom: Piece) -> str:
        return (rf"\frac{{\partial {self.differential(top)}}}"
                rf"{{\partial {self.differential(bottom)}}}")

    def chain(self, out: Piece, gate: Piece, node: Piece) -> str:
        return self.partial(out, gate) + self.partial(gate, node)

    def label(self, graph: Graph, i: int) -> Piece:
        node = graph.nodes[i]
        if node.name is not None:
            return self.name_of(node.name), True
        if node.op is CONST:  # a number or an array literal: as numbers
            return self.value(node.value, 6, trim=True)
        text = _ascii_label(graph, i)
        return r"\mathtt{" + _latex_tt(text) + "}", Notation().atomic(text)

    @staticmethod
    def name_of(name: str) -> str:
        """``w0`` -> ``w_{0}``, ``alpha`` -> ``\\alpha``, ``rate`` -> ``\\mathit{rate}``,
        ``c#1`` (an earlier version of c) -> ``c_{\\#1}``."""
        base, _, version = name.partition("#")
        if version:
            tex = LatexNotation.name_of(base)
            return f"{tex if '_' not in tex else '{' + tex + '}'}_{{\\#{version}}}"
        m = _INDEXED.match(name)
        if m:
            return f"{LatexNotation.name_of(m.group(1))}_{{{m.group(2)}}}"
        if name in _GREEK:
            return "\\" + name
        if len(name) == 1:
            return name
        return r"\mathit{" + name.replace("_", r"\_") + "}"

    def number(self, x: float, precision: int, trim: bool = False) -> str:
        s = super().number(x, precision, trim)
        if s in ("inf", "-inf"):
            return s.replace("inf", r"\infty")
        if s == "nan":
            return r"\mathrm{nan}"
        mantissa, e, exp = s.partition("e")
        return rf"{mantissa} \times 10^{{{int(exp)}}}" if e else s

    def value(self, v: Any, precision: int, trim: bool = False) -> Piece:
        a = np.asarray(v, dtype=np.float64)
        if a.ndim == 0:
            s = self.number(float(a), precision, trim)
            return s, not s.startswith("-") and r"\times" not in s
        if a.ndim > 2:
            return rf"\text{{array }}{self.shape(a.shape)}", True
        m = a.reshape(-1, 1) if a.ndim == 1 else a  # a vector is a column, as in the notes

        def cell(r: int | None, c: int | None) -> str:
            if r is None:
                return r"\ddots" if c is None else r"\vdots"
            return r"\cdots" if c is None else self.number(float(m[r, c]), precision, trim)

        cols = _cut(m.shape[1])
        body = r" \\ ".join(" & ".join(cell(r, c) for c in cols) for r in _cut(m.shape[0]))
        return r"\begin{bmatrix}" + body + r"\end{bmatrix}", True

    def total(self, text: str) -> str:
        return rf"\sum\left({text}\right)"

    def shape(self, shape: tuple[int, ...]) -> str:
        return r"\times ".join(map(str, shape))

    def plain(self, text: str) -> str:
        return r"\text{" + text.translate(_LATEX_TEXT) + "}"


def _ascii_label(graph: Graph, i: int) -> str:
    """The node's label in ASCII: as written, or (for pasted notation like ``x²``, ``√x``,
    ``2·x``) its canonical text, ``x^2``, ``sqrt(x)``, ``2 * x``."""
    text = graph.label(i)
    if text.isascii():
        return text
    if not text.endswith("…"):  # a short sub-expression: few nodes to print
        from .printer import expression_text

        return expression_text(graph, i)
    text = _SUPERSCRIPT.sub(lambda m: "^" + m.group().translate(_SUPERSCRIPT_DIGITS), text)
    return text.translate(_NOTATION_TO_ASCII)


_SUPERSCRIPT = re.compile("⁻?[⁰¹²³⁴⁵⁶⁷⁸⁹]+")
_SUPERSCRIPT_DIGITS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")
_NOTATION_TO_ASCII = str.maketrans({"·": "*", "×": "*", "⋅": "*", "−": "-", "÷": "/",
                                    "√": "sqrt ", "ᵀ": "^T"})


def _cut(n: int, edge: int = 2) -> list[int | None]:
    """Indices to show of an axis of length n: all, or the ends around None (an ellipsis)."""
    return list(range(n)) if n <= 2 * edge else [*range(edge), None, *range(n - edge, n)]


def _latex_tt(text: str) -> str:
    """Source text for ``\\mathtt{}``: specials escaped, ``^2`` as a superscript."""
    text = text.replace("**", "^")
    out = []
    for part in re.split(r"(\^(?:\d+(?:\.\d*)?|[A-Za-z_]\w*))", text):
        if part.startswith("^"):
            out.append("^{" + part[1:].translate(_LATEX_TT) + "}")
        else:
            out.append(part.translate(_LATEX_TT).replace("^", r"\wedge "))
    return "".join(out)


def notation(name: str) -> Notation:
    """The notation called ``name`` (one of :data:`NOTATIONS`)."""
    kinds = {"unicode": Notation, "ascii": AsciiNotation, "latex": LatexNotation}
    if name not in kinds:
        raise ValueError(f"unknown notation {name!r}: one of {', '.join(NOTATIONS)}")
    return kinds[name]()


# --- formulas -----------------------------------------------------------------------------

NAME = re.compile(r"(?<![\\A-Za-z0-9_])[A-Za-z_][A-Za-z0-9_]*")
_OPENS = frozenset("([{,=<>≤‖")
_CLOSES = frozenset(")]},=<>≤‖")


def substitute(template: str, names: Mapping[str, Piece], nota: Notation) -> str:
    """``template`` with each name in ``names`` replaced by its text, in parentheses where an
    operator next to it would otherwise bind to part of it (``b²`` with b = -1: ``(-1)²``)."""
    out, last = [], 0
    for m in NAME.finditer(template):
        piece = names.get(m.group())
        if piece is None:
            continue
        before = template[: m.start()].rstrip()[-1:]
        after = template[m.end():].lstrip()[:1]
        alone = (not before or before in _OPENS) and (not after or after in _CLOSES)
        out += [template[last:m.start()], piece[0] if piece[1] or alone else nota.wrap(piece[0])]
        last = m.end()
    return "".join(out) + template[last:]
