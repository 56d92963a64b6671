"""HTML for notebooks: the node table of ``grad`` and ``eval`` as a real ``<table>``.

The cells are the terminal table's own (:mod:`cgcli.render.table` builds them as styled
segments); each Rich style becomes inline CSS, values green and gradients red as in the
lecture's figures, in the picture's colours, which read on light and dark themes alike.
Inline styles only: notebook viewers drop ``<style>`` blocks. Every text is escaped.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence

from ..engine import Evaluation, wrt_ids
from ..numbers import fmt_value
from .dot import GRAD_COLOR, VALUE_COLOR
from .table import GRAD_STYLE, VALUE_STYLE, _rows
from .text import Segment

#: Rich style words -> CSS.
CSS = {
    VALUE_STYLE: f"color:{VALUE_COLOR}",
    GRAD_STYLE: f"color:{GRAD_COLOR}",
    "cyan": "color:#1b7c83",
    "bold": "font-weight:bold",
    "dim": "opacity:0.65",
    "italic": "font-style:italic",
}
#: Nodes shown by default: a notebook cell holding a table of a million rows freezes the
#: browser; ``max_rows=None`` shows every node.
MAX_ROWS = 500
_MONO = "font-family:var(--jp-code-font-family,monospace)"  # JupyterLab's code font


def style(name: str) -> str:
    """The inline CSS of a Rich style such as ``"bold red"`` (unknown words are dropped)."""
    return ";".join(CSS[w] for w in name.split() if w in CSS)


def segments(cell: Iterable[Segment]) -> str:
    """Styled segments as escaped HTML spans."""
    out = []
    for text, name in cell:
        css = style(name)
        t = html.escape(text)
        out.append(f'<span style="{css}">{t}</span>' if css else t)
    return "".join(out)


def table(ev: Evaluation, *, precision: int = 4, wrt: Sequence[str] | None = None,
          max_rows: int | None = MAX_ROWS) -> str:
    """The node table (and, after a backward pass, the variables' gradients) as HTML."""
    graph, grads = ev.graph, ev.grads
    out = graph.output_name
    nodes = graph.nodes
    shown = nodes if max_rows is None or len(nodes) <= max_rows else nodes[:max_rows]
    header = ["id", "op", "node", "value"] + ([f"∂{out}/∂node"] if grads is not None else [])
    right = [True, False, False, True, True]
    align = {True: "text-align:right", False: "text-align:left"}  # white-space is inherited
    title = " ".join(graph.source[:400].split())  # as the terminal's: at most 200 characters
    title = title if len(title) <= 200 else title[:199] + "…"
    parts = [f'<div class="cgcli-grad" style="{_MONO}">',
             f'<div style="font-weight:bold">{html.escape(title)}</div>',
             '<table style="border-collapse:separate;border-spacing:0.9em 0.1em;white-space:pre;'
             'margin:0.2em -0.9em">',  # spacing between columns, the text flush left
             "<thead><tr>" + "".join(
                 f'<th style="{align[r]}">{html.escape(h)}</th>'
                 for h, r in zip(header, right, strict=False)) + "</tr></thead>", "<tbody>"]
    for row in _rows(ev, precision, shown):
        parts.append("<tr>" + "".join(
            f'<td style="{align[r]};vertical-align:top">{segments(c)}</td>'
            for c, r in zip(row, right, strict=False)) + "</tr>")
    parts.append("</tbody></table>")
    if len(shown) < len(nodes):
        parts.append(f'<div style="{style("dim")}">… {len(nodes) - len(shown):,} more nodes '
                     f"not shown (max_rows={len(nodes)} shows all)</div>")
    if grads is not None:
        for name, i in wrt_ids(graph, wrt):
            parts.append("<div>" + segments([(f"∂{out}/∂{name} = ", "bold"),
                                             (fmt_value(grads[i], precision), GRAD_STYLE)])
                         + "</div>")
    parts.append("</div>")
    return "\n".join(parts)
