"""The routing policy (spec/simulator.md §2): predicted cost equals the model's, plans, failover.

The prediction is checked against the model itself: a route is built on ``Model.step`` with
every hop generated at the same instant, each swap as soon as the schedule allows, the use as
soon as the sender knows the pair, and the correction when the bits arrive; the delivered cost
and the times must equal :func:`pqms_model.sim.routing.predict` exactly.
"""

from __future__ import annotations

import pytest

from pqms_model.errors import NotEnabled
from pqms_model.model.transition import Model
from pqms_model.protocol.actions import (
    Action,
    Admit,
    AdvanceTime,
    ChooseRoute,
    Deliver,
    DropRoute,
    GenerateLink,
    LinkDown,
    LinkUp,
    Receive,
    Swap,
    UsePair,
)
from pqms_model.protocol.scenario import load_default, parse_scenario_text
from pqms_model.protocol.state import Delivery, EndStatus, MsgKind, Schedule, State
from pqms_model.sim.routing import (
    RouteMemo,
    Router,
    believed_down,
    predict,
    route_actions,
    schedules_for,
)

SC = load_default()
EARTH_MOON = 0  # link index of earth - moon


def _advance_to_next_message(m: Model, s: State) -> State:
    t = min(msg.arrive_us for msg in s.messages.values())
    return m.step(s, AdvanceTime(t - s.now_us)) if t > s.now_us else s


def _run_plan(
    m: Model, pool: int, path: tuple[str, ...], schedule: Schedule
) -> tuple[int, int, Delivery]:
    """Build one end-to-end pair along ``path`` as fast as the protocol allows, use it at
    once; return (time from generation to the use, to the receiver knowing it, the delivery)."""
    s = m.step(m.init(), ChooseRoute(pool, path, schedule))
    rid = max(s.routes)
    while s.messages:  # every node of the path hears the route
        s = _advance_to_next_message(m, s)
        for msg in list(s.messages.values()):
            if msg.arrive_us <= s.now_us:
                s = m.step(s, Receive(msg.id))
    t0 = s.now_us
    for hop in range(len(path) - 1):
        s = m.step(s, GenerateLink(rid, hop))
    used_at = known_b = -1
    while True:
        progressed = True
        while progressed:
            progressed = False
            for cand in _local_candidates(s):
                try:
                    s = m.step(s, cand)
                except NotEnabled:
                    continue
                if isinstance(cand, UsePair):
                    used_at = s.now_us
                if isinstance(cand, Deliver):
                    assert s.last_delivery is not None
                    return used_at - t0, known_b - t0, s.last_delivery
                progressed = True
                break
        for p in s.pairs.values():
            if p.swapper is None and known_b < 0:
                i = p.end(path[-1])
                if p.status[i] in (EndStatus.READY, EndStatus.POOLED):
                    known_b = p.known_us[i]
        s = _advance_to_next_message(m, s)


def _local_candidates(s: State) -> list[Action]:
    out: list[Action] = []
    for msg in s.messages.values():
        if msg.arrive_us <= s.now_us:
            out.append(Deliver(msg.id) if msg.kind is MsgKind.BITS else Receive(msg.id))
    pairs = list(s.pairs.values())
    for p in pairs:
        for i in (0, 1):
            if p.status[i] is EndStatus.READY and p.swapper is None:
                out.append(Admit(p.id, p.nodes[i]))
            if p.status[i] is EndStatus.POOLED:
                out.append(UsePair(p.id, p.nodes[i]))
        for q in pairs:
            if p.id < q.id and p.swapper is not None and p.swapper == q.swapper:
                out.append(Swap(p.id, q.id, p.swapper))
    return out


@pytest.mark.parametrize(
    ("pool", "path", "schedule"),
    [
        (0, ("earth", "moon"), Schedule.SEQUENTIAL),
        (0, ("earth", "relay-l1", "moon"), Schedule.SEQUENTIAL),
        (1, ("earth", "relay-l1", "relay-l2", "mars"), Schedule.SEQUENTIAL),
        (1, ("earth", "relay-l1", "relay-l2", "mars"), Schedule.NESTED),
        (2, ("moon", "earth", "relay-l1", "relay-l2", "mars"), Schedule.NESTED),
        (2, ("moon", "earth", "relay-l1", "relay-l2", "mars"), Schedule.SEQUENTIAL),
    ],
)
def test_predicted_cost_and_times_equal_the_models(
    pool: int, path: tuple[str, ...], schedule: Schedule
) -> None:
    plan = predict(SC, pool, path, schedule, generation_wait=False)
    sender_us, receiver_us, d = _run_plan(Model(SC), pool, path, schedule)
    assert (sender_us, receiver_us) == (plan.sender_ready_us, plan.receiver_ready_us)
    assert d.cost_nnp == plan.cost_at_use_nnp
    assert d.deliver_us - d.send_us == SC.light_us(path[0], path[-1])


def test_generation_wait_delays_and_decays_only_pairs_that_wait_for_slower_siblings() -> None:
    path = ("earth", "relay-l1", "relay-l2", "mars")  # every hop 1 Hz: all shift by 1 s
    fast = predict(SC, 1, path, Schedule.NESTED, generation_wait=False)
    slow = predict(SC, 1, path, Schedule.NESTED)
    assert slow.sender_ready_us == fast.sender_ready_us + 1_000_000
    assert slow.cost_at_use_nnp == fast.cost_at_use_nnp
    mixed = ("moon", "earth", "relay-l1", "relay-l2", "mars")  # a 10 Hz hop waits for 1 Hz ones
    fast = predict(SC, 2, mixed, Schedule.NESTED, generation_wait=False)
    slow = predict(SC, 2, mixed, Schedule.NESTED)
    assert slow.cost_at_use_nnp > fast.cost_at_use_nnp


def test_plans_rank_feasible_paths_by_predicted_cost() -> None:
    router = Router(SC)
    for pool in range(len(SC.pools)):
        plans = router.plans(pool, frozenset())
        assert 1 <= len(plans) <= router.k
        costs = [p.cost_at_use_nnp for p in plans]
        assert costs == sorted(costs)
        assert all(p.feasible and p.path[0] == SC.pools[pool].a for p in plans)
    # three hops: the nested tree is predicted better than the sequential one, and chosen
    best = router.plans(1, frozenset())[0]
    seq = predict(SC, 1, best.path, Schedule.SEQUENTIAL)
    assert best.schedule is Schedule.NESTED and best.cost_at_use_nnp < seq.cost_at_use_nnp


def test_plans_avoid_links_believed_down_and_a_cut_leaves_none() -> None:
    router = Router(SC)
    alt = router.plans(0, frozenset({EARTH_MOON}))
    assert [p.path for p in alt] == [("earth", "relay-l1", "moon")]
    l1_l2 = SC.link_between("relay-l1", "relay-l2")
    assert l1_l2 is not None
    assert router.plans(1, frozenset({l1_l2.index})) == ()


def test_infeasible_paths_are_not_offered() -> None:
    text = SC.toml_text.replace("threshold_fidelity = 0.9\n", "threshold_fidelity = 0.97\n")
    strict = parse_scenario_text(text, "<strict>")
    assert Router(strict).plans(1, frozenset()) == ()  # 3 hops of F 0.99 cannot reach 0.97
    assert Router(strict).plans(0, frozenset()) != ()


def test_fixed_schedule_and_k_are_respected() -> None:
    router = Router(SC, k=1, schedule=Schedule.SEQUENTIAL)
    (plan,) = router.plans(1, frozenset())
    assert plan.schedule is Schedule.SEQUENTIAL
    assert schedules_for(2) == (Schedule.SEQUENTIAL,)
    with pytest.raises(ValueError, match="alternative paths"):
        Router(SC, k=0)


def _with_route(m: Model, pool: int) -> tuple[State, dict[int, RouteMemo]]:
    plan = Router(SC).plans(pool, frozenset())[0]
    s = m.step(m.init(), ChooseRoute(pool, plan.path, plan.schedule))
    memo = {max(s.routes): RouteMemo((frozenset(), frozenset()), 0)}
    return s, memo


def _apply(m: Model, s: State, acts: list[Action]) -> State:
    for a in acts:
        s = m.step(s, a)  # raises NotEnabled if the policy proposed an illegal action
    return s


def test_failover_drops_a_route_over_a_link_the_sender_sees_down() -> None:
    m, router = Model(SC), Router(SC)
    s, memo = _with_route(m, 0)
    s = m.step(s, LinkDown(EARTH_MOON))  # earth is an end: its view changes at once
    assert believed_down(s, "earth") == frozenset({EARTH_MOON})
    acts = route_actions(router, s, 0, memo, want_route=True)
    rid = max(s.routes)
    assert acts == [
        DropRoute(rid),
        ChooseRoute(0, ("earth", "relay-l1", "moon"), Schedule.SEQUENTIAL),
    ]
    s = _apply(m, s, acts)
    assert [r.path for r in s.routes.values() if r.active] == [("earth", "relay-l1", "moon")]


def test_a_stale_view_keeps_the_route_until_the_news_arrives() -> None:
    m, router = Model(SC), Router(SC)
    s, memo = _with_route(m, 1)  # earth -> mars over relay-l1, relay-l2
    l1_l2 = SC.link_between("relay-l1", "relay-l2")
    assert l1_l2 is not None
    s = m.step(s, LinkDown(l1_l2.index))
    assert route_actions(router, s, 1, memo, want_route=True) == []  # earth has not heard
    news = [x for x in s.messages.values() if x.kind is MsgKind.LINK_STATE and x.dst == "earth"]
    s = m.step(s, AdvanceTime(news[0].arrive_us - s.now_us))
    s = m.step(s, Receive(news[0].id))
    acts = route_actions(router, s, 1, memo, want_route=True)
    assert acts == [DropRoute(max(s.routes))]  # no alternative: the relay chain is a cut
    _apply(m, s, acts)


def test_reoptimise_back_to_the_best_path_when_the_link_returns() -> None:
    m, router = Model(SC), Router(SC)
    s, memo = _with_route(m, 0)
    s = m.step(s, LinkDown(EARTH_MOON))
    s = _apply(m, s, route_actions(router, s, 0, memo, want_route=True))
    alt = max(s.routes)
    memo = {alt: RouteMemo((frozenset({EARTH_MOON}), frozenset()), s.now_us)}
    s = m.step(s, LinkUp(EARTH_MOON))
    acts = route_actions(router, s, 0, memo, want_route=True)
    assert acts == [DropRoute(alt), ChooseRoute(0, ("earth", "moon"), Schedule.SEQUENTIAL)]
    _apply(m, s, acts)
    # judged on the current view, a route is not questioned again
    memo2 = {alt: RouteMemo((frozenset(), frozenset()), s.now_us)}
    assert route_actions(router, s, 0, memo2, want_route=True) == []


def test_a_stalled_route_is_dropped_and_its_path_avoided() -> None:
    m, router = Model(SC), Router(SC)
    s, memo = _with_route(m, 0)
    rid = max(s.routes)
    direct = ("earth", "moon")
    acts = route_actions(
        router, s, 0, memo, want_route=True, stalled=[rid], avoid=frozenset({direct})
    )
    assert acts == [
        DropRoute(rid),
        ChooseRoute(0, ("earth", "relay-l1", "moon"), Schedule.SEQUENTIAL),
    ]
    _apply(m, s, acts)


def test_no_route_is_chosen_when_none_is_wanted() -> None:
    m, router = Model(SC), Router(SC)
    assert route_actions(router, m.init(), 0, {}, want_route=False) == []
    assert route_actions(router, m.init(), 0, {}, want_route=True) == [
        ChooseRoute(0, ("earth", "moon"), Schedule.SEQUENTIAL)
    ]
