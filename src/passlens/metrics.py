"""The metric registry: one entry per dataset metric, read by curves, eval, the report and the integrations.

A metric is a per-problem unbiased estimator of a quantity of k i.i.d. samples, computed
from a sufficient statistic of the problem's samples, and averaged over problems into a
dataset curve with an interval (:func:`passlens.curve`):

==========  ==========  =============================  ===============================  =======
name        label       estimand per problem           statistic                        bounded
==========  ==========  =============================  ===============================  =======
pass        pass@k      P(at least one of k correct)   counts (n, c)                    [0, 1]
passhat     pass^k      P(all k correct)               counts (n, c)                    [0, 1]
max         max@k       E[max of k rewards]            rewards (one array per problem)  no
maj         maj@k       P(majority answer correct)     votes (answer counts, flags)     [0, 1]
coverage    coverage@k  E[distinct correct answers]    votes (answer counts, flags)     no
==========  ==========  =============================  ===============================  =======

``bounded`` metrics have per-problem estimates in [0, 1], known before seeing data: their
analytic intervals are clipped to it, and a budget where every problem has the same
estimate gets an exact interval from that support (:func:`passlens.uncertainty.curve_from_rows`).
Adding a metric is one entry here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Literal, Mapping, Sequence

import numpy as np
from numpy.typing import ArrayLike

from ._validate import KPolicy
from .estimators import coverage_at_k, maj_at_k, max_at_k, pass_at_k, pass_hat_k

__all__ = ["Metric", "METRICS", "Statistic", "metric", "metric_rows", "label"]

#: The sufficient statistic a metric is computed from.
Statistic = Literal["counts", "rewards", "votes"]


@dataclass(frozen=True)
class Metric:
    """A registry entry.

    Attributes:
      name: registry key (``--metric`` value, key of the report's curves).
      label: display name with k, e.g. ``"pass@k"``; :func:`label` puts a number in.
      statistic: what the estimator reads: ``"counts"`` (n, c), ``"rewards"`` (per-problem
        reward arrays) or ``"votes"`` (per-problem answer counts and correctness flags).
      bounded: per-problem estimates lie in [0, 1] (see the module docstring).
      estimand: what it estimates, in words.
      estimator: ``(statistic inputs, ks, k_exceeds_n, ids) → (P, K)``; see :func:`metric_rows`.
      source: paper and equation of the estimator.
    """

    name: str
    label: str
    statistic: Statistic
    bounded: bool
    estimand: str
    estimator: Callable[..., np.ndarray]
    source: str

    def rows(self, ks: ArrayLike, *, n: ArrayLike | None = None, c: ArrayLike | None = None,
             rewards: Iterable[ArrayLike] | None = None, votes: Sequence[ArrayLike] | None = None,
             correct: Sequence[ArrayLike] | None = None, k_exceeds_n: KPolicy = "raise",
             ids: Sequence[object] | np.ndarray | None = None) -> np.ndarray:
        """Per-problem estimates float64 (P, K) from this metric's statistic (others are ignored).

        Raises:
          ValueError: the statistic is missing (the message says what to pass), or what the
            estimator raises.
        """
        if self.statistic == "counts":
            if n is None or c is None:
                raise ValueError(f"metric {self.name!r} needs counts n and c (binary correctness)")
            return self.estimator(n, c, ks, k_exceeds_n=k_exceeds_n, ids=ids)
        if self.statistic == "rewards":
            if rewards is None:
                raise ValueError(f"metric {self.name!r} needs per-sample rewards")
            return self.estimator(rewards, ks, k_exceeds_n=k_exceeds_n, ids=ids)
        if votes is None or correct is None:
            raise ValueError(f"metric {self.name!r} needs per-sample answers (vote counts per answer)")
        return self.estimator(votes, correct, ks, k_exceeds_n=k_exceeds_n, ids=ids)

    def max_n(self, *, n: ArrayLike | None = None, rewards: Iterable[ArrayLike] | None = None,
              votes: Sequence[ArrayLike] | None = None) -> int:
        """The largest per-problem sample count in this metric's statistic."""
        if self.statistic == "rewards" and rewards is not None:
            rows = list(rewards) if isinstance(rewards, np.ndarray) and rewards.ndim == 2 else rewards
            return max(int(np.sum(~np.isnan(np.asarray(r, dtype=float)))) for r in rows)
        if self.statistic == "votes" and votes is not None:
            return max(int(np.sum(v)) for v in votes)
        if n is None:
            raise ValueError(f"metric {self.name!r} needs counts n and c (binary correctness)")
        return int(np.max(n))


_ENTRIES = (
    Metric("pass", "pass@k", "counts", True, "P(at least one of k samples is correct)", pass_at_k,
           "Chen et al. 2021, arXiv 2107.03374, Eq. 1"),
    Metric("passhat", "pass^k", "counts", True, "P(all k samples are correct)", pass_hat_k,
           "Yao et al. 2024, arXiv 2406.12045 (τ-bench), the same hypergeometric identity"),
    Metric("max", "max@k", "rewards", False, "E[maximum reward of k samples]", max_at_k,
           "Walder & Karkhanis 2025, arXiv 2505.15201, Eqs. 12–14"),
    Metric("maj", "maj@k", "votes", True, "P(the majority answer of k samples is correct; ties uniform)", maj_at_k,
           "exact over all k-subsets (this package); maj@k after Lewkowycz et al. 2022"),
    Metric("coverage", "coverage@k", "votes", False, "E[number of distinct correct answers among k samples]",
           coverage_at_k, "this package: Chen et al. 2021, Eq. 1, per answer class, summed"),
)

#: name → :class:`Metric`, in display order.
METRICS: Mapping[str, Metric] = {m.name: m for m in _ENTRIES}


def metric(name: object) -> Metric:
    """The registry entry ``name``; ValueError listing the valid names otherwise."""
    try:
        return METRICS[name]  # type: ignore[index]
    except (KeyError, TypeError):
        raise ValueError(f"metric must be one of {', '.join(repr(m) for m in METRICS)}; got {name!r}") from None


def label(name: str, k: int | None = None) -> str:
    """Display name: ``label("passhat")`` → ``"pass^k"``, ``label("pass", 8)`` → ``"pass@8"``."""
    text = metric(name).label
    return text if k is None else text[:-1] + str(int(k))


def metric_rows(
    name: str,
    ks: ArrayLike,
    *,
    n: ArrayLike | None = None,
    c: ArrayLike | None = None,
    rewards: Iterable[ArrayLike] | None = None,
    votes: Sequence[ArrayLike] | None = None,
    correct: Sequence[ArrayLike] | None = None,
    k_exceeds_n: KPolicy = "raise",
    ids: Sequence[object] | np.ndarray | None = None,
) -> np.ndarray:
    """Per-problem unbiased estimates (P, K) of the metric ``name`` (:meth:`Metric.rows`)."""
    return metric(name).rows(ks, n=n, c=c, rewards=rewards, votes=votes, correct=correct,
                             k_exceeds_n=k_exceeds_n, ids=ids)
