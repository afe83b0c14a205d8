"""Rounding direction of the integer core (:mod:`pqms_model.physics.cost`), checked against exact
values.

The reference is exact arithmetic: floats convert to :class:`~fractions.Fraction` /
:class:`~decimal.Decimal` without error, and ``Decimal.ln`` / ``Decimal.exp`` are correctly
rounded at the context precision. At 100 significant digits every reference value below is within
~1e-80 nano-nepers of the true real number, so comparing with a margin of ``MARGIN = 1e-50`` nnp
*in the sound direction* (a bound must hold with the margin to spare) is a proof for that input,
not an approximation.

Why the checks are never optimistic (property (a)): ``fidelity_cost_nnp(f)`` is >= the exact cost
``-ln w_f`` (in nnp) and ``threshold_cost_nnp(th)`` is <= the exact ``-ln w_th``; so
``cost <= threshold`` implies ``-ln w_f <= -ln w_th``, i.e. ``f >= th``.

The rejection sliver (property (b)): a pair is accepted iff some integer lies in
``[a + g, b - g]`` (float cost of f and of th in nnp, ``g = 1e-3`` the float guard), so every pair
whose exact cost is more than ``1 + 2g`` plus float error (< 1e-4) under the threshold's is
accepted.
We check the round bound 1.01 nnp, which is below the brief's ``4 = 2 * SLIVER_NNP_PER_OP``. In
fidelity that is ``dF = (3/4) w dc < 0.76e-9``: any ``f >= th + 1e-9`` is accepted, and ``f == th``
itself (th < 1) is always rejected. Decay costs are exact rationals rounded up, so they are
pessimistic by less than one nnp (property (c)); composition (property (d)) adds at most
``SLIVER_NNP_PER_OP`` per rounded term and never undercounts.

No Hypothesis settings are hard-coded: the profile chosen by ``HYPOTHESIS_PROFILE`` (registered in
``tests/conftest.py``) decides the number of examples.
"""

from __future__ import annotations

import math
from decimal import Context, Decimal, localcontext
from fractions import Fraction

import pytest
from hypothesis import assume, given, note
from hypothesis import strategies as st

from pqms_model.physics.cost import (
    NNP_PER_NEPER,
    SLIVER_NNP_PER_OP,
    US_PER_S,
    cost_to_fidelity,
    decay_cost_nnp,
    exact_decay_nepers,
    fidelity_cost_nnp,
    threshold_cost_nnp,
    werner_cost_nnp,
)
from pqms_model.physics.werner import decay_fidelity, fidelity_to_werner, swap_fidelity

PREC = 100
MARGIN = Decimal("1e-50")
"""nnp; far above the 100-digit reference error, far below any rounding step of the core."""

SLIVER_BOUND_NNP = Decimal("1.01")
"""Exact cost gap below the threshold beyond which acceptance is guaranteed (see module doc)."""

NNP = Decimal(NNP_PER_NEPER)
EXACT = Context(prec=PREC)
"""All Decimal arithmetic in this file runs in this context (the default 28 digits would round)."""
F_MIN_OPEN = math.nextafter(0.25, 1.0)


# --------------------------------------------------------------------------------------------
# Exact reference
# --------------------------------------------------------------------------------------------


def exact_werner(f: float) -> Decimal:
    """(4F - 1)/3 to 100 digits (4F - 1 is exact; the division by 3 is the only rounding)."""
    with localcontext(EXACT):
        return (4 * Decimal(f) - 1) / 3


def exact_cost_of_werner(w: Decimal) -> Decimal:
    """-ln w in nano-nepers, 100 digits."""
    with localcontext(EXACT):
        return -w.ln() * NNP


def exact_cost(f: float) -> Decimal:
    return exact_cost_of_werner(exact_werner(f))


def exact_fidelity_of_cost(cost_nnp: Decimal) -> Decimal:
    with localcontext(EXACT):
        return (1 + 3 * (-cost_nnp / NNP).exp()) / 4


def accepted(f: float, th: float) -> bool:
    return fidelity_cost_nnp(f) <= threshold_cost_nnp(th)


def step_ulps(x: float, k: int) -> float:
    """x moved by k ulps (k may be negative)."""
    target = math.inf if k > 0 else -math.inf
    for _ in range(abs(k)):
        x = math.nextafter(x, target)
    return x


def clamp_open(f: float) -> float:
    return min(1.0, max(F_MIN_OPEN, f))


# --------------------------------------------------------------------------------------------
# Strategies
# --------------------------------------------------------------------------------------------

open_fidelities = st.floats(0.25, 1.0, exclude_min=True)


@st.composite
def fidelity_threshold_pairs(draw: st.DrawFn) -> tuple[float, float]:
    """(f, th): independent, a few ulps apart, or straddling the integer accept/reject boundary."""
    th = draw(st.one_of(open_fidelities, st.floats(0.5, 0.999999), st.sampled_from([0.9, 0.99])))
    mode = draw(st.sampled_from(["independent", "ulps", "boundary"]))
    if mode == "independent":
        f = draw(open_fidelities)
    elif mode == "ulps":
        f = step_ulps(th, draw(st.integers(-200, 200)))
    else:  # fidelities whose rounded cost is right at the threshold's integer cost
        c = max(0, threshold_cost_nnp(th) + draw(st.integers(-3, 3)))
        f = step_ulps(cost_to_fidelity(c), draw(st.integers(-100, 100)))
    return clamp_open(f), th


@st.composite
def pairs_just_above_threshold(draw: st.DrawFn) -> tuple[float, float]:
    """(f, th) with f's exact cost 0..8 nnp below the threshold's (where the sliver lives)."""
    th = draw(st.one_of(open_fidelities, st.floats(0.5, 0.999999)))
    gap_nnp = draw(st.floats(0.0, 8.0))
    w = min(1.0, fidelity_to_werner(th) * math.exp(gap_nnp / NNP_PER_NEPER))
    f = clamp_open(step_ulps((1.0 + 3.0 * w) / 4.0, draw(st.integers(-3, 3))))
    return f, th


# --------------------------------------------------------------------------------------------
# The two roundings, separately
# --------------------------------------------------------------------------------------------


@given(open_fidelities)
def test_fidelity_cost_rounds_up_by_less_than_the_sliver(f: float) -> None:
    cost = fidelity_cost_nnp(f)
    with localcontext(EXACT):
        exact = exact_cost(f)
        if f == 1.0:
            assert cost == 0 == exact
        else:  # pessimistic (the exact cost is irrational unless f == 1)
            assert cost >= exact + MARGIN
        assert cost < exact + SLIVER_NNP_PER_OP


@given(open_fidelities)
def test_threshold_cost_rounds_down_by_less_than_the_sliver(th: float) -> None:
    limit = threshold_cost_nnp(th)
    assert limit >= 0
    with localcontext(EXACT):
        exact = exact_cost(th)
        assert limit <= exact - MARGIN or (limit == 0 and exact == 0)
        assert limit > exact - SLIVER_NNP_PER_OP


@given(st.floats(0.0, 1.0, exclude_min=True))
def test_werner_cost_rounds_up(w: float) -> None:
    cost = werner_cost_nnp(w)
    with localcontext(EXACT):
        exact = exact_cost_of_werner(Decimal(w))
        assert cost >= exact + MARGIN or (cost == 0 and w == 1.0)
        assert cost < exact + SLIVER_NNP_PER_OP


# --------------------------------------------------------------------------------------------
# (a) never optimistic
# --------------------------------------------------------------------------------------------


@given(fidelity_threshold_pairs())
def test_acceptance_is_never_optimistic(pair: tuple[float, float]) -> None:
    f, th = pair
    with localcontext(EXACT):
        if accepted(f, th):
            assert Fraction(f) >= Fraction(th)  # exact comparison of the two binary floats
            assert exact_werner(f) >= exact_werner(th)
            assert exact_cost(f) <= exact_cost(th)
        else:
            # rejected pairs lie below the threshold or inside the sliver just above it
            assert exact_cost(th) - exact_cost(f) <= SLIVER_BOUND_NNP


def test_acceptance_boundary_examples() -> None:
    th = 0.9
    limit = threshold_cost_nnp(th)
    assert limit == 143100843  # exact -ln w_th = 143100843.6406... nnp, rounded down
    with localcontext(EXACT):
        assert Decimal("0.6406") < exact_cost(th) - limit < Decimal("0.6407")
        # one nano-neper inside the integer limit: accepted, and exactly (if barely) above th
        f_in = cost_to_fidelity(limit - 1)
        assert accepted(f_in, th)
        assert 1 < exact_cost(th) - exact_cost(f_in) < 2  # the exact gap: 1.64 nnp
    assert 0 < Fraction(f_in) - Fraction(th) < Fraction(11, 10**10)  # 1.07e-9 in fidelity
    # at the threshold and one ulp above it: inside the sliver, rejected
    assert not accepted(th, th)
    assert not accepted(math.nextafter(th, 1.0), th)
    assert not accepted(math.nextafter(th, 0.0), th)
    assert accepted(1.0, 1.0)
    assert not accepted(math.nextafter(1.0, 0.0), 1.0)


# --------------------------------------------------------------------------------------------
# (b) the rejection sliver
# --------------------------------------------------------------------------------------------


@given(st.one_of(pairs_just_above_threshold(), fidelity_threshold_pairs()))
def test_only_a_sliver_above_the_threshold_is_rejected(pair: tuple[float, float]) -> None:
    f, th = pair
    assume(f >= th)
    with localcontext(EXACT):
        gap = exact_cost(th) - exact_cost(f)  # exact, >= 0 since f >= th
    note(f"f={f!r} th={th!r} exact gap={gap:.6f} nnp")
    assert gap >= 0
    if gap > 2 * SLIVER_NNP_PER_OP:  # the brief's bound: more than 4 nnp -> accepted
        assert accepted(f, th)
    if gap > SLIVER_BOUND_NNP:  # the tight bound: 1 + 2 * guard + float error < 1.01 nnp
        assert accepted(f, th)
    if Fraction(f) - Fraction(th) > Fraction(1, 10**9):  # in fidelity: more than 1e-9 -> accepted
        assert accepted(f, th)


@given(st.floats(0.25, 1.0, exclude_min=True, exclude_max=True))
def test_the_threshold_itself_is_rejected(th: float) -> None:
    """The sliver is real: a pair exactly at the threshold fidelity is pessimistically rejected."""
    assert not accepted(th, th)
    assert fidelity_cost_nnp(th) - threshold_cost_nnp(th) in (1, 2)


# --------------------------------------------------------------------------------------------
# (c) decay: exact rational, rounded up by less than one nano-neper
# --------------------------------------------------------------------------------------------


@given(st.integers(0, 10**13), st.integers(1, 10**13))
def test_decay_cost_is_exact_ceiling(elapsed_us: int, coherence_us: int) -> None:
    cost = decay_cost_nnp(elapsed_us, coherence_us)
    exact = Fraction(elapsed_us, coherence_us)
    assert exact_decay_nepers(elapsed_us, coherence_us) == exact
    assert Fraction(cost, NNP_PER_NEPER) >= exact
    assert Fraction(cost, NNP_PER_NEPER) < exact + Fraction(1, NNP_PER_NEPER)


@pytest.mark.parametrize(("elapsed_us", "coherence_us"), [(-1, 10), (5, 0), (5, -3)])
def test_decay_cost_rejects_bad_input(elapsed_us: int, coherence_us: int) -> None:
    with pytest.raises(ValueError):
        decay_cost_nnp(elapsed_us, coherence_us)


@pytest.mark.parametrize("bad", [0.25, 0.1, 1.0000001, float("nan")])
def test_cost_functions_reject_bad_fidelity(bad: float) -> None:
    with pytest.raises(ValueError, match="fidelity"):
        fidelity_cost_nnp(bad)
    with pytest.raises(ValueError, match="fidelity"):
        threshold_cost_nnp(bad)


# --------------------------------------------------------------------------------------------
# (d) composition: the integer cost of a built pair never undercounts
# --------------------------------------------------------------------------------------------

decays = st.lists(st.tuples(st.integers(0, 10**7), st.integers(1, 10**8)), max_size=3)
"""(elapsed_us, coherence_us) periods one half is held: up to 10 s at T from 1 us to 100 s."""

Periods = list[tuple[int, int]]
Link = tuple[float, Periods, Periods]
History = tuple[list[Link], list[float], Periods]

links = st.tuples(st.floats(0.5, 1.0), decays, decays)
"""An elementary link: fidelity at heralding, then decays of its left and right half."""


@st.composite
def pair_histories(draw: st.DrawFn) -> History:
    chain = draw(st.lists(links, min_size=1, max_size=5))
    gates = draw(
        st.lists(
            st.one_of(st.just(1.0), st.floats(0.9, 1.0)),
            min_size=len(chain) - 1,
            max_size=len(chain) - 1,
        )
    )
    final = draw(decays)  # the end-to-end pair waiting in the pool
    return chain, gates, final


@given(pair_histories(), st.data())
def test_composed_cost_never_undercounts(history: History, data: st.DataObject) -> None:
    chain, gates, final = history
    periods = [d for _, left, right in chain for d in (*left, *right)] + list(final)

    # integer core: every term rounded up, then summed
    total = sum(fidelity_cost_nnp(f) for f, _, _ in chain)
    total += sum(fidelity_cost_nnp(g) for g in gates)
    total += sum(decay_cost_nnp(t, tc) for t, tc in periods)
    rounded_terms = len(chain) + len(gates) + len(periods)

    # exact physics: w multiplies, so the exact cost is the exact sum
    with localcontext(EXACT):
        true_cost = sum((exact_cost(f) for f, _, _ in chain), Decimal(0))
        true_cost += sum((exact_cost(g) for g in gates), Decimal(0))
        true_cost += sum((Decimal(t) * NNP / Decimal(tc) for t, tc in periods), Decimal(0))
        true_f = exact_fidelity_of_cost(true_cost)
        assert total >= true_cost - MARGIN  # equality only when every term is an exact integer
        assert total < true_cost + SLIVER_NNP_PER_OP * rounded_terms
        assert true_f >= exact_fidelity_of_cost(Decimal(total)) - MARGIN / NNP
    # cost_to_fidelity is a float report value: exact up to its own last-bit rounding
    assert float(true_f) >= cost_to_fidelity(total) - 2 * math.ulp(1.0)

    # the float physics helpers build the same pair (cross-check of physics.py with cost.py)
    f_phys = 1.0
    for i, (f, left, right) in enumerate(chain):
        for t, tc in (*left, *right):
            f = decay_fidelity(f, t / US_PER_S, tc / US_PER_S)
        f_phys = f if i == 0 else swap_fidelity(f_phys, f, gates[i - 1])
    for t, tc in final:
        f_phys = decay_fidelity(f_phys, t / US_PER_S, tc / US_PER_S)
    assert abs(f_phys - float(true_f)) <= 1e-12

    # end-to-end safety: a pool admitting by integer cost never holds a pair below threshold
    th = clamp_open(
        step_ulps(
            cost_to_fidelity(total + data.draw(st.integers(-3, 3))),
            data.draw(st.integers(-50, 50)),
        )
    )
    if total <= threshold_cost_nnp(th):
        with localcontext(EXACT):
            assert true_f >= Decimal(th)


@given(
    coherence_s=st.tuples(st.integers(1, 7200), st.integers(1, 7200)),
    same=st.booleans(),
    spare=st.integers(-5, 3_000_000),
    end_to_end=st.booleans(),
)
def test_cut_off_is_the_last_time_within_the_margin(
    coherence_s: tuple[int, int], same: bool, spare: int, end_to_end: bool
) -> None:
    """``ModelCore._deadline`` (the cut-off's offset from the stamp) against its definition:
    the last wait ``t`` (at most the pool's ``max_wait`` for an end-to-end pair) at which the
    pair's cost still meets ``margin`` (the threshold less the bits' transit decay); -1 if none.
    Covers the equal-coherence shortcut and the search for two different coherences."""
    from pqms_model.model.core import ModelCore
    from pqms_model.physics.cost import decay_cost_nnp
    from pqms_model.protocol.scenario import load_default

    m = ModelCore(load_default())
    pl = m.scenario.pools[0]
    t_a = coherence_s[0] * 1_000_000
    t_b = t_a if same else coherence_s[1] * 1_000_000
    m._coh[pl.a], m._coh[pl.b] = t_a, t_b
    margin = pl.threshold_nnp - m.transit_decay(pl.a, pl.b)
    cost_nnp = max(0, margin - spare)

    def cost(t: int) -> int:
        return cost_nnp + decay_cost_nnp(t, t_a) + decay_cost_nnp(t, t_b)

    got = m._deadline(pl.a, pl.b, cost_nnp, pl.index, end_to_end)
    note(f"margin {margin}, cost {cost_nnp}, coherences {t_a} {t_b}: {got}")
    if cost(0) > margin:
        assert got == -1
        return
    assert got >= 0 and cost(got) <= margin
    if end_to_end:
        assert got <= pl.max_wait_us
        assert got == pl.max_wait_us or cost(got + 1) > margin
    else:
        assert cost(got + 1) > margin
