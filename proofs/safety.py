"""The model's invariants, symbolically (spec §5; model: :mod:`pqms_model.invariants`).

One :class:`~pqms_model.proofs.properties.SymInvariant` per registry id (safety, type, and the
registry's own lemma ``message-light-bound``), each read off its model predicate clause by clause.
Over the encoding's never-retired records they are at least as strong as the model's (see
:mod:`pqms_model.proofs.encoding.state`). ``memory-capacity`` is stated on the ghost counter
``memory_used[n]`` plus its per-end half (a crashed node holds no live end).
"""

from __future__ import annotations

from typing import Any

import z3

from pqms_model.proofs.encoding.codes import OUTCOME, STATUS
from pqms_model.proofs.encoding.core import is_live
from pqms_model.proofs.encoding.state import SymState
from pqms_model.proofs.properties import Clause, SymInvariant, partner_ok, st_is, usable
from pqms_model.proofs.witness import Witness
from pqms_model.protocol.state import EndStatus, Outcome

__all__ = ["SAFETY"]

_E = EndStatus
W = Witness
S = SymState
DELIVERED = OUTCOME[Outcome.DELIVERED]


def _consumed_once(w: W, s: S, p: Any) -> Any:
    return z3.Implies(s.p("ex", p), s.p("consumed", p) <= 1)


def _qubits_own(w: W, s: S, p: Any) -> Any:
    both = z3.And(s.p("ex", p), is_live(s.p("s0", p)), is_live(s.p("s1", p)))
    return z3.Implies(both, s.p("q0", p) != s.p("q1", p))


def _qubits_apart(w: W, s: S, p: Any, q: Any) -> Any:
    out = []
    for i in (0, 1):
        for j in (0, 1):
            both = z3.And(is_live(s.p(f"s{i}", p)), is_live(s.p(f"s{j}", q)))
            out.append(z3.Implies(both, s.p(f"q{i}", p) != s.p(f"q{j}", q)))
    return z3.Implies(z3.And(s.p("ex", p), s.p("ex", q), p != q), z3.And(out))


def _fidelity(w: W, s: S) -> Any:
    used = z3.And(s["ld_some"], s["ld_outcome"] == DELIVERED)
    return z3.Implies(used, s["ld_cost"] <= s["ld_threshold"])


def _bits_in_time(w: W, s: S) -> Any:
    earliest = s["ld_send"] + s.c.light(s["ld_sender"], s["ld_receiver"])
    return z3.Implies(s["ld_some"], s["ld_deliver"] >= earliest)


def _usable_after_news(w: W, s: S, p: Any) -> Any:
    out = []
    for i in (0, 1):
        news = s.p(f"ct{i}", p) + s.c.light(s.p(f"cn{i}", p), s.p(f"n{i}", p))
        out.append(z3.Implies(usable(s.p(f"s{i}", p)), s.p(f"k{i}", p) >= news))
    return z3.Implies(s.p("ex", p), z3.And(out))


def _capacity(w: W, s: S) -> Any:
    c = s.c
    out = []
    for n in range(c.N):
        used = s.at("memory_used", n)
        out.append(z3.And(used <= c.cap(n), z3.Implies(s.at("ndown", n), used == 0)))
    return z3.And(out)


def _down_holds_nothing(w: W, s: S, p: Any) -> Any:
    out = [z3.Implies(is_live(s.p(f"s{i}", p)), z3.Not(s.at("ndown", s.p(f"n{i}", p))))
           for i in (0, 1)]  # fmt: skip
    return z3.Implies(s.p("ex", p), z3.And(out))


def _pool_consistent(w: W, s: S, p: Any) -> Any:
    out = [
        z3.Implies(st_is(s.p(f"s{i}", p), _E.POOLED), partner_ok(w, s, p, i, f"p{p}"))
        for i in (0, 1)
    ]
    return z3.Implies(s.p("ex", p), z3.And(out))


def _not_silent(w: W, s: S) -> Any:
    return z3.Implies(z3.And(s["ld_some"], s["ld_lost"]), s["ld_outcome"] != DELIVERED)


def _pool_well_formed(w: W, s: S, p: Any) -> Any:
    c, pool = s.c, s.p("pool", p)
    a, b = s.p("n0", p), s.p("n1", p)
    pa, pb = c.pool_a(pool), c.pool_b(pool)
    ends = z3.Or(z3.And(a == pa, b == pb), z3.And(a == pb, b == pa))
    pooled = z3.Or(st_is(s.p("s0", p), _E.POOLED), st_is(s.p("s1", p), _E.POOLED))
    return z3.Implies(z3.And(s.p("ex", p), pooled), z3.And(s.p("swapper", p) == -1, ends))


def _route_believed_up(w: W, s: S, r: Any) -> Any:
    c, out = s.c, []
    for k in range(c.N - 1):
        link = c.link(s.path(k, r), s.path(k + 1, r))
        out.append(z3.Implies(k + 1 < s.r("len", r), z3.And(link != -1, z3.Not(s.bdown(link, r)))))
    return z3.Implies(s.r("ex", r), z3.And(out))


def _segment_on_route(w: W, s: S, p: Any) -> Any:
    r, i, j = s.p("route", p), s.p("i", p), s.p("j", p)
    ok = z3.And(
        s.r("ex", r), i >= 0, i < j, j < s.r("len", r),
        s.path(i, r) == s.p("n0", p), s.path(j, r) == s.p("n1", p),
        s.c.in_tree(s.r("len", r) - 1, s.r("sched", r), i, j),  # a segment the schedule makes
    )  # fmt: skip
    return z3.Implies(s.p("ex", p), ok)


def _now_nonneg(w: W, s: S) -> Any:
    return s["now"] >= 0


def _pair_typed(w: W, s: S, p: Any) -> Any:
    c = s.c
    n0, n1 = s.p("n0", p), s.p("n1", p)
    ok = z3.And(
        p > 0, p < s["next_id"], n0 != n1, c.node_ok(n0), c.node_ok(n1),
        s.p("cost", p) >= 0, s.p("stamp", p) <= s["now"], s.p("consumed", p) >= 0,
        s.p("pool", p) >= 0, s.p("pool", p) < c.P,
        *[z3.And(s.p(f"s{i}", p) >= 0, s.p(f"s{i}", p) < len(STATUS)) for i in (0, 1)],
    )  # fmt: skip
    return z3.Implies(s.p("ex", p), ok)


def _msg_typed(w: W, s: S, m: Any) -> Any:
    c = s.c
    ok = z3.And(
        s.m("sent", m) <= s["now"], s.m("arrive", m) >= s.m("sent", m),
        c.node_ok(s.m("src", m)), c.node_ok(s.m("dst", m)),
    )  # fmt: skip
    return z3.Implies(s.m("ex", m), ok)


def _light_bound(w: W, s: S, m: Any) -> Any:
    earliest = s.m("sent", m) + s.c.light(s.m("src", m), s.m("dst", m))
    return z3.Implies(s.m("ex", m), s.m("arrive", m) >= earliest)


def _inv(id_: str, kind: str, meaning: str, *clauses: tuple[str, tuple[str, ...], Any]) -> Any:
    return SymInvariant(id_, kind, meaning, tuple(Clause(n, srt, b) for n, srt, b in clauses))


SAFETY: dict[str, SymInvariant] = {
    inv.id: inv
    for inv in (
        _inv("no-double-use", "safety", "consumed at most once; a qubit in one live pair",
             ("consumed-once", ("pair",), _consumed_once), ("qubits-own", ("pair",), _qubits_own),
             ("qubits-apart", ("pair", "pair"), _qubits_apart)),
        _inv("fidelity-on-use", "safety", "a delivered use met the threshold at correction",
             ("delivered-cost", (), _fidelity)),
        _inv("causality", "safety", "no effect before the news of its cause could arrive",
             ("bits-in-time", (), _bits_in_time), ("usable-after-news", ("pair",),
                                                   _usable_after_news)),
        _inv("memory-capacity", "safety", "live qubits within memory; none on a crashed node",
             ("counter-within", (), _capacity), ("down-holds-nothing", ("pair",),
                                                 _down_holds_nothing)),
        _inv("pool-consistency", "safety", "a pooled half's partner is accounted for",
             ("pooled-partner", ("pair",), _pool_consistent)),
        _inv("no-silent-failure", "safety", "a lost receiver half is reported",
             ("lost-reported", (), _not_silent)),
        _inv("pool-well-formed", "safety", "pooled pairs are end-to-end between the pool's ends",
             ("pooled-end-to-end", ("pair",), _pool_well_formed)),
        _inv("route-believed-up", "safety", "routes avoid links the sender believed down",
             ("links-believed-up", ("route",), _route_believed_up)),
        _inv("swap-follows-schedule", "safety", "every pair joins its segment's path nodes",
             ("segment-on-route", ("pair",), _segment_on_route)),
        _inv("type-ok", "type", "every field in its domain",
             ("now-nonneg", (), _now_nonneg), ("pair-typed", ("pair",), _pair_typed),
             ("msg-typed", ("msg",), _msg_typed)),
        _inv("message-light-bound", "lemma", "no message arrives before light could",
             ("arrive-after-light", ("msg",), _light_bound)),
    )
}  # fmt: skip
