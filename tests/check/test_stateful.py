"""The stateful invariant suite (spec §5) on the default mesh and on generated meshes.

``TestPool`` runs :class:`~pqms_model.check.machine.PoolMachine` on the embedded Earth / Moon / Mars
mesh, ``TestMesh`` on small random meshes (``tests/support/strategies.py``), ``TestEmbeddedFile``
through the public entry point :func:`~pqms_model.testing.invariant_suite` on the shipped
TOML file. Every rule is an action of the model; after every step every SAFETY and TYPE invariant
is checked.

Non-vacuity: ``TestEmbeddedFile`` fails unless every action fired and some delivered use came
within 15% of its threshold; the tests below also show that a suite in which nothing happens
fails, and that a planted bug is caught, shrunk and written as a trace that replays.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
import unittest
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import initialize, run_state_machine_as_test

from pqms_model.check.machine import PoolMachine, machine_for
from pqms_model.check.walk import Coverage, InvariantViolated
from pqms_model.protocol.actions import ACTION_TYPES
from pqms_model.protocol.mutants import Mutant
from pqms_model.protocol.scenario import DEFAULT_SCENARIO, load_default, parse_scenario_text
from pqms_model.testing import invariant_suite
from pqms_model.trace.files import TRACE_DIR_ENV
from pqms_model.trace.itf import replay_file
from tests.support.strategies import scenario_texts

_DEFAULT_TOML = resources.files("pqms_model.scenarios").joinpath(DEFAULT_SCENARIO)


class MeshMachine(PoolMachine):
    """The same machine on a generated mesh, drawn as TOML text (so a failure prints it)."""

    scenario = None

    @initialize(toml=scenario_texts())
    def load_mesh(self, toml: str) -> None:
        self.load(parse_scenario_text(toml, "<generated>"))


TestPool = PoolMachine.TestCase
TestMesh = MeshMachine.TestCase
TestEmbeddedFile = invariant_suite(str(_DEFAULT_TOML))


def test_every_action_is_a_rule_named_after_it() -> None:
    """Each action has a ``@rule`` method of its own name in ``PoolMachine``'s source, and that
    method takes an action of that name (it calls ``self.fire`` with its own name)."""
    source = inspect.getsource(PoolMachine)
    tree = ast.parse(textwrap.dedent(source)).body[0]
    assert isinstance(tree, ast.ClassDef)
    rules: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and any(
            isinstance(d, ast.Call) and getattr(d.func, "id", "") == "rule"
            for d in node.decorator_list
        ):
            fired = [
                c.args[0].value
                for c in ast.walk(node)
                if isinstance(c, ast.Call)
                and getattr(c.func, "attr", "") == "fire"
                and isinstance(c.args[0], ast.Constant)
            ]
            assert len(fired) == 1, f"rule {node.name} fires {fired}"
            rules[node.name] = fired[0]
    assert sorted(rules) == sorted(ACTION_TYPES)
    assert all(name == fired for name, fired in rules.items()), rules


def test_a_run_records_what_fired() -> None:
    cov = Coverage()
    machine = machine_for(load_default(), coverage=cov, write_traces=False)
    run_state_machine_as_test(machine, settings=settings(max_examples=5, stateful_step_count=30))
    assert cov.runs >= 5 and cov.steps > 0
    assert cov.fired["choose_route"] > 0  # nothing can happen on the default mesh without one


_UNREACHABLE = """
[scenario]
name = "hopeless"
[[node]]
name = "a"
kind = "endpoint"
memory_capacity = 4
coherence_s = 100.0
[[node]]
name = "b"
kind = "endpoint"
memory_capacity = 4
coherence_s = 100.0
[[link]]
a = "a"
b = "b"
distance_km = 1000.0
generation_rate_hz = 1.0
initial_fidelity = 0.9
[[pool]]
a = "a"
b = "b"
target_size = 2
threshold_fidelity = 0.95
max_wait_s = 10.0
"""


def test_a_suite_in_which_nothing_is_delivered_fails(tmp_path: Path) -> None:
    path = tmp_path / "hopeless.toml"
    path.write_text(_UNREACHABLE, encoding="utf-8")
    suite = invariant_suite(path, settings=settings(max_examples=10, stateful_step_count=20))
    result = unittest.TestResult()
    suite("test_invariants").run(result)
    assert len(result.failures) == 1
    message = result.failures[0][1]
    assert "vacuous suite" in message and "use_pair" in message and "within 15%" in message


def test_invariant_suite_rejects_a_bad_file_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[scenario]\nname = "x"\ncolour = 1\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.toml: scenario\.colour: unknown key"):
        invariant_suite(path)


def test_a_planted_bug_is_caught_and_its_trace_replays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TRACE_DIR_ENV, str(tmp_path))
    machine = machine_for(load_default(), Mutant.EARLY_ADMIT)
    quick = settings(
        max_examples=200,
        stateful_step_count=40,
        database=None,
        phases=(Phase.generate, Phase.shrink),
        suppress_health_check=list(HealthCheck),
    )
    with pytest.raises(InvariantViolated) as caught:
        run_state_machine_as_test(machine, settings=quick)
    assert caught.value.invariant in Mutant.EARLY_ADMIT.breaks
    (trace,) = tmp_path.glob("*.itf.json")
    assert trace.name == "earth-moon-mars-early-admit-causality.itf.json"
    result = replay_file(trace, Mutant.EARLY_ADMIT)
    assert result.violation is not None and result.violation.invariant == "causality"
    assert result.steps == len(caught.value.actions) <= 10  # shrunk
