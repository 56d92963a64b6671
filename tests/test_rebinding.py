"""Rebinding: a name bound again is a new node (c#1, c#2, ..., c), updates (c += x) and
constants' names bound with a note; micrograd's README program gives micrograd's numbers."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from conftest import judged_ok, structure

import cgcli
from cgcli.check import check
from cgcli.errors import NameError_, ParseError
from cgcli.printer import to_text

#: micrograd's README example (karpathy/micrograd, README.md, "Example usage"), verbatim
#: from `c = a + b` to `g += 10.0 / f`; a and b are its inputs (Value(-4.0), Value(2.0)).
MICROGRAD = """\
c = a + b
d = a * b + b**3
c += c + 1
c += 1 + c + (-a)
d += d * 2 + (b + a).relu()
d += 3 * d + (b - a).relu()
e = c - d
f = e**2
g = f / 2.0
g += 10.0 / f
"""
#: What its README says the program prints: g.data, a.grad, b.grad to 4 decimals.
MICROGRAD_PRINTS = ("24.7041", "138.8338", "645.5773")


def micrograd_program() -> str:
    """The program with ``(...).relu()`` written ``relu(...)``, the only change."""
    text = re.sub(r"\(([^()]*)\)\.relu\(\)", r"relu(\1)", MICROGRAD)
    assert text.count("relu(") == 2 and ".relu" not in text
    return text


def test_micrographs_readme_program_gives_its_numbers() -> None:
    ev = cgcli.gradients(micrograd_program(), a=-4.0, b=2.0)
    got = (f"{float(ev.value):.4f}", f"{float(ev.gradients['a']):.4f}",
           f"{float(ev.gradients['b']):.4f}")
    assert got == MICROGRAD_PRINTS
    assert ev.graph.output_name == "g"


def test_micrographs_program_against_central_differences() -> None:
    assert judged_ok(check(cgcli.parse(micrograd_program()), {"a": -4.0, "b": 2.0}))


def test_micrographs_program_on_the_command_line(cli, tmp_path) -> None:
    path = tmp_path / "micrograd.cg"
    path.write_text(micrograd_program(), encoding="utf-8")
    code, out, err = cli("grad", f"@{path}", "--at", "a=-4", "--at", "b=2", "--precision", "9")
    assert code == 0
    # e = c - d takes the name of the constant e: a note says so.
    assert err == ("note: e = ... (line 7) takes the name of the constant e "
                   "(2.718281828459045): from there on, e means this binding\n")
    assert "∂g/∂a = 138.833819" in out and "∂g/∂b = 645.577259" in out
    # The title is the program on one line; each version has its row.
    assert out.splitlines()[0].startswith("c = a + b; d = a * b + b**3; c += c + 1; ")
    for row in ("c#1 = a + b", "c#2 = c#1 + (c#1 + 1)", "c = c#2 + (1 + c#2 + (-a))",
                "d#2 = d#1 + (d#1 * 2 + relu(b + a))", "e = c - d", "g#1 = f / 2.0",
                "g = g#1 + 10.0 / f"):
        assert row in out, row


def test_versions_are_nodes_named_in_order_and_the_last_keeps_the_name() -> None:
    g = cgcli.parse("c = x + 1; c = c * 2; c = c - y; c * c")
    assert list(g.bindings) == ["c#1", "c#2", "c"]
    named = {n.name: n for n in g if n.name}
    assert named["c#2"].inputs[0] == g.bindings["c#1"]
    assert named["c"].inputs[0] == g.bindings["c#2"]
    assert g.nodes[g.output].inputs == (g.bindings["c"], g.bindings["c"])
    ev = cgcli.gradients(g, x=2.0, y=1.0)  # c = 2(x + 1) - y = 5; f = c²
    assert float(ev.value) == 25.0
    assert float(ev.gradients["x"]) == 2 * 5 * 2 and float(ev.gradients["y"]) == -10.0
    assert [g.text(i) for i in g.bindings.values()] == ["x + 1", "c#1 * 2", "c#2 - y"]


def test_a_program_without_rebinding_is_unchanged() -> None:
    g = cgcli.parse("q = x + y; f = q * z")
    assert list(g.bindings) == ["q", "f"] and not g.renamed and not g.shown and not g.notes


@pytest.mark.parametrize(("update", "plain"), [
    ("c += x", "c = c + x"), ("c -= x", "c = c - x"), ("c *= x", "c = c * x"),
    ("c /= x", "c = c / x"), ("c ^= x", "c = c ^ x"), ("c **= x", "c = c ** x"),
    ("c @= x", "c = c @ x"), ("c += x * y", "c = c + (x * y)"), ("c -= x - y", "c = c - (x - y)"),
    ("c /= x * y", "c = c / (x * y)"), ("c *= -x", "c = c * (-x)"), ("c ^= -1", "c = c ^ (-1)"),
    ("c −= x", "c = c - x"), ("c ·= x", "c = c * x"), ("c ×= x", "c = c * x"),
    ("c ÷= x", "c = c / x"), ("c += √x", "c = c + sqrt(x)"), ("c += x²", "c = c + x^2"),
])
def test_an_update_is_the_rebinding_it_stands_for(update: str, plain: str) -> None:
    """Same graph as the rebinding, and its value and gradients by central differences."""
    matrix = "@" in update
    start = "c = [[1, 2], [3, 4]] @ x; " if matrix else "c = x * y + 1; "
    g = cgcli.parse(start + update + "; sum(c)")
    assert structure(g) == structure(cgcli.parse(start + plain + "; sum(c)"))
    point = {"x": [0.5, 1.5], "y": 0.7} if matrix else {"x": 0.8, "y": 1.3}
    assert judged_ok(check(g, point))


def test_an_update_is_shown_as_what_it_computes() -> None:
    g = cgcli.parse("c = x\nc += c + 1\nc *= 2 - c\nc ^= 2\nc /= -y\nc -= (y)\nc")
    assert [g.label(i) + " = " + g.text(i) for i in list(g.bindings.values())[1:]] == [
        "c#2 = c#1 + (c#1 + 1)", "c#3 = c#2 * (2 - c#2)", "c#4 = c#3^2", "c#5 = c#4 / -y",
        "c = c#5 - (y)"]


def test_binding_a_constants_name_shadows_it_with_a_note() -> None:
    g = cgcli.parse("y = e * x; e = y + 1; pi = 3; e * pi")
    assert [n.name for n in g if n.op.name == "const"] == ["e", None, "pi"]  # e, 1, pi = 3
    assert float(cgcli.evaluate(g, x=1.0).value) == pytest.approx((np.e + 1) * 3)
    assert g.notes == [
        "e = ... takes the name of the constant e (2.718281828459045): from there on, e means "
        "this binding",
        "pi = ... takes the name of the constant pi (3.141592653589793): from there on, pi "
        "means this binding"]
    assert cgcli.parse("e += 1").notes and float(cgcli.evaluate("e += 1").value) == np.e + 1


def test_the_note_is_printed_once_by_every_command(cli) -> None:
    for args in (("grad", "e = x * 2; e"), ("eval", "e = x * 2; e"), ("explain", "e = x * 2; e"),
                 ("check", "e = x * 2; e"), ("graph", "e = x * 2; e"), ("fmt", "e = x * 2; e")):
        code, _, err = cli(*args, *(("--at", "x=1") if args[0] != "fmt" else ()))
        assert code == 0, (args, err)
        assert err.count("note: e = ... takes the name of the constant e") == 1, (args, err)


@pytest.mark.parametrize(("text", "column", "words"), [
    ("c = x; y = c#1", 12, "'c#1' is how the output names an earlier version of c"),
    ("c#2 = 1", 1, "'c#2' is how the output names an earlier version of c"),
    ("x = x + 1", 3, "'x' is an input (its value comes from --at) and cannot be bound again"),
    ("y = x; x = 1", 10, "'x' is used as an input before this binding"),
    ("c += 1", 1, "'c' is not bound before this: c += ... needs an earlier c = ..."),
    ("x * 2; x *= 2", 8, "'x' is an input (its value comes from --at) and cannot be updated"),
    ("exp += 1", 1, "'exp' is a function name and cannot be bound"),
    ("2 += 1", 3, "unexpected '+=': it updates a bound name, like c += 1"),
    ("c = 1; c +=", 12, "expected an expression after '+='"),
])
def test_rebinding_errors(text: str, column: int, words: str) -> None:
    with pytest.raises((NameError_, ParseError)) as info:
        cgcli.parse(text)
    assert words in info.value.message
    assert info.value.line_column == (1, column)


def test_versions_in_every_output(cli) -> None:
    expr = "c = x * 2; c = c + 1; c = c * c"

    def run(*args: str) -> str:
        code, out, err = cli(*args, expr, "--at", "x=3")
        assert code == 0 and err == "", (args, err)
        return out

    doc = json.loads(run("grad", "--json"))
    assert [n["label"] for n in doc["nodes"] if n["op"] != "const"] == ["x", "c#1", "c#2", "c"]
    assert run("grad", "--format", "tree").splitlines()[0] == "c = c#2 * c#2  mul  49  ∂ 1"
    dot = run("graph")
    assert ">c#1<" in dot and ">c#2<" in dot
    assert "<i>c#35;1</i>" in run("graph", "--format", "mermaid")  # Mermaid's code for '#'
    text = run("explain")
    assert "∂c/∂c#2 = 7 + 7 = 14" in text
    assert "∂c/∂c#1 = ∂c/∂c#2 · ∂c#2/∂c#1 = 14 · 1 = 14" in text
    latex = run("explain", "--format", "latex")
    assert r"\frac{\partial c}{\partial c_{\#1}}" in latex and "c#" not in latex


def test_versions_by_name_in_wrt_expect_and_batch(cli, tmp_path) -> None:
    expr = "c = x * 2; c = c + 1; c = c * c"  # c#1 = 6, c#2 = 7, c = 49 at x = 3
    code, out, _ = cli("grad", expr, "--at", "x=3", "--wrt", "c#1", "--raw")
    assert (code, out) == (0, "14\n")  # ∂c/∂c#1 = 2·c#2 · 1
    code, out, _ = cli("grad", expr, "--at", "x=3", "--expect-value", "c#2=7",
                       "--expect", "c#2=14", "--expect", "c#1=14", "--expect", "x=28", "--raw")
    assert (code, out) == (0, "ok\nok\nok\nok\n")
    rows = tmp_path / "rows.csv"
    rows.write_text("x\n3\n1\n", encoding="utf-8")
    code, out, _ = cli("grad", expr, "--batch", str(rows), "--wrt", "c#1", "--format", "csv")
    assert (code, out) == (0, "value,d_c#1\n49.0,14.0\n9.0,6.0\n")
    code, out, err = cli("grad", expr, "--at", "x=3", "--wrt", "c#3")
    assert code == 2 and "it has: x, c, c#1, c#2" in err


def test_ten_thousand_rebindings_are_linear_and_name_every_version() -> None:
    n = 10_000
    g = cgcli.parse("c = x\n" + "c += 1\n" * n + "c")
    assert len(g.bindings) == n + 1 and f"c#{n}" in g.bindings and "c" in g.bindings
    assert float(cgcli.evaluate(g, x=0.5).value) == n + 0.5
    assert cgcli.parse(to_text(g)).bindings == g.bindings
