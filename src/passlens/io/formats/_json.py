"""Which JSON a ``.json`` file holds: JSON lines (one record per line) or one JSON document.

Both :class:`~.jsonl.JsonLines` and :class:`~.json_document.JsonDocument` claim ``.json``; they
ask :func:`layout`, which looks at the file's first line only (read whole, however long):

* a first line that is a complete JSON object, with more lines after it: JSON lines;
* a first line that starts an array, or a value that goes on past the line (``{`` alone, a
  pretty-printed document): a document;
* a file that is one JSON object on one line: a document when it holds records (an object
  whose values are records or lists, a tool log, records under a known key), else a single
  record, which JSON lines reads.

Anything else (a malformed first line, a bare number) is JSON lines, which names the line.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal

from ._compression import open_binary

__all__ = [
    "layout", "parsed", "forget", "RECORD_KEYS", "holds_records", "keyed_records", "records_under",
    "DuplicateKey", "unique_object", "duplicate_at", "twice", "key_pattern", "escapable",
]

_BOM = b"\xef\xbb\xbf"
_CHUNK = 1 << 20

# The file being opened: (path, size, mtime) → (layout, the document when its one line was
# parsed whole). Both formats claiming .json ask, and the document is then read: a one-line
# document of 100 MB is parsed once, not three times. Forgotten when the next file is chosen
# (formats.for_path), so a file rewritten since is looked at again.
_LAST: dict[tuple[str, int, int], tuple[str, Any]] = {}


def forget() -> None:
    """Drop what :func:`layout` kept of the last file."""
    _LAST.clear()


def _key(path: Path) -> tuple[str, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return str(path.resolve()), st.st_size, st.st_mtime_ns


def parsed(path: Path) -> Any:
    """The document :func:`layout` parsed whole while looking at ``path`` (once: it is then
    forgotten), else ``None``."""
    key = _key(path)
    entry = _LAST.pop(key, None) if key is not None else None
    return entry[1] if entry is not None else None

#: Keys under which a document commonly keeps its records (``{"samples": [...], "config": …}``).
RECORD_KEYS = ("samples", "records", "rows", "data", "instances", "results", "items", "predictions", "outputs")


def _first_line(path: Path, head: bytes) -> tuple[bytes, bool]:
    """The first non-blank line of the (decompressed) file without its BOM, and whether anything
    but whitespace follows it. Reads the file past ``head`` only when ``head`` cannot tell."""
    text = head.removeprefix(_BOM).lstrip(b" \t\r\n")
    nl = text.find(b"\n")
    if nl >= 0 and text[nl + 1 :].strip():
        return text[:nl], True
    try:
        with open_binary(path) as f:
            buf = bytearray()  # (grows in place: a one-line document of 1 GB is read once)
            lead = -1  # where the first record starts, once known
            nl = pos = 0
            while chunk := f.read(_CHUNK):
                buf += chunk
                if lead < 0:
                    stripped = bytes(buf).removeprefix(_BOM).lstrip(b" \t\r\n")
                    if not stripped:
                        continue  # blank so far
                    lead = pos = len(buf) - len(stripped)
                nl = buf.find(b"\n", pos)
                if nl >= 0:
                    break
                pos = len(buf)
            if lead < 0 or nl < 0:
                return bytes(buf[max(lead, 0) :]), False
            line, tail = bytes(buf[lead:nl]), bytes(buf[nl + 1 :])
            while not tail.strip():
                tail = f.read(_CHUNK)
                if not tail:
                    return line, False
            return line, True
    except (OSError, EOFError, ValueError):
        return text, False


class DuplicateKey(ValueError):
    """A JSON object holds ``key`` twice (raised by :func:`unique_object` while parsing)."""

    def __init__(self, key: str) -> None:
        super().__init__(f"key {key!r} appears twice in one object")
        self.key = key


def unique_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``object_pairs_hook`` for ``json.loads``: the object as a dict, or :class:`DuplicateKey`.

    Python's ``json`` keeps the last of two equal keys and polars the first: a key given twice
    is refused rather than read one way or the other. One ``dict`` and a length comparison per
    object (costs in ``benchmarks/RESULTS.md``)."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateKey(key)
            seen.add(key)
    return obj


class _Found(Exception):
    pass


def duplicate_at(text: str) -> tuple[int, str] | None:
    """(line, key) of the first JSON object in ``text``, in the order the parser closes them, that
    holds a key twice (its ``{``'s 1-based line); ``None`` when there is none or ``text`` is not JSON.

    The error path of :func:`unique_object`: Python's pure-Python parser, which knows where each
    object starts (the C parser does not say), about ten times slower."""
    import json.decoder
    import json.scanner

    found: list[tuple[int, str]] = []
    decoder = json.JSONDecoder(parse_constant=float)

    def parse_object(s_and_end: tuple[str, int], strict: bool, scan_once: Any, object_hook: Any,
                     object_pairs_hook: Any, memo: Any = None) -> tuple[Any, int]:
        s, end = s_and_end

        def check(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
            try:
                return unique_object(pairs)
            except DuplicateKey as e:
                found.append((s.count("\n", 0, end) + 1, e.key))
                raise _Found from None

        return json.decoder.JSONObject(s_and_end, strict, scan_once, None, check, memo)  # type: ignore[attr-defined]

    dec: Any = decoder  # (the scanner reads parse_object and scan_once off the decoder: not in its stubs)
    dec.parse_object = parse_object
    dec.scan_once = json.scanner.py_make_scanner(decoder)  # type: ignore[attr-defined]
    try:
        decoder.decode(text)
    except _Found:
        return found[0]
    except (ValueError, RecursionError):
        return None
    return None


def twice(key: str, values: str = "", within: str = "") -> str:
    """The end of the message for a key given twice in one object (``values``: the two, shown;
    ``within``: the JSON path of the object, where it is nested in the record)."""
    inside = f" at {within}" if within else ""
    return (
        f"key {key!r} appears twice in one JSON object{inside}{f' ({values})' if values else ''}; JSON readers "
        "disagree on which value counts (polars takes the first, Python's json the last): keep one"
    )


#: regexes of the JSON escapes of a character besides \uXXXX
_SHORT_ESCAPES = {
    '"': r'\\"', "\\": r"\\\\", "/": r"\\/", "\b": r"\\b", "\f": r"\\f", "\n": r"\\n", "\r": r"\\r", "\t": r"\\t",
}


def escapable(ch: str) -> bool:
    """Whether JSON can write ``ch`` with a short escape (``\\/``, ``\\"`` …) besides ``\\uXXXX``."""
    return ch in _SHORT_ESCAPES


def _hex_escape(unit: int) -> str:
    r"""A regex for ``\uXXXX`` of one UTF-16 code unit, hex digits in either case."""
    return r"\\u" + "".join(f"[{d.lower()}{d.upper()}]" if d.isalpha() else d for d in f"{unit:04x}")


def key_pattern(key: str) -> str:
    r"""A regex (Rust and Python syntax) matching every JSON spelling of the string ``key``, quotes
    included: each character as itself or escaped (``"corr\u0065ct"`` is ``"correct"``; ``\/`` is ``/``).

    Counting its matches in a line counts the key's occurrences as a key; a value spelled like the
    key counts too (the line is then parsed, and cleared)."""
    out = ['"']
    for ch in key:
        code = ord(ch)
        alts = [re.escape(ch)] if ch not in '"\\' and code >= 0x20 else []
        if ch in _SHORT_ESCAPES:
            alts.append(_SHORT_ESCAPES[ch])
        if code > 0xFFFF:  # a surrogate pair
            high, low = 0xD800 + ((code - 0x10000) >> 10), 0xDC00 + ((code - 0x10000) & 0x3FF)
            alts.append(_hex_escape(high) + _hex_escape(low))
        else:
            alts.append(_hex_escape(code))
        out.append(f"(?:{'|'.join(alts)})")
    out.append('"')
    return "".join(out)


def _per_problem(v: Any) -> bool:
    """What records keyed by problem id hold under a key: a record, a list of records, or a list of
    rewards (numbers, booleans)."""
    if isinstance(v, dict):
        return True
    if not isinstance(v, list) or not v:
        return False
    kinds = dict if isinstance(v[0], dict) else (bool, int, float)
    return all(isinstance(x, kinds) for x in v)


def keyed_records(obj: Any) -> bool:
    """Whether ``obj`` is records keyed by problem id (:func:`_per_problem` under every key)."""
    return isinstance(obj, dict) and bool(obj) and all(_per_problem(v) for v in obj.values())


def records_under(obj: Any) -> str | None:
    """The first key of :data:`RECORD_KEYS` under which ``obj`` keeps records (an array of objects,
    or records keyed by problem id), else ``None``."""
    if not isinstance(obj, dict):
        return None
    for key in RECORD_KEYS:
        v = obj.get(key)
        if (isinstance(v, list) and v and all(isinstance(x, dict) for x in v)) or keyed_records(v):
            return key
    return None


def holds_records(obj: Any) -> bool:
    """Whether a JSON object is a document of records rather than one record."""
    return records_under(obj) is not None or keyed_records(obj)


def layout(path: Path, head: bytes) -> Literal["lines", "document"]:
    """``"lines"`` or ``"document"`` for a ``.json`` file (module docstring); ``head`` is its
    first bytes, decompressed."""
    key = _key(path)
    if key is not None and key in _LAST:
        return "document" if _LAST[key][0] == "document" else "lines"
    kind, doc = _layout(path, head)
    _LAST.clear()
    if key is not None:
        _LAST[key] = (kind, doc)
    return kind


def _reject(token: str) -> Any:
    raise ValueError(f"bare {token}")


def _layout(path: Path, head: bytes) -> tuple[Literal["lines", "document"], Any]:
    from .presets import DOCUMENT_PRESETS

    text = head.removeprefix(_BOM).lstrip(b" \t\r\n")
    if text.startswith(b"["):
        return "document", None
    if not text.startswith(b"{"):
        return "lines", None
    line, more = _first_line(path, head)
    try:
        obj = json.loads(line, parse_constant=_reject, object_pairs_hook=unique_object)
    except DuplicateKey:
        # (a key twice: the layout from the object as Python reads it; not kept, so that the
        # document's reader parses it again and names the line, or JSON lines' check does)
        try:
            obj = json.loads(line, parse_constant=float)
        except ValueError:
            return "lines", None
        document = not more and (any(p.claims(obj) for p in DOCUMENT_PRESETS) or holds_records(obj))
        return ("document" if document else "lines"), None
    except (ValueError, UnicodeDecodeError) as e:
        # the value goes on past the line: a document written over several lines (or cut off; json
        # names an unterminated string by where it starts, and it runs to the end of the line)
        ends_early = isinstance(e, json.JSONDecodeError) and (
            e.pos >= len(line.rstrip()) or e.msg.startswith("Unterminated string")
        )
        return ("document" if ends_early else "lines"), None
    if more:
        return "lines", None
    if any(p.claims(obj) for p in DOCUMENT_PRESETS) or holds_records(obj):
        return "document", obj
    return "lines", None
