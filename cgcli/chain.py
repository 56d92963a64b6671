"""The chain rule edge by edge: what reverse mode sends back along each input of each gate.

The engine's backward pass adds up, for every node, the gradients that come back from the
gates it feeds. ``explain`` and the graph pictures show those parts one by one: one
:class:`Edge` per input of every gate the output depends on, in backward order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .engine import unbroadcast
from .graphs import Graph


@dataclass(frozen=True)
class Edge:
    """One input of one gate: the gradient that flows back along it."""

    gate: int  #: node id of the gate (the consumer)
    slot: int  #: which of the gate's inputs, 0-based
    node: int  #: node id of the input
    upstream: Any  #: d(root)/d(gate)
    #: The gate's vector-Jacobian product for this input, summed back to the input's shape:
    #: this branch's share of d(root)/d(node). None for inputs that depend on no variable.
    gradient: Any
    #: True when the input was broadcast by the gate, so its share is a sum over the copies.
    broadcast: bool


def edges(graph: Graph, values: list, grads: list, root: int | None = None) -> list[Edge]:
    """Every edge into a gate that ``root`` (default: the output) depends on, gates in
    backward order (``grads`` from :func:`cgcli.engine.backward` with the same root)."""
    root = graph.output if root is None else root
    reaches = graph.ancestors(root)
    rg = graph.requires_grad()
    out: list[Edge] = []
    with np.errstate(all="ignore"):
        for gate in reversed(graph.nodes[: root + 1]):
            g = grads[gate.id]
            if not reaches[gate.id] or not gate.inputs or g is None:
                continue
            parts = gate.op.vjp(g, values[gate.id], *[values[j] for j in gate.inputs])
            for slot, (j, part) in enumerate(zip(gate.inputs, parts, strict=False)):
                if not rg[j]:
                    out.append(Edge(gate.id, slot, j, g, None, False))
                    continue
                shape = np.shape(values[j])
                wide = np.shape(part) != shape
                out.append(Edge(gate.id, slot, j, g, unbroadcast(part, shape) if wide else part,
                                wide and np.size(part) != np.size(values[j])))
    return out
