"""The graph as the lecture draws it, before it becomes DOT or Mermaid text.

Gates are nodes labelled by their op (and their bound name); variables and constants are
leaves; each edge carries the forward value that flows along it and the gradient that flows
back (that branch's share of d(output)/d(input)). Array values are abbreviated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..chain import edges
from ..graphs import Graph
from ..numbers import abbreviate, fmt_scalar, shape_note
from ..ops import CONST, VAR

#: Arrays with more elements than this show the ends of each axis only.
FULL_SIZE = 6


@dataclass(frozen=True)
class PictureNode:
    id: int
    kind: str  #: "gate", "var" or "const"
    text: str  #: the op's symbol or name; a variable's name; a constant's value
    name: str  #: a gate's bound name, or ""
    shape: str  #: "(2, 3)" for an array, else ""
    used: bool  #: does the output depend on it?
    #: A variable that feeds several gates: its whole gradient, the sum of its edges'.
    total: str = ""


@dataclass(frozen=True)
class PictureEdge:
    source: int  #: node id, or -1 for the output's own wire
    target: int  #: node id, or -1: the output's wire ends nowhere
    value: str  #: forward value, "" without one
    grad: str  #: gradient flowing back, "" without one


@dataclass(frozen=True)
class Picture:
    nodes: tuple[PictureNode, ...]
    edges: tuple[PictureEdge, ...]
    output: int
    output_name: str


def brief(v: Any, precision: int) -> str:
    """A value short enough for an edge label: small arrays in full, others by their ends."""
    edge = 3 if np.size(v) <= FULL_SIZE else 1
    return abbreviate(v, lambda x: fmt_scalar(x, precision), edge)


def gate_text(graph: Graph, i: int) -> str:
    """What a gate shows: its operator (+, *, @, ...) or its function's name."""
    op = graph.nodes[i].op
    if op.name == "id":
        return "="
    if op.name == "array":
        return "[ ]"
    return op.symbol if op.symbol and len(op.params) == 2 else op.name


#: Said when the edges carry values but no gradients.
VALUES_ONLY = "the output is not a scalar, so the edges show values only (no gradients)"


def edge_numbers(graph: Graph, inputs: dict[str, Any]) -> tuple[list | None, list | None]:
    """(values, gradients) for the edges: values when ``inputs`` are given (or the graph has
    no variables), gradients too when the output is a scalar; None where there are none."""
    from ..engine import backward, forward

    if not (inputs or not graph.variables):
        return None, None
    values = forward(graph, inputs)
    if np.ndim(values[graph.output]) != 0:
        return values, None
    return values, backward(graph, values)


def picture(graph: Graph, values: list | None = None, grads: list | None = None,
            precision: int = 3) -> Picture:
    """The picture of ``graph``; with ``values`` (and ``grads``) the edges carry numbers."""
    used = graph.ancestors()
    fan_out = [0] * len(graph)
    for node in graph.nodes:
        for j in node.inputs:
            fan_out[j] += 1
    nodes = []
    for node in graph.nodes:
        if node.op is VAR:
            kind, text = "var", node.name or ""
        elif node.op is CONST:
            kind, text = "const", node.name or brief(node.value, precision)
        else:
            kind, text = "gate", gate_text(graph, node.id)
        shape = shape_note(values[node.id] if values is not None else node.value)
        total = brief(grads[node.id], precision) if (
            kind == "var" and grads is not None and fan_out[node.id] > 1) else ""
        nodes.append(PictureNode(node.id, kind, text,
                                 node.name if kind == "gate" and node.name else "", shape,
                                 used[node.id], total))

    def value(i: int) -> str:
        return brief(values[i], precision) if values is not None else ""

    flows: dict[tuple[int, int], str] = {}
    if values is not None and grads is not None:
        for e in edges(graph, values, grads):
            if e.gradient is not None:
                flows[(e.gate, e.slot)] = brief(e.gradient, precision)
    lines = []
    for node in graph.nodes:
        for slot, j in enumerate(node.inputs):
            constant = graph.nodes[j].op is CONST
            lines.append(PictureEdge(j, node.id, "" if constant else value(j),
                                     flows.get((node.id, slot), "")))
    out = graph.output
    root_grad = brief(grads[out], precision) if grads is not None else ""
    lines.append(PictureEdge(out, -1, value(out), root_grad))
    return Picture(tuple(nodes), tuple(lines), out, graph.nodes[out].name or "f")

