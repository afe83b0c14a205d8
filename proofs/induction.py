"""Inductive proofs, one solver frame per (action, invariant) (spec/proofs.md §3).

For every action ``a`` and every invariant or lemma ``I`` the obligation ``a/I`` is

    Inv(pre) ∧ Lemmas(pre) ∧ T_a(pre, post) ⇒ I(post)

and ``init/I`` is ``Init ⇒ I``. Each answers *proved* (unsat), *counterexample* (a CTI: a pre/
post pair, printed readably) or *unknown* (with Z3's reason). Proofs are parametric in the
number of pairs, messages and routes: the goal's universally quantified ids are fresh Skolem
constants, and the hypotheses are instantiated at those, at the ids the action touches and at
the records they name (the cut-off argument in the spec: an action reads at most 3 pairs, 2
messages and 1 route, so these instances plus arbitrary witnesses decide the query; using fewer
instances of an assumption is always sound). Unsat cores name the lemmas an obligation used.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import z3

from pqms_model.proofs.encoding.consts import Consts
from pqms_model.proofs.encoding.core import Ctx, Params
from pqms_model.proofs.encoding.state import SymState
from pqms_model.proofs.encoding.transition import encode, init_constraints
from pqms_model.proofs.lemmas import LEMMAS
from pqms_model.proofs.properties import SymInvariant
from pqms_model.proofs.render import render_cti
from pqms_model.proofs.safety import SAFETY
from pqms_model.proofs.witness import Candidates, Skolem
from pqms_model.protocol.mutants import Mutant

__all__ = ["ALL_PROPERTIES", "Result", "prove_action", "prove_init"]

ALL_PROPERTIES: dict[str, SymInvariant] = {**SAFETY, **LEMMAS}
"""Every property with obligations: the model's invariants first, then the lemmas."""

Status = str  # "proved" | "counterexample" | "unknown"


@dataclass
class Result:
    action: str
    invariant: str
    kind: str
    status: Status
    seconds: float
    reason: str = ""  # unknown: Z3's reason; counterexample: the CTI, readable
    core: list[str] = field(default_factory=list)  # properties the proof assumed (unsat core)

    @property
    def name(self) -> str:
        return f"{self.action}/{self.invariant}"


def _status(res: Any) -> Status:
    if res == z3.unsat:
        return "proved"
    return "counterexample" if res == z3.sat else "unknown"


def _dedup(terms: Iterable[Any]) -> list[Any]:
    seen: dict[str, Any] = {}
    for t in terms:
        seen.setdefault(t.sexpr(), t)
    return list(seen.values())


def _skolems() -> dict[str, list[Any]]:
    return {
        "pair": [z3.Int("kp"), z3.Int("kq")],
        "msg": [z3.Int("km"), z3.Int("kn")],
        "route": [z3.Int("kr")],
    }


def _goal(inv: SymInvariant, w: Any, s: SymState, sk: dict[str, list[Any]]) -> Any:
    negs = []
    for cl in inv.clauses:
        used = dict.fromkeys(cl.sorts, 0)
        args = []
        for srt in cl.sorts:
            args.append(sk[srt][used[srt]])
            used[srt] += 1
        negs.append(z3.Not(cl.body(w, s, *args)))
    return z3.Or(negs)


def _check(solver: z3.Solver, lits: dict[str, Any]) -> tuple[Any, list[str]]:
    res = solver.check(*lits.values())
    core: list[str] = []
    if res == z3.unsat:
        names = {str(v): k for k, v in lits.items()}
        core = sorted(names[str(x)] for x in solver.unsat_core() if str(x) in names)
    return res, core


def _sorts(prop: SymInvariant) -> frozenset[str]:
    """The sorts a property's goal quantifies over ("pair2"/"msg2": a second id)."""
    out: set[str] = set()
    for cl in prop.clauses:
        for srt in cl.sorts:
            out.add(srt if srt not in out else f"{srt}2")
        if cl.sorts.count("pair") == 2:
            out.add("pair2")
        if cl.sorts.count("msg") == 2:
            out.add("msg2")
    return frozenset(out)


def instance_terms(pre: SymState, eff: Any, sk: dict[str, list[Any]], sorts: frozenset[str]) -> Any:
    """The ids the hypotheses are instantiated at, for goals over ``sorts`` (the cut-off)."""
    kp = sk["pair"][: 2 if "pair2" in sorts else 1] if "pair" in sorts else []
    km = sk["msg"][: 2 if "msg2" in sorts else 1] if "msg" in sorts else []
    kr = sk["route"] if "route" in sorts else []
    pairs = _dedup([*eff.pairs, *kp, *[pre.m(f, m) for m in km for f in ("pair", "new")]])
    return {
        "pair": pairs,
        "msg": _dedup([*eff.msgs, *km]),
        "route": _dedup([*eff.routes, *kr, *[pre.p("route", p) for p in pairs],
                         *[pre.m("route", m) for m in km]]),
    }  # fmt: skip


def _msg_ids(hyp: Skolem, pre: SymState, ids: list[Any], lits: dict[str, Any]) -> list[Any]:
    """``msg-ids`` (a message in flight has an id below next_id) at the messages the action
    sends and at the pre-state's witnesses: so no witness is a message sent now, even one not
    listed in ``new_msgs``. Only this clause, not every message clause (fewer instances of an
    assumption: sound; more terms: sound too)."""
    lem = LEMMAS["ids-below-next"]
    cl = {c.name: c for c in lem.clauses}["msg-ids"]
    return [z3.Implies(lits[lem.id], cl.body(hyp, pre, m)) for m in _dedup(ids)]


def prove_action(
    c: Consts,
    name: str,
    mutant: Mutant | None = None,
    targets: Iterable[str] | None = None,
    timeout_ms: int = 30_000,
    progress: Callable[[Result], None] | None = None,
) -> list[Result]:
    """Every obligation ``name/I`` for ``I`` in ``targets`` (default: all properties), in the
    order of ``targets``; obligations whose goals quantify over the same sorts share the
    instantiated hypotheses (pushed once), each goal in its own push/pop frame."""
    pre = SymState.fresh(c, "pre")
    params = Params.fresh(c, "a")
    ctx = Ctx(c, name, mutant)
    eff = encode(name, pre, params, ctx)
    sk = _skolems()
    solver = z3.Solver()
    solver.set("timeout", timeout_ms)
    solver.set("smt.arith.solver", 2)  # the older simplex: swap 3x faster, none slower
    solver.add(*c.axioms, *eff.guard, *ctx.side)
    wanted = list(targets or ALL_PROPERTIES)
    groups: dict[frozenset[str], list[str]] = {}
    for pid in wanted:
        groups.setdefault(_sorts(ALL_PROPERTIES[pid]), []).append(pid)
    done: dict[str, Result] = {}
    hyp, memo, seen = Skolem("h"), dict[Any, Any](), set[int]()
    lits = {q: z3.Bool(f"assume[{q}]") for q in ALL_PROPERTIES}
    for sorts, pids in sorted(groups.items(), key=lambda g: sorted(g[0])):
        terms = instance_terms(pre, eff, sk, sorts)
        hyps = [z3.Implies(lits[q], z3.And(p.holds(hyp, pre, terms, memo)))
                for q, p in ALL_PROPERTIES.items()]  # fmt: skip
        hyps += _msg_ids(hyp, pre, [*eff.new_msgs, *hyp.made.values()], lits)
        solver.add(*c.new_facts(seen))  # valid everywhere: outside the frames
        solver.push()
        solver.add(*hyps)
        for pid in pids:
            prop = ALL_PROPERTIES[pid]
            t0 = time.perf_counter()
            goal = _goal(prop, Candidates(hyp, eff.new_msgs), eff.post, sk)
            solver.push()
            solver.add(goal, *c.new_facts(seen, mark=False))
            res, core = _check(solver, lits)
            reason = ""
            if res == z3.sat:
                reason = render_cti(solver.model(), c, pre, eff.post, params, name, terms)
            elif res == z3.unknown:
                reason = solver.reason_unknown()
            solver.pop()
            r = Result(name, pid, prop.kind, _status(res), time.perf_counter() - t0, reason, core)
            done[pid] = r
            if progress:
                progress(r)
        solver.pop()
    return [done[pid] for pid in wanted]


def prove_init(
    c: Consts,
    targets: Iterable[str] | None = None,
    timeout_ms: int = 30_000,
    progress: Callable[[Result], None] | None = None,
) -> list[Result]:
    """Every obligation ``init/I``: Init ⇒ I."""
    s = SymState.fresh(c, "init")
    sk = _skolems()
    solver = z3.Solver()
    solver.set("timeout", timeout_ms)
    solver.add(*c.axioms, *init_constraints(s))
    out = []
    for pid in targets or ALL_PROPERTIES:
        prop = ALL_PROPERTIES[pid]
        t0 = time.perf_counter()
        solver.push()
        solver.add(_goal(prop, Candidates(Skolem("none"), []), s, sk), *c.new_facts(set(), False))
        res = solver.check()
        reason = solver.reason_unknown() if res == z3.unknown else ""
        if res == z3.sat:
            reason = "Init violates it"
        solver.pop()
        status = _status(res)
        r = Result("init", pid, prop.kind, status, time.perf_counter() - t0, reason)
        out.append(r)
        if progress:
            progress(r)
    return out
