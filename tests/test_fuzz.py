"""Hostile input: fuzzing, a second evaluation path, canonical printing, resource bounds, safety.

* Arbitrary text and bytes as EXPR, as ``--at`` values and on standard input, through the real
  command line in-process: exit 0 or 2 (3 only with --strict), one clear message on stderr,
  never a traceback, each call within ``TIME_LIMIT`` of CPU time.
* Random expressions over every operator and every function of the registry, scalars,
  vectors and matrices, written as cgcli text and evaluated a second time by a small mpmath
  evaluator of our own (40 digits, derivatives by ``mp.diff``): values and gradients agree to
  ``MP_RTOL``, and with float64 central differences.
* Canonical printing (:mod:`cgcli.printer`): ``parse(to_text(g))`` is ``g``, node for node.
* Resource bounds: huge literals, deep nesting, a million numbers, each within the limit.
* Safety: no eval/exec/pickle/shell in cgcli's sources; no file written unless asked.

Runs are derandomized and small by default; ``CGCLI_FUZZ_EXAMPLES=N`` runs N random examples
per property instead (e.g. ``CGCLI_FUZZ_EXAMPLES=2000 pytest tests/test_fuzz.py``).
"""

from __future__ import annotations

import ast
import contextlib
import copy
import io
import json
import math
import os
import random
import re
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mpmath
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

import cgcli
from cgcli.cli.app import main
from cgcli.errors import CgcliError
from cgcli.ops import FUNCTIONS, REGISTRY
from cgcli.printer import literal, to_text

# --- settings -----------------------------------------------------------------------------

_FUZZ = os.environ.get("CGCLI_FUZZ_EXAMPLES")
#: CPU-time limit for one command or one parse of hostile input, in seconds.
TIME_LIMIT = 2.0
ROOT = Path(__file__).resolve().parent.parent


def examples(n: int) -> settings:
    """``n`` derandomized examples, or ``$CGCLI_FUZZ_EXAMPLES`` random ones."""
    common: dict[str, Any] = {
        "deadline": None,
        "suppress_health_check": [HealthCheck.too_slow, HealthCheck.filter_too_much,
                                  HealthCheck.data_too_large],
    }
    if _FUZZ:
        return settings(max_examples=int(_FUZZ), derandomize=False, **common)
    return settings(max_examples=n, derandomize=True, database=None, **common)


@contextlib.contextmanager
def within(limit: float = TIME_LIMIT, what: str = "") -> Iterator[None]:
    """Fail if the block takes more than ``limit`` seconds of this process's CPU time: a
    quadratic slip costs tens of seconds, while other jobs on the machine, which stretch
    wall time two- or threefold, leave CPU time nearly as it is."""
    start = time.process_time()
    yield
    elapsed = time.process_time() - start
    assert elapsed < limit, f"{what or 'the call'} took {elapsed:.2f} s of CPU (limit {limit} s)"


# --- the command line, in-process ---------------------------------------------------------

def utf8_stream(data: bytes = b"", encoding: str = "utf-8") -> io.TextIOWrapper:
    """A stream like a process's standard input or output in a UTF-8 locale: strict UTF-8
    (or another ``encoding``)."""
    return io.TextIOWrapper(io.BytesIO(data), encoding=encoding, errors="strict")


def run_cli(*args: str, stdin: str | io.TextIOBase = "", encoding: str = "utf-8"
            ) -> tuple[int, str, str]:
    """``cgcli ARGS`` through its entry point, with ``stdin`` (text or a stream) as standard
    input and a strict UTF-8 (or ``encoding``) standard output; (exit code, stdout, stderr).
    Fails if the call takes more CPU time than ``TIME_LIMIT``."""
    out = utf8_stream(encoding=encoding)
    err = io.StringIO()
    saved = sys.stdin
    sys.stdin = io.StringIO(stdin) if isinstance(stdin, str) else stdin
    try:
        with within(what=f"cgcli {' '.join(a[:40] for a in args)[:200]!r}"), \
                contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main(list(args))
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.stdin = saved
    out.flush()
    data = out.buffer.getvalue()  # type: ignore[attr-defined]
    return code, data.decode(encoding), err.getvalue()


def assert_clean_outcome(code: int, err: str, strict: bool = False) -> None:
    """Exit 0 or 2 (3 with --strict); stderr holds notes, then at most one error message."""
    allowed = {0, 2, 3} if strict else {0, 2}
    assert code in allowed, f"exit {code}; stderr: {err[:2000]}"
    assert "Traceback" not in err and "internal error" not in err, err[:2000]
    lines = err.splitlines()
    notes = 0
    while notes < len(lines) and lines[notes].startswith("note: "):
        notes += 1
    rest = lines[notes:]
    if code == 0:
        assert not rest, f"exit 0 with more than notes on stderr: {err[:2000]}"
        return
    assert rest, "a failure without a message"
    if rest[0].startswith("Usage: "):  # Click's usage errors: usage, hint, then "Error: ..."
        assert any(line.startswith("Error: ") for line in rest), err[:2000]
    else:
        assert rest[0].startswith("error: "), err[:2000]
        assert not any(line.startswith(("error: ", "note: ")) for line in rest[1:]), (
            f"more than one message: {err[:2000]}")


# --- hostile text -------------------------------------------------------------------------

#: Pieces that, repeated, make very long tokens or deep structures.
_PIECES = ("x", "9", "1e", ".", "(", ")", "[", "]", "-", "+", "*", "^", "**", "sin(", "[1,",
           "é", "\x00", "\n", " ", ";", "#", "_", "x+", "1,", "e", "@", "=", "√", "|", "²",
           "x²", "|x", "c += ", "x = x; ", "c#1", "−", "·", "ᵀ", "⁻¹")
#: Characters of the language, so that random text often gets deep into the parser.
_LANGUAGE = ("0123456789.eE+-*/^@()[],;=# \n\t\r\x00xyzqabpi_" + "sincoexplogtanhmaxsumT" + "é٣"
             + "²³⁻¹·×−÷√|ᵀπ–")

long_tokens = st.builds(lambda piece, n: piece * n, st.sampled_from(_PIECES),
                        st.integers(500, 5000))
near_language = st.text(alphabet=st.sampled_from(_LANGUAGE), max_size=60)
decoded_bytes = st.one_of(
    st.binary(max_size=60).map(lambda b: b.decode("utf-8", "surrogateescape")),
    st.binary(max_size=60).map(lambda b: b.decode("latin-1")),
)
hostile_text = st.one_of(
    st.text(max_size=80),  # any unicode, control characters included
    near_language,
    near_language,
    decoded_bytes,
    long_tokens,
    st.builds(lambda a, b, c: a + b + c, near_language, long_tokens, near_language),
)

_COMMANDS = (
    ("eval",), ("grad",), ("eval", "--json"), ("grad", "--json"), ("grad", "--format", "tree"),
    ("eval", "--strict"), ("grad", "--strict", "--json"), ("explain",), ("graph",),
)


@examples(120)
@given(text=hostile_text, command=st.sampled_from(_COMMANDS))
def test_any_text_as_expr_exits_0_or_2_with_one_message(text: str, command: tuple) -> None:
    code, out, err = run_cli(*command, text, "--at", "x=1", "--at", "y=2")
    assert_clean_outcome(code, err, strict="--strict" in command)
    if "--json" in command and not text.startswith("-") and (
            code == 0 or "\nerror: " in "\n" + err):  # ("-h" is an option: help, not JSON)
        doc = json.loads(out, parse_constant=lambda c: pytest.fail(f"bare {c} in JSON"))
        assert ("error" in doc) == (code != 0), out[:2000]


@examples(80)
@given(value=hostile_text, whole=st.booleans(), command=st.sampled_from(_COMMANDS[:4]))
def test_any_text_as_an_at_value_exits_0_or_2(value: str, whole: bool, command: tuple) -> None:
    item = value if whole else f"x={value}"
    code, _, err = run_cli(*command, "x + 1", "--at", item)
    assert_clean_outcome(code, err)


@examples(60)
@given(text=st.one_of(hostile_text, st.text(alphabet=st.sampled_from("x+1\x00\x01\x7f\r\n;#"),
                                            max_size=30), st.binary(max_size=60)))
def test_any_text_on_stdin_exits_0_or_2(text: str | bytes) -> None:
    """Text, or any bytes read through a strict UTF-8 standard input."""
    stdin = utf8_stream(text) if isinstance(text, bytes) else text
    code, _, err = run_cli("eval", "-", "--at", "x=1", stdin=stdin)
    assert_clean_outcome(code, err)


_ROWS = st.text(alphabet=st.sampled_from('xyz,0123456789.eE-+ "[]{}:\t\x00;#é'), max_size=24)
batch_input = st.one_of(
    hostile_text,
    st.lists(_ROWS, max_size=6).map(lambda rows: "x,y\n" + "\n".join(rows)),
    st.lists(_ROWS, max_size=6).map(lambda rows: '{"x": 1, "y": 2}\n' + "\n".join(rows)),
)


@examples(60)
@given(content=batch_input, skip=st.booleans(), command=st.sampled_from(("eval", "grad")))
def test_any_text_as_batch_input_exits_0_or_2(content: str, skip: bool, command: str) -> None:
    flags = ("--skip-bad-rows",) if skip else ()
    code, _, err = run_cli(command, "x * y", "--batch", "-", *flags, stdin=content)
    assert_clean_outcome(code, err)


@pytest.mark.parametrize("text", [
    "\x00", "x\x00", "x # \x00 comment\n+ 1", "x\r\n+ 1", "\x1b[31mx", "x\x7f", "\ufeffx",
    "x\u2028+ 1", "q = x\x0c; q", "\t\t\n\n x \n\n", "[1,\x00 2]", "[1, 2\u3000]", "٣ * x",
])
def test_control_characters_on_stdin(text: str) -> None:
    code, _, err = run_cli("eval", "-", "--at", "x=1", stdin=text)
    assert_clean_outcome(code, err)


@examples(250)
@given(text=hostile_text)
def test_parse_raises_only_cgcli_errors_and_prints_back(text: str) -> None:
    """The library: a parse either succeeds or raises CgcliError, in bounded time; what
    parses prints back to the same graph."""
    with within(what=f"parse({text[:60]!r}...)"):
        try:
            graph = cgcli.parse(text)
        except CgcliError:
            return
    event("parsed")
    assert structure(cgcli.parse(to_text(graph))) == structure(graph)


# --- what fuzzing found (fixed in 88b877d, 4444c49): kept as regressions ------------------

@pytest.mark.parametrize("inner", ["1", "x"])
def test_array_nested_65_deep_is_an_input_error(inner: str) -> None:
    """Past NumPy's 64 dimensions: a shape error, not an internal error."""
    code, _, err = run_cli("eval", "[" * 65 + inner + "]" * 65, "--at", "x=1")
    assert code == 2
    assert_clean_outcome(code, err)


@pytest.mark.parametrize("args", [("@\x00",), ("x", "--at-file", "\x00"),
                                  ("x", "--batch", "\x00")])
def test_a_file_name_with_nul_is_an_input_error(args: tuple) -> None:
    """open() raises ValueError for a NUL in a name (only a Python caller can pass one)."""
    code, _, err = run_cli("eval", *args, "--at", "x=1")
    assert code == 2
    assert_clean_outcome(code, err)


def test_undecodable_bytes_on_a_strict_utf8_stdin() -> None:
    code, _, err = run_cli("eval", "-", "--at", "x=1", stdin=utf8_stream(b"x\xff + 1"))
    assert code == 2
    assert_clean_outcome(code, err)


@pytest.mark.parametrize("content", [b"x\n1\n\xff\n", b'{"x": 1}\n\xff\n'])
def test_undecodable_bytes_in_a_batch_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "rows.txt"
    path.write_bytes(content)
    code, _, err = run_cli("eval", "x + 1", "--batch", str(path))
    assert code == 2
    assert_clean_outcome(code, err)


def test_undecodable_bytes_in_a_comment_on_a_strict_utf8_stdout() -> None:
    """Invalid UTF-8 in argv arrives as surrogates; echoing them to a strict UTF-8 stdout
    (a UTF-8 locale, or PYTHONIOENCODING=utf-8) crashed."""
    text = os.fsdecode(b"x # \xff")  # what argv holds for the bytes 'x # \xff'
    code, _, err = run_cli("eval", text, "--at", "x=1")  # run_cli's stdout is strict UTF-8
    assert_clean_outcome(code, err)


@pytest.mark.parametrize("encoding", ["ascii", "cp1252"])
@pytest.mark.parametrize("args", [("eval", "x"), ("grad", "x # é"), ("explain", "x * x")])
def test_a_stdout_that_is_not_utf8(encoding: str, args: tuple) -> None:
    """A file on Windows is cp1252, PYTHONIOENCODING=ascii is ASCII: ∂, é and the table's
    box characters could not be encoded (exit 70)."""
    code, _, err = run_cli(*args, "--at", "x=1", encoding=encoding)
    assert code == 0
    assert_clean_outcome(code, err)


@pytest.mark.parametrize("inner", ["1", "x"])
def test_100000_nested_brackets_lex_in_linear_time(inner: str) -> None:
    """The NUMBERS matcher rescanned the rest of the text at every '[' (28 s here)."""
    with within(what="parsing 100,000 nested '['"):
        try:
            cgcli.parse("[" * 100_000 + inner + "]" * 100_000)
        except CgcliError as exc:
            assert exc.exit_code == 2


@pytest.mark.parametrize("form", ["statements", "arguments", "array"])
def test_many_statements_and_arguments_parse_in_linear_time(form: str) -> None:
    """The list rules (statements; arguments; array entries) grew by copying: n items cost
    n² steps (20,000 statements took 4 s, 40,000 about 16 s)."""
    n = 40_000
    text = {"statements": "c = x\n" + "c += 1\n" * n + "c",
            "arguments": "max(" + ", ".join(["x"] * n) + ")",
            "array": "sum([" + ", ".join(["x"] * n) + "])"}[form]
    with within(what=f"parsing {n:,} {form}"):
        graph = cgcli.parse(text)
    if form == "statements":
        assert len(graph.bindings) == n + 1
    else:
        assert max(len(node.inputs) for node in graph) == n


# --- graph structure ----------------------------------------------------------------------

def structure(graph: cgcli.Graph) -> tuple:
    """Everything but source positions: ids, ops, inputs, names, constant bits, output."""
    rows = []
    for n in graph.nodes:
        value = None
        if n.value is not None:
            a = np.asarray(n.value, dtype=np.float64)
            value = (a.shape, a.tobytes())
        rows.append((n.id, n.op.name, n.inputs, n.name, value))
    return (rows, graph.output, list(graph.variables.items()), list(graph.bindings.items()))


def same_values(a: list, b: list) -> bool:
    """Node values bit for bit (nan equal to nan)."""
    return len(a) == len(b) and all(
        np.shape(x) == np.shape(y) and np.asarray(x, dtype=np.float64).tobytes()
        == np.asarray(y, dtype=np.float64).tobytes() for x, y in zip(a, b, strict=True))


# --- random expressions as trees: written as text, evaluated by mpmath --------------------

@dataclass(frozen=True)
class E:
    """A random expression: ``kind`` is name, number, constant, literal, unary, binary, call
    or array; ``text`` the name, number text, operator or function name as written."""

    kind: str
    text: str = ""
    args: tuple[E, ...] = ()
    keys: tuple[str, ...] = ()  # a call's keyword per argument ("" = positional)
    value: Any = None  # a number's or literal's float64 value
    shape: tuple[int, ...] = ()


NUMBERS = ("0.5", "2", "1.5", ".25", "3.", "1e-1", "0.75", "2.5E0", "1", "0.3", "0.001")
#: Elementwise functions defined everywhere, with kinks (relu...) or without.
ANYWHERE = ("exp", "expm1", "sin", "cos", "tanh", "sigmoid", "softplus", "silu", "atan", "sinh",
            "cosh", "square", "relu", "abs", "sign", "step", "ones_like", "zeros_like")
#: Functions that need a positive argument, and those that need one inside (-0.9, 0.9).
POSITIVE_ONLY = ("log", "ln", "log2", "log10", "log1p", "sqrt")
UNIT_ONLY = ("asin", "acos", "tan")
#: Functions with a parameter (keyword or positional), and the rest, by what they do.
WITH_PARAMETER = ("leaky_relu", "elu", "pow")
EXTREMA = ("max", "min")
REDUCTIONS = ("sum", "mean", "norm", "max", "min")
ROWWISE = ("softmax", "logsumexp")
TRANSPOSES = ("T", "transpose")
OTHER = ("dot", "atan2", "hypot")
#: The other functions derivatives are written with (cgcli.ops.HELPERS).
HELPERS = ("eq", "where", "ismax", "ismin", "outer", "rowsum", "column", "take", "put",
           "unbroadcast")
COVERED_FUNCTIONS = frozenset((*ANYWHERE, *POSITIVE_ONLY, *UNIT_ONLY, *WITH_PARAMETER, *EXTREMA,
                               *REDUCTIONS, *ROWWISE, *TRANSPOSES, *OTHER, *HELPERS))


def test_the_generator_covers_every_function_and_operator() -> None:
    missing = set(FUNCTIONS) - COVERED_FUNCTIONS
    assert not missing, f"add {sorted(missing)} to the fuzz generator and the mpmath evaluator"
    for op in REGISTRY.values():
        if op.symbol:  # binary operators by symbol, unary ones (neg, pos) by name
            assert (op.symbol if len(op.params) == 2 else op.name) in _WEIGHTS, op.name
        elif not op.callable:  # the structural ops: leaves, array literals, let aliases
            assert op.name in ("var", "const", "array", "id"), op.name


def _broadcasts(small: tuple[int, ...], wide: tuple[int, ...]) -> bool:
    """Does ``small`` broadcast to ``wide`` (without changing ``wide``)?"""
    return len(small) <= len(wide) and all(a in (1, b) for a, b in zip(small[::-1], wide[::-1],
                                                                       strict=False))


def _num(text: str) -> E:
    return E("number", text, value=float(text))


def _call(name: str, *args: E, shape: tuple[int, ...], keys: tuple[str, ...] = ()) -> E:
    return E("call", name, args, keys or ("",) * len(args), shape=shape)


def _bin(op: str, a: E, b: E, shape: tuple[int, ...]) -> E:
    return E("binary", op, (a, b), shape=shape)


#: What can be applied at the root of an expression of a given rank, and how often.
_WEIGHTS = {"+": 4, "-": 3, "*": 4, "/": 2, "^": 2, "**": 1, "@": 2, "neg": 2, "pos": 1,
            "array": 2}


class Gen:
    """Random shape-correct expressions over the variables of ``env`` (name -> shape)."""

    def __init__(self, rnd: random.Random, env: dict[str, tuple[int, ...]], m: int,
                 n: int) -> None:
        self.rnd, self.env, self.dims = rnd, env, (m, n)

    def shapes(self) -> list[tuple[int, ...]]:
        m, n = self.dims
        return [(), (n,), (m,), (m, n), (n, m)]

    def leaf(self, shape: tuple[int, ...]) -> E:
        rnd = self.rnd
        names = [k for k, s in self.env.items() if s == shape]
        if names and rnd.random() < 0.7:
            return E("name", rnd.choice(names), shape=shape)
        if shape == ():
            if rnd.random() < 0.15:
                c = rnd.choice(("pi", "e"))
                return E("constant", c, value=math.pi if c == "pi" else math.e)
            number = _num(rnd.choice(NUMBERS))
            return E("unary", "-", (number,)) if rnd.random() < 0.2 else number
        transposed = [k for k, s in self.env.items() if len(s) == 2 and s == shape[::-1]]
        if transposed and rnd.random() < 0.5:
            name = rnd.choice(transposed)
            return _call(rnd.choice(TRANSPOSES), E("name", name, shape=shape[::-1]), shape=shape)
        values = np.array([float(rnd.choice(NUMBERS)) * rnd.choice((1, -1))
                           for _ in range(int(np.prod(shape)))]).reshape(shape)
        return E("literal", literal(values), value=values, shape=shape)

    def positive(self, e: E) -> E:
        """``e`` wrapped to be positive (for log, sqrt, division, real powers)."""
        s = e.shape
        k = self.rnd.randrange(6)
        if k == 0:
            return _bin("+", _num("1"), _bin("^", e, _num("2"), s), s)
        if k == 1:
            return _call("exp", e, shape=s)
        if k == 2:
            return _call("cosh", e, shape=s)
        if k == 3:
            return _bin("+", _call("softplus", e, shape=s), _num("0.5"), s)
        if k == 4:
            return _bin("+", _num("0.1"), _call("sigmoid", e, shape=s), s)
        return _bin("+", _num("2"), _call("sin", e, shape=s), s)

    def unit(self, e: E) -> E:
        """``e`` wrapped into (-0.9, 0.9) (for asin, acos, tan)."""
        s = e.shape
        k = self.rnd.randrange(4)
        if k == 0:
            return _bin("*", _num("0.9"), _call("tanh", e, shape=s), s)
        if k == 1:
            return _bin("*", _num("0.5"), _call("sin", e, shape=s), s)
        if k == 2:
            return _bin("-", _call("sigmoid", e, shape=s), _num("0.5"), s)
        return _bin("/", _call("atan", e, shape=s), _num("2"), s)

    def broadcastable(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """A shape that broadcasts against ``shape`` without changing it."""
        options = [shape, shape, ()] + ([shape[1:]] if len(shape) == 2 else [])
        return self.rnd.choice(options)

    @staticmethod
    def names_for(shape: tuple[int, ...]) -> list[str]:
        """Every function or operator that can make a value of ``shape``'s rank."""
        names = [*_WEIGHTS, *ANYWHERE, *POSITIVE_ONLY, *UNIT_ONLY, *WITH_PARAMETER, *EXTREMA,
                 "softmax", *TRANSPOSES, "eq", "where", "ismax", "ismin", "column", "unbroadcast",
                 "atan2", "hypot"]
        if shape == ():
            names += ["sum", "mean", "norm", "dot", "logsumexp", "rowsum", "take"]
            names.remove("array")
        elif len(shape) == 1:
            names += ["logsumexp", "rowsum", "take", "put"]
        else:
            names += ["outer", "put"]
        return names

    def expr(self, shape: tuple[int, ...], depth: int) -> E:
        """A random expression of ``shape``, at most about ``depth`` operations deep."""
        rnd = self.rnd
        if depth <= 0 or rnd.random() < 0.15:
            return self.leaf(shape)
        names = self.names_for(shape)
        weights = [_WEIGHTS.get(k, 1) for k in names]
        return self.apply(rnd.choices(names, weights)[0], shape, depth - 1)

    def apply(self, name: str, shape: tuple[int, ...], d: int) -> E:
        """``name`` (a function or operator) applied to random operands, giving ``shape``."""
        rnd = self.rnd
        if name in ANYWHERE or name == "softmax":
            return _call(name, self.expr(shape, d), shape=shape)
        if name in POSITIVE_ONLY:
            x = self.positive(self.expr(shape, d))
            if name in ("log", "ln") and rnd.random() < 0.3:  # to a base in (2, 3)
                b = self.broadcastable(shape)
                base = _bin("+", _num("2"), _call("sigmoid", self.expr(b, d - 1), shape=b), b)
                return _call(name, x, base, shape=shape)
            return _call(name, x, shape=shape)
        if name in ("atan2", "hypot"):
            a, b = self.expr(shape, d), self.expr(self.broadcastable(shape), d)
            return _call(name, *((a, b) if rnd.random() < 0.5 else (b, a)), shape=shape)
        if name in UNIT_ONLY:
            return _call(name, self.unit(self.expr(shape, d)), shape=shape)
        if name in ("+", "-", "*"):
            a, b = self.expr(shape, d), self.expr(self.broadcastable(shape), d)
            return _bin(name, *((a, b) if rnd.random() < 0.5 else (b, a)), shape)
        if name == "/":
            num = self.expr(self.broadcastable(shape), d)
            den = self.positive(self.expr(self.broadcastable(shape), d - 1))
            if num.shape != shape and den.shape != shape:
                num = self.expr(shape, d)
            return _bin("/", num, den, shape)
        if name in ("neg", "pos"):
            return E("unary", "-" if name == "neg" else "+", (self.expr(shape, d),), shape=shape)
        if name in ("^", "**"):
            if rnd.random() < 0.5:
                return _bin(name, self.expr(shape, d), _num(rnd.choice("123")), shape)
            base = self.positive(self.expr(shape, d - 1))
            return _bin(name, base, self.expr(self.broadcastable(shape), d - 1), shape)
        if name in WITH_PARAMETER:
            return self.parameter(name, shape, d)
        if name in EXTREMA:
            if shape == () and rnd.random() < 0.5:  # the reduction
                return _call(name, self.expr(rnd.choice(self.shapes()), d), shape=())
            args = [self.expr(shape, d)] + [self.expr(self.broadcastable(shape), d - 1)
                                            for _ in range(rnd.randint(1, 2))]
            rnd.shuffle(args)
            return _call(name, *args, shape=shape)
        if name in ("sum", "mean", "norm"):
            return _call(name, self.expr(rnd.choice(self.shapes()), d), shape=())
        if name == "logsumexp":
            if shape == ():
                inner = (rnd.choice(self.dims),) if rnd.random() < 0.8 else ()
                return _call(name, self.expr(inner, d), shape=())
            return _call(name, self.expr((shape[0], rnd.choice(self.dims)), d), shape=shape)
        if name in TRANSPOSES:
            return _call(name, self.expr(shape[::-1], d), shape=shape)
        if name in HELPERS:
            return self.helper(name, shape, d)
        if name == "array":
            return E("array", "", tuple(self.expr(shape[1:], d - 1) for _ in range(shape[0])),
                     shape=shape)
        k = rnd.choice(self.dims)  # dot and @: contract over an inner dimension k
        if name == "dot" or shape == ():
            a, b = self.expr((k,), d), self.expr((k,), d)
            return _call("dot", a, b, shape=()) if name == "dot" else _bin("@", a, b, ())
        if len(shape) == 1:
            if rnd.random() < 0.5:
                return _bin("@", self.expr((shape[0], k), d), self.expr((k,), d), shape)
            return _bin("@", self.expr((k,), d), self.expr((k, shape[0]), d), shape)
        return _bin("@", self.expr((shape[0], k), d), self.expr((k, shape[1]), d), shape)

    def helper(self, name: str, shape: tuple[int, ...], d: int) -> E:
        """One of the functions derivatives are written with, giving ``shape``."""
        rnd = self.rnd
        if name == "eq":
            return _call(name, self.expr(shape, d), self.expr(self.broadcastable(shape), d),
                         shape=shape)
        if name == "where":
            return _call(name, self.expr(self.broadcastable(shape), d - 1), self.expr(shape, d),
                         self.expr(self.broadcastable(shape), d - 1), shape=shape)
        if name in ("ismax", "ismin"):
            if rnd.random() < 0.5:  # the share of a reduction
                return _call(name, self.expr(shape, d), shape=shape)
            return _call(name, self.expr(shape, d), self.expr(self.broadcastable(shape), d - 1),
                         shape=shape)
        if name == "column":  # a trailing axis, summed away again: rowsum(column(e))
            inner = _call("column", self.expr(shape, d), shape=(*shape, 1))
            return _call("rowsum", inner, shape=shape)
        if name == "unbroadcast":
            wide = rnd.choice([shape, *(s for s in self.shapes() if _broadcasts(shape, s))])
            return _call(name, self.expr(wide, d), self.expr(shape, d - 1), shape=shape)
        if name == "outer":
            return _call(name, self.expr(shape[:1], d), self.expr(shape[1:], d), shape=shape)
        if name == "rowsum":  # over a last axis of length k
            return _call(name, self.expr((*shape, rnd.choice(self.dims)), d), shape=shape)
        if name == "take":  # the i-th of k
            k = rnd.choice(self.dims)
            return _call(name, self.expr((k, *shape), d), _num(str(rnd.randrange(k))),
                         shape=shape)
        # put(v, i, like): v as the i-th element of zeros shaped like `like`
        return _call(name, self.expr(shape[1:], d), _num(str(rnd.randrange(shape[0]))),
                     self.expr(shape, d - 1), shape=shape)

    def parameter(self, name: str, shape: tuple[int, ...], d: int) -> E:
        """leaky_relu, elu or pow: the parameter by default, position or keyword."""
        rnd = self.rnd
        if name == "pow":
            x = self.positive(self.expr(shape, d - 1))
        else:
            x = self.expr(shape, d)
            if rnd.random() < 0.3:
                return _call(name, x, shape=shape)  # the default parameter
        p = (_num(rnd.choice(NUMBERS)) if rnd.random() < 0.5
             else self.expr(self.broadcastable(shape), d - 1))
        params = FUNCTIONS[name].params
        style = rnd.choice(("positional", "keyword", "both keywords", "reversed"))
        if style == "positional":
            return _call(name, x, p, shape=shape)
        if style == "keyword":
            return _call(name, x, p, shape=shape, keys=("", params[1]))
        if style == "both keywords":
            return _call(name, x, p, shape=shape, keys=params)
        return _call(name, p, x, shape=shape, keys=params[::-1])


#: Pasted notation the random style may use (tests/test_pasted_notation.py checks each).
_TIMES, _MINUS, _DIVIDE = ("·", "×", "⋅"), "−", "÷"
_SUPERSCRIPTS = dict(zip("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹", strict=True))


def write(e: E, rnd: random.Random | None = None) -> str:
    """``e`` as cgcli text, every compound operand in parentheses. With ``rnd``: in a random
    style (spaces, newlines inside brackets, redundant parentheses, comments, and pasted
    notation: x², √x, |x|, Wᵀ, 2√x, ·, ×, −, ÷)."""

    def sp() -> str:
        return rnd.choice(("", " ", "  ", "\n ", " # note\n")) if rnd else ""

    def pasted() -> bool:
        return rnd is not None and rnd.random() < 0.25

    def operand(x: E) -> str:
        s = write(x, rnd)
        if ((x.kind in ("name", "call", "array", "literal", "constant")
             and not s.startswith("√"))
                or (x.kind == "number" and not (rnd and rnd.random() < 0.2))):
            return s
        return f"({sp()}{s}{sp()})"  # √x reaches as far as unary minus: (√x)^2

    if e.kind in ("name", "number", "constant"):
        return e.text
    if e.kind == "literal":
        return e.text if rnd is None else e.text.replace(", ", rnd.choice((",", ", ", " ,\n ")))
    if e.kind == "unary":
        return f"{_MINUS if e.text == '-' and pasted() else e.text}{operand(e.args[0])}"
    if e.kind == "binary":
        a, b = e.args
        if e.text in ("^", "**") and b.kind == "number" and b.text.isdigit() and pasted():
            return operand(a) + "".join(_SUPERSCRIPTS[d] for d in b.text)  # x²
        if (e.text == "*" and a.kind == "number" and b.kind == "call" and b.text == "sqrt"
                and pasted()):
            return f"{a.text}√{operand(b.args[0])}"  # 2√x
        op = e.text
        if pasted():
            op = {"*": rnd.choice(_TIMES), "-": _MINUS, "/": _DIVIDE}.get(op, op)  # type: ignore[union-attr]
        space = " " if rnd is None or rnd.random() < 0.7 else ""
        return f"{operand(a)}{space}{op}{space}{operand(b)}"
    if e.kind == "array":
        return "[" + f",{sp()}".join(write(x, rnd) for x in e.args) + "]"
    if (e.text in ("abs", "sqrt", "T", "transpose") and not any(e.keys) and rnd is not None
            and rnd.random() < 0.5):
        x = e.args[0]
        if e.text == "abs":
            return f"|{write(x, rnd)}|"
        return f"√{operand(x)}" if e.text == "sqrt" else f"{operand(x)}ᵀ"
    args = [f"{k}={sp()}{write(x, rnd)}" if k else write(x, rnd)
            for x, k in zip(e.args, e.keys, strict=True)]
    return f"{e.text}({sp()}{', '.join(args)}{sp()})"


# -- the second evaluation path: mpmath on NumPy object arrays ----------------------------

mp = mpmath.mp


def _obj(x: Any) -> np.ndarray:
    return np.asarray(x, dtype=object)


def _elementwise(f: Callable, *xs: np.ndarray) -> np.ndarray:
    return _obj(np.frompyfunc(f, len(xs), 1)(*xs))


def _to_mp(value: Any) -> np.ndarray:
    """A float64 scalar or array as an object array of (exactly equal) mpf numbers."""
    value = np.asarray(value, dtype=np.float64)
    out = np.empty(value.shape, dtype=object)
    for k in np.ndindex(*value.shape):
        out[k] = mp.mpf(float(value[k]))
    return out


def _rows(f: Callable[[list], Any], x: np.ndarray) -> np.ndarray:
    """Apply ``f`` (a list of mpf -> a list or one mpf) along the last axis (1 or 2-D)."""
    if x.ndim == 1:
        return _obj(f(list(x)))
    return _obj([f(list(row)) for row in x])


def _softmax_row(r: list) -> list:
    top = max(r)
    z = [mp.exp(v - top) for v in r]
    s = mp.fsum(z)
    return [v / s for v in z]


def _logsumexp_row(r: list) -> Any:
    top = max(r)
    return top + mp.log(mp.fsum(mp.exp(v - top) for v in r))


def _sigmoid(v: Any) -> Any:
    return 1 / (1 + mp.exp(-v))


MP_FUNCTIONS: dict[str, Callable] = {
    "exp": mp.exp, "expm1": mp.expm1, "sin": mp.sin, "cos": mp.cos, "tan": mp.tan,
    "tanh": mp.tanh, "sinh": mp.sinh, "cosh": mp.cosh, "atan": mp.atan, "asin": mp.asin,
    "acos": mp.acos, "log": mp.log, "ln": mp.log, "log2": lambda v: mp.log(v, 2),
    "log10": mp.log10, "log1p": mp.log1p, "sqrt": mp.sqrt, "square": lambda v: v * v,
    "sigmoid": _sigmoid, "softplus": lambda v: mp.log1p(mp.exp(v)),
    "silu": lambda v: v * _sigmoid(v), "relu": lambda v: v if v > 0 else mp.zero,
    "abs": abs, "sign": mp.sign, "step": lambda v: mp.one if v > 0 else mp.zero,
    "ones_like": lambda v: mp.one, "zeros_like": lambda v: mp.zero,
}
KINKED = frozenset(("relu", "abs", "sign", "leaky_relu", "elu", "step"))


def _shares(mask: np.ndarray) -> np.ndarray:
    """ismax/ismin: 1 at the winners, shared equally between tied ones."""
    count = int(np.sum(mask))
    return _obj(np.where(mask, mp.one / count, mp.zero)) if count > 1 else \
        _obj(np.where(mask, mp.one, mp.zero))


class MpEval:
    """Evaluates an :class:`E` with mpmath at the current precision. ``margins`` collects,
    for every kink, how far the point is from it (only on the first evaluation)."""

    def __init__(self, consts: dict[str, Any], record: bool) -> None:
        self.consts = consts  # names -> object arrays of mpf
        self.margins: list[Any] = []
        self.record = record

    def margin(self, value: Any) -> None:
        if self.record:
            self.margins.append(value)

    def __call__(self, e: E) -> np.ndarray:
        kind = e.kind
        if kind == "name":
            return self.consts[e.text]
        if kind in ("number", "constant", "literal"):
            return _to_mp(e.value)
        xs = [self(a) for a in e.args]
        if kind == "unary":
            return _elementwise(lambda v: -v, xs[0]) if e.text == "-" else xs[0]
        if kind == "binary":
            a, b = xs
            if e.text == "@":
                return _obj(np.matmul(a, b))
            f = {"+": lambda p, q: p + q, "-": lambda p, q: p - q, "*": lambda p, q: p * q,
                 "/": lambda p, q: p / q}.get(e.text, lambda p, q: mp.power(p, q))
            return _elementwise(f, a, b)
        if kind == "array":
            return _obj(np.stack(xs))
        # a call: put the arguments in parameter order
        name = e.text
        op = FUNCTIONS[name]
        if any(e.keys):
            by_param = {k or op.params[i]: x for i, (k, x) in enumerate(zip(e.keys, xs,
                                                                            strict=True))}
            xs = [by_param[p] for p in op.params if p in by_param]
        return self.call(name, xs)

    def call(self, name: str, xs: list[np.ndarray]) -> np.ndarray:
        x = xs[0]
        if name in KINKED:
            self.margin(min(abs(v) for v in x.ravel()))
        if name in ("log", "ln") and len(xs) == 2:
            return _elementwise(lambda v, b: mp.log(v) / mp.log(b), x, xs[1])
        if name in MP_FUNCTIONS:
            return _elementwise(MP_FUNCTIONS[name], x)
        if name == "leaky_relu":
            slope = xs[1] if len(xs) > 1 else _obj(mp.mpf(0.01))
            return _elementwise(lambda v, s: v if v > 0 else s * v, x, slope)
        if name == "elu":
            alpha = xs[1] if len(xs) > 1 else _obj(mp.mpf(1.0))
            return _elementwise(lambda v, a: v if v > 0 else a * mp.expm1(v), x, alpha)
        if name == "pow":
            return _elementwise(mp.power, x, xs[1])
        if name == "atan2":  # a branch cut where y crosses 0 at x < 0, a pole at the origin
            full = np.broadcast_arrays(*xs)
            self.margin(min([mp.hypot(p, q) if q > 0 else min(abs(p), mp.hypot(p, q))
                             for p, q in zip(*(f.ravel() for f in full), strict=True)],
                            default=mp.one))
            return _elementwise(mp.atan2, x, xs[1])
        if name == "hypot":  # not differentiable at the origin
            full = np.broadcast_arrays(*xs)
            self.margin(min([mp.hypot(p, q) for p, q in zip(*(f.ravel() for f in full),
                                                                strict=True)], default=mp.one))
            return _elementwise(mp.hypot, x, xs[1])
        if name in EXTREMA:
            pick = max if name == "max" else min
            if len(xs) == 1:
                values = sorted(x.ravel(), reverse=name == "max")
                if len(values) > 1:
                    self.margin(abs(values[0] - values[1]))
                return _obj(values[0])
            full = np.broadcast_arrays(*xs)
            for column in zip(*(f.ravel() for f in full), strict=True):
                ordered = sorted(column, reverse=name == "max")
                self.margin(abs(ordered[0] - ordered[1]))
            return _elementwise(lambda *vs: pick(vs), *xs)
        if name == "sum":
            return _obj(mp.fsum(x.ravel()))
        if name == "mean":
            return _obj(mp.fsum(x.ravel()) / x.size)
        if name == "norm":
            out = mp.sqrt(mp.fsum(v * v for v in x.ravel()))
            self.margin(out)
            return _obj(out)
        if name == "dot":
            return _obj(mp.fsum(p * q for p, q in zip(x, xs[1], strict=True)))
        if name in TRANSPOSES:
            return _obj(np.swapaxes(x, -1, -2)) if x.ndim >= 2 else x
        if name == "softmax":
            return _rows(_softmax_row, x) if x.ndim else _obj(mp.one)
        if name == "logsumexp":
            return _rows(_logsumexp_row, x) if x.ndim else x
        if name in HELPERS:
            return self.helper(name, xs)
        raise AssertionError(f"no mpmath rule for {name}")

    def helper(self, name: str, xs: list[np.ndarray]) -> np.ndarray:
        """The functions derivatives are written with."""
        x = xs[0]
        if name == "eq":
            full = np.broadcast_arrays(*xs)
            self.margin(min([abs(p - q) for p, q in zip(*(f.ravel() for f in full),
                                                         strict=True)], default=mp.one))
            return _elementwise(lambda p, q: mp.one if p == q else mp.zero, *xs)
        if name == "where":
            self.margin(min([abs(v) for v in x.ravel()], default=mp.one))
            return _elementwise(lambda c, p, q: p if c != 0 else q, *xs)
        if name in ("ismax", "ismin"):
            pick = max if name == "ismax" else min
            if len(xs) == 1:
                values = sorted(x.ravel(), reverse=name == "ismax")
                if len(values) > 1:
                    self.margin(abs(values[0] - values[1]))
                return _shares(np.vectorize(lambda v: v == values[0], otypes=[bool])(x)) \
                    if x.ndim else _obj(mp.one)
            full = np.broadcast_arrays(*xs)
            out = np.empty(full[0].shape, dtype=object)
            for k in np.ndindex(*full[0].shape):
                column = [f[k] for f in full]
                ordered = sorted(column, reverse=name == "ismax")
                self.margin(abs(ordered[0] - ordered[1]))
                out[k] = mp.one if column[0] == pick(column) else mp.zero
            return out
        if name == "outer":
            return _obj(np.multiply.outer(x, xs[1]))
        if name == "rowsum":
            return _obj(np.sum(x, axis=-1))
        if name == "column":
            return _obj(x[..., None])
        if name == "take":
            return _obj(x[round(float(xs[1]))])
        if name == "put":
            out = np.full(xs[2].shape, mp.zero, dtype=object)
            out[round(float(xs[1]))] = x[()] if x.ndim == 0 else x
            return out
        # unbroadcast(a, like): a summed down to like's shape
        shape = xs[1].shape
        while x.ndim > len(shape):
            x = _obj(np.sum(x, axis=0))
        for axis, n in enumerate(shape):
            if n == 1 and x.shape[axis] != 1:
                x = _obj(np.sum(x, axis=axis, keepdims=True))
        return x


@dataclass
class Case:
    """A random program: its text, let-bindings, output and a point to evaluate it at."""

    text: str
    lets: list[tuple[str, E]]
    out: E
    point: dict[str, np.ndarray]

    def __repr__(self) -> str:
        return f"Case({self.text!r}, point={self.point!r})"


def make_case(rnd: random.Random, styled: bool = False, depth: int = 3,
              focus: str | None = None) -> Case:
    """A random program with a scalar output. ``styled``: written in a random style, with
    extra statements (an alias, a bound constant, an unused expression). ``focus``: a
    function or operator applied at the output's root."""
    m, n = rnd.randint(1, 3), rnd.randint(1, 3)
    env: dict[str, tuple[int, ...]] = {"x": (), "y": (), "u": (n,), "v": (n,), "b": (m,),
                                       "W": (m, n)}
    point = {k: np.round(np.array(rnd.uniform(-2, 2) if not s else
                                  [rnd.uniform(-2, 2) for _ in range(int(np.prod(s)))]
                                  ).reshape(s), rnd.choice((2, 6, 17))) for k, s in env.items()}
    gen = Gen(rnd, env, m, n)
    lets: list[tuple[str, E]] = []
    statements: list[str] = []
    style = rnd if styled else None
    for k in range(rnd.choice((0, 0, 1, 2))):
        e = gen.expr(rnd.choice(gen.shapes()), 2)
        lets.append((f"h{k}", e))
        statements.append(f"h{k} = {write(e, style)}")
        env[f"h{k}"] = e.shape
    if styled:
        for _ in range(rnd.choice((0, 0, 1, 2)) if lets else 0):  # rebinding: h0 += ...
            name, e = rnd.choice(lets)
            op = rnd.choice("+-*/")
            r = gen.expr(gen.broadcastable(e.shape), 1)
            if op == "/":
                r = gen.positive(r)
            lets.append((name, _bin(op, E("name", name, shape=e.shape), r, e.shape)))
            written = write(r, style)
            statements.append(rnd.choice((f"{name} {op}= {written}",
                                          f"{name} = {name} {op} ({written})")))
        extras = ["c0 = -2.5", "x * 2 + 1", "r0 = x", "k0 = (pi)", "y", "c0 = 1; c0 *= x"]
        if lets:
            extras.append(f"a0 = {lets[-1][0]}")
        statements.extend(rnd.sample(extras, rnd.randint(0, 2)))
    if focus is None:
        out = gen.expr((), depth)
    else:
        shapes = [s for s in gen.shapes() if focus in gen.names_for(s)]
        shape = rnd.choice(shapes)
        out = gen.apply(focus, shape, depth - 1)
        if shape != ():  # weigh the elements, so that each gets its own gradient
            out = _call("sum", _bin("*", out, gen.expr(shape, 1), shape), shape=())
    text = write(out, style)
    if styled and rnd.random() < 0.2 and not re.search(r"\be\b", text):
        statements.append("e = x + 1")  # the constant's name bound, where the output lacks it
    if styled and rnd.random() < 0.5:
        text = f"f = {text}"
    statements.append(text)
    sep = rnd.choice(("; ", "\n", ";\n", " ;  # c\n")) if styled else "; "
    return Case(sep.join(statements), lets, out, point)


@st.composite
def cases(draw: st.DrawFn, styled: bool = False, depth: int = 3) -> Case:
    """:func:`make_case` from a random seed (uniform choices, unlike Hypothesis' own
    draws, which favour the simplest: the expressions would be mostly leaves)."""
    seed = draw(st.integers(0, 2**64 - 1))
    return make_case(random.Random(seed), styled, depth)  # noqa: S311 - test data


def mp_value(case: Case, point: dict[str, np.ndarray], record: bool = False) -> tuple:
    """The output at ``point`` (object arrays of mpf) by mpmath, and the evaluator (for its
    kink margins)."""
    consts = dict(point)
    ev = MpEval(consts, record)
    for name, e in case.lets:
        consts[name] = ev(e)
    return ev(case.out)[()], ev


BOUND = 1e3  # skip points where values or gradients are larger (as test_properties does)
MP_RTOL = 1e-9  # cgcli's float64 against mpmath's 40 digits
KINK_MARGIN = 1e-6  # skip points this close to a kink of relu, abs, max, ...


def well_conditioned(ev: cgcli.Evaluation) -> bool:
    parts = list(ev.values) + [g for g in (ev.grads or []) if g is not None]
    return all(np.all(np.isfinite(np.asarray(v, dtype=np.float64)))
               and not np.any(np.abs(np.asarray(v, dtype=np.float64)) > BOUND) for v in parts)


def rounding_scale(ev: cgcli.Evaluation) -> float:
    """Σ |∂out/∂node|·|node| over every node computed in float64 (constant parts too): the
    first-order bound of the output's rounding error, in units of machine epsilon.

    Leaves are exact (both paths start from the same doubles), and a derivative that is not
    finite (of a^b by an exact integer b, at a < 0) stands for no rounding error."""
    graph = copy.copy(ev.graph)
    graph.requires_grad = lambda: [True] * len(graph.nodes)  # type: ignore[method-assign]
    grads = cgcli.backward(graph, ev.values)
    total = 0.0
    for node, v, g in zip(graph.nodes, ev.values, grads, strict=True):
        if node.inputs:
            with np.errstate(all="ignore"):
                part = np.abs(np.asarray(g) * np.asarray(v))
            total += float(np.sum(part[np.isfinite(part)]))
    return total


def judge(case: Case) -> bool:
    """Check cgcli's value and gradients of ``case`` against mpmath (tightly) and central
    differences (loosely). False, without judging, where the point is unfit: a value or
    gradient not finite or large, or a kink within ``KINK_MARGIN``."""
    graph = cgcli.parse(case.text)
    point = {k: case.point[k] for k in graph.variables}
    ev = cgcli.gradients(graph, point)
    if not well_conditioned(ev):
        return False
    with mpmath.workdps(40):
        base = {k: _to_mp(v) for k, v in case.point.items()}
        exact, mpev = mp_value(case, base, record=True)
        if not all(mg > KINK_MARGIN for mg in mpev.margins):
            return False
        assert isinstance(exact, mpmath.mpf), f"{case.text}: not real: {exact}"
        got = float(ev.value)
        scale = max(rounding_scale(ev), 1e-300)
        assert abs(got - exact) <= MP_RTOL * scale, (
            f"{case.text!r} at {point}: cgcli gives {got!r}, mpmath {mpmath.nstr(exact, 20)}")
        grad_scale = max([1.0] + [float(np.max(np.abs(g))) for g in ev.grads if g is not None])
        for name in graph.variables:
            x = np.asarray(case.point[name], dtype=np.float64)
            for k in np.ndindex(*x.shape):
                def f(t: Any, name: str = name, k: tuple = k) -> Any:
                    arr = base[name].copy()
                    arr[k] = t
                    return mp_value(case, {**base, name: arr})[0]

                want = mp.diff(f, base[name][k])
                g = float(np.asarray(ev.gradients[name])[k])
                assert abs(g - want) <= MP_RTOL * grad_scale, (
                    f"{case.text!r} at {point}: d/d{name}{list(k)}: cgcli gives {g!r}, "
                    f"mpmath {mpmath.nstr(want, 20)}")
                # ... and float64 central differences agree, more loosely
                h = 1e-6 * max(1.0, abs(float(x[k])))
                plus, minus = x.copy(), x.copy()
                plus[k] += h
                minus[k] -= h
                fp = float(cgcli.evaluate(graph, {**point, name: plus}).value)
                fm = float(cgcli.evaluate(graph, {**point, name: minus}).value)
                fd = (fp - fm) / (float(plus[k]) - float(minus[k]))
                assert abs(g - fd) <= 1e-5 * max(1.0, abs(g), abs(fd)), (
                    f"{case.text!r}: d/d{name}{list(k)}: {g!r} vs central differences {fd!r}")
    return True


@examples(200)
@given(case=cases())
def test_values_and_gradients_agree_with_mpmath_and_finite_differences(case: Case) -> None:
    assume(judge(case))


@examples(120)
@given(case=cases(styled=True))
def test_styled_programs_agree_with_mpmath(case: Case) -> None:
    """Programs in the random style: pasted notation (x², √x, |x|, ·, −), rebinding and
    updates (h0 += ...), a constant's name bound, comments and layout."""
    assume(judge(case))


@pytest.mark.parametrize("name", sorted(COVERED_FUNCTIONS | set(_WEIGHTS)))
def test_every_function_and_operator_agrees_with_mpmath(name: str) -> None:
    """Each function and operator at the root of a few random expressions (seeded)."""
    judged = sum(judge(make_case(random.Random(f"{name} {seed}"), focus=name))  # noqa: S311
                 for seed in range(6))
    assert judged >= 3, f"only {judged} of 6 random points around {name} could be judged"


# --- canonical printing -------------------------------------------------------------------

@pytest.mark.parametrize(("text", "canonical"), [
    ("-x^2", "-x^2"),
    ("(-x)^2", "(-x)^2"),
    ("a - (b - c)", "a - (b - c)"),
    ("(a - b) - c", "a - b - c"),
    ("a / (b * c)", "a / (b * c)"),
    ("(a / b) * c", "a / b * c"),
    ("2^3^2", "2^3^2"),
    ("(2^3)^2", "(2^3)^2"),
    ("x ** -y", "x^-y"),
    ("-2^x", "-2^x"),
    ("(-2)^x", "(-2)^x"),
    ("x - -2", "x - -2"),
    ("x * (-y)", "x * -y"),
    ("(x * y) @ z", "x * y @ z"),
    ("x @ (y @ z)", "x @ (y @ z)"),
    ("-(x * y)", "-(x * y)"),
    ("-(-x)", "--x"),
    ("(x^y)^z", "(x^y)^z"),
    ("sum(x)^2", "sum(x)^2"),
    ("1e999 * x - 1e-999", "1e999 * x - 0"),
    ("-1e999 + x", "-1e999 + x"),
    ("-0.0 + x", "-0 + x"),
    ("0.1 + x", "0.1 + x"),
    ("pi * x + e", "pi * x + e"),
    ("-pi * x", "-3.141592653589793 * x"),
    ("ln(x) + transpose(y)", "log(x) + T(y)"),
    ("leaky_relu(x, slope=0.2)", "leaky_relu(x, 0.2)"),
    ("leaky_relu(slope=0.2, x=y)", "leaky_relu(y, 0.2)"),
    ("pow(b=y, a=x + 1)", "pow(b=y, a=x + 1)"),
    ("pow(x, 2)", "x^2"),
    ("[1, 2.50, -3e0] * x", "[1, 2.5, -3] * x"),
    ("[[1, 2], [3, 4]] @ x", "[[1, 2], [3, 4]] @ x"),
    ("[x, 2*y, 3]", "[x, 2 * y, 3]"),
    ("q = x + y; f = q * z", "q = x + y; f = q * z"),
    ("q = x + y\nq * z  # comment", "q = x + y; q * z"),
    ("q = x; r = q; r * 2", "q = x; r = q; r * 2"),
    ("c = 2; c * x", "c = 2; c * x"),
    ("q = x * 2; r = q + 1; q", "q = x * 2; r = q + 1; q"),
    ("x; y + 1", "x; y + 1"),
    ("y\nx + x + y", "y; x + x + y"),
    ("x; r = x; y * x", "x; r = x; y * x"),
    ("1/(1+exp(-x))", "1 / (1 + exp(-x))"),
    ("c = x; c += 1; c *= c - 2; c", "c = x; c = c + 1; c = c * (c - 2)"),
    ("c = x\nc -= y - 1\nd = c\nc /= 2\nd * c", "c = x; c = c - (y - 1); d = c; c = c / 2; d * c"),
    ("c = 1; c ^= x; c **= 2", "c = 1; c = c^x; c = c^2"),
    ("e = x; e += e", "e = x; e = e + e"),
    ("y = e * x; e = y; e * e", "y = e * x; e = y; e * e"),
    ("e += x", "e = e + x"),
    ("pi = 3; pi = pi * x", "pi = 3; pi = pi * x"),
    ("x² + 3·x − 1", "x^2 + 3 * x - 1"),
    ("2√x + √(x + 1)", "2 * sqrt(x) + sqrt(x + 1)"),
    ("|x - 3|² ÷ x⁻¹", "abs(x - 3)^2 / x^-1"),
    ("Wᵀ × y", "T(W) * y"),
])
def test_canonical_form(text: str, canonical: str) -> None:
    graph = cgcli.parse(text)
    assert to_text(graph) == canonical
    assert structure(cgcli.parse(canonical)) == structure(graph)


def test_numbers_print_back_to_the_same_bits() -> None:
    rng = np.random.default_rng(6)
    values = np.concatenate([rng.standard_normal(200) * 10.0 ** rng.integers(-300, 300, 200),
                             [5e-324, -5e-324, 2.0 ** -1074, 1.7976931348623157e308, 0.1, -0.0,
                              1e16, 1e22, 123456789012345678.0, np.inf, -np.inf]])
    for v in values:
        g = cgcli.parse(f"x * {literal(v)}" if v >= 0 else f"x * ({literal(v)})")
        assert np.float64(g.nodes[1].value).tobytes() == np.float64(v).tobytes(), v
    g = cgcli.parse(literal(values) + " * x")
    assert np.asarray(g.nodes[1].value).tobytes() == values.tobytes()
    with pytest.raises(ValueError, match="nan"):
        literal(float("nan"))


@examples(300)
@given(case=cases(styled=True, depth=4))
def test_round_trip_gives_the_same_graph_and_values(case: Case) -> None:
    graph = cgcli.parse(case.text)
    text = to_text(graph)
    again = cgcli.parse(text)
    assert structure(again) == structure(graph), f"{case.text!r} -> {text!r}"
    assert to_text(again) == text, "the canonical form is not a fixed point"
    point = {k: case.point[k] for k in graph.variables}
    assert same_values(cgcli.evaluate(graph, point).values, cgcli.evaluate(again, point).values)
    assert "#" not in text and "\n" not in text and "**" not in text


@examples(60)
@given(case=cases(styled=True, depth=4), lines=st.booleans())
def test_fmt_prints_text_that_parses_to_the_same_graph(case: Case, lines: bool) -> None:
    """``cgcli fmt`` (and ``--lines``) over the generator's programs: the printer's round
    trip through the command line."""
    code, out, err = run_cli("fmt", case.text, *(["--lines"] if lines else []))
    assert code == 0, err
    assert all(line.startswith("note: ") for line in err.splitlines()), err
    text = out[:-1]
    assert out.endswith("\n") and ("\n" in text) == (lines and ";" in to_text(
        cgcli.parse(case.text)))
    assert structure(cgcli.parse(text)) == structure(cgcli.parse(case.text))
    assert run_cli("fmt", text, *(["--lines"] if lines else []))[1] == out  # a fixed point


def _deep_canonical(levels: int) -> str:
    """``levels`` nested levels cycling through unary minus, calls, ^ and parentheses around
    a let-bound name, written in canonical form."""
    pieces = {"-": "", "sin(": ")", "2^": "", "max(1, ": ")", "-(x * ": ")"}
    opened = [list(pieces)[k % len(pieces)] for k in range(levels)]
    return "q = y + 1; " + "".join(opened) + "q" + "".join(pieces[p] for p in reversed(opened))


def test_a_100000_deep_graph_prints_without_recursion() -> None:
    text = _deep_canonical(100_000)
    graph = cgcli.parse(text)
    with within(what="to_text of a 100,000-deep graph"):
        printed = to_text(graph)
    assert printed == text  # so parse(to_text(graph)) is parse(text): the same graph


# --- resource bounds ----------------------------------------------------------------------

@pytest.mark.parametrize("number", [
    "1" * 5000, "0." + "0" * 5000 + "1", "1" * 5000 + "e-4990", "9" * 400, "1e999", "1e-999",
    "1e" + "9" * 5000, "1e-" + "9" * 5000, "." + "0" * 4000 + "5e4001",
])
def test_number_literals_with_thousands_of_digits_are_float64(number: str) -> None:
    want = float(number)
    with within(what="huge number literals"):
        assert float(cgcli.evaluate(number + " * x", x=1.0).value) == want
        assert cgcli.parse_value(f"[{number}, -{number}]").tolist() == [want, -want]
        code, out, err = run_cli("eval", "x + 0", "--at", f"x={number}", "--json")
    assert code == 0 and err == ("" if math.isfinite(want) else
                                 "note: x = inf: the first value that is not finite (as given) "
                                 "(node 0; --strict makes this an error)\n")
    assert '"value": ' + (f'"{want}"' if math.isinf(want) else repr(want)) in out


@pytest.mark.parametrize(("text", "value"), [
    ("9^9^9^9", "inf"), ("1e999", "inf"), ("-9^9^9^9", "-inf"), ("2^-9^9^9", "0.0"),
    ("1e999 - 1e999", "nan"), ("(-8)^(1/3)", "nan"),
])
def test_overflow_is_float_semantics_at_once(text: str, value: str) -> None:
    code, out, err = run_cli("eval", text, "--json")
    assert code == 0 and "RuntimeWarning" not in err
    assert f'"value": "{value}"' in out or f'"value": {value}' in out


@pytest.mark.parametrize("form", ["parentheses", "minus", "calls"])
def test_100000_nesting_levels_parse_without_recursion_error(form: str) -> None:
    n = 100_000
    text = {"parentheses": "(" * n + "x" + ")" * n, "minus": "-" * n + "x",
            "calls": "exp(" * n + "x" + ")" * n}[form]
    with within(what=f"parsing 100,000 nested {form}"):
        graph = cgcli.parse(text)
    assert len(graph) == {"parentheses": 1, "minus": n + 1, "calls": n + 1}[form]


def test_a_million_numbers_as_a_literal_and_as_an_at_value() -> None:
    numbers = "[" + ",".join(str(k % 13 - 6.5) for k in range(1_000_000)) + "]"
    total = sum(k % 13 - 6.5 for k in range(1_000_000))
    code, out, err = run_cli("grad", f"sum(x * {numbers})", "--at", "x=2", "--precision", "9")
    assert code == 0 and err == ""
    assert f"∂f/∂x = {total:.0f}" in out
    code, out, err = run_cli("eval", "sum(x)", "--at", f"x={numbers}")
    assert code == 0 and err == "" and "-500006" in out


# --- safety -------------------------------------------------------------------------------

_CODE_RUNNERS = {"eval", "exec", "compile", "__import__"}
_UNSAFE_MODULES = {"pickle", "cPickle", "_pickle", "marshal", "shelve", "dill", "cloudpickle"}
_OS_RUNNERS = ("system", "popen", "exec", "spawn", "fork", "posix_spawn")


def unsafe_calls(source: str) -> list[str]:
    """Calls in ``source`` that could run text as code or unpickle data."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [
                node.module or ""]
            found += [f"import {n}" for n in names if n.split(".")[0] in _UNSAFE_MODULES]
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id in _CODE_RUNNERS:
            found.append(f"{func.id}()")
        if isinstance(func, ast.Attribute):
            owner = func.value.id if isinstance(func.value, ast.Name) else ""
            if owner == "os" and func.attr.startswith(_OS_RUNNERS):
                found.append(f"os.{func.attr}()")
            if owner in _UNSAFE_MODULES:
                found.append(f"{owner}.{func.attr}()")
        for kw in node.keywords:
            if kw.arg in ("shell", "allow_pickle") and not (
                    isinstance(kw.value, ast.Constant) and kw.value.value is False):
                found.append(f"{kw.arg}=... (line {node.lineno})")
    return found


def test_the_safety_scan_finds_what_it_looks_for() -> None:
    bad = ("import pickle\nfrom marshal import loads\neval(s)\nexec(s)\nos.system(s)\n"
           "subprocess.run(s, shell=True)\nnp.load(f, allow_pickle=True)\n")
    assert len(unsafe_calls(bad)) == 7


def test_no_module_runs_text_as_code_or_unpickles() -> None:
    offenders = {}
    for path in sorted((ROOT / "cgcli").rglob("*.py")):
        found = unsafe_calls(path.read_text(encoding="utf-8"))
        if found:
            offenders[str(path.relative_to(ROOT))] = found
    assert offenders == {}


_WRITES: list[str] | None = None  # paths opened for writing while a test watches
_HOOKED = False


def _audit(event_name: str, args: tuple) -> None:
    if _WRITES is None or event_name != "open":
        return
    path, mode, flags = args
    writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
        isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND))
    name = os.fsdecode(path) if isinstance(path, str | bytes) else str(path)
    if writing and "__pycache__" not in name:
        _WRITES.append(name)


@contextlib.contextmanager
def watching_writes() -> Iterator[list[str]]:
    """Record every file opened for writing in this process (an audit hook)."""
    global _WRITES, _HOOKED
    if not _HOOKED:
        sys.addaudithook(_audit)  # cannot be removed; does nothing unless _WRITES is a list
        _HOOKED = True
    _WRITES = []
    try:
        yield _WRITES
    finally:
        _WRITES = None


def _listing(*dirs: Path) -> set[str]:
    return {str(p) for d in dirs for p in d.rglob("*")}


def test_nothing_is_written_unless_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                         ) -> None:
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)
    (work / "f.cg").write_text("q = x * y\nsum(q)\n", encoding="utf-8")
    before = _listing(home, work)
    commands = [
        ("eval", "@f.cg", "--at", "x=[1, 2]", "--at", "y=3"),
        ("grad", "1/(1+exp(-x))", "--at", "x=1"),
        ("grad", "(x+y)*z", "--at", "x=1", "--at", "y=2", "--at", "z=3", "--format", "tree"),
        ("grad", "sum(W@x)", "--at", "W=[[1,2],[3,4]]", "--at", "x=[1,1]", "--json"),
        ("explain", "M = -x; Q = exp(M); P = Q + 1; L = 1/P", "--at", "x=1"),
        ("graph", "sin(x) * y", "--at", "x=1", "--at", "y=2"),
        ("graph", "sin(x) * y", "--format", "mermaid"),
        ("check", "sum(tanh(x)^2)", "--at", "x=[0.1, 0.2]"),
        ("jacobian", "softmax(x)", "--at", "x=[1, 2, 3]"),
        ("eval", "log(x)", "--at", "x=0", "--strict"),
        ("eval", "bogus(x", "--at", "x=1"),
        ("functions",),
    ]
    with watching_writes() as writes:
        for args in commands:
            code, _, err = run_cli(*args)
            assert code in (0, 2, 3), (args, code, err)
    assert writes == []
    assert _listing(home, work) == before
    with watching_writes() as writes:  # and with -o, exactly the file asked for
        code, _, err = run_cli("graph", "sin(x)", "-o", "g.dot")
    assert code == 0, err
    assert [Path(w).name for w in writes] == ["g.dot"]
    assert _listing(home, work) == before | {str(work / "g.dot")}
