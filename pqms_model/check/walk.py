"""One steered walk over ``Model.step`` (spec §8): the step the campaign and the Hypothesis
machine share.

A :class:`Walk` holds a state and takes steps by *kind*: :meth:`Walk.take` picks the candidate
of that kind a driver's draws select (:class:`~pqms_model.check.steering.Steering`), lets
``Model.step`` alone decide whether it is enabled, records it in the :class:`Coverage`, spends
the run's fault budget, and checks every SAFETY and TYPE invariant on the new state, raising
:class:`InvariantViolated` at the first violation. The campaign chooses the kind by weights
(:func:`~pqms_model.check.steering.choose_kind`); the Hypothesis machine has one rule per kind.

>>> from pqms_model.protocol.scenario import load_default
>>> w = Walk(Model(load_default()), Coverage(), faults=0, focus=0)
>>> w.take("choose_route", 0)
ChooseRoute(pool=0, path=('earth', 'moon'), schedule=Schedule.SEQUENTIAL)
>>> w.take("crash", 0) is None       # no fault budget left
True
>>> w.coverage.fired["choose_route"], w.state.now_us
(1, 0)
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from pqms_model.check.steering import FAULTS, Steering
from pqms_model.invariants import Violation, violations
from pqms_model.model.transition import Model
from pqms_model.protocol.actions import ACTION_TYPES, Action, AdvanceTime
from pqms_model.protocol.state import Outcome, State

__all__ = [
    "MAX_FAULTS",
    "NEAR_THRESHOLD_FRACTION",
    "Coverage",
    "InvariantViolated",
    "Walk",
]

MAX_FAULTS = 6
"""Most faults (link down, crash, message delay) one run may inject; each run draws 0..MAX."""

NEAR_THRESHOLD_FRACTION = 0.15
"""A delivered use is *near its threshold* when its cost is within this fraction of it."""


@dataclass
class Coverage:
    """Non-vacuity evidence: what runs did, summed over every run that records here."""

    fired: Counter[str] = field(default_factory=Counter)  # action name -> times taken
    delivered_uses: int = 0
    near_threshold_uses: int = 0  # delivered with cost within 15% of the threshold
    steps: int = 0
    runs: int = 0

    def record(self, a: Action, before: State, after: State) -> bool:
        """Count step ``a``; True if it delivered a use near its threshold."""
        self.fired[a.name] += 1
        self.steps += 1
        d = after.last_delivery
        if d is None or after.deliveries == before.deliveries or d.outcome is not Outcome.DELIVERED:
            return False
        self.delivered_uses += 1
        near = abs(d.threshold_nnp - d.cost_nnp) <= NEAR_THRESHOLD_FRACTION * d.threshold_nnp
        self.near_threshold_uses += near
        return near

    def merged(self, other: Coverage) -> Coverage:
        """The coverage of both (for a suite that runs more than one engine)."""
        return Coverage(
            self.fired + other.fired,
            self.delivered_uses + other.delivered_uses,
            self.near_threshold_uses + other.near_threshold_uses,
            self.steps + other.steps,
            self.runs + other.runs,
        )

    def missing(self) -> list[str]:
        """Action names (spec ids) that never fired."""
        return [name for name in ACTION_TYPES if self.fired[name] == 0]

    def problems(self) -> list[str]:
        """Why the runs were vacuous: empty when every action fired and some delivered use
        came near its threshold."""
        out = []
        if self.missing():
            out.append(f"actions that never fired: {', '.join(self.missing())}")
        if self.near_threshold_uses == 0:
            out.append(
                f"no delivered use came within {NEAR_THRESHOLD_FRACTION:.0%} of its threshold "
                f"({self.delivered_uses} delivered uses in {self.steps} steps)"
            )
        return out

    def summary(self) -> str:
        fired = ", ".join(f"{n}={self.fired[n]}" for n in ACTION_TYPES)
        return (
            f"{self.runs} runs, {self.steps} steps, {self.delivered_uses} delivered uses "
            f"({self.near_threshold_uses} near the threshold); fired: {fired}"
        )


class InvariantViolated(AssertionError):
    """A run reached a state that violates ``violation.invariant``; ``actions`` lead there."""

    def __init__(self, violation: Violation, actions: tuple[Action, ...], model: Model) -> None:
        self.violation, self.actions, self.model = violation, actions, model
        super().__init__(f"step {len(actions)} violates {violation}")

    @property
    def invariant(self) -> str:
        return self.violation.invariant


class Walk:
    """One run from Init: its state, the actions taken, its fault budget (module docstring)."""

    def __init__(
        self, model: Model, coverage: Coverage, faults: int, focus: int | None = None
    ) -> None:
        self.model, self.coverage = model, coverage
        self.steer = Steering(model, focus)
        self.faults_left = faults
        self.state: State = model.init()
        self.actions: list[Action] = []
        self.near = False  # the last step delivered a use near its threshold

    def pick(
        self, name: str, choice: int, free_us: int = 1, strict: bool | None = None
    ) -> Action | None:
        """The enabled action of kind ``name`` the draws select, or None (not taken)."""
        s, steer = self.state, self.steer
        if name in FAULTS and self.faults_left <= 0:
            return None
        a: Action | None
        if name == "advance_time":
            a = AdvanceTime(dt_us=steer.pick_time(s, choice, free_us))
        elif name == "delay_message":
            a = steer.pick_delay(s, choice, free_us)
        else:
            a = steer.pick(s, name, choice, strict)
        return a if a is not None and steer.try_step(s, a) is not None else None

    def take(
        self, name: str, choice: int, free_us: int = 1, strict: bool | None = None
    ) -> Action | None:
        """Take the action :meth:`pick` selects (None: nothing of that kind is enabled);
        raises :class:`InvariantViolated` if the new state violates an invariant."""
        a = self.pick(name, choice, free_us, strict)
        if a is None:
            return None
        s = self.state
        nxt = self.steer.try_step(s, a)
        assert nxt is not None  # pick returns only actions step accepts
        self.faults_left -= name in FAULTS
        self.actions.append(a)
        self.near = self.coverage.record(a, s, nxt)
        self.state = nxt
        found = violations(self.model, nxt)
        if found:
            raise InvariantViolated(found[0], tuple(self.actions), self.model)
        return a
