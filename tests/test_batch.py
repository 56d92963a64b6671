"""Batched passes agree with one pass per row, for every op; batch input and output."""

from __future__ import annotations

import io

import numpy as np
import pytest

import cgcli
from cgcli.batched import evaluate as batch_evaluate
from cgcli.batchio import BadRow, run
from cgcli.ops import REGISTRY

ROWS = 4


def per_row(graph: cgcli.Graph, rows: dict, shared: dict) -> tuple[list, dict]:
    values, grads = [], {name: [] for name in graph.variables}
    for r in range(ROWS):
        ev = cgcli.gradients(graph, {**shared, **{k: v[r] for k, v in rows.items()}})
        values.append(ev.value)
        for name in graph.variables:
            grads[name].append(ev.gradients[name])
    return values, grads


def assert_same_as_rows(expr: str, rows: dict, shared: dict | None = None) -> None:
    shared = shared or {}
    graph = cgcli.parse(expr)
    got = batch_evaluate(graph, rows, shared)
    values, grads = per_row(graph, rows, shared)
    np.testing.assert_allclose(got.value, values, rtol=1e-12, atol=1e-14)
    for name in graph.variables:
        np.testing.assert_allclose(got.gradient(name), grads[name], rtol=1e-12, atol=1e-14,
                                   err_msg=f"{expr}: d/d{name}")


def _call(name: str, args: list[str]) -> str:
    op = REGISTRY[name]
    if name == "array":
        return "[" + ", ".join(args) + "]"
    if op.symbol and len(args) == 2:
        return f"({args[0]}) {op.symbol} ({args[1]})"
    if op.symbol:
        return f"{op.symbol}({args[0]})"
    return f"{name}({', '.join(args)})"


@pytest.mark.parametrize("name", sorted(n for n in REGISTRY if n not in ("var", "const")))
def test_every_op_batched_equals_one_pass_per_row(name: str) -> None:
    rng = np.random.default_rng(sum(map(ord, name)))
    for sample in REGISTRY[name].samples:
        args = [np.asarray(s, dtype=float) for s in sample]
        names = [f"v{k}" for k in range(len(args))]
        expr = f"q = {names[0]}; sum(q)" if name == "id" else f"sum({_call(name, names)})"
        # Each row jitters the sample a little (staying clear of kinks and ties).
        rows = {n: a + 1e-3 * rng.standard_normal((ROWS, *a.shape)) for n, a in
                zip(names, args, strict=True)}
        assert_same_as_rows(expr, rows)
        # And with the first input shared by every row instead.
        if len(names) > 1:
            assert_same_as_rows(expr, {n: rows[n] for n in names[1:]}, {names[0]: args[0]})


@pytest.mark.parametrize(("expr", "rows", "shared"), [
    ("1/(1+exp(-(w*x+b)))", {"w": (), "x": (), "b": ()}, {}),
    ("1/(1+exp(-(w*x+b)))", {"x": ()}, {"w": (), "b": ()}),
    ("sum((W@x)^2)", {"x": (2,)}, {"W": (2, 2)}),
    ("sum((W@x)^2)", {"W": (2, 2)}, {"x": (2,)}),
    ("sigmoid(dot(w, x) + b)", {"x": (3,)}, {"w": (3,), "b": ()}),
    ("sum(x * W) + sum(W @ W)", {"x": ()}, {"W": (2, 2)}),
    ("sum(T(W) @ [x, 2*x]) + [x, 1] @ [x, 2] + sum([[x, 1], [2, x]])", {"x": (), "W": (2, 2)},
     {}),
    ("softmax(x) + logsumexp(x) + max(x, y, 0.1) + min(x)", {"x": (), "y": ()}, {}),
    ("logsumexp(v) + max(v) + norm(v) + mean(v*s)", {"v": (3,), "s": ()}, {}),
    ("q = x*y; f = q + sin(q)", {"x": ()}, {"y": ()}),
])
def test_mixed_shapes(expr: str, rows: dict, shared: dict) -> None:
    rng = np.random.default_rng(5)
    assert_same_as_rows(expr, {k: rng.normal(size=(ROWS, *s)) for k, s in rows.items()},
                        {k: rng.normal(size=s) for k, s in shared.items()})


def run_text(expr: str, text: str, out_fmt: str = "jsonl", shared: dict | None = None,
             report: object = None, wrt: list | None = None) -> str:
    out = io.StringIO()
    run(cgcli.parse(expr), io.StringIO(text), out, shared=shared or {}, in_fmt=None,
        out_fmt=out_fmt, gradients=True, wrt=wrt, report=report)  # type: ignore[arg-type]
    return out.getvalue()


def test_csv_in_csv_out_keeps_row_order() -> None:
    text = "x,y\n" + "".join(f"{k},{-k}\n" for k in range(200_000))
    lines = run_text("x*y", text, "csv").splitlines()
    assert lines[0] == "value,d_x,d_y"
    assert len(lines) == 200_001  # several chunks
    assert lines[1 + 123_456] == f"{-123_456.0**2!r},{-123456.0!r},{123456.0!r}"


def test_jsonl_with_vectors_and_shared_matrix() -> None:
    out = run_text("sum((W@x)^2)", '{"x": [0.2, 0.4]}\n{"x": [1, 0]}\n', "jsonl",
                   {"W": np.array([[0.1, 0.5], [-0.3, 0.8]])})
    import json

    first = json.loads(out.splitlines()[0])
    assert first["value"] == pytest.approx(0.116)
    assert np.allclose(first["gradients"]["x"], [-0.112, 0.636])
    assert np.allclose(first["gradients"]["W"], [[0.088, 0.176], [0.104, 0.208]])


def test_bad_row_names_row_and_column() -> None:
    with pytest.raises(BadRow, match=r"row 3 of the batch input: column 'x' is not a number"):
        run_text("x", "x\n1\n2\nabc\n")
    with pytest.raises(BadRow, match=r"row 2 of the batch input: has 1 column, the header 2"):
        run_text("x+y", "x,y\n1,2\n3\n")
    with pytest.raises(BadRow, match=r"row 2 of the batch input: is not JSON"):
        run_text("x", '{"x": 1}\n{"x": \n')
    with pytest.raises(BadRow, match="not a variable"):
        run_text("x", "x,z\n1,2\n")


def test_skip_bad_rows_reports_them() -> None:
    seen: list[str] = []
    out = run_text("2*x", "x\n1\nfoo\n3\n", "csv", report=seen.append)
    assert out.splitlines() == ["value,d_x", "2.0,2.0", "6.0,2.0"]
    assert seen == ["row 2 of the batch input: column 'x' is not a number: 'foo' (skipped)"]


def test_non_finite_values_are_strings_in_json_lines() -> None:
    import json

    out = run_text("log(x)", "x\n0\n-1\n1\n")
    rows = [json.loads(line, parse_constant=lambda c: pytest.fail(c)) for line in out.splitlines()]
    assert [r["value"] for r in rows] == ["-inf", "nan", 0.0]
