"""File patterns read by an engine's own readers: Parquet, CSV and JSON lines, local or remote.

A pattern is a path, a glob (``logs/*.parquet``; ``*``, ``?`` and ``[…]`` in the last parts)
or a URL the engine reads (``s3://bucket/logs/*.parquet``, ``gs://…``, ``hdfs://…``: the
engine's own filesystems and credentials). The format is the pattern's suffix. One pattern is
one input, whatever number of files it matches.

Local patterns are checked here (a missing file, a glob matching nothing, a directory are
one-line errors before any engine starts); URLs are the engine's to resolve.

Every reader reads CSV with every column as text (ids stay as written, ``007`` is not ``7``, and
the reward text is parsed by :mod:`.plan` the same way on every engine); Parquet and JSON lines
keep their types. :func:`open_input` gives a function for the error path too, which reads the
same files with a ``_file`` column (the file each row comes from), so that messages can name
the file of a glob.
"""

from __future__ import annotations

import glob as globlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from ..tables import InputError
from .sessions import duckdb_connection, ray_ready, require, spark_session

__all__ = ["Pattern", "pattern_of", "open_input", "shown_file", "FORMAT_OF_SUFFIX"]

#: The formats an engine reads, by file suffix (``.json`` is read as JSON lines).
FORMAT_OF_SUFFIX = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_GLOB = re.compile(r"[*?\[]")


@dataclass(frozen=True)
class Pattern:
    """One input of an engine read: the pattern as given, its format, and whether it can match
    several files (then errors name the file)."""

    label: str
    fmt: str
    url: bool
    glob: bool

    @property
    def stem(self) -> str:
        """The group label when several patterns are one group each: the file stem, or for a glob the
        stem of its first part that has no wildcard (``runs/base/*.parquet`` → ``base``)."""
        parts = Path(self.label.split("://", 1)[-1]).parts
        for part in reversed(parts):
            stem = Path(part).stem if part == parts[-1] else part
            if not _GLOB.search(stem):
                return stem
        return self.label


def pattern_of(text: str) -> Pattern:
    """The pattern ``text`` with its format, checked where it is local.

    Raises:
      InputError: unknown suffix; a local file that does not exist, a glob that matches no
        file, a directory.
    """
    url = bool(_URL.match(text))
    name = text.rstrip("/").rsplit("/", 1)[-1]
    suffix = Path(name).suffix.lower()
    glob = bool(_GLOB.search(text))
    if suffix not in FORMAT_OF_SUFFIX:
        if not url and not glob and Path(text).is_dir():
            raise InputError(f"{text}: is a directory; give a pattern such as '{text.rstrip('/')}/*.parquet'")
        known = ", ".join(sorted(FORMAT_OF_SUFFIX))
        raise InputError(f"{text}: unknown file extension {suffix!r}; an engine reads {known}")
    if not url:
        if glob:
            if not any(os.path.isfile(p) for p in globlib.iglob(os.path.expanduser(text), recursive=True)):
                raise InputError(f"{text}: no file matches")
        elif not Path(text).expanduser().exists():
            raise InputError(f"{text}: file not found")
        elif Path(text).expanduser().is_dir():
            raise InputError(f"{text}: is a directory; give the files inside it, or a pattern")
    return Pattern(text, FORMAT_OF_SUFFIX[suffix], url, glob)


def shown_file(path: str, pattern: Pattern) -> str:
    """A file an engine reports (``file:///abs/x.parquet``, ``/abs/x.parquet``, ``x.parquet``) as
    messages name it: local files relative to the working folder when the pattern is relative."""
    text = str(path)
    if text.startswith("file:"):
        text = unquote(re.sub(r"^file:(//)?", "", text))
    if not pattern.url and os.path.isabs(text) and not os.path.isabs(os.path.expanduser(pattern.label)):
        rel = os.path.relpath(text)
        if not rel.startswith(".."):
            return rel
    return text


# -- readers, one per (engine, format) ------------------------------------------------------------


def _local(p: Pattern) -> str:
    """The pattern as the engine gets it: a local one absolute (Spark's JVM and Ray's workers have
    working folders of their own), a URL as written."""
    return p.label if p.url else os.path.abspath(os.path.expanduser(p.label))


def _polars(p: Pattern, with_file: bool) -> Any:
    import polars as pl

    path = _local(p)
    files = "_file" if with_file else None
    if p.fmt == "parquet":
        return pl.scan_parquet(path, include_file_paths=files)
    if p.fmt == "csv":
        return pl.scan_csv(path, infer_schema=False, include_file_paths=files)
    return pl.scan_ndjson(path, include_file_paths=files)


def _duckdb(p: Pattern, with_file: bool) -> Any:
    con = duckdb_connection()
    path = _local(p)
    lit = "'" + path.replace("'", "''") + "'"
    files = ", filename = '_file'" if with_file else ""
    call = {
        "parquet": f"read_parquet({lit}{files})",
        "csv": f"read_csv({lit}, header = true, all_varchar = true{files})",
        "jsonl": f"read_json({lit}, format = 'newline_delimited'{files})",
    }[p.fmt]
    return con.sql(f"SELECT * FROM {call}")


def _spark(p: Pattern, with_file: bool) -> Any:
    spark = spark_session()
    path = _local(p)
    reader = spark.read
    if p.fmt == "parquet":
        df = reader.parquet(path)
    elif p.fmt == "csv":
        df = reader.options(header=True, mode="FAILFAST").csv(path)  # every column text: no inferSchema
    else:
        df = reader.options(mode="FAILFAST").json(path)
    if with_file:
        from pyspark.sql import functions as F

        df = df.select("*", F.col("_metadata.file_path").alias("_file"))
    return df


def _ray_paths(p: Pattern) -> list[str] | str:
    """Ray reads paths, not globs: a local glob is expanded here; a remote one through pyarrow's
    filesystem of its URL (the part before the first wildcard is listed)."""
    if not p.glob:
        return _local(p)
    if not p.url:
        return sorted(f for f in globlib.glob(_local(p), recursive=True) if os.path.isfile(f))
    import fnmatch

    import pyarrow.fs as pafs

    scheme, rest = p.label.split("://", 1)
    head = _GLOB.search(rest)
    assert head is not None
    base = rest[: head.start()].rsplit("/", 1)[0]
    fs, root = pafs.FileSystem.from_uri(f"{scheme}://{base}")
    infos = fs.get_file_info(pafs.FileSelector(root, recursive="**" in rest))
    return sorted(
        f"{scheme}://{base}{i.path[len(root):]}"
        for i in infos
        if i.is_file and fnmatch.fnmatch(f"{base}{i.path[len(root):]}", rest)
    )


def _ray(p: Pattern, with_file: bool) -> Any:
    ray_ready()
    import ray.data

    paths = _ray_paths(p)
    if isinstance(paths, list) and not paths:
        raise InputError(f"{p.label}: no file matches")
    if p.fmt == "parquet":
        ds = ray.data.read_parquet(paths, include_paths=with_file, file_extensions=None)
    elif p.fmt == "csv":
        import pyarrow as pa
        import pyarrow.csv as pacsv
        import pyarrow.fs as pafs

        first = paths[0] if isinstance(paths, list) else paths
        fs, where = pafs.FileSystem.from_uri(first) if p.url else (pafs.LocalFileSystem(), first)
        with fs.open_input_stream(where) as f:
            names = pacsv.open_csv(f).schema.names
        convert = pacsv.ConvertOptions(column_types={c: pa.string() for c in names}, strings_can_be_null=True)
        ds = ray.data.read_csv(paths, include_paths=with_file, convert_options=convert, file_extensions=None)
    else:
        ds = ray.data.read_json(paths, lines=True, include_paths=with_file, file_extensions=None)
    return ds.rename_columns({"path": "_file"}) if with_file else ds


_READERS: dict[str, Callable[[Pattern, bool], Any]] = {
    "polars": _polars,
    "duckdb": _duckdb,
    "spark": _spark,
    "ray": _ray,
}


def open_input(engine: str, p: Pattern) -> tuple[Any, Callable[[], Any] | None]:
    """The pattern as the engine's native (lazy) frame, and for a glob a function that reads it again
    with a ``_file`` column (messages then name the file)."""
    require(engine)
    read = _READERS[engine]
    try:
        native = read(p, False)
    except InputError:
        raise
    except Exception as e:  # noqa: BLE001 - each engine raises its own types for a missing or bad file
        from .runners import engine_message

        raise InputError(f"{p.label}: cannot read with {engine}: {engine_message(e)}") from None
    return native, ((lambda: read(p, True)) if p.glob else None)
