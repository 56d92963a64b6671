"""The expression language: numbers, precedence, calls, literals, bindings and errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

import cgcli
from cgcli.errors import ArityError, CgcliError, NameError_, ParseError, ShapeError


def value(expr: str, **at: object) -> float:
    return float(cgcli.evaluate(expr, **at).value)


@pytest.mark.parametrize(("expr", "expected"), [
    ("1", 1.0), ("2.5", 2.5), (".5", 0.5), ("1e-3", 1e-3), ("1.5E2", 150.0), ("3.", 3.0),
    ("pi", math.pi), ("e", math.e), ("-x^2", -9.0), ("2^3^2", 512.0), ("2**3**2", 512.0),
    ("-2^2", -4.0), ("2^-1", 0.5), ("(-2)^2", 4.0), ("1 - 2 - 3", -4.0), ("8/4/2", 1.0),
    ("2 + 3 * 4", 14.0), ("(2 + 3) * 4", 20.0), ("--x", 3.0), ("+x", 3.0), ("x ** 2", 9.0),
    ("pow(2, 10)", 1024.0), ("ln(e)", 1.0), ("log2(8)", 3.0), ("log10(1000)", 3.0),
    ("sqrt(16)", 4.0), ("max(1, 5, 3)", 5.0), ("min(1, 5, 3)", 1.0), ("max([1, 7, 3])", 7.0),
    ("sum([1, 2, 3])", 6.0), ("mean([1, 2, 3])", 2.0), ("norm([3, 4])", 5.0),
    ("dot([1, 2], [3, 4])", 11.0), ("[1, 2] @ [3, 4]", 11.0), ("leaky_relu(-2)", -0.02),
    ("leaky_relu(-2, 0.5)", -1.0), ("leaky_relu(-2, slope=0.5)", -1.0), ("elu(0)", 0.0),
    ("elu(-1, alpha=2)", 2 * (math.exp(-1) - 1)), ("abs(-3)", 3.0), ("relu(-3)", 0.0),
    ("sum(T([[1, 2], [3, 4]]) @ [1, 0])", 3.0), ("logsumexp([0, 0])", math.log(2)),
    ("sum(softmax([1, 2, 3]))", 1.0), ("x # a comment", 3.0),
])
def test_values(expr: str, expected: float) -> None:
    assert value(expr, x=3) == pytest.approx(expected, rel=1e-14)


@pytest.mark.parametrize("text", ["٣ * x", "x + ３", "[1, ٣]"])
def test_digits_are_ascii(text: str) -> None:
    with pytest.raises(ParseError, match="unexpected character"):
        cgcli.parse(text)


def test_huge_powers_are_inf_at_once() -> None:
    assert value("9^9^9^9") == math.inf
    assert value("1e999") == math.inf
    assert value("1" * 5000) == math.inf
    assert value("0." + "0" * 3000 + "1") == 0.0


def test_every_number_is_float64() -> None:
    ev = cgcli.evaluate("x / 2 + [1, 2]", x=1)
    assert ev.value.dtype == np.float64
    assert all(np.asarray(v).dtype == np.float64 for v in ev.values)


def test_let_bindings_share_one_node() -> None:
    g = cgcli.parse("q = x + y; f = q * q")
    assert [n.op.name for n in g] == ["var", "var", "add", "mul"]
    assert g.nodes[3].inputs == (2, 2)
    ev = cgcli.gradients(g, x=1, y=2)
    assert float(ev.gradients["x"]) == 6.0  # 2q


def test_newlines_separate_statements_and_continue_inside_brackets() -> None:
    g = cgcli.parse("q = x +\n  y\n\nf = max(q,\n  z)  # the output\n")
    assert g.nodes[g.output].name == "f"
    assert value("a = [1,\n 2]\nsum(a)") == 3.0


def test_last_statement_is_the_output() -> None:
    assert value("a = 2; b = 3") == 3.0
    assert value("a = 2; a * 5") == 10.0


def test_binding_a_variable_or_bound_name_makes_a_named_alias() -> None:
    g = cgcli.parse("y = x; z = y; z")
    assert [g.label(i) for i in range(len(g))] == ["x", "y", "z"]
    assert float(cgcli.gradients(g, x=2).gradients["x"]) == 1.0


def test_variable_is_one_node_however_often_used() -> None:
    g = cgcli.parse("x*y + x*x + sin(x)")
    assert sum(n.op.name == "var" for n in g) == 2
    ev = cgcli.gradients(g, x=0.5, y=2.0)
    assert float(ev.gradients["x"]) == pytest.approx(2 + 2 * 0.5 + math.cos(0.5))


def test_node_order_is_topological_and_follows_the_source() -> None:
    g = cgcli.parse("sin(x) * exp(y)")
    assert all(j < n.id for n in g for j in n.inputs)
    assert [n.op.name for n in g] == ["var", "sin", "var", "exp", "mul"]


def test_literals_are_single_constants() -> None:
    g = cgcli.parse("[[1, -2], [3, 4]] @ x - -1")
    consts = [n for n in g if n.op.name == "const"]
    assert len(consts) == 2
    np.testing.assert_array_equal(consts[0].value, [[1, -2], [3, 4]])
    assert consts[1].value == -1


def test_a_million_number_literal_is_one_constant() -> None:
    text = "[" + ", ".join(str(k % 13 - 6.5) for k in range(1_000_000)) + "]"
    g = cgcli.parse(f"sum({text} * x)")
    assert sorted(n.op.name for n in g) == ["const", "mul", "sum", "var"]
    assert float(cgcli.gradients(g, x=1.0).gradients["x"]) == sum(k % 13 - 6.5
                                                                   for k in range(1_000_000))
    matrix = "[" + ", ".join("[" + ", ".join(map(str, range(300))) + "]" for _ in range(300)) + "]"
    assert cgcli.parse_value(matrix).shape == (300, 300)


def test_array_literal_of_expressions_is_differentiable() -> None:
    ev = cgcli.gradients("sum([x, 2*x, y] * [1, 2, 3])", x=1.0, y=5.0)
    assert float(ev.gradients["x"]) == 5.0
    assert float(ev.gradients["y"]) == 3.0


@pytest.mark.parametrize(("text", "kind", "column", "words"), [
    ("x +", ParseError, 4, "expected an expression after '+'"),
    ("1 + * 2", ParseError, 5, "after '+'"),
    ("(x", ParseError, 3, "')'"),
    ("x)", ParseError, 2, "unmatched ')'"),
    ("2x", ParseError, 2, "write * between factors"),
    ("x $ 2", ParseError, 3, "unexpected character '$'"),
    ("", ParseError, 1, "empty"),
    ("foo(x)", NameError_, 1, "unknown function 'foo'"),
    ("sigmod(x)", NameError_, 1, "did you mean sigmoid"),
    ("exp + 1", NameError_, 1, "is a function"),
    ("exp(x, y)", ArityError, 1, "at most 1 argument"),
    ("pow(x)", ArityError, 1, "missing its argument 'b'"),
    ("leaky_relu(x, alpha=1)", ArityError, 15, "no parameter 'alpha'"),
    ("q = x; q = q#1", NameError_, 12, "an earlier version of q"),
    ("q = x; x += 1", NameError_, 8, "is an input (its value comes from --at)"),
    ("exp = 3", NameError_, 5, "function name"),
    ("y = x; x = 1", NameError_, 10, "before this binding"),
    ("[1, [2, 3]]", ShapeError, 1, "same shape"),
    ("[1, 2] + [1, 2, 3]", ShapeError, 8, "cannot combine shapes (2,), (3,)"),
    ("[[1, 2], [3, 4]] @ [1, 2, 3]", ShapeError, 18, "inner dimensions"),
    ("2 @ x", ShapeError, 3, "use * to scale"),
    ("dot([1, 2], [1, 2, 3])", ShapeError, 1, "same length"),
])
def test_errors_point_at_the_culprit(text: str, kind: type, column: int, words: str) -> None:
    with pytest.raises(kind) as info:
        cgcli.evaluate(text, x=1.0)
    err = info.value
    assert words in err.message
    assert err.line_column == (1, column)
    picture = err.render().splitlines()
    assert picture[2].index("^") - 2 == column - 1  # the caret sits under the column


def test_error_at_end_of_input_points_after_the_last_character() -> None:
    with pytest.raises(ParseError) as info:
        cgcli.parse("exp(x) *   ")
    assert info.value.line_column == (1, 9)


def test_error_on_a_later_line() -> None:
    with pytest.raises(NameError_) as info:
        cgcli.parse("q = x\nf = q * bogus(2)")
    assert info.value.line_column == (2, 9)
    assert "line 2, column 9" in info.value.render()


def test_missing_value_names_the_variable() -> None:
    with pytest.raises(NameError_, match="no value for variable 'y'") as info:
        cgcli.evaluate("x + y", x=1)
    assert info.value.line_column == (1, 5)


def test_grad_needs_a_scalar_output() -> None:
    with pytest.raises(ShapeError, match=r"sum\(\.\.\.\)"):
        cgcli.gradients("x * 2", x=[1.0, 2.0])


@pytest.mark.parametrize("text", ["x", "-pi/4", "[1, 2]", "[[1, 2], [3, 4]]", "2^10", "1e-3"])
def test_constant_values_parse(text: str) -> None:
    if text == "x":
        with pytest.raises(CgcliError, match="constant expression"):
            cgcli.parse_value(text)
    else:  # a number is a Python float (no NumPy on the scalar path), an array float64
        value = cgcli.parse_value(text)
        assert type(value) is float if "[" not in text else value.dtype == np.float64


def test_deep_nesting_has_no_recursion_limit() -> None:
    depth = 100_000
    ev = cgcli.gradients("sin(" * depth + "x" + ")" * depth, x=0.5)
    assert np.isfinite(ev.value) and np.isfinite(ev.gradients["x"])
    ev = cgcli.gradients("(" * 30_000 + "x" + "+1)" * 30_000, x=0.5)
    assert float(ev.value) == 30_000.5 and float(ev.gradients["x"]) == 1.0
    ev = cgcli.gradients("(" * depth + "x" + ")" * depth, x=0.5)
    assert float(ev.gradients["x"]) == 1.0


def test_long_sum_of_terms() -> None:
    terms = "+".join(f"{i % 7}*x*y" for i in range(20_000))
    ev = cgcli.gradients(terms, x=2.0, y=3.0)
    total = sum(i % 7 for i in range(20_000))
    assert float(ev.gradients["x"]) == total * 3.0


def test_size_limits_are_clear_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    import cgcli.graphs
    import cgcli.parser
    from cgcli.errors import LimitError

    monkeypatch.setattr(cgcli.graphs, "MAX_NODES", 1000)
    with pytest.raises(LimitError, match="more than 1,000 nodes"):
        cgcli.parse("+".join(["x*y"] * 600))
    cgcli.parse("+".join(["x*y"] * 300))  # 601 nodes: fine
    monkeypatch.setattr(cgcli.parser, "MAX_TEXT", 10)
    with pytest.raises(LimitError, match="limit is"):
        cgcli.parse("x + y + z + w")


def test_a_graph_pickles_with_the_registrys_own_ops() -> None:
    """Dask sends work to other processes pickled: a parsed graph must survive it."""
    import pickle

    graph = cgcli.parse("q = W @ x + b; f = sum(relu(q)^2) + max(q)")
    back = pickle.loads(pickle.dumps(graph))  # noqa: S301 - our own data
    assert all(a.op is b.op for a, b in zip(graph.nodes, back.nodes, strict=True))
    at = {"W": [[1.0, -2.0], [0.5, 1.0]], "x": [0.3, 0.7], "b": [0.1, -0.2]}
    assert cgcli.gradients(back, at).gradients["W"].tolist() == \
        cgcli.gradients(graph, at).gradients["W"].tolist()
