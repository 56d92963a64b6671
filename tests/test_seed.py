"""Every worked example of the lecture notes, with the lecture's numbers.

The notes round to two decimals; each check compares at that rounding and against the exact
closed form, so a slip in either direction fails.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import cgcli


def r2(x: object) -> object:
    return np.round(np.asarray(x, dtype=float), 2)


def by_label(ev: cgcli.Evaluation) -> dict[str, tuple]:
    return {ev.graph.label(i): (ev.values[i], ev.grads[i]) for i in range(len(ev.graph))}


def test_chain_rule_add_then_multiply() -> None:
    # f(x, y, z) = (x + y) z at x=-2, y=5, z=-4: df/dx = df/dy = -4, df/dz = 3.
    ev = cgcli.gradients("q = x + y; f = q * z", x=-2, y=5, z=-4)
    assert ev.value == -12
    assert {k: float(v) for k, v in ev.gradients.items()} == {"x": -4, "y": -4, "z": 3}
    assert by_label(ev)["q"] == (3, -4)  # q = 3, df/dq = z = -4


def test_sigmoid_chain_step_by_step() -> None:
    # M = -x, Q = e^M, P = Q + 1, L = 1/P at x = 1.
    ev = cgcli.gradients("M = -x; Q = exp(M); P = Q + 1; L = 1/P", x=1)
    nodes = by_label(ev)
    assert r2(nodes["P"][0]) == 1.37
    assert r2(nodes["P"][1]) == -0.53  # dL/dP = -1/P^2
    assert r2(nodes["Q"][1]) == -0.53  # add gate passes it on
    assert r2(nodes["M"][1]) == -0.20  # times e^-1
    assert r2(nodes["x"][1]) == 0.20  # times -1
    s = 1 / (1 + math.exp(-1))
    assert float(ev.value) == pytest.approx(s, rel=1e-15)
    assert float(ev.gradients["x"]) == pytest.approx((1 - s) * s, rel=1e-14)


def test_sigmoid_gate_is_the_same_chain() -> None:
    # The sigmoid gate collapses the chain: local gradient (1 - s) s.
    one_node = cgcli.gradients("sigmoid(x)", x=1)
    chain = cgcli.gradients("1/(1+exp(-x))", x=1)
    assert float(one_node.value) == pytest.approx(float(chain.value), rel=1e-15)
    assert float(one_node.gradients["x"]) == pytest.approx(float(chain.gradients["x"]), rel=1e-14)
    assert r2(one_node.gradients["x"]) == 0.20


def test_exp_over_w1() -> None:
    # P = e^W0, Q = 1/W1, L = P Q at W0 = W1 = 2 (the notes call the derivatives W1, W2).
    ev = cgcli.gradients("P = exp(w0); Q = 1/w1; L = P*Q", w0=2, w1=2)
    nodes = by_label(ev)
    assert r2(nodes["P"][1]) == 0.5  # dL/dP = Q
    assert r2(nodes["Q"][1]) == 7.39  # dL/dQ = P = e^2
    assert r2(ev.gradients["w0"]) == 3.69  # 0.5 e^2
    assert r2(ev.gradients["w1"]) == -1.85  # e^2 * (-1/4)
    assert float(ev.gradients["w1"]) == pytest.approx(-math.exp(2) / 4, rel=1e-15)


def test_two_input_neuron() -> None:
    at = {"w0": 2, "x0": -1, "w1": -3, "x1": -2, "w2": -3}
    ev = cgcli.gradients("1/(1+exp(-(w0*x0+w1*x1+w2)))", **at)
    assert r2(ev.value) == 0.73
    g = {k: float(v) for k, v in ev.gradients.items()}
    # CS231n's numbers: dw0 = -0.20, dx0 = 0.39, dw1 = -0.39, dx1 = -0.59, dw2 = 0.20.
    assert {k: round(v, 2) for k, v in g.items()} == {
        "w0": -0.20, "x0": 0.39, "w1": -0.39, "x1": -0.59, "w2": 0.20}
    s = 1 / (1 + math.exp(-1.0))
    assert g["w0"] == pytest.approx(s * (1 - s) * -1, rel=1e-14)  # times x0


def test_norm_of_wx_squared() -> None:
    at = {"W": [[0.1, 0.5], [-0.3, 0.8]], "x": [0.2, 0.4]}
    ev = cgcli.gradients("P = W @ x; f = sum(P^2)", **at)
    nodes = by_label(ev)
    np.testing.assert_allclose(nodes["P"][0], [0.22, 0.26], rtol=1e-12)
    np.testing.assert_allclose(nodes["P"][1], [0.44, 0.52], rtol=1e-12)  # 2P
    assert float(ev.value) == pytest.approx(0.116, rel=1e-12)
    np.testing.assert_allclose(ev.gradients["W"], [[0.088, 0.176], [0.104, 0.208]], rtol=1e-12)
    np.testing.assert_allclose(ev.gradients["x"], [-0.112, 0.636], rtol=1e-12)
    # The same function written with the norm: ||Wx||^2.
    ev2 = cgcli.gradients("norm(W @ x)^2", **at)
    np.testing.assert_allclose(ev2.gradients["W"], ev.gradients["W"], rtol=1e-12)
    np.testing.assert_allclose(ev2.gradients["x"], ev.gradients["x"], rtol=1e-12)


def test_add_gate_distributes() -> None:
    ev = cgcli.gradients("f = (x + y) * 2", x=3, y=-1)
    assert float(ev.gradients["x"]) == float(ev.gradients["y"]) == 2.0


def test_mul_gate_swaps() -> None:
    ev = cgcli.gradients("x * y", x=3, y=-4)
    assert float(ev.gradients["x"]) == -4.0 and float(ev.gradients["y"]) == 3.0


def test_max_gate_routes() -> None:
    ev = cgcli.gradients("2 * max(z, w)", z=2, w=-1)
    assert float(ev.gradients["z"]) == 2.0 and float(ev.gradients["w"]) == 0.0


def test_gradients_add_at_branches() -> None:
    ev = cgcli.gradients("x*y + x", x=3, y=2)  # df/dx = y + 1
    assert float(ev.gradients["x"]) == 3.0


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(7)


def test_matrix_identity_beta_x(rng: np.random.Generator) -> None:
    b, x = rng.normal(size=4), rng.normal(size=4)
    np.testing.assert_allclose(cgcli.gradients("dot(b, x)", b=b, x=x).gradients["x"], b)
    np.testing.assert_allclose(cgcli.gradients("b @ x", b=b, x=x).gradients["x"], b)


def test_matrix_identity_x_x(rng: np.random.Generator) -> None:
    x = rng.normal(size=5)
    np.testing.assert_allclose(cgcli.gradients("x @ x", x=x).gradients["x"], 2 * x)


def test_matrix_identity_x_a_x(rng: np.random.Generator) -> None:
    a, x = rng.normal(size=(3, 3)), rng.normal(size=3)
    got = cgcli.gradients("x @ A @ x", A=a, x=x).gradients["x"]
    np.testing.assert_allclose(got, (a + a.T) @ x, rtol=1e-12)
    got_t = cgcli.gradients("dot(x, A @ x)", A=a, x=x).gradients["x"]
    np.testing.assert_allclose(got_t, (a + a.T) @ x, rtol=1e-12)
