"""In-memory frames (polars, pandas, pyarrow), given to :func:`passlens.io.from_frame`.

Messages name ``row r`` (1-based) of the frame, called by its ``source`` name.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from ..messages import one_line
from ..tables import InputError
from .base import ROW, Format

__all__ = ["Frame"]


class Frame(Format):
    """A polars / pandas / pyarrow frame (the locations and raw values of :class:`Format`)."""

    name = "frame"

    def __init__(self, label: str, frame: pl.LazyFrame) -> None:
        super().__init__(label, label)
        self.frame = frame

    @classmethod
    def of(cls, frame: Any, source: str) -> Frame:
        """``frame`` (polars DataFrame or LazyFrame, pandas DataFrame, pyarrow Table or
        RecordBatch) as an input named ``source``; an empty frame is an error."""
        lf = _as_lazy(frame, source)
        if lf.select(pl.len()).collect().item() == 0:
            raise InputError(f"{source}: empty frame (no rows)")
        src = cls(source, lf)
        src.use_preset()  # (a tool's table given as a frame, e.g. lighteval details read by datasets)
        return src

    def _scan(self, overrides: dict[str, Any] | None, row_index: bool) -> pl.LazyFrame:
        return self.frame.with_row_index(ROW) if row_index else self.frame


def _as_lazy(frame: Any, source: str) -> pl.LazyFrame:
    if isinstance(frame, pl.LazyFrame):
        return frame
    if isinstance(frame, pl.DataFrame):
        return frame.lazy()
    module = type(frame).__module__.split(".")[0]
    try:
        if module == "pandas":
            return pl.from_pandas(frame).lazy()
        if module == "pyarrow":
            out = pl.from_arrow(frame)
            if isinstance(out, pl.DataFrame):
                return out.lazy()
    except Exception as e:  # conversion errors of foreign frames vary by library
        raise InputError(
            f"{source}: cannot convert {type(frame).__name__} to a table: {one_line(e)}"
        ) from None
    raise InputError(
        f"{source}: unsupported frame type {type(frame).__name__}; pass polars, pandas or pyarrow"
    )
