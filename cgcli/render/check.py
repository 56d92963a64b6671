"""``check`` output: a table per variable (Rich) or JSON, then the verdict."""

from __future__ import annotations

import json
from typing import Any

from ..check import CheckResult, Element
from ..numbers import abbreviate, fmt_scalar, json_value

#: At most this many failing (or not judged) elements of each kind are listed one by one.
LISTED = 10


def _err(x: float) -> str:
    return fmt_scalar(x, 2)


def verdict(result: CheckResult) -> str:
    """One line: passed or failed, how many derivatives were compared and how many not."""
    elements = result.elements
    failures = sum(e.status == "fail" for e in elements)
    ok = sum(e.status == "ok" for e in elements)
    tol = f"{result.tolerance:g}"
    # A Hessian column is compared as a whole: each element checks a row of second
    # derivatives against differences of the gradient.
    what = "derivative" if result.order == 1 else "Hessian column"
    of = "" if result.order == 1 else " of the gradient"
    if failures:
        n = failures + ok
        line = (f"FAILED: {failures} of {n} {what}{'s' * (n != 1)} differ"
                f"{'s' * (n == 1)} from central differences{of} by more than {tol}")
    else:
        worst = max((v.max_rel_error for v in result.variables), default=0.0)
        line = (f"passed: {ok} {what}{'s' * (ok != 1)} match{'es' * (ok == 1)} central "
                f"differences{of} within {tol} (largest relative error {_err(worst)})")
    kinks = sum(e.status == "kink" for e in elements)
    undefined = sum(e.status == "undefined" for e in elements)
    rounding = sum(e.status == "rounding" for e in elements)
    skipped = ([f"{kinks} at a kink"] * bool(kinks) +
               [f"{undefined} not finite nearby"] * bool(undefined) +
               [f"{rounding} hidden by rounding"] * bool(rounding))
    return line + (f"; not judged: {', '.join(skipped)}" if skipped else "")


def _element_line(e: Element, precision: int) -> str:
    def fmt(v: Any) -> str:
        return abbreviate(v, lambda x: fmt_scalar(x, precision))

    if e.status == "fail":
        return (f"{e.name}: reverse mode {fmt(e.analytic)}, central differences "
                f"{fmt(e.numeric)} (error {_err(e.abs_error)})")
    return f"{e.name}: {e.note}"


def table(result: CheckResult, console: Any, precision: int = 4) -> None:
    """Print the per-variable table, the elements worth a look, and the verdict."""
    from rich.table import Table
    from rich.text import Text

    from .table import GRAD_STYLE

    title = "gradient check" if result.order == 1 else "Hessian check (second derivatives)"
    console.print(Text(f"{title} of {result.expression}", style="bold"), soft_wrap=True)
    t = Table(header_style="bold")
    for name, justify in (("variable", "left"), ("shape", "left"), ("size", "right"),
                          ("max abs err", "right"), ("max rel err", "right"),
                          ("result", "left")):
        t.add_column(name, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for v in result.variables:
        notes = [f"{v.kinks} kink{'s' * (v.kinks != 1)}"] * bool(v.kinks)
        notes += [f"{v.undefined} undefined"] * bool(v.undefined)
        notes += [f"{v.rounding} rounding"] * bool(v.rounding)
        status = Text("FAIL" if v.failures else "ok",
                      style=GRAD_STYLE if v.failures else "green")
        if notes:
            status.append(f" ({', '.join(notes)})", style="dim")
        t.add_row(v.name, "×".join(map(str, v.shape)) or "scalar", str(v.elements),
                  _err(v.max_abs_error),
                  _err(v.max_rel_error), status)
    console.print(t)
    for status, title in (("fail", "differ"), ("kink", "at a kink (not judged)"),
                          ("undefined", "not judged: the function is not finite nearby"),
                          ("rounding", "not judged: hidden by the rounding of f")):
        shown = [e for e in result.elements if e.status == status]
        if not shown:
            continue
        console.print(Text(f"{len(shown)} {title}:", style="bold"), soft_wrap=True)
        for e in shown[:LISTED]:
            console.print(Text("  " + _element_line(e, precision)), soft_wrap=True)
        if len(shown) > LISTED:
            console.print(Text(f"  … and {len(shown) - LISTED} more (--json lists them all)",
                               style="dim"), soft_wrap=True)
    console.print(Text(verdict(result), style="bold " + ("green" if result.passed
                                                          else GRAD_STYLE)), soft_wrap=True)


def document(result: CheckResult) -> dict:
    """``{"expression", "inputs", "value", "tolerance", "passed", "variables", "elements"}``."""
    return {
        "expression": result.expression,
        "inputs": {k: json_value(v) for k, v in result.inputs.items()},
        "value": json_value(result.value),
        "tolerance": result.tolerance,
        "order": result.order,
        "passed": result.passed,
        "variables": {v.name: {
            "shape": list(v.shape), "elements": v.elements,
            "max_abs_error": json_value(v.max_abs_error),
            "max_rel_error": json_value(v.max_rel_error),
            "failures": v.failures, "kinks": v.kinks, "undefined": v.undefined,
            "rounding": v.rounding,
            "status": v.status,
        } for v in result.variables},
        "elements": [{
            "variable": e.variable, "index": list(e.index), "analytic": json_value(e.analytic),
            "numeric": json_value(e.numeric), "step": e.step,
            "abs_error": json_value(e.abs_error), "rel_error": json_value(e.rel_error),
            "status": e.status, "note": e.note,
        } for e in result.elements],
    }


def render_json(result: CheckResult) -> str:
    return json.dumps(document(result), indent=2, ensure_ascii=False, allow_nan=False)
