"""``passlens lab`` (run / show): a thin typer layer over :mod:`passlens.lab`.

No math lives here. Bad input raises ValueError with one line; the entry point
prints it and exits with status 2.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, List, Optional

import typer
from rich.markup import escape

from ..report.tables import lab_summary
from ._common import comma_items, wide_console

__all__ = ["lab_app", "run_cmd", "show_cmd"]

_OBJECTIVE_HELP = (
    "Objective (repeatable). Exact mode: pass@1, pass@k:k=K, coverage:k=K, arcsin, or a registry name mapped to"
    " its target: rloo/dr_grpo → pass@1, grpo → arcsin (2·asin√p), pkpo:k=K/alpha_rloo:k=K → pass@k,"
    " best_minus_second → pass@n, coverage:k=K → coverage@k. Sampled mode: any advantage-registry spec"
    " (rloo, grpo, dr_grpo, pkpo:k=8,variant=s, passk_analytic:k=8, alpha_rloo:k=8, best_minus_second,"
    " unlikeliness, novelty, coverage:k=8); pass@1 → rloo, pass@k:k=K → pkpo:k=K. Add beta=B for an"
    " entropy bonus (rloo:beta=0.01)."
)

lab_app = typer.Typer(
    name="lab",
    help=(
        "Exploration-collapse lab: policy-gradient dynamics of pass@k-family objectives over a population of"
        " problems with several answer classes each (tabular, shared linear or shared MLP softmax; exact expected gradients"
        " or sampled groups with any registry advantage).\n\n"
        "Example: passlens lab run --objective rloo --objective pkpo:k=8 --objective coverage:k=8 --seeds 5"
        " --steps 1000 --out runs/collapse && passlens lab show runs/collapse"
    ),
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _parse_range(text: str) -> tuple[int, int]:
    try:
        if "-" in text:
            a, b = text.split("-", 1)
            return int(a), int(b)
        return int(text), int(text)
    except ValueError:
        raise ValueError(f"--n-correct: cannot parse {text!r} (use e.g. 1-4 or 2)") from None


_DEFAULT_KS = "1,2,4,8,16"


def _parse_ks(texts: List[str]) -> tuple[int, ...]:
    """Sorted distinct budgets of every ``--k`` (each a comma list of integers, e.g. 1,2,4,8,16).

    ValueError naming --k for an empty list, a blank item ('1,,2', ',4,') or a non-integer; the
    range of each budget is checked by :meth:`LabConfig.validate`.
    """
    import re

    values: set[int] = set()
    for text in texts:
        parts = comma_items(text, "--k", "budget", "1,2,4,8,16")
        for p in parts:
            if not re.fullmatch(r"[+-]?[0-9]+", p):
                where = "" if p == text.strip() else f" in {text!r}"
                raise ValueError(f"--k: cannot parse {p!r}{where} (use e.g. 1,2,4,8,16)")
            values.add(int(p))
    return tuple(sorted(values))


@lab_app.command("run")
def run_cmd(
    objective: List[str] = typer.Option(..., "--objective", "-o", help=_OBJECTIVE_HELP),
    out: Path = typer.Option(..., "--out", help="Output directory (metrics.parquet, config.json, trajectories.png); created, or reused with those files replaced."),
    seeds: int = typer.Option(3, "--seeds", help="Seeds S, 1–10000 (each its own population draw; vectorized; sampled groups of all seeds come from one stream)."),
    steps: int = typer.Option(1000, "--steps", help="Updates, 1–10000000."),
    mode: str = typer.Option("exact", "--mode", help="exact (expected gradient, n → ∞) or sampled (n draws per problem)."),
    n: int = typer.Option(16, "--n", help="Samples per problem per step (sampled mode), 2–100000."),
    policy: str = typer.Option("tabular", "--policy", help="tabular | linear (shared linear softmax) | mlp (shared one-hidden-layer tanh MLP softmax, see --hidden)."),
    hidden: int = typer.Option(32, "--hidden", help="Hidden width H of the mlp policy, 1–100000."),
    problems: Optional[int] = typer.Option(None, "--problems", help="Problems P of a synthetic population, 1–10000000 (default 2000; seeds × problems × answers [× hidden] ≤ 2³¹). Not with --from-counts: that population is the file's N problems, all of them."),
    answers: int = typer.Option(16, "--answers", help="Answer classes M per problem, 2–100000."),
    n_correct: str = typer.Option("1-4", "--n-correct", help="Correct classes per problem, 'min-max'."),
    lr: Optional[float] = typer.Option(None, "--lr", help="Learning rate (default 2.0 for sgd, 0.05 for adam)."),
    optimizer: str = typer.Option("sgd", "--optimizer", help="sgd | adam."),
    from_counts: Optional[Path] = typer.Option(None, "--from-counts", help="Start from a count table (JSONL/CSV/Parquet with id, c, n), e.g. the bundled DeepScaleR base counts; P is the file's number of problems (every one is used)."),
    k: Optional[List[str]] = typer.Option(None, "--k", help="pass@k grid of the tracked metrics: comma-separated and/or repeated (--k 1,2 --k 8), each k 1–1000000 (default 1,2,4,8,16)."),
    k_ref: int = typer.Option(8, "--k-ref", help="Budget of the tracked alpha / signal / coverage / cos metrics, 1–1000000."),
    log_every: int = typer.Option(25, "--log-every", help="Track every this many steps (and the last), 1–10000000."),
    seed: int = typer.Option(0, "--seed", help="Base seed, 0–4294967295 (seed s of --seeds draws its population with seed + s)."),
    dtype: str = typer.Option("float64", "--dtype", help="Policy state dtype: float64 or float32 (≈2× faster on large populations; metrics stay float64)."),
    workers: Optional[int] = typer.Option(None, "--workers", help="Processes, 1–1024 (default min(#objectives, CPUs)); 1 = in-process with a live progress bar."),
    heldout: int = typer.Option(0, "--heldout", help="Problems per population kept out of training and tracked as heldout_* metrics (shared policies: linear, mlp); 0 ≤ heldout < problems."),
    threads: int = typer.Option(0, "--threads", help="Threads per process of the tabular exact step, 0–1024 (0 = the CPUs left per process; results do not depend on it)."),
    plots: bool = typer.Option(True, "--plots/--no-plots", help="Write trajectories.png (needs matplotlib)."),
) -> None:
    """Train each objective on the same populations and seeds; write tidy tables and figures.

    Example: passlens lab run -o rloo -o pkpo:k=8 -o coverage:k=8 --seeds 3 --steps 1000 --out runs/lab
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ..lab import LabConfig, run_lab
    from .._output import RunLock, remove_stale_temporaries
    from ..lab.dynamics import check_int_option, make_out_dir, save_run

    if from_counts is not None and problems is not None:
        raise ValueError("--problems: not used with --from-counts (the population is the file's N problems)")
    if lr is None:
        lr = 0.05 if optimizer == "adam" else 2.0
    config = LabConfig(
        objectives=tuple(objective), mode=mode, policy=policy, steps=steps, seeds=seeds, seed=seed, n=n, lr=lr,
        optimizer=optimizer, problems=LabConfig.problems if problems is None else problems, answers=answers,
        n_correct=_parse_range(n_correct), from_counts=str(from_counts) if from_counts is not None else None,
        ks=_parse_ks(k or [_DEFAULT_KS]), k_ref=k_ref,
        log_every=log_every, dtype=dtype, threads=threads, heldout=heldout, hidden=hidden,
    )
    config.validate()
    w = min(len(objective), os.cpu_count() or 1) if workers is None else check_int_option("workers", workers)
    if plots:
        from ..lab.plots import require_matplotlib

        require_matplotlib()
    make_out_dir(out)  # before the run: an unusable --out fails in a second, not after it
    lock = RunLock(out, command="passlens lab run")  # held to the end: a second run on this --out is refused
    remove_stale_temporaries([Path(out)])  # what a killed run's writers left
    try:
        with Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=wide_console, transient=False
        ) as bar:
            tasks = {o: bar.add_task(escape(o), total=steps) for o in objective}
            df = run_lab(config, workers=w, progress=lambda o, d: bar.advance(tasks[o], d))
    except MemoryError:
        raise ValueError("out of memory: use fewer --seeds, --problems, --answers or --hidden (or --dtype float32)") from None
    from dataclasses import replace

    from ..lab import build_populations

    first = build_populations(replace(config, seeds=1))[0]  # seed 0's population, for the record
    if config.from_counts is not None:  # P is the count table's, not the synthetic default
        config = replace(config, problems=first.P)
    save_run(df, config, out, extra={"population_seed0": first.describe()})
    figs = []
    if plots:
        from ..lab.plots import plot_run

        try:
            figs = plot_run(df, out, k_ref=k_ref)
        except OSError as exc:
            raise ValueError(f"cannot write {Path(out) / 'trajectories.png'}: {exc.strerror or exc}") from None
    lock.release()
    written = [f"{Path(out) / 'metrics.parquet'} ({df.height} rows)", str(Path(out) / "config.json"), *(str(f) for f in figs)]
    wide_console.print(escape("wrote " + ", ".join(written)))
    _print_summary(df, config.to_json())


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _load(directory: Path) -> tuple[Any, dict[str, Any]]:
    """The metrics table and the ``config`` object of a lab run; ValueError naming the damaged file otherwise.

    The configuration is the one ``metrics.parquet`` carries in its metadata (the save's commit point,
    see :func:`passlens.lab.dynamics.save_run`); ``config.json`` for runs written before it did.
    """
    import polars as pl

    from ..lab.dynamics import RUN_METADATA_KEY

    m, c = directory / "metrics.parquet", directory / "config.json"
    if not m.is_file() or not c.is_file():
        raise ValueError(f"{directory}: not a lab run directory (needs metrics.parquet and config.json)")
    try:
        # the results carry their own configuration: a save killed after config.json and
        # before metrics.parquet leaves the previous results with a newer config.json beside them
        text = pl.read_parquet_metadata(m).get(RUN_METADATA_KEY)
    except OSError as exc:
        raise ValueError(f"cannot read {m}: {exc.strerror or exc}") from None
    except (pl.exceptions.PolarsError, ValueError) as exc:
        raise ValueError(f"{m}: not a readable Parquet file ({_first_line(exc)})") from None
    if text is not None:
        c = m  # messages about the configuration name the file it was read from
    try:
        payload = json.loads(text if text is not None else c.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"cannot read {c}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ValueError(f"{c}: not a UTF-8 text file") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{c}: invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    cfg = payload.get("config") if isinstance(payload, dict) else None
    if not isinstance(cfg, dict):
        raise ValueError(f"{c}: expected a JSON object with a 'config' object, as written by 'passlens lab run'")
    for key, kind in (("k_ref", int), ("mode", str), ("policy", str), ("answers", int)):
        if not isinstance(cfg.get(key), kind) or isinstance(cfg.get(key), bool):
            raise ValueError(f"{c}: config.{key} must be {'an integer' if kind is int else 'a string'}, got {cfg.get(key)!r}")
    if cfg["k_ref"] < 1:
        raise ValueError(f"{c}: config.k_ref must be ≥ 1, got {cfg['k_ref']}")
    pop = payload.get("population_seed0")
    if cfg.get("from_counts") and isinstance(pop, dict) and isinstance(pop.get("problems"), int):
        cfg = {**cfg, "problems": pop["problems"]}  # runs written before P was recorded kept the unused --problems default
    try:
        df = pl.read_parquet(m)
    except OSError as exc:
        raise ValueError(f"cannot read {m}: {exc.strerror or exc}") from None
    except (pl.exceptions.PolarsError, ValueError) as exc:  # polars' own error types for every kind of damage
        raise ValueError(f"{m}: not a readable Parquet file ({_first_line(exc)})") from None
    missing = [col for col in ("objective", "seed", "step") if col not in df.columns]
    if missing:
        raise ValueError(f"{m}: missing column(s) {', '.join(missing)}; not a lab run table")
    if df.height == 0:
        raise ValueError(f"{m}: no rows")
    return df, cfg


def _print_summary(df: Any, cfg: dict[str, Any]) -> None:
    for part in lab_summary(df, cfg):
        wide_console.print(part)


@lab_app.command("show")
def show_cmd(directory: Path = typer.Argument(..., help="A directory written by 'passlens lab run'.")) -> None:
    """Print the final comparison table (mean ± sd across seeds) of a lab run.

    Example: passlens lab show runs/lab
    """
    import polars as pl

    df, cfg = _load(directory)
    try:
        _print_summary(df, cfg)
    except (pl.exceptions.PolarsError, TypeError, ValueError, ArithmeticError, LookupError) as exc:  # wrong column types…
        raise ValueError(f"{directory / 'metrics.parquet'}: cannot summarize ({_first_line(exc)})") from None
