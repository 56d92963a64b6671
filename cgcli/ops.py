"""The op registry: every operation cgcli knows, in one table.

Each :class:`Op` holds the forward function, the vector-Jacobian product (the backward rule),
the arity, how the op is printed, its gate role and sample points for the tests. The parser,
the engine, the renderers, ``--help`` and the test-suite all read this table, so adding a
function means adding one entry here (plus a test).

Conventions:

* ``forward(*xs)`` takes NumPy float64 values (0-d for scalars) and returns one.
* ``vjp(g, out, *xs)`` takes the upstream gradient ``g`` (shaped like ``out``), the forward
  output and the inputs, and returns one gradient per input. It may return a gradient in the
  broadcast shape: the engine sums it back to the input's shape (``unbroadcast``), in one
  place for every op. Rules are pure: they never modify their arguments in place.
* Gradients at kinks follow PyTorch (relu'(0) = 0, abs'(0) = 0, ties in max/min split
  equally, ...), listed in ``conventions.md``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .errors import ShapeError

Array = Any  # a NumPy array or NumPy scalar; kept loose for speed and brevity


class Op:
    """One operation: forward, backward and how it is shown.

    A plain class with slots rather than a dataclass: the registry is built at every start
    of the command, and this keeps that cheap. Treat instances as immutable; ``replace``
    makes a changed copy.
    """

    __slots__ = ("callable", "defaults", "derivative", "doc", "forward", "kinks", "local",
                 "local_ascii", "local_latex", "name", "params", "precedence", "role",
                 "samples", "symbol", "variadic", "vjp")

    def __init__(
        self,
        name: str,
        forward: Callable[..., Array],
        vjp: Callable[..., tuple],
        params: tuple[str, ...] = ("x",),
        defaults: dict[str, float] | None = None,
        variadic: bool = False,
        symbol: str | None = None,
        precedence: int = 100,
        callable: bool = True,
        doc: str = "",
        derivative: str = "",
        role: str = "",
        samples: tuple[tuple[Any, ...], ...] = (),
        local: tuple[str, ...] = (),
        local_ascii: tuple[str, ...] = (),
        local_latex: tuple[str, ...] = (),
        kinks: Callable[..., Any] | None = None,
    ) -> None:
        self.name = name
        self.forward = forward
        self.vjp = vjp
        self.params = params
        #: Default values of trailing optional parameters (float), by parameter name.
        self.defaults = {} if defaults is None else defaults
        self.variadic = variadic  # accepts any number (>= len(params)) of arguments
        self.symbol = symbol  # infix or prefix operator, e.g. "+"; None: call syntax
        self.precedence = precedence  # printing: 1 + -, 2 * / @, 3 unary, 4 ^, 100 atoms
        self.callable = callable  # may be called by name, e.g. exp(x)
        #: One line for docs and --help; the derivative is written with g = upstream gradient.
        self.doc = doc
        self.derivative = derivative
        #: Gate role in the lecture's words, if it has one.
        self.role = role
        #: Points where the op is smooth: tuples of inputs, for the registry-wide VJP test.
        self.samples = samples
        #: The local derivative d(out)/d(input), one formula per parameter (a variadic op has
        #: one for every input), as ``explain`` prints it: Unicode, ASCII and LaTeX. Names in
        #: a formula: the op's parameters, ``out`` (the op's output), ``n`` (the number of
        #: elements of the input), ``i`` (the input's position, for variadic ops) and ``g``
        #: (the upstream gradient). A formula without ``g`` is a factor that multiplies g
        #: (elementwise); one with ``g`` is the whole vector-Jacobian product. ``[c]`` is 1
        #: where c holds, else 0.
        self.local = local
        self.local_ascii = local_ascii
        self.local_latex = local_latex
        #: For an op with kinks (relu, abs, max, ...): ``kinks(out, *xs)`` says on which side
        #: of each kink its inputs are; between two points where it gives equal arrays the op
        #: is smooth. ``check`` uses it to tell a kink from a wrong gradient. None: smooth.
        self.kinks = kinks

    def replace(self, **changes: Any) -> Op:
        """A copy with some fields changed (like ``dataclasses.replace``)."""
        fields = {name: getattr(self, name) for name in self.__slots__}
        return Op(**{**fields, **changes})

    def __repr__(self) -> str:
        return f"Op({self.name!r})"

    @property
    def min_args(self) -> int:
        return len(self.params) - len(self.defaults)

    @property
    def max_args(self) -> int | None:
        return None if self.variadic else len(self.params)

    def signature(self) -> str:
        """Call signature as shown in docs, e.g. ``leaky_relu(x, slope=0.01)``."""
        parts = [p if p not in self.defaults else f"{p}={self.defaults[p]:g}" for p in self.params]
        if self.variadic:
            parts.append("...")
        return f"{self.name}({', '.join(parts)})"


REGISTRY: dict[str, Op] = {}
#: Names a user may call, including aliases (ln -> log).
FUNCTIONS: dict[str, Op] = {}
#: Named constants of the language.
CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}


def register(op: Op, *aliases: str) -> Op:
    """Add ``op`` to the registry (and its call names to :data:`FUNCTIONS`)."""
    if op.name in REGISTRY:
        raise ValueError(f"op {op.name!r} registered twice")
    REGISTRY[op.name] = op
    if op.callable:
        for name in (op.name, *aliases):
            FUNCTIONS[name] = op
    return op


# --- leaves -------------------------------------------------------------------------------

def _no_forward(*_: Array) -> Array:  # pragma: no cover - leaves are handled by the engine
    raise AssertionError("leaf ops have no forward function")


def _no_vjp(*_: Array) -> tuple:  # pragma: no cover
    return ()


VAR = register(Op("var", _no_forward, _no_vjp, params=(), callable=False, doc="input variable"))
CONST = register(Op("const", _no_forward, _no_vjp, params=(), callable=False, doc="constant"))


# --- arithmetic ---------------------------------------------------------------------------

ADD = register(Op(
    "add", np.add, lambda g, out, a, b: (g, g), params=("a", "b"), symbol="+", precedence=1,
    callable=False, doc="a + b", derivative="∂/∂a = 1, ∂/∂b = 1",
    role="add gate: distributes the upstream gradient unchanged to every input",
    samples=((1.5, -2.0), ([1.0, 2.0], 3.0)),
    local=("1", "1"), local_ascii=("1", "1"), local_latex=("1", "1"),
))
SUB = register(Op(
    "sub", np.subtract, lambda g, out, a, b: (g, -g), params=("a", "b"), symbol="-",
    precedence=1, callable=False, doc="a - b", derivative="∂/∂a = 1, ∂/∂b = -1",
    samples=((1.5, -2.0), ([1.0, 2.0], 3.0)),
    local=("1", "-1"), local_ascii=("1", "-1"), local_latex=("1", "-1"),
))
MUL = register(Op(
    "mul", np.multiply, lambda g, out, a, b: (g * b, g * a), params=("a", "b"), symbol="*",
    precedence=2, callable=False, doc="a * b (elementwise)", derivative="∂/∂a = b, ∂/∂b = a",
    role="mul gate: swaps the inputs — each gets the upstream gradient times the other's value",
    samples=((1.5, -2.0), ([1.0, 2.0], 3.0), ([[1.0, 2.0], [3.0, 4.0]], [0.5, -1.0])),
    local=("b", "a"), local_ascii=("b", "a"), local_latex=("b", "a"),
))
DIV = register(Op(
    "div", np.divide, lambda g, out, a, b: (g / b, -g * out / b), params=("a", "b"),
    symbol="/", precedence=2, callable=False, doc="a / b (elementwise)",
    derivative="∂/∂a = 1/b, ∂/∂b = -a/b²",
    samples=((1.5, -2.0), ([1.0, 2.0], 3.0), (1.0, [0.5, 4.0])),
    local=("1/b", "-a/b²"), local_ascii=("1/b", "-a/b^2"),
    local_latex=(r"\frac{1}{b}", r"-\frac{a}{b^{2}}"),
))
NEG = register(Op(
    "neg", np.negative, lambda g, out, x: (-g,), symbol="-", precedence=3, callable=False,
    doc="-x", derivative="-1", samples=((0.7,), ([1.0, -2.0],)),
    local=("-1",), local_ascii=("-1",), local_latex=("-1",),
))
POS = register(Op(
    "pos", np.positive, lambda g, out, x: (g,), symbol="+", precedence=3, callable=False,
    doc="+x", derivative="1", samples=((0.7,),),
    local=("1",), local_ascii=("1",), local_latex=("1",),
))


def _pow_vjp(g: Array, out: Array, a: Array, b: Array) -> tuple:
    # PyTorch's pow_backward: d/da is 0 where b == 0; d/db is 0 where a == 0 and b >= 0.
    da = np.where(b == 0, 0.0, b * np.power(a, b - 1.0))
    db = np.where((a == 0) & (b >= 0), 0.0, out * np.log(a))
    return g * da, g * db


POW = register(Op(
    "pow", np.power, _pow_vjp, params=("a", "b"), symbol="^", precedence=4,
    doc="a raised to the power b (also a ^ b, a ** b)",
    derivative="∂/∂a = b·a^(b-1), ∂/∂b = a^b·ln(a)",
    samples=((1.5, 2.0), (2.0, -1.5), ([1.0, 2.0], 3.0), (0.7, [0.5, 2.5])),
    local=("b·a^(b-1)", "a^b·ln(a)"), local_ascii=("b*a^(b-1)", "a^b*ln(a)"),
    local_latex=(r"b\,a^{b-1}", r"a^{b}\ln(a)"),
))


def _matmul_vjp(g: Array, out: Array, a: Array, b: Array) -> tuple:
    a, b, g = np.asarray(a), np.asarray(b), np.asarray(g)
    if a.ndim == 1 and b.ndim == 1:  # dot product
        return g * b, g * a
    # Promote vectors to matrices as matmul does, then undo it on the gradients.
    a2 = a[np.newaxis, :] if a.ndim == 1 else a
    b2 = b[:, np.newaxis] if b.ndim == 1 else b
    g2 = g
    if a.ndim == 1:
        g2 = g2[..., np.newaxis, :]
    if b.ndim == 1:
        g2 = g2[..., np.newaxis]
    ga = g2 @ np.swapaxes(b2, -1, -2)
    gb = np.swapaxes(a2, -1, -2) @ g2
    if a.ndim == 1:
        ga = ga[..., 0, :]
    if b.ndim == 1:
        gb = gb[..., 0]
    return ga, gb


def _matmul(a: Array, b: Array) -> Array:
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        raise ShapeError("@ needs vectors or matrices on both sides; use * to scale by a scalar")
    return np.matmul(a, b)


MATMUL = register(Op(
    "matmul", _matmul, _matmul_vjp, params=("a", "b"), symbol="@", precedence=2,
    callable=False, doc="matrix product, as NumPy's matmul (vector @ vector is the dot product)",
    derivative="∂/∂A = g·Bᵀ, ∂/∂B = Aᵀ·g",
    samples=(([[1.0, 2.0], [3.0, -1.0]], [0.5, -0.25]), ([1.0, 2.0], [3.0, -4.0]),
             ([1.0, -2.0], [[0.5, 1.0, 0.0], [2.0, -1.0, 3.0]]),
             ([[1.0, 2.0, 3.0], [0.0, -1.0, 1.0]], [[1.0, 0.5], [2.0, 1.0], [0.0, 1.0]])),
    local=("g·bᵀ", "aᵀ·g"), local_ascii=("g @ T(b)", "T(a) @ g"),
    local_latex=(r"g\,b^{\top}", r"a^{\top} g"),
))


# --- elementwise functions ----------------------------------------------------------------

def _unary(name: str, forward: Callable, vjp: Callable, doc: str, derivative: str,
           samples: tuple = ((0.5,), ([0.3, 0.8],)), *aliases: str, role: str = "",
           local: tuple[str, str, str] = ("", "", ""), kinks: Callable | None = None) -> Op:
    """Register a one-input function; ``local`` is its (Unicode, ASCII, LaTeX) derivative."""
    uni, asc, tex = local
    return register(Op(name, forward, vjp, doc=doc, derivative=derivative, role=role,
                       samples=samples, local=(uni,), local_ascii=(asc,), local_latex=(tex,),
                       kinks=kinks), *aliases)


def _sigmoid(x: Array) -> Array:
    # exp of a non-positive number only: no overflow for large |x|.
    z = np.exp(-np.abs(x))
    return np.where(np.asarray(x) >= 0, 1.0 / (1.0 + z), z / (1.0 + z))[()]


def _softplus(x: Array) -> Array:
    # log(1 + e^x) = max(x, 0) + log1p(e^-|x|): exact for large |x| of either sign.
    return (np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x))))


def _sign_of_x(out: Array, x: Array, *params: Array) -> Array:
    """Which side of a kink at x = 0 each element is on (relu, abs, leaky_relu, ...)."""
    return np.sign(x)


_LN2, _LN10 = math.log(2.0), math.log(10.0)

EXP = _unary("exp", np.exp, lambda g, out, x: (g * out,), "e to the power x", "e^x",
             ((0.5,), ([-1.0, 2.0],)), local=("e^x", "e^x", "e^{x}"))
LOG = _unary("log", np.log, lambda g, out, x: (g / x,), "natural logarithm (also ln)", "1/x",
             ((0.5,), ([0.3, 2.0],)), "ln", local=("1/x", "1/x", r"\frac{1}{x}"))
_unary("log2", np.log2, lambda g, out, x: (g / (x * _LN2),), "base-2 logarithm", "1/(x·ln 2)",
       ((0.5,), ([0.3, 2.0],)),
       local=("1/(x·ln 2)", "1/(x*ln(2))", r"\frac{1}{x \ln 2}"))
_unary("log10", np.log10, lambda g, out, x: (g / (x * _LN10),), "base-10 logarithm",
       "1/(x·ln 10)", ((0.5,), ([0.3, 2.0],)),
       local=("1/(x·ln 10)", "1/(x*ln(10))", r"\frac{1}{x \ln 10}"))
_unary("log1p", np.log1p, lambda g, out, x: (g / (1.0 + x),), "log(1 + x), accurate near 0",
       "1/(1+x)", local=("1/(1 + x)", "1/(1 + x)", r"\frac{1}{1 + x}"))
_unary("expm1", np.expm1, lambda g, out, x: (g * (out + 1.0),), "e^x - 1, accurate near 0",
       "e^x", local=("e^x", "e^x", "e^{x}"))
SQRT = _unary("sqrt", np.sqrt, lambda g, out, x: (g / (2.0 * out),), "square root",
              "1/(2·sqrt(x))", ((0.5,), ([0.3, 2.0],)),
              local=("1/(2·√x)", "1/(2*sqrt(x))", r"\frac{1}{2\sqrt{x}}"))
_unary("square", np.square, lambda g, out, x: (g * 2.0 * x,), "x²", "2x",
       local=("2·x", "2*x", r"2\,x"))
_unary("sin", np.sin, lambda g, out, x: (g * np.cos(x),), "sine", "cos(x)",
       local=("cos(x)", "cos(x)", r"\cos(x)"))
_unary("cos", np.cos, lambda g, out, x: (-g * np.sin(x),), "cosine", "-sin(x)",
       local=("-sin(x)", "-sin(x)", r"-\sin(x)"))
_unary("tan", np.tan, lambda g, out, x: (g * (1.0 + out * out),), "tangent", "1 + tan²(x)",
       local=("1 + out²", "1 + out^2", r"1 + out^{2}"))
_unary("asin", np.arcsin, lambda g, out, x: (g / np.sqrt(1.0 - x * x),), "arcsine",
       "1/sqrt(1-x²)", local=("1/√(1 - x²)", "1/sqrt(1 - x^2)", r"\frac{1}{\sqrt{1 - x^{2}}}"))
_unary("acos", np.arccos, lambda g, out, x: (-g / np.sqrt(1.0 - x * x),), "arccosine",
       "-1/sqrt(1-x²)",
       local=("-1/√(1 - x²)", "-1/sqrt(1 - x^2)", r"-\frac{1}{\sqrt{1 - x^{2}}}"))
_unary("atan", np.arctan, lambda g, out, x: (g / (1.0 + x * x),), "arctangent", "1/(1+x²)",
       local=("1/(1 + x²)", "1/(1 + x^2)", r"\frac{1}{1 + x^{2}}"))
_unary("sinh", np.sinh, lambda g, out, x: (g * np.cosh(x),), "hyperbolic sine", "cosh(x)",
       local=("cosh(x)", "cosh(x)", r"\cosh(x)"))
_unary("cosh", np.cosh, lambda g, out, x: (g * np.sinh(x),), "hyperbolic cosine", "sinh(x)",
       local=("sinh(x)", "sinh(x)", r"\sinh(x)"))
_unary("tanh", np.tanh, lambda g, out, x: (g * (1.0 - out * out),), "hyperbolic tangent",
       "1 - tanh²(x)", local=("1 - out²", "1 - out^2", r"1 - out^{2}"))
SIGMOID = _unary("sigmoid", _sigmoid, lambda g, out, x: (g * (1.0 - out) * out,),
                 "logistic sigmoid 1/(1+e^-x)", "(1 - σ(x))·σ(x)",
                 ((0.5,), ([-3.0, 2.0],)),
                 role="sigmoid gate: its local gradient is (1 - s)·s, from its own output s",
                 local=("(1 - out)·out", "(1 - out)*out", r"(1 - out)\,out"))
_unary("softplus", _softplus, lambda g, out, x: (g * _sigmoid(x),), "log(1 + e^x), stable",
       "σ(x)", ((0.5,), ([-3.0, 2.0],)), local=("σ(x)", "sigmoid(x)", r"\sigma(x)"))
_unary("silu", lambda x: x * _sigmoid(x),
       lambda g, out, x: (g * (_sigmoid(x) * (1.0 + x * (1.0 - _sigmoid(x)))),),
       "x·σ(x) (swish)", "σ(x)·(1 + x·(1 - σ(x)))",
       local=("σ(x)·(1 + x·(1 - σ(x)))", "sigmoid(x)*(1 + x*(1 - sigmoid(x)))",
              r"\sigma(x)\,\bigl(1 + x\,(1 - \sigma(x))\bigr)"))
_unary("relu", lambda x: np.maximum(x, 0.0), lambda g, out, x: (g * (np.asarray(x) > 0),),
       "max(x, 0)", "1 if x > 0 else 0 (0 at x = 0)", ((0.5,), ([-0.3, 0.8],)),
       local=("[x > 0]", "[x > 0]", "[x > 0]"), kinks=_sign_of_x)
_unary("abs", np.abs, lambda g, out, x: (g * np.sign(x),), "absolute value",
       "sign(x) (0 at x = 0)", ((0.5,), ([-0.3, 0.8],)),
       local=("sign(x)", "sign(x)", r"\operatorname{sign}(x)"), kinks=_sign_of_x)
_unary("sign", np.sign, lambda g, out, x: (g * 0.0,), "sign of x: -1, 0 or 1", "0",
       local=("0", "0", "0"), kinks=_sign_of_x)


def _leaky_relu(x: Array, slope: Array = 0.01) -> Array:
    return np.where(np.asarray(x) > 0, x, slope * x)[()]


def _leaky_relu_vjp(g: Array, out: Array, x: Array, slope: Array = 0.01) -> tuple:
    pos = np.asarray(x) > 0
    return np.where(pos, g, g * slope), np.where(pos, 0.0, g * x)


register(Op(
    "leaky_relu", _leaky_relu, _leaky_relu_vjp, params=("x", "slope"),
    defaults={"slope": 0.01}, doc="x if x > 0 else slope·x",
    derivative="1 if x > 0 else slope (slope at x = 0)",
    samples=((0.5,), (-0.5, 0.2), ([-0.3, 0.8], 0.1)),
    local=("[x > 0] + slope·[x ≤ 0]", "x·[x ≤ 0]"),
    local_ascii=("[x > 0] + slope*[x <= 0]", "x*[x <= 0]"),
    local_latex=(r"[x > 0] + slope\,[x \le 0]", r"x\,[x \le 0]"),
    kinks=_sign_of_x,
))


def _elu(x: Array, alpha: Array = 1.0) -> Array:
    return np.where(np.asarray(x) > 0, x, alpha * np.expm1(np.minimum(x, 0.0)))[()]


def _elu_vjp(g: Array, out: Array, x: Array, alpha: Array = 1.0) -> tuple:
    pos = np.asarray(x) > 0
    ex = np.exp(np.minimum(x, 0.0))
    return np.where(pos, g, g * alpha * ex), np.where(pos, 0.0, g * (ex - 1.0))


register(Op(
    "elu", _elu, _elu_vjp, params=("x", "alpha"), defaults={"alpha": 1.0},
    doc="x if x > 0 else alpha·(e^x - 1)", derivative="1 if x > 0 else alpha·e^x",
    samples=((0.5,), (-0.5, 2.0), ([-0.3, 0.8], 1.5)),
    local=("[x > 0] + alpha·e^x·[x ≤ 0]", "(e^x - 1)·[x ≤ 0]"),
    local_ascii=("[x > 0] + alpha*e^x*[x <= 0]", "(e^x - 1)*[x <= 0]"),
    local_latex=(r"[x > 0] + alpha\,e^{x}\,[x \le 0]", r"(e^{x} - 1)\,[x \le 0]"),
    kinks=_sign_of_x,
))


# --- max / min: elementwise with 2+ arguments, a reduction with one -----------------------

def _extremum(reduce: Callable, pairwise: Callable) -> tuple[Callable, Callable]:
    def forward(*xs: Array) -> Array:
        if len(xs) == 1:
            return reduce(xs[0])
        out = xs[0]
        for x in xs[1:]:
            out = pairwise(out, x)
        return out

    def vjp(g: Array, out: Array, *xs: Array) -> tuple:
        # Ties share the gradient equally, as in PyTorch.
        masks = [np.asarray(x) == out for x in xs]
        count = masks[0].astype(float) if len(xs) == 1 else sum(m.astype(float) for m in masks)
        if len(xs) == 1:
            count = np.sum(count)
        share = g / np.where(count == 0, 1.0, count)
        return tuple(np.where(m, share, 0.0) for m in masks)

    return forward, vjp


def _winners(out: Array, *xs: Array) -> Array:
    """Which inputs attain the extremum, element by element: a change is a kink between."""
    return np.stack(np.broadcast_arrays(*[np.asarray(x) == out for x in xs]))


_max_fwd, _max_vjp = _extremum(np.max, np.maximum)
_min_fwd, _min_vjp = _extremum(np.min, np.minimum)
register(Op(
    "max", _max_fwd, _max_vjp, params=("a",), variadic=True,
    doc="max(a): largest element; max(a, b, ...): elementwise maximum",
    derivative="1 for the largest input, 0 for the others (ties share equally)",
    role="max gate: routes the upstream gradient to the largest input only",
    samples=((1.5, -2.0), ([1.0, 3.0, 2.0],), ([1.0, 3.0], [2.0, 0.0], 1.5)),
    local=("[a = out]",), local_ascii=("[a = out]",), local_latex=("[a = out]",),
    kinks=_winners,
))
register(Op(
    "min", _min_fwd, _min_vjp, params=("a",), variadic=True,
    doc="min(a): smallest element; min(a, b, ...): elementwise minimum",
    derivative="1 for the smallest input, 0 for the others (ties share equally)",
    role="min gate: routes the upstream gradient to the smallest input only",
    samples=((1.5, -2.0), ([1.0, 3.0, 2.0],), ([1.0, 3.0], [2.0, 0.0], 1.5)),
    local=("[a = out]",), local_ascii=("[a = out]",), local_latex=("[a = out]",),
    kinks=_winners,
))


# --- reductions and linear algebra ---------------------------------------------------------

def _norm(x: Array) -> Array:
    return np.sqrt(np.sum(np.square(x)))


def _norm_vjp(g: Array, out: Array, x: Array) -> tuple:
    # PyTorch: the gradient of the norm at 0 is 0.
    return (g * (x / out if out != 0 else np.zeros(np.shape(x))),)


register(Op("sum", np.sum, lambda g, out, x: (np.full(np.shape(x), g),), doc="sum of all elements",
            derivative="1 for every element", samples=((0.5,), ([0.3, -0.8, 2.0],)),
            local=("1",), local_ascii=("1",), local_latex=("1",)))
register(Op("mean", np.mean, lambda g, out, x: (np.full(np.shape(x), g / max(np.size(x), 1)),),
            doc="mean of all elements", derivative="1/n for every element",
            samples=((0.5,), ([0.3, -0.8, 2.0],)),
            local=("1/n",), local_ascii=("1/n",), local_latex=(r"\frac{1}{n}",)))
register(Op("norm", _norm, _norm_vjp, doc="L2 norm (Frobenius for a matrix)",
            derivative="x/‖x‖ (0 at x = 0)",
            samples=((0.5,), ([0.3, -0.8, 2.0],), ([[1.0, 2.0], [-0.5, 0.25]],)),
            local=("x/‖x‖",), local_ascii=("x/norm(x)",),
            local_latex=(r"\frac{x}{\lVert x \rVert}",),
            kinks=lambda out, x: np.sign(out)))  # a kink at x = 0 only


def _dot(a: Array, b: Array) -> Array:
    if np.ndim(a) != 1 or np.ndim(b) != 1 or np.shape(a) != np.shape(b):
        raise ShapeError(
            f"dot needs two vectors of the same length, got shapes {np.shape(a)} and "
            f"{np.shape(b)}; use @ for matrices and * for scalars")
    return np.dot(a, b)


register(Op("dot", _dot, lambda g, out, a, b: (g * b, g * a), params=("a", "b"),
            doc="dot product of two vectors", derivative="∂/∂a = b, ∂/∂b = a",
            samples=(([1.0, 2.0], [3.0, -4.0]),),
            local=("b", "a"), local_ascii=("b", "a"), local_latex=("b", "a")))


def _transpose(x: Array) -> Array:
    return np.swapaxes(x, -1, -2) if np.ndim(x) >= 2 else x


register(Op("T", _transpose, lambda g, out, x: (_transpose(g),), doc="transpose (last two axes)",
            derivative="transpose of g", samples=(([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]],),),
            local=("gᵀ",), local_ascii=("T(g)",), local_latex=(r"g^{\top}",)),
         "transpose")


def _softmax(x: Array) -> Array:
    x = np.asarray(x)
    if x.ndim == 0:
        return np.ones(())[()]
    z = np.exp(x - _safe_max(x))
    return z / np.sum(z, axis=-1, keepdims=True)


def _safe_max(x: Array) -> Array:
    # Shift by the finite maximum only: keeps inf - inf from turning into nan.
    m = np.max(x, axis=-1, keepdims=True)
    return np.where(np.isfinite(m), m, 0.0)


def _logsumexp(x: Array) -> Array:
    x = np.asarray(x)
    if x.ndim == 0:
        return x[()]
    m = _safe_max(x)
    return (np.log(np.sum(np.exp(x - m), axis=-1, keepdims=True)) + m)[..., 0][()]


def _softmax_vjp(g: Array, out: Array, x: Array) -> tuple:
    if np.ndim(x) == 0:
        return (g * 0.0,)
    return (out * (g - np.sum(g * out, axis=-1, keepdims=True)),)


def _logsumexp_vjp(g: Array, out: Array, x: Array) -> tuple:
    if np.ndim(x) == 0:
        return (g,)
    return (np.asarray(g)[..., np.newaxis] * _softmax(x),)


register(Op("softmax", _softmax, _softmax_vjp, doc="softmax along the last axis",
            derivative="s·(g - Σ g·s)",
            samples=(([0.3, -0.8, 2.0],), ([[1.0, 2.0], [0.5, -1.0]],)),
            # Σ runs along the last axis, as softmax does.
            local=("out⊙(g - Σ g⊙out)",), local_ascii=("out*(g - sum(g*out))",),
            local_latex=(r"out \odot \bigl(g - \textstyle\sum g \odot out\bigr)",)))
register(Op("logsumexp", _logsumexp, _logsumexp_vjp, doc="log Σ e^x along the last axis, stable",
            derivative="softmax(x)", samples=(([0.3, -0.8, 2.0],), ([[1.0, 2.0], [0.5, -1.0]],)),
            local=("softmax(x)",), local_ascii=("softmax(x)",),
            local_latex=(r"\operatorname{softmax}(x)",)))


# --- structure: array literals and let-bound aliases --------------------------------------

def _stack(*xs: Array) -> Array:
    shapes = {np.shape(x) for x in xs}
    if any(len(shape) >= 64 for shape in shapes):
        raise ShapeError("arrays have at most 64 dimensions")
    if len(shapes) > 1:
        raise ShapeError("the entries of an array literal must all have the same shape, got "
                         + ", ".join(str(s) for s in sorted(shapes, key=len)))
    return np.stack([np.asarray(x, dtype=float) for x in xs])


def _stack_vjp(g: Array, out: Array, *xs: Array) -> tuple:
    return tuple(g[i] for i in range(len(xs)))


STACK = register(Op("array", _stack, _stack_vjp, params=("a",), variadic=True, callable=False,
                    doc="array literal [a, b, ...]", derivative="the matching slice of g",
                    samples=((1.0, 2.0), ([1.0, 2.0], [3.0, -1.0])),
                    local=("g[i]",), local_ascii=("g[i]",), local_latex=("g_{i}",)))
IDENTITY = register(Op("id", lambda x: x, lambda g, out, x: (g,), callable=False,
                       doc="a let-bound name for another node", derivative="1",
                       samples=((0.5,),), local=("1",), local_ascii=("1",), local_latex=("1",)))


def describe() -> list[tuple[str, str, str]]:
    """(signature, description, derivative) of every callable function, for docs and help."""
    seen: dict[str, list[str]] = {}
    for alias, op in FUNCTIONS.items():
        seen.setdefault(op.name, []).append(alias)
    rows = []
    for name, aliases in sorted(seen.items(), key=lambda kv: kv[0].lower()):
        op = REGISTRY[name]
        others = [a for a in aliases if a != name]
        extra = f" (alias: {', '.join(others)})" if others else ""
        rows.append((op.signature(), op.doc + extra, op.derivative))
    return rows
