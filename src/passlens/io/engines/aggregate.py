"""Per-problem statistics of inputs an engine holds: roles, one group-by, checks on its result, tables.

The happy path of a per-sample read is ONE group-by in the engine (:func:`_count_cells`), keyed
by (input, group, problem[, answer]), whose result — per-problem counts, or per-answer cells —
is all that is collected. Everything else works on that result in polars:

1. bad rows (missing id, reward not a number / NaN / infinite, missing group or sample id, not
   0/1 under ``binary``): the first, in (input, problem id as text) order, is an error; one
   filtered query reads that row's raw values for the message;
2. groups: the ``by`` column, else one per input, else one (as :func:`passlens.io.read`);
3. a problem mixing models / checkpoints / steps in one group (min ≠ max of the column);
4. duplicate (problem, sample id): a second group-by that keeps only the duplicates;
5. answers both correct and incorrect, where non-0/1 rewards start;
6. reward arrays (max@k): from (n, c) where rewards are 0/1, else a group-by of
   (problem, reward value) counts — sorted arrays with multiplicities, not rows.

Messages are the ones :func:`passlens.io.read` gives, located as ``<input>: problem 'x'``
(``<file>: problem 'x'`` for a glob, where the error path names the file): an engine has no
row order to cite, and the same bad input gives the same line on every engine.

Count rows (one per problem) are small: they are collected whole and checked here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import narwhals.stable.v2 as nw
import polars as pl

from ..columns import RUN_COLUMNS, Mapping, Options, harmonize, resolve
from ..messages import bad_row_message, pid, shown_name
from ..problems import by_problem, count_row_error, count_tables, sample_tables
from ..tables import Dataset, InputError, MixedGroupError, ProblemTable
from .plan import Keys, Spec, check_dtypes, key_dtype
from .runners import Runner

__all__ = ["read_engine"]


def read_engine(
    runner: Runner, stems: Sequence[str], opts: Options, shown: Callable[[int, str], str] | None = None
) -> Dataset:
    """Per-group tables of the runner's inputs (named ``runner.labels``; ``stems`` label the groups
    when there is one group per input); ``shown(i, file)`` names a file of input i in messages."""
    labels = runner.labels
    schemas = [runner.schema(i) for i in range(len(labels))]
    maps = [resolve(label, list(s), opts, _reward_like(s)) for label, s in zip(labels, schemas)]
    if len({m.shape for m in maps}) > 1:
        kinds = ", ".join(f"{label} ({m.shape})" for label, m in zip(labels, maps))
        raise InputError(f"inputs mix per-sample and count rows: {kinds}")
    for label, m, s in zip(labels, maps, schemas):
        check_dtypes(label, m, s)
    notes: list[str] = []
    _note_columns(labels, maps, notes)
    maps = harmonize(list(labels), maps, notes)
    m = maps[0]
    dtypes = {
        "_id": key_dtype(schemas, [mm.id for mm in maps]),
        "_g": key_dtype(schemas, [mm.by for mm in maps]),
        "_s": key_dtype(schemas, [mm.sample for mm in maps]),
    }
    for j in range(len(m.extras)):
        dtypes[f"_x{j}"] = key_dtype(schemas, [mm.extras[j] for mm in maps])
    ctx = _Read(runner, Keys(m, opts, len(labels) > 1, dtypes), list(stems), notes, shown)
    groups, rows = (_samples if m.shape == "samples" else _counts)(ctx)
    return Dataset(
        groups=groups, shape=m.shape, by=ctx.by_label, files=list(labels), sha256={}, rows=rows, notes=notes
    )


def _reward_like(schema: dict[str, Any]) -> list[str]:
    """Columns that could hold rewards (numbers, booleans, lists of them): named by the error when
    no reward column is found, as read() names them."""
    out = []
    for name, dtype in schema.items():
        inner = dtype.inner if isinstance(dtype, (nw.List, nw.Array)) else dtype
        if inner.is_numeric() or inner == nw.Boolean:
            out.append(name)
    return out


class _Read:
    """One engine read: the runner, the canonical frame's keys, the group labels once decided."""

    def __init__(
        self, runner: Runner, keys: Keys, stems: list[str], notes: list[str], shown: Callable[[int, str], str] | None
    ) -> None:
        self.run, self.keys, self.stems, self.notes, self.shown = runner, keys, stems, notes, shown
        self.m: Mapping = keys.m
        self.opts: Options = keys.opts
        self.labels = runner.labels
        self.by_label: str | None = self.opts.by
        self.pooled = True  # several inputs, no by: one group (shards of one run) or one per input

    @property
    def multi(self) -> bool:
        """Several groups (messages then name the group)."""
        return self.m.by is not None or not self.pooled

    def in_group(self, g: Any) -> str:
        return f" in group {str(g)!r}" if self.multi else ""

    def where(self, f: int, rec: dict[str, Any] | None = None) -> str:
        """Input ``f`` as messages name it, or the file of ``rec`` (a glob's row) where known."""
        file = (rec or {}).get("_file")
        if file and self.shown is not None:
            return self.shown(f, str(file))
        return self.labels[f]

    def engine_group_keys(self) -> list[str]:
        """The columns that tell a group apart in the canonical frame (before the labels exist)."""
        if self.m.by is not None:
            return ["_g"]
        return [] if self.pooled or not self.keys.several else ["_f"]

    def group_filter(self, wanted: pl.DataFrame) -> Callable[[], Any] | None:
        """A row filter keeping the groups of ``wanted`` (its _g values and _f inputs)."""
        if self.m.by is not None:
            values = wanted["_gkey"].to_list()
            return lambda: nw.col("_g").is_in(values)
        if not self.pooled and self.keys.several:
            inputs = wanted["_f"].unique().to_list()
            return lambda: nw.col("_f").is_in(inputs)
        return None

    def label_groups(self, df: pl.DataFrame) -> pl.DataFrame:
        """``df`` (with _f, and _g where there is a by column) with _gkey (the engine's group key)
        and _g (the group label as text)."""
        if self.m.by is not None:
            return df.with_columns(pl.col("_g").alias("_gkey"), pl.col("_g").cast(pl.String))
        if self.pooled:
            return df.with_columns(pl.lit("").alias("_gkey"), pl.lit("").alias("_g"))
        names = dict(enumerate(self.stems))
        return df.with_columns(pl.col("_f").alias("_gkey"), pl.col("_f").replace_strict(names, return_dtype=pl.String).alias("_g"))


# -- per-sample rows ----------------------------------------------------------------------------


def _samples(ctx: _Read) -> tuple[dict[str, ProblemTable], int]:
    cells = _count_cells(ctx)
    rows = int(cells["n"].sum()) if cells.height else 0
    if rows == 0:
        raise InputError(f"{', '.join(ctx.labels)}: no rows")
    _check_bad_rows(ctx, cells)
    empties = int(cells["n_empty"].sum())
    if empties:
        ctx.notes.append(f"{empties} empty row(s) (no {ctx.m.id!r}, no {ctx.m.reward!r}) skipped")
    cells = cells.filter(pl.col("_id").is_not_null())
    _decide_groups(ctx, cells)
    cells = ctx.label_groups(cells)
    stats, split = _per_problem(ctx, cells)
    _check_mixed(ctx, stats)
    _check_sample_ids(ctx)
    nonbinary = set(stats.filter(pl.col("n_nb") > 0)["_g"].unique().to_list())
    first_nb = {g: _first_location(ctx, stats.filter((pl.col("_g") == g) & (pl.col("n_nb") > 0))) for g in nonbinary}
    conflict = _answer_conflicts(ctx, split, nonbinary)
    stats, kept = _reward_arrays(ctx, stats, nonbinary)
    if ctx.m.answer is not None:
        missing = int(cells.filter(pl.col("_a") == "")["n"].sum())
        if missing:
            ctx.notes.append(f"{missing} row(s) with missing or empty answer kept as answer class ''")
    tables = sample_tables(
        stats.drop("_gkey"),
        threshold=ctx.opts.threshold,
        answers=ctx.m.answer is not None,
        kept=kept,
        nonbinary=nonbinary,
        first_nb=first_nb,
        conflict=conflict,
        notes=ctx.notes,
    )
    return tables, rows


def _count_cells(ctx: _Read) -> pl.DataFrame:
    """THE pass: one group-by of the canonical rows by (input, group, problem[, answer]) with the
    counts every later stage needs; _f and _g are added where the keys leave them out."""
    m, k = ctx.m, ctx.keys
    keys = (["_f"] if k.several else []) + (["_g"] if m.by is not None else []) + ["_id"]
    keys += ["_a"] if m.answer is not None else []
    aggs: list[tuple[str, Any, str]] = [
        ("n", "len", ""),
        ("n_bad", "sum", "_bad"),
        ("n_empty", "sum", "_empty"),
        ("n_nb", "sum", "_nb"),
        ("c", "sum", "_ok"),  # a count of 0/1 flags: exact integers, no float sum of rewards
    ]
    for j in range(len(m.extras)):
        aggs += [(f"lo{j}", "min", f"_x{j}"), (f"hi{j}", "max", f"_x{j}"), (f"z{j}", "sum", f"_z{j}")]
    cells = ctx.run.aggregate(k, Spec(tuple(keys), tuple(aggs)))
    if not k.several:
        cells = cells.with_columns(pl.lit(0, pl.Int64).alias("_f"))
    return cells.with_columns(pl.col("_f").cast(pl.Int64))


def _text_id() -> pl.Expr:
    return pl.col("_id").cast(pl.String).alias("_idt")


def _check_bad_rows(ctx: _Read, cells: pl.DataFrame) -> None:
    """Stage 1: the first bad row — of the first problem, in (input, id as text) order, that has one."""
    bad = cells.filter(pl.col("n_bad") > 0)
    if not bad.height:
        return
    first = bad.with_columns(_text_id()).sort(["_f", "_idt"], nulls_last=False).row(0, named=True)
    f, problem = int(first["_f"]), first["_id"]
    several = ctx.keys.several

    def where() -> Any:
        hit = (nw.col("_bad") == 1) & (nw.col("_id").is_null() if problem is None else nw.col("_id") == problem)
        return hit & (nw.col("_f") == f) if several else hit

    cols = ["_f", "_file", "_id", "_rawid", "_r", "_rbad", "_raw0", "_g", "_s"]
    got = ctx.run.first(ctx.keys, where, cols, order=["_file", "_rawid", "_raw0", "_g", "_s"])
    rec = got.row(0, named=True) if got.height else {"_id": problem, "_rawid": None, "_r": None, "_rbad": False}
    rec = {"_g": "", "_s": "", "_raw0": None, **rec}
    raise InputError(f"{ctx.where(f, rec)}: {bad_row_message(rec, ctx.m, ctx.opts.binary)}")


def _decide_groups(ctx: _Read, cells: pl.DataFrame) -> None:
    """Several inputs without ``by``: one group per input — unless every input carries the same single
    value of each model / checkpoint / step / filter column (one of them naming a run): the inputs
    are then shards of one run, pooled (the notes of :func:`passlens.io.read`)."""
    m = ctx.m
    if m.by is not None or not ctx.keys.several:
        return
    n = len(ctx.labels)
    single: dict[str, str] | None = None
    if any(x.lower() in RUN_COLUMNS for x in m.extras):
        single = {}
        for j, x in enumerate(m.extras):
            lo, hi, nulls = cells[f"lo{j}"].min(), cells[f"hi{j}"].max(), int(cells[f"z{j}"].sum())
            if lo is None or lo != hi or nulls:
                single = None
                break
            single[x.lower()] = str(lo)
    if single is not None:
        ctx.notes.append(f"{n} files pooled into one group: every row has " + ", ".join(f"{k}={v!r}" for k, v in single.items()))
        return
    ctx.pooled = False
    ctx.by_label = "file"
    ctx.stems = _unique_stems(ctx.stems, ctx.labels)
    ctx.notes.append("several files without by=: one group per file (" + ", ".join(map(repr, ctx.stems)) + ")")


def _unique_stems(stems: list[str], labels: Sequence[str]) -> list[str]:
    if len(set(stems)) == len(stems):
        return stems
    return list(labels)


def _check_mixed(ctx: _Read, per: pl.DataFrame) -> None:
    """Stage 3: a problem mixing values of a model / checkpoint / step / filter column in one group: an
    error without ``by``; with ``by`` (one column chosen) the others are pooled, and said so. ``per``:
    one row per (group, problem), from :func:`_per_problem`."""
    m = ctx.m
    for j, x in enumerate(m.extras):
        mixed_if = (pl.col(f"lo{j}") != pl.col(f"hi{j}")).fill_null(False) | (
            (pl.col(f"z{j}") > 0) & (pl.col(f"z{j}") < pl.col("n"))
        )
        mixed = per.filter(mixed_if).with_columns(_text_id()).sort(["_g", "_idt"])
        if mixed.height and m.by is not None:
            for g, count, problem in (
                mixed.group_by("_g", maintain_order=True).agg(pl.len(), pl.col("_id").first()).iter_rows()
            ):
                ctx.notes.append(
                    f"group {str(g)!r}: {count} problem(s) (e.g. {pid(problem)}) have rows from several "
                    f"{x!r} values, pooled; filter the input to keep one {x}"
                )
        elif mixed.height:
            row = mixed.row(0, named=True)
            values = _values_of(ctx, row, f"_x{j}")
            raise MixedGroupError(
                f"{ctx.where(int(row['_f']))}: problem {pid(row['_id'])}{ctx.in_group(row['_g'])} has rows from "
                f"several {x!r} values {values}",
                x,
            )
        firsts = per.group_by("_g").agg(pl.col(f"lo{j}").drop_nulls().unique().alias("vals"))
        for g, vals in firsts.sort("_g").iter_rows():
            if len(vals) > 1:
                shown = sorted(map(str, vals))
                ctx.notes.append(
                    f"group {str(g)!r}: column {x!r} has {len(vals)} values ({', '.join(shown[:5])}"
                    f"{', …' if len(shown) > 5 else ''}) on disjoint problems; pass by={x!r} to split them"
                )


def _values_of(ctx: _Read, row: dict[str, Any], col: str) -> list[str | None]:
    """The distinct values of ``col`` in the rows of one problem (error path: a filtered group-by)."""
    problem, gkey = row["_id"], row["_gkey"]
    gcols = ctx.engine_group_keys()

    def where() -> Any:
        hit = nw.col("_id") == problem
        for c in gcols:
            hit = hit & (nw.col(c) == gkey)
        return hit

    got = ctx.run.aggregate(ctx.keys, Spec((col,), (("n", "len", ""),), where=where))
    values: list[str | None] = [None] if got[col].null_count() else []
    return values + sorted(got[col].drop_nulls().cast(pl.String).to_list())


def _check_sample_ids(ctx: _Read) -> None:
    """Stage 4: a duplicate (problem, sample id) in one group is an error — a second group-by by
    (group, problem, sample id) that keeps only the cells seen more than once."""
    if ctx.m.sample is None:
        return
    keys = [*ctx.engine_group_keys(), "_id", "_s"]
    aggs: list[tuple[str, Any, str]] = [("n", "len", "")]
    if ctx.keys.several and "_f" not in keys:  # (one group per input: _f is a key already)
        aggs.append(("_f", "min", "_f"))
    dups = ctx.run.aggregate(ctx.keys, Spec(tuple(keys), tuple(aggs), where=lambda: nw.col("_empty") == 0, having=("n", 1)))
    if not dups.height:
        return
    if "_f" not in dups.columns:
        dups = dups.with_columns(pl.lit(0, pl.Int64).alias("_f"))
    dups = ctx.label_groups(dups.with_columns(pl.col("_f").cast(pl.Int64)))
    first = (
        dups.with_columns(_text_id(), pl.col("_s").cast(pl.String).alias("_st"))
        .sort(["_g", "_idt", "_st"])
        .row(0, named=True)
    )
    raise InputError(
        f"{ctx.where(int(first['_f']))}: problem {pid(first['_id'])}{ctx.in_group(first['_g'])}: duplicate sample id "
        f"{first['_st']!r} ({first['n']} rows; column {ctx.m.sample!r})"
    )


def _per_problem(ctx: _Read, cells: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """Cells → one row per (group, problem), sorted by group and problem id as text: n, c, n_nb, the
    first input, the min / max / null count of each model / checkpoint / step column; with answers the
    vote lists (answers in text order) and the cells whose answer is both correct and incorrect."""
    sums = [pl.col(c).sum() for c in ("n", "c", "n_nb")] + [pl.col("_f").min()]
    for j in range(len(ctx.m.extras)):
        sums += [pl.col(f"lo{j}").min(), pl.col(f"hi{j}").max(), pl.col(f"z{j}").sum()]
    keys = ["_g", "_gkey", "_id"]
    if ctx.m.answer is None:
        return _one_per_key(ctx, cells, keys, sums), None
    by_answer = _one_per_key(ctx, cells, [*keys, "_a"], sums)
    split = by_answer.filter((pl.col("c") > 0) & (pl.col("c") < pl.col("n")))
    # lists keep the (answer-sorted) row order within each problem; first-seen order keeps the problems sorted
    stats = by_answer.group_by(keys, maintain_order=True).agg(
        *sums, pl.col("n").alias("votes"), (pl.col("c") > 0).alias("vote_ok")
    )
    return stats, split


def _one_per_key(ctx: _Read, cells: pl.DataFrame, keys: list[str], sums: list[pl.Expr]) -> pl.DataFrame:
    """Cells → one row per ``keys`` (group, problem[, answer]), sorted by them (the problem id as text).

    The engine's group-by gives one cell per input and key. Several inputs in one group: a problem
    has a cell per input, merged (``sums``), then the merged rows are sorted. Otherwise the cells are
    already one per key and are only sorted — unless the sort shows a key twice (an engine that
    returned partial aggregates, split per partition), which is then merged too: never a second
    group-by of millions of cells that are already one per problem.
    """
    more = keys[3:]
    if ctx.keys.several and (ctx.pooled or ctx.m.by is not None):
        return by_problem(cells.group_by(keys).agg(sums), *more)
    cells = by_problem(cells, *more)
    again = pl.all_horizontal([(pl.col(k) == pl.col(k).shift(1)).fill_null(False) for k in keys])
    if cells.select(again.any()).item():
        return cells.group_by(keys, maintain_order=True).agg(sums)  # (first-seen order: still sorted)
    return cells.select(*keys, *(e.meta.output_name() for e in sums))


def _first_location(ctx: _Read, rows: pl.DataFrame) -> str:
    """``<input>: problem 'x'`` for the first of ``rows`` in (input, id as text) order."""
    first = rows.with_columns(_text_id()).sort(["_f", "_idt"]).row(0, named=True)
    return f"{ctx.where(int(first['_f']))}: problem {pid(first['_id'])}"


def _answer_conflicts(ctx: _Read, split: pl.DataFrame | None, nonbinary: set[Any]) -> dict[Any, str]:
    """Stage 5: group → where an answer is first both correct and incorrect within a problem (a note;
    the group's answers then get no correctness), as :func:`passlens.io.read` says it."""
    if split is None or not split.height:
        return {}
    if ctx.opts.threshold is None and nonbinary:
        split = split.filter(~pl.col("_g").is_in(list(nonbinary)))
    conflict: dict[Any, str] = {}
    firsts = split.with_columns(_text_id()).sort(["_g", "_idt", "_a"]).unique("_g", keep="first", maintain_order=True)
    for row in firsts.iter_rows(named=True):
        answer = row["_a"]
        shown = repr(answer) if answer else "'' (missing or empty)"
        conflict[row["_g"]] = (
            f"{ctx.where(int(row['_f']))}: problem {pid(row['_id'])}{ctx.in_group(row['_g'])}: answer {shown} has both "
            f"correct and incorrect samples ({row['c']} correct, {row['n'] - row['c']} not)"
        )
        ctx.notes.append(f"{conflict[row['_g']]}: answers get no correctness, so no maj@k or answer coverage")
    return conflict


def _reward_arrays(ctx: _Read, stats: pl.DataFrame, nonbinary: set[Any]) -> tuple[pl.DataFrame, set[Any]]:
    """Stage 6: ``stats`` with the sorted rewards of each problem (column ``rewards``) in the groups that
    keep them (every group with ``keep_rewards=True``, the non-0/1 ones by default), and those groups.
    0/1 rewards are n − c zeros and c ones; other rewards come from a group-by of (problem, reward
    value) counts (values with multiplicities)."""
    keep = ctx.opts.keep_rewards
    wanted = set(stats["_g"].unique().to_list()) if keep is True else (nonbinary if keep is None else set())
    if not wanted:
        return stats, wanted
    scan = wanted if ctx.opts.threshold is not None else wanted & nonbinary  # c counts r ≥ t: not the 1s
    arrays = []
    if wanted - scan:
        zeros_ones = pl.concat_list(pl.lit(0.0).repeat_by(pl.col("n") - pl.col("c")), pl.lit(1.0).repeat_by(pl.col("c")))
        arrays.append(
            stats.filter(pl.col("_g").is_in(list(wanted - scan))).select("_g", _text_id(), zeros_ones.alias("rewards"))
        )
    if scan:
        chosen = stats.filter(pl.col("_g").is_in(list(scan))).select("_g", "_gkey", "_f").unique()
        keep_groups = ctx.group_filter(chosen)
        keys = (*ctx.engine_group_keys(), "_id", "_r")

        def where() -> Any:
            rows = nw.col("_empty") == 0
            return rows & keep_groups() if keep_groups is not None else rows

        counts = ctx.run.aggregate(ctx.keys, Spec(keys, (("n", "len", ""),), where=where))
        if "_f" not in counts.columns:
            counts = counts.with_columns(pl.lit(0, pl.Int64).alias("_f"))
        counts = ctx.label_groups(counts.with_columns(pl.col("_f").cast(pl.Int64)))
        arrays.append(
            counts.group_by(["_g", "_id", "_r"])
            .agg(pl.col("n").sum())
            .with_columns(pl.col("_r").repeat_by("n"))
            .explode("_r")
            .group_by(["_g", _text_id()])
            .agg(pl.col("_r").sort().alias("rewards"))
            .filter(pl.col("_g").is_in(list(scan)))
        )
    stats = stats.with_columns(_text_id()).join(pl.concat(arrays), on=["_g", "_idt"], how="left", maintain_order="left")
    return stats.drop("_idt"), wanted


# -- count rows ---------------------------------------------------------------------------------


def _counts(ctx: _Read) -> tuple[dict[str, ProblemTable], int]:
    """Count rows (id, c, n): collected whole (one row per problem), every row checked."""
    m = ctx.m
    if ctx.opts.threshold is not None:
        ctx.notes.append("threshold ignored: the inputs hold counts, not rewards")
    cols = ["_f", "_g", "_id", "_rawid", "_c", "_cbad", "_n", "_nbad", "_raw0", "_raw1", "_empty"]
    cols += [f"_{p}{j}" for j in range(len(m.extras)) for p in ("x", "z")]
    df = ctx.run.first(ctx.keys, None, cols, order=[], limit=None)
    rows = df.height
    if rows == 0:
        raise InputError(f"{', '.join(ctx.labels)}: no rows")
    if "_f" not in df.columns:
        df = df.with_columns(pl.lit(0, pl.Int64).alias("_f"))
    df = df.with_columns(pl.col("_f").cast(pl.Int64), _text_id()).lazy().sort(["_f", "_idt"], nulls_last=False).collect()
    _check_count_rows(ctx, df)
    empty = int(df["_empty"].sum())
    if empty:
        ctx.notes.append(f"{empty} empty row(s) (no {m.id!r}, {m.c!r}, {m.n!r}) skipped")
    df = df.filter(pl.col("_empty") == 0)
    if m.extras:
        lohi = df.group_by("_f").agg(
            *[e for j in range(len(m.extras)) for e in (
                pl.col(f"_x{j}").min().alias(f"lo{j}"), pl.col(f"_x{j}").max().alias(f"hi{j}"),
                pl.col(f"_z{j}").sum().alias(f"z{j}"))]
        )
        _decide_groups(ctx, lohi)
    else:
        _decide_groups(ctx, df)
    df = ctx.label_groups(df)
    _check_count_duplicates(ctx, df)
    return count_tables(df.drop("_gkey"), m, ctx.notes), rows


def _check_count_rows(ctx: _Read, df: pl.DataFrame) -> None:
    """The first count row (in input, id order) with a missing id or a bad count is an error
    (the texts of :func:`passlens.io.problems.count_row_error`)."""

    def raw(which: int, i: int) -> str:
        return str(df[f"_raw{which}"][i]).strip()

    bad = count_row_error(df, ctx.m, raw)
    if bad is not None:
        i, message = bad
        raise InputError(f"{ctx.where(int(df['_f'][i]))}: {message}")


def _check_count_duplicates(ctx: _Read, df: pl.DataFrame) -> None:
    """A problem given twice in one group is an error (mixing runs, when a model column differs)."""
    m = ctx.m
    dup = df.filter(pl.struct("_g", "_id").is_duplicated())
    if not dup.height:
        return
    first = dup.sort(["_g", "_idt", "_f"]).row(0, named=True)
    g, problem = first["_g"], first["_id"]
    same = dup.filter((pl.col("_g") == g) & (pl.col("_id") == problem))
    differ = []
    for j, x in enumerate(m.extras):
        values = same[f"_x{j}"].unique().to_list()
        if len(values) > 1 and m.by is None:
            shown = sorted((str(v) for v in values if v is not None))
            raise MixedGroupError(
                f"{ctx.where(int(first['_f']))}: problem {pid(problem)}{ctx.in_group(g)} has rows from several "
                f"{x!r} values {([None] if None in values else []) + shown}",
                x,
            )
        if len(values) > 1:
            differ.append(x)
    hint = f"; the rows differ in {', '.join(map(repr, differ))}: filter the input" if differ else ""
    raise InputError(
        f"{ctx.where(int(first['_f']))}: duplicate problem id {pid(problem)}{ctx.in_group(g)} ({same.height} rows){hint}"
    )


# -- notes --------------------------------------------------------------------------------------


def _note_columns(labels: Sequence[str], maps: list[Mapping], notes: list[str]) -> None:
    """Notes on the reward column chosen among several and the columns not used (as :func:`passlens.io.read`)."""
    chosen: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    for label, m in zip(labels, maps):
        if m.other_rewards:
            assert m.reward is not None
            chosen.setdefault((m.reward, m.other_rewards), []).append(label)
    for (reward, others), where in chosen.items():
        notes.append(
            f"reward column {reward!r} used; also reward-like: {', '.join(others)} "
            f"(in {', '.join(where)}); pass reward_col= / --reward-col to choose"
        )
    unused: dict[tuple[str, ...], list[str]] = {}
    for label, m in zip(labels, maps):
        if m.unused:
            unused.setdefault(m.unused, []).append(label)
    for cols, where in unused.items():
        notes.append(f"column(s) not used: {', '.join(map(shown_name, cols))} (in {', '.join(where)})")
