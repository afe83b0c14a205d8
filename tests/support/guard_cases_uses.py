"""Guard cases of the actions on end-to-end pairs: admit (A7), expire (A8), use_pair (A9)
and deliver (A10).
"""

from __future__ import annotations

from pqms_model.protocol.actions import Action, Admit, Crash, Deliver, Expire, Purify, UsePair
from pqms_model.protocol.mutants import Mutant
from pqms_model.protocol.scenario import default_scenario_text, parse_scenario_text
from pqms_model.protocol.state import MsgKind
from tests.support.builders import EARTH, L1, MARS, MOON, POOL_EARTH_MOON, Run
from tests.support.model_cases import guard, two_hop_heralded, two_ready_direct, used_pair

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


def poor_earth_memory(mutant: Mutant) -> Run:
    """The default mesh with a 1000 s coherence time at earth (instead of 6 h)."""
    text = default_scenario_text().replace("coherence_s = 21600.0", "coherence_s = 1000.0", 1)
    sc = parse_scenario_text(text, "<default, earth T = 1000 s>")
    assert sc.node(EARTH).coherence_us == 1_000_000_000
    return Run(mutant, scenario=sc, check=False)


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
