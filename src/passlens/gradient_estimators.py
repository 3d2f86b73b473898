"""Unbiased estimators of the pass@k gradient's quantities from per-problem counts (n, c).

The estimands are the closed forms of :mod:`passlens.theory` (functions of p); each
estimator is the U-statistic of c correct among n samples — the hypergeometric
identity behind pass@k (Chen et al. 2021, arXiv 2107.03374, Eq. 1) — evaluated with
the package's one log-space kernel (:func:`passlens._combinatorics.log_comb_ratio`):

* :func:`alpha_hat` — α_k(p) = k (1 − p)^{k−1}, the weight of ∇pass@1 in ∇pass@k (Yu 2025);
* :func:`signal_hat` — k² p (1 − p)^{2k−1}, the Fisher norm of the pass@k gradient;
* :func:`gap_hat` — pass@k − pass@1;
* :func:`zero_signal_hat` — (1 − p)^G + p^G, the chance a training group has no reward variance.

A degree-d polynomial in p is unbiasedly estimable from n draws only when n ≥ d; where a
problem has too few samples, ``k_exceeds_n`` (the package's one name for this policy)
says whether to raise or return NaN.
"""

from __future__ import annotations

import warnings
from typing import Any, Sequence

import numpy as np
from numpy.typing import ArrayLike

from ._combinatorics import log_comb_ratio
from ._validate import KPolicy, as_budgets, as_counts, check_enough_samples, check_policy

__all__ = ["alpha_hat", "signal_hat", "gap_hat", "zero_signal_hat"]


def _policy(k_exceeds_n: KPolicy, too_few_samples: KPolicy | None, who: str) -> KPolicy:
    """``k_exceeds_n``, or the deprecated ``too_few_samples`` when that was given (with a warning)."""
    if too_few_samples is None:
        return check_policy(k_exceeds_n)
    warnings.warn(f"{who}: too_few_samples= is deprecated and will be removed; use k_exceeds_n=",
                  DeprecationWarning, stacklevel=3)
    return check_policy(too_few_samples)


def _shape_counts(out: np.ndarray, scalar_problems: bool, scalar_k: bool) -> Any:
    """(P, K) → (P,) for scalar k; drop P for scalar n and c."""
    if scalar_k:
        out = out[:, 0]
    if scalar_problems:
        out = out[0]
    return out[()] if isinstance(out, np.ndarray) and out.ndim == 0 else out


def alpha_hat(
    n: ArrayLike,
    c: ArrayLike,
    k: object,
    *,
    k_exceeds_n: KPolicy = "raise",
    ids: Sequence[object] | np.ndarray | None = None,
    too_few_samples: KPolicy | None = None,
) -> np.ndarray | float:
    """Unbiased estimate of α_k(p) = k (1 − p)^{k−1} from c correct of n samples.

        α̂_k = k · C(n − c, k − 1) / C(n, k − 1)

    k times the probability that k − 1 draws without replacement from the n
    samples miss every correct one; its expectation over c ~ Bin(n, p) is
    k (1 − p)^{k−1} (the hypergeometric identity behind pass@k, Chen et al.
    2021, arXiv 2107.03374, Eq. 1; the weight itself is Yu 2025,
    arXiv 2511.16231). α̂_1 ≡ 1.

    Needs n ≥ k − 1: α_k is a degree-(k−1) polynomial in p, and only degree
    ≤ n is unbiasedly estimable from n Bernoulli draws.

    Args:
      n: int array (P,) or scalar, samples per problem.
      c: int array (P,) or scalar, correct samples per problem.
      k: int, or int array (K,), budgets ≥ 1.
      k_exceeds_n: "raise" (default) → ValueError naming the first problem
        with n < k − 1; "nan" → NaN in those entries.
      ids: optional (P,) problem ids used in error messages.

    Returns:
      float64 (P,) for scalar k, (P, K) for array k; the P axis is dropped
      when n and c are both scalars.
    """
    scalar_problems = np.ndim(n) == 0 and np.ndim(c) == 0
    n_, c_ = as_counts(n, c, ids)
    ks, scalar_k = as_budgets(k)
    m = ks - 1  # (K,) degree of the estimand
    short = check_enough_samples(n_, m, ks, ids, _policy(k_exceeds_n, too_few_samples, "alpha_hat"), "alpha_hat")
    out = np.ones((n_.size, ks.size))  # (P, K); C(·, 0)/C(·, 0) = 1 for k = 1
    pos = m >= 1
    if pos.any():
        # ratio via the shared log-space product kernel: no binomial coefficient is formed.
        out[:, pos] = np.exp(log_comb_ratio(n_, c_, m[pos]))
    out *= ks[None, :]
    out[short] = np.nan
    return _shape_counts(out, scalar_problems, scalar_k)


def signal_hat(
    n: ArrayLike,
    c: ArrayLike,
    k: object,
    *,
    k_exceeds_n: KPolicy = "raise",
    ids: Sequence[object] | np.ndarray | None = None,
    too_few_samples: KPolicy | None = None,
) -> np.ndarray | float:
    """Unbiased estimate of signal(p, k) = k² p (1 − p)^{2k−1} from c correct of n samples.

    A 2k-subset of i.i.d. samples holds exactly one correct sample with
    probability 2k p (1 − p)^{2k−1}, so k² p (1 − p)^{2k−1} = (k/2) · that
    probability, and its U-statistic over all C(n, 2k) subsets of the n samples
    is

        ŝ_k = (k/2) · c · C(n − c, 2k − 1) / C(n, 2k)
            = k² · c / (n − 2k + 1) · C(n − c, 2k − 1) / C(n, 2k − 1)

    (second line: C(n, 2k) = C(n, 2k − 1)(n − 2k + 1)/(2k)). ŝ_1 =
    c(n − c)/(n(n − 1)), the unbiased Bernoulli variance. ŝ_k = 0 when c = 0
    or c = n. Estimand: :func:`signal` (derivation there).

    Needs n ≥ 2k: the estimand is a degree-2k polynomial in p.

    Args:
      n: int array (P,) or scalar, samples per problem.
      c: int array (P,) or scalar, correct samples per problem.
      k: int, or int array (K,), budgets ≥ 1.
      k_exceeds_n: "raise" (default) → ValueError naming the first problem
        with n < 2k; "nan" → NaN in those entries.
      ids: optional (P,) problem ids used in error messages.

    Returns:
      float64 (P,) for scalar k, (P, K) for array k; the P axis is dropped
      when n and c are both scalars.
    """
    scalar_problems = np.ndim(n) == 0 and np.ndim(c) == 0
    n_, c_ = as_counts(n, c, ids)
    ks, scalar_k = as_budgets(k)
    short = check_enough_samples(n_, 2 * ks, ks, ids, _policy(k_exceeds_n, too_few_samples, "signal_hat"), "signal_hat")
    # C(n − c, 2k − 1)/C(n, 2k − 1) from the shared log-space kernel instead of a ratio of two huge binomials.
    ratio = np.exp(log_comb_ratio(n_, c_, 2 * ks - 1))  # (P, K)
    denom = (n_[:, None] - 2 * ks[None, :] + 1).astype(np.float64)  # (P, K), ≥ 1 where defined
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (ks[None, :].astype(np.float64) ** 2) * c_[:, None] / denom * ratio
    out[short] = np.nan
    return _shape_counts(out, scalar_problems, scalar_k)


def gap_hat(
    n: ArrayLike,
    c: ArrayLike,
    k: object,
    *,
    k_exceeds_n: KPolicy = "raise",
    ids: Sequence[object] | np.ndarray | None = None,
    too_few_samples: KPolicy | None = None,
) -> np.ndarray | float:
    """Unbiased estimate of the gap J_k − J_1 = (1 − p) − (1 − p)^k from c correct of n samples.

        ĝ_k = pass@k̂ − c/n = C(n − c, 1)/C(n, 1) − C(n − c, k)/C(n, k)

    with the unbiased pass@k of Chen et al. 2021 (arXiv 2107.03374, Eq. 1);
    estimand as in :func:`gap` (Yu 2025, arXiv 2511.16231). Needs n ≥ k.

    Args:
      n: int array (P,) or scalar, samples per problem.
      c: int array (P,) or scalar, correct samples per problem.
      k: int, or int array (K,), budgets ≥ 1.
      k_exceeds_n: "raise" (default) → ValueError naming the first problem
        with n < k; "nan" → NaN in those entries.
      ids: optional (P,) problem ids used in error messages.

    Returns:
      float64 (P,) for scalar k, (P, K) for array k; the P axis is dropped
      when n and c are both scalars. Exactly 0 for k = 1, c = 0 and c = n.
    """
    scalar_problems = np.ndim(n) == 0 and np.ndim(c) == 0
    n_, c_ = as_counts(n, c, ids)
    ks, scalar_k = as_budgets(k)
    short = check_enough_samples(n_, ks, ks, ids, _policy(k_exceeds_n, too_few_samples, "gap_hat"), "gap_hat")
    r1 = ((n_ - c_) / n_)[:, None]  # (P, 1): C(n − c, 1)/C(n, 1)
    log_r = log_comb_ratio(n_, c_, ks)  # (P, K)
    log_r1 = log_comb_ratio(n_, c_, np.ones(1, dtype=np.int64))  # (P, 1), same kernel: k = 1 cancels exactly
    with np.errstate(invalid="ignore"):
        # R_1·(−expm1(log R_k − log R_1)) instead of R_1 − R_k: no cancellation when R_k ≈ R_1 (small c or k).
        out = r1 * -np.expm1(log_r - log_r1) + 0.0  # (P, K)
    out[np.broadcast_to(c_[:, None] == n_[:, None], out.shape)] = 0.0  # R_1 = R_k = 0: −inf − (−inf) would be NaN
    out[short] = np.nan
    return _shape_counts(out, scalar_problems, scalar_k)


def zero_signal_hat(
    n: ArrayLike,
    c: ArrayLike,
    group_size: int,
    *,
    k_exceeds_n: KPolicy = "raise",
    ids: Sequence[object] | np.ndarray | None = None,
    too_few_samples: KPolicy | None = None,
) -> np.ndarray | float:
    """Unbiased estimate of zero_signal_probability(p, G) = (1 − p)^G + p^G per problem.

        ẑ_G = C(n − c, G)/C(n, G) + C(c, G)/C(n, G)

    the fraction of G-subsets of the n samples that are all wrong or all right
    (U-statistic; the same hypergeometric identity as pass@k, Chen et al. 2021,
    arXiv 2107.03374, Eq. 1). Needs n ≥ G.

    Args:
      n: int array (P,) or scalar, samples per problem.
      c: int array (P,) or scalar, correct samples per problem.
      group_size: int G ≥ 1, the training group size.
      k_exceeds_n: "raise" (default) → ValueError naming the first problem
        with n < G; "nan" → NaN there.
      ids: optional (P,) problem ids used in error messages.

    Returns:
      float64 (P,); a float when n and c are both scalars.
    """
    if np.ndim(group_size) != 0:
        raise ValueError(f"group_size must be an int, got shape {np.shape(group_size)}")
    scalar_problems = np.ndim(n) == 0 and np.ndim(c) == 0
    n_, c_ = as_counts(n, c, ids)
    gs, _ = as_budgets(group_size, "group_size")
    short = check_enough_samples(n_, gs, gs, ids, _policy(k_exceeds_n, too_few_samples, "zero_signal_hat"), "zero_signal_hat")
    # both terms from the log-space kernel: no C(n, G) overflow at large n.
    out = np.exp(log_comb_ratio(n_, c_, gs)) + np.exp(log_comb_ratio(n_, n_ - c_, gs))  # (P, 1)
    out[short] = np.nan
    return _shape_counts(out, scalar_problems, True)
