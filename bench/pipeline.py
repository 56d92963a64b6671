"""Dask benchmark: ``python bench/pipeline.py [--rows N] [--partitions P] [--workers 1 2 4]
[-o FILE]`` (needs ``pip install ".[data]"``).

The README's recipe on a Parquet dataset of N rows (x0, x1, y) in P files: read, run
``cgcli.batch`` on every partition (per-row value and gradients of a logistic neuron's loss),
then either take the mean of every column (the full-batch gradient, back to the client) or
write every row's result to Parquet; on a ``dask.distributed.LocalCluster`` of 1, 2 and 4
worker processes with one thread each. Rows per second are the best of ``--rounds`` rounds
after a warm-up, beside the same pipelines in one process without Dask (pandas, file by
file) and ``cgcli.batch`` alone on a frame in memory. The clusters are started together and
take turns within each round, so that other jobs on the machine slow them alike. Last,
``cgcli.batch`` on one partition at two chunk sizes, with glibc's malloc settings and with
those of Dask's workers.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

import cgcli

EXPR = "s = sigmoid(w0*x0 + w1*x1 + w2); L = -(y*log(s) + (1 - y)*log(1 - s))"
WEIGHTS = {"w0": 0.5, "w1": -1.5, "w2": 0.1}


def make_dataset(path: Path, rows: int, partitions: int) -> None:
    import pandas as pd

    rng = np.random.default_rng(14)
    path.mkdir(parents=True)
    per = -(-rows // partitions)
    for k in range(partitions):
        n = min(per, rows - k * per)
        pd.DataFrame({"x0": rng.normal(size=n), "x1": rng.normal(size=n),
                      "y": rng.integers(0, 2, size=n).astype(float)}).to_parquet(
            path / f"part.{k:03d}.parquet", index=False)


def dask_runs(source: Path, target: Path, client: Any) -> dict[str, Callable[[], None]]:
    """The recipe to the mean and to Parquet, computed on ``client``'s cluster."""
    import dask.dataframe as dd

    def recipe() -> dd.DataFrame:
        ddf = dd.read_parquet(source)
        return ddf.map_partitions(lambda part: cgcli.batch(EXPR, part, **WEIGHTS))

    def to_parquet() -> None:
        shutil.rmtree(target, ignore_errors=True)
        client.compute(recipe().to_parquet(target, compute=False)).result()

    return {"mean": lambda: client.compute(recipe().mean()).result(), "parquet": to_parquet}


def plain_runs(source: Path, target: Path) -> dict[str, Callable[[], None]]:
    """The same two pipelines in this process, file by file, with pandas."""
    import pandas as pd

    parts = sorted(source.glob("*.parquet"))

    def to_parquet() -> None:
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir()
        for part in parts:
            cgcli.batch(EXPR, pd.read_parquet(part), **WEIGHTS).to_parquet(target / part.name)

    def to_mean() -> None:
        results = [cgcli.batch(EXPR, pd.read_parquet(part), **WEIGHTS) for part in parts]
        _ = sum(r.sum() for r in results) / sum(len(r) for r in results)

    return {"mean": to_mean, "parquet": to_parquet}


def interleaved(setups: dict[str, dict[str, Callable[[], None]]],
                rounds: int) -> dict[str, dict[str, float]]:
    """Best time of each run of each setup over ``rounds`` rounds, the setups taking turns
    within a round (other jobs on the machine then slow them alike), after a warm-up."""
    best: dict[str, dict[str, float]] = {name: {} for name in setups}
    for r in range(rounds + 1):
        for name, runs in setups.items():
            for what, run in runs.items():
                start = time.perf_counter()
                run()
                t = time.perf_counter() - start
                if r:  # round 0 warms up: imports, the workers' first tasks
                    best[name][what] = min(t, best[name].get(what, t))
    return best


def in_memory(source: Path, rounds: int) -> float:
    import pandas as pd

    frame = pd.read_parquet(source)
    cgcli.batch(EXPR, frame, **WEIGHTS)
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        cgcli.batch(EXPR, frame, **WEIGHTS)
        times.append(time.perf_counter() - start)
    return min(times)


def chunk_times(rows: int = 250_000, rounds: int = 7) -> dict[int, float]:
    """Best time of ``cgcli.batch`` on one partition-sized frame at several chunk sizes (run
    in a child process, whose malloc settings the parent chooses)."""
    import pandas as pd

    import cgcli.frames

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x0": rng.normal(size=rows), "x1": rng.normal(size=rows),
                          "y": rng.integers(0, 2, size=rows).astype(float)})
    times: dict[int, float] = {}
    for r in range(rounds + 1):
        for step in CHUNKS:
            cgcli.frames.chunk_rows_for = lambda shared, graph, step=step: 8 * step
            start = time.perf_counter()
            cgcli.batch(EXPR, frame, **WEIGHTS)
            t = time.perf_counter() - start
            if r:
                times[step] = min(t, times.get(step, t))
    return times


#: A malloc trim threshold for Dask's workers that keeps freed memory for reuse (16 MiB).
TRIM = 16 << 20
#: Rows per chunk compared: cgcli.batch's (an eighth of --batch's reading chunk) and --batch's.
CHUNKS = (8_192, 65_536)
#: glibc's own settings, and those of Dask's worker processes (distributed.yaml:
#: nanny.pre-spawn-environ), which return freed memory to the system at once.
MALLOC = {"glibc's defaults": None, "Dask worker (MALLOC_TRIM_THRESHOLD_=65536)": "65536",
          f"MALLOC_TRIM_THRESHOLD_={TRIM} (16 MiB)": str(TRIM)}


def chunk_report() -> list[str]:
    import json
    import subprocess

    lines = ["| malloc settings | " + " | ".join(f"{c:,} rows per chunk" for c in CHUNKS)
             + " | ratio |", "| --- |" + " --- |" * (len(CHUNKS) + 1)]
    best: dict[str, dict[int, float]] = {label: {} for label in MALLOC}
    for _ in range(3):  # the settings take turns, a child process each, best kept
        for label, trim in MALLOC.items():
            env = {k: v for k, v in os.environ.items() if k != "MALLOC_TRIM_THRESHOLD_"}
            if trim:
                env["MALLOC_TRIM_THRESHOLD_"] = trim
            out = subprocess.run([sys.executable, __file__, "--chunks"], env=env, check=True,
                                 capture_output=True, text=True).stdout
            for k, t in json.loads(out).items():
                best[label][int(k)] = min(t, best[label].get(int(k), t))
    for label, times in best.items():
        lines.append(f"| {label} | " + " | ".join(f"{times[c] * 1e3:.1f} ms" for c in CHUNKS)
                     + f" | {times[CHUNKS[-1]] / times[CHUNKS[0]]:.2f}x |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=4_000_000)
    parser.add_argument("--partitions", type=int, default=16)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("-o", "--output", help="also write the report to this file")
    parser.add_argument("--chunks", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.chunks:  # the child process of chunk_report
        import json

        print(json.dumps(chunk_times()))
        return
    import dask
    import pandas as pd
    import pyarrow as pa

    rows = args.rows
    lines = [
        f"Measured {date.today()} on {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, NumPy {np.__version__}, pandas {pd.__version__}, "
        f"pyarrow {pa.__version__}, Dask {dask.__version__}; {rows:,} rows in "
        f"{args.partitions} Parquet files; best of {args.rounds} rounds after a warm-up, the "
        "setups taking turns in each round.", "",
        f"Expression: `{EXPR}` with {', '.join(f'{k}={v}' for k, v in WEIGHTS.items())} "
        "shared; per row the value and 6 gradients. *→ mean*: the mean of every column (the "
        "loss and the full-batch gradient) back to the client; *→ Parquet*: every row's "
        "result written to Parquet files.", "",
        "| where | → mean: time | rows/s | against 1 worker | → Parquet: time | rows/s "
        "| against 1 worker |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]

    def row(where: str, times: dict[str, float], first: dict[str, float] | None) -> str:
        cells = [where]
        for what in ("mean", "parquet"):
            t = times[what]
            cells += [f"{t:.2f} s", f"{rows / t:,.0f}",
                      f"{first[what] / t:.2f}x" if first else ""]
        return "| " + " | ".join(cells) + " |"

    from dask.distributed import Client, LocalCluster

    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        source, target = Path(tmp) / "in", Path(tmp) / "out"
        make_dataset(source, rows, args.partitions)
        t = in_memory(source, args.rounds)
        lines.append(f"| `cgcli.batch` alone, one DataFrame in memory: {t:.2f} s, "
                     f"{rows / t:,.0f} rows/s | | | | | | |")
        setups: dict[Any, dict[str, Callable[[], None]]] = {
            "plain": plain_runs(source, target)}
        clusters = [(n, None) for n in args.workers] + [(2, TRIM)]
        for n, trim in clusters:
            environ = {} if trim is None else {
                "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": trim}
            with dask.config.set(environ):
                cluster = stack.enter_context(LocalCluster(
                    n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None))
            client = stack.enter_context(Client(cluster, set_as_default=False))
            setups[n, trim] = dask_runs(source, target, client)
        best = interleaved(setups, args.rounds)
        lines.append(row("one process, no Dask (pandas, file by file)", best["plain"], None))
        for n, trim in clusters:
            label = f"`LocalCluster(n_workers={n}, threads_per_worker=1)`" + (
                "" if trim is None else f", workers' `MALLOC_TRIM_THRESHOLD_={trim}`")
            lines.append(row(label, best[n, trim], best[clusters[0]]))
    lines += ["", "`cgcli.batch` on one partition (250,000 rows), by rows per chunk and malloc "
              "settings (best of 3 child processes taking turns, 7 runs each):", "",
              *chunk_report()]
    load = os.getloadavg()[1]
    lines += ["", f"Load average over the last 5 minutes when done: {load:.1f} on "
                  f"{os.cpu_count()} cores (other jobs on the machine take cores from the "
                  "workers)."]
    report = "\n".join(lines) + "\n"
    sys.stdout.write(report)
    if args.output:
        Path(args.output).write_text(report)


if __name__ == "__main__":
    main()
