"""Answer diversity (in the collapse diagnostics): distinct correct answers per problem and coverage@k.

Where the rows carry answers: the distinct correct answers observed per problem and the
unbiased coverage@k = Σ_{a correct} [1 − C(n − m_a, k)/C(n, k)] (expected number of distinct
correct answers among k samples; :func:`passlens.coverage_at_k`), averaged over problems on
the powers-of-two budgets. pass@k cannot see this: it depends only on the total probability
of a correct answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from ..._validate import pow2_grid
from ...estimators import coverage_at_k
from .. import html as h
from ..section import Context, ReportInfo, Section, value, value_at

__all__ = ["Answers", "AnswerDiversity", "distinct_correct"]


def distinct_correct(correct: Sequence[np.ndarray]) -> np.ndarray:
    """Distinct correct answers observed per problem.

    Args:
      correct: list of P bool arrays (m_i,), whether each distinct answer is correct.

    Returns:
      int64 (P,), Σ_a 1[a correct].
    """
    return np.array([int(np.count_nonzero(c)) for c in correct], dtype=np.int64)


@dataclass(frozen=True, eq=False)
class AnswerDiversity:
    """One group's answer diversity.

    Attributes:
      distinct_correct_mean, distinct_correct_median: of the distinct correct answers per problem.
      frac_two_or_more_correct: fraction of problems with at least two distinct correct answers.
      coverage_k: int (K,), budgets (powers of two up to the smallest n, and it).
      coverage_mean: float (K,), mean coverage@k over problems.
    """

    distinct_correct_mean: float
    distinct_correct_median: float
    frac_two_or_more_correct: float
    coverage_k: np.ndarray
    coverage_mean: np.ndarray

    def coverage_at(self, k: int) -> float | None:
        return value_at(self.coverage_k, self.coverage_mean, k)

    def to_dict(self) -> dict[str, Any]:
        return {
            "distinct_correct_mean": self.distinct_correct_mean,
            "distinct_correct_median": self.distinct_correct_median,
            "frac_two_or_more_correct": self.frac_two_or_more_correct,
            "coverage_k": self.coverage_k.tolist(),
            "coverage_mean": self.coverage_mean.tolist(),
        }


@dataclass(frozen=True, eq=False)
class Answers(Section):
    """Answer diversity of the groups whose rows carry answers.

    Attributes:
      info: the report's :class:`~passlens.report.section.ReportInfo`.
      groups: label → :class:`AnswerDiversity`, only for groups with answers (may be empty).
    """

    stage = "groups"

    info: ReportInfo
    groups: Mapping[str, AnswerDiversity]

    @classmethod
    def build(cls, ctx: Context) -> Answers:
        out: dict[str, AnswerDiversity] = {}
        for label, table in ctx.tables.items():
            if table.votes is None or table.vote_correct is None:
                continue
            d = distinct_correct(table.vote_correct)
            cov_ks = pow2_grid(ctx.info.groups[label].n_min)
            cov = coverage_at_k(table.votes, table.vote_correct, cov_ks, ids=table.ids).mean(axis=0)
            out[label] = AnswerDiversity(
                distinct_correct_mean=float(d.mean()),
                distinct_correct_median=float(np.median(d)),
                frac_two_or_more_correct=float(np.mean(d >= 2)),
                coverage_k=cov_ks,
                coverage_mean=cov,
            )
        return cls(ctx.info, out)

    def to_dict(self) -> dict[str, Any]:
        return {"groups": {label: {"answers": a.to_dict()} for label, a in self.groups.items()}}

    def html(self, figures: Mapping[str, bytes]) -> str:
        info = self.info
        answers = [g for g in info.labels if g in self.groups]
        if not answers:
            return ""
        out = ["<h3>Distinct correct answers (answer classes)</h3>"]
        cks = self.groups[answers[0]].coverage_k.tolist()
        head = ["group", "distinct correct / problem (mean)", "median", "≥ 2 correct answers"] + [
            f"coverage@{k}" for k in cks]
        rows = []
        for g in answers:
            a = self.groups[g]
            rows.append([h.name(info, g), h.num(value(a.distinct_correct_mean), 3),
                         h.num(value(a.distinct_correct_median), 1),
                         h.pct(a.frac_two_or_more_correct)] + [h.num(a.coverage_at(k), 3) for k in cks])
        out.append(h.table(head, rows))
        out.append("<p class='muted'>coverage@k = expected number of distinct correct answers among k samples "
                   "(unbiased from answer counts). pass@k cannot see this: it depends only on the total "
                   "probability of a correct answer.</p>")
        return "\n".join(out)
