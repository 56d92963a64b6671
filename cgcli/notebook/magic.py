"""``%cgcli`` and ``%%cgcli``: the command line in a notebook, its result displayed.

``%load_ext cgcli`` registers the magic. A line is split as a shell would (``shlex``) and
parsed by the command line itself, so it takes every command and option of ``cgcli``::

    %cgcli grad "(x+y)*z" --at x=-2 --at y=5 --at z=-4
    %%cgcli explain --at x=1 --precision 2
    M = -x; Q = exp(M)
    P = Q + 1; L = 1/P

In a cell, the body is the expression (a program of several lines). ``grad`` and ``eval``
(as a table), ``explain`` (typeset steps), ``diff`` (typeset formulas), ``plot`` (a figure)
and ``graph`` (an SVG picture) return the objects of :mod:`cgcli.notebook.display`. The
line is parsed with the command line's own option definitions and settings (the global
``--convention`` and ``--quiet`` too); a line that gives an option the object does not
show (``--json``, ``--format tree``, ``-o``, ``--color``, ...) runs through the command
line, its output captured and shown as what it is: SVG and PNG as pictures, the rest as
text. Every run starts from the defaults and leaves the settings as it found them. Notes go
to standard error as on the command line. An error (exit code 2 or more) shows cgcli's
message alone, never a traceback, and fails the cell.

IPython expands ``{name}`` and ``$name`` in the line to the values of Python variables (the
language uses neither character). This module imports nothing of IPython: it is given the
shell when the extension loads (``cgcli.load_ipython_extension``).
"""
from __future__ import annotations

import io
import os
import shlex
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from typing import Any, NamedTuple

from ..errors import EXIT_INPUT, EXIT_INTERNAL, CgcliError
from . import display
from .display import DiffResult, Display, ExplainResult, GradResult, GraphResult, PlotResult


class CommandError(Exception):
    """A command line that failed: IPython shows its message, not a traceback."""

    def __init__(self, message: str, exit_code: int = EXIT_INPUT) -> None:
        super().__init__(message)
        self.message, self.exit_code = message, exit_code

    def _render_traceback_(self) -> list[str]:  # IPython's hook for a custom traceback
        return self.message.rstrip("\n").splitlines()


class CommandOutput(Display):
    """What a command printed, shown as what it is (an SVG or PNG picture, or text)."""

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
    """Run ``cgcli ARGS`` and return the result to display (None when nothing was printed).

    Every run starts from the defaults (PyTorch's convention, colour auto, notes shown) and
    applies only what its line says; the settings are restored afterwards, so nothing leaks
    into the next run or into the Python API."""
    from ..cli.app import register_commands

    register_commands(args)
    with _fresh_settings():
        line = _parse(args)
        if line is not None and _shows_all_of(line):
            result = _object(line)
            if result is not None:
                return result
        return _run_captured(args, _mime(line))


@contextmanager
def _fresh_settings() -> Iterator[None]:
    """The command line's settings at their defaults for the block, as they were after it;
    nothing to read on standard input (EXPR '-' and ``practice`` get end of input)."""
    from ..cli.settings import settings
    from ..xp import CONVENTION

    saved, stdin = dict(settings), sys.stdin
    token = CONVENTION.set("torch")
    settings.update(color="auto", quiet=False)
    sys.stdin = io.StringIO("")
    try:
        yield
    finally:
        sys.stdin = stdin
        settings.clear()
        settings.update(saved)
        CONVENTION.reset(token)


class _Line(NamedTuple):
    """A command line as the command line parses it."""

    name: str
    params: dict[str, Any]  #: the command's own options and argument
    given: frozenset[str]  #: the options given on the line, global ones included


def _parse(args: list[str]) -> _Line | None:
    """Parse ``args`` with the command line's own definitions and apply its settings as a
    run of ``cgcli`` does: the app's callback for the global options, then the command's
    own ``--color``, ``--convention`` and ``--quiet``. None when the command line should
    answer itself (no command, ``--help``, ``--version``, a usage error)."""
    import typer
    import typer.main

    from ..cli.app import app
    from ..cli.common import set_color, set_convention, set_quiet
    from ..cli.options import Color, Convention

    name, rest = _command(args)
    if name is None:
        return None
    root = typer.main.get_command(app)
    try:
        with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
            ctx = root.make_context("cgcli", args[:len(args) - len(rest)])
            command = root.get_command(ctx, name)  # type: ignore[attr-defined]
            if command is None:
                return None
            sub = command.make_context(name, list(rest), parent=ctx)
    except (typer.Exit, typer.Abort, typer.TyperException):
        return None
    ctx.invoke(root.callback, **ctx.params)  # type: ignore[arg-type]
    params = {k: _value(v) for k, v in sub.params.items()}
    set_color(_member(Color, params.get("color")))
    set_convention(_member(Convention, params.get("convention")))
    set_quiet(bool(params.get("quiet")))
    given = frozenset(p for c in (ctx, sub) for p in c.params
                      if c.get_parameter_source(p).name not in ("DEFAULT", "DEFAULT_MAP"))
    return _Line(name, params, given)


def _value(value: Any) -> Any:
    """A parsed value as the command's function receives it: a repeatable option as a list
    (None when not given), a choice as its text."""
    if isinstance(value, tuple):
        return list(value) or None
    return getattr(value, "value", value)


def _member(kind: type, value: Any) -> Any:
    return None if value is None else kind(value)


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


def _mime(line: _Line | None) -> str:
    """What the command prints, by its options: a picture or text."""
    if line is None or line.name != "graph":
        return "text/plain"
    fmt = line.params.get("format")
    if fmt in ("svg", "png") and not line.params.get("output"):
        return "image/" + ("svg+xml" if fmt == "svg" else "png")
    return "text/plain"


def _run_captured(args: list[str], mime: str) -> CommandOutput | None:
    """Run the command line in-process, standard output captured; errors become a
    :class:`CommandError` with cgcli's message."""
    import typer

    from ..cli.app import app

    buffer = io.BytesIO()
    out = io.TextIOWrapper(buffer, encoding="utf-8", newline="", write_through=True)
    err = io.StringIO()
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
            raise _internal(exc) from None
        out.flush()
    code = code if isinstance(code, int) else 0
    if code >= EXIT_INPUT:
        raise CommandError(err.getvalue() or f"cgcli exited with code {code}", code)
    sys.stderr.write(err.getvalue())  # notes, and what a check that failed says
    data = buffer.getvalue()
    if not data:
        return None
    return CommandOutput(data, code, mime)


# --- commands whose result is an object --------------------------------------------------
#
# Each builder runs what the command's body runs (the command line's own helpers: reading
# EXPR and the values, --strict, the notes) and returns the object instead of printing; it
# may decline (None) for an output format that is the command line's own.

def _grad(params: dict[str, Any], gradients: bool = True) -> GradResult | None:
    """``grad`` and ``eval`` as a table (the tree is the command line's own)."""
    if params["format"] != "table":
        return None
    from ..cli.common import check_finite, kink_notes, load
    from ..engine import evaluate
    from ..render.html import MAX_ROWS

    graph, values = load(params["expr"], params["at"], params["at_file"])
    rows = MAX_ROWS if params["max_rows"] is None else params["max_rows"]
    if gradients:
        result = display.grad(graph, values, wrt=params["wrt"], precision=params["precision"],
                              max_rows=rows)
    else:
        result = GradResult(evaluate(graph, values), precision=params["precision"],
                            max_rows=rows)
    check_finite(result.evaluation, params["strict"])
    if gradients:
        kink_notes(graph, result.evaluation.values)
    return result


def _explain(params: dict[str, Any]) -> ExplainResult | None:
    """``explain`` as typeset steps; ``--format latex|markdown`` and ``--ascii`` show that
    form alone (JSON is the command line's own)."""
    fmt = params["format"]
    if fmt == "json":
        return None
    from ..cli.common import kink_notes, load

    graph, values = load(params["expr"], params["at"])
    result = display.explain(graph, values, precision=params["precision"],
                             ascii=params["ascii_math"],
                             show=fmt if fmt != "text" or params["ascii_math"] else None)
    kink_notes(graph, result.evaluation.values)
    return result


def _graph(params: dict[str, Any]) -> GraphResult:
    """``graph`` as an SVG picture (--format and -o are the command line's own)."""
    from ..cli.common import load, note
    from ..render.picture import VALUES_ONLY

    graph, values = load(params["expr"], params["at"])
    result = display.graph(graph, values, precision=params["precision"])
    if result.values is not None and result.grads is None:
        note(VALUES_ONLY)
    return result


def _diff(params: dict[str, Any]) -> DiffResult:
    """``diff`` as typeset formulas (--raw and --json are the command line's own)."""
    from ..cli.calculus import _finite, _shapes
    from ..cli.common import load, note

    graph, values = load(params["expr"], params["at"], params["at_file"])
    result = display.diff(graph, values, wrt=params["wrt"], order=params["order"],
                          precision=params["precision"], shapes=_shapes(params["shape"]),
                          simplify=params["simplify"])
    _finite(result.result, params["strict"])
    for line in result.result.notes:
        note(line)
    return result


def _plot(params: dict[str, Any]) -> PlotResult | None:
    """``plot`` as a figure (the text chart without Matplotlib); --format json, -o, --width
    and --height are the command line's own."""
    if params["format"] != "chart":
        return None
    from ..cli.common import load
    from ..cli.plot import _check_finite, _plot_variables, _ranges, _ylim
    from ..sweep import sample

    graph, fixed = load(params["expr"], params["at"], params["at_file"])
    names = _plot_variables(graph, params["wrt"])
    ranges = _ranges(names, params["from_"], params["to"])
    limits = _ylim(params["ylim"])
    sweep = sample(graph, names, ranges, params["points"], fixed)
    _check_finite(sweep, params["strict"])
    return PlotResult(sweep, ylim=limits)


class _Object(NamedTuple):
    build: Callable[[dict[str, Any]], Display | None]
    #: The command's options the object shows as the command line would. A line that gives
    #: any other option (one added to the command later too) runs as on the command line.
    shows: frozenset[str]


def _shows(*names: str) -> frozenset[str]:
    return frozenset(("expr", "at", *names))


#: Commands whose result is an object.
RESULTS: dict[str, _Object] = {
    "grad": _Object(_grad, _shows("at_file", "wrt", "format", "precision", "max_rows", "strict",
                                  "convention", "quiet")),
    "eval": _Object(lambda params: _grad(params, gradients=False),
                    _shows("at_file", "format", "precision", "max_rows", "strict", "quiet")),
    "explain": _Object(_explain, _shows("format", "ascii_math", "precision", "convention")),
    "graph": _Object(_graph, _shows("precision")),
    "diff": _Object(_diff, _shows("at_file", "wrt", "order", "shape", "simplify", "precision",
                                  "strict", "convention")),
    "plot": _Object(_plot, _shows("at_file", "wrt", "from_", "to", "points", "format", "ylim",
                                  "strict", "convention")),
}
#: Global options the object path applies as the command line does (the app's callback).
GLOBAL_SHOWN = frozenset({"convention", "quiet"})


def _shows_all_of(line: _Line) -> bool:
    """Whether the command has an object that shows every option the line gives."""
    result = RESULTS.get(line.name)
    return result is not None and line.given <= result.shows | GLOBAL_SHOWN


def _object(line: _Line) -> Display | None:
    """The command's object, or None when its builder declines; errors as the command line
    reports them."""
    try:
        return RESULTS[line.name].build(line.params)
    except CgcliError as exc:
        raise CommandError(exc.render(), exc.exit_code) from None
    except Exception as exc:
        raise _internal(exc) from None


def _internal(exc: Exception) -> Exception:
    """A bug, in one line as the command line says it (CGCLI_DEBUG=1: the exception)."""
    if os.environ.get("CGCLI_DEBUG"):
        return exc
    return CommandError(f"cgcli: internal error: {type(exc).__name__}: {exc} (a bug in cgcli; "
                        "CGCLI_DEBUG=1 shows the traceback)", EXIT_INTERNAL)


def cgcli_magic(line: str, cell: str | None = None) -> Any:
    """Run a cgcli command line: ``%cgcli grad "(x+y)*z" --at x=-2 --at y=5 --at z=-4``;
    ``%%cgcli grad --at x=1`` takes the expression from the cell's body. ``%cgcli --help``
    lists the commands, ``%cgcli grad --help`` the options."""
    return run(split(line, cell))


def load_ipython_extension(ipython: Any) -> None:
    """Register ``%cgcli`` (a line magic) and ``%%cgcli`` (a cell magic)."""
    ipython.register_magic_function(cgcli_magic, magic_kind="line_cell", magic_name="cgcli")
