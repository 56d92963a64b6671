"""The lesson notebook (docs/lesson.ipynb) runs on a real IPython kernel, and every cell
shows what the lesson says: the lecture's numbers, as HTML, LaTeX, SVG and a plot.

The kernel is this interpreter (a kernel spec written for the test), so a fresh virtual
environment needs no ``ipykernel install``. ``CGCLI_WRITE_NOTEBOOK=1 pytest
tests/test_notebook.py`` stores the fresh outputs in the notebook.
"""

from __future__ import annotations

import html
import json
import os
import re
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from cgcli.render.dot import GRAD_COLOR

LESSON = Path(__file__).resolve().parent.parent / "docs" / "lesson.ipynb"


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> nbformat.NotebookNode:
    home = tmp_path_factory.mktemp("jupyter")
    spec = home / "kernels" / "cgcli-test"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "cgcli test", "language": "python"}))
    nb = nbformat.read(LESSON, as_version=4)
    saved = {k: os.environ.get(k) for k in ("JUPYTER_PATH", "IPYTHONDIR")}
    os.environ.update(JUPYTER_PATH=str(home), IPYTHONDIR=str(home / "ipython"))
    try:
        NotebookClient(nb, kernel_name="cgcli-test", timeout=60, record_timing=False,
                       resources={"metadata": {"path": str(LESSON.parent)}}).execute()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    if os.environ.get("CGCLI_WRITE_NOTEBOOK"):
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                     "language": "python"}
        nbformat.write(nb, LESSON)
    return nb


def outputs(nb: nbformat.NotebookNode, starts: str) -> list:
    """The outputs of the one code cell whose source starts with ``starts``."""
    (cell,) = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith(starts)]
    return cell.outputs


def result(nb: nbformat.NotebookNode, starts: str) -> dict:
    """The displayed result (execute_result or display_data) of that cell."""
    shown = [o for o in outputs(nb, starts) if o.output_type in ("execute_result",
                                                                 "display_data")]
    assert len(shown) == 1, shown
    return shown[0].data


def test_no_cell_fails_or_writes_to_stderr(executed) -> None:
    for cell in executed.cells:
        for out in cell.get("outputs", []):
            assert out.output_type != "error", out
            assert not (out.output_type == "stream" and out.name == "stderr"), out


def test_the_table_shows_the_lectures_gradients_in_red(executed) -> None:
    data = result(executed, "import cgcli")
    assert {"text/html", "text/plain"} <= set(data)
    red = re.findall(rf'<span style="color:{GRAD_COLOR}">([^<]*)</span>', data["text/html"])
    assert red == ["0.20", "-0.20", "-0.53", "-0.53", "1", "0.20"]
    assert "∂L/∂x = 0.20" in data["text/plain"]
    grads = result(executed, "{node.label")["text/plain"]
    assert grads == "{'x': 0.2, 'M': -0.2, 'Q': -0.53, 'P': -0.53, 'L': 1.0}"


def test_explain_is_typeset_latex_and_markdown(executed) -> None:
    for starts in ("cgcli.explain(", "%%cgcli explain"):
        data = result(executed, starts)
        assert {"text/latex", "text/markdown", "text/plain"} <= set(data)
        latex = data["text/latex"]
        assert latex.startswith("$$\n\\begin{aligned}")
        for step in (r"\frac{\partial L}{\partial P} &=", "= -0.53 \\\\", "= -0.20 \\\\",
                     "= 0.20\n\\end{aligned}"):
            assert step in latex
        assert "∂L/∂x = ∂L/∂M · ∂M/∂x = (-0.20) · (-1) = 0.20" in data["text/plain"]


def test_the_graph_is_an_svg_picture_with_the_numbers(executed) -> None:
    data = result(executed, "cgcli.graph(")
    assert "image/svg+xml" in data
    texts = [html.unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>",
                                                 data["image/svg+xml"])]
    assert {"-0.53", "-0.20", "0.20", "0.73"} <= set(texts)


def test_the_magic_displays_its_result(executed) -> None:
    assert outputs(executed, "%load_ext cgcli") == []
    data = result(executed, '%cgcli grad "(x+y)*z"')
    red = re.findall(rf'<span style="color:{GRAD_COLOR}">([^<]*)</span>', data["text/html"])
    assert red == ["-4", "-4", "-4", "3", "1", "-4", "-4", "3"]


def test_the_sweep_agrees_with_the_point_and_is_plotted(executed) -> None:
    (stream,) = outputs(executed, "import numpy as np")
    assert stream.text.splitlines() == ["at x = 1: L = 0.73, ∂L/∂x = 0.20",
                                        "slope = value·(1 - value) everywhere: True"]
    data = result(executed, "import matplotlib")
    assert "image/png" in data
