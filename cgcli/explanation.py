"""``explain``: the backward pass as the lecture writes it, one chain-rule step per node.

For every node the output depends on, in backward order, a :class:`Step`::

    ∂L/∂P = ∂L/∂L · ∂L/∂P = 1 · (-1/P²) = 1 · (-1/1.37²) = -0.53

the upstream gradient times the local derivative, first as a formula of the gate's inputs
(the registry's ``Op.local``), then with the numbers put in, then the result. A node that
feeds several gates gets one :class:`Term` per branch and then their sum. The math is
written in one of three notations: ``unicode``, ``ascii`` or ``latex``.

Numbers put into a formula carry one digit more than the results (a guard digit, as in a
hand calculation), so the result can be checked from what is shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .chain import edges
from .engine import Evaluation
from .errors import ShapeError
from .graphs import Graph
from .notation import NAME, LatexNotation, Notation, Piece, notation, substitute
from .ops import CONST


@dataclass(frozen=True)
class Term:
    """One branch of a step: the gradient that comes back through one input of one gate."""

    gate: int  #: node id of the gate the gradient comes through
    gate_label: str  #: the gate's name or sub-expression
    slot: int  #: which input of the gate
    param: str  #: the gate's parameter name for that input
    formula: str  #: the local derivative, as in the registry (in the notation)
    role: str  #: the gate's role in the lecture's words, or ""
    upstream: Any  #: d(out)/d(gate)
    contribution: Any  #: this branch's share of d(out)/d(node)
    broadcast: bool  #: the input was broadcast: its share is summed over the copies
    #: The chain, the formula with the inputs' names, the formula with their numbers
    #: (repeats left out); the result follows them.
    stages: tuple[str, ...]
    result: str


@dataclass(frozen=True)
class Step:
    """d(out)/d(node) for one node: its branches and their sum."""

    node: int
    label: str  #: the node's name or sub-expression, as a reader calls it
    op: str
    shape: tuple[int, ...]
    value: Any
    gradient: Any
    lhs: str  #: ∂L/∂node, in the notation
    terms: tuple[Term, ...]
    #: With several branches: their results joined by +, then the sum follows.
    total: str
    result: str

    def text(self) -> str:
        """The step on one line (a step with several branches: just the sum line)."""
        if len(self.terms) == 1:
            return " = ".join((self.lhs, *self.terms[0].stages, self.result))
        if self.terms:
            return f"{self.lhs} = {self.total} = {self.result}"
        return f"{self.lhs} = {self.result}"


@dataclass(frozen=True)
class Explanation:
    """The whole backward pass, step by step, in one notation."""

    expression: str
    output: str  #: the output's name (or f)
    value: Any
    inputs: dict[str, Any]
    notation: str
    precision: int
    steps: tuple[Step, ...]
    #: Variables and names that the output does not depend on (their gradient is 0).
    unused: tuple[str, ...]


def explain(ev: Evaluation, notation_name: str = "unicode", precision: int = 3) -> Explanation:
    """The chain-rule steps of ``ev``'s backward pass (run by :func:`cgcli.gradients`)."""
    graph, values, grads = ev.graph, ev.values, ev.grads
    if grads is None:
        raise ValueError("explain needs a backward pass: use cgcli.gradients()")
    nota = notation(notation_name)
    root = graph.output
    out_name = ev.graph.output_name
    out_piece = ((LatexNotation.name_of(out_name), True) if nota.name == "latex"
                 else nota.piece(nota.plain(out_name)))
    labels: dict[int, Piece] = {root: out_piece}  # the output is called by its name, or f

    def label(i: int) -> Piece:
        if i not in labels:
            labels[i] = nota.label(graph, i)
        return labels[i]

    terms: dict[int, list[Term]] = {}
    for edge in edges(graph, values, grads, root):
        if edge.gradient is not None:
            terms.setdefault(edge.node, []).append(
                _term(graph, values, edge, nota, precision, out_piece, label))
    steps = [_step(graph, values, root, grads[root], [], nota, precision, out_piece, label)]
    for node in reversed(graph.nodes[:root]):
        if node.id in terms:
            steps.append(_step(graph, values, node.id, grads[node.id], terms[node.id][::-1],
                               nota, precision, out_piece, label))
    reaches = graph.ancestors(root)
    unused = tuple(graph.label(n.id) for n in graph.nodes
                   if not reaches[n.id] and n.op is not CONST and n.name is not None)
    expression = graph.source
    if nota.name == "ascii" and not expression.isascii():  # pasted notation: x² as x^2
        from .printer import to_text

        expression = to_text(graph)
    return Explanation(expression, out_name, values[root], ev.inputs,
                       nota.name, precision, tuple(steps), unused)


def _term(graph: Graph, values: list, edge: Any, nota: Notation, precision: int,
          out_piece: Piece, label: Any) -> Term:
    gate = graph.nodes[edge.gate]
    op = gate.op
    formulas = nota.formulas(op, len(gate.inputs))
    template = formulas[min(edge.slot, len(formulas) - 1)]
    param = op.params[0] if op.variadic else op.params[edge.slot]
    upstream = nota.value(edge.upstream, precision)
    used = {m.group() for m in NAME.finditer(template)}
    by_name: dict[str, Piece] = {}
    by_number: dict[str, Piece] = {}
    params = (param,) if op.variadic else op.params
    ids = (gate.inputs[edge.slot],) if op.variadic else gate.inputs
    for k, name in enumerate(params):
        if name not in used:
            continue
        if k < len(ids):
            by_name[name] = label(ids[k])
            by_number[name] = nota.value(values[ids[k]], precision + 1, trim=True)
        else:  # an optional parameter left out: its default
            by_name[name] = by_number[name] = nota.value(op.defaults[name], precision + 1, True)
    if "out" in used:
        by_name["out"] = label(gate.id)
        by_number["out"] = nota.value(values[gate.id], precision + 1, trim=True)
    extra = {"g": upstream}
    if "n" in used:
        extra["n"] = nota.value(np.size(values[edge.node]), precision)
    if "i" in used:
        extra["i"] = nota.value(edge.slot, precision)
    by_name.update(extra)
    by_number.update(extra)
    with_names = substitute(template, by_name, nota)
    with_numbers = substitute(template, by_number, nota)
    if "g" not in used:  # a factor that multiplies g
        times = nota.hadamard if np.ndim(edge.upstream) else nota.times
        up = nota.operand(upstream)
        with_names = up + times + nota.operand(nota.piece(with_names))
        with_numbers = up + times + nota.operand(nota.piece(with_numbers))
    if edge.broadcast:
        with_names, with_numbers = nota.total(with_names), nota.total(with_numbers)
    stages = [nota.chain(out_piece, label(gate.id), label(edge.node))]
    for s in (with_names, with_numbers):
        if s != stages[-1]:
            stages.append(s)
    role = nota.plain(op.role) if op.role else ""
    if op.name in ("max", "min") and _tied(values, gate):
        role = nota.plain(f"{op.name} gate with a tie: the tied inputs share the gradient "
                          "equally")
    return Term(edge.gate, graph.label(edge.gate), edge.slot, param, template, role,
                edge.upstream, edge.gradient,
                edge.broadcast, tuple(stages), nota.value(edge.gradient, precision)[0])


def _tied(values: list, gate: Any) -> bool:
    """Does more than one input (or element, for a reduction) attain the max/min?"""
    out = values[gate.id]
    hits = sum(np.asarray(np.asarray(values[j]) == out, dtype=int) for j in gate.inputs)
    return bool(np.sum(hits) > 1) if len(gate.inputs) == 1 else bool(np.any(hits > 1))


def _step(graph: Graph, values: list, i: int, grad: Any, terms: list[Term], nota: Notation,
          precision: int, out_piece: Piece, label: Any) -> Step:
    node = graph.nodes[i]
    total = ""
    if len(terms) > 1:
        parts = [nota.value(t.contribution, precision) for t in terms]
        total = " + ".join([parts[0][0]] + [nota.operand(p) for p in parts[1:]])
    return Step(i, graph.label(i), node.op.name, np.shape(values[i]), values[i], grad,
                nota.partial(out_piece, label(i)), tuple(terms), total,
                nota.value(grad, precision)[0])


def require_scalar(ev: Evaluation) -> None:
    """Raise the input error of a non-scalar output: explain needs a scalar."""
    graph = ev.graph
    shape = np.shape(ev.values[graph.output])
    if shape:
        raise ShapeError(
            f"explain needs a scalar output, but the output has shape {shape}; reduce it "
            "first, e.g. sum(...), or see every output's gradient with cgcli jacobian",
            source=graph.source, pos=graph.nodes[graph.output].start)

