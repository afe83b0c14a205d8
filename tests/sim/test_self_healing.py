"""Self-healing as a checked property (spec/simulator.md §4, whitepaper §3.2 "Selbstheilung", §4).

*After the last fault, every pool that still has a feasible path is back at its target within
the bound* :func:`pqms_model.sim.bounds.healing_bound` *derives, and every invariant holds on
every step throughout.* A Hypothesis state machine drives the simulator with fault-injecting
rules (link failures, node crashes, repairs, at random times, with traffic), then repairs
everything, stops the traffic and checks the bound; the simulator runs with ``check=True``, so
each step is checked against the whole invariant registry (and the simulator's own counts
against a recount).

The bound assumes memory holds every pool's target at once, so the suite provisions at the
scenario targets (``traffic_aware=False``); with the default traffic-aware caps the relays of
the default mesh are oversubscribed and :func:`healing_bound` says so (``None``).
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from pqms_model.invariants import violations
from pqms_model.physics.cost import US_PER_S
from pqms_model.protocol.actions import Crash, LinkDown, LinkUp, Recover
from pqms_model.protocol.scenario import load_default, parse_scenario_text
from pqms_model.sim.bounds import HealingBound, erlang_quantile_us, healing_bound
from pqms_model.sim.pool_policy import PolicyConfig
from pqms_model.sim.simulator import Simulator

S = US_PER_S
_DEFAULT = load_default()
# a tenth of the default traffic: uses (and failed uses) during faults, at a tenth of the cost
SCENARIO = parse_scenario_text(
    _DEFAULT.toml_text.replace("rate_hz = 0.5 ", "rate_hz = 0.05 ")
    .replace("rate_hz = 0.01\n", "rate_hz = 0.001\n")
    .replace("rate_hz = 0.005\n", "rate_hz = 0.0005\n"),
    "<default, traffic / 10>",
)
CONFIG = PolicyConfig(traffic_aware=False)
NODES = SCENARIO.node_names
LINKS = range(len(SCENARIO.links))


def _bounds(down: frozenset[int] = frozenset()) -> dict[int, HealingBound | None]:
    return {p.index: healing_bound(SCENARIO, p.index, CONFIG, down) for p in SCENARIO.pools}


ALL_UP = _bounds()


def healed_at(sim: Simulator, pool: int, since_us: int) -> int | None:
    """First time >= ``since_us`` at which the pool held its target of healthy pairs."""
    target = SCENARIO.pools[pool].target_size
    held = 0
    for t, n in sim.metrics.pools[pool].occupancy:
        if t <= since_us:
            held = n
        elif n >= target:
            return t if held < target else since_us
    return since_us if held >= target else None


def _check_healed(sim: Simulator, since_us: int, bounds: dict[int, HealingBound | None]) -> None:
    for pool, bound in bounds.items():
        assert bound is not None, f"pool {pool}: the bound must apply in this suite"
        at = healed_at(sim, pool, since_us)
        assert at is not None and at - since_us <= bound.total_us, (
            f"pool {pool} not back at target {SCENARIO.pools[pool].target_size} within "
            f"{bound.total_us / S:.0f} s of the last fault at {since_us / S:.0f} s "
            f"(healed at {None if at is None else at / S})"
        )


def _repair_all(sim: Simulator) -> None:
    for node in sorted(sim.state.nodes_down):  # nodes first: every link change is announced
        assert sim.inject(Recover(node))
    for link in sorted(sim.state.links_down):
        assert sim.inject(LinkUp(link))


class SelfHealing(RuleBasedStateMachine):
    """Faults at random times with traffic; then repair, stop traffic, check the bound."""

    def __init__(self) -> None:
        super().__init__()
        self.sim = Simulator(SCENARIO, CONFIG, seed=0, check=True)
        self.faults = 0

    @initialize(seed=st.integers(0, 2**32 - 1), warmup_s=st.integers(0, 1500))
    def start(self, seed: int, warmup_s: int) -> None:
        self.sim = Simulator(SCENARIO, CONFIG, seed=seed, check=True)
        self.sim.run_until(warmup_s * S)

    @rule(dt_s=st.integers(1, 900))
    def advance_time(self, dt_s: int) -> None:
        self.sim.run_until(self.sim.state.now_us + dt_s * S)

    def _observed(self, link: int) -> bool:
        """A link change is injected only while one of its ends is up to announce it. The
        model tells nobody of a change while both ends are down and does not re-announce on
        recovery, so the senders' views would stay stale for ever (a gap in the model,
        reported in spec/simulator.md §4.4); the bound presumes the news is sent."""
        ln = SCENARIO.links[link]
        return not {ln.a, ln.b} <= self.sim.state.nodes_down

    @rule(link=st.sampled_from(LINKS))
    def link_down(self, link: int) -> None:
        if self._observed(link):
            self.faults += self.sim.inject(LinkDown(link))

    @rule(link=st.sampled_from(LINKS))
    def link_up(self, link: int) -> None:
        if self._observed(link):
            self.sim.inject(LinkUp(link))

    @rule(node=st.sampled_from(NODES))
    def crash(self, node: str) -> None:
        self.faults += self.sim.inject(Crash(node))

    @rule(node=st.sampled_from(NODES))
    def recover(self, node: str) -> None:
        self.sim.inject(Recover(node))

    @invariant()
    def invariants_hold(self) -> None:
        # check=True already checked every step; this re-checks the state between rules
        assert violations(self.sim.model, self.sim.state) == []

    def teardown(self) -> None:
        sim = self.sim
        sim.stop_traffic(withdraw=True)
        _repair_all(sim)
        last = sim.state.now_us
        sim.run_until(last + max(b.total_us for b in ALL_UP.values() if b is not None) + S)
        _check_healed(sim, last, ALL_UP)


TestSelfHealing = SelfHealing.TestCase
# Each example simulates hours of the mesh with every step checked, so the suite runs an eighth
# of the profile's counts (ci: 12 examples of up to 12 rules; deep: 250 of up to 25).
TestSelfHealing.settings = settings(
    settings.default,
    max_examples=max(10, settings.default.max_examples // 8),
    stateful_step_count=max(8, settings.default.stateful_step_count // 8),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


# --- named scenarios: the same property, one fault each --------------------------------------


def _warm(seed: int = 1) -> Simulator:
    sim = Simulator(SCENARIO, CONFIG, seed=seed, check=True)
    sim.run_until(1500 * S)
    return sim


def test_failover_around_a_link_that_stays_down() -> None:
    sim = _warm()
    assert sim.inject(LinkDown(0))  # earth - moon
    sim.stop_traffic(withdraw=True)
    last = sim.state.now_us
    bounds = {0: healing_bound(SCENARIO, 0, CONFIG, frozenset({0}))}
    bound = bounds[0]
    assert bound is not None and bound.plan.path == ("earth", "relay-l1", "moon")
    sim.run_until(last + bound.total_us)
    _check_healed(sim, last, bounds)
    assert [r.path for r in sim.state.routes.values() if r.active and r.pool == 0] == [
        ("earth", "relay-l1", "moon")
    ]


def test_a_relay_crash_heals_after_recovery() -> None:
    sim = _warm(2)
    assert sim.inject(Crash("relay-l2"))
    sim.run_until(sim.state.now_us + 900 * S)
    assert sim.inject(Recover("relay-l2"))
    sim.stop_traffic(withdraw=True)
    last = sim.state.now_us
    sim.run_until(last + max(b.total_us for b in ALL_UP.values() if b is not None))
    _check_healed(sim, last, ALL_UP)


def test_a_sender_crash_heals_after_recovery() -> None:
    sim = _warm(3)
    assert sim.inject(Crash("earth"))
    assert sim.index.healthy[0] == sim.index.healthy[1] == 0  # its pooled halves are lost
    sim.run_until(sim.state.now_us + 300 * S)
    assert sim.inject(Recover("earth"))
    sim.stop_traffic(withdraw=True)
    last = sim.state.now_us
    sim.run_until(last + max(b.total_us for b in ALL_UP.values() if b is not None))
    _check_healed(sim, last, ALL_UP)


def test_the_bound_and_its_terms() -> None:
    mars = ALL_UP[1]
    assert mars is not None and mars.rounds == 1
    light = SCENARIO.light_us("earth", "mars")
    assert mars.news_us == light and mars.route_us == light  # mesh diameter = earth-mars
    # nested: relay-l2 swaps after one hop's herald, relay-l1 after two, earth hears at three
    assert mars.chain_us == 3 * SCENARIO.links[1].light_us == light
    terms = max(mars.news_us, 2 * mars.stall_us) + mars.orphans_us + mars.route_us
    assert mars.total_us >= terms + mars.rounds * (mars.gen_us + mars.chain_us)
    # traffic-aware caps oversubscribe relay memory: the bound does not apply
    assert healing_bound(_DEFAULT, 1, PolicyConfig()) is None
    # a cut (relay chain broken) leaves no feasible path: no bound
    l1_l2 = SCENARIO.link_between("relay-l1", "relay-l2")
    assert (
        l1_l2 is not None and healing_bound(SCENARIO, 1, CONFIG, frozenset({l1_l2.index})) is None
    )


def test_generation_quantile() -> None:
    one = erlang_quantile_us(1, 1.0)
    assert (
        erlang_quantile_us(1, 10.0) * 10 == one or abs(erlang_quantile_us(1, 10.0) * 10 - one) <= 10
    )
    assert erlang_quantile_us(4, 1.0) > one > 0
