"""Options that must mean the same everywhere: rejected when they cannot apply, values checked
before any work, help that says what the command does."""

from __future__ import annotations

import json

import pytest
from conftest import Run

# --- float options: nan and inf are no tolerance -------------------------------------------

@pytest.mark.parametrize("tol", ["nan", "inf", "NaN", "1e400"])
@pytest.mark.parametrize("as_json", [False, True])
def test_check_rejects_a_tolerance_that_is_not_finite(cli: Run, tol: str, as_json: bool) -> None:
    code, out, err = cli("check", "x^2", "--at", "x=1", f"--tol={tol}",
                         *(["--json"] if as_json else []))
    assert code == 2, err
    assert out == "" and "--tol" in err and "finite" in err
    assert err.count("Error") == 1 and "internal error" not in err


@pytest.mark.parametrize("command", [("grad", "x^2", "--at", "x=1", "--expect", "x=2"),
                                     ("practice", "x^2", "--at", "x=1")])
@pytest.mark.parametrize("tol", ["nan", "inf", "nan%", "inf%"])
def test_answer_tolerances_that_are_not_finite_are_rejected(cli: Run, command: tuple,
                                                            tol: str) -> None:
    code, _, err = cli(*command, "--tol", tol)
    assert code == 2 and "--tol" in err and "expected a number >= 0" in err


def test_check_still_takes_a_finite_tolerance(cli: Run) -> None:
    code, out, _ = cli("check", "x^2", "--at", "x=1", "--tol", "1e-3", "--json")
    assert code == 0 and json.loads(out)["tolerance"] == 1e-3


@pytest.mark.parametrize("answer", ["1e400", "[1e400]", "-1e999999"])
def test_an_answer_beyond_float_range_is_judged_not_a_crash(cli: Run, answer: str) -> None:
    code, out, err = cli("grad", "x^2", "--at", "x=1", "--expect", f"x={answer}", "--raw")
    assert (code, out) == (1, "wrong\n"), err
