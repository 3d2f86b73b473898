"""Per-problem count rows (id, c, n) → per-group (n, c), every row checked.

Count files hold one row per problem, so they are small next to sample logs: they are
collected in full and checked with numpy masks, the first failing row in file order named.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from .columns import Options
from .job import Job, nested_error, nested_rows
from .messages import pid
from .normalize import decode
from .problems import count_row_error, count_tables
from .tables import InputError, ProblemTable

__all__ = ["read_counts"]


def read_counts(job: Job, opts: Options, notes: list[str]) -> tuple[dict[str, ProblemTable], int]:
    """Per-group tables of count inputs, and the number of rows read (notes appended)."""
    m = job.maps[0]
    if opts.threshold is not None:
        notes.append("threshold ignored: the inputs hold counts, not rewards")
    df: pl.DataFrame = job.run(lambda: job.frame(True).collect(engine="streaming")).sort("_pos")
    rows = df.height
    _check_rows(job, df)
    empty = df["_empty"].to_numpy()
    if empty.any():
        notes.append(f"{int(empty.sum())} empty row(s) (no {m.id!r}, {m.c!r}, {m.n!r}) skipped")
    df = df.filter(~pl.col("_empty"))
    _check_duplicates(job, df)
    return count_tables(df, m, notes), rows


def _check_rows(job: Job, df: pl.DataFrame) -> None:
    """The first row (not empty) with a missing id, a nested value or a bad count is an error."""
    m = job.maps[0]

    def raw(which: int, i: int) -> str | None:
        """The input's text of count c (which=0) or n (1) of row i (a typed column's value)."""
        f, row = decode(int(df["_pos"][i]))
        col = (m.c, m.n)[which]
        assert col is not None
        return job.sources[f].raw_field(row, col)

    nested = np.zeros(df.height, dtype=bool)
    nested_at: dict[int, tuple[str, str]] = {}
    if df["_nest"].any():  # text starting with [ or {: a JSON list or object?
        found = nested_rows(job)
        nested = df["_pos"].is_in(found["_pos"].implode()).to_numpy()
        nested_at = {pos: (col, kind) for pos, col, kind in found.iter_rows()}
    bad = count_row_error(df, m, raw, nested)
    if bad is None:
        return
    i, message = bad
    pos = int(df["_pos"][i])
    if message is None:
        raise nested_error(job, pos, *nested_at[pos])
    raise InputError(f"{job.where(pos)}: {message}")


def _check_duplicates(job: Job, df: pl.DataFrame) -> None:
    """A problem given twice in one group is an error; if its rows differ in a model / checkpoint /
    step column without ``by``, the error says they mix runs."""
    m = job.maps[0]
    dup = df.filter(pl.struct("_g", "_id").is_duplicated())
    if not dup.height:
        return
    first = dup.row(0, named=True)
    g, problem = first["_g"], first["_id"]
    same = dup.filter((pl.col("_g") == g) & (pl.col("_id") == problem))
    differ = []
    for j, x in enumerate(m.extras):
        values = same[f"_x{j}"].unique(maintain_order=True).to_list()
        if len(values) > 1 and m.by is None:
            pos = same.filter(pl.col(f"_x{j}").eq_missing(values[1]))["_pos"][0]
            raise job.mixed(pos, g, problem, x, values)
        if len(values) > 1:
            differ.append(x)
    hint = f"; the rows differ in {', '.join(map(repr, differ))}: filter the input" if differ else ""
    raise InputError(
        f"{job.where(int(same['_pos'][1]))}: duplicate problem id {pid(problem)}{job.in_group(g)} "
        f"(first at {job.where(int(same['_pos'][0]))}){hint}"
    )
