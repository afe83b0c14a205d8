"""Protocol rules joining and improving pairs (spec A5, A6): swap, purify.

Each is guard first (``NotEnabled`` names the failed conjunct), then effect.
"""

from __future__ import annotations

from dataclasses import replace

from pqms_model.errors import NotEnabled
from pqms_model.model.core import ModelCore, put, set_end, swapper_of
from pqms_model.physics.cost import cost_to_fidelity, fidelity_cost_nnp
from pqms_model.physics.werner import purify_bbpssw
from pqms_model.protocol.actions import (
    Purify,
    Swap,
)
from pqms_model.protocol.state import (
    LIVE,
    EndStatus,
    MsgKind,
    Pair,
    State,
)

__all__ = ["purify", "swap"]

_E = EndStatus
_PURIFY_MARGIN_NNP = 4  # float error of the BBPSSW formula, rounded against us


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
        if p.swapper != a.node and m.protocol.swap_only_at_scheduled_node:
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
    swapper = swapper_of(s, left.route, seg)
    # The new pair's cut-off is never later than its inputs': a far end that has not yet
    # heard of the swap discards its half on the input's cut-off.
    deadline = m.deadline((x, y), cost, t, left.pool, swapper is None)
    deadline = min(deadline, left.deadline_us, right.deadline_us)
    news: list[EndStatus] = []
    known: list[int] = []
    for p, k in ((left, 1 - il), (right, 1 - ir)):
        st = p.status[k]
        if st in LIVE and not m.protocol.far_ends_wait_for_swap_notice:
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
    spent: list[Pair] = []
    for p, i in ((left, il), (right, ir)):
        after = set_end(p.status, i, _E.SWAPPED)
        if not m.protocol.far_ends_wait_for_swap_notice and after[1 - i] in LIVE:
            after = set_end(after, 1 - i, _E.MERGED)
        spent.append(replace(p, status=after, consumed=p.consumed + 1))
    s = put(replace(s, next_id=pid + 1), *spent, new)
    s = m.send(s, MsgKind.SWAP_DONE, a.node, x, pair=left.id, new_pair=pid)
    s = m.send(s, MsgKind.SWAP_DONE, a.node, y, pair=right.id, new_pair=pid)
    return s


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
    s = put(s, kept, spent)
    s = m.send(s, MsgKind.PURIFY_RESULT, n0, n1, pair=keep.id, ok=a.success)
    s = m.send(s, MsgKind.PURIFY_RESULT, n1, n0, pair=keep.id, ok=a.success)
    return s
