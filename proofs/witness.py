"""Existential witnesses in invariant bodies (spec/proofs.md §3, "Witnesses").

A few invariants say *some message is in flight* (pool-consistency: the two bits of a use, or a
crashed partner's RESET). A body asks ``w.exists_msg(key, pred)``; what that means depends on
where the body is used:

* :class:`Skolem` (pre-state hypotheses): a fresh constant per key, so ``pred(w_key)`` is
  assumed (sound Skolemisation of an assumed existential);
* :class:`Candidates` (post-state goals): ``Or(pred(m) for m in candidates)`` over the pre-state
  witnesses of the same kind and the messages the action sent; proving a disjunct proves the
  existential (sound, and complete for this protocol: a message in flight either stays or was
  just sent);
* :class:`Finite` (BMC and concrete states): ``Or`` over an explicit list of message ids.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence
from typing import Any

import z3

__all__ = ["Candidates", "Finite", "Skolem", "Witness"]

Pred = Callable[[Any], Any]


class Witness(abc.ABC):
    """How ``exists_msg`` is read; see the module docstring."""

    @abc.abstractmethod
    def exists_msg(self, key: str, pred: Pred) -> Any:
        """``pred(m)`` for some message ``m``, in this reading."""


class Skolem(Witness):
    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.made: dict[str, Any] = {}

    def exists_msg(self, key: str, pred: Pred) -> Any:
        if key not in self.made:
            self.made[key] = z3.Int(f"{self.tag}.w[{key}]")
        return pred(self.made[key])


class Candidates(Witness):
    def __init__(self, pre: Skolem, new_msgs: Sequence[Any]) -> None:
        self.pre, self.new_msgs = pre, list(new_msgs)

    def exists_msg(self, key: str, pred: Pred) -> Any:
        kind, tag = key.split("|")[:2]
        if tag.startswith("rec") and key in self.pre.made:  # a node pair's news: its own
            olds = [self.pre.made[key]]
        else:  # any pre-state witness of the same kind may serve
            olds = [w for k, w in sorted(self.pre.made.items()) if k.split("|")[0] == kind]
        cands = [*olds, *self.new_msgs]
        return z3.Or([pred(m) for m in cands]) if cands else z3.BoolVal(False)


class Finite(Witness):
    def __init__(self, ids: Sequence[Any]) -> None:
        self.ids = list(ids)

    def exists_msg(self, key: str, pred: Pred) -> Any:
        return z3.Or([pred(m) for m in self.ids]) if self.ids else z3.BoolVal(False)
