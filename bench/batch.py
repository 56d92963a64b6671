"""Batch benchmark: ``python bench/batch.py [--rows 1000000 10000000] [-o FILE]``.

1. The batched engine against the NumPy floor: ``1/(1+exp(-(w*x+b)))`` with w, x, b per row,
   forward and backward, by cgcli (in the CLI's chunks) and by hand-written NumPy over the
   same arrays, timed alternately in one process; the goal is at most 3x.
2. End to end through the CLI: a CSV of the rows in, CSV and JSON Lines out; rows per second
   and peak memory (the child's maximum resident set), for each row count.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import cgcli
from cgcli.batched import evaluate as batch_evaluate
from cgcli.batchio import CHUNK_ROWS

EXPR = "1/(1+exp(-(w*x+b)))"
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
CGCLI = [str(Path(sys.executable).with_name("cgcli"))]


def numpy_floor(w: np.ndarray, x: np.ndarray, b: np.ndarray) -> tuple:
    """Forward and backward of the same formula, written by hand with NumPy."""
    t = w * x + b
    e = np.exp(-t)
    p = 1.0 + e
    s = 1.0 / p
    dp = -1.0 / (p * p)  # ds/dp
    dt = dp * e * -1.0  # dp/de = 1, de/dt = -e
    return s, dt * x, dt * w, dt


def cgcli_engine(graph: cgcli.Graph, w: np.ndarray, x: np.ndarray, b: np.ndarray) -> list:
    out = []
    for k in range(0, len(w), CHUNK_ROWS):
        r = batch_evaluate(graph, {"w": w[k:k + CHUNK_ROWS], "x": x[k:k + CHUNK_ROWS],
                                   "b": b[k:k + CHUNK_ROWS]})
        out.append((r.value, r.gradient("w"), r.gradient("x"), r.gradient("b")))
    return out


def engine_ratio(rows: int, rounds: int = 5) -> tuple[float, float, float]:
    rng = np.random.default_rng(0)
    w, x, b = (rng.normal(size=rows) for _ in range(3))
    graph = cgcli.parse(EXPR)
    ours = cgcli_engine(graph, w, x, b)
    floor = numpy_floor(w, x, b)
    got = [np.concatenate([c[k] for c in ours]) for k in range(4)]
    for a, f in zip(got, (floor[0], floor[1], floor[2], floor[3]), strict=True):
        assert np.allclose(a, f, rtol=1e-12, atol=1e-15)  # same numbers before timing them
    t_ours, t_floor = [], []
    for _ in range(rounds):
        t = time.perf_counter()
        cgcli_engine(graph, w, x, b)
        t_ours.append(time.perf_counter() - t)
        t = time.perf_counter()
        numpy_floor(w, x, b)
        t_floor.append(time.perf_counter() - t)
    a, f = statistics.median(t_ours), statistics.median(t_floor)
    return a, f, a / f


def end_to_end(rows: int, tmp: Path) -> list[tuple[str, str, str, str]]:
    rng = np.random.default_rng(1)
    csv = tmp / f"rows_{rows}.csv"
    with csv.open("w") as f:
        f.write("w,x,b\n")
        for k in range(0, rows, 1_000_000):
            n = min(1_000_000, rows - k)
            np.savetxt(f, rng.normal(size=(n, 3)), delimiter=",", fmt="%.6g")
    results = []
    # GNU time reports each child's own peak; getrusage only the largest child so far.
    gnu_time = ["/usr/bin/time", "-f", "%M"] if Path("/usr/bin/time").exists() else []
    for fmt in ("csv", "jsonl"):
        t = time.perf_counter()
        with csv.open() as src:
            proc = subprocess.run([*gnu_time, *CGCLI, "grad", EXPR, "--batch", "-", "--format",
                                   fmt], stdin=src, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, env=ENV, check=False)
        elapsed = time.perf_counter() - t
        if proc.returncode:
            raise SystemExit(proc.stderr.decode()[:500])
        if gnu_time:
            peak_note = f"{int(proc.stderr.decode().split()[-1]) / 1024:.0f} MiB"
        else:
            peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            peak_note = f"≤ {peak / 1024:.0f} MiB"
        results.append((f"{rows:,} rows, CSV in, {fmt} out", f"{elapsed:.1f} s",
                        f"{rows / elapsed:,.0f} rows/s", peak_note))
    csv.unlink()
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    ap.add_argument("-o", "--output", type=Path)
    args = ap.parse_args()
    lines = [f"Measured {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, NumPy "
             f"{np.__version__}; expression `{EXPR}`, w, x, b per row.", "",
             "### Batched engine against hand-written NumPy (forward + backward)", "",
             "| rows | cgcli engine | NumPy floor | ratio (goal ≤ 3) |",
             "| --- | --- | --- | --- |"]
    for rows in args.rows[:1]:
        a, f, r = engine_ratio(rows)
        lines.append(f"| {rows:,} | {a * 1000:.0f} ms | {f * 1000:.0f} ms | {r:.2f}x |")
    lines += ["", "### End to end through the CLI (parsing and formatting included)", "",
              "| run | time | throughput | peak memory (max RSS) |", "| --- | --- | --- | --- |"]
    with tempfile.TemporaryDirectory() as tmp:
        for rows in args.rows:
            for row in end_to_end(rows, Path(tmp)):
                lines.append("| " + " | ".join(row) + " |")
    report = "\n".join(lines) + "\n"
    print(report)
    if args.output:
        args.output.write_text(report)


if __name__ == "__main__":
    main()
