"""Array-free reads for bounded model checking (spec/proofs.md §5, "Flattening").

BMC unrolls a bounded number of steps from a concrete Init, so every record id it can meet lies
below ``1 + depth * max_alloc``, and nodes, links, pools and path positions are finite too. A
:class:`Flattener` answers ``Select(array, index)`` without leaving array terms for the solver:
it walks the array's term (``Store``, ``If``, ``K``, ``Lambda``, nested ``Select``) and returns
an ``If``-tree over the steps' selectors and indices, memoised per (array, index). A symbolic
index is expanded over the finite candidates of its dimension. The unrolled query is then pure
linear arithmetic over integers and Booleans, where unit propagation reaches across steps (with
arrays left in, Z3 re-derives read-over-write lemmas on every search branch, and BMC stalls
after a handful of steps).
"""

from __future__ import annotations

from typing import Any

import z3

__all__ = ["Flattener", "dimension"]

_DIMS = {
    "ndown": "node", "epoch": "node", "live": "node", "ldown": "link", "lseq": "link",
    "view": "node", "heard": "node", "nroutes": "pool",
}  # fmt: skip
_INNER = {"view": "link", "heard": "node", "r_path": "pos", "r_known": "node", "r_bdown": "link"}


def dimension(field: str, depth: int = 0) -> str:
    """What indexes ``field`` at nesting ``depth`` (0 outer): id, node, link, pool or pos."""
    if depth == 1:
        return _INNER[field]
    return _DIMS.get(field, "id")


def _num(x: Any) -> int | None:
    if isinstance(x, int) and not isinstance(x, bool):
        return x
    if z3.is_int_value(x):
        return int(x.as_long())
    return None


class Flattener:
    """Reads arrays as array-free terms; ``sizes`` bounds each dimension (ids: the largest id
    BMC can allocate plus one)."""

    def __init__(self, sizes: dict[str, int]) -> None:
        self.sizes = dict(sizes)
        self.sizes["any"] = max(sizes.values())
        self._memo: dict[tuple[int, int], tuple[Any, Any]] = {}  # keeps the array alive too

    def grow(self, dim: str, size: int) -> None:
        self.sizes[dim] = max(self.sizes[dim], size)
        self.sizes["any"] = max(self.sizes.values())

    def read(self, a: Any, idx: Any, dim: str) -> Any:
        """``Select(a, idx)`` without arrays (``dim``: the dimension of ``idx``)."""
        n = _num(idx)
        if n is not None:
            return self._at(a, n)
        size = self.sizes[dim]
        out = self._at(a, size)  # past every candidate: the value no step has written
        for cand in range(size - 1, -1, -1):
            out = z3.If(idx == cand, self._at(a, cand), out)
        return out

    def _at(self, a: Any, i: int) -> Any:
        key = (a.get_id(), i)
        hit = self._memo.get(key)
        if hit is not None:
            return hit[1]
        res = self._walk(a, i)
        self._memo[key] = (a, res)
        return res

    def _walk(self, a: Any, i: int) -> Any:
        if z3.is_quantifier(a) and a.is_lambda():
            return z3.simplify(z3.substitute_vars(a.body(), z3.IntVal(i)))
        kind = a.decl().kind()
        args = a.children()
        if kind == z3.Z3_OP_STORE:
            base, j, v = args
            jn = _num(j)
            if jn is not None:
                return v if jn == i else self._at(base, i)
            return z3.If(j == i, v, self._at(base, i))
        if kind == z3.Z3_OP_ITE:
            c, x, y = args
            if z3.is_true(c):
                return self._at(x, i)
            if z3.is_false(c):
                return self._at(y, i)
            return z3.If(c, self._at(x, i), self._at(y, i))
        if kind == z3.Z3_OP_CONST_ARRAY:
            return args[0]
        if kind == z3.Z3_OP_SELECT:  # an inner array read from an outer one at some index
            outer, j = args
            jn = _num(j)
            if jn is not None:
                return self._at(self._at(outer, jn), i)
            # an outer index is an id (routes) or a node (view): expand over the larger range
            return self._at(self.read(outer, j, "any"), i)
        return z3.Select(a, i)  # an uninterpreted array: left to the solver
