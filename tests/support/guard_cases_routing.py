"""Guard cases of the routing actions: choose_route (A1) and drop_route (A2)."""

from __future__ import annotations

from pqms_model.protocol.actions import Action, ChooseRoute, Crash, DropRoute, LinkDown
from tests.support.builders import (
    EARTH,
    L2,
    LINK_EARTH_MOON,
    MARS,
    MOON,
    POOL_EARTH_MARS,
    POOL_EARTH_MOON,
    Run,
)
from tests.support.model_cases import SEQ, VIA_L1, guard

# choose_route (A1) ----------------------------------------------------------------------------


@guard("choose_route", "no pool 7 (pools 0..2)")
def choose_route_unknown_pool() -> tuple[Run, Action]:
    return Run(), ChooseRoute(pool=7, path=(EARTH, MOON), schedule=SEQ)


@guard("choose_route", "node earth is down")
def choose_route_sender_down() -> tuple[Run, Action]:
    return Run().step(Crash(EARTH)), ChooseRoute(POOL_EARTH_MOON, (EARTH, MOON), SEQ)


@guard("choose_route", "schedule must be one of ['sequential', 'nested']")
def choose_route_schedule_not_enum() -> tuple[Run, Action]:
    return Run(), ChooseRoute(POOL_EARTH_MOON, (EARTH, MOON), "nested")  # type: ignore[arg-type]


@guard("choose_route", "a route of pool earth->moon runs from earth to moon")
def choose_route_wrong_direction() -> tuple[Run, Action]:
    return Run(), ChooseRoute(POOL_EARTH_MOON, (MOON, EARTH), SEQ)


@guard("choose_route", "path ['earth', 'moon', 'earth', 'moon'] visits a node twice")
def choose_route_loop() -> tuple[Run, Action]:
    return Run(), ChooseRoute(POOL_EARTH_MOON, (EARTH, MOON, EARTH, MOON), SEQ)


@guard("choose_route", "no link earth-relay-l2")
def choose_route_not_along_links() -> tuple[Run, Action]:
    return Run(), ChooseRoute(POOL_EARTH_MARS, (EARTH, L2, MARS), SEQ)


@guard("choose_route", "earth believes link(s) [0] on this path are down")
def choose_route_believed_down() -> tuple[Run, Action]:
    return Run().step(LinkDown(LINK_EARTH_MOON)), ChooseRoute(POOL_EARTH_MOON, (EARTH, MOON), SEQ)


@guard("choose_route", "pool earth->moon already has 3 active routes")
def choose_route_too_many() -> tuple[Run, Action]:
    r = Run()
    for _ in range(3):
        r.choose_route(POOL_EARTH_MOON, (EARTH, MOON))
    return r, ChooseRoute(POOL_EARTH_MOON, VIA_L1, SEQ)


# drop_route (A2) ------------------------------------------------------------------------------


@guard("drop_route", "no route 99")
def drop_route_unknown() -> tuple[Run, Action]:
    return Run(), DropRoute(route=99)


@guard("drop_route", "node earth is down")
def drop_route_sender_down() -> tuple[Run, Action]:
    r = Run()
    rid = r.route()
    return r.step(Crash(EARTH)), DropRoute(rid)


@guard("drop_route", "is already dropped")
def drop_route_twice() -> tuple[Run, Action]:
    r = Run()
    rid = r.choose_route(POOL_EARTH_MOON, (EARTH, MOON))  # its ROUTE message keeps it listed
    return r.step(DropRoute(rid)), DropRoute(rid)
