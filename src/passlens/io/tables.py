"""What a read returns: per-group :class:`ProblemTable` s in a :class:`Dataset`, and the errors."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from .._validate import as_counts

__all__ = ["InputError", "MixedGroupError", "ProblemTable", "Dataset", "from_counts", "group_order"]


class InputError(ValueError):
    """Bad input: a one-line message ``"<file>:<line>: <problem>"`` or ``"<file>: <problem>"``."""


class MixedGroupError(InputError):
    """A problem's rows carry several values of a model / checkpoint / step / filter ``column``;
    ``located`` is the message up to the advice (which names ``by=``, the fix for :func:`read`)."""

    def __init__(self, located: str, column: str) -> None:
        super().__init__(f"{located}; pass by={column!r} (--by {column}) to compare them separately")
        self.located, self.column = located, column


@dataclass(frozen=True, eq=False)  # arrays inside: compare fields explicitly, not with ==
class ProblemTable:
    """Per-problem sufficient statistics of one group, problems sorted by id.

    Attributes:
      ids: object (P,) of str, sorted lexicographically (as strings).
      n: int64 (P,), samples per problem, ≥ 1.
      c: int64 (P,), correct samples per problem, 0 ≤ c ≤ n; ``None`` when the
        rewards are not all 0/1 and no threshold was given.
      rewards: list of P float64 arrays (n_i,), each sorted ascending (sample
        order carries no information for any estimator); ``None`` for count
        input, and for binary rewards unless ``keep_rewards=True``.
      votes: list of P int64 arrays (m_i,), the number of samples giving each
        distinct answer (answers in lexicographic order); ``None`` without an
        answer column.
      vote_correct: list of P bool arrays (m_i,), whether each answer is correct;
        ``None`` without an answer column, when correctness is undefined (non-binary
        rewards, no threshold), or when some answer has both correct and incorrect
        samples (see ``answer_conflict``).
      nonbinary_at: ``"file:line"`` (or ``"file: row r"``) of the group's first
        reward not in {0, 1}; ``None`` when all rewards are 0/1.
      answer_conflict: where an answer first has both correct and incorrect samples
        (one line naming both rows), else ``None``.
    """

    ids: np.ndarray
    n: np.ndarray
    c: np.ndarray | None = None
    rewards: list[np.ndarray] | None = None
    votes: list[np.ndarray] | None = None
    vote_correct: list[np.ndarray] | None = None
    nonbinary_at: str | None = None
    answer_conflict: str | None = None

    def __post_init__(self) -> None:
        p = self.ids.shape[0]
        if self.ids.ndim != 1 or self.n.shape != (p,) or (self.c is not None and self.c.shape != (p,)):
            raise ValueError(f"ProblemTable: ids, n, c must all have shape ({p},)")
        for name in ("rewards", "votes", "vote_correct"):
            v = getattr(self, name)
            if v is not None and len(v) != p:
                raise ValueError(f"ProblemTable: {name} has {len(v)} entries for {p} problems")


@dataclass(frozen=True, eq=False)
class Dataset:
    """Everything read from one or more inputs.

    Attributes:
      groups: group label → :class:`ProblemTable`, in natural label order
        (``""`` when there is no grouping; see :func:`group_order`).
      shape: ``"samples"`` (one row per sample) or ``"counts"`` (one row per problem).
      by: the column grouped by, ``"file"`` when grouped by file stem, else ``None``.
      files: the inputs as given (``source`` for frames).
      sha256: hex digest of each input file (frames have none).
      rows: records read (including skipped empty ones); samples, where a reward column holds lists.
      notes: one human-readable line per thing ignored, skipped or decided.
    """

    groups: dict[str, ProblemTable]
    shape: Literal["samples", "counts"]
    by: str | None
    files: list[str]
    sha256: dict[str, str]
    rows: int
    notes: list[str]


def from_counts(ids: Any, n: Any, c: Any, *, group: str = "") -> ProblemTable:
    """A :class:`ProblemTable` from per-problem arrays, validated and sorted by id.

    Args:
      ids: (P,) problem ids (converted with ``str``), unique, not None or "".
      n: int array (P,), samples per problem, ≥ 1.
      c: int array (P,), correct samples, 0 ≤ c ≤ n.
      group: group name used in error messages.

    Returns:
      ProblemTable with ids object (P,), n int64 (P,), c int64 (P,).
    """
    where = f"group {group!r}: " if group else ""
    id_list = list(np.asarray(ids, dtype=object).ravel()) if np.ndim(ids) else [ids]
    for i, v in enumerate(id_list):
        if v is None or (isinstance(v, float) and math.isnan(v)):
            raise InputError(f"{where}problem index {i}: missing id")
        if v == "":
            raise InputError(f"{where}problem index {i}: empty id")  # as read() treats ""
    str_ids = np.array([str(v) for v in id_list], dtype=object)
    try:
        n_arr, c_arr = as_counts(n, c, str_ids)  # (also checks one id per problem)
    except ValueError as e:
        raise InputError(f"{where}{e}") from None
    order = np.argsort(str_ids.astype(str), kind="stable")
    sorted_ids = str_ids[order]
    same = np.flatnonzero(sorted_ids[1:] == sorted_ids[:-1])
    if same.size:
        dup = sorted_ids[same[0]]
        where_dup = [i for i, v in enumerate(str_ids) if v == dup][:2]
        raise InputError(f"{where}duplicate problem id {dup!r} at indices {where_dup[0]} and {where_dup[1]}")
    return ProblemTable(ids=sorted_ids, n=n_arr[order], c=c_arr[order])


def _natural_key(label: str) -> tuple[Any, ...]:
    parts = re.split(r"(\d+)", label)
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts if p != "")


def group_order(labels: Sequence[str]) -> list[str]:
    """The order of :attr:`Dataset.groups`: numeric labels numerically (steps), else natural
    order ("ckpt-2" < "ckpt-10")."""
    try:
        values = [float(v) for v in labels]
        if all(math.isfinite(v) for v in values):
            return [lab for _, lab in sorted(zip(values, labels))]
    except ValueError:
        pass
    return sorted(labels, key=lambda s: (_natural_key(s), s))
