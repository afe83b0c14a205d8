"""Discrete-event simulator engine (``spec/simulator.md`` §6): event queue, steps, bookkeeping.

Every change of the mesh is a model action applied by :meth:`Model.step`, so the simulator
inherits the model's guards: a decision the policies get wrong is refused, never executed. The
simulator adds only *when* things happen:

- requests arrive as Poisson processes per traffic entry (one seeded stream per entry, so
  both modes see the same requests);
- a hop that the pool policy wants a pair on succeeds after an exponential wait at the link's
  ``generation_rate_hz`` (heralded generation; one seeded stream per link);
- a message is taken at its arrival time (a node that is down takes it when it recovers; a
  message the model refuses for now waits until the pair it names changes); the two bits of a
  use are corrected at their arrival (:class:`~pqms_model.protocol.actions.Deliver`);
- each end of a pair is cut off the instant after its expiry (``Model.expiry_us``).

Between events the policies react at once (local processing takes no time): swap sibling pairs
when both are ready at the swapper, admit end-to-end pairs at both ends, serve waiting requests
from the pool, re-plan generation, fail over routes: those reactions are the policies'
(:class:`pqms_model.sim.simulator.Simulator`); this module is the engine they run on.
``check=True`` evaluates every invariant after every step and raises
:class:`SimulationViolation` with the actions that lead there.
"""

from __future__ import annotations

import abc
import heapq
import random
import time
from collections import deque
from collections.abc import Callable

from pqms_model.errors import NotEnabled, PqmsError
from pqms_model.invariants import Violation, violations
from pqms_model.model.transition import MAX_ADVANCE_US, Model
from pqms_model.physics.cost import US_PER_S
from pqms_model.protocol.actions import (
    Action,
    Admit,
    AdvanceTime,
    Crash,
    Deliver,
    DropRoute,
    Expire,
    GenerateLink,
    LinkDown,
    LinkUp,
    Purify,
    Receive,
    Recover,
    Swap,
    UsePair,
)
from pqms_model.protocol.mutants import Mutant
from pqms_model.protocol.scenario import Scenario
from pqms_model.protocol.state import MsgKind, Outcome, Schedule, State
from pqms_model.sim.bounds import stall_timeout_us
from pqms_model.sim.index import PairIndex
from pqms_model.sim.metrics import Metrics
from pqms_model.sim.pool_policy import DemandEstimate, Mode, PolicyConfig
from pqms_model.sim.routing import RouteMemo, Router, believed_down, predict

__all__ = ["Engine", "SimulationViolation"]

_REQUEST, _MSG, _LINK, _EXPIRE, _WAKE = range(5)
# Performance only: enum members as module globals (the same objects; ``MsgKind.BITS`` is an
# attribute lookup on the enum class, several times slower than a global)
_BITS, _RESET, _ROUTE, _LINK_STATE = MsgKind.BITS, MsgKind.RESET, MsgKind.ROUTE, MsgKind.LINK_STATE
_PROGRESS_EVERY = 4096  # events between progress callbacks


class SimulationViolation(PqmsError):
    """A step of the simulation broke an invariant; ``actions`` lead there from Init."""

    def __init__(self, violation: Violation, actions: tuple[Action, ...], model: Model) -> None:
        self.violation, self.actions, self.model = violation, actions, model
        super().__init__(f"step {len(actions)} ({actions[-1]!r}) violates {violation}")


class Engine(abc.ABC):
    """One run of one mode on one scenario: the event loop (reactions: :meth:`_settle`).

    Abstract: :class:`pqms_model.sim.simulator.Simulator` supplies the policies' hooks."""

    def __init__(
        self,
        scenario: Scenario,
        config: PolicyConfig | None = None,
        seed: int = 0,
        *,
        mutant: Mutant | None = None,
        check: bool = False,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        sc = self.scenario = scenario
        self.cfg = cfg = config or PolicyConfig()
        self.seed, self.check, self.progress = seed, check, progress
        self.index = PairIndex(sc)
        self.model = Model(sc, mutant)
        self.state: State = self.model.init()
        self.router = Router(sc, cfg.k_paths, cfg.schedule)
        self.metrics = Metrics.empty(sc)
        self.actions: list[Action] = []  # recorded when checking (the counterexample trace)
        self.traffic_on = True
        self.metrics_end_us: int | None = None
        npools, nlinks = len(sc.pools), len(sc.links)
        self._heap: list[tuple[int, int, int, int, int]] = []  # (t_us, seq, kind, a, b)
        self._seq = 0
        self._link_rng = [random.Random(f"pqms-link-{seed}-{i}") for i in range(nlinks)]
        self._req_rng = [random.Random(f"pqms-request-{seed}-{i}") for i in range(len(sc.traffic))]
        self._link_wants: list[dict[tuple[int, int, int], None]] = [{} for _ in range(nlinks)]
        self._pool_wants: list[list[tuple[int, tuple[int, int, int]]]] = [[] for _ in range(npools)]
        self._link_token, self._link_armed = [0] * nlinks, [False] * nlinks
        self._active: list[list[int]] = [[] for _ in range(npools)]  # route ids, oldest first
        # node -> active route -> (its index on the path, qubits a chain holds there)
        self._node_routes: dict[str, dict[int, tuple[int, int]]] = {n: {} for n in sc.node_names}
        self._level: dict[int, int] = {}  # route -> chains it should build
        self._route_links: dict[int, tuple[int, ...]] = {}  # route -> link of each hop
        self._memo: dict[int, RouteMemo] = {}
        self._stall: dict[int, int] = {}  # route -> stall timeout
        self._stall_by_path: dict[tuple[int, tuple[str, ...], Schedule], int] = {}
        self._wake_at: dict[int, int] = {}
        self._short: list[bool] = [False] * npools
        self._avoid: list[dict[tuple[str, ...], int]] = [{} for _ in range(npools)]
        self._waiting: list[deque[int]] = [deque() for _ in range(npools)]
        prior = [0.0] * npools
        for tr in sc.traffic:
            prior[tr.pool] += tr.rate_hz
        self._demand = [DemandEstimate(prior[i], cfg.demand_window_s) for i in range(npools)]
        self._refill_us = [0] * npools
        for i in range(npools):
            plans = self.router.plans(i, frozenset())
            self._refill_us[i] = plans[0].sender_ready_us if plans else 0
        self._blocked: dict[str, list[int]] = {}
        # pair id -> messages that arrived but wait for that pair to change: the bits of a use
        # whose receiver does not know the pair yet, a swap notice whose inherited half is
        # itself still incoming (the model refuses both until then)
        self._msg_wait: dict[int, list[int]] = {}
        self._uses: dict[int, int] = {}  # BITS message id -> pool
        self._discarded: set[int] = set()
        self._sibling_cache: dict[int, dict[tuple[int, int], tuple[int, int]]] = {}  # per route
        self._target = [pl.target_size for pl in sc.pools]
        self._cap = {n.name: n.memory_capacity for n in sc.nodes}
        self._mem_blocked: set[int] = set()  # pools whose generation waits for memory
        self._blocked_total = 1 << 62  # live qubits when a pool was blocked
        self._freed = False  # a route's reservation shrank since
        self.last_route: dict[int, tuple[tuple[str, ...], str]] = {}
        self._world = 0  # bumped when routes, links or nodes change (plans depend on them)
        self._plan_sig: list[object] = [None] * npools
        self._dirty_pairs: deque[int] = deque()
        self._dirty_pools: set[int] = set(range(npools))
        self._routing: set[int] = set(range(npools)) if cfg.mode is Mode.PROACTIVE else set()
        for k in range(len(sc.traffic)):
            self._push(self._next_request_us(k), _REQUEST, k)

    # --- the event queue ------------------------------------------------------------------

    def _push(self, t_us: int, kind: int, a: int, b: int = 0) -> None:
        self._seq += 1
        now = self.state.now_us  # Performance only: max(t_us, now) without the call
        heapq.heappush(self._heap, (t_us if t_us > now else now, self._seq, kind, a, b))

    def _next_request_us(self, k: int) -> int:
        dt = self._req_rng[k].expovariate(self.scenario.traffic[k].rate_hz)
        return self.state.now_us + max(1, round(dt * US_PER_S))

    def run_until(self, t_us: int) -> None:
        """Process every event up to ``t_us``, then advance the clock to ``t_us``."""
        heap = self._heap
        # Performance only: the bound methods looked up once (nothing rebinds them)
        advance, handle, settle = self._advance, self._handle, self._settle
        next_report = self.metrics.events + _PROGRESS_EVERY
        while heap and heap[0][0] <= t_us:
            t = heap[0][0]
            advance(t)  # Performance only: time alone pushes no event, so heap[0] is at t
            while True:
                _, _, kind, a, b = heapq.heappop(heap)
                handle(kind, a, b)
                if not heap or heap[0][0] != t:
                    break
            settle()
            if self.progress is not None and self.metrics.events >= next_report:
                next_report = self.metrics.events + _PROGRESS_EVERY
                self.progress(self.state.now_us)
        self._advance(t_us)
        self._settle()

    def stop_traffic(self, *, withdraw: bool = False) -> None:
        """No more requests from now on; ``withdraw``: drop the requests still waiting too."""
        self.traffic_on = False
        if withdraw:
            for pool, queue in enumerate(self._waiting):
                if queue:
                    queue.clear()
                    self._dirty_pools.add(pool)
                    self._routing.add(pool)
            self._settle()

    def inject(self, action: Action) -> bool:
        """Apply an environment action (a fault or a repair) now; False if not enabled."""
        ok = self._step(action)
        self._settle()
        return ok

    def run(self, duration_us: int) -> Metrics:
        """Run for ``duration_us``, then let the uses in flight land (no new requests)."""
        wall = time.perf_counter()
        self.run_until(duration_us)
        self.metrics_end_us = duration_us
        for i, pm in enumerate(self.metrics.pools):
            pm.set_occupancy(duration_us, self.index.healthy[i])
            pm.close(duration_us)
        self.stop_traffic()
        limit = duration_us + 4 * max(self.scenario.light_us(p.a, p.b) for p in self.scenario.pools)
        while self._uses and self._heap and self._heap[0][0] <= limit:
            self.run_until(self._heap[0][0])
        self.metrics.wall_s = time.perf_counter() - wall
        return self.metrics

    def _advance(self, t_us: int) -> None:
        now = self.state.now_us
        if t_us <= now:
            return
        end = t_us if self.metrics_end_us is None else min(t_us, self.metrics_end_us)
        if end > now:
            self.metrics.memory_area += self.index.total * (end - now)
        while now < t_us:
            dt = min(t_us - now, MAX_ADVANCE_US)
            self._step(AdvanceTime(dt))
            now += dt

    def _handle(self, kind: int, a: int, b: int) -> None:
        st = self.state
        if kind == _MSG:
            msg = st.messages.get(a)
            if msg is None:
                return
            if msg.arrive_us > st.now_us:  # delayed since it was queued
                self._push(msg.arrive_us, _MSG, a)
            elif msg.dst in st.nodes_down:
                self._blocked.setdefault(msg.dst, []).append(a)
            elif not self._step(Deliver(a) if msg.kind is _BITS else Receive(a)):
                self._msg_wait.setdefault(msg.pair, []).append(a)
        elif kind == _LINK:
            self._on_link(a, b)
        elif kind == _EXPIRE:
            self._dirty_pairs.append(a)
        elif kind == _REQUEST:
            if not self.traffic_on:
                return
            pool = self.scenario.traffic[a].pool
            self.metrics.pools[pool].requests += 1
            self._waiting[pool].append(st.now_us)
            self._demand[pool].observe(st.now_us)
            self._dirty_pools.add(pool)
            if not self._active[pool]:
                self._routing.add(pool)
            self._push(self._next_request_us(a), _REQUEST, a)
        else:  # _WAKE: a stall check (b: the route; -1: an avoided path's hold-down ended)
            if b >= 0:
                self._wake_at.pop(b, None)
            self._routing.add(a)
            self._dirty_pools.add(a)
            self._plan_sig[a] = None

    # --- hooks the policies fill in ----------------------------------------------------------

    @abc.abstractmethod
    def _settle(self) -> None:
        """React to everything the last events changed (the policies)."""

    @abc.abstractmethod
    def _on_link(self, link: int, token: int) -> None:
        """A wanted hop of ``link`` succeeded (``token``: is the wait still current)."""

    # --- applying actions -------------------------------------------------------------------

    def _step(self, a: Action) -> bool:
        old = self.state
        try:
            new = self.model.step(old, a)
        except NotEnabled:
            return False
        self.state = new
        self.metrics.events += 1
        if self.check:
            self.actions.append(a)
        if type(a) is not AdvanceTime:  # time alone changes no pair, message or route
            self._account(old, new, a)
        if self.check:
            found = violations(self.model, new)
            if found:
                raise SimulationViolation(found[0], tuple(self.actions), self.model)
            drift = self.index.check(new)
            if drift is not None:
                raise AssertionError(f"simulator bookkeeping drift after {a!r}: {drift}")
        return True

    def _account(self, old: State, new: State, a: Action) -> None:
        """Bring the index and the policies' queues up to date with one step."""
        sc, npools = self.scenario, len(self.scenario.pools)
        touched: list[int] = []
        full = False
        # Performance only: tests of the exact type, most frequent first, rather than a `match`
        # (an isinstance test per case, in order); the same branches, as Model.step takes an
        # action only by its exact type. GenerateLink, frequent, changes nothing here: it touches
        # no known pair (its new pair is found below).
        if type(a) is Receive or type(a) is Deliver:
            mid = a.msg
            msg = old.messages[mid]
            touched = [msg.pair, msg.new_pair]
            kind = msg.kind
            if kind is _RESET:
                full = True
            elif kind is _ROUTE:
                r = new.routes.get(msg.route)
                if r is not None:
                    self._dirty_pools.add(r.pool)
                    self._world += 1
            elif kind is _LINK_STATE:
                self._routing.update(i for i, pl in enumerate(sc.pools) if pl.a == msg.dst)
            elif kind is _BITS:
                self._delivered(new, mid)
        elif type(a) is GenerateLink:
            pass
        elif type(a) is Swap:
            touched = [a.left, a.right]
        elif type(a) is Admit or type(a) is Expire or type(a) is UsePair:
            touched = [a.pair]
        elif type(a) is Purify:
            touched = [a.keep, a.sacrifice]
        elif type(a) in (Crash, Recover, LinkDown, LinkUp):
            full = type(a) is Crash
            self._world += 1
            self._dirty_pools.update(range(npools))
            self._routing.update(range(npools))
            if isinstance(a, Recover):
                for mid in self._blocked.pop(a.node, []):
                    self._push(new.now_us, _MSG, mid)
        elif type(a) is DropRoute:
            self._route_gone(a.route)
        new_pairs, new_messages = new.pairs, new.messages
        for i in range(old.next_id, new.next_id):
            if i in new_pairs:
                touched.append(i)
            elif i in new_messages:
                msg = new_messages[i]
                self._push(msg.arrive_us, _MSG, i)
                if msg.kind is _BITS:
                    self._uses[i] = new_pairs[msg.pair].pool
            elif i in new.routes:
                self._route_new(new, i)
        if full:
            self.index.rebuild(new)
            touched.extend(self._msg_wait)
            self._dirty_pools.update(range(npools))
        old_pairs, index = old.pairs, self.index
        dirty_pairs, dirty_pools = self._dirty_pairs, self._dirty_pools
        for pid in touched:
            if pid < 0:
                continue
            op, np_ = old_pairs.get(pid), new_pairs.get(pid)
            if op is np_ and not full:
                continue
            counted = full or index.update(op, np_, new)
            if np_ is not None:
                dirty_pairs.append(pid)
                if counted:
                    dirty_pools.add(np_.pool)
                if op is None:
                    self._push(np_.deadline_us + 1, _EXPIRE, pid)
            elif op is not None and counted:
                dirty_pools.add(op.pool)
        if type(a) is Expire:
            if a.pair not in self._discarded:
                self._discarded.add(a.pair)
                self.metrics.pools[old_pairs[a.pair].pool].discarded += 1
        elif type(a) is Admit:
            p = new_pairs[a.pair]
            if a.node == sc.pools[p.pool].a:
                self.metrics.pools[p.pool].pairs_made += 1
                memo = self._memo.get(p.route)
                if memo is not None:
                    memo.progress_us = new.now_us
        elif type(a) is UsePair:
            self.metrics.pools[old_pairs[a.pair].pool].uses += 1

    def _delivered(self, new: State, mid: int) -> None:
        pool = self._uses.pop(mid)
        d = new.last_delivery
        assert d is not None
        pm = self.metrics.pools[pool]
        if d.outcome is Outcome.DELIVERED:
            pm.deliveries += 1
            pm.delivered_cost_nnp.append(d.cost_nnp)
            pm.signal_us.append(d.deliver_us - d.send_us)
        else:
            pm.failures += 1

    def _route_new(self, new: State, rid: int) -> None:
        r = new.routes[rid]
        self._world += 1
        self._active[r.pool].append(rid)
        last = len(r.path) - 1
        for k, v in enumerate(r.path):
            self._node_routes[v][rid] = (k, 1 if k in (0, last) else 2)
        pl = self.scenario.pools[r.pool]
        avoid = frozenset(p for p, until in self._avoid[r.pool].items() if until > new.now_us)
        self._memo[rid] = RouteMemo((believed_down(new, pl.a), avoid), new.now_us)
        key = (r.pool, r.path, r.schedule)  # the scenario and config are fixed: cache per path
        stall = self._stall_by_path.get(key)
        if stall is None:
            plan = predict(self.scenario, r.pool, r.path, r.schedule)
            stall = self._stall_by_path[key] = stall_timeout_us(self.scenario, plan, self.cfg)
        self._stall[rid] = stall
        self._level[rid] = 0
        self._route_links[rid] = self.router.path_links(r.path)
        self.last_route[r.pool] = (r.path, r.schedule.value)
        self._dirty_pools.add(r.pool)

    def _route_gone(self, rid: int) -> None:
        self._world += 1
        for pool, ids in enumerate(self._active):
            if rid in ids:
                ids.remove(rid)
                self._dirty_pools.add(pool)
        for routes in self._node_routes.values():
            routes.pop(rid, None)
        if self._level.pop(rid, 0):
            self._freed = True
        self._route_links.pop(rid, None)
        self._memo.pop(rid, None)
