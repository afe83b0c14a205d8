"""The Z3 encoding and proofs (spec/proofs.md): completeness, inductive obligations, BMC of the
mutants with traces that replay on the model, and non-vacuity witnesses reached from Init."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from typing import Any

import pytest
import z3

from pqms_model.check.campaign import steered_walk, walks_skeleton
from pqms_model.cli.main import main
from pqms_model.errors import PqmsError
from pqms_model.invariants import INVARIANTS
from pqms_model.model.transition import Model
from pqms_model.proofs.bmc import TARGETS, BmcResult, id_allocation, run_bmc
from pqms_model.proofs.counterexample import (
    combine_stages,
    find_counterexample,
    minimise_counterexample,
)
from pqms_model.proofs.encoding.codes import OUTCOME
from pqms_model.proofs.encoding.consts import Consts
from pqms_model.proofs.encoding.core import Ctx, Params
from pqms_model.proofs.encoding.state import SymState
from pqms_model.proofs.encoding.transition import ACTION_NAMES, ENCODINGS, encode, frame
from pqms_model.proofs.induction import ALL_PROPERTIES, prove_action, prove_init
from pqms_model.proofs.lemmas import LEMMAS
from pqms_model.proofs.safety import SAFETY
from pqms_model.proofs.suite import OBLIGATIONS, check_enabled
from pqms_model.protocol.actions import ACTION_TYPES, Crash
from pqms_model.protocol.mutants import Mutant
from pqms_model.protocol.scenario import load_default, parse_scenario_text
from pqms_model.protocol.state import Outcome, State
from pqms_model.trace.itf import replay_doc

SCENARIO = load_default()
MODEL = Model(SCENARIO)
CONSTS = Consts(MODEL)
SCENARIO_NODES = CONSTS.names

USE_SKELETON = (
    "choose_route", "advance_time", "receive", "generate_link", "advance_time", "receive",
    "admit", "use_pair", "advance_time", "deliver",
)  # fmt: skip
"""Route earth -> moon (one hop), its herald, admission, a use and its delivery."""


# --- the encoding covers the model --------------------------------------------------------------


def test_every_action_has_an_encoding_under_its_name() -> None:
    assert sorted(ENCODINGS) == sorted(ACTION_TYPES) == sorted(ACTION_NAMES)
    for name, enc in ENCODINGS.items():
        assert enc.cls is ACTION_TYPES[name]


def test_every_model_invariant_has_a_symbolic_counterpart() -> None:
    assert list(SAFETY) == list(INVARIANTS)
    for iid, inv in SAFETY.items():
        assert inv.kind == INVARIANTS[iid].kind.value
    assert not set(LEMMAS) & set(SAFETY)


@pytest.mark.parametrize("name", ACTION_NAMES)
def test_each_encoding_writes_only_what_it_declares(name: str) -> None:
    pre = SymState.fresh(CONSTS, "pre")
    eff = encode(name, pre, Params.fresh(CONSTS, "a"), Ctx(CONSTS, name, None))
    assert eff.guard, f"{name} has no guard"
    for f in frame(name):
        assert eff.post[f] is pre[f], f"{name} changes {f}, which is in its frame"


def test_an_undeclared_write_is_caught() -> None:
    enc = ENCODINGS["advance_time"]
    real = enc.encode

    def sneaky(s: SymState, a: Params, ctx: Ctx) -> Any:
        eff = real(s, a, ctx)
        return type(eff)(eff.guard, eff.post.set({"deliveries": eff.post["deliveries"] + 1}))

    object.__setattr__(enc, "encode", sneaky)
    try:
        with pytest.raises(AssertionError, match="undeclared field"):
            encode("advance_time", SymState.fresh(CONSTS, "p"), Params.fresh(CONSTS, "a"),
                   Ctx(CONSTS, "advance_time", None))  # fmt: skip
    finally:
        object.__setattr__(enc, "encode", real)


def test_the_obligations_registry_names_every_proof() -> None:
    for pid in ALL_PROPERTIES:
        assert OBLIGATIONS[pid].parts == (
            f"init/{pid}",
            *(f"{a}/{pid}" for a in ACTION_NAMES),
        )
    for m in Mutant:
        assert f"bmc/{m.key}" in OBLIGATIONS
    assert {f"enabled/{a}" for a in ACTION_NAMES} <= set(OBLIGATIONS)


# --- inductive obligations ---------------------------------------------------------------------


def test_init_establishes_every_property() -> None:
    results = prove_init(CONSTS)
    assert [r.invariant for r in results] == list(ALL_PROPERTIES)
    assert all(r.status == "proved" for r in results), [r.name for r in results]


@pytest.mark.parametrize(
    "action", ["use_pair", "deliver", "admit", "advance_time", "delay_message"]
)
def test_use_and_delivery_preserve_the_headline_invariants(action: str) -> None:
    targets = ["no-double-use", "fidelity-on-use", "causality"]
    results = prove_action(CONSTS, action, targets=targets)
    assert [(r.invariant, r.status) for r in results] == [(t, "proved") for t in targets]
    for r in results:  # the unsat core names the properties each proof assumed
        assert set(r.core) <= set(ALL_PROPERTIES)


@pytest.mark.parametrize(
    ("mutant", "action", "invariant"),
    [
        # the bits no longer need light time: the lemma behind causality fails first
        (Mutant.INSTANT_EFFECT, "use_pair", "message-light-bound"),
        (Mutant.NO_THRESHOLD, "deliver", "fidelity-on-use"),
        (Mutant.REUSE_AFTER_USE, "use_pair", "consumed-spent"),
    ],
)
def test_a_mutant_breaks_its_invariants_induction(
    mutant: Mutant, action: str, invariant: str
) -> None:
    c = Consts(Model(SCENARIO, mutant))
    [r] = prove_action(c, action, mutant, targets=[invariant])
    assert r.status == "counterexample"
    assert f"{action}(" in r.reason and "->" in r.reason  # a readable pre/post pair


@pytest.mark.parametrize("action", ACTION_NAMES)
def test_every_action_can_fire_under_the_invariants(action: str) -> None:
    """Non-vacuity: no obligation is proved from hypotheses that contradict the guard."""
    r = check_enabled(CONSTS, action, None, 30_000)
    assert r.status == "proved", r.reason


def test_a_contradictory_guard_is_reported_as_vacuous() -> None:
    enc = ENCODINGS["advance_time"]
    real = enc.encode

    def never(s: SymState, a: Params, ctx: Ctx) -> Any:
        eff = real(s, a, ctx)
        return type(eff)([*eff.guard, s["now"] < 0], eff.post)

    object.__setattr__(enc, "encode", never)
    try:
        assert check_enabled(CONSTS, "advance_time", None, 30_000).status == "counterexample"
    finally:
        object.__setattr__(enc, "encode", real)


# --- bounded model checking: every mutant, traces replay on the model --------------------------


@pytest.mark.parametrize("mutant", list(Mutant), ids=lambda m: m.key)
def test_bmc_finds_each_mutant_and_its_trace_replays(mutant: Mutant) -> None:
    found = find_counterexample(
        Model(SCENARIO, mutant),
        exhaustive_depth=1,
        skeleton=lambda: walks_skeleton(SCENARIO, mutant, seed=0),
    )
    assert found.status == "counterexample", found.reason
    assert found.trace is not None and found.invariant is not None
    again = replay_doc(json.loads(json.dumps(found.trace)), "<bmc>", mutant)
    assert again.violation is not None and again.violation.invariant == found.invariant
    assert again.step == found.depth
    assert found.exhaustive_depth >= 1 or found.engine == "z3-bmc"


# --- minimising a guided trace: shorter, still replaying, and no claim Z3 did not prove --------


@pytest.fixture(scope="module")
def double_swap() -> tuple[Model, BmcResult]:
    model = Model(SCENARIO, Mutant.DOUBLE_SWAP)
    skeleton = lambda: walks_skeleton(SCENARIO, Mutant.DOUBLE_SWAP, seed=0)  # noqa: E731
    return model, find_counterexample(model, exhaustive_depth=1, skeleton=skeleton)


def test_a_minimised_trace_replays_and_each_of_its_steps_is_needed(
    double_swap: tuple[Model, BmcResult],
) -> None:
    model, found = double_swap
    small = minimise_counterexample(model, found, rlimit=500_000_000)
    assert small.status == "counterexample" and small.invariant == found.invariant
    assert small.minimised_from == found.depth and small.depth <= found.depth
    assert small.trace is not None
    again = replay_doc(json.loads(json.dumps(small.trace)), "<bmc>", Mutant.DOUBLE_SWAP)
    assert again.violation is not None and again.violation.invariant == small.invariant
    assert small.undecided == 0  # 1-minimal is claimed; check it query by query
    kinds = [a.name for a in small.actions]
    for i in range(len(kinds)):
        fewer = kinds[:i] + kinds[i + 1 :]
        r = run_bmc(model, len(fewer), targets=(found.invariant,), kinds=fewer)
        assert r.status == "none", f"without step {i + 1} ({kinds[i]}): {r.status}"


def test_minimising_claims_nothing_z3_left_undecided(double_swap: tuple[Model, BmcResult]) -> None:
    model, found = double_swap
    small = minimise_counterexample(model, found, rlimit=1)  # no query gets a budget
    kinds = [a.name for a in found.actions]
    deletions = {(*kinds[:i], *kinds[i + 1 :]) for i in range(len(kinds))}
    assert small.depth == found.depth
    assert 0 < small.undecided <= len(deletions)


def test_pinned_bmc_keeps_each_steps_node_link_and_path(
    double_swap: tuple[Model, BmcResult],
) -> None:
    model, found = double_swap
    kinds = [a.name for a in found.actions]
    r = run_bmc(model, len(kinds), targets=(found.invariant,), kinds=kinds, pins=found.actions)
    assert r.status == "counterexample" and r.invariant == found.invariant
    fields = ("node", "link", "pool", "path", "schedule")
    for a, b in zip(r.actions, found.actions, strict=True):
        assert [getattr(a, f, None) for f in fields] == [getattr(b, f, None) for f in fields]


@pytest.mark.parametrize("node", SCENARIO_NODES)
def test_a_pinned_crash_crashes_that_node(node: str) -> None:
    r = run_bmc(MODEL, 1, kinds=["crash"], pins=[Crash(node=node)], goal=lambda s, _: s["now"] >= 0)
    assert r.status == "witness" and r.actions == [Crash(node=node)]


def test_pins_must_match_the_skeleton(double_swap: tuple[Model, BmcResult]) -> None:
    model, found = double_swap
    kinds = [a.name for a in found.actions]
    with pytest.raises(PqmsError, match="pins must be one action per step"):
        run_bmc(model, 0, kinds=kinds[1:], pins=found.actions)


def test_no_step_allocates_more_ids_than_bmc_allows() -> None:
    """BMC's existential witnesses range over the ids the steps can allocate: a step that
    allocates more would hide a witness (and BMC would report a violation the model lacks)."""
    alloc, most = id_allocation(SCENARIO), Counter[str]()
    for seed in range(12):
        for before, a, after in steered_walk(MODEL, seed, 400):
            used = after.next_id - before.next_id
            assert used <= alloc.get(a.name, 0), f"{a!r} allocated {used} ids"
            most[a.name] = max(most[a.name], used)
    assert most["recover"] > len(SCENARIO.nodes) - 1  # it re-announced links too
    assert most["generate_link"] == 4 and most["swap"] == 3


def test_a_guided_counterexample_stands_when_the_exhaustive_stage_is_undecided(
    double_swap: tuple[Model, BmcResult],
) -> None:
    _, found = double_swap
    undecided = BmcResult("unknown", 3, 1.0, reason="timeout", exhaustive_depth=2)
    out = combine_stages(undecided, replace(found), 2.0)
    assert out.status == "counterexample" and out.trace is found.trace
    assert out.exhaustive_depth == 2 and "undecided at depth 3: timeout" in out.reason
    shortest = BmcResult("counterexample", 2, 1.0, invariant="x", exhaustive_depth=1)
    assert combine_stages(shortest, replace(found), 2.0) is shortest
    none = BmcResult("none", 3, 1.0, exhaustive_depth=3)
    assert combine_stages(none, None, 2.0).status == "none"
    assert combine_stages(undecided, None, 2.0).status == "unknown"
    stuck = replace(found, status="unknown", trace=None)
    assert combine_stages(undecided, stuck, 2.0).status == "unknown"


def test_bmc_of_the_protocol_finds_nothing_on_a_use_skeleton() -> None:
    """The unmutated protocol on the instant-effect skeleton: no data makes it violate."""
    assert run_bmc(MODEL, 0, kinds=USE_SKELETON).status == "none"


def test_bmc_of_the_protocol_is_exhaustive_for_short_traces() -> None:
    r = run_bmc(MODEL, 2)
    assert r.status == "none" and r.depth == 2 and len(r.per_depth) == 3


def test_bmc_with_hints_gives_the_same_answer_on_the_protocol() -> None:
    """The previous depth's invariants as hints (implied by the path) do not change "none";
    every clause of every target is asked at every depth, each in its own query."""
    asked: list[tuple[int, str, str]] = []
    r = run_bmc(MODEL, 2, hints=True, on_query=lambda k, cl, res, _: asked.append((k, cl, res)))
    assert r.status == "none" and r.depth == 2 and r.exhaustive_depth == 2
    clauses = [f"{i}/{cl.name}" for i in TARGETS for cl in SAFETY[i].clauses]
    assert asked == [(k, cl, "unsat") for k in range(3) for cl in clauses]


def _node(name: str, kind: str) -> str:
    return (f'[[node]]\nname = "{name}"\nkind = "{kind}"\nmemory_capacity = 4\n'
            "coherence_s = 3600.0\n")  # fmt: skip


def _link(a: str, b: str, km: float) -> str:
    return (f'[[link]]\na = "{a}"\nb = "{b}"\ndistance_km = {km}\ngeneration_rate_hz = 10.0\n'
            "initial_fidelity = 0.99\n")  # fmt: skip


TRIANGLE = parse_scenario_text(
    '[scenario]\nname = "triangle"\ndescription = "two endpoints and a relay"\n'
    + _node("a", "endpoint") + _node("b", "relay") + _node("c", "endpoint")
    + _link("a", "b", 1000.0) + _link("b", "c", 1000.0) + _link("a", "c", 1500.0)
    + '[[pool]]\na = "a"\nb = "c"\ntarget_size = 2\nthreshold_fidelity = 0.9\n'
    "max_wait_s = 60.0\n",
    "<triangle>",
)  # fmt: skip
"""A three-node mesh: small enough for a fast exhaustive search with a violation in it."""


def test_bmc_with_hints_still_finds_a_violation() -> None:
    """Hints are facts the previous depth proved, never assumptions that could hide a bug: the
    route-through-down mutant's two-step violation is found with them, and replays."""
    model = Model(TRIANGLE, Mutant.ROUTE_THROUGH_DOWN)
    for hints in (False, True):
        r = run_bmc(model, 3, hints=hints, targets=("route-believed-up",))
        assert r.status == "counterexample" and r.depth == 2 and r.exhaustive_depth == 1
        assert r.invariant == "route-believed-up" and r.trace is not None


def test_bmc_rejects_unknown_actions() -> None:
    with pytest.raises(PqmsError, match="unknown action"):
        run_bmc(MODEL, 0, kinds=("teleport",))


# --- non-vacuity witnesses reached from Init (sat queries; traces replay) -------------------


def _delivered(s: SymState) -> Any:
    return z3.And(s["ld_some"], s["ld_outcome"] == OUTCOME[Outcome.DELIVERED])


def _final(trace: dict[str, Any], actions: list[Any]) -> State:
    """The witness trace replays on the model without a violation; its last state."""
    assert replay_doc(trace, "<witness>", None).violation is None
    s = MODEL.init()
    for a in actions:
        s = MODEL.step(s, a)
    return s


def test_a_delivery_at_exactly_send_time_plus_light_time_is_reachable() -> None:
    def goal(s: SymState, _ids: list[int]) -> Any:
        light = s.c.light(s["ld_sender"], s["ld_receiver"])
        return z3.And(_delivered(s), s["ld_deliver"] == s["ld_send"] + light)

    r = run_bmc(MODEL, 0, kinds=USE_SKELETON, goal=goal)
    assert r.status == "witness" and r.trace is not None
    d = _final(r.trace, r.actions).last_delivery
    assert d is not None and d.outcome is Outcome.DELIVERED
    assert d.deliver_us - d.send_us == SCENARIO.light_us(d.sender, d.receiver)


def test_a_use_at_exactly_the_threshold_is_reachable() -> None:
    def goal(s: SymState, _ids: list[int]) -> Any:
        return z3.And(_delivered(s), s["ld_cost"] == s["ld_threshold"])

    r = run_bmc(MODEL, 0, kinds=USE_SKELETON, goal=goal)
    assert r.status == "witness" and r.trace is not None
    d = _final(r.trace, r.actions).last_delivery
    assert d is not None and d.outcome is Outcome.DELIVERED
    assert d.cost_nnp == d.threshold_nnp


# --- the command line ---------------------------------------------------------------------------


def test_prove_names_the_slow_bmc_queries_only(capsys: pytest.CaptureFixture[str]) -> None:
    """A deep search takes minutes a depth: its slow queries are named on stderr, not all."""
    from pqms_model.cli.prove import SLOW_QUERY_S, slow_query

    slow_query(5, "type-ok/msg-typed", "unsat", SLOW_QUERY_S - 0.01)
    assert capsys.readouterr().err == ""
    slow_query(5, "type-ok/msg-typed", "unsat", 62.1)
    line = "pqms prove: BMC depth 5: type-ok/msg-typed: unsat (62.10 s)\n"
    assert capsys.readouterr().err == line


def test_prove_mutant_exits_1_with_a_trace_that_replays(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    out, report = tmp_path / "cx", tmp_path / "r.json"
    code = main(["prove", "--mutant", "route-through-down", "--out", str(out),
                 "--json", str(report), "--jobs", "1"])  # fmt: skip
    assert code == 1
    err = capsys.readouterr().err  # the BMC stages report their progress on stderr
    assert "pqms prove: exhaustive BMC to depth 3: counterexample" in err.splitlines()
    doc = json.loads(report.read_text())
    assert doc["verdict"] == "violated" and doc["z3_version"] == z3.get_version_string()
    [cx] = doc["counterexamples"]
    assert cx["invariant"] == "route-believed-up"
    assert main(["replay", cx["trace"], "--mutant", "route-through-down"]) == 1
    statuses = {(o["action"], o["invariant"]): o["status"] for o in doc["obligations"]}
    assert statuses[("choose_route", "route-believed-up")] == "counterexample"
    assert doc["bmc"]["engine"] == "z3-bmc" and "minimised_from" not in doc["bmc"]
    assert doc["bmc"]["shortest"] is True and doc["bmc"]["no_counterexample_up_to"] == 1


def test_a_guided_trace_longer_than_the_bound_is_not_called_shortest(
    double_swap: tuple[Model, BmcResult],
) -> None:
    _, found = double_swap
    assert found.exhaustive_depth == 1 and found.depth > 2 and not found.shortest
    assert replace(found, depth=2).shortest  # one past the exhaustive bound: shortest


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--depth", "-1"], "--depth: must be 0..200"),
        (["--timeout-ms", "0"], "--timeout-ms: must be >= 1"),
        (["--mutant", "nope"], "--mutant: unknown mutant 'nope'"),
        (["--jobs", "0"], "--jobs: must be 1..64"),
    ],
)
def test_prove_bad_flags_exit_2_with_one_line(
    flags: list[str], message: str, capsys: Any, tmp_path: Any
) -> None:
    assert main(["prove", *flags, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "o").exists()
