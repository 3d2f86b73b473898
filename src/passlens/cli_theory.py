"""Deprecated: moved to :mod:`passlens.cli.theory`; this alias module is removed in the next release."""

import warnings

warnings.warn(
    "passlens.cli_theory is deprecated and will be removed in the next release; use passlens.cli.theory",
    DeprecationWarning,
    stacklevel=2,
)

from .cli.theory import theory_app  # noqa: E402

__all__ = ["theory_app"]
