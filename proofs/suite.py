"""The proof suite behind ``pqms prove`` and ``pqms check`` (spec/proofs.md §7).

:data:`OBLIGATIONS` names every proof the package can discharge, one name per concept as the
spec's traceability table (§8 of spec/pqms.md) uses them:

* ``<property>`` — the inductive proof of a model invariant or strengthening lemma: ``init/<id>``
  (Init ⇒ I) and ``<action>/<id>`` for every action (Inv ∧ Lemmas ∧ T_a ⇒ I′);
* ``enabled/<action>`` — non-vacuity: the action's guard is satisfiable in a state where every
  invariant and lemma holds (so no obligation of that action is proved from a contradiction);
* ``no-signalling/...`` — the physics lemma behind ``causality``;
* ``bmc/<mutant>`` — the bounded-model-checking counterexample of each mutant.

:func:`prove_all` runs the inductive obligations in ``jobs`` worker processes (each builds its
own encoding; Z3 contexts are not shared), in a fixed order, so the same input gives the same
statuses.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import z3

from pqms_model.model.transition import Model
from pqms_model.proofs.encoding.consts import Consts
from pqms_model.proofs.encoding.core import Ctx, Params
from pqms_model.proofs.encoding.state import SymState
from pqms_model.proofs.encoding.transition import ACTION_NAMES, encode
from pqms_model.proofs.induction import ALL_PROPERTIES, Result, prove_action, prove_init
from pqms_model.proofs.witness import Skolem
from pqms_model.proofs.workers import process_pool
from pqms_model.protocol.mutants import Mutant
from pqms_model.protocol.scenario import Scenario

__all__ = [
    "ACTION_COST",
    "OBLIGATIONS",
    "Obligation",
    "SuiteResult",
    "check_enabled",
    "obligation_list",
    "prove_all",
    "statuses",
]


@dataclass(frozen=True)
class Obligation:
    """A named proof: ``parts`` are the solver queries it stands for (``action/property``)."""

    name: str
    kind: str  # "inductive" | "enabled" | "lemma" | "bmc"
    parts: tuple[str, ...]


def _registry() -> dict[str, Obligation]:
    out: dict[str, Obligation] = {}
    for pid in ALL_PROPERTIES:
        parts = (f"init/{pid}", *(f"{a}/{pid}" for a in ACTION_NAMES))
        out[pid] = Obligation(pid, "inductive", parts)
        for part in parts:
            out[part] = Obligation(part, "inductive", (part,))
    for a in ACTION_NAMES:
        out[f"enabled/{a}"] = Obligation(f"enabled/{a}", "enabled", (f"enabled/{a}",))
    from pqms_model.proofs.no_signalling import (
        LEMMA_NAMES,  # the physics lemmas, registered by name
    )

    for n in LEMMA_NAMES:
        out[n] = Obligation(n, "lemma", (n,))
    for m in Mutant:
        out[f"bmc/{m.key}"] = Obligation(f"bmc/{m.key}", "bmc", (f"bmc/{m.key}",))
    return out


OBLIGATIONS: dict[str, Obligation] = _registry()
"""Every obligation name the spec may cite (see the module docstring)."""

ACTION_COST: dict[str, float] = {"swap": 2.0, "receive": 1.5, "recover": 1.2, "init": 0.1}
"""Relative cost of an action's obligations (measured), for balancing the worker processes."""


def obligation_list() -> list[str]:
    """The queries of one full run, in report order: Init, then per action every property."""
    return [f"init/{p}" for p in ALL_PROPERTIES] + [
        f"{a}/{p}" for a in ACTION_NAMES for p in ALL_PROPERTIES
    ]


@dataclass
class SuiteResult:
    results: list[Result]
    enabled: list[Result]
    seconds: float
    jobs: int
    z3_version: str = field(default_factory=z3.get_version_string)

    def by_status(self, status: str) -> list[Result]:
        return [r for r in self.results + self.enabled if r.status == status]


def check_enabled(c: Consts, name: str, mutant: Mutant | None, timeout_ms: int) -> Result:
    """Non-vacuity of ``name``'s obligations: Inv ∧ Lemmas ∧ guard is satisfiable (with the
    hypotheses instantiated as in the proofs). ``sat`` is the good answer here."""
    from pqms_model.proofs.induction import (  # the same instantiation as the proofs
        _skolems,
        instance_terms,
    )

    t0 = time.perf_counter()
    pre = SymState.fresh(c, "pre")
    params = Params.fresh(c, "a")
    ctx = Ctx(c, name, mutant)
    eff = encode(name, pre, params, ctx)
    sk = _skolems()
    terms = instance_terms(pre, eff, sk, frozenset({"pair", "pair2", "msg", "msg2", "route"}))
    hyp, memo = Skolem("h"), dict[Any, Any]()
    solver = z3.Solver()
    solver.set("timeout", timeout_ms)
    solver.set("smt.arith.solver", 2)  # as the proofs: 10x faster on these models
    solver.add(*c.axioms, *eff.guard, *ctx.side)
    for p in ALL_PROPERTIES.values():
        solver.add(*p.holds(hyp, pre, terms, memo))
    solver.add(*c.new_facts(set(), mark=False))
    res = solver.check()
    status = "proved" if res == z3.sat else "counterexample" if res == z3.unsat else "unknown"
    reason = {
        "counterexample": "the guard contradicts the invariants: its obligations are vacuous",
        "unknown": solver.reason_unknown(),
    }.get(status, "")
    return Result(name, "enabled", "enabled", status, time.perf_counter() - t0, reason)


# --- workers -----------------------------------------------------------------------------------


def _work(
    scenario: Scenario, mutant_key: str | None, actions: list[str], timeout_ms: int
) -> list[dict[str, Any]]:
    """One worker's share: ``init`` and/or actions, every property, plus their enabled checks."""
    mutant = Mutant.parse(mutant_key) if mutant_key else None
    c = Consts(Model(scenario, mutant))
    out: list[Result] = []
    for a in actions:
        if a == "init":
            out += prove_init(c, timeout_ms=timeout_ms)
        else:
            out += prove_action(c, a, mutant, timeout_ms=timeout_ms)
            out.append(check_enabled(c, a, mutant, timeout_ms))
    return [asdict(r) for r in out]


def _shares(jobs: int) -> list[list[str]]:
    """Actions dealt to ``jobs`` workers, heaviest first, each to the lightest share so far."""
    names = ["init", *ACTION_NAMES]
    names.sort(key=lambda a: -ACTION_COST.get(a, 1.0))
    shares: list[list[str]] = [[] for _ in range(jobs)]
    load = [0.0] * jobs
    for a in names:
        k = load.index(min(load))
        shares[k].append(a)
        load[k] += ACTION_COST.get(a, 1.0)
    return [s for s in shares if s]


def prove_all(
    scenario: Scenario,
    mutant: Mutant | None = None,
    *,
    jobs: int = 2,
    timeout_ms: int = 30_000,
    progress: Callable[[Result], None] | None = None,
) -> SuiteResult:
    """Every inductive obligation and enabled check, in ``jobs`` processes (1: in-process)."""
    t0 = time.perf_counter()
    key = mutant.key if mutant else None
    rows: list[dict[str, Any]] = []
    if jobs <= 1:
        rows = _work(scenario, key, ["init", *ACTION_NAMES], timeout_ms)
    else:
        with process_pool(jobs) as ex:
            futs = [ex.submit(_work, scenario, key, share, timeout_ms) for share in _shares(jobs)]
            for f in futs:
                rows += f.result()
    got = [Result(**r) for r in rows]
    order = {n: i for i, n in enumerate(obligation_list())}
    results = sorted((r for r in got if r.kind != "enabled"), key=lambda r: order[r.name])
    enabled = sorted(
        (r for r in got if r.kind == "enabled"), key=lambda r: ACTION_NAMES.index(r.action)
    )
    if progress:
        for r in results + enabled:
            progress(r)
    return SuiteResult(results, enabled, time.perf_counter() - t0, max(jobs, 1))


def statuses(results: Iterable[Result]) -> dict[str, str]:
    """Per property id: "proved" when every obligation proved it, else the worst status."""
    worst: dict[str, str] = {}
    rank = {"proved": 0, "counterexample": 1, "unknown": 2}
    for r in results:
        cur = worst.get(r.invariant, "proved")
        worst[r.invariant] = max(cur, r.status, key=rank.__getitem__)
    return worst
