"""Writing an output file safely: the one helper every file the package writes goes through.

* A regular file (or a new path) is written to a temporary file with a unique name in the
  target's folder, then renamed over the target: a reader sees the old file or the new one,
  never half of one; a failed or interrupted write leaves the old file and no temporary.
* A symbolic link is written through: its target is replaced, the link stays.
* A device, a FIFO or a socket (``/dev/null``, ``/dev/stdout``, a named pipe) is opened and
  written directly, in a stream: it is never replaced by a regular file.
* ``-`` is standard output.

Every failure (a full disk, no permission, a read-only file system, a directory in the way,
torch's RuntimeError from a failed save) is one :class:`OutputError` line naming the path.
"""

from __future__ import annotations

import os
import stat
import sys
import tempfile
from pathlib import Path
from typing import IO, Callable, Union

__all__ = ["OutputError", "write_file", "resolve_target", "TEMPORARY_SUFFIX"]

#: Suffix of the temporaries :func:`write_file` makes (``.{name}.{random}.tmp`` next to the target).
TEMPORARY_SUFFIX = ".tmp"

Writer = Callable[[IO[bytes]], object]
Content = Union[str, bytes, Writer]


class OutputError(ValueError):
    """An output could not be written (one line naming the path)."""


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return first[:160]


def resolve_target(path: str | Path) -> Path:
    """The file a write to ``path`` lands in: the final target of a symbolic link, else the path."""
    p = Path(path)
    return Path(os.path.realpath(p)) if p.is_symlink() else p


def _emit(fh: IO[bytes], content: Content) -> None:
    if isinstance(content, str):
        fh.write(content.encode("utf-8"))
    elif isinstance(content, bytes):
        fh.write(content)
    else:
        content(fh)


def write_file(path: str | Path, content: Content, *, label: str | None = None) -> Path:
    """Write ``content`` (text as UTF-8, bytes, or a function writing to a binary file) to ``path``.

    Args:
      path: the destination; ``"-"`` for standard output.
      content: str, bytes, or ``writer(binary_file)``.
      label: how messages name the output (e.g. ``"--json out.json"``); default the path.

    Returns:
      the path written (the link's target for a symbolic link).

    Raises:
      OutputError: one line naming the output and the reason.
    """
    name = label or str(path)
    if str(path) == "-":
        try:
            _emit(sys.stdout.buffer, content)
            sys.stdout.flush()
        except (OSError, RuntimeError) as exc:
            raise OutputError(f"{name}: cannot write: {_reason(exc)}") from None
        return Path("-")
    target = resolve_target(path)
    try:
        mode = target.stat().st_mode if target.exists() else None
    except OSError as exc:
        raise OutputError(f"{name}: cannot write: {_reason(exc)}") from None
    if mode is not None and stat.S_ISDIR(mode):
        raise OutputError(f"{name}: cannot write: it is a directory")
    if mode is not None and not stat.S_ISREG(mode):  # a device, FIFO or socket: write into it, never replace it
        try:
            with open(target, "wb") as fh:
                _emit(fh, content)
        except (OSError, RuntimeError) as exc:
            raise OutputError(f"{name}: cannot write: {_reason(exc)}") from None
        return target
    folder = target.parent
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=TEMPORARY_SUFFIX, dir=folder)
    except OSError as exc:
        raise OutputError(f"{name}: cannot write to {folder}: {_reason(exc)}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            _emit(fh, content)
        if mode is not None:
            os.chmod(tmp, stat.S_IMODE(mode))  # keep the replaced file's permissions
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; a new output is an ordinary file
        os.replace(tmp, target)
    except (OSError, RuntimeError) as exc:
        Path(tmp).unlink(missing_ok=True)
        raise OutputError(f"{name}: cannot write: {_reason(exc)}") from None
    except BaseException:  # Ctrl-C or an error inside the writer: no temporary is left behind
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
