"""The computational graph: nodes in topological order, with names and source positions.

The parser appends a node at each reduction and children reduce before their parents, so
``Graph.nodes`` is already in topological order: the forward pass is one loop over it and the
backward pass one loop over it reversed. Node ids are list indices and follow the source.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .errors import LimitError
from .ops import VAR, Op

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
        self.bindings: dict[str, int] = {}  # let-bound name -> node id
        self.output: int = -1
        self._arrays: tuple[int, bool] = (0, False)  # (nodes scanned, found an array maker)

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
        """The node's sub-expression as written, whitespace folded, cut to ``width``."""
        node = self.nodes[i]
        end = node.end if width is None else min(node.end, node.start + 4 * width + 8)
        s = self.source[node.start:end]
        if "  " in s or "\n" in s or "\t" in s or "\r" in s or "\f" in s or "\v" in s:
            s = " ".join(s.split())  # fold whitespace (a node's span never ends in a space)
        if width is not None and (len(s) > width or end < node.end):
            s = s[: width - 1].rstrip() + "…"
        return s

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
