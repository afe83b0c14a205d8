"""Symbolic invariants: the record type and the predicates the bodies share (spec/proofs.md §3).

An invariant is a conjunction of *clauses*; a clause is universally quantified over a tuple of
ids of given sorts (``pair``, ``msg``, ``route``; nodes, links and pools are finite and are
enumerated inside the body). ``body(w, s, *ids)`` is a Z3 formula over a
:class:`~pqms_model.proofs.encoding.state.SymState`; ``w`` reads existentials
(:mod:`pqms_model.proofs.witness`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import z3

from pqms_model.proofs.encoding.codes import KIND, STATUS
from pqms_model.proofs.encoding.core import is_live
from pqms_model.proofs.encoding.state import SymState
from pqms_model.proofs.witness import Witness
from pqms_model.protocol.state import EndStatus, MsgKind

__all__ = [
    "Clause",
    "SymInvariant",
    "end_at",
    "has_end",
    "incoming",
    "kind_is",
    "partner_ok",
    "st_is",
    "usable",
]

Body = Callable[..., Any]


@dataclass(frozen=True)
class Clause:
    name: str
    sorts: tuple[str, ...]  # "pair" | "msg" | "route", one per quantified id
    body: Body


@dataclass(frozen=True)
class SymInvariant:
    id: str  # the model registry's id, or a lemma's name
    kind: str  # "safety" | "type" | "lemma"
    meaning: str
    clauses: tuple[Clause, ...]

    def holds(
        self,
        w: Witness,
        s: SymState,
        terms: dict[str, list[Any]],
        memo: dict[Any, Any] | None = None,
    ) -> list[Any]:
        """Every instance of every clause over the given terms per sort (``memo`` caches
        instances across calls for the same state and witness reading)."""
        out = []
        for cl in self.clauses:
            for tup in _tuples(cl.sorts, terms):
                key = (self.id, cl.name, tuple(t.get_id() for t in tup))
                if memo is None or key not in memo:
                    inst = cl.body(w, s, *tup)
                    if memo is None:
                        out.append(inst)
                        continue
                    memo[key] = inst
                out.append(memo[key])
        return out


def _tuples(sorts: tuple[str, ...], terms: dict[str, list[Any]]) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = [()]
    for srt in sorts:
        out = [(*t, x) for t in out for x in terms.get(srt, [])]
    return out


_E = EndStatus


def st_is(st: Any, *sts: EndStatus) -> Any:
    return z3.Or([st == STATUS[x] for x in sts])


def usable(st: Any) -> Any:
    return st_is(st, _E.READY, _E.POOLED)


def incoming(st: Any) -> Any:
    return st == STATUS[_E.INCOMING]


def kind_is(s: SymState, m: Any, *kinds: MsgKind) -> Any:
    return z3.Or([s.m("kind", m) == KIND[k] for k in kinds])


def has_end(s: SymState, p: Any, node: Any) -> Any:
    return z3.Or(s.p("n0", p) == node, s.p("n1", p) == node)


def end_at(s: SymState, p: Any, node: Any) -> Any:
    return z3.If(s.p("n0", p) == node, 0, 1)


def partner_ok(w: Witness, s: SymState, p: Any, i: int, key: str) -> Any:
    """pool-consistency's condition on end ``1 - i`` of pair ``p``, seen from end ``i``: live or
    incoming, or its news is in flight to end ``i`` (the bits of a use, a crash or the RESET of
    a recovery), or the shared cut-off has passed. ``key`` names the quantified ids the witness
    depends on (the same in pre- and post-state)."""
    j = 1 - i
    st, here, there = s.p(f"s{j}", p), s.p(f"n{i}", p), s.p(f"n{j}", p)
    bits = w.exists_msg(
        f"bits|{key}|{i}",
        lambda m: z3.And(s.m("ex", m), kind_is(s, m, MsgKind.BITS), s.m("pair", m) == p,
                         s.m("dst", m) == here),
    )  # fmt: skip
    reset = w.exists_msg(
        f"reset|{key}|{i}",
        lambda m: z3.And(s.m("ex", m), kind_is(s, m, MsgKind.RESET), s.m("src", m) == there,
                         s.m("dst", m) == here, s.m("epoch", m) > s.p(f"e{j}", p)),
    )  # fmt: skip
    return z3.Or(
        is_live(st),
        incoming(st),
        z3.And(st_is(st, _E.SENT), bits),
        z3.And(st_is(st, _E.LOST), z3.Or(s.at("ndown", there), reset)),
        z3.And(st_is(st, _E.DISCARDED), s["now"] > s.p("deadline", p)),
    )
