"""Terminal tables: typed results in, rich renderables out (the commands print them; none builds one).

- :func:`curve_table` / :func:`curve_notes`: a :class:`~passlens.uncertainty.Curve` (``passlens eval``);
- :func:`comparison_table` / :func:`comparison_notes`: a :class:`~passlens.uncertainty.Comparison`
  (``passlens compare``);
- :func:`grid_table`, :func:`gap_peak_table`, :func:`estimator_variance_table`: values over a grid of p
  (``passlens theory``);
- :func:`held_out_table`: a trainer's held-out evaluation (``passlens train``);
- :func:`lab_summary`: the last step of a lab run, mean ± sd over seeds (``passlens lab``);
- :func:`claims_table`: measured claims (``passlens reproduce``).

User text (labels, ids, specs) is escaped as rich markup; notes are :class:`~rich.text.Text`, highlighted
as the console highlights a printed string where the command did so before.
"""

from __future__ import annotations

from typing import Any, Collection, Sequence

import numpy as np
from rich.console import RenderableType
from rich.highlighter import ReprHighlighter
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from ..metrics import METRICS
from ..uncertainty import Comparison, Curve
from .text import describe_comparison, describe_ks

__all__ = [
    "METRIC_LABELS",
    "curve_table",
    "curve_notes",
    "comparison_table",
    "comparison_notes",
    "grid_table",
    "gap_peak_table",
    "estimator_variance_table",
    "held_out_table",
    "lab_summary",
    "claims_table",
]

#: How each curve metric is written in a table title.
METRIC_LABELS = {m.name: m.label for m in METRICS.values()}

_highlight = ReprHighlighter()  # what Console.print does to a str (numbers, paths, brackets)


def _line(text: str, *, highlight: bool = True) -> Text:
    """A line of plain text as ``console.print(text)`` shows it (``highlight=False``: as printed without)."""
    return _highlight(text) if highlight else Text(text)


def _missing(x: Any) -> bool:
    return x is None or not np.isfinite(x)


def _fmt(x: Any) -> str:
    """A statistic with 4 decimals; 'n/a' where it is undefined (None or NaN, e.g. the SE of one problem)."""
    return "n/a" if _missing(x) else f"{x:.4f}"


def _fmt_signed(x: Any) -> str:
    return "n/a" if _missing(x) else f"{x:+.4f}"


def _g(x: float) -> str:
    return "nan" if not np.isfinite(x) else f"{x:.4g}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


# -- curves and comparisons ---------------------------------------------------------------------


def curve_table(cur: Curve, *, problems: int, group: str = "", label_name: str | None = None) -> Table:
    """One row per budget: estimate, interval at ``cur.ci``, SE and problems used ('n/a' where undefined).

    Args:
      cur: the curve.
      problems: problems in the group (the title's count; fewer may be used at a large k).
      group: the group's label ('' for a single group), shown as ' — label_name=group'.
      label_name: the grouping column (e.g. 'model'), or None to show the label alone.
    """
    where = "" if not group else f" — {label_name}={group}" if label_name else f" — {group}"
    title = f"{METRIC_LABELS.get(cur.metric, cur.metric)}{escape(where)}  ({_plural(problems, 'problem')})"
    tab = Table(title=title, title_justify="left")
    for col in ("k", "estimate", f"{int(cur.ci * 100)}% CI", "SE", "problems"):
        tab.add_column(col, justify="right")
    for row in cur.rows():
        missing = row["problems"] < 2 or _missing(row["lo"]) or _missing(row["hi"])
        ci_cell = "n/a" if missing else escape(f"[{_fmt(row['lo'])}, {_fmt(row['hi'])}]")
        se_cell = "n/a" if row["problems"] < 2 else _fmt(row["se"])
        tab.add_row(str(row["k"]), _fmt(row["estimate"]), ci_cell, se_cell, str(row["problems"]))
    return tab


def curve_notes(cur: Curve) -> list[Text]:
    """Why a budget has no interval (fewer than 2 problems, or no spread and no known range), and the
    problems left out at the largest budget (``k_exceeds_n="drop"``)."""
    no_interval = [(row["k"], row["problems"]) for row in cur.rows()
                   if row["problems"] < 2 or _missing(row["lo"]) or _missing(row["hi"])]
    notes = []
    few = [k for k, p in no_interval if p < 2]
    if few:
        who = "one problem" if all(p == 1 for _, p in no_interval if p < 2) else "fewer than 2 problems"
        notes.append(_line(f"  note: k={describe_ks(few)}: {who}, no interval", highlight=False))
    flat = [k for k, p in no_interval if p >= 2]
    if flat:  # see curve_from_rows: no spread, and max@k has no known range to bound the mean
        notes.append(_line(f"  note: k={describe_ks(flat)}: no spread over problems, unknown reward range: no interval",
                           highlight=False))
    if cur.dropped:
        k_max = int(cur.k.max())
        notes.append(_line(f"  {cur.dropped} problem(s) with n < {k_max} left out at k={k_max} (--drop-small-n)"))
    return notes


def _shown(cmp: Comparison, show: str | Collection[int]) -> set[int]:
    ks = [int(k) for k in cmp.k.tolist()]
    if show == "all":
        return set(ks)
    if show == "pow2":  # powers of 2, both ends of the grid, and the budgets where the verdict changes
        shown = {k for k in ks if k & (k - 1) == 0} | {ks[0], ks[-1]}
        verdict = (cmp.lo > 0).astype(int) - (cmp.hi < 0).astype(int)
        change = np.flatnonzero(np.diff(verdict) != 0)
        return shown | set(cmp.k[change].tolist()) | set(cmp.k[change + 1].tolist())
    return {int(k) for k in show}


def comparison_table(cmp: Comparison, *, show: str | Collection[int] = "pow2") -> Table:
    """A, B, B − A, the simultaneous band and the verdict per budget.

    Args:
      cmp: the comparison (B against A).
      show: the rows: 'pow2' (powers of 2, the first and last budget and the budgets where the verdict
        changes), 'all', or the budgets to show.
    """
    shown = _shown(cmp, show)
    band = f"{int(round((1 - cmp.alpha) * 100))}% simultaneous band"
    tab = Table(title=f"pass@k, B − A over {cmp.problems} paired problems", title_justify="left")
    for col in ("k", "A", "B", "B − A", band, "verdict"):
        tab.add_column(col, justify="right")
    for i, k in enumerate(cmp.k.tolist()):
        if k not in shown:
            continue
        verdict = "[green]B better[/]" if cmp.lo[i] > 0 else "[red]B worse[/]" if cmp.hi[i] < 0 else "inconclusive"
        band_cell = "n/a" if _missing(cmp.lo[i]) or _missing(cmp.hi[i]) else escape(
            f"[{_fmt_signed(cmp.lo[i])}, {_fmt_signed(cmp.hi[i])}]"
        )
        tab.add_row(str(k), _fmt(cmp.a[i]), _fmt(cmp.b[i]), _fmt_signed(cmp.diff[i]), band_cell, verdict)
    return tab


def comparison_notes(cmp: Comparison) -> list[Text]:
    """The verdict in words (:func:`~passlens.report.text.describe_comparison`), where the mean curves
    cross, and the critical value behind the band."""
    notes = [_line(f"  {line}") for line in describe_comparison(cmp)]
    if cmp.crossover is not None:
        notes.append(_line(f"  mean curves cross at k = {cmp.crossover} (point estimate)"))
    notes.append(_line(
        f"  sup-t critical value {cmp.critical:.3f} ({cmp.n_boot} multiplier draws, seed {cmp.seed});"
        " inconclusive is not evidence of equality"
    ))
    return notes


# -- theory: values over a grid of p ------------------------------------------------------------


def grid_table(ps: Sequence[float], ks: Sequence[int], values: np.ndarray) -> Table:
    """Rows p, columns k; values float (P, K)."""
    tab = Table()
    tab.add_column("p", justify="right")
    for k in ks:
        tab.add_column(f"k={k}", justify="right")
    for i, p in enumerate(ps):
        tab.add_row(f"{p:g}", *(_g(v) for v in values[i]))
    return tab


def gap_peak_table(ks: Sequence[int], p_star: np.ndarray, g_max: np.ndarray) -> Table:
    """Per budget the p where pass@k − pass@1 peaks and the peak; p_star, g_max float (K,)."""
    tab = Table()
    for col in ("k", "p*", "max gap"):
        tab.add_column(col, justify="right")
    for j, k in enumerate(ks):
        tab.add_row(str(k), "—" if k == 1 else _g(float(p_star[j])), _g(float(g_max[j])))
    return tab


def estimator_variance_table(rows: Sequence[Any]) -> Table:
    """Monte Carlo variance, closed form and their ratio per (estimator, p); ``rows`` have
    ``estimator``, ``p``, ``variance`` and ``closed_form`` (None where unknown: '—')."""
    tab = Table()
    tab.add_column("estimator", justify="left")
    for col in ("p", "variance (MC)", "closed form", "MC / closed"):
        tab.add_column(col, justify="right")
    for row in rows:
        closed = row.closed_form
        ratio = _g(row.variance / closed) if closed not in (None, 0) else "—"
        tab.add_row(
            escape(str(row.estimator)), f"{row.p:g}", _g(row.variance), "—" if closed is None else _g(closed), ratio
        )
    return tab


# -- training, lab, claims ----------------------------------------------------------------------


def _f4(x: float | None) -> str:
    """A metric read back from JSON (None where it was NaN)."""
    return "n/a" if x is None else f"{x:.4f}"


def held_out_table(evaluation: dict[str, Any]) -> Table:
    """pass@k with its interval from a trainer's ``evals/step_*.json`` (keys step, problems, n, pass_at_k)."""
    s = evaluation
    cur = s["pass_at_k"]
    tab = Table(title=f"held-out pass@k at step {s['step']} ({s['problems']} problems × {s['n']} samples)", title_justify="left")
    for col in ("k", "estimate", "95% CI"):
        tab.add_column(col, justify="right")
    for k, e, lo, hi in zip(cur["k"], cur["estimate"], cur["lo"], cur["hi"]):
        tab.add_row(str(k), _f4(e), f"[{_f4(lo)}, {_f4(hi)}]")
    return tab


def _seed_table(last: Any, cols: list[str], title: str, strip: str = "") -> Table:
    """Mean ± sd over seeds of each column (those present) per objective."""
    import polars as pl

    cols = [c for c in cols if c in last.columns]
    tab = Table(title=title, title_justify="left")
    tab.add_column("objective")
    for c in cols:
        tab.add_column(escape(c.removeprefix(strip)), justify="right")
    for obj in last["objective"].unique(maintain_order=True).to_list():
        g = last.filter(pl.col("objective") == obj)
        cells = []
        for c in cols:
            x = g[c].drop_nans().drop_nulls()
            if x.len() == 0:
                cells.append("–")
            else:
                sd = float(x.std()) if x.len() > 1 else 0.0
                cells.append(f"{float(x.mean()):.3f}±{sd:.3f}")
        tab.add_row(escape(str(obj)), *cells)
    return tab


def lab_summary(df: Any, cfg: dict[str, Any]) -> list[RenderableType]:
    """The last tracked step of every (objective, seed) of a lab run, mean ± sd over seeds, and the
    held-out problems' table when the run kept some out.

    Args:
      df: the run's ``metrics.parquet`` (polars DataFrame with objective, seed, step and metric columns).
      cfg: its ``config`` (k_ref, mode, policy, answers; problems, eps, heldout when present).
    """
    import polars as pl

    k = int(cfg["k_ref"])
    cols = ["pass@1", f"pass@{k}", f"gap@{k}", f"coverage@{k}", "distinct_correct", "entropy_correct", "entropy", "polarized", "cos_k_1"]
    if cfg["mode"] == "sampled":
        cols.append("zero_adv_frac")
    last = df.filter(pl.col("step") == pl.col("step").max().over("objective", "seed"))
    seeds = last["seed"].n_unique()
    title = escape(f"final step {int(last['step'].max())}: mean ± sd over {seeds} seed(s)  [{cfg['mode']}, {cfg['policy']}, "
                   f"P={cfg.get('problems')}, M={cfg['answers']}]")
    out: list[RenderableType] = [
        _seed_table(last, cols, title),
        _line(f"  distinct_correct: correct answers with π > {cfg.get('eps', 0.05)}; cos_k_1 = dataset cos(∇pass@{k}, ∇pass@1)"),
    ]
    if cfg.get("heldout"):
        held = [f"heldout_{c}" for c in ("pass@1", f"pass@{k}", f"gap@{k}", f"coverage@{k}", "distinct_correct", "entropy_correct")]
        out.append(_seed_table(last, held, escape(f"held out: the {cfg['heldout']} problems per population never trained on"),
                               strip="heldout_"))
    return out


def claims_table(results: Sequence[Any], title: str) -> Table:
    """One row per claim: id, claim, what was measured, value, criterion and holds / FAILS; ``results``
    have ``id``, ``claim``, ``measured``, ``value``, ``criterion`` and ``holds``."""
    tab = Table(title=escape(title), title_justify="left", show_lines=True)
    for c in ("id", "claim", "measured", "value", "criterion", "result"):
        tab.add_column(c, overflow="fold")
    for r in results:
        tab.add_row(*(escape(str(x)) for x in (r.id, r.claim, r.measured, r.value, r.criterion)),
                    "[green]holds[/]" if r.holds else "[red]FAILS[/]")
    return tab
