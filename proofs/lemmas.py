"""Strengthening lemmas (spec/proofs.md §3.2): what makes the safety invariants inductive.

Each lemma is named, says one thing about the protocol's bookkeeping, and is proved inductive
like the invariants (Init => L, and L preserved by every action under all invariants and
lemmas). Unsat cores report which lemmas each obligation needed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import z3

from pqms_model.proofs.encoding.codes import NONE
from pqms_model.proofs.encoding.core import is_live, lookup_swapper
from pqms_model.proofs.encoding.state import SymState
from pqms_model.proofs.properties import (
    Clause,
    SymInvariant,
    end_at,
    has_end,
    incoming,
    kind_is,
    partner_ok,
    st_is,
    usable,
)
from pqms_model.proofs.witness import Witness
from pqms_model.protocol.state import EndStatus, MsgKind

__all__ = ["LEMMAS"]

_E = EndStatus
_K = MsgKind
W = Witness
S = SymState


def _pair_ids(w: W, s: S, p: Any) -> Any:
    nxt = s["next_id"]
    ok = z3.And(p > 0, p < nxt, *[z3.And(s.p(f"q{i}", p) > 0, s.p(f"q{i}", p) < nxt)
                                  for i in (0, 1)])  # fmt: skip
    return z3.Implies(s.p("ex", p), ok)


def _msg_ids(w: W, s: S, m: Any) -> Any:
    return z3.Implies(s.m("ex", m), z3.And(m > 0, m < s["next_id"]))


def _next_positive(w: W, s: S) -> Any:
    return s["next_id"] >= 1


def _route_ids(w: W, s: S, r: Any) -> Any:
    return z3.Implies(s.r("ex", r), z3.And(r > 0, r < s["next_id"]))


def _news_names(w: W, s: S, m: Any) -> Any:
    p, new, src, dst = s.m("pair", m), s.m("new", m), s.m("src", m), s.m("dst", m)
    ends = z3.Or(z3.And(src == s.p("n0", p), dst == s.p("n1", p)),
                 z3.And(src == s.p("n1", p), dst == s.p("n0", p)))  # fmt: skip
    return z3.Implies(
        s.m("ex", m),
        z3.And(
            z3.Implies(kind_is(s, m, _K.HERALD, _K.PURIFY_RESULT, _K.BITS),
                       z3.And(s.p("ex", p), ends)),
            z3.Implies(kind_is(s, m, _K.HERALD),
                       z3.And(src == s.p("n1", p), dst == s.p("n0", p),
                              s.p("j", p) == s.p("i", p) + 1)),
            z3.Implies(kind_is(s, m, _K.PURIFY_RESULT), s.p("swapper", p) == NONE),
            z3.Implies(kind_is(s, m, _K.SWAP_DONE),
                       z3.And(s.p("ex", p), s.p("ex", new), p != new, has_end(s, p, dst),
                              has_end(s, new, dst), s.p("j", new) >= s.p("i", new) + 2)),
            z3.Implies(kind_is(s, m, _K.ROUTE), s.r("ex", s.m("route", m))),
            z3.Implies(kind_is(s, m, _K.RESET),
                       z3.And(src != dst, s.m("epoch", m) <= s.at("epoch", src))),
            s.m("kind", m) >= 0, s.m("kind", m) < len(_K),
        ),
    )  # fmt: skip


def _news_matches_cause(w: W, s: S, m: Any) -> Any:
    p, new, src, dst = s.m("pair", m), s.m("new", m), s.m("src", m), s.m("dst", m)
    i, k = end_at(s, p, dst), end_at(s, new, dst)
    st = s.pe("s", i, p)
    learn = z3.And(
        st_is(st, _E.PENDING, _E.LOST, _E.DISCARDED, _E.MERGED),
        z3.Implies(st_is(st, _E.PENDING),
                   z3.And(s.pe("cn", i, p) == src, s.pe("ct", i, p) == s.m("sent", m))),
    )  # fmt: skip
    swap = z3.Implies(
        incoming(s.pe("s", k, new)),
        z3.And(s.pe("cn", k, new) == src, s.pe("ct", k, new) == s.m("sent", m),
               s.pe("q", k, new) == s.pe("q", i, p), s.pe("e", k, new) == s.pe("e", i, p)),
    )  # fmt: skip
    return z3.Implies(
        s.m("ex", m),
        z3.And(z3.Implies(kind_is(s, m, _K.HERALD, _K.PURIFY_RESULT), learn),
               z3.Implies(kind_is(s, m, _K.SWAP_DONE), swap)),
    )  # fmt: skip


def _swap_news(w: W, s: S, m: Any) -> Any:
    old, new, src, dst = s.m("pair", m), s.m("new", m), s.m("src", m), s.m("dst", m)
    kept = s.pe("s", end_at(s, old, dst), old)
    ok = z3.And(
        s.p("swapper", old) == src,
        # the swap's cut-off is at most its inputs'; a half it hands on goes only at its cut-off
        s.p("deadline", new) <= s.p("deadline", old),
        z3.Implies(st_is(kept, _E.DISCARDED), s["now"] > s.p("deadline", old)),
        st_is(s.pe("s", end_at(s, old, src), old), _E.SWAPPED),
        st_is(s.pe("s", end_at(s, old, dst), old),
              _E.PENDING, _E.READY, _E.INCOMING, _E.LOST, _E.DISCARDED),
        st_is(s.pe("s", end_at(s, new, dst), new), _E.INCOMING, _E.LOST, _E.DISCARDED),
    )  # fmt: skip
    return z3.Implies(z3.And(s.m("ex", m), kind_is(s, m, _K.SWAP_DONE)), ok)


def _one_news_per_end(w: W, s: S, m1: Any, m2: Any) -> Any:
    two = z3.And(m1 != m2, s.m("ex", m1), s.m("ex", m2))
    learn = [kind_is(s, m, _K.HERALD, _K.PURIFY_RESULT) for m in (m1, m2)]
    swaps = [kind_is(s, m, _K.SWAP_DONE) for m in (m1, m2)]
    same_pair = s.m("pair", m1) == s.m("pair", m2)
    same_new = s.m("new", m1) == s.m("new", m2)
    return z3.Implies(
        two,
        z3.And(
            z3.Implies(z3.And(learn[0], learn[1], same_pair),
                       z3.And(kind_is(s, m1, _K.PURIFY_RESULT), kind_is(s, m2, _K.PURIFY_RESULT),
                              s.m("ok", m1) == s.m("ok", m2), s.m("dst", m1) != s.m("dst", m2))),
            z3.Implies(z3.And(swaps[0], swaps[1], same_new),
                       z3.And(s.m("dst", m1) != s.m("dst", m2), s.m("src", m1) == s.m("src", m2),
                              s.m("sent", m1) == s.m("sent", m2))),
            z3.Not(z3.And(swaps[0], learn[1], s.m("new", m1) == s.m("pair", m2))),
            z3.Not(z3.And(swaps[0], swaps[1], same_pair)),
        ),
    )  # fmt: skip


def _intermediate_statuses(w: W, s: S, p: Any) -> Any:
    sw = s.p("swapper", p)
    out = []
    for i in (0, 1):
        st = s.p(f"s{i}", p)
        allowed = st_is(st, _E.PENDING, _E.INCOMING, _E.READY, _E.SWAPPED, _E.MERGED, _E.LOST,
                        _E.DISCARDED)  # fmt: skip
        not_swapper = s.p(f"n{i}", p) != sw
        swapped_here = z3.Implies(not_swapper, z3.Not(st_is(st, _E.SWAPPED)))
        out.append(z3.Implies(sw != NONE, z3.And(allowed, swapped_here)))
        out.append(z3.Implies(st_is(st, _E.MERGED), st_is(s.p(f"s{1 - i}", p), _E.SWAPPED)))
    return z3.Implies(s.p("ex", p), z3.And(out))


def _e2e_unswapped(w: W, s: S, p: Any) -> Any:
    out = [z3.Not(st_is(s.p(f"s{i}", p), _E.SWAPPED, _E.MERGED)) for i in (0, 1)]
    return z3.Implies(z3.And(s.p("ex", p), s.p("swapper", p) == NONE), z3.And(out))


def _far_discard_late(w: W, s: S, p: Any) -> Any:
    sw = s.p("swapper", p)
    out = []
    for i in (0, 1):
        far = z3.And(sw != NONE, s.p(f"n{i}", p) != sw, st_is(s.p(f"s{i}", p), _E.DISCARDED))
        late = z3.Or(s["now"] > s.p("deadline", p), st_is(s.p(f"s{1 - i}", p), _E.SWAPPED))
        out.append(z3.Implies(far, late))
    return z3.Implies(s.p("ex", p), z3.And(out))


def _incoming_discard_late(w: W, s: S, p: Any) -> Any:
    out = [z3.Implies(z3.And(st_is(s.p(f"s{i}", p), _E.DISCARDED), incoming(s.p(f"s{1 - i}", p))),
                      s["now"] > s.p("deadline", p)) for i in (0, 1)]  # fmt: skip
    return z3.Implies(s.p("ex", p), z3.And(out))


def _sent_at_sender(w: W, s: S, p: Any) -> Any:
    return z3.Implies(s.p("ex", p), z3.Not(st_is(s.p("s1", p), _E.SENT)))


def _purified_arrived(w: W, s: S, m: Any) -> Any:
    p = s.m("pair", m)
    arrived = z3.And([z3.Not(incoming(s.p(f"s{i}", p))) for i in (0, 1)])
    return z3.Implies(z3.And(s.m("ex", m), kind_is(s, m, _K.PURIFY_RESULT)), arrived)


def _epochs(w: W, s: S, p: Any) -> Any:
    out = []
    for i in (0, 1):
        st, e, cur = s.p(f"s{i}", p), s.p(f"e{i}", p), s.at("epoch", s.p(f"n{i}", p))
        out += [
            e >= 0, e <= cur,
            z3.Implies(z3.Or(is_live(st), incoming(st)),
                       z3.And(e == cur, z3.Not(s.at("ndown", s.p(f"n{i}", p))))),
            z3.Implies(st_is(st, _E.LOST), z3.Or(s.at("ndown", s.p(f"n{i}", p)), e < cur)),
        ]  # fmt: skip
    return z3.Implies(s.p("ex", p), z3.And(out))


def _epochs_nonneg(w: W, s: S) -> Any:
    nodes = range(s.c.N)
    heard = [z3.And(s.heard(n, o) >= 0, s.heard(n, o) <= s.at("epoch", o))
             for n in nodes for o in nodes]  # fmt: skip
    return z3.And([s.at("epoch", n) >= 0 for n in nodes] + heard)


def _reset_of(s: S, a: int, b: int) -> Callable[[Any], Any]:
    def pred(m: Any) -> Any:
        return z3.And(s.m("ex", m), kind_is(s, m, _K.RESET), s.m("src", m) == b,
                      s.m("dst", m) == a, s.m("epoch", m) == s.at("epoch", b))  # fmt: skip

    return pred


def _recoveries_reported(w: W, s: S) -> Any:
    nodes = range(s.c.N)
    return z3.And([z3.Or(s.heard(a, b) == s.at("epoch", b),
                         w.exists_msg(f"reset|rec{a}.{b}", _reset_of(s, a, b)))
                   for a in nodes for b in nodes if a != b])  # fmt: skip


def _bits_from_sender(w: W, s: S, m: Any) -> Any:
    p = s.m("pair", m)
    sender_end = end_at(s, p, s.m("src", m))
    ok = z3.And(st_is(s.pe("s", sender_end, p), _E.SENT), s.p("swapper", p) == NONE)
    return z3.Implies(z3.And(s.m("ex", m), kind_is(s, m, _K.BITS)), ok)


def _bits_forward(w: W, s: S, m: Any) -> Any:
    p = s.m("pair", m)
    fwd = z3.And(s.m("src", m) == s.p("n0", p), s.m("dst", m) == s.p("n1", p))
    return z3.Implies(z3.And(s.m("ex", m), kind_is(s, m, _K.BITS)), fwd)


def _sent_bits_pending(w: W, s: S, p: Any) -> Any:
    s1 = s.p("s1", p)
    bits = w.exists_msg(
        f"bits|{p}|sent",
        lambda m: z3.And(s.m("ex", m), kind_is(s, m, _K.BITS), s.m("pair", m) == p,
                         s.m("dst", m) == s.p("n1", p)),
    )  # fmt: skip
    waiting = z3.And(s.p("ex", p), st_is(s.p("s0", p), _E.SENT), z3.Or(is_live(s1), incoming(s1)))
    return z3.Implies(waiting, bits)


def _e2e_accounted(w: W, s: S, p: Any) -> Any:
    out = [z3.Implies(usable(s.p(f"s{i}", p)), partner_ok(w, s, p, i, f"p{p}")) for i in (0, 1)]
    return z3.Implies(z3.And(s.p("ex", p), s.p("swapper", p) == NONE), z3.And(out))


def _awaited_accounted(w: W, s: S, m: Any) -> Any:
    p = s.m("pair", m)
    i = end_at(s, p, s.m("dst", m))
    waiting = z3.And(
        s.m("ex", m), s.p("swapper", p) == NONE,
        z3.Or(kind_is(s, m, _K.HERALD), z3.And(kind_is(s, m, _K.PURIFY_RESULT), s.m("ok", m))),
        st_is(s.pe("s", i, p), _E.PENDING),
    )  # fmt: skip
    ok = z3.If(i == 0, partner_ok(w, s, p, 0, f"m{m}"), partner_ok(w, s, p, 1, f"m{m}"))
    return z3.Implies(waiting, ok)


def _failed_round(w: W, s: S, m: Any) -> Any:
    p = s.m("pair", m)
    partner = end_at(s, p, s.m("src", m))
    failed = z3.And(s.m("ex", m), kind_is(s, m, _K.PURIFY_RESULT), z3.Not(s.m("ok", m)))
    return z3.Implies(failed, z3.Not(usable(s.pe("s", partner, p))))


def _in_tree(s: S, r: Any, i: Any, j: Any) -> Any:
    return s.c.in_tree(s.r("len", r) - 1, s.r("sched", r), i, j)


def _segment_scheduled(w: W, s: S, p: Any) -> Any:
    r, i, j = s.p("route", p), s.p("i", p), s.p("j", p)
    sw = s.p("swapper", p)
    e2e = z3.And(i == 0, j == s.r("len", r) - 1)
    ok = z3.And(
        _in_tree(s, r, i, j), sw == lookup_swapper(s, r, i, j),
        s.p("pool", p) == s.r("pool", r),
        z3.If(sw == NONE, e2e, z3.And(z3.Not(e2e), has_end(s, p, sw))),
    )  # fmt: skip
    return z3.Implies(s.p("ex", p), ok)


def _e2e_joins_pool(w: W, s: S, p: Any) -> Any:
    c, pool = s.c, s.p("pool", p)
    joins = z3.And(s.p("n0", p) == c.pool_a(pool), s.p("n1", p) == c.pool_b(pool))
    return z3.Implies(z3.And(s.p("ex", p), s.p("swapper", p) == NONE), joins)


def _route_shape(w: W, s: S, r: Any) -> Any:
    c, n, pool = s.c, s.r("len", r), s.r("pool", r)
    path = [s.path(k, r) for k in range(c.N)]
    ends = z3.And(path[0] == c.pool_a(pool), s.path(n - 1, r) == c.pool_b(pool))
    out = [pool >= 0, pool < c.P, n >= 2, n <= c.N, z3.Or(s.r("sched", r) == 0,
           s.r("sched", r) == 1), ends, s.r("chosen", r) <= s["now"]]  # fmt: skip
    for k in range(c.N):
        out.append(z3.If(k < n, c.node_ok(path[k]), path[k] == NONE))
        out += [z3.Implies(k2 < n, path[k] != path[k2]) for k2 in range(k + 1, c.N)]
    return z3.Implies(s.r("ex", r), z3.And(out))


def _consumed_spent(w: W, s: S, p: Any) -> Any:
    sw, s0, s1 = s.p("swapper", p), s.p("s0", p), s.p("s1", p)
    inter = st_is(s.pe("s", end_at(s, p, sw), p), _E.SWAPPED)
    e2e = st_is(s0, _E.SENT, _E.CONSUMED)
    spent = z3.Or(s.p("consumed", p) >= 1, st_is(s0, _E.RECEIVED), st_is(s1, _E.RECEIVED))
    both = z3.And(st_is(s0, _E.CONSUMED) == st_is(s1, _E.CONSUMED))
    return z3.Implies(s.p("ex", p), z3.And(z3.Implies(spent, z3.If(sw == NONE, e2e, inter)), both))


def _cause_past(w: W, s: S, p: Any) -> Any:
    c = s.c
    out = [z3.And(s.p(f"ct{i}", p) >= 0, s.p(f"ct{i}", p) <= s["now"],
                  c.node_ok(s.p(f"cn{i}", p))) for i in (0, 1)]  # fmt: skip
    return z3.Implies(s.p("ex", p), z3.And(s.p("stamp", p) >= 0, *out))


def _lemma(name: str, meaning: str, sorts: tuple[str, ...], body: Any) -> SymInvariant:
    return SymInvariant(name, "lemma", meaning, (Clause(name, sorts, body),))


LEMMAS: dict[str, SymInvariant] = {
    inv.id: inv
    for inv in (
        SymInvariant("ids-below-next", "lemma", "every id in use is below next_id", (
            Clause("next-positive", (), _next_positive),
            Clause("pair-ids", ("pair",), _pair_ids), Clause("msg-ids", ("msg",), _msg_ids),
            Clause("route-ids", ("route",), _route_ids))),
        _lemma("news-names-records", "a message names existing records it concerns",
               ("msg",), _news_names),
        _lemma("news-matches-cause", "a pending end awaits exactly the message of its cause",
               ("msg",), _news_matches_cause),
        _lemma("swap-news-consistent", "a swap's message joins a swapped pair to the new one",
               ("msg",), _swap_news),
        _lemma("one-news-per-end", "each end awaits at most one message, of one kind",
               ("msg", "msg"), _one_news_per_end),
        _lemma("intermediate-statuses", "an intermediate pair is never pooled, used or "
               "purified; only its swapper swaps it; a merged end's partner was swapped",
               ("pair",), _intermediate_statuses),
        _lemma("end-to-end-unswapped", "an end-to-end pair is never swapped or merged",
               ("pair",), _e2e_unswapped),
        _lemma("far-discard-late", "an intermediate pair's non-swapper half is discarded only "
               "after the cut-off or once the swapper swapped", ("pair",), _far_discard_late),
        _lemma("incoming-discard-late", "a half is discarded while its partner is still "
               "incoming only after the cut-off", ("pair",), _incoming_discard_late),
        _lemma("sent-at-sender", "only end 0 (the pool's sender) ever sends", ("pair",),
               _sent_at_sender),
        _lemma("purified-arrived", "a pair being purified has no incoming half", ("msg",),
               _purified_arrived),
        SymInvariant("epochs-current", "lemma", "live and incoming halves carry their up node's "
                     "current epoch; no node has heard of an epoch not yet begun",
                     (Clause("epochs-nonneg", (), _epochs_nonneg),
                      Clause("halves-current", ("pair",), _epochs))),
        _lemma("recoveries-reported", "every node has heard of, or is being sent, each "
               "other node's current epoch", (), _recoveries_reported),
        _lemma("bits-from-sender", "the bits in flight come from the end that sent them",
               ("msg",), _bits_from_sender),
        _lemma("bits-forward", "bits go from an end-to-end pair's end 0 (the pool's sender) "
               "to its end 1", ("msg",), _bits_forward),
        _lemma("sent-bits-pending", "a sent half's bits are in flight while its partner "
               "holds or awaits its half", ("pair",), _sent_bits_pending),
        _lemma("end-to-end-accounted", "a usable end-to-end half's partner is accounted for",
               ("pair",), _e2e_accounted),
        _lemma("awaited-news-accounted", "an end awaiting good news has an accounted partner",
               ("msg",), _awaited_accounted),
        _lemma("failed-round-unusable", "a failed purification's partner half is not usable",
               ("msg",), _failed_round),
        _lemma("segment-scheduled", "a pair's segment is in its route's swap tree",
               ("pair",), _segment_scheduled),
        _lemma("end-to-end-joins-pool", "an end-to-end pair runs from its pool's sender to "
               "its receiver", ("pair",), _e2e_joins_pool),
        _lemma("route-shape", "a route is a simple path from the pool's sender to its receiver",
               ("route",), _route_shape),
        _lemma("consumed-spent", "a consumed pair has no end left that could consume it again",
               ("pair",), _consumed_spent),
        _lemma("cause-in-past", "cause and stamp times lie in the past", ("pair",), _cause_past),
    )
}  # fmt: skip
