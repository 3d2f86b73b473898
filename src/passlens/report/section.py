"""What a report section is: a typed object with its part of metrics.json, its HTML, its terminal lines and its figure.

A section is a frozen dataclass built from the report's inputs and typed results
(:class:`~passlens.uncertainty.Curve`, :class:`~passlens.uncertainty.Comparison`,
:class:`~passlens.theory.TheorySummary`, …), in the spirit of scikit-learn's ``*Display``
objects: it holds what it shows, and renders it::

    @dataclass(frozen=True)
    class MySection(Section):
        stage = "groups"                      # when it is built (see STAGES)
        figure_name = "mine.png"              # optional: its figure file and caption
        figure_title = "What the figure shows"

        info: ReportInfo                      # names, settings, headline budgets
        values: Mapping[str, float]           # what it shows, typed

        @classmethod
        def build(cls, ctx: Context) -> MySection | None:   # None: not part of this report
            return cls(ctx.info, {g: float(t.c.mean()) for g, t in ctx.tables.items()})

        def to_dict(self) -> dict[str, Any]:  # its subtree of metrics.json (merged with the others')
            return {"groups": {g: {"mine": v} for g, v in self.values.items()}}

        def html(self, figures: Mapping[str, bytes]) -> str: ...      # its part of the page ('' for none)
        def terminal(self) -> list[RenderableType]: ...               # printed in the summary
        def figure(self) -> Any: ...                                   # a matplotlib Figure, or None

and is registered with :func:`passlens.report.sections.register` (the registry orders the page,
the terminal summary, the figures and the keys of metrics.json). Everything a section reads
from another section it reads through typed fields (:meth:`Context.section`).

Building goes by stage, and within a stage in registry order: ``"groups"`` sections read each
group's table, ``"pairs"`` sections compare groups, ``"summary"`` sections read other sections.
Notes left while building (:meth:`Context.note`) keep that order; :meth:`Section.footnotes`
(how to read a section's numbers) follow them, in registry order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Mapping, Sequence, TypeVar

import numpy as np

if TYPE_CHECKING:
    from rich.console import RenderableType

    from .build import ReportSettings

__all__ = ["Section", "Context", "ReportInfo", "GroupInfo", "Stage", "STAGES", "value", "value_at"]

#: When a section is built: from the group tables, from pairs of groups, from other sections.
Stage = Literal["groups", "pairs", "summary"]
STAGES: tuple[Stage, ...] = ("groups", "pairs", "summary")

S = TypeVar("S", bound="Section")


def value(x: Any) -> float | None:
    """A statistic as metrics.json holds it: a float, or None where it is undefined (NaN, ±inf)."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def value_at(ks: np.ndarray | Sequence[int], values: np.ndarray | Sequence[Any], k: int) -> float | None:
    """``values`` at budget ``k`` of the grid ``ks`` (:func:`value`), or None when k is not on the grid."""
    grid = ks.tolist() if isinstance(ks, np.ndarray) else list(ks)
    return value(values[grid.index(k)]) if k in grid else None


@dataclass(frozen=True)
class GroupInfo:
    """One group's size and the plan of its curves.

    Attributes:
      problems: P.
      n_min, n_max: fewest and most samples of a problem.
      large: over the large-input threshold (analytic intervals on a log-spaced grid).
      method: interval method of its curves ("bootstrap" or "analytic").
      ks: int (K,), budgets of its curves.
    """

    problems: int
    n_min: int
    n_max: int
    large: bool
    method: str
    ks: np.ndarray = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "problems": self.problems,
            "n_min": self.n_min,
            "n_max": self.n_max,
            "large_input": self.large,
            "interval_method": self.method,
        }


@dataclass(frozen=True)
class ReportInfo:
    """What every section may show: the groups in order, their names, the settings and the headline budgets.

    Attributes:
      kind: "single", "pair" or "series".
      labels: group labels in report order (the first is A).
      display_names: label → how the page names it ("step 400", "rl", "data").
      label_name: what the labels are ("step", "model", "file") or None.
      settings: the :class:`~passlens.report.build.ReportSettings`.
      groups: label → :class:`GroupInfo`.
      k_top: the largest budget every group has (min n over groups).
      k_signal: the budget of the signal headline (:func:`~passlens.report.build._signal_k`).
    """

    kind: str
    labels: tuple[str, ...]
    display_names: Mapping[str, str]
    label_name: str | None
    settings: ReportSettings
    groups: Mapping[str, GroupInfo]
    k_top: int
    k_signal: int

    def name(self, label: str) -> str:
        """The display name of a group."""
        return self.display_names.get(label) or label or "data"


class Context:
    """What building a section reads (the report's info, the group tables, the sections built before it)
    and where it leaves notes.

    Attributes:
      info: :class:`ReportInfo`.
      tables: label → the group's table (``ids``, ``n``, ``c``; optionally ``rewards``, ``votes``,
        ``vote_correct``), in report order.
      large_cells: problem × budget cells above which an input is large (the report's plan).
      notes: the report's notes so far (input notes first).
    """

    def __init__(self, info: ReportInfo, tables: Mapping[str, Any], *, large_cells: int, notes: Sequence[str] = ()):
        self.info = info
        self.tables = tables
        self.large_cells = large_cells
        self.notes: list[str] = list(notes)
        self._built: dict[type[Section], Section] = {}

    def note(self, text: str) -> None:
        """Add a note (shown under the report and in metrics.json ``notes``)."""
        self.notes.append(text)

    def section(self, cls: type[S]) -> S:
        """The built section of type ``cls``.

        Raises:
          LookupError: it is not built (not registered, built later, or not part of this report).
        """
        got = self._built.get(cls)
        if got is None:
            raise LookupError(f"section {cls.__name__} is not built before this one (or not part of this report)")
        return got  # type: ignore[return-value]

    def find(self, cls: type[S]) -> S | None:
        """The built section of type ``cls``, or None."""
        return self._built.get(cls)  # type: ignore[return-value]

    def add(self, section: Section) -> None:
        self._built[type(section)] = section


class Section:
    """Base of the report's sections: defaults for everything a section may leave out (see the module docstring).

    Subclasses are frozen dataclasses; ``build`` is the one method each must define.
    """

    #: When it is built (see :data:`STAGES`).
    stage: ClassVar[Stage] = "summary"
    #: File name of its figure ("curves.png"), or None for no figure.
    figure_name: ClassVar[str | None] = None
    #: Caption of its figure on the page.
    figure_title: ClassVar[str] = ""

    @classmethod
    def build(cls: type[S], ctx: Context) -> S | None:
        """The section for this report, or None when it has nothing to show here."""
        raise NotImplementedError(f"{cls.__name__}.build")

    def to_dict(self) -> dict[str, Any]:
        """Its subtree of metrics.json: the report merges the sections' subtrees (a key written twice is an error)."""
        return {}

    def html(self, figures: Mapping[str, bytes]) -> str:
        """Its part of the page ('' for none); ``figures`` maps file names to PNG bytes (may lack its own)."""
        return ""

    def terminal(self) -> list[RenderableType]:
        """What the terminal summary prints for it (rich renderables; a str is printed as rich markup)."""
        return []

    def figure(self) -> Any:
        """Its figure (a matplotlib ``Figure``; matplotlib imported here, on use), or None."""
        return None

    def footnotes(self) -> list[str]:
        """How to read its numbers: notes added after those left while building."""
        return []
