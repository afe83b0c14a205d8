"""Typed errors shared by every layer: each says what was wrong, where, and what would be valid."""

from __future__ import annotations

__all__ = ["EngineDrift", "NotEnabled", "PqmsError", "TraceError"]


class PqmsError(Exception):
    """Base class of pqms errors; ``str()`` is one line."""


class NotEnabled(PqmsError):
    """``step`` was given an action whose guard does not hold in the state.

    ``action`` names the action, ``reason`` the guard conjunct that failed.
    """

    def __init__(self, action: str, reason: str) -> None:
        self.action, self.reason = action, reason
        super().__init__(f"{action} is not enabled: {reason}")


class TraceError(PqmsError):
    """A trace that cannot be replayed: malformed, tampered or not executable."""

    def __init__(self, source: str, where: str, reason: str) -> None:
        self.source, self.where, self.reason = source, where, reason
        super().__init__(f"{source}: {where}: {reason}")


class EngineDrift(PqmsError):
    """Two of pqms's own engines disagree (the Z3 encoding and the model): no verdict can be
    given. Reported as inconclusive (exit 3), never as a pass or as bad input."""
