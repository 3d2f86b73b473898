"""The RL loop's loss terms against the obvious per-token loops."""

from __future__ import annotations

import math

import torch

from passlens.rl.losses import clipped_policy_loss, k3_kl, mean_token_entropy


def _batch(seed: int = 0) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    N, M = 5, 7
    new = -torch.rand(N, M, generator=g, dtype=torch.float64) * 3
    old = new + 0.3 * torch.randn(N, M, generator=g, dtype=torch.float64)
    A = torch.randn(N, generator=g, dtype=torch.float64)
    lengths = torch.randint(1, M + 1, (N,), generator=g)
    mask = (torch.arange(M)[None, :] < lengths[:, None]).to(torch.float64)
    return new, old, A, mask


def test_clipped_loss_equals_the_token_loop() -> None:
    new, old, A, mask = _batch()
    eps = 0.2
    loss, ratio = clipped_policy_loss(new, old, A, mask, eps)
    ref = 0.0
    for i in range(new.shape[0]):
        for t in range(new.shape[1]):
            if mask[i, t]:
                rho = math.exp(float(new[i, t] - old[i, t]))
                ref += min(rho * float(A[i]), min(max(rho, 1 - eps), 1 + eps) * float(A[i]))
    assert abs(float(loss) - (-ref / new.shape[0])) < 1e-12
    assert torch.allclose(ratio, torch.exp(new - old))


def test_at_ratio_one_the_gradient_is_reinforce() -> None:
    new, _, A, mask = _batch(seed=1)
    logits = new.clone().requires_grad_(True)
    loss, _ = clipped_policy_loss(logits, new.detach(), A, mask, 0.2)
    loss.backward()
    # ∂L/∂log π(y_it) = −A_i · mask_it / N: the sequence-level mean of A_i ∇log π(y_i)
    assert torch.allclose(logits.grad, -A[:, None] * mask / new.shape[0])


def test_k3_kl_is_zero_at_equality_and_positive_otherwise() -> None:
    new, old, _, mask = _batch(seed=2)
    assert float(k3_kl(new, new, mask)) == 0.0
    kl = float(k3_kl(old, new, mask))
    r = (old - new) * mask
    assert kl > 0 and abs(kl - float(((torch.exp(r) - r - 1) * mask).sum()) / new.shape[0]) < 1e-12


def test_mean_token_entropy() -> None:
    _, _, _, mask = _batch(seed=3)
    ent = torch.rand(mask.shape, dtype=torch.float64) * mask
    assert float(mean_token_entropy(ent, mask)) == float(ent.sum() / mask.sum())
    assert float(mean_token_entropy(torch.zeros(2, 3), torch.zeros(2, 3))) == 0.0  # no tokens: no division by 0
