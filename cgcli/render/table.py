"""The table: one row per node in evaluation order, then the variables' gradients.

Drawn by hand in Rich's heavy-head box style rather than with ``rich.table.Table``: a Rich
table measures every cell of every row (about a millisecond per row), while this one is
linear and cheap, so 100,000 nodes print in about a second.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from ..engine import Evaluation, wrt_ids
from ..graphs import no_gc
from ..numbers import fmt_value, shape_note
from .text import Segment, write_lines

VALUE_STYLE, GRAD_STYLE = "green", "red"  # as in the lecture's figures
_BORDER = "dim"

Cell = list[Segment]


def _cell_width(cell: Cell) -> int:
    return max(len(line) for line in "".join(t for t, _ in cell).split("\n"))


def _split(cell: Cell) -> list[Cell]:
    """A cell's segments, one list per line of text."""
    lines: list[Cell] = [[]]
    for text, style in cell:
        parts = text.split("\n")
        for k, part in enumerate(parts):
            if k:
                lines.append([])
            if part:
                lines[-1].append((part, style))
    return lines


def _rows(ev: Evaluation, precision: int, nodes: Sequence[Any]) -> list[list[Cell]]:
    graph, grads = ev.graph, ev.grads
    rows = []
    for node in nodes:
        i = node.id
        label: Cell = [(graph.label(i), "bold" if node.name else "")]
        if node.name and node.op.name not in ("var", "const"):
            label.append((" = " + graph.text(i, 30), "dim"))
        shape = shape_note(ev.values[i])
        if shape:
            label.append((" " + shape, "dim"))
        row = [[(str(i), "dim")], [(node.op.name, "cyan")], label,
               [(fmt_value(ev.values[i], precision, multiline=True), VALUE_STYLE)]]
        if grads is not None:
            g = grads[i]
            row.append([("·", "dim")] if g is None else
                       [(fmt_value(g, precision, multiline=True), GRAD_STYLE)])
        rows.append(row)
    return rows


def box_lines(header: list[str], rows: list[list[Cell]], right: list[bool],
              width: int | None) -> Iterator[list[Segment]]:
    """A table in Rich's heavy-head box style, as styled lines; ``right`` aligns columns
    right; ``width`` (a terminal's) narrows the third column to fit."""
    widths = [len(h) for h in header]
    for row in rows:
        for k, cell in enumerate(row):
            widths[k] = max(widths[k], _cell_width(cell))
    if width is not None:  # on a terminal: narrow the node column to fit, down to 12
        excess = sum(widths) + 3 * len(widths) + 1 - width
        if excess > 0:
            widths[2] = max(12, widths[2] - excess)

    def rule(left: str, mid: str, right_: str, fill: str) -> list[Segment]:
        return [(left + mid.join(fill * (w + 2) for w in widths) + right_, _BORDER)]

    def fit(cell: Cell, w: int, align_right: bool) -> Cell:
        text = "".join(t for t, _ in cell)
        if len(text) > w:  # cut long labels with an ellipsis, keeping styles up to the cut
            out: Cell = []
            room = w - 1
            for t, s in cell:
                if room <= 0:
                    break
                out.append((t[:room], s))
                room -= len(t)
            return [*out, ("…", "dim")]
        pad = (" " * (w - len(text)), "")
        return [pad, *cell] if align_right else [*cell, pad]

    yield rule("┏", "┳", "┓", "━")
    head: list[Segment] = [("┃", _BORDER)]
    for k, h in enumerate(header):
        head += [(" ", ""), *fit([(h, "bold")], widths[k], right[k]), (" ┃", _BORDER)]
    yield head
    yield rule("┡", "╇", "┩", "━")
    for row in rows:
        split = [_split(cell) for cell in row]
        for n in range(max(len(s) for s in split)):
            line: list[Segment] = [("│", _BORDER)]
            for k, cell_lines in enumerate(split):
                cell = cell_lines[n] if n < len(cell_lines) else []
                line += [(" ", ""), *fit(cell, widths[k], right[k]), (" │", _BORDER)]
            yield line
    yield rule("└", "┴", "┘", "─")


def render(ev: Evaluation, console: Any, *, precision: int = 4,
           wrt: Sequence[str] | None = None, max_rows: int | None = None) -> None:
    """Print the node table (and, after a backward pass, the gradients) to ``console``."""
    graph, grads = ev.graph, ev.grads
    out = ev.graph.output_name
    nodes = graph.nodes
    shown = nodes if max_rows is None or len(nodes) <= max_rows else nodes[:max_rows]
    header = ["id", "op", "node", "value"] + ([f"∂{out}/∂node"] if grads is not None else [])
    right = [True, False, False, True, True]
    title = graph.one_line()
    lines: list[list[Segment]] = [[(title if len(title) <= 200 else title[:199] + "…", "bold")]]
    width = console.width if console.color_system is not None else None
    with no_gc():  # several lists per row: see graph.no_gc
        lines += box_lines(header, _rows(ev, precision, shown), right, width)
    if len(shown) < len(nodes):
        lines.append([(f"… {len(nodes) - len(shown):,} more nodes not shown "
                       f"(--max-rows {len(nodes)} shows all)", "dim")])
    if grads is not None:
        items = wrt_ids(ev.graph, wrt)
        if items:
            lines.append([])
            for name, i in items:
                lines.append([(f"∂{out}/∂{name} = ", "bold"),
                              (fmt_value(grads[i], precision), GRAD_STYLE)])
    write_lines(console, lines)
