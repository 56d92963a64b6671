"""Property-based tests: gradients of random expressions against central finite differences.

Expressions are generated as *strings* in the cgcli language (operators, calls, keyword
arguments, let-bindings, constants), parsed by the real parser, and their backward pass is
compared with central differences of the forward pass, for every element of every variable.

Points where finite differences are not a fair judge are skipped with ``assume``: a value or
gradient that is not finite or very large, or a kink (relu, abs, leaky_relu, elu at 0, a change
of the winner in max/min) between the points that the difference quotient looks at.

Runs are derandomized and small by default; set ``CGCLI_FUZZ_EXAMPLES=N`` for N random
examples per property instead.
"""

from __future__ import annotations

import os

import numpy as np
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import cgcli
from cgcli.printer import statements

# --- settings -----------------------------------------------------------------------------

_FUZZ = os.environ.get("CGCLI_FUZZ_EXAMPLES")


def examples(n: int) -> settings:
    """``n`` derandomized examples, or ``$CGCLI_FUZZ_EXAMPLES`` random ones."""
    common = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}
    if _FUZZ:
        return settings(max_examples=int(_FUZZ), derandomize=False, **common)
    return settings(max_examples=n, derandomize=True, database=None, **common)


# --- finite differences -------------------------------------------------------------------

STEP = 1e-6  # relative to max(1, |x|)
RTOL = 1e-5
ATOL = 1e-5
#: Skip points where any node's value or gradient is larger than this: the rounding error of
#: a difference quotient grows with the size of the intermediate values.
BOUND = 1e3

_KINKS = frozenset(("relu", "abs", "leaky_relu", "elu", "sign", "norm"))


def branches(ev: cgcli.Evaluation) -> list[bytes]:
    """Which side of every kink each node is on: equal at two points means no kink between."""
    sig = []
    for node in ev.graph.nodes:
        name = node.op.name
        ins = [np.asarray(ev.values[j], dtype=np.float64) for j in node.inputs]
        out = np.asarray(ev.values[node.id], dtype=np.float64)
        if name in _KINKS:  # norm: its kink is at 0, which signs of the elements fence in
            sig.append(np.sign(ins[0]).tobytes())
        elif name in ("max", "min"):
            if len(ins) == 1:  # a reduction: which elements attain the extremum
                sig.append(np.flatnonzero(ins[0].ravel() == out).tobytes())
            else:  # elementwise: which inputs attain it, element by element
                full = np.broadcast_arrays(out, *ins)
                sig.append(np.stack([x == full[0] for x in full[1:]]).tobytes())
    return sig


def well_conditioned(ev: cgcli.Evaluation) -> bool:
    """All values (and gradients, if any) finite and at most BOUND in size."""
    parts = list(ev.values) + [g for g in (ev.grads or []) if g is not None]
    for v in parts:
        a = np.asarray(v, dtype=np.float64)
        if not np.all(np.isfinite(a)) or np.any(np.abs(a) > BOUND):
            return False
    return True


def check_against_finite_differences(graph: cgcli.Graph, point: dict[str, np.ndarray]) -> None:
    """d(output)/d(variable) from the backward pass vs central differences, element by element.

    All difference quotients are computed (and unfit points rejected) before any assertion.
    """
    ev = cgcli.gradients(graph, point)
    assume(well_conditioned(ev))
    assert np.asarray(ev.grads[graph.output]).tolist() == 1.0, "d(out)/d(out) is not exactly 1"
    base = branches(ev)
    checks = []
    for name in graph.variables:
        x = np.asarray(point[name], dtype=np.float64)
        got = ev.gradients[name]
        assert got.shape == x.shape, f"gradient of {name} has shape {got.shape}, not {x.shape}"
        for k in np.ndindex(*x.shape):
            h = STEP * max(1.0, abs(float(x[k])))
            plus, minus = x.copy(), x.copy()
            plus[k] += h
            minus[k] -= h
            ep = cgcli.evaluate(graph, {**point, name: plus})
            em = cgcli.evaluate(graph, {**point, name: minus})
            assume(well_conditioned(ep) and well_conditioned(em))
            assume(branches(ep) == base and branches(em) == base)
            fd = float(ep.value - em.value) / float(plus[k] - minus[k])
            checks.append((name, k, float(got[k]), fd))
    event(f"derivatives compared: {min(len(checks), 5)}{'+' if len(checks) > 5 else ''}")
    for name, k, g, fd in checks:
        assert abs(g - fd) <= ATOL + RTOL * max(abs(g), abs(fd)), (
            f"{graph.source!r} at {point}: d/d{name}{list(k)}: backward gives {g!r}, "
            f"central differences {fd!r}")


# --- scalar expressions -------------------------------------------------------------------

VARIABLES = ("x", "y", "z")
NUMBERS = ("0.5", "2", "1.5", ".25", "3.", "1e-1", "0.75", "2.5E0", "1", "0.3")
SMOOTH = ("exp", "sin", "cos", "tanh", "sigmoid", "softplus", "atan", "sinh", "cosh")
KINKED = ("abs", "relu")
LOGS = ("log", "ln", "log2", "log10", "sqrt")
#: Wrappers that keep an argument positive (for log, sqrt, division, fractional powers) ...
POSITIVE = ("1 + ({})^2", "2 + sin({})", "1.5 + tanh({})", "exp({})", "softplus({}) + 0.5",
            "0.1 + sigmoid({})", "cosh({})")
#: ... or strictly inside (-1, 1) (asin, acos), or inside (-pi/2, pi/2) (tan).
UNIT = ("0.9 * tanh({})", "0.5 * sin({})", "sigmoid({}) - 0.5", "atan({}) / 2")


@st.composite
def leaf(draw: st.DrawFn, names: tuple[str, ...]) -> str:
    kind = draw(st.sampled_from(("name", "name", "name", "number", "constant")))
    if kind == "name":
        return draw(st.sampled_from(names))
    if kind == "number":
        return draw(st.sampled_from(NUMBERS))
    return draw(st.sampled_from(("pi", "e")))


def _maybe_paren(draw: st.DrawFn, s: str) -> str:
    return f"({s})" if draw(st.booleans()) else s


@st.composite
def scalar_expr(draw: st.DrawFn, names: tuple[str, ...], depth: int = 3,
                top: bool = False) -> str:
    """A random scalar expression over ``names`` that stays in every function's domain.

    ``top``: not a bare leaf.
    """
    if depth <= 0 or (not top and draw(st.integers(0, 4)) == 0):
        return draw(leaf(names))

    def sub() -> str:
        return draw(scalar_expr(names, depth - 1))

    kind = draw(st.sampled_from((
        "binop", "binop", "div", "pow", "fracpow", "neg", "pos", "smooth", "smooth", "kinked",
        "log", "arc", "tan", "leaky", "elu", "extremum",
    )))
    if kind == "binop":
        op = draw(st.sampled_from(("+", "-", "*")))
        return f"{_maybe_paren(draw, sub())} {op} ({sub()})"
    if kind == "div":
        den = draw(st.sampled_from(POSITIVE)).format(sub())
        return f"({sub()}) / ({den})"
    if kind == "pow":
        return f"({sub()}){draw(st.sampled_from(('^', '**')))}{draw(st.sampled_from('123'))}"
    if kind == "fracpow":
        base = draw(st.sampled_from(POSITIVE)).format(sub())
        return f"({base})^{draw(st.sampled_from(('0.5', '1.5', '2.5', '0.25')))}"
    if kind == "neg":
        return f"-({sub()})"
    if kind == "pos":
        return f"+({sub()})"
    if kind in ("smooth", "kinked"):
        return f"{draw(st.sampled_from(SMOOTH if kind == 'smooth' else KINKED))}({sub()})"
    if kind == "log":
        return f"{draw(st.sampled_from(LOGS))}({draw(st.sampled_from(POSITIVE)).format(sub())})"
    if kind == "arc":
        arg = draw(st.sampled_from(UNIT)).format(sub())
        return f"{draw(st.sampled_from(('asin', 'acos')))}({arg})"
    if kind == "tan":
        return f"tan({draw(st.sampled_from(UNIT)).format(sub())})"
    if kind in ("leaky", "elu"):
        fn, param = ("leaky_relu", "slope") if kind == "leaky" else ("elu", "alpha")
        form = draw(st.sampled_from(("default", "positional", "keyword", "expression")))
        if form == "default":
            return f"{fn}({sub()})"
        if form == "positional":
            return f"{fn}({sub()}, {draw(st.sampled_from(NUMBERS))})"
        if form == "keyword":
            return f"{fn}({sub()}, {param}={draw(st.sampled_from(NUMBERS))})"
        return f"{fn}({sub()}, {sub()})"
    # max / min of two arguments
    return f"{draw(st.sampled_from(('max', 'min')))}({sub()}, {sub()})"


@st.composite
def program(draw: st.DrawFn) -> str:
    """Zero to two let-bindings, then the output expression (itself maybe bound)."""
    names = VARIABLES
    statements = []
    for i in range(draw(st.integers(0, 2))):
        statements.append(f"q{i} = {draw(scalar_expr(names, depth=2))}")
        names = (*names, f"q{i}", f"q{i}")  # bound names are drawn more often
    if len(names) > len(VARIABLES) and draw(st.booleans()):  # rebinding: a new version
        name, op = names[-1], draw(st.sampled_from("+-*"))
        rhs = draw(scalar_expr(names, depth=1))
        statements.append(draw(st.sampled_from((f"{name} {op}= {rhs}",
                                                 f"{name} = {name} {op} ({rhs})"))))
    out = draw(scalar_expr(names, top=True))
    if len(names) > len(VARIABLES):  # use the last binding in the output
        out = f"({out}) {draw(st.sampled_from('+-*'))} {names[-1]}"
    if draw(st.booleans()):
        out = f"f = {out}"
    statements.append(out)
    return draw(st.sampled_from(("; ", "\n", ";\n", " ;  "))).join(statements)


coordinate = st.floats(-3.0, 3.0, allow_nan=False, allow_infinity=False)
scalar_point = st.fixed_dictionaries(dict.fromkeys(VARIABLES, coordinate))


@examples(400)
@given(text=program(), point=scalar_point)
def test_scalar_gradients_match_finite_differences(text: str, point: dict) -> None:
    graph = cgcli.parse(text)
    check_against_finite_differences(graph, {k: np.float64(v) for k, v in point.items()})


# --- vectors and matrices -----------------------------------------------------------------

#: Scalar-valued terms over x, y (n,), W (m, n), b (m,) and s (a scalar).
TERMS = (
    "sum(W @ x)",
    "sum(tanh(W@x + b)^2)",
    "logsumexp(x)",
    "logsumexp(W @ x)",
    "sum(softmax(x) * y)",
    "dot(softmax(W @ x), b)",
    "norm(x)",
    "norm(W)",
    "mean(x*y)",
    "dot(x, y)",
    "max(x)",
    "min(y)",
    "sum(max(x, y))",
    "sum(min(W, s))",
    "sum(W * x)",
    "sum((x - s)^2)",
    "mean(s * x + y)",
    "sum(T(W) @ b)",
    "b @ W @ x",
    "sum(sigmoid(W @ x) * b)",
    "sum(relu(W @ x - b))",
    "norm([sum(x), dot(x, y), s])",
    "sum([x, y] @ y)",
    "sum(softplus(x) / (1 + y^2))",
    "mean(exp(x) / sum(exp(x)))",
    "sum(leaky_relu(x, 0.1) * y)",
    "sum(elu(W @ x, alpha=s))",
    "sum(abs(x - y))",
    "sum(x^2) / 2",
    "sum(sqrt(1 + x^2))",
    "x @ y",
    "sum(logsumexp(W))",
    "sum(softmax(W) * W)",
    "sum(W @ T(W))",
    "mean(W) * max(W)",
    "sum(transpose(W) @ b)",
    "dot([s, 1.5], [2, s])",
    "h = W @ x + b; sum(h * h) + sum(h)",
    "v = x * y; mean(v) * max(v)",
)
COEFFICIENTS = ("1", "0.5", "-2", "3", "-0.25")


@st.composite
def vector_case(draw: st.DrawFn) -> tuple[str, dict[str, np.ndarray]]:
    n, m = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    terms = draw(st.lists(st.sampled_from(TERMS), min_size=1, max_size=3))
    lets = [t for t in terms if ";" in t]
    plain = [t for t in terms if ";" not in t]
    parts = [f"{draw(st.sampled_from(COEFFICIENTS))} * ({t})" for t in plain]
    if lets:  # one term with let-bindings goes first, its last statement joins the sum
        head, last = lets[0].rsplit(";", 1)
        text = f"{head}; " + " + ".join([f"({last.strip()})", *parts])
    else:
        text = " + ".join(parts)
    el = st.floats(-2.0, 2.0, allow_nan=False, allow_infinity=False)
    point = {
        "x": draw(arrays(np.float64, (n,), elements=el)),
        "y": draw(arrays(np.float64, (n,), elements=el)),
        "W": draw(arrays(np.float64, (m, n), elements=el)),
        "b": draw(arrays(np.float64, (m,), elements=el)),
        "s": np.float64(draw(el)),
    }
    return text, point


@examples(150)
@given(case=vector_case())
def test_vector_gradients_match_finite_differences(case: tuple) -> None:
    text, point = case
    graph = cgcli.parse(text)
    check_against_finite_differences(graph, {k: point[k] for k in graph.variables})


# --- structure ----------------------------------------------------------------------------

def _structure(graph: cgcli.Graph) -> list[tuple]:
    rows = []
    for node in graph.nodes:
        value = None if node.value is None else np.asarray(node.value).tolist()
        rows.append((node.id, node.op.name, node.inputs, node.name, value,
                     node.start, node.end, node.pos))
    return [*rows, ("output", graph.output), ("variables", graph.variables),
            ("bindings", graph.bindings)]


@examples(150)
@given(text=program(), other=program())
def test_parse_is_deterministic(text: str, other: str) -> None:
    first = _structure(cgcli.parse(text))
    cgcli.parse(other)  # nothing may leak from one parse into the next
    assert _structure(cgcli.parse(text)) == first


@examples(150)
@given(text=program())
def test_canonical_text_parses_back_to_the_same_graph(text: str) -> None:
    """What ``cgcli fmt`` prints (with and without ``--lines``): the same nodes, names and
    constants, rebound names included."""
    def same(graph: cgcli.Graph) -> list[tuple]:
        return [row[:5] for row in _structure(graph)[:-3]] + _structure(graph)[-3:]

    graph = cgcli.parse(text)
    for sep in ("; ", "\n"):
        assert same(cgcli.parse(sep.join(statements(graph)))) == same(graph)


@examples(100)
@given(text=program())
def test_spaces_do_not_change_the_graph(text: str) -> None:
    def ops(graph: cgcli.Graph) -> list[tuple]:
        return [(n.op.name, n.inputs, n.name) for n in graph.nodes]

    assert ops(cgcli.parse(text.replace(" ", ""))) == ops(cgcli.parse(text))


@examples(100)
@given(x=coordinate)
def test_reuse_sums_gradients(x: float) -> None:
    for text in ("x*x + x", "q = x; f = q*x + q", "(x)*(x) + (x)"):
        ev = cgcli.gradients(text, x=x)
        np.testing.assert_allclose(ev.gradients["x"], 2 * x + 1, rtol=1e-15, atol=1e-15,
                                   err_msg=text)


@examples(50)
@given(x=arrays(np.float64, st.integers(1, 5), elements=coordinate))
def test_reuse_sums_gradients_elementwise(x: np.ndarray) -> None:
    ev = cgcli.gradients("sum(x*x + x)", x=x)
    np.testing.assert_allclose(ev.gradients["x"], 2 * x + 1, rtol=1e-15, atol=1e-15)


@examples(50)
@given(x=coordinate, k=st.integers(1, 6))
def test_output_gradient_stays_one(x: float, k: int) -> None:
    graph = cgcli.parse(" + ".join(["x"] * k))
    ev = cgcli.gradients(graph, x=x)
    assert np.asarray(ev.grads[graph.output]).tolist() == 1.0
    assert ev.gradients["x"].tolist() == float(k)


def assert_no_shared_gradient_buffers(ev: cgcli.Evaluation) -> None:
    """No two nodes' gradients share memory, so changing one never changes another."""
    arrays_ = [(i, g) for i, g in enumerate(ev.grads) if isinstance(g, np.ndarray)]
    for n, (i, a) in enumerate(arrays_):
        for j, b in arrays_[n + 1:]:
            assert not np.shares_memory(a, b), (
                f"{ev.graph.source!r}: the gradients of nodes {i} and {j} share memory")


def test_no_two_nodes_share_a_gradient_buffer() -> None:
    graph = cgcli.parse("(x + y) + z")
    ev = cgcli.gradients(graph, x=1.0, y=2.0, z=3.0)
    assert_no_shared_gradient_buffers(ev)
    gz = ev.grads[graph.variables["z"]]
    if isinstance(gz, np.ndarray):  # a caller that edits one gradient changes no other
        gz[...] = 5.0
    assert np.asarray(ev.grads[graph.output]).tolist() == 1.0


@examples(100)
@given(text=program(), point=scalar_point)
def test_gradient_buffers_are_never_shared(text: str, point: dict) -> None:
    assert_no_shared_gradient_buffers(cgcli.gradients(text, point))


@examples(50)
@given(case=vector_case())
def test_gradient_buffers_are_never_shared_with_arrays(case: tuple) -> None:
    text, point = case
    graph = cgcli.parse(text)
    ev = cgcli.gradients(graph, {k: point[k] for k in graph.variables})
    assert_no_shared_gradient_buffers(ev)
