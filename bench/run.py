"""cgcli's benchmarks, all in one run: ``python bench/run.py [--quick] [-o docs/benchmarks.md]``.

Every goal is a ratio measured side by side in this one run (these machines are noisy):

1. cold start of ``cgcli grad ... --json`` (and the table) against ``python -c "import numpy"``;
2. a 100,000-operation expression end to end against the same computation with PyTorch
   scalar tensors, and the engine alone in microseconds per node;
3. linear scaling: time(100k) / time(10k) for parsing, the engine and every output format;
4. deep nesting (100,000 levels) without RecursionError, in linear time;
5. peak memory per node for the 100,000-operation case.

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

def run_rounds(commands: dict[str, list[str]], rounds: int,
               stdin: dict[str, str] | None = None) -> dict[str, float]:
    """Median wall time (s) of each command, the commands interleaved round by round."""
    times: dict[str, list[float]] = {k: [] for k in commands}
    for _ in range(rounds):
        for name, cmd in commands.items():
            feed = (stdin or {}).get(name)
            t = time.perf_counter()
            proc = subprocess.run(cmd, input=feed, text=True, env=ENV, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, check=False)
            times[name].append(time.perf_counter() - t)
            if proc.returncode != 0:
                raise SystemExit(f"{name} failed: {proc.stderr.strip()[:500]}")
    return {k: statistics.median(v) for k, v in times.items()}


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
    from rich.console import Console

    from cgcli.render import json as rjson
    from cgcli.render import table, tree

    def console() -> Console:
        return Console(file=io.StringIO(), width=100, color_system=None)

    return {
        "json": lambda: rjson.render(ev),
        "table": lambda: table.render(ev, console()),
        "tree": lambda: tree.render(ev, console()),
    }


# --- the benchmarks ---------------------------------------------------------------------------

def bench_startup(rounds: int) -> list[tuple[str, str, str]]:
    sig = "1/(1+exp(-x))"
    commands = {
        "python -c pass": [PY, "-c", "pass"],
        'python -c "import numpy"': [PY, "-c", "import numpy"],
        "cgcli grad ... --json": [*CGCLI, "grad", sig, "--at", "x=1", "--json"],
        "cgcli grad ... (table)": [*CGCLI, "grad", sig, "--at", "x=1"],
        "cgcli grad ... --format tree": [*CGCLI, "grad", sig, "--at", "x=1", "--format", "tree"],
    }
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
    med = run_rounds(commands, rounds)
    base = med['python -c "import numpy"']
    goals = {"cgcli grad ... --json": "≤ 1.5", "cgcli grad ... (table)": "≤ 1.8"}
    return [(name, f"{t * 1000:.0f} ms", f"{t / base:.2f}x" + (
        f" (goal {goals[name]})" if name in goals else "")) for name, t in med.items()]


def bench_huge(n_ops: int, rounds: int) -> tuple[list, dict]:
    text, script = generated(n_ops)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        expr_file = Path(tmp, "expr.txt")
        expr_file.write_text(text)
        torch_file = Path(tmp, "torch_version.py")
        torch_file.write_text(script)
        commands = {"cgcli grad @expr --json (whole process)":
                    [*CGCLI, "grad", f"@{expr_file}", *at_args(), "--json"]}
        if has("torch"):
            commands["PyTorch scalar tensors (whole process)"] = [PY, str(torch_file)]
        med = run_rounds(commands, rounds)
        if has("torch"):  # the two must agree before their times mean anything
            ours = json.loads(subprocess.run(commands["cgcli grad @expr --json (whole process)"],
                                             capture_output=True, text=True, env=ENV,
                                             check=True).stdout)
            theirs = json.loads(subprocess.run([PY, str(torch_file)], capture_output=True,
                                               text=True, env=ENV, check=True).stdout)
            for v in "xyz":
                assert abs(ours["gradients"][v] - theirs["gradients"][v]) <= \
                    1e-9 * max(1.0, abs(theirs["gradients"][v])), (v, ours, theirs)
    base = med.get("PyTorch scalar tensors (whole process)")
    for name, t in med.items():
        rows.append((name, f"{t:.2f} s", f"{t / base:.2f}x of PyTorch" if base else ""))
    graph = cgcli.parse(text)
    values = forward(graph, AT)
    engine = best_of(lambda: backward(graph, forward(graph, AT), None))
    del values
    rows.append((f"engine alone: forward + backward, {len(graph):,} nodes",
                 f"{engine:.3f} s", f"{engine / len(graph) * 1e6:.2f} µs/node (goal ≤ 3)"))
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


def bench_deep(small: int, large: int) -> list[tuple[str, str, str, str]]:
    shapes = {
        "sin(sin(...sin(x)...))": lambda n: "sin(" * n + "x" + ")" * n,
        "((((x+1)+1)...)+1)": lambda n: "(" * n + "x" + "+1)" * n,
        "((((x))))": lambda n: "(" * n + "x" + ")" * n,
    }
    rows = []
    for name, make in shapes.items():
        t = {}
        for n in (small, large):
            text = make(n)
            t[n] = best_of(lambda text=text: cgcli.gradients(text, x=0.5), 2)
        rows.append((name, f"{t[small] * 1000:.0f} ms", f"{t[large] * 1000:.0f} ms",
                     f"{t[large] / t[small]:.1f} (linear: {large / small:.0f})"))
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
        ("of which values and gradients (NumPy scalars)", f"{held / 2**20:.1f} MiB"),
        ("per node beyond the values", f"{(peak - held) / n:.0f} bytes"),
        ("expression text", f"{len(text) / 2**20:.1f} MiB"),
    ]


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
    rounds = 7 if args.quick else 31
    large = 20_000 if args.quick else 100_000
    small = large // 10
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        print(f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()}, {os.cpu_count()} "
              f"cores, Python {platform.python_version()}, NumPy {np.__version__}"
              + (f", PyTorch {__import__('torch').__version__}" if has("torch") else "")
              + ".\n")
        print(markdown(f"1. Cold start, median of {rounds} interleaved runs",
                       ("command", "time", "ratio to import numpy"), bench_startup(rounds)))
        rows, info = bench_huge(large, max(3, rounds // 4))
        print(markdown(f"2. A {info['ops']:,}-operation expression ({info['nodes']:,} nodes), "
                       "parse + forward + backward + JSON", ("what", "time", "ratio"), rows))
        print(markdown(f"3. Scaling from {small:,} to {large:,} operations",
                       ("step", f"{small:,} ops", f"{large:,} ops", "ratio"),
                       bench_scaling(small, large)))
        print(markdown(f"4. Deep nesting, {small:,} and {large:,} levels",
                       ("expression", f"{small:,}", f"{large:,}", "ratio"),
                       bench_deep(small, large)))
        print(markdown(f"5. Memory, {large:,} operations", ("what", "amount"),
                       bench_memory(large)))
    report = out.getvalue()
    print(report)
    if args.output:
        args.output.write_text(report)


if __name__ == "__main__":
    main()
