"""The README's transcripts are what the installed tool prints, character for character (a
block indented in a list item too; '...' stands for what the README leaves out). A script the
README shows as `NAME.sh` is written before a transcript runs it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
SECTIONS = ("# cgcli", "## What it prints", "## See the chain rule", "## Derivatives as formulas",
            "## Teaching with cgcli", "## Look at it", "## Scripts and many points",
            "## The expression language", "## Errors and exit codes")


#: Transcripts another test runs the way they are made: a practice session's answers are
#: typed at a terminal (tests/test_practice.py feeds them and compares the rest).
ELSEWHERE = ("cgcli practice ",)


def transcripts() -> list[tuple[str, list[tuple[str, str]]]]:
    """(section, [(command, expected output)]) for each console block of those sections."""
    text = README.read_text(encoding="utf-8")
    found = []
    for title in SECTIONS:
        start = text.index(title)
        end = text.find("\n## ", start + len(title))
        section = text[start:end if end != -1 else len(text)]
        scripts = re.findall(r"`([\w-]+\.sh)`:\n\n```sh\n(.*?)```", section, flags=re.S)
        for block in re.findall(r"( *)```console\n(.*?)```", section, flags=re.S):
            indent, body = block
            steps: list[tuple[str, str]] = [(f"write {name}", text) for name, text in scripts
                                            if f"./{name}" in body]
            for line in body.splitlines(keepends=True):
                line = line.removeprefix(indent)
                if line.startswith("$ "):
                    steps.append((line[2:].rstrip("\n"), ""))
                elif steps:
                    steps[-1] = (steps[-1][0], steps[-1][1] + line)
            steps = [step for step in steps if not step[0].startswith(ELSEWHERE)]
            if any(not command.startswith(("cat ", "write ")) for command, _ in steps):
                found.append((title, steps))
    return found


@pytest.mark.parametrize(("section", "steps"), transcripts(),
                         ids=lambda v: v if isinstance(v, str) else v[0][0][:40])
def test_transcript_is_real(section: str, steps: list, tmp_path: Path) -> None:
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    for command, expected in steps:
        if command.startswith("cat "):  # a file the transcript shows: create it
            (tmp_path / command[4:]).write_text(expected)
            continue
        if command.startswith("write "):  # a script the section shows: create it
            script = tmp_path / command[6:]
            script.write_text(expected)
            script.chmod(0o755)
            continue
        proc = subprocess.run(["bash", "-c", "{ " + command + "; } 2>&1"], capture_output=True,
                              text=True, cwd=tmp_path, env={**os.environ, "PATH": path},
                              check=False, timeout=60)
        # A blank line may part one command's output from the next in a block.
        expected = expected.rstrip("\n") + "\n"
        assert shown(expected).fullmatch(proc.stdout), f"{section}: $ {command}"


def shown(expected: str) -> re.Pattern:
    """A pattern for output the README shows: character for character, except that a line
    '...' stands for any number of lines, and '...' within a line for the rest of a long
    line."""
    lines = []
    for line in expected.splitlines(keepends=True):
        if line == "...\n":
            lines.append("(?:.*\n)*?")
        else:
            lines.append(".*?".join(re.escape(part) for part in line.split("...")))
    return re.compile("".join(lines))
