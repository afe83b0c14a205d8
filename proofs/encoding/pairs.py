"""Encodings of generate_link and receive (spec §3.3–§3.4; model: ``rules_pairs``).

Each encoding mirrors its model rule line by line: guard first (every conjunct the model checks
before it raises ``NotEnabled``), then the effect as a post-state that shares every field the
action does not write. Planted bugs (:class:`~pqms_model.protocol.mutants.Mutant`) are mirrored
where the model has them.
"""

from __future__ import annotations

from typing import Any

import z3

from pqms_model.proofs.encoding.codes import KIND, NONE, STATUS
from pqms_model.proofs.encoding.core import (
    Ctx,
    Effect,
    Params,
    add_at,
    end_of,
    is_live,
    lookup_swapper,
    merge,
    send,
    set_end,
    set_pair,
)
from pqms_model.proofs.encoding.state import SymState
from pqms_model.protocol.state import EndStatus, MsgKind

__all__ = ["enc_generate_link", "enc_receive", "up"]

_E = EndStatus
S_ = STATUS


def up(s: SymState, n: Any) -> Any:
    """``ModelCore.up``: a known node that is not down."""
    return z3.And(s.c.node_ok(n), z3.Not(s.at("ndown", n)))


def learn(s: SymState, pid: Any, i: Any) -> SymState:
    """``ModelCore.learn``: end ``i`` is READY, known since now."""
    s = set_end(s, pid, "s", i, S_[_E.READY])
    return set_end(s, pid, "k", i, s["now"])


def enc_generate_link(s: SymState, a: Params, ctx: Ctx) -> Effect:
    c, r, hop, now = s.c, a.route, a.hop, s["now"]
    u, v = s.path(hop, r), s.path(hop + 1, r)
    link = c.link(u, v)
    guard = [
        s.r("ex", r),
        s.r("active", r),
        hop >= 0,
        hop < s.r("len", r) - 1,
        z3.Not(s.at("ldown", link)),
        up(s, u),
        up(s, v),
        s.known(u, r),
        s.known(v, r),
    ]
    if ctx.protocol.generation_needs_free_memory:
        guard += [s.at("memory_used", n) <= c.cap(n) - 1 for n in (u, v)]
    pid, pool = s["next_id"], s.r("pool", r)
    swapper = lookup_swapper(s, r, hop, hop + 1)
    delta = z3.If(swapper == NONE, c.gen_delta(u, v, pool), c.gen_delta_mid(u, v, pool))
    post = set_pair(
        s, pid, ex=True, n0=u, n1=v, q0=pid + 1, q1=pid + 2, s0=S_[_E.PENDING], s1=S_[_E.READY],
        e0=s.at("epoch", u), e1=s.at("epoch", v), pool=pool, route=r, i=hop, j=hop + 1,
        swapper=swapper, cost=c.gen_cost(u, v), stamp=now,
        deadline=now + delta, k0=NONE, k1=now, cn0=v, ct0=now, cn1=v, ct1=now, consumed=0,
    )  # fmt: skip
    post = add_at(add_at(post, "memory_used", u, 1), "memory_used", v, 1)
    post = post.set({"next_id": pid + 3})
    post, mid = send(post, MsgKind.HERALD, v, u, pair=pid)
    return Effect(guard, post, pairs=[pid], routes=[r], new_msgs=[mid])


def enc_receive(s: SymState, a: Params, ctx: Ctx) -> Effect:
    mid, now = a.msg, s["now"]
    kind, dst, src = s.m("kind", mid), s.m("dst", mid), s.m("src", mid)
    guard = [s.m("ex", mid), kind != KIND[MsgKind.BITS], up(s, dst), now >= s.m("arrive", mid)]
    base = s.set({"m_ex": z3.Store(s["m_ex"], mid, False)})
    pid, new = s.m("pair", mid), s.m("new", mid)
    k = end_of(s, pid, dst)
    carried = s.pe("s", k, pid)
    # a swap notice waits while the half it hands on is itself still incoming (an earlier
    # notice for it has not been taken yet)
    guard.append(z3.Implies(kind == KIND[MsgKind.SWAP_DONE], carried != S_[_E.INCOMING]))

    # ROUTE: the destination now knows the route
    rid = s.m("route", mid)
    known = z3.Select(base["r_known"], rid)
    on_route = base.set({"r_known": z3.Store(base["r_known"], rid, z3.Store(known, dst, True))})
    # LINK_STATE: newer news overwrites the destination's view
    li, seq = s.m("link", mid), s.m("seq", mid)
    row = z3.Select(base["view"], dst)
    newer = z3.Store(row, li, z3.If(base.view(dst, li) < seq, seq, base.view(dst, li)))
    on_link = base.set({"view": z3.Store(base["view"], dst, newer)})
    on_reset = _reset(base, src, dst, s.m("epoch", mid), ctx)
    # SWAP_DONE: the new pair's end here inherits the old pair's qubit, if still live and the
    # new pair's far half does not predate a crash this node has heard of
    i = end_of(s, new, dst)
    incoming = s.pe("s", i, new) == S_[_E.INCOMING]
    merged = learn(set_end(base, pid, "s", k, S_[_E.MERGED]), new, i)
    far = s.pe("n", 1 - i, new)
    stale = z3.And(s.pe("e", 1 - i, new) < s.heard(dst, far), s.p("swapper", new) != far)
    dropped = set_end(set_end(base, pid, "s", k, S_[_E.DISCARDED]), new, "s", i, S_[_E.DISCARDED])
    dropped = add_at(dropped, "memory_used", dst, -1)
    on_swap = merge(
        incoming,
        merge(
            is_live(carried),
            merge(stale, dropped, merged),
            set_end(base, new, "s", i, carried),
        ),
        base,
    )
    # PURIFY_RESULT and HERALD: a pending end learns (or, on a failed round, is discarded)
    j = end_of(s, pid, dst)
    pending = s.pe("s", j, pid) == S_[_E.PENDING]
    failed = add_at(set_end(base, pid, "s", j, S_[_E.DISCARDED]), "memory_used", dst, -1)
    on_purify = merge(pending, merge(s.m("ok", mid), learn(base, pid, j), failed), base)
    on_herald = merge(pending, learn(base, pid, j), base)
    post = on_herald
    for kd, st in (
        (MsgKind.PURIFY_RESULT, on_purify),
        (MsgKind.SWAP_DONE, on_swap),
        (MsgKind.RESET, on_reset),
        (MsgKind.LINK_STATE, on_link),
        (MsgKind.ROUTE, on_route),
    ):
        post = merge(kind == KIND[kd], st, post)
    return Effect(guard, post, pairs=[pid, new], msgs=[mid], routes=[rid])


def _reset(s: SymState, src: Any, dst: Any, epoch: Any, ctx: Ctx) -> SymState:
    """``_receive_reset``: halves here shared with ``src``'s older epochs are discarded, except
    those ``src`` was to swap."""
    x = z3.Int(f"{ctx.tag}.x")

    def hit(i: int, pid: Any) -> Any:
        j = 1 - i
        st = s.p(f"s{i}", pid)
        return z3.And(
            s.p("ex", pid), s.p(f"n{i}", pid) == dst, s.p(f"n{j}", pid) == src,
            s.p(f"e{j}", pid) < epoch, z3.Or(is_live(st), st == S_[_E.INCOMING]),
            s.p("swapper", pid) != src,  # a half src was to swap stays (its notice may come)
        )  # fmt: skip

    ups = {
        f"p_s{i}": z3.Lambda([x], z3.If(hit(i, x), S_[_E.DISCARDED], s.p(f"s{i}", x)))
        for i in (0, 1)
    }
    if ctx.exact_ids is not None:  # a concrete pre-state: count the live halves it discards
        gone: Any = z3.Sum([z3.If(z3.And(hit(i, p), is_live(s.p(f"s{i}", p))), 1, 0)
                            for p in ctx.exact_ids for i in (0, 1)] or [z3.IntVal(0)])  # fmt: skip
    else:  # unbounded pairs: a cardinality, bounded by the counter (an over-approximation)
        gone = ctx.fresh("discarded")
        ctx.side.append(z3.And(gone >= 0, gone <= s.at("memory_used", dst)))
    row = z3.Select(s["heard"], dst)
    newer = z3.Store(row, src, z3.If(s.heard(dst, src) < epoch, epoch, s.heard(dst, src)))
    ups["heard"] = z3.Store(s["heard"], dst, newer)
    return add_at(s.set(ups), "memory_used", dst, -gone)
