"""Run-directory writes (atomic, through :func:`passlens._output.write_file`), checkpoint loading with
one-line errors, and the run directory's lock."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import torch

from .._output import write_file

__all__ = [
    "write_json",
    "write_parquet",
    "save_checkpoint",
    "load_checkpoint",
    "FORMAT",
    "RunLock",
    "remove_stale_temporaries",
]

#: Format tag stored in every checkpoint.
FORMAT = "passlens-rl-1"


def write_json(path: Path, obj: Any) -> None:
    """Atomic JSON write (indented, NaN written as null by the caller's choice of values)."""
    write_file(path, json.dumps(obj, indent=2) + "\n")


def write_parquet(path: Path, rows: list[dict[str, Any]]) -> None:
    """Atomic Parquet write of a list of records (polars)."""
    import polars as pl

    write_file(path, lambda fh: pl.DataFrame(rows).write_parquet(fh))


def save_checkpoint(path: Path, payload: dict[str, Any]) -> None:
    """Atomic ``torch.save`` of ``payload`` with the format tag added.

    torch reports a failed write (a full disk) as a RuntimeError from its stream writer, not an
    OSError: :func:`passlens._output.write_file` makes it the same one-line error naming the path.
    """
    write_file(path, lambda fh: torch.save({"format": FORMAT, **payload}, fh))


#: The temporaries :func:`passlens._output.write_file` leaves when killed: ``.{name}.{random}.tmp``
#: (and ``.{name}.tmp{pid}``, the name earlier versions used).
_TEMPORARY = re.compile(r"^\..+\.tmp(\d+)?$")


def remove_stale_temporaries(folders: list[Path]) -> list[Path]:
    """Delete the temporary files killed writers left in ``folders``; returns them.

    Only safe while holding the run's :class:`RunLock` (no other process is writing there).
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
    """An exclusive lock on a run directory (``flock`` on ``DIR/.lock``), held while the object lives.

    A second process that trains or resumes the same run gets a one-line ValueError instead of
    interleaving its checkpoints with the first one's. The kernel drops the lock when the holder
    dies (kill -9 included), so a crashed run never blocks its own resume. Where ``fcntl`` does not
    exist (Windows), no lock is taken.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.path = self.folder / ".lock"
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
            raise ValueError(f"{self.folder} is in use by another passlens train process (it holds {self.path}); "
                             "wait for it to finish or stop it first") from None
        self._file = f

    def release(self) -> None:
        if self._file is not None:
            self._file.close()  # closing the descriptor drops the flock
            self._file = None



def load_checkpoint(path: Path | str, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a checkpoint written by :func:`save_checkpoint`.

    Raises:
      ValueError: missing, unreadable, corrupt or foreign file (one line naming it).
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"checkpoint {path} does not exist")
    try:
        obj = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises many types for truncated / foreign files
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"checkpoint {path} is corrupt or not a passlens checkpoint ({first[:120]})") from None
    if not isinstance(obj, dict) or obj.get("format") != FORMAT or "model" not in obj:
        raise ValueError(f"checkpoint {path} is not a passlens RL checkpoint (format {FORMAT})")
    return obj
