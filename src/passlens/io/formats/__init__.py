"""Input formats: one module per format, each a :class:`~.base.Format` subclass, listed in :data:`FORMATS`.

Adding a format is one new module here and one entry in :data:`FORMATS`; the rest of
:mod:`passlens.io` reads inputs only through the :class:`Format` methods and never asks
which format an input is (``tests/test_io_layout.py`` checks both). Tools' own logs are
read through presets, one module per tool in :mod:`.presets`. Modules whose name starts
with ``_`` are helpers of the formats (compression, telling JSON lines from a document).

A format is chosen by the file's suffix, a compression suffix aside (``a.jsonl.gz`` is JSON
lines; :mod:`._compression`), then by content (:meth:`Format.detect`) where several formats
claim the suffix (``.json``: JSON lines or a JSON document).
"""

from __future__ import annotations

from pathlib import Path

from ..tables import InputError
from . import _json
from ._compression import file_stem, format_suffix, read_head
from .base import ROW, Format
from .csv import Csv
from .frame import Frame
from .inspect_eval import InspectEval
from .json_document import JsonDocument
from .jsonl import JsonLines
from .parquet import Parquet

__all__ = [
    "ROW", "Format", "FORMATS", "extensions", "for_path", "for_stream", "file_stem", "Csv", "Frame", "InspectEval", "JsonDocument", "JsonLines",
    "Parquet",
]

#: Every format, in the order :func:`for_path` asks them when several claim a suffix.
FORMATS: tuple[type[Format], ...] = (JsonLines, JsonDocument, InspectEval, Csv, Parquet, Frame)

_HEAD_BYTES = 1 << 16  # what Format.detect sees of a file


def extensions() -> list[str]:
    """Every file suffix some format reads, sorted."""
    return sorted({ext for fmt in FORMATS for ext in fmt.extensions})


def for_path(label: str, path: Path) -> type[Format]:
    """The format of the file ``path`` (named ``label`` in messages): by suffix (a compression
    suffix aside), then by content (:meth:`Format.detect`) when several formats claim the suffix."""
    _json.forget()
    suffix = format_suffix(path)
    claims = [fmt for fmt in FORMATS if suffix in fmt.extensions]
    if not claims:
        shown = path.suffix if suffix == path.suffix.lower() else "".join(path.suffixes[-2:])
        raise InputError(f"{label}: unknown file extension {shown!r}; expected one of {', '.join(extensions())}")
    _check_magic(label, path, claims)
    if len(claims) == 1:
        return claims[0]
    head = read_head(path, _HEAD_BYTES)  # (decompressed; empty for a missing file, reported by the caller)
    return next((fmt for fmt in claims if fmt.detect(path, head)), claims[0])


def _check_magic(label: str, path: Path, claims: list[type[Format]]) -> None:
    """A binary format's bytes under another format's name (or the other way round) is said as such,
    not as the wrong reader's complaint (Parquet named .jsonl was told to "save the file as UTF-8")."""
    try:
        with open(path, "rb") as f:
            raw = f.read(4)
    except OSError:
        return  # (a missing or unreadable file is reported by the caller)
    shown = "".join(path.suffixes[-2:]) if format_suffix(path) != path.suffix.lower() else path.suffix
    if raw == b"PAR1" and Parquet not in claims:
        raise InputError(f"{label}: a Parquet file (it starts with PAR1) named {shown!r}; rename it .parquet")
    if raw == b"PK\x03\x04" and InspectEval not in claims:
        raise InputError(f"{label}: a zip archive (an Inspect .eval log?) named {shown!r}; rename it .eval, or unzip it")
    if raw and Parquet in claims and raw != b"PAR1":
        raise InputError(
            f"{label}: not a Parquet file (it does not start with PAR1); if it holds JSON lines or CSV, name it so"
        )


def for_stream(label: str, data: Path) -> type[Format]:
    """The format of a stream (standard input, a FIFO) named ``label``, whose bytes were copied to
    the file ``data``: by ``label``'s suffix when a format claims it (a FIFO ``runs.jsonl``), else
    by content (``-``, ``/dev/stdin``): Parquet and Inspect archives by their magic bytes, JSON
    (lines or a document) by a first ``{`` or ``[``, anything else CSV; compressed data is looked
    at decompressed."""
    _json.forget()
    suffix = format_suffix(Path(label))
    claims = [fmt for fmt in FORMATS if suffix in fmt.extensions]
    head = read_head(data, _HEAD_BYTES)
    if not claims:
        if head.startswith(b"PAR1"):
            claims = [Parquet]
        elif head.startswith(b"PK\x03\x04"):
            claims = [InspectEval]
        elif head.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n")[:1] in (b"{", b"["):
            claims = [JsonLines, JsonDocument]
        else:
            claims = [Csv]
    return next((fmt for fmt in claims if fmt.detect(data, head)), claims[0])
