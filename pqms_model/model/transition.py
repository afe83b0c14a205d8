"""The transition function (spec §3–§4): one ``step(state, action)`` for every driver.

:class:`Model` binds a scenario (the constants) and optionally a mutant. ``step`` checks the
action's guard, raising :class:`~pqms_model.errors.NotEnabled` with the failing conjunct, and
returns the next state; what an action does not mention stays unchanged (the records are
frozen). The rules themselves live in :mod:`pqms_model.model.rules`; after the rule, ``step``
retires what the step left unneeded (:meth:`~pqms_model.model.core.ModelCore.retire`).

>>> from pqms_model.protocol.scenario import load_default
>>> from pqms_model.protocol.state import Schedule
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

from collections.abc import Callable, Iterator
from typing import Any

from pqms_model.errors import NotEnabled
from pqms_model.model.candidates import candidates, route_paths
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
from pqms_model.protocol.state import State

__all__ = ["MAX_ADVANCE_US", "RULES", "Model"]

MAX_ADVANCE_US = env.MAX_ADVANCE_US

RULES: dict[type[Action], Callable[[Any, State, Any], State]] = {
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
"""The dispatch table: each action's rule (guard, then effect)."""


class Model(ModelCore):
    """The protocol over one scenario, optionally with a planted bug (``mutant``)."""

    def __init__(self, scenario: Scenario, mutant: Mutant | None = None) -> None:
        super().__init__(scenario, mutant)
        self.route_paths = route_paths(scenario)

    def step(self, s: State, a: Action) -> State:
        """Apply action ``a`` to state ``s``: its rule (guard, then effect), then retirement of
        what the step left unneeded (:meth:`~ModelCore.retire`). Raises NotEnabled. A function
        of ``(s, a)`` alone: no driver's history changes the answer."""
        rule = RULES.get(type(a))
        if rule is None:
            raise NotEnabled(getattr(a, "name", type(a).__name__), "not a pqms action")
        return self.retire(s, a, rule(self, s, a))

    def candidates(self, s: State) -> dict[str, list[Action]]:
        """Per action name, the actions worth trying in ``s`` (a superset of the enabled ones:
        :func:`pqms_model.model.candidates.candidates`)."""
        return candidates(self.scenario, self.route_paths, s)

    def enabled(self, s: State) -> Iterator[Action]:
        """Every enabled candidate, in the order of :meth:`candidates`."""
        for group in self.candidates(s).values():
            for a in group:
                try:
                    self.step(s, a)
                except NotEnabled:
                    continue
                yield a
