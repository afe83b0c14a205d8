"""The transition function (spec §3–§4): one ``step(state, action)`` for every driver.

:class:`Model` binds a scenario (the constants) and optionally a mutant. ``step`` checks the
action's guard, raising :class:`~pqms_model.errors.NotEnabled` with the failing conjunct, and
returns the next state; what an action does not mention stays unchanged (the records are
frozen). The rules themselves live in ``rules_pairs``, ``rules_routing`` and
``rules_environment``.

>>> from pqms_model.protocol.scenario import load_default
>>> m = Model(load_default())
>>> s = m.init()
>>> s = m.step(s, ChooseRoute(pool=0, path=("earth", "moon"), schedule=Schedule.SEQUENTIAL))
>>> s = m.step(s, AdvanceTime(dt_us=m.scenario.light_us("earth", "moon")))
>>> s = m.step(s, Receive(msg=2))                    # the route reaches the Moon base
>>> s = m.step(s, GenerateLink(route=1, hop=0))      # pair 3: earth - moon
>>> s.pairs[3].status
(<EndStatus.PENDING: 'pending'>, <EndStatus.READY: 'ready'>)
>>> m.step(s, Admit(pair=3, node="earth"))
Traceback (most recent call last):
...
pqms_model.errors.NotEnabled: admit is not enabled: earth's half of pair 3 is pending, not ready
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import networkx as nx

from pqms_model.errors import NotEnabled
from pqms_model.model.core import ModelCore
from pqms_model.model.rules import environment as env
from pqms_model.model.rules import pairs as rp
from pqms_model.model.rules import routing as rr
from pqms_model.model.rules import swap as rs
from pqms_model.model.rules import use as ru
from pqms_model.protocol.actions import (
    Action,
    Admit,
    AdvanceTime,
    ChooseRoute,
    Crash,
    DelayMessage,
    Deliver,
    DropRoute,
    Expire,
    GenerateLink,
    LinkDown,
    LinkUp,
    Purify,
    Receive,
    Recover,
    Swap,
    UsePair,
)
from pqms_model.protocol.mutants import Mutant
from pqms_model.protocol.scenario import Scenario
from pqms_model.protocol.state import LIVE, EndStatus, MsgKind, Schedule, State

__all__ = ["MAX_ADVANCE_US", "ROUTE_CHOICES", "Model"]

MAX_ADVANCE_US = env.MAX_ADVANCE_US
ROUTE_CHOICES = 3
"""Candidate paths per pool offered by :meth:`Model.candidates` (k shortest by light time)."""

_HANDLERS: dict[type[Action], Callable[[Any, State, Any], State]] = {
    ChooseRoute: rr.choose_route,
    DropRoute: rr.drop_route,
    GenerateLink: rp.generate_link,
    Receive: rp.receive,
    Swap: rs.swap,
    Purify: rs.purify,
    Admit: ru.admit,
    Expire: ru.expire,
    UsePair: ru.use_pair,
    Deliver: ru.deliver,
    AdvanceTime: env.advance_time,
    LinkDown: env.link_down,
    LinkUp: env.link_up,
    Crash: env.crash,
    Recover: env.recover,
    DelayMessage: env.delay_message,
}


class Model(ModelCore):
    """The protocol over one scenario, optionally with a planted bug (``mutant``)."""

    def __init__(self, scenario: Scenario, mutant: Mutant | None = None) -> None:
        super().__init__(scenario, mutant)
        self.route_paths: dict[int, list[tuple[str, ...]]] = {}
        for pl in scenario.pools:
            gen = nx.shortest_simple_paths(scenario.graph, pl.a, pl.b, weight="light_us")
            self.route_paths[pl.index] = [tuple(p) for p in itertools.islice(gen, ROUTE_CHOICES)]

    def step(self, s: State, a: Action) -> State:
        """Apply action ``a`` to state ``s``: guard, then effect. Raises NotEnabled."""
        handler = _HANDLERS.get(type(a))
        if handler is None:
            raise NotEnabled(getattr(a, "name", type(a).__name__), "not a pqms action")
        return handler(self, s, a)

    def enabled(self, s: State) -> Iterator[Action]:
        """Every enabled candidate (see :meth:`candidates`)."""
        for cand in self.candidates(s):
            try:
                self.step(s, cand)
            except NotEnabled:
                continue
            yield cand

    def candidates(self, s: State) -> Iterator[Action]:
        """Actions with finite parameters worth trying in ``s`` (a superset of the enabled
        ones among them): routes from the k shortest paths, one order per unordered swap and
        purification. ``advance_time`` and ``delay_message`` take free integers: the driver
        picks those."""
        sc = self.scenario
        for pool, paths in self.route_paths.items():
            for path in paths:
                for sched in Schedule:
                    if len(path) > 3 or sched is Schedule.SEQUENTIAL:
                        yield ChooseRoute(pool, path, sched)
        for r in s.routes.values():
            if r.active:
                yield DropRoute(r.id)
                for hop in range(len(r.path) - 1):
                    yield GenerateLink(r.id, hop)
        for msg in s.messages.values():
            if msg.arrive_us <= s.now_us:
                yield Deliver(msg.id) if msg.kind is MsgKind.BITS else Receive(msg.id)
        pairs = list(s.pairs.values())
        for p in pairs:
            for i in (0, 1):
                n = p.nodes[i]
                if p.status[i] is EndStatus.READY:
                    yield Admit(p.id, n)
                if p.status[i] is EndStatus.POOLED:
                    yield UsePair(p.id, n)
                if p.status[i] in LIVE:
                    yield Expire(p.id, n)
        for left, right in itertools.combinations(pairs, 2):
            if left.route != right.route:
                continue
            for n in set(left.nodes) & set(right.nodes):
                yield Swap(left.id, right.id, n)
            if left.swapper is None and right.swapper is None:
                yield Purify(left.id, right.id, True)
                yield Purify(left.id, right.id, False)
        for ln in sc.links:
            yield LinkUp(ln.index) if ln.index in s.links_down else LinkDown(ln.index)
        for node in sc.node_names:
            yield Recover(node) if node in s.nodes_down else Crash(node)
