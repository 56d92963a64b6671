"""Registry-wide checks: every op's VJP against central finite differences of its forward.

The test is parametrized over :data:`cgcli.ops.REGISTRY` itself, so an op is checked the
moment it is registered: at each of its own ``samples``, for a random upstream gradient ``g``
shaped like the output, the VJP's k-th component must equal <g, J·e_k> from central
differences of the forward function, for every element of every input.
"""

from __future__ import annotations

import numpy as np
import pytest

from cgcli.engine import unbroadcast
from cgcli.formulas import derivative
from cgcli.ops import FUNCTIONS, REGISTRY

LEAVES = ("var", "const")
OPS = sorted(name for name in REGISTRY if name not in LEAVES)
CALLABLE = sorted(name for name, op in REGISTRY.items() if op.callable)

RTOL = 1e-6
ATOL = 1e-6
STEP = 1e-6

#: Elementwise binary ops (two inputs that broadcast), with a scalar and a length-3 vector at
#: which the op is smooth. Each is checked as (scalar, vector) and as (vector, scalar).
BROADCAST = {
    "add": (-0.4, [-1.0, 0.5, -0.2]),
    "sub": (-0.4, [-1.0, 0.5, -0.2]),
    "mul": (-0.4, [-1.0, 0.5, -0.2]),
    "div": (-0.4, [-1.0, 0.5, -0.2]),
    "pow": (1.7, [0.5, 1.5, 2.5]),  # positive on both sides: a^b is smooth in a and b
    "max": (-0.4, [-1.0, 0.5, -0.2]),  # no ties
    "min": (-0.4, [-1.0, 0.5, -0.2]),
    "leaky_relu": (-0.4, [-1.0, 0.5, -0.2]),  # (x, slope), away from the kink at x = 0
    "elu": (-0.4, [-1.0, 0.5, -0.2]),  # (x, alpha)
}


def _arg(x: np.ndarray):
    """An input as the engine passes it: a NumPy scalar for 0-d, else the array."""
    return x[()] if x.ndim == 0 else x


def _forward(op, xs: list[np.ndarray]) -> np.ndarray:
    with np.errstate(all="raise"):
        return np.asarray(op.forward(*[_arg(x) for x in xs]), dtype=np.float64)


def check_vjp(name: str, sample: tuple, seed: int) -> None:
    """Compare ``REGISTRY[name].vjp`` with central differences of its forward at ``sample``."""
    op = REGISTRY[name]
    xs = [np.asarray(x, dtype=np.float64) for x in sample]
    out = _forward(op, xs)
    assert np.all(np.isfinite(out)), f"{name}{sample}: forward is not finite"
    rng = np.random.default_rng(seed)
    g = rng.standard_normal(out.shape)

    before = [x.copy() for x in xs], g.copy(), out.copy()
    with np.errstate(all="raise"):
        parts = op.vjp(g[()] if g.ndim == 0 else g, _arg(out), *[_arg(x) for x in xs])
    # Rules are pure: nothing they were given may change.
    for x, x0 in zip(xs, before[0], strict=True):
        np.testing.assert_array_equal(x, x0, err_msg=f"{name}: vjp modified an input")
    np.testing.assert_array_equal(g, before[1], err_msg=f"{name}: vjp modified g")
    np.testing.assert_array_equal(out, before[2], err_msg=f"{name}: vjp modified out")

    parts = tuple(parts)
    # A rule may return more gradients than inputs (for omitted optional parameters).
    assert len(parts) >= len(xs), f"{name}: vjp returned {len(parts)} gradients for {len(xs)}"
    for i, (x, part) in enumerate(zip(xs, parts, strict=False)):
        grad = np.asarray(unbroadcast(part, x.shape), dtype=np.float64)
        assert grad.shape == x.shape, (
            f"{name}{sample}: gradient {i} has shape {grad.shape}, input has {x.shape}")
        for k in np.ndindex(*x.shape):
            h = STEP * max(1.0, abs(float(x[k])))
            plus = [y.copy() for y in xs]
            minus = [y.copy() for y in xs]
            plus[i][k] += h
            minus[i][k] -= h
            step = plus[i][k] - minus[i][k]  # the step actually taken, after rounding
            fd = float(np.sum(g * (_forward(op, plus) - _forward(op, minus)))) / float(step)
            got = float(grad[k])
            assert abs(got - fd) <= ATOL + RTOL * max(abs(got), abs(fd)), (
                f"{name}{sample}: d/d(input {i}){list(k)}: vjp gives {got!r}, "
                f"central differences {fd!r}")


@pytest.mark.parametrize("name", OPS)
def test_vjp_matches_finite_differences(name: str) -> None:
    op = REGISTRY[name]
    assert op.samples, f"op {name!r} has no samples: add smooth sample points to its entry"
    for n, sample in enumerate(op.samples):
        assert op.min_args <= len(sample), f"{name}: sample {sample} has too few inputs"
        if op.max_args is not None:
            assert len(sample) <= op.max_args, f"{name}: sample {sample} has too many inputs"
        check_vjp(name, sample, seed=1000 * OPS.index(name) + n)


@pytest.mark.parametrize("name", sorted(BROADCAST))
@pytest.mark.parametrize("scalar_first", [True, False], ids=["scalar-vector", "vector-scalar"])
def test_vjp_scalar_broadcast(name: str, scalar_first: bool) -> None:
    op = REGISTRY[name]
    assert op.min_args <= 2 and (op.max_args is None or op.max_args >= 2)
    s, v = BROADCAST[name]
    sample = (s, v) if scalar_first else (v, s)
    out = _forward(op, [np.asarray(x, dtype=np.float64) for x in sample])
    assert out.shape == (3,), f"{name} is not elementwise: output shape {out.shape}"
    check_vjp(name, sample, seed=7 + scalar_first)


@pytest.mark.parametrize("name", CALLABLE)
def test_callable_entry_is_documented(name: str) -> None:
    op = REGISTRY[name]
    assert op.doc.strip(), f"{name}: empty doc"
    assert derivative(op).strip(), f"{name}: empty derivative"
    assert op.samples, f"{name}: no samples"
    assert FUNCTIONS.get(name) is op, f"{name}: callable but not in FUNCTIONS"


def test_functions_are_callable_registry_entries() -> None:
    for alias, op in FUNCTIONS.items():
        assert op.callable, f"{alias}: in FUNCTIONS but not callable"
        assert REGISTRY.get(op.name) is op, f"{alias}: {op.name} is not the registered op"


def test_broadcast_table_names_registered_ops() -> None:
    assert set(BROADCAST) <= set(REGISTRY)
