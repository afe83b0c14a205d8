"""Effects of the environment actions (spec §4, E1-E6): time, link changes and their news,
crash and recovery, message delays.
"""

from __future__ import annotations

from dataclasses import replace

from pqms_model.protocol.actions import (
    AdvanceTime,
    Crash,
    DelayMessage,
    LinkDown,
    LinkUp,
    Receive,
    Recover,
)
from pqms_model.protocol.state import MsgKind
from tests.support.builders import (
    EARTH,
    L1,
    L2,
    LINK_EARTH_MOON,
    MARS,
    MOON,
    POOL_EARTH_MOON,
    SCENARIO,
    Run,
)
from tests.support.model_cases import E, two_hop_heralded


def test_advance_time_effect() -> None:
    r = Run()
    pid = r.pooled_pair()
    before = r.s
    r.advance(5)
    assert r.s.now_us == before.now_us + 5 and r.s.pairs[pid] == before.pairs[pid]
    assert replace(r.s, now_us=before.now_us) == before


def test_link_down_effect() -> None:
    r = Run()
    r.step(LinkDown(LINK_EARTH_MOON))
    assert r.s.links_down == {LINK_EARTH_MOON} and r.s.link_seq[LINK_EARTH_MOON] == 1
    assert r.s.view[EARTH][LINK_EARTH_MOON] == r.s.view[MOON][LINK_EARTH_MOON] == 1
    told = r.msgs(MsgKind.LINK_STATE)
    assert {(x.src, x.dst, x.link, x.seq) for x in told} == {
        (EARTH, n, LINK_EARTH_MOON, 1) for n in (MARS, L1, L2)
    }
    r.step(LinkUp(LINK_EARTH_MOON))
    assert r.s.links_down == frozenset() and r.s.view[EARTH][LINK_EARTH_MOON] == 2


def test_link_change_is_told_by_the_end_that_is_up() -> None:
    r = Run().step(Crash(EARTH), LinkDown(LINK_EARTH_MOON))
    assert {x.src for x in r.msgs(MsgKind.LINK_STATE)} == {MOON}
    r.step(Crash(MOON), LinkUp(LINK_EARTH_MOON))
    assert len(r.msgs(MsgKind.LINK_STATE)) == 3  # both ends down: nobody is told of the up
    assert r.s.view[EARTH][LINK_EARTH_MOON] == 2  # the ends' own views change at once


def test_crash_effect() -> None:
    r = Run()
    _, left, right = two_hop_heralded(r)
    top = r.swap(left, right, L1)
    r.step(Crash(MOON))
    assert r.s.nodes_down == {MOON}
    assert r.pair(top).status == (E.INCOMING, E.LOST)
    assert r.pair(right).status == (E.SWAPPED, E.LOST)
    assert r.s.routes  # classical state (routes, views) survives the crash


def test_recover_effect() -> None:
    r = Run().step(Crash(MOON), Recover(MOON))
    assert r.s.nodes_down == frozenset() and r.s.epoch[MOON] == 1
    resets = r.msgs(MsgKind.RESET)
    assert sorted(x.dst for x in resets) == sorted(n for n in SCENARIO.node_names if n != MOON)
    assert all(x.src == MOON and x.epoch == 1 for x in resets)


def test_recover_reannounces_a_link_change_nobody_heard() -> None:
    link = SCENARIO.link_between("relay-l1", "relay-l2")
    assert link is not None
    r = Run().step(LinkDown(link.index), Crash("relay-l1"), Crash("relay-l2"))
    told_before = {x.dst for x in r.msgs(MsgKind.LINK_STATE)}
    r.step(LinkUp(link.index))
    assert {x.dst for x in r.msgs(MsgKind.LINK_STATE)} == told_before  # nobody was told
    before = {x.id for x in r.msgs(MsgKind.LINK_STATE)}
    r.step(Recover("relay-l1"))
    news = [x for x in r.msgs(MsgKind.LINK_STATE) if x.id not in before]
    assert sorted(x.dst for x in news) == sorted(
        n for n in SCENARIO.node_names if n not in ("relay-l1", "relay-l2")
    )
    assert all(x.link == link.index and x.seq == 2 for x in news)
    r.step(AdvanceTime(max(x.arrive_us for x in news) - r.s.now_us))
    for x in sorted(r.msgs(MsgKind.LINK_STATE), key=lambda x: x.id):  # old news first
        r.step(Receive(x.id))
    assert not r.m.believes_down(r.s, EARTH, link.index)
    assert r.s.view[EARTH][link.index] == 2


def test_delay_message_effect() -> None:
    r = Run()
    r.choose_route(POOL_EARTH_MOON, (EARTH, MOON))
    msg = r.msg(MsgKind.ROUTE)
    r.step(DelayMessage(msg.id, 7))
    assert r.s.messages[msg.id] == replace(msg, arrive_us=msg.arrive_us + 7)
