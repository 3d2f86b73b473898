"""The one grouping primitive behind ``coverage`` and ``novelty``: the distinct (row, id)
pairs of an int64 (B, n) matrix, their sizes, and the sample → pair map.

Its meaning is the dict loop the tests use as its oracle::

    keys = sorted({(b, a[b, i]) for every sample (b, i)})      # by row, then ascending id
    size = [number of samples (b, i) with (b, a[b, i]) == key for key in keys]
    inverse[b, i] = keys.index((b, a[b, i]))

Two exact paths give that same output: ids that all lie in 0 .. 2n − 1 (answer classes such
as 0..7) are counted on a (B, K) grid by one ``bincount``; any other ids (e.g. 64-bit hashes
of answer strings) are sorted within each row, and the runs of equal ids are the pairs.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["Pairs", "distinct_pairs"]


class Pairs(NamedTuple):
    """The U distinct (row, id) pairs of an int (B, n) matrix a, by row then ascending id: row, id, size
    (≥ 1) int64 (U,), and the pair of each sample inverse int64 (B, n) (row[inverse] = b, id[inverse] = a)."""

    row: np.ndarray
    id: np.ndarray
    size: np.ndarray
    inverse: np.ndarray


def distinct_pairs(a: np.ndarray) -> Pairs:
    """The distinct (row, id) pairs of int64 a (B, n) (see :class:`Pairs`): O(B·n) for ids in
    0 .. 2n − 1, else one ``argsort`` per row."""
    B, n = a.shape
    if a.size == 0:
        return Pairs(*(np.zeros(0, dtype=np.int64),) * 3, np.zeros((B, n), dtype=np.int64))
    hi = int(a.max()) if a.min() >= 0 else 2 * n  # (hashed ids stop at the min: half of them are < 0)
    return _grid_pairs(a, hi + 1) if hi < 2 * n else _sorted_pairs(a)


def _grid_pairs(a: np.ndarray, K: int) -> Pairs:
    """:func:`distinct_pairs` for ids in 0 .. K − 1: count the cells b·K + id of a (B, K) grid."""
    B, n = a.shape
    cell = a + np.arange(0, B * K, K, dtype=np.int64)[:, None]  # (B, n)
    count = np.bincount(cell.reshape(-1), minlength=B * K)  # (B·K,)
    used = np.flatnonzero(count)  # (U,) the occupied cells, ascending: by row, then id
    number = np.cumsum(count > 0) - 1  # (B·K,) each occupied cell's pair
    row, ids = np.divmod(used, K)
    return Pairs(row, ids, count[used], number[cell])


def _sorted_pairs(a: np.ndarray) -> Pairs:
    """:func:`distinct_pairs` for any ids: sort each row; the runs of equal ids are the pairs."""
    B, n = a.shape
    order = np.argsort(a, axis=1)
    order += np.arange(0, B * n, n, dtype=np.int64)[:, None]  # flat indices: 1-D gathers and scatters
    flat = order.reshape(-1)
    s = np.take(a.reshape(-1), flat)  # (B·n,) every row ascending
    first = np.empty(B * n, dtype=bool)  # True where a run of equal ids starts (every row starts one)
    np.not_equal(s[1:], s[:-1], out=first[1:])
    first[::n] = True
    starts = np.flatnonzero(first)
    run = first.astype(np.int64)  # (a cumsum of bools would cast in small buffers: several times slower)
    np.cumsum(run, out=run)
    run -= 1  # the pair of each sorted slot
    inverse = np.empty(B * n, dtype=np.int64)
    inverse[flat] = run
    return Pairs(starts // n, s[starts], np.diff(starts, append=B * n), inverse.reshape(B, n))
