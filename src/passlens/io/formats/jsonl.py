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
from ._json import escapable, key_pattern, layout, twice
from .base import ROW, Format, utf8
from .presets.base import json_path

__all__ = ["JsonLines"]

_BOM = b"\xef\xbb\xbf"  # UTF-8 byte-order mark

# Paths are read literally, never as glob patterns ('p?.jsonl' is one file, not p1 and p2).
# scan_ndjson has no glob switch in some polars versions (2.1 among them) and always expands
# * ? [ ]: there each of these characters is wrapped in brackets ("[?]"), a pattern that
# matches only the character itself.
_NDJSON_HAS_GLOB = "glob" in inspect.signature(pl.scan_ndjson).parameters
_GLOB_CHARS = re.compile(r"[*?\[\]]")
_HAS_SCAN_LINES = hasattr(pl, "scan_lines")  # (recent polars; older ones read lines as one-column CSV)


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

    def _read_paths(self, columns: list[str]) -> list[tuple[str, ...]]:
        """The file's own keys behind ``columns``, as paths from the record: ``("correct",)``; a tool
        preset's columns are expressions of them, which may read a nested field (``("doc", "id")``)."""
        if self._view is None:
            return [(c,) for c in columns]
        paths: list[tuple[str, ...]] = []
        for expr in self._view:
            if expr.meta.output_name() in columns:
                paths += [p for p in _paths_of(expr) if p not in paths]
        return paths

    def _holds_objects(self, path: tuple[str, ...]) -> bool:
        """Whether the value at ``path`` (as inferred) can hold a JSON object: a struct, or a list of them."""
        dtype: Any = self._schema_with(None).get(path[0])
        for key in path[1:]:
            fields = {f.name: f.dtype for f in dtype.fields} if isinstance(dtype, pl.Struct) else {}
            dtype = fields.get(key)
        while isinstance(dtype, (pl.List, pl.Array)):
            dtype = dtype.inner
        return isinstance(dtype, pl.Struct)

    def _raw_lines(self) -> pl.LazyFrame:
        """The file's physical lines as text, column ``line`` (gzip and zstd decompressed by polars)."""
        source: Any = self.data if self.data is not None else str(self.path.absolute())  # type: ignore[union-attr]
        if _HAS_SCAN_LINES:
            return pl.scan_lines(source, glob=False)  # type: ignore[attr-defined, unused-ignore]
        # (polars without scan_lines: CSV on a separator no JSON line holds; raw control bytes are not JSON)
        return pl.scan_csv(
            source, has_header=False, separator="\x1f", quote_char=None, new_columns=["line"],
            schema={"line": pl.String}, truncate_ragged_lines=True, glob=False,
        )

    #: Keys given twice are looked for in the raw lines (a document refuses them while it is parsed).
    _raw_duplicates: ClassVar[bool] = True

    def check_records(self, columns: list[str], id_col: str) -> None:
        """Two things polars reads silently, refused with their lines: a line that gives one of
        ``columns`` twice (``{"correct": 1, "correct": 0}``: polars reads the first value, Python's
        json the last), and ids of mixed JSON types (``1``, ``"1"``, ``1.0``: one problem or several,
        depending on the reader).

        One streaming polars pass over the raw lines, with no parse: a count of each key's JSON
        spellings (``"correct"``, or escaped: ``"corr\\u0065ct"``, a regex) flags a line holding it
        twice, and, where the ids were inferred as text, a regex flags a line whose id is not written
        as a string. Python parses the flagged lines only and decides (a value or nested object
        spelled like the key is flagged, then cleared). A tool preset's column read from a nested
        field (``doc.id``) is checked along its path; a key twice in an object that is not read is
        left alone, but one inside a value read whole (an object or a list of them, as a column) is
        refused: then every line is parsed in Python. About 0.15 s of CPU per 10⁶ lines for two
        columns (numbers in ``benchmarks/RESULTS.md``). Ids inferred as floats (ints and floats, or
        floats) are looked at by two regex queries.
        """
        paths = self._read_paths(columns) if self._raw_duplicates else []
        id_paths = self._read_paths([id_col])
        id_key = id_paths[0][0] if len(id_paths) == 1 and len(id_paths[0]) == 1 else None
        inferred = self._schema_with(None).get(id_key) if id_key is not None else None
        texts = inferred == pl.String
        if not paths and not texts and inferred != pl.Float64:
            return
        line = pl.col("line")
        names = list(dict.fromkeys([k for p in paths for k in p] + ([id_key] if id_key else [])))
        pattern = {k: key_pattern(k) for k in names}
        count = {k: pl.col(f"_n{i}") for i, k in enumerate(names)}
        # A key can be spelled with escapes only on a line holding a backslash (one before a "u" for
        # keys of plain characters): those lines count every spelling (a regex: over all lines it
        # doubled the check's time), the others the plain spelling (a literal count).
        marker = "\\u" if not any(escapable(ch) for k in names for ch in k) else "\\"
        escaped = line.str.contains(marker, literal=True)
        counts = [
            pl.when(escaped).then(line.str.count_matches(pattern[k]))
            .otherwise(line.str.count_matches(json.dumps(k, ensure_ascii=False), literal=True)).alias(f"_n{i}")
            for i, k in enumerate(names)
        ]
        if any(self._holds_objects(p) for p in paths):
            dup = pl.lit(True)  # (a key twice anywhere inside a value read whole: every line is parsed)
        else:
            dup = pl.any_horizontal([count[k] > 1 for p in paths for k in p]) if paths else pl.lit(False)
        if texts:
            assert id_key is not None
            lead = pattern[id_key] + r"\s*:\s*"
            other = (count[id_key] > 0) & ~line.str.contains(lead + '"')
        else:
            other = pl.lit(False)
        try:
            hits = (
                self._raw_lines().with_row_index(ROW).with_columns(counts)
                .select(ROW, "line", dup.alias("_dup"), other.alias("_other"))
                .filter(pl.col("_dup") | pl.col("_other")).collect(engine="streaming")
            )
        except pl.exceptions.PolarsError:
            return  # (a file polars cannot read as text is reported when it is read)
        kinds: dict[str, tuple[int, Any]] = {}  # JSON kind of an id → (line, value), first seen
        for row, text, is_dup, is_other in hits.iter_rows():
            pairs = _top_pairs(text)
            if pairs is None:
                continue  # (malformed: reported by the read, with its line)
            lineno = int(row) + 1
            if is_dup:
                for path in paths:
                    twice_at = _twice_on(pairs, path)
                    if twice_at is not None:
                        within, key, first, second = twice_at
                        values = f"values {_shown(first)} and {_shown(second)}"
                        raise InputError(f"{self._at(lineno)}: {twice(key, values, json_path(within) if within else '')}")
            if is_other and not kinds:
                _note_id_kind(kinds, pairs, id_key, lineno, _is_number)
        if id_key is None or (texts and not kinds):
            return
        # the other kind's first line: a string that spells a number (ids inferred as text, a
        # number found above), or an integer and a float of integral value (ids inferred as floats)
        lead = pattern[id_key] + r"\s*:\s*"
        if texts:
            wanted = [(lead + '"[-+]?[0-9.]', _spells_number)]
        else:
            wanted = [(lead + r"-?[0-9]+\s*[,}]", _is_int), (lead + r"-?[0-9]+(\.[0-9]*)?[eE.]", _integral_float)]
        for regex, accept in wanted:
            try:
                found = self._raw_lines().with_row_index(ROW).filter(line.str.contains(regex)).head(100).collect()
            except pl.exceptions.PolarsError:
                return
            for row, text in found.iter_rows():
                pairs = _top_pairs(text)
                if pairs is not None and _note_id_kind(kinds, pairs, id_key, int(row) + 1, accept):
                    break
        if len(kinds) > 1:
            (k1, (l1, v1)), (k2, (l2, v2)) = sorted(kinds.items(), key=lambda kv: kv[1][0])[:2]
            raise InputError(
                f"{self._at(l2)}: id {json.dumps(v2, ensure_ascii=False)} is a JSON {k2} here but "
                f"{json.dumps(v1, ensure_ascii=False)} is a JSON {k1} {self._there(l1)}; a number written in "
                "two JSON types (1, \"1\", 1.0) is one problem to some readers and two to others: write every id alike"
            )

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
                what = e.msg.removesuffix(" at")  # ("Unterminated string starting at" + " at column 7")
                raise InputError(f"{at}: malformed JSON ({what} at column {e.colno})") from None
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


class _Pairs(list[tuple[str, Any]]):
    """A JSON object as its (key, value) pairs, in order, repeated keys kept (``object_pairs_hook``)."""


def _top_pairs(text: str) -> _Pairs | None:
    """The (key, value) pairs of a line's top-level object, in order, repeated keys kept (nested
    objects too, as :class:`_Pairs`); ``None`` when the line is not a JSON object."""
    try:
        pairs = json.loads(text.removeprefix("\ufeff"), object_pairs_hook=_Pairs, parse_constant=float)
    except (ValueError, RecursionError):
        return None
    return pairs if isinstance(pairs, _Pairs) else None


Found = tuple[tuple[str | int, ...], str, Any, Any]


def _twice_on(pairs: _Pairs, path: tuple[str, ...], at: tuple[str | int, ...] = ()) -> Found | None:
    """The first key given twice along ``path`` (keys from the object ``pairs``, which sits at ``at``)
    or anywhere inside the value it ends at: (where the object holding it sits, the key, its
    first and second value); ``None`` when there is none."""
    key, rest = path[0], path[1:]
    values = [v for k, v in pairs if k == key]
    if len(values) > 1:
        return at, key, values[0], values[1]
    if not values:
        return None
    if rest:
        return _twice_on(values[0], rest, (*at, key)) if isinstance(values[0], _Pairs) else None
    return _twice_inside(values[0], (*at, key))


def _twice_inside(value: Any, at: tuple[str | int, ...]) -> Found | None:
    """The first key given twice in any object inside ``value`` (which sits at ``at``), as :func:`_twice_on`."""
    if isinstance(value, _Pairs):
        seen: dict[str, Any] = {}
        for key, v in value:
            if key in seen:
                return at, key, seen[key], v
            seen[key] = v
        inner: list[tuple[str | int, Any]] = list(value)
    elif isinstance(value, list):
        inner = list(enumerate(value))
    else:
        return None
    for k, v in inner:
        found = _twice_inside(v, (*at, k))
        if found is not None:
            return found
    return None


def _shown(value: Any) -> str:
    """A value as a message shows it: JSON (an object with repeated keys shown with its last)."""
    def plain(v: Any) -> Any:
        if isinstance(v, _Pairs):
            return {k: plain(x) for k, x in v}
        return [plain(x) for x in v] if isinstance(v, list) else v
    return json.dumps(plain(value), ensure_ascii=False)


def _paths_of(expr: pl.Expr) -> list[tuple[str, ...]]:
    """The paths of the file's keys an expression reads: ``pl.col("doc").struct.field("id")`` reads
    ``("doc", "id")``; a column used in any other way is read whole (``("doc",)``).

    Read off the expression's serialized form (polars' JSON of it); a root column not found there
    (another polars version, another way to write it) is read whole: more is checked, not less."""
    found: list[tuple[str, ...]] = []

    def flow(node: Any) -> list[tuple[str, ...]]:
        """The paths whose value ``node`` passes on; the paths of what it consumes go to ``found``."""
        if isinstance(node, dict):
            if len(node) == 1 and isinstance(node.get("Column"), str):
                return [(node["Column"],)]
            fn = node.get("Function")
            if isinstance(fn, dict) and isinstance(fn.get("function"), dict):
                struct = fn["function"].get("StructExpr")
                field = struct.get("FieldByName") if isinstance(struct, dict) else None
                inputs = fn.get("input")
                if isinstance(field, str) and isinstance(inputs, list) and len(inputs) == 1:
                    return [(*p, field) for p in flow(inputs[0])]
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            return []
        for child in children:
            found.extend(p for p in flow(child) if p not in found)
        return []

    roots = expr.meta.root_names()
    try:
        tree = json.loads(expr.meta.serialize(format="json"))
    except Exception:  # noqa: BLE001
        tree = None  # (no serialization: the roots are read whole)
    found.extend(flow(tree))
    paths = [p for p in found if p[0] in roots]
    return paths + [(r,) for r in roots if all(p[0] != r for p in paths)]


_NUMBER_TEXT = re.compile(r"[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?")


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _integral_float(v: Any) -> bool:
    return isinstance(v, float) and v.is_integer()


def _spells_number(v: Any) -> bool:
    return isinstance(v, str) and _NUMBER_TEXT.fullmatch(v.strip()) is not None


def _note_id_kind(
    kinds: dict[str, tuple[int, Any]], pairs: list[tuple[str, Any]], key: str | None, lineno: int,
    accept: Callable[[Any], bool],
) -> bool:
    """Record the JSON kind of the line's (first) ``key`` value when ``accept`` takes it and it is
    the first of its kind; whether it was recorded."""
    value = next((v for k, v in pairs if k == key), None)
    if not accept(value):
        return False
    kind = {int: "integer", float: "float", str: "string"}[type(value)]
    if kind in kinds:
        return False
    kinds[kind] = (lineno, value)
    return True


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

