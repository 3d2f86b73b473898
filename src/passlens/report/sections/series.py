"""Series: the headline diagnostics of every group in order (against the training step for a series).

One :class:`TrendRow` per group — pass@1, pass@k at the largest common budget and their gap,
polarization, the zero-signal group fraction, the pass@k learning signal and weight at the
signal budget, distinct correct answers and coverage — read from the curves, collapse and
answer sections. metrics.json ``trend`` holds it for every report; the page and the figure show
it for a series.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Any, Mapping

from .. import html as h
from .. import plots
from ..section import Context, ReportInfo, Section, value
from .answers import Answers
from .collapse import Collapse
from .curves import Curves

__all__ = ["Series", "TrendRow"]


@dataclass(frozen=True)
class TrendRow:
    """A group's headline numbers (None where undefined).

    Attributes:
      group: its label.
      pass1: mean p̂ (pass@1).
      pass_top: pass@k at the report's ``k_top``.
      gap_top: mean gap pass@k − pass@1 at ``k_top``.
      never_solved, always_solved: fractions of problems with c = 0 and c = n.
      zero_signal: expected fraction of zero-signal training groups at G.
      signal_per_problem: mean ŝ_k per problem at ``k_signal``.
      alpha_median: median α̂_k at ``k_signal``.
      distinct_correct_mean: distinct correct answers per problem (None without answers).
      coverage: mean coverage@k at ``k_signal`` (None without answers).
    """

    group: str
    pass1: float | None
    pass_top: float | None
    gap_top: float | None
    never_solved: float
    always_solved: float
    zero_signal: float | None
    signal_per_problem: float | None
    alpha_median: float | None
    distinct_correct_mean: float | None
    coverage: float | None


@dataclass(frozen=True, eq=False)
class Series(Section):
    """The :class:`TrendRow` of every group, in report order.

    Attributes:
      info: the report's :class:`~passlens.report.section.ReportInfo`.
      rows: one :class:`TrendRow` per group.
    """

    stage = "summary"
    figure_name = "series.png"
    figure_title = "Diagnostics against the group order (training step)"

    info: ReportInfo
    rows: tuple[TrendRow, ...]

    @classmethod
    def build(cls, ctx: Context) -> Series:
        info = ctx.info
        curves, collapse, answers = ctx.section(Curves), ctx.section(Collapse), ctx.section(Answers)
        kt, ks = info.k_top, info.k_signal
        rows = []
        for g in info.labels:
            th = collapse.theory[g]
            ans = answers.groups.get(g)
            rows.append(TrendRow(
                group=g,
                pass1=value(th.pass1_mean),
                pass_top=curves.pass_at(g, kt),
                gap_top=collapse.gap(g, kt),
                never_solved=th.frac_never_solved,
                always_solved=th.frac_always_solved,
                zero_signal=value(th.zero_signal_fraction),
                signal_per_problem=collapse.signal_per_problem(g, ks),
                alpha_median=collapse.alpha_median(g, ks),
                distinct_correct_mean=value(ans.distinct_correct_mean) if ans else None,
                coverage=ans.coverage_at(ks) if ans else None,
            ))
        return cls(info, tuple(rows))

    def columns(self) -> dict[str, list[Any]]:
        """metrics.json ``trend``: column name → one value per group (names carry the budgets)."""
        kt, ks = self.info.k_top, self.info.k_signal
        rows = self.rows
        return {
            "group": [r.group for r in rows],
            "pass1": [r.pass1 for r in rows],
            f"pass_at_{kt}": [r.pass_top for r in rows],
            f"gap_{kt}": [r.gap_top for r in rows],
            "never_solved": [r.never_solved for r in rows],
            "always_solved": [r.always_solved for r in rows],
            "zero_signal": [r.zero_signal for r in rows],
            f"signal_{ks}_per_problem": [r.signal_per_problem for r in rows],
            f"alpha_{ks}_median": [r.alpha_median for r in rows],
            "distinct_correct_mean": [r.distinct_correct_mean for r in rows],
            f"coverage_{ks}": [r.coverage for r in rows],
        }

    def to_dict(self) -> dict[str, Any]:
        return {"trend": self.columns()}

    def html(self, figures: Mapping[str, bytes]) -> str:
        info = self.info
        if info.kind != "series":
            return ""
        cols = self.columns()
        out = [f"<h2>Series: diagnostics against {escape(info.label_name or 'group')}</h2>"]
        fig = h.figure(self, figures)
        if fig:
            out.append(fig)
        keys = [k for k in cols if k != "group" and any(v is not None for v in cols[k])]  # no all-n/a columns
        rows = [[h.name(info, g)] + [h.num(cols[k][i], 4) for k in keys] for i, g in enumerate(cols["group"])]
        out.append(h.table([escape(info.label_name or "group")] + [escape(k) for k in keys], rows))
        return "\n".join(out)

    def figure(self) -> Any:
        info = self.info
        if info.kind != "series":
            return None
        rows = self.rows
        x, numeric = plots.numeric_labels(list(info.labels))
        has_answers = any(r.distinct_correct_mean is not None for r in rows)
        fig, axes = plots.new_figure(10.5, 7.0, ncols=2, nrows=2)
        kt, ks = info.k_top, info.k_signal

        def line(ax: Any, values: list[float | None], label: str) -> None:
            ax.plot(x, plots.finite(values), "o-", ms=3, label=label)

        ax = axes[0][0]
        line(ax, [r.pass1 for r in rows], "pass@1")
        line(ax, [r.pass_top for r in rows], f"pass@{kt}")
        line(ax, [r.gap_top for r in rows], f"gap pass@{kt} − pass@1")
        ax.set_ylabel("value")
        ax.set_title("pass@1, pass@k and their gap", fontsize=10)
        ax = axes[0][1]
        line(ax, [r.never_solved for r in rows], "never solved")
        line(ax, [r.always_solved for r in rows], "always solved")
        line(ax, [r.zero_signal for r in rows], f"zero-signal groups (G={info.settings.group_size})")
        ax.set_ylabel("fraction")
        ax.set_title("Polarization and zero-signal groups", fontsize=10)
        ax = axes[1][0]
        line(ax, [r.signal_per_problem for r in rows], f"mean ŝ_{ks}")
        line(ax, [r.alpha_median for r in rows], f"median α̂_{ks}")
        ax.set_yscale("symlog", linthresh=0.01)
        ax.set_ylim(bottom=0)
        ax.set_ylabel("value")
        ax.set_title(f"pass@{ks} learning signal and weight", fontsize=10)
        ax = axes[1][1]
        if has_answers:
            line(ax, [r.distinct_correct_mean for r in rows], "distinct correct answers / problem (observed)")
            line(ax, [r.coverage for r in rows], f"coverage@{ks} (expected distinct correct among {ks})")
            ax.set_ylabel("answers")
            ax.set_title("Distinct correct answers per problem", fontsize=10)
        else:
            ax.text(0.5, 0.5, "no answer column: distinct correct\nanswers not available", ha="center", va="center",
                    transform=ax.transAxes, fontsize=9)
            ax.set_title("Distinct correct answers per problem", fontsize=10)
        for row in axes:
            for a in row:
                a.set_xlabel(info.label_name or "group" if numeric else "group index")
                a.grid(alpha=0.3)
                if a.get_legend_handles_labels()[0]:
                    a.legend(fontsize=8)
        return fig


