"""Commands that show what gradients look like and what they are for: plot and descend.

Exit codes (errors.py): 2 invalid input (a bad expression or option, an empty range, a
missing value, a directory that does not exist), 3 nan or inf with ``--strict``, 4 when a
figure (``-o FILE.svg|png|pdf``, ``--plot FILE``) needs Matplotlib and it is missing. The
library, the renderers and Matplotlib are imported inside the commands.

(No ``from __future__ import annotations`` here: Typer reads the option types from the
annotations.)
"""

import sys
from enum import Enum
from typing import Annotated, Any

import typer

from ..errors import ValueInputError
from .common import (
    expression_command,
    line_console,
    load,
    note,
    numeric_fault,
    output_format,
    set_color,
    set_convention,
    user_errors,
    write_output,
)
from .options import At, AtFile, ColorOpt, ConventionOpt, Expr, JsonFlag, Strict
from .progress import track

app = typer.Typer()

EPILOG = """\
Exit codes: 0 success · 2 invalid input · 3 a value or gradient is nan or inf (with
--strict) · 4 Matplotlib is missing (figures: pip install "cgcli[plot]") · 70 internal error
· 130 interrupted (Ctrl-C).
"""


class PlotFormat(str, Enum):
    chart = "chart"
    json = "json"


class DescendFormat(str, Enum):
    table = "table"
    json = "json"
    jsonl = "jsonl"


Points = Annotated[int | None, typer.Option(
    "--points", metavar="N", show_default=False,
    help="Samples, endpoints included: default 201 for one variable, and per axis for two "
         "(default 41 in files, the chart's cells in the terminal).")]
Output = Annotated[str | None, typer.Option(
    "--output", "-o", metavar="FILE", show_default=False,
    help="Write a figure drawn by Matplotlib: FILE.svg, FILE.png or FILE.pdf (pip install "
         "'cgcli[plot]'); FILE.json writes the data.")]
Width = Annotated[int | None, typer.Option(
    "--width", min=20, max=1000, metavar="COLS", show_default=False,
    help="The terminal chart's width in characters (default: the terminal's, at most 100).")]
Height = Annotated[int | None, typer.Option(
    "--height", min=4, max=500, metavar="ROWS", show_default=False,
    help="The terminal chart's height in lines of the plot area (default 16; 20 for a heat "
         "map).")]


@expression_command(app, EPILOG)
def plot(
    expr: Expr,
    wrt: Annotated[list[str] | None, typer.Option(
        "--wrt", metavar="NAME", show_default=False,
        help="The variable on the x axis; twice (--wrt x --wrt y) for a heat map of two. "
             "Default: the expression's only variable.")] = None,
    from_: Annotated[list[str] | None, typer.Option(
        "--from", metavar="A", show_default=False,
        help="Where the range starts (a constant expression: -2, -pi); default -5. Give it "
             "once for every --wrt variable, or once per variable in order.")] = None,
    to: Annotated[list[str] | None, typer.Option(
        "--to", metavar="B", show_default=False,
        help="Where the range ends; default 5.")] = None,
    at: At = None,
    at_file: AtFile = None,
    points: Points = None,
    output: Output = None,
    format: Annotated[PlotFormat, typer.Option(
        "--format", case_sensitive=False,
        help="chart (in the terminal) or json (the samples: x, value, gradient).")
    ] = PlotFormat.chart,
    json_flag: JsonFlag = False,
    ylim: Annotated[str | None, typer.Option(
        "--ylim", metavar="LOW,HIGH", show_default=False,
        help="The y range shown, e.g. --ylim=-2,2 (default: every sample, or the part away "
             "from a pole).")] = None,
    width: Width = None,
    height: Height = None,
    strict: Strict = False,
    color: ColorOpt = None,
    convention: ConventionOpt = None,
) -> None:
    """Draw f and its derivative ∂f/∂x over a range, or f of two variables as a heat map.

    In the terminal: one chart of both curves (braille dots; the derivative in blocks when
    there is no colour), numbered axes and a legend; jumps and gaps (nan, inf) show as
    such. -o draws a figure with Matplotlib: the curves, or for two variables the contours
    of f with its gradient field as arrows. All samples come from one batched pass.

    \b
    Examples:
      cgcli plot "sigmoid(x)"
      cgcli plot "relu(x)" --from -2 --to 2 -o relu.svg
      cgcli plot "sigmoid(w*x)" --wrt x --at w=3 --json
      cgcli plot "x^2 + 3*y^2" --wrt x --wrt y --from -2 --to 2 -o bowl.png
    """
    fmt = PlotFormat.json if json_flag else format
    set_color(color)
    set_convention(convention)
    with user_errors(fmt is PlotFormat.json and output is None):
        kind = _output_kind(output)
        if fmt is PlotFormat.json and kind not in (None, "json"):
            raise ValueInputError(f"--format json writes the samples: give -o FILE.json, "
                                  f"or leave out --format json to draw {output}")
        graph, fixed = load(expr, at, at_file)
        names = _plot_variables(graph, wrt)
        ranges = _ranges(names, from_, to)
        limits = _ylim(ylim)
        console = None
        if kind is None and fmt is PlotFormat.chart:
            console = line_console()
            cols, rows = _chart_size(console, width, height, len(names))
            if points is None and len(names) == 2:  # a sample per cell (two on colour)
                points_used: Any = (cols, rows * (2 if console.color_system else 1))
            else:
                points_used = points
        else:
            points_used = points
        from ..sweep import sample

        sweep = sample(graph, names, ranges, points_used, fixed)
        _check_finite(sweep, strict)
        if kind == "json" or (kind is None and fmt is PlotFormat.json):
            from ..render.chart import render_json

            write_output(render_json(sweep) + "\n", output)
        elif kind is not None:
            from ..render import figure

            fig = (figure.curve_figure(sweep, limits) if len(names) == 1
                   else figure.field_figure(sweep))
            figure.save(fig, output, kind)  # type: ignore[arg-type]
    if console is not None:
        from ..render.chart import heat_map, plot_1d
        from ..render.text import write_lines

        color_on = console.color_system is not None
        lines = (plot_1d(sweep, width=cols, height=rows, color=color_on, ylim=limits)
                 if len(names) == 1 else heat_map(sweep, width=cols, height=rows,
                                                  color=color_on))
        write_lines(console, lines)


@expression_command(app, EPILOG)
def descend(
    expr: Expr,
    at: At = None,
    at_file: AtFile = None,
    lr: Annotated[float, typer.Option(
        "--lr", metavar="LR", help="The learning rate: p ← p − LR·∇f.")] = 0.1,
    steps: Annotated[int, typer.Option(
        "--steps", metavar="N", help="Updates to make (step 0 is the start).")] = 10,
    momentum: Annotated[float, typer.Option(
        "--momentum", metavar="MU",
        help="Momentum as in PyTorch's SGD: v ← MU·v + ∇f; p ← p − LR·v.")] = 0.0,
    tol: Annotated[float, typer.Option(
        "--tol", metavar="TOL",
        help="Stop when ‖∇f‖ ≤ TOL: converged (default 0: only at a stationary point).")
    ] = 0.0,
    wrt: Annotated[list[str] | None, typer.Option(
        "--wrt", metavar="NAME", show_default=False,
        help="Descend on NAME only, holding the other variables at their --at values. "
             "Repeatable; default: every variable.")] = None,
    plot_file: Annotated[str | None, typer.Option(
        "--plot", metavar="FILE", show_default=False,
        help="Draw the path over f's curve (one variable) or contours (two) into FILE.svg, "
             ".png or .pdf (needs Matplotlib).")] = None,
    format: Annotated[DescendFormat, typer.Option(
        "--format", case_sensitive=False,
        help="table, json (one document) or jsonl (one step a line, written as it runs).")
    ] = DescendFormat.table,
    json_flag: JsonFlag = False,
    precision: Annotated[int, typer.Option(
        "--precision", min=1, max=17, metavar="N",
        help="Significant digits in the table (JSON has full precision).")] = 4,
    strict: Strict = False,
    color: ColorOpt = None,
    convention: ConventionOpt = None,
) -> None:
    """Gradient descent from the --at point: the point, f and ‖∇f‖ after every step.

    Plain steps p ← p − lr·∇f, or with --momentum PyTorch's SGD rule. Every variable moves
    (or the --wrt ones); each needs a start value. Stops after --steps updates, or when
    ‖∇f‖ ≤ --tol, or at a value or gradient that is not finite.

    \b
    Examples:
      cgcli descend "(w - 3)^2" --at w=0 --steps 3
      cgcli descend "x^2 + 10*y^2" --at x=4 --at y=1 --lr 0.05 --momentum 0.9 --tol 1e-6 --steps 500
      cgcli descend "(sigmoid(w*x) - 1)^2" --at w=0 --at x=2 --wrt w --format jsonl
      cgcli descend "x^2 + 3*y^2" --at x=2 --at y=1 --plot path.svg
    """
    fmt = DescendFormat.json if json_flag else format
    set_color(color)
    set_convention(convention)
    from ..descent import converged
    from ..descent import descend as run

    with user_errors(fmt is DescendFormat.json):
        kind = _output_kind(plot_file, data=False)
        graph, values = load(expr, at, at_file)
        iterator = run(graph, values, lr=lr, steps=steps, momentum=momentum, tol=tol,
                       wrt=wrt)
        names = list(wrt) if wrt else list(graph.variables)
        if kind is not None:
            _check_plottable(names, values)
    from ..render import descent as out

    keep = fmt is not DescendFormat.jsonl or kind is not None  # jsonl alone keeps no rows
    done: list = []
    first = last = None
    with user_errors(fmt is DescendFormat.json):
        for step in track(iterator, "descent", "steps", total=steps + 1,
                          output=fmt is DescendFormat.jsonl):
            if first is None:
                first = step
            last = step
            if keep:
                done.append(step)
            if fmt is DescendFormat.jsonl:
                sys.stdout.write(out.step_line(step) + "\n")
                sys.stdout.flush()
        if last.fault is not None:
            numeric_fault(last.fault, strict, raised=f" at step {last.step}",
                          noted=f" at step {last.step}; the descent stops there")
    ok = converged(last, tol)
    output = graph.output_name
    fixed = {n: v for n, v in first.at.items() if n not in names}
    if fmt is DescendFormat.json:
        settings = {"wrt": names, "lr": lr, "momentum": momentum, "tol": tol}
        sys.stdout.write(out.document(graph.source, done, ok, settings) + "\n")
    elif fmt is DescendFormat.table:
        from ..render.text import write_lines

        title = (f"gradient descent on {' '.join(graph.source.split())[:60]}: "
                 f"{out.settings_text(lr, momentum, fixed)}")
        lines = out.table(done, names, output, title, precision)
        lines.append(out.summary(last, names, output, tol, ok, precision))
        write_lines(line_console(), lines)
    if last.fault is None and last.value > first.value:
        from ..numbers import fmt_scalar

        note(f"{output} grew from {fmt_scalar(first.value, 4)} to "
             f"{fmt_scalar(last.value, 4)}: the steps overshoot; try a smaller --lr")
    if kind is not None:
        with user_errors(False):
            _descent_figure(graph, done, names, fixed, plot_file, kind)  # type: ignore[arg-type]


# --- helpers -----------------------------------------------------------------------------------

#: The files -o and --plot write, by suffix.
FIGURES = {".svg": "svg", ".png": "png", ".pdf": "pdf"}


def _output_kind(path: str | None, data: bool = True) -> str | None:
    """The format a file's suffix asks for (svg, png, pdf, or json when ``data``); checks
    that its directory exists before any work is done."""
    if path is None:
        return None
    return output_format(path, {**FIGURES, ".json": "json"} if data else FIGURES)


def _plot_variables(graph: Any, wrt: list[str] | None) -> list[str]:
    """The --wrt names, or the expression's only variable."""
    if wrt:
        return list(wrt)
    variables = list(graph.variables)
    if len(variables) == 1:
        return variables
    if not variables:
        raise ValueInputError("the expression has no variable to plot against")
    raise ValueInputError(f"choose the variable on the x axis with --wrt NAME (and hold "
                          f"the others with --at); the expression has {', '.join(variables)}")


def _number(text: str, option: str) -> float:
    import math

    from ..parser import parse_value

    value = parse_value(text, option)
    if not isinstance(value, float):
        raise ValueInputError(f"{option} {text}: expected a number")
    if not math.isfinite(value):
        raise ValueInputError(f"{option} {text}: the range must be finite")
    return value


def _ranges(names: list[str], starts: list[str] | None,
            ends: list[str] | None) -> list[tuple[float, float]]:
    """One (from, to) per variable: a single --from/--to applies to all."""
    from ..sweep import DEFAULT_RANGE

    def per_variable(texts: list[str] | None, option: str, default: float) -> list[float]:
        if not texts:
            return [default] * len(names)
        if len(texts) == 1:
            return [_number(texts[0], option)] * len(names)
        if len(texts) != len(names):
            raise ValueInputError(f"{option} is given {len(texts)} times for "
                                  f"{len(names)} --wrt variables: give it once, or once "
                                  "for each")
        return [_number(t, option) for t in texts]

    lo = per_variable(starts, "--from", DEFAULT_RANGE[0])
    hi = per_variable(ends, "--to", DEFAULT_RANGE[1])
    return list(zip(lo, hi, strict=True))


def _ylim(text: str | None) -> tuple[float, float] | None:
    if text is None:
        return None
    parts = text.split(",")
    if len(parts) != 2:
        raise ValueInputError(f"--ylim {text}: expected LOW,HIGH, e.g. --ylim=-2,2")
    from ..sweep import check_range

    lo, hi = (_number(p.strip(), "--ylim") for p in parts)
    check_range(lo, hi, "y (--ylim)", "LOW {lo:g} must be less than HIGH {hi:g}")
    return lo, hi


def _chart_size(console: Any, width: int | None, height: int | None,
                variables: int) -> tuple[int, int]:
    """(columns, rows) of the plot area: the terminal's width less the axis labels."""
    total = width if width is not None else min(console.width, 100)
    cols = max(total - 12, 10)
    rows = height if height is not None else (16 if variables == 1 else 20)
    return cols, rows


def _check_finite(sweep: Any, strict: bool) -> None:
    """The note (or, with ``strict``, the error) of the first sample that is not finite."""
    found = sweep.nonfinite()
    if found is None:
        return
    fault, count, point = found
    where = ", ".join(f"{k} = {v:g}" for k, v in point.items())
    numeric_fault(fault, strict, raised=f" (at {where})", aside="gaps in the plot",
                  noted=f" at {where}; {count:,} of {sweep.points:,} samples are not finite")


def _check_plottable(names: list[str], values: dict[str, Any]) -> None:
    import numpy as np

    if len(names) not in (1, 2) or any(np.ndim(values.get(n, 0.0)) for n in names):
        raise ValueInputError("--plot draws the path of one or two scalar variables; "
                              f"this descent moves {', '.join(names)}")


def _descent_figure(graph: Any, steps: list, names: list[str], fixed: dict[str, Any],
                    path: str, kind: str) -> None:
    """The path over f: the range covers every step with a margin."""
    import numpy as np

    from ..render import figure
    from ..sweep import sample

    ranges = []
    for n in names:
        coords = np.array([s.at[n] for s in steps], dtype=float)
        coords = coords[np.isfinite(coords)]
        lo, hi = (float(coords.min()), float(coords.max())) if coords.size else (-1.0, 1.0)
        pad = max((hi - lo) * 0.25, 0.5 * max(abs(lo), abs(hi)) * 0.1, 0.5)
        ranges.append((lo - pad, hi + pad))
    sweep = sample(graph, names, ranges, 401 if len(names) == 1 else 101, fixed)
    fig = (figure.curve_figure(sweep, path=steps) if len(names) == 1
           else figure.field_figure(sweep, path=steps))
    figure.save(fig, path, kind)
