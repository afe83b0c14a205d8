"""Encodings of the environment actions (spec §4; model: ``rules_environment``): time, link
and node faults, classical delay. The protocol must stay safe whatever they do.
"""

from __future__ import annotations

from typing import Any

import z3

from pqms_model.proofs.encoding.codes import KIND, NONE, STATUS
from pqms_model.proofs.encoding.core import _MSG_DEFAULTS, Ctx, Effect, Params, is_live, merge, send
from pqms_model.proofs.encoding.pairs import up
from pqms_model.proofs.encoding.state import MSG_FIELDS, SymState
from pqms_model.protocol.state import LIVE, EndStatus, MsgKind

__all__ = [
    "enc_advance_time",
    "enc_crash",
    "enc_delay_message",
    "enc_link_down",
    "enc_link_up",
    "enc_recover",
]

assert EndStatus.INCOMING not in LIVE  # crash and reset also clear INCOMING ends, as the model


def enc_advance_time(s: SymState, a: Params, ctx: Ctx) -> Effect:
    guard = [a.dt >= 1, a.dt <= s.c.max_advance]
    return Effect(guard, s.set({"now": s["now"] + a.dt}))


def _link_change(s: SymState, a: Params, down: bool) -> Effect:
    c, li = s.c, a.link
    guard = [li >= 0, li < c.L, s.at("ldown", li) != down]
    seq = s.at("lseq", li) + 1
    ea, eb = c.link_a(li), c.link_b(li)
    view = s["view"]
    for end in (ea, eb):  # the link's two ends see the change at once
        view = z3.Store(view, end, z3.Store(z3.Select(view, end), li, seq))
    post = s.set(
        {"ldown": z3.Store(s["ldown"], li, down), "lseq": z3.Store(s["lseq"], li, seq),
         "view": view}
    )  # fmt: skip
    a_up, b_up = z3.Not(s.at("ndown", ea)), z3.Not(s.at("ndown", eb))
    teller = z3.If(a_up, ea, eb)
    told = post
    for k in range(c.N - 2):  # the others, in scenario order, by a message from an up end
        told, _ = send(told, MsgKind.LINK_STATE, teller, c.other(li, k), pair=NONE, link=li,
                       seq=seq)  # fmt: skip
    post = merge(z3.Or(a_up, b_up), told, post)
    return Effect(guard, post)  # LINK_STATE never witnesses an existential: no new_msgs


def enc_link_down(s: SymState, a: Params, ctx: Ctx) -> Effect:
    return _link_change(s, a, True)


def enc_link_up(s: SymState, a: Params, ctx: Ctx) -> Effect:
    return _link_change(s, a, False)


def enc_crash(s: SymState, a: Params, ctx: Ctx) -> Effect:
    """Every live or incoming end at the node is LOST; its memory counter drops to zero."""
    node = a.node
    x = z3.Int(f"{ctx.tag}.x")

    def lost(i: int) -> Any:
        st = s.p(f"s{i}", x)
        hit = z3.And(s.p("ex", x), s.p(f"n{i}", x) == node,
                     z3.Or(is_live(st), st == STATUS[EndStatus.INCOMING]))  # fmt: skip
        return z3.Lambda([x], z3.If(hit, STATUS[EndStatus.LOST], st))

    ups = {
        "p_s0": lost(0), "p_s1": lost(1), "ndown": z3.Store(s["ndown"], node, True),
        "memory_used": z3.Store(s["memory_used"], node, 0),
    }  # fmt: skip
    return Effect([up(s, node)], s.set(ups))


def enc_recover(s: SymState, a: Params, ctx: Ctx) -> Effect:
    """The node restarts with a new epoch and sends RESET to every other node, then re-announces
    the state of each of its links that ever changed (LINK_STATE to the links' other nodes)."""
    c, node = s.c, a.node
    guard = [c.node_ok(node), s.at("ndown", node)]
    e = s.at("epoch", node) + 1
    post = s.set(
        {"ndown": z3.Store(s["ndown"], node, False), "epoch": z3.Store(s["epoch"], node, e)}
    )
    new_msgs = []
    for k in range(c.N - 1):  # the k-th other node, in scenario order
        dst = z3.If(node <= k, k + 1, k)
        post, mid = send(post, MsgKind.RESET, node, dst, pair=NONE, epoch=e)
        new_msgs.append(mid)
    return Effect(guard, _announce(post, node, ctx), new_msgs=new_msgs)


def _announce(s: SymState, node: Any, ctx: Ctx) -> SymState:
    """Re-announce each of the node's links that ever changed, as the model: per such link, a
    LINK_STATE to each of its N - 2 other nodes, in scenario order. The same as a conditional
    ``send`` per link and message, written as one array term per message field (the k-th
    message for a link has id ``at + k``, ``at`` the first id after the earlier links'), which
    Z3 handles far faster than nested conditional stores. Not in ``new_msgs``: LINK_STATE never
    witnesses an existential."""
    c, now, x = s.c, s["now"], z3.Int(f"{ctx.tag}.y")
    n = c.N - 2
    at = s["next_id"]
    cases = []
    for li in range(c.L if n > 0 else 0):  # two nodes: a link has no other node to tell
        seq = s.at("lseq", li)
        sends = z3.And(z3.Or(node == c.link_a(li), node == c.link_b(li)), seq > 0)
        # the k-th message goes to the link's k-th other node: an If over k of the table's
        # entries (not ``c.other(li, x - at)``: a table read at a symbolic argument, which
        # the solver must case-split to find the entry, and whose range it does not know)
        dsts = [c.other(li, k) for k in range(n)]

        def by_k(vals: list[Any], at: Any = at) -> Any:
            out = vals[-1]
            for k in range(n - 2, -1, -1):
                out = z3.If(x - at == k, vals[k], out)
            return out

        rec = {**_MSG_DEFAULTS, "ex": True, "kind": KIND[MsgKind.LINK_STATE], "src": node,
               "dst": by_k(dsts), "sent": now,
               "arrive": now + by_k([c.light(node, d) for d in dsts]), "pair": NONE,
               "link": li, "seq": seq}  # fmt: skip
        cases.append((z3.And(sends, at <= x, x < at + n), rec))
        at = at + z3.If(sends, n, 0)
    ups: dict[str, Any] = {"next_id": at}
    for f in MSG_FIELDS:
        val = s[f"m_{f}"][x]
        for hit, rec in reversed(cases):
            val = z3.If(hit, rec[f], val)
        ups[f"m_{f}"] = z3.Lambda([x], val)
    return s.set(ups)


def enc_delay_message(s: SymState, a: Params, ctx: Ctx) -> Effect:
    mid = a.msg
    guard = [s.m("ex", mid), a.extra >= 1, a.extra <= s.c.max_advance]
    post = s.set({"m_arrive": z3.Store(s["m_arrive"], mid, s.m("arrive", mid) + a.extra)})
    return Effect(guard, post, msgs=[mid])
