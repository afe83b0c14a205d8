"""The simulator and ``pqms simulate`` (spec/simulator.md §6, §7).

Acceptance on the default scenario, determinism, ``--check``, bad input, plots, the rate bound.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from pqms_model.cli import simulate
from pqms_model.physics.cost import US_PER_S
from pqms_model.protocol.actions import ChooseRoute
from pqms_model.protocol.mutants import Mutant
from pqms_model.protocol.scenario import ScenarioError, load_default
from pqms_model.sim.bounds import max_flow_bound_hz
from pqms_model.sim.pool_policy import Mode, PolicyConfig
from pqms_model.sim.simulator import SimulationViolation, Simulator, run_mode
from pqms_model.trace.itf import replay_file

SC = load_default()
HOUR_US = 3600 * US_PER_S


def _args(**kw: Any) -> argparse.Namespace:
    base: dict[str, Any] = {
        "scenario": None,
        "mode": "both",
        "duration": "600",
        "seed": "0",
        "json": None,
        "plot": None,
        "check": False,
        "out": None,
        "mutant": None,
        "jobs": "2",
        "progress": False,
    }
    base.update(kw)
    return argparse.Namespace(**base)


@pytest.fixture(scope="module")
def hour() -> dict[str, dict[str, Any]]:
    """One simulated hour of the default scenario in both modes (the acceptance run)."""
    return {m.value: run_mode(SC, m, HOUR_US, seed=1).summary for m in Mode}


def test_proactive_serves_from_the_pool_at_once(hour: dict[str, dict[str, Any]]) -> None:
    pro = hour["proactive"]
    assert pro["setup_latency_s"]["p50"] == 0.0  # local processing only
    assert pro["setup_latency_s"]["p95"] == 0.0
    assert pro["pool_hit_rate"] >= 0.95
    assert pro["per_pool"]["earth->moon"]["pool_hit_rate"] >= 0.98


def test_reactive_waits_of_the_order_of_the_light_time(hour: dict[str, dict[str, Any]]) -> None:
    rea = hour["reactive"]
    assert rea["pool_hit_rate"] < 0.05
    for name, pool in rea["per_pool"].items():
        light_s = pool["light_time_s"]
        # herald (and swap) messages must come back: at least one light time, a few at most
        assert light_s <= pool["setup_latency_s"]["p50"] <= 4 * light_s, name


def test_no_delivery_before_light_time_and_no_use_below_threshold(
    hour: dict[str, dict[str, Any]],
) -> None:
    for mode, m in hour.items():
        assert m["signal_latency_over_light_time"]["min"] >= 1.0, mode
        assert m["failures"] == 0, mode
        assert m["deliveries"] == m["requests"], mode
        for name, pool in m["per_pool"].items():
            assert pool["fidelity_at_use_min"] >= pool["threshold_fidelity"], (mode, name)


def test_the_bound_caps_what_is_achieved(hour: dict[str, dict[str, Any]]) -> None:
    for m in hour.values():
        for pool in m["per_pool"].values():
            assert 0 < pool["achieved_fraction"] < 1
            assert pool["achieved_rate_hz"] <= pool["max_flow_bound_hz"]


def test_every_invariant_holds_on_every_step_in_both_modes() -> None:
    for mode in Mode:
        sim = Simulator(SC, PolicyConfig(mode=mode), seed=2, check=True)  # raises on violation
        metrics = sim.run(900 * US_PER_S)
        assert metrics.events > 1000 and len(sim.actions) == metrics.events
        assert sum(p.deliveries for p in metrics.pools) > 100


def test_max_flow_bound_formulation() -> None:
    # earth->moon: the 10 Hz direct link plus the relay path, which relay-l1's memory limits
    # (12 qubits, 2 per pair, each held >= one 60.7 s light time): 12 / (2 * 60.7) Hz
    l1 = 12 / (2 * SC.light_us("earth", "relay-l1") / US_PER_S)
    assert max_flow_bound_hz(SC, 0) == pytest.approx(10 + l1, rel=1e-6)
    assert max_flow_bound_hz(SC, 1) == pytest.approx(l1, rel=1e-6)
    assert max_flow_bound_hz(SC, 1, purification_rounds=2) == pytest.approx(l1 / 4, rel=1e-6)


# --- the command ---------------------------------------------------------------------------


def _strip_wall(text: str) -> Any:
    doc = json.loads(text)
    for m in doc["modes"].values():
        assert m.pop("wall_s") >= 0
    return doc


def test_same_seed_same_json_except_wall_clock(tmp_path: Path, capsys: Any) -> None:
    a, b, c = tmp_path / "a.json", tmp_path / "b.json", tmp_path / "c.json"
    assert simulate.run(_args(seed="5", json=str(a))) == 0
    assert simulate.run(_args(seed="5", json=str(b), jobs="1")) == 0  # in-process, one by one
    assert simulate.run(_args(seed="6", json=str(c))) == 0
    ta, tb = a.read_text(), b.read_text()
    assert _strip_wall(ta) == _strip_wall(tb)
    strip = [ln for ln in ta.splitlines() if "wall_s" not in ln]
    assert strip == [ln for ln in tb.splitlines() if "wall_s" not in ln]  # byte for byte
    assert _strip_wall(ta) != _strip_wall(c.read_text())
    doc = json.loads(ta)
    assert set(doc) == {"schema", "scenario", "seed", "duration_s", "modes"}
    assert set(doc["modes"]) == {"proactive", "reactive"}
    assert set(doc["modes"]["proactive"]) == {
        "requests",
        "deliveries",
        "failures",
        "setup_latency_s",
        "signal_latency_over_light_time",
        "fidelity_at_use",
        "pool_hit_rate",
        "discarded_pairs",
        "memory_utilisation",
        "events",
        "wall_s",
        "per_pool",
    }
    out = capsys.readouterr().out
    assert "proactive:" in out and "reactive:" in out and "bound/s" in out


def test_check_writes_a_replayable_counterexample(tmp_path: Path, capsys: Any) -> None:
    out = tmp_path / "cx"
    args = _args(
        mode="proactive", duration="60", seed="1", check=True, out=str(out), mutant="instant-effect"
    )
    assert simulate.run(args) == 1
    (trace,) = out.iterdir()
    assert trace.name == "earth-moon-mars-instant-effect-simulate-proactive-causality.itf.json"
    result = replay_file(trace, Mutant.INSTANT_EFFECT)
    assert result.violation is not None and result.violation.invariant == "causality"
    assert result.step == result.steps  # the last step is the violating one
    assert "violates causality" in capsys.readouterr().err


def test_simulation_violation_carries_the_actions() -> None:
    sim = Simulator(SC, seed=1, check=True, mutant=Mutant.INSTANT_EFFECT)
    with pytest.raises(SimulationViolation) as err:
        sim.run(60 * US_PER_S)
    assert err.value.violation.invariant == "causality"
    assert len(err.value.actions) == sim.metrics.events


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"duration": "-1"}, "--duration: must be > 0"),
        ({"duration": "soon"}, "--duration: not a number"),
        ({"duration": "inf"}, "--duration: must be"),
        ({"seed": "x"}, "--seed: not an integer"),
        ({"seed": "-3"}, "--seed: must be"),
        ({"jobs": "0"}, "--jobs: must be"),
        ({"mutant": "nope"}, "--mutant: unknown mutant"),
        ({"json": "/nonexistent-dir/x.json"}, "does not exist"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(
    tmp_path: Path, kw: dict[str, Any], message: str
) -> None:
    with pytest.raises(simulate.SimulateError, match=message) as err:
        simulate.run(_args(**kw))
    assert "\n" not in str(err.value)
    assert list(tmp_path.iterdir()) == []


def test_bad_output_paths(tmp_path: Path) -> None:
    afile = tmp_path / "file"
    afile.write_text("x")
    with pytest.raises(simulate.SimulateError, match="is a directory"):
        simulate.run(_args(json=str(tmp_path)))
    with pytest.raises(simulate.SimulateError, match="not a directory"):
        simulate.run(_args(plot=str(afile)))
    with pytest.raises(ScenarioError, match="no such file"):
        simulate.run(_args(scenario=str(tmp_path / "missing.toml")))


def test_plot_without_matplotlib_asks_for_the_extra(monkeypatch: Any, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    with pytest.raises(simulate.SimulateError, match=r"pip install 'pqms\[plot\]'"):
        simulate.run(_args(plot=str(tmp_path / "plots")))
    assert not (tmp_path / "plots").exists()


def test_plots_are_written(tmp_path: Path) -> None:
    out = tmp_path / "plots"
    assert simulate.run(_args(duration="300", plot=str(out))) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "fidelity_at_use.png",
        "pool_occupancy.png",
        "setup_latency_cdf.png",
        "signal_latency.png",
    ]
    for p in out.iterdir():
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 10_000


def test_reactive_routes_are_per_session() -> None:
    sim = Simulator(SC, PolicyConfig(mode=Mode.REACTIVE), seed=3, check=True)
    sim.run_until(120 * US_PER_S)
    earth_moon = [a for a in sim.actions if isinstance(a, ChooseRoute) and a.pool == 0]
    assert len(earth_moon) >= 5  # a new session (route) after each idle spell
    assert sim.metrics.pools[0].requests == len(sim.metrics.pools[0].setup_us) > 30
    sim.stop_traffic(withdraw=True)
    sim.run_until(1200 * US_PER_S)
    assert not any(r.active for r in sim.state.routes.values())  # sessions closed, retired
