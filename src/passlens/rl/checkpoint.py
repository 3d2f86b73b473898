"""Atomic run-directory writes and checkpoint loading with one-line errors."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable

import torch

__all__ = ["atomic_write", "write_json", "write_parquet", "save_checkpoint", "load_checkpoint", "FORMAT"]

#: Format tag stored in every checkpoint.
FORMAT = "passlens-rl-1"


def atomic_write(path: Path, write: Callable[[Path], object]) -> None:
    """Call ``write(tmp)`` on a sibling temporary path, then rename it over ``path``
    (a reader never sees a half-written file; a killed writer leaves the old one)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ValueError(f"cannot write {path}: {exc.strerror or exc}") from None
    except BaseException:  # Ctrl-C or an error inside write(): no half-written temporary is left behind
        tmp.unlink(missing_ok=True)
        raise


def write_json(path: Path, obj: Any) -> None:
    """Atomic JSON write (indented, NaN written as null by the caller's choice of values)."""
    atomic_write(path, lambda p: p.write_text(json.dumps(obj, indent=2) + "\n"))


def write_parquet(path: Path, rows: list[dict[str, Any]]) -> None:
    """Atomic Parquet write of a list of records (polars)."""
    import polars as pl

    atomic_write(path, lambda p: pl.DataFrame(rows).write_parquet(p))


def save_checkpoint(path: Path, payload: dict[str, Any]) -> None:
    """Atomic ``torch.save`` of ``payload`` with the format tag added."""
    atomic_write(path, lambda p: torch.save({"format": FORMAT, **payload}, p))


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
