"""Section 3: collapse diagnostics — the pass@k theory of each group and its p̂ histogram.

Per group a :class:`~passlens.theory.TheorySummary` (:func:`passlens.theory.summarize` on the
powers-of-two budgets up to the smallest n: α̂_k, the signal ŝ_k and its share by difficulty
bucket, polarized problems, the expected zero-signal group fraction at the training group size G,
the mean gap pass@k − pass@1; Yu 2025, arXiv 2511.16231) and a :class:`PHatHistogram` of p̂ = c/n.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Any, Mapping

import numpy as np

from ..._validate import as_counts, pow2_grid
from ...theory.summary import TheorySummary, summarize
from .. import html as h
from .. import plots
from ..section import Context, ReportInfo, Section, value, value_at

__all__ = ["Collapse", "PHatHistogram", "phat_histogram", "HIST_BINS"]

#: Interior bins of the p̂ histogram (exact 0 and exact 1 get their own bars).
HIST_BINS = 20


@dataclass(frozen=True, eq=False)
class PHatHistogram:
    """Histogram of p̂ = c/n with exact 0 and exact 1 as their own bars.

    Attributes:
      edges: float (bins + 1,), equal-width edges over [0, 1].
      zero: problems with p̂ = 0.
      one: problems with p̂ = 1.
      counts: int (bins,), problems with 0 < p̂ < 1 per bin [j/bins, (j+1)/bins).
    """

    edges: np.ndarray
    zero: int
    one: int
    counts: np.ndarray

    @classmethod
    def from_counts(cls, n: object, c: object, bins: int = HIST_BINS) -> PHatHistogram:
        """From int arrays n, c (P,)."""
        n_, c_ = as_counts(n, c)
        inner = (c_ > 0) & (c_ < n_)
        # bin index floor(bins·c/n) in integer arithmetic: p̂ on an edge (e.g. 3/5 = 0.6) lands in the upper bin exactly.
        idx = np.minimum((c_[inner] * bins) // n_[inner], bins - 1)
        return cls(edges=np.linspace(0.0, 1.0, bins + 1), zero=int(np.sum(c_ == 0)), one=int(np.sum(c_ == n_)),
                   counts=np.bincount(idx, minlength=bins).astype(int))

    def to_dict(self) -> dict[str, Any]:
        return {"edges": self.edges.tolist(), "zero": self.zero, "one": self.one, "counts": self.counts.tolist()}


def phat_histogram(n: object, c: object, bins: int = HIST_BINS) -> dict[str, Any]:
    """Histogram of p̂ = c/n with exact 0 and exact 1 as their own bars (:class:`PHatHistogram`, as a dict).

    Args:
      n, c: int arrays (P,).
      bins: number of equal-width bins over the open interval (0, 1).

    Returns:
      {"edges": float (bins + 1,), "zero": count of p̂ = 0, "one": count of p̂ = 1,
       "counts": int (bins,) counts of 0 < p̂ < 1 per bin [j/bins, (j+1)/bins)}.
    """
    return PHatHistogram.from_counts(n, c, bins).to_dict()


@dataclass(frozen=True, eq=False)
class Collapse(Section):
    """The theory summary and p̂ histogram of every group.

    Attributes:
      info: the report's :class:`~passlens.report.section.ReportInfo`.
      theory: label → :class:`~passlens.theory.TheorySummary`.
      hist: label → :class:`PHatHistogram`.
    """

    stage = "groups"
    figure_name = "collapse.png"
    figure_title = "Collapse diagnostics: p̂ histogram, gap, α̂_k and signal share by difficulty"

    info: ReportInfo
    theory: Mapping[str, TheorySummary]
    hist: Mapping[str, PHatHistogram]

    @classmethod
    def build(cls, ctx: Context) -> Collapse:
        theory: dict[str, TheorySummary] = {}
        hist: dict[str, PHatHistogram] = {}
        for label, table in ctx.tables.items():
            n, c = table.n, table.c
            summ = summarize(n, c, ks=pow2_grid(ctx.info.groups[label].n_min), group_size=ctx.info.settings.group_size,
                             ids=table.ids)
            for note in summ.notes:
                if note.startswith("signal_hat at k=") and note.endswith("value is NaN"):
                    continue  # by design: ŝ_k needs n ≥ 2k; one general note is the footnote
                ctx.note(f"{label or 'data'}: {note}")
            theory[label] = summ
            hist[label] = PHatHistogram.from_counts(n, c)
        return cls(ctx.info, theory, hist)

    def signal_total(self, label: str, k: int) -> float | None:
        """Σ ŝ_k of a group, or None where undefined (k not on the grid, no problem with n ≥ 2k)."""
        th = self.theory[label]
        return value_at(th.ks, th.signal_total, k)

    def signal_per_problem(self, label: str, k: int) -> float | None:
        """Mean ŝ_k per problem with n ≥ 2k (Σ ŝ_k / problems), or None where undefined."""
        th = self.theory[label]
        tot, cnt = value_at(th.ks, th.signal_total, k), value_at(th.ks, th.signal_problems, k)
        return None if tot is None or not cnt else tot / cnt

    def gap(self, label: str, k: int) -> float | None:
        """Mean gap pass@k − pass@1 of a group, or None where undefined."""
        th = self.theory[label]
        return value_at(th.ks, th.gap_mean, k)

    def alpha_median(self, label: str, k: int) -> float | None:
        """Median of α̂_k over problems, or None where undefined (k not on the grid, no median level)."""
        th = self.theory[label]
        ks, levels = th.ks.tolist(), th.alpha_quantile_levels.tolist()
        if k not in ks or 0.5 not in levels:
            return None
        return value(th.alpha_quantiles[ks.index(k)][levels.index(0.5)])

    def to_dict(self) -> dict[str, Any]:
        return {"groups": {label: {"theory": self.theory[label].to_dict(), "phat_hist": self.hist[label].to_dict()}
                           for label in self.theory}}

    def footnotes(self) -> list[str]:
        if any(not np.isfinite(th.signal_total).all() for th in self.theory.values()):
            return ["the signal estimate ŝ_k needs n ≥ 2k samples per problem; it is n/a for larger k."]
        return []

    def html(self, figures: Mapping[str, bytes]) -> str:
        info = self.info
        out = ["<h2>3. Collapse diagnostics</h2>",
               "<p class='sub'>Per problem the pass@k gradient is the pass@1 gradient times α_k(p) = k(1 − p)^{k−1} "
               "(Yu 2025, arXiv 2511.16231); α̂_k and the signal ŝ_k ≈ k²p(1 − p)^{2k−1} are their unbiased "
               "estimates from (n, c). Never- and always-solved problems give zero group-relative advantage.</p>"]
        fig = h.figure(self, figures)
        if fig:
            out.append(fig)
        labels = info.labels
        ks_sig = info.k_signal
        G = info.settings.group_size
        head = ["group", "problems", "pass@1", "never solved", "always solved", f"zero-signal groups (G={G})",
                f"Σ ŝ_{ks_sig}", f"median α̂_{ks_sig}"]
        rows = []
        for g in labels:
            th = self.theory[g]
            rows.append([h.name(info, g), str(th.n_problems), h.num(th.pass1_mean), h.pct(th.frac_never_solved),
                         h.pct(th.frac_always_solved), h.pct(value(th.zero_signal_fraction)),
                         h.num(self.signal_total(g, ks_sig), 3), h.num(self.alpha_median(g, ks_sig), 3)])
        out.append(h.table(head, rows))
        # gap and alpha per k
        ks = self.theory[labels[0]].ks.tolist()
        out.append("<h3>Gap pass@k − pass@1 and mean α̂_k per k</h3>")
        head = ["group", "statistic"] + [f"k={k}" for k in ks]
        rows = []
        for g in labels:
            th = self.theory[g]
            rows.append([h.name(info, g), "gap"] + [h.num(value_at(th.ks, th.gap_mean, k), 3) for k in ks])
            rows.append([h.name(info, g), "mean α̂_k"] + [h.num(value_at(th.ks, th.alpha_mean, k), 3) for k in ks])
        out.append(h.table(head, rows))
        # signal share per bucket
        out.append(f"<h3>Share of total pass@{ks_sig} signal by difficulty bucket of p̂ (problems in bucket)</h3>")
        buckets = self.theory[labels[0]].bucket_labels
        rows = []
        for g in labels:
            th = self.theory[g]
            grid = th.ks.tolist()
            j = grid.index(ks_sig) if ks_sig in grid else None
            rows.append([h.name(info, g)] + [
                f"{h.pct(value(th.signal_share[b][j]) if j is not None else None)} ({th.bucket_counts[b]})"
                for b in range(len(buckets))])
        out.append(h.table(["group"] + [escape(b) for b in buckets], rows))
        return "\n".join(out)

    def figure(self) -> Any:
        info = self.info
        all_labels = list(info.labels)
        palette = dict(zip(all_labels, plots.colors(len(all_labels))))  # colours as in the other figures
        labels = plots.subset(all_labels)
        cols = [palette[g] for g in labels]
        fig, axes = plots.new_figure(10.5, 7.8, ncols=2, nrows=2, bottom=0.11, hspace=0.5,
                                     **({"top": 1 - 0.6 / 7.8} if len(labels) < len(all_labels) else {}))
        if len(labels) < len(all_labels):
            fig.suptitle(f"{len(labels)} of {len(all_labels)} groups shown (first, last and evenly spaced between; "
                         "the tables list every group)", fontsize=9, y=0.995)
        # (a) p̂ histogram: exact 0, 20 inner bins, exact 1, as fractions
        ax = axes[0][0]
        for col, g in zip(cols, labels):
            hist = self.hist[g]
            centers = (hist.edges[:-1] + hist.edges[1:]) / 2
            xs = np.concatenate([[-0.05], centers, [1.05]])
            ys = np.array([hist.zero, *hist.counts.tolist(), hist.one], dtype=float) / info.groups[g].problems
            ax.step(xs, ys, where="mid", color=col, lw=1.6, label=plots.short_name(info, g))
        ax.set_xlabel("p̂ = c/n   (bars at −0.05 and 1.05: exactly 0 and 1)")
        ax.set_ylabel("fraction of problems")
        ax.set_title("Per-problem success rate", fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        # (b) gap
        ax = axes[0][1]
        for col, g in zip(cols, labels):
            th = self.theory[g]
            ax.plot(th.ks, plots.finite(th.gap_mean), "o-", color=col, ms=3, label=plots.short_name(info, g))
        ax.set_xscale("log", base=2)
        ax.set_xlabel("k")
        ax.set_ylabel("mean pass@k − pass@1")
        ax.set_title("Gap pass@k − pass@1 (shrinks under collapse)", fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        # (c) α̂_k median with inter-quartile range
        ax = axes[1][0]
        for col, g in zip(cols, labels):
            th = self.theory[g]
            lv = th.alpha_quantile_levels.tolist()
            q = plots.finite(th.alpha_quantiles.reshape(-1)).reshape(th.alpha_quantiles.shape)
            mean = plots.finite(th.alpha_mean)
            mid = q[:, lv.index(0.5)] if 0.5 in lv else mean
            ax.plot(th.ks, mean, "o-", color=col, ms=3, label=f"{plots.short_name(info, g)} mean")
            ax.plot(th.ks, mid, "--", color=col, lw=1.0, label=f"{plots.short_name(info, g)} median")
            if 0.25 in lv and 0.75 in lv:
                ax.fill_between(th.ks, q[:, lv.index(0.25)], q[:, lv.index(0.75)], color=col, alpha=0.15, lw=0)
        ax.set_xscale("log", base=2)
        ax.set_yscale("symlog", linthresh=0.01)
        ax.set_ylim(bottom=0)
        ax.set_xlabel("k")
        ax.set_ylabel("α̂_k = pass@k gradient weight")
        ax.set_title("α̂_k per problem: mean, median, IQR", fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, ncol=2 if len(labels) <= 4 else 1)
        # (d) signal share by bucket at k_signal
        ax = axes[1][1]
        ks = info.k_signal
        buckets = self.theory[labels[0]].bucket_labels
        shown = labels if len(labels) <= 6 else [labels[0], labels[len(labels) // 2], labels[-1]]
        width = 0.8 / len(shown)
        x = np.arange(len(buckets))
        for j, g in enumerate(shown):
            th = self.theory[g]
            grid = th.ks.tolist()
            col_idx = grid.index(ks) if ks in grid else None
            vals = [np.nan if col_idx is None else plots.finite(row)[col_idx] for row in th.signal_share]
            ax.bar(x + (j - (len(shown) - 1) / 2) * width, vals, width, color=palette[g],
                   label=plots.short_name(info, g))
        ax.set_xticks(x, buckets, rotation=30, fontsize=8)
        ax.set_xlabel("difficulty bucket of p̂")
        ax.set_ylabel(f"share of total ŝ_{ks}")
        ax.set_title(f"Where the pass@{ks} learning signal sits", fontsize=10)
        ax.grid(alpha=0.3, axis="y")
        ax.legend(fontsize=8)
        return fig
