"""The invariant registry (spec §5): id, kind, one-line meaning, predicate.

Every driver checks the same registry after every step. A predicate returns ``None`` when it
holds and a one-line reason when it does not. ``SAFETY`` and ``TYPE`` invariants are what the
protocol promises; ``LEMMA`` entries are strengthening facts the proofs use (they must hold too,
but they describe the channel and bookkeeping, not an effect a user sees).

>>> from pqms_model.protocol.scenario import load_default
>>> from pqms_model.model.transition import Model
>>> m = Model(load_default())
>>> violations(m, m.init())
[]
>>> sorted(i for i, inv in INVARIANTS.items() if inv.kind is InvariantKind.SAFETY)[:3]
['causality', 'fidelity-on-use', 'memory-capacity']
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

from pqms_model.model.transition import Model
from pqms_model.protocol.schedule import swappers
from pqms_model.protocol.state import LIVE, EndStatus, MsgKind, Outcome, State

__all__ = ["INVARIANTS", "Invariant", "InvariantKind", "Violation", "violations"]

_E = EndStatus
_USABLE = frozenset({_E.READY, _E.POOLED})


class InvariantKind(enum.Enum):
    SAFETY = "safety"
    TYPE = "type"
    LEMMA = "lemma"


Predicate = Callable[[Model, State], "str | None"]


@dataclass(frozen=True)
class Invariant:
    id: str
    kind: InvariantKind
    meaning: str
    predicate: Predicate
    whitepaper: str  # the section it comes from


@dataclass(frozen=True)
class Violation:
    invariant: str
    reason: str

    def __str__(self) -> str:
        return f"{self.invariant}: {self.reason}"


def no_double_use(m: Model, s: State) -> str | None:
    """A pair is consumed at most once; a memory qubit belongs to at most one live pair."""
    owner: dict[int, int] = {}
    for p in s.pairs.values():
        if p.consumed > 1:
            return f"pair {p.id} was consumed {p.consumed} times"
        for i in (0, 1):
            if p.status[i] in LIVE:
                q = p.qubits[i]
                if q in owner:
                    return f"qubit {q} at {p.nodes[i]} is live in pairs {owner[q]} and {p.id}"
                owner[q] = p.id
    return None


def fidelity_on_use(m: Model, s: State) -> str | None:
    """Every delivered use met the pool threshold at the receiver's correction time."""
    d = s.last_delivery
    if d is not None and d.outcome is Outcome.DELIVERED and d.cost_nnp > d.threshold_nnp:
        return (
            f"use of pair {d.pair} delivered at {d.receiver} at {d.deliver_us} us with cost "
            f"{d.cost_nnp} nnp > threshold {d.threshold_nnp} nnp"
        )
    return None


def causality(m: Model, s: State) -> str | None:
    """No effect at a node before news of its cause could arrive at light speed."""
    d = s.last_delivery
    if d is not None:
        earliest = d.send_us + m.scenario.light_us(d.sender, d.receiver)
        if d.deliver_us < earliest:
            return (
                f"use of pair {d.pair} took effect at {d.receiver} at {d.deliver_us} us, before "
                f"the bits from {d.sender} could arrive ({earliest} us)"
            )
    for p in s.pairs.values():
        for i in (0, 1):
            if p.status[i] in _USABLE:
                node, t = p.cause[i]
                earliest = t + m.scenario.light_us(node, p.nodes[i])
                if p.known_us[i] < earliest:
                    return (
                        f"pair {p.id} is {p.status[i].value} at {p.nodes[i]} since "
                        f"{p.known_us[i]} us, before news from {node} could arrive ({earliest} us)"
                    )
    return None


def memory_capacity(m: Model, s: State) -> str | None:
    """No node holds more live qubits than its memory; a crashed node holds none."""
    count: dict[str, int] = {}
    for p in s.pairs.values():
        for i in (0, 1):
            if p.status[i] in LIVE:
                count[p.nodes[i]] = count.get(p.nodes[i], 0) + 1
    for node, n in count.items():
        cap = m.scenario.node(node).memory_capacity
        if n > cap:
            return f"{node} holds {n} live qubits, memory capacity {cap}"
        if node in s.nodes_down:
            return f"{node} is down but holds {n} live qubits"
    return None


def pool_consistency(m: Model, s: State) -> str | None:
    """Both ends agree on which pooled pairs exist, modulo news in flight or a passed cut-off."""
    inflight = {(msg.kind, msg.pair, msg.dst) for msg in s.messages.values()}
    resets = {(msg.src, msg.dst, msg.epoch) for msg in s.messages.values()
              if msg.kind is MsgKind.RESET}  # fmt: skip
    for p in s.pairs.values():
        for i in (0, 1):
            if p.status[i] is not _E.POOLED:
                continue
            j, here, there = 1 - i, p.nodes[i], p.nodes[1 - i]
            st = p.status[j]
            if st in LIVE or st is _E.INCOMING:
                continue
            if st is _E.SENT and (MsgKind.BITS, p.id, here) in inflight:
                continue
            if st is _E.LOST and (
                there in s.nodes_down
                or any(src == there and dst == here and e > p.epochs[j] for src, dst, e in resets)
            ):
                continue
            if st is _E.DISCARDED and s.now_us > p.deadline_us:
                continue
            return (
                f"pair {p.id} is pooled at {here} but {st.value} at {there}, with no news in "
                f"flight and its cut-off ({p.deadline_us} us) not passed"
            )
    return None


def no_silent_failure(m: Model, s: State) -> str | None:
    """A use whose receiver half is gone (crash, discard) ends in a reported failure."""
    d = s.last_delivery
    if d is not None and d.half_lost and d.outcome is Outcome.DELIVERED:
        return f"use of pair {d.pair} reported delivered at {d.receiver}, whose half was lost"
    return None


def pool_well_formed(m: Model, s: State) -> str | None:
    """A pooled half belongs to an end-to-end pair that joins its pool's two endpoints."""
    for p in s.pairs.values():
        if _E.POOLED in p.status:
            pl = m.scenario.pools[p.pool]
            if p.swapper is not None or {p.nodes[0], p.nodes[1]} != {pl.a, pl.b}:
                return f"pair {p.id} ({p.nodes}) is pooled but does not join {pl.a}-{pl.b}"
    return None


def route_believed_up(m: Model, s: State) -> str | None:
    """A route uses only links its sender believed up when it chose the route."""
    for r in s.routes.values():
        for u, v in zip(r.path, r.path[1:], strict=False):
            ln = m.scenario.link_between(u, v)
            if ln is None:
                return f"route {r.id} uses {u}-{v}, which is not a link"
            if ln.index in r.believed_down:
                return (
                    f"route {r.id} of pool {r.pool} uses link {ln.index} ({u}-{v}), which "
                    f"{r.path[0]} believed down when it chose the route at {r.chosen_us} us"
                )
    return None


def swap_follows_schedule(m: Model, s: State) -> str | None:
    """Every pair joins the two path nodes of its route segment, and a swap only joined
    pairs that share the swapping node (sibling segments of the route's schedule)."""
    for p in s.pairs.values():
        r = s.routes.get(p.route)
        if r is None:
            return f"pair {p.id} names route {p.route}, which is gone"
        i, j = p.segment
        if not 0 <= i < j < len(r.path) or (r.path[i], r.path[j]) != p.nodes:
            return f"pair {p.id} joins {p.nodes}, not segment {p.segment} of route {r.id}"
        if p.segment not in swappers(len(r.path) - 1, r.schedule):
            return (
                f"pair {p.id} spans segment {p.segment}, which the {r.schedule.value} schedule "
                f"of route {r.id} never makes"
            )
    return None


def type_ok(m: Model, s: State) -> str | None:
    """Every field is in its domain (times, costs, ids, node names, statuses)."""
    names = set(m.scenario.node_names)
    if s.now_us < 0:
        return f"now_us = {s.now_us} < 0"
    for pid, p in s.pairs.items():
        if pid != p.id or not 0 < pid < s.next_id:
            return f"pair key {pid} does not match id {p.id} or next_id {s.next_id}"
        if p.nodes[0] == p.nodes[1] or not set(p.nodes) <= names:
            return f"pair {p.id} has ends {p.nodes}"
        if p.cost_nnp < 0 or p.stamp_us > s.now_us or p.consumed < 0:
            return f"pair {p.id} has cost {p.cost_nnp}, stamp {p.stamp_us}, consumed {p.consumed}"
        if not 0 <= p.pool < len(m.scenario.pools):
            return f"pair {p.id} names pool {p.pool}"
        if any(not isinstance(st, EndStatus) for st in p.status):
            return f"pair {p.id} has status {p.status}"
    for mid, msg in s.messages.items():
        if mid != msg.id or msg.sent_us > s.now_us or msg.arrive_us < msg.sent_us:
            return f"message {mid} has sent {msg.sent_us}, arrive {msg.arrive_us}"
        if msg.src not in names or msg.dst not in names:
            return f"message {mid} names {msg.src} -> {msg.dst}"
    if not s.nodes_down <= names:
        return f"unknown nodes down: {sorted(s.nodes_down - names)}"
    if any(not 0 <= li < len(m.scenario.links) for li in s.links_down):
        return f"unknown links down: {sorted(s.links_down)}"
    return None


def message_light_bound(m: Model, s: State) -> str | None:
    """Lemma: every message in flight arrives no earlier than its send time + light time."""
    for msg in s.messages.values():
        if msg.arrive_us < msg.sent_us + m.scenario.light_us(msg.src, msg.dst):
            return f"message {msg.id} {msg.src}->{msg.dst} arrives faster than light"
    return None


_S, _T, _L = InvariantKind.SAFETY, InvariantKind.TYPE, InvariantKind.LEMMA


def _inv(id_: str, kind: InvariantKind, fn: Predicate, section: str) -> Invariant:
    """Registry entry; the one-line meaning is the predicate's docstring."""
    return Invariant(id_, kind, " ".join((fn.__doc__ or "").split()), fn, section)


INVARIANTS: dict[str, Invariant] = {
    inv.id: inv
    for inv in (
        _inv("no-double-use", _S, no_double_use, "3.3"),
        _inv("fidelity-on-use", _S, fidelity_on_use, "3.2"),
        _inv("causality", _S, causality, "3.3"),
        _inv("memory-capacity", _S, memory_capacity, "3.2"),
        _inv("pool-consistency", _S, pool_consistency, "3.2"),
        _inv("no-silent-failure", _S, no_silent_failure, "4"),
        _inv("pool-well-formed", _S, pool_well_formed, "3.2"),
        _inv("route-believed-up", _S, route_believed_up, "3.1"),
        _inv("swap-follows-schedule", _S, swap_follows_schedule, "3.1"),
        _inv("type-ok", _T, type_ok, "-"),
        _inv("message-light-bound", _L, message_light_bound, "-"),
    )
}


def violations(
    m: Model, s: State, kinds: frozenset[InvariantKind] | None = None
) -> list[Violation]:
    """Every violated invariant of the given kinds (default: safety and type) in state ``s``."""
    kinds = kinds or frozenset({_S, _T})
    out = []
    for inv in INVARIANTS.values():
        if inv.kind in kinds:
            reason = inv.predicate(m, s)
            if reason is not None:
                out.append(Violation(inv.id, reason))
    return out
