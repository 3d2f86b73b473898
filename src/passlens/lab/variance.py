"""Monte Carlo variance of pass@k gradient estimators on a one-problem softmax.

The model: one prompt, two outcomes (correct / incorrect) with logits θ and
P(correct) = p. A group is n i.i.d. draws; ∇_θ log π(y) = e_y − π, i.e.
(r − p)·(1, −1) for reward r ∈ {0, 1}. Each estimator's per-group gradient is

    ĝ = (1/n) Σ_i A_i (e_{y_i} − π)            (the package's scale convention)

and its variance is reported as the trace of Cov(ĝ) over ``draws`` groups. All
estimators see the same draws (common random numbers), so their ordering is not
Monte Carlo noise between independent samples.

Besides registry estimators, two *naive* estimators follow PKPO's Fig. 4
(Walder & Karkhanis 2025, arXiv 2505.15201, §5.1): split the n samples into
G = ⌊n/k⌋ disjoint groups of k (the rest unused) and reward every member with its
group's maximum, A_i = (n/G)·max_{G(i)} ("naive"), or with that maximum minus the
mean maximum of the other groups ("naive+baseline", needs G ≥ 2). Both are
unbiased for ∇ pass@k, but use each sample in one k-subset instead of all of them.

:func:`toy_variance_table` repeats PKPO's Fig. 4 itself: a Gaussian policy
x ~ N(θ, σ²) with the continuous reward g(x) = x²·1[0 ≤ x ≤ 1], k = 4, θ = 1.

The row ``"rho (value)"`` is the variance of the value estimate ρ(n, c, k) itself,
with PKPO's leading-order closed form k²p(1 − p)^{2k−1}/n (App. A.2, Cor. 3).
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np

from ..advantages import REGISTRY, advantage, format_spec, parse_spec
from ..estimators import pass_at_k

__all__ = [
    "VarianceRow",
    "variance_table",
    "ToyVarianceRow",
    "toy_variance_table",
    "DEFAULT_ESTIMATORS",
    "VALUE_ROW",
    "NAIVE",
    "NAIVE_BASELINE",
]

#: Label of the row holding the variance of the value estimate ρ(n, c, k).
VALUE_ROW = "rho (value)"
#: Labels of PKPO Fig. 4's partition estimators (not registry estimators).
NAIVE = "naive"
NAIVE_BASELINE = "naive+baseline"

#: Rows computed when ``estimators`` is None (those that do not apply to (k, n) are left out).
DEFAULT_ESTIMATORS: tuple[str, ...] = (
    "pkpo:variant=s",
    "pkpo:variant=loo",
    "pkpo:variant=loo-1",
    "alpha_rloo",
    NAIVE,
    NAIVE_BASELINE,
    VALUE_ROW,
)


@dataclasses.dataclass(frozen=True)
class VarianceRow:
    """One (estimator, p) cell.

    Attributes:
      estimator: a spec string (``"pkpo:k=4,variant=loo-1"``), ``"naive"``,
        ``"naive+baseline"`` or ``"rho (value)"``.
      p: P(correct).
      variance: Monte Carlo trace of Cov(ĝ) (variance of ρ for the value row).
      closed_form: PKPO Cor. 3 for the value row; None for the gradient rows.
    """

    estimator: str
    p: float
    variance: float
    closed_form: float | None


def _naive(r: np.ndarray, k: int, baseline: bool) -> np.ndarray:
    """PKPO Fig. 4's partition estimators, float64 (D, n); samples past G·k get 0."""
    D, n = r.shape
    G = n // k
    gmax = r[:, : G * k].reshape(D, G, k).max(axis=2)  # (D, G)
    if baseline:
        gmax = gmax - (gmax.sum(axis=1, keepdims=True) - gmax) / (G - 1)  # leave-one-group-out
    out = np.zeros((D, n))
    out[:, : G * k] = (n / G) * np.repeat(gmax, k, axis=1)
    return out


def _applies(label: str, k: int, n: int) -> bool:
    if label == NAIVE_BASELINE:
        return n >= 2 * k
    if label == "pkpo:variant=loo":
        return n > k
    if label == "pkpo:variant=loo-1":
        return k >= 2
    return True


def _resolve(label: str, k: int) -> tuple[str, str, dict[str, object]]:
    """(row label, registry name, params) for a registry spec string, with k filled in."""
    name, params = parse_spec(label)
    spec = REGISTRY[name]
    if "state" in spec.inputs:
        raise ValueError(f"variance_table: {name} needs a persistent state; not supported here")
    if any(p.name == "k" for p in spec.params) and "k" not in params:
        params = {"k": k, **params}
    return format_spec(name, params), name, params


def variance_table(
    k: int,
    n: int,
    ps: Sequence[float],
    *,
    estimators: Sequence[str] | None = None,
    draws: int = 20000,
    seed: int = 0,
) -> list[VarianceRow]:
    """Monte Carlo variance of pass@k gradient estimators for one problem with P(correct) = p.

    Args:
      k: int, 1 ≤ k ≤ n, the pass@k budget (filled into registry specs that take k).
      n: int ≥ 2, samples per group.
      ps: success probabilities, each in (0, 1).
      estimators: registry spec strings (e.g. ``"pkpo:variant=s"``), ``"naive"``,
        ``"naive+baseline"`` and/or ``"rho (value)"``; None → :data:`DEFAULT_ESTIMATORS`
        that apply to (k, n). Estimators needing ``answers`` get the outcome as its
        class (1 correct class), ``logprobs`` get log π(y).
      draws: int ≥ 2, Monte Carlo groups per p.
      seed: seed of the draws (the same draws are reused for every estimator and p).

    Returns:
      list of :class:`VarianceRow`, ordered by p, then by estimator as given.

    Raises:
      ValueError: bad k, n, p or draws, an unknown estimator, or one that does not
        apply (e.g. "pkpo:variant=loo" with k = n).
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"variance_table: n must be an int ≥ 2, got {n!r}")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= n:
        raise ValueError(f"variance_table: k must be an int with 1 ≤ k ≤ n={n}, got {k!r}")
    if isinstance(draws, bool) or not isinstance(draws, (int, np.integer)) or draws < 2:
        raise ValueError(f"variance_table: draws must be an int ≥ 2, got {draws!r}")
    k, n, draws = int(k), int(n), int(draws)
    p_list = [float(p) for p in ps]
    for j, p in enumerate(p_list):
        if not 0.0 < p < 1.0:
            raise ValueError(f"variance_table: ps[{j}] = {p!r} must lie in (0, 1)")
    labels = [e for e in DEFAULT_ESTIMATORS if _applies(e, k, n)] if estimators is None else list(estimators)
    plan: list[tuple[str, str, dict[str, object]]] = []
    for label in labels:
        if label in (VALUE_ROW, NAIVE, NAIVE_BASELINE):
            if label == NAIVE_BASELINE and n < 2 * k:
                raise ValueError(f"variance_table: {label} needs n ≥ 2k (two groups of k), got n={n}, k={k}")
            plan.append((label, label, {}))
        else:
            plan.append(_resolve(label, k))

    uniform = np.random.default_rng(seed).random((draws, n))  # common random numbers
    rows: list[VarianceRow] = []
    for p in p_list:
        r = (uniform < p).astype(np.float64)  # (D, n)
        score = r - p  # ∇ log π(y) = (r − p)·(1, −1)
        for label, name, params in plan:
            if name == VALUE_ROW:
                rho = pass_at_k(np.full(draws, n), r.sum(axis=1).astype(np.int64), k)
                closed = k * k * p * (1.0 - p) ** (2 * k - 1) / n
                rows.append(VarianceRow(label, p, float(np.var(rho, ddof=1)), closed))
                continue
            if name in (NAIVE, NAIVE_BASELINE):
                a = _naive(r, k, baseline=name == NAIVE_BASELINE)
            else:
                a = np.asarray(
                    advantage(
                        name, r, answers=(1 - r).astype(np.int64),
                        logprobs=np.where(r == 1.0, np.log(p), np.log1p(-p)), **params,
                    )
                )
            g = (a * score).mean(axis=1)  # (D,) first coordinate; the second is −g
            rows.append(VarianceRow(label, p, 2.0 * float(np.var(g, ddof=1)), None))
    return rows


@dataclasses.dataclass(frozen=True)
class ToyVarianceRow:
    """One (estimator, n) cell of :func:`toy_variance_table`.

    Attributes:
      estimator: ``"pkpo:k=4,variant=s"`` etc., ``"naive"`` or ``"naive+baseline"``.
      n: samples per group.
      variance: Monte Carlo variance of the per-group estimate of d max@k / dθ.
    """

    estimator: str
    n: int
    variance: float


def toy_variance_table(
    k: int,
    ns: Sequence[int],
    *,
    theta: float = 1.0,
    sigma: float = 0.1,
    draws: int = 20000,
    seed: int = 0,
) -> list[ToyVarianceRow]:
    """PKPO's Fig. 4: variance of max@k gradient estimators on the Gaussian toy.

    Policy x ~ N(θ, σ²), reward g(x) = x² if 0 ≤ x ≤ 1 else 0 (Walder & Karkhanis
    2025, §5.1), score d/dθ log π(x) = (x − θ)/σ². For each n the per-group estimate
    (1/n) Σ_i A_i (x_i − θ)/σ² is drawn ``draws`` times; rows for PKPO s, s^(loo)
    (n > k), s^(loo−1) (k ≥ 2), "naive" and "naive+baseline" (n ≥ 2k). The paper
    writes N(θ, 0.1) without saying whether 0.1 is the std or the variance; σ is the std here.

    Args:
      k: int ≥ 1, the max@k budget; every n must be ≥ k.
      ns: group sizes.
      theta, sigma: policy mean and std (σ > 0).
      draws: int ≥ 2, groups per n.
      seed: seed of the draws.

    Returns:
      list of :class:`ToyVarianceRow`, ordered by n, then s, loo, loo-1, naive, naive+baseline.
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"toy_variance_table: k must be an int ≥ 1, got {k!r}")
    if not sigma > 0:
        raise ValueError(f"toy_variance_table: sigma must be > 0, got {sigma!r}")
    rng = np.random.default_rng(seed)
    rows: list[ToyVarianceRow] = []
    for n in ns:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < max(k, 2):
            raise ValueError(f"toy_variance_table: each n must be an int ≥ max(k, 2), got {n!r}")
        n = int(n)
        x = theta + sigma * rng.standard_normal((draws, n))  # (D, n)
        g = np.where((x >= 0.0) & (x <= 1.0), x * x, 0.0)
        score = (x - theta) / sigma**2
        cands: list[tuple[str, np.ndarray]] = []
        for variant in ("s", "loo", "loo-1"):
            if (variant == "loo" and n <= k) or (variant == "loo-1" and k < 2):
                continue
            label = format_spec("pkpo", {"k": k, "variant": variant})
            cands.append((label, np.asarray(advantage("pkpo", g, k=k, variant=variant))))
        cands.append((NAIVE, _naive(g, k, baseline=False)))
        if n >= 2 * k:
            cands.append((NAIVE_BASELINE, _naive(g, k, baseline=True)))
        for label, a in cands:
            rows.append(ToyVarianceRow(label, n, float(np.var((a * score).mean(axis=1), ddof=1))))
    return rows
