"""Discrete-event simulator: the routing and pool policies drive ``Model.step``.

See ``spec/simulator.md``.

:class:`Simulator` is the engine of :mod:`pqms_model.sim.engine` plus the policies' reactions,
run whenever events changed something (local processing takes no time):

- **routing** (:func:`pqms_model.sim.routing.route_actions`): choose a route, fail over when the
  sender's view shows a link of it down, re-optimise when the view changes, and drop a route
  that stalls (no pair for ``stall_factor`` x its expected fill time: a crashed relay sends no
  link-state news);
- **pairs**: cut off an end after the pair's deadline, admit end-to-end pairs at both ends,
  swap a pair ready at its swapper with a ready sibling (the schedule's other half);
- **uses**: serve waiting requests from the pool, earliest deadline first;
- **generation** (:mod:`pqms_model.sim.pool_policy`): per route, the chains it should build
  (target minus pooled minus in progress, within reserved memory) and so the hops that want a
  pair; a link with wanted hops succeeds after an exponential wait at its rate.

Generation planning counts pairs across the mesh (an idealisation: deployed, each hop would
learn the pool's deficit from the sender, one light time later); every decision is still only
an action the model accepts, so safety never rests on it.

>>> from pqms_model.protocol.scenario import load_default
>>> sim = Simulator(load_default(), seed=1)
>>> sim.run_until(600 * 1_000_000)           # ten simulated minutes
>>> pm = sim.metrics.pools[0]                # earth->moon, 0.5 requests per second
>>> pm.requests, pm.hits, max(pm.setup_us)   # five waited for a pair, at most 2.6 s
(298, 293, 2569369)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from pqms_model.physics.cost import US_PER_S
from pqms_model.protocol.actions import (
    Admit,
    Deliver,
    DropRoute,
    Expire,
    GenerateLink,
    Receive,
    Swap,
    UsePair,
)
from pqms_model.protocol.mutants import Mutant
from pqms_model.protocol.scenario import Scenario
from pqms_model.protocol.schedule import split, swappers
from pqms_model.protocol.state import LIVE, EndStatus, MsgKind, Schedule
from pqms_model.sim.bounds import max_flow_bound_hz
from pqms_model.sim.engine import _EXPIRE, _LINK, _WAKE, Engine, SimulationViolation
from pqms_model.sim.pool_policy import Mode, PolicyConfig, proactive_target, want_levels
from pqms_model.sim.routing import route_actions

__all__ = ["ModeRun", "SimulationViolation", "Simulator", "run_mode"]

_E = EndStatus
# Performance only: enum members as module globals (the same objects; reading one off its enum
# class is an attribute lookup several times slower than a global)
_READY, _BITS, _PROACTIVE, _REACTIVE = _E.READY, MsgKind.BITS, Mode.PROACTIVE, Mode.REACTIVE


def _siblings(hops: int, schedule: Schedule) -> dict[tuple[int, int], tuple[int, int]]:
    out = {}
    for i, j in swappers(hops, schedule):
        if j - i >= 2:
            m = split(i, j, schedule)
            out[(i, m)], out[(m, j)] = (m, j), (i, m)
    return out


class Simulator(Engine):
    """A run of one mode on one scenario: the engine plus the policies (module docstring)."""

    def _settle(self) -> None:
        idx = self.index
        # Performance only: the queues as locals (they are only ever changed in place)
        routing, dirty_pairs, dirty_pools = self._routing, self._dirty_pairs, self._dirty_pools
        mem_blocked = self._mem_blocked
        while True:
            if mem_blocked and (idx.total < self._blocked_total or self._freed):
                dirty_pools |= mem_blocked
                mem_blocked.clear()
                self._freed = False
                self._blocked_total = 1 << 62
            if routing:
                pools = sorted(routing)
                routing.clear()
                for pool in pools:
                    self._route(pool)
            while dirty_pairs:
                self._react(dirty_pairs.popleft())
            if dirty_pools:
                pools = sorted(dirty_pools)
                dirty_pools.clear()
                for pool in pools:
                    self._serve(pool)
                for pool in pools:
                    self._plan(pool)
            if not (routing or dirty_pairs or dirty_pools):
                return

    # --- routing --------------------------------------------------------------------------

    def _route(self, pool: int) -> None:
        st = self.state
        if self.scenario.pools[pool].a in st.nodes_down:
            return  # the sender decides; it is down
        now = st.now_us
        avoid_map = self._avoid[pool]
        for path in [p for p, until in avoid_map.items() if until <= now]:
            del avoid_map[path]
        stalled = [
            r
            for r in self._active[pool]
            if self._short[pool]
            and self._level.get(r, 0) > 0
            and now - self._memo[r].progress_us > self._stall[r]
        ]
        for r in stalled:
            avoid_map[st.routes[r].path] = now + self._stall[r]
            self._push(now + self._stall[r], _WAKE, pool, -1)
        proactive = self.cfg.mode is _PROACTIVE
        waiting = bool(self._waiting[pool])
        acts = route_actions(
            self.router,
            st,
            pool,
            self._memo,
            want_route=proactive or waiting,
            stalled=stalled,
            avoid=frozenset(avoid_map),
        )
        session = not proactive and self.cfg.route_per_session and not waiting
        if session and all(self.index.chains(r) == 0 for r in self._active[pool]):
            acts = [DropRoute(r) for r in self._active[pool]]  # the session is over
        for act in acts:
            self._step(act)

    # --- pairs: cut-off, admission, swaps ---------------------------------------------------

    def _react(self, pid: int) -> None:
        st = self.state
        for mid in self._msg_wait.pop(pid, ()):
            msg = st.messages.get(mid)
            if msg is not None:
                act = Deliver(mid) if msg.kind is _BITS else Receive(mid)
                if not self._step(act):
                    self._msg_wait.setdefault(pid, []).append(mid)
            st = self.state
        p = st.pairs.get(pid)
        if p is None:
            return
        now, down = st.now_us, st.nodes_down
        if now > p.deadline_us:
            for i in (0, 1):
                if p.status[i] in LIVE and p.nodes[i] not in down:
                    until = self.model.expiry_us(p, i)  # the receiver waits for late bits
                    if now > until:
                        self._step(Expire(pid, p.nodes[i]))
                    else:
                        self._push(until + 1, _EXPIRE, pid)
            return
        if p.swapper is None:
            s0, s1 = p.status  # Performance only: the loop over both ends unrolled
            if s0 is _READY:
                self._step(Admit(pid, p.nodes[0]))
            if s1 is _READY:
                self._step(Admit(pid, p.nodes[1]))
            return
        node = p.swapper
        if p.status[p.end(node)] is not _READY or pid not in self.index.ready.get(
            (p.route, p.segment[0], p.segment[1]), ()
        ):
            return
        # Performance only: cached per route id, not per (hops, schedule) (hashing a Schedule
        # is a Python call): a route id is never reused and its path and schedule never change
        sib = self._sibling_cache.get(p.route)
        if sib is None:
            r = st.routes[p.route]
            sib = self._sibling_cache[p.route] = _siblings(len(r.path) - 1, r.schedule)
        i, j = sib[p.segment]
        for cand in self.index.ready.get((p.route, i, j), ()):
            if st.pairs[cand].deadline_us >= now:
                self._step(Swap(pid, cand, node))
                return

    # --- uses -------------------------------------------------------------------------------

    def _serve(self, pool: int) -> None:
        queue = self._waiting[pool]
        pl = self.scenario.pools[pool]
        if not queue or pl.a in self.state.nodes_down:
            return
        pooled = self.index.sender_pooled[pool]
        pm = self.metrics.pools[pool]
        for pid in sorted(pooled, key=lambda i: (pooled[i], i)):  # earliest deadline first
            if not queue:
                return
            if self._step(UsePair(pid, pl.a)):
                now, t_req = self.state.now_us, queue.popleft()
                pm.setup_us.append(now - t_req)
                if now == t_req:
                    pm.hits += 1

    # --- generation -------------------------------------------------------------------------

    def _plan(self, pool: int) -> None:
        st, idx, sc = self.state, self.index, self.scenario
        pl, now = sc.pools[pool], st.now_us
        pm = self.metrics.pools[pool]
        healthy = idx.healthy[pool]
        if self.metrics_end_us is None:
            pm.set_occupancy(now, healthy)
        waiting = len(self._waiting[pool])
        if self.cfg.mode is _PROACTIVE:
            rate_hz = self._demand[pool].rate_hz(now)
            target = proactive_target(pl, rate_hz, self._refill_us[pool], self.cfg, waiting)
        else:
            target = waiting
        self._target[pool] = target
        pm.set_target(now, target)
        routes = self._active[pool]
        sig = (
            healthy,
            target,
            waiting,
            self._world,  # routes, links, nodes
            self._freed,
            idx.fullness,  # which memories are full
            *[tuple(idx.cover.get(r, ())) for r in routes],
        )
        if sig == self._plan_sig[pool]:
            return  # nothing a plan reads has changed since the last one
        self._plan_sig[pool] = sig
        chains = {r: idx.chains(r) for r in routes}
        if target - healthy > sum(chains.values()):  # new chains wanted: how many fit
            levels = want_levels(target, healthy, chains, {r: self._room(r) for r in routes})
        else:
            levels = chains
        short = healthy < target
        wants: list[tuple[int, tuple[int, int, int]]] = []
        waits_for_memory: set[int] = set()  # routes held back by memory, not by a fault
        if short and sum(levels.values()) < target - healthy:
            waits_for_memory.update(routes)
        links_down, nodes_down, occ, cap = st.links_down, st.nodes_down, idx.occ, self._cap
        for r in routes:
            route, cover, lvl = st.routes[r], idx.cover.get(r), levels[r]
            path, known_by = route.path, route.known_by
            for h, link in enumerate(self._route_links[r]):
                if (cover[h] if cover else 0) >= lvl:
                    continue
                u, v = path[h], path[h + 1]
                if (
                    link in links_down  # the hop's ends see their link at once
                    or u in nodes_down
                    or v in nodes_down
                    or u not in known_by
                    or v not in known_by
                ):
                    continue
                if occ[u] >= cap[u] or occ[v] >= cap[v]:
                    waits_for_memory.add(r)
                    continue
                wants.append((link, (pool, r, h)))
        link_wants = self._link_wants
        # Performance only: removing unchanged wants before setting them again would only move
        # each to the end of its link's dict, an order nothing reads (_on_link ranks by a total
        # order)
        if wants != self._pool_wants[pool]:
            for link, key in self._pool_wants[pool]:
                link_wants[link].pop(key, None)
        link_armed = self._link_armed
        for link, key in wants:
            link_wants[link][key] = None
            if not link_armed[link]:  # Performance only: _arm does nothing for an armed link
                self._arm(link)
        self._pool_wants[pool] = wants
        if waits_for_memory:
            self._mem_blocked.add(pool)
            self._blocked_total = min(self._blocked_total, idx.total)
        for r in routes:  # stall watch: a deficit, room to build, and still no pair
            memo = self._memo[r]
            if levels[r] < self._level.get(r, 0):
                self._freed = True
            self._level[r] = levels[r]
            if not short or levels[r] == 0 or r in waits_for_memory or not self._short[pool]:
                memo.progress_us = now  # no deficit, waiting for memory, or deficit starts now
                continue
            due = memo.progress_us + self._stall[r] + 1
            if due > now:
                if r not in self._wake_at:  # one pending stall check per route
                    self._wake_at[r] = due
                    self._push(due, _WAKE, pool, r)
            elif pl.a not in st.nodes_down:  # stalled already: the sender decides now
                self._routing.add(pool)  # (a sender that is down decides on recovery)
        self._short[pool] = short
        idle = self.cfg.mode is _REACTIVE and self.cfg.route_per_session
        if idle and routes and not self._waiting[pool] and not any(chains.values()):
            self._routing.add(pool)

    def _room(self, r: int) -> int:
        """Most chains route ``r`` may build. Each active route reserves, at each node of its
        path, memory for its chains not yet swapped there (two qubits at a relay, one at an
        end); route ``r`` gets what the node's memory leaves after the others' reservations
        and everything else it holds (pooled pairs, pairs of dropped routes)."""
        idx, path = self.index, self.state.routes[r].path
        occ, route_occ, span, cap = idx.occ, idx.route_occ, idx.span, self._cap
        # Performance only: another route's level computed once per call (nothing changes
        # during it); ``span[m] if span else 0`` inline
        levels: dict[int, int] = {}
        own, last = span.get(r), len(path) - 1
        best = None
        for k, v in enumerate(path):
            q = 1 if k == 0 or k == last else 2
            committed = occ[v]
            for r2, (m2, q2) in self._node_routes[v].items():
                committed -= route_occ.get((r2, v), 0)
                if r2 != r:
                    level = levels.get(r2)
                    if level is None:
                        level = levels[r2] = max(self._level.get(r2, 0), idx.chains(r2))
                    span2 = span.get(r2)
                    committed += q2 * (level - (span2[m2] if span2 else 0))
            room = (own[k] if own else 0) + (cap[v] - committed) // q
            best = room if best is None else min(best, room)
        return max(0, best or 0)

    def _arm(self, link: int) -> None:
        if self._link_armed[link] or not self._link_wants[link]:
            return
        self._link_armed[link] = True
        self._link_token[link] += 1
        rate = self.scenario.links[link].generation_rate_hz
        dt = max(1, round(self._link_rng[link].expovariate(rate) * US_PER_S))
        self._push(self.state.now_us + dt, _LINK, link, self._link_token[link])

    def _on_link(self, link: int, token: int) -> None:
        if token != self._link_token[link]:
            return
        self._link_armed[link] = False
        wants = self._link_wants[link]
        if not wants:
            return
        # Performance only: the one wanted hop needs no ranking (the usual case)
        key = next(iter(wants)) if len(wants) == 1 else min(wants, key=self._urgency)
        if not self._step(GenerateLink(key[1], key[2])):
            del wants[key]  # re-planned at the next change of its pool
        self._arm(link)

    def _urgency(self, key: tuple[int, int, int]) -> tuple[int, int, tuple[int, int, int]]:
        """Rank of a wanted hop ``(pool, route, hop)`` for its link's next pair (least first)."""
        pool = key[0]
        return (-len(self._waiting[pool]), self.index.healthy[pool] - self._target[pool], key)


@dataclass(frozen=True)
class ModeRun:
    """What one mode's run reports: the JSON object ``M`` and the raw series for plots."""

    mode: Mode
    summary: dict[str, Any]
    series: dict[str, Any]  # per pool: setup_us, signal_us, cost_nnp, occupancy, targets


def run_mode(
    scenario: Scenario,
    mode: Mode,
    duration_us: int,
    seed: int,
    *,
    check: bool = False,
    mutant: Mutant | None = None,
    progress: Callable[[int], None] | None = None,
    config: PolicyConfig | None = None,
) -> ModeRun:
    """Run ``mode`` for ``duration_us`` and summarise it (raises SimulationViolation)."""
    cfg = replace(config or PolicyConfig(), mode=mode)
    sim = Simulator(scenario, cfg, seed, mutant=mutant, check=check, progress=progress)
    metrics = sim.run(duration_us)
    bounds = {pl.index: max_flow_bound_hz(scenario, pl.index) for pl in scenario.pools}
    summary = metrics.summary(duration_us, sim.last_route, bounds)
    series = {
        f"{pl.a}->{pl.b}": {
            "setup_us": pm.setup_us,
            "signal_us": pm.signal_us,
            "cost_nnp": pm.delivered_cost_nnp,
            "occupancy": pm.occupancy,
            "targets": pm.targets,
        }
        for pl, pm in zip(scenario.pools, metrics.pools, strict=True)
    }
    return ModeRun(mode, summary, series)
