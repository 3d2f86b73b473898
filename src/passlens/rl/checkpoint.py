"""Run-directory writes (atomic, through :func:`passlens._output.write_file`) and checkpoint loading with
one-line errors. The run directory's lock and the cleanup of killed writers' temporaries live in
:mod:`passlens._output` (``lab run`` uses them too) and are re-exported here."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from .._output import RunLock, remove_stale_temporaries, write_file

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
