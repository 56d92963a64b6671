"""The op registry: every operation cgcli knows, in one table.

Each :class:`Op` holds its forward rule, its vector-Jacobian product (the backward rule), its
arity, how it is printed, its gate role and sample points for the tests. The parser, the
engines, the renderers, ``--help`` and the test-suite all read this table, so adding a
function means adding one entry here (plus a test).

One rule per op, written against an array namespace (:mod:`cgcli.xp`):

* ``rule(xp, *xs)`` computes the output; ``None`` for a primitive of the namespaces, which
  is then ``xp.<name>``.
* ``vjp_rule(xp, g, out, *xs)`` takes the upstream gradient ``g`` (shaped like ``out``), the
  output and the inputs, and returns one gradient per input (``None``: zero, no
  contribution). It may return a gradient in the broadcast shape: the engine sums it back to
  the input's shape (``unbroadcast``), in one place for every op. Rules are pure.

The same rule runs on Python floats (scalar expressions, no NumPy), on NumPy arrays, and on a
recorder that turns it into graph nodes (:mod:`cgcli.record`): the backward pass of a graph is
then a graph, which the printer writes as a formula and which can be differentiated again.
Rules are written the way the derivative is read (``g * xp.exp(x)`` for exp), because the
formulas ``explain`` and ``cgcli functions`` show are printed from them. Where a convention
at a kink differs from the formula (pow at 0, ties in max), ``xp.kink(c, value, formula)``
keeps both: the value where ``c`` holds, the formula elsewhere, and the formula is what is
shown. Gradients at kinks follow PyTorch (relu'(0) = 0, abs'(0) = 0, ties in max/min split
equally, ...), listed in ``conventions.md``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from .errors import ShapeError
from .xp import FORMULA, RULES, numpy_namespace

Array = Any  # a float, a NumPy array or a recorded node; kept loose for speed and brevity
Rule = Callable[..., Any]


class Op:
    """One operation: forward rule, backward rule, and how it is shown.

    A plain class with slots rather than a dataclass: the registry is built at every start
    of the command, and this keeps that cheap. Treat instances as immutable; ``replace``
    makes a changed copy.
    """

    __slots__ = ("_impl", "callable", "defaults", "doc", "kinks", "name", "params",
                 "precedence", "role", "rule", "samples", "shapes", "symbol", "variadic",
                 "vjp_rule")

    def __init__(
        self,
        name: str,
        rule: Rule | None,
        vjp_rule: Rule,
        params: tuple[str, ...] = ("x",),
        defaults: dict[str, float] | None = None,
        variadic: bool = False,
        symbol: str | None = None,
        precedence: int = 100,
        callable: bool = True,
        doc: str = "",
        role: str = "",
        samples: tuple[tuple[Any, ...], ...] = (),
        kinks: Callable[..., Any] | None = None,
        shapes: tuple[tuple[int, ...], ...] | None = None,
    ) -> None:
        self.name = name
        self.rule = rule
        self.vjp_rule = vjp_rule
        self.params = params
        #: Default values of trailing optional parameters (float), by parameter name.
        self.defaults = {} if defaults is None else defaults
        self.variadic = variadic  # accepts any number (>= len(params)) of arguments
        self.symbol = symbol  # infix or prefix operator, e.g. "+"; None: call syntax
        self.precedence = precedence  # printing: 1 + -, 2 * / @, 3 unary, 4 ^, 100 atoms
        self.callable = callable  # may be called by name, e.g. exp(x)
        #: One line for docs and --help (the derivative is printed from the backward rule,
        #: by :mod:`cgcli.formulas`).
        self.doc = doc
        #: Gate role in the lecture's words, if it has one.
        self.role = role
        #: Points where the op is smooth: tuples of inputs, for the registry-wide tests.
        self.samples = samples
        #: For an op with kinks (relu, abs, max, ...): ``kinks(out, *xs)`` (NumPy values)
        #: says on which side of each kink its inputs are; between two points where it gives
        #: equal arrays the op is smooth. ``check`` uses it to tell a kink from a wrong
        #: gradient. None: smooth.
        self.kinks = kinks
        #: The shapes of the inputs its formulas are shown for (default: scalars): matmul's
        #: are matrices, so that ``explain`` shows g·bᵀ.
        self.shapes = shapes
        self._impl: dict[str, Callable[..., Any]] = {}

    def impl(self, xp: Any) -> Callable[..., Any]:
        """The forward function on namespace ``xp``: its primitive, or the rule bound to it."""
        f = self._impl.get(xp.name)
        if f is None:
            rule = self.rule
            if rule is None:
                f = getattr(xp, self.name)
            else:
                def f(*xs: Any, _rule: Rule = rule, _xp: Any = xp) -> Any:
                    return _rule(_xp, *xs)
            self._impl[xp.name] = f
        return f

    # NumPy conveniences, for tests and for code that holds NumPy values.
    def forward(self, *xs: Any) -> Any:
        """The output for NumPy inputs."""
        return self.impl(numpy_namespace())(*xs)

    def vjp(self, g: Any, out: Any, *xs: Any) -> tuple:
        """The backward rule on NumPy values; a zero gradient is an array of zeros."""
        import numpy as np

        parts = self.vjp_rule(numpy_namespace(), g, out, *xs)
        return tuple(np.zeros(np.shape(xs[k] if k < len(xs) else 0.0)) if p is None else p
                     for k, p in enumerate(parts))

    def replace(self, **changes: Any) -> Op:
        """A copy with some fields changed (like ``dataclasses.replace``). ``vjp=f`` takes a
        backward function of NumPy values, ``f(g, out, *xs)`` (a test double)."""
        if "vjp" in changes:
            f = changes.pop("vjp")
            changes["vjp_rule"] = lambda xp, g, out, *xs: f(g, out, *xs)
        fields = {name: getattr(self, name) for name in self.__slots__ if name != "_impl"}
        return Op(**{**fields, **changes})

    def __repr__(self) -> str:
        return f"Op({self.name!r})"

    def __reduce__(self) -> tuple:
        # By name: a pickled graph (for Dask's workers, say) gets the registry's own ops back,
        # so ``node.op is VAR`` holds there too, and the rules' lambdas need no pickling.
        return _registered, (self.name,)

    @property
    def min_args(self) -> int:
        return len(self.params) - len(self.defaults)

    @property
    def max_args(self) -> int | None:
        return None if self.variadic else len(self.params)

    def signature(self) -> str:
        """Call signature as shown in docs, e.g. ``leaky_relu(x, slope=0.01)``."""
        parts = [p if p not in self.defaults else f"{p}={_number(self.defaults[p])}"
                 for p in self.params]
        if self.variadic:
            parts.append("...")
        return f"{self.name}({', '.join(parts)})"


def _number(x: float) -> str:
    """A default value as the language writes it: 0.01, 1, e."""
    return "e" if x == math.e else f"{x:g}"


REGISTRY: dict[str, Op] = {}
#: Names a user may call, including aliases (ln -> log).
FUNCTIONS: dict[str, Op] = {}
#: Named constants of the language.
CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}


def _registered(name: str) -> Op:
    """The registry's op of this name (what a pickled op becomes again)."""
    return REGISTRY[name]


def register(op: Op, *aliases: str) -> Op:
    """Add ``op`` to the registry (and its call names to :data:`FUNCTIONS`)."""
    if op.name in REGISTRY:
        raise ValueError(f"op {op.name!r} registered twice")
    REGISTRY[op.name] = op
    if op.rule is not None:
        RULES[op.name] = op.rule
    if op.callable:
        for name in (op.name, *aliases):
            FUNCTIONS[name] = op
    return op


# --- leaves -------------------------------------------------------------------------------

def _leaf(xp: Any, *_: Array) -> Any:  # pragma: no cover - leaves are handled by the engine
    raise AssertionError("leaf ops have no rules")


VAR = register(Op("var", _leaf, _leaf, params=(), callable=False, doc="input variable"))
CONST = register(Op("const", _leaf, _leaf, params=(), callable=False, doc="constant"))


# --- arithmetic ---------------------------------------------------------------------------

ADD = register(Op(
    "add", None, lambda xp, g, out, a, b: (g, g), params=("a", "b"), symbol="+",
    precedence=1, callable=False, doc="a + b",
    role="add gate: distributes the upstream gradient unchanged to every input",
    samples=((1.5, -2.0), ([1.0, 2.0], 3.0)),
))
SUB = register(Op(
    "sub", None, lambda xp, g, out, a, b: (g, -g), params=("a", "b"), symbol="-",
    precedence=1, callable=False, doc="a - b", samples=((1.5, -2.0), ([1.0, 2.0], 3.0)),
))
MUL = register(Op(
    "mul", None, lambda xp, g, out, a, b: (g * b, g * a), params=("a", "b"), symbol="*",
    precedence=2, callable=False, doc="a * b (elementwise)",
    role="mul gate: swaps the inputs — each gets the upstream gradient times the other's value",
    samples=((1.5, -2.0), ([1.0, 2.0], 3.0), ([[1.0, 2.0], [3.0, 4.0]], [0.5, -1.0])),
))
DIV = register(Op(
    # -a/b/b rather than -a/b²: b² underflows to 0 sooner (shown as -a/b²).
    "div", None, lambda xp, g, out, a, b: (xp.div(g, b), g * -xp.div(xp.div(a, b), b)),
    params=("a", "b"), symbol="/", precedence=2, callable=False, doc="a / b (elementwise)",
    samples=((1.5, -2.0), ([1.0, 2.0], 3.0), (1.0, [0.5, 4.0])),
))
NEG = register(Op(
    "neg", None, lambda xp, g, out, x: (-g,), symbol="-", precedence=3, callable=False,
    doc="-x", samples=((0.7,), ([1.0, -2.0],)),
))
POS = register(Op(
    "pos", None, lambda xp, g, out, x: (g,), symbol="+", precedence=3, callable=False,
    doc="+x", samples=((0.7,),),
))


def _pow_vjp(xp: Any, g: Array, out: Array, a: Array, b: Array) -> tuple:
    # PyTorch's pow_backward: d/da is 0 where b == 0; d/db is 0 where a == 0 and b >= 0.
    # JAX: d/da has no exception (0·0^-1 is nan at a = b = 0); d/db is a^b·log(a with 0
    # replaced by 1): 0 where a == 0 and b >= 0, 0·inf = nan where a == 0 and b < 0.
    zero = xp.eq(a, 0.0)
    da = xp.kink(xp.eq(b, 0.0), 0.0, b * xp.pow(a, b - 1.0), jax=FORMULA, at="pow at a = b = 0")
    out_b = xp.pow(a, b)
    db = xp.kink(zero * xp.step(-b), FORMULA, out_b * xp.log(a),
                 jax=out_b * xp.log(xp.where(zero, 1.0, a)), at="pow at a = 0, b < 0")
    db = xp.kink(zero * (1.0 - xp.step(-b)), 0.0, db)
    return g * da, g * db


POW = register(Op(
    "pow", None, _pow_vjp, params=("a", "b"), symbol="^", precedence=4,
    doc="a raised to the power b (also a ^ b, a ** b)",
    samples=((1.5, 2.0), (2.0, -1.5), ([1.0, 2.0], 3.0), (0.7, [0.5, 2.5])),
))


def _matmul_vjp(xp: Any, g: Array, out: Array, a: Array, b: Array) -> tuple:
    na, nb = xp.ndim(a), xp.ndim(b)
    if na == 1 and nb == 1:  # the dot product
        return g * b, g * a
    if na == 1:  # (k,) @ (k, n) -> (n,)
        return xp.matmul(b, g), xp.outer(a, g)
    if nb == 1:  # (m, k) @ (k,) -> (m,)
        return xp.outer(g, b), xp.matmul(xp.transpose(a), g)
    return xp.matmul(g, xp.transpose(b)), xp.matmul(xp.transpose(a), g)


def _matmul(xp: Any, a: Array, b: Array) -> Array:
    na, nb = xp.ndim(a), xp.ndim(b)
    if (na == 1 and nb > 2) or (nb == 1 and na > 2):
        raise ShapeError("@ with a vector takes a vector or a matrix on the other side, not a "
                         "stack of matrices")
    return xp.matmul(a, b)


MATMUL = register(Op(
    "matmul", _matmul, _matmul_vjp, params=("a", "b"), symbol="@", precedence=2,
    callable=False, doc="matrix product, as NumPy's matmul (vector @ vector is the dot product)",
    samples=(([[1.0, 2.0], [3.0, -1.0]], [0.5, -0.25]), ([1.0, 2.0], [3.0, -4.0]),
             ([1.0, -2.0], [[0.5, 1.0, 0.0], [2.0, -1.0, 3.0]]),
             ([[1.0, 2.0, 3.0], [0.0, -1.0, 1.0]], [[1.0, 0.5], [2.0, 1.0], [0.0, 1.0]])),
    shapes=((2, 2), (2, 2)),
))


# --- elementwise functions ----------------------------------------------------------------

def _unary(name: str, rule: Rule | None, vjp_rule: Rule, doc: str,
           samples: tuple = ((0.5,), ([0.3, 0.8],)), *aliases: str, role: str = "",
           kinks: Callable | None = None) -> Op:
    """Register a one-input function."""
    return register(Op(name, rule, vjp_rule, doc=doc, role=role, samples=samples,
                       kinks=kinks), *aliases)


def _sigmoid(xp: Any, x: Array) -> Array:
    # exp of a non-positive number only: no overflow for large |x|.
    z = xp.exp(-xp.abs(x))
    return xp.where(1.0 - xp.step(-x), xp.div(1.0, 1.0 + z), xp.div(z, 1.0 + z))


def _softplus(xp: Any, x: Array) -> Array:
    # log(1 + e^x) = max(x, 0) + log1p(e^-|x|): exact for large |x| of either sign.
    return xp.maximum(x, 0.0) + xp.log1p(xp.exp(-xp.abs(x)))


def _sign_of_x(out: Array, x: Array, *params: Array) -> Array:
    """Which side of a kink at x = 0 each element is on (relu, abs, leaky_relu, ...)."""
    import numpy as np

    return np.sign(x)


POSITIVE = ((0.5,), ([0.3, 2.0],))
EXP = _unary("exp", None, lambda xp, g, out, x: (g * xp.exp(x),), "e to the power x",
             ((0.5,), ([-1.0, 2.0],)))
def _log(xp: Any, x: Array, base: Array | None = None) -> Array:
    return xp.log(x) if base is None else xp.div(xp.log(x), xp.log(base))


def _log_vjp(xp: Any, g: Array, out: Array, x: Array, base: Array | None = None) -> tuple:
    if base is None:
        return (xp.div(g, x),)
    lb = xp.log(base)
    return xp.div(g, x * lb), g * -xp.div(xp.div(xp.log(x), base), lb * lb)


LOG = register(Op("log", _log, _log_vjp, params=("x", "base"), defaults={"base": math.e},
                  doc="natural logarithm (also ln); log(x, base): to another base",
                  samples=((0.5,), ([0.3, 2.0],), (3.0, 2.0), ([0.3, 2.0], 10.0))), "ln")
_unary("log2", None, lambda xp, g, out, x: (xp.div(g, x * xp.log(2.0)),), "base-2 logarithm",
       POSITIVE)
_unary("log10", None, lambda xp, g, out, x: (xp.div(g, x * xp.log(10.0)),),
       "base-10 logarithm", POSITIVE)
_unary("log1p", None, lambda xp, g, out, x: (xp.div(g, 1.0 + x),),
       "log(1 + x), accurate near 0")
_unary("expm1", None, lambda xp, g, out, x: (g * xp.exp(x),), "e^x - 1, accurate near 0")
SQRT = _unary("sqrt", None, lambda xp, g, out, x: (xp.div(g, 2.0 * xp.sqrt(x)),),
              "square root", POSITIVE)
_unary("square", lambda xp, x: x * x, lambda xp, g, out, x: (g * (2.0 * x),), "x²")
_unary("sin", None, lambda xp, g, out, x: (g * xp.cos(x),), "sine")
_unary("cos", None, lambda xp, g, out, x: (g * -xp.sin(x),), "cosine")
_unary("tan", None, lambda xp, g, out, x: (g * (1.0 + out * out),), "tangent")
_unary("asin", None, lambda xp, g, out, x: (xp.div(g, xp.sqrt(1.0 - x * x)),), "arcsine")
_unary("acos", None, lambda xp, g, out, x: (-xp.div(g, xp.sqrt(1.0 - x * x)),), "arccosine")
_unary("atan", None, lambda xp, g, out, x: (xp.div(g, 1.0 + x * x),), "arctangent")
register(Op("atan2", None,
            lambda xp, g, out, y, x: (g * xp.div(x, x * x + y * y),
                                      g * -xp.div(y, x * x + y * y)),
            params=("y", "x"), doc="the angle of the point (x, y), in (-pi, pi]",
            samples=((0.5, -1.5), (-2.0, 0.5), ([1.0, -0.5], 2.0))))
register(Op("hypot", None,
            lambda xp, g, out, x, y: (g * xp.div(x, xp.hypot(x, y)),
                                      g * xp.div(y, xp.hypot(x, y))),
            params=("x", "y"), doc="sqrt(x² + y²), without overflow",
            samples=((3.0, -4.0), (0.5, 2.0), ([1.0, -0.5], 2.0))))
_unary("sinh", None, lambda xp, g, out, x: (g * xp.cosh(x),), "hyperbolic sine")
_unary("cosh", None, lambda xp, g, out, x: (g * xp.sinh(x),), "hyperbolic cosine")
_unary("tanh", None, lambda xp, g, out, x: (g * (1.0 - out * out),), "hyperbolic tangent")
SIGMOID = _unary("sigmoid", _sigmoid, lambda xp, g, out, x: (g * ((1.0 - out) * out),),
                 "logistic sigmoid 1/(1+e^-x)", ((0.5,), ([-3.0, 2.0],)),
                 role="sigmoid gate: its local gradient is (1 - s)·s, from its own output s")
_unary("softplus", _softplus, lambda xp, g, out, x: (g * xp.sigmoid(x),),
       "log(1 + e^x), stable", ((0.5,), ([-3.0, 2.0],)))
_unary("silu", lambda xp, x: x * xp.sigmoid(x),
       lambda xp, g, out, x: (g * (xp.sigmoid(x) * (1.0 + x * (1.0 - xp.sigmoid(x)))),),
       "x·σ(x) (swish)")
_unary("relu", lambda xp, x: xp.maximum(x, 0.0), lambda xp, g, out, x: (g * xp.step(x),),
       "max(x, 0)", ((0.5,), ([-0.3, 0.8],)), kinks=_sign_of_x)
_unary("abs", None,
       lambda xp, g, out, x: (g * xp.kink(xp.eq(x, 0.0), FORMULA, xp.sign(x), jax=1.0,
                                          at="abs at 0"),),
       "absolute value", ((0.5,), ([-0.3, 0.8],)), kinks=_sign_of_x)
_unary("sign", None, lambda xp, g, out, x: (None,), "sign of x: -1, 0 or 1", kinks=_sign_of_x)


def _leaky_relu(xp: Any, x: Array, slope: Array = 0.01) -> Array:
    return xp.where(xp.step(x), x, slope * x)


def _leaky_relu_vjp(xp: Any, g: Array, out: Array, x: Array, slope: Array = 0.01) -> tuple:
    pos = xp.step(x)
    dx = xp.kink(xp.eq(x, 0.0), FORMULA, xp.where(pos, 1.0, slope), jax=1.0,
                 at="leaky_relu at 0")
    return g * dx, g * xp.where(pos, 0.0, x)


register(Op(
    "leaky_relu", _leaky_relu, _leaky_relu_vjp, params=("x", "slope"),
    defaults={"slope": 0.01}, doc="x if x > 0 else slope·x",
    samples=((0.5,), (-0.5, 0.2), ([-0.3, 0.8], 0.1)), kinks=_sign_of_x,
))


def _elu(xp: Any, x: Array, alpha: Array = 1.0) -> Array:
    return xp.where(xp.step(x), x, alpha * xp.expm1(xp.minimum(x, 0.0)))


def _elu_vjp(xp: Any, g: Array, out: Array, x: Array, alpha: Array = 1.0) -> tuple:
    # where picks one branch: e^x overflowing where x > 0 is not picked, and is no nan.
    pos = xp.step(x)
    return g * xp.where(pos, 1.0, alpha * xp.exp(x)), g * xp.where(pos, 0.0, xp.expm1(x))


register(Op(
    "elu", _elu, _elu_vjp, params=("x", "alpha"), defaults={"alpha": 1.0},
    doc="x if x > 0 else alpha·(e^x - 1)",
    samples=((0.5,), (-0.5, 2.0), ([-0.3, 0.8], 1.5)), kinks=_sign_of_x,
))


# --- max / min: elementwise with 2+ arguments, a reduction with one -----------------------

def _extremum(reduce: str, pairwise: str, share: str) -> tuple[Rule, Rule]:
    def rule(xp: Any, *xs: Array) -> Array:
        if len(xs) == 1:
            return getattr(xp, reduce)(xs[0])
        out = xs[0]
        f = getattr(xp, pairwise)
        for x in xs[1:]:
            out = f(out, x)
        return out

    def vjp_rule(xp: Any, g: Array, out: Array, *xs: Array) -> tuple:
        f = getattr(xp, share)
        return tuple(g * f(x, *xs[:k], *xs[k + 1:]) for k, x in enumerate(xs))

    return rule, vjp_rule


def _winners(out: Array, *xs: Array) -> Array:
    """Which inputs attain the extremum, element by element: a change is a kink between."""
    import numpy as np

    return np.stack(np.broadcast_arrays(*[np.asarray(x) == out for x in xs]))


def _share(extremum: str) -> Rule:
    """``ismax``/``ismin``: x's share of d extremum / d x — 1 where x attains it, 0 elsewhere,
    and 1/k where k inputs (or elements) tie."""
    def rule(xp: Any, x: Array, *others: Array) -> Array:
        out = getattr(xp, extremum)(x, *others)
        mask = xp.eq(x, out)
        count = xp.total(mask) if not others else mask + sum(xp.eq(y, out) for y in others)
        # A tie (count > 1) shares equally; count 0 (out is nan) leaves the mask, 0.
        return xp.kink(xp.step(count - 1.0), xp.div(mask, count), mask)

    return rule


_max_rule, _max_vjp = _extremum("largest", "maximum", "ismax")
_min_rule, _min_vjp = _extremum("smallest", "minimum", "ismin")
register(Op(
    "max", _max_rule, _max_vjp, params=("a",), variadic=True,
    doc="max(a): largest element; max(a, b, ...): elementwise maximum",
    role="max gate: routes the upstream gradient to the largest input only",
    samples=((1.5, -2.0), ([1.0, 3.0, 2.0],), ([1.0, 3.0], [2.0, 0.0], 1.5)),
    kinks=_winners,
))
register(Op(
    "min", _min_rule, _min_vjp, params=("a",), variadic=True,
    doc="min(a): smallest element; min(a, b, ...): elementwise minimum",
    role="min gate: routes the upstream gradient to the smallest input only",
    samples=((1.5, -2.0), ([1.0, 3.0, 2.0],), ([1.0, 3.0], [2.0, 0.0], 1.5)),
    kinks=_winners,
))


# --- reductions and linear algebra ---------------------------------------------------------

def _norm(xp: Any, x: Array) -> Array:
    return xp.sqrt(xp.total(x * x))


register(Op("sum", lambda xp, x: xp.total(x), lambda xp, g, out, x: (g * xp.ones_like(x),),
            doc="sum of all elements", samples=((0.5,), ([0.3, -0.8, 2.0],)),
            shapes=((3,),)))
register(Op("mean", lambda xp, x: xp.div(xp.total(x), xp.size(x)),
            lambda xp, g, out, x: (xp.div(g * xp.ones_like(x), xp.size(x)),),
            doc="mean of all elements", samples=((0.5,), ([0.3, -0.8, 2.0],)),
            shapes=((3,),)))
register(Op("norm", _norm,
            # PyTorch: the gradient of the norm at 0 is 0 (JAX: 0/0, nan).
            lambda xp, g, out, x: (g * xp.kink(xp.eq(out, 0.0), 0.0, xp.div(x, xp.norm(x)),
                                               jax=FORMULA, at="norm at 0"),),
            doc="L2 norm (Frobenius for a matrix)",
            samples=((0.5,), ([0.3, -0.8, 2.0],), ([[1.0, 2.0], [-0.5, 0.25]],)),
            shapes=((3,),), kinks=lambda out, x: _sign_of_x(out, out)))  # a kink at 0 only


def _dot(xp: Any, a: Array, b: Array) -> Array:
    sa, sb = xp.shape(a), xp.shape(b)
    if len(sa) != 1 or len(sb) != 1 or sa != sb:
        raise ShapeError(
            f"dot needs two vectors of the same length, got shapes {sa} and {sb}; use @ for "
            "matrices and * for scalars")
    return xp.matmul(a, b)


register(Op("dot", _dot, lambda xp, g, out, a, b: (g * b, g * a), params=("a", "b"),
            doc="dot product of two vectors", samples=(([1.0, 2.0], [3.0, -4.0]),),
            shapes=((3,), (3,))))
register(Op("T", lambda xp, x: xp.transpose(x), lambda xp, g, out, x: (xp.transpose(g),),
            doc="transpose (last two axes)", samples=(([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]],),),
            shapes=((2, 3),)),
         "transpose")


def _last_axis_max(xp: Any, x: Array) -> Array:
    """The finite maximum along the last axis, kept as an axis of length 1 (0 where it is
    ±inf or nan: keeps inf - inf from turning into nan)."""
    m = xp.column(xp.last_axis_max(x))
    return xp.where(xp.isfinite(m), m, 0.0)


def _softmax(xp: Any, x: Array) -> Array:
    if xp.ndim(x) == 0:
        return xp.ones_like(x)
    z = xp.exp(x - _last_axis_max(xp, x))
    return xp.div(z, xp.column(xp.last_axis_sum(z)))


def _logsumexp(xp: Any, x: Array) -> Array:
    if xp.ndim(x) == 0:
        return x
    m = _last_axis_max(xp, x)
    return xp.log(xp.last_axis_sum(xp.exp(x - m))) + xp.rowsum(m)


def _softmax_vjp(xp: Any, g: Array, out: Array, x: Array) -> tuple:
    n = xp.ndim(x)
    if n == 0:
        return (None,)
    gs = g * out
    return (out * (g - (xp.total(gs) if n == 1 else xp.column(xp.last_axis_sum(gs)))),)


def _logsumexp_vjp(xp: Any, g: Array, out: Array, x: Array) -> tuple:
    n = xp.ndim(x)
    if n == 0:
        return (g,)
    return ((g if n == 1 else xp.column(g)) * xp.softmax(x),)


register(Op("softmax", _softmax, _softmax_vjp, doc="softmax along the last axis",
            samples=(([0.3, -0.8, 2.0],), ([[1.0, 2.0], [0.5, -1.0]],)), shapes=((3,),)))
register(Op("logsumexp", _logsumexp, _logsumexp_vjp,
            doc="log Σ e^x along the last axis, stable",
            samples=(([0.3, -0.8, 2.0],), ([[1.0, 2.0], [0.5, -1.0]],)),
            shapes=((3,),)))


# --- structure: array literals and let-bound aliases --------------------------------------

def _stack_vjp(xp: Any, g: Array, out: Array, *xs: Array) -> tuple:
    return tuple(xp.take(g, xp.position(i)) for i in range(len(xs)))


STACK = register(Op("array", None, _stack_vjp, params=("a",), variadic=True, callable=False,
                    doc="array literal [a, b, ...]",
                    samples=((1.0, 2.0), ([1.0, 2.0], [3.0, -1.0]))))
IDENTITY = register(Op("id", lambda xp, x: x, lambda xp, g, out, x: (g,), callable=False,
                       doc="a let-bound name for another node", samples=((0.5,),)))


# --- what derivatives are written with -----------------------------------------------------
# The backward rules above need a few operations a user rarely types: the step function of
# relu', the share of a maximum, an outer product, ones shaped like an array. They are
# functions of the language like any other, so that a derivative recorded as a graph can be
# printed, parsed back, evaluated and differentiated again.

def _none(xp: Any, g: Array, out: Array, *xs: Array) -> tuple:
    return tuple(None for _ in xs)


def _helper(name: str, rule: Rule | None, vjp_rule: Rule, params: tuple[str, ...], doc: str,
            samples: tuple, **kw: Any) -> Op:
    return register(Op(name, rule, vjp_rule, params=params, doc=doc, samples=samples, **kw))


STEP = _helper("step", None, _none, ("x",), "1 where x > 0, else 0 (the derivative of relu)",
               ((0.5,), ([-0.3, 0.8],)), kinks=_sign_of_x)
EQ = _helper("eq", None, _none, ("a", "b"), "1 where a = b, else 0",
             ((0.5, 1.5), ([1.0, 2.0], 3.0)), kinks=lambda out, a, b: out)
WHERE = _helper(
    "where", None,
    lambda xp, g, out, c, a, b: (None, xp.where(c, g, 0.0), xp.where(c, 0.0, g)),
    ("c", "a", "b"), "a where c is not 0, else b (elementwise)",
    ((1.0, 0.5, -2.0), ([1.0, -1.0], [1.0, 2.0], 3.0)), kinks=lambda out, c, a, b: c != 0)
ISMAX = _helper("ismax", _share("max"), _none, ("a",),
                "ismax(a): 1 at a's largest elements, shared by ties; ismax(a, b, ...): a's "
                "share of max(a, b, ...) — the derivative of max",
                ((1.5, -2.0), ([1.0, 3.0, 2.0],)), variadic=True,
                kinks=lambda out, *xs: _winners(REGISTRY["max"].forward(*xs), *xs))
ISMIN = _helper("ismin", _share("min"), _none, ("a",),
                "ismin(a): 1 at a's smallest elements, shared by ties; ismin(a, b, ...): a's "
                "share of min(a, b, ...) — the derivative of min",
                ((1.5, -2.0), ([1.0, 3.0, 2.0],)), variadic=True,
                kinks=lambda out, *xs: _winners(REGISTRY["min"].forward(*xs), *xs))
ONES_LIKE = _helper("ones_like", None, _none, ("x",), "ones shaped like x",
                    ((0.5,), ([0.3, 0.8],)))
ZEROS_LIKE = _helper("zeros_like", None, _none, ("x",), "zeros shaped like x",
                     ((0.5,), ([0.3, 0.8],)))
OUTER = _helper("outer", None,
                lambda xp, g, out, a, b: (xp.matmul(g, b), xp.matmul(xp.transpose(g), a)),
                ("a", "b"), "outer product of two vectors: a matrix, a[i]·b[j]",
                (([1.0, 2.0], [3.0, -4.0, 0.5]),), shapes=((3,), (2,)))
ROWSUM = _helper("rowsum", lambda xp, x: xp.last_axis_sum(x),
                 lambda xp, g, out, x: (xp.column(g) * xp.ones_like(x),), ("x",),
                 "sum along the last axis (a matrix's row sums, a vector's sum)",
                 (([0.3, -0.8, 2.0],), ([[1.0, 2.0], [0.5, -1.0]],)), shapes=((2, 3),))
COLUMN = _helper("column", None, lambda xp, g, out, x: (xp.rowsum(g),), ("x",),
                 "x with a last axis of length 1 (a vector as a column)",
                 ((0.5,), ([0.3, -0.8, 2.0],)), shapes=((3,),))
TAKE = _helper("take", None, lambda xp, g, out, x, i: (xp.put(g, i, x), None), ("x", "i"),
               "x[i]: the i-th element (row) of x, counted from 0 (i rounded to a whole number)",
               (([0.3, -0.8, 2.0], 1.0), ([[1.0, 2.0], [0.5, -1.0]], 0.0)),
               shapes=((3,), ()))
PUT = _helper("put", None, lambda xp, g, out, v, i, like: (xp.take(g, i), None, None),
              ("v", "i", "like"), "zeros shaped like `like`, with v as its i-th element (row)",
              ((2.0, 1.0, [0.3, -0.8, 2.0]), ([1.0, 2.0], 0.0, [[1.0, 2.0], [0.5, -1.0]])),
              shapes=((), (), (3,)))
UNBROADCAST = _helper(
    "unbroadcast", None, lambda xp, g, out, a, like: (g * xp.ones_like(a), None),
    ("a", "like"), "a summed over the axes broadcasting added, down to the shape of `like`",
    (([[1.0, 2.0], [0.5, -1.0]], [0.0, 0.0]), ([0.3, -0.8, 2.0], 0.0)), shapes=((2, 3), (3,)))
#: Ops whose output may be an array although every input is a scalar: a graph with one of
#: them is evaluated with NumPy.
MAKES_ARRAYS = frozenset(("array", "column", "put"))
HELPERS = frozenset(("step", "eq", "where", "ismax", "ismin", "ones_like", "zeros_like",
                     "outer", "rowsum", "column", "take", "put", "unbroadcast"))
