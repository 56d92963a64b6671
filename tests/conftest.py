"""Shared fixtures and helpers: ``cli`` runs the real command line in-process."""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import settings

import cgcli
from cgcli.check import CheckResult
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


def judged_ok(report: CheckResult) -> bool:
    """Every element judged (no kink, nothing undefined) and within the tolerance."""
    return bool(report.elements) and all(e.status == "ok" for e in report.elements)


def structure(graph: cgcli.Graph) -> tuple:
    """Ops, inputs, names and constant bits of every node, without source positions."""
    rows = [(n.op.name, n.inputs, n.name, None if n.value is None else
             np.asarray(n.value, dtype=np.float64).tobytes()) for n in graph]
    return rows, graph.output, dict(graph.bindings), dict(graph.variables)
