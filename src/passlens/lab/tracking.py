"""Exact per-step diagnostics of a policy over a population (from π, never from samples).

For each seed s (rows of the output) and the policy π (S, P, M) with mask V:

    pass@1        mean_x p_x,                       p_x = Σ_a π(a|x) V(x, a)
    pass@k        mean_x [1 − (1 − p_x)^k]          (Yu 2025, arXiv 2511.16231, §2)
    gap@k         pass@k − pass@1
    alpha@k       mean_x α_k(p_x),  α_k = k (1 − p)^{k−1}            (ibid., §3)
    signal@k      mean_x k² p_x (1 − p_x)^{2k−1}   (squared Fisher norm of ∇J_k; :func:`passlens.theory.signal`)
    coverage@k    mean_x Σ_a V [1 − (1 − π_a)^k]    (expected distinct correct answers in k draws)
    entropy       mean_x H(π(·|x))                   (nats)
    entropy_correct  mean_x H(π(·|x, correct))       (within the correct set, renormalized)
    distinct_correct mean_x #{a correct: π(a|x) > ε}
    polarized     share of problems with p_x < δ or p_x > 1 − δ

The budgets k come from a grid ``ks``; α, signal and coverage use one reference
budget ``k_ref``.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..theory import alpha, gap, pass_at_k_of_p, signal
from .objectives import correct_entries, row_sums

__all__ = ["track", "success", "entropy", "METRIC_DOCS"]

METRIC_DOCS = {
    "pass@1": "mean success probability",
    "pass@k": "mean 1 − (1 − p)^k",
    "gap@k": "pass@k − pass@1",
    "alpha": "mean α_k(p) at k_ref",
    "signal": "mean k²p(1 − p)^{2k−1} at k_ref",
    "coverage": "mean expected distinct correct answers in k_ref draws",
    "entropy": "mean policy entropy (nats)",
    "entropy_correct": "mean entropy within the correct answers (nats)",
    "distinct_correct": "mean number of correct answers with π > ε",
    "polarized": "share of problems with p < δ or p > 1 − δ",
}


def success(pi: np.ndarray, correct: np.ndarray) -> np.ndarray:
    """p = Σ_a π_a V_a along the last axis, clipped to [0, 1] (the sum can overshoot by an ulp)."""
    return np.clip((pi * correct).sum(axis=-1), 0.0, 1.0)


def _xlogx(x: np.ndarray) -> np.ndarray:
    # where(x > 0): 0·log 0 = 0 without a NaN from log(0).
    return np.where(x > 0, x * np.log(np.where(x > 0, x, 1.0)), 0.0)


def entropy(pi: np.ndarray) -> np.ndarray:
    """H(π) = −Σ π log π along the last axis (nats)."""
    return -_xlogx(pi).sum(axis=-1)


def track(
    pi: np.ndarray,
    correct: np.ndarray,
    ks: Sequence[int],
    k_ref: int,
    *,
    eps: float = 0.05,
    delta: float = 0.01,
) -> dict[str, np.ndarray]:
    """All exact diagnostics for each seed.

    Args:
      pi: float (S, P, M), the policy of each seed.
      correct: bool (S, P, M), V.
      ks: budgets of the pass@k / gap grid (K,).
      k_ref: budget of alpha, signal and coverage.
      eps: ε of distinct_correct.
      delta: δ of polarized.

    Returns:
      dict name → float64 (S,), names: ``pass@1``, ``pass@{k}`` and ``gap@{k}`` for
      k in ks, ``alpha@{k_ref}``, ``signal@{k_ref}``, ``coverage@{k_ref}``,
      ``entropy``, ``entropy_correct``, ``distinct_correct``, ``polarized``.
    """
    if pi.ndim != 3 or correct.shape != pi.shape:
        raise ValueError(f"track: pi and correct must be (S, P, M) of one shape, got {pi.shape} and {correct.shape}")
    ks_arr = np.asarray(list(ks), dtype=np.int64)
    S, P, M = pi.shape
    # V is sparse (a few correct classes per problem): every correct-set metric is a sum over the
    # gathered correct entries, reduced per problem with bincount; only the entropy reads all of π.
    index, row_of = correct_entries(correct)  # (K,), (K,)
    pc = pi.reshape(-1)[index].astype(np.float64)  # (K,) π on the correct entries

    def per_problem(values: np.ndarray) -> np.ndarray:  # (K,) → (S, P), Σ over each problem's correct entries
        return row_sums(row_of, values, (S, P))

    p = np.clip(per_problem(pc), 0.0, 1.0)  # (S, P); the sum can overshoot 1 by an ulp
    out: dict[str, np.ndarray] = {"pass@1": p.mean(axis=1)}
    jk = pass_at_k_of_p(p, ks_arr)  # (S, P, K)
    gk = gap(p, ks_arr)  # (S, P, K)
    for j, k in enumerate(ks_arr.tolist()):
        out[f"pass@{k}"] = jk[..., j].mean(axis=1)
        out[f"gap@{k}"] = gk[..., j].mean(axis=1)
    out[f"alpha@{k_ref}"] = alpha(p, int(k_ref)).mean(axis=1)
    out[f"signal@{k_ref}"] = signal(p, int(k_ref)).mean(axis=1)
    # Σ_{a correct} [1 − (1 − π_a)^k], as −expm1(k·log1p(−π_a)): no cancellation when π_a ≪ 1/k
    with np.errstate(divide="ignore"):
        cov = -np.expm1(int(k_ref) * np.log1p(-np.clip(pc, 0.0, 1.0)))
    out[f"coverage@{k_ref}"] = per_problem(cov).mean(axis=1)
    # log of π floored at the smallest normal: 0·log 0 = 0, no NaN
    tiny = np.finfo(np.float64).tiny
    pl = np.maximum(pi, tiny)
    np.log(pl, out=pl)
    pl *= pi  # (S, P, M) π log π
    out["entropy"] = -pl.sum(axis=-1).mean(axis=1)
    # H within the correct set: H(π_c/p) = log p − (1/p) Σ_{a correct} π_a log π_a.
    with np.errstate(divide="ignore", invalid="ignore"):
        hc = np.log(p) - per_problem(pc * np.log(np.maximum(pc, tiny))) / p
    out["entropy_correct"] = np.where(p > 0, np.maximum(hc, 0.0), 0.0).mean(axis=1)
    out["distinct_correct"] = per_problem((pc > eps).astype(np.float64)).mean(axis=1)
    out["polarized"] = ((p < delta) | (p > 1.0 - delta)).mean(axis=1)
    return out
