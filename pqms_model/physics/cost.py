"""The integer core: log-Werner cost in nano-nepers and time in microseconds (spec §1.2).

A Werner pair with parameter ``w`` has *log-Werner cost* ``c = -ln w``. Depolarizing memory and
entanglement swapping are multiplicative in ``w`` (see :mod:`pqms_model.physics.werner`), so in
cost they are additive: holding a half for ``dt`` at a node with coherence time ``T`` adds ``dt /
T``; a swap adds the two input costs. The protocol core therefore needs only integer addition and
comparison, which keeps guards exact and the Z3 encoding in linear arithmetic.

Rounding direction (the one rule that makes the integer core safe): every *cost* is rounded **up**
and every *threshold* is rounded **down**, so ``cost_nnp <= threshold_nnp`` implies that the exact
fidelity is at least the exact threshold fidelity. A check is never optimistic; it may reject a
pair whose exact fidelity lies within a few nano-nepers above the threshold (the documented
sliver, :data:`SLIVER_NNP_PER_OP`).

Examples
--------
>>> threshold_cost_nnp(0.9)
143100843
>>> werner_cost_nnp(1.0)
0
>>> decay_cost_nnp(1_000_000, 1_000_000)   # hold one second at T = 1 s: one neper
1000000000
>>> cost_to_fidelity(threshold_cost_nnp(0.9)) >= 0.9
True
"""

from __future__ import annotations

import math
from fractions import Fraction

__all__ = [
    "NNP_PER_NEPER",
    "SLIVER_NNP_PER_OP",
    "US_PER_S",
    "ceil_div",
    "cost_to_fidelity",
    "cost_to_werner",
    "decay_cost_nnp",
    "fidelity_cost_nnp",
    "threshold_cost_nnp",
    "werner_cost_nnp",
]

NNP_PER_NEPER = 1_000_000_000
"""Cost unit: one nano-neper (1e-9 of a neper of log-Werner cost)."""

US_PER_S = 1_000_000
"""Time unit: one microsecond."""

SLIVER_NNP_PER_OP = 2
"""Most pessimism one rounded operation adds (ceil of a float ``-ln w`` plus float error)."""

# Float ``-ln w`` is correct to a few ulp; for costs up to ~50 nepers that is < 1e-14 neper,
# far below one nano-neper. We add this guard before ceil/floor so that float error can never
# flip the rounding direction.
_FLOAT_GUARD_NNP = 1e-3


def ceil_div(a: int, b: int) -> int:
    """Exact integer ceil(a / b) for b > 0.

    >>> ceil_div(7, 2), ceil_div(-7, 2), ceil_div(6, 3)
    (4, -3, 2)
    """
    if b <= 0:
        raise ValueError(f"ceil_div needs a positive divisor, got {b}")
    return -((-a) // b)


def werner_cost_nnp(w: float) -> int:
    """Cost of a Werner parameter, rounded up (pessimistic). ``w`` in (0, 1]."""
    if not (0.0 < w <= 1.0):
        raise ValueError(f"Werner parameter must be in (0, 1], got {w!r}")
    if w == 1.0:
        return 0
    return max(0, math.ceil(-math.log(w) * NNP_PER_NEPER + _FLOAT_GUARD_NNP))


def fidelity_cost_nnp(fidelity: float) -> int:
    """Cost of a Werner pair of fidelity F = (1 + 3w)/4, rounded up. F in (0.25, 1]."""
    if not (0.25 < fidelity <= 1.0):
        raise ValueError(f"fidelity must be in (0.25, 1], got {fidelity!r}")
    return werner_cost_nnp((4.0 * fidelity - 1.0) / 3.0)


def threshold_cost_nnp(fidelity: float) -> int:
    """Largest cost still accepted for threshold fidelity F, rounded **down** (never optimistic)."""
    if not (0.25 < fidelity <= 1.0):
        raise ValueError(f"threshold fidelity must be in (0.25, 1], got {fidelity!r}")
    w = (4.0 * fidelity - 1.0) / 3.0
    if w >= 1.0:
        return 0
    return max(0, math.floor(-math.log(w) * NNP_PER_NEPER - _FLOAT_GUARD_NNP))


def decay_cost_nnp(elapsed_us: int, coherence_us: int) -> int:
    """Cost one half accrues when held ``elapsed_us`` at coherence ``coherence_us``, rounded up.

    Exact: ``ceil(elapsed_us * 1e9 / coherence_us)`` in integers, no float involved.
    """
    if elapsed_us < 0:
        raise ValueError(f"elapsed time must be >= 0, got {elapsed_us}")
    return ceil_div(elapsed_us * NNP_PER_NEPER, coherence_us)


def cost_to_werner(cost_nnp: int) -> float:
    """Werner parameter of a cost (float, for reports only)."""
    return math.exp(-cost_nnp / NNP_PER_NEPER)


def cost_to_fidelity(cost_nnp: int) -> float:
    """Fidelity of a cost (float, for reports only)."""
    return (1.0 + 3.0 * cost_to_werner(cost_nnp)) / 4.0


def exact_decay_nepers(elapsed_us: int, coherence_us: int) -> Fraction:
    """Exact rational decay in nepers (for tests of the rounding direction)."""
    return Fraction(elapsed_us, coherence_us)
