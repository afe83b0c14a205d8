"""The invariant suite (spec §5): a Hypothesis state machine over every action of the model.

:class:`PoolMachine` has one rule per action, named as the action is in the spec
(``generate_link``, ``use_pair``, ``crash`` ...), and one check, ``invariants_hold``, that runs
the whole registry (:func:`pqms_model.invariants.violations`) after every step and fails with the
id of the first violated invariant. :func:`invariant_suite` runs it, then the steered walks of
``pqms check``, on your own scenario file from your own pytest::

    from pqms_model.testing import invariant_suite

    TestMyMesh = invariant_suite("my-mesh.toml")  # a unittest.TestCase class pytest collects

Steering, never deciding validity (:meth:`Model.step` alone does that): a rule draws an index
into its action's candidates (:class:`~pqms_model.progress.Steering`) and takes the first one
``step`` accepts from there; time advances to instants where something can happen (an arrival,
a cut-off, a threshold crossing) or by a free amount. Each run draws its bounds (a pool to
focus on, a fault budget, a route budget, patience), so most runs make progress while every
fault stays reachable.

A failing run raises :class:`InvariantViolated`; the shrunk run's ITF trace is written to
``$PQMS_TRACE_DIR`` (default ``./counterexamples``) and replays with ``pqms replay``.
:class:`Coverage` is the non-vacuity evidence: which actions fired, how many uses were delivered
close to their threshold.
"""

from __future__ import annotations

import os
import re
import unittest
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from hypothesis import event, note
from hypothesis import settings as Settings
from hypothesis import strategies as st
from hypothesis.control import current_build_context
from hypothesis.errors import InvalidArgument
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from pqms_model.actions import ACTION_TYPES, Action, AdvanceTime
from pqms_model.invariants import Violation, violations
from pqms_model.model import Model
from pqms_model.mutants import Mutant
from pqms_model.progress import FAULTS, Steering
from pqms_model.scenario import Scenario, load_default, load_scenario
from pqms_model.state import Outcome, State

__all__ = [
    "MAX_FAULTS",
    "MAX_ROUTES",
    "NEAR_THRESHOLD_FRACTION",
    "TRACE_DIR_ENV",
    "URGENT",
    "Coverage",
    "InvariantViolated",
    "PoolMachine",
    "invariant_suite",
    "machine_for",
    "trace_filename",
    "write_trace",
]

MAX_FAULTS = 6
"""Most faults (link down, crash, message delay) one run may inject; each run draws 0..MAX."""

MAX_ROUTES = 4
"""Most routes one run of :class:`PoolMachine` may choose (it may drop one fewer)."""

NEAR_THRESHOLD_FRACTION = 0.15
"""A delivered use is *near its threshold* when its cost is within this fraction of it."""

TRACE_DIR_ENV = "PQMS_TRACE_DIR"
"""Environment variable naming where a failing pytest run writes its trace."""

URGENT = ("receive", "deliver", "admit", "swap", "purify")
"""In a *patient* run, time advances only when none of these has a preferred step enabled."""

_CHOICE = st.integers(min_value=0, max_value=255)
_FREE_US = st.integers(min_value=1, max_value=10**9)


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


def trace_filename(scenario: Scenario, mutant: Mutant | None, invariant_id: str) -> str:
    """``<scenario>-<mutant or protocol>-<invariant>.itf.json``, safe as a file name.

    >>> trace_filename(load_default(), Mutant.EARLY_ADMIT, "causality")
    'earth-moon-mars-early-admit-causality.itf.json'
    """
    parts = (scenario.name, mutant.key if mutant else "protocol", invariant_id)
    return "-".join(re.sub(r"[^A-Za-z0-9._-]+", "_", p) for p in parts) + ".itf.json"


def write_trace(err: InvariantViolated, directory: str | Path, seed: int | None = None) -> Path:
    """Write the ITF trace of a failing run into ``directory`` (created if missing)."""
    from pqms_model.trace import build_trace, dumps  # the trace layer sits above this one

    doc = build_trace(err.model, err.actions, seed=seed, invariant=err.invariant)
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    path = out / trace_filename(err.model.scenario, err.model.mutant, err.invariant)
    path.write_text(dumps(doc), encoding="utf-8")
    return path


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
        self.model: Model | None = None
        self.steer: Steering | None = None
        self.state: State | None = None
        self.actions: list[Action] = []
        self.faults_left = 0
        self.budget: dict[str, int] = {}
        self.focus = 0
        self.patient = False
        if self.scenario is not None:
            self.load(self.scenario)
        if self.coverage is not None:
            self.coverage.runs += 1

    def load(self, scenario: Scenario) -> None:
        """Start from Init on ``scenario``."""
        self.model = Model(scenario, self.mutant)
        self.steer = Steering(self.model)
        self.state = self.model.init()
        self._aim()
        self.actions = []

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
        self.focus, self.faults_left, self.patient = focus, faults, patient
        self.budget = {"choose_route": routes, "drop_route": routes - 1}
        self._aim()

    def _aim(self) -> None:
        if self.steer is not None and self.steer.model.scenario.pools:
            self.steer.focus = self.focus % len(self.steer.model.scenario.pools)

    # --- rules: one per action (made below for every name in ACTION_TYPES) ----------------

    def can(self, name: str) -> bool:
        """Precondition of rule ``name``: some candidate of that action is enabled now."""
        if self.steer is None or self.state is None:
            return False
        if (name in FAULTS and self.faults_left <= 0) or self.budget.get(name, 1) <= 0:
            return False
        if name == "advance_time" and self.patient:  # time waits for urgent protocol steps
            return not any(self.can(n) for n in URGENT)
        strict = self.patient and not ACTION_TYPES[name].environment
        return self.steer.first_enabled(self.state, name, strict) is not None

    def fire(self, name: str, choice: int, free_us: int = 1) -> None:
        """Take the action of kind ``name`` that ``choice`` (and ``free_us``) select."""
        assert self.steer is not None and self.state is not None
        s = self.state
        a: Action | None
        if name == "advance_time":
            a = AdvanceTime(dt_us=self.steer.pick_time(s, choice, free_us))
        elif name == "delay_message":
            a = self.steer.pick_delay(s, choice, free_us)
        else:
            a = self.steer.pick(
                s, name, choice, self.patient and not ACTION_TYPES[name].environment
            )
        nxt = None if a is None else self.steer.try_step(s, a)
        if a is None or nxt is None:
            raise AssertionError(f"{name}: precondition held but {a!r} is not enabled")
        self.state = nxt
        self.actions.append(a)
        self.faults_left -= name in FAULTS
        if name in self.budget:
            self.budget[name] -= 1
        note(f"{len(self.actions):>4}  t={s.now_us} us  {a!r}")
        near = (self.coverage or Coverage()).record(a, s, nxt)
        if near:
            event("use delivered near its threshold")

    @rule(choice=_CHOICE, dt_us=_FREE_US)
    @precondition(lambda self: self.can("advance_time"))
    def advance_time(self, choice: int, dt_us: int) -> None:
        """Let time pass: to an interesting instant (``choice``) or by ``dt_us``."""
        self.fire("advance_time", choice, dt_us)

    @rule(choice=_CHOICE, extra_us=_FREE_US)
    @precondition(lambda self: self.can("delay_message"))
    def delay_message(self, choice: int, extra_us: int) -> None:
        """Hold a message in flight back (a slow classical channel)."""
        self.fire("delay_message", choice, extra_us)

    # --- the check ----------------------------------------------------------------------------

    @invariant()
    def invariants_hold(self) -> None:
        """Every SAFETY and TYPE invariant of the registry holds in the current state."""
        if self.model is None or self.state is None:
            return
        found = violations(self.model, self.state)
        if found:
            err = InvariantViolated(found[0], tuple(self.actions), self.model)
            if self.write_traces and _is_final_run():
                path = write_trace(err, os.environ.get(TRACE_DIR_ENV) or "counterexamples")
                note(f"counterexample trace written to {path} (pqms replay {path})")
            raise err


def _is_final_run() -> bool:
    """Whether Hypothesis is replaying the shrunk failing example (not exploring)."""
    try:
        return bool(current_build_context().is_final)
    except InvalidArgument:  # outside a Hypothesis run: a direct call
        return True


def _rule_for(name: str) -> Callable[..., None]:
    """The rule for action ``name``: take the enabled candidate that ``choice`` selects."""

    def take(self: PoolMachine, choice: int) -> None:
        self.fire(name, choice)

    take.__name__ = take.__qualname__ = name
    take.__doc__ = f"Take a ``{name}`` step (spec id {name!r})."
    enabled: Callable[[Any], bool] = lambda self: self.can(name)  # noqa: E731
    decorated: Callable[..., None] = rule(choice=_CHOICE)(precondition(enabled)(take))
    return decorated


for _name in ACTION_TYPES:
    if not hasattr(PoolMachine, _name):
        setattr(PoolMachine, _name, _rule_for(_name))


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


def invariant_suite(
    path: str | Path,
    *,
    mutant: str | None = None,
    settings: Settings | None = None,
    require_coverage: bool = True,
) -> type[unittest.TestCase]:
    """A ``unittest.TestCase`` class that runs the invariant suite on the scenario at ``path``.

    Its test runs :class:`PoolMachine` under the active Hypothesis profile (or ``settings``),
    then the steered walks of ``pqms check`` (:func:`pqms_model.campaign.run_campaign`, one round
    per 50 examples of the profile), checking every invariant after every step of both. It
    fails with the violated invariant's id and writes the shrunk trace to ``$PQMS_TRACE_DIR``.
    With ``require_coverage`` it also fails unless, over both engines, every action fired and
    some delivered use came within 15% of its threshold: a suite in which nothing happens is no
    pass. A bad scenario file fails at collection, naming the file and the field.
    """
    scenario = load_scenario(path)
    mut = Mutant.parse(mutant) if mutant is not None else None
    title = re.sub(r"\W+", "", scenario.name.title()) or "Scenario"

    def test_invariants(self: unittest.TestCase) -> None:
        from pqms_model.campaign import RUNS_PER_ROUND, run_campaign  # it builds on this module

        chosen = settings or Settings(deadline=None)
        machine_cov = Coverage()
        machine = machine_for(scenario, mut, coverage=machine_cov, name=f"{title}Machine")
        run_state_machine_as_test(machine, settings=chosen)
        rounds = max(1, chosen.max_examples // 50)
        walks = run_campaign(scenario, mut, rounds=rounds, runs_per_round=RUNS_PER_ROUND)
        for c in walks.counterexamples:
            err = InvariantViolated(
                Violation(c.invariant, c.reason), c.actions, Model(scenario, mut)
            )
            where = write_trace(err, os.environ.get(TRACE_DIR_ENV) or "counterexamples")
            self.fail(f"{c.invariant} violated after {c.length} steps (trace: {where}):\n"
                      + "\n".join(c.lines()))  # fmt: skip
        if require_coverage:
            both = machine_cov.merged(walks.coverage)
            detail = f"machine: {machine_cov.summary()}; walks: {walks.coverage.summary()}"
            self.assertEqual(both.problems(), [], f"vacuous suite on {path}: {detail}")

    doc = f"Invariant suite on {path} ({scenario.name}{', mutant ' + mut.key if mut else ''})."
    attrs = {"__doc__": doc, "test_invariants": test_invariants}
    return type(f"Test{title}", (unittest.TestCase,), attrs)
