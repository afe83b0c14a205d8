"""Finite domains of the encoding (spec/proofs.md §1): every enum of the model as an integer.

The Z3 encoding works over linear integer arithmetic, so each status, message kind, schedule and
outcome of :mod:`pqms_model.protocol.state` is coded as its position in the enum's declaration
order. ``NONE`` (-1) stands for a missing optional (no swapper, no pair, not yet known).

>>> STATUS[EndStatus.READY], status_of(STATUS[EndStatus.READY])
(2, <EndStatus.READY: 'ready'>)
>>> sorted(LIVE_CODES)
[0, 2, 3]
"""

from __future__ import annotations

from pqms_model.protocol.state import LIVE, EndStatus, MsgKind, Outcome, Schedule

__all__ = [
    "KIND",
    "LIVE_CODES",
    "NONE",
    "OUTCOME",
    "SCHED",
    "STATUS",
    "kind_of",
    "outcome_of",
    "sched_of",
    "status_of",
]

NONE = -1
"""Code of a missing optional value (no swapper, not yet known, no pair)."""

STATUS: dict[EndStatus, int] = {st: i for i, st in enumerate(EndStatus)}
KIND: dict[MsgKind, int] = {k: i for i, k in enumerate(MsgKind)}
SCHED: dict[Schedule, int] = {k: i for i, k in enumerate(Schedule)}
OUTCOME: dict[Outcome, int] = {k: i for i, k in enumerate(Outcome)}

LIVE_CODES = frozenset(STATUS[st] for st in LIVE)
"""Codes of the end statuses that occupy a memory qubit (PENDING, READY, POOLED)."""


def status_of(code: int) -> EndStatus:
    return list(EndStatus)[code]


def kind_of(code: int) -> MsgKind:
    return list(MsgKind)[code]


def sched_of(code: int) -> Schedule:
    return list(Schedule)[code]


def outcome_of(code: int) -> Outcome:
    return list(Outcome)[code]
