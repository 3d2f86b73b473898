"""The pass@k gradient laid bare: α_k, J_k, gaps and learning-signal weights.

Per problem x, let p = J_1(x) be the policy's probability of a correct answer.
Under i.i.d. sampling (Yu 2025, "Pass@k Metric for RLVR: A Diagnostic Tool of
Exploration, But Not an Objective", arXiv 2511.16231):

    J_k(p) = 1 − (1 − p)^k                       pass@k of the policy
    ∇J_k   = α_k(p) ∇J_1,  α_k(p) = k (1 − p)^{k−1}  ∈ [0, k]

so per problem the pass@k gradient is the pass@1 gradient times a positive
weight that vanishes as p → 1 (and is at most k as p → 0, where ∇J_1 itself
vanishes). This module holds

* closed forms in p: :func:`alpha`, :func:`pass_at_k_of_p`, :func:`gap`,
  :func:`gap_argmax`, :func:`zero_signal_probability`, :func:`signal`;
* unbiased estimators from per-problem counts (n, c): :func:`alpha_hat`,
  :func:`signal_hat`, :func:`gap_hat`, :func:`zero_signal_hat`, and a dataset
  summary :func:`summarize` (a :class:`TheorySummary`);
* the dataset-level gradient of a shared linear-softmax policy, where the
  per-problem collinearity no longer holds: :func:`linear_softmax_success`,
  :func:`dataset_gradient_cosine` (prompt interference, Barakat et al. 2026,
  arXiv 2602.21189).

Everything here is numpy/scipy; torch is never imported.

Conventions for functions of p: ``p`` is a float array of any shape S with
entries in [0, 1] (values within 1e-12 outside it are taken as rounding and
clipped); ``k`` is an int (result shape S) or a 1-D int array (K,) (result
shape S + (K,), an outer table, as in :func:`passlens.estimators.pass_at_k`).
A 0-d result comes back as a numpy float.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Sequence, overload

import numpy as np
from numpy.typing import ArrayLike

from ._combinatorics import log_comb_ratio
from ._json import json_ready
from ._validate import KPolicy, as_counts, problem_label

__all__ = [
    "alpha",
    "pass_at_k_of_p",
    "gap",
    "gap_argmax",
    "zero_signal_probability",
    "signal",
    "alpha_hat",
    "signal_hat",
    "gap_hat",
    "zero_signal_hat",
    "TheorySummary",
    "summarize",
    "DEFAULT_BUCKETS",
    "DEFAULT_QUANTILES",
    "linear_softmax_success",
    "dataset_gradient_cosine",
]

#: Interior cut points of the difficulty buckets of p̂ = c/n used by :func:`summarize`;
#: with the two exact buckets they give [0], (0, .1], (.1, .3], (.3, .7], (.7, .9], (.9, 1), [1].
DEFAULT_BUCKETS: tuple[float, ...] = (0.1, 0.3, 0.7, 0.9)

#: Quantile levels of the α̂_k distribution reported by :func:`summarize`.
DEFAULT_QUANTILES: tuple[float, ...] = (0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0)


# ----------------------------------------------------------------------------
# input checks and shape plumbing for functions of p
# ----------------------------------------------------------------------------


#: Rounding slack for probabilities: entries within this of [0, 1] are clipped, not rejected.
_P_SLACK = 1e-12


def _as_probabilities(p: object, name: str = "p") -> np.ndarray:
    """float64 array of any shape, entries in [0, 1]; ValueError names the first bad index.

    Entries within 1e-12 outside [0, 1] (floating-point rounding of a computed
    probability) are clipped into it.
    """
    try:
        arr = np.asarray(p, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be numeric") from None
    bad = ~np.isfinite(arr) | (arr < -_P_SLACK) | (arr > 1.0 + _P_SLACK)
    if bad.any():
        idx = np.unravel_index(int(np.flatnonzero(bad.ravel())[0]), arr.shape)
        where = f"index {tuple(int(i) for i in idx)}" if arr.ndim else "the scalar"
        raise ValueError(f"{name} must lie in [0, 1]: {where} has {name}={arr[idx].item()!r}")
    # a probability computed as a sum of softmax terms can overshoot 1 by an ulp: clip that rounding.
    return np.clip(arr, 0.0, 1.0)


def _as_budget(k: object, name: str = "k") -> tuple[np.ndarray, bool]:
    """k as int64 (K,) with every entry an integer ≥ 1, plus whether it was a scalar."""
    arr = np.asarray(k)
    if arr.ndim > 1:
        raise ValueError(f"{name} must be an int or a 1-D int array, got shape {arr.shape}")
    scalar = arr.ndim == 0
    arr = np.atleast_1d(arr)
    if arr.size == 0:
        raise ValueError(f"{name} is empty")
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise ValueError(f"{name} must be integers, got dtype {arr.dtype}")
    bad = ~np.isfinite(arr) | (arr != np.round(arr)) | (arr < 1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        where = "" if scalar else f" at index {i}"
        raise ValueError(f"{name} must be an integer ≥ 1: got {name}={arr[i].item()!r}{where}")
    # Budgets are used as float64 (exact below 2⁵³) and int64; larger ones would round or wrap.
    big = arr >= 2**53
    if big.any():
        i = int(np.flatnonzero(big)[0])
        where = "" if scalar else f" at index {i}"
        raise ValueError(f"{name} must be < 2⁵³: got {name}={arr[i].item()!r}{where}")
    return arr.astype(np.int64), scalar


def _budget_axis(k: object, name: str = "k") -> tuple[np.ndarray, bool]:
    """Budgets as float64 (K,) for broadcasting against p[..., None], plus whether k was a scalar."""
    ks, scalar_k = _as_budget(k, name)
    return ks.astype(np.float64), scalar_k


def _finish(out: np.ndarray, scalar_k: bool) -> Any:
    """Drop the trailing K axis for scalar k; 0-d → numpy float."""
    if scalar_k:
        out = out[..., 0]
    return out[()] if out.ndim == 0 else out


def _m_log1m(p: np.ndarray, m: np.ndarray) -> np.ndarray:
    """m · log(1 − p), with 0 where m = 0 (so (1 − p)^0 = 1 even at p = 1).

    log1p(−p) keeps full relative precision for tiny p (1 − p would round to 1
    at p < 1e-16); the explicit m = 0 branch avoids 0 · (−inf) = NaN at p = 1.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        out = m * np.log1p(-p)
    return np.where(m == 0, 0.0, out)


# ----------------------------------------------------------------------------
# closed forms in p
# ----------------------------------------------------------------------------


@overload
def alpha(p: float, k: int) -> float: ...
@overload
def alpha(p: np.ndarray | Sequence[float], k: object) -> np.ndarray: ...
@overload
def alpha(p: object, k: np.ndarray | Sequence[int]) -> np.ndarray: ...
@overload
def alpha(p: object, k: object) -> np.ndarray | float: ...
def alpha(p: object, k: object) -> np.ndarray | float:
    """Per-problem pass@k gradient weight α_k(p) = k (1 − p)^{k−1}.

        ∇_θ J_k(x) = α_k(J_1(x)) ∇_θ J_1(x)

    (Yu 2025, arXiv 2511.16231, its pass@k gradient result: the chain rule on
    J_k = 1 − (1 − J_1)^k).
    α_k ∈ [0, k], α_k(0) = k, α_k(1) = 0 for k ≥ 2, α_1 ≡ 1, and α_k is
    non-increasing in p; it is also dJ_k/dJ_1.

    Args:
      p: float array, any shape S, success probabilities in [0, 1].
      k: int, or int array (K,), budgets ≥ 1.

    Returns:
      float64 array S for scalar k, S + (K,) for array k.
    """
    pa = _as_probabilities(p)
    ks, scalar_k = _budget_axis(k)
    pp = pa[..., None]  # S + (1,)
    # exp((k−1)·log1p(−p)) instead of (1 − p)**(k−1): no loss of the tiny-p digits.
    out = ks * np.exp(_m_log1m(pp, ks - 1))  # S + (K,)
    return _finish(out, scalar_k)


@overload
def pass_at_k_of_p(p: float, k: int) -> float: ...
@overload
def pass_at_k_of_p(p: np.ndarray | Sequence[float], k: object) -> np.ndarray: ...
@overload
def pass_at_k_of_p(p: object, k: np.ndarray | Sequence[int]) -> np.ndarray: ...
@overload
def pass_at_k_of_p(p: object, k: object) -> np.ndarray | float: ...
def pass_at_k_of_p(p: object, k: object) -> np.ndarray | float:
    """Pass@k of a policy with per-problem success probability p: J_k = 1 − (1 − p)^k.

    The probability that at least one of k i.i.d. samples is correct (Yu 2025,
    arXiv 2511.16231, the pass@k objective; Chen et al. 2021, arXiv 2107.03374).

    Args:
      p: float array, any shape S, in [0, 1].
      k: int, or int array (K,), budgets ≥ 1.

    Returns:
      float64 array S for scalar k, S + (K,) for array k.
    """
    pa = _as_probabilities(p)
    ks, scalar_k = _budget_axis(k)
    pp = pa[..., None]  # S + (1,)
    # −expm1(k·log1p(−p)) instead of 1 − (1 − p)^k: no cancellation when J_k ≪ 1 (p = 1e-20 → k·1e-20, not 0).
    out = -np.expm1(_m_log1m(pp, ks))  # S + (K,)
    return _finish(out, scalar_k)


@overload
def gap(p: float, k: int) -> float: ...
@overload
def gap(p: np.ndarray | Sequence[float], k: object) -> np.ndarray: ...
@overload
def gap(p: object, k: np.ndarray | Sequence[int]) -> np.ndarray: ...
@overload
def gap(p: object, k: object) -> np.ndarray | float: ...
def gap(p: object, k: object) -> np.ndarray | float:
    """Pass@k minus pass@1 of a policy: J_k − J_1 = (1 − p)[1 − (1 − p)^{k−1}] ≥ 0.

    Zero at p ∈ {0, 1} and for k = 1; it shrinks as a policy concentrates its
    per-problem success rates at 0 or 1 (the "exploration collapse" of Yu 2025,
    arXiv 2511.16231, its exploration-collapse analysis; the factorized form is
    derived here from J_k).

    Args:
      p: float array, any shape S, in [0, 1].
      k: int, or int array (K,), budgets ≥ 1.

    Returns:
      float64 array S for scalar k, S + (K,) for array k.
    """
    pa = _as_probabilities(p)
    ks, scalar_k = _budget_axis(k)
    pp = pa[..., None]  # S + (1,)
    # (1 − p)·(−expm1((k−1)·log1p(−p))) instead of J_k − p: no cancellation of two nearly equal numbers at small p.
    out = (1.0 - pp) * -np.expm1(_m_log1m(pp, ks - 1)) + 0.0  # S + (K,); + 0.0 turns −0.0 into 0.0
    return _finish(out, scalar_k)


@overload
def gap_argmax(k: int) -> tuple[float, float]: ...
@overload
def gap_argmax(k: np.ndarray | Sequence[int]) -> tuple[np.ndarray, np.ndarray]: ...
@overload
def gap_argmax(k: object) -> tuple[np.ndarray | float, np.ndarray | float]: ...
def gap_argmax(k: object) -> tuple[np.ndarray | float, np.ndarray | float]:
    """Where the gap J_k − J_1 peaks, and its peak value.

        p*_k = 1 − k^{−1/(k−1)},   max_p (J_k − J_1) = k^{−1/(k−1)} (1 − 1/k)

    from d/dp[(1 − p) − (1 − p)^k] = −1 + k(1 − p)^{k−1} = 0 (derived from
    Yu 2025, arXiv 2511.16231; the gap is concave in p, so this stationary
    point is the maximum). p*_2 = 1/2 with peak 1/4; as k → ∞, p*_k ≈ log(k)/k → 0
    and the peak value → 1. For k = 1 the gap is identically zero: the argmax is
    undefined (NaN) and the peak value is 0.

    Args:
      k: int, or int array (K,), budgets ≥ 1.

    Returns:
      (p_star, gap_max): two floats for scalar k, or two float64 arrays (K,).
    """
    ks, scalar_k = _budget_axis(k)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_q = -np.log(ks) / (ks - 1.0)  # log k^{−1/(k−1)}; NaN at k = 1, masked below
    # −expm1 instead of 1 − exp: p* keeps its digits when k^{−1/(k−1)} is close to 1 (it never is for k ≥ 2, but costs nothing).
    p_star = np.where(ks == 1, np.nan, -np.expm1(log_q))
    gap_max = np.where(ks == 1, 0.0, np.exp(log_q) * (1.0 - 1.0 / ks))
    return _finish(p_star, scalar_k), _finish(gap_max, scalar_k)


@overload
def zero_signal_probability(p: float, n: int) -> float: ...
@overload
def zero_signal_probability(p: np.ndarray | Sequence[float], n: object) -> np.ndarray: ...
@overload
def zero_signal_probability(p: object, n: np.ndarray | Sequence[int]) -> np.ndarray: ...
@overload
def zero_signal_probability(p: object, n: object) -> np.ndarray | float: ...
def zero_signal_probability(p: object, n: object) -> np.ndarray | float:
    """Probability that a group of n i.i.d. samples has no reward variance: (1 − p)^n + p^n.

    Under a group baseline (GRPO, Shao et al. 2024, arXiv 2402.03300, Eq. 3;
    RLOO, Ahmadian et al. 2024) every advantage of such a group is zero, so the
    problem contributes no gradient at all in that step.

    Args:
      p: float array, any shape S, in [0, 1].
      n: int, or int array (G,), group sizes ≥ 1.

    Returns:
      float64 array S for scalar n, S + (G,) for array n.
    """
    pa = _as_probabilities(p)
    ns, scalar_n = _budget_axis(n, "n")
    pp = pa[..., None]  # S + (1,)
    # exp(n·log1p(−p)) instead of (1 − p)**n: keeps the digits of 1 − p at tiny p.
    out = np.exp(_m_log1m(pp, ns)) + pp**ns  # S + (G,)
    return _finish(out, scalar_n)


@overload
def signal(p: float, k: int) -> float: ...
@overload
def signal(p: np.ndarray | Sequence[float], k: object) -> np.ndarray: ...
@overload
def signal(p: object, k: np.ndarray | Sequence[int]) -> np.ndarray: ...
@overload
def signal(p: object, k: object) -> np.ndarray | float: ...
def signal(p: object, k: object) -> np.ndarray | float:
    """Squared natural-gradient (Fisher) norm of the per-problem pass@k gradient: k² p (1 − p)^{2k−1}.

    Derivation. Take a tabular softmax policy over the M outcomes of problem x,
    π = softmax(z), z ∈ ℝ^M, and V ∈ {0, 1}^M marking the correct outcomes, so
    p = J_1 = πᵀV. Then

        ∇_z p = π ⊙ (V − p) = F V,    F = diag(π) − ππᵀ  (the Fisher matrix of z),

    and the natural-gradient norm is

        ‖∇p‖²_{F⁺} = (∇p)ᵀ F⁺ (∇p) = Vᵀ F F⁺ F V = Vᵀ F V = Var_π(V) = p(1 − p).

    Since ∇J_k = α_k ∇J_1 (Yu 2025, arXiv 2511.16231), ‖∇J_k‖²_{F⁺} =
    α_k² p(1 − p) = k² p (1 − p)^{2k−1}.

    Upper bound for every other parametrization θ of the same outcome
    distribution (e.g. logits z = Aθ with fewer parameters, or a network):
    with score s = ∇_θ log π(y), g = E[V s] and F_θ = E[s sᵀ], g lies in the
    range of F_θ and

        gᵀ F_θ⁺ g = sup_v (vᵀg)² / (vᵀF_θ v) = sup_v Cov(V, vᵀs)² / Var(vᵀs) ≤ Var(V) = p(1 − p)

    by Cauchy–Schwarz (E[s] = 0); equality for the full tabular softmax. So
    k² p (1 − p)^{2k−1} bounds the squared Fisher-normalised pass@k signal of
    the problem for any policy class. At k = 1 it is the Bernoulli variance; it
    peaks at p = 1/(2k) and vanishes at both p = 0 and p = 1.

    Args:
      p: float array, any shape S, in [0, 1].
      k: int, or int array (K,), budgets ≥ 1.

    Returns:
      float64 array S for scalar k, S + (K,) for array k.
    """
    pa = _as_probabilities(p)
    ks, scalar_k = _budget_axis(k)
    pp = pa[..., None]  # S + (1,)
    # exp((2k−1)·log1p(−p)) instead of (1 − p)**(2k−1): keeps the digits of 1 − p at tiny p.
    out = ks**2 * pp * np.exp(_m_log1m(pp, 2.0 * ks - 1.0))  # S + (K,)
    return _finish(out, scalar_k)


# ----------------------------------------------------------------------------
# unbiased estimators from counts
# ----------------------------------------------------------------------------


def _require_n(
    n: np.ndarray,
    need: np.ndarray,
    ks: np.ndarray,
    ids: Sequence[object] | np.ndarray | None,
    policy: KPolicy,
    what: str,
) -> np.ndarray:
    """Mask (P, K) of n < need[k]; raise (naming the problem) unless policy == 'nan'."""
    if policy not in ("raise", "nan"):
        raise ValueError(f"too_few_samples must be 'raise' or 'nan', got {policy!r}")
    short = n[:, None] < need[None, :]  # (P, K)
    if policy == "raise" and short.any():
        i, j = (int(v) for v in np.argwhere(short)[0])
        count = int(short[:, j].sum())
        raise ValueError(
            f"{what} needs n ≥ {need[j]} for k={ks[j]}: {problem_label(i, ids)} has n={n[i]}"
            f" ({count} problem(s) too small); no unbiased estimate exists from fewer samples"
        )
    return short


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
    too_few_samples: KPolicy = "raise",
    ids: Sequence[object] | np.ndarray | None = None,
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
      too_few_samples: "raise" (default) → ValueError naming the first problem
        with n < k − 1; "nan" → NaN in those entries.
      ids: optional (P,) problem ids used in error messages.

    Returns:
      float64 (P,) for scalar k, (P, K) for array k; the P axis is dropped
      when n and c are both scalars.
    """
    scalar_problems = np.ndim(n) == 0 and np.ndim(c) == 0
    n_, c_ = as_counts(n, c, ids)
    ks, scalar_k = _as_budget(k)
    m = ks - 1  # (K,) degree of the estimand
    short = _require_n(n_, m, ks, ids, too_few_samples, "alpha_hat")
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
    too_few_samples: KPolicy = "raise",
    ids: Sequence[object] | np.ndarray | None = None,
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
      too_few_samples: "raise" (default) → ValueError naming the first problem
        with n < 2k; "nan" → NaN in those entries.
      ids: optional (P,) problem ids used in error messages.

    Returns:
      float64 (P,) for scalar k, (P, K) for array k; the P axis is dropped
      when n and c are both scalars.
    """
    scalar_problems = np.ndim(n) == 0 and np.ndim(c) == 0
    n_, c_ = as_counts(n, c, ids)
    ks, scalar_k = _as_budget(k)
    short = _require_n(n_, 2 * ks, ks, ids, too_few_samples, "signal_hat")
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
    too_few_samples: KPolicy = "raise",
    ids: Sequence[object] | np.ndarray | None = None,
) -> np.ndarray | float:
    """Unbiased estimate of the gap J_k − J_1 = (1 − p) − (1 − p)^k from c correct of n samples.

        ĝ_k = pass@k̂ − c/n = C(n − c, 1)/C(n, 1) − C(n − c, k)/C(n, k)

    with the unbiased pass@k of Chen et al. 2021 (arXiv 2107.03374, Eq. 1);
    estimand as in :func:`gap` (Yu 2025, arXiv 2511.16231). Needs n ≥ k.

    Args:
      n: int array (P,) or scalar, samples per problem.
      c: int array (P,) or scalar, correct samples per problem.
      k: int, or int array (K,), budgets ≥ 1.
      too_few_samples: "raise" (default) → ValueError naming the first problem
        with n < k; "nan" → NaN in those entries.
      ids: optional (P,) problem ids used in error messages.

    Returns:
      float64 (P,) for scalar k, (P, K) for array k; the P axis is dropped
      when n and c are both scalars. Exactly 0 for k = 1, c = 0 and c = n.
    """
    scalar_problems = np.ndim(n) == 0 and np.ndim(c) == 0
    n_, c_ = as_counts(n, c, ids)
    ks, scalar_k = _as_budget(k)
    short = _require_n(n_, ks, ks, ids, too_few_samples, "gap_hat")
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
    too_few_samples: KPolicy = "raise",
    ids: Sequence[object] | np.ndarray | None = None,
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
      too_few_samples: "raise" (default) → ValueError naming the first problem
        with n < G; "nan" → NaN there.
      ids: optional (P,) problem ids used in error messages.

    Returns:
      float64 (P,); a float when n and c are both scalars.
    """
    if np.ndim(group_size) != 0:
        raise ValueError(f"group_size must be an int, got shape {np.shape(group_size)}")
    scalar_problems = np.ndim(n) == 0 and np.ndim(c) == 0
    n_, c_ = as_counts(n, c, ids)
    gs, _ = _as_budget(group_size, "group_size")
    short = _require_n(n_, gs, gs, ids, too_few_samples, "zero_signal_hat")
    # both terms from the log-space kernel: no C(n, G) overflow at large n.
    out = np.exp(log_comb_ratio(n_, c_, gs)) + np.exp(log_comb_ratio(n_, n_ - c_, gs))  # (P, 1)
    out[short] = np.nan
    return _shape_counts(out, scalar_problems, True)


# ----------------------------------------------------------------------------
# dataset summary
# ----------------------------------------------------------------------------


def _bucket_labels(cuts: np.ndarray) -> tuple[str, ...]:
    inner = [0.0, *cuts.tolist(), 1.0]
    labels = ["p̂=0"]
    for lo, hi in zip(inner[:-1], inner[1:]):
        right = ")" if hi == 1.0 else "]"
        labels.append(f"({lo:g}, {hi:g}{right}")
    labels.append("p̂=1")
    return tuple(labels)


@dataclass(frozen=True)
class TheorySummary:
    """What the pass@k theory says about a count table, estimated without bias where n allows.

    Shapes: K budgets, Q quantile levels, B = len(bucket_cuts) + 3 difficulty
    buckets. Per-k statistics use only the problems with enough samples for
    that k (counted in the ``*_problems`` fields); NaN where none qualifies.

    Attributes:
      n_problems: P.
      ks: int (K,), budgets.
      pass1_mean: mean of p̂ = c/n (unbiased for the mean pass@1).
      alpha_mean: float (K,), mean of α̂_k over problems with n ≥ k − 1.
      alpha_quantile_levels: float (Q,).
      alpha_quantiles: float (K, Q), quantiles of α̂_k over the same problems.
      alpha_problems: int (K,), problems with n ≥ k − 1.
      gap_mean: float (K,), mean of pass@k̂ − c/n over problems with n ≥ k.
      gap_problems: int (K,), problems with n ≥ k.
      signal_total: float (K,), Σ_x ŝ_k(x) over problems with n ≥ 2k.
      signal_problems: int (K,), problems with n ≥ 2k.
      bucket_cuts: float (B − 3,), interior cut points of p̂.
      bucket_labels: B strings, "p̂=0", "(0, 0.1]", …, "(0.9, 1)", "p̂=1".
      bucket_counts: int (B,), problems per bucket.
      signal_share: float (B, K), each bucket's share of signal_total.
      frac_never_solved: fraction of problems with c = 0.
      frac_always_solved: fraction of problems with c = n.
      group_size: G.
      zero_signal_fraction: mean of ẑ_G over problems with n ≥ G, unbiased for
        E_x[(1 − p)^G + p^G], the expected fraction of zero-advantage groups.
      zero_signal_problems: problems with n ≥ G.
      zero_signal_plugin: mean of (1 − p̂)^G + p̂^G over all problems; biased
        upward (Jensen), reported for tables whose n < G.
      notes: human-readable caveats (problems left out, NaN fields).
    """

    n_problems: int
    ks: np.ndarray
    pass1_mean: float
    alpha_mean: np.ndarray
    alpha_quantile_levels: np.ndarray
    alpha_quantiles: np.ndarray
    alpha_problems: np.ndarray
    gap_mean: np.ndarray
    gap_problems: np.ndarray
    signal_total: np.ndarray
    signal_problems: np.ndarray
    bucket_cuts: np.ndarray
    bucket_labels: tuple[str, ...]
    bucket_counts: np.ndarray
    signal_share: np.ndarray
    frac_never_solved: float
    frac_always_solved: float
    group_size: int
    zero_signal_fraction: float
    zero_signal_problems: int
    zero_signal_plugin: float
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-ready dict (lists for arrays, None for NaN)."""
        return {name: json_ready(getattr(self, name)) for name in self.__dataclass_fields__}


def _default_ks(n: np.ndarray) -> np.ndarray:
    """Powers of two 1, 2, 4, … up to the largest n."""
    top = int(n.max())
    return np.array([1 << i for i in range(top.bit_length()) if (1 << i) <= top], dtype=np.int64)


def summarize(
    n: object,
    c: object,
    *,
    ks: Sequence[int] | np.ndarray | None = None,
    group_size: int = 16,
    buckets: Sequence[float] = DEFAULT_BUCKETS,
    quantiles: Sequence[float] = DEFAULT_QUANTILES,
    ids: Sequence[object] | np.ndarray | None = None,
) -> TheorySummary:
    """Summarize a count table through the pass@k theory.

    Per problem x with c correct of n samples (p̂ = c/n):

    * α̂_k(x) = k C(n − c, k − 1)/C(n, k − 1), unbiased for the pass@k gradient
      weight α_k(p) = k(1 − p)^{k−1} (Yu 2025, arXiv 2511.16231) — its mean
      and quantiles per k;
    * ŝ_k(x), unbiased for k² p(1 − p)^{2k−1} (see :func:`signal`): the total
      Σ_x ŝ_k and each difficulty bucket's share of it;
    * mean gap pass@k − pass@1 with the unbiased pass@k of Chen et al. 2021
      (arXiv 2107.03374, Eq. 1);
    * polarized problems (c = 0, c = n), which give zero group advantage;
    * ẑ_G = C(n − c, G)/C(n, G) + C(c, G)/C(n, G), averaged: an unbiased
      estimate of the expected fraction of training groups of size G with no
      reward variance, E_x[(1 − p)^G + p^G].

    Per-k and per-G statistics use the problems whose n suffices (n ≥ k − 1,
    n ≥ k, n ≥ 2k, n ≥ G respectively); the counts used are reported and a
    note is added when some problems are left out.

    Args:
      n: int array (P,), samples per problem.
      c: int array (P,), correct samples per problem.
      ks: budgets (K,), each ≥ 1; default powers of two up to max n.
      group_size: training group size G ≥ 1.
      buckets: interior cut points of p̂, strictly increasing in (0, 1); the
        buckets are [0], (0, b_1], (b_1, b_2], …, (b_last, 1), [1].
      quantiles: quantile levels in [0, 1] for the α̂_k distribution.
      ids: optional (P,) problem ids used in error messages.

    Returns:
      TheorySummary (shapes documented there).
    """
    n_, c_ = as_counts(n, c, ids)
    P = int(n_.size)
    if P == 0:
        raise ValueError("summarize needs at least one problem, got none")
    k_arr = _default_ks(n_) if ks is None else _as_budget(np.asarray(ks), "ks")[0]
    if isinstance(group_size, bool) or not isinstance(group_size, (int, np.integer)) or group_size < 1:
        raise ValueError(f"group_size must be an int ≥ 1, got {group_size!r}")
    G = int(group_size)
    cuts = np.asarray(buckets, dtype=np.float64).reshape(-1)
    if cuts.size and (not np.all((cuts > 0) & (cuts < 1)) or np.any(np.diff(cuts) <= 0)):
        raise ValueError(f"buckets must be strictly increasing cut points in (0, 1), got {cuts.tolist()}")
    levels = np.asarray(quantiles, dtype=np.float64).reshape(-1)
    if levels.size == 0 or not np.all((levels >= 0) & (levels <= 1)):
        raise ValueError(f"quantiles must be non-empty levels in [0, 1], got {levels.tolist()}")

    notes: list[str] = []
    p_hat = c_ / n_  # (P,)
    K = k_arr.size

    a_hat = np.asarray(alpha_hat(n_, c_, k_arr, too_few_samples="nan"))  # (P, K)
    alpha_ok = ~np.isnan(a_hat)
    alpha_problems = alpha_ok.sum(axis=0)
    alpha_mean = np.full(K, np.nan)
    alpha_q = np.full((K, levels.size), np.nan)
    for j in range(K):
        if alpha_problems[j]:
            col = a_hat[alpha_ok[:, j], j]
            alpha_mean[j] = col.mean()
            alpha_q[j] = np.quantile(col, levels)

    gap_terms = np.asarray(gap_hat(n_, c_, k_arr, too_few_samples="nan"))  # (P, K)
    gap_ok = ~np.isnan(gap_terms)
    gap_problems = gap_ok.sum(axis=0)
    with np.errstate(invalid="ignore"):
        gap_mean = np.where(gap_problems > 0, np.nansum(gap_terms, axis=0) / np.maximum(gap_problems, 1), np.nan)

    s_hat = np.asarray(signal_hat(n_, c_, k_arr, too_few_samples="nan"))  # (P, K)
    sig_ok = ~np.isnan(s_hat)
    signal_problems = sig_ok.sum(axis=0)
    signal_total = np.where(signal_problems > 0, np.nansum(s_hat, axis=0), np.nan)

    # buckets: 0 for p̂ = 0, last for p̂ = 1, else 1 + position among the cuts (right-closed intervals)
    B = cuts.size + 3
    bucket = np.searchsorted(cuts, p_hat, side="left") + 1
    bucket[c_ == 0] = 0
    bucket[c_ == n_] = B - 1
    bucket_counts = np.bincount(bucket, minlength=B)
    share = np.full((B, K), np.nan)
    for j in range(K):
        tot = signal_total[j]
        if np.isfinite(tot) and tot > 0:
            sums = np.bincount(bucket[sig_ok[:, j]], weights=s_hat[sig_ok[:, j], j], minlength=B)
            share[:, j] = sums / tot

    for name, counts, need in (
        ("alpha_hat", alpha_problems, "n ≥ k − 1"),
        ("gap", gap_problems, "n ≥ k"),
        ("signal_hat", signal_problems, "n ≥ 2k"),
    ):
        for i in np.flatnonzero(counts < P):
            notes.append(
                f"{name} at k={k_arr[i]}: {counts[i]}/{P} problems have {need}"
                + ("; value is NaN" if counts[i] == 0 else "; the others are left out")
            )

    z_hat = np.asarray(zero_signal_hat(n_, c_, G, too_few_samples="nan"))  # (P,)
    z_ok = ~np.isnan(z_hat)
    zero_problems = int(z_ok.sum())
    zero_fraction = float(z_hat[z_ok].mean()) if zero_problems else float("nan")
    if zero_problems < P:
        notes.append(
            f"zero-signal fraction at G={G}: {zero_problems}/{P} problems have n ≥ G"
            + (
                "; no unbiased estimate, see zero_signal_plugin (biased upward)"
                if zero_problems == 0
                else "; the others are left out"
            )
        )
    zero_plugin = float(np.mean(zero_signal_probability(p_hat, G)))

    return TheorySummary(
        n_problems=P,
        ks=k_arr,
        pass1_mean=float(p_hat.mean()),
        alpha_mean=alpha_mean,
        alpha_quantile_levels=levels,
        alpha_quantiles=alpha_q,
        alpha_problems=alpha_problems,
        gap_mean=gap_mean,
        gap_problems=gap_problems,
        signal_total=signal_total,
        signal_problems=signal_problems,
        bucket_cuts=cuts,
        bucket_labels=_bucket_labels(cuts),
        bucket_counts=bucket_counts,
        signal_share=share,
        frac_never_solved=float(np.mean(c_ == 0)),
        frac_always_solved=float(np.mean(c_ == n_)),
        group_size=G,
        zero_signal_fraction=zero_fraction,
        zero_signal_problems=zero_problems,
        zero_signal_plugin=zero_plugin,
        notes=tuple(notes),
    )


# ----------------------------------------------------------------------------
# dataset-level gradients of a shared linear-softmax policy
# ----------------------------------------------------------------------------


def _check_policy_inputs(
    features: object, correct: object, theta: object
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    phi = np.asarray(features, dtype=np.float64)
    if phi.ndim != 3:
        raise ValueError(f"features must have shape (P, M, D), got {phi.shape}")
    P, M, D = phi.shape
    if P == 0 or M == 0:
        raise ValueError(f"features must hold at least one problem and one answer, got shape {phi.shape}")
    if not np.isfinite(phi).all():
        i = int(np.argwhere(~np.isfinite(phi))[0, 0])
        raise ValueError(f"features of problem index {i} are not finite")
    v = np.asarray(correct)
    if v.shape != (P, M):
        raise ValueError(f"correct must have shape (P, M) = {(P, M)}, got {v.shape}")
    if v.dtype != bool:
        bad = ~np.isin(v, (0, 1))
        if bad.any():
            i, a = (int(x) for x in np.argwhere(bad)[0])
            raise ValueError(f"correct must be 0/1: problem index {i}, answer {a} has {v[i, a]!r}")
    v = v.astype(np.float64)
    th = np.asarray(theta, dtype=np.float64)
    if th.shape != (D,):
        raise ValueError(f"theta must have shape (D,) = ({D},), got {th.shape}")
    if not np.isfinite(th).all():
        raise ValueError(f"theta is not finite at index {int(np.flatnonzero(~np.isfinite(th))[0])}")
    return phi, v, th


def linear_softmax_success(features: object, correct: object, theta: object) -> tuple[np.ndarray, np.ndarray]:
    """Success probabilities and their exact gradients under a shared linear-softmax policy.

        z_{x,a} = φ(x, a)·θ,   π(a|x) = softmax_a(z_{x,·}),   p_x = Σ_a π(a|x) V(x, a)
        ∇_θ p_x = Σ_a π(a|x) V(x, a) (φ(x, a) − E_{π(·|x)} φ(x, ·))

    (the softmax score ∇_θ log π(a|x) = φ(x, a) − E_π φ(x, ·), weighted by
    the reward — the REINFORCE identity, Williams 1992).

    Args:
      features: float (P, M, D), φ(x, a) for P problems, M answers each.
      correct: bool or 0/1 (P, M), V(x, a).
      theta: float (D,), shared parameters.

    Returns:
      (p, grad): float64 (P,) and float64 (P, D).
    """
    phi, v, th = _check_policy_inputs(features, correct, theta)
    z = phi @ th  # (P, M)
    # subtract the row max before exp: no overflow for large logits.
    z = z - z.max(axis=1, keepdims=True)
    w = np.exp(z)  # (P, M)
    pi = w / w.sum(axis=1, keepdims=True)  # (P, M)
    p = np.clip((pi * v).sum(axis=1), 0.0, 1.0)  # (P,); clip: the sum can overshoot 1 by an ulp
    mean_phi = np.einsum("pm,pmd->pd", pi, phi)  # (P, D)
    grad = np.einsum("pm,pmd->pd", pi * v, phi) - p[:, None] * mean_phi  # (P, D)
    return p, grad


@overload
def dataset_gradient_cosine(
    features: object,
    correct: object,
    theta: object,
    k: int,
    *,
    weights: object | None = ...,
    return_gradients: Literal[False] = ...,
) -> float: ...


@overload
def dataset_gradient_cosine(
    features: object,
    correct: object,
    theta: object,
    k: int,
    *,
    weights: object | None = ...,
    return_gradients: Literal[True],
) -> tuple[float, np.ndarray, np.ndarray]: ...


def dataset_gradient_cosine(
    features: object,
    correct: object,
    theta: object,
    k: int,
    *,
    weights: object | None = None,
    return_gradients: bool = False,
) -> float | tuple[float, np.ndarray, np.ndarray]:
    """cos(∇_θ J_k, ∇_θ J_1) of a dataset under a shared linear-softmax policy.

        J_k(θ) = Σ_x w_x [1 − (1 − p_x(θ))^k],   ∇_θ J_k = Σ_x w_x α_k(p_x) ∇_θ p_x

    Per problem the two gradients are collinear (Yu 2025, arXiv 2511.16231),
    but the dataset sums are not: α_k up-weights the low-p problems, and
    when their ∇p_x point against the others' the pass@k direction rotates
    away from pass@1 (prompt interference, Barakat et al. 2026,
    arXiv 2602.21189). The cosine is 1 when all problems share one p or all
    ∇p_x are parallel, and can be negative.

    Args:
      features: float (P, M, D), φ(x, a).
      correct: bool or 0/1 (P, M), V(x, a).
      theta: float (D,).
      k: int ≥ 1.
      weights: optional float (P,), non-negative problem weights w_x summing to
        a positive number (normalized here); default uniform 1/P (the mean).
      return_gradients: also return the two gradients.

    Returns:
      cos as a float (NaN when either gradient is zero), or
      (cos, grad_k float64 (D,), grad_1 float64 (D,)) when return_gradients.
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be an int ≥ 1, got {k!r}")
    p, dp = linear_softmax_success(features, correct, theta)  # (P,), (P, D)
    P = p.size
    if weights is None:
        w = np.full(P, 1.0 / P)
    else:
        w = np.asarray(weights, dtype=np.float64)
        if w.shape != (P,):
            raise ValueError(f"weights must have shape (P,) = ({P},), got {w.shape}")
        bad = ~np.isfinite(w) | (w < 0)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"weights must be finite and ≥ 0: problem index {i} has weight {w[i]!r}")
        if w.sum() <= 0:
            raise ValueError("weights sum to zero")
        w = w / w.sum()
    g1 = w @ dp  # (D,)
    gk = (w * np.asarray(alpha(p, int(k)))) @ dp  # (D,)
    n1, nk = float(np.linalg.norm(g1)), float(np.linalg.norm(gk))
    cos = float(gk @ g1 / (nk * n1)) if n1 > 0 and nk > 0 else float("nan")
    if return_gradients:
        return cos, gk, g1
    return cos
