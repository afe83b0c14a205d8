"""The no-signalling lemma behind ``causality`` (proofs/no_signalling.py).

The Z3 obligations must be proved and the controls refuted; the matrix helpers that build the Z3
terms are checked against a direct numpy density-matrix computation, both on Python floats and
by substituting numbers into the very symbolic terms the proofs use.
"""

from __future__ import annotations

import doctest
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
import z3

from pqms_model.proofs import no_signalling as ns
from pqms_model.proofs.no_signalling import (
    EXPECTED,
    LEMMA_NAMES,
    LemmaResult,
    Matrix,
    bell_state,
    bob_after,
    check,
    completeness,
    hermitian_vars,
    identity,
    kraus_vars,
    kron_id,
    mat_eq,
    partial_trace_a,
    prove_no_signalling,
    werner_state,
)

Array = np.ndarray[Any, np.dtype[np.complex128]]
HALF: Matrix = [[(z3.Q(1, 2), 0), (0, 0)], [(0, 0), (z3.Q(1, 2), 0)]]
KET0: Matrix = [[(1, 0), (0, 0)], [(0, 0), (0, 0)]]


@pytest.fixture(scope="module")
def results() -> dict[str, LemmaResult]:
    out = prove_no_signalling()
    assert [r.name for r in out] == list(LEMMA_NAMES)
    return {r.name: r for r in out}


@pytest.mark.parametrize("name", [n for n in LEMMA_NAMES if n.startswith("no-signalling/")])
def test_lemma_is_proved(results: dict[str, LemmaResult], name: str) -> None:
    assert results[name].status == "proved", results[name]
    assert EXPECTED[name] == "proved"


def test_signalling_with_outcome_control_is_a_counterexample(
    results: dict[str, LemmaResult],
) -> None:
    r = results["control/signalling-with-outcome"]
    assert r.status == "counterexample" == EXPECTED[r.name], r
    w = Fraction(r.reason.split("w = ")[1].split(",")[0])
    assert 0 < w <= 1  # told the outcome, Bob sees a bias exactly when the pair is entangled


def test_vacuity_check_is_sat(results: dict[str, LemmaResult]) -> None:
    # "counterexample" = sat: the lemmas' hypotheses have a model, so they are not contradictory.
    assert results["control/vacuity"].status == "counterexample" == EXPECTED["control/vacuity"]


def test_wrong_claim_bob_sees_ket0_is_refuted() -> None:
    kraus = kraus_vars(4)
    hyps = mat_eq(completeness(kraus), identity(2))
    r = check("wrong/bob-is-ket0", hyps, mat_eq(bob_after(kraus, bell_state()), KET0), 500)
    assert r.status == "counterexample", r


def test_a_dropped_completeness_equation_breaks_the_bell_lemma() -> None:
    kraus = kraus_vars(4)
    hyps = mat_eq(completeness(kraus), identity(2))[1:]  # without Re(Σ K†K)[0][0] = 1
    r = check("wrong/not-trace-preserving", hyps, mat_eq(bob_after(kraus, bell_state()), HALF))
    assert r.status == "counterexample", r


def test_timeout_is_unknown_never_proved() -> None:
    kraus, w = kraus_vars(4), z3.Real("w")
    hyps = [*mat_eq(completeness(kraus), identity(2)), w >= 0, w <= 1]
    r = check("literal-werner", hyps, mat_eq(bob_after(kraus, werner_state(w)), HALF), 1)
    assert r.status == "unknown"
    assert "timeout" in r.reason or "canceled" in r.reason


def test_a_lemma_resting_on_an_unproved_cut_is_not_proved() -> None:
    lemma = LemmaResult("no-signalling/partial-trace-cyclicity", "unknown", 1.0, "timeout")
    r = ns._depends(LemmaResult("no-signalling/werner", "proved", 0.1), lemma)
    assert r.status == "unknown" and lemma.name in r.reason


def test_module_doctest() -> None:
    assert doctest.testmod(ns).failed == 0


# --- numpy cross-check of the helpers ------------------------------------------------------


def to_matrix(a: Array) -> Matrix:
    return [[(float(z.real), float(z.imag)) for z in row] for row in a]


def to_array(m: Matrix) -> Array:
    return np.array([[complex(_num(x), _num(y)) for x, y in row] for row in m])


def _num(x: Any) -> float:
    if isinstance(x, int | float):
        return float(x)
    value = z3.simplify(x)
    assert z3.is_rational_value(value), value
    return float(value.as_fraction())


def numpy_bob(kraus: Sequence[Array], rho: Array) -> Array:
    after = sum(np.kron(k, np.eye(2)) @ rho @ np.kron(k, np.eye(2)).conj().T for k in kraus)
    return np.asarray(np.einsum("abac->bc", np.asarray(after).reshape(2, 2, 2, 2)))


def random_unitary(rng: np.random.Generator, n: int = 2) -> Array:
    q, r = np.linalg.qr(rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n)))
    return np.asarray(q * (np.diag(r) / abs(np.diag(r))))


def random_channels(rng: np.random.Generator) -> list[list[Array]]:
    """A general 4-operator channel (isometry dilation), a unitary, a measurement in a random
    basis, and an amplitude-damping channel."""
    v, _ = np.linalg.qr(rng.normal(size=(8, 2)) + 1j * rng.normal(size=(8, 2)))
    u, g = random_unitary(rng), rng.uniform()
    damp = [np.array([[1, 0], [0, np.sqrt(1 - g)]]), np.array([[0, np.sqrt(g)], [0, 0]])]
    return [
        [v[2 * i : 2 * i + 2] for i in range(4)],
        [random_unitary(rng)],
        [np.outer(u[:, i], u[:, i].conj()) for i in (0, 1)],
        [np.asarray(k, dtype=complex) for k in damp],
    ]


def random_state(rng: np.random.Generator) -> Array:
    g = rng.normal(size=(4, 4)) + 1j * rng.normal(size=(4, 4))
    rho = g @ g.conj().T
    return np.asarray(rho / np.trace(rho))


def numpy_werner(w: float) -> Array:
    phi = np.array([1, 0, 0, 1]) / np.sqrt(2)
    return np.asarray(w * np.outer(phi, phi) + (1 - w) * np.eye(4) / 4, dtype=complex)


def test_float_helpers_match_numpy() -> None:
    rng = np.random.default_rng(20240611)
    for _ in range(20):
        rho = random_state(rng)
        for kraus in random_channels(rng):
            assert np.allclose(to_array(completeness([to_matrix(k) for k in kraus])), np.eye(2))
            got = to_array(bob_after([to_matrix(k) for k in kraus], to_matrix(rho)))
            want = numpy_bob(kraus, rho)
            assert np.max(abs(got - want)) < 1e-9
            assert np.max(abs(got - np.einsum("abac->bc", rho.reshape(2, 2, 2, 2)))) < 1e-9
    k = random_unitary(rng)
    assert np.max(abs(to_array(kron_id(to_matrix(k))) - np.kron(k, np.eye(2)))) < 1e-12
    rho = random_state(rng)
    want_trace = np.einsum("abac->bc", rho.reshape(2, 2, 2, 2))
    assert np.max(abs(to_array(partial_trace_a(to_matrix(rho))) - want_trace)) < 1e-12


def test_state_builders_match_numpy() -> None:
    assert np.max(abs(to_array(bell_state()) - numpy_werner(1.0))) < 1e-12
    for w in (0.0, 0.3, 1.0):
        assert np.max(abs(to_array(werner_state(w)) - numpy_werner(w))) < 1e-12


def _subst(m: Matrix, pairs: list[tuple[Any, Any]]) -> Matrix:
    def one(x: Any) -> Any:
        return z3.substitute(x, *pairs) if isinstance(x, z3.ExprRef) else x

    return [[(one(x), one(y)) for x, y in row] for row in m]


def _bind(sym: Matrix, num: Array) -> list[tuple[Any, Any]]:
    out = []
    for srow, nrow in zip(sym, num, strict=True):
        for (x, y), z in zip(srow, nrow, strict=True):
            for var, val in ((x, z.real), (y, z.imag)):
                if z3.is_const(var) and not z3.is_rational_value(var):
                    out.append((var, z3.RealVal(repr(float(val)))))
    return out


def test_symbolic_terms_evaluate_to_numpy() -> None:
    """The Z3 terms of the proofs, with random numbers substituted, equal numpy's result."""
    rng = np.random.default_rng(7)
    sym_kraus, sym_rho, w = kraus_vars(4), hermitian_vars("rho", 4), z3.Real("w")
    bob_general = bob_after(sym_kraus, sym_rho)
    bob_werner = bob_after(sym_kraus, werner_state(w))
    for _ in range(3):
        kraus, rho, wv = random_channels(rng)[0], random_state(rng), float(rng.uniform())
        k_pairs = [p for s, k in zip(sym_kraus, kraus, strict=True) for p in _bind(s, k)]
        got = to_array(_subst(bob_general, [*k_pairs, *_bind(sym_rho, rho)]))
        assert np.max(abs(got - numpy_bob(kraus, rho))) < 1e-9
        got_w = to_array(_subst(bob_werner, [*k_pairs, (w, z3.RealVal(repr(wv)))]))
        assert np.max(abs(got_w - numpy_bob(kraus, numpy_werner(wv)))) < 1e-9
        assert np.max(abs(got_w - np.eye(2) / 2)) < 1e-9
