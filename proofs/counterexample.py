"""A mutant's counterexample by BMC (spec/proofs.md §5): the exhaustive and the guided stage
side by side (:func:`find_counterexample`), their answers combined (:func:`combine_stages`),
and the guided trace minimised one step at a time (:func:`minimise_counterexample`). The
engine they run on is :mod:`pqms_model.proofs.bmc`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

from pqms_model.model.transition import Model
from pqms_model.proofs.bmc import TARGETS, BmcError, BmcResult, run_bmc
from pqms_model.proofs.workers import process_pool
from pqms_model.protocol.actions import Action
from pqms_model.protocol.mutants import Mutant
from pqms_model.protocol.scenario import Scenario

__all__ = [
    "MINIMISE_RLIMIT",
    "Skeleton",
    "combine_stages",
    "find_counterexample",
    "minimise_counterexample",
]

MINIMISE_RLIMIT = 10_000_000
"""Z3 resource units per deletion query of :func:`minimise_counterexample`."""


Skeleton = tuple[str, list[Action]]
"""A counterexample of another engine as (invariant it violates, its actions)."""


def find_counterexample(
    model: Model,
    *,
    exhaustive_depth: int = 3,
    skeleton: Callable[[], Skeleton | None] | None = None,
    timeout_ms: int = 60_000,
    progress: Callable[[str], None] | None = None,
) -> BmcResult:
    """The mutant's counterexample, by BMC in two stages (spec/proofs.md §5):

    1. *exhaustive*: every trace of at most ``exhaustive_depth`` steps, all actions, all
       parameters symbolic; a counterexample here is a shortest one;
    2. *guided*: the action of each step fixed to ``skeleton()``, another engine's
       counterexample (``pqms prove`` passes the walks' shrunk one for the same mutant and
       seed, :func:`pqms_model.check.campaign.walks_skeleton`), with its finite
       choices (node, link, pool, path, schedule); every id, time step, delay, outcome and
       purified cost left to Z3. Z3 finds the violating data itself, and the trace is
       validated on the model like any BMC trace. Its length is an upper bound on the shortest;
       stage 1 is the lower bound, and the result says so (``exhaustive_depth``).

    The stages run side by side (stage 1 in a second process); :func:`combine_stages` gives
    the answer (stage 1's counterexample first).
    """
    mutant = model.mutant
    targets = tuple(mutant.breaks) if mutant is not None else TARGETS
    t0 = time.perf_counter()
    # The two stages are independent: stage 1 runs in a second process while this one runs
    # the walks and the guided search; stage 1's counterexample counts first (a shortest one).
    pool = process_pool(1)
    try:
        searching = pool.submit(_exhaustive, model.scenario, mutant, exhaustive_depth,
                                timeout_ms, targets)  # fmt: skip
        hinted = skeleton() if skeleton is not None else None
        guided = None
        stage1_found = searching.done() and searching.result().status == "counterexample"
        if hinted is not None and not stage1_found:
            invariant, hint = hinted
            kinds = [a.name for a in hint]
            if progress:
                progress(f"guided BMC on the walks' {len(kinds)}-step skeleton")
            # aimed at the invariant the walks broke (a two-pair invariant among the targets
            # would make the query quadratic in the ids for nothing); each step's node, link
            # and path pinned to the walks' (crash-silent: 4.8 s -> 0.4 s)
            guided = run_bmc(model, len(kinds), timeout_ms=timeout_ms, targets=(invariant,),
                             kinds=kinds, pins=hint)  # fmt: skip
            if guided.status == "none":  # the walks' own trace solves the pinned query
                raise BmcError("the walks' counterexample is not a trace of the encoding")
        first = searching.result()
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    if progress:
        progress(f"exhaustive BMC to depth {exhaustive_depth}: {first.status}")
    return combine_stages(first, guided, time.perf_counter() - t0)


def combine_stages(first: BmcResult, guided: BmcResult | None, seconds: float) -> BmcResult:
    """:func:`find_counterexample`'s answer from its two stages' (stage 1 exhaustive, stage 2
    guided or None when the walks gave no skeleton).

    A counterexample of stage 1 is the answer (a shortest one). Otherwise a counterexample of
    stage 2 is (it was validated on the model: the violation is certain), with stage 1's
    decided depth as the lower bound, and its reason saying when stage 1 was left undecided.
    Otherwise an unknown of stage 1 is the answer, and then stage 2's.
    """
    if first.status == "counterexample":
        first.engine = "z3-bmc"
        return first
    if guided is None or (guided.status != "counterexample" and first.status != "none"):
        out = replace(first, engine="z3-bmc", seconds=seconds)
        if guided is None and first.status == "none":
            out.reason = "the walks found no skeleton"
        return out
    guided.seconds, guided.engine = seconds, "z3-bmc-guided"
    guided.exhaustive_depth = first.exhaustive_depth
    if guided.status == "counterexample" and first.status == "unknown":
        guided.reason = (f"the exhaustive stage was undecided at depth "
                         f"{first.exhaustive_depth + 1}: {first.reason}")  # fmt: skip
    return guided


def _exhaustive(
    scenario: Scenario, mutant: Mutant | None, depth: int, timeout_ms: int, targets: tuple[str, ...]
) -> BmcResult:
    """Stage 1 of :func:`find_counterexample` (in its own process)."""
    return run_bmc(Model(scenario, mutant), depth, timeout_ms=timeout_ms, targets=targets)


def minimise_counterexample(
    model: Model,
    found: BmcResult,
    *,
    rlimit: int = MINIMISE_RLIMIT,
    progress: Callable[[str], None] | None = None,
) -> BmcResult:
    """Shorten a guided counterexample one step at a time (spec/proofs.md §5).

    For each step of the skeleton (the actions of ``found``), guided BMC runs on the skeleton
    without that step, Z3 choosing every parameter, id, time step and delay afresh; a
    violation of the same invariant (validated on the model like any BMC trace) replaces the
    trace and the search goes on from there. When no step can go, the skeleton is *1-minimal*:
    for every one-step deletion Z3 proved (``unsat``) that no data violates the invariant.
    A deletion Z3 does not decide within ``rlimit`` (Z3's resource units: a budget that,
    unlike a time-out, gives the same answer on any machine; the default is about 3 s here)
    keeps its step and is counted in ``undecided``; 1-minimality is then not established, and
    the result says so. Deletions
    that give the same skeleton (a step out of a run of equal actions) are asked once.
    A shortest counterexample from the exhaustive stage is returned as it is.
    """
    if found.status != "counterexample" or found.engine != "z3-bmc-guided" or not found.invariant:
        return found
    t0 = time.perf_counter()
    best, kinds = found, [a.name for a in found.actions]
    asked: dict[tuple[str, ...], str] = {}
    shorter = True
    while shorter:  # until a whole pass over the current skeleton deletes nothing
        shorter = False
        for i in range(len(kinds)):
            cand = (*kinds[:i], *kinds[i + 1 :])
            if cand in asked:
                continue
            r = run_bmc(model, len(cand), rlimit=rlimit, targets=(found.invariant,),
                        kinds=list(cand))  # fmt: skip
            asked[cand] = r.status
            if progress:
                progress(f"without step {i + 1} ({kinds[i]}): {r.status}")
            if r.status == "counterexample":
                best, kinds, shorter = r, list(cand), True
                break
    deletions = {(*kinds[:i], *kinds[i + 1 :]) for i in range(len(kinds))}
    best.undecided = sum(asked[d] not in ("none", "counterexample") for d in deletions)
    best.engine, best.exhaustive_depth = found.engine, found.exhaustive_depth
    best.minimised_from, best.seconds = found.depth, found.seconds
    best.minimise_seconds = time.perf_counter() - t0
    return best
