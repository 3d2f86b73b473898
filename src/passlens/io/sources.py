"""Input files: chosen format, existence, one file given once, sha256 digest, unique stems."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .formats import Format, for_path
from .tables import InputError

__all__ = ["file_sources", "digest"]


def file_sources(paths: Sequence[str | Path]) -> tuple[list[Format], dict[str, str]]:
    """Each path opened in its format, and the sha256 of each file (by label).

    Raises:
      InputError: unknown extension, missing file, a directory, a file given twice (under
        one name or two), or what the format's ``from_file`` finds (an empty file …).
    """
    sources: list[Format] = []
    digests: dict[str, str] = {}
    seen: dict[tuple[int, int], str] = {}  # (device, inode) → label: one file under two names
    for p in paths:
        label = str(p)
        path = Path(p)
        fmt = for_path(label, path)
        if not path.exists():
            raise InputError(f"{label}: file not found")
        if path.is_dir():
            raise InputError(f"{label}: is a directory; pass the files inside it")
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
