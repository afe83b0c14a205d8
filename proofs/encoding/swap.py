"""Encodings of swap and purify (spec §3.5; model: ``rules_pairs.swap`` / ``purify``).

A swap joins two READY halves at the schedule's swapper into a new pair whose cost is the sum
of the two costs at swap time (Werner ``w = w1 * w2``) plus the gate's; its far ends stay
INCOMING until the swap's message arrives. Purification keeps one pair (both ends PENDING until
the partner's parity arrives) and consumes the other.
"""

from __future__ import annotations

import z3

from pqms_model.proofs.encoding.codes import NONE, STATUS
from pqms_model.proofs.encoding.core import (
    Ctx,
    Effect,
    Params,
    add_at,
    end_of,
    is_live,
    lookup_swapper,
    send,
    set_end,
    set_pair,
)
from pqms_model.proofs.encoding.pairs import up
from pqms_model.proofs.encoding.state import SymState
from pqms_model.protocol.state import EndStatus, MsgKind

__all__ = ["enc_purify", "enc_swap"]

_E = EndStatus
S_ = STATUS


def enc_swap(s: SymState, a: Params, ctx: Ctx) -> Effect:
    node, t, left, right = a.node, s["now"], a.pair1, a.pair2
    il, ir = end_of(s, left, node), end_of(s, right, node)
    guard = [up(s, node), left != right, s.p("ex", left), s.p("ex", right)]
    for p, i in ((left, il), (right, ir)):
        guard += [
            z3.Or(s.p("n0", p) == node, s.p("n1", p) == node),
            s.pe("s", i, p) == S_[_E.READY],
            t <= s.p("deadline", p),
        ]
        if ctx.protocol.swap_only_at_scheduled_node:
            guard.append(s.p("swapper", p) == node)
    guard.append(s.p("route", left) == s.p("route", right))
    seg_l = z3.If(il == 0, s.p("j", left), s.p("i", left))  # segment index of the far end
    seg_r = z3.If(ir == 0, s.p("j", right), s.p("i", right))
    x, y = s.pe("n", 1 - il, left), s.pe("n", 1 - ir, right)
    guard.append(z3.And(x != y, seg_l != seg_r))
    lo, hi = z3.If(seg_l <= seg_r, seg_l, seg_r), z3.If(seg_l <= seg_r, seg_r, seg_l)
    flip = seg_l > seg_r  # keep path order: the first end of the new pair is nearer the sender
    a_id, b_id = z3.If(flip, right, left), z3.If(flip, left, right)
    ia, ib = z3.If(flip, ir, il), z3.If(flip, il, ir)
    cost = ctx.cost_at(s, left, t) + ctx.cost_at(s, right, t) + s.c.gate_cost
    pid, route, pool = s["next_id"], s.p("route", a_id), s.p("pool", a_id)
    news, known = [], []
    for p, i in ((a_id, ia), (b_id, ib)):
        st = s.pe("s", 1 - i, p)
        if not ctx.protocol.far_ends_wait_for_swap_notice:
            news.append(z3.If(is_live(st), S_[_E.READY], st))
            known.append(z3.If(is_live(st), t, NONE))
        else:
            news.append(z3.If(is_live(st), S_[_E.INCOMING], st))
            known.append(z3.IntVal(NONE))
    xa, yb = s.pe("n", 1 - ia, a_id), s.pe("n", 1 - ib, b_id)
    swapper = lookup_swapper(s, route, lo, hi)
    own = ctx.deadline(xa, yb, cost, t, pool, swapper == NONE)
    dl, dr = s.p("deadline", left), s.p("deadline", right)
    deadline = z3.If(own <= dl, z3.If(own <= dr, own, dr), z3.If(dl <= dr, dl, dr))  # the min
    post = set_pair(
        s, pid, ex=True, n0=xa, n1=yb, q0=s.pe("q", 1 - ia, a_id), q1=s.pe("q", 1 - ib, b_id),
        s0=news[0], s1=news[1], e0=s.pe("e", 1 - ia, a_id), e1=s.pe("e", 1 - ib, b_id),
        pool=pool, route=route, i=lo, j=hi, swapper=swapper, cost=cost,
        stamp=t, deadline=deadline, k0=known[0], k1=known[1],
        cn0=node, ct0=t, cn1=node, ct1=t, consumed=0,
    )  # fmt: skip
    for p, i in ((a_id, ia), (b_id, ib)):
        post = set_end(post, p, "s", i, S_[_E.SWAPPED])
        post = set_pair(post, p, consumed=post.p("consumed", p) + 1)
        if not ctx.protocol.far_ends_wait_for_swap_notice:
            far = post.pe("s", 1 - i, p)
            post = set_end(post, p, "s", 1 - i, z3.If(is_live(far), S_[_E.MERGED], far))
    post = add_at(post, "memory_used", node, -2)
    post = post.set({"next_id": pid + 1})
    post, m1 = send(post, MsgKind.SWAP_DONE, node, xa, pair=a_id, new=pid)
    post, m2 = send(post, MsgKind.SWAP_DONE, node, yb, pair=b_id, new=pid)
    return Effect(guard, post, pairs=[left, right, pid], routes=[route], new_msgs=[m1, m2])


def enc_purify(s: SymState, a: Params, ctx: Ctx) -> Effect:
    t, keep, sac = s["now"], a.pair1, a.pair2
    same = z3.Or(
        z3.And(s.p("n0", keep) == s.p("n0", sac), s.p("n1", keep) == s.p("n1", sac)),
        z3.And(s.p("n0", keep) == s.p("n1", sac), s.p("n1", keep) == s.p("n0", sac)),
    )
    guard = [keep != sac, s.p("ex", keep), s.p("ex", sac), same]
    for p in (keep, sac):
        guard += [s.p("swapper", p) == NONE, t <= s.p("deadline", p)]
        for i in (0, 1):
            guard += [up(s, s.p(f"n{i}", p)), s.p(f"s{i}", p) == S_[_E.READY]]
    guard.append(s.p("pool", keep) == s.p("pool", sac))
    n0, n1, pool = s.p("n0", keep), s.p("n1", keep), s.p("pool", keep)
    cost = z3.If(a.success, ctx.purified_cost(a.pcost), ctx.cost_at(s, keep, t))
    post = set_pair(
        s, keep, s0=S_[_E.PENDING], s1=S_[_E.PENDING], cost=cost, stamp=t,
        deadline=ctx.deadline(n0, n1, cost, t, pool, True), k0=NONE, k1=NONE, cn0=n1, ct0=t, cn1=n0,
        ct1=t,
    )  # fmt: skip
    post = set_pair(
        post, sac, s0=S_[_E.CONSUMED], s1=S_[_E.CONSUMED], consumed=s.p("consumed", sac) + 1
    )
    post = add_at(
        add_at(post, "memory_used", s.p("n0", sac), -1), "memory_used", s.p("n1", sac), -1
    )
    post, m1 = send(post, MsgKind.PURIFY_RESULT, n0, n1, pair=keep, ok=a.success)
    post, m2 = send(post, MsgKind.PURIFY_RESULT, n1, n0, pair=keep, ok=a.success)
    return Effect(guard, post, pairs=[keep, sac], new_msgs=[m1, m2])
