"""Errors a user can cause, each with a kind, an exit code and (where known) a position.

Every failure that stems from what the user typed is a :class:`CgcliError`; the CLI prints
its :meth:`~CgcliError.render` and exits with :attr:`~CgcliError.exit_code`. Anything else
is a bug in cgcli.
"""

from __future__ import annotations

#: Exit codes, documented in README and ``--help``.
EXIT_OK = 0
EXIT_FAILED = 1  # the answer is "no": a gradient check failed, an expected answer is wrong
EXIT_INPUT = 2  # invalid input
EXIT_NUMERIC = 3  # --strict: a value or gradient is nan or inf
EXIT_TOOL = 4  # an external program (Graphviz's dot) is missing or failed
EXIT_INTERNAL = 70  # a bug in cgcli


class CgcliError(Exception):
    """An error in the user's input.

    ``source`` is the text the error refers to (an expression or an ``--at`` value) and
    ``pos`` a 0-based character offset into it, used to draw a caret under the culprit.
    """

    kind = "input"
    exit_code = EXIT_INPUT

    def __init__(self, message: str, *, source: str | None = None, pos: int | None = None,
                 what: str = "expression") -> None:
        super().__init__(message)
        self.message = message
        self.source = source
        self.pos = pos
        self.what = what

    def located(self, source: str, pos: int | None, what: str = "expression") -> CgcliError:
        """Attach a position if the error has none yet, and return self."""
        if self.source is None:
            self.source, self.pos, self.what = source, pos, what
        return self

    @property
    def line_column(self) -> tuple[int, int] | None:
        """1-based (line, column) of ``pos`` in ``source``, or None."""
        if self.source is None or self.pos is None:
            return None
        pos = max(0, min(self.pos, len(self.source)))
        line = self.source.count("\n", 0, pos) + 1
        column = pos - (self.source.rfind("\n", 0, pos) + 1) + 1
        return line, column

    def render(self) -> str:
        """The message with the offending line and a caret under the position."""
        lc = self.line_column
        if lc is None:
            return f"error: {self.message}"
        line, column = lc
        text = self.source.split("\n")[line - 1]  # type: ignore[union-attr]
        # Keep very long lines readable: show a window around the column.
        start = max(0, column - 60)
        shown = text[start:start + 100].replace("\t", " ")
        prefix = "…" if start else ""
        caret = " " * (len(prefix) + column - 1 - start) + "^"
        where = f"line {line}, column {column}" if "\n" in self.source else f"column {column}"  # type: ignore[operator]
        return f"error: {self.message} ({where} of the {self.what})\n  {prefix}{shown}\n  {caret}"

    def to_json(self) -> dict:
        """The ``{"type", "message", "column"?, "line"?}`` object of ``--json`` errors."""
        out: dict = {"type": self.kind, "message": self.message}
        lc = self.line_column
        if lc is not None:
            out["line"], out["column"] = lc
        return out


class ParseError(CgcliError):
    """The text is not in the language."""

    kind = "parse"


class NameError_(CgcliError):
    """An unknown function or constant, a bad binding, or a variable without a value."""

    kind = "name"


class ArityError(CgcliError):
    """A function called with the wrong number or names of arguments."""

    kind = "arity"


class ShapeError(CgcliError):
    """Operands whose shapes do not fit the operation."""

    kind = "shape"


class LimitError(CgcliError):
    """An input beyond cgcli's documented size limits (README: Limits)."""

    kind = "limit"


class NumericError(CgcliError):
    """A value that is nan or inf, under ``--strict``."""

    kind = "numeric"
    exit_code = EXIT_NUMERIC


class ValueInputError(CgcliError):
    """A malformed ``--at NAME=VALUE`` or other option value."""

    kind = "value"
