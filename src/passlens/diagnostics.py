"""Exploration metrics of a flat batch of scored samples, grouped by prompt (framework-free).

What a trainer logs at a training or validation step, computed with the metric registry's
unbiased estimators (:data:`passlens.metrics.METRICS`) from per-sample rows (N,) and a
prompt index (N,):

* ``pass@k`` (Chen et al. 2021, Eq. 1) and ``pass^k`` (all k correct), k on the
  ladder 1, 2, 4, …, n — not a bootstrap with replacement, which is biased (verl's
  ``best@k`` reads low, ``worst@k`` high);
* ``maj@k`` (exact majority-vote accuracy over all k-subsets) and ``coverage@k``
  (expected distinct correct answers among k) when answers are given;
* ``max@k`` (PKPO's unbiased expected maximum) when rewards are not all 0/1;
* the collapse indicators of ``passlens report``: the share of prompts never / always
  solved (``polarized`` = both), the expected share of training groups of size G with
  no reward variance (``zero_signal@G``, the unbiased ẑ_G of :mod:`passlens.theory`),
  and distinct correct answers per prompt.

A budget k is averaged over the prompts with at least k samples (no unbiased estimate
exists for k > n); ``prompts@k`` counts them when some prompts have fewer.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .gradient_estimators import zero_signal_hat
from ._validate import pow2_grid
from .grouping import Groups, answer_ids, group_index, object_array, to_numpy
from .metrics import METRICS, label

__all__ = ["exploration_metrics", "ExplorationTracker", "as_correct"]


def as_correct(values: object, name: str = "correct") -> np.ndarray:
    """Per-sample correctness as bool (N,): bools, or numbers that are all 0 or 1.

    Raises:
      ValueError: a value other than 0/1 (NaN included), naming the sample.
    """
    arr = to_numpy(values)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one value per sample), got shape {arr.shape}")
    if arr.dtype == bool:
        return arr
    if arr.dtype.kind not in "iuf":
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be 0/1 per sample, got dtype {arr.dtype}") from None
    bad = (arr != 0) & (arr != 1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{name} must be 0/1 per sample (use a threshold for graded rewards): "
                         f"sample {i} has {arr[i].item()!r}")
    return arr == 1


def _mean_over_valid(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column means of (P, K) ignoring NaN (k > n), and the number of prompts used per column."""
    ok = ~np.isnan(values)
    used = ok.sum(axis=0)
    total = np.where(ok, values, 0.0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(used > 0, total / np.maximum(used, 1), np.nan), used


def _answer_classes(group: np.ndarray, answers: np.ndarray, correct: np.ndarray, P: int
                    ) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
    """Per prompt: vote counts of its distinct answers, their correctness, and a conflict flag.

    Args:
      group: int64 (N,) prompt number of each sample; answers: int64 (N,) answer ids;
      correct: bool (N,).

    Returns:
      (votes, flags, conflict): P int64 arrays (A_p,), P bool arrays (A_p,), bool (P,) —
      True where one answer of the prompt was graded both correct and incorrect.
    """
    order = np.lexsort((answers, group))  # (N,) by prompt, then answer
    g, a, ok = group[order], answers[order], correct[order]
    new = np.ones(order.size, dtype=bool)
    new[1:] = (g[1:] != g[:-1]) | (a[1:] != a[:-1])
    starts = np.flatnonzero(new)  # (C,) first sample of each (prompt, answer) class
    counts = np.diff(np.append(starts, order.size))
    n_ok = np.add.reduceat(ok.astype(np.int64), starts)  # correct samples per class
    flag = n_ok > 0
    mixed = (n_ok > 0) & (n_ok < counts)
    owner = g[starts]
    conflict = np.zeros(P, dtype=bool)
    conflict[owner[mixed]] = True
    cuts = np.flatnonzero(np.diff(owner)) + 1
    return np.split(counts, cuts), np.split(flag, cuts), conflict


def exploration_metrics(
    correct: object,
    index: object,
    *,
    answers: object = None,
    rewards: object = None,
    ks: Sequence[int] | np.ndarray | None = None,
    group_size: int | None = None,
    groups: Groups | None = None,
) -> dict[str, float]:
    """pass@k, pass^k, maj@k, coverage@k, max@k and collapse indicators of one batch.

    Args:
      correct: (N,) per-sample correctness, bool or 0/1 numbers; or None with ``rewards``
        (continuous rewards with no notion of correct: ``max@k`` only).
      index: (N,) prompt (group) id per sample, any order; ignored when ``groups`` is given.
      answers: optional (N,) answers (strings, ints, …; see :func:`answer_ids`): adds
        ``maj@k``, ``coverage@k`` and ``distinct_correct``.
      rewards: optional float (N,) rewards: adds ``max@k`` when they are not all 0/1.
      ks: budgets; default 1, 2, 4, …, n_max plus n_max (n_max = most samples of a prompt).
      group_size: training group size G: adds ``zero_signal@G`` over prompts with n ≥ G.
      groups: :func:`group_index` of ``index``, when the caller already has it.

    Returns:
      {name: value} with plain finite floats, in this order: ``prompts``, ``samples``,
      ``pass@k`` …, ``pass^k`` …, ``maj@k`` …, ``coverage@k`` …, ``max@k`` …,
      ``never_solved``, ``always_solved``, ``polarized``, ``zero_signal@G``,
      ``distinct_correct``, ``answer_conflicts`` (prompts left out of maj@k / coverage@k
      because one of their answers was graded both ways), and ``prompts@k`` for budgets some
      prompts are too small for. A budget no prompt has k samples for is left out (with
      ``prompts@k`` = 0), as is ``zero_signal@G`` when no prompt has G samples.
    """
    if correct is None and rewards is None:
        raise ValueError("exploration_metrics needs correct= (0/1 per sample) or rewards=")
    ok = as_correct(correct) if correct is not None else None
    N = ok.size if ok is not None else int(np.shape(to_numpy(rewards))[0])
    groups = group_index(index) if groups is None else groups
    if groups.n_samples != N:
        raise ValueError(f"index has {groups.n_samples} entries, the batch has {N} samples; they must match")
    if N == 0:
        return {"prompts": 0.0, "samples": 0.0}
    g = groups.group_of()  # (N,)
    P = groups.n_groups
    n = groups.sizes  # (P,)
    k_arr = pow2_grid(int(n.max())) if ks is None else np.asarray(ks, dtype=np.int64).reshape(-1)

    out: dict[str, float] = {"prompts": float(P), "samples": float(N)}
    used_at: dict[int, int] = {}

    def add(name: str, **statistic: Any) -> None:
        """Mean over prompts of the registry metric ``name``, one entry per budget with a prompt."""
        mean, used = _mean_over_valid(METRICS[name].rows(k_arr, k_exceeds_n="nan", **statistic))
        for k, m, u in zip(k_arr.tolist(), mean.tolist(), used.tolist()):
            if u:
                out[label(name, k)] = m
            used_at.setdefault(k, u)

    c = np.zeros(P, dtype=np.int64)
    if ok is not None:
        c = np.bincount(g, weights=ok, minlength=P).astype(np.int64)  # (P,)
        add("pass", n=n, c=c)
        add("passhat", n=n, c=c)

    distinct: np.ndarray | None = None
    conflicts = 0
    if answers is not None and ok is not None:
        a = answer_ids(answers)
        if a.size != N:
            raise ValueError(f"answers has {a.size} entries, the batch has {N} samples; they must match")
        votes, flags, conflict = _answer_classes(g, a, ok, P)
        keep = np.flatnonzero(~conflict)
        conflicts = int(conflict.sum())
        if keep.size:
            kept_votes = [votes[i] for i in keep]
            kept_flags = [flags[i] for i in keep]
            add("maj", votes=kept_votes, correct=kept_flags)
            add("coverage", votes=kept_votes, correct=kept_flags)
            distinct = np.array([int(f.sum()) for f in kept_flags], dtype=np.int64)

    if rewards is not None:
        r = to_numpy(rewards).astype(np.float64)
        if r.shape != (N,):
            raise ValueError(f"rewards has shape {r.shape}, the batch has {N} samples; they must match")
        if ok is None or not bool(np.isin(r, (0.0, 1.0)).all()):
            per_prompt = np.split(r[groups.ordered()], groups.starts[1:-1])
            add("max", rewards=per_prompt)

    if ok is not None:
        out["never_solved"] = float(np.mean(c == 0))
        out["always_solved"] = float(np.mean(c == n))
        out["polarized"] = float(np.mean((c == 0) | (c == n)))
        if group_size is not None:
            z = np.asarray(zero_signal_hat(n, c, int(group_size), k_exceeds_n="nan"))
            z_ok = ~np.isnan(z)
            if z_ok.any():
                out[f"zero_signal@{int(group_size)}"] = float(z[z_ok].mean())
    if distinct is not None:
        out["distinct_correct"] = float(distinct.mean())
    if answers is not None and ok is not None:
        out["answer_conflicts"] = float(conflicts)
    for k, u in used_at.items():
        if u < P:
            out[f"prompts@{k}"] = float(u)
    return out


class ExplorationTracker:
    """:func:`exploration_metrics` over samples given in several calls (``update`` → ``compute`` → ``reset``).

    In the style of torchmetrics' ``Metric``: :meth:`update` adds a batch of scored samples
    (any prompt may appear in several updates; its samples are pooled), :meth:`compute`
    returns the metrics of everything added since the last :meth:`reset`. The samples are
    kept as given (O(samples) memory): max@k needs every reward, and the (n, c) counts and
    answer votes are formed once, at compute.

    Args:
      ks: budgets (default: the ladder 1, 2, 4, …, n_max).
      group_size: training group size G for ``zero_signal@G``.
    """

    def __init__(self, *, ks: Sequence[int] | np.ndarray | None = None, group_size: int | None = None) -> None:
        self.ks = ks
        self.group_size = group_size
        self.reset()

    def reset(self) -> None:
        """Forget every sample."""
        self._correct: list[np.ndarray] = []
        self._index: list[np.ndarray] = []
        self._answers: list[np.ndarray] | None = None
        self._rewards: list[np.ndarray] | None = None

    def update(self, correct: object, index: object, *, answers: object = None, rewards: object = None) -> None:
        """Add samples: ``correct`` (N,) 0/1, ``index`` (N,) prompt keys, optional ``answers`` and ``rewards`` (N,).

        Every update must give answers (and rewards) if the first one did, or none of them.
        """
        ok = as_correct(correct)
        idx = object_array(index) if not isinstance(index, np.ndarray) else index
        if idx.shape != ok.shape:
            raise ValueError(f"index has shape {idx.shape}, correct has {ok.shape}; they must match")
        first = not self._correct
        for name, value in (("answers", answers), ("rewards", rewards)):
            kept = getattr(self, f"_{name}")
            if not first and (value is None) != (kept is None):
                raise ValueError(f"{name} were {'not ' if kept is None else ''}given in earlier updates; "
                                 f"give them in every update or in none")
            if value is not None:
                arr = object_array(value) if name == "answers" and not isinstance(value, np.ndarray) else to_numpy(value)
                if arr.shape != ok.shape:
                    raise ValueError(f"{name} has shape {arr.shape}, correct has {ok.shape}; they must match")
                if first:
                    setattr(self, f"_{name}", [])
                getattr(self, f"_{name}").append(arr)
        self._correct.append(ok)
        self._index.append(idx)

    def compute(self) -> dict[str, float]:
        """:func:`exploration_metrics` of every sample added since the last reset."""
        if not self._correct:
            return {"prompts": 0.0, "samples": 0.0}
        return exploration_metrics(
            np.concatenate(self._correct), np.concatenate(self._index),
            answers=None if self._answers is None else np.concatenate(self._answers),
            rewards=None if self._rewards is None else np.concatenate(self._rewards),
            ks=self.ks, group_size=self.group_size,
        )
