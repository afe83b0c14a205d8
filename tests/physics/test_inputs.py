"""The closed forms of :mod:`pqms_model.physics.werner` on the edges of their domain: out-of-range
inputs raise a ``ValueError`` naming the argument and its valid range; boundary values are exact.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

import pytest

from pqms_model.physics.werner import (
    decay_fidelity,
    fidelity_to_werner,
    purify_bbpssw,
    purify_dejmps,
    swap_fidelity,
    teleport_fidelity,
    werner_to_fidelity,
)

# --------------------------------------------------------------------------------------------
# Out-of-range inputs
# --------------------------------------------------------------------------------------------

NAN = float("nan")
GOOD = (0.9, 0.05, 0.03, 0.02)


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda: fidelity_to_werner(0.2), "f"),
        (lambda: fidelity_to_werner(1.0000001), "f"),
        (lambda: fidelity_to_werner(NAN), "f"),
        (lambda: werner_to_fidelity(-0.1), "w"),
        (lambda: werner_to_fidelity(1.5), "w"),
        (lambda: werner_to_fidelity(NAN), "w"),
        (lambda: decay_fidelity(0.1, 1.0, 1.0), "f"),
        (lambda: decay_fidelity(0.9, -1.0, 1.0), "elapsed_s"),
        (lambda: decay_fidelity(0.9, math.inf, 1.0), "elapsed_s"),
        (lambda: decay_fidelity(0.9, NAN, 1.0), "elapsed_s"),
        (lambda: decay_fidelity(0.9, 1.0, 0.0), "coherence_s"),
        (lambda: decay_fidelity(0.9, 1.0, -2.0), "coherence_s"),
        (lambda: decay_fidelity(0.9, 1.0, NAN), "coherence_s"),
        (lambda: swap_fidelity(1.2, 0.9), "f1"),
        (lambda: swap_fidelity(0.9, 0.0), "f2"),
        (lambda: swap_fidelity(0.9, 0.9, 0.1), "gate_fidelity"),
        (lambda: purify_bbpssw(0.2, 0.9), "f1"),
        (lambda: purify_bbpssw(0.9, 2.0), "f2"),
        (lambda: purify_dejmps((1.1, -0.1, 0.0, 0.0), GOOD), "c1"),
        (lambda: purify_dejmps(GOOD, (0.5, 0.5, 0.5, 0.5)), "c2"),
        (lambda: purify_dejmps(GOOD, (0.5, 0.5, 0.0)), "c2"),  # type: ignore[arg-type]
        (lambda: purify_dejmps(GOOD, (NAN, 0.5, 0.5, 0.0)), "c2"),
        (lambda: teleport_fidelity(0.0), "f"),
        (lambda: teleport_fidelity(NAN), "f"),
    ],
)
def test_out_of_range_raises(call: Callable[[], object], argument: str) -> None:
    with pytest.raises(ValueError, match=rf"^{argument}\b") as info:
        call()
    message = str(info.value)
    # names the valid range: an interval, the normalization, or the number of coefficients
    assert re.search(r"[\[(][^\])]*, [^\])]*[\])]|sum to 1|4 Bell-diagonal", message), message


def test_dejmps_with_zero_success_probability_raises() -> None:
    with pytest.raises(ValueError, match="success probability is 0"):
        purify_dejmps((0.5, 0.5, 0.0, 0.0), (0.0, 0.0, 0.5, 0.5))


@pytest.mark.parametrize("f", [0.25, 0.625, 0.85, 1.0])
def test_boundary_values(f: float) -> None:
    assert werner_to_fidelity(fidelity_to_werner(f)) == pytest.approx(f, abs=1e-15)
    assert decay_fidelity(f, 0.0, 1.0) == pytest.approx(f, abs=1e-15)
    assert decay_fidelity(f, 1e9, 1.0) == 0.25
    assert swap_fidelity(f, 1.0) == pytest.approx(f, abs=1e-15)
