"""Readable counterexamples to induction (spec/proofs.md §6): a CTI as a pre/post pair.

A CTI is a Z3 model of ``Inv(pre) ∧ T_a(pre, post) ∧ ¬I(post)``. It is printed as the action
with its parameters, then every record the query mentions (the Skolem ids and the ids the action
touched) field by field, ``pre -> post`` where the action changed it; statuses, kinds and nodes
are shown by name.
"""

from __future__ import annotations

from typing import Any

import z3

from pqms_model.proofs.encoding.codes import KIND, NONE, OUTCOME, STATUS
from pqms_model.proofs.encoding.consts import Consts
from pqms_model.proofs.encoding.core import Params
from pqms_model.proofs.encoding.state import MSG_FIELDS, PAIR_FIELDS, SymState

__all__ = ["render_cti", "show"]

_NODE_FIELDS = {"n0", "n1", "cn0", "cn1", "swapper", "src", "dst", "node"}
_STATUS_NAMES = {v: k.value for k, v in STATUS.items()}
_KIND_NAMES = {v: k.value for k, v in KIND.items()}
_OUTCOME_NAMES = {v: k.value for k, v in OUTCOME.items()}


def _val(m: z3.ModelRef, t: Any) -> Any:
    v = m.eval(t, model_completion=True)
    if z3.is_true(v) or z3.is_false(v):
        return z3.is_true(v)
    return v.as_long() if z3.is_int_value(v) else str(v)


def show(c: Consts, f: str, v: Any) -> str:
    """A field value for people: node names, status and kind names."""
    if isinstance(v, bool) or not isinstance(v, int):
        return str(v)
    if f in _NODE_FIELDS:
        return "-" if v == NONE else (c.names[v] if 0 <= v < c.N else f"node{v}")
    if f in ("s0", "s1"):
        return _STATUS_NAMES.get(v, str(v))
    if f == "kind":
        return _KIND_NAMES.get(v, str(v))
    if f == "ld_outcome":
        return _OUTCOME_NAMES.get(v, str(v))
    return str(v)


def _record(m: z3.ModelRef, c: Consts, pre: SymState, post: SymState, kind: str, x: Any) -> str:
    fields = PAIR_FIELDS if kind == "p" else MSG_FIELDS

    def get(s: SymState, f: str) -> Any:
        return s.p(f, x) if kind == "p" else s.m(f, x)

    if not (_val(m, get(pre, "ex")) or _val(m, get(post, "ex"))):
        return ""
    parts = []
    for f in fields:
        a, b = _val(m, get(pre, f)), _val(m, get(post, f))
        txt = show(c, f, a) if a == b else f"{show(c, f, a)} -> {show(c, f, b)}"
        parts.append(f"{f}={txt}")
    label = "pair" if kind == "p" else "msg"
    return f"  {label} {_val(m, x)}: " + ", ".join(parts)


def render_cti(
    m: z3.ModelRef,
    c: Consts,
    pre: SymState,
    post: SymState,
    params: Params,
    action: str,
    terms: dict[str, list[Any]],
) -> str:
    """The CTI as lines of text: action, changed scalars, then the records involved."""
    ps = {f: _val(m, getattr(params, f)) for f in ("pair1", "pair2", "node", "msg", "route")}
    ps["node"] = show(c, "node", ps["node"])
    lines = [f"{action}({', '.join(f'{k}={v}' for k, v in ps.items())})"]
    changed = []
    for f in pre:
        if f[:2] in ("p_", "m_", "r_") or f == "view":
            continue
        if isinstance(pre[f].sort(), z3.ArraySortRef):
            n = c.P if f == "nroutes" else (c.L if f in ("ldown", "lseq") else c.N)
            cells = [(f"{f}[{k}]", z3.Select(pre[f], k), z3.Select(post[f], k)) for k in range(n)]
        else:
            cells = [(f, pre[f], post[f])]
        for label, a, b in cells:
            va, vb = _val(m, a), _val(m, b)
            if va != vb:
                changed.append(f"{label}: {show(c, f, va)} -> {show(c, f, vb)}")
    if changed:
        lines.append("  " + "; ".join(changed))
    seen: set[Any] = set()
    for kind, xs in (("p", terms["pair"]), ("m", terms["msg"])):
        for x in xs:
            key = (kind, _val(m, x))
            if key in seen:
                continue
            seen.add(key)
            rec = _record(m, c, pre, post, kind, x)
            if rec:
                lines.append(rec)
    return "\n".join(lines)
