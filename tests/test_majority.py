"""Exact maj@k: against exhaustive enumeration, exact integer references, invariants, errors.

Two exact references, both slow and obvious:
  * _subset_reference: every k-subset of the n individual samples
    (itertools.combinations), majority vote with uniform tie-breaking, in Fractions;
  * _count_reference: every vector of per-answer counts x (Σ x = k) weighted by
    Π C(v_b, x_b), in Python integers; usable up to n in the thousands for a few
    answers, so it checks the overflow-free path at n = 2000.
Both code paths of the implementation (plain float64 counts for n ≤ 1000, counts
divided by C(M, s) beyond) are run on the same cases by lowering the switch-over.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import passlens
import passlens._majority as majority
from passlens import maj_at_k


@pytest.fixture(autouse=True)
def _cold_binomial_cache(monkeypatch):
    # Every test starts with an empty row cache, so none of them reads rows another one computed.
    from collections import OrderedDict

    monkeypatch.setattr(majority, "_ROWS", OrderedDict())


# --------------------------------------------------------------------------- references


def _subset_reference(votes: list[int], correct: list[bool], k: int) -> Fraction:
    """Mean over all C(n, k) subsets of the samples of the tie-broken majority accuracy."""
    samples = [a for a, v in enumerate(votes) for _ in range(v)]
    total = Fraction(0)
    count = 0
    for sub in itertools.combinations(samples, k):
        tally = Counter(sub)
        top = max(tally.values())
        tied = [a for a, x in tally.items() if x == top]
        total += Fraction(sum(correct[a] for a in tied), len(tied))
        count += 1
    return total / count


def _count_reference(votes: list[int], correct: list[bool], k: int) -> Fraction:
    """Σ_x Π C(v_b, x_b) · acc(x) / C(n, k) over count vectors x, in exact integers."""
    pairs = sorted((v, bool(g)) for v, g in zip(votes, correct) if v > 0)
    v = [p[0] for p in pairs]
    good = [p[1] for p in pairs]
    m, n = len(v), sum(v)
    lcm = math.lcm(*range(1, m + 1))  # acc = (#correct tied)/(#tied) · lcm is an integer
    cache: dict[tuple[int, int], int] = {}

    def comb(b: int, x: int) -> int:
        if (b, x) not in cache:
            cache[b, x] = math.comb(v[b], x)
        return cache[b, x]

    # x_b ≥ v_b − (n − k): the other answers cannot supply more than n − v_b samples.
    ranges = [range(max(0, vb - (n - k)), min(vb, k) + 1) for vb in v[:-1]]
    num = 0
    for head in itertools.product(*ranges):
        last = k - sum(head)
        if not 0 <= last <= v[-1]:
            continue
        x = (*head, last)
        weight = comb(m - 1, last)
        for b, xb in enumerate(head):
            weight *= comb(b, xb)
        top = max(x)
        tied = [b for b in range(m) if x[b] == top]
        num += weight * (lcm * sum(good[b] for b in tied) // len(tied))
    return Fraction(num, lcm * math.comb(n, k))


def _assert_close(got: float, ref: Fraction, rel: float, what: str) -> None:
    """|got − ref| ≤ rel·ref; a zero reference must come out exactly zero."""
    if ref == 0:
        assert got == 0.0, f"{what}: expected exactly 0, got {got!r}"
        return
    ref_f = float(ref)
    assert ref_f > 0
    err = abs(got - ref_f) / ref_f
    assert err <= rel, f"{what}: got {got!r}, exact {ref_f!r}, relative error {err:.2e}"


def _random_problem(rng: np.random.Generator, n_max: int, m_max: int, zeros: bool = True):
    """Vote counts (with some empty answers) summing to 1..n_max, and 0–2 correct answers."""
    while True:
        m = int(rng.integers(1, m_max + 1))
        n = int(rng.integers(1, n_max + 1))
        cuts = np.sort(rng.integers(0, n + 1, size=m - 1))
        votes = np.diff(np.concatenate([[0], cuts, [n]])).astype(np.int64)
        if not zeros and (votes == 0).any():
            continue
        correct = np.zeros(m, dtype=bool)
        correct[rng.choice(m, size=min(m, int(rng.integers(0, 3))), replace=False)] = True
        return votes, correct


@pytest.fixture(params=["plain", "scaled"])
def path(request, monkeypatch):
    """Run a test through the plain-count path and through the C(M, s)-normalized path."""
    if request.param == "scaled":
        monkeypatch.setattr(majority, "_FLOAT_MAX_N", 0)
    return request.param


# --------------------------------------------------------------------------- exactness


@pytest.mark.parametrize("seed", range(6))
def test_matches_exhaustive_subset_enumeration(seed, monkeypatch):
    rng = np.random.default_rng(1000 + seed)
    for case in range(30):
        votes, correct = _random_problem(rng, n_max=10, m_max=5)
        n = int(votes.sum())
        ks = np.arange(1, n + 1)
        refs = [_subset_reference(votes.tolist(), correct.tolist(), k) for k in ks]
        for name, limit in (("plain", 10**9), ("scaled", 0)):
            monkeypatch.setattr(majority, "_FLOAT_MAX_N", limit)
            got = maj_at_k([votes], [correct], ks)[0]
            for k, ref in zip(ks, refs):
                what = f"{name} votes={votes.tolist()} correct={correct.tolist()} k={k}"
                _assert_close(got[k - 1], ref, 1e-12, what)


def test_hand_picked_cases_match_subset_enumeration(path):
    cases = [
        ([1], [True]),
        ([1], [False]),
        ([3, 3], [True, False]),  # even ties at every even k
        ([2, 2, 2], [True, True, False]),  # two correct answers in three-way ties
        ([4, 1, 1, 1], [False, True, True, True]),
        ([1, 1, 1, 1, 1, 1], [True, False, False, False, False, False]),  # all singletons: 1/J
        ([5, 0, 2], [False, True, True]),  # empty correct answer
        ([6, 4], [False, True]),
    ]
    for votes, correct in cases:
        n = sum(votes)
        got = maj_at_k([np.array(votes)], [np.array(correct)], np.arange(1, n + 1))[0]
        for k in range(1, n + 1):
            _assert_close(got[k - 1], _subset_reference(votes, correct, k), 1e-12, f"{votes} {correct} k={k}")


def test_count_reference_agrees_with_subset_reference():
    # The integer reference used at large n is itself checked against plain enumeration.
    rng = np.random.default_rng(7)
    for _ in range(25):
        votes, correct = _random_problem(rng, n_max=9, m_max=4)
        for k in range(1, int(votes.sum()) + 1):
            assert _count_reference(votes.tolist(), correct.tolist(), k) == _subset_reference(
                votes.tolist(), correct.tolist(), k
            )


def test_moderate_n_matches_count_enumeration(path):
    # Deeper recursions (many levels, many x per answer) than n ≤ 10 reaches.
    rng = np.random.default_rng(11)
    for _ in range(6):
        votes, correct = _random_problem(rng, n_max=40, m_max=4, zeros=False)
        if not correct.any():
            correct[int(np.argmax(votes))] = True
        n = int(votes.sum())
        ks = np.arange(1, n + 1)
        got = maj_at_k([votes], [correct], ks)[0]
        for k in ks:
            ref = _count_reference(votes.tolist(), correct.tolist(), int(k))
            _assert_close(got[k - 1], ref, 1e-12, f"votes={votes.tolist()} correct={correct.tolist()} k={k}")


@pytest.mark.parametrize(
    "votes, correct, ks",
    [
        # correct answer in the minority: tiny values mid-range, exact zeros for large k
        ([1400, 350, 250], [False, True, False], [1, 2, 7, 100, 600, 1999, 2000]),
        # dominant correct answer (levels above the runner-up in closed form)
        ([1300, 500, 200], [True, False, False], [1, 3, 40, 1000, 1990, 2000]),
        # two answers of nearly equal size, the correct one slightly smaller
        ([1000, 990], [False, True], [1, 2, 3, 501, 994, 995, 1988, 1989, 1990]),
        # four answers, two correct, n = 1100 (C(1100, 550) ≈ 1e329 overflows float64)
        ([450, 350, 200, 100], [True, False, True, False], [1, 2, 5, 30, 1070, 1098, 1099, 1100]),
        # n = 100 000, small budgets only: cost follows max k, not n
        ([60000, 30000, 9000, 1000], [True, False, False, True], [1, 2, 3, 10, 25]),
    ],
)
def test_large_n_is_finite_and_exact(votes, correct, ks):
    n = sum(votes)
    assert math.comb(n, n // 2).bit_length() > 1024  # C(n, n/2) is beyond float64 range
    got = maj_at_k([np.array(votes)], [np.array(correct)], np.array(ks))[0]
    assert np.isfinite(got).all() and (got >= 0).all() and (got <= 1).all()
    for k, g in zip(ks, got):
        ref = _count_reference(votes, correct, k)
        if 0 < ref < Fraction(1, 10**280):
            assert abs(g - float(ref)) <= 1e-290  # below float64's normal range: absolute only
        else:
            _assert_close(g, ref, 1e-12, f"n={n} k={k}")


def test_scaled_and_plain_paths_agree(monkeypatch):
    rng = np.random.default_rng(5)
    for _ in range(4):
        votes, correct = _random_problem(rng, n_max=400, m_max=7, zeros=False)
        correct[int(rng.integers(votes.size))] = True
        ks = np.arange(1, int(votes.sum()) + 1)
        plain = maj_at_k([votes], [correct], ks)[0]
        monkeypatch.setattr(majority, "_FLOAT_MAX_N", 0)
        scaled = maj_at_k([votes], [correct], ks)[0]
        monkeypatch.undo()
        big = plain > 1e-250
        np.testing.assert_allclose(scaled[big], plain[big], rtol=1e-12, atol=0)
        np.testing.assert_allclose(scaled[~big], plain[~big], rtol=0, atol=1e-250)


def test_plain_path_at_its_limit_n_1000():
    # n = 1000 is the largest n on plain float64 counts (C(1000, 500) ≈ 2.7e299).
    votes, correct = np.array([100, 600, 300]), np.array([False, True, False])
    ks = np.arange(1, 1001)
    assert majority._FLOAT_MAX_N == 1000
    plain = maj_at_k([votes], [correct], ks)[0]
    assert np.isfinite(plain).all()
    scaled = majority._maj_one(*majority._canonical(votes, correct), ks, scaled=True)
    big = plain > 1e-250
    np.testing.assert_allclose(scaled[big], plain[big], rtol=1e-12, atol=0)
    for k in (1, 2, 333, 998, 1000):
        _assert_close(plain[k - 1], _count_reference(votes.tolist(), correct.tolist(), k), 1e-12, f"k={k}")


def test_merge_kernel_rows_are_hypergeometric_laws():
    # K[s, ·] = C(v, x) C(m, s − x) / C(m + v, s) sums to 1 over x, even where C overflows.
    for v, m in ((3, 0), (40, 17), (700, 1500), (1200, 900)):
        smax = m + v
        kern = majority._merge_kernel(v, m, smax, v)
        assert np.isfinite(kern).all() and (kern >= 0).all()
        np.testing.assert_allclose(kern.sum(axis=1), 1.0, rtol=1e-12)
    # one entry against exact integers
    v, m, s, x = 700, 1500, 1100, 350
    exact = Fraction(math.comb(v, x) * math.comb(m, s - x), math.comb(m + v, s))
    kern = majority._merge_kernel(v, m, s, v)
    assert abs(kern[s, x] - float(exact)) <= 1e-13 * float(exact)


# --------------------------------------------------------------------------- properties


def test_maj_at_1_is_fraction_of_correct_votes(path):
    rng = np.random.default_rng(3)
    votes, correct = zip(*(_random_problem(rng, n_max=1500, m_max=12) for _ in range(40)))
    got = maj_at_k(list(votes), list(correct), 1)
    want = np.array([v[c].sum() / v.sum() for v, c in zip(votes, correct)])
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=0)


def test_all_correct_gives_one_and_none_correct_gives_zero(path):
    votes = [np.array([5, 3, 3, 1]), np.array([40, 1]), np.array([7])]
    ks = np.arange(1, 8)
    all_ok = maj_at_k(votes, [np.ones(v.size, bool) for v in votes], ks)
    none_ok = maj_at_k(votes, [np.zeros(v.size, bool) for v in votes], ks)
    np.testing.assert_allclose(all_ok, 1.0, rtol=1e-13)
    assert (none_ok == 0.0).all()


@pytest.mark.parametrize(
    "votes, correct, want",
    [
        ([7, 3, 2], [True, False, False], 1.0),  # strict majority (> n/2) of the correct answer
        ([6, 5, 1], [True, False, False], 1.0),  # strict plurality of the correct answer
        ([6, 5, 1], [False, True, False], 0.0),  # a wrong answer has the strict plurality
        ([60, 20, 20, 19], [True, False, False, False], 1.0),  # plurality without majority
        ([5, 5, 5, 2], [True, False, False, False], 1 / 3),  # three-way tie at the top
        ([5, 5, 5, 2], [True, True, False, True], 2 / 3),  # two correct answers in the tie
        ([4, 4], [False, True], 1 / 2),
        ([1, 1, 1, 1, 1], [False, False, True, False, False], 1 / 5),
    ],
)
def test_full_budget_is_the_plain_majority_vote(votes, correct, want, path):
    n = sum(votes)
    got = maj_at_k([np.array(votes)], [np.array(correct)], n)[0]
    assert got == pytest.approx(want, rel=1e-13, abs=0)


def test_permutation_of_answers_and_empty_answers_change_nothing(path):
    rng = np.random.default_rng(9)
    for _ in range(10):
        votes, correct = _random_problem(rng, n_max=60, m_max=8)
        ks = np.arange(1, int(votes.sum()) + 1)
        base = maj_at_k([votes], [correct], ks)[0]
        perm = rng.permutation(votes.size)
        shuffled = maj_at_k([votes[perm]], [correct[perm]], ks)[0]
        padded = maj_at_k([np.append(votes, [0, 0])], [np.append(correct, [True, False])], ks)[0]
        np.testing.assert_allclose(shuffled, base, rtol=1e-14, atol=0)
        np.testing.assert_allclose(padded, base, rtol=1e-14, atol=0)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    st.lists(st.tuples(st.integers(0, 6), st.booleans()), min_size=1, max_size=5).filter(
        lambda rows: 0 < sum(v for v, _ in rows) <= 9
    )
)
def test_hypothesis_matches_enumeration_and_stays_in_unit_interval(rows):
    votes = [v for v, _ in rows]
    correct = [g for _, g in rows]
    n = sum(votes)
    got = maj_at_k([np.array(votes)], [np.array(correct)], np.arange(1, n + 1))[0]
    assert ((got >= 0) & (got <= 1)).all()
    for k in range(1, n + 1):
        _assert_close(got[k - 1], _subset_reference(votes, correct, k), 1e-12, f"{rows} k={k}")


def test_repeated_patterns_and_mixed_n_in_one_call():
    # Problems sharing a vote pattern share one computation; results must still be per problem.
    a = (np.array([3, 2, 1]), np.array([False, True, False]))
    b = (np.array([2, 3, 1]), np.array([False, True, False]))  # same counts, correct answer differs
    c = (np.array([9, 1]), np.array([True, False]))
    votes = [a[0], b[0], a[0], c[0]]
    correct = [a[1], b[1], a[1], c[1]]
    got = maj_at_k(votes, correct, [1, 3, 6], k_exceeds_n="nan")
    alone = [maj_at_k([v], [g], [1, 3, 6])[0] for v, g in zip(votes, correct)]
    np.testing.assert_array_equal(got, np.array(alone))
    assert got[0, 1] != got[1, 1]


def test_shapes_and_public_surface():
    votes = [np.array([2, 1]), np.array([1, 1, 1])]
    correct = [np.array([True, False]), np.array([False, False, True])]
    assert maj_at_k(votes, correct, 2).shape == (2,)
    assert maj_at_k(votes, correct, [1, 2, 3]).shape == (2, 3)
    assert maj_at_k(votes, correct, np.array([3])).shape == (2, 1)
    assert maj_at_k([], [], [1, 2]).shape == (0, 2)
    # a (P, A) int array with a (P, A) flag array works row by row
    grid = maj_at_k(np.array([[2, 1], [0, 3]]), np.array([[1, 0], [0, 1]]), [1, 2])
    np.testing.assert_allclose(grid, [[2 / 3, 2 / 3], [1.0, 1.0]], rtol=1e-14)
    assert passlens.maj_at_k is maj_at_k
    assert majority.__all__ == ["maj_at_k"]


# --------------------------------------------------------------------------- errors


def test_k_above_n_raises_naming_the_problem_or_gives_nan():
    votes = [np.array([3, 2]), np.array([1, 1])]
    correct = [np.array([True, False]), np.array([False, True])]
    with pytest.raises(ValueError, match=r"k=3 exceeds n=2 for problem index 1"):
        maj_at_k(votes, correct, [1, 3])
    with pytest.raises(ValueError, match=r"problem 'q-easy' \(index 1\)"):
        maj_at_k(votes, correct, 5, ids=["q-hard", "q-easy"])
    got = maj_at_k(votes, correct, [1, 2, 3, 6], k_exceeds_n="nan")
    assert np.isnan(got[1, 2:]).all() and np.isnan(got[0, 3])
    np.testing.assert_array_equal(got[:, :2], maj_at_k(votes, correct, [1, 2]))
    np.testing.assert_array_equal(got[0, :3], maj_at_k(votes[:1], correct[:1], [1, 2, 3])[0])
    with pytest.raises(ValueError, match="k_exceeds_n"):
        maj_at_k(votes, correct, 1, k_exceeds_n="clip")


@pytest.mark.parametrize(
    "votes, correct, match",
    [
        ([[2, 1], [1, -1]], [[1, 0], [1, 0]], r"problem 'b' \(index 1\).*answer 1 has count -1"),
        ([[2, 1], [1, 1.5]], [[1, 0], [1, 0]], r"problem 'b' \(index 1\).*answer 1 has count 1.5"),
        ([[2, 1], [True, False]], [[1, 0], [1, 0]], r"problem 'b' \(index 1\).*booleans"),
        ([[2, 1], [1, 1, 1]], [[1, 0], [1, 0]], r"problem 'b' \(index 1\) has 3 vote counts but 2"),
        ([[2, 1], [0, 0]], [[1, 0], [1, 0]], r"problem 'b' \(index 1\) has no samples"),
        ([[2, 1], []], [[1, 0], []], r"problem 'b' \(index 1\) has no samples"),
        ([[2, 1], [1, 1]], [[1, 0], [2, 0]], r"correct of problem 'b' \(index 1\) must hold booleans"),
        ([[2, 1], [[1, 1]]], [[1, 0], [1, 0]], r"votes of problem 'b' \(index 1\) must be a 1-D"),
        ([[2, 1], [1, 1]], [[1, 0]], r"votes has 2 problems but correct has 1: problem index 1"),
    ],
)
def test_bad_input_raises_naming_the_problem(votes, correct, match):
    with pytest.raises(ValueError, match=match):
        ids = ["a", "b"][: len(votes)]
        maj_at_k([np.array(v) for v in votes], [np.array(c) for c in correct], 1, ids=ids)


def test_bad_budgets_and_ids_raise():
    votes, correct = [np.array([1, 1])], [np.array([True, False])]
    with pytest.raises(ValueError, match="k must be an integer ≥ 1: got k=0"):
        maj_at_k(votes, correct, 0)
    with pytest.raises(ValueError, match="must be an integer ≥ 1: got k=1.5"):
        maj_at_k(votes, correct, 1.5)
    with pytest.raises(ValueError, match="ids has 2 entries for 1 problems"):
        maj_at_k(votes, correct, 1, ids=["a", "b"])


def test_binomial_rows_are_exact_when_cached_extended_and_evicted(monkeypatch):
    # mantissa · 2^exponent = C(m, s) to one rounding, zero for s > m, whatever the cache holds.
    def check(m: int, smax: int) -> None:
        mant, expo = majority._comb_row(m, smax)
        assert mant.shape == expo.shape == (smax + 1,) and expo.dtype == np.int64
        for s_ in range(smax + 1):
            exact = math.comb(m, s_)
            if exact == 0:
                assert mant[s_] == 0.0
                continue
            got = Fraction(float(mant[s_])) * Fraction(2) ** int(expo[s_])
            assert abs(got - exact) <= Fraction(exact, 2**52), (m, s_)

    monkeypatch.setattr(majority, "_ROWS_LIMIT", 3)
    check(5, 2)  # a short prefix first ...
    check(5, 9)  # ... then a longer one (and zeros past m) must not reuse the short row
    check(5, 4)
    check(3000, 1700)  # C(3000, 1500) ~ 10^901: beyond float64, exact as mantissa and exponent
    for m in (7, 8, 9, 10):
        check(m, m)
    assert len(majority._ROWS) == 3 and list(majority._ROWS) == [8, 9, 10]  # least recent evicted
    check(8, 8)
    assert list(majority._ROWS) == [9, 10, 8]


def test_merge_kernel_truncated_to_fewer_degrees_and_votes_matches_exact_rationals():
    for v, m, smax, xmax in ((5, 4, 6, 3), (3, 6, 4, 5), (9, 2, 11, 9), (4, 0, 2, 4)):
        kern = majority._merge_kernel(v, m, smax, xmax)
        assert kern.shape == (smax + 1, xmax + 1)
        for s_ in range(smax + 1):
            for x in range(xmax + 1):
                ok = 0 <= s_ - x <= m and s_ <= m + v
                exact = Fraction(math.comb(v, x) * math.comb(m, s_ - x), math.comb(m + v, s_)) if ok else 0
                assert abs(kern[s_, x] - float(exact)) <= 1e-15 * float(exact), (v, m, s_, x)


def test_a_problem_with_every_budget_above_n_leaves_the_next_problems_computed():
    votes = [np.array([1, 1]), np.array([3, 1]), np.array([1])]
    correct = [np.array([True, False]), np.array([True, False]), np.array([True])]
    got = maj_at_k(votes, correct, [3, 4], k_exceeds_n="nan")
    assert np.isnan(got[0]).all() and np.isnan(got[2]).all()
    for j, k in enumerate((3, 4)):
        assert got[1, j] == pytest.approx(float(_subset_reference([3, 1], [True, False], k)), rel=1e-14)


def test_cached_binomial_rows_are_read_only():
    # Rows are shared through the cache: a caller writing into one would corrupt later results.
    mant, expo = majority._comb_row(40, 40)
    cached = majority._ROWS[40]
    for arr in (mant, expo, *cached):
        with pytest.raises(ValueError, match="read-only"):
            arr[0] = 7


def test_a_certain_win_is_clipped_to_exactly_one(path):
    # Unclipped, the plain path's quotient at these votes and k = 3 or 6 is 1 + 2⁻⁵² (an ulp above its
    # exact value 1); the final clip must bring it back inside [0, 1].
    votes = [np.array([4, 2, 13]), np.array([13, 1, 5]), np.array([2, 4, 2, 11]), np.array([1, 16, 1, 3])]
    got = maj_at_k(votes, [np.ones(v.size, bool) for v in votes], np.arange(1, 20), k_exceeds_n="nan")
    assert (got[~np.isnan(got)] <= 1.0).all()
    np.testing.assert_allclose(got[~np.isnan(got)], 1.0, rtol=1e-15)
