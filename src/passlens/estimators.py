"""Unbiased per-problem estimators of the pass@k family from n samples per problem.

Every estimator here is a function of a per-problem sufficient statistic:

=============  ===============================  =====================================
estimator      sufficient statistic             estimates (per problem, i.i.d. draws)
=============  ===============================  =====================================
pass_at_k      (n, c)                           1 − (1 − p)^k
pass_hat_k     (n, c)                           p^k
max_at_k       the n rewards, sorted            E[max of k rewards]
maj_at_k       answer vote counts + correctness majority-vote accuracy over k draws
coverage_at_k  answer vote counts + correctness distinct correct answers among k draws
=============  ===============================  =====================================

Each is the average of the statistic over all C(n, k) size-k subsets of the n
observed samples (a U-statistic), hence unbiased for the k-sample quantity; none
exists for k > n (the estimand is a degree-k polynomial in p, and only degree ≤ n
is estimable from n draws — Walder & Karkhanis 2025, App. A.1). k > n is therefore
an error unless the caller asks for NaN.
"""

from __future__ import annotations

from typing import Callable, Iterable, Sequence

import numpy as np
from numpy.typing import ArrayLike

from ._combinatorics import _log_terms, log_comb_ratio
from ._majority import maj_at_k
from ._validate import KPolicy, as_counts, as_ks, as_votes, k_mask, problem_label

__all__ = ["pass_at_k", "pass_hat_k", "max_at_k", "maj_at_k", "coverage_at_k", "pad_rewards"]


def _one_minus_exp(log_r: np.ndarray) -> np.ndarray:
    # 1 − R as −expm1(log R): full relative precision when R ≈ 1 (tiny pass@k). The in-place
    # + 0.0 turns the −0.0 of R = 1 (c = 0) into +0.0, as every other estimator returns.
    out = np.expm1(log_r)
    np.negative(out, out=out)
    out += 0.0
    return out


def _shape_output(out: np.ndarray, scalar_problems: bool, scalar_k: bool) -> np.ndarray:
    """(P, K) → (P,) for scalar k, (K,) for scalar n and c, 0-d for both."""
    if scalar_k:
        out = out[:, 0]
    if scalar_problems:
        out = out[0]
    return out


def _from_comb_ratio(
    n: ArrayLike,
    c: ArrayLike,
    k: ArrayLike,
    *,
    count_correct: bool,
    transform: Callable[[np.ndarray], np.ndarray],
    k_exceeds_n: KPolicy,
    ids: Sequence[object] | np.ndarray | None,
) -> np.ndarray:
    """transform(log C(n − m, k)/C(n, k)) with m = c (count_correct) or n − c; shared body of
    :func:`pass_at_k` and :func:`pass_hat_k` (validation, k > n policy, output shape)."""
    scalar_problems = np.ndim(n) == 0 and np.ndim(c) == 0
    scalar_k = np.ndim(k) == 0
    n_, c_ = as_counts(n, c, ids)
    ks = as_ks(k)
    too_big = k_mask(n_, ks, ids, k_exceeds_n)
    avoided = c_ if count_correct else n_ - c_
    out = log_comb_ratio(n_, avoided, ks, transform=transform)  # (P, K)
    if too_big is not None:
        out[too_big] = np.nan
    return _shape_output(out, scalar_problems, scalar_k)


def pass_at_k(
    n: ArrayLike,
    c: ArrayLike,
    k: ArrayLike,
    *,
    k_exceeds_n: KPolicy = "raise",
    ids: Sequence[object] | np.ndarray | None = None,
) -> np.ndarray:
    """Unbiased pass@k per problem: 1 − C(n − c, k) / C(n, k).

    The probability that k samples drawn without replacement from the n observed
    ones contain at least one of the c correct; unbiased for 1 − (1 − p)^k
    (Chen et al. 2021, "Evaluating LLMs Trained on Code", Eq. 1). pass@1 = c/n,
    pass@n = 1[c > 0].

    Computed as −expm1(Σ_{j<k} log(1 − c/(n − j))): no binomial coefficient is
    ever formed (C(10⁶, 5·10⁵) overflows float64), and 1 − R keeps full relative
    precision when pass@k is tiny.

    Args:
      n: int array (P,) or scalar, samples per problem (variable n is fine).
      c: int array (P,) or scalar, correct samples per problem.
      k: int or int array (K,), budgets ≥ 1.
      k_exceeds_n: "raise" (default) → ValueError naming the problem when any
        k > n; "nan" → NaN in those entries.
      ids: optional (P,) problem ids used in error messages.

    Returns:
      float64 (P, K) for array k, (P,) for scalar k; the leading P axis is
      dropped when n and c are both scalars.
    """
    return _from_comb_ratio(n, c, k, count_correct=True, transform=_one_minus_exp, k_exceeds_n=k_exceeds_n, ids=ids)


def pass_hat_k(
    n: ArrayLike,
    c: ArrayLike,
    k: ArrayLike,
    *,
    k_exceeds_n: KPolicy = "raise",
    ids: Sequence[object] | np.ndarray | None = None,
) -> np.ndarray:
    """Unbiased pass^k per problem (all k draws correct): C(c, k) / C(n, k).

    Unbiased for p^k (Yao et al. 2024, τ-bench, arXiv 2406.12045). Uses the
    identity C(c, k)/C(n, k) = C(n − (n − c), k)/C(n, k), i.e. the same kernel as
    pass@k with the roles of correct and incorrect samples swapped.

    Args and returns as :func:`pass_at_k`.
    """
    return _from_comb_ratio(n, c, k, count_correct=False, transform=np.exp, k_exceeds_n=k_exceeds_n, ids=ids)


def pad_rewards(rewards: Iterable[ArrayLike], ids: Sequence[object] | np.ndarray | None = None) -> np.ndarray:
    """Rewards as a float (P, n_max) array, NaN-padded, each row sorted ascending.

    Args:
      rewards: a list of 1-D float arrays (variable n), or a float (P, n) array
        whose NaN entries are padding (the one form where NaN means "no sample").
      ids: optional (P,) problem ids used in error messages.

    Raises:
      ValueError: a NaN in a list row (a lost value there, not padding), infinite
        rewards, no problem, a ragged row that is not 1-D, or an array that is not 2-D.
    """
    if isinstance(rewards, np.ndarray) and rewards.ndim == 2:
        mat = rewards.astype(np.float64, copy=True)
    elif isinstance(rewards, np.ndarray):
        raise ValueError(
            f"rewards: a {rewards.ndim}-D array of {rewards.size} numbers; give one array per problem "
            "(a list, [rewards] for one problem) or a (P, n) array"
        )
    else:
        rows = [np.asarray(r, dtype=np.float64) for r in rewards]
        for i, r in enumerate(rows):
            if r.ndim != 1:
                raise ValueError(f"rewards of {problem_label(i, ids)} must be 1-D, got shape {r.shape}")
            if np.isnan(r).any():
                j = int(np.flatnonzero(np.isnan(r))[0])
                raise ValueError(f"NaN reward in {problem_label(i, ids)} at sample {j}")
        width = max((r.size for r in rows), default=0)
        mat = np.full((len(rows), width), np.nan)
        for i, r in enumerate(rows):
            mat[i, : r.size] = r
    if mat.ndim != 2 or mat.shape[0] == 0:
        raise ValueError(f"rewards must hold at least one problem, got shape {mat.shape}")
    if np.isinf(mat).any():
        i = int(np.argwhere(np.isinf(mat))[0, 0])
        raise ValueError(f"infinite reward in {problem_label(i, ids)}")
    mat.sort(axis=1)  # NaN sorts last: each row is [g_(1) ≤ … ≤ g_(n), NaN, …]
    return mat


def _max_weights(n: int, ks: np.ndarray) -> np.ndarray:
    """Order-statistic weights w[i−1, j] = C(i − 1, k_j − 1) / C(n, k_j), float (n, K).

    w_i is the probability that the i-th smallest of n rewards is the maximum of
    a uniformly random k-subset (PKPO, Walder & Karkhanis 2025, Eq. 12). Built
    from the top down: w_n = k/n and w_i / w_{i+1} = 1 − (k − 1)/i, summed in log
    space (no binomial coefficient is formed, so n = 10⁶ is fine).
    """
    out = np.zeros((n, ks.size))
    if n == 1:
        out[0, :] = 1.0
        return out
    # log(1 − (k−1)/l) for l = n−1, n−2, …, 1 (rows of _log_terms are budgets here).
    terms = _log_terms(np.full((ks.size, 1), n - 1), (ks - 1)[:, None], np.arange(n - 1)[None, :])
    log_w = np.empty((ks.size, n))
    log_w[:, 0] = np.log(ks / n)  # i = n
    np.cumsum(terms, axis=1, out=log_w[:, 1:])
    log_w[:, 1:] += log_w[:, :1]  # log w_i for i = n−1 … 1
    out[:] = np.exp(log_w[:, ::-1]).T  # row i−1 ↔ i-th smallest
    return out


def max_at_k(
    rewards: Iterable[ArrayLike],
    k: ArrayLike,
    *,
    k_exceeds_n: KPolicy = "raise",
    ids: Sequence[object] | np.ndarray | None = None,
) -> np.ndarray:
    """Unbiased expected maximum of k rewards drawn without replacement, per problem.

        ρ^(g)(n, k) = Σ_{i=k}^{n} C(i − 1, k − 1)/C(n, k) · g_(i)

    with g_(1) ≤ … ≤ g_(n) the sorted rewards (PKPO, Walder & Karkhanis 2025,
    Eqs. 12–14, Thm. 3): the mean over all k-subsets of their maximum, unbiased
    for E[max of k i.i.d. rewards]. On {0, 1} rewards it equals pass@k.

    Args:
      rewards: a list of P 1-D float arrays (variable n), or float (P, n) with
        NaN padding. Any finite real rewards.
      k: int or int array (K,), budgets ≥ 1.
      k_exceeds_n, ids: as :func:`pass_at_k`.

    Returns:
      float64 (P, K) for array k, (P,) for scalar k.

    Cost: O(P · n · K) as one matrix product per distinct n.
    """
    scalar_k = np.ndim(k) == 0
    ks = as_ks(k)
    mat = pad_rewards(rewards, ids)
    n = (~np.isnan(mat)).sum(axis=1)
    if (n == 0).any():
        i = int(np.flatnonzero(n == 0)[0])
        raise ValueError(f"{problem_label(i, ids)} has no rewards")
    too_big = k_mask(n, ks, ids, k_exceeds_n)
    out = np.empty((mat.shape[0], ks.size))
    for n_val in np.unique(n):
        rows = np.flatnonzero(n == n_val)
        ok = ks <= n_val
        w = _max_weights(int(n_val), ks[ok])  # (n, K_ok)
        block = np.full((rows.size, ks.size), np.nan)
        block[:, ok] = mat[rows, :n_val] @ w
        out[rows] = block
    if too_big is not None:
        out[too_big] = np.nan
    return out[:, 0] if scalar_k else out


def coverage_at_k(
    votes: Sequence[object],
    correct: Sequence[object],
    k: ArrayLike,
    *,
    k_exceeds_n: KPolicy = "raise",
    ids: Sequence[object] | np.ndarray | None = None,
) -> np.ndarray:
    """Unbiased coverage@k per problem: expected number of distinct correct answers among k draws.

        coverage@k(x) = Σ_{a correct} [1 − (1 − π(a))^k]
        estimate      = Σ_{a correct} [1 − C(n − m_a, k) / C(n, k)]

    with m_a the number of the n samples giving answer a. Each term is the
    unbiased pass@k of the event "the answer is a" (Chen et al. 2021, Eq. 1,
    applied per answer class), so the sum is unbiased; it is the mean, over all
    k-subsets, of the number of distinct correct answers in the subset.
    coverage@1 = pass@1 = c/n, and coverage@k ≥ pass@k, with equality when every
    correct sample gives the same answer. Unlike pass@k it sees solution
    diversity inside a problem (two policies with the same p can differ).

    Args:
      votes: sequence of P 1-D int arrays; votes[i] (A_i,) counts the samples
        giving each distinct answer (n_i = Σ votes[i]).
      correct: sequence of P 1-D bool arrays (A_i,) marking correct answers.
      k: int or int array (K,), budgets ≥ 1.
      k_exceeds_n, ids: as :func:`pass_at_k`.

    Returns:
      float64 (P, K) for array k, (P,) for scalar k.
    """
    scalar_k = np.ndim(k) == 0
    ks = as_ks(k)
    counts, flags = as_votes(votes, correct, ids)  # the checks of maj_at_k: same inputs, same messages
    n = np.array([int(v.sum()) for v in counts], dtype=np.int64)
    owner = [np.full(int(ok.sum()), i) for i, ok in enumerate(flags)]
    m = [v[ok] for v, ok in zip(counts, flags)]
    too_big = k_mask(n, ks, ids, k_exceeds_n)
    out = np.zeros((n.size, ks.size))
    own = np.concatenate(owner) if owner else np.zeros(0, dtype=np.int64)
    if own.size:
        mm = np.concatenate(m)
        # One pass@k term per correct answer class, all classes of all problems at once.
        terms = log_comb_ratio(n[own], mm, ks, transform=_one_minus_exp)  # (A, K)
        np.add.at(out, own, terms)
    if too_big is not None:
        out[too_big] = np.nan
    return out[:, 0] if scalar_k else out
