"""The reference implementation the physics tests check :mod:`pqms_model.physics.werner` against.

States are 4x4 / 8x8 / 16x16 density matrices built with numpy from first principles: Kronecker
products, partial traces, projectors, Pauli corrections and the averaging over measurement
outcomes. Qubit 0 is the most significant bit (``np.kron`` order). Bell states:
``Φ± = (|00⟩ ± |11⟩)/√2``, ``Ψ± = (|01⟩ ± |10⟩)/√2``; coefficient tuples are ordered
``(Φ+, Ψ-, Ψ+, Φ-)`` as in the module under test. Also the Hypothesis strategies for their inputs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

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
