"""Derivatives as formulas and second derivatives: ``diff`` and ``hessian``.

Exit codes (errors.py): 0 success, 2 invalid input (an unknown --wrt, --order 0, a
non-scalar output, a missing --at), 3 nan or inf with --strict, 70 an internal error.
SymPy (for ``diff``) and Rich are imported inside the commands: this module is loaded
whenever a command outside ``grad``/``eval``/``functions`` runs. (No ``from __future__
import annotations``: Typer reads the option types from the annotations.)
"""

import sys
from typing import Annotated

import typer

from ..errors import ValueInputError
from .common import (
    console,
    expression_command,
    load,
    note,
    numeric_fault,
    set_color,
    set_convention,
    user_errors,
)
from .options import (
    At,
    AtFile,
    ColorOpt,
    ConventionOpt,
    Expr,
    JsonFlag,
    JsonOnly,
    Precision,
    ReportFormat,
    ReportFormatOpt,
    Strict,
)
from .progress import phase

app = typer.Typer()

EPILOG = """\
Exit codes: 0 success · 2 invalid input (an unknown --wrt, --order 0, a non-scalar output for
hessian, a missing --at) · 3 a value is nan or inf (with --strict) · 70 internal error ·
130 interrupted (Ctrl-C).
"""

WrtOpt = Annotated[list[str] | None, typer.Option(
    "--wrt", metavar="NAME", show_default=False,
    help="Differentiate with respect to NAME (a variable or let-bound name); default: every "
         "variable. Repeatable.")]


@expression_command(app, EPILOG)
def diff(
    expr: Expr,
    wrt: WrtOpt = None,
    order: Annotated[int, typer.Option(
        "--order", metavar="N", help="The N-th derivative (N ≥ 2 needs one scalar --wrt).")
    ] = 1,
    at: At = None,
    at_file: AtFile = None,
    shape: Annotated[list[str] | None, typer.Option(
        "--shape", metavar="NAME=DIMS", show_default=False,
        help="A vector's or matrix's shape when no value is given: W=2x3, x=3. (A variable "
             "with neither --shape nor --at is a scalar.) Repeatable.")] = None,
    raw: Annotated[bool, typer.Option(
        "--raw", help="Print the bare formula, for $(...): the one --wrt, or the only "
                      "variable.")] = False,
    json_flag: JsonOnly = False,
    simplify: Annotated[bool, typer.Option(
        "--simplify/--no-simplify",
        help="Let SymPy simplify scalar formulas (the shorter of its form and cgcli's own is "
             "kept).")] = True,
    precision: Precision = 4,
    strict: Strict = False,
    convention: ConventionOpt = None,
) -> None:
    """The derivative as a formula: ∂f/∂x = 3*x^2, in cgcli's own language.

    Each formula parses back: cgcli eval "$(cgcli diff EXPR --wrt x --raw)" --at x=1 gives
    what cgcli grad gives. With --at, each formula's value there too (and the shapes of
    vectors and matrices: a variable without a value is a scalar).

    \b
    Examples:
      cgcli diff "1/(1+exp(-x))"
      cgcli diff "x^3" --order 2
      cgcli diff "sum((W@x)^2)" --wrt W --shape W=2x2 --shape x=2
      cgcli eval "$(cgcli diff 'sin(x)*x' --raw)" --at x=1
    """
    set_convention(convention)
    with user_errors(json_flag):
        from ..derivatives import diff as differentiate

        if raw and json_flag:
            raise ValueInputError("--raw and --json are two output formats: choose one")
        graph, values = load(expr, at, at_file)
        if raw and not (wrt and len(wrt) == 1) and len(graph.variables) != 1:
            raise ValueInputError("--raw prints one formula: choose it with --wrt NAME "
                                  f"(variables: {', '.join(graph.variables) or 'none'})")
        with phase("differentiating"):  # SymPy's simplification included
            result = differentiate(graph, wrt, order, values, use_sympy=simplify,
                                   shapes=_shapes(shape))
        _finite(result, strict)
    for line in result.notes:
        note(line)
    from ..render import calculus as out

    if raw:
        sys.stdout.write(result.formulas[0].text + "\n")
    elif json_flag:
        sys.stdout.write(out.render_json(result) + "\n")
    else:
        sys.stdout.write("\n".join(out.lines(result, precision)) + "\n")


def _shapes(items: list[str] | None) -> dict[str, tuple[int, ...]]:
    """``--shape W=2x3`` options -> {"W": (2, 3)}."""
    shapes: dict[str, tuple[int, ...]] = {}
    for item in items or ():
        name, _, dims = item.partition("=")
        try:
            shape = tuple(int(d) for d in dims.lower().replace("×", "x").split("x"))
        except ValueError:
            shape = ()
        if not name.strip() or not shape or min(shape) < 1 or len(shape) > 8:
            raise ValueInputError(f"--shape {item!r}: expected NAME=DIMS, e.g. W=2x3 or x=3")
        if name.strip() in shapes:
            raise ValueInputError(f"--shape {name.strip()}=... is given twice")
        shapes[name.strip()] = shape
    return shapes


def _finite(result: object, strict: bool) -> None:
    """The usual note (or, with --strict, error) for a derivative whose value is nan or inf."""
    from ..engine import all_finite
    from ..numbers import fmt_value

    for f in result.formulas:  # type: ignore[attr-defined]
        if f.value is not None and not all_finite(f.value):
            _fault(f"∂/∂{f.name} = {fmt_value(f.value)} at the given point: not finite",
                   strict)


def _fault(message: str, strict: bool) -> None:
    """A value that is nan or inf: an error with --strict (exit 3), else a note."""
    from ..errors import NumericError

    numeric_fault(NumericError(message), strict)


@expression_command(app, EPILOG)
def hessian(
    expr: Expr,
    at: At = None,
    at_file: AtFile = None,
    format: ReportFormatOpt = ReportFormat.table,
    json_flag: JsonFlag = False,
    precision: Precision = 4,
    strict: Strict = False,
    color: ColorOpt = None,
    convention: ConventionOpt = None,
) -> None:
    """The matrix of second derivatives of a scalar output, at a point.

    Recorded as a graph, the backward pass is differentiated once more: one reverse pass of
    the gradient graph per variable element. Vectors and matrices are flattened in row-major
    order (W[0,1] is row 0, column 1).

    \b
    Examples:
      cgcli hessian "x^2*y + sin(x*y)" --at x=0.5 --at y=2
      cgcli hessian "sum((W@x)^2)" --at "W=[[1,2],[3,4]]" --at "x=[1,1]" --json
    """
    set_color(color)
    set_convention(convention)
    fmt = ReportFormat.json if json_flag else format
    with user_errors(fmt is ReportFormat.json):
        from ..derivatives import hessian as second

        graph, values = load(expr, at, at_file)
        with phase("differentiating"):
            h = second(graph, values)
        from ..engine import all_finite

        if not all_finite(h.matrix):
            _fault("the Hessian has entries that are nan or inf at the given point", strict)
    from ..render import calculus as out

    if fmt is ReportFormat.json:
        sys.stdout.write(out.hessian_json(h) + "\n")
    else:
        out.hessian_table(h, console(), precision)
