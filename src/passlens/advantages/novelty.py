"""Count-based novelty bonus across training steps: :class:`AnswerCounts` and :func:`novelty`.

Scale convention (all of ``passlens.advantages``): the group *mean*
(1/n) Σ_i A_i ∇_θ log π(y_i) is the gradient estimate of the target.

Answer classes: ``answers`` holds an int id per sample (B, n), a canonical form of
the final answer (equal ids = same answer); for ``novelty`` ids must mean the same
answer across the steps of one prompt.

Layout of a call: the batch is reduced to its distinct (group, answer) pairs
(:func:`~passlens.advantages._pairs.distinct_pairs`), the pairs are looked up and recorded in
:class:`AnswerCounts`' table (:class:`~passlens.advantages._pair_table.PairTable`: O(pairs) per
step, whatever the number stored), and each pair's bonus is read back by its samples.
"""

from __future__ import annotations

import itertools
from typing import Any, Hashable, Mapping, Sequence

import numpy as np

from ._array import as_answers, as_rewards, is_torch, require_min_n
from ._pair_table import PairTable
from ._pairs import distinct_pairs
from .policy_gradient import rloo_
from .registry import Param, register

__all__ = ["AnswerCounts", "novelty"]


def _as_id_list(prompt_ids: object, B: int) -> list[Hashable]:
    """Prompt ids as a list of B ids (the ids themselves are checked by :func:`_scalar_ids`)."""
    if prompt_ids is None:
        raise ValueError("novelty needs prompt_ids= (one id per group, length B)")
    if is_torch(prompt_ids) or isinstance(prompt_ids, np.ndarray):
        ids = prompt_ids.tolist()
    elif isinstance(prompt_ids, (str, bytes)) or not isinstance(prompt_ids, Sequence):
        raise ValueError(f"prompt_ids must be a sequence of B={B} ids, got {type(prompt_ids).__name__}")
    else:
        ids = list(prompt_ids)
    if len(ids) != B:
        raise ValueError(f"prompt_ids has length {len(ids)}, rewards has B={B} groups; they must match")
    return ids


def _scalar_ids(ids: list[Hashable]) -> list[Hashable]:
    """The ids as hashable Python scalars: numpy and 0-d torch scalars become their Python value."""
    if set(map(type, ids)) <= {int, str}:  # the usual case, checked in C: nothing to convert
        return ids
    ids = list(ids)
    for b, p in enumerate(ids):
        if type(p) is int or type(p) is str:
            continue
        if isinstance(p, np.generic) or (is_torch(p) and p.ndim == 0):
            ids[b] = p = p.item()  # numpy / 0-d tensor scalars key like the Python value
        try:
            hash(p)
        except TypeError:
            raise ValueError(f"prompt_ids[{b}] = {p!r} is not a hashable scalar id") from None
    return ids


class AnswerCounts:
    """Per-prompt counts of the answer classes produced at earlier training steps.

    Keyed by (prompt id, answer id). Prompt ids are any hashable scalars (ints or
    strings, e.g. dataset indices or verl's uid strings) passed per group as
    ``prompt_ids=`` (length B); answer ids are any int64. Lookups and updates are
    vectorized over the batch: each group is reduced to its distinct answers, whose
    (prompt code, answer id) keys are looked up in a vectorized hash table
    (``PairTable``); only the prompt-id → code map is a Python dict.

    Args:
      discount: float in (0, 1]; every :meth:`update` first multiplies all stored
        counts by it (1 = plain counts; < 1 forgets old steps geometrically). This costs
        O(batch), not O(stored pairs): the table keeps one common scale factor.

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
        self._table = PairTable()

    def __len__(self) -> int:
        """Number of stored (prompt, answer) pairs."""
        return self._table.size

    def __repr__(self) -> str:
        return f"AnswerCounts(discount={self.discount}, prompts={len(self._prompt_of_code)}, pairs={len(self)})"

    def _prompt_codes(self, ids: list[Hashable], add: bool) -> np.ndarray:
        """int64 (B,) codes of prompt ids (see :func:`_as_id_list`); −1 for unseen ids when not adding."""
        # map() over the dict's bound get runs in C, several times faster than a generator. When
        # every id is known (the steady state) the ids need no checking: a numpy scalar finds
        # the code of its Python value (equal hash and ==), and an unhashable id raises here.
        get = self._prompt_code.get
        try:
            codes = np.fromiter(map(get, ids, itertools.repeat(-1)), dtype=np.int64, count=len(ids))
        except TypeError:
            codes = None
        if codes is None or (codes < 0).any():
            ids = _scalar_ids(ids)  # raises for an unhashable id; 0-d tensors become scalars
            if add:  # new prompts get codes in order of first appearance
                for p in ids:
                    if p not in self._prompt_code:
                        self._prompt_code[p] = len(self._prompt_of_code)
                        self._prompt_of_code.append(p)
            codes = np.fromiter(map(get, ids, itertools.repeat(-1)), dtype=np.int64, count=len(ids))
        return codes

    def _pair_counts(self, ids: list[Hashable], a: np.ndarray, record: bool) -> tuple[np.ndarray, np.ndarray]:
        """(counts float64 (U,) before this batch, index int64 (B, n)) for the distinct (group, answer)
        pairs of int64 answers a (B, n) of the prompts ``ids`` (see :func:`_as_id_list`) and the sample →
        pair index; with ``record``, then discount and add the batch (new prompts get codes only
        then: before, they hold no counts)."""
        codes = self._prompt_codes(ids, add=record)
        p = distinct_pairs(a)
        pc = codes[p.row]  # (U,) each pair's prompt code
        if record:
            return self._table.lookup_and_add(pc, p.id, p.size.astype(np.float64), self.discount), p.inverse
        return self._table.lookup(pc, p.id), p.inverse

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
        seen, index = self._pair_counts(_as_id_list(prompt_ids, a.shape[0]), a, record=False)
        return np.take(seen, index)

    def update(self, prompt_ids: object, answers: object) -> None:
        """Discount the stored counts, then add one per sample of this step.

        Args:
          prompt_ids: (B,) hashable ids, one per group.
          answers: int (B, n) answer ids.
        """
        a = _as_int_matrix(answers)
        self._pair_counts(_as_id_list(prompt_ids, a.shape[0]), a, record=True)

    def state_dict(self) -> dict[str, Any]:
        """Plain-Python snapshot of the counts.

        Returns:
          dict with "format", "version", "discount" and three aligned lists of
          length S (stored pairs): "prompt_ids" (the ids as given), "answers" (int)
          and "counts" (float), sorted by (prompt code = order of first appearance,
          answer id), so equal contents give equal snapshots.
        """
        pc, ac, cnt = self._table.items()
        return {
            "format": self.FORMAT,
            "version": self.VERSION,
            "discount": self.discount,
            "prompt_ids": [self._prompt_of_code[i] for i in pc.tolist()],
            "answers": ac.tolist(),
            "counts": cnt.tolist(),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Replace this object's contents by a :meth:`state_dict` snapshot.

        Any order of the listed pairs is accepted (older snapshots list them in another order).

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
        missing = [key for key in ("discount", "prompt_ids", "answers", "counts") if key not in state]
        if missing:
            raise ValueError(f"{self.FORMAT} state dict lacks {', '.join(map(repr, missing))}")
        pids, ans, cnt = state["prompt_ids"], state["answers"], state["counts"]
        if not (len(pids) == len(ans) == len(cnt)):
            raise ValueError("state dict lists prompt_ids, answers, counts differ in length")
        answer_ids = _state_list(ans, "answers", integer=True)
        counts = _state_list(cnt, "counts", integer=False)
        if counts.size and (~np.isfinite(counts) | (counts < 0)).any():
            raise ValueError("state dict counts must be finite and ≥ 0")
        fresh = AnswerCounts(state["discount"])
        pc = fresh._prompt_codes(_as_id_list(list(pids), len(pids)), add=True)
        fresh._table.lookup_and_add(pc, answer_ids, counts, 1.0)  # into an empty table: the counts exactly
        if len(fresh) != pc.size:  # a repeated pair got one slot (and the sum of its counts)
            raise ValueError("state dict holds a (prompt id, answer) pair twice")
        self.__dict__.update(fresh.__dict__)


def _state_list(values: Sequence[object], name: str, integer: bool) -> np.ndarray:
    """A state dict list as int64 (integer) or float64 (S,), with no silent conversion: strings,
    booleans, fractional or out-of-range ids are errors rather than parsed, truncated or wrapped."""
    vals: list[Any] = values.reshape(-1).tolist() if isinstance(values, np.ndarray) else list(values)
    allowed = (np.integer,) if integer else (np.integer, np.floating)
    for t in set(map(type, vals)) - ({int} if integer else {int, float}):
        if not issubclass(t, allowed):
            raise ValueError(f"state dict {name} must be {'integers' if integer else 'numbers'}, got a {t.__name__}")
    try:
        return np.array(vals, dtype=np.int64 if integer else np.float64)
    except OverflowError:
        raise ValueError(f"state dict {name} must fit in int64, got {max(vals, key=abs)!r}") from None


def _as_int_matrix(answers: object) -> np.ndarray:
    a = np.asarray(answers.detach().cpu().numpy() if is_torch(answers) else answers)
    if a.ndim != 2:
        raise ValueError(f"answers must be a 2-D int array (B, n), got shape {a.shape}")
    return as_answers(a, a.shape, "AnswerCounts")


@register(
    "novelty",
    inputs=("answers", "state", "prompt_ids"),
    params=(
        Param("bonus", float, 0.1, doc="bonus of a never-seen answer"),
        Param("decay", float, 0.5, doc="bonus ∝ (1 + count)^(−decay)"),
        Param("correct_only", bool, True, doc="bonus only for samples with positive reward"),
        Param("update", bool, True, doc="record this batch in the state"),
    ),
    target="heuristic: RLOO on r + bonus·(1 + N(x, a))^(−decay)", unbiased=False, binary_only=False,
    source="after Song, Kempe & Munos 2025, arXiv 2509.06941 (historical exploration)",
    new_state=AnswerCounts,
)
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
    # Counts from before this batch; when recording, the same probe of the table serves both.
    seen, index = state._pair_counts(ids, a, record=update)
    if dc == 0.5:  # the default: 1/√ is a fast vector op, pow is not (same value to ~1 ulp)
        per_pair = bn / np.sqrt(1.0 + seen)  # (U,) bonus of each (group, answer)
    else:
        per_pair = bn * (1.0 + seen) ** (-dc)
    shaped = np.take(per_pair, index)  # (B, n) the bonus of every sample
    if correct_only:
        shaped *= r > 0  # the bonus is finite and ≥ 0: ×False gives exactly 0.0, no mask indexing
    r += shaped  # r is as_rewards' private copy: shape the rewards in place
    return restore(rloo_(r))
