"""Derivatives as graphs: one rule per op on three namespaces, formulas, Hessians.

* Every op's rules give the same numbers on Python floats and on NumPy (samples, kinks,
  non-finite points), and recorded as a graph they evaluate to the numeric VJP.
* ``diff``'s formulas evaluate to ``grad``'s numbers (seed examples, random programs), parse
  back, and twice differentiated give the Hessian's diagonal.
* Hessians against central differences of the gradient, and symmetric.
* SymPy's forms of textbook derivatives; its time budget; the command line.
"""

from __future__ import annotations

import json
import math
import random

import numpy as np
import pytest
from hypothesis import assume, given
from test_properties import examples, program, scalar_point, vector_case, well_conditioned

import cgcli
from cgcli.check import check
from cgcli.derivatives import diff, hessian
from cgcli.engine import forward
from cgcli.ops import MAKES_ARRAYS, REGISTRY
from cgcli.record import Recorder, extract
from cgcli.xp import FLOAT, numpy_namespace

NP = numpy_namespace()
OPS = sorted(n for n in REGISTRY if n not in ("var", "const"))
SPECIAL = (0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 1e308, -1e308, 5e-324, math.inf, -math.inf, math.nan)


# --- the same rule on floats and on NumPy ---------------------------------------------------

def _same(a: object, b: object, what: str) -> None:
    """Equal to 1e-15 relative, with the same nan and inf (a 0.0/-0.0 difference is fine)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, what
    assert np.array_equal(np.isnan(a), np.isnan(b)), f"{what}: nan {a} vs {b}"
    assert np.array_equal(np.isposinf(a), np.isposinf(b)), f"{what}: inf {a} vs {b}"
    assert np.array_equal(np.isneginf(a), np.isneginf(b)), f"{what}: -inf {a} vs {b}"
    fin = np.isfinite(a)
    assert np.all(np.abs(a[fin] - b[fin]) <= 1e-15 * np.abs(b[fin]) + 1e-300), f"{what}: {a} vs {b}"


def _scalar_points(name: str) -> list[tuple]:
    """Samples of ``name`` that are all scalars, its kinks, and non-finite and extreme points."""
    op = REGISTRY[name]
    points = [tuple(float(x) for x in s) for s in op.samples
              if all(np.ndim(x) == 0 for x in s)]
    n = max((len(s) for s in op.samples), default=1)
    rnd = random.Random(name)  # noqa: S311 - test points
    for x in SPECIAL:
        points.append((x, *[rnd.choice(SPECIAL) for _ in range(n - 1)]))
        points.append(tuple(x for _ in range(n)))  # ties, and kinks at 0
    if name == "pow":
        points += [(a, b) for a in (0.0, -0.0, -2.0, -8.0, 2.0) for b in (0.0, 2.0, -1.0, 0.5,
                                                                        3.0, -3.0, 1e300)]
    return points


@pytest.mark.parametrize("name", [n for n in OPS if n not in MAKES_ARRAYS])
def test_float_and_numpy_namespaces_agree(name: str) -> None:
    op = REGISTRY[name]
    checked = 0
    for point in _scalar_points(name):
        if len(point) < op.min_args or (op.max_args is not None and len(point) > op.max_args):
            continue
        try:
            with np.errstate(all="ignore"):
                want = op.impl(NP)(*[np.float64(x) for x in point])
        except cgcli.CgcliError:  # an op that needs arrays: floats refuse it alike
            with pytest.raises(cgcli.CgcliError):
                op.impl(FLOAT)(*point)
            checked += 1
            continue
        got = op.impl(FLOAT)(*point)
        assert type(got) is float, f"{name}{point}: {type(got)}"
        _same(got, want, f"{name}{point} forward")
        g = 1.25
        with np.errstate(all="ignore"):
            want_parts = op.vjp_rule(NP, np.float64(g), want, *[np.float64(x) for x in point])
        got_parts = op.vjp_rule(FLOAT, g, got, *point)
        for k, (p, q) in enumerate(zip(got_parts, want_parts, strict=True)):
            assert (p is None) == (q is None), f"{name}{point}: gradient {k}"
            if p is not None:
                assert type(p) is float, f"{name}{point} gradient {k}: {type(p)}"
                _same(p, q, f"{name}{point} gradient {k}")
        checked += 1
    assert checked, name


# --- the same rule recorded as a graph ---------------------------------------------------------

def _recorded_vjp(name: str, xs: list, g: object) -> list:
    """The op's VJP rule recorded as graph nodes, each gradient then evaluated by the engine."""
    op = REGISTRY[name]
    rec = Recorder()
    syms = [rec.variable(f"p{k}", x) for k, x in enumerate(xs)]
    out = rec.apply(op, *syms)
    gs = rec.variable("g", g)
    parts = op.vjp_rule(rec, gs, out, *syms)
    at = {f"p{k}": x for k, x in enumerate(xs)} | {"g": g}
    results = []
    for part in parts[: len(xs)]:
        if part is None:
            results.append(None)
            continue
        sub = extract(rec.graph, rec.sym(part).id)
        results.append(forward(sub, {k: at[k] for k in sub.variables})[sub.output])
    return results


def _array_points(name: str) -> list[list]:
    op = REGISTRY[name]
    points = [[np.asarray(x, dtype=np.float64)[()] if np.ndim(x) else float(x) for x in s]
              for s in op.samples]
    if op.kinks is not None:  # kinks: every input at 0, and ties
        for s in op.samples:
            points.append([np.zeros(np.shape(x))[()] if np.ndim(x) else 0.0 for x in s])
    return points


@pytest.mark.parametrize("name", OPS)
def test_recorded_rules_evaluate_to_the_numeric_vjp(name: str) -> None:
    op = REGISTRY[name]
    rng = np.random.default_rng(len(name))
    for xs in _array_points(name):
        with np.errstate(all="ignore"):
            out = op.impl(NP)(*xs)
            g = rng.standard_normal(np.shape(out))[()]
            want = op.vjp_rule(NP, g, out, *xs)
            got = _recorded_vjp(name, xs, g)
        for k, (p, q) in enumerate(zip(got, want, strict=False)):
            if q is None:
                assert p is None or not np.any(np.asarray(p)), f"{name}: gradient {k}"
                continue
            assert p is not None, f"{name}: gradient {k} recorded as none"
            _same(np.broadcast_to(p, np.shape(q)), q, f"{name}{xs} recorded gradient {k}")


def test_conventions_rows_hold_for_recorded_derivatives() -> None:
    """conventions.md's PyTorch rows through diff's formulas, evaluated at the kink."""
    rows = [("relu(x)", {"x": 0.0}, {"x": 0.0}), ("abs(x)", {"x": 0.0}, {"x": 0.0}),
            ("sign(x)", {"x": 0.0}, {"x": 0.0}), ("sqrt(x)", {"x": 0.0}, {"x": math.inf}),
            ("max(x, y)", {"x": 1.0, "y": 1.0}, {"x": 0.5, "y": 0.5}),
            ("max(x, 0)", {"x": 0.0}, {"x": 0.5}),
            ("pow(x, y)", {"x": 0.0, "y": 2.0}, {"x": 0.0, "y": 0.0}),
            ("pow(x, y)", {"x": 0.0, "y": 0.0}, {"x": 0.0, "y": 0.0}),
            ("leaky_relu(x, 0.01)", {"x": 0.0}, {"x": 0.01}), ("elu(x)", {"x": 0.0}, {"x": 1.0}),
            ("softplus(x)", {"x": 0.0}, {"x": 0.5}), ("log(x)", {"x": 0.0}, {"x": math.inf}),
            ("x*x", {"x": 0.0}, {"x": 0.0}), ("x^2", {"x": 0.0}, {"x": 0.0})]
    for text, at, want in rows:
        d = diff(cgcli.parse(text), at=at)
        got = {f.name: float(f.value) for f in d.formulas}
        assert got == want, (text, got)
    v = np.zeros(2)
    (f,) = diff(cgcli.parse("norm(v)"), at={"v": v}).formulas
    assert np.array_equal(f.value, [0.0, 0.0])
    q = diff(cgcli.parse("max(v)"), at={"v": np.array([1.0, 3.0, 3.0])}).formulas[0]
    assert np.array_equal(q.value, [0.0, 0.5, 0.5])


# --- diff: formulas that evaluate to grad's numbers -------------------------------------------

SEEDS = [
    ("q = x + y; f = q * z", {"x": -2.0, "y": 5.0, "z": -4.0}),
    ("M = -x; Q = exp(M); P = Q + 1; L = 1/P", {"x": 1.0}),
    ("1/(1+exp(-x))", {"x": 1.0}),
    ("sigmoid(x)", {"x": 1.0}),
    ("P = exp(w0); Q = 1/w1; L = P*Q", {"w0": 2.0, "w1": 2.0}),
    ("1/(1+exp(-(w0*x0+w1*x1+w2)))",
     {"w0": 2.0, "x0": -1.0, "w1": -3.0, "x1": -2.0, "w2": -3.0}),
    ("2 * max(z, w)", {"z": 2.0, "w": -1.0}),
    ("x*y + x", {"x": 3.0, "y": 2.0}),
    ("P = W @ x; f = sum(P^2)", {"W": np.array([[0.1, 0.5], [-0.3, 0.8]]),
                                 "x": np.array([0.2, 0.4])}),
    ("norm(W @ x)^2", {"W": np.array([[0.1, 0.5], [-0.3, 0.8]]), "x": np.array([0.2, 0.4])}),
    ("dot(b, x)", {"b": np.array([1.0, -2.0]), "x": np.array([0.5, 3.0])}),
    ("x @ A @ x", {"A": np.array([[1.0, 2.0], [0.5, -1.0]]), "x": np.array([0.3, -0.7])}),
]


def _agrees(formula_value: object, grad_value: object, what: str, rtol: float = 1e-12) -> None:
    a = np.asarray(formula_value, dtype=np.float64)
    b = np.asarray(grad_value, dtype=np.float64)
    assert np.allclose(a, b, rtol=rtol, atol=rtol * max(1.0, float(np.max(np.abs(b))))), (
        f"{what}: formula gives {a}, grad {b}")


def _check_diff(text: str, at: dict, rtol: float = 1e-12) -> None:
    graph = cgcli.parse(text)
    ev = cgcli.gradients(graph, at)
    d = diff(graph, at=at)
    for f in d.formulas:
        back = cgcli.parse(f.text)  # the text parses back ...
        value = cgcli.evaluate(back, {k: at[k] for k in back.variables}).value
        _agrees(value, ev.gradients[f.name], f"{text} d/d{f.name} = {f.text}", rtol)
        _agrees(f.value, ev.gradients[f.name], f"{text} d/d{f.name} (graph)", rtol)


@pytest.mark.parametrize(("text", "at"), SEEDS)
def test_formulas_of_the_seed_examples_give_grads_numbers(text: str, at: dict) -> None:
    _check_diff(text, at)


@pytest.mark.parametrize(("text", "at"), SEEDS[:8])
def test_seed_formulas_at_random_points(text: str, at: dict) -> None:
    rnd = random.Random(text)  # noqa: S311 - test points
    for _ in range(5):
        _check_diff(text, {k: rnd.uniform(-2.0, 2.0) for k in at}, rtol=1e-10)


# SymPy's deadline may fire inside Hypothesis's own garbage-collector callback, where Python
# only reports the exception (the deadline fires again 50 ms later and is heard).
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@examples(25)
@given(text=program(), point=scalar_point)
def test_formulas_of_random_programs_give_grads_numbers(text: str, point: dict) -> None:
    graph = cgcli.parse(text)
    at = {k: float(v) for k, v in point.items() if k in graph.variables}
    assume(at)
    ev = cgcli.gradients(graph, at)
    assume(well_conditioned(ev))
    d = diff(graph, at=at, budget=0.3)
    scale = max(1.0, *(abs(float(g)) for g in ev.grads if g is not None))
    for f in d.formulas:
        back = cgcli.parse(f.text)
        value = float(cgcli.evaluate(back, {k: at[k] for k in back.variables}).value)
        want = float(ev.gradients[f.name])
        assert abs(value - want) <= 1e-9 * scale, (text, at, f.name, f.text, value, want)


@examples(40)
@given(case=vector_case())
def test_vector_formulas_give_grads_numbers(case: tuple) -> None:
    text, point = case
    graph = cgcli.parse(text)
    at = {k: point[k] for k in graph.variables}
    ev = cgcli.gradients(graph, at)
    assume(well_conditioned(ev))
    for f in diff(graph, at=at).formulas:
        back = cgcli.parse(f.text)
        value = cgcli.evaluate(back, {k: at[k] for k in back.variables}).value
        _agrees(value, ev.gradients[f.name], f"{text} d/d{f.name} = {f.text}", 1e-9)


@examples(40)
@given(text=program(), point=scalar_point)
def test_diff_twice_is_the_hessians_diagonal(text: str, point: dict) -> None:
    graph = cgcli.parse(text)
    at = {k: float(v) for k, v in point.items() if k in graph.variables}
    assume(at)
    ev = cgcli.gradients(graph, at)
    assume(well_conditioned(ev))
    h = hessian(graph, at)
    assume(np.all(np.isfinite(h.matrix)) and np.max(np.abs(h.matrix), initial=0) < 1e3)
    for k, name in enumerate(graph.variables):
        (f,) = diff(graph, [name], order=2, at=at, use_sympy=False).formulas
        assert abs(float(f.value) - h.matrix[k, k]) <= 1e-9 * max(1.0, abs(h.matrix[k, k])), (
            text, name, f.text)


def test_higher_orders() -> None:
    for text, order, want in [("x^3", 3, "6"), ("exp(2*x)", 3, "8*exp(2*x)"),
                              ("sin(x)", 4, "sin(x)"), ("x^2", 3, "0"), ("log(x)", 2, "-1/x^2")]:
        (f,) = diff(cgcli.parse(text), order=order).formulas
        assert f.text == want, (text, order, f.text)


# --- Hessians ----------------------------------------------------------------------------------

@examples(40)
@given(case=vector_case())
def test_hessians_are_symmetric_and_match_central_differences(case: tuple) -> None:
    text, point = case
    graph = cgcli.parse(text)
    at = {k: point[k] for k in graph.variables}
    ev = cgcli.gradients(graph, at)
    assume(well_conditioned(ev))
    h = hessian(graph, at)
    assume(np.all(np.isfinite(h.matrix)) and np.max(np.abs(h.matrix), initial=0) < 1e3)
    np.testing.assert_allclose(h.matrix, h.matrix.T, rtol=1e-9, atol=1e-9, err_msg=text)
    result = check(graph, at, tol=1e-4, order=2)
    assert result.passed, (text, [(e.name, e.note) for e in result.elements
                                  if e.status == "fail"])


def test_hessian_of_the_seed_vector_example_by_hand() -> None:
    w = np.array([[0.1, 0.5], [-0.3, 0.8]])
    x = np.array([0.2, 0.4])
    h = hessian(cgcli.parse("sum((W@x)^2)"), {"W": w, "x": x})
    assert h.names == ("W[0,0]", "W[0,1]", "W[1,0]", "W[1,1]", "x[0]", "x[1]")
    # f = Σ_i (W_i·x)²: d²f/dW_ij dW_kl = 2 δ_ik x_j x_l, d²f/dx dx = 2 WᵀW,
    # d²f/dW_ij dx_l = 2 (δ_jl P_i + W_il x_j), with P = Wx.
    p = w @ x
    want = np.zeros((6, 6))
    for i in range(2):
        for j in range(2):
            for k in range(2):
                for m in range(2):
                    want[2 * i + j, 2 * k + m] = 2 * (i == k) * x[j] * x[m]
            for m in range(2):
                want[2 * i + j, 4 + m] = want[4 + m, 2 * i + j] = 2 * ((j == m) * p[i]
                                                                      + w[i, m] * x[j])
    want[4:, 4:] = 2 * w.T @ w
    np.testing.assert_allclose(h.matrix, want, atol=1e-15)


# --- SymPy's forms -------------------------------------------------------------------------------

TEXTBOOK = [
    ("x^3", "x", "3*x^2"),
    ("sin(x)*x", "x", "x*cos(x) + sin(x)"),
    ("(x+y)*y", "x", "y"),
    ("sin(x)^2 + cos(x)^2", "x", "0"),
    ("1/(1+exp(-x))", "x", "exp(-x)/(1 + exp(-x))^2"),
    ("sigmoid(x)", "x", "(1 - sigmoid(x))*sigmoid(x)"),
    ("log(x)", "x", "1/x"),
    ("exp(2*x)", "x", "2*exp(2*x)"),
    ("tanh(x)", "x", "1 - tanh(x)^2"),
    ("sqrt(x)", "x", "1/(2*sqrt(x))"),
    ("x^2*y", "y", "x^2"),
    ("relu(x)", "x", "step(x)"),
    ("abs(x)", "x", "sign(x)"),
    ("atan(x)", "x", "1/(x^2 + 1)"),
    ("x*log(x)", "x", "log(x) + 1"),
    ("exp(w0)/w1", "w1", "-exp(w0)/w1^2"),
    ("log(1 + x^2)", "x", "2*x/(x^2 + 1)"),
    ("max(x, y)", "x", "ismax(x, y)"),
]


@pytest.mark.parametrize(("text", "wrt", "want"), TEXTBOOK)
def test_textbook_derivatives_read_as_a_person_writes_them(text: str, wrt: str,
                                                           want: str) -> None:
    (f,) = diff(cgcli.parse(text), [wrt]).formulas
    assert f.text == want


def test_sympy_keeps_to_its_budget_and_falls_back_unsimplified() -> None:
    rnd = random.Random(3)  # noqa: S311 - test data
    terms = [f"{rnd.choice(['sin', 'cos', 'exp', 'tanh'])}({rnd.choice('xyz')}*"
             f"{rnd.choice('xyz')} + {k})*{rnd.randint(2, 9)}" for k in range(205)]
    graph = cgcli.parse(" + ".join(terms))
    assert sum(1 for n in graph if n.inputs) >= 1000
    d = diff(graph, ["x"], budget=0.001)
    (f,) = d.formulas
    assert d.notes and "ran out of its 0.001 s" in d.notes[0]
    at = {"x": 0.3, "y": -0.7, "z": 1.1}
    back = cgcli.parse(f.text)
    _agrees(cgcli.evaluate(back, at).value, cgcli.gradients(graph, at).gradients["x"], f.text)


def test_a_thousand_operations_answer(cli: object) -> None:
    """(How fast: bench/calculus.py; here only that the answer is right.)"""
    rnd = random.Random(4)  # noqa: S311 - test data
    terms = [f"{rnd.choice(['sin', 'cos', 'exp'])}(x*{rnd.randint(2, 9)} + {k})"
             for k in range(340)]
    text = " + ".join(terms)
    assert sum(1 for n in cgcli.parse(text) if n.inputs) >= 1000
    code, out, _ = cli("diff", text, "--raw")  # type: ignore[operator]
    assert code == 0
    _agrees(cgcli.evaluate(out.strip(), x=0.3).value, cgcli.gradients(text, x=0.3).gradients["x"],
            "1,000 ops")


# --- the command line --------------------------------------------------------------------------

def test_diff_prints_each_formula(cli: object) -> None:
    code, out, err = cli("diff", "1/(1+exp(-x))")  # type: ignore[operator]
    assert (code, out, err) == (0, "∂f/∂x = exp(-x)/(1 + exp(-x))^2\n", "")
    code, out, _ = cli("diff", "q = x*y; L = q + x")  # type: ignore[operator]
    assert out == "∂L/∂x = y + 1\n∂L/∂y = x\n"
    code, out, _ = cli("diff", "x^3", "--order", "2")  # type: ignore[operator]
    assert out == "∂²f/∂x² = 6*x\n"
    code, out, _ = cli("diff", "x^3", "--at", "x=2")  # type: ignore[operator]
    assert out == "∂f/∂x = 3*x^2 = 12\nat x = 2\n"


def test_diff_raw_output_evaluates_to_grads_number(cli: object) -> None:
    for text, at in [("sin(x)*x", "x=1"), ("1/(1+exp(-x))", "x=0.3"), ("x^x", "x=1.7")]:
        code, formula, _ = cli("diff", text, "--raw")  # type: ignore[operator]
        assert code == 0
        code, value, _ = cli("eval", formula.strip(), "--at", at, "--raw")  # type: ignore[operator]
        code, grad, _ = cli("grad", text, "--at", at, "--raw")  # type: ignore[operator]
        assert abs(float(value) - float(grad)) <= 1e-12 * abs(float(grad)), (text, formula)


def test_diff_json_and_vectors(cli: object) -> None:
    code, out, _ = cli("diff", "sum((W@x)^2)", "--wrt", "W", "--at",  # type: ignore[operator]
                       "W=[[0.1,0.5],[-0.3,0.8]]", "--at", "x=[0.2,0.4]", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["order"] == 1
    assert doc["derivatives"] == {"W": "outer(2 * (W @ x), x)"}
    np.testing.assert_allclose(doc["values"]["W"], [[0.088, 0.176], [0.104, 0.208]])


@pytest.mark.parametrize(("text", "at"), [
    ("log(0)*x", {"x": 0.0}),  # SymPy: zoo
    ("x*log(-1)", {"x": 0.0}),  # SymPy: I*pi
    ("x*(0/0)", {"x": 1.0}),  # SymPy: nan
    ("x/x", {"x": 0.0}),  # SymPy cancels to 0; at 0 the derivative is nan
    ("sqrt(x)^2", {"x": 0.0}),
    ("exp(log(x))", {"x": 0.0}),
])
def test_a_formula_means_what_grad_computes_even_where_sympy_differs(text: str,
                                                                    at: dict) -> None:
    graph = cgcli.parse(text)
    want = float(cgcli.gradients(graph, at).gradients["x"])
    (f,) = diff(graph, at=at).formulas
    back = cgcli.parse(f.text)
    assert set(back.variables) <= {"x"}, f.text
    got = float(cgcli.evaluate(back, {k: at[k] for k in back.variables}).value)
    assert got == want or (math.isnan(got) and math.isnan(want)), (f.text, got, want)


@pytest.mark.parametrize("text", ["sin(" * 1000 + "x" + ")" * 1000,  # n² spelled out
                                  "x*(" * 500 + "x" + ")" * 500])
def test_a_formula_that_would_repeat_its_parts_names_them(text: str) -> None:
    graph = cgcli.parse(text)
    at = {"x": 0.5}
    (f,) = diff(graph, at=at).formulas
    assert f.by == "cgcli" and "t1 = " in f.text
    assert len(f.text) < 40 * len(f.graph.nodes)  # linear in the graph, not quadratic
    back = cgcli.parse(f.text)
    want = float(cgcli.gradients(graph, at).gradients["x"])
    assert float(cgcli.evaluate(back, at).value) == pytest.approx(want, rel=1e-12)


def test_a_tenth_derivative_prints_in_linear_size() -> None:
    graph = cgcli.parse("sin(x)*exp(x)/x")
    (f,) = diff(graph, ["x"], order=10, use_sympy=False).formulas
    assert len(f.text) < 40 * len(f.graph.nodes)
    (small,) = diff(graph, ["x"], order=3, use_sympy=False).formulas
    assert "t1 = " not in small.text  # a formula that repeats little is written out


def test_shapes_without_values(cli: object) -> None:
    code, out, _ = cli("diff", "sum((W@x)^2)", "--shape", "W=2x2", "--shape",  # type: ignore[operator]
                       "x=2")
    assert (code, out) == (0, "∂f/∂W = outer(2 * (W @ x), x)\n∂f/∂x = T(W) @ (2 * (W @ x))\n")
    code, _, err = cli("diff", "sum((W@x)^2)")  # type: ignore[operator]
    assert code == 2 and "--shape W=2x3" in err and "^" in err


@pytest.mark.parametrize("args", [
    ("diff", "x^2", "--shape", "x=2x"),
    ("diff", "x^2", "--shape", "y=2"),
    ("diff", "x^2", "--wrt", "q"),
    ("diff", "x^2", "--order", "0"),
    ("diff", "x*y", "--order", "2"),
    ("diff", "x*y", "--raw"),
    ("diff", "sum(x)", "--order", "2", "--at", "x=[1,2]"),
    ("diff", "W @ x"),
    ("hessian", "x*[1,2]", "--at", "x=1"),
    ("hessian", "x*y", "--at", "x=1"),
    ("hessian", "x*y"),
    ("hessian", "3"),
    ("diff", "3"),
    ("diff", "sum(W)", "--shape", "W=100000x100000"),
    ("check", "3"),
    ("check", "3", "--order", "2"),
    ("jacobian", "[1, 2]"),
])
def test_bad_input_exits_2_with_nothing_on_stdout(cli: object, args: tuple) -> None:
    code, out, err = cli(*args)  # type: ignore[operator]
    assert code == 2 and out == "" and err.startswith("error: ") and "Traceback" not in err


def test_hessian_table_and_json(cli: object) -> None:
    code, out, _ = cli("hessian", "x^2*y + sin(x*y)", "--at", "x=0.5",  # type: ignore[operator]
                       "--at", "y=2", "--json")
    doc = json.loads(out)
    x, y = 0.5, 2.0
    want = [[2 * y - y * y * math.sin(x * y), 2 * x + math.cos(x * y) - x * y * math.sin(x * y)],
            [2 * x + math.cos(x * y) - x * y * math.sin(x * y), -x * x * math.sin(x * y)]]
    assert doc["variables"] == ["x", "y"]
    np.testing.assert_allclose(doc["hessian"], want, rtol=1e-14)
    code, out, _ = cli("hessian", "sum((W@x)^2)", "--at", "W=[[1,2],[3,4]]",  # type: ignore[operator]
                       "--at", "x=[1,1]")
    assert code == 0 and "W[0,1]" in out and "x[1]" in out


def test_check_order_2_passes_and_finds_a_wrong_rule(cli: object,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = cli("check", "x^2*y + sin(x*y)", "--at", "x=0.5",  # type: ignore[operator]
                       "--at", "y=2", "--order", "2")
    assert code == 0 and out.splitlines()[-1].startswith("passed: 2 Hessian columns match")
    sin = REGISTRY["sin"]
    wrong = sin.replace(vjp_rule=lambda xp, g, out, x: (g * 1.1 * xp.cos(x),))
    monkeypatch.setitem(cgcli.ops.FUNCTIONS, "sin", wrong)
    code, out, _ = cli("check", "sin(x) * y", "--at", "x=0.5",  # type: ignore[operator]
                       "--at", "y=2", "--order", "2")
    assert code == 1 and "FAILED" in out
