"""Dataset-level curves with confidence intervals, and paired model comparison.

The estimand is the population mean over problems, θ_k = E_x[pass@k(x)]. Each
problem contributes one unbiased per-problem estimate (a row of the (P, K)
matrix built by :mod:`passlens.estimators`); problems are independent, so the
row mean is unbiased for θ_k and its sampling variance — between-problem spread
plus within-problem sampling noise together — is estimated by the row variance:

    SE_k = sd_k(rows) / √P.

Intervals resample *problems*, never samples within a problem. Both interval
methods are large-P approximations: with few problems and per-problem values
that are nearly binary (k near n), they cover less than their level (a 95%
interval measured as low as ≈ 0.89 at P = 20; nominal at P = 1000). A budget where every problem has the
same estimate has no spread to resample; its interval comes from the metric's
support instead (:func:`curve_from_rows`), never a zero-width point.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Iterable, Literal, Sequence

import numpy as np
from numpy.typing import ArrayLike

from ._json import json_ready
from ._validate import KPolicy, as_counts, as_ks, check_draws, check_level, check_seed, default_grid, k_mask
from ._pairing import align_by_id
from .histogram import PairHistogram, count_histogram, pair_histogram
from .estimators import pass_at_k
from .metrics import METRICS, metric_rows
from .metrics import metric as registry_entry

__all__ = [
    "Curve",
    "Comparison",
    "curve",
    "curve_from_rows",
    "metric_rows",
    "sup_t_band",
    "compare",
    "bootstrap_ci",
    "beta_posterior_pass_at_k",
    # deprecated aliases, removed in the next release (now in passlens.report.text)
    "describe_comparison",
    "format_k_ranges",
]

#: A registry name (:data:`passlens.metrics.METRICS`): "pass", "passhat", "max", "maj", "coverage".
Metric = str
CIMethod = Literal["bootstrap", "analytic"]

#: Bootstrap replicates are drawn in blocks of this many to bound memory.
_BOOT_BLOCK = 256

#: Below this many paired problems :func:`passlens.report.text.describe_comparison` warns that the band is
#: a large-P approximation (simulated coverage of a 95% band was 0.92–0.94 at P = 50, lower below).
SMALL_P = 50

#: Metrics whose per-problem estimates lie in [0, 1] (a support known before seeing data).
_UNIT_METRICS = frozenset(name for name, m in METRICS.items() if m.bounded)


@dataclass(frozen=True)
class Curve:
    """A dataset-level curve: one row per budget k (tidy, column-oriented).

    Attributes:
      k: int (K,) budgets.
      estimate: float (K,) mean over the problems used at that k.
      lo, hi: float (K,) confidence interval at level ``ci``; NaN where fewer than
        two problems are used (no spread over problems to measure). Where every
        problem has the same estimate, see :func:`curve_from_rows`.
      se: float (K,) analytic standard error sd/√P (NaN likewise).
      problems: int (K,) number of problems used at that k.
      metric, ci, method: how it was computed.
      dropped: problems left out at the largest k because their n < k (only
        when ``k_exceeds_n="drop"``).
    """

    k: np.ndarray
    estimate: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    se: np.ndarray
    problems: np.ndarray
    metric: str = "pass"
    ci: float = 0.95
    method: str = "bootstrap"
    dropped: int = 0

    def rows(self) -> list[dict[str, Any]]:
        """The curve as a list of records {k, estimate, lo, hi, se, problems}."""
        return [
            {"k": int(k), "estimate": float(e), "lo": float(lo), "hi": float(hi), "se": float(s), "problems": int(p)}
            for k, e, lo, hi, s, p in zip(self.k, self.estimate, self.lo, self.hi, self.se, self.problems)
        ]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of columns plus settings (None for NaN, e.g. the SE of a k with one problem)."""
        return json_ready({
            "metric": self.metric,
            "ci": self.ci,
            "method": self.method,
            "dropped": self.dropped,
            "k": self.k.tolist(),
            "estimate": self.estimate.tolist(),
            "lo": self.lo.tolist(),
            "hi": self.hi.tolist(),
            "se": self.se.tolist(),
            "problems": self.problems.tolist(),
        })

    def to_polars(self) -> Any:
        """The curve as a polars DataFrame (one row per k)."""
        import polars as pl

        return pl.DataFrame(self.rows())


def _check_level(ci: float) -> None:
    check_level(ci, "confidence level")


def _column_moments(rows: np.ndarray, mask: np.ndarray, weights: np.ndarray | None = None
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-column mean, SE = sd/√m and m over the entries where ``mask`` (P, K) is True.

    With ``weights`` (H,), rows (H, K) are distinct problems and weights[h] how many problems
    share row h (a histogram of the sufficient statistic): the moments of the P = Σ w problems.
    """
    if weights is not None:
        w = np.where(mask, weights[:, None].astype(np.float64), 0.0)  # (H, K)
        m = w.sum(axis=0)
        x = np.where(mask, rows, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = (w * x).sum(axis=0) / m
            # centred before squaring (no E[x²] − E[x]² cancellation), as in the per-problem path
            var = (w * (x - mean) ** 2).sum(axis=0) / (m - 1)
            se = np.sqrt(var / m)
        return mean, se, m.astype(np.int64)
    m = mask.sum(axis=0)
    if m.min(initial=rows.shape[0]) == rows.shape[0]:  # nothing masked: no (P, K) copies
        mean = rows.mean(axis=0)
        se = rows.std(axis=0, ddof=1) / np.sqrt(m) if rows.shape[0] > 1 else np.full(rows.shape[1], np.nan)
        return mean, se, m
    x = np.where(mask, rows, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = x.sum(axis=0) / m
        dev = np.where(mask, rows - mean, 0.0)
        var = (dev**2).sum(axis=0) / (m - 1)  # unbiased sample variance
        se = np.sqrt(var / m)
    return mean, se, m


def bootstrap_ci(
    rows: np.ndarray,
    *,
    ci: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
    mask: np.ndarray | None = None,
    weights: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile problem-level bootstrap interval for each column mean.

    Each replicate resamples the P problems with replacement; a replicate's
    column mean is w·rows / Σw with w ~ Multinomial(P, 1/P) counts. Replicates
    are drawn in blocks (one matrix product each) to bound memory.

    With ``weights`` (a histogram: rows (H, K) of distinct problems, weights[h] problems
    each), a replicate draws the H cell counts at once, w ~ Multinomial(P, weights/P): the
    same bootstrap distribution in O(n_boot · H) draws instead of O(n_boot · P). A seed gives
    other draws than the per-problem resampling (which draws P indices per replicate).

    Args:
      rows: float (P, K) per-problem estimates, or (H, K) with ``weights``.
      ci: two-sided level.
      n_boot: number of replicates.
      seed: seed of ``numpy.random.default_rng``.
      mask: optional bool (P, K); entries outside it do not count (problems
        dropped at that k).
      weights: optional int (H,) problems per row (Σ = P).

    Returns:
      (lo, hi), each float (K,).
    """
    _check_level(ci)
    check_draws(n_boot)
    seed = check_seed(seed)
    P, K = rows.shape
    if mask is None:
        mask = np.ones((P, K), dtype=bool)
    x = np.where(mask, rows, 0.0)
    m = mask.astype(np.float64)
    rng = np.random.default_rng(seed)
    means = np.empty((n_boot, K))
    if weights is not None:
        total = int(weights.sum())
        share = weights / total  # (H,)
    for start in range(0, n_boot, _BOOT_BLOCK):
        b = min(_BOOT_BLOCK, n_boot - start)
        if weights is not None:
            w = rng.multinomial(total, share, size=b).astype(np.float64)  # (b, H) problems drawn per cell
        else:
            idx = rng.integers(0, P, size=(b, P))
            # Resampling counts per replicate: one bincount over (replicate, problem) keys (np.add.at is ~10× slower).
            w = np.bincount((idx + (np.arange(b) * P)[:, None]).ravel(), minlength=b * P).reshape(b, P).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            means[start : start + b] = (w @ x) / (w @ m)
    tail = (1.0 - ci) / 2.0
    lo, hi = np.nanquantile(means, [tail, 1.0 - tail], axis=0)
    return lo, hi


def curve_from_rows(
    rows: np.ndarray,
    ks: np.ndarray,
    *,
    mask: np.ndarray | None = None,
    ci: float = 0.95,
    method: CIMethod = "bootstrap",
    n_boot: int = 2000,
    seed: int = 0,
    metric: str = "pass",
    dropped: int = 0,
    weights: np.ndarray | None = None,
) -> Curve:
    """A :class:`Curve` from a per-problem estimate matrix rows (P, K) over budgets ks (K,).

    ``weights`` (H,): rows (H, K) are the distinct problems of a histogram, weights[h]
    problems each; every statistic is that of the P = Σ weights problems (the bootstrap
    draws cell counts, :func:`bootstrap_ci`).

    ``method="analytic"``: mean ± t_{m−1} quantile × sd/√m (central-limit
    interval over problems; clipped to [0, 1] for the [0, 1]-bounded metrics). ``method="bootstrap"``: percentile problem-level
    bootstrap (:func:`bootstrap_ci`). The analytic SE is reported either way.
    Where fewer than two problems contribute, lo, hi and se are NaN: there is no
    spread over problems to build an interval from.

    Where m ≥ 2 problems all have the same estimate v (e.g. pass@n when every
    problem was solved at least once), both methods would return the point
    [v, v], which covers the population mean only if it equals v exactly. For
    metrics bounded in [0, 1] ("pass", "passhat", "maj") the interval is instead
    exact for any distribution of the per-problem estimate Y on [0, 1]: a mean
    μ < v needs P(Y = v) ≤ μ/v (the rest of the mass at ≥ 0), so m equal draws
    have probability ≤ (μ/v)^m, and likewise ≤ ((1 − μ)/(1 − v))^m for μ > v.
    Keeping the μ where that bound is ≥ α/2 (α = 1 − ci) gives

        [v·e, 1 − (1 − v)·e],   e = (α/2)^{1/m}

    (for v = 1 and v = 0 the Clopper–Pearson interval for m successes, or none,
    in m trials). For "max" (no known support) lo and hi are NaN. se is 0.
    """
    _check_level(ci)
    if mask is None:
        mask = ~np.isnan(rows)
    mean, se, m = _column_moments(rows, mask, weights)
    if method == "analytic":
        from scipy import special  # stdtrit is what scipy.stats.t.ppf calls, without stats' ~1 s import

        with np.errstate(invalid="ignore"):
            q = special.stdtrit(np.maximum(m - 1, 1), 0.5 + ci / 2.0)  # t quantile, m − 1 degrees of freedom
        lo, hi = mean - q * se, mean + q * se
        if _in_unit_interval(rows, mask, metric):  # a mean of [0, 1] values: clipped to the support
            lo, hi = np.maximum(lo, 0.0), np.minimum(hi, 1.0)
    elif method == "bootstrap":
        lo, hi = bootstrap_ci(rows, ci=ci, n_boot=n_boot, seed=seed, mask=mask, weights=weights)
    else:
        raise ValueError(f"method must be 'bootstrap' or 'analytic', got {method!r}")
    # No spread over ≥ 2 problems: both methods give the point [v, v]; use the support instead.
    flat = (m >= 2) & _no_spread(rows, mask)
    if flat.any():
        lo, hi = _no_spread_interval(m, ci, flat, rows, mask, bounded=_in_unit_interval(rows, mask, metric), lo=lo, hi=hi)
        se = np.where(flat, 0.0, se)  # not the ~1e-17 that the rounded mean of equal values leaves
    # One problem has no spread to measure: a bootstrap of it is a point, not an interval.
    lone = m < 2
    if lone.any():
        lo, hi = np.where(lone, np.nan, lo), np.where(lone, np.nan, hi)
        se = np.where(lone, np.nan, se)
    return Curve(
        k=np.asarray(ks, dtype=np.int64),
        estimate=mean,
        lo=lo,
        hi=hi,
        se=se,
        problems=m.astype(np.int64),
        metric=metric,
        ci=ci,
        method=method,
        dropped=dropped,
    )


def _in_unit_interval(rows: np.ndarray, mask: np.ndarray, metric: str) -> bool:
    """The metric's per-problem estimates are bounded in [0, 1], and these rows are."""
    return metric in _UNIT_METRICS and bool(np.all((rows >= 0.0) | ~mask) and np.all((rows <= 1.0) | ~mask))


def _no_spread(rows: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """bool (K,): every entry of the column inside ``mask`` has the same value."""
    # max == min over the used entries, not se == 0: the mean of equal floats can round off v.
    hi = np.where(mask, rows, -np.inf).max(axis=0, initial=-np.inf)
    lo = np.where(mask, rows, np.inf).min(axis=0, initial=np.inf)
    return hi == lo


def _no_spread_interval(
    m: np.ndarray,
    ci: float,
    flat: np.ndarray,
    rows: np.ndarray,
    mask: np.ndarray,
    *,
    bounded: bool,
    lo: np.ndarray,
    hi: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """lo, hi with the ``flat`` columns replaced by the support-based interval of
    :func:`curve_from_rows` (exact for [0, 1]-bounded metrics; NaN otherwise)."""
    lo, hi = lo.astype(np.float64, copy=True), hi.astype(np.float64, copy=True)
    if not bounded:
        lo[flat], hi[flat] = np.nan, np.nan
        return lo, hi
    v = np.where(mask, rows, np.nan)[np.argmax(mask, axis=0), np.arange(rows.shape[1])]  # the common value
    edge = ((1.0 - ci) / 2.0) ** (1.0 / np.maximum(m, 1))  # e = (α/2)^{1/m}
    lo[flat] = (v * edge)[flat]
    hi[flat] = (1.0 - (1.0 - v) * edge)[flat]
    return lo, hi


def curve(
    n: ArrayLike | None = None,
    c: ArrayLike | None = None,
    k: ArrayLike | None = None,
    *,
    metric: Metric = "pass",
    rewards: Iterable[ArrayLike] | None = None,
    votes: Sequence[ArrayLike] | None = None,
    correct: Sequence[ArrayLike] | None = None,
    ci: float = 0.95,
    method: CIMethod = "bootstrap",
    n_boot: int = 2000,
    seed: int = 0,
    k_exceeds_n: Literal["raise", "drop"] = "raise",
    ids: Sequence[object] | np.ndarray | None = None,
) -> Curve:
    """Dataset-level curve of a registry metric (pass@k, pass^k, max@k, maj@k, coverage@k) with intervals.

    θ̂_k = (1/P) Σ_x est_k(x), with est_k the metric's unbiased per-problem estimator
    (:data:`passlens.metrics.METRICS`: :func:`passlens.pass_at_k`,
    :func:`passlens.pass_hat_k`, :func:`passlens.max_at_k`, :func:`passlens.maj_at_k`,
    :func:`passlens.coverage_at_k`), and an interval over problems (module docstring).

    Args:
      n, c: int arrays (P,) of samples and successes (metrics "pass", "passhat").
      k: int or int array (K,); default every k from 1 to max n (a log-spaced grid with the
        powers of two beyond :data:`passlens._validate.DENSE_GRID_MAX`).
      metric: a registry name: "pass" | "passhat" (need ``n``, ``c``) | "max" (needs
        ``rewards``: list of P 1-D float arrays, or float (P, n) NaN-padded) | "maj" |
        "coverage" (need ``votes`` and ``correct``: lists of per-answer counts and flags).
      ci: two-sided confidence level.
      method: "bootstrap" (percentile, problem-level, seeded) or "analytic".
      n_boot, seed: bootstrap replicates and seed.
      k_exceeds_n: "raise" (default) → ValueError naming a problem with n < k;
        "drop" → that problem is left out at that k only; ``problems`` counts
        the problems used at each k and ``dropped`` those left out at max k.
      ids: optional (P,) problem ids for error messages.

    Returns:
      :class:`Curve`.
    """
    if k_exceeds_n not in ("raise", "drop"):
        raise ValueError(f"k_exceeds_n must be 'raise' or 'drop', got {k_exceeds_n!r}")
    _check_level(ci)
    check_draws(n_boot)
    check_seed(seed)
    policy: KPolicy = "nan" if k_exceeds_n == "drop" else "raise"
    if k is None:
        k = default_grid(registry_entry(metric).max_n(n=n, rewards=rewards, votes=votes))
    ks = as_ks(k)
    weights = None
    _check_cells(metric, ks, n=n, rewards=rewards, votes=votes)
    if registry_entry(metric).statistic == "counts" and n is not None and c is not None:
        rows, weights = _count_rows(metric, ks, n, c, policy, ids)
    else:
        rows = metric_rows(
            metric, ks, n=n, c=c, rewards=rewards, votes=votes, correct=correct, k_exceeds_n=policy, ids=ids
        )
    mask = ~np.isnan(rows)
    counted = mask.astype(np.int64) if weights is None else mask * weights[:, None]  # problems per entry
    if weights is None:
        dropped = int((~mask[:, int(np.argmax(ks))]).sum()) if rows.size else 0  # at the largest k, wherever it sits
    else:
        dropped = int(weights[~mask[:, int(np.argmax(ks))]].sum())
    used = counted.sum(axis=0)
    if (used == 0).any():
        j = int(np.flatnonzero(used == 0)[0])
        raise ValueError(f"no problem has n ≥ k={int(ks[j])}")
    return curve_from_rows(
        rows, ks, mask=mask, ci=ci, method=method, n_boot=n_boot, seed=seed, metric=metric, dropped=dropped,
        weights=weights,
    )


#: Largest estimate matrix (rows × budgets) a curve or comparison builds: 2.5·10⁸ float64 = 2 GB.
MAX_CELLS = 250_000_000

#: Most budgets a comparison takes on the histogram path, whose band needs a K × K covariance.
COMPARE_MAX_K = 8192


def _check_cells(metric: str, ks: np.ndarray, *, n: ArrayLike | None, rewards: Any, votes: Any) -> None:
    """One line instead of a MemoryError when the estimate matrix would not fit (10⁶ budgets at n = 10⁶)."""
    entry = registry_entry(metric)
    if entry.statistic == "counts" and n is not None:
        rows = int(np.size(n)) if np.ndim(n) else 1
        if rows * ks.size > PER_PROBLEM_CELLS:  # the histogram path: at most one row per distinct (n, c)
            n_arr = np.asarray(n).reshape(-1)
            rows = min(rows, int(n_arr.max()) + 1 if n_arr.size and np.all(n_arr == n_arr[0]) else rows)
    elif entry.statistic == "rewards" and rewards is not None:
        rows = len(rewards)
    elif votes is not None:
        rows = len(votes)
    else:
        return
    if rows * ks.size > MAX_CELLS:
        raise ValueError(f"{ks.size:,} budgets × {rows:,} problems is more than {MAX_CELLS:,} estimates "
                         "(2 GB); give fewer budgets (e.g. powers of two, or a log-spaced grid)")


#: Largest (a-pairs × b-pairs) joint table :func:`_pair_moments` builds densely.
_DENSE_JOINT = 4_000_000

#: Up to this many (problem × budget) cells a curve of a count metric resamples problems one by
#: one (the draws of earlier versions, seed for seed); beyond, it works on the (n, c) histogram.
PER_PROBLEM_CELLS = 2_000_000


def _count_rows(metric: str, ks: np.ndarray, n: ArrayLike, c: ArrayLike, policy: KPolicy,
                ids: Sequence[object] | np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
    """Rows of a count metric from the (n, c) histogram: (H, K) with weights (H,) for large inputs,
    or the per-problem (P, K) rows (the same values, expanded) with weights None for small ones.

    The estimator runs once per distinct (n, c) pair either way; only the resampling differs
    (:func:`bootstrap_ci`).
    """
    n_, c_ = as_counts(n, c, ids)
    k_mask(n_, ks, ids, policy)  # a k > n error names the problem, as the per-problem estimator would
    hist = count_histogram(n_, c_)
    rows = metric_rows(metric, ks, n=hist.n, c=hist.c, k_exceeds_n="nan")  # (H, K)
    if n_.size * ks.size <= PER_PROBLEM_CELLS:
        return rows[hist.inverse], None
    return rows, hist.weights


# ---------------------------------------------------------------------------
# Paired comparison


@dataclass(frozen=True)
class Comparison:
    """Paired comparison of model B against model A on the same problems.

    Differences are B − A. A budget is *better* (B significantly above A) when
    the whole simultaneous band lies above 0, *worse* when below, else
    *inconclusive* (which is not evidence of equality).

    Attributes:
      k: int (K,) budget grid.
      a, b: float (K,) mean pass@k of each model.
      diff: float (K,) mean difference b − a.
      se: float (K,) SE of the mean difference.
      lo, hi: float (K,) simultaneous band over the grid at level 1 − alpha.
      critical: the sup-t critical value used.
      better, worse, inconclusive: int arrays of budgets.
      first_loss: budgets that may be the first k where B is truly worse than A,
        at confidence 1 − alpha: those k in the grid up to the first certified
        loss whose band does not certify a gain. Upper end None (open) when no
        loss is certified on the grid.
      crossover: the first k where the mean curves cross from b ≥ a to b < a
        (point estimate, not a test), or None.
      problems, alpha, n_boot, seed: settings.
      degenerate: budgets where every problem has the same difference (zero
        variance, e.g. both models at pass@k = 1 everywhere): the problem-level
        bootstrap has nothing to resample there, so their band is set to the known
        support [−1, 1] (inconclusive, which is not evidence of equality), and
        :func:`passlens.report.text.describe_comparison` says so.
    """

    k: np.ndarray
    a: np.ndarray
    b: np.ndarray
    diff: np.ndarray
    se: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    critical: float
    better: np.ndarray
    worse: np.ndarray
    inconclusive: np.ndarray
    first_loss: np.ndarray
    first_loss_interval: tuple[int, int | None] | None
    crossover: int | None
    problems: int
    alpha: float
    n_boot: int
    seed: int
    degenerate: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (direction: b minus a; None for NaN)."""
        return json_ready({
            "direction": "b_minus_a",
            "problems": self.problems,
            "alpha": self.alpha,
            "n_boot": self.n_boot,
            "seed": self.seed,
            "critical_value": self.critical,
            "k": self.k.tolist(),
            "a": self.a.tolist(),
            "b": self.b.tolist(),
            "diff": self.diff.tolist(),
            "se": self.se.tolist(),
            "lo": self.lo.tolist(),
            "hi": self.hi.tolist(),
            "better": self.better.tolist(),
            "worse": self.worse.tolist(),
            "inconclusive": self.inconclusive.tolist(),
            "first_loss": self.first_loss.tolist(),
            "first_loss_interval": list(self.first_loss_interval) if self.first_loss_interval else None,
            "crossover": self.crossover,
            "degenerate": self.degenerate.tolist(),
        })


def sup_t_band(
    rows: np.ndarray, *, alpha: float = 0.05, n_boot: int = 4000, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, float, np.ndarray]:
    """Simultaneous (1 − alpha) band for the column means of rows (P, K).

    Gaussian multiplier bootstrap of the sup-t statistic (Chernozhukov,
    Chetverikov & Kato 2013): with centred rows D̃ = D − D̄ and SE_k = sd_k/√P,

        T* = max_k |Σ_x e_x D̃_{x,k}| / (P · SE_k),   e_x ~ N(0, 1) i.i.d.,

    c = the (1 − alpha) quantile of T* over draws, band = D̄ ± c·SE. One matrix
    product per block of draws: O(n_boot · P · K).

    Returns:
      (mean (K,), se (K,), critical value, degenerate bool (K,)) where
      degenerate marks zero-variance columns (left out of the maximum).
    """
    check_level(alpha, "alpha")
    check_draws(n_boot)
    check_seed(seed)
    P = rows.shape[0]
    if P < 2:
        raise ValueError(f"a paired comparison needs at least 2 problems, got {P}")
    mean = rows.mean(axis=0)
    centred = rows - mean
    se = np.sqrt((centred**2).sum(axis=0) / (P - 1) / P)
    degenerate = se <= 1e-15
    scale = np.where(degenerate, np.inf, P * se)  # zero-variance columns contribute 0
    rng = np.random.default_rng(seed)
    t_max = np.empty(n_boot)
    for start in range(0, n_boot, _BOOT_BLOCK):
        b = min(_BOOT_BLOCK, n_boot - start)
        e = rng.standard_normal((b, P))
        t_max[start : start + b] = np.max(np.abs(e @ centred) / scale, axis=1)
    critical = float(np.quantile(t_max, 1.0 - alpha))
    return mean, se, critical, degenerate


def _sup_t_band_histogram(
    hist: PairHistogram, ks: np.ndarray, *, alpha: float, n_boot: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float, np.ndarray]:
    """:func:`sup_t_band` of the pass@k differences of a paired histogram, without (P, K) matrices.

    Given the data, the multiplier statistic's numerator Σ_x e_x D̃_x is N(0, C) with
    C = Σ_x D̃_x D̃_xᵀ (K, K), D̃_x = (b_x − b̄) − (a_x − ā). So T* = √((P − 1)/P) · max_k |Z_k|
    with Z ~ N(0, R), R the correlation matrix of C: the same distribution as the
    per-problem draws (a seed gives other draws). C comes from the marginal histograms:

        C = Ãᵀ W_a Ã + B̃ᵀ W_b B̃ − X − Xᵀ,   X = Σ_j w_j Ã_{a(j)} B̃_{b(j)}ᵀ,

    with Ã, B̃ the centred rows of the distinct a- and b-pairs and j over the distinct
    tuples: O(J·K + (H_a + H_b)·K²) instead of O(n_boot · P · K). Its diagonal (the
    variances, which decide the SEs and the zero-variance budgets) is computed directly
    from the tuples' centred differences, with no cancellation between the four terms.

    Returns:
      (a_mean, b_mean, diff_mean, se, critical value, degenerate) as :func:`sup_t_band` (K,).
    """
    a_mean, b_mean, var, cov = _pair_moments(hist, ks)
    P = float(hist.weights.sum())
    se = np.sqrt(var / (P - 1) / P)
    degenerate = se <= 1e-15
    live = np.flatnonzero(~degenerate)
    rng = np.random.default_rng(seed)
    if live.size == 0:
        return a_mean, b_mean, b_mean - a_mean, se, 0.0, degenerate
    sd = np.sqrt(var[live])
    corr = cov[np.ix_(live, live)] / np.outer(sd, sd)
    lam, vec = np.linalg.eigh(corr)
    factor = vec * np.sqrt(np.clip(lam, 0.0, None))  # corr = factor factorᵀ (clipped rounding below 0)
    t_max = np.empty(n_boot)
    for start in range(0, n_boot, _BOOT_BLOCK):
        b = min(_BOOT_BLOCK, n_boot - start)
        z = rng.standard_normal((b, live.size)) @ factor.T  # (b, K_live) ~ N(0, corr)
        t_max[start : start + b] = np.max(np.abs(z), axis=1)
    critical = float(np.quantile(t_max * np.sqrt((P - 1) / P), 1.0 - alpha))
    return a_mean, b_mean, b_mean - a_mean, se, critical, degenerate


def _pair_moments(hist: PairHistogram, ks: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Means of pass@k of A and B (K,), Σ_x D̃_xk² (K,) and C = Σ_x D̃_x D̃_xᵀ (K, K) of a paired histogram
    (see :func:`_sup_t_band_histogram`; C's diagonal is the directly computed Σ D̃²)."""
    wa = hist.a.weights.astype(np.float64)  # (Ha,)
    wb = hist.b.weights.astype(np.float64)  # (Hb,)
    wj = hist.weights.astype(np.float64)  # (J,)
    P = float(wj.sum())
    fa = pass_at_k(hist.a.n, hist.a.c, ks)  # (Ha, K)
    fb = pass_at_k(hist.b.n, hist.b.c, ks)  # (Hb, K)
    a_mean, b_mean = wa @ fa / P, wb @ fb / P
    ta, tb = fa - a_mean, fb - b_mean  # centred rows
    Ha, Hb = ta.shape[0], tb.shape[0]
    if Ha * Hb <= _DENSE_JOINT:  # the usual case (one n per model: Ha, Hb ≤ n + 1): a dense joint table
        joint = np.zeros((Ha, Hb))
        joint[hist.joint_a, hist.joint_b] = wj  # problems per (a-pair, b-pair)
        m = joint @ tb  # (Ha, K): Σ_j w_j B̃_{b(j)} per a-pair
        var = np.empty(ks.size)
        for k in range(ks.size):  # Σ_x D̃² straight from the differences: no cancellation between terms
            d = tb[None, :, k] - ta[:, None, k]  # (Ha, Hb)
            var[k] = (joint * d * d).sum()
    else:  # many distinct pairs (n varies by problem): blocks of distinct tuples
        var = np.zeros(ks.size)
        m = np.zeros((Ha, ks.size))
        for start in range(0, wj.size, 8192):  # blocks bound the (J, K) temporaries
            j = slice(start, start + 8192)
            d = tb[hist.joint_b[j]] - ta[hist.joint_a[j]]  # (J_block, K) centred differences
            var += wj[j] @ (d * d)
            np.add.at(m, hist.joint_a[j], wj[j, None] * tb[hist.joint_b[j]])
    x = ta.T @ m  # (K, K)
    cov = (ta.T * wa) @ ta + (tb.T * wb) @ tb - x - x.T  # (K, K)
    np.fill_diagonal(cov, var)
    return a_mean, b_mean, var, cov


def compare(
    a: object,
    b: object,
    k: object = None,
    *,
    alpha: float = 0.05,
    n_boot: int = 4000,
    seed: int = 0,
) -> Comparison:
    """Paired comparison of two models' pass@k over a grid of budgets.

    For each problem x and budget k, D_{x,k} = pass@k_B(x) − pass@k_A(x) (both
    unbiased per-problem estimates from the same problem). The mean difference
    over problems gets a simultaneous band over the whole grid by the sup-t
    multiplier bootstrap (:func:`sup_t_band`); budgets whose band excludes 0 are
    certified gains or losses with family-wise error ≤ alpha (asymptotically),
    the rest inconclusive. "Asymptotically" matters with few problems: the band
    is a central-limit approximation over problems and covers less than
    1 − alpha when P is small, worst when the difference sits on a few problems
    (simulated 95% bands: FWER under the null up to ≈ 0.08–0.10 at P = 10–20;
    simultaneous coverage ≈ 0.6 at P = 10, 0.77–0.89 at P = 20, 0.92–0.94 at
    P = 50, 0.94–0.96 at P = 100–1000). :func:`passlens.report.text.describe_comparison` says so below
    :data:`SMALL_P` problems. This is the analysis of "RLVR is a Kernel, Not a
    Function" (arXiv 2609.22547), whose DeepScaleR result it reproduces.

    First-loss set: let k* be the smallest budget where B is truly worse. On
    the event that the band covers every true difference, k* is not a budget
    with a certified gain and is ≤ the first certified loss. So the set
    {k ≤ first certified loss : lo_k ≤ 0} holds k* with probability ≥ 1 − alpha;
    on a dense grid 1..K with gains certified on a prefix it is the interval
    [last prefix gain + 1, first certified loss].

    Args:
      a, b: per-problem counts of each model, aligned: either tuples (n, c) of
        int arrays (P,) in the same problem order, or objects with ``ids``,
        ``n``, ``c`` attributes (e.g. :class:`passlens.io.ProblemTable`),
        aligned by id (the id sets must be equal).
      k: int array (K,) budgets; default 1..min n over both models (a log-spaced grid with the
        powers of two beyond :data:`passlens._validate.DENSE_GRID_MAX`).
      alpha: family-wise error level of the band.
      n_boot: multiplier-bootstrap draws.
      seed: seed of ``numpy.random.default_rng``.

    Returns:
      :class:`Comparison`.
    """
    check_level(alpha, "alpha")
    check_draws(n_boot)
    check_seed(seed)
    (n_a, c_a), (n_b, c_b), ids = _align(a, b)
    n_min = int(min(n_a.min(), n_b.min()))
    ks = default_grid(n_min) if k is None else as_ks(k)
    if np.any(np.diff(ks) <= 0):
        raise ValueError("k grid must be strictly increasing")
    k_mask(n_a, ks, ids, "raise")  # k > n names the problem
    k_mask(n_b, ks, ids, "raise")
    P = int(n_a.size)
    if P * ks.size > PER_PROBLEM_CELLS and ks.size > COMPARE_MAX_K:
        raise ValueError(f"{ks.size:,} budgets on {P:,} paired problems: the band's K × K covariance would not fit; "
                         f"give at most {COMPARE_MAX_K:,} budgets (e.g. powers of two, or a log-spaced grid)")
    if P * ks.size <= PER_PROBLEM_CELLS:  # per-problem multiplier draws: a seed reproduces earlier versions
        pa = pass_at_k(n_a, c_a, ks, ids=ids)  # (P, K)
        pb = pass_at_k(n_b, c_b, ks, ids=ids)
        mean, se, critical, degenerate = sup_t_band(pb - pa, alpha=alpha, n_boot=n_boot, seed=seed)
        a_mean, b_mean = pa.mean(axis=0), pb.mean(axis=0)
    else:  # through the (n_a, c_a, n_b, c_b) histogram: the same band distribution without (P, K) matrices
        a_mean, b_mean, mean, se, critical, degenerate = _sup_t_band_histogram(
            pair_histogram(n_a, c_a, n_b, c_b), ks, alpha=alpha, n_boot=n_boot, seed=seed)
    # A difference of two probabilities lies in [−1, 1]: the band is clipped there (with few problems
    # mean ± c·se can pass it); no verdict changes, since clipping keeps the sign of lo and of hi.
    lo = np.where(degenerate, -1.0, np.maximum(mean - critical * se, -1.0))
    hi = np.where(degenerate, 1.0, np.minimum(mean + critical * se, 1.0))
    better, worse = ks[lo > 0], ks[hi < 0]
    inconclusive = ks[(lo <= 0) & (hi >= 0)]
    first_loss_end = int(worse[0]) if worse.size else None
    cand = (lo <= 0) & ((ks <= first_loss_end) if first_loss_end is not None else True)
    first_loss = ks[cand]
    dense = bool(np.array_equal(ks, np.arange(1, ks.size + 1)))
    interval: tuple[int, int | None] | None = None
    if dense and first_loss.size:
        contiguous = bool(np.all(np.diff(first_loss) == 1))
        if contiguous:
            interval = (int(first_loss[0]), first_loss_end)
    cross = np.flatnonzero((b_mean[:-1] >= a_mean[:-1]) & (b_mean[1:] < a_mean[1:]))
    return Comparison(
        k=ks,
        a=a_mean,
        b=b_mean,
        diff=mean,
        se=se,
        lo=lo,
        hi=hi,
        critical=critical,
        better=better,
        worse=worse,
        inconclusive=inconclusive,
        first_loss=first_loss,
        first_loss_interval=interval,
        crossover=int(ks[cross[0] + 1]) if cross.size else None,
        problems=P,
        alpha=alpha,
        n_boot=n_boot,
        seed=seed,
        degenerate=ks[degenerate],
    )


def _align(a: Any, b: Any) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray], Any]:
    """Two count sets aligned problem by problem: by position for (n, c) tuples, by id for tables."""
    if hasattr(a, "ids") and hasattr(b, "ids"):
        ids_a = np.asarray(a.ids, dtype=object)
        perm = align_by_id(ids_a, b.ids)
        if a.c is None or b.c is None:
            raise ValueError("a comparison needs binary correctness counts (c) for both models")
        na, ca = as_counts(a.n, a.c, ids_a)
        nb, cb = as_counts(np.asarray(b.n)[perm], np.asarray(b.c)[perm], ids_a)
        return (na, ca), (nb, cb), ids_a
    try:
        n_a, c_a = a
        n_b, c_b = b
    except (TypeError, ValueError):
        raise ValueError("a and b must be (n, c) tuples or count tables with ids") from None
    na, ca = as_counts(n_a, c_a)
    nb, cb = as_counts(n_b, c_b)
    if na.shape != nb.shape:
        raise ValueError(f"a has {na.size} problems and b has {nb.size}; a paired comparison needs the same problems")
    return (na, ca), (nb, cb), None


# ---------------------------------------------------------------------------
# Bayesian per-problem view


def beta_posterior_pass_at_k(
    n: object,
    c: object,
    k: object,
    *,
    prior: tuple[float, float] = (1.0, 1.0),
    ci: float = 0.95,
    ids: Sequence[object] | np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Posterior of each problem's pass@k = 1 − (1 − p)^k under p ~ Beta(a₀, b₀).

    With c successes in n draws, p | data ~ Beta(a, b), a = a₀ + c, b = b₀ + n − c.
    Posterior mean: 1 − E[(1 − p)^k] = 1 − B(a, b + k)/B(a, b)
                  = 1 − Π_{j<k} (b + j)/(a + b + j).
    Equal-tailed interval: pass@k is increasing in p, so its quantiles are
    1 − (1 − q)^k at the Beta quantiles q. Unlike the unbiased estimators this
    is defined for k > n (it extrapolates through the prior).

    Args:
      n, c: int arrays (P,); k: int or int array (K,); prior: (a₀, b₀) > 0.

    Returns:
      dict with "mean", "lo", "hi": float (P, K).
    """
    from scipy import special  # imported on use (~0.5 s)

    _check_level(ci)
    a0, b0 = prior
    if not (a0 > 0 and b0 > 0):
        raise ValueError(f"Beta prior parameters must be positive, got {prior}")
    n_, c_ = as_counts(n, c, ids)
    ks = as_ks(k)
    a = (a0 + c_)[:, None]  # (P, 1)
    b = (b0 + n_ - c_)[:, None]
    # E[(1 − p)^k] = Π_{j<k} (1 − a/(a + b + j)): a cumulative sum of log1p terms, each
    # factor in (0, 1), so nothing overflows and −expm1 keeps precision near 0
    # (a difference of lnΓ values would cancel catastrophically at large n).
    j = np.arange(int(ks.max()))[None, :]
    log_fail = np.cumsum(np.log1p(-a / (a + b + j)), axis=1)[:, ks - 1]  # (P, K)
    mean = -np.expm1(log_fail)
    ks = ks.astype(np.float64)
    tail = (1.0 - ci) / 2.0
    q_lo = special.betaincinv(a, b, tail)
    q_hi = special.betaincinv(a, b, 1.0 - tail)
    # 1 − (1 − q)^k without cancellation for small q.
    lo = -np.expm1(ks * np.log1p(-q_lo))
    hi = -np.expm1(ks * np.log1p(-q_hi))
    return {"mean": mean, "lo": lo, "hi": hi}


# -- deprecated aliases (text moved to passlens.report.text; statistics return numbers) ------------


def _moved(name: str) -> None:
    warnings.warn(
        f"passlens.uncertainty.{name} is deprecated and will be removed in the next release; "
        f"use passlens.report.text.{name}",
        DeprecationWarning,
        stacklevel=3,
    )


def describe_comparison(cmp: Comparison) -> list[str]:
    """Deprecated alias of :func:`passlens.report.text.describe_comparison` (removed in the next release)."""
    _moved("describe_comparison")
    from .report.text import describe_comparison as moved  # the alias only: nothing here imports report

    return moved(cmp)


def format_k_ranges(ks: Sequence[int] | np.ndarray) -> str:
    """Deprecated alias of :func:`passlens.report.text.format_k_ranges` (removed in the next release)."""
    _moved("format_k_ranges")
    from .report.text import format_k_ranges as moved  # the alias only: nothing here imports report

    return moved(ks)
