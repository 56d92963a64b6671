"""What the progress bar costs: ``python bench/progress.py [--rows 1000000] [--rounds 9]``.

1. The same ``--batch`` run (a CSV file of w, x, b per row in, CSV out to /dev/null) with
   stderr on a pseudo-terminal, where cgcli draws its progress bar, and with stderr on
   /dev/null, where it draws nothing. The two alternate; the ratios of their median wall
   time and CPU time (user + system, the child's own) are the cost of the bar (goal: at most
   1.02). What reaches the terminal is read as it comes and checked for the bar.
2. Where the cost goes, measured inside one such run with stderr on a pseudo-terminal: the
   CPU time of importing Rich and building the display (once), and the thread CPU time of
   each redraw while the batch runs.

On a machine shared with other jobs, wall times move by ±30% from run to run; the CPU
ratio, pair by pair, moves less.
"""

from __future__ import annotations

import argparse
import json
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
ENV = {k: v for k, v in os.environ.items()
       if k not in ("PYTHONDONTWRITEBYTECODE", "NO_COLOR", "CGCLI_PROGRESS_DELAY")}


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


def child(args: list[str], on_terminal: bool) -> tuple[float, float, bytes, bytes]:
    """Run ``args`` (stdout captured); (wall s, CPU s of the child, stdout, terminal bytes)."""
    seen = bytearray()
    if on_terminal:
        main_fd, term_fd = pty.openpty()
        reader = threading.Thread(target=drain, args=(main_fd, seen))
        reader.start()
    t = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(args, stdout=out, env=ENV,
                                stderr=term_fd if on_terminal else subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - t
        out.seek(0)
        stdout = out.read(1 << 16)
    if on_terminal:
        os.close(term_fd)
        reader.join()
        os.close(main_fd)
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"{args} failed: {os.waitstatus_to_exitcode(status)}")
    return elapsed, usage.ru_utime + usage.ru_stime, stdout, bytes(seen)


def whole_runs(csv: Path, rounds: int) -> list[str]:
    args = [CGCLI, "grad", EXPR, "--batch", str(csv), "--format", "csv"]
    child([*args[:-2]], False)  # warm the file cache and the bytecode
    times: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
    redraws = []
    for k in range(rounds):
        for on_terminal in ((True, False) if k % 2 == 0 else (False, True)):
            elapsed, cpu, _, seen = child(args, on_terminal)
            if on_terminal:
                assert b"rows/s" in seen and b"%" in seen, "no bar was drawn"
                redraws.append(seen.count(b"\r\x1b[2K") / elapsed)
            times[on_terminal].append((elapsed, cpu))
    lines = ["| stderr | wall: median (min–max) | CPU, user + system: median (min–max) |",
             "| --- | --- | --- |"]
    for on_terminal, name in ((True, "a terminal: the bar drawn"),
                              (False, "/dev/null: nothing drawn")):
        cells = []
        for k in (0, 1):
            t = [run[k] for run in times[on_terminal]]
            cells.append(f"{statistics.median(t):.2f} s ({min(t):.2f}–{max(t):.2f})")
        lines.append(f"| {name} | {cells[0]} | {cells[1]} |")
    lines.append("")
    for k, what in ((0, "wall"), (1, "CPU")):
        ratio = (statistics.median(r[k] for r in times[True])
                 / statistics.median(r[k] for r in times[False]))
        pairs = [a[k] / b[k] for a, b in zip(times[True], times[False], strict=True)]
        lines.append(f"- {what}: ratio of medians **{ratio:.3f}** (goal ≤ 1.02); pair by pair "
                     f"{min(pairs):.3f}–{max(pairs):.3f}, median {statistics.median(pairs):.3f}")
    lines.append(f"- redraws: {statistics.median(redraws):.1f} a second (median of the runs)")
    return lines


def inside(csv: str) -> None:
    """In a child whose stderr is a terminal: the display's costs, as JSON on stdout."""
    import io

    import cgcli.batchio
    import cgcli.cli.app  # noqa: F401 - what a batch run has imported when the bar starts
    from cgcli.cli import progress

    t = time.process_time()
    progress._rich_progress()
    build = time.process_time() - t
    import rich.live

    redraw: list[float] = []
    refresh = rich.live.Live.refresh

    def timed(self: rich.live.Live) -> None:
        t = time.thread_time()
        refresh(self)
        redraw.append(time.thread_time() - t)

    rich.live.Live.refresh = timed  # type: ignore[method-assign]
    from cgcli.batchio import run
    from cgcli.parser import parse

    text = Path(csv).read_text()
    t, w = time.process_time(), time.perf_counter()
    with progress.count("batch", "rows", total=len(text)) as c, open(os.devnull, "w") as out:
        run(parse(EXPR), io.StringIO(text), out, shared={}, in_fmt=None, out_fmt="csv",
            gradients=True, wrt=None, report=None,
            progress=lambda n: c.update(n, done=n * len(text) / 1e6))
    json.dump({"build": build, "redraws": redraw, "cpu": time.process_time() - t,
               "wall": time.perf_counter() - w}, sys.stdout)


def components(csv: Path) -> list[str]:
    code = f"import sys; sys.argv[1:] = ['--inside', {str(csv)!r}]; exec(open({__file__!r}).read())"
    builds, per, shares = [], [], []
    for _ in range(3):
        _, _, stdout, _ = child([sys.executable, "-c", code], True)
        r = json.loads(stdout)
        builds.append(r["build"])
        per.append(statistics.median(r["redraws"]))
        shares.append(sum(r["redraws"]) / r["cpu"])
    return [f"- importing Rich and building the display: {statistics.median(builds) * 1e3:.0f} ms "
            f"of CPU, once ({', '.join(f'{b * 1e3:.0f}' for b in builds)} ms in three runs)",
            f"- one redraw beside the running batch: {statistics.median(per) * 1e3:.2f} ms of "
            f"thread CPU (median); all redraws: {statistics.median(shares):.1%} of the batch's "
            "CPU time"]


def main() -> None:
    if sys.argv[1:2] == ["--inside"]:
        inside(sys.argv[2])
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=9)
    args = ap.parse_args()
    lines = [f"{args.rows:,} rows of `{EXPR}`, CSV in and out, {args.rounds} runs each, "
             f"alternating; {os.cpu_count()} cores, Python {sys.version.split()[0]}, measured "
             f"{time.strftime('%Y-%m-%d')}", ""]
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "rows.csv"
        with csv.open("w") as f:
            f.write("w,x,b\n")
            np.savetxt(f, np.random.default_rng(1).normal(size=(args.rows, 3)),
                       delimiter=",", fmt="%.6g")
        lines += whole_runs(csv, args.rounds)
        lines += ["", "Where it goes (inside one run, stderr a terminal):", ""]
        lines += components(csv)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
