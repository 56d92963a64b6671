"""Pieces for shell scripts: bare numbers, values from a JSON file, colour choice."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from .errors import ValueInputError


def raw_number(x: float) -> str:
    """The shortest text that reads back as ``x``; whole numbers without ``.0``, so that
    ``$(( $(cgcli eval "2^10" --raw) + 1 ))`` works in a shell."""
    if x != x or x in (float("inf"), float("-inf")):
        return "nan" if x != x else ("inf" if x > 0 else "-inf")
    if x.is_integer() and abs(x) < 2**53:
        return str(int(x))
    return repr(float(x))


def raw_value(v: Any) -> str:
    """A scalar as one number; a vector as numbers separated by spaces; a matrix one row per
    line (what ``read -a`` and ``while read`` expect)."""
    import numpy as np

    a = np.asarray(v, dtype=np.float64)
    if a.ndim == 0:
        return raw_number(float(a))
    if a.ndim == 1:
        return " ".join(raw_number(x) for x in a.tolist())
    return "\n".join(raw_value(row) for row in a.reshape(-1, a.shape[-1]))


def read_at_file(path: str) -> dict[str, Any]:
    """``--at-file vars.json``: an object of name -> number, nested list, or a constant
    expression as a string (``"pi/4"``)."""
    from .parser import parse_value

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
