"""Shared fixtures: ``cli`` runs the real command line in-process."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest
from hypothesis import settings

from cgcli.cli.app import main

# No deadline: a test's speed is no property of the code under test (benchmarks measure
# that), and a loaded machine must not fail it. The same examples on every run, unless
# CGCLI_FUZZ_EXAMPLES asks for a random campaign.
settings.register_profile("cgcli", deadline=None,
                          derandomize=not os.environ.get("CGCLI_FUZZ_EXAMPLES"))
settings.load_profile("cgcli")

#: cli(*args) -> (exit code, stdout, stderr)
Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture) -> Run:
    """Run ``cgcli ARGS...`` in-process through its entry point; return (code, out, err)."""

    def run(*args: str) -> tuple[int, str, str]:
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        out, err = capsys.readouterr()
        return code, out, err

    return run
