"""Writing an output file safely: the one helper every file the package writes goes through.

* A regular file (or a new path) is written to a temporary file with a unique name in the
  target's folder, then renamed over the target: a reader sees the old file or the new one,
  never half of one; a failed or interrupted write leaves the old file and no temporary.
* A symbolic link is written through: its target is replaced, the link stays.
* A device, a FIFO or a socket (``/dev/null``, ``/dev/stdout``, a named pipe) is opened and
  written directly, in a stream: it is never replaced by a regular file.
* ``-`` is standard output.

A folder that several files make up (a training run, a lab run) is guarded by :class:`RunLock`,
and the temporaries of writers killed there (kill -9 leaves them) are removed by
:func:`remove_stale_temporaries` once the lock is held.

Every failure (a full disk, no permission, a read-only file system, a directory in the way,
torch's RuntimeError from a failed save) is one :class:`OutputError` line naming the path.
"""

from __future__ import annotations

import os
import re
import stat
import sys
import tempfile
from pathlib import Path
from typing import IO, Any, Callable, Union

__all__ = ["OutputError", "write_file", "resolve_target", "TEMPORARY_SUFFIX", "RunLock", "remove_stale_temporaries"]

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


#: The temporaries :func:`write_file` leaves when killed: ``.{name}.{random}.tmp``
#: (and ``.{name}.tmp{pid}``, the name earlier versions used).
_TEMPORARY = re.compile(r"^\..+\.tmp(\d+)?$")


def remove_stale_temporaries(folders: list[Path]) -> list[Path]:
    """Delete the temporary files killed writers left in ``folders``; returns them.

    Only safe while holding the folder's :class:`RunLock` (no other process is writing there).
    """
    removed = []
    for folder in folders:
        if not folder.is_dir():
            continue
        for f in folder.iterdir():
            if _TEMPORARY.match(f.name) and f.is_file():
                f.unlink(missing_ok=True)
                removed.append(f)
    return removed


class RunLock:
    """An exclusive lock on an output folder (``flock`` on ``DIR/.lock``), held until :meth:`release`.

    A second process writing the same folder (``passlens train`` or ``--resume`` on one run, two
    ``passlens lab run --out`` on one folder) gets a one-line ValueError instead of interleaving its
    files with the first one's. The kernel drops the lock when the holder dies (kill -9 included), so
    a crashed run never blocks its own resume. Where ``fcntl`` does not exist (Windows), no lock is taken.

    Args:
      folder: the folder (it must exist).
      command: how the refusal names the holder, e.g. ``"passlens train"``.
    """

    def __init__(self, folder: Path, command: str = "passlens train") -> None:
        self.folder = Path(folder)
        self.path = self.folder / ".lock"
        self.command = command
        self._file: Any = None
        self.acquire()

    def acquire(self) -> None:
        """Take the lock (a no-op when this object holds it); ValueError when another holder has it."""
        if self._file is not None:
            return
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX
            return
        try:
            f = open(self.path, "a+")
        except OSError as exc:
            raise ValueError(f"cannot lock {self.folder}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            f.close()
            raise ValueError(f"{self.folder} is in use by another {self.command} process (it holds {self.path}); "
                             "wait for it to finish or stop it first") from None
        self._file = f

    def release(self) -> None:
        """Drop the lock (a no-op when not held)."""
        if self._file is not None:
            self._file.close()  # closing the descriptor drops the flock
            self._file = None
