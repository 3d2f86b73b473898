"""The aggregation, written once with narwhals: canonical columns, row flags, and the group-by specs.

Every engine runs what this module builds. A narwhals engine (polars, DuckDB, Spark, Dask, …)
gets the lazy frame :func:`canonical` returns and groups it; Ray applies the same
:func:`canonical` to each block (a pyarrow table, through narwhals' eager pyarrow backend)
and groups with its own ``groupby().aggregate()``. So a value is parsed, and a row judged
bad, by the same expression on every engine.

Canonical columns (compare :mod:`passlens.io.normalize`, the in-process reader)::

    _f      input index (only when there are several inputs)
    _g      group key (the ``by`` column; absent without ``by``)
    _id     problem id (null for a missing or empty id)
    _r _rbad        reward as Float64, "present but not a number"      (samples)
    _a _s           answer text ('' when missing), sample id           (samples)
    _c _cbad _n _nbad   counts as Float64, and their flags              (counts)
    _x0 _x1 …       model / checkpoint / step / filter columns checked for mixing
    _z0 _z1 …       1 where _x<j> is null
    _empty          1 where every used column is null (a skipped row)
    _bad _nb _ok    1 where the row fails the read / holds a valid reward not 0 or 1 /
                    counts towards c                                    (samples)
    _rawid _raw0 _raw1  raw text for messages (error path only)

Flags are Int64 0/1 so that every aggregate is a plain ``sum``, ``min``, ``max`` or ``len``,
which every engine has and which combine across partial results (a sum of sums, a min of mins):
no ``n_unique``, no lists, no sort inside the aggregation.

Text rewards are parsed without a cast that can fail: a decimal-number pattern chooses the
values handed to ``cast`` (the rest become null first), so polars' strict casts, DuckDB's
and Spark's ANSI casts never see ``'oops'``. ``true`` / ``false`` are 1 / 0, ``nan`` / ``inf``
are kept as the non-finite numbers they name (and fail the read as such).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import narwhals.stable.v2 as nw

from ..columns import Mapping, Options
from ..tables import InputError

__all__ = ["Spec", "Keys", "canonical", "key_dtype", "check_dtypes", "NUMBER"]

#: A decimal number as the engines' casts all read it (optional sign, digits, point, exponent).
NUMBER = r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$"

Op = Literal["len", "sum", "min", "max"]


@dataclass(frozen=True)
class Spec:
    """One group-by: ``keys``, aggregates ``(out, op, column)``, a row filter before it and a
    ``having`` filter after it (``out > value``). Filters are built where the query runs (a Ray
    worker builds its own), so they are callables returning narwhals expressions."""

    keys: tuple[str, ...]
    aggs: tuple[tuple[str, Op, str], ...]
    where: Callable[[], Any] | None = None
    having: tuple[str, int] | None = None

    @property
    def columns(self) -> list[str]:
        """The canonical columns the group-by reads."""
        return list(dict.fromkeys([*self.keys, *(c for _, op, c in self.aggs if op != "len")]))


@dataclass(frozen=True)
class Keys:
    """How the canonical frame is built for one read (the same for every input and every block).

    Attributes:
      m: the column roles (the same in every input after ``harmonize``).
      opts: the caller's options (threshold, binary).
      several: more than one input (a ``_f`` column is added).
      dtypes: ``"int"`` or ``"str"`` for each key column (_g, _id, _s, _x<j>): integer when it is an
        integer in every input (no per-row cast to text), else text.
    """

    m: Mapping
    opts: Options
    several: bool
    dtypes: dict[str, str]


def key_dtype(schemas: list[dict[str, Any]], cols: list[str | None]) -> str:
    """``"int"`` when column ``cols[i]`` is an integer in every input's schema (or absent), else ``"str"``."""
    for schema, col in zip(schemas, cols):
        if col is not None and not schema[col].is_integer():
            return "str"
    return "int"


def check_dtypes(label: str, m: Mapping, schema: dict[str, Any]) -> None:
    """A role column of a type no role reads (a list, a struct, a date …) is a one-line error.

    Lists in the reward column are the one-row-per-problem shape that :func:`passlens.io.read`
    splits; an engine reads one row per sample.
    """
    numeric = [(m.reward, "reward", True), (m.c, "count c", False), (m.n, "count n", False)]
    for col, what, booleans in numeric:
        if col is None:
            continue
        dtype = schema[col]
        if _is_list(dtype) and what == "reward":
            raise InputError(
                f"{label}: reward column {col!r} holds lists (one row per problem); an engine reads one row per "
                "sample: explode the lists first, or read the file without an engine"
            )
        if not (_is_number(dtype) or dtype == nw.String or (booleans and dtype == nw.Boolean)):
            expected = "numbers or booleans" if booleans else "numbers"
            raise InputError(f"{label}: {what} column {col!r} has type {dtype}; expected {expected}")
    for col in (m.id, m.answer, m.sample, m.by, *m.extras):
        if col is not None and not (_is_number(schema[col]) or schema[col] in (nw.String, nw.Boolean)):
            raise InputError(f"{label}: column {col!r} has type {schema[col]}; expected text or numbers")


def _is_number(dtype: Any) -> bool:
    return bool(dtype.is_numeric()) or dtype == nw.Unknown  # (Unknown: a column of nulls only)


def _is_list(dtype: Any) -> bool:
    return dtype in (nw.List, nw.Array)


def _key(col: str, kind: str) -> Any:
    return nw.col(col).cast(nw.Int64 if kind == "int" else nw.String)


def _numeric(col: str, dtype: Any, booleans: bool) -> tuple[Any, Any]:
    """(value as Float64, 1 where present but not a number) of a reward or count column.

    Booleans are rewards 1 / 0 when ``booleans``; a boolean count is flagged (a wrongly exported
    column must not pass as 1s and 0s).
    """
    x = nw.col(col)
    if dtype == nw.Boolean:
        if booleans:
            return x.cast(nw.Float64), nw.lit(False)
        return nw.lit(None, nw.Float64), ~x.is_null()
    if dtype != nw.String:
        return x.cast(nw.Float64), nw.lit(False)
    text = x.str.strip_chars()
    low = text.str.to_lowercase()
    # only text that matches NUMBER reaches the cast: the others are null there (no failing cast)
    value = nw.when(text.str.contains(NUMBER)).then(text).cast(nw.Float64)
    words: list[tuple[tuple[str, ...], float]] = [
        (("nan", "+nan", "-nan"), float("nan")),
        (("inf", "+inf", "infinity", "+infinity"), float("inf")),
        (("-inf", "-infinity"), float("-inf")),
    ]
    if booleans:
        words = [(("true",), 1.0), (("false",), 0.0), *words]
    chain: Any = None
    for spelled, number in words:
        cond = low.is_in(list(spelled))
        chain = nw.when(cond).then(nw.lit(number)) if chain is None else chain.when(cond).then(nw.lit(number))
    value = chain.otherwise(value)
    return value, ~x.is_null() & value.is_null()


def canonical(frame: Any, k: Keys, fidx: int, diag: bool = False) -> Any:
    """Input number ``fidx`` (a narwhals frame, lazy or one eager block) in canonical columns with
    their row flags (module docstring); ``diag`` adds the raw text that messages quote."""
    m, opts = k.m, k.opts
    schema = dict(frame.collect_schema())
    used = [c for c in (m.id, m.reward, m.c, m.n, m.answer, m.sample, m.by) if c is not None]
    ident = _key(m.id, k.dtypes["_id"])
    if k.dtypes["_id"] == "str":
        # "" is no id (a CSV reads an empty field as missing; "" must not be a problem of its own)
        ident = nw.when(ident != nw.lit("")).then(ident)
    cols: list[Any] = [
        ident.alias("_id"),
        nw.all_horizontal(*[nw.col(c).is_null() for c in used], ignore_nulls=False).alias("_empty"),
    ]
    if k.several:
        cols.append(nw.lit(fidx, nw.Int64).alias("_f"))
    if m.by is not None:
        cols.append(_key(m.by, k.dtypes["_g"]).alias("_g"))
    if m.shape == "samples":
        assert m.reward is not None
        r, rbad = _numeric(m.reward, schema[m.reward], booleans=True)
        cols += [r.alias("_r"), rbad.alias("_rbad")]
        if m.answer is not None:
            cols.append(nw.col(m.answer).cast(nw.String).fill_null(nw.lit("")).alias("_a"))
        if m.sample is not None:
            cols.append(_key(m.sample, k.dtypes["_s"]).alias("_s"))
        raws = [m.reward]
    else:
        assert m.c is not None and m.n is not None
        c, cbad = _numeric(m.c, schema[m.c], booleans=False)
        n, nbad = _numeric(m.n, schema[m.n], booleans=False)
        cols += [c.alias("_c"), cbad.alias("_cbad"), n.alias("_n"), nbad.alias("_nbad")]
        raws = [m.c, m.n]
    for j, col in enumerate(m.extras):
        cols += [_key(col, k.dtypes[f"_x{j}"]).alias(f"_x{j}"), nw.col(col).is_null().cast(nw.Int64).alias(f"_z{j}")]
    if diag:
        cols.append(nw.col(m.id).cast(nw.String).alias("_rawid"))  # tells a missing id from ""
        cols += [nw.col(c).cast(nw.String).alias(f"_raw{j}") for j, c in enumerate(raws)]
        if "_file" in schema:
            cols.append(nw.col("_file").cast(nw.String))
    out = frame.select(*cols)
    if m.shape != "samples":
        return out.with_columns(nw.col("_empty").cast(nw.Int64))
    r = nw.col("_r")
    is01 = ((r == nw.lit(0.0)) | (r == nw.lit(1.0))).fill_null(False)
    empty = nw.col("_empty")
    bad = nw.col("_id").is_null() | ~r.is_finite().fill_null(False)
    if m.by is not None:
        bad = bad | nw.col("_g").is_null()
    if m.sample is not None:
        bad = bad | nw.col("_s").is_null()
    if opts.binary:
        bad = bad | ~is01
    bad = ~empty & bad
    t = opts.threshold
    ok = ((r >= nw.lit(t)) if t is not None else (r == nw.lit(1.0))).fill_null(False)
    return out.with_columns(
        bad.cast(nw.Int64).alias("_bad"),
        (~empty & ~bad & ~is01).cast(nw.Int64).alias("_nb"),
        ok.cast(nw.Int64).alias("_ok"),
        empty.cast(nw.Int64),
    )
