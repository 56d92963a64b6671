"""What every command shares: reading EXPR and values, errors as exit codes, consoles, notes.

The command modules import this module (and :mod:`cgcli.cli.options`), never the module that
assembles the app (:mod:`cgcli.cli.app`). Keep it light: it is imported at every start.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer
from typer.core import TyperCommand

from ..errors import CgcliError, ValueInputError
from .settings import settings  # re-exported: the run's global options and a command's own


class ExpressionCommand(TyperCommand):
    """A command whose expression may begin with '-': ``cgcli grad "-x^2" --at x=3``.

    Click would read ``-x^2`` as an unknown option; the first argument that starts with '-'
    and is not one of the command's options is moved behind ``--`` instead.
    """

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        return super().parse_args(ctx, _expression_last(self, ctx, args))


def expression_command(app: typer.Typer, epilog: str | None = None, **kw: Any) -> Any:
    """``app.command`` for a command that takes an expression (which may begin with '-')."""
    return app.command(cls=ExpressionCommand, epilog=epilog, **kw)


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


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
#: NumPy's limit, and the language's: ``--at`` says "arrays have at most 64 dimensions".
_MAX_DIMS = 64


def _check_name(name: str, values: dict[str, Any], where: str) -> None:
    """A name given a value (by ``--at`` or ``--at-file``): a new variable's name, not a
    constant's; ``where`` begins the message."""
    from ..ops import CONSTANTS

    if name in CONSTANTS:
        raise ValueInputError(f"{where}: '{name}' is a built-in constant "
                              f"({CONSTANTS[name]!r}) and cannot be given a value")
    if name in values:
        raise ValueInputError(f"{where}: '{name}' is given twice")


def parse_at(items: list[str] | None) -> dict[str, Any]:
    """``--at NAME=VALUE`` options -> {name: float64 array}; raises CgcliError."""
    from ..parser import parse_value

    values: dict[str, Any] = {}
    for item in items or ():
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not _NAME.match(name):
            raise ValueInputError(f"--at {item!r}: expected NAME=VALUE, e.g. --at x=1.5")
        _check_name(name, values, f"--at {name}=...")
        values[name] = parse_value(text, name)
    return values


class _Pairs:
    """A JSON object as read, its keys in order and duplicates kept (to be reported)."""

    def __init__(self, pairs: list[tuple[str, Any]]) -> None:
        self.pairs = pairs


def read_at_file(path: str) -> dict[str, Any]:
    """``--at-file vars.json``: an object of name -> number, nested list, or a constant
    expression as a string (``"pi/4"``); names checked as ``--at`` checks them."""
    import json

    from ..parser import parse_value

    if not path:
        raise ValueInputError("--at-file needs a file name: --at-file FILE")
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f, object_pairs_hook=_Pairs)
    except RecursionError:
        raise ValueInputError(f"--at-file {path}: the JSON is nested too deeply (arrays have "
                              f"at most {_MAX_DIMS} dimensions)") from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the name
        if isinstance(exc, (json.JSONDecodeError, UnicodeDecodeError)):
            raise ValueInputError(f"--at-file {path}: not a JSON object ({exc})") from None
        raise ValueInputError(f"--at-file {path!r}: {getattr(exc, 'strerror', None) or exc}"
                              ) from None
    if not isinstance(data, _Pairs):
        raise ValueInputError(f"--at-file {path}: expected a JSON object of name: value")
    values: dict[str, Any] = {}
    for name, value in data.pairs:
        where = f"--at-file {path}"
        if not _NAME.match(name):
            raise ValueInputError(f"{where}: {name!r} is not a variable name (letters, digits "
                                  "and _, not beginning with a digit)")
        _check_name(name, values, where)
        values[name] = (parse_value(value, name) if isinstance(value, str)
                        else _json_array(value, name, where))
    return values


def _json_array(value: Any, name: str, where: str) -> Any:
    """A JSON number or nested list of numbers -> float, or a float64 array; a ragged, empty
    or non-numeric array says which element and why. Walks level by level (no recursion)."""
    import numpy as np

    def at(level: int, k: int) -> str:  # the k-th element of a level: x[1][0]
        return name + "".join(f"[{i}]" for i in np.unravel_index(k, shape[:level]))

    def bad(message: str) -> ValueInputError:
        return ValueInputError(f"{where}: {message}")

    shape: list[int] = []
    items = [value]
    while any(isinstance(v, list) for v in items):
        depth = len(shape)
        first = items[0]
        for k, v in enumerate(items):
            if not (isinstance(v, list) and isinstance(first, list) and len(v) == len(first)):
                if not k:  # a number first, an array later
                    k = next(j for j, u in enumerate(items) if isinstance(u, list))
                    v = items[k]
                raise bad(f"{name} is ragged: {at(depth, k)} {_json_kind(v)} but "
                          f"{at(depth, 0)} {_json_kind(first)} (the rows of a matrix must be "
                          "the same length)")
        if not first:
            raise bad(f"{at(depth, 0)} is an empty array")
        if depth == _MAX_DIMS:
            raise bad(f"{name} has more than {_MAX_DIMS} dimensions")
        shape.append(len(first))
        items = [x for v in items for x in v]
    for k, v in enumerate(items):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise bad(f"{at(len(shape), k)} {_json_kind(v)}, not a number (a value is a "
                      'number, an array of numbers, or a constant expression as a string: '
                      '"pi/4")')
    try:
        array = np.array(value, dtype=np.float64)
    except OverflowError:
        raise bad(f"{name} has a number too large for a float") from None
    return float(array) if array.ndim == 0 else array


def _json_kind(v: Any) -> str:
    """What a JSON value is, for a message: 'has 2 entries', 'is a number', 'is null'."""
    if isinstance(v, list):
        return f"has {len(v)} {'entry' if len(v) == 1 else 'entries'}"
    if isinstance(v, bool) or v is None:
        return f"is {'null' if v is None else str(v).lower()}"
    if isinstance(v, (int, float)):
        return "is a number"
    return "is an object" if isinstance(v, _Pairs) else "is a string"


def note(message: str) -> None:
    """A note on stderr: something worth knowing that is not an error (not with --quiet)."""
    if not settings["quiet"]:
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


def parse_expression(expr: str) -> Any:
    """Parse EXPR (or read it: ``-``, ``@FILE``); print the parser's notes."""
    from ..parser import parse

    graph = parse(read_expression(expr))
    for message in graph.notes:
        note(message)
    return graph


def load(expr: str, at: list[str] | None,
         at_file: str | None = None) -> tuple[Any, dict[str, Any]]:
    """Parse EXPR (or read it: ``-``, ``@FILE``) and the values (``--at-file``, then ``--at``);
    note values the expression does not use."""
    from ..parser import parse
    from .progress import phase

    with phase("reading"):
        text = read_expression(expr)
    with phase("parsing"):
        graph = parse(text)
        values = parse_at(at)
        if at_file is not None:
            values = {**read_at_file(at_file), **values}
    for message in graph.notes:
        note(message)
    given = {item.partition("=")[0].strip() for item in at or ()}
    for name in values:
        if name not in graph.variables:
            why = "is bound in the expression" if name in graph.bindings else "is not used"
            where = f"--at {name}" if name in given else f"--at-file {at_file}"
            note(f"{where}: '{name}' {why}; its value is ignored")
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


def output_format(path: str, formats: dict[str, Any], given: Any = None,
                  hint: str = "") -> Any:
    """The format of ``-o FILE``: ``given`` (a ``--format``), else the one ``formats`` maps
    FILE's suffix (``.svg``) to (an unknown suffix is an error, ``hint`` ends its message);
    checks that FILE's directory exists, before any work is done."""
    from pathlib import Path

    p = Path(path)
    kind = given if given is not None else formats.get(p.suffix.lower())
    if kind is None:
        raise ValueInputError(f"{path}: the file's suffix picks its format: "
                              f"{', '.join(formats)}{hint}")
    if not p.parent.is_dir():
        raise ValueInputError(f"cannot write {path}: the directory {str(p.parent)!r} does "
                              "not exist")
    return kind


def write_output(data: str | bytes, path: str | None) -> None:
    """``data`` (text, or bytes such as a PNG) to the file ``path``, or to standard output;
    bytes go to standard output only when it is not a terminal."""
    if path is None:
        if isinstance(data, str):
            sys.stdout.write(data)
        elif sys.stdout.isatty():
            raise ValueInputError("the output is binary: write it to a file with -o FILE, or "
                                  "redirect standard output")
        else:
            sys.stdout.flush()
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        return
    try:
        with open(path, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
    except OSError as exc:
        raise ValueInputError(f"cannot write {path}: {exc.strerror or exc}") from None


def set_convention(convention: Any) -> None:
    """A command's own ``--convention`` (an enum member, or None: keep the global choice),
    for every pass the rest of the run makes."""
    if convention is not None:
        from ..xp import CONVENTION

        CONVENTION.set(convention.value)


def kink_notes(graph: Any, values: list, root: int | None = None) -> None:
    """A note for each kink the backward pass met where PyTorch and JAX differ."""
    from ..conventions import kink_notes as notes

    for line in notes(graph, values, root):
        note(line)


def set_color(color: Any) -> None:
    """A command's own ``--color`` (an enum member or None: keep the global choice)."""
    if color is not None:
        settings["color"] = color.value


def set_quiet(quiet: bool) -> None:
    """A command's own ``--quiet`` (False: keep the global choice)."""
    if quiet:
        settings["quiet"] = True


def console() -> Any:
    """A Rich console on stdout, coloured as ``--color`` says (auto: only on a terminal,
    never with NO_COLOR)."""
    from ..render.text import rich_console

    return rich_console(settings["color"])


def line_console() -> Any:
    """A console for the line renderers (table, tree): Rich only when colour is shown."""
    from ..render.text import line_console as make

    return make(settings["color"])


def check_finite(ev: Any, strict: bool) -> None:
    """Note (or, with ``strict``, raise) where nan or inf first appeared."""
    fault = ev.nonfinite()
    if fault is not None:
        numeric_fault(fault, strict, aside=f"node {fault.node}")


def numeric_fault(fault: CgcliError, strict: bool, *, raised: str = "", noted: str = "",
                  aside: str = "") -> None:
    """A value that is nan or inf: with ``strict`` the error (exit 3), ``raised`` added to
    its message; else a note, ``noted`` added, and ``aside`` in its parentheses before
    "--strict makes this an error"."""
    if strict:
        fault.message += raised
        raise fault
    note(f"{fault.message}{noted} ({aside + '; ' if aside else ''}--strict makes this an "
         "error)")
