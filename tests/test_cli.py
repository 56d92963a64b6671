"""The command line, through the real entry point: formats, strict JSON, exit codes, errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Run

ANSI = "\x1b["


def strict_json(text: str) -> dict:
    def no_constants(name: str) -> None:
        raise AssertionError(f"non-standard JSON constant {name}")

    return json.loads(text, parse_constant=no_constants)


def run_process(*args: str, env: dict | None = None, **kw: object) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cgcli", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, check=False, timeout=60, **kw)


def test_grad_table_reads_like_the_lecture(cli: Run) -> None:
    code, out, err = cli("grad", "M = -x; Q = exp(M); P = Q + 1; L = 1/P",
                           "--at", "x=1", "--precision", "2")
    assert code == 0 and err == ""
    for name, val, grad in [("P", "1.4", "-0.53"), ("Q", "0.37", "-0.53"), ("M", "-1", "-0.20"),
                            ("x", "1", "0.20")]:
        row = next(ln for ln in out.splitlines() if ln.startswith("│") and f" {name} " in ln)
        cells = [c.strip() for c in row.strip("│ ").split("│")]
        assert cells[-2:] == [val, grad], row
    assert "∂L/∂x = 0.20" in out


def test_default_table_has_every_node_in_order(cli: Run) -> None:
    code, out, _ = cli("grad", "1/(1+exp(-x))", "--at", "x=1")
    assert code == 0
    ops = [line.split("│")[2].strip() for line in out.splitlines() if line.startswith("│")]
    assert ops == ["var", "neg", "exp", "const", "add", "const", "div"]
    assert "∂f/∂x = 0.1966" in out


def test_tree_format(cli: Run) -> None:
    code, out, _ = cli("grad", "(x+y)*z", "--at", "x=-2", "--at", "y=5", "--at", "z=-4",
                         "--format", "tree")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("(x+y)*z") and "-12" in lines[0]
    assert lines[1].startswith("├── x+y") and "3" in lines[1] and "∂ -4" in lines[1]
    assert lines[-1].startswith("└── z") and "∂ 3" in lines[-1]


def test_tree_shows_shared_nodes_once_and_folds_deep_levels(cli: Run) -> None:
    code, out, _ = cli("grad", "q = x*y; f = q + sin(q)", "--at", "x=1", "--at", "y=2",
                         "--format", "tree")
    assert code == 0 and out.count("(shown above)") == 1
    deep = "sin(" * 50 + "x" + ")" * 50
    code, out, _ = cli("grad", deep, "--at", "x=1", "--format", "tree",
                         "--max-depth", "5")
    assert code == 0
    assert len(out.splitlines()) == 7
    assert "45 more levels below (--max-depth 50 shows them)" in out


def test_json_document(cli: Run) -> None:
    code, out, _ = cli("grad", "sum((W@x)^2)", "--at", "W=[[0.1,0.5],[-0.3,0.8]]",
                         "--at", "x=[0.2,0.4]", "--json")
    assert code == 0
    doc = strict_json(out)
    assert set(doc) == {"expression", "inputs", "value", "gradients", "nodes"}
    assert doc["inputs"] == {"W": [[0.1, 0.5], [-0.3, 0.8]], "x": [0.2, 0.4]}
    assert doc["value"] == pytest.approx(0.116)
    assert doc["gradients"]["x"] == pytest.approx([-0.112, 0.636])
    for i, node in enumerate(doc["nodes"]):
        assert node["id"] == i and all(j < i for j in node["inputs"])
        assert set(node) == {"id", "op", "inputs", "label", "value", "grad"}
    assert doc["nodes"][-1]["grad"] == 1.0


def test_json_non_finite_numbers_are_strings(cli: Run) -> None:
    code, out, _ = cli("grad", "log(x) + sqrt(y)", "--at", "x=0", "--at", "y=-1",
                         "--json")
    assert code == 0
    doc = strict_json(out)
    assert doc["value"] == "nan"
    assert doc["gradients"] == {"x": "inf", "y": "nan"}
    code, out, _ = cli("eval", "[log(0), -log(0), 1]", "--json")
    assert strict_json(out)["value"] == ["-inf", "inf", 1.0]


def test_eval_prints_values_without_gradients(cli: Run) -> None:
    code, out, _ = cli("eval", "W @ x", "--at", "W=[[1,2],[3,4]]", "--at", "x=[1,1]",
                         "--json")
    doc = strict_json(out)
    assert code == 0 and doc["value"] == [3.0, 7.0]
    assert "gradients" not in doc and all("grad" not in n for n in doc["nodes"])


def test_wrt_limits_the_gradients(cli: Run) -> None:
    code, out, _ = cli("grad", "q = x + y; f = q * z", "--at", "x=-2", "--at", "y=5",
                         "--at", "z=-4", "--wrt", "x", "--wrt", "q", "--json")
    assert code == 0 and strict_json(out)["gradients"] == {"x": -4.0, "q": -4.0}
    code, out, err = cli("grad", "x*y", "--at", "x=1", "--at", "y=2", "--wrt", "w")
    assert code == 2 and "no variable or binding 'w'" in err


@pytest.mark.parametrize("args", [
    ("grad", "-x^2", "--at", "x=3"),
    ("grad", "--at", "x=3", "-x^2"),
    ("grad", "--", "-x^2", "--at", "x=3"),
    ("grad", "--at", "x=3", "--", "-x^2"),
])
def test_expression_may_begin_with_minus(cli: Run, args: tuple) -> None:
    code, out, err = cli(*args, "--json")
    assert code == 0, err
    doc = strict_json(out)
    assert doc["value"] == -9.0 and doc["gradients"] == {"x": -6.0}


@pytest.mark.parametrize("value", ["1", "-2", "pi/4", "1e-3", "[0.2,0.4]",
                                   "[[0.1,0.5],[-0.3,0.8]]", " 2 * 3 "])
def test_at_values_are_constant_expressions(cli: Run, value: str) -> None:
    code, _, err = cli("eval", "x", "--at", f"x={value}", "--json")
    assert code == 0, err


def test_unused_at_is_a_note(cli: Run) -> None:
    code, out, err = cli("grad", "x^2", "--at", "x=1", "--at", "y=2", "--json")
    assert code == 0 and strict_json(out)["gradients"] == {"x": 2.0}
    assert err == "note: --at y: 'y' is not used; its value is ignored\n"


@pytest.mark.parametrize(("args", "words"), [
    (("grad", "x +", "--at", "x=1"), "expected an expression after '+'"),
    (("grad", "x + y", "--at", "x=1"), "no value for variable 'y'"),
    (("grad", "x", "--at", "x"), "expected NAME=VALUE"),
    (("grad", "x", "--at", "x=[1,"), "value of x"),
    (("grad", "x", "--at", "x=y"), "constant expression"),
    (("grad", "x", "--at", "x=1", "--at", "x=2"), "given twice"),
    (("grad", "x", "--at", "x=1", "--at", "pi=3"), "built-in constant"),
    (("grad", "x*2", "--at", "x=[1,2]"), "sum(...)"),
    (("grad", "[1,2]+[1,2,3]"), "cannot combine shapes"),
    (("grad", "foo(x)", "--at", "x=1"), "unknown function 'foo'"),
    (("grad", "exp(1, 2)"), "at most 1 argument"),
    (("grad", "x", "--format", "yaml", "--at", "x=1"), "yaml"),
    (("grad",), "Missing argument"),
    (("nonsense",), "No such command"),
])
def test_input_errors_exit_2_with_one_message(cli: Run, args: tuple,
                                              words: str) -> None:
    code, out, err = cli(*args)
    assert code == 2
    assert words in err
    assert "Traceback" not in err and out == ""


def test_parse_error_shows_a_caret(cli: Run) -> None:
    code, _, err = cli("grad", "1 + (2 * x", "--at", "x=1")
    assert code == 2
    lines = err.splitlines()
    assert lines[0].startswith("error: ") and "column 11" in lines[0]
    assert lines[1] == "  1 + (2 * x"
    assert lines[2] == "  " + " " * 10 + "^"


def test_json_errors_are_json_on_stdout(cli: Run) -> None:
    code, out, err = cli("grad", "x +", "--json")
    assert code == 2 and err.startswith("error:")
    doc = strict_json(out)
    assert doc == {"error": {"type": "parse", "line": 1, "column": 4,
                             "message": "expected an expression after '+', found end of input"}}


def test_functions_lists_the_registry(cli: Run) -> None:
    from cgcli.ops import FUNCTIONS

    code, out, _ = cli("functions")
    assert code == 0
    for name in FUNCTIONS:
        assert f"{name}" in out


def test_help_has_examples_and_exit_codes(cli: Run) -> None:
    code, out, _ = cli("grad", "--help")
    assert code == 0
    assert 'cgcli grad "1/(1+exp(-x))" --at x=1' in out and "Exit codes" in out


# --- real processes ------------------------------------------------------------------------

def test_piped_output_has_no_ansi_codes() -> None:
    for fmt in ("table", "tree", "json"):
        proc = run_process("grad", "1/(1+exp(-x))", "--at", "x=1", "--format", fmt,
                           env={"FORCE_COLOR": "", "TERM": "xterm-256color"})
        assert proc.returncode == 0, proc.stderr
        assert ANSI not in proc.stdout and ANSI not in proc.stderr


def test_console_script_runs_from_another_directory(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("cgcli")
    assert script.exists(), "the cgcli console script is installed next to the interpreter"
    proc = subprocess.run([str(script), "grad", "x*y", "--at", "x=2", "--at", "y=3", "--json"],
                          capture_output=True, text=True, cwd=tmp_path, check=False, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert strict_json(proc.stdout)["gradients"] == {"x": 3.0, "y": 2.0}


def test_jq_reads_the_json() -> None:
    import shutil

    jq = shutil.which("jq")
    assert jq, "jq is installed by .ci/run"
    proc = run_process("grad", "sum((W@x)^2)", "--at", "W=[[0.1,0.5],[-0.3,0.8]]",
                       "--at", "x=[0.2,0.4]", "--json")
    out = subprocess.run([jq, "-c", ".gradients.W"], input=proc.stdout, capture_output=True,
                         text=True, check=True).stdout
    rows = json.loads(out)
    assert rows[0] == pytest.approx([0.088, 0.176]) and rows[1] == pytest.approx([0.104, 0.208])


def test_internal_errors_are_one_line(cli: Run,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import cgcli.engine as engine

    def broken(*_: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(engine, "forward", broken)
    monkeypatch.delenv("CGCLI_DEBUG", raising=False)
    code, _, err = cli("grad", "x", "--at", "x=1")
    assert code == 70
    assert err == ("cgcli: internal error: RuntimeError: boom "
                   "(a bug in cgcli; CGCLI_DEBUG=1 shows the traceback)\n")
