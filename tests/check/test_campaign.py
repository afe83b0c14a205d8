"""The property campaign behind ``pqms check`` (:mod:`pqms_model.check.campaign`).

Every mutant is refuted with a violation of an invariant it is registered to break; the
protocol itself holds and the campaign is not vacuous; the same seed gives the same trace bytes
in any process; shrinking renumbers ids; the steering never hides an enabled action.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from pqms_model.check.campaign import checked_invariants, run_campaign, walk_step
from pqms_model.check.shrink import shrink
from pqms_model.check.steering import Steering
from pqms_model.check.walk import Coverage, InvariantViolated, Walk
from pqms_model.invariants import violations
from pqms_model.model.transition import Model
from pqms_model.protocol.actions import (
    Admit,
    AdvanceTime,
    ChooseRoute,
    GenerateLink,
    LinkDown,
    LinkUp,
    Receive,
)
from pqms_model.protocol.mutants import Mutant
from pqms_model.protocol.scenario import load_default, parse_scenario_text
from pqms_model.protocol.state import Schedule
from pqms_model.trace.itf import build_trace, dumps, replay_doc

DEFAULT = load_default()


@pytest.mark.parametrize("mutant", list(Mutant), ids=lambda m: m.key)
def test_every_mutant_is_refuted_with_an_invariant_it_breaks(mutant: Mutant) -> None:
    result = run_campaign(DEFAULT, mutant, seed=0)
    assert result.verdict == "violated", result.reason
    (found,) = result.counterexamples
    assert found.invariant in mutant.breaks, f"{mutant.key} broke {found.invariant}"
    assert 1 <= found.length <= 30
    doc = build_trace(Model(DEFAULT, mutant), found.actions, seed=0, invariant=found.invariant)
    again = replay_doc(doc, "<campaign>", mutant)
    assert again.violation is not None and again.violation.invariant == found.invariant
    assert again.step == found.length


def test_the_protocol_holds_and_the_campaign_is_not_vacuous() -> None:
    result = run_campaign(DEFAULT, seed=0, rounds=3)
    assert result.verdict == "hold", result.reason
    assert [r.status for r in result.invariants] == ["hold"] * len(checked_invariants())
    assert {r.engine for r in result.invariants} == {"walks"}
    assert result.coverage.problems() == [], result.coverage.summary()


def test_same_seed_same_trace_in_any_process(tmp_path: Path) -> None:
    """Different hash seeds, and one process that loaded other modules first (Hypothesis mixes
    literals of loaded modules into its draws unless the campaign switches that off)."""
    outs = []
    for hash_seed, preload in (
        ("1", ""),
        ("2", "import json, tomllib, pqms_model.feasibility.coherence; "),
    ):
        out = tmp_path / f"run-{hash_seed}"
        code = (
            f"{preload}import sys; from pqms_model.cli.main import main; "
            f"sys.exit(main(['check', '--mutant', 'early-admit', '--out', {str(out)!r}]))"
        )
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True)
        assert done.returncode == 1, done.stderr.decode()
        (trace,) = out.glob("*.itf.json")
        outs.append(trace.read_bytes())
    assert outs[0] == outs[1]
    first = run_campaign(DEFAULT, Mutant.EARLY_ADMIT, seed=0).counterexamples[0]
    doc = build_trace(Model(DEFAULT, Mutant.EARLY_ADMIT), first.actions, seed=0,
                      invariant=first.invariant, engine="walks")  # fmt: skip
    assert dumps(doc).encode() == outs[0]


def test_shrinking_drops_noise_and_renumbers_ids() -> None:
    model = Model(DEFAULT, Mutant.EARLY_ADMIT)
    noisy = [
        LinkDown(link=3),  # makes messages (ids 1-3) that later ids must skip
        ChooseRoute(pool=0, path=("earth", "moon"), schedule=Schedule.SEQUENTIAL),  # route 4
        LinkUp(link=3),
        AdvanceTime(dt_us=1_000_000),
        AdvanceTime(dt_us=282_221),
        Receive(msg=5),  # the route reaches the Moon base
        GenerateLink(route=4, hop=0),
        GenerateLink(route=4, hop=0),
    ]
    s = model.init()
    for a in noisy:
        s = model.step(s, a)
    pair = max(s.pairs)  # the second pair: its earth half is pending
    actions = (*noisy, Admit(pair=pair, node="earth"))
    s = model.step(s, actions[-1])
    assert violations(model, s)[0].invariant == "causality"
    small = shrink(model, actions, "causality")
    assert [a.name for a in small.actions] == [
        "choose_route", "advance_time", "receive", "generate_link", "admit",
    ]  # fmt: skip
    assert small.actions[1] == AdvanceTime(dt_us=1_282_221)  # the two time steps merged
    assert small.actions[2] == Receive(msg=2)
    assert small.actions[4] == Admit(pair=3, node="earth")
    assert small.times_us == (0, 0, 1_282_221, 1_282_221, 1_282_221)


@pytest.mark.parametrize("mutant", [None, Mutant.EARLY_ADMIT, Mutant.DOUBLE_SWAP])
def test_steering_never_hides_an_enabled_action(mutant: Mutant | None) -> None:
    model = Model(DEFAULT, mutant)
    rng = random.Random(7)
    checked = 0
    for walk_no in range(6):
        walk = Walk(model, Coverage(), faults=3, focus=walk_no % 3)
        try:
            for _ in range(60):
                s = walk.state
                offered = {a for cands in Steering(model).candidates(s).values() for a in cands}
                enabled = set(model.enabled(s))
                assert enabled <= offered, enabled - offered
                checked += len(enabled)
                walk_step(walk, rng.randrange(256), rng.randrange(256), rng.randrange(1, 10**9))
        except InvariantViolated:
            pass
    assert checked > 500


def test_no_time_no_verdict() -> None:
    result = run_campaign(DEFAULT, budget_s=0.0)
    assert result.verdict == "inconclusive" and result.rounds_done == 0
    assert "budget" in result.reason
    assert {r.status for r in result.invariants} == {"inconclusive"}
    with pytest.raises(ValueError, match="budget"):
        run_campaign(DEFAULT, budget_s=-1.0)


def test_a_campaign_that_delivers_nothing_is_inconclusive() -> None:
    text = DEFAULT.toml_text.replace("initial_fidelity = 0.99", "initial_fidelity = 0.9")
    hopeless = parse_scenario_text(text, "<hopeless>")
    result = run_campaign(hopeless, seed=0, rounds=1, runs_per_round=4, steps_per_walk=40)
    assert result.verdict == "inconclusive"
    assert result.reason.startswith("vacuous")


def test_result_json_has_the_documented_shape() -> None:
    result = run_campaign(DEFAULT, Mutant.ROUTE_THROUGH_DOWN, seed=0)
    doc = result.as_json({"route-believed-up": "x.itf.json"})
    assert set(doc) == {"verdict", "invariants", "counterexamples", "elapsed_s"}
    assert doc["verdict"] == "violated"
    assert all(set(i) == {"id", "status", "engine"} for i in doc["invariants"])
    (cx,) = doc["counterexamples"]
    assert cx["invariant"] == "route-believed-up" and cx["trace"] == "x.itf.json"
    assert cx["length"] == len(result.counterexamples[0].actions)
