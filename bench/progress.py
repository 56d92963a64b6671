"""What the progress bar costs: ``python bench/progress.py [--rows 1000000] [--rounds 7]``.

The same ``--batch`` run (a CSV file of w, x, b per row in, CSV out to /dev/null) with stderr
on a pseudo-terminal, where cgcli draws its progress bar, and with stderr on /dev/null, where
it draws nothing; the two alternate, and the ratio of their median wall times is the cost of
the bar (goal: at most 1.02). The terminal's output is read as it comes, as a terminal would,
and checked for the bar, so the first run is known to have drawn one.
"""

from __future__ import annotations

import argparse
import os
import pty
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

EXPR = "1/(1+exp(-(w*x+b)))"
CGCLI = str(Path(sys.executable).with_name("cgcli"))
ENV = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "NO_COLOR")}


def drain(fd: int, sink: bytearray) -> None:
    """Read the terminal's side until the child closes it."""
    while True:
        try:
            data = os.read(fd, 65536)
        except OSError:  # EIO: the child closed its side
            return
        if not data:
            return
        sink += data


def child(args: list[str], stderr: int) -> tuple[float, float]:
    """Run ``args``; (wall seconds, CPU seconds: user + system of the child)."""
    t = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=stderr, env=ENV)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - t
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"{args} failed: exit {proc.returncode}")
    return elapsed, usage.ru_utime + usage.ru_stime


def run(csv: Path, on_terminal: bool) -> tuple[float, float, bytes]:
    """One batch run; (wall seconds, CPU seconds, what reached the terminal)."""
    args = [CGCLI, "grad", EXPR, "--batch", str(csv), "--format", "csv"]
    if not on_terminal:
        return (*child(args, subprocess.DEVNULL), b"")
    seen = bytearray()
    main_fd, term_fd = pty.openpty()
    reader = threading.Thread(target=drain, args=(main_fd, seen))
    reader.start()
    elapsed, cpu = child(args, term_fd)
    os.close(term_fd)
    reader.join()
    os.close(main_fd)
    return elapsed, cpu, bytes(seen)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "rows.csv"
        with csv.open("w") as f:
            f.write("w,x,b\n")
            np.savetxt(f, np.random.default_rng(1).normal(size=(args.rows, 3)),
                       delimiter=",", fmt="%.6g")
        run(csv, False)  # warm the file cache and the bytecode
        times: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
        frames = []
        for k in range(args.rounds):
            for on_terminal in ((True, False) if k % 2 == 0 else (False, True)):
                elapsed, cpu, seen = run(csv, on_terminal)
                if on_terminal:
                    assert b"rows/s" in seen and b"%" in seen, "no bar was drawn"
                    frames.append(seen.count(b"\r\x1b[2K") / elapsed)
                times[on_terminal].append((elapsed, cpu))
    print(f"{args.rows:,} rows, {args.rounds} runs each, alternating; "
          f"{os.cpu_count()} cores, Python {sys.version.split()[0]}\n")
    print("| stderr | wall: median (min–max) | CPU, user + system: median (min–max) |\n"
          "| --- | --- | --- |")
    for on_terminal, name in ((True, "a terminal: the bar drawn"),
                              (False, "/dev/null: nothing drawn")):
        cells = []
        for k in (0, 1):
            t = [run_[k] for run_ in times[on_terminal]]
            cells.append(f"{statistics.median(t):.2f} s ({min(t):.2f}–{max(t):.2f})")
        print(f"| {name} | {cells[0]} | {cells[1]} |")
    for k, what in ((0, "wall"), (1, "CPU")):
        ratio = (statistics.median(r[k] for r in times[True])
                 / statistics.median(r[k] for r in times[False]))
        pairs = [a[k] / b[k] for a, b in zip(times[True], times[False], strict=True)]
        print(f"\n{what}: ratio of medians {ratio:.3f} (goal ≤ 1.02); pair by pair "
              f"{', '.join(f'{r:.3f}' for r in pairs)}")
    print(f"\nredraws: {statistics.median(frames):.1f} a second (median of the runs)")

if __name__ == "__main__":
    main()
