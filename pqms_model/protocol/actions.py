"""Actions (spec §3 protocol, §4 environment): frozen records, one class per named step.

Each action's ``name`` is the id used in the spec, the proofs, the traces and the tests. The
``repr`` is valid Python, so a failing run prints as a program that re-runs it.

>>> UsePair(pair=7, node="earth")
UsePair(pair=7, node='earth')
>>> UsePair(pair=7, node="earth").name, AdvanceTime(dt_us=5).name
('use_pair', 'advance_time')
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar

from pqms_model.protocol.state import Schedule

__all__ = [
    "ACTION_TYPES",
    "ENVIRONMENT_ACTIONS",
    "PROTOCOL_ACTIONS",
    "Action",
    "Admit",
    "AdvanceTime",
    "ChooseRoute",
    "Crash",
    "DelayMessage",
    "Deliver",
    "DropRoute",
    "Expire",
    "GenerateLink",
    "LinkDown",
    "LinkUp",
    "Purify",
    "Receive",
    "Recover",
    "Swap",
    "UsePair",
    "action_params",
]


@dataclass(frozen=True, slots=True)
class Action:
    """Base of every action; ``name`` is the spec's id for it."""

    name: ClassVar[str] = "action"
    environment: ClassVar[bool] = False


# --- protocol actions ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChooseRoute(Action):
    """The pool's sender picks a path (believed up) and a swap schedule to refill along."""

    name: ClassVar[str] = "choose_route"
    pool: int
    path: tuple[str, ...]
    schedule: Schedule


@dataclass(frozen=True, slots=True)
class DropRoute(Action):
    """The pool's sender stops refilling along a route (failover, or fewer routes needed)."""

    name: ClassVar[str] = "drop_route"
    route: int


@dataclass(frozen=True, slots=True)
class GenerateLink(Action):
    """Heralded elementary generation on hop ``hop`` of ``route`` (path[hop] -> path[hop+1])."""

    name: ClassVar[str] = "generate_link"
    route: int
    hop: int


@dataclass(frozen=True, slots=True)
class Receive(Action):
    """A node takes a herald, swap, purification-result, reset, route or link-state message."""

    name: ClassVar[str] = "receive"
    msg: int


@dataclass(frozen=True, slots=True)
class Swap(Action):
    """Bell-state measurement at ``node`` joining pairs ``left`` and ``right``."""

    name: ClassVar[str] = "swap"
    left: int
    right: int
    node: str


@dataclass(frozen=True, slots=True)
class Purify(Action):
    """BBPSSW round: ``sacrifice`` is measured to herald a better ``keep`` (both ends act)."""

    name: ClassVar[str] = "purify"
    keep: int
    sacrifice: int
    success: bool  # the parity outcome (chosen by the environment, with BBPSSW's probability)


@dataclass(frozen=True, slots=True)
class Admit(Action):
    """``node`` admits its READY half of an end-to-end pair into the pool."""

    name: ClassVar[str] = "admit"
    pair: int
    node: str


@dataclass(frozen=True, slots=True)
class Expire(Action):
    """Cut-off discard of ``node``'s half once the pair's shared deadline has passed."""

    name: ClassVar[str] = "expire"
    pair: int
    node: str


@dataclass(frozen=True, slots=True)
class UsePair(Action):
    """Teleportation: the sender at ``node`` measures its pooled half and sends two bits."""

    name: ClassVar[str] = "use_pair"
    pair: int
    node: str


@dataclass(frozen=True, slots=True)
class Deliver(Action):
    """The receiver takes the two bits (message ``msg``) and corrects: the use's effect."""

    name: ClassVar[str] = "deliver"
    msg: int


# --- environment actions ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AdvanceTime(Action):
    name: ClassVar[str] = "advance_time"
    environment: ClassVar[bool] = True
    dt_us: int


@dataclass(frozen=True, slots=True)
class LinkDown(Action):
    name: ClassVar[str] = "link_down"
    environment: ClassVar[bool] = True
    link: int


@dataclass(frozen=True, slots=True)
class LinkUp(Action):
    name: ClassVar[str] = "link_up"
    environment: ClassVar[bool] = True
    link: int


@dataclass(frozen=True, slots=True)
class Crash(Action):
    """Node crash: every qubit in its memory is lost; it stops acting."""

    name: ClassVar[str] = "crash"
    environment: ClassVar[bool] = True
    node: str


@dataclass(frozen=True, slots=True)
class Recover(Action):
    """The node restarts with empty memory, a new epoch, and tells every node (RESET)."""

    name: ClassVar[str] = "recover"
    environment: ClassVar[bool] = True
    node: str


@dataclass(frozen=True, slots=True)
class DelayMessage(Action):
    """Extra classical delay: a message in flight arrives ``extra_us`` later."""

    name: ClassVar[str] = "delay_message"
    environment: ClassVar[bool] = True
    msg: int
    extra_us: int


PROTOCOL_ACTIONS: tuple[type[Action], ...] = (
    ChooseRoute,
    DropRoute,
    GenerateLink,
    Receive,
    Swap,
    Purify,
    Admit,
    Expire,
    UsePair,
    Deliver,
)
ENVIRONMENT_ACTIONS: tuple[type[Action], ...] = (
    AdvanceTime,
    LinkDown,
    LinkUp,
    Crash,
    Recover,
    DelayMessage,
)
ACTION_TYPES: dict[str, type[Action]] = {
    cls.name: cls for cls in PROTOCOL_ACTIONS + ENVIRONMENT_ACTIONS
}


def action_params(action: Action) -> dict[str, Any]:
    """The parameters of an action, by field name."""
    return {f.name: getattr(action, f.name) for f in fields(action)}
