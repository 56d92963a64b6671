"""Many points at once: the forward and backward passes over a leading batch axis.

Every variable gets a leading axis of N rows (values shared by all rows are broadcast to it),
so one forward and one backward pass compute the value and the gradients of every row: the
Python loop runs over the graph's nodes, never over rows.

Each op still means what it means for one row. Elementwise ops (the default) only need their
operands' row axes lined up; the few ops that look at the shape of their operand (reductions,
products, transposes, literals, softmax) have a *batch rule* in :data:`BATCH_RULES`, as JAX
keeps batching rules beside its primitives. A registry-wide test checks every op batched
against a loop over rows, so a new non-elementwise op without a rule fails at once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from .engine import forward as forward_one
from .engine import unbroadcast
from .errors import CgcliError, ShapeError
from .graphs import Graph, no_gc
from .ops import CONST, VAR
from .xp import FORMULA, numpy_namespace


class Batched:
    """The result of a batched pass: per node the values (and gradients), rows first."""

    def __init__(self, graph: Graph, values: list, grads: list | None, batched: list[bool],
                 rows: int) -> None:
        self.graph, self.values, self.grads, self.batched, self.rows = (
            graph, values, grads, batched, rows)

    @property
    def value(self) -> np.ndarray:
        """The output of every row: shape (N,) + the output's shape."""
        return self._rows(self.values, self.graph.output)

    def gradient(self, name: str) -> np.ndarray:
        """d(output of row r)/d(name in row r) for every row r: shape (N,) + name's shape."""
        graph = self.graph
        i = graph.variables[name] if name in graph.variables else graph.bindings[name]
        return self._rows(self.grads, i)  # type: ignore[arg-type]

    def _rows(self, arrays: list, i: int) -> np.ndarray:
        a = np.asarray(arrays[i], dtype=np.float64)
        if not self.batched[i]:
            a = np.broadcast_to(a, (self.rows, *a.shape))
        return a


# --- batch rules -------------------------------------------------------------------------------
# A rule gets the inputs (batched ones with the row axis first, the others as for one row),
# which inputs are batched, and their event ranks (the rank of one row's value). It returns
# forward(*xs) -> value with the row axis, and vjp(g, out, *xs) -> gradients of the batched
# inputs in their own (batched) shapes (None for the others).

Rule = tuple[Callable[..., Any], Callable[..., tuple]]


def _event_axes(x: np.ndarray) -> tuple[int, ...]:
    return tuple(range(1, np.ndim(x)))


def _expand(g: Any, rank: int) -> Any:
    """g of shape (N,) -> (N, 1, ..., 1) with ``rank`` trailing ones, to broadcast."""
    return np.reshape(g, np.shape(g) + (1,) * rank)


def _reduction(reduce: Callable, vjp: Callable) -> Callable[..., Rule]:
    def rule(flags: list[bool], ranks: list[int]) -> Rule:
        return (lambda x: reduce(x, axis=_event_axes(x)),
                lambda g, out, x: (vjp(_expand(g, ranks[0]), _expand(out, ranks[0]), x),))
    return rule


def _sum_vjp(g: Any, out: Any, x: Any) -> Any:
    return np.broadcast_to(g, np.shape(x)).copy()


def _mean_vjp(g: Any, out: Any, x: Any) -> Any:
    n = max(int(np.prod(np.shape(x)[1:])), 1)
    return np.broadcast_to(g / n, np.shape(x)).copy()


def _norm_fwd(x: Any, axis: tuple[int, ...]) -> Any:
    return np.sqrt(np.sum(np.square(x), axis=axis))


def _norm_vjp(g: Any, out: Any, x: Any) -> Any:
    # The registry's rule, row by row: 0 at 0 (PyTorch) or x/0 (JAX: nan).
    xp = numpy_namespace()
    return g * xp.kink(out == 0, 0.0, x / out, jax=FORMULA)


def _extreme_vjp(g: Any, out: Any, x: Any) -> Any:
    mask = np.asarray(x) == out  # ties share the gradient equally, as in PyTorch
    count = np.sum(mask, axis=_event_axes(mask), keepdims=True)
    return np.where(mask, g / np.where(count == 0, 1, count), 0.0)


def _letters(rank: int, last: str) -> str:
    """Subscripts of a matmul operand of event ``rank`` (1 or 2) around the summed ``k``."""
    return {("a", 1): "k", ("a", 2): "mk", ("b", 1): "k", ("b", 2): "kn"}[(last, rank)]


def _matmul_rule(flags: list[bool], ranks: list[int]) -> Rule:
    if not all(r in (1, 2) for r in ranks):
        raise ShapeError("in batch mode @ takes vectors and matrices (one per row)")
    sa, sb = _letters(ranks[0], "a"), _letters(ranks[1], "b")
    so = sa.replace("k", "") + sb.replace("k", "")
    pa, pb = ("..." if flags[0] else ""), ("..." if flags[1] else "")
    spec = f"{pa}{sa},{pb}{sb}->...{so}"

    def fwd(a: Any, b: Any) -> Any:
        return np.einsum(spec, a, b)

    def vjp(g: Any, out: Any, a: Any, b: Any) -> tuple:
        ga = np.einsum(f"...{so},{pb}{sb}->...{sa}", g, b) if flags[0] else None
        gb = np.einsum(f"{pa}{sa},...{so}->...{sb}", a, g) if flags[1] else None
        return ga, gb

    return fwd, vjp


def _dot_rule(flags: list[bool], ranks: list[int]) -> Rule:
    if ranks != [1, 1]:
        raise ShapeError("dot needs two vectors of the same length")
    return _matmul_rule(flags, ranks)


def _transpose_rule(flags: list[bool], ranks: list[int]) -> Rule:
    if ranks[0] < 2:
        return (lambda x: x), (lambda g, out, x: (g,))
    return (lambda x: np.swapaxes(x, -1, -2)), (lambda g, out, x: (np.swapaxes(g, -1, -2),))


def _last_axis_rule(name: str) -> Callable[..., Rule]:
    from .ops import REGISTRY

    op = REGISTRY[name]

    def rule(flags: list[bool], ranks: list[int]) -> Rule:
        if ranks[0] >= 1:  # the registry's own functions act on the last axis already
            return op.forward, op.vjp
        if name == "softmax":  # softmax of one number is 1, logsumexp of it the number
            return (lambda x: np.ones(np.shape(x))), (lambda g, out, x: (np.zeros(np.shape(x)),))
        return (lambda x: x), (lambda g, out, x: (g,))

    return rule


def _stack_rule(flags: list[bool], ranks: list[int]) -> Rule:
    def fwd(*xs: Any) -> Any:
        n = max(np.shape(x)[0] for x, f in zip(xs, flags, strict=True) if f)
        rows = [np.broadcast_to(x, (n, *np.shape(x)[1:])) if f else
                np.broadcast_to(x, (n, *np.shape(x))) for x, f in zip(xs, flags, strict=True)]
        shapes = {r.shape for r in rows}
        if len(shapes) > 1:
            raise ShapeError("the entries of an array literal must all have the same shape")
        return np.stack(rows, axis=1)

    def vjp(g: Any, out: Any, *xs: Any) -> tuple:
        return tuple(g[:, i] if f else None for i, f in enumerate(flags))

    return fwd, vjp


def _column_rule(flags: list[bool], ranks: list[int]) -> Rule:
    return (lambda x: x[..., None]), (lambda g, out, x: (g[..., 0],))


def _rows_index(x_rows: Any, i: Any, batched: bool) -> Any:
    """The index of take/put for every row (checked as for one row): an int, or one per row."""
    ns = numpy_namespace()
    if not batched:
        return ns._index(x_rows[0], i) if len(x_rows) else round(float(i))
    return np.array([ns._index(x_rows[r], i[r]) for r in range(len(i))], dtype=np.intp)


def _take_rule(flags: list[bool], ranks: list[int]) -> Rule:
    if ranks[0] < 1:
        raise ShapeError("take needs a vector or matrix to take an element of")

    def rows_of(x: Any, i: Any) -> Any:
        n = len(i) if flags[1] else len(x)
        return np.broadcast_to(x, (n, *np.shape(x))) if not flags[0] else x

    def fwd(x: Any, i: Any) -> Any:
        xs = rows_of(x, i)
        k = _rows_index(xs, i, flags[1])
        return xs[np.arange(len(xs)), k]

    def vjp(g: Any, out: Any, x: Any, i: Any) -> tuple:
        xs = rows_of(x, i)
        gx = np.zeros(np.shape(xs))
        gx[np.arange(len(xs)), _rows_index(xs, i, flags[1])] = g
        return gx, None

    return fwd, vjp


def _put_rule(flags: list[bool], ranks: list[int]) -> Rule:
    def fwd(v: Any, i: Any, like: Any) -> Any:
        n = max(len(a) for a, f in zip((v, i, like), flags, strict=True) if f)
        event = np.shape(like)[1:] if flags[2] else np.shape(like)
        if np.shape(v)[1 if flags[0] else 0:] != event[1:]:
            raise ShapeError(f"put(v, i, like): v's shape is not the shape of an element of "
                             f"like, {event[1:]}")
        out = np.zeros((n, *event))
        out[np.arange(n), _rows_index(out, i, flags[1])] = v
        return out

    def vjp(g: Any, out: Any, v: Any, i: Any, like: Any) -> tuple:
        k = _rows_index(g, i, flags[1])
        return (g[np.arange(len(g)), k] if flags[0] else None), None, None

    return fwd, vjp


def _outer_rule(flags: list[bool], ranks: list[int]) -> Rule:
    if ranks != [1, 1]:
        raise ShapeError("outer needs two vectors")

    def vjp(g: Any, out: Any, a: Any, b: Any) -> tuple:
        return ((g * b[..., None, :]).sum(-1) if flags[0] else None,
                (g * a[..., :, None]).sum(-2) if flags[1] else None)

    return (lambda a, b: a[..., :, None] * b[..., None, :]), vjp


def _unbroadcast_rule(flags: list[bool], ranks: list[int]) -> Rule:
    def fwd(a: Any, like: Any) -> Any:
        event = np.shape(like)[1:] if flags[1] else np.shape(like)
        if not flags[0]:
            return numpy_namespace().unbroadcast(a, np.zeros(event))
        numpy_namespace().unbroadcast(a[0], np.zeros(event))  # checks, as for one row
        return np.stack([unbroadcast(row, event) for row in a]) if len(a) else \
            np.zeros((0, *event))

    def vjp(g: Any, out: Any, a: Any, like: Any) -> tuple:
        ga = np.broadcast_to(_expand_event(g, ranks[0] - ranks[1]), np.shape(a)).copy()
        return ga, None

    return fwd, vjp


def _expand_event(g: Any, extra: int) -> Any:
    """Rows of shape E -> rows of shape (1, ..., 1) + E: broadcasts against a wider event."""
    return np.reshape(g, (np.shape(g)[0],) + (1,) * extra + np.shape(g)[1:])


def _share_rule(largest: bool) -> Callable[..., Rule]:
    def rule(flags: list[bool], ranks: list[int]) -> Rule:
        def fwd(x: Any) -> Any:
            axes = _event_axes(x)
            m = (np.max if largest else np.min)(x, axis=axes, keepdims=True)
            mask = (x == m).astype(np.float64)
            count = np.sum(mask, axis=axes, keepdims=True)
            return np.where(count > 1, mask / np.where(count == 0, 1.0, count), mask)

        return fwd, (lambda g, out, x: (None,))

    return rule


BATCH_RULES: dict[str, Callable[[list[bool], list[int]], Rule]] = {
    "sum": _reduction(np.sum, _sum_vjp),
    "mean": _reduction(np.mean, _mean_vjp),
    "norm": _reduction(_norm_fwd, _norm_vjp),
    "matmul": _matmul_rule,
    "dot": _dot_rule,
    "T": _transpose_rule,
    "softmax": _last_axis_rule("softmax"),
    "logsumexp": _last_axis_rule("logsumexp"),
    "array": _stack_rule,
    "column": _column_rule,
    "take": _take_rule,
    "put": _put_rule,
    "outer": _outer_rule,
    "unbroadcast": _unbroadcast_rule,
}
# max and min reduce with one argument and are elementwise with more.
_REDUCE_WITH_ONE = {"max": np.max, "min": np.min}
_SHARE_WITH_ONE = {"ismax": _share_rule(True), "ismin": _share_rule(False)}


def _rule_for(op_name: str, n_inputs: int) -> Callable[..., Rule] | None:
    if n_inputs == 1:
        if op_name in _REDUCE_WITH_ONE:
            return _reduction(_REDUCE_WITH_ONE[op_name], _extreme_vjp)
        if op_name in _SHARE_WITH_ONE:
            return _SHARE_WITH_ONE[op_name]
    return BATCH_RULES.get(op_name)


# --- the passes ----------------------------------------------------------------------------

def evaluate(graph: Graph, rows: Mapping[str, Any], shared: Mapping[str, Any] | None = None,
             gradients: bool = True) -> Batched:
    """Values (and gradients) of ``graph`` for every row.

    ``rows`` maps variables to arrays with the row axis first (all of the same length N);
    ``shared`` maps variables to one value used by every row (like ``--at``). Gradients are
    per row, for shared variables too (d output of row r / d the shared value).
    """
    shared = dict(shared or {})
    rows = {k: np.asarray(v, dtype=np.float64) for k, v in rows.items()}
    lengths = {v.shape[0] if v.ndim else -1 for v in rows.values()}
    if not rows or len(lengths) != 1 or -1 in lengths:
        raise ShapeError("batch rows must give each variable an array with one entry per row")
    (n,) = lengths
    # One row, unbatched, gives every node's shape per row (and reports shape errors once).
    first = {**shared, **{k: v[0] for k, v in rows.items()}} if n else {**shared}
    if n == 0:
        first.update({k: np.zeros(v.shape[1:]) for k, v in rows.items()})
    one = forward_one(graph, first)
    ranks = [np.ndim(v) for v in one]
    nodes = graph.nodes
    batched = graph.requires_grad()  # every node that depends on a variable has N rows
    funcs: list[Rule | None] = []
    for node in nodes:
        rule = _rule_for(node.op.name, len(node.inputs)) if node.inputs else None
        funcs.append(None if rule is None else
                     rule([batched[j] for j in node.inputs], [ranks[j] for j in node.inputs]))
    values: list = [None] * len(nodes)
    with np.errstate(all="ignore"), no_gc():
        for node in nodes:
            i = node.id
            if node.op is VAR:
                name = node.name
                values[i] = rows[name] if name in rows else np.broadcast_to(
                    np.asarray(shared[name], dtype=np.float64),
                    (n, *np.shape(shared[name])))
            elif node.op is CONST:
                values[i] = node.value
            elif not batched[i]:
                values[i] = one[i]
            else:
                xs = _operands(node, values, batched, ranks, ranks[i], funcs[i] is None)
                try:
                    values[i] = (funcs[i][0] if funcs[i] else node.op.forward)(*xs)
                except CgcliError as exc:
                    raise exc.located(graph.source, node.pos) from None
    if not gradients:
        return Batched(graph, values, None, batched, n)
    return Batched(graph, values, _backward(graph, values, batched, ranks, funcs, n),
                   batched, n)


def _operands(node: Any, values: list, batched: list[bool], ranks: list[int], out_rank: int,
              elementwise: bool) -> list:
    """The node's inputs; for elementwise ops, batched ones reshaped so that their row axis
    lines up with the output's: (N,) + ones + event."""
    xs = [values[j] for j in node.inputs]
    if elementwise:
        for k, j in enumerate(node.inputs):
            if batched[j] and ranks[j] < out_rank:
                x = xs[k]
                xs[k] = np.reshape(x, (x.shape[0],) + (1,) * (out_rank - ranks[j]) + x.shape[1:])
    return xs


def _backward(graph: Graph, values: list, batched: list[bool], ranks: list[int],
              funcs: list, n: int) -> list:
    nodes = graph.nodes
    out = graph.output
    if ranks[out] != 0:
        raise ShapeError(
            f"grad needs a scalar output per row, but the output has shape "
            f"{np.shape(values[out])[1:]}; reduce it first, e.g. sum(...)",
            source=graph.source, pos=nodes[out].start)
    grads: list = [None] * len(nodes)
    grads[out] = np.ones(n)
    with np.errstate(all="ignore"), no_gc():
        for node in reversed(nodes[: out + 1]):
            i = node.id
            g = grads[i]
            if g is None or not node.inputs:
                continue
            if funcs[i] is not None:
                parts = funcs[i][1](g, values[i], *[values[j] for j in node.inputs])
            else:
                xs = _operands(node, values, batched, ranks, ranks[i], True)
                parts = node.op.vjp(g, values[i], *xs)
            for j, gj in zip(node.inputs, parts, strict=False):
                if not batched[j] or gj is None:
                    continue
                shape = values[j].shape
                if np.shape(gj) != shape:
                    # sum over broadcast axes, keeping rows apart, then drop the alignment ones
                    aligned = (n,) + (1,) * (np.ndim(gj) - 1 - ranks[j]) + shape[1:]
                    gj = unbroadcast(gj, aligned).reshape(shape)
                grads[j] = gj if grads[j] is None else grads[j] + gj
    for node in nodes:
        if batched[node.id] and grads[node.id] is None:
            grads[node.id] = np.zeros(values[node.id].shape)
    return grads
