"""Batch input and output: CSV or JSON Lines in, JSON Lines or CSV out, in chunks.

Rows are read a chunk at a time (NumPy parses CSV numbers in C), pushed through one batched
forward and backward pass (:mod:`cgcli.batched`), and written a chunk at a time, so memory
stays bounded however many rows arrive. Output rows keep the input's order.

A bad row (a missing column, something that is not a number) stops the run with an error
naming its row and column; rows of earlier chunks have then already been written, complete.
With ``skip_bad`` bad rows are reported and left out instead.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from typing import IO, Any

import numpy as np

from .batched import evaluate as batch_evaluate
from .errors import ValueInputError
from .graphs import Graph

#: Rows per chunk for scalar variables; fewer when a row holds vectors or matrices.
CHUNK_ROWS = 65_536
_CHUNK_ELEMENTS = 1 << 21


class BadRow(ValueInputError):
    """A row of the batch input that cannot be used."""


def detect_format(first_line: str) -> str:
    """``"jsonl"`` if the first line is a JSON object, else ``"csv"``."""
    return "jsonl" if first_line.lstrip().startswith("{") else "csv"


def read_rows(stream: IO[str], fmt: str | None, variables: list[str],
              report: Callable[[str], None] | None,
              chunk_rows: int = CHUNK_ROWS) -> Iterator[dict[str, np.ndarray]]:
    """Chunks of rows as {variable: array with the row axis first}.

    ``fmt`` is ``"csv"``, ``"jsonl"`` or None (detect). ``report`` receives a message for
    each bad row and makes the reader skip it; without it a bad row raises :class:`BadRow`.
    """
    first = stream.readline()
    while first and not first.strip():
        first = stream.readline()
    if not first:
        return
    fmt = fmt or detect_format(first)
    if fmt == "jsonl":
        yield from _jsonl(itertools.chain([first], stream), variables, report, chunk_rows)
    else:
        yield from _csv(first, stream, variables, report, chunk_rows)


def _csv(header: str, stream: IO[str], variables: list[str],
         report: Callable[[str], None] | None, chunk_rows: int) -> Iterator[dict]:
    names = [c.strip() for c in header.strip().split(",")]
    if len(set(names)) != len(names) or not all(names):
        raise BadRow(f"the CSV header must name each column once, got: {header.strip()!r}")
    unknown = [n for n in names if n not in variables]
    if unknown:
        raise BadRow(f"CSV column {unknown[0]!r} is not a variable of the expression "
                     f"(it has: {', '.join(variables) or 'none'})")
    row0 = 1
    while True:
        lines = list(itertools.islice(stream, chunk_rows))
        if not lines:
            return
        lines = [ln for ln in lines if ln.strip()]
        try:
            table = np.loadtxt(lines, delimiter=",", dtype=np.float64, ndmin=2,
                               comments=None) if lines else np.empty((0, len(names)))
            if table.shape[1] != len(names):
                raise ValueError("wrong number of columns")
            good = lines
        except ValueError:
            table, good = _csv_rows_one_by_one(lines, names, row0, report)
        row0 += len(lines)
        if len(good):
            yield {name: table[:, k] for k, name in enumerate(names)}


def _csv_rows_one_by_one(lines: list[str], names: list[str], row0: int,
                         report: Callable[[str], None] | None) -> tuple[np.ndarray, list]:
    """The slow path for a chunk with a bad row: find it (and skip it, if allowed)."""
    rows, good = [], []
    for k, line in enumerate(lines):
        cells = line.rstrip("\r\n").split(",")
        problem = None
        if len(cells) != len(names):
            problem = f"has {len(cells)} column{'s' * (len(cells) != 1)}, the header {len(names)}"
        else:
            values = []
            for name, cell in zip(names, cells, strict=True):
                try:
                    values.append(float(cell))
                except ValueError:
                    problem = f"column {name!r} is not a number: {cell.strip()!r}"
                    break
        if problem is None:
            rows.append(values)
            good.append(line)
            continue
        message = f"row {row0 + k} of the batch input: {problem}"
        if report is None:
            raise BadRow(message)
        report(message + " (skipped)")
    return np.array(rows, dtype=np.float64).reshape(len(rows), len(names)), good


def _jsonl(lines: Iterator[str], variables: list[str], report: Callable[[str], None] | None,
           chunk_rows: int) -> Iterator[dict]:
    row = 0
    while True:
        chunk = list(itertools.islice(lines, chunk_rows))
        if not chunk:
            return
        columns: dict[str, list] = {}
        for line in chunk:
            row += 1
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                if not isinstance(item, dict):
                    raise BadRow("is not a JSON object")
                for name, value in item.items():
                    if name not in variables:
                        raise BadRow(f"key {name!r} is not a variable of the expression")
                    if not _numeric(value):
                        raise BadRow(f"{name!r} is not a number or an array of numbers")
                if columns and set(item) != set(columns):
                    raise BadRow(f"has keys {sorted(item)}, the first row {sorted(columns)}")
            except (BadRow, json.JSONDecodeError) as exc:
                why = exc.message if isinstance(exc, BadRow) else f"is not JSON ({exc.msg})"
                message = f"row {row} of the batch input: {why}"
                if report is None:
                    raise BadRow(message) from None
                report(message + " (skipped)")
                continue
            for name, value in item.items():
                columns.setdefault(name, []).append(value)
        if columns:
            out = {}
            for name, values in columns.items():
                try:
                    out[name] = np.array(values, dtype=np.float64)
                except ValueError:
                    raise BadRow(f"the rows give {name!r} values of different shapes") from None
            yield out


def _numeric(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    if isinstance(value, str):
        return value in ("nan", "inf", "-inf")
    return isinstance(value, list) and all(_numeric(v) for v in value)


def chunk_rows_for(shared: dict[str, np.ndarray], graph: Graph) -> int:
    """Rows per chunk: fewer when every row carries a copy of a shared vector or matrix."""
    per_row = sum(max(int(np.size(v)), 1) for v in shared.values()) + len(graph.variables)
    return max(16, min(CHUNK_ROWS, _CHUNK_ELEMENTS // per_row))


class Writer:
    """Writes result rows as JSON Lines (``value``, ``gradients``) or CSV (``value,d_x,...``)."""

    def __init__(self, out: IO[str], fmt: str, names: list[str], gradients: bool) -> None:
        self.out, self.fmt, self.names, self.gradients = out, fmt, names, gradients
        self.header_done = False

    def write(self, result: Any) -> None:
        value = result.value
        grads = [result.gradient(n) for n in self.names] if self.gradients else []
        if self.fmt == "csv":
            self._csv(value, grads)
        else:
            self._jsonl(value, grads)

    def _csv(self, value: np.ndarray, grads: list[np.ndarray]) -> None:
        named = zip(self.names, grads, strict=True) if self.gradients else ()
        columns = [("value", value)] + [(f"d_{n}", g) for n, g in named]
        flat = []  # a vector or matrix becomes one column per element: d_W[0][1]
        for name, a in columns:
            if a.ndim == 1:
                flat.append((name, a))
            else:
                for idx in np.ndindex(*a.shape[1:]):
                    flat.append((name + "".join(f"[{i}]" for i in idx), a[(slice(None), *idx)]))
        if not self.header_done:
            self.out.write(",".join(n for n, _ in flat) + "\n")
            self.header_done = True
        template = ",".join(["%r"] * len(flat)) + "\n"
        lists = [a.tolist() for _, a in flat]  # Python floats: repr is the shortest round trip
        self.out.write("".join(template % row for row in zip(*lists, strict=True)))

    def _jsonl(self, value: np.ndarray, grads: list[np.ndarray]) -> None:
        arrays = [value, *grads]
        scalar = all(a.ndim == 1 for a in arrays)
        finite = all(bool(np.isfinite(a).all()) for a in arrays)
        if scalar and finite:  # the fast path: one %-format per row, no json.dumps
            keys = ", ".join(f"{json.dumps(n)}: %r" for n in self.names)
            template = '{"value": %r' + (f', "gradients": {{{keys}}}' if self.gradients
                                         else "") + "}\n"
            lists = [a.tolist() for a in arrays]
            self.out.write("".join(template % row for row in zip(*lists, strict=True)))
            return
        lines = []
        for r in range(value.shape[0]):
            item: dict[str, Any] = {"value": _json_ready(value[r])}
            if self.gradients:
                item["gradients"] = {n: _json_ready(g[r]) for n, g in zip(self.names, grads,
                                                                          strict=True)}
            lines.append(json.dumps(item, allow_nan=False))
        self.out.write("\n".join(lines) + "\n")


def _json_ready(v: Any) -> Any:
    from .numbers import json_value

    return json_value(v)


def run(graph: Graph, stream: IO[str], out: IO[str], *, shared: dict[str, np.ndarray],
        in_fmt: str | None, out_fmt: str, gradients: bool, wrt: list[str] | None,
        report: Callable[[str], None] | None,
        progress: Callable[[int], None] | None = None) -> int:
    """Evaluate ``graph`` for every row of ``stream``, writing to ``out``; returns the count.

    ``progress``, if given, is called after each chunk is written with the number of rows
    written so far (a hook for a display: the library draws nothing).
    """
    row_vars = [v for v in graph.variables if v not in shared]
    names = list(wrt) if wrt else list(graph.variables)
    writer = Writer(out, out_fmt, names, gradients)
    total = 0
    for chunk in read_rows(stream, in_fmt, row_vars, report, chunk_rows_for(shared, graph)):
        missing = [v for v in row_vars if v not in chunk]
        if missing:
            raise BadRow(f"the batch input has no column {missing[0]!r} (and no --at "
                         f"{missing[0]}=... gives it)")
        result = batch_evaluate(graph, chunk, shared, gradients=gradients)
        writer.write(result)
        total += result.rows
        if progress is not None:
            progress(total)
    if total == 0 and out_fmt == "csv" and not writer.header_done:
        writer.out.write(",".join(["value"] + [f"d_{n}" for n in names] * gradients) + "\n")
    return total

