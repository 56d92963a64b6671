"""Results that show themselves: ``cgcli.grad``, ``cgcli.explain`` and ``cgcli.graph``.

Each function computes with the library and returns an object holding the result as data
(``.value``, ``.gradients``, ``.to_dict()``, ...) that Jupyter displays through IPython's
``_repr_*_`` protocol, with the command line's renderers:

=====================  ===================================  ==============================
function               shows                                data
=====================  ===================================  ==============================
``grad``               the node table, values green and     ``.value``, ``.gradients``,
                       gradients red (HTML; plain text)      ``.nodes``, ``.to_dict()``
``explain``            the chain-rule steps as the notes'    ``.steps``, ``.to_latex()``,
                       ``aligned`` block (LaTeX, Markdown)   ``.to_markdown()``, ``.to_dict()``
``graph``              the annotated graph (SVG, Graphviz)   ``.to_dot()``, ``.to_svg()``, ...
=====================  ===================================  ==============================

Nothing here imports IPython: the objects are plain Python, and show themselves as text in
a terminal or a script (``print(cgcli.grad(...))``).

A new result (``cgcli.diff``, ``cgcli.plot``) is one more subclass of :class:`Display` here
with its function below, and one line in ``_EXPORTS`` of ``cgcli/__init__.py``; the IPython
magic (:mod:`cgcli.notebook.magic`) maps its command to it in ``RESULTS``.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from ..api import _prepare
from ..engine import Evaluation, backward, check_wrt, forward, wrt_ids
from ..errors import ValueInputError
from ..graphs import Graph
from ..parser import parse
from ..render.html import MAX_ROWS


def _number(v: Any) -> Any:
    """A scalar as a Python float, an array as a float64 NumPy array."""
    a = np.asarray(v, dtype=np.float64)
    return float(a) if a.ndim == 0 else a


def _plain(draw: Any) -> str:
    """What a line renderer prints to a pipe (no colour), as a string."""
    from ..render.text import PlainConsole

    out = io.StringIO()
    draw(PlainConsole(out))
    return out.getvalue()


class Display:
    """A result that shows itself: plain text everywhere, richer formats in Jupyter."""

    def _text(self) -> str:
        raise NotImplementedError

    def __repr__(self) -> str:
        return self._text().rstrip("\n")

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(f"{type(self).__name__}(...)" if cycle else repr(self))


class Node(NamedTuple):
    """One row of the table: a node's value and d(output)/d(node) (None for a constant)."""

    id: int
    op: str
    label: str
    inputs: tuple[int, ...]
    value: Any
    grad: Any


class GradResult(Display):
    """Every node's value and gradient: :func:`grad` (``eval`` in the magic: values only)."""

    def __init__(self, evaluation: Evaluation, *, wrt: Sequence[str] | None = None,
                 precision: int = 4, max_rows: int | None = MAX_ROWS) -> None:
        self.evaluation = evaluation
        self.wrt = list(wrt) if wrt else None
        self.precision = precision
        self.max_rows = max_rows

    @property
    def graph(self) -> Graph:
        return self.evaluation.graph

    @property
    def value(self) -> Any:
        """The output: a float, or a NumPy array."""
        return _number(self.evaluation.value)

    @property
    def gradients(self) -> dict[str, Any]:
        """d(output)/d(name) for each variable (or each ``wrt`` name): floats or arrays."""
        grads = self.evaluation.grads
        if grads is None:
            raise ValueError("values only: no backward pass was run (use cgcli.grad)")
        return {name: _number(grads[i]) for name, i in wrt_ids(self.graph, self.wrt)}

    @property
    def nodes(self) -> list[Node]:
        """Every node in evaluation order, as the table shows it."""
        ev, graph = self.evaluation, self.graph
        grads = ev.grads
        return [Node(n.id, n.op.name, graph.label(n.id), tuple(n.inputs),
                     _number(ev.values[n.id]),
                     None if grads is None or grads[n.id] is None else _number(grads[n.id]))
                for n in graph.nodes]

    def to_dict(self) -> dict:
        """The document ``cgcli grad --json`` prints (nan and inf as strings)."""
        from ..render.json import document

        return document(self.evaluation, self.wrt, gradients=self.evaluation.grads is not None)

    def to_json(self) -> str:
        """The text ``cgcli grad --json`` prints."""
        from ..render.json import render

        return render(self.evaluation, self.wrt, gradients=self.evaluation.grads is not None)

    def _repr_html_(self) -> str:
        from ..render.html import table

        return table(self.evaluation, precision=self.precision, wrt=self.wrt,
                     max_rows=self.max_rows)

    def _text(self) -> str:
        from ..render.table import render

        return _plain(lambda c: render(self.evaluation, c, precision=self.precision,
                                       wrt=self.wrt, max_rows=self.max_rows))


class ExplainResult(Display):
    """The backward pass as chain-rule steps, one per node: :func:`explain`.

    Jupyter shows the steps typeset (LaTeX, and Markdown with the same math); ``show``
    ("text", "markdown" or "latex") shows that form alone, as ``cgcli explain --format``
    prints it. ``ascii`` writes the text, Markdown and ``.steps`` in ASCII math
    (``--ascii``)."""

    SHOWS = ("text", "markdown", "latex")

    def __init__(self, evaluation: Evaluation, *, precision: int = 3, show: str | None = None,
                 ascii: bool = False) -> None:
        if show is not None and show not in self.SHOWS:
            raise ValueInputError(f"show={show!r}: one of {', '.join(self.SHOWS)} (or None)")
        self.evaluation = evaluation
        self.precision = precision
        self.show = show
        self.notation = "ascii" if ascii else "unicode"

    def explanation(self, notation: str | None = None) -> Any:
        """The library's :class:`~cgcli.explanation.Explanation` in ``unicode``, ``ascii``
        or ``latex`` notation (default: this result's)."""
        notation = notation or self.notation
        cache = self.__dict__.setdefault("_explanations", {})
        if notation not in cache:
            from ..explanation import explain as run

            cache[notation] = run(self.evaluation, notation, self.precision)
        return cache[notation]

    @property
    def steps(self) -> tuple:
        """One :class:`~cgcli.explanation.Step` per node, output first (``.text()``)."""
        return self.explanation().steps

    def to_text(self) -> str:
        """What ``cgcli explain`` prints."""
        from ..render.explain import text

        return _plain(lambda c: text(self.explanation(), c))

    def to_markdown(self) -> str:
        """What ``cgcli explain --format markdown`` prints: a numbered list of steps."""
        from ..render.explain import markdown

        return markdown(self.explanation())

    def to_latex(self) -> str:
        """What ``cgcli explain --format latex`` prints: an ``aligned`` block."""
        from ..render.explain import latex

        return latex(self.explanation("latex"))

    def to_dict(self) -> dict:
        """The document ``cgcli explain --json`` prints."""
        from ..render.explain import document

        return document(self.explanation())

    def _repr_latex_(self) -> str | None:
        if self.show not in (None, "latex"):
            return None
        from ..render.explain import display_math

        return display_math(self.explanation("latex"))

    def _repr_markdown_(self) -> str | None:
        """The header in words over the same typeset steps (Jupyter ranks Markdown above
        LaTeX, and typesets its math with the same MathJax)."""
        if self.show == "markdown":
            return self.to_markdown()
        if self.show is not None:
            return None
        from ..render.explain import markdown_math

        return markdown_math(self.explanation("latex"))

    def _text(self) -> str:
        if self.show == "latex":
            return self.to_latex()
        return self.to_markdown() if self.show == "markdown" else self.to_text()


#: Picture formats by file suffix, as ``cgcli graph -o FILE`` picks them.
SUFFIXES = {".dot": "dot", ".gv": "dot", ".mmd": "mermaid", ".mermaid": "mermaid",
            ".svg": "svg", ".png": "png"}


class GraphResult(Display):
    """The annotated graph: :func:`graph`. SVG through Graphviz's ``dot``; without it, a
    message saying how to install it (``to_dot()`` and ``to_mermaid()`` need nothing)."""

    def __init__(self, graph: Graph, values: list | None = None, grads: list | None = None,
                 *, precision: int = 3) -> None:
        self.graph, self.values, self.grads, self.precision = graph, values, grads, precision

    @cached_property
    def picture(self) -> Any:
        """The :class:`~cgcli.render.picture.Picture` that DOT and Mermaid are drawn from."""
        from ..render.picture import picture

        return picture(self.graph, self.values, self.grads, self.precision)

    def to_dot(self) -> str:
        """Graphviz DOT text, as ``cgcli graph`` prints it."""
        from ..render.dot import to_dot

        return to_dot(self.picture)

    def to_mermaid(self) -> str:
        """A Mermaid flowchart, as ``cgcli graph --format mermaid`` prints it."""
        from ..render.mermaid import to_mermaid

        return to_mermaid(self.picture)

    def to_svg(self) -> str:
        """SVG drawn by Graphviz's ``dot``; raises a CgcliError (exit code 4 on the command
        line) when ``dot`` is missing or fails."""
        return self._image("svg").decode("utf-8")

    def to_png(self) -> bytes:
        """PNG bytes drawn by Graphviz's ``dot`` (see :meth:`to_svg`)."""
        return self._image("png")

    def _image(self, fmt: str) -> bytes:
        cache = self.__dict__.setdefault("_images", {})
        if fmt not in cache:
            from ..render.dot import render_image

            cache[fmt] = render_image(self.to_dot(), fmt)
        return cache[fmt]

    def save(self, path: str | Path) -> Path:
        """Write the picture to ``path`` in the format of its suffix (.svg, .png, .dot, .gv,
        .mmd), as ``cgcli graph -o FILE`` does."""
        path = Path(path)
        fmt = SUFFIXES.get(path.suffix.lower())
        if fmt is None:
            raise ValueInputError(f"cannot tell the format of {path.name!r}: use a suffix of "
                                  f"{', '.join(SUFFIXES)}")
        data = {"dot": self.to_dot, "mermaid": self.to_mermaid, "svg": self.to_svg,
                "png": self.to_png}[fmt]()
        path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        return path

    def _svg_or_problem(self) -> tuple[str | None, str | None]:
        from ..errors import CgcliError

        try:
            return self.to_svg(), None
        except CgcliError as exc:
            return None, exc.message

    def _repr_svg_(self) -> str | None:
        return self._svg_or_problem()[0]

    def _repr_markdown_(self) -> str | None:
        """Only when there is no picture: why, and what to do."""
        problem = self._svg_or_problem()[1]
        if problem is None:
            return None
        return (f"**No picture**: {problem.replace('--format svg needs', 'SVG needs')}.\n\n"
                "`.to_dot()` and `.to_mermaid()` give the graph as text without Graphviz.")

    def _text(self) -> str:
        import shutil

        from ..render.dot import INSTALL_HINT

        what = ("structure only" if self.values is None else
                "values and gradients" if self.grads is not None else "values only")
        head = (f"<cgcli graph of {' '.join(self.graph.source.split())[:80]!r}: "
                f"{len(self.graph)} nodes, {what}; .to_svg(), .to_dot(), .to_mermaid(), "
                ".save(path)>")
        if shutil.which("dot") is None:
            head += f"\nno picture: Graphviz's dot is not on PATH: {INSTALL_HINT}"
        return head


class DiffResult(Display):
    """Derivatives as formulas: each ``∂f/∂x = ...`` typeset (SymPy's LaTeX where the formula
    is a scalar one), and the formulas as text in cgcli's language."""

    def __init__(self, result: Any, *, precision: int = 4) -> None:
        self.result = result
        self.precision = precision

    @property
    def formulas(self) -> dict[str, str]:
        """name -> the formula, in cgcli's language (it parses back)."""
        return {f.name: f.text for f in self.result.formulas}

    @property
    def values(self) -> dict[str, Any]:
        """name -> the formula's value at the given point (where every variable has one)."""
        return {f.name: _number(f.value) for f in self.result.formulas if f.value is not None}

    def to_dict(self) -> dict:
        """The document ``cgcli diff --json`` prints."""
        from ..render.calculus import document

        return document(self.result)

    def _latex_of(self, formula: Any) -> str:
        from ..symbolic import to_sympy

        try:
            import sympy as sp

            return sp.latex(to_sympy(parse(formula.text)))
        except (ValueError, RecursionError):  # an array formula: as cgcli writes it
            return r"\texttt{" + formula.text.replace("_", r"\_") + "}"

    def to_latex(self) -> str:
        """An ``aligned`` block, one derivative a line."""
        out = self.result.output
        lines = []
        for f in self.result.formulas:
            order = f"^{{{f.order}}}" if f.order > 1 else ""
            lines.append(rf"\frac{{\partial{order} {out}}}{{\partial {f.name}{order}}} &= "
                         + self._latex_of(f))
        return "\\begin{aligned}\n" + " \\\\\n".join(lines) + "\n\\end{aligned}"

    def _repr_latex_(self) -> str:
        return "$$" + self.to_latex() + "$$"

    def _text(self) -> str:
        from ..render.calculus import lines

        return "\n".join(lines(self.result, self.precision))


class PlotResult(Display):
    """f and its derivative over a range (or f of two variables with its gradient field):
    a Matplotlib figure as SVG in Jupyter, the terminal chart as text; the samples as data."""

    def __init__(self, sweep: Any, *, ylim: tuple[float, float] | None = None) -> None:
        self.sweep = sweep
        self.ylim = ylim

    @property
    def x(self) -> Any:
        """The samples of the first variable."""
        return self.sweep.axes[0]

    @property
    def value(self) -> Any:
        return self.sweep.value

    @property
    def gradient(self) -> dict[str, Any]:
        return self.sweep.gradient

    def to_dict(self) -> dict:
        """The document ``cgcli plot --json`` prints."""
        from ..render.chart import document

        return document(self.sweep)

    def figure(self) -> Any:
        """The Matplotlib figure (``cgcli[plot]``)."""
        from ..render.figure import curve_figure, field_figure

        if len(self.sweep.wrt) == 1:
            return curve_figure(self.sweep, self.ylim)
        return field_figure(self.sweep)

    def to_svg(self) -> str:
        out = io.StringIO()
        self.figure().savefig(out, format="svg", metadata={"Date": None})
        return out.getvalue()

    def _repr_svg_(self) -> str | None:
        from ..render.figure import PlotToolError

        try:
            return self.to_svg()
        except PlotToolError:  # no Matplotlib: the text chart shows instead
            return None

    def _text(self) -> str:
        from ..render.chart import heat_map, plot_1d

        draw = plot_1d if len(self.sweep.wrt) == 1 else heat_map
        kw = {"ylim": self.ylim} if len(self.sweep.wrt) == 1 else {}
        lines = draw(self.sweep, width=72, height=16, color=False, **kw)
        return "\n".join("".join(t for t, _ in line) for line in lines)


# --- the functions -------------------------------------------------------------------------

def grad(expr: str | Graph, at: Mapping[str, Any] | None = None, *,
         wrt: Sequence[str] | None = None, precision: int = 4,
         max_rows: int | None = MAX_ROWS, **values: Any) -> GradResult:
    """Forward and backward pass, shown as the table of ``cgcli grad``.

    ``cgcli.grad("(x+y)*z", x=-2, y=5, z=-4)``; ``at=`` takes a mapping (for names such as
    ``at``, ``wrt`` or ``precision``, which are options here). Values may be numbers, nested
    lists, NumPy arrays or constant expressions (``"pi/4"``). ``wrt`` limits the gradients
    reported; ``precision`` is the table's significant digits; ``max_rows`` the nodes shown
    (None: all). Input errors raise :class:`cgcli.CgcliError`.
    """
    graph, inputs = _prepare(expr, at, values)
    if wrt:
        check_wrt(graph, wrt)
    vals = forward(graph, inputs)
    return GradResult(Evaluation(graph, vals, backward(graph, vals)), wrt=wrt,
                      precision=precision, max_rows=max_rows)


def explain(expr: str | Graph, at: Mapping[str, Any] | None = None, *, precision: int = 3,
            show: str | None = None, ascii: bool = False, **values: Any) -> ExplainResult:
    """The backward pass as chain-rule steps, shown as the notes' ``aligned`` block.

    ``cgcli.explain("M = -x; Q = exp(M); P = Q + 1; L = 1/P", x=1, precision=2)``. The
    output must be a scalar. Numbers put into a formula carry one digit more than
    ``precision``. ``show="text"``, ``"markdown"`` or ``"latex"`` shows that form alone;
    ``ascii=True`` writes ASCII math (see :class:`ExplainResult`).
    """
    from ..explanation import require_scalar

    graph, inputs = _prepare(expr, at, values)
    vals = forward(graph, inputs)
    require_scalar(Evaluation(graph, vals))
    return ExplainResult(Evaluation(graph, vals, backward(graph, vals)), precision=precision,
                         show=show, ascii=ascii)


def graph(expr: str | Graph, at: Mapping[str, Any] | None = None, *, precision: int = 3,
          **values: Any) -> GraphResult:
    """The graph as the lecture draws it, shown as SVG: values (green) and gradients (red)
    on the edges. Without values (and with variables), the structure only; with a vector
    output, values only."""
    from ..render.picture import edge_numbers

    g, inputs = _prepare(expr, at, values)
    return GraphResult(g, *edge_numbers(g, inputs), precision=precision)


def diff(expr: str | Graph, at: Mapping[str, Any] | None = None, *,
         wrt: Sequence[str] | None = None, order: int = 1, precision: int = 4,
         shapes: Mapping[str, int | Sequence[int]] | None = None, simplify: bool = True,
         **values: Any) -> DiffResult:
    """The derivative as a formula, ``cgcli diff``: ``cgcli.diff("1/(1+exp(-x))")``. With
    values, each formula's value there too (and the shapes of vectors and matrices);
    ``shapes={"W": (2, 3), "x": 3}`` gives shapes without values (``--shape``);
    ``simplify=False`` keeps cgcli's own form (``--no-simplify``)."""
    from ..derivatives import diff as differentiate

    graph, inputs = _prepare(expr, at, values)
    dims = {k: (v,) if isinstance(v, int) else tuple(v) for k, v in (shapes or {}).items()}
    return DiffResult(differentiate(graph, wrt, order, inputs, use_sympy=simplify,
                                    shapes=dims or None), precision=precision)


def plot(expr: str | Graph, at: Mapping[str, Any] | None = None, *,
         wrt: Sequence[str] | None = None, start: float = -5.0, stop: float = 5.0,
         points: int | None = None, ylim: tuple[float, float] | None = None,
         **values: Any) -> PlotResult:
    """f and ∂f/∂x from ``start`` to ``stop``, ``cgcli plot``: ``cgcli.plot("sigmoid(x)")``;
    two ``wrt`` variables give f over a square with its gradient field. One batched pass."""
    from ..sweep import sample

    graph, inputs = _prepare(expr, at, values)
    names = list(wrt) if wrt else [n for n in graph.variables if n not in inputs]
    return PlotResult(sample(graph, names, [(start, stop)] * len(names), points, inputs),
                      ylim=ylim)
