"""Mermaid flowchart text of a :class:`~cgcli.render.picture.Picture` (GitHub renders it).

Each edge label is the forward value, a line break, then ``∂`` and the gradient flowing back.
Text is escaped with Mermaid's entity codes, so quotes and brackets in names are harmless.
"""

from __future__ import annotations

from .picture import Picture

_ENTITIES = {"#": "#35;", '"': "#quot;", "<": "#lt;", ">": "#gt;", "&": "#amp;", "|": "#124;"}


def _e(text: str) -> str:
    """``text`` inside a quoted Mermaid label."""
    return "".join(_ENTITIES.get(ch, ch) for ch in text)


def to_mermaid(pic: Picture) -> str:
    """The ``flowchart LR`` text."""
    lines = ["flowchart LR"]
    for node in pic.nodes:
        parts = [f"<i>{_e(node.name)}</i>"] if node.name else []
        parts.append(f"<b>{_e(node.text)}</b>" if node.kind == "var" else _e(node.text))
        if node.shape:
            parts.append(f"<small>{_e(node.shape)}</small>")
        if node.total:
            parts.append(f"∂ {_e(node.total)}")
        text = "<br/>".join(parts)
        box = f'(("{text}"))' if node.kind == "gate" else f'["{text}"]'
        lines.append(f"  n{node.id}{box}")
    lines.append(f'  out["<b>{_e(pic.output_name)}</b>"]')
    for edge in pic.edges:
        target = "out" if edge.target < 0 else f"n{edge.target}"
        label = "<br/>".join([_e(edge.value)] * bool(edge.value)
                             + [f"∂ {_e(edge.grad)}"] * bool(edge.grad))
        arrow = f'-->|"{label}"|' if label else "-->"
        lines.append(f"  n{edge.source} {arrow} {target}")
    leaves = [f"n{n.id}" for n in pic.nodes if n.kind != "gate"] + ["out"]
    lines.append("  classDef leaf fill:none,stroke:none")
    lines.append(f"  class {','.join(leaves)} leaf")
    unused = [f"n{n.id}" for n in pic.nodes if not n.used]
    if unused:
        lines.append("  classDef unused stroke-dasharray:4 3,color:#8c959f")
        lines.append(f"  class {','.join(unused)} unused")
    return "\n".join(lines) + "\n"
