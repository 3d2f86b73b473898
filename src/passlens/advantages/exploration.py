"""Exploration-aware group advantages: unlikeliness (rank), novelty (counts across
steps) and coverage@k (distinct correct answers).

Scale convention (all of ``passlens.advantages``): the group *mean*
(1/n) Σ_i A_i ∇_θ log π(y_i) is the gradient estimate of the target.

Answer classes: ``answers`` holds an int id per sample (B, n), a canonical form of
the final answer (equal ids = same answer). Ids only need to be comparable
within a group (and, for ``novelty``, across steps of the same prompt).
"""

from __future__ import annotations

import itertools
from typing import Any, Hashable, Literal, Mapping, Sequence

import numpy as np

from ._array import (
    as_answers,
    as_logprobs,
    as_rewards,
    check_k,
    is_torch,
    packed_order,
    repair_rows,
    require_binary,
    require_min_n,
    sort_rows,
    unsort_rows,
)
from ._tables import avoid_table
from .policy_gradient import group_normalise

__all__ = [
    "unlikeliness",
    "novelty",
    "AnswerCounts",
    "coverage",
    "coverage_at_k",
    "CoverageVariant",
]

CoverageVariant = Literal["rloo", "loo-1", "s"]
_COVERAGE_VARIANTS = ("rloo", "loo-1", "s")


# --------------------------------------------------------------------------- ranks


def _sorted_min_ranks(xs: np.ndarray) -> np.ndarray:
    """Min-ranks of rows sorted ascending, xs (B, n): where each run of equal values starts, int64 (B, n)."""
    B, n = xs.shape
    new = np.empty((B, n), dtype=bool)
    new[:, 0] = True
    np.not_equal(xs[:, 1:], xs[:, :-1], out=new[:, 1:])
    # Position of the first element of each run of equal values = its min-rank. The running
    # maximum goes over the flat (B·n,) array (contiguous, several times faster than along
    # axis 1); every row starts a run, so no maximum leaks from one row into the next.
    flat = np.where(new.ravel(), np.arange(B * n), 0)
    np.maximum.accumulate(flat, out=flat)
    return flat.reshape(B, n) - np.arange(0, B * n, n)[:, None]


def _min_ranks(x: np.ndarray) -> np.ndarray:
    """Ascending rank per row, ties sharing the lowest rank: #{j : x_j < x_i}, int64 (B, n)."""
    order, xs = sort_rows(x)
    return unsort_rows(order, _sorted_min_ranks(xs))


def _rank_factors(x: np.ndarray, fac: np.ndarray) -> np.ndarray:
    """fac[min-rank of x_bi in row b], float64 (B, n), for x (B, n) and a per-rank table fac (n,).

    Equals ``fac[_min_ranks(x)]`` with one sort and one scatter: without ties (the usual
    case for log-probabilities) the rank of sorted slot j is j itself, so the table is
    scattered as is, with no rank array and no gather.
    """
    B, n = x.shape
    packed = packed_order(x, check_distinct=True)
    if packed is None:
        flat, xs = sort_rows(x)
    else:
        order, distinct = packed
        flat = order.ravel()
        if distinct or n == 1:  # strictly ascending rows: sorted, no ties (known from the keys alone)
            # The rank of sorted slot j is j: scatter the table itself (tiled, as a broadcast
            # scatter source is slower than a contiguous one).
            out = np.empty((B, n))
            out.ravel()[flat] = np.broadcast_to(fac, (B, n)).ravel()
            return out
        xs = x.ravel()[flat].reshape(B, n)
        repair_rows(x, order, xs)
    return unsort_rows(flat, fac[_sorted_min_ranks(xs)])


def unlikeliness(
    rewards: object, logprobs: object, *, beta: float = 0.25, eps: float = 1e-6, ddof: int = 1
) -> object:
    """The unlikeliness reward, then GRPO normalisation.

        r̃_i = r_i·(1 − β·rank_i/n),   A = (r̃ − mean r̃)/(std r̃ + ε)

    He, Fried & Welleck 2025, "Rewarding the Unlikely: Lifting GRPO Beyond
    Distribution Sharpening", arXiv 2506.02355; the form above is the one in the
    authors' released code (``_compute_advantages``; released config β = 0.25).
    rank_i is the ascending rank of sample i's sequence log-probability within its
    group (0 = least likely); tied log-probabilities share the lowest rank, so the
    result is permutation-equivariant. Among equally rewarded samples the rarer one
    gets the larger advantage, which counters GRPO's bias toward already-likely
    correct answers. Heuristic: no objective is estimated without bias.

    Args:
      rewards: float (B, n), numpy or torch; n ≥ 2.
      logprobs: float (B, n), log π(y_i) per sample (He et al. use the mean per-token
        log-probability under the sampling policy).
      beta: float ≥ 0, rank penalty.
      eps, ddof: as :func:`~passlens.advantages.grpo`.

    Returns:
      float (B, n), same type, dtype and device as ``rewards``.
    """
    r, restore = as_rewards(rewards)
    require_min_n(r, 2, "unlikeliness")
    lp = as_logprobs(logprobs, r.shape, "unlikeliness")
    b = float(beta)
    if not np.isfinite(b) or b < 0:
        raise ValueError(f"unlikeliness: beta must be a finite float ≥ 0, got {beta!r}")
    n = r.shape[1]
    # Per-rank factors 1 − β·rank/n, computed as before (same float operations per rank).
    shaped = _rank_factors(lp, 1.0 - (b / n) * np.arange(n))
    shaped *= r
    return restore(group_normalise(shaped, eps=eps, ddof=ddof, who="unlikeliness"))


# --------------------------------------------------------------------------- answer runs


def _sorted_runs(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
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


def _dense_classes(a: np.ndarray) -> tuple[np.ndarray, int, int] | None:
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


def _classes(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
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
    dense = _dense_classes(a)
    if dense is not None:
        cls, K, _ = dense
        return cls, np.repeat(np.arange(B, dtype=np.int64), K), B * K
    order, _, run, starts = _sorted_runs(a)
    return unsort_rows(order, run.reshape(B, n)), starts // n, int(starts.size)


# --------------------------------------------------------------------------- novelty

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
        dense = _dense_classes(a)
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
            order, s, run, starts = _sorted_runs(a)
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


# --------------------------------------------------------------------------- coverage


def _coverage_inputs(rewards: object, answers: object, k: int, who: str):  # type: ignore[no-untyped-def]
    """Validated inputs, reduced to answer classes (see :func:`_classes`).

    Returns (restore, r, B, n, k, cls, m, group):
      r: float64 (B, n) {0, 1} rewards (a private copy);
      cls: int64 (B, n) class index of every sample;
      m: int64 (U,) correct samples in each class of equal answer ids, i.e. the
        size m_a of the correct class a (wrong samples sharing the id are not in it);
      group: int64 (U,) the group of each class.
    """
    r, restore = as_rewards(rewards)
    B, n = r.shape
    kk = check_k(k, n, who)
    require_binary(r, who)
    a = as_answers(answers, r.shape, who)
    cls, group, U = _classes(a)
    # r is exactly 0/1 here, so the weighted bincount counts correct samples exactly.
    m = np.bincount(cls.ravel(), weights=r.ravel(), minlength=U).astype(np.int64)
    return restore, r, B, n, kk, cls, m, group


def _per_group(group: np.ndarray, values: np.ndarray, B: int) -> np.ndarray:
    """Σ of per-class values over each group's classes, float64 (B, 1)."""
    return np.bincount(group, weights=values, minlength=B)[:, None]


def coverage_at_k(rewards: object, answers: object, k: int) -> object:
    """Unbiased coverage@k: expected number of distinct correct answers among k samples.

        coverage@k = Σ_{a correct} [1 − (1 − π(a))^k]
        estimate   = Σ_{a} [1 − C(n − m_a, k)/C(n, k)],   m_a = correct samples with answer a

    Each term is Chen et al.'s (2021, Eq. 1) pass@k estimator for the event
    "y is correct with answer a", unbiased for 1 − (1 − π(a))^k; classes never
    sampled contribute 0 to both sides in expectation. coverage@1 = c/n,
    coverage@k ≤ k, and coverage@k ≥ pass@k with equality when every correct
    sample has the same answer.

    Args:
      rewards: float (B, n) in {0, 1}, numpy or torch.
      answers: int (B, n) answer-class ids.
      k: int, 1 ≤ k ≤ n.

    Returns:
      float (B,), same type, dtype and device as ``rewards``.
    """
    restore, _, B, n, k, _, m, group = _coverage_inputs(rewards, answers, k, "coverage_at_k")
    hit = 1.0 - avoid_table(n, k)  # (n+1,) 1 − R(n, m, k); hit[0] = 0 for classes with no correct sample
    return restore(_per_group(group, hit[m], B)[:, 0])


def coverage(rewards: object, answers: object, k: int, *, variant: CoverageVariant = "rloo") -> object:
    """Unbiased policy-gradient advantages for coverage@k (distinct correct answers).

    Target: C_k = Σ_{a ∈ 𝒜⁺} [1 − (1 − π(a))^k] over the correct answer classes 𝒜⁺
    (see :func:`coverage_at_k`). Per class a, C_k's term is pass@k of the event
    E_a = "correct with answer a", with probability q_a = π(a), and its gradient is
    ∇[1 − (1 − q_a)^k] = k(1 − q_a)^{k−1} ∇q_a. With m_a = #samples in E_a,
    m_{a,−i} the count among the other n − 1 samples, and
    α̂(m) = k·C(n − 1 − m, k − 1)/C(n − 1, k − 1) (the unbiased estimate of
    k(1 − q)^{k−1} from n − 1 draws with m hits):

    * ``"rloo"`` (default): per class, α-weighted RLOO (as :func:`alpha_rloo`), summed:
          A_i = Σ_{a∈𝒜⁺} α̂(m_{a,−i})·(1[i ∈ E_a] − m_{a,−i}/(n − 1))
      i.e. a correct sample of class a gets α̂(m_a − 1)(1 − (m_a − 1)/(n − 1)) minus the
      leave-one-out baseline Σ_{b≠a} α̂(m_b) m_b/(n − 1); an incorrect one gets
      −Σ_b α̂(m_b) m_b/(n − 1).
    * ``"loo-1"``: PKPO's binary s^(loo−1) per class: A_i = α̂(m_{a_i} − 1) =
      k·C(n − m_{a_i}, k − 1)/C(n − 1, k − 1) for a correct sample of class a_i, 0 otherwise.
    * ``"s"``: PKPO's binary s per class (Eq. 8): A_i = k·1[i correct] +
      Σ_{a∈𝒜⁺, i∉E_a} k·ρ(n − 1, m_a, k − 1).

    Proof of unbiasedness (all three): for each class a, α̂(m_{a,−i}) and
    m_{a,−i} are functions of y_{−i} only, independent of y_i, and E[α̂(m_{a,−i})]
    = k(1 − q_a)^{k−1} (a U-statistic). Hence
    E[α̂(m_{a,−i})·1[y_i ∈ E_a] ∇ log π(y_i)] = k(1 − q_a)^{k−1} ∇q_a and
    E[α̂·m_{a,−i}/(n−1)·∇ log π(y_i)] = E[α̂ m/(n−1)]·E[∇ log π(y_i)] = 0, so each sample's
    term is unbiased for ∇[1 − (1 − q_a)^k]; the mean over i and the sum over a give
    ∇C_k. "s" and "loo-1" are PKPO's Theorem 2 / Eq. 33 applied to the indicator of
    E_a (unbiased by Walder & Karkhanis 2025, arXiv 2505.15201); classes with m_a = 0
    contribute 0. With one correct class, "rloo" = :func:`alpha_rloo` and "loo-1" =
    ``pkpo(variant="loo-1")``; with k = 1 "rloo" = :func:`rloo`.

    Args:
      rewards: float (B, n) in {0, 1}, numpy or torch (tells which samples are correct).
      answers: int (B, n) answer-class ids (equal id = same answer).
      k: int, 1 ≤ k ≤ n (n ≥ 2 for "rloo").
      variant: "rloo", "loo-1" or "s".

    Returns:
      float (B, n), same type, dtype and device as ``rewards``.

    Cost: O(B·n) with one ``bincount`` when the answer ids of the batch span at most
    2n values (else one sort per group, O(B·n log n)), plus O(n·k) for the tables.
    """
    if variant not in _COVERAGE_VARIANTS:
        raise ValueError(f"coverage: variant must be one of {', '.join(_COVERAGE_VARIANTS)}; got {variant!r}")
    restore, r, B, n, k, cls, m, group = _coverage_inputs(rewards, answers, k, "coverage")
    alpha = np.zeros(n + 1)  # α̂(m) for m = 0..n−1; the m = n slot is never used with weight
    alpha[:n] = k * avoid_table(n - 1, k - 1)
    m_others = np.maximum(m - 1, 0)  # m_{a,−i} seen by a correct sample of the class
    # Per-class values, spread to the samples by one gather; multiplying by the {0, 1}
    # reward keeps them for correct samples and gives exactly 0 for wrong ones (the
    # values are finite and ≥ 0), with no mask or ``where`` temporaries.
    if variant == "loo-1":
        out = alpha[m_others][cls]
        out *= r
        return restore(out)
    if variant == "s":
        h = k - alpha  # h(m) = k·ρ(n − 1, m, k − 1) (h(0) = 0); h[n] = k (every draw hits)
        total = _per_group(group, h[m], B)  # Σ_a h(m_a), what an incorrect sample gets
        out = (k - h[m])[cls]  # k for its own class, minus h(m_a) counted in the total
        out *= r
        out += total
        return restore(out)
    if n < 2:
        raise ValueError("coverage (variant 'rloo') needs n ≥ 2 samples per group, got n=1")
    t = alpha * np.arange(n + 1) / (n - 1)  # T(m) = α̂(m)·m/(n − 1), the class baseline
    base = _per_group(group, t[m], B)  # Σ_a T(m_a), the baseline of an incorrect sample
    out = (alpha[m_others] * (1.0 - m_others / (n - 1)) + t[m])[cls]  # own term, own baseline back
    out *= r
    out -= base
    return restore(out)
