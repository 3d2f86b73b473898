"""Confidence intervals, paired comparison and the Bayesian view."""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from scipy import integrate, special, stats

import passlens
from passlens.uncertainty import (
    _BOOT_BLOCK,
    beta_posterior_pass_at_k,
    bootstrap_ci,
    compare,
    curve,
    curve_from_rows,
    sup_t_band,
)

DATA = Path(passlens.__file__).parent / "data" / "deepscaler32k"


def _load(name: str) -> SimpleNamespace:
    rows = [json.loads(line) for line in (DATA / name).read_text().splitlines()]
    return SimpleNamespace(
        ids=np.array([r["id"] for r in rows], dtype=object),
        n=np.array([r["n"] for r in rows]),
        c=np.array([r["c"] for r in rows]),
    )


def _true_curve(a: float, b: float, ks: np.ndarray) -> np.ndarray:
    """E_p[1 − (1 − p)^k] for p ~ Beta(a, b) = 1 − B(a, b + k)/B(a, b)."""
    return -np.expm1(special.betaln(a, b + ks) - special.betaln(a, b))


def test_bootstrap_matches_the_obvious_resampling_loop():
    rng = np.random.default_rng(0)
    rows = rng.random((37, 3))
    lo, hi = bootstrap_ci(rows, n_boot=300, seed=5)
    # Reference: draw the same indices block by block, resample rows, take means.
    ref_rng = np.random.default_rng(5)
    means = []
    for start in range(0, 300, _BOOT_BLOCK):
        idx = ref_rng.integers(0, 37, size=(min(_BOOT_BLOCK, 300 - start), 37))
        means.extend(rows[i].mean(axis=0) for i in idx)
    want_lo, want_hi = np.quantile(np.array(means), [0.025, 0.975], axis=0)
    np.testing.assert_allclose(lo, want_lo, rtol=1e-12)
    np.testing.assert_allclose(hi, want_hi, rtol=1e-12)


@pytest.mark.parametrize("method,reps", [("analytic", 1000), ("bootstrap", 300)])
def test_interval_coverage_on_a_known_population(method, reps):
    a, b, P, n = 0.5, 2.0, 300, 16
    ks = np.array([1, 4, 16])
    truth = _true_curve(a, b, ks)
    rng = np.random.default_rng(11)
    hits = np.zeros(ks.size)
    for r in range(reps):
        p = rng.beta(a, b, size=P)
        c = rng.binomial(n, p)
        cur = curve(np.full(P, n), c, ks, method=method, n_boot=400, seed=r)
        hits += (cur.lo <= truth) & (truth <= cur.hi)
    coverage = hits / reps
    assert np.all(coverage >= 0.93), coverage


def test_curve_drop_policy_counts_problems_used():
    n = np.array([4, 8, 8])
    c = np.array([1, 0, 8])
    with pytest.raises(ValueError, match="k=8 exceeds n=4"):
        curve(n, c, [1, 8])
    cur = curve(n, c, [1, 8], k_exceeds_n="drop", method="analytic")
    assert cur.problems.tolist() == [3, 2]
    assert cur.dropped == 1
    assert cur.estimate[1] == pytest.approx(0.5)  # mean of pass@8 over the two n=8 problems
    assert cur.estimate[0] == pytest.approx((1 / 4 + 0 + 1) / 3)


def test_to_dict_is_strict_json():
    # One problem left at k=4: its SE is NaN, written as null (json.dumps(allow_nan=False) accepts it).
    cur = curve([4, 2], [2, 1], [1, 3], k_exceeds_n="drop")
    d = cur.to_dict()
    assert np.isnan(cur.se[1]) and d["se"][1] is None
    json.loads(json.dumps(d, allow_nan=False))
    res = passlens.compare(([4, 4, 4], [1, 2, 3]), ([4, 4, 4], [2, 2, 4]), [1, 2], n_boot=200)
    json.loads(json.dumps(res.to_dict(), allow_nan=False))


def test_curve_rows_and_frame():
    cur = curve_from_rows(np.array([[0.0, 1.0], [1.0, 1.0]]), np.array([1, 2]), method="analytic")
    assert cur.rows()[0]["k"] == 1 and cur.rows()[0]["problems"] == 2
    assert cur.to_polars().shape == (2, 6)


def test_compare_reproduces_the_published_deepscaler_result():
    """arXiv 2609.22547 / passk-inference: RL gains at k = 1–10, inconclusive 11–60,
    losses 61–128, first-loss confidence set [11, 61] (95% band, 4000 draws, seed 0)."""
    base, rl = _load("base.jsonl"), _load("rl.jsonl")
    res = compare(base, rl, alpha=0.05, n_boot=4000, seed=0)
    assert res.problems == 1060
    assert res.better.tolist() == list(range(1, 11))
    assert res.inconclusive.tolist() == list(range(11, 61))
    assert res.worse.tolist() == list(range(61, 129))
    assert res.first_loss_interval == (11, 61)


def test_compare_agrees_with_passk_inference_oracle():
    pk = pytest.importorskip("passk_inference")
    base, rl = _load("base.jsonl"), _load("rl.jsonl")
    ours = compare((base.n, base.c), (rl.n, rl.c), n_boot=1000, seed=3)
    theirs = pk.compare(base.c, base.n, rl.c, rl.n, bootstrap=1000, seed=3)
    np.testing.assert_allclose(ours.diff, theirs["mean"], rtol=0, atol=1e-14)
    np.testing.assert_allclose(ours.se, theirs["se"], rtol=1e-12)
    np.testing.assert_allclose(ours.a, theirs["base_pass_at_k"], rtol=1e-12)
    # Same Gaussian multiplier draws from the same seed → the same critical value.
    assert ours.critical == pytest.approx(theirs["critical_value"], rel=1e-12)
    assert ours.first_loss_interval == tuple(theirs["first_loss_interval"])


def test_compare_aligns_tables_by_id_and_rejects_mismatches():
    a = SimpleNamespace(ids=np.array(["x", "y", "z"], dtype=object), n=np.array([4, 4, 4]), c=np.array([0, 2, 4]))
    b = SimpleNamespace(ids=np.array(["z", "x", "y"], dtype=object), n=np.array([4, 4, 4]), c=np.array([4, 1, 2]))
    res = compare(a, b, [1, 2], n_boot=200)
    np.testing.assert_allclose(res.diff[0], (0.25 + 0 + 0) / 3)
    b_bad = SimpleNamespace(ids=np.array(["z", "x", "w"], dtype=object), n=b.n, c=b.c)
    with pytest.raises(ValueError, match="different problems: 1 only in A"):
        compare(a, b_bad)
    with pytest.raises(ValueError, match="same problems"):
        compare((np.array([4, 4]), np.array([1, 1])), (np.array([4]), np.array([1])))


def test_sup_t_band_family_wise_error_under_the_null():
    """Two identical models: a 95% simultaneous band excludes 0 somewhere in ≤ ~5% of runs."""
    rng = np.random.default_rng(7)
    P, n, ks = 150, 16, np.array([1, 2, 4, 8, 16])
    false_alarms, reps = 0, 300
    for r in range(reps):
        p = rng.beta(0.7, 1.5, size=P)
        ca, cb = rng.binomial(n, p), rng.binomial(n, p)
        res = compare((np.full(P, n), ca), (np.full(P, n), cb), ks, n_boot=500, seed=r)
        false_alarms += bool(res.better.size or res.worse.size)
    assert false_alarms / reps <= 0.08, false_alarms / reps


@pytest.mark.parametrize("method", ["bootstrap", "analytic"])
def test_one_problem_has_no_interval(method):
    # A bootstrap of one problem is a point; no spread, no interval (not a zero-width one).
    cur = curve([8], [3], [1, 2], method=method)
    assert cur.estimate[0] == pytest.approx(3 / 8)
    assert np.isnan(cur.lo).all() and np.isnan(cur.hi).all() and np.isnan(cur.se).all()
    # With k_exceeds_n="drop", only the budget left with one problem loses its interval.
    cur = curve([4, 2], [2, 1], [1, 3], k_exceeds_n="drop", method=method)
    assert np.isfinite([cur.lo[0], cur.hi[0], cur.se[0]]).all()
    assert np.isnan([cur.lo[1], cur.hi[1], cur.se[1]]).all()


def test_sup_t_band_is_wider_than_pointwise_and_degenerate_columns_are_flagged():
    rng = np.random.default_rng(1)
    rows = np.column_stack([rng.normal(size=200), rng.normal(size=200), np.zeros(200)])
    mean, se, crit, degenerate = sup_t_band(rows, n_boot=2000)
    assert crit > stats.norm.ppf(0.975)
    assert degenerate.tolist() == [False, False, True]


def test_beta_posterior_mean_and_interval_against_quadrature():
    n, c, ks = np.array([10, 128, 3]), np.array([0, 5, 3]), np.array([1, 4, 128])
    post = beta_posterior_pass_at_k(n, c, ks, prior=(1.0, 1.0))
    for i in range(n.size):
        a, b = 1 + c[i], 1 + n[i] - c[i]
        for j, k in enumerate(ks):
            want, _ = integrate.quad(lambda p: (1 - (1 - p) ** k) * stats.beta.pdf(p, a, b), 0, 1, epsabs=1e-13)
            assert post["mean"][i, j] == pytest.approx(want, rel=1e-8)
            q = stats.beta.ppf([0.025, 0.975], a, b)
            np.testing.assert_allclose([post["lo"][i, j], post["hi"][i, j]], 1 - (1 - q) ** k, rtol=1e-9)


@pytest.mark.parametrize("method", ["bootstrap", "analytic"])
def test_budget_with_no_spread_gets_an_exact_interval_not_a_point(method):
    # Every problem solved at least once: pass@64 = 1 on all 20, where both methods alone give
    # [1, 1] and miss every population mean below 1. For values in [0, 1] the exact interval is
    # Clopper–Pearson's for 20 successes in 20 trials (scipy as the oracle).
    n = np.full(20, 64)
    cur = curve(n, np.full(20, 30), [1, 2, 64], method=method)
    cp = stats.binomtest(20, 20).proportion_ci(0.95, method="exact")
    assert cur.lo[2] == pytest.approx(cp.low, rel=1e-12) and cur.hi[2] == 1.0
    # All at v = 30/64: a mean μ < v puts at most μ/v of the mass on v, so 20 equal draws have
    # probability ≤ (μ/v)^20; the interval keeps the μ where that (or its mirror above v) is ≥ 2.5%.
    e = 0.025 ** (1 / 20)
    v = np.array([30 / 64, 1 - (34 / 64) * (33 / 63)])
    np.testing.assert_allclose(cur.lo[:2], v * e, rtol=1e-12)
    np.testing.assert_allclose(cur.hi[:2], 1 - (1 - v) * e, rtol=1e-12)
    assert (cur.lo[:2] < v).all() and (v < cur.hi[:2]).all()
    assert cur.se.tolist() == [0.0, 0.0, 0.0]
    cp0 = stats.binomtest(0, 20).proportion_ci(0.95, method="exact")
    cur0 = curve(n, np.zeros(20, dtype=int), [1, 64], method=method)
    np.testing.assert_allclose(cur0.hi, cp0.high, rtol=1e-12)
    assert cur0.lo.tolist() == [0.0, 0.0]
    hat = curve(n, n, [8], metric="passhat", method=method)  # pass^8 = 1 on all 20
    assert hat.lo[0] == pytest.approx(cp.low, rel=1e-12) and hat.hi[0] == 1.0
    # max@k has no known support: no interval rather than a point.
    cm = curve(rewards=np.full((5, 4), 0.5), k=[1, 4], metric="max", method=method)
    assert np.isnan(cm.lo).all() and np.isnan(cm.hi).all()


def test_no_spread_interval_uses_the_problems_counted_at_that_k():
    # k = 8: the two n = 8 problems are both solved (the n = 4 one is dropped): CP for 2/2, not 3/3.
    cur = curve([4, 8, 8], [0, 3, 5], [1, 8], k_exceeds_n="drop", method="analytic")
    assert cur.problems.tolist() == [3, 2]
    assert cur.lo[1] == pytest.approx(0.025 ** (1 / 2), rel=1e-12) and cur.hi[1] == 1.0
    # k = 1 has spread: the t interval, clipped to [0, 1].
    x = np.array([0, 3 / 8, 5 / 8])
    half = stats.t.ppf(0.975, 2) * x.std(ddof=1) / np.sqrt(3)
    np.testing.assert_allclose([cur.lo[0], cur.hi[0]], [max(x.mean() - half, 0), min(x.mean() + half, 1)], rtol=1e-12)


def test_dropped_counts_the_largest_budget_wherever_it_sits_in_k():
    cur = curve([4, 8], [1, 1], [8, 1], k_exceeds_n="drop", method="analytic")
    assert cur.problems.tolist() == [1, 2]
    assert cur.dropped == 1


def test_intervals_stay_inside_the_range_of_the_quantity():
    # Three problems: the t interval of pass@1 would be about [−0.45, 1.11]; a mean of values in [0, 1] is in [0, 1].
    cur = curve([8, 8, 8], [0, 4, 8], [1], method="analytic")
    assert cur.lo[0] == 0.0 and cur.hi[0] == 1.0
    x = np.array([0.0, 0.5, 1.0])
    half = stats.t.ppf(0.975, 2) * x.std(ddof=1) / np.sqrt(3)
    assert 0.5 - half < 0 and 0.5 + half > 1  # the clipping did something
    # max@k has no known range: its t interval is left as it is.
    cm = curve(rewards=[np.array([0.0]), np.array([5.0]), np.array([10.0])], k=[1], metric="max", method="analytic")
    assert cm.lo[0] < 0
    # Two problems: mean ± c·se of a difference passes ±1; the band is clipped, the verdict unchanged.
    res = compare(([4, 4], [0, 0]), ([4, 4], [4, 0]), [1, 2], n_boot=500)
    assert (res.lo >= -1).all() and (res.hi <= 1).all()
    assert res.hi.max() == 1.0 and res.inconclusive.tolist() == [1, 2]


@pytest.mark.parametrize("cells", [0, 10**12])
def test_analytic_se_is_the_sample_sd_over_root_p(monkeypatch: pytest.MonkeyPatch, cells: int) -> None:
    """SE_k = sd_k (ddof = 1) / √P when no problem is dropped, on the per-problem and the histogram paths."""
    from passlens import uncertainty

    monkeypatch.setattr(uncertainty, "PER_PROBLEM_CELLS", cells)
    rng = np.random.default_rng(0)
    n = np.full(40, 8)
    c = rng.binomial(8, rng.uniform(size=40))
    rows = passlens.pass_at_k(n, c, [1, 2, 4])
    cur = curve(n, c, [1, 2, 4], method="analytic")
    np.testing.assert_allclose(cur.se, rows.std(axis=0, ddof=1) / np.sqrt(40), rtol=1e-12)


@pytest.mark.parametrize("kw,message", [
    ({"seed": "x"}, "seed must be an integer in [0, 2⁶⁴), got 'x'"),
    ({"seed": -1}, "seed must be an integer in [0, 2⁶⁴), got -1"),
    ({"seed": 1.5}, "seed must be an integer in [0, 2⁶⁴), got 1.5"),
    ({"n_boot": 2.5}, "n_boot must be an integer ≥ 2, got 2.5"),
    ({"n_boot": "10"}, "n_boot must be an integer ≥ 2, got '10'"),
    ({"ci": "0.9"}, "confidence level must be a number in (0, 1), got '0.9'"),
    ({"ci": 1.5}, "confidence level must be a number in (0, 1), got 1.5"),
])
def test_curve_names_a_bad_argument(kw: dict, message: str) -> None:
    with pytest.raises(ValueError) as ei:
        curve(np.full(5, 8), np.arange(5), [1, 2], **kw)
    assert str(ei.value) == message


@pytest.mark.parametrize("kw,message", [
    ({"alpha": "0.05"}, "alpha must be a number in (0, 1), got '0.05'"),
    ({"alpha": 0}, "alpha must be a number in (0, 1), got 0"),
    ({"n_boot": 1.5}, "n_boot must be an integer ≥ 2, got 1.5"),
    ({"seed": "s"}, "seed must be an integer in [0, 2⁶⁴), got 's'"),
])
def test_compare_names_a_bad_argument(kw: dict, message: str) -> None:
    n, c = np.full(5, 8), np.arange(5)
    with pytest.raises(ValueError) as ei:
        compare((n, c), (n, c), [1, 2], **kw)
    assert str(ei.value) == message


# ---------------------------------------------------------------------------- exact fields, settings, histogram path


def test_curve_and_comparison_dicts_have_every_field_by_name():
    cur = curve_from_rows(np.array([[0.0, 1.0], [1.0, 1.0], [0.5, 1.0]]), np.array([1, 2]), method="analytic")
    assert list(cur.rows()[0]) == ["k", "estimate", "lo", "hi", "se", "problems"]
    row = cur.rows()[0]
    assert (row["estimate"], row["lo"], row["hi"], row["se"]) == (cur.estimate[0], cur.lo[0], cur.hi[0], cur.se[0])
    d = cur.to_dict()
    assert list(d) == ["metric", "ci", "method", "dropped", "k", "estimate", "lo", "hi", "se", "problems"]
    assert (d["metric"], d["ci"], d["method"], d["dropped"], d["k"], d["problems"]) == ("pass", 0.95, "analytic", 0,
                                                                                     [1, 2], [3, 3])
    assert d["estimate"] == cur.estimate.tolist() and d["lo"] == cur.lo.tolist() and d["hi"] == cur.hi.tolist()
    n = np.full(12, 8)
    res = compare((n, np.arange(12) % 9), (n, (np.arange(12) + 3) % 9), [1, 2, 3], n_boot=50, seed=4)
    d = res.to_dict()
    assert list(d) == ["direction", "problems", "alpha", "n_boot", "seed", "critical_value", "k", "a", "b", "diff",
                       "se", "lo", "hi", "better", "worse", "inconclusive", "first_loss", "first_loss_interval",
                       "crossover", "degenerate"]
    assert (d["direction"], d["problems"], d["alpha"], d["n_boot"], d["seed"]) == ("b_minus_a", 12, 0.05, 50, 4)
    assert d["critical_value"] == res.critical and d["crossover"] == res.crossover
    for name in ("k", "a", "b", "diff", "se", "lo", "hi", "better", "worse", "inconclusive", "first_loss",
                 "degenerate"):
        assert d[name] == getattr(res, name).tolist(), name
    assert res.first_loss_interval == (1, None) and d["first_loss_interval"] == [1, None]
    sparse = compare((n, np.arange(12) % 9), (n, (np.arange(12) + 3) % 9), [2, 3], n_boot=50)  # not 1..K: no interval
    assert sparse.first_loss_interval is None and sparse.to_dict()["first_loss_interval"] is None


def test_bootstrap_defaults_are_2000_draws_with_seed_0():
    rows = np.random.default_rng(2).random((30, 2))
    lo, hi = bootstrap_ci(rows)
    want = bootstrap_ci(rows, n_boot=2000, seed=0)
    np.testing.assert_array_equal(lo, want[0])
    np.testing.assert_array_equal(hi, want[1])


def test_histogram_band_critical_value_from_two_draws(monkeypatch: pytest.MonkeyPatch):
    # One budget: Z ~ N(0, 1) is the seed's next normal (up to sign), and T* = √((P − 1)/P) · |Z|.
    from passlens import uncertainty

    monkeypatch.setattr(uncertainty, "PER_PROBLEM_CELLS", 0)
    n = np.full(7, 4)
    res = compare((n, np.array([0, 1, 2, 3, 4, 1, 2])), (n, np.array([1, 1, 3, 3, 4, 0, 4])), [2], n_boot=2, seed=5)
    z = np.random.default_rng(5).standard_normal(2)
    assert res.critical == pytest.approx(np.quantile(np.sqrt(6 / 7) * np.abs(z), 0.95), rel=1e-12)


def test_histogram_band_does_not_depend_on_the_draw_block(monkeypatch: pytest.MonkeyPatch):
    # The draws are one stream of normals in row order: blocks of 256 or one block give the same T*.
    from passlens import uncertainty

    monkeypatch.setattr(uncertainty, "PER_PROBLEM_CELLS", 0)
    rng = np.random.default_rng(8)
    n = np.full(40, 8)
    c_a, c_b = rng.integers(0, 9, 40), rng.integers(0, 9, 40)
    got = compare((n, c_a), (n, c_b), [1, 2, 4], n_boot=700, seed=3)
    monkeypatch.setattr(uncertainty, "_BOOT_BLOCK", 700)
    assert compare((n, c_a), (n, c_b), [1, 2, 4], n_boot=700, seed=3).critical == got.critical
    assert compare((n, c_a), (n, c_b), [1, 2, 4], n_boot=700, seed=3).critical == got.critical  # seeded


def test_histogram_band_with_degenerate_and_collinear_budgets(monkeypatch: pytest.MonkeyPatch):
    import warnings

    from passlens import uncertainty

    monkeypatch.setattr(uncertainty, "PER_PROBLEM_CELLS", 0)
    # n = 2 with c ∈ {0, 2}: pass@1 = pass@2 per problem, so the 2 × 2 correlation is singular and its
    # smaller eigenvalue comes out −2.8e-16 here (clipped to 0, not a NaN square root).
    n = np.full(3, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = compare((n, np.array([0, 0, 2])), (n, np.array([0, 2, 0])), [1, 2], n_boot=200)
    assert np.isfinite(res.critical) and res.critical > 0
    # every budget degenerate (identical models): the difference is 0, not a + b
    n = np.full(6, 4)
    same = compare((n, np.arange(6) % 5), (n, np.arange(6) % 5), [1, 2], n_boot=50)
    assert same.diff.tolist() == [0.0, 0.0] and same.critical == 0.0
    # some budgets degenerate, some not: the correlation of the live ones only (k = 4: both models solve all)
    n = np.full(8, 4)
    mixed = compare((n, np.array([1, 2, 3, 4, 1, 2, 3, 4])), (n, np.array([4, 2, 1, 3, 2, 2, 4, 1])), [1, 2, 4],
                    n_boot=400, seed=2)
    monkeypatch.setattr(uncertainty, "PER_PROBLEM_CELLS", 10**12)
    ref = compare((n, np.array([1, 2, 3, 4, 1, 2, 3, 4])), (n, np.array([4, 2, 1, 3, 2, 2, 4, 1])), [1, 2, 4],
                  n_boot=400, seed=2)
    assert mixed.degenerate.tolist() == ref.degenerate.tolist() == [4]
    np.testing.assert_allclose(mixed.se, ref.se, rtol=1e-12)
    assert mixed.critical == pytest.approx(ref.critical, rel=0.15)  # two draws of one distribution


def test_beta_posterior_rejects_a_nonpositive_prior_and_names_the_problem():
    for prior in ((0.0, 1.0), (1.0, 0.0), (-1.0, -1.0)):
        with pytest.raises(ValueError, match=rf"^Beta prior parameters must be positive, got {re.escape(str(prior))}$"):
            beta_posterior_pass_at_k([4], [1], 2, prior=prior)
    with pytest.raises(ValueError, match=r"problem 'q2' \(index 1\)"):
        beta_posterior_pass_at_k([4, 4], [1, 5], 2, ids=["q1", "q2"])


def _warnings_are_errors():
    import contextlib
    import warnings

    stack = contextlib.ExitStack()
    stack.enter_context(warnings.catch_warnings())
    warnings.simplefilter("error")
    stack.enter_context(np.errstate(all="warn"))
    return stack


def test_masked_bootstrap_matches_the_obvious_resampling_loop_without_warnings():
    # Problem 0 alone has a value at k = 2: most replicates draw no problem there (0/0, left out of the quantile).
    rows = np.array([[0.2, 0.9], [0.7, np.nan], [0.4, np.nan], [1.0, np.nan], [0.1, np.nan]])
    mask = ~np.isnan(rows)
    with _warnings_are_errors():
        lo, hi = bootstrap_ci(rows, n_boot=300, seed=5, mask=mask, ci=0.8)
    ref_rng = np.random.default_rng(5)
    means = []
    for start in range(0, 300, _BOOT_BLOCK):
        for i in ref_rng.integers(0, 5, size=(min(_BOOT_BLOCK, 300 - start), 5)):
            means.append([rows[i, 0].mean(), rows[i, 1][mask[i, 1]].mean() if mask[i, 1].any() else np.nan])
    want_lo, want_hi = np.nanquantile(np.array(means), [0.1, 0.9], axis=0)
    np.testing.assert_allclose(lo, want_lo, rtol=1e-12)
    np.testing.assert_allclose(hi, want_hi, rtol=1e-12)
    assert lo[1] == hi[1] == 0.9
    # a curve passes its mask, level, draws and seed through to the bootstrap
    cur = curve_from_rows(rows, np.array([1, 2]), ci=0.8, n_boot=300, seed=5)
    assert cur.lo[0] == lo[0] and cur.hi[0] == hi[0]
    dflt = curve_from_rows(rows, np.array([1, 2]))
    want = bootstrap_ci(rows, mask=mask, n_boot=2000, seed=0)
    assert dflt.lo[0] == want[0][0] and dflt.hi[0] == want[1][0]
    assert (dflt.metric, dflt.ci, dflt.method, dflt.dropped, dflt.problems.tolist()) == ("pass", 0.95, "bootstrap", 0,
                                                                                        [5, 1])
    assert np.isnan([dflt.lo[1], dflt.hi[1], dflt.se[1]]).all()  # one problem: no interval


def test_analytic_interval_is_the_t_interval_and_keeps_its_settings():
    rows = np.array([[0.2, 0.1], [0.6, 0.5], [0.3, np.nan], [0.9, np.nan], [0.4, np.nan]])
    with _warnings_are_errors():
        cur = curve_from_rows(rows, [1, 2], method="analytic", ci=0.9, metric="maj", dropped=3)
    for j, col in enumerate((rows[:, 0], rows[:2, 1])):
        m = col.size
        se = col.std(ddof=1) / np.sqrt(m)
        q = stats.t.ppf(0.95, m - 1)
        assert cur.se[j] == pytest.approx(se, rel=1e-12)
        assert cur.lo[j] == pytest.approx(max(col.mean() - q * se, 0.0), rel=1e-12)
        assert cur.hi[j] == pytest.approx(min(col.mean() + q * se, 1.0), rel=1e-12)
    assert (cur.metric, cur.ci, cur.method, cur.dropped, cur.k.dtype) == ("maj", 0.9, "analytic", 3, np.int64)
    # nothing masked, more problems than budgets: numpy's std over √P, to the last digit
    full = np.random.default_rng(0).random((14, 3))
    np.testing.assert_array_equal(curve_from_rows(full, [1, 2, 3], method="analytic").se,
                                  full.std(axis=0, ddof=1) / np.sqrt(14))
    two = curve_from_rows(rows[:2], [1, 2], method="analytic")  # P = 2 unmasked: an SE, not NaN
    assert two.se[0] == pytest.approx(0.2, rel=1e-12)
    with _warnings_are_errors():
        one = curve_from_rows(rows[:1], [1, 2], method="analytic")
    assert np.isnan(one.se).all() and np.isnan(one.lo).all()
    # values outside [0, 1] (not a pass@k matrix): no clipping to the unit interval
    wide = np.array([[0.2], [1.5], [0.9]])
    cur = curve_from_rows(wide, [1], method="analytic")
    se = wide[:, 0].std(ddof=1) / np.sqrt(3)
    assert cur.hi[0] == pytest.approx(wide.mean() + stats.t.ppf(0.975, 2) * se, rel=1e-12) and cur.hi[0] > 1
    with pytest.raises(ValueError, match=r"^method must be 'bootstrap' or 'analytic', got 'exact'$"):
        curve_from_rows(wide, [1], method="exact")
    # a column without any problem beside a flat one: the flat one gets its support interval
    flat = curve_from_rows(np.array([[0.5, np.nan], [0.5, np.nan]]), [1, 2], method="analytic")
    assert flat.lo[0] == pytest.approx(0.5 * 0.025 ** 0.5) and np.isnan(flat.lo[1])


def test_histogram_path_is_taken_above_the_cell_limit_and_keeps_int_counts(monkeypatch: pytest.MonkeyPatch):
    from passlens import uncertainty
    from passlens.histogram import count_histogram

    n = np.array([4, 4, 4, 4, 8, 8, 8, 8, 8, 12])
    c = np.array([1, 1, 2, 0, 3, 3, 8, 5, 1, 5])
    ks = np.array([1, 2, 4, 8, 12])  # 50 cells; one problem at k = 12 (no SE: 0/0, without a warning)
    hist = count_histogram(n, c)
    rows = uncertainty.metric_rows("pass", ks, n=hist.n, c=hist.c, k_exceeds_n="nan")
    mask = ~np.isnan(rows)
    for limit, weighted in ((49, True), (50, False), (10**6, False)):
        monkeypatch.setattr(uncertainty, "PER_PROBLEM_CELLS", limit)
        with _warnings_are_errors():
            got = curve(n, c, ks, k_exceeds_n="drop", n_boot=300, seed=2)
        if weighted:
            lo, hi = bootstrap_ci(rows, mask=mask, n_boot=300, seed=2, weights=hist.weights)
        else:
            lo, hi = bootstrap_ci(rows[hist.inverse], mask=mask[hist.inverse], n_boot=300, seed=2)
        np.testing.assert_array_equal(got.lo[:3], lo[:3])  # (k = 8 is flat: every value 1)
        np.testing.assert_array_equal(got.hi[:3], hi[:3])
        assert got.problems.dtype == np.int64 and got.problems.tolist() == [10, 10, 10, 6, 1]
        assert np.isnan([got.lo[4], got.hi[4], got.se[4]]).all()
    with pytest.raises(ValueError, match=r"problem 'p3' \(index 3\)"):
        curve([4, 4, 4, 4], [1, 1, 1, 5], [1], ids=["p0", "p1", "p2", "p3"])


def test_curve_of_every_statistic_with_its_default_grid_settings_and_errors():
    from passlens import coverage_at_k, maj_at_k, max_at_k

    n, c = np.array([4, 6, 6, 5]), np.array([1, 0, 6, 2])
    cur = curve(n, c, k_exceeds_n="drop")  # the default grid 1..max n
    assert cur.k.tolist() == [1, 2, 3, 4, 5, 6] and cur.problems.tolist() == [4, 4, 4, 4, 3, 2]
    assert cur.dropped == 2 and (cur.ci, cur.method, cur.metric) == (0.95, "bootstrap", "pass")
    want = curve_from_rows(passlens.pass_at_k(n, c, np.arange(1, 7), k_exceeds_n="nan"), np.arange(1, 7),
                           n_boot=2000, seed=0)
    np.testing.assert_array_equal(cur.lo, want.lo)
    np.testing.assert_array_equal(cur.hi, want.hi)
    at80 = curve(n, c, [1, 2], ci=0.8, n_boot=300, seed=4)
    ref = curve_from_rows(passlens.pass_at_k(n, c, [1, 2]), np.array([1, 2]), ci=0.8, n_boot=300, seed=4)
    assert at80.ci == 0.8 and at80.lo.tolist() == ref.lo.tolist() and at80.hi.tolist() == ref.hi.tolist()
    rewards = [np.array([0.1, 0.9, 0.4]), np.array([0.5, 0.2]), np.array([1.0, 0.0, 0.3, 0.7])]
    cur = curve(metric="max", rewards=rewards, k_exceeds_n="drop", n_boot=300)
    assert cur.k.tolist() == [1, 2, 3, 4] and cur.dropped == 2 and cur.metric == "max"
    want = curve_from_rows(max_at_k(rewards, [1, 2, 3, 4], k_exceeds_n="nan"), np.arange(1, 5), n_boot=300)
    np.testing.assert_array_equal(cur.estimate, want.estimate)
    votes = [np.array([3, 1]), np.array([1, 1, 2]), np.array([2])]
    correct = [np.array([True, False]), np.array([False, True, False]), np.array([False])]
    for metric, fn in (("maj", maj_at_k), ("coverage", coverage_at_k)):
        cur = curve(metric=metric, votes=votes, correct=correct, k_exceeds_n="drop", method="analytic")
        assert cur.k.tolist() == [1, 2, 3, 4] and cur.dropped == 1, metric
        np.testing.assert_array_equal(cur.estimate, np.nanmean(fn(votes, correct, [1, 2, 3, 4],
                                                                  k_exceeds_n="nan"), axis=0))
        with pytest.raises(ValueError, match=r"problem 'short' \(index 2\)"):
            curve(metric=metric, votes=votes, correct=correct, k=[3], ids=["a", "b", "short"])
    with pytest.raises(ValueError, match=r"^k_exceeds_n must be 'raise' or 'drop', got 'nan'$"):
        curve(n, c, [1], k_exceeds_n="nan")
    with pytest.raises(ValueError, match=r"^no problem has n ≥ k=8$"):
        curve(n, c, [1, 8, 2], k_exceeds_n="drop")


def test_curve_refuses_a_matrix_over_the_cell_limit_for_every_statistic(monkeypatch: pytest.MonkeyPatch):
    from passlens import uncertainty

    msg = r"^2 budgets × {} problems is more than {} estimates \(2 GB\); give fewer budgets \(e\.g\. powers of two, or a log-spaced grid\)$"
    rewards = [np.array([0.1, 0.9]), np.array([0.5, 0.2]), np.array([1.0, 0.0])]
    votes = [np.array([1, 1]), np.array([2]), np.array([1, 1])]
    correct = [np.array([True, False]), np.array([True]), np.array([False, True])]
    monkeypatch.setattr(uncertainty, "MAX_CELLS", 5)
    with pytest.raises(ValueError, match=msg.format(3, 5)):
        curve(metric="max", rewards=rewards, k=[1, 2])
    for metric in ("maj", "coverage"):
        with pytest.raises(ValueError, match=msg.format(3, 5)):
            curve(metric=metric, votes=votes, correct=correct, k=[1, 2])
    monkeypatch.setattr(uncertainty, "MAX_CELLS", 6)
    curve(metric="max", rewards=rewards, k=[1, 2], n_boot=10)  # 6 estimates: at the limit, allowed
    # count metrics: P rows, or max n + 1 histogram rows when every n is equal and P·K is past the per-problem limit
    n4, c4 = np.full(10, 4), np.arange(10) % 5
    for per_problem, limit, refused in ((20, 10, True), (19, 10, False), (19, 9, True), (0, 9, True)):
        monkeypatch.setattr(uncertainty, "PER_PROBLEM_CELLS", per_problem)
        monkeypatch.setattr(uncertainty, "MAX_CELLS", limit)
        rows = 10 if per_problem == 20 else 5
        if refused:
            with pytest.raises(ValueError, match=msg.format(rows, limit)):
                curve(n4, c4, [1, 2], n_boot=10)
        else:
            curve(n4, c4, [1, 2], n_boot=10)
    monkeypatch.setattr(uncertainty, "PER_PROBLEM_CELLS", 0)
    monkeypatch.setattr(uncertainty, "MAX_CELLS", 10)
    curve(n4, c4, [1, 2], n_boot=10)  # max n + 1 = 5 rows: 10 estimates
    mixed = np.r_[np.full(9, 4), 5]
    monkeypatch.setattr(uncertainty, "MAX_CELLS", 19)
    with pytest.raises(ValueError, match=msg.format(10, 19)):  # n differ: P rows, not max n + 1
        curve(mixed, c4, [1, 2], n_boot=10)
    monkeypatch.setattr(uncertainty, "MAX_CELLS", 2)
    curve(4, 2, [1, 2], method="analytic")  # one problem (scalar n): 2 estimates
    monkeypatch.setattr(uncertainty, "MAX_CELLS", 1)
    with pytest.raises(ValueError, match=msg.format(1, 1)):
        curve(4, 2, [1, 2], method="analytic")


def test_compare_aligns_only_two_tables_and_names_their_problems():
    a = SimpleNamespace(ids=np.array(["x", "y", "z"], dtype=object), n=np.array([4, 4, 4]), c=np.array([1, 2, 3]))
    with pytest.raises(ValueError, match=r"^a and b must be \(n, c\) tuples or count tables with ids$"):
        compare(a, ([4, 4, 4], [1, 1, 1]))
    for b in (SimpleNamespace(ids=a.ids, n=a.n, c=None), SimpleNamespace(ids=a.ids, n=a.n, c=[1, 1, 1])):
        for x, y in ((a, b), (b, a)):
            if x.c is None or y.c is None:
                with pytest.raises(ValueError, match=r"^a comparison needs binary correctness counts \(c\) for both models$"):
                    compare(x, y)
    bad = SimpleNamespace(ids=np.array(["z", "x", "y"], dtype=object), n=np.array([4, 4, 4]), c=np.array([1, 1, 5]))
    with pytest.raises(ValueError, match=r"problem 'y' \(index 1\)"):  # b aligned to a's order
        compare(a, bad, [1])
    with pytest.raises(ValueError, match=r"problem 'y' \(index 2\)"):
        compare(bad, a, [1])


def test_compare_settings_grid_paths_first_loss_and_crossover(monkeypatch: pytest.MonkeyPatch):
    from passlens import uncertainty
    from passlens.histogram import pair_histogram

    rng = np.random.default_rng(21)
    n = np.full(30, 8)
    c_a, c_b = rng.integers(0, 9, 30), rng.integers(0, 9, 30)
    res = compare((n, c_a), (n, c_b), [1, 2, 4])
    assert (res.n_boot, res.seed, res.alpha) == (4000, 0, 0.05)
    d = passlens.pass_at_k(n, c_b, [1, 2, 4]) - passlens.pass_at_k(n, c_a, [1, 2, 4])
    assert res.critical == sup_t_band(d, n_boot=4000, seed=0)[2]
    assert compare((n, c_a), (n, c_b), [1, 2, 4], alpha=0.2, n_boot=500).critical == sup_t_band(
        d, alpha=0.2, n_boot=500)[2]
    for grid in ([1, 1, 2], [2, 1]):
        with pytest.raises(ValueError, match=r"^k grid must be strictly increasing$"):
            compare((n, c_a), (n, c_b), grid)
    big = SimpleNamespace(ids=np.array(["p", "q"], dtype=object), n=np.array([9, 9]), c=np.array([1, 2]))
    small = SimpleNamespace(ids=np.array(["q", "p"], dtype=object), n=np.array([9, 4]), c=np.array([1, 2]))
    for a, b in ((big, small), (small, big)):
        with pytest.raises(ValueError, match=r"problem 'p'"):
            compare(a, b, [5])
    # the per-problem band up to P·K = PER_PROBLEM_CELLS, the histogram band beyond (3 budgets × 30 problems)
    hist_critical = uncertainty._sup_t_band_histogram(pair_histogram(n, c_a, n, c_b), np.array([1, 2, 4]),
                                                      alpha=0.05, n_boot=300, seed=1)[4]
    for cells, want in ((90, sup_t_band(d, n_boot=300, seed=1)[2]), (89, hist_critical), (30, hist_critical)):
        monkeypatch.setattr(uncertainty, "PER_PROBLEM_CELLS", cells)
        assert compare((n, c_a), (n, c_b), [1, 2, 4], n_boot=300, seed=1).critical == want, cells
    # the K × K covariance limit applies past both limits only
    monkeypatch.setattr(uncertainty, "COMPARE_MAX_K", 3)
    compare((n, c_a), (n, c_b), [1, 2, 4], n_boot=50)  # K = COMPARE_MAX_K
    monkeypatch.setattr(uncertainty, "COMPARE_MAX_K", 2)
    monkeypatch.setattr(uncertainty, "PER_PROBLEM_CELLS", 90)
    compare((n, c_a), (n, c_b), [1, 2, 4], n_boot=50)  # P·K = PER_PROBLEM_CELLS
    monkeypatch.setattr(uncertainty, "PER_PROBLEM_CELLS", 89)
    with pytest.raises(ValueError, match=r"^3 budgets on 30 paired problems: the band's K × K covariance"):
        compare((n, c_a), (n, c_b), [1, 2, 4], n_boot=50)
    monkeypatch.undo()
    # a large certified loss on three problems: mean − c·se passes −1 and is clipped there
    three = compare((np.full(3, 4), np.array([4, 4, 0])), (np.full(3, 4), np.array([0, 0, 0])), [1], n_boot=500)
    assert three.lo[0] == -1.0 and three.hi[0] < 0
    # certified losses everywhere: the first loss is k = 1 alone
    lose = compare((n, np.full(30, 8)), (n, np.r_[np.zeros(25, int), np.full(5, 8)]), [1, 2, 3], n_boot=500)
    assert lose.worse.tolist() == [1, 2, 3] and lose.first_loss.tolist() == [1] and lose.first_loss_interval == (1, 1)
    # no certified loss: every budget whose band reaches 0 may be the first loss
    open_ = compare((np.full(12, 8), np.arange(12) % 9), (np.full(12, 8), (np.arange(12) + 3) % 9), [1, 2, 3],
                    n_boot=50)
    assert open_.worse.size == 0 and open_.first_loss.tolist() == [1, 2, 3]

    def crossover(c_a, c_b, ks):
        return compare((np.full(len(c_a), 8), np.array(c_a)), (np.full(len(c_b), 8), np.array(c_b)), ks,
                       n_boot=50).crossover

    # b is above a at k = 1, 2 (b₁ < a₂ though) and below from k = 3: b ≥ a then b < a at k = 3
    assert crossover([2, 2], [6, 0], [1, 2, 3, 4]) == 3
    assert crossover([4, 4], [8, 0], [1, 2, 3]) == 2  # a tie at k = 1 counts as "b ≥ a"
    assert crossover([4, 4, 4, 4], [2, 2, 2, 2], [1, 2, 3, 4]) is None  # b below a throughout
    assert crossover([3, 5], [3, 5], [1, 2, 3]) is None  # identical curves never cross


def test_default_draws_and_the_sup_t_statistic_from_two_draws():
    rows = np.random.default_rng(31).random((40, 2))  # continuous values: one more draw moves the quantiles
    assert sup_t_band(rows)[2] == sup_t_band(rows, n_boot=4000, seed=0)[2]
    cur = curve_from_rows(rows, np.array([1, 2]))
    want = bootstrap_ci(rows, n_boot=2000, seed=0)
    assert cur.lo.tolist() == want[0].tolist() and cur.hi.tolist() == want[1].tolist()
    n = np.full(40, 1000)
    c = np.random.default_rng(32).integers(0, 1001, 40)
    got = curve(n, c, [1, 3])
    want = curve(n, c, [1, 3], n_boot=2000, seed=0)
    assert got.lo.tolist() == want.lo.tolist() and got.hi.tolist() == want.hi.tolist()
    # T* = max_k |Σ_x e_x D̃_xk| / (P · SE_k), e the seed's normals, row by row
    _, se, critical, _ = sup_t_band(rows, n_boot=2, seed=9)
    e = np.random.default_rng(9).standard_normal((2, 40))
    t = np.max(np.abs(e @ (rows - rows.mean(axis=0))) / (40 * se), axis=1)
    assert critical == pytest.approx(np.quantile(t, 0.95), rel=1e-12)
    with pytest.raises(ValueError, match=r"^alpha must be a number in \(0, 1\), got 1\.5$"):
        sup_t_band(rows, alpha=1.5)
    with pytest.raises(ValueError, match=r"^a paired comparison needs at least 2 problems, got 1$"):
        sup_t_band(rows[:1])
