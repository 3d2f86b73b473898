"""Per-problem rows → one :class:`ProblemTable` per group: the final stage of every reader.

The in-process readers (:mod:`.aggregate`, :mod:`.counts`) and the engines
(:mod:`.engines.aggregate`) each end with a polars frame of one row per (group, problem); what
happens to it from there is written once, here:

* :func:`count_row_error` — the checks on count rows (id present, c and n integers, n ≥ 1,
  0 ≤ c ≤ n, a group value present) and their one-line messages;
* :func:`count_tables` and :func:`sample_tables` — the tables, with the notes they carry;
* :func:`per_group` — the groups, each sorted by problem id as text, under both.

Frame columns: ``_g`` (group key), ``_id`` (problem id); counts ``_n``, ``_c`` (count rows) or
``n``, ``c`` (sample rows); list columns ``rewards``, ``votes``, ``vote_ok`` where kept.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import polars as pl

from .columns import Mapping
from .messages import missing_id, num, pid
from .tables import ProblemTable, group_order

__all__ = ["by_problem", "count_row_error", "count_tables", "per_group", "sample_tables", "split_lists"]


def by_problem(df: pl.DataFrame, *more: str) -> pl.DataFrame:
    """``df`` sorted by group key, problem id as text, then the columns ``more``.

    A lazy sort: the eager ``DataFrame.sort`` by a text column goes through an arg-sort that
    took 3-4× longer on millions of ids sharing a prefix (``prob-0000123``).
    """
    keys: list[Any] = ["_g", pl.col("_id").cast(pl.String), *more]
    return df.lazy().sort(keys).collect()


def per_group(df: pl.DataFrame) -> Iterator[tuple[str, pl.DataFrame]]:
    """(group label, its rows sorted by problem id as text) of per-problem rows, in group order
    (rows that :func:`by_problem` sorted are not sorted again)."""
    df = df.with_columns(pl.col("_g").cast(pl.String).alias("_label"), pl.col("_id").cast(pl.String))
    labels = df["_label"].unique().to_list()
    parts = {labels[0]: df} if len(labels) == 1 else {k[0]: p for k, p in df.partition_by("_label", as_dict=True).items()}
    for label in group_order(list(parts)):
        part = parts[label]
        yield label, part if part["_id"].is_sorted() else part.lazy().sort("_id").collect()


def count_row_error(
    df: pl.DataFrame, m: Mapping, raw: Callable[[int, int], str | None], nested: np.ndarray | None = None
) -> tuple[int, str | None] | None:
    """The first count row of ``df`` (not empty) that fails the read: its index, and what is wrong
    (``problem 'x': c = 5 > n = 4``); ``None`` when every row passes.

    Args:
      df: count rows with _id, _rawid, _c, _cbad, _n, _nbad, _raw0, _raw1, _empty (and _g where
        a ``by`` column groups them), in the order in which the first is named.
      m: the column roles (names in messages).
      raw: ``raw(which, i)`` — count c (``which`` 0) or n (1) of row ``i`` as the input holds it;
        quoted where the count is beyond 2⁵³ (a float there is not the number written).
      nested: bool (rows,), a JSON list or object in a text column of the row; the message is
        then ``None`` (the caller names the column, from the file).
    """
    assert m.c is not None and m.n is not None
    c_col, n_col = m.c, m.n
    rows = df.height
    empty = df["_empty"].to_numpy().astype(bool)
    # counts pass through float64 so that 1.5 or 'x' can be named; exact for |x| < 2⁵³ (checked below)
    c = df["_c"].to_numpy().astype(np.float64)
    n = df["_n"].to_numpy().astype(np.float64)
    id_null = df["_id"].is_null().to_numpy()
    group_null = df["_g"].is_null().to_numpy() if "_g" in df.columns else np.zeros(rows, dtype=bool)

    def shown(which: int, i: int) -> str:
        x = (c, n)[which][i]
        if not (math.isfinite(x) and abs(x) >= 2.0**53):
            return num(x)
        return raw(which, i) or f"{num(x)} (rounded)"

    def not_a_number(col: str, text: str) -> str:
        low = text.strip().lower()
        if low in ("true", "false"):
            return f"count {col!r} = {low} is a boolean, not a count"
        return f"count {col!r} = {text!r} is not a number"

    with np.errstate(invalid="ignore"):
        checks: list[tuple[np.ndarray, Callable[[int], str] | None]] = [
            (id_null, lambda i: missing_id(df["_rawid"][i], m.id)),
            (nested if nested is not None else np.zeros(rows, dtype=bool), None),
            (df["_cbad"].to_numpy(), lambda i: not_a_number(c_col, str(df["_raw0"][i]))),
            (df["_nbad"].to_numpy(), lambda i: not_a_number(n_col, str(df["_raw1"][i]))),
            (~np.isfinite(c), lambda i: f"missing or non-finite count {c_col!r}"),
            (~np.isfinite(n), lambda i: f"missing or non-finite count {n_col!r}"),
            (c != np.round(c), lambda i: f"count {c_col!r} = {shown(0, i)} is not an integer"),
            (n != np.round(n), lambda i: f"count {n_col!r} = {shown(1, i)} is not an integer"),
            (n >= 2.0**53, lambda i: f"n = {shown(1, i)} is too large to count exactly (2^53 or more)"),
            (n < 1, lambda i: f"n = {shown(1, i)} < 1"),
            (c < 0, lambda i: f"c = {shown(0, i)} < 0"),
            (c > n, lambda i: f"c = {shown(0, i)} > n = {shown(1, i)}"),
            (group_null, lambda i: f"missing value in group column {m.by!r}"),
        ]
    flagged = np.zeros(rows, dtype=bool)
    for mask, _ in checks:
        flagged |= mask.astype(bool) & ~empty
    if not flagged.any():
        return None
    i = int(np.flatnonzero(flagged)[0])
    message = next(msg for mask, msg in checks if mask[i])
    if message is None:  # (a nested value with a missing id is named as a missing id)
        return i, None
    who = "" if id_null[i] else f"problem {pid(df['_id'][i])}: "
    return i, who + message(i)


def count_tables(df: pl.DataFrame, m: Mapping, notes: list[str]) -> dict[str, ProblemTable]:
    """One table per group of checked count rows (_g, _id, _n, _c, _x<j>), problems sorted by id
    (as text); a note where a model / checkpoint / step column has several values in a group."""
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


def sample_tables(
    stats: pl.DataFrame,
    *,
    threshold: float | None,
    answers: bool,
    kept: set[Any],
    nonbinary: set[Any],
    first_nb: dict[Any, str],
    conflict: dict[Any, str],
    notes: list[str],
) -> dict[str, ProblemTable]:
    """One table per group of per-sample statistics, problems sorted by id (as text).

    Args:
      stats: one row per (group, problem): _g, _id, n, c; ``rewards`` (sorted float lists) where
        reward arrays are kept; ``votes`` and ``vote_ok`` (lists, answers in text order) with answers.
      threshold: the caller's; without one, c of a group with non-0/1 rewards is ``None``.
      answers: an answer column was read.
      kept: groups whose reward arrays are kept (their ``rewards`` are not null).
      nonbinary: groups with a reward not 0 or 1.
      first_nb: group → where its first non-0/1 reward is.
      conflict: group → where an answer is first both correct and incorrect (its answers then
        get no correctness).
      notes: appended: c is None, reward arrays not kept.
    """
    groups: dict[str, ProblemTable] = {}
    for label, part in per_group(stats):
        g = part["_g"][0]
        binary_group = g not in nonbinary
        counted = binary_group or threshold is not None
        rewards = None
        if "rewards" in part.columns and g in kept:
            rewards = split_lists(part["rewards"], np.float64)
        votes = vote_ok = None
        if answers:
            votes = split_lists(part["votes"], np.int64)
            vote_ok = split_lists(part["vote_ok"], bool) if counted and g not in conflict else None
        if not binary_group:
            what = f"group {label!r}: " if label else ""
            if threshold is None:
                notes.append(
                    f"{what}rewards are not all 0/1 (first at {first_nb[g]}): c is None"
                    + (" and answers have no correctness" if answers else "")
                    + "; pass threshold= to count successes"
                )
            if rewards is None:
                notes.append(f"{what}reward arrays not kept (keep_rewards=False)")
        groups[label] = ProblemTable(
            ids=part["_id"].to_numpy().astype(object),
            n=part["n"].to_numpy().astype(np.int64),
            c=part["c"].to_numpy().astype(np.int64) if counted else None,
            rewards=rewards,
            votes=votes,
            vote_correct=vote_ok,
            nonbinary_at=first_nb.get(g),
            answer_conflict=conflict.get(g),
        )
    return groups


def split_lists(series: pl.Series, dtype: Any) -> list[np.ndarray]:
    """A list column → one numpy array per row (one flat conversion, then views)."""
    ends = np.cumsum(series.list.len().to_numpy().astype(np.int64)).tolist()
    flat = series.explode().to_numpy().astype(dtype, copy=False)
    # slicing in a comprehension: np.split's per-piece bookkeeping costs ~10 µs * P
    return [flat[a:b] for a, b in zip([0, *ends[:-1]], ends)]
