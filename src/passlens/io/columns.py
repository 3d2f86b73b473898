"""Which column plays which role (problem id, reward, c, n, answer, sample id, group), and the row shape.

Roles are found from common spellings (:data:`COLUMN_SPELLINGS`) or named by the
caller (:class:`Options`); :func:`resolve` maps one input's columns to a :class:`Mapping`,
:func:`harmonize` keeps the optional roles that every input has.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

from .tables import InputError

__all__ = [
    "COLUMN_SPELLINGS",
    "RUN_COLUMNS",
    "OPTION_OF_ROLE",
    "Options",
    "Mapping",
    "make_options",
    "find",
    "resolve",
    "harmonize",
    "text_columns",
    "no_reward_message",
    "NO_REWARD_MAX",
]

#: Accepted column spellings per role, in order of preference (matched case-insensitively).
COLUMN_SPELLINGS: dict[str, tuple[str, ...]] = {
    "id": ("problem_id", "task_id", "doc_id", "prompt_id", "question_id", "id"),
    "reward": (
        "correct", "reward", "passed", "score", "acc", "is_correct", "exact_match", "rewards", "scores",
        "pass", "success", "resolved", "accuracy", "correctness", "is_solved", "solved",
        "graded_list", "raw_scored_generations", "pass_list", "results_list",
    ),
    "c": ("c", "num_correct", "n_correct", "correct_count", "successes", "num_successes", "num_passed", "n_passed"),
    "n": (
        "n", "num_samples", "n_samples", "samples", "trials", "num_trials", "n_trials",
        "total", "n_total", "num_total", "num_attempts", "n_attempts",
    ),
    "answer": ("answer", "pred", "prediction", "extracted_answer"),
    "sample": ("sample_id", "sample_idx", "sample", "seed_idx"),
    "group": ("model", "checkpoint", "step", "filter"),
}

#: Group-like columns that name a run: files that each hold one and the same value of one of
#: these are shards of one run (pooled). ``filter`` (the answer-extraction / grading variant,
#: as lm-evaluation-harness logs it: one row per (filter, doc)) says nothing about the run.
RUN_COLUMNS = ("model", "checkpoint", "step")

#: Reward-like spellings that, next to an n-like column, are read as the count c.
_COUNT_LIKE_REWARDS = ("correct", "passed")

#: The :class:`Options` field that names each role's column.
OPTION_OF_ROLE = {
    "id": "id_col",
    "reward": "reward_col",
    "c": "c_col",
    "n": "n_col",
    "answer": "answer_col",
    "sample": "sample_col",
}


@dataclass(frozen=True)
class Options:
    """The caller's choices, as given to :func:`passlens.io.read` (threshold checked)."""

    id_col: str | None
    reward_col: str | None
    c_col: str | None
    n_col: str | None
    answer_col: str | None
    sample_col: str | None
    by: str | None
    threshold: float | None
    binary: bool
    keep_rewards: bool | None


@dataclass(frozen=True)
class Mapping:
    """The column playing each role in one input, and its row shape."""

    shape: Literal["samples", "counts"]
    id: str
    reward: str | None
    c: str | None
    n: str | None
    answer: str | None
    sample: str | None
    by: str | None
    extras: tuple[str, ...]  # model/checkpoint/step/filter columns checked for mixing
    unused: tuple[str, ...]
    other_rewards: tuple[str, ...] = ()  # reward-like columns not chosen (auto-detection only)
    lists: tuple[str, ...] = ()  # list columns split into one sample per element (reward first)
    unwrap: tuple[str, ...] = ()  # answer / sample-id columns of one-element lists, read as the element


def make_options(
    id_col: str | None,
    reward_col: str | None,
    c_col: str | None,
    n_col: str | None,
    answer_col: str | None,
    sample_col: str | None,
    by: str | None,
    threshold: float | None,
    binary: bool,
    keep_rewards: bool | None,
) -> Options:
    if threshold is not None:
        try:
            threshold = float(threshold)
        except (TypeError, ValueError):
            raise InputError(f"threshold must be a number, got {threshold!r}") from None
        if not math.isfinite(threshold):
            raise InputError(f"threshold must be finite, got {threshold!r}")
    return Options(
        id_col, reward_col, c_col, n_col, answer_col, sample_col, by, threshold, bool(binary), keep_rewards
    )


def find(columns: Sequence[str], role: str) -> str | None:
    """The column spelled as ``role`` wants, exact spelling first, then case-insensitively."""
    lower: dict[str, str] = {}
    for col in columns:
        lower.setdefault(col.lower(), col)
    for spelling in COLUMN_SPELLINGS[role]:
        if spelling in columns:
            return spelling
        if spelling in lower:
            return lower[spelling]
    return None


def resolve(label: str, columns: list[str], opts: Options, candidates: Sequence[str] = ()) -> Mapping:
    """Pick the column of each role and the row shape of one input (named ``label`` in messages).

    ``candidates`` are the columns that could hold a reward (numbers, booleans, lists of them):
    the error for a missing reward column names a few of them.
    """

    def explicit(role: str) -> str | None:
        name = getattr(opts, OPTION_OF_ROLE[role])
        if name is not None and name not in columns:
            raise InputError(
                f"{label}: column {name!r} ({OPTION_OF_ROLE[role]}) not found; columns are {columns}"
            )
        return name

    def pick(role: str) -> str | None:
        return explicit(role) if getattr(opts, OPTION_OF_ROLE[role]) is not None else find(columns, role)

    id_ = pick("id")
    if id_ is None:
        raise InputError(
            f"{label}: no problem-id column; columns are {columns}; accepted spellings: "
            f"{', '.join(COLUMN_SPELLINGS['id'])} (or pass id_col= / --id-col)"
        )
    if opts.reward_col is not None and (opts.c_col is not None or opts.n_col is not None):
        raise InputError(
            f"{label}: give either reward_col (per-sample rows) or c_col/n_col (count rows), not both"
        )
    sample = pick("sample")
    reward = pick("reward")
    c = pick("c")
    n = pick("n")
    if opts.c_col is not None or opts.n_col is not None:
        counts = True
        if c is None and reward is not None and reward.lower() in _COUNT_LIKE_REWARDS:
            c, reward = reward, None
    elif opts.reward_col is not None:
        counts = False
    elif n is not None and sample is None and c is not None and reward is None:
        counts = True
    elif (
        n is not None
        and sample is None
        and c is None
        and reward is not None
        and reward.lower() in _COUNT_LIKE_REWARDS
    ):
        counts, c, reward = True, reward, None  # `correct` next to `n` is a count
    else:
        counts = False
    if counts and (c is None or n is None):
        missing = "c" if c is None else "n"
        raise InputError(
            f"{label}: count rows need a {missing} column; columns are {columns}; accepted spellings: "
            f"{', '.join(COLUMN_SPELLINGS[missing])} (or pass {missing}_col= / --{missing}-col)"
        )
    if not counts and reward is None and c is not None:
        raise InputError(
            f"{label}: count column {c!r} has no n column beside it; columns are {columns}; accepted "
            f"spellings for n: {', '.join(COLUMN_SPELLINGS['n'])} (or pass n_col= / --n-col)"
        )
    if not counts and reward is None:
        raise InputError(f"{label}: {no_reward_message([c for c in candidates if c != id_])}")
    answer = pick("answer")
    if opts.by is not None and opts.by not in columns:
        raise InputError(f"{label}: group column {opts.by!r} (by) not found; columns are {columns}")
    extras = []
    for col in columns:
        if col.lower() in COLUMN_SPELLINGS["group"] and col != opts.by:
            extras.append(col)
    if counts:
        used = {id_, c, n, opts.by, *extras}
        shape: Literal["samples", "counts"] = "counts"
        answer = sample = None
    else:
        used = {id_, reward, answer, sample, opts.by, *extras}
        shape = "samples"
        c = n = None
    unused = tuple(col for col in columns if col not in used)
    others: tuple[str, ...] = ()
    if shape == "samples" and opts.reward_col is None:
        spellings = COLUMN_SPELLINGS["reward"]
        others = tuple(col for col in columns if col.lower() in spellings and col != reward)
    return Mapping(shape, id_, reward, c, n, answer, sample, opts.by, tuple(extras), unused, others)


#: Longest "no reward column" message (after the file's name).
NO_REWARD_MAX = 200


def no_reward_message(candidates: Sequence[str]) -> str:
    """``no reward column (…); name it with --reward-col (candidates: …), …``: at most
    :data:`NO_REWARD_MAX` characters, naming up to three ``candidates`` (numeric or boolean columns
    of the input), long names cut; only the command-line options are named."""
    shown = [r if len(r := repr(c)) <= 22 else r[:20] + "…'" for c in candidates[:3]]
    more = ", …" if len(candidates) > 3 else ""
    hint = f" (candidates: {', '.join(shown)}{more})" if shown else ""
    # at most 70 + 14 + 3 × 22 + 2 × 2 + 3 + 1 + 34 = 192 characters (repr quotes included)
    return (
        f"no reward column (correct, reward, score, …); name it with --reward-col{hint}, "
        "or counts with --c-col and --n-col"
    )


def harmonize(labels: list[str], maps: list[Mapping], notes: list[str]) -> list[Mapping]:
    """Optional roles (answer, sample id, model columns) are used only when every input has them."""
    have_answer = all(m.answer for m in maps)
    have_sample = all(m.sample for m in maps)
    common = set(maps[0].extras).intersection(*(m.extras for m in maps))
    out = []
    for label, m in zip(labels, maps):
        dropped = [
            col for col, keep in ((m.answer, have_answer), (m.sample, have_sample)) if col and not keep
        ]
        dropped += [x for x in m.extras if x not in common]
        if dropped:
            notes.append(f"{label}: column(s) {', '.join(dropped)} not used (absent from other inputs)")
        answer = m.answer if have_answer else None
        sample = m.sample if have_sample else None
        out.append(
            replace(
                m,
                answer=answer,
                sample=sample,
                extras=tuple(x for x in m.extras if x in common),
                lists=tuple(col for col in m.lists if col in (m.reward, answer, sample)),
                unwrap=tuple(col for col in m.unwrap if col in (answer, sample)),
            )
        )
    return out


def text_columns(m: Mapping) -> list[str]:
    """Columns read as text (ids, answers, group columns), in the order messages prefer."""
    cols = (m.id, m.sample, m.answer, m.by, *m.extras)
    return list(dict.fromkeys(c for c in cols if c is not None and c not in m.lists and c not in m.unwrap))
