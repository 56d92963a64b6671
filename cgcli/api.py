"""The library's front door: parse and evaluate in one call (``cgcli.evaluate``,
``cgcli.gradients``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .engine import Evaluation, differentiate
from .engine import evaluate as _evaluate
from .graphs import Graph
from .parser import parse, parse_value


def _prepare(expr: str | Graph, at: Mapping[str, Any] | None,
             kw: dict[str, Any]) -> tuple[Graph, dict[str, Any]]:
    """The graph and the variables' values (``at``, then keywords; a string is a constant
    expression): what every function of the Python API reads."""
    graph = parse(expr) if isinstance(expr, str) else expr
    values = {**(at or {}), **kw}
    return graph, {k: parse_value(v, k) if isinstance(v, str) else v for k, v in values.items()}


def evaluate(expr: str | Graph, at: Mapping[str, Any] | None = None, **values: Any) -> Evaluation:
    """Forward pass: every node's value. ``at``/keywords give the variables' values."""
    return _evaluate(*_prepare(expr, at, values))


def gradients(expr: str | Graph, at: Mapping[str, Any] | None = None,
              **values: Any) -> Evaluation:
    """Forward and backward pass: every node's value and d(output)/d(node)."""
    return differentiate(*_prepare(expr, at, values))
