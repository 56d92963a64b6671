"""cgcli: the whole computational graph of an expression, forward values and gradients.

The library works without the command line::

    >>> import cgcli
    >>> r = cgcli.gradients("1/(1+exp(-x))", x=1.0)
    >>> round(float(r.value), 4), round(float(r.gradients["x"]), 4)
    (0.7311, 0.1966)
    >>> g = cgcli.parse("q = x + y; f = q * z")
    >>> [g.label(i) for i in range(len(g))]
    ['x', 'y', 'q', 'z', 'f']

``parse`` builds a :class:`Graph`; ``evaluate`` runs the forward pass and ``gradients`` the
forward and backward passes, both returning an :class:`Evaluation` with every node's value
(and gradient). Values may be numbers, nested lists, NumPy arrays or constant expressions
such as ``"pi/4"``. Input errors raise :class:`CgcliError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .engine import Evaluation, backward, forward, unbroadcast
from .errors import CgcliError
from .graph import Graph, Node
from .parser import parse, parse_value

__version__ = "0.1.0"
__all__ = [
    "CgcliError", "Evaluation", "Graph", "Node", "backward", "evaluate", "forward",
    "gradients", "parse", "parse_value", "unbroadcast",
]


def _prepare(expr: str | Graph, at: Mapping[str, Any] | None, kw: dict[str, Any]) -> tuple:
    graph = parse(expr) if isinstance(expr, str) else expr
    values = {**(at or {}), **kw}
    return graph, {k: parse_value(v, k) if isinstance(v, str) else v for k, v in values.items()}


def evaluate(expr: str | Graph, at: Mapping[str, Any] | None = None, **values: Any) -> Evaluation:
    """Forward pass: every node's value. ``at``/keywords give the variables' values."""
    from .engine import evaluate as _evaluate

    return _evaluate(*_prepare(expr, at, values))


def gradients(expr: str | Graph, at: Mapping[str, Any] | None = None,
              **values: Any) -> Evaluation:
    """Forward and backward pass: every node's value and d(output)/d(node)."""
    from .engine import differentiate

    return differentiate(*_prepare(expr, at, values))
