"""The invariants of memories and pools (spec §5): memory-capacity, pool-consistency and
pool-well-formed can each fail and hold.
"""

from __future__ import annotations

from dataclasses import replace

from pqms_model.protocol.actions import Admit, Crash, Expire, Recover, UsePair
from pqms_model.protocol.state import MsgKind
from tests.support.builders import EARTH, L1, MOON, SCENARIO, Run
from tests.support.invariant_cases import E, check, two_hop_heralded, with_pair

# --- memory-capacity --------------------------------------------------------------------------


def fill_moon(r: Run) -> list[int]:
    rid = r.route()
    return [r.generate(rid, 0) for _ in range(SCENARIO.node(MOON).memory_capacity)]


def test_memory_capacity_holds_at_exactly_the_capacity() -> None:
    r = Run()
    fill_moon(r)
    assert r.m.free_memory(r.s, MOON) == 0
    assert check("memory-capacity", r) is None


def test_memory_capacity_detects_one_qubit_too_many() -> None:
    r = Run()
    pids = fill_moon(r)
    extra = replace(r.pair(pids[0]), id=r.s.next_id, qubits=(r.s.next_id + 1, r.s.next_id + 2))
    over = replace(r.s, next_id=r.s.next_id + 3, pairs=r.s.pairs.set(extra.id, extra))
    assert check("memory-capacity", r, over) == "moon holds 17 live qubits, memory capacity 16"


def test_memory_capacity_detects_a_live_qubit_at_a_down_node() -> None:
    r = Run()
    r.pooled_pair()
    down = replace(r.s, nodes_down=frozenset({MOON}))
    assert check("memory-capacity", r, down) == "moon is down but holds 1 live qubits"


def test_memory_capacity_holds_after_a_crash() -> None:
    r = Run()
    pid = r.pooled_pair()
    r.step(Crash(MOON))
    assert r.pair(pid).status == (E.POOLED, E.LOST)
    assert check("memory-capacity", r) is None


# --- pool-consistency -------------------------------------------------------------------------


def test_pool_consistency_detects_a_one_sided_discard() -> None:
    r = Run()
    pid = r.pooled_pair()
    gone = with_pair(r.s, pid, status=(E.POOLED, E.DISCARDED))
    reason = check("pool-consistency", r, gone)
    assert reason == (
        f"pair {pid} is pooled at earth but discarded at moon, with no news in flight and its "
        f"cut-off ({r.pair(pid).deadline_us} us) not passed"
    )


def test_pool_consistency_detects_a_use_whose_bits_are_gone() -> None:
    r = Run()
    pid = r.pooled_pair()
    r.step(UsePair(pid, EARTH))
    assert check("pool-consistency", r) is None  # the bits are on their way to moon
    bits = r.msg_id(MsgKind.BITS, pair=pid)
    lost = replace(r.s, messages=r.s.messages.delete(bits))
    reason = check("pool-consistency", r, lost)
    assert reason is not None and reason.startswith(f"pair {pid} is pooled at moon but sent")


def test_pool_consistency_holds_while_the_partner_waits_for_news() -> None:
    r = Run()
    _, left, right = two_hop_heralded(r)
    top = r.swap(left, right, L1)
    r.receive(r.msgs(MsgKind.SWAP_DONE, dst=EARTH))
    r.step(Admit(top, EARTH))
    assert r.pair(top).status == (E.POOLED, E.INCOMING)
    assert check("pool-consistency", r) is None


def test_pool_consistency_holds_while_the_partner_is_down_or_its_reset_travels() -> None:
    r = Run()
    pid = r.pooled_pair()
    r.step(Crash(MOON))
    assert r.pair(pid).status == (E.POOLED, E.LOST) and check("pool-consistency", r) is None
    r.step(Recover(MOON))  # up again: its RESET to earth is the news in flight
    assert check("pool-consistency", r) is None
    r.receive(r.msgs(MsgKind.RESET, dst=EARTH))
    assert pid not in r.s.pairs


def test_pool_consistency_holds_after_the_shared_cutoff() -> None:
    """The sender discards right after the cut-off; the receiver still pools its half (it waits
    for the bits of a use sent at the cut-off). One microsecond earlier it would be a violation."""
    r = Run()
    pid = r.pooled_pair()
    deadline = r.pair(pid).deadline_us
    r.advance_to(deadline + 1).step(Expire(pid, EARTH))
    assert r.pair(pid).status == (E.DISCARDED, E.POOLED)
    assert check("pool-consistency", r) is None
    early = replace(r.s, now_us=deadline)
    reason = check("pool-consistency", r, early)
    assert reason is not None and reason.startswith(f"pair {pid} is pooled at moon but discarded")


# --- pool-well-formed -------------------------------------------------------------------------


def test_pool_well_formed_detects_a_pooled_part_of_a_route() -> None:
    r = Run()
    _, left, _ = two_hop_heralded(r)
    pooled = with_pair(r.s, left, status=(E.POOLED, E.READY))
    reason = check("pool-well-formed", r, pooled)
    assert reason == f"pair {left} (('earth', 'relay-l1')) is pooled but does not join earth-moon"


def test_pool_well_formed_detects_a_pooled_pair_with_a_swapper() -> None:
    r = Run()
    pid = r.pooled_pair()
    odd = with_pair(r.s, pid, swapper=L1)
    reason = check("pool-well-formed", r, odd)
    assert reason is not None and "is pooled but does not join earth-moon" in reason


def test_pool_well_formed_holds_for_swapped_and_direct_pairs() -> None:
    r = Run()
    _, left, right = two_hop_heralded(r)
    top = r.swap(left, right, L1)
    r.receive(r.msgs(MsgKind.SWAP_DONE, new_pair=top))
    r.admit_both(top)
    r.pooled_pair(r.route())
    assert check("pool-well-formed", r) is None
