"""Shared pieces of the model tests (spec §3, §4): the guard-case registry and short runs.

Every way an action can be rejected is a named case (a short run that ends in the state where
the guard fails, plus the action): a builder function that :func:`guard` turns into a
:class:`GuardCase` in one of the ``tests/support/guard_cases_*.py`` modules.
``tests/model/test_guards.py`` gathers the cases of those modules with :func:`cases_in`
(importing a module changes nothing shared) and checks each once. The runs below are shared by
guard cases and effect tests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType

from pqms_model.errors import NotEnabled
from pqms_model.protocol.actions import ACTION_TYPES, Action, UsePair
from pqms_model.protocol.state import EndStatus, MsgKind, Schedule
from tests.support.builders import EARTH, L1, L2, MARS, MOON, POOL_EARTH_MARS, POOL_EARTH_MOON, Run

E = EndStatus
SEQ, NESTED = Schedule.SEQUENTIAL, Schedule.NESTED
VIA_L1 = (EARTH, L1, MOON)  # the second shortest earth -> moon path: two hops, swapper relay-l1


# --- guard cases ------------------------------------------------------------------------------


@dataclass(frozen=True)
class GuardCase:
    """A run that ends where ``action`` is not enabled, and the reason it must give."""

    name: str
    action: str
    fragment: str
    build: Callable[[], tuple[Run, Action]]

    def __str__(self) -> str:  # the pytest id
        return self.name

    def reject(self) -> NotEnabled:
        """Run the case; return the NotEnabled that ``step`` raised (fail if it did not)."""
        r, a = self.build()
        assert a.name == self.action, f"case {self.name} builds {a.name}, not {self.action}"
        try:
            r.m.step(r.s, a)
        except NotEnabled as e:
            return e
        raise AssertionError(f"{a!r} was enabled in case {self.name}")


def guard(action: str, fragment: str) -> Callable[[Callable[[], tuple[Run, Action]]], GuardCase]:
    """Make the decorated builder a rejection case of ``action`` whose reason holds
    ``fragment``."""

    def case(build: Callable[[], tuple[Run, Action]]) -> GuardCase:
        return GuardCase(build.__name__, action, fragment, build)

    return case


def cases_in(*modules: ModuleType) -> dict[str, list[GuardCase]]:
    """The guard cases the modules define, per action name (every name in ``ACTION_TYPES``),
    in the order they are written."""
    out: dict[str, list[GuardCase]] = {name: [] for name in ACTION_TYPES}
    for mod in modules:
        for value in vars(mod).values():
            if isinstance(value, GuardCase):
                out[value.action].append(value)
    return out


def check_rejected(case: GuardCase) -> None:
    e = case.reject()
    assert e.action == case.action
    assert case.fragment in e.reason, f"{case.name}: {e.reason!r} lacks {case.fragment!r}"
    assert str(e) == f"{case.action} is not enabled: {e.reason}"


# --- runs shared by guard cases and effect tests ----------------------------------------------


def two_hop_heralded(r: Run) -> tuple[int, int, int]:
    """Route earth - relay-l1 - moon; both hops generated and heralded: (route, left, right)."""
    rid = r.route(POOL_EARTH_MOON, VIA_L1)
    left, right = r.generate(rid, 0), r.generate(rid, 1)
    r.receive(r.msgs(MsgKind.HERALD))
    return rid, left, right


def three_hop_swapped_twice(r: Run) -> tuple[int, int]:
    """Route earth - relay-l1 - relay-l2 - mars (SEQUENTIAL): the three hops heralded, A5 at
    relay-l1, its news taken at relay-l2, A5 at relay-l2; then time passes until relay-l2's news
    has reached earth. Both swap notices to earth have arrived, none is taken: (middle, top)."""
    rid = r.route(POOL_EARTH_MARS, (EARTH, L1, L2, MARS), SEQ)
    a, b, c = r.generate(rid, 0), r.generate(rid, 1), r.generate(rid, 2)
    r.receive(r.msgs(MsgKind.HERALD))
    middle = r.swap(a, b, L1)
    r.receive(r.msgs(MsgKind.SWAP_DONE, dst=L2))
    top = r.swap(middle, c, L2)
    r.advance(r.light(L2, EARTH))
    assert all(x.arrive_us <= r.s.now_us for x in r.msgs(MsgKind.SWAP_DONE, dst=EARTH))
    return middle, top


def two_ready_direct(r: Run) -> tuple[int, int]:
    rid = r.route()
    return r.link_pair(rid, 0), r.link_pair(rid, 0)


def used_pair(r: Run) -> tuple[int, int]:
    """A pooled earth -> moon pair, used by earth: (pair, BITS message)."""
    pid = r.pooled_pair()
    r.step(UsePair(pid, EARTH))
    return pid, r.msg_id(MsgKind.BITS, pair=pid)
