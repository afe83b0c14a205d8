"""Entanglement swapping and purification (BBPSSW, DEJMPS) in :mod:`pqms_model.physics.werner`
against explicit Bell measurements and bilateral-XOR circuits on density matrices."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import assume, given
from hypothesis import strategies as st

from pqms_model.physics.werner import (
    fidelity_to_werner,
    purify_bbpssw,
    purify_dejmps,
    swap_fidelity,
)
from tests.support.density_matrix import (
    BELL,
    I2,
    PHI_P,
    TOL,
    assert_close,
    bell_coeff_tuples,
    bell_coefficients,
    bell_diagonal,
    conj,
    dm_bilateral_xor,
    dm_swap,
    fidelities,
    fidelity_phi_plus,
    in_bell_basis,
    isotropic_twirl,
    on_qubits,
    partial_trace,
    proj,
    rx,
    werner,
)

# --------------------------------------------------------------------------------------------
# Entanglement swapping
# --------------------------------------------------------------------------------------------


@given(fidelities, fidelities, fidelities)
def test_swap_matches_bell_measurement(f1: float, f2: float, gate: float) -> None:
    w1, w2, wg = (fidelity_to_werner(x) for x in (f1, f2, gate))
    out, branches = dm_swap(werner(w1), werner(w2), wg)
    expected = swap_fidelity(f1, f2, gate)
    assert abs(float(np.real(np.trace(out))) - 1.0) <= TOL
    assert abs(fidelity_phi_plus(out) - expected) <= TOL
    assert_close(out, werner(fidelity_to_werner(expected)))  # the output is again Werner
    for branch in branches:  # every outcome: probability 1/4, same corrected state
        assert_close(branch, werner(fidelity_to_werner(expected)) / 4)


def test_swap_of_perfect_pairs_is_perfect_and_gate_fidelity_is_output_fidelity() -> None:
    out, _ = dm_swap(proj(PHI_P), proj(PHI_P))
    assert_close(out, proj(PHI_P))
    assert swap_fidelity(1.0, 1.0) == 1.0
    assert abs(swap_fidelity(1.0, 1.0, 0.9) - 0.9) <= 1e-15


def test_swap_without_correction_loses_the_entanglement() -> None:
    # non-vacuity of the correction table: dropping the Pauli correction gives the mixed state
    rho = np.kron(proj(PHI_P), proj(PHI_P))
    uncorrected = sum(
        (partial_trace(conj(on_qubits(proj(b), [1, 2], 4), rho), [0, 3]) for b in BELL),
        np.zeros((4, 4), complex),
    )
    assert abs(fidelity_phi_plus(uncorrected) - 0.25) <= TOL


# --------------------------------------------------------------------------------------------
# Purification
# --------------------------------------------------------------------------------------------


@given(fidelities, fidelities)
def test_bbpssw_matches_density_matrix(f1: float, f2: float) -> None:
    rho1, rho2 = (werner(fidelity_to_werner(f)) for f in (f1, f2))
    kept, p = dm_bilateral_xor(rho1, rho2, I2, I2)
    f_out, p_success = purify_bbpssw(f1, f2)
    assert abs(p - p_success) <= TOL
    assert abs(fidelity_phi_plus(kept) - f_out) <= TOL
    twirled = isotropic_twirl(kept)
    assert abs(fidelity_phi_plus(twirled) - f_out) <= TOL  # the twirl keeps F
    assert_close(twirled, werner(fidelity_to_werner(f_out)))  # and restores Werner form


@given(st.floats(0.5, 1.0), st.floats(0.5, 1.0))
def test_bbpssw_properties(f1: float, f2: float) -> None:
    f_out, p = purify_bbpssw(f1, f2)
    assert 0.5 - 1e-15 <= p <= 1.0
    assert 0.25 <= f_out <= 1.0
    assert abs(purify_bbpssw(f2, f1)[0] - f_out) <= 1e-15  # symmetric in the inputs
    if f1 == f2:  # one round strictly improves equal pairs above 1/2 (below 1)
        assert f_out >= f1 - 1e-15
        if 0.5 < f1 < 1.0 - 1e-6:
            assert f_out > f1


@given(bell_coeff_tuples(), bell_coeff_tuples())
def test_dejmps_matches_density_matrix(c1: tuple[float, ...], c2: tuple[float, ...]) -> None:
    a, b, c, d = c1
    e, f, g, h = c2
    n = (a + b) * (e + f) + (c + d) * (g + h)
    assume(n > 1e-6)
    kept, p = dm_bilateral_xor(
        bell_diagonal(c1), bell_diagonal(c2), rx(math.pi / 2), rx(-math.pi / 2)
    )
    out, p_success = purify_dejmps((a, b, c, d), (e, f, g, h))
    assert abs(p - p_success) <= TOL
    assert_close(np.array(bell_coefficients(kept)), np.array(out))
    bb = in_bell_basis(kept)
    assert_close(bb - np.diag(np.diag(bb)), np.zeros((4, 4)))  # output is Bell-diagonal
    assert abs(math.fsum(out) - 1.0) <= TOL


@given(bell_coeff_tuples(), bell_coeff_tuples())
def test_dejmps_rotation_convention(c1: tuple[float, ...], c2: tuple[float, ...]) -> None:
    """Which local rotations the formula belongs to (the docstring states this convention)."""
    out, p = purify_dejmps((c1[0], c1[1], c1[2], c1[3]), (c2[0], c2[1], c2[2], c2[3]))
    assume(p > 1e-6)
    rho1, rho2 = bell_diagonal(c1), bell_diagonal(c2)
    swapped_signs, _ = dm_bilateral_xor(rho1, rho2, rx(-math.pi / 2), rx(math.pi / 2))
    assert_close(np.array(bell_coefficients(swapped_signs)), np.array(out))
    # Same rotation on both sides: the output comes out permuted (Φ+ <-> Ψ+, Ψ- <-> Φ-).
    same, _ = dm_bilateral_xor(rho1, rho2, rx(math.pi / 2), rx(math.pi / 2))
    assert_close(np.array(bell_coefficients(same)), np.array([out[2], out[3], out[0], out[1]]))


@given(fidelities, fidelities)
def test_dejmps_on_werner_inputs_equals_bbpssw(f1: float, f2: float) -> None:
    def coeffs(f: float) -> tuple[float, float, float, float]:
        r = (1.0 - f) / 3.0
        return (f, r, r, r)

    out, p = purify_dejmps(coeffs(f1), coeffs(f2))
    f_out, p_b = purify_bbpssw(f1, f2)
    assert abs(out[0] - f_out) <= 1e-12
    assert abs(p - p_b) <= 1e-12
