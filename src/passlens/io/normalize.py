"""One lazy frame per input in canonical columns, whatever its format and column names.

Canonical columns (:func:`normalize`)::

    _g      group key (the ``by`` column, or the input's group label)
    _id     problem id                         (null for a missing or empty id)
    _r _rbad        reward as Float64, "present but not a number"       (samples)
    _a _s           answer text, sample id                               (samples)
    _c _cbad _n _nbad   counts c and n as Float64, and their flags        (counts)
    _x0 _x1 …       model / checkpoint / step / filter columns checked for mixing
    _empty          every used column is null (a skipped row)
    _nest           a text column may hold a JSON list or object (confirmed on the error path)
    _pos _raw0 _raw1 _rawid    with ``diag``: global row position and raw text for messages

A global row position is ``input index · 2⁴⁰ + 0-based record`` (:func:`decode`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import polars as pl

from .columns import Mapping, text_columns
from .formats import ROW, Format
from .tables import InputError

__all__ = ["POS_SHIFT", "position", "decode", "numeric", "read_overrides", "key_type", "normalize"]

POS_SHIFT = 40  # global row position = input index · 2⁴⁰ + row (2⁴⁰ rows per file is plenty)


def position(fidx: int) -> pl.Expr:
    """The global row position of the records of input ``fidx`` (from its :data:`ROW` column)."""
    return pl.lit(fidx, pl.Int64) * (1 << POS_SHIFT) + pl.col(ROW).cast(pl.Int64)


def decode(pos: int) -> tuple[int, int]:
    """(input index, 0-based record) of a global row position."""
    return pos >> POS_SHIFT, pos & ((1 << POS_SHIFT) - 1)


def numeric(src: Format, name: str, dtype: pl.DataType, what: str, booleans: bool) -> tuple[pl.Expr, pl.Expr]:
    """(value as Float64, flag "present but not a number") for a reward or count column.

    Booleans (true / false, or that text in a text file) are rewards 1 / 0 when
    ``booleans``; counts c and n are numbers of samples, and a boolean there is
    flagged rather than read as 1 or 0 (a wrongly exported column would go unnoticed).
    """
    col = pl.col(name)
    if dtype.is_numeric() or dtype == pl.Null:
        return col.cast(pl.Float64), pl.lit(False)
    if dtype == pl.Boolean:
        return (col.cast(pl.Float64), pl.lit(False)) if booleans else (pl.lit(None, pl.Float64), col.is_not_null())
    if dtype == pl.String:
        text = col.str.strip_chars()
        value = text.cast(pl.Float64, strict=False)
        if booleans:
            low = text.str.to_lowercase()
            value = pl.when(low == "true").then(pl.lit(1.0)).when(low == "false").then(pl.lit(0.0)).otherwise(value)
        return value, col.is_not_null() & value.is_null()
    expected = "numbers or booleans" if booleans else "numbers"
    raise InputError(f"{src.first_value_at(name)}: {what} column {name!r} has type {dtype}; expected {expected}")


def read_overrides(src: Format, m: Mapping, schema: pl.Schema) -> dict[str, Any]:
    """Read options of text inputs: keys as strings, integer rewards as floats, all as text in string mode.

    Split list columns of JSON lines are read as lists of text: polars infers [1.0, true]
    as a list of floats and then fails on ``true``; the text is parsed as a scalar's is.
    Typed inputs (Parquet, frames) are read as stored.
    """
    if not src.text:
        return {}
    out: dict[str, Any] = {col: pl.List(pl.String) for col in (*m.lists, *m.unwrap)}
    for col in (m.id, m.answer, m.sample, m.by, *m.extras):
        if col is not None and col not in out:
            out[col] = pl.String
    for col in (m.reward, m.c, m.n):
        if col is None or col in m.lists:
            continue
        if src.string_mode:
            out[col] = pl.String
        elif schema[col].is_integer():
            out[col] = pl.Float64  # a later 0.5 must not fail an integer column
    return out


def key_type(sources: list[Format], maps: list[Mapping], col_of: Callable[[Mapping], str | None]) -> pl.DataType:
    """Int64 when the column is an integer in every input (no per-row string cast), else String.

    Text inputs read key columns as strings (:func:`read_overrides`).
    """
    for src, m in zip(sources, maps):
        col = col_of(m)
        if col is None:
            continue
        if src.text or not src.schema()[col].is_integer():
            return pl.String()
    return pl.Int64()


def normalize(
    src: Format, fidx: int, m: Mapping, label: str | None, diag: bool, keys: dict[str, pl.DataType]
) -> pl.LazyFrame:
    """Input number ``fidx`` in canonical columns (module docstring); ``label`` is its group
    when there is no ``by`` column.

    ``keys`` gives the dtype of the key columns _g, _id, _s, _x<j>; the rest are
    Float64 (rewards, counts), String (answers) or Boolean (flags).
    """
    schema0 = src.schema()
    overrides = read_overrides(src, m, schema0)
    lf = src.scan(overrides, row_index=diag)
    schema = src.schema(overrides) if overrides else schema0
    if m.lists:  # one row per problem → one row per sample (checked equal lengths: lists.check_lists)
        lf = lf.explode(list(m.lists))
    if m.unwrap:  # a list of one answer per row (checked: lists.with_lists) → the answer
        lf = lf.with_columns(pl.col(c).list.first() for c in m.unwrap)
    if m.lists or m.unwrap:
        split = (*m.lists, *m.unwrap)
        schema = pl.Schema({k: (cast(pl.List, v).inner if k in split else v) for k, v in schema.items()})
    used = [col for col in (m.id, m.reward, m.c, m.n, m.answer, m.sample, m.by) if col is not None]
    ident = pl.col(m.id).cast(keys["_id"])
    if keys["_id"] == pl.String:
        # "" is no id: CSV reads an empty field as missing, and "" in JSON (or a quoted "" in
        # CSV) must not become a problem of its own. `when` without `otherwise` gives null.
        ident = pl.when(ident != "").then(ident)
    exprs: list[pl.Expr] = [
        (pl.col(m.by).cast(keys["_g"]) if m.by is not None else pl.lit(label, pl.String)).alias("_g"),
        ident.alias("_id"),
        pl.all_horizontal([pl.col(col).is_null() for col in used]).alias("_empty"),
    ]
    if m.shape == "samples":
        assert m.reward is not None
        r, rbad = numeric(src, m.reward, schema[m.reward], "reward", booleans=True)
        exprs += [r.alias("_r"), rbad.alias("_rbad")]
        exprs.append((pl.col(m.answer).cast(pl.String) if m.answer else pl.lit(None, pl.String)).alias("_a"))
        exprs.append((pl.col(m.sample).cast(keys["_s"]) if m.sample else pl.lit(None, pl.String)).alias("_s"))
        raws = [m.reward]
    else:
        assert m.c is not None and m.n is not None
        c, cbad = numeric(src, m.c, schema[m.c], "count c", booleans=False)
        n, nbad = numeric(src, m.n, schema[m.n], "count n", booleans=False)
        exprs += [c.alias("_c"), cbad.alias("_cbad"), n.alias("_n"), nbad.alias("_nbad")]
        raws = [m.c, m.n]
    for j, col in enumerate(m.extras):
        exprs.append(pl.col(col).cast(keys[f"_x{j}"]).alias(f"_x{j}"))
    exprs.append(src.nested_hint(text_columns(m)).alias("_nest"))
    if diag:
        exprs.append(position(fidx).alias("_pos"))
        exprs += [pl.col(col).cast(pl.String).alias(f"_raw{j}") for j, col in enumerate(raws)]
        exprs.append(pl.col(m.id).cast(pl.String).alias("_rawid"))  # tells a missing id from ""
    return lf.select(exprs)
