"""Commands about the language itself: ``functions``."""

import sys

import typer

app = typer.Typer()


@app.command()
def functions() -> None:
    """List the functions of the expression language with their derivatives.

    \b
    Example:
      cgcli functions | grep -A1 sigmoid
    """
    from ..formulas import describe

    rows = describe()
    width = max(len(sig) for sig, _, _ in rows)
    for sig, doc, deriv in rows:
        sys.stdout.write(f"{sig:<{width}}  {doc}\n{'':<{width}}  d/dx: {deriv}\n")
