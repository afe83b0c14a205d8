"""Protocol rules on pairs (spec §3.3–§3.6): generate, receive, swap, purify, admit, expire, use,
deliver. Each is guard first (``NotEnabled`` names the failed conjunct), then effect.
"""

from __future__ import annotations

from pqms_model.actions import (
    Admit,
    Deliver,
    Expire,
    GenerateLink,
    Purify,
    Receive,
    Swap,
    UsePair,
)
from pqms_model.core import ModelCore, replace, set_end, set_int
from pqms_model.cost import cost_to_fidelity, decay_cost_nnp, fidelity_cost_nnp
from pqms_model.errors import NotEnabled
from pqms_model.mutants import Mutant
from pqms_model.physics import purify_bbpssw
from pqms_model.rules_routing import receive_link_state, receive_route, route_of
from pqms_model.schedule import swappers
from pqms_model.state import LIVE, Delivery, EndStatus, Message, MsgKind, Outcome, Pair, State

__all__ = [
    "admit",
    "deliver",
    "expire",
    "generate_link",
    "purify",
    "receive",
    "swap",
    "use_pair",
]

_E = EndStatus
_PURIFY_MARGIN_NNP = 4  # float error of the BBPSSW formula, rounded against us


def _swapper(m: ModelCore, s: State, route: int, seg: tuple[int, int]) -> str | None:
    r = s.routes[route]
    idx = swappers(len(r.path) - 1, r.schedule).get(seg)
    return None if idx is None else r.path[idx]


def generate_link(m: ModelCore, s: State, a: GenerateLink) -> State:
    who = a.name
    r = route_of(s, a.route, who)
    if not r.active:
        raise NotEnabled(who, f"route {r.id} was dropped")
    if not 0 <= a.hop < len(r.path) - 1:
        raise NotEnabled(who, f"route {r.id} has hops 0..{len(r.path) - 2}, not {a.hop}")
    u, v = r.path[a.hop], r.path[a.hop + 1]
    ln = m.scenario.link_between(u, v)
    assert ln is not None  # choose_route admits only paths along links
    if ln.index in s.links_down:
        raise NotEnabled(who, f"link {ln.index} ({u}-{v}) is down")
    for n in (u, v):
        m.up(s, n, who)
        if n not in r.known_by:
            raise NotEnabled(who, f"{n} has not heard of route {r.id} yet")
    if m.mutant is not Mutant.OVERCOMMIT_MEMORY:
        for n in (u, v):
            if m.free_memory(s, n) < 1:
                raise NotEnabled(who, f"no free memory qubit at {n}")
    # Effect. u emits a photon entangled with a memory qubit; v stores it on a heralded
    # absorption, so v knows at once and u learns from v's herald. u's half has already
    # waited one light time when v absorbs: that decay is part of the initial cost.
    pid, t = s.next_id, s.now_us
    cost = ln.initial_cost_nnp + decay_cost_nnp(ln.light_us, m._coh[u])
    seg = (a.hop, a.hop + 1)
    swapper = _swapper(m, s, r.id, seg)
    p = Pair(
        id=pid,
        nodes=(u, v),
        qubits=(pid + 1, pid + 2),
        status=(_E.PENDING, _E.READY),
        epochs=(s.epoch[u], s.epoch[v]),
        pool=r.pool,
        route=r.id,
        segment=seg,
        swapper=swapper,
        cost_nnp=cost,
        stamp_us=t,
        deadline_us=m.deadline((u, v), cost, t, r.pool, swapper is None),
        known_us=(-1, t),
        cause=((v, t), (v, t)),
        consumed=0,
    )
    s = replace(s, next_id=pid + 3, pairs=s.pairs.set(pid, p))
    return m.send(s, MsgKind.HERALD, v, u, pair=pid)


def receive(m: ModelCore, s: State, a: Receive) -> State:
    who = a.name
    msg = s.messages.get(a.msg)
    if msg is None:
        raise NotEnabled(who, f"no message {a.msg} in flight")
    if msg.kind is MsgKind.BITS:
        raise NotEnabled(who, f"message {a.msg} carries teleportation bits: use deliver")
    m.up(s, msg.dst, who)
    if s.now_us < msg.arrive_us:
        raise NotEnabled(who, f"message {a.msg} arrives at {msg.arrive_us} us, now {s.now_us}")
    if msg.kind is MsgKind.SWAP_DONE:
        old = s.pairs.get(msg.pair)
        if old is not None and old.status[old.end(msg.dst)] is _E.INCOMING:
            raise NotEnabled(
                who,
                f"{msg.dst}'s half of pair {old.id} is itself still incoming: the swap notice "
                "for the pair it became waits until the earlier one is taken",
            )
    s = replace(s, messages=s.messages.delete(msg.id))
    if msg.kind is MsgKind.ROUTE:
        return receive_route(m, s, msg)
    if msg.kind is MsgKind.LINK_STATE:
        return receive_link_state(m, s, msg)
    if msg.kind is MsgKind.RESET:
        return _receive_reset(m, s, msg)
    pairs = s.pairs
    target = msg.new_pair if msg.kind is MsgKind.SWAP_DONE else msg.pair
    p = pairs.get(target)
    if p is not None:
        i = p.end(msg.dst)
        if msg.kind is MsgKind.SWAP_DONE:
            if p.status[i] is _E.INCOMING:
                old = pairs.get(msg.pair)
                carried = _E.DISCARDED if old is None else old.status[old.end(msg.dst)]
                far = p.nodes[1 - i]
                stale = p.epochs[1 - i] < s.heard_epoch[msg.dst].get(far, 0)
                # the far half predates a crash this node heard of; unless the far node was to
                # swap this pair (it may have, before the crash: found by the Z3 induction)
                if carried in LIVE and stale and p.swapper != far:
                    carried = _E.DISCARDED
                    if old is not None:
                        k = old.end(msg.dst)
                        old = replace(old, status=set_end(old.status, k, _E.DISCARDED))
                        pairs = pairs.set(old.id, old)
                if old is not None and carried in LIVE:
                    k = old.end(msg.dst)
                    pairs = pairs.set(
                        old.id, replace(old, status=set_end(old.status, k, _E.MERGED))
                    )
                    p = m.learn(p, i, s.now_us)
                else:  # the half this pair was to inherit is gone (crash, reset)
                    p = replace(p, status=set_end(p.status, i, carried))
        elif msg.kind is MsgKind.PURIFY_RESULT:
            if p.status[i] is _E.PENDING:
                if msg.ok:
                    p = m.learn(p, i, s.now_us)
                else:
                    p = replace(p, status=set_end(p.status, i, _E.DISCARDED))
        elif p.status[i] is _E.PENDING:  # HERALD
            p = m.learn(p, i, s.now_us)
        pairs = pairs.set(p.id, p)
    return m.retire(replace(s, pairs=pairs), (msg.pair, msg.new_pair))


def _receive_reset(m: ModelCore, s: State, msg: Message) -> State:
    """``msg.src`` restarted with epoch ``msg.epoch``: halves shared with its older epochs go,
    and the node remembers the epoch (a swap notice arriving later may name an older half).

    A half whose pair ``msg.src`` was to swap stays: the swap may have happened before the
    crash, with its notice still on the way (found by the Z3 induction proof of
    pool-consistency: discarding it here left the far end's pooled half with a silently
    discarded partner). If the crash lost the partner instead, the half goes at its cut-off."""
    heard = s.heard_epoch[msg.dst]
    if heard.get(msg.src, 0) < msg.epoch:
        s = replace(s, heard_epoch=s.heard_epoch.set(msg.dst, heard.set(msg.src, msg.epoch)))
    pairs = s.pairs
    for p in s.pairs.values():
        q = p
        for i in (0, 1):
            j = 1 - i
            if (
                q.nodes[i] == msg.dst
                and q.nodes[j] == msg.src
                and q.epochs[j] < msg.epoch
                and (q.status[i] in LIVE or q.status[i] is _E.INCOMING)
                and q.swapper != msg.src
            ):
                q = replace(q, status=set_end(q.status, i, _E.DISCARDED))
        if q is not p:
            pairs = pairs.set(q.id, q)
    return m.retire(replace(s, pairs=pairs), None)


def swap(m: ModelCore, s: State, a: Swap) -> State:
    who, t = a.name, s.now_us
    m.up(s, a.node, who)
    if a.left == a.right:
        raise NotEnabled(who, "a swap joins two different pairs")
    left, right = m.pair(s, a.left, who), m.pair(s, a.right, who)
    il, ir = m.end(left, a.node, who), m.end(right, a.node, who)
    for p, i in ((left, il), (right, ir)):
        if p.status[i] is not _E.READY:
            raise NotEnabled(
                who, f"{a.node}'s half of pair {p.id} is {p.status[i].value}, not ready"
            )
        if p.swapper != a.node and m.mutant is not Mutant.DOUBLE_SWAP:
            raise NotEnabled(who, f"the schedule swaps pair {p.id} at {p.swapper}, not {a.node}")
        if t > p.deadline_us:
            raise NotEnabled(who, f"pair {p.id} is past its cut-off ({p.deadline_us} us)")
    if left.route != right.route:
        raise NotEnabled(who, f"pairs {left.id} and {right.id} are on different routes")
    ends = sorted([left.segment[1 - il], right.segment[1 - ir]])
    (lo, hi), (x, y) = ends, (left.other(il), right.other(ir))
    if x == y or lo == hi:
        raise NotEnabled(who, f"both pairs end at {x}: a swap would make a loop")
    if left.segment[1 - il] > right.segment[1 - ir]:
        left, right, il, ir, x, y = right, left, ir, il, y, x  # keep path order: x before y
    # Effect: Bell-state measurement; Werner w = w1 * w2, so costs add (see physics).
    cost = m.cost_at(left, t) + m.cost_at(right, t) + m.scenario.swap_gate_cost_nnp
    pid, seg = s.next_id, (lo, hi)
    swapper = _swapper(m, s, left.route, seg)
    # The new pair's cut-off is never later than its inputs': a far end that has not yet
    # heard of the swap discards its half on the input's cut-off.
    deadline = m.deadline((x, y), cost, t, left.pool, swapper is None)
    deadline = min(deadline, left.deadline_us, right.deadline_us)
    news: list[EndStatus] = []
    known: list[int] = []
    for p, k in ((left, 1 - il), (right, 1 - ir)):
        st = p.status[k]
        if st in LIVE and m.mutant is Mutant.SWAP_NO_WAIT:
            news.append(_E.READY)
            known.append(t)
        else:
            news.append(_E.INCOMING if st in LIVE else st)
            known.append(-1)
    new = Pair(
        id=pid,
        nodes=(x, y),
        qubits=(left.qubits[1 - il], right.qubits[1 - ir]),
        status=(news[0], news[1]),
        epochs=(left.epochs[1 - il], right.epochs[1 - ir]),
        pool=left.pool,
        route=left.route,
        segment=seg,
        swapper=swapper,
        cost_nnp=cost,
        stamp_us=t,
        deadline_us=deadline,
        known_us=(known[0], known[1]),
        cause=((a.node, t), (a.node, t)),
        consumed=0,
    )
    pairs = s.pairs.set(pid, new)
    for p, i in ((left, il), (right, ir)):
        p2 = replace(p, status=set_end(p.status, i, _E.SWAPPED), consumed=p.consumed + 1)
        if m.mutant is Mutant.SWAP_NO_WAIT and p2.status[1 - i] in LIVE:
            p2 = replace(p2, status=set_end(p2.status, 1 - i, _E.MERGED))
        pairs = pairs.set(p.id, p2)
    s = replace(s, next_id=pid + 1, pairs=pairs)
    s = m.send(s, MsgKind.SWAP_DONE, a.node, x, pair=left.id, new_pair=pid)
    s = m.send(s, MsgKind.SWAP_DONE, a.node, y, pair=right.id, new_pair=pid)
    return m.retire(s, (left.id, right.id))


def purify(m: ModelCore, s: State, a: Purify) -> State:
    """BBPSSW round. Both ends measure the sacrifice at the agreed time ``now`` (without loss
    of generality: the round's time was agreed in an earlier message) and tell each other the
    parity; each end knows the outcome one light time later."""
    who, t = a.name, s.now_us
    if a.keep == a.sacrifice:
        raise NotEnabled(who, "purification needs two different pairs")
    keep, sac = m.pair(s, a.keep, who), m.pair(s, a.sacrifice, who)
    if set(keep.nodes) != set(sac.nodes):
        raise NotEnabled(who, f"pairs {keep.id} and {sac.id} do not join the same two nodes")
    for p in (keep, sac):
        if p.swapper is not None:
            raise NotEnabled(who, f"pair {p.id} is not end-to-end (swapper {p.swapper})")
        for i in (0, 1):
            m.up(s, p.nodes[i], who)
            if p.status[i] is not _E.READY:
                raise NotEnabled(
                    who, f"{p.nodes[i]}'s half of pair {p.id} is {p.status[i].value}, not ready"
                )
        if t > p.deadline_us:
            raise NotEnabled(who, f"pair {p.id} is past its cut-off ({p.deadline_us} us)")
    if keep.pool != sac.pool:
        raise NotEnabled(who, f"pairs {keep.id} and {sac.id} are for different pools")
    # Effect: BBPSSW (Bennett et al., PRL 76, 722, 1996), floats at the edge, rounded up.
    if a.success:
        f1, f2 = cost_to_fidelity(m.cost_at(keep, t)), cost_to_fidelity(m.cost_at(sac, t))
        f_out, _ = purify_bbpssw(f1, f2)
        cost = fidelity_cost_nnp(min(1.0, f_out)) + _PURIFY_MARGIN_NNP
    else:
        cost = m.cost_at(keep, t)
    n0, n1 = keep.nodes
    kept = replace(
        keep,
        status=(_E.PENDING, _E.PENDING),
        cost_nnp=cost,
        stamp_us=t,
        deadline_us=m.deadline(keep.nodes, cost, t, keep.pool),
        known_us=(-1, -1),
        cause=((n1, t), (n0, t)),
    )
    spent = replace(sac, status=(_E.CONSUMED, _E.CONSUMED), consumed=sac.consumed + 1)
    s = replace(s, pairs=s.pairs.set(kept.id, kept).set(spent.id, spent))
    s = m.send(s, MsgKind.PURIFY_RESULT, n0, n1, pair=keep.id, ok=a.success)
    s = m.send(s, MsgKind.PURIFY_RESULT, n1, n0, pair=keep.id, ok=a.success)
    return m.retire(s, (sac.id,))


def admit(m: ModelCore, s: State, a: Admit) -> State:
    who = a.name
    m.up(s, a.node, who)
    p = m.pair(s, a.pair, who)
    i = m.end(p, a.node, who)
    ok = {_E.READY, _E.PENDING} if m.mutant is Mutant.EARLY_ADMIT else {_E.READY}
    if p.status[i] not in ok:
        raise NotEnabled(who, f"{a.node}'s half of pair {p.id} is {p.status[i].value}, not ready")
    if p.swapper is not None:
        raise NotEnabled(who, f"pair {p.id} is not end-to-end (swapper {p.swapper})")
    if s.now_us > p.deadline_us:
        raise NotEnabled(who, f"pair {p.id} is past its cut-off ({p.deadline_us} us)")
    known = p.known_us if p.known_us[i] >= 0 else set_int(p.known_us, i, s.now_us)
    p = replace(p, status=set_end(p.status, i, _E.POOLED), known_us=known)
    return replace(s, pairs=s.pairs.set(p.id, p))


def expire(m: ModelCore, s: State, a: Expire) -> State:
    who = a.name
    m.up(s, a.node, who)
    p = m.pair(s, a.pair, who)
    i = m.end(p, a.node, who)
    planted = m.mutant is Mutant.ONE_SIDED_EXPIRY and p.status[i] is _E.POOLED
    if not planted:  # the planted bug: a local decision at any time, partner not told
        if p.status[i] not in LIVE:
            raise NotEnabled(who, f"{a.node}'s half of pair {p.id} is {p.status[i].value}")
        until = m.expiry_us(p, i)
        if s.now_us <= until:
            raise NotEnabled(who, f"{a.node} keeps pair {p.id} until {until} us (now {s.now_us})")
    p = replace(p, status=set_end(p.status, i, _E.DISCARDED))
    return m.retire(replace(s, pairs=s.pairs.set(p.id, p)), (p.id,))


def use_pair(m: ModelCore, s: State, a: UsePair) -> State:
    who, t = a.name, s.now_us
    m.up(s, a.node, who)
    p = m.pair(s, a.pair, who)
    i = m.end(p, a.node, who)
    if p.status[i] is not _E.POOLED:
        raise NotEnabled(who, f"{a.node}'s half of pair {p.id} is {p.status[i].value}, not pooled")
    pl = m.scenario.pools[p.pool]
    if a.node != pl.a and m.mutant is not Mutant.BOTH_ENDS_SEND:
        raise NotEnabled(who, f"pool {pl.a}->{pl.b} sends only from {pl.a}")
    receiver, th, cost = p.other(i), pl.threshold_nnp, m.cost_at(p, t)
    if m.mutant is Mutant.THRESHOLD_AT_SEND:
        if cost > th:
            raise NotEnabled(who, f"cost {cost} nnp at send exceeds threshold {th}")
    elif m.mutant is not Mutant.NO_THRESHOLD:
        if t > p.deadline_us:
            raise NotEnabled(who, f"pair {p.id} is past its cut-off ({p.deadline_us} us)")
        predicted = cost + m.transit_decay(a.node, receiver)
        if predicted > th:
            raise NotEnabled(
                who, f"predicted cost {predicted} nnp at the receiver's correction exceeds {th}"
            )
    # Effect: Bell measurement on (input, own half); two bits go to the receiver.
    st = _E.POOLED if m.mutant is Mutant.REUSE_AFTER_USE else _E.SENT
    p = replace(p, status=set_end(p.status, i, st), consumed=p.consumed + 1)
    s = replace(s, pairs=s.pairs.set(p.id, p))
    s = m.send(s, MsgKind.BITS, a.node, receiver, pair=p.id, cost_nnp=cost)
    if m.mutant is Mutant.INSTANT_EFFECT:  # "augenblicklich": the bits need no transit
        mid = s.next_id - 1
        s = replace(s, messages=s.messages.set(mid, replace(s.messages[mid], arrive_us=t)))
    return s


def deliver(m: ModelCore, s: State, a: Deliver) -> State:
    who, t = a.name, s.now_us
    msg = s.messages.get(a.msg)
    if msg is None:
        raise NotEnabled(who, f"no message {a.msg} in flight")
    if msg.kind is not MsgKind.BITS:
        raise NotEnabled(who, f"message {a.msg} is a {msg.kind.value} message: use receive")
    m.up(s, msg.dst, who)
    if t < msg.arrive_us:
        raise NotEnabled(who, f"message {a.msg} arrives at {msg.arrive_us} us, now {t}")
    p = s.pairs.get(msg.pair)
    i = -1 if p is None else p.end(msg.dst)
    if p is not None and p.status[i] in (_E.PENDING, _E.INCOMING):
        raise NotEnabled(
            who, f"{msg.dst} does not know pair {p.id} yet ({p.status[i].value}): the bits wait"
        )
    th = m.scenario.pools[p.pool].threshold_nnp if p is not None else 0
    # the receiver's half is gone when the pair, or its half here, is no longer live
    lost = p is None or p.status[i] not in LIVE
    cost = msg.cost_nnp + decay_cost_nnp(t - msg.sent_us, m._coh[msg.dst])
    if lost and m.mutant is not Mutant.CRASH_SILENT:
        outcome = Outcome.FAILED_LOST
    elif cost > th and m.mutant not in (Mutant.THRESHOLD_AT_SEND, Mutant.NO_THRESHOLD):
        outcome = Outcome.FAILED_STALE
    else:
        outcome = Outcome.DELIVERED
    d = Delivery(msg.pair, msg.src, msg.dst, msg.sent_us, t, cost, th, outcome, lost)
    s = replace(s, messages=s.messages.delete(msg.id), last_delivery=d, deliveries=s.deliveries + 1)
    if p is not None and not lost:
        st = _E.RECEIVED if outcome is Outcome.DELIVERED else _E.DISCARDED
        s = replace(s, pairs=s.pairs.set(p.id, replace(p, status=set_end(p.status, i, st))))
    return m.retire(s, (msg.pair,))
