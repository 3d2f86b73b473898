"""Count-based novelty bonus across training steps: :class:`AnswerCounts` and :func:`novelty`.

Scale convention (all of ``passlens.advantages``): the group *mean*
(1/n) Σ_i A_i ∇_θ log π(y_i) is the gradient estimate of the target.

Answer classes: ``answers`` holds an int id per sample (B, n), a canonical form of
the final answer (equal ids = same answer); for ``novelty`` ids must mean the same
answer across the steps of one prompt.
"""

from __future__ import annotations

import itertools
from typing import Any, Hashable, Mapping, Sequence

import numpy as np

from ._array import as_answers, as_rewards, is_torch, require_min_n, unsort_rows
from ._classes import dense_classes, sorted_runs

__all__ = ["AnswerCounts", "novelty"]

_KEY_SHIFT = 32  # key = prompt_code · 2³² + answer_code


def _as_id_list(prompt_ids: object, B: int) -> list[Hashable]:
    """Prompt ids as a list of B hashable Python scalars."""
    if prompt_ids is None:
        raise ValueError("novelty needs prompt_ids= (one id per group, length B)")
    if is_torch(prompt_ids) or isinstance(prompt_ids, np.ndarray):
        ids = prompt_ids.tolist()  # type: ignore[union-attr]
    elif isinstance(prompt_ids, (str, bytes)) or not isinstance(prompt_ids, Sequence):
        raise ValueError(f"prompt_ids must be a sequence of B={B} ids, got {type(prompt_ids).__name__}")
    else:
        ids = list(prompt_ids)
    if len(ids) != B:
        raise ValueError(f"prompt_ids has length {len(ids)}, rewards has B={B} groups; they must match")
    if set(map(type, ids)) <= {int, str}:  # the usual case, checked in C: nothing to convert
        return ids
    for b, p in enumerate(ids):
        if type(p) is int or type(p) is str:
            continue
        if isinstance(p, np.generic) or (is_torch(p) and p.ndim == 0):  # type: ignore[union-attr]
            ids[b] = p = p.item()  # numpy / 0-d tensor scalars key like the Python value
        try:
            hash(p)
        except TypeError:
            raise ValueError(f"prompt_ids[{b}] = {p!r} is not a hashable scalar id") from None
    return ids


def _found(sorted_keys: np.ndarray, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(pos, found): searchsorted positions of queries and whether each is present."""
    pos = np.searchsorted(sorted_keys, queries)
    if sorted_keys.size == 0:
        return pos, np.zeros(queries.shape, dtype=bool)
    # pos = size means "above every key": the clipped read then sees the largest key, which is smaller
    # than the query, so one gather and one compare decide every query (no boolean-mask indexing).
    found = sorted_keys[np.minimum(pos, sorted_keys.size - 1)] == queries
    return pos, found


def _per_sample(values: np.ndarray, cls: np.ndarray, slot: np.ndarray | None) -> np.ndarray:
    """Per-pair values (U,) read back by every sample, float64 (B, n) (see ``_pair_keys``)."""
    if slot is not None:  # slots are sparse in a (B·K,) table: place the values, then gather
        table = np.zeros(int(slot[-1]) + 1 if slot.size else 0)
        table[slot] = values
        values = table
    return values[cls]


class AnswerCounts:
    """Per-prompt counts of the answer classes produced at earlier training steps.

    Keyed by (prompt id, answer id). Prompt ids are any hashable scalars (ints or
    strings, e.g. dataset indices or verl's uid strings) passed per group as
    ``prompt_ids=`` (length B); answer ids are int64. Lookups and updates are
    vectorized over the batch: each group is reduced to its distinct answers
    (one ``bincount`` for small ids, else one sort), which are matched against sorted
    int64 keys with ``searchsorted``;
    only the prompt-id → code map is a Python dict.

    Args:
      discount: float in (0, 1]; every :meth:`update` first multiplies all stored
        counts by it (1 = plain counts; < 1 forgets old steps geometrically).

    The state is explicit and serializable: :meth:`state_dict` returns plain Python
    lists (JSON-friendly when the prompt ids are ints or strings) and
    :meth:`load_state_dict` restores it exactly.
    """

    FORMAT = "passlens.advantages.AnswerCounts"
    VERSION = 1

    def __init__(self, discount: float = 1.0) -> None:
        d = float(discount)
        if not (0.0 < d <= 1.0):
            raise ValueError(f"AnswerCounts: discount must be in (0, 1], got {discount!r}")
        self.discount = d
        self._prompt_code: dict[Hashable, int] = {}
        self._prompt_of_code: list[Hashable] = []
        self._ans_sorted = np.empty(0, dtype=np.int64)  # distinct answer ids, ascending
        self._ans_code_of_sorted = np.empty(0, dtype=np.int64)  # their codes
        self._ans_of_code = np.empty(0, dtype=np.int64)  # code → answer id
        self._keys = np.empty(0, dtype=np.int64)  # sorted (prompt, answer) keys
        self._counts = np.empty(0, dtype=np.float64)  # aligned with _keys

    def __len__(self) -> int:
        """Number of stored (prompt, answer) pairs."""
        return int(self._keys.size)

    def __repr__(self) -> str:
        return f"AnswerCounts(discount={self.discount}, prompts={len(self._prompt_of_code)}, pairs={len(self)})"

    # -- codes

    def _prompt_codes(self, ids: list[Hashable], add: bool) -> np.ndarray:
        """int64 (B,) codes of validated prompt ids; −1 for unseen ids when not adding."""
        # map() over the dict's bound get runs in C, several times faster than a generator.
        codes = np.fromiter(map(self._prompt_code.get, ids, itertools.repeat(-1)), dtype=np.int64, count=len(ids))
        if add and (codes < 0).any():  # new prompts get codes in order of first appearance
            for p in ids:
                if p not in self._prompt_code:
                    self._prompt_code[p] = len(self._prompt_of_code)
                    self._prompt_of_code.append(p)
            if len(self._prompt_of_code) >= 2**31:
                raise ValueError("AnswerCounts holds more than 2³¹ prompts")
            codes = np.fromiter(map(self._prompt_code.get, ids), dtype=np.int64, count=len(ids))
        return codes

    def _answer_codes(self, vals: np.ndarray, add: bool) -> np.ndarray:
        """int64 codes of answer ids vals (U,); −1 for unseen ids when not adding."""
        if add:
            _, seen = _found(self._ans_sorted, vals)
            new = np.unique(vals[~seen])
            if new.size:
                start = self._ans_of_code.size
                if start + new.size > 2**_KEY_SHIFT:
                    raise ValueError("AnswerCounts holds more than 2³² distinct answer ids")
                codes_new = np.arange(start, start + new.size, dtype=np.int64)
                self._ans_of_code = np.concatenate([self._ans_of_code, new])
                all_vals = np.concatenate([self._ans_sorted, new])
                all_codes = np.concatenate([self._ans_code_of_sorted, codes_new])
                o = np.argsort(all_vals, kind="stable")
                self._ans_sorted, self._ans_code_of_sorted = all_vals[o], all_codes[o]
        pos, found = _found(self._ans_sorted, vals)
        out = np.full(vals.shape, -1, dtype=np.int64)
        out[found] = self._ans_code_of_sorted[pos[found]]
        return out

    def _pair_keys(self, ids: list[Hashable], a: np.ndarray, add: bool):  # type: ignore[no-untyped-def]
        """Distinct (group, answer) pairs of a batch: (cls, slot, keys (U,), sizes (U,)).

        Pairs are listed by group, then ascending answer id. cls int64 (B, n) is every
        sample's slot in a per-pair table and slot int64 (U,) each pair's slot, or None
        when the slots are just 0..U − 1 (see :func:`_per_sample`). keys are −1 for
        pairs never seen (when not adding); sizes are the number of samples of the
        group with that answer.
        """
        B, n = a.shape
        pcodes = self._prompt_codes(ids, add)  # (B,)
        dense = dense_classes(a)
        if dense is not None:  # small ids: count (group, answer) slots, no sort
            cls, K, lo = dense
            count = np.bincount(cls.ravel(), minlength=B * K)
            slot = np.flatnonzero(count)  # ascending: by group, then answer id
            grp, col = np.divmod(slot, K)
            sizes = count[slot]
            # At most K distinct ids: code each present id once, then read the codes per pair.
            cols = np.flatnonzero(count.reshape(B, K).any(axis=0))
            code_of_col = np.full(K, -1, dtype=np.int64)
            code_of_col[cols] = self._answer_codes(cols + lo, add)
            ac = code_of_col[col]
        else:
            order, s, run, starts = sorted_runs(a)
            cls, slot = unsort_rows(order, run.reshape(B, n)), None
            grp = starts // n
            sizes = np.diff(np.append(starts, B * n))
            ac = self._answer_codes(s.ravel()[starts], add)  # (U,)
        pc = pcodes[grp]  # (U,)
        keys = np.where((pc >= 0) & (ac >= 0), (pc << _KEY_SHIFT) + ac, -1)
        return cls, slot, keys, sizes

    def _lookup(self, keys: np.ndarray) -> np.ndarray:
        pos, found = _found(self._keys, keys)
        found &= keys >= 0
        out = np.zeros(keys.shape)
        out[found] = self._counts[pos[found]]
        return out

    def _add(self, keys: np.ndarray, sizes: np.ndarray) -> None:
        self._lookup_and_add(keys, sizes)

    def _lookup_and_add(self, keys: np.ndarray, sizes: np.ndarray) -> np.ndarray:
        """:meth:`_lookup` of keys (all ≥ 0) before, then :meth:`_add`: one search of the stored keys."""
        if keys.size < 2 or bool((keys[1:] > keys[:-1]).all()):
            # Already strictly ascending (e.g. prompt and answer codes both in batch order):
            # the keys are their own unique list, no sort and no regrouping of sizes.
            uniq, inverse, add = keys, None, sizes.astype(np.float64)
        else:  # groups may share a prompt id
            uniq, inverse = np.unique(keys, return_inverse=True)
            inverse = inverse.ravel()
            add = np.bincount(inverse, weights=sizes, minlength=uniq.size)
        pos, found = _found(self._keys, uniq)
        if found.all():  # every pair seen before (the steady state): plain gathers, no masks
            before = self._counts[pos]
            if self.discount != 1.0:
                self._counts *= self.discount
            self._counts[pos] += add  # pos holds distinct slots: uniq is strictly ascending
            return before if inverse is None else before[inverse]
        before = np.zeros(uniq.shape)
        before[found] = self._counts[pos[found]]
        if self.discount != 1.0:
            self._counts *= self.discount
        self._counts[pos[found]] += add[found]
        new = ~found
        if new.any():
            # np.insert at sorted positions keeps the key array sorted without re-sorting it.
            self._keys = np.insert(self._keys, pos[new], uniq[new])
            self._counts = np.insert(self._counts, pos[new], add[new])
        return before if inverse is None else before[inverse]

    # -- public API

    def counts(self, prompt_ids: object, answers: object) -> np.ndarray:
        """Stored count N(prompt_b, answer_bi) for every sample (0 if never seen).

        Args:
          prompt_ids: (B,) hashable ids, one per group.
          answers: int (B, n) answer ids.

        Returns:
          float64 (B, n) numpy.
        """
        a = _as_int_matrix(answers)
        cls, slot, keys, _ = self._pair_keys(_as_id_list(prompt_ids, a.shape[0]), a, add=False)
        return _per_sample(self._lookup(keys), cls, slot)

    def update(self, prompt_ids: object, answers: object) -> None:
        """Discount the stored counts, then add one per sample of this step.

        Args:
          prompt_ids: (B,) hashable ids, one per group.
          answers: int (B, n) answer ids.
        """
        a = _as_int_matrix(answers)
        _, _, keys, sizes = self._pair_keys(_as_id_list(prompt_ids, a.shape[0]), a, add=True)
        self._add(keys, sizes)

    def state_dict(self) -> dict[str, Any]:
        """Plain-Python snapshot of the counts.

        Returns:
          dict with "format", "version", "discount" and three aligned lists of
          length S (stored pairs): "prompt_ids" (the ids as given), "answers" (int)
          and "counts" (float), sorted by internal key.
        """
        pcode = self._keys >> _KEY_SHIFT
        acode = self._keys & ((1 << _KEY_SHIFT) - 1)
        return {
            "format": self.FORMAT,
            "version": self.VERSION,
            "discount": self.discount,
            "prompt_ids": [self._prompt_of_code[i] for i in pcode.tolist()],
            "answers": self._ans_of_code[acode].tolist(),
            "counts": self._counts.tolist(),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Replace this object's contents by a :meth:`state_dict` snapshot.

        Args:
          state: a mapping as returned by :meth:`state_dict` (e.g. after a JSON round trip).

        Raises:
          ValueError: wrong format or version, ragged lists, negative or non-finite
            counts, or a (prompt id, answer) pair listed twice.
        """
        if not isinstance(state, Mapping) or state.get("format") != self.FORMAT:
            raise ValueError(f"not an {self.FORMAT} state dict")
        if state.get("version") != self.VERSION:
            raise ValueError(f"unsupported {self.FORMAT} version {state.get('version')!r}")
        pids, ans, cnt = state["prompt_ids"], state["answers"], state["counts"]
        if not (len(pids) == len(ans) == len(cnt)):
            raise ValueError("state dict lists prompt_ids, answers, counts differ in length")
        counts = np.asarray(cnt, dtype=np.float64).reshape(-1)
        if counts.size and (~np.isfinite(counts) | (counts < 0)).any():
            raise ValueError("state dict counts must be finite and ≥ 0")
        fresh = AnswerCounts(state["discount"])
        pc = fresh._prompt_codes(_as_id_list(list(pids), len(pids)), add=True)
        ac = fresh._answer_codes(np.asarray(ans, dtype=np.int64).reshape(-1), add=True)
        keys = (pc << _KEY_SHIFT) + ac
        order = np.argsort(keys, kind="stable")
        keys = keys[order]
        if keys.size > 1 and (keys[1:] == keys[:-1]).any():
            raise ValueError("state dict holds a (prompt id, answer) pair twice")
        fresh._keys, fresh._counts = keys, counts[order]
        self.__dict__.update(fresh.__dict__)


def _as_int_matrix(answers: object) -> np.ndarray:
    a = np.asarray(answers.detach().cpu().numpy() if is_torch(answers) else answers)  # type: ignore[union-attr]
    if a.ndim != 2:
        raise ValueError(f"answers must be a 2-D int array (B, n), got shape {a.shape}")
    return as_answers(a, a.shape, "AnswerCounts")


def novelty(
    rewards: object,
    answers: object,
    state: AnswerCounts,
    prompt_ids: object,
    *,
    bonus: float = 0.1,
    decay: float = 0.5,
    correct_only: bool = True,
    update: bool = True,
) -> object:
    """Count-based novelty bonus on answer classes across training steps, then RLOO.

        r̃_i = r_i + bonus·(1 + N(x, a_i))^(−decay)·[r_i > 0 if correct_only]
        A_i = r̃_i − (1/(n − 1)) Σ_{j≠i} r̃_j

    N(x, a) is the (optionally discounted) number of times prompt x produced answer
    class a at *earlier* steps, read from ``state`` before this batch; decay = 0.5 is
    the UCB-style 1/√N bonus. In the spirit of the "historical exploration" bonus of
    Song, Kempe & Munos 2025, "Outcome-based Exploration for LLM Reasoning",
    arXiv 2509.06941 (their exact form was not available to us; this is our
    variant). Heuristic: the bonus changes between steps, so no fixed objective is
    estimated. Samples with the same answer in one group get the same bonus, and
    all lookups happen before the batch is recorded (groups sharing a prompt id in
    one batch see the same history).

    Args:
      rewards: float (B, n), numpy or torch; n ≥ 2.
      answers: int (B, n) answer-class ids.
      state: an :class:`AnswerCounts`, updated in place with this batch when
        ``update`` is true (the only side effect).
      prompt_ids: (B,) hashable ids (ints or strings), one per group.
      bonus: float ≥ 0, bonus of a never-seen answer.
      decay: float ≥ 0, exponent of the count decay.
      correct_only: give the bonus only to samples with positive reward.
      update: record this batch's answers in ``state`` after computing A.

    Returns:
      float (B, n), same type, dtype and device as ``rewards``; rows sum to 0.
    """
    r, restore = as_rewards(rewards)
    require_min_n(r, 2, "novelty")
    a = as_answers(answers, r.shape, "novelty")
    if not isinstance(state, AnswerCounts):
        raise ValueError("novelty needs state=AnswerCounts() (per-prompt answer counts across steps)")
    ids = _as_id_list(prompt_ids, r.shape[0])
    bn, dc = float(bonus), float(decay)
    if not (np.isfinite(bn) and bn >= 0 and np.isfinite(dc) and dc >= 0):
        raise ValueError(f"novelty: bonus and decay must be finite floats ≥ 0, got {bonus!r}, {decay!r}")
    # Codes for new prompts/answers are allocated only when recording; they hold no counts yet.
    cls, slot, keys, sizes = state._pair_keys(ids, a, add=update)
    # Counts from before this batch; when recording, the same search of the stored keys serves both.
    seen = state._lookup_and_add(keys, sizes) if update else state._lookup(keys)
    if dc == 0.5:  # the default: 1/√ is a fast vector op, pow is not (same value to ~1 ulp)
        per_pair = bn / np.sqrt(1.0 + seen)  # (U,) bonus of each (group, answer)
    else:
        per_pair = bn * (1.0 + seen) ** (-dc)
    shaped = _per_sample(per_pair, cls, slot)  # the bonus
    if correct_only:
        shaped *= r > 0  # the bonus is finite and ≥ 0: ×False gives exactly 0.0, no mask indexing
    shaped += r
    n = r.shape[1]
    shaped -= shaped[:, :1].copy()  # shift by the first sample: constant rows give exactly 0
    shaped -= shaped.mean(axis=1, keepdims=True)
    shaped *= n / (n - 1)
    return restore(shaped)
