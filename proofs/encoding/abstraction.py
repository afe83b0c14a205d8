"""The abstraction function (spec/proofs.md §4): a model ``State`` as values of the encoding.

:func:`alpha` maps a concrete state to the fields of :mod:`pqms_model.proofs.encoding.state`: a
scalar as a Python value, an array as ``{index: value}`` (per node, link or pool over every index;
per id over the ids that hold a pair, message or route), a nested array as ``{index: {index:
value}}``. :func:`concrete` turns that into a :class:`~pqms_model.proofs.encoding.state.SymState`
of Z3 literals. The ghost counters are computed here from their definitions (live ends per node,
active routes per pool), so conformance checks them too.
"""

from __future__ import annotations

from typing import Any

import z3

from pqms_model.proofs.encoding.codes import KIND, NONE, OUTCOME, SCHED, STATUS
from pqms_model.proofs.encoding.consts import Consts
from pqms_model.proofs.encoding.state import FIELDS, PAIR_FIELDS, SymState
from pqms_model.protocol.state import State

__all__ = ["Abstract", "alpha", "concrete"]

Abstract = dict[str, Any]
"""Field name -> value, ``{index: value}`` or ``{index: {index: value}}``."""


def alpha(c: Consts, s: State) -> Abstract:
    ix, nodes, links = c.index, range(c.N), range(c.L)
    v: Abstract = {"now": s.now_us, "next_id": s.next_id, "deliveries": s.deliveries}
    d = s.last_delivery
    v["ld_some"] = d is not None
    v.update({"ld_pair": 0, "ld_sender": 0, "ld_receiver": 0, "ld_send": 0, "ld_deliver": 0,
              "ld_cost": 0, "ld_threshold": 0, "ld_outcome": 0, "ld_lost": False})  # fmt: skip
    if d is not None:
        v.update({
            "ld_pair": d.pair, "ld_sender": ix[d.sender], "ld_receiver": ix[d.receiver],
            "ld_send": d.send_us, "ld_deliver": d.deliver_us, "ld_cost": d.cost_nnp,
            "ld_threshold": d.threshold_nnp, "ld_outcome": OUTCOME[d.outcome],
            "ld_lost": d.half_lost,
        })  # fmt: skip
    v["ndown"] = {n: c.names[n] in s.nodes_down for n in nodes}
    v["epoch"] = {n: s.epoch[c.names[n]] for n in nodes}
    v["memory_used"] = {n: s.memory_used[c.names[n]] for n in nodes}
    v["ldown"] = {li: li in s.links_down for li in links}
    v["lseq"] = {li: s.link_seq.get(li, 0) for li in links}
    v["view"] = {n: {li: s.view[c.names[n]].get(li, 0) for li in links} for n in nodes}
    v["heard"] = {n: {o: s.heard_epoch[c.names[n]].get(c.names[o], 0) for o in nodes}
                  for n in nodes}  # fmt: skip
    v["nroutes"] = {p: sum(1 for r in s.routes.values() if r.pool == p and r.active)
                    for p in range(c.P)}  # fmt: skip
    for f in FIELDS:
        if f[:2] in ("p_", "m_", "r_"):
            v[f] = {}
    for pid, p in s.pairs.items():
        rec = {
            "ex": True, "n0": ix[p.nodes[0]], "n1": ix[p.nodes[1]], "q0": p.qubits[0],
            "q1": p.qubits[1], "s0": STATUS[p.status[0]], "s1": STATUS[p.status[1]],
            "e0": p.epochs[0], "e1": p.epochs[1], "pool": p.pool, "route": p.route,
            "i": p.segment[0], "j": p.segment[1],
            "swapper": NONE if p.swapper is None else ix[p.swapper], "cost": p.cost_nnp,
            "stamp": p.stamp_us, "deadline": p.deadline_us, "k0": p.known_us[0],
            "k1": p.known_us[1], "cn0": ix[p.cause[0][0]], "ct0": p.cause[0][1],
            "cn1": ix[p.cause[1][0]], "ct1": p.cause[1][1], "consumed": p.consumed,
        }  # fmt: skip
        assert tuple(rec) == PAIR_FIELDS
        for f, x in rec.items():
            v[f"p_{f}"][pid] = x
    for mid, m in s.messages.items():
        rec = {
            "ex": True, "kind": KIND[m.kind], "src": ix[m.src], "dst": ix[m.dst],
            "sent": m.sent_us, "arrive": m.arrive_us, "pair": m.pair, "new": m.new_pair,
            "ok": m.ok, "epoch": m.epoch, "cost": m.cost_nnp, "link": m.link, "seq": m.seq,
            "route": m.route,
        }  # fmt: skip
        for f, x in rec.items():
            v[f"m_{f}"][mid] = x
    for rid, r in s.routes.items():
        path = [ix[n] for n in r.path] + [NONE] * (c.N - len(r.path))
        rrec: dict[str, Any] = {
            "ex": True, "pool": r.pool, "len": len(r.path), "sched": SCHED[r.schedule],
            "chosen": r.chosen_us, "active": r.active, "path": dict(enumerate(path)),
            "known": {n: c.names[n] in r.known_by for n in nodes},
            "bdown": {li: li in r.believed_down for li in links},
        }  # fmt: skip
        for f, x in rrec.items():
            v[f"r_{f}"][rid] = x
    return v


_LITS: dict[Any, Any] = {}


def _lit(x: Any) -> Any:
    key = (type(x), x)
    if key not in _LITS:
        _LITS[key] = z3.BoolVal(x) if isinstance(x, bool) else z3.IntVal(x)
    return _LITS[key]


def _store(a: Any, i: int, v: Any) -> Any:
    """``Store(a, i, v)`` through the C API (the Python wrapper's checks dominate otherwise)."""
    ctx = a.ctx
    return z3.ArrayRef(z3.Z3_mk_store(ctx.ref(), a.as_ast(), _lit(i).as_ast(), v.as_ast()), ctx)


def _default(srt: Any, field: str) -> Any:
    if srt == z3.BoolSort():
        return z3.BoolVal(False)
    return z3.IntVal(NONE if field == "r_path" else 0)


def _array(entries: dict[int, Any], srt: Any, field: str) -> Any:
    """``entries`` as a Z3 array of sort ``srt`` (stores over a constant default)."""
    a: Any = z3.K(z3.IntSort(), _default(srt.range(), field) if not isinstance(
        srt.range(), z3.ArraySortRef) else _array({}, srt.range(), field))  # fmt: skip
    for i, x in sorted(entries.items()):
        a = _store(a, i, _array(x, srt.range(), field) if isinstance(x, dict) else _lit(x))
    return a


_SORTS: dict[str, Any] = {}


def concrete(c: Consts, ab: Abstract) -> SymState:
    """The abstract state as Z3 literals."""
    if not _SORTS:
        _SORTS.update({f: t.sort() for f, t in SymState.fresh(c, "_").items()})
    out = {f: _array(x, _SORTS[f], f) if isinstance(x, dict) else _lit(x) for f, x in ab.items()}
    return SymState(c, out, simplify=True)
