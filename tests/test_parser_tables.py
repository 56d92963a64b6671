"""The generated LALR tables match the grammar, and the driver parses exactly as Lark does."""

from __future__ import annotations

import pytest
from lark import Lark
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

import cgcli.parser as parser
from cgcli.errors import CgcliError, ParseError

CORPUS = [
    "1/(1+exp(-x))", "q = x + y; f = q * z", "M = -x; Q = exp(M); P = Q + 1; L = 1/P",
    "sum((W@x)^2)", "-x^2", "2^3^2", "2**-1", "--x", "+-+x", "leaky_relu(x, slope=0.2)",
    "elu(x, alpha=2) + max(x, y, 3)", "[1, 2, 3]", "[[1, 2], [3, 4]] @ [x, y]", "[x, y,]",
    "max(x,)", "a = 1\nb = a +\n  2\n\nc = b * (x\n+ 1)  # note\n", ";;x;;", "x # only",
    "dot([1, 2], [x, y]) - norm([x, y])", "T([[1, 2]]) @ [[3, 4]]", "pi * e", "x@y@z",
    "logsumexp(softmax([x, y, z]))", "((((x))))", "f = (x + y) * (x - y); f",
    "[1, -2.5, +3, .5, 1.] @ [x, 1, 2, 3, 4]", "[[1, 2], [3, 4],] @ [x, y]", "[[1, 2], [x, 4]]",
    "[\n  [1, 2],\n  [3, 4]\n] @ [x, y]", "[e, 1] * x", "[+-1] + x",
    "c = x; c += c + 1; c -= 2; c *= y; c /= 2; c @= 1; c ^= 2; c **= 1; c",
    "c = x\nc ·= 2\nc −= 1\nc ×= 3\nc ÷= 4\nc ⋅= c +\n 1", "e = c - d; e * pi", "e += 1",
    "x² + 3·x − 1", "x⁻¹ × y³ ÷ z¹⁰", "√x + √(x + 1) + 2√x + y√x^2 - √-x", "|x - 3| * ||x| - 1|",
    "Wᵀ @ v", "sin(x)²ᵀ", "-x²", "e^x²", "|x|²", "√√x", "x ² ³", "c = 1; c #= 2",
]
MALFORMED = ["x +", "1 + * 2", "(x", "x)", "x y", "2x", "exp(x", "x $ 2", "= 3", "x,y", "[1,,2]",
             "[1 2]", "[,1]", "[1, 2,,]", "[[1, 2] [3, 4]]", "[1e, 2]", "[[1, 2],, [3, 4]]",
             "f(x)(y)", "q = = 2", "x ^", "[)", "1 2", "max(x y)", "a = 1 b = 2", "3 = x",
             "c += ", "2 += 1", "|x", "|x|y|", "x |", "√", "x √", "²", "ᵀ", "x ᵀ ᵀ 2", "(|x)",
             "x ⁻", "c = 1; c += = 2"]


class _Dispatch:
    """Lark's transformer interface, forwarding to a fresh cgcli builder per parse."""

    builder = None

    def __getattr__(self, name: str):
        if name.startswith("_") or not hasattr(parser._Builder, name):
            raise AttributeError(name)
        return lambda children: getattr(self.builder, name)(children)


@pytest.fixture(scope="module")
def lark_parse():
    dispatch = _Dispatch()
    lark = Lark(parser.grammar_path().read_text(encoding="utf-8"), parser="lalr", lexer="basic",
                maybe_placeholders=True, postlex=parser._Postlex(), transformer=dispatch)

    def run(text: str):
        dispatch.builder = parser._Builder(text)
        return lark.parse(text)

    return run


def test_generated_tables_are_up_to_date() -> None:
    # Lark numbers the states differently from run to run, so the tables are compared by
    # behaviour (the tests below) and tied to the grammar's text by its checksum.
    from cgcli._parser_tables import GRAMMAR_CRC

    grammar = parser.grammar_path().read_text(encoding="utf-8")
    assert parser._grammar_crc(grammar) == GRAMMAR_CRC, (
        "grammars/cgcli.lark changed: run python -c 'import cgcli.parser as p; p.regenerate()'")


def _shape(graph):
    return [(n.op.name, n.inputs, n.name, n.start, n.end, n.pos) for n in graph.nodes], graph.output


@pytest.mark.parametrize("text", CORPUS)
def test_driver_builds_the_same_graph_as_lark(text: str, lark_parse) -> None:
    assert _shape(parser.parse(text)) == _shape(lark_parse(text))


@pytest.mark.parametrize("text", MALFORMED)
def test_driver_fails_where_lark_fails(text: str, lark_parse) -> None:
    with pytest.raises(UnexpectedInput) as lark_error:
        lark_parse(text)
    with pytest.raises(CgcliError) as ours:
        parser.parse(text)
    exc = lark_error.value
    if isinstance(exc, UnexpectedCharacters):
        assert ours.value.pos == exc.pos_in_stream
    elif isinstance(exc, UnexpectedToken) and exc.token.type != "$END":
        assert isinstance(ours.value, ParseError)
        assert ours.value.pos == exc.token.start_pos
    else:  # end of input: the caret goes after the last character
        assert ours.value.pos == len(text.rstrip())
