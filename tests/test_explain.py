"""`explain`: the registry's local-derivative formulas, the chain-rule steps, and the command."""

from __future__ import annotations

import re

import numpy as np
import pytest

import cgcli
from cgcli.engine import unbroadcast
from cgcli.ops import REGISTRY

OPS = sorted(REGISTRY)
GATES = sorted(name for name, op in REGISTRY.items() if op.params)

# --- the registry's formulas ------------------------------------------------------------------

@pytest.mark.parametrize("name", OPS)
def test_every_op_has_its_local_derivative_in_three_notations(name: str) -> None:
    op = REGISTRY[name]
    n = len(op.params)
    assert len(op.local) == len(op.local_ascii) == len(op.local_latex) == n, name
    for uni, asc, tex in zip(op.local, op.local_ascii, op.local_latex, strict=True):
        assert uni.strip() and asc.strip() and tex.strip(), name
        assert asc.isascii(), f"{name}: ASCII formula {asc!r} is not ASCII"
        assert tex.isascii(), f"{name}: LaTeX formula {tex!r} is not ASCII"
        assert tex.count("{") == tex.count("}"), f"{name}: unbalanced braces in {tex!r}"
        names = set(re.findall(r"(?<![\\A-Za-z0-9_])[A-Za-z_]\w*", asc))
        allowed = {*op.params, "out", "g", "n", "i", "e", "ln", "sqrt", "sigmoid", "sign",
                   "cos", "sin", "cosh", "sinh", "norm", "softmax", "sum", "T"}
        assert names <= allowed, f"{name}: unknown names {names - allowed} in {asc!r}"


#: Formulas with [c] (1 where c holds) are not in the language; they are checked by the
#: explain steps below instead.
IVERSON = {"relu", "leaky_relu", "elu", "max", "min", "array"}


def _expressible(name: str, xs: list[np.ndarray]) -> bool:
    """softmax and logsumexp work along the last axis, which sum() in a formula does not say;
    matmul with a vector is an outer product, which @ on vectors does not express."""
    if name in ("softmax", "logsumexp"):
        return all(x.ndim <= 1 for x in xs)
    return name != "matmul" or all(x.ndim == 2 for x in xs)


def _formula_value(op: object, slot: int, xs: list, out: object, g: object) -> object:
    """The ASCII formula of ``op`` for input ``slot``, evaluated by cgcli itself."""
    template = op.local_ascii[min(slot, len(op.local_ascii) - 1)]
    at = {"out": out, "g": g, "n": float(np.size(xs[slot])), "i": float(slot)}
    if op.variadic:
        at[op.params[0]] = xs[slot]
    else:
        for k, p in enumerate(op.params):
            at[p] = xs[k] if k < len(xs) else op.defaults[p]
    graph = cgcli.parse(template)
    value = cgcli.evaluate(graph, {k: v for k, v in at.items() if k in graph.variables}).value
    return value if "g" in graph.variables else np.asarray(g) * value


@pytest.mark.parametrize("name", [n for n in GATES if n not in IVERSON])
def test_ascii_formulas_agree_with_the_vjp(name: str) -> None:
    op = REGISTRY[name]
    rng = np.random.default_rng(len(name))
    checked = 0
    for sample in op.samples:
        xs = [np.asarray(x, dtype=float) for x in sample]
        if not _expressible(name, xs):
            continue
        out = np.asarray(op.forward(*xs))
        g = rng.standard_normal(out.shape)
        parts = op.vjp(g, out, *xs)
        for slot, x in enumerate(xs):
            want = unbroadcast(parts[slot], x.shape)
            got = np.asarray(_formula_value(op, slot, xs, out, g))
            got = unbroadcast(np.broadcast_to(got, np.broadcast_shapes(got.shape, x.shape)),
                              x.shape)
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12,
                                       err_msg=f"{name}{sample}, input {slot}")
            checked += 1
    assert checked, f"{name}: no sample could be checked"


@pytest.mark.parametrize("name", sorted(n for n, op in REGISTRY.items() if op.kinks))
def test_kinks_are_constant_around_smooth_samples(name: str) -> None:
    op = REGISTRY[name]
    for sample in op.samples:
        xs = [np.asarray(x, dtype=float) for x in sample]
        sides = [op.kinks(op.forward(*ys), *ys) for ys in (xs, [x + 1e-9 for x in xs[:1]]
                                                           + xs[1:])]
        assert np.array_equal(sides[0], sides[1]), f"{name}{sample}"


def test_kinks_change_across_a_kink() -> None:
    relu = REGISTRY["relu"]
    assert not np.array_equal(relu.kinks(0.0, np.float64(-1e-9)),
                              relu.kinks(1e-9, np.float64(1e-9)))
    mx = REGISTRY["max"]
    a, b = np.float64(1.0), np.float64(1.0 + 1e-9)
    assert not np.array_equal(mx.kinks(max(a, b), a, b), mx.kinks(a, a, b - 2e-9))
