"""Parquet (``.parquet``, ``.pq``): typed columns, read as stored.

Messages name ``row r`` (1-based, the first data row is row 1).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from ..messages import one_line
from ..tables import InputError
from .base import ROW, Format

__all__ = ["Parquet"]


class Parquet(Format):
    """A Parquet file (the locations, raw values and first-value search of :class:`Format`)."""

    name = "parquet"
    extensions = (".parquet", ".pq")

    @classmethod
    def from_file(cls, label: str, path: Path, nonblank: int, blank: int) -> Parquet:
        src = cls(label, path.stem, path)
        try:
            rows = src.scan().select(pl.len()).collect().item()
        except pl.exceptions.PolarsError as e:
            raise InputError(f"{label}: cannot read Parquet: {one_line(e)}") from None
        if rows == 0:
            raise InputError(f"{label}: empty file (no rows)")
        src.use_preset()
        return src

    def _scan(self, overrides: dict[str, Any] | None, row_index: bool) -> pl.LazyFrame:
        assert self.path is not None
        return pl.scan_parquet(
            str(self.path.absolute()),  # absolute: polars would also expand a leading "~"
            glob=False,  # the path is literal: 'p?.parquet' is one file
            row_index_name=ROW if row_index else None,
        )
