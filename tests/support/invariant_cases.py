"""Shared pieces of the invariant tests (spec §5, §6): a predicate's verdict on a run's
state, a tampered state, and short runs.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from pqms_model.invariants import INVARIANTS
from pqms_model.protocol.actions import Deliver, UsePair
from pqms_model.protocol.state import EndStatus, MsgKind, State
from tests.support.builders import EARTH, Run
from tests.support.model_cases import VIA_L1, two_hop_heralded

__all__ = ["VIA_L1", "E", "check", "delivered", "two_hop_heralded", "with_pair"]

E = EndStatus


def check(inv: str, r: Run, s: State | None = None) -> str | None:
    """The predicate of invariant ``inv`` on ``s`` (default: the run's current state)."""
    return INVARIANTS[inv].predicate(r.m, r.s if s is None else s)


def with_pair(s: State, pid: int, **changes: Any) -> State:
    """``s`` with pair ``pid``'s fields replaced (a tampered state)."""
    return replace(s, pairs=s.pairs.set(pid, replace(s.pairs[pid], **changes)))


def delivered(r: Run) -> int:
    """An earth -> moon pair pooled, used and delivered on arrival; returns the pair id."""
    pid = r.pooled_pair()
    r.step(UsePair(pid, EARTH))
    bits = r.msg(MsgKind.BITS, pair=pid)
    r.advance_to(bits.arrive_us).step(Deliver(bits.id))
    return pid
