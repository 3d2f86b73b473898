"""passlens: exact pass@k-family estimators and exploration diagnostics for RLVR.

The public surface (numpy/scipy only at import time):

- per-problem estimators: :func:`pass_at_k`, :func:`pass_hat_k`, :func:`max_at_k`, :func:`maj_at_k`, :func:`coverage_at_k`
- dataset curves and comparisons: :func:`curve`, :func:`compare`, :func:`beta_posterior_pass_at_k`
- the pass@k gradient: ``passlens.theory`` (α_k, gap, signal and their unbiased estimators)
- group advantage estimators: :func:`advantage` and ``passlens.advantages.REGISTRY``
- ingestion of sample logs: ``passlens.io`` (:func:`passlens.io.read`; needs polars, imported on use)
"""

from . import theory
from ._version import __version__
from .advantages import advantage
from .estimators import coverage_at_k, maj_at_k, max_at_k, pass_at_k, pass_hat_k
from .uncertainty import Comparison, Curve, beta_posterior_pass_at_k, compare, curve

__all__ = [
    "advantage",
    "theory",
    "pass_at_k",
    "pass_hat_k",
    "max_at_k",
    "maj_at_k",
    "coverage_at_k",
    "curve",
    "compare",
    "Curve",
    "Comparison",
    "beta_posterior_pass_at_k",
]
