"""``cgcli.batch`` on DataFrames, Arrow tables and dicts: the same numbers and columns as
``cgcli grad --batch`` on the same rows, the input's kind and index kept."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import cgcli
import cgcli.frames

NEURON = "s = sigmoid(w*x + b); L = (s - y)^2"


def rows(n: int = 50, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"x": rng.normal(size=n), "w": rng.normal(size=n), "y": rng.uniform(size=n)}


def cli_batch(cli, tmp_path: Path, expr: str, table: dict[str, list], *args: str,
              command: str = "grad") -> dict[str, np.ndarray]:
    """``cgcli COMMAND EXPR --batch FILE --format csv ARGS`` on the rows of ``table``
    (JSON Lines in, so that rows may hold vectors), read back as named columns."""
    path = tmp_path / "rows.jsonl"
    names = list(table)
    n = len(table[names[0]])
    path.write_text("".join(json.dumps({k: np.asarray(table[k][r]).tolist() for k in names})
                            + "\n" for r in range(n)))
    code, out, err = cli(command, expr, "--batch", str(path), "--format", "csv", *args)
    assert code == 0, err
    header, *lines = out.splitlines()
    data = np.loadtxt(io.StringIO("\n".join(lines)), delimiter=",", ndmin=2) if lines else \
        np.empty((0, len(header.split(","))))
    return {name: data[:, k] for k, name in enumerate(header.split(","))}


def assert_same_columns(got: dict, expected: dict) -> None:
    assert list(got) == list(expected)
    for name in expected:
        # The same engine over the same chunks of rows: the same bits.
        np.testing.assert_array_equal(np.asarray(got[name]), expected[name], err_msg=name)


def test_a_dataframe_gives_the_clis_numbers_and_keeps_its_index(cli, tmp_path) -> None:
    data = rows()
    df = pd.DataFrame(data, index=pd.RangeIndex(100, 150, name="sample"))
    df["label"] = "other columns are left alone"
    got = cgcli.batch(NEURON, df, b=-0.5)
    assert isinstance(got, pd.DataFrame)
    assert got.index.equals(df.index)
    assert (got.dtypes == np.float64).all()
    expected = cli_batch(cli, tmp_path, NEURON, data, "--at", "b=-0.5")
    assert list(expected) == ["value", "d_w", "d_x", "d_b", "d_y"]
    assert_same_columns({k: got[k].to_numpy() for k in got.columns}, expected)


@pytest.mark.parametrize("make", [pa.table, pa.record_batch], ids=["Table", "RecordBatch"])
def test_arrow_gives_the_clis_numbers(cli, tmp_path, make) -> None:
    data = rows(seed=1)
    got = cgcli.batch(NEURON, make(data), at={"b": "pi/4"})
    assert isinstance(got, type(make(data)))
    assert got.schema.names == ["value", "d_w", "d_x", "d_b", "d_y"]
    assert all(t == pa.float64() for t in got.schema.types)
    expected = cli_batch(cli, tmp_path, NEURON, data, "--at", "b=pi/4")
    assert_same_columns({k: got.column(k).to_numpy() for k in got.schema.names}, expected)


def test_a_dict_of_arrays_gives_the_clis_numbers(cli, tmp_path) -> None:
    data = rows(seed=2)
    got = cgcli.batch(NEURON, {k: list(v) for k, v in data.items()}, b=0.25)
    assert isinstance(got, dict)
    assert_same_columns(got, cli_batch(cli, tmp_path, NEURON, data, "--at", "b=0.25"))


def test_vector_rows_and_gradients_become_one_column_per_element(cli, tmp_path) -> None:
    """A column of vectors (a list per row in pandas and Arrow, an (N, k) array in a dict)
    and a shared matrix: gradients as d_W[0][1], like the CLI's CSV."""
    rng = np.random.default_rng(3)
    v = rng.normal(size=(6, 2))
    expr = "sum(tanh(W @ v + c))"
    shared = {"W": [[0.1, 0.5], [-0.3, 0.8]]}
    expected = cli_batch(cli, tmp_path, expr, {"v": v, "c": np.arange(6.0)}, "--at",
                         "W=[[0.1,0.5],[-0.3,0.8]]")
    assert list(expected) == ["value", "d_W[0][0]", "d_W[0][1]", "d_W[1][0]", "d_W[1][1]",
                              "d_v[0]", "d_v[1]", "d_c"]
    as_dict = cgcli.batch(expr, {"v": v, "c": np.arange(6.0)}, **shared)
    assert_same_columns(as_dict, expected)
    frame = cgcli.batch(expr, pd.DataFrame({"v": list(v), "c": np.arange(6.0)}), **shared)
    assert_same_columns({k: frame[k].to_numpy() for k in frame.columns}, expected)
    table = cgcli.batch(expr, pa.table({"v": v.tolist(), "c": np.arange(6.0)}), **shared)
    assert_same_columns({k: table.column(k).to_numpy() for k in table.schema.names}, expected)


def test_wrt_and_values_only_match_the_cli(cli, tmp_path) -> None:
    data = rows(8, seed=4)
    df = pd.DataFrame(data)
    got = cgcli.batch(NEURON, df, b=1, wrt=["w", "s"])
    expected = cli_batch(cli, tmp_path, NEURON, data, "--at", "b=1", "--wrt", "w", "--wrt",
                         "s")
    assert_same_columns({k: got[k].to_numpy() for k in got.columns}, expected)
    values = cgcli.batch(NEURON, df, b=1, gradients=False)
    expected = cli_batch(cli, tmp_path, NEURON, data, "--at", "b=1", command="eval")
    assert list(values.columns) == ["value"]
    np.testing.assert_array_equal(values["value"].to_numpy(), expected["value"])


def test_rows_in_several_chunks_equal_one_chunk(monkeypatch) -> None:
    data = rows(23, seed=5)
    whole = cgcli.batch(NEURON, data, b=0.5)
    monkeypatch.setattr(cgcli.frames, "chunk_rows_for", lambda shared, graph: 4)
    chunked = cgcli.batch(NEURON, data, b=0.5)
    assert_same_columns(chunked, whole)


def test_every_variable_shared_or_none_at_all_still_gives_one_row_per_row() -> None:
    got = cgcli.batch("x*w", pd.DataFrame({"id": [7, 8, 9]}), x=3, w=2)
    assert got.to_dict("list") == {"value": [6.0] * 3, "d_x": [2.0] * 3, "d_w": [3.0] * 3}
    constant = cgcli.batch("2^10", {"id": [1, 2]})
    assert {k: v.tolist() for k, v in constant.items()} == {"value": [1024.0, 1024.0]}


# --- zero rows: what Dask passes to learn the columns ------------------------------------

def test_zero_rows_give_zero_rows_with_the_same_columns(cli, tmp_path) -> None:
    data = rows(5, seed=6)
    full = cgcli.batch(NEURON, pd.DataFrame(data), b=0.5)
    empty = cgcli.batch(NEURON, pd.DataFrame(data).iloc[:0], b=0.5)
    assert len(empty) == 0
    assert list(empty.columns) == list(full.columns)
    assert (empty.dtypes == np.float64).all()
    assert empty.index.equals(pd.DataFrame(data).index[:0])
    # the CLI's header for a batch without rows
    path = tmp_path / "empty.csv"
    path.write_text("x,w,y\n")
    code, out, _ = cli("grad", NEURON, "--batch", str(path), "--format", "csv", "--at", "b=0.5")
    assert (code, out.split()) == (0, [",".join(full.columns)])
    table = cgcli.batch(NEURON, pa.table(data).slice(0, 0), b=0.5)
    assert (table.num_rows, table.schema.names) == (0, list(full.columns))
    as_dict = cgcli.batch(NEURON, {k: v[:0] for k, v in data.items()}, b=0.5)
    assert {k: v.shape for k, v in as_dict.items()} == dict.fromkeys(full.columns, (0,))


def test_zero_rows_of_vectors_still_name_every_element() -> None:
    got = cgcli.batch("sum(v * u)", {"v": np.empty((0, 3)), "u": np.empty((0, 3))})
    assert list(got) == ["value", "d_v[0]", "d_v[1]", "d_v[2]", "d_u[0]", "d_u[1]", "d_u[2]"]


# --- nulls and errors ---------------------------------------------------------------------

def test_missing_values_give_nan_rows() -> None:
    df = pd.DataFrame({"x": pd.array([1.0, None, 3.0], dtype="Float64")})
    got = cgcli.batch("x^2", df)
    np.testing.assert_array_equal(got["d_x"].to_numpy(), [2.0, np.nan, 6.0])
    got = cgcli.batch("x^2", pa.table({"x": pa.array([1, None, 3], pa.int64())}))
    np.testing.assert_array_equal(got.column("value").to_numpy(), [1.0, np.nan, 9.0])


@pytest.mark.parametrize(("data", "kw", "message"), [
    (pd.DataFrame({"x": [1.0]}), {}, "the data has no column 'w' (and no shared value w=..."),
    (pd.DataFrame({"x": [1.0], "w": [2.0]}), {"w": 1}, "'w' is given twice"),
    (pd.DataFrame({"x": [1.0], "w": ["a"]}), {}, "column 'w' is not numbers"),
    ({"x": [1.0, 2.0], "w": [1.0]}, {}, "one entry per row"),
    ([[1.0, 2.0]], {}, "not list"),
    (pd.DataFrame({"x": [1.0], "w": [2.0]}), {"wrt": ["q"]}, "--wrt q"),
])
def test_bad_input_is_one_clear_error(data, kw, message) -> None:
    with pytest.raises(cgcli.CgcliError) as exc:
        cgcli.batch("x*w", data, **kw)
    assert message in exc.value.message


def test_a_dict_imports_neither_pandas_nor_pyarrow() -> None:
    code = ("import sys, cgcli; cgcli.batch('x*2', {'x': [1, 2]}); "
            "print(sorted(m for m in ('pandas', 'pyarrow', 'dask') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_the_readme_example_is_real() -> None:
    """The ``>>>`` example of the README's section "Tables in, tables out", run by doctest."""
    import doctest

    text = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    start = text.index("### Tables in, tables out")
    block = text[text.index("```python\n>>>", start) + 10:]
    block = block[:block.index("```")]
    test = doctest.DocTestParser().get_doctest(block, {"cgcli": cgcli}, "README", None, 0)
    assert len(test.examples) == 3
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    assert runner.summarize(verbose=False).failed == 0


def test_result_columns_share_memory_with_nothing() -> None:
    """Adding to one column changes no other column and no input (an engine may hand the
    same gradient array to both inputs of an add, and the output of "x" is x itself)."""
    x = np.array([1.0, 2.0])
    got = cgcli.batch("x + y", {"x": x, "y": [3.0, 4.0]})
    got["d_x"] += 1
    assert got["d_y"].tolist() == [1.0, 1.0]
    same = cgcli.batch("x", {"x": x})
    same["value"][0] = 99
    assert x.tolist() == [1.0, 2.0]
