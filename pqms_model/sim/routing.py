"""Quantum Routing Protocol policy: which path, which swap schedule (``spec/simulator.md`` §2).

Whitepaper §3.1: the routing protocol watches every link and builds over the best routes.

The pool's sender decides on its own, possibly stale, link-state view
(:meth:`~pqms_model.model.core.ModelCore.believes_down`);
:class:`~pqms_model.model.transition.Model` checks that each decision is legal (``choose_route``
refuses a path the sender believes down). This module only *decides*; it never changes a state.

Path quality is the **predicted cost at use**: the log-Werner cost, in nano-nepers, of the
end-to-end pair at the receiver's correction when the sender uses it as soon as it knows it
(:func:`predict`). It adds, exactly as the model does,

- each hop's initial cost (``Link.initial_cost_nnp``) plus the emitter's decay while its photon
  flies (the model's ``generate_link``);
- the decay of both halves of every pair while it waits for the expected generation of its
  siblings (``1 / rate`` per hop) and for herald and swap messages (light time along the mesh);
- ``swap_gate_cost_nnp`` per swap, and the receiver's decay while the two bits travel.

Candidate paths come from Yen's k shortest simple paths (networkx) on a directed copy of the mesh
whose edge weight is a per-hop share of that cost; the candidates are then ranked by the exact
prediction, each with its better schedule (:class:`~pqms_model.protocol.state.Schedule`). Only
*feasible* plans (predicted cost within the pool threshold) are offered.

>>> from pqms_model.protocol.scenario import load_default
>>> router = Router(load_default())
>>> best = router.plans(0, frozenset())[0]
>>> best.path, best.schedule.value, best.feasible
(('earth', 'moon'), 'sequential', True)
>>> [p.path for p in router.plans(0, frozenset({0}))]        # earth-moon link believed down
[('earth', 'relay-l1', 'moon')]
>>> router.plans(1, frozenset())[0].schedule.value            # 3 hops: nested is better here
'nested'
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass

import networkx as nx

from pqms_model.model.rules.routing import MAX_ROUTES_PER_POOL
from pqms_model.physics.cost import US_PER_S, cost_to_fidelity, decay_cost_nnp
from pqms_model.protocol.actions import Action, ChooseRoute, DropRoute
from pqms_model.protocol.scenario import Scenario
from pqms_model.protocol.schedule import split
from pqms_model.protocol.state import Route, Schedule, State

__all__ = [
    "DEFAULT_K_PATHS",
    "Basis",
    "Plan",
    "RouteMemo",
    "Router",
    "believed_down",
    "predict",
    "route_actions",
    "schedules_for",
]

DEFAULT_K_PATHS = 3
"""Alternative paths kept per pool (the model allows this many active routes per pool)."""

_CANDIDATE_FACTOR = 2  # Yen's order is only a heuristic: rank 2k candidates exactly, keep k


@dataclass(frozen=True, slots=True)
class Plan:
    """A path and swap schedule for a pool, with what :func:`predict` expects of it."""

    pool: int
    path: tuple[str, ...]
    schedule: Schedule
    cost_at_use_nnp: int  # predicted cost at the receiver's correction (use at sender_ready)
    sender_ready_us: int  # from the start of generation: when the sender knows the pair
    receiver_ready_us: int  # ... when the receiver knows it
    threshold_nnp: int

    @property
    def feasible(self) -> bool:
        return self.cost_at_use_nnp <= self.threshold_nnp

    @property
    def fidelity_at_use(self) -> float:
        """Predicted fidelity at the receiver's correction (float, for reports)."""
        return cost_to_fidelity(self.cost_at_use_nnp)

    @property
    def hops(self) -> int:
        return len(self.path) - 1


@dataclass(frozen=True, slots=True)
class _Seg:
    """A predicted pair on the way: cost at ``stamp_us``; when each end knows it."""

    cost_nnp: int
    stamp_us: int
    known_i_us: int
    known_j_us: int


def schedules_for(hops: int) -> tuple[Schedule, ...]:
    """Schedules worth comparing: with one or two hops both trees are the same."""
    return (Schedule.SEQUENTIAL,) if hops <= 2 else (Schedule.SEQUENTIAL, Schedule.NESTED)


def predict(
    scenario: Scenario,
    pool: int,
    path: tuple[str, ...],
    schedule: Schedule,
    *,
    generation_wait: bool = True,
) -> Plan:
    """Predicted cost at use of one end-to-end pair built along ``path`` with ``schedule``.

    Every hop starts generating at time 0 and succeeds after its expected wait ``1 / rate``
    (``generation_wait=False``: at once); each swap happens when both its pairs are known at
    the swapping node; the sender uses the pair as soon as it knows it, and the receiver
    corrects when the bits have arrived and it knows the pair. All in the model's integer units
    and rounding.

    >>> from pqms_model.protocol.scenario import load_default
    >>> sc = load_default()
    >>> p = predict(sc, 0, ("earth", "moon"), Schedule.SEQUENTIAL, generation_wait=False)
    >>> p.sender_ready_us == sc.light_us("earth", "moon"), p.receiver_ready_us
    (True, 0)
    """
    sc = scenario
    pl = sc.pools[pool]
    coh = {n: sc.node(n).coherence_us for n in path}

    def cost_at(seg: _Seg, i: int, j: int, t_us: int) -> int:
        dt = t_us - seg.stamp_us
        return seg.cost_nnp + decay_cost_nnp(dt, coh[path[i]]) + decay_cost_nnp(dt, coh[path[j]])

    def build(i: int, j: int) -> _Seg:
        if j == i + 1:
            u, v = path[i], path[j]
            ln = sc.link_between(u, v)
            if ln is None:
                raise KeyError(f"no link {u}-{v}")
            t = math.ceil(US_PER_S / ln.generation_rate_hz) if generation_wait else 0
            cost = ln.initial_cost_nnp + decay_cost_nnp(ln.light_us, coh[u])
            return _Seg(cost, t, t + sc.light_us(v, u), t)
        m = split(i, j, schedule)
        left, right = build(i, m), build(m, j)
        t = max(left.known_j_us, right.known_i_us)  # both pairs known at path[m]
        cost = cost_at(left, i, m, t) + cost_at(right, m, j, t) + sc.swap_gate_cost_nnp
        return _Seg(cost, t, t + sc.light_us(path[m], path[i]), t + sc.light_us(path[m], path[j]))

    k = len(path) - 1
    root = build(0, k)
    t_use, light = root.known_i_us, sc.light_us(pl.a, pl.b)
    at_send = cost_at(root, 0, k, t_use)
    correction_us = max(t_use + light, root.known_j_us)  # the bits wait until b knows the pair
    cost = at_send + decay_cost_nnp(correction_us - t_use, coh[path[-1]])
    return Plan(pool, path, schedule, cost, t_use, root.known_j_us, pl.threshold_nnp)


def believed_down(state: State, node: str) -> frozenset[int]:
    """Links ``node``'s link-state view has down (odd sequence number: the model's rule)."""
    return frozenset(li for li, seq in state.view[node].items() if seq % 2 == 1)


class Router:
    """Ranked plans per pool and link-state view (cached: views change rarely).

    ``schedule`` fixes the swap schedule for paths of three or more hops; ``None`` (default)
    picks, per path, the schedule with the lower predicted cost at use.
    """

    def __init__(
        self, scenario: Scenario, k: int = DEFAULT_K_PATHS, schedule: Schedule | None = None
    ) -> None:
        if not 1 <= k <= MAX_ROUTES_PER_POOL:
            raise ValueError(f"k must be 1..{MAX_ROUTES_PER_POOL} alternative paths, got {k}")
        self.scenario, self.k, self.schedule = scenario, k, schedule
        self._cache: dict[tuple[int, frozenset[int]], tuple[Plan, ...]] = {}
        self._link_of: dict[tuple[str, str], int] = {}
        self._graph = nx.DiGraph()
        gate = scenario.swap_gate_cost_nnp
        for ln in scenario.links:
            for u, v in ((ln.a, ln.b), (ln.b, ln.a)):
                self._link_of[(u, v)] = ln.index
                tu, tv = scenario.node(u).coherence_us, scenario.node(v).coherence_us
                herald = scenario.light_us(v, u)
                weight = (
                    ln.initial_cost_nnp
                    + decay_cost_nnp(ln.light_us, tu)
                    + decay_cost_nnp(herald, tu)
                    + decay_cost_nnp(herald, tv)
                    + gate
                )
                self._graph.add_edge(u, v, weight=weight, link=ln.index)

    def path_links(self, path: tuple[str, ...]) -> tuple[int, ...]:
        return tuple(self._link_of[(u, v)] for u, v in itertools.pairwise(path))

    def best_plan(self, pool: int, path: tuple[str, ...]) -> Plan:
        """``path`` with its schedule: the fixed one, or the better predicted."""
        hops = len(path) - 1
        options = schedules_for(hops)
        if self.schedule is not None and hops > 2:
            options = (self.schedule,)
        plans = [predict(self.scenario, pool, path, sch) for sch in options]
        return min(plans, key=lambda p: (p.cost_at_use_nnp, p.sender_ready_us))

    def plans(self, pool: int, down: frozenset[int]) -> tuple[Plan, ...]:
        """Up to ``k`` feasible plans avoiding links in ``down``, best (lowest cost) first."""
        key = (pool, down)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        pl = self.scenario.pools[pool]
        graph = self._graph
        if down:
            graph = nx.subgraph_view(
                self._graph, filter_edge=lambda u, v: self._link_of[(u, v)] not in down
            )
        found: list[Plan] = []
        try:
            gen = nx.shortest_simple_paths(graph, pl.a, pl.b, weight="weight")
            for path in itertools.islice(gen, _CANDIDATE_FACTOR * self.k):
                plan = self.best_plan(pool, tuple(path))
                if plan.feasible:
                    found.append(plan)
        except nx.NetworkXNoPath:
            pass
        found.sort(key=lambda p: (p.cost_at_use_nnp, p.sender_ready_us, p.path))
        out = tuple(found[: self.k])
        self._cache[key] = out
        return out


Basis = tuple[frozenset[int], frozenset[tuple[str, ...]]]
"""What a routing decision was made on: links believed down, paths avoided (stalled)."""


@dataclass
class RouteMemo:
    """What the sender remembers about a route it chose (policy state, not model state)."""

    basis: Basis  # the view it was chosen (or last judged) on
    progress_us: int  # when the route last delivered a pair to the sender (or was chosen)


def route_actions(
    router: Router,
    state: State,
    pool: int,
    memo: dict[int, RouteMemo],
    *,
    want_route: bool,
    stalled: Iterable[int] = (),
    avoid: frozenset[tuple[str, ...]] = frozenset(),
) -> list[Action]:
    """The sender's routing decisions for ``pool`` now (failover and re-optimisation).

    - Drop an active route whose path the sender now believes down, or that ``stalled``
      names (no progress for too long: a crashed relay sends no link-state news).
    - Re-optimise: when the basis (view, avoided paths) differs from the one a route was
      chosen on and a different path is now predicted better (or the route's path is now
      avoided), drop the route and choose the best.
    - Choose the best plan when no active route is left and ``want_route``; paths in
      ``avoid`` (recently stalled) come last.
    """
    pl = router.scenario.pools[pool]
    down = believed_down(state, pl.a)
    stalled_ids = set(stalled)
    plans = router.plans(pool, down)
    ranked = [p for p in plans if p.path not in avoid] + [p for p in plans if p.path in avoid]
    out: list[Action] = []
    keep: list[Route] = []
    for r in sorted(
        (r for r in state.routes.values() if r.pool == pool and r.active), key=lambda r: r.id
    ):
        links = router.path_links(r.path)
        if any(li in down for li in links) or r.id in stalled_ids:
            out.append(DropRoute(r.id))
            continue
        m = memo.get(r.id)
        if m is not None and m.basis != (down, avoid):
            better = ranked and ranked[0].path != r.path
            if better and (
                r.path in avoid
                or ranked[0].cost_at_use_nnp < router.best_plan(pool, r.path).cost_at_use_nnp
            ):
                out.append(DropRoute(r.id))
                continue
            m.basis = (down, avoid)  # judged on this view: not again until it changes
        keep.append(r)
    if not keep and want_route and ranked:
        best = ranked[0]
        out.append(ChooseRoute(pool, best.path, best.schedule))
    return out
