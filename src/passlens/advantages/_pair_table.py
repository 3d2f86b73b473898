"""The store behind :class:`~passlens.advantages.novelty.AnswerCounts`: (prompt code, answer id) → count.

A dict would be the plain choice, but a step reads and writes ~32 k pairs among millions
stored and per-pair Python work costs tens of milliseconds there (benchmarks/RESULTS.md).
:class:`PairTable` is a hash table whose operations take a whole batch of keys as numpy
arrays: O(batch) per call, whatever the number stored. The tests check it against a dict.
"""

from __future__ import annotations

import numpy as np

__all__ = ["PairTable"]

_MIN_CAPACITY = 16  # slots of a new table (a power of two)
_MIN_SCALE = 1e-150  # folded back below this: stored counts stay ≤ batch·steps/1e-150, far from overflow
# Odd 64-bit multipliers: 2⁶⁴/φ (Knuth's Fibonacci hashing) and splitmix64's first.
_K_PROMPT = np.uint64(0x9E3779B97F4A7C15)
_K_MIX = np.uint64(0xBF58476D1CE4E5B9)


def _home(pc: np.ndarray, ac: np.ndarray, capacity: int) -> np.ndarray:
    """Home slot int64 (Q,) of keys (prompt code pc, answer id ac), int64 (Q,) each, in 2^bits slots:
    x = (pc·K₁ mod 2⁶⁴) XOR ac, x ← x XOR (x >> 32) (ids differing only in high bits still
    spread), home = the top bits of x·K₂."""
    x = np.multiply(pc.view(np.uint64), _K_PROMPT)  # uint64 arithmetic wraps mod 2⁶⁴: intended
    x ^= ac.view(np.uint64)
    x ^= x >> np.uint64(32)
    x *= _K_MIX
    x >>= np.uint64(65 - capacity.bit_length())
    return x.view(np.int64)


class PairTable:
    """Vectorized hash table: (prompt code ≥ 0, answer id) int64 pairs → float64 count.

    Slots hold ``keys`` int64 (C, 2) = (prompt code, answer id) (prompt −1: empty) and ``counts``
    float64 (C,), 0 in empty slots; C is a power of two, the table at most half full. A batch of
    keys is probed at once, one slot per round over the keys not resolved yet, from each key's
    home slot on to its key or an empty slot (linear probing). A probe reads a slot with one
    16-byte gather (rows viewed as complex128, bits copied as they are): one cache miss, not two.
    Counts are stored in units of ``scale`` (count = counts[slot]·scale): discounting all by d is
    ``scale *= d`` and adding x stores x / scale, O(batch) not O(C). Below ``_MIN_SCALE`` the
    scale is folded back into the counts (an O(C) pass every ~470 steps at d = 0.5).
    """

    def __init__(self, capacity: int | None = None) -> None:
        cap = _MIN_CAPACITY if capacity is None else int(capacity)  # (the module constant, read per table)
        self.scale = 1.0
        self._empty(1 << max(1, (cap - 1).bit_length()))  # a power of two ≥ capacity, ≥ 2

    def _empty(self, capacity: int) -> None:
        self.keys = np.zeros((capacity, 2), dtype=np.int64)
        self.keys[:, 0] = -1
        self.counts = np.zeros(capacity)
        self.capacity, self.size = capacity, 0

    def _read(self, slot: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # (prompt code, answer id) of slots (Q,)
        got = self.keys.view(np.complex128)[slot, 0].view(np.int64)  # (2Q,): one 16-byte gather per slot
        return got[0::2], got[1::2]

    def _probe(self, pc: np.ndarray, ac: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(slot int64 (Q,), found bool (Q,)) for keys int64 (Q,) each: the slot holding the key, or the
        empty slot that ended its probe (where the key would go)."""
        mask = self.capacity - 1
        slot = _home(pc, ac, self.capacity)
        found = np.zeros(pc.size, dtype=bool)
        todo = np.arange(pc.size)
        while todo.size:
            p, a = self._read(slot[todo])
            hit = p == pc[todo]
            hit &= a == ac[todo]
            found[todo[hit]] = True
            todo = todo[~hit & (p >= 0)]  # another key's slot: probe on
            slot[todo] = (slot[todo] + 1) & mask
        return slot, found

    def _insert(self, pc: np.ndarray, ac: np.ndarray, slot: np.ndarray) -> np.ndarray:
        """Place keys int64 (Q,) each, absent (repeats allowed), from the empty slots int64 (Q,) where their
        probes ended (or their homes in an empty table); the caller made room. Returns their slots. Keys
        aiming at one free slot race for it: each writes −2 − (its index) there and the one whose write
        survived wins; the others probe on (repeats of a key move in lockstep: they meet at its slot)."""
        mask, prompt, both = self.capacity - 1, self.keys[:, 0], self.keys.view(np.complex128)[:, 0]
        todo, free = np.arange(pc.size), np.ones(pc.size, dtype=bool)
        while todo.size:
            claim = todo[free]
            prompt[slot[claim]] = -2 - claim
            won = prompt[slot[claim]] == -2 - claim
            w = claim[won]
            both[slot[w]] = np.stack([pc[w], ac[w]], axis=1).view(np.complex128)[:, 0]  # one 16-byte write per key
            self.size += int(w.size)
            rest = np.concatenate([todo[~free], claim[~won]])  # placed if a repeat of the key won the slot
            p, a = self._read(slot[rest])
            todo = rest[(p != pc[rest]) | (a != ac[rest])]
            slot[todo] = (slot[todo] + 1) & mask
            free = prompt[slot[todo]] < 0
        return slot

    def reserve(self, extra: int) -> None:
        """Make room for ``extra`` more keys at load ≤ 1/2 (growing C to a power of two, re-inserting every key)."""
        need = 2 * (self.size + int(extra))
        if need > self.capacity:
            occ = np.flatnonzero(self.keys[:, 0] >= 0)
            pc, ac, cnt = self.keys[occ, 0], self.keys[occ, 1], self.counts[occ]
            self._empty(1 << (need - 1).bit_length())
            self.counts[self._insert(pc, ac, _home(pc, ac, self.capacity))] = cnt

    def lookup(self, pc: np.ndarray, ac: np.ndarray) -> np.ndarray:
        """Counts float64 (Q,) of keys int64 (Q,) each; 0 where absent or the prompt code is −1 (unknown:
        its probe stops at the first empty slot, or "finds" one whose key reads (−1, 0): count 0 either way)."""
        return self.counts[self._probe(pc, ac)[0]] * self.scale

    def lookup_and_add(self, pc: np.ndarray, ac: np.ndarray, add: np.ndarray, discount: float) -> np.ndarray:
        """Counts float64 (Q,) of keys int64 (Q,) each (prompt codes ≥ 0) before; then every count ←
        discount·count, and += add float64 (Q,) > 0 for these keys. A key listed several times
        (groups sharing a prompt) reads the same count before, and all its ``add`` are summed."""
        self.reserve(pc.size)  # room for every key, so no rebuild moves the probed slots
        slot, found = self._probe(pc, ac)
        before = self.counts[slot] * self.scale  # absent keys read their empty slot: 0
        new = np.flatnonzero(~found)
        if new.size:
            slot[new] = self._insert(pc[new], ac[new], slot[new])
        self.scale *= discount
        if self.scale < _MIN_SCALE:  # fold first: add / scale cannot overflow (a discount may be 5e-324)
            self.fold_scale()
        np.add.at(self.counts, slot, add / self.scale)  # repeated slots sum every addition
        return before

    def fold_scale(self) -> None:
        """Fold ``scale`` into the stored counts (O(C)); every count reads the same after."""
        self.counts *= self.scale
        self.scale = 1.0

    def items(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(prompt code, answer id, count) of every stored key, sorted by (prompt code, answer id); the
        scale is folded first, so that a table loaded from these items continues bit for bit like this one."""
        self.fold_scale()
        occ = np.flatnonzero(self.keys[:, 0] >= 0)
        pc, ac = self.keys[occ, 0], self.keys[occ, 1]
        o = np.lexsort((ac, pc))
        return pc[o], ac[o], self.counts[occ[o]]
