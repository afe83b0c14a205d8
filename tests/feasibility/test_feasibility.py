"""The feasibility calculator (issue 4): closed forms, cross-checked on the executable model.

The cross-check builds one pair along the route with ``Model.step`` (choose_route, receive,
generate_link, swap, admit, advance_time, use_pair, deliver) in a scenario whose every node has
the coherence time the calculator says is needed: a hair above it the use is delivered, a hair
below it the model refuses the use (past the cut-off). The same for the longest distance.
"""

from __future__ import annotations

import json
import math
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from pqms_model.cli import main as cli
from pqms_model.errors import NotEnabled
from pqms_model.feasibility.coherence import (
    DEMONSTRATED_MEMORIES,
    FeasibilityError,
    Memory,
    RoutePlan,
    Span,
    analyse,
    best_budget,
    coherence_needed_s,
    geometry_of,
    max_distance_ls,
    plan_route,
)
from pqms_model.model.transition import Model
from pqms_model.physics.cost import NNP_PER_NEPER
from pqms_model.physics.werner import fidelity_to_werner
from pqms_model.protocol.actions import (
    Action,
    Admit,
    AdvanceTime,
    ChooseRoute,
    Deliver,
    GenerateLink,
    Receive,
    Swap,
    UsePair,
)
from pqms_model.protocol.scenario import (
    Scenario,
    default_scenario_text,
    load_default,
    parse_scenario,
)
from pqms_model.protocol.schedule import split
from pqms_model.protocol.state import EndStatus, MsgKind, Outcome, Schedule, State

DEFAULT = load_default()
GEO = geometry_of(DEFAULT)
EARTH_MOON, EARTH_MARS, MOON_MARS = DEFAULT.pools


def variant(coherence_s: float, d_ls: float | None = None, **pool_edits: float) -> Scenario:
    """The default scenario with every node at ``coherence_s`` and, optionally, the
    interplanetary links stretched to an Earth–Mars distance of ``d_ls``."""
    doc = tomllib.loads(default_scenario_text())
    for node in doc["node"]:
        node["coherence_s"] = coherence_s
    if d_ls is not None:
        assert GEO.base_ls is not None
        for i, link in enumerate(doc["link"]):
            if i in GEO.scaled:
                link["distance_km"] *= d_ls / GEO.base_ls
    for pool in doc["pool"]:
        pool.update(pool_edits)
    return parse_scenario(doc, "variant")


# --- a driver that builds one pair on the model, exactly on the calculator's schedule -------


class Run:
    """Drives ``Model.step``: every action goes through the guards of the model."""

    def __init__(self, scenario: Scenario) -> None:
        self.m = Model(scenario)
        self.s: State = self.m.init()

    def do(self, a: Action) -> None:
        self.s = self.m.step(self.s, a)

    def until(self, t_us: int) -> None:
        """Advance to ``t_us`` and take every herald / swap / route message that has arrived."""
        if t_us > self.s.now_us:
            self.do(AdvanceTime(t_us - self.s.now_us))
        assert self.s.now_us == t_us, "the schedule went back in time"
        for msg in sorted(self.s.messages.values(), key=lambda x: (x.arrive_us, x.id)):
            if msg.kind is not MsgKind.BITS and msg.arrive_us <= t_us:
                self.do(Receive(msg.id))


def build_and_use(scenario: Scenario, pool: int, plan: RoutePlan, at_once: bool) -> tuple[str, int]:
    """Build one pair along ``plan``'s route and schedule, use it after the pool's longest wait
    (or the moment the sender knows it) and deliver it. Returns (outcome, cost at correction);
    outcome is the Outcome's value or ``"not enabled: ..."``."""
    run, sc = Run(scenario), scenario
    path, sched, k = plan.path, plan.schedule, len(plan.path) - 1
    light = sc.light_us
    run.do(ChooseRoute(pool, path, sched))
    rid = max(run.s.routes)
    t0 = max(light(path[0], n) for n in path)  # every node of the route has heard of it

    def ready_us(i: int, j: int, at: int) -> int:  # the model's own integer light times
        if j == i + 1:
            return light(path[j], path[i]) if at == i else 0
        return light(path[split(i, j, sched)], path[at])

    stamps: dict[tuple[int, int], int] = {}

    def place(i: int, j: int, t: int) -> None:  # segment (i, j) is made at time t
        stamps[(i, j)] = t
        if j - i >= 2:
            m = split(i, j, sched)
            place(i, m, t - ready_us(i, m, m))
            place(m, j, t - ready_us(m, j, m))

    place(0, k, 0)
    shift = t0 - min(stamps.values())
    events = sorted(((t + shift, j - i, i, j) for (i, j), t in stamps.items()))
    pair_of: dict[tuple[int, int], int] = {}
    for t, _, i, j in events:  # elementary generations (j - i == 1) before swaps at a tie
        run.until(t)
        pid = run.s.next_id
        if j == i + 1:
            run.do(GenerateLink(rid, i))
        else:
            m = split(i, j, sched)
            left, right = pair_of[(i, m)], pair_of[(m, j)]
            for p in (left, right):  # no slack: each input became known at path[m] just now
                pair = run.s.pairs[p]
                assert pair.known_us[pair.end(path[m])] == t
            run.do(Swap(left, right, path[m]))
        pair_of[(i, j)] = pid
    root, stamp = pair_of[(0, k)], stamps[(0, k)] + shift
    known = stamp + ready_us(0, k, 0)
    use = known if at_once else stamp + sc.pools[pool].max_wait_us
    try:
        run.until(known)
        assert run.s.pairs[root].status[0] is EndStatus.READY
        run.do(Admit(root, path[0]))
        run.until(use)
        run.do(UsePair(root, path[0]))
    except NotEnabled as e:
        return f"not enabled: {e.reason}", -1
    bits = next(x for x in run.s.messages.values() if x.kind is MsgKind.BITS)
    run.until(bits.arrive_us)
    run.do(Deliver(bits.id))
    d = run.s.last_delivery
    assert d is not None
    return d.outcome.value, d.cost_nnp


def predicted_cost_nnp(plan: RoutePlan, wait_s: float, coherence_s: float) -> float:
    return (-math.log(plan.w0) + plan.hold_s(wait_s) / coherence_s) * NNP_PER_NEPER


# --- the cross-check ------------------------------------------------------------------------

EPS = 1e-6  # relative; one part in a million of T is ~100 nnp of cost, far above rounding


@pytest.mark.parametrize("pool", [0, 1, 2], ids=["earth-moon", "earth-mars", "moon-mars"])
@pytest.mark.parametrize("d_ls", [None, 1338.0], ids=["scenario", "1338ls"])
def test_required_coherence_is_exact_on_the_model(pool: int, d_ls: float | None) -> None:
    d = GEO.base_ls if d_ls is None else d_ls
    assert d is not None
    b = best_budget(DEFAULT, GEO, DEFAULT.pools[pool], d)
    t_req = b.required_coherence_s
    assert t_req is not None
    above = variant(t_req * (1 + EPS), d_ls)
    outcome, cost = build_and_use(above, pool, b.route, at_once=False)
    assert outcome == Outcome.DELIVERED.value
    # the model's integer cost at the correction is the closed form's exponent
    assert cost == pytest.approx(predicted_cost_nnp(b.route, b.wait_s, t_req * (1 + EPS)), abs=50)
    assert cost <= above.pools[pool].threshold_nnp
    below = variant(t_req * (1 - EPS), d_ls)
    outcome, _ = build_and_use(below, pool, b.route, at_once=False)
    assert outcome.startswith("not enabled") and "cut-off" in outcome


@pytest.mark.parametrize("sched", [Schedule.SEQUENTIAL, Schedule.NESTED])
def test_hold_of_each_schedule_matches_the_model(sched: Schedule) -> None:
    """Not only the best route: each schedule's hold budget is what the model charges."""
    path = ("earth", "relay-l1", "relay-l2", "mars")
    for d_ls in (250.0, 900.0):
        plan = plan_route(DEFAULT, GEO, path, sched, d_ls)
        t_s = 200_000.0
        sc = variant(t_s, d_ls)
        for at_once in (False, True):
            wait = plan.known_by_sender.at(d_ls) if at_once else 3600.0
            outcome, cost = build_and_use(sc, 1, plan, at_once)
            assert outcome == Outcome.DELIVERED.value
            assert cost == pytest.approx(predicted_cost_nnp(plan, wait, t_s), abs=50)


def test_sequential_hold_in_light_times() -> None:
    """Hand derivation, three equal hops of light time L, the sender side emitting:
    sequential (swap at n1, then n2): L + 3L, then 2L + 3L: 9L; nested (n2, then n1): 7L."""
    path = ("earth", "relay-l1", "relay-l2", "mars")
    seq = plan_route(DEFAULT, GEO, path, Schedule.SEQUENTIAL, 300.0)
    nest = plan_route(DEFAULT, GEO, path, Schedule.NESTED, 300.0)
    hop = 100.0
    assert seq.build.at(300.0) == pytest.approx(9 * hop)
    assert nest.build.at(300.0) == pytest.approx(7 * hop)
    assert seq.known_by_sender.at(300.0) == pytest.approx(2 * hop)  # from n2
    assert nest.known_by_sender.at(300.0) == pytest.approx(hop)  # from n1
    assert seq.transit.at(300.0) == pytest.approx(3 * hop)
    assert seq.hold_s(3600.0) == pytest.approx(9 * hop + 7200.0 + 3 * hop)


def test_max_distance_is_exact_on_the_model() -> None:
    """Used at once, 6-h memories reach 555 ls; pooled for an hour, 1e5 s reach ~925 ls."""
    cases = [(21_600.0, True), (100_000.0, False)]
    for t_s, at_once in cases:
        d_max = max_distance_ls(DEFAULT, GEO, EARTH_MARS, t_s, at_once=at_once)
        assert d_max is not None and 182.0 < d_max < 1338.0
        for factor, works in ((1 - 1e-5, True), (1 + 1e-5, False)):
            d = d_max * factor
            b = best_budget(DEFAULT, GEO, EARTH_MARS, d, at_once=at_once)
            outcome, _ = build_and_use(variant(t_s, d), 1, b.route, at_once=at_once)
            assert (outcome == Outcome.DELIVERED.value) is works, (t_s, d, outcome)
        # and it is the inverse of the required coherence
        b = best_budget(DEFAULT, GEO, EARTH_MARS, d_max, at_once=at_once)
        assert b.required_coherence_s == pytest.approx(t_s, rel=1e-9)


# --- the closed forms and the report ---------------------------------------------------------


def test_closed_form_and_infeasible() -> None:
    assert coherence_needed_s(1.0, 0.9, 0.9) is None
    t = coherence_needed_s(500.0, 0.96, 0.8)
    assert t is not None and 0.96 * math.exp(-500.0 / t) == pytest.approx(0.8)
    # three hops at F = 0.99 give F0 = 0.9704: a 0.98 threshold is out of reach at any T
    strict = variant(21_600.0, None, threshold_fidelity=0.98)
    r = analyse(strict)
    mars = r.pools[1]
    assert mars.at_scenario.required_coherence_s is None
    assert "below the threshold" in mars.at_scenario.reason
    assert all(lim.max_distance_ls is None for lim in mars.limits)


def test_default_numbers() -> None:
    r = analyse(DEFAULT)
    assert GEO.base_ls == pytest.approx(182.126, abs=1e-3)
    assert [GEO.link_names[i] for i in sorted(GEO.scaled)] == [
        "earth-relay-l1",
        "moon-relay-l1",
        "relay-l1-relay-l2",
        "relay-l2-mars",
    ]
    moon, mars, moon_mars = r.pools
    assert not moon.depends_on_distance and mars.depends_on_distance
    # Earth–Moon: H = 1.28 (photon) + 2 x 600 + 1.28 (bits); needs a little over 6 h
    w_ratio = fidelity_to_werner(0.99) / fidelity_to_werner(0.95)
    assert moon.at_scenario.required_coherence_s == pytest.approx(
        (1200.0 + 2 * 1.2822203) / math.log(w_ratio), rel=1e-6
    )
    assert mars.at_scenario.route.schedule is Schedule.NESTED
    assert [x.required_coherence_s for x in mars.sweep] == [
        x.required_coherence_s for x in moon_mars.sweep
    ]
    sweep = [x.required_coherence_s or math.nan for x in mars.sweep]
    assert not any(math.isnan(x) for x in sweep) and sweep == sorted(sweep)
    assert 21 * 3600 < sweep[0] < 21.2 * 3600 and 31.4 * 3600 < sweep[-1] < 31.6 * 3600
    by_label = {lim.memory.label: lim for lim in mars.limits}
    eu, yb = (by_label[m.label] for m in DEMONSTRATED_MEMORIES)
    assert eu.max_distance_ls is None and yb.max_distance_ls is None  # the hour's wait
    assert eu.max_distance_at_once_ls == pytest.approx(555.29, abs=0.01)
    assert yb.max_distance_at_once_ls == pytest.approx(141.39, abs=0.01)
    assert moon.limits[0].max_distance_at_once_ls == math.inf  # Earth–Moon does not stretch


def test_span_and_custom_memories() -> None:
    assert (Span(1.0, 2.0) + Span(3.0, 4.0)).at(10.0) == 64.0
    r = analyse(DEFAULT, [Memory("big", 1e6, "test")], distances_ls=(500.0,))
    assert r.distances_ls == (500.0,) and len(r.pools[0].limits) == 1
    # With T = 1e6 s the decay would allow ~28 700 ls (H = 7200 + (7/3 + 1) D), but the news of
    # the last swap (at relay-l1, D/3 from Earth) must reach the sender within max_wait = 3600 s
    decay_limit = (
        1e6 * math.log(r.pools[1].at_scenario.route.w0 / fidelity_to_werner(0.9)) - 7200.0
    ) / (7 / 3 + 1)
    assert decay_limit > 28_000
    assert r.pools[1].limits[0].max_distance_ls == pytest.approx(3 * 3600.0)
    with pytest.raises(FeasibilityError):
        analyse(DEFAULT, [Memory("zero", 0.0, "test")])


# --- the command ----------------------------------------------------------------------------


@pytest.fixture
def pqms(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """``cli.main`` with the feasibility subcommand registered (until cli.py lists it)."""
    monkeypatch.setattr(cli, "SUBCOMMANDS", {"feasibility": "memory coherence feasibility"})
    yield


def test_command_table_json_and_plot(
    pqms: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_json, out_png = tmp_path / "f.json", tmp_path / "f.png"
    assert cli.main(["feasibility", "--json", str(out_json), "--plot", str(out_png)]) == 0
    text = capsys.readouterr().out
    assert "earth->mars" in text and "21.1 h" in text and "31.5 h" in text
    doc = json.loads(out_json.read_text())
    assert doc["schema"] == "pqms-feasibility/1" and doc["scenario"] == "earth-moon-mars"
    pools = {p["pool"]: p for p in doc["pools"]}
    mars = pools["earth->mars"]
    assert mars["best_path"] == ["earth", "relay-l1", "relay-l2", "mars"]
    assert set(mars["required_coherence_s"]) == {"182", "250", "500", "750", "1000", "1338"}
    assert doc["max_distance_ls"]["earth->mars"]["Eu:YSO 6 h"] == "infeasible"
    assert mars["limits"][0]["max_distance_used_at_once_ls"] == pytest.approx(555.29, abs=0.01)
    hold = mars["at_scenario_distance"]["hold_s"]
    assert hold["total"] == pytest.approx(hold["build"] + hold["pool_wait"] + hold["transit"])
    png = out_png.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) < 200_000


def test_command_custom_coherence(pqms: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["feasibility", "--coherence", "1e5", "--coherence", "3600"]) == 0
    out = capsys.readouterr().out
    assert "100000 s" in out and "3600 s" in out and "Eu:YSO" not in out


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["feasibility", "/nonexistent/x.toml"], "no such file"),
        (["feasibility", "--json", "/nonexistent-dir/x.json"], "does not exist"),
        (["feasibility", "--coherence", "-5"], "must be > 0"),
        (["feasibility", "--coherence", "nan"], "must be > 0"),
        (["feasibility", "--bogus"], "unrecognized arguments"),
    ],
)
def test_command_bad_input(
    pqms: None, argv: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        code = cli.main(argv)
    except SystemExit as e:  # argparse errors exit from the parser
        code = int(e.code or 0)
    err = capsys.readouterr().err
    assert code == 2
    assert needle in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_command_bad_scenario_writes_nothing(
    pqms: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[scenario]\nname = 'x'\n[[node]]\nname = 'a'\n")
    out = tmp_path / "r.json"
    assert cli.main(["feasibility", str(bad), "--json", str(out)]) == 2
    assert "bad.toml" in capsys.readouterr().err
    assert not out.exists()


def test_plot_without_matplotlib_writes_nothing(
    pqms: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    out_json, out_png = tmp_path / "r.json", tmp_path / "r.png"
    code = cli.main(["feasibility", "--json", str(out_json), "--plot", str(out_png)])
    err = capsys.readouterr().err
    assert code == 2 and "pip install 'pqms[plot]'" in err and len(err.splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_output_into_a_directory_is_refused(
    pqms: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["feasibility", "--plot", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
