"""The policy-gradient loss of the RL loop, as pure functions of log-probabilities and advantages.

Shapes: N sampled sequences of at most M tokens; ``mask`` (N, M) marks the completion's
tokens. Every term is a sum over a sequence's tokens averaged over sequences — the
sequence-level mean (1/N) Σ_i A_i ∇log π(y_i) under which the registry's unbiased
estimators stay unbiased (a per-token mean would reweight sequences by their length).
"""

from __future__ import annotations

import torch

__all__ = ["clipped_policy_loss", "mean_token_entropy", "k3_kl"]


def clipped_policy_loss(new_logp: torch.Tensor, old_logp: torch.Tensor, advantages: torch.Tensor,
                        mask: torch.Tensor, clip_eps: float) -> tuple[torch.Tensor, torch.Tensor]:
    """PPO's clipped surrogate, summed over tokens and averaged over sequences.

        ρ_t = π_θ(y_t | ·) / π_old(y_t | ·),
        L = −(1/N) Σ_i Σ_t min(ρ_t A_i, clip(ρ_t, 1 − ε, 1 + ε) A_i) · mask_it

    (Schulman et al. 2017, arXiv 1707.06347, Eq. 7). On the first epoch ρ = 1 and ∇L is the
    REINFORCE estimate −(1/N) Σ_i A_i ∇log π(y_i).

    Args:
      new_logp, old_logp: float (N, M) per-token log-probabilities under π_θ and π_old.
      advantages: float (N,) one advantage per sequence.
      mask: (N, M) 1 on completion tokens.
      clip_eps: ε ≥ 0.

    Returns:
      (loss scalar, ρ float (N, M)).
    """
    N = new_logp.shape[0]
    ratio = torch.exp(new_logp - old_logp)  # (N, M)
    pg = torch.minimum(ratio * advantages[:, None], ratio.clamp(1 - clip_eps, 1 + clip_eps) * advantages[:, None])
    return -(pg * mask).sum() / N, ratio


def mean_token_entropy(entropy: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Σ entropy / (number of completion tokens, at least 1): the mean entropy per token.

    Args:
      entropy: float (N, M) per-token entropies, zero outside ``mask``.
      mask: (N, M).
    """
    return entropy.sum() / mask.sum().clamp(min=1)


def k3_kl(base_logp: torch.Tensor, new_logp: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """KL(π_θ ‖ π_base) per sequence by Schulman's k3 estimator, averaged over sequences.

        r_t = log π_base(y_t) − log π_θ(y_t),   KL ≈ (1/N) Σ_i Σ_t (e^{r_t} − r_t − 1) · mask_it

    (non-negative and unbiased for the per-token KL; J. Schulman, "Approximating KL
    divergence", 2020).

    Args:
      base_logp, new_logp: float (N, M) per-token log-probabilities.
      mask: (N, M).
    """
    N = new_logp.shape[0]
    r = (base_logp - new_logp) * mask  # (N, M)
    return ((torch.exp(r) - r - 1) * mask).sum() / N
