"""Policies of the collapse lab, batched over S seeds: tabular and shared linear softmax.

Both map parameters to logits z (S, P, M) and pull a logit gradient
G = ∂J/∂z (S, P, M) back to the parameters (the chain rule; no autograd).

* :class:`Tabular` — one free logit vector per problem: θ = z (S, P, M). Each
  problem moves with the gradient of its *own* objective, i.e. the ascent
  direction is P·∇_z mean_x J_x (per-problem learning rates; problems never
  interact).
* :class:`LinearSoftmax` — z(x, a) = b(x, a) + φ(x, a)·θ with θ (S, D) shared by
  all problems and b the population's initial logits (kept fixed, so both
  policies start from the same π₀). The ascent direction is the dataset mean
  ∇_θ mean_x J_x = (1/P) Σ_{x,a} φ(x, a) G(x, a): an update driven by one
  problem moves every other problem (prompt interference, Barakat et al. 2026,
  arXiv 2602.21189). φ is seeded N(0, 1/D) per coordinate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Tabular", "LinearSoftmax", "make_policy", "POLICIES"]

POLICIES = ("tabular", "linear")


@dataclass
class Tabular:
    """Tabular softmax. ``base``: float (S, P, M) initial logits."""

    base: np.ndarray

    def init(self) -> np.ndarray:
        """Initial parameters θ₀ = z₀, float64 (S, P, M) (a copy)."""
        return self.base.copy()

    def logits(self, theta: np.ndarray) -> np.ndarray:
        """z = θ, (S, P, M)."""
        return theta

    def pullback(self, g: np.ndarray) -> np.ndarray:
        """Per-problem ascent direction: the logit gradient itself, (S, P, M)."""
        return g

    def dataset_gradient(self, g: np.ndarray) -> np.ndarray:
        """∇_θ of the dataset mean (1/P) Σ_x J_x: G / P, (S, P, M)."""
        return g / g.shape[1]


@dataclass
class LinearSoftmax:
    """Shared linear softmax. ``base``: float (S, P, M); ``features``: float (P, M, D), shared by the seeds."""

    base: np.ndarray
    features: np.ndarray

    def init(self) -> np.ndarray:
        """θ₀ = 0, float64 (S, D)."""
        return np.zeros((self.base.shape[0], self.features.shape[2]), dtype=self.base.dtype)

    def logits(self, theta: np.ndarray) -> np.ndarray:
        """z = b + φ·θ, (S, P, M)."""
        return self.base + np.einsum("pmd,sd->spm", self.features, theta, optimize=True)  # (S, P, M)

    def pullback(self, g: np.ndarray) -> np.ndarray:
        """(1/P) Σ_{x,a} φ(x, a) G(x, a), (S, D)."""
        return np.einsum("spm,pmd->sd", g, self.features, optimize=True) / g.shape[1]  # (S, D)

    def dataset_gradient(self, g: np.ndarray) -> np.ndarray:
        """Same as :meth:`pullback`: the dataset-mean gradient, (S, D)."""
        return self.pullback(g)


def make_policy(kind: str, base: np.ndarray, *, dim: int = 16, seed: int = 0) -> Tabular | LinearSoftmax:
    """Build a policy over initial logits ``base`` float (S, P, M).

    Args:
      kind: "tabular" or "linear".
      base: float (S, P, M).
      dim: feature dimension D of the linear policy.
      seed: feature seed.

    Raises:
      ValueError: unknown kind (lists the valid ones) or dim < 1.
    """
    if kind == "tabular":
        return Tabular(base)
    if kind == "linear":
        if dim < 1:
            raise ValueError(f"feature dimension must be ≥ 1, got {dim}")
        rng = np.random.default_rng(10_000 + seed)
        _, P, M = base.shape
        phi = (rng.standard_normal((P, M, dim)) / np.sqrt(dim)).astype(base.dtype)  # (P, M, D)
        return LinearSoftmax(base, phi)
    raise ValueError(f"unknown policy {kind!r}; valid: {', '.join(POLICIES)} (a small MLP is not implemented)")
