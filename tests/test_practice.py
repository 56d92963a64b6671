"""``practice``: driven through piped standard input and through a real pseudo-terminal."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

import cgcli
from cgcli.exercises import generate
from cgcli.explanation import explain

if TYPE_CHECKING:
    from conftest import Run

STEPS = "M = -x; Q = exp(M); P = Q + 1; L = 1/P"
#: cgcli quiz --seed 7 (level 1): q = x + y; r = q + z; f = r * x at x=-1, y=1, z=4; the
#: gradients asked, in backward order, and their answers.
SEED7 = [("r", "-1"), ("z", "-1"), ("q", "-1"), ("y", "-1"), ("x", "3")]
PROMPT = re.compile(r"^∂\w+/∂(\S+) = ", re.MULTILINE)


@pytest.fixture
def piped(cli: Run, monkeypatch: pytest.MonkeyPatch) -> Run:
    """``piped(stdin_text, *args)``: run ``cgcli`` with ``stdin_text`` as standard input."""

    def run(stdin: str, *args: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        return cli(*args)

    return run


def lines(*answers: str) -> str:
    return "".join(a + "\n" for a in answers)


# --- piped standard input ---------------------------------------------------------------------

def test_the_lecture_numbers_are_all_right(piped: Run) -> None:
    code, out, err = piped(lines("-0.53", "-0.53", "-0.20", "0.20"), "practice", STEPS,
                           "--at", "x=1")
    assert code == 0 and err == ""
    assert PROMPT.findall(out) == ["P", "Q", "M", "x"]  # the lecture's order
    assert out.count("  right") == 4 and out.rstrip().endswith("score 4/4")
    assert "│ exp   │ Q = exp(M) │ 0.3679 │" in out  # the forward values are shown


def test_a_wrong_answer_gets_the_answer_and_the_chain_rule_step(piped: Run) -> None:
    code, out, _ = piped(lines("-0.53", "1", "-0.20", "0.3"), "practice", STEPS,
                         "--at", "x=1")
    assert code == 1
    steps = {s.label: s for s in explain(cgcli.gradients(STEPS, x=1), "unicode", 3).steps}
    after_q = out.split("∂L/∂Q = 1\n", 1)[1].splitlines()
    assert after_q[:3] == ["  wrong: ∂L/∂Q = -0.5344", "  " + steps["Q"].text(),
                           "  add gate: distributes the upstream gradient unchanged to every "
                           "input"]
    assert steps["Q"].text() == "∂L/∂Q = ∂L/∂P · ∂P/∂Q = (-0.534) · 1 = -0.534"
    assert "  wrong: ∂L/∂x = 0.1966" in out
    assert out.rstrip().endswith("score 2/4")


def test_branches_of_a_node_are_in_the_hint(piped: Run) -> None:
    code, out, _ = piped(lines(*[a for _, a in SEED7[:-1]], "4"), "practice", "--seed", "7")
    assert code == 1
    hint = out.split("∂f/∂x = 4\n", 1)[1].splitlines()
    assert hint[:4] == ["  wrong: ∂f/∂x = 3", "  ∂f/∂q · ∂q/∂x = (-1) · 1 = -1",
                        "  ∂f/∂f · ∂f/∂x = 1 · r = 1 · 4 = 4", "  ∂f/∂x = -1 + 4 = 3"]
    assert out.rstrip().endswith("score 4/5")


@pytest.mark.parametrize("level", [1, 2, 3, 4])
def test_questions_are_the_quiz_grad_questions_in_order(piped: Run, cli: Run,
                                                        level: int) -> None:
    for seed in range(4):
        code, out, _ = cli("quiz", "--seed", str(seed), "--level", str(level), "--format",
                           "json", "--answers")
        doc = json.loads(out)
        grads = [q for q in doc["questions"] if q["kind"] == "grad"]
        answers = [json.dumps(doc["answers"][q["id"]]) for q in grads]
        code, out, err = piped(lines(*answers), "practice", "--seed", str(seed), "--level",
                               str(level))
        assert PROMPT.findall(out) == [q["name"] for q in grads]
        assert code == 0, out + err
        assert out.rstrip().endswith(f"score {len(grads)}/{len(grads)}")


def test_vector_answers(piped: Run) -> None:
    ex = generate(1, 4)  # z = W @ x; u = z + b; h = tanh(u); f = sum(h)
    assert PROMPT.findall(piped(lines("[1, 1]"), "practice", "--seed", "1",
                                "--level", "4")[1]) == ["h", "u"]
    code, out, _ = piped(lines("[1, 1]", "[0.98, 0.66]", "[0.98, 0.6]", "1"), "practice",
                         "--seed", "1", "--level", "4")
    assert code == 1 and ex.expression.startswith("z = W @ x")
    assert out.count("  right") == 2
    assert "  wrong: ∂f/∂b = [0.9778, 0.6578]" in out
    assert "  the answer is a scalar, but the correct value is a vector of 2" in out


def test_end_of_input_stops_with_the_score_so_far(piped: Run) -> None:
    code, out, err = piped(lines("-1", "5"), "practice", "--seed", "7")
    assert code == 1 and "Traceback" not in err
    assert out.rstrip().endswith("score 1/5 (stopped: 3 of 5 not answered)")
    code, out, _ = piped("", "practice", "--seed", "7")
    assert code == 1 and out.rstrip().endswith("score 0/5 (stopped: 5 of 5 not answered)")


def test_a_malformed_line_is_a_wrong_answer_and_lines_stay_in_step(piped: Run) -> None:
    code, out, _ = piped(lines("-1", "oops", "", "-1", "3"), "practice", "--seed", "7")
    assert code == 1
    assert "a value must be a constant expression; 'oops' is not a known constant" in out
    assert "is empty" in out
    assert PROMPT.findall(out) == ["r", "z", "q", "y", "x"]
    assert out.rstrip().endswith("score 3/5")


def test_tol_applies(piped: Run) -> None:
    code, out, _ = piped(lines("-0.5", "-0.5", "-0.2", "0.2"), "practice", STEPS, "--at",
                         "x=1", "--tol", "0.001")
    assert code == 1 and out.rstrip().endswith("score 0/4")


@pytest.mark.parametrize(("args", "message"), [
    ((), "give --seed N"),
    ((STEPS, "--at", "x=1", "--seed", "1"), "not both"),
    (("--seed", "1", "--at", "x=1"), "--at applies"),
    ((STEPS, "--at", "x=1", "--level", "2"), "--level applies"),
    (("W@x", "--at", "W=[[1,2],[3,4]]", "--at", "x=[1,1]"), "scalar output"),
    (("x", "--at", "x=1"), "nothing to practise"),
    ((STEPS,), "no value for variable 'x'"),
    (("--seed", "1", "--level", "5"), "--level"),
    (("--seed", "1", "--tol", "x"), "--tol"),
    (("-", "--at", "x=1"), "reads the answers from standard input"),
])
def test_invalid_input_exits_2(piped: Run, args: tuple, message: str) -> None:
    code, _, err = piped("", "practice", *args)
    assert code == 2 and message in err and "Traceback" not in err


def test_readme_transcript_is_real_output(piped: Run) -> None:
    from test_quiz import readme_output

    shown = readme_output("cgcli practice --seed 15 --level 2").splitlines()
    code, out, _ = piped(lines("2.72", "-0.17", "-0.25", "0.68"), "practice", "--seed", "15",
                         "--level", "2")
    got = out.splitlines()
    assert code == 1
    assert got[:13] == shown[:13]  # the title and the table of forward values
    start = shown.index("∂L/∂Q = 2.72")  # on a terminal the typed answers are echoed too
    assert got[got.index("∂L/∂Q = 2.72"):] == shown[start:]


def test_a_real_pipe() -> None:
    proc = subprocess.run([sys.executable, "-m", "cgcli", "practice", "--seed", "7"],
                          input=lines("-1", "-1", "0", "-1", "3"), capture_output=True,
                          text=True, timeout=60, check=False)
    assert proc.returncode == 1 and proc.stderr == ""
    assert "\x1b[" not in proc.stdout and proc.stdout.rstrip().endswith("score 4/5")


# --- a real pseudo-terminal -------------------------------------------------------------------

pexpect = pytest.importorskip("pexpect")


def spawn() -> object:
    env = {**os.environ, "TERM": "dumb", "COLUMNS": "100"}
    env.pop("NO_COLOR", None)
    return pexpect.spawn(sys.executable, ["-m", "cgcli", "practice", "--seed", "7"], env=env,
                         encoding="utf-8", timeout=20)


def answer(child: object, name: str, text: str) -> None:
    child.expect_exact(f"∂f/∂{name} = ")
    child.sendline(text)


def finish(child: object) -> tuple[int, str]:
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus, child.before


def test_terminal_session_with_right_wrong_and_mistyped_answers() -> None:
    child = spawn()
    answer(child, "r", "-1")
    child.expect_exact("right")
    answer(child, "z", "")  # an empty line is asked again
    answer(child, "z", "oops")  # so is a typo, with the reason
    child.expect_exact("'oops' is not a known constant")
    answer(child, "z", "5")
    child.expect_exact("wrong: ∂f/∂z = -1")
    child.expect_exact("∂f/∂z = ∂f/∂r · ∂r/∂z = (-1) · 1 = -1")
    for name, text in SEED7[2:]:
        answer(child, name, text)
    code, rest = finish(child)
    assert code == 1 and "score 4/5" in rest and "Traceback" not in rest


def test_terminal_session_all_right_exits_0() -> None:
    child = spawn()
    for name, text in SEED7:
        answer(child, name, text)
    code, rest = finish(child)
    assert code == 0 and "score 5/5" in rest


@pytest.mark.parametrize("stop", ["c", "d"])
def test_terminal_ctrl_c_or_ctrl_d_stops_with_the_score(stop: str) -> None:
    child = spawn()
    answer(child, "r", "-1")
    child.expect_exact("∂f/∂z = ")
    child.sendcontrol(stop)
    code, rest = finish(child)
    assert code == 1 and "Traceback" not in rest
    assert "score 1/5 (stopped: 4 of 5 not answered)" in rest
