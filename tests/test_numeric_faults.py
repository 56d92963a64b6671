"""nan and inf follow IEEE; one note names where they first appeared; --strict fails (exit 3)."""

from __future__ import annotations

import json
import warnings

import pytest
from conftest import Run

import cgcli


@pytest.mark.parametrize(("expr", "at", "where", "value"), [
    ("log(x) + 1", "x=0", "log(x)", "-inf"),
    ("sqrt(x) * 2", "x=-1", "sqrt(x)", "nan"),
    ("1/x + 3", "x=0", "1/x", "inf"),
    ("exp(x) - exp(x)", "x=1000", "exp(x)", "inf"),
])
def test_first_non_finite_value_is_named_once(cli: Run, expr: str, at: str,
                                              where: str, value: str) -> None:
    code, out, err = cli("eval", expr, "--at", at, "--json")
    assert code == 0
    json.loads(out, parse_constant=lambda c: pytest.fail(f"bare {c} in JSON"))
    assert err.count("\n") == 1 and err.startswith(f"note: {where} = {value}: the first value")
    assert "RuntimeWarning" not in err


def test_non_finite_gradient_blames_the_local_derivative(cli: Run) -> None:
    code, _, err = cli("grad", "sqrt(x) + x", "--at", "x=0")
    assert code == 0
    assert err.startswith(
        "note: ∂f/∂x = inf: the local derivative of sqrt(x) is not finite at x = 0")


def test_strict_turns_the_note_into_exit_3(cli: Run) -> None:
    code, out, err = cli("grad", "y = log(x); y * 2", "--at", "x=0", "--strict", "--json")
    assert code == 3
    assert json.loads(out)["error"]["type"] == "numeric"
    assert "column 5" in err and err.splitlines()[2] == "      ^"  # under log
    assert cli("grad", "log(x)", "--at", "x=2", "--strict")[0] == 0


def test_finite_results_say_nothing(cli: Run) -> None:
    code, _, err = cli("grad", "1/(1+exp(-x))", "--at", "x=1", "--json")
    assert code == 0 and err == ""


def test_numpy_warnings_never_escape() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ev = cgcli.gradients("log(x) + 1/y + sqrt(z) + exp(w)", x=0.0, y=0.0, z=-1.0, w=1e4)
    fault = ev.nonfinite()
    assert fault is not None and fault.node == 1 and not fault.gradient


def test_inf_given_as_input_is_named_as_given() -> None:
    fault = cgcli.evaluate("x + 1", x=float("inf")).nonfinite()
    assert fault is not None
    assert fault.message == "x = inf: the first value that is not finite (as given)"
