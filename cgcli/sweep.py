"""A function and its gradient sampled over a range (one variable) or a grid (two), as data.

Every sample comes from one batched pass (:func:`cgcli.batched.evaluate`): the row axis holds
the points, the other variables are shared, so 1,000 points cost one forward and one backward
pass over the graph. What the samples show is decided here too, for every renderer alike:
which neighbouring samples a curve may join (:func:`joined`: not across a gap or a jump) and
which y range shows the curves (:func:`view`: not flattened by a pole).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .engine import NumericFault, check_variables, differentiate, forward
from .errors import LimitError, NameError_, ShapeError, ValueInputError
from .graphs import Graph

#: Samples when ``--points`` is not given: one variable, and per axis of a grid. Odd counts
#: put a sample on the middle of a symmetric range (0, where relu and abs have their kinks).
DEFAULT_POINTS = 201
DEFAULT_GRID = 41
DEFAULT_RANGE = (-5.0, 5.0)
#: The most samples one pass may take: one variable, and in all over a grid.
MAX_POINTS = 1_000_000
MAX_GRID = 1_000


@dataclass(frozen=True)
class Sweep:
    """f and its gradient at every sample.

    One variable: ``axes == (x,)`` and ``value``, ``gradient[name]`` have shape (n,).
    Two: ``axes == (x, y)`` and the arrays have shape (len(y), len(x)), a row per y, as
    images and contour plots take them.
    """

    graph: Graph
    wrt: tuple[str, ...]
    axes: tuple[np.ndarray, ...]
    value: np.ndarray
    gradient: dict[str, np.ndarray]
    fixed: dict[str, Any] = field(default_factory=dict)

    @property
    def points(self) -> int:
        """How many samples: n, or nx·ny."""
        return int(self.value.size)

    def nonfinite(self) -> tuple[NumericFault, int, dict[str, float]] | None:
        """(the fault at the first sample whose value or gradient is not finite, how many
        samples are not, that sample's coordinates), or None when all are finite.

        The fault is the one ``grad`` reports at that point (the node where nan or inf
        first appeared), found by one unbatched pass there.
        """
        bad = ~np.isfinite(self.value)
        for g in self.gradient.values():
            bad |= ~np.isfinite(g)
        count = int(bad.sum())
        if not count:
            return None
        index = np.unravel_index(int(np.argmax(bad)), bad.shape)
        point = self.point(index)
        fault = differentiate(self.graph, {**self.fixed, **point}).nonfinite()
        if fault is None:  # the batched pass rounded differently: say so plainly
            v = self.value[index]
            fault = NumericFault(f"{self.graph.output_name} = {v} is not finite", node=-1,
                                 gradient=bool(np.isfinite(v)))
        return fault, count, point

    def point(self, index: tuple[int, ...]) -> dict[str, float]:
        """The coordinates of the sample at ``index`` (an index into ``value``)."""
        if len(self.axes) == 1:
            return {self.wrt[0]: float(self.axes[0][index[0]])}
        row, col = index
        return {self.wrt[0]: float(self.axes[0][col]), self.wrt[1]: float(self.axes[1][row])}


#: The narrowest range drawn, relative to its ends (and absolutely): narrower, neighbouring
#: samples and axis ticks would be the same float.
NARROWEST = 1e-9, 1e-300


def check_range(lo: float, hi: float, name: str, what: str = "--from {lo:g} must be less "
                "than --to {hi:g}") -> None:
    """Raise an input error unless lo < hi, both finite, and the range's width is a float
    that is neither inf nor too narrow to sample (``what`` says how to order the ends)."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueInputError(f"the range of {name}, {lo:g} to {hi:g}, must be finite")
    if not lo < hi:
        raise ValueInputError(f"the range of {name} is empty: " + what.format(lo=lo, hi=hi))
    width = hi - lo
    if not math.isfinite(width):
        raise ValueInputError(f"the range of {name}, {lo:g} to {hi:g}, is wider than a float "
                              "can hold: choose a narrower one")
    if width < max(NARROWEST[0] * max(abs(lo), abs(hi)), NARROWEST[1]):
        raise ValueInputError(f"the range of {name}, {lo!r} to {hi!r}, is too narrow to "
                              f"sample: its width must be at least {NARROWEST[0]:g} of its "
                              "ends")


def _check_variables(graph: Graph, wrt: Sequence[str], fixed: Mapping[str, Any]) -> None:
    if not 1 <= len(wrt) <= 2:
        raise ValueInputError("plot draws one variable (--wrt x) or two (--wrt x --wrt y)")
    if len(set(wrt)) != len(wrt):
        raise ValueInputError(f"--wrt {wrt[0]} is given twice")
    check_variables(graph, wrt, "only a variable can be swept over a range")
    for name in wrt:
        if name in fixed:
            raise ValueInputError(f"--at {name}: '{name}' is the variable swept over the "
                                  "range; give its range with --from and --to instead")
    missing = [v for v in graph.variables if v not in wrt and v not in fixed]
    if missing:
        v = missing[0]
        raise NameError_(f"'{v}' has no value: the plot varies only {' and '.join(wrt)}, so "
                         f"hold '{v}' fixed with --at {v}=VALUE",
                         source=graph.source, pos=graph.nodes[graph.variables[v]].start)


def sample(graph: Graph, wrt: Sequence[str], ranges: Sequence[tuple[float, float]],
           points: int | Sequence[int] | None = None,
           fixed: Mapping[str, Any] | None = None) -> Sweep:
    """f and its gradient with respect to ``wrt`` (one or two variables) at evenly spaced
    samples of ``ranges`` (one (lo, hi) per variable), endpoints included; the other
    variables hold their ``fixed`` values. ``points`` counts samples per axis (one count
    for all axes, or one per axis).

    Raises a CgcliError for bad input: a name that is not a variable, a variable without a
    value, an empty range, a non-scalar output, too many points.
    """
    fixed = dict(fixed or {})
    wrt = tuple(wrt)
    _check_variables(graph, wrt, fixed)
    if len(ranges) != len(wrt):
        raise ValueInputError("give one range per --wrt variable")
    for (lo, hi), name in zip(ranges, wrt, strict=True):
        check_range(lo, hi, name)
    if points is None:
        points = DEFAULT_POINTS if len(wrt) == 1 else DEFAULT_GRID
    counts = [points] * len(wrt) if isinstance(points, int) else list(points)
    limit = MAX_POINTS if len(wrt) == 1 else MAX_GRID
    for n in counts:
        if n < 2:
            raise ValueInputError(f"--points {n}: a plot needs at least 2 points")
        if n > limit:
            raise LimitError(f"--points {n}: at most {limit:,} points "
                             f"{'per axis ' if len(wrt) == 2 else ''}are drawn")
    axes = tuple(np.linspace(lo, hi, n) for (lo, hi), n in zip(ranges, counts, strict=True))
    # One unbatched pass at the first sample checks the output is a scalar (and reports a
    # shape error of the expression itself there, once).
    first = forward(graph, {**fixed, **{name: float(a[0]) for name, a in zip(wrt, axes,
                                                                                strict=True)}})
    shape = np.shape(first[graph.output])
    if shape:
        raise ShapeError(f"plot needs a scalar output, but the output has shape {shape}; "
                         "reduce it first, e.g. sum(...) or mean(...)",
                         source=graph.source, pos=graph.nodes[graph.output].start)
    from .batched import evaluate as batched

    if len(wrt) == 1:
        rows = {wrt[0]: axes[0]}
        result = batched(graph, rows, fixed)
        return Sweep(graph, wrt, axes, _scalar_rows(result.value),
                     {wrt[0]: _scalar_rows(result.gradient(wrt[0]))}, fixed)
    gx, gy = np.meshgrid(axes[0], axes[1])  # (ny, nx): a row per y
    result = batched(graph, {wrt[0]: gx.ravel(), wrt[1]: gy.ravel()}, fixed)
    grid = (len(axes[1]), len(axes[0]))
    return Sweep(graph, wrt, axes, _scalar_rows(result.value).reshape(grid),
                 {name: _scalar_rows(result.gradient(name)).reshape(grid) for name in wrt},
                 fixed)


def _scalar_rows(a: Any) -> np.ndarray:
    """A fresh writable float64 array with one number per row."""
    a = np.array(a, dtype=np.float64)
    return a.reshape(a.shape[0]) if a.ndim > 1 else a


# --- what a curve shows ------------------------------------------------------------------------

#: A step between samples is a jump when it is visible (more than this share of the shown y
#: range) and more than JUMP_FACTOR times what the function's slope there allows.
VISIBLE = 0.02
JUMP_FACTOR = 4.0


def joined(x: np.ndarray, y: np.ndarray, slope: np.ndarray | None = None,
           span: float | None = None) -> np.ndarray:
    """For each pair of neighbouring samples (n - 1 of them): may a line join them?

    Not where either is not finite (a gap), nor across a jump. With ``slope`` (the
    derivative at each sample) a step is a jump when the slope cannot explain it: by the
    mean value theorem a smooth step is slope·h for a slope between the two ends', so a
    step more than JUMP_FACTOR times the larger one's, or against the sign of both (tan
    across its pole), is not smooth. Without it (the derivative's own curve) a step is a
    jump when it is JUMP_FACTOR times the median of the four steps around it. Only visible
    steps count: more than VISIBLE of ``span`` (the y range shown).
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if y.size < 2:
        return np.zeros(0, dtype=bool)
    finite = np.isfinite(y)
    ok = finite[:-1] & finite[1:]
    with np.errstate(all="ignore"):
        dy = np.diff(y)
        fin = y[finite]
        if span is None:
            span = float(fin.max() - fin.min()) if fin.size else 0.0
        # rounding noise on a constant is no jump: a span of at least 1e-9 of the values
        span = max(span, 1e-9 * float(np.abs(fin).max()) if fin.size else 0.0)
        visible = np.abs(dy) > VISIBLE * span if span > 0 else np.zeros_like(ok)
        if slope is not None:
            s = np.asarray(slope, dtype=np.float64)
            h = np.diff(x)
            bound = h * np.maximum(np.abs(s[:-1]), np.abs(s[1:]))
            too_big = np.abs(dy) > JUMP_FACTOR * bound
            against = (np.sign(dy) * np.sign(s[:-1]) < 0) & (np.sign(dy) * np.sign(s[1:]) < 0)
            jump = visible & (too_big | against)
        else:
            steps = np.abs(dy)
            # The four steps around each one; past the ends (and beside a gap) +inf, which
            # only makes a jump less likely there.
            padded = np.pad(np.where(np.isfinite(steps), steps, np.inf), 2,
                            constant_values=np.inf)
            around = np.stack([padded[:-4], padded[1:-3], padded[3:-1], padded[4:]])
            jump = visible & (steps > JUMP_FACTOR * np.median(around, axis=0))
    return ok & ~jump


@dataclass(frozen=True)
class View:
    """How curves over one x range are shown: the y range, and which samples are joined."""

    low: float
    high: float
    clipped: bool  #: some samples lie outside (near a pole)
    joined: list[np.ndarray]  #: per curve, per pair of neighbours: may a line join them?


def view(x: np.ndarray, curves: Sequence[tuple[np.ndarray, np.ndarray | None]],
         ylim: tuple[float, float] | None = None) -> View:
    """The y range and the joins of ``curves`` ((y, slope or None) each) over ``x``.

    The range holds every finite sample unless the curves run off near a break (a pole of
    tan or 1/x, log at 0): then it holds the samples away from the breaks (further than 5%
    of the samples) with half their span on each side, when those span less than a third
    of all. ``ylim`` sets the range instead.
    """
    with np.errstate(all="ignore"):  # spans of huge values overflow to inf: no warnings
        return _view(x, curves, ylim)


def _view(x: np.ndarray, curves: Sequence[tuple[np.ndarray, np.ndarray | None]],
          ylim: tuple[float, float] | None) -> View:
    x = np.asarray(x, dtype=np.float64)
    ys = [np.asarray(y, dtype=np.float64) for y, _ in curves]
    if ylim is not None:
        low, high = ylim
        clipped = False
    else:
        low, high = _finite_range(ys)
        # Breaks first, visible against the middle 90% of the samples (a pole's own huge
        # samples would hide every jump).
        finite = np.concatenate([y[np.isfinite(y)] for y in ys])
        p5, p95 = np.percentile(finite, [5, 95]) if finite.size else (0.0, 0.0)
        first = [joined(x, y, slope, float(p95 - p5) or high - low) for y, slope in curves]
        clipped = False
        breaks = np.zeros(x.size, dtype=bool)
        for j in first:
            breaks[:-1] |= ~j
            breaks[1:] |= ~j
        if breaks.any():
            window = max(2, x.size // 20)
            near = np.convolve(breaks, np.ones(2 * window + 1), mode="same") > 0
            away = [y[~near] for y in ys]
            lo2, hi2 = _finite_range(away)
            some = any(np.isfinite(a).any() for a in away)
            if some and hi2 > lo2 and (hi2 - lo2) * 3 < high - low:
                margin = (hi2 - lo2) * 0.5
                low, high = max(low, lo2 - margin), min(high, hi2 + margin)
                clipped = True
        if high == low:  # a constant: a band around it
            pad = abs(low) * 0.1 or 1.0
            low, high = low - pad, high + pad
        if low < -LARGEST_SHOWN or high > LARGEST_SHOWN:  # the span must stay a float
            clipped = True
            low, high = max(low, -LARGEST_SHOWN), min(high, LARGEST_SHOWN)
    return View(low, high, clipped, [joined(x, y, slope, high - low) for y, slope in curves])


#: The largest |y| a chart's range reaches: its span, and the round numbers on its axis,
#: stay finite floats (samples beyond are off the chart, as near a pole).
LARGEST_SHOWN = 1e306


def _finite_range(arrays: Sequence[np.ndarray]) -> tuple[float, float]:
    values = np.concatenate([np.ravel(a) for a in arrays]) if arrays else np.zeros(0)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return -1.0, 1.0
    return float(values.min()), float(values.max())


def shade_range(values: np.ndarray) -> tuple[float, float, bool]:
    """(low, high, clipped): the range of a grid's finite values that shades show, the middle
    90% with a margin when a few samples (near a pole) reach 20 times further."""
    values = np.ravel(np.asarray(values, dtype=np.float64))
    values = values[np.isfinite(values)]
    if values.size == 0:
        return -1.0, 1.0, False
    lo, hi = float(values.min()), float(values.max())
    p5, p95 = (float(v) for v in np.percentile(values, [5, 95]))
    middle = p95 - p5
    clipped = False
    if middle > 0 and hi - lo > 20 * middle:
        lo, hi = max(lo, p5 - middle), min(hi, p95 + middle)
        clipped = True
    if lo < -LARGEST_SHOWN or hi > LARGEST_SHOWN:
        lo, hi, clipped = max(lo, -LARGEST_SHOWN), min(hi, LARGEST_SHOWN), True
    if hi == lo:
        pad = abs(lo) * 0.1 or 1.0
        return lo - pad, hi + pad, clipped
    return lo, hi, clipped
