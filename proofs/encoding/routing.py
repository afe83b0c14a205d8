"""Encodings of choose_route and drop_route (spec §3.2; model: ``rules_routing``).

A path is a tuple of node parameters ``path[0..N-1]`` with a length ``plen``; positions past the
end are NONE, so a route record is canonical. In the proofs the path is arbitrary (any simple
path along links from the pool's sender to its receiver); BMC restricts it to the model's
candidate paths (``Model.route_paths``).
"""

from __future__ import annotations

from typing import Any

import z3

from pqms_model.proofs.encoding.codes import NONE
from pqms_model.proofs.encoding.core import Ctx, Effect, Params, add_at, merge, send
from pqms_model.proofs.encoding.pairs import up
from pqms_model.proofs.encoding.state import SymState
from pqms_model.protocol.state import MsgKind

__all__ = ["enc_choose_route", "enc_drop_route"]


def enc_choose_route(s: SymState, a: Params, ctx: Ctx) -> Effect:
    c, pool, path, n = s.c, a.pool, a.path, a.plen
    sender, receiver = c.pool_a(pool), c.pool_b(pool)
    guard = [pool >= 0, pool < c.P, up(s, sender), z3.Or(a.sched == 0, a.sched == 1)]
    guard += [n >= 2, n <= c.N, path[0] == sender]
    for k in range(c.N):
        guard.append(z3.If(k < n, c.node_ok(path[k]), path[k] == NONE))
        guard.append(z3.Implies(n == k + 1, path[k] == receiver))
        guard += [z3.Implies(k2 < n, path[k] != path[k2]) for k2 in range(k + 1, c.N)]
    for k in range(c.N - 1):
        link = c.link(path[k], path[k + 1])
        guard.append(z3.Implies(k + 1 < n, link != NONE))
        if ctx.protocol.route_avoids_believed_down:
            guard.append(z3.Implies(k + 1 < n, s.view(sender, link) % 2 == 0))
    guard.append(s.at("nroutes", pool) < c.max_routes)
    rid, now = s["next_id"], s["now"]
    bdown: Any = z3.K(z3.IntSort(), z3.BoolVal(False))
    for li in range(c.L):  # the links the sender believed down (an odd sequence number)
        bdown = z3.Store(bdown, li, s.view(sender, li) % 2 == 1)
    row: Any = z3.K(z3.IntSort(), z3.IntVal(NONE))
    for k in range(c.N):
        row = z3.Store(row, k, path[k])
    ups: dict[str, Any] = {
        "r_ex": True, "r_pool": pool, "r_len": n, "r_sched": a.sched, "r_chosen": now,
        "r_active": True, "r_path": row,
        "r_known": z3.Store(z3.K(z3.IntSort(), z3.BoolVal(False)), sender, True),
        "r_bdown": bdown,
    }  # fmt: skip
    post = s.set({f: z3.Store(s[f], rid, v) for f, v in ups.items()})
    post = add_at(post, "nroutes", pool, 1)
    post = post.set({"next_id": rid + 1})
    for k in range(1, c.N):
        sent, _ = send(post, MsgKind.ROUTE, sender, path[k], pair=NONE, route=rid)
        post = merge(k < n, sent, post)
    return Effect(guard, post, routes=[rid])  # ROUTE never witnesses an existential


def enc_drop_route(s: SymState, a: Params, ctx: Ctx) -> Effect:
    c, r = s.c, a.route
    pool = s.r("pool", r)
    guard = [s.r("ex", r), up(s, c.pool_a(pool)), s.r("active", r)]
    post = s.set({"r_active": z3.Store(s["r_active"], r, False)})
    post = add_at(post, "nroutes", pool, -1)
    return Effect(guard, post, routes=[r])
