"""``passlens eval``: dataset-level pass@k-family curves with confidence intervals, per group."""

from __future__ import annotations

from pathlib import Path
from typing import Any, List, Optional

import typer
from rich.markup import escape

from ..report.tables import METRIC_LABELS, curve_notes, curve_table
from ._common import (
    ENGINE_HELP,
    N_BOOT_MAX,
    check_engine,
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

#: The metrics eval computes, and how the tables write them.
METRIC_NAMES = METRIC_LABELS


def eval_cmd(
    files: List[str] = typer.Argument(..., help="Sample logs: per-sample or per-problem count rows (JSONL, JSON, CSV, Parquet; also .gz/.zst/.bz2), or a tool's own log (lm-eval, Inspect, EvalPlus, LiveCodeBench, HELM, verl, …). '-' (or /dev/stdin) reads standard input, and a FIFO is read once; their format is told from content."),
    k: Optional[str] = typer.Option(None, "--k", help="Budgets: '1,2,4,8', '1-16', 'all' (1..min n) or 'pow2' (default)."),
    ci: float = typer.Option(0.95, "--ci", help="Confidence level of the intervals."),
    by: Optional[str] = typer.Option(None, "--by", help="Group rows by this column (e.g. model, step)."),
    metric: str = typer.Option("pass", "--metric", help="pass | passhat | max | maj | coverage (maj and coverage need answers)."),
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
    answer_col: Optional[str] = typer.Option(None, "--answer-col", help="Answer column (for maj@k and coverage@k)."),
    sample_col: Optional[str] = typer.Option(None, "--sample-col", help="Sample id column (duplicates are errors)."),
    engine: Optional[str] = typer.Option(None, "--engine", help=ENGINE_HELP),
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
    check_engine(engine)
    con = human_console([Path(f) for f in files], **{"--json": json_out, "--csv": csv_out})
    data = read(
        files,
        by=by,
        threshold=threshold,
        keep_rewards=True if metric == "max" else None,  # binary rewards are otherwise kept as (n, c) only
        engine=engine,
        **column_options(id_col, reward_col, c_col, n_col, answer_col, sample_col),
    )
    label_name = by or data.by  # "file" when several files are one group each
    results: dict[str, Any] = {}
    records: list[dict[str, Any]] = []
    for group, table in data.groups.items():
        if metric in ("pass", "passhat") and table.c is None:
            fail_not_binary("", table, data.notes, "--threshold T to binarize, or --metric max")
        if metric in ("maj", "coverage") and table.votes is None:
            fail(f"--metric {metric}: needs an answer per sample; none was found (name the column with --answer-col)")
        if metric in ("maj", "coverage") and table.answer_conflict is not None:
            fail(f"--metric {metric}: {table.answer_conflict}")
        n_min, n_max = int(table.n.min()), int(table.n.max())
        ks = parse_ks(k, n_max if drop else n_min, n_max)
        cur = curve(
            table.n,
            table.c,
            ks,
            metric=metric,  # checked against METRIC_NAMES above
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
        con.print(curve_table(cur, problems=int(table.n.size), group=group, label_name=label_name))
        for note in curve_notes(cur):
            con.print(note)
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
