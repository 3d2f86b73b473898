"""Answer classes of a batch: number the (group, answer id) pairs of a (B, n) id matrix.

Shared by the estimators that look at distinct answers (``coverage``, ``novelty``). Small id
ranges (≤ 2n values, e.g. ids 0..7) use one ``bincount`` over dense (group, id) slots; wider
ids (e.g. 64-bit hashes of answer strings) sort each group by a hash of the ids (no order
among a group's answers is needed, only that equal ids end up together), blocks of groups
on threads.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from ._array import unsort_rows
from ._parallel import run_row_blocks

__all__ = ["hashed_runs", "hashed_classes", "dense_classes", "classes", "Pairs", "pairs"]

# Odd 64-bit constant (2⁶⁴/φ, Knuth's Fibonacci hashing): x ↦ x·C mod 2⁶⁴ is a bijection of
# uint64 that spreads nearby ids (0, 1, 2, … or ids differing in low bits) over the high bits.
_FIB = np.uint64(0x9E3779B97F4A7C15)


def hashed_runs(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Group each row's equal ids together by one sort of packed int64 keys (order: by hash).

    Each id becomes h = a·C mod 2⁶⁴ (a bijection, see ``_FIB``) whose low ⌈log₂ B·n⌉ bits
    are replaced by the sample's flat index; ``np.sort`` of these plain int64 keys (SIMD) is
    ~4× faster than ``np.argsort`` of the ids, and the index rides along in the key (the
    flat index rather than the column: no per-row offsets to add afterwards). Equal ids
    have equal high bits, so they end up adjacent. Two *different* ids of one row whose
    hashes agree above the index bits (chance ≈ 2⁻⁴⁶ per pair of random ids at
    B·n = 2¹⁸) may interleave; such rows are detected and re-sorted exactly by ``np.argsort``.

    Args:
      a: int64 (B, n) answer ids.

    Returns:
      order: int64 (B, n), flat indices: a.ravel()[order] holds every row's ids with equal
        ids adjacent (runs in hash order, not ascending).
      first: bool (B, n), True where a run of equal ids starts (column 0 always).
      s: int64 (B, n), the ids in that order, a.ravel()[order].
    """
    B, n = a.shape
    bits = max(1, (B * n - 1).bit_length())
    low = np.int64((1 << bits) - 1)
    key = np.multiply(np.ascontiguousarray(a).view(np.uint64), _FIB).view(np.int64)  # uint64 wrap-around intended
    key &= ~low
    key |= np.arange(B * n, dtype=np.int64).reshape(B, n)
    key.sort(axis=1)
    # Hash runs: neighbours whose keys agree above the index bits. Computed on the flat array
    # (contiguous loops); the comparisons across row ends are overwritten by column 0.
    flat = key.reshape(-1)
    first = np.empty((B, n), dtype=bool)
    np.greater(np.bitwise_xor(flat[1:], flat[:-1]).view(np.uint64), np.uint64(low), out=first.reshape(-1)[1:])
    first[:, 0] = True
    key &= low  # the flat index of each grouped slot
    order = key
    s = np.take(a.ravel(), order)
    # Equal ids ⇒ equal hashes, so a hash-run boundary always separates different ids; the
    # grouping is exact iff no run holds two different ids (a hash collision): neighbours that
    # differ without a boundary between them (bools: differ > boundary).
    sf = s.reshape(-1)
    mixed = np.greater(sf[1:] != sf[:-1], first.reshape(-1)[1:])
    if mixed.any():
        rows = np.unique(np.flatnonzero(mixed) // n)  # (position p compares sorted slots p and p + 1)
        fix = np.argsort(a[rows], axis=1, kind="stable")
        fix += (rows * n)[:, None]
        order[rows] = fix
        s[rows] = srt = a.ravel()[fix]
        first[rows, 1:] = srt[:, 1:] != srt[:, :-1]
    return order, first, s


def hashed_classes(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Number each group's distinct ids by :func:`hashed_runs`, blocks of groups on threads.

    Each block numbers its own classes (the running count, the scatter back to sample
    order), then the blocks' numbers are shifted by the classes of the blocks before:
    everything but that shift runs on the threads.

    Args:
      a: int64 (B, n) answer ids.

    Returns:
      cls: int64 (B, n), class index of every sample (original order), 0..U − 1 in
        batch order: by group, then in hash order within a group;
      starts: int64 (U,), flat position (in the grouped layout) of each class's first sample,
        so starts // n is its group and the gaps between starts are the class sizes;
      ids: int64 (U,), each class's answer id.
    """
    B, n = a.shape
    cls = np.empty((B, n), dtype=np.int64)
    parts: dict[int, tuple[slice, np.ndarray, np.ndarray]] = {}

    def block(rows: slice) -> None:
        order, first, s = hashed_runs(a[rows])
        flat_first = first.reshape(-1)
        starts = np.flatnonzero(flat_first)
        flat_first[0] = False  # the running count of starts after the first: 0-based class indices
        run = flat_first.astype(np.int64)  # (a cumsum of bools casts in small buffers: ~10× slower)
        np.cumsum(run, out=run)  # class index (within the block) of every grouped position
        unsort_rows(order.reshape(-1), run.reshape(order.shape), out=cls[rows])
        parts[rows.start] = (rows, starts + rows.start * n, s.reshape(-1)[starts])

    run_row_blocks(block, B, n)
    blocks = [parts[k] for k in sorted(parts)]
    shift = 0
    for rows, starts, _ in blocks:
        if shift:
            cls[rows] += shift
        shift += starts.size
    if len(blocks) == 1:
        return cls, blocks[0][1], blocks[0][2]
    return cls, np.concatenate([p[1] for p in blocks]), np.concatenate([p[2] for p in blocks])


def _wide_first_row(a: np.ndarray) -> bool:
    """True when the first group alone spans more than 2n ids, so the batch is no small range
    (an O(n) look that spares wide ids, e.g. hashes, the whole-batch min / max / OR passes)."""
    row = a[0]
    return int(row.max()) - int(row.min()) >= 2 * a.shape[1]  # Python ints: no overflow


def dense_classes(a: np.ndarray) -> tuple[np.ndarray, int, int] | None:
    """Per-sample slot b·K + (a_bi − min a) in a (B·K,) table of (group, answer) classes.

    For small id ranges (K = max a − min a + 1 ≤ 2n, e.g. ids 0..7) this replaces the
    per-group sort: class sizes are one ``np.bincount`` over the slots and each sample
    reads its class back with one gather. Returns (slot int64 (B, n), K, min a), or
    None when the id range is too wide (the table would outgrow the batch).
    """
    B, n = a.shape
    if a.size == 0 or _wide_first_row(a):
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
        consecutive (small ids: ascending in id, some may be empty; wide ids: in hash order);
      U: number of classes.
    """
    B, n = a.shape
    dense = dense_classes(a)
    if dense is not None:
        cls, K, _ = dense
        return cls, np.repeat(np.arange(B, dtype=np.int64), K), B * K
    cls, starts, _ = hashed_classes(a)
    return cls, starts // n, int(starts.size)


class Pairs:
    """The U distinct (group, answer id) pairs of a (B, n) batch (see :func:`pairs`).

    Attributes:
      size: int64 (U,), number of samples of each pair; 0 for the empty cells of a
        (group, id) grid (listed so that the grid needs no compaction).
      cls: int64 (B, n), every sample's index in a per-pair table of ``table_size`` entries.
      slot: int64 (U,), each pair's index in that table, or None when it is 0..U − 1.
      group, answer: int64 (U,), each pair's group and answer id (properties).
    """

    __slots__ = ("size", "cls", "slot", "table_size", "_group", "_answer", "_grid")

    def __init__(self, size: np.ndarray, cls: np.ndarray, slot: np.ndarray | None, table_size: int,
                 group: np.ndarray | None = None, answer: np.ndarray | None = None,
                 grid: tuple[int, int, int] | None = None) -> None:
        self.size, self.cls, self.slot, self.table_size = size, cls, slot, table_size
        # grid = (B, K, lo): the pairs are every (group b, id lo + k), b-major (group, answer unset).
        self._group, self._answer, self._grid = group, answer, grid

    @property
    def group(self) -> np.ndarray:
        if self._group is None:
            assert self._grid is not None  # set whenever group/answer were left unset
            B, K, _ = self._grid
            self._group = np.repeat(np.arange(B, dtype=np.int64), K)
        return self._group

    @property
    def answer(self) -> np.ndarray:
        if self._answer is None:
            assert self._grid is not None  # set whenever group/answer were left unset
            B, K, lo = self._grid
            self._answer = np.tile(np.arange(lo, lo + K, dtype=np.int64), B)
        return self._answer

    def keys(self, codes: np.ndarray) -> np.ndarray:
        """int64 (U, 2): (codes[group], answer id) of every pair, for codes int64 (B,)."""
        if self._grid is not None:  # written by broadcasting: no (U,) group/answer arrays
            B, K, lo = self._grid
            q = np.empty((B, K, 2), dtype=np.int64)
            q[:, :, 0] = codes[:, None]
            q[:, :, 1] = np.arange(lo, lo + K, dtype=np.int64)
            return q.reshape(B * K, 2)
        q = np.empty((self.size.size, 2), dtype=np.int64)
        q[:, 0] = codes[self.group]
        q[:, 1] = self.answer
        return q

    def place(self, values: np.ndarray) -> np.ndarray:
        """Per-pair values float (U,) laid out as the per-sample table ``cls`` indexes: (table_size,)."""
        if self.slot is None:
            return values
        table = np.zeros(self.table_size)  # pairs are sparse in the table: place them
        table[self.slot] = values
        return table

    def spread(self, values: np.ndarray, rows: slice = slice(None), placed: bool = False) -> np.ndarray:
        """Per-pair values float (U,) (or :meth:`place`'s table, if ``placed``) read back by every
        sample of ``rows``: float64 (b, n)."""
        table = values if placed else self.place(values)
        # mode="clip": cls is in range by construction; skipping the bounds check is ~25% faster.
        return np.take(table, self.cls[rows], mode="clip")


def _small_ids(a: np.ndarray) -> tuple[np.ndarray, int, int] | None:
    """:func:`dense_classes`, with one pass instead of two for ids in 0..2n − 1 (the usual case).

    The bitwise OR of non-negative ids is ≥ their maximum and has the sign bit clear, so
    OR < 2n proves every id is in 0..OR: the table gets K = OR + 1 columns from id 0
    (possibly some empty ones), without the min and max passes.
    """
    B, n = a.shape
    if a.size and not _wide_first_row(a):
        v = int(np.bitwise_or.reduce(a, axis=None))
        if 0 <= v < 2 * n:
            K = v + 1
            return a + np.arange(0, B * K, K, dtype=np.int64)[:, None], K, 0
    return dense_classes(a)


def pairs(a: np.ndarray, how: Literal["auto", "hashed"] = "auto") -> Pairs:
    """The distinct (group, answer id) pairs of a batch, with sizes and a per-sample index.

    Small id ranges (:func:`dense_classes`): one ``bincount`` over (group, id) slots; pairs
    are listed by group, then ascending id (when at least half the cells are used, all
    of them, empty ones with size 0). Wider ids: one sort of hashed keys per group
    (:func:`hashed_classes`); pairs are listed by group, then in hash order.

    Args:
      a: int64 (B, n) answer ids.
      how: "auto" (as above) or "hashed": sort without checking the range.

    Returns:
      :class:`Pairs` with U = number of distinct (group, id) pairs.
    """
    B, n = a.shape
    if a.size == 0:  # no samples, no pairs
        return Pairs(np.zeros(0, dtype=np.int64), np.zeros((B, n), dtype=np.int64), None, 0,
                     group=np.zeros(0, dtype=np.int64), answer=np.zeros(0, dtype=np.int64))
    dense = None if how == "hashed" else _small_ids(a)
    if dense is not None:
        cls, K, lo = dense
        count = np.bincount(cls.ravel(), minlength=B * K)
        if 2 * np.count_nonzero(count) >= count.size:
            # Mostly full (e.g. 8 ids, 64 samples): the pairs are the whole (group, id) grid,
            # empty cells included (size 0: looked up, never recorded), so no compaction and
            # no scatter when spreading values back.
            return Pairs(count, cls, None, B * K, grid=(B, K, lo))
        slot = np.flatnonzero(count)  # ascending: by group, then answer id
        grp, col = np.divmod(slot, K)
        return Pairs(count[slot], cls, slot, B * K, group=grp, answer=col + lo)
    cls, starts, ids = hashed_classes(a)
    sizes = np.diff(starts, append=B * n)
    return Pairs(sizes, cls, None, int(starts.size), group=starts // n, answer=ids)
