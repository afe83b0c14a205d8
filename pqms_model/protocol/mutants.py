"""Mutants (spec §6): deliberately broken protocol variants, each named after the bug it plants.

A mutant is a :class:`~pqms_model.protocol.settings.Protocol` record that differs from the
correct protocol in a choice or two (``Mutant.protocol``); the model and the encoding read that
record alike. Every checker must refute every mutant with a counterexample that violates the
invariant the mutant names. ``instant-effect`` is the whitepaper's literal §3.3 claim.

>>> Mutant.parse("instant-effect").breaks
('causality',)
>>> Mutant.parse("instant-effect").differences()
{'bits_travel': (True, False)}
>>> Mutant.parse("nope")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
ValueError: unknown mutant 'nope' (valid: instant-effect, threshold-at-send, ...)
"""

from __future__ import annotations

import enum
from dataclasses import replace
from typing import Any

from pqms_model.protocol.settings import CORRECT, Expiry, SenderCheck, Senders, differences

__all__ = ["Mutant"]


class Mutant(enum.Enum):
    """A broken variant of the protocol: (id, description, invariants it breaks)."""

    INSTANT_EFFECT = (
        "instant-effect",
        "Whitepaper §3.3 taken literally: the receiver's effect happens at the sender's trigger "
        "time ('augenblicklich'), without waiting for the two classical bits.",
        ("causality",),
        {"bits_travel": False},
    )
    THRESHOLD_AT_SEND = (
        "threshold-at-send",
        "Fidelity checked at send time only; the receiver corrects whatever arrives, so decay "
        "during the classical transit goes unchecked.",
        ("fidelity-on-use",),
        {"sender_check": SenderCheck.AT_SEND, "receiver_checks_threshold": False},
    )
    NO_THRESHOLD = (
        "no-threshold",
        "No fidelity check at use or delivery: any pooled pair is used and delivered.",
        ("fidelity-on-use",),
        {"sender_check": SenderCheck.NONE, "receiver_checks_threshold": False},
    )
    REUSE_AFTER_USE = (
        "reuse-after-use",
        "The sender's half stays in the pool after a use, so the same pair can be used again.",
        ("no-double-use", "pool-consistency"),
        {"use_spends_the_half": False},
    )
    EARLY_ADMIT = (
        "early-admit",
        "A half is admitted to the pool before its herald / swap message has arrived.",
        ("causality",),
        {"admit_only_known_ready": False},
    )
    OVERCOMMIT_MEMORY = (
        "overcommit-memory",
        "Link generation does not check for a free memory qubit at either end.",
        ("memory-capacity",),
        {"generation_needs_free_memory": False},
    )
    ONE_SIDED_EXPIRY = (
        "one-sided-expiry",
        "An end discards a pooled pair on a local decision, before the shared deadline, "
        "without telling its partner.",
        ("pool-consistency",),
        {"expiry": Expiry.LOCAL_ANY_TIME},
    )
    CRASH_SILENT = (
        "crash-silent",
        "A receiver whose half was lost in a crash still corrects a fresh qubit and reports "
        "success.",
        ("no-silent-failure",),
        {"lost_half_reported": False},
    )
    DOUBLE_SWAP = (
        "double-swap",
        "A swap ignores the designated swapper, so both ends of a middle pair may swap it.",
        ("no-double-use", "swap-follows-schedule"),
        {"swap_only_at_scheduled_node": False},
    )
    SWAP_NO_WAIT = (
        "swap-no-wait",
        "The far ends of a swapped pair treat it as usable at once, before the swap's "
        "correction message arrives.",
        ("causality",),
        {"far_ends_wait_for_swap_notice": False},
    )
    BOTH_ENDS_SEND = (
        "both-ends-send",
        "Pools are treated as undirected: either end may use a pooled pair, so both ends can "
        "use the same pair at once.",
        ("no-double-use",),
        {"senders": Senders.EITHER_END},
    )
    ROUTE_THROUGH_DOWN = (
        "route-through-down",
        "The sender chooses a route without consulting its link-state view, so a route may use "
        "a link it knows is down.",
        ("route-believed-up",),
        {"route_avoids_believed_down": False},
    )

    def __init__(
        self, key: str, description: str, breaks: tuple[str, ...], changes: dict[str, Any]
    ) -> None:
        self.key = key
        self.description = description
        self.breaks = breaks
        self.protocol = replace(CORRECT, **changes)
        """The protocol this mutant runs: the correct one with its planted choices."""

    def differences(self) -> dict[str, tuple[Any, Any]]:
        """Where this mutant's protocol differs from the correct one: field -> (correct,
        planted)."""
        return differences(self.protocol)

    @classmethod
    def parse(cls, key: str) -> Mutant:
        for m in cls:
            if m.key == key:
                return m
        raise ValueError(f"unknown mutant {key!r} (valid: {', '.join(cls.keys())})")

    @classmethod
    def keys(cls) -> tuple[str, ...]:
        return tuple(m.key for m in cls)
