"""Effects of the actions on end-to-end pairs (spec A7-A10): admission, expiry at the shared
cut-off, a use and its delivery at or after the cut-off.
"""

from __future__ import annotations

import pytest

from pqms_model.errors import NotEnabled
from pqms_model.model.transition import MAX_ADVANCE_US
from pqms_model.protocol.actions import Admit, DelayMessage, Deliver, Expire, UsePair
from pqms_model.protocol.state import MsgKind, Outcome
from tests.support.builders import EARTH, L1, MOON, SCENARIO, Run
from tests.support.model_cases import E, two_hop_heralded


def test_admit_effect() -> None:
    r = Run()
    pid = r.link_pair(r.route(), 0)
    known = r.pair(pid).known_us
    r.step(Admit(pid, MOON))
    assert r.pair(pid).status == (E.READY, E.POOLED) and r.pair(pid).known_us == known


def test_expire_effect() -> None:
    """The sender discards right after the shared cut-off, the receiver one light time later."""
    r = Run()
    pid = r.pooled_pair()
    deadline = r.pair(pid).deadline_us
    assert r.m.expiry_us(r.pair(pid), 0) == deadline  # earth, the pool's sender
    assert r.m.expiry_us(r.pair(pid), 1) == deadline + r.light(EARTH, MOON)  # moon, the receiver
    r.advance_to(deadline + 1).step(Expire(pid, EARTH))
    assert r.pair(pid).status == (E.DISCARDED, E.POOLED)
    r.advance_to(deadline + r.light(EARTH, MOON) + 1).step(Expire(pid, MOON))
    assert pid not in r.s.pairs
    assert r.m.free_memory(r.s, MOON) == SCENARIO.node(MOON).memory_capacity


def test_expire_receiver_keeps_its_half_until_the_bits_arrive() -> None:
    """Regression (spec A8, resolved review note): the receiver expired its half while the bits
    of a use sent at the cut-off were in flight, and the use failed. The note's run — pooled
    pair; advance to the cut-off; A9 at earth; advance 1 us; A8 at moon; advance L - 1; A10 —
    is now rejected at A8, and without it the use is delivered. (No invariant caught the old
    behaviour: the failure was reported, FAILED_LOST; it was a liveness bug.)"""
    r = Run()
    pid = r.pooled_pair()
    deadline, light = r.pair(pid).deadline_us, r.light(EARTH, MOON)
    r.advance_to(deadline).step(UsePair(pid, EARTH)).advance(1)
    with pytest.raises(NotEnabled, match=f"moon keeps pair {pid} until {deadline + light} us"):
        r.step(Expire(pid, MOON))
    r.advance(light - 1).step(Deliver(r.msg_id(MsgKind.BITS, pair=pid)))
    d = r.s.last_delivery
    assert d is not None and d.outcome is Outcome.DELIVERED and not d.half_lost
    assert d.send_us == deadline and d.deliver_us == deadline + light


def test_expire_only_the_receiver_of_an_end_to_end_pair_waits_for_the_bits() -> None:
    """An intermediate pair has no bits to wait for: its ends, the pool's receiver included,
    keep their halves until the shared cut-off only."""
    r = Run()
    _, _, right = two_hop_heralded(r)
    p = r.pair(right)
    assert p.nodes == (L1, MOON) and p.swapper == L1  # moon is the pool's receiver
    assert r.m.expiry_us(p, 0) == r.m.expiry_us(p, 1) == p.deadline_us
    r.advance_to(p.deadline_us + 1).step(Expire(right, MOON), Expire(right, L1))
    assert right not in r.s.pairs


def test_expire_a_pending_half() -> None:
    """A half whose herald never came is cut off like any other: memory is not leaked."""
    r = Run()
    pid = r.generate(r.route(), 0)
    r.step(DelayMessage(r.msg_id(MsgKind.HERALD, pair=pid), MAX_ADVANCE_US))
    r.advance_to(r.pair(pid).deadline_us + 1).step(Expire(pid, EARTH))
    assert r.pair(pid).status == (E.DISCARDED, E.READY)


def test_use_pair_effect() -> None:
    r = Run()
    pid = r.pooled_pair()
    t, cost = r.s.now_us, r.m.cost_at(r.pair(pid), r.s.now_us)
    r.step(UsePair(pid, EARTH))
    assert r.pair(pid).status == (E.SENT, E.POOLED) and r.pair(pid).consumed == 1
    bits = r.msg(MsgKind.BITS, pair=pid)
    assert (bits.src, bits.dst, bits.sent_us) == (EARTH, MOON, t)
    assert bits.arrive_us == t + r.light(EARTH, MOON) and bits.cost_nnp == cost


def test_deliver_late_fails_stale() -> None:
    """A use sent at the cut-off meets the threshold only if corrected on arrival."""
    r = Run()
    pid = r.pooled_pair()
    r.advance_to(r.pair(pid).deadline_us).step(UsePair(pid, EARTH))
    bits = r.msg(MsgKind.BITS, pair=pid)
    r.step(DelayMessage(bits.id, 100_000)).advance(r.light(EARTH, MOON) + 100_000)
    r.step(Deliver(bits.id))
    d = r.s.last_delivery
    assert d is not None and d.outcome is Outcome.FAILED_STALE and not d.half_lost
    assert d.cost_nnp > d.threshold_nnp
    assert pid not in r.s.pairs  # the receiver discarded its half


def test_deliver_at_cutoff_on_arrival_is_delivered() -> None:
    r = Run()
    pid = r.pooled_pair()
    r.advance_to(r.pair(pid).deadline_us).step(UsePair(pid, EARTH))
    r.advance(r.light(EARTH, MOON)).step(Deliver(r.msg_id(MsgKind.BITS, pair=pid)))
    d = r.s.last_delivery
    assert d is not None and d.outcome is Outcome.DELIVERED
    assert d.threshold_nnp - d.cost_nnp < 5  # right at the edge: the cut-off is tight
