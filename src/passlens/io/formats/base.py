"""The format protocol: one input (a file or a frame) read through its format.

A format is a subclass of :class:`Format` in a module of its own, listed in
:data:`passlens.io.formats.FORMATS`. An instance is one input of that format; the rest of
:mod:`passlens.io` reaches the input only through these methods, so it never asks which
format it holds:

* :meth:`Format.from_file` opens a file (checks that need no row: empty, header only);
* :meth:`Format.scan` is the happy path: a polars LazyFrame of the input's columns (a format
  implements ``_scan``; ``scan`` adds the view of a tool's table, see below);
* :meth:`Format.locate`, :meth:`Format.raw_field`, :meth:`Format.first_value_at`,
  :meth:`Format.diagnose`, :meth:`Format.nested_rows` are the error path: they name the
  physical line (text files) or the row (Parquet, frames) a message points to.

The methods with a body here are right for typed inputs (Parquet, frames): a format
overrides what it knows better.

Tool logs. A file that a tool wrote (lm-evaluation-harness samples, a verl dump, TRL completions,
lighteval details …) is recognized by a preset (:mod:`passlens.io.formats.presets`) from its
columns, after the file is opened (:meth:`Format.use_preset`). The input then holds the preset's
columns (one output row per record, so every location stays right) and :attr:`Format.defaults`
says which column plays which role; the caller's options still win.

Compressed files (gzip, zstd, bzip2; :mod:`._compression`) are read by the text formats: told by
their first bytes, streamed by polars where it can, decompressed by Python on the error path.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

import polars as pl

from ..messages import one_line
from ..tables import InputError
from ._compression import compression
from .presets import TABLE_PRESETS
from .presets.base import Defaults, Preset

__all__ = ["ROW", "Format", "utf8"]

#: Name of the 0-based row-index column that ``scan(row_index=True)`` adds.
ROW = "_pl_row"

_RUN = ("model", "checkpoint", "step")  # (as passlens.io.columns.RUN_COLUMNS; formats stand below columns)


class Format(ABC):
    """One input read through its format; each subclass is one format.

    Class attributes:
      name: the format as messages name it (``"<file>: cannot read csv: …"``).
      extensions: the file suffixes (lower case, with the dot) that select it; ``()`` when it
        is not read from files.
      text: values arrive as text and the reader infers their types (JSON lines, CSV). Then
        ids and group keys are read as strings, a read that fails on a late type surprise is
        retried with the numeric columns as text (``string_mode``), and lines are counted:
        messages name physical lines.

    Attributes:
      label: how messages name the input (the path as given, or a frame's ``source``).
      stem: the group label when files are grouped by file (made unique across inputs).
      path: the file, or ``None``.
      blank_lines: empty lines the reader skips (noted).
      string_mode: numeric columns are read as text (set after a typed read failed).
      preset: the tool whose file this is (a :class:`~.presets.base.Preset`), or ``None``.
      defaults: what the preset says of the columns (roles, group, other rewards), or ``None``.
    """

    name: ClassVar[str]
    extensions: ClassVar[tuple[str, ...]] = ()
    text: ClassVar[bool] = False

    def __init__(self, label: str, stem: str, path: Path | None = None) -> None:
        self.label, self.stem, self.path = label, stem, path
        self.blank_lines = 0
        self.string_mode = False
        self.preset: Preset | None = None
        self.defaults: Defaults | None = None
        self._view: list[pl.Expr] | None = None  # a table preset's output columns

    # -- choosing and opening -------------------------------------------------------------

    @classmethod
    def detect(cls, path: Path, head: bytes) -> bool:
        """Whether ``path``, whose suffix is one of :attr:`extensions`, holds this format.

        Asked only when several formats claim the suffix; ``head`` is the file's first
        bytes (empty when it cannot be read). By default: yes.
        """
        return True

    @classmethod
    def line_counted(cls, path: Path) -> bool:
        """Whether the pass that takes the file's digest also counts its lines (``from_file``'s
        ``nonblank`` and ``blank``): text files stored uncompressed. A compressed file's bytes
        are not its lines; its format counts what it needs itself."""
        return cls.text and compression(path) is None

    @classmethod
    def from_file(cls, label: str, path: Path, nonblank: int, blank: int) -> Format:
        """The existing file ``path`` as an input of this format, checked as far as that needs no row.

        Args:
          label: the path as given (messages name it).
          nonblank, blank: the file's non-blank and blank line counts when :meth:`line_counted`,
            else 0 (the file's digest counts them in the same pass).

        Raises:
          InputError: an empty file, a header without rows, an unreadable file.
        """
        raise NotImplementedError(f"{cls.name} inputs are not read from files")

    # -- the happy path ---------------------------------------------------------------------

    def scan(self, overrides: dict[str, Any] | None = None, row_index: bool = False) -> pl.LazyFrame:
        """The input's columns, lazily (a tool preset's columns when one recognized the file).

        Args:
          overrides: column → polars dtype to read it as (text formats; others ignore it).
          row_index: add the 0-based record number as column :data:`ROW`.
        """
        if self._view is None:
            return self._scan(overrides, row_index)
        lf = self._scan(None, row_index).select([*self._view, *([pl.col(ROW)] if row_index else [])])
        # a preset's columns are typed by its expressions; the overrides of a text read become casts
        return lf.with_columns(pl.col(col).cast(dtype) for col, dtype in (overrides or {}).items())

    @abstractmethod
    def _scan(self, overrides: dict[str, Any] | None, row_index: bool) -> pl.LazyFrame:
        """The file's own columns, lazily (:meth:`scan` without a preset's view)."""

    def use_preset(self) -> None:
        """Look for a tool preset that recognizes the file's columns; from then on :meth:`scan`
        gives the preset's columns and :attr:`defaults` its roles.

        Raises:
          InputError: the file is a tool's, but not one that can be read (the preset says why).
        """
        try:
            schema = self._scan(None, False).collect_schema()
        except pl.exceptions.PolarsError:
            return  # an unreadable file is reported when it is read
        for preset in TABLE_PRESETS:
            if preset.claims(schema):
                self.preset = found = preset(self.label)
                view, self.defaults = found.view(schema, self._scan(None, False))
                # run columns the user added (model, checkpoint, step) stay: they group and pool files
                names = {e.meta.output_name() for e in view}
                view += [pl.col(c) for c in schema.names() if c.lower() in _RUN and c not in names]
                self._view = view
                return

    def schema(self, overrides: dict[str, Any] | None = None) -> pl.Schema:
        """Column names and types of :meth:`scan`; an unreadable input raises :meth:`read_error`."""
        try:
            return self.scan(overrides).collect_schema()
        except pl.exceptions.PolarsError as e:
            raise self.read_error(e) from None

    # -- the error path -------------------------------------------------------------------

    def read_error(self, e: Exception) -> InputError:
        """The error for a failed polars read: :meth:`diagnose` raises naming the line where it can."""
        self.diagnose()
        return InputError(f"{self.label}: cannot read {self.name}: {one_line(e)}")

    def diagnose(self) -> None:
        """After a polars read failed: raise :class:`InputError` naming the bad line, if one is found.

        Returning means nothing was found (a late type surprise, which a re-read in
        ``string_mode`` handles, or a failure the caller reports with polars' message).
        """

    def locate(self, row: int) -> str:
        """Where the 0-based record ``row`` sits, as messages name it: ``"<file>: row r"`` (1-based)."""
        return f"{self.label}: row {row + 1}"

    def raw_field(self, row: int, col: str) -> str | None:
        """The value of ``col`` in the 0-based record ``row``, as the input holds it, in text (else None).

        For messages about numbers a float cannot hold exactly (1e23 reads as 99999999999999991611392).
        """
        hit = self.scan().select(pl.col(col).cast(pl.String)).slice(row, 1).collect()
        return hit.item() if hit.height else None

    def first_value_at(self, col: str) -> str:
        """Where the first value of column ``col`` (of a type no role reads) sits; else the input."""
        try:
            hit = self.scan(row_index=True).filter(pl.col(col).is_not_null()).select(ROW).head(1).collect()
        except pl.exceptions.PolarsError:
            return self.label
        return self.locate(int(hit[ROW][0])) if hit.height else self.label

    def nested_hint(self, cols: list[str]) -> pl.Expr:
        """A cheap flag per row: some of the text columns ``cols`` may hold a list or an object
        read as its text (confirmed by :meth:`nested_rows`). Typed inputs cannot: always false."""
        return pl.lit(False)

    def nested_rows(self, cols: list[str]) -> pl.DataFrame | None:
        """Records whose column in ``cols`` holds a list or an object (error path).

        Returns:
          ``None`` where :meth:`nested_hint` is never true, else a frame of
          :data:`ROW` (Int64, 0-based), ``_col`` (the first such column) and ``_kind``
          (``"list"`` / ``"object"``), possibly with repeated rows.
        """
        return None


def utf8(where: str, raw: bytes) -> str:
    """A line of a text file as text, or the error naming (``where``: ``file:line``) its first byte
    that is not UTF-8."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError(
            f"{where}: not valid UTF-8 (byte 0x{raw[e.start]:02x} at byte {e.start + 1} of the "
            "line); save the file as UTF-8"
        ) from None
