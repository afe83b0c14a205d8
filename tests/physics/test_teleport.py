"""Teleportation in :mod:`pqms_model.physics.werner` against density matrices, and the no-signalling
check (no local operation on the sender's half changes the receiver's reduced state), which is
the physics behind the spec's causality invariant.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from pqms_model.physics.werner import fidelity_to_werner, teleport_fidelity
from tests.support.density_matrix import (
    I2,
    NO_SIGNAL_TOL,
    PHI_P,
    TOL,
    Matrix,
    assert_close,
    conj,
    density_matrices_2q,
    dm_teleport,
    fidelities,
    partial_trace,
    proj,
    pure_qubits,
    qubit_state,
    unitaries,
    werner,
)

# --------------------------------------------------------------------------------------------
# Teleportation
# --------------------------------------------------------------------------------------------

SIX_POINT_DESIGN = [
    qubit_state(theta, phi)
    for theta, phi in [
        (0.0, 0.0),  # |0⟩
        (math.pi, 0.0),  # |1⟩
        (math.pi / 2, 0.0),  # |+⟩
        (math.pi / 2, math.pi),  # |-⟩
        (math.pi / 2, math.pi / 2),  # |+i⟩
        (math.pi / 2, -math.pi / 2),  # |-i⟩
    ]
]
"""The octahedron: a spherical 3-design, so it averages the (quadratic) fidelity exactly as Haar."""


@given(fidelities)
def test_teleport_average_over_six_point_design(f: float) -> None:
    resource = werner(fidelity_to_werner(f))
    fids = []
    for psi in SIX_POINT_DESIGN:
        out, probs = dm_teleport(psi, resource)
        assert_close(np.array(probs), np.full(4, 0.25))  # Alice's outcome carries no information
        fids.append(float(np.real(psi.conj() @ out @ psi)))
    assert abs(sum(fids) / len(fids) - teleport_fidelity(f)) <= TOL


@given(fidelities, pure_qubits)
def test_teleport_each_haar_state(f: float, psi: Matrix) -> None:
    out, _ = dm_teleport(psi, werner(fidelity_to_werner(f)))
    # With a Werner resource the channel is depolarizing: every state gets the average fidelity.
    assert abs(float(np.real(psi.conj() @ out @ psi)) - teleport_fidelity(f)) <= TOL


def test_teleport_perfect_resource_and_without_correction() -> None:
    psi = qubit_state(1.1, 0.4)
    out, _ = dm_teleport(psi, proj(PHI_P))
    assert_close(out, proj(psi))
    # Without the two classical bits Bob holds I/2 (this is why teleportation needs them).
    rho = np.kron(proj(psi), proj(PHI_P))
    assert_close(partial_trace(rho, [2]), I2 / 2, NO_SIGNAL_TOL)


# --------------------------------------------------------------------------------------------
# No signalling: nothing Alice does locally changes Bob's reduced state
# --------------------------------------------------------------------------------------------


def _local_measurement(rho: Matrix, v: Matrix) -> list[Matrix]:
    """Alice (qubit 0) measures in the basis {v, v⊥}: both unnormalized post-measurement states."""
    v_perp = np.array([-np.conj(v[1]), np.conj(v[0])])
    return [conj(np.kron(proj(b), I2), rho) for b in (v, v_perp)]


@given(st.floats(0.0, 1.0), unitaries, pure_qubits)
def test_no_signalling(w: float, u: Matrix, v: Matrix) -> None:
    for rho in (proj(PHI_P), werner(w)):
        after_unitary = conj(np.kron(u, I2), rho)
        assert_close(partial_trace(after_unitary, [1]), I2 / 2, NO_SIGNAL_TOL)
        measured = sum(_local_measurement(rho, v), np.zeros((4, 4), complex))
        assert_close(partial_trace(measured, [1]), I2 / 2, NO_SIGNAL_TOL)
        both = sum(_local_measurement(after_unitary, v), np.zeros((4, 4), complex))
        assert_close(partial_trace(both, [1]), I2 / 2, NO_SIGNAL_TOL)


@given(density_matrices_2q(), unitaries, pure_qubits)
def test_no_signalling_any_state(rho: Matrix, u: Matrix, v: Matrix) -> None:
    bob_before = partial_trace(rho, [1])
    after = sum(_local_measurement(conj(np.kron(u, I2), rho), v), np.zeros((4, 4), complex))
    assert_close(partial_trace(after, [1]), bob_before, NO_SIGNAL_TOL)


@given(st.floats(0.0, 1.0), pure_qubits)
def test_conditioning_on_the_outcome_does_change_bobs_state(w: float, v: Matrix) -> None:
    """Non-vacuity: *with* Alice's outcome (classical communication) Bob's state is steered to
    w |v*⟩⟨v*| + (1 - w) I/2 — so the averaged checks above are not trivially satisfied."""
    first, _ = _local_measurement(werner(w), v)
    bob = partial_trace(first, [1])
    p = float(np.real(np.trace(bob)))
    assert abs(p - 0.5) <= TOL
    assert_close(bob / p, w * proj(np.conj(v)) + (1 - w) * I2 / 2)
