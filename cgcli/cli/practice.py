"""``practice``: the backward pass at a prompt, one gradient at a time, with hints.

The graph is shown with its forward values; then the learner gives d(output)/d(node) for each
node in backward order (the ``grad`` questions of :func:`cgcli.exercises.questions`). A wrong
answer is followed by the correct one and the chain-rule step of that node, as ``explain``
prints it. On a terminal the prompts are Rich's; otherwise one answer is read per line, so a
script can drive it. End of input or Ctrl-C stops with the score so far.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..engine import Evaluation
from ..errors import CgcliError
from ..exercises import Answer, Question, Tolerance, Verdict, answer_of, judge, read_answer

#: Reads one answer after showing the prompt; raises EOFError or KeyboardInterrupt to stop.
Reader = Callable[[str], str]


@dataclass(frozen=True)
class Score:
    """How a session went."""

    right: int
    answered: int
    total: int

    @property
    def passed(self) -> bool:
        return self.right == self.total

    def text(self) -> str:
        """``score 5/7``, and how many were left when the session was stopped."""
        left = self.total - self.answered
        return f"score {self.right}/{self.total}" + (
            f" (stopped: {left} of {self.total} not answered)" if left else "")


def terminal_reader(console: Any) -> Reader:
    """Rich prompts: a typo is asked again, so an answer is never lost to it."""
    from rich.prompt import Prompt
    from rich.text import Text

    class Ask(Prompt):
        prompt_suffix = " "

    return lambda prompt: Ask.ask(Text(prompt, style="bold"), console=console)


def line_reader(console: Any, stream: Any = None) -> Reader:
    """One answer per line of ``stream`` (standard input), echoed after its prompt."""
    stream = sys.stdin if stream is None else stream

    def read(prompt: str) -> str:
        console.print(prompt, end=" ", style="bold", highlight=False, markup=False)
        console.file.flush()
        line = stream.readline()
        if not line:
            raise EOFError
        answer = line.rstrip("\r\n")
        console.print(answer, highlight=False, markup=False)
        return answer

    return read


def run(ev: Evaluation, asked: Sequence[Question], console: Any, read: Reader, *,
        interactive: bool, tol: Tolerance | None = None, precision: int = 4,
        title: str | None = None) -> Score:
    """Show the forward values, ask each ``grad`` question in order, and return the score."""
    from rich.text import Text

    from ..explanation import explain
    from ..render.exercises import RIGHT_STYLE, WRONG_STYLE
    from ..render.table import render as render_table

    out = ev.graph.output_name
    if title:
        console.print(Text(title, style="bold"))
    render_table(Evaluation(ev.graph, ev.values), console, precision=precision)
    steps = {step.node: step for step in explain(ev, "unicode", 3).steps}
    grads = [q for q in asked if q.kind == "grad"]
    console.print()
    console.print(Text(f"Backward pass, from ∂{out}/∂{out} = 1: give each gradient (a number, "
                       "or a vector like [0.44, 0.52]); it is judged at the precision you "
                       "write. " + ("Ctrl-D or Ctrl-C stops." if interactive
                                    else "One answer per line.")))
    right = answered = 0
    try:
        for q in grads:
            step = steps[q.node]
            answer = _answer(read, f"{step.lhs} =", console, interactive)
            answered += 1
            correct = answer_of(ev, q)
            verdict = None if answer is None else judge(answer, correct, tol)
            if verdict is not None and verdict.right:
                right += 1
                console.print(Text("  right", style=RIGHT_STYLE))
            else:
                _show_wrong(console, step, correct, answer, verdict, precision)
    except (EOFError, KeyboardInterrupt):
        console.print()
    score = Score(right, answered, len(grads))
    console.print(Text(score.text(), style=RIGHT_STYLE if score.passed else WRONG_STYLE))
    return score


def _answer(read: Reader, prompt: str, console: Any, interactive: bool) -> Answer | None:
    """Read one answer. On a terminal an empty line or a typo is asked again; from a script a
    line that is not a number is a wrong answer (None), so its lines stay in step."""
    from rich.text import Text

    while True:
        text = read(prompt)
        if interactive and not text.strip():
            continue
        try:
            return read_answer(text, "the answer")
        except CgcliError as exc:
            console.print(Text("  " + exc.message, style="dim"), soft_wrap=True)
            if not interactive:
                return None


def _show_wrong(console: Any, step: Any, correct: Any, answer: Answer | None,
                verdict: Verdict | None, precision: int) -> None:
    """The correct value (one digit more than the answer claims), why, and the hint."""
    from rich.text import Text

    from ..numbers import fmt_value
    from ..render.exercises import WRONG_STYLE, shown_digits
    from ..render.table import GRAD_STYLE

    digits = precision if answer is None else shown_digits(answer, correct, precision)
    line = Text("  wrong: ", style=WRONG_STYLE)
    line.append(f"{step.lhs} = ")
    line.append(fmt_value(correct, digits), style=GRAD_STYLE)
    console.print(line, soft_wrap=True)
    if verdict is not None and verdict.reason:
        console.print(Text(f"  {verdict.reason}", style="dim"), soft_wrap=True)
    for hint in _hint(step):
        console.print(Text("  " + hint, style="dim"), soft_wrap=True)


def _hint(step: Any) -> list[str]:
    """The chain-rule step of a node as ``explain`` prints it: each branch, the sum, and the
    role of each gate it goes through."""
    lines = []
    if len(step.terms) > 1:
        lines += [" = ".join((*t.stages, t.result)) for t in step.terms]
    lines.append(step.text())
    lines += [t.role for t in step.terms if t.role]
    return lines
