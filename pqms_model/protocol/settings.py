"""The protocol's choices, as one record (spec §6): what the rules and the encoding read.

Every choice the protocol makes where a plausible design would differ is a field of
:class:`Protocol`, named after what the protocol does: who may send, where the threshold is
checked, whether the bits travel, ... The record's defaults are the correct protocol; each
mutant (:mod:`pqms_model.protocol.mutants`) is one such record that differs in a field or two.
The model (:mod:`pqms_model.model`) and the Z3 encoding (:mod:`pqms_model.proofs.encoding`) read
the same record, so a mutant is the same protocol in both.

>>> CORRECT.senders.value, CORRECT.sender_check.value
('pool-sender', 'predicted-at-correction')
>>> differences(Protocol(bits_travel=False))
{'bits_travel': (True, False)}
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, fields
from typing import Any

__all__ = [
    "CORRECT",
    "Expiry",
    "Protocol",
    "SenderCheck",
    "Senders",
    "differences",
]


class Senders(enum.Enum):
    """Which end of a pooled pair may use it."""

    POOL_SENDER = "pool-sender"  # only the pool's declared sender (pools are directed)
    EITHER_END = "either-end"  # either end (the pool treated as undirected)


class SenderCheck(enum.Enum):
    """What the sender checks before it uses a pooled pair."""

    PREDICTED_AT_CORRECTION = "predicted-at-correction"  # within the cut-off, and the cost the
    #     receiver will see at its correction (send time + light time) meets the threshold
    AT_SEND = "at-send"  # the cost at send time meets the threshold (transit decay unchecked)
    NONE = "none"  # nothing: any pooled pair is used


class Expiry(enum.Enum):
    """When an end may discard its half of a pair."""

    SHARED_CUTOFF = "shared-cutoff"  # only past the cut-off both ends computed alike
    LOCAL_ANY_TIME = "local-any-time"  # a pooled half at any time, on a local decision


@dataclass(frozen=True, slots=True)
class Protocol:
    """The protocol's choices; the defaults are the correct protocol (spec §3)."""

    route_avoids_believed_down: bool = True
    """choose_route: the sender refuses a path with a link its own view has down."""
    generation_needs_free_memory: bool = True
    """generate_link: a free memory qubit at both ends of the hop."""
    swap_only_at_scheduled_node: bool = True
    """swap: only the node the route's schedule names may swap a pair."""
    far_ends_wait_for_swap_notice: bool = True
    """swap: the far ends learn of the new pair from the swap's message, not at once."""
    admit_only_known_ready: bool = True
    """admit: only a half whose herald / swap / purify news has arrived here."""
    expiry: Expiry = Expiry.SHARED_CUTOFF
    """expire: when an end may discard its half."""
    senders: Senders = Senders.POOL_SENDER
    """use_pair: who may use a pooled pair."""
    sender_check: SenderCheck = SenderCheck.PREDICTED_AT_CORRECTION
    """use_pair: what the sender checks first."""
    use_spends_the_half: bool = True
    """use_pair: the sender's half leaves the pool (it was measured)."""
    bits_travel: bool = True
    """use_pair: the two bits reach the receiver one light time later (not at the trigger)."""
    receiver_checks_threshold: bool = True
    """deliver: the receiver reports a use whose cost at correction exceeds the threshold."""
    lost_half_reported: bool = True
    """deliver: a receiver whose half is gone reports the use failed."""


CORRECT = Protocol()
"""The correct protocol: every choice at its default."""


def differences(p: Protocol, base: Protocol = CORRECT) -> dict[str, tuple[Any, Any]]:
    """The fields where ``p`` differs from ``base``: name -> (base's value, p's value)."""
    return {
        f.name: (getattr(base, f.name), getattr(p, f.name))
        for f in fields(p)
        if getattr(p, f.name) != getattr(base, f.name)
    }
