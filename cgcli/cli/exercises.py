"""Commands for exercises: ``quiz`` and ``practice``, and the body of ``grad --expect``.

Exit codes (errors.py): 1 when an answer is wrong (``grad --expect``, ``practice``), 2 invalid
input (an unknown ``--expect`` NAME too), 0 and 70 as everywhere. Library calls and Rich are
imported inside the commands: this module is loaded whenever a command outside
``grad``/``eval``/``functions``/``fmt`` may run, and by ``grad --expect``.

(No ``from __future__ import annotations``: Typer reads the option types from the
annotations.)
"""

import sys
from enum import Enum
from typing import Annotated, Any

import typer

from .common import (
    check_finite,
    console,
    expression_command,
    kink_notes,
    load,
    set_color,
    set_convention,
    user_errors,
)
from .options import At, AtFile, ColorOpt, ConventionOpt, TextPrecision, Tol

app = typer.Typer()

EPILOG = """\
Exit codes: 0 success (practice: every answer right) · 1 a wrong or missing answer
(practice) · 2 invalid input · 70 internal error · 130 interrupted (Ctrl-C; practice
stops with the score so far instead).
"""


class QuizFormat(str, Enum):
    text = "text"
    json = "json"
    jsonl = "jsonl"
    latex = "latex"


def _level_option(default: Any) -> Any:
    return typer.Option("--level", min=1, max=4, metavar="L", show_default=default is not None,
                        help="1 add and mul gates · 2 max, exp, 1/x, sigmoid · 3 a neuron "
                             "with two inputs and an activation · 4 vectors and matrices.")



@app.command(epilog=EPILOG)
def quiz(
    seed: Annotated[int | None, typer.Option(
        "--seed", min=0, metavar="N", show_default=False,
        help="The exercise's number: the same seed gives the same exercise everywhere "
             "(default: a random one, shown in the output).")] = None,
    level: Annotated[int, _level_option(1)] = 1,
    count: Annotated[int, typer.Option(
        "--count", min=1, max=10000, metavar="K",
        help="K exercises, with seeds N, N+1, ..., N+K-1.")] = 1,
    answers: Annotated[bool, typer.Option(
        "--answers", help="Add the answer key.")] = False,
    format: Annotated[QuizFormat, typer.Option(
        "--format", case_sensitive=False,
        help="text; json (one object, a list with --count); jsonl (one object a line); "
             "latex (a worksheet fragment, needs amsmath).")] = QuizFormat.text,
    convention: ConventionOpt = None,
) -> None:
    """An exercise to work by hand: an expression, a point, and questions.

    The questions ask for the value of each named node (forward pass), then for the
    gradient of the output with respect to each node, from the output back (backward
    pass). Check answers with `cgcli grad ... --expect NAME=VALUE` or practise the same
    exercise at a prompt with `cgcli practice --seed N --level L`.

    \b
    Examples:
      cgcli quiz --seed 7
      cgcli quiz --seed 7 --level 2 --answers
      cgcli quiz --seed 1 --level 4 --format json --answers | jq .answers
      cgcli quiz --seed 100 --count 10 --level 3 --format latex > worksheet.tex
    """
    import json as jsonlib

    set_convention(convention)

    from ..exercises import generate
    from ..render.exercises import pretty_json, quiz_latex, quiz_text

    if seed is None:
        import secrets

        seed = secrets.randbelow(1_000_000)
    exercises = [generate(seed + k, level) for k in range(count)]
    if format is QuizFormat.text:
        sys.stdout.write(quiz_text(exercises, answers))
    elif format is QuizFormat.latex:
        sys.stdout.write(quiz_latex(exercises, answers))
    elif format is QuizFormat.jsonl:
        for ex in exercises:
            sys.stdout.write(jsonlib.dumps(ex.document(answers), allow_nan=False) + "\n")
    else:
        docs = [ex.document(answers) for ex in exercises]
        sys.stdout.write(pretty_json(docs[0] if count == 1 else docs) + "\n")

@expression_command(app, EPILOG)
def practice(
    expr: Annotated[str | None, typer.Argument(
        metavar="[EXPR]", show_default=False,
        help="Your own expression (with --at) instead of a generated exercise.")] = None,
    at: At = None,
    at_file: AtFile = None,
    seed: Annotated[int | None, typer.Option(
        "--seed", min=0, metavar="N", show_default=False,
        help="Practise the exercise of `cgcli quiz --seed N --level L` (level 1 unless "
             "--level is given).")] = None,
    level: Annotated[int | None, _level_option(None)] = None,
    tol: Tol = None,
    precision: TextPrecision = 4,
    convention: ConventionOpt = None,
    color: ColorOpt = None,
) -> None:
    """Work the backward pass at a prompt: give each node's gradient, get hints.

    Shows the graph with its forward values, then asks for d(output)/d(node) at each
    node, from the output back. After a wrong answer it shows the correct one and the
    chain-rule step of that node (as `cgcli explain` prints it). Ends with the score.
    On a terminal it prompts; otherwise it reads one answer per line, so a script can
    drive it. End of input or Ctrl-C stops with the score so far.

    \b
    Examples:
      cgcli practice --seed 7 --level 2
      cgcli practice "q = x + y; f = q * z" --at x=-2 --at y=5 --at z=-4
      printf '%s\\n' -1 -1 -1 -1 3 | cgcli practice --seed 7
    """
    set_convention(convention)
    set_color(color)
    run_practice(expr, at, seed, level, tol, precision, at_file)


def run_practice(expr: str | None, at: list[str] | None, seed: int | None, level: int | None,
                 tol: str | None, precision: int, at_file: str | None = None) -> None:
    """The body of ``practice``: set up the exercise, run the session, exit 0 or 1."""
    from ..errors import EXIT_FAILED, ValueInputError

    with user_errors():
        from ..engine import differentiate
        from ..exercises import generate, parse_tolerance, questions

        tolerance = parse_tolerance(tol) if tol is not None else None
        if (expr is None) == (seed is None):
            raise ValueInputError("practise a generated exercise (--seed N [--level L]) or "
                                  "your own expression (EXPR --at NAME=VALUE ...), not both"
                                  if expr is not None else
                                  "give --seed N for a generated exercise, or an expression "
                                  "with --at NAME=VALUE")
        if seed is not None:
            if at or at_file is not None:
                raise ValueInputError(f"{'--at' if at else '--at-file'} applies to your own "
                                      "expression, not to --seed")
            ex = generate(seed, level or 1)
            ev, asked = ex.evaluation, ex.questions
            title = f"Exercise · level {ex.level} · seed {ex.seed}"
        else:
            if level is not None:
                raise ValueInputError("--level applies to --seed, not to your own expression")
            if expr == "-":
                raise ValueInputError("practice reads the answers from standard input: give "
                                      "the expression as text or as @FILE")
            graph, values = load(expr, at, at_file)  # type: ignore[arg-type]
            ev = differentiate(graph, values)
            asked = tuple(questions(graph))
            title = None
        if not any(q.kind == "grad" for q in asked):
            raise ValueInputError("nothing to practise: the output depends on no other node")
    from .practice import line_reader, run, terminal_reader

    out = console()
    interactive = sys.stdin.isatty()
    read = terminal_reader(out) if interactive else line_reader(out)
    score = run(ev, asked, out, read, interactive=interactive, tol=tolerance,
                precision=precision, title=title)
    if not score.passed:
        raise typer.Exit(EXIT_FAILED)


def run_checks(expr: str, at: list[str] | None, expect: list[str] | None,
               expect_value: list[str] | None, tol: str | None, as_json: bool, raw: bool,
               precision: int, strict: bool, at_file: str | None = None) -> None:
    """The body of ``grad --expect``: judge each answer, report, exit 0 or 1."""
    from ..errors import EXIT_FAILED, ValueInputError

    with user_errors(as_json):
        from ..engine import differentiate
        from ..exercises import check_all, parse_tolerance

        if not expect and not expect_value:
            raise ValueInputError(f"{'--raw' if raw else '--tol'} applies to answers: give "
                                  "--expect NAME=VALUE or --expect-value NAME=VALUE")
        tolerance = parse_tolerance(tol) if tol is not None else None
        graph, values = load(expr, at, at_file)
        ev = differentiate(graph, values)
        check_finite(ev, strict)
        kink_notes(graph, ev.values)
        checks = check_all(ev, expect_value or [], expect or [], tolerance)
    from ..render import exercises as out

    if raw:
        sys.stdout.write(out.checks_raw(checks))
    elif as_json:
        sys.stdout.write(out.pretty_json(out.checks_document(ev, checks)) + "\n")
    else:
        out.checks_table(ev, checks, console(), precision)
    if not all(c.verdict.right for c in checks):
        raise typer.Exit(EXIT_FAILED)
