"""``grad --expect``: answers judged at the precision they are written; exit codes 0, 1, 2."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cgcli.exercises import Tolerance, judge, parse_tolerance, read_answer, written_half_unit

if TYPE_CHECKING:
    from conftest import Run

SIGMOID = "1/(1+exp(-x))"  # at x = 1: value 0.7311, gradient 0.19661...
STEPS = "M = -x; Q = exp(M); P = Q + 1; L = 1/P"
VECTOR = "P = W@x; f = sum(P^2)"
W, X = "W=[[0.1,0.5],[-0.3,0.8]]", "x=[0.2,0.4]"


# --- the notes' numbers -----------------------------------------------------------------------

@pytest.mark.parametrize(("answer", "code"), [
    ("0.20", 0), ("0.2", 0), ("0.197", 0), ("0.1966", 0), (".2", 0), ("+0.20", 0),
    ("0.3", 1), ("0.196", 1), ("0.19", 1), ("0.21", 1), ("0", 0), ("1", 1), ("-0.20", 1),
])
def test_sigmoid_gradient_is_judged_at_written_precision(cli: Run, answer: str,
                                                         code: int) -> None:
    got, out, err = cli("grad", SIGMOID, "--at", "x=1", "--expect", f"x={answer}")
    assert got == code, out + err
    assert err == ""
    assert ("all 1 right" in out) == (code == 0)


def test_lecture_chain_answers(cli: Run) -> None:
    code, out, _ = cli("grad", STEPS, "--at", "x=1", "--expect", "P=-0.53", "--expect",
                       "Q=-0.53", "--expect", "M=-0.20", "--expect", "x=0.20",
                       "--expect-value", "Q=0.37", "--expect-value", "L=0.73")
    assert code == 0 and "all 6 right" in out
    code, out, _ = cli("grad", STEPS, "--at", "x=1", "--expect", "P=0.53", "--expect",
                       "P=(-0.53)", "--expect", "P=-0.54")
    assert code == 1 and "1 of 3 right" in out


# --- the precision rule -----------------------------------------------------------------------

@pytest.mark.parametrize(("text", "half"), [
    ("0.20", 0.005), ("0.2", 0.05), ("0.197", 0.0005), ("3", 0.5), ("-4", 0.5), ("3.0", 0.05),
    ("-0.53", 0.005), ("(-0.53)", 0.005), ("((2.5))", 0.05), (" - 0.5 ", 0.05), (".5", 0.05),
    ("1.", 0.5), ("1e-3", 5e-4), ("1.0e-3", 5e-5), ("2.50e2", 0.5), ("1E+2", 50),
    ("pi/4", None), ("1/3", None), ("e", None), ("-(-1)", None), ("[1, 2]", None),
])
def test_written_half_unit(text: str, half: float | None) -> None:
    got = written_half_unit(text)
    assert got == (None if half is None else pytest.approx(half, rel=1e-12))


@pytest.mark.parametrize(("expr", "at", "answer", "right"), [
    ("sin(x)", "x=pi/4", "sqrt(2)/2", True),  # an expression is taken as exact
    ("sin(x)", "x=pi/4", "1/sqrt(2)", True),
    ("sin(x)", "x=pi/4", "0.7071", True),
    ("sin(x)", "x=pi/4", "0.70711", True),
    ("sin(x)", "x=pi/4", "0.7072", False),
    ("sin(x)", "x=pi/4", "sqrt(2)/2 + 1e-6", False),
    ("sin(x)", "x=pi/4", "pi/4", False),
    ("x*1e-3", "x=1", "1e-3", True),  # 1e-3 is written to one significant digit
    ("x*0.0012", "x=1", "1e-3", True),
    ("x*0.0012", "x=1", "1.0e-3", False),
    ("x*0.0012", "x=1", "12e-4", True),
    ("x/4", "x=1", "0.2", True),  # 0.25 at one decimal: a tie, and either rounding is right
    ("x/4", "x=1", "0.3", True),
    ("x/4", "x=1", "0.24", False),
    ("x^2", "x=-3", "-6", True),
    ("x^2", "x=-3", "-6.0", True),
    ("x^2", "x=-3", "-6.1", False),
    ("x*-2.5", "x=1", "-2", True),  # a tie again, below zero
    ("x*-2.5", "x=1", "-3", True),
    ("x*-2.5", "x=1", "-2.4", False),
    ("1e6*x", "x=1", "1e6", True),
    ("sqrt(x)", "x=0", "1/0", True),  # inf is right only for inf
    ("sqrt(x)", "x=0", "1e308", False),
])
def test_precision_of_expressions_exponents_and_negatives(cli: Run, expr: str, at: str,
                                                         answer: str, right: bool) -> None:
    code, out, err = cli("grad", expr, "--at", at, "--expect", f"x={answer}", "--raw")
    assert (code, out) == ((0, "ok\n") if right else (1, "wrong\n")), err


def test_arrays_are_judged_element_by_element(cli: Run) -> None:
    # dP = [0.44, 0.52]; dW = [[0.088, 0.176], [0.104, 0.208]]
    code, out, _ = cli("grad", VECTOR, "--at", W, "--at", X, "--expect", "P=[0.44, 0.5]",
                       "--expect", "W=[[0.088, 0.18], [0.1, 0.2]]", "--expect-value",
                       "P=[0.22, 0.26]", "--json")
    assert code == 0
    doc = json.loads(out)
    assert [c["right"] for c in doc["checks"]] == [True, True, True]
    assert doc["checks"][1]["tolerance"] == [pytest.approx(0.005), pytest.approx(0.05)]
    code, out, _ = cli("grad", VECTOR, "--at", W, "--at", X, "--expect",
                       "W=[[0.088, 0.17], [0.104, 0.22]]", "--json")
    assert code == 1
    check = json.loads(out)["checks"][0]
    assert check["wrong_elements"] == [[0, 1], [1, 1]] and check["reason"] is None
    code, out, _ = cli("grad", VECTOR, "--at", W, "--at", X, "--expect",
                       "W=[[0.088, 0.17], [0.104, 0.22]]")
    assert code == 1 and "W: 2 of 4 elements wrong: [0, 1], [1, 1]" in out


def test_each_element_keeps_its_own_precision() -> None:
    answer = read_answer("[0.2, 0.197, pi/4, (-3)]", "x")
    np.testing.assert_allclose(answer.half_units, [0.05, 0.0005, 0, 0.5])
    answer = read_answer("[[1, 2.5], [1e-2, sum([1, 2])]]", "x")
    np.testing.assert_allclose(answer.half_units, [[0.5, 0.05], [0.005, 0]])


def test_a_wrong_shape_is_a_wrong_answer(cli: Run) -> None:
    code, out, _ = cli("grad", VECTOR, "--at", W, "--at", X, "--expect", "x=0.1",
                       "--expect", "W=[0.1, 0.2]")
    assert code == 1
    assert "x: the answer is a scalar, but the correct value is a vector of 2" in out
    assert "W: the answer is a vector of 2, but the correct value is a 2×2 matrix" in out


@given(st.floats(-1000, 1000, allow_nan=False), st.integers(0, 6))
def test_the_correctly_rounded_number_is_right_and_its_neighbours_wrong(c: float,
                                                                        d: int) -> None:
    rounded = f"{c:.{d}f}"
    assert judge(read_answer(rounded, "x"), c).right
    unit = 10.0 ** -d
    off = abs(c - float(rounded))
    for neighbour in (float(rounded) + unit, float(rounded) - unit):
        if off < 0.49 * unit:  # clear of a tie
            assert not judge(read_answer(f"{neighbour:.{d}f}", "x"), c).right


# --- --tol ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("tol", "answer", "right"), [
    ("0.01", "0.19", True), ("0.01", "0.18", False), ("0.2", "0.3", True),
    ("5%", "0.19", True), ("1%", "0.19", False), ("1%", "0.1966", True),
    ("0", "0.1966", False), ("0", "1/(1+e^-1)*(1-1/(1+e^-1))", True),
])
def test_tol_replaces_the_written_precision(cli: Run, tol: str, answer: str,
                                            right: bool) -> None:
    code, out, _ = cli("grad", SIGMOID, "--at", "x=1", "--tol", tol, "--expect",
                       f"x={answer}", "--raw")
    assert (code, out) == ((0, "ok\n") if right else (1, "wrong\n"))


def test_tolerance_parsing() -> None:
    assert parse_tolerance("0.01") == Tolerance(0.01, False)
    assert parse_tolerance(" 2.5% ") == Tolerance(0.025, True)
    np.testing.assert_allclose(Tolerance(0.1, True).allowed(np.array([-2.0, 3.0])), [0.2, 0.3])


# --- output forms and exit codes ---------------------------------------------------------------

def test_table_has_one_row_per_expectation(cli: Run) -> None:
    code, out, _ = cli("grad", STEPS, "--at", "x=1", "--expect-value", "L=0.73",
                       "--expect", "x=0.20", "--expect", "x=0.3")
    assert code == 1
    rows = [[c.strip() for c in ln.strip("│").split("│")] for ln in out.splitlines()
            if ln.startswith("│")]
    assert rows == [["L", "value", "0.73", "0.7311", "right"],
                    ["x", "∂L/∂x", "0.20", "0.1966", "right"],
                    ["x", "∂L/∂x", "0.3", "0.1966", "wrong"]]
    assert out.rstrip().endswith("2 of 3 right")


def test_correct_value_shows_one_digit_more_than_the_answer(cli: Run) -> None:
    code, out, _ = cli("grad", SIGMOID, "--at", "x=1", "--expect", "x=0.19662")
    assert code == 1 and "│ 0.196612 │" in out


def test_json_document(cli: Run) -> None:
    code, out, err = cli("grad", STEPS, "--at", "x=1", "--expect", "x=0.20", "--expect",
                         "P=-0.6", "--expect-value", "Q=0.37", "--json")
    assert code == 1 and err == ""
    doc = json.loads(out)
    assert set(doc) == {"expression", "inputs", "checks", "right", "total", "passed"}
    assert (doc["right"], doc["total"], doc["passed"]) == (2, 3, False)
    first = doc["checks"][0]
    assert first == {"name": "Q", "kind": "value", "answer": "0.37", "answer_value": 0.37,
                     "correct": pytest.approx(0.36787944117144233), "tolerance":
                     pytest.approx(0.005), "right": True, "wrong_elements": [],
                     "reason": None}
    assert [c["name"] for c in doc["checks"]] == ["Q", "x", "P"]


def test_raw_is_one_word_per_line_values_first(cli: Run) -> None:
    code, out, err = cli("grad", STEPS, "--at", "x=1", "--expect", "x=0.3", "--expect",
                         "x=0.2", "--expect-value", "L=0.73")
    assert code == 1
    code, out, err = cli("grad", STEPS, "--at", "x=1", "--expect", "x=0.3", "--expect",
                         "x=0.2", "--expect-value", "L=0.73", "--raw")
    assert (code, out, err) == (1, "ok\nwrong\nok\n", "")
    code, out, _ = cli("grad", STEPS, "--at", "x=1", "--expect", "x=0.2", "--raw")
    assert (code, out) == (0, "ok\n")


def test_names_are_variables_bindings_or_the_output(cli: Run) -> None:
    code, out, _ = cli("grad", SIGMOID, "--at", "x=1", "--expect-value", "f=0.73",
                       "--expect", "f=1", "--raw")
    assert (code, out) == (0, "ok\nok\n")
    code, out, _ = cli("grad", "q = x + y; f = q * z", "--at", "x=-2", "--at", "y=5",
                       "--at", "z=-4", "--expect", "q=-4", "--expect", "z=3", "--expect",
                       "x=-4", "--expect-value", "q=3", "--raw")
    assert (code, out) == (0, "ok\nok\nok\nok\n")


@pytest.mark.parametrize(("args", "message"), [
    (("--expect", "y=0.2"), "no variable or binding 'y' (it has: x)"),
    (("--expect-value", "g=0.2"), "--expect-value g"),
    (("--expect", "x"), "expected NAME=VALUE"),
    (("--expect", "2x=1"), "expected NAME=VALUE"),
    (("--expect", "x=0.2+"), "expected an expression after '+'"),
    (("--expect", "x="), "is empty"),
    (("--expect", "x=y"), "a value must be a constant expression"),
    (("--tol", "0.1"), "--tol applies to answers"),
    (("--expect", "x=0.2", "--tol", "-1"), "--tol '-1'"),
    (("--expect", "x=0.2", "--tol", "abc"), "--tol 'abc'"),
    (("--expect", "x=0.2", "--tol", "nan"), "--tol 'nan'"),
    (("--expect", "x=0.2", "--raw", "--json"), "choose one"),
])
def test_invalid_input_exits_2(cli: Run, args: tuple, message: str) -> None:
    code, out, err = cli("grad", SIGMOID, "--at", "x=1", *args)
    assert code == 2 and message in err and "Traceback" not in err
    assert out == "" or "error" in json.loads(out)


def test_a_constant_has_no_gradient_to_check(cli: Run) -> None:
    code, _, err = cli("grad", "c = 2; f = c*x", "--at", "x=3", "--expect", "c=3")
    assert code == 2 and "'c' is a constant" in err


def test_json_errors_are_json(cli: Run) -> None:
    code, out, _ = cli("grad", SIGMOID, "--at", "x=1", "--expect", "y=1", "--json")
    assert code == 2 and json.loads(out)["error"]["type"] == "name"
    code, out, _ = cli("grad", SIGMOID, "--at", "x=1", "--expect", "x=[1,", "--json")
    assert code == 2 and json.loads(out)["error"]["type"] == "parse"


def test_expression_errors_are_still_exit_2(cli: Run) -> None:
    code, _, err = cli("grad", "1/(1+exp(-x)", "--at", "x=1", "--expect", "x=0.2")
    assert code == 2 and "^" in err
    code, _, err = cli("grad", "W@x", "--at", W, "--at", X, "--expect", "x=0")
    assert code == 2 and "scalar output" in err


def test_help_documents_expect_and_exit_1(cli: Run) -> None:
    code, out, _ = cli("grad", "--help")
    assert code == 0
    flat = " ".join(out.split())
    for words in ("--expect", "--expect-value", "--tol", "--raw", "written",
                  "1 an --expect answer is wrong"):
        assert words in flat, words
