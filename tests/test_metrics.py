"""The metric registry: every entry computes its curve from its statistic, with intervals, and the
entries agree where their estimands coincide (pass@1 = maj@1 = coverage@1 = mean correctness,
max@k on 0/1 rewards = pass@k, pass^k ≤ pass@1 ≤ pass@k)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import passlens
from passlens.metrics import METRICS, label, metric, metric_rows


def _samples(P: int = 40, n: int = 8, seed: int = 0) -> dict[str, Any]:
    """Per-problem statistics of every kind from one set of samples with answers."""
    rng = np.random.default_rng(seed)
    p = rng.beta(0.6, 0.6, size=P)
    ok = rng.uniform(size=(P, n)) < p[:, None]  # (P, n)
    answers = np.where(ok, rng.integers(0, 3, (P, n)), rng.integers(3, 6, (P, n)))  # correct: 0..2
    votes, correct = [], []
    for i in range(P):
        vals, counts = np.unique(answers[i], return_counts=True)
        votes.append(counts)
        correct.append(vals < 3)
    return {"n": np.full(P, n), "c": ok.sum(axis=1), "rewards": list(ok.astype(float)), "votes": votes,
            "correct": correct}


def test_every_metric_has_a_curve_with_intervals() -> None:
    s = _samples()
    ks = [1, 2, 4, 8]
    for name, m in METRICS.items():
        cur = passlens.curve(s["n"], s["c"], ks, metric=name, rewards=s["rewards"], votes=s["votes"],
                             correct=s["correct"], n_boot=200, seed=1)
        rows = metric_rows(name, ks, **s)
        np.testing.assert_allclose(cur.estimate, rows.mean(axis=0), rtol=1e-12)
        assert np.all(cur.lo <= cur.estimate) and np.all(cur.estimate <= cur.hi), name
        if m.bounded:
            assert np.all((rows >= 0) & (rows <= 1)), name
            assert np.all(cur.hi <= 1) and np.all(cur.lo >= 0), name


def test_the_entries_agree_where_their_estimands_coincide() -> None:
    s = _samples(seed=3)
    ks = [1, 2, 4, 8]
    rows = {name: metric_rows(name, ks, **s) for name in METRICS}
    mean_correct = s["c"] / s["n"]
    for name in ("pass", "passhat", "maj", "coverage", "max"):
        np.testing.assert_allclose(rows[name][:, 0], mean_correct, rtol=1e-12)  # k = 1: all are E[r]
    np.testing.assert_allclose(rows["max"], rows["pass"], rtol=1e-12)  # 0/1 rewards: max of k = any of k
    assert np.all(rows["passhat"] <= rows["pass"][:, :1] + 1e-15) and np.all(rows["pass"][:, :1] <= rows["pass"] + 1e-15)
    assert np.all(np.diff(rows["pass"], axis=1) >= -1e-15) and np.all(np.diff(rows["coverage"], axis=1) >= -1e-15)
    assert np.all(rows["coverage"] >= rows["pass"] - 1e-12)  # distinct correct answers ≥ P(any correct)


def test_labels_and_errors() -> None:
    assert [m.label for m in METRICS.values()] == ["pass@k", "pass^k", "max@k", "maj@k", "coverage@k"]
    assert label("passhat", 8) == "pass^8" and label("coverage", 16) == "coverage@16" and label("pass") == "pass@k"
    with pytest.raises(ValueError, match="metric must be one of 'pass', 'passhat', 'max', 'maj', 'coverage'"):
        metric("accuracy")
    with pytest.raises(ValueError, match="metric 'coverage' needs per-sample answers"):
        passlens.curve([4], [2], [1], metric="coverage")
    with pytest.raises(ValueError, match="metric 'max' needs per-sample rewards"):
        metric_rows("max", [1], n=[4], c=[2])
    with pytest.raises(ValueError, match="metric 'pass' needs counts n and c"):
        metric("pass").max_n(votes=[np.array([1])])


def test_default_grid_comes_from_the_metrics_own_statistic() -> None:
    s = _samples(P=5, n=6)
    cov = passlens.curve(metric="coverage", votes=s["votes"], correct=s["correct"], method="analytic")
    assert cov.k.tolist() == [1, 2, 3, 4, 5, 6]
    mx = passlens.curve(metric="max", rewards=s["rewards"], method="analytic")
    assert mx.k.tolist() == [1, 2, 3, 4, 5, 6]
