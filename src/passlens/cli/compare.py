"""``passlens compare``: paired pass@k comparison of model B against model A on the same problems."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

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
    parse_k_list,
    parse_ks,
    read,
    write_machine,
)

__all__ = ["compare_cmd"]


def _missing(x: Any) -> bool:
    return x is None or not np.isfinite(x)


def _fmt(x: Any) -> str:
    """A statistic with 4 decimals; 'n/a' where it is undefined (None or NaN, e.g. the SE of one problem)."""
    return "n/a" if _missing(x) else f"{x:.4f}"


def _fmt_signed(x: Any) -> str:
    return "n/a" if _missing(x) else f"{x:+.4f}"


def compare_cmd(
    a: Optional[Path] = typer.Argument(None, help="Model A (reference) counts or samples. Default: bundled DeepScaleR base."),
    b: Optional[Path] = typer.Argument(None, help="Model B counts or samples. Default: bundled DeepScaleR RL model."),
    k: Optional[str] = typer.Option("all", "--k", help="Budgets: 'all' (1..min n, default), 'pow2', '1,2,4' or '1-16'."),
    alpha: float = typer.Option(0.05, "--alpha", help="Family-wise error level of the simultaneous band."),
    n_boot: int = typer.Option(4000, "--n-boot", help=f"Multiplier-bootstrap draws (2 to {N_BOOT_MAX:,})."),
    seed: int = typer.Option(0, "--seed", help="Bootstrap seed."),
    threshold: Optional[float] = typer.Option(None, "--threshold", help="Count a continuous reward ≥ this as correct."),
    json_out: Optional[str] = typer.Option(None, "--json", help="Write the full result as JSON to this path ('-' for stdout; the table then goes to stderr)."),
    show: str = typer.Option("pow2", "--show", help="Rows of the table: 'pow2' (powers of 2, the first and last budget, and the budgets where the verdict changes), 'all' or a list of compared budgets."),
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
    from ..report.text import describe_comparison
    from ..uncertainty import compare

    if (a is None) != (b is None):
        fail("give two files (A and B), or none for the bundled DeepScaleR example")
    if not (0 < alpha < 1):
        fail(f"--alpha: must be in (0, 1), got {alpha}")
    check_shared_options(n_boot, seed, threshold, k)
    show = show.strip()
    show_list = None if show in ("all", "pow2") else parse_k_list(show, "--show")
    con = human_console([a, b], **{"--json": json_out})
    if a is None:
        from ..io import bundled_deepscaler

        base, rl = bundled_deepscaler()
        a, b = Path(base), Path(rl)
        con.print("[bold]DeepScaleR (bundled):[/] A = DeepSeek-R1-Distill-Qwen-1.5B, B = DeepScaleR-1.5B-Preview (RL)")
    assert b is not None
    cols = column_options(id_col, reward_col, c_col, n_col, None, None)
    tables = []
    from ..io import MixedGroupError  # (compare reads files anyway: polars is loaded either way)

    for f in (a, b):
        try:
            data = read([f], threshold=threshold, **cols)
        except MixedGroupError as exc:  # read()'s advice is --by, which compare does not take
            fail(f"{exc.located}; compare takes one group per file: give one file per {exc.column!r} value, "
                  f"or compare them with 'passlens report {f} --by {exc.column}'")
        if len(data.groups) != 1:
            fail(f"{f}: holds {len(data.groups)} groups ({', '.join(data.groups)}); compare takes one model per file")
        t = next(iter(data.groups.values()))
        if t.c is None:
            fail_not_binary(f"{f}: ", t, data.notes, "--threshold T to binarize")
        tables.append(t)
    ta, tb = tables
    n_min = int(min(ta.n.min(), tb.n.min()))
    ks = parse_ks(k, n_min, n_min)
    if int(ks[-1]) > n_min:
        fail(f"--k: k={int(ks[-1])} exceeds the smallest n={n_min}; no unbiased estimate exists for k > n")
    grid = set(ks.tolist())
    if show_list is not None:
        absent = [kk for kk in show_list if kk not in grid]
        if absent:
            fail(f"--show: k={describe_ks(absent)} not among the compared budgets (--k: {describe_ks(grid)})")
    res = compare(ta, tb, ks, alpha=alpha, n_boot=n_boot, seed=seed)
    if show == "all":
        shown = set(res.k.tolist())
    elif show == "pow2":  # powers of 2, both ends of the grid, and the budgets where the verdict changes
        shown = set(parse_ks("pow2", n_min, n_min).tolist()) | {int(res.k[0]), int(res.k[-1])}
        verdict = (res.lo > 0).astype(int) - (res.hi < 0).astype(int)
        change = np.flatnonzero(np.diff(verdict) != 0)
        shown |= set(res.k[change].tolist()) | set(res.k[change + 1].tolist())
    else:
        shown = set(show_list or [])
    band = f"{int(round((1 - alpha) * 100))}% simultaneous band"
    tab = Table(title=f"pass@k, B − A over {res.problems} paired problems", title_justify="left")
    for col in ("k", "A", "B", "B − A", band, "verdict"):
        tab.add_column(col, justify="right")
    for i, kk in enumerate(res.k.tolist()):
        if kk not in shown:
            continue
        verdict = "[green]B better[/]" if res.lo[i] > 0 else "[red]B worse[/]" if res.hi[i] < 0 else "inconclusive"
        band_cell = "n/a" if _missing(res.lo[i]) or _missing(res.hi[i]) else escape(
            f"[{_fmt_signed(res.lo[i])}, {_fmt_signed(res.hi[i])}]"
        )
        tab.add_row(str(kk), _fmt(res.a[i]), _fmt(res.b[i]), _fmt_signed(res.diff[i]), band_cell, verdict)
    con.print(tab)
    for line in describe_comparison(res):
        con.print(f"  {escape(line)}")
    if res.crossover is not None:
        con.print(f"  mean curves cross at k = {res.crossover} (point estimate)")
    con.print(
        f"  sup-t critical value {res.critical:.3f} ({res.n_boot} multiplier draws, seed {res.seed});"
        " inconclusive is not evidence of equality"
    )
    if json_out:
        payload = res.to_dict() | {"files": {"a": str(a), "b": str(b)}}
        write_machine("--json", json_out, "json", [], payload)
