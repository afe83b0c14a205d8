"""Guard cases of the environment actions (E1-E6): time, links, crashes and message delays."""

from __future__ import annotations

from pqms_model.model.transition import MAX_ADVANCE_US
from pqms_model.protocol.actions import (
    Action,
    AdvanceTime,
    Crash,
    DelayMessage,
    LinkDown,
    LinkUp,
    Recover,
)
from pqms_model.protocol.state import MsgKind
from tests.support.builders import EARTH, LINK_EARTH_MOON, MOON, POOL_EARTH_MOON, Run
from tests.support.model_cases import guard


@guard("advance_time", "dt_us must be 1..1000000000000, got 0")
def advance_time_zero() -> tuple[Run, Action]:
    return Run(), AdvanceTime(dt_us=0)


@guard("advance_time", "got 1000000000001")
def advance_time_too_far() -> tuple[Run, Action]:
    return Run(), AdvanceTime(dt_us=MAX_ADVANCE_US + 1)


@guard("link_down", "no link 5 (links 0..4)")
def link_down_unknown() -> tuple[Run, Action]:
    return Run(), LinkDown(link=5)


@guard("link_down", "link 0 is already down")
def link_down_twice() -> tuple[Run, Action]:
    return Run().step(LinkDown(LINK_EARTH_MOON)), LinkDown(LINK_EARTH_MOON)


@guard("link_up", "no link -1 (links 0..4)")
def link_up_unknown() -> tuple[Run, Action]:
    return Run(), LinkUp(link=-1)


@guard("link_up", "link 0 is already up")
def link_up_when_up() -> tuple[Run, Action]:
    return Run(), LinkUp(LINK_EARTH_MOON)


@guard("crash", "unknown node 'venus'")
def crash_unknown_node() -> tuple[Run, Action]:
    return Run(), Crash("venus")


@guard("crash", "node moon is down")
def crash_twice() -> tuple[Run, Action]:
    return Run().step(Crash(MOON)), Crash(MOON)


@guard("recover", "unknown node 'venus'")
def recover_unknown_node() -> tuple[Run, Action]:
    return Run(), Recover("venus")


@guard("recover", "node moon is not down")
def recover_up_node() -> tuple[Run, Action]:
    return Run(), Recover(MOON)


@guard("delay_message", "no message 99 in flight")
def delay_message_unknown() -> tuple[Run, Action]:
    return Run(), DelayMessage(msg=99, extra_us=5)


@guard("delay_message", "extra_us must be 1..1000000000000, got 0")
def delay_message_by_nothing() -> tuple[Run, Action]:
    r = Run()
    rid = r.choose_route(POOL_EARTH_MOON, (EARTH, MOON))
    return r, DelayMessage(r.msg_id(MsgKind.ROUTE, route=rid), 0)
