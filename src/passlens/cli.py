"""The ``passlens`` command line: a thin typer layer over the library (no math here).

Every user error (bad file, bad option, k > n, …) ends with one line on stderr
and exit status 2; nothing prints a traceback.
"""

from __future__ import annotations

import csv
import io as _stdio
import json
import sys
from pathlib import Path
from typing import Any, Callable, List, Optional, TypeVar

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from . import __version__

__all__ = ["app", "main"]

F = TypeVar("F", bound=Callable[..., Any])

app = typer.Typer(
    name="passlens",
    help=(
        "Is my policy still exploring? Exact pass@k / pass^k / max@k / maj@k from sample logs, with "
        "confidence intervals, paired model comparison and exploration diagnostics.\n\n"
        "Example: passlens report   (the bundled DeepScaleR base vs RL counts)"
    ),
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

_out = Console()
_err = Console(stderr=True, highlight=False, soft_wrap=True)


class UserError(Exception):
    """A problem with the user's input or options: one line, exit 2."""


def _fail(message: str) -> None:
    raise UserError(message)


def parse_ks(spec: Optional[str], n_min: int, n_max: int) -> np.ndarray:
    """Budgets from a CLI spec.

    "all" → 1..n_min; "pow2" (default when spec is None) → 1, 2, 4, … ≤ n_min plus
    n_min itself; otherwise a comma list "1,2,4,8" with ranges "1-16" allowed.
    """
    if spec is None or spec == "pow2":
        ks = [1 << i for i in range(0, max(1, n_min).bit_length()) if (1 << i) <= n_min]
        if n_min not in ks:
            ks.append(n_min)
        return np.array(ks, dtype=np.int64)
    if spec == "all":
        return np.arange(1, n_min + 1, dtype=np.int64)
    values: list[int] = []
    for part in spec.split(","):
        part = part.strip()
        try:
            if "-" in part:
                lo, hi = (int(v) for v in part.split("-", 1))
                values.extend(range(lo, hi + 1))
            else:
                values.append(int(part))
        except ValueError:
            _fail(f"--k: cannot parse {part!r} (use e.g. 1,2,4,8 or 1-16, 'all' or 'pow2')")
    if not values or min(values) < 1:
        _fail(f"--k: budgets must be ≥ 1, got {spec!r}")
    return np.array(sorted(set(values)), dtype=np.int64)


def _read(files: List[Path], **options: Any) -> Any:
    from . import io as pio

    return pio.read([str(f) for f in files], **options)


def _column_options(
    id_col: Optional[str],
    reward_col: Optional[str],
    c_col: Optional[str],
    n_col: Optional[str],
    answer_col: Optional[str],
    sample_col: Optional[str],
) -> dict[str, Any]:
    return {
        "id_col": id_col,
        "reward_col": reward_col,
        "c_col": c_col,
        "n_col": n_col,
        "answer_col": answer_col,
        "sample_col": sample_col,
    }


def _fmt(x: float) -> str:
    return "nan" if not np.isfinite(x) else f"{x:.4f}"


def _write_machine(out: str, records: list[dict[str, Any]], as_json: Any) -> None:
    """Write records as CSV or ``as_json`` as JSON to a path, or stdout for '-'."""
    if out.endswith(".csv") or out == "-csv":
        buf = _stdio.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(records[0].keys()))
        writer.writeheader()
        writer.writerows(records)
        text = buf.getvalue()
    else:
        text = json.dumps(as_json, indent=2) + "\n"
    if out in ("-", "-csv"):
        sys.stdout.write(text)
    else:
        path = Path(out)
        tmp = path.with_name(path.name + ".tmp")
        try:
            tmp.write_text(text)
            tmp.replace(path)
        except OSError as exc:
            _fail(f"cannot write {out}: {exc.strerror}")


METRIC_NAMES = {"pass": "pass@k", "passhat": "pass^k", "max": "max@k", "maj": "maj@k"}


@app.command("eval")
def eval_cmd(
    files: List[Path] = typer.Argument(..., help="Sample logs: per-sample or per-problem count rows (JSONL, CSV, Parquet)."),
    k: Optional[str] = typer.Option(None, "--k", help="Budgets: '1,2,4,8', '1-16', 'all' (1..min n) or 'pow2' (default)."),
    ci: float = typer.Option(0.95, "--ci", help="Confidence level of the intervals."),
    by: Optional[str] = typer.Option(None, "--by", help="Group rows by this column (e.g. model, step)."),
    metric: str = typer.Option("pass", "--metric", help="pass | passhat | max | maj."),
    method: str = typer.Option("bootstrap", "--method", help="Interval: bootstrap (problem-level) or analytic."),
    n_boot: int = typer.Option(2000, "--n-boot", help="Bootstrap replicates."),
    seed: int = typer.Option(0, "--seed", help="Bootstrap seed."),
    threshold: Optional[float] = typer.Option(None, "--threshold", help="Count a continuous reward ≥ this as correct."),
    drop: bool = typer.Option(False, "--drop-small-n", help="Leave out problems with n < k at that k (counted) instead of failing."),
    json_out: Optional[str] = typer.Option(None, "--json", help="Also write the curves as JSON to this path ('-' for stdout)."),
    csv_out: Optional[str] = typer.Option(None, "--csv", help="Also write the curves as CSV to this path ('-' for stdout)."),
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
    from .uncertainty import curve

    if metric not in METRIC_NAMES:
        _fail(f"--metric must be one of {', '.join(METRIC_NAMES)}; got {metric!r}")
    if method not in ("bootstrap", "analytic"):
        _fail(f"--method must be 'bootstrap' or 'analytic'; got {method!r}")
    if not (0 < ci < 1):
        _fail(f"--ci must be in (0, 1); got {ci}")
    data = _read(
        files,
        by=by,
        threshold=threshold,
        keep_rewards=True if metric == "max" else None,  # binary rewards are otherwise kept as (n, c) only
        **_column_options(id_col, reward_col, c_col, n_col, answer_col, sample_col),
    )
    results: dict[str, Any] = {}
    records: list[dict[str, Any]] = []
    for group, table in data.groups.items():
        if metric in ("pass", "passhat") and table.c is None:
            _fail(
                f"rewards are continuous (first at {table.nonbinary_at}); use --threshold T to binarize"
                " or --metric max"
            )
        n_min, n_max = int(table.n.min()), int(table.n.max())
        ks = parse_ks(k, n_max if drop else n_min, n_max)
        cur = curve(
            table.n,
            table.c,
            ks,
            metric=metric,  # type: ignore[arg-type]
            rewards=table.rewards,
            votes=table.votes,
            correct=table.vote_correct,
            ci=ci,
            method=method,  # type: ignore[arg-type]
            n_boot=n_boot,
            seed=seed,
            k_exceeds_n="drop" if drop else "raise",
            ids=table.ids,
        )
        results[group] = cur.to_dict() | {"problems_total": int(table.n.size)}
        records.extend({"group": group, **row} for row in cur.rows())
        title = f"{METRIC_NAMES[metric]}" + (f" — {by}={group}" if group else "") + f"  ({table.n.size} problems)"
        tab = Table(title=title, title_justify="left")
        for col in ("k", "estimate", f"{int(ci * 100)}% CI", "SE", "problems"):
            tab.add_column(col, justify="right")
        for row in cur.rows():
            tab.add_row(
                str(row["k"]), _fmt(row["estimate"]), f"[{_fmt(row['lo'])}, {_fmt(row['hi'])}]", _fmt(row["se"]), str(row["problems"])
            )
        _out.print(tab)
        if cur.dropped:
            _out.print(f"  {cur.dropped} problem(s) with n < {int(ks[-1])} left out at k={int(ks[-1])} (--drop-small-n)")
    for note in data.notes:
        _out.print(f"  note: {note}")
    payload = {"files": data.files, "sha256": data.sha256, "metric": metric, "groups": results}
    if json_out:
        _write_machine(json_out, records, payload)
    if csv_out:
        _write_machine(csv_out if csv_out != "-" else "-csv", records, payload)


@app.command("compare")
def compare_cmd(
    a: Optional[Path] = typer.Argument(None, help="Model A (reference) counts or samples. Default: bundled DeepScaleR base."),
    b: Optional[Path] = typer.Argument(None, help="Model B counts or samples. Default: bundled DeepScaleR RL model."),
    k: Optional[str] = typer.Option("all", "--k", help="Budgets: 'all' (1..min n, default), 'pow2', '1,2,4' or '1-16'."),
    alpha: float = typer.Option(0.05, "--alpha", help="Family-wise error level of the simultaneous band."),
    n_boot: int = typer.Option(4000, "--n-boot", help="Multiplier-bootstrap draws."),
    seed: int = typer.Option(0, "--seed", help="Bootstrap seed."),
    threshold: Optional[float] = typer.Option(None, "--threshold", help="Count a continuous reward ≥ this as correct."),
    json_out: Optional[str] = typer.Option(None, "--json", help="Write the full result as JSON to this path ('-' for stdout)."),
    show: str = typer.Option("pow2", "--show", help="Rows of the table: 'pow2' (powers of 2 plus the budgets where the verdict changes), 'all' or a k list."),
    id_col: Optional[str] = typer.Option(None, "--id-col", help="Problem id column (default: auto-detected)."),
    reward_col: Optional[str] = typer.Option(None, "--reward-col", help="Reward/correctness column."),
    c_col: Optional[str] = typer.Option(None, "--c-col", help="Success-count column (count files)."),
    n_col: Optional[str] = typer.Option(None, "--n-col", help="Sample-count column (count files)."),
) -> None:
    """Paired pass@k comparison of model B against model A on the same problems.

    A simultaneous confidence band over the whole k grid (sup-t multiplier
    bootstrap over problems) gives the budgets where B is significantly better,
    worse, or inconclusive, and the set of budgets that may be B's first loss.

    Example: passlens compare base.jsonl rl.jsonl --k all --alpha 0.05
    """
    from .uncertainty import compare, describe_comparison

    if (a is None) != (b is None):
        _fail("give two files (A and B), or none for the bundled DeepScaleR example")
    if a is None:
        from .io import bundled_deepscaler

        base, rl = bundled_deepscaler()
        a, b = Path(base), Path(rl)
        _out.print("[bold]DeepScaleR (bundled):[/] A = DeepSeek-R1-Distill-Qwen-1.5B, B = DeepScaleR-1.5B-Preview (RL)")
    assert b is not None
    cols = _column_options(id_col, reward_col, c_col, n_col, None, None)
    tables = []
    for f in (a, b):
        data = _read([f], threshold=threshold, **cols)
        if len(data.groups) != 1:
            _fail(f"{f}: holds {len(data.groups)} groups ({', '.join(data.groups)}); compare takes one model per file")
        tables.append(next(iter(data.groups.values())))
    ta, tb = tables
    for f, t in ((a, ta), (b, tb)):
        if t.c is None:
            _fail(f"{f}: rewards are continuous (first at {t.nonbinary_at}); use --threshold T to binarize")
    n_min = int(min(ta.n.min(), tb.n.min()))
    ks = parse_ks(k, n_min, n_min)
    if int(ks[-1]) > n_min:
        _fail(f"--k: k={int(ks[-1])} exceeds the smallest n={n_min}; no unbiased estimate exists for k > n")
    res = compare(ta, tb, ks, alpha=alpha, n_boot=n_boot, seed=seed)
    shown = set(parse_ks(show, n_min, n_min).tolist()) if show != "all" else set(res.k.tolist())
    if show == "pow2":  # also show the budgets where the verdict changes
        verdict = (res.lo > 0).astype(int) - (res.hi < 0).astype(int)
        change = np.flatnonzero(np.diff(verdict) != 0)
        shown |= set(res.k[change].tolist()) | set(res.k[change + 1].tolist())
    band = f"{int(round((1 - alpha) * 100))}% simultaneous band"
    tab = Table(title=f"pass@k, B − A over {res.problems} paired problems", title_justify="left")
    for col in ("k", "A", "B", "B − A", band, "verdict"):
        tab.add_column(col, justify="right")
    for i, kk in enumerate(res.k.tolist()):
        if kk not in shown:
            continue
        verdict = "[green]B better[/]" if res.lo[i] > 0 else "[red]B worse[/]" if res.hi[i] < 0 else "inconclusive"
        tab.add_row(
            str(kk), _fmt(res.a[i]), _fmt(res.b[i]), f"{res.diff[i]:+.4f}", f"[{res.lo[i]:+.4f}, {res.hi[i]:+.4f}]", verdict
        )
    _out.print(tab)
    for line in describe_comparison(res):
        _out.print(f"  {line}")
    if res.crossover is not None:
        _out.print(f"  mean curves cross at k = {res.crossover} (point estimate)")
    _out.print(
        f"  sup-t critical value {res.critical:.3f} ({res.n_boot} multiplier draws, seed {res.seed});"
        " inconclusive is not evidence of equality"
    )
    if json_out:
        payload = res.to_dict() | {"files": {"a": str(a), "b": str(b)}}
        _write_machine(json_out, [{}], payload)


def _version_callback(value: bool) -> None:
    if value:
        _out.print(f"passlens {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version_callback, is_eager=True, help="Show the version."),
) -> None:
    """Exact pass@k-family estimators, uncertainty and exploration diagnostics for RLVR."""


def _mount_optional() -> None:
    """Subcommand groups that live in their own modules."""
    try:
        from .cli_theory import theory_app
    except ImportError:  # pragma: no cover - module not present
        pass
    else:
        app.add_typer(theory_app, name="theory")
    try:
        from .cli_report import report_cmd
    except ImportError:  # pragma: no cover - module not present
        pass
    else:
        app.command("report")(report_cmd)
    try:
        from .cli_train import train_cmd
    except ImportError:  # pragma: no cover - module not present
        pass
    else:
        app.command("train")(train_cmd)
    try:
        from .cli_lab import lab_app, reproduce_cmd
    except ImportError:  # pragma: no cover - module not present
        pass
    else:
        app.add_typer(lab_app, name="lab")
        app.command("reproduce")(reproduce_cmd)


_mount_optional()


def main() -> None:
    """Entry point: usage errors exit 2 (click's own handling); user errors print one line and exit 2."""
    try:
        app()
    except (UserError, ValueError) as exc:  # ValueError includes passlens.io.InputError
        _err.print(f"passlens: error: {exc}", markup=False)
        sys.exit(2)
