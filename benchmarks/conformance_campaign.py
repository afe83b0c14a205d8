"""Long conformance campaign (spec/proofs.md §4), run by hand, not in CI (~3 min on 2 cores).

    python benchmarks/conformance_campaign.py

Runs the model's unit tests (``tests/test_model_*.py``, ``tests/test_invariants_*.py``) with every
``Model.step`` call also checked against the Z3 encoding
(``pqms_model.proofs.conformance.check_step``): enabledness and the post-state must agree. Prints
the number of steps checked and every mismatch; exits 1 on any.
"""

from __future__ import annotations

import collections
import glob
import os
import sys
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import pytest

from pqms_model.model.transition import Model
from pqms_model.proofs.conformance import check_step
from pqms_model.proofs.encoding.consts import Consts

_step = Model.step
_consts: dict[int, tuple[Model, Consts]] = {}
mismatches: collections.Counter[str] = collections.Counter()
checked = [0]
_inside = [False]  # check_step runs Model.step itself: check the tests' calls only


def _checked_step(self: Model, s: Any, a: Any) -> Any:
    if _inside[0]:
        return _step(self, s, a)
    _inside[0] = True
    try:
        _check(self, s, a)
    finally:
        _inside[0] = False
    return _step(self, s, a)


def _check(self: Model, s: Any, a: Any) -> None:
    if hasattr(a, "name"):  # tests also pass non-actions, to test the model's rejection
        entry = _consts.get(id(self))
        if entry is None or entry[0] is not self:
            entry = _consts[id(self)] = (self, Consts(self))
        found = check_step(self, entry[1], s, a)
        checked[0] += 1
        if found is not None:
            mismatches[found] += 1


def main() -> int:
    Model.step = _checked_step  # type: ignore[method-assign]
    files = sorted(glob.glob("tests/test_model_*.py") + glob.glob("tests/test_invariants_*.py"))
    code = pytest.main(["-q", "-p", "no:cacheprovider", *files])
    print(f"conformance: {checked[0]} model steps checked, {sum(mismatches.values())} mismatches")
    for text, n in mismatches.most_common():
        print(f"  {n} x {text}")
    return 1 if mismatches or code else 0


if __name__ == "__main__":
    raise SystemExit(main())
