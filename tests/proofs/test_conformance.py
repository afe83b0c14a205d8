"""Conformance both ways between the model and the Z3 encoding (spec/proofs.md §4).

Model → Z3: on steered random walks (the campaign's walks, seeds drawn by Hypothesis), every
step the model takes satisfies the encoded transition relation with a determined post-state
equal to the model's, and a candidate the model rejects is rejected by the encoded guard too.
Z3 → model: BMC traces are decoded and replayed on the model state by state (tests in
``test_proofs.py``); here, a single Z3 step chosen by the solver from a reachable state is
decoded and taken by the model. Any drift between the two fails the suite.
"""

from __future__ import annotations

import random

import z3
from hypothesis import given, settings
from hypothesis import strategies as st

from pqms_model.check.campaign import run_campaign, steered_walk
from pqms_model.errors import NotEnabled
from pqms_model.invariants import INVARIANTS
from pqms_model.model.transition import Model
from pqms_model.proofs.bmc import bmc_variants
from pqms_model.proofs.conformance import check_step
from pqms_model.proofs.decode import decode_action, state_mismatches
from pqms_model.proofs.encoding.abstraction import alpha, concrete
from pqms_model.proofs.encoding.consts import Consts
from pqms_model.proofs.encoding.transition import ACTION_NAMES, step_relation
from pqms_model.proofs.safety import SAFETY
from pqms_model.proofs.witness import Finite
from pqms_model.protocol.actions import Action, Crash, LinkDown, LinkUp, Recover
from pqms_model.protocol.mutants import Mutant
from pqms_model.protocol.scenario import load_default
from pqms_model.protocol.state import MsgKind, State

MODEL = Model(load_default())
CONSTS = Consts(MODEL)


def _rejected(s: State, rng: random.Random) -> Action | None:
    """A candidate action the model rejects in ``s`` (if the draw finds one)."""
    cands = [a for group in MODEL.candidates(s).values() for a in group]
    rng.shuffle(cands)
    for a in cands[:8]:
        try:
            MODEL.step(s, a)
        except NotEnabled:
            return a
    return None


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_model_steps_satisfy_the_encoding(seed: int) -> None:
    rng = random.Random(seed)
    checked = 0
    for pre, action, _post in steered_walk(MODEL, seed, 40):
        assert check_step(MODEL, CONSTS, pre, action) is None
        other = _rejected(pre, rng)
        if other is not None:
            assert check_step(MODEL, CONSTS, pre, other) is None
        checked += 1
    assert checked >= 1


def test_a_recovery_that_re_announces_links_satisfies_the_encoding() -> None:
    """A node recovers after links of it changed: it sends a RESET to every other node and a
    LINK_STATE per changed link to each of that link's other nodes (ids in scenario order).
    The walks rarely reach this; here every such recovery is checked, at every node."""
    sc = MODEL.scenario
    checked = 0
    for node in sc.node_names:
        mine = [li for li, ln in enumerate(sc.links) if node in (ln.a, ln.b)]
        s = MODEL.init()
        for a in [*(LinkDown(link=li) for li in mine), LinkUp(link=mine[0]), Crash(node=node)]:
            s = MODEL.step(s, a)
        after = MODEL.step(s, Recover(node=node))
        states = sum(m.kind is MsgKind.LINK_STATE for m in after.messages.values()) - sum(
            m.kind is MsgKind.LINK_STATE for m in s.messages.values()
        )
        assert states == len(mine) * (len(sc.node_names) - 2)
        assert check_step(MODEL, CONSTS, s, Recover(node=node)) is None, node
        checked += 1
    assert checked == len(sc.node_names)


def test_walks_reach_every_protocol_action() -> None:
    """The walks the conformance test draws from do exercise the protocol (not only time)."""
    seen = {a.name for seed in range(12) for _, a, _ in steered_walk(MODEL, seed, 120)}
    assert {"choose_route", "generate_link", "receive", "swap", "admit", "use_pair"} <= seen


def test_a_z3_chosen_step_from_a_reachable_state_replays_on_the_model() -> None:
    """Z3 → model: from states the model reached, Z3 picks parameters for each action it can
    fire there; the decoded action is enabled on the model and gives the same post-state."""
    fired: set[str] = set()
    states = [pre for seed in (3, 7) for pre, _, _ in steered_walk(MODEL, seed, 60)]
    variants = bmc_variants(CONSTS)  # finite parameters (node, link, path) as BMC takes them
    for k, s in enumerate(states[20::60]):
        pre = concrete(CONSTS, alpha(CONSTS, s))
        for name in ACTION_NAMES:
            st_ = step_relation(pre, None, f"z{k}.{name}", None, (name,), variants=variants)
            solver = z3.Solver()
            solver.set("timeout", 30_000)
            solver.add(*CONSTS.axioms, *st_.constraints, *CONSTS.new_facts(set(), mark=False))
            res = solver.check()
            assert res != z3.unknown, f"{name}: {solver.reason_unknown()}"
            if res == z3.unsat:
                continue
            m = solver.model()
            action = decode_action(m, CONSTS, st_.sel, st_.params)
            assert action.name == name
            after = MODEL.step(s, action)
            assert state_mismatches(m, CONSTS, st_.post, after, s) == [], repr(action)
            fired.add(name)
    assert {"advance_time", "receive", "choose_route", "crash", "link_down"} <= fired


def _z3_holds(c: Consts, s: State, iid: str) -> bool:
    """The symbolic invariant ``iid`` (proofs/safety.py) evaluated on the encoded state."""
    cs = concrete(c, alpha(c, s))
    ids = list(range(0, s.next_id + 1))
    inv = SAFETY[iid]
    solver = z3.Solver()
    solver.add(*c.axioms)
    xs = {cl.name: [z3.Int(f"x.{cl.name}.{k}") for k in range(len(cl.sorts))] for cl in inv.clauses}
    solver.add(z3.Or([z3.Not(cl.body(Finite(ids), cs, *xs[cl.name])) for cl in inv.clauses]))
    solver.add(*c.new_facts(set(), mark=False))
    res = solver.check()
    assert res != z3.unknown, f"{iid}: {solver.reason_unknown()}"
    return res == z3.unsat


def test_each_symbolic_invariant_says_what_the_models_says() -> None:
    """The proofs prove the model's invariants, not weaker ones: on reachable states and on each
    mutant's violating state, every symbolic invariant agrees with the model's predicate."""
    cases: list[tuple[Model, State]] = []
    for seed in (1, 2):
        cases += [(MODEL, post) for _, _, post in steered_walk(MODEL, seed, 60)][::15]
    for mutant in Mutant:
        model = Model(MODEL.scenario, mutant)
        walk = run_campaign(model.scenario, mutant, seed=0, budget_s=60.0)
        s = model.init()
        for a in walk.counterexamples[0].actions:
            s = model.step(s, a)
        cases.append((model, s))
    violated = set()
    for model, s in cases:
        c = CONSTS if model is MODEL else Consts(model)
        for iid, inv in INVARIANTS.items():
            model_ok = inv.predicate(model, s) is None
            assert _z3_holds(c, s, iid) == model_ok, f"{iid} on {model.mutant}: model {model_ok}"
            violated |= set() if model_ok else {iid}
    assert violated >= {m for mu in Mutant for m in mu.breaks} - {"message-light-bound"}
