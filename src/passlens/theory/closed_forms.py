"""The pass@k gradient in closed form, as functions of a problem's success probability p.

Per problem x, let p = J_1(x) be the policy's probability of a correct answer.
Under i.i.d. sampling (Yu 2025, "Pass@k Metric for RLVR: A Diagnostic Tool of
Exploration, But Not an Objective", arXiv 2511.16231):

    J_k(p) = 1 − (1 − p)^k                       pass@k of the policy
    ∇J_k   = α_k(p) ∇J_1,  α_k(p) = k (1 − p)^{k−1}  ∈ [0, k]

so per problem the pass@k gradient is the pass@1 gradient times a positive
weight that vanishes as p → 1. :func:`alpha`, :func:`pass_at_k_of_p`,
:func:`gap`, :func:`gap_argmax`, :func:`zero_signal_probability`, :func:`signal`.

Conventions: ``p`` is a float array of any shape S with entries in [0, 1] (values
within 1e-12 outside it are taken as rounding and clipped); ``k`` is an int (result
shape S) or a 1-D int array (K,) (result shape S + (K,), an outer table, as in
:func:`passlens.estimators.pass_at_k`). A 0-d result comes back as a numpy float.
"""

from __future__ import annotations

from typing import Any, Sequence, overload

import numpy as np

from .._validate import as_budgets

__all__ = ["alpha", "pass_at_k_of_p", "gap", "gap_argmax", "zero_signal_probability", "signal"]


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


def _budget_axis(k: object, name: str = "k") -> tuple[np.ndarray, bool]:
    """Budgets as float64 (K,) for broadcasting against p[..., None], plus whether k was a scalar."""
    ks, scalar_k = as_budgets(k, name)
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
    with np.errstate(invalid="ignore"):  # k = 1: log 1 / 0 = 0/0 (no other k divides by 0)
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
