"""Deprecated: moved to :mod:`passlens.cli.train`; this alias module is removed in the next release."""

import warnings

warnings.warn(
    "passlens.cli_train is deprecated and will be removed in the next release; use passlens.cli.train",
    DeprecationWarning,
    stacklevel=2,
)

from .cli.train import train_cmd  # noqa: E402

__all__ = ["train_cmd"]
