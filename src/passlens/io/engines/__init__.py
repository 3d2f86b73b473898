"""Per-sample rows aggregated where they live: an engine runs the group-by, only counts come back.

Two ways in, through the entry points of :mod:`passlens.io`:

* ``read(patterns, engine="polars" | "duckdb" | "spark" | "ray")`` — Parquet, CSV or JSON-lines
  files, globs or URLs (:mod:`.files`), read by the engine's own readers;
* ``from_frame(frame)`` with a frame that lives outside this process's memory or that narwhals
  reads lazily — a DuckDB relation, a PySpark (or Spark Connect) DataFrame, a Dask DataFrame,
  an Ibis table … — or a Ray Data ``Dataset``. (polars, pandas and pyarrow frames keep the
  in-process reader, which names rows.)

How (the design, one module each):

* :mod:`.plan` — the canonical columns, the row flags and the group-by specs, written once with
  narwhals: what every engine runs;
* :mod:`.runners` — who runs it: narwhals over the engine's lazy frame (``collect`` brings back
  the groups only), or Ray Data (the same narwhals code per block, then Ray's own
  ``groupby().aggregate()``);
* :mod:`.aggregate` — the checks on the collected counts, the messages, the tables;
* :mod:`.files` and :mod:`.sessions` — patterns opened by each engine; sessions from the
  environment (``SPARK_REMOTE`` / ``SPARK_MASTER``, ``RAY_ADDRESS``) with a local default.

The column roles, auto-detection, notes and one-line errors are those of :func:`passlens.io.read`;
errors are located as ``<input>: problem 'x'`` (the file of a glob where the error path can name
it), the same line on every engine. ``Dataset.sha256`` is empty (files are not read twice to hash them).
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..columns import Options
from ..tables import Dataset, InputError
from .sessions import ENGINES, EngineError

__all__ = ["ENGINES", "EngineError", "read_patterns", "read_frame"]

#: Frames that the in-process reader takes (converted to polars): not routed to an engine.
_IN_PROCESS = ("polars", "pandas", "pyarrow")


def read_patterns(paths: Sequence[str | Path], opts: Options, engine: str) -> Dataset:
    """:func:`passlens.io.read` of file patterns by ``engine`` (module docstring)."""
    from .aggregate import read_engine
    from .files import open_input, pattern_of, shown_file
    from .sessions import require

    require(engine)
    patterns = [pattern_of(str(p)) for p in paths]
    if not patterns:
        raise InputError("no input files given")
    seen: set[str] = set()
    for p in patterns:
        if p.label in seen:
            raise InputError(f"{p.label}: given twice")
        seen.add(p.label)
    opened = [open_input(engine, p) for p in patterns]
    labels = [p.label for p in patterns]
    runner = _runner(engine, [o[0] for o in opened], labels, [o[1] for o in opened])
    return read_engine(runner, [p.stem for p in patterns], opts, lambda i, f: shown_file(f, patterns[i]))


def read_frame(frame: Any, source: str, opts: Options) -> Dataset | None:
    """:func:`passlens.io.from_frame` of a frame an engine holds; ``None`` for the frames the
    in-process reader takes (polars, pandas, pyarrow) and for types no engine reads."""
    from .aggregate import read_engine

    module = type(frame).__module__.split(".")[0]
    if module in _IN_PROCESS:
        return None
    if module == "ray" and "ray.data" in sys.modules:
        import ray.data

        if isinstance(frame, ray.data.Dataset):
            return read_engine(_runner("ray", [frame], [source], [None]), [source], opts)
    try:
        import narwhals.stable.v2 as nw
    except ImportError:  # pragma: no cover - narwhals is a dependency
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # ("Dask support is moving out of Narwhals …")
        wrapped = nw.from_native(frame, pass_through=True)
    if wrapped is frame:
        return None
    name = wrapped.implementation.name.lower()
    runner = _runner({"pyspark": "spark", "pyspark_connect": "spark connect"}.get(name, name), [frame], [source], [None])
    return read_engine(runner, [source], opts)


def _runner(engine: str, natives: list[Any], labels: list[str], with_file: list[Any]) -> Any:
    from .runners import NarwhalsRunner, RayRunner

    if engine == "ray":
        from .sessions import ray_ready

        ray = ray_ready()
        cpus = int(ray.cluster_resources().get("CPU", 1))
        return RayRunner(natives, labels, with_file, partitions=max(1, min(200, 2 * cpus)))
    collect = {"engine": "streaming"} if engine == "polars" else None
    return NarwhalsRunner(engine, natives, labels, with_file, collect)
