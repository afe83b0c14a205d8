"""Coherence-time feasibility of the pools (issue 4): the memory a pool needs, and the distance a
memory allows.

The physical model is the one of DESIGN.md ("Physical model") and the timing is the one of the
executable model (:mod:`pqms_model.rules_pairs`, :meth:`~pqms_model.core.ModelCore.deadline`).
Assume the **same** coherence time ``T`` at every node. A pair built along a route and used
after the longest pool wait then reaches the receiver's correction with Werner parameter::

    w = w0 · exp(-H / T),   w0 = Π_hops w_link · w_gate^(hops - 1),   H = Σ_halves hold time

(depolarizing memory, swaps multiply ``w``), and the pool's promise ``F ≥ F_th`` at the
correction is ``w ≥ w_th``. It is linear in ``1/T``, so in closed form::

    T ≥ H / ln(w0 / w_th)            (no T at all when w0 <= w_th).

``H`` adds up, half by half, how long each memory qubit is held (spec §3.3–§3.6):

* elementary pair on hop ``u -> v`` (``u`` the sender-side end emits, ``v`` absorbs): ``u``'s
  half has already waited the link's light time when ``v`` absorbs; ``v`` knows at once, ``u``
  learns by the herald one light time later;
* a swap at ``m`` joins two segments the moment ``m`` knows both. Generation times are free
  in the model, so each subtree is timed to become known at ``m`` just then; each child's two
  halves wait ``r`` (from its stamp until ``m`` knows it): ``+ 2r``. The tree is the route's
  swap schedule (:mod:`pqms_model.schedule`); the intermediate pairs must also meet the
  cut-off, so every such ``r`` is at most the pool's ``max_wait``;
* the end-to-end pair exists from the root swap on. ``Model.deadline`` counts the pool wait
  from that stamp, so the sender may use it up to ``max_wait`` later (it must have learned of it
  by then): both halves are held ``max_wait``: ``+ 2·max_wait``;
* the two teleportation bits take the light time sender -> receiver while the receiver's half
  keeps decaying: ``+ light(a, b)``.

For three equal hops of light time ``L`` this gives ``H = 9L + 2·max_wait + 3L`` for the
sequential schedule (swap at n1, then n2: ``L + 3L``, then ``2L + 3L``) and ``7L + 2·max_wait +
3L`` for the nested one (swap at n2, then n1), which is why the nested schedule wins.

Distance model. The Earth–Mars distance ``D`` (light-seconds) is the light time along the
shortest Earth–Mars path. Varying it multiplies every *interplanetary* link (one that touches
Mars or a relay) by ``D / D_scenario``; links between other endpoints (Earth–Moon) keep their
length, and the number of relays stays the scenario's (so ``D`` is exactly the Earth–Mars light
time when that path is interplanetary links only, as in the default scenario). Every time above
is then an affine function ``fixed_s + per_ls · D`` on each stretch of ``D`` where the shortest
message paths do not change (:class:`Span`), so the longest distance is also found in closed
form.

>>> from pqms_model.scenario import load_default
>>> r = analyse(load_default())
>>> p = r.pools[1]
>>> p.label, p.at_scenario.route.path, p.at_scenario.route.schedule.value
('earth->mars', ('earth', 'relay-l1', 'relay-l2', 'mars'), 'nested')
>>> round(p.at_scenario.required_coherence_s / 3600, 1)      # hours, at 182 light-seconds
21.1
>>> round(coherence_needed_s(hold_s=1000.0, w0=1.0, w_threshold=math.exp(-0.5)), 6)
2000.0
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import networkx as nx

from pqms_model.cost import cost_to_fidelity
from pqms_model.errors import PqmsError
from pqms_model.physics import fidelity_to_werner, swap_fidelity
from pqms_model.scenario import C_KM_PER_S, NodeKind, Pool, Scenario
from pqms_model.schedule import split, swappers
from pqms_model.state import Schedule

__all__ = [
    "DEMONSTRATED_MEMORIES",
    "EARTH_MARS_RANGE_LS",
    "MAX_ROUTES",
    "SWEEP_LS",
    "Budget",
    "FeasibilityError",
    "Geometry",
    "Limit",
    "Memory",
    "PoolFeasibility",
    "Report",
    "RoutePlan",
    "Span",
    "analyse",
    "best_budget",
    "coherence_needed_s",
    "geometry_of",
    "max_distance_ls",
    "plan_route",
]

EARTH_MARS_RANGE_LS = (182.0, 1338.0)
"""Closest approach (2003, 54.6 million km) to conjunction (~401 million km), NASA fact sheet."""

SWEEP_LS = (182.0, 250.0, 500.0, 750.0, 1000.0, 1338.0)
"""Earth–Mars distances (light-seconds) tabulated by default."""

MAX_ROUTES = 16
"""Candidate paths per pool: this many shortest simple paths by length (Model offers 3)."""

_NEAR, _FAR = "earth", "mars"


class FeasibilityError(PqmsError):
    """Input the calculator cannot use (a coherence time out of range, an unwritable file)."""


@dataclass(frozen=True, slots=True)
class Memory:
    """A memory coherence time to test the pools against."""

    label: str
    coherence_s: float
    source: str


DEMONSTRATED_MEMORIES = (
    # Zhong et al., "Optically addressable nuclear spins in a solid with a six-hour coherence
    # time", Nature 517, 177 (2015): 151Eu3+:Y2SiO5 nuclear spin, dynamically decoupled.
    Memory("Eu:YSO 6 h", 21600.0, "Zhong et al., Nature 517, 177 (2015)"),
    # Wang et al., "Single ion qubit with estimated coherence time exceeding one hour",
    # Nat. Commun. 12, 233 (2021): a single 171Yb+ ion, about 5500 s.
    Memory("Yb+ ion 5500 s", 5500.0, "Wang et al., Nat. Commun. 12, 233 (2021)"),
)


def coherence_needed_s(hold_s: float, w0: float, w_threshold: float) -> float | None:
    """Least ``T`` with ``w0 · exp(-hold_s / T) >= w_threshold``; None when no T suffices.

    >>> coherence_needed_s(100.0, 0.5, 0.6) is None     # already below the threshold
    True
    """
    # Depolarizing memory on Werner pairs, w -> w·exp(-dt/T) per half (Dür, Briegel, Cirac &
    # Zoller, Phys. Rev. A 59, 169, 1999); swaps multiply w (Briegel et al., PRL 81, 5932, 1998).
    if w0 <= w_threshold:
        return None
    return hold_s / math.log(w0 / w_threshold)


@dataclass(frozen=True, slots=True)
class Span:
    """A time affine in the Earth–Mars distance ``D``: ``fixed_s + per_ls · D`` seconds."""

    fixed_s: float
    per_ls: float = 0.0

    def at(self, d_ls: float) -> float:
        return self.fixed_s + self.per_ls * d_ls

    def __add__(self, other: Span) -> Span:
        return Span(self.fixed_s + other.fixed_s, self.per_ls + other.per_ls)

    def times(self, k: float) -> Span:
        return Span(k * self.fixed_s, k * self.per_ls)


_ZERO = Span(0.0)


@dataclass(frozen=True)
class Geometry:
    """How the mesh stretches with the Earth–Mars distance (see the module docstring)."""

    base_ls: float | None  # the scenario's own Earth–Mars light time; None: no such axis
    link_span: tuple[Span, ...]  # per link index: its light time as a function of D
    scaled: frozenset[int]  # indices of the links that stretch with D
    link_names: tuple[str, ...]  # per link index: "a-b"
    graph: nx.Graph

    def lights(self, d_ls: float) -> dict[tuple[str, str], Span]:
        """Light time of a message u -> v at ``D``: shortest path over the mesh, as in Model."""
        spans = self.link_span

        def weight(u: str, v: str, data: dict[str, int]) -> float:
            return spans[data["index"]].at(d_ls)

        out: dict[tuple[str, str], Span] = {}
        for u, paths in nx.all_pairs_dijkstra_path(self.graph, weight=weight):
            for v, path in paths.items():
                span = _ZERO
                for x, y in itertools.pairwise(path):
                    span = span + spans[self.graph.edges[x, y]["index"]]
                out[(u, v)] = span
        return out


def geometry_of(scenario: Scenario) -> Geometry:
    """The distance axis of a scenario; without an ``earth`` and a ``mars`` node, no axis."""
    light_s = [ln.distance_km / C_KM_PER_S for ln in scenario.links]
    names = tuple(f"{ln.a}-{ln.b}" for ln in scenario.links)
    if not {_NEAR, _FAR} <= set(scenario.node_names):
        return Geometry(None, tuple(Span(x) for x in light_s), frozenset(), names, scenario.graph)
    try:
        base = nx.shortest_path_length(
            scenario.graph, _NEAR, _FAR, weight=lambda u, v, d: light_s[d["index"]]
        )
    except nx.NetworkXNoPath:
        return Geometry(None, tuple(Span(x) for x in light_s), frozenset(), names, scenario.graph)
    relays = {n.name for n in scenario.nodes if n.kind is NodeKind.RELAY} | {_FAR}
    scaled = frozenset(ln.index for ln in scenario.links if {ln.a, ln.b} & relays)
    spans = tuple(Span(0.0, x / base) if i in scaled else Span(x) for i, x in enumerate(light_s))
    return Geometry(float(base), spans, scaled, names, scenario.graph)


@dataclass(frozen=True, slots=True)
class RoutePlan:
    """One route and swap schedule, its times as functions of ``D`` (valid near ``at_ls``)."""

    path: tuple[str, ...]
    schedule: Schedule
    w0: float  # Werner parameter of the end-to-end pair before any memory decay
    build: Span  # Σ hold of all halves until the end-to-end pair exists (its stamp)
    known_by_sender: Span  # stamp -> the sender learns of the pair
    transit: Span  # the two bits, sender -> receiver
    ages: tuple[Span, ...]  # every intermediate pair's wait from its stamp to its swap
    at_ls: float

    def hold_s(self, wait_s: float, d_ls: float | None = None) -> float:
        """Σ hold of all halves when the sender uses the pair ``wait_s`` after its stamp."""
        d = self.at_ls if d_ls is None else d_ls
        return self.build.at(d) + 2.0 * wait_s + self.transit.at(d)


def plan_route(
    scenario: Scenario, geometry: Geometry, path: Sequence[str], schedule: Schedule, d_ls: float
) -> RoutePlan:
    """The hold budget of ``path`` under ``schedule`` at Earth–Mars distance ``d_ls``."""
    light = geometry.lights(d_ls)
    path = tuple(path)
    hops = len(path) - 1
    gate_f = cost_to_fidelity(scenario.swap_gate_cost_nnp)
    f = 1.0
    for i, (u, v) in enumerate(itertools.pairwise(path)):
        ln = scenario.link_between(u, v)
        if ln is None:
            raise FeasibilityError(f"path {list(path)}: no link {u}-{v}")
        f_link = cost_to_fidelity(ln.initial_cost_nnp)
        f = f_link if i == 0 else swap_fidelity(f, f_link, gate_f)

    def ready(i: int, j: int, at: int) -> Span:
        """Delay from segment (i, j)'s stamp until path[at] (one of its ends) knows it."""
        if j == i + 1:  # elementary: path[j] absorbs (knows at once), path[i] waits the herald
            return light[(path[j], path[i])] if at == i else _ZERO
        return light[(path[split(i, j, schedule)], path[at])]

    ages: list[Span] = []

    def build(i: int, j: int) -> Span:
        """Σ hold of every half of segment (i, j)'s subtree up to its stamp."""
        if j == i + 1:  # the emitter's half crossed the link's light time before absorption
            ln = scenario.link_between(path[i], path[j])
            assert ln is not None
            return geometry.link_span[ln.index]
        m = split(i, j, schedule)
        r_left, r_right = ready(i, m, m), ready(m, j, m)
        ages.extend((r_left, r_right))
        return build(i, m) + build(m, j) + (r_left + r_right).times(2.0)

    total = build(0, hops)
    return RoutePlan(
        path=path,
        schedule=schedule,
        w0=fidelity_to_werner(f),
        build=total,
        known_by_sender=ready(0, hops, 0),
        transit=light[(path[0], path[-1])],
        ages=tuple(ages),
        at_ls=d_ls,
    )


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


@dataclass(frozen=True, slots=True)
class Limit:
    """What one memory allows a pool (same coherence time at every node)."""

    memory: Memory
    max_distance_ls: float | None  # pooled for max_wait; None: never; inf: not limited by D
    max_distance_at_once_ls: float | None  # used the moment the sender learns of the pair
    max_wait_s: float | None  # longest pool wait at the scenario's own distance; None: none


@dataclass(frozen=True, slots=True)
class PoolFeasibility:
    """The answers for one pool."""

    pool: Pool
    label: str  # "sender->receiver"
    depends_on_distance: bool  # its best route stretches with the Earth–Mars distance
    at_scenario: Budget  # at the scenario's own distances
    sweep: tuple[Budget, ...]  # at each distance of Report.distances_ls
    sweep_at_once: tuple[Budget, ...]  # the same, the pair used the moment the sender knows it
    limits: tuple[Limit, ...]


@dataclass(frozen=True)
class Report:
    scenario: str
    source: str
    geometry: Geometry
    distances_ls: tuple[float, ...]
    memories: tuple[Memory, ...]
    pools: tuple[PoolFeasibility, ...]
    assumptions: tuple[str, ...]


ASSUMPTIONS = (
    "Werner pairs; depolarizing memories with the SAME coherence time T at every node "
    "(each held half multiplies w by exp(-dt/T)); swaps multiply w (and the gate's w).",
    "Pair generation is heralded and succeeds when scheduled; retries, photon loss and the "
    "links' generation rates are not counted (they only add waiting, so T is a lower bound).",
    "Timing as in the model: the sender-side end of a hop emits and waits one light time for "
    "the photon plus one for the herald; each swap waits until its node knows both inputs, "
    "generations timed so that both become known together; swap news and the two "
    "teleportation bits travel at c along the shortest path of the mesh.",
    "The sender uses a pool pair up to max_wait_s after the end-to-end pair is made (its "
    "stamp, as Model.deadline counts it); the receiver's half decays during the bits' transit.",
    "Best route: least required T over the shortest simple paths and the model's swap "
    "schedules (sequential, nested). Setting up a route (its ROUTE messages) is not counted.",
    "Earth–Mars distance D: every link touching Mars or a relay is stretched by "
    "D / D_scenario (relays keep their fractional positions and number); other links "
    "(Earth–Moon) keep their length.",
)


def analyse(
    scenario: Scenario,
    memories: Sequence[Memory] | None = None,
    distances_ls: Sequence[float] = SWEEP_LS,
) -> Report:
    """Required coherence per pool across ``distances_ls``, and what each memory allows.

    ``memories`` defaults to :data:`DEMONSTRATED_MEMORIES` plus the scenario's own (the
    shortest coherence time of its nodes).
    """
    if memories is None:
        own = min(n.coherence_us for n in scenario.nodes) / 1e6
        memories = (
            *DEMONSTRATED_MEMORIES,
            Memory(f"scenario {scenario.name}", own, scenario.source),
        )
    for mem in memories:
        if not (0.0 < mem.coherence_s < math.inf):
            raise FeasibilityError(
                f"coherence time must be > 0 s and finite, got {mem.coherence_s!r}"
            )
    geo = geometry_of(scenario)
    own_d = geo.base_ls if geo.base_ls is not None else 0.0
    dists = tuple(float(d) for d in distances_ls) if geo.base_ls is not None else ()
    out = []
    for pool in scenario.pools:
        here = best_budget(scenario, geo, pool, own_d)
        moves = here.route.build.per_ls != 0 or here.route.transit.per_ls != 0
        sweep = tuple(best_budget(scenario, geo, pool, d) for d in dists)
        at_once = tuple(best_budget(scenario, geo, pool, d, at_once=True) for d in dists)
        limits = tuple(
            Limit(
                mem,
                max_distance_ls(scenario, geo, pool, mem.coherence_s),
                max_distance_ls(scenario, geo, pool, mem.coherence_s, at_once=True),
                _max_wait_s(scenario, geo, pool, mem.coherence_s, own_d),
            )
            for mem in memories
        )
        out.append(
            PoolFeasibility(pool, f"{pool.a}->{pool.b}", moves, here, sweep, at_once, limits)
        )
    return Report(
        scenario=scenario.name,
        source=scenario.source,
        geometry=geo,
        distances_ls=dists,
        memories=tuple(memories),
        pools=tuple(out),
        assumptions=ASSUMPTIONS,
    )
