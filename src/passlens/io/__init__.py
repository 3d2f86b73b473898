"""Read sample logs into per-problem sufficient statistics.

Input: JSON lines (``.jsonl``, ``.ndjson``, ``.json``), CSV (``.csv``) or Parquet
(``.parquet``, ``.pq``) files, chosen by extension, or an in-memory frame
(polars, pandas, pyarrow). Two row shapes are understood:

* **samples** — one row per sampled answer: problem id, a reward (0/1, bool, or
  any real), optionally the extracted answer text, a sample id, and a
  model / checkpoint / step column;
* **counts** — one row per problem: id, c (correct count), n (samples) [, model].

Output: a :class:`Dataset` holding one :class:`ProblemTable` per group. For each
problem i of a group the table holds the sufficient statistics the estimators
need (Chen et al. 2021, Eq. 1 uses only (n, c)):

    n_i = #{rows of problem i}
    c_i = Σ_j r_ij                 rewards in {0, 1} (bools count as 0/1)
    c_i = Σ_j 1[r_ij ≥ t]          with ``threshold=t``
    votes_i[a] = #{rows of problem i with answer a}        (maj@k)
    vote_correct_i[a] = whether the rows of problem i with answer a are correct
                        (they must agree: one correct and one incorrect row is an error)

Column names are detected from common spellings (:data:`COLUMN_SPELLINGS`,
matched case-insensitively, first listed spelling wins) and can be overridden.
When several columns match the reward spellings, the first listed one is used and a
note names the others. The shape is *counts* when an n-like column exists together
with a c-like column (or with a reward-like column spelled ``correct`` / ``passed``,
which in a count file is a count), no other reward-like column, and no sample-id
column; otherwise it is *samples* when a reward-like column exists. A c-like column
with no reward-like and no n-like column is an error naming the n spellings.

A reward column holding *lists* (``rewards: [1, 0, 1]``, one row per problem, as
group-sampling dumps write them) is read as one sample per element; an answer or
sample-id column holding lists is split alongside it and must hold lists of the same
length on every row (an empty reward list is an error: a problem needs n ≥ 1).
Messages name the row of the problem.

Grouping (the keys of :attr:`Dataset.groups`):

* ``by="model"`` (or any column): one group per distinct value, ordered
  naturally (numeric labels numerically, else ``"ckpt-2" < "ckpt-10"``);
* no ``by``, one input: a single group ``""``;
* no ``by``, several files: one group per file, labelled by file stem
  (``base.jsonl``, ``rl.jsonl`` → ``"base"``, ``"rl"``; the parent folder is
  prefixed when stems collide) — except when every file carries the same
  group-like columns, at least one of them a model / checkpoint / step column (a
  ``filter`` column alone does not name a run), and each holds one single value
  across all files: the files are then shards of one run and are pooled into group ``""``.

Within a group, a problem whose rows carry more than one value of a model /
checkpoint / step / filter column is an error (the statistics would mix two
policies, or two graders' verdicts on the same samples); pass ``by`` to split them.

Large sample files are aggregated by polars lazy queries run with the streaming
engine: no row is turned into a Python object on the happy path. Only when
something is wrong (or to report where the first non-binary reward sits) is a
file rescanned — by polars with a row index, then by Python up to that row — to
name the physical line.

Locations in messages: JSON lines — the 1-based physical line; CSV — the 1-based
physical line, the header being line 1; Parquet and frames — ``row r``, 1-based
(``row 1`` is the first data row).
"""

from __future__ import annotations

import csv
import hashlib
import inspect
import json
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any, Literal, cast

import numpy as np
import polars as pl

from .._validate import as_counts

__all__ = [
    "InputError",
    "MixedGroupError",
    "ProblemTable",
    "Dataset",
    "COLUMN_SPELLINGS",
    "read",
    "from_frame",
    "from_counts",
    "bundled_deepscaler",
]

#: Accepted column spellings per role, in order of preference (matched case-insensitively).
COLUMN_SPELLINGS: dict[str, tuple[str, ...]] = {
    "id": ("problem_id", "task_id", "doc_id", "prompt_id", "question_id", "id"),
    "reward": ("correct", "reward", "passed", "score", "acc", "is_correct", "exact_match", "rewards", "scores"),
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
_RUN_COLUMNS = ("model", "checkpoint", "step")

#: Reward-like spellings that, next to an n-like column, are read as the count c.
_COUNT_LIKE_REWARDS = ("correct", "passed")

_EXTENSIONS: dict[str, str] = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
}

_OPTION_OF_ROLE = {
    "id": "id_col",
    "reward": "reward_col",
    "c": "c_col",
    "n": "n_col",
    "answer": "answer_col",
    "sample": "sample_col",
}

_CSV_INFER_ROWS = 1000  # CSV columns come from the header; a late type surprise triggers a text re-read
_POS_SHIFT = 40  # global row position = file index · 2⁴⁰ + row (2⁴⁰ rows per file is plenty)
_ROW = "_pl_row"
_BOM = b"\xef\xbb\xbf"  # UTF-8 byte-order mark

# Paths are read literally, never as glob patterns ('p?.jsonl' is one file, not p1 and p2).
# scan_csv / scan_parquet take glob=False; scan_ndjson has no such switch in some polars
# versions (2.1 among them) and always expands * ? [ ]: there each of these characters is
# wrapped in brackets ("[?]"), a pattern that matches only the character itself.
_NDJSON_HAS_GLOB = "glob" in inspect.signature(pl.scan_ndjson).parameters
_GLOB_CHARS = re.compile(r"[*?\[\]]")


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
        (``""`` when there is no grouping).
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


# ---------------------------------------------------------------------------------------
# sources


@dataclass
class _Source:
    label: str  # how messages name it
    kind: str  # jsonl | csv | parquet | frame
    stem: str
    path: Path | None = None
    frame: pl.LazyFrame | None = None
    blank_lines: int = 0  # JSON lines skipped by the reader (empty lines)
    data: bytes | None = None  # a JSON-lines file without its byte-order mark, read into memory
    string_mode: bool = False  # numeric columns read as text (after a typed read failed)
    json_schemas: dict[tuple[()], pl.Schema] = field(default_factory=dict)  # inferred once per file


@dataclass(frozen=True)
class _Options:
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
class _Mapping:
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


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split())
    return text[:300] + ("…" if len(text) > 300 else "")


def _digest(path: Path, count_lines: bool) -> tuple[str, int, int]:
    """sha256 of the file, its number of non-blank lines and of empty lines (text files).

    Lines are counted with vectorised newline positions per 4 MiB chunk: one
    pass, no per-line Python loop (10⁷ lines would cost seconds). A line is
    blank when it is empty or holds only ``\\r``.
    """
    h = hashlib.sha256()
    newlines = blank = 0
    pos = 0
    last_nl = -1  # absolute position of the previous newline
    last_byte = 0  # the byte before the current chunk (0 before the first: any byte but \r will do)
    tail_nonblank = False
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
            if not count_lines:
                continue
            arr = np.frombuffer(chunk, dtype=np.uint8)
            nl = np.flatnonzero(arr == 10)
            if nl.size:
                prev = np.concatenate(([last_nl - pos], nl[:-1]))  # chunk-relative
                gap = nl - prev
                # (a uint8 scalar: NumPy ≥ 2.5 rejects a Python int that a uint8 array cannot hold)
                before = np.where(nl > 0, arr[np.maximum(nl - 1, 0)], np.uint8(last_byte))
                blank += int(((gap == 1) | ((gap == 2) & (before == 13))).sum())
                newlines += nl.size
                last_nl = pos + int(nl[-1])
            tail = arr[(int(nl[-1]) + 1) if nl.size else 0 :]  # bytes after the last newline so far
            tail_nonblank = bool((tail > 32).any()) or (tail_nonblank and not nl.size)
            last_byte = int(arr[-1])
            pos += arr.size
    lines = newlines + (1 if tail_nonblank else 0)
    return h.hexdigest(), lines - blank, blank


def _file_sources(paths: Sequence[str | Path]) -> tuple[list[_Source], dict[str, str]]:
    sources: list[_Source] = []
    digests: dict[str, str] = {}
    seen: dict[tuple[int, int], str] = {}  # (device, inode) → label: one file under two names
    for p in paths:
        label = str(p)
        path = Path(p)
        kind = _EXTENSIONS.get(path.suffix.lower())
        if kind is None:
            raise InputError(
                f"{label}: unknown file extension {path.suffix!r}; expected one of "
                f"{', '.join(sorted(_EXTENSIONS))}"
            )
        if not path.exists():
            raise InputError(f"{label}: file not found")
        if path.is_dir():
            raise InputError(f"{label}: is a directory; pass the files inside it")
        # the same file twice would count its rows twice (or fail as duplicates of themselves)
        stat = os.stat(path)
        key = (stat.st_dev, stat.st_ino)
        if key in seen:
            first = seen[key]
            raise InputError(
                f"{label}: given twice" if first == label else f"{label}: the same file as {first}, given twice"
            )
        seen[key] = label
        sha, nonblank, blank = _digest(path, count_lines=kind != "parquet")
        digests[label] = sha
        if kind == "jsonl" and nonblank == 0:
            raise InputError(f"{label}: empty file (no rows)")
        if kind == "csv" and nonblank <= 1:
            raise InputError(
                f"{label}: empty file (no rows)" if nonblank == 0 else f"{label}: no data rows (header only)"
            )
        if kind == "csv":
            _check_header(label, path)
        src = _Source(label, kind, path.stem, path=path, blank_lines=blank if kind == "jsonl" else 0)
        if kind == "jsonl":
            with open(path, "rb") as f:
                if f.read(len(_BOM)) == _BOM:
                    # polars' JSON reader fails on a byte-order mark (its CSV reader skips it):
                    # such a file is read from memory without it. Costs the file's size in
                    # memory, for BOM files only; every other file is still scanned from disk.
                    src.data = f.read()
        if kind == "parquet":
            try:
                rows = _scan_file(src).select(pl.len()).collect().item()
            except pl.exceptions.PolarsError as e:
                raise InputError(f"{label}: cannot read Parquet: {_one_line(e)}") from None
            if rows == 0:
                raise InputError(f"{label}: empty file (no rows)")
        sources.append(src)
    if not sources:
        raise InputError("no input files given")
    _label_stems(sources)
    return sources, digests


def _check_header(label: str, path: Path) -> None:
    """A CSV header naming one column twice is an error (polars would rename the second copy).

    Reads the header record only. Empty names are left alone (they name no role).
    """
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as f:
        header = next(csv.reader(f), [])
    seen: set[str] = set()
    for name in header:
        if name in seen and name.strip():
            raise InputError(f"{label}:1: column {name!r} appears twice in the header")
        seen.add(name)


def _label_stems(sources: list[_Source]) -> None:
    """Make file stems unique by prefixing parent folders where they collide."""
    stems = [s.stem for s in sources]
    if len(set(stems)) == len(stems):
        return
    for s in sources:
        assert s.path is not None
        s.stem = f"{s.path.parent.name}/{s.path.stem}" if s.path.parent.name else s.path.stem
    if len({s.stem for s in sources}) != len(sources):
        for s in sources:
            s.stem = s.label


def _scan_file(src: _Source, **options: Any) -> pl.LazyFrame:
    """polars scan of a file source; the path is read literally, never as a glob pattern."""
    assert src.path is not None
    path = str(src.path.absolute())  # absolute: polars would also expand a leading "~"
    if src.kind == "jsonl":
        if src.data is not None:
            return pl.scan_ndjson(src.data, **options)
        if _NDJSON_HAS_GLOB:
            return pl.scan_ndjson(path, glob=False, **options)  # type: ignore[call-arg, unused-ignore]  # glob= exists in some polars versions only
        return pl.scan_ndjson(_GLOB_CHARS.sub(r"[\g<0>]", path), **options)
    if src.kind == "csv":
        return pl.scan_csv(path, glob=False, **options)
    return pl.scan_parquet(path, glob=False, **options)


def _json_schema(src: _Source, overrides: dict[str, Any] | None) -> pl.Schema:
    """Schema of a JSON-lines file inferred from *every* line (once), with ``overrides`` applied.

    Inferring from the first rows only would silently drop a key that first
    appears later (an answer field from line 5000 on); full inference costs one
    extra parse of the file, and merges conflicting types (1, "x") into text
    instead of failing later.
    """
    if () not in src.json_schemas:
        src.json_schemas[()] = _scan_file(src, infer_schema_length=None).collect_schema()
    base = src.json_schemas[()]
    if not overrides:
        return base
    return pl.Schema({name: overrides.get(name, dtype) for name, dtype in base.items()})


def _scan(src: _Source, overrides: dict[str, Any] | None = None, row_index: bool = False) -> pl.LazyFrame:
    ri = _ROW if row_index else None
    if src.kind == "jsonl":
        return _scan_file(src, schema=_json_schema(src, overrides), row_index_name=ri)
    if src.kind == "csv":
        return _scan_file(
            src,
            schema_overrides=overrides or None,
            infer_schema_length=_CSV_INFER_ROWS,
            row_index_name=ri,
        )
    if src.kind == "parquet":
        return _scan_file(src, row_index_name=ri)
    assert src.frame is not None
    return src.frame.with_row_index(_ROW) if row_index else src.frame


# ---------------------------------------------------------------------------------------
# error path: find and name the line polars could not read (never run on clean input)


def _json_lines(src: _Source) -> Any:
    """(physical line number, bytes) of each non-blank line of a JSON-lines file, in order.

    A leading byte-order mark is dropped, as the reader drops it (see ``_Source.data``).
    """
    assert src.path is not None
    with open(src.path, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            text = (raw.removeprefix(_BOM) if lineno == 1 else raw).strip()
            if text:
                yield lineno, text


def _utf8(src: _Source, lineno: int, raw: bytes) -> str:
    """The line as text, or an error naming the first byte that is not UTF-8."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError(
            f"{src.label}:{lineno}: not valid UTF-8 (byte 0x{raw[e.start]:02x} at byte {e.start + 1} of the "
            "line); save the file as UTF-8"
        ) from None


def _no_constants(token: str) -> float:
    raise ValueError(f"bare {token} is not valid JSON (write null)")


#: JSON kind of each type json.loads returns
_KIND_OF: dict[type, str] = {
    type(None): "null",
    bool: "boolean",
    int: "number",
    float: "number",
    str: "string",
    list: "list",
    dict: "object",
}


def _kinds_clash(a: str, b: str) -> bool:
    """Whether polars' JSON schema inference cannot merge JSON kinds a and b.

    It merges null with anything, anything with text (into text), numbers with
    booleans (into numbers) and numbers with objects (into a struct); nothing else.
    """
    pair = {a, b}
    merged = pair & {"null", "string"} or pair in ({"number", "boolean"}, {"number", "object"})
    return len(pair) == 2 and not merged


def _merged_kind(a: str, b: str) -> str:
    """The kind polars infers from kinds a and b (which do not clash, neither null)."""
    if a == b:
        return a
    if "string" in (a, b):
        return "string"
    return "object" if "object" in (a, b) else "number"


def _follow_fields(src: _Source, kinds: dict[str, tuple[str, int]], obj: dict[str, Any], lineno: int) -> None:
    """Check one line's fields as polars' JSON schema inference reads them (after it failed).

    Numbers must fit what polars reads (Python reads 1e400 as inf, polars refuses
    it; integers have at most 128 bits), and each field's kind of value must merge
    with its kind on the lines before, as polars merges them. ``kinds`` maps
    field → (kind so far, line where it became that kind).
    """
    for key, value in obj.items():
        kind = _KIND_OF[type(value)]
        if kind == "number":
            if type(value) is float and math.isinf(value):
                raise InputError(
                    f"{src.label}:{lineno}: field {key!r}: number out of range for a 64-bit float (beyond ±1.8e308)"
                )
            if type(value) is int and not -(2**127) <= value < 2**128:
                shown = str(value)
                shown = shown if len(shown) <= 24 else shown[:20] + "…"
                raise InputError(
                    f"{src.label}:{lineno}: field {key!r}: integer {shown} is out of range (over 128 bits)"
                )
        seen = kinds.get(key)
        if kind == "null" or (seen is not None and seen[0] == kind):
            continue
        if seen is None:
            kinds[key] = (kind, lineno)
            continue
        before, since = seen
        if _kinds_clash(kind, before):
            an = "an" if before == "object" else "a"
            raise InputError(
                f"{src.label}:{lineno}: field {key!r} holds a JSON {kind} here but {an} {before} on line "
                f"{since}; a field must hold one kind of value on every line"
            )
        merged = _merged_kind(before, kind)
        if merged != before:
            kinds[key] = (merged, lineno)


def _diagnose(src: _Source) -> None:
    """Python rescan of a text file that polars could not read: raise naming the bad line.

    Runs only after a polars read failed; it returns without raising when it
    finds nothing (then the failure was a late type surprise, which a re-read
    with numeric columns as text handles, or the caller gives polars' message).
    """
    if src.kind == "jsonl":
        # Whole-file schema inference failed when it is not cached: then also check each
        # field as polars reads it, to name the line where polars says only "InvalidNumber"
        # or "failed to determine supertype" (a number on one line, a list on the next).
        kinds: dict[str, tuple[str, int]] | None = None if () in src.json_schemas else {}
        for lineno, raw in _json_lines(src):
            text = _utf8(src, lineno, raw)
            try:
                obj = json.loads(text, parse_constant=_no_constants)
            except json.JSONDecodeError as e:
                raise InputError(
                    f"{src.label}:{lineno}: malformed JSON ({e.msg} at column {e.colno})"
                ) from None
            except ValueError as e:
                raise InputError(f"{src.label}:{lineno}: malformed JSON ({e})") from None
            if not isinstance(obj, dict):
                raise InputError(
                    f"{src.label}:{lineno}: expected one JSON object per line, got a JSON "
                    f"{type(obj).__name__} (JSON arrays are not read; write one object per line)"
                )
            if kinds is not None:
                _follow_fields(src, kinds, obj, lineno)
    elif src.kind == "csv":
        assert src.path is not None
        with open(src.path, "rb") as f:  # polars refuses a file with any non-UTF-8 byte, used column or not
            for lineno, raw in enumerate(f, 1):
                _utf8(src, lineno, raw)
        with open(src.path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            width = None
            start = 1
            for record in reader:
                if width is None:
                    width = len(record)
                elif record and len(record) != width:
                    raise InputError(
                        f"{src.label}:{start}: expected {width} fields (as in the header), got {len(record)}"
                    )
                start = reader.line_num + 1


def _schema(src: _Source, overrides: dict[str, Any] | None = None) -> pl.Schema:
    try:
        return _scan(src, overrides).collect_schema()
    except pl.exceptions.PolarsError as e:
        _diagnose(src)
        raise InputError(f"{src.label}: cannot read {src.kind}: {_one_line(e)}") from None


def _where(src: _Source, row: int) -> str:
    """Location of the 0-based record ``row`` of ``src`` (see module docstring)."""
    if src.kind == "jsonl":
        for k, (lineno, _) in enumerate(_json_lines(src)):
            if k == row:
                return f"{src.label}:{lineno}"
    elif src.kind == "csv":
        assert src.path is not None
        with open(src.path, newline="", encoding="utf-8", errors="replace") as f:
            reader = csv.reader(f)
            start = 1
            for k, _ in enumerate(reader):
                if k == row + 1:  # record 0 is the header
                    return f"{src.label}:{start}"
                start = reader.line_num + 1
    return f"{src.label}: row {row + 1}"


def _raw_field(src: _Source, row: int, col: str) -> str | None:
    """The text a text file holds for ``col`` in 0-based record ``row`` (error path), else None.

    For messages about values a float cannot hold exactly (1e23 reads as
    99999999999999991611392): JSON numbers are taken as written.
    """
    if src.kind == "jsonl":
        for k, (_, raw) in enumerate(_json_lines(src)):
            if k == row:
                try:
                    obj = json.loads(raw.decode("utf-8", "replace"), parse_int=str, parse_float=str)
                except ValueError:
                    return None
                value = obj.get(col) if isinstance(obj, dict) else None
                return value if isinstance(value, str) else None
    elif src.kind == "csv":
        assert src.path is not None
        with open(src.path, newline="", encoding="utf-8-sig", errors="replace") as f:
            reader = csv.reader(f)
            header = next(reader, [])
            if col not in header:
                return None
            for k, record in enumerate(reader):
                if k == row:
                    j = header.index(col)
                    return record[j].strip() if j < len(record) else None
    return None


# ---------------------------------------------------------------------------------------
# column mapping


def _find(columns: Sequence[str], role: str) -> str | None:
    lower: dict[str, str] = {}
    for col in columns:
        lower.setdefault(col.lower(), col)
    for spelling in COLUMN_SPELLINGS[role]:
        if spelling in columns:
            return spelling
        if spelling in lower:
            return lower[spelling]
    return None


def _resolve(src: _Source, columns: list[str], opts: _Options) -> _Mapping:
    """Pick the column of each role and the row shape of one input."""
    label = src.label

    def explicit(role: str) -> str | None:
        name = getattr(opts, _OPTION_OF_ROLE[role])
        if name is not None and name not in columns:
            raise InputError(
                f"{label}: column {name!r} ({_OPTION_OF_ROLE[role]}) not found; columns are {columns}"
            )
        return name

    def pick(role: str) -> str | None:
        return explicit(role) if getattr(opts, _OPTION_OF_ROLE[role]) is not None else _find(columns, role)

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
        raise InputError(
            f"{label}: no reward column; columns are {columns}; accepted spellings: "
            f"{', '.join(COLUMN_SPELLINGS['reward'])} (or pass reward_col= / --reward-col), "
            f"or count columns c ({', '.join(COLUMN_SPELLINGS['c'])}) "
            f"with n ({', '.join(COLUMN_SPELLINGS['n'])})"
        )
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
    return _Mapping(shape, id_, reward, c, n, answer, sample, opts.by, tuple(extras), unused, others)


# ---------------------------------------------------------------------------------------
# normalisation: one lazy frame per input with canonical columns


def _numeric(
    src: _Source, name: str, dtype: pl.DataType, what: str, booleans: bool
) -> tuple[pl.Expr, pl.Expr]:
    """(value as Float64, flag "present but not a number") for a reward or count column.

    Booleans (true / false, or that text in a text file) are rewards 1 / 0 when
    ``booleans``; counts c and n are numbers of samples, and a boolean there is
    flagged rather than read as 1 or 0 (a wrongly exported column would go unnoticed).
    """
    col = pl.col(name)
    if dtype.is_numeric() or dtype == pl.Null:
        return col.cast(pl.Float64), pl.lit(False)
    if dtype == pl.Boolean:
        return (col.cast(pl.Float64), pl.lit(False)) if booleans else (pl.lit(None, pl.Float64), col.is_not_null())
    if dtype == pl.String:
        text = col.str.strip_chars()
        value = text.cast(pl.Float64, strict=False)
        if booleans:
            low = text.str.to_lowercase()
            value = pl.when(low == "true").then(pl.lit(1.0)).when(low == "false").then(pl.lit(0.0)).otherwise(value)
        return value, col.is_not_null() & value.is_null()
    expected = "numbers or booleans" if booleans else "numbers"
    raise InputError(f"{_first_value_at(src, name)}: {what} column {name!r} has type {dtype}; expected {expected}")


def _first_value_at(src: _Source, name: str) -> str:
    """Where the first value of a column of an unreadable type sits (error path), else the file."""
    if src.kind == "jsonl":
        # a struct column may start with plain numbers (polars merges 1 and {...}): find the first nested value
        for lineno, raw in _json_lines(src):
            if isinstance(json.loads(raw).get(name), (list, dict)):
                return f"{src.label}:{lineno}"
        return src.label
    try:
        hit = _scan(src, row_index=True).filter(pl.col(name).is_not_null()).select(_ROW).head(1).collect()
    except pl.exceptions.PolarsError:
        return src.label
    return _where(src, int(hit[_ROW][0])) if hit.height else src.label


def _read_overrides(src: _Source, m: _Mapping, schema: pl.Schema) -> dict[str, Any]:
    """Read options of text files: keys as strings, integer rewards as floats, all as text in string mode.

    Split list columns of JSON lines are read as lists of text: polars infers [1.0, true]
    as a list of floats and then fails on ``true``; the text is parsed as a scalar's is.
    """
    if src.kind not in ("jsonl", "csv"):
        return {}
    out: dict[str, Any] = {col: pl.List(pl.String) for col in m.lists}
    for col in (m.id, m.answer, m.sample, m.by, *m.extras):
        if col is not None and col not in m.lists:
            out[col] = pl.String
    for col in (m.reward, m.c, m.n):
        if col is None or col in m.lists:
            continue
        if src.string_mode:
            out[col] = pl.String
        elif schema[col].is_integer():
            out[col] = pl.Float64  # a later 0.5 must not fail an integer column
    return out


def _key_type(sources: list[_Source], maps: list[_Mapping], col_of: Any) -> pl.DataType:
    """Int64 when the column is an integer in every input (no per-row string cast), else String."""
    for src, m in zip(sources, maps):
        col = col_of(m)
        if col is None:
            continue
        if src.kind in ("jsonl", "csv") or not _schema(src)[col].is_integer():
            return pl.String()
    return pl.Int64()


def _normalize(
    src: _Source, fidx: int, m: _Mapping, label: str | None, diag: bool, keys: dict[str, pl.DataType]
) -> pl.LazyFrame:
    """Canonical columns: _g _id (_r _rbad _a _s | _c _cbad _n _nbad) _x0.. _empty [_pos _raw0 (_raw1) _rawid].

    ``keys`` gives the dtype of the key columns _g, _id, _s, _x<j>; the rest are
    Float64 (rewards, counts), String (answers) or Boolean (flags).
    """
    schema0 = _schema(src)
    overrides = _read_overrides(src, m, schema0)
    lf = _scan(src, overrides, row_index=diag)
    schema = _schema(src, overrides) if overrides else schema0
    if m.lists:  # one row per problem → one row per sample (checked equal lengths: _check_lists)
        lf = lf.explode(list(m.lists))
        schema = pl.Schema({k: (cast(pl.List, v).inner if k in m.lists else v) for k, v in schema.items()})
    used = [col for col in (m.id, m.reward, m.c, m.n, m.answer, m.sample, m.by) if col is not None]
    ident = pl.col(m.id).cast(keys["_id"])
    if keys["_id"] == pl.String:
        # "" is no id: CSV reads an empty field as missing, and "" in JSON (or a quoted "" in
        # CSV) must not become a problem of its own. `when` without `otherwise` gives null.
        ident = pl.when(ident != "").then(ident)
    exprs: list[pl.Expr] = [
        (pl.col(m.by).cast(keys["_g"]) if m.by is not None else pl.lit(label, pl.String)).alias("_g"),
        ident.alias("_id"),
        pl.all_horizontal([pl.col(col).is_null() for col in used]).alias("_empty"),
    ]
    if m.shape == "samples":
        assert m.reward is not None
        r, rbad = _numeric(src, m.reward, schema[m.reward], "reward", booleans=True)
        exprs += [r.alias("_r"), rbad.alias("_rbad")]
        exprs.append((pl.col(m.answer).cast(pl.String) if m.answer else pl.lit(None, pl.String)).alias("_a"))
        exprs.append((pl.col(m.sample).cast(keys["_s"]) if m.sample else pl.lit(None, pl.String)).alias("_s"))
        raws = [m.reward]
    else:
        assert m.c is not None and m.n is not None
        c, cbad = _numeric(src, m.c, schema[m.c], "count c", booleans=False)
        n, nbad = _numeric(src, m.n, schema[m.n], "count n", booleans=False)
        exprs += [c.alias("_c"), cbad.alias("_cbad"), n.alias("_n"), nbad.alias("_nbad")]
        raws = [m.c, m.n]
    for j, col in enumerate(m.extras):
        exprs.append(pl.col(col).cast(keys[f"_x{j}"]).alias(f"_x{j}"))
    # A JSON list or object in a text column is read as its JSON text ('["a"]'): flag text that
    # could be one (a cheap prefix test); _nested_rows confirms on the error path.
    text_cols = _text_columns(m) if src.kind == "jsonl" else []
    nest = [pl.col(col).str.starts_with("[") | pl.col(col).str.starts_with("{") for col in text_cols]
    exprs.append((pl.any_horizontal(nest).fill_null(False) if nest else pl.lit(False)).alias("_nest"))
    if diag:
        exprs.append((pl.lit(fidx, pl.Int64) * (1 << _POS_SHIFT) + pl.col(_ROW).cast(pl.Int64)).alias("_pos"))
        exprs += [pl.col(col).cast(pl.String).alias(f"_raw{j}") for j, col in enumerate(raws)]
        exprs.append(pl.col(m.id).cast(pl.String).alias("_rawid"))  # tells a missing id from ""
    return lf.select(exprs)


def _text_columns(m: _Mapping) -> list[str]:
    """Columns read as text (ids, answers, group columns), in the order messages prefer."""
    cols = (m.id, m.sample, m.answer, m.by, *m.extras)
    return list(dict.fromkeys(c for c in cols if c is not None and c not in m.lists))


def _nested_rows(job: _Job) -> pl.DataFrame:
    """Rows whose text column holds a JSON list or object (error path): _pos, _col, _kind, by _pos.

    Each JSON-lines input is re-read with its text columns typed as list, then as
    object, skipping values of other kinds (``ignore_errors``): a value that reads
    is one of that kind, so a string '["a"]' is told from the list ["a"].
    """
    found = []
    for i, (src, m) in enumerate(zip(job.sources, job.maps)):
        cols = _text_columns(m)
        if src.kind != "jsonl" or not cols:
            continue
        for kind, dtype in (("list", pl.List(pl.Null)), ("object", pl.Struct({}))):
            schema = _json_schema(src, dict.fromkeys(cols, dtype))
            lf = _scan_file(src, schema=schema, ignore_errors=True, row_index_name=_ROW)
            which = pl.coalesce([pl.when(pl.col(c).is_not_null()).then(pl.lit(c)) for c in cols])
            found.append(
                lf.select(
                    (pl.lit(i, pl.Int64) * (1 << _POS_SHIFT) + pl.col(_ROW).cast(pl.Int64)).alias("_pos"),
                    which.alias("_col"),
                    pl.lit(kind).alias("_kind"),
                )
                .filter(pl.col("_col").is_not_null())
                .collect()
            )
    if not found:
        return pl.DataFrame(schema={"_pos": pl.Int64, "_col": pl.String, "_kind": pl.String})
    return pl.concat(found).sort("_pos").unique("_pos", keep="first", maintain_order=True)


def _nested_message(job: _Job, pos: int, col: str, kind: str) -> str:
    m = job.maps[_decode(pos)[0]]
    what = {m.id: "problem id", m.sample: "sample id", m.answer: "answer"}.get(col, "group value")
    return f"{job.where(pos)}: {what} must be a string or a number, got a JSON {kind} (column {col!r})"


def _decode(pos: int) -> tuple[int, int]:
    return pos >> _POS_SHIFT, pos & ((1 << _POS_SHIFT) - 1)


# ---------------------------------------------------------------------------------------
# public entry points


def read(
    paths: str | Path | Sequence[str | Path],
    *,
    id_col: str | None = None,
    reward_col: str | None = None,
    c_col: str | None = None,
    n_col: str | None = None,
    answer_col: str | None = None,
    sample_col: str | None = None,
    by: str | None = None,
    threshold: float | None = None,
    binary: bool = False,
    keep_rewards: bool | None = None,
) -> Dataset:
    """Read sample logs or per-problem counts into per-group :class:`ProblemTable` s.

    Per problem i (rows j of that problem in one group):

        n_i = #rows,   c_i = Σ_j r_ij  (0/1 rewards)   or   Σ_j 1[r_ij ≥ t]  (threshold t)

    the sufficient statistic of pass@k and pass^k (Chen et al. 2021, Eq. 1).

    Args:
      paths: one path or a sequence; format by extension (.jsonl/.ndjson/.json,
        .csv, .parquet/.pq). Paths are literal (``p?.jsonl`` is not a glob
        pattern). Several files are concatenated (see module docstring for how
        they are grouped).
      id_col, reward_col, c_col, n_col, answer_col, sample_col: column names,
        overriding auto-detection (:data:`COLUMN_SPELLINGS`). Giving
        reward_col forces the samples shape; c_col or n_col the counts shape.
      by: group rows by this column (e.g. "model", "step").
      threshold: a sample is correct when reward ≥ threshold (continuous rewards).
      binary: require every reward to be 0 or 1 (bools allowed); anything else
        is an error naming its line.
      keep_rewards: keep per-problem reward arrays; default (None) keeps them
        only for groups whose rewards are not all 0/1.

    Returns:
      :class:`Dataset` with, per group, ids object (P,), n int64 (P,), c int64 (P,)
      or None, and the optional rewards / votes / vote_correct lists of P arrays.

    Raises:
      InputError: missing file, unknown extension, empty file, a file given
        twice, missing column, malformed JSON or non-UTF-8 text, non-numeric /
        NaN / null reward, missing or empty id, bad counts (c > n, c < 0,
        non-integers, booleans, n < 1), duplicate (problem, sample id), an answer
        both correct and incorrect within a problem, duplicate problem in a count
        group, a problem mixing models in one group. The message is one line
        naming file and line (or row).
    """
    if isinstance(paths, (str, Path)):
        path_list: list[str | Path] = [paths]
    else:
        path_list = list(paths)
    opts = _make_options(
        id_col, reward_col, c_col, n_col, answer_col, sample_col, by, threshold, binary, keep_rewards
    )
    sources, digests = _file_sources(path_list)
    return _read_sources(sources, opts, digests)


def from_frame(
    frame: Any,
    *,
    source: str = "<frame>",
    id_col: str | None = None,
    reward_col: str | None = None,
    c_col: str | None = None,
    n_col: str | None = None,
    answer_col: str | None = None,
    sample_col: str | None = None,
    by: str | None = None,
    threshold: float | None = None,
    binary: bool = False,
    keep_rewards: bool | None = None,
) -> Dataset:
    """As :func:`read`, from an in-memory polars / pandas / pyarrow frame.

    Args:
      frame: polars DataFrame or LazyFrame, pandas DataFrame, pyarrow Table or
        RecordBatch, with one row per sample or per problem.
      source: name used for the frame in messages (rows are named ``row r``, 1-based).
      others: as :func:`read`.

    Returns:
      :class:`Dataset` (``sha256`` is empty: a frame is not a file).
    """
    opts = _make_options(
        id_col, reward_col, c_col, n_col, answer_col, sample_col, by, threshold, binary, keep_rewards
    )
    lf = _as_lazy(frame, source)
    if lf.select(pl.len()).collect().item() == 0:
        raise InputError(f"{source}: empty frame (no rows)")
    src = _Source(source, "frame", source, frame=lf)
    return _read_sources([src], opts, {})


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


def bundled_deepscaler() -> tuple[Path, Path]:
    """Paths of the bundled DeepScaleR count files ``(base.jsonl, rl.jsonl)``.

    Real per-prompt counts (1060 prompts, n = 128 each) for DeepSeek-R1-Distill-
    Qwen-1.5B (base) and DeepScaleR-1.5B-Preview (rl); see the README beside them.
    """
    folder = resources.files("passlens") / "data" / "deepscaler32k"
    return Path(str(folder / "base.jsonl")), Path(str(folder / "rl.jsonl"))


# ---------------------------------------------------------------------------------------
# implementation


def _make_options(
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
) -> _Options:
    if threshold is not None:
        try:
            threshold = float(threshold)
        except (TypeError, ValueError):
            raise InputError(f"threshold must be a number, got {threshold!r}") from None
        if not math.isfinite(threshold):
            raise InputError(f"threshold must be finite, got {threshold!r}")
    return _Options(
        id_col, reward_col, c_col, n_col, answer_col, sample_col, by, threshold, bool(binary), keep_rewards
    )


def _as_lazy(frame: Any, source: str) -> pl.LazyFrame:
    if isinstance(frame, pl.LazyFrame):
        return frame
    if isinstance(frame, pl.DataFrame):
        return frame.lazy()
    module = type(frame).__module__.split(".")[0]
    try:
        if module == "pandas":
            return pl.from_pandas(frame).lazy()
        if module == "pyarrow":
            out = pl.from_arrow(frame)
            if isinstance(out, pl.DataFrame):
                return out.lazy()
    except Exception as e:  # conversion errors of foreign frames vary by library
        raise InputError(
            f"{source}: cannot convert {type(frame).__name__} to a table: {_one_line(e)}"
        ) from None
    raise InputError(
        f"{source}: unsupported frame type {type(frame).__name__}; pass polars, pandas or pyarrow"
    )


def _natural_key(label: str) -> tuple[Any, ...]:
    parts = re.split(r"(\d+)", label)
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts if p != "")


def _group_order(labels: Sequence[str]) -> list[str]:
    """Numeric labels numerically (steps), else natural order ("ckpt-2" < "ckpt-10")."""
    try:
        values = [float(v) for v in labels]
        if all(math.isfinite(v) for v in values):
            return [lab for _, lab in sorted(zip(values, labels))]
    except ValueError:
        pass
    return sorted(labels, key=lambda s: (_natural_key(s), s))


def _read_sources(sources: list[_Source], opts: _Options, digests: dict[str, str]) -> Dataset:
    maps = [_resolve(src, list(_schema(src).names()), opts) for src in sources]
    shapes = {m.shape for m in maps}
    if len(shapes) > 1:
        kinds = ", ".join(f"{s.label} ({m.shape})" for s, m in zip(sources, maps))
        raise InputError(f"inputs mix per-sample and count rows: {kinds}")
    notes: list[str] = []
    maps = [_with_lists(s, m, opts, notes) for s, m in zip(sources, maps)]
    chosen: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    for s, m in zip(sources, maps):
        if m.other_rewards:
            assert m.reward is not None
            chosen.setdefault((m.reward, m.other_rewards), []).append(s.label)
    for (reward, others), where in chosen.items():
        notes.append(
            f"reward column {reward!r} used; also reward-like: {', '.join(others)} "
            f"(in {', '.join(where)}); pass reward_col= / --reward-col to choose"
        )
    for s in sources:
        if s.blank_lines:
            notes.append(f"{s.label}: {s.blank_lines} blank line(s) skipped")
    unused: dict[tuple[str, ...], list[str]] = {}
    for s, m in zip(sources, maps):
        if m.unused:
            unused.setdefault(m.unused, []).append(s.label)
    for cols, where in unused.items():
        notes.append(f"column(s) not used: {', '.join(map(_shown_name, cols))} (in {', '.join(where)})")
    maps = _harmonize(sources, maps, notes)

    labels: list[str | None]
    by_label: str | None = opts.by
    if opts.by is not None:
        labels = [None] * len(sources)
    elif len(sources) == 1:
        labels = [""]
    else:
        labels = [s.stem for s in sources]
        by_label = "file"
        run_columns = [x for x in maps[0].extras if x.lower() in _RUN_COLUMNS]
        single = _single_values(sources, maps) if run_columns else None
        if single is not None:
            labels = [""] * len(sources)
            by_label = None
            notes.append(
                f"{len(sources)} files pooled into one group: every row has "
                + ", ".join(f"{k}={v!r}" for k, v in single.items())
            )
        else:
            notes.append(
                "several files without by=: one group per file (" + ", ".join(map(repr, labels)) + ")"
            )

    job = _Job(sources, maps, labels)
    if maps[0].shape == "counts":
        groups, rows = _read_counts(job, opts, notes)
    else:
        groups, rows = _read_samples(job, opts, notes)
    return Dataset(
        groups=groups,
        shape=maps[0].shape,
        by=by_label,
        files=[s.label for s in sources],
        sha256=digests,
        rows=rows,
        notes=notes,
    )


def _shown_name(col: str) -> str:
    """A column name for a list in a note: quoted when it would not show ('' from a pandas index)."""
    return col if col and col == col.strip() else repr(col)


def _with_lists(src: _Source, m: _Mapping, opts: _Options, notes: list[str]) -> _Mapping:
    """Mark a reward column holding lists (one row per problem) to be split into samples.

    An answer / sample-id column is split alongside when it holds lists of scalars;
    any other (one value per row, e.g. the reference answer) is not per-sample: left
    out with a note when detected, an error when named. Checks that every row's
    lists have the same length, and that no reward list is empty.
    """
    if m.shape != "samples":
        return m
    assert m.reward is not None
    schema = _schema(src)
    if not isinstance(schema[m.reward], pl.List):
        return m
    lists = [m.reward]
    answer, sample = m.answer, m.sample
    for role, col in (("answer", m.answer), ("sample", m.sample)):
        if col is None:
            continue
        dtype = schema[col]
        if isinstance(dtype, pl.List) and not isinstance(dtype.inner, (pl.List, pl.Struct)):
            lists.append(col)
            continue
        option = _OPTION_OF_ROLE[role]
        what = "an answer" if role == "answer" else "a sample id"
        if getattr(opts, option) is not None:
            raise InputError(
                f"{src.label}: reward column {m.reward!r} holds lists (one row per problem), so {option} "
                f"{col!r} must hold a list of {what} per sample; it holds {dtype} values"
            )
        notes.append(
            f"{src.label}: column {col!r} not used as the {role} column: reward column {m.reward!r} holds "
            f"one list per problem, and {col!r} holds {dtype} values, not a list of {what} per sample"
        )
        if role == "answer":
            answer = None
        else:
            sample = None
    unused = tuple(c for c in (*m.unused, *(x for x in (m.answer, m.sample) if x and x not in (answer, sample))))
    m = replace(m, answer=answer, sample=sample, lists=tuple(lists), unused=unused)
    _check_lists(src, m, schema)
    notes.append(f"{src.label}: column {m.reward!r} holds lists: each row is one problem, each element one sample")
    return m


def _check_lists(src: _Source, m: _Mapping, schema: pl.Schema) -> None:
    """One pass over a list-holding input: the first empty reward list or unequal lists is an error."""
    lists = m.lists
    r = pl.col(lists[0]).list.len()
    bad = [r == 0] + [pl.col(c).list.len().fill_null(-1) != r.fill_null(-1) for c in lists[1:]]
    lens = [pl.col(c).list.len().alias(f"_len{j}") for j, c in enumerate(lists)]
    query = (
        _scan(src, _read_overrides(src, m, schema), row_index=True)
        .filter(pl.any_horizontal(bad).fill_null(False))
        .select(pl.col(_ROW), pl.col(m.id).cast(pl.String).alias("_id"), *lens)
        .head(1)
    )
    try:
        hit = query.collect()
    except pl.exceptions.PolarsError as e:
        _diagnose(src)
        raise InputError(f"{src.label}: cannot read {src.kind}: {_one_line(e)}") from None
    if not hit.height:
        return
    row = hit.row(0, named=True)
    where = _where(src, int(row[_ROW]))
    who = f"problem {_pid(row['_id'])}: " if row["_id"] is not None else ""
    if row["_len0"] == 0:
        raise InputError(f"{where}: {who}empty list in reward column {lists[0]!r} (a problem needs a sample)")
    j = next(j for j in range(1, len(lists)) if row[f"_len{j}"] != row["_len0"])
    shown = "no list" if row[f"_len{j}"] is None else f"{row[f'_len{j}']} entries"
    raise InputError(
        f"{where}: {who}{row['_len0']} rewards (column {lists[0]!r}) but {shown} in column {lists[j]!r}; "
        "the lists must hold one entry per sample"
    )


def _harmonize(sources: list[_Source], maps: list[_Mapping], notes: list[str]) -> list[_Mapping]:
    """Optional roles (answer, sample id, model columns) are used only when every input has them."""
    have_answer = all(m.answer for m in maps)
    have_sample = all(m.sample for m in maps)
    common = set(maps[0].extras).intersection(*(m.extras for m in maps))
    out = []
    for s, m in zip(sources, maps):
        dropped = [
            col for col, keep in ((m.answer, have_answer), (m.sample, have_sample)) if col and not keep
        ]
        dropped += [x for x in m.extras if x not in common]
        if dropped:
            notes.append(f"{s.label}: column(s) {', '.join(dropped)} not used (absent from other inputs)")
        answer = m.answer if have_answer else None
        sample = m.sample if have_sample else None
        out.append(
            replace(
                m,
                answer=answer,
                sample=sample,
                extras=tuple(x for x in m.extras if x in common),
                lists=tuple(col for col in m.lists if col in (m.reward, answer, sample)),
            )
        )
    return out


def _single_values(sources: list[_Source], maps: list[_Mapping]) -> dict[str, str] | None:
    """Value of each model/checkpoint/step column when it is one and the same in every file."""
    found: dict[str, set[Any]] = {}
    for src, m in zip(sources, maps):
        overrides = {x: pl.String for x in m.extras} if src.kind in ("jsonl", "csv") else None
        query = _scan(src, overrides).select([pl.col(x).cast(pl.String) for x in m.extras]).unique()
        try:
            frame = query.collect(engine="streaming")
        except pl.exceptions.PolarsError as e:
            _diagnose(src)
            raise InputError(f"{src.label}: cannot read {src.kind}: {_one_line(e)}") from None
        for x in m.extras:
            found.setdefault(x.lower(), set()).update(frame[x].to_list())
            if len(found[x.lower()]) > 1:
                return None
    return {k: next(iter(v)) for k, v in found.items()}


def _pid(pid: Any) -> str:
    return repr(str(pid))


def _num(x: float) -> str:
    """A number for a message, never rounded: 5 (not 5.0), 0.75, 3.0000000000000004."""
    x = float(x)  # (a NumPy scalar's repr would read "np.float64(…)")
    return str(int(x)) if math.isfinite(x) and x == int(x) else repr(x)


def _missing_id(raw: Any, col: str) -> str:
    return f"{'empty' if raw == '' else 'missing'} problem id (column {col!r})"


class _Job:
    """The inputs of one read, their column mappings and group labels; builds and runs queries."""

    def __init__(self, sources: list[_Source], maps: list[_Mapping], labels: list[str | None]) -> None:
        self.sources, self.maps, self.labels = sources, maps, labels
        self.multi = labels[0] is None or len(set(labels)) > 1  # several groups
        m = maps[0]
        self.keys: dict[str, pl.DataType] = {
            "_g": _key_type(sources, maps, lambda mm: mm.by),
            "_id": _key_type(sources, maps, lambda mm: mm.id),
            "_s": _key_type(sources, maps, lambda mm: mm.sample),
        }
        for j in range(len(m.extras)):
            self.keys[f"_x{j}"] = _key_type(sources, maps, lambda mm, j=j: mm.extras[j])

    def frame(self, diag: bool, only: int | None = None) -> pl.LazyFrame:
        """All inputs concatenated in canonical columns (or only input number ``only``)."""
        frames = [
            _normalize(s, i, m, lab, diag, self.keys)
            for i, (s, m, lab) in enumerate(zip(self.sources, self.maps, self.labels))
            if only is None or i == only
        ]
        return frames[0] if len(frames) == 1 else pl.concat(frames, how="vertical")

    def run(self, build: Any) -> Any:
        """Run ``build()`` (which scans the inputs); on a read error, find the culprit.

        A typed read of a text file can fail late (a reward 'true' after numbers):
        then each text input is checked line by line in Python (malformed JSON,
        ragged CSV rows are reported with their line) and re-read with its
        numeric columns as text, which the parsing expressions handle.
        """
        try:
            return build()
        except pl.exceptions.PolarsError:
            pass
        for src in self.sources:
            _diagnose(src)
            if src.kind in ("jsonl", "csv"):
                src.string_mode = True
        try:
            return build()
        except pl.exceptions.PolarsError as e:
            raise InputError(
                f"{', '.join(s.label for s in self.sources)}: cannot read: {_one_line(e)}"
            ) from None

    def where(self, pos: int) -> str:
        f, row = _decode(pos)
        return _where(self.sources[f], row)

    def first_row(self, flag: pl.Expr) -> dict[str, Any]:
        """The earliest row (file order, then row order) where ``flag`` holds."""
        out = self.run(lambda: self.frame(True).filter(flag).sort("_pos").head(1).collect())
        return out.row(0, named=True)

    def rows_of(self, group: Any, pid: Any, cols: list[str]) -> pl.DataFrame:
        """Position and ``cols`` of every row of one problem of one group, in file order."""
        flt = (pl.col("_g") == group) & (pl.col("_id") == pid)
        return self.run(lambda: self.frame(True).filter(flt).select(["_pos", *cols]).sort("_pos").collect())

    def in_group(self, group: Any) -> str:
        return f" in group {str(group)!r}" if self.multi else ""

    def mixed(self, pos: int, group: Any, pid: Any, col: str, values: list[Any]) -> InputError:
        return MixedGroupError(
            f"{self.where(pos)}: problem {_pid(pid)}{self.in_group(group)} has rows from several {col!r} "
            f"values {[None if v is None else str(v) for v in values]}", col)


def _bad_row_message(rec: dict[str, Any], m: _Mapping, binary: bool) -> str:
    pid = rec["_id"]
    if pid is None:
        return _missing_id(rec["_rawid"], m.id)
    who = f"problem {_pid(pid)}: "
    r = rec["_r"]
    if rec["_rbad"]:
        return f"{who}reward {rec['_raw0']!r} is not a number (column {m.reward!r})"
    if r is None:
        return f"{who}missing reward (column {m.reward!r})"
    if math.isnan(r):
        return f"{who}reward is NaN (column {m.reward!r})"
    if math.isinf(r):
        return f"{who}reward is infinite (column {m.reward!r})"
    if binary and r not in (0.0, 1.0):
        why = "outside [0, 1]" if not 0.0 <= r <= 1.0 else "not 0 or 1"
        return f"{who}reward {_num(r)} is {why}; binary rewards were required"
    if rec["_g"] is None:
        return f"{who}missing value in group column {m.by!r}"
    if m.sample is not None and rec["_s"] is None:
        return f"{who}missing sample id (column {m.sample!r})"
    return f"{who}invalid row"  # pragma: no cover - every flagged condition is named above


def _split_lists(series: pl.Series, dtype: Any) -> list[np.ndarray]:
    """A list column → one numpy array per row (one flat conversion, then views)."""
    ends = np.cumsum(series.list.len().to_numpy().astype(np.int64)).tolist()
    flat = series.explode().to_numpy().astype(dtype, copy=False)
    # slicing in a comprehension: np.split's per-piece bookkeeping costs ~10 µs * P
    return [flat[a:b] for a, b in zip([0, *ends[:-1]], ends)]


def _read_samples(job: _Job, opts: _Options, notes: list[str]) -> tuple[dict[str, ProblemTable], int]:
    m = job.maps[0]
    has_answer = m.answer is not None
    has_sample = m.sample is not None
    extras = range(len(m.extras))
    t = opts.threshold
    r = pl.col("_r")
    is01 = ((r == 0.0) | (r == 1.0)).fill_null(False)
    bad = ~pl.col("_empty") & (
        pl.col("_id").is_null()
        | ~r.is_finite().fill_null(False)
        | pl.col("_g").is_null()
        | (pl.col("_s").is_null() if has_sample else pl.lit(False))
        | (~is01 if opts.binary else pl.lit(False))
    )
    correct = ((r >= t) if t is not None else (r == 1.0)).fill_null(False)

    def flagged(diag: bool, only: int | None = None) -> pl.LazyFrame:
        lf = job.frame(diag, only).with_columns(bad.alias("_bad"), correct.alias("_ok"))
        lf = lf.with_columns((~pl.col("_bad") & ~pl.col("_empty") & ~is01).alias("_nb"))
        return lf.with_columns(pl.col("_a").fill_null("")) if has_answer else lf

    # One streaming pass. With answers it is keyed by (group, problem, answer) and
    # then folded per problem on the (much smaller) result: one hash pass, not two.
    # Without `by` and with one label, the group is a constant: keep it out of the hash keys.
    pkeys = ["_g", "_id"] if job.multi else ["_id"]
    keys = [*pkeys, "_a"] if has_answer else pkeys

    def with_group(df: pl.DataFrame) -> pl.DataFrame:
        return df if job.multi else df.with_columns(pl.lit(job.labels[0], pl.String).alias("_g"))

    aggs = [
        pl.len().alias("n"),
        pl.col("_bad").sum().alias("n_bad"),
        pl.col("_empty").sum().alias("n_empty"),
        pl.col("_nb").sum().alias("n_nb"),
        pl.col("_ok").sum().alias("c"),  # a count of booleans: exact integers, no float sum of rewards
        pl.col("_nest").sum().alias("n_nest"),
    ]
    for j in extras:
        aggs += [pl.col(f"_x{j}").n_unique().alias(f"u{j}"), pl.col(f"_x{j}").first().alias(f"f{j}")]
    keep_all = opts.keep_rewards is True
    if has_answer:
        aggs.append(pl.col("_ok").any().alias("vote_ok"))
    else:
        if has_sample:
            aggs.append(pl.col("_s").n_unique().alias("n_sid"))
        if keep_all:
            aggs.append(pl.col("_r").alias("rewards"))  # sorted after: list.sort on P lists beats sort-in-agg

    def queries() -> list[pl.LazyFrame]:
        lf = flagged(False)
        out = [lf.group_by(keys).agg(aggs)]
        if has_answer and has_sample:
            out.append(lf.group_by(pkeys).agg(pl.col("_s").n_unique().alias("n_sid")))
        return out

    results = job.run(lambda: pl.collect_all(queries(), engine="streaming"))
    stats: pl.DataFrame = results[0]
    split: pl.DataFrame | None = None  # (group, problem, answer) cells with correct and incorrect samples
    if has_answer:
        # sort by answer text once, then fold: lists keep row order within each problem
        cells = stats.sort("_a")
        # A cell's c counts its correct samples: 0 < c < n means the answer is both correct
        # and incorrect. One filter over the (problem, answer) cells, no extra pass over rows.
        split = with_group(
            cells.filter(pl.col("_id").is_not_null() & (pl.col("c") > 0) & (pl.col("c") < pl.col("n")))
            .select([*pkeys, "_a"])
        )
        fold = [pl.col(k).sum() for k in ("n", "n_bad", "n_empty", "n_nb", "c", "n_nest")]
        fold.append((pl.col("n") - pl.col("n_empty")).filter(pl.col("_a") == "").sum().alias("n_noanswer"))
        for j in extras:
            fold += [
                pl.max_horizontal(pl.col(f"u{j}").max(), pl.col(f"f{j}").n_unique()).alias(f"u{j}"),
                pl.col(f"f{j}").first(),
            ]
        fold += [pl.col("n").alias("votes"), pl.col("vote_ok")]
        stats = cells.group_by(pkeys).agg(fold)
        if has_sample:
            stats = stats.join(results[1], on=pkeys, how="left", nulls_equal=True)
    stats = with_group(stats)
    rows = int(stats["n"].sum())

    # 1. row-level errors: the first bad row in file order (a JSON list or object in a text
    #    column included: text starting with [ or { is checked against the file).
    nested = _nested_rows(job).head(1) if stats["n_nest"].sum() > 0 else None
    rec = job.first_row(bad) if stats["n_bad"].sum() > 0 else None
    if nested is not None and nested.height and (rec is None or nested["_pos"][0] < rec["_pos"]):
        raise InputError(_nested_message(job, *nested.row(0)))
    if rec is not None:
        raise InputError(f"{job.where(rec['_pos'])}: {_bad_row_message(rec, m, opts.binary)}")
    empties = int(stats["n_empty"].sum())
    if empties:
        notes.append(f"{empties} empty row(s) (no {m.id!r}, no {m.reward!r}) skipped")
    stats = stats.filter(pl.col("_id").is_not_null())

    # 2. a problem mixing models / checkpoints / steps inside one group: an error
    #    without `by`; with `by` (one grouping column chosen) the others are pooled, and said so.
    for j, x in enumerate(m.extras):
        mixed = stats.filter(pl.col(f"u{j}") > 1).sort(["_g", "_id"])
        if mixed.height and m.by is not None:
            for g, count, pid in (
                mixed.group_by("_g", maintain_order=True).agg(pl.len(), pl.col("_id").first()).iter_rows()
            ):
                notes.append(
                    f"group {str(g)!r}: {count} problem(s) (e.g. {_pid(pid)}) have rows from several "
                    f"{x!r} values, pooled; filter the input to keep one {x}"
                )
        elif mixed.height:
            g, pid = mixed["_g"][0], mixed["_id"][0]
            seen = job.rows_of(g, pid, [f"_x{j}"])
            values = seen[f"_x{j}"].unique(maintain_order=True).to_list()
            second = seen.filter(pl.col(f"_x{j}").eq_missing(values[1]))["_pos"][0]
            raise job.mixed(second, g, pid, x, values)
        per_group = stats.group_by("_g").agg(pl.col(f"f{j}").unique().alias("vals"))
        for g, vals in per_group.iter_rows():
            if len(vals) > 1:
                shown = sorted(map(str, vals))
                notes.append(
                    f"group {str(g)!r}: column {x!r} has {len(vals)} values ({', '.join(shown[:5])}"
                    f"{', …' if len(shown) > 5 else ''}) on disjoint problems; pass by={x!r} to split them"
                )

    # 3. duplicate (problem, sample id).
    if has_sample:
        dup = stats.filter(pl.col("n_sid") < pl.col("n")).sort(["_g", "_id"])
        if dup.height:
            g, pid = dup["_g"][0], dup["_id"][0]
            first_at: dict[Any, int] = {}
            for pos, sid in job.rows_of(g, pid, ["_s"]).iter_rows():
                if sid in first_at:
                    raise InputError(
                        f"{job.where(pos)}: problem {_pid(pid)}{job.in_group(g)}: duplicate sample id "
                        f"{str(sid)!r} (first at {job.where(first_at[sid])})"
                    )
                first_at[sid] = pos

    # groups with a reward not in {0, 1}
    nb_per_group = stats.group_by("_g").agg(pl.col("n_nb").sum())
    nonbinary = {g for g, k in nb_per_group.iter_rows() if k > 0}

    # 4. an answer both correct and incorrect within one problem: majority voting needs one
    #    verdict per answer, and taking "correct if any sample is" would hide a grading bug.
    #    Only where answers have a correctness (not non-0/1 rewards without a threshold).
    #    The counts stay valid (e.g. flaky code tests: one program, two verdicts), so this does
    #    not fail the read: the group's answers lose their correctness (vote_correct None), a
    #    note says why, and whatever needs it (maj@k, coverage) reports ``answer_conflict``.
    if split is not None and t is None and nonbinary:
        split = split.filter(~pl.col("_g").is_in(list(nonbinary)))
    conflict: dict[Any, str] = {}
    if split is not None and split.height:
        firsts = split.select("_g", "_id", "_a").sort(["_g", "_id", "_a"]).unique("_g", keep="first", maintain_order=True)
        for group, pid, answer in firsts.iter_rows():
            conflict[group] = str(_split_answer(job, flagged, group, pid, answer, t))
            notes.append(f"{conflict[group]}: answers get no correctness, so no maj@k or answer coverage")

    # 5. where each non-binary group's first non-0/1 reward sits; reward arrays.
    first_nb = _first_nonbinary(job, flagged, nonbinary) if nonbinary else {}
    want = nonbinary if opts.keep_rewards is None else set()
    if has_answer and keep_all:
        want = set(stats["_g"].unique().to_list())
    if want:
        chosen = pl.col("_g").is_in(list(want)) & ~pl.col("_empty")
        rew = job.run(
            lambda: (
                flagged(False)
                .filter(chosen)
                .group_by(pkeys)
                .agg(pl.col("_r").alias("rewards"))
                .collect(engine="streaming")
            )
        )
        rew = with_group(rew)
        stats = stats.join(rew, on=["_g", "_id"], how="left")
    if "rewards" in stats.columns:
        stats = stats.with_columns(pl.col("rewards").list.sort())
    if has_answer:
        missing = int(stats["n_noanswer"].sum())
        if missing:
            notes.append(f"{missing} row(s) with missing or empty answer kept as answer class ''")

    # 6. one table per group, problems sorted by id (as text).
    stats = stats.with_columns(pl.col("_g").cast(pl.String).alias("_label"), pl.col("_id").cast(pl.String))
    groups: dict[str, ProblemTable] = {}
    parts = {key[0]: part for key, part in stats.partition_by("_label", as_dict=True).items()}
    for label in _group_order(list(parts)):
        part = parts[label].sort("_id")
        g = part["_g"][0]
        binary_group = g not in nonbinary
        counted = binary_group or t is not None
        rewards = None
        if "rewards" in part.columns and (keep_all or g in want):
            rewards = _split_lists(part["rewards"], np.float64)
        votes = vote_ok = None
        if has_answer:
            votes = _split_lists(part["votes"], np.int64)
            vote_ok = _split_lists(part["vote_ok"], bool) if counted and g not in conflict else None
        if not binary_group:
            what = f"group {label!r}: " if label else ""
            if t is None:
                notes.append(
                    f"{what}rewards are not all 0/1 (first at {first_nb[g]}): c is None"
                    + (" and answers have no correctness" if has_answer else "")
                    + "; pass threshold= to count successes"
                )
            if rewards is None:
                notes.append(f"{what}reward arrays not kept (keep_rewards=False)")
        groups[label] = ProblemTable(
            ids=part["_id"].to_numpy().astype(object),
            n=part["n"].to_numpy().astype(np.int64),
            c=part["c"].to_numpy().astype(np.int64) if counted else None,
            rewards=rewards,
            votes=votes,
            vote_correct=vote_ok,
            nonbinary_at=first_nb.get(g),
            answer_conflict=conflict.get(g),
        )
    return groups, rows


def _split_answer(
    job: _Job, flagged: Any, group: Any, pid: Any, answer: str, threshold: float | None
) -> InputError:
    """The error for an answer with both correct and incorrect samples: names one of each."""
    flt = (pl.col("_g") == group) & (pl.col("_id") == pid) & (pl.col("_a") == answer)
    rows = job.run(lambda: flagged(True).filter(flt).select("_pos", "_ok", "_r").sort("_pos").collect())
    yes = rows.filter(pl.col("_ok")).row(0)
    no = rows.filter(~pl.col("_ok")).row(0)
    here, there = (yes, no) if yes[0] > no[0] else (no, yes)  # cite the later row, point to the earlier

    def verdict(row: tuple[Any, ...]) -> str:
        _, ok, r = row
        if threshold is None:
            return "correct" if ok else "incorrect"
        return f"reward {_num(r)} {'≥' if ok else '<'} {_num(threshold)}"

    shown = repr(answer) if answer else "'' (missing or empty)"
    return InputError(
        f"{job.where(here[0])}: problem {_pid(pid)}{job.in_group(group)}: answer {shown} has both correct "
        f"and incorrect samples ({verdict(here)} here, {verdict(there)} at {job.where(there[0])})"
    )


def _first_nonbinary(job: _Job, flagged: Any, groups: set[Any]) -> dict[Any, str]:
    """Location of the first non-0/1 reward of each group in ``groups``.

    Without ``by`` each input is one group: a filtered ``head(1)`` per input stops
    at the first hit instead of scanning the whole file.
    """
    if job.labels[0] is None:
        firsts = job.run(
            lambda: (
                flagged(True)
                .filter(pl.col("_nb"))
                .group_by("_g")
                .agg(pl.col("_pos").min())
                .collect(engine="streaming")
            )
        )
        return {g: job.where(pos) for g, pos in firsts.iter_rows()}
    out: dict[Any, str] = {}
    for i, label in enumerate(job.labels):
        if label in out or label not in groups:
            continue
        hit = job.run(lambda i=i: flagged(True, i).filter(pl.col("_nb")).select("_pos").head(1).collect())
        if hit.height:
            out[label] = job.where(hit["_pos"][0])
    return out


def _read_counts(job: _Job, opts: _Options, notes: list[str]) -> tuple[dict[str, ProblemTable], int]:
    m = job.maps[0]
    assert m.c is not None and m.n is not None
    if opts.threshold is not None:
        notes.append("threshold ignored: the inputs hold counts, not rewards")
    df: pl.DataFrame = job.run(lambda: job.frame(True).collect(engine="streaming")).sort("_pos")
    rows = df.height
    empty = df["_empty"].to_numpy()
    # counts pass through float64 so that 1.5 or 'x' can be named; exact for |x| < 2⁵³ (checked below)
    c = df["_c"].to_numpy().astype(np.float64)
    n = df["_n"].to_numpy().astype(np.float64)
    id_null = df["_id"].is_null().to_numpy()

    def shown(which: int, i: int) -> str:
        """Count c (which=0) or n (1) of row i as the input holds it: beyond 2⁵³ a float
        is not the number written, so the file's text (or a typed column's value) is quoted."""
        x = (c, n)[which][i]
        if not (math.isfinite(x) and abs(x) >= 2.0**53):
            return _num(x)
        f, row = _decode(int(df["_pos"][i]))
        src, col = job.sources[f], (m.c, m.n)[which]
        assert col is not None
        text = _raw_field(src, row, col) if src.kind in ("jsonl", "csv") else df[f"_raw{which}"][i]
        return text if text else f"{_num(x)} (rounded)"

    def not_a_number(col: str, raw: str) -> str:
        text = raw.strip().lower()
        if text in ("true", "false"):
            return f"count {col!r} = {text} is a boolean, not a count"
        return f"count {col!r} = {raw!r} is not a number"

    nested = np.zeros(rows, dtype=bool)
    nested_at: dict[int, tuple[str, str]] = {}
    if df["_nest"].any():  # text starting with [ or {: a JSON list or object?
        found = _nested_rows(job)
        nested = df["_pos"].is_in(found["_pos"].implode()).to_numpy()
        nested_at = {pos: (col, kind) for pos, col, kind in found.iter_rows()}

    with np.errstate(invalid="ignore"):
        checks: list[tuple[np.ndarray, Any]] = [
            (id_null, lambda i: _missing_id(df["_rawid"][i], m.id)),
            (nested, None),
            (df["_cbad"].to_numpy(), lambda i: not_a_number(m.c, df["_raw0"][i])),
            (df["_nbad"].to_numpy(), lambda i: not_a_number(m.n, df["_raw1"][i])),
            (~np.isfinite(c), lambda i: f"missing or non-finite count {m.c!r}"),
            (~np.isfinite(n), lambda i: f"missing or non-finite count {m.n!r}"),
            (c != np.round(c), lambda i: f"count {m.c!r} = {shown(0, i)} is not an integer"),
            (n != np.round(n), lambda i: f"count {m.n!r} = {shown(1, i)} is not an integer"),
            (n >= 2.0**53, lambda i: f"n = {shown(1, i)} is too large to count exactly (2^53 or more)"),
            (n < 1, lambda i: f"n = {shown(1, i)} < 1"),
            (c < 0, lambda i: f"c = {shown(0, i)} < 0"),
            (c > n, lambda i: f"c = {shown(0, i)} > n = {shown(1, i)}"),
            (df["_g"].is_null().to_numpy(), lambda i: f"missing value in group column {m.by!r}"),
        ]
    flagged = np.zeros(rows, dtype=bool)
    for mask, _ in checks:
        flagged |= mask & ~empty
    if flagged.any():
        i = int(np.flatnonzero(flagged)[0])
        if nested[i] and not id_null[i]:
            pos = int(df["_pos"][i])
            raise InputError(_nested_message(job, pos, *nested_at[pos]))
        where = job.where(int(df["_pos"][i]))
        who = "" if id_null[i] else f"problem {_pid(df['_id'][i])}: "
        message = next(msg for mask, msg in checks if mask[i])
        raise InputError(f"{where}: {who}{message(i)}")
    if empty.any():
        notes.append(f"{int(empty.sum())} empty row(s) (no {m.id!r}, {m.c!r}, {m.n!r}) skipped")
    df = df.filter(~pl.col("_empty"))
    dup = df.filter(pl.struct("_g", "_id").is_duplicated())
    if dup.height:
        first = dup.row(0, named=True)
        g, pid = first["_g"], first["_id"]
        same = dup.filter((pl.col("_g") == g) & (pl.col("_id") == pid))
        differ = []
        for j, x in enumerate(m.extras):
            values = same[f"_x{j}"].unique(maintain_order=True).to_list()
            if len(values) > 1 and m.by is None:
                pos = same.filter(pl.col(f"_x{j}").eq_missing(values[1]))["_pos"][0]
                raise job.mixed(pos, g, pid, x, values)
            if len(values) > 1:
                differ.append(x)
        hint = f"; the rows differ in {', '.join(map(repr, differ))}: filter the input" if differ else ""
        raise InputError(
            f"{job.where(int(same['_pos'][1]))}: duplicate problem id {_pid(pid)}{job.in_group(g)} "
            f"(first at {job.where(int(same['_pos'][0]))}){hint}"
        )
    df = df.with_columns(pl.col("_g").cast(pl.String).alias("_label"), pl.col("_id").cast(pl.String))
    groups: dict[str, ProblemTable] = {}
    parts = {key[0]: part for key, part in df.partition_by("_label", as_dict=True).items()}
    for label in _group_order(list(parts)):
        part = parts[label].sort("_id")
        for j, x in enumerate(m.extras):
            vals = part[f"_x{j}"].unique().to_list()
            if len(vals) > 1:
                notes.append(
                    f"group {label!r}: column {x!r} has {len(vals)} values on disjoint problems; "
                    f"pass by={x!r} to split them"
                )
        groups[label] = ProblemTable(
            ids=part["_id"].to_numpy().astype(object),
            n=part["_n"].to_numpy().astype(np.int64),
            c=part["_c"].to_numpy().astype(np.int64),
        )
    return groups, rows
