"""Results that display themselves (``cgcli.grad``, ``explain``, ``graph``) and the
``%cgcli`` magic: the same numbers and the same text as the command line."""

from __future__ import annotations

import contextlib
import html
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import cgcli
from cgcli.notebook.magic import CommandError, CommandOutput, run, split
from cgcli.render.dot import GRAD_COLOR, VALUE_COLOR

SIGMOID = "M = -x; Q = exp(M); P = Q + 1; L = 1/P"


@pytest.fixture(autouse=True)
def _torch_convention():
    """Each test starts with PyTorch's convention and leaves it so (the in-process command
    line of ``cli`` sets the convention for the rest of the process)."""
    from cgcli.xp import using

    with using("torch"):
        yield


# --- cgcli.grad ---------------------------------------------------------------------------

def test_grad_gives_the_lectures_numbers_as_data() -> None:
    r = cgcli.grad(SIGMOID, x=1)
    assert isinstance(r.value, float)
    assert r.value == pytest.approx(1 / (1 + np.exp(-1)))
    assert list(r.gradients) == ["x"] and isinstance(r.gradients["x"], float)
    grads = {n.label: round(n.grad, 2) for n in r.nodes if n.grad is not None}
    assert grads == {"x": 0.2, "M": -0.2, "Q": -0.53, "P": -0.53, "L": 1.0}
    assert [n.op for n in r.nodes] == ["var", "neg", "exp", "const", "add", "const", "div"]
    assert r.nodes[3].grad is None  # a constant has no gradient
    assert r.nodes[4].inputs == (2, 3)


def test_to_dict_is_the_json_document_of_the_cli(cli) -> None:
    args = ("sum((W@x)^2) + log(y)", "--at", "W=[[0.1,0.5],[-0.3,0.8]]", "--at", "x=[0.2,0.4]",
            "--at", "y=0")
    r = cgcli.grad(args[0], W=[[0.1, 0.5], [-0.3, 0.8]], x="[0.2, 0.4]", y=0)
    code, out, _ = cli("grad", *args, "--json")
    assert code == 0
    assert r.to_dict() == json.loads(out)  # "-inf" as a string, as the CLI writes it
    assert r.to_json() + "\n" == out
    assert isinstance(r.gradients["W"], np.ndarray) and r.gradients["W"].shape == (2, 2)
    np.testing.assert_allclose(r.gradients["W"], [[0.088, 0.176], [0.104, 0.208]])


def test_the_plain_text_is_the_clis_table(cli) -> None:
    r = cgcli.grad("q = x + y; f = q * z", at={"x": -2, "y": 5}, z=-4, precision=2,
                   wrt=["q", "z"])
    code, out, _ = cli("grad", "q = x + y; f = q * z", "--at", "x=-2", "--at", "y=5", "--at",
                       "z=-4", "--precision", "2", "--wrt", "q", "--wrt", "z")
    assert code == 0
    assert repr(r) + "\n" == out
    assert list(r.gradients) == ["q", "z"]


def test_the_html_table_colours_values_green_and_gradients_red() -> None:
    html = cgcli.grad(SIGMOID, x=1, precision=2)._repr_html_()
    red = re.findall(rf'<span style="color:{GRAD_COLOR}">([^<]*)</span>', html)
    green = re.findall(rf'<span style="color:{VALUE_COLOR}">([^<]*)</span>', html)
    assert red == ["0.20", "-0.20", "-0.53", "-0.53", "1", "0.20"]  # nodes, then ∂L/∂x
    assert green == ["1", "-1", "0.37", "1", "1.4", "1", "0.73"]
    assert html.count("<tr>") == 1 + 7
    assert "∂L/∂node" in html and "∂L/∂x = " in html


def test_the_html_escapes_what_the_user_typed_and_folds_huge_graphs() -> None:
    html = cgcli.grad("x*2 # <script>alert(1)</script>", x=1)._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;" in html
    big = cgcli.grad(" + ".join(f"x{i}" for i in range(400)), at={f"x{i}": i for i in range(400)},
                     max_rows=50)
    html = big._repr_html_()
    assert html.count("<tr>") == 1 + 50
    assert "749 more nodes not shown (max_rows=799 shows all)" in html
    title = re.search(r'font-weight:bold">([^<]*)</div>', html).group(1)
    assert len(title) == 200 and title.endswith("…")  # as the terminal's table cuts it


def test_grad_needs_a_scalar_output_and_reports_input_errors() -> None:
    with pytest.raises(cgcli.CgcliError, match="scalar"):
        cgcli.grad("W @ x", W=[[1, 2], [3, 4]], x=[1, 1])
    with pytest.raises(cgcli.CgcliError, match="no variable or binding 'q'"):
        cgcli.grad("x*y", x=1, y=2, wrt=["q"])


def test_the_old_names_keep_working() -> None:
    assert float(cgcli.gradients("x*y", x=2, y=3).gradients["x"]) == 3.0
    assert float(cgcli.evaluate("x*y", x=2, y=3).value) == 6.0
    assert len(cgcli.parse("q = x + y; f = q * z")) == 5


# --- cgcli.explain ------------------------------------------------------------------------

def test_explain_shows_the_notes_aligned_block_and_the_clis_text(cli) -> None:
    ex = cgcli.explain(SIGMOID, x=1, precision=2)
    latex = ex._repr_latex_()
    assert latex.startswith("$$\n\\begin{aligned}") and latex.endswith("\\end{aligned}\n$$")
    assert "%" not in latex
    results = [line.split(r" \quad")[0].rstrip(" \\").rpartition("= ")[2]
               for line in latex.splitlines() if "&=" in line]
    assert results == ["1", "-0.53", "-0.53", "-0.20", "0.20"]  # ∂L/∂ L, P, Q, M, x
    markdown = ex._repr_markdown_()
    assert markdown.startswith("Backward pass of L = 0.73 at x = 1, one chain-rule step per")
    assert latex in markdown
    for fmt, got in (("latex", ex.to_latex()), ("markdown", ex.to_markdown()),
                     ("text", repr(ex) + "\n")):
        code, out, _ = cli("explain", SIGMOID, "--at", "x=1", "--precision", "2", "--format",
                           fmt)
        assert (code, got) == (0, out)
    code, out, _ = cli("explain", SIGMOID, "--at", "x=1", "--json")
    assert ex.to_dict()["steps"][1]["gradient"] == json.loads(out)["steps"][1]["gradient"]
    assert ex.steps[1].text() == "∂L/∂P = ∂L/∂L · ∂L/∂P = 1 · (-1/P²) = 1 · (-1/1.37²) = -0.53"


def test_explain_shows_one_form_when_asked(cli) -> None:
    for show, shown in (("latex", "_repr_latex_"), ("markdown", "_repr_markdown_"),
                        ("text", None)):
        ex = cgcli.explain("x*y", x=1, y=2, show=show)
        code, out, _ = cli("explain", "x*y", "--at", "x=1", "--at", "y=2", "--format", show)
        assert code == 0 and repr(ex) + "\n" == out
        for method in ("_repr_latex_", "_repr_markdown_"):
            assert (getattr(ex, method)() is not None) == (method == shown)
    ascii_ex = cgcli.explain("x*y", x=1, y=2, ascii=True)
    assert ascii_ex.steps[-1].text() == "df/dx = df/df * df/dx = 1 * y = 1 * 2 = 2"
    assert ascii_ex._repr_latex_() == cgcli.explain("x*y", x=1, y=2)._repr_latex_()
    with pytest.raises(cgcli.CgcliError, match="show='json'"):
        cgcli.explain("x*y", x=1, y=2, show="json")


def test_explain_escapes_markdown_in_its_header() -> None:
    markdown = cgcli.explain("w_0 * x_1", w_0=2, x_1=3)._repr_markdown_()
    assert markdown.startswith(r"Backward pass of f = 6 at w\_0 = 2, x\_1 = 3")


def test_explain_needs_a_scalar_output() -> None:
    with pytest.raises(cgcli.CgcliError, match="explain needs a scalar output"):
        cgcli.explain("x * 2", x=[1, 2])


# --- cgcli.graph --------------------------------------------------------------------------

def test_graph_draws_svg_with_the_numbers_of_the_cli(cli) -> None:
    g = cgcli.graph(SIGMOID, x=1, precision=2)
    code, out, _ = cli("graph", SIGMOID, "--at", "x=1", "--precision", "2")
    assert (code, g.to_dot()) == (0, out)
    svg = g._repr_svg_()
    assert "<svg" in svg
    assert g._repr_markdown_() is None  # the picture is what shows
    texts = [html.unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg)]
    for number in ("0.37", "-0.53", "-0.20", "0.20", "0.73"):
        assert number in texts
    code, out, _ = cli("graph", SIGMOID, "--format", "mermaid")
    assert cgcli.graph(SIGMOID).to_mermaid() == out  # no values: the structure only


def test_graph_saves_in_the_format_of_the_suffix(tmp_path: Path) -> None:
    g = cgcli.graph("q = x + y; f = q * z", x=-2, y=5, z=-4)
    assert g.save(tmp_path / "g.svg").read_text().count("<svg") == 1
    assert g.save(tmp_path / "g.png").read_bytes().startswith(b"\x89PNG")
    assert g.save(tmp_path / "g.dot").read_text() == g.to_dot()
    with pytest.raises(cgcli.CgcliError, match="cannot tell the format"):
        g.save(tmp_path / "g.pdf")


def test_without_graphviz_the_graph_says_how_to_get_it(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot here
    g = cgcli.graph("x * y", x=1, y=2)
    assert g._repr_svg_() is None
    message = g._repr_markdown_()
    assert "SVG needs Graphviz's 'dot' program" in message and "apt-get install graphviz" in message
    assert "no picture: Graphviz's dot is not on PATH" in repr(g)
    with pytest.raises(cgcli.CgcliError) as exc:
        g.to_svg()
    assert exc.value.exit_code == 4
    assert g.to_dot().startswith("digraph cgcli {")


# --- the magic ----------------------------------------------------------------------------

def test_the_magic_returns_the_same_result_objects() -> None:
    r = run(split('grad "(x+y)*z" --at x=-2 --at y=5 --at z=-4 --precision 3'))
    assert r.gradients == cgcli.grad("(x+y)*z", x=-2, y=5, z=-4).gradients
    assert r._repr_html_() == cgcli.grad("(x+y)*z", x=-2, y=5, z=-4, precision=3)._repr_html_()
    values = run(split('eval "W@x" --at "W=[[1,2],[3,4]]" --at x=[1,1]'))
    np.testing.assert_array_equal(values.value, [3, 7])
    assert "∂" not in values._repr_html_()
    assert run(split("graph x*y --at x=1 --at y=2"))._repr_svg_().count("<svg") == 1
    ex = run(split("explain --at x=1 --precision 2", "M = -x; Q = exp(M)\nP = Q + 1\nL = 1/P"))
    assert ex._repr_latex_() == cgcli.explain(SIGMOID, x=1, precision=2)._repr_latex_()


def test_the_cell_body_is_the_expression_even_with_a_leading_minus() -> None:
    r = run(split("grad --at x=3", "# a comment line\n-x^2\n"))
    assert r.gradients == {"x": -6.0}


@pytest.mark.parametrize(("line", "mime", "needle"), [
    ("graph x*y --at x=1 --at y=2 --format svg", "image/svg+xml", "<svg"),
    ('grad "(x+y)*z" --at x=-2 --at y=5 --at z=-4 --format tree', "text/plain", "x+y  add  3"),
    ("grad x^3 --at x=2 --raw", "text/plain", "12"),
    ("check sin(x)*y --at x=0.5 --at y=2", "text/plain", "passed: 2 derivatives match"),
    ("functions", "text/plain", "sigmoid"),
    ("grad --help", "text/plain", "Usage: cgcli grad [OPTIONS]"),
    ("", "text/plain", "Usage: cgcli [OPTIONS] COMMAND"),
])
def test_other_command_lines_show_their_output_as_what_it_is(line, mime, needle) -> None:
    out = run(split(line))
    assert isinstance(out, CommandOutput)
    assert (out.mime, out.exit_code) == (mime, 0)
    assert needle in out.text
    assert (out._repr_svg_() is not None) == (mime == "image/svg+xml")
    assert out._repr_png_() is None


@pytest.mark.parametrize(("fmt", "shown"), [("latex", "_repr_latex_"),
                                            ("markdown", "_repr_markdown_")])
def test_explain_formats_show_the_clis_text_alone(cli, capsys, fmt, shown) -> None:
    from cgcli.render.explain import display_math

    r = run(split(f"explain x*y --at x=1 --at y=2 --format {fmt}"))
    code, out, _ = cli("explain", "x*y", "--at", "x=1", "--at", "y=2", "--format", fmt)
    assert code == 0 and repr(r) + "\n" == out  # the text is what the command line prints
    other = {"_repr_latex_", "_repr_markdown_"} - {shown}
    assert getattr(r, other.pop())() is None
    expected = display_math(r.explanation("latex")) if fmt == "latex" else out
    assert getattr(r, shown)() == expected
    ascii_ex = run(split("explain x*y --at x=1 --at y=2 --ascii"))
    code, out, _ = cli("explain", "x*y", "--at", "x=1", "--at", "y=2", "--ascii")
    assert repr(ascii_ex) + "\n" == out and "dx" in out
    assert ascii_ex._repr_latex_() is None and ascii_ex._repr_markdown_() is None


def test_png_and_files(tmp_path: Path) -> None:
    out = run(split("graph x*y --at x=1 --at y=2 --format png"))
    assert out.mime == "image/png" and out._repr_png_().startswith(b"\x89PNG")
    target = tmp_path / "g.svg"
    assert run(split(f"graph x*y --at x=1 --at y=2 -o {target}")) is None
    assert "<svg" in target.read_text()


def test_a_wrong_answer_is_output_not_an_error(capsys) -> None:
    out = run(split("grad 1/(1+exp(-x)) --at x=1 --expect x=0.20 --expect x=0.196 --raw"))
    assert (out.text, out.exit_code) == ("ok\nwrong\n", 1)


@pytest.mark.parametrize(("line", "code", "lines"), [
    ('grad "1 + (2 * x" --at x=1', 2, ["error: unexpected end of input: expected an operator "
                                       "or ')' (column 11 of the expression)", "  1 + (2 * x",
                                       "            ^"]),
    ("grad x --bogus", 2, ["error: No such option: --bogus"]),
    ('grad "x', 2, ["error: cannot split the command line: No closing quotation"]),
    ("grad log(x) --at x=0 --strict", 3, ["error: log(x) = -inf: the first value that is not "
                                          "finite (column 1 of the expression)", "  log(x)",
                                          "  ^"]),
    ("grad x*y --at x=1 --at y=2 --format tree --wrt q", 2,
     ["error: --wrt q: the expression has no variable or binding 'q' (it has: x, y)"]),
    ("jacobian x --at x=1 --json --wrt nope", 2, None),
    ("grad - --at x=1", 2, ["error: the expression is empty (column 1 of the expression)",
                            "  ", "  ^"]),  # nothing to read on standard input
])
def test_errors_are_one_message_with_the_clis_exit_code(line, code, lines) -> None:
    with pytest.raises(CommandError) as exc:
        run(split(line))
    assert exc.value.exit_code == code
    shown = exc.value._render_traceback_()
    if lines is not None:
        assert shown == lines
    assert shown[0].startswith("error: ") and not any("Traceback" in s for s in shown)


def test_the_magic_in_an_ipython_shell(tmp_path, monkeypatch, capsys) -> None:
    """Registered by %load_ext, run as a line and as a cell; an error shows the message and
    no traceback."""
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path))
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.enabled = False  # no history database, no thread saving it
    shell = InteractiveShell.instance(config=config)
    try:
        shell.run_line_magic("load_ext", "cgcli")
        r = shell.run_line_magic("cgcli", 'grad "(x+y)*z" --at x=-2 --at y=5 --at z=-4')
        assert r.gradients == {"x": -4.0, "y": -4.0, "z": 3.0}
        r = shell.run_cell_magic("cgcli", "grad --at x=1", "M = -x; Q = exp(M)\nL = 1/(Q + 1)")
        assert round(r.gradients["x"], 4) == 0.1966
        shell.user_ns["point"] = "x=3"  # IPython puts Python values into the line
        shell.run_cell("r = %cgcli grad x^2 --at {point}")
        assert shell.user_ns["r"].gradients == {"x": 6.0}
        capsys.readouterr()
        result = shell.run_cell('%cgcli grad "1 + (2 * x" --at x=1')
        shown = capsys.readouterr()
    finally:
        InteractiveShell.clear_instance()
    assert isinstance(result.error_in_exec, CommandError)
    assert "error: unexpected end of input" in shown.out + shown.err
    assert "Traceback" not in shown.out + shown.err


def test_import_cgcli_and_its_results_import_no_ipython_or_frames() -> None:
    code = ("import sys, cgcli; r = cgcli.grad('x*y', x=1, y=2); r._repr_html_(); repr(r); "
            "cgcli.explain('x*y', x=1, y=2)._repr_latex_(); "
            "print(sorted(m for m in ('IPython', 'pandas', 'pyarrow', 'rich', 'typer') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_the_readme_comments_are_real() -> None:
    text = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    r = cgcli.grad("sum((W@x)^2)", W=[[0.1, 0.5], [-0.3, 0.8]], x=[0.2, 0.4])
    for shown in (repr(r.value), repr(r.gradients["x"]), "Node(id=2, op='matmul', label='W@x', "
                  "inputs=(0, 1),", "value=array([0.22, 0.26]), grad=array([0.44, 0.52]))"):
        assert shown in text, shown
    assert repr(r.nodes[2]) == ("Node(id=2, op='matmul', label='W@x', inputs=(0, 1), "
                                "value=array([0.22, 0.26]), grad=array([0.44, 0.52]))")


# --- cgcli.diff and cgcli.plot ------------------------------------------------------------------

def test_diff_shows_typeset_formulas_and_holds_the_clis_document(cli) -> None:
    d = cgcli.diff(SIGMOID, x=1)
    assert d.formulas == {"x": "exp(-x)/(1 + exp(-x))^2"}
    assert d.values["x"] == pytest.approx(0.19661193324148188, rel=1e-15)
    code, out, _ = cli("diff", SIGMOID, "--at", "x=1", "--json")
    assert code == 0 and d.to_dict() == json.loads(out)
    latex = d._repr_latex_()
    assert latex.startswith("$$\\begin{aligned}") and r"\frac{\partial L}{\partial x}" in latex
    assert r"e^{- x}" in latex
    assert repr(d) == "∂L/∂x = exp(-x)/(1 + exp(-x))^2 = 0.1966\nat x = 1"
    w = cgcli.diff("sum((W@x)^2)", W=[[0.1, 0.5], [-0.3, 0.8]], x=[0.2, 0.4], wrt=["W"])
    assert r"\texttt{outer(2 * (W @ x), x)}" in w.to_latex()
    np.testing.assert_allclose(w.values["W"], [[0.088, 0.176], [0.104, 0.208]])


def test_plot_holds_the_samples_and_shows_a_figure(cli) -> None:
    import xml.etree.ElementTree as ET

    p = cgcli.plot("sigmoid(x)", start=-2, stop=2, points=41)
    code, out, _ = cli("plot", "sigmoid(x)", "--from", "-2", "--to", "2", "--points", "41",
                       "--json")
    assert code == 0 and p.to_dict() == json.loads(out)
    assert ET.fromstring(p._repr_svg_()).tag.endswith("svg")  # noqa: S314 - our own SVG
    assert "sigmoid(x)" in repr(p) and "∂f/∂x" in repr(p)


def test_the_magic_shows_diff_and_plot_as_results() -> None:
    assert run(split('diff "x^3" --at x=2', None)).values == {"x": 12.0}
    assert run(split("plot 'x^2' --wrt x --from -1 --to 1 --points 5", None)).to_dict()[
        "value"] == [1.0, 0.25, 0.0, 0.25, 1.0]
    out = run(split('diff "x^3" --raw', None))
    assert isinstance(out, CommandOutput) and "3*x^2" in repr(out)


# --- the magic's options are the command line's -------------------------------------------

def _notes(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("note: ")]


@pytest.mark.parametrize("line", [
    "grad abs(x) --at x=0 --convention jax",
    "--convention jax grad abs(x) --at x=0",
    "--convention torch grad abs(x) --at x=0 --convention jax",  # the command's own wins
])
def test_the_convention_reaches_the_object(capsys, line) -> None:
    r = run(split(line))
    assert isinstance(r, cgcli.notebook.display.GradResult) and r.gradients == {"x": 1.0}
    assert _notes(capsys.readouterr().err) == [
        "note: abs at 0: gradient 1 (JAX's convention; PyTorch gives 0)"]


def test_every_object_command_takes_the_convention(capsys) -> None:
    ex = run(split("explain abs(x)*2 --at x=0 --convention jax"))
    assert ex.steps[-1].text().endswith("= 2")  # PyTorch's convention gives 0
    assert run(split("diff abs(x) --at x=0 --convention jax")).values == {"x": 1.0}
    p = run(split("--convention jax plot abs(x) --from -1 --to 1 --points 3"))
    assert p.to_dict()["gradient"] == [-1.0, 1.0, 1.0]
    assert run(split("plot abs(x) --from -1 --to 1 --points 3")).to_dict()["gradient"] == [
        -1.0, 0.0, 1.0]


@pytest.mark.parametrize("first", [
    "grad abs(x) --at x=0 --json --convention jax",  # through the command line (captured)
    "--convention jax grad abs(x) --at x=0",  # an object
    "--quiet grad abs(x) --at x=0 --json",
    "grad abs(x) --at x=0 --quiet",
    "--color always grad abs(x) --at x=0 --format tree",
    "grad abs(x) --at x=0 --color always --format tree",
    "--convention jax --quiet grad abs(x) --at x=0 --strict --bogus",  # a usage error
])
def test_nothing_leaks_into_the_next_run_or_the_python_api(capsys, first) -> None:
    from cgcli.cli.settings import settings
    from cgcli.xp import CONVENTION, using

    with using("torch"):
        before = dict(settings)
        with contextlib.suppress(CommandError):
            run(split(first))
        assert (dict(settings), CONVENTION.get()) == (before, "torch")
        assert cgcli.grad("abs(x)", x=0).gradients == {"x": 0.0}
        capsys.readouterr()
        assert run(split("grad abs(x) --at x=0")).gradients == {"x": 0.0}
        assert _notes(capsys.readouterr().err) == [
            "note: abs at 0: gradient 0 (PyTorch's convention; JAX gives 1)"]
        tree = run(split('grad "(x+y)*z" --at x=-2 --at y=5 --at z=-4 --format tree'))
        assert "\x1b[" not in tree.text  # no colour: not a terminal
    with using("jax"):  # each run starts from the defaults, and leaves the caller's setting
        assert run(split("grad abs(x) --at x=0")).gradients == {"x": 0.0}
        assert CONVENTION.get() == "jax"


@pytest.mark.parametrize("line", [
    "grad abs(x) --at x=0",
    "grad abs(x)*y --at x=0 --at y=2 --at z=1 --convention jax",
    "grad log(x) --at x=0",
    "eval log(x) --at x=0",
    "explain abs(x) --at x=0",
    "diff log(x) --at x=0",
    "plot log(x) --from -1 --to 1 --points 5",
    "graph W@x --at W=[[1,2],[3,4]] --at x=[1,1]",
])
def test_the_notes_are_the_clis(cli, capsys, line) -> None:
    capsys.readouterr()
    run(split(line))
    got = _notes(capsys.readouterr().err)
    code, _, err = cli(*split(line))
    assert code == 0 and got == _notes(err) and got
    run(split("--quiet " + line))
    if line.startswith("grad"):
        run(split(line + " --quiet"))
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("line", [
    "diff log(x) --at x=0 --strict",
    "plot log(x) --strict",
    "grad log(x) --at x=0 --strict",
    "eval log(x) --at x=0 --strict",
])
def test_strict_fails_as_on_the_command_line(cli, line) -> None:
    with pytest.raises(CommandError) as exc:
        run(split(line))
    code, _, err = cli(*split(line))
    assert (exc.value.exit_code, exc.value.message + "\n") == (code, err) == (3, err)


def test_diff_takes_shapes_and_simplify(cli) -> None:
    line = "diff sum((W@x)^2) --wrt W --shape W=2x2 --shape x=2"
    r = run(split(line))
    code, out, _ = cli(*split(line), "--json")
    assert code == 0 and r.to_dict() == json.loads(out)
    assert r.formulas == {"W": "outer(2 * (W @ x), x)"}
    assert cgcli.diff("sum((W@x)^2)", wrt=["W"], shapes={"W": (2, 2), "x": 2}).formulas == \
        r.formulas
    plain = run(split("diff sin(x)^2+cos(x)^2 --no-simplify"))
    code, out, _ = cli("diff", "sin(x)^2+cos(x)^2", "--no-simplify", "--json")
    assert plain.to_dict() == json.loads(out)
    assert plain.formulas != run(split("diff sin(x)^2+cos(x)^2")).formulas


@pytest.mark.parametrize("line", [
    "plot x^2 --width 40",  # the terminal chart: the command line's own
    "plot x^2 --height 6",
    "grad x*y --at x=1 --at y=2 --format tree --max-depth 1",
    "grad x*y --at x=1 --at y=2 --color never",
    "--color never eval x*y --at x=1 --at y=2",
    "grad x*y --at x=1 --at y=2 --json",
    "explain x*y --at x=1 --at y=2 --json",
    "diff x^3 --raw",
])
def test_an_option_the_object_does_not_show_runs_the_command_line(cli, line) -> None:
    out = run(split(line))
    code, expected, _ = cli(*split(line))
    assert isinstance(out, CommandOutput) and (code, out.text) == (0, expected)


def test_the_objects_options_are_the_commands() -> None:
    """The options the object path reads are named as the command line names them (an
    option renamed there fails here, not in a notebook)."""
    import typer.main

    from cgcli.cli.app import app, register_commands
    from cgcli.notebook.magic import GLOBAL_SHOWN, RESULTS

    register_commands(["plot"])
    root = typer.main.get_command(app)
    assert {p.name for p in root.params} >= GLOBAL_SHOWN
    for name, result in RESULTS.items():
        assert result.shows <= {p.name for p in root.commands[name].params}, name
