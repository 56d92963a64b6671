"""Styled lines, written fast: plain text to a pipe, Rich only where colour is shown.

Renderers build each line as a list of ``(text, style)`` segments. To a pipe (or with
NO_COLOR) the text is written straight to the console's file, so a table of 100,000 nodes
costs microseconds per line; on a colour terminal each line goes through Rich.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Iterable
from typing import Any

Segment = tuple[str, str]  # (text, Rich style)

#: Stand-ins for a stream that cannot encode box drawing and math (ASCII, cp1252, ...).
_ASCII = str.maketrans({"┏": "+", "┳": "+", "┓": "+", "┡": "+", "╇": "+", "┩": "+",
                        "└": "+", "┴": "+", "┘": "+", "━": "-", "─": "-", "┃": "|",
                        "│": "|", "├": "+", "∂": "d", "·": ".", "…": "~"})


def _encodable(out: Any) -> bool:
    try:
        "┃∂…".encode(getattr(out, "encoding", None) or "utf-8")
    except (UnicodeEncodeError, LookupError):
        return False
    return True


class PlainConsole:
    """What the line renderers need of a Rich console, for output without colour.

    A pipe does not need Rich at all: the table and the tree then start ~40 ms sooner.
    Width as Rich picks it off a terminal: ``COLUMNS``, else 80.
    """

    color_system = None

    def __init__(self, file: Any) -> None:
        self.file = file
        try:
            self.width = int(os.environ.get("COLUMNS", "80"))
        except ValueError:
            self.width = 80


def write_lines(console: Any, lines: Iterable[list[Segment]]) -> None:
    """Print each line of segments to ``console``: styled on a colour terminal, else plain."""
    if console.color_system is None:
        out = console.file
        plain = _encodable(out)
        buffer: list[str] = []
        for line in lines:
            text = "".join(text for text, _ in line)
            buffer.append(text if plain else text.translate(_ASCII))
            if len(buffer) >= 4096:
                out.write("\n".join(buffer) + "\n")
                buffer.clear()
        if buffer:
            out.write("\n".join(buffer) + "\n")
        return
    from rich.text import Text

    for line in lines:
        console.print(Text.assemble(*line), no_wrap=True, overflow="ellipsis", crop=True)


def color_settings(choice: str) -> dict[str, Any]:
    """Rich Console keyword arguments for ``--color auto|always|never``.

    ``auto`` colours only a terminal, and never when ``NO_COLOR`` is set (Rich's own rule);
    ``always`` colours pipes too; ``never`` never does.
    """
    if choice == "always":
        return {"force_terminal": True, "color_system": "standard"}
    if choice == "never" or os.environ.get("NO_COLOR"):
        return {"no_color": True, "color_system": None}
    return {} if sys.stdout.isatty() else {"color_system": None}


def rich_console(choice: str = "auto") -> Any:
    """A Rich console on standard output, coloured as ``choice`` says (see
    :func:`color_settings`)."""
    from rich.console import Console

    # force_jupyter=False: in a notebook kernel (the %cgcli magic) the text still goes to
    # standard output, where the caller captured it, not to IPython's display.
    console = Console(highlight=False, force_jupyter=False, **color_settings(choice))
    console.on_broken_pipe = _reader_left  # Rich's own exits 1, which means "no" here
    return console


def _reader_left() -> None:
    """The reader of standard output left (``| head``): let the command line decide."""
    raise BrokenPipeError(errno.EPIPE, "the reader of standard output left")


def line_console(choice: str = "auto") -> Any:
    """A console for the line renderers (table, tree): Rich only when colour is shown."""
    if color_settings(choice).get("color_system", "auto") is None:
        return PlainConsole(sys.stdout)
    return rich_console(choice)
