"""Protocol rules of the pool and its uses (spec A7-A10): admit, expire, use_pair, deliver.

Each is guard first (``NotEnabled`` names the failed conjunct), then effect.
"""

from __future__ import annotations

from dataclasses import replace

from pqms_model.errors import NotEnabled
from pqms_model.model.core import ModelCore, put, set_end, set_int
from pqms_model.physics.cost import decay_cost_nnp
from pqms_model.protocol.actions import (
    Admit,
    Deliver,
    Expire,
    UsePair,
)
from pqms_model.protocol.settings import Expiry, SenderCheck, Senders
from pqms_model.protocol.state import (
    LIVE,
    Delivery,
    EndStatus,
    MsgKind,
    Outcome,
    State,
)

__all__ = ["admit", "deliver", "expire", "use_pair"]

_E = EndStatus


def admit(m: ModelCore, s: State, a: Admit) -> State:
    who = a.name
    m.up(s, a.node, who)
    p = m.pair(s, a.pair, who)
    i = m.end(p, a.node, who)
    ok = (_E.READY,) if m.protocol.admit_only_known_ready else (_E.READY, _E.PENDING)
    if p.status[i] not in ok:
        raise NotEnabled(who, f"{a.node}'s half of pair {p.id} is {p.status[i].value}, not ready")
    if p.swapper is not None:
        raise NotEnabled(who, f"pair {p.id} is not end-to-end (swapper {p.swapper})")
    if s.now_us > p.deadline_us:
        raise NotEnabled(who, f"pair {p.id} is past its cut-off ({p.deadline_us} us)")
    known = p.known_us if p.known_us[i] >= 0 else set_int(p.known_us, i, s.now_us)
    return put(s, replace(p, status=set_end(p.status, i, _E.POOLED), known_us=known))


def expire(m: ModelCore, s: State, a: Expire) -> State:
    who = a.name
    m.up(s, a.node, who)
    p = m.pair(s, a.pair, who)
    i = m.end(p, a.node, who)
    local = m.protocol.expiry is Expiry.LOCAL_ANY_TIME and p.status[i] is _E.POOLED
    if not local:  # a local decision at any time (partner not told) needs no cut-off
        if p.status[i] not in LIVE:
            raise NotEnabled(who, f"{a.node}'s half of pair {p.id} is {p.status[i].value}")
        until = m.expiry_us(p, i)
        if s.now_us <= until:
            raise NotEnabled(who, f"{a.node} keeps pair {p.id} until {until} us (now {s.now_us})")
    return put(s, replace(p, status=set_end(p.status, i, _E.DISCARDED)))


def use_pair(m: ModelCore, s: State, a: UsePair) -> State:
    who, t = a.name, s.now_us
    m.up(s, a.node, who)
    p = m.pair(s, a.pair, who)
    i = m.end(p, a.node, who)
    if p.status[i] is not _E.POOLED:
        raise NotEnabled(who, f"{a.node}'s half of pair {p.id} is {p.status[i].value}, not pooled")
    pl = m.scenario.pools[p.pool]
    if a.node != pl.a and m.protocol.senders is Senders.POOL_SENDER:
        raise NotEnabled(who, f"pool {pl.a}->{pl.b} sends only from {pl.a}")
    receiver, th, cost = p.other(i), pl.threshold_nnp, m.cost_at(p, t)
    check = m.protocol.sender_check
    if check is SenderCheck.AT_SEND:
        if cost > th:
            raise NotEnabled(who, f"cost {cost} nnp at send exceeds threshold {th}")
    elif check is SenderCheck.PREDICTED_AT_CORRECTION:
        if t > p.deadline_us:
            raise NotEnabled(who, f"pair {p.id} is past its cut-off ({p.deadline_us} us)")
        predicted = cost + m.transit_decay(a.node, receiver)
        if predicted > th:
            raise NotEnabled(
                who, f"predicted cost {predicted} nnp at the receiver's correction exceeds {th}"
            )
    # Effect: Bell measurement on (input, own half); two bits go to the receiver.
    st = _E.SENT if m.protocol.use_spends_the_half else _E.POOLED
    s = put(s, replace(p, status=set_end(p.status, i, st), consumed=p.consumed + 1))
    s = m.send(s, MsgKind.BITS, a.node, receiver, pair=p.id, cost_nnp=cost)
    if not m.protocol.bits_travel:  # "augenblicklich": the bits need no transit
        mid = s.next_id - 1
        s = replace(s, messages=s.messages.set(mid, replace(s.messages[mid], arrive_us=t)))
    return s


def deliver(m: ModelCore, s: State, a: Deliver) -> State:
    who, t = a.name, s.now_us
    msg = s.messages.get(a.msg)
    if msg is None:
        raise NotEnabled(who, f"no message {a.msg} in flight")
    if msg.kind is not MsgKind.BITS:
        raise NotEnabled(who, f"message {a.msg} is a {msg.kind.value} message: use receive")
    m.up(s, msg.dst, who)
    if t < msg.arrive_us:
        raise NotEnabled(who, f"message {a.msg} arrives at {msg.arrive_us} us, now {t}")
    p = s.pairs.get(msg.pair)
    i = -1 if p is None else p.end(msg.dst)
    if p is not None and p.status[i] in (_E.PENDING, _E.INCOMING):
        raise NotEnabled(
            who, f"{msg.dst} does not know pair {p.id} yet ({p.status[i].value}): the bits wait"
        )
    th = m.scenario.pools[p.pool].threshold_nnp if p is not None else 0
    # the receiver's half is gone when the pair, or its half here, is no longer live
    lost = p is None or p.status[i] not in LIVE
    cost = msg.cost_nnp + decay_cost_nnp(t - msg.sent_us, m._coh[msg.dst])
    if lost and m.protocol.lost_half_reported:
        outcome = Outcome.FAILED_LOST
    elif cost > th and m.protocol.receiver_checks_threshold:
        outcome = Outcome.FAILED_STALE
    else:
        outcome = Outcome.DELIVERED
    d = Delivery(msg.pair, msg.src, msg.dst, msg.sent_us, t, cost, th, outcome, lost)
    s = replace(s, messages=s.messages.delete(msg.id), last_delivery=d, deliveries=s.deliveries + 1)
    if p is not None and not lost:
        st = _E.RECEIVED if outcome is Outcome.DELIVERED else _E.DISCARDED
        s = put(s, replace(p, status=set_end(p.status, i, st)))
    return s
