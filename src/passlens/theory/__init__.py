"""The pass@k gradient laid bare: α_k, J_k, gaps and learning-signal weights.

Per problem x, let p = J_1(x) be the policy's probability of a correct answer.
Under i.i.d. sampling (Yu 2025, "Pass@k Metric for RLVR: A Diagnostic Tool of
Exploration, But Not an Objective", arXiv 2511.16231):

    J_k(p) = 1 − (1 − p)^k                       pass@k of the policy
    ∇J_k   = α_k(p) ∇J_1,  α_k(p) = k (1 − p)^{k−1}  ∈ [0, k]

so per problem the pass@k gradient is the pass@1 gradient times a positive
weight that vanishes as p → 1 (and is at most k as p → 0, where ∇J_1 itself
vanishes). This namespace gathers

* closed forms in p (:mod:`.closed_forms`): :func:`alpha`, :func:`pass_at_k_of_p`,
  :func:`gap`, :func:`gap_argmax`, :func:`zero_signal_probability`, :func:`signal`;
* unbiased estimators of them from per-problem counts (n, c), which live beside the
  other count estimators in :mod:`passlens.gradient_estimators`: :func:`alpha_hat`,
  :func:`signal_hat`, :func:`gap_hat`, :func:`zero_signal_hat`;
* a dataset summary (:mod:`.summary`): :func:`summarize` → :class:`TheorySummary`.

The dataset-level gradient of a shared linear-softmax policy moved to the lab
(:mod:`passlens.lab.shared_policy`); ``theory.linear_softmax_success`` and
``theory.dataset_gradient_cosine`` still work for one release, with a DeprecationWarning.

Everything here is numpy/scipy; torch is never imported.
"""

from __future__ import annotations

import warnings
from typing import Any

from ..gradient_estimators import alpha_hat, gap_hat, signal_hat, zero_signal_hat
from .closed_forms import alpha, gap, gap_argmax, pass_at_k_of_p, signal, zero_signal_probability
from .summary import DEFAULT_BUCKETS, DEFAULT_QUANTILES, TheorySummary, summarize

__all__ = [
    "alpha",
    "pass_at_k_of_p",
    "gap",
    "gap_argmax",
    "zero_signal_probability",
    "signal",
    "alpha_hat",
    "signal_hat",
    "gap_hat",
    "zero_signal_hat",
    "TheorySummary",
    "summarize",
    "DEFAULT_BUCKETS",
    "DEFAULT_QUANTILES",
]

_MOVED_TO_LAB = ("linear_softmax_success", "dataset_gradient_cosine")


def __getattr__(name: str) -> Any:
    """Deprecated aliases (one release): the shared-policy gradient tools live in the lab now."""
    if name in _MOVED_TO_LAB:
        warnings.warn(f"passlens.theory.{name} moved to passlens.lab.shared_policy.{name}; "
                      "the alias will be removed", DeprecationWarning, stacklevel=2)
        from ..lab import shared_policy

        return getattr(shared_policy, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
