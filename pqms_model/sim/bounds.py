"""Bounds the simulator is measured against: rate and self-healing (``spec/simulator.md`` §4-5).

**Max-flow bound on a pool's end-to-end rate.** An end-to-end pair over a path of ``k`` hops
consumes one elementary pair on each hop (one swap at each of the ``k - 1`` inner nodes joins
them); ``r`` rounds of purification would consume ``2 ** r`` end-to-end pairs per kept one. So
a schedule delivering end-to-end pairs at rate ``x_P`` along paths ``P`` needs, per link ``e``,
``sum(x_P for P through e) <= rate_e``: a flow from sender to receiver with link capacities
``rate_e`` (both directions share one link: the undirected max flow, which networkx computes on
the two antiparallel arcs). Memory adds node capacities by Little's law: a node holds each of
its ``q`` qubits per pair (two at a relay, one at an end) for at least ``h_v`` (a relay and the
sender wait at least one light time of an adjacent link for a herald; the receiver holds its
half at least until the bits arrive, ``light(a, b)``), so at most ``capacity_v / (q h_v)`` pairs
per second pass ``v``. Links on no path whose zero-wait cost meets the threshold are left out.
The bound is for the pool alone (pools share links, so together they get less).

**Self-healing bound.** See :class:`HealingBound` and ``spec/simulator.md`` §4.

>>> from pqms_model.protocol.scenario import load_default
>>> sc = load_default()
>>> round(max_flow_bound_hz(sc, 0), 4)   # earth->moon: 10 Hz direct + 12 / (2 x 60.7 s) via l1
10.0988
>>> round(max_flow_bound_hz(sc, 1), 4)   # earth->mars: relay-l1's memory, not its 1 Hz links
0.0988
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass

import networkx as nx

from pqms_model.physics.cost import US_PER_S, decay_cost_nnp
from pqms_model.protocol.scenario import Scenario
from pqms_model.sim.pool_policy import PolicyConfig
from pqms_model.sim.routing import Plan, Router, predict

__all__ = [
    "GENERATION_EPSILON",
    "HealingBound",
    "erlang_quantile_us",
    "healing_bound",
    "light_diameter_us",
    "max_flow_bound_hz",
    "pair_lifetime_us",
    "stall_timeout_us",
]

GENERATION_EPSILON = 1e-9
"""Probability, per hop, that generation takes longer than the bound allows for."""

HEALING_MARGIN = 1.1
"""Slack factor on the healing bound (integer rounding, scheduling order)."""


def _min_costs(scenario: Scenario, src: str) -> dict[str, float]:
    """Least zero-wait cost (nnp) to reach each node from ``src`` (lower bound on any path)."""
    g = nx.Graph()
    for ln in scenario.links:
        t = max(scenario.node(ln.a).coherence_us, scenario.node(ln.b).coherence_us)
        w = ln.initial_cost_nnp + decay_cost_nnp(ln.light_us, t) + scenario.swap_gate_cost_nnp
        g.add_edge(ln.a, ln.b, w=w)
    dist: dict[str, float] = nx.single_source_dijkstra_path_length(g, src, weight="w")
    return dist


def max_flow_bound_hz(scenario: Scenario, pool: int, purification_rounds: int = 0) -> float:
    """Upper bound on the end-to-end pair rate of ``pool`` (module docstring)."""
    sc, pl = scenario, scenario.pools[pool]
    margin = pl.threshold_nnp + sc.swap_gate_cost_nnp  # the last hop has no swap
    da, db = _min_costs(sc, pl.a), _min_costs(sc, pl.b)
    g = nx.DiGraph()
    min_light: dict[str, int] = {}
    for ln in sc.links:
        for v in (ln.a, ln.b):
            min_light[v] = min(min_light.get(v, ln.light_us), ln.light_us)
    for ln in sc.links:
        w = ln.initial_cost_nnp + sc.swap_gate_cost_nnp
        reach = min(
            da.get(ln.a, math.inf) + w + db.get(ln.b, math.inf),
            da.get(ln.b, math.inf) + w + db.get(ln.a, math.inf),
        )
        if reach > margin:
            continue
        for u, v in ((ln.a, ln.b), (ln.b, ln.a)):
            g.add_edge(f"{u}/out", f"{v}/in", capacity=ln.generation_rate_hz)
    for name in list({n.split("/")[0] for n in g.nodes}):
        node = sc.node(name)
        if name == pl.b:
            q, hold_us = 1, sc.light_us(pl.a, pl.b)
        else:
            q, hold_us = (1 if name == pl.a else 2), min_light[name]
        g.add_edge(
            f"{name}/in", f"{name}/out", capacity=node.memory_capacity * US_PER_S / (q * hold_us)
        )
    src, dst = f"{pl.a}/out", f"{pl.b}/in"
    if src not in g or dst not in g:
        return 0.0
    value = float(nx.maximum_flow_value(g, src, dst, capacity="capacity"))
    return value / (1 << purification_rounds)


@functools.lru_cache(maxsize=4096)  # pure; the simulator asks again for every new route
def erlang_quantile_us(successes: int, rate_hz: float, epsilon: float = GENERATION_EPSILON) -> int:
    """Time by which a Poisson process of ``rate_hz`` has made ``successes`` successes, except
    with probability ``epsilon``: the least ``t`` with ``P(Poisson(rate t) < successes) <= eps``.

    >>> erlang_quantile_us(0, 1.0)
    0
    >>> 20_000_000 < erlang_quantile_us(1, 1.0) < 21_000_000    # -ln(1e-9) = 20.7 s
    True
    """
    if successes <= 0:
        return 0

    def tail(lam: float) -> float:  # P(Poisson(lam) <= successes - 1)
        term, total = math.exp(-lam), 0.0
        for i in range(successes):
            total += term
            term *= lam / (i + 1)
        return total

    lo, hi = 0.0, 1.0
    while tail(hi) > epsilon:
        hi *= 2
    for _ in range(100):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if tail(mid) > epsilon else (lo, mid)
    return math.ceil(hi / rate_hz * US_PER_S)


def light_diameter_us(scenario: Scenario) -> int:
    """Longest light time between two nodes: the latest any news (link state, reset) arrives."""
    return max(scenario.light_us(u, v) for u in scenario.node_names for v in scenario.node_names)


def route_message_us(scenario: Scenario, path: tuple[str, ...]) -> int:
    """Until the last node of ``path`` has the ROUTE message from the sender."""
    return max(scenario.light_us(path[0], v) for v in path)


def stall_timeout_us(scenario: Scenario, plan: Plan, cfg: PolicyConfig) -> int:
    """After this long without a pair (while it has a deficit and memory to build), a route is
    deemed stalled (a crashed relay sends no link-state news): ``stall_factor x`` (route
    set-up + predicted fill + the time the slowest hop needs for one pair, except with
    probability ``GENERATION_EPSILON``)."""
    slowest = min(scenario.links[li].generation_rate_hz for li in _links(scenario, plan.path))
    wait = route_message_us(scenario, plan.path) + plan.sender_ready_us
    return math.ceil(cfg.stall_factor * (wait + erlang_quantile_us(1, slowest)))


def _links(scenario: Scenario, path: tuple[str, ...]) -> list[int]:
    out = []
    for u, v in itertools.pairwise(path):
        ln = scenario.link_between(u, v)
        assert ln is not None, f"no link {u}-{v}"
        out.append(ln.index)
    return out


def pair_lifetime_us(scenario: Scenario, pool: int) -> int:
    """Longest a pair of ``pool`` can hold memory: until the cheapest elementary pair has
    decayed to the threshold (every cut-off is at most that), plus, at the receiver of an
    end-to-end pair, one light time for the bits of a use sent at the cut-off."""
    sc, pl = scenario, scenario.pools[pool]
    c0 = min(ln.initial_cost_nnp for ln in sc.links)
    t_max = max(n.coherence_us for n in sc.nodes)
    by_decay = max(0, pl.threshold_nnp - c0) * t_max // (2 * 10**9) + 1
    return by_decay + sc.light_us(pl.a, pl.b)


@dataclass(frozen=True, slots=True)
class HealingBound:
    """Bound on the time from the last fault until ``pool`` is back at its target, for the
    mesh as it is after that fault (all terms in microseconds; see ``spec/simulator.md`` §4).

    ``total_us = margin x (max(news, 2 x stall) + orphans + route + rounds x (gen + chain))``
    """

    pool: int
    plan: Plan  # the best plan on the mesh after the fault
    news_us: int  # link-state and reset news reach every node
    stall_us: int  # a stalled route is dropped; its path is avoided as long again
    orphans_us: int  # pairs of dropped routes free their memory at their cut-off
    route_us: int  # the ROUTE message reaches the whole path
    gen_us: int  # every hop has made the pairs of one round (1 - eps quantile)
    chain_us: int  # herald and swap messages of a chain, until the sender knows it
    rounds: int  # target / chains the memory lets run in parallel
    total_us: int


def healing_bound(
    scenario: Scenario, pool: int, cfg: PolicyConfig, down: frozenset[int] = frozenset()
) -> HealingBound | None:
    """The self-healing bound for ``pool`` with links ``down`` (None: no feasible path, or the
    memory left by the other pools cannot hold one chain)."""
    sc = scenario
    router = Router(sc, cfg.k_paths, cfg.schedule)
    best = {p.index: router.plans(p.index, down) for p in sc.pools}
    if not best[pool]:
        return None
    plan = best[pool][0]
    cap = {
        p.index: p.target_size * (cfg.target_cap_factor if cfg.traffic_aware else 1)
        for p in sc.pools
    }
    need: dict[str, int] = dict.fromkeys(sc.node_names, 0)  # qubits the other pools reserve
    per_link: dict[int, int] = {}
    for p in sc.pools:
        if not best[p.index]:
            continue
        path = best[p.index][0].path
        for li in router.path_links(path):
            per_link[li] = per_link.get(li, 0) + cap[p.index]
        need[p.a] += cap[p.index]  # pooled halves
        need[p.b] += cap[p.index]
        if p.index != pool:
            for k, v in enumerate(path):
                need[v] += cap[p.index] * (1 if k in (0, len(path) - 1) else 2)
    par = min(
        (sc.node(v).memory_capacity - need[v]) // (1 if k in (0, len(plan.path) - 1) else 2)
        for k, v in enumerate(plan.path)
    )
    if par <= 0:
        return None
    links = router.path_links(plan.path)
    gen = max(erlang_quantile_us(per_link[li], sc.links[li].generation_rate_hz) for li in links)
    chain = predict(sc, pool, plan.path, plan.schedule, generation_wait=False).sender_ready_us
    stall = stall_timeout_us(sc, plan, cfg)
    orphans = max(pair_lifetime_us(sc, p.index) for p in sc.pools)
    rounds = math.ceil(cap[pool] / par)
    route = route_message_us(sc, plan.path)
    news = light_diameter_us(sc)
    total = max(news, 2 * stall) + orphans + route + rounds * (gen + chain)
    return HealingBound(
        pool,
        plan,
        news,
        stall,
        orphans,
        route,
        gen,
        chain,
        rounds,
        math.ceil(HEALING_MARGIN * total),
    )
