"""Exercise output: ``grad --expect`` reports (table, JSON, raw) and quizzes (text, LaTeX)."""

from __future__ import annotations

import json
import math
import shlex
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..engine import Evaluation
from ..exercises import Answer, Check, Exercise, Question, answer_of
from ..numbers import fmt_scalar, fmt_value, json_value

RIGHT_STYLE, WRONG_STYLE = "bold green", "bold red"


def shown_digits(answer: Answer, correct: Any, precision: int) -> int:
    """Significant digits to show the correct value with: ``precision``, or one digit more
    than the answer claims (a learner who writes 0.19662 sees 0.196612)."""
    mag = np.abs(np.asarray(correct, dtype=np.float64))
    halves = answer.half_units.ravel()
    digits = precision
    for half, c in zip(halves, mag.ravel() if mag.size == halves.size else
                       np.full(halves.size, mag.max(initial=0)), strict=True):
        if half == 0:
            digits = max(digits, 10)  # an exact answer: show what 9 digits decide
        elif math.isfinite(c) and c > 0:
            decimals = round(-math.log10(2 * half))
            digits = max(digits, math.floor(math.log10(c)) + 2 + decimals)
    return min(digits, 17)


def _what(ev: Evaluation, check: Check) -> str:
    return "value" if check.kind == "value" else f"∂{ev.graph.output_name}/∂{check.name}"


def _why(check: Check) -> str:
    """Why a wrong answer is wrong, beyond its numbers: a shape, or which elements."""
    v = check.verdict
    if v.reason:
        return v.reason
    if v.wrong and len(v.wrong) < np.size(check.correct):
        where = ", ".join("[" + ", ".join(map(str, idx)) + "]" for idx in v.wrong[:6])
        more = " …" if len(v.wrong) > 6 else ""
        return f"{len(v.wrong)} of {np.size(check.correct)} elements wrong: {where}{more}"
    return ""


def checks_table(ev: Evaluation, checks: Sequence[Check], console: Any, precision: int) -> None:
    """One row per check (name, what, answer, correct value, result), then a summary."""
    from .table import box_lines
    from .text import write_lines

    rows = []
    for c in checks:
        right = c.verdict.right
        correct = fmt_value(c.correct, shown_digits(c.answer, c.correct, precision),
                            multiline=True)
        rows.append([[(c.name, "bold")], [(_what(ev, c), "")], [(c.answer.text, "")],
                     [(correct, "")],
                     [("right" if right else "wrong", RIGHT_STYLE if right else WRONG_STYLE)]])
    header = ["name", "checks", "answer", "correct", "result"]
    lines = [[(ev.graph.one_line(), "bold")]]
    width = console.width if console.color_system is not None else None
    lines += box_lines(header, rows, [False, False, True, True, False], width)
    for c in checks:
        why = _why(c) if not c.verdict.right else ""
        if why:
            lines.append([(f"{c.name}: {why}", "dim")])
    n_right = sum(c.verdict.right for c in checks)
    summary = (f"all {len(checks)} right" if n_right == len(checks)
               else f"{n_right} of {len(checks)} right")
    lines.append([(summary, RIGHT_STYLE if n_right == len(checks) else WRONG_STYLE)])
    write_lines(console, lines)


def checks_document(ev: Evaluation, checks: Sequence[Check]) -> dict:
    """``{"expression", "inputs", "checks", "right", "total", "passed"}`` for ``--json``."""
    items = []
    for c in checks:
        v = c.verdict
        items.append({
            "name": c.name, "kind": c.kind, "answer": c.answer.text,
            "answer_value": json_value(c.answer.value), "correct": json_value(c.correct),
            "tolerance": None if v.allowed is None else json_value(v.allowed),
            "right": v.right, "wrong_elements": [list(idx) for idx in v.wrong],
            "reason": v.reason or None,
        })
    n_right = sum(c.verdict.right for c in checks)
    return {"expression": ev.graph.source,
            "inputs": {k: json_value(v) for k, v in ev.inputs.items()},
            "checks": items, "right": n_right, "total": len(checks),
            "passed": n_right == len(checks)}


def pretty_json(doc: Any) -> str:
    """JSON that reads well and stays short: a key a line, a list of objects an object a
    line, everything else compact (strict: no NaN literals)."""
    dump = json.JSONEncoder(ensure_ascii=False, allow_nan=False).encode
    if isinstance(doc, list):
        return "[\n" + ",\n".join(_indent(pretty_json(d)) for d in doc) + "\n]"

    def value(v: Any) -> str:
        if isinstance(v, dict) and v:
            return "{\n" + ",\n".join(f"    {dump(k)}: {dump(x)}" for k, x in v.items()) + "\n  }"
        if isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            return "[\n" + ",\n".join(f"    {dump(x)}" for x in v) + "\n  ]"
        return dump(v)

    return "{\n" + ",\n".join(f"  {dump(k)}: {value(v)}" for k, v in doc.items()) + "\n}"


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


def checks_raw(checks: Sequence[Check]) -> str:
    """``ok`` or ``wrong``, one line per check."""
    return "".join("ok\n" if c.verdict.right else "wrong\n" for c in checks)


# --- quizzes --------------------------------------------------------------------------------

def _at_line(ex: Exercise) -> str:
    return ", ".join(f"{name} = {json.dumps(v)}" for name, v in ex.at.items())


def _asked(ex: Exercise, q: Question) -> str:
    return q.name if q.kind == "value" else f"∂{ex.output}/∂{q.name}"


def quiz_text(exercises: Sequence[Exercise], answers: bool) -> str:
    """The exercises as plain text: expression, point, numbered questions (and the key)."""
    out = []
    for n, ex in enumerate(exercises, 1):
        count = f" {n} of {len(exercises)}" if len(exercises) > 1 else ""
        out.append(f"Exercise{count} · level {ex.level} · seed {ex.seed}")
        out.append(f"  {ex.expression}")
        out.append(f"  at {_at_line(ex)}")
        key = ex.key() if answers else {}
        for kind, title in (("value", "Forward pass: the value of each node."),
                            ("grad", "Backward pass: the gradient of each node, from the "
                                     f"output back (∂{ex.output}/∂{ex.output} = 1).")):
            out.append(title)
            for q in ex.questions:
                if q.kind == kind:
                    shown = fmt_value(key[q.id]) if answers else "?"
                    out.append(f"  {q.id:>3}. {_asked(ex, q)} = {shown}")
        at = " ".join(f"--at {shlex.quote(f'{k}={ex.at_text(k)}')}" for k in ex.at)
        out.append(f"Check:    cgcli grad {shlex.quote(ex.expression)} {at} "
                   "--expect-value NAME=VALUE --expect NAME=GRADIENT")
        out.append(f"Practise: cgcli practice --seed {ex.seed} --level {ex.level}")
        out.append("")
    return "\n".join(out)


def _tex_number(x: float) -> str:
    return fmt_scalar(x).replace("inf", r"\infty")


def tex_value(v: Any) -> str:
    """A number, or a vector (as a column) or matrix as ``bmatrix``."""
    a = np.asarray(v, dtype=np.float64)
    if a.ndim == 0:
        return _tex_number(float(a))
    rows = a.reshape(-1, 1) if a.ndim == 1 else a
    body = r" \\ ".join(" & ".join(_tex_number(float(x)) for x in row) for row in rows)
    return rf"\begin{{bmatrix}}{body}\end{{bmatrix}}"


def quiz_latex(exercises: Sequence[Exercise], answers: bool) -> str:
    """A worksheet fragment (needs amsmath): each exercise with empty answer lines, or
    with the key."""
    from ..exercises import tex_name

    out = ["% cgcli quiz worksheet; needs \\usepackage{amsmath}"]
    for n, ex in enumerate(exercises, 1):
        count = f" {n}" if len(exercises) > 1 else ""
        out.append(rf"\subsection*{{Exercise{count} (level {ex.level}, seed {ex.seed})}}")
        out.append(f"% {ex.expression}")
        out.append(r"Compute the forward and the backward pass of")
        out.append(r"\[")
        out.append(r"\begin{aligned}")
        out += [rf"  {tex_name(name)} &= {rhs} \\" for name, rhs in ex.latex]
        out[-1] = out[-1].removesuffix(r" \\")
        out.append(r"\end{aligned}")
        at = r",\quad ".join(f"{tex_name(k)} = {tex_value(v)}" for k, v in ex.at.items())
        out.append(rf"\qquad\text{{at}}\quad {at}.")
        out.append(r"\]")
        out.append(r"\begin{enumerate}")
        out_name = tex_name(ex.output)
        for q in ex.questions:
            name = tex_name(q.name)
            lhs = (name if q.kind == "value"
                   else rf"\dfrac{{\partial {out_name}}}{{\partial {name}}}")
            if answers:
                out.append(rf"  \item ${lhs} = {tex_value(answer_of(ex.evaluation, q))}$")
            else:
                wide = "5cm" if np.ndim(answer_of(ex.evaluation, q)) else "3cm"
                out.append(rf"  \item ${lhs} =$ \underline{{\hspace{{{wide}}}}}")
        out.append(r"\end{enumerate}")
    return "\n".join(out) + "\n"
