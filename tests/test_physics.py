"""Closed forms of :mod:`pqms_model.physics` against explicit density-matrix computations.

Everything the closed forms claim is recomputed here from first principles with numpy: states as
4x4 / 8x8 / 16x16 density matrices, Kronecker products, partial traces, projectors, Pauli
corrections and the averaging over measurement outcomes. Qubit 0 is the most significant bit
(``np.kron`` order). Bell states: ``Φ± = (|00⟩ ± |11⟩)/√2``, ``Ψ± = (|01⟩ ± |10⟩)/√2``; coefficient
tuples are ordered ``(Φ+, Ψ-, Ψ+, Φ-)`` as in the module under test.

Also here: the no-signalling check (no local operation on the sender's half changes the
receiver's reduced state), which is the physics behind the spec's causality invariant.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from pqms_model.physics import (
    decay_fidelity,
    fidelity_to_werner,
    purify_bbpssw,
    purify_dejmps,
    swap_fidelity,
    teleport_fidelity,
    werner_to_fidelity,
)

TOL = 1e-9
"""Closed form vs density matrix."""

NO_SIGNAL_TOL = 1e-12
"""Receiver's reduced state vs I/2."""

Matrix = np.ndarray

# --------------------------------------------------------------------------------------------
# Linear-algebra helpers (the "reference implementation")
# --------------------------------------------------------------------------------------------

KET0 = np.array([1.0, 0.0], dtype=complex)
KET1 = np.array([0.0, 1.0], dtype=complex)
I2 = np.eye(2, dtype=complex)
X = np.array([[0, 1], [1, 0]], dtype=complex)
Y = np.array([[0, -1j], [1j, 0]], dtype=complex)
Z = np.array([[1, 0], [0, -1]], dtype=complex)
H = np.array([[1, 1], [1, -1]], dtype=complex) / math.sqrt(2)
S = np.array([[1, 0], [0, 1j]], dtype=complex)


def kron(*ms: Matrix) -> Matrix:
    out = np.array([[1.0 + 0j]])
    for m in ms:
        out = np.kron(out, m)
    return out


def ket(*bits: int) -> Matrix:
    return kron(*[(KET1 if b else KET0).reshape(2, 1) for b in bits]).ravel()


def proj(v: Matrix) -> Matrix:
    v = np.asarray(v, dtype=complex).ravel()
    return np.outer(v, v.conj())


PHI_P = (ket(0, 0) + ket(1, 1)) / math.sqrt(2)
PHI_M = (ket(0, 0) - ket(1, 1)) / math.sqrt(2)
PSI_P = (ket(0, 1) + ket(1, 0)) / math.sqrt(2)
PSI_M = (ket(0, 1) - ket(1, 0)) / math.sqrt(2)
BELL = (PHI_P, PSI_M, PSI_P, PHI_M)
"""Bell basis in the module's coefficient order (Φ+, Ψ-, Ψ+, Φ-)."""

# Pauli correction for Bell outcome k: |β_k⟩ = (I ⊗ σ_k)|Φ+⟩ up to a phase.
CORRECTION = (I2, Y, X, Z)


def n_qubits(rho: Matrix) -> int:
    n = round(math.log2(rho.shape[0]))
    assert rho.shape == (2**n, 2**n)
    return n


def partial_trace(rho: Matrix, keep: Sequence[int]) -> Matrix:
    """Reduced state on the qubits ``keep`` (in the given order), tracing out all others."""
    n = n_qubits(rho)
    t = rho.reshape((2,) * (2 * n))
    letters = "abcdefghijklmnopqrstuvwxyz"
    rows = list(letters[:n])
    cols = list(letters[n : 2 * n])
    for q in range(n):
        if q not in keep:
            cols[q] = rows[q]  # contract row and column index: trace over qubit q
    out = "".join(rows[q] for q in keep) + "".join(cols[q] for q in keep)
    reduced = np.einsum("".join(rows) + "".join(cols) + "->" + out, t)
    d = 2 ** len(keep)
    return np.asarray(reduced).reshape(d, d)


def on_qubits(op: Matrix, targets: Sequence[int], n: int) -> Matrix:
    """The n-qubit operator that applies ``op`` to ``targets`` (in that order) and I elsewhere."""
    rest = [q for q in range(n) if q not in targets]
    full = np.kron(op, np.eye(2 ** len(rest), dtype=complex))  # order: targets..., rest...
    order = list(targets) + rest
    inv = [order.index(q) for q in range(n)]
    t = full.reshape((2,) * (2 * n))
    t = t.transpose(inv + [n + i for i in inv])
    return t.reshape(2**n, 2**n)


def cnot(control: int, target: int, n: int) -> Matrix:
    op = np.kron(proj(KET0), I2) + np.kron(proj(KET1), X)
    return on_qubits(op, [control, target], n)


def conj(u: Matrix, rho: Matrix) -> Matrix:
    return np.asarray(u @ rho @ u.conj().T)


def werner(w: float) -> Matrix:
    return w * proj(PHI_P) + (1.0 - w) * np.eye(4) / 4.0


def bell_diagonal(c: Sequence[float]) -> Matrix:
    return sum((ci * proj(b) for ci, b in zip(c, BELL, strict=True)), np.zeros((4, 4), complex))


def bell_coefficients(rho: Matrix) -> list[float]:
    return [float(np.real(b.conj() @ rho @ b)) for b in BELL]


def in_bell_basis(rho: Matrix) -> Matrix:
    basis = np.column_stack(BELL)
    return np.asarray(basis.conj().T @ rho @ basis)


def fidelity_phi_plus(rho: Matrix) -> float:
    return float(np.real(PHI_P.conj() @ rho @ PHI_P))


def depolarize_qubit(rho: Matrix, q: int, lam: float) -> Matrix:
    """Memory channel on qubit q: ρ ↦ λ ρ + (1 - λ) Tr_q(ρ) ⊗ I/2 (I/2 put back at position q)."""
    n = n_qubits(rho)
    rest = [p for p in range(n) if p != q]
    mixed = np.kron(I2 / 2.0, partial_trace(rho, rest))  # order: q, rest...
    order = [q, *rest]
    inv = [order.index(p) for p in range(n)]
    mixed = mixed.reshape((2,) * (2 * n)).transpose(inv + [n + i for i in inv])
    return lam * rho + (1.0 - lam) * mixed.reshape(2**n, 2**n)


def rx(theta: float) -> Matrix:
    return math.cos(theta / 2) * I2 - 1j * math.sin(theta / 2) * X


def unitary(alpha: float, beta: float, gamma: float, delta: float) -> Matrix:
    """e^{iα} Rz(β) Ry(γ) Rz(δ): every 2x2 unitary has this form."""

    def rz(t: float) -> Matrix:
        return np.diag([np.exp(-0.5j * t), np.exp(0.5j * t)])

    ry = np.array(
        [[math.cos(gamma / 2), -math.sin(gamma / 2)], [math.sin(gamma / 2), math.cos(gamma / 2)]]
    )
    return np.asarray(np.exp(1j * alpha) * rz(beta) @ ry @ rz(delta))


def qubit_state(theta: float, phi: float) -> Matrix:
    return np.array([math.cos(theta / 2), np.exp(1j * phi) * math.sin(theta / 2)])


def _clifford_group() -> list[Matrix]:
    """The 24 single-qubit Cliffords (mod phase), generated from H and S by breadth-first search."""

    def key(u: Matrix) -> tuple[complex, ...]:
        pivot = u.ravel()[np.argmax(np.abs(u.ravel()) > 1e-9)]
        v = u / (pivot / abs(pivot))
        return tuple(np.round(v.ravel(), 9))

    group = {key(I2): I2}
    frontier = [I2]
    while frontier:
        nxt = []
        for u in frontier:
            for g in (H, S):
                v = g @ u
                if key(v) not in group:
                    group[key(v)] = v
                    nxt.append(v)
        frontier = nxt
    return list(group.values())


CLIFFORDS = _clifford_group()


def isotropic_twirl(rho: Matrix) -> Matrix:
    """BBPSSW twirl: average of (U ⊗ U*) ρ (U ⊗ U*)† over a unitary 2-design (the Cliffords)."""
    return sum((conj(np.kron(u, u.conj()), rho) for u in CLIFFORDS), np.zeros((4, 4), complex)) / (
        len(CLIFFORDS)
    )


def assert_close(a: Matrix | float, b: Matrix | float, tol: float = TOL) -> None:
    diff = float(np.max(np.abs(np.asarray(a) - np.asarray(b))))
    assert diff <= tol, f"max deviation {diff:.3e} > {tol:.0e}"


# --------------------------------------------------------------------------------------------
# Density-matrix protocols
# --------------------------------------------------------------------------------------------


def dm_swap(rho1: Matrix, rho2: Matrix, gate_w: float = 1.0) -> tuple[Matrix, list[Matrix]]:
    """Swap pairs (A, B1) and (B2, C) by a Bell measurement on B1 B2 + Pauli correction on C.

    ``gate_w`` < 1 puts a depolarizing error of that Werner parameter on B1 before the ideal
    measurement. Returns the outcome-averaged (A, C) state and the four unnormalized branches.
    """
    rho = depolarize_qubit(np.kron(rho1, rho2), 1, gate_w)  # qubits A, B1, B2, C
    branches = []
    for beta, sigma in zip(BELL, CORRECTION, strict=True):
        p = on_qubits(proj(beta), [1, 2], 4)
        ac = partial_trace(conj(p, rho), [0, 3])
        branches.append(conj(np.kron(I2, sigma), ac))
    return sum(branches, np.zeros((4, 4), complex)), branches


def dm_teleport(psi: Matrix, resource: Matrix) -> tuple[Matrix, list[float]]:
    """Teleport ψ (qubit 0) through the pair (1, 2): Bell measurement on 0 1, correction on 2."""
    rho = np.kron(proj(psi), resource)
    out = np.zeros((2, 2), complex)
    probs = []
    for beta, sigma in zip(BELL, CORRECTION, strict=True):
        p = on_qubits(proj(beta), [0, 1], 3)
        bob = partial_trace(conj(p, rho), [2])
        probs.append(float(np.real(np.trace(bob))))
        out += conj(sigma, bob)
    return out, probs


def dm_bilateral_xor(
    rho1: Matrix, rho2: Matrix, alice: Matrix, bob: Matrix
) -> tuple[Matrix, float]:
    """Bilateral XOR step shared by BBPSSW and DEJMPS. Qubits: A1, B1, A2, B2.

    Local ``alice``/``bob`` unitaries on both pairs, CNOT pair 1 -> pair 2 on each side, measure
    pair 2 in Z, keep pair 1 on coincident outcomes. Returns (normalized kept state, p_success).
    """
    rho = np.kron(rho1, rho2)
    rho = conj(kron(alice, bob, alice, bob), rho)
    rho = conj(cnot(1, 3, 4) @ cnot(0, 2, 4), rho)
    kept = np.zeros((4, 4), complex)
    for m in (0, 1):
        p = on_qubits(proj(ket(m, m)), [2, 3], 4)
        kept += partial_trace(conj(p, rho), [0, 1])
    prob = float(np.real(np.trace(kept)))
    return kept / prob, prob


# --------------------------------------------------------------------------------------------
# Strategies
# --------------------------------------------------------------------------------------------

fidelities = st.floats(0.25, 1.0)
angles = st.floats(0.0, 2 * math.pi)
unitaries = st.builds(unitary, angles, angles, angles, angles)
pure_qubits = st.builds(qubit_state, st.floats(0.0, math.pi), angles)


@st.composite
def bell_coeff_tuples(draw: st.DrawFn) -> tuple[float, float, float, float]:
    raw = draw(st.tuples(*[st.floats(0.0, 1.0)] * 4))
    total = math.fsum(raw)
    assume(total > 1e-3)
    a, b, c, d = (x / total for x in raw)
    return (a, b, c, d)


@st.composite
def density_matrices_2q(draw: st.DrawFn) -> Matrix:
    """A random 2-qubit density matrix G G† / Tr(G G†)."""
    parts = draw(st.lists(st.floats(-1.0, 1.0), min_size=32, max_size=32))
    g = np.array(parts[:16]).reshape(4, 4) + 1j * np.array(parts[16:]).reshape(4, 4)
    rho = g @ g.conj().T
    tr = float(np.real(np.trace(rho)))
    assume(tr > 1e-3)
    return rho / tr


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
