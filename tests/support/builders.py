"""Builders for hand-written runs on the default mesh (spec §3, §4): readable action sequences.

A :class:`Run` holds a :class:`~pqms_model.model.transition.Model` and its current state, applies
actions with :meth:`Run.step` (checking every invariant of the registry after each step unless told
not to) and records them, so a test reads as the protocol it drives and a mutant's run can be
replayed on the correct model (:meth:`Run.replay`). Ids are never guessed: the lookups
(:meth:`Run.msg_id`, :meth:`Run.new_pair`, …) find them in the state.

The composite steps (:meth:`Run.route`, :meth:`Run.link_pair`, :meth:`Run.pooled_pair`,
:meth:`Run.end_to_end`) advance time by the exact light times of the scenario
(``scenario.light_us``) and receive exactly the messages they wait for. :func:`short_max_wait`
and :func:`poor_relay_memory` are the default mesh with one pool or node changed, for the runs of
the resolved review notes (spec A5).

>>> r = Run()
>>> pid = r.pooled_pair()                      # earth -> moon, both halves in the pool
>>> r.s.pairs[pid].status
(<EndStatus.POOLED: 'pooled'>, <EndStatus.POOLED: 'pooled'>)
>>> r.s.now_us == 2 * r.light(EARTH, MOON)     # route message, then herald
True
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from pqms_model.errors import NotEnabled
from pqms_model.invariants import INVARIANTS, Violation
from pqms_model.model.transition import Model
from pqms_model.protocol.actions import (
    Action,
    Admit,
    AdvanceTime,
    ChooseRoute,
    GenerateLink,
    Receive,
    Swap,
)
from pqms_model.protocol.mutants import Mutant
from pqms_model.protocol.scenario import (
    Scenario,
    default_scenario_text,
    load_default,
    parse_scenario_text,
)
from pqms_model.protocol.schedule import split, swappers
from pqms_model.protocol.state import EndStatus, Message, MsgKind, Pair, Schedule, State

__all__ = [
    "EARTH",
    "L1",
    "L2",
    "LINK_EARTH_L1",
    "LINK_EARTH_MOON",
    "LINK_L1_L2",
    "LINK_L2_MARS",
    "LINK_MOON_L1",
    "MARS",
    "MOON",
    "POOL_EARTH_MARS",
    "POOL_EARTH_MOON",
    "POOL_MOON_MARS",
    "SCENARIO",
    "Replay",
    "Run",
    "all_violations",
    "last_us_with_cost_at_most",
    "poor_relay_memory",
    "short_max_wait",
]

SCENARIO: Scenario = load_default()
"""The embedded whitepaper mesh (``scenario.load_default()``), loaded once."""

EARTH, MOON, MARS, L1, L2 = "earth", "moon", "mars", "relay-l1", "relay-l2"
POOL_EARTH_MOON, POOL_EARTH_MARS, POOL_MOON_MARS = 0, 1, 2
LINK_EARTH_MOON, LINK_EARTH_L1, LINK_MOON_L1, LINK_L1_L2, LINK_L2_MARS = 0, 1, 2, 3, 4

E = EndStatus


_POOL_0 = 'a = "earth"\nb = "moon"\ntarget_size'  # where pool 0 starts in the default text


def _edited(name: str, edits: list[tuple[str, str, str]]) -> Scenario:
    """The default scenario's text with each ``(anchor, old, new)`` edit applied: the first
    ``old`` after ``anchor`` becomes ``new``."""
    text = default_scenario_text()
    for anchor, old, new in edits:
        start = text.index(anchor)
        at = text.index(old, start)
        text = text[:at] + new + text[at + len(old) :]
    return parse_scenario_text(text, f"<{name}>")


def short_max_wait() -> Scenario:
    """The default mesh with pool 0 (earth -> moon) waiting at most 100 s (instead of 600 s)."""
    sc = _edited(
        "default, pool 0 max_wait_s = 100",
        [(_POOL_0, "max_wait_s = 600.0", "max_wait_s = 100.0")],
    )
    assert sc.pools[POOL_EARTH_MOON].max_wait_us == 100_000_000
    return sc


def poor_relay_memory() -> Scenario:
    """The default mesh with a 2000 s memory at relay-l1 (instead of 6 h) and pool 0's threshold
    at fidelity 0.90 (instead of 0.95), so that a two-hop earth - relay-l1 - moon pair survives.

    relay-l1 is then the worst memory of that route: the pairs it holds decay faster than the
    earth - moon pair a swap there makes, whose fresh cut-off is later than its inputs'.
    """
    sc = _edited(
        "default, relay-l1 T = 2000 s, pool 0 F = 0.90",
        [
            ('name = "relay-l1"', "coherence_s = 21600.0", "coherence_s = 2000.0"),
            (_POOL_0, "threshold_fidelity = 0.95", "threshold_fidelity = 0.90"),
        ],
    )
    assert sc.node(L1).coherence_us == 2_000_000_000
    assert sc.node(L2).coherence_us == sc.node(EARTH).coherence_us == 21_600_000_000
    assert sc.pools[POOL_EARTH_MOON].threshold_fidelity == 0.90
    return sc


def all_violations(m: Model, s: State) -> list[Violation]:
    """Every violated invariant of the registry, lemmas included (``violations`` omits them)."""
    out = []
    for inv in INVARIANTS.values():
        reason = inv.predicate(m, s)
        if reason is not None:
            out.append(Violation(inv.id, reason))
    return out


@dataclass(frozen=True)
class Replay:
    """What :meth:`Run.replay` saw: the last state, the violations after each accepted step,
    and the 1-based index and error of the first rejected step (``None`` if all ran)."""

    state: State
    seen: list[list[Violation]]
    rejected_at: int | None
    error: NotEnabled | None


def last_us_with_cost_at_most(m: Model, p: Pair, limit_nnp: int) -> int:
    """The last time at which pair ``p``'s cost is still <= ``limit_nnp`` (cost is monotone)."""
    lo, hi = p.stamp_us, p.stamp_us + 1
    assert m.cost_at(p, lo) <= limit_nnp
    while m.cost_at(p, hi) <= limit_nnp:
        lo, hi = hi, 2 * hi - p.stamp_us
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if m.cost_at(p, mid) <= limit_nnp else (lo, mid)
    return lo


@dataclass
class Run:
    """A model, its current state and the actions that led there from ``Model.init()``."""

    mutant: Mutant | None = None
    scenario: Scenario = SCENARIO
    check: bool = True  # check every invariant after every step (off for mutant runs)
    m: Model = field(init=False)
    s: State = field(init=False)
    log: list[Action] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        self.m = Model(self.scenario, self.mutant)
        self.s = self.m.init()

    # --- stepping ----------------------------------------------------------------------------

    def step(self, *actions: Action) -> Run:
        """Apply ``actions`` in order (raises NotEnabled); check every invariant after each."""
        for a in actions:
            self.s = self.m.step(self.s, a)
            self.log.append(a)
            if self.check:
                found = all_violations(self.m, self.s)
                assert not found, f"step {len(self.log)} {a!r} violates {found[0]}"
        return self

    def violations(self) -> list[Violation]:
        return all_violations(self.m, self.s)

    def broken(self) -> set[str]:
        """Ids of the invariants the current state violates."""
        return {v.invariant for v in self.violations()}

    def replay(self, model: Model) -> Replay:
        """Run this run's actions on ``model`` from Init, step by step, stopping at the first
        action ``model`` rejects; the violations (lemmas included) after every accepted step."""
        s = model.init()
        seen: list[list[Violation]] = []
        for k, a in enumerate(self.log, start=1):
            try:
                s = model.step(s, a)
            except NotEnabled as e:
                return Replay(s, seen, k, e)
            seen.append(all_violations(model, s))
        return Replay(s, seen, None, None)

    # --- time ----------------------------------------------------------------------------------

    def light(self, u: str, v: str) -> int:
        return self.scenario.light_us(u, v)

    def advance(self, dt_us: int) -> Run:
        return self.step(AdvanceTime(dt_us=dt_us))

    def advance_to(self, t_us: int) -> Run:
        """Advance to ``t_us`` (no step if already there)."""
        if t_us > self.s.now_us:
            self.advance(t_us - self.s.now_us)
        return self

    # --- lookups -------------------------------------------------------------------------------

    def msgs(
        self,
        kind: MsgKind | None = None,
        *,
        dst: str | None = None,
        src: str | None = None,
        pair: int | None = None,
        new_pair: int | None = None,
        route: int | None = None,
    ) -> list[Message]:
        """Messages in flight matching every given field, by id."""
        out = []
        for msg in sorted(self.s.messages.values(), key=lambda x: x.id):
            if kind is not None and msg.kind is not kind:
                continue
            if dst is not None and msg.dst != dst:
                continue
            if src is not None and msg.src != src:
                continue
            if pair is not None and msg.pair != pair:
                continue
            if new_pair is not None and msg.new_pair != new_pair:
                continue
            if route is not None and msg.route != route:
                continue
            out.append(msg)
        return out

    def msg(self, kind: MsgKind, **kw: str | int) -> Message:
        """The one message in flight matching ``kind`` and ``kw`` (fails if not exactly one)."""
        found = self.msgs(kind, **kw)  # type: ignore[arg-type]
        assert len(found) == 1, f"expected one {kind.value} message with {kw}, found {found}"
        return found[0]

    def msg_id(self, kind: MsgKind, **kw: str | int) -> int:
        return self.msg(kind, **kw).id

    def pair(self, pid: int) -> Pair:
        return self.s.pairs[pid]

    def status(self, pid: int, node: str) -> EndStatus:
        p = self.s.pairs[pid]
        return p.status[p.end(node)]

    def new_pair(self, before: State) -> int:
        """The one pair created between ``before`` and now."""
        made = [pid for pid in self.s.pairs if pid not in before.pairs]
        assert len(made) == 1, f"expected one new pair, got {made}"
        return made[0]

    # --- composite protocol steps ----------------------------------------------------------------

    def receive(self, msgs: Iterable[Message]) -> Run:
        """Advance to the latest arrival of ``msgs`` and receive them in arrival order."""
        todo = sorted(msgs, key=lambda x: (x.arrive_us, x.id))
        if todo:
            self.advance_to(todo[-1].arrive_us)
        for msg in todo:
            self.step(Receive(msg=msg.id))
        return self

    def choose_route(
        self, pool: int, path: tuple[str, ...], schedule: Schedule = Schedule.SEQUENTIAL
    ) -> int:
        """``choose_route``; returns the route's id (the route message is still in flight)."""
        rid = self.s.next_id
        self.step(ChooseRoute(pool=pool, path=path, schedule=schedule))
        return rid

    def route(
        self,
        pool: int = POOL_EARTH_MOON,
        path: tuple[str, ...] = (EARTH, MOON),
        schedule: Schedule = Schedule.SEQUENTIAL,
    ) -> int:
        """``choose_route``, then deliver the ROUTE message to every node of the path."""
        rid = self.choose_route(pool, path, schedule)
        self.receive(self.msgs(MsgKind.ROUTE, route=rid))
        assert self.s.routes[rid].known_by == frozenset(path)
        return rid

    def generate(self, rid: int, hop: int) -> int:
        """``generate_link`` on ``hop`` of route ``rid``; returns the new pair's id."""
        before = self.s
        self.step(GenerateLink(route=rid, hop=hop))
        return self.new_pair(before)

    def link_pair(self, rid: int, hop: int) -> int:
        """An elementary pair on ``hop``, READY at both ends (the herald has arrived)."""
        pid = self.generate(rid, hop)
        self.receive(self.msgs(MsgKind.HERALD, pair=pid))
        return pid

    def admit_both(self, pid: int) -> Run:
        p = self.s.pairs[pid]
        return self.step(Admit(pair=pid, node=p.nodes[0]), Admit(pair=pid, node=p.nodes[1]))

    def pooled_pair(self, rid: int | None = None) -> int:
        """An earth -> moon pair on the direct route, POOLED at both ends."""
        if rid is None:
            rid = self.route()
        pid = self.link_pair(rid, 0)
        self.admit_both(pid)
        return pid

    def swap(self, left: int, right: int, node: str) -> int:
        before = self.s
        self.step(Swap(left=left, right=right, node=node))
        return self.new_pair(before)

    def end_to_end(self, rid: int) -> int:
        """Build one end-to-end pair along route ``rid`` by its schedule, READY at both ends.

        Generates every hop and waits for the heralds, then swaps bottom-up through the
        schedule's tree, delivering each swap's two SWAP_DONE messages before its parent swap.
        """
        r = self.s.routes[rid]
        hops = len(r.path) - 1
        seg: dict[tuple[int, int], int] = {}
        for h in range(hops):
            seg[(h, h + 1)] = self.generate(rid, h)
        self.receive(m for pid in seg.values() for m in self.msgs(MsgKind.HERALD, pair=pid))
        tree = swappers(hops, r.schedule)
        for i, j in sorted((k for k in tree if k[1] - k[0] >= 2), key=lambda k: k[1] - k[0]):
            m = split(i, j, r.schedule)
            pid = self.swap(seg[(i, m)], seg[(m, j)], r.path[m])
            self.receive(self.msgs(MsgKind.SWAP_DONE, new_pair=pid))
            seg[(i, j)] = pid
        top = seg[(0, hops)]
        assert self.s.pairs[top].status == (E.READY, E.READY)
        return top
