"""``%cgcli`` and ``%%cgcli``: the command line in a notebook, its result displayed.

``%load_ext cgcli`` registers the magic. A line is split as a shell would (``shlex``) and
parsed by the command line itself, so it takes every command and option of ``cgcli``::

    %cgcli grad "(x+y)*z" --at x=-2 --at y=5 --at z=-4
    %%cgcli explain --at x=1 --precision 2
    M = -x; Q = exp(M)
    P = Q + 1; L = 1/P

In a cell, the body is the expression (a program of several lines). ``grad`` and ``eval``
(as a table), ``explain`` (as text) and ``graph`` (without ``--format`` or ``-o``) return
the objects of :mod:`cgcli.notebook.display`, which Jupyter shows as an HTML table, typeset
steps and an SVG picture. Any other command line runs through the command line with its
output captured and shown as what it is: SVG and PNG as pictures, ``explain --format latex``
and ``markdown`` typeset, the rest as text. Notes go to standard error as usual. An error
(exit code 2 or more) shows cgcli's message alone, never a traceback, and fails the cell.

IPython expands ``{name}`` and ``$name`` in the line to the values of Python variables (the
language uses neither character). This module imports nothing of IPython: it is given the
shell when the extension loads (``cgcli.load_ipython_extension``).
"""

from __future__ import annotations

import io
import os
import shlex
import sys
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from typing import Any

from ..errors import EXIT_INPUT, EXIT_INTERNAL, CgcliError
from .display import DiffResult, Display, ExplainResult, GradResult, GraphResult, PlotResult


class CommandError(Exception):
    """A command line that failed: IPython shows its message, not a traceback."""

    def __init__(self, message: str, exit_code: int = EXIT_INPUT) -> None:
        super().__init__(message)
        self.message, self.exit_code = message, exit_code

    def _render_traceback_(self) -> list[str]:  # IPython's hook for a custom traceback
        return self.message.rstrip("\n").splitlines()


class CommandOutput(Display):
    """What a command printed, shown as what it is (a picture, typeset math, or text)."""

    def __init__(self, stdout: bytes, exit_code: int = 0, mime: str = "text/plain") -> None:
        self.stdout, self.exit_code, self.mime = stdout, exit_code, mime

    @property
    def text(self) -> str:
        return self.stdout.decode("utf-8", "replace") if self.mime != "image/png" else ""

    def _text(self) -> str:
        if self.mime == "image/png":
            return f"<PNG image, {len(self.stdout):,} bytes>"
        return self.text

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(self._text().rstrip("\n"))

    def _repr_svg_(self) -> str | None:
        return self.text if self.mime == "image/svg+xml" else None

    def _repr_png_(self) -> bytes | None:
        return self.stdout if self.mime == "image/png" else None

    def _repr_latex_(self) -> str | None:
        if self.mime != "text/latex":
            return None
        lines = [ln for ln in self.text.splitlines() if not ln.startswith("%")]
        return "$$\n" + "\n".join(lines) + "\n$$"

    def _repr_markdown_(self) -> str | None:
        return self.text if self.mime == "text/markdown" else None


# --- the command line ---------------------------------------------------------------------

def split(line: str, cell: str | None = None) -> list[str]:
    """The magic's line as arguments; a cell's body becomes the expression (after ``--``,
    so that it may begin with ``-``)."""
    try:
        args = shlex.split(line)
    except ValueError as exc:  # No closing quotation
        raise CommandError(f"error: cannot split the command line: {exc}") from None
    if cell is not None and cell.strip():
        args += ["--", cell]
    return args or ["--help"]


def run(args: list[str]) -> Any:
    """Run ``cgcli ARGS`` and return the result to display (None when nothing was printed)."""
    from ..cli.app import register_commands

    register_commands(args)
    name, rest = _command(args)
    params = _params(name, rest) if name in RESULTS else None
    if params is not None:
        try:
            result = RESULTS[name](params)
        except CgcliError as exc:
            raise CommandError(exc.render(), exc.exit_code) from None
        if result is not None:
            return result
    return _run_captured(args, _mime(name, params))


def _command(args: list[str]) -> tuple[str | None, list[str]]:
    """The command's name and its own arguments, past the global options."""
    from ..cli.app import _GLOBAL_WITH_VALUE

    it = iter(enumerate(args))
    for k, a in it:
        if a in _GLOBAL_WITH_VALUE:
            next(it, None)
        elif not a.startswith("-"):
            return a, args[k + 1:]
    return None, []


def _params(name: str, rest: list[str]) -> dict[str, Any] | None:
    """The command's options as the command line parses them, or None when the command line
    should answer itself (``--help``, a usage error)."""
    import typer
    import typer.main

    from ..cli.app import app

    command = typer.main.get_command(app).commands[name]  # type: ignore[attr-defined]
    try:
        with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
            return command.make_context(name, list(rest)).params
    except (typer.Exit, typer.Abort, typer.TyperException):
        return None


def _mime(name: str | None, params: dict[str, Any] | None) -> str:
    """What the command prints, by its options: a picture, LaTeX, Markdown or text."""
    params = params or {}
    fmt = _choice(params.get("format"))
    if name == "graph" and fmt in ("svg", "png") and not params.get("output"):
        return "image/" + ("svg+xml" if fmt == "svg" else "png")
    if name == "explain" and fmt in ("latex", "markdown") and not params.get("json_flag"):
        return "text/" + fmt
    return "text/plain"


def _choice(value: Any) -> Any:
    """An option's choice as text (Click keeps the text, Typer makes it an enum member)."""
    return getattr(value, "value", value)


def _run_captured(args: list[str], mime: str) -> CommandOutput | None:
    """Run the command line in-process, standard output captured; errors become a
    :class:`CommandError` with cgcli's message."""
    import typer

    from ..cli.app import app

    buffer = io.BytesIO()
    out = io.TextIOWrapper(buffer, encoding="utf-8", newline="", write_through=True)
    err = io.StringIO()
    stdin = sys.stdin
    sys.stdin = io.StringIO("")  # nothing to read: EXPR '-' and practice get end of input
    try:
        with redirect_stdout(out), redirect_stderr(err):
            try:
                code = app(args=args, prog_name="cgcli", standalone_mode=False)
            except typer.TyperException as exc:  # a usage error, in Click's words
                raise CommandError(f"error: {exc.format_message()}",
                                   getattr(exc, "exit_code", EXIT_INPUT)) from None
            except typer.Abort:
                code = 1
            except SystemExit as exc:
                code = exc.code
            except Exception as exc:  # a bug: one line, as the command line says it
                if os.environ.get("CGCLI_DEBUG"):
                    raise
                raise CommandError(f"cgcli: internal error: {type(exc).__name__}: {exc} (a bug "
                                   "in cgcli; CGCLI_DEBUG=1 shows the traceback)",
                                   EXIT_INTERNAL) from None
            out.flush()
    finally:
        sys.stdin = stdin
    code = code if isinstance(code, int) else 0
    if code >= EXIT_INPUT:
        raise CommandError(err.getvalue() or f"cgcli exited with code {code}", code)
    sys.stderr.write(err.getvalue())  # notes, and what a check that failed says
    data = buffer.getvalue()
    if not data:
        return None
    return CommandOutput(data, code, mime)


# --- commands whose result is an object --------------------------------------------------

def _grad(params: dict[str, Any], gradients: bool = True) -> GradResult | None:
    """``grad`` and ``eval`` as a table; other outputs (tree, JSON, --raw, --batch,
    --expect) are the command line's own."""
    table = _choice(params["format"]) == "table"
    if (not table or params["json"] or params["raw"] or params["batch"]
            or params.get("expect") or params.get("expect_value")
            or params.get("tol") is not None):
        return None
    from ..cli.common import check_finite, load
    from ..engine import check_wrt, differentiate, evaluate
    from ..render.html import MAX_ROWS

    graph, values = load(params["expr"], params["at"], params["at_file"])
    wrt = params.get("wrt")
    if wrt:
        check_wrt(graph, wrt)
    ev = (differentiate if gradients else evaluate)(graph, values)
    check_finite(ev, params["strict"])
    rows = params["max_rows"]
    return GradResult(ev, wrt=wrt, precision=params["precision"],
                      max_rows=MAX_ROWS if rows is None else rows)


def _explain(params: dict[str, Any]) -> ExplainResult | None:
    """``explain`` (text) as typeset steps; --format latex, markdown or json, and --ascii,
    are the command line's own."""
    if _choice(params["format"]) != "text" or params["json_flag"] or params["ascii_math"]:
        return None
    from ..cli.common import load
    from ..engine import Evaluation, backward, forward
    from ..explanation import require_scalar

    graph, values = load(params["expr"], params["at"])
    vals = forward(graph, values)
    require_scalar(Evaluation(graph, vals))
    return ExplainResult(Evaluation(graph, vals, backward(graph, vals)),
                         precision=params["precision"])


def _graph(params: dict[str, Any]) -> GraphResult | None:
    """``graph`` without --format and -o as an SVG picture; with them, the command line's
    own output (DOT or Mermaid text, an SVG or PNG image, a file written)."""
    if params["format"] is not None or params["output"] is not None:
        return None
    import numpy as np

    from ..cli.common import load, note
    from ..engine import backward, forward

    graph, values = load(params["expr"], params["at"])
    vals = grads = None
    if params["at"] or not graph.variables:
        vals = forward(graph, values)
        if np.ndim(vals[graph.output]) == 0:
            grads = backward(graph, vals)
        else:
            note("the output is not a scalar, so the edges show values only (no gradients)")
    return GraphResult(graph, vals, grads, precision=params["precision"])


#: Commands whose result is an object (``cgcli diff`` and ``cgcli plot`` join here when
#: they exist): a function of the parsed options returning it, or None for the command
#: line's own output.
def _diff(params: dict[str, Any]) -> DiffResult | None:
    """``diff`` as typeset formulas; --raw and --json are the command line's own."""
    if params["raw"] or params["json_flag"]:
        return None
    from ..cli.common import load, note, set_convention
    from ..derivatives import diff

    set_convention(params.get("convention"))
    graph, values = load(params["expr"], params["at"], params["at_file"])
    result = diff(graph, params["wrt"], params["order"], values, use_sympy=params["simplify"])
    for line in result.notes:
        note(line)
    return DiffResult(result, precision=params["precision"])


def _plot(params: dict[str, Any]) -> PlotResult | None:
    """``plot`` as a figure (the chart without Matplotlib); -o and --json are the command
    line's own."""
    if params["output"] is not None or params["json_flag"] or _choice(params["format"]) != "chart":
        return None
    from ..cli.common import load, set_convention
    from ..cli.plot import _plot_variables, _ranges, _ylim
    from ..sweep import sample

    set_convention(params.get("convention"))
    graph, fixed = load(params["expr"], params["at"], params["at_file"])
    names = _plot_variables(graph, params["wrt"])
    sweep = sample(graph, names, _ranges(names, params["from_"], params["to"]),
                   params["points"], fixed)
    return PlotResult(sweep, ylim=_ylim(params["ylim"]))


RESULTS: dict[str, Callable[[dict[str, Any]], Display | None]] = {
    "grad": _grad,
    "eval": lambda params: _grad(params, gradients=False),
    "explain": _explain,
    "graph": _graph,
    "diff": _diff,
    "plot": _plot,
}


def cgcli_magic(line: str, cell: str | None = None) -> Any:
    """Run a cgcli command line: ``%cgcli grad "(x+y)*z" --at x=-2 --at y=5 --at z=-4``;
    ``%%cgcli grad --at x=1`` takes the expression from the cell's body. ``%cgcli --help``
    lists the commands, ``%cgcli grad --help`` the options."""
    return run(split(line, cell))


def load_ipython_extension(ipython: Any) -> None:
    """Register ``%cgcli`` (a line magic) and ``%%cgcli`` (a cell magic)."""
    ipython.register_magic_function(cgcli_magic, magic_kind="line_cell", magic_name="cgcli")
