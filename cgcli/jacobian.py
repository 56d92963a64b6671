"""Full Jacobians by reverse mode: one backward pass per output element, with a one-hot seed.

``jacobian(graph, values)["x"][i, j]`` is d(output[i])/d(x[j]): its shape is the output's
shape followed by x's. For a scalar output it is the gradient.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from .engine import backward, check_wrt
from .errors import NameError_
from .graphs import Graph


def targets(graph: Graph, wrt: Iterable[str] | None = None) -> dict[str, int]:
    """Name -> node id of what to differentiate with respect to: every variable, or the
    ``wrt`` names (variables or let-bound names that depend on a variable)."""
    names = list(wrt or graph.variables)
    check_wrt(graph, names)
    rg = graph.requires_grad()
    ids = {}
    for name in names:
        i = graph.variables.get(name, graph.bindings.get(name))
        if not rg[i]:  # type: ignore[index]
            raise NameError_(f"--wrt {name}: '{name}' is a constant (it depends on no "
                             "variable), so it has no derivative")
        ids[name] = i
    return ids  # type: ignore[return-value]


def jacobian(graph: Graph, values: list, wrt: Iterable[str] | None = None,
             progress: Callable[[int], None] | None = None) -> dict[str, np.ndarray]:
    """d(output)/d(name) for each variable (or ``wrt`` name), shaped output + input.

    ``progress``, if given, is called with the number of output elements done after each
    backward pass (a hook for a display: the library draws nothing).
    """
    ids = targets(graph, wrt)
    if not ids:
        raise NameError_("the expression has no variable to differentiate with respect to")
    out_shape = np.shape(values[graph.output])
    if not out_shape:
        grads = backward(graph, values)
        return {name: np.asarray(grads[i], dtype=np.float64) for name, i in ids.items()}
    result = {name: np.zeros(out_shape + np.shape(values[i])) for name, i in ids.items()}
    seed = np.zeros(out_shape)
    for done, k in enumerate(np.ndindex(*out_shape), 1):
        seed[k] = 1.0
        grads = backward(graph, values, seed=seed.copy())
        seed[k] = 0.0
        for name, i in ids.items():
            result[name][k] = grads[i]
        if progress is not None:
            progress(done)
    return result
