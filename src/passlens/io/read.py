"""The entry points: :func:`read` (files), :func:`from_frame` (frames), :func:`bundled_deepscaler`;
and what happens between opening the inputs and aggregating them: the roles of their columns,
the notes about them, and their grouping."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Any

import polars as pl

from .aggregate import read_samples
from .columns import RUN_COLUMNS, Mapping, Options, harmonize, make_options, resolve
from .counts import read_counts
from .formats import Format
from .formats.frame import Frame
from .job import Job
from .lists import with_lists
from .messages import shown_name
from .sources import file_sources
from .tables import Dataset, InputError

__all__ = ["read", "from_frame", "bundled_deepscaler"]


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
    engine: str | None = None,
) -> Dataset:
    """Read sample logs or per-problem counts into per-group :class:`ProblemTable` s.

    Per problem i (rows j of that problem in one group):

        n_i = #rows,   c_i = Σ_j r_ij  (0/1 rewards)   or   Σ_j 1[r_ij ≥ t]  (threshold t)

    the sufficient statistic of pass@k and pass^k (Chen et al. 2021, Eq. 1).

    Args:
      paths: one path or a sequence; format by extension (.jsonl/.ndjson/.json,
        .csv, .parquet/.pq; a .json file holds JSON lines or one JSON document,
        told by content), optionally compressed (.gz, .zst, .bz2). ``"-"`` is
        standard input; it, ``/dev/stdin`` and a FIFO are streams, read once (copied
        to a temporary file as they arrive), their format told by content unless
        their name has a suffix. A tool's own log
        is recognized by content and its columns given roles (the options below
        win). Paths are literal (``p?.jsonl`` is not a glob pattern). Several files
        are concatenated (see module docstring for how they are grouped).
      id_col, reward_col, c_col, n_col, answer_col, sample_col: column names,
        overriding auto-detection (:data:`COLUMN_SPELLINGS`). Giving
        reward_col forces the samples shape; c_col or n_col the counts shape.
      by: group rows by this column (e.g. "model", "step").
      threshold: a sample is correct when reward ≥ threshold (continuous rewards).
      binary: require every reward to be 0 or 1 (bools allowed); anything else
        is an error naming its line.
      keep_rewards: keep per-problem reward arrays; default (None) keeps them
        only for groups whose rewards are not all 0/1.
      engine: ``"polars"``, ``"duckdb"``, ``"spark"`` or ``"ray"``: the aggregation runs in that
        engine and only per-problem counts come back (:mod:`passlens.io.engines`). ``paths`` are
        then patterns: Parquet, CSV or JSON-lines files, globs (``logs/*.parquet``) or URLs the
        engine reads (``s3://…``); messages name the input (or a glob's file) and the problem.

    Returns:
      :class:`Dataset` with, per group, ids object (P,), n int64 (P,), c int64 (P,)
      or None, and the optional rewards / votes / vote_correct lists of P arrays.

    Raises:
      InputError: missing file, unknown extension, empty file, a file given
        twice, missing column, malformed JSON or non-UTF-8 text, non-numeric /
        NaN / null reward, missing or empty id, bad counts (c > n, c < 0,
        non-integers, booleans, n < 1), duplicate (problem, sample id), an answer
        both correct and incorrect within a problem, duplicate problem in a count
        group, a problem mixing models in one group, damaged compressed data, a
        JSON key given twice in one record (readers disagree on which value counts;
        in JSON lines, the columns read are checked, escaped spellings and a tool's nested
        fields included; a JSON document refuses it in any object), JSON ids of mixed types (``1``,
        ``"1"``, ``1.0``), a JSON document passlens does not know, a tool's file that cannot give
        per-sample results. The message is one line naming file and line (or row,
        or a JSON document's record by its JSON path).
    """
    if isinstance(paths, (str, Path)):
        path_list: list[str | Path] = [paths]
    else:
        try:
            path_list = list(paths)
        except TypeError:
            raise InputError(f"paths: expected a path (str or Path) or a list of them, got {type(paths).__name__}") from None
        bad = [p for p in path_list if not isinstance(p, (str, Path))]
        if bad:
            got = f"a list holding {type(bad[0]).__name__}"
            raise InputError(f"paths: expected a path (str or Path) or a list of them, got {got}")
    opts = make_options(
        id_col, reward_col, c_col, n_col, answer_col, sample_col, by, threshold, binary, keep_rewards
    )
    if engine is not None:  # aggregated by an engine where the files are (engines/)
        from .engines import read_patterns

        return read_patterns(path_list, opts, engine)
    with ExitStack() as stack:  # (holds the temporary copies of streams while they are read)
        sources, digests = file_sources(path_list, stack)
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
    """As :func:`read`, from a frame: polars / pandas / pyarrow in memory, or any frame narwhals
    reads (a DuckDB relation, a PySpark DataFrame, Dask …) or a Ray Data Dataset, aggregated by
    its own engine (only per-problem counts are collected; :mod:`passlens.io.engines`).

    Args:
      frame: polars DataFrame or LazyFrame, pandas DataFrame, pyarrow Table or
        RecordBatch, with one row per sample or per problem; or a lazy / distributed frame
        (messages then name the problem, not the row).
      source: name used for the frame in messages (rows are named ``row r``, 1-based).
      others: as :func:`read`.

    Returns:
      :class:`Dataset` (``sha256`` is empty: a frame is not a file).
    """
    opts = make_options(
        id_col, reward_col, c_col, n_col, answer_col, sample_col, by, threshold, binary, keep_rewards
    )
    from .engines import read_frame  # frames an engine holds (DuckDB, Spark, Dask, Ray …)

    held = read_frame(frame, source, opts)
    if held is not None:
        return held
    return _read_sources([Frame.of(frame, source)], opts, {})


def bundled_deepscaler() -> tuple[Path, Path]:
    """Paths of the bundled DeepScaleR count files ``(base.jsonl, rl.jsonl)``.

    Real per-prompt counts (1060 prompts, n = 128 each) for DeepSeek-R1-Distill-
    Qwen-1.5B (base) and DeepScaleR-1.5B-Preview (rl); see the README beside them.
    """
    folder = resources.files("passlens") / "data" / "deepscaler32k"
    return Path(str(folder / "base.jsonl")), Path(str(folder / "rl.jsonl"))


def _read_sources(sources: list[Format], opts: Options, digests: dict[str, str]) -> Dataset:
    """Roles of every input's columns, notes, groups; then the samples or counts aggregation."""
    preset_by = sources[0].defaults.by if len(sources) == 1 and sources[0].defaults is not None else None
    if opts.by is None and preset_by is not None:
        opts = replace(opts, by=preset_by)  # a tool's file read alone: its own groups (lm-eval filters)
    maps = [_resolve(src, opts) for src in sources]
    for src, m in zip(sources, maps):
        src.check_records([c for c in (m.id, m.reward, m.c, m.n, m.answer, m.sample, m.by, *m.extras) if c], m.id)
    shapes = {m.shape for m in maps}
    if len(shapes) > 1:
        kinds = ", ".join(f"{s.label} ({m.shape})" for s, m in zip(sources, maps))
        raise InputError(f"inputs mix per-sample and count rows: {kinds}")
    notes: list[str] = []
    maps = [with_lists(s, m, opts, notes) for s, m in zip(sources, maps)]
    _note_columns(sources, maps, notes)
    maps = harmonize([s.label for s in sources], maps, notes)
    labels, by_label = _group_labels(sources, maps, opts, notes)
    job = Job(sources, maps, labels)
    aggregate = read_counts if maps[0].shape == "counts" else read_samples
    groups, rows = aggregate(job, opts, notes)
    return Dataset(
        groups=groups,
        shape=maps[0].shape,
        by=by_label,
        files=[s.label for s in sources],
        sha256=digests,
        rows=rows,
        notes=notes,
    )


def _resolve(src: Format, opts: Options) -> Mapping:
    """The roles of one input's columns: the caller's options, then what a tool preset says, then spellings."""
    schema = src.schema()
    candidates = [c for c, t in schema.items() if _reward_like(t)]
    d = src.defaults
    if d is None:
        return resolve(src.label, list(schema.names()), opts, candidates)
    counts_given = opts.c_col is not None or opts.n_col is not None
    fill: dict[str, Any] = {
        k: v
        for k, v in d.columns.items()
        if getattr(opts, k) is None
        and not (k == "reward_col" and counts_given)
        and not (k in ("c_col", "n_col") and opts.reward_col is not None)
    }
    m = resolve(src.label, list(schema.names()), replace(opts, **fill), candidates)
    if opts.reward_col is None and m.reward is not None:
        # the preset's other rewards are named by the note on the reward chosen, not as unused
        others = tuple(c for c in d.rewards if c != m.reward)
        m = replace(m, other_rewards=others, unused=tuple(c for c in m.unused if c not in others))
    return m


def _reward_like(dtype: pl.DataType) -> bool:
    """A column type that can hold rewards: numbers, booleans, or lists of them."""
    inner = dtype.inner if isinstance(dtype, pl.List) else dtype
    return inner is not None and (inner.is_numeric() or inner == pl.Boolean)


def _bundled(src: Format) -> bool:
    """Whether the input is one of the package's own data files (documented in their README)."""
    if src.path is None:
        return False
    data = Path(str(resources.files("passlens") / "data")).resolve()
    return src.path.resolve().is_relative_to(data)


def _note_columns(sources: list[Format], maps: list[Mapping], notes: list[str]) -> None:
    """Notes on what a tool's file was read as, the reward column chosen among several, blank lines
    skipped, columns not used (not for the package's own data: notes are about the user's files)."""
    for s in sources:
        if s.defaults is not None and s.defaults.note:
            notes.append(s.defaults.note)
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
        if m.unused and not _bundled(s):
            unused.setdefault(m.unused, []).append(s.label)
    for cols, where in unused.items():
        notes.append(f"column(s) not used: {', '.join(map(shown_name, cols))} (in {', '.join(where)})")


def _group_labels(
    sources: list[Format], maps: list[Mapping], opts: Options, notes: list[str]
) -> tuple[list[str | None], str | None]:
    """The group label of each input (``None``: from its ``by`` column) and ``Dataset.by``.

    One input: one group ``""``. Several files without ``by``: one group per file stem,
    unless they are shards of one run (:func:`_single_values`), pooled into ``""``.
    """
    if opts.by is not None:
        return [None] * len(sources), opts.by
    if len(sources) == 1:
        return [""], None
    labels: list[str | None] = [s.stem for s in sources]
    run_columns = [x for x in maps[0].extras if x.lower() in RUN_COLUMNS]
    single = _single_values(sources, maps) if run_columns else None
    if single is not None:
        notes.append(
            f"{len(sources)} files pooled into one group: every row has "
            + ", ".join(f"{k}={v!r}" for k, v in single.items())
        )
        return [""] * len(sources), None
    notes.append("several files without by=: one group per file (" + ", ".join(map(repr, labels)) + ")")
    return labels, "file"


def _single_values(sources: list[Format], maps: list[Mapping]) -> dict[str, str] | None:
    """Value of each model/checkpoint/step column when it is one and the same in every file."""
    found: dict[str, set[Any]] = {}
    for src, m in zip(sources, maps):
        text = {x: pl.String for x in m.extras}  # (text inputs: read as strings; typed ones as stored)
        query = src.scan(text).select([pl.col(x).cast(pl.String) for x in m.extras]).unique()
        try:
            frame = query.collect(engine="streaming")
        except pl.exceptions.PolarsError as e:
            raise src.read_error(e) from None
        for x in m.extras:
            found.setdefault(x.lower(), set()).update(frame[x].to_list())
            if len(found[x.lower()]) > 1:
                return None
    return {k: next(iter(v)) for k, v in found.items()}
