"""The symbolic state (spec/proofs.md §1, "State"): every field of the model's ``State`` as Z3.

Every collection is a Z3 array: pairs, messages and routes from id (Int) to value, with
``p_ex`` / ``m_ex`` / ``r_ex`` saying whether an id holds a pair, a message in flight, a route;
per-node, per-link and per-pool values from their index. Two ghost counters make counting
first-order: ``memory_used[n]`` (memory qubits occupied at node n, as the model's) and
``nroutes[p]`` (active routes of pool p); conformance checks them against the model's counts.

Without loss of generality the encoding never *retires* a pair or route (the model drops records
nobody names any more, to free its maps): every invariant is universal over pairs and routes and
holds vacuously on a retired record (no live end, not named by a message), so proving it over the
larger set proves it over the model's.

A :class:`SymState` is an immutable mapping from field names to Z3 terms; an action's post-state
shares every term it does not write, which is how frames are made explicit (see
:mod:`pqms_model.proofs.encoding.transition`).

>>> from pqms_model.model.transition import Model
>>> from pqms_model.protocol.scenario import load_default
>>> from pqms_model.proofs.encoding.consts import Consts
>>> s = SymState.fresh(Consts(Model(load_default())), "s")
>>> s["now"], s["p_s0"].sort(), s["view"].sort(), len(s)
(s.now, Array(Int, Int), Array(Int, Array(Int, Int)), 68)
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import z3

from pqms_model.proofs.encoding.consts import Consts

__all__ = ["FIELDS", "MSG_FIELDS", "PAIR_FIELDS", "ROUTE_FIELDS", "SymState"]

PAIR_FIELDS = (
    "ex", "n0", "n1", "q0", "q1", "s0", "s1", "e0", "e1", "pool", "route", "i", "j", "swapper",
    "cost", "stamp", "deadline", "k0", "k1", "cn0", "ct0", "cn1", "ct1", "consumed",
)  # fmt: skip
"""Pair fields: ends' nodes, qubits, statuses (codes), epochs; pool, route, segment (i, j),
swapper (node or NONE), cost (nnp) at stamp (us), cut-off, and the ghosts: known time (k),
cause node and time (cn, ct) per end, and how often consumed."""

MSG_FIELDS = (
    "ex", "kind", "src", "dst", "sent", "arrive", "pair", "new", "ok", "epoch", "cost", "link",
    "seq", "route",
)  # fmt: skip
"""Message fields, as :class:`pqms_model.protocol.state.Message` (``new`` is ``new_pair``)."""

ROUTE_FIELDS = ("ex", "pool", "len", "sched", "chosen", "active", "path", "known", "bdown")
"""Route fields; ``path`` maps position -> node (NONE past the end), ``known`` node -> heard
of it, ``bdown`` link -> the sender believed it down when it chose the route."""

_I, _B = z3.IntSort(), z3.BoolSort()
_SCALARS: dict[str, Any] = {
    "now": _I, "next_id": _I, "deliveries": _I, "ld_some": _B, "ld_pair": _I, "ld_sender": _I,
    "ld_receiver": _I, "ld_send": _I, "ld_deliver": _I, "ld_cost": _I, "ld_threshold": _I,
    "ld_outcome": _I, "ld_lost": _B,
}  # fmt: skip
"""Global scalars; ``ld_*`` is the ghost ``last_delivery`` (``ld_some`` false: None)."""

_BOOLS = {"ndown", "ldown", "p_ex", "m_ex", "m_ok", "r_ex", "r_active"}
_NESTED = {"view": _I, "heard": _I, "r_path": _I, "r_known": _B, "r_bdown": _B}  # arrays of arrays

FIELDS: tuple[str, ...] = (
    *_SCALARS, "ndown", "epoch", "memory_used", "ldown", "lseq", "view", "heard", "nroutes",
    *(f"p_{f}" for f in PAIR_FIELDS), *(f"m_{f}" for f in MSG_FIELDS),
    *(f"r_{f}" for f in ROUTE_FIELDS),
)  # fmt: skip
"""Every field name, in a fixed order."""


def _sort(name: str) -> Any:
    if name in _SCALARS:
        return _SCALARS[name]
    if name in _NESTED:
        return z3.ArraySort(_I, z3.ArraySort(_I, _NESTED[name]))
    return z3.ArraySort(_I, _B if name in _BOOLS else _I)


class SymState(Mapping[str, Any]):
    """An immutable map from field names to Z3 terms, with typed accessors."""

    __slots__ = ("_f", "_memo", "c", "simplify")

    def __init__(
        self,
        c: Consts,
        fields: dict[str, Any],
        simplify: bool = False,
    ) -> None:
        self.c = c
        self._f = fields
        self._memo: dict[tuple[str, int], Any] = {}
        self.simplify = simplify  # concrete states: fold every read to a value at once

    @classmethod
    def fresh(cls, c: Consts, prefix: str) -> SymState:
        """A state whose every field is a fresh constant named ``prefix.field``."""
        return cls(c, {n: z3.Const(f"{prefix}.{n}", _sort(n)) for n in FIELDS})

    def __getitem__(self, name: str) -> Any:
        return self._f[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._f)

    def __len__(self) -> int:
        return len(self._f)

    def set(self, updates: Mapping[str, Any]) -> SymState:
        """A copy with ``updates`` applied (names must exist)."""
        unknown = set(updates) - set(self._f)
        if unknown:
            raise KeyError(f"unknown state field(s) {sorted(unknown)}")
        return SymState(self.c, {**self._f, **updates}, self.simplify)

    def changed(self, other: SymState) -> list[str]:
        """Fields whose term differs (by identity) from ``other``'s."""
        return [n for n in self._f if self._f[n] is not other._f[n]]

    # --- accessors ---------------------------------------------------------------------------

    def _sel(self, f: str, x: Any) -> Any:
        """``Select(self[f], x)``, built once per state, field and index term."""
        key = (f, x.get_id() if isinstance(x, z3.AstRef) else hash(("py", x)))
        t = self._memo.get(key)
        if t is None:
            t = z3.Select(self._f[f], x)
            if self.simplify:
                t = z3.simplify(t)
            self._memo[key] = t
        return t

    def p(self, f: str, pid: Any) -> Any:
        """Field ``f`` of pair ``pid``."""
        return self._sel(f"p_{f}", pid)

    def pe(self, f: str, i: Any, pid: Any) -> Any:
        """Per-end field ``f`` (``s``, ``n``, ``q``, ``e``, ``k``, ``cn``, ``ct``) at end ``i``."""
        if isinstance(i, int):
            return self.p(f"{f}{i}", pid)
        return z3.If(i == 0, self.p(f"{f}0", pid), self.p(f"{f}1", pid))

    def m(self, f: str, mid: Any) -> Any:
        return self._sel(f"m_{f}", mid)

    def r(self, f: str, rid: Any) -> Any:
        return self._sel(f"r_{f}", rid)

    def _sel2(self, f: str, x: Any, y: Any) -> Any:
        t = z3.Select(self._sel(f, x), y)
        return z3.simplify(t) if self.simplify else t

    def path(self, k: Any, rid: Any) -> Any:
        """Node at position ``k`` of route ``rid``'s path (NONE past its end)."""
        return self._sel2("r_path", rid, k)

    def known(self, n: Any, rid: Any) -> Any:
        return self._sel2("r_known", rid, n)

    def bdown(self, li: Any, rid: Any) -> Any:
        return self._sel2("r_bdown", rid, li)

    def at(self, base: str, x: Any) -> Any:
        """Per-node (``ndown``, ``epoch``, ``live``), per-link (``ldown``, ``lseq``) or
        per-pool (``nroutes``) value at index ``x``."""
        return self._sel(base, x)

    def heard(self, n: Any, o: Any) -> Any:
        """The newest epoch of node ``o`` that node ``n`` has heard of (``heard_epoch``)."""
        return self._sel2("heard", n, o)

    def view(self, n: Any, li: Any) -> Any:
        """Node ``n``'s latest heard sequence number of link ``li``."""
        return self._sel2("view", n, li)
