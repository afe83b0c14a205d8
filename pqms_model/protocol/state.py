"""The state of the mesh (spec §2, "State"): declared here once, grouped by owner.

Every record is a frozen dataclass; collections that grow are persistent maps
(``immutables.Map``) so that a step copies only what it changes. Fields marked *ghost* are the
protocol's own record of what happened, kept for reports and the proofs: no guard reads them,
and no invariant trusts them (the invariants read the observer's history, spec §5).

>>> s = initial_state(("earth", "moon"))
>>> s.now_us, len(s.pairs), s.epoch["earth"]
(0, 0, 0)
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from immutables import Map

__all__ = [
    "LIVE",
    "Delivery",
    "EndStatus",
    "Message",
    "MsgKind",
    "Outcome",
    "Pair",
    "Route",
    "Schedule",
    "State",
    "initial_state",
    "live_ends",
]


class EndStatus(enum.Enum):
    """What one end (one memory qubit) of a pair is, as the node holding it knows it."""

    PENDING = "pending"  # qubit held; herald / purify message not yet arrived here
    INCOMING = "incoming"  # made by a swap; the qubit is still listed under its old pair here
    #                        until the swap message arrives (so it is not counted twice)
    READY = "ready"  # known entangled here; may be swapped, purified or admitted
    POOLED = "pooled"  # in the hot-standby pool here; may be used
    SENT = "sent"  # measured by the sender in a use (teleportation)
    RECEIVED = "received"  # corrected by the receiver: the use was delivered
    SWAPPED = "swapped"  # measured in an entanglement swap at this node
    MERGED = "merged"  # qubit handed on to the pair a swap made (it lives on there)
    CONSUMED = "consumed"  # measured as the sacrificed pair of a purification
    DISCARDED = "discarded"  # cut off (expired), failed purification, or reset by a crash notice
    LOST = "lost"  # memory lost in a node crash


LIVE = (EndStatus.PENDING, EndStatus.READY, EndStatus.POOLED)
"""End statuses that occupy a memory qubit."""


class MsgKind(enum.Enum):
    """Classical messages; each travels at most at light speed along the mesh."""

    HERALD = "herald"  # elementary link generation succeeded
    SWAP_DONE = "swap_done"  # a swap joined two pairs; carries the Pauli correction
    PURIFY_RESULT = "purify_result"  # the partner's parity outcome of a purification round
    BITS = "bits"  # the two classical bits of a teleportation (a use)
    RESET = "reset"  # a node recovered from a crash: pairs with its old epoch are gone
    ROUTE = "route"  # the pool's sender chose a route: the path's nodes may now work on it
    LINK_STATE = "link_state"  # a link went down or up (link-state update, sequence-numbered)


class Schedule(enum.Enum):
    """Order of the swaps along a route (spec §3.2): a binary tree over the path's hops."""

    SEQUENTIAL = "sequential"  # from the sender outwards: ((h0 h1) h2) h3 ...
    NESTED = "nested"  # balanced: (h0 h1) (h2 h3), then joined in the middle

    def __repr__(self) -> str:
        return f"Schedule.{self.name}"  # valid Python, so a printed step re-runs as written


class Outcome(enum.Enum):
    """How a use ended at the receiver."""

    DELIVERED = "delivered"  # corrected with a live half at or above the threshold
    FAILED_LOST = "failed_lost"  # reported failure: the receiver's half is gone
    FAILED_STALE = "failed_stale"  # reported failure: fidelity at correction below threshold


@dataclass(frozen=True, slots=True)
class Pair:
    """One entangled pair; index 0 and 1 are its two ends.

    ``cost_nnp`` is the log-Werner cost at ``stamp_us``; both halves decay from then on.
    """

    id: int
    nodes: tuple[str, str]  # where each half is held
    qubits: tuple[int, int]  # memory-qubit ids (a swap hands a qubit to the new pair)
    status: tuple[EndStatus, EndStatus]
    epochs: tuple[int, int]  # crash epoch of each node when its half was made
    pool: int  # the pool this pair is being built for
    route: int  # the route it is being built along
    segment: tuple[int, int]  # path indices (i, j) of its ends on that route
    swapper: str | None  # the one end the schedule lets swap it; None: end-to-end
    cost_nnp: int  # log-Werner cost at stamp_us (rounded up)
    stamp_us: int
    deadline_us: int  # shared cut-off: last send (end-to-end) or swap time; stamp_us - 1: none
    known_us: tuple[int, int]  # ghost: when each end learned the pair was usable (-1: not yet)
    cause: tuple[tuple[str, int], tuple[str, int]]  # ghost: per end, (node, time) of the
    #                                                  event whose news makes it usable there
    consumed: int  # ghost: how many operations consumed the pair (use, swap, purify)

    def end(self, node: str) -> int:
        """Index (0 or 1) of the half held at ``node``."""
        if self.nodes[0] == node:
            return 0
        if self.nodes[1] == node:
            return 1
        raise KeyError(f"pair {self.id} has no end at {node!r}")

    def other(self, i: int) -> str:
        return self.nodes[1 - i]


@dataclass(frozen=True, slots=True)
class Message:
    """A classical message in flight from ``src`` to ``dst``."""

    id: int
    kind: MsgKind
    src: str
    dst: str
    sent_us: int
    arrive_us: int  # sent_us + light time + any extra delay
    pair: int  # the pair it is about (for RESET: -1)
    new_pair: int = -1  # SWAP_DONE: the pair the swap made
    ok: bool = True  # PURIFY_RESULT: the round succeeded
    epoch: int = 0  # RESET: the node's new epoch
    cost_nnp: int = 0  # BITS: the pair's cost when the sender measured
    link: int = -1  # LINK_STATE: the link; ROUTE: -1
    seq: int = 0  # LINK_STATE: the link's sequence number (odd: down, even: up)
    route: int = -1  # ROUTE: the route chosen


@dataclass(frozen=True, slots=True)
class Route:
    """A path the pool's sender chose to refill the pool along, with its swap schedule."""

    id: int
    pool: int
    path: tuple[str, ...]  # pool sender ... pool receiver
    schedule: Schedule
    chosen_us: int
    active: bool  # False once the sender dropped it (failover); its pairs may finish
    known_by: frozenset[str]  # nodes the ROUTE message has reached (the sender at once)
    believed_down: frozenset[int]  # ghost: links the sender believed down when it chose


@dataclass(frozen=True, slots=True)
class Delivery:
    """Ghost: the most recent end of a use at a receiver (checked after every step)."""

    pair: int
    sender: str
    receiver: str
    send_us: int
    deliver_us: int
    cost_nnp: int  # cost of the resource at the correction time
    threshold_nnp: int
    outcome: Outcome
    half_lost: bool  # ghost truth: the receiver's half was gone (crash or discard)


@dataclass(frozen=True, slots=True)
class State:
    """The whole mesh at one instant."""

    now_us: int  # global time (a model of each node's synchronised clock)
    next_id: int  # next fresh id for pairs, qubits and messages
    pairs: Map[int, Pair]  # live pairs (a pair leaves once no end is live and no message names it)
    messages: Map[int, Message]  # classical messages in flight
    links_down: frozenset[int]  # indices of links that are down (truth)
    link_seq: Map[int, int]  # per link: changes so far (odd: down); missing = 0
    view: Map[str, Map[int, int]]  # per node: latest link_seq it has heard of, per link
    routes: Map[int, Route]  # routes in use (active, or with pairs still on them)
    nodes_down: frozenset[str]  # crashed nodes, not yet recovered
    memory_used: Map[str, int]  # per node: memory qubits in use (live halves held there)
    epoch: Map[str, int]  # crash count per node
    heard_epoch: Map[str, Map[str, int]]  # per node: newest epoch it heard of each other node
    last_delivery: Delivery | None  # ghost: the latest use that ended at a receiver
    deliveries: int  # ghost: how many uses ended at a receiver

    def pairs_at(self, node: str) -> Iterator[tuple[Pair, int]]:
        for p in self.pairs.values():
            if p.nodes[0] == node:
                yield p, 0
            if p.nodes[1] == node:
                yield p, 1


def live_ends(pairs: Iterable[Pair], node: str) -> int:
    """Memory qubits occupied at ``node``."""
    return sum(1 for p in pairs for i in (0, 1) if p.nodes[i] == node and p.status[i] in LIVE)


def initial_state(nodes: Iterable[str]) -> State:
    """Init: time zero, no pairs, no messages, no routes, every link and node up."""
    names = tuple(nodes)
    return State(
        now_us=0,
        next_id=1,
        pairs=Map(),
        messages=Map(),
        links_down=frozenset(),
        link_seq=Map(),
        view=Map({n: Map() for n in names}),
        routes=Map(),
        nodes_down=frozenset(),
        memory_used=Map({n: 0 for n in names}),
        epoch=Map({n: 0 for n in names}),
        heard_epoch=Map({n: Map() for n in names}),
        last_delivery=None,
        deliveries=0,
    )
