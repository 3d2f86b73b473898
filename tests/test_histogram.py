"""Statistics from the (n, c) histogram equal the per-problem ones: the same curve, the same
comparison, the same bootstrap distribution (checked statistically: a seed draws differently)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import passlens
from passlens import uncertainty
from passlens.estimators import pass_at_k
from passlens.histogram import count_histogram, pair_histogram


def _counts(P: int, n_choices: tuple[int, ...], seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = rng.choice(n_choices, size=P)
    c = rng.binomial(n, rng.beta(0.4, 0.6, size=P))
    return n, c


@pytest.fixture
def histogram_always(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every input takes the histogram path, however small."""
    monkeypatch.setattr(uncertainty, "PER_PROBLEM_CELLS", 0)


def test_count_histogram_round_trips() -> None:
    n, c = _counts(500, (4, 8, 16), seed=0)
    h = count_histogram(n, c)
    np.testing.assert_array_equal(h.n[h.inverse], n)
    np.testing.assert_array_equal(h.c[h.inverse], c)
    assert h.weights.sum() == 500 and h.n.size == len(set(zip(n.tolist(), c.tolist())))
    assert np.all(np.diff(h.n * 100 + h.c) > 0)  # sorted by (n, c), distinct
    big = np.array([2**40, 3, 2**40]), np.array([5, 1, 5])  # n² beyond int64: the sorting fallback
    hb = count_histogram(*big)
    np.testing.assert_array_equal(hb.n[hb.inverse], big[0])
    np.testing.assert_array_equal(hb.weights, [1, 2])
    ph = pair_histogram(n, c, n, np.minimum(c + 1, n))
    assert ph.weights.sum() == 500
    np.testing.assert_array_equal(np.bincount(ph.joint_a, weights=ph.weights, minlength=ph.a.n.size), ph.a.weights)


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 60), st.sampled_from([(3,), (4, 9), (2, 5, 16)]), st.integers(0, 10**6),
       st.sampled_from(["pass", "passhat"]))
def test_analytic_curve_from_the_histogram_equals_the_per_problem_curve(P: int, n_choices: tuple[int, ...],
                                                                       seed: int, metric: str) -> None:
    n, c = _counts(P, n_choices, seed)
    ks = [1, 2, 3, 5]
    kw: dict[str, Any] = dict(metric=metric, method="analytic", k_exceeds_n="drop")
    try:
        ref = passlens.curve(n, c, ks, **kw)
    except ValueError as e:
        assert "no problem has n ≥ k" in str(e)
        return
    old = uncertainty.PER_PROBLEM_CELLS
    uncertainty.PER_PROBLEM_CELLS = 0
    try:
        got = passlens.curve(n, c, ks, **kw)
    finally:
        uncertainty.PER_PROBLEM_CELLS = old
    np.testing.assert_allclose(got.estimate, ref.estimate, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(got.se, ref.se, rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(got.lo, ref.lo, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(got.hi, ref.hi, rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(got.problems, ref.problems)
    assert got.dropped == ref.dropped


def test_bootstrap_from_the_histogram_has_the_per_problem_distribution(histogram_always: None) -> None:
    n, c = _counts(300, (8,), seed=1)
    ks = [1, 2, 4, 8]
    hist = passlens.curve(n, c, ks, n_boot=20_000, seed=5)
    uncertainty.PER_PROBLEM_CELLS = 10**12
    ref = passlens.curve(n, c, ks, n_boot=20_000, seed=5)
    width = ref.hi - ref.lo
    # both are 2.5% / 97.5% quantiles of the same distribution, each from 20,000 draws
    assert np.all(np.abs(hist.lo - ref.lo) < 0.05 * width) and np.all(np.abs(hist.hi - ref.hi) < 0.05 * width)
    assert not np.array_equal(hist.lo, ref.lo)  # other draws: a seed does not map
    np.testing.assert_allclose(hist.estimate, ref.estimate, rtol=1e-12)


def test_small_inputs_keep_their_per_problem_draws() -> None:
    """Below PER_PROBLEM_CELLS the curve is the one earlier versions drew, seed for seed."""
    n, c = _counts(80, (8,), seed=2)
    rows = pass_at_k(n, c, [1, 4])
    ref = uncertainty.curve_from_rows(rows, np.array([1, 4]), n_boot=500, seed=3)
    got = passlens.curve(n, c, [1, 4], n_boot=500, seed=3)
    np.testing.assert_array_equal(got.lo, ref.lo)
    np.testing.assert_array_equal(got.hi, ref.hi)


def test_k_beyond_n_names_the_problem_on_the_histogram_path(histogram_always: None) -> None:
    with pytest.raises(ValueError, match="k=5 exceeds n=4 for problem 'b'"):
        passlens.curve(np.array([8, 4]), np.array([1, 1]), [1, 5], ids=["a", "b"])
    cur = passlens.curve(np.array([8, 4, 4]), np.array([1, 1, 2]), [1, 5], k_exceeds_n="drop", method="analytic")
    assert cur.dropped == 2 and cur.problems.tolist() == [3, 1]


@pytest.mark.parametrize("path", ["dense", "sparse", "sparse, three blocks"])
def test_pair_moments_equal_the_direct_sums(monkeypatch: pytest.MonkeyPatch, path: str) -> None:
    if path != "dense":
        monkeypatch.setattr(uncertainty, "_DENSE_JOINT", 0)
    if path == "sparse, three blocks":  # more distinct (n, c) pairs than one block of 8192 holds
        rng = np.random.default_rng(12)
        n_a, n_b = rng.integers(3, 120, 30_000), rng.integers(3, 120, 30_000)
        c_a, c_b = rng.integers(0, n_a + 1), rng.integers(0, n_b + 1)
        assert pair_histogram(n_a, c_a, n_b, c_b).weights.size > 2 * 8192
        ks = np.array([1, 3])
    else:
        n_a, c_a = _counts(400, (8, 16), seed=3)
        n_b = n_a.copy()
        c_b = np.clip(c_a + np.random.default_rng(4).integers(-2, 3, size=400), 0, n_b)
        ks = np.array([1, 2, 4, 8])
    a_mean, b_mean, var, cov = uncertainty._pair_moments(pair_histogram(n_a, c_a, n_b, c_b), ks)
    pa, pb = pass_at_k(n_a, c_a, ks), pass_at_k(n_b, c_b, ks)
    d = (pb - pa) - (pb - pa).mean(axis=0)
    np.testing.assert_allclose(a_mean, pa.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(b_mean, pb.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(var, (d * d).sum(axis=0), rtol=1e-10)
    np.testing.assert_allclose(cov, d.T @ d, rtol=1e-9, atol=1e-9)


def test_compare_from_the_histogram_has_the_per_problem_band(histogram_always: None) -> None:
    n = np.full(600, 16)
    rng = np.random.default_rng(6)
    p = rng.beta(0.5, 0.5, size=600)
    c_a = rng.binomial(16, p)
    c_b = rng.binomial(16, np.clip(p + rng.normal(0.03, 0.05, size=600), 0, 1))
    got = passlens.compare((n, c_a), (n, c_b), n_boot=20_000, seed=1)
    uncertainty.PER_PROBLEM_CELLS = 10**12
    ref = passlens.compare((n, c_a), (n, c_b), n_boot=20_000, seed=1)
    for field in ("a", "b", "diff"):
        np.testing.assert_allclose(getattr(got, field), getattr(ref, field), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(got.se, ref.se, rtol=1e-9)
    assert got.critical == pytest.approx(ref.critical, rel=0.03)  # the 95% quantile of one distribution
    assert got.critical != ref.critical
    np.testing.assert_array_equal(got.degenerate, ref.degenerate)
    assert got.problems == ref.problems == 600


def test_compare_histogram_with_zero_variance_budgets(histogram_always: None) -> None:
    n = np.full(50, 4)
    c_a = np.r_[np.full(25, 1), np.full(25, 2)]
    res = passlens.compare((n, c_a), (n, c_a), n_boot=200)  # identical models: every difference is 0
    assert res.degenerate.tolist() == [1, 2, 3, 4] and res.inconclusive.tolist() == [1, 2, 3, 4]
    assert res.critical == 0.0 and np.all(res.lo == -1.0) and np.all(res.hi == 1.0)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 8, allow_nan=False), st.integers(1, 5)), min_size=1, max_size=12),
       st.lists(st.floats(0, 1), min_size=1, max_size=7))
def test_weighted_quantile_is_numpys_quantile_of_the_repeated_sample(cells: list[tuple[float, int]],
                                                                    levels: list[float]) -> None:
    from passlens.theory.summary import _weighted_quantile

    values = np.array([v for v, _ in cells])
    weights = np.array([w for _, w in cells])
    q = np.array(levels)
    np.testing.assert_array_equal(_weighted_quantile(values, weights, q), np.quantile(np.repeat(values, weights), q))


def test_summarize_from_the_histogram_equals_the_per_problem_sums() -> None:
    from passlens import theory
    from passlens.gradient_estimators import alpha_hat, gap_hat, signal_hat, zero_signal_hat

    n, c = _counts(3000, (8, 16, 64), seed=7)
    ks = [1, 2, 4, 8, 16]
    s = theory.summarize(n, c, ks=ks, group_size=16)
    a = alpha_hat(n, c, ks, k_exceeds_n="nan")
    g = gap_hat(n, c, ks, k_exceeds_n="nan")
    sg = signal_hat(n, c, ks, k_exceeds_n="nan")
    z = zero_signal_hat(n, c, 16, k_exceeds_n="nan")
    np.testing.assert_allclose(s.alpha_mean, np.nanmean(a, axis=0), rtol=1e-12)
    np.testing.assert_array_equal(s.alpha_problems, (~np.isnan(a)).sum(axis=0))
    for j in range(len(ks)):
        col = a[~np.isnan(a[:, j]), j]
        np.testing.assert_allclose(s.alpha_quantiles[j], np.quantile(col, s.alpha_quantile_levels), rtol=1e-14)
    np.testing.assert_allclose(s.gap_mean, np.nanmean(g, axis=0), rtol=1e-12)
    np.testing.assert_allclose(s.signal_total, np.nansum(sg, axis=0), rtol=1e-12)
    assert s.zero_signal_fraction == pytest.approx(np.nanmean(z), rel=1e-12)
    assert s.pass1_mean == pytest.approx(np.mean(c / n), rel=1e-12)
    assert s.bucket_counts.sum() == 3000 and s.n_problems == 3000


def test_huge_budget_grids_are_refused_in_one_line_and_defaults_scale() -> None:
    """10⁶ budgets at n = 10⁶ would need a (rows × K) matrix and a K × K covariance of terabytes."""
    n = np.full(1000, 10**6)
    c = np.random.default_rng(8).binomial(10**6, 0.3, size=1000)
    with pytest.raises(ValueError, match=r"^1,000,000 budgets on 1,000 paired problems: .* at most 8,192 budgets"):
        passlens.compare((n, c), (n, c), np.arange(1, 10**6 + 1))
    with pytest.raises(ValueError, match=r"^1,000,000 budgets × 1,000 problems is more than 250,000,000 estimates"):
        passlens.curve(n, c, np.arange(1, 10**6 + 1), method="analytic")
    from passlens._validate import DENSE_GRID_MAX, default_grid

    assert default_grid(DENSE_GRID_MAX).size == DENSE_GRID_MAX
    grid = default_grid(10**6)
    assert grid[0] == 1 and grid[-1] == 10**6 and grid.size < 100 and 2**19 in grid
    res = passlens.compare((n[:50], c[:50]), (n[:50], c[:50]), n_boot=100)  # the default grid: no flags
    assert res.k.tolist() == grid.tolist()


def _reference(n: Any, c: Any) -> tuple[list[int], list[int], list[int], list[int]]:
    pairs = sorted(set(zip(map(int, n), map(int, c))))
    index = {p: i for i, p in enumerate(pairs)}
    inverse = [index[(int(a), int(b))] for a, b in zip(n, c)]
    weights = [inverse.count(i) for i in range(len(pairs))]
    return [p[0] for p in pairs], [p[1] for p in pairs], weights, inverse


@pytest.mark.parametrize(
    ("n", "c"),
    [
        pytest.param([4, 4, 8, 4, 8], [1, 1, 0, 3, 8], id="dense: bincount"),
        pytest.param([5000, 4, 5000, 4], [7, 1, 7, 4], id="sparse: n_keys > 2^24, a sort"),
        pytest.param(np.array([50_000, 3, 50_000], dtype=np.int32), np.array([2, 1, 2], dtype=np.int32),
                     id="int32 input: n * width needs 64 bits"),
        pytest.param([4_000_000_000, 5, 4_000_000_000], [3_999_999_999, 0, 3_999_999_999],
                     id="2^31 < width < 2^32: n * width + c would overflow int64"),
        pytest.param([7.0, 7.0], [2.0, 3.0], id="integral floats"),
    ],
)
def test_count_histogram_every_path_is_exact_and_int64(n: Any, c: Any) -> None:
    h = count_histogram(n, c)
    assert (h.n.tolist(), h.c.tolist(), h.weights.tolist(), h.inverse.tolist()) == _reference(n, c)
    assert all(a.dtype == np.int64 and a.ndim == 1 for a in (h.n, h.c, h.weights, h.inverse))
    assert h.problems == len(n)


def test_count_histogram_of_no_problems_and_of_one() -> None:
    h = count_histogram([], [])
    assert h.problems == 0
    assert all(isinstance(a, np.ndarray) and a.dtype == np.int64 and a.size == 0 for a in (h.n, h.c, h.weights, h.inverse))
    one = count_histogram([5], [2])
    assert (one.n.tolist(), one.c.tolist(), one.weights.tolist(), one.inverse.tolist()) == ([5], [2], [1], [0])
