"""The invariant suite on your own scenario (README): :func:`invariant_suite`.

It runs the Hypothesis machine (:class:`~pqms_model.check.machine.PoolMachine`), then the steered
walks of ``pqms check`` (:func:`~pqms_model.check.campaign.run_campaign`), checking every
invariant after every step of both::

    from pqms_model.testing import invariant_suite

    TestMyMesh = invariant_suite("my-mesh.toml")  # a unittest.TestCase class pytest collects
"""

from __future__ import annotations

import os
import re
import unittest
from pathlib import Path

from hypothesis import settings as Settings
from hypothesis.stateful import run_state_machine_as_test

from pqms_model.check.campaign import RUNS_PER_ROUND, run_campaign
from pqms_model.check.machine import machine_for
from pqms_model.check.walk import Coverage
from pqms_model.model.transition import Model
from pqms_model.protocol.mutants import Mutant
from pqms_model.protocol.scenario import load_scenario
from pqms_model.trace.files import TRACE_DIR_ENV, write_trace

__all__ = ["invariant_suite"]


def invariant_suite(
    path: str | Path,
    *,
    mutant: str | None = None,
    settings: Settings | None = None,
    require_coverage: bool = True,
) -> type[unittest.TestCase]:
    """A ``unittest.TestCase`` class that runs the invariant suite on the scenario at ``path``.

    Its test runs :class:`~pqms_model.check.machine.PoolMachine` under the active Hypothesis
    profile (or ``settings``), then the steered walks of ``pqms check`` (one round per 50
    examples of the profile), checking every invariant after every step of both. It fails with
    the violated invariant's id and writes the shrunk trace to ``$PQMS_TRACE_DIR``. With
    ``require_coverage`` it also fails unless, over both engines, every action fired and some
    delivered use came within 15% of its threshold: a suite in which nothing happens is no
    pass. A bad scenario file fails at collection, naming the file and the field.
    """
    scenario = load_scenario(path)
    mut = Mutant.parse(mutant) if mutant is not None else None
    title = re.sub(r"\W+", "", scenario.name.title()) or "Scenario"

    def test_invariants(self: unittest.TestCase) -> None:
        chosen = settings or Settings(deadline=None)
        machine_cov = Coverage()
        machine = machine_for(scenario, mut, coverage=machine_cov, name=f"{title}Machine")
        run_state_machine_as_test(machine, settings=chosen)
        rounds = max(1, chosen.max_examples // 50)
        walks = run_campaign(scenario, mut, rounds=rounds, runs_per_round=RUNS_PER_ROUND)
        for c in walks.counterexamples:
            where = os.environ.get(TRACE_DIR_ENV) or "counterexamples"
            written = write_trace(Model(scenario, mut), c.actions, c.invariant, where)
            self.fail(f"{c.invariant} violated after {c.length} steps (trace: {written}):\n"
                      + "\n".join(c.lines()))  # fmt: skip
        if require_coverage:
            both = machine_cov.merged(walks.coverage)
            detail = f"machine: {machine_cov.summary()}; walks: {walks.coverage.summary()}"
            self.assertEqual(both.problems(), [], f"vacuous suite on {path}: {detail}")

    doc = f"Invariant suite on {path} ({scenario.name}{', mutant ' + mut.key if mut else ''})."
    attrs = {"__doc__": doc, "test_invariants": test_invariants}
    return type(f"Test{title}", (unittest.TestCase,), attrs)
