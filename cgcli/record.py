"""Derivatives as graphs: the registry's rules run on a namespace that records nodes.

:class:`Recorder` is the third namespace of :mod:`cgcli.xp`: each ``xp.exp(x)``, ``g * b`` or
``xp.where(c, a, b)`` a rule calls appends a node of the registry's op to a new
:class:`~cgcli.graphs.Graph` and returns a :class:`Sym` standing for it. Running the backward
rules of a graph this way (:func:`record_backward`) gives the derivative as a graph: the
printer writes it as text, the engine evaluates it, and it can be differentiated again, as
JAX differentiates the rules it writes with its own primitives.

Every recorded node also gets its value at a point (the variables' values, or placeholders of
the right shapes), so rules can ask for shapes and constants fold as they are built. The
recorder keeps the graph small the way a person simplifies by hand, and only where the
result is exactly the same number, nan and inf included: ``x*1``, ``x + 0``, ``--x``,
``x^1``, ``g * ones_like(x)`` where nothing broadcasts, constant subexpressions (unless they
are nan), and one node for each repeated subexpression.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from .errors import CgcliError, ShapeError
from .graphs import Graph, Node, no_gc
from .ops import CONST, MAKES_ARRAYS, REGISTRY, VAR, Op
from .xp import CONVENTION, SAME, Namespace, float_namespace, numpy_namespace

#: Namespace functions that are registry ops under another name.
_ALIASES = {"maximum": "max", "minimum": "min", "total": "sum", "largest": "max",
            "smallest": "min", "transpose": "T", "last_axis_sum": "rowsum"}


class Sym:
    """A recorded node: its id in the recorder's graph and its value at the point."""

    __slots__ = ("id", "rec", "value")

    def __init__(self, rec: Recorder, id: int, value: Any) -> None:
        self.rec, self.id, self.value = rec, id, value

    def __add__(self, other: Any) -> Sym:
        return self.rec.apply(REGISTRY["add"], self, other)

    def __radd__(self, other: Any) -> Sym:
        return self.rec.apply(REGISTRY["add"], other, self)

    def __sub__(self, other: Any) -> Sym:
        return self.rec.apply(REGISTRY["sub"], self, other)

    def __rsub__(self, other: Any) -> Sym:
        return self.rec.apply(REGISTRY["sub"], other, self)

    def __mul__(self, other: Any) -> Sym:
        return self.rec.apply(REGISTRY["mul"], self, other)

    def __rmul__(self, other: Any) -> Sym:
        return self.rec.apply(REGISTRY["mul"], other, self)

    def __neg__(self) -> Sym:
        return self.rec.apply(REGISTRY["neg"], self)

    def __pos__(self) -> Sym:
        return self

    def __bool__(self) -> bool:
        raise TypeError("a recorded value has no truth value: rules select with xp.where")

    def __truediv__(self, other: Any) -> Sym:
        raise TypeError("rules divide with xp.div (a float division by 0 would raise)")

    __rtruediv__ = __truediv__

    def __pow__(self, other: Any) -> Sym:
        raise TypeError("rules raise to powers with xp.pow")

    __rpow__ = __pow__

    def __repr__(self) -> str:
        return f"Sym({self.id}, {self.rec.graph.nodes[self.id].op.name})"


def numeric_namespace(values: Iterable[Any]) -> Any:
    """The namespace that computes with these values: floats, or NumPy for arrays."""
    return float_namespace() if all(type(v) is float for v in values) else numpy_namespace()


def namespace_for(op: Op, values: list[Any]) -> Any:
    """The namespace that computes ``op`` on these values."""
    return numpy_namespace() if op.name in MAKES_ARRAYS else numeric_namespace(values)


class Recorder(Namespace):
    """The namespace that records: each call appends a node to :attr:`graph`.

    ``simplify`` folds constants and drops the identities listed in the module docstring;
    ``display`` records a rule for showing it (``explain``'s formulas): nothing folds,
    ``xp.kink`` records only the formula, and sizes and positions are the names ``n`` and
    ``i``.
    """

    name = "graph"

    def __init__(self, graph: Graph | None = None, *, simplify: bool = True,
                 display: bool = False) -> None:
        self.graph = graph if graph is not None else Graph("")
        self.convention = CONVENTION.get()  # the rules' kinks, as xp.kink records them
        self.simplify = simplify and not display
        self.display = display
        self._cse: dict[tuple, Sym] = {}
        self._consts: dict[tuple, Sym] = {}
        self.syms: dict[int, Sym] = {}  # node id -> its Sym

    # --- leaves ------------------------------------------------------------------------
    def variable(self, name: str, value: Any) -> Sym:
        """A free variable (one node per name)."""
        graph = self.graph
        i = graph.variables.get(name)
        if i is None:
            i = graph.variables[name] = graph.add(VAR, (), 0, 0, name=name)
        return self._new(i, value)

    def _new(self, i: int, value: Any) -> Sym:
        sym = self.syms[i] = Sym(self, i, value)
        return sym

    def const(self, value: Any, name: str | None = None) -> Sym:
        """A constant (one node per value and name)."""
        if not isinstance(value, float) and getattr(value, "ndim", 1) == 0:
            value = float(value)
        if isinstance(value, int):
            value = float(value)
        key = (value if type(value) is float else (value.shape, value.tobytes()), name,
               math.copysign(1.0, value) if type(value) is float else 0)
        sym = self._consts.get(key)
        if sym is None:
            i = self.graph.add(CONST, (), 0, 0, name=name, value=value)
            sym = self._consts[key] = self._new(i, value)
        return sym

    def sym(self, x: Any) -> Sym:
        """``x`` as a recorded node (numbers become constants)."""
        return x if isinstance(x, Sym) else self.const(x)

    def is_const(self, s: Sym) -> bool:
        return self.graph.nodes[s.id].op is CONST

    def const_value(self, s: Sym) -> Any:
        """The value of a constant node, else None."""
        node = self.graph.nodes[s.id]
        return node.value if node.op is CONST else None

    def copy(self, node: Node, inputs: list[Sym], value: Any) -> Sym:
        """A node of another graph, as it is (its op, inputs, name): no simplification. A
        rule that computes it again (exp's derivative is exp(x)) gets this node."""
        if node.op is VAR:
            return self.variable(node.name, value)  # type: ignore[arg-type]
        if node.op is CONST:
            return self.const(node.value, node.name)
        ids = tuple(s.id for s in inputs)
        i = self.graph.add(node.op, ids, 0, 0, name=node.name)
        sym = self._new(i, value)
        self._cse.setdefault((node.op.name, ids), sym)
        return sym

    # --- recording ---------------------------------------------------------------------
    def apply(self, op: Op, *args: Any) -> Sym:
        """Record ``op(*args)`` (or the simpler node that equals it)."""
        xs = [self.sym(a) for a in args]
        values = [x.value for x in xs]
        value = op.impl(namespace_for(op, values))(*values)
        if self.simplify:
            same = self._simpler(op, xs, value)
            if same is not None:
                return same
            if all(self.is_const(x) for x in xs) and _finite_or_inf(value):
                return self.const(value)
        key = (op.name, tuple(x.id for x in xs))
        sym = self._cse.get(key)
        if sym is None:
            i = self.graph.add(op, key[1], 0, 0)
            sym = self._cse[key] = self._new(i, value)
        return sym

    def _simpler(self, op: Op, xs: list[Sym], value: Any) -> Sym | None:
        """An existing node that equals ``op(*xs)`` exactly, or None."""
        name = op.name
        c = [self.const_value(x) for x in xs]

        def keeps(k: int) -> Sym | None:  # xs[k] is the result if nothing broadcasts
            return xs[k] if _same_shape(xs[k].value, value) else None

        if name in ("add", "sub") and _is(c[1], 0.0):
            return keeps(0)
        if name == "add" and _is(c[0], 0.0):
            return keeps(1)
        if name == "sub" and _is(c[0], 0.0) and _same_shape(xs[1].value, value):
            return self.apply(REGISTRY["neg"], xs[1])
        if name == "mul":
            for k in (0, 1):
                other = xs[1 - k]
                if _is(c[k], 1.0) or self._ones(xs[k]):
                    return keeps(1 - k)
                if _is(c[k], -1.0) and _same_shape(other.value, value):
                    return self.apply(REGISTRY["neg"], other)
        if name == "div" and _is(c[1], 1.0):
            return keeps(0)
        inner = self.graph.nodes[xs[0].id]
        if name == "neg" and inner.op.name == "neg":
            return self._input(xs[0], 0)
        if name == "neg" and inner.op.name == "mul" and _same_shape(xs[0].value, value):
            for k in (0, 1):  # -((-a)*b) = a*b
                factor = self._input(xs[0], k)
                if self.graph.nodes[factor.id].op.name == "neg":
                    a, b = self._input(factor, 0), self._input(xs[0], 1 - k)
                    return self.apply(REGISTRY["mul"], *((a, b) if k == 0 else (b, a)))
        if name == "pow" and _is(c[1], 1.0):
            return keeps(0)
        if name == "where" and c[0] is not None and _uniform(c[0]):
            return keeps(1 if _truthy(c[0]) else 2)
        if name in ("id", "pos") or (name in ("sum", "T") and len(_shape(xs[0].value)) < (
                1 if name == "sum" else 2)):  # a scalar's sum, a vector's transpose
            return xs[0]
        if name in ("ones_like", "zeros_like") and not _shape(value):
            return self.const(1.0 if name == "ones_like" else 0.0)
        return None

    def _ones(self, s: Sym) -> bool:
        node = self.graph.nodes[s.id]
        return node.op.name == "ones_like"

    def _input(self, s: Sym, k: int) -> Sym:
        return self.syms[self.graph.nodes[s.id].inputs[k]]

    # --- the namespace ----------------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        op = REGISTRY.get(_ALIASES.get(name, name))
        if op is None or op.name in ("var", "const"):
            raise AttributeError(f"the recorder has no function {name!r}")

        def call(*xs: Any) -> Sym:
            return self.apply(op, *xs)

        return call

    def kink(self, c: Any, value: Any, formula: Any, jax: Any = SAME, at: str = "") -> Any:
        """A convention at a kink: recorded as ``where`` (of the current convention); shown
        as the formula alone."""
        if self.display:
            return formula
        return super().kink(c, value, formula, jax, at)

    @staticmethod
    def shape(x: Any) -> tuple[int, ...]:
        return _shape(x.value if isinstance(x, Sym) else x)

    def ndim(self, x: Any) -> int:
        return len(self.shape(x))

    def size(self, x: Any) -> Any:
        if self.display:
            return self.variable("n", 3.0)
        n = 1
        for k in self.shape(x):
            n *= k
        return n

    def position(self, k: int) -> Any:
        """The position of an input of a variadic op: ``i`` in a displayed formula."""
        return self.variable("i", float(k)) if self.display else float(k)


def _shape(v: Any) -> tuple[int, ...]:
    return () if type(v) is float else tuple(getattr(v, "shape", ()))


def _same_shape(a: Any, b: Any) -> bool:
    return _shape(a) == _shape(b)


def _is(c: Any, x: float) -> bool:
    """Is the constant ``c`` (None: not a constant) equal to ``x`` in every element?"""
    if c is None:
        return False
    if type(c) is float:
        return c == x
    import numpy as np

    return bool(np.all(np.asarray(c) == x))


def _uniform(c: Any) -> bool:
    """A constant condition that is the same everywhere (all true or all false)."""
    if type(c) is float:
        return True
    import numpy as np

    a = np.asarray(c) != 0
    return bool(a.all() or not a.any())


def _truthy(c: Any) -> bool:
    if type(c) is float:
        return bool(c)
    import numpy as np

    return bool(np.all(np.asarray(c) != 0))


def _finite_or_inf(v: Any) -> bool:
    """Can a constant be written as a literal (no nan)?"""
    if type(v) is float:
        return v == v
    import numpy as np

    return not bool(np.isnan(v).any())


# --- backward passes as graphs -----------------------------------------------------------

class Derivative:
    """A recorded backward pass: the graph with the forward nodes and the gradient nodes."""

    def __init__(self, graph: Graph, gradients: dict[str, int], values: list) -> None:
        self.graph = graph
        #: name -> node id of d(output)/d(name) in :attr:`graph`.
        self.gradients = gradients
        #: The value of every node at the point it was recorded.
        self.values = values


def record_backward(graph: Graph, point: Mapping[str, Any], wrt: Iterable[str] | None = None,
                    root: int | None = None, simplify: bool = True) -> Derivative:
    """The backward pass of ``graph`` from ``root`` (default: its scalar output), recorded as
    a graph: d(root)/d(name) for each variable (or each ``wrt`` name, variables and let-bound
    names), as nodes of one graph that also holds the forward nodes they use.

    ``point`` gives each variable a value (or a placeholder of the right shape): shapes
    decide the rules' branches, and where broadcasting needs an ``unbroadcast``.
    """
    from .engine import _as_input, namespace

    root = graph.output if root is None else root
    names = list(wrt) if wrt else list(graph.variables)
    rec = Recorder(Graph(graph.source), simplify=simplify)
    given = {name: _as_input(name, point[name]) for name in graph.variables}
    xp = namespace(graph, given)
    syms: list[Sym] = []
    with no_gc(), _errstate(xp):
        for node in graph.nodes:
            ins = [syms[j] for j in node.inputs]
            if node.op is VAR:
                value = given[node.name]  # type: ignore[index]
            elif node.op is CONST:
                value = node.value
            else:
                try:
                    value = node.op.impl(xp)(*[s.value for s in ins])
                except CgcliError as exc:
                    raise exc.located(graph.source, node.pos) from None
            sym = rec.copy(node, ins, value)
            if node.name is not None and node.op is not VAR and node.op is not CONST:
                rec.graph.bindings[node.name] = sym.id
            syms.append(sym)
        if _shape(syms[root].value):
            raise ShapeError("a derivative needs a scalar output; reduce it first, e.g. "
                             "sum(...)", source=graph.source, pos=graph.nodes[root].start)
        rg = graph.requires_grad()
        grads: list[Sym | None] = [None] * len(graph.nodes)
        grads[root] = rec.const(1.0)
        for node in reversed(graph.nodes[: root + 1]):
            g = grads[node.id]
            if g is None or not node.inputs:
                continue
            ins = [syms[j] for j in node.inputs]
            parts = node.op.vjp_rule(rec, g, syms[node.id], *ins)
            for j, gj in zip(node.inputs, parts, strict=False):
                if gj is None or not rg[j]:
                    continue
                gj = rec.sym(gj)
                target = syms[j].value
                if _shape(gj.value) != _shape(target):
                    gj = (rec.total(gj) if not _shape(target)
                          else rec.unbroadcast(gj, syms[j]))
                grads[j] = gj if grads[j] is None else grads[j] + gj
    out: dict[str, int] = {}
    for name in names:
        i = graph.variables[name] if name in graph.variables else graph.bindings[name]
        g = grads[i]
        if g is None:  # the output does not depend on it
            g = rec.zeros_like(syms[i]) if _shape(syms[i].value) else rec.const(0.0)
        out[name] = g.id
    values = [rec.syms[i].value for i in range(len(rec.graph.nodes))]
    return Derivative(rec.graph, out, values)


@contextmanager
def _errstate(xp: Any) -> Iterator[None]:
    """NumPy's floating-point warnings off while recording (IEEE results stand)."""
    if not xp.arrays:
        yield
    else:
        with xp.np.errstate(all="ignore"):
            yield


def extract(graph: Graph, root: int, keep_names: bool = True) -> Graph:
    """The part of ``graph`` that ``root`` depends on, as a graph of its own with ``root`` as
    its output (node order kept; names of let-bound nodes kept if ``keep_names``)."""
    need = graph.ancestors(root)
    out = Graph(graph.source)
    new: dict[int, int] = {}
    bound = {i: name for name, i in graph.bindings.items()}
    for node in graph.nodes[: root + 1]:
        if not need[node.id]:
            continue
        name = node.name if node.op in (VAR, CONST) else (bound.get(node.id) if keep_names
                                                           else None)
        i = out.add(node.op, tuple(new[j] for j in node.inputs), node.start, node.end,
                    node.pos, name=name, value=node.value)
        new[node.id] = i
        if node.op is VAR:
            out.variables[node.name] = i  # type: ignore[index]
        elif name is not None and node.op is not CONST:
            out.bindings[name] = i
    out.output = new[root]
    return out
