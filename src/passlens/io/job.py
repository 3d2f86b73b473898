"""The inputs of one read, their column mappings and group labels: the queries over all of them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import polars as pl

from .columns import Mapping, text_columns
from .formats import Format
from .messages import nested_message, one_line, pid
from .normalize import decode, key_type, normalize, position
from .tables import InputError, MixedGroupError

__all__ = ["Job", "nested_error", "nested_rows"]

T = TypeVar("T")


class Job:
    """The inputs of one read, their column mappings and group labels; builds and runs queries.

    Attributes:
      sources, maps, labels: per input, its format, its :class:`Mapping` and its group
        label (``None`` when grouped by a ``by`` column).
      multi: several groups (messages then name the group).
      keys: dtype of each key column of the canonical frame (``normalize``).
    """

    def __init__(self, sources: list[Format], maps: list[Mapping], labels: list[str | None]) -> None:
        self.sources, self.maps, self.labels = sources, maps, labels
        self.multi = labels[0] is None or len(set(labels)) > 1  # several groups
        m = maps[0]
        self.keys: dict[str, pl.DataType] = {
            "_g": key_type(sources, maps, lambda mm: mm.by),
            "_id": key_type(sources, maps, lambda mm: mm.id),
            "_s": key_type(sources, maps, lambda mm: mm.sample),
        }
        for j in range(len(m.extras)):
            self.keys[f"_x{j}"] = key_type(sources, maps, _extra(j))

    def frame(self, diag: bool, only: int | None = None) -> pl.LazyFrame:
        """All inputs concatenated in canonical columns (or only input number ``only``)."""
        frames = [
            normalize(s, i, m, lab, diag, self.keys)
            for i, (s, m, lab) in enumerate(zip(self.sources, self.maps, self.labels))
            if only is None or i == only
        ]
        return frames[0] if len(frames) == 1 else pl.concat(frames, how="vertical")

    def run(self, build: Callable[[], T]) -> T:
        """Run ``build()`` (which scans the inputs); on a read error, find the culprit.

        A typed read of a text file can fail late (a reward 'true' after numbers):
        then each input is checked line by line in Python (malformed JSON,
        ragged CSV rows are reported with their line), text inputs are re-read with
        their numeric columns as text, which the parsing expressions handle.
        """
        try:
            return build()
        except pl.exceptions.PolarsError:
            pass
        for src in self.sources:
            src.diagnose()
            if src.text:
                src.string_mode = True
        try:
            return build()
        except pl.exceptions.PolarsError as e:
            raise InputError(
                f"{', '.join(s.label for s in self.sources)}: cannot read: {one_line(e)}"
            ) from None

    def where(self, pos: int) -> str:
        """Location of a global row position, as messages name it."""
        f, row = decode(pos)
        return self.sources[f].locate(row)

    def first_row(self, flag: pl.Expr) -> dict[str, Any]:
        """The earliest row (file order, then row order) where ``flag`` holds."""
        out = self.run(lambda: self.frame(True).filter(flag).sort("_pos").head(1).collect())
        return out.row(0, named=True)

    def rows_of(self, group: Any, problem: Any, cols: list[str]) -> pl.DataFrame:
        """Position and ``cols`` of every row of one problem of one group, in file order."""
        flt = (pl.col("_g") == group) & (pl.col("_id") == problem)
        return self.run(lambda: self.frame(True).filter(flt).select(["_pos", *cols]).sort("_pos").collect())

    def in_group(self, group: Any) -> str:
        return f" in group {str(group)!r}" if self.multi else ""

    def mixed(self, pos: int, group: Any, problem: Any, col: str, values: list[Any]) -> InputError:
        return MixedGroupError(
            f"{self.where(pos)}: problem {pid(problem)}{self.in_group(group)} has rows from several {col!r} "
            f"values {[None if v is None else str(v) for v in values]}", col)


def _extra(j: int) -> Callable[[Mapping], str | None]:
    return lambda m: m.extras[j]


def nested_rows(job: Job) -> pl.DataFrame:
    """Rows whose text column holds a JSON list or object (error path): _pos, _col, _kind, by _pos."""
    found = []
    for i, (src, m) in enumerate(zip(job.sources, job.maps)):
        cols = text_columns(m)
        hits = src.nested_rows(cols) if cols else None
        if hits is not None:
            found.append(hits.select(position(i).alias("_pos"), "_col", "_kind"))
    if not found:
        return pl.DataFrame(schema={"_pos": pl.Int64, "_col": pl.String, "_kind": pl.String})
    return pl.concat(found).sort("_pos").unique("_pos", keep="first", maintain_order=True)


def nested_error(job: Job, pos: int, col: str, kind: str) -> InputError:
    """The error for a JSON list or object at global row position ``pos``."""
    return InputError(nested_message(job.where(pos), job.maps[decode(pos)[0]], col, kind))
