"""The vectorized hash table behind :class:`~passlens.advantages.novelty.AnswerCounts`.

:class:`PairTable` maps (prompt code, answer id) int64 pairs to float64 counts. Every
operation (find, insert, add) takes a whole batch of keys and runs as numpy passes over
it, in probe rounds over the keys not resolved yet, so a step costs O(batch) whatever
the number of keys stored.
"""

from __future__ import annotations

import itertools

import numpy as np

__all__ = ["PairTable", "keys_of"]

_MIN_CAPACITY = 16  # slots of a new table (a power of two)
# Slots read per query by successive probe rounds (see PairTable): the home slot, then windows
# that grow as the unresolved queries get fewer; the last size repeats. Lookups go from 4 straight
# to the last size, capped at the table's reach (one round for the last ~2% of the keys).
_WINDOWS = (1, 4, 16, 64)
# Answer ids 0 .. _SMALL − 1 are also indexed directly by (prompt code, answer id) (see
# PairTable), in at most _SMALL_BUDGET entries per table slot plus _SMALL_FREE.
_SMALL = 64
_SMALL_BUDGET = 4
_SMALL_FREE = 4096
# Below this the discount scale of PairTable is folded back into its counts (stored counts then
# stay ≤ batch·steps / 1e-150, far from overflow; the counts themselves keep full precision).
_MIN_SCALE = 1e-150
# Hash constants: odd 64-bit multipliers (2⁶⁴/φ, Knuth's Fibonacci hashing, and splitmix64's first).
_K_PROMPT = np.uint64(0x9E3779B97F4A7C15)
_K_MIX = np.uint64(0xBF58476D1CE4E5B9)
# In a bool (…, 2) array viewed as uint16, the bits of element 0 (little-endian: the low byte).
_FIRST_BYTE = np.uint16(0x00FF if np.little_endian else 0xFF00)


def _home(q: np.ndarray, shift: int) -> np.ndarray:
    """Home slot int64 (Q,) of keys q int64 (Q, 2) = (prompt code, answer id), in a table of 2^(64 − shift) slots.

        x = (pc·K₁ mod 2⁶⁴) XOR ac,   x ← x XOR (x >> 32),   home = (x·K₂ mod 2⁶⁴) >> shift

    Multiplicative (Fibonacci) hashing: the top bits of x·K₂ depend on all bits of x
    below them, so the top bits index the table. The xor-shift first folds x's high half
    down, so that ids differing only in high bits (e.g. multiples of 2⁴⁰) still spread;
    pc·K₁ spreads consecutive prompt codes over the word before the answer id is mixed in.
    """
    u = q.view(np.uint64)
    # uint64 arithmetic wraps around mod 2⁶⁴: intended (numpy does not warn for arrays).
    x = np.multiply(u[:, 0], _K_PROMPT)
    x ^= u[:, 1]
    x ^= x >> np.uint64(32)
    x *= _K_MIX
    x >>= np.uint64(shift)
    return x.view(np.int64)


def keys_of(pc: np.ndarray, ac: np.ndarray) -> np.ndarray:
    """Keys int64 (Q, 2) = (prompt code, answer id) from two int64 (Q,) arrays."""
    q = np.empty((pc.size, 2), dtype=np.int64)
    q[:, 0] = pc
    q[:, 1] = ac
    return q


def _rows(q: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """q[idx] for keys q int64 (Q, 2) and int64 (k,) indices, as one 16-byte gather per row."""
    return q.view(np.complex128)[idx, 0].view(np.int64).reshape(-1, 2)


def _warm(a: np.ndarray, queries: int) -> None:
    """Read one byte per 64-byte cache line of the C-contiguous array a, when ``queries``
    random reads would touch a good share of its lines anyway (queries ≥ lines / 4).

    Between two batches the table goes cold (a batch's own (B, n) arrays stream tens of MB
    through the caches), and random probes of a cold table run at memory latency; one
    sequential pass streams it back at memory bandwidth first. Measured at B = 4096, n = 64
    (32 k pairs, 1 MB of keys): the first probe round goes from ~0.5 ms to ~0.1 ms, for a
    ~0.1 ms pass. A table much larger than the batch is not swept.
    """
    if 4 * queries >= a.nbytes // 64:
        a.reshape(-1).view(np.uint8)[::64].max()


class PairTable:
    """Vectorized open-addressing hash table: (prompt code, answer id) → float64 count.

    A key is two int64, prompt code (≥ 0; −1 marks an empty slot) and answer id (any
    int64), stored side by side in ``keys`` (C, 2) rather than packed into one int64: the
    answer id keeps all 64 bits, so no answer → code map is needed (the sorted store kept
    one, with a 2³² limit), and the prompt column doubles as the occupancy flag. A probe
    reads both parts with one 16-byte gather (``keys`` viewed as complex128, bits copied
    as they are): one cache line per probe, which matters when the table is cold. Queries
    come as int64 (Q, 2) key arrays in the same layout, so a probe compares whole rows.

    Capacity C is a power of two and the table is at most half full (:meth:`reserve`
    doubles C and re-inserts every key, vectorized). Collisions are resolved by linear
    probing from the home slot (:func:`_home`). Every operation runs over all queries at
    once, in probe rounds over the still-unresolved subset: each round is one gather of
    a window of consecutive slots per query and one compare. The windows grow with the
    rounds (``_WINDOWS``): at load 1/2 about 79% of the keys sit in their home slot and
    98% within 4 more, so the few others take one wide round instead of one round per
    slot. ``reach`` is the largest distance of a stored key from its home slot: a
    lookup has its answer after reading reach + 1 slots, an empty slot or not.

    Small answer ids (0 ≤ id < ``_SMALL``, e.g. classes 0..7) are also indexed directly:
    ``small`` int32 (R, W) holds the slot of every stored key (prompt code p, answer id a)
    with a < W at small[p, a], and C (the absent slot) where there is no such key. It is
    complete (every insert of such a key writes it, a rebuild re-creates it), so a lookup
    of small ids is one gather and no probing: ~4× cheaper for a (4096 × 8)-pair batch.
    Rows and columns grow by doubling; if the index would outgrow ``_SMALL_BUDGET``
    entries per slot (many prompts with few small ids each), it is dropped until the next
    rebuild (small = None) and every lookup probes.

    ``counts`` has C + 1 entries: counts[C] stays 0 and is the slot :meth:`find` reports
    for an absent key, so ``counts[slot]`` reads 0 for unseen keys without a mask.

    Counts are stored in units of ``scale``: a key's count is counts[slot]·scale. Discounting
    every count by d is then ``scale *= d``, and adding x to a key stores x / scale, so a
    step costs O(batch) instead of a pass over all C slots. When scale falls below
    ``_MIN_SCALE`` it is folded back into the counts (one O(C) pass every
    log(_MIN_SCALE)/log(d) steps, e.g. every ~470 steps at d = 0.5).
    """

    def __init__(self, capacity: int | None = None) -> None:
        cap = _MIN_CAPACITY if capacity is None else int(capacity)  # (the module constant, read per table)
        self.scale = 1.0  # true count = counts[slot]·scale (kept when the table is rebuilt)
        self._empty(1 << max(1, cap - 1).bit_length())  # power of two ≥ capacity, ≥ 2

    def _empty(self, cap: int) -> None:
        self.keys = np.zeros((cap, 2), dtype=np.int64)  # (C, 2): prompt code, answer id
        self.keys[:, 0] = -1
        self.counts = np.zeros(cap + 1)
        self.size = 0
        self.reach = 0
        self.small: np.ndarray | None = np.full((0, 0), cap, dtype=np.int32)

    def _index_small(self, q: np.ndarray, slot: np.ndarray) -> None:
        """Record the slots int64 (Q,) of newly placed keys q int64 (Q, 2) in the small-id index."""
        if self.small is None:
            return
        sel = np.flatnonzero((q[:, 1] >= 0) & (q[:, 1] < _SMALL))
        if not sel.size:
            return
        pc, ac = q[sel, 0], q[sel, 1]
        R, W = self.small.shape
        R2 = max(R, 1 << (int(pc.max()).bit_length()))  # powers of two > the largest index
        W2 = max(W, 1 << (int(ac.max()).bit_length()))
        if (R2, W2) != (R, W):
            if R2 * W2 > _SMALL_BUDGET * self.capacity + _SMALL_FREE:
                self.small = None  # too sparse to pay: probe instead (until the next rebuild)
                return
            grown = np.full((R2, W2), self.capacity, dtype=np.int32)
            grown[:R, :W] = self.small
            self.small = grown
        self.small[pc, ac] = slot[sel]

    def _find_small(self, q: np.ndarray) -> np.ndarray:
        """:meth:`find` by the small-id index, for keys q int64 (Q, 2) with answer ids all in 0 .. _SMALL − 1."""
        assert self.small is not None
        R, W = self.small.shape
        pc, ac = q[:, 0], q[:, 1]
        if int(pc.max()) < R and int(ac.max()) < W:  # the usual case: one gather
            flat = pc * W
            flat += ac
            return self.small.reshape(-1)[flat].astype(np.int64)
        out = np.full(q.shape[0], self.capacity, dtype=np.int64)  # outside the index: no such key
        k = np.flatnonzero((pc < R) & (ac < W))
        out[k] = self.small.reshape(-1)[pc[k] * W + ac[k]]
        return out

    @property
    def capacity(self) -> int:
        return int(self.keys.shape[0])

    def _scan(self, pos: np.ndarray, q: np.ndarray, w: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One insert round: slots pos, …, pos + w − 1 (mod C), pos int64 (Q,), of the keys q int64 (Q, 2).

        Returns (slot, hit, empty), slot int64 (Q,) and hit, empty bool (Q,): the first
        slot of the window that holds the key (hit) or is empty (empty: the key may go
        there); neither where the window has no such slot (slot is then meaningless and
        the probe goes on at pos + w).
        """
        Q = pos.size
        both = self.keys.view(np.complex128)[:, 0]  # (C,) one 16-byte item per slot
        if w == 1:
            got = both[pos].view(np.int64).reshape(Q, 2)
            hit = (got == q).view(np.uint16)[:, 0] == 0x0101  # both halves equal (two True bytes)
            return pos, hit, got[:, 0] < 0
        mask = self.capacity - 1
        # Windows laid out (w, Q): every elementwise op runs along Q, and all of them on
        # contiguous data (strided or short-row loops are several times slower).
        win = pos + np.arange(w)[:, None]  # (w, Q)
        win &= mask
        got = both[win].view(np.int64).reshape(w, Q, 2)
        go_on = (got == q).view(np.uint16)[..., 0] != 0x0101  # (w, Q): not the key …
        neg = (got < 0).view(np.uint16)[..., 0]  # … and not empty: the prompt half's byte of
        go_on &= (neg & _FIRST_BYTE) == 0  # the (prompt < 0, answer < 0) pair
        # f = number of leading go_on slots (w: none stops). For narrow windows over many
        # queries a running AND over the w rows is several times faster than argmax along
        # axis 0; wide windows come with few queries, where argmax's fixed cost is less.
        if w <= 4:
            run = go_on[0].copy()
            f = run.astype(np.int64)
            for j in range(1, w):
                run &= go_on[j]
                f += run
        else:
            f = np.argmin(go_on, axis=0)  # the first stop, 0 where there is none …
            f[go_on[f, np.arange(Q)]] = w  # … which reads a go_on slot there
        slot = (pos + f) & mask
        hit = f < w
        empty = self.keys[slot, 0] < 0
        empty &= hit
        hit &= ~empty
        return slot, hit, empty

    def _probe(self, pos: np.ndarray, q: np.ndarray, w: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One lookup round: the slots pos, …, pos + w − 1 (mod C), pos int64 (Q,), of keys q int64 (Q, 2).

        Returns (slot, hit, miss), slot int64 (Q,), hit and miss bool (Q,): hit where the
        window holds the key (at slot); miss where it does not but holds an empty slot
        (linear probing never leaves an empty slot between a key and its home, so the key
        is absent). Lighter than :meth:`_scan` (no first-stop search): a key is stored at
        most once, so its position is a plain sum.
        """
        both = self.keys.view(np.complex128)[:, 0]  # (C,) one 16-byte item per slot
        if w == 1:
            got = both[pos].view(np.int64).reshape(-1, 2)
            hit = (got == q).view(np.uint16)[:, 0] == 0x0101  # both halves equal (two True bytes)
            return pos, hit, got[:, 0] < 0
        win = pos + np.arange(w)[:, None]  # (w, Q): rows along Q keep every loop contiguous
        win &= self.capacity - 1
        got = both[win].view(np.int64).reshape(w, -1, 2)
        match = (got == q).view(np.uint16)[..., 0] == 0x0101  # (w, Q), at most one True per column
        empty = (got < 0).view(np.uint16)[..., 0] & _FIRST_BYTE  # (w, Q) ≠ 0 where the prompt half is < 0
        hit = match.any(axis=0)
        win *= match  # the slot holding the key, 0 elsewhere …
        slot = win.sum(axis=0)  # … so the column sum is that slot
        miss = empty.any(axis=0)
        miss &= ~hit
        return slot, hit, miss

    def find(self, q: np.ndarray) -> np.ndarray:
        """Slot int64 (Q,) of each key of q int64 (Q, 2) (prompt codes ≥ 0); C where absent."""
        if self.small is None or q.shape[0] == 0:
            return self._probe_all(q)
        small = (q[:, 1] >= 0) & (q[:, 1] < _SMALL)
        if small.all():  # e.g. answer classes 0..7: no probing
            return self._find_small(q)
        if not small.any():  # e.g. hashed answer strings: no split of the queries
            return self._probe_all(q)
        out = np.empty(q.shape[0], dtype=np.int64)
        k, h = np.flatnonzero(small), np.flatnonzero(~small)
        if k.size:
            out[k] = self._find_small(_rows(q, k))
        out[h] = self._probe_all(_rows(q, h))
        return out

    def _probe_all(self, q: np.ndarray) -> np.ndarray:
        """:meth:`find` by probing the hash table."""
        cap = self.capacity
        home = _home(q, 65 - cap.bit_length())
        _warm(self.keys, home.size)
        slot, hit, miss = self._probe(home, q, 1)
        out = np.where(hit, slot, cap)
        hit |= miss
        idx = np.flatnonzero(~hit)  # not resolved yet: probe on
        qs = _rows(q, idx)  # their keys
        read, w = 1, _WINDOWS[1]  # slots read so far from each home; the next window
        while idx.size and read <= self.reach:  # every stored key lies within reach of its home
            w = min(w, self.reach + 1 - read)
            slot, hit, miss = self._probe((home[idx] + read) & (cap - 1), qs, w)
            out[idx[hit]] = slot[hit]
            hit |= miss
            go = np.flatnonzero(~hit)
            idx, qs = idx[go], _rows(qs, go)
            read += w
            w = _WINDOWS[-1]  # the few left: read up to reach at once (one round, not two)
        return out

    def lookup(self, q: np.ndarray) -> np.ndarray:
        """Count float64 (Q,) of each key of q int64 (Q, 2); 0 where absent or the prompt code is < 0."""
        known = q[:, 0] >= 0
        if known.all():
            slot = self.find(q)
            _warm(self.counts, slot.size)
            out = self.counts[slot]
        else:
            out = np.zeros(known.shape)
            k = np.flatnonzero(known)
            out[k] = self.counts[self.find(_rows(q, k))]
        if self.scale != 1.0:
            out *= self.scale
        return out

    def insert(self, q: np.ndarray) -> np.ndarray:
        """Place the keys q int64 (Q, 2) (prompt codes ≥ 0), absent from the table; returns slot int64 (Q,).

        A key listed several times gets one slot. The caller has made room
        (:meth:`reserve`); new slots start with count 0.
        """
        Q = q.shape[0]
        mask = self.capacity - 1
        out = np.empty(Q, dtype=np.int64)
        owner = np.empty(self.capacity, dtype=np.int64)  # scratch: read back only where just written
        idx = np.arange(Q)
        home = _home(q, 65 - self.capacity.bit_length())
        pos, qs = home, q
        for w in itertools.chain(_WINDOWS, itertools.repeat(_WINDOWS[-1])):
            if not idx.size:
                break
            slot, hit, empty = self._scan(pos, qs, w)
            claim = np.flatnonzero(empty)
            if claim.size:
                # Claim free slots by scatter: of several keys aiming at one slot, exactly one
                # write survives (whichever numpy applies last); reading the owner back tells
                # each key whether it won. Repeats of one key share a home and probe in
                # lockstep, so they meet the same slot in the same round.
                cs, ci = slot[claim], idx[claim]
                owner[cs] = ci
                won = owner[cs] == ci
                ws, wi = cs[won], ci[won]
                self.keys[ws] = _rows(q, wi)
                self.size += int(ws.size)
                self.reach = max(self.reach, int(((ws - home[wi]) & mask).max()))
                self._index_small(_rows(q, wi), ws)
                # Placed: the winners and the repeats of their keys (the slot now holds the key).
                hit[claim] = (_rows(self.keys, cs) == _rows(qs, claim)).view(np.uint16)[:, 0] == 0x0101
            out[idx[hit]] = slot[hit]
            go = np.flatnonzero(~hit)
            # Losers of a claim go on past the slot they lost; the others past the window.
            pos = np.where(empty, slot + 1, pos + w)[go] & mask
            idx, qs = idx[go], _rows(qs, go)
        return out

    def reserve(self, extra: int) -> bool:
        """Make room for ``extra`` more keys at load ≤ 1/2; True when the table was rebuilt (slots moved)."""
        need, cap = self.size + int(extra), self.capacity
        if 2 * need <= cap:
            return False
        while 2 * need > cap:
            cap *= 2
        occ = np.flatnonzero(self.keys[:, 0] >= 0)
        q, cnt = _rows(self.keys, occ), self.counts[occ]
        self._empty(cap)
        self.counts[self.insert(q)] = cnt
        return True

    def lookup_and_add(self, q: np.ndarray, add: np.ndarray, discount: float, distinct: bool) -> np.ndarray:
        """Counts float64 (Q,) of the keys q int64 (Q, 2) (prompt codes ≥ 0) before; then
        every count ← discount·count, and += add (Q,) for these keys. O(Q), whatever the size.

        With ``distinct`` false the same key may be listed several times (groups sharing a
        prompt id): all of them read the same count before, and all their ``add`` are summed.
        An absent key with add = 0 stays absent (it adds 0 to the always-0 slot C).
        """
        slot = self.find(q)
        _warm(self.counts, slot.size)
        stored = self.counts[slot]  # absent keys read the always-0 slot C
        before = stored * self.scale if self.scale != 1.0 else stored
        new = np.flatnonzero((slot == self.capacity) & (add > 0))
        if new.size:
            if self.reserve(new.size):  # (an upper bound on the new keys when some repeat)
                slot = self.find(q)  # every slot moved; the new keys are still absent
            slot[new] = self.insert(_rows(q, new))
        # Discount everything by the scale; add in the new units (see the class docstring). A scale
        # below _MIN_SCALE is folded in first, so that add / scale cannot overflow (a discount may be
        # as small as 5e-324).
        self.scale *= discount
        if self.scale < _MIN_SCALE:
            self.fold_scale()
            stored = self.counts[slot]  # (now in units of 1)
        step = add / self.scale if self.scale != 1.0 else add
        if distinct:  # distinct slots: one scatter, no second gather (new keys had stored = 0)
            self.counts[slot] = stored + step
        else:  # repeated slots: every addition is summed (ufunc.at: O(Q), fast since numpy 1.25)
            np.add.at(self.counts, slot, step)
        return before

    def fold_scale(self) -> None:
        """Fold ``scale`` into the stored counts (O(C)). Every count reads the same after; a table
        and a copy rebuilt from its :meth:`items` then hold the same bits and stay equal under updates."""
        if self.scale != 1.0:
            self.counts *= self.scale
            self.scale = 1.0

    def items(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(prompt code, answer id, count) of every stored key, sorted by (prompt code, answer id).

        Folds the discount scale into the counts first (:meth:`fold_scale`), so that a table
        restored from these items continues bit-for-bit like this one.
        """
        self.fold_scale()
        occ = np.flatnonzero(self.keys[:, 0] >= 0)
        pc, ac = self.keys[occ, 0], self.keys[occ, 1]
        o = np.lexsort((ac, pc))
        return pc[o], ac[o], self.counts[occ[o]]
