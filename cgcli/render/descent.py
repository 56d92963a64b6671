"""``descend`` output: a table of the steps, each step as JSON, the closing line."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ..descent import Step
from ..numbers import fmt_scalar, fmt_value, json_value
from .table import GRAD_STYLE, VALUE_STYLE, box_lines
from .text import Segment


def step_document(step: Step) -> dict:
    """``{"step", "at", "value", "gradients", "gradient_norm"}`` (nan and inf as strings)."""
    return {"step": step.step,
            "at": {name: json_value(v) for name, v in step.at.items()},
            "value": json_value(step.value),
            "gradients": {name: json_value(g) for name, g in step.gradients.items()},
            "gradient_norm": json_value(step.norm)}


def step_line(step: Step) -> str:
    """One step as a line of JSON (``--format jsonl``)."""
    return json.dumps(step_document(step), ensure_ascii=False, allow_nan=False)


def document(expression: str, steps: Sequence[Step], converged: bool, settings: dict) -> str:
    """The whole run as one JSON document: the settings, the steps and ``converged``."""
    head = json.JSONEncoder(ensure_ascii=False, allow_nan=False).encode
    body = ",\n    ".join(step_line(s) for s in steps)
    parts = [f'  "expression": {head(expression)}',
             *(f"  {head(k)}: {head(v)}" for k, v in settings.items()),
             f'  "steps": [\n    {body}\n  ]', f'  "converged": {head(converged)}']
    return "{\n" + ",\n".join(parts) + "\n}"


def table(steps: Sequence[Step], names: Sequence[str], output: str, title: str,
          precision: int) -> list[list[Segment]]:
    """The steps as a table: step, each descended variable, f and ‖∇f‖; a title above."""
    header = ["step", *names, output, f"‖∇{output}‖"]
    right = [True] * len(header)
    rows = []
    for s in steps:
        rows.append([[(str(s.step), "dim")],
                     *[[(fmt_value(s.at[n], precision, multiline=True), "")] for n in names],
                     [(fmt_value(s.value, precision), VALUE_STYLE)],
                     [(fmt_scalar(s.norm, precision), GRAD_STYLE)]])
    return [[(title, "bold")], *box_lines(header, rows, right, None)]


def summary(last: Step, names: Sequence[str], output: str, tol: float, converged: bool,
            precision: int) -> list[Segment]:
    """The closing line: where the run ended, and whether it converged."""
    where = ", ".join(f"{n} = {fmt_value(last.at[n], precision)}" for n in names)
    n = last.step
    text = (f"after {n} step{'s' * (n != 1)}: {where}, {output} = "
            f"{fmt_value(last.value, precision)}, ‖∇{output}‖ = {fmt_scalar(last.norm, 3)}")
    if converged:
        text += f" ≤ {tol:g}: converged" if tol > 0 else ": a stationary point, converged"
    elif tol > 0:
        text += f" > {tol:g}: not converged (more --steps, or a larger --lr?)"
    return [(text, "")]


def settings_text(lr: float, momentum: float, fixed: dict[str, Any]) -> str:
    """``lr 0.1, momentum 0.9; x = 2 held fixed``."""
    text = f"lr {lr:g}" + (f", momentum {momentum:g}" if momentum else "")
    if fixed:
        text += "; " + ", ".join(f"{n} = {fmt_value(v, 4)}" for n, v in fixed.items()) + \
            " held fixed"
    return text
