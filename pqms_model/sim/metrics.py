"""Simulator measurements: what a run records, and its JSON summary (``spec/simulator.md`` §6.3).

*Set-up latency* is the time from a request to the use of a pair (the sender's Bell
measurement): what the pool removes. *Signal latency* is the time from the use to the
receiver's correction: at least distance / c in every mode, which the simulator reports as a
ratio to the light time (never below 1). *Fidelity at use* is the fidelity of the resource at
the receiver's correction, from the model's ``last_delivery``.

Every figure is computed from integers the run recorded (times in microseconds, costs in
nano-nepers), so the same seed gives the same JSON; only the ``wall_s`` fields measure the
machine.

>>> percentile([5, 1, 3], 50), percentile([], 50)
(3, None)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from pqms_model.physics.cost import US_PER_S, cost_to_fidelity
from pqms_model.protocol.scenario import Scenario

__all__ = ["Metrics", "PoolMetrics", "percentile"]


def percentile(values: list[int] | list[float], pct: float) -> Any:
    """Nearest-rank percentile (``None`` for no values)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


def _s(us: int | None) -> float | None:
    return None if us is None else us / US_PER_S


def _r(x: float | None, digits: int = 9) -> float | None:
    return None if x is None else round(x, digits)


@dataclass
class PoolMetrics:
    """What happened to one pool during a run."""

    requests: int = 0
    hits: int = 0  # served at the instant of the request, from the pool
    setup_us: list[int] = field(default_factory=list)  # per served request
    uses: int = 0
    deliveries: int = 0
    failures: int = 0
    delivered_cost_nnp: list[int] = field(default_factory=list)
    signal_us: list[int] = field(default_factory=list)  # correction - use, per delivered use
    discarded: int = 0  # pairs of this pool cut off (expire), any segment
    pairs_made: int = 0  # end-to-end pairs pooled at the sender
    occupancy: list[tuple[int, int]] = field(default_factory=list)  # (t_us, healthy pooled)
    targets: list[tuple[int, int]] = field(default_factory=list)  # (t_us, target)
    occupancy_area: int = 0  # integral of the healthy pooled count over time (pair x us)
    _last: tuple[int, int] = (0, 0)

    def set_occupancy(self, t_us: int, healthy: int) -> None:
        t0, n0 = self._last
        if n0 == healthy:
            return
        self.occupancy_area += n0 * (t_us - t0)
        self._last = (t_us, healthy)
        self.occupancy.append((t_us, healthy))

    def close(self, t_us: int) -> None:
        t0, n0 = self._last
        self.occupancy_area += n0 * max(0, t_us - t0)
        self._last = (t_us, n0)

    def set_target(self, t_us: int, target: int) -> None:
        if not self.targets or self.targets[-1][1] != target:
            self.targets.append((t_us, target))


@dataclass
class Metrics:
    """A run's measurements (see the module docstring)."""

    scenario: Scenario
    pools: list[PoolMetrics]
    memory_area: int = 0  # integral of the live qubits over time (qubit x us)
    events: int = 0  # model steps taken
    wall_s: float = 0.0

    @classmethod
    def empty(cls, scenario: Scenario) -> Metrics:
        return cls(scenario, [PoolMetrics() for _ in scenario.pools])

    def summary(
        self,
        duration_us: int,
        routes: dict[int, tuple[tuple[str, ...], str]],
        bounds_hz: dict[int, float],
    ) -> dict[str, Any]:
        """The JSON object ``M`` of one mode (``routes``: the last path and schedule per
        pool; ``bounds_hz``: the max-flow bound per pool)."""
        sc = self.scenario
        allp = self.pools
        setup = [x for p in allp for x in p.setup_us]
        ratios = [
            x / sc.light_us(sc.pools[i].a, sc.pools[i].b)
            for i, p in enumerate(allp)
            for x in p.signal_us
        ]
        fids = [cost_to_fidelity(c) for p in allp for c in p.delivered_cost_nnp]
        requests = sum(p.requests for p in allp)
        capacity = sum(n.memory_capacity for n in sc.nodes)
        per_pool = {}
        for i, p in enumerate(allp):
            pl = sc.pools[i]
            path, schedule = routes.get(i, ((), ""))
            achieved = p.pairs_made / (duration_us / US_PER_S) if duration_us else 0.0
            bound = bounds_hz[i]
            per_pool[f"{pl.a}->{pl.b}"] = {
                "requests": p.requests,
                "served": len(p.setup_us),
                "unserved": p.requests - len(p.setup_us),
                "hits": p.hits,
                "pool_hit_rate": _r(p.hits / p.requests if p.requests else None, 6),
                "deliveries": p.deliveries,
                "failures": p.failures,
                "setup_latency_s": self._latency(p.setup_us),
                "fidelity_at_use_min": _r(
                    min((cost_to_fidelity(c) for c in p.delivered_cost_nnp), default=None)
                ),
                "threshold_fidelity": pl.threshold_fidelity,
                "light_time_s": _s(sc.light_us(pl.a, pl.b)),
                "discarded_pairs": p.discarded,
                "pairs_made": p.pairs_made,
                "target_size": pl.target_size,
                "max_target": max((t for _, t in p.targets), default=pl.target_size),
                "mean_pool_size": _r(p.occupancy_area / duration_us if duration_us else 0.0, 6),
                "route": list(path),
                "schedule": schedule,
                "max_flow_bound_hz": _r(bound, 6),
                "achieved_rate_hz": _r(achieved, 6),
                "achieved_fraction": _r(achieved / bound if bound else None, 6),
            }
        return {
            "requests": requests,
            "deliveries": sum(p.deliveries for p in allp),
            "failures": sum(p.failures for p in allp),
            "setup_latency_s": self._latency(setup),
            "signal_latency_over_light_time": {
                "min": _r(min(ratios, default=None)),
                "p50": _r(percentile(ratios, 50)),
            },
            "fidelity_at_use": {
                "min": _r(min(fids, default=None)),
                "p50": _r(percentile(fids, 50)),
            },
            "pool_hit_rate": _r(sum(p.hits for p in allp) / requests if requests else None, 6),
            "discarded_pairs": sum(p.discarded for p in allp),
            "memory_utilisation": _r(
                self.memory_area / (capacity * duration_us) if duration_us else 0.0, 6
            ),
            "events": self.events,
            "wall_s": round(self.wall_s, 3),
            "per_pool": per_pool,
        }

    @staticmethod
    def _latency(values: list[int]) -> dict[str, float | None]:
        return {
            "p50": _s(percentile(values, 50)),
            "p95": _s(percentile(values, 95)),
            "max": _s(max(values, default=None)),
        }
