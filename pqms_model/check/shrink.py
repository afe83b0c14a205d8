"""Shrinking a failing run (spec §8): delta debugging on its concrete actions.

:func:`shrink` drops steps while the run still violates the same invariant first (ddmin,
Zeller, then windows of two or three adjacent steps: a fault and its repair go together), ids
renumbered so that a step that made a record keeps naming the record the shorter run made, then
merges adjacent time steps. It works on the actions, not on a driver's random draws (a dropped
step would shift what every later draw means), so it shortens runs of every driver alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from pqms_model.errors import NotEnabled
from pqms_model.invariants import violations
from pqms_model.model.transition import Model
from pqms_model.protocol.actions import Action, AdvanceTime, action_params
from pqms_model.protocol.state import State

__all__ = ["Counterexample", "shrink"]


@dataclass(frozen=True)
class Counterexample:
    """A shrunk walk whose last step violates ``invariant``."""

    invariant: str
    reason: str
    actions: tuple[Action, ...]
    times_us: tuple[int, ...]  # the clock before each action

    @property
    def length(self) -> int:
        return len(self.actions)

    def lines(self) -> list[str]:
        """The walk, readably: one line per step (``repr`` is valid Python), then the verdict."""
        steps = zip(self.times_us, self.actions, strict=True)
        out = [f"{k:>4}  t={t} us  {a!r}" for k, (t, a) in enumerate(steps, 1)]
        return [*out, f"      violates {self.invariant}: {self.reason}"]


_ID_FIELDS = frozenset({"pair", "msg", "route", "left", "right", "keep", "sacrifice"})
"""Action parameters that name a record by id (every id comes from ``State.next_id``)."""


@dataclass(frozen=True)
class _Run:
    kept: list[int]  # indices into the original actions, of the steps that ran
    actions: list[Action]  # as run (ids renumbered)
    before: list[tuple[State, dict[int, int]]]  # state and id map before each step
    reason: str


def _made(model: Model, actions: Sequence[Action]) -> list[range]:
    """The ids each step of an executable run makes."""
    made, s = [], model.init()
    for a in actions:
        nxt = model.step(s, a)
        made.append(range(s.next_id, nxt.next_id))
        s = nxt
    return made


def _replay(
    model: Model,
    actions: Sequence[Action],
    made: list[range],
    keep: list[int],
    invariant: str,
    base: _Run | None = None,
) -> _Run | None:
    """Run the steps ``keep`` from Init, renumbering ids (an id step k made originally maps to
    the id step k makes now); the run if it violates ``invariant`` first, else None. The part
    of ``keep`` that starts like ``base`` (a run that ended in the violation) is not re-run."""
    c = 0
    if base is not None:
        while c < len(base.kept) - 1 and c < len(keep) and keep[c] == base.kept[c]:
            c += 1
    if c:
        assert base is not None
        run = _Run(keep[:c], base.actions[:c], base.before[:c], "")
        s, ids = base.before[c][0], dict(base.before[c][1])
    else:
        run, s, ids = _Run([], [], [], ""), model.init(), {}
    for k in keep[c:]:
        a = actions[k]
        fields = _ID_FIELDS.intersection(action_params(a))
        if any(getattr(a, f) not in ids for f in fields):
            return None  # it names a record that a dropped step made
        a = replace(a, **{f: ids[getattr(a, f)] for f in fields}) if fields else a
        try:
            nxt = model.step(s, a)
        except NotEnabled:
            return None
        run.before.append((s, dict(ids)))
        ids.update(zip(made[k], range(s.next_id, nxt.next_id), strict=False))
        run.kept.append(k)
        run.actions.append(a)
        s = nxt
        found = violations(model, s)
        if found:
            ok = found[0].invariant == invariant
            return replace(run, reason=found[0].reason) if ok else None
    return None


def _drop(model: Model, actions: Sequence[Action], invariant: str, best: _Run) -> _Run:
    """ddmin (Zeller): drop one of n chunks while that still fails, else refine n; then any
    window of 2 or 3 adjacent steps (a fault and its repair go together)."""
    made = _made(model, actions)
    n = 2
    while len(best.kept) >= 2:
        keep = best.kept
        size = -(-len(keep) // n)
        tries = (_replay(model, actions, made, keep[:i] + keep[i + size :], invariant, best)
                 for i in range(0, len(keep), size))  # fmt: skip
        found = next((r for r in tries if r is not None), None)
        if found is not None:
            best, n = found, max(n - 1, 2)
        elif size == 1:
            break
        else:
            n = min(2 * n, len(keep))
    changed = True
    while changed:
        changed = False
        for width in (2, 3):
            keep = best.kept
            for i in range(len(keep) - width + 1):
                r = _replay(model, actions, made, keep[:i] + keep[i + width :], invariant, best)
                if r is not None:
                    best, changed = r, True
                    break
    return best


def shrink(model: Model, actions: Sequence[Action], invariant: str) -> Counterexample:
    """The shortest run found from ``actions`` that still violates ``invariant`` first: steps
    dropped by :func:`_drop`, then adjacent time steps merged into one."""
    everything = list(range(len(actions)))
    best = _replay(model, actions, _made(model, actions), everything, invariant)
    if best is None:
        raise ValueError(f"the run does not violate {invariant} first; nothing to shrink")
    best = _drop(model, actions, invariant, best)
    acts, k = list(best.actions), 0
    while k + 1 < len(acts):
        a, b = acts[k], acts[k + 1]
        if isinstance(a, AdvanceTime) and isinstance(b, AdvanceTime):
            merged = [*acts[:k], AdvanceTime(dt_us=a.dt_us + b.dt_us), *acts[k + 2 :]]
            try:
                r = _replay(
                    model, merged, _made(model, merged), list(range(len(merged))), invariant
                )
            except NotEnabled:
                r = None
            if r is not None:
                acts, best = r.actions, r
                continue
        k += 1
    times = tuple(state.now_us for state, _ in best.before)
    return Counterexample(invariant, best.reason, tuple(best.actions), times)
