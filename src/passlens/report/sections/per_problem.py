"""Section 4: the per-problem view of the last comparison — p̂ in B against p̂ in A, problems lost and gained.

Its numbers are those of the comparison (:class:`~passlens.report.sections.comparison.Pair`,
in metrics.json ``comparisons``); this section adds the per-problem p̂ of both groups for the
scatter.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Any, Mapping

import numpy as np

from .. import html as h
from .. import plots
from ..section import Context, ReportInfo, Section
from .comparison import Comparisons, Pair

__all__ = ["PerProblem"]


@dataclass(frozen=True, eq=False)
class PerProblem(Section):
    """The last paired comparison, problem by problem.

    Attributes:
      info: the report's :class:`~passlens.report.section.ReportInfo`.
      pair: the :class:`~passlens.report.sections.comparison.Pair` shown.
      p_a, p_b: float (P,), p̂ = c/n in A and in B, both in A's problem order.
    """

    stage = "summary"
    figure_name = "per_problem.png"
    figure_title = "Per-problem p̂ before vs after"

    info: ReportInfo
    pair: Pair
    p_a: np.ndarray
    p_b: np.ndarray

    @classmethod
    def build(cls, ctx: Context) -> PerProblem | None:
        pairs = ctx.section(Comparisons).pairs
        if not pairs:
            return None
        pair = pairs[-1]
        ta, tb = ctx.tables[pair.a], ctx.tables[pair.b]
        pa, pb = ta.c / ta.n, tb.c / tb.n
        order = {v: i for i, v in enumerate(tb.ids.tolist())}
        perm = np.array([order[v] for v in ta.ids.tolist()], dtype=np.int64)
        return cls(ctx.info, pair, pa, pb[perm])

    def html(self, figures: Mapping[str, bytes]) -> str:
        info, pair = self.info, self.pair
        a, b = h.name(info, pair.a), h.name(info, pair.b)
        out = [f"<h2>4. Per-problem view: {b} vs {a}</h2>"]
        fig = h.figure(self, figures)
        if fig:
            out.append(fig)
        out.append(f"<p>Lost (solved at least once in {a}, never in {b}): "
                   f"<b>{pair.lost_count}</b> problems; gained: <b>{pair.gained_count}</b>. "
                   f"Mean |Δp̂| = {pair.mean_abs_phat_change:.4f}.</p>")
        for items, total, title in ((pair.lost_shown, pair.lost_count, "lost"),
                                    (pair.gained_shown, pair.gained_count, "gained")):
            if not items:
                continue
            rows = [[escape(r.id), f"{r.c_a}/{r.n_a}", f"{r.c_b}/{r.n_b}"] for r in items]
            more = f" (first {len(items)} of {total}; all in metrics.json)" if total > len(items) else ""
            out.append(f"<details{' open' if title == 'lost' else ''}><summary>Problems {title}{more}</summary>"
                       + h.table(["problem", f"c/n in {a}", f"c/n in {b}"], rows)
                       + "</details>")
        return "\n".join(out)

    def figure(self) -> Any:
        info = self.info
        a, b = self.pair.a, self.pair.b
        x, y = self.p_a, self.p_b
        lost = (x > 0) & (y == 0)
        gained = (x == 0) & (y > 0)
        rest = ~(lost | gained)
        rng = np.random.default_rng(0)
        jit = 0.006  # visual jitter only, so stacked points at 0 and 1 stay visible
        fig, axes = plots.new_figure(5.6, 5.2)
        ax = axes[0][0]
        if x.size > 20000:
            ax.hexbin(x[rest], y[rest], gridsize=50, bins="log", cmap="Greys", mincnt=1)
        else:
            ax.scatter(x[rest] + rng.normal(0, jit, rest.sum()), y[rest] + rng.normal(0, jit, rest.sum()),
                       s=6, alpha=0.35, color="tab:blue", label="other problems", lw=0)
        ax.scatter(x[lost], y[lost] + rng.normal(0, jit, lost.sum()), s=14, color="tab:red",
                   label=f"lost ({lost.sum()})")
        ax.scatter(x[gained] + rng.normal(0, jit, gained.sum()), y[gained], s=14, color="tab:green",
                   label=f"gained ({gained.sum()})")
        ax.plot([0, 1], [0, 1], color="black", lw=0.8)
        ax.set_xlabel(f"p̂ in {plots.short_name(info, a)}")
        ax.set_ylabel(f"p̂ in {plots.short_name(info, b)}")
        title = f"Per-problem success rate: {plots.short_name(info, b)} vs {plots.short_name(info, a)}"
        ax.set_title(title if len(title) <= 64 else "Per-problem success rate", fontsize=10)  # the axes name both
        ax.set_xlim(-0.03, 1.03)
        ax.set_ylim(-0.03, 1.03)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
        return fig
