"""One invariance suite run over every pass@k-family estimator (scikit-learn style).

Each estimator is exercised through the same per-sample view of a problem: a
list of n samples, each with a reward in {0, 1} and an answer class. The
adapters below turn that view into each estimator's sufficient statistic.
"""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from passlens import coverage_at_k, maj_at_k, max_at_k, pass_at_k, pass_hat_k


def _counts(samples):
    return np.array([len(samples)]), np.array([sum(r for r, _ in samples)])


def _est_pass(samples, ks):
    n, c = _counts(samples)
    return pass_at_k(n, c, ks)[0]


def _est_passhat(samples, ks):
    n, c = _counts(samples)
    return pass_hat_k(n, c, ks)[0]


def _est_max(samples, ks):
    return max_at_k([np.array([float(r) for r, _ in samples])], ks)[0]


def _votes(samples):
    classes = sorted({a for _, a in samples})
    votes = np.array([sum(1 for _, a in samples if a == cl) for cl in classes])
    correct = np.array([any(r for r, a in samples if a == cl) for cl in classes])
    return votes, correct


def _est_maj(samples, ks):
    votes, correct = _votes(samples)
    return maj_at_k([votes], [correct], ks)[0]


def _est_coverage(samples, ks):
    votes, correct = _votes(samples)
    return coverage_at_k([votes], [correct], ks)[0]


# The statistic of one k-subset, for the exhaustive unbiasedness check.
def _subset_pass(sub):
    return Fraction(int(any(r for r, _ in sub)))


def _subset_passhat(sub):
    return Fraction(int(all(r for r, _ in sub)))


def _subset_max(sub):
    return Fraction(max(r for r, _ in sub))


def _subset_maj(sub):
    counts: dict[int, int] = {}
    right: dict[int, bool] = {}
    for r, a in sub:
        counts[a] = counts.get(a, 0) + 1
        right[a] = bool(r)
    top = max(counts.values())
    tied = [a for a, v in counts.items() if v == top]
    return Fraction(sum(right[a] for a in tied), len(tied))


def _subset_coverage(sub):
    return Fraction(len({a for r, a in sub if r}))


ESTIMATORS = {
    "pass": (_est_pass, _subset_pass),
    "passhat": (_est_passhat, _subset_passhat),
    "max": (_est_max, _subset_max),
    "maj": (_est_maj, _subset_maj),
    "coverage": (_est_coverage, _subset_coverage),
}


def _random_problem(rng, n):
    """n samples (reward, answer); answer classes 0 and (sometimes) 1 are correct, the others wrong."""
    n_classes = rng.integers(1, 5)
    n_correct = int(rng.integers(1, 3))
    answers = rng.integers(0, n_classes, size=n)
    return [(int(a < n_correct), int(a)) for a in answers]


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_unbiased_by_exhaustive_subset_enumeration(name):
    est, stat = ESTIMATORS[name]
    rng = np.random.default_rng(0)
    for n in range(1, 8):
        for _ in range(6):
            samples = _random_problem(rng, n)
            got = est(samples, np.arange(1, n + 1))
            for k in range(1, n + 1):
                subs = list(itertools.combinations(samples, k))
                want = sum(stat(s) for s in subs) / len(subs)
                assert got[k - 1] == pytest.approx(float(want), rel=1e-12, abs=1e-15), (name, samples, k)


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_permutation_invariance(name):
    est, _ = ESTIMATORS[name]
    rng = np.random.default_rng(1)
    for _ in range(20):
        n = int(rng.integers(1, 12))
        samples = _random_problem(rng, n)
        ks = np.arange(1, n + 1)
        perm = [samples[i] for i in rng.permutation(n)]
        np.testing.assert_allclose(est(samples, ks), est(perm, ks), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_k_equal_one_is_the_sample_mean(name):
    est, _ = ESTIMATORS[name]
    rng = np.random.default_rng(2)
    for _ in range(20):
        n = int(rng.integers(1, 15))
        samples = _random_problem(rng, n)
        assert est(samples, [1])[0] == pytest.approx(np.mean([r for r, _ in samples]), rel=1e-12)


@settings(max_examples=200, deadline=None)
@given(n=st.integers(1, 200), data=st.data())
def test_pass_family_orderings_and_endpoints(n, data):
    c = data.draw(st.integers(0, n))
    ks = np.arange(1, n + 1)
    at = pass_at_k(n, c, ks)
    hat = pass_hat_k(n, c, ks)
    mx = max_at_k([np.r_[np.ones(c), np.zeros(n - c)]], ks)[0]
    assert at[0] == pytest.approx(c / n, rel=1e-12)
    assert at[-1] == float(c > 0)  # pass@n = any correct
    assert hat[-1] == float(c == n)  # pass^n = all correct
    assert np.all(np.diff(at) >= -1e-15)  # pass@k non-decreasing in k
    assert np.all(np.diff(hat) <= 1e-15)  # pass^k non-increasing in k
    assert np.all(hat <= at[0] + 1e-15) and np.all(at[0] <= at + 1e-15)  # pass^k ≤ pass@1 ≤ pass@k
    np.testing.assert_allclose(mx, at, rtol=1e-12, atol=1e-15)  # max@k on {0,1} rewards = pass@k


@settings(max_examples=100, deadline=None)
@given(rewards=st.lists(st.floats(-10, 10, allow_nan=False), min_size=1, max_size=40))
def test_max_at_k_bounds_and_monotonicity(rewards):
    g = np.array(rewards)
    ks = np.arange(1, g.size + 1)
    mx = max_at_k([g], ks)[0]
    assert mx[0] == pytest.approx(g.mean(), rel=1e-9, abs=1e-9)
    assert mx[-1] == pytest.approx(g.max(), rel=1e-12, abs=1e-12)
    assert np.all(np.diff(mx) >= -1e-9)
