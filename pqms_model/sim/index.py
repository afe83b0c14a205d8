"""Simulator bookkeeping: counts over the state's pairs, kept up to date per step (§3.2 of
``spec/simulator.md``).

The policies ask, after every step, how many qubits each node holds, how many pairs of a pool
are pooled or on the way, and which pairs are ready to be swapped. Scanning every pair for that
would make a step cost grow with the mesh; instead :class:`PairIndex` is told, for each step,
the old and new record of every pair the step may have touched (the simulator knows which from
the action) and moves the counts by the difference. :meth:`PairIndex.rebuild` recomputes
everything from a state (after a crash or a reset, which touch many pairs), and
:meth:`PairIndex.check` compares the counts with a fresh rebuild (the simulator's ``--check``
runs it after every step).

Terms (per pool ``a -> b``):

- *in progress*: a pair still on its way to the pool: an intermediate pair with both ends live
  or incoming, or an end-to-end pair the sender has not pooled yet whose receiver end is live;
- *healthy pooled*: an end-to-end pair pooled at the sender whose receiver end is live (a pair
  whose receiver half was lost is pooled at the sender until the news arrives, but is no use);
- *cover* of hop ``h`` of a route: in-progress pairs of the route whose segment spans ``h``; the
  number of chains a route is building is the largest cover over its hops;
- *span* of path index ``m``: in-progress pairs ``(i, j)`` with ``i < m < j``, chains already
  swapped at the node ``path[m]`` (they need no more memory there).
"""

from __future__ import annotations

from pqms_model.protocol.scenario import Scenario
from pqms_model.protocol.state import LIVE, EndStatus, Pair, State

__all__ = ["PairIndex", "Role", "role"]

_E = EndStatus
_ON_WAY = (*LIVE, _E.INCOMING)  # tuples: identity tests in C (see state.LIVE)
_SENDER_WAITING = (_E.PENDING, _E.INCOMING, _E.READY)
# Performance only: an enum member read as a module global is several times faster than
# ``EndStatus.READY`` (an attribute lookup on the enum class); the same object.
_READY, _POOLED = _E.READY, _E.POOLED
Role = tuple[bool, bool, bool, bool, bool, bool]
"""What one pair contributes to the counts, in order: end 0 occupies a memory qubit; end 1 does;
in progress; healthy pooled; pooled at the sender (usable by a use, healthy or not); ready at its
swapper. A plain tuple (performance only: the index only compares and unpacks roles, and a
NamedTuple's ``__new__`` would be one more Python call per pair)."""


def role(senders: tuple[str, ...], p: Pair) -> Role:
    """Classify pair ``p`` (see the module docstring; ``senders``: each pool's sender)."""
    s0, s1 = st = p.status
    live0, live1 = s0 in LIVE, s1 in LIVE
    if p.swapper is not None:
        prog = s0 in _ON_WAY and s1 in _ON_WAY
        return (live0, live1, prog, False, False, prog and st[p.end(p.swapper)] is _READY)
    s = p.end(senders[p.pool])
    sst, rst = st[s], st[1 - s]
    prog = sst in _SENDER_WAITING and rst in _ON_WAY
    pooled = sst is _POOLED
    return (live0, live1, prog, pooled and rst in _ON_WAY, pooled, False)


class PairIndex:
    """Counts over the pairs of a state, updated incrementally (see the module docstring)."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.occ: dict[str, int] = {n: 0 for n in scenario.node_names}
        self.cap: dict[str, int] = {n.name: n.memory_capacity for n in scenario.nodes}
        self.total = 0  # live qubits in the whole mesh
        self.fullness = 0  # times a node's memory became full or stopped being full
        self.cover: dict[int, list[int]] = {}  # route id -> per hop
        self.span: dict[int, list[int]] = {}  # route id -> per path index m: pairs (i, j), i<m<j
        self.route_occ: dict[tuple[int, str], int] = {}  # live qubits of in-progress pairs
        n = len(scenario.pools)
        self.healthy: list[int] = [0] * n
        self.sender_pooled: list[dict[int, int]] = [{} for _ in range(n)]  # pid -> deadline
        self.ready: dict[tuple[int, int, int], dict[int, None]] = {}  # (route, i, j) -> pids
        self._senders = tuple(pl.a for pl in scenario.pools)
        # Performance only: the role of the record last counted per pair (records are immutable,
        # so a record seen again has the role computed then).
        self._counted: dict[int, tuple[Pair, Role]] = {}

    def _apply(self, state: State | None, p: Pair, r: Role, sign: int) -> None:
        live0, live1, prog, healthy, pooled, ready = r
        # Performance only: the two ends unrolled, and nothing done for an end not live (it
        # counts nowhere); ``total`` moves by sign * (live0 + live1) as before.
        if live0 or live1:
            occ, cap = self.occ, self.cap
            if live0:
                node = p.nodes[0]
                before = occ[node]
                occ[node] = before + sign
                if (before >= cap[node]) != (before + sign >= cap[node]):
                    self.fullness += 1
            if live1:
                node = p.nodes[1]
                before = occ[node]
                occ[node] = before + sign
                if (before >= cap[node]) != (before + sign >= cap[node]):
                    self.fullness += 1
            self.total += sign * (live0 + live1)
        if prog:
            route = p.route
            cover = self.cover.get(route)
            if cover is None:
                assert state is not None, "a pair is added while its route exists"
                hops = len(state.routes[route].path) - 1
                cover = self.cover[route] = [0] * hops
                self.span[route] = [0] * (hops + 1)
            i, j = p.segment
            for h in range(i, j):
                cover[h] += sign
            if j - i > 1:  # Performance only: span moves on i < m < j, none for one hop
                span = self.span[route]
                for m in range(i + 1, j):
                    span[m] += sign
            route_occ = self.route_occ
            if live0:
                key = (route, p.nodes[0])
                route_occ[key] = route_occ.get(key, 0) + sign
            if live1:
                key = (route, p.nodes[1])
                route_occ[key] = route_occ.get(key, 0) + sign
        if healthy:
            self.healthy[p.pool] += sign
        if pooled:
            if sign > 0:
                self.sender_pooled[p.pool][p.id] = p.deadline_us
            else:
                del self.sender_pooled[p.pool][p.id]
        if ready:
            key3 = (p.route, p.segment[0], p.segment[1])
            if sign > 0:
                self.ready.setdefault(key3, {})[p.id] = None
            else:
                bucket = self.ready[key3]
                del bucket[p.id]
                if not bucket:
                    del self.ready[key3]

    def update(self, old: Pair | None, new: Pair | None, state: State) -> bool:
        """One pair changed from ``old`` to ``new`` (either may be None: born or retired).
        Returns whether any count changed."""
        if old is new:
            return False
        counted = self._counted
        was = now = None
        if old is not None:
            seen = counted.get(old.id)
            was = seen[1] if seen is not None and seen[0] is old else role(self._senders, old)
        if new is not None:
            now = role(self._senders, new)
            counted[new.id] = (new, now)
            # same role and cut-off: the same contribution (a pair keeps its ends, route and
            # segment)
            if old is not None and was == now and old.deadline_us == new.deadline_us:
                return False
        elif old is not None:
            counted.pop(old.id, None)
        if old is not None and was is not None:
            self._apply(None, old, was, -1)
        if new is not None and now is not None:
            self._apply(state, new, now, +1)
        return True

    def rebuild(self, state: State) -> None:
        """Recompute every count from ``state``."""
        fresh = PairIndex(self.scenario)
        for p in state.pairs.values():
            seen = fresh._counted[p.id] = (p, role(self._senders, p))
            fresh._apply(state, p, seen[1], +1)
        for r, cover in self.cover.items():  # keep routes we know (their counts are now 0)
            fresh.cover.setdefault(r, [0] * len(cover))
            fresh.span.setdefault(r, [0] * (len(cover) + 1))
        self.occ, self.cover, self.route_occ = fresh.occ, fresh.cover, fresh.route_occ
        self.span, self._counted = fresh.span, fresh._counted
        self.total = fresh.total
        self.healthy, self.sender_pooled, self.ready = (
            fresh.healthy,
            fresh.sender_pooled,
            fresh.ready,
        )

    def chains(self, route: int) -> int:
        """Chains route ``route`` is building: the largest cover over its hops."""
        cover = self.cover.get(route)
        return max(cover) if cover else 0

    def check(self, state: State) -> str | None:
        """``None`` when the counts equal a fresh rebuild from ``state``, else what differs."""
        fresh = PairIndex(self.scenario)
        fresh.rebuild(state)
        for name in ("occ", "total", "healthy", "sender_pooled", "ready"):
            if getattr(fresh, name) != getattr(self, name):
                return f"index {name} is {getattr(self, name)}, recount {getattr(fresh, name)}"
        ro = {k: v for k, v in self.route_occ.items() if v}
        if ro != {k: v for k, v in fresh.route_occ.items() if v}:
            return f"index route_occ is {ro}, recount {fresh.route_occ}"
        for r, cover in self.cover.items():
            if any(cover) and cover != fresh.cover.get(r):
                return f"index cover of route {r} is {cover}, recount {fresh.cover.get(r)}"
            if any(self.span[r]) and self.span[r] != fresh.span.get(r):
                return f"index span of route {r} is {self.span[r]}, recount {fresh.span.get(r)}"
        return None
