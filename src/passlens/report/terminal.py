"""Terminal summary of the exploration report (rich), read from the metrics dict."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

__all__ = ["print_summary"]


def _f(x: Any, digits: int = 4) -> str:
    return "n/a" if x is None else f"{x:.{digits}f}"


def _pct(x: Any) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def _ci(cur: dict[str, Any], i: int | None) -> str:
    if i is None:
        return "n/a"
    return f"{_f(cur['estimate'][i], 3)} [{_f(cur['lo'][i], 3)}, {_f(cur['hi'][i], 3)}]"


def _at(values: list[Any], ks: list[int], k: int) -> Any:
    return values[ks.index(k)] if k in ks else None


def print_summary(metrics: dict[str, Any], console: Console | None = None, out_dir: str | None = None) -> None:
    """Print the key numbers and the verdict.

    Args:
      metrics: ``Report.metrics`` of :func:`passlens.report.build.build_report`.
      console: where to print (default: a new stdout console). Pass one made with emoji=False:
        labels are escaped as markup, but emoji codes such as ":A:" would still be replaced.
      out_dir: where the files were written, if anywhere (printed last).
    """
    con = console or Console(emoji=False)  # emoji codes in labels (":A:") stay as written
    m = metrics
    kt, ks = m["k_top"], m["k_signal"]
    lev = int(round(100 * m["settings"]["ci"]))
    G = m["settings"]["group_size"]
    tab = Table(title=f"passlens report — {m['kind']}", title_justify="left")
    for col in ("group", "P", f"pass@1 [{lev}% CI]", f"pass@{kt} [{lev}% CI]", "never", "always",
                f"0-signal G={G}", f"Σŝ_{ks}"):
        tab.add_column(col, justify="right")
    for g in m["labels"]:
        grp = m["groups"][g]
        cur, th = grp["curves"]["pass"], grp["theory"]
        i1 = cur["k"].index(1) if 1 in cur["k"] else None
        it = cur["k"].index(kt) if kt in cur["k"] else None
        tab.add_row(
            escape(m["display_names"][g]),
            str(grp["problems"]),
            _ci(cur, i1),
            _ci(cur, it),
            _pct(th["frac_never_solved"]),
            _pct(th["frac_always_solved"]),
            _pct(th["zero_signal_fraction"]),
            _f(_at(th["signal_total"], th["ks"], ks), 1),
        )
    con.print(tab)
    for comp in m["comparisons"][-3:] if m["kind"] == "series" else m["comparisons"]:
        c = comp["comparison"]
        con.print(f"[bold]{escape(m['display_names'][comp['b']])} vs {escape(m['display_names'][comp['a']])}[/] "
                  f"({c['problems']} paired problems, {int(round(100 * (1 - c['alpha'])))}% simultaneous band):")
        for line in comp["describe"]:
            con.print(f"  {escape(line)}")
        if c["crossover"] is not None:
            con.print(f"  mean curves cross at k = {c['crossover']}")
        con.print(f"  problems lost: {comp['lost_count']}, gained: {comp['gained_count']}")
    if m["kind"] == "series" and len(m["comparisons"]) > 3:
        con.print(f"  ({len(m['comparisons']) - 3} earlier comparisons in the report)")
    verdict = "\n".join(f"• {escape(v['text'])}" for v in m["verdict"])
    con.print(Panel(verdict, title="Verdict", title_align="left", border_style="cyan"))
    for note in m["notes"]:
        con.print(f"  note: {escape(note)}", style="dim")
    if out_dir:
        con.print(f"report written to {escape(out_dir)} (report.html, metrics.json, curves.csv, figures)")
