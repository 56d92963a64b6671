"""Graphviz DOT text of a :class:`~cgcli.render.picture.Picture`, and SVG/PNG through ``dot``.

Every label is an HTML-like label built from escaped text (``html.escape``), so nothing a
user types can break out of it. Values are green above each edge, gradients red below it.
"""

from __future__ import annotations

import html
import shutil
import subprocess

from ..errors import EXIT_TOOL, CgcliError
from .picture import Picture, PictureNode

VALUE_COLOR, GRAD_COLOR = "#1a7f37", "#cf222e"  # green and red, as in the lecture's figures
NAME_COLOR, UNUSED_COLOR = "#0550ae", "#8c959f"

INSTALL_HINT = ("install Graphviz (Debian/Ubuntu: apt-get install graphviz; macOS: brew "
                "install graphviz; conda: conda install graphviz), or print DOT text with "
                "--format dot and render it elsewhere")


class GraphvizError(CgcliError):
    """Graphviz's ``dot`` is missing or failed: exit code 4 (EXIT_TOOL)."""

    kind = "graphviz"
    exit_code = EXIT_TOOL


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _node_label(node: PictureNode) -> str:
    parts = []
    if node.name:
        parts.append(f'<font color="{NAME_COLOR}"><i>{_e(node.name)}</i></font>')
    parts.append(f"<b>{_e(node.text)}</b>" if node.kind == "var" else _e(node.text))
    if node.shape:
        parts.append(f'<font point-size="9">{_e(node.shape)}</font>')
    if node.total:
        parts.append(f'<font color="{GRAD_COLOR}" point-size="10">∂ {_e(node.total)}</font>')
    return "<" + "<br/>".join(parts) + ">"


def _edge_attrs(value: str, grad: str) -> str:
    """One label beside the edge: the value (green) over the gradient (red). Graphviz places
    an xlabel for the gradient anywhere near the edge, often on top of other lines."""
    parts = [f'<font color="{color}">{_e(text)}</font>'
             for color, text in ((VALUE_COLOR, value), (GRAD_COLOR, grad)) if text]
    return f" [label=<{'<br/>'.join(parts)}>]" if parts else ""


def to_dot(pic: Picture) -> str:
    """The DOT text: left to right, leaves first, as the lecture draws it."""
    lines = [
        "digraph cgcli {",
        "  rankdir=LR;",
        '  graph [fontname="Helvetica", nodesep=0.4, ranksep=0.7];',
        '  node [fontname="Helvetica", fontsize=12];',
        '  edge [fontname="Helvetica", fontsize=10, arrowsize=0.6];',
    ]
    for node in pic.nodes:
        attrs = [f"label={_node_label(node)}"]
        if node.kind == "gate":
            short = len(node.text) <= 2 and not node.name and not node.shape
            attrs.append("shape=circle" if short else "shape=ellipse")
        else:
            attrs.append("shape=plaintext")
            if node.kind == "const":
                attrs.append(f'fontcolor="{UNUSED_COLOR}"')
        if not node.used:
            attrs += ["style=dashed", f'color="{UNUSED_COLOR}"']
        lines.append(f"  n{node.id} [{', '.join(attrs)}];")
    lines.append(f"  out [shape=plaintext, label=<<b>{_e(pic.output_name)}</b>>];")
    for edge in pic.edges:
        target = "out" if edge.target < 0 else f"n{edge.target}"
        lines.append(f"  n{edge.source} -> {target}{_edge_attrs(edge.value, edge.grad)};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render_image(dot_text: str, fmt: str) -> bytes:
    """SVG or PNG bytes from DOT text, by Graphviz's ``dot``; GraphvizError if it cannot."""
    dot = shutil.which("dot")
    if dot is None:
        raise GraphvizError(f"--format {fmt} needs Graphviz's 'dot' program, which is not "
                            f"on PATH: {INSTALL_HINT}")
    try:  # the program found on PATH, fixed arguments, the text on stdin: no shell
        proc = subprocess.run([dot, f"-T{fmt}"], input=dot_text.encode("utf-8"),  # noqa: S603
                              capture_output=True, check=False, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GraphvizError(f"Graphviz's dot could not run: {exc}") from None
    if proc.returncode != 0:
        why = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GraphvizError(f"Graphviz's dot failed (exit {proc.returncode})"
                            + (f": {why[-1]}" if why else ""))
    return proc.stdout
