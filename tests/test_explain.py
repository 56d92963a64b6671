"""`explain`: the registry's local-derivative formulas, the chain-rule steps, and the command."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

import numpy as np
import pytest

import cgcli
from cgcli.engine import unbroadcast
from cgcli.errors import CgcliError
from cgcli.explanation import explain
from cgcli.formulas import local
from cgcli.notation import substitute
from cgcli.ops import HELPERS, REGISTRY

if TYPE_CHECKING:
    from conftest import Run

OPS = sorted(REGISTRY)
GATES = sorted(name for name, op in REGISTRY.items() if op.params)

SEED_SIGMOID = "M = -x; Q = exp(M); P = Q + 1; L = 1/P"
SEED_EXP = "P = exp(w0); Q = 1/w1; L = P*Q"
SEED_VECTOR = "P = W@x; f = sum(P^2)"
W, X = "W=[[0.1,0.5],[-0.3,0.8]]", "x=[0.2,0.4]"


# --- the registry's formulas ------------------------------------------------------------------

@pytest.mark.parametrize("name", OPS)
def test_every_op_has_its_local_derivative_in_three_notations(name: str) -> None:
    op = REGISTRY[name]
    n = len(op.params)
    uni_, asc_, tex_ = (local(op, nota) for nota in ("unicode", "ascii", "latex"))
    assert len(uni_) == len(asc_) == len(tex_) == n, name
    for uni, asc, tex in zip(uni_, asc_, tex_, strict=True):
        assert uni.strip() and asc.strip() and tex.strip(), name
        assert asc.isascii(), f"{name}: ASCII formula {asc!r} is not ASCII"
        assert tex.isascii(), f"{name}: LaTeX formula {tex!r} is not ASCII"
        assert tex.count("{") == tex.count("}"), f"{name}: unbalanced braces in {tex!r}"
        names = set(re.findall(r"(?<![\\A-Za-z0-9_])[A-Za-z_]\w*", asc))
        allowed = {*op.params, "out", "g", "n", "i", "e", "ln", "sqrt", "sigmoid", "sign",
                   "cos", "sin", "cosh", "sinh", "norm", "softmax", "sum", "T", "hypot",
                   *HELPERS}
        assert names <= allowed, f"{name}: unknown names {names - allowed} in {asc!r}"


#: Formulas with [c] (1 where c holds) are not in the language; they are checked by the
#: explain steps below instead.
IVERSON = {"relu", "leaky_relu", "elu", "max", "min", "array", "where", "put"}


def _expressible(name: str, xs: list[np.ndarray]) -> bool:
    """softmax and logsumexp work along the last axis, which sum() in a formula does not say;
    matmul with a vector is an outer product, which @ on vectors does not express."""
    if name in ("softmax", "logsumexp"):
        return all(x.ndim <= 1 for x in xs)
    return name != "matmul" or all(x.ndim == 2 for x in xs)


def _formula_value(op: object, slot: int, xs: list, out: object, g: object) -> object:
    """The ASCII formula of ``op`` for input ``slot``, evaluated by cgcli itself."""
    formulas = local(op, "ascii")
    template = formulas[min(slot, len(formulas) - 1)]
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


# --- putting names and numbers into formulas --------------------------------------------------

@pytest.mark.parametrize(("template", "names", "want"), [
    ("-a/b²", {"a": ("1", True), "b": ("P", True)}, "-1/P²"),
    ("-a/b²", {"a": ("1", True), "b": ("-1.37", False)}, "-1/(-1.37)²"),
    ("-a/b²", {"a": ("x+y", False), "b": ("q", True)}, "-(x+y)/q²"),
    ("cos(x)", {"x": ("x + y", False)}, "cos(x + y)"),
    ("e^x", {"x": ("-1", False)}, "e^(-1)"),
    ("b·a^(b-1)", {"a": ("P", True), "b": ("2", True)}, "2·P^(2-1)"),
    ("[a = out]", {"a": ("x - 1", False), "out": ("3", True)}, "[x - 1 = 3]"),
    ("exp(x)·x", {"x": ("2", True)}, "exp(2)·2"),  # names inside names are left alone
])
def test_substitute_adds_parentheses_only_where_needed(template: str, names: dict,
                                                       want: str) -> None:
    from cgcli.notation import Notation

    assert substitute(template, names, Notation()) == want


# --- the lecture's worked examples ------------------------------------------------------------

def test_sigmoid_chain_reads_like_the_notes(cli: Run) -> None:
    code, out, err = cli("explain", SEED_SIGMOID, "--at", "x=1", "--precision", "2")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert "∂L/∂P = ∂L/∂L · ∂L/∂P = 1 · (-1/P²) = 1 · (-1/1.37²) = -0.53" in lines
    assert "∂L/∂Q = ∂L/∂P · ∂P/∂Q = (-0.53) · 1 = -0.53" in lines
    assert "∂L/∂M = ∂L/∂Q · ∂Q/∂M = (-0.53) · e^M = (-0.53) · e^(-1) = -0.20" in lines
    assert "∂L/∂x = ∂L/∂M · ∂M/∂x = (-0.20) · (-1) = 0.20" in lines
    steps = [ln.split(" = ")[0] for ln in lines if ln.startswith("∂L/∂")]
    assert steps == ["∂L/∂L", "∂L/∂P", "∂L/∂Q", "∂L/∂M", "∂L/∂x"]  # backward order
    assert any("add gate: distributes" in ln for ln in lines)


def test_exp_over_w1_has_the_notes_numbers(cli: Run) -> None:
    code, out, _ = cli("explain", SEED_EXP, "--at", "w0=2", "--at", "w1=2")
    assert code == 0
    results = {ln.split(" = ")[0]: ln.rsplit(" = ", 1)[1] for ln in out.splitlines()
               if ln.startswith("∂L/∂")}
    assert results == {"∂L/∂L": "1", "∂L/∂Q": "7.39", "∂L/∂w1": "-1.85", "∂L/∂P": "0.5",
                       "∂L/∂w0": "3.69"}
    assert "∂L/∂w1 = ∂L/∂Q · ∂Q/∂w1 = 7.39 · (-1/w1²) = 7.39 · (-1/2²) = -1.85" in out
    assert "mul gate: swaps the inputs" in out


def test_vector_example_shows_dP(cli: Run) -> None:
    code, out, _ = cli("explain", SEED_VECTOR, "--at", W, "--at", X,
                       "--precision", "2")
    assert code == 0
    step = next(ln for ln in out.splitlines() if ln.startswith("∂f/∂P ="))
    assert step.endswith("= [0.44, 0.52]   shape 2"), step
    assert "[0.22, 0.26]" in step  # P's value, put into the local derivative 2·P
    w_step = next(ln for ln in out.splitlines() if ln.startswith("∂f/∂W ="))
    assert "[0.44, 0.52]·xᵀ" in w_step and w_step.endswith("shape 2×2")
    code, out, _ = cli("explain", "P = W@x; f = norm(P)^2", "--at", W, "--at", X,
                       "--precision", "2")
    assert code == 0 and "= [0.44, 0.52]   shape 2" in out


def test_branches_are_summed(cli: Run) -> None:
    code, out, _ = cli("explain", "x*y + sin(x)", "--at", "x=2", "--at", "y=3")
    assert code == 0
    lines = out.splitlines()
    i = lines.index("∂f/∂x = 3 + (-0.416) = 2.58")
    assert lines[i - 2] == "    ∂f/∂(x*y) · ∂(x*y)/∂x = 1 · y = 1 · 3 = 3"
    assert lines[i - 1] == "    ∂f/∂sin(x) · ∂sin(x)/∂x = 1 · cos(x) = 1 · cos(2) = -0.416"


def test_gate_roles_are_named_once_per_gate(cli: Run) -> None:
    code, out, _ = cli("explain", "s = sigmoid(q); q = x + y",
                       "--at", "x=1", "--at", "y=2")
    assert code == 2  # q is used before it is bound: an input error
    code, out, _ = cli("explain", "q = x + y; s = sigmoid(q); f = max(s, z) * w",
                       "--at", "x=1", "--at", "y=2", "--at", "z=0", "--at", "w=3")
    assert code == 0
    for words in ("add gate: distributes", "mul gate: swaps", "max gate: routes",
                  "sigmoid gate: its local gradient is (1 - s)·s"):
        assert out.count(words) == 1, words
    assert "∂f/∂q = ∂f/∂s · ∂s/∂q = 3 · ((1 - s)·s) = 3 · ((1 - 0.9526)·0.9526) = 0.136" in out


def test_a_tie_in_max_says_the_gradient_is_shared(cli: Run) -> None:
    code, out, _ = cli("explain", "max(x, y)", "--at", "x=1", "--at", "y=1")
    assert code == 0 and "the tied inputs share the gradient equally" in out
    assert "∂f/∂x = ∂f/∂f · ∂f/∂x = 1 · [x = f] = 1 · [1 = 1] = 0.5" in out


def test_broadcast_inputs_are_summed(cli: Run) -> None:
    code, out, _ = cli("explain", "sum(x * [1, 2])", "--at", "x=3")
    assert code == 0
    assert "∂f/∂x = ∂f/∂(x * [1, 2]) · ∂(x * [1, 2])/∂x = Σ([1, 1] ⊙ [1, 2]) = 3" in out


def test_unused_names_are_noted(cli: Run) -> None:
    code, out, _ = cli("explain", "q = y * 2; f = x^2", "--at", "x=3",
                       "--at", "y=1")
    assert code == 0 and "f does not depend on y: its gradient is 0" in out
    assert "f does not depend on q: its gradient is 0" in out


def test_long_vectors_are_abbreviated(cli: Run) -> None:
    code, out, _ = cli("explain", "sum(x^2)", "--at",
                       "x=[1,2,3,4,5,6,7,8,9,10]")
    assert code == 0
    assert "= [2, 4, …, 18, 20]   shape 10" in out
    assert max(len(ln) for ln in out.splitlines()) < 160


# --- notations and formats --------------------------------------------------------------------

def test_ascii(cli: Run) -> None:
    code, out, _ = cli("explain", SEED_SIGMOID, "--at", "x=1", "--precision", "2",
                       "--ascii")
    assert code == 0 and out.isascii()
    assert "dL/dP = dL/dL * dL/dP = 1 * (-1/P^2) = 1 * (-1/1.37^2) = -0.53" in out
    assert "mul gate" not in out and "add gate: distributes" in out


def test_latex_is_an_aligned_block(cli: Run) -> None:
    code, out, _ = cli("explain", SEED_SIGMOID, "--at", "x=1", "--precision", "2",
                       "--format", "latex")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "% cgcli explain: " + SEED_SIGMOID
    assert lines[1] == r"\begin{aligned}" and lines[-1] == r"\end{aligned}"
    assert (r"\frac{\partial L}{\partial P} &= \frac{\partial L}{\partial L}"
            r"\frac{\partial L}{\partial P} = 1 \cdot \left(-\frac{1}{P^{2}}\right) = "
            r"1 \cdot \left(-\frac{1}{1.37^{2}}\right) = -0.53 \\") in out
    assert r"\left(-0.53\right) \cdot e^{-1} = -0.20" in out
    body = "\n".join(lines[1:])
    assert body.count("{") == body.count("}") and body.count(r"\left(") == body.count(r"\right)")
    assert all(ln.endswith("\\\\") for ln in lines[2:-2]) and not lines[-2].endswith("\\\\")


def test_latex_of_vectors_uses_bmatrix(cli: Run) -> None:
    code, out, _ = cli("explain", SEED_VECTOR, "--at", W, "--at", X,
                       "--precision", "2", "--format", "latex")
    assert code == 0
    assert r"= \begin{bmatrix}0.44 \\ 0.52\end{bmatrix} \\" in out
    assert r"\begin{bmatrix}0.1 & 0.5 \\ -0.3 & 0.8\end{bmatrix}^{\top}" in out


def test_markdown_is_a_numbered_list(cli: Run) -> None:
    code, out, _ = cli("explain", "x*y + sin(x)", "--at", "x=2", "--at", "y=3",
                       "--format", "markdown")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("Backward pass of `x*y + sin(x)` at `x = 2, y = 3`")
    assert lines[2] == "1. `∂f/∂f = 1`"
    assert "`∂f/∂x = 3 + (-0.416) = 2.58`, the sum of its branches:" in out
    assert "   - `∂f/∂sin(x) · ∂sin(x)/∂x = 1 · cos(x) = 1 · cos(2) = -0.416`" in lines


def test_json_steps_are_data(cli: Run) -> None:
    code, out, _ = cli("explain", "q = x*y; f = q + sin(q) + x", "--at", "x=2",
                       "--at", "y=3", "--json")
    assert code == 0
    doc = json.loads(out)
    assert set(doc) == {"expression", "inputs", "output", "value", "notation", "precision",
                        "steps", "unused"}
    ev = cgcli.gradients(doc["expression"], x=2, y=3)
    assert [s["node"] for s in doc["steps"]] == [5, 4, 3, 2, 1, 0]
    for step in doc["steps"]:
        assert step["gradient"] == pytest.approx(float(ev.grads[step["node"]]))
        if step["branches"]:
            total = sum(b["contribution"] for b in step["branches"])
            assert total == pytest.approx(step["gradient"])
    x_step = doc["steps"][-1]
    assert [b["gate_label"] for b in x_step["branches"]] == ["q", "f"]
    assert x_step["branches"][0]["formula"] == "b" and x_step["branches"][0]["param"] == "a"
    assert x_step["branches"][0]["role"].startswith("mul gate")


def test_errors_are_one_message(cli: Run) -> None:
    code, out, err = cli("explain", "W@x", "--at", W, "--at", X)
    assert code == 2 and out == "" and "cgcli jacobian" in err and "Traceback" not in err
    code, out, err = cli("explain", "x +", "--json")
    assert code == 2 and json.loads(out)["error"]["type"] == "parse"
    code, _, err = cli("explain", "x", "--format", "yaml")
    assert code == 2


def test_expression_may_begin_with_minus(cli: Run) -> None:
    code, out, _ = cli("explain", "-x^2", "--at", "x=3")
    assert code == 0 and out.rstrip().endswith("= -6")


def _expression_for(name: str) -> tuple[str, dict]:
    """An expression that applies op ``name`` to variables at its first sample point."""
    op = REGISTRY[name]
    sample = op.samples[0]
    names = [f"v{k}" for k in range(len(sample))]
    at = dict(zip(names, sample, strict=True))
    if name == "id":
        return "q = v0; f = q * 2", at
    if name == "array":
        return f"sum([{', '.join(names)}])", at
    if op.symbol and len(op.params) == 2:
        body = f"v0 {op.symbol} v1"
    elif op.symbol:
        body = f"{op.symbol}v0"
    else:
        body = f"{name}({', '.join(names)})"
    return (body if np.ndim(op.forward(*[np.asarray(s, float) for s in sample])) == 0
            else f"sum({body})"), at


@pytest.mark.parametrize("name", GATES)
@pytest.mark.parametrize("nota", ["unicode", "ascii", "latex"])
def test_every_op_can_be_explained(name: str, nota: str) -> None:
    text, at = _expression_for(name)
    ev = cgcli.gradients(text, at)
    ex = explain(ev, nota, 4)
    assert ex.steps[0].result == "1"
    for step in ex.steps:
        assert np.allclose(step.gradient, ev.grads[step.node])
        if step.terms:
            total = sum(np.asarray(t.contribution) for t in step.terms)
            assert np.allclose(total, step.gradient), (text, step.text())
        line = step.text()
        if nota == "latex":
            assert line.count("{") == line.count("}"), line
        if nota == "ascii":
            assert line.isascii(), line
    assert {s.label for s in ex.steps} >= set(ev.graph.variables)


def test_explain_needs_a_backward_pass() -> None:
    with pytest.raises(ValueError, match="backward pass"):
        explain(cgcli.evaluate("x", x=1))
    with pytest.raises(CgcliError):
        cgcli.gradients("x +")


def test_colour_terminal_wraps_long_steps() -> None:
    import io

    from rich.console import Console

    from cgcli.render.explain import text

    buf = io.StringIO()
    console = Console(file=buf, force_terminal=True, color_system="truecolor", width=40)
    text(explain(cgcli.gradients("q = x*y; f = q + sin(x)", x=2, y=3)), console)
    out = buf.getvalue()
    assert "\x1b[31m2.58\x1b[0m" in out  # results in red
    plain = re.sub(r"\x1b\[[0-9;]*m", "", out)
    assert "∂f/∂x = 3 + (-0.416) = 2.58" in plain and "…" not in plain  # wrapped, not cut
