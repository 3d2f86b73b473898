"""``passlens report``: the exploration diagnostic as a terminal summary and a self-contained HTML page.

A thin typer layer over :mod:`passlens.report`; no math here. Bad input and
unwritable output raise ``ValueError`` with one line, which the entry point
prints and turns into exit status 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from ._common import ENGINE_HELP, K_MAX, check_engine, check_n_boot, check_seed, check_threshold, console, parse_k_list

__all__ = ["report_cmd", "parse_k_spec"]


def parse_k_spec(spec: Optional[str]) -> tuple[Optional[tuple[int, ...]], str]:
    """Budgets from ``--k``: returns (explicit budgets or None, grid name).

    None / 'all' → (None, 'all'): 1..n; 'pow2' → (None, 'pow2'); '1,2,4,8' with ranges '1-16' → (budgets, 'all').
    A list follows :func:`passlens.cli.parse_k_list` (budgets in [1, 2⁵³ − 1], ranges upwards, at most
    10⁶ budgets); a bad one raises a one-line ValueError naming --k and the offending part.
    """
    if spec is None or spec.strip() in ("all", "pow2"):
        return None, (spec or "all").strip()
    return tuple(parse_k_list(spec.strip(), "--k")), "all"


def report_cmd(
    inputs: Optional[List[str]] = typer.Argument(
        None,
        help="Row files (per-sample or per-problem counts; JSONL/JSON/CSV/Parquet, also compressed, or a tool's own "
        "log), two files for a pair, or a run "
        "directory with evals/. '-' (or /dev/stdin) reads standard input, a FIFO is read once; their format "
        "is told from content. None: the bundled DeepScaleR base vs RL counts.",
    ),
    out: Path = typer.Option(Path("passlens-report"), "--out", help="Output folder (replaced atomically)."),
    k: Optional[str] = typer.Option(None, "--k", help="Budgets: 'all' (1..n, default), 'pow2', '1,2,4,8' or '1-16'."),
    ci: float = typer.Option(0.95, "--ci", help="Confidence level of the curve intervals."),
    alpha: float = typer.Option(0.05, "--alpha", help="Family-wise error of the comparison's simultaneous band."),
    n_boot: int = typer.Option(2000, "--n-boot", help="Bootstrap replicates / multiplier draws (2 to 1,000,000)."),
    seed: int = typer.Option(0, "--seed", help="Seed of every random draw."),
    group_size: Optional[int] = typer.Option(
        None, "--group-size",
        help="Training group size G for the zero-signal fraction (default: a run directory's n, else 16)."),
    passhat: bool = typer.Option(False, "--passhat", help="Also show pass^k (all k samples correct)."),
    method: str = typer.Option("auto", "--method", help="Curve intervals: auto (bootstrap; analytic for large inputs), bootstrap, analytic."),
    by: Optional[str] = typer.Option(None, "--by", help="Group rows by this column (model, step, …)."),
    threshold: Optional[float] = typer.Option(None, "--threshold", help="Count a continuous reward ≥ this as correct."),
    no_html: bool = typer.Option(False, "--no-html", help="Skip report.html (metrics.json, curves.csv, PNGs only)."),
    id_col: Optional[str] = typer.Option(None, "--id-col", help="Problem id column (default: auto-detected)."),
    reward_col: Optional[str] = typer.Option(None, "--reward-col", help="Reward/correctness column."),
    c_col: Optional[str] = typer.Option(None, "--c-col", help="Success-count column (count files)."),
    n_col: Optional[str] = typer.Option(None, "--n-col", help="Sample-count column (count files)."),
    answer_col: Optional[str] = typer.Option(None, "--answer-col", help="Answer column (maj@k, distinct answers)."),
    sample_col: Optional[str] = typer.Option(None, "--sample-col", help="Sample id column."),
    engine: Optional[str] = typer.Option(None, "--engine", help=ENGINE_HELP),
) -> None:
    """Exploration report: pass@k curves, paired comparison, collapse diagnostics, verdict.

    Writes OUT/report.html (self-contained), metrics.json, curves.csv and the figures as PNG.

    Example: passlens report            (bundled DeepScaleR base vs RL)
             passlens report base.jsonl rl.jsonl --out cmp/
             passlens report runs/exp1   (a training run directory with evals/)
    """
    from rich.markup import escape

    from ..report import ReportSettings, build_report, check_out_dir, load_groups, print_summary

    check_out_dir(out)  # fail before the work
    ks, grid = parse_k_spec(k)
    check_n_boot(n_boot)
    check_seed(seed)
    check_threshold(threshold)
    check_engine(engine)
    if group_size is not None and not 1 <= group_size <= K_MAX:
        raise ValueError(f"--group-size: must be an integer in [1, 2^53 − 1], got {group_size}")
    groups, src, label_name = load_groups(
        list(inputs or []), by=by, threshold=threshold, id_col=id_col, reward_col=reward_col, c_col=c_col,
        n_col=n_col, answer_col=answer_col, sample_col=sample_col, engine=engine,
    )
    if group_size is None:
        group_size = src.get("group_size", ReportSettings.group_size)
    settings = ReportSettings(
        ks=ks, grid=grid, ci=ci, alpha=alpha, n_boot=n_boot, seed=seed, group_size=group_size, passhat=passhat, method=method
    )
    report = build_report(groups, settings, inputs=src, label_name=label_name)
    if src.get("source"):
        console.print(f"[bold]{escape(str(src['source']))}[/]")
    from ..report import make_figures, render_html, write_report

    figures = make_figures(report)
    if not figures:
        console.print("figures skipped: matplotlib is not installed (pip install 'passlens[plot]')", style="yellow", markup=False)
    page = None if no_html else render_html(report, figures)
    dest = write_report(report.metrics, figures, out, html=page)
    print_summary(report, console)
    # what was written, and only that (no report.html under --no-html, no figures without matplotlib)
    wrote = ["report.html"] if page is not None else []
    wrote += ["metrics.json", "curves.csv"] + (["figures"] if figures else [])
    console.print(f"report written to {escape(str(dest))} ({', '.join(wrote)})")
