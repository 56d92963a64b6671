"""cgcli in shell scripts: real processes and pipes, batch files, bare numbers, colour."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = str(Path(sys.executable).with_name("cgcli"))
ANSI = "\x1b["


def sh(command: str, stdin: str | None = None, env: dict | None = None,
       cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run a shell command line with the installed cgcli first on PATH."""
    path = f"{Path(SCRIPT).parent}{os.pathsep}{os.environ['PATH']}"
    return subprocess.run(["bash", "-c", command], input=stdin, capture_output=True, text=True,
                          env={**os.environ, "PATH": path, **(env or {})}, cwd=cwd,
                          check=False, timeout=120)


def strict(text: str) -> object:
    return json.loads(text, parse_constant=lambda c: pytest.fail(f"bare {c} in JSON"))


def test_raw_output_in_shell_arithmetic() -> None:
    proc = sh('n=$(cgcli eval "2^10" --raw); d=$(cgcli grad "x^3" --at x=2 --raw); '
              'echo $((n + d))')
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "1036\n"  # 1024 + 12
    proc = sh('cgcli grad "1/(1+exp(-x))" --at x=1 --raw')
    assert float(proc.stdout) == pytest.approx(0.19661193324148185, rel=1e-15)
    proc = sh('read -r a b <<< "$(cgcli eval "[1, 2.5] * 2" --raw)"; echo "$b"')
    assert proc.stdout == "5\n"


def test_raw_needs_one_gradient() -> None:
    proc = sh('cgcli grad "x*y" --at x=2 --at y=3 --raw')
    assert proc.returncode == 2 and "--wrt" in proc.stderr and proc.stdout == ""
    assert sh('cgcli grad "x*y" --at x=2 --at y=3 --raw --wrt y').stdout == "2\n"


def test_expression_from_stdin_and_file(tmp_path: Path) -> None:
    proc = sh("cgcli grad - --at x=3 --json", stdin="q = x^2\nf = q + 1\n")
    assert strict(proc.stdout)["gradients"] == {"x": 6.0}
    (tmp_path / "f.txt").write_text("sum([x, 2*x])")
    proc = sh("cgcli eval @f.txt --at x=2 --raw", cwd=tmp_path)
    assert proc.stdout == "6\n"
    proc = sh("cgcli eval @missing.txt", cwd=tmp_path)
    assert proc.returncode == 2 and "cannot read the expression" in proc.stderr


def test_at_file(tmp_path: Path) -> None:
    (tmp_path / "v.json").write_text('{"x": 2, "W": [[1, 2], [3, 4]], "a": "pi/4"}')
    proc = sh('cgcli eval "x + sum(W) + 4*a/pi" --at-file v.json --at x=1 --raw', cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "12\n"  # --at x=1 overrides the file's 2
    (tmp_path / "bad.json").write_text('{"x": true}')
    proc = sh('cgcli eval "x" --at-file bad.json', cwd=tmp_path)
    assert proc.returncode == 2 and "not a number" in proc.stderr


def test_batch_jsonl_read_by_a_strict_parser_and_jq(tmp_path: Path) -> None:
    rows = "".join("x,w\n" if k == 0 else f"{k / 10},{k % 3}\n" for k in range(1001))
    proc = sh("cgcli grad 'sigmoid(w*x + b)' --at b=-0.5 --batch -", stdin=rows)
    assert proc.returncode == 0, proc.stderr
    lines = [strict(line) for line in proc.stdout.splitlines()]
    assert len(lines) == 1000
    assert set(lines[0]) == {"value", "gradients"}
    assert set(lines[0]["gradients"]) == {"x", "w", "b"}
    assert shutil.which("jq"), ".ci/run installs jq"
    proc = sh("cgcli grad 'w*x' --batch - | jq -s 'map(.gradients.x) | add'",
              stdin="w,x\n1,5\n2,6\n3,7\n")
    assert float(proc.stdout) == 6.0


def test_batch_csv_read_back_by_a_csv_reader() -> None:
    proc = sh("cgcli grad 'x*y + log(x)' --batch - --format csv", stdin="x,y\n1,2\n0.5,4\n")
    table = list(csv.DictReader(io.StringIO(proc.stdout)))
    assert [list(r) for r in table] == [["value", "d_x", "d_y"]] * 2
    assert float(table[1]["d_x"]) == pytest.approx(4 + 2)  # y + 1/x


def test_batch_bad_row_is_exit_2_without_partial_output() -> None:
    proc = sh("cgcli grad 'x^2' --batch - --format csv", stdin="x\n1\n2\nabc\n")
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr == "error: row 3 of the batch input: column 'x' is not a number: 'abc'\n"
    proc = sh("cgcli grad 'x^2' --batch - --format csv --skip-bad-rows", stdin="x\n1\nabc\n2\n")
    assert proc.returncode == 0 and proc.stdout == "value,d_x\n1.0,2.0\n4.0,4.0\n"
    assert "row 2" in proc.stderr and "(skipped)" in proc.stderr


def test_batch_missing_column_names_it() -> None:
    proc = sh("cgcli grad 'x*y' --batch -", stdin="x\n1\n")
    assert proc.returncode == 2 and "no column 'y'" in proc.stderr


def test_no_ansi_in_pipes_unless_asked() -> None:
    for cmd in ("cgcli grad 'x*y' --at x=1 --at y=2", "cgcli grad 'x*y' --at x=1 --at y=2 "
                "--format tree", "cgcli explain 'x*y' --at x=1 --at y=2",
                "cgcli check 'x*y' --at x=1 --at y=2", "cgcli eval 'x' --at x=1 --json"):
        proc = sh(cmd, env={"TERM": "xterm-256color"})
        assert proc.returncode == 0, proc.stderr
        assert ANSI not in proc.stdout + proc.stderr, cmd
    assert ANSI in sh("cgcli grad 'x' --at x=1 --color always").stdout
    assert ANSI in sh("cgcli --color always grad 'x' --at x=1").stdout
    assert ANSI not in sh("cgcli grad 'x' --at x=1 --color never").stdout


def test_version_help_and_completion() -> None:
    from cgcli import __version__

    assert sh("cgcli --version").stdout == f"cgcli {__version__}\n"
    top = sh("cgcli --help").stdout
    assert "--install-completion" in top and "Exit codes" in top
    for command in ("grad", "eval", "functions", "explain", "graph", "check", "jacobian",
                    "quiz", "practice"):
        help_text = sh(f"cgcli {command} --help").stdout
        assert "Example" in help_text, command


@pytest.mark.parametrize(("command", "code"), [
    ("cgcli grad 'x' --at x=1", 0),
    ("cgcli grad 'x +' --at x=1", 2),
    ("cgcli grad 'log(x)' --at x=0 --strict", 3),
    ("cgcli grad '1/(1+exp(-x))' --at x=1 --expect x=0.3", 1),
    ("cgcli nonsense", 2),
])
def test_exit_codes(command: str, code: int) -> None:
    assert sh(command).returncode == code


@pytest.mark.parametrize("command", [
    'cgcli descend "(w-3)^2" --at w=0 --steps 100000 --format jsonl',  # Typer's path
    'cgcli grad "x^2" --batch rows.csv --format csv',  # our own writes
    'cgcli grad @sum.txt --at x=1 --color always',  # Rich's console
    'cgcli grad @sum.txt --at x=1 --json',
    'cgcli check "sum(x^2)" --at "x=[$(seq -s, 3000)]"',
])
def test_a_reader_that_leaves_early_is_no_error(command: str, tmp_path: Path) -> None:
    """`| head -1` takes what it needs and leaves: exit 0, nothing on stderr (exit 1 means
    'the answer is no' here, and pipefail would report it)."""
    (tmp_path / "rows.csv").write_text("x\n" + "".join(f"{k}\n" for k in range(200_000)))
    (tmp_path / "sum.txt").write_text("+".join(["x"] * 20_000))
    proc = sh(f"set -o pipefail; {command} | head -1 > /dev/null", cwd=tmp_path)
    assert (proc.returncode, proc.stderr) == (0, "")
