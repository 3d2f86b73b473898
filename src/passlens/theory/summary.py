"""A count table read through the pass@k theory: :func:`summarize` → :class:`TheorySummary`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from .._json import json_ready
from .._validate import as_budgets, as_counts, pow2_grid
from ..gradient_estimators import alpha_hat, gap_hat, signal_hat, zero_signal_hat
from ..histogram import count_histogram
from .closed_forms import zero_signal_probability

__all__ = ["TheorySummary", "summarize", "DEFAULT_BUCKETS", "DEFAULT_QUANTILES"]

#: Interior cut points of the difficulty buckets of p̂ = c/n used by :func:`summarize`;
#: with the two exact buckets they give [0], (0, .1], (.1, .3], (.3, .7], (.7, .9], (.9, 1), [1].
DEFAULT_BUCKETS: tuple[float, ...] = (0.1, 0.3, 0.7, 0.9)

#: Quantile levels of the α̂_k distribution reported by :func:`summarize`.
DEFAULT_QUANTILES: tuple[float, ...] = (0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0)


def _bucket_labels(cuts: np.ndarray) -> tuple[str, ...]:
    inner = [0.0, *cuts.tolist(), 1.0]
    labels = ["p̂=0"]
    for lo, hi in zip(inner[:-1], inner[1:]):
        right = ")" if hi == 1.0 else "]"
        labels.append(f"({lo:g}, {hi:g}{right}")
    labels.append("p̂=1")
    return tuple(labels)


@dataclass(frozen=True)
class TheorySummary:
    """What the pass@k theory says about a count table, estimated without bias where n allows.

    Shapes: K budgets, Q quantile levels, B = len(bucket_cuts) + 3 difficulty
    buckets. Per-k statistics use only the problems with enough samples for
    that k (counted in the ``*_problems`` fields); NaN where none qualifies.

    Attributes:
      n_problems: P.
      ks: int (K,), budgets.
      pass1_mean: mean of p̂ = c/n (unbiased for the mean pass@1).
      alpha_mean: float (K,), mean of α̂_k over problems with n ≥ k − 1.
      alpha_quantile_levels: float (Q,).
      alpha_quantiles: float (K, Q), quantiles of α̂_k over the same problems.
      alpha_problems: int (K,), problems with n ≥ k − 1.
      gap_mean: float (K,), mean of pass@k̂ − c/n over problems with n ≥ k.
      gap_problems: int (K,), problems with n ≥ k.
      signal_total: float (K,), Σ_x ŝ_k(x) over problems with n ≥ 2k.
      signal_problems: int (K,), problems with n ≥ 2k.
      bucket_cuts: float (B − 3,), interior cut points of p̂.
      bucket_labels: B strings, "p̂=0", "(0, 0.1]", …, "(0.9, 1)", "p̂=1".
      bucket_counts: int (B,), problems per bucket.
      signal_share: float (B, K), each bucket's share of signal_total.
      frac_never_solved: fraction of problems with c = 0.
      frac_always_solved: fraction of problems with c = n.
      group_size: G.
      zero_signal_fraction: mean of ẑ_G over problems with n ≥ G, unbiased for
        E_x[(1 − p)^G + p^G], the expected fraction of zero-advantage groups.
      zero_signal_problems: problems with n ≥ G.
      zero_signal_plugin: mean of (1 − p̂)^G + p̂^G over all problems; biased
        upward (Jensen), reported for tables whose n < G.
      notes: human-readable caveats (problems left out, NaN fields).
    """

    n_problems: int
    ks: np.ndarray
    pass1_mean: float
    alpha_mean: np.ndarray
    alpha_quantile_levels: np.ndarray
    alpha_quantiles: np.ndarray
    alpha_problems: np.ndarray
    gap_mean: np.ndarray
    gap_problems: np.ndarray
    signal_total: np.ndarray
    signal_problems: np.ndarray
    bucket_cuts: np.ndarray
    bucket_labels: tuple[str, ...]
    bucket_counts: np.ndarray
    signal_share: np.ndarray
    frac_never_solved: float
    frac_always_solved: float
    group_size: int
    zero_signal_fraction: float
    zero_signal_problems: int
    zero_signal_plugin: float
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-ready dict (lists for arrays, None for NaN)."""
        return {name: json_ready(getattr(self, name)) for name in self.__dataclass_fields__}


def _wsum(w: np.ndarray, x: np.ndarray) -> Any:
    """Σ_h w_h x_h over the first axis, as a numpy reduction: the same digits in every process
    (a BLAS product splits the sum by thread count)."""
    return (w.reshape((-1,) + (1,) * (x.ndim - 1)) * x).sum(axis=0)


def _weighted_count(w: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """int64 (K,): problems (Σ weights) per column of the mask ok (H, K)."""
    return np.rint(_wsum(w, ok)).astype(np.int64)


def _weighted_quantile(values: np.ndarray, weights: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """``np.quantile(np.repeat(values, weights), levels)`` without repeating (numpy's default
    "linear" method: position (P − 1)·q in the sorted sample, interpolated as numpy's lerp)."""
    order = np.argsort(values, kind="stable")
    v, cum = values[order], np.cumsum(weights[order])  # sorted distinct values, cumulative counts
    P = int(cum[-1])
    pos = (P - 1) * levels  # (Q,)
    lo = np.floor(pos).astype(np.int64)
    t = pos - lo
    below = v[np.searchsorted(cum, lo, side="right")]  # the sample's lo-th smallest value
    above = v[np.searchsorted(cum, np.minimum(lo + 1, P - 1), side="right")]
    diff = above - below
    # numpy's lerp: a + (b − a)·t, and b − (b − a)·(1 − t) for t ≥ 1/2 (exact at both ends)
    return np.where(t >= 0.5, above - diff * (1 - t), below + diff * t)


def _default_ks(n: np.ndarray) -> np.ndarray:
    """Powers of two 1, 2, 4, … up to the largest n (n itself only when it is one)."""
    ladder = pow2_grid(int(n.max()))
    return ladder[(ladder & (ladder - 1)) == 0]


def summarize(
    n: object,
    c: object,
    *,
    ks: Sequence[int] | np.ndarray | None = None,
    group_size: int = 16,
    buckets: Sequence[float] = DEFAULT_BUCKETS,
    quantiles: Sequence[float] = DEFAULT_QUANTILES,
    ids: Sequence[object] | np.ndarray | None = None,
) -> TheorySummary:
    """Summarize a count table through the pass@k theory.

    Per problem x with c correct of n samples (p̂ = c/n):

    * α̂_k(x) = k C(n − c, k − 1)/C(n, k − 1), unbiased for the pass@k gradient
      weight α_k(p) = k(1 − p)^{k−1} (Yu 2025, arXiv 2511.16231) — its mean
      and quantiles per k;
    * ŝ_k(x), unbiased for k² p(1 − p)^{2k−1} (see :func:`signal`): the total
      Σ_x ŝ_k and each difficulty bucket's share of it;
    * mean gap pass@k − pass@1 with the unbiased pass@k of Chen et al. 2021
      (arXiv 2107.03374, Eq. 1);
    * polarized problems (c = 0, c = n), which give zero group advantage;
    * ẑ_G = C(n − c, G)/C(n, G) + C(c, G)/C(n, G), averaged: an unbiased
      estimate of the expected fraction of training groups of size G with no
      reward variance, E_x[(1 − p)^G + p^G].

    Per-k and per-G statistics use the problems whose n suffices (n ≥ k − 1,
    n ≥ k, n ≥ 2k, n ≥ G respectively); the counts used are reported and a
    note is added when some problems are left out.

    Args:
      n: int array (P,), samples per problem.
      c: int array (P,), correct samples per problem.
      ks: budgets (K,), each ≥ 1; default powers of two up to max n.
      group_size: training group size G ≥ 1.
      buckets: interior cut points of p̂, strictly increasing in (0, 1); the
        buckets are [0], (0, b_1], (b_1, b_2], …, (b_last, 1), [1].
      quantiles: quantile levels in [0, 1] for the α̂_k distribution.
      ids: optional (P,) problem ids used in error messages.

    Returns:
      TheorySummary (shapes documented there).
    """
    n_, c_ = as_counts(n, c, ids)
    P = int(n_.size)
    if P == 0:
        raise ValueError("summarize needs at least one problem, got none")
    k_arr = _default_ks(n_) if ks is None else as_budgets(np.asarray(ks), "ks")[0]
    if isinstance(group_size, bool) or not isinstance(group_size, (int, np.integer)) or group_size < 1:
        raise ValueError(f"group_size must be an int ≥ 1, got {group_size!r}")
    G = int(group_size)
    cuts = np.asarray(buckets, dtype=np.float64).reshape(-1)
    if cuts.size and (not np.all((cuts > 0) & (cuts < 1)) or np.any(np.diff(cuts) <= 0)):
        raise ValueError(f"buckets must be strictly increasing cut points in (0, 1), got {cuts.tolist()}")
    levels = np.asarray(quantiles, dtype=np.float64).reshape(-1)
    if levels.size == 0 or not np.all((levels >= 0) & (levels <= 1)):
        raise ValueError(f"quantiles must be non-empty levels in [0, 1], got {levels.tolist()}")

    notes: list[str] = []
    K = k_arr.size
    # Every per-problem quantity below is a function of (n, c): compute it once per distinct pair
    # and weigh by the number of problems sharing the pair (10⁶ problems at one n: ≤ n + 1 rows).
    hist = count_histogram(n_, c_)
    hn, hc = hist.n, hist.c  # (H,)
    w = hist.weights.astype(np.float64)  # (H,)
    p_hat = hc / hn  # (H,)

    a_hat = np.asarray(alpha_hat(hn, hc, k_arr, k_exceeds_n="nan")).reshape(-1, K)  # (H, K)
    alpha_ok = ~np.isnan(a_hat)
    alpha_problems = _weighted_count(w, alpha_ok)
    alpha_mean = np.full(K, np.nan)
    alpha_q = np.full((K, levels.size), np.nan)
    for j in range(K):
        if alpha_problems[j]:
            ok = alpha_ok[:, j]
            alpha_mean[j] = _wsum(w[ok], a_hat[ok, j]) / alpha_problems[j]
            alpha_q[j] = _weighted_quantile(a_hat[ok, j], hist.weights[ok], levels)

    gap_terms = np.asarray(gap_hat(hn, hc, k_arr, k_exceeds_n="nan")).reshape(-1, K)  # (H, K)
    gap_ok = ~np.isnan(gap_terms)
    gap_problems = _weighted_count(w, gap_ok)
    with np.errstate(invalid="ignore"):
        gap_mean = np.where(gap_problems > 0, _wsum(w, np.where(gap_ok, gap_terms, 0.0)) / np.maximum(gap_problems, 1),
                            np.nan)

    s_hat = np.asarray(signal_hat(hn, hc, k_arr, k_exceeds_n="nan")).reshape(-1, K)  # (H, K)
    sig_ok = ~np.isnan(s_hat)
    signal_problems = _weighted_count(w, sig_ok)
    signal_total = np.where(signal_problems > 0, _wsum(w, np.where(sig_ok, s_hat, 0.0)), np.nan)

    # buckets: 0 for p̂ = 0, last for p̂ = 1, else 1 + position among the cuts (right-closed intervals)
    B = cuts.size + 3
    bucket = np.searchsorted(cuts, p_hat, side="left") + 1  # (H,)
    bucket[hc == 0] = 0
    bucket[hc == hn] = B - 1
    bucket_counts = np.bincount(bucket, weights=w, minlength=B).astype(np.int64)
    share = np.full((B, K), np.nan)
    for j in range(K):
        tot = signal_total[j]
        if np.isfinite(tot) and tot > 0:
            ok = sig_ok[:, j]
            sums = np.bincount(bucket[ok], weights=w[ok] * s_hat[ok, j], minlength=B)
            share[:, j] = sums / tot

    for name, counts, need in (
        ("alpha_hat", alpha_problems, "n ≥ k − 1"),
        ("gap", gap_problems, "n ≥ k"),
        ("signal_hat", signal_problems, "n ≥ 2k"),
    ):
        for i in np.flatnonzero(counts < P):
            notes.append(
                f"{name} at k={k_arr[i]}: {counts[i]}/{P} problems have {need}"
                + ("; value is NaN" if counts[i] == 0 else "; the others are left out")
            )

    z_hat = np.asarray(zero_signal_hat(hn, hc, G, k_exceeds_n="nan")).reshape(-1)  # (H,)
    z_ok = ~np.isnan(z_hat)
    zero_problems = int(hist.weights[z_ok].sum())
    zero_fraction = float(_wsum(w[z_ok], z_hat[z_ok]) / zero_problems) if zero_problems else float("nan")
    if zero_problems < P:
        notes.append(
            f"zero-signal fraction at G={G}: {zero_problems}/{P} problems have n ≥ G"
            + (
                "; no unbiased estimate, see zero_signal_plugin (biased upward)"
                if zero_problems == 0
                else "; the others are left out"
            )
        )
    zero_plugin = float(_wsum(w, np.asarray(zero_signal_probability(p_hat, G))) / P)

    return TheorySummary(
        n_problems=P,
        ks=k_arr,
        pass1_mean=float(_wsum(w, p_hat) / P),
        alpha_mean=alpha_mean,
        alpha_quantile_levels=levels,
        alpha_quantiles=alpha_q,
        alpha_problems=alpha_problems,
        gap_mean=gap_mean,
        gap_problems=gap_problems,
        signal_total=signal_total,
        signal_problems=signal_problems,
        bucket_cuts=cuts,
        bucket_labels=_bucket_labels(cuts),
        bucket_counts=bucket_counts,
        signal_share=share,
        frac_never_solved=float(np.mean(c_ == 0)),
        frac_always_solved=float(np.mean(c_ == n_)),
        group_size=G,
        zero_signal_fraction=zero_fraction,
        zero_signal_problems=zero_problems,
        zero_signal_plugin=zero_plugin,
        notes=tuple(notes),
    )
