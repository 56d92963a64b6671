"""Figures for papers and slides, drawn by Matplotlib: SVG, PNG or PDF files.

Matplotlib is the optional extra ``cgcli[plot]``, imported only here and only when a figure
is drawn: without it, :class:`PlotToolError` (exit code 4) says how to install it. Figures
are built on :class:`matplotlib.figure.Figure` objects with the Agg canvas, never pyplot's
global state, so nothing opens a window and nothing is left behind. SVG and PDF files carry
no date, so the same command writes the same file.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..descent import Step
from ..errors import EXIT_TOOL, CgcliError
from ..sweep import Sweep, shade_range, view

VALUE_COLOR, GRAD_COLOR = "#1a7f37", "#cf222e"  # green and red, as in the graph pictures
PATH_COLORS = ("#0550ae", "#ff8c1a")  # on a curve (blue), over contours (orange)
INSTALL_HINT = 'pip install "cgcli[plot]" (or pip install matplotlib)'
#: Arrows of the gradient field per axis, at most.
ARROWS = 17


class PlotToolError(CgcliError):
    """Matplotlib is missing or failed: exit code 4 (EXIT_TOOL)."""

    kind = "matplotlib"
    exit_code = EXIT_TOOL


def _figure(width: float = 6.4, height: float = 4.2) -> tuple[Any, Any]:
    """A new figure on the Agg canvas and its axes."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise PlotToolError(f"drawing a figure needs Matplotlib, which is not installed: "
                            f"{INSTALL_HINT}; or draw in the terminal (leave out -o)") from None
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    return fig, ax


#: The largest |x| or |y| a figure's axes reach: Matplotlib's margins and ticks overflow
#: past about this (the terminal chart goes further).
FIGURE_LARGEST = 1e300


def _check_extent(*ends: float) -> None:
    """An input error for axes Matplotlib cannot draw."""
    big = max((abs(e) for e in ends if np.isfinite(e)), default=0.0)
    if big > FIGURE_LARGEST:
        from ..errors import ValueInputError

        raise ValueInputError(f"a figure's axes would reach {big:.3g}: Matplotlib draws up to "
                              f"about {FIGURE_LARGEST:g}")


def _with_breaks(x: np.ndarray, y: np.ndarray, joined: np.ndarray) -> tuple[np.ndarray, ...]:
    """x and y with a nan after every sample not joined to the next (Matplotlib leaves a
    gap at a nan), and the samples joined to neither neighbour (drawn as dots)."""
    cut = np.flatnonzero(~joined) + 1
    xs = np.insert(x.astype(float), cut, np.nan)
    ys = np.insert(np.where(np.isfinite(y), y, np.nan), cut, np.nan)
    alone = np.isfinite(y).copy()
    left = np.concatenate([[False], joined])
    right = np.concatenate([joined, [False]])
    alone &= ~left & ~right
    return xs, ys, x[alone], y[alone]


def _title(sweep_or_text: Sweep | str) -> str:
    text = sweep_or_text if isinstance(sweep_or_text, str) else sweep_or_text.graph.source
    text = " ".join(text.split())
    return text if len(text) <= 70 else text[:69] + "…"


def _fixed_note(sweep: Sweep) -> str:
    from ..numbers import fmt_value

    items = [f"{n} = {fmt_value(v, 4)}" for n, v in sweep.fixed.items()
             if n in sweep.graph.variables]
    return ", ".join(items)


def curve_figure(sweep: Sweep, ylim: tuple[float, float] | None = None,
                 path: Sequence[Step] | None = None) -> Any:
    """f and ∂f/∂x of a one-variable sweep; with ``path``, descent's steps on the curve."""
    fig, ax = _figure()
    graph = sweep.graph
    (name,) = sweep.wrt
    x = sweep.axes[0]
    f, g = sweep.value, sweep.gradient[name]
    shown = view(x, [(f, g), (g, None)], ylim)
    _check_extent(float(x[0]), float(x[-1]), shown.low, shown.high)
    out = graph.output_name
    for y, joined, color, label, style in (
            (f, shown.joined[0], VALUE_COLOR, graph.label(graph.output, 40), "-"),
            (g, shown.joined[1], GRAD_COLOR, f"∂{out}/∂{name}", "--")):
        xs, ys, px, py = _with_breaks(x, y, joined)
        ax.plot(xs, ys, style, color=color, lw=2 if style == "-" else 1.6, label=label)
        if px.size:
            ax.plot(px, py, "o", color=color, ms=4)
    ax.axhline(0, color="0.6", lw=0.8, zorder=0)
    if path:
        px = np.array([s.at[name] for s in path], dtype=float)
        py = np.array([s.value for s in path], dtype=float)
        _draw_path(ax, px, py, PATH_COLORS[0])
    if shown.clipped or ylim is not None:
        ax.set_ylim(shown.low, shown.high)
    ax.set_xlim(float(x[0]), float(x[-1]))
    ax.set_xlabel(name)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best", frameon=False)
    note = _fixed_note(sweep)
    ax.set_title(_title(sweep) + (f"  ({note})" if note else ""), fontsize=11)
    return fig


def field_figure(sweep: Sweep, path: Sequence[Step] | None = None) -> Any:
    """f of a two-variable sweep as filled contours, its gradient field as arrows (they
    point uphill); with ``path``, descent's steps drawn over it."""
    xname, yname = sweep.wrt
    xs, ys = sweep.axes
    ratio = float((ys[-1] - ys[0]) / (xs[-1] - xs[0]))
    equal = 0.25 < ratio < 4  # equal scales: arrows stand square on the contour lines
    fig, ax = _figure(6.4, min(max(4.8 * ratio + 1.0, 3.0), 9.0) if equal else 5.2)
    f = np.where(np.isfinite(sweep.value), sweep.value, np.nan)
    lo, hi, clipped = shade_range(f)
    _check_extent(float(xs[0]), float(xs[-1]), float(ys[0]), float(ys[-1]), lo, hi)
    from matplotlib.ticker import MaxNLocator

    levels = MaxNLocator(20).tick_values(lo, hi)  # round levels: 0, 2.5, 5, ...
    filled = ax.contourf(xs, ys, f, levels=levels, cmap="viridis",
                         extend="both" if clipped else "neither")
    ax.contour(xs, ys, f, levels=levels[::2], colors="white", linewidths=0.5, alpha=0.6)
    bar = fig.colorbar(filled, cax=ax.inset_axes((1.04, 0.0, 0.045, 1.0)))  # as tall as ax
    bar.set_label(sweep.graph.label(sweep.graph.output, 40))
    if path is None:
        sx = max(1, int(np.ceil(len(xs) / ARROWS)))
        sy = max(1, int(np.ceil(len(ys) / ARROWS)))
        gx = sweep.gradient[xname][::sy, ::sx]
        gy = sweep.gradient[yname][::sy, ::sx]
        ok = np.isfinite(gx) & np.isfinite(gy)
        gx, gy = np.where(ok, gx, np.nan), np.where(ok, gy, np.nan)
        ax.quiver(xs[::sx], ys[::sy], gx, gy, color="white", alpha=0.85, angles="xy",
                  pivot="mid", width=0.004)
    else:
        px = np.array([s.at[xname] for s in path], dtype=float)
        py = np.array([s.at[yname] for s in path], dtype=float)
        _draw_path(ax, px, py, PATH_COLORS[1])
    ax.set_xlabel(xname)
    ax.set_ylabel(yname)
    if equal:
        ax.set_aspect("equal")
    note = _fixed_note(sweep)
    what = "descent path" if path is not None else f"arrows: ∇{sweep.graph.output_name}"
    ax.set_title(_title(sweep) + f"  ({what}" + (f"; {note}" if note else "") + ")",
                 fontsize=11)
    return fig


def _draw_path(ax: Any, px: np.ndarray, py: np.ndarray, color: str) -> None:
    """Descent's points joined in order, the start and the end marked."""
    _check_extent(*px, *py)
    ax.plot(px, py, "-", color=color, lw=1.2, alpha=0.9, zorder=3)
    ax.plot(px, py, "o", color=color, ms=3.5, zorder=4, label="descent steps")
    ax.plot(px[:1], py[:1], "s", color="black", ms=6, zorder=5, label="start")
    ax.plot(px[-1:], py[-1:], "*", color="#fde725", mec="black", ms=13, zorder=5,
            label=f"step {len(px) - 1}")
    ax.legend(loc="best", frameon=True, framealpha=0.85)


def save(fig: Any, path: str, fmt: str) -> None:
    """Write the figure to ``path`` as ``fmt`` (svg, png or pdf)."""
    from ..errors import ValueInputError

    kw: dict[str, Any] = {"format": fmt}
    if fmt == "png":
        kw["dpi"] = 200
    else:  # no creation date, so the same command writes the same file
        kw["metadata"] = {"Date": None} if fmt == "svg" else {"CreationDate": None}
    try:
        import matplotlib

        with matplotlib.rc_context({"svg.hashsalt": "cgcli", "svg.fonttype": "path"}):
            fig.savefig(path, **kw)
    except OSError as exc:
        raise ValueInputError(f"cannot write {path}: {exc.strerror or exc}") from None
    except Exception as exc:  # a failure inside Matplotlib, not in the input
        raise PlotToolError(f"Matplotlib could not write {path}: {exc}") from None
