"""Columns holding lists: rewards (one row per problem, one element per sample), as group-sampling dumps
write them; and answers or sample ids that are lists of one value (lm-evaluation-harness's
``filtered_resps: ["42"]``), read as that value."""

from __future__ import annotations

from dataclasses import replace

import polars as pl

from .columns import OPTION_OF_ROLE, Mapping, Options
from .formats import ROW, Format
from .messages import pid
from .normalize import read_overrides
from .tables import InputError

__all__ = ["with_lists"]


def with_lists(src: Format, m: Mapping, opts: Options, notes: list[str]) -> Mapping:
    """Mark a reward column holding lists (one row per problem) to be split into samples.

    An answer / sample-id column is split alongside when it holds lists of scalars;
    any other (one value per row, e.g. the reference answer) is not per-sample: left
    out with a note when detected, an error when named. Checks that every row's
    lists have the same length, and that no reward list is empty.
    """
    if m.shape != "samples":
        return m
    assert m.reward is not None
    schema = src.schema()
    if not isinstance(schema[m.reward], pl.List):
        return _one_element_lists(src, m, schema)
    lists = [m.reward]
    answer, sample = m.answer, m.sample
    for role, col in (("answer", m.answer), ("sample", m.sample)):
        if col is None:
            continue
        dtype = schema[col]
        if isinstance(dtype, pl.List) and not isinstance(dtype.inner, (pl.List, pl.Struct)):
            lists.append(col)
            continue
        option = OPTION_OF_ROLE[role]
        what = "an answer" if role == "answer" else "a sample id"
        if getattr(opts, option) is not None:
            raise InputError(
                f"{src.label}: reward column {m.reward!r} holds lists (one row per problem), so {option} "
                f"{col!r} must hold a list of {what} per sample; it holds {dtype} values"
            )
        notes.append(
            f"{src.label}: column {col!r} not used as the {role} column: reward column {m.reward!r} holds "
            f"one list per problem, and {col!r} holds {dtype} values, not a list of {what} per sample"
        )
        if role == "answer":
            answer = None
        else:
            sample = None
    unused = tuple(c for c in (*m.unused, *(x for x in (m.answer, m.sample) if x and x not in (answer, sample))))
    m = replace(m, answer=answer, sample=sample, lists=tuple(lists), unused=unused)
    _check_lists(src, m, schema)
    notes.append(f"{src.label}: column {m.reward!r} holds lists: each row is one problem, each element one sample")
    return m


def _check_lists(src: Format, m: Mapping, schema: pl.Schema) -> None:
    """One pass over a list-holding input: the first empty reward list or unequal lists is an error."""
    lists = m.lists
    r = pl.col(lists[0]).list.len()
    bad = [r == 0] + [pl.col(c).list.len().fill_null(-1) != r.fill_null(-1) for c in lists[1:]]
    lens = [pl.col(c).list.len().alias(f"_len{j}") for j, c in enumerate(lists)]
    query = (
        src.scan(read_overrides(src, m, schema), row_index=True)
        .filter(pl.any_horizontal(bad).fill_null(False))
        .select(pl.col(ROW), pl.col(m.id).cast(pl.String).alias("_id"), *lens)
        .head(1)
    )
    try:
        hit = query.collect()
    except pl.exceptions.PolarsError as e:
        raise src.read_error(e) from None
    if not hit.height:
        return
    row = hit.row(0, named=True)
    where = src.locate(int(row[ROW]))
    who = f"problem {pid(row['_id'])}: " if row["_id"] is not None else ""
    if row["_len0"] == 0:
        raise InputError(f"{where}: {who}empty list in reward column {lists[0]!r} (a problem needs a sample)")
    j = next(j for j in range(1, len(lists)) if row[f"_len{j}"] != row["_len0"])
    shown = "no list" if row[f"_len{j}"] is None else f"{row[f'_len{j}']} entries"
    raise InputError(
        f"{where}: {who}{row['_len0']} rewards (column {lists[0]!r}) but {shown} in column {lists[j]!r}; "
        "the lists must hold one entry per sample"
    )


def _one_element_lists(src: Format, m: Mapping, schema: pl.Schema) -> Mapping:
    """An answer or sample-id column of lists, beside a reward per row: read each list's one element.

    A list of several values (or none) is an error naming its row: one sample has one answer.
    """
    cols = [
        col
        for col in (m.answer, m.sample)
        if col is not None
        and isinstance(dtype := schema[col], pl.List)
        and not isinstance(dtype.inner, (pl.List, pl.Struct))
    ]
    if not cols:
        return m
    m = replace(m, unwrap=tuple(cols))
    lens = [pl.col(c).list.len().alias(f"_len{j}") for j, c in enumerate(cols)]
    query = (
        src.scan(read_overrides(src, m, schema), row_index=True)
        .filter(pl.any_horizontal([pl.col(c).list.len().fill_null(1) != 1 for c in cols]))
        .select(pl.col(ROW), pl.col(m.id).cast(pl.String).alias("_id"), *lens)
        .head(1)
    )
    try:
        hit = query.collect()
    except pl.exceptions.PolarsError as e:
        raise src.read_error(e) from None
    if not hit.height:
        return m
    row = hit.row(0, named=True)
    j = next(j for j, _ in enumerate(cols) if row[f"_len{j}"] != 1)
    what = "answer" if cols[j] == m.answer else "sample id"
    who = f"problem {pid(row['_id'])}: " if row["_id"] is not None else ""
    raise InputError(
        f"{src.locate(int(row[ROW]))}: {who}{what} column {cols[j]!r} holds a list of {row[f'_len{j}']} values; "
        f"one {what} per sample is needed (a list of one is read as its element)"
    )
