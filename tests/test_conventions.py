"""Gradients at kinks follow PyTorch (shared/conventions.md); functions are numerically stable."""

from __future__ import annotations

import math

import numpy as np
import pytest

import cgcli


def vg(expr: str, **at: object) -> tuple:
    ev = cgcli.gradients(expr, **at)
    return float(ev.value), {k: np.asarray(v).tolist() for k, v in ev.gradients.items()}


NAN = float("nan")


@pytest.mark.parametrize(("expr", "at", "value", "grads"), [
    ("relu(x)", {"x": 0}, 0, {"x": 0}),
    ("abs(x)", {"x": 0}, 0, {"x": 0}),
    ("sign(x)", {"x": 0}, 0, {"x": 0}),
    ("sqrt(x)", {"x": 0}, 0, {"x": math.inf}),
    ("x^0.5", {"x": 0}, 0, {"x": math.inf}),
    ("max(x, y)", {"x": 1, "y": 1}, 1, {"x": 0.5, "y": 0.5}),
    ("min(x, y)", {"x": 1, "y": 1}, 1, {"x": 0.5, "y": 0.5}),
    ("max(v)", {"v": [1, 3, 3]}, 3, {"v": [0, 0.5, 0.5]}),
    ("min(v)", {"v": [1, 1, 3]}, 1, {"v": [0.5, 0.5, 0]}),
    ("pow(x, y)", {"x": 0, "y": 2}, 0, {"x": 0, "y": 0}),
    ("pow(x, y)", {"x": 0, "y": 0}, 1, {"x": 0, "y": 0}),
    ("pow(x, y)", {"x": -2, "y": 2}, 4, {"x": -4, "y": NAN}),
    ("log(x)", {"x": 0}, -math.inf, {"x": math.inf}),
    ("leaky_relu(x, 0.01)", {"x": 0}, 0, {"x": 0.01}),
    ("leaky_relu(x)", {"x": 0}, 0, {"x": 0.01}),
    ("elu(x)", {"x": 0}, 0, {"x": 1}),
    ("norm(v)", {"v": [0, 0]}, 0, {"v": [0, 0]}),
    ("x*x", {"x": 0}, 0, {"x": 0}),
    ("x^2", {"x": 0}, 0, {"x": 0}),
    ("max(x, y, z)", {"x": 2, "y": 2, "z": 2}, 2, {"x": 1 / 3, "y": 1 / 3, "z": 1 / 3}),
])
def test_kinks_match_pytorch(expr: str, at: dict, value: float, grads: dict) -> None:
    got_value, got_grads = vg(expr, **at)
    assert got_value == value
    np.testing.assert_equal(got_grads, grads)  # nan == nan here; 1/3 is exact division


@pytest.mark.parametrize(("expr", "x", "value", "grad"), [
    ("sigmoid(x)", -800, 0.0, 0.0),
    ("sigmoid(x)", 800, 1.0, 0.0),
    ("sigmoid(x)", -40, math.exp(-40), math.exp(-40)),
    ("softplus(x)", 800, 800.0, 1.0),
    ("softplus(x)", -15, math.log1p(math.exp(-15)), 1 / (1 + math.exp(15))),
    ("softplus(x)", -800, 0.0, 0.0),
    ("logsumexp([x, x])", 1000, 1000 + math.log(2), 1.0),
    ("logsumexp([x, 0])", -1000, 0.0, 0.0),
    ("tanh(x)", 400, 1.0, 0.0),
    ("elu(x)", -800, -1.0, 0.0),
    ("silu(x)", -800, 0.0, 0.0),
])
def test_stable_at_extreme_arguments(expr: str, x: float, value: float, grad: float) -> None:
    got_value, got_grads = vg(expr, x=x)
    assert got_value == pytest.approx(value, rel=1e-12, abs=1e-300)
    assert got_grads["x"] == pytest.approx(grad, rel=1e-12, abs=1e-300)


def test_softmax_of_large_arguments() -> None:
    ev = cgcli.gradients("sum(softmax(v) * [1, 2, 3])", v=[1000.0, 1001.0, 1002.0])
    shifted = cgcli.gradients("sum(softmax(v) * [1, 2, 3])", v=[0.0, 1.0, 2.0])
    assert np.isfinite(ev.value) and float(ev.value) == pytest.approx(float(shifted.value))
    np.testing.assert_allclose(ev.gradients["v"], shifted.gradients["v"], rtol=1e-12)


def test_softmax_and_logsumexp_act_on_the_last_axis_of_a_matrix() -> None:
    m = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    ev = cgcli.evaluate("softmax(M)", M=m)
    np.testing.assert_allclose(ev.value.sum(axis=-1), [1.0, 1.0])
    np.testing.assert_allclose(cgcli.evaluate("logsumexp(M)", M=m).value,
                               np.log(np.exp(m).sum(axis=-1)))


def test_output_gradient_never_aliased() -> None:
    ev = cgcli.gradients("x + x", x=3.0)
    assert float(ev.grads[ev.graph.output]) == 1.0
    assert float(ev.gradients["x"]) == 2.0
    ev = cgcli.gradients("sum(v + v)", v=[1.0, 2.0])
    assert ev.grads[1] is not ev.grads[0]
    np.testing.assert_array_equal(ev.grads[1], [1.0, 1.0])  # v + v's own gradient
    np.testing.assert_array_equal(ev.gradients["v"], [2.0, 2.0])


def test_broadcast_gradients_sum_back_to_the_input_shape() -> None:
    ev = cgcli.gradients("sum(W * b + c)", W=np.ones((2, 3)), b=[1.0, 2.0, 3.0], c=5.0)
    np.testing.assert_array_equal(ev.gradients["b"], [2.0, 2.0, 2.0])
    assert ev.gradients["c"].shape == () and float(ev.gradients["c"]) == 6.0
    np.testing.assert_array_equal(ev.gradients["W"], [[1, 2, 3], [1, 2, 3]])


def test_matmul_gradients_all_shapes() -> None:
    rng = np.random.default_rng(3)
    a, b, v, w = (rng.normal(size=s) for s in [(2, 3), (3, 4), (3,), (2,)])
    ev = cgcli.gradients("sum(A @ B)", A=a, B=b)
    np.testing.assert_allclose(ev.gradients["A"], np.ones((2, 4)) @ b.T)
    np.testing.assert_allclose(ev.gradients["B"], a.T @ np.ones((2, 4)))
    ev = cgcli.gradients("w @ A @ v", A=a, v=v, w=w)
    np.testing.assert_allclose(ev.gradients["A"], np.outer(w, v))
    np.testing.assert_allclose(ev.gradients["v"], a.T @ w)
    np.testing.assert_allclose(ev.gradients["w"], a @ v)


# --- JAX's convention (--convention jax) ------------------------------------------------------

JAX_ROWS = [  # shared/conventions.md, JAX's column: the four rows marked ≠ differ
    ("relu(x)", {"x": 0}, {"x": 0}),
    ("abs(x)", {"x": 0}, {"x": 1}),
    ("sign(x)", {"x": 0}, {"x": 0}),
    ("sqrt(x)", {"x": 0}, {"x": math.inf}),
    ("x^0.5", {"x": 0}, {"x": math.inf}),
    ("max(x, y)", {"x": 1, "y": 1}, {"x": 0.5, "y": 0.5}),
    ("min(x, y)", {"x": 1, "y": 1}, {"x": 0.5, "y": 0.5}),
    ("max(x, 0)", {"x": 0}, {"x": 0.5}),
    ("max(v)", {"v": [1, 3, 3]}, {"v": [0, 0.5, 0.5]}),
    ("pow(x, y)", {"x": 0, "y": 2}, {"x": 0, "y": 0}),
    ("pow(x, y)", {"x": 0, "y": 0}, {"x": NAN, "y": 0}),
    ("pow(x, y)", {"x": -2, "y": 2}, {"x": -4, "y": NAN}),
    ("log(x)", {"x": 0}, {"x": math.inf}),
    ("leaky_relu(x, 0.01)", {"x": 0}, {"x": 1}),
    ("elu(x)", {"x": 0}, {"x": 1}),
    ("softplus(x)", {"x": 0}, {"x": 0.5}),
    ("norm(v)", {"v": [0, 0]}, {"v": [NAN, NAN]}),
    ("x*x", {"x": 0}, {"x": 0}),
    ("x^2", {"x": 0}, {"x": 0}),
]


@pytest.mark.parametrize(("expr", "at", "grads"), JAX_ROWS)
def test_kinks_match_jax_under_its_convention(expr: str, at: dict, grads: dict) -> None:
    from cgcli.xp import using

    with using("jax"):
        _, got = vg(expr, **at)
    np.testing.assert_equal(got, grads)


@pytest.mark.parametrize(("expr", "at", "grads"), JAX_ROWS)
def test_every_command_takes_the_convention(cli: object, expr: str, at: dict,
                                            grads: dict) -> None:
    """grad (one point and --batch), jacobian and diff give JAX's numbers with
    --convention jax."""
    import json

    args = [a for k, v in at.items() for a in ("--at", f"{k}={v}")]
    code, out, _ = cli("grad", expr, *args, "--convention", "jax", "--json")  # type: ignore[operator]
    got = json.loads(out)["gradients"]
    np.testing.assert_equal({k: np.asarray(v, dtype=object).tolist() for k, v in got.items()},
                            {k: [("nan" if math.isnan(x) else ("inf" if x == math.inf else x))
                                 for x in v] if isinstance(v, list) else
                             ("nan" if math.isnan(v) else ("inf" if v == math.inf else v))
                             for k, v in grads.items()})
    code, out, _ = cli("--convention", "jax", "jacobian", expr, *args,  # type: ignore[operator]
                       "--json")
    assert code == 0
    from cgcli.batched import evaluate as batch_evaluate
    from cgcli.xp import using

    with using("jax"):  # --batch: the same numbers in every row
        rows = batch_evaluate(cgcli.parse(expr), {k: np.asarray([v, v], dtype=float)
                                                  for k, v in at.items()})
    for k, v in grads.items():
        np.testing.assert_equal(rows.gradient(k)[1].tolist(), v)


def test_a_note_names_the_kink_where_the_conventions_differ(cli: object) -> None:
    code, out, err = cli("grad", "abs(x) * y", "--at", "x=0", "--at", "y=2",  # type: ignore[operator]
                         "--raw", "--wrt", "x")
    assert (code, out) == (0, "0\n")
    assert err == "note: abs at 0: gradient 0 (PyTorch's convention; JAX gives 1)\n"
    code, out, err = cli("grad", "abs(x) * y", "--at", "x=0", "--at", "y=2",  # type: ignore[operator]
                         "--raw", "--wrt", "x", "--convention", "jax")
    assert (code, out) == (0, "2\n")
    assert err == "note: abs at 0: gradient 1 (JAX's convention; PyTorch gives 0)\n"
    code, out, err = cli("grad", "abs(x) * y", "--at", "x=1", "--at", "y=2")  # type: ignore[operator]
    assert code == 0 and err == ""  # no kink, no note
    code, out, err = cli("grad", "x^0", "--at", "x=2")  # type: ignore[operator]
    assert err == ""  # at a kink of the rule where both give the same gradient: no note


def test_the_rules_that_differ_are_the_ones_conventions_md_lists() -> None:
    from cgcli.conventions import divergent
    from cgcli.ops import REGISTRY

    assert {n for n, op in REGISTRY.items() if divergent(op)} == {"abs", "leaky_relu", "pow",
                                                                  "norm"}


@pytest.mark.parametrize(("expr", "at", "value", "grads"), [
    ("log(x, 2)", {"x": 8}, 3.0, {"x": 1 / (8 * math.log(2))}),
    ("log(x, base=10)", {"x": 1000}, 3.0, {"x": 1 / (1000 * math.log(10))}),
    ("log(8, b)", {"b": 2}, 3.0, {"b": -math.log(8) / (2 * math.log(2) ** 2)}),
    ("atan2(y, x)", {"y": 1, "x": -1}, 3 * math.pi / 4, {"y": -0.5, "x": -0.5}),
    ("hypot(x, y)", {"x": 3, "y": 4}, 5.0, {"x": 0.6, "y": 0.8}),
    ("hypot(x, y)", {"x": 1e300, "y": 1e300}, math.sqrt(2) * 1e300,
     {"x": 1 / math.sqrt(2), "y": 1 / math.sqrt(2)}),
])
def test_new_functions(expr: str, at: dict, value: float, grads: dict) -> None:
    got_value, got_grads = vg(expr, **at)
    assert got_value == pytest.approx(value, rel=1e-15)
    for k, v in grads.items():
        assert got_grads[k] == pytest.approx(v, rel=1e-14)
