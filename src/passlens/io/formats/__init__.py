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
from ._compression import format_suffix, read_head
from .base import ROW, Format
from .csv import Csv
from .frame import Frame
from .inspect_eval import InspectEval
from .json_document import JsonDocument
from .jsonl import JsonLines
from .parquet import Parquet

__all__ = [
    "ROW", "Format", "FORMATS", "extensions", "for_path", "Csv", "Frame", "InspectEval", "JsonDocument", "JsonLines",
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
    if len(claims) == 1:
        return claims[0]
    head = read_head(path, _HEAD_BYTES)  # (decompressed; empty for a missing file, reported by the caller)
    return next((fmt for fmt in claims if fmt.detect(path, head)), claims[0])
