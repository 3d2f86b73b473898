"""The report's sections, one module each, and the registry that orders them.

==============  ==============================================  ==================  ====================
module          shows                                           figure              metrics.json
==============  ==============================================  ==================  ====================
overview        terminal table: one row per group               —                   —
curves          1. pass@k-family curves with intervals          curves.png          groups.*.curves
comparison      2. paired comparison, lost / gained problems    comparison.png      comparisons
collapse        3. collapse diagnostics: theory, p̂ histogram    collapse.png        groups.*.theory, .phat_hist
answers         distinct correct answers, coverage@k            —                   groups.*.answers
series          headline numbers per group (for a series)       series.png          trend
per_problem     4. per-problem view of the last comparison      per_problem.png     —
==============  ==============================================  ==================  ====================

The registry order is the order of the page, the terminal summary, the figures and the keys
of metrics.json; the verdict (:mod:`passlens.report.verdict`) reads the sections and sits at
the top of the page. A new section is one new module: a :class:`~passlens.report.section.Section`
subclass passed to :func:`register` (see :mod:`passlens.report.section` for the protocol).
"""

from __future__ import annotations

from typing import TypeVar

from ..section import Section
from .answers import Answers
from .collapse import Collapse
from .comparison import Comparisons
from .curves import Curves
from .overview import Overview
from .per_problem import PerProblem
from .series import Series

__all__ = ["SECTIONS", "register", "Overview", "Curves", "Comparisons", "Collapse", "Answers", "Series", "PerProblem"]

#: The sections of every report, in page order.
SECTIONS: list[type[Section]] = [Overview, Curves, Comparisons, Collapse, Answers, Series, PerProblem]

T = TypeVar("T", bound=type[Section])


def register(section: T, *, before: type[Section] | None = None) -> T:
    """Add a section to every report (at the end, or before another); returns it, so it can decorate the class.

    Raises:
      ValueError: not a Section subclass, already registered, or ``before`` is not registered.
    """
    if not (isinstance(section, type) and issubclass(section, Section)):
        raise ValueError(f"register takes a Section subclass, got {section!r}")
    if section in SECTIONS:
        raise ValueError(f"{section.__name__} is already registered")
    if before is not None and before not in SECTIONS:
        raise ValueError(f"{before.__name__} is not registered")
    SECTIONS.insert(SECTIONS.index(before) if before is not None else len(SECTIONS), section)
    return section
