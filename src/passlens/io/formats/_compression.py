"""Compressed files: gzip, zstd and bzip2, told by their first bytes, whatever the file is called.

A compression suffix (``.gz``, ``.zst``, ``.bz2``, …) only hides the suffix that names the format
(``samples.jsonl.gz`` is JSON lines): :func:`format_suffix`. The content decides how the bytes are
read (:func:`compression`), as polars decides it too.

* gzip and zstd: polars decompresses them itself while it scans, in a stream (memory stays flat;
  numbers in ``benchmarks/RESULTS.md``);
* bzip2: polars does not read it; the file is decompressed into memory first (its uncompressed
  size), by Python's ``bz2``.

The error path (Python rescans that name a line) reads every kind through :func:`open_binary`:
``gzip`` and ``bz2`` from the standard library, zstd through pyarrow (a dependency already).
"""

from __future__ import annotations

import bz2
import gzip
import importlib
import io
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from ..messages import one_line
from ..tables import InputError

__all__ = [
    "SUFFIXES",
    "compression",
    "format_suffix",
    "file_stem",
    "open_binary",
    "read_all",
    "read_head",
    "lines",
]

#: File suffixes that name a compression (lower case), and the compression they usually mean.
SUFFIXES = {".gz": "gzip", ".gzip": "gzip", ".zst": "zstd", ".zstd": "zstd", ".bz2": "bzip2"}

_GZIP = b"\x1f\x8b"
_ZSTD = b"\x28\xb5\x2f\xfd"
_BZ2_BLOCK = b"\x31\x41\x59\x26\x53\x59"  # a bzip2 stream: "BZh", a level 1-9, then this block magic


def _kind(head: bytes) -> str | None:
    if head.startswith(_GZIP):
        return "gzip"
    if head.startswith(_ZSTD):
        return "zstd"
    # "BZh" alone could start a CSV header; the level digit and the block magic cannot
    if head[:3] == b"BZh" and head[3:4].isdigit() and head[4:10] == _BZ2_BLOCK:
        return "bzip2"
    return None


def compression(path: Path) -> str | None:
    """``"gzip"``, ``"zstd"`` or ``"bzip2"`` when the file's first bytes say so, else ``None``."""
    try:
        with open(path, "rb") as f:
            return _kind(f.read(10))
    except OSError:
        return None


def format_suffix(path: Path) -> str:
    """The suffix that names the format, in lower case: ``a.jsonl.gz`` → ``.jsonl``, ``a.CSV`` → ``.csv``.

    A compression suffix with nothing before it (``a.gz``) is returned as it is.
    """
    suffixes = [s.lower() for s in path.suffixes]
    if len(suffixes) >= 2 and suffixes[-1] in SUFFIXES:
        return suffixes[-2]
    return path.suffix.lower()


def file_stem(path: Path) -> str:
    """The file's name without its format suffix and compression suffix: ``runs/a.jsonl.gz`` → ``a``."""
    stem = path.stem
    return Path(stem).stem if path.suffix.lower() in SUFFIXES and Path(stem).suffix else stem


def open_binary(path: Path) -> BinaryIO:
    """The file's bytes, decompressed when it is compressed (a buffered reader: iterate it for lines)."""
    kind = compression(path)
    if kind == "gzip":
        return gzip.open(path, "rb")  # type: ignore[return-value]  # a GzipFile is a binary reader
    if kind == "bzip2":
        return bz2.open(path, "rb")  # type: ignore[return-value]
    if kind == "zstd":
        # (polars reads zstd itself; the Python rescans go through pyarrow, which has no type stubs)
        pa: Any = importlib.import_module("pyarrow")
        return io.BufferedReader(pa.input_stream(str(path), compression="zstd"))
    return open(path, "rb")


def read_head(path: Path, size: int) -> bytes:
    """The first ``size`` bytes of the (decompressed) file, or as many as could be read: a missing
    file or damaged data is reported when the file is read."""
    out = bytearray()
    try:
        with open_binary(path) as f:
            while len(out) < size and (chunk := f.read(min(1 << 12, size - len(out)))):
                out += chunk
    except (OSError, EOFError, ValueError, zlib.error):
        pass
    return bytes(out)


def _damaged(label: str, path: Path, e: BaseException, where: str = "") -> InputError:
    kind = compression(path) or "compressed"
    what = "ends early (cut off?)" if isinstance(e, EOFError) else f"is damaged ({one_line(e)})"
    return InputError(f"{label}{where}: the {kind} data {what}")


def read_all(path: Path, label: str) -> bytes:
    """The whole (decompressed) file, in memory; damaged compressed data is an error naming ``label``."""
    try:
        with open_binary(path) as f:
            return f.read()
    except (EOFError, zlib.error, ValueError) as e:  # (OSError: a bad gzip header, a pyarrow stream error)
        raise _damaged(label, path, e) from None
    except OSError as e:
        if compression(path) is None:
            raise
        raise _damaged(label, path, e) from None


def lines(path: Path, label: str) -> Iterator[bytes]:
    """The (decompressed) file's lines, newline kept; where the compressed data breaks off or is
    damaged, an error naming the line after the last whole one (``file:line``)."""
    lineno = 0
    try:
        with open_binary(path) as f:
            for lineno, raw in enumerate(f, 1):  # noqa: B007 - lineno names the break
                yield raw
    except (EOFError, zlib.error, ValueError) as e:
        raise _damaged(label, path, e, f":{lineno + 1}") from None
    except OSError as e:
        if compression(path) is None:
            raise
        raise _damaged(label, path, e, f":{lineno + 1}") from None
