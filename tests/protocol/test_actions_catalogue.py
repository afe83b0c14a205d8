"""The action catalogue (spec §3, §4) and the actions ``Model.enabled`` offers."""

from __future__ import annotations

from pqms_model.model.transition import Model
from pqms_model.protocol.actions import (
    ACTION_TYPES,
    ENVIRONMENT_ACTIONS,
    PROTOCOL_ACTIONS,
    Admit,
    ChooseRoute,
    GenerateLink,
    UsePair,
)
from tests.support.builders import EARTH, MOON, SCENARIO, Run


def test_action_catalogue() -> None:
    assert set(ACTION_TYPES) == {c.name for c in PROTOCOL_ACTIONS + ENVIRONMENT_ACTIONS}
    assert not any(c.environment for c in PROTOCOL_ACTIONS)
    assert all(c.environment for c in ENVIRONMENT_ACTIONS)
    assert repr(UsePair(pair=7, node=EARTH)) == "UsePair(pair=7, node='earth')"


def test_enabled_at_init() -> None:
    m = Model(SCENARIO)
    names = sorted({a.name for a in m.enabled(m.init())})
    assert names == ["advance_time", "choose_route", "crash", "link_down"]
    routes = [a for a in m.enabled(m.init()) if isinstance(a, ChooseRoute)]
    assert {a.pool for a in routes} == {0, 1, 2}


def test_enabled_finds_every_step_of_a_refill() -> None:
    r = Run()
    rid = r.route()
    assert GenerateLink(rid, 0) in list(r.m.enabled(r.s))
    pid = r.generate(rid, 0)
    assert Admit(pid, MOON) in list(r.m.enabled(r.s))
    assert Admit(pid, EARTH) not in list(r.m.enabled(r.s))
