"""Options shared by several commands, as ``Annotated`` types Typer reads from signatures.

A command module takes what it needs from here (and :mod:`cgcli.cli.common`); options that
only one command has stay in that command's module. No ``from __future__ import
annotations``: Typer reads these types at run time.
"""

import math
from enum import Enum
from typing import Annotated

import typer


class Format(str, Enum):
    table = "table"
    tree = "tree"
    json = "json"
    jsonl = "jsonl"  # with --batch
    csv = "csv"  # with --batch


class ReportFormat(str, Enum):
    table = "table"
    json = "json"


class Color(str, Enum):
    auto = "auto"
    always = "always"
    never = "never"


class Convention(str, Enum):
    torch = "torch"
    jax = "jax"


class BatchFormat(str, Enum):
    csv = "csv"
    jsonl = "jsonl"


ColorOpt = Annotated[Color | None, typer.Option(
    "--color", case_sensitive=False, show_default=False,
    help="Colour: auto (only on a terminal, never with NO_COLOR), always, never.")]
ConventionOpt = Annotated[Convention | None, typer.Option(
    "--convention", case_sensitive=False, show_default=False,
    help="Gradients at kinks as PyTorch (the default) or JAX gives them: they differ for abs "
         "and leaky_relu at 0, pow at 0 and norm at 0; a note on stderr names a kink where the "
         "two differ.")]
QuietOpt = Annotated[bool, typer.Option(
    "--quiet",
    help="No progress display and no notes on stderr (errors still show).")]
Expr = Annotated[str, typer.Argument(
    metavar="EXPR", show_default=False,
    help='The expression, e.g. "1/(1+exp(-x))" or "q = x + y; f = q * z"; '
         "- reads it from standard input, @FILE from a file.")]
At = Annotated[list[str] | None, typer.Option(
    "--at", metavar="NAME=VALUE", show_default=False,
    help="A variable's value, a constant expression: x=1, x=pi/4, w=[0.2,0.4], "
         "W=[[1,2],[3,4]]. Repeat for each variable.")]
AtFile = Annotated[str | None, typer.Option(
    "--at-file", metavar="FILE", show_default=False,
    help='Values from a JSON object, e.g. {"x": 1, "W": [[1, 2], [3, 4]], "a": "pi/4"}; '
         "--at options override it.")]
Wrt = Annotated[list[str] | None, typer.Option(
    "--wrt", metavar="NAME", show_default=False,
    help="Only the gradient with respect to NAME (a variable or let-bound name; c#1, c#2 "
         "for the earlier versions of a name bound again). Repeatable.")]
FormatOpt = Annotated[Format, typer.Option(
    "--format", case_sensitive=False, help="Output format.")]
ReportFormatOpt = Annotated[ReportFormat, typer.Option(
    "--format", case_sensitive=False, help="Output format.")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Same as --format json.")]
#: ``--json`` of a command that has no ``--format``.
JsonOnly = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
Precision = Annotated[int, typer.Option(
    "--precision", min=1, max=17, metavar="N",
    help="Significant digits of the numbers shown (JSON always has full precision).")]
#: ``--precision`` of a command that prints no JSON.
TextPrecision = Annotated[int, typer.Option(
    "--precision", min=1, max=17, metavar="N",
    help="Significant digits of the numbers shown.")]
Strict = Annotated[bool, typer.Option(
    "--strict", help="Fail (exit 3) when a value or gradient is nan or inf, instead of a note.")]
Tol = Annotated[str | None, typer.Option(
    "--tol", metavar="TOL", show_default=False,
    help="Judge the answers within TOL instead of at their written precision: 0.01 is "
         "absolute (|answer - correct| <= 0.01), 1% is relative (<= 1% of |correct|).")]


def finite(value: float | None) -> float | None:
    """Callback of a float option: nan and inf are no tolerance, rate or bound (exit 2)."""
    if value is not None and not math.isfinite(value):
        raise typer.BadParameter(f"{value} is not a finite number")
    return value
