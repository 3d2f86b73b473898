"""Per-sample rows → per-problem (n, c), answer votes and reward arrays, in named stages.

:func:`read_samples` runs one streaming polars pass over every input (:func:`_count_pass`),
then works on its per-problem result (10⁵ rows, not 10⁷). The stages, in order:

1. :func:`_check_rows` — the first bad row in file order is an error; empty rows are skipped;
2. :func:`_check_mixed_groups` — a problem mixing models / checkpoints / steps in one group;
3. :func:`_check_sample_ids` — a duplicate (problem, sample id);
4. :func:`_answer_conflicts` — an answer both correct and incorrect within a problem;
5. :func:`_first_nonbinary` and :func:`_attach_rewards` — where non-0/1 rewards start, and
   the per-problem reward arrays;
6. :func:`~passlens.io.problems.sample_tables` — one :class:`ProblemTable` per group (the
   final stage the engines share).

The input is rescanned (filtered, with row positions) only to locate what a stage found.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from typing import Any

import polars as pl

from .columns import Mapping, Options
from .job import Job, nested_error, nested_rows
from .messages import bad_row_message, num, pid
from .problems import sample_tables
from .tables import InputError, ProblemTable

__all__ = ["read_samples"]


def read_samples(job: Job, opts: Options, notes: list[str]) -> tuple[dict[str, ProblemTable], int]:
    """Per-group tables of per-sample inputs, and the number of rows read (notes appended)."""
    plan = _Plan.of(job, opts)
    stats, split = _count_pass(plan)
    rows = int(stats["n"].sum())
    stats = _check_rows(plan, stats, notes)
    _check_mixed_groups(plan, stats, notes)
    _check_sample_ids(plan, stats)
    nonbinary = _nonbinary_groups(stats)
    conflict = _answer_conflicts(plan, split, nonbinary, notes)
    first_nb = _first_nonbinary(plan, nonbinary) if nonbinary else {}
    want = _rewards_wanted(plan, stats, nonbinary)
    stats = _attach_rewards(plan, stats, want)
    _note_missing_answers(plan, stats, notes)
    tables = sample_tables(
        stats,
        threshold=opts.threshold,
        answers=plan.has_answer,
        kept=set(stats["_g"].unique().to_list()) if plan.keep_all else want,
        nonbinary=nonbinary,
        first_nb=first_nb,
        conflict=conflict,
        notes=notes,
    )
    return tables, rows


@dataclass(frozen=True)
class _Plan:
    """The row flags and hash keys of one per-sample read.

    Attributes:
      bad: a row that fails the read (missing id, reward not finite, missing group or
        sample id, or not 0/1 under ``binary``); empty rows are never bad.
      is01: the reward is 0 or 1.
      correct: the sample counts towards c (reward = 1, or ≥ threshold).
      pkeys: the per-problem hash keys; without ``by`` and with one label the group is a
        constant, kept out of the keys (and put back by :meth:`with_group`).
    """

    job: Job
    opts: Options
    bad: pl.Expr
    is01: pl.Expr
    correct: pl.Expr
    pkeys: list[str]

    @classmethod
    def of(cls, job: Job, opts: Options) -> _Plan:
        m = job.maps[0]
        r = pl.col("_r")
        is01 = ((r == 0.0) | (r == 1.0)).fill_null(False)
        bad = ~pl.col("_empty") & (
            pl.col("_id").is_null()
            | ~r.is_finite().fill_null(False)
            | pl.col("_g").is_null()
            | (pl.col("_s").is_null() if m.sample is not None else pl.lit(False))
            | (~is01 if opts.binary else pl.lit(False))
        )
        t = opts.threshold
        correct = ((r >= t) if t is not None else (r == 1.0)).fill_null(False)
        pkeys = ["_g", "_id"] if job.multi else ["_id"]
        return cls(job, opts, bad, is01, correct, pkeys)

    @property
    def m(self) -> Mapping:
        return self.job.maps[0]

    @property
    def has_answer(self) -> bool:
        return self.m.answer is not None

    @property
    def has_sample(self) -> bool:
        return self.m.sample is not None

    @property
    def keep_all(self) -> bool:
        return self.opts.keep_rewards is True

    def flagged(self, diag: bool, only: int | None = None) -> pl.LazyFrame:
        """The canonical rows with flags _bad, _ok (correct), _nb (a valid reward not 0/1)."""
        lf = self.job.frame(diag, only).with_columns(self.bad.alias("_bad"), self.correct.alias("_ok"))
        lf = lf.with_columns((~pl.col("_bad") & ~pl.col("_empty") & ~self.is01).alias("_nb"))
        return lf.with_columns(pl.col("_a").fill_null("")) if self.has_answer else lf

    def with_group(self, df: pl.DataFrame) -> pl.DataFrame:
        """``df`` with its _g column (the constant label where it was kept out of the keys)."""
        return df if self.job.multi else df.with_columns(pl.lit(self.job.labels[0], pl.String).alias("_g"))


#: (problem, answer) cells grouped in one pass: the group-by holds about 190 bytes a cell (1.3 GB
#: for 7.1·10⁶ cells, measured in ``benchmarks/RESULTS.md``), so ≈ 0.4 GB at this many.
CELLS_PER_PASS = 2_000_000
#: Bytes the group-by holds per cell (measured; :func:`_passes`).
BYTES_PER_CELL = 190
#: Rows read from the start of the input to guess how many cells there are (:func:`_passes`).
SAMPLE_ROWS = 1 << 17
_MAX_PASSES = 64


def _count_pass(plan: _Plan) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """One streaming pass: per problem n, c and counts of flagged rows; and the (group, problem,
    answer) cells whose answer has both correct and incorrect samples (``None`` without answers).

    With answers the pass is keyed by (group, problem, answer) and then folded per problem
    on the (much smaller) result: one hash pass, not two. Where there may be more cells than
    :data:`CELLS_PER_PASS` (near-unique answers: :func:`_passes`), the problems are split into
    K parts by a hash of their id and each part is read, grouped and folded in turn: K passes
    over the input, each holding about 1/K of the cells; a problem's cells all fall in one part,
    so the folded rows are the same as in one pass.
    """
    m = plan.m
    keys = [*plan.pkeys, "_a"] if plan.has_answer else plan.pkeys
    aggs = [
        pl.len().alias("n"),
        pl.col("_bad").sum().alias("n_bad"),
        pl.col("_empty").sum().alias("n_empty"),
        pl.col("_nb").sum().alias("n_nb"),
        pl.col("_ok").sum().alias("c"),  # a count of booleans: exact integers, no float sum of rewards
        pl.col("_nest").sum().alias("n_nest"),
    ]
    for j in range(len(m.extras)):
        aggs += [pl.col(f"_x{j}").n_unique().alias(f"u{j}"), pl.col(f"_x{j}").first().alias(f"f{j}")]
    if plan.has_answer:
        aggs.append(pl.col("_ok").any().alias("vote_ok"))
    else:
        if plan.has_sample:
            aggs.append(pl.col("_s").n_unique().alias("n_sid"))
        if plan.keep_all:
            aggs.append(pl.col("_r").alias("rewards"))  # sorted after: list.sort on P lists beats sort-in-agg

    def queries(part: int, parts: int) -> list[pl.LazyFrame]:
        lf = plan.flagged(False)
        if parts > 1:
            lf = lf.filter(pl.col("_id").hash() % parts == part)  # (a null id hashes too: one part)
        out = [lf.group_by(keys).agg(aggs)]
        if plan.has_answer and plan.has_sample:
            out.append(lf.group_by(plan.pkeys).agg(pl.col("_s").n_unique().alias("n_sid")))
        return out

    if not plan.has_answer:
        results = plan.job.run(lambda: pl.collect_all(queries(0, 1), engine="streaming"))
        return plan.with_group(results[0]), None

    def folded(part: int, parts: int) -> tuple[pl.DataFrame, pl.DataFrame]:
        results = pl.collect_all(queries(part, parts), engine="streaming")
        sids = results[1] if plan.has_sample else None
        stats, split = _fold_answers(plan, results.pop(0))  # (the cells: dropped once folded)
        if sids is not None:
            stats = stats.join(sids, on=plan.pkeys, how="left", nulls_equal=True)
        return stats, split

    parts = _passes(plan)
    # (each part folded before the next is read: only one part's cells are held at a time)
    pieces = plan.job.run(lambda: [folded(i, parts) for i in range(parts)])
    stats = pl.concat([p[0] for p in pieces]) if parts > 1 else pieces[0][0]
    split = pl.concat([p[1] for p in pieces]) if parts > 1 else pieces[0][1]
    return plan.with_group(stats), split


def _passes(plan: _Plan) -> int:
    """How many parts the (problem, answer) group-by is run in: ⌈cells / per pass⌉, at most 64.

    Per pass: :data:`CELLS_PER_PASS`, or as many cells as the text files' bytes hold at
    :data:`BYTES_PER_CELL` where that is more: each pass over JSON lines or CSV parses the file
    again (3.3 s of CPU per 10⁷ JSON lines), and the reader maps the file into memory anyway,
    so there the group-by may hold about the file's size (a peak near twice the file).

    The cells are guessed from the first :data:`SAMPLE_ROWS` rows: rows × (distinct answers in
    them / their number). That is right where a file holds its problems one after another, and
    where answers are near-unique in any order (every wrong answer its own text: the case this
    is for); few answers shared by every problem (math answers) give about 1 pass. A guess too
    small costs memory (the one pass of before), never a wrong count: every K gives the same rows.
    The rows are counted (a second, cheap query) only when answers look that varied.
    """
    job = plan.job
    try:
        head = plan.flagged(False).select("_a").head(SAMPLE_ROWS).collect()
    except pl.exceptions.PolarsError:
        return 1  # (the count pass reports what is wrong)
    if head.height < SAMPLE_ROWS:
        return 1  # (the whole input: at most SAMPLE_ROWS cells)
    share = head["_a"].n_unique() / head.height
    if share < 1 / 64:
        return 1  # (one pass up to 64 × CELLS_PER_PASS rows; the rows are not counted)
    try:
        rows = job.frame(False).select(pl.len()).collect(engine="streaming").item()
    except pl.exceptions.PolarsError:
        return 1
    text = sum(src.path.stat().st_size for src in job.sources if src.text and src.path is not None)
    per_pass = max(CELLS_PER_PASS, text // BYTES_PER_CELL)
    return max(1, min(_MAX_PASSES, math.ceil(rows * share / per_pass)))


def _fold_answers(plan: _Plan, cells: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(group, problem, answer) cells → per-problem rows with vote lists (answers in text order:
    each problem's few cells sorted inside the fold, not all cells at once: with near-unique
    answers a global sort of 10⁷ strings took longer than the rest of the read); and the split cells."""
    # A cell's c counts its correct samples: 0 < c < n means the answer is both correct
    # and incorrect. One filter over the (problem, answer) cells, no extra pass over rows.
    split = plan.with_group(
        cells.filter(pl.col("_id").is_not_null() & (pl.col("c") > 0) & (pl.col("c") < pl.col("n")))
        .select([*plan.pkeys, "_a"])
    )
    fold = [pl.col(k).sum() for k in ("n", "n_bad", "n_empty", "n_nb", "c", "n_nest")]
    fold.append((pl.col("n") - pl.col("n_empty")).filter(pl.col("_a") == "").sum().alias("n_noanswer"))
    for j in range(len(plan.m.extras)):
        fold += [
            pl.max_horizontal(pl.col(f"u{j}").max(), pl.col(f"f{j}").n_unique()).alias(f"u{j}"),
            pl.col(f"f{j}").first(),
        ]
    fold += [pl.col("n").sort_by("_a").alias("votes"), pl.col("vote_ok").sort_by("_a")]
    return cells.group_by(plan.pkeys).agg(fold), split


def _check_rows(plan: _Plan, stats: pl.DataFrame, notes: list[str]) -> pl.DataFrame:
    """Stage 1: the first bad row in file order is an error (a JSON list or object in a text
    column included: text starting with [ or { is checked against the file); empty rows are
    noted and dropped."""
    job, m = plan.job, plan.m
    nested = nested_rows(job).head(1) if stats["n_nest"].sum() > 0 else None
    rec = job.first_row(plan.bad) if stats["n_bad"].sum() > 0 else None
    if nested is not None and nested.height and (rec is None or nested["_pos"][0] < rec["_pos"]):
        raise nested_error(job, *nested.row(0))
    if rec is not None:
        raise InputError(f"{job.where(rec['_pos'])}: {bad_row_message(rec, m, plan.opts.binary)}")
    empties = int(stats["n_empty"].sum())
    if empties:
        notes.append(f"{empties} empty row(s) (no {m.id!r}, no {m.reward!r}) skipped")
    return stats.filter(pl.col("_id").is_not_null())


def _check_mixed_groups(plan: _Plan, stats: pl.DataFrame, notes: list[str]) -> None:
    """Stage 2: a problem mixing models / checkpoints / steps inside one group is an error
    without ``by``; with ``by`` (one grouping column chosen) the others are pooled, and said so."""
    job, m = plan.job, plan.m
    for j, x in enumerate(m.extras):
        mixed = stats.filter(pl.col(f"u{j}") > 1).sort(["_g", "_id"])
        if mixed.height and m.by is not None:
            for g, count, problem in (
                mixed.group_by("_g", maintain_order=True).agg(pl.len(), pl.col("_id").first()).iter_rows()
            ):
                notes.append(
                    f"group {str(g)!r}: {count} problem(s) (e.g. {pid(problem)}) have rows from several "
                    f"{x!r} values, pooled; filter the input to keep one {x}"
                )
        elif mixed.height:
            g, problem = mixed["_g"][0], mixed["_id"][0]
            seen = job.rows_of(g, problem, [f"_x{j}"])
            values = seen[f"_x{j}"].unique(maintain_order=True).to_list()
            second = seen.filter(pl.col(f"_x{j}").eq_missing(values[1]))["_pos"][0]
            raise job.mixed(second, g, problem, x, values)
        per_group = stats.group_by("_g").agg(pl.col(f"f{j}").unique().alias("vals"))
        for g, vals in per_group.sort(pl.col("_g").cast(pl.String)).iter_rows():  # (notes in one order, as engines)
            if len(vals) > 1:
                shown = sorted(map(str, vals))
                notes.append(
                    f"group {str(g)!r}: column {x!r} has {len(vals)} values ({', '.join(shown[:5])}"
                    f"{', …' if len(shown) > 5 else ''}) on disjoint problems; pass by={x!r} to split them"
                )


def _check_sample_ids(plan: _Plan, stats: pl.DataFrame) -> None:
    """Stage 3: a duplicate (problem, sample id) is an error naming both rows."""
    if not plan.has_sample:
        return
    job = plan.job
    dup = stats.filter(pl.col("n_sid") < pl.col("n")).sort(["_g", "_id"])
    if not dup.height:
        return
    g, problem = dup["_g"][0], dup["_id"][0]
    first_at: dict[Any, int] = {}
    for pos, sid in job.rows_of(g, problem, ["_s"]).iter_rows():
        if sid in first_at:
            raise InputError(
                f"{job.where(pos)}: problem {pid(problem)}{job.in_group(g)}: duplicate sample id "
                f"{str(sid)!r} (first at {job.where(first_at[sid])})"
            )
        first_at[sid] = pos


def _nonbinary_groups(stats: pl.DataFrame) -> set[Any]:
    """Groups with a reward not in {0, 1}."""
    nb_per_group = stats.group_by("_g").agg(pl.col("n_nb").sum())
    return {g for g, k in nb_per_group.iter_rows() if k > 0}


def _answer_conflicts(
    plan: _Plan, split: pl.DataFrame | None, nonbinary: set[Any], notes: list[str]
) -> dict[Any, str]:
    """Stage 4: group → where an answer is first both correct and incorrect within one problem.

    Majority voting needs one verdict per answer, and taking "correct if any sample is"
    would hide a grading bug. Only where answers have a correctness (not non-0/1 rewards
    without a threshold). The counts stay valid (e.g. flaky code tests: one program, two
    verdicts), so this does not fail the read: the group's answers lose their correctness
    (vote_correct None), a note says why, and whatever needs it (maj@k, coverage) reports
    ``answer_conflict``.
    """
    if split is not None and plan.opts.threshold is None and nonbinary:
        split = split.filter(~pl.col("_g").is_in(list(nonbinary)))
    conflict: dict[Any, str] = {}
    if split is not None and split.height:
        firsts = (
            split.select("_g", "_id", "_a").sort(["_g", "_id", "_a"]).unique("_g", keep="first", maintain_order=True)
        )
        for group, problem, answer in firsts.iter_rows():
            conflict[group] = str(_conflict_error(plan, group, problem, answer))
            notes.append(f"{conflict[group]}: answers get no correctness, so no maj@k or answer coverage")
    return conflict


def _conflict_error(plan: _Plan, group: Any, problem: Any, answer: str) -> InputError:
    """The error for an answer with both correct and incorrect samples: names one of each."""
    job, threshold = plan.job, plan.opts.threshold
    flt = (pl.col("_g") == group) & (pl.col("_id") == problem) & (pl.col("_a") == answer)
    rows = job.run(lambda: plan.flagged(True).filter(flt).select("_pos", "_ok", "_r").sort("_pos").collect())
    yes = rows.filter(pl.col("_ok")).row(0)
    no = rows.filter(~pl.col("_ok")).row(0)
    here, there = (yes, no) if yes[0] > no[0] else (no, yes)  # cite the later row, point to the earlier

    def verdict(row: tuple[Any, ...]) -> str:
        _, ok, r = row
        if threshold is None:
            return "correct" if ok else "incorrect"
        return f"reward {num(r)} {'≥' if ok else '<'} {num(threshold)}"

    shown = repr(answer) if answer else "'' (missing or empty)"
    return InputError(
        f"{job.where(here[0])}: problem {pid(problem)}{job.in_group(group)}: answer {shown} has both correct "
        f"and incorrect samples ({verdict(here)} here, {verdict(there)} at {job.where(there[0])})"
    )


def _first_nonbinary(plan: _Plan, groups: set[Any]) -> dict[Any, str]:
    """Stage 5a: location of the first non-0/1 reward of each group in ``groups``.

    Without ``by`` each input is one group: a filtered ``head(1)`` per input stops
    at the first hit instead of scanning the whole file.
    """
    job = plan.job
    if job.labels[0] is None:
        firsts = job.run(
            lambda: (
                plan.flagged(True)
                .filter(pl.col("_nb"))
                .group_by("_g")
                .agg(pl.col("_pos").min())
                .collect(engine="streaming")
            )
        )
        return {g: job.where(pos) for g, pos in firsts.iter_rows()}

    def first_hit(i: int) -> pl.DataFrame:
        return plan.flagged(True, i).filter(pl.col("_nb")).select("_pos").head(1).collect()

    out: dict[Any, str] = {}
    for i, label in enumerate(job.labels):
        if label in out or label not in groups:
            continue
        hit = job.run(partial(first_hit, i))
        if hit.height:
            out[label] = job.where(hit["_pos"][0])
    return out


def _rewards_wanted(plan: _Plan, stats: pl.DataFrame, nonbinary: set[Any]) -> set[Any]:
    """Groups whose reward arrays are collected by a second pass: the non-binary ones by default
    (``keep_rewards=None``); every group with answers and ``keep_rewards=True`` (without answers
    the count pass collected them)."""
    if plan.has_answer and plan.keep_all:
        return set(stats["_g"].unique().to_list())
    return nonbinary if plan.opts.keep_rewards is None else set()


def _attach_rewards(plan: _Plan, stats: pl.DataFrame, want: set[Any]) -> pl.DataFrame:
    """Stage 5b: the sorted reward list of every problem of the groups in ``want`` (column rewards)."""
    if want:
        chosen = pl.col("_g").is_in(list(want)) & ~pl.col("_empty")
        rew = plan.job.run(
            lambda: (
                plan.flagged(False)
                .filter(chosen)
                .group_by(plan.pkeys)
                .agg(pl.col("_r").alias("rewards"))
                .collect(engine="streaming")
            )
        )
        stats = stats.join(plan.with_group(rew), on=["_g", "_id"], how="left")
    if "rewards" in stats.columns:
        stats = stats.with_columns(pl.col("rewards").list.sort())
    return stats


def _note_missing_answers(plan: _Plan, stats: pl.DataFrame, notes: list[str]) -> None:
    if plan.has_answer:
        missing = int(stats["n_noanswer"].sum())
        if missing:
            notes.append(f"{missing} row(s) with missing or empty answer kept as answer class ''")
