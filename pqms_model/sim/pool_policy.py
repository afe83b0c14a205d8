"""Pool maintenance policy (``spec/simulator.md`` §3; WP §3.2, §4): how many pairs to build, where.

Two modes share one mechanism, the *target*: the number of healthy pooled pairs a pool should
hold (see :mod:`pqms_model.sim.index` for the counting terms).

- **Proactive** (the PQMS, whitepaper §2): the target is the scenario's ``target_size``, raised
  by traffic-aware provisioning (whitepaper §4, "Intelligentes Ressourcen-Management") to the
  number of requests that arrive within one refill time with probability ``service_level``
  (a Poisson quantile of ``rate x refill time x refill_margin``, the rate from the demand
  estimate) plus the requests already waiting, capped at ``target_cap_factor x target_size``.
- **Reactive** (the old model, whitepaper §1): the target is the number of requests waiting;
  distribution starts only when a request arrives, and (``route_per_session``) the route is
  set up per session and torn down when idle, like a VPN tunnel negotiated at each dial-in.

Refill counts pooled *and* in-progress pairs against the target (:func:`want_levels`), so it
never over-generates, and reserves memory for every chain it starts (a chain holds two qubits
at each relay and one at each end until it is swapped), so chains never deadlock on memory.

>>> d = DemandEstimate(prior_hz=0.0, window_s=10.0)
>>> for t_s in range(0, 100):            # one request per second for 100 s
...     d.observe(t_s * 1_000_000)
>>> round(d.rate_hz(99_500_000), 2)       # between two requests
1.0
>>> want_levels(target=4, healthy=1, chains={7: 1}, room={7: 10})
{7: 3}
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass

from pqms_model.physics.cost import US_PER_S
from pqms_model.protocol.scenario import Pool
from pqms_model.protocol.state import Schedule
from pqms_model.sim.routing import DEFAULT_K_PATHS

__all__ = [
    "DemandEstimate",
    "Mode",
    "PolicyConfig",
    "poisson_quantile",
    "proactive_target",
    "want_levels",
]


class Mode(enum.Enum):
    """When entanglement distribution runs."""

    PROACTIVE = "proactive"  # ahead of demand: the pool is kept at its target
    REACTIVE = "reactive"  # on demand: a request starts the distribution of one pair


@dataclass(frozen=True, slots=True)
class PolicyConfig:
    """Knobs of the routing and maintenance policies (defaults: the documented behaviour)."""

    mode: Mode = Mode.PROACTIVE
    k_paths: int = DEFAULT_K_PATHS  # alternative paths kept per pool
    schedule: Schedule | None = None  # None: per path, the schedule with lower predicted cost
    traffic_aware: bool = True  # raise targets with the demand estimate (proactive)
    demand_window_s: float = 600.0  # time constant of the demand estimate
    service_level: float = 0.99  # P(a refill time's requests fit in the pool) to provision for
    refill_margin: float = 1.5  # refill time = predicted fill time x this (queueing, waits)
    target_cap_factor: int = 3  # ... up to this many times the scenario's target_size
    stall_factor: float = 2.0  # a route with no pair for this x its expected fill time stalls
    route_per_session: bool = True  # reactive: tear the route down when the pool is idle

    def __post_init__(self) -> None:
        if self.demand_window_s <= 0 or self.refill_margin <= 0 or self.stall_factor < 1:
            raise ValueError(
                "demand_window_s and refill_margin must be > 0 and stall_factor >= 1, got "
                f"{self.demand_window_s}, {self.refill_margin}, {self.stall_factor}"
            )
        if not 0.0 < self.service_level < 1.0:
            raise ValueError(f"service_level must be in (0, 1), got {self.service_level}")
        if self.target_cap_factor < 1:
            raise ValueError(f"target_cap_factor must be >= 1, got {self.target_cap_factor}")


class DemandEstimate:
    """Exponentially weighted request rate: each request adds ``1 / window``; the estimate
    decays by ``exp(-dt / window)``. Starts at ``prior_hz`` (the operator's expected traffic,
    e.g. the scenario's declared rate), so it is unbiased for a steady Poisson stream."""

    def __init__(self, prior_hz: float, window_s: float) -> None:
        self._rate_hz = prior_hz
        self._at_us = 0
        self._window_us = window_s * US_PER_S

    def rate_hz(self, now_us: int) -> float:
        return self._rate_hz * math.exp(-(now_us - self._at_us) / self._window_us)

    def observe(self, now_us: int) -> None:
        """One request arrived at ``now_us``."""
        self._rate_hz = self.rate_hz(now_us) + US_PER_S / self._window_us
        self._at_us = now_us


def poisson_quantile(mean: float, level: float) -> int:
    """Least ``n`` with ``P(Poisson(mean) <= n) >= level``.

    >>> poisson_quantile(0.0, 0.99), poisson_quantile(1.83, 0.99), poisson_quantile(20.0, 0.5)
    (0, 6, 20)
    """
    term = total = math.exp(-mean)
    n = 0
    while total < level and n < 100_000:
        n += 1
        term *= mean / n
        total += term
    return n


def proactive_target(
    pool: Pool, demand_hz: float, refill_us: int, cfg: PolicyConfig, waiting: int = 0
) -> int:
    """The proactive target: ``target_size``, raised for demand and for requests already
    waiting (a backlog needs pairs now), capped (module docstring).

    >>> from pqms_model.protocol.scenario import load_default
    >>> mars = load_default().pools[1]                       # target_size 2, cap 6
    >>> proactive_target(mars, 0.01, 183_000_000, PolicyConfig())
    6
    >>> proactive_target(mars, 0.0, 183_000_000, PolicyConfig()), proactive_target(
    ...     mars, 0.001, 183_000_000, PolicyConfig(), waiting=1)
    (2, 3)
    """
    base = pool.target_size
    if not cfg.traffic_aware:
        return base
    mean = demand_hz * refill_us / US_PER_S * cfg.refill_margin
    needed = poisson_quantile(mean, cfg.service_level) + waiting
    return max(base, min(base * cfg.target_cap_factor, needed))


def want_levels(
    target: int, healthy: int, chains: Mapping[int, int], room: Mapping[int, int]
) -> dict[int, int]:
    """Chains each active route should be building (routes in preference order).

    ``chains[r]`` is what route ``r`` builds now, ``room[r]`` the most chains memory allows it.
    The deficit ``target - healthy - sum(chains)`` goes to the routes in order, each up to its
    room; a route never drops below what it already builds (those pairs exist).
    """
    deficit = target - healthy - sum(chains.values())
    out: dict[int, int] = {}
    for r, have in chains.items():
        extra = max(0, min(deficit, room[r] - have))
        out[r] = have + extra
        deficit -= extra
    return out
