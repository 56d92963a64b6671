"""Forward and backward passes over a :class:`~cgcli.graphs.Graph`.

Both passes are plain loops over the node list (already in topological order), so depth
never meets Python's recursion limit. Gradients are accumulated by creating new arrays,
never in place, so no two nodes ever share a gradient buffer.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from .errors import CgcliError, NameError_, NumericError, ShapeError, ValueInputError
from .graphs import Graph, no_gc
from .numbers import fmt_value
from .ops import CONST, VAR
from .xp import FLOAT, float_namespace, namespace_of, numpy_namespace, unbroadcast

if TYPE_CHECKING:
    import numpy as np


class Evaluation:
    """The result of a forward (and maybe backward) pass: every node's value and gradient."""

    def __init__(self, graph: Graph, values: list, grads: list | None = None) -> None:
        self.graph = graph
        self.values = values
        #: d(output)/d(node) for each node, or None for nodes that depend on no variable.
        self.grads = grads

    @property
    def value(self) -> np.ndarray:
        """The output's value (a 0-d array for a scalar)."""
        import numpy as np

        return np.asarray(self.values[self.graph.output])

    @property
    def inputs(self) -> dict[str, Any]:
        """The values of the free variables, by name: a float for a number, a NumPy array for
        a vector or matrix."""
        return {name: self.values[i] for name, i in self.graph.variables.items()}

    @property
    def gradients(self) -> dict[str, np.ndarray]:
        """d(output)/d(variable) for each free variable, by name (after a backward pass)."""
        import numpy as np

        if self.grads is None:
            raise ValueError("no backward pass was run: use cgcli.gradients()")
        return {name: np.array(self.grads[i], dtype=np.float64)
                for name, i in self.graph.variables.items()}

    def nonfinite(self) -> NumericFault | None:
        """Where nan or inf first appeared, or None if every value and gradient is finite.

        A value: the first node (in evaluation order) that is not finite although all its
        inputs are. A gradient: the first node (in backward order) whose gradient is not
        finite although its value is, blamed on the consumer whose local derivative made it.
        The fault is returned, not raised: IEEE arithmetic is the default, ``--strict`` the
        choice of the caller.
        """
        graph = self.graph
        bad = [not all_finite(v) for v in self.values]
        for node in graph.nodes:
            if bad[node.id] and not any(bad[j] for j in node.inputs):
                v = fmt_value(self.values[node.id])
                what = graph.label(node.id)
                return NumericFault(
                    f"{what} = {v}: the first value that is not finite" + (
                        "" if node.inputs else " (as given)"),
                    source=graph.source, pos=node.pos, node=node.id, gradient=False)
        if self.grads is None:
            return None
        grads = self.grads
        for node in reversed(graph.nodes[: graph.output + 1]):
            g = grads[node.id]
            if g is None or all_finite(g) or bad[node.id]:
                continue
            culprit = next((c for c in graph.nodes[node.id + 1: graph.output + 1]
                            if node.id in c.inputs and grads[c.id] is not None
                            and all_finite(grads[c.id])), None)
            out = graph.nodes[graph.output].name or "f"
            msg = f"∂{out}/∂{graph.label(node.id)} = {fmt_value(g)}"
            if culprit is not None:
                msg += (f": the local derivative of {graph.label(culprit.id)} is not finite at "
                        f"{graph.label(node.id)} = {fmt_value(self.values[node.id])}")
            where = culprit if culprit is not None else node
            return NumericFault(msg, source=graph.source, pos=where.pos, node=node.id,
                                gradient=True)
        return None


class NumericFault(NumericError):
    """A value or gradient that is nan or inf (an error only under ``--strict``)."""

    def __init__(self, message: str, *, node: int, gradient: bool, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.node, self.gradient = node, gradient


def all_finite(v: Any) -> bool:
    """Is every element of ``v`` finite (no nan, no ±inf)?"""
    if isinstance(v, float):  # np.float64 too: the common scalar case, kept cheap
        return math.isfinite(v)
    import numpy as np

    return bool(np.all(np.isfinite(v)))


class Values(list):
    """Every node's value, in node order, and the namespace that computed them."""

    xp: Any = FLOAT


def _as_input(name: str, value: Any) -> Any:
    """A variable's value: a float for a number, else a float64 array (a 0-d one: a float)."""
    if type(value) is float:
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    import numpy as np

    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueInputError(f"the value of '{name}' is not a number or a regular array "
                              f"({exc})") from None
    return float(arr) if arr.ndim == 0 else arr


def _shape_error(graph: Graph, node_id: int, values: list, exc: Exception) -> ShapeError:
    import numpy as np

    node = graph.nodes[node_id]
    op = node.op
    shapes = ", ".join(str(np.shape(values[j])) for j in node.inputs)
    what = f"'{op.symbol}'" if op.symbol else f"{op.name}()"
    msg = f"{what} cannot combine shapes {shapes}"
    if op.name == "matmul":
        msg += ": the inner dimensions of @ must agree"
    elif op.symbol:
        msg += " (elementwise operations need equal shapes, or shapes that broadcast)"
    return ShapeError(msg, source=graph.source, pos=node.pos)


@contextmanager
def _quiet(xp: Any) -> Iterator[None]:
    """No garbage collection during a pass; with NumPy, no floating-point warnings either
    (IEEE results stand, and Evaluation.nonfinite names the first one)."""
    with no_gc():
        if not xp.arrays:
            yield
        else:
            with xp.np.errstate(all="ignore"):
                yield


def namespace(graph: Graph, inputs: Mapping[str, Any]) -> Any:
    """The namespace a pass over ``graph`` at ``inputs`` runs on: Python floats when every
    value is a scalar, NumPy when an input, a literal or an op makes an array."""
    if graph.makes_arrays() or not all(isinstance(v, float) for v in inputs.values()):
        return numpy_namespace()
    return float_namespace()


def forward(graph: Graph, inputs: Mapping[str, Any]) -> Values:
    """Every node's value, in node order. ``inputs`` maps each free variable to its value."""
    missing = [name for name in graph.variables if name not in inputs]
    if missing:
        name = missing[0]
        node = graph.nodes[graph.variables[name]]
        more = f" (and {', '.join(missing[1:])})" if len(missing) > 1 else ""
        raise NameError_(f"no value for variable '{name}'{more}: give one with --at {name}=VALUE",
                         source=graph.source, pos=node.start)
    given = {name: _as_input(name, inputs[name]) for name in graph.variables}
    xp = namespace(graph, given)
    values = Values([None] * len(graph.nodes))
    values.xp = xp
    name = xp.name
    with _quiet(xp):
        for node in graph.nodes:
            op = node.op
            if op is VAR:
                values[node.id] = given[node.name]  # type: ignore[index]
                continue
            if op is CONST:
                values[node.id] = node.value
                continue
            f = op._impl.get(name) or op.impl(xp)
            ins = node.inputs
            try:
                if len(ins) == 2:
                    values[node.id] = f(values[ins[0]], values[ins[1]])
                elif len(ins) == 1:
                    values[node.id] = f(values[ins[0]])
                else:
                    values[node.id] = f(*[values[j] for j in ins])
            except CgcliError as exc:
                raise exc.located(graph.source, node.pos) from None
            except ValueError as exc:
                raise _shape_error(graph, node.id, values, exc) from None
    return values


def backward(graph: Graph, values: list, root: int | None = None, seed: Any = None) -> list:
    """Reverse mode: the vector-Jacobian product ``seed · d(root)/d(node)`` for every node
    (None where a node depends on no variable).

    ``root`` defaults to the graph's output. Without ``seed`` it must be a scalar and the
    result is its gradient; a ``seed`` shaped like the root's value gives one row of the
    Jacobian per call (a one-hot seed) or any other VJP.
    """
    root = graph.output if root is None else root
    xp = namespace_of(values)
    if seed is not None:
        if not xp.arrays and isinstance(seed, float):
            seed = float(seed)
        else:
            np = numpy_namespace().np
            xp = numpy_namespace()
            seed = np.asarray(seed, dtype=np.float64)
            if seed.shape != np.shape(values[root]):
                raise ValueError(f"seed shape {seed.shape} != root shape "
                                 f"{np.shape(values[root])}")
            seed = seed[()]
    elif xp.ndim(values[root]) != 0:
        raise ShapeError(
            f"grad needs a scalar output, but the output has shape {xp.shape(values[root])}; "
            "reduce it first, e.g. sum(...) or mean(...)",
            source=graph.source, pos=graph.nodes[root].start)
    nodes = graph.nodes
    rg = graph.requires_grad()
    grads: list = [None] * len(nodes)
    grads[root] = 1.0 if seed is None else seed
    arrays = xp.arrays
    if arrays:
        np = xp.np
        ndarray = np.ndarray
    with _quiet(xp):
        for node in reversed(nodes[: root + 1]):
            i = node.id
            g = grads[i]
            ins = node.inputs
            if g is None or not ins:
                continue
            vjp = node.op.vjp_rule
            if len(ins) == 1:
                parts = vjp(xp, g, values[i], values[ins[0]])
            elif len(ins) == 2:
                parts = vjp(xp, g, values[i], values[ins[0]], values[ins[1]])
            else:
                parts = vjp(xp, g, values[i], *[values[j] for j in ins])
            # strict=False: a rule may also return gradients of omitted optional parameters.
            for j, gj in zip(ins, parts, strict=False):
                if gj is None or not rg[j]:
                    continue
                if arrays:
                    shape = np.shape(values[j])
                    if np.shape(gj) != shape:
                        gj = unbroadcast(gj, shape)
                    prev = grads[j]
                    if prev is not None:
                        grads[j] = prev + gj  # a new array: accumulation never writes in place
                    elif type(gj) is ndarray and (gj is g or gj.base is not None):
                        grads[j] = gj.copy()  # a node's gradient never shares another's memory
                    else:
                        grads[j] = gj
                else:
                    prev = grads[j]
                    grads[j] = gj if prev is None else prev + gj
    for node in nodes:  # nodes that depend on a variable but do not reach the root
        if rg[node.id] and grads[node.id] is None:
            grads[node.id] = xp.zeros_like(values[node.id])
    return grads


def wrt_ids(graph: Graph, wrt: Sequence[str] | None) -> list[tuple[str, int]]:
    """(name, node id) of the gradients to report: all variables, or the ``wrt`` names
    (variables or let-bound names, checked by :func:`check_wrt`)."""
    if not wrt:
        return list(graph.variables.items())
    return [(name, graph.variables[name] if name in graph.variables else graph.bindings[name])
            for name in wrt]


def check_wrt(graph: Graph, wrt: Iterable[str]) -> None:
    """Raise an input error for a ``--wrt`` name that is neither a variable nor a binding."""
    for name in wrt:
        if name not in graph.variables and name not in graph.bindings:
            known = ", ".join(sorted(graph.variables) + sorted(graph.bindings)) or "none"
            raise NameError_(f"--wrt {name}: the expression has no variable or binding "
                             f"'{name}' (it has: {known})")


def check_variables(graph: Graph, names: Iterable[str], bound: str) -> None:
    """Raise an input error for a ``--wrt`` name that is not a variable of the expression;
    ``bound`` says why a let-bound name cannot be one (the command's own words)."""
    for name in names:
        if name in graph.bindings:
            raise NameError_(f"--wrt {name}: '{name}' is bound in the expression; {bound}")
        if name not in graph.variables:
            known = ", ".join(graph.variables) or "none"
            raise NameError_(f"--wrt {name}: the expression has no variable '{name}' "
                             f"(its variables: {known})")


def evaluate(graph: Graph, inputs: Mapping[str, Any]) -> Evaluation:
    """Run the forward pass."""
    return Evaluation(graph, forward(graph, inputs))


def differentiate(graph: Graph, inputs: Mapping[str, Any]) -> Evaluation:
    """Run the forward and backward passes: every node's value and gradient."""
    values = forward(graph, inputs)
    return Evaluation(graph, values, backward(graph, values))
