"""Feasibility (issue 4), the search over routes: the best candidate route of a pool at one
Earth–Mars distance, and the longest distance (or pool wait) a coherence time allows.

Each candidate (a shortest simple path and a swap schedule) is timed by
:func:`~pqms_model.feasibility.route.plan_route`; the model is described in
:mod:`pqms_model.feasibility.route`.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import networkx as nx

from pqms_model.feasibility.route import (
    Geometry,
    RoutePlan,
    Span,
    coherence_needed_s,
    plan_route,
)
from pqms_model.physics.werner import fidelity_to_werner
from pqms_model.protocol.scenario import Pool, Scenario
from pqms_model.protocol.schedule import swappers
from pqms_model.protocol.state import Schedule

__all__ = ["MAX_ROUTES", "Budget", "best_budget", "max_distance_ls"]

MAX_ROUTES = 16
"""Candidate paths per pool: this many shortest simple paths by length (Model offers 3)."""


def _routes(scenario: Scenario, pool: Pool) -> list[tuple[tuple[str, ...], Schedule]]:
    paths = itertools.islice(
        nx.shortest_simple_paths(scenario.graph, pool.a, pool.b, weight="distance_km"), MAX_ROUTES
    )
    out: list[tuple[tuple[str, ...], Schedule]] = []
    for p in paths:
        trees: list[dict[tuple[int, int], int | None]] = []
        for sched in Schedule:  # schedules giving the same swap tree are one candidate
            tree = swappers(len(p) - 1, sched)
            if tree not in trees:
                trees.append(tree)
                out.append((tuple(p), sched))
    return out


def _ok(plan: RoutePlan, pool: Pool, wait: Span, d_ls: float) -> bool:
    """The cut-off lets every intermediate pair through and the sender knows the pair in time."""
    limit = pool.max_wait_us / 1e6
    spans = (*plan.ages, plan.known_by_sender)
    return all(s.at(d_ls) <= limit for s in spans) and wait.at(d_ls) <= limit


@dataclass(frozen=True, slots=True)
class Budget:
    """The best route for a pool at one distance and the coherence time it needs."""

    distance_ls: float
    route: RoutePlan
    wait_s: float  # how long after its stamp the sender uses the pair
    required_coherence_s: float | None  # None: no coherence time suffices
    reason: str  # why not, when required_coherence_s is None

    @property
    def build_s(self) -> float:
        return self.route.build.at(self.distance_ls)

    @property
    def transit_s(self) -> float:
        return self.route.transit.at(self.distance_ls)

    @property
    def hold_s(self) -> float:
        return self.route.hold_s(self.wait_s, self.distance_ls)


def best_budget(
    scenario: Scenario, geometry: Geometry, pool: Pool, d_ls: float, *, at_once: bool = False
) -> Budget:
    """Least required coherence over the pool's candidate routes at distance ``d_ls``.

    ``at_once``: the sender uses the pair the moment it learns of it, instead of after the
    pool's longest wait ``max_wait``.
    """
    w_th = fidelity_to_werner(pool.threshold_fidelity)
    best: Budget | None = None
    best_t = math.inf
    fallback: Budget | None = None
    for path, sched in _routes(scenario, pool):
        plan = plan_route(scenario, geometry, path, sched, d_ls)
        wait = plan.known_by_sender if at_once else Span(pool.max_wait_us / 1e6)
        t = coherence_needed_s(plan.hold_s(wait.at(d_ls)), plan.w0, w_th)
        if t is None:
            why = f"w0 = {plan.w0:.4f} <= w_th = {w_th:.4f}: below the threshold before any wait"
        elif not _ok(plan, pool, wait, d_ls):
            t, why = None, "a herald or swap message takes longer than max_wait (cut-off)"
        else:
            why = ""
        b = Budget(d_ls, plan, wait.at(d_ls), t, why)
        if t is not None and t < best_t:
            best, best_t = b, t
        if fallback is None or b.hold_s < fallback.hold_s:
            fallback = b
    assert fallback is not None  # the loader guarantees a path per pool
    return best if best is not None else fallback


def max_distance_ls(
    scenario: Scenario, geometry: Geometry, pool: Pool, coherence_s: float, *, at_once: bool = False
) -> float | None:
    """Longest Earth–Mars distance at which the pool works with coherence ``coherence_s``.

    ``None``: not even at zero distance; ``math.inf``: the distance does not limit it. Per
    route, every constraint ``g(D) <= c`` (hold budget ``H(D) <= T·ln(w0/w_th)``; each wait
    ``<= max_wait``) has ``g`` concave, nondecreasing and piecewise affine in ``D`` (sums of
    shortest-path minima). Solving the affine piece at hand in closed form and stepping to its
    root therefore never overshoots and stops on the last piece (Newton on a concave function).
    """
    best: float | None = None
    for path, sched in _routes(scenario, pool):
        d = _route_max_distance(scenario, geometry, pool, path, sched, coherence_s, at_once)
        if d is not None and (best is None or d > best):
            best = d
    return best


def _route_max_distance(
    scenario: Scenario,
    geometry: Geometry,
    pool: Pool,
    path: tuple[str, ...],
    sched: Schedule,
    coherence_s: float,
    at_once: bool,
) -> float | None:
    w_th = fidelity_to_werner(pool.threshold_fidelity)
    limit_s = pool.max_wait_us / 1e6
    d = 0.0
    for _ in range(64):
        plan = plan_route(scenario, geometry, path, sched, d)
        if plan.w0 <= w_th:
            return None
        wait = plan.known_by_sender if at_once else Span(limit_s)
        # T >= H / ln(w0 / w_th)  <=>  H(D) <= T ln(w0 / w_th): the same inequality, for D
        hold = plan.build + wait.times(2.0) + plan.transit
        cons = [(hold, coherence_s * math.log(plan.w0 / w_th)), (wait, limit_s)]
        cons += [(g, limit_s) for g in (plan.known_by_sender, *plan.ages)]
        if any(g.at(d) > c + 1e-9 * max(1.0, c) for g, c in cons):
            return None  # at d = 0 (later steps never overshoot)
        nxt = min(((c - g.fixed_s) / g.per_ls for g, c in cons if g.per_ls > 0), default=math.inf)
        if nxt == math.inf or nxt <= d * (1 + 1e-12):
            return max(d, nxt)
        d = nxt
    raise RuntimeError(f"max_distance_ls did not converge on {path}")  # pragma: no cover


def _max_wait_s(
    scenario: Scenario, geometry: Geometry, pool: Pool, coherence_s: float, d_ls: float
) -> float | None:
    """Longest pool wait (from the stamp) ``coherence_s`` allows at ``d_ls``, best route."""
    w_th = fidelity_to_werner(pool.threshold_fidelity)
    best: float | None = None
    for path, sched in _routes(scenario, pool):
        r = plan_route(scenario, geometry, path, sched, d_ls)
        if r.w0 <= w_th:
            continue
        budget = coherence_s * math.log(r.w0 / w_th)
        w = (budget - r.build.at(d_ls) - r.transit.at(d_ls)) / 2.0
        floor = max(g.at(d_ls) for g in (r.known_by_sender, *r.ages))
        if w >= floor and (best is None or w > best):
            best = w
    return best
