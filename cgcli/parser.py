"""Text -> :class:`~cgcli.graphs.Graph`: the grammar's LALR tables drive a graph builder.

The LALR driver (:mod:`cgcli.lalr`, tables computed by Lark from ``grammars/cgcli.lark``)
calls the :class:`_Builder` callbacks at each reduction, so the graph is built while parsing:
no parse tree, no recursion, time linear in the input. Positions come from the tokens and are
kept on the nodes for error carets.
"""

from __future__ import annotations

import difflib
import math
import re
import warnings
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import (
    ArityError,
    CgcliError,
    LimitError,
    NameError_,
    ParseError,
    ShapeError,
    ValueInputError,
)
from .graphs import Graph, no_gc
from .lalr import END, Parser, Token, UnexpectedCharacter, UnexpectedToken, export_tables
from .ops import CONST, CONSTANTS, FUNCTIONS, IDENTITY, REGISTRY, STACK, VAR, Op

if TYPE_CHECKING:
    import numpy as np

_HERE = Path(__file__).resolve().parent
#: The grammar ships inside the package (wheel) and lives in grammars/ in a source checkout.
_GRAMMAR_PLACES = (_HERE / "grammars" / "cgcli.lark", _HERE.parent / "grammars" / "cgcli.lark")


def grammar_path() -> Path:
    """Where the grammar file is, in an installed package or a source checkout."""
    for path in _GRAMMAR_PLACES:
        if path.is_file():
            return path
    raise FileNotFoundError("cgcli.lark not found in " + " or ".join(map(str, _GRAMMAR_PLACES)))


class _At:
    """A reference to an existing node as written at one place: ``(x + y)`` or a name.

    A node's own span is where it was built; a use of it elsewhere (in parentheses, or a
    variable or bound name used again) has its own span, which the enclosing node needs.
    """

    __slots__ = ("end", "id", "start")

    def __init__(self, id: int, start: int, end: int) -> None:
        self.id, self.start, self.end = id, start, end


class _Const:
    """A literal (number, pi, [1, 2], -3) not yet placed in the graph.

    Literals become nodes only when an operation uses them, so ``-2`` is one constant and
    ``[[1, 2], [3, 4]]`` one matrix, not a tree of negations and stacks.
    """

    __slots__ = ("end", "name", "start", "value")

    def __init__(self, value: Any, start: int, end: int, name: str | None = None) -> None:
        self.value, self.start, self.end, self.name = value, start, end, name


_CONTINUES = frozenset(("PLUS", "MINUS", "STAR", "SLASH", "AT", "POW", "EQUAL", "COMMA",
                        "UPDATE", "ROOT"))
#: The operator of each update (``c += x``), by the text before its '=' (pasted forms too).
_UPDATES = {"+": "add", "-": "sub", "−": "sub", "*": "mul", "·": "mul", "×": "mul", "⋅": "mul",
            "/": "div", "÷": "div", "@": "matmul", "^": "pow", "**": "pow"}
#: Functions that pasted notation also writes, and how (``cgcli functions`` shows it).
WRITTEN_AS = {"abs": "|x|", "sqrt": "√x", "T": "xᵀ", "pow": "a², a⁻¹ (superscript "
              "integers)"}
#: Superscript digits and minus -> ASCII, for a power written x² or x⁻¹.
_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")


_BRACKET = re.compile(r"[\[\]]")
_NOT_NUMERIC = re.compile(r"[^0-9.eE+\-,\s]")
_SPACES = re.compile(r"\s*")


def match_numbers(text: str, pos: int) -> tuple[int, np.ndarray] | None:
    """The NUMBERS terminal at ``text[pos]`` ('['): a vector or matrix of plain numbers.

    Returns (end, float64 array), or None to let ``[`` be parsed by the grammar's ``array``
    rule. Each attempt reads no further than the next bracket that breaks the pattern, so
    lexing stays linear even for ``[[[[...`` or ``[1, [1, [1, ...`` (a regular expression
    for the whole literal needs gigabytes of backtracking state for a million numbers);
    NumPy's C parser converts and validates the numbers.
    """
    import numpy as np  # an array literal: the first place a scalar expression avoids NumPy

    start = _SPACES.match(text, pos + 1).end()  # type: ignore[union-attr]
    if text.startswith("[", start):  # a matrix: [[...], [...], ...]
        rows, at = [], start
        while True:
            found = _row(text, at)
            if found is None:
                return None
            end, row = found
            rows.append(row)
            at = _SPACES.match(text, end).end()  # type: ignore[union-attr]
            if text.startswith(",", at):
                at = _SPACES.match(text, at + 1).end()  # type: ignore[union-attr]
                if text.startswith("]", at):  # a trailing comma
                    break
                continue
            if text.startswith("]", at):
                break
            return None
        if len({len(r) for r in rows}) > 1:
            return None  # ragged: the array rule reports it with its position
        return at + 1, np.array(rows, dtype=np.float64)
    return _row(text, pos)


def _row(text: str, pos: int) -> tuple[int, np.ndarray] | None:
    """A vector literal ``[1, 2, ...]`` at ``text[pos]``: (end, values) or None."""
    m = _BRACKET.search(text, pos + 1)
    if m is None or m.group() != "]":
        return None
    body = text[pos + 1:m.start()]
    if _NOT_NUMERIC.search(body):
        return None
    try:
        return m.end(), _number_row(body)
    except ValueError:
        return None


def _number_row(text: str) -> np.ndarray:
    """``"1, -2.5, 3,"`` -> a float64 vector, by NumPy's C parser straight from the string
    (a trailing comma is fine); ValueError if any entry is not a number."""
    text = text.strip()
    if text.endswith(","):
        text = text[:-1]
    if not text or text.endswith(",") or text.startswith(","):
        raise ValueError("empty entry")
    import numpy as np

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # NumPy only warns when it stops early at bad text
        try:
            row = np.fromstring(text, dtype=np.float64, sep=",")
        except (ValueError, DeprecationWarning):
            raise ValueError("not a number") from None
    if len(row) != text.count(",") + 1:  # pragma: no cover - the warning catches this
        raise ValueError("not a number")
    return row


def _is_token(x: Any, kind: str) -> bool:
    return getattr(x, "type", None) == kind


class _Postlex:
    """Drop newlines inside brackets and after an operator, so expressions may span lines."""

    # Lark's postlexer protocol, for where Lark itself parses with this postlexer (the test
    # that compares cgcli's driver with Lark's parser).
    always_accept = ("NEWLINE",)

    def process(self, stream):
        depth = 0
        previous = None
        for tok in stream:
            t = tok.type
            if t == "NEWLINE":
                if depth or previous in _CONTINUES:
                    continue
            elif t in ("LPAR", "LSQB"):
                depth += 1
            elif t in ("RPAR", "RSQB") and depth:
                depth -= 1
            previous = t
            yield tok


Ref = int | _At | _Const  # what a callback returns: a node id, a use of one, a literal

#: Precedence of what is written as an atom (a name, a number, a call, brackets) and of
#: unary minus, as the printer reads :attr:`Op.precedence`.
ATOM = 100
UNARY = REGISTRY["neg"].precedence


def _negative(value: Any) -> bool:
    """Is ``value`` a negative number (written with a unary minus)?"""
    return isinstance(value, float) and math.copysign(1.0, value) < 0


#: An operand right after a name: a name, a number, a bracket (and what it opens).
_OPERAND = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*|[0-9.][0-9.eE]*|√\s*[A-Za-z_0-9.]+|"
                      r"\|[^|\n]{0,30}\|)")


def _function_as_value(name: str, text: str, end: int) -> str:
    """The message for a function name used without its call: ``sin x``, ``sin²x``, ``exp``."""
    op = FUNCTIONS[name]
    rest = text[end:]
    power = re.match(r"\s*([⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+)", rest)
    if power:  # sin²(x), sin²x: the notes' way of writing sin(x)²
        m = re.match(r"\s*(\([^()\n]{0,30}\)|[A-Za-z_0-9.]+)", rest[power.end():])
        arg = m.group(1) if m else "x"
        arg = arg if arg.startswith("(") else f"({arg})"
        return (f"'{name}' is a function: write {name}{arg}{power.group(1)} for "
                f"{name}{power.group(1)}{arg}")
    m = _OPERAND.match(rest)
    if m and not m.group(1).startswith("("):
        return f"'{name}' is a function: write {name}({m.group(1)})"
    return f"'{name}' is a function: call it as {op.signature()}"


#: A name with a version, as the output writes an earlier version of a rebound name: c#1.
_VERSIONED = re.compile(r"(?<![A-Za-z0-9_.])[A-Za-z_][A-Za-z0-9_]*#[0-9]+")


def _check_versions(text: str) -> None:
    """Refuse ``c#1`` in an expression: the language would read it as ``c`` and a comment.

    Linear in the text: a line is searched for an earlier '#' (a comment) once.
    """
    skip = -1  # matches before this are inside a comment
    for m in _VERSIONED.finditer(text):
        start = m.start()
        if start < skip:
            continue
        line = text.rfind("\n", 0, start) + 1
        if text.find("#", line, start) == -1:
            raise NameError_(_version_message(m.group()), source=text, pos=start)
        skip = text.find("\n", start)
        if skip == -1:
            return


def _version_message(text: str) -> str:
    """``c#1`` in an expression: a version's name as the output shows it, not a name."""
    name, _, k = text.partition("#")
    return (f"'{text}' is how the output names an earlier version of {name} (the value of "
            f"its binding {k}); in an expression, {name} means its latest binding (give a value "
            "you need later a name of its own)")


class _Builder:
    """The parser's callbacks: each grammar alias builds graph nodes for one construct."""

    def __init__(self, source: str) -> None:
        self.graph = Graph(source)
        #: (start, end, node id) of every use of a bound name, in source order; kept on the
        #: graph for the uses of earlier versions when a name is bound again.
        self.uses: list[tuple[int, int, int]] = []
        self.lets: list[tuple[str, int]] = []  # (name, node id) of every binding, in order
        self.versions: dict[str, list[int]] = {}  # a rebound name -> its nodes, in order
        #: Updates (``c += x``) as they are shown: (node, updated node, operator, the
        #: operand's span, operand in parentheses).
        self.updates: list[tuple[int, int, str, int, int, bool]] = []

    # -- helpers ---------------------------------------------------------------------------

    def node(self, ref: Ref) -> int:
        """The node id of ``ref``, placing a literal in the graph if needed."""
        if isinstance(ref, _At):
            return ref.id
        if isinstance(ref, _Const):
            return self.graph.add(CONST, (), ref.start, ref.end, name=ref.name, value=ref.value)
        return ref

    def start(self, ref: Ref) -> int:
        return self.graph.nodes[ref].start if isinstance(ref, int) else ref.start

    def end(self, ref: Ref) -> int:
        return self.graph.nodes[ref].end if isinstance(ref, int) else ref.end

    def apply(self, op: Op, refs: list, start: int, end: int, pos: int) -> int:
        ids = tuple([self.node(r) for r in refs])
        return self.graph.add(op, ids, start, end, pos)

    def binary(self, op: Op, children: list) -> int:
        a, tok, b = children
        node = self.node
        return self.graph.add(op, (node(a), node(b)), self.start(a), self.end(b), tok.start_pos)

    def error(self, cls: type[CgcliError], message: str, pos: int) -> CgcliError:
        return cls(message, source=self.graph.source, pos=pos)

    # -- grammar callbacks -----------------------------------------------------------------

    def add(self, c: list) -> int:
        return self.binary(REGISTRY["add"], c)

    def sub(self, c: list) -> int:
        return self.binary(REGISTRY["sub"], c)

    def mul(self, c: list) -> int:
        return self.binary(REGISTRY["mul"], c)

    def div(self, c: list) -> int:
        return self.binary(REGISTRY["div"], c)

    def matmul(self, c: list) -> int:
        return self.binary(REGISTRY["matmul"], c)

    def pow(self, c: list) -> int:
        return self.binary(REGISTRY["pow"], c)

    def neg(self, c: list) -> Ref:
        tok, x = c
        if isinstance(x, _Const):  # -2 is a number, not a negation node
            return _Const(-x.value, tok.start_pos, x.end)
        return self.apply(REGISTRY["neg"], [x], tok.start_pos, self.end(x), tok.start_pos)

    def pos(self, c: list) -> Ref:
        tok, x = c
        if isinstance(x, _Const):
            return _Const(x.value, tok.start_pos, x.end)
        return self.apply(REGISTRY["pos"], [x], tok.start_pos, self.end(x), tok.start_pos)

    def number(self, c: list) -> _Const:
        tok = c[0]
        # float() of any digit string is IEEE float64: 1e999 is inf, 5,000 digits are fine.
        return _Const(float(tok.value), tok.start_pos, tok.end_pos)

    def numbers(self, c: list) -> _Const:
        """A literal vector or matrix of plain numbers (converted by the lexer's matcher)."""
        tok = c[0]
        value = tok.value
        if isinstance(value, str):  # lexed by Lark's regex (the grammar was just edited)
            found = match_numbers(value, 0)
            if found is None:
                raise self.error(ShapeError, "the rows of a matrix must all have the same "
                                 "length", tok.start_pos)
            value = found[1]
        return _Const(value, tok.start_pos, tok.end_pos)

    def group(self, c: list) -> Ref:
        lpar, x, rpar = c
        if isinstance(x, _Const):
            return _Const(x.value, lpar.start_pos, rpar.end_pos, x.name)
        return _At(self.node(x), lpar.start_pos, rpar.end_pos)

    def name(self, c: list) -> Ref:
        tok = c[0]
        name = tok.value
        g = self.graph
        if name in g.bindings:
            i = g.bindings[name]
            self.uses.append((tok.start_pos, tok.end_pos, i))
            return _At(i, tok.start_pos, tok.end_pos)
        if name in CONSTANTS:
            return _Const(CONSTANTS[name], tok.start_pos, tok.end_pos, name)
        if name in FUNCTIONS:
            raise self.error(NameError_, _function_as_value(name, g.source, tok.end_pos),
                             tok.start_pos)
        i = g.variables.get(name)
        if i is None:
            i = g.variables[name] = g.add(VAR, (), tok.start_pos, tok.end_pos, name=name)
        return _At(i, tok.start_pos, tok.end_pos)

    def keyword(self, c: list) -> tuple:
        name, _eq, value = c
        return (name, value)

    def arguments(self, c: list) -> list:
        return [x for x in c if x is not None and not _is_token(x, "COMMA")]

    def call(self, c: list) -> int:
        tok, _lpar, args, rpar = c
        name = tok.value
        op = FUNCTIONS.get(name)
        if op is None:
            close = difflib.get_close_matches(name, FUNCTIONS, n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            if name in CONSTANTS or name in self.graph.bindings or name in self.graph.variables:
                hint = f"; '{name}' is not a function (write {name} * (...) to multiply)"
            raise self.error(NameError_, f"unknown function '{name}'{hint}", tok.start_pos)
        refs = self.bind_arguments(op, name, args or [], tok.start_pos)
        return self.apply(op, refs, tok.start_pos, rpar.end_pos, tok.start_pos)

    def bind_arguments(self, op: Op, name: str, args: list, pos: int) -> list:
        """Positional and keyword arguments -> the op's inputs, in parameter order."""
        positional: list = []
        keywords: dict[str, Any] = {}
        for arg in args:
            if isinstance(arg, tuple):
                key = arg[0].value
                if key not in op.params or op.variadic:
                    raise self.error(ArityError, f"{name}() has no parameter '{key}'; its "
                                     f"signature is {op.signature()}", arg[0].start_pos)
                if key in keywords:
                    raise self.error(ArityError, f"{name}(): '{key}' given twice",
                                     arg[0].start_pos)
                keywords[key] = arg[1]
            elif keywords:
                raise self.error(ArityError, f"{name}(): a positional argument cannot follow a "
                                 "keyword argument", self.start(arg))
            else:
                positional.append(arg)
        n = len(positional)
        if n > len(op.params) and not op.variadic:
            raise self.error(ArityError, f"{name}() takes at most {len(op.params)} "
                             f"argument{'s' * (len(op.params) != 1)}, got {n}: "
                             f"{op.signature()}", pos)
        refs = list(positional)
        for key in op.params[n:]:
            if key in keywords:
                refs.append(keywords.pop(key))
            elif key in op.defaults:
                if any(k in keywords for k in op.params[len(refs):]):  # fill a gap
                    refs.append(_Const(float(op.defaults[key]), pos, pos))
                else:
                    break
            else:
                raise self.error(ArityError, f"{name}() is missing its argument '{key}': "
                                 f"{op.signature()}", pos)
        for key in keywords:  # a keyword that named an already-given positional parameter
            raise self.error(ArityError, f"{name}(): '{key}' given twice", pos)
        return refs

    def superscript(self, c: list) -> int:
        """``x²``, ``x⁻¹``: a power whose exponent is written in superscript digits."""
        x, tok = c
        digits = tok.value.translate(_SUPERSCRIPTS)
        exponent = _Const(float(digits), tok.start_pos, tok.end_pos)
        g = self.graph
        base = self.node(x)
        k = self.node(exponent)
        g.shown[k] = digits
        return g.add(REGISTRY["pow"], (base, k), self.start(x), tok.end_pos, tok.start_pos)

    def transposed(self, c: list) -> int:
        """``Wᵀ``: the transpose."""
        x, tok = c
        return self.apply(FUNCTIONS["T"], [x], self.start(x), tok.end_pos, tok.start_pos)

    def root(self, c: list) -> int:
        """``√x``: the square root of what follows, up to the next + - * / @ (as unary minus
        reaches): ``√x^2`` is √(x^2), ``√x * y`` is (√x)·y."""
        tok, x = c
        return self.apply(FUNCTIONS["sqrt"], [x], tok.start_pos, self.end(x), tok.start_pos)

    def coefficient(self, c: list) -> int:
        """``2√x``, ``a√b``: a factor written right before √ multiplies it."""
        a, r = c
        return self.graph.add(REGISTRY["mul"], (self.node(a), self.node(r)), self.start(a),
                              self.end(r), self.start(r))

    def abs(self, c: list) -> int:
        """``|x - 3|``: the absolute value."""
        lbar, x, rbar = c
        return self.apply(FUNCTIONS["abs"], [x], lbar.start_pos, rbar.end_pos, lbar.start_pos)

    def array(self, c: list) -> Ref:
        lsqb, rsqb = c[0], c[-1]
        items = [x for x in c[1:-1] if x is not None and not _is_token(x, "COMMA")]
        if all(isinstance(x, _Const) for x in items):
            import numpy as np

            shapes = {np.shape(x.value) for x in items}
            if len(shapes) > 1:
                raise self.error(ShapeError, "the entries of an array literal must all have "
                                 "the same shape (rows of a matrix the same length)",
                                 lsqb.start_pos)
            try:
                value = np.array([x.value for x in items], dtype=np.float64)
            except ValueError:  # NumPy's limit of 64 dimensions
                raise self.error(ShapeError, "arrays have at most 64 dimensions",
                                 lsqb.start_pos) from None
            return _Const(value, lsqb.start_pos, rsqb.end_pos)
        return self.apply(STACK, items, lsqb.start_pos, rsqb.end_pos, lsqb.start_pos)

    def let(self, c: list) -> int:
        tok, eq, ref = c
        return self.bind(tok, eq.start_pos, ref)

    def update(self, c: list) -> int:
        """``c += x`` is ``c = c + (x)``: a new version of c (likewise -= *= /= @= ^= **=)."""
        tok, op_tok, ref = c
        name = tok.value
        g = self.graph
        if name in g.bindings:
            old: Ref = _At(g.bindings[name], tok.start_pos, tok.end_pos)
        elif name in CONSTANTS:
            old = _Const(CONSTANTS[name], tok.start_pos, tok.end_pos, name)
        else:
            if name in FUNCTIONS:
                why = f"'{name}' is a function name and cannot be bound"
            elif name in g.variables:
                why = (f"'{name}' is an input (its value comes from --at) and cannot be updated; "
                       f"give the new value a name of its own, like {name}2 = {name} "
                       f"{op_tok.value[:-1]} ...")
            else:
                why = (f"'{name}' is not bound before this: {name} {op_tok.value} ... needs an "
                       f"earlier {name} = ... (an input cannot be updated: write {name}2 = "
                       f"{name} {op_tok.value[:-1]} ...)")
            raise self.error(NameError_, why, tok.start_pos)
        op = REGISTRY[_UPDATES[op_tok.value[:-1]]]
        a, b = self.node(old), self.node(ref)
        i = g.add(op, (a, b), tok.start_pos, self.end(ref), op_tok.start_pos)
        # As it is shown: `c#1 + (c#1 + 1)`, the update's operand in parentheses where needed.
        if isinstance(ref, int):
            written = g.nodes[ref].op.precedence
        else:
            written = UNARY if isinstance(ref, _Const) and _negative(ref.value) else ATOM
        need = UNARY if op is REGISTRY["pow"] else op.precedence + 1
        self.updates.append((i, a, op.symbol or op.name, self.start(ref), self.end(ref),
                             written < need))
        return self.bind(tok, op_tok.start_pos, i)

    def bind(self, tok: Token, pos: int, ref: Ref) -> int:
        """Bind the name ``tok`` to ``ref``; a name bound before gets a new version."""
        name = tok.value
        g = self.graph
        why = None
        if name in FUNCTIONS:
            why = f"'{name}' is a function name and cannot be bound"
        elif name in g.variables and g.nodes[g.variables[name]].start > tok.start_pos:
            why = (f"'{name}' is an input (its value comes from --at) and cannot be bound again; "
                   f"give the new value a name of its own, like {name}2 = ...")
        elif name in g.variables:
            why = (f"'{name}' is used as an input before this binding; bind it before its first "
                   "use, or give this value a name of its own")
        if why:
            raise self.error(NameError_, why, pos)
        if name in CONSTANTS and name not in g.bindings:
            line = g.source.count("\n", 0, tok.start_pos) + 1
            where = f" (line {line})" if "\n" in g.source else ""
            g.notes.append(f"{name} = ...{where} takes the name of the constant {name} "
                           f"({CONSTANTS[name]!r}): from there on, {name} means this binding")
        if isinstance(ref, _Const):
            ref.name = name
            i = self.node(ref)
        else:
            i = self.node(ref)
            node = g.nodes[i]
            if node.name is None and node.op is not VAR:
                node.name = name
            else:  # a second name for a variable or an already-named node
                i = g.add(IDENTITY, (i,), self.start(ref), self.end(ref), tok.start_pos,
                          name=name)
        if name in g.bindings:  # bound again: static single assignment, a new version
            self.versions.setdefault(name, [g.bindings[name]]).append(i)
        g.bindings[name] = i
        self.lets.append((name, i))
        return i

    def name_versions(self) -> None:
        """Earlier versions of a rebound name are c#1, c#2, ...; the last one keeps the name,
        as the program's last lines (and a Python reader) see it."""
        g = self.graph
        earlier = set()
        for name, ids in self.versions.items():
            for k, i in enumerate(ids[:-1], 1):
                g.nodes[i].name = f"{name}#{k}"
                earlier.add(i)
        g.bindings = {g.nodes[i].name: i for _, i in self.lets}  # type: ignore[misc]
        g.renamed = [use for use in self.uses if use[2] in earlier]

    def program(self, c: list) -> Graph:
        statements = [x for x in c if not hasattr(x, "type")]
        self.graph.output = self.node(statements[-1])
        self.graph.line_ends = [x.start_pos for x in c if _is_token(x, "NEWLINE")]
        if self.versions:
            self.name_versions()
        g = self.graph
        for i, target, symbol, start, end, parens in self.updates:
            operand = " ".join(g.written(start, end).split())
            if parens:
                operand = f"({operand})"
            space = "" if symbol == "^" else " "
            g.shown[i] = f"{g.nodes[target].name}{space}{symbol}{space}{operand}"
        return g


_TABLES_MODULE = _HERE / "_parser_tables.py"


def _grammar_crc(text: str) -> int:
    import zlib

    return zlib.crc32(text.encode("utf-8"))


@lru_cache(maxsize=1)
def _parser() -> Parser:
    """The LALR driver over the grammar's tables.

    Start-up matters for a command-line tool, so the tables come from the generated module
    ``_parser_tables.py`` (no ``import lark``, no grammar compilation). If the grammar has
    changed since that module was generated (an edit in a checkout), Lark computes the tables
    from the grammar instead, so the edit takes effect at once; a test keeps them in sync.
    """
    grammar = grammar_path().read_text(encoding="utf-8")
    try:
        from ._parser_tables import GRAMMAR_CRC, TABLES
    except ImportError:  # pragma: no cover - the module ships with the package
        GRAMMAR_CRC, TABLES = None, None
    if _grammar_crc(grammar) != GRAMMAR_CRC:
        TABLES = export_tables(grammar)
    return Parser(TABLES, _Postlex().process, {"NUMBERS": ("[", match_numbers)})


def tables_source() -> str:
    """The text of ``_parser_tables.py`` for the current grammar."""
    import pprint

    grammar = grammar_path().read_text(encoding="utf-8")
    tables = pprint.pformat(export_tables(grammar), width=100, compact=True, sort_dicts=False)
    return ('"""LALR tables of grammars/cgcli.lark, computed by Lark. Generated by\n'
            '``python -c "import cgcli.parser as p; p.regenerate()"``; do not edit."""\n\n'
            f"GRAMMAR_CRC = {_grammar_crc(grammar)}\n"
            f"TABLES = {tables}\n")


def regenerate() -> None:
    """Rewrite ``_parser_tables.py`` after a grammar change (a test fails until then)."""
    _TABLES_MODULE.write_text(tables_source(), encoding="utf-8")


#: The longest text cgcli parses: room for a literal of ten million numbers.
MAX_TEXT = 256 * 2**20


def parse(text: str, what: str = "expression") -> Graph:
    """Parse ``text`` into a :class:`Graph`. Raises :class:`~cgcli.errors.CgcliError`."""
    if len(text) > MAX_TEXT:
        raise LimitError(f"the {what} is {len(text) / 2**20:.0f} MiB long; cgcli's limit is "
                         f"{MAX_TEXT // 2**20} MiB")
    if not text.strip():
        raise ParseError(f"the {what} is empty", source=text, pos=0, what=what)
    try:
        if "#" in text:
            _check_versions(text)
        with no_gc():
            return _parser().parse(text, _Builder(text), postlex="\n" in text)
    except UnexpectedCharacter as exc:
        raise _parse_error(text, exc.pos, None, set(), what) from None
    except UnexpectedToken as exc:
        raise _parse_error(text, exc.token.start_pos, exc.token, exc.expected, what) from None
    except CgcliError as exc:
        exc.what = what
        raise


def _describe_token(tok: Token) -> str:
    if tok.type == END:
        return "end of input"
    if tok.type == "NUMBER":
        return f"number {tok}"
    if tok.type == "NAME":
        return f"name '{tok}'"
    if tok.type == "NEWLINE":
        return "end of line"
    if tok.type == "NUMBERS":
        return "'[...]'"
    return f"'{tok}'"


def _open_bracket(text: str) -> str | None:
    """The innermost bracket still open at the end of ``text`` ('(' or '['), if any."""
    stack: list[str] = []
    for ch in text:
        if ch in "([":
            stack.append(ch)
        elif ch in ")]" and stack:
            stack.pop()
        elif ch == "#":  # a comment hides brackets until the end of its line
            break
    return stack[-1] if stack else None


def _expected(expected: set[str], before: str) -> str:
    """A short human summary of what the parser could accept after ``before``."""
    if "NUMBER" in expected or "NAME" in expected:
        return "an expression"
    comma = "',' " if "COMMA" in expected else ""
    if "BAR" in expected and "RPAR" not in expected and "RSQB" not in expected:
        return "an operator or '|'"  # inside |...|
    bracket = _open_bracket(before)
    if bracket is None:
        return "an operator or the end of the expression"
    closer = ")" if bracket == "(" else "]"
    return f"an operator, {comma}or '{closer}'" if comma else f"an operator or '{closer}'"


#: Characters that look like the language's but are not, and what to write instead.
_LOOKALIKES = {
    "–": "a dash: write - for minus", "—": "a dash: write - for minus",
    "π": "write pi", "∗": "write * (or ·)", "∑": "write sum(...)", "Σ": "write sum(...)",
    "‖": "write norm(x)", "∛": "write x^(1/3) (or cbrt as a power)", "′": "names are "
    "letters, digits and _: write x1, not x′", "'": "names are letters, digits and _: "
    "write x1, not x'",
}
#: The operator before an error, as written (longest first): '**=', '+=', '**', '+', ...
_OPERATOR_BEFORE = re.compile(r"(\*\*=|[-+*/@^·×⋅÷−]=|\*\*|[-+*/^@=,(\[|√·×⋅÷−])\Z")
_WORD_BEFORE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\Z")


def _unexpected_character(ch: str) -> str:
    """The message for a character that no terminal matches, with a hint if one fits."""
    shown = repr(ch) if not ch.isprintable() or ch in "'\"" else f"'{ch}'"
    hint = _LOOKALIKES.get(ch)
    if hint is None and not ch.isascii():
        import unicodedata

        kind = unicodedata.decomposition(ch).split(" ")[0]
        if kind == "<super>":
            hint = "only superscript digits (and ⁻) are powers: write x^n"
        elif kind == "<sub>":
            hint = "subscripts are not part of names: write x1 for x₁"
    return f"unexpected character {shown}" + (f" ({hint})" if hint else "")


def _parse_error(text: str, pos: int, tok: Token | None, expected: set[str],
                 what: str) -> ParseError:
    """A message for a character no terminal matches (``tok`` None) or a misplaced token."""
    if tok is None:
        return ParseError(_unexpected_character(text[pos]), source=text, pos=pos, what=what)
    tok_type = tok.type
    if tok_type == END:  # the caret goes right after the last character
        pos = len(text.rstrip())
    # The last token before the error decides the clearest wording.
    before = text[:pos].rstrip()
    found = _describe_token(tok)
    wants = _expected(expected, before)
    operator = _OPERATOR_BEFORE.search(before)
    word = _WORD_BEFORE.search(before)
    if word and word.group(1) in FUNCTIONS and tok_type in ("NAME", "NUMBER", "NUMBERS",
                                                              "BAR"):
        pos = word.start()  # sin x: the function is the culprit
        msg = _function_as_value(word.group(1), text, word.end())
    elif tok_type == "UPDATE":
        msg = (f"unexpected '{tok}': it updates a bound name, like c {tok} 1 (c = c "
               f"{tok.value[:-1]} 1)")
    elif wants == "an expression" and operator:
        msg = f"expected an expression after '{operator.group()}', found {found}"
    elif not before:
        msg = f"expected an expression, found {found}"
        if tok_type == "EQUAL":
            msg = "unexpected '=': a binding needs a name on its left, like q = x + y"
    else:
        msg = f"unexpected {found}: expected {wants}"
        inside_bars = wants.endswith("'|'")
        if tok_type == "RPAR" and "RPAR" not in expected and not inside_bars:
            msg = "unmatched ')'"
        elif tok_type == "RSQB" and "RSQB" not in expected and not inside_bars:
            msg = "unmatched ']'"
        elif tok_type == "EQUAL":
            msg = "unexpected '=': a binding needs a name on its left, like q = x + y"
        elif tok_type in ("NAME", "NUMBER", "LPAR", "NUMBERS", "BAR") and (
                "STAR" in expected or tok_type == "BAR"):
            msg += " (write * between factors: 2*x, not 2x)"
    return ParseError(msg, source=text, pos=pos, what=what)


def parse_value(text: str, name: str = "value") -> float | np.ndarray:
    """Evaluate a constant expression (an ``--at`` value): a float, or a float64 array."""
    from .engine import evaluate

    what = f"value of {name}"
    graph = parse(text, what=what)
    if graph.variables:
        var = next(iter(graph.variables))
        node = graph.nodes[graph.variables[var]]
        raise ValueInputError(f"a value must be a constant expression; '{var}' is not a "
                              "known constant", source=text, pos=node.start, what=what)
    try:
        value = evaluate(graph, {}).values[graph.output]
    except CgcliError as exc:
        exc.what = what
        raise
    if isinstance(value, float):  # np.float64 too
        return float(value)
    import numpy as np

    value = np.asarray(value, dtype=np.float64)
    return float(value) if value.ndim == 0 else value
