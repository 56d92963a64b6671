"""Progress on long work: shown on a terminal's stderr only, never in pipes; Ctrl-C is clean.

The end-to-end tests run cgcli on a real pseudo-terminal (pexpect) and read back what the
terminal received; pyte, a terminal emulator, replays it to see what stays on the screen.
"""

from __future__ import annotations

import io
import itertools
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cgcli.batchio import run as batch_run
from cgcli.cli import progress
from cgcli.cli.progress import Work, count, phase, session, track, whole_writes
from cgcli.parser import parse

pexpect = pytest.importorskip("pexpect")
pyte = pytest.importorskip("pyte")

CGCLI = str(Path(sys.executable).with_name("cgcli"))
EXPR = "1/(1+exp(-(w*x+b)))"
ROWS = 400_000  # 1.2-2 s here: the bar shows after 0.5 s and has time to move; short for a test
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
WIDTH, HEIGHT = 120, 24


@pytest.fixture(scope="module")
def rows_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("batch") / "rows.csv"
    with path.open("w") as f:
        f.write("w,x,b\n")
        np.savetxt(f, np.random.default_rng(0).normal(size=(ROWS, 3)), delimiter=",",
                   fmt="%.6g")
    return path


def environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "CGCLI_PROGRESS_DELAY")}
    return {**env, "TERM": "xterm-256color", **extra}


def interactive() -> None:
    """In the child: Ctrl-C as at a prompt, even when the tests run as a background job
    (which ignores SIGINT, and a program it starts rightly keeps ignoring it)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def spawn(command: str, **env: str) -> Any:
    return pexpect.spawn("bash", ["-c", command], env=environment(**env),
                         dimensions=(HEIGHT, WIDTH), timeout=60, preexec_fn=interactive)


def on_terminal(command: str, **env: str) -> tuple[int, bytes]:
    """Run a shell command line whose stderr (and whatever it does not redirect) is a
    pseudo-terminal; (exit status, every byte the terminal received)."""
    child = spawn(command, **env)
    seen = child.read()
    child.close()
    return child.exitstatus, seen


def screen_after(seen: bytes) -> list[str]:
    """The non-blank lines a terminal shows once it has received ``seen``."""
    screen = pyte.Screen(WIDTH, HEIGHT)
    pyte.ByteStream(screen).feed(seen)
    return [line.rstrip() for line in screen.display if line.strip()]


def plain(seen: bytes) -> str:
    return ANSI.sub("", seen.decode("utf-8", "replace"))


def batch(source: str, out: Path, *more: str) -> str:
    return f"exec {CGCLI} grad '{EXPR}' --batch {source} --format csv {' '.join(more)} > {out}"


# --- end to end, on a pseudo-terminal ---------------------------------------------------------


def test_batch_from_a_file_shows_a_bar_on_a_terminal_and_nothing_in_a_pipe(
        rows_csv: Path, tmp_path: Path) -> None:
    code, seen = on_terminal(batch(str(rows_csv), tmp_path / "tty.csv"))
    assert code == 0
    text = plain(seen)
    # bar, percent, rows done, rows per second, time so far, time left
    assert re.search(r"batch ━+[━╸╺ ]*\s+\d+%  [\d,]+ rows  [\d,]+ rows/s  \d:\d\d  \d:\d\d left",
                     text), text[:500]
    assert f"100%  {ROWS:,} rows" in text  # the last frame, before it is cleared
    assert screen_after(seen) == []  # and then nothing is left on the screen

    with (tmp_path / "pipe.csv").open("w") as out:
        proc = subprocess.run([CGCLI, "grad", EXPR, "--batch", str(rows_csv), "--format", "csv"],
                              stdout=out, stderr=subprocess.PIPE, env=environment(),
                              check=False, timeout=60)
    assert proc.returncode == 0 and proc.stderr == b""  # no progress text at all
    tty, piped = (tmp_path / "tty.csv").read_bytes(), (tmp_path / "pipe.csv").read_bytes()
    assert tty == piped and piped.count(b"\n") == ROWS + 1


def first_rows(rows_csv: Path, n: int, path: Path) -> Path:
    with rows_csv.open() as f:
        path.write_text("".join(next(f) for _ in range(n + 1)))
    return path


def test_batch_from_a_pipe_counts_rows_without_a_bar(rows_csv: Path, tmp_path: Path) -> None:
    part = first_rows(rows_csv, 20_000, tmp_path / "part.csv")
    # CGCLI_PROGRESS_DELAY=0 shows progress at once: a short batch is enough to see it
    code, seen = on_terminal(f"cat {part} | " + batch("-", tmp_path / "out.csv"),
                             CGCLI_PROGRESS_DELAY="0")
    assert code == 0
    text = plain(seen)
    assert re.search(r"batch\s+20,000 rows  [\d,]+ rows/s  \d:\d\d", text), text[:500]
    assert "%" not in text and "━" not in text and "left" not in text  # no size, no bar
    assert screen_after(seen) == []


def test_ctrl_c_mid_batch_leaves_complete_rows_and_exits_130(tmp_path: Path) -> None:
    fifo, out = tmp_path / "rows.fifo", tmp_path / "out.csv"
    os.mkfifo(fifo)
    rows = "".join(f"{k % 7 - 3}.5,{k % 5}.25,-{k % 3}\n" for k in range(20_000))

    def feed() -> None:  # rows without end: the batch is still running when Ctrl-C comes
        try:
            with open(fifo, "w") as f:
                f.write("w,x,b\n")
                while True:
                    f.write(rows)
        except (BrokenPipeError, OSError):
            pass

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    child = spawn(batch(str(fifo), out))
    child.logfile_read = terminal = io.BytesIO()
    child.expect(r"[1-9][\d,]* rows  [\d,]+ rows/s")  # the counter is up: rows are flowing
    child.sendintr()  # ^C through the terminal, as a person types it
    child.expect(pexpect.EOF)
    child.close()
    seen = terminal.getvalue()
    feeder.join(10)
    assert child.exitstatus == 130 and child.signalstatus is None
    data = out.read_text()
    lines = data.splitlines()
    assert data.endswith("\n") and len(lines) > 1
    assert lines[0] == "value,d_w,d_x,d_b"
    table = np.array([[float(c) for c in line.split(",")] for line in lines[1:]])
    assert table.shape == (len(lines) - 1, 4)  # every row whole: four numbers
    assert not [line for line in screen_after(seen) if "rows" in line]  # the bar is cleared


def test_output_on_the_terminal_itself_is_the_progress(rows_csv: Path, tmp_path: Path) -> None:
    part = first_rows(rows_csv, 2000, tmp_path / "part.csv")
    code, seen = on_terminal(batch(str(part), tmp_path / "out.csv"), CGCLI_PROGRESS_DELAY="0")
    assert code == 0 and "2,000 rows" in plain(seen)  # shown at once when output is a file,
    code, seen = on_terminal(batch(str(part), "/dev/stdout"), CGCLI_PROGRESS_DELAY="0")
    text = plain(seen)  # not with the rows on the screen (phases before them, cleared)
    assert code == 0 and len(re.findall(r"^[^,\n]+(?:,[^,\n]+){3}\r$", text, re.M)) == 2001
    assert " rows" not in text and "━" not in text


def test_quiet_shows_nothing(rows_csv: Path, tmp_path: Path) -> None:
    small = first_rows(rows_csv, 2000, tmp_path / "small.csv")
    out = tmp_path / "out.csv"
    for command in (f"{CGCLI} --quiet grad '{EXPR}' --batch {small} > {out}",
                    batch(str(small), out, "--quiet")):
        code, seen = on_terminal(command, CGCLI_PROGRESS_DELAY="0")
        assert (code, seen) == (0, b"")


def test_phases_of_an_expression(tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_text("+".join(f"sin(x*{k}.5)*y" for k in range(2000)))
    out = tmp_path / "out.json"
    code, seen = on_terminal(f"cd {tmp_path} && exec {CGCLI} grad @f.txt --at x=1 --at y=2 "
                             f"--json > {out}", CGCLI_PROGRESS_DELAY="0")
    assert code == 0
    text = plain(seen)
    for name in ("reading", "parsing", "forward", "backward", "writing"):
        assert re.search(rf"[✓⠋-⠿] {name}\s+\d:\d\d", text), name
    assert screen_after(seen) == []
    proc = subprocess.run([CGCLI, "grad", "@f.txt", "--at", "x=1", "--at", "y=2", "--json"],
                          cwd=tmp_path, capture_output=True, env=environment(), check=True)
    assert proc.stdout == out.read_bytes() and proc.stderr == b""


def test_descent_counts_its_steps(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    command = f"{CGCLI} descend 'x^2 + 10*y^2' --at x=4 --at y=1 --lr 0.01 --steps 300 --json"
    code, seen = on_terminal(f"exec {command} > {out}", CGCLI_PROGRESS_DELAY="0")
    assert code == 0
    assert re.search(r"descent ━+[━╸╺ ]*\s+100%  301 steps  [\d,]+ steps/s", plain(seen))
    assert screen_after(seen) == []
    proc = subprocess.run(["bash", "-c", command], capture_output=True, env=environment(),
                          check=True)
    assert proc.stdout == out.read_bytes() and proc.stderr == b""


def test_a_short_command_on_a_terminal_shows_nothing_and_imports_no_rich(
        tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    code, seen = on_terminal(f"exec {sys.executable} -X importtime -m cgcli grad 'x*y' "
                             f"--at x=2 --at y=3 --json > {out}")
    assert code == 0 and out.read_text().startswith("{")
    lines = plain(seen).splitlines()
    assert lines and all(line.startswith("import time:") for line in lines)  # nothing else
    assert not [line for line in lines if re.search(r"\| +rich\b", line)]


# --- in-process: the helper's logic -----------------------------------------------------------


class FakeProgress:
    """Stands in for Rich's Progress: records what the session does with it."""

    def __init__(self, log: list) -> None:
        self.log = log

    def add_task(self, name: str, **fields: Any) -> None:
        self.log.append(("add", name))

    def start(self) -> None:
        self.log.append(("start",))

    def stop(self) -> None:
        self.log.append(("stop",))


@pytest.fixture
def watched(monkeypatch: pytest.MonkeyPatch) -> list:
    """A watched stderr, a 50 ms delay and a fake display; the display's log."""
    log: list = []
    monkeypatch.setattr(progress, "watching", lambda: True)
    monkeypatch.setattr(progress, "_rich_progress", lambda: FakeProgress(log))
    monkeypatch.setenv("CGCLI_PROGRESS_DELAY", "0.05")
    return log


def test_short_work_is_never_shown(watched: list) -> None:
    with session():
        for name in ("reading", "parsing", "forward"):
            with phase(name):
                time.sleep(0.01)
        time.sleep(0.1)  # between steps nothing runs: nothing to show
    assert watched == []


def test_long_work_is_shown_with_what_follows_then_cleared(watched: list) -> None:
    with session():
        with phase("reading"):
            pass
        with phase("parsing"):
            time.sleep(0.2)
        with count("batch", "rows") as c:
            c.update(5)
    assert watched == [("add", "parsing"), ("start",), ("add", "batch"), ("stop",)]


def test_track_counts_a_loop_and_ends_with_it(watched: list) -> None:
    taken = []
    for k in track(range(5), "descent", "steps", total=5):
        time.sleep(0.03)
        taken.append(k)
    assert taken == [0, 1, 2, 3, 4]
    assert watched == [("add", "descent"), ("start",), ("stop",)]
    watched.clear()
    for k in track(itertools.count(), "descent", "steps"):  # left early: cleared at once
        time.sleep(0.03)
        if k == 4:
            break
    assert watched == [("add", "descent"), ("start",), ("stop",)]


def test_an_error_clears_the_display_before_its_message(watched: list) -> None:
    with pytest.raises(KeyboardInterrupt), session(), phase("parsing"):
        time.sleep(0.2)
        assert watched[-1] == ("start",)
        raise KeyboardInterrupt
    assert watched[-1] == ("stop",)


def test_output_to_a_terminal_clears_the_display_for_good(watched: list,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    monkeypatch.setattr(sys, "stdout", type("Tty", (io.StringIO,), {"isatty": lambda s: True})())
    with session():
        with phase("parsing"):
            time.sleep(0.2)
        with phase("writing", output=True):
            time.sleep(0.2)
        with phase("more"):
            time.sleep(0.2)
    assert watched == [("add", "parsing"), ("start",), ("stop",)]


def test_a_display_that_cannot_start_leaves_the_work_alone(
        watched: list, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> None:
        watched.append("tried")
        raise OSError("no terminal after all")

    monkeypatch.setattr(progress, "_rich_progress", broken)
    with session(), count("batch", "rows") as c:
        time.sleep(0.3)
        c.advance()
    assert watched == ["tried"] and c.count == 1


def test_nobody_watching_costs_nothing(capsys: pytest.CaptureFixture) -> None:
    with session(), count("batch", "rows", total=10) as c:
        c.advance(3)
        c.update(7, done=5)
    assert (c.count, c.done) == (7, 5)
    assert capsys.readouterr() == ("", "")


def test_work_measures() -> None:
    w = Work("batch", "rows", total=200)
    assert w.fraction() == 0.0
    w.update(10, done=50)  # 10 rows, 50 bytes of 200
    assert w.fraction() == 0.25
    w.advance(5)
    assert w.count == 15 and w.fraction() == 0.25
    assert Work("x").fraction() is None
    assert progress._clock(5.7) == "0:05" and progress._clock(3725) == "1:02:05"
    w.start, w.at = 0.0, 2.0  # 15 rows in the first 2 s
    assert progress._rate(w) == "7.5 rows/s"
    w.count = 400_000
    assert progress._rate(w) == "200,000 rows/s"
    w.start, w.at = time.monotonic() - 2.0, time.monotonic()  # a quarter in 2 s: 6 s to go
    assert w.left() == pytest.approx(6.0, abs=0.1)
    w.end = time.monotonic()
    assert w.left() is None


def test_batch_run_reports_rows_after_each_chunk() -> None:
    n = 70_000  # two chunks of CHUNK_ROWS = 65,536
    text = "x\n" + "".join(f"{k}\n" for k in range(n))
    seen: list[int] = []
    out = io.StringIO()
    total = batch_run(parse("2*x"), io.StringIO(text), out, shared={}, in_fmt=None,
                      out_fmt="csv", gradients=False, wrt=None, report=None,
                      progress=seen.append)
    assert total == n and seen == [65_536, n]
    assert out.getvalue().count("\n") == n + 1


ROWS_TEXT = "1,2,3\n4,5,6\n7,8,9\n"


def test_jacobian_reports_each_output_element() -> None:
    from cgcli.engine import forward
    from cgcli.jacobian import jacobian

    graph = parse("W @ x")
    values = forward(graph, {"W": [[1, 2], [3, 4], [5, 6]], "x": [1, 1]})
    seen: list[int] = []
    result = jacobian(graph, values, ["x"], progress=seen.append)
    assert seen == [1, 2, 3] and result["x"].tolist() == [[1, 2], [3, 4], [5, 6]]


@pytest.fixture
def python_sigint() -> Iterator[None]:
    """SIGINT raises KeyboardInterrupt, as in a program started at a prompt (a background
    job's tests start with SIGINT ignored)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


class InterruptedMidWrite(io.StringIO):
    """A stream that gets Ctrl-C (SIGINT) half-way through each write."""

    def __init__(self, times: int = 1) -> None:
        super().__init__()
        self.times = times

    def write(self, s: str) -> int:
        half = len(s) // 2
        super().write(s[:half])
        for _ in range(self.times):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.001)  # the handler runs here
        return super().write(s[half:]) + half


def test_ctrl_c_during_a_write_takes_effect_when_it_is_whole(python_sigint: None) -> None:
    stream = InterruptedMidWrite()
    with pytest.raises(KeyboardInterrupt), whole_writes(stream) as out:
        out.write(ROWS_TEXT)
    assert stream.getvalue() == ROWS_TEXT
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored
    unguarded = InterruptedMidWrite()
    with pytest.raises(KeyboardInterrupt):
        unguarded.write(ROWS_TEXT)
    assert unguarded.getvalue() == "1,2,3\n4,5"  # what the guard prevents: a cut row


def test_a_second_ctrl_c_stops_at_once(python_sigint: None) -> None:
    stream = InterruptedMidWrite(times=2)
    with pytest.raises(KeyboardInterrupt), whole_writes(stream) as out:
        out.write(ROWS_TEXT)
    assert stream.getvalue() == "1,2,3\n4,5"


def test_an_ignored_sigint_stays_ignored() -> None:
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # a background job's
    try:
        stream = io.StringIO()
        with whole_writes(stream) as out:
            assert out is stream
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)


# --- --quiet ----------------------------------------------------------------------------------


def test_quiet_silences_notes_not_errors(cli: Any) -> None:
    code, out, err = cli("eval", "log(x)", "--at", "x=0", "--json")
    assert code == 0 and err.startswith("note: log(x) = -inf")
    for args in (("--quiet", "eval", "log(x)", "--at", "x=0", "--json"),
                 ("eval", "log(x)", "--at", "x=0", "--json", "--quiet"),
                 ("--quiet", "grad", "x", "--at", "x=1", "--at", "y=2")):
        code, out, err = cli(*args)
        assert code == 0 and out and err == ""
    code, _, err = cli("eval", "x", "--at", "x=1", "--at", "y=2")
    assert "note: --at y" in err  # the next run is not quiet
    code, out, _ = cli("eval", "-q", "--at", "q=2", "--raw")
    assert (code, out) == (0, "-2\n")  # -q is an expression, not an option
    code, _, err = cli("--quiet", "eval", "log(", "--at", "x=0")
    assert code == 2 and err.startswith("error:")


def test_help_documents_quiet_and_exit_130(cli: Any) -> None:
    for args in (("--help",), ("grad", "--help"), ("eval", "--help")):
        code, out, _ = cli(*args)
        assert code == 0 and "--quiet" in out and "130 interrupted" in out
    for command in ("explain", "check", "jacobian", "quiz", "plot", "descend", "diff"):
        code, out, _ = cli(command, "--help")
        assert code == 0 and "130 interrupted" in " ".join(out.split()), command
