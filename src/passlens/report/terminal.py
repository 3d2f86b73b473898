"""Terminal summary of the exploration report (rich): each section's lines in registry order, the verdict, the notes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from .build import Report

__all__ = ["print_summary"]


def print_summary(report: Report, console: Console | None = None) -> None:
    """Print the key numbers and the verdict.

    Args:
      report: :class:`passlens.report.build.Report` (of :func:`~passlens.report.build.build_report`).
      console: where to print (default: a new stdout console). Pass one made with emoji=False:
        labels are escaped as markup, but emoji codes such as ":A:" would still be replaced.
    """
    from .build import Report

    if not isinstance(report, Report):
        raise TypeError(f"print_summary takes the Report of build_report, got {type(report).__name__}")
    con = console or Console(emoji=False)  # emoji codes in labels (":A:") stay as written
    for section in (*report.sections, report.verdict):
        for renderable in section.terminal():
            con.print(renderable)
    for note in report.notes:
        con.print(f"  note: {escape(note)}", style="dim")
