"""CSV (``.csv``) with a header line.

Messages name the 1-based physical line, the header being line 1 (a quoted field may span
lines: a record is named by the line it starts on). Column types are inferred from the
first rows; a late type surprise is handled by a re-read with numbers as text. gzip and zstd
files are streamed by polars; a bzip2 file is decompressed into memory (:mod:`._compression`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

import polars as pl

from ..tables import InputError
from ._compression import compression, file_stem, lines, open_binary, read_all, read_head
from .base import ROW, Format, utf8

__all__ = ["Csv"]

_INFER_ROWS = 1000  # columns come from the header; a late type surprise triggers a text re-read


class Csv(Format):
    """A CSV file: records after the header; ``locate`` gives the line a record starts on."""

    name = "csv"
    extensions = (".csv",)
    text = True

    def __init__(self, label: str, stem: str, path: Path | None = None) -> None:
        super().__init__(label, stem, path)
        self.data: bytes | None = None  # a bzip2 file, decompressed into memory

    @classmethod
    def from_file(cls, label: str, path: Path, nonblank: int, blank: int) -> Csv:
        kind = compression(path)
        if kind:  # lines not counted by the digest: look at the first two non-blank ones
            head = read_head(path, 1 << 16)
            nonblank = min(len([x for x in head.split(b"\n") if x.strip()]), 2)
            if nonblank < 2:
                read_all(path, label)  # (damaged data is named as such, not as a file without rows)
        if nonblank <= 1:
            raise InputError(
                f"{label}: empty file (no rows)" if nonblank == 0 else f"{label}: no data rows (header only)"
            )
        src = cls(label, file_stem(path), path)
        if kind == "bzip2":  # polars does not read bzip2
            src.data = read_all(path, label)
        _check_header(label, src._open(errors="replace"))
        src.use_preset()
        return src

    @contextmanager
    def _open(self, encoding: str = "utf-8-sig", errors: str = "strict") -> Iterator[TextIO]:
        """The file as text for Python's csv reader (decompressed)."""
        assert self.path is not None
        raw = io.BytesIO(self.data) if self.data is not None else open_binary(self.path)
        with io.TextIOWrapper(raw, encoding=encoding, errors=errors, newline="") as f:
            yield f

    def _scan(self, overrides: dict[str, Any] | None, row_index: bool) -> pl.LazyFrame:
        assert self.path is not None
        return pl.scan_csv(
            self.data if self.data is not None else str(self.path.absolute()),  # absolute: no "~" expansion
            glob=False,  # the path is literal: 'p?.csv' is one file
            schema_overrides=overrides or None,
            infer_schema_length=_INFER_ROWS,
            row_index_name=ROW if row_index else None,
        )

    # -- error path: Python rescans of the file, never run on clean input ---------------------

    def diagnose(self) -> None:
        assert self.path is not None
        raw = io.BytesIO(self.data) if self.data is not None else lines(self.path, self.label)
        for lineno, line in enumerate(raw, 1):  # polars refuses a file with any non-UTF-8 byte, used column or not
            utf8(f"{self.label}:{lineno}", line)
        with self._open() as f:
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
        with self._open(encoding="utf-8", errors="replace") as f:
            reader = csv.reader(f)
            start = 1
            for k, _ in enumerate(reader):
                if k == row + 1:  # record 0 is the header
                    return f"{self.label}:{start}"
                start = reader.line_num + 1
        return super().locate(row)

    def raw_field(self, row: int, col: str) -> str | None:
        with self._open(errors="replace") as f:
            reader = csv.reader(f)
            header = next(reader, [])
            if col not in header:
                return None
            for k, record in enumerate(reader):
                if k == row:
                    j = header.index(col)
                    return record[j].strip() if j < len(record) else None
        return None


def _check_header(label: str, text: Any) -> None:
    """A header naming one column twice is an error (polars would rename the second copy).

    Reads the header record only (``text``: the file opened as text). Empty names are left
    alone (they name no role).
    """
    with text as f:
        header = next(csv.reader(f), [])
    seen: set[str] = set()
    for name in header:
        if name in seen and name.strip():
            raise InputError(f"{label}:1: column {name!r} appears twice in the header")
        seen.add(name)
