"""The dataset-level pass@k gradient of a shared linear-softmax policy (the lab's claim 5).

Per problem ∇pass@k and ∇pass@1 are collinear (Yu 2025, arXiv 2511.16231); summed over a
dataset under shared parameters they are not — prompt interference (Barakat et al. 2026,
arXiv 2602.21189). :func:`linear_softmax_success` and :func:`dataset_gradient_cosine`.
"""

from __future__ import annotations

from typing import Literal, overload

import numpy as np

from ..theory import alpha

__all__ = ["linear_softmax_success", "dataset_gradient_cosine"]


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
