"""The preset protocol: how a tool's own log is recognized and mapped to per-sample rows.

A preset is a subclass of :class:`DocumentPreset` or :class:`TablePreset` in a module of its own,
listed in :data:`passlens.io.formats.presets.PRESETS`. It recognizes its tool's file by a
signature (field names and types, never the file name), and maps the tool's records to the
columns the rest of :mod:`passlens.io` reads: problem id, correctness, answer, sample id, group.
What it decides is returned as :class:`Defaults`; an option the caller gives wins over it.

* :class:`DocumentPreset` — a JSON document, read whole (:mod:`..json_document`):
  :meth:`DocumentPreset.records` yields one flat record per sample (or per problem, with lists)
  and the JSON path it comes from, which messages name.
* :class:`TablePreset` — JSON lines or Parquet, scanned lazily: :meth:`TablePreset.view` gives
  the output columns as polars expressions over the file's columns, one output row per input
  record (no filter, no explode), so lines and rows named in messages stay right.
"""

from __future__ import annotations

import json
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import polars as pl

from ...tables import InputError

__all__ = ["Defaults", "Preset", "DocumentPreset", "TablePreset", "PresetError", "JsonPath", "json_path"]

#: A place in a JSON document: the keys and indices from its root.
JsonPath = tuple[str | int, ...]

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def json_path(parts: Sequence[str | int]) -> str:
    """``('eval', 'HumanEval/0', 3)`` → ``$.eval["HumanEval/0"][3]`` (JSONPath, as messages write it)."""
    out = "$"
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        elif _IDENTIFIER.fullmatch(p):
            out += f".{p}"
        else:
            out += f"[{json.dumps(p, ensure_ascii=False)}]"
    return out


class PresetError(Exception):
    """A document preset's complaint about the record at ``path`` (the file's name is added)."""

    def __init__(self, path: Sequence[str | int], message: str) -> None:
        super().__init__(message)
        self.path, self.message = tuple(path), message


@dataclass(frozen=True)
class Defaults:
    """What a preset says about its columns: defaults for the caller's options.

    Attributes:
      tool: the tool's file as notes name it (``"EvalPlus eval_results.json"``).
      columns: option (``id_col``, ``reward_col``, ``answer_col``, ``sample_col``, ``c_col``,
        ``n_col``) → the column that plays that role.
      by: the column to group by when this file is read alone and no ``by`` is given.
      rewards: other columns that could be the reward (the caller picks one with --reward-col).
      note: one line for the notes (what was read), or ``None``.
    """

    tool: str
    columns: dict[str, str] = field(default_factory=dict)
    by: str | None = None
    rewards: tuple[str, ...] = ()
    note: str | None = None


class Preset(ABC):
    """A tool's log (one subclass per tool file).

    Class attributes:
      name: a short name (``"evalplus"``), unique among presets.
      tool: the tool's file as notes and messages name it.
      reads: which fields are read, and what the file gives (n per problem, answers, groups).
    """

    name: ClassVar[str]
    tool: ClassVar[str]
    reads: ClassVar[str]

    def __init__(self, label: str) -> None:
        self.label = label  # the input as messages name it

    def fail(self, message: str) -> InputError:
        """An error about the whole file: ``"<file>: <tool>: <message>"``."""
        return InputError(f"{self.label}: {self.tool}: {message}")


class DocumentPreset(Preset):
    """A tool's JSON document: claimed from the parsed document, read into flat records."""

    @classmethod
    @abstractmethod
    def claims(cls, doc: Any) -> bool:
        """Whether the parsed document ``doc`` carries this tool's signature."""

    @abstractmethod
    def records(self, doc: Any) -> Iterator[tuple[JsonPath, dict[str, Any]]]:
        """(JSON path, flat record) per sample, in document order.

        Raises:
          PresetError: a record that does not hold what the tool writes (path and problem).
          InputError: a problem with the whole file (:meth:`Preset.fail`).
        """

    @abstractmethod
    def defaults(self) -> Defaults:
        """The roles of the records' columns (asked after :meth:`records` has run)."""


class TablePreset(Preset):
    """A tool's table (JSON lines, Parquet): claimed from the column types, read as a lazy view."""

    @classmethod
    @abstractmethod
    def claims(cls, schema: pl.Schema) -> bool:
        """Whether the columns ``schema`` carry this tool's signature."""

    @abstractmethod
    def view(self, schema: pl.Schema, lf: pl.LazyFrame) -> tuple[list[pl.Expr], Defaults]:
        """The output columns (expressions over the file's columns, one row per record) and their roles.

        Args:
          schema: the file's columns.
          lf: the file's rows, for a preset that must look at values (a few distinct values).

        Raises:
          InputError: the file is this tool's but cannot be read (:meth:`Preset.fail`).
        """
