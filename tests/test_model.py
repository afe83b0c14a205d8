"""Guards and effects of every action (spec §3 protocol, §4 environment) on the default mesh.

Guards: every way an action can be rejected is a named case (a short run that ends in the state
where the guard fails, plus the action) registered with :func:`guard`; ``test_<action>_guards``
runs that action's cases and checks the exception type, the action it names and a fragment of
the reason. ``test_every_not_enabled_site_is_reached`` then proves the cases are complete: each
``raise NotEnabled`` in the rule modules is the site that raised in at least one case.

Effects: what each action changes (and what it leaves alone), then whole protocol runs — an
Earth -> Moon refill and use, a four-hop Earth -> Mars route under both swap schedules, a crash
between use and delivery, and a purification round that succeeds or fails. Every run checks the
whole invariant registry after every step (:class:`tests.builders.Run`).
"""

from __future__ import annotations

import ast
import traceback
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from pqms_model import core, model, rules_environment, rules_pairs, rules_routing
from pqms_model.actions import (
    ACTION_TYPES,
    ENVIRONMENT_ACTIONS,
    PROTOCOL_ACTIONS,
    Action,
    Admit,
    AdvanceTime,
    ChooseRoute,
    Crash,
    DelayMessage,
    Deliver,
    DropRoute,
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
from pqms_model.model import MAX_ADVANCE_US, Model
from pqms_model.mutants import Mutant
from pqms_model.physics import purify_bbpssw
from pqms_model.scenario import default_scenario_text, parse_scenario_text
from pqms_model.state import EndStatus, MsgKind, Outcome, Schedule
from tests.builders import (
    EARTH,
    L1,
    L2,
    LINK_EARTH_L1,
    LINK_EARTH_MOON,
    LINK_L1_L2,
    LINK_MOON_L1,
    MARS,
    MOON,
    POOL_EARTH_MARS,
    POOL_EARTH_MOON,
    SCENARIO,
    Run,
    poor_relay_memory,
    short_max_wait,
)

E = EndStatus
SEQ, NESTED = Schedule.SEQUENTIAL, Schedule.NESTED
VIA_L1 = (EARTH, L1, MOON)  # the second shortest earth -> moon path: two hops, swapper relay-l1


# --- guard cases -----------------------------------------------------------------------------


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


GUARDS: dict[str, list[GuardCase]] = {name: [] for name in ACTION_TYPES}


def guard(action: str, fragment: str) -> Callable[[Callable[[], tuple[Run, Action]]], object]:
    """Register the decorated builder as a rejection case of ``action``."""

    def register(build: Callable[[], tuple[Run, Action]]) -> object:
        GUARDS[action].append(GuardCase(build.__name__, action, fragment, build))
        return build

    return register


def check_rejected(case: GuardCase) -> None:
    e = case.reject()
    assert e.action == case.action
    assert case.fragment in e.reason, f"{case.name}: {e.reason!r} lacks {case.fragment!r}"
    assert str(e) == f"{case.action} is not enabled: {e.reason}"


def two_hop_heralded(r: Run) -> tuple[int, int, int]:
    """Route earth - relay-l1 - moon; both hops generated and heralded: (route, left, right)."""
    rid = r.route(POOL_EARTH_MOON, VIA_L1)
    left, right = r.generate(rid, 0), r.generate(rid, 1)
    r.receive(r.msgs(MsgKind.HERALD))
    return rid, left, right


def pool_for_both_directions() -> Run:
    """The default mesh plus a moon -> earth pool (pool 3): two pools join the same two nodes."""
    text = default_scenario_text() + (
        '\n[[pool]]\na = "moon"\nb = "earth"\ntarget_size = 1\n'
        "threshold_fidelity = 0.95\nmax_wait_s = 600.0\n"
    )
    return Run(scenario=parse_scenario_text(text, "<default + moon->earth pool>"))


def poor_earth_memory(mutant: Mutant) -> Run:
    """The default mesh with a 1000 s coherence time at earth (instead of 6 h)."""
    text = default_scenario_text().replace("coherence_s = 21600.0", "coherence_s = 1000.0", 1)
    sc = parse_scenario_text(text, "<default, earth T = 1000 s>")
    assert sc.node(EARTH).coherence_us == 1_000_000_000
    return Run(mutant, scenario=sc, check=False)


# choose_route (A1) ----------------------------------------------------------------------------


@guard("choose_route", "no pool 7 (pools 0..2)")
def choose_route_unknown_pool() -> tuple[Run, Action]:
    return Run(), ChooseRoute(pool=7, path=(EARTH, MOON), schedule=SEQ)


@guard("choose_route", "node earth is down")
def choose_route_sender_down() -> tuple[Run, Action]:
    return Run().step(Crash(EARTH)), ChooseRoute(POOL_EARTH_MOON, (EARTH, MOON), SEQ)


@guard("choose_route", "schedule must be one of ['sequential', 'nested']")
def choose_route_schedule_not_enum() -> tuple[Run, Action]:
    return Run(), ChooseRoute(POOL_EARTH_MOON, (EARTH, MOON), "nested")  # type: ignore[arg-type]


@guard("choose_route", "a route of pool earth->moon runs from earth to moon")
def choose_route_wrong_direction() -> tuple[Run, Action]:
    return Run(), ChooseRoute(POOL_EARTH_MOON, (MOON, EARTH), SEQ)


@guard("choose_route", "path ['earth', 'moon', 'earth', 'moon'] visits a node twice")
def choose_route_loop() -> tuple[Run, Action]:
    return Run(), ChooseRoute(POOL_EARTH_MOON, (EARTH, MOON, EARTH, MOON), SEQ)


@guard("choose_route", "no link earth-relay-l2")
def choose_route_not_along_links() -> tuple[Run, Action]:
    return Run(), ChooseRoute(POOL_EARTH_MARS, (EARTH, L2, MARS), SEQ)


@guard("choose_route", "earth believes link(s) [0] on this path are down")
def choose_route_believed_down() -> tuple[Run, Action]:
    return Run().step(LinkDown(LINK_EARTH_MOON)), ChooseRoute(POOL_EARTH_MOON, (EARTH, MOON), SEQ)


@guard("choose_route", "pool earth->moon already has 3 active routes")
def choose_route_too_many() -> tuple[Run, Action]:
    r = Run()
    for _ in range(3):
        r.choose_route(POOL_EARTH_MOON, (EARTH, MOON))
    return r, ChooseRoute(POOL_EARTH_MOON, VIA_L1, SEQ)


# drop_route (A2) ------------------------------------------------------------------------------


@guard("drop_route", "no route 99")
def drop_route_unknown() -> tuple[Run, Action]:
    return Run(), DropRoute(route=99)


@guard("drop_route", "node earth is down")
def drop_route_sender_down() -> tuple[Run, Action]:
    r = Run()
    rid = r.route()
    return r.step(Crash(EARTH)), DropRoute(rid)


@guard("drop_route", "is already dropped")
def drop_route_twice() -> tuple[Run, Action]:
    r = Run()
    rid = r.choose_route(POOL_EARTH_MOON, (EARTH, MOON))  # its ROUTE message keeps it listed
    return r.step(DropRoute(rid)), DropRoute(rid)


# generate_link (A3) ---------------------------------------------------------------------------


@guard("generate_link", "no route 99")
def generate_link_unknown_route() -> tuple[Run, Action]:
    return Run(), GenerateLink(route=99, hop=0)


@guard("generate_link", "was dropped")
def generate_link_dropped_route() -> tuple[Run, Action]:
    r = Run()
    rid = r.route()
    r.link_pair(rid, 0)  # a pair on the route keeps the dropped route listed
    return r.step(DropRoute(rid)), GenerateLink(rid, 0)


@guard("generate_link", "has hops 0..0, not 1")
def generate_link_no_such_hop() -> tuple[Run, Action]:
    r = Run()
    return r, GenerateLink(r.route(), 1)


@guard("generate_link", "link 0 (earth-moon) is down")
def generate_link_link_down() -> tuple[Run, Action]:
    r = Run()
    rid = r.route()
    return r.step(LinkDown(LINK_EARTH_MOON)), GenerateLink(rid, 0)


@guard("generate_link", "node moon is down")
def generate_link_node_down() -> tuple[Run, Action]:
    r = Run()
    rid = r.route()
    return r.step(Crash(MOON)), GenerateLink(rid, 0)


@guard("generate_link", "moon has not heard of route")
def generate_link_before_route_arrives() -> tuple[Run, Action]:
    r = Run()
    return r, GenerateLink(r.choose_route(POOL_EARTH_MOON, (EARTH, MOON)), 0)


@guard("generate_link", "no free memory qubit at moon")
def generate_link_memory_full() -> tuple[Run, Action]:
    r = Run()
    rid = r.route()
    for _ in range(SCENARIO.node(MOON).memory_capacity):  # 16 at moon, 24 at earth
        r.generate(rid, 0)
    return r, GenerateLink(rid, 0)


# receive (A4) ---------------------------------------------------------------------------------


@guard("receive", "no message 99 in flight")
def receive_unknown_message() -> tuple[Run, Action]:
    return Run(), Receive(msg=99)


@guard("receive", "carries teleportation bits: use deliver")
def receive_bits() -> tuple[Run, Action]:
    r = Run()
    r.step(UsePair(r.pooled_pair(), EARTH))
    return r, Receive(r.msg_id(MsgKind.BITS))


@guard("receive", "node moon is down")
def receive_at_down_node() -> tuple[Run, Action]:
    r = Run()
    rid = r.choose_route(POOL_EARTH_MOON, (EARTH, MOON))
    r.step(Crash(MOON)).advance(r.light(EARTH, MOON))
    return r, Receive(r.msg_id(MsgKind.ROUTE, route=rid))


@guard("receive", "arrives at 1282221 us, now 0")
def receive_before_arrival() -> tuple[Run, Action]:
    r = Run()
    rid = r.choose_route(POOL_EARTH_MOON, (EARTH, MOON))
    return r, Receive(r.msg_id(MsgKind.ROUTE, route=rid))


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


@guard(
    "receive",
    "earth's half of pair 17 is itself still incoming: the swap notice for the pair it became "
    "waits until the earlier one is taken",
)
def receive_swap_notice_before_the_earlier_one() -> tuple[Run, Action]:
    """Relay-l2's notice names, as its old pair, the pair relay-l1's swap made; earth's half of
    that pair is still incoming until relay-l1's notice is taken."""
    r = Run()
    middle, top = three_hop_swapped_twice(r)
    assert middle == 17 and r.status(middle, EARTH) is E.INCOMING
    return r, Receive(r.msg_id(MsgKind.SWAP_DONE, dst=EARTH, new_pair=top))


# swap (A5) ------------------------------------------------------------------------------------


@guard("swap", "node relay-l1 is down")
def swap_node_down() -> tuple[Run, Action]:
    r = Run()
    _, left, right = two_hop_heralded(r)
    return r.step(Crash(L1)), Swap(left, right, L1)


@guard("swap", "a swap joins two different pairs")
def swap_same_pair() -> tuple[Run, Action]:
    r = Run()
    _, left, _ = two_hop_heralded(r)
    return r, Swap(left, left, L1)


@guard("swap", "no live pair 99")
def swap_unknown_pair() -> tuple[Run, Action]:
    r = Run()
    _, left, _ = two_hop_heralded(r)
    return r, Swap(left, 99, L1)


@guard("swap", "has no end at 'moon'")
def swap_node_not_an_end() -> tuple[Run, Action]:
    r = Run()
    _, left, right = two_hop_heralded(r)
    return r, Swap(left, right, MOON)


@guard("swap", "relay-l1's half of pair")
def swap_half_pending() -> tuple[Run, Action]:
    r = Run()
    rid = r.route(POOL_EARTH_MOON, VIA_L1)
    left, right = r.generate(rid, 0), r.generate(rid, 1)  # right is pending at relay-l1
    assert r.status(right, L1) is E.PENDING
    return r, Swap(left, right, L1)


@guard("swap", "the schedule swaps pair")
def swap_at_wrong_node() -> tuple[Run, Action]:
    r = Run()
    rid, left, _ = two_hop_heralded(r)
    other = r.link_pair(rid, 0)  # two (earth, relay-l1) pairs, both swapped only at relay-l1
    return r, Swap(left, other, EARTH)


@guard("swap", "is past its cut-off")
def swap_past_cutoff() -> tuple[Run, Action]:
    r = Run()
    _, left, right = two_hop_heralded(r)
    r.advance_to(min(r.pair(left).deadline_us, r.pair(right).deadline_us) + 1)
    return r, Swap(left, right, L1)


@guard("swap", "are on different routes")
def swap_across_routes() -> tuple[Run, Action]:
    r = Run()
    one, two = r.route(POOL_EARTH_MOON, VIA_L1), r.route(POOL_EARTH_MOON, VIA_L1)
    left, right = r.link_pair(one, 0), r.link_pair(two, 1)
    return r, Swap(left, right, L1)


@guard("swap", "both pairs end at earth: a swap would make a loop")
def swap_loop() -> tuple[Run, Action]:
    r = Run()
    rid, left, _ = two_hop_heralded(r)
    return r, Swap(left, r.link_pair(rid, 0), L1)


# purify (A6) ----------------------------------------------------------------------------------


def two_ready_direct(r: Run) -> tuple[int, int]:
    rid = r.route()
    return r.link_pair(rid, 0), r.link_pair(rid, 0)


@guard("purify", "purification needs two different pairs")
def purify_same_pair() -> tuple[Run, Action]:
    r = Run()
    keep, _ = two_ready_direct(r)
    return r, Purify(keep, keep, True)


@guard("purify", "no live pair 99")
def purify_unknown_pair() -> tuple[Run, Action]:
    r = Run()
    keep, _ = two_ready_direct(r)
    return r, Purify(keep, 99, True)


@guard("purify", "do not join the same two nodes")
def purify_different_nodes() -> tuple[Run, Action]:
    r = Run()
    keep = r.link_pair(r.route(), 0)  # earth - moon
    part = r.link_pair(r.route(POOL_EARTH_MOON, VIA_L1), 0)  # earth - relay-l1
    return r, Purify(keep, part, True)


@guard("purify", "is not end-to-end (swapper relay-l1)")
def purify_not_end_to_end() -> tuple[Run, Action]:
    r = Run()
    rid = r.route(POOL_EARTH_MOON, VIA_L1)
    return r, Purify(r.link_pair(rid, 0), r.link_pair(rid, 0), True)


@guard("purify", "node moon is down")
def purify_node_down() -> tuple[Run, Action]:
    r = Run()
    keep, sac = two_ready_direct(r)
    return r.step(Crash(MOON)), Purify(keep, sac, True)


@guard("purify", "earth's half of pair")
def purify_half_pending() -> tuple[Run, Action]:
    r = Run()
    rid = r.route()
    sac = r.link_pair(rid, 0)
    keep = r.generate(rid, 0)  # earth's half waits for the herald
    return r, Purify(keep, sac, True)


@guard("purify", "is past its cut-off")
def purify_past_cutoff() -> tuple[Run, Action]:
    r = Run()
    keep, sac = two_ready_direct(r)
    r.advance_to(r.pair(keep).deadline_us + 1)
    return r, Purify(keep, sac, True)


@guard("purify", "are for different pools")
def purify_across_pools() -> tuple[Run, Action]:
    r = pool_for_both_directions()
    keep = r.link_pair(r.route(POOL_EARTH_MOON, (EARTH, MOON)), 0)
    back = r.link_pair(r.route(3, (MOON, EARTH)), 0)  # moon -> earth: same two nodes
    return r, Purify(keep, back, True)


# admit (A7) -----------------------------------------------------------------------------------


@guard("admit", "node earth is down")
def admit_node_down() -> tuple[Run, Action]:
    r = Run()
    pid = r.link_pair(r.route(), 0)
    return r.step(Crash(EARTH)), Admit(pid, EARTH)


@guard("admit", "unknown node 'venus'")
def admit_unknown_node() -> tuple[Run, Action]:
    r = Run()
    return r, Admit(r.link_pair(r.route(), 0), "venus")


@guard("admit", "no live pair 99")
def admit_unknown_pair() -> tuple[Run, Action]:
    return Run(), Admit(99, EARTH)


@guard("admit", "has no end at 'mars'")
def admit_node_not_an_end() -> tuple[Run, Action]:
    r = Run()
    return r, Admit(r.link_pair(r.route(), 0), MARS)


@guard("admit", "earth's half of pair 3 is pending, not ready")
def admit_pending_half() -> tuple[Run, Action]:
    r = Run()
    pid = r.generate(r.route(), 0)  # the herald is still on its way to earth
    assert pid == 3
    return r, Admit(pid, EARTH)


@guard("admit", "is not end-to-end (swapper relay-l1)")
def admit_not_end_to_end() -> tuple[Run, Action]:
    r = Run()
    _, left, _ = two_hop_heralded(r)
    return r, Admit(left, EARTH)


@guard("admit", "is past its cut-off")
def admit_past_cutoff() -> tuple[Run, Action]:
    r = Run()
    pid = r.link_pair(r.route(), 0)
    r.advance_to(r.pair(pid).deadline_us + 1)
    return r, Admit(pid, MOON)


# expire (A8) ----------------------------------------------------------------------------------


@guard("expire", "node moon is down")
def expire_node_down() -> tuple[Run, Action]:
    r = Run()
    pid = r.pooled_pair()
    r.step(Crash(MOON)).advance_to(r.pair(pid).deadline_us + 1)
    return r, Expire(pid, MOON)


@guard("expire", "no live pair 99")
def expire_unknown_pair() -> tuple[Run, Action]:
    return Run(), Expire(99, EARTH)


@guard("expire", "has no end at 'mars'")
def expire_node_not_an_end() -> tuple[Run, Action]:
    r = Run()
    return r, Expire(r.pooled_pair(), MARS)


@guard("expire", "earth's half of pair 3 is sent")
def expire_spent_half() -> tuple[Run, Action]:
    r = Run()
    pid = r.pooled_pair()
    r.step(UsePair(pid, EARTH)).advance_to(r.pair(pid).deadline_us + 1)
    return r, Expire(pid, EARTH)


@guard("expire", "moon keeps pair 3 until 601436581 us (now 2564442)")
def expire_before_deadline() -> tuple[Run, Action]:
    r = Run()
    pid = r.pooled_pair()
    assert pid == 3 and r.pair(pid).deadline_us + r.light(EARTH, MOON) == 601_436_581
    return r, Expire(pid, MOON)


@guard("expire", "moon keeps pair 3 until 601436581 us (now 600154361)")
def expire_receiver_while_the_bits_may_fly() -> tuple[Run, Action]:
    """Past the cut-off the sender may discard, but the receiver keeps its half one light time
    longer: a use sent at the cut-off (600154360 us) arrives at 601436581 us."""
    r = Run()
    pid = r.pooled_pair()
    assert r.pair(pid).deadline_us == 600_154_360
    r.advance_to(r.pair(pid).deadline_us + 1)
    r.m.step(r.s, Expire(pid, EARTH))  # the sender's half: enabled
    return r, Expire(pid, MOON)


# use_pair (A9) --------------------------------------------------------------------------------


@guard("use_pair", "node earth is down")
def use_pair_node_down() -> tuple[Run, Action]:
    r = Run()
    pid = r.pooled_pair()
    return r.step(Crash(EARTH)), UsePair(pid, EARTH)


@guard("use_pair", "no live pair 99")
def use_pair_unknown_pair() -> tuple[Run, Action]:
    return Run(), UsePair(99, EARTH)


@guard("use_pair", "has no end at 'mars'")
def use_pair_node_not_an_end() -> tuple[Run, Action]:
    r = Run()
    return r, UsePair(r.pooled_pair(), MARS)


@guard("use_pair", "earth's half of pair 3 is ready, not pooled")
def use_pair_not_admitted() -> tuple[Run, Action]:
    r = Run()
    return r, UsePair(r.link_pair(r.route(), 0), EARTH)


@guard("use_pair", "pool earth->moon sends only from earth")
def use_pair_from_receiver() -> tuple[Run, Action]:
    r = Run()
    return r, UsePair(r.pooled_pair(), MOON)


@guard("use_pair", "is past its cut-off")
def use_pair_past_cutoff() -> tuple[Run, Action]:
    r = Run()
    pid = r.pooled_pair()
    r.advance_to(r.pair(pid).deadline_us + 1)
    return r, UsePair(pid, EARTH)


@guard("use_pair", "nnp at send exceeds threshold 68992871")
def use_pair_stale_at_send_threshold_at_send_mutant() -> tuple[Run, Action]:
    """Only mutant ``threshold-at-send`` checks the cost at send time (and nothing else)."""
    r = Run(Mutant.THRESHOLD_AT_SEND, check=False)
    pid = r.pooled_pair()
    return r.advance(1000 * 10**6), UsePair(pid, EARTH)


@guard("use_pair", "at the receiver's correction exceeds")
def use_pair_predicted_stale_both_ends_send_mutant() -> tuple[Run, Action]:
    """The predicted-cost conjunct follows from the cut-off for the pool's own direction (the
    cut-off is computed with that direction's transit); it can fail only when a mutant lets the
    receiver send, over a transit that decays faster (here: earth's memory is poor)."""
    r = poor_earth_memory(Mutant.BOTH_ENDS_SEND)
    pid = r.pooled_pair()
    r.advance_to(r.pair(pid).deadline_us)
    return r, UsePair(pid, MOON)


# deliver (A10) --------------------------------------------------------------------------------


def used_pair(r: Run) -> tuple[int, int]:
    """A pooled earth -> moon pair, used by earth: (pair, BITS message)."""
    pid = r.pooled_pair()
    r.step(UsePair(pid, EARTH))
    return pid, r.msg_id(MsgKind.BITS, pair=pid)


@guard("deliver", "no message 99 in flight")
def deliver_unknown_message() -> tuple[Run, Action]:
    return Run(), Deliver(msg=99)


@guard("deliver", "is a route message: use receive")
def deliver_not_bits() -> tuple[Run, Action]:
    r = Run()
    rid = r.choose_route(POOL_EARTH_MOON, (EARTH, MOON))
    r.advance(r.light(EARTH, MOON))
    return r, Deliver(r.msg_id(MsgKind.ROUTE, route=rid))


@guard("deliver", "node moon is down")
def deliver_receiver_down() -> tuple[Run, Action]:
    r = Run()
    _, bits = used_pair(r)
    r.step(Crash(MOON)).advance(r.light(EARTH, MOON))
    return r, Deliver(bits)


@guard("deliver", "arrives at")
def deliver_before_arrival() -> tuple[Run, Action]:
    r = Run()
    _, bits = used_pair(r)
    r.advance(r.light(EARTH, MOON) - 1)
    return r, Deliver(bits)


@guard("deliver", "yet (incoming): the bits wait")
def deliver_before_swap_news() -> tuple[Run, Action]:
    """The swap's news reached earth, which used the pair; moon has not taken its copy."""
    r = Run()
    _, left, right = two_hop_heralded(r)
    top = r.swap(left, right, L1)
    r.receive(r.msgs(MsgKind.SWAP_DONE, dst=EARTH))  # moon's copy has arrived too: not taken
    r.step(Admit(top, EARTH), UsePair(top, EARTH)).advance(r.light(EARTH, MOON))
    return r, Deliver(r.msg_id(MsgKind.BITS, pair=top))


@guard("deliver", "moon does not know pair 3 yet (pending): the bits wait")
def deliver_before_purify_news() -> tuple[Run, Action]:
    r = Run()
    keep, sac = two_ready_direct(r)
    r.step(Purify(keep, sac, True))
    r.receive(r.msgs(MsgKind.PURIFY_RESULT, dst=EARTH))
    r.step(Admit(keep, EARTH), UsePair(keep, EARTH)).advance(r.light(EARTH, MOON))
    return r, Deliver(r.msg_id(MsgKind.BITS, pair=keep))


# environment (E1-E6) --------------------------------------------------------------------------


@guard("advance_time", "dt_us must be 1..1000000000000, got 0")
def advance_time_zero() -> tuple[Run, Action]:
    return Run(), AdvanceTime(dt_us=0)


@guard("advance_time", "got 1000000000001")
def advance_time_too_far() -> tuple[Run, Action]:
    return Run(), AdvanceTime(dt_us=MAX_ADVANCE_US + 1)


@guard("link_down", "no link 5 (links 0..4)")
def link_down_unknown() -> tuple[Run, Action]:
    return Run(), LinkDown(link=5)


@guard("link_down", "link 0 is already down")
def link_down_twice() -> tuple[Run, Action]:
    return Run().step(LinkDown(LINK_EARTH_MOON)), LinkDown(LINK_EARTH_MOON)


@guard("link_up", "no link -1 (links 0..4)")
def link_up_unknown() -> tuple[Run, Action]:
    return Run(), LinkUp(link=-1)


@guard("link_up", "link 0 is already up")
def link_up_when_up() -> tuple[Run, Action]:
    return Run(), LinkUp(LINK_EARTH_MOON)


@guard("crash", "unknown node 'venus'")
def crash_unknown_node() -> tuple[Run, Action]:
    return Run(), Crash("venus")


@guard("crash", "node moon is down")
def crash_twice() -> tuple[Run, Action]:
    return Run().step(Crash(MOON)), Crash(MOON)


@guard("recover", "unknown node 'venus'")
def recover_unknown_node() -> tuple[Run, Action]:
    return Run(), Recover("venus")


@guard("recover", "node moon is not down")
def recover_up_node() -> tuple[Run, Action]:
    return Run(), Recover(MOON)


@guard("delay_message", "no message 99 in flight")
def delay_message_unknown() -> tuple[Run, Action]:
    return Run(), DelayMessage(msg=99, extra_us=5)


@guard("delay_message", "extra_us must be 1..1000000000000, got 0")
def delay_message_by_nothing() -> tuple[Run, Action]:
    r = Run()
    rid = r.choose_route(POOL_EARTH_MOON, (EARTH, MOON))
    return r, DelayMessage(r.msg_id(MsgKind.ROUTE, route=rid), 0)


def _cases(action: str) -> list[GuardCase]:
    return GUARDS[action]


@pytest.mark.parametrize("case", _cases("choose_route"), ids=str)
def test_choose_route_guards(case: GuardCase) -> None:
    check_rejected(case)


@pytest.mark.parametrize("case", _cases("drop_route"), ids=str)
def test_drop_route_guards(case: GuardCase) -> None:
    check_rejected(case)


@pytest.mark.parametrize("case", _cases("generate_link"), ids=str)
def test_generate_link_guards(case: GuardCase) -> None:
    check_rejected(case)


@pytest.mark.parametrize("case", _cases("receive"), ids=str)
def test_receive_guards(case: GuardCase) -> None:
    check_rejected(case)


@pytest.mark.parametrize("case", _cases("swap"), ids=str)
def test_swap_guards(case: GuardCase) -> None:
    check_rejected(case)


@pytest.mark.parametrize("case", _cases("purify"), ids=str)
def test_purify_guards(case: GuardCase) -> None:
    check_rejected(case)


@pytest.mark.parametrize("case", _cases("admit"), ids=str)
def test_admit_guards(case: GuardCase) -> None:
    check_rejected(case)


@pytest.mark.parametrize("case", _cases("expire"), ids=str)
def test_expire_guards(case: GuardCase) -> None:
    check_rejected(case)


@pytest.mark.parametrize("case", _cases("use_pair"), ids=str)
def test_use_pair_guards(case: GuardCase) -> None:
    check_rejected(case)


@pytest.mark.parametrize("case", _cases("deliver"), ids=str)
def test_deliver_guards(case: GuardCase) -> None:
    check_rejected(case)


@pytest.mark.parametrize("case", _cases("advance_time"), ids=str)
def test_advance_time_guards(case: GuardCase) -> None:
    check_rejected(case)


@pytest.mark.parametrize("case", _cases("link_down"), ids=str)
def test_link_down_guards(case: GuardCase) -> None:
    check_rejected(case)


@pytest.mark.parametrize("case", _cases("link_up"), ids=str)
def test_link_up_guards(case: GuardCase) -> None:
    check_rejected(case)


@pytest.mark.parametrize("case", _cases("crash"), ids=str)
def test_crash_guards(case: GuardCase) -> None:
    check_rejected(case)


@pytest.mark.parametrize("case", _cases("recover"), ids=str)
def test_recover_guards(case: GuardCase) -> None:
    check_rejected(case)


@pytest.mark.parametrize("case", _cases("delay_message"), ids=str)
def test_delay_message_guards(case: GuardCase) -> None:
    check_rejected(case)


def test_step_rejects_what_is_not_an_action() -> None:
    m = Model(SCENARIO)
    with pytest.raises(NotEnabled, match="not a pqms action"):
        m.step(m.init(), object())  # type: ignore[arg-type]


def test_every_action_has_guard_cases_and_a_guard_test() -> None:
    """Each action in ACTION_TYPES has rejection cases and its own ``test_<name>_guards``."""
    empty = [name for name, cases in GUARDS.items() if not cases]
    assert not empty, f"actions without guard cases: {empty}"
    missing = [name for name in ACTION_TYPES if f"test_{name}_guards" not in globals()]
    assert not missing, f"actions without a test_<name>_guards function: {missing}"


_RULE_MODULES = (core, model, rules_pairs, rules_routing, rules_environment)


def _not_enabled_sites() -> dict[tuple[str, int], str]:
    """Every ``raise NotEnabled(...)`` in the rule modules: (file, first line) -> source."""
    sites = {}
    for mod in _RULE_MODULES:
        path = Path(mod.__file__ or "")
        text = path.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(text)):
            if (
                isinstance(node, ast.Raise)
                and isinstance(node.exc, ast.Call)
                and isinstance(node.exc.func, ast.Name)
                and node.exc.func.id == "NotEnabled"
            ):
                for line in range(node.lineno, (node.end_lineno or node.lineno) + 1):
                    sites[(str(path), line)] = f"{path.name}:{node.lineno}"
    return sites


def test_every_not_enabled_site_is_reached() -> None:
    """Completeness of the guard cases: each ``raise NotEnabled`` in the rules (every conjunct
    of every guard, including the helpers ``pair``/``end``/``up``) is where some case raised."""
    sites = _not_enabled_sites()
    assert len(set(sites.values())) >= 40, "the rule modules should hold every guard conjunct"
    reached: set[str] = set()
    cases = [c for cs in GUARDS.values() for c in cs]
    for case in cases:
        e = case.reject()
        frame = traceback.extract_tb(e.__traceback__)[-1]
        site = sites.get((str(Path(frame.filename)), frame.lineno or 0))
        assert site is not None, f"{case.name} raised outside a known site: {frame}"
        reached.add(site)
    m = Model(SCENARIO)
    try:
        m.step(m.init(), object())  # type: ignore[arg-type]
    except NotEnabled as e:
        frame = traceback.extract_tb(e.__traceback__)[-1]
        reached.add(sites[(str(Path(frame.filename)), frame.lineno or 0)])
    missing = sorted(set(sites.values()) - reached)
    assert not missing, f"NotEnabled sites no guard case reaches: {missing}"


# --- effects: protocol actions ----------------------------------------------------------------


def test_choose_route_effect() -> None:
    r = Run().step(LinkDown(LINK_MOON_L1))  # not on the path below
    r.receive(r.msgs(MsgKind.LINK_STATE, dst=EARTH))  # earth learns of it by message
    before = r.s
    rid = r.choose_route(POOL_EARTH_MARS, r.m.route_paths[POOL_EARTH_MARS][0])
    route = r.s.routes[rid]
    assert rid == before.next_id and r.s.next_id == rid + 1 + 3
    assert route.pool == POOL_EARTH_MARS and route.schedule is SEQ and route.active
    assert route.path == (EARTH, L1, L2, MARS) and route.chosen_us == before.now_us
    assert route.known_by == {EARTH}
    assert route.believed_down == {LINK_MOON_L1}  # the sender's whole view, as a ghost
    sent = r.msgs(MsgKind.ROUTE, route=rid)
    assert [(x.src, x.dst) for x in sent] == [(EARTH, n) for n in route.path[1:]]
    assert all(x.arrive_us == r.s.now_us + r.light(EARTH, x.dst) for x in sent)
    assert r.s.pairs == before.pairs and r.s.now_us == before.now_us


def test_choose_route_believed_down_is_the_senders_view() -> None:
    """The sender routes on its own view: a link down that it has not heard of yet is allowed
    (generation on it is then not enabled); one it has heard of is refused."""
    r = Run().step(LinkDown(LINK_L1_L2))
    path = r.m.route_paths[POOL_EARTH_MARS][0]
    rid = r.route(POOL_EARTH_MARS, path)  # earth's news of link 3 is still in flight
    assert r.s.routes[rid].believed_down == frozenset()
    with pytest.raises(NotEnabled, match=r"link 3 \(relay-l1-relay-l2\) is down"):
        r.m.step(r.s, GenerateLink(rid, 1))


def test_drop_route_effect() -> None:
    """Failover: generation stops at once; pairs already on the route may still be swapped."""
    r = Run()
    rid, left, right = two_hop_heralded(r)
    r.step(DropRoute(rid))
    assert not r.s.routes[rid].active
    with pytest.raises(NotEnabled, match="was dropped"):
        r.m.step(r.s, GenerateLink(rid, 0))
    top = r.swap(left, right, L1)
    assert r.pair(top).route == rid


def test_drop_route_retires_an_unused_route() -> None:
    r = Run()
    rid = r.route()
    r.step(DropRoute(rid))
    assert rid not in r.s.routes


def test_generate_link_effect() -> None:
    r = Run()
    rid = r.route()
    before = r.s
    pid = r.generate(rid, 0)
    p, link = r.pair(pid), SCENARIO.links[LINK_EARTH_MOON]
    t, coh_earth = before.now_us, SCENARIO.node(EARTH).coherence_us
    assert pid == before.next_id and p.qubits == (pid + 1, pid + 2)
    assert p.nodes == (EARTH, MOON) and p.status == (E.PENDING, E.READY)
    assert p.epochs == (0, 0) and p.pool == POOL_EARTH_MOON and p.route == rid
    assert p.segment == (0, 1) and p.swapper is None  # a one-hop route: end-to-end at once
    # heralded absorption: earth's photon flew one light time before moon stored it
    assert p.cost_nnp == link.initial_cost_nnp + decay_cost_nnp(link.light_us, coh_earth)
    assert p.stamp_us == t and p.deadline_us == r.m.deadline(p.nodes, p.cost_nnp, t, 0)
    assert p.known_us == (-1, t) and p.cause == ((MOON, t), (MOON, t)) and p.consumed == 0
    herald = r.msg(MsgKind.HERALD, pair=pid)
    assert (herald.src, herald.dst, herald.arrive_us) == (MOON, EARTH, t + link.light_us)
    assert r.s.next_id == pid + 4 and r.s.now_us == t


def test_generate_link_swapper_follows_schedule() -> None:
    r = Run()
    rid = r.route(POOL_EARTH_MARS, r.m.route_paths[POOL_EARTH_MARS][1], NESTED)
    swappers = [r.pair(r.generate(rid, h)).swapper for h in range(4)]
    assert swappers == [MOON, MOON, L2, L2]  # (0 1)(1 2) at index 1, (2 3)(3 4) at index 3


def test_cutoff_is_the_last_send_time_meeting_the_threshold_at_the_receiver() -> None:
    r = Run()
    pid = r.link_pair(r.route(), 0)
    p, pool = r.pair(pid), SCENARIO.pools[POOL_EARTH_MOON]
    margin = pool.threshold_nnp - r.m.transit_decay(EARTH, MOON)
    assert p.stamp_us < p.deadline_us < p.stamp_us + pool.max_wait_us  # the threshold binds
    assert r.m.cost_at(p, p.deadline_us) <= margin < r.m.cost_at(p, p.deadline_us + 1)


def test_generate_link_intermediate_cutoff_has_no_max_wait() -> None:
    """``max_wait`` limits how long the pool waits for an end-to-end pair; an intermediate pair
    gets the fidelity bound only (spec §2.4). With pool 0 waiting at most 100 s, a direct pair's
    cut-off is 100 s after its stamp, while the hops of a two-hop route last until the threshold
    binds."""
    r = Run(scenario=short_max_wait())
    max_wait = r.scenario.pools[POOL_EARTH_MOON].max_wait_us
    direct = r.pair(r.link_pair(r.route(), 0))
    assert direct.swapper is None and direct.deadline_us == direct.stamp_us + max_wait
    _, left, right = two_hop_heralded(r)
    margin = r.scenario.pools[POOL_EARTH_MOON].threshold_nnp - r.m.transit_decay(EARTH, MOON)
    for pid in (left, right):
        p = r.pair(pid)
        assert p.swapper == L1 and p.deadline_us > p.stamp_us + max_wait
        assert p.deadline_us == r.m.deadline(p.nodes, p.cost_nnp, p.stamp_us, 0, False)
        assert r.m.cost_at(p, p.deadline_us) <= margin < r.m.cost_at(p, p.deadline_us + 1)


def test_receive_herald_effect() -> None:
    r = Run()
    pid = r.generate(r.route(), 0)
    herald = r.msg(MsgKind.HERALD, pair=pid)
    r.advance_to(herald.arrive_us).step(Receive(herald.id))
    assert r.pair(pid).status == (E.READY, E.READY)
    assert r.pair(pid).known_us == (herald.arrive_us, r.pair(pid).stamp_us)
    assert herald.id not in r.s.messages


def test_receive_route_effect() -> None:
    r = Run()
    rid = r.choose_route(POOL_EARTH_MOON, VIA_L1)
    r.receive(r.msgs(MsgKind.ROUTE, dst=MOON))
    assert r.s.routes[rid].known_by == {EARTH, MOON}
    r.receive(r.msgs(MsgKind.ROUTE, dst=L1))
    assert r.s.routes[rid].known_by == {EARTH, L1, MOON}


def test_receive_link_state_keeps_the_newest_news() -> None:
    """Sequence numbers: a late 'down' never overwrites a newer 'up' (odd = down)."""
    r = Run().step(LinkDown(LINK_EARTH_L1))
    down = r.msg(MsgKind.LINK_STATE, dst=MARS)
    r.step(LinkUp(LINK_EARTH_L1))
    up = next(x for x in r.msgs(MsgKind.LINK_STATE, dst=MARS) if x.id != down.id)
    assert (down.seq, up.seq) == (1, 2) and down.src == up.src == EARTH
    r.advance_to(up.arrive_us).step(Receive(up.id))
    assert r.s.view[MARS][LINK_EARTH_L1] == 2
    r.step(Receive(down.id))
    assert r.s.view[MARS][LINK_EARTH_L1] == 2
    assert not r.m.believes_down(r.s, MARS, LINK_EARTH_L1)


def test_receive_swap_notices_in_the_order_of_the_swaps() -> None:
    """Regression (spec A4, resolved review note): earth took relay-l2's swap notice before
    relay-l1's, copied INCOMING into the end-to-end pair and stranded it. The note's run is now
    rejected at that receive (``receive_swap_notice_before_the_earlier_one``); taken in the
    order of the swaps, the notices make the end-to-end pair usable, and a use is delivered."""
    r = Run()
    middle, top = three_hop_swapped_twice(r)
    first = r.msg(MsgKind.SWAP_DONE, dst=EARTH, new_pair=middle)
    later = r.msg(MsgKind.SWAP_DONE, dst=EARTH, new_pair=top)
    assert later.pair == middle and first.arrive_us < later.arrive_us == r.s.now_us
    with pytest.raises(NotEnabled, match=f"earth's half of pair {middle} is itself still incoming"):
        r.step(Receive(later.id))
    assert r.status(middle, EARTH) is E.INCOMING and r.status(top, EARTH) is E.INCOMING
    r.step(Receive(first.id))
    assert r.status(middle, EARTH) is E.READY  # the earlier swap's pair, known at earth
    r.step(Receive(later.id))
    assert r.status(top, EARTH) is E.READY and middle not in r.s.pairs  # merged: retired
    r.receive(r.msgs(MsgKind.SWAP_DONE, dst=MARS))
    assert r.pair(top).status == (E.READY, E.READY)
    r.admit_both(top).step(UsePair(top, EARTH))
    r.advance(r.light(EARTH, MARS)).step(Deliver(r.msg_id(MsgKind.BITS, pair=top)))
    d = r.s.last_delivery
    assert d is not None and d.outcome is Outcome.DELIVERED


def test_receive_reset_discards_halves_shared_with_the_old_epoch() -> None:
    r = Run()
    keep = r.pooled_pair()
    r.step(Crash(MOON), Recover(MOON))
    assert r.s.epoch[MOON] == 1 and r.pair(keep).status == (E.POOLED, E.LOST)
    reset = r.msg(MsgKind.RESET, dst=EARTH)
    assert reset.epoch == 1 and reset.pair == -1
    assert dict(r.s.heard_epoch[EARTH]) == {}  # nothing heard yet: every epoch counts as 0
    r.receive([reset])
    assert keep not in r.s.pairs  # discarded at earth, lost at moon: retired
    assert dict(r.s.heard_epoch[EARTH]) == {MOON: 1}  # earth remembers moon's new epoch
    assert all(dict(r.s.heard_epoch[n]) == {} for n in SCENARIO.node_names if n != EARTH)
    fresh = r.pooled_pair(next(iter(r.s.routes)))
    assert r.pair(fresh).epochs == (0, 1)


def test_receive_reset_remembers_the_newest_epoch() -> None:
    """Two crashes of moon: the RESETs of epochs 1 and 2 arrive together; taken newest first,
    the older one does not lower what earth heard."""
    r = Run().step(Crash(MOON), Recover(MOON), Crash(MOON), Recover(MOON))
    one, two = sorted(r.msgs(MsgKind.RESET, dst=EARTH), key=lambda x: x.epoch)
    assert (one.epoch, two.epoch) == (1, 2) and one.arrive_us == two.arrive_us
    r.advance_to(two.arrive_us).step(Receive(two.id))
    assert dict(r.s.heard_epoch[EARTH]) == {MOON: 2}
    r.step(Receive(one.id))
    assert dict(r.s.heard_epoch[EARTH]) == {MOON: 2}
    assert r.s.epoch[MOON] == 2 and dict(r.s.heard_epoch[MOON]) == {}


def test_swap_effect() -> None:
    r = Run()
    _, left, right = two_hop_heralded(r)
    t, lp, rp = r.s.now_us, r.pair(left), r.pair(right)
    expected = r.m.cost_at(lp, t) + r.m.cost_at(rp, t) + SCENARIO.swap_gate_cost_nnp
    top = r.swap(left, right, L1)
    p = r.pair(top)
    assert p.nodes == (EARTH, MOON) and p.segment == (0, 2) and p.swapper is None
    assert p.qubits == (lp.qubits[0], rp.qubits[1])  # the far qubits are handed on
    assert p.status == (E.INCOMING, E.INCOMING) and p.known_us == (-1, -1)
    assert p.cost_nnp == expected and p.stamp_us == t
    assert p.cause == ((L1, t), (L1, t))
    assert r.pair(left).status == (E.READY, E.SWAPPED) and r.pair(left).consumed == 1
    assert r.pair(right).status == (E.SWAPPED, E.READY) and r.pair(right).consumed == 1
    done = r.msgs(MsgKind.SWAP_DONE, new_pair=top)
    assert {(x.dst, x.pair) for x in done} == {(EARTH, left), (MOON, right)}
    assert all(x.arrive_us == t + r.light(L1, x.dst) for x in done)
    r.receive(done)
    assert r.pair(top).status == (E.READY, E.READY)
    assert left not in r.s.pairs and right not in r.s.pairs  # merged and swapped: retired


def test_swap_cutoff_is_bounded_by_its_inputs() -> None:
    """Regression (spec A5, resolved review note): the new pair's cut-off is the minimum of its
    own and its inputs'. With relay-l1 the worst memory, the earth - moon pair a swap there makes
    would decay slowly enough to outlive the relay-l1 - moon pair it was built from."""
    r = Run(scenario=poor_relay_memory())
    _, left, right = two_hop_heralded(r)
    lp, rp, t = r.pair(left), r.pair(right), r.s.now_us
    top = r.swap(left, right, L1)
    p = r.pair(top)
    fresh = r.m.deadline(p.nodes, p.cost_nnp, t, POOL_EARTH_MOON)  # end-to-end: max_wait too
    assert rp.deadline_us < lp.deadline_us and rp.deadline_us < fresh  # the inputs' binds
    assert p.deadline_us == min(fresh, lp.deadline_us, rp.deadline_us) == rp.deadline_us
    # in the default scenario the fresh cut-off is the earlier one: the minimum changes nothing
    d = Run()
    _, left, right = two_hop_heralded(d)
    lp, rp, t = d.pair(left), d.pair(right), d.s.now_us
    p = d.pair(d.swap(left, right, L1))
    fresh = d.m.deadline(p.nodes, p.cost_nnp, t, POOL_EARTH_MOON)
    assert p.deadline_us == fresh < min(lp.deadline_us, rp.deadline_us)


def test_swap_carries_a_lost_half_into_the_new_pair() -> None:
    r = Run()
    _, left, right = two_hop_heralded(r)
    r.step(Crash(MOON))
    top = r.swap(left, right, L1)
    assert r.pair(top).status == (E.INCOMING, E.LOST)


def test_purify_success() -> None:
    r = Run()
    keep, sac = two_ready_direct(r)
    t = r.s.now_us
    f1 = r.m.cost_at(r.pair(keep), t)
    f2 = r.m.cost_at(r.pair(sac), t)
    r.step(Purify(keep, sac, True))
    k = r.pair(keep)
    assert k.status == (E.PENDING, E.PENDING) and k.stamp_us == t and k.known_us == (-1, -1)
    assert k.cause == ((MOON, t), (EARTH, t))
    assert sac not in r.s.pairs  # consumed at both ends, no message names it: retired
    f_out, _ = purify_bbpssw(cost_to_fidelity(f1), cost_to_fidelity(f2))
    assert k.cost_nnp == fidelity_cost_nnp(f_out) + 4  # BBPSSW, rounded up, plus a margin
    assert k.cost_nnp < f1  # better than either input
    results = r.msgs(MsgKind.PURIFY_RESULT, pair=keep)
    assert {(x.src, x.dst, x.ok) for x in results} == {(EARTH, MOON, True), (MOON, EARTH, True)}
    r.receive(results)
    assert r.pair(keep).status == (E.READY, E.READY) and sac not in r.s.pairs
    r.admit_both(keep).step(UsePair(keep, EARTH))
    bits = r.msg(MsgKind.BITS, pair=keep)
    r.advance_to(bits.arrive_us).step(Deliver(bits.id))
    assert r.s.last_delivery is not None and r.s.last_delivery.outcome is Outcome.DELIVERED


def test_purify_failure() -> None:
    r = Run()
    keep, sac = two_ready_direct(r)
    cost = r.m.cost_at(r.pair(keep), r.s.now_us)
    r.step(Purify(keep, sac, False))
    assert r.pair(keep).cost_nnp == cost and r.pair(keep).status == (E.PENDING, E.PENDING)
    r.receive(r.msgs(MsgKind.PURIFY_RESULT, dst=EARTH))
    assert r.pair(keep).status == (E.DISCARDED, E.PENDING)  # each end learns on its own
    r.receive(r.msgs(MsgKind.PURIFY_RESULT, dst=MOON))
    assert keep not in r.s.pairs and sac not in r.s.pairs  # both gone: memory freed
    assert r.m.free_memory(r.s, EARTH) == SCENARIO.node(EARTH).memory_capacity


def test_admit_effect() -> None:
    r = Run()
    pid = r.link_pair(r.route(), 0)
    known = r.pair(pid).known_us
    r.step(Admit(pid, MOON))
    assert r.pair(pid).status == (E.READY, E.POOLED) and r.pair(pid).known_us == known


def test_expire_effect() -> None:
    """The sender discards right after the shared cut-off, the receiver one light time later."""
    r = Run()
    pid = r.pooled_pair()
    deadline = r.pair(pid).deadline_us
    assert r.m.expiry_us(r.pair(pid), 0) == deadline  # earth, the pool's sender
    assert r.m.expiry_us(r.pair(pid), 1) == deadline + r.light(EARTH, MOON)  # moon, the receiver
    r.advance_to(deadline + 1).step(Expire(pid, EARTH))
    assert r.pair(pid).status == (E.DISCARDED, E.POOLED)
    r.advance_to(deadline + r.light(EARTH, MOON) + 1).step(Expire(pid, MOON))
    assert pid not in r.s.pairs
    assert r.m.free_memory(r.s, MOON) == SCENARIO.node(MOON).memory_capacity


def test_expire_receiver_keeps_its_half_until_the_bits_arrive() -> None:
    """Regression (spec A8, resolved review note): the receiver expired its half while the bits
    of a use sent at the cut-off were in flight, and the use failed. The note's run — pooled
    pair; advance to the cut-off; A9 at earth; advance 1 us; A8 at moon; advance L - 1; A10 —
    is now rejected at A8, and without it the use is delivered. (No invariant caught the old
    behaviour: the failure was reported, FAILED_LOST; it was a liveness bug.)"""
    r = Run()
    pid = r.pooled_pair()
    deadline, light = r.pair(pid).deadline_us, r.light(EARTH, MOON)
    r.advance_to(deadline).step(UsePair(pid, EARTH)).advance(1)
    with pytest.raises(NotEnabled, match=f"moon keeps pair {pid} until {deadline + light} us"):
        r.step(Expire(pid, MOON))
    r.advance(light - 1).step(Deliver(r.msg_id(MsgKind.BITS, pair=pid)))
    d = r.s.last_delivery
    assert d is not None and d.outcome is Outcome.DELIVERED and not d.half_lost
    assert d.send_us == deadline and d.deliver_us == deadline + light


def test_expire_only_the_receiver_of_an_end_to_end_pair_waits_for_the_bits() -> None:
    """An intermediate pair has no bits to wait for: its ends, the pool's receiver included,
    keep their halves until the shared cut-off only."""
    r = Run()
    _, _, right = two_hop_heralded(r)
    p = r.pair(right)
    assert p.nodes == (L1, MOON) and p.swapper == L1  # moon is the pool's receiver
    assert r.m.expiry_us(p, 0) == r.m.expiry_us(p, 1) == p.deadline_us
    r.advance_to(p.deadline_us + 1).step(Expire(right, MOON), Expire(right, L1))
    assert right not in r.s.pairs


def test_expire_a_pending_half() -> None:
    """A half whose herald never came is cut off like any other: memory is not leaked."""
    r = Run()
    pid = r.generate(r.route(), 0)
    r.step(DelayMessage(r.msg_id(MsgKind.HERALD, pair=pid), MAX_ADVANCE_US))
    r.advance_to(r.pair(pid).deadline_us + 1).step(Expire(pid, EARTH))
    assert r.pair(pid).status == (E.DISCARDED, E.READY)


def test_use_pair_effect() -> None:
    r = Run()
    pid = r.pooled_pair()
    t, cost = r.s.now_us, r.m.cost_at(r.pair(pid), r.s.now_us)
    r.step(UsePair(pid, EARTH))
    assert r.pair(pid).status == (E.SENT, E.POOLED) and r.pair(pid).consumed == 1
    bits = r.msg(MsgKind.BITS, pair=pid)
    assert (bits.src, bits.dst, bits.sent_us) == (EARTH, MOON, t)
    assert bits.arrive_us == t + r.light(EARTH, MOON) and bits.cost_nnp == cost


def test_refill_and_use_earth_moon() -> None:
    """Whitepaper §3: refill the earth -> moon pool, then use a pair. The use takes effect at
    the moon exactly one light time after the trigger — the pool saves set-up, not transit."""
    r = Run()
    m = r.m
    em = SCENARIO.light_us(EARTH, MOON)
    r.step(ChooseRoute(POOL_EARTH_MOON, m.route_paths[POOL_EARTH_MOON][0], SEQ))
    route_msg = r.msg(MsgKind.ROUTE, dst=MOON)
    assert (route_msg.id, route_msg.route) == (2, 1)
    r.step(AdvanceTime(em), Receive(2), GenerateLink(route=1, hop=0))
    assert r.pair(3).status == (E.PENDING, E.READY)
    herald = r.msg(MsgKind.HERALD, pair=3)
    r.step(AdvanceTime(em), Receive(herald.id), Admit(3, EARTH), Admit(3, MOON))
    send_us = r.s.now_us
    r.step(UsePair(3, EARTH))
    bits = r.msg(MsgKind.BITS, pair=3)
    r.step(AdvanceTime(em), Deliver(bits.id))
    d = r.s.last_delivery
    assert d is not None and d.outcome is Outcome.DELIVERED and not d.half_lost
    assert (d.pair, d.sender, d.receiver) == (3, EARTH, MOON)
    assert d.send_us == send_us and d.deliver_us == send_us + em
    pool = SCENARIO.pools[POOL_EARTH_MOON]
    assert d.threshold_nnp == pool.threshold_nnp and d.cost_nnp <= d.threshold_nnp
    assert d.cost_nnp == bits.cost_nnp + r.m.transit_decay(EARTH, MOON)
    assert r.s.deliveries == 1 and 3 not in r.s.pairs and not r.s.messages


@pytest.mark.parametrize("schedule", [SEQ, NESTED], ids=lambda s: s.value)
def test_earth_mars_four_hops(schedule: Schedule) -> None:
    """Four hops earth - moon - relay-l1 - relay-l2 - mars, swapped by the schedule's tree."""
    r = Run()
    path = r.m.route_paths[POOL_EARTH_MARS][1]
    assert len(path) == 5
    rid = r.route(POOL_EARTH_MARS, path, schedule)
    top = r.end_to_end(rid)
    swaps = [a for a in r.log if isinstance(a, Swap)]
    expected = [MOON, L1, L2] if schedule is SEQ else [MOON, L2, L1]
    assert [a.node for a in swaps] == expected  # the root swap is last
    p = r.pair(top)
    assert p.nodes == (EARTH, MARS) and p.segment == (0, 4) and p.swapper is None
    r.admit_both(top)
    send_us = r.s.now_us
    r.step(UsePair(top, EARTH))
    bits = r.msg(MsgKind.BITS, pair=top)
    r.advance(r.light(EARTH, MARS)).step(Deliver(bits.id))
    d = r.s.last_delivery
    assert d is not None and d.outcome is Outcome.DELIVERED
    assert d.deliver_us == send_us + r.light(EARTH, MARS) and d.cost_nnp <= d.threshold_nnp


def test_crash_between_use_and_delivery_fails_lost() -> None:
    r = Run()
    pid, bits = used_pair(r)
    r.step(Crash(MOON), Recover(MOON)).advance(r.light(EARTH, MOON)).step(Deliver(bits))
    d = r.s.last_delivery
    assert d is not None and d.outcome is Outcome.FAILED_LOST and d.half_lost
    assert pid not in r.s.pairs


def test_deliver_late_fails_stale() -> None:
    """A use sent at the cut-off meets the threshold only if corrected on arrival."""
    r = Run()
    pid = r.pooled_pair()
    r.advance_to(r.pair(pid).deadline_us).step(UsePair(pid, EARTH))
    bits = r.msg(MsgKind.BITS, pair=pid)
    r.step(DelayMessage(bits.id, 100_000)).advance(r.light(EARTH, MOON) + 100_000)
    r.step(Deliver(bits.id))
    d = r.s.last_delivery
    assert d is not None and d.outcome is Outcome.FAILED_STALE and not d.half_lost
    assert d.cost_nnp > d.threshold_nnp
    assert pid not in r.s.pairs  # the receiver discarded its half


def test_deliver_at_cutoff_on_arrival_is_delivered() -> None:
    r = Run()
    pid = r.pooled_pair()
    r.advance_to(r.pair(pid).deadline_us).step(UsePair(pid, EARTH))
    r.advance(r.light(EARTH, MOON)).step(Deliver(r.msg_id(MsgKind.BITS, pair=pid)))
    d = r.s.last_delivery
    assert d is not None and d.outcome is Outcome.DELIVERED
    assert d.threshold_nnp - d.cost_nnp < 5  # right at the edge: the cut-off is tight


# --- effects: environment actions -------------------------------------------------------------


def test_advance_time_effect() -> None:
    r = Run()
    pid = r.pooled_pair()
    before = r.s
    r.advance(5)
    assert r.s.now_us == before.now_us + 5 and r.s.pairs[pid] == before.pairs[pid]
    assert replace(r.s, now_us=before.now_us) == before


def test_link_down_effect() -> None:
    r = Run()
    r.step(LinkDown(LINK_EARTH_MOON))
    assert r.s.links_down == {LINK_EARTH_MOON} and r.s.link_seq[LINK_EARTH_MOON] == 1
    assert r.s.view[EARTH][LINK_EARTH_MOON] == r.s.view[MOON][LINK_EARTH_MOON] == 1
    told = r.msgs(MsgKind.LINK_STATE)
    assert {(x.src, x.dst, x.link, x.seq) for x in told} == {
        (EARTH, n, LINK_EARTH_MOON, 1) for n in (MARS, L1, L2)
    }
    r.step(LinkUp(LINK_EARTH_MOON))
    assert r.s.links_down == frozenset() and r.s.view[EARTH][LINK_EARTH_MOON] == 2


def test_link_change_is_told_by_the_end_that_is_up() -> None:
    r = Run().step(Crash(EARTH), LinkDown(LINK_EARTH_MOON))
    assert {x.src for x in r.msgs(MsgKind.LINK_STATE)} == {MOON}
    r.step(Crash(MOON), LinkUp(LINK_EARTH_MOON))
    assert len(r.msgs(MsgKind.LINK_STATE)) == 3  # both ends down: nobody is told of the up
    assert r.s.view[EARTH][LINK_EARTH_MOON] == 2  # the ends' own views change at once


def test_crash_effect() -> None:
    r = Run()
    _, left, right = two_hop_heralded(r)
    top = r.swap(left, right, L1)
    r.step(Crash(MOON))
    assert r.s.nodes_down == {MOON}
    assert r.pair(top).status == (E.INCOMING, E.LOST)
    assert r.pair(right).status == (E.SWAPPED, E.LOST)
    assert r.s.routes  # classical state (routes, views) survives the crash


def test_recover_effect() -> None:
    r = Run().step(Crash(MOON), Recover(MOON))
    assert r.s.nodes_down == frozenset() and r.s.epoch[MOON] == 1
    resets = r.msgs(MsgKind.RESET)
    assert sorted(x.dst for x in resets) == sorted(n for n in SCENARIO.node_names if n != MOON)
    assert all(x.src == MOON and x.epoch == 1 for x in resets)


def test_recover_reannounces_a_link_change_nobody_heard() -> None:
    link = SCENARIO.link_between("relay-l1", "relay-l2")
    assert link is not None
    r = Run().step(LinkDown(link.index), Crash("relay-l1"), Crash("relay-l2"))
    told_before = {x.dst for x in r.msgs(MsgKind.LINK_STATE)}
    r.step(LinkUp(link.index))
    assert {x.dst for x in r.msgs(MsgKind.LINK_STATE)} == told_before  # nobody was told
    before = {x.id for x in r.msgs(MsgKind.LINK_STATE)}
    r.step(Recover("relay-l1"))
    news = [x for x in r.msgs(MsgKind.LINK_STATE) if x.id not in before]
    assert sorted(x.dst for x in news) == sorted(
        n for n in SCENARIO.node_names if n not in ("relay-l1", "relay-l2")
    )
    assert all(x.link == link.index and x.seq == 2 for x in news)
    r.step(AdvanceTime(max(x.arrive_us for x in news) - r.s.now_us))
    for x in sorted(r.msgs(MsgKind.LINK_STATE), key=lambda x: x.id):  # old news first
        r.step(Receive(x.id))
    assert not r.m.believes_down(r.s, EARTH, link.index)
    assert r.s.view[EARTH][link.index] == 2


def test_delay_message_effect() -> None:
    r = Run()
    r.choose_route(POOL_EARTH_MOON, (EARTH, MOON))
    msg = r.msg(MsgKind.ROUTE)
    r.step(DelayMessage(msg.id, 7))
    assert r.s.messages[msg.id] == replace(msg, arrive_us=msg.arrive_us + 7)


# --- the action catalogue and the candidates ----------------------------------------------------


def test_action_catalogue() -> None:
    assert set(ACTION_TYPES) == {c.name for c in PROTOCOL_ACTIONS + ENVIRONMENT_ACTIONS}
    assert not any(c.environment for c in PROTOCOL_ACTIONS)
    assert all(c.environment for c in ENVIRONMENT_ACTIONS)
    assert repr(UsePair(pair=7, node=EARTH)) == "UsePair(pair=7, node='earth')"


def test_enabled_at_init() -> None:
    m = Model(SCENARIO)
    names = sorted({a.name for a in m.enabled(m.init())})
    assert names == ["choose_route", "crash", "link_down"]
    routes = [a for a in m.enabled(m.init()) if isinstance(a, ChooseRoute)]
    assert {a.pool for a in routes} == {0, 1, 2}


def test_enabled_finds_every_step_of_a_refill() -> None:
    r = Run()
    rid = r.route()
    assert GenerateLink(rid, 0) in list(r.m.enabled(r.s))
    pid = r.generate(rid, 0)
    assert Admit(pid, MOON) in list(r.m.enabled(r.s))
    assert Admit(pid, EARTH) not in list(r.m.enabled(r.s))
