"""Protocol settings and mutants (spec §6): each mutant is the correct protocol with its planted
choices, and the model runs exactly that record."""

from __future__ import annotations

import dataclasses

import pytest

from pqms_model.model.transition import Model
from pqms_model.protocol.mutants import Mutant
from pqms_model.protocol.settings import CORRECT, Protocol, differences
from tests.support.builders import SCENARIO


def test_the_correct_protocol_is_the_default_record() -> None:
    assert Protocol() == CORRECT
    assert Model(SCENARIO).protocol == CORRECT
    assert differences(CORRECT) == {}


@pytest.mark.parametrize("mutant", list(Mutant), ids=lambda m: m.key)
def test_each_mutant_changes_some_choice_and_the_model_runs_it(mutant: Mutant) -> None:
    diff = mutant.differences()
    assert diff, f"{mutant.key} plants no change"
    assert Model(SCENARIO, mutant).protocol is mutant.protocol
    for name, (correct, planted) in diff.items():
        assert getattr(CORRECT, name) == correct and getattr(mutant.protocol, name) == planted


def test_no_two_mutants_are_the_same_protocol() -> None:
    protocols = [m.protocol for m in Mutant]
    assert len(set(protocols)) == len(protocols)


def test_every_choice_is_planted_by_some_mutant() -> None:
    """A choice no mutant changes is a choice no checker is shown to depend on."""
    planted = {name for m in Mutant for name in m.differences()}
    assert planted == {f.name for f in dataclasses.fields(Protocol)}
