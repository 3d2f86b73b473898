"""CSV (``.csv``) with a header line.

Messages name the 1-based physical line, the header being line 1 (a quoted field may span
lines: a record is named by the line it starts on). Column types are inferred from the
first rows; a late type surprise is handled by a re-read with numbers as text.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import polars as pl

from ..tables import InputError
from .base import ROW, Format, utf8

__all__ = ["Csv"]

_INFER_ROWS = 1000  # columns come from the header; a late type surprise triggers a text re-read


class Csv(Format):
    """A CSV file: records after the header; ``locate`` gives the line a record starts on."""

    name = "csv"
    extensions = (".csv",)
    text = True

    @classmethod
    def from_file(cls, label: str, path: Path, nonblank: int, blank: int) -> Csv:
        if nonblank <= 1:
            raise InputError(
                f"{label}: empty file (no rows)" if nonblank == 0 else f"{label}: no data rows (header only)"
            )
        _check_header(label, path)
        return cls(label, path.stem, path)

    def scan(self, overrides: dict[str, Any] | None = None, row_index: bool = False) -> pl.LazyFrame:
        assert self.path is not None
        return pl.scan_csv(
            str(self.path.absolute()),  # absolute: polars would also expand a leading "~"
            glob=False,  # the path is literal: 'p?.csv' is one file
            schema_overrides=overrides or None,
            infer_schema_length=_INFER_ROWS,
            row_index_name=ROW if row_index else None,
        )

    # -- error path: Python rescans of the file, never run on clean input ---------------------

    def diagnose(self) -> None:
        assert self.path is not None
        with open(self.path, "rb") as f:  # polars refuses a file with any non-UTF-8 byte, used column or not
            for lineno, raw in enumerate(f, 1):
                utf8(self.label, lineno, raw)
        with open(self.path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            width = None
            start = 1
            for record in reader:
                if width is None:
                    width = len(record)
                elif record and len(record) != width:
                    raise InputError(
                        f"{self.label}:{start}: expected {width} fields (as in the header), got {len(record)}"
                    )
                start = reader.line_num + 1

    def locate(self, row: int) -> str:
        assert self.path is not None
        with open(self.path, newline="", encoding="utf-8", errors="replace") as f:
            reader = csv.reader(f)
            start = 1
            for k, _ in enumerate(reader):
                if k == row + 1:  # record 0 is the header
                    return f"{self.label}:{start}"
                start = reader.line_num + 1
        return super().locate(row)

    def raw_field(self, row: int, col: str) -> str | None:
        assert self.path is not None
        with open(self.path, newline="", encoding="utf-8-sig", errors="replace") as f:
            reader = csv.reader(f)
            header = next(reader, [])
            if col not in header:
                return None
            for k, record in enumerate(reader):
                if k == row:
                    j = header.index(col)
                    return record[j].strip() if j < len(record) else None
        return None


def _check_header(label: str, path: Path) -> None:
    """A header naming one column twice is an error (polars would rename the second copy).

    Reads the header record only. Empty names are left alone (they name no role).
    """
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as f:
        header = next(csv.reader(f), [])
    seen: set[str] = set()
    for name in header:
        if name in seen and name.strip():
            raise InputError(f"{label}:1: column {name!r} appears twice in the header")
        seen.add(name)
