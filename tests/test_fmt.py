"""``cgcli fmt``: the canonical text of an expression, from the printer."""

from __future__ import annotations

import pytest

import cgcli
from cgcli.printer import to_text


@pytest.mark.parametrize(("expr", "out"), [
    ("f = (x*(y)) + -(2)", "f = x * y + -2"),
    ("1/(1+exp(-x))", "1 / (1 + exp(-x))"),
    ("q = x+y\n\n# the output\nf = q*z  # done\n", "q = x + y; f = q * z"),
    ("ln(x) ** 2 + transpose(W)", "log(x)^2 + T(W)"),
    ("x² + 3·x − 1", "x^2 + 3 * x - 1"),
    ("c = x; c += 1; c *= c", "c = x; c = c + 1; c = c * c"),
    ("[1, 2.50, -3e0] @ v", "[1, 2.5, -3] @ v"),
])
def test_fmt_prints_the_canonical_text(cli, expr: str, out: str) -> None:
    code, stdout, err = cli("fmt", expr)
    assert (code, stdout, err) == (0, out + "\n", "")
    assert cgcli.parse(out).nodes and to_text(cgcli.parse(expr)) == out


def test_fmt_lines_writes_one_statement_a_line(cli, tmp_path) -> None:
    path = tmp_path / "model.cg"
    path.write_text("c = a + b; d = a * b + b**3\nc += c + 1; e = c - d\ne**2", encoding="utf-8")
    code, out, err = cli("fmt", f"@{path}", "--lines")
    assert code == 0
    assert out == "c = a + b\nd = a * b + b^3\nc = c + (c + 1)\ne = c - d\ne^2\n"
    assert err.startswith("note: e = ... (line 2) takes the name of the constant e")
    code, again, _ = cli("fmt", out, "--lines")  # a fixed point, and the same graph
    assert again == out
    assert cgcli.parse(out).bindings == cgcli.parse(path.read_text(encoding="utf-8")).bindings


def test_fmt_reads_an_expression_beginning_with_minus(cli) -> None:
    assert cli("fmt", "-x^2") == (0, "-x^2\n", "")


@pytest.mark.parametrize(("expr", "words"), [
    ("1 + (2 * x", "unexpected end of input: expected an operator or ')'"),
    ("sin x", "'sin' is a function: write sin(x)"),
    ("c = 1; c#1", "an earlier version of c"),
])
def test_fmt_reports_errors_with_exit_2(cli, expr: str, words: str) -> None:
    code, out, err = cli("fmt", expr)
    assert code == 2 and out == "" and words in err and "^" in err


def test_fmt_and_functions_are_in_the_help(cli) -> None:
    code, out, _ = cli("--help")
    assert code == 0 and "fmt" in out and "functions" in out
    code, out, _ = cli("functions")
    assert "abs(x)" in out and "also written |x|" in out and "also written √x" in out
