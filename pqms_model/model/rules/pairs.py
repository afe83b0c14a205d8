"""Protocol rules on elementary pairs and messages (spec A3, A4): generate_link, receive.

Each is guard first (``NotEnabled`` names the failed conjunct), then effect.
"""

from __future__ import annotations

from dataclasses import replace

from pqms_model.errors import NotEnabled
from pqms_model.model.core import ModelCore, put, set_end, swapper_of
from pqms_model.model.rules.routing import receive_link_state, receive_route, route_of
from pqms_model.physics.cost import decay_cost_nnp
from pqms_model.protocol.actions import (
    GenerateLink,
    Receive,
)
from pqms_model.protocol.state import (
    LIVE,
    EndStatus,
    Message,
    MsgKind,
    Pair,
    State,
)

__all__ = ["generate_link", "receive"]

_E = EndStatus


def generate_link(m: ModelCore, s: State, a: GenerateLink) -> State:
    who = a.name
    r = route_of(s, a.route, who)
    if not r.active:
        raise NotEnabled(who, f"route {r.id} was dropped")
    if not 0 <= a.hop < len(r.path) - 1:
        raise NotEnabled(who, f"route {r.id} has hops 0..{len(r.path) - 2}, not {a.hop}")
    u, v = r.path[a.hop], r.path[a.hop + 1]
    ln = m.scenario.link_between(u, v)
    assert ln is not None  # choose_route admits only paths along links
    if ln.index in s.links_down:
        raise NotEnabled(who, f"link {ln.index} ({u}-{v}) is down")
    for n in (u, v):
        m.up(s, n, who)
        if n not in r.known_by:
            raise NotEnabled(who, f"{n} has not heard of route {r.id} yet")
    if m.protocol.generation_needs_free_memory:
        for n in (u, v):
            if m.free_memory(s, n) < 1:
                raise NotEnabled(who, f"no free memory qubit at {n}")
    # Effect. u emits a photon entangled with a memory qubit; v stores it on a heralded
    # absorption, so v knows at once and u learns from v's herald. u's half has already
    # waited one light time when v absorbs: that decay is part of the initial cost.
    pid, t = s.next_id, s.now_us
    cost = ln.initial_cost_nnp + decay_cost_nnp(ln.light_us, m._coh[u])
    seg = (a.hop, a.hop + 1)
    swapper = swapper_of(s, r.id, seg)
    p = Pair(
        id=pid,
        nodes=(u, v),
        qubits=(pid + 1, pid + 2),
        status=(_E.PENDING, _E.READY),
        epochs=(s.epoch[u], s.epoch[v]),
        pool=r.pool,
        route=r.id,
        segment=seg,
        swapper=swapper,
        cost_nnp=cost,
        stamp_us=t,
        deadline_us=m.deadline((u, v), cost, t, r.pool, swapper is None),
        known_us=(-1, t),
        cause=((v, t), (v, t)),
        consumed=0,
    )
    s = put(replace(s, next_id=pid + 3), p)
    return m.send(s, MsgKind.HERALD, v, u, pair=pid)


def receive(m: ModelCore, s: State, a: Receive) -> State:
    who = a.name
    msg = s.messages.get(a.msg)
    if msg is None:
        raise NotEnabled(who, f"no message {a.msg} in flight")
    if msg.kind is MsgKind.BITS:
        raise NotEnabled(who, f"message {a.msg} carries teleportation bits: use deliver")
    m.up(s, msg.dst, who)
    if s.now_us < msg.arrive_us:
        raise NotEnabled(who, f"message {a.msg} arrives at {msg.arrive_us} us, now {s.now_us}")
    if msg.kind is MsgKind.SWAP_DONE:
        old = s.pairs.get(msg.pair)
        if old is not None and old.status[old.end(msg.dst)] is _E.INCOMING:
            raise NotEnabled(
                who,
                f"{msg.dst}'s half of pair {old.id} is itself still incoming: the swap notice "
                "for the pair it became waits until the earlier one is taken",
            )
    s = replace(s, messages=s.messages.delete(msg.id))
    if msg.kind is MsgKind.ROUTE:
        return receive_route(m, s, msg)
    if msg.kind is MsgKind.LINK_STATE:
        return receive_link_state(m, s, msg)
    if msg.kind is MsgKind.RESET:
        return _receive_reset(m, s, msg)
    target = msg.new_pair if msg.kind is MsgKind.SWAP_DONE else msg.pair
    p = s.pairs.get(target)
    if p is None:
        return s
    i = p.end(msg.dst)
    if msg.kind is MsgKind.SWAP_DONE:
        if p.status[i] is _E.INCOMING:
            old = s.pairs.get(msg.pair)
            carried = _E.DISCARDED if old is None else old.status[old.end(msg.dst)]
            far = p.nodes[1 - i]
            stale = p.epochs[1 - i] < s.heard_epoch[msg.dst].get(far, 0)
            # the far half predates a crash this node heard of; unless the far node was to
            # swap this pair (it may have, before the crash: found by the Z3 induction)
            if carried in LIVE and stale and p.swapper != far:
                carried = _E.DISCARDED
                if old is not None:
                    k = old.end(msg.dst)
                    old = replace(old, status=set_end(old.status, k, _E.DISCARDED))
                    s = put(s, old)
            if old is not None and carried in LIVE:
                k = old.end(msg.dst)
                s = put(s, replace(old, status=set_end(old.status, k, _E.MERGED)))
                p = m.learn(p, i, s.now_us)
            else:  # the half this pair was to inherit is gone (crash, reset)
                p = replace(p, status=set_end(p.status, i, carried))
    elif msg.kind is MsgKind.PURIFY_RESULT:
        if p.status[i] is _E.PENDING:
            if msg.ok:
                p = m.learn(p, i, s.now_us)
            else:
                p = replace(p, status=set_end(p.status, i, _E.DISCARDED))
    elif p.status[i] is _E.PENDING:  # HERALD
        p = m.learn(p, i, s.now_us)
    return put(s, p)


def _receive_reset(m: ModelCore, s: State, msg: Message) -> State:
    """``msg.src`` restarted with epoch ``msg.epoch``: halves shared with its older epochs go,
    and the node remembers the epoch (a swap notice arriving later may name an older half).

    A half whose pair ``msg.src`` was to swap stays: the swap may have happened before the
    crash, with its notice still on the way (found by the Z3 induction proof of
    pool-consistency: discarding it here left the far end's pooled half with a silently
    discarded partner). If the crash lost the partner instead, the half goes at its cut-off."""
    heard = s.heard_epoch[msg.dst]
    if heard.get(msg.src, 0) < msg.epoch:
        s = replace(s, heard_epoch=s.heard_epoch.set(msg.dst, heard.set(msg.src, msg.epoch)))
    for p in list(s.pairs.values()):
        q = p
        for i in (0, 1):
            j = 1 - i
            if (
                q.nodes[i] == msg.dst
                and q.nodes[j] == msg.src
                and q.epochs[j] < msg.epoch
                and (q.status[i] in LIVE or q.status[i] is _E.INCOMING)
                and q.swapper != msg.src
            ):
                q = replace(q, status=set_end(q.status, i, _E.DISCARDED))
        if q is not p:
            s = put(s, q)
    return s
