"""cgcli's benchmarks, all in one run: ``python bench/run.py [--quick] [-o report.md]``.

Every goal is a ratio measured side by side in this one run (these machines are noisy), with
its spread: each round runs every command once, in turn, and a ratio is taken round by round,
so the figure is a median with its minimum and maximum.

1. one-shot start-up: ``cgcli grad ... --json`` (and the table, and a tensor expression)
   against ``python -c "import numpy"``, beside the desk calculators Maxima and qalc when they
   are installed (Debian: ``apt-get install maxima qalc``) and Typer's own import;
2. a 100,000-operation expression end to end against PyTorch scalar tensors, and the engine
   alone in microseconds per node;
3. linear scaling: time(100k) / time(10k) for parsing, the engine and every output format;
4. deep nesting and long chains, 100,000 and 1,000,000 deep, as whole processes: time past
   start-up and peak memory;
5. memory per node for the 100,000-operation case;
6. derivatives as formulas and Hessians (``diff``, ``hessian``) at 100, 1,000 and 10,000
   operations.

PyTorch, SymPy and HIPS autograd are compared where they are installed (``pip install
'.[bench]'``); they are never needed by the tests. Run it from a non-editable install or a
checkout with compiled bytecode: start-up is measured as users get it.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np

import cgcli
from cgcli.engine import backward, forward

PY = sys.executable
# Child processes use (and write) bytecode as an installed program does.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
CGCLI = [str(Path(PY).with_name("cgcli"))] if Path(PY).with_name("cgcli").exists() else \
    [PY, "-m", "cgcli"]
AT = {"x": 0.3, "y": -0.7, "z": 1.1}


# --- helpers ---------------------------------------------------------------------------------

def run_once(cmd: list[str]) -> tuple[float, int]:
    """One run of ``cmd``: (wall seconds, peak resident memory of the process in bytes).

    The peak is read by GNU time (``/usr/bin/time -f %M``) where it is installed: a child
    forked from this large process would start its high-water mark at this process's size."""
    timer = ["/usr/bin/time", "-f", "%M"] if Path("/usr/bin/time").exists() else []
    start = time.perf_counter()
    proc = subprocess.run([*timer, *cmd], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          env=ENV, text=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)[:200]} failed: {proc.stderr[-500:]}")
    peak = int(proc.stderr.strip().splitlines()[-1]) * 1024 if timer else 0
    return elapsed, peak


def rounds(commands: dict[str, list[str]], n: int) -> dict[str, list[float]]:
    """Wall times of each command, ``n`` rounds, the commands interleaved round by round."""
    times: dict[str, list[float]] = {k: [] for k in commands}
    for _ in range(n):
        for name, cmd in commands.items():
            start = time.perf_counter()
            proc = subprocess.run(cmd, env=ENV, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, check=False)
            times[name].append(time.perf_counter() - start)
            if proc.returncode != 0:
                raise SystemExit(f"{name} failed: {proc.stderr.decode()[:500]}")
    return times


def spread(values: list[float], fmt: str = "{:.2f}") -> str:
    """``median (min–max)``."""
    return (f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}–"
            f"{fmt.format(max(values))})")


def ratios(times: dict[str, list[float]], name: str, base: str) -> list[float]:
    """Round-by-round ratios of ``name`` to ``base``."""
    return [a / b for a, b in zip(times[name], times[base], strict=True)]


def best_of(fn: Callable[[], object], repeat: int = 3) -> float:
    """The fastest of ``repeat`` timings of ``fn()`` (s): the least disturbed run."""
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def generated(n_ops: int, seed: int = 1) -> tuple[str, str]:
    """A sum of random terms over x, y, z with about ``n_ops`` operations: the cgcli text and
    the same computation as a PyTorch script (one statement per term)."""
    rng = random.Random(seed)
    funcs = ["sin", "cos", "exp", "tanh", "sigmoid"]
    terms, torch_lines = [], []
    ops = 0
    while ops < n_ops:
        a, b, f = rng.choice("xyz"), rng.choice("xyz"), rng.choice(funcs)
        k, m = rng.randint(1, 9), rng.randint(2, 9)
        terms.append(f"{f}({a}*{b})*{k} - {a}/{m}")
        torch_lines.append(f"t = torch.{f}({a}*{b})*{k} - {a}/{m}")
        torch_lines.append("acc = t if acc is None else acc + t")
        ops += 6  # mul, f, mul, div, sub, and the + joining it to the sum
    script = "\n".join([
        "import json, torch",
        *(f"{v} = torch.tensor({AT[v]!r}, dtype=torch.float64, requires_grad=True)"
          for v in "xyz"),
        "acc = None", *torch_lines, "acc.backward()",
        "print(json.dumps({'value': acc.item(), "
        "'gradients': {v: g.grad.item() for v, g in zip('xyz', (x, y, z))}}))",
    ])
    return " + ".join(terms), script


def at_args() -> list[str]:
    return [a for v, x in AT.items() for a in ("--at", f"{v}={x}")]


def render_all(ev: cgcli.Evaluation) -> dict[str, Callable[[], object]]:
    """Each output format rendered to an in-memory pipe (no terminal, no colour)."""
    from cgcli.render import json as rjson
    from cgcli.render import table, tree
    from cgcli.render.text import PlainConsole

    return {
        "json": lambda: rjson.write(ev, io.StringIO()),
        "table": lambda: table.render(ev, PlainConsole(io.StringIO())),
        "tree": lambda: tree.render(ev, PlainConsole(io.StringIO())),
    }


# --- the benchmarks ---------------------------------------------------------------------------

SIGMOID = "1/(1+exp(-x))"


def bench_startup(n: int) -> list[tuple[str, str, str]]:
    w, x = "W=[[0.1,0.5],[-0.3,0.8]]", "x=[0.2,0.4]"
    commands = {
        'python -c "import numpy"': [PY, "-c", "import numpy"],
        "python -c pass": [PY, "-c", "pass"],
        'python -c "import typer"': [PY, "-c", "import typer"],
        "cgcli grad ... --json": [*CGCLI, "grad", SIGMOID, "--at", "x=1", "--json"],
        "cgcli grad ... (table, to a pipe)": [*CGCLI, "grad", SIGMOID, "--at", "x=1"],
        "cgcli grad ... --format tree": [*CGCLI, "grad", SIGMOID, "--at", "x=1", "--format",
                                         "tree"],
        "cgcli grad sum((W@x)^2) --json (tensors)": [*CGCLI, "grad", "sum((W@x)^2)", "--at", w,
                                                     "--at", x, "--json"],
    }
    if shutil.which("qalc"):
        commands["qalc: diff(1/(1+e^(-x)), x, 1, 1)"] = [
            "qalc", "-t", "diff(1/(1+e^(-x)), x, 1, 1)"]
    if shutil.which("maxima"):
        commands["Maxima: float(subst(x=1, diff(...)))"] = [
            "maxima", "--very-quiet", "--batch-string",
            "float(subst(x=1, diff(1/(1+exp(-x)), x)));"]
    others = {
        "torch": "import torch\nx = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)\n"
                 "y = 1/(1+torch.exp(-x)); y.backward(); print(x.grad.item())",
        "sympy": "import sympy as sp\nx = sp.Symbol('x'); f = 1/(1+sp.exp(-x))\n"
                 "print(float(sp.diff(f, x).subs(x, 1)))",
        "autograd": "import autograd.numpy as anp\nfrom autograd import grad\n"
                    "print(grad(lambda x: 1/(1+anp.exp(-x)))(1.0))",
    }
    for name, code in others.items():
        if has(name):
            commands[f"{name}: one gradient"] = [PY, "-c", code]
    times = rounds(commands, n)
    base = 'python -c "import numpy"'
    goals = {"cgcli grad ... --json": "≤ 0.85", "cgcli grad ... (table, to a pipe)": "≤ 0.95",
             "cgcli grad sum((W@x)^2) --json (tensors)": "≤ 1.7"}
    return [(name, spread([t * 1000 for t in ts], "{:.0f}") + " ms",
             spread(ratios(times, name, base)) + "x"
             + (f" (goal {goals[name]})" if name in goals else ""))
            for name, ts in times.items()]


def bench_huge(n_ops: int, n: int) -> tuple[list, dict]:
    text, script = generated(n_ops)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        expr_file = Path(tmp, "expr.txt")
        expr_file.write_text(text)
        torch_file = Path(tmp, "torch_version.py")
        torch_file.write_text(script)
        ours = "cgcli grad @expr --json (whole process)"
        commands = {ours: [*CGCLI, "grad", f"@{expr_file}", *at_args(), "--json"]}
        theirs = "PyTorch scalar tensors (whole process)"
        if has("torch"):
            commands[theirs] = [PY, str(torch_file)]
        times = rounds(commands, n)
        if has("torch"):  # the two must agree before their times mean anything
            a = json.loads(subprocess.run(commands[ours], capture_output=True, text=True,
                                          env=ENV, check=True).stdout)
            b = json.loads(subprocess.run(commands[theirs], capture_output=True, text=True,
                                          env=ENV, check=True).stdout)
            for v in "xyz":
                assert abs(a["gradients"][v] - b["gradients"][v]) <= \
                    1e-9 * max(1.0, abs(b["gradients"][v])), (v, a, b)
    for name, ts in times.items():
        ratio = (spread(ratios(times, name, theirs)) + "x of PyTorch (goal ≤ 0.5)"
                 if has("torch") and name == ours else "")
        rows.append((name, spread(ts) + " s", ratio))
    graph = cgcli.parse(text)
    engine = best_of(lambda: backward(graph, forward(graph, AT)))
    rows.append((f"engine alone: forward + backward, {len(graph):,} nodes",
                 f"{engine:.3f} s", f"{engine / len(graph) * 1e6:.2f} µs/node"))
    parse = best_of(lambda: cgcli.parse(text))
    rows.append(("parse alone", f"{parse:.3f} s", f"{parse / len(graph) * 1e6:.2f} µs/node"))
    ev = cgcli.gradients(graph, AT)
    out = best_of(render_all(ev)["json"])
    rows.append(("JSON alone", f"{out:.3f} s", f"{out / len(graph) * 1e6:.2f} µs/node"))
    return rows, {"nodes": len(graph), "ops": sum(1 for n in graph if n.inputs)}


def bench_scaling(small: int, large: int) -> list[tuple[str, str, str, str]]:
    rows = []
    sizes = {}
    for n in (small, large):
        text, _ = generated(n)
        graph = cgcli.parse(text)
        ev = cgcli.gradients(graph, AT)
        steps: dict[str, Callable[[], object]] = {
            "parse": lambda text=text: cgcli.parse(text),
            "engine (forward + backward)": lambda g=graph: backward(g, forward(g, AT)),
            **{f"output: {k}": f for k, f in render_all(ev).items()},
        }
        sizes[n] = {name: best_of(fn, 3) for name, fn in steps.items()}
    for name in sizes[small]:
        a, b = sizes[small][name], sizes[large][name]
        rows.append((name, f"{a * 1000:.0f} ms", f"{b * 1000:.0f} ms", f"{b / a:.1f} (goal ≤ 12)"))
    return rows


DEEP = {
    "sin(sin(...sin(x)...))": lambda n: "sin(" * n + "x" + ")" * n,
    "((((x+1)+1)...)+1)": lambda n: "(" * n + "x" + "+1)" * n,
    "((((x))))": lambda n: "(" * n + "x" + ")" * n,
}


def bench_deep(small: int, large: int) -> list[tuple[str, ...]]:
    """Whole processes (grad --json to /dev/null): time past start-up, and peak memory."""
    start, _ = min(run_once([*CGCLI, "grad", "x", "--at", "x=1", "--json"]) for _ in range(3))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, make in DEEP.items():
            t, peak = {}, {}
            for n in (small, large):
                path = Path(tmp, f"{n}.txt")
                path.write_text(make(n))
                t[n], peak[n] = run_once([*CGCLI, "grad", f"@{path}", "--at", "x=0.5",
                                          "--json"])
            past = {n: max(t[n] - start, 1e-3) for n in t}
            rows.append((name, f"{t[small]:.2f} s, {peak[small] / 2**20:.0f} MiB",
                         f"{t[large]:.2f} s, {peak[large] / 2**20:.0f} MiB",
                         f"{past[large] / past[small]:.1f} (goal ≤ 12)"))
    return rows


def bench_memory(n_ops: int) -> list[tuple[str, str]]:
    text, _ = generated(n_ops)
    tracemalloc.start()
    ev = cgcli.gradients(text, AT)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    n = len(ev.graph)
    held = sum(sys.getsizeof(v) for v in ev.values) + sum(
        sys.getsizeof(g) for g in ev.grads if g is not None)
    return [
        ("nodes", f"{n:,}"),
        ("peak traced memory: parse + forward + backward", f"{peak / 2**20:.1f} MiB"),
        ("of which values and gradients (floats)", f"{held / 2**20:.1f} MiB"),
        ("per node beyond the values", f"{(peak - held) / n:.0f} bytes"),
        ("expression text", f"{len(text) / 2**20:.1f} MiB"),
    ]


def bench_calculus(sizes: tuple[int, ...]) -> list[tuple[str, ...]]:
    """diff (formula, with SymPy's budget) and hessian (3 variables) at growing sizes."""
    from cgcli.derivatives import diff, hessian

    rows = []
    for n in sizes:
        text, _ = generated(n)
        graph = cgcli.parse(text)
        t_formula = best_of(lambda g=graph: diff(g, ["x"], use_sympy=False), 1)
        start = time.perf_counter()
        d = diff(graph, ["x"])
        t_sympy = time.perf_counter() - start
        t_hessian = best_of(lambda g=graph: hessian(g, AT), 1)
        by = d.formulas[0].by
        rows.append((f"{sum(1 for x in graph if x.inputs):,}", f"{t_formula:.3f} s",
                     f"{t_sympy:.2f} s ({'SymPy' if by == 'sympy' else 'cgcli: ' + d.notes[0]})"
                     if d.notes or by == "sympy" else f"{t_sympy:.2f} s",
                     f"{t_hessian:.3f} s"))
    return rows


def markdown(title: str, header: tuple[str, ...], rows: list[tuple]) -> str:
    lines = [f"### {title}", "", "| " + " | ".join(header) + " |",
             "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer rounds, smaller sizes")
    ap.add_argument("-o", "--output", type=Path, help="also write the markdown report here")
    args = ap.parse_args()
    n = 7 if args.quick else 21
    large = 20_000 if args.quick else 100_000
    small = large // 10
    deep = (10_000, 100_000) if args.quick else (100_000, 1_000_000)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        versions = [f"Python {platform.python_version()}", f"NumPy {np.__version__}"]
        for name in ("torch", "sympy"):
            if has(name):
                versions.append(f"{name} {__import__(name).__version__}")
        print(f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()}, {os.cpu_count()} "
              f"cores, {', '.join(versions)}. Times and ratios: median (min–max) over the "
              "rounds; ratios taken round by round.\n")
        print(markdown(f"1. One-shot start-up, {n} interleaved rounds",
                       ("command", "time", "ratio to import numpy"), bench_startup(n)))
        rows, info = bench_huge(large, max(3, n // 4))
        print(markdown(f"2. A {info['ops']:,}-operation expression ({info['nodes']:,} nodes), "
                       "parse + forward + backward + JSON", ("what", "time", "ratio"), rows))
        print(markdown(f"3. Scaling from {small:,} to {large:,} operations (in one process)",
                       ("step", f"{small:,} ops", f"{large:,} ops", "ratio"),
                       bench_scaling(small, large)))
        print(markdown(f"4. Deep nesting and long chains, {deep[0]:,} and {deep[1]:,} deep "
                       "(whole processes: time, peak memory)",
                       ("expression", f"{deep[0]:,}", f"{deep[1]:,}",
                        "ratio past start-up"), bench_deep(*deep)))
        print(markdown(f"5. Memory, {large:,} operations", ("what", "amount"),
                       bench_memory(large)))
        print(markdown("6. Derivatives as formulas and Hessians (x, y, z; in one process)",
                       ("operations", "diff --wrt x, the formula", "diff with SymPy",
                        "hessian (3×3)"), bench_calculus((100, 1_000, 10_000))))
    report = out.getvalue()
    print(report)
    if args.output:
        args.output.write_text(report)


if __name__ == "__main__":
    main()
