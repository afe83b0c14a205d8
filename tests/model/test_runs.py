"""Whole protocol runs: an Earth -> Moon refill and use, a four-hop Earth -> Mars route under
both swap schedules, and a crash between use and delivery.
"""

from __future__ import annotations

import pytest

from pqms_model.protocol.actions import (
    Admit,
    AdvanceTime,
    ChooseRoute,
    Crash,
    Deliver,
    GenerateLink,
    Receive,
    Recover,
    Swap,
    UsePair,
)
from pqms_model.protocol.state import MsgKind, Outcome, Schedule
from tests.support.builders import (
    EARTH,
    L1,
    L2,
    MARS,
    MOON,
    POOL_EARTH_MARS,
    POOL_EARTH_MOON,
    SCENARIO,
    Run,
)
from tests.support.model_cases import NESTED, SEQ, E, used_pair


def test_refill_and_use_earth_moon() -> None:
    """Whitepaper §3: refill the earth -> moon pool, then use a pair. The use takes effect at
    the moon exactly one light time after the trigger — the pool saves set-up, not transit."""
    r = Run()
    m = r.m
    em = SCENARIO.light_us(EARTH, MOON)
    r.step(ChooseRoute(POOL_EARTH_MOON, m.route_paths[POOL_EARTH_MOON][0], SEQ))
    route_msg = r.msg(MsgKind.ROUTE, dst=MOON)
    assert (route_msg.id, route_msg.route) == (2, 1)
    r.step(AdvanceTime(em), Receive(2), GenerateLink(route=1, hop=0))
    assert r.pair(3).status == (E.PENDING, E.READY)
    herald = r.msg(MsgKind.HERALD, pair=3)
    r.step(AdvanceTime(em), Receive(herald.id), Admit(3, EARTH), Admit(3, MOON))
    send_us = r.s.now_us
    r.step(UsePair(3, EARTH))
    bits = r.msg(MsgKind.BITS, pair=3)
    r.step(AdvanceTime(em), Deliver(bits.id))
    d = r.s.last_delivery
    assert d is not None and d.outcome is Outcome.DELIVERED and not d.half_lost
    assert (d.pair, d.sender, d.receiver) == (3, EARTH, MOON)
    assert d.send_us == send_us and d.deliver_us == send_us + em
    pool = SCENARIO.pools[POOL_EARTH_MOON]
    assert d.threshold_nnp == pool.threshold_nnp and d.cost_nnp <= d.threshold_nnp
    assert d.cost_nnp == bits.cost_nnp + r.m.transit_decay(EARTH, MOON)
    assert r.s.deliveries == 1 and 3 not in r.s.pairs and not r.s.messages


@pytest.mark.parametrize("schedule", [SEQ, NESTED], ids=lambda s: s.value)
def test_earth_mars_four_hops(schedule: Schedule) -> None:
    """Four hops earth - moon - relay-l1 - relay-l2 - mars, swapped by the schedule's tree."""
    r = Run()
    path = r.m.route_paths[POOL_EARTH_MARS][1]
    assert len(path) == 5
    rid = r.route(POOL_EARTH_MARS, path, schedule)
    top = r.end_to_end(rid)
    swaps = [a for a in r.log if isinstance(a, Swap)]
    expected = [MOON, L1, L2] if schedule is SEQ else [MOON, L2, L1]
    assert [a.node for a in swaps] == expected  # the root swap is last
    p = r.pair(top)
    assert p.nodes == (EARTH, MARS) and p.segment == (0, 4) and p.swapper is None
    r.admit_both(top)
    send_us = r.s.now_us
    r.step(UsePair(top, EARTH))
    bits = r.msg(MsgKind.BITS, pair=top)
    r.advance(r.light(EARTH, MARS)).step(Deliver(bits.id))
    d = r.s.last_delivery
    assert d is not None and d.outcome is Outcome.DELIVERED
    assert d.deliver_us == send_us + r.light(EARTH, MARS) and d.cost_nnp <= d.threshold_nnp


def test_crash_between_use_and_delivery_fails_lost() -> None:
    r = Run()
    pid, bits = used_pair(r)
    r.step(Crash(MOON), Recover(MOON)).advance(r.light(EARTH, MOON)).step(Deliver(bits))
    d = r.s.last_delivery
    assert d is not None and d.outcome is Outcome.FAILED_LOST and d.half_lost
    assert pid not in r.s.pairs
