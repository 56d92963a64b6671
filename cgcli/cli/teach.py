"""Commands that teach and verify the chain rule: explain, graph, check, jacobian.

Exit codes (errors.py): 1 when ``check`` finds a derivative that differs from central
differences, 4 when ``graph`` needs Graphviz's ``dot`` and it is missing or fails; 0, 2 and
70 as everywhere. The library calls and Rich are imported inside the commands: this module
is loaded whenever a command outside ``grad``/``eval``/``functions``/``fmt`` may run
(``register_commands`` in :mod:`cgcli.cli.app`).

(No ``from __future__ import annotations`` here: Typer reads the option types from the
annotations.)
"""

import sys
from enum import Enum
from typing import Annotated, Any

import typer

from .common import (
    console,
    expression_command,
    kink_notes,
    load,
    note,
    output_format,
    set_color,
    set_convention,
    user_errors,
    write_output,
)
from .options import (
    At,
    AtFile,
    ColorOpt,
    ConventionOpt,
    Expr,
    JsonFlag,
    Precision,
    ReportFormat,
    ReportFormatOpt,
    TextPrecision,
    finite,
)

app = typer.Typer()

EPILOG = """\
Exit codes: 0 success · 1 a derivative differs from central differences (check) ·
2 invalid input · 4 Graphviz's dot is missing or failed (graph --format svg|png) ·
70 internal error · 130 interrupted (Ctrl-C).
"""


class ExplainFormat(str, Enum):
    text = "text"
    markdown = "markdown"
    latex = "latex"
    json = "json"


class GraphFormat(str, Enum):
    dot = "dot"
    mermaid = "mermaid"
    svg = "svg"
    png = "png"


#: ``-o graph.svg`` without ``--format``: the format from the file's suffix.
SUFFIXES = {".dot": GraphFormat.dot, ".gv": GraphFormat.dot, ".mmd": GraphFormat.mermaid,
            ".mermaid": GraphFormat.mermaid, ".svg": GraphFormat.svg, ".png": GraphFormat.png}


@expression_command(app, EPILOG)
def explain(
    expr: Expr,
    at: At = None,
    at_file: AtFile = None,
    format: Annotated[ExplainFormat, typer.Option(
        "--format", case_sensitive=False,
        help="text (Unicode math), markdown, latex (an aligned block) or json.")
    ] = ExplainFormat.text,
    json_flag: JsonFlag = False,
    ascii_math: Annotated[bool, typer.Option(
        "--ascii", help="ASCII math in text, markdown and json: dL/dP = 1 * (-1/P^2).")
    ] = False,
    precision: Precision = 3,
    convention: ConventionOpt = None,
    color: ColorOpt = None,
) -> None:
    """The chain rule, step by step: each node's gradient as upstream times local.

    One step per node, output first: ∂L/∂P = ∂L/∂L · ∂L/∂P = 1 · (-1/P²) =
    1 · (-1/1.37²) = -0.53. A node that feeds several gates shows each branch and their
    sum. Numbers put into a formula carry one digit more than --precision.

    \b
    Examples:
      cgcli explain "M = -x; Q = exp(M); P = Q + 1; L = 1/P" --at x=1 --precision 2
      cgcli explain "P = exp(w0); Q = 1/w1; L = P*Q" --at w0=2 --at w1=2
      cgcli explain "q = x + y; f = q * z" --at x=-2 --at y=5 --at z=-4 --format latex
    """
    fmt = ExplainFormat.json if json_flag else format
    set_convention(convention)
    set_color(color)
    with user_errors(fmt is ExplainFormat.json):
        ex = _explanation(expr, at, at_file, "latex" if fmt is ExplainFormat.latex
                          else "ascii" if ascii_math else "unicode", precision)
    from ..render import explain as out

    if fmt is ExplainFormat.text:
        out.text(ex, console())
    else:
        sys.stdout.write({ExplainFormat.markdown: out.markdown,
                          ExplainFormat.latex: out.latex,
                          ExplainFormat.json: out.render_json}[fmt](ex))
        if fmt is ExplainFormat.json:
            sys.stdout.write("\n")

@expression_command(app, EPILOG)
def graph(
    expr: Expr,
    at: At = None,
    at_file: AtFile = None,
    format: Annotated[GraphFormat | None, typer.Option(
        "--format", case_sensitive=False, show_default=False,
        help="dot or mermaid (text), svg or png (drawn by Graphviz's dot). Default: from "
             "the suffix of -o, else dot.")
    ] = None,
    output: Annotated[str | None, typer.Option(
        "--output", "-o", metavar="FILE", show_default=False,
        help="Write to FILE instead of standard output; its suffix picks the format (.dot "
             "or .gv, .mmd, .svg, .png) unless --format is given.")] = None,
    precision: TextPrecision = 3,
    convention: ConventionOpt = None,
) -> None:
    """Draw the graph: gates labelled by op, values (green) and gradients (red) on edges.

    Without --at, the structure only. SVG and PNG need Graphviz (apt-get install
    graphviz); DOT and Mermaid text need nothing.

    \b
    Examples:
      cgcli graph "M = -x; Q = exp(M); P = Q + 1; L = 1/P" --at x=1 -o sigmoid.svg
      cgcli graph "q = x + y; f = q * z" --format mermaid
      cgcli graph "sum((W@x)^2)" --at "W=[[1,2],[3,4]]" --at "x=[1,1]" | dot -Tpng >g.png
    """
    set_convention(convention)
    with user_errors():
        fmt = format or GraphFormat.dot
        if output is not None:
            fmt = output_format(output, SUFFIXES, format,
                                " (or give --format dot|mermaid|svg|png)")
        write_output(_picture(expr, at, at_file, fmt.value, precision), output)

@expression_command(app, EPILOG)
def check(
    expr: Expr,
    at: At = None,
    at_file: AtFile = None,
    tol: Annotated[float, typer.Option(
        "--tol", min=0.0, metavar="TOL", callback=finite,
        help="An element fails when |analytic - numeric| > TOL·max(1, |analytic|, "
             "|numeric|).")] = 1e-5,
    format: ReportFormatOpt = ReportFormat.table,
    json_flag: JsonFlag = False,
    precision: Precision = 4,
    order: Annotated[int, typer.Option(
        "--order", min=1, max=2, metavar="N",
        help="1: the gradient against differences of the output; 2: the Hessian (cgcli "
             "hessian) against differences of the gradient.")] = 1,
    convention: ConventionOpt = None,
    color: ColorOpt = None,
) -> None:
    """Check every derivative against central finite differences.

    Each element of each variable is moved by a step scaled to it (about 6e-6·max(1,
    |x|)); kinks (relu at 0, a tie in max, ...) and points where the function is not
    finite nearby are reported, not failed. Exits 1 when a derivative fails.

    \b
    Examples:
      cgcli check "sum(tanh(W@x + b)^2)" --at "W=[[1,2],[3,4]]" --at "x=[1,-1]" --at "b=[0,1]"
      cgcli check "relu(x) + abs(y)" --at x=0 --at y=0
      cgcli check "x^2*y + sin(x*y)" --at x=0.5 --at y=2 --order 2
    """
    fmt = ReportFormat.json if json_flag else format
    set_convention(convention)
    set_color(color)
    with user_errors(fmt is ReportFormat.json):
        from ..check import check as run_check

        g, values = load(expr, at, at_file)
        result = run_check(g, values, tol, order)
    from ..render import check as out

    if fmt is ReportFormat.json:
        sys.stdout.write(out.render_json(result) + "\n")
    else:
        out.table(result, console(), precision)
    if not result.passed:
        from ..errors import EXIT_FAILED

        raise typer.Exit(EXIT_FAILED)

@expression_command(app, EPILOG)
def jacobian(
    expr: Expr,
    at: At = None,
    at_file: AtFile = None,
    wrt: Annotated[list[str] | None, typer.Option(
        "--wrt", metavar="NAME", show_default=False,
        help="Only the Jacobian with respect to NAME (a variable or let-bound name). "
             "Repeatable.")] = None,
    format: ReportFormatOpt = ReportFormat.table,
    json_flag: JsonFlag = False,
    precision: Precision = 4,
    convention: ConventionOpt = None,
    color: ColorOpt = None,
) -> None:
    """The full Jacobian of a vector or matrix output, by reverse mode.

    d(out)/d(x) has the output's shape followed by x's: one backward pass per output
    element. For a scalar output it is the gradient.

    \b
    Examples:
      cgcli jacobian "W@x" --at "W=[[1,2],[3,4]]" --at "x=[1,1]" --wrt x
      cgcli jacobian "softmax(x)" --at "x=[1,2,3]" --json
    """
    fmt = ReportFormat.json if json_flag else format
    set_convention(convention)
    set_color(color)
    with user_errors(fmt is ReportFormat.json):
        import numpy as np

        from ..engine import Evaluation, forward
        from ..jacobian import jacobian as run_jacobian
        from .progress import count

        g, values = load(expr, at, at_file)
        ev = Evaluation(g, forward(g, values))
        rows = int(np.size(ev.values[g.output]))  # one backward pass per output element
        with count("jacobian", "rows", total=rows) as done:
            jacobians = run_jacobian(g, ev.values, wrt, progress=done.update)
        kink_notes(g, ev.values)
    from ..render import jacobian as out

    if fmt is ReportFormat.json:
        sys.stdout.write(out.render_json(ev, jacobians) + "\n")
    else:
        out.table(ev, jacobians, g.nodes[g.output].name or "f", console(), precision)


def _explanation(expr: str, at: list[str] | None, at_file: str | None, notation: str,
                 precision: int) -> Any:
    """Parse, run both passes, and explain; raises CgcliError on bad input."""
    from ..engine import Evaluation, backward, forward
    from ..explanation import explain, require_scalar

    graph, values = load(expr, at, at_file)
    ev = Evaluation(graph, forward(graph, values))
    require_scalar(ev)
    kink_notes(graph, ev.values)
    return explain(Evaluation(graph, ev.values, backward(graph, ev.values)), notation,
                   precision)


def _picture(expr: str, at: list[str] | None, at_file: str | None, fmt: str,
             precision: int) -> str | bytes:
    """The graph drawn in ``fmt`` (PNG as bytes); with values (--at, --at-file; or no
    variables) the edges carry numbers."""
    from ..render.dot import render_image, to_dot
    from ..render.mermaid import to_mermaid
    from ..render.picture import VALUES_ONLY, edge_numbers, picture

    graph, values = load(expr, at, at_file)
    vals, grads = edge_numbers(graph, values)
    if grads is not None:
        kink_notes(graph, vals)
    elif vals is not None:
        note(VALUES_ONLY)
    pic = picture(graph, vals, grads, precision)
    if fmt == "mermaid":
        return to_mermaid(pic)
    text = to_dot(pic)
    if fmt == "dot":
        return text
    image = render_image(text, fmt)
    return image if fmt == "png" else image.decode("utf-8")
