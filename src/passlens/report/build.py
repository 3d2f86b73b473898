"""The report's frame: settings, the groups' plan, the sections built in order, and metrics.json.

No plotting and no printing here. :func:`build_report` checks the settings and each group
(its size, budgets and interval method: :class:`~passlens.report.section.GroupInfo`), builds
every registered section (:mod:`passlens.report.sections`: curves, paired comparison,
collapse diagnostics, answer diversity, series, per-problem view) and the verdict from
them, and returns a :class:`Report`. Its ``metrics`` — metrics.json — is the sections'
``to_dict()`` subtrees merged under a header, so the terminal summary, the HTML page and
the file are views of the same typed objects and cannot disagree.

What the sections compute, per group (a model, a checkpoint, a training step):

* pass@k curves with confidence intervals (:func:`passlens.curve`), pass^k on
  request, max@k when continuous rewards are present, maj@k and coverage@k when answers are;
* the pass@k theory summary (:func:`passlens.theory.summarize`: α̂_k, signal
  ŝ_k and its share per difficulty bucket, polarized problems, expected
  zero-signal group fraction at the training group size G, mean gap
  pass@k − pass@1) — the instrument of Yu 2025 (arXiv 2511.16231);
* a histogram of the per-problem p̂ = c/n;
* with answers: distinct correct answers observed per problem and the unbiased
  coverage@k = Σ_{a correct} [1 − C(n − m_a, k)/C(n, k)] (expected number of
  distinct correct answers among k samples).

Between groups: a pair (two groups) is B against A; a series (three or more,
e.g. training steps) compares **every group against the first** (the question
is what training changed relative to its start), with the paired simultaneous
band of :func:`passlens.compare`, plus the problems lost (solved at least once
before, never after) and gained.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Mapping, TypeVar

import numpy as np

from .._json import json_ready
from .._validate import log_grid, pow2_grid
from . import sections as _registry
from .section import STAGES, Context, GroupInfo, ReportInfo, Section
from .sections.answers import distinct_correct
from .sections.collapse import HIST_BINS, phat_histogram
from .sections.comparison import Comparisons
from .verdict import Verdict

__all__ = [
    "ReportSettings",
    "Report",
    "build_report",
    "distinct_correct",
    "phat_histogram",
    "LARGE_CELLS",
    "SCHEMA_VERSION",
    "HIST_BINS",
]

#: Version of the metrics.json layout. 1: the first versioned one (the layout of passlens 0.1.0,
#: with ``curves.coverage`` where answers exist). Readers should check it; fields are only added
#: within a version.
SCHEMA_VERSION = 1

#: Above this many (problem × budget) cells per group the report switches to its large-input plan:
#: analytic curve intervals on a log-spaced k grid, the comparison on powers of two with fewer draws.
LARGE_CELLS = 2_000_000

S = TypeVar("S", bound=Section)


@dataclass(frozen=True)
class ReportSettings:
    """How the report is computed.

    Attributes:
      ks: budgets (K,) for the curves and comparisons; None → the ``grid``.
      grid: with ks None, "all" → 1..min n of each group/pair (a log-spaced subset of it for
        large inputs), "pow2" → 1, 2, 4, … ≤ min n plus min n.
      ci: level of the per-curve intervals.
      alpha: family-wise error of the comparison's simultaneous band.
      n_boot: bootstrap replicates (curves) and multiplier draws (comparisons).
      seed: seed of every random draw.
      group_size: training group size G of the zero-signal fraction.
      passhat: also compute pass^k.
      method: "auto" (bootstrap, analytic for large inputs), "bootstrap" or "analytic".
      max_listed: at most this many lost / gained problem ids are listed on the page
        (metrics.json holds all of them).
    """

    ks: tuple[int, ...] | None = None
    grid: str = "all"
    ci: float = 0.95
    alpha: float = 0.05
    n_boot: int = 2000
    seed: int = 0
    group_size: int = 16
    passhat: bool = False
    method: str = "auto"
    max_listed: int = 40

    def to_dict(self) -> dict[str, Any]:
        """metrics.json ``settings`` (``max_listed`` is a page setting and stays out)."""
        return {
            "ks": list(self.ks) if self.ks is not None else None,
            "grid": self.grid,
            "ci": self.ci,
            "alpha": self.alpha,
            "n_boot": self.n_boot,
            "seed": self.seed,
            "group_size": self.group_size,
            "passhat": self.passhat,
            "method": self.method,
        }

    def budgets(self, n_min: int, large: bool) -> np.ndarray:
        """The budget grid int (K,) for curves over problems with at least ``n_min`` samples.

        ``ks`` when given; else ``grid``: "pow2" → 1, 2, 4, … ≤ n_min plus n_min; "all" → 1..n_min,
        or a log-spaced subset of it for a ``large`` input.
        """
        if self.ks is not None:
            ks = np.asarray(sorted(set(int(v) for v in self.ks)), dtype=np.int64)
            if ks.size == 0 or ks.min() < 1:
                raise ValueError(f"--k: budgets must be ≥ 1, got {list(self.ks)}")
            return ks
        if self.grid not in ("all", "pow2"):
            raise ValueError(f"grid must be 'all' or 'pow2', got {self.grid!r}")
        if self.grid == "pow2":
            return pow2_grid(n_min)
        return log_grid(n_min) if large else np.arange(1, n_min + 1, dtype=np.int64)

    def interval_method(self, large: bool) -> str:
        """The curve interval method: ``method``, where "auto" is analytic for a large input, else bootstrap."""
        if self.method not in ("auto", "bootstrap", "analytic"):
            raise ValueError(f"method must be 'auto', 'bootstrap' or 'analytic', got {self.method!r}")
        if self.method == "auto":
            return "analytic" if large else "bootstrap"
        return self.method


@dataclass(frozen=True, eq=False)
class Report:
    """The report: typed sections in registry order, the verdict and the notes.

    ``report[Curves]`` is the built section of that type; ``metrics`` is metrics.json.

    Attributes:
      info: names, settings, each group's plan and the headline budgets (:class:`ReportInfo`).
      sections: the built sections (:class:`~passlens.report.section.Section`), in registry order.
      verdict: :class:`~passlens.report.verdict.Verdict`.
      notes: caveats found while building, then the sections' footnotes, then the report's plan.
      inputs: provenance (files, sha256, source, …) without its notes.
      version: the passlens version that built it.
    """

    info: ReportInfo
    sections: tuple[Section, ...]
    verdict: Verdict
    notes: tuple[str, ...]
    inputs: Mapping[str, Any]
    version: str

    def __getitem__(self, cls: type[S]) -> S:
        for section in self.sections:
            if type(section) is cls:
                return section
        raise KeyError(f"no {cls.__name__} section in this report")

    def get(self, cls: type[S]) -> S | None:
        """The section of type ``cls``, or None when this report has none."""
        try:
            return self[cls]
        except KeyError:
            return None

    @property
    def pairs(self) -> list[tuple[str, str]]:
        """(label A, label B) of each paired comparison, in order."""
        comps = self.get(Comparisons)
        return [(p.a, p.b) for p in comps.pairs] if comps is not None else []

    @cached_property
    def metrics(self) -> dict[str, Any]:
        """metrics.json: a header, then each section's ``to_dict()`` merged in registry order, the notes and
        the verdict (plain JSON values; None for NaN)."""
        info = self.info
        out: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "passlens_version": self.version,
            "kind": info.kind,
            "label_name": info.label_name,
            "comparison_scheme": {"series": "each group vs the first", "pair": "B vs A"}.get(info.kind),
            "settings": info.settings.to_dict(),
            "inputs": dict(self.inputs),
            "labels": list(info.labels),
            "display_names": dict(info.display_names),
            "k_top": info.k_top,
            "k_signal": info.k_signal,
            "groups": {label: info.groups[label].to_dict() for label in info.labels},
        }
        for section in self.sections:
            _merge(out, section.to_dict(), type(section).__name__)
        out["notes"] = list(self.notes)
        _merge(out, self.verdict.to_dict(), "Verdict")
        return json_ready(out)


def _merge(into: dict[str, Any], part: Mapping[str, Any], who: str, path: str = "") -> None:
    """Merge a section's metrics.json subtree into the report's (dicts merge; any other value is written once)."""
    for key, val in part.items():
        if key not in into:
            into[key] = val
        elif isinstance(into[key], dict) and isinstance(val, Mapping):
            _merge(into[key], val, who, f"{path}{key}.")
        else:
            raise ValueError(f"section {who} writes metrics.json key {path}{key}, which is already written")


def _signal_k(n_min: int) -> int:
    """Budget for the signal headline: 8, or the largest power of two with 4k ≤ n (k = 1 below n = 4).

    ŝ_k needs n ≥ 2k, but it is non-zero only for c ≤ n − 2k + 1: at n = 2k every problem
    with c ≥ 2 shows zero signal, and the share by difficulty bucket of p̂ = c/n piles into
    the lowest bucket. With 4k ≤ n problems up to p̂ ≈ 1/2 keep their signal, beyond which
    k²p(1 − p)^{2k−1} is small anyway.
    """
    k = 8
    while k > 1 and 4 * k > n_min:
        k //= 2
    return k


def display_name(label: str, label_name: str | None) -> str:
    """How the page names a group: "step 400" for numeric labels of a step-like column, else the label."""
    if not label:
        return "data"
    if label_name and label_name not in ("file", "model"):
        try:
            float(label)
        except ValueError:
            return label
        return f"{label_name} {label}"
    return label


def _group_info(label: str, table: Any, settings: ReportSettings, notes: list[str]) -> GroupInfo:
    """A group's size and plan; one-line errors for what no section could report on."""
    if table.c is None:
        other = next((note for note in notes if "also reward-like" in note), None)
        raise ValueError(
            f"group {label or '(all)'}: rewards are not all 0/1 (first at {table.nonbinary_at}); "
            "use --threshold T to binarize" + (f"; {other}" if other else "")
        )
    n, ids = table.n, table.ids
    P = int(n.size)
    n_min, n_max = int(n.min()), int(n.max())
    large = P * n_min > LARGE_CELLS
    ks = settings.budgets(n_min, large)
    if int(ks[-1]) > n_min:
        short = np.flatnonzero(n < int(ks[-1]))
        raise ValueError(
            f"group {label or '(all)'}: k={int(ks[-1])} exceeds n={int(n[short[0]])} of problem {ids[short[0]]!r}"
            f" ({short.size} problem(s) have n < {int(ks[-1])}; no unbiased estimate exists for k > n)"
        )
    return GroupInfo(problems=P, n_min=n_min, n_max=n_max, large=large, method=settings.interval_method(large), ks=ks)


def build_report(
    groups: dict[str, Any],
    settings: ReportSettings | None = None,
    *,
    inputs: dict[str, Any] | None = None,
    kind: str | None = None,
    label_name: str | None = None,
) -> Report:
    """Compute every number of the report: each registered section, then the verdict.

    Args:
      groups: ordered label → table with ``ids`` object (P,), ``n`` int (P,),
        ``c`` int (P,) (and optionally ``rewards``, ``votes``, ``vote_correct``),
        e.g. :attr:`passlens.io.Dataset.groups`. One group: a single-model
        report; two: a pair (B = second vs A = first); three or more: a series
        (each group vs the first).
      settings: :class:`ReportSettings`.
      inputs: provenance copied into metrics["inputs"] (files, sha256, notes).
      kind: force "single" | "pair" | "series" (default from the number of groups).
      label_name: what the labels are ("step", "model", "file") for axis titles.

    Returns:
      :class:`Report`.
    """
    from .._version import __version__

    settings = settings or ReportSettings()
    if not groups:
        raise ValueError("no groups to report on (empty input)")
    if not (0.0 < settings.ci < 1.0):
        raise ValueError(f"--ci must be in (0, 1), got {settings.ci}")
    if not (0.0 < settings.alpha < 1.0):
        raise ValueError(f"--alpha must be in (0, 1), got {settings.alpha}")
    if settings.n_boot < 2:
        raise ValueError(f"--n-boot must be ≥ 2, got {settings.n_boot}")
    if settings.group_size < 1:
        raise ValueError(f"--group-size must be ≥ 1, got {settings.group_size}")
    labels = list(groups)
    kind = kind or ("single" if len(labels) == 1 else "pair" if len(labels) == 2 else "series")
    notes: list[str] = list((inputs or {}).get("notes", []))
    plans = {lab: _group_info(lab, groups[lab], settings, notes) for lab in labels}
    k_top = min(g.n_min for g in plans.values())
    info = ReportInfo(
        kind=kind,
        labels=tuple(labels),
        display_names={lab: display_name(lab, label_name) for lab in labels},
        label_name=label_name,
        settings=settings,
        groups=plans,
        k_top=k_top,
        k_signal=_signal_k(k_top),
    )
    ctx = Context(info, groups, large_cells=LARGE_CELLS, notes=notes)
    registry = list(_registry.SECTIONS)
    for stage in STAGES:
        for cls in registry:
            if cls.stage == stage:
                section = cls.build(ctx)
                if section is not None:
                    ctx.add(section)
    built = tuple(s for s in (ctx.find(cls) for cls in registry) if s is not None)
    for section in built:
        for note in section.footnotes():
            ctx.note(note)
    if any(g.large for g in plans.values()):
        ctx.note(
            f"large input (more than {LARGE_CELLS:,} problem×budget cells in a group): curve intervals are "
            "analytic (mean ± t·SE) on a log-spaced k grid, and comparisons use the powers-of-two grid "
            "with fewer multiplier draws (see each comparison's n_boot)."
        )
    return Report(
        info=info,
        sections=built,
        verdict=Verdict.build(ctx),
        notes=tuple(ctx.notes),
        inputs={k: v for k, v in (inputs or {}).items() if k != "notes"},
        version=__version__,
    )
