"""Effects of the routing actions (spec A1, A2) and of the route and link-state news a node
receives (A4); every run checks every invariant after every step.
"""

from __future__ import annotations

import pytest

from pqms_model.errors import NotEnabled
from pqms_model.protocol.actions import DropRoute, GenerateLink, LinkDown, LinkUp, Receive
from pqms_model.protocol.state import MsgKind
from tests.support.builders import (
    EARTH,
    L1,
    L2,
    LINK_EARTH_L1,
    LINK_L1_L2,
    LINK_MOON_L1,
    MARS,
    MOON,
    POOL_EARTH_MARS,
    POOL_EARTH_MOON,
    Run,
)
from tests.support.model_cases import SEQ, VIA_L1, two_hop_heralded


def test_choose_route_effect() -> None:
    r = Run().step(LinkDown(LINK_MOON_L1))  # not on the path below
    r.receive(r.msgs(MsgKind.LINK_STATE, dst=EARTH))  # earth learns of it by message
    before = r.s
    rid = r.choose_route(POOL_EARTH_MARS, r.m.route_paths[POOL_EARTH_MARS][0])
    route = r.s.routes[rid]
    assert rid == before.next_id and r.s.next_id == rid + 1 + 3
    assert route.pool == POOL_EARTH_MARS and route.schedule is SEQ and route.active
    assert route.path == (EARTH, L1, L2, MARS) and route.chosen_us == before.now_us
    assert route.known_by == {EARTH}
    assert route.believed_down == {LINK_MOON_L1}  # the sender's whole view, as a ghost
    sent = r.msgs(MsgKind.ROUTE, route=rid)
    assert [(x.src, x.dst) for x in sent] == [(EARTH, n) for n in route.path[1:]]
    assert all(x.arrive_us == r.s.now_us + r.light(EARTH, x.dst) for x in sent)
    assert r.s.pairs == before.pairs and r.s.now_us == before.now_us


def test_choose_route_believed_down_is_the_senders_view() -> None:
    """The sender routes on its own view: a link down that it has not heard of yet is allowed
    (generation on it is then not enabled); one it has heard of is refused."""
    r = Run().step(LinkDown(LINK_L1_L2))
    path = r.m.route_paths[POOL_EARTH_MARS][0]
    rid = r.route(POOL_EARTH_MARS, path)  # earth's news of link 3 is still in flight
    assert r.s.routes[rid].believed_down == frozenset()
    with pytest.raises(NotEnabled, match=r"link 3 \(relay-l1-relay-l2\) is down"):
        r.m.step(r.s, GenerateLink(rid, 1))


def test_drop_route_effect() -> None:
    """Failover: generation stops at once; pairs already on the route may still be swapped."""
    r = Run()
    rid, left, right = two_hop_heralded(r)
    r.step(DropRoute(rid))
    assert not r.s.routes[rid].active
    with pytest.raises(NotEnabled, match="was dropped"):
        r.m.step(r.s, GenerateLink(rid, 0))
    top = r.swap(left, right, L1)
    assert r.pair(top).route == rid


def test_drop_route_retires_an_unused_route() -> None:
    r = Run()
    rid = r.route()
    r.step(DropRoute(rid))
    assert rid not in r.s.routes


def test_receive_route_effect() -> None:
    r = Run()
    rid = r.choose_route(POOL_EARTH_MOON, VIA_L1)
    r.receive(r.msgs(MsgKind.ROUTE, dst=MOON))
    assert r.s.routes[rid].known_by == {EARTH, MOON}
    r.receive(r.msgs(MsgKind.ROUTE, dst=L1))
    assert r.s.routes[rid].known_by == {EARTH, L1, MOON}


def test_receive_link_state_keeps_the_newest_news() -> None:
    """Sequence numbers: a late 'down' never overwrites a newer 'up' (odd = down)."""
    r = Run().step(LinkDown(LINK_EARTH_L1))
    down = r.msg(MsgKind.LINK_STATE, dst=MARS)
    r.step(LinkUp(LINK_EARTH_L1))
    up = next(x for x in r.msgs(MsgKind.LINK_STATE, dst=MARS) if x.id != down.id)
    assert (down.seq, up.seq) == (1, 2) and down.src == up.src == EARTH
    r.advance_to(up.arrive_us).step(Receive(up.id))
    assert r.s.view[MARS][LINK_EARTH_L1] == 2
    r.step(Receive(down.id))
    assert r.s.view[MARS][LINK_EARTH_L1] == 2
    assert not r.m.believes_down(r.s, MARS, LINK_EARTH_L1)
