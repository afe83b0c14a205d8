"""Scenario loading (spec §1): the default mesh, and strict rejection of every bad input."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from pqms_model.physics.cost import fidelity_cost_nnp, threshold_cost_nnp
from pqms_model.protocol.scenario import (
    C_KM_PER_S,
    NodeKind,
    ScenarioError,
    default_scenario_text,
    load_default,
    load_scenario,
    parse_scenario_text,
)

REPO = Path(__file__).resolve().parents[2]

MINIMAL = """
[scenario]
name = "tiny"

[[node]]
name = "a"
kind = "endpoint"
memory_capacity = 2
coherence_s = 10.0

[[node]]
name = "b"
kind = "endpoint"
memory_capacity = 2
coherence_s = 10.0

[[link]]
a = "a"
b = "b"
distance_km = 1000.0
generation_rate_hz = 5.0
initial_fidelity = 0.99

[[pool]]
a = "a"
b = "b"
target_size = 1
threshold_fidelity = 0.9
max_wait_s = 1.0
"""


def test_default_scenario_is_the_whitepaper_mesh() -> None:
    s = load_default()
    assert s.name == "earth-moon-mars"
    assert {"earth", "moon", "mars"} <= set(s.node_names)
    assert any(n.kind is NodeKind.RELAY for n in s.nodes)
    # Earth-Moon 384 400 km = 1.28 light-seconds; Earth-Mars at closest approach 182 ls.
    assert s.light_us("earth", "moon") == math.ceil(384_400 / C_KM_PER_S * 1e6)
    assert 181.5e6 < s.light_us("earth", "mars") < 182.5e6
    assert s.light_us("earth", "mars") == s.light_us("mars", "earth")
    assert [(p.a, p.b) for p in s.pools] == [("earth", "moon"), ("earth", "mars"), ("moon", "mars")]
    assert s.pools[0].threshold_nnp == threshold_cost_nnp(0.95)
    assert s.links[0].initial_cost_nnp == fidelity_cost_nnp(0.99)
    assert s.swap_gate_cost_nnp == 0


def test_default_scenario_is_shipped_once_inside_the_package() -> None:
    copies = [p for p in REPO.rglob("earth-moon-mars.toml") if ".venv" not in p.parts]
    copies = [p for p in copies if "site-packages" not in str(p) and "build" not in p.parts]
    assert copies == [REPO / "pqms_model" / "scenarios" / "earth-moon-mars.toml"]
    assert default_scenario_text() == copies[0].read_text(encoding="utf-8")


def test_minimal_scenario_loads_and_rounds_safely() -> None:
    s = parse_scenario_text(MINIMAL, "tiny.toml")
    assert s.node("a").coherence_us == 10_000_000
    assert s.light_us("a", "b") == math.ceil(1000 / C_KM_PER_S * 1e6)
    assert s.pools[0].max_wait_us == 1_000_000
    assert s.link_between("b", "a") is s.links[0]
    assert s.pool_for("a", "b") is s.pools[0] and s.pool_for("b", "a") is None


def _bad(text: str, field_fragment: str, reason_fragment: str) -> None:
    with pytest.raises(ScenarioError) as info:
        parse_scenario_text(text, "bad.toml")
    msg = str(info.value)
    assert "\n" not in msg
    assert msg.startswith("bad.toml: ")
    assert field_fragment in info.value.field, msg
    assert reason_fragment in info.value.reason, msg


@pytest.mark.parametrize(
    ("old", "new", "field_fragment", "reason_fragment"),
    [
        ('name = "tiny"', 'name = "tiny"\ncolour = 3', "scenario.colour", "unknown key"),
        ("coherence_s = 10.0", "coherence_s = -1.0", "node[0].coherence_s", "> 0"),
        ("coherence_s = 10.0", 'coherence_s = "long"', "node[0].coherence_s", "a number"),
        ("memory_capacity = 2", "memory_capacity = 0", "node[0].memory_capacity", "1..100000"),
        ("memory_capacity = 2", "memory_capacity = 2.5", "node[0].memory_capacity", "integer"),
        ('kind = "endpoint"', 'kind = "satellite"', "node[0].kind", "valid: endpoint, relay"),
        ("distance_km = 1000.0", "distance_km = 0.0", "link[0].distance_km", "> 0"),
        (
            "initial_fidelity = 0.99",
            "initial_fidelity = 0.25",
            "link[0].initial_fidelity",
            "(0.25, 1]",
        ),
        (
            "initial_fidelity = 0.99",
            "initial_fidelity = 1.5",
            "link[0].initial_fidelity",
            "(0.25, 1]",
        ),
        ("initial_fidelity = 0.99", "initial_fidelity = nan", "link[0].initial_fidelity", "finite"),
        (
            "threshold_fidelity = 0.9",
            "threshold_fidelity = 0.1",
            "pool[0].threshold_fidelity",
            "fidelity",
        ),
        ("target_size = 1", "target_size = -3", "pool[0].target_size", "1..10000"),
        ("max_wait_s = 1.0", "max_wait_s = 0", "pool[0].max_wait_s", "> 0"),
        ('[[link]]\na = "a"', '[[link]]\na = "z"', "link[0].a", "unknown node 'z'"),
        ('[[pool]]\na = "a"\nb = "b"', '[[pool]]\na = "a"\nb = "a"', "pool[0].b", "two different"),
        (
            "generation_rate_hz = 5.0",
            "generation_rate_hz = true",
            "link[0].generation_rate_hz",
            "a number",
        ),
    ],
)
def test_bad_field_is_named(old: str, new: str, field_fragment: str, reason_fragment: str) -> None:
    assert old in MINIMAL
    _bad(MINIMAL.replace(old, new, 1), field_fragment, reason_fragment)


def test_structural_problems_are_named() -> None:
    _bad("", "scenario", "empty")
    _bad("[scenario\nname=", "toml", "not valid TOML")
    _bad(MINIMAL + "\n[extra]\nx = 1\n", "extra", "unknown table")
    _bad(MINIMAL.replace('[scenario]\nname = "tiny"', "[scenario]"), "scenario.name", "missing")
    dup_node = '\n[[node]]\nname = "a"\nkind = "relay"\nmemory_capacity = 1\ncoherence_s = 1.0\n'
    _bad(MINIMAL + dup_node, "node[2].name", "duplicate")
    dup_link = '\n[[link]]\na = "b"\nb = "a"\ndistance_km = 1.0\ngeneration_rate_hz = 1.0\n'
    _bad(MINIMAL + dup_link + "initial_fidelity = 0.9\n", "link[1]", "duplicate link")


def test_pool_without_path_and_relay_pool_are_rejected() -> None:
    island = '\n[[node]]\nname = "c"\nkind = "endpoint"\nmemory_capacity = 1\ncoherence_s = 1.0\n'
    pool_c = '\n[[pool]]\na = "a"\nb = "c"\ntarget_size = 1\nthreshold_fidelity = 0.9\n'
    pool_c += "max_wait_s = 1.0\n"
    _bad(MINIMAL + island + pool_c, "pool[1]", "no path of links connects a and c")
    relay = MINIMAL.replace('name = "b"\nkind = "endpoint"', 'name = "b"\nkind = "relay"')
    _bad(relay, "pool[0].b", "is a relay")


def test_traffic_must_match_a_directed_pool() -> None:
    ok = MINIMAL + '\n[[traffic]]\na = "a"\nb = "b"\nrate_hz = 0.5\n'
    assert parse_scenario_text(ok, "t.toml").traffic[0].rate_hz == 0.5
    _bad(MINIMAL + '\n[[traffic]]\na = "b"\nb = "a"\nrate_hz = 0.5\n', "traffic[0]", "no [[pool]]")


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="no such file"):
        load_scenario(tmp_path / "missing.toml")
    with pytest.raises(ScenarioError, match="is a directory"):
        load_scenario(tmp_path)
    binary = tmp_path / "bin.toml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ScenarioError, match=r"bin\.toml: file: cannot be read"):
        load_scenario(binary)
