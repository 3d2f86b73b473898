"""Figures of the exploration report (matplotlib, imported on use; Agg canvas, no pyplot state).

Every figure is drawn from the metrics dict of :func:`passlens.report.build.build_report`
(and, for the per-problem scatter, the per-problem p̂ arrays), on a white card so
that it reads the same in light and dark page themes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..metrics import METRICS

__all__ = ["make_figures", "FIGURE_TITLES"]

#: File name → caption, in page order.
FIGURE_TITLES: dict[str, str] = {
    "curves.png": "pass@k-family curves with confidence bands (log k axis)",
    "comparison.png": "Paired difference B − A with its simultaneous band",
    "collapse.png": "Collapse diagnostics: p̂ histogram, gap, α̂_k and signal share by difficulty",
    "series.png": "Diagnostics against the group order (training step)",
    "per_problem.png": "Per-problem p̂ before vs after",
}

_METRIC_LABEL = {m.name: m.label for m in METRICS.values()}

#: Longest group name drawn in a figure (legend, axis label, title); longer ones keep both ends.
MAX_NAME = 32

#: Above this many groups a figure names groups with a colour bar instead of a legend, and the
#: per-group panels of the collapse figure draw an evenly spaced subset (the tables have every group).
MAX_LEGEND = 10
MAX_PANEL_GROUPS = 5


def _figure(w: float, h: float, ncols: int = 1, nrows: int = 1, **adjust: float) -> tuple[Any, Any]:
    from matplotlib.figure import Figure

    # fixed margins instead of layout="constrained": the same look at less than half the drawing time
    fig = Figure(figsize=(w, h), dpi=100, facecolor="white")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    margins = {"left": 0.8 / w, "right": 1 - 0.25 / w, "bottom": 0.6 / h, "top": 1 - 0.35 / h,
               "wspace": 0.25, "hspace": 0.45}
    fig.subplots_adjust(**{**margins, **adjust})
    return fig, axes


def _colors(count: int) -> list[Any]:
    from matplotlib import colormaps

    if count <= 10:
        return [colormaps["tab10"](i) for i in range(count)]
    cmap = colormaps["viridis"]
    return [cmap(i / max(count - 1, 1)) for i in range(count)]


def _dn(m: dict[str, Any], label: str) -> str:
    """Display name of a group ("step 400", "rl", "data"), shortened to :data:`MAX_NAME` characters."""
    name = m.get("display_names", {}).get(label) or label or "data"
    if len(name) <= MAX_NAME:
        return name
    head = (MAX_NAME - 1) // 2
    return name[:head] + "…" + name[len(name) - (MAX_NAME - 1 - head):]


def _subset(labels: list[str], most: int = MAX_PANEL_GROUPS) -> list[str]:
    """At most ``most`` labels, evenly spaced, always the first and the last."""
    if len(labels) <= most:
        return list(labels)
    idx = np.unique(np.round(np.linspace(0, len(labels) - 1, most)).astype(int))
    return [labels[i] for i in idx]


def _name_groups(fig: Any, ax: Any, m: dict[str, Any], labels: list[str], title: str | None = None) -> None:
    """A legend for a few groups; for many, a colour bar along the group order (same viridis colours)."""
    if len(labels) <= MAX_LEGEND:
        ax.legend(fontsize=8)
        return
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    names = [_dn(m, g) for g in labels]
    # room on the right for the bar and its tick labels (the fixed margins leave 0.25 in)
    w = fig.get_figwidth()
    fig.subplots_adjust(right=min(fig.subplotpars.right, 1 - (0.35 + 0.065 * max(len(v) for v in names)) / w))
    sm = ScalarMappable(norm=Normalize(0, len(labels) - 1), cmap=colormaps["viridis"])
    bar = fig.colorbar(sm, ax=ax, pad=0.015, fraction=0.04, aspect=30)
    ticks = np.unique(np.round(np.linspace(0, len(labels) - 1, 5)).astype(int))
    bar.set_ticks(ticks.tolist(), labels=[names[i] for i in ticks], fontsize=7)
    bar.set_label(title or f"{len(labels)} groups, in order", fontsize=8)


def _numeric_labels(labels: list[str]) -> tuple[np.ndarray, bool]:
    try:
        return np.array([float(v) for v in labels]), True
    except ValueError:
        return np.arange(len(labels), dtype=float), False


def _curves(m: dict[str, Any]) -> Any:
    labels = m["labels"]
    metrics = [k for k in METRICS if any(k in m["groups"][g]["curves"] for g in labels)]
    ncols = min(2, len(metrics))
    nrows = (len(metrics) + 1) // 2
    fig, axes = _figure(7.5 if ncols == 1 else 10.5, 3.8 * nrows, ncols=ncols, nrows=nrows,
                        hspace=0.35 if nrows > 1 else 0.45)
    cols = _colors(len(labels))
    flat = [ax for row in axes for ax in row]
    for ax in flat[len(metrics):]:
        ax.set_visible(False)
    for ax, met in zip(flat, metrics):
        for col, g in zip(cols, labels):
            cur = m["groups"][g]["curves"].get(met)
            if cur is None:
                continue
            k = np.array(cur["k"], dtype=float)
            est = np.array(cur["estimate"], dtype=float)
            lo = np.array([np.nan if v is None else v for v in cur["lo"]], dtype=float)
            hi = np.array([np.nan if v is None else v for v in cur["hi"]], dtype=float)
            ax.plot(k, est, color=col, lw=1.8, label=_dn(m, g))
            ax.fill_between(k, lo, hi, color=col, alpha=0.22 if len(labels) <= MAX_LEGEND else 0.05, lw=0)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("k (samples per problem)")
        ax.set_ylabel(_METRIC_LABEL[met])
        lev = m["settings"]["ci"]
        ax.set_title(f"{_METRIC_LABEL[met]} ({int(round(100 * lev))}% CI bands)", fontsize=10)
        ax.grid(alpha=0.3)
        _name_groups(fig, ax, m, labels)
    return fig


def _comparison(m: dict[str, Any]) -> Any:
    comps = m["comparisons"]
    fig, axes = _figure(9.2, 3.8)
    ax = axes[0][0]
    cols = _colors(len(comps))
    for col, comp in zip(cols, comps):
        c = comp["comparison"]
        k = np.array(c["k"], dtype=float)
        diff = np.array(c["diff"], dtype=float)
        ax.plot(k, diff, color=col, lw=1.8, label=f"{_dn(m, comp['b'])} − {_dn(m, comp['a'])}")
        # zero-variance budgets carry the uninformative band [−1, 1]: leave them out of the drawing
        keep = ~np.isin(np.array(c["k"]), np.array(c["degenerate"], dtype=np.int64))
        lo = np.where(keep, np.array(c["lo"], dtype=float), np.nan)
        hi = np.where(keep, np.array(c["hi"], dtype=float), np.nan)
        ax.fill_between(k, lo, hi, color=col, alpha=0.2 if len(comps) <= 3 else 0.08, lw=0)
        if c["crossover"] is not None and len(comps) <= 3:
            ax.axvline(c["crossover"], color=col, ls=":", lw=1.2)
            ax.annotate(f"crossover k={c['crossover']}", (c["crossover"], 0), xytext=(4, 6),
                        textcoords="offset points", fontsize=8, color=col)
    ax.axhline(0.0, color="black", lw=0.8)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("k (samples per problem)")
    ax.set_ylabel("Δ pass@k (B − A)")
    lev = 1 - comps[0]["comparison"]["alpha"]
    ax.set_title(f"Paired difference with {int(round(100 * lev))}% simultaneous band", fontsize=10)
    ax.grid(alpha=0.3)
    _name_groups(fig, ax, m, [comp["b"] for comp in comps],
                 f"{len(comps)} groups, each minus {_dn(m, comps[0]['a'])}")
    return fig


def _collapse(m: dict[str, Any]) -> Any:
    all_labels = m["labels"]
    palette = dict(zip(all_labels, _colors(len(all_labels))))  # colours as in the other figures
    labels = _subset(all_labels)
    cols = [palette[g] for g in labels]
    fig, axes = _figure(10.5, 7.8, ncols=2, nrows=2, bottom=0.11, hspace=0.5,
                        **({"top": 1 - 0.6 / 7.8} if len(labels) < len(all_labels) else {}))
    if len(labels) < len(all_labels):
        fig.suptitle(f"{len(labels)} of {len(all_labels)} groups shown (first, last and evenly spaced between; "
                     "the tables list every group)", fontsize=9, y=0.995)
    # (a) p̂ histogram: exact 0, 20 inner bins, exact 1, as fractions
    ax = axes[0][0]
    for col, g in zip(cols, labels):
        h = m["groups"][g]["phat_hist"]
        P = m["groups"][g]["problems"]
        edges = np.array(h["edges"])
        centers = (edges[:-1] + edges[1:]) / 2
        xs = np.concatenate([[-0.05], centers, [1.05]])
        ys = np.array([h["zero"], *h["counts"], h["one"]], dtype=float) / P
        ax.step(xs, ys, where="mid", color=col, lw=1.6, label=_dn(m, g))
    ax.set_xlabel("p̂ = c/n   (bars at −0.05 and 1.05: exactly 0 and 1)")
    ax.set_ylabel("fraction of problems")
    ax.set_title("Per-problem success rate", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    # (b) gap
    ax = axes[0][1]
    for col, g in zip(cols, labels):
        th = m["groups"][g]["theory"]
        ax.plot(th["ks"], [np.nan if v is None else v for v in th["gap_mean"]], "o-", color=col, ms=3, label=_dn(m, g))
    ax.set_xscale("log", base=2)
    ax.set_xlabel("k")
    ax.set_ylabel("mean pass@k − pass@1")
    ax.set_title("Gap pass@k − pass@1 (shrinks under collapse)", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    # (c) α̂_k median with inter-quartile range
    ax = axes[1][0]
    for col, g in zip(cols, labels):
        th = m["groups"][g]["theory"]
        lv = th["alpha_quantile_levels"]
        q = np.array([[np.nan if v is None else v for v in row] for row in th["alpha_quantiles"]], dtype=float)
        mid = q[:, lv.index(0.5)] if 0.5 in lv else np.array(th["alpha_mean"], dtype=float)
        ax.plot(th["ks"], np.array(th["alpha_mean"], dtype=float), "o-", color=col, ms=3, label=f"{_dn(m, g)} mean")
        ax.plot(th["ks"], mid, "--", color=col, lw=1.0, label=f"{_dn(m, g)} median")
        if 0.25 in lv and 0.75 in lv:
            ax.fill_between(th["ks"], q[:, lv.index(0.25)], q[:, lv.index(0.75)], color=col, alpha=0.15, lw=0)
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
    ks = m["k_signal"]
    buckets = m["groups"][labels[0]]["theory"]["bucket_labels"]
    shown = labels if len(labels) <= 6 else [labels[0], labels[len(labels) // 2], labels[-1]]
    width = 0.8 / len(shown)
    x = np.arange(len(buckets))
    for j, g in enumerate(shown):
        th = m["groups"][g]["theory"]
        share = th["signal_share"]
        col_idx = th["ks"].index(ks) if ks in th["ks"] else None
        vals = [np.nan if col_idx is None or row[col_idx] is None else row[col_idx] for row in share]
        ax.bar(x + (j - (len(shown) - 1) / 2) * width, vals, width, color=palette[g], label=_dn(m, g))
    ax.set_xticks(x, buckets, rotation=30, fontsize=8)
    ax.set_xlabel("difficulty bucket of p̂")
    ax.set_ylabel(f"share of total ŝ_{ks}")
    ax.set_title(f"Where the pass@{ks} learning signal sits", fontsize=10)
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=8)
    return fig


def _series(m: dict[str, Any]) -> Any:
    labels = m["labels"]
    tr = m["trend"]
    x, numeric = _numeric_labels(labels)
    has_answers = any(v is not None for v in tr["distinct_correct_mean"])
    fig, axes = _figure(10.5, 7.0, ncols=2, nrows=2)
    kt, ks = m["k_top"], m["k_signal"]

    def line(ax: Any, key: str, label: str) -> None:
        ys = np.array([np.nan if v is None else v for v in tr[key]], dtype=float)
        ax.plot(x, ys, "o-", ms=3, label=label)

    ax = axes[0][0]
    line(ax, "pass1", "pass@1")
    line(ax, f"pass_at_{kt}", f"pass@{kt}")
    line(ax, f"gap_{kt}", f"gap pass@{kt} − pass@1")
    ax.set_ylabel("value")
    ax.set_title("pass@1, pass@k and their gap", fontsize=10)
    ax = axes[0][1]
    line(ax, "never_solved", "never solved")
    line(ax, "always_solved", "always solved")
    line(ax, "zero_signal", f"zero-signal groups (G={m['settings']['group_size']})")
    ax.set_ylabel("fraction")
    ax.set_title("Polarization and zero-signal groups", fontsize=10)
    ax = axes[1][0]
    line(ax, f"signal_{ks}_per_problem", f"mean ŝ_{ks}")
    line(ax, f"alpha_{ks}_median", f"median α̂_{ks}")
    ax.set_yscale("symlog", linthresh=0.01)
    ax.set_ylim(bottom=0)
    ax.set_ylabel("value")
    ax.set_title(f"pass@{ks} learning signal and weight", fontsize=10)
    ax = axes[1][1]
    if has_answers:
        line(ax, "distinct_correct_mean", "distinct correct answers / problem (observed)")
        line(ax, f"coverage_{ks}", f"coverage@{ks} (expected distinct correct among {ks})")
        ax.set_ylabel("answers")
        ax.set_title("Distinct correct answers per problem", fontsize=10)
    else:
        ax.text(0.5, 0.5, "no answer column: distinct correct\nanswers not available", ha="center", va="center",
                transform=ax.transAxes, fontsize=9)
        ax.set_title("Distinct correct answers per problem", fontsize=10)
    for row in axes:
        for a in row:
            a.set_xlabel(m.get("label_name") or "group" if numeric else "group index")
            a.grid(alpha=0.3)
            if a.get_legend_handles_labels()[0]:
                a.legend(fontsize=8)
    return fig


def _per_problem(m: dict[str, Any], per_problem: dict[str, dict[str, np.ndarray]], pair: tuple[str, str]) -> Any:
    a, b = pair
    pa, pb = per_problem[a], per_problem[b]
    order = {v: i for i, v in enumerate(pb["ids"].tolist())}
    perm = np.array([order[v] for v in pa["ids"].tolist()], dtype=np.int64)
    x, y = pa["p_hat"], pb["p_hat"][perm]
    lost = (x > 0) & (y == 0)
    gained = (x == 0) & (y > 0)
    rest = ~(lost | gained)
    rng = np.random.default_rng(0)
    jit = 0.006  # visual jitter only, so stacked points at 0 and 1 stay visible
    fig, axes = _figure(5.6, 5.2)
    ax = axes[0][0]
    if x.size > 20000:
        ax.hexbin(x[rest], y[rest], gridsize=50, bins="log", cmap="Greys", mincnt=1)
    else:
        ax.scatter(x[rest] + rng.normal(0, jit, rest.sum()), y[rest] + rng.normal(0, jit, rest.sum()),
                   s=6, alpha=0.35, color="tab:blue", label="other problems", lw=0)
    ax.scatter(x[lost], y[lost] + rng.normal(0, jit, lost.sum()), s=14, color="tab:red", label=f"lost ({lost.sum()})")
    ax.scatter(x[gained] + rng.normal(0, jit, gained.sum()), y[gained], s=14, color="tab:green",
               label=f"gained ({gained.sum()})")
    ax.plot([0, 1], [0, 1], color="black", lw=0.8)
    ax.set_xlabel(f"p̂ in {_dn(m, a)}")
    ax.set_ylabel(f"p̂ in {_dn(m, b)}")
    title = f"Per-problem success rate: {_dn(m, b)} vs {_dn(m, a)}"
    ax.set_title(title if len(title) <= 64 else "Per-problem success rate", fontsize=10)  # the axes name both
    ax.set_xlim(-0.03, 1.03)
    ax.set_ylim(-0.03, 1.03)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    return fig


def make_figures(report: Any) -> dict[str, bytes]:
    """Render every applicable figure of a report to PNG bytes.

    Args:
      report: :class:`passlens.report.build.Report`.

    Returns:
      file name → PNG bytes, in page order (keys among :data:`FIGURE_TITLES`).
    """
    import io

    import matplotlib

    matplotlib.use("Agg", force=False)
    m = report.metrics
    figs: dict[str, Any] = {"curves.png": _curves(m)}
    if m["comparisons"]:
        figs["comparison.png"] = _comparison(m)
    figs["collapse.png"] = _collapse(m)
    if m["kind"] == "series":
        figs["series.png"] = _series(m)
    if report.pairs:
        figs["per_problem.png"] = _per_problem(m, report.per_problem, report.pairs[-1])
    out: dict[str, bytes] = {}
    for name, fig in figs.items():
        buf = io.BytesIO()
        fig.savefig(buf, format="png", facecolor="white")
        out[name] = buf.getvalue()
    return out
