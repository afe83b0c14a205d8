"""Every invariant can fail and can hold (spec §5); every mutant is refuted by a pinned run (§6).

Invariants: for each id in the registry there is at least one ``test_<id>_detects_*`` that builds
a state the predicate rejects with a meaningful reason — reached by ``Model.step`` from Init, or a
reached state tampered with ``dataclasses.replace`` — and at least one ``test_<id>_holds_*`` on a
reached state where the predicate has something to check (usually a boundary: exactly the light
time, exactly the capacity, exactly the threshold). ``test_every_invariant_can_fail_and_hold``
keeps that list complete.

Mutants: for each mutant and each invariant it claims to break, ``test_<mutant>_breaks_<id>`` is
a short hand-written run on the default mesh that drives ``Model(scenario, mutant)`` into a
violation of that invariant. :func:`check_refuted` then replays the same actions on the correct
model, which either rejects the step where the planted bug acts (naming the guard) or runs
through with no invariant violated; and it writes the run as an ITF trace and replays it, which
must report an invariant the mutant names.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from typing import Any

import pytest

from pqms_model.actions import (
    Admit,
    AdvanceTime,
    ChooseRoute,
    Crash,
    DelayMessage,
    Deliver,
    Expire,
    GenerateLink,
    LinkDown,
    Receive,
    Recover,
    Swap,
    UsePair,
)
from pqms_model.errors import NotEnabled
from pqms_model.invariants import INVARIANTS, InvariantKind, violations
from pqms_model.model import Model
from pqms_model.mutants import Mutant
from pqms_model.state import EndStatus, MsgKind, Outcome, Schedule, State
from pqms_model.trace import build_trace, dumps, replay_doc
from tests.builders import (
    EARTH,
    L1,
    L2,
    LINK_EARTH_MOON,
    LINK_MOON_L1,
    MARS,
    MOON,
    POOL_EARTH_MARS,
    POOL_EARTH_MOON,
    POOL_MOON_MARS,
    SCENARIO,
    Run,
    last_us_with_cost_at_most,
    poor_relay_memory,
    short_max_wait,
)

E = EndStatus
VIA_L1 = (EARTH, L1, MOON)


def check(inv: str, r: Run, s: State | None = None) -> str | None:
    """The predicate of invariant ``inv`` on ``s`` (default: the run's current state)."""
    return INVARIANTS[inv].predicate(r.m, r.s if s is None else s)


def with_pair(s: State, pid: int, **changes: Any) -> State:
    """``s`` with pair ``pid``'s fields replaced (a tampered state)."""
    return replace(s, pairs=s.pairs.set(pid, replace(s.pairs[pid], **changes)))


def delivered(r: Run) -> int:
    """An earth -> moon pair pooled, used and delivered on arrival; returns the pair id."""
    pid = r.pooled_pair()
    r.step(UsePair(pid, EARTH))
    bits = r.msg(MsgKind.BITS, pair=pid)
    r.advance_to(bits.arrive_us).step(Deliver(bits.id))
    return pid


def heralded_two_hop(r: Run) -> tuple[int, int, int]:
    rid = r.route(POOL_EARTH_MOON, VIA_L1)
    left, right = r.generate(rid, 0), r.generate(rid, 1)
    r.receive(r.msgs(MsgKind.HERALD))
    return rid, left, right


# --- the registry ---------------------------------------------------------------------------


def test_registry_ids_kinds_and_sections() -> None:
    assert all(inv.id == key and inv.meaning.strip() for key, inv in INVARIANTS.items())
    kinds = {inv.id: inv.kind for inv in INVARIANTS.values()}
    assert kinds["type-ok"] is InvariantKind.TYPE
    assert kinds["message-light-bound"] is InvariantKind.LEMMA
    assert {"no-double-use", "fidelity-on-use", "causality"} <= {
        i for i, k in kinds.items() if k is InvariantKind.SAFETY
    }


def test_every_invariant_holds_at_init() -> None:
    m = Model(SCENARIO)
    assert all(inv.predicate(m, m.init()) is None for inv in INVARIANTS.values())


def test_violations_checks_safety_and_type_unless_told() -> None:
    r = Run()
    r.choose_route(POOL_EARTH_MOON, (EARTH, MOON))
    msg = r.msg(MsgKind.ROUTE)
    fast = replace(r.s, messages=r.s.messages.set(msg.id, replace(msg, arrive_us=msg.sent_us)))
    assert violations(r.m, fast) == []  # a lemma: not checked by default
    found = violations(r.m, fast, frozenset({InvariantKind.LEMMA}))
    assert [v.invariant for v in found] == ["message-light-bound"]
    assert str(found[0]).startswith("message-light-bound: message ")


def test_every_invariant_can_fail_and_hold() -> None:
    """For each registry id, this module has a ``detects`` and a ``holds`` test."""
    names = [n for n in dir(sys.modules[__name__]) if n.startswith("test_")]
    for inv in INVARIANTS:
        stem = "test_" + inv.replace("-", "_")
        assert any(n.startswith(stem + "_detects") for n in names), f"no detects test: {inv}"
        assert any(n.startswith(stem + "_holds") for n in names), f"no holds test: {inv}"


# --- no-double-use ----------------------------------------------------------------------------


def test_no_double_use_detects_reuse() -> None:
    r = Run()
    pid = r.pooled_pair()
    r.step(UsePair(pid, EARTH))
    assert check("no-double-use", r) is None
    twice = with_pair(r.s, pid, consumed=2)
    assert check("no-double-use", r, twice) == f"pair {pid} was consumed 2 times"


def test_no_double_use_detects_a_qubit_in_two_live_pairs() -> None:
    r = Run()
    rid = r.route()
    one, two = r.pooled_pair(rid), r.pooled_pair(rid)
    q = r.pair(one).qubits[0]
    shared = with_pair(r.s, two, qubits=(q, r.pair(two).qubits[1]))
    reason = check("no-double-use", r, shared)
    assert reason == f"qubit {q} at earth is live in pairs {one} and {two}"


def test_no_double_use_holds_while_a_swap_hands_a_qubit_on() -> None:
    """Between a swap and its news, earth's qubit is listed in the old pair (live) and in the
    new one (incoming): one live owner, so no double use."""
    r = Run()
    _, left, right = heralded_two_hop(r)
    top = r.swap(left, right, L1)
    q = r.pair(top).qubits[0]
    assert r.pair(left).qubits[0] == q and r.status(left, EARTH) is E.READY
    assert r.status(top, EARTH) is E.INCOMING
    assert check("no-double-use", r) is None


# --- fidelity-on-use --------------------------------------------------------------------------


def test_fidelity_on_use_detects_a_stale_delivery() -> None:
    r = Run()
    pid = delivered(r)
    d = r.s.last_delivery
    assert d is not None and d.outcome is Outcome.DELIVERED
    stale = replace(r.s, last_delivery=replace(d, cost_nnp=d.threshold_nnp + 1))
    reason = check("fidelity-on-use", r, stale)
    assert reason is not None
    assert f"use of pair {pid} delivered at moon" in reason
    assert f"> threshold {d.threshold_nnp} nnp" in reason


def test_fidelity_on_use_holds_at_the_threshold() -> None:
    r = Run()
    delivered(r)
    d = r.s.last_delivery
    assert d is not None and d.cost_nnp < d.threshold_nnp
    assert check("fidelity-on-use", r) is None
    edge = replace(r.s, last_delivery=replace(d, cost_nnp=d.threshold_nnp))
    assert check("fidelity-on-use", r, edge) is None


def test_fidelity_on_use_holds_for_a_reported_stale_use() -> None:
    """A use corrected too late is reported FAILED_STALE, which is not a delivered use."""
    r = Run()
    pid = r.pooled_pair()
    r.advance_to(r.pair(pid).deadline_us).step(UsePair(pid, EARTH))
    r.advance(r.light(EARTH, MOON) + 1_000_000).step(Deliver(r.msg_id(MsgKind.BITS)))
    d = r.s.last_delivery
    assert d is not None and d.outcome is Outcome.FAILED_STALE and d.cost_nnp > d.threshold_nnp
    assert check("fidelity-on-use", r) is None


# --- causality --------------------------------------------------------------------------------


def test_causality_detects_a_delivery_before_the_bits_arrive() -> None:
    r = Run()
    delivered(r)
    d = r.s.last_delivery
    assert d is not None
    early = replace(r.s, last_delivery=replace(d, deliver_us=d.deliver_us - 1))
    reason = check("causality", r, early)
    assert reason is not None
    assert f"took effect at moon at {d.deliver_us - 1} us" in reason
    assert f"before the bits from earth could arrive ({d.deliver_us} us)" in reason


def test_causality_detects_knowledge_before_the_news() -> None:
    r = Run()
    pid = r.generate(r.route(), 0)  # earth's half waits one light time for moon's herald
    t = r.s.now_us
    told = with_pair(r.s, pid, status=(E.READY, E.READY), known_us=(t, t))
    reason = check("causality", r, told)
    assert reason == (
        f"pair {pid} is ready at earth since {t} us, before news from moon could arrive "
        f"({t + r.light(MOON, EARTH)} us)"
    )


def test_causality_holds_at_exactly_the_light_time() -> None:
    r = Run()
    pid = r.generate(r.route(), 0)
    t = r.s.now_us
    r.receive(r.msgs(MsgKind.HERALD, pair=pid))
    assert r.pair(pid).known_us == (t + r.light(MOON, EARTH), t)
    assert check("causality", r) is None
    delivered(r)
    d = r.s.last_delivery
    assert d is not None and d.deliver_us == d.send_us + r.light(EARTH, MOON)
    assert check("causality", r) is None


# --- memory-capacity --------------------------------------------------------------------------


def fill_moon(r: Run) -> list[int]:
    rid = r.route()
    return [r.generate(rid, 0) for _ in range(SCENARIO.node(MOON).memory_capacity)]


def test_memory_capacity_holds_at_exactly_the_capacity() -> None:
    r = Run()
    fill_moon(r)
    assert r.m.free_memory(r.s, MOON) == 0
    assert check("memory-capacity", r) is None


def test_memory_capacity_detects_one_qubit_too_many() -> None:
    r = Run()
    pids = fill_moon(r)
    extra = replace(r.pair(pids[0]), id=r.s.next_id, qubits=(r.s.next_id + 1, r.s.next_id + 2))
    over = replace(r.s, next_id=r.s.next_id + 3, pairs=r.s.pairs.set(extra.id, extra))
    assert check("memory-capacity", r, over) == "moon holds 17 live qubits, memory capacity 16"


def test_memory_capacity_detects_a_live_qubit_at_a_down_node() -> None:
    r = Run()
    r.pooled_pair()
    down = replace(r.s, nodes_down=frozenset({MOON}))
    assert check("memory-capacity", r, down) == "moon is down but holds 1 live qubits"


def test_memory_capacity_holds_after_a_crash() -> None:
    r = Run()
    pid = r.pooled_pair()
    r.step(Crash(MOON))
    assert r.pair(pid).status == (E.POOLED, E.LOST)
    assert check("memory-capacity", r) is None


# --- pool-consistency -------------------------------------------------------------------------


def test_pool_consistency_detects_a_one_sided_discard() -> None:
    r = Run()
    pid = r.pooled_pair()
    gone = with_pair(r.s, pid, status=(E.POOLED, E.DISCARDED))
    reason = check("pool-consistency", r, gone)
    assert reason == (
        f"pair {pid} is pooled at earth but discarded at moon, with no news in flight and its "
        f"cut-off ({r.pair(pid).deadline_us} us) not passed"
    )


def test_pool_consistency_detects_a_use_whose_bits_are_gone() -> None:
    r = Run()
    pid = r.pooled_pair()
    r.step(UsePair(pid, EARTH))
    assert check("pool-consistency", r) is None  # the bits are on their way to moon
    bits = r.msg_id(MsgKind.BITS, pair=pid)
    lost = replace(r.s, messages=r.s.messages.delete(bits))
    reason = check("pool-consistency", r, lost)
    assert reason is not None and reason.startswith(f"pair {pid} is pooled at moon but sent")


def test_pool_consistency_holds_while_the_partner_waits_for_news() -> None:
    r = Run()
    _, left, right = heralded_two_hop(r)
    top = r.swap(left, right, L1)
    r.receive(r.msgs(MsgKind.SWAP_DONE, dst=EARTH))
    r.step(Admit(top, EARTH))
    assert r.pair(top).status == (E.POOLED, E.INCOMING)
    assert check("pool-consistency", r) is None


def test_pool_consistency_holds_while_the_partner_is_down_or_its_reset_travels() -> None:
    r = Run()
    pid = r.pooled_pair()
    r.step(Crash(MOON))
    assert r.pair(pid).status == (E.POOLED, E.LOST) and check("pool-consistency", r) is None
    r.step(Recover(MOON))  # up again: its RESET to earth is the news in flight
    assert check("pool-consistency", r) is None
    r.receive(r.msgs(MsgKind.RESET, dst=EARTH))
    assert pid not in r.s.pairs


def test_pool_consistency_holds_after_the_shared_cutoff() -> None:
    """The sender discards right after the cut-off; the receiver still pools its half (it waits
    for the bits of a use sent at the cut-off). One microsecond earlier it would be a violation."""
    r = Run()
    pid = r.pooled_pair()
    deadline = r.pair(pid).deadline_us
    r.advance_to(deadline + 1).step(Expire(pid, EARTH))
    assert r.pair(pid).status == (E.DISCARDED, E.POOLED)
    assert check("pool-consistency", r) is None
    early = replace(r.s, now_us=deadline)
    reason = check("pool-consistency", r, early)
    assert reason is not None and reason.startswith(f"pair {pid} is pooled at moon but discarded")


# The runs of the resolved review notes (spec A5, E5): the protocol violated pool-consistency
# before the model owner's fixes. Each replays the note's actions on the correct model, checking
# every invariant after every step, up to the step the fix now rejects.


def test_pool_consistency_holds_when_a_reset_is_overtaken_by_a_swap() -> None:
    """Regression (spec E5): earth takes moon's RESET, then relay-l1 swaps a pair whose moon
    half was lost in the crash; earth must not learn the new pair as usable. The note's 17
    steps: the SWAP_DONE (step 16) now discards earth's end, and A7 (step 17) is rejected."""
    r = Run()
    rid = r.s.next_id
    r.step(ChooseRoute(POOL_EARTH_MOON, VIA_L1, Schedule.SEQUENTIAL))
    r.step(AdvanceTime(r.light(EARTH, L1)))
    for msg in r.msgs(MsgKind.ROUTE, route=rid):
        r.step(Receive(msg.id))
    left, right = r.s.next_id, r.s.next_id + 4  # generate_link uses 3 ids, its herald 1
    r.step(GenerateLink(rid, 0), GenerateLink(rid, 1))
    r.step(AdvanceTime(r.light(L1, MOON)))
    for msg in r.msgs(MsgKind.HERALD):
        r.step(Receive(msg.id))
    r.step(Crash(MOON), Recover(MOON), AdvanceTime(r.light(MOON, EARTH)))
    r.step(Receive(r.msg_id(MsgKind.RESET, dst=EARTH)))
    assert dict(r.s.heard_epoch[EARTH]) == {MOON: 1}
    assert r.msgs(MsgKind.RESET, dst=L1)  # relay-l1 has not heard of the crash yet
    top = r.s.next_id
    r.step(Swap(left, right, L1))
    assert r.pair(top).status == (E.INCOMING, E.LOST) and r.pair(top).epochs == (0, 0)
    r.step(AdvanceTime(r.light(L1, EARTH)), Receive(r.msg_id(MsgKind.SWAP_DONE, dst=EARTH)))
    assert len(r.log) == 16
    assert r.pair(top).status == (E.DISCARDED, E.LOST)  # moon's half predates epoch 1
    assert left not in r.s.pairs  # earth's old half discarded too: memory freed
    assert r.m.free_memory(r.s, EARTH) == SCENARIO.node(EARTH).memory_capacity
    with pytest.raises(NotEnabled, match=f"earth's half of pair {top} is discarded, not ready"):
        r.step(Admit(top, EARTH))
    # the pre-fix effect (earth's end READY) and the admission are still caught
    ready = with_pair(r.s, top, status=(E.READY, E.LOST), known_us=(r.s.now_us, -1))
    admitted = r.m.step(ready, Admit(top, EARTH))
    reason = check("pool-consistency", r, admitted)
    assert reason is not None and reason.startswith(f"pair {top} is pooled at earth but lost")


def test_pool_consistency_holds_when_the_swapper_crashes_after_swapping() -> None:
    """Regression (found by the Z3 induction proof of pool-consistency, spec A4): relay-l1
    swaps, then crashes and recovers; its RESET reaches moon before the delayed swap notice.
    Moon used to discard its half of the old pair (shared with relay-l1's old epoch), and the
    notice then carried DISCARDED into the new pair while earth pooled its half. A half the
    crashed node was to swap now stays: the notice merges it."""
    r = Run()
    rid = r.route(POOL_EARTH_MOON, VIA_L1)
    left, right = r.link_pair(rid, 0), r.link_pair(rid, 1)
    top = r.swap(left, right, L1)
    late = r.msg_id(MsgKind.SWAP_DONE, dst=MOON)
    r.step(Crash(L1), Recover(L1), DelayMessage(late, 10_000_000))
    r.step(AdvanceTime(max(r.light(L1, MOON), r.light(L1, EARTH))))
    r.step(Receive(r.msg_id(MsgKind.SWAP_DONE, dst=EARTH)))
    r.step(Receive(r.msg_id(MsgKind.RESET, dst=EARTH)), Receive(r.msg_id(MsgKind.RESET, dst=MOON)))
    assert r.status(right, MOON) is E.READY  # kept: relay-l1 was to swap it
    r.step(Admit(top, EARTH), AdvanceTime(10_000_000), Receive(late))
    assert r.pair(top).status == (E.POOLED, E.READY)


def test_pool_consistency_holds_when_a_stale_notice_names_the_swappers_pair() -> None:
    """Regression (found by the Z3 induction proof, spec A4): relay-l2 swaps P = (moon,
    relay-l2) into R = (moon, mars), then crashes; moon hears of the crash before the notice
    that made P. The notice's stale-epoch check used to discard P's moon half (relay-l2's half
    of P predates the crash), and R's notice carried that into R while mars pooled R. The check
    now spares the pair's own swapper, which may have swapped before it crashed."""
    r = Run()
    rid = r.route(POOL_MOON_MARS, (MOON, L1, L2, MARS), Schedule.SEQUENTIAL)
    hops = [r.generate(rid, k) for k in range(3)]
    r.receive(m for pid in hops for m in r.msgs(MsgKind.HERALD, pair=pid))
    p = r.swap(hops[0], hops[1], L1)
    r.receive([r.msg(MsgKind.SWAP_DONE, new_pair=p, dst=L2)])
    top = r.swap(p, hops[2], L2)
    r.step(Crash(L2), Recover(L2))
    r.receive([r.msg(MsgKind.RESET, dst=MOON)])
    r.receive([r.msg(MsgKind.RESET, dst=MARS)])
    r.receive([r.msg(MsgKind.SWAP_DONE, new_pair=top, dst=MARS)])
    r.step(Admit(top, MARS))
    r.step(Receive(r.msg_id(MsgKind.SWAP_DONE, new_pair=p, dst=MOON)))
    r.step(Receive(r.msg_id(MsgKind.SWAP_DONE, new_pair=top, dst=MOON)))
    assert r.pair(top).status == (E.READY, E.POOLED)


def test_pool_consistency_holds_when_a_far_end_expires_before_the_swap_news() -> None:
    """Regression (spec A5), the note's run: pool 0 waits at most 100 s; relay-l1 swaps at the
    hops' old cut-off (100 s after their stamp) and moon expires its old half 1 us later, while
    the SWAP_DONE is in flight. Intermediate pairs now get the fidelity bound only, so step 13
    (A8 at moon) is rejected; the rest of the run, without it, violates nothing."""
    r = Run(scenario=short_max_wait())
    max_wait = r.scenario.pools[POOL_EARTH_MOON].max_wait_us
    rid = r.s.next_id
    r.step(ChooseRoute(POOL_EARTH_MOON, VIA_L1, Schedule.SEQUENTIAL))
    r.step(AdvanceTime(r.light(EARTH, L1)))
    for msg in r.msgs(MsgKind.ROUTE, route=rid):
        r.step(Receive(msg.id))
    left, right = r.s.next_id, r.s.next_id + 4
    r.step(GenerateLink(rid, 0), GenerateLink(rid, 1))
    stamp = r.s.now_us
    r.step(AdvanceTime(r.light(L1, MOON)))
    for msg in r.msgs(MsgKind.HERALD):
        r.step(Receive(msg.id))
    r.advance_to(stamp + max_wait)  # the inputs' cut-off before the fix
    top = r.s.next_id
    r.step(Swap(left, right, L1), AdvanceTime(1))
    assert len(r.log) == 12
    assert r.pair(right).deadline_us > stamp + max_wait  # the fidelity bound, ~569 s
    assert r.pair(top).deadline_us == r.s.now_us - 1 + max_wait  # end-to-end: max_wait binds
    with pytest.raises(NotEnabled, match=f"moon keeps pair {right} until"):
        r.step(Expire(right, MOON))
    r.receive(r.msgs(MsgKind.SWAP_DONE, new_pair=top))
    r.step(Admit(top, EARTH))
    assert r.pair(top).status == (E.POOLED, E.READY)


def test_pool_consistency_holds_when_the_swap_cutoff_is_its_inputs() -> None:
    """Regression (spec A5) where the minimum binds: relay-l1 is the worst memory, so the
    swapped earth - moon pair would outlive the relay-l1 - moon pair it came from. Moon's
    SWAP_DONE is delayed; moon expires its old half right after that half's cut-off; earth has
    pooled the new pair. When moon's news arrives its end is DISCARDED — after the new pair's
    cut-off, which is its inputs'. With the fresh (pre-fix) cut-off it would be a violation."""
    r = Run(scenario=poor_relay_memory())
    _, left, right = heralded_two_hop(r)
    t = r.s.now_us
    top = r.swap(left, right, L1)
    p = r.pair(top)
    fresh = r.m.deadline(p.nodes, p.cost_nnp, t, POOL_EARTH_MOON)
    assert p.deadline_us == r.pair(right).deadline_us < fresh
    late = r.msg(MsgKind.SWAP_DONE, dst=MOON)
    r.step(DelayMessage(late.id, fresh - late.arrive_us))  # arrives at the fresh cut-off
    r.receive(r.msgs(MsgKind.SWAP_DONE, dst=EARTH)).step(Admit(top, EARTH))
    r.advance_to(r.pair(right).deadline_us + 1).step(Expire(right, MOON))
    assert r.pair(top).status == (E.POOLED, E.INCOMING)  # moon's half: listed under right
    r.receive(r.msgs(MsgKind.SWAP_DONE, dst=MOON))
    assert r.pair(top).status == (E.POOLED, E.DISCARDED) and r.s.now_us == fresh
    assert check("pool-consistency", r) is None  # the new pair's cut-off has passed
    before_fix = with_pair(r.s, top, deadline_us=fresh)
    reason = check("pool-consistency", r, before_fix)
    assert reason is not None and reason.startswith(f"pair {top} is pooled at earth but discarded")


# --- no-silent-failure ------------------------------------------------------------------------


def crashed_receiver(r: Run) -> int:
    pid = r.pooled_pair()
    r.step(UsePair(pid, EARTH), Crash(MOON), Recover(MOON))
    r.advance(r.light(EARTH, MOON)).step(Deliver(r.msg_id(MsgKind.BITS, pair=pid)))
    return pid


def test_no_silent_failure_detects_success_on_a_lost_half() -> None:
    r = Run()
    pid = crashed_receiver(r)
    d = r.s.last_delivery
    assert d is not None
    silent = replace(r.s, last_delivery=replace(d, outcome=Outcome.DELIVERED))
    reason = check("no-silent-failure", r, silent)
    assert reason == f"use of pair {pid} reported delivered at moon, whose half was lost"


def test_no_silent_failure_holds_when_the_loss_is_reported() -> None:
    r = Run()
    crashed_receiver(r)
    d = r.s.last_delivery
    assert d is not None and d.half_lost and d.outcome is Outcome.FAILED_LOST
    assert check("no-silent-failure", r) is None


# --- pool-well-formed -------------------------------------------------------------------------


def test_pool_well_formed_detects_a_pooled_part_of_a_route() -> None:
    r = Run()
    _, left, _ = heralded_two_hop(r)
    pooled = with_pair(r.s, left, status=(E.POOLED, E.READY))
    reason = check("pool-well-formed", r, pooled)
    assert reason == f"pair {left} (('earth', 'relay-l1')) is pooled but does not join earth-moon"


def test_pool_well_formed_detects_a_pooled_pair_with_a_swapper() -> None:
    r = Run()
    pid = r.pooled_pair()
    odd = with_pair(r.s, pid, swapper=L1)
    reason = check("pool-well-formed", r, odd)
    assert reason is not None and "is pooled but does not join earth-moon" in reason


def test_pool_well_formed_holds_for_swapped_and_direct_pairs() -> None:
    r = Run()
    _, left, right = heralded_two_hop(r)
    top = r.swap(left, right, L1)
    r.receive(r.msgs(MsgKind.SWAP_DONE, new_pair=top))
    r.admit_both(top)
    r.pooled_pair(r.route())
    assert check("pool-well-formed", r) is None


# --- route-believed-up ------------------------------------------------------------------------


def test_route_believed_up_detects_a_link_believed_down() -> None:
    r = Run()
    rid = r.route()
    bad = replace(
        r.s, routes=r.s.routes.set(rid, replace(r.s.routes[rid], believed_down=frozenset({0})))
    )
    reason = check("route-believed-up", r, bad)
    assert reason == (
        f"route {rid} of pool 0 uses link 0 (earth-moon), which earth believed down when it "
        f"chose the route at 0 us"
    )


def test_route_believed_up_detects_a_path_off_the_links() -> None:
    r = Run()
    rid = r.route()
    bad = replace(r.s, routes=r.s.routes.set(rid, replace(r.s.routes[rid], path=(EARTH, MARS))))
    assert check("route-believed-up", r, bad) == f"route {rid} uses earth-mars, which is not a link"


def test_route_believed_up_holds_around_a_link_believed_down() -> None:
    r = Run().step(LinkDown(LINK_MOON_L1))
    rid = r.route(POOL_EARTH_MARS, (EARTH, L1, L2, MARS))
    r.receive(r.msgs(MsgKind.LINK_STATE, dst=EARTH))
    other = r.route(POOL_EARTH_MOON, (EARTH, MOON))
    assert r.s.routes[other].believed_down == {LINK_MOON_L1}
    assert rid in r.s.routes and check("route-believed-up", r) is None


# --- swap-follows-schedule --------------------------------------------------------------------


def test_swap_follows_schedule_detects_a_pair_off_its_segment() -> None:
    r = Run()
    rid, left, _ = heralded_two_hop(r)
    moved = with_pair(r.s, left, segment=(1, 2))
    reason = check("swap-follows-schedule", r, moved)
    assert reason == f"pair {left} joins ('earth', 'relay-l1'), not segment (1, 2) of route {rid}"


def test_swap_follows_schedule_detects_a_pair_whose_route_is_gone() -> None:
    r = Run()
    rid, _, _ = heralded_two_hop(r)
    gone = replace(r.s, routes=r.s.routes.delete(rid))
    reason = check("swap-follows-schedule", r, gone)
    assert reason is not None and reason.endswith(f"names route {rid}, which is gone")


def test_swap_follows_schedule_detects_a_segment_off_the_schedule_tree() -> None:
    """A pair that joins the right path nodes for its segment, but a segment the route's
    schedule never makes: sequential over three hops makes (0, 1), (1, 2), (0, 2), (2, 3), (0, 3),
    never (1, 3)."""
    r = Run()
    rid = r.route(POOL_EARTH_MARS, (EARTH, L1, L2, MARS), Schedule.SEQUENTIAL)
    last = r.link_pair(rid, 2)
    assert check("swap-follows-schedule", r) is None
    stretched = with_pair(r.s, last, nodes=(L1, MARS), segment=(1, 3))
    reason = check("swap-follows-schedule", r, stretched)
    assert reason == (
        f"pair {last} spans segment (1, 3), which the sequential schedule of route {rid} never "
        "makes"
    )
    route = replace(r.s.routes[rid], schedule=Schedule.NESTED)  # (0 1)((1 2)(2 3)): has (1, 3)
    nested = replace(stretched, routes=stretched.routes.set(rid, route))
    assert check("swap-follows-schedule", r, nested) is None


@pytest.mark.parametrize("schedule", list(Schedule), ids=lambda s: s.value)
def test_swap_follows_schedule_holds_through_four_hops(schedule: Schedule) -> None:
    r = Run()
    rid = r.route(POOL_EARTH_MARS, (EARTH, MOON, L1, L2, MARS), schedule)
    top = r.end_to_end(rid)
    assert r.pair(top).segment == (0, 4)
    assert check("swap-follows-schedule", r) is None


# --- type-ok ----------------------------------------------------------------------------------


def _tampered_types(r: Run, pid: int) -> list[tuple[str, State, str]]:
    s, p = r.s, r.pair(pid)
    msg = next(iter(s.messages.values()))
    return [
        ("negative-time", replace(s, now_us=-1), "now_us = -1 < 0"),
        ("key-mismatch", replace(s, pairs=s.pairs.set(pid + 100, p)), "does not match id"),
        (
            "id-not-yet-issued",
            replace(s, pairs=s.pairs.set(s.next_id, replace(p, id=s.next_id))),
            f"or next_id {s.next_id}",
        ),
        ("same-ends", with_pair(s, pid, nodes=(EARTH, EARTH)), "has ends ('earth', 'earth')"),
        ("unknown-end", with_pair(s, pid, nodes=(EARTH, "venus")), "has ends"),
        ("negative-cost", with_pair(s, pid, cost_nnp=-1), "has cost -1"),
        ("future-stamp", with_pair(s, pid, stamp_us=s.now_us + 1), "stamp"),
        ("unknown-pool", with_pair(s, pid, pool=9), "names pool 9"),
        ("status-string", with_pair(s, pid, status=("pooled", E.POOLED)), "has status"),
        (
            "message-from-nowhere",
            replace(s, messages=s.messages.set(msg.id, replace(msg, src="venus"))),
            "names venus -> ",
        ),
        (
            "message-back-in-time",
            replace(s, messages=s.messages.set(msg.id, replace(msg, arrive_us=msg.sent_us - 1))),
            f"message {msg.id} has sent",
        ),
        ("unknown-node-down", replace(s, nodes_down=frozenset({"venus"})), "['venus']"),
        ("unknown-link-down", replace(s, links_down=frozenset({7})), "unknown links down: [7]"),
    ]


def test_type_ok_detects_every_out_of_domain_field() -> None:
    r = Run()
    pid = r.pooled_pair()
    r.step(UsePair(pid, EARTH))  # a message in flight to tamper with
    for name, bad, fragment in _tampered_types(r, pid):
        reason = check("type-ok", r, bad)
        assert reason is not None and fragment in reason, f"{name}: {reason!r}"


def test_type_ok_holds_on_reached_states() -> None:
    r = Run()
    _, left, right = heralded_two_hop(r)
    r.swap(left, right, L1)
    r.step(Crash(MOON), LinkDown(LINK_EARTH_MOON))
    assert check("type-ok", r) is None


# --- message-light-bound ----------------------------------------------------------------------


def test_message_light_bound_detects_a_message_faster_than_light() -> None:
    r = Run()
    r.choose_route(POOL_EARTH_MOON, (EARTH, MOON))
    msg = r.msg(MsgKind.ROUTE)
    fast = replace(
        r.s, messages=r.s.messages.set(msg.id, replace(msg, arrive_us=msg.arrive_us - 1))
    )
    reason = check("message-light-bound", r, fast)
    assert reason == f"message {msg.id} earth->moon arrives faster than light"


def test_message_light_bound_holds_at_light_speed_and_after_delays() -> None:
    r = Run()
    r.choose_route(POOL_EARTH_MARS, (EARTH, L1, L2, MARS))
    assert all(x.arrive_us == x.sent_us + r.light(x.src, x.dst) for x in r.msgs())
    assert check("message-light-bound", r) is None
    r.step(DelayMessage(r.msgs()[0].id, 1))
    assert check("message-light-bound", r) is None


# --- mutants: pinned runs ---------------------------------------------------------------------


def check_refuted(r: Run, invariant: str, *, at: int, rejected: str | None) -> None:
    """``r`` ran on ``r.mutant``; the planted bug acts at step ``at`` (1-based).

    - the final state violates ``invariant``, which the mutant names in ``breaks``, and no
      invariant the mutant names is violated before step ``at``;
    - the same actions on the correct model: rejected at step ``at`` with a reason containing
      ``rejected``, or (``rejected is None``) all accepted with no invariant violated after any
      step;
    - the run as an ITF trace replays on the mutant model and reports an invariant it names.
    """
    mutant = r.mutant
    assert mutant is not None and invariant in mutant.breaks
    found = {v.invariant: v.reason for v in r.violations()}
    assert invariant in found, f"{mutant.key}: expected {invariant}, got {found}"
    again = r.replay(r.m)
    assert again.rejected_at is None and len(again.seen) == len(r.log)
    for k, seen in enumerate(again.seen[: at - 1], start=1):
        assert not {v.invariant for v in seen} & set(mutant.breaks), f"violated at step {k}"
    correct = r.replay(Model(r.scenario))
    if rejected is None:
        assert correct.rejected_at is None, f"correct model rejected: {correct.error}"
    else:
        assert correct.rejected_at == at, f"correct model: {correct.rejected_at} {correct.error}"
        assert correct.error is not None and rejected in correct.error.reason
    assert all(not seen for seen in correct.seen), f"correct model violates {correct.seen}"
    doc = build_trace(r.m, r.log, seed=0, invariant=invariant)
    assert f'"mutant": "{mutant.key}"' in dumps(doc)
    result = replay_doc(doc, "<pinned run>", mutant)
    assert result.violation is not None and result.violation.invariant in mutant.breaks


def test_every_mutant_claim_is_pinned() -> None:
    """For each mutant and each invariant in its ``breaks``, a ``test_<mutant>_breaks_<id>``."""
    names = set(dir(sys.modules[__name__]))
    for mutant in Mutant:
        for inv in mutant.breaks:
            assert inv in INVARIANTS, f"{mutant.key} claims unknown invariant {inv}"
            name = f"test_{mutant.key}_breaks_{inv}".replace("-", "_")
            assert name in names, f"no pinned run {name}"


def test_instant_effect_breaks_causality() -> None:
    """Whitepaper §3.3 literally: the effect 'manifests instantly' at the receiver."""
    r = Run(Mutant.INSTANT_EFFECT, check=False)
    pid = r.pooled_pair()
    r.step(UsePair(pid, EARTH))
    r.step(Deliver(r.msg_id(MsgKind.BITS, pair=pid)))  # at the trigger time: 'augenblicklich'
    d = r.s.last_delivery
    assert d is not None and d.deliver_us == d.send_us  # zero signal latency, as claimed
    check_refuted(r, "causality", at=len(r.log), rejected="arrives at")


def test_threshold_at_send_breaks_fidelity_on_use() -> None:
    """Used while still good enough at send, the pair decays below the threshold in transit."""
    r = Run(Mutant.THRESHOLD_AT_SEND, check=False)
    pid = r.pooled_pair()
    p, th = r.pair(pid), SCENARIO.pools[POOL_EARTH_MOON].threshold_nnp
    t = last_us_with_cost_at_most(r.m, p, th)
    assert r.m.cost_at(p, t) + r.m.transit_decay(EARTH, MOON) > th  # stale on arrival
    r.advance_to(t).step(UsePair(pid, EARTH))
    at = len(r.log)
    r.advance(r.light(EARTH, MOON)).step(Deliver(r.msg_id(MsgKind.BITS, pair=pid)))
    check_refuted(r, "fidelity-on-use", at=at, rejected="is past its cut-off")


def test_no_threshold_breaks_fidelity_on_use() -> None:
    r = Run(Mutant.NO_THRESHOLD, check=False)
    pid = r.pooled_pair()
    r.advance(1000 * 10**6).step(UsePair(pid, EARTH))  # 1000 s later: far below threshold
    at = len(r.log)
    r.advance(r.light(EARTH, MOON)).step(Deliver(r.msg_id(MsgKind.BITS, pair=pid)))
    check_refuted(r, "fidelity-on-use", at=at, rejected="is past its cut-off")


def test_reuse_after_use_breaks_no_double_use() -> None:
    r = Run(Mutant.REUSE_AFTER_USE, check=False)
    pid = r.pooled_pair()
    r.step(UsePair(pid, EARTH), UsePair(pid, EARTH))
    check_refuted(r, "no-double-use", at=len(r.log), rejected="is sent, not pooled")


def test_reuse_after_use_breaks_pool_consistency() -> None:
    """After the first use is delivered, earth still lists the pair as pooled."""
    r = Run(Mutant.REUSE_AFTER_USE, check=False)
    pid = r.pooled_pair()
    r.step(UsePair(pid, EARTH))
    at = len(r.log)
    r.advance(r.light(EARTH, MOON)).step(Deliver(r.msg_id(MsgKind.BITS, pair=pid)))
    assert r.pair(pid).status == (E.POOLED, E.RECEIVED)
    check_refuted(r, "pool-consistency", at=at, rejected=None)


def test_early_admit_breaks_causality() -> None:
    r = Run(Mutant.EARLY_ADMIT, check=False)
    pid = r.generate(r.route(), 0)
    r.step(Admit(pid, EARTH))  # before moon's herald could reach earth
    check_refuted(r, "causality", at=len(r.log), rejected="is pending, not ready")


def test_overcommit_memory_breaks_memory_capacity() -> None:
    r = Run(Mutant.OVERCOMMIT_MEMORY, check=False)
    rid = r.route()
    for _ in range(SCENARIO.node(MOON).memory_capacity + 1):
        r.generate(rid, 0)
    check_refuted(r, "memory-capacity", at=len(r.log), rejected="no free memory qubit at moon")


def test_one_sided_expiry_breaks_pool_consistency() -> None:
    r = Run(Mutant.ONE_SIDED_EXPIRY, check=False)
    pid = r.pooled_pair()
    r.step(Expire(pid, MOON))  # long before the shared cut-off; earth is not told
    check_refuted(r, "pool-consistency", at=len(r.log), rejected=f"moon keeps pair {pid} until")


def test_crash_silent_breaks_no_silent_failure() -> None:
    r = Run(Mutant.CRASH_SILENT, check=False)
    pid = r.pooled_pair()
    r.step(UsePair(pid, EARTH), Crash(MOON), Recover(MOON))
    r.advance(r.light(EARTH, MOON)).step(Deliver(r.msg_id(MsgKind.BITS, pair=pid)))
    d = r.s.last_delivery
    assert d is not None and d.half_lost and d.outcome is Outcome.DELIVERED
    check_refuted(r, "no-silent-failure", at=len(r.log), rejected=None)


def test_double_swap_breaks_no_double_use() -> None:
    """Both relays swap the middle pair of earth - relay-l1 - relay-l2 - mars."""
    r = Run(Mutant.DOUBLE_SWAP, check=False)
    rid = r.route(POOL_EARTH_MARS, (EARTH, L1, L2, MARS), Schedule.SEQUENTIAL)
    a, b, c = r.generate(rid, 0), r.generate(rid, 1), r.generate(rid, 2)
    r.receive(r.msgs(MsgKind.HERALD))
    assert r.pair(b).swapper == L1  # sequential: (0 1)(1 2) are joined at relay-l1
    r.swap(a, b, L1)
    r.swap(b, c, L2)
    check_refuted(r, "no-double-use", at=len(r.log), rejected="at relay-l1, not relay-l2")


def test_double_swap_breaks_swap_follows_schedule() -> None:
    """Relay-l2 swaps the middle pair of earth - relay-l1 - relay-l2 - mars, which the
    sequential schedule gives to relay-l1: the new relay-l1 - mars pair spans segment (1, 3),
    outside the schedule's tree. No pair is consumed twice: only swap-follows-schedule sees it."""
    r = Run(Mutant.DOUBLE_SWAP, check=False)
    rid = r.route(POOL_EARTH_MARS, (EARTH, L1, L2, MARS), Schedule.SEQUENTIAL)
    _, b, c = r.generate(rid, 0), r.generate(rid, 1), r.generate(rid, 2)
    r.receive(r.msgs(MsgKind.HERALD))
    assert (r.pair(b).swapper, r.pair(c).swapper) == (L1, L2)
    top = r.swap(b, c, L2)
    assert r.pair(top).nodes == (L1, MARS) and r.pair(top).segment == (1, 3)
    assert r.broken() == {"swap-follows-schedule"}
    reason = check("swap-follows-schedule", r)
    assert reason == (
        f"pair {top} spans segment (1, 3), which the sequential schedule of route {rid} never makes"
    )
    check_refuted(r, "swap-follows-schedule", at=len(r.log), rejected="at relay-l1, not relay-l2")


def test_swap_no_wait_breaks_causality() -> None:
    r = Run(Mutant.SWAP_NO_WAIT, check=False)
    _, left, right = heralded_two_hop(r)
    top = r.swap(left, right, L1)
    assert r.pair(top).status == (E.READY, E.READY)  # before any news left relay-l1
    check_refuted(r, "causality", at=len(r.log), rejected=None)


def test_both_ends_send_breaks_no_double_use() -> None:
    r = Run(Mutant.BOTH_ENDS_SEND, check=False)
    pid = r.pooled_pair()
    r.step(UsePair(pid, EARTH), UsePair(pid, MOON))
    check_refuted(r, "no-double-use", at=len(r.log), rejected="sends only from earth")


def test_route_through_down_breaks_route_believed_up() -> None:
    r = Run(Mutant.ROUTE_THROUGH_DOWN, check=False)
    r.step(LinkDown(LINK_EARTH_MOON))  # earth, an end of the link, knows at once
    r.choose_route(POOL_EARTH_MOON, (EARTH, MOON))
    check_refuted(
        r, "route-believed-up", at=len(r.log), rejected="believes link(s) [0] on this path"
    )
