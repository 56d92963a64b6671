"""Derivatives as formulas, of any order, and Hessians: the backward pass recorded as a graph.

:func:`diff` records the backward pass of a graph with the registry's own rules
(:func:`cgcli.record.record_backward`); the gradient of each variable is then a graph of its
own, which the printer writes in cgcli's language, the engine evaluates, and which can be
differentiated again for the next order. For scalar expressions SymPy simplifies the text
(:mod:`cgcli.symbolic`), within a time budget, and the shorter of its form and cgcli's own
is kept.

:func:`hessian` differentiates the recorded backward graph once more, numerically: one
reverse pass of the gradient graph per variable element (reverse over reverse), each linear
in the graph's size.

Shapes come from the values given (``--at``); a variable without one is a scalar.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .engine import backward, check_wrt, forward
from .errors import LimitError, NameError_, ShapeError, ValueInputError
from .graphs import Graph, written_name
from .ops import CONST
from .printer import to_text
from .record import extract, record_backward

#: The most elements a --shape may have (its placeholder values are held in memory).
MAX_SHAPE = 10_000_000

#: The SymPy budget, in seconds: with SymPy's import, a 1,000-operation formula answers in
#: about 3 s.
BUDGET = 2.0


@dataclass(frozen=True)
class Formula:
    """One derivative: d^order(output)/d(name)^order as a graph and as text."""

    name: str
    order: int
    graph: Graph  #: the derivative as a graph (its output is the derivative)
    text: str  #: in cgcli's language: it parses back, and evaluates to the derivative
    by: str  #: "sympy" (simplified by SymPy) or "cgcli" (cgcli's own simplifications)
    value: Any = None  #: at the point, when every variable it uses has a value


@dataclass(frozen=True)
class Derivatives:
    """Every requested derivative of one expression."""

    expression: str
    output: str  #: the output's name (or f)
    order: int
    inputs: dict[str, Any]  #: the values given
    formulas: tuple[Formula, ...]
    notes: tuple[str, ...] = field(default=())


def _point(graph: Graph, at: Mapping[str, Any],
           shapes: Mapping[str, tuple[int, ...]]) -> dict[str, Any]:
    """Each variable's value: the one given, else a placeholder of its shape (a scalar
    unless ``shapes`` says otherwise): shapes decide the formulas, values do not."""
    point = {}
    for name in graph.variables:
        if name in at:
            point[name] = at[name]
        elif shapes.get(name):
            import numpy as np

            size = math.prod(shapes[name])
            if size > MAX_SHAPE:
                raise LimitError(f"--shape {name}={'x'.join(map(str, shapes[name]))}: "
                                 f"{size:,} elements; at most {MAX_SHAPE:,} (the formula is "
                                 "the same for any size: a small shape will do)")
            point[name] = np.ones(shapes[name])
        else:
            point[name] = 1.0
    return point


def _is_scalar(v: Any) -> bool:
    return isinstance(v, float) or not getattr(v, "shape", ())


def _record(graph: Graph, point: Mapping[str, Any], names: Sequence[str]) -> dict[str, Graph]:
    """name -> the graph of d(output)/d(name)."""
    try:
        rec = record_backward(graph, point, names)
    except ShapeError as exc:
        if graph.variables and any(n not in point or _is_scalar(point[n])
                                   for n in graph.variables):
            exc.message += ("; a variable without a value is a scalar: give vectors and "
                            "matrices a shape (--shape W=2x3) or a value (--at)")
        raise
    return {name: extract(rec.graph, i) for name, i in rec.gradients.items()}


def _again(g: Graph, point: Mapping[str, Any], name: str) -> Graph:
    """d(g)/d(name): the constant 0 when g no longer depends on name."""
    if name not in g.variables:
        zero = Graph(g.source)
        zero.output = zero.add(CONST, (), 0, 0, value=0.0)
        return zero
    return _record(g, {k: point[k] for k in g.variables}, [name])[name]


def diff(graph: Graph, wrt: Sequence[str] | None = None, order: int = 1,
         at: Mapping[str, Any] | None = None, use_sympy: bool = True,
         budget: float = BUDGET, shapes: Mapping[str, tuple[int, ...]] | None = None
         ) -> Derivatives:
    """d^order(output)/d(name)^order for each variable (or each ``wrt`` name), as formulas.

    ``at`` gives values: their shapes shape the formulas, and each formula's value there is
    reported; ``shapes`` gives shapes alone (a variable with neither is a scalar). ``order``
    > 1 needs one scalar variable (for vectors, see :func:`hessian`).
    """
    at = dict(at or {})
    for name in shapes or {}:
        if name not in graph.variables:
            raise NameError_(f"--shape {name}: the expression has no variable '{name}'")
        if name in at:
            raise ValueInputError(f"--shape {name}: '{name}' has a value (--at), which gives "
                                  "its shape")
    names = list(wrt) if wrt else list(graph.variables)
    check_wrt(graph, names)
    if order < 1:
        raise ValueInputError(f"--order {order}: the order of a derivative is 1 or more")
    if not names:
        raise NameError_("the expression has no variable to differentiate with respect to")
    point = _point(graph, at, shapes or {})
    if order > 1:
        if len(names) != 1:
            raise ValueInputError(f"--order {order} differentiates with respect to one "
                                  f"variable: choose it with --wrt NAME (variables: "
                                  f"{', '.join(graph.variables)})")
        if names[0] in graph.bindings:
            raise ValueInputError(f"--order {order} needs a variable, not the let-bound name "
                                  f"'{names[0]}'")
        if not _is_scalar(point[names[0]]):
            raise ValueInputError(f"--order {order} needs a scalar variable; '{names[0]}' "
                                  "is a vector or matrix: see cgcli hessian")
    graphs = _record(graph, point, names)
    if order > 1:
        name = names[0]
        g = graphs[name]
        for _ in range(order - 1):
            g = _again(g, point, name)
        graphs = {name: g}
    notes: list[str] = []
    formulas = []
    for name, g in graphs.items():
        given = {v: at[v] for v in g.variables} if all(v in at for v in g.variables) else None
        value = None if given is None else forward(g, given)[g.output]
        text, by, note = _text(g, point, use_sympy, budget, given, value)
        if note:
            notes.append(f"∂/∂{name}: {note}")
        formulas.append(Formula(name, order, g, text, by, value))
    return Derivatives(graph.source, graph.output_name, order, at, tuple(formulas),
                       tuple(notes))


#: A formula that, written out in full, would have more than this many nodes, and more than
#: ``BLOWUP`` times its graph's, names its shared parts instead (``t1 = sin(x); ...``):
#: spelled out, the derivative of a chain n deep has n² nodes and each order multiplies the
#: text by ~8, while the graph grows linearly (about 2x per order).
SPELLED_OUT, BLOWUP = 10_000, 10


def spelled_out(g: Graph, cap: int = 1 << 62) -> int:
    """How many nodes the text of ``g`` writes (let-bound nodes once), up to ``cap``."""
    size = [0] * len(g.nodes)
    named = set(g.bindings.values())
    for node in g.nodes:
        n = 1 + sum(1 if j in named else size[j] for j in node.inputs)
        size[node.id] = min(n, cap)
    return size[g.output]


def name_shared_parts(g: Graph) -> int:
    """Bind every part of ``g`` that is used more than once (an operation, not a leaf) to a
    new name, ``t1``, ``t2``, ..., so that the text writes it once; the number named."""
    uses = [0] * len(g.nodes)
    for node in g.nodes:
        for j in node.inputs:
            uses[j] += 1
    taken = set(g.variables) | {written_name(n) for n in g.bindings}
    named = set(g.bindings.values())
    count, k = 0, 0
    for node in g.nodes:
        if uses[node.id] > 1 and node.inputs and node.id not in named:
            k += 1
            while f"t{k}" in taken:
                k += 1
            g.bindings[f"t{k}"] = node.id
            count += 1
    return count


def _text(g: Graph, point: Mapping[str, Any], use_sympy: bool, budget: float,
          given: Mapping[str, Any] | None = None, value: Any = None) -> tuple[str, str, str]:
    """(text, "sympy" or "cgcli", a note): SymPy's simplified form where it helps; never
    one that names other variables, or that gives another ``value`` at the ``given``
    point (SymPy cancels x/x to 1, which is nan at x = 0)."""
    cap = SPELLED_OUT * BLOWUP * (len(g.nodes) + 1)
    size = spelled_out(g, cap)
    if size > max(SPELLED_OUT, BLOWUP * len(g.nodes)) and name_shared_parts(g):
        counted = f"{size:,} operations" if size < cap else "too many to count"
        note = (f"written out in full it would repeat its parts ({counted}): its shared "
                "parts are named, t1, t2, ..., and SymPy is not asked")
        return to_text(g, exact=False), "cgcli", note
    own = to_text(g, exact=False)
    scalar = not g.makes_arrays() and all(_is_scalar(point[v]) for v in g.variables)
    if not (use_sympy and scalar):
        return own, "cgcli", ""
    from .parser import parse
    from .symbolic import simplify

    result = simplify(g, budget=budget)
    if result.text is None:
        return own, "cgcli", result.note
    try:
        back = parse(result.text)
    except Exception:  # a printing gap: cgcli's own text is always right
        return own, "cgcli", "SymPy's form did not parse back: written by cgcli"
    if not set(back.variables) <= set(g.variables):
        return own, "cgcli", "SymPy's form did not parse back: written by cgcli"
    if len(result.text) > len(own):  # keep cgcli's own form where SymPy's is longer
        return own, "cgcli", ""
    if given is not None and not _same_number(
            forward(back, {v: given[v] for v in back.variables})[back.output], value):
        return own, "cgcli", (f"SymPy's simpler form, {result.text}, has another value at "
                              "this point: written by cgcli")
    return result.text, "sympy", result.note


def _same_number(a: Any, b: Any) -> bool:
    """Equal to within rounding, nan and inf included (arrays: every element)."""
    import numpy as np

    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return False
    with np.errstate(all="ignore"):
        return bool(np.all(np.isclose(a, b, rtol=1e-9, atol=1e-12, equal_nan=True)))


# --- Hessians --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Hessian:
    """The matrix of second derivatives, variables flattened in row-major order."""

    expression: str
    output: str
    inputs: dict[str, Any]
    value: Any
    names: tuple[str, ...]  #: flat names: x, W[0,1], ...
    matrix: Any  #: n × n NumPy array: d²out / d(names[i]) d(names[j])
    gradient: Any  #: the gradient, flat, in the same order


def flat_names(name: str, shape: tuple[int, ...]) -> list[str]:
    """``W`` of shape (2, 2) -> W[0,0], W[0,1], W[1,0], W[1,1] (row-major); a scalar: W."""
    import numpy as np

    if not shape:
        return [name]
    return [f"{name}[{','.join(map(str, k))}]" for k in np.ndindex(*shape)]


def hessian(graph: Graph, at: Mapping[str, Any]) -> Hessian:
    """d²(output)/d(variable)² for every pair of variable elements: the recorded gradient
    graph, differentiated once more by one reverse pass per element."""
    import numpy as np

    if not graph.variables:
        raise NameError_("the expression has no variable: a Hessian needs one")
    missing = [name for name in graph.variables if name not in at]
    if missing:
        raise NameError_(f"no value for variable '{missing[0]}': a Hessian is taken at a "
                         f"point; give one with --at {missing[0]}=VALUE")
    values0 = forward(graph, at)
    if np.ndim(values0[graph.output]) != 0:
        raise ShapeError(f"hessian needs a scalar output, but the output has shape "
                         f"{np.shape(values0[graph.output])}; reduce it first, e.g. sum(...)",
                         source=graph.source, pos=graph.nodes[graph.output].start)
    names = list(graph.variables)
    rec = record_backward(graph, at, names)
    d = rec.graph
    values = forward(d, {name: at[name] for name in d.variables})
    shapes = {name: np.shape(values0[graph.variables[name]]) for name in names}
    flat: list[str] = []
    for name in names:
        flat += flat_names(name, shapes[name])
    offsets, n = {}, 0
    for name in names:
        offsets[name] = n
        n += int(np.prod(shapes[name], dtype=int))
    matrix = np.zeros((n, n))
    gradient = np.zeros(n)
    for name in names:
        root = rec.gradients[name]
        g_value = np.asarray(values[root], dtype=np.float64)
        row0 = offsets[name]
        gradient[row0:row0 + g_value.size] = g_value.ravel()
        for k, index in enumerate(np.ndindex(*shapes[name])):
            seed = None
            if shapes[name]:
                seed = np.zeros(shapes[name])
                seed[index] = 1.0
            grads = backward(d, values, root=root, seed=seed) if d.requires_grad()[root] \
                else [None] * len(d.nodes)
            for other in names:
                i = d.variables.get(other)
                g = 0.0 if i is None or grads[i] is None else grads[i]
                col0 = offsets[other]
                size = int(np.prod(shapes[other], dtype=int))
                matrix[row0 + k, col0:col0 + size] = np.broadcast_to(
                    np.asarray(g, dtype=np.float64), shapes[other]).ravel()
    return Hessian(graph.source, graph.output_name, dict(at), values0[graph.output],
                   tuple(flat), matrix, gradient)
