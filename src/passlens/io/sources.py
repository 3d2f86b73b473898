"""Input files: chosen format, existence, one file given once, sha256 digest, unique stems.

Streams are inputs too: ``-`` (standard input), ``/dev/stdin``, ``/dev/fd/N`` and ``/proc/…/fd/N``,
and any path that is neither a regular file nor a folder (a FIFO, a character device).
A stream can be read once only, and the readers look at a file several times (its first bytes,
its digest, the scan, the error path's rescans): it is copied once, as it arrives, to a file in
a temporary folder (disk, not memory), read from there and named by what the user gave. Its
format comes from its name's suffix when it has one (a FIFO ``runs.jsonl``), else from its
content (:func:`~.formats.for_stream`).
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import stat as st
import sys
import tempfile
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import BinaryIO, NoReturn

import numpy as np

from .formats import Format, file_stem, for_path, for_stream
from .tables import InputError

__all__ = ["file_sources", "digest", "is_stream"]

#: Names of a process's open files: read as streams even when the descriptor is a regular file
#: (``passlens eval /dev/stdin < runs.jsonl``: the name has no suffix to tell the format).
_DESCRIPTORS = re.compile(r"/dev/std(in|out|err)|/dev/fd/\d+|/proc/(self|\d+)/fd/\d+")


def is_stream(label: str) -> bool:
    """Whether the input named ``label`` is read as a stream (module docstring)."""
    if label == "-" or _DESCRIPTORS.fullmatch(label):
        return True
    try:
        mode = os.stat(label).st_mode
    except (OSError, ValueError):
        return False
    return not (st.S_ISREG(mode) or st.S_ISDIR(mode))


def file_sources(paths: Sequence[str | Path], stack: ExitStack | None = None) -> tuple[list[Format], dict[str, str]]:
    """Each path opened in its format, and the sha256 of each file (by label).

    Args:
      paths: the inputs; ``-`` is standard input.
      stack: holds the temporary copies of streams until the caller is done reading (closed by
        the caller); without one, streams are refused.

    Raises:
      InputError: unknown extension, missing file, a directory, a file given twice (under
        one name or two), or what the format's ``from_file`` finds (an empty file …).
    """
    sources: list[Format] = []
    digests: dict[str, str] = {}
    seen: dict[tuple[int, int], str] = {}  # (device, inode) → label: one file under two names
    spool: Path | None = None
    for p in paths:
        label = str(p)
        path = Path(p)
        if is_stream(label):
            key = _stream_key(label)
            if key in seen:
                first = seen[key]
                raise InputError(
                    f"{label}: given twice (a stream can be read once)"
                    if first == label else f"{label}: the same stream as {first}, given twice (a stream can be read once)"
                )
            seen[key] = label
            if stack is None:
                raise InputError(f"{label}: a stream (standard input, a FIFO) is read by passlens.io.read only")
            if spool is None:
                spool = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="passlens-stream-")))
            data = _copy_stream(label, spool / f"{len(seen)}")
            fmt = for_stream(label, data)
            sha, nonblank, blank = digest(data, count_lines=fmt.line_counted(data))
            digests[label] = sha
            src = fmt.from_file(label, data, nonblank, blank)
            src.stem = "stdin" if label == "-" else file_stem(path)
            sources.append(src)
            continue
        if path.is_symlink() and not path.exists():
            _broken_link(label, path)
        if path.is_dir():
            raise InputError(f"{label}: is a directory; pass the files inside it")
        fmt = for_path(label, path)
        if not path.exists():
            raise InputError(f"{label}: file not found")
        # the same file twice would count its rows twice (or fail as duplicates of themselves)
        stat = os.stat(path)
        key = (stat.st_dev, stat.st_ino)
        if key in seen:
            first = seen[key]
            raise InputError(
                f"{label}: given twice" if first == label else f"{label}: the same file as {first}, given twice"
            )
        seen[key] = label
        sha, nonblank, blank = digest(path, count_lines=fmt.line_counted(path))
        digests[label] = sha
        sources.append(fmt.from_file(label, path, nonblank, blank))
    if not sources:
        raise InputError("no input files given")
    _label_stems(sources)
    return sources, digests


def _broken_link(label: str, path: Path) -> NoReturn:
    """The error for a symbolic link that reaches no file: a loop, or a target that does not exist."""
    try:
        os.stat(path)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise InputError(f"{label}: a loop of symbolic links (it never reaches a file)") from None
    raise InputError(f"{label}: a broken symbolic link (to {os.readlink(path)!r}, which does not exist)")


def _stream_key(label: str) -> tuple[int, int]:
    """(device, inode) of a stream, so that ``-`` and ``/dev/stdin`` are one stream."""
    try:
        s = os.fstat(0) if label == "-" else os.stat(label)
    except OSError as e:
        if label == "-":
            raise InputError("-: standard input is closed; pipe the samples in (… | passlens eval -)") from None
        raise InputError(f"{label}: cannot open ({e.strerror or e})") from None
    return s.st_dev, s.st_ino


def _copy_stream(label: str, to: Path) -> Path:
    """The stream's bytes copied, as they arrive, to the file ``to``; an empty stream is an error."""
    size = 0
    try:
        if label == "-":
            if sys.stdin is None:
                raise InputError("-: standard input is closed; pipe the samples in (… | passlens eval -)")
            if sys.stdin.isatty():
                raise InputError("-: standard input is a terminal; pipe the samples in (… | passlens eval -)")
            source: BinaryIO = sys.stdin.buffer
            close = False
        else:
            source = open(label, "rb")  # noqa: SIM115 - closed below (stdin is not)
            close = True
        try:
            with open(to, "wb") as out:
                while chunk := source.read(1 << 20):
                    out.write(chunk)
                    size += len(chunk)
        finally:
            if close:
                source.close()
    except InputError:
        raise
    except OSError as e:
        where = "copying it to a temporary file" if to.exists() else "opening it"
        raise InputError(f"{label}: cannot read the stream ({e.strerror or e}, while {where})") from None
    if size == 0:
        raise InputError(f"{label}: empty input (no rows)")
    return to


def digest(path: Path, count_lines: bool) -> tuple[str, int, int]:
    """sha256 of the file, its number of non-blank lines and of empty lines (text files).

    Lines are counted with vectorised newline positions per 4 MiB chunk: one
    pass, no per-line Python loop (10⁷ lines would cost seconds). A line is
    blank when it is empty or holds only ``\\r``.
    """
    h = hashlib.sha256()
    newlines = blank = 0
    pos = 0
    last_nl = -1  # absolute position of the previous newline
    last_byte = 0  # the byte before the current chunk (0 before the first: any byte but \r will do)
    tail_nonblank = False
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
            if not count_lines:
                continue
            arr = np.frombuffer(chunk, dtype=np.uint8)
            nl = np.flatnonzero(arr == 10)
            if nl.size:
                prev = np.concatenate(([last_nl - pos], nl[:-1]))  # chunk-relative
                gap = nl - prev
                # (a uint8 scalar: NumPy ≥ 2.5 rejects a Python int that a uint8 array cannot hold)
                before = np.where(nl > 0, arr[np.maximum(nl - 1, 0)], np.uint8(last_byte))
                blank += int(((gap == 1) | ((gap == 2) & (before == 13))).sum())
                newlines += nl.size
                last_nl = pos + int(nl[-1])
            tail = arr[(int(nl[-1]) + 1) if nl.size else 0 :]  # bytes after the last newline so far
            tail_nonblank = bool((tail > 32).any()) or (tail_nonblank and not nl.size)
            last_byte = int(arr[-1])
            pos += arr.size
    lines = newlines + (1 if tail_nonblank else 0)
    return h.hexdigest(), lines - blank, blank


def _label_stems(sources: list[Format]) -> None:
    """Make file stems unique by prefixing parent folders where they collide."""
    stems = [s.stem for s in sources]
    if len(set(stems)) == len(stems):
        return
    for s in sources:
        assert s.path is not None
        s.stem = f"{s.path.parent.name}/{s.stem}" if s.path.parent.name else s.stem
    if len({s.stem for s in sources}) != len(sources):
        for s in sources:
            s.stem = s.label
