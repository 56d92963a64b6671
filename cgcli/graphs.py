"""The computational graph: nodes in topological order, with names and source positions.

The parser appends a node at each reduction and children reduce before their parents, so
``Graph.nodes`` is already in topological order: the forward pass is one loop over it and the
backward pass one loop over it reversed. Node ids are list indices and follow the source.
"""

from __future__ import annotations

import bisect
import gc
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .errors import LimitError
from .ops import VAR, Op

_COMMENT = re.compile(r"#[^\n]*")
#: The largest graph cgcli builds (about 1 GB with its values): a million terms like x*y fit.
MAX_NODES = 2_500_000


@contextmanager
def no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while a pass allocates many small objects.

    Building a graph or running a pass creates no reference cycles, yet every full collection
    would walk all the objects already made: a cost that grows with the graph, which made a
    100,000-node pass 2.5x slower than ten 10,000-node ones in a busy process.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def written_name(name: str) -> str:
    """The name as the language writes it: ``c`` for every version (``c#1``, ``c#2``) of c."""
    return name.partition("#")[0]


class Node:
    """One step of computation: an op applied to earlier nodes (by id)."""

    __slots__ = ("end", "id", "inputs", "name", "op", "pos", "start", "value")

    def __init__(self, id: int, op: Op, inputs: tuple[int, ...], start: int, end: int,
                 pos: int, name: str | None = None, value: Any = None) -> None:
        self.id = id
        self.op = op
        self.inputs = inputs
        self.name = name  # variable name, constant name or let-bound name
        self.value = value  # the value of a constant node
        self.start, self.end = start, end  # span of the sub-expression in the source
        self.pos = pos  # where errors about this node point (its operator or name)

    def __repr__(self) -> str:
        return f"Node({self.id}, {self.op.name}, inputs={self.inputs}, name={self.name!r})"


class Graph:
    """Nodes in topological order, the source they came from, and its named parts."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.nodes: list[Node] = []
        self.variables: dict[str, int] = {}  # free variable name -> node id
        #: let-bound name -> node id. A name bound again (``c = c + 1``, ``c += 1``) is a new
        #: node each time (static single assignment): its earlier versions are ``c#1``,
        #: ``c#2``, ... and the last keeps the plain name, as the program's end sees it.
        self.bindings: dict[str, int] = {}
        self.output: int = -1
        self._arrays: tuple[int, bool] = (0, False)  # (nodes scanned, found an array maker)
        #: Things worth knowing about the text that are not errors (a constant's name bound
        #: to a value), for the caller to show.
        self.notes: list[str] = []
        #: (start, end, node id) of each use of an earlier version of a rebound name, in
        #: source order: :meth:`text` writes them by the version's name (``c#1 + 1``).
        self.renamed: list[tuple[int, int, int]] = []
        #: The text of nodes that no span of the source writes: an update ``c += x`` as
        #: ``c#1 + x``, the exponent of ``x²`` as ``2``.
        self.shown: dict[int, str] = {}
        #: Where a newline ends a statement (a newline inside brackets or after an operator
        #: continues it): :meth:`one_line` writes ``; `` there.
        self.line_ends: list[int] = []

    def add(self, op: Op, inputs: tuple[int, ...], start: int, end: int, pos: int | None = None,
            name: str | None = None, value: Any = None) -> int:
        """Append a node and return its id."""
        i = len(self.nodes)
        if i >= MAX_NODES:
            raise LimitError(f"the expression needs more than {MAX_NODES:,} nodes, cgcli's "
                             "limit; split it, or use --batch for many points",
                             source=self.source, pos=start)
        self.nodes.append(Node(i, op, inputs, start, end, start if pos is None else pos,
                               name, value))
        return i

    def __len__(self) -> int:
        return len(self.nodes)

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes)

    def __getitem__(self, i: int) -> Node:
        return self.nodes[i]

    def text(self, i: int, width: int | None = None) -> str:
        """The node's sub-expression as written, whitespace folded, cut to ``width``.

        Uses of an earlier version of a rebound name are written by the version's name, and
        an update ``c += x`` as what it computes, ``c#1 + x``.
        """
        node = self.nodes[i]
        if i in self.shown:
            s, cut = self.shown[i], False
        else:
            end = node.end if width is None else min(node.end, node.start + 4 * width + 8)
            s = self.written(node.start, end)
            if "  " in s or "\n" in s or "\t" in s or "\r" in s or "\f" in s or "\v" in s:
                s = " ".join(s.split())  # fold whitespace (a node's span never ends in a space)
            cut = end < node.end
        if width is not None and (len(s) > width or cut):
            s = s[: width - 1].rstrip() + "…"
        return s

    def one_line(self, limit: int = 400) -> str:
        """The source (its first ``limit`` characters) on one line: statements on separate
        lines joined by ``; `` (without their comments), other whitespace folded."""
        text = self.source[:limit]
        cuts = [p for p in self.line_ends if p < limit]
        if not cuts:
            return " ".join(text.split())
        parts = [text[a + 1:b] for a, b in zip([-1, *cuts], [*cuts, len(text)], strict=True)]
        parts = [" ".join(_COMMENT.sub("", p).split()).rstrip("; ") for p in parts]
        return "; ".join(p for p in parts if p)

    def written(self, start: int, end: int) -> str:
        """The source from ``start`` to ``end``, uses of earlier versions by their names."""
        renamed = self.renamed
        if not renamed:
            return self.source[start:end]
        k = bisect.bisect_left(renamed, (start,))
        parts, at = [], start
        while k < len(renamed) and renamed[k][0] < end:
            s, e, j = renamed[k]
            parts += [self.source[at:s], self.nodes[j].name or ""]
            at, k = e, k + 1
        parts.append(self.source[at:end] if at < end else "")
        return "".join(parts)

    @property
    def output_name(self) -> str:
        """What to call the output in ∂out/∂x: its bound name, else f."""
        return self.nodes[self.output].name or "f"

    def label(self, i: int, width: int | None = 40) -> str:
        """What a reader calls the node: its name if it has one, else its sub-expression."""
        node = self.nodes[i]
        return node.name if node.name is not None else self.text(i, width)

    def makes_arrays(self) -> bool:
        """Does a literal or an op of the graph make an array, whatever the inputs are?"""
        seen, found = self._arrays
        if not found and seen < len(self.nodes):
            from .ops import CONST, MAKES_ARRAYS

            for node in self.nodes[seen:]:
                op = node.op
                if (op is CONST and type(node.value) is not float) or op.name in MAKES_ARRAYS:
                    found = True
                    break
            self._arrays = (len(self.nodes), found)
        return found

    def requires_grad(self) -> list[bool]:
        """For each node: does it depend on a variable? Constants get no gradient."""
        rg = [False] * len(self.nodes)
        for node in self.nodes:
            if node.op is VAR:
                rg[node.id] = True
            else:
                for j in node.inputs:
                    if rg[j]:
                        rg[node.id] = True
                        break
        return rg

    def ancestors(self, root: int | None = None) -> list[bool]:
        """For each node: does ``root`` (default: the output) depend on it?"""
        root = self.output if root is None else root
        mark = [False] * len(self.nodes)
        mark[root] = True
        for node in reversed(self.nodes[: root + 1]):
            if mark[node.id]:
                for j in node.inputs:
                    mark[j] = True
        return mark
