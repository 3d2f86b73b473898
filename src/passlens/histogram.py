"""Count tables as histograms: the distinct (n, c) pairs of P problems and how many problems share each.

Every count metric of a problem (pass@k, pass^k, α̂_k, ŝ_k, ẑ_G, …) is a function of its
(n, c) alone, so a dataset statistic — a mean over problems, its variance, a bootstrap over
problems — depends on the data only through the multiset of (n, c) pairs. With a fixed n
there are at most n + 1 of them, whatever P: 10⁵ problems at n = 256 are ≤ 257 rows.
A paired comparison depends on the multiset of (n_a, c_a, n_b, c_b) tuples in the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["CountHistogram", "count_histogram", "PairHistogram", "pair_histogram"]

#: Below this many possible keys a bincount is used instead of a sort (both exact).
_DENSE_KEYS = 1 << 24


@dataclass(frozen=True)
class CountHistogram:
    """The distinct (n, c) pairs of a count table.

    Attributes:
      n, c: int64 (H,) the distinct pairs, sorted by (n, c).
      weights: int64 (H,) problems per pair (Σ = P).
      inverse: int64 (P,) the pair of each problem: n_all = n[inverse], c_all = c[inverse].
    """

    n: np.ndarray
    c: np.ndarray
    weights: np.ndarray
    inverse: np.ndarray

    @property
    def problems(self) -> int:
        return int(self.inverse.size)


def _codes(key: np.ndarray, n_keys: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(distinct keys sorted, counts, inverse) of non-negative int64 keys < n_keys."""
    if n_keys <= _DENSE_KEYS:
        counts = np.bincount(key, minlength=n_keys)  # O(P + n_keys), no sort
        present = np.flatnonzero(counts)
        code = np.full(n_keys, -1, dtype=np.int64)
        code[present] = np.arange(present.size)
        return present.astype(np.int64), counts[present].astype(np.int64), code[key]
    distinct, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    return distinct.astype(np.int64), counts.astype(np.int64), inverse.astype(np.int64).reshape(-1)


def count_histogram(n: np.ndarray, c: np.ndarray) -> CountHistogram:
    """Histogram of validated counts (int64 (P,), 0 ≤ c ≤ n, n ≥ 1; see ``_validate.as_counts``).

    Returns:
      :class:`CountHistogram`.
    """
    n = np.asarray(n, dtype=np.int64)
    c = np.asarray(c, dtype=np.int64)
    if n.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return CountHistogram(empty, empty, empty, empty)
    width = int(n.max()) + 1  # c ≤ n < width: key = n·width + c is one-to-one
    if width <= 2**31:  # the key stays below 2⁶² (exact in int64)
        keys, weights, inverse = _codes(n * width + c, width * width)
        return CountHistogram(keys // width, keys % width, weights, inverse)
    distinct, inverse, counts = np.unique(np.stack([n, c], axis=1), axis=0, return_inverse=True, return_counts=True)
    return CountHistogram(distinct[:, 0], distinct[:, 1], counts.astype(np.int64), inverse.reshape(-1).astype(np.int64))


@dataclass(frozen=True)
class PairHistogram:
    """The distinct (n_a, c_a, n_b, c_b) tuples of a paired comparison, through the two marginals.

    Attributes:
      a, b: :class:`CountHistogram` of each model's counts.
      joint_a, joint_b: int64 (J,) the a-pair and b-pair of each distinct tuple.
      weights: int64 (J,) problems per tuple (Σ = P).
    """

    a: CountHistogram
    b: CountHistogram
    joint_a: np.ndarray
    joint_b: np.ndarray
    weights: np.ndarray


def pair_histogram(n_a: np.ndarray, c_a: np.ndarray, n_b: np.ndarray, c_b: np.ndarray) -> PairHistogram:
    """Histogram of aligned paired counts (each (P,), validated)."""
    ha, hb = count_histogram(n_a, c_a), count_histogram(n_b, c_b)
    Hb = max(int(hb.n.size), 1)
    keys, weights, _ = _codes(ha.inverse * Hb + hb.inverse, int(ha.n.size) * Hb)
    return PairHistogram(ha, hb, keys // Hb, keys % Hb, weights)
