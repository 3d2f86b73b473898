"""passlens.theory: closed forms, unbiased estimators, summary, gradient identities.

All in float64. Tolerances are stated at each assertion; oracles are exhaustive
enumeration, exact rational arithmetic (fractions.Fraction / math.comb), mpmath
at 50 digits, Monte Carlo with fixed seeds, and torch autograd.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import subprocess
import sys
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binom

from passlens import theory as th
from passlens.lab import shared_policy as sp

try:
    import torch
except ImportError:  # pragma: no cover - torch is a test dependency
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch not installed")

KS = [1, 2, 3, 4, 8, 16, 64]


# ----------------------------------------------------------------------------
# closed forms in p
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("k", [1, 2, 3, 5, 8])
@pytest.mark.parametrize("p", [0.0, 0.03, 0.3, 0.77, 1.0])
def test_pass_at_k_of_p_matches_enumeration_of_all_outcomes(p: float, k: int) -> None:
    # P(any correct) summed over all 2^k outcome vectors; tolerance 1e-14.
    exact = sum(
        math.prod(p if v else 1 - p for v in outcome)
        for outcome in itertools.product((0, 1), repeat=k)
        if any(outcome)
    )
    assert abs(th.pass_at_k_of_p(p, k) - exact) <= 1e-14


def test_pass_at_k_of_p_matches_monte_carlo() -> None:
    rng = np.random.default_rng(12345)
    draws = 200_000
    for p in (0.01, 0.1, 0.5):
        for k in (1, 2, 4, 8, 16):
            hits = (rng.random((draws, k)) < p).any(axis=1).mean()
            exact = th.pass_at_k_of_p(p, k)
            se = math.sqrt(exact * (1 - exact) / draws)
            assert abs(hits - exact) <= 5 * se + 1e-12, (p, k, hits, exact)


def _mp(f, *args):  # 50-digit reference
    with mpmath.workdps(50):
        return float(f(*[mpmath.mpf(a) for a in args]))


@pytest.mark.parametrize("p", [1e-20, 1e-12, 1e-6, 0.2, 0.9, 1 - 1e-9])
@pytest.mark.parametrize("k", [2, 7, 64])
def test_closed_forms_keep_full_relative_precision(p: float, k: int) -> None:
    # Against 50-digit mpmath, relative 1e-13. The naive 1 − (1 − p)^k is 0 at p = 1e-20.
    ref_j = _mp(lambda q: 1 - (1 - q) ** k, p)
    ref_gap = _mp(lambda q: (1 - q) - (1 - q) ** k, p)
    ref_alpha = _mp(lambda q: k * (1 - q) ** (k - 1), p)
    ref_sig = _mp(lambda q: k**2 * q * (1 - q) ** (2 * k - 1), p)
    ref_zero = _mp(lambda q: (1 - q) ** k + q**k, p)
    for got, ref in (
        (th.pass_at_k_of_p(p, k), ref_j),
        (th.gap(p, k), ref_gap),
        (th.alpha(p, k), ref_alpha),
        (th.signal(p, k), ref_sig),
        (th.zero_signal_probability(p, k), ref_zero),
    ):
        assert got == pytest.approx(ref, rel=1e-13, abs=1e-300)
    assert 1 - (1 - 1e-20) ** k == 0.0  # the cancellation the stable form avoids


@pytest.mark.parametrize("k", [1, 2, 5, 16])
@pytest.mark.parametrize("p", [0.01, 0.3, 0.8])
def test_alpha_is_the_derivative_of_pass_at_k_in_pass_at_1(p: float, k: int) -> None:
    # dJ_k/dJ_1 by 50-digit numerical differentiation; relative 1e-12.
    with mpmath.workdps(50):
        d = float(mpmath.diff(lambda q: 1 - (1 - q) ** k, mpmath.mpf(p)))
    assert th.alpha(p, k) == pytest.approx(d, rel=1e-12)


def test_alpha_range_monotonicity_and_endpoints() -> None:
    p = np.linspace(0.0, 1.0, 2001)
    a = th.alpha(p, np.array(KS))  # (G, K)
    assert a.shape == (p.size, len(KS))
    for j, k in enumerate(KS):
        col = a[:, j]
        assert np.all(col >= 0) and np.all(col <= k)
        assert col[0] == k
        if k == 1:
            assert np.all(col == 1.0)  # α_1 ≡ 1, including p = 1
        else:
            assert col[-1] == 0.0
            assert np.all(np.diff(col) < 0)  # strictly decreasing on the grid


def test_gap_formula_sign_zeros_and_argmax_on_a_fine_grid() -> None:
    p = np.linspace(0.0, 1.0, 200_001)
    ks = np.array([1, 2, 3, 4, 8, 16, 32, 100])
    g = th.gap(p, ks)  # (G, K)
    direct = (1 - p)[:, None] - (1 - p)[:, None] ** ks[None, :]
    # 1e-14 absolute: exp(m·log1p(−p)) carries ~|m·log(1 − p)| ulps, as does the naive power.
    assert np.max(np.abs(g - direct)) <= 1e-14
    assert np.all(g >= 0)
    assert np.all(g[0] == 0) and np.all(g[-1] == 0) and np.all(g[:, 0] == 0)
    p_star, g_max = th.gap_argmax(ks)
    assert math.isnan(p_star[0]) and g_max[0] == 0.0
    for j in range(1, ks.size):
        # p* really maximizes: no grid point beats it, and the grid argmax is within one step of it.
        assert g[:, j].max() <= g_max[j] + 1e-15
        assert abs(p[np.argmax(g[:, j])] - p_star[j]) <= 1.5e-5
        assert th.gap(p_star[j], int(ks[j])) == pytest.approx(g_max[j], rel=1e-14)
    assert th.gap_argmax(2) == (0.5, 0.25)


def test_pass_at_k_is_increasing_and_concave_in_pass_at_1() -> None:
    p = np.linspace(0.0, 1.0, 1001)
    for k in (1, 2, 4, 16):
        j = th.pass_at_k_of_p(p, k)
        assert np.all(np.diff(j) >= 0)
        second = np.diff(j, 2)
        assert np.all(second <= 1e-15)
        if k > 1:
            # −k(k−1)(1−p)^{k−2} h²: the second difference matches the analytic curvature.
            h = p[1] - p[0]
            analytic = -k * (k - 1) * (1 - p[1:-1]) ** (k - 2) * h**2
            assert np.max(np.abs(second - analytic)) <= 1e-6 * h**2 * k**3 + 1e-13
            assert second[:500].max() < 0


@pytest.mark.parametrize("n", [1, 2, 5, 9])
@pytest.mark.parametrize("p", [0.0, 0.2, 0.5, 0.93])
def test_zero_signal_probability_matches_enumeration(n: int, p: float) -> None:
    # P(all n rewards equal) over all 2^n outcomes; tolerance 1e-14.
    exact = sum(
        math.prod(p if v else 1 - p for v in o)
        for o in itertools.product((0, 1), repeat=n)
        if len(set(o)) == 1
    )
    assert abs(th.zero_signal_probability(p, n) - exact) <= 1e-14


def test_signal_matches_the_formula_and_peaks_at_one_over_2k() -> None:
    p = np.linspace(0.0, 1.0, 100_001)
    for k in (1, 2, 4, 8):
        s = th.signal(p, k)
        direct = np.array([k * k * q * (1 - q) ** (2 * k - 1) for q in p[::997]])
        assert np.max(np.abs(s[::997] - direct)) <= 1e-14
        assert abs(p[np.argmax(s)] - 1 / (2 * k)) <= 1e-5
        assert s[0] == 0 and s[-1] == 0
        np.testing.assert_allclose(s, th.alpha(p, k) ** 2 * p * (1 - p), rtol=1e-13, atol=1e-300)


def test_shapes_and_input_errors() -> None:
    p = np.full((2, 3), 0.25)
    assert th.alpha(p, 3).shape == (2, 3)
    assert th.alpha(p, np.array([1, 2, 4, 8])).shape == (2, 3, 4)
    assert th.gap(p, [1, 2]).shape == (2, 3, 2)
    assert isinstance(th.signal(0.3, 2), float)
    assert th.zero_signal_probability(0.5, [1, 2]).shape == (2,)
    with pytest.raises(ValueError, match=r"index \(1, 2\)"):
        th.alpha(np.array([[0.1, 0.2, 0.3], [0.4, 0.5, 1.5]]), 2)
    with pytest.raises(ValueError, match="nan"):
        th.gap(float("nan"), 2)
    with pytest.raises(ValueError, match=r"the scalar has p=1.000001"):
        th.signal(1.000001, 2)
    assert th.alpha(1 + 2e-16, 2) == 0.0  # an ulp of rounding above 1 is clipped, not an error
    with pytest.raises(ValueError, match=r"k must be an integer ≥ 1: got k=0 at index 1"):
        th.pass_at_k_of_p(0.5, [1, 0])
    with pytest.raises(ValueError, match="integer"):
        th.signal(0.5, 1.5)
    with pytest.raises(ValueError, match="n must be"):
        th.zero_signal_probability(0.5, 0)
    # Budgets ≥ 2⁵³ would round as floats (and wrap as int64 from 2⁶³): errors, not wrong values.
    for big in (2**63, 1e19, np.uint64(2**63)):
        with pytest.raises(ValueError, match="k must be < 2⁵³"):
            th.pass_at_k_of_p(0.5, big)
        with pytest.raises(ValueError, match="k must be < 2⁵³"):
            th.alpha_hat(10, 3, big)
    assert th.pass_at_k_of_p(0.5, 2**52) == 1.0
    with pytest.raises(ValueError, match="at least one problem"):
        th.summarize([], [])


def test_probabilities_are_read_as_float64_with_a_rounding_slack_of_1e_12() -> None:
    from passlens.theory.closed_forms import _P_SLACK

    # Exact rationals and decimals are probabilities too: read as float64, not as an object array.
    assert th.alpha([Fraction(1, 2), Fraction(1, 4)], 2).tolist() == [1.0, 1.5]
    assert th.gap(Fraction(1, 2), 2) == 0.25
    with pytest.raises(ValueError) as info:
        th.alpha("half", 2)
    assert str(info.value) == "p must be numeric"
    # Up to 1e-12 outside [0, 1] is rounding, clipped to the end point (both boundaries included); beyond it an error.
    assert th.alpha(-_P_SLACK, 3) == 3.0 and th.alpha(-1e-13, 3) == 3.0  # exactly α_3(0), not 3(1 + 1e-13)²
    assert th.alpha(1.0 + _P_SLACK, 3) == 0.0
    for bad in (-2 * _P_SLACK, 1.0 + 2 * _P_SLACK):
        with pytest.raises(ValueError, match="p must lie in"):
            th.alpha(bad, 3)


def test_scalar_budgets_give_scalars_and_edges_give_no_warning_and_no_negative_zero() -> None:
    import warnings

    for f in (th.alpha, th.pass_at_k_of_p, th.gap, th.signal, th.zero_signal_probability):
        one = f(0.3, 2)
        assert isinstance(one, np.floating) and np.ndim(one) == 0, f.__name__
        assert f([0.3, 0.4], 2).shape == (2,), f.__name__
    p_star, g_max = th.gap_argmax(2)
    assert isinstance(p_star, np.floating) and isinstance(g_max, np.floating)
    assert (p_star, g_max) == (0.5, 0.25)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="warn"):
            # k = 1: log(1)/0 is 0/0, masked to NaN (argmax) and 0 (peak)
            p_star, g_max = th.gap_argmax(np.array([1, 2, 3]))
            edge = th.gap(np.array([0.0, 1.0]), np.array([1, 2, 5]))
    assert np.isnan(p_star[0]) and g_max[0] == 0.0
    np.testing.assert_allclose(p_star[1:], [0.5, 1 - 3 ** -0.5], rtol=1e-15)
    assert (edge == 0.0).all() and not np.signbit(edge).any()  # gap(0, 1) is −0.0 before the + 0.0


# ----------------------------------------------------------------------------
# unbiased estimators from counts
# ----------------------------------------------------------------------------

CASES = [(1, 1, 0.3), (1, 2, 0.3), (5, 3, 0.1), (16, 8, 0.37), (16, 17, 0.9), (40, 16, 0.02), (200, 32, 0.05)]


def _expect(estimator, n: int, k: int, p: float) -> float:
    """E over c ~ Bin(n, p) of estimator(n, c, k), by summing over every c."""
    c = np.arange(n + 1)
    return float(np.sum(binom.pmf(c, n, p) * estimator(np.full(n + 1, n), c, k)))


@pytest.mark.parametrize("n,k,p", CASES)
def test_alpha_hat_is_unbiased(n: int, k: int, p: float) -> None:
    assert abs(_expect(th.alpha_hat, n, k, p) - th.alpha(p, k)) <= 1e-12


@pytest.mark.parametrize("n,k,p", [(2, 1, 0.4), (8, 4, 0.1), (16, 8, 0.05), (17, 3, 0.6), (64, 16, 0.01), (300, 64, 0.004)])
def test_signal_hat_is_unbiased(n: int, k: int, p: float) -> None:
    assert abs(_expect(th.signal_hat, n, k, p) - th.signal(p, k)) <= 1e-12


@pytest.mark.parametrize("n,k,p", [(1, 1, 0.3), (6, 4, 0.2), (16, 16, 0.1), (50, 8, 0.7)])
def test_gap_hat_and_zero_signal_hat_are_unbiased(n: int, k: int, p: float) -> None:
    assert abs(_expect(th.gap_hat, n, k, p) - th.gap(p, k)) <= 1e-12
    assert abs(_expect(th.zero_signal_hat, n, k, p) - th.zero_signal_probability(p, k)) <= 1e-12


def test_estimators_are_exactly_unbiased_in_rational_arithmetic() -> None:
    # The loop formulas with Fraction; expectation over Bin(n, 1/3) equals the estimand exactly.
    p = Fraction(1, 3)
    for n in (1, 4, 9):
        pmf = [math.comb(n, c) * p**c * (1 - p) ** (n - c) for c in range(n + 1)]
        for k in range(1, n + 2):
            a = [Fraction(k * math.comb(n - c, k - 1), math.comb(n, k - 1)) for c in range(n + 1)]
            assert sum(w * v for w, v in zip(pmf, a)) == k * (1 - p) ** (k - 1)
        for k in range(1, n // 2 + 1):
            s = [Fraction(k, 2) * c * math.comb(n - c, 2 * k - 1) / math.comb(n, 2 * k) for c in range(n + 1)]
            assert sum(w * v for w, v in zip(pmf, s)) == k**2 * p * (1 - p) ** (2 * k - 1)


def test_vectorized_estimators_match_the_python_loop() -> None:
    # Every (n, c, k) with n ≤ 24 against math.comb ratios; relative 1e-13.
    for n in range(1, 25):
        c = np.arange(n + 1)
        nn = np.full(n + 1, n)
        ka = np.arange(1, n + 2)
        got_a = th.alpha_hat(nn, c, ka)  # (n+1, K)
        for ci in range(n + 1):
            for j, k in enumerate(ka):
                ref = k * math.comb(n - ci, k - 1) / math.comb(n, k - 1)
                assert got_a[ci, j] == pytest.approx(ref, rel=1e-13, abs=1e-300)
        ks = np.arange(1, n // 2 + 1)
        if ks.size:
            got_s = th.signal_hat(nn, c, ks)
            for ci in range(n + 1):
                for j, k in enumerate(ks):
                    ref = k / 2 * ci * math.comb(n - ci, 2 * k - 1) / math.comb(n, 2 * k)
                    assert got_s[ci, j] == pytest.approx(ref, rel=1e-13, abs=1e-300)
        got_g = th.gap_hat(nn, c, np.arange(1, n + 1))
        got_z = th.zero_signal_hat(nn, c, max(1, n // 2))
        for ci in range(n + 1):
            for k in range(1, n + 1):
                ref = (1 - math.comb(n - ci, k) / math.comb(n, k)) - ci / n
                assert got_g[ci, k - 1] == pytest.approx(ref, rel=1e-12, abs=1e-15)
            G = max(1, n // 2)
            ref_z = (math.comb(n - ci, G) + math.comb(ci, G)) / math.comb(n, G)
            assert got_z[ci] == pytest.approx(ref_z, rel=1e-13)


@pytest.mark.parametrize("n,c,k", [(8, 3, 1), (8, 3, 2), (8, 3, 4), (9, 1, 2), (7, 6, 3), (10, 0, 2), (6, 6, 3)])
def test_signal_hat_is_the_mean_over_all_2k_subsets(n: int, c: int, k: int) -> None:
    # Exhaustive U-statistic: (k/2)·1[exactly one correct] averaged over every 2k-subset.
    sample = [1] * c + [0] * (n - c)
    subsets = list(itertools.combinations(range(n), 2 * k))
    u = sum(k / 2 * (sum(sample[i] for i in s) == 1) for s in subsets) / len(subsets)
    assert th.signal_hat(n, c, k) == pytest.approx(u, rel=1e-13, abs=1e-300)


@settings(max_examples=200, derandomize=True, deadline=None)
@given(n=st.integers(1, 300), data=st.data())
def test_alpha_hat_matches_exact_rationals_property(n: int, data: st.DataObject) -> None:
    c = data.draw(st.integers(0, n))
    k = data.draw(st.integers(1, n + 1))
    ref = Fraction(k * math.comb(n - c, k - 1), math.comb(n, k - 1))
    assert th.alpha_hat(n, c, k) == pytest.approx(float(ref), rel=1e-12, abs=1e-300)


def test_estimators_raise_naming_the_problem_when_n_is_too_small() -> None:
    with pytest.raises(ValueError, match=r"alpha_hat needs n ≥ 3 for k=4: problem index 1 has n=2"):
        th.alpha_hat(np.array([8, 2]), np.array([1, 1]), 4)
    with pytest.raises(ValueError, match=r"problem 'b' \(index 1\)"):
        th.alpha_hat([8, 2], [1, 1], 4, ids=["a", "b"])
    with pytest.raises(ValueError, match=r"signal_hat needs n ≥ 8 for k=4: problem index 0 has n=7"):
        th.signal_hat(7, 3, 4)
    with pytest.raises(ValueError, match=r"gap_hat needs n ≥ 5"):
        th.gap_hat([5, 4], [1, 1], 5)
    with pytest.raises(ValueError, match=r"zero_signal_hat needs n ≥ 16"):
        th.zero_signal_hat([16, 15], [3, 3], 16)
    with pytest.raises(ValueError, match="c > n"):
        th.alpha_hat([4], [5], 2)
    assert th.alpha_hat(3, 0, 4) == 4.0 and th.alpha_hat(4, 1, 4) == pytest.approx(1.0)  # n = k − 1 is enough
    assert th.signal_hat(8, 1, 4) == pytest.approx(2.0)  # n = 2k is enough: (k/2)·1·C(7, 7)/C(8, 8)
    out = th.signal_hat([7, 8], [3, 3], [1, 4], k_exceeds_n="nan")
    assert out.shape == (2, 2) and math.isnan(out[0, 1]) and not np.isnan(out[[0, 1, 1], [0, 0, 1]]).any()
    with pytest.warns(DeprecationWarning, match="too_few_samples= is deprecated"):  # the old name, one release
        old = th.signal_hat([7, 8], [3, 3], [1, 4], too_few_samples="nan")
    np.testing.assert_array_equal(old, out)
    with pytest.raises(ValueError, match="k_exceeds_n must be 'raise' or 'nan'"):
        th.gap_hat(4, 1, 2, k_exceeds_n="drop")  # type: ignore[arg-type]
    assert th.alpha_hat(1, 0, 1) == 1.0 and th.signal_hat(10, 0, 2) == 0 and th.signal_hat(10, 10, 2) == 0


# ----------------------------------------------------------------------------
# dataset summary vs direct loops
# ----------------------------------------------------------------------------


def _bucket(c: int, n: int, cuts: list[float]) -> int:
    if c == 0:
        return 0
    if c == n:
        return len(cuts) + 2
    p = c / n
    for i, cut in enumerate(cuts):
        if p <= cut:
            return i + 1
    return len(cuts) + 1


@pytest.mark.parametrize("cuts", [list(th.DEFAULT_BUCKETS), [0.5], [0.05, 0.25, 0.5, 0.75, 0.95]])
def test_summarize_matches_loops(cuts: list[float]) -> None:
    rng = np.random.default_rng(7)
    P = 300
    n = rng.choice([4, 10, 16, 32], size=P)
    c = rng.binomial(n, rng.beta(0.4, 0.6, size=P))
    c[:5] = 0
    c[5:10] = n[5:10]
    c[10] = int(n[10] * cuts[0]) if n[10] * cuts[0] == int(n[10] * cuts[0]) else c[10]  # a value on a cut
    ks = [1, 2, 4, 8, 16]
    G = 8
    s = th.summarize(n, c, ks=ks, group_size=G, buckets=cuts)
    pairs = list(zip(n.tolist(), c.tolist()))
    assert s.n_problems == P
    assert s.pass1_mean == pytest.approx(sum(ci / ni for ni, ci in pairs) / P, rel=1e-13)
    B = len(cuts) + 3
    labels = [_bucket(ci, ni, cuts) for ni, ci in pairs]
    assert s.bucket_counts.tolist() == [labels.count(b) for b in range(B)]
    assert len(s.bucket_labels) == B
    for j, k in enumerate(ks):
        a = [k * math.comb(ni - ci, k - 1) / math.comb(ni, k - 1) for ni, ci in pairs if ni >= k - 1]
        assert s.alpha_problems[j] == len(a)
        assert s.alpha_mean[j] == pytest.approx(sum(a) / len(a), rel=1e-12)
        np.testing.assert_allclose(s.alpha_quantiles[j], np.quantile(np.array(a), s.alpha_quantile_levels), rtol=1e-12)
        g = [(1 - math.comb(ni - ci, k) / math.comb(ni, k)) - ci / ni for ni, ci in pairs if ni >= k]
        assert s.gap_problems[j] == len(g)
        assert s.gap_mean[j] == pytest.approx(sum(g) / len(g), rel=1e-12, abs=1e-15)
        sig = {
            i: k / 2 * ci * math.comb(ni - ci, 2 * k - 1) / math.comb(ni, 2 * k)
            for i, (ni, ci) in enumerate(pairs)
            if ni >= 2 * k
        }
        assert s.signal_problems[j] == len(sig)
        if sig:
            total = sum(sig.values())
            assert s.signal_total[j] == pytest.approx(total, rel=1e-12)
            for b in range(B):
                share = sum(v for i, v in sig.items() if labels[i] == b) / total
                assert s.signal_share[b, j] == pytest.approx(share, rel=1e-12, abs=1e-15)
            assert s.signal_share[0, j] == 0 and s.signal_share[-1, j] == 0  # polarized: no signal
            assert np.nansum(s.signal_share[:, j]) == pytest.approx(1.0, rel=1e-12)
        else:
            assert math.isnan(s.signal_total[j]) and np.isnan(s.signal_share[:, j]).all()
    assert s.frac_never_solved == sum(ci == 0 for _, ci in pairs) / P
    assert s.frac_always_solved == sum(ci == ni for ni, ci in pairs) / P
    z = [(math.comb(ni - ci, G) + math.comb(ci, G)) / math.comb(ni, G) for ni, ci in pairs if ni >= G]
    assert s.zero_signal_problems == len(z)
    assert s.zero_signal_fraction == pytest.approx(sum(z) / len(z), rel=1e-12)
    plug = sum((1 - ci / ni) ** G + (ci / ni) ** G for ni, ci in pairs) / P
    assert s.zero_signal_plugin == pytest.approx(plug, rel=1e-12)
    # problems with n = 4 are left out at k = 8, 16 and at G = 8: a note says so
    assert any("signal_hat at k=4" in note for note in s.notes)
    assert any(f"at G={G}" in note for note in s.notes)


def test_summarize_defaults_json_and_fallbacks() -> None:
    n = np.full(6, 4)
    c = np.array([0, 1, 2, 3, 4, 4])
    s = th.summarize(n, c, group_size=16)
    assert s.ks.tolist() == [1, 2, 4]
    assert s.bucket_labels == ("p̂=0", "(0, 0.1]", "(0.1, 0.3]", "(0.3, 0.7]", "(0.7, 0.9]", "(0.9, 1)", "p̂=1")
    assert math.isnan(s.zero_signal_fraction) and s.zero_signal_problems == 0
    assert any("no unbiased estimate" in note for note in s.notes)
    d = s.to_dict()
    text = json.dumps(d, allow_nan=False)  # JSON-ready: NaN became null
    back = json.loads(text)
    assert back["zero_signal_fraction"] is None
    assert back["ks"] == [1, 2, 4] and back["n_problems"] == 6
    assert set(back) == set(th.TheorySummary.__dataclass_fields__)
    with pytest.raises(ValueError, match="buckets"):
        th.summarize(n, c, buckets=[0.5, 0.3])
    with pytest.raises(ValueError, match="group_size"):
        th.summarize(n, c, group_size=0)
    with pytest.raises(ValueError, match="problem index 2"):
        th.summarize([4, 4, 4], [0, 1, 5])
    with pytest.raises(dataclasses_frozen_error()):
        s.group_size = 3  # type: ignore[misc]


def test_summarize_few_problems_notes_word_for_word_and_nan_fields() -> None:
    import warnings

    n, c, ks = [4, 4, 4, 4, 12], [0, 1, 2, 3, 5], [3, 5, 7, 13, 14]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="warn"):
            s = th.summarize(n, c, ks=ks, group_size=8)
    assert s.ks.tolist() == ks and s.group_size == 8 and s.bucket_cuts.tolist() == list(th.DEFAULT_BUCKETS)
    left, nan = "the others are left out", "value is NaN"
    assert s.notes == (
        f"alpha_hat at k=7: 1/5 problems have n ≥ k − 1; {left}",
        f"alpha_hat at k=13: 1/5 problems have n ≥ k − 1; {left}",
        f"alpha_hat at k=14: 0/5 problems have n ≥ k − 1; {nan}",
        f"gap at k=5: 1/5 problems have n ≥ k; {left}",
        f"gap at k=7: 1/5 problems have n ≥ k; {left}",
        f"gap at k=13: 0/5 problems have n ≥ k; {nan}",
        f"gap at k=14: 0/5 problems have n ≥ k; {nan}",
        f"signal_hat at k=3: 1/5 problems have n ≥ 2k; {left}",
        f"signal_hat at k=5: 1/5 problems have n ≥ 2k; {left}",
        f"signal_hat at k=7: 0/5 problems have n ≥ 2k; {nan}",
        f"signal_hat at k=13: 0/5 problems have n ≥ 2k; {nan}",
        f"signal_hat at k=14: 0/5 problems have n ≥ 2k; {nan}",
        f"zero-signal fraction at G=8: 1/5 problems have n ≥ G; {left}",
    )
    for name in ("alpha_problems", "gap_problems", "signal_problems", "bucket_counts"):
        assert getattr(s, name).dtype == np.int64, name
    for name in ("alpha_mean", "alpha_quantiles", "gap_mean", "signal_total", "signal_share"):
        assert getattr(s, name).dtype == np.float64, name
    assert s.alpha_problems.tolist() == [5, 5, 1, 1, 0] and s.gap_problems.tolist() == [5, 1, 1, 0, 0]
    assert s.signal_problems.tolist() == [1, 1, 0, 0, 0]
    # one problem (n = 12, c = 5) carries the mean where it alone has enough samples
    assert s.alpha_mean[3] == 13 * math.comb(7, 12) / math.comb(12, 12) == 0.0
    assert np.isnan(s.alpha_mean[4]) and np.isnan(s.alpha_quantiles[4]).all()
    for j, k in ((1, 5), (2, 7)):
        want = 1 - Fraction(math.comb(7, k), math.comb(12, k)) - Fraction(5, 12)
        assert s.gap_mean[j] == pytest.approx(float(want), rel=1e-14)
    assert np.isnan(s.gap_mean[3:]).all()
    assert s.signal_total[0] == pytest.approx(float(Fraction(3, 2) * 5 * math.comb(7, 5) / math.comb(12, 6)), rel=1e-14)
    assert s.signal_total[1] == 0.0 and np.isnan(s.signal_total[2:]).all()
    # no p̂ = 1 problem: the last buckets are empty but present; all of k = 3's signal is in (0.3, 0.7]
    assert s.bucket_counts.tolist() == [1, 0, 1, 2, 1, 0, 0]
    assert s.signal_share[:, 0].tolist() == [0, 0, 0, 1, 0, 0, 0]
    assert np.isnan(s.signal_share[:, 1:]).all()  # a zero total (k = 5) or none (k ≥ 7): no shares

    # polarized problems only: the signal total is 0 and the shares stay NaN, without a 0/0 warning;
    # the default G = 16 exceeds every n
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="warn"):
            s = th.summarize([8, 8], [0, 8], ks=[1, 2])
    assert s.group_size == 16 and s.signal_total.tolist() == [0.0, 0.0] and np.isnan(s.signal_share).all()
    assert math.isnan(s.zero_signal_fraction) and s.zero_signal_problems == 0
    assert s.notes == (("zero-signal fraction at G=16: 0/2 problems have n ≥ G; no unbiased estimate, "
                        "see zero_signal_plugin (biased upward)"),)
    assert th.summarize([8, 8], [0, 8], ks=[1, 2], group_size=2).notes == ()


def test_summarize_validates_every_argument_word_for_word() -> None:
    n, c = [4, 4, 4], [0, 1, 2]
    with pytest.raises(ValueError, match=r"^summarize needs at least one problem, got none$"):
        th.summarize([], [])
    with pytest.raises(ValueError, match=r"^c > n: problem 'b' \(index 1\) has n=4, c=5$"):
        th.summarize([4, 4], [1, 5], ids=["a", "b"])
    with pytest.raises(ValueError, match=r"^ks must be an integer ≥ 1: got ks=0 at index 1$"):
        th.summarize(n, c, ks=[1, 0])
    for bad in (True, 1.5, 0, "2"):
        with pytest.raises(ValueError, match=rf"^group_size must be an int ≥ 1, got {re.escape(repr(bad))}$"):
            th.summarize(n, c, group_size=bad)  # type: ignore[arg-type]
    assert th.summarize(n, c, group_size=1).group_size == 1
    assert th.summarize(n, c, group_size=np.int64(2)).group_size == 2
    for cuts in ([0.0, 0.5], [0.5, 1.0], [0.5, 1.5], [0.3, 0.3], [0.6, 0.3]):
        with pytest.raises(ValueError, match=rf"^buckets must be strictly increasing cut points in \(0, 1\), "
                                             rf"got {re.escape(str(cuts))}$"):
            th.summarize(n, c, buckets=cuts)
    one_cut = th.summarize(n, c, buckets=0.5)  # type: ignore[arg-type]
    assert one_cut.bucket_cuts.tolist() == [0.5] and one_cut.bucket_labels == ("p̂=0", "(0, 0.5]", "(0.5, 1)", "p̂=1")
    for levels in ([], [1.5], [-0.1, 0.5]):
        with pytest.raises(ValueError, match=rf"^quantiles must be non-empty levels in \[0, 1\], "
                                             rf"got {re.escape(str(levels))}$"):
            th.summarize(n, c, quantiles=levels)
    one_level = th.summarize(n, c, ks=[1, 2], quantiles=0.5)  # type: ignore[arg-type]
    assert one_level.alpha_quantile_levels.tolist() == [0.5] and one_level.alpha_quantiles.shape == (2, 1)


def test_summarize_quantiles_are_numpys_linear_quantiles_to_the_last_digit() -> None:
    # Small tables put (P − 1)·q near P − 1 and hit both branches of numpy's lerp (t < 1/2 and t ≥ 1/2).
    rng = np.random.default_rng(11)
    levels = np.linspace(0.0, 1.0, 41)
    for _ in range(30):
        P = int(rng.integers(2, 12))
        n = rng.choice([5, 9, 14], size=P)
        c = rng.binomial(n, rng.random(P))
        ks = [2, 3, 6]
        s = th.summarize(n, c, ks=ks, quantiles=levels.tolist())
        for j, k in enumerate(ks):
            per_problem = np.asarray(th.alpha_hat(n, c, k))
            np.testing.assert_array_equal(s.alpha_quantiles[j], np.quantile(per_problem, levels))


def dataclasses_frozen_error() -> type[Exception]:
    import dataclasses

    return dataclasses.FrozenInstanceError


def test_theory_imports_without_torch() -> None:
    # A meta-path hook makes any torch import fail; theory and its CLI must not need one.
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'torch':\n"
        "            raise ImportError('torch blocked')\n"
        "sys.meta_path.insert(0, Block())\n"
        "import passlens.theory, passlens.cli.theory\n"
        "assert 'torch' not in sys.modules\n"
        "print(passlens.theory.alpha(0.5, 3))\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "0.75"


# ----------------------------------------------------------------------------
# gradient identities with torch autograd (float64)
# ----------------------------------------------------------------------------


def _tabular_case(rng: np.random.Generator, M: int) -> tuple[np.ndarray, np.ndarray]:
    z = rng.normal(scale=1.5, size=M)
    v = np.zeros(M)
    v[rng.choice(M, size=int(rng.integers(1, min(3, M - 1) + 1)), replace=False)] = 1.0  # 1–3 correct, ≥ 1 wrong
    return z, v


def _autograd_tabular(z: np.ndarray, v: np.ndarray, k: int) -> tuple[float, np.ndarray, np.ndarray]:
    zt = torch.tensor(z, dtype=torch.float64, requires_grad=True)
    vt = torch.tensor(v, dtype=torch.float64)
    p = torch.softmax(zt, 0) @ vt
    (g1,) = torch.autograd.grad(p, zt, retain_graph=True)
    (gk,) = torch.autograd.grad(1 - (1 - p) ** k, zt)
    return float(p.detach()), g1.numpy(), gk.numpy()


@needs_torch
@pytest.mark.parametrize("k", [1, 2, 4, 8, 16])
def test_per_problem_gradient_is_alpha_times_pass1_gradient(k: int) -> None:
    rng = np.random.default_rng(100 + k)
    for _ in range(20):
        z, v = _tabular_case(rng, M=int(rng.integers(3, 12)))
        p, g1, gk = _autograd_tabular(z, v, k)
        assert np.max(np.abs(gk - th.alpha(p, k) * g1)) <= 1e-10
        cos = gk @ g1 / (np.linalg.norm(gk) * np.linalg.norm(g1))
        assert abs(cos - 1.0) <= 1e-12


def _linear_softmax_problems(rng: np.random.Generator, P: int, M: int, D: int):
    phi = rng.normal(size=(P, M, D))
    correct = np.zeros((P, M), dtype=bool)
    for x in range(P):
        correct[x, rng.choice(M, size=int(rng.integers(1, 4)), replace=False)] = True
    theta = rng.normal(scale=0.7, size=D)
    return phi, correct, theta


def _autograd_dataset(phi, correct, theta, k, w):
    th_t = torch.tensor(theta, dtype=torch.float64, requires_grad=True)
    pi = torch.softmax(torch.tensor(phi) @ th_t, dim=1)  # (P, M)
    p = (pi * torch.tensor(correct, dtype=torch.float64)).sum(1)  # (P,)
    wt = torch.tensor(w)
    (gk,) = torch.autograd.grad((wt * (1 - (1 - p) ** k)).sum(), th_t, retain_graph=True)
    (g1,) = torch.autograd.grad((wt * p).sum(), th_t, retain_graph=True)
    per = np.stack([torch.autograd.grad(p[x], th_t, retain_graph=True)[0].numpy() for x in range(len(w))])
    return p.detach().numpy(), gk.numpy(), g1.numpy(), per


@needs_torch
@pytest.mark.parametrize("k", [2, 4, 8])
def test_dataset_gradient_is_the_alpha_weighted_sum_and_rotates(k: int) -> None:
    rng = np.random.default_rng(7 + k)
    cosines = []
    for trial in range(6):
        phi, correct, theta = _linear_softmax_problems(rng, P=12, M=6, D=5)
        w = np.full(12, 1 / 12) if trial % 2 == 0 else rng.random(12)
        w = w / w.sum()
        p, gk, g1, per = _autograd_dataset(phi, correct, theta, k, w)
        # ∇ Σ_x w_x J_k(x) = Σ_x w_x α_k(p_x) ∇J_1(x), per-problem gradients from autograd; 1e-10.
        assert np.max(np.abs(gk - (w * th.alpha(p, k)) @ per)) <= 1e-10
        # the numpy analytic gradients agree with autograd; 1e-12.
        p_np, dp_np = sp.linear_softmax_success(phi, correct, theta)
        assert np.max(np.abs(p_np - p)) <= 1e-12 and np.max(np.abs(dp_np - per)) <= 1e-12
        cos, gk_np, g1_np = sp.dataset_gradient_cosine(
            phi, correct, theta, k, weights=None if trial % 2 == 0 else w, return_gradients=True
        )
        assert np.max(np.abs(gk_np - gk)) <= 1e-12 and np.max(np.abs(g1_np - g1)) <= 1e-12
        ref_cos = gk @ g1 / (np.linalg.norm(gk) * np.linalg.norm(g1))
        assert abs(cos - ref_cos) <= 1e-12
        cosines.append(cos)
    # At dataset level the two directions differ: the pass@k gradient is not collinear with pass@1's.
    assert max(cosines) < 1 - 1e-3


def test_the_shared_policy_tools_keep_a_deprecated_alias_in_theory() -> None:
    for name in ("linear_softmax_success", "dataset_gradient_cosine"):
        with pytest.warns(DeprecationWarning, match=f"moved to passlens.lab.shared_policy.{name}"):
            assert getattr(th, name) is getattr(sp, name)
    with pytest.raises(AttributeError):
        th.no_such_function  # noqa: B018


def test_prompt_interference_can_reverse_the_direction() -> None:
    # Two problems, one shared parameter: a hard problem whose ∇p points down and an
    # easy one whose ∇p points up (and is larger). α_8 up-weights the hard one ~10⁴-fold,
    # so the pass@8 gradient points against the pass@1 gradient (cos = −1).
    phi = np.array([[[-4.0], [0.0]], [[1.0], [0.0]]])  # (P=2, M=2, D=1)
    correct = np.array([[True, False], [True, False]])
    theta = np.array([1.0])
    cos, gk, g1 = sp.dataset_gradient_cosine(phi, correct, theta, 8, return_gradients=True)
    assert g1[0] > 0 and gk[0] < 0 and cos == pytest.approx(-1.0, abs=1e-15)
    assert sp.dataset_gradient_cosine(phi, correct, theta, 1) == pytest.approx(1.0, abs=1e-15)
    with pytest.raises(ValueError, match="theta must have shape"):
        sp.dataset_gradient_cosine(phi, correct, np.ones(2), 2)
    with pytest.raises(ValueError, match="correct must be 0/1: problem index 1, answer 0"):
        sp.linear_softmax_success(phi, np.array([[1, 0], [2, 0]]), theta)
    with pytest.raises(ValueError, match="k must be an int"):
        sp.dataset_gradient_cosine(phi, correct, theta, 0)


@needs_torch
@pytest.mark.parametrize("k", [1, 2, 4, 8])
def test_fisher_norm_of_the_pass_at_k_gradient_is_the_signal(k: int) -> None:
    rng = np.random.default_rng(40 + k)
    for _ in range(15):
        M = int(rng.integers(3, 10))
        z, v = _tabular_case(rng, M)
        p, _, g = _autograd_tabular(z, v, k)
        pi = np.exp(z - z.max())
        pi /= pi.sum()
        F = np.diag(pi) - np.outer(pi, pi)
        # the Fisher matrix of the logits really is E[score scoreᵀ] (scores from autograd)
        zt = torch.tensor(z, dtype=torch.float64, requires_grad=True)
        logpi = torch.log_softmax(zt, 0)
        scores = np.stack([torch.autograd.grad(logpi[a], zt, retain_graph=True)[0].numpy() for a in range(M)])
        assert np.max(np.abs(F - (pi[:, None, None] * scores[:, :, None] * scores[:, None, :]).sum(0))) <= 1e-14
        nat = g @ np.linalg.pinv(F, rcond=1e-12, hermitian=True) @ g
        assert abs(nat - th.signal(p, k)) <= 1e-10


@needs_torch
@pytest.mark.parametrize("k", [1, 3, 8])
def test_natural_gradient_norm_of_a_smaller_parametrization_is_bounded_by_the_signal(k: int) -> None:
    rng = np.random.default_rng(90 + k)
    gaps = []
    for _ in range(15):
        M = int(rng.integers(4, 10))
        D = int(rng.integers(1, M))
        z0, v = _tabular_case(rng, M)
        A = rng.normal(size=(M, D))
        theta = rng.normal(size=D) * 0.5
        tt = torch.tensor(theta, dtype=torch.float64, requires_grad=True)
        logits = torch.tensor(z0) + torch.tensor(A) @ tt  # logits = z0 + Aθ
        logpi = torch.log_softmax(logits, 0)
        pi = logpi.exp()
        p = pi @ torch.tensor(v)
        (g,) = torch.autograd.grad(1 - (1 - p) ** k, tt, retain_graph=True)
        scores = np.stack([torch.autograd.grad(logpi[a], tt, retain_graph=True)[0].numpy() for a in range(M)])
        pin = pi.detach().numpy()
        F_theta = (pin[:, None, None] * scores[:, :, None] * scores[:, None, :]).sum(0)  # (D, D)
        nat = g.numpy() @ np.linalg.pinv(F_theta, rcond=1e-12, hermitian=True) @ g.numpy()
        bound = th.signal(float(p.detach()), k)
        assert nat <= bound + 1e-12
        gaps.append(bound - nat)
    assert max(gaps) > 1e-6  # the bound is not always tight for D < M


def test_gradient_estimators_shapes_ids_policies_and_signs_across_all_four():
    import warnings

    from passlens import gradient_estimators as ge

    def loop(f, n, c, k):
        return np.array([[float(f(int(a), int(b), int(kk))) for kk in k] for a, b in zip(n, c)])

    fns = {
        "alpha_hat": lambda n, c, k, **kw: ge.alpha_hat(n, c, k, **kw),
        "signal_hat": lambda n, c, k, **kw: ge.signal_hat(n, c, k, **kw),
        "gap_hat": lambda n, c, k, **kw: ge.gap_hat(n, c, k, **kw),
        # one group size per call: columns stacked here
        "zero_signal_hat": lambda n, c, k, **kw: (
            np.stack([ge.zero_signal_hat(n, c, g, **kw) for g in k], axis=-1) if np.ndim(k)
            else ge.zero_signal_hat(n, c, k, **kw)),
    }
    n = np.array([12, 12, 9, 12])
    c = np.array([0, 5, 9, 12])
    for name, f in fns.items():
        full = loop(f, n, c, [1, 2, 3])
        # scalar n and c with scalar k: a plain float; one of them an array: the problems axis stays
        one = f(12, 5, 2)
        assert not isinstance(one, np.ndarray) and float(one) == full[1, 1], name
        assert f(12, c[[0, 1, 3]], 2).tolist() == full[[0, 1, 3], 1].tolist(), name
        assert f(n[:2], 5, 2).tolist() == [full[1, 1], full[1, 1]], name
        np.testing.assert_array_equal(f(n, c, [1, 2, 3]), full)
        # no floating-point warnings at c = 0, c = n and the smallest n allowed
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with np.errstate(all="warn"):
                got = f(n, c, [1, 2, 3])
                edge = f(np.array([4, 4, 4]), np.array([0, 2, 4]), 2)
        assert not np.signbit(got).any() and not np.signbit(edge).any(), name
        # a problem with too few samples is named by its id; "nan" masks it, also under the old name
        with pytest.raises(ValueError, match=r"problem 'small' \(index 1\)"):
            f([12, 1], [5, 1], 4, ids=["big", "small"])
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with np.errstate(all="warn"):
                got = f([12, 1], [5, 1], 4, k_exceeds_n="nan")
        with pytest.raises(ValueError, match=r"c > n: problem 'bad' \(index 1\)"):
            f([5, 3], [1, 4], 1, ids=["ok", "bad"])
        assert np.isnan(got[1]) and got[0] == float(f(12, 5, 4))
        with pytest.warns(DeprecationWarning, match=rf"^{name}: too_few_samples= is deprecated") as rec:
            old = f([12, 1], [5, 1], 4, too_few_samples="nan")
        np.testing.assert_array_equal(old, got)
    with pytest.raises(ValueError, match=r"group_size must be an int, got shape \(2,\)"):
        ge.zero_signal_hat(8, 3, [2, 3])
    with pytest.raises(ValueError, match=r"^group_size must be an integer ≥ 1: got group_size=0"):
        ge.zero_signal_hat(8, 3, 0)


def test_signal_hat_masks_n_equal_2k_minus_1_without_a_floating_point_warning():
    import warnings

    from passlens import gradient_estimators as ge

    # n = 2k − 1 is the one short n whose denominator n − 2k + 1 is 0: c/0 and 0/0 before the NaN mask.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="warn"):
            got = ge.signal_hat(np.array([3, 3, 3, 4]), np.array([0, 1, 3, 1]), 2, k_exceeds_n="nan")
    assert np.isnan(got[:3]).all()
    assert got[3] == pytest.approx(1.0, rel=1e-15)  # n = 2k: (k/2) · c · C(n − c, 2k − 1)/C(n, 2k) = 1 · 1 · 1/1


def test_deprecation_warning_points_at_the_callers_line():
    from passlens import gradient_estimators as ge

    if hasattr(ge, "x__policy__mutmut_orig"):  # mutmut's trampolines add frames between the caller and warn()
        pytest.skip("stack frames differ under mutmut")
    for f in (ge.alpha_hat, ge.signal_hat, ge.gap_hat, ge.zero_signal_hat):
        with pytest.warns(DeprecationWarning, match="too_few_samples= is deprecated") as rec:
            f([12, 1], [5, 1], 4, too_few_samples="nan")
        assert [w.filename for w in rec] == [__file__], f.__name__
