"""The exploration report: pass@k curves, paired comparison and collapse diagnostics.

Stages (one way): :func:`load_groups` (read inputs) → :func:`build_report`
(a :class:`Report` of typed sections, :mod:`passlens.report.sections`; ``Report.metrics``
is metrics.json) → :func:`print_summary` (terminal) and :func:`make_figures` /
:func:`render_html` / :func:`write_report` (files). matplotlib is imported only when
figures are made. A new section is one module (:mod:`passlens.report.section`).

Example::

    from passlens.report import make_report
    report = make_report([], out_dir="passlens-report")   # bundled DeepScaleR base vs RL
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from .build import Report, ReportSettings, build_report, distinct_correct, phat_histogram
from .output import check_out_dir, load_groups, write_report
from .section import Section
from .sections import register
from .terminal import print_summary

__all__ = [
    "Report",
    "ReportSettings",
    "Section",
    "register",
    "build_report",
    "distinct_correct",
    "phat_histogram",
    "load_groups",
    "write_report",
    "check_out_dir",
    "print_summary",
    "make_figures",
    "figures_available",
    "render_html",
    "make_report",
]


def figures_available() -> bool:
    """Whether matplotlib (the ``plot`` extra) can be imported."""
    import importlib.util

    try:
        return importlib.util.find_spec("matplotlib") is not None
    except (ImportError, ValueError):  # a module set to None in sys.modules, or a broken install
        return False


def make_figures(report: Report) -> dict[str, bytes]:
    """PNG bytes per figure name, one per section that draws one (see :func:`passlens.report.plots.make_figures`).

    matplotlib is the optional ``plot`` extra: without it this returns no figures
    (the report keeps its tables and verdict; :func:`figures_available` tells why).
    """
    if not figures_available():
        return {}
    from .plots import make_figures as _make

    return _make(report)


def render_html(report: Report, figures: dict[str, bytes]) -> str:
    """The self-contained page (see :func:`passlens.report.html.render_html`)."""
    from .html import render_html as _render

    return _render(report, figures)


def make_report(
    paths: Sequence[str | Path],
    settings: ReportSettings | None = None,
    *,
    out_dir: str | Path | None = None,
    html: bool = True,
    by: str | None = None,
    threshold: float | None = None,
    **columns: Any,
) -> Report:
    """Read, compute, and (with ``out_dir``) write the report folder; returns the :class:`Report`.

    Args:
      paths: inputs as for :func:`load_groups` (empty: the bundled DeepScaleR pair).
      settings: :class:`ReportSettings`.
      out_dir: folder to write (atomically replaced), or None to only compute.
      html: also write report.html.
      by, threshold, columns: passed to :func:`load_groups`.
    """
    if out_dir is not None:
        check_out_dir(out_dir)  # before the work, not after
    groups, inputs, label_name = load_groups(paths, by=by, threshold=threshold, **columns)
    report = build_report(groups, settings, inputs=inputs, label_name=label_name)
    if out_dir is not None:
        figures = make_figures(report)
        page = render_html(report, figures) if html else None
        write_report(report.metrics, figures, out_dir, html=page)
    return report
