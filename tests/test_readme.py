"""The README's transcripts in 'What it prints', 'Derivatives as formulas', 'Scripts and many
points', 'The expression language' and 'Errors and exit codes' are what the installed tool
prints, character for character (a block indented in a list item too)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
SECTIONS = ("## What it prints", "## Derivatives as formulas", "## Scripts and many points",
            "## The expression language", "## Errors and exit codes")


def transcripts() -> list[tuple[str, list[tuple[str, str]]]]:
    """(section, [(command, expected output)]) for each console block of those sections."""
    text = README.read_text(encoding="utf-8")
    found = []
    for title in SECTIONS:
        start = text.index(title)
        end = text.find("\n## ", start + len(title))
        section = text[start:end if end != -1 else len(text)]
        for block in re.findall(r"( *)```console\n(.*?)```", section, flags=re.S):
            indent, body = block
            steps: list[tuple[str, str]] = []
            for line in body.splitlines(keepends=True):
                line = line.removeprefix(indent)
                if line.startswith("$ "):
                    steps.append((line[2:].rstrip("\n"), ""))
                elif steps:
                    steps[-1] = (steps[-1][0], steps[-1][1] + line)
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
        proc = subprocess.run(["bash", "-c", "{ " + command + "; } 2>&1"], capture_output=True,
                              text=True, cwd=tmp_path, env={**os.environ, "PATH": path},
                              check=False, timeout=60)
        assert proc.stdout == expected, f"{section}: $ {command}"
