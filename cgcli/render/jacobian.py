"""``jacobian`` output: one table per variable, output elements down, input elements across."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from ..engine import Evaluation
from ..numbers import fmt_scalar, json_value

#: Tables show at most this many rows and columns, the ends of each around an ellipsis.
MAX_ROWS, MAX_COLUMNS = 40, 12


def _names(name: str, shape: tuple[int, ...]) -> list[str]:
    if not shape:
        return [name]
    return [f"{name}[{', '.join(map(str, k))}]" for k in np.ndindex(*shape)]


def _cut(n: int, most: int) -> list[int | None]:
    """Indices to show out of n: all, or both ends around None (an ellipsis)."""
    if n <= most:
        return list(range(n))
    half = most // 2
    return [*range(half), None, *range(n - half, n)]


def table(ev: Evaluation, jacobians: dict[str, np.ndarray], out_name: str, console: Any,
          precision: int = 4) -> None:
    """Print d(out)/d(name) for each name as a matrix: rows = output elements."""
    from rich.table import Table
    from rich.text import Text

    from .table import GRAD_STYLE

    out_shape = np.shape(ev.values[ev.graph.output])
    rows = _names(out_name, out_shape)
    for name, jac in jacobians.items():
        in_shape = jac.shape[len(out_shape):]
        cols = _names(name, in_shape)
        flat = jac.reshape(len(rows), len(cols))
        console.print(Text(f"∂{out_name}/∂{name}: shape {tuple(jac.shape)} = output "
                           f"{tuple(out_shape)} + input {tuple(in_shape)}", style="bold"),
                      soft_wrap=True)
        t = Table(header_style="bold")
        t.add_column("", style="bold", no_wrap=True)
        # As many columns as fit the console's width, at most MAX_COLUMNS.
        cell = max(max(map(len, cols)), precision + 3) + 3
        fit = (console.width - max(map(len, rows)) - 4) // cell
        show_cols = _cut(len(cols), max(2, min(MAX_COLUMNS, fit)))
        for c in show_cols:
            t.add_column("…" if c is None else cols[c], justify="right", no_wrap=True)
        for r in _cut(len(rows), MAX_ROWS):
            if r is None:
                t.add_row("…", *["…"] * len(show_cols))
                continue
            cells = ["…" if c is None else Text(fmt_scalar(float(flat[r, c]), precision),
                                               style=GRAD_STYLE) for c in show_cols]
            t.add_row(rows[r], *cells)
        console.print(t)
        if len(rows) > MAX_ROWS or None in show_cols:
            console.print(Text(f"{len(rows)}×{len(cols)} entries; --json has them all",
                               style="dim"))


def document(ev: Evaluation, jacobians: dict[str, np.ndarray]) -> dict:
    """``{"expression", "inputs", "value", "output_shape", "jacobians": {name: {"shape",
    "value"}}}``; each value is nested lists of shape output shape + input shape."""
    return {
        "expression": ev.graph.source,
        "inputs": {k: json_value(v) for k, v in ev.inputs.items()},
        "value": json_value(ev.value),
        "output_shape": list(np.shape(ev.value)),
        "jacobians": {name: {"shape": list(jac.shape), "value": json_value(jac)}
                      for name, jac in jacobians.items()},
    }


def render_json(ev: Evaluation, jacobians: dict[str, np.ndarray]) -> str:
    return json.dumps(document(ev, jacobians), indent=2, ensure_ascii=False, allow_nan=False)
