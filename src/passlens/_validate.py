"""Input checks shared by every estimator: counts, budgets, reward arrays.

Every check names the offending problem (its id when the caller passes ``ids``,
else its index) so that a bad row can be found in the user's file.
"""

from __future__ import annotations

from typing import Literal, Sequence

import numpy as np

__all__ = ["as_counts", "as_ks", "check_k_le_n", "k_mask", "problem_label", "KPolicy"]

KPolicy = Literal["raise", "nan"]


def problem_label(i: int, ids: Sequence[object] | np.ndarray | None) -> str:
    """How an error message names problem ``i``: by id when known, else by index."""
    if ids is not None:
        return f"problem {ids[i]!r} (index {i})"
    return f"problem index {i}"


def _as_integral(x: object, name: str, ids: Sequence[object] | np.ndarray | None) -> np.ndarray:
    """Array of int64 from ints or integral floats; ValueError names the first bad entry."""
    a = np.asarray(x)
    if a.dtype == bool:
        raise ValueError(f"{name} must be integers, got booleans")
    if np.issubdtype(a.dtype, np.integer):
        return a.astype(np.int64, copy=False)
    if not np.issubdtype(a.dtype, np.floating):
        try:
            a = a.astype(np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be numeric, got dtype {a.dtype}") from None
    bad = ~np.isfinite(a) | (a != np.round(a))
    if bad.any():
        i = int(np.flatnonzero(bad.ravel())[0])
        raise ValueError(f"{name} must be integers: {problem_label(i, ids)} has {name}={a.ravel()[i].item()!r}")
    if np.abs(a).max(initial=0) >= 2**53:
        raise ValueError(f"{name} too large to be represented exactly")
    return a.astype(np.int64)


def as_counts(
    n: object, c: object, ids: Sequence[object] | np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Validate per-problem sample counts ``n`` and success counts ``c``.

    Args:
      n: int array (P,) or scalar, samples per problem, ≥ 1.
      c: int array (P,) or scalar, successes per problem, 0 ≤ c ≤ n.
      ids: optional (P,) problem ids used in error messages.

    Returns:
      (n, c) as int64 arrays of a common shape (P,) (0-d inputs broadcast to (1,)
      only if both are scalar; callers restore the scalar shape themselves).

    Raises:
      ValueError: non-integers, NaN, n < 1, c < 0, c > n, or shapes that do not broadcast.
    """
    n_arr = _as_integral(n, "n", ids)
    c_arr = _as_integral(c, "c", ids)
    try:
        n_arr, c_arr = np.broadcast_arrays(n_arr, c_arr)
    except ValueError:
        raise ValueError(f"n and c do not broadcast: shapes {n_arr.shape} and {c_arr.shape}") from None
    if n_arr.ndim > 1:
        raise ValueError(f"n and c must be scalars or 1-D arrays (P,), got shape {n_arr.shape}")
    n_arr = np.atleast_1d(n_arr)
    c_arr = np.atleast_1d(c_arr)
    for cond, what in ((n_arr < 1, "n < 1"), (c_arr < 0, "c < 0"), (c_arr > n_arr, "c > n")):
        if cond.any():
            i = int(np.flatnonzero(cond)[0])
            raise ValueError(f"{what}: {problem_label(i, ids)} has n={n_arr[i]}, c={c_arr[i]}")
    return n_arr, c_arr


def as_ks(k: object) -> np.ndarray:
    """Validate budgets ``k``: int or int array (K,), every k ≥ 1. Returns int64 (K,)."""
    ks = np.asarray(k)
    if ks.ndim > 1:
        raise ValueError(f"k must be an int or a 1-D int array, got shape {ks.shape}")
    ks = _as_integral(np.atleast_1d(ks), "k", None)
    if ks.size == 0:
        raise ValueError("k is empty")
    if (ks < 1).any():
        raise ValueError(f"k must be ≥ 1, got {int(ks[ks < 1][0])}")
    return ks


def check_k_le_n(
    n: np.ndarray, ks: np.ndarray, ids: Sequence[object] | np.ndarray | None, policy: KPolicy
) -> np.ndarray:
    """Mask (P, K) of entries with k > n; raise unless ``policy == "nan"``.

    No unbiased estimator of pass@k exists from n < k samples (the estimand is a
    degree-k polynomial in p; Walder & Karkhanis 2025, App. A.1), so such entries
    are an error, or NaN when the caller asked for that explicitly.
    """
    if policy not in ("raise", "nan"):
        raise ValueError(f"k_exceeds_n must be 'raise' or 'nan', got {policy!r}")
    too_big = ks[None, :] > n[:, None]  # (P, K)
    if policy == "raise" and too_big.any():
        i, j = (int(v) for v in np.argwhere(too_big)[0])
        count = int(too_big.any(axis=1).sum())
        raise ValueError(
            f"k={ks[j]} exceeds n={n[i]} for {problem_label(i, ids)}"
            f" ({count} problem(s) have n < max k); no unbiased estimate exists for k > n"
        )
    return too_big


def k_mask(
    n: np.ndarray, ks: np.ndarray, ids: Sequence[object] | np.ndarray | None, policy: KPolicy
) -> np.ndarray | None:
    """As :func:`check_k_le_n`, but None when no k exceeds any n — the common case,
    decided in O(P + K) without building the (P, K) mask."""
    if policy not in ("raise", "nan"):
        raise ValueError(f"k_exceeds_n must be 'raise' or 'nan', got {policy!r}")
    if int(ks.max()) <= int(n.min()):
        return None
    return check_k_le_n(n, ks, ids, policy)
