"""Exploration-aware group advantages within one step from likelihood ranks: unlikeliness.
The answer-class estimators are in :mod:`passlens.advantages.coverage` (distinct correct
answers) and :mod:`passlens.advantages.novelty` (a count bonus across steps).

Scale convention (all of ``passlens.advantages``): the group *mean*
(1/n) Σ_i A_i ∇_θ log π(y_i) is the gradient estimate of the target.
"""

from __future__ import annotations

import importlib
import warnings
from typing import Any

import numpy as np

from ._array import as_logprobs, as_rewards, packed_order, require_min_n
from ._parallel import run_row_blocks
from .policy_gradient import norm_params, normalise_
from .registry import DDOF, EPS, Param, register

__all__ = ["unlikeliness"]


# --------------------------------------------------------------------------- ranks


def _rank_factors(x: np.ndarray, fac: np.ndarray) -> np.ndarray:
    """fac[min-rank of x_bi in row b], float64 (B, n), for x float64 (B, n) and a per-rank table fac (n,);
    the min-rank #{j : x_bj < x_bi} is shared by tied values.

    One packed sort per row (:func:`~passlens.advantages._array.packed_order`). Without ties (the
    usual case for log-probabilities, known from the keys alone) the rank of sorted slot j is j:
    the table is scattered as is. With ties, the min-rank of a sorted slot is where its run of
    equal values starts; runs are found on the flat sorted array (every row starts one) and each
    run's value is repeated over its length: a copy-speed ``np.repeat`` of U ≤ B·n run values.
    """
    B, n = x.shape
    packed = packed_order(x, check_distinct=True, transposed=False)
    out = np.empty(B * n)
    if packed is None:
        order = np.argsort(x, axis=1) + np.arange(0, B * n, n)[:, None]
    elif packed[1] or n == 1:
        out[packed[0].reshape(-1)] = np.broadcast_to(fac, (B, n)).ravel()  # (a contiguous source scatters faster)
        return out.reshape(B, n)
    else:
        order = packed[0]
    xs = x.ravel()[order]  # (B, n) each row sorted, but where the packed keys could not tell values apart
    bad = np.less(xs[:, 1:], xs[:, :-1])
    if bad.any():  # rare (values equal but for the keys' low bits): re-sort those rows exactly
        bad = np.flatnonzero(bad.any(axis=1))
        order[bad] = np.argsort(x[bad], axis=1) + (bad * n)[:, None]
        xs[bad] = x.ravel()[order[bad]]
    new = np.empty((B, n), dtype=bool)
    new[:, 0] = True
    np.not_equal(xs[:, 1:], xs[:, :-1], out=new[:, 1:])
    starts = np.flatnonzero(new)  # (U,) flat sorted slot where each run starts
    out[order.reshape(-1)] = np.repeat(fac[starts % n], np.diff(starts, append=B * n))
    return out.reshape(B, n)


@register(
    "unlikeliness",
    inputs=("logprobs",),
    params=(Param("beta", float, 0.25, doc="rank penalty"), EPS, DDOF),
    target="heuristic: GRPO on r·(1 − β·rank/n), favours rarer correct samples", unbiased=False, binary_only=False,
    source="He, Fried & Welleck 2025, arXiv 2506.02355 (form of the released code)",
)
def unlikeliness(
    rewards: object, logprobs: object, *, beta: float = 0.25, eps: float = 1e-6, ddof: int = 1
) -> object:
    """The unlikeliness reward, then GRPO normalisation.

        r̃_i = r_i·(1 − β·rank_i/n),   A = (r̃ − mean r̃)/(std r̃ + ε)

    He, Fried & Welleck 2025, "Rewarding the Unlikely: Lifting GRPO Beyond
    Distribution Sharpening", arXiv 2506.02355; the form above is the one in the
    authors' released code (``_compute_advantages``; released config β = 0.25).
    rank_i is the ascending rank of sample i's sequence log-probability within its
    group (0 = least likely); tied log-probabilities share the lowest rank, so the
    result is permutation-equivariant. Among equally rewarded samples the rarer one
    gets the larger advantage, which counters GRPO's bias toward already-likely
    correct answers. Heuristic: no objective is estimated without bias.

    Args:
      rewards: float (B, n), numpy or torch; n ≥ 2.
      logprobs: float (B, n), log π(y_i) per sample (He et al. use the mean per-token
        log-probability under the sampling policy).
      beta: float ≥ 0, rank penalty.
      eps, ddof: as :func:`~passlens.advantages.grpo`.

    Returns:
      float (B, n), same type, dtype and device as ``rewards``.
    """
    r, restore = as_rewards(rewards)
    require_min_n(r, 2, "unlikeliness")
    lp = as_logprobs(logprobs, r.shape, "unlikeliness")
    b = float(beta)
    if not np.isfinite(b) or b < 0:
        raise ValueError(f"unlikeliness: beta must be a finite float ≥ 0, got {beta!r}")
    e, dd = norm_params(eps, ddof, "unlikeliness")
    B, n = r.shape
    fac = 1.0 - (b / n) * np.arange(n)  # per-rank factor 1 − β·rank/n

    def rows_kernel(rows: slice) -> None:  # groups are independent: blocks of rows run on threads
        shaped = r[rows]
        shaped *= _rank_factors(lp[rows], fac)
        normalise_(shaped, e, dd)

    run_row_blocks(rows_kernel, B, n)
    return restore(r)


_MOVED = ("coverage", "coverage_at_k", "CoverageVariant")


def __getattr__(name: str) -> Any:
    """Deprecated aliases (for one release): the coverage estimators moved to :mod:`passlens.advantages.coverage`."""
    if name in _MOVED:
        warnings.warn(f"passlens.advantages.exploration.{name} moved to passlens.advantages.coverage.{name}",
                      DeprecationWarning, stacklevel=2)
        # (by module path: the package's attribute "coverage" is the function)
        return getattr(importlib.import_module(__name__.rpartition(".")[0] + ".coverage"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
