"""Read sample logs into per-problem sufficient statistics.

Input: JSON lines (``.jsonl``, ``.ndjson``, ``.json``), JSON documents (``.json``: an array of
records, records keyed by problem id, or records under ``samples``, ``records``, ``data`` …),
CSV (``.csv``), Parquet (``.parquet``, ``.pq``) or Inspect AI ``.eval`` archives, chosen by
extension (then by content for ``.json``), or an in-memory frame (polars, pandas, pyarrow). Text files may be compressed
(gzip and zstd are streamed; bzip2 is decompressed into memory; a JSON document is always read
whole). The logs that evaluation tools and trainers write are recognized by their content and
read with no options (``formats/presets/``: lm-evaluation-harness samples, Inspect AI, EvalPlus,
LiveCodeBench, CRUXEval, HELM, lighteval, verl, TRL). Two row shapes are understood:

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
physical line, the header being line 1; JSON documents — the record's JSON path
(``$.eval["HumanEval/0"][3]``), or the line and column where the text is not JSON; Parquet
and frames — ``row r``, 1-based (``row 1`` is the first data row).

Layout (this package's face re-exports the public names; data flows down the list):

* ``read`` — :func:`read`, :func:`from_frame`: roles, notes and grouping of the inputs;
* ``aggregate`` (per-sample rows, in named stages) and ``counts`` (count rows);
* ``job`` — the queries over all inputs of one read; ``lists`` — reward columns holding lists;
* ``normalize`` — one lazy frame per input in canonical columns;
* ``sources`` — files: format, existence, digest; ``formats/`` — one module per format
  behind the :class:`~passlens.io.formats.base.Format` protocol (scan, locate, diagnose …),
  helpers for compression and JSON layout (``_*.py``), and ``formats/presets/``: one module
  per tool's log behind the :class:`~passlens.io.formats.presets.base.Preset` protocol;
* ``columns`` — which column plays which role; ``messages`` — shared one-line texts;
* ``tables`` — :class:`ProblemTable`, :class:`Dataset`, :class:`InputError`, :func:`from_counts`.
"""

from __future__ import annotations

from .columns import COLUMN_SPELLINGS
from .read import bundled_deepscaler, from_frame, read
from .tables import Dataset, InputError, MixedGroupError, ProblemTable, from_counts

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
