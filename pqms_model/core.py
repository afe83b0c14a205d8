"""Helpers every rule shares (spec §2.3): pair cost over time, cut-off, messages, bookkeeping.

:class:`ModelCore` binds a scenario (the constants) and optionally a mutant; the rules in
``rules_*.py`` are functions of ``(model, state, action)`` built on these helpers, and
:class:`pqms_model.model.Model` dispatches to them.
"""

from __future__ import annotations

from dataclasses import replace

from pyrsistent import PMap

from pqms_model.cost import decay_cost_nnp
from pqms_model.errors import NotEnabled
from pqms_model.mutants import Mutant
from pqms_model.scenario import Scenario
from pqms_model.state import (
    LIVE,
    EndStatus,
    Message,
    MsgKind,
    Pair,
    State,
    initial_state,
    live_ends,
)

__all__ = ["ModelCore", "set_end", "set_int"]

_E = EndStatus


def set_end(t: tuple[EndStatus, EndStatus], i: int, v: EndStatus) -> tuple[EndStatus, EndStatus]:
    """The status pair ``t`` with end ``i`` set to ``v``."""
    return (v, t[1]) if i == 0 else (t[0], v)


def set_int(t: tuple[int, int], i: int, v: int) -> tuple[int, int]:
    return (v, t[1]) if i == 0 else (t[0], v)


class ModelCore:
    """The protocol's constants and shared helpers; see :class:`pqms_model.model.Model`."""

    def __init__(self, scenario: Scenario, mutant: Mutant | None = None) -> None:
        self.scenario = scenario
        self.mutant = mutant
        self._coh = {n.name: n.coherence_us for n in scenario.nodes}
        self._cap = {n.name: n.memory_capacity for n in scenario.nodes}

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

    def deadline(self, nodes: tuple[str, str], cost_nnp: int, stamp_us: int, pool: int) -> int:
        """Shared cut-off: the last send time at which a use still meets the threshold at the
        receiver, and at most ``max_wait`` after ``stamp_us``; ``stamp_us - 1`` if none.

        Both ends compute it from what the herald / swap / purify message told them, so they
        agree without another message. Intermediate pairs get the same bound: past it, no
        pair built from them could be used.
        """
        pl = self.scenario.pools[pool]
        margin = pl.threshold_nnp - self.transit_decay(pl.a, pl.b)
        t_a, t_b = self._coh[nodes[0]], self._coh[nodes[1]]

        def cost(t: int) -> int:
            return cost_nnp + decay_cost_nnp(t - stamp_us, t_a) + decay_cost_nnp(t - stamp_us, t_b)

        if cost(stamp_us) > margin:
            return stamp_us - 1
        lo, hi = stamp_us, stamp_us + pl.max_wait_us
        if cost(hi) <= margin:
            return hi
        while hi - lo > 1:  # cost is monotone in t: lo meets the margin, hi does not
            mid = (lo + hi) // 2
            if cost(mid) <= margin:
                lo = mid
            else:
                hi = mid
        return lo

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
        msgs = s.messages.values()
        named = {m.pair for m in msgs} | {m.new_pair for m in msgs}
        pairs: PMap[int, Pair] = s.pairs
        for pid in candidates:
            p = pairs[pid]
            if pid in named or any(st in LIVE or st is _E.INCOMING for st in p.status):
                continue
            pairs = pairs.remove(pid)
        routes = s.routes
        dead = [r.id for r in routes.values() if not r.active]
        if dead:
            used = {p.route for p in pairs.values()} | {m.route for m in msgs}
            for rid in dead:
                if rid not in used:
                    routes = routes.remove(rid)
        return replace(s, pairs=pairs, routes=routes)
