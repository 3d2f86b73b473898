"""``passlens eval``: dataset-level pass@k-family curves with confidence intervals, per group."""

from __future__ import annotations

from pathlib import Path
from typing import Any, List, Optional

import numpy as np
import typer
from rich.markup import escape
from rich.table import Table

from ..report.text import describe_ks
from ._common import (
    N_BOOT_MAX,
    check_shared_options,
    column_options,
    fail,
    fail_not_binary,
    human_console,
    parse_ks,
    read,
    write_machine,
)

__all__ = ["eval_cmd", "METRIC_NAMES"]

METRIC_NAMES = {"pass": "pass@k", "passhat": "pass^k", "max": "max@k", "maj": "maj@k"}


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _missing(x: Any) -> bool:
    return x is None or not np.isfinite(x)


def _fmt(x: Any) -> str:
    """A statistic with 4 decimals; 'n/a' where it is undefined (None or NaN, e.g. the SE of one problem)."""
    return "n/a" if _missing(x) else f"{x:.4f}"


def eval_cmd(
    files: List[Path] = typer.Argument(..., help="Sample logs: per-sample or per-problem count rows (JSONL, CSV, Parquet)."),
    k: Optional[str] = typer.Option(None, "--k", help="Budgets: '1,2,4,8', '1-16', 'all' (1..min n) or 'pow2' (default)."),
    ci: float = typer.Option(0.95, "--ci", help="Confidence level of the intervals."),
    by: Optional[str] = typer.Option(None, "--by", help="Group rows by this column (e.g. model, step)."),
    metric: str = typer.Option("pass", "--metric", help="pass | passhat | max | maj."),
    method: str = typer.Option("bootstrap", "--method", help="Interval: bootstrap (problem-level) or analytic."),
    n_boot: int = typer.Option(2000, "--n-boot", help=f"Bootstrap replicates (2 to {N_BOOT_MAX:,})."),
    seed: int = typer.Option(0, "--seed", help="Bootstrap seed."),
    threshold: Optional[float] = typer.Option(None, "--threshold", help="Count a continuous reward ≥ this as correct (not used by --metric max)."),
    drop: bool = typer.Option(False, "--drop-small-n", help="Leave out problems with n < k at that k (counted) instead of failing."),
    json_out: Optional[str] = typer.Option(None, "--json", help="Also write the curves as JSON to this path ('-' for stdout; the table then goes to stderr)."),
    csv_out: Optional[str] = typer.Option(None, "--csv", help="Also write the curves as CSV to this path ('-' for stdout; the table then goes to stderr)."),
    id_col: Optional[str] = typer.Option(None, "--id-col", help="Problem id column (default: auto-detected)."),
    reward_col: Optional[str] = typer.Option(None, "--reward-col", help="Reward/correctness column."),
    c_col: Optional[str] = typer.Option(None, "--c-col", help="Success-count column (count files)."),
    n_col: Optional[str] = typer.Option(None, "--n-col", help="Sample-count column (count files)."),
    answer_col: Optional[str] = typer.Option(None, "--answer-col", help="Answer column (for maj@k)."),
    sample_col: Optional[str] = typer.Option(None, "--sample-col", help="Sample id column (duplicates are errors)."),
) -> None:
    """Dataset-level pass@k-family curves with confidence intervals, per group.

    Example: passlens eval samples.jsonl --k 1,4,16,64 --by model --json curves.json
    """
    from ..uncertainty import curve

    if metric not in METRIC_NAMES:
        fail(f"--metric: must be one of {', '.join(METRIC_NAMES)}, got {metric!r}")
    if method not in ("bootstrap", "analytic"):
        fail(f"--method: must be 'bootstrap' or 'analytic', got {method!r}")
    if not (0 < ci < 1):
        fail(f"--ci: must be in (0, 1), got {ci}")
    check_shared_options(n_boot, seed, threshold, k)
    con = human_console(list(files), **{"--json": json_out, "--csv": csv_out})
    data = read(
        files,
        by=by,
        threshold=threshold,
        keep_rewards=True if metric == "max" else None,  # binary rewards are otherwise kept as (n, c) only
        **column_options(id_col, reward_col, c_col, n_col, answer_col, sample_col),
    )
    label_name = by or data.by  # "file" when several files are one group each
    results: dict[str, Any] = {}
    records: list[dict[str, Any]] = []
    for group, table in data.groups.items():
        if metric in ("pass", "passhat") and table.c is None:
            fail_not_binary("", table, data.notes, "--threshold T to binarize, or --metric max")
        if metric == "maj" and table.answer_conflict is not None:
            fail(f"--metric maj: {table.answer_conflict}")
        n_min, n_max = int(table.n.min()), int(table.n.max())
        ks = parse_ks(k, n_max if drop else n_min, n_max)
        cur = curve(
            table.n,
            table.c,
            ks,
            metric=metric,  # type: ignore[arg-type]  # checked against METRIC_NAMES above
            rewards=table.rewards,
            votes=table.votes,
            correct=table.vote_correct,
            ci=ci,
            method=method,  # type: ignore[arg-type]  # checked above
            n_boot=n_boot,
            seed=seed,
            k_exceeds_n="drop" if drop else "raise",
            ids=table.ids,
        )
        results[group] = cur.to_dict() | {"problems_total": int(table.n.size)}
        records.extend({"group": group, **row} for row in cur.rows())
        where = "" if not group else f" — {label_name}={group}" if label_name else f" — {group}"
        title = f"{METRIC_NAMES[metric]}{escape(where)}  ({_plural(int(table.n.size), 'problem')})"
        tab = Table(title=title, title_justify="left")
        for col in ("k", "estimate", f"{int(ci * 100)}% CI", "SE", "problems"):
            tab.add_column(col, justify="right")
        no_interval: list[tuple[int, int]] = []  # (k, problems) where no interval exists
        for row in cur.rows():
            missing = row["problems"] < 2 or _missing(row["lo"]) or _missing(row["hi"])
            if missing:
                no_interval.append((row["k"], row["problems"]))
            ci_cell = "n/a" if missing else escape(f"[{_fmt(row['lo'])}, {_fmt(row['hi'])}]")
            se_cell = "n/a" if row["problems"] < 2 else _fmt(row["se"])
            tab.add_row(str(row["k"]), _fmt(row["estimate"]), ci_cell, se_cell, str(row["problems"]))
        con.print(tab)
        few = [kk for kk, p in no_interval if p < 2]
        if few:
            who = "one problem" if all(p == 1 for _, p in no_interval if p < 2) else "fewer than 2 problems"
            con.print(f"  note: k={describe_ks(few)}: {who}, no interval", highlight=False)
        flat = [kk for kk, p in no_interval if p >= 2]
        if flat:  # see curve_from_rows: no spread, and max@k has no known range to bound the mean
            con.print(f"  note: k={describe_ks(flat)}: no spread over problems, unknown reward range: no interval",
                      highlight=False)
        if cur.dropped:
            con.print(f"  {cur.dropped} problem(s) with n < {int(ks[-1])} left out at k={int(ks[-1])} (--drop-small-n)")
    notes = list(data.notes)
    if threshold is not None and metric == "max":
        notes.append(f"--threshold {threshold:g} ignored: --metric max uses the raw rewards")
    for note in notes:
        con.print(f"  note: {escape(note)}")
    payload = {"files": data.files, "sha256": data.sha256, "metric": metric, "groups": results}
    if json_out:
        write_machine("--json", json_out, "json", records, payload)
    if csv_out:
        write_machine("--csv", csv_out, "csv", records, payload)
