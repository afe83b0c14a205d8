"""The type invariant type-ok and the lemma message-light-bound (spec §5) can each fail and
hold.
"""

from __future__ import annotations

from dataclasses import replace

from pqms_model.protocol.actions import Crash, DelayMessage, LinkDown, UsePair
from pqms_model.protocol.state import MsgKind, State
from tests.support.builders import (
    EARTH,
    L1,
    L2,
    LINK_EARTH_MOON,
    MARS,
    MOON,
    POOL_EARTH_MARS,
    POOL_EARTH_MOON,
    Run,
)
from tests.support.invariant_cases import E, check, two_hop_heralded, with_pair

# --- type-ok ----------------------------------------------------------------------------------


def _tampered_types(r: Run, pid: int) -> list[tuple[str, State, str]]:
    s, p = r.s, r.pair(pid)
    msg = next(iter(s.messages.values()))
    return [
        ("negative-time", replace(s, now_us=-1), "now_us = -1 < 0"),
        ("key-mismatch", replace(s, pairs=s.pairs.set(pid + 100, p)), "does not match id"),
        (
            "id-not-yet-issued",
            replace(s, pairs=s.pairs.set(s.next_id, replace(p, id=s.next_id))),
            f"or next_id {s.next_id}",
        ),
        ("same-ends", with_pair(s, pid, nodes=(EARTH, EARTH)), "has ends ('earth', 'earth')"),
        ("unknown-end", with_pair(s, pid, nodes=(EARTH, "venus")), "has ends"),
        ("negative-cost", with_pair(s, pid, cost_nnp=-1), "has cost -1"),
        ("future-stamp", with_pair(s, pid, stamp_us=s.now_us + 1), "stamp"),
        ("unknown-pool", with_pair(s, pid, pool=9), "names pool 9"),
        ("status-string", with_pair(s, pid, status=("pooled", E.POOLED)), "has status"),
        (
            "message-from-nowhere",
            replace(s, messages=s.messages.set(msg.id, replace(msg, src="venus"))),
            "names venus -> ",
        ),
        (
            "message-back-in-time",
            replace(s, messages=s.messages.set(msg.id, replace(msg, arrive_us=msg.sent_us - 1))),
            f"message {msg.id} has sent",
        ),
        ("unknown-node-down", replace(s, nodes_down=frozenset({"venus"})), "['venus']"),
        ("unknown-link-down", replace(s, links_down=frozenset({7})), "unknown links down: [7]"),
    ]


def test_type_ok_detects_every_out_of_domain_field() -> None:
    r = Run()
    pid = r.pooled_pair()
    r.step(UsePair(pid, EARTH))  # a message in flight to tamper with
    for name, bad, fragment in _tampered_types(r, pid):
        reason = check("type-ok", r, bad)
        assert reason is not None and fragment in reason, f"{name}: {reason!r}"


def test_type_ok_holds_on_reached_states() -> None:
    r = Run()
    _, left, right = two_hop_heralded(r)
    r.swap(left, right, L1)
    r.step(Crash(MOON), LinkDown(LINK_EARTH_MOON))
    assert check("type-ok", r) is None


# --- message-light-bound ----------------------------------------------------------------------


def test_message_light_bound_detects_a_message_faster_than_light() -> None:
    r = Run()
    r.choose_route(POOL_EARTH_MOON, (EARTH, MOON))
    msg = r.msg(MsgKind.ROUTE)
    fast = replace(
        r.s, messages=r.s.messages.set(msg.id, replace(msg, arrive_us=msg.arrive_us - 1))
    )
    reason = check("message-light-bound", r, fast)
    assert reason == f"message {msg.id} earth->moon arrives faster than light"


def test_message_light_bound_holds_at_light_speed_and_after_delays() -> None:
    r = Run()
    r.choose_route(POOL_EARTH_MARS, (EARTH, L1, L2, MARS))
    assert all(x.arrive_us == x.sent_us + r.light(x.src, x.dst) for x in r.msgs())
    assert check("message-light-bound", r) is None
    r.step(DelayMessage(r.msgs()[0].id, 1))
    assert check("message-light-bound", r) is None
