"""Per-problem count rows (id, c, n) → per-group (n, c), every row checked.

Count files hold one row per problem, so they are small next to sample logs: they are
collected in full and checked with numpy masks, the first failing row in file order named.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl

from .columns import Mapping, Options
from .job import Job, nested_error, nested_rows, per_group
from .messages import missing_id, num, pid
from .normalize import decode
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
    return _tables(m, df, notes), rows


def _check_rows(job: Job, df: pl.DataFrame) -> None:
    """The first row (not empty) with a missing id, a nested value or a bad count is an error."""
    m = job.maps[0]
    assert m.c is not None and m.n is not None
    c_col: str = m.c
    n_col: str = m.n
    rows = df.height
    empty = df["_empty"].to_numpy()
    # counts pass through float64 so that 1.5 or 'x' can be named; exact for |x| < 2⁵³ (checked below)
    c = df["_c"].to_numpy().astype(np.float64)
    n = df["_n"].to_numpy().astype(np.float64)
    id_null = df["_id"].is_null().to_numpy()

    def shown(which: int, i: int) -> str:
        """Count c (which=0) or n (1) of row i as the input holds it: beyond 2⁵³ a float
        is not the number written, so the input's text (or a typed column's value) is quoted."""
        x = (c, n)[which][i]
        if not (math.isfinite(x) and abs(x) >= 2.0**53):
            return num(x)
        f, row = decode(int(df["_pos"][i]))
        col = (m.c, m.n)[which]
        assert col is not None
        text = job.sources[f].raw_field(row, col)
        return text if text else f"{num(x)} (rounded)"

    def not_a_number(col: str, raw: str) -> str:
        text = raw.strip().lower()
        if text in ("true", "false"):
            return f"count {col!r} = {text} is a boolean, not a count"
        return f"count {col!r} = {raw!r} is not a number"

    nested = np.zeros(rows, dtype=bool)
    nested_at: dict[int, tuple[str, str]] = {}
    if df["_nest"].any():  # text starting with [ or {: a JSON list or object?
        found = nested_rows(job)
        nested = df["_pos"].is_in(found["_pos"].implode()).to_numpy()
        nested_at = {pos: (col, kind) for pos, col, kind in found.iter_rows()}

    with np.errstate(invalid="ignore"):
        checks: list[tuple[np.ndarray, Callable[[int], str] | None]] = [
            (id_null, lambda i: missing_id(df["_rawid"][i], m.id)),
            (nested, None),
            (df["_cbad"].to_numpy(), lambda i: not_a_number(c_col, df["_raw0"][i])),
            (df["_nbad"].to_numpy(), lambda i: not_a_number(n_col, df["_raw1"][i])),
            (~np.isfinite(c), lambda i: f"missing or non-finite count {m.c!r}"),
            (~np.isfinite(n), lambda i: f"missing or non-finite count {m.n!r}"),
            (c != np.round(c), lambda i: f"count {m.c!r} = {shown(0, i)} is not an integer"),
            (n != np.round(n), lambda i: f"count {m.n!r} = {shown(1, i)} is not an integer"),
            (n >= 2.0**53, lambda i: f"n = {shown(1, i)} is too large to count exactly (2^53 or more)"),
            (n < 1, lambda i: f"n = {shown(1, i)} < 1"),
            (c < 0, lambda i: f"c = {shown(0, i)} < 0"),
            (c > n, lambda i: f"c = {shown(0, i)} > n = {shown(1, i)}"),
            (df["_g"].is_null().to_numpy(), lambda i: f"missing value in group column {m.by!r}"),
        ]
    flagged = np.zeros(rows, dtype=bool)
    for mask, _ in checks:
        flagged |= mask & ~empty
    if not flagged.any():
        return
    i = int(np.flatnonzero(flagged)[0])
    pos = int(df["_pos"][i])
    if nested[i] and not id_null[i]:
        raise nested_error(job, pos, *nested_at[pos])
    who = "" if id_null[i] else f"problem {pid(df['_id'][i])}: "
    message = next(msg for mask, msg in checks if mask[i])
    assert message is not None  # (a nested value with a missing id is named as a missing id)
    raise InputError(f"{job.where(pos)}: {who}{message(i)}")


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


def _tables(m: Mapping, df: pl.DataFrame, notes: list[str]) -> dict[str, ProblemTable]:
    """One table per group, problems sorted by id (as text)."""
    groups: dict[str, ProblemTable] = {}
    for label, part in per_group(df):
        for j, x in enumerate(m.extras):
            vals: list[Any] = part[f"_x{j}"].unique().to_list()
            if len(vals) > 1:
                notes.append(
                    f"group {label!r}: column {x!r} has {len(vals)} values on disjoint problems; "
                    f"pass by={x!r} to split them"
                )
        groups[label] = ProblemTable(
            ids=part["_id"].to_numpy().astype(object),
            n=part["_n"].to_numpy().astype(np.int64),
            c=part["_c"].to_numpy().astype(np.int64),
        )
    return groups
