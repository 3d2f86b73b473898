"""Deprecated alias of :mod:`passlens.lab.variance` (the Monte Carlo variance study of the
advantage estimators moved to the lab); importing it warns. Kept for one release."""

from __future__ import annotations

import warnings

from ..lab.variance import (
    DEFAULT_ESTIMATORS,
    NAIVE,
    NAIVE_BASELINE,
    VALUE_ROW,
    ToyVarianceRow,
    VarianceRow,
    toy_variance_table,
    variance_table,
)

warnings.warn(
    "passlens.advantages.variance moved to passlens.lab.variance; this alias will be removed in the next release",
    DeprecationWarning,
    stacklevel=2,
)

_NAIVE, _NAIVE_BASELINE = NAIVE, NAIVE_BASELINE  # the private names the CLI used to import

__all__ = [
    "VarianceRow",
    "variance_table",
    "ToyVarianceRow",
    "toy_variance_table",
    "DEFAULT_ESTIMATORS",
    "VALUE_ROW",
]
