"""JSON lines (``.jsonl``, ``.ndjson``, and ``.json`` when its content is lines): one JSON object per line.

Messages name the 1-based physical line. The schema is inferred from every line (once per
file); a file starting with a UTF-8 byte-order mark is read from memory without it; the path
is read literally, never as a glob pattern. gzip and zstd files are streamed by polars; a
bzip2 file is decompressed into memory (:mod:`._compression`).
"""

from __future__ import annotations

import inspect
import json
import math
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import polars as pl

from ..tables import InputError
from ._compression import compression, file_stem, lines, read_all, read_head
from ._json import layout
from .base import ROW, Format, utf8

__all__ = ["JsonLines"]

_BOM = b"\xef\xbb\xbf"  # UTF-8 byte-order mark

# Paths are read literally, never as glob patterns ('p?.jsonl' is one file, not p1 and p2).
# scan_ndjson has no glob switch in some polars versions (2.1 among them) and always expands
# * ? [ ]: there each of these characters is wrapped in brackets ("[?]"), a pattern that
# matches only the character itself.
_NDJSON_HAS_GLOB = "glob" in inspect.signature(pl.scan_ndjson).parameters
_GLOB_CHARS = re.compile(r"[*?\[\]]")


class JsonLines(Format):
    """A JSON-lines file: records are the non-blank lines; ``locate`` gives ``file:line``."""

    name = "jsonl"
    extensions: ClassVar[tuple[str, ...]] = (".jsonl", ".ndjson", ".json")
    text = True

    def __init__(self, label: str, stem: str, path: Path | None) -> None:
        super().__init__(label, stem, path)
        self.data: bytes | None = None  # the file without its byte-order mark, read into memory
        self._inferred: pl.Schema | None = None  # from every line, once

    @classmethod
    def detect(cls, path: Path, head: bytes) -> bool:
        # (.json is shared with JSON documents: lines when the first line is a whole record)
        return layout(path, head) == "lines"

    @classmethod
    def from_file(cls, label: str, path: Path, nonblank: int, blank: int) -> JsonLines:
        kind = compression(path)
        head = read_head(path, 1 << 12) if kind else b""
        if kind and not head.strip():
            read_all(path, label)  # (damaged data is named as such, not as an empty file)
        if (nonblank == 0 and not kind) or (kind and not head.strip()):
            raise InputError(f"{label}: empty file (no rows)")
        src = cls(label, file_stem(path), path)
        src.blank_lines = blank  # (not counted in a compressed file: its lines are not its bytes)
        if kind == "bzip2" or (kind and head.startswith(_BOM)):
            # polars reads neither bzip2 nor a byte-order mark in JSON: decompressed into memory
            src.data = read_all(path, label).removeprefix(_BOM)
        elif not kind:
            with open(path, "rb") as f:
                if f.read(len(_BOM)) == _BOM:
                    # polars' JSON reader fails on a byte-order mark (its CSV reader skips it):
                    # such a file is read from memory without it. Costs the file's size in
                    # memory, for BOM files only; every other file is still scanned from disk.
                    src.data = f.read()
        src.use_preset()
        return src

    def _scan_file(self, **options: Any) -> pl.LazyFrame:
        if self.data is not None:
            return pl.scan_ndjson(self.data, **options)
        assert self.path is not None
        path = str(self.path.absolute())  # absolute: polars would also expand a leading "~"
        if _NDJSON_HAS_GLOB:
            return pl.scan_ndjson(path, glob=False, **options)  # type: ignore[call-arg, unused-ignore]  # glob= exists in some polars versions only
        return pl.scan_ndjson(_GLOB_CHARS.sub(r"[\g<0>]", path), **options)

    def _schema_with(self, overrides: dict[str, Any] | None) -> pl.Schema:
        """The schema inferred from *every* line (once), with ``overrides`` applied.

        Inferring from the first rows only would silently drop a key that first
        appears later (an answer field from line 5000 on); full inference costs one
        extra parse of the file, and merges conflicting types (1, "x") into text
        instead of failing later.
        """
        if self._inferred is None:
            self._inferred = self._scan_file(infer_schema_length=None).collect_schema()
        base = self._inferred
        if not overrides:
            return base
        return pl.Schema({name: overrides.get(name, dtype) for name, dtype in base.items()})

    def _scan(self, overrides: dict[str, Any] | None, row_index: bool) -> pl.LazyFrame:
        return self._scan_file(schema=self._schema_with(overrides), row_index_name=ROW if row_index else None)

    # -- error path: Python rescans of the file, never run on clean input ---------------------

    def _lines(self) -> Iterator[tuple[int, bytes]]:
        """(physical line number, bytes) of each non-blank line, in order; a leading byte-order
        mark dropped, as the reader drops it."""
        if self.data is not None:
            for lineno, raw in enumerate(self.data.split(b"\n"), 1):
                if text := raw.strip():
                    yield lineno, text
            return
        assert self.path is not None
        for lineno, raw in enumerate(lines(self.path, self.label), 1):
            text = (raw.removeprefix(_BOM) if lineno == 1 else raw).strip()
            if text:
                yield lineno, text

    def _at(self, lineno: int) -> str:
        """How messages name line ``lineno`` (as :meth:`_lines` numbers it): ``file:line``."""
        return f"{self.label}:{lineno}"

    def _there(self, lineno: int) -> str:
        """How a message points back to line ``lineno``: ``on line 3``."""
        return f"on line {lineno}"

    def diagnose(self) -> None:
        # Whole-file schema inference failed when it is not cached: then also check each
        # field as polars reads it, to name the line where polars says only "InvalidNumber"
        # or "failed to determine supertype" (a number on one line, a list on the next).
        kinds: dict[str, tuple[str, int]] | None = None if self._inferred is not None else {}
        for lineno, raw in self._lines():
            at = self._at(lineno)
            text = utf8(at, raw)
            try:
                obj = json.loads(text, parse_constant=_no_constants)
            except json.JSONDecodeError as e:
                raise InputError(f"{at}: malformed JSON ({e.msg} at column {e.colno})") from None
            except ValueError as e:
                raise InputError(f"{at}: malformed JSON ({e})") from None
            if not isinstance(obj, dict):
                raise InputError(
                    f"{at}: expected one JSON object per line, got a JSON "
                    f"{type(obj).__name__} (JSON arrays are not read; write one object per line)"
                )
            if kinds is not None:
                _follow_fields(self.label, kinds, obj, lineno, self._at, self._there)

    def locate(self, row: int) -> str:
        for k, (lineno, _) in enumerate(self._lines()):
            if k == row:
                return self._at(lineno)
        return super().locate(row)

    def raw_field(self, row: int, col: str) -> str | None:
        # JSON numbers are taken as written
        for k, (_, raw) in enumerate(self._lines()):
            if k == row:
                try:
                    obj = json.loads(raw.decode("utf-8", "replace"), parse_int=str, parse_float=str)
                except ValueError:
                    return None
                value = obj.get(col) if isinstance(obj, dict) else None
                return value if isinstance(value, str) else None
        return None

    def first_value_at(self, col: str) -> str:
        # a struct column may start with plain numbers (polars merges 1 and {...}): find the first nested value
        for lineno, raw in self._lines():
            if isinstance(json.loads(raw).get(col), (list, dict)):
                return self._at(lineno)
        return self.label

    def nested_hint(self, cols: list[str]) -> pl.Expr:
        if self._view is not None:
            return pl.lit(False)  # a tool preset's columns are typed by its expressions
        # A JSON list or object in a text column is read as its JSON text ('["a"]'): flag text
        # that could be one (a cheap prefix test); nested_rows confirms on the error path.
        nest = [pl.col(col).str.starts_with("[") | pl.col(col).str.starts_with("{") for col in cols]
        return pl.any_horizontal(nest).fill_null(False) if nest else pl.lit(False)

    def nested_rows(self, cols: list[str]) -> pl.DataFrame | None:
        """The file re-read with ``cols`` typed as list, then as object, skipping values of
        other kinds (``ignore_errors``): a value that reads is one of that kind, so a string
        '["a"]' is told from the list ["a"]."""
        found = []
        for kind, dtype in (("list", pl.List(pl.Null)), ("object", pl.Struct({}))):
            lf = self._scan_file(
                schema=self._schema_with(dict.fromkeys(cols, dtype)), ignore_errors=True, row_index_name=ROW
            )
            which = pl.coalesce([pl.when(pl.col(c).is_not_null()).then(pl.lit(c)) for c in cols])
            found.append(
                lf.select(pl.col(ROW).cast(pl.Int64), which.alias("_col"), pl.lit(kind).alias("_kind"))
                .filter(pl.col("_col").is_not_null())
                .collect()
            )
        return pl.concat(found)


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


def _follow_fields(
    label: str,
    kinds: dict[str, tuple[str, int]],
    obj: dict[str, Any],
    lineno: int,
    at: Callable[[int], str] | None = None,
    there: Callable[[int], str] | None = None,
) -> None:
    """Check one line's fields as polars' JSON schema inference reads them (after it failed).

    Numbers must fit what polars reads (Python reads 1e400 as inf, polars refuses
    it; integers have at most 128 bits), and each field's kind of value must merge
    with its kind on the lines before, as polars merges them. ``kinds`` maps
    field → (kind so far, line where it became that kind). ``at`` and ``there`` name a
    line in messages (``file:3``, ``on line 3``; a JSON document names records instead).
    """
    where = at(lineno) if at is not None else f"{label}:{lineno}"
    for key, value in obj.items():
        kind = _KIND_OF[type(value)]
        if kind == "number":
            if type(value) is float and math.isinf(value):
                raise InputError(f"{where}: field {key!r}: number out of range for a 64-bit float (beyond ±1.8e308)")
            if type(value) is int and not -(2**127) <= value < 2**128:
                shown = str(value)
                shown = shown if len(shown) <= 24 else shown[:20] + "…"
                raise InputError(f"{where}: field {key!r}: integer {shown} is out of range (over 128 bits)")
        seen = kinds.get(key)
        if kind == "null" or (seen is not None and seen[0] == kind):
            continue
        if seen is None:
            kinds[key] = (kind, lineno)
            continue
        before, since = seen
        if _kinds_clash(kind, before):
            an = "an" if before == "object" else "a"
            back = there(since) if there is not None else f"on line {since}"
            raise InputError(
                f"{where}: field {key!r} holds a JSON {kind} here but {an} {before} {back}; "
                "a field must hold one kind of value on every line"
            )
        merged = _merged_kind(before, kind)
        if merged != before:
            kinds[key] = (merged, lineno)

