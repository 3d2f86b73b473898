"""Figures of the exploration report (matplotlib, imported on use; Agg canvas, no pyplot state).

Each section draws its own figure (:meth:`passlens.report.section.Section.figure`) with the
helpers here, on a white card so that it reads the same in light and dark page themes;
:func:`make_figures` renders them to PNG in registry order.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

import numpy as np

from .section import ReportInfo

if TYPE_CHECKING:
    from .build import Report

__all__ = ["make_figures", "new_figure", "colors", "short_name", "subset", "name_groups", "numeric_labels", "finite",
           "MAX_NAME", "MAX_LEGEND", "MAX_PANEL_GROUPS"]

#: Longest group name drawn in a figure (legend, axis label, title); longer ones keep both ends.
MAX_NAME = 32

#: Above this many groups a figure names groups with a colour bar instead of a legend, and the
#: per-group panels of the collapse figure draw an evenly spaced subset (the tables have every group).
MAX_LEGEND = 10
MAX_PANEL_GROUPS = 5


def new_figure(w: float, h: float, ncols: int = 1, nrows: int = 1, **adjust: float) -> tuple[Any, Any]:
    """A white figure of w × h inches with a grid of axes (always 2-D) and fixed margins."""
    from matplotlib.figure import Figure

    # fixed margins instead of layout="constrained": the same look at less than half the drawing time
    fig = Figure(figsize=(w, h), dpi=100, facecolor="white")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    margins = {"left": 0.8 / w, "right": 1 - 0.25 / w, "bottom": 0.6 / h, "top": 1 - 0.35 / h,
               "wspace": 0.25, "hspace": 0.45}
    fig.subplots_adjust(**{**margins, **adjust})
    return fig, axes


def colors(count: int) -> list[Any]:
    """tab10 for up to 10 groups, else viridis along the group order."""
    from matplotlib import colormaps

    if count <= 10:
        return [colormaps["tab10"](i) for i in range(count)]
    cmap = colormaps["viridis"]
    return [cmap(i / max(count - 1, 1)) for i in range(count)]


def short_name(info: ReportInfo, label: str) -> str:
    """Display name of a group ("step 400", "rl", "data"), shortened to :data:`MAX_NAME` characters."""
    name = info.name(label)
    if len(name) <= MAX_NAME:
        return name
    head = (MAX_NAME - 1) // 2
    return name[:head] + "…" + name[len(name) - (MAX_NAME - 1 - head):]


def subset(labels: list[str], most: int = MAX_PANEL_GROUPS) -> list[str]:
    """At most ``most`` labels, evenly spaced, always the first and the last."""
    if len(labels) <= most:
        return list(labels)
    idx = np.unique(np.round(np.linspace(0, len(labels) - 1, most)).astype(int))
    return [labels[i] for i in idx]


def name_groups(fig: Any, ax: Any, info: ReportInfo, labels: list[str], title: str | None = None) -> None:
    """A legend for a few groups; for many, a colour bar along the group order (same viridis colours)."""
    if len(labels) <= MAX_LEGEND:
        ax.legend(fontsize=8)
        return
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    names = [short_name(info, g) for g in labels]
    # room on the right for the bar and its tick labels (the fixed margins leave 0.25 in)
    w = fig.get_figwidth()
    fig.subplots_adjust(right=min(fig.subplotpars.right, 1 - (0.35 + 0.065 * max(len(v) for v in names)) / w))
    sm = ScalarMappable(norm=Normalize(0, len(labels) - 1), cmap=colormaps["viridis"])
    bar = fig.colorbar(sm, ax=ax, pad=0.015, fraction=0.04, aspect=30)
    ticks = np.unique(np.round(np.linspace(0, len(labels) - 1, 5)).astype(int))
    bar.set_ticks(ticks.tolist(), labels=[names[i] for i in ticks], fontsize=7)
    bar.set_label(title or f"{len(labels)} groups, in order", fontsize=8)


def finite(x: Any) -> np.ndarray:
    """float array with NaN wherever a value is undefined (NaN, ±inf or None): a gap in the line."""
    a = np.array([np.nan if v is None else v for v in x], dtype=float) if isinstance(x, (list, tuple)) else (
        np.asarray(x, dtype=float))
    return np.where(np.isfinite(a), a, np.nan)


def numeric_labels(labels: list[str]) -> tuple[np.ndarray, bool]:
    """Labels as numbers (training steps) and True, or their positions and False."""
    try:
        return np.array([float(v) for v in labels]), True
    except ValueError:
        return np.arange(len(labels), dtype=float), False


def make_figures(report: Report) -> dict[str, bytes]:
    """Render every section's figure to PNG bytes.

    Args:
      report: :class:`passlens.report.build.Report`.

    Returns:
      file name → PNG bytes, in registry (page) order.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    out: dict[str, bytes] = {}
    for section in report.sections:
        fig = section.figure()
        if fig is None:
            continue
        if not section.figure_name:
            raise ValueError(f"{type(section).__name__} draws a figure but names no figure_name")
        buf = io.BytesIO()
        fig.savefig(buf, format="png", facecolor="white")
        out[section.figure_name] = buf.getvalue()
    return out
