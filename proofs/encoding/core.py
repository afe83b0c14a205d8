"""Shared pieces of the action encodings (spec/proofs.md §2): parameters, the effect record,
and the integer-core arithmetic (decay, pair cost, cut-off) in linear arithmetic.

Decay of one half held ``dt`` at coherence ``T`` is ``ceil(dt * 1e9 / T)`` nano-nepers; the
encoding introduces an integer ``q`` with ``T*q >= dt*1e9 > T*(q-1)``, which is linear because
``T`` is a scenario constant. The cut-off (``Model.deadline``, a binary search in the model) is
encoded by its defining property: the last time at which the cost still meets the margin,
capped at ``max_wait``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import z3

from pqms_model.physics.cost import NNP_PER_NEPER
from pqms_model.proofs.encoding.codes import KIND, LIVE_CODES, NONE, SCHED
from pqms_model.proofs.encoding.consts import Consts
from pqms_model.proofs.encoding.state import SymState
from pqms_model.protocol.actions import Action, ChooseRoute
from pqms_model.protocol.mutants import Mutant
from pqms_model.protocol.settings import CORRECT, Protocol

__all__ = [
    "Ctx",
    "Effect",
    "Params",
    "add_at",
    "end_of",
    "is_live",
    "lookup_swapper",
    "merge",
    "send",
    "set_end",
    "set_pair",
]


@dataclass(frozen=True)
class Params:
    """The parameters an action may take, as Z3 terms (one pool for all actions of a step).

    ``pair1``/``pair2`` are swap's left/right, purify's keep/sacrifice and the pair of admit,
    expire and use_pair; ``pcost`` is the cost purification yields (an oracle, see
    :meth:`Ctx.purified_cost`).
    """

    pair1: Any
    pair2: Any
    node: Any
    msg: Any
    route: Any
    hop: Any
    dt: Any
    extra: Any
    link: Any
    success: Any
    pool: Any
    path: tuple[Any, ...]
    plen: Any
    sched: Any
    pcost: Any

    @classmethod
    def fresh(cls, c: Consts, prefix: str) -> Params:
        def i(n: str) -> Any:
            return z3.Int(f"{prefix}.{n}")

        return cls(
            pair1=i("pair1"), pair2=i("pair2"), node=i("node"), msg=i("msg"), route=i("route"),
            hop=i("hop"), dt=i("dt"), extra=i("extra"), link=i("link"),
            success=z3.Bool(f"{prefix}.success"), pool=i("pool"),
            path=tuple(i(f"path{k}") for k in range(c.N)), plen=i("plen"), sched=i("sched"),
            pcost=i("pcost"),
        )  # fmt: skip

    @classmethod
    def of_action(cls, c: Consts, a: Action, pcost: int = 0) -> Params:
        """Concrete parameters of a model action (the ones it does not take are 0)."""
        v = dict.fromkeys(
            ("pair1", "pair2", "node", "msg", "route", "hop", "dt", "extra", "link", "pool",
             "plen", "sched"), 0,
        )  # fmt: skip
        for name, slot in (("pair", "pair1"), ("left", "pair1"), ("keep", "pair1"),
                           ("right", "pair2"), ("sacrifice", "pair2"), ("msg", "msg"),
                           ("route", "route"), ("hop", "hop"), ("link", "link"),
                           ("pool", "pool"), ("dt_us", "dt"), ("extra_us", "extra")):  # fmt: skip
            if hasattr(a, name):
                v[slot] = getattr(a, name)
        if hasattr(a, "node"):
            v["node"] = c.index.get(a.node, -2)  # an unknown name: out of range, not enabled
        path: tuple[int, ...] = (NONE,) * c.N
        if isinstance(a, ChooseRoute):
            idx = [c.index.get(n, -2) for n in a.path]
            v["plen"] = len(idx) if len(idx) <= c.N else c.N + 1  # too long: not enabled
            path = tuple(idx[: c.N]) + (NONE,) * (c.N - min(len(idx), c.N))
            v["sched"] = SCHED.get(a.schedule, -2)
        return cls(
            **{k: z3.IntVal(x) for k, x in v.items()},
            success=z3.BoolVal(bool(getattr(a, "success", False))),
            path=tuple(z3.IntVal(x) for x in path),
            pcost=z3.IntVal(pcost),
        )


@dataclass
class Effect:
    """What an action encoding returns: its guard conjuncts and post-state, plus the ids it
    touches (for instantiating lemmas) and the ids of the BITS and RESET messages it creates
    (candidate existential witnesses; no other kind witnesses one, so others are not listed)."""

    guard: list[Any]
    post: SymState
    pairs: list[Any] = field(default_factory=list)
    msgs: list[Any] = field(default_factory=list)
    routes: list[Any] = field(default_factory=list)
    new_msgs: list[Any] = field(default_factory=list)


class Ctx:
    """Fresh auxiliary variables and their defining constraints for one action instance.

    ``exact_ids``: when the pre-state is concrete (conformance), the ids of its pairs, so that a
    RESET's effect on the live counter is summed exactly instead of bounded.
    """

    def __init__(
        self, c: Consts, tag: str, mutant: Mutant | None, exact_ids: list[int] | None = None
    ) -> None:
        self.c, self.tag, self.mutant, self.exact_ids = c, tag, mutant, exact_ids
        self.protocol: Protocol = CORRECT if mutant is None else mutant.protocol
        self.side: list[Any] = []
        self.aux: list[Any] = []
        self._n = 0

    def fresh(self, name: str) -> Any:
        self._n += 1
        v = z3.Int(f"{self.tag}.{name}{self._n}")
        self.aux.append(v)
        return v

    def decay(self, dt: Any, node: Any) -> Any:
        """``ceil(dt * 1e9 / T_node)`` as a fresh integer with its defining constraints."""
        q = self.fresh("q")
        groups: dict[int, list[int]] = {}
        for n, t in enumerate(self.c.coh):
            groups.setdefault(t, []).append(n)
        self.side.append(z3.Implies(dt >= 0, q >= 0))  # implied; stated to help the solver
        for t, nodes in sorted(groups.items()):
            ceil = z3.And(t * q >= dt * NNP_PER_NEPER, t * (q - 1) < dt * NNP_PER_NEPER)
            if len(groups) == 1:
                self.side.append(ceil)
            else:
                self.side.append(z3.Implies(z3.Or([node == n for n in nodes]), ceil))
        return q

    def cost_at(self, s: SymState, pid: Any, t: Any) -> Any:
        """``Model.cost_at``: the pair's cost at ``t``; both halves decay from its stamp."""
        stamp = s.p("stamp", pid)
        dt = z3.If(t >= stamp, t - stamp, 0)
        return s.p("cost", pid) + self.decay(dt, s.p("n0", pid)) + self.decay(dt, s.p("n1", pid))

    def deadline(self, x: Any, y: Any, cost: Any, stamp: Any, pool: Any, e2e: Any) -> Any:
        """``Model.deadline`` by its defining property (cost is monotone in time): the last
        time the cost meets the pool's margin, for an end-to-end pair (``e2e``) at most
        ``max_wait`` after ``stamp``; an intermediate pair has no ``max_wait``."""
        c = self.c
        margin, mw = c.margin(pool), c.max_wait(pool)
        d = self.fresh("deadline")

        def cost_after(dt: Any) -> Any:
            return cost + self.decay(dt, x) + self.decay(dt, y)

        hi = cost_after(mw)
        at_d, after_d = cost_after(d - stamp), cost_after(d + 1 - stamp)
        self.side.append(
            z3.Or(
                z3.And(cost > margin, d == stamp - 1),
                z3.And(e2e, cost <= margin, hi <= margin, d == stamp + mw),
                z3.And(
                    z3.And(cost <= margin, z3.Or(z3.Not(e2e), hi > margin), stamp <= d),
                    z3.Or(z3.Not(e2e), d < stamp + mw),
                    z3.And(at_d <= margin, after_d > margin),
                ),
            )
        )
        return d

    def purified_cost(self, pcost: Any) -> Any:
        """BBPSSW's output cost: transcendental, so an oracle value >= 0 (an over-approximation
        for the proofs, which never rely on purification improving a pair)."""
        self.side.append(pcost >= 0)
        return pcost


# --- state-update helpers ---------------------------------------------------------------------


def is_live(st: Any) -> Any:
    return z3.Or([st == k for k in sorted(LIVE_CODES)])


def end_of(s: SymState, pid: Any, node: Any) -> Any:
    """Index of ``node``'s end of pair ``pid`` (0 if it is the first end, else 1)."""
    return z3.If(s.p("n0", pid) == node, 0, 1)


def set_pair(s: SymState, pid: Any, **vals: Any) -> SymState:
    return s.set({f"p_{k}": z3.Store(s[f"p_{k}"], pid, v) for k, v in vals.items()})


def set_end(s: SymState, pid: Any, base: str, i: Any, v: Any) -> SymState:
    """Set per-end field ``base`` (``s``, ``k``, ...) of end ``i`` of pair ``pid``."""
    if isinstance(i, int):
        return set_pair(s, pid, **{f"{base}{i}": v})
    return set_pair(
        s,
        pid,
        **{f"{base}0": z3.If(i == 0, v, s.p(f"{base}0", pid)),
           f"{base}1": z3.If(i == 1, v, s.p(f"{base}1", pid))},
    )  # fmt: skip


def add_at(s: SymState, base: str, n: Any, delta: Any) -> SymState:
    """Add ``delta`` to the counter ``base[n]`` (``live`` per node, ``nroutes`` per pool)."""
    return s.set({base: z3.Store(s[base], n, s.at(base, n) + delta)})


def merge(cond: Any, then: SymState, other: SymState) -> SymState:
    """Field-wise ``If(cond, then, other)``; fields both share stay shared (frames survive)."""
    return then.set({n: z3.If(cond, then[n], other[n]) for n in then.changed(other)})


_MSG_DEFAULTS = {"new": NONE, "ok": True, "epoch": 0, "cost": 0, "link": NONE, "seq": 0,
                 "route": NONE}  # fmt: skip


def send(s: SymState, kind: Any, src: Any, dst: Any, **kw: Any) -> tuple[SymState, Any]:
    """``ModelCore.send``: a message with the next id, arriving one light time later."""
    c, mid, now = s.c, s["next_id"], s["now"]
    vals = {**_MSG_DEFAULTS, **kw}
    rec: dict[str, Any] = {
        "ex": True, "kind": KIND[kind], "src": src, "dst": dst, "sent": now,
        "arrive": now + c.light(src, dst), **vals,
    }  # fmt: skip
    ups = {f"m_{k}": z3.Store(s[f"m_{k}"], mid, v) for k, v in rec.items()}
    ups["next_id"] = mid + 1
    return s.set(ups), mid


def lookup_swapper(s: SymState, rid: Any, i: Any, j: Any) -> Any:
    """``_swapper``: the node the route's schedule lets swap segment (i, j), NONE for the root
    (or a segment the tree does not have)."""
    idx = s.c.swapper_idx(s.r("len", rid) - 1, s.r("sched", rid), i, j)
    return z3.If(idx == NONE, NONE, s.path(idx, rid))
