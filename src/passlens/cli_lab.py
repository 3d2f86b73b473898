"""Deprecated: moved to :mod:`passlens.cli.lab` and :mod:`passlens.cli.reproduce`; this alias module is removed in the next release."""

import warnings

warnings.warn(
    "passlens.cli_lab is deprecated and will be removed in the next release; use passlens.cli.lab and passlens.cli.reproduce",
    DeprecationWarning,
    stacklevel=2,
)

from .cli.lab import lab_app, run_cmd, show_cmd  # noqa: E402
from .cli.reproduce import reproduce_cmd  # noqa: E402

__all__ = ["lab_app", "reproduce_cmd", "run_cmd", "show_cmd"]
