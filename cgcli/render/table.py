"""The table: one row per node in evaluation order, then the variables' gradients."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..engine import Evaluation
from . import output_name, wrt_ids
from .numbers import fmt_value, shape_note

VALUE_STYLE, GRAD_STYLE = "green", "red"  # as in the lecture's figures


def render(ev: Evaluation, console: Console, *, precision: int = 4,
           wrt: Sequence[str] | None = None, max_rows: int | None = None) -> None:
    """Print the node table (and, after a backward pass, the gradients) to ``console``."""
    graph, grads = ev.graph, ev.grads
    out = output_name(ev)
    table = Table(title=Text(graph.source if len(graph.source) <= 200 else
                             graph.source[:199] + "…", style="bold"),
                  title_justify="left", header_style="bold")
    table.add_column("id", justify="right", style="dim")
    table.add_column("op", style="cyan")
    table.add_column("node")
    table.add_column("value", justify="right", style=VALUE_STYLE)
    if grads is not None:
        table.add_column(f"∂{out}/∂node", justify="right", style=GRAD_STYLE)
    nodes = graph.nodes
    shown = nodes if max_rows is None or len(nodes) <= max_rows else nodes[:max_rows]
    for node in shown:
        label = Text(graph.label(node.id), style="bold" if node.name else "")
        if node.name and node.op.name not in ("var", "const"):
            label.append(" = " + graph.text(node.id, 30), style="dim")
        shape = shape_note(ev.values[node.id])
        if shape:
            label.append(" " + shape, style="dim")
        row = [str(node.id), node.op.name, label,
               fmt_value(ev.values[node.id], precision, multiline=True)]
        if grads is not None:
            g = grads[node.id]
            row.append(Text("·", style="dim") if g is None else fmt_value(g, precision, True))
        table.add_row(*row)
    console.print(table)
    if len(shown) < len(nodes):
        console.print(f"… {len(nodes) - len(shown):,} more nodes not shown "
                      f"(--max-rows {len(nodes)} shows all)", style="dim")
    if grads is not None:
        items = wrt_ids(ev, wrt)
        if items:
            console.print()
            for name, i in items:
                line = Text(f"∂{out}/∂{name} = ", style="bold")
                line.append(fmt_value(grads[i], precision), style=GRAD_STYLE)
                console.print(line)
