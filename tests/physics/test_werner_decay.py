"""Werner states and memory decay in :mod:`pqms_model.physics.werner` against density matrices.

Also the sanity of the reference implementation itself (:mod:`tests.support.density_matrix`): its
Bell basis, partial traces, operators and the Clifford twirl that makes any state Werner.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from pqms_model.physics.werner import decay_fidelity, fidelity_to_werner, werner_to_fidelity
from tests.support.density_matrix import (
    BELL,
    CLIFFORDS,
    CORRECTION,
    I2,
    KET1,
    PHI_P,
    TOL,
    Matrix,
    X,
    assert_close,
    cnot,
    density_matrices_2q,
    depolarize_qubit,
    fidelities,
    fidelity_phi_plus,
    isotropic_twirl,
    ket,
    kron,
    on_qubits,
    partial_trace,
    proj,
    werner,
)

# --------------------------------------------------------------------------------------------
# Sanity of the reference helpers themselves
# --------------------------------------------------------------------------------------------


def test_reference_helpers() -> None:
    assert len(CLIFFORDS) == 24
    for k, (beta, sigma) in enumerate(zip(BELL, CORRECTION, strict=True)):
        # |β_k⟩ = (I ⊗ σ_k)|Φ+⟩ up to a global phase
        overlap = abs(beta.conj() @ np.kron(I2, sigma) @ PHI_P)
        assert abs(overlap - 1.0) < 1e-12, k
    rho = kron(werner(0.3), proj(KET1))
    assert_close(partial_trace(rho, [2]), proj(KET1))
    assert_close(partial_trace(rho, [0, 1]), werner(0.3))
    assert_close(on_qubits(X, [1], 2), np.kron(I2, X))
    assert_close(cnot(0, 1, 2) @ ket(1, 0), ket(1, 1))
    assert_close(cnot(1, 0, 2) @ ket(0, 1), ket(1, 1))


@given(density_matrices_2q())
def test_twirl_makes_werner_and_keeps_fidelity(rho: Matrix) -> None:
    out = isotropic_twirl(rho)
    f = fidelity_phi_plus(rho)
    # Isotropic state F |Φ+⟩⟨Φ+| + (1 - F)/3 (I - |Φ+⟩⟨Φ+|): the Werner state when F >= 1/4.
    iso = f * proj(PHI_P) + (1 - f) / 3 * (np.eye(4) - proj(PHI_P))
    assert_close(out, iso)
    if f >= 0.25:
        assert_close(out, werner(fidelity_to_werner(min(1.0, f))))


# --------------------------------------------------------------------------------------------
# Werner parameter
# --------------------------------------------------------------------------------------------


@given(st.floats(0.0, 1.0))
def test_werner_fidelity_is_phi_plus_overlap(w: float) -> None:
    f = werner_to_fidelity(w)
    assert abs(f - fidelity_phi_plus(werner(w))) <= TOL
    assert abs(fidelity_to_werner(f) - w) <= 1e-15
    assert 0.25 <= f <= 1.0


# --------------------------------------------------------------------------------------------
# Memory decay
# --------------------------------------------------------------------------------------------


@given(fidelities, st.floats(0.0, 100.0), st.floats(1e-3, 1e3), st.sampled_from([0, 1]))
def test_decay_of_one_half(f: float, t: float, coherence: float, half: int) -> None:
    lam = math.exp(-t / coherence)
    out = depolarize_qubit(werner(fidelity_to_werner(f)), half, lam)
    expected = decay_fidelity(f, t, coherence)
    assert abs(fidelity_phi_plus(out) - expected) <= TOL
    assert_close(out, werner(fidelity_to_werner(expected)))  # still Werner


@given(fidelities, st.floats(0.0, 10.0), st.floats(1e-2, 1e2), st.floats(1e-2, 1e2))
def test_decay_of_both_halves_composes(f: float, t: float, t_a: float, t_b: float) -> None:
    rho = werner(fidelity_to_werner(f))
    rho = depolarize_qubit(rho, 0, math.exp(-t / t_a))
    rho = depolarize_qubit(rho, 1, math.exp(-t / t_b))
    expected = decay_fidelity(decay_fidelity(f, t, t_a), t, t_b)
    assert abs(fidelity_phi_plus(rho) - expected) <= TOL
    assert_close(rho, werner(fidelity_to_werner(expected)))
