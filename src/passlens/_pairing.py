"""Pairing two models' problems by id, for paired comparisons (the same problems, any order)."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["PairingError", "align_by_id"]


class PairingError(ValueError):
    """The two id sets differ (or repeat an id); ``only_a`` / ``only_b`` hold the differences."""

    def __init__(self, message: str, only_a: list[Any] | None = None, only_b: list[Any] | None = None) -> None:
        super().__init__(message)
        self.only_a = only_a or []
        self.only_b = only_b or []


def _distinct(ids: np.ndarray) -> bool:
    try:
        import polars as pl

        return not bool(pl.Series(ids, strict=True).is_duplicated().any())  # hash-based, in Rust
    except (TypeError, ValueError, OverflowError, ImportError):
        return len(set(ids.tolist())) == ids.size


def align_by_id(ids_a: Any, ids_b: Any) -> np.ndarray:
    """The permutation that puts B's problems in A's order: ``ids_b[perm] == ids_a``.

    Tables read by :mod:`passlens.io` are sorted by id, so the common case is two equal
    id arrays (one vectorized comparison); otherwise the ids are joined (polars' hash join,
    or a dict for ids polars cannot type).

    Args:
      ids_a, ids_b: (P,) problem ids of each model.

    Returns:
      int64 (P,).

    Raises:
      PairingError: an id repeated within one model, or ids that only one model has (the
        message counts them and names a few).
    """
    a = np.asarray(ids_a, dtype=object).reshape(-1)
    b = np.asarray(ids_b, dtype=object).reshape(-1)
    if not (_distinct(a) and _distinct(b)):
        raise PairingError("problem ids must be unique within each model to pair them")
    if a.size == b.size and bool(np.all(a == b)):
        return np.arange(a.size, dtype=np.int64)
    position = {v: i for i, v in enumerate(b.tolist())}
    perm = np.fromiter((position.get(v, -1) for v in a.tolist()), dtype=np.int64, count=a.size)
    if a.size != b.size or bool((perm < 0).any()):
        only_a = sorted(set(a.tolist()) - set(b.tolist()), key=str)
        only_b = sorted(set(b.tolist()) - set(a.tolist()), key=str)
        raise PairingError(
            f"the two models cover different problems: {len(only_a)} only in A (e.g. {only_a[:3]}),"
            f" {len(only_b)} only in B (e.g. {only_b[:3]}); a paired comparison needs the same problems",
            only_a, only_b,
        )
    return perm
