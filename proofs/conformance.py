"""Conformance of the encoding with the model, one step at a time (spec/proofs.md §4).

For a concrete state ``s`` and action ``a``, :func:`check_step` encodes ``alpha(s)`` and ``a``
and asks Z3 two questions:

1. is the encoded guard satisfiable? It must be exactly when ``Model.step`` accepts ``a``;
2. if so, is there any solution whose post-state differs from ``alpha(Model.step(s, a))`` on an
   encoded field? The answer must be ``unsat`` (so the post-state is determined and equal).

Pairs and routes the model retired in that step must be *retirable* in the encoding (no live or
incoming end, no message naming them; a dropped route), which is the simulation the encoding's
no-retire simplification relies on. The result is ``None`` (agree) or a one-line mismatch.
"""

from __future__ import annotations

from typing import Any

import z3

from pqms_model.errors import NotEnabled
from pqms_model.model.transition import Model
from pqms_model.proofs.encoding.abstraction import Abstract, alpha, concrete
from pqms_model.proofs.encoding.codes import STATUS
from pqms_model.proofs.encoding.consts import Consts
from pqms_model.proofs.encoding.core import Ctx, Params, is_live
from pqms_model.proofs.encoding.state import SymState
from pqms_model.proofs.encoding.transition import encode
from pqms_model.protocol.actions import Action, Purify
from pqms_model.protocol.mutants import Mutant
from pqms_model.protocol.state import EndStatus, State

__all__ = ["check_step", "claims", "run_and_check"]

_INCOMING = STATUS[EndStatus.INCOMING]


def _lit(v: Any) -> Any:
    return z3.BoolVal(v) if isinstance(v, bool) else z3.IntVal(v)


def _eq(term: Any, v: Any, label: str) -> list[tuple[str, Any]]:
    """Claims that array/scalar ``term`` holds the (possibly nested) value ``v``."""
    if isinstance(v, dict):
        out = []
        for k, x in sorted(v.items()):
            out += _eq(z3.Select(term, k), x, f"{label}[{k}]")
        return out
    return [(label, term == _lit(v))]


def claims(post: SymState, before: Abstract, after: Abstract) -> list[tuple[str, Any]]:
    """(label, Z3 claim) pairs: ``post`` encodes ``after`` (``before`` is the pre-state)."""
    out: list[tuple[str, Any]] = []
    for f, v in after.items():
        if f[:2] in ("p_", "m_", "r_"):
            continue
        if f.startswith("ld_") and f != "ld_some" and not after["ld_some"]:
            continue
        out += _eq(post[f], v, f)
    top = max(after["next_id"], before["next_id"]) + 2
    ids = {k: set(after[f"{k}_ex"]) for k in "pmr"}
    old_pairs, old_routes = set(before["p_ex"]), set(before["r_ex"])
    new_ids = range(before["next_id"], top)
    for x in range(top):
        if x in ids["p"]:
            for f in (f for f in after if f.startswith("p_")):
                out += _eq(z3.Select(post[f], x), after[f][x], f"{f}[{x}]")
        elif x in old_pairs or x in new_ids:  # retired now, or never a pair
            sts = [post.p(f"s{i}", x) for i in (0, 1)]
            held = z3.Or([z3.Or(is_live(st), st == _INCOMING) for st in sts])
            named = z3.Or([z3.Or(post.m("pair", m) == x, post.m("new", m) == x)
                           for m in ids["m"]] or [z3.BoolVal(False)])  # fmt: skip
            out.append((f"retired p[{x}]", z3.Implies(post.p("ex", x), z3.Not(z3.Or(held, named)))))
        else:
            out.append((f"p_ex[{x}]", z3.Not(post.p("ex", x))))
        if x in ids["m"]:
            for f in (f for f in after if f.startswith("m_")):
                out += _eq(z3.Select(post[f], x), after[f][x], f"{f}[{x}]")
        else:
            out.append((f"m_ex[{x}]", z3.Not(post.m("ex", x))))
        if x in ids["r"]:
            for f in (f for f in after if f.startswith("r_")):
                out += _eq(z3.Select(post[f], x), after[f][x], f"{f}[{x}]")
        elif x in old_routes or x in new_ids:
            gone = z3.Implies(post.r("ex", x), z3.Not(post.r("active", x)))
            out.append((f"retired r[{x}]", gone))
        else:
            out.append((f"r_ex[{x}]", z3.Not(post.r("ex", x))))
    return out


_SAME: Any = object()
_LAST: list[Any] = []  # (state, alpha, encoded): several actions are checked per state


def _encoded(c: Consts, s: State) -> tuple[Abstract, SymState]:
    if _LAST and _LAST[0] is s and _LAST[1] is c:
        return _LAST[2], _LAST[3]
    before = alpha(c, s)
    pre = concrete(c, before)
    _LAST[:] = [s, c, before, pre]
    return before, pre


def check_step(
    model: Model,
    c: Consts,
    s: State,
    a: Action,
    *,
    mutant: Mutant | None = _SAME,
    timeout_ms: int = 20_000,
) -> str | None:
    """Does the encoding (of ``mutant``, by default the model's) agree with
    ``model.step(s, a)``, on enabledness and on the post-state?"""
    mutant = model.mutant if mutant is _SAME else mutant
    try:
        s2: State | None = model.step(s, a)
    except NotEnabled:
        s2 = None
    before, pre = _encoded(c, s)
    pcost = 0
    if isinstance(a, Purify) and a.success and s2 is not None and a.keep in s2.pairs:
        pcost = s2.pairs[a.keep].cost_nnp  # BBPSSW's output: the encoding's oracle value
    ctx = Ctx(c, "conf", mutant, exact_ids=sorted(before["p_ex"]))
    eff = encode(a.name, pre, Params.of_action(c, a, pcost), ctx)
    solver = z3.Solver()
    solver.set("timeout", timeout_ms)
    solver.add(*c.axioms, *eff.guard, *ctx.side, *c.new_facts(set(), mark=False))
    enabled = solver.check()
    if enabled == z3.unknown:
        return f"{a!r}: guard unknown ({solver.reason_unknown()})"
    if s2 is None:
        return f"{a!r}: the encoding enables it, the model does not" if enabled == z3.sat else None
    if enabled == z3.unsat:
        return f"{a!r}: the model enables it, the encoding's guard is unsatisfiable"
    after = alpha(c, s2)
    cl = [(label, z3.simplify(t)) for label, t in claims(eff.post, before, after)]
    cl = [(label, t) for label, t in cl if not z3.is_true(t)]
    if not cl:
        return None
    solver.add(z3.Not(z3.And([t for _, t in cl])))
    res = solver.check()
    if res == z3.unsat:
        return None
    if res == z3.unknown:
        return f"{a!r}: post-state check unknown ({solver.reason_unknown()})"
    m = solver.model()
    bad = [label for label, t in cl if z3.is_false(m.eval(t, model_completion=True))]
    return f"{a!r}: post-state differs from the model on {', '.join(bad[:6])}"


def run_and_check(model: Model, c: Consts, s: State, actions: list[Action]) -> list[str]:
    """Check every action from ``s`` (the enabled ones advance nothing); mismatches found."""
    return [r for a in actions if (r := check_step(model, c, s, a)) is not None]
