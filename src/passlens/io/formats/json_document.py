"""JSON documents (``.json``, also compressed): one JSON value holding the records, read whole.

A document is parsed in memory (Python's ``json``; it cannot be streamed the way JSON lines
are: memory is a few times the file's size), then read as records, in this order:

1. a tool's log that a document preset recognizes (:mod:`.presets`: EvalPlus, LiveCodeBench,
   CRUXEval, Inspect AI, HELM; lm-evaluation-harness results are refused with a pointer to the
   samples file): the preset's per-sample records;
2. an array of records ``[{...}, ...]``;
3. records keyed by problem id: ``{"p1": {...}}``, ``{"p1": [{...}, ...]}`` (samples), or
   ``{"p1": [1, 0, 1]}`` (rewards); the key becomes column ``problem_id``;
4. such records under one of the keys of :data:`._json.RECORD_KEYS` (``{"samples": [...], …}``);
5. one record (an object of plain values, written over several lines).

Records of cases 2–4 that carry a tool's table signature (lm-evaluation-harness samples, verl
dumps …) are then read through that table preset, as the tool's own JSON lines are.

The records are then read exactly as JSON lines are (one line per record, in memory), so
columns, types and checks are the same; messages name a record by its JSON path
(``eval_results.json: $.eval["HumanEval/0"][3]: …``), and a document that is not valid JSON by
its line and column.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..tables import InputError
from ._compression import file_stem, read_all
from ._json import RECORD_KEYS, keyed_records, layout, parsed, records_under
from .jsonl import JsonLines, _no_constants
from .presets import DOCUMENT_PRESETS
from .presets.base import JsonPath, PresetError, json_path

__all__ = ["JsonDocument"]

_BOM = b"\xef\xbb\xbf"


class JsonDocument(JsonLines):
    """A JSON document read whole into records (module docstring); ``locate`` gives a JSON path."""

    name = "json"
    extensions = (".json",)
    text = True

    def __init__(self, label: str, stem: str, path: Path | None) -> None:
        super().__init__(label, stem, path)
        self.paths: list[JsonPath] = []  # JSON path of each record
        self.records: list[dict[str, Any]] = []

    @classmethod
    def detect(cls, path: Path, head: bytes) -> bool:
        return layout(path, head) == "document"

    @classmethod
    def line_counted(cls, path: Path) -> bool:
        return False  # a document's lines are not its records

    @classmethod
    def from_file(cls, label: str, path: Path, nonblank: int, blank: int) -> JsonDocument:
        doc = parsed(path)  # (a one-line document was parsed whole to tell its layout)
        if doc is None:
            doc = _parse(label, read_all(path, label))
        src = cls(label, file_stem(path), path)
        for preset in DOCUMENT_PRESETS:
            if preset.claims(doc):
                found = preset(label)
                try:
                    pairs = list(found.records(doc))
                except PresetError as e:
                    raise InputError(f"{label}: {json_path(e.path)}: {e.message}") from None
                src.preset, src.defaults = found, found.defaults()
                break
        else:
            pairs = list(_records(label, doc))
        if not pairs:
            raise InputError(f"{label}: no records in the document (nothing to read)")
        src.paths = [p for p, _ in pairs]
        src.records = [r for _, r in pairs]
        # one line per record: the JSON-lines reader does the rest (types, checks, positions)
        src.data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in src.records).encode()
        if src.preset is None:
            src.use_preset()  # (a tool's table written as a JSON array: lm-eval samples, verl records …)
        return src

    def _at(self, lineno: int) -> str:
        return f"{self.label}: {json_path(self.paths[lineno - 1])}"

    def _there(self, lineno: int) -> str:
        return f"at {json_path(self.paths[lineno - 1])}"

    def raw_field(self, row: int, col: str) -> str | None:
        value = self.records[row].get(col) if 0 <= row < len(self.records) else None
        return str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else None


def _parse(label: str, data: bytes) -> Any:
    """The parsed document, or the error naming its line (and column) where it is not JSON."""
    data = data.removeprefix(_BOM)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        col = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise InputError(
            f"{label}:{line}: not valid UTF-8 (byte 0x{data[e.start]:02x} at byte {col} of the line); "
            "save the file as UTF-8"
        ) from None
    if not text.strip():
        raise InputError(f"{label}: empty file (no rows)")
    try:
        return json.loads(text, parse_constant=_no_constants)
    except json.JSONDecodeError as e:
        # (json names an unterminated string by where it starts: it runs to the end of the text)
        ends = e.pos >= len(text.rstrip()) or e.msg.startswith("Unterminated string")
        cut = "; the document ends early (cut off?)" if ends else ""
        what = e.msg.removesuffix(" at")  # "Unterminated string starting at" + " at column 7"
        raise InputError(f"{label}:{e.lineno}: malformed JSON ({what} at column {e.colno}){cut}") from None
    except ValueError as e:  # a bare NaN or Infinity
        raise InputError(f"{label}: malformed JSON ({e})") from None


def _kind(value: Any) -> str:
    return {dict: "object", list: "list", str: "string", bool: "boolean", type(None): "null"}.get(type(value), "number")


def _records(label: str, doc: Any) -> Iterator[tuple[JsonPath, dict[str, Any]]]:
    """A document no preset claims, as (JSON path, record) pairs (module docstring, cases 2–5)."""
    if isinstance(doc, list):
        yield from _array(label, doc, ())
        return
    if not isinstance(doc, dict):
        raise InputError(f"{label}: the document is a JSON {_kind(doc)}; expected records (JSON objects)")
    key = records_under(doc)  # (asked first: {"samples": [...], "config": {...}} is not keyed by id)
    if key is not None:
        value = doc[key]
        yield from _array(label, value, (key,)) if isinstance(value, list) else _keyed(label, value, (key,))
        return
    if keyed_records(doc):
        yield from _keyed(label, doc, ())
        return
    if all(not isinstance(v, dict) for v in doc.values()):
        yield (), doc  # one record, written over several lines
        return
    shown = ", ".join(repr(k) for k in list(doc)[:4]) + (", …" if len(doc) > 4 else "")
    raise InputError(
        f"{label}: not a JSON document passlens reads (an object with keys {shown}); expected JSON lines "
        "(one record per line), an array of records, records keyed by problem id, or records under "
        f"{', '.join(repr(k) for k in RECORD_KEYS[:3])}, …"
    )


def _array(label: str, items: list[Any], at: JsonPath) -> Iterator[tuple[JsonPath, dict[str, Any]]]:
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise InputError(
                f"{label}: {json_path((*at, i))}: expected a record (a JSON object), got a JSON {_kind(item)}"
            )
        yield (*at, i), item


def _keyed(label: str, doc: dict[str, Any], at: JsonPath) -> Iterator[tuple[JsonPath, dict[str, Any]]]:
    """Records keyed by problem id: the key is the record's ``problem_id`` (unless it has its own)."""
    for key, value in doc.items():
        if isinstance(value, dict):
            yield (*at, key), {"problem_id": key, **value}
        elif isinstance(value, list) and value and all(isinstance(x, dict) for x in value):
            for i, item in enumerate(value):
                yield (*at, key, i), {"problem_id": key, **item}
        elif isinstance(value, list) and value:
            yield (*at, key), {"problem_id": key, "rewards": value}
        else:
            raise InputError(
                f"{label}: {json_path((*at, key))}: expected a record, a list of records or a list of rewards "
                f"under a problem id, got a JSON {_kind(value)}" + (" (empty)" if value == [] else "")
            )
