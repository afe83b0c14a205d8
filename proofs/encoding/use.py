"""Encodings of admit, expire, use_pair and deliver (spec §3.6; model: ``rules_pairs``).

The use's two checks are where the whitepaper's claim meets physics: the sender predicts the
cost at the receiver's correction (send time + light time) before it uses a pair, and the
receiver's correction happens only when the bits have arrived (a message never arrives before
send time + light time). ``deliver`` records the ghost ``last_delivery`` every safety invariant
about uses reads.
"""

from __future__ import annotations

import z3

from pqms_model.proofs.encoding.codes import KIND, NONE, OUTCOME, STATUS
from pqms_model.proofs.encoding.core import (
    Ctx,
    Effect,
    Params,
    add_at,
    end_of,
    is_live,
    send,
    set_end,
)
from pqms_model.proofs.encoding.pairs import up
from pqms_model.proofs.encoding.state import SymState
from pqms_model.protocol.settings import Expiry, SenderCheck, Senders
from pqms_model.protocol.state import EndStatus, MsgKind, Outcome

__all__ = ["enc_admit", "enc_deliver", "enc_expire", "enc_use_pair"]

_E = EndStatus
S_ = STATUS


def _has_end(s: SymState, pid: object, node: object) -> object:
    return z3.Or(s.p("n0", pid) == node, s.p("n1", pid) == node)


def enc_admit(s: SymState, a: Params, ctx: Ctx) -> Effect:
    p, node, now = a.pair1, a.node, s["now"]
    i = end_of(s, p, node)
    st = s.pe("s", i, p)
    ok = st == S_[_E.READY]
    if not ctx.protocol.admit_only_known_ready:
        ok = z3.Or(ok, st == S_[_E.PENDING])
    guard = [
        up(s, node), s.p("ex", p), _has_end(s, p, node), ok, s.p("swapper", p) == NONE,
        now <= s.p("deadline", p),
    ]  # fmt: skip
    known = s.pe("k", i, p)
    post = set_end(s, p, "s", i, S_[_E.POOLED])
    post = set_end(post, p, "k", i, z3.If(known >= 0, known, now))
    return Effect(guard, post, pairs=[p])


def enc_expire(s: SymState, a: Params, ctx: Ctx) -> Effect:
    p, node, now = a.pair1, a.node, s["now"]
    i = end_of(s, p, node)
    st = s.pe("s", i, p)
    c = s.c
    pool = s.p("pool", p)
    receiver_waits = z3.And(s.p("swapper", p) == NONE, node == c.pool_b(pool))
    until = s.p("deadline", p) + z3.If(receiver_waits, c.light(c.pool_a(pool), node), 0)
    due = z3.And(is_live(st), now > until)  # Model.expiry_us
    if ctx.protocol.expiry is Expiry.LOCAL_ANY_TIME:  # a local decision at any time
        due = z3.Or(st == S_[_E.POOLED], due)
    guard = [up(s, node), s.p("ex", p), _has_end(s, p, node), due]
    post = set_end(s, p, "s", i, S_[_E.DISCARDED])
    post = add_at(post, "memory_used", node, z3.If(is_live(st), -1, 0))
    return Effect(guard, post, pairs=[p])


def enc_use_pair(s: SymState, a: Params, ctx: Ctx) -> Effect:
    c, p, node, t = s.c, a.pair1, a.node, s["now"]
    i = end_of(s, p, node)
    pool = s.p("pool", p)
    receiver, th = s.pe("n", 1 - i, p), c.threshold(pool)
    cost = ctx.cost_at(s, p, t)
    guard = [up(s, node), s.p("ex", p), _has_end(s, p, node), s.pe("s", i, p) == S_[_E.POOLED]]
    if ctx.protocol.senders is Senders.POOL_SENDER:
        guard.append(node == c.pool_a(pool))
    if ctx.protocol.sender_check is SenderCheck.AT_SEND:
        guard.append(cost <= th)
    elif ctx.protocol.sender_check is SenderCheck.PREDICTED_AT_CORRECTION:
        predicted = cost + c.transit(node, receiver)
        guard += [t <= s.p("deadline", p), predicted <= th]
    reuse = not ctx.protocol.use_spends_the_half
    post = set_end(s, p, "s", i, S_[_E.POOLED] if reuse else S_[_E.SENT])
    post = post.set({"p_consumed": z3.Store(post["p_consumed"], p, s.p("consumed", p) + 1)})
    if not reuse:
        post = add_at(post, "memory_used", node, -1)
    post, mid = send(post, MsgKind.BITS, node, receiver, pair=p, cost=cost)
    if not ctx.protocol.bits_travel:  # "augenblicklich": the bits need no transit
        post = post.set({"m_arrive": z3.Store(post["m_arrive"], mid, t)})
    return Effect(guard, post, pairs=[p], new_msgs=[mid])


def enc_deliver(s: SymState, a: Params, ctx: Ctx) -> Effect:
    c, mid, t = s.c, a.msg, s["now"]
    dst, p = s.m("dst", mid), s.m("pair", mid)
    i = end_of(s, p, dst)
    st = s.pe("s", i, p)
    guard = [
        s.m("ex", mid), s.m("kind", mid) == KIND[MsgKind.BITS], up(s, dst),
        t >= s.m("arrive", mid), st != S_[_E.PENDING], st != S_[_E.INCOMING],
    ]  # fmt: skip
    th = c.threshold(s.p("pool", p))
    lost = z3.Not(is_live(st))
    cost = s.m("cost", mid) + ctx.decay(t - s.m("sent", mid), dst)
    stale = cost > th
    if not ctx.protocol.receiver_checks_threshold:
        stale = z3.BoolVal(False)
    lost_fails = z3.BoolVal(ctx.protocol.lost_half_reported)
    outcome = z3.If(
        z3.And(lost, lost_fails),
        OUTCOME[Outcome.FAILED_LOST],
        z3.If(stale, OUTCOME[Outcome.FAILED_STALE], OUTCOME[Outcome.DELIVERED]),
    )
    post = s.set(
        {
            "ld_some": z3.BoolVal(True), "ld_pair": p, "ld_sender": s.m("src", mid),
            "ld_receiver": dst, "ld_send": s.m("sent", mid), "ld_deliver": t, "ld_cost": cost,
            "ld_threshold": th, "ld_outcome": outcome, "ld_lost": lost,
            "m_ex": z3.Store(s["m_ex"], mid, False), "deliveries": s["deliveries"] + 1,
        }
    )  # fmt: skip
    new_st = z3.If(outcome == OUTCOME[Outcome.DELIVERED], S_[_E.RECEIVED], S_[_E.DISCARDED])
    post = set_end(post, p, "s", i, z3.If(lost, st, new_st))
    post = add_at(post, "memory_used", dst, z3.If(lost, 0, -1))
    return Effect(guard, post, pairs=[p], msgs=[mid])
