"""The one combinatorial kernel behind pass@k, pass^k and α̂_k.

    R(n, c, k) = C(n − c, k) / C(n, k)
               = Π_{j=0}^{k−1} (n − c − j) / (n − j)        (k factors)

is the probability that k draws without replacement from n samples, c of them
correct, contain no correct one. Then

    pass@k  = 1 − R(n, c, k)            (Chen et al. 2021, Eq. 1)
    pass^k  = R(n, n − c, k)            (= C(c, k)/C(n, k); Yao et al. 2024)
    α̂_k     = k · R(n, c, k − 1)        (unbiased for k(1 − p)^{k−1})

We work with log R as a cumulative sum over j of log(1 − c/(n − j)): every
factor lies in [0, 1], so nothing overflows at n = 10⁶ (C(n, k) itself would),
and ``expm1`` of the sum gives 1 − R to full relative precision when R ≈ 1.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

__all__ = ["log_comb_ratio", "CHUNK_ELEMENTS"]

#: Work arrays are built in row chunks of at most this many float64 entries.
CHUNK_ELEMENTS = 1 << 22


def _log_terms(n: np.ndarray, c: np.ndarray, j: np.ndarray) -> np.ndarray:
    """log(1 − c/(n − j)) for n, c (R, 1) and j (1, J) → (R, J); −inf where n − j ≤ c.

    Two branches keep each factor accurate to a few ulps: log1p(−r) for r < ½
    (no cancellation in 1 − r), and log((d − c)/d) for r ≥ ½, where d − c is an
    exact integer and the quotient is rounded once.
    """
    d = (n - j).astype(np.float64)  # (R, J): remaining samples before draw j
    cf = c.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = cf / d
        out = np.where(r < 0.5, np.log1p(-r), np.log((d - cf) / d))
    # d ≤ c: the draw cannot avoid a correct sample (or j ≥ n, only reached for k > n).
    out[d <= cf] = -np.inf
    return out


def _unique_pairs(n: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (n, c) pairs and the inverse map (P,) back to them."""
    base = int(c.max(initial=0)) + 1
    if int(n.max(initial=0)) < (1 << 62) // base:
        # One int64 key per pair: a 1-D unique is several times faster than axis=0.
        key_u, inverse = np.unique(n * base + c, return_inverse=True)
        return key_u // base, key_u % base, inverse.reshape(-1)
    uniq, inverse = np.unique(np.stack([n, c], axis=1), axis=0, return_inverse=True)
    return uniq[:, 0], uniq[:, 1], inverse.reshape(-1)


def log_comb_ratio(
    n: np.ndarray,
    c: np.ndarray,
    ks: np.ndarray,
    transform: Callable[[np.ndarray], np.ndarray] | None = None,
) -> np.ndarray:
    """log[C(n − c, k) / C(n, k)] for every problem and budget (or ``transform`` of it).

    Args:
      n: int64 (P,), samples per problem (validated: n ≥ 1, 0 ≤ c ≤ n).
      c: int64 (P,), the count whose avoidance is asked for.
      ks: int64 (K,), budgets ≥ 1. Entries with k > n come out as −inf when
        c > 0 and 0 when c = 0 (callers mask them).
      transform: optional elementwise function applied before the values are
        scattered back to problems, so it runs once per distinct (n, c) pair
        (e.g. ``lambda v: -np.expm1(v)`` for pass@k).

    Returns:
      float64 (P, K): log R in [−inf, 0], or transform(log R).

    Cost: O(U · max k) for U distinct (n, c) pairs — a dataset with constant n
    has at most n + 1 of them — plus O(P · K) to scatter the rows back.
    """
    K = ks.shape[0]
    # Distinct (n, c) pairs share every value: compute once per pair, then gather.
    un, uc, inverse = _unique_pairs(n, c)
    U = un.shape[0]
    kmax = int(ks.max())
    vals = np.zeros((U, K))
    work = np.flatnonzero(uc > 0)  # c = 0 → log R = 0 for every k
    rows_per_chunk = max(1, CHUNK_ELEMENTS // kmax)
    j = np.arange(kmax, dtype=np.int64)[None, :]
    for start in range(0, work.size, rows_per_chunk):
        rows = work[start : start + rows_per_chunk]
        terms = _log_terms(un[rows, None], uc[rows, None], j)  # (R, kmax)
        np.cumsum(terms, axis=1, out=terms)  # terms[:, k-1] = log R(n, c, k)
        vals[rows] = terms[:, ks - 1]
    if transform is not None:
        vals = transform(vals)
    return np.take(vals, inverse, axis=0)
