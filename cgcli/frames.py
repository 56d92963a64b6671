"""``cgcli.batch``: the value and gradients at every row of a table.

A pandas DataFrame, a pyarrow Table (or RecordBatch) or a mapping of column name -> array
goes in; the same kind comes out, with the columns of ``cgcli grad --batch --format csv``:
``value`` and ``d_<name>`` for each variable (a vector or matrix becomes one column per
element, ``d_W[0][1]``). A DataFrame keeps its index. Rows go through the batched engine of
``--batch`` (:mod:`cgcli.batched`), a chunk of rows per forward and backward pass, so there is
no Python loop over rows and the temporary arrays stay small.

pandas and pyarrow are imported only when the data is one of theirs: a DataFrame cannot
exist unless pandas was imported already. Nothing is kept between calls, and the result is
plain data, so the function runs as it is on Dask's threads, processes and distributed
workers: ``ddf.map_partitions(lambda part: cgcli.batch(expr, part))``. A zero-row input gives
a zero-row result with the same columns, which is how Dask learns the output's columns.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

import numpy as np

from .batched import evaluate as batch_evaluate
from .batchio import chunk_rows_for
from .engine import check_wrt, wrt_ids
from .engine import forward as forward_one
from .errors import ShapeError, ValueInputError
from .graphs import Graph
from .parser import parse, parse_value

__all__ = ["batch", "columns"]


def batch(expr: str | Graph, data: Any, at: Mapping[str, Any] | None = None, *,
          wrt: list[str] | None = None, gradients: bool = True, **shared: Any) -> Any:
    """The value (and gradients) of ``expr`` at every row of ``data``.

    ``data`` is a pandas DataFrame, a pyarrow Table or RecordBatch, or a mapping of column
    name -> array (rows first; a vector variable is a column of vectors or an (N, k) array).
    Each variable of ``expr`` is a column, unless ``at``/keywords give it one value shared
    by every row (``cgcli.batch("sigmoid(w*x + b)", df, b=-0.5)``); columns that are not
    variables are left alone. ``wrt`` limits the gradients to those names (variables or
    let-bound names); ``gradients=False`` gives the values only (like ``eval --batch``).

    Returns the same kind as ``data``: columns ``value`` and ``d_<name>`` (float64), a
    DataFrame with ``data``'s index. Input errors raise :class:`cgcli.CgcliError`.
    """
    graph = parse(expr) if isinstance(expr, str) else expr
    fixed = {k: parse_value(v, k) if isinstance(v, str) else v
             for k, v in {**(at or {}), **shared}.items()}
    if wrt:
        check_wrt(graph, wrt)
    kind, table = _kind(data)
    names = set(_column_names(kind, table))
    both = [v for v in graph.variables if v in fixed and v in names]
    if both:
        raise ValueInputError(f"{both[0]!r} is given twice: as a column of the data and as a "
                              "shared value")
    needed = [v for v in graph.variables if v not in fixed]
    missing = [v for v in needed if v not in names]
    if missing:
        have = ", ".join(map(str, sorted(names, key=str))) or "none"
        raise ValueInputError(f"the data has no column {missing[0]!r} (and no shared value "
                              f"{missing[0]}=... gives it); its columns: {have}")
    rows = {name: _column(kind, table, name) for name in needed}
    n = _length(kind, table, rows)
    out = columns(graph, rows, fixed, n, wrt=wrt, gradients=gradients)
    return _wrap(kind, table, out)


def columns(graph: Graph, rows: Mapping[str, np.ndarray], shared: Mapping[str, Any], n: int,
            *, wrt: list[str] | None = None, gradients: bool = True) -> dict[str, np.ndarray]:
    """``{"value": ..., "d_x": ...}``: 1-D float64 columns of ``n`` rows, named as the CSV
    of ``--batch`` names them, computed a chunk of rows per batched pass."""
    rows = dict(rows)
    shared = dict(shared)
    if not rows and graph.variables:  # every variable shared: give one of them the rows
        name = next(iter(graph.variables))
        value = np.asarray(shared.pop(name), dtype=np.float64)
        rows[name] = np.broadcast_to(value, (n, *value.shape))
    names = [name for name, _ in wrt_ids(graph, wrt)] if gradients else []
    if not rows:  # a constant expression: one forward pass, the same value on every row
        value = np.asarray(forward_one(graph, shared)[graph.output], dtype=np.float64)
        return _flatten({"value": np.broadcast_to(value, (n, *value.shape))})
    # An eighth of --batch's reading chunk: 8,192 rows of scalars, 64 KiB per array, stay in
    # the cache and under malloc's mmap threshold, 1.4x faster here (1.6x in a Dask worker,
    # which trims memory eagerly) than 65,536 rows; see docs/benchmarks.md.
    step = max(16, chunk_rows_for({k: np.asarray(v) for k, v in shared.items()}, graph) // 8)
    out: dict[str, np.ndarray] = {}
    for start in range(0, max(n, 1), step):  # zero rows: one empty pass gives the columns
        chunk = {k: v[start:start + step] for k, v in rows.items()}
        result = batch_evaluate(graph, chunk, shared, gradients=gradients)
        part = {"value": result.value}
        part.update((f"d_{name}", result.gradient(name)) for name in names)
        part = _flatten(part)
        if step >= n:  # one chunk: its columns are the result
            return _own(part)
        if not out:
            out = {k: np.empty(n) for k in part}
        for k, v in part.items():
            out[k][start:start + len(v)] = v
    return out


def _own(columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Columns that share memory with nothing: a view (of an input, or of a broadcast value)
    or an array the engine gave two nodes is copied."""
    seen: set[int] = set()
    out = {}
    for k, v in columns.items():
        if not (v.flags.owndata and v.flags.writeable and v.flags.c_contiguous) or id(v) in seen:
            v = v.copy()
        seen.add(id(v))
        out[k] = v
    return out


def _flatten(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A vector or matrix per row becomes one column per element: ``d_W[0][1]``."""
    out = {}
    for name, a in arrays.items():
        a = np.asarray(a, dtype=np.float64)
        if a.ndim == 1:
            out[name] = a
            continue
        for idx in np.ndindex(*a.shape[1:]):
            out[name + "".join(f"[{i}]" for i in idx)] = a[(slice(None), *idx)]
    return out


# --- the kinds of data -------------------------------------------------------------------

def _kind(data: Any) -> tuple[str, Any]:
    pd = sys.modules.get("pandas")
    if pd is not None and isinstance(data, pd.DataFrame):
        return "pandas", data
    pa = sys.modules.get("pyarrow")
    if pa is not None and isinstance(data, (pa.Table, pa.RecordBatch)):
        return "arrow", data
    if isinstance(data, Mapping):
        return "mapping", data
    raise ValueInputError(f"cgcli.batch takes a pandas DataFrame, a pyarrow Table or a "
                          f"mapping of column name -> array, not {type(data).__name__}")


def _column_names(kind: str, table: Any) -> list[Any]:
    if kind == "arrow":
        return list(table.schema.names)
    return list(table.columns) if kind == "pandas" else list(table.keys())


def _column(kind: str, table: Any, name: str) -> np.ndarray:
    """One variable's rows as float64, the row axis first."""
    if kind == "pandas":
        col = table[name]
        if getattr(col, "ndim", 1) != 1:
            raise ValueInputError(f"the DataFrame has more than one column named {name!r}")
        raw = col.to_numpy(dtype=np.float64, na_value=np.nan) if _numeric_dtype(col) else \
            col.to_numpy()
    elif kind == "arrow":
        raw = table.column(name).to_numpy(zero_copy_only=False)  # nulls become nan
    else:
        raw = table[name]
    try:
        arr = np.asarray(raw)
        if arr.dtype == object:  # a column of vectors or matrices, one per row
            arr = (np.stack([np.asarray(v, dtype=np.float64) for v in arr]) if len(arr)
                   else np.empty(0))
        return np.asarray(arr, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueInputError(f"column {name!r} is not numbers (or arrays of numbers of one "
                              f"shape): {exc}") from None


def _numeric_dtype(col: Any) -> bool:
    kind = getattr(getattr(col, "dtype", None), "kind", "O")
    return kind in "biuf"


def _length(kind: str, table: Any, rows: Mapping[str, np.ndarray]) -> int:
    if kind == "pandas":
        return len(table.index)
    if kind == "arrow":
        return table.num_rows
    lengths = {np.shape(v)[0] if np.ndim(v) else -1 for v in rows.values()}
    if -1 in lengths or len(lengths) > 1:
        raise ShapeError("every column must have one entry per row, and all the same number")
    if lengths:
        return lengths.pop()
    lengths = {len(v) for v in table.values() if np.ndim(v)}
    if len(lengths) != 1:
        raise ShapeError("the data has no column to tell the number of rows")
    return lengths.pop()


def _wrap(kind: str, table: Any, out: dict[str, np.ndarray]) -> Any:
    if kind == "pandas":
        import pandas as pd

        return pd.DataFrame(out, index=table.index)
    if kind == "arrow":
        import pyarrow as pa

        make = pa.record_batch if isinstance(table, pa.RecordBatch) else pa.table
        return make({k: pa.array(v) for k, v in out.items()})
    return out
