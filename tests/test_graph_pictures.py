"""`graph`: DOT and Mermaid text, SVG and PNG drawn by Graphviz, escaping, missing `dot`."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING
from xml.etree import ElementTree

import pytest

import cgcli
from cgcli.render import dot as dot_module
from cgcli.render.dot import GraphvizError, render_image, to_dot
from cgcli.render.mermaid import to_mermaid
from cgcli.render.picture import Picture, PictureEdge, PictureNode, picture

if TYPE_CHECKING:
    from conftest import Run

SIGMOID = "M = -x; Q = exp(M); P = Q + 1; L = 1/P"
ROOT = Path(__file__).resolve().parent.parent
#: In CI (.ci/run installs Graphviz) these run for real; elsewhere they need `dot` on PATH.
needs_dot = pytest.mark.skipif(shutil.which("dot") is None and not os.environ.get("CI"),
                               reason="Graphviz's dot is not installed (.ci/run installs it)")


def edge_labels(dot_text: str) -> dict[tuple[str, str], list[str]]:
    """(source, target) -> the texts of the edge's label, top to bottom."""
    labels = {}
    for m in re.finditer(r"(n\d+) -> (n\d+|out)(?: \[label=<(.*)>\])?;", dot_text):
        labels[(m.group(1), m.group(2))] = re.findall(r">([^<]+)</font>", m.group(3) or "")
    return labels


def svg_root(data: bytes | str) -> ElementTree.Element:
    text = data if isinstance(data, str) else data.decode("utf-8")
    return ElementTree.fromstring(text.encode("utf-8"))  # noqa: S314 - our own output


def test_dot_structure_only_without_at(cli: Run) -> None:
    code, out, err = cli("graph", "q = x + y; f = q * z")
    assert code == 0 and err == ""
    assert out.startswith("digraph cgcli {") and out.rstrip().endswith("}")
    assert "rankdir=LR" in out
    assert re.search(r'n2 \[label=<<font color="#0550ae"><i>q</i></font><br/>\+>', out)
    assert re.search(r"n0 \[label=<<b>x</b>>, shape=plaintext\]", out)
    assert all(texts == [] for texts in edge_labels(out).values())  # no numbers


def test_dot_edges_carry_value_above_gradient(cli: Run) -> None:
    code, out, _ = cli("graph", SIGMOID, "--at", "x=1", "--precision", "2")
    assert code == 0
    labels = edge_labels(out)
    assert labels[("n0", "n1")] == ["1", "0.20"]  # x = 1, dL/dx = 0.20
    assert labels[("n1", "n2")] == ["-1", "-0.20"]
    assert labels[("n2", "n4")] == ["0.37", "-0.53"]
    assert labels[("n4", "n6")] == ["1.4", "-0.53"]
    assert labels[("n6", "out")] == ["0.73", "1"]
    assert labels[("n3", "n4")] == []  # a constant's edge: its value is on the leaf
    assert '<font color="#1a7f37">0.73</font><br/><font color="#cf222e">1</font>' in out


def test_branches_carry_their_own_gradient(cli: Run) -> None:
    code, out, _ = cli("graph", "x*y + sin(x)", "--at", "x=2", "--at", "y=3")
    assert code == 0
    labels = edge_labels(out)
    assert labels[("n0", "n2")] == ["2", "3"]  # through x*y: y = 3
    assert labels[("n0", "n3")] == ["2", "-0.416"]  # through sin: cos(2)
    assert "∂ 2.58" in out  # the variable's total, on its leaf


def test_large_graphs_abbreviate_values(cli: Run) -> None:
    x = "[" + ",".join(str(i) for i in range(100)) + "]"
    code, out, _ = cli("graph", "h = tanh(x * 0.01); f = sum(h * h)", "--at", f"x={x}")
    assert code == 0
    labels = edge_labels(out)
    assert labels[("n0", "n2")][0] == "[0, …, 99]"
    assert max(len(t) for texts in labels.values() for t in texts) < 30
    assert "<i>h</i>" in out  # bound names on their gates


def test_vector_output_shows_values_only(cli: Run) -> None:
    code, out, err = cli("graph", "W@x", "--at", "W=[[1,2],[3,4]]", "--at", "x=[1,1]")
    assert code == 0 and "edges show values only" in err
    assert edge_labels(out)[("n2", "out")] == ["[3, 7]"]


def test_mermaid(cli: Run) -> None:
    code, out, _ = cli("graph", "q = x + y; f = q * z", "--at", "x=-2", "--at", "y=5",
                       "--at", "z=-4", "--format", "mermaid")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "flowchart LR"
    assert '  n2(("<i>q</i><br/>+"))' in lines
    assert '  n0 -->|"-2<br/>∂ -4"| n2' in lines
    assert '  n4 -->|"-12<br/>∂ 1"| out' in lines


def test_labels_are_escaped() -> None:
    nasty = 'a"b<c>&d\\e|f#g'
    pic = Picture((PictureNode(0, "var", nasty, "", "", True),
                   PictureNode(1, "gate", "exp", nasty, "", True)),
                  (PictureEdge(0, 1, nasty, "1"), PictureEdge(1, -1, "2", "1")), 1, nasty)
    text = to_dot(pic)
    assert nasty not in text and "a&quot;b&lt;c&gt;&amp;d\\e|f#g" in text
    mermaid = to_mermaid(pic)
    assert nasty not in mermaid and "a#quot;b#lt;c#gt;#amp;d\\e#124;f#35;g" in mermaid
    if shutil.which("dot"):
        root = svg_root(render_image(text, "svg"))
        texts = [t.text for t in root.iter() if t.tag.endswith("text")]
        assert nasty in texts


@needs_dot
def test_svg_parses_as_xml(cli: Run, tmp_path: Path) -> None:
    path = tmp_path / "sigmoid.svg"
    code, out, err = cli("graph", SIGMOID, "--at", "x=1", "-o", str(path))  # format from suffix
    assert code == 0 and out == "" and err == ""
    root = svg_root(path.read_bytes())
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    texts = [t.text for t in root.iter() if t.tag.endswith("text")]
    for words in ("x", "M", "neg", "exp", "0.731", "-0.534", "0.197"):
        assert words in texts, words
    fills = {t.get("fill") for t in root.iter() if t.text == "-0.534"}
    assert fills == {"#cf222e"}  # gradients red
    code, out, _ = cli("graph", SIGMOID, "--at", "x=1", "--format", "svg")
    assert code == 0 and svg_root(out).tag.endswith("svg")


@needs_dot
def test_png(tmp_path: Path) -> None:
    path = tmp_path / "g.png"
    proc = subprocess.run([sys.executable, "-m", "cgcli", "graph", SIGMOID, "--at", "x=1",
                           "-o", str(path)], capture_output=True, check=False, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    proc = subprocess.run([sys.executable, "-m", "cgcli", "graph", "x", "--format", "png"],
                          capture_output=True, check=False, timeout=60)
    assert proc.returncode == 0 and proc.stdout[:4] == b"\x89PNG"


def test_missing_dot_says_how_to_install(cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dot_module.shutil, "which", lambda name: None)
    code, out, err = cli("graph", "x", "--format", "svg")
    assert code == 4 and out == ""
    assert "Graphviz's 'dot' program, which is not on PATH" in err
    assert "apt-get install graphviz" in err and "--format dot" in err
    code, out, _ = cli("graph", "x", "--format", "dot")  # text needs no Graphviz
    assert code == 0 and out.startswith("digraph")


@needs_dot
def test_dot_failure_is_reported() -> None:
    with pytest.raises(GraphvizError, match="dot failed") as info:
        render_image("digraph {", "svg")
    assert info.value.exit_code == 4


def test_bad_output_path_is_an_input_error(cli: Run, tmp_path: Path) -> None:
    code, _, err = cli("graph", "x", "-o", str(tmp_path / "missing" / "g.dot"))
    assert code == 2 and "cannot write" in err


def test_unused_nodes_are_dashed() -> None:
    ev = cgcli.gradients("q = y * 2; f = x^2", x=3, y=1)
    text = to_dot(picture(ev.graph, ev.values, ev.grads))
    assert re.search(r"n\d+ \[label=<<font color=\"#0550ae\"><i>q</i>.*style=dashed", text)


def test_readme_picture_is_made_by_the_tool() -> None:
    svg = ROOT / "docs" / "sigmoid.svg"
    assert svg_root(svg.read_bytes()).tag.endswith("svg")
    assert "docs/sigmoid.svg" in (ROOT / "README.md").read_text(encoding="utf-8")
