"""JSON output: one strict JSON document (no NaN literals), for jq and scripts."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from json.encoder import encode_basestring as encode_string  # type: ignore[attr-defined]
from typing import Any

from ..engine import Evaluation, wrt_ids
from ..graphs import no_gc
from ..numbers import json_value


def document(ev: Evaluation, wrt: Sequence[str] | None = None, gradients: bool = True) -> dict:
    """The ``{"expression", "inputs", "value", "gradients", "nodes"}`` object.

    ``gradients=False`` (``eval``) leaves out the gradients; ``wrt`` limits them to those names.
    """
    graph = ev.graph
    doc: dict = {
        "expression": graph.source,
        "inputs": {name: json_value(v) for name, v in ev.inputs.items()},
        "value": json_value(ev.values[graph.output]),
    }
    grads = ev.grads if gradients else None
    if grads is not None:
        doc["gradients"] = {name: json_value(grads[i]) for name, i in wrt_ids(ev.graph, wrt)}
    nodes = []
    for node in graph.nodes:
        item = {"id": node.id, "op": node.op.name, "inputs": list(node.inputs),
                "label": graph.label(node.id), "value": json_value(ev.values[node.id])}
        if grads is not None:
            g = grads[node.id]
            item["grad"] = None if g is None else json_value(g)
        nodes.append(item)
    doc["nodes"] = nodes
    return doc


def render(ev: Evaluation, wrt: Sequence[str] | None = None, gradients: bool = True) -> str:
    """The JSON text (see :func:`write`), as one string."""
    out = io.StringIO()
    write(ev, out, wrt, gradients)
    return out.getvalue()[:-1]


def write(ev: Evaluation, out: Any, wrt: Sequence[str] | None = None,
          gradients: bool = True) -> None:
    """Write the JSON text and a newline to ``out``: top-level keys on their own lines and one
    node per line, which reads well (``indent=`` would put every number on a line of its own).

    The node lines are written by hand, as ``json.dumps`` writes them (a float as its
    shortest repr, strings through the JSON encoder's own escaping): one format per node is
    several times faster than encoding a dict per node, and written in blocks the text of a
    million nodes never has to be held whole."""
    graph = ev.graph
    dump = json.JSONEncoder(ensure_ascii=False, allow_nan=False).encode
    head = {"expression": graph.source,
            "inputs": {name: json_value(v) for name, v in ev.inputs.items()},
            "value": json_value(ev.values[graph.output])}
    grads = ev.grads if gradients else None
    if grads is not None:
        head["gradients"] = {name: json_value(grads[i]) for name, i in wrt_ids(graph, wrt)}
    out.write("{\n" + ",\n".join(f"  {dump(key)}: {dump(value)}" for key, value in head.items())
              + ',\n  "nodes": [')
    values = ev.values
    lines: list[str] = []
    append = lines.append
    text = graph.text
    sep = "\n    "
    with no_gc():  # a string per node: see graphs.no_gc
        for node in graph.nodes:
            i = node.id
            ins = node.inputs
            args = (", ".join(map(str, ins)) if len(ins) > 2 else
                    f"{ins[0]}, {ins[1]}" if len(ins) == 2 else f"{ins[0]}" if ins else "")
            label = node.name if node.name is not None else text(i, 40)
            v = values[i]
            value = float.__repr__(v) if type(v) is float and v - v == 0.0 else _number(v, dump)
            line = (f'{sep}{{"id": {i}, "op": "{node.op.name}", "inputs": [{args}], '
                    f'"label": {encode_string(label)}, "value": {value}')
            sep = ",\n    "
            if grads is None:
                append(line + "}")
            else:
                g = grads[i]
                grad = ("null" if g is None else float.__repr__(g)
                        if type(g) is float and g - g == 0.0 else _number(g, dump))
                append(f'{line}, "grad": {grad}}}')
            if len(lines) >= 8192:
                out.write("".join(lines))
                lines.clear()
    out.write("".join(lines) + ("\n  ]\n}\n" if graph.nodes else "]\n}\n"))


def _number(v: Any, dump: Any) -> str:
    """A value as JSON: a float as json writes it; nan and ±inf as strings; arrays nested."""
    if isinstance(v, float):
        f = float(v)
        if f - f == 0.0:  # finite
            return float.__repr__(f)
    return dump(json_value(v))
