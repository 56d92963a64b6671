"""Gradient check: every analytic derivative against central finite differences.

For each element x[k] of each variable, the column d(output)/d(x[k]) of the reverse-mode
Jacobian is compared with ``(f(x + h·e_k) - f(x - h·e_k)) / 2h``, with a step scaled to the
element, ``h = ε^(1/3)·max(1, |x[k]|)`` (about 6e-6: it balances the difference quotient's
truncation error against rounding), or ``ε^(1/3)·|x[k]|`` where the first step leaves the
function's domain (log(x) at x = 1e-8). An element passes when

    |analytic - numeric| <= tol · max(1, |analytic|, |numeric|)

for every output element: an absolute error for small derivatives, a relative one for large.

A failing element is not a failure where finite differences are no fair judge:

* ``kink``: within ±h an op of the registry crosses one of its kinks (relu or abs at 0, a
  change of winner in max/min, ... — ``Op.kinks``), or the one-sided differences disagree by
  a jump that does not shrink with the step (a kink the registry does not know of);
* ``undefined``: the function is not finite within ±h (log or sqrt at 0, ...);
* ``rounding``: the difference agrees within what rounding the function's value can move
  it (``ROUNDING`` of |f| in each evaluation), and that is more than the tolerance: central
  differences cannot judge this element (x[0] of ``sum(x^2)`` when the sum is 1e10).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .engine import all_finite, backward, forward
from .errors import NameError_
from .graphs import Graph
from .jacobian import jacobian
from .numbers import abbreviate

#: The relative step: the cube root of float64's machine epsilon.
STEP = float(np.finfo(np.float64).eps) ** (1 / 3)
DEFAULT_TOL = 1e-5
#: How far rounding may move f's value in each evaluation, relative to |f|: a few units in
#: the last place, for both sides of the difference.
ROUNDING = 8 * float(np.finfo(np.float64).eps)


@dataclass(frozen=True)
class Element:
    """One element of one variable: its derivative, both ways."""

    variable: str
    index: tuple[int, ...]
    analytic: Any  #: d(output)/d(x[index]) by reverse mode, shaped like the output
    numeric: Any  #: the same by central differences
    step: float  #: h
    abs_error: float  #: largest |analytic - numeric| over the output's elements
    rel_error: float  #: largest |analytic - numeric| / max(|analytic|, |numeric|)
    status: str  #: "ok", "fail", "kink", "undefined" or "rounding"
    note: str = ""

    @property
    def name(self) -> str:
        """``x`` or ``x[0, 1]``."""
        return self.variable + (f"[{', '.join(map(str, self.index))}]" if self.index else "")


@dataclass(frozen=True)
class VariableCheck:
    """The summary for one variable; errors are over the elements that could be judged."""

    name: str
    shape: tuple[int, ...]
    elements: int
    max_abs_error: float
    max_rel_error: float
    failures: int
    kinks: int
    undefined: int
    rounding: int = 0  #: not judged: rounding of f hides the difference

    @property
    def status(self) -> str:
        return "fail" if self.failures else "ok"


@dataclass(frozen=True)
class CheckResult:
    """Every element compared, per variable and in total."""

    expression: str
    inputs: dict[str, Any]
    value: Any
    tolerance: float
    variables: tuple[VariableCheck, ...]
    elements: tuple[Element, ...]
    #: 1: the gradient against differences of the output; 2: the Hessian against
    #: differences of the gradient.
    order: int = 1

    @property
    def passed(self) -> bool:
        return not any(v.failures for v in self.variables)



def _sides(graph: Graph, values: list) -> dict[int, bytes]:
    """For every op with kinks: which side of them it is on (Op.kinks)."""
    sides = {}
    with np.errstate(all="ignore"):
        for node in graph.nodes:
            if node.op.kinks is not None:
                side = np.asarray(node.op.kinks(values[node.id],
                                                 *[values[j] for j in node.inputs]))
                sides[node.id] = side.tobytes() + str(side.shape).encode()
    return sides


def _errors(a: np.ndarray, fd: np.ndarray) -> tuple[float, float, np.ndarray]:
    """(largest absolute error, largest relative error, max(|a|, |fd|) by element)."""
    with np.errstate(all="ignore"):
        err = np.abs(a - fd)
        big = np.maximum(np.abs(a), np.abs(fd))
        rel = np.where(err == 0, 0.0, err / np.where(big == 0, 1.0, big))
    return float(np.max(err, initial=0.0)), float(np.max(rel, initial=0.0)), big


def check(graph: Graph, inputs: Mapping[str, Any], tol: float = DEFAULT_TOL,
          order: int = 1) -> CheckResult:
    """Compare reverse mode with central differences for every element of every variable.

    ``order=2`` checks the Hessian (:func:`cgcli.derivatives.hessian`) against central
    differences of the gradient: its column for x[k] is d(gradient)/d(x[k])."""
    if not graph.variables:
        raise NameError_("the expression has no variable: there is no derivative to check")
    probe = _Probe(graph, inputs, order)
    if order == 1:
        jac = jacobian(graph, probe.values)
        out_axes = (slice(None),) * probe.f0.ndim
        columns = {name: {k: np.asarray(jac[name][out_axes + k]) for k in np.ndindex(*x.shape)}
                   for name, x in probe.point.items()}
    else:
        from .derivatives import hessian

        h = hessian(graph, probe.point).matrix
        columns, n = {}, 0
        for name, x in probe.point.items():
            columns[name] = {}
            for k in np.ndindex(*x.shape):
                columns[name][k] = h[:, n]
                n += 1
    elements = [probe.element(name, k, columns[name][k], tol)
                for name, x in probe.point.items() for k in np.ndindex(*x.shape)]
    return CheckResult(graph.source, probe.point, np.asarray(probe.value)[()], tol,
                       tuple(_summary(name, x.shape, elements) for name, x in probe.point.items()),
                       tuple(elements), order)


class _Probe:
    """The function around the point, its value and kinks there, and at shifted points. The
    function is the output (``order`` 1) or, for checking second derivatives, the gradient,
    flattened (``order`` 2)."""

    def __init__(self, graph: Graph, inputs: Mapping[str, Any], order: int = 1) -> None:
        self.graph = graph
        self.order = order
        self.values = forward(graph, {name: inputs[name] for name in graph.variables
                                      if name in inputs})
        self.point = {name: np.asarray(self.values[i], dtype=np.float64)
                      for name, i in graph.variables.items()}
        self.value = self.values[graph.output]
        self.f0 = self.function(self.values)
        self.sides = _sides(graph, self.values)

    def function(self, values: list) -> np.ndarray:
        if self.order == 1:
            return np.asarray(values[self.graph.output], dtype=np.float64)
        grads = backward(self.graph, values)
        return np.concatenate([np.ravel(np.asarray(grads[i], dtype=np.float64))
                               for i in self.graph.variables.values()])

    def shifted(self, name: str, k: tuple, h: float) -> tuple[np.ndarray, float, list]:
        """f with x[k] moved by h: (output, the step actually taken, every node's value)."""
        x = self.point[name].copy()
        x[k] += h
        values = forward(self.graph, {**self.point, name: x[()]})
        step = float(x[k] - self.point[name][k])
        return self.function(values), step, values

    def element(self, name: str, k: tuple, a: np.ndarray, tol: float) -> Element:
        """Compare ``a`` = d(output)/d(name[k]) with central differences."""
        x = abs(float(self.point[name][k]))
        # Near 0 a step of ε^(1/3) may leave the domain (log(1e-8)): then one scaled to x.
        for h in (STEP * max(1.0, x), STEP * x):
            fp, hp, plus = self.shifted(name, k, h)
            fm, hm, minus = self.shifted(name, k, -h)
            if (all_finite(fp) and all_finite(fm)) or not 0 < x < 1:
                break
        with np.errstate(all="ignore"):
            fd = (fp - fm) / (hp - hm)
        abs_err, rel_err, big = _errors(a, fd)
        status, note = "ok", ""
        crossed = [i for i, side in self.sides.items()
                   if _sides(self.graph, plus).get(i) != side
                   or _sides(self.graph, minus).get(i) != side]
        with np.errstate(all="ignore"):  # a huge --tol times a huge value: inf, no warning
            allowed = tol * np.maximum(1.0, big)
            agrees = bool(np.all(np.abs(a - fd) <= allowed))
            # What rounding f to a float can move the difference by.
            noise = ROUNDING * np.maximum(np.maximum(np.abs(fp), np.abs(fm)),
                                          np.abs(self.f0)) / abs(hp - hm)
        if not (all_finite(fp) and all_finite(fm) and all_finite(self.f0)):
            status, note = "undefined", f"the function is not finite within ±{h:.1e}"
        elif crossed or not agrees:
            with np.errstate(all="ignore"):
                right, left = (fp - self.f0) / hp, (self.f0 - fm) / -hm
            sides = (f"one-sided differences {_brief(left)} (left) and {_brief(right)} "
                     f"(right); reverse mode gives {_brief(a)}")
            if crossed:
                where = ", ".join(self.graph.label(i, 30) for i in crossed[:3])
                status, note = "kink", f"a kink of {where} within ±{h:.1e}: {sides}"
            elif np.all(np.abs(a - fd) <= allowed + noise):
                status, note = "rounding", (
                    f"f rounded to a float moves central differences by up to "
                    f"{_brief(np.max(noise))}, more than the tolerance: reverse mode "
                    f"{_brief(a)}, central differences {_brief(fd)}")
            elif self.jumps(name, k, h, right - left, tol * max(1.0, float(np.max(big)))):
                status, note = "kink", f"a kink within ±{h:.1e}: {sides}"
            else:
                status = "fail"
        return Element(name, k, a[()], fd[()], h, abs_err, rel_err, status, note)

    def jumps(self, name: str, k: tuple, h: float, gap: np.ndarray, tol: float) -> bool:
        """A kink the registry does not know: the one-sided differences differ by more than
        ``tol``, and still do with a 16 times smaller step (a smooth function's gap shrinks
        with the step)."""
        fp, hp, _ = self.shifted(name, k, h / 16)
        fm, hm, _ = self.shifted(name, k, -h / 16)
        with np.errstate(all="ignore"):
            gap2 = (fp - self.f0) / hp - (self.f0 - fm) / -hm
            jump, jump2 = float(np.max(np.abs(gap))), float(np.max(np.abs(gap2)))
        return bool(np.isfinite(jump2) and jump > tol and jump2 > 0.5 * jump)


def _brief(v: Any) -> str:
    return abbreviate(v, lambda x: f"{x:.4g}")


def _summary(name: str, shape: tuple[int, ...], elements: list[Element]) -> VariableCheck:
    mine = [e for e in elements if e.variable == name]
    judged = [e for e in mine if e.status in ("ok", "fail")]

    def worst(values: list[float]) -> float:
        return max(values, key=lambda v: (np.isnan(v), v), default=0.0)

    return VariableCheck(
        name, shape, len(mine), worst([e.abs_error for e in judged]),
        worst([e.rel_error for e in judged]), sum(e.status == "fail" for e in mine),
        sum(e.status == "kink" for e in mine), sum(e.status == "undefined" for e in mine),
        sum(e.status == "rounding" for e in mine))
