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

from ._array import as_logprobs, as_rewards, packed_order, repair_rows, require_min_n, sort_rows, unsort_rows
from ._parallel import run_row_blocks
from .policy_gradient import norm_params, normalise_
from .registry import DDOF, EPS, Param, register

__all__ = ["unlikeliness"]


# --------------------------------------------------------------------------- ranks


def _sorted_rank_values(xs: np.ndarray, table: np.ndarray) -> np.ndarray:
    """table[min-rank] for rows sorted ascending, xs (B, n), and a per-rank table (n,): (B, n).

    The min-rank of a slot is the column where its run of equal values starts. Runs are
    found on the flat array (every row starts one, so none spans two rows), and each run's
    value is repeated over its length: a copy-speed ``np.repeat`` of U ≤ B·n run values
    instead of a running maximum over all B·n slots (several times faster when ties are
    common, e.g. repeated completions with equal log-probabilities).
    """
    B, n = xs.shape
    new = np.empty((B, n), dtype=bool)
    new[:, 0] = True
    np.not_equal(xs[:, 1:], xs[:, :-1], out=new[:, 1:])
    starts = np.flatnonzero(new)  # (U,) flat slot where each run starts
    lengths = np.diff(starts, append=B * n)
    return np.repeat(table[starts % n], lengths).reshape(B, n)


def _min_ranks(x: np.ndarray) -> np.ndarray:
    """Ascending rank per row, ties sharing the lowest rank: #{j : x_j < x_i}, int64 (B, n)."""
    order, xs = sort_rows(x)
    return unsort_rows(order, _sorted_rank_values(xs, np.arange(x.shape[1])))


def _rank_factors(x: np.ndarray, fac: np.ndarray) -> np.ndarray:
    """fac[min-rank of x_bi in row b], float64 (B, n), for x (B, n) and a per-rank table fac (n,).

    Equals ``fac[_min_ranks(x)]`` with one sort and one scatter: without ties (the usual
    case for log-probabilities) the rank of sorted slot j is j itself, so the table is
    scattered as is, with no rank array and no gather.
    """
    B, n = x.shape
    packed = packed_order(x, check_distinct=True)
    if packed is None:
        flat, xs = sort_rows(x)
    else:
        order, distinct = packed
        flat = order.ravel()
        if distinct or n == 1:  # strictly ascending rows: sorted, no ties (known from the keys alone)
            # The rank of sorted slot j is j: scatter the table itself (tiled, as a broadcast
            # scatter source is slower than a contiguous one).
            out = np.empty((B, n))
            out.ravel()[flat] = np.broadcast_to(fac, (B, n)).ravel()
            return out
        xs = x.ravel()[flat].reshape(B, n)
        repair_rows(x, order, xs)
    return unsort_rows(flat, _sorted_rank_values(xs, fac))


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
