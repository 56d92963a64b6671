"""``diff`` and ``hessian`` output: formulas as lines, Hessians as tables, both as JSON."""

from __future__ import annotations

import json
from typing import Any

from ..derivatives import Derivatives, Hessian
from ..numbers import fmt_scalar, fmt_value, json_value

_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def partial(out: str, name: str, order: int) -> str:
    """``∂f/∂x``, ``∂²f/∂x²``, ``∂³L/∂w³``."""
    if order == 1:
        return f"∂{out}/∂{name}"
    n = str(order).translate(_SUPERSCRIPT)
    return f"∂{n}{out}/∂{name}{n}"


def lines(result: Derivatives, precision: int = 4) -> list[str]:
    """One line per derivative, ``∂f/∂x = 3*x^2``, with its value where every variable it
    uses was given: ``∂f/∂x = 3*x^2 = 12``; a vector or matrix value on lines of its own. A
    formula that uses the expression's let-bound names lists them after it (``where P = W @
    x``); ``--raw`` prints it as a program of its own, the bindings first."""
    out = []
    for f in result.formulas:
        *bindings, formula = f.text.split("; ")  # the printer's statements
        line = f"{partial(result.output, f.name, f.order)} = {formula}"
        if f.value is not None:
            text = fmt_value(f.value, precision, multiline=True)
            line += f" = {text}" if "\n" not in text else "\n  = " + text.replace(
                "\n", "\n    ")
        if bindings:
            line += "\n  where " + ", ".join(bindings)
        out.append(line)
    if result.inputs and any(f.value is not None for f in result.formulas):
        out.append("at " + ", ".join(f"{k} = {fmt_value(v, precision)}"
                                    for k, v in result.inputs.items()))
    return out


def document(result: Derivatives) -> dict:
    """``{"expression", "order", "derivatives": {name: text}}``; with values given, also
    ``"inputs"`` and ``"values": {name: value}`` (full precision)."""
    doc: dict[str, Any] = {"expression": result.expression, "output": result.output,
                           "order": result.order,
                           "derivatives": {f.name: f.text for f in result.formulas}}
    if result.inputs:
        doc["inputs"] = {k: json_value(v) for k, v in result.inputs.items()}
        doc["values"] = {f.name: json_value(f.value) for f in result.formulas
                         if f.value is not None}
    return doc


def render_json(result: Derivatives) -> str:
    return json.dumps(document(result), ensure_ascii=False, allow_nan=False, indent=2)


# --- Hessians -----------------------------------------------------------------------------

#: Hessian tables show at most this many rows and columns, the ends around an ellipsis.
MAX_ROWS, MAX_COLUMNS = 40, 10


def _cut(n: int, most: int) -> list[int | None]:
    if n <= most:
        return list(range(n))
    half = most // 2
    return [*range(half), None, *range(n - half, n)]


def hessian_table(h: Hessian, console: Any, precision: int = 4) -> None:
    """The matrix with the flat variable names as row and column heads."""
    from rich.table import Table
    from rich.text import Text

    from .table import GRAD_STYLE

    n = len(h.names)
    console.print(Text(f"∂²{h.output}/∂(row)∂(column): {n}×{n}; vectors and matrices "
                       "flattened row-major",
                       style="bold"), soft_wrap=True)
    t = Table(header_style="bold")
    t.add_column("", style="bold", no_wrap=True)
    cell = max(max(map(len, h.names)), precision + 3) + 3
    fit = (console.width - max(map(len, h.names)) - 4) // cell
    cols = _cut(n, max(2, min(MAX_COLUMNS, fit)))
    for c in cols:
        t.add_column("…" if c is None else h.names[c], justify="right", no_wrap=True)
    for r in _cut(n, MAX_ROWS):
        if r is None:
            t.add_row("…", *["…"] * len(cols))
            continue
        t.add_row(h.names[r], *["…" if c is None else Text(
            fmt_scalar(float(h.matrix[r, c]), precision), style=GRAD_STYLE) for c in cols])
    console.print(t)
    if n > MAX_ROWS or None in cols:
        console.print(Text(f"{n}×{n} entries; --json has them all", style="dim"))


def hessian_document(h: Hessian) -> dict:
    """``{"expression", "inputs", "value", "variables", "gradient", "hessian"}``: the flat
    variable names (W[0,1]) in row-major order, and the matrix as nested lists."""
    return {"expression": h.expression, "inputs": {k: json_value(v) for k, v in h.inputs.items()},
            "value": json_value(h.value), "variables": list(h.names),
            "gradient": json_value(h.gradient), "hessian": json_value(h.matrix)}


def hessian_json(h: Hessian) -> str:
    return json.dumps(hessian_document(h), ensure_ascii=False, allow_nan=False, indent=2)
