"""``passlens compare``: paired pass@k comparison of model B against model A on the same problems."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .._validate import DENSE_GRID_MAX, log_grid
from ..report.tables import comparison_notes, comparison_table
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


def compare_cmd(
    a: Optional[Path] = typer.Argument(None, help="Model A (reference) counts or samples. Default: bundled DeepScaleR base."),
    b: Optional[Path] = typer.Argument(None, help="Model B counts or samples. Default: bundled DeepScaleR RL model."),
    k: Optional[str] = typer.Option(None, "--k", help="Budgets: 'all' (1..min n), 'pow2', '1,2,4' or '1-16'. Default: 'all' up to n = 4096, a log-spaced grid with the powers of two above."),
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
    if k is None and n_min > DENSE_GRID_MAX:  # 'all' would be n_min budgets: a K × K band does not fit
        ks = log_grid(n_min)
        con.print(f"  note: n = {n_min:,}: comparing {ks.size} log-spaced budgets with the powers of two "
                  "(give --k all or a list for others)", highlight=False)
    else:
        ks = parse_ks("all" if k is None else k, n_min, n_min)
    if int(ks[-1]) > n_min:
        fail(f"--k: k={int(ks[-1])} exceeds the smallest n={n_min}; no unbiased estimate exists for k > n")
    grid = set(ks.tolist())
    if show_list is not None:
        absent = [kk for kk in show_list if kk not in grid]
        if absent:
            fail(f"--show: k={describe_ks(absent)} not among the compared budgets (--k: {describe_ks(grid)})")
    res = compare(ta, tb, ks, alpha=alpha, n_boot=n_boot, seed=seed)
    con.print(comparison_table(res, show=show if show_list is None else show_list))
    for note in comparison_notes(res):
        con.print(note)
    if json_out:
        payload = res.to_dict() | {"files": {"a": str(a), "b": str(b)}}
        write_machine("--json", json_out, "json", [], payload)
