"""`jacobian`: full Jacobians by reverse mode, one one-hot seed per output element."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import numpy as np

import cgcli
from cgcli.jacobian import jacobian

if TYPE_CHECKING:
    from conftest import Run

W = [[0.1, 0.5], [-0.3, 0.8]]


def test_jacobian_of_W_at_x_with_respect_to_x_is_W(cli: Run) -> None:
    code, out, err = cli("jacobian", "W@x", "--at", "W=[[0.1,0.5],[-0.3,0.8]]",
                         "--at", "x=[0.2,0.4]", "--wrt", "x", "--json")
    assert code == 0 and err == ""
    doc = json.loads(out)
    assert doc["output_shape"] == [2]
    assert doc["jacobians"] == {"x": {"shape": [2, 2], "value": W}}


def test_shape_is_output_shape_then_input_shape(cli: Run) -> None:
    code, out, _ = cli("jacobian", "W@x", "--at", "W=[[1,2],[3,4]]",
                       "--at", "x=[5,6]", "--json")
    assert code == 0
    jac = json.loads(out)["jacobians"]
    assert jac["W"]["shape"] == [2, 2, 2]
    # d(Wx)_i / dW_jk = [i = j] x_k
    assert jac["W"]["value"] == [[[5, 6], [0, 0]], [[0, 0], [5, 6]]]
    code, out, _ = cli("jacobian", "2*M", "--at", "M=[[1,2],[3,4]]", "--json")
    assert np.array_equal(json.loads(out)["jacobians"]["M"]["value"],
                          2 * np.eye(4).reshape(2, 2, 2, 2))


def test_scalar_output_gives_the_gradient(cli: Run) -> None:
    expr = "sum((W@x)^2)"
    at = ("--at", "W=[[0.1,0.5],[-0.3,0.8]]", "--at", "x=[0.2,0.4]")
    code, out, _ = cli("jacobian", expr, *at, "--json")
    assert code == 0
    jac = json.loads(out)["jacobians"]
    code, out, _ = cli("grad", expr, *at, "--json")
    grads = json.loads(out)["gradients"]
    assert jac["x"]["value"] == grads["x"] and jac["W"]["value"] == grads["W"]
    assert jac["x"]["shape"] == [2]


def test_softmax_jacobian_is_diag_minus_outer() -> None:
    graph = cgcli.parse("softmax(x)")
    values = cgcli.forward(graph, {"x": np.array([1.0, 2.0, 3.0])})
    s = values[graph.output]
    np.testing.assert_allclose(jacobian(graph, values)["x"], np.diag(s) - np.outer(s, s),
                               rtol=1e-14, atol=1e-16)


def test_agrees_with_finite_differences() -> None:
    graph = cgcli.parse("h = tanh(W@x + b); softmax(h) * norm(x)")
    rng = np.random.default_rng(3)
    point = {"W": rng.standard_normal((3, 2)), "x": rng.standard_normal(2),
             "b": rng.standard_normal(3)}
    jac = jacobian(graph, cgcli.forward(graph, point))
    for name, x in point.items():
        assert jac[name].shape == (3, *x.shape)
        for k in np.ndindex(*x.shape):
            h = 1e-6
            plus, minus = x.copy(), x.copy()
            plus[k] += h
            minus[k] -= h
            fp = cgcli.evaluate(graph, {**point, name: plus}).value
            fm = cgcli.evaluate(graph, {**point, name: minus}).value
            np.testing.assert_allclose(jac[name][(slice(None), *k)], (fp - fm) / (2 * h),
                                       rtol=1e-6, atol=1e-8)


def test_table_has_output_rows_and_input_columns(cli: Run) -> None:
    code, out, _ = cli("jacobian", "W@x", "--at", "W=[[1,2],[3,4]]",
                       "--at", "x=[1,1]", "--wrt", "x")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "∂f/∂x: shape (2, 2) = output (2,) + input (2,)"
    rows = [[c.strip() for c in ln.strip("│").split("│")] for ln in lines if ln.startswith("│")]
    assert rows == [["f[0]", "1", "2"], ["f[1]", "3", "4"]]
    assert "x[0]" in lines[2] and "x[1]" in lines[2]


def test_large_jacobians_are_abbreviated(cli: Run) -> None:
    x = "[" + ",".join(str(i) for i in range(60)) + "]"
    code, out, _ = cli("jacobian", "x*2", "--at", f"x={x}")
    assert code == 0
    assert "60×60 entries; --json has them all" in out
    assert sum(ln.startswith("│") for ln in out.splitlines()) <= 41


def test_wrt_a_binding_and_errors(cli: Run) -> None:
    code, out, _ = cli("jacobian", "q = x*y; f = [q, q^2]", "--at", "x=2",
                       "--at", "y=3", "--wrt", "q", "--json")
    assert code == 0 and json.loads(out)["jacobians"]["q"]["value"] == [1.0, 12.0]
    code, out, err = cli("jacobian", "c = 2; f = c*x", "--at", "x=1",
                         "--wrt", "c")
    assert code == 2 and "'c' is a constant" in err and out == ""
    code, _, err = cli("jacobian", "x*2", "--at", "x=1", "--wrt", "nope")
    assert code == 2 and "no variable or binding 'nope'" in err
    code, out, err = cli("jacobian", "x*", "--json")
    assert code == 2 and json.loads(out)["error"]["type"] == "parse"
