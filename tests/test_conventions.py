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
