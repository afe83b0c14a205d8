"""The invariants of a use (spec §5): no-double-use, fidelity-on-use, causality and
no-silent-failure can each fail and hold.
"""

from __future__ import annotations

from dataclasses import replace

from pqms_model.protocol.actions import Crash, Deliver, Recover, UsePair
from pqms_model.protocol.state import MsgKind, Outcome
from tests.support.builders import EARTH, L1, MOON, Run
from tests.support.invariant_cases import E, check, delivered, two_hop_heralded, with_pair

# --- no-double-use ----------------------------------------------------------------------------


def test_no_double_use_detects_reuse() -> None:
    r = Run()
    pid = r.pooled_pair()
    r.step(UsePair(pid, EARTH))
    assert check("no-double-use", r) is None
    twice = with_pair(r.s, pid, consumed=2)
    assert check("no-double-use", r, twice) == f"pair {pid} was consumed 2 times"


def test_no_double_use_detects_a_qubit_in_two_live_pairs() -> None:
    r = Run()
    rid = r.route()
    one, two = r.pooled_pair(rid), r.pooled_pair(rid)
    q = r.pair(one).qubits[0]
    shared = with_pair(r.s, two, qubits=(q, r.pair(two).qubits[1]))
    reason = check("no-double-use", r, shared)
    assert reason == f"qubit {q} at earth is live in pairs {one} and {two}"


def test_no_double_use_holds_while_a_swap_hands_a_qubit_on() -> None:
    """Between a swap and its news, earth's qubit is listed in the old pair (live) and in the
    new one (incoming): one live owner, so no double use."""
    r = Run()
    _, left, right = two_hop_heralded(r)
    top = r.swap(left, right, L1)
    q = r.pair(top).qubits[0]
    assert r.pair(left).qubits[0] == q and r.status(left, EARTH) is E.READY
    assert r.status(top, EARTH) is E.INCOMING
    assert check("no-double-use", r) is None


# --- fidelity-on-use --------------------------------------------------------------------------


def test_fidelity_on_use_detects_a_stale_delivery() -> None:
    r = Run()
    pid = delivered(r)
    d = r.s.last_delivery
    assert d is not None and d.outcome is Outcome.DELIVERED
    stale = replace(r.s, last_delivery=replace(d, cost_nnp=d.threshold_nnp + 1))
    reason = check("fidelity-on-use", r, stale)
    assert reason is not None
    assert f"use of pair {pid} delivered at moon" in reason
    assert f"> threshold {d.threshold_nnp} nnp" in reason


def test_fidelity_on_use_holds_at_the_threshold() -> None:
    r = Run()
    delivered(r)
    d = r.s.last_delivery
    assert d is not None and d.cost_nnp < d.threshold_nnp
    assert check("fidelity-on-use", r) is None
    edge = replace(r.s, last_delivery=replace(d, cost_nnp=d.threshold_nnp))
    assert check("fidelity-on-use", r, edge) is None


def test_fidelity_on_use_holds_for_a_reported_stale_use() -> None:
    """A use corrected too late is reported FAILED_STALE, which is not a delivered use."""
    r = Run()
    pid = r.pooled_pair()
    r.advance_to(r.pair(pid).deadline_us).step(UsePair(pid, EARTH))
    r.advance(r.light(EARTH, MOON) + 1_000_000).step(Deliver(r.msg_id(MsgKind.BITS)))
    d = r.s.last_delivery
    assert d is not None and d.outcome is Outcome.FAILED_STALE and d.cost_nnp > d.threshold_nnp
    assert check("fidelity-on-use", r) is None


# --- causality --------------------------------------------------------------------------------


def test_causality_detects_a_delivery_before_the_bits_arrive() -> None:
    r = Run()
    delivered(r)
    d = r.s.last_delivery
    assert d is not None
    early = replace(r.s, last_delivery=replace(d, deliver_us=d.deliver_us - 1))
    reason = check("causality", r, early)
    assert reason is not None
    assert f"took effect at moon at {d.deliver_us - 1} us" in reason
    assert f"before the bits from earth could arrive ({d.deliver_us} us)" in reason


def test_causality_detects_knowledge_before_the_news() -> None:
    r = Run()
    pid = r.generate(r.route(), 0)  # earth's half waits one light time for moon's herald
    t = r.s.now_us
    told = with_pair(r.s, pid, status=(E.READY, E.READY), known_us=(t, t))
    reason = check("causality", r, told)
    assert reason == (
        f"pair {pid} is ready at earth since {t} us, before news from moon could arrive "
        f"({t + r.light(MOON, EARTH)} us)"
    )


def test_causality_holds_at_exactly_the_light_time() -> None:
    r = Run()
    pid = r.generate(r.route(), 0)
    t = r.s.now_us
    r.receive(r.msgs(MsgKind.HERALD, pair=pid))
    assert r.pair(pid).known_us == (t + r.light(MOON, EARTH), t)
    assert check("causality", r) is None
    delivered(r)
    d = r.s.last_delivery
    assert d is not None and d.deliver_us == d.send_us + r.light(EARTH, MOON)
    assert check("causality", r) is None


# --- no-silent-failure ------------------------------------------------------------------------


def crashed_receiver(r: Run) -> int:
    pid = r.pooled_pair()
    r.step(UsePair(pid, EARTH), Crash(MOON), Recover(MOON))
    r.advance(r.light(EARTH, MOON)).step(Deliver(r.msg_id(MsgKind.BITS, pair=pid)))
    return pid


def test_no_silent_failure_detects_success_on_a_lost_half() -> None:
    r = Run()
    pid = crashed_receiver(r)
    d = r.s.last_delivery
    assert d is not None
    silent = replace(r.s, last_delivery=replace(d, outcome=Outcome.DELIVERED))
    reason = check("no-silent-failure", r, silent)
    assert reason == f"use of pair {pid} reported delivered at moon, whose half was lost"


def test_no_silent_failure_holds_when_the_loss_is_reported() -> None:
    r = Run()
    crashed_receiver(r)
    d = r.s.last_delivery
    assert d is not None and d.half_lost and d.outcome is Outcome.FAILED_LOST
    assert check("no-silent-failure", r) is None
