"""Effects of the actions that make and join pairs (spec A3-A6): generation and its cut-off,
heralds, swap notices and resets received, swaps and purification.
"""

from __future__ import annotations

import pytest

from pqms_model.errors import NotEnabled
from pqms_model.physics.cost import cost_to_fidelity, decay_cost_nnp, fidelity_cost_nnp
from pqms_model.physics.werner import purify_bbpssw
from pqms_model.protocol.actions import Crash, Deliver, Purify, Receive, Recover, UsePair
from pqms_model.protocol.state import MsgKind, Outcome
from tests.support.builders import (
    EARTH,
    L1,
    L2,
    LINK_EARTH_MOON,
    MARS,
    MOON,
    POOL_EARTH_MARS,
    POOL_EARTH_MOON,
    SCENARIO,
    Run,
    poor_relay_memory,
    short_max_wait,
)
from tests.support.model_cases import (
    NESTED,
    E,
    three_hop_swapped_twice,
    two_hop_heralded,
    two_ready_direct,
)

# generate_link (A3) ---------------------------------------------------------------------------


def test_generate_link_effect() -> None:
    r = Run()
    rid = r.route()
    before = r.s
    pid = r.generate(rid, 0)
    p, link = r.pair(pid), SCENARIO.links[LINK_EARTH_MOON]
    t, coh_earth = before.now_us, SCENARIO.node(EARTH).coherence_us
    assert pid == before.next_id and p.qubits == (pid + 1, pid + 2)
    assert p.nodes == (EARTH, MOON) and p.status == (E.PENDING, E.READY)
    assert p.epochs == (0, 0) and p.pool == POOL_EARTH_MOON and p.route == rid
    assert p.segment == (0, 1) and p.swapper is None  # a one-hop route: end-to-end at once
    # heralded absorption: earth's photon flew one light time before moon stored it
    assert p.cost_nnp == link.initial_cost_nnp + decay_cost_nnp(link.light_us, coh_earth)
    assert p.stamp_us == t and p.deadline_us == r.m.deadline(p.nodes, p.cost_nnp, t, 0)
    assert p.known_us == (-1, t) and p.cause == ((MOON, t), (MOON, t)) and p.consumed == 0
    herald = r.msg(MsgKind.HERALD, pair=pid)
    assert (herald.src, herald.dst, herald.arrive_us) == (MOON, EARTH, t + link.light_us)
    assert r.s.next_id == pid + 4 and r.s.now_us == t


def test_generate_link_swapper_follows_schedule() -> None:
    r = Run()
    rid = r.route(POOL_EARTH_MARS, r.m.route_paths[POOL_EARTH_MARS][1], NESTED)
    swappers = [r.pair(r.generate(rid, h)).swapper for h in range(4)]
    assert swappers == [MOON, MOON, L2, L2]  # (0 1)(1 2) at index 1, (2 3)(3 4) at index 3


def test_cutoff_is_the_last_send_time_meeting_the_threshold_at_the_receiver() -> None:
    r = Run()
    pid = r.link_pair(r.route(), 0)
    p, pool = r.pair(pid), SCENARIO.pools[POOL_EARTH_MOON]
    margin = pool.threshold_nnp - r.m.transit_decay(EARTH, MOON)
    assert p.stamp_us < p.deadline_us < p.stamp_us + pool.max_wait_us  # the threshold binds
    assert r.m.cost_at(p, p.deadline_us) <= margin < r.m.cost_at(p, p.deadline_us + 1)


def test_generate_link_intermediate_cutoff_has_no_max_wait() -> None:
    """``max_wait`` limits how long the pool waits for an end-to-end pair; an intermediate pair
    gets the fidelity bound only (spec §2.4). With pool 0 waiting at most 100 s, a direct pair's
    cut-off is 100 s after its stamp, while the hops of a two-hop route last until the threshold
    binds."""
    r = Run(scenario=short_max_wait())
    max_wait = r.scenario.pools[POOL_EARTH_MOON].max_wait_us
    direct = r.pair(r.link_pair(r.route(), 0))
    assert direct.swapper is None and direct.deadline_us == direct.stamp_us + max_wait
    _, left, right = two_hop_heralded(r)
    margin = r.scenario.pools[POOL_EARTH_MOON].threshold_nnp - r.m.transit_decay(EARTH, MOON)
    for pid in (left, right):
        p = r.pair(pid)
        assert p.swapper == L1 and p.deadline_us > p.stamp_us + max_wait
        assert p.deadline_us == r.m.deadline(p.nodes, p.cost_nnp, p.stamp_us, 0, False)
        assert r.m.cost_at(p, p.deadline_us) <= margin < r.m.cost_at(p, p.deadline_us + 1)


# receive (A4) ---------------------------------------------------------------------------------


def test_receive_herald_effect() -> None:
    r = Run()
    pid = r.generate(r.route(), 0)
    herald = r.msg(MsgKind.HERALD, pair=pid)
    r.advance_to(herald.arrive_us).step(Receive(herald.id))
    assert r.pair(pid).status == (E.READY, E.READY)
    assert r.pair(pid).known_us == (herald.arrive_us, r.pair(pid).stamp_us)
    assert herald.id not in r.s.messages


def test_receive_swap_notices_in_the_order_of_the_swaps() -> None:
    """Regression (spec A4, resolved review note): earth took relay-l2's swap notice before
    relay-l1's, copied INCOMING into the end-to-end pair and stranded it. The note's run is now
    rejected at that receive (``receive_swap_notice_before_the_earlier_one``); taken in the
    order of the swaps, the notices make the end-to-end pair usable, and a use is delivered."""
    r = Run()
    middle, top = three_hop_swapped_twice(r)
    first = r.msg(MsgKind.SWAP_DONE, dst=EARTH, new_pair=middle)
    later = r.msg(MsgKind.SWAP_DONE, dst=EARTH, new_pair=top)
    assert later.pair == middle and first.arrive_us < later.arrive_us == r.s.now_us
    with pytest.raises(NotEnabled, match=f"earth's half of pair {middle} is itself still incoming"):
        r.step(Receive(later.id))
    assert r.status(middle, EARTH) is E.INCOMING and r.status(top, EARTH) is E.INCOMING
    r.step(Receive(first.id))
    assert r.status(middle, EARTH) is E.READY  # the earlier swap's pair, known at earth
    r.step(Receive(later.id))
    assert r.status(top, EARTH) is E.READY and middle not in r.s.pairs  # merged: retired
    r.receive(r.msgs(MsgKind.SWAP_DONE, dst=MARS))
    assert r.pair(top).status == (E.READY, E.READY)
    r.admit_both(top).step(UsePair(top, EARTH))
    r.advance(r.light(EARTH, MARS)).step(Deliver(r.msg_id(MsgKind.BITS, pair=top)))
    d = r.s.last_delivery
    assert d is not None and d.outcome is Outcome.DELIVERED


def test_receive_reset_discards_halves_shared_with_the_old_epoch() -> None:
    r = Run()
    keep = r.pooled_pair()
    r.step(Crash(MOON), Recover(MOON))
    assert r.s.epoch[MOON] == 1 and r.pair(keep).status == (E.POOLED, E.LOST)
    reset = r.msg(MsgKind.RESET, dst=EARTH)
    assert reset.epoch == 1 and reset.pair == -1
    assert dict(r.s.heard_epoch[EARTH]) == {}  # nothing heard yet: every epoch counts as 0
    r.receive([reset])
    assert keep not in r.s.pairs  # discarded at earth, lost at moon: retired
    assert dict(r.s.heard_epoch[EARTH]) == {MOON: 1}  # earth remembers moon's new epoch
    assert all(dict(r.s.heard_epoch[n]) == {} for n in SCENARIO.node_names if n != EARTH)
    fresh = r.pooled_pair(next(iter(r.s.routes)))
    assert r.pair(fresh).epochs == (0, 1)


def test_receive_reset_remembers_the_newest_epoch() -> None:
    """Two crashes of moon: the RESETs of epochs 1 and 2 arrive together; taken newest first,
    the older one does not lower what earth heard."""
    r = Run().step(Crash(MOON), Recover(MOON), Crash(MOON), Recover(MOON))
    one, two = sorted(r.msgs(MsgKind.RESET, dst=EARTH), key=lambda x: x.epoch)
    assert (one.epoch, two.epoch) == (1, 2) and one.arrive_us == two.arrive_us
    r.advance_to(two.arrive_us).step(Receive(two.id))
    assert dict(r.s.heard_epoch[EARTH]) == {MOON: 2}
    r.step(Receive(one.id))
    assert dict(r.s.heard_epoch[EARTH]) == {MOON: 2}
    assert r.s.epoch[MOON] == 2 and dict(r.s.heard_epoch[MOON]) == {}


# swap (A5) ------------------------------------------------------------------------------------


def test_swap_effect() -> None:
    r = Run()
    _, left, right = two_hop_heralded(r)
    t, lp, rp = r.s.now_us, r.pair(left), r.pair(right)
    expected = r.m.cost_at(lp, t) + r.m.cost_at(rp, t) + SCENARIO.swap_gate_cost_nnp
    top = r.swap(left, right, L1)
    p = r.pair(top)
    assert p.nodes == (EARTH, MOON) and p.segment == (0, 2) and p.swapper is None
    assert p.qubits == (lp.qubits[0], rp.qubits[1])  # the far qubits are handed on
    assert p.status == (E.INCOMING, E.INCOMING) and p.known_us == (-1, -1)
    assert p.cost_nnp == expected and p.stamp_us == t
    assert p.cause == ((L1, t), (L1, t))
    assert r.pair(left).status == (E.READY, E.SWAPPED) and r.pair(left).consumed == 1
    assert r.pair(right).status == (E.SWAPPED, E.READY) and r.pair(right).consumed == 1
    done = r.msgs(MsgKind.SWAP_DONE, new_pair=top)
    assert {(x.dst, x.pair) for x in done} == {(EARTH, left), (MOON, right)}
    assert all(x.arrive_us == t + r.light(L1, x.dst) for x in done)
    r.receive(done)
    assert r.pair(top).status == (E.READY, E.READY)
    assert left not in r.s.pairs and right not in r.s.pairs  # merged and swapped: retired


def test_swap_cutoff_is_bounded_by_its_inputs() -> None:
    """Regression (spec A5, resolved review note): the new pair's cut-off is the minimum of its
    own and its inputs'. With relay-l1 the worst memory, the earth - moon pair a swap there makes
    would decay slowly enough to outlive the relay-l1 - moon pair it was built from."""
    r = Run(scenario=poor_relay_memory())
    _, left, right = two_hop_heralded(r)
    lp, rp, t = r.pair(left), r.pair(right), r.s.now_us
    top = r.swap(left, right, L1)
    p = r.pair(top)
    fresh = r.m.deadline(p.nodes, p.cost_nnp, t, POOL_EARTH_MOON)  # end-to-end: max_wait too
    assert rp.deadline_us < lp.deadline_us and rp.deadline_us < fresh  # the inputs' binds
    assert p.deadline_us == min(fresh, lp.deadline_us, rp.deadline_us) == rp.deadline_us
    # in the default scenario the fresh cut-off is the earlier one: the minimum changes nothing
    d = Run()
    _, left, right = two_hop_heralded(d)
    lp, rp, t = d.pair(left), d.pair(right), d.s.now_us
    p = d.pair(d.swap(left, right, L1))
    fresh = d.m.deadline(p.nodes, p.cost_nnp, t, POOL_EARTH_MOON)
    assert p.deadline_us == fresh < min(lp.deadline_us, rp.deadline_us)


def test_swap_carries_a_lost_half_into_the_new_pair() -> None:
    r = Run()
    _, left, right = two_hop_heralded(r)
    r.step(Crash(MOON))
    top = r.swap(left, right, L1)
    assert r.pair(top).status == (E.INCOMING, E.LOST)


# purify (A6) ----------------------------------------------------------------------------------


def test_purify_success() -> None:
    r = Run()
    keep, sac = two_ready_direct(r)
    t = r.s.now_us
    f1 = r.m.cost_at(r.pair(keep), t)
    f2 = r.m.cost_at(r.pair(sac), t)
    r.step(Purify(keep, sac, True))
    k = r.pair(keep)
    assert k.status == (E.PENDING, E.PENDING) and k.stamp_us == t and k.known_us == (-1, -1)
    assert k.cause == ((MOON, t), (EARTH, t))
    assert sac not in r.s.pairs  # consumed at both ends, no message names it: retired
    f_out, _ = purify_bbpssw(cost_to_fidelity(f1), cost_to_fidelity(f2))
    assert k.cost_nnp == fidelity_cost_nnp(f_out) + 4  # BBPSSW, rounded up, plus a margin
    assert k.cost_nnp < f1  # better than either input
    results = r.msgs(MsgKind.PURIFY_RESULT, pair=keep)
    assert {(x.src, x.dst, x.ok) for x in results} == {(EARTH, MOON, True), (MOON, EARTH, True)}
    r.receive(results)
    assert r.pair(keep).status == (E.READY, E.READY) and sac not in r.s.pairs
    r.admit_both(keep).step(UsePair(keep, EARTH))
    bits = r.msg(MsgKind.BITS, pair=keep)
    r.advance_to(bits.arrive_us).step(Deliver(bits.id))
    assert r.s.last_delivery is not None and r.s.last_delivery.outcome is Outcome.DELIVERED


def test_purify_failure() -> None:
    r = Run()
    keep, sac = two_ready_direct(r)
    cost = r.m.cost_at(r.pair(keep), r.s.now_us)
    r.step(Purify(keep, sac, False))
    assert r.pair(keep).cost_nnp == cost and r.pair(keep).status == (E.PENDING, E.PENDING)
    r.receive(r.msgs(MsgKind.PURIFY_RESULT, dst=EARTH))
    assert r.pair(keep).status == (E.DISCARDED, E.PENDING)  # each end learns on its own
    r.receive(r.msgs(MsgKind.PURIFY_RESULT, dst=MOON))
    assert keep not in r.s.pairs and sac not in r.s.pairs  # both gone: memory freed
    assert r.m.free_memory(r.s, EARTH) == SCENARIO.node(EARTH).memory_capacity
