"""The invariant registry (spec §5): ids, kinds, what holds at Init, and that every
invariant has a test that makes it fail and one where it holds.

For each id there is at least one ``test_<id>_detects_*`` that builds a state the predicate
rejects with a meaningful reason — reached by ``Model.step`` from Init, or a reached state
tampered with ``dataclasses.replace`` — and at least one ``test_<id>_holds_*`` on a reached state
where the predicate has something to check (usually a boundary: exactly the light time, exactly
the capacity, exactly the threshold), in the files of ``tests/invariants``.
``test_every_invariant_can_fail_and_hold`` keeps that list complete.
"""

from __future__ import annotations

import ast
from dataclasses import replace
from pathlib import Path

from pqms_model.invariants import INVARIANTS, InvariantKind, violations
from pqms_model.model.transition import Model
from pqms_model.protocol.state import MsgKind
from tests.support.builders import EARTH, MOON, POOL_EARTH_MOON, SCENARIO, Run

INVARIANT_TESTS = Path(__file__).parent
"""The folder whose ``test_*.py`` files hold the ``detects`` and ``holds`` tests."""


def _test_names() -> list[str]:
    """Names of the test functions in those files, read with ``ast`` (not imported: no test
    module imports another)."""
    out = []
    for f in sorted(INVARIANT_TESTS.glob("test_*.py")):
        tree = ast.parse(f.read_text(encoding="utf-8"))
        out += [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]
    return out


def test_registry_ids_kinds_and_sections() -> None:
    assert all(inv.id == key and inv.meaning.strip() for key, inv in INVARIANTS.items())
    kinds = {inv.id: inv.kind for inv in INVARIANTS.values()}
    assert kinds["type-ok"] is InvariantKind.TYPE
    assert kinds["message-light-bound"] is InvariantKind.LEMMA
    assert {"no-double-use", "fidelity-on-use", "causality"} <= {
        i for i, k in kinds.items() if k is InvariantKind.SAFETY
    }


def test_every_invariant_holds_at_init() -> None:
    m = Model(SCENARIO)
    assert all(inv.predicate(m, m.init()) is None for inv in INVARIANTS.values())


def test_violations_checks_safety_and_type_unless_told() -> None:
    r = Run()
    r.choose_route(POOL_EARTH_MOON, (EARTH, MOON))
    msg = r.msg(MsgKind.ROUTE)
    fast = replace(r.s, messages=r.s.messages.set(msg.id, replace(msg, arrive_us=msg.sent_us)))
    assert violations(r.m, fast) == []  # a lemma: not checked by default
    found = violations(r.m, fast, frozenset({InvariantKind.LEMMA}))
    assert [v.invariant for v in found] == ["message-light-bound"]
    assert str(found[0]).startswith("message-light-bound: message ")


def test_every_invariant_can_fail_and_hold() -> None:
    """For each registry id, the files in ``tests/invariants`` have a ``detects`` and a
    ``holds`` test."""
    names = _test_names()
    for inv in INVARIANTS:
        stem = "test_" + inv.replace("-", "_")
        assert any(n.startswith(stem + "_detects") for n in names), f"no detects test: {inv}"
        assert any(n.startswith(stem + "_holds") for n in names), f"no holds test: {inv}"
