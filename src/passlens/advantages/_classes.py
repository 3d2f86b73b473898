"""Answer classes of a batch: number the (group, answer id) pairs of a (B, n) id matrix.

Shared by the estimators that look at distinct answers (``coverage``, ``novelty``). Small id
ranges (≤ 2n values, e.g. ids 0..7) use one ``bincount`` over dense (group, id) slots; wider
ids (e.g. 64-bit hashes of answer strings) sort each group.
"""

from __future__ import annotations

import numpy as np

from ._array import sort_rows, unsort_rows

__all__ = ["sorted_runs", "dense_classes", "classes"]


def sorted_runs(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Sort each group by answer id and number the runs of equal ids.

    Args:
      a: int64 (B, n) answer ids.

    Returns:
      order: int64 (B·n,), flat indices of the per-group argsort (see ``sort_rows``).
      s: int64 (B, n), the sorted ids.
      run: int64 (B·n,), run index (global over the batch) of every sorted position.
      starts: int64 (U,), flat sorted position where each of the U runs starts.
    """
    B, n = a.shape
    if a.size and -(2**15) <= a.min() and a.max() < 2**15:
        # Small ids (the usual case): int16 keys get numpy's radix sort, ~1.5× faster than int64.
        flat = np.argsort(a.astype(np.int16), axis=1, kind="stable")
        flat += np.arange(0, B * n, n)[:, None]
        order = flat.ravel()
        s = a.ravel()[order].reshape(B, n)
    else:
        order, s = sort_rows(a)
    first = np.empty((B, n), dtype=bool)
    first[:, 0] = True
    np.not_equal(s[:, 1:], s[:, :-1], out=first[:, 1:])
    run = np.cumsum(first.ravel()) - 1  # (B·n,)
    return order, s, run, np.flatnonzero(first)


def dense_classes(a: np.ndarray) -> tuple[np.ndarray, int, int] | None:
    """Per-sample slot b·K + (a_bi − min a) in a (B·K,) table of (group, answer) classes.

    For small id ranges (K = max a − min a + 1 ≤ 2n, e.g. ids 0..7) this replaces the
    per-group sort: class sizes are one ``np.bincount`` over the slots and each sample
    reads its class back with one gather. Returns (slot int64 (B, n), K, min a), or
    None when the id range is too wide (the table would outgrow the batch).
    """
    B, n = a.shape
    if a.size == 0:
        return None
    lo, hi = int(a.min()), int(a.max())
    K = hi - lo + 1  # Python ints: no int64 overflow for any id range
    if K > 2 * n:
        return None
    # One pass: slot = a + (b·K − lo). Written as a − lo + b·K, every result is in [0, B·K); an
    # int64 wrap-around in b·K − lo (ids near −2⁶³) cancels in the sum (two's complement).
    slot = a + (np.arange(0, B * K, K, dtype=np.int64) - np.int64(lo))[:, None]
    return slot, K, lo


def classes(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Number the (group, answer id) classes of a batch.

    Args:
      a: int64 (B, n) answer ids.

    Returns:
      cls: int64 (B, n), class index of every sample (original order);
      group: int64 (U,), the group of each class; classes of one group are
        consecutive and ascending in answer id (some may be empty);
      U: number of classes.
    """
    B, n = a.shape
    dense = dense_classes(a)
    if dense is not None:
        cls, K, _ = dense
        return cls, np.repeat(np.arange(B, dtype=np.int64), K), B * K
    order, _, run, starts = sorted_runs(a)
    return unsort_rows(order, run.reshape(B, n)), starts // n, int(starts.size)
