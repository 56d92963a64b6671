"""Gradient descent on an expression's scalar output, one step at a time, as data.

The update is PyTorch's ``torch.optim.SGD``: with momentum μ a velocity ``v ← μ·v + g``
(``v = g`` at the first step) and ``p ← p − lr·v``; without, ``p ← p − lr·g``. Every step is
one forward and backward pass of the engine at the new point. :func:`descend` yields the
steps as they are computed (step 0 is the start), so a caller can print each at once or
stop early; it stops by itself when ‖∇f‖ ≤ tol or a value or gradient is not finite.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .engine import NumericFault, all_finite, check_variables, differentiate, forward
from .errors import NameError_, ShapeError, ValueInputError
from .graphs import Graph

DEFAULT_STEPS = 10
DEFAULT_LR = 0.1
#: The most steps one run may take.
MAX_STEPS = 1_000_000


@dataclass(frozen=True)
class Step:
    """The point after ``step`` updates, f there and its gradient."""

    step: int
    at: dict[str, Any]  #: every variable's value (the fixed ones too)
    value: float
    gradients: dict[str, Any]  #: ∂f/∂p for each descended variable p
    norm: float  #: ‖∇f‖ over the descended variables (all their elements)
    fault: NumericFault | None = None  #: where nan or inf first appeared at this point


def check(graph: Graph, start: Mapping[str, Any], *, lr: float = DEFAULT_LR,
          steps: int = DEFAULT_STEPS, momentum: float = 0.0, tol: float = 0.0,
          wrt: Sequence[str] | None = None) -> list[str]:
    """The variables to descend (every variable, or ``wrt``); raises a CgcliError for bad
    input: a variable without a start value, a name that is not a variable, steps < 1, a
    learning rate or momentum out of range, a non-scalar output."""
    if steps < 1:
        raise ValueInputError(f"--steps {steps}: descend takes at least 1 step")
    if steps > MAX_STEPS:
        raise ValueInputError(f"--steps {steps}: at most {MAX_STEPS:,} steps")
    if not (math.isfinite(lr) and lr > 0):
        raise ValueInputError(f"--lr {lr:g}: the learning rate must be a positive number")
    if not (math.isfinite(momentum) and momentum >= 0):
        raise ValueInputError(f"--momentum {momentum:g}: momentum must be 0 or more")
    if not (math.isfinite(tol) and tol >= 0):
        raise ValueInputError(f"--tol {tol:g}: the tolerance must be a number, 0 or more")
    names = list(wrt) if wrt else list(graph.variables)
    if not names:
        raise ValueInputError("the expression has no variable to descend on")
    check_variables(graph, names, "descend moves variables only")
    if len(set(names)) != len(names):
        raise ValueInputError("a --wrt variable is given twice")
    for name in graph.variables:
        if name not in start:
            role = "a start value" if name in names else "a value to hold it at"
            raise NameError_(f"'{name}' needs {role}: give it with --at {name}=VALUE",
                             source=graph.source, pos=graph.nodes[graph.variables[name]].start)
    values = forward(graph, start)
    shape = np.shape(values[graph.output])
    if shape:
        raise ShapeError(f"descend needs a scalar output, but the output has shape {shape}; "
                         "reduce it first, e.g. sum(...) or mean(...)",
                         source=graph.source, pos=graph.nodes[graph.output].start)
    return names


def descend(graph: Graph, start: Mapping[str, Any], *, lr: float = DEFAULT_LR,
            steps: int = DEFAULT_STEPS, momentum: float = 0.0, tol: float = 0.0,
            wrt: Sequence[str] | None = None,
            progress: Callable[[int, int], None] | None = None) -> Iterator[Step]:
    """Check the input (:func:`check`, at once) and return the steps' iterator: step 0 at
    ``start``, then one per update, up to ``steps`` updates. It stops early after a step
    with ‖∇f‖ ≤ ``tol`` or a value or gradient that is not finite. ``progress(k, steps)``,
    if given, is called after each step k (a seam for a progress bar)."""
    names = check(graph, start, lr=lr, steps=steps, momentum=momentum, tol=tol, wrt=wrt)
    return _steps(graph, dict(start), names, lr, steps, momentum, tol, progress)


def _steps(graph: Graph, point: dict[str, Any], names: list[str], lr: float, steps: int,
           momentum: float, tol: float,
           progress: Callable[[int, int], None] | None) -> Iterator[Step]:
    point = {k: _array(v) for k, v in point.items()}
    velocity: dict[str, Any] = {}
    for k in range(steps + 1):
        ev = differentiate(graph, point)
        grads = ev.gradients
        g = {name: _plain(grads[name]) for name in names}
        with np.errstate(all="ignore"):
            norm = math.sqrt(sum(float(np.sum(np.square(v))) for v in g.values()))
        value = float(ev.value)
        finite = all_finite(value) and all(all_finite(v) for v in g.values())
        step = Step(k, {n: _plain(v) for n, v in point.items() if n in graph.variables},
                    value, g, norm, None if finite else ev.nonfinite())
        yield step
        if progress is not None:
            progress(k, steps)
        if k == steps or norm <= tol or not finite:
            return
        with np.errstate(all="ignore"):
            for name in names:
                gn = np.asarray(grads[name], dtype=np.float64)
                if momentum:
                    v = gn if name not in velocity else momentum * velocity[name] + gn
                    velocity[name] = v
                else:
                    v = gn
                point[name] = point[name] - lr * v


def _array(v: Any) -> Any:
    a = np.asarray(v, dtype=np.float64)
    return float(a) if a.ndim == 0 else a


def _plain(v: Any) -> Any:
    """A float for a scalar, a float64 array otherwise."""
    a = np.asarray(v, dtype=np.float64)
    return float(a) if a.ndim == 0 else a.copy()


def converged(last: Step, tol: float) -> bool:
    """Did the run end at a point with ‖∇f‖ ≤ tol?"""
    return last.norm <= tol
