"""``explain`` output: the chain-rule steps as text (Rich), Markdown, LaTeX or JSON.

A gate's role (add distributes, mul swaps, ...) is shown the first time a step goes through
that gate; JSON has it on every branch.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ..explanation import Explanation, Step, Term
from ..notation import notation
from ..numbers import json_value


def _inputs_text(ex: Explanation) -> str:
    nota = notation(ex.notation if ex.notation != "latex" else "unicode")
    return ", ".join(f"{name} = {nota.value(v, ex.precision + 1, trim=True)[0]}"
                     for name, v in ex.inputs.items())


def _header(ex: Explanation) -> str:
    nota = notation(ex.notation if ex.notation != "latex" else "unicode")
    at = _inputs_text(ex)
    value = nota.value(ex.value, ex.precision)[0]
    return (f"Backward pass of {ex.output} = {value}" + (f" at {at}" if at else "")
            + ", one chain-rule step per node:")


def _shape(ex: Explanation, step: Step) -> str:
    if not step.shape:
        return ""
    return ("x" if ex.notation == "ascii" else "×").join(map(str, step.shape))


def _roles(step: Step, seen: set[int]) -> list[str]:
    """Roles of the gates this step goes through that were not named before."""
    roles = []
    for t in step.terms:
        if t.role and t.gate not in seen:
            seen.add(t.gate)
            roles.append(t.role)
    return roles


def _branch(t: Term) -> str:
    return " = ".join((*t.stages, t.result))


def text(ex: Explanation, console: Any) -> None:
    """Print the steps to a Rich ``console``: names bold, results red, roles dim. Plain text
    to a pipe; on a colour terminal long steps wrap rather than being cut."""
    from .table import GRAD_STYLE
    from .text import Segment, write_lines

    lines: list[list[Segment]] = [[(_header(ex), "bold")], [(ex.expression, "dim")], []]
    seen: set[int] = set()
    for step in ex.steps:
        roles = _roles(step, seen)
        shape = _shape(ex, step)
        if len(step.terms) > 1:
            lines += [[("    " + " = ".join(t.stages) + " = ", ""), (t.result, GRAD_STYLE)]
                      for t in step.terms]
        if len(step.terms) == 1:
            middle = step.terms[0].stages
        else:
            middle = (step.total,) if step.terms else ()
        lines.append([(step.lhs, "bold"), (" = " + "".join(s + " = " for s in middle), ""),
                      (step.result, GRAD_STYLE), (f"   shape {shape}" if shape else "", "dim")])
        lines += [[("    " + role, "dim italic")] for role in roles]
    lines += [[(f"{ex.output} does not depend on {name}: its gradient is 0", "dim")]
              for name in ex.unused]
    if console.color_system is None:
        write_lines(console, lines)
        return
    from rich.text import Text

    console.print(Text("\n").join(Text.assemble(*line) for line in lines), soft_wrap=True)


def _code(s: str) -> str:
    """``s`` as a Markdown code span, whatever backticks it holds."""
    ticks = "`" * (max((len(m) for m in re.findall(r"`+", s)), default=0) + 1)
    pad = " " if s.startswith("`") or s.endswith("`") else ""
    return f"{ticks}{pad}{s}{pad}{ticks}"


def markdown(ex: Explanation) -> str:
    """A numbered list of steps, formulas as code spans, roles in italics."""
    at = _inputs_text(ex)
    lines = [f"Backward pass of {_code(ex.expression)}" + (f" at {_code(at)}" if at else "")
             + f", output {_code(ex.output)}:", ""]
    seen: set[int] = set()
    for n, step in enumerate(ex.steps, 1):
        roles = _roles(step, seen)
        shape = _shape(ex, step)
        tail = "".join(f" — *{r}*" for r in roles)
        shape_note = f" — shape {shape}" if shape else ""
        if len(step.terms) > 1:
            lines.append(f"{n}. {_code(step.text())}{shape_note}, the sum of its branches:{tail}")
            lines += [f"   - {_code(_branch(t))}" for t in step.terms]
        else:
            lines.append(f"{n}. {_code(step.text())}{shape_note}{tail}")
    lines += [f"\n{_code(ex.output)} does not depend on {_code(name)}: its gradient is 0."
              for name in ex.unused]
    return "\n".join(lines) + "\n"


def latex(ex: Explanation) -> str:
    r"""An ``aligned`` block, one line per step (``\frac{\partial L}{\partial P} &= ...``)."""
    lines = [f"% cgcli explain: {line}" for line in ex.expression.splitlines()]
    lines.append(r"\begin{aligned}")
    seen: set[int] = set()
    for step in ex.steps:
        roles = "".join(r" \quad " + r for r in _roles(step, seen))
        if len(step.terms) > 1:
            lines += [rf"  &\quad {_branch(t)} \\" for t in step.terms]
        _, _, rhs = step.text().partition(" = ")
        lines.append(f"  {step.lhs} &= {rhs}{roles} \\\\")
    lines[-1] = lines[-1].removesuffix(" \\\\")
    lines.append(r"\end{aligned}")
    return "\n".join(lines) + "\n"


def display_math(ex: Explanation) -> str:
    """The ``aligned`` block (``ex`` in LaTeX notation) as display math for notebooks:
    ``$$ ... $$`` without the ``%`` comment lines."""
    lines = [ln for ln in latex(ex).splitlines() if not ln.startswith("%")]
    return "$$\n" + "\n".join(lines) + "\n$$"


def markdown_math(ex: Explanation) -> str:
    """Markdown for notebooks: the header in words over the typeset steps."""
    head = re.sub(r"([\\`*_\[\]<>#|])", r"\\\1", _header(ex))
    return f"{head}\n\n{display_math(ex)}\n"


def document(ex: Explanation) -> dict:
    """The steps as data: ``{"expression", "inputs", "output", "value", "steps", "unused"}``."""
    steps = []
    for step in ex.steps:
        steps.append({
            "node": step.node, "label": step.label, "op": step.op, "shape": list(step.shape),
            "value": json_value(step.value), "gradient": json_value(step.gradient),
            "text": step.text(),
            "branches": [{
                "gate": t.gate, "gate_label": t.gate_label, "input": t.slot, "param": t.param,
                "role": t.role, "formula": t.formula, "stages": list(t.stages),
                "upstream": json_value(t.upstream), "contribution": json_value(t.contribution),
                "broadcast": t.broadcast, "text": _branch(t),
            } for t in step.terms],
        })
    return {"expression": ex.expression,
            "inputs": {k: json_value(v) for k, v in ex.inputs.items()},
            "output": ex.output, "value": json_value(ex.value), "notation": ex.notation,
            "precision": ex.precision, "steps": steps, "unused": list(ex.unused)}


def render_json(ex: Explanation) -> str:
    """The JSON text (strict: non-finite numbers are strings)."""
    return json.dumps(document(ex), indent=2, ensure_ascii=ex.notation == "ascii",
                      allow_nan=False)
