"""JSON output: one strict JSON document (no NaN literals), for jq and scripts."""

from __future__ import annotations

import json
from collections.abc import Sequence

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
    """The JSON text: top-level keys on their own lines and one node per line, which reads
    well and lets the C encoder do the work (``indent=`` would fall back to pure Python)."""
    with no_gc():  # a dict per node: see graph.no_gc
        doc = document(ev, wrt, gradients)
    nodes = doc.pop("nodes")
    dump = json.JSONEncoder(ensure_ascii=False, allow_nan=False).encode
    parts = [f"  {dump(key)}: {dump(value)}" for key, value in doc.items()]
    body = ",\n    ".join(dump(node) for node in nodes)
    parts.append(f'  "nodes": [\n    {body}\n  ]' if nodes else '  "nodes": []')
    return "{\n" + ",\n".join(parts) + "\n}"
