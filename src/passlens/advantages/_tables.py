"""Per-(n, k) lookup tables of the binomial ratios that every pass@k weight is made of.

All come from the project's one combinatorial kernel, ``passlens._combinatorics.log_comb_ratio``
(log space: no binomial coefficient is ever formed, n = 10⁵ is as safe as n = 8). They depend on
(n, k) only: built once in O(n), memoised and read-only, then gathered with fancy indexing.
"""

from __future__ import annotations

import functools

import numpy as np

from .._combinatorics import log_comb_ratio

__all__ = ["avoid_table", "rank_weights"]


@functools.lru_cache(maxsize=256)
def avoid_table(N: int, kappa: int) -> np.ndarray:
    """R[m] = C(N − m, κ) / C(N, κ) for m = 0..N: the chance that κ of N items drawn without replacement
    miss all m marked ones. By C(N − m, κ)/C(N, κ) = C(N − κ, m)/C(N, m) the table is one row of
    the kernel (N fixed, κ marked, budgets m = 1..N): O(N) work instead of O(N·κ).

    Args:
      N: int ≥ 0, pool size.
      kappa: int, 0 ≤ κ ≤ N (κ = 0 gives all ones: the empty draw misses everything).

    Returns:
      float64 (N + 1,), read-only, non-increasing in m, R[0] = 1, R[m] = 0 for m > N − κ.
    """
    out = np.ones(N + 1)
    if kappa and N:
        out[1:] = np.exp(log_comb_ratio(np.array([N]), np.array([kappa]), np.arange(1, N + 1, dtype=np.int64))[0])
    out.flags.writeable = False
    return out


@functools.lru_cache(maxsize=256)
def rank_weights(m: int, kappa: int) -> np.ndarray:
    """ω[r − 1] = C(r − 1, κ − 1) / C(m, κ) for ranks r = 1..m (ascending).

    ω_r is the probability that the r-th smallest of m values is the maximum of a
    uniformly random κ-subset (PKPO, Walder & Karkhanis 2025, Eq. 12); Σ_r ω_r = 1.
    Uses C(r − 1, κ − 1)/C(m, κ) = (κ/m)·R(m − 1, m − r, κ − 1): :func:`avoid_table` read backwards.

    Args:
      m: int ≥ 1, number of values.
      kappa: int, 1 ≤ κ ≤ m.

    Returns:
      float64 (m,), read-only, zero for r < κ.
    """
    out = np.full(m, 1.0 / m) if kappa == 1 else (kappa / m) * avoid_table(m - 1, kappa - 1)[::-1]
    out.flags.writeable = False
    return out
