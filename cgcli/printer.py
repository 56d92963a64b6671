"""Canonical text of a graph: ``parse(to_text(graph))`` rebuilds ``graph`` node for node.

The text is the graph written back in the language: one statement per let-bound name
(``q = x + y; f = q * z``), operators with the fewest parentheses the grammar needs (read
from each :class:`~cgcli.ops.Op`'s ``symbol`` and ``precedence``), functions called by their
registry name with positional arguments (keywords only where arguments were written out of
order, so that node ids stay the same), constants as ``repr`` of their float64 value (the
shortest text that reads back to the same bits; ``1e999`` for inf), vectors and matrices as
literals, ``pi`` and ``e`` by name. Parsing it gives the same nodes with the same ids, ops,
inputs, names and constant bits; only source positions differ. Printing is a loop with an
explicit stack: graphs 100,000 deep print fine."""

from __future__ import annotations

import json
import math
import re
from typing import Any

import numpy as np

from .graphs import Graph, Node, written_name
from .ops import CONST, CONSTANTS, IDENTITY, NEG, POW, STACK, VAR

#: Precedence of atoms: names, numbers, calls, brackets; they never need parentheses.
ATOM = 100
#: The grammar's unary level: unary minus binds looser than ^ and tighter than * / @, and
#: the right operand of ^ is read at this level (``2^-1``, ``2^3^2`` is ``2^(3^2)``).
UNARY = NEG.precedence
#: A whole number's ".0" (2.0 reads as 2): left out, as in ``x^2``.
_POINT_ZERO = re.compile(r"\.0(?=[,\]])")
#: How ``1e999`` and ``-1e999`` print: float64 has no literal for inf, but they overflow to it.
INF = "1e999"


def literal(value: Any) -> str:
    """A float64 scalar or array as a literal that parses back to the same bits.

    nan has no literal in the language (and a parsed graph has no nan constant):
    ``ValueError``.
    """
    if np.ndim(value) == 0:
        x = float(value)
        if math.isnan(x):
            raise ValueError("a nan constant cannot be written as a literal")
        if math.isinf(x):
            return INF if x > 0 else "-" + INF
        text = repr(x)
        return text[:-2] if text.endswith(".0") else text
    array = np.asarray(value, dtype=np.float64)
    if array.size == 0:
        raise ValueError(f"an empty array (shape {array.shape}) cannot be written as a literal")
    if np.isnan(array).any():
        raise ValueError("a nan constant cannot be written as a literal")
    # json writes each float with repr (shortest round trip) and is fast for big arrays.
    return _POINT_ZERO.sub("", json.dumps(array.tolist())).replace("Infinity", INF)


def literal_precedence(value: Any) -> int:
    """A negative number (``-2.5``, ``-0.0``) is read as a unary minus; anything else is an
    atom."""
    if np.ndim(value) == 0 and math.copysign(1.0, float(value)) < 0:
        return UNARY
    return ATOM


class _Printer:
    """Writes nodes of one graph; names stand for variables and let-bound nodes.

    A rebound name is written as the language writes it (every version of c is ``c``; in
    statement order each use means the version bound last), or with ``versions`` as the
    output shows it (``c#1``).
    """

    def __init__(self, graph: Graph, versions: bool = False) -> None:
        self.graph = graph
        self.nodes = graph.nodes
        self.bound = {i: name if versions else written_name(name)
                      for name, i in graph.bindings.items()}

    def named(self, i: int) -> str | None:
        """The name a use of node ``i`` is written as (variables, let-bound nodes), or None."""
        node = self.nodes[i]
        if i in self.bound:
            return self.bound[i]
        return node.name if node.op is VAR else None

    def expression(self, root: int) -> str:
        """Node ``root`` written out in full (its inputs by name where they have one)."""
        out: list[str] = []
        stack: list = [(root, 0)]
        while stack:
            item = stack.pop()
            if isinstance(item, str):
                out.append(item)
                continue
            i, need = item
            name = self.named(i) if i != root else None
            if name is not None:
                out.append(name)
                continue
            parts, precedence = self.parts(self.nodes[i])
            if precedence < need:
                out.append("(")
                stack.append(")")
            stack.extend(reversed(parts))
        return "".join(out)

    def parts(self, node: Node) -> tuple[list, int]:
        """What node ``node`` is written as, one level deep, and its precedence."""
        op, ins = node.op, node.inputs
        if op is VAR:
            return [node.name], ATOM
        if op is CONST:
            name = node.name
            if (name in CONSTANTS and node.id not in self.bound and np.ndim(node.value) == 0
                    and float(node.value) == CONSTANTS[name]):
                return [name], ATOM
            return [literal(node.value)], literal_precedence(node.value)
        if op is IDENTITY:  # a second name for a named node: `r = q`
            return [(ins[0], 0)], ATOM
        if op is STACK:
            return ["[", *_joined([(j, 0) for j in ins]), "]"], ATOM
        order = self.keyword_order(node) if op.callable else None
        if order is not None:  # keywords in the order they were written: pow(b=y, a=x+1)
            args = [[f"{op.params[k]}=", (ins[k], 0)] for k in order]
            return [op.name, "(", *_joined(args), ")"], ATOM
        if op.symbol is not None and len(ins) == 2:
            p = op.precedence
            if op is POW:  # right-associative; its left operand is an atom
                return [(ins[0], p + 1), "^", (ins[1], UNARY)], p
            return [(ins[0], p), f" {op.symbol} ", (ins[1], p + 1)], p
        if op.symbol is not None and len(ins) == 1:
            return [op.symbol, (ins[0], op.precedence)], op.precedence
        if op.callable:
            return [op.name, "(", *_joined([(j, 0) for j in ins]), ")"], ATOM
        raise ValueError(f"node {node.id}: op '{op.name}' has no written form")

    def keyword_order(self, node: Node) -> list[int] | None:
        """The order of a call's arguments as they were written, when it is not the
        parameters' order (keywords, as in ``pow(b=y*2, a=x+1)``); None when positional
        arguments give the same node ids.

        The nodes an argument creates form one block of ids, in the order the arguments
        were written; a block is known by its top node, or by a variable first written there.
        A variable first written in another argument must come after that argument.
        """
        ins = node.inputs
        if node.op.variadic or len(ins) < 2:
            return None
        nodes = self.nodes
        inline = [j for j in ins if self.named(j) is None and nodes[j].op is not CONST]
        keys: list[float | None] = []
        for j in ins:
            n = nodes[j]
            key: float | None = None  # creates no node, or only when the call is built
            if j in inline:
                key = j
            elif n.op is VAR and node.start <= n.start < node.end:
                key = j  # the variable's first use is this argument ...
                for k in inline:
                    if nodes[k].start <= n.start < nodes[k].end:
                        key = k + 0.5  # ... or it is inside argument k: come after it
            keys.append(key)
        given = [k for k in keys if k is not None]
        if given == sorted(given):
            return None
        return sorted(range(len(ins)), key=lambda k: -1 if keys[k] is None else keys[k])


def _joined(args: list) -> list:
    """``args`` with ", " between them (an argument may be a list of parts)."""
    out: list = []
    for n, arg in enumerate(args):
        if n:
            out.append(", ")
        if isinstance(arg, list):
            out.extend(arg)
        else:
            out.append(arg)
    return out


def to_text(graph: Graph, exact: bool = True) -> str:
    """The canonical text of ``graph``: parsing it gives the same graph, node for node.

    Its :func:`statements`, separated by ``; ``. ``exact=False`` writes the same function
    without keeping node ids (a graph built by a program rather than parsed, such as a
    derivative): variables are never statements of their own.
    """
    return "; ".join(statements(graph, exact))


def expression_text(graph: Graph, i: int) -> str:
    """Node ``i`` in canonical ASCII text, names as the output shows them (``c#1 + 1``)."""
    return _Printer(graph, versions=True).expression(i)


def statements(graph: Graph, exact: bool = True) -> list[str]:
    """The statements of the canonical text of ``graph`` (``exact``: see :func:`to_text`).

    In node order: each let-bound name (``q = x + y``; a name bound again, ``c = c + 1``,
    once per version), each node nothing uses that has no name (an expression statement, or
    the output), each variable first written as a statement of its own (``x; y + x``), and,
    if the output is a name bound earlier, that name last. ``ValueError`` for what the
    language cannot write (a nan constant).
    """
    nodes = graph.nodes
    if not nodes or not 0 <= graph.output < len(nodes):
        raise ValueError("the graph has no output")
    printer = _Printer(graph)
    used = [False] * len(nodes)
    for node in nodes:
        for j in node.inputs:
            used[j] = True
    # The nodes that end a statement: let-bound ones, ones nothing uses (an expression
    # statement, or the output), and variables first written as a statement of their own.
    roots = [i in printer.bound or not used[i] for i in range(len(nodes))]
    following = -1  # the next statement's node
    for i in range(len(nodes) - 1, -1, -1):
        node = nodes[i]
        if (exact and not roots[i] and node.op is VAR and following >= 0
                and not nodes[following].start <= node.start < nodes[following].end):
            roots[i] = True  # written before, outside, the statement of its first use
        if roots[i]:
            following = i
    lines: list[str] = []
    last = -1
    for node in nodes:
        i = node.id
        if not roots[i]:
            continue
        if i in printer.bound:
            lines.append(f"{printer.bound[i]} = {printer.expression(i)}")
        else:
            lines.append(printer.expression(i))
        last = i
    if last != graph.output:
        name = printer.named(graph.output)
        if name is None:
            raise ValueError(f"the output, node {graph.output}, is used by a later node but "
                             "has no name")
        lines.append(name)
    return lines
