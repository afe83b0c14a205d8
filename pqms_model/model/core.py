"""Helpers every rule shares (spec §2.4): pair cost over time, cut-off, messages, bookkeeping.

:class:`ModelCore` binds a scenario (the constants) and the protocol's choices
(:class:`~pqms_model.protocol.settings.Protocol`: the correct protocol, or a mutant's); the rules
in :mod:`pqms_model.model.rules` are functions of ``(model, state, action)`` built on these
helpers, and :class:`pqms_model.model.transition.Model` dispatches to them, then retires the
records nobody needs any more (:meth:`ModelCore.retire`), once per step.
"""

from __future__ import annotations

from dataclasses import replace

from pqms_model.errors import NotEnabled
from pqms_model.physics.cost import NNP_PER_NEPER, decay_cost_nnp
from pqms_model.protocol.actions import ACTION_TYPES, Action, Crash, DropRoute
from pqms_model.protocol.mutants import Mutant
from pqms_model.protocol.scenario import Scenario
from pqms_model.protocol.schedule import swappers
from pqms_model.protocol.settings import CORRECT, Protocol
from pqms_model.protocol.state import (
    LIVE,
    EndStatus,
    Message,
    MsgKind,
    Pair,
    State,
    initial_state,
)

__all__ = ["ModelCore", "put", "set_end", "set_int", "swapper_of"]

_E = EndStatus
_HELD = (*LIVE, _E.INCOMING)  # a half that is or will be in memory
_NAMES_PAIRS: dict[type[Action], tuple[str, ...]] = {
    cls: tuple(
        f for f in ("pair", "left", "right", "keep", "sacrifice") if f in cls.__dataclass_fields__
    )
    for cls in ACTION_TYPES.values()
}
"""Per action class, its parameters that name a pair by id."""
_NAMES_MESSAGE = frozenset(
    cls for cls in ACTION_TYPES.values() if "msg" in cls.__dataclass_fields__
)
"""The action classes with a ``msg`` parameter (receive, deliver, delay_message)."""


def set_end(t: tuple[EndStatus, EndStatus], i: int, v: EndStatus) -> tuple[EndStatus, EndStatus]:
    """The status pair ``t`` with end ``i`` set to ``v``."""
    return (v, t[1]) if i == 0 else (t[0], v)


def set_int(t: tuple[int, int], i: int, v: int) -> tuple[int, int]:
    return (v, t[1]) if i == 0 else (t[0], v)


def put(s: State, *records: Pair) -> State:
    """``s`` with the pair records written (each new, or replacing the record with its id), and
    each node's ``memory_used`` moved by the change in its live halves: every rule writes pairs
    through here, so a node's memory table follows the statuses of the halves it holds."""
    pairs, used = s.pairs, s.memory_used
    for p in records:
        old = pairs.get(p.id)
        for i in (0, 1):
            was = old is not None and old.status[i] in LIVE
            now = p.status[i] in LIVE
            if was != now:
                n = p.nodes[i]
                used = used.set(n, used[n] + (1 if now else -1))
        pairs = pairs.set(p.id, p)
    return replace(s, pairs=pairs, memory_used=used)


def swapper_of(s: State, route: int, seg: tuple[int, int]) -> str | None:
    """The node the route's schedule lets swap segment ``seg`` (None: the root, end-to-end)."""
    r = s.routes[route]
    idx = swappers(len(r.path) - 1, r.schedule).get(seg)
    return None if idx is None else r.path[idx]


class ModelCore:
    """The protocol's constants and shared helpers; see
    :class:`pqms_model.model.transition.Model`."""

    def __init__(self, scenario: Scenario, mutant: Mutant | None = None) -> None:
        self.scenario = scenario
        self.mutant = mutant
        self.protocol: Protocol = CORRECT if mutant is None else mutant.protocol
        self._coh = {n.name: n.coherence_us for n in scenario.nodes}
        self._cap = {n.name: n.memory_capacity for n in scenario.nodes}
        # A memo of a function of the constants alone (deadline - stamp does not depend on the
        # stamp): the same answers, computed once per distinct argument.
        self._deadline_after: dict[tuple[str, str, int, int, bool], int] = {}

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
        it, no pair built from them could be used. The cost depends on ``t - stamp_us`` only,
        so the answer is ``stamp_us`` plus an offset of the other arguments.
        """
        key = (nodes[0], nodes[1], cost_nnp, pool, end_to_end)
        after = self._deadline_after.get(key)
        if after is None:
            if len(self._deadline_after) > 100_000:  # bound the memo's size
                self._deadline_after.clear()
            after = self._deadline_after[key] = self._deadline(*key[:2], cost_nnp, pool, end_to_end)
        return stamp_us + after

    def _deadline(self, n0: str, n1: str, cost_nnp: int, pool: int, end_to_end: bool) -> int:
        """:meth:`deadline`'s offset from the stamp (its answer for a stamp at time 0): the
        largest wait ``t`` (capped) with ``cost(t) <= margin``, -1 if none. ``cost`` is monotone
        in ``t``, so a binary search finds it."""
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
            # One coherence T at both ends: cost(t) <= margin  <=>  2 * ceil(t K / T) <= slack
            # <=>  t <= (slack // 2) * T // K exactly (K: nnp per neper), capped at hi.
            return min(hi, (margin - cost_nnp) // 2 * t_a // NNP_PER_NEPER)
        if cost(hi) <= margin:
            return hi
        lo = 0
        while hi - lo > 1:  # lo meets the margin, hi does not
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
        """Memory qubits ``node`` has free: its capacity less its memory table's count."""
        return self._cap[node] - s.memory_used[node]

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

    # --- retirement: once per step, after the rule ------------------------------------------

    def retire(self, pre: State, a: Action, post: State) -> State:
        """``post`` without the records step ``a`` left unneeded: a pair with no live or
        incoming end that no message in flight names, and a dropped route that no pair and no
        message names. Only records the step could have made unneeded are looked at: the pairs
        the action or its message names (every pair after a crash or a reset, which touch a
        node's every pair), and the routes of those records or the one dropped. Retiring only
        frees the maps: no guard, and no invariant, can tell a retired record from an unneeded
        one."""
        cls = type(a)
        msg = pre.messages.get(getattr(a, "msg")) if cls in _NAMES_MESSAGE else None  # noqa: B009
        if cls is Crash or (msg is not None and msg.kind is MsgKind.RESET):
            ids: list[int] = list(post.pairs)
        else:
            ids = [getattr(a, f) for f in _NAMES_PAIRS[cls]]
            if msg is not None:
                ids += (msg.pair, msg.new_pair)
        if not ids and cls is not DropRoute and (msg is None or msg.kind is not MsgKind.ROUTE):
            return post  # the step named no record that could have become unneeded
        pairs, routes = post.pairs, set()
        idle = [
            pid
            for pid in dict.fromkeys(ids)
            if pid in pairs and not any(st in _HELD for st in pairs[pid].status)
        ]
        if idle:
            named = {m.pair for m in post.messages.values()}
            named |= {m.new_pair for m in post.messages.values()}
            for pid in idle:
                if pid not in named:
                    routes.add(pairs[pid].route)
                    pairs = pairs.delete(pid)
        if msg is not None and msg.kind is MsgKind.ROUTE:
            routes.add(msg.route)
        if isinstance(a, DropRoute):
            routes.add(a.route)
        dead = [rid for rid in sorted(routes) if rid in post.routes and not post.routes[rid].active]
        kept = post.routes
        if dead:
            named_routes = {m.route for m in post.messages.values()}
            named_routes |= {p.route for p in pairs.values()}
            for rid in dead:
                if rid not in named_routes:
                    kept = kept.delete(rid)
        if pairs is post.pairs and kept is post.routes:
            return post
        return replace(post, pairs=pairs, routes=kept)
