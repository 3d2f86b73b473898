"""Per-n lookup tables of the binomial ratios that every pass@k weight is made of.

All of them come from the project's one combinatorial kernel,
``passlens._combinatorics.log_comb_ratio`` (log[C(N − m, κ)/C(N, κ)] summed in log
space), so no binomial coefficient is ever formed and n = 10⁵ is as safe as n = 8.
The tables depend on (n, k) only, never on the batch: a (B, n) estimator builds
them once in O(n) and then gathers with fancy indexing.
"""

from __future__ import annotations

import functools
from typing import Callable

import numpy as np

from .._combinatorics import log_comb_ratio

__all__ = ["avoid_table", "rank_weights"]


def _frozen(fn: Callable[[int, int], np.ndarray]) -> Callable[[int, int], np.ndarray]:
    """Memoise a table builder on its (int, int) arguments; the cached arrays are read-only."""

    @functools.lru_cache(maxsize=256)
    def cached(a: int, b: int) -> np.ndarray:
        out = fn(a, b)
        out.flags.writeable = False
        return out

    @functools.wraps(fn)
    def wrapper(a: int, b: int) -> np.ndarray:
        return cached(int(a), int(b))

    return wrapper


@_frozen
def avoid_table(N: int, kappa: int) -> np.ndarray:
    """R[m] = C(N − m, κ) / C(N, κ) for m = 0..N: the chance that κ of N items drawn
    without replacement miss all m marked ones.

    Uses the symmetry C(N − m, κ)/C(N, κ) = C(N − κ, m)/C(N, m): the whole table is
    then one row of the kernel (N fixed, κ marked, budgets m = 1..N), O(N) work
    instead of O(N·κ) for N rows of κ factors each.

    Args:
      N: int ≥ 0, pool size.
      kappa: int, 0 ≤ κ ≤ N (κ = 0 gives all ones: the empty draw misses everything).

    Returns:
      float64 (N + 1,), non-increasing in m, R[0] = 1, R[m] = 0 for m > N − κ.
    """
    out = np.ones(N + 1)
    if kappa == 0 or N == 0:
        return out
    budgets = np.arange(1, N + 1, dtype=np.int64)
    out[1:] = np.exp(log_comb_ratio(np.array([N]), np.array([kappa]), budgets)[0])
    return out


@_frozen
def rank_weights(m: int, kappa: int) -> np.ndarray:
    """ω[r − 1] = C(r − 1, κ − 1) / C(m, κ) for ranks r = 1..m (ascending).

    ω_r is the probability that the r-th smallest of m values is the maximum of a
    uniformly random κ-subset (PKPO, Walder & Karkhanis 2025, Eq. 12); Σ_r ω_r = 1.

    Uses C(r − 1, κ − 1)/C(m, κ) = (κ/m)·C((m − 1) − (m − r), κ − 1)/C(m − 1, κ − 1)
    = (κ/m)·R(m − 1, m − r, κ − 1), i.e. :func:`avoid_table` read backwards.

    Args:
      m: int ≥ 1, number of values.
      kappa: int, 1 ≤ κ ≤ m.

    Returns:
      float64 (m,), zero for r < κ.
    """
    if kappa == 1:
        return np.full(m, 1.0 / m)
    return (kappa / m) * avoid_table(m - 1, kappa - 1)[::-1].copy()
