"""Scenario constants as lookup tables for the encoding (spec/proofs.md §1, "Constants").

Nodes, links and pools are numbered in scenario order. Every constant a rule reads (light
times, capacities, thresholds, generation costs, cut-off offsets, swap schedules) is a
:class:`_Table`: a Z3 function whose value at every in-range argument is fixed by a ground axiom
(:attr:`Consts.axioms`, asserted in every solver). A term stays one function application
however often it is used, which keeps formulas small. Outside the tables' ranges a function is
unconstrained, which only over-approximates (every argument the model can produce is in range).
The numbers come from the model's own helpers (``Model.deadline``, ``Model.transit_decay``), so
the encoding and the model cannot disagree on a constant.

>>> from pqms_model.model.transition import Model
>>> from pqms_model.protocol.scenario import load_default
>>> c = Consts(Model(load_default()))
>>> c.names, c.light(0, 1), c.link(0, 1), c.link(0, 2)
(('earth', 'moon', 'mars', 'relay-l1', 'relay-l2'), 1282221, 0, -1)
>>> c.swapper_idx(2, 0, 0, 1)   # 2 hops, sequential: the segment (0, 1) is swapped at 1
1
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import z3

from pqms_model.model.rules.environment import MAX_ADVANCE_US
from pqms_model.model.rules.routing import MAX_ROUTES_PER_POOL
from pqms_model.model.transition import Model
from pqms_model.physics.cost import decay_cost_nnp
from pqms_model.proofs.encoding.codes import NONE, SCHED
from pqms_model.protocol.schedule import swappers
from pqms_model.protocol.state import Schedule

__all__ = ["Consts"]


def _concrete(x: Any) -> int | None:
    if isinstance(x, bool):
        return None
    if isinstance(x, int):
        return x
    if z3.is_int_value(x):
        return int(x.as_long())
    return None


class _Table:
    """A finite constant table as a Z3 function; ``t(*args)`` is its value (a Python int when
    every argument is concrete and in the table)."""

    def __init__(
        self,
        name: str,
        arity: int,
        values: dict[tuple[int, ...], Any],
        rng: Any,
        facts: dict[int, Any],
    ) -> None:
        self.name, self.values, self.facts = name, values, facts
        self.fn = z3.Function(name, *([z3.IntSort()] * arity), rng)
        lit = z3.BoolVal if rng == z3.BoolSort() else z3.IntVal
        self.axioms = [self.fn(*k) == lit(v) for k, v in sorted(values.items())]
        ints = rng == z3.IntSort() and values
        self.lo = min(values.values()) if ints else None
        self.hi = max(values.values()) if ints else None

    def __call__(self, *args: Any) -> Any:
        key = tuple(_concrete(a) for a in args)
        if all(k is not None for k in key) and key in self.values:
            return self.values[key]  # type: ignore[index]
        app = self.fn(*args)
        if self.lo is not None and app.get_id() not in self.facts:
            # the table's value range holds at every argument (free to assume: a table is
            # unconstrained outside its entries); a ground fact per application helps solvers
            self.facts[app.get_id()] = z3.And(app >= self.lo, app <= self.hi)
        return app


class Consts:
    """The constants of one scenario, indexed for the encoding."""

    def __init__(self, model: Model) -> None:
        sc = model.scenario
        self.model = model
        self.names: tuple[str, ...] = sc.node_names
        self.index = {n: i for i, n in enumerate(self.names)}
        self.N, self.L, self.P = len(self.names), len(sc.links), len(sc.pools)
        nodes, pools = range(self.N), range(self.P)
        self.coh = [sc.node(n).coherence_us for n in self.names]
        self.link_ends = [(self.index[ln.a], self.index[ln.b]) for ln in sc.links]
        link_of = {(u, v): NONE for u in nodes for v in nodes}
        for li, (a, b) in enumerate(self.link_ends):
            link_of[(a, b)] = link_of[(b, a)] = li
        self.gate_cost = sc.swap_gate_cost_nnp
        self.max_advance = MAX_ADVANCE_US
        self.max_routes = MAX_ROUTES_PER_POOL
        pl = sc.pools
        transit = {
            (u, v): model.transit_decay(self.names[u], self.names[v]) for u in nodes for v in nodes
        }
        # generation on hop u -> v: initial cost, and cut-off offset per pool (stamp-invariant)
        gen_cost, gen_delta, gen_delta_mid = {}, {}, {}
        for (u, v), li in sorted(link_of.items()):
            if li == NONE:
                continue
            ln = sc.links[li]
            gen_cost[(u, v)] = ln.initial_cost_nnp + decay_cost_nnp(ln.light_us, self.coh[u])
            for p in pools:
                ends = (self.names[u], self.names[v])
                gen_delta[(u, v, p)] = model.deadline(ends, gen_cost[(u, v)], 0, p)
                gen_delta_mid[(u, v, p)] = model.deadline(ends, gen_cost[(u, v)], 0, p, False)
        # swap schedules: (hops, schedule code, i, j) -> path index of the swapper (NONE: root)
        sw: dict[tuple[int, ...], int] = {}
        tree: dict[tuple[int, ...], bool] = {}
        for hops in range(1, self.N):
            for sched in Schedule:
                table = swappers(hops, sched)
                for i, j in itertools.combinations(range(hops + 1), 2):
                    key = (hops, SCHED[sched], i, j)
                    m = table.get((i, j))
                    sw[key] = NONE if m is None else m
                    tree[key] = (i, j) in table
        others = [[n for n in nodes if n not in e] for e in self.link_ends]
        i_, b_ = z3.IntSort(), z3.BoolSort()
        self.facts: dict[int, Any] = {}
        """Range facts of every table application built so far, by term id (valid at any
        argument, so any solver may assert any of them; see :meth:`new_facts`)."""

        def Table(name: str, arity: int, values: Any, rng: Any) -> Any:
            return _Table(name, arity, values, rng, self.facts)

        self.tables = [
            Table("light", 2, {(u, v): sc.light_us(self.names[u], self.names[v])
                               for u in nodes for v in nodes}, i_),
            Table("link", 2, dict(link_of), i_),
            Table("cap", 1, {(n,): sc.node(self.names[n]).memory_capacity for n in nodes}, i_),
            Table("pool_a", 1, {(p,): self.index[pl[p].a] for p in pools}, i_),
            Table("pool_b", 1, {(p,): self.index[pl[p].b] for p in pools}, i_),
            Table("threshold", 1, {(p,): pl[p].threshold_nnp for p in pools}, i_),
            Table("max_wait", 1, {(p,): pl[p].max_wait_us for p in pools}, i_),
            Table("margin", 1, {(p,): pl[p].threshold_nnp
                                - transit[(self.index[pl[p].a], self.index[pl[p].b])]
                                for p in pools}, i_),
            Table("transit", 2, transit, i_),
            Table("gen_cost", 2, gen_cost, i_),
            Table("gen_delta", 3, gen_delta, i_),
            Table("gen_delta_mid", 3, gen_delta_mid, i_),
            Table("swapper_idx", 4, sw, i_),
            Table("in_tree", 4, tree, b_),
            Table("link_a", 1, {(li,): e[0] for li, e in enumerate(self.link_ends)}, i_),
            Table("link_b", 1, {(li,): e[1] for li, e in enumerate(self.link_ends)}, i_),
            Table("other", 2, {(li, k): o[k] for li, o in enumerate(others)
                               for k in range(len(o))}, i_),
        ]  # fmt: skip
        t = {tb.name: tb for tb in self.tables}
        self.light: Callable[..., Any] = t["light"]
        self.link: Callable[..., Any] = t["link"]
        self.cap: Callable[..., Any] = t["cap"]
        self.pool_a: Callable[..., Any] = t["pool_a"]
        self.pool_b: Callable[..., Any] = t["pool_b"]
        self.threshold: Callable[..., Any] = t["threshold"]
        self.max_wait: Callable[..., Any] = t["max_wait"]
        self.margin: Callable[..., Any] = t["margin"]
        self.transit: Callable[..., Any] = t["transit"]
        self.gen_cost: Callable[..., Any] = t["gen_cost"]
        self.gen_delta: Callable[..., Any] = t["gen_delta"]
        self.gen_delta_mid: Callable[..., Any] = t["gen_delta_mid"]
        self.swapper_idx: Callable[..., Any] = t["swapper_idx"]
        self.in_tree: Callable[..., Any] = t["in_tree"]
        self.link_a: Callable[..., Any] = t["link_a"]
        self.link_b: Callable[..., Any] = t["link_b"]
        self.other: Callable[..., Any] = t["other"]
        self.axioms: list[Any] = [ax for tb in self.tables for ax in tb.axioms]
        """Ground axioms fixing every table entry (assert in every solver)."""
        # candidate paths per pool (BMC restricts choose_route to these)
        self.candidates: list[tuple[int, tuple[int, ...]]] = [
            (p, tuple(self.index[n] for n in path))
            for p, paths in sorted(model.route_paths.items())
            for path in paths
        ]

    def new_facts(self, seen: set[int], mark: bool = True) -> list[Any]:
        """Range facts whose ids are not in ``seen`` (a solver's record of what it asserted);
        ``mark`` adds them to ``seen`` (use ``mark=False`` inside a push/pop frame)."""
        out = [f for k, f in self.facts.items() if k not in seen]
        if mark:
            seen.update(self.facts)
        return out

    def node_ok(self, n: Any) -> Any:
        return z3.And(n >= 0, n < self.N)
