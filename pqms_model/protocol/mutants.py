"""Mutants (spec §6): deliberately broken protocol variants, each named after the bug it plants.

Every checker must refute every mutant with a counterexample that violates the invariant the
mutant names. ``instant-effect`` is the whitepaper's literal §3.3 claim.

>>> Mutant.parse("instant-effect").breaks
('causality',)
>>> Mutant.parse("nope")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
ValueError: unknown mutant 'nope' (valid: instant-effect, threshold-at-send, ...)
"""

from __future__ import annotations

import enum

__all__ = ["Mutant"]


class Mutant(enum.Enum):
    """A broken variant of the protocol: (id, description, invariants it breaks)."""

    INSTANT_EFFECT = (
        "instant-effect",
        "Whitepaper §3.3 taken literally: the receiver's effect happens at the sender's trigger "
        "time ('augenblicklich'), without waiting for the two classical bits.",
        ("causality",),
    )
    THRESHOLD_AT_SEND = (
        "threshold-at-send",
        "Fidelity checked at send time only; the receiver corrects whatever arrives, so decay "
        "during the classical transit goes unchecked.",
        ("fidelity-on-use",),
    )
    NO_THRESHOLD = (
        "no-threshold",
        "No fidelity check at use or delivery: any pooled pair is used and delivered.",
        ("fidelity-on-use",),
    )
    REUSE_AFTER_USE = (
        "reuse-after-use",
        "The sender's half stays in the pool after a use, so the same pair can be used again.",
        ("no-double-use", "pool-consistency"),
    )
    EARLY_ADMIT = (
        "early-admit",
        "A half is admitted to the pool before its herald / swap message has arrived.",
        ("causality",),
    )
    OVERCOMMIT_MEMORY = (
        "overcommit-memory",
        "Link generation does not check for a free memory qubit at either end.",
        ("memory-capacity",),
    )
    ONE_SIDED_EXPIRY = (
        "one-sided-expiry",
        "An end discards a pooled pair on a local decision, before the shared deadline, "
        "without telling its partner.",
        ("pool-consistency",),
    )
    CRASH_SILENT = (
        "crash-silent",
        "A receiver whose half was lost in a crash still corrects a fresh qubit and reports "
        "success.",
        ("no-silent-failure",),
    )
    DOUBLE_SWAP = (
        "double-swap",
        "A swap ignores the designated swapper, so both ends of a middle pair may swap it.",
        ("no-double-use", "swap-follows-schedule"),
    )
    SWAP_NO_WAIT = (
        "swap-no-wait",
        "The far ends of a swapped pair treat it as usable at once, before the swap's "
        "correction message arrives.",
        ("causality",),
    )
    BOTH_ENDS_SEND = (
        "both-ends-send",
        "Pools are treated as undirected: either end may use a pooled pair, so both ends can "
        "use the same pair at once.",
        ("no-double-use",),
    )
    ROUTE_THROUGH_DOWN = (
        "route-through-down",
        "The sender chooses a route without consulting its link-state view, so a route may use "
        "a link it knows is down.",
        ("route-believed-up",),
    )

    def __init__(self, key: str, description: str, breaks: tuple[str, ...]) -> None:
        self.key = key
        self.description = description
        self.breaks = breaks

    @classmethod
    def parse(cls, key: str) -> Mutant:
        for m in cls:
            if m.key == key:
                return m
        raise ValueError(f"unknown mutant {key!r} (valid: {', '.join(cls.keys())})")

    @classmethod
    def keys(cls) -> tuple[str, ...]:
        return tuple(m.key for m in cls)
