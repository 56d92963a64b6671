"""The command line: options in, a library call, a renderer out.

Exit codes (errors.py): 0 success, 1 a check failed or an ``--expect`` answer is wrong,
2 invalid input (parse error, unknown name, wrong arguments, missing or malformed ``--at``
value, shape mismatch, a bad batch row), 3 nan or inf with ``--strict``, 4 Graphviz missing,
70 an internal error (a bug in cgcli).
"""


import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from typing import Annotated, Any

import typer
from typer.core import TyperCommand

from .errors import EXIT_INTERNAL, CgcliError, ValueInputError

EPILOG = """\
Exit codes: 0 success · 1 an --expect answer is wrong (grad) · 2 invalid input (parse error,
unknown name, wrong arguments, missing or malformed --at value, shape mismatch, a bad batch
row) · 3 a value or gradient is nan or inf (with --strict) · 70 internal error.
"""


class Format(str, Enum):
    table = "table"
    tree = "tree"
    json = "json"
    jsonl = "jsonl"  # with --batch
    csv = "csv"  # with --batch


class Color(str, Enum):
    auto = "auto"
    always = "always"
    never = "never"


class BatchFormat(str, Enum):
    csv = "csv"
    jsonl = "jsonl"


#: Settings of the whole run (global options such as --color).
_settings: dict[str, Any] = {"color": "auto"}


class ExpressionCommand(TyperCommand):
    """A command whose expression may begin with '-': ``cgcli grad "-x^2" --at x=3``.

    Click would read ``-x^2`` as an unknown option; the first argument that starts with '-'
    and is not one of the command's options is moved behind ``--`` instead.
    """

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        return super().parse_args(ctx, _expression_last(self, ctx, args))


def _expression_last(cmd: Any, ctx: Any, args: list[str]) -> list[str]:
    takes_value: dict[str, bool] = dict.fromkeys(ctx.help_option_names, False)
    for p in cmd.params:
        if p.param_type_name == "option":
            for name in (*p.opts, *p.secondary_opts):
                takes_value[name] = not p.is_flag and not p.count
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--":  # cgcli grad -- "-x^2" --at x=3: options may still follow EXPR
            return args[:i] + args[i + 2:] + args[i:i + 2] if i + 1 < len(args) else args
        if not a.startswith("-") or len(a) == 1:
            return args  # a plain positional comes first
        if a in takes_value:
            i += 2 if takes_value[a] else 1
        elif a.startswith("--") and a.split("=", 1)[0] in takes_value:
            i += 1
        else:  # not an option: the expression itself
            return args[:i] + args[i + 1:] + ["--", a]
    return args


app = typer.Typer(
    name="cgcli",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        from . import __version__

        sys.stdout.write(f"cgcli {__version__}\n")
        raise typer.Exit()


ColorOpt = Annotated[Color | None, typer.Option(
    "--color", case_sensitive=False, show_default=False,
    help="Colour: auto (only on a terminal, never with NO_COLOR), always, never.")]


@app.callback()
def _main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print cgcli's version and exit.")] = False,
    color: ColorOpt = None,
) -> None:
    """Computational graphs on the command line: every node's value and gradient.

    \b
    Exit codes: 0 success · 1 a check failed or an answer is wrong · 2 invalid input ·
    3 nan or inf with --strict · 4 Graphviz missing · 70 internal error.
    """
    if color is not None:
        _settings["color"] = color.value

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")

Expr = Annotated[str, typer.Argument(
    metavar="EXPR", show_default=False,
    help='The expression, e.g. "1/(1+exp(-x))" or "q = x + y; f = q * z"; '
         "- reads it from standard input, @FILE from a file.")]
At = Annotated[list[str] | None, typer.Option(
    "--at", metavar="NAME=VALUE", show_default=False,
    help="A variable's value, a constant expression: x=1, x=pi/4, w=[0.2,0.4], "
         "W=[[1,2],[3,4]]. Repeat for each variable.")]
Wrt = Annotated[list[str] | None, typer.Option(
    "--wrt", metavar="NAME", show_default=False,
    help="Report only the gradient with respect to NAME (a variable or let-bound name). "
         "Repeatable.")]
FormatOpt = Annotated[Format, typer.Option(
    "--format", case_sensitive=False, help="Output format.")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Same as --format json.")]
Precision = Annotated[int, typer.Option(
    "--precision", min=1, max=17, metavar="N",
    help="Significant digits in table and tree (JSON always has full precision).")]
MaxRows = Annotated[int | None, typer.Option(
    "--max-rows", min=1, metavar="N", show_default=False,
    help="Show at most N nodes in the table, saying how many were left out.")]
Strict = Annotated[bool, typer.Option(
    "--strict", help="Fail (exit 3) when a value or gradient is nan or inf, instead of a note.")]
Expect = Annotated[list[str] | None, typer.Option(
    "--expect", metavar="NAME=VALUE", show_default=False,
    help="Check an answer: VALUE is your d(output)/d(NAME) (NAME a variable or let-bound "
         "name; vectors as [0.44, 0.52]), judged at the precision it is written: 0.20 and "
         "0.197 are right for 0.1966, 0.196 is not; pi/4 must be exact. Repeatable; exits 1 "
         "when an answer is wrong.")]
ExpectValue = Annotated[list[str] | None, typer.Option(
    "--expect-value", metavar="NAME=VALUE", show_default=False,
    help="Check a forward value of NAME the same way. Repeatable.")]
Tol = Annotated[str | None, typer.Option(
    "--tol", metavar="TOL", show_default=False,
    help="Judge the answers within TOL instead of at their written precision: 0.01 is "
         "absolute (|answer - correct| <= 0.01), 1% is relative (<= 1% of |correct|).")]
Raw = Annotated[bool, typer.Option(
    "--raw", help="Print bare numbers for $(...): the gradient of the one --wrt variable (or "
                  "of the only variable); with --expect, ok or wrong, one line per answer.")]
AtFile = Annotated[str | None, typer.Option(
    "--at-file", metavar="FILE", show_default=False,
    help='Values from a JSON object, e.g. {"x": 1, "W": [[1, 2], [3, 4]], "a": "pi/4"}; '
         "--at options override it.")]
Batch = Annotated[str | None, typer.Option(
    "--batch", metavar="FILE", show_default=False,
    help="Evaluate at every row of FILE (- for standard input): CSV with a header naming the "
         "variables, or JSON Lines of {name: value}. --at gives values shared by all rows. "
         "Output: --format jsonl (default) or csv.")]
BatchFormatOpt = Annotated[BatchFormat | None, typer.Option(
    "--batch-format", case_sensitive=False, show_default=False,
    help="The --batch input's format (default: detected from its first line).")]
SkipBad = Annotated[bool, typer.Option(
    "--skip-bad-rows", help="With --batch: report bad rows on stderr and go on without them.")]
RawValue = Annotated[bool, typer.Option(
    "--raw", help="Print the bare value (a vector on one line, a matrix one row per line), "
                  "for $(...) in scripts.")]
MaxDepth = Annotated[int | None, typer.Option(
    "--max-depth", min=1, metavar="N", show_default=False,
    help="Fold the tree below N levels (default: what fits the terminal's width).")]


def parse_at(items: list[str] | None) -> dict[str, Any]:
    """``--at NAME=VALUE`` options -> {name: float64 array}; raises CgcliError."""
    from .ops import CONSTANTS
    from .parser import parse_value

    values: dict[str, Any] = {}
    for item in items or ():
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not _NAME.match(name):
            raise ValueInputError(f"--at {item!r}: expected NAME=VALUE, e.g. --at x=1.5")
        if name in CONSTANTS:
            raise ValueInputError(f"--at {name}=...: '{name}' is a built-in constant "
                                  f"({CONSTANTS[name]!r}) and cannot be given a value")
        if name in values:
            raise ValueInputError(f"--at {name}=... is given twice")
        values[name] = parse_value(text, name)
    return values


def note(message: str) -> None:
    """A note on stderr: something worth knowing that is not an error."""
    sys.stderr.write(f"note: {message}\n")


def read_expression(expr: str) -> str:
    """EXPR as given: ``-`` reads it from standard input, ``@FILE`` from a file."""
    if expr == "-":
        try:
            text = sys.stdin.read()
        except UnicodeDecodeError as exc:
            raise ValueInputError(f"standard input is not UTF-8 text (byte {exc.start + 1} "
                                  "of a chunk)") from None
    elif expr.startswith("@"):  # no expression starts with @ (it is the matmul operator)
        path = expr[1:]
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            why = getattr(exc, "strerror", None) or (
                "not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else str(exc))
            raise ValueInputError(f"cannot read the expression from {path!r}: {why}") from None
    else:
        text = expr
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:  # undecodable bytes from argv, kept as surrogates
        raise ValueInputError("the expression has bytes that are not UTF-8 text",
                              source=text.encode("utf-8", "replace").decode("utf-8"),
                              pos=exc.start) from None
    return text


def load(expr: str, at: list[str] | None,
         at_file: str | None = None) -> tuple[Any, dict[str, Any]]:
    """Parse EXPR (or read it: ``-``, ``@FILE``) and the values (``--at-file``, then ``--at``);
    note values the expression does not use."""
    from .parser import parse

    graph = parse(read_expression(expr))
    values = parse_at(at)
    if at_file:
        from .shell import read_at_file

        values = {**read_at_file(at_file), **values}
    for name in values:
        if name not in graph.variables:
            why = "is bound in the expression" if name in graph.bindings else "is not used"
            note(f"--at {name}: '{name}' {why}; its value is ignored")
    return graph, values


@contextmanager
def user_errors(as_json: bool = False) -> Iterator[None]:
    """Turn a CgcliError into its message on stderr (and JSON on stdout) and its exit code."""
    try:
        yield
    except CgcliError as exc:
        if as_json:
            import json

            sys.stdout.write(json.dumps({"error": exc.to_json()}, ensure_ascii=False) + "\n")
        sys.stderr.write(exc.render() + "\n")
        raise typer.Exit(exc.exit_code) from None


def console() -> Any:
    """A Rich console on stdout, coloured as ``--color`` says (auto: only on a terminal,
    never with NO_COLOR)."""
    from rich.console import Console

    from .shell import color_settings

    return Console(highlight=False, **color_settings(_settings["color"]))


def line_console() -> Any:
    """A console for the line renderers (table, tree): Rich only when colour is shown."""
    from .shell import color_settings

    if color_settings(_settings["color"]).get("color_system", "auto") is None:
        from .render.text import PlainConsole

        return PlainConsole(sys.stdout)
    return console()


def check_finite(ev: Any, strict: bool) -> None:
    """Note (or, with ``strict``, raise) where nan or inf first appeared."""
    fault = ev.nonfinite()
    if fault is None:
        return
    if strict:
        raise fault
    note(fault.message + f" (node {fault.node}; --strict makes this an error)")


def _run(expr: str, at: list[str] | None, wrt: list[str] | None, fmt: Format, *,
         grad: bool, precision: int = 4, max_rows: int | None = None,
         max_depth: int | None = None, strict: bool = False, raw: bool = False,
         at_file: str | None = None, color: Color | None = None, batch: str | None = None,
         batch_format: BatchFormat | None = None, skip_bad_rows: bool = False) -> None:
    """Shared body of ``grad`` and ``eval``: parse, evaluate, render; errors become exit 2."""
    if color is not None:
        _settings["color"] = color.value
    as_json = fmt in (Format.json, Format.jsonl)
    with user_errors(as_json and batch is None):
        if batch is not None:
            _run_batch(expr, at, at_file, wrt, fmt, grad, batch, batch_format, skip_bad_rows)
            return
        if fmt in (Format.jsonl, Format.csv):
            raise ValueInputError(f"--format {fmt.value} is for --batch output; one point "
                                  "prints as table, tree or json")
        if raw and fmt is not Format.table:
            raise ValueInputError("--raw and --format are two output formats: choose one")
        from .engine import check_wrt, differentiate, evaluate

        graph, values = load(expr, at, at_file)
        if wrt:
            check_wrt(graph, wrt)
        if raw and grad:
            wrt = _one_gradient(graph, wrt)
        ev = (differentiate if grad else evaluate)(graph, values)
        check_finite(ev, strict)
    if raw:
        from .render import wrt_ids
        from .shell import raw_value

        shown = ev.value if not grad else ev.grads[wrt_ids(ev, wrt)[0][1]]
        sys.stdout.write(raw_value(shown) + "\n")
    elif fmt is Format.json:
        from .render.json import render as render_json

        sys.stdout.write(render_json(ev, wrt, gradients=grad) + "\n")
    elif fmt is Format.tree:
        from .render.tree import render as render_tree

        render_tree(ev, line_console(), precision=precision, max_depth=max_depth)
    else:
        from .render.table import render as render_table

        render_table(ev, line_console(), precision=precision, wrt=wrt, max_rows=max_rows)


def _one_gradient(graph: Any, wrt: list[str] | None) -> list[str]:
    """The single gradient ``grad --raw`` prints: the one --wrt, or the only variable."""
    if wrt and len(wrt) == 1:
        return wrt
    if not wrt and len(graph.variables) == 1:
        return list(graph.variables)
    have = ", ".join(graph.variables) or "none"
    raise ValueInputError(f"--raw prints one gradient: choose it with --wrt NAME (variables: "
                          f"{have})")


def _run_batch(expr: str, at: list[str] | None, at_file: str | None, wrt: list[str] | None,
               fmt: Format, grad: bool, batch: str, batch_format: BatchFormat | None,
               skip_bad_rows: bool) -> None:
    """``--batch FILE``: every row through one batched pass per chunk, rows out in order."""
    from .batchio import run
    from .engine import check_wrt

    if fmt is Format.tree:
        raise ValueInputError("--batch writes --format jsonl (the default, also --json) or csv")
    graph, shared = load(expr, at, at_file)
    if wrt:
        check_wrt(graph, wrt)
    try:
        stream = sys.stdin if batch == "-" else open(batch, encoding="utf-8")  # noqa: SIM115
    except (OSError, ValueError) as exc:
        raise ValueInputError(f"--batch {batch!r}: {getattr(exc, 'strerror', None) or exc}"
                              ) from None
    with stream:
        try:
            run(graph, stream, sys.stdout, shared=shared,
                in_fmt=batch_format.value if batch_format else None,
                out_fmt="csv" if fmt is Format.csv else "jsonl", gradients=grad, wrt=wrt,
                report=note if skip_bad_rows else None)
        except UnicodeDecodeError:
            raise ValueInputError(f"--batch {batch}: the input is not UTF-8 text") from None


@app.command(cls=ExpressionCommand, epilog=EPILOG)
def grad(expr: Expr, at: At = None, wrt: Wrt = None, format: FormatOpt = Format.table,
         json: JsonFlag = False, raw: Raw = False, precision: Precision = 4,
         max_rows: MaxRows = None, max_depth: MaxDepth = None, strict: Strict = False,
         at_file: AtFile = None, color: ColorOpt = None, batch: Batch = None,
         batch_format: BatchFormatOpt = None, skip_bad_rows: SkipBad = False,
         expect: Expect = None, expect_value: ExpectValue = None, tol: Tol = None) -> None:
    """Forward and backward pass: every node's value and gradient d(output)/d(node).

    \b
    Examples:
      cgcli grad "1/(1+exp(-x))" --at x=1
      cgcli grad "(x+y)*z" --at x=-2 --at y=5 --at z=-4 --format tree
      cgcli grad "sum((W@x)^2)" --at "W=[[0.1,0.5],[-0.3,0.8]]" --at "x=[0.2,0.4]" --json
      cgcli grad "-x^2" --at x=3
      cgcli grad "1/(1+exp(-x))" --at x=1 --expect x=0.20
      dx=$(cgcli grad "x^3" --at x=2 --raw)
      cgcli grad "sigmoid(w*x+b)" --at w=2 --batch points.csv --format csv
    """
    if json:
        format = Format.json
    if expect or expect_value or tol is not None:
        from .commands.exercises import run_checks

        run_checks(expr, at, expect, expect_value, tol, format is Format.json, raw,
                   precision, strict, at_file)
        return
    _run(expr, at, wrt, format, grad=True, precision=precision, max_rows=max_rows,
         max_depth=max_depth, strict=strict, raw=raw, at_file=at_file, color=color,
         batch=batch, batch_format=batch_format, skip_bad_rows=skip_bad_rows)


@app.command("eval", cls=ExpressionCommand, epilog=EPILOG)
def eval_(expr: Expr, at: At = None, format: FormatOpt = Format.table, json: JsonFlag = False,
          raw: RawValue = False, precision: Precision = 4, max_rows: MaxRows = None,
          max_depth: MaxDepth = None, strict: Strict = False, at_file: AtFile = None,
          color: ColorOpt = None, batch: Batch = None, batch_format: BatchFormatOpt = None,
          skip_bad_rows: SkipBad = False) -> None:
    """Forward pass only: every node's value (the output may be a vector or matrix).

    \b
    Examples:
      cgcli eval "M = -x; Q = exp(M); P = Q + 1; L = 1/P" --at x=1
      cgcli eval "W @ x" --at "W=[[1,2],[3,4]]" --at "x=[1,1]" --json
      n=$(cgcli eval "2^10" --raw)
      cgcli eval "x^2 + y" --batch points.jsonl
    """
    if json:
        format = Format.json
    _run(expr, at, None, format, grad=False, precision=precision, max_rows=max_rows,
         max_depth=max_depth, strict=strict, raw=raw, at_file=at_file, color=color,
         batch=batch, batch_format=batch_format, skip_bad_rows=skip_bad_rows)


@app.command()
def functions() -> None:
    """List the functions of the expression language with their derivatives.

    \b
    Example:
      cgcli functions | grep -A1 sigmoid
    """
    from .ops import describe

    rows = describe()
    width = max(len(sig) for sig, _, _ in rows)
    for sig, doc, deriv in rows:
        sys.stdout.write(f"{sig:<{width}}  {doc}\n{'':<{width}}  d/dx: {deriv}\n")


#: Commands defined in this module. Typer builds every registered command (their options,
#: from their signatures) on each run, so the other modules' commands are added only when
#: the command line may need them: that keeps `cgcli grad` ~20 ms quicker to start.
_CORE = frozenset({"grad", "eval", "functions"})
_GLOBAL_WITH_VALUE = frozenset({"--color"})
_registered: list[bool] = []


def register_commands(args: list[str]) -> None:
    """Add the commands of cgcli/commands/ unless ``args`` runs one of :data:`_CORE`."""
    if _registered:
        return
    it = iter(args)
    for a in it:
        if a in _GLOBAL_WITH_VALUE:
            next(it, None)
        elif not a.startswith("-"):
            if a in _CORE:
                return
            break
    from .commands import register_all

    register_all(app)
    _registered.append(True)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``cgcli`` command: exits with the documented exit code."""
    for stream in (sys.stdout, sys.stderr):
        # A stream that is not UTF-8 (PYTHONIOENCODING=ascii, a cp1252 console) shows '?' for
        # the characters it lacks (∂, box lines) instead of failing half-way through.
        if getattr(stream, "errors", "strict") == "strict" and hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")
    register_commands(sys.argv[1:] if argv is None else list(argv))
    try:
        app(args=argv, prog_name="cgcli")  # usage errors: Click prints them and exits 2
    except BrokenPipeError:  # e.g. `| head`: the reader left, not an error of ours
        sys.stderr.close()
        sys.exit(0)
    except Exception as exc:  # a bug: one line, not a traceback
        if os.environ.get("CGCLI_DEBUG"):
            raise
        sys.stderr.write(f"cgcli: internal error: {type(exc).__name__}: {exc} "
                         "(a bug in cgcli; CGCLI_DEBUG=1 shows the traceback)\n")
        sys.exit(EXIT_INTERNAL)


run = main  # the console-script entry point

