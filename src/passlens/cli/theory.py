"""``passlens theory``: tables and plots of α_k, J_k, the gap and the signal over p.

A thin typer layer over :mod:`passlens.theory` (and, for ``theory variance``,
:mod:`passlens.lab.variance`); no math lives here. Every bad option ends
with one line on stderr and exit status 2, without a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, List, Optional, Sequence

import numpy as np
import typer

import passlens.theory as theory
from ..report.tables import estimator_variance_table, gap_peak_table, grid_table
from ._common import SEED_MAX, console, error_console, fail, parse_k_list

__all__ = ["theory_app"]

DEFAULT_K = "1,2,4,8,16,32"
DEFAULT_P = "0.001,0.01,0.05,0.1,0.2,0.3,0.5,0.7,0.9,0.99"
DEFAULT_VARIANCE_P = "0.05,0.1,0.2,0.3,0.5,0.7,0.9"

theory_app = typer.Typer(
    name="theory",
    help=(
        "The pass@k gradient laid bare: per problem ∇pass@k = α_k(p)·∇pass@1 with "
        "α_k(p) = k(1−p)^(k−1).\n\n"
        "Example: passlens theory --k 1,4,16 --p 0.01,0.1,0.5 --plot figs/"
    ),
    add_completion=False,
    pretty_exceptions_enable=False,
)

#: Largest group size of ``theory variance``.
N_MAX = 1_000_000
#: Most Monte Carlo samples (--draws × --n) of ``theory variance``: each costs ~60 bytes of
#: working memory (5·10⁷ ≈ 3 GB, about half a minute).
MC_SAMPLES_MAX = 50_000_000


def _parse_int(text: str, option: str, minimum: int, maximum: Optional[int] = None) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        fail(f"{option}: cannot parse {text!r} as an integer")
    if value < minimum:
        fail(f"{option}: must be ≥ {minimum}, got {value}")
    if maximum is not None and value > maximum:
        fail(f"{option}: must be ≤ {maximum:,}, got {value}")
    return value


def _parse_ps(text: str, option: str = "--p") -> list[float]:
    values: list[float] = []
    for part in text.split(","):
        part = part.strip()
        try:
            v = float(part)
        except ValueError:
            fail(f"{option}: cannot parse {part!r} in {text!r} (use e.g. 0.01,0.1,0.5)")
        if not (0.0 < v < 1.0):
            fail(f"{option}: probabilities must lie in (0, 1), got {part}")
        values.append(v)
    return values


def _require_matplotlib() -> Any:
    """Import matplotlib lazily; one-line error and exit 2 when it is missing."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        fail("--plot needs matplotlib, which is not installed (pip install 'passlens[plot]')")
    return Figure


def _plot_dir(path: Path) -> Path:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        fail(f"--plot: cannot create directory {str(path)!r}: {exc.strerror}")
    return path


def _save(fig: Any, path: Path) -> None:
    try:
        fig.savefig(path, dpi=120)
    except OSError as exc:
        fail(f"--plot: cannot write {str(path)!r}: {exc.strerror}")
    console.print(f"wrote {path}", markup=False, highlight=False)


_P_TICKS = (1e-4, 1e-3, 1e-2, 0.1, 0.5, 0.9, 0.99, 0.999)


def _plot_curves(figure_cls: Any, ks: Sequence[int], out_dir: Path) -> None:
    """α_k, gap and signal against p on a logit p axis, one line per k."""
    p = np.concatenate([np.logspace(-4, -1, 200), np.linspace(0.1, 0.9, 200)[1:-1], 1 - np.logspace(-1, -3, 150)])
    ks_arr = np.asarray(ks, dtype=np.int64)
    a = theory.alpha(p, ks_arr)  # (G, K)
    g = theory.gap(p, ks_arr)  # (G, K)
    s = theory.signal(p, ks_arr)  # (G, K)
    p_star, g_max = theory.gap_argmax(ks_arr)  # (K,), (K,)
    # (file, values, y label, y scale, y floor as a fraction of the max, title)
    specs = [
        ("alpha.png", a, "α_k(p) = k(1−p)^(k−1)", "log", 1e-6, "pass@k gradient weight on ∇pass@1 (Yu 2025)"),
        ("gap.png", g, "pass@k − pass@1 = (1−p) − (1−p)^k", "linear", None, "gap between pass@k and pass@1"),
        ("signal.png", s, "k² p (1−p)^(2k−1)", "log", 1e-8, "squared natural-gradient norm of ∇pass@k"),
    ]
    for name, values, ylabel, yscale, floor, title in specs:
        fig = figure_cls(figsize=(7.0, 4.6))
        ax = fig.add_subplot()
        for j, kk in enumerate(ks_arr.tolist()):
            y = values[:, j]
            if yscale == "log":
                y = np.where(y > 0, y, np.nan)  # log axis: leave out exact zeros
            (line,) = ax.plot(p, y, label=f"k={kk}")
            if name == "gap.png" and kk > 1:
                ax.plot([p_star[j]], [g_max[j]], "o", color=line.get_color(), ms=4)
        ax.set_xscale("logit")
        ax.set_xticks(_P_TICKS, [f"{t:g}" for t in _P_TICKS])
        ax.minorticks_off()
        ax.set_yscale(yscale)
        if floor is not None:
            top = float(np.nanmax(values))
            ax.set_ylim(top * floor, top * 2.0)
        ax.set_xlabel("p = pass@1 of the problem (logit scale)")
        ax.set_ylabel(ylabel)
        ax.set_title(title, fontsize=10)
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=8, ncol=2)
        fig.tight_layout()
        _save(fig, out_dir / name)


@theory_app.callback(invoke_without_command=True)
def theory_main(
    ctx: typer.Context,
    k: str = typer.Option(DEFAULT_K, "--k", help="Budgets, comma-separated integers ≥ 1."),
    p: str = typer.Option(DEFAULT_P, "--p", help="Success probabilities in (0, 1), comma-separated."),
    plot: Optional[Path] = typer.Option(None, "--plot", help="Write alpha.png, gap.png, signal.png to this directory."),
) -> None:
    """α_k, pass@k, the gap pass@k − pass@1 and the Fisher signal over a grid of p.

    Per problem with success probability p: J_k = 1 − (1−p)^k,
    ∇J_k = α_k(p)·∇J_1 with α_k = k(1−p)^(k−1) (Yu 2025, arXiv 2511.16231),
    and k²p(1−p)^(2k−1) is the squared natural-gradient norm of ∇J_k.

    Example: passlens theory --k 1,4,16 --p 0.01,0.1,0.5 --plot figs/
    """
    if ctx.invoked_subcommand is not None:
        return
    ks = parse_k_list(k, "--k", hint="use e.g. 1,2,4,8 or 1-16")
    ps = _parse_ps(p)
    figure_cls = _require_matplotlib() if plot is not None else None
    p_arr = np.asarray(ps)
    k_arr = np.asarray(ks, dtype=np.int64)
    for title, values in (
        ("α_k(p) = k(1−p)^(k−1): weight of ∇pass@1 in ∇pass@k", theory.alpha(p_arr, k_arr)),
        ("J_k(p) = 1 − (1−p)^k: pass@k", theory.pass_at_k_of_p(p_arr, k_arr)),
        ("J_k − J_1: gap pass@k − pass@1", theory.gap(p_arr, k_arr)),
        ("k²p(1−p)^(2k−1): squared Fisher norm of ∇pass@k", theory.signal(p_arr, k_arr)),
    ):
        console.print(f"[bold]{title}[/]")
        console.print(grid_table(ps, ks, values))
    p_star, g_max = theory.gap_argmax(k_arr)
    console.print("[bold]where the gap peaks: p* = 1 − k^(−1/(k−1))[/]")
    console.print(gap_peak_table(ks, p_star, g_max))
    if plot is not None:
        _plot_curves(figure_cls, ks, _plot_dir(plot))


@theory_app.command("variance")
def variance_cmd(
    k: str = typer.Option("4", "--k", metavar="INT", help="Budget k ≥ 1 of the pass@k objective."),
    n: str = typer.Option("16", "--n", metavar="INT", help="Group size n (samples per problem), 2 to 1,000,000."),
    p: str = typer.Option(DEFAULT_VARIANCE_P, "--p", help="Success probabilities in (0, 1), comma-separated."),
    estimators: Optional[List[str]] = typer.Option(
        None,
        "--estimator",
        help="An estimator spec, e.g. pkpo:variant=loo-1 or naive; repeat the option for several (default: all that apply).",
    ),
    draws: str = typer.Option("20000", "--draws", metavar="INT", help="Monte Carlo groups per p (≥ 2, draws × n ≤ 5·10⁷; shared by all estimators)."),
    seed: str = typer.Option("0", "--seed", metavar="INT", help="Random seed."),
    plot: Optional[Path] = typer.Option(None, "--plot", help="Write variance_k{K}_n{N}.png to this directory."),
) -> None:
    """Variance of pass@k gradient (advantage) estimators over a grid of p: Monte Carlo, closed form where known.

    Example: passlens theory variance --k 4 --n 16 --p 0.05,0.1,0.5 --estimator pkpo:variant=loo-1 --estimator naive
    """
    k_val = _parse_int(k, "--k", 1)
    n_val = _parse_int(n, "--n", 2, N_MAX)
    if k_val > n_val:
        fail(f"--k: must be ≤ --n = {n_val} (k samples out of a group of n), got {k_val}")
    ps = _parse_ps(p)
    draws_val = _parse_int(draws, "--draws", 2)
    if draws_val * n_val > MC_SAMPLES_MAX:
        fail(
            f"--draws × --n = {draws_val} × {n_val} Monte Carlo samples is more than {MC_SAMPLES_MAX:,};"
            " lower --draws or --n"
        )
    seed_val = _parse_int(seed, "--seed", 0, SEED_MAX)
    names: Optional[list[str]] = None
    if estimators:
        names = [s.strip() for s in estimators]
        if not all(names):
            fail("--estimator: empty estimator spec")
        from ..advantages import parse_spec
        from ..lab.variance import NAIVE as _NAIVE, NAIVE_BASELINE as _NAIVE_BASELINE, VALUE_ROW

        for name in names:  # name the option here: variance_table's errors do not know it
            if name not in (_NAIVE, _NAIVE_BASELINE, VALUE_ROW):
                try:
                    parse_spec(name)
                except ValueError as exc:
                    fail(f"--estimator {name!r}: {exc}")
    figure_cls = _require_matplotlib() if plot is not None else None
    try:
        from ..lab.variance import variance_table
    except ImportError as exc:
        error_console.print(f"passlens: error: theory variance needs passlens.lab.variance ({exc})", markup=False)
        raise typer.Exit(1) from None
    try:
        rows = variance_table(k_val, n_val, ps, estimators=names, draws=draws_val, seed=seed_val)
    except ValueError as exc:
        fail(" ".join(line.strip() for line in str(exc).splitlines() if line.strip()) or "invalid arguments")
    console.print(
        f"[bold]variance of pass@k gradient estimators, k={k_val}, n={n_val}[/] ({draws_val} draws, seed {seed_val})"
    )
    console.print(estimator_variance_table(rows))
    console.print("  —: no closed form for this estimator")
    if plot is not None:
        _plot_variance(figure_cls, rows, k_val, n_val, _plot_dir(plot))


def _plot_variance(figure_cls: Any, rows: Sequence[Any], k: int, n: int, out_dir: Path) -> None:
    """Variance against p per estimator (log y); closed forms dashed where given."""
    fig = figure_cls(figsize=(6.4, 4.4))
    ax = fig.add_subplot()
    order: list[str] = []
    for row in rows:
        if row.estimator not in order:
            order.append(row.estimator)
    for name in order:
        mine = sorted((r for r in rows if r.estimator == name), key=lambda r: r.p)
        x = np.array([r.p for r in mine])
        y = np.array([r.variance for r in mine], dtype=np.float64)
        y = np.where(y > 0, y, np.nan)  # log axis: leave out exact zeros
        (line,) = ax.plot(x, y, "o-", ms=3, label=str(name))
        closed = [(r.p, r.closed_form) for r in mine if r.closed_form is not None and r.closed_form > 0]
        if closed:
            cx, cy = zip(*closed)
            ax.plot(cx, cy, "--", color=line.get_color(), lw=1)
    ax.set_yscale("log")
    ax.set_xlabel("p = pass@1 of the problem")
    ax.set_ylabel("variance (markers: Monte Carlo, dashed: closed form)")
    ax.set_title(f"variance of pass@k gradient estimators, k={k}, n={n}", fontsize=10)
    ax.grid(True, alpha=0.3)
    if order:
        ax.legend(fontsize=8)
    fig.tight_layout()
    _save(fig, out_dir / f"variance_k{k}_n{n}.png")
