"""Regressions of pool-consistency (spec A4, A5, E5): the runs of the resolved review notes and
of the bugs the Z3 induction proof found, replayed on the correct model.
"""

from __future__ import annotations

import pytest

from pqms_model.errors import NotEnabled
from pqms_model.protocol.actions import (
    Admit,
    AdvanceTime,
    ChooseRoute,
    Crash,
    DelayMessage,
    Expire,
    GenerateLink,
    Receive,
    Recover,
    Swap,
)
from pqms_model.protocol.state import MsgKind, Schedule
from tests.support.builders import (
    EARTH,
    L1,
    L2,
    MARS,
    MOON,
    POOL_EARTH_MOON,
    POOL_MOON_MARS,
    SCENARIO,
    Run,
    poor_relay_memory,
    short_max_wait,
)
from tests.support.invariant_cases import VIA_L1, E, check, two_hop_heralded, with_pair

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
    _, left, right = two_hop_heralded(r)
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
