"""The per-row sorting primitives behind the sort-based estimators, against plain numpy."""

from __future__ import annotations

import numpy as np
import pytest

from passlens.advantages._array import _transpose, cumsum_down, packed_order, sort_cols


def _hard_rows(rng: np.random.Generator, B: int, n: int) -> np.ndarray:
    """Rows that stress packed keys: ties, values equal but for the last bits, signs, ±0, tiny and huge."""
    x = rng.normal(size=(B, n))
    x[0] = 1.0  # constant row
    x[1] = np.round(x[1])  # many ties
    base = rng.random(n)
    x[2] = base
    x[3] = np.nextafter(base, 2.0)  # next float up: equal in all but the lowest bit
    x[4, : n // 2] = 0.1 + 0.2  # 0.30000000000000004
    x[4, n // 2 :] = 0.3
    x[5] = -np.abs(x[5])  # all negative
    x[6] = np.where(rng.random(n) < 0.5, -0.0, 0.0)
    x[7] = rng.choice([-1e300, -1e-300, 1e-300, 1e300, 5e-324, -5e-324], size=n)
    # Values equal above the packed key's index bits but different in them: the key sort may
    # order them wrongly and the exact repair must fix it.
    bits = max(1, (n - 1).bit_length())
    v = np.full(n, 1.2345).view(np.int64)
    v = v + rng.permutation(np.arange(n, dtype=np.int64) % (1 << bits))
    x[8] = v.view(np.float64)
    x[9] = -x[8]
    return x


@pytest.mark.parametrize("n", [1, 2, 3, 7, 16, 64, 100])
def test_sorts_match_argsort(n):
    rng = np.random.default_rng(n)
    B = 12
    x = _hard_rows(rng, B, n) if n >= 2 else rng.normal(size=(B, n))
    want = np.sort(x, axis=1)
    flat_t, gt = sort_cols(x)
    assert np.array_equal(gt, want.T)
    assert np.array_equal(x.ravel()[flat_t], want.T)
    assert np.array_equal(np.sort(flat_t.T - np.arange(0, B * n, n)[:, None], axis=1),
                          np.broadcast_to(np.arange(n), (B, n)))  # a permutation of each row
    # undo: scatter the sorted values back in place of the originals
    back = np.empty(B * n)
    back[flat_t] = gt
    assert np.array_equal(back.reshape(B, n), x)


@pytest.mark.parametrize("n", [2, 5, 64])
def test_packed_order_layouts_and_distinct(n):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(9, n))  # continuous: no ties
    order_t, distinct = packed_order(x, check_distinct=True)
    assert distinct
    assert order_t.shape == (n, 9) and order_t.flags.c_contiguous
    assert np.array_equal(x.ravel()[order_t], np.sort(x, axis=1).T)
    assert not packed_order(x)[1]  # not checked: not claimed
    order, _ = packed_order(x, transposed=False)  # the same order, row by row
    assert np.array_equal(order, order_t.T)
    x[4, 1] = x[4, 0]  # one tie
    _, distinct = packed_order(x, check_distinct=True)
    assert not distinct


def test_packed_order_signed_zeros_are_a_tie():
    # −0.0 == +0.0: a row holding both is not distinct, whatever the other values' signs.
    for row in ([-0.0, 0.0], [-0.0, 0.0, -1.0, -2.0], [0.0, 3.0, -0.0, -4.0, 5.0]):
        x = np.array([row])
        order, distinct = packed_order(x, check_distinct=True)
        assert not distinct
        assert np.array_equal(x.ravel()[order].T, np.sort(x, axis=1))
    x = np.array([[-1.0, 0.0, 2.0, -3.0]])  # mixed signs, no tie
    order, distinct = packed_order(x, check_distinct=True)
    assert distinct and np.array_equal(x.ravel()[order].T, np.sort(x, axis=1))


@pytest.mark.parametrize("n", [2, 3, 4, 5, 8, 9])
def test_packed_order_resolves_one_unit_above_the_index_bits(n):
    # The key keeps every bit above the ⌈log₂ n⌉ index bits (at least one): values one unit
    # (2^bits ulps) apart are exactly ordered and distinct; more index bits would merge them.
    bits = max(1, (n - 1).bit_length())
    rng = np.random.default_rng(n)
    steps = rng.permutation(n).astype(np.int64) << bits
    x = np.stack([(np.full(n, v).view(np.int64) + steps).view(np.float64) for v in (1.5, -1.5)])
    order, distinct = packed_order(x, check_distinct=True)
    assert distinct
    assert np.array_equal(x.ravel()[order], np.sort(x, axis=1).T)


def test_packed_order_zero_first_then_negatives():
    # +0.0 first: its key (0) is the row's largest, all others negative; −0.0 still ties it.
    x = np.array([[0.0, -0.0, -2.0], [0.0, -1.0, -2.0]])
    order, distinct = packed_order(x, check_distinct=True)
    assert not distinct
    assert np.array_equal(x.ravel()[order], np.sort(x, axis=1).T)
    assert packed_order(x[1:], check_distinct=True)[1] is True
    assert packed_order(x[1:])[1] is False  # not checked: a plain False


def test_packed_order_size_limit():
    # up to 2^20 samples per group the index fits in 20 bits; one more declines (sort_cols falls back)
    x = np.random.default_rng(7).permutation(2**20 + 1)[None].astype(np.float64)  # integers: 20 bits resolve them
    assert packed_order(x) is None
    order, distinct = packed_order(x[:, : 2**20], check_distinct=True)
    assert distinct and np.array_equal(x.ravel()[order[:, 0]], np.sort(x[0, : 2**20]))


@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.int8])
def test_sort_cols_falls_back_to_argsort(dtype):
    # no packed keys for other dtypes: argsort each row, same layout (flat indices, transposed)
    rng = np.random.default_rng(2)
    x = (rng.normal(size=(6, 9)) * 4).astype(dtype)
    assert packed_order(x) is None
    flat_t, gt = sort_cols(x)
    assert flat_t.shape == (9, 6) and gt.dtype == dtype
    assert np.array_equal(gt, np.sort(x, axis=1).T)
    assert np.array_equal(x.ravel()[flat_t], gt)
    assert np.array_equal(np.sort(flat_t, axis=0), np.arange(6 * 9).reshape(6, 9).T)  # each row's own indices


def test_sort_cols_repairs_two_samples():
    # n = 2: one index bit; 1 + 1 ulp and 1.0 share the key above it, so the keys keep index order
    x = np.array([[np.nextafter(1.0, 2.0), 1.0], [3.0, 2.0]])
    flat_t, gt = sort_cols(x)
    assert np.array_equal(gt, np.sort(x, axis=1).T)
    assert np.array_equal(flat_t, [[1, 3], [0, 2]])


def test_sort_cols_repairs_wrong_key_order():
    rng = np.random.default_rng(5)
    x = _hard_rows(rng, 12, 64)
    order, _ = packed_order(x)
    assert not np.array_equal(x.ravel()[order], np.sort(x, axis=1).T)  # the keys alone get some rows wrong
    flat_t, gt = sort_cols(x)
    assert np.array_equal(gt, np.sort(x, axis=1).T)
    assert np.array_equal(x.ravel()[flat_t], gt)


def test_packed_order_declines_non_float64():
    assert packed_order(np.zeros((2, 3), dtype=np.float32)) is None
    assert packed_order(np.zeros((2, 3), dtype=np.int64)) is None


@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (130, 7), (1000, 64)])
def test_transpose_and_cumsum_down(shape):
    rng = np.random.default_rng(1)
    x = rng.normal(size=shape)
    t = _transpose(x)
    assert t.flags.c_contiguous and np.array_equal(t, x.T)
    # the same additions in the same order as np.cumsum: bit-identical, both directions
    assert np.array_equal(cumsum_down(x.copy()), np.cumsum(x, axis=0))
    y = x.copy()
    cumsum_down(y[::-1])
    assert np.array_equal(y, np.cumsum(x[::-1], axis=0)[::-1])
