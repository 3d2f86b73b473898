"""Pass@k / max@k group advantages: PKPO, Chen et al.'s analytic advantage, α-RLOO,
and the k = n best-minus-second estimator.

Scale convention (all of ``passlens.advantages``): the group *mean*
(1/n) Σ_i A_i ∇_θ log π(y_i) is the gradient estimate of the target. PKPO's
published weights s_i are *summed* (Σ_i s_i ∇ log π(y_i) estimates ∇ pass@k), so
here A_i = n·s_i.

Notation: a group has n samples with rewards g_i (c correct when binary); sorted
ascending g_(1) ≤ … ≤ g_(n); R(N, m, κ) = C(N − m, κ)/C(N, κ) is the chance that
κ of N items miss all m marked ones, ρ(n, c, k) = 1 − R(n, c, k) is the unbiased
pass@k (Chen et al. 2021, Eq. 1) and ρ^(g)(n, k) the unbiased max@k (PKPO Eq. 12).
"""

from __future__ import annotations

import functools

from typing import Literal

import numpy as np

from ._array import as_rewards, check_k, cumsum_down, require_binary, require_min_n, sort_cols
from ._parallel import run_row_blocks
from ._tables import avoid_table, rank_weights
from .registry import EPS, K, Param, register

__all__ = ["pkpo", "passk_analytic", "alpha_rloo", "best_minus_second", "PKPOVariant"]

PKPOVariant = Literal["s", "loo", "loo-1"]
_VARIANTS = ("s", "loo", "loo-1")


def _is_binary(r: np.ndarray) -> bool:
    head = r.ravel()[:64]  # continuous rewards almost always fail here: skip the full pass
    if not ((head == 0.0) | (head == 1.0)).all():
        return False
    return bool(((r == 0.0) | (r == 1.0)).all())


def _check_variant(variant: object, k: int, n: int) -> str:
    if variant not in _VARIANTS:
        raise ValueError(f"pkpo: variant must be one of {', '.join(_VARIANTS)}; got {variant!r}")
    if variant == "loo" and k >= n:
        raise ValueError(f"pkpo: variant 'loo' needs n > k (its baseline uses k of the other n − 1), got n={n}, k={k}")
    if variant == "loo-1" and k < 2:
        raise ValueError("pkpo: variant 'loo-1' needs k ≥ 2 (its baseline uses k − 1 samples); for k = 1 use 'loo' or rloo")
    return str(variant)


@register(
    "pkpo",
    params=(K, Param("variant", str, "loo-1", _VARIANTS, "s (Eq. 18–21), loo (Eq. 29), loo-1 (Eq. 33–34)")),
    target="max@k = E[max of k rewards] (pass@k on binary rewards)", unbiased=True, binary_only=False,
    source="Walder & Karkhanis 2025, arXiv 2505.15201, Eqs. 8, 18–21, 29, 33–34",
    zero_on_identical=lambda p: p["variant"] == "loo-1",
)
def pkpo(rewards: object, k: int, *, variant: PKPOVariant = "loo-1") -> object:
    """Pass@k policy optimisation (PKPO) advantages, binary or continuous rewards.

    Walder & Karkhanis 2025, "Pass@K Policy Optimization", arXiv 2505.15201.
    Each variant is an unbiased gradient estimator of max@k = E[max of k rewards]
    (pass@k on {0, 1} rewards): E[(1/n) Σ_i A_i ∇ log π(y_i)] = ∇ max@k.

    * ``"s"`` (Eqs. 18–21, 27): s_i = C(n,k)⁻¹ Σ_{|I|=k, I∋i} max_{j∈I} g_j, i.e. for
      sorted ranks s_(i) = w_i g_(i) + Σ_{j>i} u_j g_(j) with w_j = C(j−1, k−1)/C(n, k)
      and u_j = C(j−2, k−2)/C(n, k). Binary (Eq. 8): A = k for correct samples and
      k·ρ(n − 1, c, k − 1) for incorrect ones (never negative).
    * ``"loo"`` (Eq. 29): s_i − (1/(n−1)) Σ_{j≠i} S(j, k, [n]∖i) = s_i − k/(n−1)·ρ^(g)([n]∖i, k),
      a baseline from the other n − 1 samples. Needs n > k.
    * ``"loo-1"`` (Eqs. 33–34, the estimator of PKPO's LLM runs):
      C(n,k)⁻¹ Σ_{|I|=k, I∋i} (max_I g − max_{I∖i} g) = s_i − (k/n)·ρ^(g)([n]∖i, k − 1).
      Computed as s^(loo−1)_(i) = Σ_{l<i} w_{l+1}·(g_(l+1) − g_(l)) (non-negative terms:
      ties and constant groups give exactly 0). Binary: A = k·R(n − 1, c − 1, k − 1)
      = n·C(n − c, k − 1)/C(n, k) for correct samples and 0 for incorrect ones.
      Needs k ≥ 2. With k = n it is :func:`best_minus_second`.

    Returned A_i = n·s_i (scale convention). Binary {0, 1} batches use the closed
    forms above (O(B·n)); other rewards sort each group (O(B·n log n)).

    Args:
      rewards: float (B, n), numpy or torch; any finite rewards.
      k: int, 1 ≤ k ≤ n.
      variant: "s", "loo" or "loo-1".

    Returns:
      float (B, n), same type, dtype and device as ``rewards``.
    """
    r, restore = as_rewards(rewards)
    n = r.shape[1]
    k = check_k(k, n, "pkpo")
    v = _check_variant(variant, k, n)
    # r is as_rewards' private copy, so both paths may overwrite it.
    out = _pkpo_binary(r, k, v, inplace=True) if _is_binary(r) else _pkpo_sorted(r, k, v, inplace=True)
    return restore(out)


def _spread(r: np.ndarray, pos: np.ndarray, neg: np.ndarray, inplace: bool) -> np.ndarray:
    """pos where r = 1, neg where r = 0, for {0, 1} r (B, n) and per-group pos, neg (B, 1).

    Written as neg + r·(pos − neg), in place on r when the caller owns it: no mask and
    no ``where`` temporaries (on a VM each fresh 2 MiB array costs first-touch page
    faults comparable to the arithmetic).
    """
    out = np.multiply(r, pos - neg, out=r if inplace else None)
    out += neg
    return out


def _count_correct(r: np.ndarray) -> np.ndarray:
    """c per group, int64 (B, 1), for {0, 1} rewards (a float sum of 0/1 is exact below 2⁵³)."""
    return r.sum(axis=1, keepdims=True).astype(np.int64)


def _pkpo_binary(r: np.ndarray, k: int, variant: str, inplace: bool = False) -> np.ndarray:
    """Closed-form PKPO advantages for {0, 1} rewards, float64 (B, n).

    Every weight depends only on (c, r_i), so two per-group values (B, 1) are
    computed and spread over the group (overwriting r when ``inplace``).
    """
    n = r.shape[1]
    c = _count_correct(r)  # (B, 1)
    miss = avoid_table(n - 1, k - 1)  # R(n−1, m, k−1), m = 0..n−1
    c_lo = np.maximum(c - 1, 0)  # other correct samples seen by a correct one (clipped where c = 0)
    c_hi = np.minimum(c, n - 1)  # … seen by an incorrect one (clipped where c = n)
    if variant == "loo-1":
        # R(n−1, c−1, k−1): the other k−1 of a subset miss the c−1 other correct samples.
        return np.multiply(r, k * miss[c_lo], out=r if inplace else None)
    pos, neg = np.full(c.shape, float(k)), k * (1.0 - miss[c_hi])  # Eq. 8 (×n)
    if variant == "loo":
        # ρ([n]∖i, k) = 1 − R(n−1, c − r_i, k) from the other n − 1 samples.
        others = avoid_table(n - 1, k)
        scale = n * k / (n - 1)
        pos = pos - scale * (1.0 - others[c_lo])
        neg = neg - scale * (1.0 - others[c_hi])
    return _spread(r, pos, neg, inplace)


def _pkpo_sorted(r: np.ndarray, k: int, variant: str, inplace: bool = False) -> np.ndarray:
    """PKPO advantages for any real rewards via one sort per group, float64 (B, n) (in r's buffer when ``inplace``).

    Ties may be ranked either way: each subset's maximum is the same value, so the
    subset sums (and hence the weights) do not depend on how ties are broken. Groups
    are independent, so blocks of rows run on threads (``run_row_blocks``; results do
    not depend on the blocks).
    """
    if not inplace:
        r = np.array(r, dtype=np.float64, order="C")
    B, n = r.shape
    run_row_blocks(lambda rows: _pkpo_sorted_rows(r[rows], k, variant), B, n)
    return r


def _pkpo_sorted_rows(r: np.ndarray, k: int, variant: str) -> None:
    """:func:`_pkpo_sorted` on a C-contiguous block of rows r (b, n), in place (``r.ravel()`` must be a view).

    The sorted groups are laid out transposed, gt (n, b) with gt[j] the (j+1)-th
    smallest reward of every group (``sort_cols``): each running sum over ranks is then
    n − 1 contiguous vector adds (``cumsum_down``, the same additions in the same order
    as a per-row cumsum). Once the rewards are gathered into gt, r's buffer is scratch
    space; the result is built in gt's buffer and scattered back into r. Few buffers
    matter: the whole computation is bound by memory traffic, not arithmetic.
    """
    b, n = r.shape
    flat_t, gt = sort_cols(r)  # gt (n, b), columns ascending
    w = rank_weights(n, k)  # (n,) w_j = C(j−1, k−1)/C(n, k)
    scratch = r.reshape(n, b)  # r's values now live in gt
    if variant == "loo-1":
        # In place on gt: numpy reads the overlapping gt[:-1] from a temporary copy.
        np.subtract(gt[1:], gt[:-1], out=gt[1:])  # g_(l+1) − g_(l) ≥ 0
        gt[0] = 0.0
        gt[1:] *= (n * w[1:])[:, None]
        # Telescoped Σ_{l<i} w_{l+1}(g_(l+1) − g_(l)): non-negative terms, no cancellation.
        cumsum_down(gt[1:])
        r.ravel()[flat_t] = gt
        return
    # + n·Σ_{j>i} u_j g_(j), u_j = C(j−2, k−2)/C(n, k) (1-based ranks) = (k/n)·ω^(n−1, k−1)_{j−1};
    # for loo, minus the part of the others' baseline above rank i, Σ_{j>i} a_{j−1} g_(j): one suffix sum
    # of the merged weights u_j − a_{j−1} (see _loo_suffix_weights) instead of two.
    suffix = _loo_suffix_weights(n, k) if variant == "loo" else _s_suffix_weights(n, k)
    if suffix is not None:
        np.multiply(gt, suffix[:, None], out=scratch)
        cumsum_down(scratch[::-1])  # suffix sums Σ_{j≥i}
    below = None
    if variant == "loo":
        a = ((n * k / (n - 1)) * rank_weights(n - 1, k))[:, None]  # weights of the n−1 others, scaled
        # ρ^(g)([n]∖i, k), part below rank i: those ranks l keep their rank among the others.
        below = np.multiply(gt[:-1], a)
        cumsum_down(below)
    at = gt  # the sorted rewards are no longer needed: build the result in their buffer
    at *= (n * w)[:, None]  # n·w_i·g_(i)
    if suffix is not None:
        at[:-1] += scratch[1:]
    if below is not None:
        at[1:] -= below
    r.ravel()[flat_t] = at


@functools.lru_cache(maxsize=64)
def _s_suffix_weights(n: int, k: int) -> np.ndarray | None:
    """u (n,) with u_0 = 0 and u_j = k·ω^(n−1, k−1)_{j−1} = n·C(j−1, k−2)/C(n, k) (0-based j), or None for k = 1."""
    if k < 2:
        return None
    u = np.zeros(n)
    u[1:] = k * rank_weights(n - 1, k - 1)
    u.flags.writeable = False
    return u


@functools.lru_cache(maxsize=64)
def _loo_suffix_weights(n: int, k: int) -> np.ndarray:
    """m (n,), m_0 = 0, m_j = u_j − a_{j−1}: the suffix weights of variant loo (0-based ranks j).

    u_j = k·C(j−1, k−2)/C(n−1, k−1) (the s term above) and a_{j−1} = (nk/(n−1))·C(j−1, k−1)/C(n−1, k)
    (the others' max@k weight of rank j − 1). With C(n−1, k) = C(n−1, k−1)(n−k)/k and
    C(j−1, k−1) = C(j−1, k−2)(j−k+1)/(k−1):

        m_j = u_j · [(n−1)(n−k)(k−1) − nk(j−k+1)] / [(n−1)(n−k)(k−1)]      (k ≥ 2)

    The bracket is a ratio of exact integers, so m_j is u_j to a few ulps even where u_j and
    a_{j−1} nearly cancel (subtracting the two floats would lose those digits). k = 1: m_j = −a_{j−1}.
    """
    m = np.zeros(n)
    if k == 1:
        m[1:] = -(n / (n - 1)) * rank_weights(n - 1, 1)
    else:
        den = (n - 1) * (n - k) * (k - 1)
        # Python ints divide with one correct rounding, at any size
        bracket = np.array([(den - n * k * (j - k + 1)) / den for j in range(1, n)])
        u = _s_suffix_weights(n, k)
        assert u is not None  # k ≥ 2 here
        m[1:] = u[1:] * bracket
    m.flags.writeable = False
    return m


@register(
    "passk_analytic", params=(K, EPS), target="biased: GRPO on the pass@k reward, ((n/k)·r^PKPO − ρ)/σ",
    unbiased=False, binary_only=True, source="Chen et al. 2025, arXiv 2508.10751, Eqs. 11–15",
)
def passk_analytic(rewards: object, k: int, *, eps: float = 1e-6) -> object:
    """Chen et al.'s analytic pass@k advantage (GRPO applied to the pass@k reward).

    Chen et al. 2025, "Pass@k Training for Adaptively Balancing Exploration and
    Exploitation of LRMs", arXiv 2508.10751, Eqs. 11–15 (the limit over all C(n, k)
    groups of size k of their group-max reward, normalised as in GRPO):

        R̄ = ρ(n, c, k),  σ = √(R̄(1 − R̄))
        A_pos = (1 − R̄)/(σ + ε),  A_neg = (1 − R̄ − C(n−c−1, k−1)/C(n−1, k−1))/(σ + ε)

    Equivalently A_i = ((n/k)·r_i^PKPO − ρ(n, c, k))/(σ + ε), with r^PKPO PKPO's Eq. 8
    reward (= ``pkpo(variant="s")/n``), and Σ_i A_i = 0 (anchor A9). It is *biased*:
    the std division reweights groups like GRPO does (implied weight
    ω(ρ̂) = A_pos/(1 − ρ̂) instead of k(1 − ρ)^{k−1}). Groups with R̄ ∈ {0, 1} get 0.
    ε = 1e-6 matches the authors' code.

    Args:
      rewards: float (B, n) with values in {0, 1}, numpy or torch.
      k: int, 1 ≤ k ≤ n.
      eps: float ≥ 0 added to σ.

    Returns:
      float (B, n), same type, dtype and device.
    """
    r, restore = as_rewards(rewards)
    n = r.shape[1]
    k = check_k(k, n, "passk_analytic")
    require_binary(r, "passk_analytic")
    e = float(eps)
    if not np.isfinite(e) or e < 0:
        raise ValueError(f"passk_analytic: eps must be a finite float ≥ 0, got {eps!r}")
    c = _count_correct(r)  # (B, 1)
    rho = 1.0 - avoid_table(n, k)[c]  # (B, 1)
    den = np.sqrt(rho * (1.0 - rho)) + e
    # Incorrect samples: 1 − R̄ − R(n−1, c, k−1); the index is clipped where c = n (no incorrect sample).
    pos = 1.0 - rho
    neg = pos - avoid_table(n - 1, k - 1)[np.minimum(c, n - 1)]
    ok = den > 0  # R̄ ∈ {0, 1} with ε = 0: no signal, A = 0
    inv = np.divide(1.0, den, out=np.zeros_like(den), where=ok)
    return restore(_spread(r, pos * inv, neg * inv, inplace=True))


@register(
    "alpha_rloo", params=(K,), target="pass@k = 1 − (1 − p)^k", unbiased=True, binary_only=True,
    source="Yu 2025, arXiv 2511.16231 (∇pass@k = k(1−p)^{k−1}∇p), made unbiased with leave-one-out α̂",
)
def alpha_rloo(rewards: object, k: int) -> object:
    """α-weighted RLOO: the pass@k gradient as a reweighted pass@1 gradient, unbiased.

    ∇ pass@k = k(1 − p)^{k−1} ∇p (Yu 2025, arXiv 2511.16231; Mahdavi et al. 2025).
    Replace both factors by estimates from *disjoint information*: the weight from the
    other n − 1 samples only and the RLOO term for sample i,

        α̂_{−i} = k·C(n − 1 − c_{−i}, k − 1)/C(n − 1, k − 1) = k·R(n − 1, c_{−i}, k − 1)
        A_i = α̂_{−i} · (r_i − c_{−i}/(n − 1)),    c_{−i} = c − r_i.

    Unbiased: α̂_{−i} is the U-statistic for k(1 − p)^{k−1} from n − 1 draws, and both
    α̂_{−i} and the baseline c_{−i}/(n−1) are functions of y_{−i}, independent of y_i, so
    E[A_i ∇ log π(y_i)] = E[α̂_{−i}]·E[r_i ∇ log π(y_i)] − E[α̂_{−i} c_{−i}/(n−1)]·E[∇ log π(y_i)]
    = k(1 − p)^{k−1}·∇p − 0 = ∇ pass@k. Correct samples get α̂_{−i}(1 − (c−1)/(n−1))
    ≥ 0, incorrect ones −α̂_{−i}·c/(n−1) ≤ 0; without the baseline term it is PKPO's
    binary s^(loo−1). k = 1 gives RLOO.

    Args:
      rewards: float (B, n) with values in {0, 1}, numpy or torch; n ≥ 2.
      k: int, 1 ≤ k ≤ n.

    Returns:
      float (B, n), same type, dtype and device.
    """
    r, restore = as_rewards(rewards)
    require_min_n(r, 2, "alpha_rloo")
    n = r.shape[1]
    k = check_k(k, n, "alpha_rloo")
    require_binary(r, "alpha_rloo")
    c = _count_correct(r)  # (B, 1)
    alpha = k * avoid_table(n - 1, k - 1)
    c_lo, c_hi = np.maximum(c - 1, 0), np.minimum(c, n - 1)  # c_{−i} for correct / incorrect i
    pos = alpha[c_lo] * (1.0 - c_lo / (n - 1))  # α̂_{−i}(1 − (c − 1)/(n − 1))
    neg = -alpha[c_hi] * (c_hi / (n - 1))  # −α̂_{−i}·c/(n − 1)
    return restore(_spread(r, pos, neg, inplace=True))


@register(
    "best_minus_second", target="max@n (pass@n on binary rewards)", unbiased=True, binary_only=False,
    source="Tang et al. 2025, arXiv 2503.19595; = PKPO s^(loo−1) with k = n",
)
def best_minus_second(rewards: object) -> object:
    """k = n pass@k / max@k advantage: only the best sample moves.

        A_i = n·(g_(n) − g_(n−1)) for one sample i attaining the maximum, 0 for the others

    Tang, Zheng, Synnaeve & Munos 2025, arXiv 2503.19595 (verl's ``grpo_passk``,
    which returns A/n and by default also divides by the group std). It is PKPO's
    s^(loo−1) with k = n, hence unbiased for ∇ max@n (∇ pass@n on binary rewards).
    A tie for the maximum gives every sample 0, so the choice of the tied sample
    does not matter.

    Args:
      rewards: float (B, n), numpy or torch; n ≥ 2.

    Returns:
      float (B, n), same type, dtype and device.
    """
    r, restore = as_rewards(rewards)
    require_min_n(r, 2, "best_minus_second")
    B, n = r.shape
    rows = np.arange(B)
    best = np.argmax(r, axis=1)  # (B,)
    top = r[rows, best]
    # r is as_rewards' private copy: reuse it (mask the best, read the second, then overwrite).
    r[rows, best] = -np.inf
    gap = n * (top - r.max(axis=1))
    r.fill(0.0)
    r[rows, best] = gap
    return restore(r)
