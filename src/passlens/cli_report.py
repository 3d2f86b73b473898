"""Deprecated: moved to :mod:`passlens.cli.report`; this alias module is removed in the next release."""

import warnings

warnings.warn(
    "passlens.cli_report is deprecated and will be removed in the next release; use passlens.cli.report",
    DeprecationWarning,
    stacklevel=2,
)

from .cli.report import parse_k_spec, report_cmd  # noqa: E402

__all__ = ["parse_k_spec", "report_cmd"]
