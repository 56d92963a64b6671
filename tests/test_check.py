"""`check`: reverse mode against central differences; kinks are reported, not failed."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import numpy as np
import pytest

import cgcli
from cgcli.check import check
from cgcli.ops import FUNCTIONS, REGISTRY

if TYPE_CHECKING:
    from conftest import Run

VECTORS = ("--at", "W=[[0.3,-1.2,0.5],[0.8,0.1,-0.7]]", "--at", "x=[0.4,-0.9,1.3]",
           "--at", "y=[1.1,0.2,-0.6]", "--at", "b=[0.5,-0.25]", "--at", "s=0.7")
SCALARS = ("--at", "x=0.7", "--at", "y=-1.3", "--at", "z=2.1")

#: Expressions over every function of the language, at smooth points.
SCALAR_EXPRESSIONS = [
    "q = x + y; f = q * z",
    "1/(1+exp(-x))",
    "sigmoid(x) * tanh(y) - softplus(z)",
    "x^3 - 2*y^2 + z^0.5 + pow(z, x)",
    "log(z) + ln(1 + x^2) + log2(z) + log10(z) + log1p(z) + expm1(y)",
    "sqrt(z) + square(y) + abs(y) + relu(x) + sign(y)",
    "sin(x)*cos(y) + tan(x) + asin(x/2) + acos(x/3) + atan(y)",
    "sinh(x) + cosh(y) - tanh(z)",
    "leaky_relu(y) + leaky_relu(x, 0.2) + elu(y, alpha=1.5) + elu(x) + silu(y)",
    "max(x, y, z) - min(x, y) + max(x) + min(y)",
    "M = -x; Q = exp(M); P = Q + 1; L = 1/P",
    "q = x*y; r = sin(q); f = q*r + q/(1 + r^2)",
    "+x - -y",
    "(x + y + z)^2 / (1 + z^2)",
]
VECTOR_EXPRESSIONS = [
    "sum((W@x)^2)",
    "sum(tanh(W@x + b)^2)",
    "logsumexp(W@x) + logsumexp(x)",
    "sum(softmax(x) * y)",
    "dot(softmax(W @ x), b)",
    "norm(x) + norm(W)",
    "mean(x*y) + sum(x*s)",
    "max(x) + min(y) + sum(max(x, y)) + sum(min(W, s))",
    "sum(T(W) @ b) + b @ W @ x",
    "sum(sigmoid(W @ x) * b) + sum(relu(W @ x - b))",
    "norm([sum(x), dot(x, y), s])",
    "h = W @ x + b; sum(h * h) + sum(h)",
    "sum(leaky_relu(x, 0.1) * y) + sum(elu(W @ x, alpha=s))",
    "W @ x",  # a vector output: its whole Jacobian is checked
    "x * s",
]


@pytest.mark.parametrize("expr", SCALAR_EXPRESSIONS)
def test_check_passes_on_scalar_expressions(cli: Run, expr: str) -> None:
    code, out, _ = cli("check", expr, *SCALARS, "--json")
    doc = json.loads(out)
    assert code == 0, doc
    assert doc["passed"] and all(e["status"] == "ok" for e in doc["elements"]), doc


@pytest.mark.parametrize("expr", VECTOR_EXPRESSIONS)
def test_check_passes_on_vector_expressions(cli: Run, expr: str) -> None:
    code, out, _ = cli("check", expr, *VECTORS, "--json")
    doc = json.loads(out)
    assert code == 0 and doc["passed"], doc
    graph = cgcli.parse(expr)
    assert set(doc["variables"]) == set(graph.variables)
    for name, v in doc["variables"].items():
        assert v["failures"] == 0 and v["max_rel_error"] < 1e-7, (name, v)


def _broken(name: str, factor: float = 1.1) -> cgcli.ops.Op:
    """A copy of op ``name`` whose VJP is off by ``factor``: a test double."""
    op = REGISTRY[name]

    def vjp(g: object, out: object, *xs: object) -> tuple:
        return tuple(factor * np.asarray(p) for p in op.vjp(g, out, *xs))

    return op.replace(vjp=vjp)


def test_check_fails_on_a_wrong_registry_entry(cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(FUNCTIONS, "sin", _broken("sin"))
    code, out, err = cli("check", "sin(x) * y", "--at", "x=0.5", "--at", "y=2")
    assert code == 1 and err == ""
    assert "FAILED: 1 of 2 derivatives differ from central differences" in out
    assert "x: reverse mode 1.931, central differences 1.755" in out
    rows = {ln.split("│")[1].strip(): ln for ln in out.splitlines() if ln.startswith("│")}
    assert "FAIL" in rows["x"] and "ok" in rows["y"]
    code, out, _ = cli("check", "sin(x) * y", "--at", "x=0.5", "--at", "y=2", "--json")
    doc = json.loads(out)
    assert code == 1 and not doc["passed"]
    assert doc["variables"]["x"]["failures"] == 1 and doc["variables"]["y"]["failures"] == 0
    assert doc["variables"]["x"]["max_rel_error"] == pytest.approx(0.1 / 1.1, rel=1e-6)


def test_check_fails_on_a_wrong_operator(cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(REGISTRY, "matmul", _broken("matmul", 1.0001))
    code, out, _ = cli("check", "sum(tanh(W@x + b)^2)", *VECTORS, "--json")
    doc = json.loads(out)
    assert code == 1 and {n for n, v in doc["variables"].items() if v["failures"]} == {"W", "x"}
    # A looser tolerance lets a 1e-4 slip through.
    code, _, _ = cli("check", "sum(tanh(W@x + b)^2)", *VECTORS, "--tol", "1e-3")
    assert code == 0


def test_the_shipped_registry_is_untouched_by_the_doubles() -> None:
    assert FUNCTIONS["sin"] is REGISTRY["sin"]
    assert check(cgcli.parse("sin(x) * y"), {"x": 0.5, "y": 2.0}).passed


@pytest.mark.parametrize(("expr", "at", "where"), [
    ("relu(x)", {"x": "0"}, "relu(x)"),
    ("abs(x) * 2", {"x": "0"}, "abs(x)"),
    ("leaky_relu(x, 0.2)", {"x": "0"}, "leaky_relu(x, 0.2)"),
    ("max(x, y)", {"x": "1", "y": "1 + 1e-9"}, "max(x, y)"),
    ("sum(relu(v))", {"v": "[1, 0, -2]"}, "relu(v)"),
    ("max(v)", {"v": "[3, 1, 3 - 1e-7]"}, "max(v)"),
])
def test_kinks_are_reported_not_failed(cli: Run, expr: str, at: dict, where: str) -> None:
    args = [a for name, value in at.items() for a in ("--at", f"{name}={value}")]
    code, out, _ = cli("check", expr, *args, "--json")
    doc = json.loads(out)
    assert code == 0 and doc["passed"], doc
    kinks = [e for e in doc["elements"] if e["status"] == "kink"]
    assert kinks and all(f"a kink of {where}" in e["note"] for e in kinks), doc["elements"]
    code, out, _ = cli("check", expr, *args)
    assert code == 0 and "at a kink (not judged)" in out and "passed" in out


def test_a_kink_the_registry_does_not_know(cli: Run) -> None:
    # sqrt(x^2) is |x|: reverse mode gives nan at 0 (sqrt'(0) = inf times 0).
    code, out, _ = cli("check", "sqrt(x^2)", "--at", "x=0", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["elements"][0]["status"] == "kink"
    assert "one-sided differences -1 (left) and 1 (right)" in doc["elements"][0]["note"]


def test_not_finite_nearby_is_undefined(cli: Run) -> None:
    code, out, _ = cli("check", "sqrt(x) + y", "--at", "x=0", "--at", "y=1")
    assert code == 0
    assert "x: the function is not finite within ±6.1e-06" in out
    assert out.splitlines()[-1] == ("passed: 1 derivative matches central differences within "
                                    "1e-05 (largest relative error 0); not judged: 1 not "
                                    "finite nearby")


def test_what_rounding_hides_is_not_judged(cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    """x[0] of sum(x^2) with x up to 3,000 moves f = 9e9 by 1.2e-5 at its step, a dozen
    units in the last place: central differences cannot tell 2 from 1.9."""
    at = "x=[" + ", ".join(str(k) for k in range(1, 3001)) + "]"
    code, out, _ = cli("check", "sum(x^2)", "--at", at, "--json")
    doc = json.loads(out)
    assert code == 0 and doc["passed"] and doc["variables"]["x"]["rounding"] > 0
    hidden = [e for e in doc["elements"] if e["status"] == "rounding"]
    assert {tuple(e["index"]) for e in hidden} >= {(0,), (1,)}  # the smallest terms
    assert all(e["index"][0] < 300 for e in hidden)  # the large ones are judged
    code, out, _ = cli("check", "sum(x^2)", "--at", at)
    assert out.splitlines()[-1].endswith(" hidden by rounding")
    # An error larger than rounding can hide is still a failure.
    monkeypatch.setitem(REGISTRY, "pow", _broken("pow", 1.01))
    code, out, _ = cli("check", "sum(x^2)", "--at", at, "--json")
    assert code == 1 and json.loads(out)["variables"]["x"]["failures"] > 2500


def test_the_step_follows_the_scale(cli: Run) -> None:
    big = check(cgcli.parse("y^2"), {"y": 1e5})
    assert big.passed and big.elements[0].step == pytest.approx(6.06e-6 * 1e5, rel=1e-2)
    small = check(cgcli.parse("log(x)"), {"x": 1e-8})  # a step of 6e-6 would leave the domain
    assert small.passed and small.elements[0].step == pytest.approx(6.06e-6 * 1e-8, rel=1e-2)


def test_table_lists_every_variable(cli: Run) -> None:
    code, out, _ = cli("check", "sum(tanh(W@x + b)^2)", *VECTORS)
    assert code == 0
    rows = [[c.strip() for c in ln.strip("│").split("│")] for ln in out.splitlines()
            if ln.startswith("│")]
    assert [(r[0], r[1], r[2], r[5]) for r in rows] == [("W", "2×3", "6", "ok"),
                                                        ("x", "3", "3", "ok"),
                                                        ("b", "2", "2", "ok")]
    assert out.splitlines()[-1].startswith("passed: 11 derivatives match central differences")


def test_input_errors(cli: Run) -> None:
    code, out, err = cli("check", "x + y", "--at", "x=1")
    assert code == 2 and "no value for variable 'y'" in err and out == ""
    code, _, err = cli("check", "x", "--at", "x=1", "--tol", "-1")
    assert code == 2
