"""coverage@k: the expected number of distinct correct answers among k samples, its unbiased
estimate from a group (:func:`coverage_at_k`) and unbiased policy-gradient advantages (:func:`coverage`).

Scale convention (all of ``passlens.advantages``): the group *mean*
(1/n) Σ_i A_i ∇_θ log π(y_i) is the gradient estimate of the target.

Answer classes: ``answers`` holds an int id per sample (B, n), a canonical form of
the final answer (equal ids = same answer). Ids only need to be comparable
within a group.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from ._array import Restore, as_answers, as_rewards, check_k, require_binary
from ._pairs import distinct_pairs
from ._tables import avoid_table
from .registry import K, Param, register

__all__ = ["coverage", "coverage_at_k", "CoverageVariant"]

CoverageVariant = Literal["rloo", "loo-1", "s"]
_COVERAGE_VARIANTS = ("rloo", "loo-1", "s")


def _coverage_inputs(
    rewards: object, answers: object, k: int, who: str
) -> tuple[Restore, np.ndarray, int, int, int, np.ndarray, np.ndarray, np.ndarray]:
    """Validated inputs, reduced to answer classes: the distinct (group, answer id) pairs
    (:func:`~passlens.advantages._pairs.distinct_pairs`).

    Returns (restore, r, B, n, k, cls, m, group):
      r: float64 (B, n) {0, 1} rewards (a private copy);
      cls: int64 (B, n) class index of every sample;
      m: int64 (U,) correct samples in each class of equal answer ids, i.e. the
        size m_a of the correct class a (wrong samples sharing the id are not in it);
      group: int64 (U,) the group of each class.
    """
    r, restore = as_rewards(rewards)
    B, n = r.shape
    kk = check_k(k, n, who)
    require_binary(r, who)
    a = as_answers(answers, r.shape, who)
    p = distinct_pairs(a)
    # r is exactly 0/1 here, so the weighted bincount counts correct samples exactly.
    m = np.bincount(p.inverse.ravel(), weights=r.ravel(), minlength=p.size.size).astype(np.int64)
    return restore, r, B, n, kk, p.inverse, m, p.row


def _per_group(group: np.ndarray, values: np.ndarray, B: int) -> np.ndarray:
    """Σ of per-class values over each group's classes, float64 (B, 1)."""
    return np.bincount(group, weights=values, minlength=B)[:, None]


def coverage_at_k(rewards: object, answers: object, k: int) -> object:
    """Unbiased coverage@k: expected number of distinct correct answers among k samples.

        coverage@k = Σ_{a correct} [1 − (1 − π(a))^k]
        estimate   = Σ_{a} [1 − C(n − m_a, k)/C(n, k)],   m_a = correct samples with answer a

    Each term is Chen et al.'s (2021, Eq. 1) pass@k estimator for the event
    "y is correct with answer a", unbiased for 1 − (1 − π(a))^k; classes never
    sampled contribute 0 to both sides in expectation. coverage@1 = c/n,
    coverage@k ≤ k, and coverage@k ≥ pass@k with equality when every correct
    sample has the same answer.

    Args:
      rewards: float (B, n) in {0, 1}, numpy or torch.
      answers: int (B, n) answer-class ids.
      k: int, 1 ≤ k ≤ n.

    Returns:
      float (B,), same type, dtype and device as ``rewards``.
    """
    restore, _, B, n, k, _, m, group = _coverage_inputs(rewards, answers, k, "coverage_at_k")
    hit = 1.0 - avoid_table(n, k)  # (n+1,) 1 − R(n, m, k); hit[0] = 0 for classes with no correct sample
    return restore(_per_group(group, hit[m], B)[:, 0])


@register(
    "coverage",
    inputs=("answers",),
    params=(K, Param("variant", str, "rloo", _COVERAGE_VARIANTS, "per-class α-RLOO, PKPO loo-1 or PKPO s")),
    target="coverage@k = Σ_{a correct} [1 − (1 − π(a))^k]", unbiased=True, binary_only=True,
    source="this package (per-class PKPO, Walder & Karkhanis 2025, Eqs. 8, 33)",
    zero_on_identical=lambda p: p["variant"] == "rloo" or (p["variant"] == "loo-1" and p["k"] >= 2),
)
def coverage(rewards: object, answers: object, k: int, *, variant: CoverageVariant = "rloo") -> object:
    """Unbiased policy-gradient advantages for coverage@k (distinct correct answers).

    Target: C_k = Σ_{a ∈ 𝒜⁺} [1 − (1 − π(a))^k] over the correct answer classes 𝒜⁺
    (see :func:`coverage_at_k`). Per class a, C_k's term is pass@k of the event
    E_a = "correct with answer a", with probability q_a = π(a), and its gradient is
    ∇[1 − (1 − q_a)^k] = k(1 − q_a)^{k−1} ∇q_a. With m_a = #samples in E_a,
    m_{a,−i} the count among the other n − 1 samples, and
    α̂(m) = k·C(n − 1 − m, k − 1)/C(n − 1, k − 1) (the unbiased estimate of
    k(1 − q)^{k−1} from n − 1 draws with m hits):

    * ``"rloo"`` (default): per class, α-weighted RLOO (as :func:`alpha_rloo`), summed:
          A_i = Σ_{a∈𝒜⁺} α̂(m_{a,−i})·(1[i ∈ E_a] − m_{a,−i}/(n − 1))
      i.e. a correct sample of class a gets α̂(m_a − 1)(1 − (m_a − 1)/(n − 1)) minus the
      leave-one-out baseline Σ_{b≠a} α̂(m_b) m_b/(n − 1); an incorrect one gets
      −Σ_b α̂(m_b) m_b/(n − 1).
    * ``"loo-1"``: PKPO's binary s^(loo−1) per class: A_i = α̂(m_{a_i} − 1) =
      k·C(n − m_{a_i}, k − 1)/C(n − 1, k − 1) for a correct sample of class a_i, 0 otherwise.
    * ``"s"``: PKPO's binary s per class (Eq. 8): A_i = k·1[i correct] +
      Σ_{a∈𝒜⁺, i∉E_a} k·ρ(n − 1, m_a, k − 1).

    Proof of unbiasedness (all three): for each class a, α̂(m_{a,−i}) and
    m_{a,−i} are functions of y_{−i} only, independent of y_i, and E[α̂(m_{a,−i})]
    = k(1 − q_a)^{k−1} (a U-statistic). Hence
    E[α̂(m_{a,−i})·1[y_i ∈ E_a] ∇ log π(y_i)] = k(1 − q_a)^{k−1} ∇q_a and
    E[α̂·m_{a,−i}/(n−1)·∇ log π(y_i)] = E[α̂ m/(n−1)]·E[∇ log π(y_i)] = 0, so each sample's
    term is unbiased for ∇[1 − (1 − q_a)^k]; the mean over i and the sum over a give
    ∇C_k. "s" and "loo-1" are PKPO's Theorem 2 / Eq. 33 applied to the indicator of
    E_a (unbiased by Walder & Karkhanis 2025, arXiv 2505.15201); classes with m_a = 0
    contribute 0. With one correct class, "rloo" = :func:`alpha_rloo` and "loo-1" =
    ``pkpo(variant="loo-1")``; with k = 1 "rloo" = :func:`rloo`.

    Args:
      rewards: float (B, n) in {0, 1}, numpy or torch (tells which samples are correct).
      answers: int (B, n) answer-class ids (equal id = same answer).
      k: int, 1 ≤ k ≤ n (n ≥ 2 for "rloo").
      variant: "rloo", "loo-1" or "s".

    Returns:
      float (B, n), same type, dtype and device as ``rewards``.

    Cost: O(B·n) with one ``bincount`` when the answer ids of the batch lie in 0 .. 2n − 1
    (else one sort per group, O(B·n log n)), plus O(n·k) for the tables.
    """
    if variant not in _COVERAGE_VARIANTS:
        raise ValueError(f"coverage: variant must be one of {', '.join(_COVERAGE_VARIANTS)}; got {variant!r}")
    restore, r, B, n, k, cls, m, group = _coverage_inputs(rewards, answers, k, "coverage")
    alpha = np.zeros(n + 1)  # α̂(m) for m = 0..n−1; the m = n slot is never used with weight
    alpha[:n] = k * avoid_table(n - 1, k - 1)
    m_others = np.maximum(m - 1, 0)  # m_{a,−i} seen by a correct sample of the class
    # Per-class values, spread to the samples by one gather; multiplying by the {0, 1}
    # reward keeps them for correct samples and gives exactly 0 for wrong ones (the
    # values are finite and ≥ 0), with no mask or ``where`` temporaries.
    if variant == "loo-1":
        out = alpha[m_others][cls]
        out *= r
        return restore(out)
    if variant == "s":
        h = k - alpha  # h(m) = k·ρ(n − 1, m, k − 1) (h(0) = 0); h[n] = k (every draw hits)
        total = _per_group(group, h[m], B)  # Σ_a h(m_a), what an incorrect sample gets
        out = (k - h[m])[cls]  # k for its own class, minus h(m_a) counted in the total
        out *= r
        out += total
        return restore(out)
    if n < 2:
        raise ValueError("coverage (variant 'rloo') needs n ≥ 2 samples per group, got n=1")
    t = alpha * np.arange(n + 1) / (n - 1)  # T(m) = α̂(m)·m/(n − 1), the class baseline
    base = _per_group(group, t[m], B)  # Σ_a T(m_a), the baseline of an incorrect sample
    out = (alpha[m_others] * (1.0 - m_others / (n - 1)) + t[m])[cls]  # own term, own baseline back
    out *= r
    out -= base
    return restore(out)
