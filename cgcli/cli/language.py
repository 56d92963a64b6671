"""Commands about the language itself: ``functions`` and ``fmt``."""

import sys
from typing import Annotated

import typer

from .common import expression_command, parse_expression, user_errors
from .options import Expr

app = typer.Typer()


@app.command()
def functions() -> None:
    """List the functions of the expression language with their derivatives.

    \b
    Example:
      cgcli functions | grep -A1 sigmoid
    """
    from ..formulas import describe
    from ..parser import WRITTEN_AS

    rows = describe()
    width = max(len(sig) for sig, _, _ in rows)
    for sig, doc, deriv in rows:
        also = WRITTEN_AS.get(sig.partition("(")[0])
        doc += f"; also written {also}" if also else ""
        sys.stdout.write(f"{sig:<{width}}  {doc}\n{'':<{width}}  d/dx: {deriv}\n")


@expression_command(app)
def fmt(
    expr: Expr,
    lines: Annotated[bool, typer.Option(
        "--lines", help="One statement a line, instead of separated by '; '.")] = False,
) -> None:
    """Print EXPR in canonical form: it parses back to the same graph.

    Fewest parentheses, one spacing style, ASCII operators (x² is x^2, √x is sqrt(x), |x|
    is abs(x)), functions by their registry names, numbers in their shortest exact form;
    an update (c += 1) as the rebinding it is (c = c + 1). Comments are dropped.

    \b
    Examples:
      cgcli fmt "f = (x*(y)) + -(2)"          # f = x * y + -2
      cgcli fmt @model.cg --lines > model.canonical.cg
    """
    from ..printer import statements

    with user_errors():
        graph = parse_expression(expr)
        sys.stdout.write(("\n" if lines else "; ").join(statements(graph)) + "\n")
