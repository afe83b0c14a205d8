"""Bounded model checking, incremental by depth (spec/proofs.md §5).

One solver holds the unrolled transition relation ``Init(s0) ∧ T(s0, s1) ∧ … ∧ T(s_{k-1}, s_k)``;
at each depth ``k`` a push/pop frame asks whether some safety or type invariant fails in
``s_k``. The first ``sat`` is a shortest counterexample: its steps are decoded into actions,
run on the executable model (``trace.build_trace``, with the mutant), the Z3 states are checked
against the model's on every encoded field, and the trace is replayed to confirm the violated
invariant.

The instance is finite in what BMC needs to be a fast bug finder: the scenario's constants;
``choose_route`` limited to the model's candidate paths (``Model.route_paths``); message ids
below ``1 +`` the most ids the steps can allocate (:func:`id_allocation`) for the existential
witnesses of a violation. Time steps and every other parameter are symbolic.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import z3

from pqms_model.errors import EngineDrift, PqmsError
from pqms_model.model.transition import Model
from pqms_model.proofs.decode import decode_action, state_mismatches
from pqms_model.proofs.encoding.consts import Consts
from pqms_model.proofs.encoding.core import Effect, Params
from pqms_model.proofs.encoding.state import SymState
from pqms_model.proofs.encoding.transition import (
    ACTION_NAMES,
    StepTerms,
    initial_state,
    step_relation,
)
from pqms_model.proofs.induction import instance_terms
from pqms_model.proofs.safety import SAFETY
from pqms_model.proofs.witness import Finite
from pqms_model.protocol.actions import Action
from pqms_model.protocol.mutants import Mutant
from pqms_model.protocol.scenario import Scenario
from pqms_model.trace.itf import build_trace, replay_doc

__all__ = [
    "TARGETS",
    "BmcError",
    "BmcResult",
    "bmc_variants",
    "id_allocation",
    "run_bmc",
]

TARGETS = tuple(i for i, inv in SAFETY.items() if inv.kind in ("safety", "type"))
"""What BMC looks for: a state violating any safety or type invariant."""


class BmcError(EngineDrift):
    """BMC found a trace the model does not reproduce (the encoding and the model drifted)."""


@dataclass
class BmcResult:
    status: str  # "counterexample" | "witness" (goal reached) | "none" (up to depth) | "unknown"
    depth: int  # length of the counterexample, or the depth searched
    seconds: float
    invariant: str | None = None
    actions: list[Action] = field(default_factory=list)
    trace: dict[str, Any] | None = None
    reason: str = ""
    per_depth: list[float] = field(default_factory=list)
    engine: str = "z3-bmc"  # or "z3-bmc-guided": each step's action fixed (see find_counterexample)
    exhaustive_depth: int = 0  # no counterexample of this length or shorter exists (0 if guided)
    minimised_from: int | None = None  # the guided trace's length before minimise_counterexample
    undecided: int = 0  # distinct one-step deletions of the final skeleton Z3 left undecided
    minimise_seconds: float = 0.0

    @property
    def shortest(self) -> bool:
        """A counterexample one step longer than the exhaustive bound: none is shorter."""
        return self.status == "counterexample" and self.depth == self.exhaustive_depth + 1


def id_allocation(scenario: Scenario) -> dict[str, int]:
    """The most ids (pairs and their qubits, messages, routes) one step of each action can
    allocate in ``scenario`` (the model's rules; an action not listed allocates none). Every
    record of a state ``k`` steps from Init has an id below ``1 +`` the sum over its steps.

    >>> from pqms_model.protocol.scenario import load_default
    >>> id_allocation(load_default())["recover"]  # 4 RESETs, 3 links x 3 LINK_STATEs
    13
    """
    n = len(scenario.nodes)
    degree = max(sum(name in (ln.a, ln.b) for ln in scenario.links)
                 for name in scenario.node_names)  # fmt: skip
    return {
        "choose_route": n,  # the route and a ROUTE message to each node after the sender
        "generate_link": 4,  # the pair, two qubit ids, the HERALD
        "swap": 3,  # the new pair, two SWAP_DONE
        "purify": 2,  # two PURIFY_RESULT
        "use_pair": 1,  # the BITS
        "link_down": n - 2,  # LINK_STATE to every node off the link
        "link_up": n - 2,
        "recover": n - 1 + degree * (n - 2),  # RESET to every other node, then per changed
    }  # link of the node a LINK_STATE to every node off it


def bmc_variants(c: Consts) -> dict[str, list[dict[str, Any]]]:
    """BMC's finite choices, one encoding each: ``choose_route`` over the model's candidate
    paths, link faults per link, node faults per node."""
    nodes, links = [{"node": n} for n in range(c.N)], [{"link": li} for li in range(c.L)]
    paths = [{"pool": p, "plen": len(path), "path": path + (-1,) * (c.N - len(path))}
             for p, path in c.candidates]  # fmt: skip
    return {"choose_route": paths, "link_down": links, "link_up": links, "crash": nodes,
            "recover": nodes}  # fmt: skip


@dataclass(frozen=True)
class _Failure:
    """One clause of an invariant failing in a state: ``formula``, at the fresh constants
    ``args`` (one per quantified id, of the clause's ``sorts``)."""

    invariant: str
    clause: str
    formula: Any
    sorts: tuple[str, ...]
    args: tuple[Any, ...]


def _violated(
    c: Consts, s: SymState, ids: list[int], tag: str, targets: Sequence[str]
) -> list[_Failure]:
    """Per clause of each invariant in ``targets``: how it fails in ``s`` (fresh constants for
    its quantified ids; message witnesses over ``ids``)."""
    out: list[_Failure] = []
    w = Finite(ids)
    for iid in targets:
        for cl in SAFETY[iid].clauses:
            args = tuple(z3.Int(f"{tag}.{iid}.{cl.name}.x{k}") for k in range(len(cl.sorts)))
            out.append(_Failure(iid, cl.name, z3.Not(cl.body(w, s, *args)), cl.sorts, args))
    return out


def _hints(
    prev: SymState,
    ids: list[int],
    props: Sequence[str],
    touched: Effect,
    f: _Failure,
    memo: dict[Any, Any],
) -> list[Any]:
    """The properties ``props`` in the state ``prev`` before the last step, instantiated at
    the ids of the failure ``f``, the ids the step touches (``touched``, :func:`_touched`) and
    the records they name (the
    inductive proofs' instances, :func:`pqms_model.proofs.induction.instance_terms`). Implied by
    the path: the previous depth proved ``props`` for every id in every state it reaches, so adding
    them leaves the query's answer as it is, and lets Z3 refute a failure from the last step."""
    sk: dict[str, list[Any]] = {"pair": [], "msg": [], "route": []}
    for a, srt in zip(f.args, f.sorts, strict=True):
        sk[srt].append(a)
    sorts = frozenset({*f.sorts} | {f"{srt}2" for srt in ("pair", "msg") if len(sk[srt]) > 1})
    terms = instance_terms(prev, touched, sk, sorts)
    w = Finite(ids)
    return [z3.And(SAFETY[pid].holds(w, prev, terms, memo)) for pid in props]


def _touched(step: StepTerms) -> Effect:
    """The ids any action of ``step`` touches (pairs, messages, routes), as one effect."""
    effs = list(step.effects.values())
    return Effect([], step.post, pairs=[t for e in effs for t in e.pairs],
                  msgs=[t for e in effs for t in e.msgs],
                  routes=[t for e in effs for t in e.routes])  # fmt: skip


def run_bmc(
    model: Model,
    max_depth: int,
    *,
    timeout_ms: int = 60_000,
    rlimit: int = 0,
    targets: tuple[str, ...] = TARGETS,
    kinds: Sequence[str] | None = None,
    goal: Callable[[SymState, list[int]], Any] | None = None,
    progress: Callable[[int, str, float], None] | None = None,
    pins: Sequence[Action] | None = None,
    hints: bool = False,
    on_query: Callable[[int, str, str, float], None] | None = None,
) -> BmcResult:
    """Search for the shortest trace (at most ``max_depth`` steps) that violates an invariant
    in ``targets``; a found trace is validated on ``model`` (see the module docstring).

    ``kinds`` fixes the action of each step (*guided* BMC: Z3 still chooses every parameter,
    id, time step and delay; ``max_depth`` is then ``len(kinds)``); ``pins`` (actions, one per
    step of ``kinds``) fixes each step's finite choices too (its node, link, pool, path and
    schedule), and Z3 chooses the rest. ``goal`` replaces the
    violation: a formula over a state and the ids that may exist in it, to be reached (a
    non-vacuity witness); the trace is then validated without a violation. ``progress`` is
    called after each depth (depth, result, seconds), ``on_query`` after each query of a
    violation (depth, "invariant/clause", result, seconds).

    Each depth asks one query per clause of each target (as one disjunction of every target,
    depth 3 of the protocol took 97 s; clause by clause, 30 s). ``hints`` (exhaustive search
    only) names each state's arrays and gives each query the targets in the state before its
    last step, instantiated at the query's and the step's ids (:func:`_hints`): implied by the
    path, so the answers are the same, but a violation the last step cannot cause is refuted
    from that step alone (the protocol to depth 3 in 8-11 s, 4 in 53-68 s). Use it to show there is
    no violation: when there is one, Z3 takes longer to build the trace (route-through-down
    at depth 2: 47 s instead of 0.3 s)."""
    if kinds is not None:
        unknown = sorted(set(kinds) - set(ACTION_NAMES))
        if unknown:
            raise PqmsError(f"unknown action(s) {unknown}; valid: {', '.join(ACTION_NAMES)}")
        max_depth = len(kinds)
        if pins is not None and [a.name for a in pins] != list(kinds):
            raise PqmsError("pins must be one action per step of kinds, of the same names")
    c = Consts(model)
    mutant: Mutant | None = model.mutant
    solver = z3.Solver()
    solver.set("timeout", timeout_ms)
    if rlimit:  # a deterministic budget (Z3's resource units), unlike the time-out
        solver.set("rlimit", rlimit)
    # Z3's default arithmetic solver throughout: the older simplex (smt.arith.solver=2, which
    # the inductive proofs use) was faster on most guided queries but timed out on one
    # (swap-no-wait, 60 s, in a fresh process) and is slower on the exhaustive search.
    solver.add(*c.axioms)
    seen: set[int] = set()
    states = [initial_state(c)]
    steps: list[StepTerms] = []
    variants = bmc_variants(c)
    alloc = id_allocation(model.scenario)
    most = max(alloc.values())
    allocated = 0  # the most ids the steps so far can have allocated
    t0 = time.perf_counter()
    per_depth: list[float] = []
    ids_at: list[list[int]] = []  # per depth so far, the ids that may exist (for _hints)
    # exhaustive search for a proof of absence: each state's arrays named, and each query
    # given the targets in the state before its last step as hints (_hints)
    hinted = hints and kinds is None and goal is None
    for k in range(max_depth + 1):
        if k > 0:
            names = (kinds[k - 1],) if kinds is not None else ACTION_NAMES
            st = step_relation(
                states[-1], None, f"t{k}", mutant, names, variants=variants, name_arrays=hinted
            )
            solver.add(*st.constraints, *c.new_facts(seen))
            if pins is not None:
                solver.add(*_pin(c, st.params, pins[k - 1]))
            states.append(st.post)
            steps.append(st)
            allocated += alloc.get(kinds[k - 1], 0) if kinds is not None else most
        t1 = time.perf_counter()
        ids = list(range(1, 2 + allocated))
        if kinds is not None and k < len(kinds):
            # guided: no violation is asked of a prefix, but its feasibility is: each check is
            # cheap, what Z3 learns carries over to the next, and the full skeleton's query
            # gets several times faster (overcommit-memory: 7.5 s -> 2 s); an infeasible
            # prefix ends the search at once
            solver.add(*c.new_facts(seen))
            res = solver.check()
            per_depth.append(time.perf_counter() - t1)
            if res != z3.sat:
                status = "none" if res == z3.unsat else "unknown"
                reason = (f"the skeleton's first {k} steps cannot be taken"
                          if res == z3.unsat else solver.reason_unknown())  # fmt: skip
                return BmcResult(status, k, time.perf_counter() - t0, reason=reason,
                                 per_depth=per_depth, exhaustive_depth=0)  # fmt: skip
            continue
        if goal is not None:
            queries = [_Failure("goal", "", goal(states[k], ids), (), ())]
        else:
            queries = _violated(c, states[k], ids, f"v{k}", targets)
        solver.add(*c.new_facts(seen))
        res, memo = z3.unsat, dict[Any, Any]()
        touched = _touched(steps[-1]) if hinted and k > 0 else None
        for q in queries:
            solver.push()
            solver.add(q.formula)
            if touched is not None:
                solver.add(*_hints(states[k - 1], ids_at[-1], targets, touched, q, memo))
            tq = time.perf_counter()
            res = solver.check()
            if on_query and goal is None:
                on_query(k, f"{q.invariant}/{q.clause}", str(res), time.perf_counter() - tq)
            if res == z3.sat:
                m = solver.model()
                found = None if goal is not None else sorted(
                    {q.invariant} | {o.invariant for o in queries
                                     if z3.is_true(m.eval(o.formula, True))})  # fmt: skip
                out = _validate(model, c, m, states, steps, found)
                per_depth.append(time.perf_counter() - t1)
                if progress:
                    progress(k, str(res), per_depth[-1])
                out.seconds, out.per_depth = time.perf_counter() - t0, per_depth
                out.exhaustive_depth = 0 if kinds is not None else k - 1
                return out
            if res == z3.unknown:
                reason = f"depth {k}, {q.invariant}/{q.clause}: {solver.reason_unknown()}"
                per_depth.append(time.perf_counter() - t1)
                if progress:
                    progress(k, str(res), per_depth[-1])
                return BmcResult("unknown", k, time.perf_counter() - t0, reason=reason,
                                 per_depth=per_depth,
                                 exhaustive_depth=0 if kinds is not None else k - 1)  # fmt: skip
            solver.pop()
        per_depth.append(time.perf_counter() - t1)
        if progress:
            progress(k, str(res), per_depth[-1])
        ids_at.append(ids)
    return BmcResult("none", max_depth, time.perf_counter() - t0, per_depth=per_depth,
                     exhaustive_depth=0 if kinds is not None else max_depth)  # fmt: skip


_CHOICES = (("node", "node"), ("link", "link"), ("pool", "pool"), ("path", "plen"),
            ("schedule", "sched"))  # fmt: skip
"""An action's finite choices (field, its parameter slot) that ``pins`` fixes."""


def _pin(c: Consts, params: Params, a: Action) -> list[Any]:
    """Constraints fixing ``params``' finite choices to those of action ``a``."""
    conc = Params.of_action(c, a)
    out = [getattr(params, slot) == getattr(conc, slot) for f, slot in _CHOICES if hasattr(a, f)]
    if hasattr(a, "path"):
        out += [x == y for x, y in zip(params.path, conc.path, strict=True)]
    return out


def _validate(
    model: Model,
    c: Consts,
    m: z3.ModelRef,
    states: list[SymState],
    steps: list[StepTerms],
    found: list[str] | None,
) -> BmcResult:
    """Decode the steps, run them on the model, compare every state, and (unless ``found`` is
    None: a witness) replay the trace to the same violation."""
    actions = [decode_action(m, c, st.sel, st.params) for st in steps]
    try:
        doc = build_trace(model, actions, engine="z3-bmc", invariant=None)
    except PqmsError as e:
        raise BmcError(f"BMC trace is not executable on the model: {e}") from None
    s = model.init()
    prev = None
    for k, a in enumerate([None, *actions]):
        if a is not None:
            prev, s = s, model.step(s, a)
        bad = state_mismatches(m, c, states[k], s, prev)
        if bad:
            raise BmcError(f"BMC state {k} differs from the model on {', '.join(bad[:5])}")
    if found is None:
        return BmcResult("witness", len(actions), 0.0, None, actions, doc)
    replay = replay_doc(doc, "<bmc>", model.mutant)
    if replay.violation is None or replay.step != len(actions):
        raise BmcError(f"the model does not violate {found} at the end of the BMC trace")
    inv = replay.violation.invariant
    if inv not in found:
        raise BmcError(f"the model reports {inv}, Z3 found {found}")
    doc["#meta"]["invariant"] = inv
    return BmcResult("counterexample", len(actions), 0.0, inv, actions, doc)
