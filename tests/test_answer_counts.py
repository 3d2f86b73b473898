"""The grouping primitive (distinct (row, id) pairs of a batch), AnswerCounts' vectorized hash
table and ``novelty``, each checked against the obvious Python loop (dicts, per-group loops)."""

from __future__ import annotations

import json
import sys
from collections import Counter
from typing import Any, Hashable

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from passlens.advantages import AnswerCounts, novelty
from passlens.advantages._pairs import _grid_pairs, _sorted_pairs, distinct_pairs

NOV = sys.modules["passlens.advantages.novelty"]  # the module (the package exports the function)
TAB = sys.modules["passlens.advantages._pair_table"]
PAIRS = sys.modules["passlens.advantages._pairs"]

# Answer ids that stress the int64 ↔ 16-byte (complex128) copies: extremes, −0.0's bit pattern
# (−2⁶³), and signalling / quiet NaN and ±inf bit patterns when read as float64.
NASTY_IDS = [
    -(2**63), 2**63 - 1, -1, 0, 1,
    0x7FF0000000000001, 0x7FF8000000000000, 0x7FF0000000000000, -0x0010000000000000, 0x7FFFFFFFFFFFFFFF - 5,
]


class DictCounts:
    """The reference: a dict (prompt id, answer id) → discounted count, updated sample by sample."""

    def __init__(self, discount: float = 1.0) -> None:
        self.discount = discount
        self.d: dict[tuple[Hashable, int], float] = {}

    def counts(self, ids: list[Hashable], answers: np.ndarray) -> np.ndarray:
        return np.array([[self.d.get((p, int(x)), 0.0) for x in row] for p, row in zip(ids, answers)])

    def update(self, ids: list[Hashable], answers: np.ndarray) -> None:
        if self.discount != 1.0:
            self.d = {key: v * self.discount for key, v in self.d.items()}
        for p, row in zip(ids, answers):
            for x in row:
                self.d[(p, int(x))] = self.d.get((p, int(x)), 0.0) + 1.0


def snapshot(state: AnswerCounts) -> dict[tuple[Any, int], float]:
    snap = state.state_dict()
    return {(p, a): c for p, a, c in zip(snap["prompt_ids"], snap["answers"], snap["counts"])}


def assert_same(state: AnswerCounts, ref: DictCounts) -> None:
    got = snapshot(state)
    assert got.keys() == ref.d.keys()
    for key, v in ref.d.items():
        assert got[key] == pytest.approx(v, rel=1e-12)
    assert len(state) == len(ref.d)


def random_answers(rng: np.random.Generator, B: int, n: int, kind: str) -> np.ndarray:
    if kind == "dense":  # ids 0..5: the grid (bincount) path
        return rng.integers(0, 6, size=(B, n))
    if kind == "shifted":  # a small range below 0: the sorted path
        return rng.integers(-40, -36, size=(B, n))
    if kind == "wide":  # 64-bit ids, few per group: the sorted path
        vals = rng.integers(-(2**63), 2**63 - 1, size=(B, 3), dtype=np.int64)
        return np.take_along_axis(vals, rng.integers(0, 3, size=(B, n)), axis=1)
    if kind == "nasty":
        return rng.choice(np.array(NASTY_IDS, dtype=np.int64), size=(B, n))
    raise AssertionError(kind)


# --------------------------------------------------------------------------- the grouping primitive


def loop_pairs(a: np.ndarray) -> tuple[list[tuple[int, int]], list[int], list[list[int]]]:
    """The oracle: (pairs sorted by (row, id), their sizes, every sample's position in that list)."""
    rows = [[int(x) for x in row] for row in a]
    keys = sorted({(b, x) for b, row in enumerate(rows) for x in row})
    where = {key: j for j, key in enumerate(keys)}
    size = Counter((b, x) for b, row in enumerate(rows) for x in row)
    return keys, [size[key] for key in keys], [[where[(b, x)] for x in row] for b, row in enumerate(rows)]


def assert_pairs_match_the_loop(a: np.ndarray) -> None:
    p = distinct_pairs(a)
    keys, sizes, index = loop_pairs(a)
    assert list(zip(p.row.tolist(), p.id.tolist())) == keys
    assert p.size.tolist() == sizes
    assert p.inverse.shape == a.shape and p.inverse.tolist() == index
    assert all(x.dtype == np.int64 for x in p)


@pytest.mark.parametrize("kind", ["dense", "shifted", "wide", "nasty", "allpresent"])
def test_pairs_match_a_loop(kind: str) -> None:
    rng = np.random.default_rng(1)
    B, n = 37, 9
    if kind == "allpresent":  # every id 0..3 in every group
        a = np.array([rng.permutation(np.arange(n) % 4) for _ in range(B)])
    else:
        a = random_answers(rng, B, n, kind)
    assert_pairs_match_the_loop(a)


# Ids for the property test: small ones (the grid path when all of a batch's are), and 64-bit
# ones that differ from each other in one bit only (lowest, highest, sign) or are extremes.
_BASE = 0x5DEECE66D12345
ID = st.one_of(
    st.integers(0, 7),
    st.integers(-3, 20),
    st.sampled_from(NASTY_IDS + [_BASE, _BASE + 1, _BASE ^ (1 << 62), -_BASE, -_BASE - 1]),
    st.integers(-(2**63), 2**63 - 1),
)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(st.integers(0, 6), st.integers(0, 9), st.data())
def test_pairs_property(B: int, n: int, data: st.DataObject) -> None:
    a = np.array(data.draw(st.lists(st.lists(ID, min_size=n, max_size=n), min_size=B, max_size=B)),
                 dtype=np.int64).reshape(B, n)
    assert_pairs_match_the_loop(a)


@pytest.mark.parametrize("K", [1, 2, 5, 16])
def test_grid_and_sorted_paths_agree(K: int) -> None:
    rng = np.random.default_rng(K)
    a = rng.integers(0, K, size=(25, 8))
    grid, srt = _grid_pairs(a, int(a.max()) + 1), _sorted_pairs(a)
    for x, y in zip(grid, srt):
        np.testing.assert_array_equal(x, y)


def test_pairs_take_the_grid_exactly_for_ids_in_0_to_2n_minus_1(monkeypatch: pytest.MonkeyPatch) -> None:
    """The O(B·n) grid for every batch whose ids lie in 0 .. 2n − 1 (a K = max + 1 grid), the sort otherwise."""
    calls: list[tuple[str, int | None]] = []
    grid, srt = PAIRS._grid_pairs, PAIRS._sorted_pairs
    monkeypatch.setattr(PAIRS, "_grid_pairs", lambda a, K: calls.append(("grid", K)) or grid(a, K))
    monkeypatch.setattr(PAIRS, "_sorted_pairs", lambda a: calls.append(("sort", None)) or srt(a))
    for a, want in [
        ([[0, 3, 3, 1]], ("grid", 4)),  # id 0 included
        ([[1, 2, 2, 1], [2, 2, 2, 2]], ("grid", 3)),
        ([[7, 0, 7, 2]], ("grid", 8)),  # the largest id the grid takes: 2n − 1
        ([[0]], ("grid", 1)),  # n = 1
        ([[1]], ("grid", 2)),
        ([[8, 0, 7, 2]], ("sort", None)),  # 2n
        ([[-1, 0, 1, 1]], ("sort", None)),  # a negative id
        ([[2]], ("sort", None)),
    ]:
        calls.clear()
        arr = np.array(a, dtype=np.int64)
        p = PAIRS.distinct_pairs(arr)
        assert calls == [want], a
        assert_pairs_match_the_loop(arr)
        assert p.size.sum() == arr.size


def test_pairs_of_an_empty_batch() -> None:
    for shape in ((0, 4), (3, 0), (0, 0)):
        p = distinct_pairs(np.zeros(shape, dtype=np.int64))
        assert p.size.size == p.row.size == p.id.size == 0 and p.inverse.shape == shape


def test_pairs_of_a_block_of_rows_are_the_batch_pairs_of_those_rows() -> None:
    """Groups are independent: the pairs of rows lo..hi are the batch's, renumbered."""
    rng = np.random.default_rng(23)
    for kind in ("dense", "wide"):
        a = random_answers(rng, 10, 5, kind)
        whole = distinct_pairs(a)
        for lo, hi in [(0, 10), (0, 1), (2, 9), (3, 4), (6, 10)]:
            part = distinct_pairs(a[lo:hi])
            sel = (whole.row >= lo) & (whole.row < hi)
            first = int(np.flatnonzero(sel)[0])
            np.testing.assert_array_equal(part.row + lo, whole.row[sel])
            np.testing.assert_array_equal(part.id, whole.id[sel])
            np.testing.assert_array_equal(part.size, whole.size[sel])
            np.testing.assert_array_equal(part.inverse + first, whole.inverse[lo:hi])


# --------------------------------------------------------------------------- the hash table


def table_vs_dict(table: Any, rng: np.random.Generator, steps: int, Q: int, prompts: int, answers: np.ndarray,
                  discount: float) -> None:
    """Random lookup_and_add / lookup calls on a PairTable against a dict."""
    ref: dict[tuple[int, int], float] = {}
    for _ in range(steps):
        pc = rng.integers(0, prompts, size=Q)
        ac = rng.choice(answers, size=Q)
        keys = list(zip(pc.tolist(), ac.tolist()))  # repeated keys too (groups sharing a prompt)
        add = rng.integers(1, 5, size=Q).astype(np.float64)
        before = table.lookup_and_add(pc, ac, add, discount)
        np.testing.assert_allclose(before, [ref.get(k, 0.0) for k in keys], rtol=1e-12)
        ref = {k: v * discount for k, v in ref.items()}
        for k, x in zip(keys, add.tolist()):
            ref[k] = ref.get(k, 0.0) + x
        assert table.size == len(ref)
        assert 2 * table.size <= table.capacity  # load ≤ 1/2
        # A probe of present and absent keys, including unknown prompts (code −1).
        probe_pc, probe_ac = rng.integers(-1, prompts + 2, size=Q), rng.choice(answers, size=Q)
        want = [ref.get(k, 0.0) for k in zip(probe_pc.tolist(), probe_ac.tolist())]
        np.testing.assert_allclose(table.lookup(probe_pc, probe_ac), want, rtol=1e-12)
    pc, ac, cnt = table.items()
    assert list(zip(pc.tolist(), ac.tolist())) == sorted(ref)
    np.testing.assert_allclose(cnt, [ref[k] for k in sorted(ref)], rtol=1e-12)


@pytest.mark.parametrize("seed", range(4))
def test_table_matches_a_dict_with_growth_collisions_and_repeats(seed: int) -> None:
    rng = np.random.default_rng(seed)
    answers = np.concatenate([np.array(NASTY_IDS), rng.integers(-(2**63), 2**63 - 1, size=20, dtype=np.int64),
                              np.arange(-3, 5)])
    table = TAB.PairTable(2)  # tiny: every step grows it and keys collide in it
    table_vs_dict(table, rng, steps=12, Q=int(rng.integers(1, 300)), prompts=40, answers=answers,
                  discount=[1.0, 0.9, 0.5, 1.0][seed])


def test_table_with_every_key_on_one_home_slot(monkeypatch: pytest.MonkeyPatch) -> None:
    """A degenerate hash (one home for all keys): long probes, and every insert round's claim race."""
    monkeypatch.setattr(TAB, "_home", lambda pc, ac, capacity: np.zeros(pc.size, dtype=np.int64))
    rng = np.random.default_rng(5)
    table = TAB.PairTable(4)
    table_vs_dict(table, rng, steps=8, Q=60, prompts=9, answers=np.arange(-4, 9), discount=0.75)
    np.testing.assert_array_equal(np.flatnonzero(table.keys[:, 0] >= 0), np.arange(table.size))  # one cluster from slot 0


def test_table_with_two_home_slots_wrapping_around(monkeypatch: pytest.MonkeyPatch) -> None:
    """Homes at the last two slots: clusters wrap around the end of the table."""
    monkeypatch.setattr(TAB, "_home", lambda pc, ac, capacity: (capacity - 1 - (ac & 1)).astype(np.int64))
    rng = np.random.default_rng(6)
    table_vs_dict(TAB.PairTable(2), rng, steps=6, Q=40, prompts=5, answers=np.arange(12), discount=1.0)


def test_insert_gives_repeated_keys_one_slot() -> None:
    table = TAB.PairTable(8)
    pc, ac = np.array([3, 3, 1, 3, 1, 2]), np.array([7, 7, -1, 7, -1, 7])
    table.reserve(pc.size)
    slot = table._insert(pc, ac, TAB._home(pc, ac, table.capacity))
    assert table.size == 3
    assert slot[0] == slot[1] == slot[3] and slot[2] == slot[4] and len({slot[0], slot[2], slot[5]}) == 3
    found_at, found = table._probe(pc, ac)
    assert found.all()
    np.testing.assert_array_equal(found_at, slot)
    np.testing.assert_array_equal(table.keys[slot], np.stack([pc, ac], axis=1))


def test_home_uses_the_top_bits_and_spreads_high_bit_ids() -> None:
    pc, ac = np.zeros(16, dtype=np.int64), np.arange(16, dtype=np.int64) << 59  # ids differing in bits 59+
    for bits in (4, 10, 20):
        h = TAB._home(pc, ac, 1 << bits)
        assert ((0 <= h) & (h < 2**bits)).all()
    assert len(set(TAB._home(pc, ac, 1 << 10).tolist())) >= 12  # the xor-shift fold spreads them


def test_home_matches_its_formula_on_python_integers() -> None:
    """home = top bits of ((pc·K₁ mod 2⁶⁴ XOR ac) XOR (that >> 32))·K₂ mod 2⁶⁴, as documented. This pins the
    formula on purpose: no output shows the slots (items are sorted), so a changed hash must change this test
    and the docstring together."""
    K1, K2, M = 0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 2**64
    rng = np.random.default_rng(9)
    pc = np.concatenate([[0, 1, 2**62, 2**63 - 1], rng.integers(0, 2**63 - 1, size=60, dtype=np.int64)])
    ac = np.concatenate([[0, -1, -(2**63), 2**63 - 1], rng.integers(-(2**63), 2**63 - 1, size=60, dtype=np.int64)])
    for bits in (1, 4, 17, 40, 63):
        want = []
        for p, a in zip(pc.tolist(), ac.tolist()):
            x = (p * K1 % M) ^ (a % M)
            x ^= x >> 32
            want.append((x * K2 % M) >> (64 - bits))
        got = TAB._home(pc.astype(np.int64), ac.astype(np.int64), 1 << bits)
        assert got.dtype == np.int64
        assert got.tolist() == want, bits


def test_table_capacity_is_the_power_of_two_asked_for_and_grows_only_when_needed() -> None:
    for asked, cap in [(None, 16), (1, 2), (2, 2), (3, 4), (4, 4), (5, 8), (16, 16), (17, 32), (100, 128)]:
        table = TAB.PairTable(asked)
        assert (table.capacity, table.size, table.scale) == (cap, 0, 1.0), asked
        assert (table.keys[:, 0] < 0).all() and (table.counts == 0).all()
    table = TAB.PairTable(8)
    table.lookup_and_add(np.array([0, 1]), np.array([5, 5]), np.ones(2), 1.0)
    keys = table.keys
    table.reserve(2)  # 2·(2 + 2) = 8 slots: fits at load 1/2, nothing rebuilt
    assert table.capacity == 8 and table.keys is keys
    table.reserve(3)  # 2·(2 + 3) = 10 slots: the next power of two
    assert table.capacity == 16 and table.size == 2
    table.reserve(6)  # 2·(2 + 6) = 16: fits
    assert table.capacity == 16
    table.reserve(14)  # 2·(2 + 14) = 32
    assert table.capacity == 32
    np.testing.assert_array_equal(table.lookup(np.array([0, 1, 2]), np.array([5, 5, 5])), [1.0, 1.0, 0.0])


def test_scale_is_folded_only_below_the_minimum() -> None:
    """The lazy scale is folded into the counts (an O(C) pass) only once it falls below _MIN_SCALE; the
    counts read the same either way (the boundary itself is a speed choice, pinned here on purpose)."""
    table, pc, ac = TAB.PairTable(4), np.array([0, 0]), np.array([1, 2])
    table.lookup_and_add(pc[:1], ac[:1], np.array([3.0]), 1.0)
    table.lookup_and_add(pc[1:], ac[1:], np.array([1.0]), TAB._MIN_SCALE)  # scale = the minimum
    assert table.scale == TAB._MIN_SCALE  # not below it: no O(C) pass yet
    np.testing.assert_allclose(table.lookup(pc, ac), [3.0 * TAB._MIN_SCALE, 1.0], rtol=1e-15)
    table.lookup_and_add(pc[1:], ac[1:], np.array([1.0]), 0.5)  # below: folded back to 1
    assert table.scale == 1.0
    np.testing.assert_allclose(table.lookup(pc, ac), [1.5 * TAB._MIN_SCALE, 1.5], rtol=1e-15)


# --------------------------------------------------------------------------- AnswerCounts


@pytest.mark.parametrize("kind", ["dense", "shifted", "wide", "nasty"])
@pytest.mark.parametrize("discount,min_scale", [(1.0, 1e-150), (0.8, 1e-150), (0.8, 0.5)])
def test_answer_counts_match_a_dict(kind: str, discount: float, min_scale: float, monkeypatch: pytest.MonkeyPatch) -> None:
    """Many steps, prompts repeated within a batch, string and int ids; a tiny table that grows. With
    discount < 1 the counts carry a scale across steps (snapshots, which fold it, only every 4th step),
    and with min_scale 0.5 the scale is also folded back by the table itself every 4 steps."""
    monkeypatch.setattr(TAB, "_MIN_CAPACITY", 2)
    monkeypatch.setattr(TAB, "_MIN_SCALE", min_scale)
    rng = np.random.default_rng(7)
    fast, ref = AnswerCounts(discount=discount), DictCounts(discount)
    pool: list[Hashable] = [0, 1, 2, "a", "b", "0", 10**15, -3, np.int64(7)]
    for step in range(10):
        B, n = int(rng.integers(1, 12)), int(rng.integers(2, 7))
        ids = [pool[i] for i in rng.integers(0, len(pool), size=B)]
        ids_py = [int(p) if isinstance(p, np.integer) else p for p in ids]
        ans = random_answers(rng, B, n, kind)
        probe = ans.copy()
        probe[0, 0] = 123456789  # never recorded
        unseen = [f"new{step}"] + ids_py[1:]  # and a prompt never seen
        np.testing.assert_allclose(fast.counts(ids, probe), ref.counts(ids_py, probe), rtol=1e-12)
        np.testing.assert_allclose(fast.counts(unseen, probe), ref.counts(unseen, probe), rtol=1e-12)
        fast.update(ids, ans)
        ref.update(ids_py, ans)
        if step % 4 == 3:
            assert_same(fast, ref)
    assert_same(fast, ref)
    prompts = len({p for p, _ in ref.d})  # every recorded prompt has pairs
    assert repr(fast) == f"AnswerCounts(discount={discount}, prompts={prompts}, pairs={len(ref.d)})"


def test_discounting_touches_only_the_batch_and_folds_its_scale(monkeypatch: pytest.MonkeyPatch) -> None:
    """An update with discount < 1 rewrites only its own keys' stored counts (O(batch), not O(table));
    the others' counts still read discounted, and folding the scale back changes no count."""
    monkeypatch.setattr(TAB, "_MIN_SCALE", 0.2)
    st = AnswerCounts(discount=0.5)
    table = st._table
    table.reserve(400)  # room for every key below: no rebuild moves the slots
    st.update(list(range(100)), np.arange(300).reshape(100, 3))  # 300 pairs
    stored = table.counts.copy()
    st.update([0], np.array([[0, 0, 7]]))  # one old pair, one new pair
    changed = np.flatnonzero(table.counts != stored)
    assert changed.size == 2 and table.scale == 0.25
    np.testing.assert_array_equal(st.counts([1, 0], np.array([[3, 4, 5], [0, 7, 1]])),
                                  [[0.5, 0.5, 0.5], [2.5, 1.0, 0.5]])
    st.update([5], np.array([[99, 99, 99]]))  # scale 0.125 < 0.2: folded back into the counts
    assert table.scale == 1.0
    np.testing.assert_array_equal(st.counts([1, 0, 5], np.array([[3, 4, 5], [0, 7, 1], [99, 15, 16]])),
                                  [[0.25, 0.25, 0.25], [1.25, 0.5, 0.25], [3.0, 0.25, 0.25]])


def test_answer_counts_accept_torch_and_numpy_inputs() -> None:
    st = AnswerCounts()
    st.update(torch.tensor([4, 5]), torch.tensor([[1, 1, 2], [2, 2, 2]]))
    st.update(np.array([4, 6]), np.array([[1, 3, 3], [0, 0, 0]], dtype=np.int32))
    assert snapshot(st) == {(4, 1): 3.0, (4, 2): 1.0, (5, 2): 3.0, (4, 3): 2.0, (6, 0): 3.0}
    np.testing.assert_array_equal(st.counts([4], torch.tensor([[1, 2, 3]])), [[3.0, 1.0, 2.0]])


# --------------------------------------------------------------------------- state dict

# Written by the sorted-key store this table replaced (same format, version 1): pairs in the
# order of its internal keys (prompt code, then *answer code* = order of first appearance, so
# -3 after 5), JSON-typed values.
OLD_STATE = {
    "format": "passlens.advantages.AnswerCounts",
    "version": 1,
    "discount": 0.9,
    "prompt_ids": ["a", "a", 7, 7],
    "answers": [5, -3, 5, 1099511627776],
    "counts": [1.9, 1.0, 2.0, 0.5],
}


def test_loads_a_state_dict_written_by_the_sorted_store() -> None:
    st = AnswerCounts()
    st.load_state_dict(json.loads(json.dumps(OLD_STATE)))
    assert st.discount == 0.9 and len(st) == 4
    np.testing.assert_array_equal(st.counts(["a", 7, "b"], np.array([[5, -3, 2**40], [5, 2**40, 5], [5, 5, 5]])),
                                  [[1.9, 1.0, 0.0], [2.0, 0.5, 2.0], [0.0, 0.0, 0.0]])
    snap = st.state_dict()  # re-emitted sorted by (prompt code, answer id)
    assert snap == dict(OLD_STATE, prompt_ids=["a", "a", 7, 7], answers=[-3, 5, 5, 2**40], counts=[1.0, 1.9, 2.0, 0.5])
    st.update(["a"], np.array([[-3, 9]]))
    assert snapshot(st) == pytest.approx({("a", -3): 1.9, ("a", 5): 1.71, (7, 5): 1.8, (7, 2**40): 0.45, ("a", 9): 1.0})


@pytest.mark.parametrize("kind", ["dense", "wide", "nasty"])
def test_state_dict_round_trip(kind: str) -> None:
    rng = np.random.default_rng(11)
    st = AnswerCounts(discount=0.95)
    for _ in range(4):
        st.update([f"p{i}" for i in rng.integers(0, 6, size=5)] + [3], random_answers(rng, 6, 5, kind))
    snap = st.state_dict()
    assert set(snap) == {"format", "version", "discount", "prompt_ids", "answers", "counts"}
    clone = AnswerCounts()
    clone.load_state_dict(json.loads(json.dumps(snap)))
    assert clone.state_dict() == snap
    ids, probe = ["p0", "p1", 3, "zz"], random_answers(rng, 4, 5, kind)
    np.testing.assert_array_equal(clone.counts(ids, probe), st.counts(ids, probe))
    r = rng.random((4, 5))
    np.testing.assert_array_equal(np.asarray(novelty(r, probe, clone, ids)), np.asarray(novelty(r, probe, st, ids)))
    assert clone.state_dict() == st.state_dict()
    shuffled = {key: v for key, v in snap.items()}  # any order of the pairs loads the same
    perm = rng.permutation(len(snap["answers"]))
    for key in ("prompt_ids", "answers", "counts"):
        shuffled[key] = [snap[key][i] for i in perm]
    other = AnswerCounts()
    other.load_state_dict(shuffled)  # (prompt codes now in the shuffled order)
    assert snapshot(other) == {(p, a): c for p, a, c in zip(snap["prompt_ids"], snap["answers"], snap["counts"])}


def test_load_state_dict_rejects_bad_snapshots_and_keeps_the_old_state() -> None:
    st = AnswerCounts()
    st.update([1], np.array([[2, 2]]))
    before = st.state_dict()
    bad = [
        ({"format": "other"}, "not an"),
        (dict(OLD_STATE, version=2), "unsupported"),
        (dict(OLD_STATE, counts=[1.0]), "differ in length"),
        (dict(OLD_STATE, counts=[1.0, -1.0, 1.0, 1.0]), "finite and ≥ 0"),
        (dict(OLD_STATE, counts=[1.0, float("nan"), 1.0, 1.0]), "finite and ≥ 0"),
        (dict(OLD_STATE, counts=[1.0, float("inf"), 1.0, 1.0]), "finite and ≥ 0"),
        (dict(OLD_STATE, answers=[5, -3, 5, 5]), "pair twice"),
        (dict(OLD_STATE, prompt_ids=["a", "a", "a", 7], answers=[5, -3, 5, 9]), "pair twice"),
        (dict(OLD_STATE, discount=0.0), "discount"),
        # No silent conversion: fractional, string, boolean or out-of-range ids, string counts.
        (dict(OLD_STATE, answers=[5, -3, 5.5, 1]), "answers must be integers, got a float"),
        (dict(OLD_STATE, answers=["5", "-3", "5", "1"]), "answers must be integers, got a str"),
        (dict(OLD_STATE, answers=[5, -3, True, 1]), "answers must be integers, got a bool"),
        (dict(OLD_STATE, answers=[5, -3, 2**63, 1]), "must fit in int64"),
        (dict(OLD_STATE, answers=[5, -3, 2**64, 1]), "must fit in int64"),
        (dict(OLD_STATE, counts=["1", 1.0, 1.0, 1.0]), "counts must be numbers, got a str"),
        ({k: v for k, v in OLD_STATE.items() if k != "counts"}, "lacks 'counts'"),
    ]
    for state, msg in bad:
        with pytest.raises(ValueError, match=msg):
            st.load_state_dict(state)
        assert st.state_dict() == before


@pytest.mark.parametrize("discount", [5e-324, 1e-320, 1e-200])
def test_tiny_discounts_keep_counts_finite(discount: float) -> None:
    """A discount below the fold threshold folds the scale before adding: add / scale cannot overflow."""
    st = AnswerCounts(discount)
    for _ in range(3):
        st.update(["p"], np.array([[1, 1, 2]]))
    np.testing.assert_array_equal(st.counts(["p"], np.array([[1, 2]])), [[2.0, 1.0]])  # older steps ≈ 0
    clone = AnswerCounts()
    clone.load_state_dict(st.state_dict())
    assert clone.state_dict() == st.state_dict()


def test_empty_state_dict_round_trip() -> None:
    st = AnswerCounts()
    snap = st.state_dict()
    assert snap["prompt_ids"] == snap["answers"] == snap["counts"] == []
    clone = AnswerCounts(discount=0.5)
    clone.load_state_dict(snap)
    assert len(clone) == 0 and clone.discount == 1.0


# --------------------------------------------------------------------------- novelty


def loop_novelty(r: np.ndarray, a: np.ndarray, ref: DictCounts, ids: list[Hashable], bonus: float, decay: float,
                 correct_only: bool, update: bool) -> np.ndarray:
    """novelty, group by group, sample by sample: the bonus from the counts before the batch, then RLOO."""
    B, n = r.shape
    out = np.zeros((B, n))
    for b in range(B):
        shaped = []
        for i in range(n):
            N = ref.d.get((ids[b], int(a[b, i])), 0.0)
            give = (r[b, i] > 0) or not correct_only
            shaped.append(r[b, i] + (bonus * (1.0 + N) ** (-decay) if give else 0.0))
        for i in range(n):
            out[b, i] = shaped[i] - (sum(shaped) - shaped[i]) / (n - 1)
    if update:
        ref.update(ids, a)
    return out


@pytest.mark.parametrize("kind", ["dense", "shifted", "wide", "nasty"])
@pytest.mark.parametrize("params", [
    {"bonus": 0.3},
    {"bonus": 1.0, "decay": 1.5, "correct_only": False},
    {"bonus": 0.5, "update": False},
])
def test_novelty_matches_a_per_group_loop(kind: str, params: dict[str, Any]) -> None:
    rng = np.random.default_rng(13)
    st, ref = AnswerCounts(discount=0.9), DictCounts(0.9)
    pool: list[Hashable] = [0, 1, "x", "y", 2]
    if not params.get("update", True):  # some history to read
        seed_ids = [0, 1, "x", "y", 2]
        seed_ans = random_answers(rng, 5, 8, kind)
        st.update(seed_ids, seed_ans)
        ref.update(seed_ids, seed_ans)
    full = {"bonus": 0.1, "decay": 0.5, "correct_only": True, "update": True, **params}
    for step in range(5):
        B, n = int(rng.integers(1, 9)), int(rng.integers(2, 8))
        ids = [pool[i] for i in rng.integers(0, len(pool), size=B)]  # repeats share history
        r = rng.choice([0.0, 1.0, 0.5, -0.25], size=(B, n))
        a = random_answers(rng, B, n, kind)
        got = np.asarray(novelty(r, a, st, ids, **params))
        want = loop_novelty(r, a, ref, ids, full["bonus"], full["decay"], full["correct_only"], full["update"])
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
        assert_same(st, ref)


def test_novelty_large_batch_matches_the_loop_and_keeps_dtype() -> None:
    """A batch big enough for the table's windowed rounds and the all-present grid path."""
    rng = np.random.default_rng(17)
    B, n = 300, 16
    ids = list(range(B))
    st, ref = AnswerCounts(), DictCounts()
    for step in range(3):
        r = (rng.random((B, n)) < 0.6).astype(np.float64)
        a = rng.integers(0, 4, size=(B, n))
        want = loop_novelty(r, a, ref, ids, 0.1, 0.5, True, True)
        got = novelty(torch.tensor(r, dtype=torch.float32), torch.tensor(a), st, torch.tensor(ids))
        assert got.dtype == torch.float32
        np.testing.assert_allclose(got.numpy(), want, rtol=0, atol=1e-6)
    assert_same(st, ref)


# --------------------------------------------------------------------------- row blocks (threads)


@pytest.fixture
def many_blocks():
    """Split even small batches into blocks of rows (run on threads); restored afterwards."""
    from passlens.advantages import _parallel, get_num_threads, set_num_threads

    saved, saved_min = get_num_threads(), _parallel.MIN_PARALLEL
    _parallel.MIN_PARALLEL = 1
    yield set_num_threads
    set_num_threads(saved)
    _parallel.MIN_PARALLEL = saved_min


@pytest.mark.parametrize("kind", ["dense", "wide"])
def test_results_do_not_depend_on_the_row_blocks(kind: str, many_blocks: Any) -> None:
    rng = np.random.default_rng(19)
    B, n = 23, 7
    batches = [(rng.choice([0.0, 1.0, 0.3], size=(B, n)), random_answers(rng, B, n, kind),
                [int(i) for i in rng.integers(0, 15, size=B)]) for _ in range(4)]
    outs, snaps, probes = [], [], []
    for threads in (1, 2, 3, 5):
        many_blocks(threads)
        st = AnswerCounts(discount=0.9)
        outs.append([np.asarray(novelty(r, a, st, ids)) for r, a, ids in batches])
        snaps.append(st.state_dict())
        probes.append(st.counts(batches[0][2], batches[0][1]))
    for out, snap, probe in zip(outs[1:], snaps[1:], probes[1:]):
        assert all(np.array_equal(x, y) for x, y in zip(out, outs[0]))
        assert snap == snaps[0]
        assert np.array_equal(probe, probes[0])


def test_answer_counts_on_empty_batches() -> None:
    st = AnswerCounts()
    st.update([], np.zeros((0, 3), dtype=np.int64))
    assert st.counts([], np.zeros((0, 3), dtype=np.int64)).shape == (0, 3) and len(st) == 0
    st.update([1, 2], np.zeros((2, 0), dtype=np.int64))  # prompts without samples: no pairs
    assert st.counts([1], np.zeros((1, 0), dtype=np.int64)).shape == (1, 0)
    assert repr(st) == "AnswerCounts(discount=1.0, prompts=2, pairs=0)"


def test_grid_cells_without_samples_are_never_recorded() -> None:
    """Ids 0..3 in groups of 6: most (group, id) cells used, some empty — the grid path lists only the used ones."""
    rng = np.random.default_rng(29)
    st, ref = AnswerCounts(discount=0.7), DictCounts(0.7)
    for step in range(6):
        ids = [int(i) for i in rng.integers(0, 30, size=40)]  # repeated prompts too
        a = rng.integers(0, 4, size=(40, 6))
        counts = np.array([np.bincount(row, minlength=4) for row in a])
        assert (counts == 0).any() and distinct_pairs(a).size.min() >= 1  # empty cells exist, none is listed
        r = rng.choice([0.0, 1.0], size=(40, 6))
        got = np.asarray(novelty(r, a, st, ids, bonus=0.5, update=step % 3 != 2))
        want = loop_novelty(r, a, ref, ids, 0.5, 0.5, True, step % 3 != 2)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
        assert_same(st, ref)
        np.testing.assert_allclose(st.counts(ids, a), ref.counts(ids, a), rtol=1e-12)


def test_prompt_ids_key_like_their_python_values() -> None:
    st = AnswerCounts()
    st.update([np.int64(3), torch.tensor(4), "s"], np.zeros((3, 2), dtype=np.int64))
    snap = st.state_dict()
    assert snap["prompt_ids"] == [3, 4, "s"] and [type(p) for p in snap["prompt_ids"]] == [int, int, str]
    np.testing.assert_array_equal(st.counts([3, np.int32(4), torch.tensor(3)], np.zeros((3, 1), dtype=np.int64)),
                                  [[2.0], [2.0], [2.0]])
    with pytest.raises(ValueError, match=r"prompt_ids\[1\] = \[1\] is not a hashable scalar id"):
        st.counts([3, [1]], np.zeros((2, 1), dtype=np.int64))
    with pytest.raises(ValueError, match="hashable"):
        novelty(np.ones((2, 2)), np.zeros((2, 2), dtype=np.int64), st, [{}, 3])
    assert len(st) == 3  # nothing recorded by the failed calls


def test_answer_counts_with_more_and_more_prompts_and_wider_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    """A tiny table that keeps growing, small ids that get wider (grid path, then sorted path)."""
    monkeypatch.setattr(TAB, "_MIN_CAPACITY", 2)
    rng = np.random.default_rng(31)
    st, ref = AnswerCounts(discount=0.9), DictCounts(0.9)
    for step in range(12):
        ids = [int(i) for i in rng.integers(0, 8 + 40 * step, size=12)]  # more and more prompts
        a = rng.integers(0, 1 + step * 5, size=(12, 4))  # and wider small ids
        r = rng.choice([0.0, 1.0], size=(12, 4))
        got = np.asarray(novelty(r, a, st, ids, bonus=0.5))
        np.testing.assert_allclose(got, loop_novelty(r, a, ref, ids, 0.5, 0.5, True, True), rtol=0, atol=1e-12)
        assert_same(st, ref)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(st.lists(st.tuples(st.lists(st.sampled_from([0, 1, 2, "p"]), min_size=1, max_size=4), st.data()),
                min_size=1, max_size=5))
def test_answer_counts_property(steps: list[tuple[list[Hashable], st.DataObject]]) -> None:
    """Any sequence of updates (prompts repeated within and across batches, any int64 ids) reads like the dict."""
    state, ref = AnswerCounts(discount=0.5), DictCounts(0.5)
    for ids, data in steps:
        a = np.array(data.draw(st.lists(st.lists(ID, min_size=3, max_size=3), min_size=len(ids), max_size=len(ids))),
                     dtype=np.int64)
        np.testing.assert_allclose(state.counts(ids, a), ref.counts(ids, a), rtol=1e-12)
        state.update(ids, a)
        ref.update(ids, a)
        assert_same(state, ref)


# --------------------------------------------------------------------------- errors word for word, edge values


def _raises_exactly(exc: type[Exception], msg: str, call: Any) -> None:
    import re

    with pytest.raises(exc, match=f"^{re.escape(msg)}$"):
        call()


def test_novelty_errors_word_for_word() -> None:
    r, ans, st = np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([[1, 2], [3, 3]]), AnswerCounts()
    cases = [
        (lambda: novelty(np.ones((2, 1)), np.ones((2, 1), dtype=int), st, [0, 1]),
         "novelty needs n ≥ 2 samples per group, got n=1"),
        (lambda: novelty(r, None, st, [0, 1]), "novelty needs answers= (int (B, n) answer-class ids)"),
        (lambda: novelty(r, ans, None, [0, 1]),
         "novelty needs state=AnswerCounts() (per-prompt answer counts across steps)"),
        (lambda: novelty(r, ans, st, None), "novelty needs prompt_ids= (one id per group, length B)"),
        (lambda: novelty(r, ans, st, "ab"), "prompt_ids must be a sequence of B=2 ids, got str"),
        (lambda: novelty(r, ans, st, b"ab"), "prompt_ids must be a sequence of B=2 ids, got bytes"),
        (lambda: novelty(r, ans, st, {0, 1}), "prompt_ids must be a sequence of B=2 ids, got set"),
        (lambda: novelty(r, ans, st, 7), "prompt_ids must be a sequence of B=2 ids, got int"),
        (lambda: novelty(r, ans, st, [0, 1, 2]), "prompt_ids has length 3, rewards has B=2 groups; they must match"),
        (lambda: novelty(r, ans, st, [0, 1], bonus=-1.0), "novelty: bonus and decay must be finite floats ≥ 0, got -1.0, 0.5"),
        (lambda: novelty(r, ans, st, [0, 1], bonus=float("inf")),
         "novelty: bonus and decay must be finite floats ≥ 0, got inf, 0.5"),
        (lambda: novelty(r, ans, st, [0, 1], decay=-1.0), "novelty: bonus and decay must be finite floats ≥ 0, got 0.1, -1.0"),
        (lambda: novelty(r, ans, st, [0, 1], decay=float("nan")),
         "novelty: bonus and decay must be finite floats ≥ 0, got 0.1, nan"),
    ]
    for call, msg in cases:
        _raises_exactly(ValueError, msg, call)
    assert len(st) == 0  # nothing recorded by a refused call


def test_novelty_bonus_0_is_rloo_and_decay_0_a_constant_bonus() -> None:
    """bonus = 0 and decay = 0 are allowed (≥ 0): no shaping, and a bonus that ignores the counts."""
    from passlens.advantages import rloo

    r, ans = np.array([[1.0, 0.0, 1.0]]), np.array([[4, 5, 6]])
    st = AnswerCounts()
    st.update(["p"], np.array([[4, 4, 4]]))  # answer 4 seen 3 times, 6 never
    np.testing.assert_allclose(novelty(r, ans, st, ["p"], bonus=0.0, update=False), rloo(r), rtol=0, atol=1e-15)
    # decay 0: every correct sample gets +0.5 whatever its count → shaped (1.5, 0, 1.5), then RLOO by hand.
    np.testing.assert_allclose(novelty(r, ans, st, ["p"], bonus=0.5, decay=0.0, update=False),
                               [[0.75, -1.5, 0.75]], rtol=0, atol=1e-15)


def test_answer_counts_errors_word_for_word() -> None:
    for bad in (1.5, 2.0, 0.0, -0.5, float("nan")):
        _raises_exactly(ValueError, f"AnswerCounts: discount must be in (0, 1], got {bad!r}", lambda: AnswerCounts(bad))
    assert AnswerCounts(1.0).discount == 1.0
    st = AnswerCounts()
    _raises_exactly(ValueError, "answers must be a 2-D int array (B, n), got shape (3,)",
                    lambda: st.update([0], np.array([1, 2, 3])))
    _raises_exactly(ValueError, "answers must be a 2-D int array (B, n), got shape ()", lambda: st.counts([0], None))
    fmt = "passlens.advantages.AnswerCounts"
    cases = [
        (dict(OLD_STATE, version=2), f"unsupported {fmt} version 2"),
        ({k: v for k, v in OLD_STATE.items() if k != "version"}, f"unsupported {fmt} version None"),
        ({k: v for k, v in OLD_STATE.items() if k not in ("prompt_ids", "counts")},
         f"{fmt} state dict lacks 'prompt_ids', 'counts'"),
        (dict(OLD_STATE, counts=[1.0]), "state dict lists prompt_ids, answers, counts differ in length"),
        (dict(OLD_STATE, counts=[1.0, -1.0, 1.0, 1.0]), "state dict counts must be finite and ≥ 0"),
        (dict(OLD_STATE, answers=[5, -3, 5, 5]), "state dict holds a (prompt id, answer) pair twice"),
        # The out-of-range id named is the largest in magnitude (here negative, not the maximum).
        (dict(OLD_STATE, answers=[5, -(2**64), 3, 1]), f"state dict answers must fit in int64, got {-(2**64)}"),
        # A numpy float among the ids is refused (np.array(..., int64) would truncate 5.5 to 5).
        (dict(OLD_STATE, answers=[5, -3, np.float64(5.5), 1]), "state dict answers must be integers, got a float64"),
    ]
    for state, msg in cases:
        _raises_exactly(ValueError, msg, lambda: st.load_state_dict(state))


def test_load_state_dict_takes_numpy_lists_zero_and_subnormal_counts_exactly() -> None:
    """Counts ≥ 0 load bit for bit: 0 (a count discounted away), subnormals, numpy scalars and arrays."""
    tiny = 5e-324  # the smallest subnormal: any rescaling on the way in would round it to 0 or 1e-323
    counts = [0.0, tiny, 3 * tiny, 1e300]
    state = dict(OLD_STATE, counts=counts)
    for snap in (state,
                 dict(state, counts=[np.float64(c) for c in counts]),
                 dict(state, answers=np.array(OLD_STATE["answers"]), counts=np.array(counts))):
        loaded = AnswerCounts()
        loaded.load_state_dict(snap)
        assert snapshot(loaded) == dict(zip(zip(OLD_STATE["prompt_ids"], OLD_STATE["answers"]), counts))
        assert loaded.discount == 0.9
        np.testing.assert_array_equal(loaded.counts(["a", 7], np.array([[-3, 5], [5, 1099511627776]])),
                                      [[tiny, 0.0], [3 * tiny, 1e300]])
