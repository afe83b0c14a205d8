"""The symbolic transition relation (spec/proofs.md §2): one encoding per model action, under
the same name, with its frame made explicit.

``ENCODINGS`` maps every name in :data:`pqms_model.protocol.actions.ACTION_TYPES` to its encoding
and to the fields it may write (``WRITES``); every other field is unchanged, and :func:`encode`
checks that an encoding writes nothing it did not declare. :func:`step_relation` is the relation of
one step of a trace: an action selector ``sel`` (the index of the action in ``ACTION_NAMES``), the
shared parameters, and ``post == If(sel == a, post_a, ...)`` field by field, so that a Z3 model
reads as a trace.

>>> sorted(ENCODINGS) == sorted(ACTION_NAMES)
True
>>> frame("advance_time")[:3]
('next_id', 'deliveries', 'ld_some')
>>> [f for f in frame("admit") if f.startswith("p_")][:4]
['p_ex', 'p_n0', 'p_n1', 'p_q0']
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import z3

from pqms_model.proofs.encoding import environment as enc_env
from pqms_model.proofs.encoding import pairs as enc_pairs
from pqms_model.proofs.encoding import routing as enc_routing
from pqms_model.proofs.encoding import swap as enc_swap
from pqms_model.proofs.encoding import use as enc_use
from pqms_model.proofs.encoding.consts import Consts
from pqms_model.proofs.encoding.core import Ctx, Effect, Params
from pqms_model.proofs.encoding.core import merge as _merge
from pqms_model.proofs.encoding.state import FIELDS, SymState
from pqms_model.protocol.actions import ACTION_TYPES, Action
from pqms_model.protocol.mutants import Mutant

__all__ = [
    "ACTION_NAMES",
    "ENCODINGS",
    "Encoding",
    "StepTerms",
    "encode",
    "frame",
    "init_constraints",
    "initial_state",
    "step_relation",
]

Encoder = Callable[[SymState, Params, Ctx], Effect]

_MSGS = ("m_", "next_id")


@dataclass(frozen=True)
class Encoding:
    name: str
    cls: type[Action]
    encode: Encoder
    writes: tuple[str, ...]  # field-name prefixes this action may change


_TABLE: tuple[tuple[str, Encoder, tuple[str, ...]], ...] = (
    ("choose_route", enc_routing.enc_choose_route, ("r_", "nroutes", *_MSGS)),
    ("drop_route", enc_routing.enc_drop_route, ("r_active", "nroutes")),
    ("generate_link", enc_pairs.enc_generate_link, ("p_", "memory_used", *_MSGS)),
    ("receive", enc_pairs.enc_receive,
     ("m_ex", "r_known", "view", "heard", "p_s0", "p_s1", "p_k0", "p_k1", "memory_used")),
    ("swap", enc_swap.enc_swap, ("p_", "memory_used", *_MSGS)),
    ("purify", enc_swap.enc_purify, ("p_", "memory_used", *_MSGS)),
    ("admit", enc_use.enc_admit, ("p_s0", "p_s1", "p_k0", "p_k1")),
    ("expire", enc_use.enc_expire, ("p_s0", "p_s1", "memory_used")),
    ("use_pair", enc_use.enc_use_pair, ("p_s0", "p_s1", "p_consumed", "memory_used", *_MSGS)),
    ("deliver", enc_use.enc_deliver, ("ld_", "m_ex", "deliveries", "p_s0", "p_s1", "memory_used")),
    ("advance_time", enc_env.enc_advance_time, ("now",)),
    ("link_down", enc_env.enc_link_down, ("ldown", "lseq", "view", *_MSGS)),
    ("link_up", enc_env.enc_link_up, ("ldown", "lseq", "view", *_MSGS)),
    ("crash", enc_env.enc_crash, ("p_s0", "p_s1", "ndown", "memory_used")),
    ("recover", enc_env.enc_recover, ("ndown", "epoch", *_MSGS)),
    ("delay_message", enc_env.enc_delay_message, ("m_arrive",)),
)  # fmt: skip

ENCODINGS: dict[str, Encoding] = {
    name: Encoding(name, ACTION_TYPES[name], fn, writes)
    for name, fn, writes in _TABLE
    if name in ACTION_TYPES  # a name the model lacks fails the registry test, not import
}
ACTION_NAMES: tuple[str, ...] = tuple(name for name, _, _ in _TABLE)


def _declared(name: str, f: str) -> bool:
    return any(f.startswith(w) for w in ENCODINGS[name].writes)


def encode(name: str, s: SymState, a: Params, ctx: Ctx) -> Effect:
    """The encoding of action ``name`` from ``s``; raises if it writes an undeclared field."""
    eff = ENCODINGS[name].encode(s, a, ctx)
    stray = [f for f in eff.post.changed(s) if not _declared(name, f)]
    if stray:
        raise AssertionError(f"encoding of {name} writes undeclared field(s) {stray}")
    return eff


def frame(name: str) -> tuple[str, ...]:
    """Fields that action ``name`` leaves unchanged (its frame)."""
    return tuple(f for f in FIELDS if not _declared(name, f))


@dataclass
class StepTerms:
    """One unrolled step: its selector, parameters, per-action effects and side constraints."""

    sel: Any
    params: Params
    effects: dict[str, Effect]
    constraints: list[Any]
    post: SymState


def _with(params: Params, over: dict[str, Any]) -> Params:
    vals = {f: getattr(params, f) for f in Params.__dataclass_fields__}
    for f, v in over.items():
        vals[f] = tuple(z3.IntVal(x) for x in v) if f == "path" else z3.IntVal(v)
    return Params(**vals)


def step_relation(
    pre: SymState,
    post: SymState | None,
    tag: str,
    mutant: Mutant | None,
    names: tuple[str, ...] = ACTION_NAMES,
    extra_guard: Callable[[str, SymState, Params], list[Any]] | None = None,
    variants: dict[str, list[dict[str, Any]]] | None = None,
    *,
    name_arrays: bool = False,
) -> StepTerms:
    """``T(pre, post)``: some action among ``names`` is enabled and ``post`` is its effect.

    With ``post=None`` the post-state is built instead: scalars as fresh constants equated to
    their next value, arrays as the next-value terms themselves (no array equalities: faster
    for guided BMC) or, with ``name_arrays``, as fresh constants too (exhaustive BMC: a read
    of the state before the last step is then one term, which its hints can speak of without
    unfolding every earlier step); ``StepTerms.post`` is it.
    ``variants`` (BMC) splits an action over concrete values of its finite parameters (a node,
    a link, a candidate path): one encoding per variant, chosen by ``var``, so that each is
    built from constants; the shared parameters are equated to the chosen variant's values.
    """
    sel, params = z3.Int(f"{tag}.sel"), Params.fresh(pre.c, f"{tag}.p")
    var = z3.Int(f"{tag}.var")
    effects: dict[str, Effect] = {}
    cons: list[Any] = []
    enabled = []
    for name in names:
        code = ACTION_NAMES.index(name)
        options = (variants or {}).get(name) or [{}]
        posts: list[SymState] = []
        for vi, over in enumerate(options):
            ctx = Ctx(pre.c, f"{tag}.{name}.{vi}", mutant)
            eff = encode(name, pre, _with(params, over), ctx)
            when = z3.And(sel == code, var == vi) if len(options) > 1 else sel == code
            g = list(eff.guard) + (extra_guard(name, pre, params) if extra_guard else [])
            g += [getattr(params, f) == getattr(_with(params, over), f) for f in over
                  if f != "path"]  # fmt: skip
            g += [a == b for a, b in zip(params.path, _with(params, over).path, strict=True)
                  if "path" in over]  # fmt: skip
            enabled.append(z3.And(when, *g))
            if ctx.side:
                cons.append(z3.Implies(when, z3.And(ctx.side)))
            posts.append(eff.post)
            effects[name] = eff
        merged = posts[-1]
        for vi in range(len(posts) - 2, -1, -1):
            merged = _merge(var == vi, posts[vi], merged)
        # the ids it touches: the last variant's (every variant builds them from the same
        # parameters); its post-state: all variants'
        effects[name] = replace(effects[name], post=merged)
    cons.append(z3.Or(enabled))
    fields: dict[str, Any] = {}
    for f in FIELDS:
        val = pre[f]
        for name in reversed(names):
            nv = effects[name].post[f]
            if nv is not pre[f]:
                val = z3.If(sel == ACTION_NAMES.index(name), nv, val)
        if post is not None:
            cons.append(post[f] == val)
        elif isinstance(val.sort(), z3.ArraySortRef) and not name_arrays:
            fields[f] = val
        else:
            fields[f] = z3.Const(f"{tag}'.{f}", val.sort())
            cons.append(fields[f] == val)
    out = post if post is not None else SymState(pre.c, fields)
    return StepTerms(sel, params, effects, cons, out)


def _const_array(srt: Any, field: str) -> Any:
    rng = srt.range()
    if isinstance(rng, z3.ArraySortRef):
        return z3.K(z3.IntSort(), _const_array(rng, field))
    if rng == z3.BoolSort():
        return z3.K(z3.IntSort(), z3.BoolVal(False))
    return z3.K(z3.IntSort(), z3.IntVal(-1 if field == "r_path" else 0))


def initial_state(c: Consts) -> SymState:
    """Init as a concrete state (every array a constant): what BMC unrolls from."""
    vals: dict[str, Any] = {}
    for f, t in SymState.fresh(c, "init").items():
        srt = t.sort()
        if isinstance(srt, z3.ArraySortRef):
            vals[f] = _const_array(srt, f)
        else:
            vals[f] = z3.BoolVal(False) if srt == z3.BoolSort() else z3.IntVal(0)
    vals["next_id"] = z3.IntVal(1)
    return SymState(c, vals)


def init_constraints(s: SymState) -> list[Any]:
    """Init (``Model.init``): time zero, no pairs, messages or routes, everything up."""
    zero, false = z3.K(z3.IntSort(), z3.IntVal(0)), z3.K(z3.IntSort(), z3.BoolVal(False))
    return [
        s["now"] == 0, s["next_id"] == 1, s["deliveries"] == 0, z3.Not(s["ld_some"]),
        s["ndown"] == false, s["epoch"] == zero, s["memory_used"] == zero, s["ldown"] == false,
        s["lseq"] == zero, s["view"] == z3.K(z3.IntSort(), zero),
        s["heard"] == z3.K(z3.IntSort(), zero), s["nroutes"] == zero,
        s["p_ex"] == false, s["m_ex"] == false, s["r_ex"] == false,
    ]  # fmt: skip
