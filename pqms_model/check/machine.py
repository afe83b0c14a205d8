"""The invariant suite (spec §5): a Hypothesis state machine over every action of the model.

:class:`PoolMachine` has one rule per action, named as the action is in the spec
(``generate_link``, ``use_pair``, ``crash`` ...), and one check, ``invariants_hold``, that runs
the whole registry (:func:`pqms_model.invariants.violations`) after every step and fails with the
id of the first violated invariant. Each rule takes its step through the walk the campaign uses
(:class:`~pqms_model.check.walk.Walk`): the rule draws an index into its action's candidates and
takes the first one ``Model.step`` accepts from there; time advances to instants where something
can happen (an arrival, a cut-off, a threshold crossing) or by a free amount. Each run draws its
bounds (a pool to focus on, a fault budget, a route budget, patience), so most runs make
progress while every fault stays reachable.

A failing run raises :class:`~pqms_model.check.walk.InvariantViolated`; the shrunk run's ITF
trace is written to ``$PQMS_TRACE_DIR`` (default ``./counterexamples``) and replays with
``pqms replay``. :func:`machine_for` binds a scenario, a mutant and a coverage record.
"""

from __future__ import annotations

import os
from typing import ClassVar, NoReturn

from hypothesis import event, note
from hypothesis import strategies as st
from hypothesis.control import current_build_context
from hypothesis.errors import InvalidArgument
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from pqms_model.check.steering import FAULTS
from pqms_model.check.walk import MAX_FAULTS, Coverage, InvariantViolated, Walk
from pqms_model.invariants import violations
from pqms_model.model.transition import Model
from pqms_model.protocol.actions import ACTION_TYPES
from pqms_model.protocol.mutants import Mutant
from pqms_model.protocol.scenario import Scenario, load_default
from pqms_model.trace.files import TRACE_DIR_ENV, write_trace

__all__ = ["MAX_ROUTES", "URGENT", "PoolMachine", "machine_for"]

MAX_ROUTES = 4
"""Most routes one run of :class:`PoolMachine` may choose (it may drop one fewer)."""

URGENT = ("receive", "deliver", "admit", "swap", "purify")
"""In a *patient* run, time advances only when none of these has a preferred step enabled."""

_CHOICE = st.integers(min_value=0, max_value=255)
_FREE_US = st.integers(min_value=1, max_value=10**9)


class PoolMachine(RuleBasedStateMachine):
    """The protocol on one scenario as a Hypothesis state machine (see the module docstring).

    ``PoolMachine`` runs the embedded default scenario; :func:`machine_for` binds another
    scenario or a mutant. A subclass may set ``scenario = None`` and call :meth:`load` from an
    ``@initialize`` rule (generated scenarios).
    """

    scenario: ClassVar[Scenario | None] = load_default()
    mutant: ClassVar[Mutant | None] = None
    coverage: ClassVar[Coverage | None] = None  # where runs record what they did
    write_traces: ClassVar[bool] = True  # the final (shrunk) failing run writes its trace

    def __init__(self) -> None:
        super().__init__()
        self.walk: Walk | None = None
        self.budget: dict[str, int] = {}
        self.focus = 0
        self.faults = 0
        self.patient = False
        if self.scenario is not None:
            self.load(self.scenario)
        if self.coverage is not None:
            self.coverage.runs += 1

    def load(self, scenario: Scenario) -> None:
        """Start from Init on ``scenario``."""
        model = Model(scenario, self.mutant)
        self.walk = Walk(model, self.coverage or Coverage(), self.faults)
        self._aim()

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    @initialize(
        focus=st.integers(min_value=0, max_value=7),
        faults=st.integers(min_value=0, max_value=MAX_FAULTS),
        routes=st.integers(min_value=1, max_value=MAX_ROUTES),
        patient=st.booleans(),
    )
    def environment(self, focus: int, faults: int, routes: int, patient: bool) -> None:
        """This run's bounds: the pool it steers toward, how many faults it may inject, how
        many routes it may choose (each but the first may follow a dropped route), and whether
        it is *patient*: protocol steps keep to the preferred candidates (the focus pool's,
        admitting a pair once both ends know it, sending from the pool's sender) and time
        waits while an :data:`URGENT` step is enabled."""
        self.focus, self.faults, self.patient = focus, faults, patient
        self.budget = {"choose_route": routes, "drop_route": routes - 1}
        if self.walk is not None:
            self.walk.faults_left = faults
        self._aim()

    def _aim(self) -> None:
        if self.walk is not None and self.walk.model.scenario.pools:
            self.walk.steer.focus = self.focus % len(self.walk.model.scenario.pools)

    # --- the step every rule takes ------------------------------------------------------------

    def _strict(self, name: str) -> bool:
        return self.patient and not ACTION_TYPES[name].environment

    def can(self, name: str) -> bool:
        """Precondition of rule ``name``: some candidate of that action is enabled now."""
        w = self.walk
        if w is None or self.budget.get(name, 1) <= 0:
            return False
        if name in FAULTS and w.faults_left <= 0:
            return False
        if name == "advance_time" and self.patient:  # time waits for urgent protocol steps
            return not any(self.can(n) for n in URGENT)
        return w.steer.first_enabled(w.state, name, self._strict(name)) is not None

    def fire(self, name: str, choice: int, free_us: int = 1) -> None:
        """Take the action of kind ``name`` that ``choice`` (and ``free_us``) select."""
        w = self.walk
        assert w is not None
        t_us = w.state.now_us
        try:
            a = w.take(name, choice, free_us, self._strict(name))
        except InvariantViolated as err:
            note(f"{len(w.actions):>4}  t={t_us} us  {w.actions[-1]!r}")
            self._fail(err)
        if a is None:
            raise AssertionError(f"{name}: its precondition held but no candidate is enabled")
        note(f"{len(w.actions):>4}  t={t_us} us  {a!r}")
        if name in self.budget:
            self.budget[name] -= 1
        if w.near:
            event("use delivered near its threshold")

    # --- rules: one per action, named as the action --------------------------------------------

    @rule(choice=_CHOICE)
    @precondition(lambda self: self.can("choose_route"))
    def choose_route(self, choice: int) -> None:
        """The pool's sender picks a path it believes up and a swap schedule."""
        self.fire("choose_route", choice)

    @rule(choice=_CHOICE)
    @precondition(lambda self: self.can("drop_route"))
    def drop_route(self, choice: int) -> None:
        """The pool's sender stops refilling along a route."""
        self.fire("drop_route", choice)

    @rule(choice=_CHOICE)
    @precondition(lambda self: self.can("generate_link"))
    def generate_link(self, choice: int) -> None:
        """Heralded generation on one hop of a route."""
        self.fire("generate_link", choice)

    @rule(choice=_CHOICE)
    @precondition(lambda self: self.can("receive"))
    def receive(self, choice: int) -> None:
        """A node takes an arrived herald, swap, purify, reset, route or link-state message."""
        self.fire("receive", choice)

    @rule(choice=_CHOICE)
    @precondition(lambda self: self.can("swap"))
    def swap(self, choice: int) -> None:
        """A Bell-state measurement joins two pairs at their shared node."""
        self.fire("swap", choice)

    @rule(choice=_CHOICE)
    @precondition(lambda self: self.can("purify"))
    def purify(self, choice: int) -> None:
        """A BBPSSW round sacrifices one end-to-end pair for another."""
        self.fire("purify", choice)

    @rule(choice=_CHOICE)
    @precondition(lambda self: self.can("admit"))
    def admit(self, choice: int) -> None:
        """An end admits its ready half of an end-to-end pair into the pool."""
        self.fire("admit", choice)

    @rule(choice=_CHOICE)
    @precondition(lambda self: self.can("expire"))
    def expire(self, choice: int) -> None:
        """An end discards its half past the pair's cut-off."""
        self.fire("expire", choice)

    @rule(choice=_CHOICE)
    @precondition(lambda self: self.can("use_pair"))
    def use_pair(self, choice: int) -> None:
        """The sender teleports through a pooled pair and sends two bits."""
        self.fire("use_pair", choice)

    @rule(choice=_CHOICE)
    @precondition(lambda self: self.can("deliver"))
    def deliver(self, choice: int) -> None:
        """The receiver takes the bits and corrects: the use's effect."""
        self.fire("deliver", choice)

    @rule(choice=_CHOICE, dt_us=_FREE_US)
    @precondition(lambda self: self.can("advance_time"))
    def advance_time(self, choice: int, dt_us: int) -> None:
        """Let time pass: to an interesting instant (``choice``) or by ``dt_us``."""
        self.fire("advance_time", choice, dt_us)

    @rule(choice=_CHOICE)
    @precondition(lambda self: self.can("link_down"))
    def link_down(self, choice: int) -> None:
        """A link fails (a fault)."""
        self.fire("link_down", choice)

    @rule(choice=_CHOICE)
    @precondition(lambda self: self.can("link_up"))
    def link_up(self, choice: int) -> None:
        """A failed link is repaired."""
        self.fire("link_up", choice)

    @rule(choice=_CHOICE)
    @precondition(lambda self: self.can("crash"))
    def crash(self, choice: int) -> None:
        """A node crashes and loses its memory (a fault)."""
        self.fire("crash", choice)

    @rule(choice=_CHOICE)
    @precondition(lambda self: self.can("recover"))
    def recover(self, choice: int) -> None:
        """A crashed node restarts and tells every node."""
        self.fire("recover", choice)

    @rule(choice=_CHOICE, extra_us=_FREE_US)
    @precondition(lambda self: self.can("delay_message"))
    def delay_message(self, choice: int, extra_us: int) -> None:
        """Hold a message in flight back (a slow classical channel; a fault)."""
        self.fire("delay_message", choice, extra_us)

    # --- the check ----------------------------------------------------------------------------

    @invariant()
    def invariants_hold(self) -> None:
        """Every SAFETY and TYPE invariant of the registry holds in the current state (the
        walk checks after each step it takes; this also covers the initial state)."""
        w = self.walk
        if w is None:
            return
        found = violations(w.model, w.state)
        if found:
            self._fail(InvariantViolated(found[0], tuple(w.actions), w.model))

    def _fail(self, err: InvariantViolated) -> NoReturn:
        """Fail the run; the final (shrunk) failing run writes its trace first."""
        if self.write_traces and _is_final_run():
            where = os.environ.get(TRACE_DIR_ENV) or "counterexamples"
            path = write_trace(err.model, err.actions, err.invariant, where)
            note(f"counterexample trace written to {path} (pqms replay {path})")
        raise err


def _is_final_run() -> bool:
    """Whether Hypothesis is replaying the shrunk failing example (not exploring)."""
    try:
        return bool(current_build_context().is_final)
    except InvalidArgument:  # outside a Hypothesis run: a direct call
        return True


def machine_for(
    scenario: Scenario | None,
    mutant: Mutant | None = None,
    *,
    coverage: Coverage | None = None,
    write_traces: bool = True,
    name: str = "PoolMachine",
) -> type[PoolMachine]:
    """A :class:`PoolMachine` subclass bound to ``scenario`` (``None``: loaded by a subclass's
    ``@initialize`` rule) and optionally a mutant, recording into ``coverage``."""
    if scenario is not None and not isinstance(scenario, Scenario):
        raise TypeError(f"machine_for needs a Scenario (see load_scenario), got {scenario!r}")
    if mutant is not None and not isinstance(mutant, Mutant):
        raise TypeError(f"mutant must be a Mutant (see Mutant.parse), got {mutant!r}")
    attrs = {
        "scenario": scenario,
        "mutant": mutant,
        "coverage": coverage,
        "write_traces": write_traces,
    }
    return type(name, (PoolMachine,), attrs)
