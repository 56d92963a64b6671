"""Exercises: judge a learner's answers, ask the questions of a graph, generate quizzes.

**Answers are judged at the precision they are written.** A plain number is right when the
correct value rounds to it at the number's last written digit, i.e. when it lies within half a
unit in that place (a tie counts as right):

========================  =================================  ==============================
written                   right for a correct value within   so for 0.19661...
========================  =================================  ==============================
``0.2``                   ±0.05                              right
``0.20``                  ±0.005                             right
``0.197``                 ±0.0005                            right
``0.196``                 ±0.0005                            wrong
``3``, ``-4``             ±0.5 (write ``3.0`` to claim more)
``1e-3`` / ``1.0e-3``     ±0.0005 / ±0.00005
========================  =================================  ==============================

Signs and enclosing parentheses do not count (``-0.53`` and ``(-0.53)`` are alike). Anything
else is an *exact* answer (``pi/4``, ``e^-1``, ``1/(1+e)``): it must agree with the correct
value to 9 significant digits (1e-12 absolute near 0). In a vector or matrix literal each
element is judged at its own written precision: ``[0.44, 0.5, pi]``. The shape must be the
correct value's shape. An explicit tolerance (:func:`parse_tolerance`) replaces the rule:
``0.01`` is absolute (\\|answer - correct\\| <= 0.01), ``1%`` relative (<= 1% of
\\|correct\\|).

**Quizzes are the same on every machine.** :class:`SplitMix64` is a 64-bit generator in pure
integer arithmetic (Steele, Lea & Flood 2014; the constants of Java's ``SplittableRandom``):
the exercise for a seed depends only on that integer stream and on tuples iterated in a fixed
order, never on :mod:`random`, NumPy's streams or hash order. Points are drawn from fixed
tables of friendly numbers (small integers, one decimal); a draw that would give an
unfriendly exercise (a tie in ``max``, a kink of ``relu``, 1/0, huge values) is redrawn from
the same stream. The answer key is computed by the engine, exactly as ``cgcli grad`` does.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .engine import Evaluation, differentiate
from .errors import NameError_, ValueInputError
from .graphs import Graph
from .numbers import json_value
from .ops import CONST, VAR
from .parser import parse, parse_value

#: An exact answer (an expression such as ``pi/4``) must agree to this relative difference.
EXACT_RTOL = 1e-9
EXACT_ATOL = 1e-12
#: Slack for float64 rounding at the edge of "half a unit in the last place".
_EDGE = 1e-9

_NUMBER = re.compile(r"[+-]?\s*(\d+(?:\.\d*)?|\.\d+)(?:[eE]([+-]?\d+))?")


# --- judging answers ------------------------------------------------------------------------

@dataclass(frozen=True)
class Answer:
    """What the learner wrote, its value, and the precision of each element."""

    text: str
    value: np.ndarray
    #: Per element: half a unit in the last written place; 0 for an exact expression.
    half_units: np.ndarray


@dataclass(frozen=True)
class Tolerance:
    """An explicit tolerance: absolute, or relative to the correct value (``1%``)."""

    amount: float
    relative: bool

    def allowed(self, correct: np.ndarray) -> np.ndarray:
        """The largest accepted \\|answer - correct\\| for each element."""
        if self.relative:
            return self.amount * np.abs(correct)
        return np.full(np.shape(correct), self.amount)


@dataclass(frozen=True)
class Verdict:
    """Whether an answer is right, and where it is not."""

    right: bool
    #: Per element, the largest accepted \\|answer - correct\\| (None if the shapes differ).
    allowed: np.ndarray | None
    #: Indices of the wrong elements of an array answer.
    wrong: tuple[tuple[int, ...], ...] = ()
    #: Why a wrong answer is wrong, when it is not just the numbers (a shape).
    reason: str = ""


def _strip_parens(s: str) -> str:
    """``s`` without parentheses that enclose all of it: ``((-0.53))`` -> ``-0.53``.

    One pass pairs the brackets, so deep nesting costs linear time."""
    match: dict[int, int] = {}
    stack: list[int] = []
    for k, ch in enumerate(s):
        if ch in "([":
            stack.append(k)
        elif ch in ")]" and stack:
            match[stack.pop()] = k
    i, j = 0, len(s) - 1
    while i < j and s[i] == "(" and match.get(i) == j:
        i, j = i + 1, j - 1
        while i < j and s[i].isspace():
            i += 1
        while j > i and s[j].isspace():
            j -= 1
    return s[i:j + 1]


def _closing(s: str, start: int) -> int:
    """Index of the bracket that closes the one at ``start`` (-1 if none)."""
    depth = 0
    for k in range(start, len(s)):
        if s[k] in "([":
            depth += 1
        elif s[k] in ")]":
            depth -= 1
            if depth == 0:
                return k
    return -1


def _split_top(s: str) -> list[str]:
    """The comma-separated items of ``s`` that are not inside brackets."""
    items, depth, start = [], 0, 0
    for k, ch in enumerate(s):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == "," and depth == 0:
            items.append(s[start:k])
            start = k + 1
    last = s[start:]
    if last.strip():  # a trailing comma is allowed: [1, 2,]
        items.append(last)
    return items


def written_half_unit(text: str) -> float | None:
    """Half a unit in the last written place of a plain number (``0.20`` -> 0.005), or None
    when ``text`` is not a plain number."""
    m = _NUMBER.fullmatch(_strip_parens(text.strip()))
    if m is None:
        return None
    digits, exponent = m.group(1), int(m.group(2) or 0)
    decimals = len(digits.partition(".")[2])
    try:
        return 0.5 * 10.0 ** (exponent - decimals)
    except OverflowError:  # 1e400: the answer is inf itself, judged as such
        return math.inf


def _half_units(text: str, value: np.ndarray) -> np.ndarray:
    """Per element of ``value`` (the value of ``text``): its written half unit, 0 if exact.

    Recurses only into array literals, so the depth is at most the value's ``ndim``."""
    half = written_half_unit(text)
    if half is not None:
        return np.full(value.shape, half)
    s = _strip_parens(text.strip())
    if s.startswith("[") and _closing(s, 0) == len(s) - 1 and value.ndim:
        items = _split_top(s[1:-1])
        if len(items) == value.shape[0]:
            return np.stack([_half_units(item, value[k]) for k, item in enumerate(items)])
    return np.zeros(value.shape)


def read_answer(text: str, what: str) -> Answer:
    """Parse an answer (a constant expression); ``what`` names it in error messages."""
    value = np.asarray(parse_value(text, what), dtype=np.float64)
    return Answer(text.strip(), value, _half_units(text, value))


def parse_tolerance(text: str) -> Tolerance:
    """``--tol``: ``0.01`` (absolute) or ``1%`` (relative); raises ValueInputError."""
    s = text.strip()
    relative = s.endswith("%")
    try:
        amount = float(s[:-1] if relative else s)
    except ValueError:
        amount = math.nan
    if not math.isfinite(amount) or amount < 0:
        raise ValueInputError(f"--tol {text!r}: expected a number >= 0 (absolute, e.g. 0.01) "
                              "or a percentage (relative, e.g. 1%)")
    return Tolerance(amount / 100 if relative else amount, relative)


def _shape_words(shape: tuple[int, ...]) -> str:
    if not shape:
        return "a scalar"
    if len(shape) == 1:
        return f"a vector of {shape[0]}"
    return ("a " if len(shape) == 2 else "an array ") + "×".join(map(str, shape)) + (
        " matrix" if len(shape) == 2 else "")


def judge(answer: Answer, correct: Any, tol: Tolerance | None = None) -> Verdict:
    """Is ``answer`` right for ``correct``: at its written precision, or within ``tol``?"""
    c = np.asarray(correct, dtype=np.float64)
    a = answer.value
    if a.shape != c.shape:
        return Verdict(False, None, reason=f"the answer is {_shape_words(a.shape)}, but the "
                                           f"correct value is {_shape_words(c.shape)}")
    with np.errstate(all="ignore"):
        mag = np.abs(c)
        if tol is not None:
            allowed = tol.allowed(c)
        else:
            exact = np.maximum(EXACT_RTOL * mag, EXACT_ATOL)
            allowed = np.where(answer.half_units > 0, answer.half_units, exact)
        # float64 rounding must not turn a tie (0.25 at one decimal) into a wrong answer
        slack = allowed * (1 + _EDGE) + 4 * np.finfo(np.float64).eps * mag
        finite = np.isfinite(a) & np.isfinite(c)
        same = (a == c) | (np.isnan(a) & np.isnan(c))  # inf for inf, nan for nan
        ok = np.where(finite, np.abs(a - c) <= slack, same)
    wrong = tuple(tuple(int(k) for k in idx) for idx in np.argwhere(~ok)) if c.ndim else ()
    return Verdict(bool(ok.all()), allowed, wrong)


# --- questions about a graph ----------------------------------------------------------------

@dataclass(frozen=True)
class Question:
    """One question: the value or the gradient d(output)/d(node) of a node."""

    id: str
    kind: str  #: "value" or "grad"
    name: str  #: the node's name (or sub-expression)
    node: int


def questions(graph: Graph) -> list[Question]:
    """The value of each computed node (forward order), then the gradient of each node the
    output depends on (backward order, as ``explain`` steps through them).

    Constants have no gradient and the output's own gradient is 1 by definition, so neither
    is asked; variables are given, so their values are not asked.
    """
    root = graph.output
    reaches = graph.ancestors(root)
    needs = graph.requires_grad()
    asked = [reaches[n.id] and needs[n.id] and n.op is not CONST for n in graph.nodes]
    values = [n.id for n in graph.nodes if asked[n.id] and n.op is not VAR]
    grads = [n.id for n in reversed(graph.nodes[:root]) if asked[n.id]]
    out = []
    for kind, ids in (("value", values), ("grad", grads)):
        for i in ids:
            out.append(Question(str(len(out) + 1), kind, graph.label(i, None), i))
    return out


def answer_of(ev: Evaluation, q: Question) -> Any:
    """The correct answer to ``q``: the node's value or its gradient."""
    return (ev.values if q.kind == "value" else ev.grads)[q.node]  # type: ignore[index]


@dataclass(frozen=True)
class Check:
    """One ``--expect`` or ``--expect-value``: the answer, the correct value, the verdict."""

    name: str
    kind: str  #: "value" or "grad"
    node: int
    answer: Answer
    correct: Any
    verdict: Verdict


#: A name in --expect NAME=VALUE: a variable or binding, c#1 for an earlier version of c.
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(#[0-9]+)?\Z")


def check_all(ev: Evaluation, expect_values: Sequence[str], expect_grads: Sequence[str],
              tol: Tolerance | None = None) -> list[Check]:
    """Judge ``NAME=VALUE`` claims about forward values, then about gradients, each in the
    order given; raises CgcliError for an unknown name or a malformed value."""
    checks = []
    for kind, option, items in (("value", "--expect-value", expect_values),
                                ("grad", "--expect", expect_grads)):
        for item in items:
            name, sep, text = item.partition("=")
            name = name.strip()
            if not sep or not _NAME.match(name):
                raise ValueInputError(f"{option} {item!r}: expected NAME=VALUE, e.g. "
                                      f"{option} x=0.20")
            i = resolve(ev.graph, name, option)
            correct = (ev.values if kind == "value" else ev.grads)[i]  # type: ignore[index]
            if correct is None:
                raise ValueInputError(
                    f"{option} {name}: '{name}' is a constant (it depends on no variable), so "
                    f"it has no gradient; to ask for one, make it a variable with --at")
            answer = read_answer(text, f"{name} in {option}")
            checks.append(Check(name, kind, i, answer, correct, judge(answer, correct, tol)))
    return checks


def resolve(graph: Graph, name: str, option: str) -> int:
    """The node a ``--expect NAME`` refers to: a variable, a let-bound name, or the output's
    name (``f`` when the output has none); raises NameError_ for an unknown name."""
    if name in graph.variables:
        return graph.variables[name]
    if name in graph.bindings:
        return graph.bindings[name]
    root = graph.nodes[graph.output]
    if root.name is None and name == "f":
        return graph.output
    known = ", ".join([*graph.variables, *graph.bindings]) or "none"
    raise NameError_(f"{option} {name}: the expression has no variable or binding '{name}' "
                     f"(it has: {known})")


# --- the random stream ----------------------------------------------------------------------

_MASK = (1 << 64) - 1


class SplitMix64:
    """A tiny, portable 64-bit PRNG: the same integers from a seed on every platform."""

    def __init__(self, seed: int) -> None:
        self.state = seed & _MASK

    def next(self) -> int:
        """The next 64-bit integer."""
        self.state = (self.state + 0x9E3779B97F4A7C15) & _MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
        return z ^ (z >> 31)

    def below(self, n: int) -> int:
        """A uniform integer in [0, n), without modulo bias (rejection sampling)."""
        limit = (1 << 64) - (1 << 64) % n
        while True:
            r = self.next()
            if r < limit:
                return r % n

    def choice(self, items: Sequence[Any]) -> Any:
        """A uniform element of ``items`` (a tuple or list, in its fixed order)."""
        return items[self.below(len(items))]


# --- quiz generation ------------------------------------------------------------------------

LEVELS = {
    1: "add and mul gates",
    2: "max, exp, 1/x and sigmoid gates",
    3: "a neuron with two inputs and an activation",
    4: "vectors and matrices",
}

#: Friendly numbers: small integers and numbers with one decimal (k/10 is the same double as
#: the literal "0.k", since division is correctly rounded).
INTS = (-5, -4, -3, -2, -1, 1, 2, 3, 4, 5)
SMALL_INTS = (-3, -2, -1, 1, 2, 3)
SMALL = (-2, -1, -0.5, 0.5, 1, 2)
HALVES = (-3, -2, -1.5, -1, -0.5, 0.5, 1, 1.5, 2, 3)
DIVISORS = (-5, -4, -2, -1, -0.5, 0.5, 1, 2, 4, 5)
TENTHS = tuple(k // 10 if k % 10 == 0 else k / 10 for k in range(-10, 11) if k)

#: How each gate is written: (cgcli text, LaTeX); operands are names, so no parentheses.
_GATES: dict[str, tuple[str, str]] = {
    "+": ("{0} + {1}", "{0} + {1}"),
    "*": ("{0} * {1}", r"{0} \cdot {1}"),
    "-": ("{0} - {1}", "{0} - {1}"),
    "neg": ("-{0}", "-{0}"),
    "exp": ("exp({0})", "e^{{{0}}}"),
    "inv": ("1/{0}", r"\frac{{1}}{{{0}}}"),
    "plus1": ("{0} + 1", "{0} + 1"),
    "max": ("max({0}, {1})", r"\max({0}, {1})"),
    "sigmoid": ("sigmoid({0})", r"\sigma({0})"),
    "tanh": ("tanh({0})", r"\tanh({0})"),
    "relu": ("relu({0})", r"\max(0, {0})"),
    "leaky_relu": ("leaky_relu({0}, 0.1)", r"\max(0.1\,{0}, {0})"),
    "elu": ("elu({0})", r"\mathrm{{ELU}}({0})"),
    "square": ("{0}^2", "{0}^{{2}}"),
    "matmul": ("{0} @ {1}", "{0} {1}"),
    "dot": ("{0} @ {1}", r"{0}^\top {1}"),
    "sum": ("sum({0})", r"\sum_i {0}_i"),
}
ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "elu")
#: Ops whose gradient jumps: a quiz never puts an input on the jump.
_KINKS = {"relu": 0.0, "leaky_relu": 0.0, "elu": 0.0, "abs": 0.0}
#: Ops that flatten out far from 0: a quiz keeps their inputs within ±3.
_SATURATE = frozenset(("sigmoid", "tanh", "exp", "elu"))
_MAX_TRIES = 500


def tex_name(name: str) -> str:
    """``w0`` -> ``w_{0}``: digits after letters become a subscript."""
    m = re.fullmatch(r"([A-Za-z]+)(\d+)", name)
    return f"{m.group(1)}_{{{m.group(2)}}}" if m else name


class _Draft:
    """An exercise being drawn: let-bindings and the variables' values."""

    def __init__(self, rng: SplitMix64) -> None:
        self.rng = rng
        self.lines: list[tuple[str, str, str]] = []  # (name, text, LaTeX)
        self.at: dict[str, Any] = {}

    def var(self, name: str, pool: Sequence[Any], shape: tuple[int, ...] = ()) -> str:
        """A variable with a value (or an array of values) drawn from ``pool``."""
        if not shape:
            self.at[name] = self.rng.choice(pool)
        else:
            flat = [self.rng.choice(pool) for _ in range(math.prod(shape))]
            self.at[name] = np.reshape(np.array(flat, dtype=object), shape).tolist()
        return name

    def let(self, name: str, gate: str, *operands: str) -> str:
        """``name = gate(operands)``."""
        text, tex = _GATES[gate]
        self.lines.append((name, text.format(*operands),
                           tex.format(*[tex_name(o) for o in operands])))
        return name


def _level1(d: _Draft) -> None:
    shape = d.rng.below(4)
    while True:  # add and mul gates: both appear
        ops = [d.rng.choice("+*") for _ in range(2 if shape == 0 else 3)]
        if "+" in ops and "*" in ops:
            break
    x, y, z = (d.var(n, INTS) for n in "xyz")
    if shape == 0:  # the lecture's f = (x + y) z
        d.let("q", ops[0], x, y)
        d.let("f", ops[1], "q", z)
    elif shape == 1:
        w = d.var("w", INTS)
        d.let("q", ops[0], x, y)
        d.let("r", ops[1], z, w)
        d.let("f", ops[2], "q", "r")
    elif shape == 2:
        w = d.var("w", INTS)
        d.let("q", ops[0], x, y)
        d.let("r", ops[1], "q", z)
        d.let("f", ops[2], "r", w)
    else:  # x feeds two gates: its gradient is the sum of two branches
        d.let("q", ops[0], x, y)
        d.let("r", ops[1], "q", z)
        d.let("f", ops[2], "r", x)


def _level2(d: _Draft) -> None:
    shape = d.rng.below(5)
    if shape == 0:  # the lecture's sigmoid, gate by gate
        x = d.var("x", SMALL)
        d.let("M", "neg", x)
        d.let("Q", "exp", "M")
        d.let("P", "plus1", "Q")
        d.let("L", "inv", "P")
    elif shape == 1:  # the lecture's L = e^w0 / w1
        w0, w1 = d.var("w0", SMALL), d.var("w1", DIVISORS)
        d.let("P", "exp", w0)
        d.let("Q", "inv", w1)
        d.let("L", "*", "P", "Q")
    elif shape == 2:  # the max gate routes
        x, y, z = (d.var(n, INTS) for n in "xyz")
        d.let("q", d.rng.choice("+*"), x, y)
        d.let("m", "max", "q", z)
        d.let("f", "*", "m", d.var("w", INTS))
    elif shape == 3:  # a sigmoid gate
        x, y, z = (d.var(n, SMALL) for n in "xyz")
        d.let("q", d.rng.choice("+*"), x, y)
        d.let("s", "sigmoid", "q")
        d.let("f", "*", "s", z)
    else:
        x, y = d.var("x", SMALL), d.var("y", DIVISORS)
        d.let("p", "exp", x)
        d.let("q", "inv", y)
        d.let("m", "max", "p", "q")
        d.let("f", "*", "m", d.var("z", INTS))


def _level3(d: _Draft) -> None:
    w0, x0, w1, x1, w2 = (d.var(n, HALVES) for n in ("w0", "x0", "w1", "x1", "w2"))
    act = d.rng.choice(ACTIVATIONS)
    d.let("p", "*", w0, x0)
    d.let("q", "*", w1, x1)
    d.let("s", "+", "p", "q")
    d.let("z", "+", "s", w2)
    if d.rng.below(2):
        d.let("a", act, "z")
    else:  # with a squared error against the target 1
        d.let("h", act, "z")
        d.let("d", "-", "h", "1")
        d.let("L", "square", "d")


def _level4(d: _Draft) -> None:
    shape = d.rng.below(4)
    if shape == 0:  # the lecture's f = ||W x||^2
        W, x = d.var("W", TENTHS, (2, 2)), d.var("x", TENTHS, (2,))
        d.let("q", "matmul", W, x)
        d.let("s", "square", "q")
        d.let("f", "sum", "s")
    elif shape == 1:  # a layer: W x + b, an activation, summed
        W, x, b = d.var("W", TENTHS, (2, 2)), d.var("x", TENTHS, (2,)), d.var("b", TENTHS, (2,))
        d.let("z", "matmul", W, x)
        d.let("u", "+", "z", b)
        d.let("h", d.rng.choice(("sigmoid", "tanh", "relu")), "u")
        d.let("f", "sum", "h")
    elif shape == 2:  # x^T A x, whose gradient is (A + A^T) x
        A, x = d.var("A", SMALL_INTS, (2, 2)), d.var("x", SMALL_INTS, (2,))
        d.let("u", "matmul", A, x)
        d.let("f", "dot", x, "u")
    else:  # a neuron with vector inputs
        w, x, b = d.var("w", HALVES, (3,)), d.var("x", HALVES, (3,)), d.var("b", HALVES)
        d.let("s", "dot", w, x)
        d.let("z", "+", "s", b)
        d.let("a", d.rng.choice(ACTIVATIONS), "z")


_BUILDERS: dict[int, Callable[[_Draft], None]] = {1: _level1, 2: _level2, 3: _level3,
                                                  4: _level4}


@dataclass(frozen=True)
class Exercise:
    """A generated exercise: the expression, the point, the questions and the key."""

    seed: int
    level: int
    expression: str
    #: The variables' values as written (ints, one-decimal floats, nested lists).
    at: dict[str, Any]
    latex: tuple[tuple[str, str], ...]  #: (name, right-hand side) in LaTeX
    evaluation: Evaluation
    questions: tuple[Question, ...]

    @property
    def output(self) -> str:
        """The output's name."""
        return self.latex[-1][0]

    def at_text(self, name: str) -> str:
        """A variable's value as ``--at`` takes it: ``2``, ``-0.5``, ``[[0.1,0.5],[1,2]]``."""
        return json.dumps(self.at[name], separators=(",", ":"))

    def key(self) -> dict[str, Any]:
        """The correct answer of each question, by id (NumPy values, full precision)."""
        return {q.id: answer_of(self.evaluation, q) for q in self.questions}

    def document(self, answers: bool = False) -> dict:
        """``{"seed", "level", "expression", "at", "questions"[, "answers"]}`` for JSON."""
        doc: dict = {"seed": self.seed, "level": self.level, "expression": self.expression,
                     "at": dict(self.at),
                     "questions": [{"id": q.id, "kind": q.kind, "name": q.name}
                                   for q in self.questions]}
        if answers:
            doc["answers"] = {k: json_value(v) for k, v in self.key().items()}
        return doc


def _friendly(ev: Evaluation) -> bool:
    """Does the exercise have moderate numbers, no kink, no tie and no 1/0?"""
    graph, values, grads = ev.graph, ev.values, ev.grads
    for node in graph.nodes:
        v, g = values[node.id], grads[node.id]  # type: ignore[index]
        if not np.all(np.isfinite(v)) or np.max(np.abs(v)) > 50:
            return False
        if g is not None and (not np.all(np.isfinite(g)) or np.max(np.abs(g)) > 50):
            return False
        name = node.op.name
        ins = [values[j] for j in node.inputs]
        if name in _KINKS and np.any(ins[0] == _KINKS[name]):
            return False
        if name in _SATURATE and np.max(np.abs(ins[0])) > 3:
            return False
        if name == "max" and np.any(ins[0] == ins[1]):
            return False
        if name == "div" and np.any(np.abs(ins[1]) < 0.1):
            return False
    return any(np.any(ev.grads[i] != 0) for i in graph.variables.values())  # type: ignore[index]


def generate(seed: int, level: int) -> Exercise:
    """The exercise of ``seed`` at ``level`` (1 to 4): the same on every machine."""
    if level not in _BUILDERS:
        raise ValueInputError(f"--level {level}: levels are 1 to {max(_BUILDERS)}")
    rng = SplitMix64(seed)
    for _ in range(_MAX_TRIES):
        draft = _Draft(rng)
        _BUILDERS[level](draft)
        expression = "; ".join(f"{name} = {text}" for name, text, _ in draft.lines)
        graph = parse(expression)
        values = {name: parse_value(json.dumps(v), name) for name, v in draft.at.items()}
        ev = differentiate(graph, values)
        if _friendly(ev):
            return Exercise(seed, level, expression, draft.at,
                            tuple((name, tex) for name, _, tex in draft.lines), ev,
                            tuple(questions(graph)))
    raise RuntimeError(f"no friendly exercise for seed {seed} at level {level}")  # a bug

