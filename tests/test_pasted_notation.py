"""Notation pasted from notes and slides: x², x⁻¹, √x, |x|, ·, ×, −, ÷, Wᵀ; other Unicode is
an error with a caret (and a hint where one fits); hints for a function without parentheses."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import judged_ok, structure

import cgcli
from cgcli.check import check
from cgcli.errors import CgcliError, NameError_, ParseError
from cgcli.printer import to_text

#: Pasted notation, the same expression in ASCII, and a point where both are smooth.
SAME = [
    ("x² + 3·x − 1", "x^2 + 3*x - 1", {"x": 0.7}),
    ("x³ − x²", "x^3 - x^2", {"x": 1.3}),
    ("x⁰ + x¹ + x⁴ + x⁵ + x⁶ + x⁷ + x⁸ + x⁹", "x^0 + x^1 + x^4 + x^5 + x^6 + x^7 + x^8 + x^9",
     {"x": 1.1}),
    ("x¹⁰", "x^10", {"x": 0.9}),
    ("x⁻¹", "x^-1", {"x": 0.6}),
    ("x⁻²·y", "x^-2 * y", {"x": 1.4, "y": -0.3}),
    ("-x²", "-(x^2)", {"x": 0.8}),
    ("e^x²", "e^(x^2)", {"x": 0.5}),
    ("x^y²", "x^(y^2)", {"x": 1.5, "y": 0.7}),
    ("x²^y", "(x^2)^y", {"x": 1.5, "y": 0.7}),
    ("sin(x)² + cos(x)²", "sin(x)^2 + cos(x)^2", {"x": 0.4}),
    ("(x + y)²", "(x + y)^2", {"x": 0.4, "y": -1.1}),
    ("√x", "sqrt(x)", {"x": 2.0}),
    ("√(x + 1)", "sqrt(x + 1)", {"x": 0.3}),
    ("√x + 1", "sqrt(x) + 1", {"x": 0.3}),
    ("√x·y", "sqrt(x) * y", {"x": 0.3, "y": 2.0}),
    ("√x^2", "sqrt(x^2)", {"x": -1.5}),
    ("√x²", "sqrt(x^2)", {"x": -1.5}),
    ("√-x", "sqrt(-x)", {"x": -0.5}),
    ("√√x", "sqrt(sqrt(x))", {"x": 3.0}),
    ("2√x", "2 * sqrt(x)", {"x": 0.7}),
    ("y√x", "y * sqrt(x)", {"x": 0.7, "y": -2.0}),
    ("-2√x", "-2 * sqrt(x)", {"x": 0.7}),
    ("x^√2", "x^sqrt(2)", {"x": 1.7}),
    ("1/√(x² + y²)", "1 / sqrt(x^2 + y^2)", {"x": 0.7, "y": 0.2}),
    ("|x - 3|", "abs(x - 3)", {"x": 1.0}),
    ("|x|·|y|", "abs(x) * abs(y)", {"x": -1.0, "y": 0.5}),
    ("||x| - 1|", "abs(abs(x) - 1)", {"x": -0.25}),
    ("|x|²", "abs(x)^2", {"x": -0.4}),
    ("|-x|", "abs(-x)", {"x": 0.4}),
    ("x × y", "x * y", {"x": 0.3, "y": 2.0}),
    ("x ⋅ y", "x * y", {"x": 0.3, "y": 2.0}),
    ("x ÷ y", "x / y", {"x": 0.3, "y": 2.0}),
    ("−x − −y", "-x - -y", {"x": 0.3, "y": 2.0}),
    ("sum(Wᵀ @ v)", "sum(T(W) @ v)", {"W": [[1.0, 2.0, 0.5], [3.0, -4.0, 1.5]], "v": [0.5, -1]}),
    ("v @ Wᵀᵀ @ u", "v @ T(T(W)) @ u", {"W": [[1.0, 2.0], [3.0, -4.0]], "v": [0.5, -1],
                                        "u": [2.0, 0.5]}),
    ("sum(|v|²)", "sum(abs(v)^2)", {"v": [0.5, -1.0, 2.0]}),
]


@pytest.mark.parametrize(("pasted", "ascii_", "point"), SAME, ids=[p for p, _, _ in SAME])
def test_pasted_notation_is_the_ascii_expression(pasted: str, ascii_: str, point: dict) -> None:
    """The same graph node for node (ops, inputs, names, constant bits) as the ASCII text; the
    same value and gradients, which agree with central differences."""
    g, h = cgcli.parse(pasted), cgcli.parse(ascii_)
    assert structure(g) == structure(h)
    a, b = cgcli.gradients(g, point), cgcli.gradients(h, point)
    assert float(a.value) == float(b.value)
    for name in point:
        np.testing.assert_array_equal(a.gradients[name], b.gradients[name])
    assert judged_ok(check(g, point))


@pytest.mark.parametrize(("text", "value"), [
    ("2²", 4.0), ("2³", 8.0), ("2⁻¹", 0.5), ("10⁻³", 1e-3), ("2¹⁰", 1024.0), ("3²²", 3.0**22),
    ("√16", 4.0), ("2√9", 6.0), ("|−2.5|", 2.5), ("|3 − 5|·2", 4.0), ("8 ÷ 2 × 3", 12.0),
    ("−2²", -4.0), ("(−2)²", 4.0), ("2^−1", 0.5), ("[1, −2]·2 @ [1, 1]", -2.0),
])
def test_values(text: str, value: float) -> None:
    assert float(cgcli.evaluate(text).value) == pytest.approx(value, rel=1e-15)


def test_canonical_text_is_ascii_and_round_trips() -> None:
    text = "f = |x − 3|·√(y² + 1) ÷ 2√x + Wᵀ @ v⁻¹ ; g = f × 2"
    g = cgcli.parse(text)
    canonical = to_text(g)
    assert canonical == ("f = abs(x - 3) * sqrt(y^2 + 1) / 2 * sqrt(x) + T(W) @ v^-1; "
                         "g = f * 2")
    assert structure(cgcli.parse(canonical)) == structure(g)


@pytest.mark.parametrize(("text", "column", "words"), [
    ("x ∗ 2", 3, "unexpected character '∗' (write * (or ·))"),
    ("x – 1", 3, "unexpected character '–' (a dash: write - for minus)"),
    ("sin(π/4)", 5, "unexpected character 'π' (write pi)"),
    ("xⁿ", 2, "unexpected character 'ⁿ' (only superscript digits (and ⁻) are powers"),
    ("x⁺", 2, "unexpected character '⁺' (only superscript digits"),
    ("x₁ + 1", 2, "unexpected character '₁' (subscripts are not part of names: write x1"),
    ("x ≤ 1", 3, "unexpected character '≤'"),
    ("∛x", 1, "unexpected character '∛'"),
    ("x⁻", 2, "unexpected character '⁻'"),
    ("2 ⊙ x", 3, "unexpected character '⊙'"),
    ("|x", 3, "unexpected end of input: expected an operator or '|'"),
    ("(|x - 1)", 8, "unexpected ')': expected an operator or '|'"),
    ("|x|y|", 4, "write * between factors"),
    ("√", 2, "expected an expression after '√', found end of input"),
    ("x ·", 4, "expected an expression after '·'"),
    ("x −", 4, "expected an expression after '−'"),
])
def test_other_characters_are_errors_with_a_caret(text: str, column: int, words: str) -> None:
    with pytest.raises(ParseError) as info:
        cgcli.parse(text)
    assert words in info.value.message
    assert info.value.line_column == (1, column)
    picture = info.value.render().splitlines()
    assert picture[2].index("^") - 2 == column - 1


@pytest.mark.parametrize(("text", "message"), [
    ("sin x", "'sin' is a function: write sin(x)"),
    ("sin 2", "'sin' is a function: write sin(2)"),
    ("2 * exp x + 1", "'exp' is a function: write exp(x)"),
    ("cos √x", "'cos' is a function: write cos(√x)"),
    ("abs |x|", "'abs' is a function: write abs(|x|)"),
    ("sin²x", "'sin' is a function: write sin(x)² for sin²(x)"),
    ("cos² (x + 1)", "'cos' is a function: write cos(x + 1)² for cos²(x + 1)"),
    ("exp + 1", "'exp' is a function: call it as exp(x)"),
    ("q = tanh", "'tanh' is a function: call it as tanh(x)"),
])
def test_a_function_without_parentheses_gets_a_hint_that_fits(text: str, message: str
                                                               ) -> None:
    with pytest.raises(CgcliError) as info:
        cgcli.parse(text)
    assert info.value.message == message
    name = message.split("'")[1]
    assert info.value.pos == text.index(name)  # the caret under the function's name
    assert isinstance(info.value, (ParseError, NameError_))


def test_the_old_hint_stays_where_it_fits() -> None:
    for text in ("2x", "x y", "2 (x + 1)", "|x| |y|"):
        with pytest.raises(ParseError, match=r"write \* between factors"):
            cgcli.parse(text)


def test_pasted_notation_in_explain_ascii_and_latex(cli) -> None:
    code, out, _ = cli("explain", "x² + 3·x", "--at", "x=2", "--ascii")
    assert code == 0 and out.isascii()  # the title and labels in canonical ASCII text
    assert out.splitlines()[1] == "x^2 + 3 * x"
    assert "df/d(x^2) * d(x^2)/dx = 1 * (2*x^(2-1)) = 1 * (2*2^(2-1)) = 4" in out
    code, out, _ = cli("explain", "x² + 3·x", "--at", "x=2", "--format", "latex")
    assert code == 0 and "²" not in out.split("\n", 1)[1] and "·" not in out.split("\n", 1)[1]
