"""Guard cases of the actions that make and join pairs: generate_link (A3), receive (A4),
swap (A5) and purify (A6).
"""

from __future__ import annotations

from pqms_model.protocol.actions import (
    Action,
    Crash,
    DropRoute,
    GenerateLink,
    LinkDown,
    Purify,
    Receive,
    Swap,
    UsePair,
)
from pqms_model.protocol.scenario import default_scenario_text, parse_scenario_text
from pqms_model.protocol.state import MsgKind
from tests.support.builders import EARTH, L1, LINK_EARTH_MOON, MOON, POOL_EARTH_MOON, SCENARIO, Run
from tests.support.model_cases import (
    VIA_L1,
    E,
    guard,
    three_hop_swapped_twice,
    two_hop_heralded,
    two_ready_direct,
)

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


def pool_for_both_directions() -> Run:
    """The default mesh plus a moon -> earth pool (pool 3): two pools join the same two nodes."""
    text = default_scenario_text() + (
        '\n[[pool]]\na = "moon"\nb = "earth"\ntarget_size = 1\n'
        "threshold_fidelity = 0.95\nmax_wait_s = 600.0\n"
    )
    return Run(scenario=parse_scenario_text(text, "<default + moon->earth pool>"))


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
