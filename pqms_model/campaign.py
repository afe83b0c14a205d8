"""The property campaign behind ``pqms check`` (spec §8): steered, bounded, deterministic.

A campaign makes ``rounds`` rounds of ``runs_per_round`` *walks*; a walk takes at most
``steps_per_walk`` steps from Init and checks every SAFETY and TYPE invariant after each. Per
step it draws which kind of action to take (weighted toward progress,
:data:`~pqms_model.progress.PROGRESS_WEIGHTS`), which candidate of that kind
(:meth:`~pqms_model.progress.Steering.pick`) and, for time, how far
(:meth:`~pqms_model.progress.Steering.pick_time`). Each walk draws the pool it focuses on and a
fault budget. :meth:`Model.step` alone decides what is enabled.

A round with a violation is the last: its shortest failing walks are shrunk by :func:`shrink`,
delta debugging on the concrete actions with ids renumbered (shorter traces, in far less time,
than shrinking the draws: a dropped step shifts what every later draw means), and the shortest
counterexample is reported.

Verdicts: ``hold`` (every round ran, no violation, and some use was delivered), ``violated``,
``inconclusive`` (the time budget ran out first, or nothing was delivered: a vacuous run is not
a pass). Same scenario, mutant and seed give the same walks, the same counterexample and the
same trace bytes. Each invariant is reported with the engine that judged it, so a proof engine
can add its verdicts to the same list.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from pqms_model.actions import Action, AdvanceTime, action_params
from pqms_model.errors import NotEnabled
from pqms_model.invariants import INVARIANTS, InvariantKind, violations
from pqms_model.model import Model
from pqms_model.mutants import Mutant
from pqms_model.progress import FAULTS, Steering, choose_kind
from pqms_model.scenario import Scenario
from pqms_model.state import State
from pqms_model.testing import MAX_FAULTS, Coverage, InvariantViolated

__all__ = [
    "DEFAULT_BUDGET_S",
    "ENGINE",
    "ROUNDS",
    "RUNS_PER_ROUND",
    "STEPS_PER_WALK",
    "CampaignResult",
    "Counterexample",
    "InvariantResult",
    "Progress",
    "checked_invariants",
    "run_campaign",
    "shrink",
    "steered_walk",
]

ENGINE = "walks"
DEFAULT_BUDGET_S = 600.0
ROUNDS, RUNS_PER_ROUND, STEPS_PER_WALK = 14, 20, 120
SHRINK_BEST = 3
"""How many of a round's failing walks (the shortest) are shrunk; the shortest result wins."""

Progress = Callable[[int, int, Coverage, float], None]
"""Called after each round with (rounds done, rounds planned, coverage so far, seconds)."""


@dataclass(frozen=True)
class InvariantResult:
    """One invariant's verdict (``hold``, ``violated``, ``inconclusive``) and its engine."""

    id: str
    status: str
    engine: str = ENGINE


@dataclass(frozen=True)
class Counterexample:
    """A shrunk walk whose last step violates ``invariant``."""

    invariant: str
    reason: str
    actions: tuple[Action, ...]
    times_us: tuple[int, ...]  # the clock before each action

    @property
    def length(self) -> int:
        return len(self.actions)

    def lines(self) -> list[str]:
        """The walk, readably: one line per step (``repr`` is valid Python), then the verdict."""
        steps = zip(self.times_us, self.actions, strict=True)
        out = [f"{k:>4}  t={t} us  {a!r}" for k, (t, a) in enumerate(steps, 1)]
        return [*out, f"      violates {self.invariant}: {self.reason}"]


@dataclass(frozen=True)
class CampaignResult:
    """What a campaign found; :meth:`as_json` is the ``pqms check --json`` document."""

    scenario: str
    mutant: str | None
    seed: int
    verdict: str  # hold | violated | inconclusive
    reason: str  # one line: why this verdict
    invariants: tuple[InvariantResult, ...]
    counterexamples: tuple[Counterexample, ...]
    elapsed_s: float
    rounds_done: int
    rounds: int
    coverage: Coverage = field(compare=False)

    def as_json(self, trace_paths: dict[str, str] | None = None) -> dict[str, Any]:
        paths = trace_paths or {}
        return {
            "verdict": self.verdict,
            "invariants": [
                {"id": r.id, "status": r.status, "engine": r.engine} for r in self.invariants
            ],
            "counterexamples": [
                {"invariant": c.invariant, "trace": paths.get(c.invariant), "length": c.length}
                for c in self.counterexamples
            ],
            "elapsed_s": round(self.elapsed_s, 3),
        }


def checked_invariants() -> list[str]:
    """Ids of the invariants every step is checked against (SAFETY and TYPE, registry order)."""
    kinds = {InvariantKind.SAFETY, InvariantKind.TYPE}
    return [i for i, inv in INVARIANTS.items() if inv.kind in kinds]


# --- walks -------------------------------------------------------------------------------------


class _Walk:
    """One steered walk from Init; raises InvariantViolated at the first violation."""

    def __init__(self, model: Model, coverage: Coverage, faults: int, focus: int | None) -> None:
        self.model, self.steer, self.coverage = model, Steering(model, focus), coverage
        self.faults_left = faults
        self.state: State = model.init()
        self.actions: list[Action] = []

    def step(self, kind_choice: int, choice: int, free_us: int) -> None:
        """Take the step the three draws select (kind, candidate, free amount of time)."""
        s, steer = self.state, self.steer
        names = [n for n, cands in steer.candidates(s).items() if cands]
        if self.faults_left <= 0:
            names = [n for n in names if n not in FAULTS]
        while True:  # the weighted choice among the kinds with an enabled candidate
            name = choose_kind(names, kind_choice)
            a = self._pick(name, choice, free_us)
            nxt = None if a is None else steer.try_step(s, a)
            if a is not None and nxt is not None:
                break
            names.remove(name)
        self.faults_left -= name in FAULTS
        self.actions.append(a)
        self.coverage.record(a, s, nxt)
        self.state = nxt
        found = violations(self.model, nxt)
        if found:
            raise InvariantViolated(found[0], tuple(self.actions), self.model)

    def _pick(self, name: str, choice: int, free_us: int) -> Action | None:
        s, steer = self.state, self.steer
        if name == "advance_time":
            return AdvanceTime(dt_us=steer.pick_time(s, choice, free_us))
        if name == "delay_message":
            return steer.pick_delay(s, choice, free_us)
        return steer.pick(s, name, choice)


def steered_walk(model: Model, seed: int, steps: int) -> Iterator[tuple[State, Action, State]]:
    """One steered walk of at most ``steps`` steps from Init, as (pre, action, post) triples
    (the campaign's walk, for drivers that check something else on every step, such as the
    proofs' conformance tests). It ends early at a violation."""
    rng = random.Random(seed)
    pools = len(model.scenario.pools)
    focus = rng.randrange(pools) if pools else None
    walk = _Walk(model, Coverage(), rng.randint(0, MAX_FAULTS), focus)
    for _ in range(steps):
        pre = walk.state
        b = rng.randbytes(6)
        try:
            walk.step(b[0], b[1], 1 + int.from_bytes(b[2:], "big") % 10**9)
        except InvariantViolated:
            yield pre, walk.actions[-1], walk.state
            return
        yield pre, walk.actions[-1], walk.state


def _round(model: Model, seed: int, runs: int, steps: int, cov: Coverage) -> Counterexample | None:
    """One round of ``runs`` seeded random walks. A failing walk ends at its violation and the
    round goes on; the :data:`SHRINK_BEST` shortest failures are shrunk and the shortest
    result is returned (ties: the earliest found).

    The walks draw from ``random.Random(seed)`` (an integer seed: the same stream in every
    process, whatever else is loaded), so the same seed gives the same walks, the same
    counterexample and a byte-identical trace anywhere. Shrinking works on the concrete
    actions (:func:`shrink`), not on the random draws.
    """
    failures: list[InvariantViolated] = []
    rng = random.Random(seed)
    pools = len(model.scenario.pools)
    for _ in range(runs):
        focus = rng.randrange(pools) if pools else None
        walk = _Walk(model, cov, rng.randint(0, MAX_FAULTS), focus)
        cov.runs += 1
        try:
            for _ in range(steps):
                b = rng.randbytes(6)  # kind choice, candidate choice, 4 bytes of free time
                walk.step(b[0], b[1], 1 + int.from_bytes(b[2:], "big") % 10**9)
        except InvariantViolated as err:
            failures.append(err)
    shortest = sorted(range(len(failures)), key=lambda i: len(failures[i].actions))
    best = sorted(shortest[:SHRINK_BEST])  # in the order found, so ties go to the earliest
    found = [shrink(model, failures[i].actions, failures[i].invariant) for i in best]
    return min(found, key=lambda c: c.length, default=None)


# --- shrinking ---------------------------------------------------------------------------------

_ID_FIELDS = frozenset({"pair", "msg", "route", "left", "right", "keep", "sacrifice"})
"""Action parameters that name a record by id (every id comes from ``State.next_id``)."""


@dataclass(frozen=True)
class _Run:
    kept: list[int]  # indices into the original actions, of the steps that ran
    actions: list[Action]  # as run (ids renumbered)
    before: list[tuple[State, dict[int, int]]]  # state and id map before each step
    reason: str


def _made(model: Model, actions: Sequence[Action]) -> list[range]:
    """The ids each step of an executable run makes."""
    made, s = [], model.init()
    for a in actions:
        nxt = model.step(s, a)
        made.append(range(s.next_id, nxt.next_id))
        s = nxt
    return made


def _replay(
    model: Model,
    actions: Sequence[Action],
    made: list[range],
    keep: list[int],
    invariant: str,
    base: _Run | None = None,
) -> _Run | None:
    """Run the steps ``keep`` from Init, renumbering ids (an id step k made originally maps to
    the id step k makes now); the run if it violates ``invariant`` first, else None. The part
    of ``keep`` that starts like ``base`` (a run that ended in the violation) is not re-run."""
    c = 0
    if base is not None:
        while c < len(base.kept) - 1 and c < len(keep) and keep[c] == base.kept[c]:
            c += 1
    if c:
        assert base is not None
        run = _Run(keep[:c], base.actions[:c], base.before[:c], "")
        s, ids = base.before[c][0], dict(base.before[c][1])
    else:
        run, s, ids = _Run([], [], [], ""), model.init(), {}
    for k in keep[c:]:
        a = actions[k]
        fields = _ID_FIELDS.intersection(action_params(a))
        if any(getattr(a, f) not in ids for f in fields):
            return None  # it names a record that a dropped step made
        a = replace(a, **{f: ids[getattr(a, f)] for f in fields}) if fields else a
        try:
            nxt = model.step(s, a)
        except NotEnabled:
            return None
        run.before.append((s, dict(ids)))
        ids.update(zip(made[k], range(s.next_id, nxt.next_id), strict=False))
        run.kept.append(k)
        run.actions.append(a)
        s = nxt
        found = violations(model, s)
        if found:
            ok = found[0].invariant == invariant
            return replace(run, reason=found[0].reason) if ok else None
    return None


def _drop(model: Model, actions: Sequence[Action], invariant: str, best: _Run) -> _Run:
    """ddmin (Zeller): drop one of n chunks while that still fails, else refine n; then any
    window of 2 or 3 adjacent steps (a fault and its repair go together)."""
    made = _made(model, actions)
    n = 2
    while len(best.kept) >= 2:
        keep = best.kept
        size = -(-len(keep) // n)
        tries = (_replay(model, actions, made, keep[:i] + keep[i + size :], invariant, best)
                 for i in range(0, len(keep), size))  # fmt: skip
        found = next((r for r in tries if r is not None), None)
        if found is not None:
            best, n = found, max(n - 1, 2)
        elif size == 1:
            break
        else:
            n = min(2 * n, len(keep))
    changed = True
    while changed:
        changed = False
        for width in (2, 3):
            keep = best.kept
            for i in range(len(keep) - width + 1):
                r = _replay(model, actions, made, keep[:i] + keep[i + width :], invariant, best)
                if r is not None:
                    best, changed = r, True
                    break
    return best


def shrink(model: Model, actions: Sequence[Action], invariant: str) -> Counterexample:
    """The shortest run found from ``actions`` that still violates ``invariant`` first: steps
    dropped by :func:`_drop`, then adjacent time steps merged into one."""
    everything = list(range(len(actions)))
    best = _replay(model, actions, _made(model, actions), everything, invariant)
    if best is None:
        raise ValueError(f"the run does not violate {invariant} first; nothing to shrink")
    best = _drop(model, actions, invariant, best)
    acts, k = list(best.actions), 0
    while k + 1 < len(acts):
        a, b = acts[k], acts[k + 1]
        if isinstance(a, AdvanceTime) and isinstance(b, AdvanceTime):
            merged = [*acts[:k], AdvanceTime(dt_us=a.dt_us + b.dt_us), *acts[k + 2 :]]
            try:
                r = _replay(
                    model, merged, _made(model, merged), list(range(len(merged))), invariant
                )
            except NotEnabled:
                r = None
            if r is not None:
                acts, best = r.actions, r
                continue
        k += 1
    times = tuple(state.now_us for state, _ in best.before)
    return Counterexample(invariant, best.reason, tuple(best.actions), times)


# --- the campaign ------------------------------------------------------------------------------


def run_campaign(
    scenario: Scenario,
    mutant: Mutant | None = None,
    *,
    seed: int = 0,
    budget_s: float = DEFAULT_BUDGET_S,
    progress: Progress | None = None,
    rounds: int = ROUNDS,
    runs_per_round: int = RUNS_PER_ROUND,
    steps_per_walk: int = STEPS_PER_WALK,
) -> CampaignResult:
    """Run the campaign on ``scenario`` (optionally a mutant) and return what it found."""
    if budget_s < 0:
        raise ValueError(f"budget must be >= 0 seconds, got {budget_s}")
    model, cov = Model(scenario, mutant), Coverage()
    start = time.monotonic()
    found: Counterexample | None = None
    done = 0
    while done < rounds and found is None and time.monotonic() - start <= budget_s:
        found = _round(model, seed * 1_000_003 + done, runs_per_round, steps_per_walk, cov)
        done += 1
        if progress is not None:
            progress(done, rounds, cov, time.monotonic() - start)
    ids = checked_invariants()
    if found is not None:
        verdict, why = "violated", f"{found.invariant} violated after {found.length} steps"
        status = {i: "violated" if i == found.invariant else "inconclusive" for i in ids}
    else:
        if done < rounds:
            verdict, why = "inconclusive", f"time budget of {budget_s:g} s spent after {done} "
            why += f"of {rounds} rounds"
        elif cov.delivered_uses == 0:
            verdict, why = "inconclusive", "vacuous: no walk delivered a use"
        else:
            verdict, why = "hold", f"{cov.runs} walks, {cov.steps} steps, no violation"
        status = dict.fromkeys(ids, "hold" if verdict == "hold" else "inconclusive")
    return CampaignResult(
        scenario=scenario.name,
        mutant=mutant.key if mutant else None,
        seed=seed,
        verdict=verdict,
        reason=why,
        invariants=tuple(InvariantResult(i, status[i]) for i in ids),
        counterexamples=(found,) if found is not None else (),
        elapsed_s=time.monotonic() - start,
        rounds_done=done,
        rounds=rounds,
        coverage=cov,
    )
