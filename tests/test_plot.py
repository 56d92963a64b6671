"""``plot`` and its library: samples equal to f and its derivative, charts through a pipe and a
terminal, figures that are real SVG, PNG and PDF files, and bad input as exit 2."""

from __future__ import annotations

import json
import math
import os
import re
import struct
import subprocess
import sys
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cgcli
from cgcli.parser import parse
from cgcli.render.chart import SHADES, nice_ticks
from cgcli.sweep import joined, sample, view

if TYPE_CHECKING:
    from conftest import Run

ANSI = re.compile(r"\x1b\[")
BRAILLE = re.compile(r"[\u2801-\u28ff]")
QUADRANTS = set("▘▝▀▖▌▞▛▗▚▐▜▄▙▟█")
PY = [sys.executable, "-m", "cgcli"]


def central(expr: str, name: str, x: float, fixed: dict) -> float:
    """d expr / d name at x by central differences, through cgcli's own forward pass."""
    h = 1e-6 * max(1.0, abs(x))

    def f(v: float) -> float:
        return float(cgcli.evaluate(expr, {**fixed, name: v}).value)

    return (f(x + h) - f(x - h)) / (2 * h)


# --- the samples ---------------------------------------------------------------------------

@pytest.mark.parametrize(("expr", "args", "fixed"), [
    ("sigmoid(x)", [], {}),
    ("x*sin(x) - exp(-x^2)", ["--from", "-3", "--to", "pi", "--points", "57"], {}),
    ("w*tanh(w*x) + log1p(x^2)", ["--wrt", "x", "--at", "w=1.5", "--points", "33"],
     {"w": 1.5}),
    ("q = x^2; r = sqrt(q + 1); f = r / (1 + q)", ["--from", "-2", "--to", "2"], {}),
])
def test_json_samples_are_f_and_its_derivative(cli: Run, expr: str, args: list[str],
                                                fixed: dict) -> None:
    code, out, err = cli("plot", expr, "--json", *args)
    assert code == 0 and err == ""
    doc = json.loads(out)
    assert doc["expression"] == expr and doc["wrt"] == "x" and doc["at"] == fixed
    xs = doc["x"]
    lo = float(args[args.index("--from") + 1]) if "--from" in args else -5.0
    hi = math.pi if "pi" in args else (float(args[args.index("--to") + 1])
                                       if "--to" in args else 5.0)
    n = int(args[args.index("--points") + 1]) if "--points" in args else 201
    assert len(xs) == len(doc["value"]) == len(doc["gradient"]) == n
    assert xs[0] == lo and xs[-1] == pytest.approx(hi, abs=0, rel=1e-15)  # endpoints
    assert np.allclose(np.diff(xs), (hi - lo) / (n - 1))
    for x, value, gradient in zip(xs, doc["value"], doc["gradient"], strict=True):
        one = cgcli.gradients(expr, {**fixed, "x": x})
        assert value == pytest.approx(float(one.value), rel=1e-13, abs=1e-15)
        assert gradient == pytest.approx(float(one.gradients["x"]), rel=1e-12, abs=1e-14)
        assert gradient == pytest.approx(central(expr, "x", x, fixed), rel=1e-6, abs=1e-7)


def test_two_variables_give_grids_with_a_row_per_y(cli: Run) -> None:
    expr = "x^2*y + sin(x*y)"
    code, out, _ = cli("plot", expr, "--wrt", "x", "--wrt", "y", "--from", "-1",
                       "--from", "0", "--to", "2", "--to", "3", "--points", "7", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["wrt"] == ["x", "y"]
    assert doc["x"] == pytest.approx(np.linspace(-1, 2, 7).tolist())
    assert doc["y"] == pytest.approx(np.linspace(0, 3, 7).tolist())
    for r, y in enumerate(doc["y"]):
        for c, x in enumerate(doc["x"]):
            one = cgcli.gradients(expr, x=x, y=y)
            assert doc["value"][r][c] == pytest.approx(float(one.value), rel=1e-13)
            for name in "xy":
                assert doc["gradient"][name][r][c] == pytest.approx(
                    float(one.gradients[name]), rel=1e-12, abs=1e-14)
            assert doc["gradient"]["y"][r][c] == pytest.approx(
                central(expr, "y", y, {"x": x}), rel=1e-6, abs=1e-7)


def test_one_batched_pass_gives_every_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    import cgcli.batched

    calls = []
    real = cgcli.batched.evaluate

    def counting(*args: object, **kw: object) -> object:
        calls.append(args)
        return real(*args, **kw)

    monkeypatch.setattr(cgcli.batched, "evaluate", counting)
    s = sample(parse("sigmoid(w*x)"), ["x"], [(-1.0, 1.0)], 1000, {"w": 2.0})
    assert len(calls) == 1 and s.value.shape == s.gradient["x"].shape == (1000,)
    s2 = sample(parse("x*y"), ["x", "y"], [(0.0, 1.0), (0.0, 2.0)], (4, 3))
    assert len(calls) == 2 and s2.value.shape == (3, 4)


def test_non_finite_samples_are_strings_and_a_note(cli: Run) -> None:
    code, out, err = cli("plot", "log(x)", "--points", "5", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["value"][:3] == ["nan", "nan", "-inf"] and doc["gradient"][2] == "inf"
    assert err.startswith("note: log(x) = nan: the first value that is not finite at x = -5")
    assert "3 of 5 samples are not finite" in err
    code, out, err = cli("plot", "log(x)", "--points", "5", "--json", "--strict")
    assert code == 3 and json.loads(out)["error"]["type"] == "numeric"


# --- what a curve shows ------------------------------------------------------------------------

def _shown(expr: str, lo: float = -5, hi: float = 5, n: int = 201) -> tuple:
    s = sample(parse(expr), ["x"], [(lo, hi)], n)
    x, f, g = s.axes[0], s.value, s.gradient["x"]
    return x, view(x, [(f, g), (g, None)])


def breaks(x: np.ndarray, ok: np.ndarray) -> list[float]:
    """Where a curve is not joined: the left sample of each such pair."""
    return [round(float(v), 9) for v in x[:-1][~ok]]


def test_jumps_gaps_and_kinks_are_what_they_are() -> None:
    x, v = _shown("sign(x)")
    assert breaks(x, v.joined[0]) == [-0.05, 0.0]  # f jumps twice, sign(0) = 0 alone
    x, v = _shown("abs(x)")
    assert v.joined[0].all()  # a kink: f is joined
    assert breaks(x, v.joined[1]) == [-0.05, 0.0]  # its derivative jumps (-1, 0, 1)
    x, v = _shown("relu(x)")
    assert v.joined[0].all() and breaks(x, v.joined[1]) == [0.0]
    x, v = _shown("log(x)")
    assert not v.joined[0][:100].any() and v.joined[0][101:].all()  # a gap, then the curve
    x, v = _shown("tan(x)")
    poles = breaks(x, v.joined[0])
    assert poles == [-4.75, -1.6, 1.55, 4.7] and v.clipped  # across each pole, and clipped
    x, v = _shown("tanh(100*x)")
    assert v.joined[0].all()  # steep but smooth: its derivative says so
    x, v = _shown("exp(x)")
    assert v.joined[0].all() and v.joined[1].all() and not v.clipped
    assert v.high == pytest.approx(math.exp(5))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-3, 3, allow_nan=False), min_size=4, max_size=4))
def test_a_smooth_cubic_is_never_broken(coefficients: list[float]) -> None:
    a, b, c, d = coefficients
    x = np.linspace(-2, 2, 101)
    f = ((a * x + b) * x + c) * x + d
    g = (3 * a * x + 2 * b) * x + c
    assert joined(x, f, g).all() and joined(x, g).all()


@settings(max_examples=200, deadline=None)
@given(st.floats(-1e6, 1e6), st.floats(1e-6, 1e6), st.integers(2, 12))
def test_ticks_are_round_evenly_spaced_and_inside(lo: float, width: float, count: int) -> None:
    width = max(width, 1e-4 * max(1.0, abs(lo)))  # ranges a chart can number
    hi = lo + width
    ticks = nice_ticks(lo, hi, count)
    assert ticks and all(lo - 1e-9 * width <= t <= hi + 1e-9 * width for t in ticks)
    if len(ticks) > 1:
        steps = np.diff(ticks)
        assert np.allclose(steps, steps[0], rtol=1e-6)
        mantissa = steps[0] / 10 ** math.floor(math.log10(steps[0]))
        assert any(math.isclose(mantissa, m, rel_tol=1e-6) for m in (1, 2, 2.5, 5, 10))
        assert len(ticks) <= 2 * count + 1


# --- the terminal chart ------------------------------------------------------------------------

def run_pipe(*args: str, **env: str) -> subprocess.CompletedProcess:
    e = {**os.environ, "COLUMNS": "80", **env}
    e.pop("NO_COLOR", None)
    return subprocess.run([*PY, *args], capture_output=True, text=True, env=e, timeout=60,
                          check=False)


def plot_area(out: str, width: int = 68) -> list[str]:
    """The chart's rows between the y axis and the right edge (lines end at their last mark:
    padded back to ``width``)."""
    rows = [line.split("┤" if "┤" in line else "│", 1)[1] for line in out.splitlines()
            if re.match(r"^\s*\S*\s[┤│]", line)]
    assert all(len(row) <= width and not row.endswith(" ") for row in rows)
    return [row.ljust(width) for row in rows]


def test_a_pipe_gets_plain_text_with_both_curves_axes_and_a_legend() -> None:
    proc = run_pipe("plot", "sigmoid(x)")
    assert proc.returncode == 0 and proc.stderr == ""
    out = proc.stdout
    assert not ANSI.search(out)
    lines = out.splitlines()
    assert lines[0] == "sigmoid(x): x from -5 to 5"
    assert lines[1] == "⣀⣀ sigmoid(x)   ▄▄ ∂f/∂x"
    area = plot_area(out)
    assert len(area) == 16
    assert any(BRAILLE.search(r) for r in area)
    assert any(QUADRANTS & set(r) for r in area)
    labels = [line.split("┤")[0].strip() for line in lines if "┤" in line]
    assert labels == ["1", "0.8", "0.6", "0.4", "0.2", "0"]
    assert re.search(r"^\s+-4\s+-2\s+0\s+2\s+4\s+x$", out, re.M)
    # f rises from the bottom left to the top right; its derivative peaks at 0.25 at x = 0:
    # the 12th of 16 rows for 1 down to 0 holds 0.25 to 0.3125, the 35th column x = 0
    assert BRAILLE.search(area[-1][:5]) and BRAILLE.search(area[0][-5:])
    top = next(r for r, row in enumerate(area) if QUADRANTS & set(row))
    peak = [c for c, ch in enumerate(area[top]) if ch in QUADRANTS]
    assert top == 11 and peak[0] < 34 < peak[-1]


def test_a_gap_is_empty_and_a_jump_has_no_wall() -> None:
    area = plot_area(run_pipe("plot", "log(x)", "--width", "72").stdout, 60)
    assert not any(BRAILLE.search(row[:29]) for row in area)  # log is nan for x < 0
    assert any(BRAILLE.search(row[31:]) for row in area)
    # x = 0 is the 31st column: sign jumps there, and sign(0) = 0 is a dot on its own
    column = [row[30] for row in plot_area(run_pipe("plot", "sign(x)", "--width", "72").stdout,
                                           60)]
    assert BRAILLE.match(column[0]) and BRAILLE.match(column[8])  # f = 1 starts; f(0) = 0
    assert set(column[1:8] + column[9:]) == {"┊"}  # no wall between -1, 0 and 1
    # a steep smooth step is drawn whole: tanh(100 x) crosses every row there
    area = plot_area(run_pipe("plot", "tanh(100*x)", "--width", "72", "--ylim=-1,1").stdout, 60)
    assert all(BRAILLE.search(row[29:31]) for row in area)


def test_a_terminal_gets_two_colours() -> None:
    pexpect = pytest.importorskip("pexpect")
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "90"}
    env.pop("NO_COLOR", None)
    child = pexpect.spawn(sys.executable, ["-m", "cgcli", "plot", "sigmoid(x)"], env=env,
                          encoding="utf-8", timeout=30)
    child.expect(pexpect.EOF)
    child.close()
    out = child.before
    assert child.exitstatus == 0
    assert "\x1b[32m" in out and "\x1b[31m" in out  # f green, ∂f/∂x red
    assert not QUADRANTS & set(ANSI.sub("", out).split("∂f/∂x", 1)[1])  # all braille
    child = pexpect.spawn(sys.executable, ["-m", "cgcli", "plot", "x^2", "--color", "never"],
                          env=env, encoding="utf-8", timeout=30)
    child.expect(pexpect.EOF)
    assert "\x1b[" not in child.before


def test_color_always_colours_a_pipe_and_no_color_wins_on_auto() -> None:
    assert "\x1b[32m" in run_pipe("--color", "always", "plot", "x^2").stdout
    assert not ANSI.search(run_pipe("plot", "x^2", NO_COLOR="1").stdout)


def test_two_variables_give_a_shaded_heat_map(cli: Run) -> None:
    code, out, _ = cli("plot", "x^2 + y^2", "--wrt", "x", "--wrt", "y", "--from", "-1",
                       "--to", "1", "--width", "52", "--height", "21")
    assert code == 0
    area = plot_area(out, 40)
    assert len(area) == 21
    assert set("".join(area)) <= set(SHADES)
    assert area[10][20] == SHADES[0] and area[0][0] == area[-1][-1] == SHADES[-1]  # bowl
    assert area == area[::-1]  # symmetric in y, top row = largest y
    scale = out.splitlines()[-1]  # the shades' scale, from the least sample to the largest
    assert re.fullmatch(r"x\^2 \+ y\^2: 0\.000657 ·· 0\.401 ░░ .* ██ 2", scale)


def test_ylim_sets_the_range_and_a_pole_is_clipped_with_a_note(cli: Run) -> None:
    code, out, _ = cli("plot", "tan(x)")
    assert code == 0 and "the curves leave the chart" in out
    code, out, _ = cli("plot", "tan(x)", "--ylim=-2,2")
    assert code == 0 and "leave the chart" not in out
    assert re.search(r"^\s*2 ┤", out, re.M) and re.search(r"^\s*-2 ┤", out, re.M)


@pytest.mark.parametrize("args", [
    ["x", "--from", "-8e307", "--to", "8e307"],  # values whose span is no float
    ["1e308*sin(x)"],
    ["x^2", "--ylim=-8.9e307,8.9e307"],  # round numbers past the ends would overflow
    ["1e308*sin(x*y)", "--wrt", "x", "--wrt", "y"],
])
def test_values_near_the_largest_float_are_drawn(cli: Run, args: list[str]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no NumPy warning reaches the user
        code, out, err = cli("plot", *args, "--width", "40", "--height", "8")
    assert code == 0 and "┤" in out and "Traceback" not in err


@pytest.mark.parametrize("args", [
    ["plot", "1e308*sin(x)", "-o", "f.svg"],
    ["plot", "1e308*sin(x*y)", "--wrt", "x", "--wrt", "y", "-o", "f.png"],
    ["descend", "x^2", "--at", "x=1e308", "--lr", "1", "--plot", "f.svg"],
])
def test_a_figure_matplotlib_cannot_draw_is_an_input_error(cli: Run, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          args: list[str]) -> None:
    pytest.importorskip("matplotlib")
    monkeypatch.chdir(tmp_path)
    code, _, err = cli(*args)
    assert code == 2 and "Matplotlib draws up to about 1e+300" in err
    assert "Traceback" not in err and not (tmp_path / args[-1]).exists()


# --- figures -------------------------------------------------------------------------------

def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_figures_are_real_svg_png_and_pdf(cli: Run, tmp_path: Path) -> None:
    svg, png, pdf = tmp_path / "f.svg", tmp_path / "f.png", tmp_path / "bowl.pdf"
    assert cli("plot", "relu(x) - x^2/8", "--from", "-2", "--to", "2", "--points", "41",
               "-o", str(svg))[0] == 0
    root = ET.parse(svg).getroot()  # noqa: S314 (a file this test just wrote)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.get("width") == "460.8pt" and root.get("height") == "302.4pt"  # 6.4 x 4.2 in
    assert len(root.findall(".//{http://www.w3.org/2000/svg}path")) > 10
    first = svg.read_bytes()
    cli("plot", "relu(x) - x^2/8", "--from", "-2", "--to", "2", "--points", "41", "-o",
        str(svg))
    assert svg.read_bytes() == first  # no date inside: the same command, the same file
    assert cli("plot", "x^2 + 3*y^2", "--wrt", "x", "--wrt", "y", "--points", "15",
               "-o", str(png))[0] == 0
    width, height = png_size(png.read_bytes())
    assert width == 1280 and 600 < height < 1800  # 6.4 in at 200 dpi, a square field
    assert cli("plot", "sin(x)", "--points", "21", "-o", str(pdf))[0] == 0
    assert pdf.read_bytes()[:5] == b"%PDF-"


def test_without_matplotlib_a_figure_exits_4_with_the_install_hint(
        cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("matplotlib", "matplotlib.figure", "matplotlib.backends.backend_agg"):
        monkeypatch.setitem(sys.modules, name, None)  # import fails as if not installed
    code, out, err = cli("plot", "x^2", "-o", str(tmp_path / "f.svg"))
    assert code == 4 and out == ""
    assert err.startswith("error: drawing a figure needs Matplotlib") and "cgcli[plot]" in err
    assert not (tmp_path / "f.svg").exists()
    code, out, _ = cli("plot", "x^2", "--points", "3")  # the terminal chart needs nothing
    assert code == 0 and "∂f/∂x" in out


def test_data_to_a_json_file(cli: Run, tmp_path: Path) -> None:
    path = tmp_path / "d.json"
    assert cli("plot", "x^3", "--points", "3", "-o", str(path)) == (0, "", "")
    assert json.loads(path.read_text())["gradient"] == [75.0, 0.0, 75.0]


# --- bad input ---------------------------------------------------------------------------

@pytest.mark.parametrize(("args", "message"), [
    (["x^2", "--from", "2", "--to", "1"], "the range of x is empty: --from 2 must be less"),
    (["x^2", "--from", "1", "--to", "1"], "the range of x is empty"),
    (["x^2 +"], "expected an expression after '+'"),
    (["x^2", "-o", "no/such/dir/f.svg"], "the directory 'no/such/dir' does not exist"),
    (["x^2", "-o", "f.gif"], "the file's suffix picks its format"),
    (["w*x"], "choose the variable on the x axis with --wrt NAME"),
    (["w*x", "--wrt", "x"], "'w' has no value: the plot varies only x, so hold 'w' fixed"),
    (["w*x", "--wrt", "x", "--at", "w=1", "--at", "x=2"], "--at x: 'x' is the variable swept"),
    (["x*[1, 2]"], "plot needs a scalar output, but the output has shape (2,)"),
    (["q = x + 1; q*2", "--wrt", "q"], "'q' is bound in the expression"),
    (["x", "--wrt", "y"], "the expression has no variable 'y'"),
    (["x", "--points", "1"], "--points 1: a plot needs at least 2 points"),
    (["x", "--from", "1e999"], "--from 1e999: the range must be finite"),
    (["x", "--from", "[1, 2]"], "--from [1, 2]: expected a number"),
    (["x", "--ylim=2,1"], "LOW 2 must be less than HIGH 1"),
    (["x", "--from", "-1e308", "--to", "1e308"], "wider than a float can hold"),
    (["x", "--from", "0", "--to", "5e-324"], "too narrow to sample"),
    (["x", "--from", "1", "--to", "1.0000000000000002"], "too narrow to sample"),
    (["x", "--ylim=-1e308,1e308"], "wider than a float can hold"),
    (["x*y", "--wrt", "x", "--wrt", "y", "--from", "0", "--from", "1", "--from", "2"],
     "--from is given 3 times for 2 --wrt variables"),
    (["2"], "the expression has no variable to plot against"),
    (["x", "--json", "-o", "f.svg"], "--format json writes the samples: give -o FILE.json"),
])
def test_bad_input_exits_2_with_one_message(cli: Run, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch,
                                            args: list[str], message: str) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = cli("plot", *args)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and message in err and "Traceback" not in err
    assert not list(tmp_path.iterdir())


# --- the README ----------------------------------------------------------------------------

README = Path(__file__).resolve().parent.parent / "README.md"


def readme_transcripts() -> list[tuple[str, str]]:
    """(command, expected output) of every console block in 'Look at it' (indented ones
    inside list items too)."""
    text = README.read_text(encoding="utf-8")
    start = text.index("## Look at it: plots and gradient descent")
    section = text[start:text.index("\n## ", start + 10)]
    steps: list[tuple[str, str]] = []
    for indent, block in re.findall(r"^( *)```console\n(.*?)^\1```", section, re.M | re.S):
        for line in block.splitlines(keepends=True):
            line = line[len(indent):]
            if line.startswith("$ "):
                steps.append((line[2:].rstrip("\n"), ""))
            else:
                steps[-1] = (steps[-1][0], steps[-1][1] + line)
    return steps


def test_readme_has_the_transcripts() -> None:
    commands = [c for c, _ in readme_transcripts()]
    assert any(c.startswith("cgcli plot") for c in commands)
    assert any(c.startswith("cgcli descend") for c in commands)


@pytest.mark.parametrize(("command", "expected"), readme_transcripts(),
                         ids=lambda v: v[:40] if v.startswith("cgcli") else "")
def test_readme_transcript_is_real_output(command: str, expected: str) -> None:
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    env = {**os.environ, "PATH": path, "COLUMNS": "80"}
    env.pop("NO_COLOR", None)
    proc = subprocess.run(["bash", "-c", "{ " + command + "; } 2>&1"], capture_output=True,
                          text=True, env=env, check=False, timeout=60)
    assert proc.stdout == expected, command
