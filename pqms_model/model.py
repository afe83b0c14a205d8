"""The transition function (spec §3–§4): one ``step(state, action)`` for every driver.

:class:`Model` binds a scenario (the constants) and optionally a mutant. ``step`` checks the
action's guard, raising :class:`~pqms_model.errors.NotEnabled` with the failing conjunct, and
returns the next state. Each action is written guard first, then effect; what is not mentioned
stays unchanged (the frozen records make that literal).

>>> from pqms_model.scenario import load_default
>>> m = Model(load_default())
>>> s = m.init()
>>> s = m.step(s, GenerateLink(link=0, pool=0, swapper=None))     # earth - moon, for pool 0
>>> p = s.pairs[1]
>>> p.status
(<EndStatus.PENDING: 'pending'>, <EndStatus.READY: 'ready'>)
>>> m.step(s, Admit(pair=1, node="earth"))
Traceback (most recent call last):
...
pqms_model.errors.NotEnabled: admit is not enabled: earth's half of pair 1 is pending, not ready
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from pyrsistent import PMap

from pqms_model.actions import (
    Action,
    Admit,
    AdvanceTime,
    Crash,
    DelayMessage,
    Deliver,
    Expire,
    GenerateLink,
    LinkDown,
    LinkUp,
    Purify,
    Receive,
    Recover,
    Swap,
    UsePair,
)
from pqms_model.cost import cost_to_fidelity, decay_cost_nnp, fidelity_cost_nnp
from pqms_model.errors import NotEnabled
from pqms_model.mutants import Mutant
from pqms_model.physics import purify_bbpssw
from pqms_model.scenario import Scenario
from pqms_model.state import (
    LIVE,
    Delivery,
    EndStatus,
    Message,
    MsgKind,
    Outcome,
    Pair,
    State,
    initial_state,
    live_ends,
)

__all__ = ["MAX_ADVANCE_US", "Model"]

MAX_ADVANCE_US = 10**12
"""Largest single time step (about 11.6 days); keeps every time far inside 64 bits."""

_E = EndStatus
_PURIFY_MARGIN_NNP = 4  # float error of the BBPSSW formula, rounded against us


def _set(t: tuple[_E, _E], i: int, v: _E) -> tuple[_E, _E]:
    return (v, t[1]) if i == 0 else (t[0], v)


def _seti(t: tuple[int, int], i: int, v: int) -> tuple[int, int]:
    return (v, t[1]) if i == 0 else (t[0], v)


class Model:
    """The protocol over one scenario, optionally with a planted bug (``mutant``)."""

    def __init__(self, scenario: Scenario, mutant: Mutant | None = None) -> None:
        self.scenario = scenario
        self.mutant = mutant
        self._coh = {n.name: n.coherence_us for n in scenario.nodes}
        self._cap = {n.name: n.memory_capacity for n in scenario.nodes}

    # --- helpers (spec §2.3) -------------------------------------------------------------------

    def init(self) -> State:
        return initial_state(self.scenario.node_names)

    def cost_at(self, p: Pair, t_us: int) -> int:
        """Cost of pair ``p`` at time ``t_us``: both halves decay from ``stamp_us``."""
        dt = max(0, t_us - p.stamp_us)
        return (
            p.cost_nnp
            + decay_cost_nnp(dt, self._coh[p.nodes[0]])
            + decay_cost_nnp(dt, self._coh[p.nodes[1]])
        )

    def transit_decay(self, sender: str, receiver: str) -> int:
        """Cost the receiver's half gains while the two bits travel sender -> receiver."""
        return decay_cost_nnp(self.scenario.light_us(sender, receiver), self._coh[receiver])

    def deadline(self, nodes: tuple[str, str], cost_nnp: int, stamp_us: int, pool: int) -> int:
        """Shared cut-off: the last send time at which a use still meets the threshold at the
        receiver, and at most ``max_wait`` after ``stamp_us``; ``stamp_us - 1`` if none.

        Both ends compute it from what the herald / swap / purify message told them, so they
        agree without another message.
        """
        pl = self.scenario.pools[pool]
        a, b = pl.a, pl.b
        margin = pl.threshold_nnp - max(self.transit_decay(a, b), self.transit_decay(b, a))
        probe = Pair(0, nodes, (0, 0), (_E.READY, _E.READY), (0, 0), pool, None, cost_nnp,
                     stamp_us, 0, (-1, -1), (("", 0), ("", 0)), 0)  # fmt: skip
        if self.cost_at(probe, stamp_us) > margin:
            return stamp_us - 1
        lo, hi = stamp_us, stamp_us + pl.max_wait_us
        if self.cost_at(probe, hi) <= margin:
            return hi
        while hi - lo > 1:  # cost_at is monotone in t: lo meets the margin, hi does not
            mid = (lo + hi) // 2
            if self.cost_at(probe, mid) <= margin:
                lo = mid
            else:
                hi = mid
        return lo

    def free_memory(self, s: State, node: str) -> int:
        return self._cap[node] - live_ends(s.pairs.values(), node)

    def _pair(self, s: State, pid: int, who: str) -> Pair:
        p = s.pairs.get(pid)
        if p is None:
            raise NotEnabled(who, f"no live pair {pid}")
        return p

    def _end(self, p: Pair, node: str, who: str) -> int:
        if node not in p.nodes:
            raise NotEnabled(who, f"pair {p.id} has no end at {node!r} (ends: {p.nodes})")
        return p.end(node)

    def _up(self, s: State, node: str, who: str) -> None:
        if node not in self.scenario._node:
            raise NotEnabled(who, f"unknown node {node!r}")
        if node in s.nodes_down:
            raise NotEnabled(who, f"node {node} is down")

    def _msg(self, s: State, kind: MsgKind, src: str, dst: str, **kw: object) -> State:
        """Send a classical message: it arrives no earlier than the light time."""
        mid = s.next_id
        arrive = s.now_us + self.scenario.light_us(src, dst)
        msg = Message(mid, kind, src, dst, s.now_us, arrive, **kw)  # type: ignore[arg-type]
        return replace(s, next_id=mid + 1, messages=s.messages.set(mid, msg))

    # --- the transition function ---------------------------------------------------------------

    def step(self, s: State, a: Action) -> State:
        """Apply action ``a`` to state ``s``: guard, then effect. Raises NotEnabled."""
        handler = _HANDLERS.get(type(a))
        if handler is None:
            raise NotEnabled(getattr(a, "name", type(a).__name__), "not a pqms action")
        out: State = handler(self, s, a)
        return out

    # protocol actions ---------------------------------------------------------------------------

    def _generate_link(self, s: State, a: GenerateLink) -> State:
        who, sc = a.name, self.scenario
        if not 0 <= a.link < len(sc.links):
            raise NotEnabled(who, f"no link {a.link} (links 0..{len(sc.links) - 1})")
        if not 0 <= a.pool < len(sc.pools):
            raise NotEnabled(who, f"no pool {a.pool} (pools 0..{len(sc.pools) - 1})")
        ln, pl = sc.links[a.link], sc.pools[a.pool]
        if a.link in s.links_down:
            raise NotEnabled(who, f"link {a.link} ({ln.a}-{ln.b}) is down")
        self._up(s, ln.a, who)
        self._up(s, ln.b, who)
        self._check_swapper(who, (ln.a, ln.b), pl.a, pl.b, a.swapper)
        if self.mutant is not Mutant.OVERCOMMIT_MEMORY:
            for n in (ln.a, ln.b):
                if self.free_memory(s, n) < 1:
                    raise NotEnabled(who, f"no free memory qubit at {n}")
        # Effect. Node a emits a photon entangled with a memory qubit; b stores it on a heralded
        # absorption, so b knows at once and a learns from b's herald. a's half has already
        # waited one light time when b absorbs: that decay is part of the initial cost.
        pid, t = s.next_id, s.now_us
        cost = ln.initial_cost_nnp + decay_cost_nnp(ln.light_us, self._coh[ln.a])
        p = Pair(
            id=pid,
            nodes=(ln.a, ln.b),
            qubits=(pid + 1, pid + 2),
            status=(_E.PENDING, _E.READY),
            epochs=(s.epoch[ln.a], s.epoch[ln.b]),
            pool=a.pool,
            swapper=a.swapper,
            cost_nnp=cost,
            stamp_us=t,
            deadline_us=self.deadline((ln.a, ln.b), cost, t, a.pool),
            known_us=(-1, t),
            cause=((ln.b, t), (ln.b, t)),
            consumed=0,
        )
        s = replace(s, next_id=pid + 3, pairs=s.pairs.set(pid, p))
        return self._msg(s, MsgKind.HERALD, ln.b, ln.a, pair=pid)

    def _check_swapper(
        self, who: str, ends: tuple[str, str], pa: str, pb: str, swapper: str | None
    ) -> None:
        if {ends[0], ends[1]} == {pa, pb}:
            if swapper is not None:
                raise NotEnabled(who, f"an end-to-end pair {pa}-{pb} has no swapper (use None)")
            return
        choices = [n for n in ends if n not in (pa, pb)]
        if swapper not in choices:
            raise NotEnabled(
                who, f"swapper must be an end that is not a pool endpoint: one of {choices}"
            )

    def _receive(self, s: State, a: Receive) -> State:
        who = a.name
        m = s.messages.get(a.msg)
        if m is None:
            raise NotEnabled(who, f"no message {a.msg} in flight")
        if m.kind is MsgKind.BITS:
            raise NotEnabled(who, f"message {a.msg} carries teleportation bits: use deliver")
        self._up(s, m.dst, who)
        if s.now_us < m.arrive_us:
            raise NotEnabled(who, f"message {a.msg} arrives at {m.arrive_us} us, now {s.now_us}")
        s = replace(s, messages=s.messages.remove(m.id))
        pairs = s.pairs
        if m.kind is MsgKind.RESET:
            for p in list(pairs.values()):
                for i in (0, 1):
                    j = 1 - i
                    if (
                        p.nodes[i] == m.dst
                        and p.nodes[j] == m.src
                        and p.epochs[j] < m.epoch
                        and (p.status[i] in LIVE or p.status[i] is _E.INCOMING)
                    ):
                        p = replace(p, status=_set(p.status, i, _E.DISCARDED))
                pairs = pairs.set(p.id, p)
            return self._retire(replace(s, pairs=pairs), None)
        target = m.new_pair if m.kind is MsgKind.SWAP_DONE else m.pair
        p = pairs.get(target)
        if p is not None:
            i = p.end(m.dst)
            if m.kind is MsgKind.SWAP_DONE:
                old = pairs.get(m.pair)
                if p.status[i] is _E.INCOMING:
                    if old is not None:
                        k = old.end(m.dst)
                        carried = old.status[k]
                        if carried in LIVE:
                            pairs = pairs.set(old.id, replace(old, status=_set(old.status, k,
                                                                            _E.MERGED)))
                            p = self._learn(p, i, s.now_us)
                        else:
                            p = replace(p, status=_set(p.status, i, carried))
                    else:  # the old pair left long ago: its half here is gone
                        p = replace(p, status=_set(p.status, i, _E.DISCARDED))
            elif m.kind is MsgKind.PURIFY_RESULT:
                if p.status[i] is _E.PENDING:
                    if m.ok:
                        p = self._learn(p, i, s.now_us)
                    else:
                        p = replace(p, status=_set(p.status, i, _E.DISCARDED))
            elif p.status[i] is _E.PENDING:  # HERALD
                p = self._learn(p, i, s.now_us)
            pairs = pairs.set(p.id, p)
        return self._retire(replace(s, pairs=pairs), (m.pair, m.new_pair))

    @staticmethod
    def _learn(p: Pair, i: int, now: int) -> Pair:
        return replace(p, status=_set(p.status, i, _E.READY), known_us=_seti(p.known_us, i, now))

    def _swap(self, s: State, a: Swap) -> State:
        who, t = a.name, s.now_us
        self._up(s, a.node, who)
        if a.left == a.right:
            raise NotEnabled(who, "a swap joins two different pairs")
        left, right = self._pair(s, a.left, who), self._pair(s, a.right, who)
        il, ir = self._end(left, a.node, who), self._end(right, a.node, who)
        for p, i in ((left, il), (right, ir)):
            if p.status[i] is not _E.READY:
                raise NotEnabled(who, f"{a.node}'s half of pair {p.id} is "
                                      f"{p.status[i].value}, not ready")  # fmt: skip
            if p.swapper != a.node and self.mutant is not Mutant.DOUBLE_SWAP:
                raise NotEnabled(who, f"pair {p.id} may be swapped only at {p.swapper}")
            if t > p.deadline_us:
                raise NotEnabled(who, f"pair {p.id} is past its cut-off ({p.deadline_us} us)")
        if left.pool != right.pool:
            raise NotEnabled(who, f"pairs {left.id} and {right.id} are for different pools")
        x, y = left.other(il), right.other(ir)
        if x == y:
            raise NotEnabled(who, f"both pairs end at {x}: a swap would make a loop")
        pl = self.scenario.pools[left.pool]
        self._check_swapper(who, (x, y), pl.a, pl.b, a.swapper)
        # Effect: Bell-state measurement (Werner: w = w1 * w2, so cost adds; see physics).
        c1, c2 = self.cost_at(left, t), self.cost_at(right, t)
        cost = c1 + c2 + self.scenario.swap_gate_cost_nnp
        pid = s.next_id
        news, known = [], []
        for p, k in ((left, 1 - il), (right, 1 - ir)):
            st = p.status[k]
            if st in LIVE:
                if self.mutant is Mutant.SWAP_NO_WAIT:
                    news.append(_E.READY)
                    known.append(t)
                else:
                    news.append(_E.INCOMING)
                    known.append(-1)
            else:
                news.append(st)
                known.append(-1)
        new = Pair(
            id=pid,
            nodes=(x, y),
            qubits=(left.qubits[1 - il], right.qubits[1 - ir]),
            status=(news[0], news[1]),
            epochs=(left.epochs[1 - il], right.epochs[1 - ir]),
            pool=left.pool,
            swapper=a.swapper,
            cost_nnp=cost,
            stamp_us=t,
            deadline_us=self.deadline((x, y), cost, t, left.pool),
            known_us=(known[0], known[1]),
            cause=((a.node, t), (a.node, t)),
            consumed=0,
        )
        pairs = s.pairs.set(pid, new)
        for p, i in ((left, il), (right, ir)):
            p2 = replace(p, status=_set(p.status, i, _E.SWAPPED), consumed=p.consumed + 1)
            if self.mutant is Mutant.SWAP_NO_WAIT and p2.status[1 - i] in LIVE:
                p2 = replace(p2, status=_set(p2.status, 1 - i, _E.MERGED))
            pairs = pairs.set(p.id, p2)
        s = replace(s, next_id=pid + 1, pairs=pairs)
        s = self._msg(s, MsgKind.SWAP_DONE, a.node, x, pair=left.id, new_pair=pid)
        s = self._msg(s, MsgKind.SWAP_DONE, a.node, y, pair=right.id, new_pair=pid)
        return self._retire(s, (left.id, right.id))

    def _purify(self, s: State, a: Purify) -> State:
        who, t = a.name, s.now_us
        if a.keep == a.sacrifice:
            raise NotEnabled(who, "purification needs two different pairs")
        keep, sac = self._pair(s, a.keep, who), self._pair(s, a.sacrifice, who)
        if set(keep.nodes) != set(sac.nodes):
            raise NotEnabled(who, f"pairs {keep.id} and {sac.id} do not join the same two nodes")
        for p in (keep, sac):
            if p.swapper is not None:
                raise NotEnabled(who, f"pair {p.id} is not end-to-end (swapper {p.swapper})")
            for i in (0, 1):
                self._up(s, p.nodes[i], who)
                if p.status[i] is not _E.READY:
                    raise NotEnabled(who, f"{p.nodes[i]}'s half of pair {p.id} is "
                                          f"{p.status[i].value}, not ready")  # fmt: skip
            if t > p.deadline_us:
                raise NotEnabled(who, f"pair {p.id} is past its cut-off ({p.deadline_us} us)")
        if keep.pool != sac.pool:
            raise NotEnabled(who, f"pairs {keep.id} and {sac.id} are for different pools")
        # Effect: BBPSSW (Bennett et al., PRL 76, 722, 1996), floats at the edge, rounded up.
        f1 = cost_to_fidelity(self.cost_at(keep, t))
        f2 = cost_to_fidelity(self.cost_at(sac, t))
        if a.success:
            f_out, _ = purify_bbpssw(f1, f2)
            cost = fidelity_cost_nnp(min(1.0, f_out)) + _PURIFY_MARGIN_NNP
        else:
            cost = self.cost_at(keep, t)
        n0, n1 = keep.nodes
        kept = replace(
            keep,
            status=(_E.PENDING, _E.PENDING),
            cost_nnp=cost,
            stamp_us=t,
            deadline_us=self.deadline(keep.nodes, cost, t, keep.pool),
            known_us=(-1, -1),
            cause=((n1, t), (n0, t)),
        )
        spent = replace(sac, status=(_E.CONSUMED, _E.CONSUMED), consumed=sac.consumed + 1)
        s = replace(s, pairs=s.pairs.set(kept.id, kept).set(spent.id, spent))
        s = self._msg(s, MsgKind.PURIFY_RESULT, n0, n1, pair=keep.id, ok=a.success)
        s = self._msg(s, MsgKind.PURIFY_RESULT, n1, n0, pair=keep.id, ok=a.success)
        return self._retire(s, (sac.id,))

    def _admit(self, s: State, a: Admit) -> State:
        who = a.name
        self._up(s, a.node, who)
        p = self._pair(s, a.pair, who)
        i = self._end(p, a.node, who)
        ok = {_E.READY, _E.PENDING} if self.mutant is Mutant.EARLY_ADMIT else {_E.READY}
        if p.status[i] not in ok:
            raise NotEnabled(who, f"{a.node}'s half of pair {p.id} is {p.status[i].value}, "
                                  "not ready")  # fmt: skip
        if p.swapper is not None:
            raise NotEnabled(who, f"pair {p.id} is not end-to-end (swapper {p.swapper})")
        if s.now_us > p.deadline_us:
            raise NotEnabled(who, f"pair {p.id} is past its cut-off ({p.deadline_us} us)")
        known = p.known_us if p.known_us[i] >= 0 else _seti(p.known_us, i, s.now_us)
        p = replace(p, status=_set(p.status, i, _E.POOLED), known_us=known)
        return replace(s, pairs=s.pairs.set(p.id, p))

    def _expire(self, s: State, a: Expire) -> State:
        who = a.name
        self._up(s, a.node, who)
        p = self._pair(s, a.pair, who)
        i = self._end(p, a.node, who)
        if self.mutant is Mutant.ONE_SIDED_EXPIRY and p.status[i] is _E.POOLED:
            pass  # the planted bug: a local decision, any time, partner not told
        else:
            if p.status[i] not in LIVE:
                raise NotEnabled(who, f"{a.node}'s half of pair {p.id} is {p.status[i].value}")
            if s.now_us <= p.deadline_us:
                raise NotEnabled(who, f"pair {p.id} is usable until {p.deadline_us} us "
                                      f"(now {s.now_us})")  # fmt: skip
        p = replace(p, status=_set(p.status, i, _E.DISCARDED))
        return self._retire(replace(s, pairs=s.pairs.set(p.id, p)), (p.id,))

    def _use_pair(self, s: State, a: UsePair) -> State:
        who, t = a.name, s.now_us
        self._up(s, a.node, who)
        p = self._pair(s, a.pair, who)
        i = self._end(p, a.node, who)
        if p.status[i] is not _E.POOLED:
            raise NotEnabled(who, f"{a.node}'s half of pair {p.id} is {p.status[i].value}, "
                                  "not pooled")  # fmt: skip
        pl = self.scenario.pools[p.pool]
        if a.node != pl.a and self.mutant is not Mutant.BOTH_ENDS_SEND:
            raise NotEnabled(who, f"pool {pl.a}->{pl.b} sends only from {pl.a}")
        receiver = p.other(i)
        th = pl.threshold_nnp
        cost = self.cost_at(p, t)
        if self.mutant is Mutant.THRESHOLD_AT_SEND:
            if cost > th:
                raise NotEnabled(who, f"cost {cost} nnp at send exceeds threshold {th}")
        elif self.mutant is not Mutant.NO_THRESHOLD:
            if t > p.deadline_us:
                raise NotEnabled(who, f"pair {p.id} is past its cut-off ({p.deadline_us} us)")
            predicted = cost + self.transit_decay(a.node, receiver)
            if predicted > th:
                raise NotEnabled(who, f"predicted cost {predicted} nnp at the receiver's "
                                      f"correction exceeds threshold {th}")  # fmt: skip
        # Effect: Bell measurement on (input, own half); two bits go to the receiver.
        st = _E.POOLED if self.mutant is Mutant.REUSE_AFTER_USE else _E.SENT
        p = replace(p, status=_set(p.status, i, st), consumed=p.consumed + 1)
        s = replace(s, pairs=s.pairs.set(p.id, p))
        s = self._msg(s, MsgKind.BITS, a.node, receiver, pair=p.id, cost_nnp=cost)
        if self.mutant is Mutant.INSTANT_EFFECT:  # "augenblicklich": no transit at all
            mid = s.next_id - 1
            s = replace(s, messages=s.messages.set(mid, replace(s.messages[mid], arrive_us=t)))
        return s

    def _deliver(self, s: State, a: Deliver) -> State:
        who, t = a.name, s.now_us
        m = s.messages.get(a.msg)
        if m is None:
            raise NotEnabled(who, f"no message {a.msg} in flight")
        if m.kind is not MsgKind.BITS:
            raise NotEnabled(who, f"message {a.msg} is a {m.kind.value} message: use receive")
        self._up(s, m.dst, who)
        if t < m.arrive_us:
            raise NotEnabled(who, f"message {a.msg} arrives at {m.arrive_us} us, now {t}")
        p = s.pairs.get(m.pair)
        i = -1 if p is None else p.end(m.dst)
        if p is not None and p.status[i] in (_E.PENDING, _E.INCOMING):
            raise NotEnabled(who, f"{m.dst} does not know pair {p.id} yet "
                                  f"({p.status[i].value}): the bits wait")  # fmt: skip
        pl = self.scenario.pools[p.pool] if p is not None else None
        th = pl.threshold_nnp if pl is not None else 0
        lost = p is None or p.status[i] not in LIVE
        cost = m.cost_nnp + decay_cost_nnp(t - m.sent_us, self._coh[m.dst])
        if lost and self.mutant is not Mutant.CRASH_SILENT:
            outcome = Outcome.FAILED_LOST
        elif cost > th and self.mutant not in (Mutant.THRESHOLD_AT_SEND, Mutant.NO_THRESHOLD):
            outcome = Outcome.FAILED_STALE
        else:
            outcome = Outcome.DELIVERED
        # the receiver's half is gone when the pair, or its half, is no longer live here
        d = Delivery(m.pair, m.src, m.dst, m.sent_us, t, cost, th, outcome, lost)
        s = replace(s, messages=s.messages.remove(m.id), last_delivery=d,
                    deliveries=s.deliveries + 1)  # fmt: skip
        if p is not None and not lost:
            st = _E.RECEIVED if outcome is Outcome.DELIVERED else _E.DISCARDED
            p = replace(p, status=_set(p.status, i, st))
            s = replace(s, pairs=s.pairs.set(p.id, p))
        return self._retire(s, (m.pair,))

    # environment actions ------------------------------------------------------------------------

    def _advance_time(self, s: State, a: AdvanceTime) -> State:
        if not 1 <= a.dt_us <= MAX_ADVANCE_US:
            raise NotEnabled(a.name, f"dt_us must be 1..{MAX_ADVANCE_US}, got {a.dt_us}")
        return replace(s, now_us=s.now_us + a.dt_us)

    def _link(self, s: State, link: int, who: str) -> None:
        if not 0 <= link < len(self.scenario.links):
            raise NotEnabled(who, f"no link {link} (links 0..{len(self.scenario.links) - 1})")

    def _link_down(self, s: State, a: LinkDown) -> State:
        self._link(s, a.link, a.name)
        if a.link in s.links_down:
            raise NotEnabled(a.name, f"link {a.link} is already down")
        return replace(s, links_down=s.links_down | {a.link})

    def _link_up(self, s: State, a: LinkUp) -> State:
        self._link(s, a.link, a.name)
        if a.link not in s.links_down:
            raise NotEnabled(a.name, f"link {a.link} is already up")
        return replace(s, links_down=s.links_down - {a.link})

    def _crash(self, s: State, a: Crash) -> State:
        self._up(s, a.node, a.name)
        pairs = s.pairs
        for p, i in list(s.pairs_at(a.node)):
            if p.status[i] in LIVE or p.status[i] is _E.INCOMING:
                q = pairs[p.id]
                pairs = pairs.set(p.id, replace(q, status=_set(q.status, i, _E.LOST)))
        return replace(s, nodes_down=s.nodes_down | {a.node}, pairs=pairs)

    def _recover(self, s: State, a: Recover) -> State:
        if a.node not in s.nodes_down:
            raise NotEnabled(a.name, f"node {a.node} is not down")
        e = s.epoch[a.node] + 1
        s = replace(s, nodes_down=s.nodes_down - {a.node}, epoch=s.epoch.set(a.node, e))
        for other in self.scenario.node_names:
            if other != a.node:
                s = self._msg(s, MsgKind.RESET, a.node, other, pair=-1, epoch=e)
        return s

    def _delay_message(self, s: State, a: DelayMessage) -> State:
        m = s.messages.get(a.msg)
        if m is None:
            raise NotEnabled(a.name, f"no message {a.msg} in flight")
        if not 1 <= a.extra_us <= MAX_ADVANCE_US:
            raise NotEnabled(a.name, f"extra_us must be 1..{MAX_ADVANCE_US}, got {a.extra_us}")
        m = replace(m, arrive_us=m.arrive_us + a.extra_us)
        return replace(s, messages=s.messages.set(m.id, m))

    # bookkeeping --------------------------------------------------------------------------------

    def _retire(self, s: State, ids: tuple[int, ...] | None) -> State:
        """Drop pairs with no live end that no message in flight names (frees the map only)."""
        candidates = list(s.pairs) if ids is None else [i for i in ids if i in s.pairs]
        if not candidates:
            return s
        named = {m.pair for m in s.messages.values()} | {m.new_pair for m in s.messages.values()}
        pairs: PMap[int, Pair] = s.pairs
        for pid in candidates:
            p = pairs[pid]
            if pid in named:
                continue
            if any(st in LIVE or st is _E.INCOMING for st in p.status):
                continue
            pairs = pairs.remove(pid)
        return replace(s, pairs=pairs)

    # --- enabled actions (finite parameters) ------------------------------------------------

    def enabled(self, s: State) -> Iterator[Action]:
        """Every enabled action with finite parameters (one order per unordered swap and
        purification); ``advance_time`` and ``delay_message`` take free integers and are left
        to the driver."""
        for cand in self.candidates(s):
            try:
                self.step(s, cand)
            except NotEnabled:
                continue
            yield cand

    def candidates(self, s: State) -> Iterator[Action]:
        sc = self.scenario
        for ln in sc.links:
            for pl in sc.pools:
                if {ln.a, ln.b} == {pl.a, pl.b}:
                    yield GenerateLink(ln.index, pl.index, None)
                else:
                    for n in (ln.a, ln.b):
                        if n not in (pl.a, pl.b):
                            yield GenerateLink(ln.index, pl.index, n)
        for m in s.messages.values():
            yield Deliver(m.id) if m.kind is MsgKind.BITS else Receive(m.id)
        pairs = list(s.pairs.values())
        for p in pairs:
            for i in (0, 1):
                n = p.nodes[i]
                if p.status[i] is _E.READY:
                    yield Admit(p.id, n)
                if p.status[i] is _E.POOLED and (
                    n == sc.pools[p.pool].a or self.mutant is Mutant.BOTH_ENDS_SEND
                ):
                    yield UsePair(p.id, n)
                if p.status[i] in LIVE:
                    yield Expire(p.id, n)
        for left in pairs:
            for il in (0, 1):
                m = left.nodes[il]
                if left.status[il] is not _E.READY:
                    continue
                for right in pairs:
                    if right.id <= left.id or m not in right.nodes or right.pool != left.pool:
                        continue
                    x, y = left.other(il), right.other(right.end(m))
                    pl = sc.pools[left.pool]
                    if {x, y} == {pl.a, pl.b}:
                        yield Swap(left.id, right.id, m, None)
                    else:
                        for n in (x, y):
                            if n not in (pl.a, pl.b):
                                yield Swap(left.id, right.id, m, n)
        for keep in pairs:
            for sac in pairs:
                if keep.id < sac.id and keep.swapper is None and sac.swapper is None:
                    if set(keep.nodes) == set(sac.nodes):
                        yield Purify(keep.id, sac.id, True)
                        yield Purify(keep.id, sac.id, False)
        for ln in sc.links:
            yield LinkUp(ln.index) if ln.index in s.links_down else LinkDown(ln.index)
        for n in sc.node_names:
            yield Recover(n) if n in s.nodes_down else Crash(n)


_HANDLERS = {
    GenerateLink: Model._generate_link,
    Receive: Model._receive,
    Swap: Model._swap,
    Purify: Model._purify,
    Admit: Model._admit,
    Expire: Model._expire,
    UsePair: Model._use_pair,
    Deliver: Model._deliver,
    AdvanceTime: Model._advance_time,
    LinkDown: Model._link_down,
    LinkUp: Model._link_up,
    Crash: Model._crash,
    Recover: Model._recover,
    DelayMessage: Model._delay_message,
}
