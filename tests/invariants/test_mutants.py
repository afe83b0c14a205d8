"""Every mutant is refuted by a pinned run (spec §6).

For each mutant and each invariant it claims to break, ``test_<mutant>_breaks_<id>`` is a short
hand-written run on the default mesh that drives ``Model(scenario, mutant)`` into a violation of
that invariant. :func:`check_refuted` then replays the same actions on the correct model, which
either rejects the step where the planted bug acts (naming the guard) or runs through with no
invariant violated; and it writes the run as an ITF trace and replays it, which must report an
invariant the mutant names.
"""

from __future__ import annotations

import sys

from pqms_model.invariants import INVARIANTS
from pqms_model.model.transition import Model
from pqms_model.protocol.actions import Admit, Crash, Deliver, Expire, LinkDown, Recover, UsePair
from pqms_model.protocol.mutants import Mutant
from pqms_model.protocol.state import MsgKind, Outcome, Schedule
from pqms_model.trace.itf import build_trace, dumps, replay_doc
from tests.support.builders import (
    EARTH,
    L1,
    L2,
    LINK_EARTH_MOON,
    MARS,
    MOON,
    POOL_EARTH_MARS,
    POOL_EARTH_MOON,
    SCENARIO,
    Run,
    last_us_with_cost_at_most,
)
from tests.support.invariant_cases import E, check, two_hop_heralded


def check_refuted(r: Run, invariant: str, *, at: int, rejected: str | None) -> None:
    """``r`` ran on ``r.mutant``; the planted bug acts at step ``at`` (1-based).

    - the final state violates ``invariant``, which the mutant names in ``breaks``, and no
      invariant the mutant names is violated before step ``at``;
    - the same actions on the correct model: rejected at step ``at`` with a reason containing
      ``rejected``, or (``rejected is None``) all accepted with no invariant violated after any
      step;
    - the run as an ITF trace replays on the mutant model and reports an invariant it names.
    """
    mutant = r.mutant
    assert mutant is not None and invariant in mutant.breaks
    found = {v.invariant: v.reason for v in r.violations()}
    assert invariant in found, f"{mutant.key}: expected {invariant}, got {found}"
    again = r.replay(r.m)
    assert again.rejected_at is None and len(again.seen) == len(r.log)
    for k, seen in enumerate(again.seen[: at - 1], start=1):
        assert not {v.invariant for v in seen} & set(mutant.breaks), f"violated at step {k}"
    correct = r.replay(Model(r.scenario))
    if rejected is None:
        assert correct.rejected_at is None, f"correct model rejected: {correct.error}"
    else:
        assert correct.rejected_at == at, f"correct model: {correct.rejected_at} {correct.error}"
        assert correct.error is not None and rejected in correct.error.reason
    assert all(not seen for seen in correct.seen), f"correct model violates {correct.seen}"
    doc = build_trace(r.m, r.log, seed=0, invariant=invariant)
    assert f'"mutant": "{mutant.key}"' in dumps(doc)
    result = replay_doc(doc, "<pinned run>", mutant)
    assert result.violation is not None and result.violation.invariant in mutant.breaks


def test_every_mutant_claim_is_pinned() -> None:
    """For each mutant and each invariant in its ``breaks``, a ``test_<mutant>_breaks_<id>``."""
    names = set(dir(sys.modules[__name__]))
    for mutant in Mutant:
        for inv in mutant.breaks:
            assert inv in INVARIANTS, f"{mutant.key} claims unknown invariant {inv}"
            name = f"test_{mutant.key}_breaks_{inv}".replace("-", "_")
            assert name in names, f"no pinned run {name}"


def test_instant_effect_breaks_causality() -> None:
    """Whitepaper §3.3 literally: the effect 'manifests instantly' at the receiver."""
    r = Run(Mutant.INSTANT_EFFECT, check=False)
    pid = r.pooled_pair()
    r.step(UsePair(pid, EARTH))
    r.step(Deliver(r.msg_id(MsgKind.BITS, pair=pid)))  # at the trigger time: 'augenblicklich'
    d = r.s.last_delivery
    assert d is not None and d.deliver_us == d.send_us  # zero signal latency, as claimed
    check_refuted(r, "causality", at=len(r.log), rejected="arrives at")


def test_threshold_at_send_breaks_fidelity_on_use() -> None:
    """Used while still good enough at send, the pair decays below the threshold in transit."""
    r = Run(Mutant.THRESHOLD_AT_SEND, check=False)
    pid = r.pooled_pair()
    p, th = r.pair(pid), SCENARIO.pools[POOL_EARTH_MOON].threshold_nnp
    t = last_us_with_cost_at_most(r.m, p, th)
    assert r.m.cost_at(p, t) + r.m.transit_decay(EARTH, MOON) > th  # stale on arrival
    r.advance_to(t).step(UsePair(pid, EARTH))
    at = len(r.log)
    r.advance(r.light(EARTH, MOON)).step(Deliver(r.msg_id(MsgKind.BITS, pair=pid)))
    check_refuted(r, "fidelity-on-use", at=at, rejected="is past its cut-off")


def test_no_threshold_breaks_fidelity_on_use() -> None:
    r = Run(Mutant.NO_THRESHOLD, check=False)
    pid = r.pooled_pair()
    r.advance(1000 * 10**6).step(UsePair(pid, EARTH))  # 1000 s later: far below threshold
    at = len(r.log)
    r.advance(r.light(EARTH, MOON)).step(Deliver(r.msg_id(MsgKind.BITS, pair=pid)))
    check_refuted(r, "fidelity-on-use", at=at, rejected="is past its cut-off")


def test_reuse_after_use_breaks_no_double_use() -> None:
    r = Run(Mutant.REUSE_AFTER_USE, check=False)
    pid = r.pooled_pair()
    r.step(UsePair(pid, EARTH), UsePair(pid, EARTH))
    check_refuted(r, "no-double-use", at=len(r.log), rejected="is sent, not pooled")


def test_reuse_after_use_breaks_pool_consistency() -> None:
    """After the first use is delivered, earth still lists the pair as pooled."""
    r = Run(Mutant.REUSE_AFTER_USE, check=False)
    pid = r.pooled_pair()
    r.step(UsePair(pid, EARTH))
    at = len(r.log)
    r.advance(r.light(EARTH, MOON)).step(Deliver(r.msg_id(MsgKind.BITS, pair=pid)))
    assert r.pair(pid).status == (E.POOLED, E.RECEIVED)
    check_refuted(r, "pool-consistency", at=at, rejected=None)


def test_early_admit_breaks_causality() -> None:
    r = Run(Mutant.EARLY_ADMIT, check=False)
    pid = r.generate(r.route(), 0)
    r.step(Admit(pid, EARTH))  # before moon's herald could reach earth
    check_refuted(r, "causality", at=len(r.log), rejected="is pending, not ready")


def test_overcommit_memory_breaks_memory_capacity() -> None:
    r = Run(Mutant.OVERCOMMIT_MEMORY, check=False)
    rid = r.route()
    for _ in range(SCENARIO.node(MOON).memory_capacity + 1):
        r.generate(rid, 0)
    check_refuted(r, "memory-capacity", at=len(r.log), rejected="no free memory qubit at moon")


def test_one_sided_expiry_breaks_pool_consistency() -> None:
    r = Run(Mutant.ONE_SIDED_EXPIRY, check=False)
    pid = r.pooled_pair()
    r.step(Expire(pid, MOON))  # long before the shared cut-off; earth is not told
    check_refuted(r, "pool-consistency", at=len(r.log), rejected=f"moon keeps pair {pid} until")


def test_crash_silent_breaks_no_silent_failure() -> None:
    r = Run(Mutant.CRASH_SILENT, check=False)
    pid = r.pooled_pair()
    r.step(UsePair(pid, EARTH), Crash(MOON), Recover(MOON))
    r.advance(r.light(EARTH, MOON)).step(Deliver(r.msg_id(MsgKind.BITS, pair=pid)))
    d = r.s.last_delivery
    assert d is not None and d.half_lost and d.outcome is Outcome.DELIVERED
    check_refuted(r, "no-silent-failure", at=len(r.log), rejected=None)


def test_double_swap_breaks_no_double_use() -> None:
    """Both relays swap the middle pair of earth - relay-l1 - relay-l2 - mars."""
    r = Run(Mutant.DOUBLE_SWAP, check=False)
    rid = r.route(POOL_EARTH_MARS, (EARTH, L1, L2, MARS), Schedule.SEQUENTIAL)
    a, b, c = r.generate(rid, 0), r.generate(rid, 1), r.generate(rid, 2)
    r.receive(r.msgs(MsgKind.HERALD))
    assert r.pair(b).swapper == L1  # sequential: (0 1)(1 2) are joined at relay-l1
    r.swap(a, b, L1)
    r.swap(b, c, L2)
    check_refuted(r, "no-double-use", at=len(r.log), rejected="at relay-l1, not relay-l2")


def test_double_swap_breaks_swap_follows_schedule() -> None:
    """Relay-l2 swaps the middle pair of earth - relay-l1 - relay-l2 - mars, which the
    sequential schedule gives to relay-l1: the new relay-l1 - mars pair spans segment (1, 3),
    outside the schedule's tree. No pair is consumed twice: only swap-follows-schedule sees it."""
    r = Run(Mutant.DOUBLE_SWAP, check=False)
    rid = r.route(POOL_EARTH_MARS, (EARTH, L1, L2, MARS), Schedule.SEQUENTIAL)
    _, b, c = r.generate(rid, 0), r.generate(rid, 1), r.generate(rid, 2)
    r.receive(r.msgs(MsgKind.HERALD))
    assert (r.pair(b).swapper, r.pair(c).swapper) == (L1, L2)
    top = r.swap(b, c, L2)
    assert r.pair(top).nodes == (L1, MARS) and r.pair(top).segment == (1, 3)
    assert r.broken() == {"swap-follows-schedule"}
    reason = check("swap-follows-schedule", r)
    assert reason == (
        f"pair {top} spans segment (1, 3), which the sequential schedule of route {rid} never makes"
    )
    check_refuted(r, "swap-follows-schedule", at=len(r.log), rejected="at relay-l1, not relay-l2")


def test_swap_no_wait_breaks_causality() -> None:
    r = Run(Mutant.SWAP_NO_WAIT, check=False)
    _, left, right = two_hop_heralded(r)
    top = r.swap(left, right, L1)
    assert r.pair(top).status == (E.READY, E.READY)  # before any news left relay-l1
    check_refuted(r, "causality", at=len(r.log), rejected=None)


def test_both_ends_send_breaks_no_double_use() -> None:
    r = Run(Mutant.BOTH_ENDS_SEND, check=False)
    pid = r.pooled_pair()
    r.step(UsePair(pid, EARTH), UsePair(pid, MOON))
    check_refuted(r, "no-double-use", at=len(r.log), rejected="sends only from earth")


def test_route_through_down_breaks_route_believed_up() -> None:
    r = Run(Mutant.ROUTE_THROUGH_DOWN, check=False)
    r.step(LinkDown(LINK_EARTH_MOON))  # earth, an end of the link, knows at once
    r.choose_route(POOL_EARTH_MOON, (EARTH, MOON))
    check_refuted(
        r, "route-believed-up", at=len(r.log), rejected="believes link(s) [0] on this path"
    )
