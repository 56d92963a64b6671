"""Array namespaces: the primitives the op registry's rules are written against.

Every forward and backward rule in :mod:`cgcli.ops` is written once, against a namespace
argument ``xp`` (the idea of the Python array API standard: ``xp.exp``, ``xp.where``), and runs
on three of them:

* :data:`FLOAT`, Python floats over :mod:`math`, for expressions whose values are all
  scalars: no NumPy import, a fraction of NumPy's per-call cost. Its functions have NumPy's
  IEEE meaning, not :mod:`math`'s exceptions: exp overflow is inf, log(0) is -inf, 1/0 is
  ±inf, 0/0 and sqrt(-1) are nan, nan propagates.
* :func:`numpy_namespace`, NumPy arrays (float64), for vectors, matrices and batches.
* :class:`cgcli.record.Recorder`, which records each call as a node of a new graph: the
  backward pass of a graph becomes a graph (derivatives as formulas, Hessians).

Rules use the operators ``+ - *`` and unary ``-`` (IEEE on floats and arrays alike, never an
exception) and ``xp.<name>`` for everything else, division and powers included. Comparisons
(``xp.eq``, ``xp.step``) return 0.0 or 1.0, so they can be multiplied like numbers, and
``xp.where(c, a, b)`` picks ``a`` where ``c`` is not 0. A namespace also answers
``xp.<op>(...)`` for every op of the registry that is not one of its primitives, by running
the op's own forward rule on it.

Gradients at kinks follow a convention, PyTorch's by default, or JAX's (``--convention jax``,
:func:`using`): ``xp.kink(c, value, formula, jax=...)`` is the one place a rule states what
each framework gives at a kink, and a namespace answers for the convention it stands for.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from .errors import ShapeError

inf = math.inf
nan = math.nan


def _odd_integer(b: float) -> bool:
    return b == math.floor(b) and math.fmod(b, 2.0) != 0.0


#: The gradient conventions at kinks: PyTorch's (the default) and JAX's.
CONVENTIONS = ("torch", "jax")
#: The convention of the passes run in this context (a thread, a task): see :func:`using`.
CONVENTION: ContextVar[str] = ContextVar("cgcli_convention", default="torch")
#: ``xp.kink(..., jax=SAME)``: JAX gives what PyTorch gives there.
SAME = object()
#: ``xp.kink(c, FORMULA, ...)`` or ``jax=FORMULA``: the formula holds at the kink too, under
#: PyTorch's or under JAX's convention (where 0·inf gives nan, say).
FORMULA = object()


@contextmanager
def using(convention: str) -> Iterator[None]:
    """Run the passes in the block with gradients at kinks as ``convention`` gives them."""
    if convention not in CONVENTIONS:
        raise ValueError(f"unknown convention {convention!r}: one of {', '.join(CONVENTIONS)}")
    token = CONVENTION.set(convention)
    try:
        yield
    finally:
        CONVENTION.reset(token)


#: The forward rules of the registry's composite ops, by name (filled by
#: :func:`cgcli.ops.register`): every namespace runs them on its own primitives.
RULES: dict[str, Callable[..., Any]] = {}


class Namespace:
    """What every namespace shares: the registry's composite ops by name, and kinks."""

    name = "namespace"
    convention = "torch"

    def __getattr__(self, name: str) -> Callable[..., Any]:
        # Not a primitive of this namespace: an op of the registry, run by its forward rule.
        rule = RULES.get(name)
        if rule is None:
            raise AttributeError(f"{self.name} namespace has no function {name!r}")

        def call(*xs: Any) -> Any:
            return rule(self, *xs)

        setattr(self, name, call)  # found once; a plain attribute from then on
        return call

    @staticmethod
    def position(k: int) -> float:
        """The position of an input of a variadic op, as a number (``i`` in a formula)."""
        return float(k)

    def kink(self, c: Any, value: Any, formula: Any, jax: Any = SAME, at: str = "") -> Any:
        """``formula``, except where ``c`` holds, a kink: there ``value``, PyTorch's
        convention, or ``jax`` under JAX's (``SAME``: as PyTorch; ``FORMULA``: the formula
        itself). ``at`` names the kink for a note (``"abs at 0"``)."""
        if self.convention == "jax" and jax is not SAME:
            value = jax
        return formula if value is FORMULA else self.where(c, value, formula)


class FloatNamespace(Namespace):
    """Python floats with NumPy's IEEE semantics (no NumPy import)."""

    name = "float"
    arrays = False
    inf = inf
    nan = nan

    def __init__(self, convention: str = "torch") -> None:
        self.convention = convention
        if convention != "torch":
            self.name = f"float:{convention}"

    # --- arithmetic (+ - * never raise on floats: C functions, the fastest calls) -------
    add = operator.add
    sub = operator.sub
    mul = operator.mul
    neg = operator.neg
    pos = operator.pos

    @staticmethod
    def div(a: float, b: float) -> float:
        try:
            return a / b
        except ZeroDivisionError:
            if a == 0.0 or a != a:
                return nan
            return math.copysign(inf, a) * math.copysign(1.0, b)

    @staticmethod
    def pow(a: float, b: float) -> float:
        """C99 pow, as NumPy computes it: (-8)^(1/3) is nan, 0^-1 is inf, overflow ±inf, and
        (-inf)^0.5 is nan (C99 says inf; NumPy's pow takes a negative base to a fraction as
        nan even there)."""
        try:
            if a == -inf and 0.0 < b < inf and b != math.floor(b):
                return nan
            return math.pow(a, b)
        except ValueError:  # 0 to a negative power, or a negative base to a fraction
            if a == 0.0:
                return math.copysign(inf, a) if _odd_integer(b) else inf
            return nan
        except OverflowError:
            return -inf if a < 0.0 and _odd_integer(b) else inf

    # --- elementary functions -----------------------------------------------------------
    @staticmethod
    def exp(x: float) -> float:
        try:
            return math.exp(x)
        except OverflowError:
            return inf

    @staticmethod
    def expm1(x: float) -> float:
        try:
            return math.expm1(x)
        except OverflowError:
            return inf

    @staticmethod
    def log(x: float) -> float:
        if x > 0.0:
            return math.log(x)
        return -inf if x == 0.0 else nan

    @staticmethod
    def log2(x: float) -> float:
        if x > 0.0:
            return math.log2(x)
        return -inf if x == 0.0 else nan

    @staticmethod
    def log10(x: float) -> float:
        if x > 0.0:
            return math.log10(x)
        return -inf if x == 0.0 else nan

    @staticmethod
    def log1p(x: float) -> float:
        if x > -1.0:
            return math.log1p(x)
        return -inf if x == -1.0 else nan

    @staticmethod
    def sqrt(x: float) -> float:
        return math.sqrt(x) if x >= 0.0 else nan

    @staticmethod
    def sin(x: float) -> float:
        try:
            return math.sin(x)
        except ValueError:  # ±inf
            return nan

    @staticmethod
    def cos(x: float) -> float:
        try:
            return math.cos(x)
        except ValueError:
            return nan

    @staticmethod
    def tan(x: float) -> float:
        try:
            return math.tan(x)
        except ValueError:
            return nan

    @staticmethod
    def asin(x: float) -> float:
        return math.asin(x) if -1.0 <= x <= 1.0 else nan

    @staticmethod
    def acos(x: float) -> float:
        return math.acos(x) if -1.0 <= x <= 1.0 else nan

    @staticmethod
    def atan(x: float) -> float:
        return math.atan(x)

    @staticmethod
    def atan2(y: float, x: float) -> float:
        return math.atan2(y, x)

    @staticmethod
    def hypot(x: float, y: float) -> float:
        return math.hypot(x, y)

    @staticmethod
    def sinh(x: float) -> float:
        try:
            return math.sinh(x)
        except OverflowError:
            return math.copysign(inf, x)

    @staticmethod
    def cosh(x: float) -> float:
        try:
            return math.cosh(x)
        except OverflowError:
            return inf

    @staticmethod
    def tanh(x: float) -> float:
        return math.tanh(x)

    @staticmethod
    def abs(x: float) -> float:
        return abs(x)

    @staticmethod
    def sign(x: float) -> float:
        if x > 0.0:
            return 1.0
        if x < 0.0:
            return -1.0
        return 0.0 if x == 0.0 else nan

    # --- comparisons and selection ------------------------------------------------------
    @staticmethod
    def eq(a: float, b: float) -> float:
        return 1.0 if a == b else 0.0

    @staticmethod
    def step(x: float) -> float:
        return 1.0 if x > 0.0 else 0.0

    @staticmethod
    def where(c: float, a: float, b: float) -> float:
        return a if c else b

    @staticmethod
    def isfinite(x: float) -> float:
        return 1.0 if math.isfinite(x) else 0.0

    @staticmethod
    def maximum(a: float, b: float) -> float:
        if a != a or b != b:
            return nan
        return a if a > b else b

    @staticmethod
    def minimum(a: float, b: float) -> float:
        if a != a or b != b:
            return nan
        return a if a < b else b

    # --- shapes: a float is a 0-d array -------------------------------------------------
    @staticmethod
    def shape(x: float) -> tuple[int, ...]:
        return ()

    @staticmethod
    def ndim(x: float) -> int:
        return 0

    @staticmethod
    def size(x: float) -> int:
        return 1

    @staticmethod
    def ones_like(x: float) -> float:
        return 1.0

    @staticmethod
    def zeros_like(x: float) -> float:
        return 0.0

    @staticmethod
    def total(x: float) -> float:
        """Sum of all elements."""
        return x

    @staticmethod
    def largest(x: float) -> float:
        """The largest element."""
        return x

    @staticmethod
    def smallest(x: float) -> float:
        """The smallest element."""
        return x

    @staticmethod
    def last_axis_sum(x: float) -> float:
        raise ShapeError("rowsum needs a vector or matrix")

    @staticmethod
    def take(x: float, i: float) -> float:
        raise ShapeError("take needs a vector or matrix to take an element of")

    @staticmethod
    def outer(a: float, b: float) -> float:
        raise ShapeError("outer needs two vectors")

    @staticmethod
    def unbroadcast(a: float, like: float) -> float:
        return a

    @staticmethod
    def transpose(x: float) -> float:
        return x

    @staticmethod
    def matmul(a: float, b: float) -> float:
        raise ShapeError("@ needs vectors or matrices on both sides; use * to scale by a scalar")

    @staticmethod
    def asarray(x: Any) -> Any:
        return x


FLOAT = FloatNamespace()
_FLOATS = {"torch": FLOAT, "jax": FloatNamespace("jax")}


def float_namespace() -> FloatNamespace:
    """The float namespace of the current convention."""
    return _FLOATS[CONVENTION.get()]


class NumpyNamespace(Namespace):
    """NumPy float64 arrays (0-d results as NumPy scalars)."""

    name = "numpy"
    arrays = True

    def __init__(self, convention: str = "torch") -> None:
        import numpy as np

        self.convention = convention
        if convention != "torch":
            self.name = f"numpy:{convention}"
        self.np = np
        self.inf, self.nan = np.inf, np.nan
        for name, func in (
                ("add", np.add), ("sub", np.subtract), ("mul", np.multiply),
                ("neg", np.negative), ("pos", np.positive), ("div", np.divide),
                ("pow", np.power), ("exp", np.exp), ("expm1", np.expm1), ("log", np.log),
                ("log2", np.log2), ("log10", np.log10), ("log1p", np.log1p),
                ("sqrt", np.sqrt), ("sin", np.sin), ("cos", np.cos), ("tan", np.tan),
                ("asin", np.arcsin), ("acos", np.arccos), ("atan", np.arctan),
                ("atan2", np.arctan2), ("hypot", np.hypot),
                ("sinh", np.sinh), ("cosh", np.cosh), ("tanh", np.tanh), ("abs", np.abs),
                ("sign", np.sign), ("maximum", np.maximum), ("minimum", np.minimum),
                ("shape", np.shape), ("ndim", np.ndim), ("size", np.size),
                ("total", np.sum), ("largest", np.max), ("smallest", np.min)):
            setattr(self, name, func)

    def eq(self, a: Any, b: Any) -> Any:
        return self.np.equal(a, b).astype(self.np.float64)[()]

    def step(self, x: Any) -> Any:
        return self.np.greater(x, 0.0).astype(self.np.float64)[()]

    def where(self, c: Any, a: Any, b: Any) -> Any:
        return self.np.where(c, a, b)[()]

    def isfinite(self, x: Any) -> Any:
        return self.np.isfinite(x).astype(self.np.float64)[()]

    def column(self, x: Any) -> Any:
        return self.np.asarray(x)[..., None]

    def last_axis_max(self, x: Any) -> Any:
        return self.np.max(x, axis=-1)

    def array(self, *xs: Any) -> Any:
        """The array literal ``[a, b, ...]``: its entries stacked along a new first axis."""
        np = self.np
        shapes = {np.shape(x) for x in xs}
        if any(len(shape) >= 64 for shape in shapes):
            raise ShapeError("arrays have at most 64 dimensions")
        if len(shapes) > 1:
            raise ShapeError("the entries of an array literal must all have the same shape, "
                             "got " + ", ".join(str(s) for s in sorted(shapes, key=len)))
        return np.stack([np.asarray(x, dtype=np.float64) for x in xs])

    def _index(self, x: Any, i: Any) -> int:
        """An index along x's first axis: i rounded to a whole number, from 0 to n - 1."""
        if not self.np.ndim(x):
            raise ShapeError("take needs a vector or matrix to take an element of")
        n = self.np.shape(x)[0]
        k = float(i)
        if not -0.5 < k < n - 0.5:
            raise ShapeError(f"take(x, i): i must be from 0 to {n - 1}, got {k:g}")
        return round(k)

    def take(self, x: Any, i: Any) -> Any:
        return self.np.asarray(x)[self._index(x, i)][()]

    def put(self, v: Any, i: Any, like: Any) -> Any:
        np = self.np
        out = np.zeros(np.shape(like))
        k = self._index(like, i)
        if np.shape(v) != out.shape[1:]:
            raise ShapeError(f"put(v, i, like): v's shape {np.shape(v)} is not the shape of "
                             f"an element of like, {out.shape[1:]}")
        out[k] = v
        return out

    def outer(self, a: Any, b: Any) -> Any:
        np = self.np
        if np.ndim(a) != 1 or np.ndim(b) != 1:
            raise ShapeError(f"outer needs two vectors, got shapes {np.shape(a)} and "
                             f"{np.shape(b)}")
        return np.outer(a, b)

    def unbroadcast(self, a: Any, like: Any) -> Any:
        shape = self.np.shape(like)
        try:
            self.np.broadcast_shapes(shape, self.np.shape(a))
        except ValueError:
            raise ShapeError(f"unbroadcast: shape {self.np.shape(a)} does not broadcast from "
                             f"{shape}") from None
        if len(shape) > self.np.ndim(a):
            raise ShapeError(f"unbroadcast: shape {shape} has more axes than "
                             f"{self.np.shape(a)}")
        return unbroadcast(a, shape)[()]

    def ones_like(self, x: Any) -> Any:
        return self.np.ones(self.np.shape(x))[()]

    def zeros_like(self, x: Any) -> Any:
        return self.np.zeros(self.np.shape(x))[()]

    def last_axis_sum(self, x: Any) -> Any:
        if self.np.ndim(x) == 0:
            raise ShapeError("a sum along the last axis needs a vector or matrix")
        return self.np.sum(x, axis=-1)

    def transpose(self, x: Any) -> Any:
        return self.np.swapaxes(x, -1, -2) if self.np.ndim(x) >= 2 else x

    def matmul(self, a: Any, b: Any) -> Any:
        np = self.np
        if np.ndim(a) == 0 or np.ndim(b) == 0:
            raise ShapeError("@ needs vectors or matrices on both sides; use * to scale by a "
                             "scalar")
        return np.matmul(a, b)

    def asarray(self, x: Any) -> Any:
        return self.np.asarray(x, dtype=self.np.float64)


def unbroadcast(g: Any, shape: tuple[int, ...]) -> Any:
    """Sum ``g`` over the axes that broadcasting added to an input of ``shape``."""
    import numpy as np

    g = np.asarray(g)
    if g.shape == shape:
        return g
    extra = g.ndim - len(shape)
    if extra > 0:
        g = g.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return np.broadcast_to(g, shape) if g.shape != shape else g


_NUMPY: dict[str, NumpyNamespace] = {}


def numpy_namespace() -> NumpyNamespace:
    """The NumPy namespace of the current convention (NumPy is imported the first time one
    is asked for)."""
    convention = CONVENTION.get()
    xp = _NUMPY.get(convention)
    if xp is None:
        xp = _NUMPY[convention] = NumpyNamespace(convention)
    return xp


def namespace_of(values: Any) -> Namespace:
    """The namespace, of the current convention, for a pass over ``values``: every node's
    value as :func:`cgcli.engine.forward` gives them (which says which namespace made them),
    or any list of them (floats alone: the float namespace)."""
    made = getattr(values, "xp", None)
    arrays = made.arrays if made is not None else any(
        type(v) is not float for v in values if v is not None)
    return numpy_namespace() if arrays else float_namespace()
