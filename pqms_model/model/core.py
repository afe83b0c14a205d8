"""Helpers every rule shares (spec §2.3): pair cost over time, cut-off, messages, bookkeeping.

:class:`ModelCore` binds a scenario (the constants) and optionally a mutant; the rules in
``rules_*.py`` are functions of ``(model, state, action)`` built on these helpers, and
:class:`pqms_model.model.transition.Model` dispatches to them.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

from immutables import Map

from pqms_model.errors import NotEnabled
from pqms_model.physics.cost import NNP_PER_NEPER, decay_cost_nnp
from pqms_model.protocol.mutants import Mutant
from pqms_model.protocol.scenario import Scenario
from pqms_model.protocol.schedule import swappers
from pqms_model.protocol.state import (
    LIVE,
    EndStatus,
    Message,
    MsgKind,
    Pair,
    Route,
    State,
    initial_state,
    live_ends,
)

__all__ = ["ModelCore", "replace", "set_end", "set_int", "swapper_of"]

_E = EndStatus
_HELD = (*LIVE, _E.INCOMING)  # a half that is or will be in memory
_T = TypeVar("_T")
_FIELDS: dict[type, tuple[str, ...]] = {}
_NAMES: dict[type, frozenset[str]] = {}
_SET = object.__setattr__


def replace(obj: _T, /, **changes: Any) -> _T:
    """``dataclasses.replace`` for the model's frozen records, three to five times as fast.

    Performance only: the records have no ``__post_init__`` and every field is an init field,
    so copying the fields is exactly what the generated ``__init__`` would do. The two records
    a step copies most (``State``, ``Pair``) keep their fields in a ``__dict__``, copied in one
    go; the others have slots, copied one by one.

    >>> from pqms_model.protocol.state import initial_state
    >>> s = initial_state(("earth",))
    >>> replace(s, now_us=5) == dataclasses.replace(s, now_us=5)
    True
    >>> replace(s, now=5)
    Traceback (most recent call last):
    TypeError: State has no field(s) ['now']
    """
    cls = type(obj)
    names = _FIELDS.get(cls)
    if names is None:
        if hasattr(cls, "__post_init__"):
            return dataclasses.replace(obj, **changes)  # type: ignore[type-var]
        names = _FIELDS[cls] = tuple(f.name for f in dataclasses.fields(cls))  # type: ignore[arg-type]
        _NAMES[cls] = frozenset(names)
    new = cls.__new__(cls)
    fields = getattr(obj, "__dict__", None)
    if fields is not None:
        # a copy of the record's own field dict becomes the new record's (a copy of a dict is
        # faster than filling an empty one); a name that is no field adds an entry
        new_fields = fields.copy()
        new_fields.update(changes)
        if len(new_fields) != len(fields):
            raise TypeError(
                f"{cls.__name__} has no field(s) {sorted(changes.keys() - fields.keys())}"
            )
        _SET(new, "__dict__", new_fields)
        return new
    if not changes.keys() <= _NAMES[cls]:
        raise TypeError(f"{cls.__name__} has no field(s) {sorted(changes.keys() - _NAMES[cls])}")
    for name in names:
        _SET(new, name, changes[name] if name in changes else getattr(obj, name))
    return new


def set_end(t: tuple[EndStatus, EndStatus], i: int, v: EndStatus) -> tuple[EndStatus, EndStatus]:
    """The status pair ``t`` with end ``i`` set to ``v``."""
    return (v, t[1]) if i == 0 else (t[0], v)


def set_int(t: tuple[int, int], i: int, v: int) -> tuple[int, int]:
    return (v, t[1]) if i == 0 else (t[0], v)


class ModelCore:
    """The protocol's constants and shared helpers; see
    :class:`pqms_model.model.transition.Model`."""

    def __init__(self, scenario: Scenario, mutant: Mutant | None = None) -> None:
        self.scenario = scenario
        self.mutant = mutant
        self._coh = {n.name: n.coherence_us for n in scenario.nodes}
        self._cap = {n.name: n.memory_capacity for n in scenario.nodes}
        # Performance only: deadline - stamp depends on the rest of the arguments alone.
        self._deadline_after: dict[tuple[str, str, int, int, bool], int] = {}
        # Performance only (retire): see there.
        self._routes_seen: Map[int, Route] | None = None
        self._dead_seen: list[int] = []
        self._named_by: dict[int, tuple[bool, int]] = {}

    def init(self) -> State:
        """Init: time zero, no pairs, no messages, no routes, everything up."""
        return initial_state(self.scenario.node_names)

    def cost_at(self, p: Pair, t_us: int) -> int:
        """Cost of pair ``p`` at time ``t_us``: both halves decay from ``stamp_us``."""
        dt = max(0, t_us - p.stamp_us)
        return (
            p.cost_nnp
            + decay_cost_nnp(dt, self._coh[p.nodes[0]])
            + decay_cost_nnp(dt, self._coh[p.nodes[1]])
        )

    def transit_decay(self, sender: str, receiver: str) -> int:
        """Cost the receiver's half gains while the two bits travel sender -> receiver."""
        return decay_cost_nnp(self.scenario.light_us(sender, receiver), self._coh[receiver])

    def deadline(
        self,
        nodes: tuple[str, str],
        cost_nnp: int,
        stamp_us: int,
        pool: int,
        end_to_end: bool = True,
    ) -> int:
        """Shared cut-off: the last send time at which a use still meets the threshold at the
        receiver, and for an end-to-end pair at most ``max_wait`` after ``stamp_us`` (the
        pool's limit on waiting); ``stamp_us - 1`` if none.

        Both ends compute it from what the herald / swap / purify message told them, so they
        agree without another message. Intermediate pairs get the fidelity bound only: past
        it, no pair built from them could be used.

        Every time below is ``stamp_us`` plus an offset that does not depend on ``stamp_us``
        (the cost depends on ``t - stamp_us`` only), so the offset is computed once per
        (nodes, cost, pool, kind) and remembered.
        """
        key = (nodes[0], nodes[1], cost_nnp, pool, end_to_end)
        after = self._deadline_after.get(key)
        if after is None:
            if len(self._deadline_after) > 100_000:  # bound the memory; misses only cost time
                self._deadline_after.clear()
            after = self._deadline_after[key] = self._deadline(*key[:2], cost_nnp, pool, end_to_end)
        return stamp_us + after

    def _deadline(self, n0: str, n1: str, cost_nnp: int, pool: int, end_to_end: bool) -> int:
        """:meth:`deadline`'s offset from the stamp (its answer for a stamp at time 0)."""
        pl = self.scenario.pools[pool]
        margin = pl.threshold_nnp - self.transit_decay(pl.a, pl.b)
        t_a, t_b = self._coh[n0], self._coh[n1]

        def cost(t: int) -> int:
            return cost_nnp + decay_cost_nnp(t, t_a) + decay_cost_nnp(t, t_b)

        if cost(0) > margin:
            return -1
        if end_to_end:
            hi = pl.max_wait_us
        else:  # one half's decay alone passes the margin by then: a finite search bound
            hi = (margin - cost_nnp) * min(t_a, t_b) // NNP_PER_NEPER + 1
        if t_a == t_b:
            # Performance only (most meshes give every node the same coherence): with one
            # coherence T, cost(t) <= margin  <=>  2 * ceil(t K / T) <= slack  <=>
            # ceil(t K / T) <= slack // 2  <=>  t <= (slack // 2) * T // K, exactly (K: nnp
            # per neper); cost is monotone, so the answer is that bound, or hi if it is higher.
            return min(hi, (margin - cost_nnp) // 2 * t_a // NNP_PER_NEPER)
        lo = 0
        if cost(hi) <= margin:
            return hi
        # Performance only: narrow [lo, hi] before the search. The two rounded-up decays add
        # between d = x * 1e9 * (1/t_a + 1/t_b) and d + 2 for a wait of x us, so every wait
        # beyond x0 fails and x1 meets the margin; each narrowing is checked before it is used,
        # and the search below still decides (cost is monotone: same answer, fewer steps).
        slack, den = margin - cost_nnp, NNP_PER_NEPER * (t_a + t_b)
        x0, x1 = slack * t_a * t_b // den, (slack - 2) * t_a * t_b // den
        if lo < x0 + 1 < hi and cost(x0 + 1) > margin:
            hi = x0 + 1
        if lo < x1 < hi and cost(x1) <= margin:
            lo = x1
        while hi - lo > 1:  # cost is monotone in t: lo meets the margin, hi does not
            mid = (lo + hi) // 2
            if cost(mid) <= margin:
                lo = mid
            else:
                hi = mid
        return lo

    def expiry_us(self, p: Pair, i: int) -> int:
        """Last time end ``i`` keeps its half: the shared cut-off, and for the receiver of an
        end-to-end pair one light time more, since a use sent at the cut-off is still on its
        way (its bits arrive one light time later)."""
        pl = self.scenario.pools[p.pool]
        if p.swapper is None and p.nodes[i] == pl.b:
            return p.deadline_us + self.scenario.light_us(pl.a, pl.b)
        return p.deadline_us

    def free_memory(self, s: State, node: str) -> int:
        return self._cap[node] - live_ends(s.pairs.values(), node)

    def believes_down(self, s: State, node: str, link: int) -> bool:
        """Whether ``node``'s (possibly stale) link-state view has ``link`` down."""
        return s.view[node].get(link, 0) % 2 == 1

    # --- guard helpers: raise NotEnabled naming the failed conjunct ---------------------------

    def pair(self, s: State, pid: int, who: str) -> Pair:
        p = s.pairs.get(pid)
        if p is None:
            raise NotEnabled(who, f"no live pair {pid}")
        return p

    def end(self, p: Pair, node: str, who: str) -> int:
        if node not in p.nodes:
            raise NotEnabled(who, f"pair {p.id} has no end at {node!r} (ends: {p.nodes})")
        return p.end(node)

    def up(self, s: State, node: str, who: str) -> None:
        if node not in s.epoch:
            raise NotEnabled(who, f"unknown node {node!r}")
        if node in s.nodes_down:
            raise NotEnabled(who, f"node {node} is down")

    # --- effect helpers ------------------------------------------------------------------------

    def send(self, s: State, kind: MsgKind, src: str, dst: str, **kw: object) -> State:
        """Send a classical message: it arrives one light time later (never earlier)."""
        mid = s.next_id
        arrive = s.now_us + self.scenario.light_us(src, dst)
        msg = Message(mid, kind, src, dst, s.now_us, arrive, **kw)  # type: ignore[arg-type]
        return replace(s, next_id=mid + 1, messages=s.messages.set(mid, msg))

    @staticmethod
    def learn(p: Pair, i: int, now: int) -> Pair:
        """End ``i`` learns the pair is usable: READY, known since ``now``."""
        return replace(
            p, status=set_end(p.status, i, _E.READY), known_us=set_int(p.known_us, i, now)
        )

    def retire(self, s: State, ids: tuple[int, ...] | None) -> State:
        """Drop pairs with no live end that no message names, and dropped routes no pair or
        message names (this frees the maps only; no invariant reads retired records)."""
        candidates = list(s.pairs) if ids is None else [i for i in ids if i in s.pairs]
        pairs: Map[int, Pair] = s.pairs
        # Performance only: look at the messages once, and only if some pair has no live end.
        idle = [
            pid
            for pid in candidates
            if pairs[pid].status[0] not in _HELD and pairs[pid].status[1] not in _HELD
        ]
        msgs = list(s.messages.values()) if idle or ids is None else []
        if idle:
            named = {m.pair for m in msgs} | {m.new_pair for m in msgs}
            for pid in idle:
                if pid not in named:
                    pairs = pairs.delete(pid)
        routes = s.routes
        # Performance only: the dropped routes of the last routes map seen (maps are immutable:
        # the same map has the same dropped routes), and per dropped route the last record
        # found naming it (if it still does, the route is named: no search for it).
        if routes is not self._routes_seen:
            self._routes_seen = routes
            self._dead_seen = [r.id for r in routes.values() if not r.active]
        dead = self._dead_seen
        if dead:
            named_by = self._named_by
            unused = set()
            for rid in dead:
                w = named_by.get(rid)
                rec = None if w is None else (s.messages if w[0] else pairs).get(w[1])
                if rec is None or rec.route != rid:
                    unused.add(rid)
            if unused:  # stop looking once every one is named
                for m in msgs or s.messages.values():
                    if m.route in unused:
                        named_by[m.route] = (True, m.id)
                        unused.discard(m.route)
                        if not unused:
                            break
                else:
                    for p in pairs.values():
                        if p.route in unused:
                            named_by[p.route] = (False, p.id)
                            unused.discard(p.route)
                            if not unused:
                                break
            for rid in dead:
                if rid in unused:
                    routes = routes.delete(rid)
                    named_by.pop(rid, None)
        if pairs is s.pairs and routes is s.routes:
            return s  # nothing retired (performance only: the same value)
        return replace(s, pairs=pairs, routes=routes)


def swapper_of(s: State, route: int, seg: tuple[int, int]) -> str | None:
    """The node the route's schedule lets swap segment ``seg`` (None: the root, end-to-end)."""
    r = s.routes[route]
    idx = swappers(len(r.path) - 1, r.schedule).get(seg)
    return None if idx is None else r.path[idx]
