"""Charts in the terminal: f and ∂f/∂x as curves of braille dots, a function of two variables
as a shaded heat map, with numbered axes and a legend.

Drawn here with NumPy rather than by a plotting library (uniplot, plotext): two curves must
stay apart without colour (to a pipe the derivative is drawn in quadrant blocks, f in braille
dots), jumps and gaps must stay what they are (:func:`cgcli.sweep.joined`), nan and inf must
not break the axes, and the chart costs no import beyond NumPy. Each chart is a list of
lines of ``(text, style)`` segments for :func:`cgcli.render.text.write_lines`: Rich colours
them on a terminal, a pipe gets the plain text.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..numbers import fmt_scalar
from ..sweep import Sweep, View, shade_range, view
from .text import Segment

VALUE_STYLE, GRAD_STYLE = "green", "red"  # as in the table and the graph pictures
AXIS_STYLE = "dim"
Line = list[Segment]

# Braille: a cell is 2 dots wide and 4 high; bit of the dot at (row, column).
_BRAILLE_BITS = np.array([[0x01, 0x08], [0x02, 0x10], [0x04, 0x20], [0x40, 0x80]])
# Quadrant blocks: a cell is 2 wide and 2 high; index = TL + 2·TR + 4·BL + 8·BR.
_QUADRANTS = np.array(list(" ▘▝▀▖▌▞▛▗▚▐▜▄▙▟█"))
_QUADRANT_BITS = np.array([[1, 2], [4, 8]])
#: The shades of a heat map without colour, lowest first.
SHADES = "·░▒▓█"
#: Colours of a heat map on a terminal, lowest first (viridis at nine stops).
HEAT = ("#440154", "#472d7b", "#3b528b", "#2c728e", "#21918c", "#28ae80", "#5ec962",
        "#addc30", "#fde725")


@dataclass(frozen=True)
class Series:
    """One curve: its samples, which neighbours are joined, its legend and its look."""

    x: np.ndarray
    y: np.ndarray
    joined: np.ndarray
    label: str
    style: str
    glyphs: str  # "braille" or "quadrants" (how it is drawn without colour)


# --- numbers on the axes -----------------------------------------------------------------------

def nice_ticks(lo: float, hi: float, count: int) -> list[float]:
    """About ``count`` round numbers (1, 2, 2.5 or 5 times a power of ten apart) within
    [lo, hi]: at least two when the range is not empty."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo]
    if not math.isfinite(hi - lo):  # wider than a float holds: count in halves
        return [2.0 * t for t in nice_ticks(lo / 2.0, hi / 2.0, count)]
    raw = (hi - lo) / max(count - 1, 1)
    power = 10.0 ** math.floor(math.log10(raw))
    steps = [m * power for m in (10, 5, 2.5, 2, 1, 0.5, 0.25, 0.2, 0.1)]
    k = next(i for i in range(len(steps) - 1, -1, -1) if steps[i] >= raw)
    for step in steps[k:]:  # a smaller step while fewer than two fit
        first = math.ceil(lo / step - 1e-9)
        last = math.floor(hi / step + 1e-9)
        if last > first:
            break
    return [0.0 if j == 0 else j * step for j in range(first, last + 1)]


def y_tick_count(height: int) -> int:
    """About one number every three rows of the y axis."""
    return max(2, height // 3 + 1)


def tick_label(t: float) -> str:
    """A tick's round number as people write it: 0.25, -2.5, 100, 1e+12."""
    return "0" if t == 0 else f"{t:.10g}"


# --- the canvas --------------------------------------------------------------------------------

def _pixels(series: Series, x0: float, x1: float, lo: float, hi: float, cols: int,
            rows: int) -> np.ndarray:
    """A (rows, cols) grid of booleans: the curve's samples and the lines joining them."""
    grid = np.zeros((rows, cols), dtype=bool)
    with np.errstate(all="ignore"):
        px = (series.x - x0) / (x1 - x0) * (cols - 1)
        py = (hi - series.y) / (hi - lo) * (rows - 1)
    finite = np.isfinite(py)
    inside = finite & (py > -0.5) & (py < rows - 0.5)
    grid[np.rint(py[inside]).astype(int), np.rint(px[inside]).astype(int)] = True
    k = np.flatnonzero(series.joined)
    if k.size == 0:
        return grid
    c0, c1, r0, r1 = px[k], px[k + 1], py[k], py[k + 1]
    # Clip each segment to the rows shown: a curve that leaves the chart is cut at its edge.
    with np.errstate(all="ignore"):
        dr = r1 - r0
        ta = np.where(dr != 0, (-0.5 - r0) / dr, -np.inf)
        tb = np.where(dr != 0, (rows - 0.5 - r0) / dr, np.inf)
        t_in = np.clip(np.minimum(ta, tb), 0, 1)
        t_out = np.clip(np.maximum(ta, tb), 0, 1)
    flat_inside = (dr != 0) | ((r0 > -0.5) & (r0 < rows - 0.5))
    keep = flat_inside & (t_in <= t_out)
    c0, c1, r0, r1, t_in, t_out = (a[keep] for a in (c0, c1, r0, r1, t_in, t_out))
    a_c, a_r = c0 + (c1 - c0) * t_in, r0 + (r1 - r0) * t_in
    b_c, b_r = c0 + (c1 - c0) * t_out, r0 + (r1 - r0) * t_out
    steps = (np.ceil(np.maximum(np.abs(b_c - a_c), np.abs(b_r - a_r))) + 1).astype(int)
    seg = np.repeat(np.arange(steps.size), steps)
    start = np.cumsum(steps) - steps
    t = (np.arange(seg.size) - start[seg]) / np.maximum(steps[seg] - 1, 1)
    cc = np.rint(a_c[seg] + (b_c - a_c)[seg] * t).astype(int)
    rr = np.rint(a_r[seg] + (b_r - a_r)[seg] * t).astype(int)
    ok = (rr >= 0) & (rr < rows) & (cc >= 0) & (cc < cols)
    grid[rr[ok], cc[ok]] = True
    return grid


def _braille(grid: np.ndarray) -> np.ndarray:
    """(4·h, 2·w) dots -> (h, w) braille characters' offsets from U+2800."""
    h, w = grid.shape[0] // 4, grid.shape[1] // 2
    return (grid.reshape(h, 4, w, 2) * _BRAILLE_BITS[None, :, None, :]).sum(axis=(1, 3))


def _quadrants(grid: np.ndarray) -> np.ndarray:
    """(4·h, 2·w) dots -> (h, w) indices into the quadrant blocks (2x2 per cell)."""
    h, w = grid.shape[0] // 4, grid.shape[1] // 2
    half = grid.reshape(h, 2, 2, w, 2).any(axis=2)  # rows of dots in pairs
    return (half * _QUADRANT_BITS[None, :, None, :]).sum(axis=(1, 3))


def _frame(cells: list[list[Segment]], lo: float, hi: float, x0: float, x1: float,
           xname: str, height: int, width: int,
           yt: Sequence[float] | None = None) -> list[Line]:
    """The plot area's rows with the y axis (numbers on the left, at ``yt`` or round
    numbers) and the x axis below."""
    if yt is None:
        yt = nice_ticks(lo, hi, y_tick_count(height))
    ylabels = {}
    for t in yt:
        row = round((hi - t) / (hi - lo) * (height * 4 - 1) / 4 - 0.375)
        if 0 <= row < height:
            ylabels[row] = tick_label(t)
    margin = max(len(s) for s in ylabels.values()) if ylabels else 1
    lines: list[Line] = []
    for r in range(height):
        label = ylabels.get(r)
        head = (f"{label:>{margin}} ┤" if label is not None else " " * margin + " │")
        lines.append([(head, AXIS_STYLE), *cells[r]])
    xt = nice_ticks(x0, x1, max(2, width // 8))
    axis = ["─"] * width
    under = [" "] * (width + margin + 2 + len(xname) + 2)
    for t in xt:
        c = round((t - x0) / (x1 - x0) * (width * 2 - 1) / 2 - 0.25)
        if 0 <= c < width:
            axis[c] = "┬"
            text = tick_label(t)
            at = margin + 2 + c - len(text) // 2
            at = max(0, min(at, margin + 2 + width - len(text)))
            if all(ch == " " for ch in under[max(0, at - 1):at + len(text) + 1]):
                under[at:at + len(text)] = text
    lines.append([(" " * margin + " └" + "".join(axis), AXIS_STYLE)])
    name_at = margin + 2 + width + 1
    under[name_at:name_at + len(xname)] = xname
    lines.append([("".join(under).rstrip(), AXIS_STYLE)])
    return lines


def _zero_lines(cells: np.ndarray, lo: float, hi: float, x0: float, x1: float) -> None:
    """Dotted lines at y = 0 and x = 0 in the empty cells, where they fall inside."""
    height, width = cells.shape
    if lo < 0 < hi:
        r = round((hi - 0) / (hi - lo) * (height * 4 - 1) / 4 - 0.375)
        if 0 <= r < height:
            row = cells[r]
            row[row == " "] = "┈"
    if x0 < 0 < x1:
        c = round((0 - x0) / (x1 - x0) * (width * 2 - 1) / 2 - 0.25)
        if 0 <= c < width:
            col = cells[:, c]
            col[col == " "] = "┊"
            col[col == "┈"] = "┼"


def _rstrip(lines: list[Line]) -> list[Line]:
    """Lines without trailing blanks (a file or an editor would drop them anyway)."""
    out = []
    for line in lines:
        line = list(line)
        while line and not line[-1][0].rstrip():
            line.pop()
        if line:
            line[-1] = (line[-1][0].rstrip(), line[-1][1])
        out.append(line)
    return out


def curves(series: Sequence[Series], shown: View, *, width: int, height: int, color: bool,
           xname: str, title: str = "") -> list[Line]:
    """The chart of one or more curves over the same x range, as styled lines.

    With ``color`` every curve is braille in its own colour; without, the first is braille
    and the others quadrant blocks, so they stay apart in plain text. Earlier curves are
    drawn over later ones where they meet.
    """
    width = max(width, 10)
    height = max(height, 4)
    x0 = float(min(s.x[0] for s in series))
    x1 = float(max(s.x[-1] for s in series))
    lo, hi = shown.low, shown.high
    ticks = nice_ticks(lo, hi, y_tick_count(height))
    if not shown.clipped and len(ticks) > 1:  # widen to round numbers at the top and bottom
        step = ticks[1] - ticks[0]
        wide = math.floor(lo / step + 1e-9) * step, math.ceil(hi / step - 1e-9) * step
        if math.isfinite(wide[1] - wide[0]):
            lo, hi = wide
            ticks = [lo + k * step for k in range(round((hi - lo) / step) + 1)]
            ticks = [0.0 if abs(t) < step * 1e-9 else t for t in ticks]
    rows, cols = height * 4, width * 2
    cells = np.full((height, width), " ", dtype="<U1")
    owner = np.full((height, width), -1)
    for k in range(len(series) - 1, -1, -1):
        s = series[k]
        grid = _pixels(s, x0, x1, lo, hi, cols, rows)
        if color or s.glyphs == "braille":
            code = _braille(grid)
            mark = code > 0
            cells[mark] = [chr(0x2800 + int(c)) for c in code[mark]]
        else:
            code = _quadrants(grid)
            mark = code > 0
            cells[mark] = _QUADRANTS[code[mark]]
        owner[mark] = k
    _zero_lines(cells, lo, hi, x0, x1)
    styled: list[list[Segment]] = []
    for r in range(height):
        row: list[Segment] = []
        for c in range(width):
            k = owner[r, c]
            style = series[k].style if k >= 0 else AXIS_STYLE
            ch = str(cells[r, c])
            if row and row[-1][1] == style:
                row[-1] = (row[-1][0] + ch, style)
            else:
                row.append((ch, style))
        styled.append(row)
    lines: list[Line] = []
    if title:
        lines.append([(title, "bold")])
    legend: Line = []
    for s in series:
        sample = "⣀⣀" if color or s.glyphs == "braille" else "▄▄"
        legend += [("   " if legend else "", ""), (sample, s.style), (" " + s.label, "")]
    lines.append(legend)
    lines += _frame(styled, lo, hi, x0, x1, xname, height, width, ticks)
    if shown.clipped:
        lines.append([(f"(the curves leave the chart: y is shown from {fmt_scalar(lo, 3)} to "
                       f"{fmt_scalar(hi, 3)}; --ylim LOW,HIGH chooses)", AXIS_STYLE)])
    return _rstrip(lines)


def plot_1d(sweep: Sweep, *, width: int, height: int, color: bool,
            ylim: tuple[float, float] | None = None) -> list[Line]:
    """f and ∂f/∂x of a one-variable sweep in one chart."""
    graph = sweep.graph
    (name,) = sweep.wrt
    x = sweep.axes[0]
    f, g = sweep.value, sweep.gradient[name]
    shown = view(x, [(f, g), (g, None)], ylim)
    series = [Series(x, f, shown.joined[0], graph.label(graph.output, 40), VALUE_STYLE,
                     "braille"),
              Series(x, g, shown.joined[1], f"∂{graph.output_name}/∂{name}", GRAD_STYLE,
                     "quadrants")]
    return curves(series, shown, width=width, height=height, color=color, xname=name,
                  title=_title(sweep))


def _title(sweep: Sweep) -> str:
    graph = sweep.graph
    text = " ".join(graph.source.split())
    text = text if len(text) <= 60 else text[:59] + "…"
    ranges = ", ".join(f"{n} from {fmt_scalar(float(a[0]))} to {fmt_scalar(float(a[-1]))}"
                       for n, a in zip(sweep.wrt, sweep.axes, strict=True))
    fixed = ", ".join(f"{n} = {fmt_scalar(float(v))}" if np.ndim(v) == 0 else f"{n} fixed"
                      for n, v in sweep.fixed.items() if n in graph.variables)
    return f"{text}: {ranges}" + (f"; {fixed}" if fixed else "")


def heat_map(sweep: Sweep, *, width: int, height: int, color: bool) -> list[Line]:
    """f of a two-variable sweep as a shaded heat map: y up, one cell per sample (two per
    cell, stacked, on a colour terminal), the scale of shades below."""
    xname, yname = sweep.wrt
    xs, ys = sweep.axes
    f = sweep.value
    lo, hi, clipped = shade_range(f)
    levels = len(HEAT) if color else len(SHADES)
    with np.errstate(all="ignore"):
        level = np.floor((f - lo) / (hi - lo) * levels)
    level = np.clip(np.where(np.isfinite(level), level, -1), -1, levels - 1).astype(int)
    level[np.isfinite(f) & (f > hi)] = levels - 1
    ny, nx = f.shape
    cols = np.rint(np.linspace(0, nx - 1, width)).astype(int)
    sub = 2 if color else 1
    rows_idx = np.rint(np.linspace(ny - 1, 0, height * sub)).astype(int)  # top row: largest y
    grid = level[np.ix_(rows_idx, cols)]
    styled: list[list[Segment]] = []
    for r in range(height):
        row: list[Segment] = []
        for c in range(width):
            if color:
                top, bottom = grid[2 * r, c], grid[2 * r + 1, c]
                fg = HEAT[top] if top >= 0 else "black"
                bg = HEAT[bottom] if bottom >= 0 else "black"
                seg = ("▀", f"{fg} on {bg}")
            else:
                v = grid[r, c]
                seg = (SHADES[v] if v >= 0 else " ", "")
            if row and row[-1][1] == seg[1]:
                row[-1] = (row[-1][0] + seg[0], seg[1])
            else:
                row.append(seg)
        styled.append(row)
    lines: list[Line] = [[(_title(sweep), "bold")]]
    lines += _frame(styled, float(ys[0]), float(ys[-1]), float(xs[0]), float(xs[-1]), xname,
                    height, width)
    # The y axis of a heat map numbers rows of samples, so its ticks are placed like a curve's.
    lines.insert(1, [(f"{yname} ↑", AXIS_STYLE)])
    scale: Line = [(f"{graph_label(sweep)}: ", "")]
    edges = np.linspace(lo, hi, levels + 1)
    for k in range(levels):
        mark = ("██", HEAT[k]) if color else (SHADES[k] * 2, "")
        scale += [(fmt_scalar(float(edges[k]), 3) + " ", AXIS_STYLE), mark, (" ", "")]
    scale.append((fmt_scalar(float(edges[-1]), 3), AXIS_STYLE))
    lines.append(scale)
    if clipped:
        lines.append([(f"(shades span {fmt_scalar(lo, 3)} to {fmt_scalar(hi, 3)}; f goes "
                       "further)", AXIS_STYLE)])
    return _rstrip(lines)


def graph_label(sweep: Sweep) -> str:
    """What the legend calls f."""
    return sweep.graph.label(sweep.graph.output, 40)


def document(sweep: Sweep) -> dict:
    """The samples as data: ``{"expression", "wrt", "at", "x", "value", "gradient"}`` for one
    variable; for two, ``"wrt"`` lists both, ``"y"`` holds the second's samples, and
    ``"value"`` and each ``"gradient"[name]`` are grids with a row per y."""
    from ..numbers import json_value

    graph = sweep.graph
    doc: dict = {"expression": graph.source,
                 "wrt": sweep.wrt[0] if len(sweep.wrt) == 1 else list(sweep.wrt),
                 "at": {n: json_value(v) for n, v in sweep.fixed.items()
                        if n in graph.variables}}
    if len(sweep.wrt) == 1:
        doc["x"] = json_value(sweep.axes[0])
        doc["value"] = json_value(sweep.value)
        doc["gradient"] = json_value(sweep.gradient[sweep.wrt[0]])
    else:
        doc["x"], doc["y"] = (json_value(a) for a in sweep.axes)
        doc["value"] = json_value(sweep.value)
        doc["gradient"] = {n: json_value(sweep.gradient[n]) for n in sweep.wrt}
    return doc


def render_json(sweep: Sweep) -> str:
    """The document as JSON text, a key a line (no NaN literals: nan is "nan")."""
    import json

    dump = json.JSONEncoder(ensure_ascii=False, allow_nan=False).encode
    return "{\n" + ",\n".join(f"  {dump(k)}: {dump(v)}"
                              for k, v in document(sweep).items()) + "\n}"
