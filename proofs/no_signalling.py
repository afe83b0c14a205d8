"""No-signalling: what Alice does to her half of a pair is invisible at Bob (invariant `causality`).

Alice and Bob share a two-qubit state ρ (basis ``|a b⟩``, index ``2a + b``). Alice applies any
local quantum operation, given by Kraus operators ``K_1..K_4`` on A (2×2 complex, symbolic, with
Σ K_i†K_i = I as polynomial equalities). Bob's reduced state is then
``Σ_i Tr_A[(K_i⊗I) ρ (K_i⊗I)†]``, written out literally by :func:`bob_after`. Four operators are
no restriction: every channel on a qubit has a Kraus form with at most 2·2 = 4 operators (Choi),
and fewer are the case of some ``K_i = 0``. Proved in Z3 (real arithmetic, a complex number is a
pair (re, im) of reals), each as an ``unsat`` query of the negated claim:

* ``no-signalling/bell``: for ρ = |Φ+⟩⟨Φ+| Bob's state is I/2 (the literal expression).
* ``no-signalling/partial-trace-cyclicity``: with no hypotheses, for every 4×4 complex ρ,
  ``Σ_i Tr_A[(K_i⊗I)ρ(K_i⊗I)†] = Tr_A[((Σ_i K_i†K_i)⊗I)ρ]`` (a polynomial identity).
* ``no-signalling/werner``: for ρ_W = w|Φ+⟩⟨Φ+| + (1−w)I/4, w ∈ [0, 1], Bob's state is I/2.
* ``no-signalling/general``: for every Hermitian 4×4 ρ, Bob's state is Tr_A[ρ] (unchanged).

The Bell query is the literal claim. For Werner and general ρ the literal claim is beyond Z3
here (timeout with nlsat, with the nonlinear smt core, with one query per entry of ρ_B, even with
a single Kraus operator): it must multiply the completeness equations by w or by entries of ρ.
These two queries therefore also assume the cyclicity identity instantiated at their ρ, through
fresh reals ``m`` defined as Σ K†K (a cut; sound because the identity is proved for all K and
all σ), and are reported "proved" only if the cyclicity lemma is. Engine: ``simplify,
propagate-values, solve-eqs, simplify, smt`` decides all six in milliseconds; ``QF_NRA`` (nlsat)
is the fallback that finds models of wrong claims. Two controls must come out "counterexample"
(sat): ``control/signalling-with-outcome`` (told Alice's outcome |0⟩, Bob's conditional state is
not I/2 for a Werner pair with w > 0) and ``control/vacuity`` (the hypotheses of the lemmas —
Kraus completeness, the cuts, w ∈ [0, 1] — are satisfiable: nothing is proved from a
contradiction).

Why this justifies ``causality`` (spec/pqms.md §0.3, §5.3): before the two classical bits of
teleportation reach Bob, his qubit is in the same state whatever Alice did, so nothing she does
locally is observable at Bob; his correction needs the bits, which travel at most at light speed.
A pool of ready pairs removes the set-up latency of entanglement, never the signal latency.

Sources: the no-communication theorem, Nielsen & Chuang, *Quantum Computation and Quantum
Information*, §2.4.3 and Box 2.5; Werner states, R. F. Werner, Phys. Rev. A 40, 4277 (1989)
(fidelity F = (1 + 3w)/4).

>>> [r.status for r in prove_no_signalling()][:2]
['proved', 'proved']
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import z3

__all__ = [
    "EXPECTED", "LEMMA_NAMES", "LemmaResult", "Matrix", "bell_state", "bob_after", "check",
    "completeness", "dagger", "hermitian_vars", "identity", "kraus_vars", "kron_id",
    "mat_eq", "mat_sum", "matmul", "matrix_vars", "partial_trace_a", "prove_no_signalling",
    "werner_state"
]  # fmt: skip

Status = Literal["proved", "counterexample", "unknown"]
Scalar = Any
"""A real: a z3 arithmetic term, or a Python number (the helpers also evaluate numerically)."""
Complex = tuple[Scalar, Scalar]
Matrix = list[list[Complex]]

LEMMA_NAMES: tuple[str, ...] = (
    "no-signalling/bell",
    "no-signalling/werner",
    "no-signalling/general",
    "no-signalling/partial-trace-cyclicity",
    "control/signalling-with-outcome",
    "control/vacuity",
)
EXPECTED: dict[str, Status] = {
    name: "counterexample" if name.startswith("control/") else "proved" for name in LEMMA_NAMES
}
"""The status each obligation must have: the controls are *expected* to be sat."""


@dataclass(frozen=True)
class LemmaResult:
    """One Z3 query: ``proved`` (unsat), ``counterexample`` (sat; ``reason`` shows the model)
    or ``unknown`` (``reason`` is Z3's ``reason_unknown``). ``reason`` names the engine."""

    name: str
    status: Status
    seconds: float
    reason: str = ""


def _is_zero(x: Scalar) -> bool:
    return isinstance(x, int | float) and x == 0


def _mul(x: Scalar, y: Scalar) -> Scalar:
    return 0 if _is_zero(x) or _is_zero(y) else x * y


def _add(x: Scalar, y: Scalar) -> Scalar:
    return y if _is_zero(x) else x if _is_zero(y) else x + y


def _cmul(a: Complex, b: Complex) -> Complex:
    return (_add(_mul(a[0], b[0]), -_mul(a[1], b[1])), _add(_mul(a[0], b[1]), _mul(a[1], b[0])))


def _cadd(a: Complex, b: Complex) -> Complex:
    return (_add(a[0], b[0]), _add(a[1], b[1]))


def _neg(x: Scalar) -> Scalar:
    return 0 if _is_zero(x) else -x


def matmul(a: Matrix, b: Matrix) -> Matrix:
    """The complex matrix product ``a·b``."""
    out: Matrix = []
    for row in a:
        line: list[Complex] = []
        for j in range(len(b[0])):
            acc: Complex = (0, 0)
            for k, x in enumerate(row):
                acc = _cadd(acc, _cmul(x, b[k][j]))
            line.append(acc)
        out.append(line)
    return out


def dagger(a: Matrix) -> Matrix:
    """The conjugate transpose ``a†``."""
    return [[(a[j][i][0], _neg(a[j][i][1])) for j in range(len(a))] for i in range(len(a[0]))]


def mat_sum(ms: Sequence[Matrix]) -> Matrix:
    """The entrywise sum of equally shaped matrices."""
    out = ms[0]
    for m in ms[1:]:
        out = [[_cadd(x, y) for x, y in zip(r, s, strict=True)]
               for r, s in zip(out, m, strict=True)]  # fmt: skip
    return out


def identity(n: int) -> Matrix:
    """The n×n identity."""
    return [[(1 if i == j else 0, 0) for j in range(n)] for i in range(n)]


def kron_id(k: Matrix) -> Matrix:
    """``K ⊗ I_2`` for a 2×2 ``K`` on A: entry (2a+b, 2a'+b') is ``K[a][a']·δ(b, b')``."""
    return [[k[i // 2][j // 2] if i % 2 == j % 2 else (0, 0) for j in range(4)] for i in range(4)]


def partial_trace_a(rho: Matrix) -> Matrix:
    """``Tr_A ρ`` of a 4×4 ρ: entry (b, b') is ``Σ_a ρ[2a+b][2a+b']``."""
    return [[_cadd(rho[b][c], rho[2 + b][2 + c]) for c in range(2)] for b in range(2)]


def bob_after(kraus: Sequence[Matrix], rho: Matrix) -> Matrix:
    """Bob's state after Alice's operation, literally ``Σ_i Tr_A[(K_i⊗I) ρ (K_i⊗I)†]``."""
    return mat_sum([partial_trace_a(matmul(matmul(kron_id(k), rho), dagger(kron_id(k))))
                    for k in kraus])  # fmt: skip


def completeness(kraus: Sequence[Matrix]) -> Matrix:
    """``Σ_i K_i†K_i`` (= I for a trace-preserving operation)."""
    return mat_sum([matmul(dagger(k), k) for k in kraus])


def matrix_vars(prefix: str, n: int) -> Matrix:
    """An n×n complex matrix of fresh z3 reals ``{prefix}{row}{col}_re/_im``."""
    return [[(z3.Real(f"{prefix}{i}{j}_re"), z3.Real(f"{prefix}{i}{j}_im")) for j in range(n)]
            for i in range(n)]  # fmt: skip


def kraus_vars(count: int = 4) -> list[Matrix]:
    """``count`` symbolic 2×2 Kraus operators ``k{i}_...``."""
    return [matrix_vars(f"k{i}_", 2) for i in range(count)]


def hermitian_vars(prefix: str, n: int) -> Matrix:
    """A symbolic Hermitian n×n matrix: real diagonal, ``m[j][i] = conj(m[i][j])``."""
    m = matrix_vars(prefix, n)
    return [[(m[i][i][0], 0) if i == j else m[i][j] if i < j else (m[j][i][0], -m[j][i][1])
             for j in range(n)] for i in range(n)]  # fmt: skip


def werner_state(w: Scalar) -> Matrix:
    """ρ_W = w|Φ+⟩⟨Φ+| + (1−w)I/4 with Φ+ = (|00⟩ + |11⟩)/√2 (Werner 1989)."""
    edge, mid, corner = w / 2 + (1 - w) / 4, (1 - w) / 4, w / 2
    rho: Matrix = [[(0, 0)] * 4 for _ in range(4)]
    for i, x in enumerate((edge, mid, mid, edge)):
        rho[i][i] = (x, 0)
    rho[0][3] = rho[3][0] = (corner, 0)
    return rho


def bell_state() -> Matrix:
    """|Φ+⟩⟨Φ+| with exact rational entries 1/2."""
    h = z3.Q(1, 2)
    return [[(h, 0) if i in (0, 3) and j in (0, 3) else (0, 0) for j in range(4)]
            for i in range(4)]  # fmt: skip


def _eq(x: Scalar, y: Scalar) -> Any:
    same = x == y
    return same if isinstance(same, z3.BoolRef) else z3.BoolVal(bool(same))


def mat_eq(a: Matrix, b: Matrix) -> list[Any]:
    """Entrywise equality of real and imaginary parts, as a list of z3 formulas."""
    return [_eq(x[p], y[p]) for r, s in zip(a, b, strict=True)
            for x, y in zip(r, s, strict=True) for p in (0, 1)]  # fmt: skip


def _engines() -> list[tuple[str, Any]]:
    """Fresh solvers, tried in turn: z3's nonlinear smt core after preprocessing (proves the
    lemmas and finds the vacuity model), then the QF_NRA solver (nlsat; finds the sat models of
    wrong claims that the first misses)."""
    smt = z3.Then("simplify", "propagate-values", "solve-eqs", "simplify", "smt")
    return [("simplify+solve-eqs+smt", smt.solver()), ("QF_NRA", z3.SolverFor("QF_NRA"))]


def check(name: str, hypotheses: Sequence[Any], claim: Sequence[Any],
          timeout_ms: int = 10_000) -> LemmaResult:  # fmt: skip
    """Decide ``hypotheses ⇒ And(claim)`` by asking Z3 for a model of its negation.

    Each engine of :func:`_engines` gets ``timeout_ms``; the first definite answer counts (both
    are sound), and ``reason`` names the engine. Unknown from all of them is "unknown".
    """
    start = time.perf_counter()
    unknown: list[str] = []
    for engine, solver in _engines():
        solver.set("timeout", timeout_ms)
        solver.add(*hypotheses)
        solver.add(z3.Not(z3.And(*claim)))
        answer = solver.check()
        seconds = time.perf_counter() - start
        if answer == z3.unsat:
            return LemmaResult(name, "proved", seconds, engine)
        if answer == z3.sat:
            model = solver.model()
            shown = ", ".join(sorted(f"{d.name()} = {model[d]}" for d in model.decls()))
            return LemmaResult(name, "counterexample", seconds, f"{engine}: {shown}"[:240])
        unknown.append(f"{engine}: {solver.reason_unknown()}")
    return LemmaResult(name, "unknown", time.perf_counter() - start, "; ".join(unknown))


def _cut(name: str, kraus: Sequence[Matrix], rho: Matrix) -> list[Any]:
    """The cyclicity lemma at ``rho``, through fresh reals ``m`` = Σ K†K."""
    m = matrix_vars(f"m_{name}_", 2)
    return [*mat_eq(m, completeness(kraus)),
            *mat_eq(bob_after(kraus, rho), partial_trace_a(matmul(kron_id(m), rho)))]  # fmt: skip


def _depends(result: LemmaResult, lemma: LemmaResult) -> LemmaResult:
    if result.status != "proved" or lemma.status == "proved":
        return result
    reason = f"uses {lemma.name}, which is {lemma.status}"
    return LemmaResult(result.name, "unknown", result.seconds, reason)


def prove_no_signalling(timeout_ms: int = 10_000) -> list[LemmaResult]:
    """Run every obligation of :data:`LEMMA_NAMES`, in that order, each in its own solvers."""
    bell_n, werner_n, general_n, cyclic_n, told_n, vacuity_n = LEMMA_NAMES
    kraus = kraus_vars(4)
    trace_preserving = mat_eq(completeness(kraus), identity(2))
    half = [[(z3.Q(1, 2) if i == j else 0, 0) for j in range(2)] for i in range(2)]
    w = z3.Real("w")
    w_range = [w >= 0, w <= 1]
    rho_w, rho_g, sigma = werner_state(w), hermitian_vars("rho", 4), matrix_vars("sigma", 4)

    rewritten = partial_trace_a(matmul(kron_id(completeness(kraus)), sigma))
    cyclic = check(cyclic_n, [], mat_eq(bob_after(kraus, sigma), rewritten), timeout_ms)
    bell = check(bell_n, trace_preserving, mat_eq(bob_after(kraus, bell_state()), half), timeout_ms)
    werner_hyps = [*trace_preserving, *w_range, *_cut("w", kraus, rho_w)]
    werner = check(werner_n, werner_hyps, mat_eq(bob_after(kraus, rho_w), half), timeout_ms)
    general_hyps = [*trace_preserving, *_cut("g", kraus, rho_g)]
    unchanged = mat_eq(bob_after(kraus, rho_g), partial_trace_a(rho_g))
    general = check(general_n, general_hyps, unchanged, timeout_ms)

    # Expected "counterexample": Bob *told* Alice's outcome |0⟩ (the branch K = |0⟩⟨0| alone,
    # unnormalised) sees σ ≠ p·I/2, p = Tr σ, for some Werner w: the bits carry the information.
    branch = bob_after([[[(1, 0), (0, 0)], [(0, 0), (0, 0)]]], rho_w)
    p = _add(branch[0][0][0], branch[1][1][0])
    p_half = [[(_mul(p, x[0]), 0) for x in row] for row in half]
    told = check(told_n, w_range, mat_eq(branch, p_half), timeout_ms)
    # Expected "counterexample": the claim "the hypotheses are contradictory" is false.
    vacuity = check(vacuity_n, [*werner_hyps, *general_hyps], [z3.BoolVal(False)], timeout_ms)
    return [bell, _depends(werner, cyclic), _depends(general, cyclic), cyclic, told, vacuity]
