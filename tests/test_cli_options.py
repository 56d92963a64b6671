"""Options that must mean the same everywhere: rejected when they cannot apply, values checked
before any work, help that says what the command does."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import Run

from cgcli.xp import CONVENTION


@pytest.fixture(autouse=True)
def _convention_kept() -> object:
    """A command's --convention sets the run's convention: no test leaves it to the next."""
    kept = CONVENTION.get()
    yield
    CONVENTION.set(kept)

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


# --- --at-file: names as --at checks them, values that say what is wrong ---------------------

def at_file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "v.json"
    path.write_text(text)
    return str(path)


def test_at_file_nested_too_deep_is_invalid_input(cli: Run, tmp_path: Path) -> None:
    deep = at_file(tmp_path, '{"x": ' + "[" * 5000 + "]" * 5000 + "}")
    code, out, err = cli("eval", "x", "--at-file", deep)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "nested too deeply" in err
    code, _, err = cli("eval", "x", "--at-file", at_file(tmp_path, '{"x": ' + "[" * 70 + "1"
                                                         + "]" * 70 + "}"))
    assert code == 2 and "more than 64 dimensions" in err


@pytest.mark.parametrize(("text", "said"), [
    ('{"pi": 3, "x": 1}', "'pi' is a built-in constant"),
    ('{"e": 3, "x": 1}', "'e' is a built-in constant"),
    ('{"x": 1, "1x": 2}', "'1x' is not a variable name"),
    ('{"x": 1, "x y": 2}', "'x y' is not a variable name"),
    ('{"x": 1, "": 2}', "'' is not a variable name"),
    ('{"x": 1, "x": 2}', "'x' is given twice"),
])
def test_at_file_names_are_checked_as_at_checks_them(cli: Run, tmp_path: Path, text: str,
                                                     said: str) -> None:
    code, out, err = cli("eval", "x", "--at-file", at_file(tmp_path, text), "--raw")
    assert (code, out) == (2, ""), err
    assert said in err and err.startswith("error: --at-file ")


def test_at_pi_and_at_file_pi_are_the_same_error(cli: Run, tmp_path: Path) -> None:
    _, _, by_option = cli("eval", "x", "--at", "x=1", "--at", "pi=3")
    _, _, by_file = cli("eval", "x", "--at", "x=1", "--at-file", at_file(tmp_path, '{"pi": 3}'))
    assert "'pi' is a built-in constant" in by_option
    assert by_option.split("'pi'")[1] == by_file.split("'pi'")[1]


def test_at_file_empty_name_is_an_error(cli: Run) -> None:
    code, out, err = cli("eval", "x", "--at", "x=1", "--at-file", "")
    assert (code, out) == (2, "") and "--at-file needs a file name" in err


@pytest.mark.parametrize(("value", "said"), [
    ("[[1, 2], [3]]", "x is ragged: x[1] has 1 entry but x[0] has 2 entries"),
    ("[[1, 2], 3]", "x is ragged: x[1] is a number but x[0] has 2 entries"),
    ("[1, [2]]", "x is ragged: x[1] has 1 entry but x[0] is a number"),
    ("[[[1], [2]], [[3], [4, 5]]]", "x[1][1] has 2 entries but x[0][0] has 1 entry"),
    ("[[1, 2], [3, \"a\"]]", "x[1][1] is a string, not a number"),
    ("[1, true]", "x[1] is true, not a number"),
    ("null", "x is null, not a number"),
    ('{"a": 1}', "x is an object, not a number"),
    ("[]", "x is an empty array"),
    ("[[], []]", "x[0] is an empty array"),
])
def test_at_file_bad_value_says_which_name_and_why(cli: Run, tmp_path: Path, value: str,
                                                   said: str) -> None:
    code, out, err = cli("eval", "sum(x)", "--at-file", at_file(tmp_path, f'{{"x": {value}}}'))
    assert (code, out) == (2, ""), err
    assert said in err and err.count("\n") == 1


def test_at_file_values_match_at(cli: Run, tmp_path: Path) -> None:
    path = at_file(tmp_path, '{"W": [[1.5, -2], [3, 4e-3]], "b": [1, 2], "a": "pi/4", "c": 7}')
    by_file = cli("grad", "sum(W@b) * a + c", "--at-file", path, "--json")
    by_option = cli("grad", "sum(W@b) * a + c", "--at", "W=[[1.5, -2], [3, 4e-3]]",
                    "--at", "b=[1, 2]", "--at", "a=pi/4", "--at", "c=7", "--json")
    assert by_file == by_option and by_file[0] == 0
    grads = json.loads(by_file[1])["gradients"]
    np.testing.assert_allclose(grads["W"], np.pi / 4 * np.array([[1, 2], [1, 2]]))


def test_unused_value_from_the_file_names_the_file(cli: Run, tmp_path: Path) -> None:
    path = at_file(tmp_path, '{"x": 1, "y": 2}')
    code, _, err = cli("eval", "x", "--at-file", path, "--at", "z=3", "--raw")
    assert code == 0
    assert f"note: --at-file {path}: 'y' is not used" in err
    assert "note: --at z: 'z' is not used" in err


# --- grad --expect, --batch, --raw: an option that would be ignored is an error ---------------

POINT = ("x^2", "--at", "x=1")


@pytest.mark.parametrize(("extra", "named"), [
    (("--batch", "p.csv"), "--batch"),
    (("--batch-format", "csv"), "--batch-format"),
    (("--skip-bad-rows",), "--skip-bad-rows"),
    (("--wrt", "x"), "--wrt"),
    (("--max-rows", "3"), "--max-rows"),
    (("--max-depth", "2"), "--max-depth"),
    (("--format", "tree"), "--format tree"),
    (("--format", "csv"), "--format csv"),
    (("--format", "jsonl"), "--format jsonl"),
    (("--raw", "--format", "tree"), "--format tree"),
    (("--raw", "--json"), "--raw and --json"),
    (("--raw", "--format", "json"), "--raw and --format json"),
])
@pytest.mark.parametrize("check", [("--expect", "x=2"), ("--expect-value", "f=1")])
def test_expect_rejects_what_it_would_ignore(cli: Run, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch, extra: tuple,
                                             named: str, check: tuple) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "p.csv").write_text("x\n1\n")
    code, _, err = cli("grad", *POINT, *check, *extra)
    assert code == 2, err
    assert named in err and err.count("\n") == 1
    assert "no value for variable" not in err


@pytest.mark.parametrize(("args", "said"), [
    (("grad", *POINT, "--raw", "--json"), "--raw and --json are two output formats"),
    (("grad", *POINT, "--raw", "--format", "tree"), "--raw and --format tree are two"),
    (("eval", *POINT, "--raw", "--json"), "--raw and --json are two output formats"),
    (("grad", *POINT, "--raw", "--max-rows", "2"), "--max-rows does not apply to --raw"),
    (("grad", *POINT, "--max-depth", "2"), "--max-depth applies to --format tree"),
    (("grad", *POINT, "--max-rows", "2", "--format", "tree"),
     "--max-rows applies to the table, not to --format tree"),
    (("eval", *POINT, "--max-rows", "2", "--json"), "--max-rows applies to the table, not to "
                                                    "--json"),
    (("grad", *POINT, "--skip-bad-rows"), "--skip-bad-rows applies to --batch FILE only"),
    (("eval", *POINT, "--batch-format", "csv"), "--batch-format applies to --batch FILE only"),
    (("grad", "x^2", "--batch", "p.csv", "--raw"), "--raw does not apply to --batch"),
    (("eval", "x^2", "--batch", "p.csv", "--max-rows", "1"), "--max-rows does not apply to "
                                                            "--batch"),
])
def test_grad_and_eval_reject_what_they_would_ignore(cli: Run, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     args: tuple, said: str) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "p.csv").write_text("x\n1\n")
    code, out, err = cli(*args)
    assert code == 2 and said in err, err
    if "--json" in args:  # the error as JSON too, as every --json error is
        assert json.loads(out)["error"]["message"] == err.removeprefix("error: ").strip()
    else:
        assert out == ""


@pytest.mark.parametrize("args", [
    ("grad", *POINT, "--expect", "x=2", "--json"),
    ("grad", *POINT, "--expect", "x=2", "--raw"),
    ("grad", *POINT, "--max-rows", "2"),
    ("grad", *POINT, "--max-depth", "1", "--format", "tree"),
    ("grad", *POINT, "--raw", "--wrt", "x"),
    ("eval", "x^2", "--batch", "p.csv", "--batch-format", "csv", "--skip-bad-rows",
     "--format", "csv"),
])
def test_options_that_apply_are_still_taken(cli: Run, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch,
                                            args: tuple) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "p.csv").write_text("x\n1\n")
    code, out, err = cli(*args)
    assert code == 0 and out and err == "", err


# --- help that says what the command does -----------------------------------------------------

def commands() -> dict:
    import typer.main

    from cgcli.cli.app import app, register_commands

    register_commands([])
    return typer.main.get_command(app).commands  # type: ignore[attr-defined]


def options(command: object) -> dict:
    return {name: p for p in command.params for name in p.opts}  # type: ignore[attr-defined]


def json_choice(command: object) -> bool:
    """Does the command print JSON: a --json flag or a --format with a JSON choice?"""
    opts = options(command)
    fmt = opts.get("--format")
    return "--json" in opts or (fmt is not None and "json" in getattr(fmt.type, "choices", ()))


@pytest.mark.parametrize("name", sorted(commands()))
def test_help_of_json_and_precision_is_true(name: str) -> None:
    command = commands()[name]
    opts = options(command)
    if "--json" in opts and "--format" in (opts["--json"].help or ""):
        assert "--format" in opts, f"{name} --json mentions --format, which {name} lacks"
    if "--precision" in opts and "JSON" in (opts["--precision"].help or ""):
        assert json_choice(command), f"{name} --precision mentions JSON, which {name} lacks"


@pytest.mark.parametrize("name", ["graph", "practice"])
def test_commands_without_json_do_not_mention_it(name: str) -> None:
    command = commands()[name]
    assert not json_choice(command)
    assert "JSON" not in options(command)["--precision"].help


def test_convention_help_says_where_the_note_goes() -> None:
    from cgcli.cli.options import ConventionOpt

    text = ConventionOpt.__metadata__[0].help
    assert "a note on stderr names a kink where the two differ" in text


@pytest.mark.parametrize("module", ["teach", "exercises", "calculus", "plot"])
def test_modules_loaded_on_demand_do_not_say_every_start(module: str) -> None:
    import importlib

    assert "at every start" not in importlib.import_module(f"cgcli.cli.{module}").__doc__


# --- the same options on every command that can use them ------------------------------------

ANSI = "\x1b["
VALUES = '{"x": 2, "W": [[1, 2], [3, 4]]}'
COMMANDS = {
    "explain": ("explain", "sum(W) * x^2"),
    "check": ("check", "sum(W) * x^2"),
    "jacobian": ("jacobian", "W * x^2"),
    "graph": ("graph", "sum(W) * x^2"),
}


@pytest.mark.parametrize("name", ["explain", "check", "jacobian"])
def test_color_option_on_teaching_commands(cli: Run, name: str) -> None:
    args = (*COMMANDS[name], "--at", "x=2", "--at", "W=[[1, 2], [3, 4]]")
    code, coloured, _ = cli(*args, "--color", "always")
    assert code == 0 and ANSI in coloured
    assert cli("--color", "always", *args)[1] == coloured  # the same as the global option
    code, plain, _ = cli("--color", "always", *args, "--color", "never")
    assert code == 0 and ANSI not in plain and plain.strip()


def test_color_option_on_practice(cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    for color, ansi in (("always", True), ("never", False)):
        monkeypatch.setattr("sys.stdin", io.StringIO("4\n"))
        code, out, _ = cli("practice", "x^2", "--at", "x=2", "--color", color)
        assert code == 0 and (ANSI in out) is ansi and "score 1/1" in out


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_at_file_on_teaching_commands(cli: Run, tmp_path: Path, name: str) -> None:
    path = at_file(tmp_path, VALUES)
    by_file = cli(*COMMANDS[name], "--at-file", path)
    by_option = cli(*COMMANDS[name], "--at", "x=2", "--at", "W=[[1, 2], [3, 4]]")
    assert by_file == by_option and by_file[0] == 0
    assert cli(*COMMANDS[name], "--at-file", path, "--at", "x=3") != by_file  # --at overrides


def test_at_file_on_practice(cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("4\n"))
    code, out, _ = cli("practice", "x^2", "--at-file", at_file(tmp_path, VALUES))
    assert code == 0 and "score 1/1" in out
    code, _, err = cli("practice", "--seed", "1", "--at-file", at_file(tmp_path, VALUES))
    assert code == 2 and "--at-file applies to your own expression" in err


@pytest.mark.parametrize(("file", "start"), [("g.dot", "digraph"), ("g.gv", "digraph"),
                                             ("g.mmd", "flowchart"), ("G.DOT", "digraph")])
def test_graph_output_format_from_suffix(cli: Run, tmp_path: Path, file: str,
                                         start: str) -> None:
    code, out, err = cli("graph", "x*y", "-o", str(tmp_path / file))
    assert (code, out, err) == (0, "", "")
    assert (tmp_path / file).read_text().startswith(start)


@pytest.mark.parametrize("file", ["g.txt", "g", "g.pdf", "g.dot.bak"])
def test_graph_unknown_suffix_is_an_error_unless_format_given(cli: Run, tmp_path: Path,
                                                              file: str) -> None:
    code, out, err = cli("graph", "x*y", "-o", str(tmp_path / file))
    assert (code, out) == (2, "") and "suffix picks its format" in err and "--format" in err
    assert not (tmp_path / file).exists()
    code, _, _ = cli("graph", "x*y", "-o", str(tmp_path / file), "--format", "mermaid")
    assert code == 0 and (tmp_path / file).read_text().startswith("flowchart")


def test_write_output(tmp_path: Path, capsys: pytest.CaptureFixture,
                      monkeypatch: pytest.MonkeyPatch) -> None:
    from cgcli.cli.common import write_output
    from cgcli.errors import ValueInputError

    write_output("π\n", str(tmp_path / "t.txt"))
    write_output(b"\x89PNG", str(tmp_path / "b.png"))
    assert (tmp_path / "t.txt").read_text(encoding="utf-8") == "π\n"
    assert (tmp_path / "b.png").read_bytes() == b"\x89PNG"
    with pytest.raises(ValueInputError, match="cannot write"):
        write_output("x", str(tmp_path / "missing" / "t.txt"))
    write_output("text\n", None)
    assert capsys.readouterr().out == "text\n"
    monkeypatch.setattr("sys.stdout.isatty", lambda: True)
    with pytest.raises(ValueInputError, match="binary"):
        write_output(b"\x89PNG", None)


def test_graph_takes_convention_and_notes_the_kink(cli: Run) -> None:
    code, torch, err = cli("graph", "abs(x)", "--at", "x=0")
    assert code == 0 and "note: abs at 0: gradient 0 (PyTorch's convention" in err
    code, jax, err = cli("graph", "abs(x)", "--at", "x=0", "--convention", "jax")
    assert code == 0 and "note: abs at 0: gradient 1 (JAX's convention" in err
    assert jax != torch and cli("--convention", "jax", "graph", "abs(x)", "--at", "x=0")[1] == jax
