"""Section 2: paired comparison — B against A on the same problems, with the problems lost and gained.

A pair (two groups) is B against A; a series (three or more, e.g. training steps) compares
**every group against the first** (what training changed relative to its start). Each is a
:class:`~passlens.uncertainty.Comparison` of :func:`passlens.compare` (differences B − A with a
simultaneous band over the k grid) and the problems lost (solved at least once by A, never by B)
and gained. Groups whose problem sets differ are not compared (a note says so).
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Any, Mapping

import numpy as np
from rich.console import RenderableType
from rich.markup import escape as markup

from ..._pairing import PairingError, align_by_id
from ..._validate import pow2_grid
from ...uncertainty import SMALL_P, Comparison, compare
from .. import html as h
from .. import plots
from ..section import Context, ReportInfo, Section, value
from ..text import describe_comparison, format_k_ranges

__all__ = ["Comparisons", "Pair", "ProblemChange"]

#: Multiplier-bootstrap normal draws allowed per comparison in the large-input plan (n_boot · P).
_LARGE_DRAWS = 100_000_000


@dataclass(frozen=True)
class ProblemChange:
    """A problem's counts in A and in B (a lost or gained problem)."""

    id: str
    c_a: int
    n_a: int
    c_b: int
    n_b: int

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "c_a": self.c_a, "n_a": self.n_a, "c_b": self.c_b, "n_b": self.n_b}


@dataclass(frozen=True, eq=False)
class Pair:
    """One paired comparison, B (label ``b``) against A (label ``a``).

    Attributes:
      a, b: group labels.
      large: over the large-input threshold (powers-of-two grid, fewer draws).
      comparison: the :class:`~passlens.uncertainty.Comparison`.
      lost_ids, gained_ids: ids of every problem lost (c_A > 0, c_B = 0) and gained (c_A = 0, c_B > 0), in A's order.
      lost_shown, gained_shown: at most ``max_listed`` of them for the page, easiest first (highest p̂ where solved).
      mean_abs_phat_change: mean over problems of |p̂_B − p̂_A|.
    """

    a: str
    b: str
    large: bool
    comparison: Comparison
    lost_ids: tuple[str, ...]
    gained_ids: tuple[str, ...]
    lost_shown: tuple[ProblemChange, ...]
    gained_shown: tuple[ProblemChange, ...]
    mean_abs_phat_change: float

    @property
    def lost_count(self) -> int:
        return len(self.lost_ids)

    @property
    def gained_count(self) -> int:
        return len(self.gained_ids)

    @classmethod
    def build(cls, ctx: Context, la: str, lb: str) -> Pair | None:
        """B = group ``lb`` against A = group ``la``; None (and a note) when their problems differ."""
        settings = ctx.info.settings
        ta, tb = ctx.tables[la], ctx.tables[lb]
        try:
            perm = align_by_id(ta.ids, tb.ids)
        except PairingError as e:
            ctx.note(
                f"{lb} vs {la}: not compared — {len(e.only_a)} problems only in {la or 'A'}, "
                f"{len(e.only_b)} only in {lb or 'B'}; a paired comparison needs the same problems"
            )
            return None
        n_min = int(min(ta.n.min(), tb.n.min()))
        P = int(ta.n.size)
        large = P * n_min > ctx.large_cells
        n_boot = settings.n_boot
        if settings.ks is not None or settings.grid == "pow2":
            ks = settings.budgets(n_min, large)
        elif large:
            ks = pow2_grid(n_min)
            n_boot = int(max(200, min(n_boot, _LARGE_DRAWS // max(P, 1))))
        else:
            ks = np.arange(1, n_min + 1, dtype=np.int64)
        cmp = compare(ta, tb, ks, alpha=settings.alpha, n_boot=n_boot, seed=settings.seed)
        # per-problem view, aligned by id (tables are sorted by id, but align explicitly)
        ca, na = ta.c, ta.n
        cb, nb = tb.c[perm], tb.n[perm]
        lost = (ca > 0) & (cb == 0)
        gained = (ca == 0) & (cb > 0)
        ids = ta.ids

        def shown(rows: np.ndarray) -> tuple[ProblemChange, ...]:
            return tuple(ProblemChange(str(ids[i]), int(ca[i]), int(na[i]), int(cb[i]), int(nb[i]))
                         for i in rows[:settings.max_listed])

        return cls(
            a=la,
            b=lb,
            large=large,
            comparison=cmp,
            lost_ids=tuple(str(v) for v in ids[lost].tolist()),
            gained_ids=tuple(str(v) for v in ids[gained].tolist()),
            lost_shown=shown(np.flatnonzero(lost)[np.argsort(-(ca[lost] / na[lost]), kind="stable")]),
            gained_shown=shown(np.flatnonzero(gained)[np.argsort(-(cb[gained] / nb[gained]), kind="stable")]),
            mean_abs_phat_change=float(np.mean(np.abs(cb / nb - ca / na))),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": self.a,
            "b": self.b,
            "large_input": self.large,
            "comparison": self.comparison.to_dict(),
            "describe": describe_comparison(self.comparison),
            "lost_count": self.lost_count,
            "gained_count": self.gained_count,
            "lost_ids": list(self.lost_ids),
            "gained_ids": list(self.gained_ids),
            "lost_shown": [r.to_dict() for r in self.lost_shown],
            "gained_shown": [r.to_dict() for r in self.gained_shown],
            "mean_abs_phat_change": self.mean_abs_phat_change,
        }


@dataclass(frozen=True, eq=False)
class Comparisons(Section):
    """The paired comparisons of the report: none (single), B vs A (pair), each group vs the first (series).

    Attributes:
      info: the report's :class:`~passlens.report.section.ReportInfo`.
      pairs: the :class:`Pair` of each comparable group against the first, in report order.
    """

    stage = "pairs"
    figure_name = "comparison.png"
    figure_title = "Paired difference B − A with its simultaneous band"

    info: ReportInfo
    pairs: tuple[Pair, ...]

    @classmethod
    def build(cls, ctx: Context) -> Comparisons:
        labels = ctx.info.labels
        pairs: list[Pair] = []
        if ctx.info.kind in ("pair", "series"):
            for lab in labels[1:]:
                pair = Pair.build(ctx, labels[0], lab)
                if pair is not None:
                    pairs.append(pair)
        return cls(ctx.info, tuple(pairs))

    def last_pair(self) -> Pair | None:
        """The comparison of the last group against the first, or None when they were not compared."""
        labels = self.info.labels
        return self.pairs[-1] if self.pairs and self.pairs[-1].b == labels[-1] else None

    def to_dict(self) -> dict[str, Any]:
        return {"comparisons": [p.to_dict() for p in self.pairs]}

    def html(self, figures: Mapping[str, bytes]) -> str:
        if not self.pairs:
            return ""
        info = self.info
        scheme = "each group against the first" if info.kind == "series" else "B (second) against A (first)"
        out = [f"<h2>2. Paired comparison</h2><p class='sub'>Differences B − A, {escape(scheme)}, "
               "on the same problems, with a simultaneous band over the whole k grid (sup-t multiplier bootstrap over "
               "problems). Inconclusive is not evidence of equality.</p>"]
        fig = h.figure(self, figures)
        if fig:
            out.append(fig)
        for idx, pair in enumerate(self.pairs):
            c = pair.comparison
            last = idx == len(self.pairs) - 1
            band = f"{int(round(100 * (1 - c.alpha)))}% band"
            ks = c.k.tolist()
            show = set(h.pow2_rows(ks))
            lo, hi = [value(v) for v in c.lo], [value(v) for v in c.hi]
            verdict = [1 if (l_ is not None and l_ > 0) else -1 if (h_ is not None and h_ < 0) else 0
                       for l_, h_ in zip(lo, hi)]
            for i in range(1, len(ks)):
                if verdict[i] != verdict[i - 1]:
                    show |= {ks[i - 1], ks[i]}
            rows = []
            for i, k in enumerate(ks):
                if k not in show:
                    continue
                v = ("<span class='better'>B better</span>" if verdict[i] > 0
                     else "<span class='worse'>B worse</span>" if verdict[i] < 0 else "inconclusive")
                rows.append([str(k), h.num(value(c.a[i])), h.num(value(c.b[i])), f"{float(c.diff[i]):+.4f}",
                             f"[{float(c.lo[i]):+.4f}, {float(c.hi[i]):+.4f}]", v])
            head = (f"{h.name(info, pair.b)} vs {h.name(info, pair.a)} <span class='muted'>({c.problems} paired "
                    f"problems; critical value {c.critical:.3f}, {c.n_boot} draws, seed {c.seed})</span>")
            if not last:  # a series: earlier steps folded, the last one open
                out.append(f"<details><summary>{head}</summary>")
            else:
                out.append(f"<h3>{head}</h3>")
            out.append(h.table(["k", "A", "B", "B − A", band, "verdict"], rows))
            fl = c.first_loss_interval
            items = [
                f"B better at k = {format_k_ranges(c.better)}",
                f"B worse at k = {format_k_ranges(c.worse)}",
                f"inconclusive at k = {format_k_ranges(c.inconclusive)}",
                ("first-loss budget set: " + (f"[{fl[0]}, {fl[1] if fl[1] is not None else '∞'}]" if fl
                                              else ("{" + format_k_ranges(c.first_loss) + "}" if c.first_loss.size
                                                    else "empty"))),
                "mean curves cross at k = " + (str(c.crossover) if c.crossover is not None else "— (no crossing)"),
            ]
            out.append("<ul>" + "".join(f"<li>{escape(t)}</li>" for t in items) + "</ul>")
            if c.problems < SMALL_P:
                out.append(f"<p class='worse'>Only {c.problems} paired problems: the band is a large-sample "
                           f"approximation and may cover less than {100 * (1 - c.alpha):g}% (more so when the "
                           f"difference sits on a few problems); at least {SMALL_P} are needed for the stated "
                           "level.</p>")
            if c.degenerate.size:
                out.append(f"<p class='muted'>At k = {format_k_ranges(c.degenerate)} every problem has the same "
                           "difference (zero variance); the band there is the whole range [−1, 1].</p>")
            if not last:
                out.append("</details>")
        return "\n".join(out)

    def terminal(self) -> list[RenderableType]:
        info = self.info
        out: list[RenderableType] = []
        for pair in self.pairs[-3:] if info.kind == "series" else self.pairs:
            c = pair.comparison
            out.append(f"[bold]{markup(info.display_names[pair.b])} vs {markup(info.display_names[pair.a])}[/] "
                       f"({c.problems} paired problems, {int(round(100 * (1 - c.alpha)))}% simultaneous band):")
            out.extend(f"  {markup(line)}" for line in describe_comparison(c))
            if c.crossover is not None:
                out.append(f"  mean curves cross at k = {c.crossover}")
            out.append(f"  problems lost: {pair.lost_count}, gained: {pair.gained_count}")
        if info.kind == "series" and len(self.pairs) > 3:
            out.append(f"  ({len(self.pairs) - 3} earlier comparisons in the report)")
        return out

    def figure(self) -> Any:
        if not self.pairs:
            return None
        info = self.info
        fig, axes = plots.new_figure(9.2, 3.8)
        ax = axes[0][0]
        cols = plots.colors(len(self.pairs))
        for col, pair in zip(cols, self.pairs):
            c = pair.comparison
            k = c.k.astype(float)
            ax.plot(k, plots.finite(c.diff), color=col, lw=1.8,
                    label=f"{plots.short_name(info, pair.b)} − {plots.short_name(info, pair.a)}")
            # zero-variance budgets carry the uninformative band [−1, 1]: leave them out of the drawing
            keep = ~np.isin(c.k, np.asarray(c.degenerate, dtype=np.int64))
            lo = np.where(keep, plots.finite(c.lo), np.nan)
            hi = np.where(keep, plots.finite(c.hi), np.nan)
            ax.fill_between(k, lo, hi, color=col, alpha=0.2 if len(self.pairs) <= 3 else 0.08, lw=0)
            if c.crossover is not None and len(self.pairs) <= 3:
                ax.axvline(c.crossover, color=col, ls=":", lw=1.2)
                ax.annotate(f"crossover k={c.crossover}", (c.crossover, 0), xytext=(4, 6),
                            textcoords="offset points", fontsize=8, color=col)
        ax.axhline(0.0, color="black", lw=0.8)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("k (samples per problem)")
        ax.set_ylabel("Δ pass@k (B − A)")
        lev = 1 - self.pairs[0].comparison.alpha
        ax.set_title(f"Paired difference with {int(round(100 * lev))}% simultaneous band", fontsize=10)
        ax.grid(alpha=0.3)
        plots.name_groups(fig, ax, info, [p.b for p in self.pairs],
                          f"{len(self.pairs)} groups, each minus {plots.short_name(info, self.pairs[0].a)}")
        return fig
