"""The terminal's first table: one row per group — size, pass@1 and pass@k with intervals, polarization,
zero-signal groups and the pass@k signal (read from the curves and collapse sections; the page has the
detailed tables instead)."""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import RenderableType
from rich.markup import escape
from rich.table import Table

from ...uncertainty import Curve
from ..section import Context, ReportInfo, Section, value, value_at
from .collapse import Collapse
from .curves import Curves

__all__ = ["Overview"]


def _num(x: float | None, digits: int) -> str:
    return "n/a" if x is None else f"{x:.{digits}f}"


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def _ci(cur: Curve, k: int) -> str:
    """'estimate [lo, hi]' at budget k, or 'n/a' when k is not on the curve's grid."""
    ks = cur.k.tolist()
    if k not in ks:
        return "n/a"
    i = ks.index(k)
    return f"{_num(value(cur.estimate[i]), 3)} [{_num(value(cur.lo[i]), 3)}, {_num(value(cur.hi[i]), 3)}]"


@dataclass(frozen=True, eq=False)
class Overview(Section):
    """The headline row of every group.

    Attributes:
      info: the report's :class:`~passlens.report.section.ReportInfo`.
      curves: the :class:`~passlens.report.sections.curves.Curves` section (pass@k of each group).
      collapse: the :class:`~passlens.report.sections.collapse.Collapse` section (theory of each group).
    """

    stage = "summary"

    info: ReportInfo
    curves: Curves
    collapse: Collapse

    @classmethod
    def build(cls, ctx: Context) -> Overview:
        return cls(ctx.info, ctx.section(Curves), ctx.section(Collapse))

    def terminal(self) -> list[RenderableType]:
        info = self.info
        kt, ks = info.k_top, info.k_signal
        lev = int(round(100 * info.settings.ci))
        tab = Table(title=f"passlens report — {info.kind}", title_justify="left")
        for col in ("group", "P", f"pass@1 [{lev}% CI]", f"pass@{kt} [{lev}% CI]", "never", "always",
                    f"0-signal G={info.settings.group_size}", f"Σŝ_{ks}"):
            tab.add_column(col, justify="right")
        for g in info.labels:
            cur, th = self.curves.curves[g]["pass"], self.collapse.theory[g]
            tab.add_row(
                escape(info.display_names[g]),
                str(info.groups[g].problems),
                _ci(cur, 1),
                _ci(cur, kt),
                _pct(th.frac_never_solved),
                _pct(th.frac_always_solved),
                _pct(value(th.zero_signal_fraction)),
                _num(value_at(th.ks, th.signal_total, ks), 1),
            )
        return [tab]
