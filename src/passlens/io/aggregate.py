"""Per-sample rows → per-problem (n, c), answer votes and reward arrays."""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
import polars as pl

from .columns import Options
from .job import Job, nested_error, nested_rows
from .messages import bad_row_message, num, pid as _pid
from .tables import InputError, ProblemTable, group_order

__all__ = ["read_samples"]


def read_samples(job: Job, opts: Options, notes: list[str]) -> tuple[dict[str, ProblemTable], int]:
    m = job.maps[0]
    has_answer = m.answer is not None
    has_sample = m.sample is not None
    extras = range(len(m.extras))
    t = opts.threshold
    r = pl.col("_r")
    is01 = ((r == 0.0) | (r == 1.0)).fill_null(False)
    bad = ~pl.col("_empty") & (
        pl.col("_id").is_null()
        | ~r.is_finite().fill_null(False)
        | pl.col("_g").is_null()
        | (pl.col("_s").is_null() if has_sample else pl.lit(False))
        | (~is01 if opts.binary else pl.lit(False))
    )
    correct = ((r >= t) if t is not None else (r == 1.0)).fill_null(False)

    def flagged(diag: bool, only: int | None = None) -> pl.LazyFrame:
        lf = job.frame(diag, only).with_columns(bad.alias("_bad"), correct.alias("_ok"))
        lf = lf.with_columns((~pl.col("_bad") & ~pl.col("_empty") & ~is01).alias("_nb"))
        return lf.with_columns(pl.col("_a").fill_null("")) if has_answer else lf

    # One streaming pass. With answers it is keyed by (group, problem, answer) and
    # then folded per problem on the (much smaller) result: one hash pass, not two.
    # Without `by` and with one label, the group is a constant: keep it out of the hash keys.
    pkeys = ["_g", "_id"] if job.multi else ["_id"]
    keys = [*pkeys, "_a"] if has_answer else pkeys

    def with_group(df: pl.DataFrame) -> pl.DataFrame:
        return df if job.multi else df.with_columns(pl.lit(job.labels[0], pl.String).alias("_g"))

    aggs = [
        pl.len().alias("n"),
        pl.col("_bad").sum().alias("n_bad"),
        pl.col("_empty").sum().alias("n_empty"),
        pl.col("_nb").sum().alias("n_nb"),
        pl.col("_ok").sum().alias("c"),  # a count of booleans: exact integers, no float sum of rewards
        pl.col("_nest").sum().alias("n_nest"),
    ]
    for j in extras:
        aggs += [pl.col(f"_x{j}").n_unique().alias(f"u{j}"), pl.col(f"_x{j}").first().alias(f"f{j}")]
    keep_all = opts.keep_rewards is True
    if has_answer:
        aggs.append(pl.col("_ok").any().alias("vote_ok"))
    else:
        if has_sample:
            aggs.append(pl.col("_s").n_unique().alias("n_sid"))
        if keep_all:
            aggs.append(pl.col("_r").alias("rewards"))  # sorted after: list.sort on P lists beats sort-in-agg

    def queries() -> list[pl.LazyFrame]:
        lf = flagged(False)
        out = [lf.group_by(keys).agg(aggs)]
        if has_answer and has_sample:
            out.append(lf.group_by(pkeys).agg(pl.col("_s").n_unique().alias("n_sid")))
        return out

    results = job.run(lambda: pl.collect_all(queries(), engine="streaming"))
    stats: pl.DataFrame = results[0]
    split: pl.DataFrame | None = None  # (group, problem, answer) cells with correct and incorrect samples
    if has_answer:
        # sort by answer text once, then fold: lists keep row order within each problem
        cells = stats.sort("_a")
        # A cell's c counts its correct samples: 0 < c < n means the answer is both correct
        # and incorrect. One filter over the (problem, answer) cells, no extra pass over rows.
        split = with_group(
            cells.filter(pl.col("_id").is_not_null() & (pl.col("c") > 0) & (pl.col("c") < pl.col("n")))
            .select([*pkeys, "_a"])
        )
        fold = [pl.col(k).sum() for k in ("n", "n_bad", "n_empty", "n_nb", "c", "n_nest")]
        fold.append((pl.col("n") - pl.col("n_empty")).filter(pl.col("_a") == "").sum().alias("n_noanswer"))
        for j in extras:
            fold += [
                pl.max_horizontal(pl.col(f"u{j}").max(), pl.col(f"f{j}").n_unique()).alias(f"u{j}"),
                pl.col(f"f{j}").first(),
            ]
        fold += [pl.col("n").alias("votes"), pl.col("vote_ok")]
        stats = cells.group_by(pkeys).agg(fold)
        if has_sample:
            stats = stats.join(results[1], on=pkeys, how="left", nulls_equal=True)
    stats = with_group(stats)
    rows = int(stats["n"].sum())

    # 1. row-level errors: the first bad row in file order (a JSON list or object in a text
    #    column included: text starting with [ or { is checked against the file).
    nested = nested_rows(job).head(1) if stats["n_nest"].sum() > 0 else None
    rec = job.first_row(bad) if stats["n_bad"].sum() > 0 else None
    if nested is not None and nested.height and (rec is None or nested["_pos"][0] < rec["_pos"]):
        raise nested_error(job, *nested.row(0))
    if rec is not None:
        raise InputError(f"{job.where(rec['_pos'])}: {bad_row_message(rec, m, opts.binary)}")
    empties = int(stats["n_empty"].sum())
    if empties:
        notes.append(f"{empties} empty row(s) (no {m.id!r}, no {m.reward!r}) skipped")
    stats = stats.filter(pl.col("_id").is_not_null())

    # 2. a problem mixing models / checkpoints / steps inside one group: an error
    #    without `by`; with `by` (one grouping column chosen) the others are pooled, and said so.
    for j, x in enumerate(m.extras):
        mixed = stats.filter(pl.col(f"u{j}") > 1).sort(["_g", "_id"])
        if mixed.height and m.by is not None:
            for g, count, pid in (
                mixed.group_by("_g", maintain_order=True).agg(pl.len(), pl.col("_id").first()).iter_rows()
            ):
                notes.append(
                    f"group {str(g)!r}: {count} problem(s) (e.g. {_pid(pid)}) have rows from several "
                    f"{x!r} values, pooled; filter the input to keep one {x}"
                )
        elif mixed.height:
            g, pid = mixed["_g"][0], mixed["_id"][0]
            seen = job.rows_of(g, pid, [f"_x{j}"])
            values = seen[f"_x{j}"].unique(maintain_order=True).to_list()
            second = seen.filter(pl.col(f"_x{j}").eq_missing(values[1]))["_pos"][0]
            raise job.mixed(second, g, pid, x, values)
        per_group = stats.group_by("_g").agg(pl.col(f"f{j}").unique().alias("vals"))
        for g, vals in per_group.iter_rows():
            if len(vals) > 1:
                shown = sorted(map(str, vals))
                notes.append(
                    f"group {str(g)!r}: column {x!r} has {len(vals)} values ({', '.join(shown[:5])}"
                    f"{', …' if len(shown) > 5 else ''}) on disjoint problems; pass by={x!r} to split them"
                )

    # 3. duplicate (problem, sample id).
    if has_sample:
        dup = stats.filter(pl.col("n_sid") < pl.col("n")).sort(["_g", "_id"])
        if dup.height:
            g, pid = dup["_g"][0], dup["_id"][0]
            first_at: dict[Any, int] = {}
            for pos, sid in job.rows_of(g, pid, ["_s"]).iter_rows():
                if sid in first_at:
                    raise InputError(
                        f"{job.where(pos)}: problem {_pid(pid)}{job.in_group(g)}: duplicate sample id "
                        f"{str(sid)!r} (first at {job.where(first_at[sid])})"
                    )
                first_at[sid] = pos

    # groups with a reward not in {0, 1}
    nb_per_group = stats.group_by("_g").agg(pl.col("n_nb").sum())
    nonbinary = {g for g, k in nb_per_group.iter_rows() if k > 0}

    # 4. an answer both correct and incorrect within one problem: majority voting needs one
    #    verdict per answer, and taking "correct if any sample is" would hide a grading bug.
    #    Only where answers have a correctness (not non-0/1 rewards without a threshold).
    #    The counts stay valid (e.g. flaky code tests: one program, two verdicts), so this does
    #    not fail the read: the group's answers lose their correctness (vote_correct None), a
    #    note says why, and whatever needs it (maj@k, coverage) reports ``answer_conflict``.
    if split is not None and t is None and nonbinary:
        split = split.filter(~pl.col("_g").is_in(list(nonbinary)))
    conflict: dict[Any, str] = {}
    if split is not None and split.height:
        firsts = split.select("_g", "_id", "_a").sort(["_g", "_id", "_a"]).unique("_g", keep="first", maintain_order=True)
        for group, pid, answer in firsts.iter_rows():
            conflict[group] = str(_split_answer(job, flagged, group, pid, answer, t))
            notes.append(f"{conflict[group]}: answers get no correctness, so no maj@k or answer coverage")

    # 5. where each non-binary group's first non-0/1 reward sits; reward arrays.
    first_nb = _first_nonbinary(job, flagged, nonbinary) if nonbinary else {}
    want = nonbinary if opts.keep_rewards is None else set()
    if has_answer and keep_all:
        want = set(stats["_g"].unique().to_list())
    if want:
        chosen = pl.col("_g").is_in(list(want)) & ~pl.col("_empty")
        rew = job.run(
            lambda: (
                flagged(False)
                .filter(chosen)
                .group_by(pkeys)
                .agg(pl.col("_r").alias("rewards"))
                .collect(engine="streaming")
            )
        )
        rew = with_group(rew)
        stats = stats.join(rew, on=["_g", "_id"], how="left")
    if "rewards" in stats.columns:
        stats = stats.with_columns(pl.col("rewards").list.sort())
    if has_answer:
        missing = int(stats["n_noanswer"].sum())
        if missing:
            notes.append(f"{missing} row(s) with missing or empty answer kept as answer class ''")

    # 6. one table per group, problems sorted by id (as text).
    stats = stats.with_columns(pl.col("_g").cast(pl.String).alias("_label"), pl.col("_id").cast(pl.String))
    groups: dict[str, ProblemTable] = {}
    parts = {key[0]: part for key, part in stats.partition_by("_label", as_dict=True).items()}
    for label in group_order(list(parts)):
        part = parts[label].sort("_id")
        g = part["_g"][0]
        binary_group = g not in nonbinary
        counted = binary_group or t is not None
        rewards = None
        if "rewards" in part.columns and (keep_all or g in want):
            rewards = _split_lists(part["rewards"], np.float64)
        votes = vote_ok = None
        if has_answer:
            votes = _split_lists(part["votes"], np.int64)
            vote_ok = _split_lists(part["vote_ok"], bool) if counted and g not in conflict else None
        if not binary_group:
            what = f"group {label!r}: " if label else ""
            if t is None:
                notes.append(
                    f"{what}rewards are not all 0/1 (first at {first_nb[g]}): c is None"
                    + (" and answers have no correctness" if has_answer else "")
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
    return groups, rows


def _split_answer(
    job: Job, flagged: Any, group: Any, pid: Any, answer: str, threshold: float | None
) -> InputError:
    """The error for an answer with both correct and incorrect samples: names one of each."""
    flt = (pl.col("_g") == group) & (pl.col("_id") == pid) & (pl.col("_a") == answer)
    rows = job.run(lambda: flagged(True).filter(flt).select("_pos", "_ok", "_r").sort("_pos").collect())
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
        f"{job.where(here[0])}: problem {_pid(pid)}{job.in_group(group)}: answer {shown} has both correct "
        f"and incorrect samples ({verdict(here)} here, {verdict(there)} at {job.where(there[0])})"
    )


def _first_nonbinary(job: Job, flagged: Any, groups: set[Any]) -> dict[Any, str]:
    """Location of the first non-0/1 reward of each group in ``groups``.

    Without ``by`` each input is one group: a filtered ``head(1)`` per input stops
    at the first hit instead of scanning the whole file.
    """
    if job.labels[0] is None:
        firsts = job.run(
            lambda: (
                flagged(True)
                .filter(pl.col("_nb"))
                .group_by("_g")
                .agg(pl.col("_pos").min())
                .collect(engine="streaming")
            )
        )
        return {g: job.where(pos) for g, pos in firsts.iter_rows()}

    def first_hit(i: int) -> pl.DataFrame:
        return flagged(True, i).filter(pl.col("_nb")).select("_pos").head(1).collect()

    out: dict[Any, str] = {}
    for i, label in enumerate(job.labels):
        if label in out or label not in groups:
            continue
        hit = job.run(partial(first_hit, i))
        if hit.height:
            out[label] = job.where(hit["_pos"][0])
    return out


def _split_lists(series: pl.Series, dtype: Any) -> list[np.ndarray]:
    """A list column → one numpy array per row (one flat conversion, then views)."""
    ends = np.cumsum(series.list.len().to_numpy().astype(np.int64)).tolist()
    flat = series.explode().to_numpy().astype(dtype, copy=False)
    # slicing in a comprehension: np.split's per-piece bookkeeping costs ~10 µs * P
    return [flat[a:b] for a, b in zip([0, *ends[:-1]], ends)]
