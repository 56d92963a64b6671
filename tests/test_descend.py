"""``descend``: steps equal to a hand computation (plain and with momentum), convergence on a
quadratic bowl, the table, JSON, streamed JSON Lines, the path figure and bad input."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cgcli.descent import descend
from cgcli.parser import parse

if TYPE_CHECKING:
    from conftest import Run


def points(expr: str, start: dict, **kw: object) -> list:
    return list(descend(parse(expr), start, **kw))  # type: ignore[arg-type]


def test_three_plain_steps_by_hand() -> None:
    # f = (w - 3)^2, f' = 2(w - 3); w ← w - 0.1·f'
    # w0 = 0: f' = -6 -> w1 = 0.6; f' = -4.8 -> w2 = 1.08; f' = -3.84 -> w3 = 1.464
    steps = points("(w - 3)^2", {"w": 0.0}, lr=0.1, steps=3)
    assert [s.step for s in steps] == [0, 1, 2, 3]
    assert [s.at["w"] for s in steps] == pytest.approx([0, 0.6, 1.08, 1.464], rel=1e-15)
    assert [s.value for s in steps] == pytest.approx([9, 5.76, 3.6864, 2.359296], rel=1e-14)
    assert [s.gradients["w"] for s in steps] == pytest.approx([-6, -4.8, -3.84, -3.072],
                                                              rel=1e-14)
    assert [s.norm for s in steps] == pytest.approx([6, 4.8, 3.84, 3.072], rel=1e-14)


def test_momentum_steps_by_hand_follow_pytorch_sgd() -> None:
    # f = x^2, lr 0.1, μ 0.9: v1 = g0 = 2 -> x1 = 0.8; g1 = 1.6, v2 = 0.9·2 + 1.6 = 3.4
    # -> x2 = 0.46; g2 = 0.92, v3 = 0.9·3.4 + 0.92 = 3.98 -> x3 = 0.062
    steps = points("x^2", {"x": 1.0}, lr=0.1, momentum=0.9, steps=3)
    assert [s.at["x"] for s in steps] == pytest.approx([1, 0.8, 0.46, 0.062], rel=1e-13)
    # two variables share one rule, each with its own velocity
    steps = points("x^2 + 3*y^2", {"x": 1.0, "y": -1.0}, lr=0.1, momentum=0.5, steps=2)
    # y: g0 = -6, v1 = -6, y1 = -0.4; g1 = -2.4, v2 = 0.5·(-6) - 2.4 = -5.4, y2 = 0.14
    # x: g0 = 2, v1 = 2, x1 = 0.8; g1 = 1.6, v2 = 0.5·2 + 1.6 = 2.6, x2 = 0.54
    assert [s.at["y"] for s in steps] == pytest.approx([-1, -0.4, 0.14], rel=1e-13)
    assert [s.at["x"] for s in steps] == pytest.approx([1, 0.8, 0.54], rel=1e-13)
    assert steps[1].norm == pytest.approx(np.hypot(1.6, -2.4), rel=1e-14)


#: torch.optim.SGD (PyTorch 2.13, float64) on the bowl below from (4, 3), lr 0.03: (x, y) after
#: steps 1, 2, 5, 10 and 25, plain and with momentum 0.9 (recorded once).
TORCH = {
    0.0: {1: (3.699053143714076, -0.1612624750478989), 2: (3.5435312483204, -1.411797191128009),
          5: (3.2973373669634154, -2.161252031194887), 10: (3.057302509867829, -2.207760587049205),
          25: (2.8048090390900584, -2.2114124892334854)},
    0.9: {1: (3.699053143714076, -0.1612624750478989), 2: (3.272679077663068, -4.256933418671117),
          5: (2.3019734877296023, -3.177494085189097), 10: (0.7796563710014917, -4.088774887886513),
          25: (1.3553321570565173, -2.691875732169981)},
}


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_steps_equal_pytorch_sgd(momentum: float) -> None:
    steps = points("(x - 1)^2 + 10*(y + 2)^2 + 0.5*x*y + sin(x*y)", {"x": 4.0, "y": 3.0},
                   lr=0.03, momentum=momentum, steps=25)
    for k, (x, y) in TORCH[momentum].items():
        assert steps[k].at["x"] == pytest.approx(x, rel=1e-13, abs=1e-14)
        assert steps[k].at["y"] == pytest.approx(y, rel=1e-13, abs=1e-14)


def test_vectors_descend_elementwise() -> None:
    steps = points("sum((w - [1, 2])^2)", {"w": np.array([0.0, 0.0])}, lr=0.25, steps=1)
    assert steps[1].at["w"] == pytest.approx([0.5, 1.0])  # w - 0.25·2(w - t)


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_a_quadratic_bowl_converges_to_its_minimum(momentum: float) -> None:
    expr = "(x - 1)^2 + 10*(y + 2)^2 + 0.5*x*y"
    steps = points(expr, {"x": 4.0, "y": 3.0}, lr=0.04, momentum=momentum, tol=1e-9,
                   steps=5000)
    last = steps[-1]
    # the minimum: 2(x-1) + 0.5y = 0, 20(y+2) + 0.5x = 0
    x, y = np.linalg.solve([[2, 0.5], [0.5, 20]], [2, -40])
    assert last.norm <= 1e-9 and len(steps) < 5001
    assert last.at["x"] == pytest.approx(x, abs=1e-8)
    assert last.at["y"] == pytest.approx(y, abs=1e-8)
    values = [s.value for s in steps]
    if momentum == 0:  # small plain steps on a convex bowl never go up (but for rounding)
        assert all(b <= a + 1e-12 for a, b in itertools.pairwise(values))


def test_wrt_moves_only_those_variables(cli: Run) -> None:
    code, out, _ = cli("descend", "(w*x - 1)^2", "--at", "w=0", "--at", "x=2", "--wrt", "w",
                       "--steps", "2", "--json")
    assert code == 0
    doc = json.loads(out)
    assert [s["at"]["x"] for s in doc["steps"]] == [2.0, 2.0, 2.0]
    assert all(set(s["gradients"]) == {"w"} for s in doc["steps"])
    # w ← w - 0.1·2(wx - 1)x: 0 -> 0.4 -> 0.4 - 0.1·2·(-0.2)·2 = 0.48
    assert [s["at"]["w"] for s in doc["steps"]] == pytest.approx([0, 0.4, 0.48], rel=1e-14)
    assert doc["wrt"] == ["w"] and doc["lr"] == 0.1 and doc["converged"] is False


def test_the_table_and_its_closing_line(cli: Run) -> None:
    code, out, err = cli("descend", "(w - 3)^2", "--at", "w=0", "--steps", "3")
    assert code == 0 and err == ""
    assert out == """\
gradient descent on (w - 3)^2: lr 0.1
┏━━━━━━┳━━━━━━━┳━━━━━━━┳━━━━━━━┓
┃ step ┃     w ┃     f ┃  ‖∇f‖ ┃
┡━━━━━━╇━━━━━━━╇━━━━━━━╇━━━━━━━┩
│    0 │     0 │     9 │     6 │
│    1 │   0.6 │  5.76 │   4.8 │
│    2 │  1.08 │ 3.686 │  3.84 │
│    3 │ 1.464 │ 2.359 │ 3.072 │
└──────┴───────┴───────┴───────┘
after 3 steps: w = 1.464, f = 2.359, ‖∇f‖ = 3.07
"""


def test_tol_stops_when_converged(cli: Run) -> None:
    code, out, _ = cli("descend", "x^2", "--at", "x=1", "--lr", "0.25", "--tol", "0.01",
                       "--steps", "100", "--json")
    doc = json.loads(out)
    # x halves each step: |f'| = 2|x| = 2, 1, 0.5, ..., 2^-7 = 0.0078 <= 0.01 at step 8
    assert code == 0 and doc["converged"] is True and len(doc["steps"]) == 9
    assert doc["steps"][-1]["gradient_norm"] == 2.0 ** -7
    code, out, _ = cli("descend", "x^2", "--at", "x=1", "--lr", "0.25", "--tol", "0.01",
                       "--steps", "100")
    assert out.rstrip().endswith("‖∇f‖ = 0.00781 ≤ 0.01: converged")


def test_jsonl_is_written_step_by_step_as_it_runs() -> None:
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    proc = subprocess.Popen([sys.executable, "-m", "cgcli", "descend", "sin(x) + x^2",
                             "--at", "x=2", "--lr", "1e-9", "--steps", "1000000",
                             "--format", "jsonl"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        first = json.loads(proc.stdout.readline())  # type: ignore[union-attr]
        second = json.loads(proc.stdout.readline())  # type: ignore[union-attr]
        assert proc.poll() is None  # a million steps are far from done: it streams
    finally:
        proc.kill()
        proc.communicate()
    assert first["step"] == 0 and first["at"] == {"x": 2.0}
    assert first["value"] == pytest.approx(np.sin(2) + 4)
    assert first["gradients"]["x"] == pytest.approx(np.cos(2) + 4)
    assert second["step"] == 1


def test_jsonl_lines_are_the_json_steps(cli: Run) -> None:
    args = ("descend", "x^2 + y^4", "--at", "x=1", "--at", "y=1", "--steps", "4")
    _, lines, _ = cli(*args, "--format", "jsonl")
    _, doc, _ = cli(*args, "--json")
    assert [json.loads(line) for line in lines.splitlines()] == json.loads(doc)["steps"]


def test_divergence_is_noted_and_nan_follows_the_strict_rule(cli: Run) -> None:
    code, out, err = cli("descend", "x^2", "--at", "x=1", "--lr", "1.5", "--steps", "3")
    assert code == 0 and "note: f grew from 1 to 64: the steps overshoot" in err
    code, out, err = cli("descend", "log(x)", "--at", "x=0.5", "--lr", "1", "--json")
    doc = json.loads(out)
    assert code == 0 and len(doc["steps"]) == 2 and doc["steps"][1]["value"] == "nan"
    assert err.startswith("note: log(x) = nan: the first value that is not finite at step 1")
    code, out, err = cli("descend", "log(x)", "--at", "x=0.5", "--lr", "1", "--strict")
    assert code == 3 and out == "" and err.startswith("error: log(x) = nan")


def test_the_path_is_drawn_over_the_contours(cli: Run, tmp_path: Path) -> None:
    png = tmp_path / "path.png"
    code, out, _ = cli("descend", "x^2 + 3*y^2", "--at", "x=2", "--at", "y=1", "--steps", "5",
                       "--plot", str(png), "--json")
    assert code == 0 and len(json.loads(out)["steps"]) == 6
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    svg = tmp_path / "path.svg"
    assert cli("descend", "(w - 3)^2", "--at", "w=0", "--steps", "3", "--plot", str(svg))[0] == 0
    assert svg.read_text().lstrip().startswith("<?xml")


@pytest.mark.parametrize(("args", "message"), [
    (["x^2", "--at", "x=1", "--steps", "0"], "--steps 0: descend takes at least 1 step"),
    (["x^2 + y", "--at", "x=1"], "'y' needs a start value: give it with --at y=VALUE"),
    (["x*y", "--at", "x=1", "--wrt", "x"], "'y' needs a value to hold it at"),
    (["x*[1, 2]", "--at", "x=1"], "descend needs a scalar output, but the output has shape"),
    (["x^2", "--at", "x=1", "--lr", "0"], "--lr 0: the learning rate must be a positive"),
    (["x^2", "--at", "x=1", "--momentum", "-0.5"], "momentum must be 0 or more"),
    (["x^2", "--at", "x=1", "--tol", "-1"], "the tolerance must be a number, 0 or more"),
    (["x^2", "--at", "x=1", "--tol", "inf"], "the tolerance must be a number"),
    (["x^2", "--at", "x=1", "--tol", "nan"], "the tolerance must be a number"),
    (["x^2", "--at", "x=1", "--wrt", "z"], "the expression has no variable 'z'"),
    (["q = x^2; q", "--at", "x=1", "--wrt", "q"], "'q' is bound in the expression"),
    (["x^2 +", "--at", "x=1"], "expected an expression after '+'"),
    (["x^2", "--at", "x=1", "--plot", "nowhere/p.svg"], "the directory 'nowhere' does not"),
    (["x^2", "--at", "x=1", "--plot", "p.txt"], "the file's suffix picks its format"),
    (["sum(w^2)", "--at", "w=[1, 2]", "--plot", "p.svg"], "one or two scalar variables"),
])
def test_bad_input_exits_2_with_one_message(cli: Run, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch,
                                            args: list[str], message: str) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = cli("descend", *args)
    assert code == 2 and out == "" and err.startswith("error: ") and message in err
    assert "Traceback" not in err and not list(tmp_path.iterdir())


# --- hostile input -------------------------------------------------------------------------

def _run(*args: str) -> tuple[int, str, str]:
    import contextlib
    import io

    from cgcli.cli.app import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return code, out.getvalue(), err.getvalue()


def _clean(code: int, err: str) -> None:
    """Exit 0 or 2 (3: nan with --strict); notes, then at most one error message."""
    assert code in (0, 2, 3) and "Traceback" not in err and "internal error" not in err, err
    rest = [line for line in err.splitlines() if not line.startswith("note: ")]
    if code:
        assert rest and (rest[0].startswith("error: ") or rest[0].startswith("Usage: ")), err


TEXT = st.one_of(st.text(max_size=40),
                 st.text(alphabet=st.sampled_from("xyw+-*/^()[],.0123456789e;=pi sincologq "),
                         max_size=30))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=TEXT, which=st.integers(0, 5))
def test_any_text_exits_0_2_or_3_with_one_message(text: str, which: int) -> None:
    """Any text as the expression or as an option's value of plot and descend."""
    runs = [("plot", text, "--points", "5", "--json", "--strict"),
            ("plot", "x^2", "--from", text, "--points", "5", "--json"),
            ("plot", "x^2", "--ylim", text, "--points", "5"),
            ("plot", "x*y", "--wrt", "x", "--at", f"y={text}", "--points", "5", "--json"),
            ("descend", text, "--at", "x=1", "--at", "y=2", "--steps", "2", "--json"),
            ("descend", "x^2 + y", "--at", f"x={text}", "--at", "y=1", "--steps", "2")]
    code, out, err = _run(*runs[which])
    _clean(code, err)
    if "--json" in runs[which] and code != 0 and err.startswith("error: "):
        assert "error" in json.loads(out) or out == ""
