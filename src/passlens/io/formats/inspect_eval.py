"""Inspect AI ``.eval`` logs (Inspect's default log format): a zip archive, read entry by entry.

Written by ``inspect_ai/log/_recorders/eval.py`` (inspect-ai 0.3.285): ``header.json`` (the
``EvalLog`` without its samples: version, status, eval, results …; ``_journal/start.json``
while the run is going) and one ``samples/<id>_epoch_<epoch>.json`` per sample and epoch. Each
sample entry is parsed and cut down to its id, epoch and scores at once (its messages and events
are dropped), so memory holds one sample's transcript at a time; then the samples are read as
the JSON log is (:mod:`.presets.inspect_ai`: samples × epochs are the n draws of a sample).
Messages name a sample by its entry: ``log.eval: samples/q1_epoch_2.json: …``.

Inspect compresses the entries with zstd (zip method 93), which Python's ``zipfile`` reads only
from Python 3.14 on: such an entry's bytes are taken from the archive and decompressed by pyarrow.
"""

from __future__ import annotations

import importlib
import json
import struct
import zipfile
from pathlib import Path
from typing import Any

from ..messages import one_line
from ..tables import InputError
from .json_document import JsonDocument
from .presets.base import PresetError, json_path
from .presets.inspect_ai import InspectLog

__all__ = ["InspectEval"]

_SAMPLES = "samples/"
_ZSTD = 93  # the zip compression method of zstd (APPNOTE 4.4.5)


class InspectEval(JsonDocument):
    """An Inspect AI ``.eval`` archive (module docstring); ``locate`` gives the sample's entry."""

    name = "inspect_eval"
    extensions = (".eval",)
    text = True

    def __init__(self, label: str, stem: str, path: Path | None) -> None:
        super().__init__(label, stem, path)
        self.entries: list[str] = []  # the archive entry of each record

    @classmethod
    def detect(cls, path: Path, head: bytes) -> bool:
        return True

    @classmethod
    def from_file(cls, label: str, path: Path, nonblank: int, blank: int) -> InspectEval:
        try:
            with zipfile.ZipFile(path) as z:
                names = z.namelist()
                head = next((n for n in ("header.json", "_journal/start.json") if n in names), None)
                if head is None:
                    raise InputError(f"{label}: an Inspect .eval archive without header.json or _journal/start.json")
                doc: dict[str, Any] = {"status": "started", **_load(label, z, head)}
                entries = [n for n in names if n.startswith(_SAMPLES) and n.endswith(".json")]
                doc["samples"] = [_slim(_load(label, z, n)) for n in entries]
        except zipfile.BadZipFile as e:
            raise InputError(f"{label}: not an Inspect .eval log (a zip archive): {one_line(e)}") from None
        if not InspectLog.claims(doc):
            raise InputError(f"{label}: {head} is not an Inspect log header (no eval.task, version or status)")
        src = cls(label, path.stem, path)
        found = InspectLog(label)
        try:
            pairs = list(found.records(doc))
        except PresetError as e:
            where = entries[int(e.path[1])] if len(e.path) > 1 and e.path[0] == "samples" else head
            rest = e.path[2:] if len(e.path) > 1 and e.path[0] == "samples" else e.path
            raise InputError(f"{label}: {where}: {json_path(rest) + ': ' if rest else ''}{e.message}") from None
        src.preset, src.defaults = found, found.defaults()
        src.paths = [p for p, _ in pairs]
        src.records = [r for _, r in pairs]
        src.entries = [entries[int(p[1])] for p in src.paths]
        src.data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in src.records).encode()
        return src

    def _at(self, lineno: int) -> str:
        return f"{self.label}: {self.entries[lineno - 1]}"

    def _there(self, lineno: int) -> str:
        return f"in {self.entries[lineno - 1]}"


def _load(label: str, z: zipfile.ZipFile, name: str) -> Any:
    try:
        return json.loads(_entry(z, z.getinfo(name)))
    except (ValueError, zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as e:
        raise InputError(f"{label}: {name}: cannot read this entry: {one_line(e)}") from None


def _entry(z: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """An entry's bytes; zstd entries (which ``zipfile`` reads from Python 3.14 on) through pyarrow."""
    if info.compress_type != _ZSTD or getattr(zipfile, "ZIP_ZSTANDARD", None) == _ZSTD:
        return z.read(info)
    assert z.fp is not None
    z.fp.seek(info.header_offset)
    local = z.fp.read(30)  # the local file header: its name and extra field lengths end it
    if local[:4] != b"PK\x03\x04":
        raise zipfile.BadZipFile(f"bad local header for {info.filename}")
    name_len, extra_len = struct.unpack("<HH", local[26:30])
    z.fp.seek(info.header_offset + 30 + name_len + extra_len)
    raw = z.fp.read(info.compress_size)
    pa: Any = importlib.import_module("pyarrow")  # (no type stubs)
    with pa.input_stream(pa.py_buffer(raw), compression="zstd") as stream:  # (frames one after another)
        data: bytes = stream.read()
    return data


def _slim(sample: Any) -> Any:
    """A sample entry without its transcript: what the Inspect preset reads."""
    if not isinstance(sample, dict):
        return sample
    return {k: sample.get(k) for k in ("id", "epoch", "scores")}
