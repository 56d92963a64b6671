"""Gradients at kinks: PyTorch's convention or JAX's, and a note where the two differ.

The registry's backward rules state each convention where it matters, with
``xp.kink(c, value, formula, jax=...)`` (:mod:`cgcli.xp`); :func:`cgcli.xp.using` picks the
convention for the passes run inside it. :func:`kink_notes` reruns the rules of the nodes a
backward pass went through on a namespace that watches those kinks, and says where the
point sits on one at which PyTorch and JAX give different gradients::

    abs at 0: gradient 0 (PyTorch's convention; JAX gives 1)
"""

from __future__ import annotations

from contextlib import nullcontext
from functools import cache
from typing import Any

from .errors import CgcliError
from .graphs import Graph
from .numbers import fmt_value
from .ops import MAKES_ARRAYS, Op
from .xp import CONVENTION, CONVENTIONS, FLOAT, FORMULA, SAME, namespace_of, numpy_namespace

NAMES = {"torch": "PyTorch", "jax": "JAX"}


class _Watcher:
    """A namespace that answers as ``inner`` does and writes down the kinks it meets."""

    def __init__(self, inner: Any, collect: bool = True) -> None:
        self.inner, self.collect = inner, collect
        self.seen: list[tuple[str, Any, Any]] = []  # (at, what this convention gives, other)
        self.divergent = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def kink(self, c: Any, value: Any, formula: Any, jax: Any = SAME, at: str = "") -> Any:
        if jax is SAME:
            return self.inner.kink(c, value, formula, jax, at)
        self.divergent = True
        if self.collect:
            torch = formula if value is FORMULA else value
            other = formula if jax is FORMULA else jax
            found = (_first_difference(c, torch, other) if self.inner.arrays else
                     (torch, other) if c and not _same(torch, other) else None)
            if found is not None:
                used, alt = found if self.inner.convention == "torch" else found[::-1]
                self.seen.append((at, used, alt))
        return self.inner.kink(c, value, formula, jax, at)


def _same(a: float, b: float) -> bool:
    return a == b or (a != a and b != b)


def _first_difference(c: Any, torch: Any, other: Any) -> tuple[float, float] | None:
    """The two conventions' values at the first element of the kink where they differ."""
    np = numpy_namespace().np
    where, a, b = np.broadcast_arrays(np.asarray(c, dtype=bool), *(
        np.asarray(v, dtype=np.float64) for v in (torch, other)))
    a, b = a[where], b[where]
    differ = ~((a == b) | (np.isnan(a) & np.isnan(b)))
    if not differ.any():
        return None
    k = int(np.argmax(differ))
    return float(a[k]), float(b[k])


@cache
def divergent(op: Op) -> bool:
    """Does ``op``'s backward rule have a kink where PyTorch and JAX differ? (Found by
    running the rule once at a scalar sample: no NumPy for scalar expressions.)"""
    sample = next((s for s in op.samples if all(isinstance(x, float) for x in s)), None)
    if sample is None or not op.params or op.name in MAKES_ARRAYS:
        return False
    watcher = _Watcher(FLOAT, collect=False)
    try:
        op.vjp_rule(watcher, 1.0, op.impl(FLOAT)(*sample), *sample)
    except CgcliError:  # an op that needs arrays
        return False
    return watcher.divergent


def kink_notes(graph: Graph, values: list, root: int | None = None) -> list[str]:
    """One note per kind of kink that the backward pass from ``root`` (default: the output)
    meets where the conventions differ: what the current convention gives, and the other."""
    if not any(divergent(op) for op in {node.op for node in graph.nodes}):
        return []
    convention = CONVENTION.get()
    other = next(c for c in CONVENTIONS if c != convention)
    reaches, rg = graph.ancestors(root), graph.requires_grad()
    xp = namespace_of(values)
    notes: dict[str, str] = {}
    with xp.np.errstate(all="ignore") if xp.arrays else nullcontext():
        for node in graph.nodes:
            if not (node.inputs and reaches[node.id] and rg[node.id] and divergent(node.op)):
                continue
            watcher = _Watcher(xp)
            out = values[node.id]
            node.op.vjp_rule(watcher, xp.ones_like(out), out, *[values[j] for j in node.inputs])
            for at, used, alt in watcher.seen:
                notes.setdefault(at, f"{at}: gradient {fmt_value(float(used))} "
                                     f"({NAMES[convention]}'s convention; {NAMES[other]} gives "
                                     f"{fmt_value(float(alt))})")
    return list(notes.values())
