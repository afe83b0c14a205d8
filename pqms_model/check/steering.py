"""Progress: how a driver steers a run toward protocol progress without deciding validity.

A uniform random walk over :meth:`Model.enabled` rarely completes a use: most enabled actions
serve other pools, break things, or let time pass beyond every deadline. :class:`Steering` gives
a driver, per action name, *candidates* (a superset of the enabled actions, preferred ones
first) and the *interesting instants* to advance time to; :func:`choose_kind` weights the kind
of step toward progress. Validity is never decided here: a candidate is taken only if
:meth:`Model.step` accepts it, so a mutant that relaxes a guard is explored exactly as its own
``step`` allows (every end of every pair is a candidate for ``admit``, ``use_pair``, ``expire``).

Preferred candidates: messages that have arrived; steps for the pool the run focuses on;
admitting a half once both ends know the pair (which leaves a moment to purify); sending from
the pool's sender; faults where a use is heading. Interesting instants: arrivals, cut-offs
(and one microsecond either side), the last chance to use a pooled pair, and the last instant a
pair is within its threshold (where a check at send and one at the receiver disagree).

>>> from pqms_model.protocol.scenario import load_default
>>> m = Model(load_default())
>>> steer = Steering(m)
>>> s = m.init()
>>> steer.time_points(s)
{}
>>> s = m.step(s, steer.pick(s, "choose_route", 0))
>>> s.routes[1].path, steer.time_points(s)["next"]    # the route message reaches the Moon base
(('earth', 'moon'), 1282221)
"""

from __future__ import annotations

from pqms_model.errors import NotEnabled
from pqms_model.model.transition import MAX_ADVANCE_US, Model
from pqms_model.protocol.actions import (
    ACTION_TYPES,
    Action,
    Admit,
    Crash,
    DelayMessage,
    Expire,
    UsePair,
)
from pqms_model.protocol.state import LIVE, EndStatus, MsgKind, Pair, State

__all__ = [
    "DISRUPTIONS",
    "FAULTS",
    "FAULT_CHOICES",
    "PREFER_BELOW",
    "PROGRESS_WEIGHTS",
    "Steering",
    "choose_kind",
]

FAULTS = frozenset(n for n, cls in ACTION_TYPES.items() if cls.environment) - {
    "advance_time", "link_up", "recover",
}  # fmt: skip
"""Environment actions that break something (not time passing, not repairs): budgeted per run."""

DISRUPTIONS = FAULTS | {"drop_route"}
"""Steps that undo progress: a walk takes one about once in twenty steps (:func:`choose_kind`)."""

FAULT_CHOICES = 13
"""Kind choices (of 256) that take a disruption, if one is enabled (and the budget allows)."""

PREFER_BELOW = 232
"""A candidate choice (0..255) below this keeps to the preferred candidates (9 draws in 10)."""

PROGRESS_WEIGHTS: dict[str, int] = {
    "deliver": 10,
    "use_pair": 10,
    "receive": 8,
    "admit": 8,
    "swap": 8,
    "purify": 8,
    "generate_link": 4,
    "advance_time": 4,
    "choose_route": 2,
    "expire": 2,
    "recover": 2,
    "link_up": 2,
    "crash": 2,
    "drop_route": 1,
    "delay_message": 1,
    "link_down": 1,
}
"""Relative weight of each kind of step among those enabled; in this order, a choice of 0 takes
the most progressive kind. An action missing here gets weight 2."""


def choose_kind(enabled: list[str], choice: int) -> str:
    """The action kind a walk's ``choice`` (0..255) selects among ``enabled`` names.

    The top :data:`FAULT_CHOICES` values pick a disruption (a fault, or dropping a route) when
    one is enabled, whatever else is, so disruptions are spread over a walk instead of crowding
    its quiet start; the other values pick among the rest by :data:`PROGRESS_WEIGHTS`.

    >>> choose_kind(["advance_time", "receive", "crash"], 0)
    'receive'
    >>> choose_kind(["advance_time", "receive", "crash"], 255)
    'crash'
    """
    rare = [n for n in enabled if n in DISRUPTIONS]
    calm = [n for n in enabled if n not in DISRUPTIONS]
    split = 256 - FAULT_CHOICES
    if rare and (choice >= split or not calm):
        return _weighted(rare, max(0, choice - split), FAULT_CHOICES)
    return _weighted(calm, min(choice, split - 1), split)


def _weighted(names: list[str], choice: int, out_of: int) -> str:
    order = [n for n in PROGRESS_WEIGHTS if n in names]
    order += sorted(n for n in names if n not in PROGRESS_WEIGHTS)
    weights = [PROGRESS_WEIGHTS.get(n, 2) for n in order]
    point = choice * sum(weights) // out_of
    for name, w in zip(order, weights, strict=True):
        if point < w:
            return name
        point -= w
    return order[-1]


_PAIR_END = ("admit", "use_pair", "expire")
_E = EndStatus
_BOTH_READY = (_E.READY, _E.READY)
_SCALES_US: tuple[int, ...] = tuple(
    int(10**k) for k in range(1, 10)
)  # free steps: <= 10 us..1000 s
_INSTANTS = ("use-by", "use-by", "arrival", "cutoff-1", "cutoff", "cutoff+1", "crossing",
             "crossing+1")  # fmt: skip


class Steering:
    """Candidates and interesting times for one model; caches per state (states are values).

    ``focus`` (a pool index, optional) puts the candidates that serve that pool first: its
    routes, generations along them, its pairs. A walk that focuses on one pool completes uses
    far more often than one that spreads over every pool; other pools stay reachable.
    """

    def __init__(self, model: Model, focus: int | None = None) -> None:
        self.model = model
        self.focus = focus
        self._state: State | None = None
        self._raw: dict[str, list[Action]] = {}  # per name, in the model's order
        self._ordered: dict[str, tuple[list[Action], int]] = {}  # (ordered, preferred count)
        self._stepped: dict[Action, State | None] = {}
        self._first: dict[str, Action | None] = {}
        self._crossing: dict[tuple[int, int, int, int], int | None] = {}

    def _at(self, s: State) -> None:
        """Forget what was cached for an earlier state."""
        if s is not self._state:
            self._state, self._raw, self._ordered, self._stepped, self._first = s, {}, {}, {}, {}

    # --- candidates --------------------------------------------------------------------------

    def candidates(self, s: State) -> dict[str, list[Action]]:
        """Per action name, the model's candidates in ``s`` (:meth:`Model.candidates`: a
        superset of the enabled ones), remembered for this state."""
        self._at(s)
        if not self._raw:
            self._raw = self.model.candidates(s)
        return self._raw

    @staticmethod
    def _usual(s: State, a: Action) -> bool:
        """Whether the correct protocol could take ``a`` (an end in the status its guard
        asks for): the model lists every end of every pair for ``admit``, ``use_pair`` and
        ``expire``, since a mutant may relax that conjunct; the others are tried last."""
        if isinstance(a, Admit | UsePair | Expire):
            p = s.pairs[a.pair]
            st = p.status[p.end(a.node)]
            if isinstance(a, Admit):
                return st is _E.READY
            return st is _E.POOLED if isinstance(a, UsePair) else st in LIVE
        return True

    def _pool_of(self, s: State, a: Action) -> int | None:
        """The pool an action works for, if it names one (directly, by route or by pair)."""
        if hasattr(a, "pool"):
            return int(a.pool)
        for attr, table in (
            ("route", s.routes),
            ("pair", s.pairs),
            ("left", s.pairs),
            ("keep", s.pairs),
        ):
            if hasattr(a, attr):
                rec = table.get(getattr(a, attr))
                return None if rec is None else int(rec.pool)
        return None

    def _rank(self, s: State, a: Action) -> int:
        """0 for a preferred candidate; larger ranks are tried later."""
        rank = 0
        if hasattr(a, "msg") and s.messages[a.msg].arrive_us > s.now_us:
            rank += 2  # not arrived yet
        if self.focus is not None and self._pool_of(s, a) not in (self.focus, None):
            rank += 1  # serves another pool
        if not self._usual(s, a):
            rank += 4  # an end the model does not propose (only a relaxed guard allows it)
        if isinstance(a, Admit) and a.pair in s.pairs:  # once both ends know the pair (this
            p = s.pairs[a.pair]  # leaves a moment to purify two fresh pairs first)
            rank += a.node in p.nodes and p.status[1 - p.end(a.node)] is _E.PENDING
        elif isinstance(a, UsePair) and a.pair in s.pairs:  # from the pool's sender
            rank += a.node != self.model.scenario.pools[s.pairs[a.pair].pool].a
        elif isinstance(a, Crash):  # a fault hurts most where a use is heading
            rank += all(m.dst != a.node or m.kind is not MsgKind.BITS for m in s.messages.values())
        elif isinstance(a, DelayMessage):
            rank += s.messages[a.msg].kind is not MsgKind.BITS
        return rank

    def ordered(self, s: State, name: str) -> tuple[list[Action], int]:
        """The candidates of ``name``, preferred first, and how many are preferred."""
        self._at(s)
        cands = self.candidates(s)[name]
        if name not in self._ordered:
            if name == "advance_time":
                self._ordered[name] = (cands, len(cands))
            else:
                ranks = {a: self._rank(s, a) for a in cands}
                best = sorted(cands, key=lambda a: ranks[a])
                self._ordered[name] = (best, sum(1 for r in ranks.values() if r == 0))
        return self._ordered[name]

    def pick(self, s: State, name: str, choice: int, strict: bool | None = None) -> Action | None:
        """The candidate a driver's ``choice`` (0..255) selects, or ``None`` if none is enabled.

        A choice below :data:`PREFER_BELOW` tries the preferred candidates first, from index
        ``choice`` on (modulo their number); a larger one tries all, from index ``choice`` on.
        ``strict=True`` never takes a candidate that is not preferred; ``strict=False`` falls
        back to all of them; by default (``None``) a protocol step falls back only for a choice
        of :data:`PREFER_BELOW` or more, so a step that is not preferred (admitting before the
        partner knows the pair, serving another pool) is taken by about one choice in ten,
        while faults strike anywhere.
        """
        cands, pref = self.ordered(s, name)
        if strict is None:
            strict = not ACTION_TYPES[name].environment and choice < PREFER_BELOW
        if choice < PREFER_BELOW or strict:
            first, rest = cands[:pref], cands[pref:]
        else:
            first, rest = cands, []
        k = choice % len(first) if first else 0
        order = first[k:] + first[:k] + ([] if strict else rest)
        return next((a for a in order if self.try_step(s, a) is not None), None)

    def try_step(self, s: State, a: Action) -> State | None:
        """The state after ``a``, or ``None`` if ``Model.step`` rejects it (cached per state)."""
        self._at(s)
        if a not in self._stepped:
            try:
                self._stepped[a] = self.model.step(s, a)
            except NotEnabled:
                self._stepped[a] = None
        return self._stepped[a]

    def first_enabled(self, s: State, name: str, strict: bool = False) -> Action | None:
        """The first candidate of ``name`` (preferred only, if ``strict``) that ``step``
        accepts in ``s``, if any."""
        self._at(s)
        if strict:
            cands, pref = self.ordered(s, name)
            return next((a for a in cands[:pref] if self.try_step(s, a)), None)
        if name not in self._first:
            cands = self.candidates(s).get(name, [])
            self._first[name] = next((a for a in cands if self.try_step(s, a)), None)
        return self._first[name]

    # --- interesting times -------------------------------------------------------------------

    def crossing_us(self, p: Pair) -> int | None:
        """Last instant at which ``p``'s cost is within its pool's threshold (None: never)."""
        key = (p.id, p.cost_nnp, p.stamp_us, p.pool)
        if key not in self._crossing:
            th = self.model.scenario.pools[p.pool].threshold_nnp
            lo = p.stamp_us
            if self.model.cost_at(p, lo) > th:
                self._crossing[key] = None
                return None
            step = 1
            while step < MAX_ADVANCE_US and self.model.cost_at(p, lo + step) <= th:
                lo, step = lo + step, step * 2
            hi = lo + step  # cost(lo) <= th < cost(hi), or hi is past any sensible horizon
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if self.model.cost_at(p, mid) <= th:
                    lo = mid
                else:
                    hi = mid
            self._crossing[key] = lo
        return self._crossing[key]

    def time_points(self, s: State) -> dict[str, int]:
        """Per kind of instant, the time step (us) to the earliest one still ahead: ``arrival``
        (of a message), ``cutoff-1``, ``cutoff``, ``cutoff+1`` (a pair's ``deadline_us``),
        ``use-by`` (the cut-off of a pair pooled at its sender: the last chance to use it),
        ``crossing``, ``crossing+1`` (the last instant an end-to-end pair is within its
        threshold) and ``next`` (the earliest of them all)."""
        now = s.now_us
        ahead: dict[str, list[int]] = {k: [] for k in _INSTANTS}
        for m in s.messages.values():
            ahead["arrival"].append(m.arrive_us - now)
        for p in s.pairs.values():
            if p.deadline_us >= 0:
                for d, k in ((-1, "cutoff-1"), (0, "cutoff"), (1, "cutoff+1")):
                    ahead[k].append(p.deadline_us + d - now)
                sender = self.model.scenario.pools[p.pool].a
                if sender in p.nodes and p.status[p.end(sender)] is _E.POOLED:
                    ahead["use-by"].append(p.deadline_us - now)
            t = self.crossing_us(p) if p.swapper is None else None
            if t is not None:
                ahead["crossing"].append(t - now)
                ahead["crossing+1"].append(t + 1 - now)
        out = {
            k: min(x for x in v if 1 <= x <= MAX_ADVANCE_US)
            for k, v in ahead.items()
            if any(1 <= x <= MAX_ADVANCE_US for x in v)
        }
        if out:
            out["next"] = min(out.values())
        return out

    def pick_time(self, s: State, choice: int, free_dt_us: int) -> int:
        """A time step: to the next interesting instant (``choice`` < 150), to the earliest
        instant of one kind (see :meth:`time_points`), or a free amount: ``free_dt_us`` cut to a
        scale from 10 us to 1000 s (``choice`` >= 230, or nothing of the kind is ahead)."""
        points = self.time_points(s)
        if choice < 150 and "next" in points:
            return points["next"]
        kind = _INSTANTS[(choice - 150) // 10] if 150 <= choice < 230 else None
        if kind in points:
            return points[kind]
        return 1 + (free_dt_us - 1) % _SCALES_US[choice % len(_SCALES_US)]

    def delay_points(self, s: State, mid: int) -> list[int]:
        """Delays for message ``mid``: one microsecond, or just past the moment its receiver
        may discard its half of the pair the message is about."""
        m = s.messages[mid]
        pts = {1}
        p = s.pairs.get(m.pair)
        if p is not None and m.dst in p.nodes:
            pts.add(self.model.expiry_us(p, p.end(m.dst)) - m.arrive_us + 1)
        return sorted(x for x in pts if 1 <= x <= MAX_ADVANCE_US)

    def pick_delay(self, s: State, choice: int, free_us: int) -> DelayMessage | None:
        """A message delay: the message ``choice`` selects (uses in flight first), by one of
        :meth:`delay_points` or by a free amount, as ``free_us`` selects."""
        a = self.pick(s, "delay_message", choice)
        if not isinstance(a, DelayMessage):
            return None
        points = self.delay_points(s, a.msg)
        k = free_us % (len(points) + 1)
        extra = points[k] if k < len(points) else 1 + (free_us - 1) % _SCALES_US[choice % 9]
        return DelayMessage(msg=a.msg, extra_us=extra)
