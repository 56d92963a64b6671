"""The tree: the graph from the output down to its leaves, values green, gradients red.

Drawn line by line with an explicit stack (no recursion, so any depth is safe). A node used
twice is expanded once; later uses point back to it. Levels past ``max_depth`` are folded,
with a line that says how many were left out, rather than silently dropped.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..engine import Evaluation
from ..graphs import no_gc
from ..numbers import fmt_value, shape_note
from .table import GRAD_STYLE, VALUE_STYLE
from .text import Segment, write_lines


def _depths(ev: Evaluation) -> list[int]:
    """Height of each node: the longest path down to a leaf."""
    h = [0] * len(ev.graph.nodes)
    for node in ev.graph.nodes:
        if node.inputs:
            h[node.id] = 1 + max(h[j] for j in node.inputs)
    return h


def render(ev: Evaluation, console: Any, *, precision: int = 4,
           max_depth: int | None = None) -> None:
    """Print the tree to ``console``; ``max_depth`` defaults to what fits its width."""
    if max_depth is None:
        max_depth = max(6, (console.width - 40) // 4)
    with no_gc():
        write_lines(console, _lines(ev, precision, max_depth))


def _lines(ev: Evaluation, precision: int, max_depth: int) -> Iterator[list[Segment]]:
    graph, grads = ev.graph, ev.grads
    height = _depths(ev)
    expanded: set[int] = set()
    # Stack entries: (node id, prefix for its line, prefix for its children, depth).
    stack = [(graph.output, "", "", 0)]
    while stack:
        i, lead, child_lead, depth = stack.pop()
        node = graph.nodes[i]
        line: list[Segment] = [(lead, "dim"), (graph.label(i), "bold" if node.name else "")]
        if node.name and node.inputs:
            line.append((" = " + graph.text(i, 30), "dim"))
        line.append((f"  {node.op.name}", "cyan"))
        shape = shape_note(ev.values[i])
        if shape:
            line.append((" " + shape, "dim"))
        line.append(("  " + fmt_value(ev.values[i], precision), VALUE_STYLE))
        if grads is not None and grads[i] is not None:
            line.append(("  ∂ " + fmt_value(grads[i], precision), GRAD_STYLE))
        if node.inputs and i in expanded:
            line.append(("  (shown above)", "dim italic"))
            yield line
            continue
        yield line
        if not node.inputs:
            continue
        expanded.add(i)
        if depth + 1 > max_depth:
            yield [(f"{child_lead}└── … {height[i]} more level{'s' * (height[i] != 1)} below "
                    f"(--max-depth {depth + height[i]} shows them)", "dim")]
            continue
        kids = node.inputs
        for k in range(len(kids) - 1, -1, -1):  # pushed in reverse: printed in order
            last = k == len(kids) - 1
            stack.append((kids[k], child_lead + ("└── " if last else "├── "),
                          child_lead + ("    " if last else "│   "), depth + 1))
