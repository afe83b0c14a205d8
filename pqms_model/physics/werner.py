"""Werner-state physics of the repeater mesh: fidelity, memory decay, swapping, purification.

Every pair in the model is a *Werner state* (Werner, Phys. Rev. A 40, 4277, 1989) written around
the Bell state ``|Φ+⟩ = (|00⟩ + |11⟩)/√2``::

    ρ(w) = w |Φ+⟩⟨Φ+| + (1 - w) I/4,      fidelity F = ⟨Φ+|ρ|Φ+⟩ = (1 + 3w)/4,

with ``w`` in [0, 1] (equivalently ``F`` in [1/4, 1]). Memory decay and entanglement swapping are
*multiplicative* in ``w``, which is why the integer core (:mod:`pqms_model.physics.cost`) can track
the additive log-Werner cost ``-ln w`` instead of floats.

Conventions used throughout (they matter for DEJMPS):

* Bell states ``Φ± = (|00⟩ ± |11⟩)/√2`` and ``Ψ± = (|01⟩ ± |10⟩)/√2``; the first qubit is
  Alice's, the second Bob's.
* Bell-diagonal coefficient 4-tuples are ordered ``(Φ+, Ψ-, Ψ+, Φ-)`` — the ``(A, B, C, D)`` of
  Deutsch et al. (1996).

This module holds floats only, for the edges of the system (scenario input, reports, tests); the
protocol guards use the integer costs of :mod:`pqms_model.physics.cost`. It uses the standard
library ``math`` only. Arguments outside the physical range raise :class:`ValueError` naming the
argument and its valid range.

>>> round(swap_fidelity(0.85, 0.85), 12)   # w = 0.8 * 0.8 = 0.64
0.73
>>> round(teleport_fidelity(0.73), 12)
0.82
"""

from __future__ import annotations

import math

__all__ = [
    "BellDiagonal",
    "decay_fidelity",
    "fidelity_to_werner",
    "purify_bbpssw",
    "purify_dejmps",
    "swap_fidelity",
    "teleport_fidelity",
    "werner_to_fidelity",
]

BellDiagonal = tuple[float, float, float, float]
"""Coefficients of a Bell-diagonal state in the order ``(Φ+, Ψ-, Ψ+, Φ-)``."""

_F_MIN = 0.25
"""Fidelity of the maximally mixed state (w = 0), the lower end of the Werner family."""

_SUM_TOLERANCE = 1e-9
"""How far the coefficients of a Bell-diagonal state may sum away from 1 (float input)."""


def _check_fidelity(name: str, f: float) -> None:
    if not (_F_MIN <= f <= 1.0):  # also rejects NaN
        raise ValueError(f"{name} must be a Werner fidelity in [0.25, 1], got {f!r}")


def _check_werner(name: str, w: float) -> None:
    if not (0.0 <= w <= 1.0):  # also rejects NaN
        raise ValueError(f"{name} must be a Werner parameter in [0, 1], got {w!r}")


def _clamp_fidelity(f: float) -> float:
    """Clamp a computed fidelity into [0.25, 1] (float rounding of an exact in-range value)."""
    return min(1.0, max(_F_MIN, f))


def fidelity_to_werner(f: float) -> float:
    """Werner parameter ``w = (4F - 1)/3`` of a Werner pair of fidelity ``f`` in [0.25, 1].

    >>> fidelity_to_werner(1.0), fidelity_to_werner(0.25), round(fidelity_to_werner(0.85), 12)
    (1.0, 0.0, 0.8)
    """
    # Werner, Phys. Rev. A 40, 4277 (1989); F = <Φ+|ρ(w)|Φ+> = w + (1 - w)/4 = (1 + 3w)/4.
    _check_fidelity("f", f)
    return (4.0 * f - 1.0) / 3.0


def werner_to_fidelity(w: float) -> float:
    """Fidelity ``F = (1 + 3w)/4`` of the Werner state with parameter ``w`` in [0, 1].

    >>> werner_to_fidelity(1.0), werner_to_fidelity(0.0), round(werner_to_fidelity(0.8), 12)
    (1.0, 0.25, 0.85)
    """
    # Werner, Phys. Rev. A 40, 4277 (1989); inverse of fidelity_to_werner.
    _check_werner("w", w)
    return (1.0 + 3.0 * w) / 4.0


def decay_fidelity(f: float, elapsed_s: float, coherence_s: float) -> float:
    """Fidelity after ONE half of a Werner pair sat ``elapsed_s`` seconds in a depolarizing memory.

    The memory channel on the stored qubit is ``ρ ↦ λ ρ + (1 - λ) Tr_half(ρ) ⊗ I/2`` with
    ``λ = exp(-elapsed_s / coherence_s)``; on a Werner pair it gives ``w ↦ λ w``. A pair stored at
    both ends applies this once per half, each with that node's coherence time. ``f`` in
    [0.25, 1], ``elapsed_s`` finite and >= 0, ``coherence_s`` > 0 (``math.inf`` = perfect memory).

    >>> round(decay_fidelity(1.0, 1.0, 1.0), 12) == round((1 + 3 * math.exp(-1)) / 4, 12)
    True
    >>> decay_fidelity(0.9, 0.0, 2.0), decay_fidelity(0.9, 5.0, math.inf)
    (0.9, 0.9)
    """
    # Depolarizing channel: Nielsen & Chuang, "Quantum Computation and Quantum Information"
    # (Cambridge University Press, 2000), §8.3.4; depolarizing memories in repeater analyses:
    # Dür, Briegel, Cirac & Zoller, Phys. Rev. A 59, 169 (1999).
    _check_fidelity("f", f)
    if not (0.0 <= elapsed_s < math.inf):
        raise ValueError(f"elapsed_s must be a finite time in [0, inf) seconds, got {elapsed_s!r}")
    if not (coherence_s > 0.0):  # also rejects NaN
        raise ValueError(
            f"coherence_s must be a coherence time in (0, inf] seconds, got {coherence_s!r}"
        )
    w = fidelity_to_werner(f) * math.exp(-elapsed_s / coherence_s)
    return werner_to_fidelity(w)


def swap_fidelity(f1: float, f2: float, gate_fidelity: float = 1.0) -> float:
    """Fidelity of the pair an entanglement swap of two Werner pairs produces, ``w = w1 w2 w_g``.

    An ideal Bell-state measurement on the two middle qubits, with the Pauli correction on one
    outer qubit, averaged over the four outcomes, gives a Werner pair with ``w = w1 * w2``.

    ``gate_fidelity`` (in [0.25, 1], default 1 = ideal) is the fidelity of the pair this swap
    produces from two *perfect* input pairs. It is modelled as the ideal measurement preceded by a
    depolarizing error on one middle qubit — equivalently followed by a depolarizing channel on
    the output pair — with Werner parameter ``w_g = fidelity_to_werner(gate_fidelity)``, so
    ``w = w1 * w2 * w_g``.

    >>> round(swap_fidelity(0.85, 0.85), 12)
    0.73
    >>> swap_fidelity(1.0, 1.0, gate_fidelity=0.97)
    0.97
    """
    # Entanglement swapping: Żukowski, Zeilinger, Horne & Ekert, Phys. Rev. Lett. 71, 4287 (1993);
    # Werner-parameter product for swapped Werner pairs: Briegel, Dür, Cirac & Zoller,
    # Phys. Rev. Lett. 81, 5932 (1998); imperfect operations as a depolarizing factor:
    # Dür, Briegel, Cirac & Zoller, Phys. Rev. A 59, 169 (1999).
    _check_fidelity("f1", f1)
    _check_fidelity("f2", f2)
    _check_fidelity("gate_fidelity", gate_fidelity)
    w = fidelity_to_werner(f1) * fidelity_to_werner(f2) * fidelity_to_werner(gate_fidelity)
    return werner_to_fidelity(w)


def purify_bbpssw(f1: float, f2: float) -> tuple[float, float]:
    """One BBPSSW round on two Werner pairs: ``(f_out, p_success)``; ``f1 != f2`` allowed.

    Both parties apply a CNOT from their qubit of pair 1 (kept) to their qubit of pair 2
    (sacrificed), measure pair 2 in the Z basis and keep pair 1 when the outcomes agree; the kept
    pair is twirled back to Werner form, which leaves its fidelity unchanged::

        p     = F1 F2 + F1 (1 - F2)/3 + (1 - F1) F2/3 + 5 (1 - F1)(1 - F2)/9
        F_out = (F1 F2 + (1 - F1)(1 - F2)/9) / p

    (Bennett et al. work with the singlet Ψ- and a unilateral σ_y to map it to Φ+; in the Φ+
    convention used here the formula is the same.) ``f_out`` is clamped to [0.25, 1] against
    float rounding; ``p_success`` is always >= 1/2.

    >>> f, p = purify_bbpssw(0.9, 0.9)
    >>> round(f, 6), round(p, 6)
    (0.926396, 0.875556)
    >>> purify_bbpssw(1.0, 1.0)
    (1.0, 1.0)
    """
    # Bennett, Brassard, Popescu, Schumacher, Smolin & Wootters, Phys. Rev. Lett. 76, 722 (1996);
    # unequal inputs by the same bilateral-XOR bookkeeping (see the Bell-diagonal form in
    # Deutsch et al., Phys. Rev. Lett. 77, 2818 (1996), with Werner coefficients).
    _check_fidelity("f1", f1)
    _check_fidelity("f2", f2)
    g1, g2 = 1.0 - f1, 1.0 - f2
    p = f1 * f2 + f1 * g2 / 3.0 + g1 * f2 / 3.0 + 5.0 * g1 * g2 / 9.0
    f_out = (f1 * f2 + g1 * g2 / 9.0) / p
    return _clamp_fidelity(f_out), p


def purify_dejmps(c1: BellDiagonal, c2: BellDiagonal) -> tuple[BellDiagonal, float]:
    """One DEJMPS round on two Bell-diagonal pairs: ``(coefficients_out, p_success)``.

    Coefficients are ordered ``(A, B, C, D) = (Φ+, Ψ-, Ψ+, Φ-)``, each in [0, 1], summing to 1
    (within 1e-9). Protocol and frame, as verified by the density-matrix test: Alice applies
    ``Rx(π/2) = exp(-iπX/4)`` to each of her qubits and Bob ``Rx(-π/2)`` to each of his (this
    fixes Φ+, Ψ+ and exchanges Ψ- with Φ-; swapping the two signs gives the same result, while
    the *same* rotation on both sides would not); both apply a CNOT from pair 1 (kept) to pair 2;
    pair 2 is measured in the Z basis and pair 1 kept when the outcomes agree. The output is given
    in the frame after the CNOT (no rotation back)::

        N  = (A1 + B1)(A2 + B2) + (C1 + D1)(C2 + D2)          (= p_success)
        A' = (A1 A2 + B1 B2)/N     B' = (C1 D2 + D1 C2)/N
        C' = (C1 C2 + D1 D2)/N     D' = (A1 B2 + B1 A2)/N

    Raises :class:`ValueError` when ``p_success`` is 0 (the round surely fails and the output is
    undefined).

    >>> c, p = purify_dejmps((0.9, 0.05, 0.03, 0.02), (0.9, 0.05, 0.03, 0.02))
    >>> tuple(round(x, 6) for x in c), round(p, 6)
    ((0.89779, 0.001326, 0.001436, 0.099448), 0.905)
    """
    # Deutsch, Ekert, Jozsa, Macchiavello, Popescu & Sanpera, Phys. Rev. Lett. 77, 2818 (1996),
    # Eq. (8) for identical pairs; the two-input form follows from the same bookkeeping.
    a1, b1, cc1, d1 = _check_bell_diagonal("c1", c1)
    a2, b2, cc2, d2 = _check_bell_diagonal("c2", c2)
    n = (a1 + b1) * (a2 + b2) + (cc1 + d1) * (cc2 + d2)
    if not (n > 0.0):
        raise ValueError(
            "purify_dejmps: success probability is 0 for these inputs (one pair is purely "
            "Φ+/Ψ- and the other purely Ψ+/Φ-), so the output state is undefined"
        )
    out = (
        (a1 * a2 + b1 * b2) / n,
        (cc1 * d2 + d1 * cc2) / n,
        (cc1 * cc2 + d1 * d2) / n,
        (a1 * b2 + b1 * a2) / n,
    )
    return out, n


def teleport_fidelity(f: float) -> float:
    """Average fidelity ``(2F + 1)/3`` of teleporting a qubit through a Werner pair of fidelity F.

    Standard protocol: Bell measurement on the input and Alice's half, two classical bits to Bob,
    Pauli correction; averaged over uniformly (Haar) distributed pure input states. For a Werner
    resource every input state is teleported with this same fidelity. ``f`` in [0.25, 1].

    >>> teleport_fidelity(1.0), teleport_fidelity(0.25)
    (1.0, 0.5)
    """
    # Horodecki, Horodecki & Horodecki, Phys. Rev. A 60, 1888 (1999): f_avg = (2F + 1)/3 for a
    # resource of fully entangled fraction F (Popescu, Phys. Rev. Lett. 72, 797 (1994) for Werner).
    _check_fidelity("f", f)
    return (2.0 * f + 1.0) / 3.0


def _check_bell_diagonal(name: str, c: BellDiagonal) -> BellDiagonal:
    if len(c) != 4:
        raise ValueError(
            f"{name} must have 4 Bell-diagonal coefficients (Φ+, Ψ-, Ψ+, Φ-), got {c!r}"
        )
    for label, x in zip(("Φ+", "Ψ-", "Ψ+", "Φ-"), c, strict=True):
        if not (0.0 <= x <= 1.0):  # also rejects NaN
            raise ValueError(f"{name}: coefficient of {label} must be in [0, 1], got {x!r}")
    total = math.fsum(c)
    if abs(total - 1.0) > _SUM_TOLERANCE:
        raise ValueError(
            f"{name}: Bell-diagonal coefficients must sum to 1 (within {_SUM_TOLERANCE}), "
            f"got sum {total!r}"
        )
    return c
