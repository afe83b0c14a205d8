"""Feasibility (issue 4) of one route: how long it holds each memory half, the Werner parameter
the pair arrives with, and the coherence time that requires; and the Earth–Mars distance axis.
The search over routes is :mod:`pqms_model.feasibility.search`; the report,
:mod:`pqms_model.feasibility.coherence`.

The physical model is the one of DESIGN.md ("Physical model") and the timing is the one of the
executable model (:mod:`pqms_model.model.rules.pairs`,
:meth:`~pqms_model.model.core.ModelCore.deadline`). Assume the **same** coherence time ``T`` at
every node. A pair built along a route and used
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
  swap schedule (:mod:`pqms_model.protocol.schedule`); the intermediate pairs must also meet the
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
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import networkx as nx

from pqms_model.errors import PqmsError
from pqms_model.physics.cost import cost_to_fidelity
from pqms_model.physics.werner import fidelity_to_werner, swap_fidelity
from pqms_model.protocol.scenario import C_KM_PER_S, NodeKind, Scenario
from pqms_model.protocol.schedule import split
from pqms_model.protocol.state import Schedule

__all__ = [
    "FeasibilityError",
    "Geometry",
    "RoutePlan",
    "Span",
    "coherence_needed_s",
    "geometry_of",
    "plan_route",
]

_NEAR, _FAR = "earth", "mars"


class FeasibilityError(PqmsError):
    """Input the calculator cannot use (a coherence time out of range, an unwritable file)."""


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
