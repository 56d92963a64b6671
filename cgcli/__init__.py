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

In notebooks, ``grad``, ``explain`` and ``graph`` return results that display themselves
(the table, the chain-rule steps, the picture) and hold their numbers as data; ``batch``
evaluates at every row of a DataFrame, an Arrow table or a dict of arrays; ``%load_ext
cgcli`` adds the ``%cgcli`` magic.

The names are imported on first use (PEP 562), so ``import cgcli`` and the command line's
start-up do not pay for NumPy until a computation needs it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from .api import evaluate, gradients
    from .engine import Evaluation, backward, forward, unbroadcast
    from .errors import CgcliError
    from .frames import batch
    from .graphs import Graph, Node
    from .notebook.display import diff, explain, grad, graph, plot
    from .parser import parse, parse_value

#: Public name -> the module that defines it.
_EXPORTS = {
    "CgcliError": "errors", "Evaluation": "engine", "Graph": "graphs", "Node": "graphs",
    "backward": "engine", "evaluate": "api", "forward": "engine", "gradients": "api",
    "parse": "parser", "parse_value": "parser", "unbroadcast": "engine",
    # Results that display themselves in Jupyter, and tables in, tables out (issue 14).
    "grad": "notebook.display", "explain": "notebook.display", "graph": "notebook.display",
    "diff": "notebook.display", "plot": "notebook.display", "batch": "frames",
}
__all__ = [
    "CgcliError", "Evaluation", "Graph", "Node", "__version__", "backward", "batch", "diff",
    "evaluate", "explain", "forward", "grad", "gradients", "graph", "parse", "parse_value", "plot",
    "unbroadcast",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'cgcli' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # the next lookup is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext cgcli``: the ``%cgcli`` and ``%%cgcli`` magics (IPython is imported only
    here, when the extension loads)."""
    from .notebook.magic import load_ipython_extension as load

    load(ipython)
