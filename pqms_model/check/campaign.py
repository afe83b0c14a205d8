"""The property campaign behind ``pqms check`` (spec §8): steered, bounded, deterministic.

A campaign makes ``rounds`` rounds of ``runs_per_round`` *walks*; a walk takes at most
``steps_per_walk`` steps from Init and checks every SAFETY and TYPE invariant after each. Per
step it draws which kind of action to take (weighted toward progress,
:data:`~pqms_model.check.steering.PROGRESS_WEIGHTS`), which candidate of that kind
(:meth:`~pqms_model.check.steering.Steering.pick`) and, for time, how far
(:meth:`~pqms_model.check.steering.Steering.pick_time`). Each walk draws the pool it focuses on and
a fault budget. :meth:`Model.step` alone decides what is enabled.

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
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pqms_model.check.shrink import Counterexample, shrink
from pqms_model.check.steering import FAULTS, choose_kind
from pqms_model.check.walk import MAX_FAULTS, Coverage, InvariantViolated, Walk
from pqms_model.invariants import INVARIANTS, InvariantKind
from pqms_model.model.transition import Model
from pqms_model.protocol.actions import Action
from pqms_model.protocol.mutants import Mutant
from pqms_model.protocol.scenario import Scenario
from pqms_model.protocol.state import State

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
    "walk_step",
    "walks_skeleton",
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


def walk_step(walk: Walk, kind_choice: int, choice: int, free_us: int) -> None:
    """Take the step the three draws select: the kind by :func:`choose_kind` among the kinds
    with a candidate (faults only while the budget lasts), then :meth:`Walk.take`; a kind with
    no enabled candidate is set aside and the choice made again among the rest."""
    names = [n for n, cands in walk.steer.candidates(walk.state).items() if cands]
    if walk.faults_left <= 0:
        names = [n for n in names if n not in FAULTS]
    while walk.take(name := choose_kind(names, kind_choice), choice, free_us) is None:
        names.remove(name)


def steered_walk(model: Model, seed: int, steps: int) -> Iterator[tuple[State, Action, State]]:
    """One steered walk of at most ``steps`` steps from Init, as (pre, action, post) triples
    (the campaign's walk, for drivers that check something else on every step, such as the
    proofs' conformance tests). It ends early at a violation."""
    rng = random.Random(seed)
    pools = len(model.scenario.pools)
    focus = rng.randrange(pools) if pools else None
    walk = Walk(model, Coverage(), rng.randint(0, MAX_FAULTS), focus)
    for _ in range(steps):
        pre = walk.state
        b = rng.randbytes(6)
        try:
            walk_step(walk, b[0], b[1], 1 + int.from_bytes(b[2:], "big") % 10**9)
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
        walk = Walk(model, cov, rng.randint(0, MAX_FAULTS), focus)
        cov.runs += 1
        try:
            for _ in range(steps):
                b = rng.randbytes(6)  # kind choice, candidate choice, 4 bytes of free time
                walk_step(walk, b[0], b[1], 1 + int.from_bytes(b[2:], "big") % 10**9)
        except InvariantViolated as err:
            failures.append(err)
    shortest = sorted(range(len(failures)), key=lambda i: len(failures[i].actions))
    best = sorted(shortest[:SHRINK_BEST])  # in the order found, so ties go to the earliest
    found = [shrink(model, failures[i].actions, failures[i].invariant) for i in best]
    return min(found, key=lambda c: c.length, default=None)


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


def walks_skeleton(
    scenario: Scenario, mutant: Mutant | None, seed: int, budget_s: float = 120.0
) -> tuple[str, list[Action]] | None:
    """The walks' shrunk counterexample as (invariant, actions), or None: the skeleton that
    guided BMC (:func:`pqms_model.proofs.counterexample.find_counterexample`) fills in."""
    walks = run_campaign(scenario, mutant, seed=seed, budget_s=budget_s)
    if not walks.counterexamples:
        return None
    hint = walks.counterexamples[0]
    return hint.invariant, list(hint.actions)
