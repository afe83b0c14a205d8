"""Reading a Z3 model as a trace (spec/proofs.md §5): actions with concrete parameters.

A BMC model assigns every step a selector (which action) and the shared parameters; this module
turns them into the model's :class:`~pqms_model.protocol.actions.Action` records, so that
``trace.build_trace`` can run them on the executable model, and checks that the states Z3
found agree with the model's on every encoded field.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import z3

from pqms_model.proofs.conformance import claims
from pqms_model.proofs.encoding.abstraction import alpha
from pqms_model.proofs.encoding.codes import sched_of
from pqms_model.proofs.encoding.consts import Consts
from pqms_model.proofs.encoding.core import Params
from pqms_model.proofs.encoding.state import SymState
from pqms_model.proofs.encoding.transition import ACTION_NAMES
from pqms_model.protocol.actions import ACTION_TYPES, Action
from pqms_model.protocol.state import State

__all__ = ["decode_action", "state_mismatches"]

_SLOT = {
    "pair": "pair1", "left": "pair1", "keep": "pair1", "right": "pair2", "sacrifice": "pair2",
    "msg": "msg", "route": "route", "hop": "hop", "link": "link", "pool": "pool",
    "dt_us": "dt", "extra_us": "extra", "node": "node", "success": "success",
    "path": "path", "schedule": "sched",
}  # fmt: skip
"""Action field -> parameter slot (the inverse of ``Params.of_action``)."""


def _int(m: z3.ModelRef, t: Any) -> int:
    return int(m.eval(t, model_completion=True).as_long())


def decode_action(m: z3.ModelRef, c: Consts, sel: Any, params: Params) -> Action:
    """The action a step's selector and parameters denote in model ``m``."""
    name = ACTION_NAMES[_int(m, sel)]
    cls = ACTION_TYPES[name]
    kw: dict[str, Any] = {}
    for f in fields(cls):
        slot = _SLOT[f.name]
        if slot == "node":
            kw[f.name] = c.names[_int(m, params.node)]
        elif slot == "success":
            kw[f.name] = z3.is_true(m.eval(params.success, model_completion=True))
        elif slot == "path":
            n = _int(m, params.plen)
            kw[f.name] = tuple(c.names[_int(m, params.path[k])] for k in range(n))
        elif slot == "sched":
            kw[f.name] = sched_of(_int(m, params.sched))
        else:
            kw[f.name] = _int(m, getattr(params, slot))
    return cls(**kw)


def state_mismatches(
    m: z3.ModelRef, c: Consts, s: SymState, model_state: State, before: State | None
) -> list[str]:
    """Encoded fields on which the Z3 state ``s`` (read in ``m``) and the model's state differ."""
    after = alpha(c, model_state)
    prev = alpha(c, before) if before is not None else after
    return [label for label, t in claims(s, prev, after)
            if not z3.is_true(m.eval(t, model_completion=True))]  # fmt: skip
