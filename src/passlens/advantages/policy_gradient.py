"""Pass@1 group advantages: RLOO, GRPO, Dr. GRPO.

Scale convention (all of ``passlens.advantages``): the group *mean*
(1/n) Σ_i A_i ∇_θ log π(y_i) is the gradient estimate of the estimator's target.

With binary rewards and ρ̂ = c/n, each of these is ω(ρ̂)·(r_i − ρ̂) up to a constant,
and ω is the derivative of the surrogate the update ascends in expectation
(Thrampoulidis, Mahdavi & Deng 2025, arXiv 2510.23049; Davis & Recht 2025,
arXiv 2510.13651): ω = 1 (pass@1 itself) for RLOO and Dr. GRPO, and
ω = 1/√(ρ̂(1 − ρ̂)) = F'(ρ̂) with F(ρ) = 2·arcsin√ρ for GRPO.
"""

from __future__ import annotations

import numpy as np

from ._array import as_rewards, require_min_n
from .registry import DDOF, EPS, register

__all__ = ["rloo", "grpo", "dr_grpo"]


def centre_(r: np.ndarray) -> np.ndarray:
    """r − mean(r) per row of float64 (B, n), *in place* (callers pass arrays they own)."""
    # Shift by the first sample before averaging: a constant group gives exactly 0,
    # not rounding noise that GRPO's 1/(std + ε) would blow up by 10⁶.
    r -= r[:, :1].copy()
    # Row sums by einsum: ~2.5× faster than r.mean(axis=1) over many short rows (same sum up to rounding).
    r -= (np.einsum("ij->i", r) / r.shape[1])[:, None]
    return r


@register(
    "rloo", target="E[r] (pass@1 on binary rewards)", unbiased=True, binary_only=False,
    source="Kool et al. 2019; Ahmadian et al. 2024, arXiv 2402.14740 (RLOO)",
)
def rloo(rewards: object) -> object:
    """REINFORCE leave-one-out: each sample's reward minus the mean of the others.

        A_i = r_i − (1/(n − 1)) Σ_{j≠i} r_j  =  n/(n − 1) · (r_i − r̄)

    The baseline does not depend on y_i, so (1/n) Σ_i A_i ∇ log π(y_i) is unbiased
    for ∇ E[r] (= ∇ pass@1 on binary rewards). Kool et al. 2019, "Buy 4 REINFORCE
    samples, get a baseline for free!"; Ahmadian et al. 2024, arXiv 2402.14740
    (the RLOO estimator).

    Args:
      rewards: float (B, n), numpy or torch; n ≥ 2.

    Returns:
      float (B, n), same type, dtype and device as ``rewards``; rows sum to 0.
    """
    r, restore = as_rewards(rewards)
    require_min_n(r, 2, "rloo")
    return restore(rloo_(r))  # r is as_rewards' private copy: work in place (no fresh 2 MB temporaries)


def rloo_(r: np.ndarray) -> np.ndarray:
    """RLOO advantages n/(n − 1)·(r − r̄) per row of float64 (B, n), n ≥ 2, *in place* (callers pass arrays they own)."""
    n = r.shape[1]
    centre_(r)
    r *= n / (n - 1)
    return r


@register(
    "grpo", params=(EPS, DDOF), target="biased: ascends the surrogate 2·arcsin√p (binary rewards)",
    unbiased=False, binary_only=False,
    source="Shao et al. 2024, arXiv 2402.03300 (GRPO); surrogate: Thrampoulidis et al. 2025, arXiv 2510.23049",
)
def grpo(rewards: object, *, eps: float = 1e-6, ddof: int = 1) -> object:
    """GRPO: the group-normalised reward.

        A_i = (r_i − r̄) / (std(r) + ε),   std with ``ddof`` (1 = torch.std, as in verl/TRL)

    Shao et al. 2024, DeepSeekMath, arXiv 2402.03300 (GRPO with outcome supervision).
    Biased for every target: on binary rewards with ddof = 0, ε = 0 it equals
    F'(ρ̂)·(r_i − ρ̂) with F(ρ) = 2·arcsin√ρ, so in expectation it ascends the
    surrogate 2·arcsin√ρ rather than ρ (Thrampoulidis et al. 2025, arXiv 2510.23049;
    Davis & Recht 2025, arXiv 2510.13651); ddof = 1 multiplies A by √((n − 1)/n).
    Constant groups get A = 0.

    Args:
      rewards: float (B, n), numpy or torch; n ≥ 2.
      eps: float ≥ 0 added to the std.
      ddof: 0 (population std) or 1 (sample std, the torch default).

    Returns:
      float (B, n), same type, dtype and device; rows sum to 0.
    """
    r, restore = as_rewards(rewards)
    require_min_n(r, 2, "grpo")
    return restore(group_normalise(r, eps=eps, ddof=ddof, who="grpo"))


@register(
    "dr_grpo", target="(n−1)/n · ∇E[r] (pass@1 shrunk by (n−1)/n)", unbiased=False, binary_only=False,
    source="Liu et al. 2025, arXiv 2503.20783 (Dr. GRPO)",
)
def dr_grpo(rewards: object) -> object:
    """Dr. GRPO: the group-mean-centred reward, without GRPO's std division.

        A_i = r_i − r̄,   r̄ = (1/n) Σ_j r_j

    Liu et al. 2025, "Understanding R1-Zero-Like Training: A Critical Perspective",
    arXiv 2503.20783 (Dr. GRPO's outcome advantage: GRPO without the std division). Because r̄ contains r_i itself,
    E[(1/n) Σ_i A_i ∇ log π(y_i)] = (n − 1)/n · ∇ E[r]: biased low by exactly the
    factor (n − 1)/n (A = (n − 1)/n · A^RLOO).

    Args:
      rewards: float (B, n), numpy or torch; n ≥ 2.

    Returns:
      float (B, n), same type, dtype and device; rows sum to 0.
    """
    r, restore = as_rewards(rewards)
    require_min_n(r, 2, "dr_grpo")
    return restore(centre_(r))


def group_normalise(r: np.ndarray, *, eps: object, ddof: object, who: str) -> np.ndarray:
    """(r − r̄)/(std(r) + ε) per row of float64 (B, n), in place; rows with std + ε = 0 give 0."""
    e, dd = norm_params(eps, ddof, who)
    return normalise_(r, e, dd)


def norm_params(eps: object, ddof: object, who: str) -> tuple[float, int]:
    """Validated (ε, ddof) of a group normalisation: ε a finite float ≥ 0, ddof 0 or 1."""
    if isinstance(ddof, bool) or ddof not in (0, 1):
        raise ValueError(f"{who}: ddof must be 0 or 1, got {ddof!r}")
    try:
        e = float(eps)  # type: ignore[arg-type]  # any object: TypeError is caught below
    except (TypeError, ValueError):
        raise ValueError(f"{who}: eps must be a float, got {eps!r}") from None
    if not np.isfinite(e) or e < 0:
        raise ValueError(f"{who}: eps must be a finite float ≥ 0, got {eps!r}")
    return e, int(ddof)


def normalise_(r: np.ndarray, e: float, ddof: int) -> np.ndarray:
    """(r − r̄)/(std(r) + e) per row of float64 (B, n), in place, for validated (e, ddof) (see :func:`norm_params`)."""
    d = centre_(r)
    n = d.shape[1]
    den = np.sqrt(np.einsum("ij,ij->i", d, d)[:, None] / (n - ddof)) + e
    # ε = 0 on a constant group would be 0/0; such a row is exactly 0 already (see centre_).
    ok = den > 0
    if ok.all():  # the usual case (ε > 0): a plain divide, ~2× faster than the masked one
        return np.divide(d, den, out=d)
    return np.divide(d, den, out=d, where=ok)
