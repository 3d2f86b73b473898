"""Policies of the collapse lab, batched over S seeds: tabular, shared linear and shared MLP softmax.

All map parameters to logits z (S, P, M) and pull a logit gradient
G = ∂J/∂z (S, P, M) back to the parameters (the chain rule; no autograd).

* :class:`Tabular` — one free logit vector per problem: θ = z (S, P, M). Each
  problem moves with the gradient of its *own* objective, i.e. the ascent
  direction is P·∇_z mean_x J_x (per-problem learning rates; problems never
  interact).
* :class:`LinearSoftmax` — z(x, a) = b(x, a) + φ(x, a)·θ with θ (S, D) shared by
  all problems and b the population's initial logits (kept fixed, so all
  policies start from the same π₀). The ascent direction is the dataset mean
  ∇_θ mean_x J_x = (1/P) Σ_{x,a} φ(x, a) G(x, a): an update driven by one
  problem moves every other problem (prompt interference, Barakat et al. 2026,
  arXiv 2602.21189). φ is seeded N(0, 1/D) per coordinate.
* :class:`MLPSoftmax` — z(x, a) = b(x, a) + w2·tanh(W1 φ(x, a) + c1), one hidden
  layer of width H over the same features φ, parameters shared by all problems
  (one set per seed, stored as a flat vector θ (S, Q), Q = H·D + 2H). w2 starts
  at 0, so it also starts from π₀; its ascent direction is the dataset-mean
  gradient (1/P) Σ_{x,a} G(x, a) ∂z(x, a)/∂θ (chain rule, see :meth:`MLPSoftmax.pullback`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Tabular", "LinearSoftmax", "MLPSoftmax", "make_policy", "POLICIES"]

POLICIES = ("tabular", "linear", "mlp")


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


@dataclass
class MLPSoftmax:
    """Shared one-hidden-layer MLP softmax, per seed s:

        z(x, a) = b(x, a) + w2 · tanh(W1 φ(x, a) + c1)

    ``base``: float (S, P, M) initial logits b, fixed; ``features``: float (P, M, D)
    φ, shared by the seeds (the linear policy's features); ``w1_init``: float
    (S, H, D) the seeded initial W1 of each seed.

    Parameters are one flat vector per seed, θ (S, Q) with Q = H·D + H + H, laid
    out as W1 row-major (H, D), then c1 (H), then w2 (H) (:meth:`unpack` returns
    views). θ₀: W1 = ``w1_init`` (N(0, 1/D)), c1 = 0, w2 = 0, so the MLP output is
    exactly 0 and z = b at θ₀ (every policy starts from the same π₀). At θ₀ the
    gradient w.r.t. W1 and c1 is 0 (it is proportional to w2), but the gradient
    w.r.t. w2 is (1/P) Σ G·tanh(W1 φ) ≠ 0, so learning starts through w2 and then
    reaches the hidden layer.

    Activation cache: :meth:`pullback` receives only G, so :meth:`logits` stores
    ``(θ.copy(), h)`` of its LAST call (a copy: dynamics updates θ in place) and
    :meth:`pullback` / :meth:`dataset_gradient` differentiate at that θ. This is
    correct for :func:`passlens.lab.dynamics.run_objective`, which always computes
    π = softmax(logits(θ)), then pulls back logit gradients of that same π
    (the step's gradient and the logged diagnostics) before θ changes and
    ``logits`` is called again. Pass ``theta=`` to differentiate at another θ.
    """

    base: np.ndarray
    features: np.ndarray
    w1_init: np.ndarray
    _last: tuple[np.ndarray, np.ndarray] | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def hidden(self) -> int:
        """Hidden width H."""
        return self.w1_init.shape[1]

    @property
    def size(self) -> int:
        """Parameters per seed Q = H·D + 2H."""
        H, D = self.w1_init.shape[1:]
        return H * D + 2 * H

    def unpack(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Views (W1 (S, H, D), c1 (S, H), w2 (S, H)) into the flat θ (S, Q)."""
        S = theta.shape[0]
        H, D = self.w1_init.shape[1:]
        return theta[:, : H * D].reshape(S, H, D), theta[:, H * D : H * D + H], theta[:, H * D + H :]

    def init(self) -> np.ndarray:
        """θ₀ = [W1 = w1_init, c1 = 0, w2 = 0], (S, Q) in base's dtype."""
        S = self.base.shape[0]
        theta = np.zeros((S, self.size), dtype=self.base.dtype)
        self.unpack(theta)[0][...] = self.w1_init
        return theta

    def _hidden(self, theta: np.ndarray) -> np.ndarray:
        """h = tanh(W1 φ + c1), (S, P, M, H)."""
        W1, c1, _ = self.unpack(theta)
        P, M, D = self.features.shape
        # one batched matmul (S, P·M, D) @ (S, D, H): several times faster than the einsum's own path
        a = np.matmul(self.features.reshape(P * M, D), W1.transpose(0, 2, 1)).reshape(-1, P, M, W1.shape[1])
        a += c1[:, None, None, :]
        return np.tanh(a, out=a)

    def logits(self, theta: np.ndarray) -> np.ndarray:
        """z = b + Σ_j w2_j h_j with h = tanh(W1 φ + c1), (S, P, M). Caches (θ copy, h) for :meth:`pullback`."""
        h = self._hidden(theta)
        self._last = (theta.copy(), h)
        return self.base + np.einsum("spmh,sh->spm", h, self.unpack(theta)[2], optimize=True)  # (S, P, M)

    def pullback(self, g: np.ndarray, theta: np.ndarray | None = None) -> np.ndarray:
        """(1/P) Σ_{x,a} G(x, a) ∂z(x, a)/∂θ, (S, Q) in the layout of θ.

        With h = tanh(W1 φ + c1) (S, P, M, H) and δ_j = G w2_j (1 − h_j²):

            ∂/∂w2_j = (1/P) Σ_{x,a} G h_j
            ∂/∂c1_j = (1/P) Σ_{x,a} δ_j
            ∂/∂W1_jd = (1/P) Σ_{x,a} δ_j φ_d

        Evaluated at the θ of the last :meth:`logits` call (its cached h), or at
        ``theta`` if given (h recomputed unless it equals the cached θ).

        Raises:
          RuntimeError: no ``theta`` given and :meth:`logits` was never called.
        """
        if theta is None:
            if self._last is None:
                raise RuntimeError("MLPSoftmax.pullback needs the activations of a logits(theta) call (or theta=)")
            theta, h = self._last
        elif self._last is not None and self._last[0].shape == theta.shape and np.array_equal(self._last[0], theta):
            h = self._last[1]
        else:
            h = self._hidden(theta)
        P = g.shape[1]
        w2 = self.unpack(theta)[2]
        S, _, M, H = h.shape
        D = self.features.shape[2]
        # batched matmuls over the flattened (x, a) axis, not einsum (its path here is several times slower)
        g_w2 = np.matmul(g.reshape(S, 1, P * M), h.reshape(S, P * M, H))[:, 0, :] / P  # (S, H)
        delta = g[..., None] * w2[:, None, None, :] * (1.0 - h * h)  # (S, P, M, H)
        g_c1 = delta.sum(axis=(1, 2)) / P  # (S, H)
        g_w1 = np.matmul(delta.reshape(S, P * M, H).transpose(0, 2, 1), self.features.reshape(P * M, D)) / P  # (S, H, D)
        return np.concatenate([g_w1.reshape(g.shape[0], -1), g_c1, g_w2], axis=1)  # (S, Q)

    def dataset_gradient(self, g: np.ndarray) -> np.ndarray:
        """Same as :meth:`pullback`: the dataset-mean gradient, (S, Q)."""
        return self.pullback(g)


def make_policy(
    kind: str, base: np.ndarray, *, dim: int = 16, seed: int = 0, hidden: int = 32
) -> Tabular | LinearSoftmax | MLPSoftmax:
    """Build a policy over initial logits ``base`` float (S, P, M).

    Args:
      kind: "tabular", "linear" or "mlp".
      base: float (S, P, M).
      dim: feature dimension D of the linear and MLP policies.
      seed: feature seed (φ ~ N(0, 1/D) from ``default_rng(10_000 + seed)``; the MLP's
        initial W1 (S, H, D) ~ N(0, 1/D) is drawn next from the same generator).
      hidden: hidden width H of the MLP policy.

    Raises:
      ValueError: unknown kind (lists the valid ones), dim < 1 or hidden < 1.
    """
    if kind == "tabular":
        return Tabular(base)
    if kind in ("linear", "mlp"):
        if dim < 1:
            raise ValueError(f"feature dimension must be ≥ 1, got {dim}")
        if kind == "mlp" and hidden < 1:
            raise ValueError(f"hidden width must be ≥ 1, got {hidden}")
        rng = np.random.default_rng(10_000 + seed)
        S, P, M = base.shape
        phi = (rng.standard_normal((P, M, dim)) / np.sqrt(dim)).astype(base.dtype)  # (P, M, D)
        if kind == "linear":
            return LinearSoftmax(base, phi)
        w1 = (rng.standard_normal((S, hidden, dim)) / np.sqrt(dim)).astype(base.dtype)  # (S, H, D)
        return MLPSoftmax(base, phi, w1)
    raise ValueError(f"unknown policy {kind!r}; valid: {', '.join(POLICIES)}")
