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
from pathlib import Path
from typing import Any, Literal

from ._compression import open_binary

__all__ = ["layout", "parsed", "forget", "RECORD_KEYS", "holds_records", "keyed_records", "records_under"]

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
        obj = json.loads(line, parse_constant=_reject)
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
