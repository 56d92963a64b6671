"""Plot benchmark: ``python bench/plot.py [--rounds 21] [-o FILE]``.

The goal: a 1,000-point plot costs at most 0.3 s beyond start-up. Start-up is what a one-shot
``cgcli grad ... --json`` costs (the same interpreter, NumPy, Typer and parser); each plot
command is timed against it, the commands interleaved round by round (this machine is
noisy), and the difference of the medians is the plot's own cost. Then the library alone, in
this process: one batched pass of 1,000 points, the chart drawn from it, the JSON document.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ENV = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "NO_COLOR")}
ENV["COLUMNS"] = "80"
exe = Path(sys.executable).with_name("cgcli")
CGCLI = [str(exe)] if exe.exists() else [sys.executable, "-m", "cgcli"]
EXPR = "q = w*x + b; s = sigmoid(q); f = (s - 1)^2 + 0.01*x^2"
FIXED = ["--at", "w=2", "--at", "b=-1"]


def commands(tmp: Path) -> dict[str, list[str]]:
    plot = [*CGCLI, "plot", EXPR, "--wrt", "x", *FIXED, "--points", "1000"]
    return {
        'python -c "import numpy"': [sys.executable, "-c", "import numpy"],
        "start-up: cgcli grad ... --json": [*CGCLI, "grad", EXPR, "--at", "x=1", *FIXED,
                                            "--json"],
        "plot, 1,000 points, chart to a pipe": plot,
        "plot, 1,000 points, --json": [*plot, "--json"],
        "plot, 1,000 points, -o PNG (Matplotlib)": [*plot, "-o", str(tmp / "p.png")],
        "plot, 1,000 points, -o SVG (Matplotlib)": [*plot, "-o", str(tmp / "p.svg")],
        "plot, two variables, heat map to a pipe (68 x 16 samples)": [
            *CGCLI, "plot", "x^2 + 3*y^2 + sin(x*y)", "--wrt", "x", "--wrt", "y"],
        "descend, 100 steps, table": [*CGCLI, "descend", "x^2 + 10*y^2", "--at", "x=4",
                                      "--at", "y=1", "--lr", "0.05", "--steps", "100"],
    }


def run_rounds(cmds: dict[str, list[str]], rounds: int) -> dict[str, list[float]]:
    """Wall times of each command, interleaved round by round (after one warm-up each)."""
    times: dict[str, list[float]] = {k: [] for k in cmds}
    for r in range(rounds + 1):
        for name, cmd in cmds.items():
            t = time.perf_counter()
            proc = subprocess.run(cmd, env=ENV, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True, check=False)
            if r:
                times[name].append(time.perf_counter() - t)
            if proc.returncode != 0:
                raise SystemExit(f"{name} failed: {proc.stderr.strip()[:500]}")
    return times


def best_of(fn: Callable[[], object], repeat: int = 7) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def library() -> list[tuple[str, float]]:
    """The steps of a 1,000-point plot in this process (best of 7)."""
    import io

    from cgcli.parser import parse
    from cgcli.render.chart import plot_1d, render_json
    from cgcli.render.text import PlainConsole, write_lines
    from cgcli.sweep import sample

    graph = parse(EXPR)
    fixed = {"w": 2.0, "b": -1.0}
    s = sample(graph, ["x"], [(-5.0, 5.0)], 1000, fixed)

    def chart() -> None:
        write_lines(PlainConsole(io.StringIO()), plot_1d(s, width=68, height=16, color=False))

    def rich_chart() -> None:
        from rich.console import Console

        console = Console(file=io.StringIO(), force_terminal=True, color_system="standard",
                          width=80)
        write_lines(console, plot_1d(s, width=68, height=16, color=True))

    steps = [("one batched pass, 1,000 points (value and gradient)",
              best_of(lambda: sample(graph, ["x"], [(-5.0, 5.0)], 1000, fixed))),
             ("the chart, plain (to a pipe)", best_of(chart)),
             ("the chart, coloured by Rich (a terminal)", best_of(rich_chart)),
             ("the JSON document", best_of(lambda: render_json(s))),
             ("one batched pass, 1,000,000 points", best_of(
                 lambda: sample(graph, ["x"], [(-5.0, 5.0)], 1_000_000, fixed), 3))]
    try:
        t = time.perf_counter()
        import matplotlib.figure  # noqa: F401  (what every figure pays once)
        from matplotlib.backends import backend_agg  # noqa: F401
    except ImportError:
        return steps
    steps.append(("importing Matplotlib (once, cold)", time.perf_counter() - t))
    from cgcli.render import figure

    with tempfile.TemporaryDirectory() as tmp:
        for fmt in ("png", "svg"):
            steps.append((f"the figure drawn and saved as {fmt.upper()}", best_of(
                lambda fmt=fmt: figure.save(figure.curve_figure(s), f"{tmp}/f.{fmt}", fmt),
                3)))
    return steps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=21)
    ap.add_argument("-o", "--output", type=Path)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        times = run_rounds(commands(Path(tmp)), args.rounds)
    med = {k: statistics.median(v) for k, v in times.items()}
    base = med["start-up: cgcli grad ... --json"]
    lines = [f"Measured {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, Python "
             f"{sys.version.split()[0]}, NumPy {np.__version__}; `{EXPR}` over x from -5 to 5.",
             "", f"### Whole commands, median of {args.rounds} interleaved runs", "",
             "| command | median | min–max | beyond start-up (goal ≤ 0.3 s for the plots) |",
             "| --- | --- | --- | --- |"]
    for name, t in med.items():
        extra = "" if name.startswith(("python", "start-up")) else f"{t - base:+.3f} s"
        lines.append(f"| {name} | {t * 1000:.0f} ms | {min(times[name]) * 1000:.0f}–"
                     f"{max(times[name]) * 1000:.0f} ms | {extra} |")
    lines += ["", "### In one process (best of 7)", "", "| step | time |", "| --- | --- |"]
    for name, t in library():
        lines.append(f"| {name} | {t * 1000:.1f} ms |")
    report = "\n".join(lines) + "\n"
    print(report)
    if args.output:
        args.output.write_text(report)


if __name__ == "__main__":
    main()
