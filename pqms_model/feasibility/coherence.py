"""Coherence-time feasibility of the pools (issue 4): the memory a pool needs, and the distance a
memory allows.

The calculator has three parts, one module each:

* :mod:`pqms_model.feasibility.route`: the physical and distance model of one route (how long
  each memory half is held, the Werner parameter it arrives with, the coherence time that
  needs, and how the mesh stretches with the Earth–Mars distance);
* :mod:`pqms_model.feasibility.search`: the best of a pool's candidate routes at one distance,
  and the longest distance a coherence time allows;
* this module: the memories to test, the assumptions, and :func:`analyse`, which puts the
  per-pool :class:`Report` together. Every public name of the other two is re-exported here.

>>> from pqms_model.protocol.scenario import load_default
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

import math
from collections.abc import Sequence
from dataclasses import dataclass

from pqms_model.feasibility.route import (
    FeasibilityError,
    Geometry,
    RoutePlan,
    Span,
    coherence_needed_s,
    geometry_of,
    plan_route,
)
from pqms_model.feasibility.search import (
    MAX_ROUTES,
    Budget,
    _max_wait_s,
    best_budget,
    max_distance_ls,
)
from pqms_model.protocol.scenario import Pool, Scenario

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
