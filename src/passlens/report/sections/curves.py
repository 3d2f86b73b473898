"""Section 1: pass@k-family curves with confidence intervals, per metric and group.

pass@k always; pass^k on request (``ReportSettings.passhat``); max@k where continuous rewards
are present; maj@k and coverage@k where answers are — each a :class:`~passlens.uncertainty.Curve`
of :func:`passlens.curve` on the group's own budget grid and interval method
(:class:`~passlens.report.section.GroupInfo`).
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Any, Mapping

from ...metrics import METRICS
from ...uncertainty import Curve, curve
from .. import html as h
from .. import plots
from ..section import Context, ReportInfo, Section, value, value_at

__all__ = ["Curves"]


@dataclass(frozen=True, eq=False)
class Curves(Section):
    """Curves per group and metric.

    Attributes:
      info: the report's :class:`~passlens.report.section.ReportInfo`.
      curves: label → metric name (a :data:`~passlens.metrics.METRICS` key) → :class:`~passlens.uncertainty.Curve`,
        in report and registry order.
    """

    stage = "groups"
    figure_name = "curves.png"
    figure_title = "pass@k-family curves with confidence bands (log k axis)"

    info: ReportInfo
    curves: Mapping[str, Mapping[str, Curve]]

    @classmethod
    def build(cls, ctx: Context) -> Curves:
        s = ctx.info.settings
        out: dict[str, dict[str, Curve]] = {}
        for label, table in ctx.tables.items():
            plan = ctx.info.groups[label]
            common: dict[str, Any] = dict(ci=s.ci, method=plan.method, n_boot=s.n_boot, seed=s.seed, ids=table.ids)
            cur = {"pass": curve(table.n, table.c, plan.ks, metric="pass", **common)}
            if s.passhat:
                cur["passhat"] = curve(table.n, table.c, plan.ks, metric="passhat", **common)
            if table.rewards is not None:
                cur["max"] = curve(rewards=table.rewards, k=plan.ks, metric="max", **common)
            if table.votes is not None and table.vote_correct is not None:
                for name in ("maj", "coverage"):
                    cur[name] = curve(votes=table.votes, correct=table.vote_correct, k=plan.ks, metric=name, **common)
            out[label] = cur
        return cls(ctx.info, out)

    def pass_at(self, label: str, k: int) -> float | None:
        """The group's pass@k estimate, or None where k is not on its grid."""
        cur = self.curves[label]["pass"]
        return value_at(cur.k, cur.estimate, k)

    def to_dict(self) -> dict[str, Any]:
        return {"groups": {label: {"curves": {met: cur.to_dict() for met, cur in by_metric.items()}}
                           for label, by_metric in self.curves.items()}}

    def html(self, figures: Mapping[str, bytes]) -> str:
        info = self.info
        out = ["<h2>1. pass@k curves</h2>"]
        fig = h.figure(self, figures)
        if fig:
            out.append(fig)
        lev = int(round(100 * info.settings.ci))
        for met in METRICS.values():
            groups = [g for g in info.labels if met.name in self.curves[g]]
            if not groups:
                continue
            curves = {g: self.curves[g][met.name] for g in groups}
            ks = sorted({k for cur in curves.values() for k in cur.k.tolist()})
            show = h.pow2_rows(ks)

            def cell(g: str, k: int) -> str:
                cur = curves[g]
                grid = cur.k.tolist()
                if k not in grid:
                    return ""
                i = grid.index(k)
                return (f"{h.num(value(cur.estimate[i]))} <span class='muted'>[{h.num(value(cur.lo[i]))}, "
                        f"{h.num(value(cur.hi[i]))}]</span>")

            methods = sorted({cur.method for cur in curves.values()})
            plan = info.groups
            size = {g: f"{plan[g].problems} problems, n = {plan[g].n_min}"
                    + ("" if plan[g].n_min == plan[g].n_max else f"–{plan[g].n_max}") for g in groups}
            if len(set(size.values())) == 1:  # one line, not one clause per group (a series has dozens)
                sizes = next(iter(size.values())) + (" in every group" if len(groups) > 1 else "")
            else:
                sizes = "; ".join(f"{h.name(info, g)}: {size[g]}" for g in groups)
            out.append(f"<h3>{met.label} <span class='muted'>(estimate [{lev}% {escape('/'.join(methods))} interval]; "
                       f"{sizes})</span></h3>")
            if len(groups) > len(show):  # many groups (a training series): one row per group, budgets across
                rows = [[h.name(info, g)] + [cell(g, k) for k in show] for g in groups]
                out.append(h.table([h.name_head(info)] + [f"k={k}" for k in show], rows))
            else:
                rows = [[str(k)] + [cell(g, k) for g in groups] for k in show]
                out.append(h.table(["k"] + [h.name(info, g) for g in groups], rows))
        out.append("<p class='muted'>Rows at powers of two and the largest k; every k is in curves.csv and "
                   "metrics.json.</p>")
        return "\n".join(out)

    def figure(self) -> Any:
        info = self.info
        labels = list(info.labels)
        metrics = [m for m in METRICS.values() if any(m.name in self.curves[g] for g in labels)]
        ncols = min(2, len(metrics))
        nrows = (len(metrics) + 1) // 2
        fig, axes = plots.new_figure(7.5 if ncols == 1 else 10.5, 3.8 * nrows, ncols=ncols, nrows=nrows,
                                     hspace=0.35 if nrows > 1 else 0.45)
        cols = plots.colors(len(labels))
        flat = [ax for row in axes for ax in row]
        for ax in flat[len(metrics):]:
            ax.set_visible(False)
        for ax, met in zip(flat, metrics):
            for col, g in zip(cols, labels):
                cur = self.curves[g].get(met.name)
                if cur is None:
                    continue
                k = cur.k.astype(float)
                ax.plot(k, plots.finite(cur.estimate), color=col, lw=1.8, label=plots.short_name(info, g))
                ax.fill_between(k, plots.finite(cur.lo), plots.finite(cur.hi), color=col,
                                alpha=0.22 if len(labels) <= plots.MAX_LEGEND else 0.05, lw=0)
            ax.set_xscale("log", base=2)
            ax.set_xlabel("k (samples per problem)")
            ax.set_ylabel(met.label)
            ax.set_title(f"{met.label} ({int(round(100 * info.settings.ci))}% CI bands)", fontsize=10)
            ax.grid(alpha=0.3)
            plots.name_groups(fig, ax, info, labels)
        return fig
