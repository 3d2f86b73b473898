"""Unbiased validation metrics from the inputs of verl's ``process_validation_metrics``, and
the per-sample rows ``passlens report`` reads (framework-free)."""

from __future__ import annotations

import hashlib
import math
from typing import Any, Mapping, Sequence

import numpy as np

from ...diagnostics import exploration_metrics
from ._config import Settings, _warn_once

__all__ = ["validation_metrics"]


def _is_number(v: Any) -> bool:
    return isinstance(v, (bool, int, float, np.bool_, np.number)) and not isinstance(v, str)


def _binary(values: np.ndarray) -> bool:
    return bool(np.isin(values, (0.0, 1.0)).all())


def _variable_metrics(values: np.ndarray, index: np.ndarray, answers: list[Any] | None,
                      ks: Sequence[int] | None, group_size: int | None) -> dict[str, float]:
    """Metrics of one variable: exploration metrics when it is 0/1, else max@k (PKPO's unbiased)."""
    if values.size == 0:
        return {}
    if _binary(values):
        return exploration_metrics(values == 1.0, index, answers=answers, ks=ks, group_size=group_size)
    return exploration_metrics(None, index, rewards=values, ks=ks)


def validation_metrics(
    data_sources: Sequence[Any] | np.ndarray,
    sample_uids: Sequence[Any] | np.ndarray,
    infos_dict: Mapping[str, Sequence[Any]],
    *,
    correct_key: str = "acc",
    vote_key: str = "pred",
    reward_key: str = "reward",
    ks: Sequence[int] | None = None,
    group_size: int | None = None,
    expected_acc_counts: Mapping[tuple[str, str], int] | None = None,
    threshold: float | None = None,
) -> dict[str, dict[str, dict[str, float]]]:
    """Unbiased validation metrics from the inputs of verl's ``process_validation_metrics``.

    verl's ``best@k`` / ``worst@k`` / ``maj@k`` are means over 1000 bootstrap draws *with
    replacement* of k of the n samples: ``best@k`` estimates 1 − (1 − c/n)^k, below the
    unbiased pass@k = 1 − C(n − c, k)/C(n, k) (Chen et al. 2021, Eq. 1), and ``worst@k`` is
    above the unbiased pass^k = C(c, k)/C(n, k). Here every metric is exact over all
    k-subsets without replacement (see :func:`passlens.integrations.exploration_metrics`).

    Per data source and numeric variable of ``infos_dict`` (``reward``, ``acc``, any other
    number ``compute_score`` returns; strings such as ``pred`` are answers, not variables):

    * a variable whose values are all 0/1 (bools included): ``pass@k``, ``pass^k`` for
      k = 1, 2, 4, …, n; ``maj@k``, ``coverage@k``, ``distinct_correct``,
      ``answer_conflicts`` when ``vote_key`` values exist; ``never_solved``,
      ``always_solved``, ``polarized``; ``zero_signal@G`` with ``group_size`` = G;
    * any other numeric variable: ``max@k`` (PKPO's unbiased expected maximum of k samples);
    * ``prompts``, ``samples``, and ``prompts@k`` where some prompts have fewer than k samples.
      pass@1 equals verl's ``mean@n``.

    Conventions:

    * ``None`` values (verl writes None where a sample lacks a key) are left out of their
      variable, as verl does — except for ``correct_key``, where a None counts as incorrect
      (a sample was drawn and not verified correct). A ``vote_key`` of None is one answer
      class ("no answer").
    * ``expected_acc_counts`` {(data_source, uid): n} (verl ≥ 0.9: sessions the agent loop
      was asked for): for sources that report ``correct_key``, a prompt with fewer samples
      than expected gets the missing ones as incorrect (verl's policy for failed sessions;
      a prompt with no sample at all counts as n failures); ``{correct_key}_success_only``
      holds the metrics over the samples that exist, as verl names it.

    Args:
      data_sources: (N,) data source of each sample.
      sample_uids: (N,) prompt uid of each sample (samples of one prompt share it).
      infos_dict: {variable: (N,) values}; lists of another length are ignored (verl's
        extra-info lists may be empty).
      correct_key: the correctness variable.
      vote_key: the answer variable (majority vote, coverage).
      reward_key: the reward variable (used for correctness when ``correct_key`` is absent
        and the rewards are 0/1; its metrics are computed like any variable's).
      ks: budgets; default 1, 2, 4, …, n_max (and n_max).
      group_size: training group size G for ``zero_signal@G`` (verl: actor_rollout_ref.rollout.n).
      expected_acc_counts: see above.
      threshold: for sources without ``correct_key`` values, correctness ``reward ≥ threshold``
        is added as the variable ``correct_key`` (e.g. 0.5 on ±1 rewards).

    Returns:
      {data_source: {variable: {metric: value}}}, plain floats, NaN-free.
    """
    ds = np.asarray([str(d) for d in data_sources], dtype=object)  # (N,)
    uids = np.asarray([str(u) for u in sample_uids], dtype=object)  # (N,)
    N = ds.size
    if uids.size != N:
        raise ValueError(f"sample_uids has {uids.size} entries, data_sources has {N}; they must match")
    infos = {str(k): list(v) for k, v in infos_dict.items() if len(v) == N}
    votes_all = infos.get(vote_key)
    expected = dict(expected_acc_counts or {})
    out: dict[str, dict[str, dict[str, float]]] = {}
    for source in dict.fromkeys(ds.tolist()):
        rows = np.flatnonzero(ds == source)
        u = uids[rows]
        votes = [votes_all[i] for i in rows] if votes_all is not None else None
        per_var: dict[str, dict[str, float]] = {}
        columns = dict(infos)
        has_correct = correct_key in columns and any(columns[correct_key][i] is not None for i in rows)
        if threshold is not None and not has_correct and reward_key in columns:
            columns[correct_key] = [None if v is None or not _is_number(v) else bool(float(v) >= threshold)
                                    for v in columns[reward_key]]
        for var, column in columns.items():
            if var == vote_key:
                continue
            vals = [column[i] for i in rows]
            present = [v is not None for v in vals]
            if not any(present) or not all(_is_number(v) for v, p in zip(vals, present) if p):
                continue  # strings, objects, or a key this source never reports
            if var == correct_key:
                x = np.array([float(v) if v is not None else 0.0 for v in vals], dtype=np.float64)
                idx, ans = u, votes
                pads = _pads(source, u, expected)
                if pads:
                    x = np.concatenate([x, np.zeros(len(pads))])
                    idx = np.concatenate([u, np.asarray(pads, dtype=object)])
                    ans = None if votes is None else votes + [None] * len(pads)
                per_var[var] = _variable_metrics(x, idx, ans, ks, group_size)
                if expected:
                    keep = np.flatnonzero(present)
                    per_var[f"{var}_success_only"] = _variable_metrics(
                        x[keep], u[keep], None if votes is None else [votes[i] for i in keep], ks, group_size)
                continue
            keep = np.flatnonzero(present)
            x = np.array([float(vals[i]) for i in keep], dtype=np.float64)
            per_var[var] = _variable_metrics(x, u[keep], None if votes is None else [votes[i] for i in keep],
                                             ks, group_size)
        out[str(source)] = {k: v for k, v in per_var.items() if v}
    return out


def _pads(source: str, u: np.ndarray, expected: Mapping[tuple[str, str], int]) -> list[str]:
    """uids of the samples a source is missing against ``expected`` (one entry per missing sample)."""
    if not expected:
        return []
    have: dict[str, int] = {}
    for x in u.tolist():
        have[x] = have.get(x, 0) + 1
    pads: list[str] = []
    for (src, uid), n in expected.items():
        if str(src) == source:
            pads += [str(uid)] * max(int(n) - have.get(str(uid), 0), 0)
    return pads


def _correctness(infos: Mapping[str, Sequence[Any]], N: int, correct_key: str, reward_key: str,
                 threshold: float | None = None) -> np.ndarray | None:
    """bool (N,) per-sample correctness: ``correct_key`` (None → False), else 0/1 rewards (or
    reward ≥ threshold), else None."""
    acc = infos.get(correct_key)
    if acc is not None and len(acc) == N and any(v is not None for v in acc):
        if all(v is None or _is_number(v) for v in acc):
            x = np.array([float(v) if v is not None else 0.0 for v in acc])
            if _binary(x):
                return x == 1.0
    rew = infos.get(reward_key)
    if rew is not None and len(rew) == N and all(_is_number(v) for v in rew):
        x = np.array([float(v) for v in rew])
        if threshold is not None:
            return x >= threshold
        if _binary(x):
            return x == 1.0
    return None


def _prompt_hash(text: str) -> str:
    """16 hex digits naming a prompt text (BLAKE2b-64): stable across runs, processes and versions."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()




def _val_rows(data_sources: Any, sample_uids: Any, infos: Mapping[str, Sequence[Any]], inputs: list[str] | None,
              step: int, s: Settings, expected_acc_counts: Mapping[tuple[str, str], int] | None
              ) -> dict[str, list[dict[str, Any]]]:
    """Per-sample rows {problem_id, step, data_source, correct?, reward?, answer?} per data source.

    ``problem_id`` is a hash of the prompt text (verl's uids are fresh at every validation):
    the shortest decoded prompt of the uid's samples, so that a multi-turn session's later
    outputs (whose prompts carry the history) name the same problem. Without the texts, the
    uid is used (then problems do not line up across steps). Failed sessions
    (``expected_acc_counts``) are written as incorrect rows with reward 0 and ``failed: true``
    for prompts with at least one sample; prompts with none cannot be named and are left out.
    """
    ds = [str(d) for d in data_sources]
    uids = [str(u) for u in sample_uids]
    N = len(ds)
    infos = {k: list(v) for k, v in infos.items() if len(v) == N}
    correct = _correctness(infos, N, s.correct_key, "reward", s.threshold)
    rewards = infos.get("reward")
    answers = infos.get(s.answer_key)
    names: dict[str, str] = {}
    if inputs is not None and len(inputs) == N:
        shortest: dict[str, str] = {}
        for uid, text in zip(uids, inputs):
            cur = shortest.get(uid)
            if cur is None or (len(text), text) < (len(cur), cur):
                shortest[uid] = text
        names = {uid: _prompt_hash(text) for uid, text in shortest.items()}
    else:
        _warn_once("names", "passlens: validation prompts were not seen; the rows name problems by uid, "
                            "which changes at every validation")
    out: dict[str, list[dict[str, Any]]] = {}
    seen: dict[tuple[str, str], int] = {}
    for i in range(N):
        row: dict[str, Any] = {"problem_id": names.get(uids[i], uids[i]), "step": step, "data_source": ds[i]}
        if correct is not None:
            row["correct"] = bool(correct[i])
        r = rewards[i] if rewards is not None else None
        if r is not None and _is_number(r) and math.isfinite(float(r)):
            row["reward"] = float(r)
        if answers is not None:
            a = answers[i].item() if isinstance(answers[i], np.generic) else answers[i]
            row["answer"] = a if isinstance(a, (str, int, float, bool)) or a is None else repr(a)
        out.setdefault(ds[i], []).append(row)
        seen[(ds[i], uids[i])] = seen.get((ds[i], uids[i]), 0) + 1
    if expected_acc_counts and correct is not None:
        for (src, uid), n in expected_acc_counts.items():
            have = seen.get((str(src), str(uid)), 0)
            if have and n > have:
                pad = {"problem_id": names.get(str(uid), str(uid)), "step": step, "data_source": str(src),
                       "correct": False, "reward": 0.0, "failed": True}
                if answers is not None:
                    pad["answer"] = None
                out[str(src)] += [dict(pad) for _ in range(int(n) - have)]
    return out
