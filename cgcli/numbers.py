"""Numbers as text: significant digits, abbreviated arrays, JSON values, bare numbers for
scripts. Data, not screen: the library and every renderer share these."""

from __future__ import annotations

import math
from typing import Any

#: Arrays longer than twice this along an axis are shown as their ends around an ellipsis.
EDGE_ITEMS = 3


def fmt_scalar(x: float, precision: int = 4) -> str:
    """``x`` to ``precision`` significant digits, as people write it: 0.20, -0.53, 3, 1.2e-07.

    Trailing zeros show that digits were rounded away: 0.1966 at two digits reads 0.20, like
    the lecture's tables, while a number the digits hold exactly reads plainly (0.1, not
    0.1000; whole numbers without a fraction).
    """
    if not math.isfinite(x):
        return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")
    if x == 0:
        return "0"
    a = abs(x)
    if x.is_integer() and a < 1e15:
        return str(int(x))
    exact = math.isclose(float(f"{x:.{precision}g}"), x, rel_tol=1e-12)
    if a < 1e-4 or a >= 1e15:
        s = f"{x:.{precision - 1}e}"  # 1.200e-07
        if exact:  # 1.2e-07
            mantissa, _, exponent = s.partition("e")
            s = mantissa.rstrip("0").rstrip(".") + "e" + exponent
        return s
    if a >= 10 ** precision:  # more integer digits than asked for: keep them all
        return f"{x:.0f}"
    s = format(x, f"#.{precision}g")  # '#' keeps trailing zeros: 0.20
    if "e" in s:  # 99.99 at 2 digits: 100, not 1.0e+02
        return str(round(x))
    if exact:
        s = s.rstrip("0")
    return s.rstrip(".")


def fmt_value(v: Any, precision: int = 4, multiline: bool = False) -> str:
    """A scalar or an array, arrays as nested lists (long axes abbreviated with …); a
    ``multiline`` matrix puts each row on a line of its own."""
    return abbreviate(v, lambda x: fmt_scalar(x, precision), EDGE_ITEMS,
                      "\n " if multiline else " ")


def shape_note(v: Any) -> str:
    """``"(2, 3)"`` for an array, ``""`` for a scalar."""
    if isinstance(v, float):
        return ""
    import numpy as np

    shape = np.shape(v)
    return "" if not shape else "(" + ", ".join(map(str, shape)) + ")"


def json_value(v: Any) -> Any:
    """A JSON-ready number or nested list; nan and ±inf become the strings "nan", "inf", "-inf"."""
    if isinstance(v, float):  # the common case (np.float64 too), kept cheap
        f = float(v)
        return f if math.isfinite(f) else fmt_scalar(f)
    import numpy as np

    a = np.asarray(v, dtype=np.float64)
    if a.ndim == 0:
        f = float(a)
        return f if math.isfinite(f) else fmt_scalar(f)
    if np.isfinite(a).all():
        return a.tolist()
    return [json_value(x) for x in a]


def abbreviate(v: Any, fmt: Any = fmt_scalar, edge: int = 2, row_sep: str = " ") -> str:
    """``v`` as ``fmt`` of a scalar, or nested lists whose axes longer than ``2·edge`` keep only
    their ends around an ellipsis: ``[0.1, 0.2, …, 0.9, 1]``. ``fmt`` formats one float;
    ``row_sep`` follows the comma between the rows of a matrix (``"\n "``: one per line)."""
    if isinstance(v, float):
        return fmt(float(v))
    import numpy as np

    a = np.asarray(v, dtype=np.float64)
    if a.ndim == 0:
        return fmt(float(a))

    def ends(x: np.ndarray) -> list:
        n = x.shape[0]
        return list(x) if n <= 2 * edge else [*x[:edge], None, *x[-edge:]]

    def text(x: Any, sep: str = ", ") -> str:
        if x is None:
            return "…"
        if np.ndim(x) == 0:
            return fmt(float(x))
        return "[" + sep.join(text(y) for y in ends(x)) + "]"

    return text(a, "," + row_sep if a.ndim >= 2 else ", ")


def raw_number(x: float) -> str:
    """The shortest text that reads back as ``x``; whole numbers without ``.0``, so that
    ``$(( $(cgcli eval "2^10" --raw) + 1 ))`` works in a shell."""
    if not math.isfinite(x):
        return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")
    if x.is_integer() and abs(x) < 2**53:
        return str(int(x))
    return repr(float(x))


def raw_value(v: Any) -> str:
    """A scalar as one number; a vector as numbers separated by spaces; a matrix one row per
    line (what ``read -a`` and ``while read`` expect)."""
    if isinstance(v, float):
        return raw_number(float(v))
    import numpy as np

    a = np.asarray(v, dtype=np.float64)
    if a.ndim == 0:
        return raw_number(float(a))
    if a.ndim == 1:
        return " ".join(raw_number(x) for x in a.tolist())
    return "\n".join(raw_value(row) for row in a.reshape(-1, a.shape[-1]))
