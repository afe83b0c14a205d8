"""The invariants of routes (spec §5): route-believed-up and swap-follows-schedule can each
fail and hold.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from pqms_model.protocol.actions import LinkDown
from pqms_model.protocol.state import MsgKind, Schedule
from tests.support.builders import (
    EARTH,
    L1,
    L2,
    LINK_MOON_L1,
    MARS,
    MOON,
    POOL_EARTH_MARS,
    POOL_EARTH_MOON,
    Run,
)
from tests.support.invariant_cases import check, two_hop_heralded, with_pair

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
    rid, left, _ = two_hop_heralded(r)
    moved = with_pair(r.s, left, segment=(1, 2))
    reason = check("swap-follows-schedule", r, moved)
    assert reason == f"pair {left} joins ('earth', 'relay-l1'), not segment (1, 2) of route {rid}"


def test_swap_follows_schedule_detects_a_pair_whose_route_is_gone() -> None:
    r = Run()
    rid, _, _ = two_hop_heralded(r)
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
