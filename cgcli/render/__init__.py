"""Renderers: each turns an :class:`~cgcli.engine.Evaluation` into text of one format.

Only the renderer a command needs is imported, so the JSON path never loads Rich.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..engine import Evaluation


def wrt_ids(ev: Evaluation, wrt: Sequence[str] | None) -> list[tuple[str, int]]:
    """(name, node id) of the gradients to report: all variables, or the ``--wrt`` names
    (variables or let-bound names, checked by the caller)."""
    graph = ev.graph
    if not wrt:
        return list(graph.variables.items())
    return [(name, graph.variables[name] if name in graph.variables else graph.bindings[name])
            for name in wrt]


def output_name(ev: Evaluation) -> str:
    """What to call the output in ∂out/∂x: its bound name, else f."""
    return ev.graph.nodes[ev.graph.output].name or "f"
