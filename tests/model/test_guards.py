"""Guards of every action (spec §3 protocol, §4 environment) on the default mesh.

``test_<action>_guards`` runs that action's rejection cases (``tests/support/guard_cases_*.py``) and
checks the exception type, the action it names and a fragment of the reason.
``test_every_not_enabled_site_is_reached`` then proves the cases are complete: each
``raise NotEnabled`` in the rule modules is the site that raised in at least one case.
"""

from __future__ import annotations

import traceback
from pathlib import Path

import pytest

from pqms_model.errors import NotEnabled
from pqms_model.model.transition import Model
from pqms_model.protocol.actions import ACTION_TYPES
from tests.support import (
    guard_cases_environment,
    guard_cases_pairs,
    guard_cases_routing,
    guard_cases_uses,
)
from tests.support.builders import SCENARIO
from tests.support.model_cases import GuardCase, cases_in, check_rejected
from tests.support.rule_sources import not_enabled_calls, site

GUARDS = cases_in(guard_cases_routing, guard_cases_pairs, guard_cases_uses, guard_cases_environment)
"""Every guard case of the four case modules, per action name."""


def _cases(action: str) -> list[GuardCase]:
    return GUARDS[action]


@pytest.mark.parametrize("case", _cases("choose_route"), ids=str)
def test_choose_route_guards(case: GuardCase) -> None:
    check_rejected(case)


@pytest.mark.parametrize("case", _cases("drop_route"), ids=str)
def test_drop_route_guards(case: GuardCase) -> None:
    check_rejected(case)


@pytest.mark.parametrize("case", _cases("generate_link"), ids=str)
def test_generate_link_guards(case: GuardCase) -> None:
    check_rejected(case)


@pytest.mark.parametrize("case", _cases("receive"), ids=str)
def test_receive_guards(case: GuardCase) -> None:
    check_rejected(case)


@pytest.mark.parametrize("case", _cases("swap"), ids=str)
def test_swap_guards(case: GuardCase) -> None:
    check_rejected(case)


@pytest.mark.parametrize("case", _cases("purify"), ids=str)
def test_purify_guards(case: GuardCase) -> None:
    check_rejected(case)


@pytest.mark.parametrize("case", _cases("admit"), ids=str)
def test_admit_guards(case: GuardCase) -> None:
    check_rejected(case)


@pytest.mark.parametrize("case", _cases("expire"), ids=str)
def test_expire_guards(case: GuardCase) -> None:
    check_rejected(case)


@pytest.mark.parametrize("case", _cases("use_pair"), ids=str)
def test_use_pair_guards(case: GuardCase) -> None:
    check_rejected(case)


@pytest.mark.parametrize("case", _cases("deliver"), ids=str)
def test_deliver_guards(case: GuardCase) -> None:
    check_rejected(case)


@pytest.mark.parametrize("case", _cases("advance_time"), ids=str)
def test_advance_time_guards(case: GuardCase) -> None:
    check_rejected(case)


@pytest.mark.parametrize("case", _cases("link_down"), ids=str)
def test_link_down_guards(case: GuardCase) -> None:
    check_rejected(case)


@pytest.mark.parametrize("case", _cases("link_up"), ids=str)
def test_link_up_guards(case: GuardCase) -> None:
    check_rejected(case)


@pytest.mark.parametrize("case", _cases("crash"), ids=str)
def test_crash_guards(case: GuardCase) -> None:
    check_rejected(case)


@pytest.mark.parametrize("case", _cases("recover"), ids=str)
def test_recover_guards(case: GuardCase) -> None:
    check_rejected(case)


@pytest.mark.parametrize("case", _cases("delay_message"), ids=str)
def test_delay_message_guards(case: GuardCase) -> None:
    check_rejected(case)


def test_step_rejects_what_is_not_an_action() -> None:
    m = Model(SCENARIO)
    with pytest.raises(NotEnabled, match="not a pqms action"):
        m.step(m.init(), object())  # type: ignore[arg-type]


def test_every_action_has_guard_cases_and_a_guard_test() -> None:
    """Each action in ACTION_TYPES has rejection cases and its own ``test_<name>_guards``."""
    empty = [name for name, cases in GUARDS.items() if not cases]
    assert not empty, f"actions without guard cases: {empty}"
    missing = [name for name in ACTION_TYPES if f"test_{name}_guards" not in globals()]
    assert not missing, f"actions without a test_<name>_guards function: {missing}"


def _not_enabled_sites() -> dict[tuple[str, int], str]:
    """Every ``NotEnabled(...)`` in the model layer: (file, any line of it) -> site name."""
    sites = {}
    for path, node in not_enabled_calls():
        for line in range(node.lineno, (node.end_lineno or node.lineno) + 1):
            sites[(str(path), line)] = site(path, node.lineno)
    return sites


def test_every_not_enabled_site_is_reached() -> None:
    """Completeness of the guard cases: each ``raise NotEnabled`` in the rules (every conjunct
    of every guard, including the helpers ``pair``/``end``/``up``) is where some case raised."""
    sites = _not_enabled_sites()
    assert len(set(sites.values())) >= 40, "the rule modules should hold every guard conjunct"
    reached: set[str] = set()
    cases = [c for cs in GUARDS.values() for c in cs]
    for case in cases:
        e = case.reject()
        frame = traceback.extract_tb(e.__traceback__)[-1]
        where = sites.get((str(Path(frame.filename)), frame.lineno or 0))
        assert where is not None, f"{case.name} raised outside a known site: {frame}"
        reached.add(where)
    m = Model(SCENARIO)
    try:
        m.step(m.init(), object())  # type: ignore[arg-type]
    except NotEnabled as e:
        frame = traceback.extract_tb(e.__traceback__)[-1]
        reached.add(sites[(str(Path(frame.filename)), frame.lineno or 0)])
    missing = sorted(set(sites.values()) - reached)
    assert not missing, f"NotEnabled sites no guard case reaches: {missing}"
