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


def parse_at(items: list[str] | None) -> dict[str, Any]:
    """``--at NAME=VALUE`` options -> {name: float64 array}; raises CgcliError."""
    from ..ops import CONSTANTS
    from ..parser import parse_value

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


def read_at_file(path: str) -> dict[str, Any]:
    """``--at-file vars.json``: an object of name -> number, nested list, or a constant
    expression as a string (``"pi/4"``)."""
    import json

    from ..parser import parse_value

    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the name
        if isinstance(exc, (json.JSONDecodeError, UnicodeDecodeError)):
            raise ValueInputError(f"--at-file {path}: not a JSON object ({exc})") from None
        raise ValueInputError(f"--at-file {path!r}: {getattr(exc, 'strerror', None) or exc}"
                              ) from None
    if not isinstance(data, dict):
        raise ValueInputError(f"--at-file {path}: expected a JSON object of name: value")
    values = {}
    for name, value in data.items():
        if isinstance(value, str):
            values[name] = parse_value(value, name)
            continue
        try:
            values[name] = parse_value(json.dumps(value), name)
        except Exception as exc:
            raise ValueInputError(f"--at-file {path}: the value of {name!r} is not a number, "
                                  "an array of numbers or a constant expression") from exc
    return values


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
        if at_file:
            values = {**read_at_file(at_file), **values}
    for message in graph.notes:
        note(message)
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
    if fault is None:
        return
    if strict:
        raise fault
    note(fault.message + f" (node {fault.node}; --strict makes this an error)")
