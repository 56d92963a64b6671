"""``grad`` and ``eval``: one point (table, tree, JSON, a bare number) or many (``--batch``).

Exit codes (errors.py): 0 success, 1 an ``--expect`` answer is wrong, 2 invalid input, 3 nan
or inf with ``--strict``, 70 an internal error. Library calls and renderers are imported
inside the commands: this module is loaded at every start.
"""

import sys
from typing import Annotated, Any

import typer

from ..errors import ValueInputError
from .common import (
    check_finite,
    expression_command,
    kink_notes,
    line_console,
    load,
    set_color,
    set_convention,
    set_quiet,
    user_errors,
)
from .options import (
    At,
    AtFile,
    BatchFormat,
    ColorOpt,
    ConventionOpt,
    Expr,
    Format,
    FormatOpt,
    JsonFlag,
    QuietOpt,
    Strict,
    Tol,
    Wrt,
)
from .progress import count, phase, session, whole_writes

app = typer.Typer()

EPILOG = """\
Exit codes: 0 success · 1 an --expect answer is wrong (grad) · 2 invalid input (parse error,
unknown name, wrong arguments, missing or malformed --at value, shape mismatch, a bad batch
row) · 3 a value or gradient is nan or inf (with --strict) · 70 internal error · 130
interrupted (Ctrl-C; a --batch leaves the rows written so far, each a complete line).

Progress: a --batch, or a huge expression that takes more than half a second, shows its
progress on stderr when stderr is a terminal (never in a pipe or a file); --quiet turns it
off, and the notes too.
"""

Precision = Annotated[int, typer.Option(
    "--precision", min=1, max=17, metavar="N",
    help="Significant digits in table and tree (JSON always has full precision).")]
MaxRows = Annotated[int | None, typer.Option(
    "--max-rows", min=1, metavar="N", show_default=False,
    help="Show at most N nodes in the table, saying how many were left out.")]
MaxDepth = Annotated[int | None, typer.Option(
    "--max-depth", min=1, metavar="N", show_default=False,
    help="Fold the tree below N levels (default: what fits the terminal's width).")]
Expect = Annotated[list[str] | None, typer.Option(
    "--expect", metavar="NAME=VALUE", show_default=False,
    help="Check an answer: VALUE is your d(output)/d(NAME) (NAME a variable or let-bound "
         "name; vectors as [0.44, 0.52]), judged at the precision it is written: 0.20 and "
         "0.197 are right for 0.1966, 0.196 is not; pi/4 must be exact. Repeatable; exits 1 "
         "when an answer is wrong.")]
ExpectValue = Annotated[list[str] | None, typer.Option(
    "--expect-value", metavar="NAME=VALUE", show_default=False,
    help="Check a forward value of NAME the same way. Repeatable.")]
Raw = Annotated[bool, typer.Option(
    "--raw", help="Print bare numbers for $(...): the gradient of the one --wrt variable (or "
                  "of the only variable); with --expect, ok or wrong, one line per answer.")]
RawValue = Annotated[bool, typer.Option(
    "--raw", help="Print the bare value (a vector on one line, a matrix one row per line), "
                  "for $(...) in scripts.")]
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


@expression_command(app, EPILOG)
def grad(expr: Expr, at: At = None, wrt: Wrt = None, format: FormatOpt = Format.table,
         json: JsonFlag = False, raw: Raw = False, precision: Precision = 4,
         max_rows: MaxRows = None, max_depth: MaxDepth = None, strict: Strict = False,
         at_file: AtFile = None, color: ColorOpt = None, batch: Batch = None,
         batch_format: BatchFormatOpt = None, skip_bad_rows: SkipBad = False,
         expect: Expect = None, expect_value: ExpectValue = None, tol: Tol = None,
         convention: ConventionOpt = None, quiet: QuietOpt = False) -> None:
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
    shown = "--json" if json else f"--format {format.value}"
    if json:
        format = Format.json
    set_color(color)
    set_convention(convention)
    set_quiet(quiet)
    checking = ("--expect" if expect else "--expect-value" if expect_value
                else "--tol" if tol is not None else None)
    _check_options(checking, format, shown, raw=raw, wrt=wrt, max_rows=max_rows,
                   max_depth=max_depth, batch=batch, batch_format=batch_format,
                   skip_bad_rows=skip_bad_rows)
    if checking:
        from .exercises import run_checks

        run_checks(expr, at, expect, expect_value, tol, format is Format.json, raw,
                   precision, strict, at_file)
        return
    _run(expr, at, wrt, format, grad=True, precision=precision, max_rows=max_rows,
         max_depth=max_depth, strict=strict, raw=raw, at_file=at_file, batch=batch,
         batch_format=batch_format, skip_bad_rows=skip_bad_rows)


@expression_command(app, EPILOG, name="eval")
def eval_(expr: Expr, at: At = None, format: FormatOpt = Format.table, json: JsonFlag = False,
          raw: RawValue = False, precision: Precision = 4, max_rows: MaxRows = None,
          max_depth: MaxDepth = None, strict: Strict = False, at_file: AtFile = None,
          color: ColorOpt = None, batch: Batch = None, batch_format: BatchFormatOpt = None,
          skip_bad_rows: SkipBad = False, quiet: QuietOpt = False) -> None:
    """Forward pass only: every node's value (the output may be a vector or matrix).

    \b
    Examples:
      cgcli eval "M = -x; Q = exp(M); P = Q + 1; L = 1/P" --at x=1
      cgcli eval "W @ x" --at "W=[[1,2],[3,4]]" --at "x=[1,1]" --json
      n=$(cgcli eval "2^10" --raw)
      cgcli eval "x^2 + y" --batch points.jsonl
    """
    shown = "--json" if json else f"--format {format.value}"
    if json:
        format = Format.json
    set_color(color)
    set_quiet(quiet)
    _check_options(None, format, shown, raw=raw, wrt=None, max_rows=max_rows,
                   max_depth=max_depth, batch=batch, batch_format=batch_format,
                   skip_bad_rows=skip_bad_rows)
    _run(expr, at, None, format, grad=False, precision=precision, max_rows=max_rows,
         max_depth=max_depth, strict=strict, raw=raw, at_file=at_file, batch=batch,
         batch_format=batch_format, skip_bad_rows=skip_bad_rows)


def _run(expr: str, at: list[str] | None, wrt: list[str] | None, fmt: Format, *,
         grad: bool, precision: int = 4, max_rows: int | None = None,
         max_depth: int | None = None, strict: bool = False, raw: bool = False,
         at_file: str | None = None, batch: str | None = None,
         batch_format: BatchFormat | None = None, skip_bad_rows: bool = False) -> None:
    """Shared body of ``grad`` and ``eval``: parse, evaluate, render; errors become exit 2."""
    as_json = fmt in (Format.json, Format.jsonl)
    with user_errors(as_json and batch is None), session():
        if batch is not None:
            _run_batch(expr, at, at_file, wrt, fmt, grad, batch, batch_format, skip_bad_rows)
            return
        if fmt in (Format.jsonl, Format.csv):
            raise ValueInputError(f"--format {fmt.value} is for --batch output; one point "
                                  "prints as table, tree or json")
        from ..engine import check_wrt

        graph, values = load(expr, at, at_file)
        if wrt:
            check_wrt(graph, wrt)
        if raw and grad:
            wrt = _one_gradient(graph, wrt)
        ev = _passes(graph, values, grad)
        check_finite(ev, strict)
        if grad:
            kink_notes(graph, ev.values)
        with phase("writing", output=True):
            _write(ev, fmt, grad=grad, raw=raw, wrt=wrt, precision=precision,
                   max_rows=max_rows, max_depth=max_depth)


def _check_options(checking: str | None, fmt: Format, shown: str, *, raw: bool,
                   wrt: list[str] | None, max_rows: int | None, max_depth: int | None,
                   batch: str | None, batch_format: BatchFormat | None,
                   skip_bad_rows: bool) -> None:
    """Exit 2 for an option that would be ignored with the others given, naming both as
    typed (``shown`` is ``--json`` or ``--format F``); ``checking`` is the option that asked
    for ``--expect`` mode."""
    given = {"--batch": batch is not None, "--batch-format": batch_format is not None,
             "--skip-bad-rows": skip_bad_rows, "--wrt": bool(wrt),
             "--max-rows": max_rows is not None, "--max-depth": max_depth is not None}
    message = None
    if checking:
        extra = next((o for o, on in given.items() if on), None)
        if extra:
            message = (f"{extra} does not apply to {checking}, which checks your answers at "
                       "one point (shown as a table, --json or --raw)")
        elif fmt not in (Format.table, Format.json):
            message = (f"{shown} does not apply to {checking}: the answers are shown as a "
                       "table, --json or --raw")
        elif raw and fmt is Format.json:
            message = f"--raw and {shown} are two output formats: choose one"
    elif batch is not None:
        extra = "--raw" if raw else next(
            (o for o in ("--max-rows", "--max-depth") if given[o]), None)
        if extra:
            message = (f"{extra} does not apply to --batch, which writes one line per row "
                       "(--format jsonl or csv)")
    elif given["--batch-format"] or given["--skip-bad-rows"]:
        message = (f"{'--batch-format' if given['--batch-format'] else '--skip-bad-rows'} "
                   "applies to --batch FILE only")
    elif raw and fmt is not Format.table:
        message = f"--raw and {shown} are two output formats: choose one"
    elif raw and (given["--max-rows"] or given["--max-depth"]):
        message = (f"{'--max-rows' if given['--max-rows'] else '--max-depth'} does not apply "
                   "to --raw, which prints bare numbers")
    elif given["--max-rows"] and fmt is not Format.table:
        message = f"--max-rows applies to the table, not to {shown}"
    elif given["--max-depth"] and fmt is not Format.tree:
        message = ("--max-depth applies to --format tree" +
                   (f", not to {shown}" if fmt is not Format.table else ""))
    if message:
        with user_errors(fmt is Format.json or (fmt is Format.jsonl and batch is None)):
            raise ValueInputError(message)


def _passes(graph: Any, values: dict[str, Any], grad: bool) -> Any:
    """The forward pass, and the backward pass for ``grad``: each a phase of the progress
    display (shown when it runs long)."""
    from ..engine import Evaluation, backward, forward

    with phase("forward"):
        forward_values = forward(graph, values)
    if not grad:
        return Evaluation(graph, forward_values)
    with phase("backward"):
        return Evaluation(graph, forward_values, backward(graph, forward_values))


def _write(ev: Any, fmt: Format, *, grad: bool, raw: bool, wrt: list[str] | None,
           precision: int, max_rows: int | None, max_depth: int | None) -> None:
    """Print one point's result as ``--raw``, ``--format`` and the rest say."""
    if raw:
        from ..engine import wrt_ids
        from ..numbers import raw_value

        shown = ev.values[ev.graph.output] if not grad else ev.grads[wrt_ids(ev.graph, wrt)[0][1]]
        sys.stdout.write(raw_value(shown) + "\n")
    elif fmt is Format.json:
        from ..render.json import write as write_json

        write_json(ev, sys.stdout, wrt, gradients=grad)
    elif fmt is Format.tree:
        from ..render.tree import render as render_tree

        render_tree(ev, line_console(), precision=precision, max_depth=max_depth)
    else:
        from ..render.table import render as render_table

        render_table(ev, line_console(), precision=precision, wrt=wrt, max_rows=max_rows)


def _one_gradient(graph: Any, wrt: list[str] | None) -> list[str]:
    """The single gradient ``grad --raw`` prints: the one --wrt, or the only variable."""
    variables = graph.variables
    if wrt and len(wrt) == 1:
        return wrt
    if not wrt and len(variables) == 1:
        return list(variables)
    have = ", ".join(variables) or "none"
    raise ValueInputError(f"--raw prints one gradient: choose it with --wrt NAME (variables: "
                          f"{have})")


def _run_batch(expr: str, at: list[str] | None, at_file: str | None, wrt: list[str] | None,
               fmt: Format, grad: bool, batch: str, batch_format: BatchFormat | None,
               skip_bad_rows: bool) -> None:
    """``--batch FILE``: every row through one batched pass per chunk, rows out in order."""
    from ..batchio import run
    from ..engine import check_wrt
    from .common import note

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
    size = _file_size(stream)  # a file's bytes give the bar; a pipe gets a counter only
    with stream, count("batch", "rows", total=size, output=True) as rows, \
            whole_writes(sys.stdout) as out:
        try:
            run(graph, stream, out, shared=shared,
                in_fmt=batch_format.value if batch_format else None,
                out_fmt="csv" if fmt is Format.csv else "jsonl", gradients=grad, wrt=wrt,
                report=note if skip_bad_rows else None,
                progress=lambda n: rows.update(n, done=_file_position(stream) if size
                                               else None))
        except UnicodeDecodeError:
            raise ValueInputError(f"--batch {batch}: the input is not UTF-8 text") from None


def _file_size(stream: Any) -> int | None:
    """The size of the regular file ``stream`` reads (None for a pipe or a terminal)."""
    import os
    import stat

    try:
        st = os.fstat(stream.fileno())
        stream.buffer.tell()
    except (AttributeError, OSError, ValueError):
        return None
    return st.st_size if stat.S_ISREG(st.st_mode) and st.st_size > 0 else None


def _file_position(stream: Any) -> int | None:
    """How far into its file ``stream`` has read, in bytes."""
    try:
        return stream.buffer.tell()
    except (AttributeError, OSError, ValueError):
        return None
