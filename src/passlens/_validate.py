"""Input checks shared by every estimator: counts, budgets, reward arrays.

Every check names the offending problem (its id when the caller passes ``ids``,
else its index) so that a bad row can be found in the user's file.
"""

from __future__ import annotations

from typing import Callable, Literal, Sequence

import numpy as np

__all__ = [
    "as_counts",
    "as_budgets",
    "as_ks",
    "check_policy",
    "check_seed",
    "check_draws",
    "check_level",
    "check_enough_samples",
    "pow2_grid",
    "log_grid",
    "default_grid",
    "DENSE_GRID_MAX",
    "as_votes",
    "check_k_le_n",
    "k_mask",
    "problem_label",
    "KPolicy",
]

KPolicy = Literal["raise", "nan"]


def problem_label(i: int, ids: Sequence[object] | np.ndarray | None) -> str:
    """How an error message names problem ``i``: by id when known, else by index."""
    if ids is not None and 0 <= i < len(ids):
        return f"problem {ids[i]!r} (index {i})"
    return f"problem index {i}"


def _as_integral(x: object, name: str, ids: Sequence[object] | np.ndarray | None,
                 label: Callable[[int], str] | None = None) -> np.ndarray:
    """Array of int64 from ints or integral floats; ValueError names the first bad entry
    (by ``label(i)``, default :func:`problem_label`)."""
    where = label if label is not None else (lambda i: problem_label(i, ids))
    a = np.asarray(x)
    if a.dtype == bool:
        raise ValueError(f"{name} must be integers, got booleans")
    if np.issubdtype(a.dtype, np.integer):
        if a.dtype == np.uint64 and a.size and a.max() > np.iinfo(np.int64).max:  # e.g. a Python int ≥ 2⁶³
            i = int(np.argmax(a.ravel()))
            raise ValueError(f"{name} too large: {where(i)} has {name}={a.ravel()[i].item()} (≥ 2⁶³)")
        return a.astype(np.int64, copy=False)
    if not np.issubdtype(a.dtype, np.floating):
        try:
            a = a.astype(np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be numeric, got dtype {a.dtype}") from None
    bad = ~np.isfinite(a) | (a != np.round(a))
    if bad.any():
        i = int(np.flatnonzero(bad.ravel())[0])
        raise ValueError(f"{name} must be integers: {where(i)} has {name}={a.ravel()[i].item()!r}")
    big = np.abs(a) >= 2**53  # floats step by ≥ 2 from here on: the integer may not be the one meant
    if big.any():
        i = int(np.flatnonzero(big.ravel())[0])
        raise ValueError(f"{name} too large to be represented exactly as a float: {where(i)} has {name}={a.ravel()[i].item()!r}")
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
    if ids is not None and len(ids) != n_arr.size:
        raise ValueError(f"ids has {len(ids)} entries for {n_arr.size} problems")
    for cond, what in ((n_arr < 1, "n < 1"), (c_arr < 0, "c < 0"), (c_arr > n_arr, "c > n")):
        if cond.any():
            i = int(np.flatnonzero(cond)[0])
            raise ValueError(f"{what}: {problem_label(i, ids)} has n={n_arr[i]}, c={c_arr[i]}")
    return n_arr, c_arr


def as_budgets(k: object, name: str = "k") -> tuple[np.ndarray, bool]:
    """Validate budgets: an int or an int array (K,), every entry an integer ≥ 1 and < 2⁵³.

    The one budget check of the package (k of pass@k, the group size G, …).

    Returns:
      (int64 (K,), whether ``k`` was a scalar).

    Raises:
      ValueError: not 0-d or 1-D, empty, non-numeric, a non-integer or an entry < 1
        (naming its index), or one ≥ 2⁵³ (used as float64 too, where it would round).
    """
    arr = np.asarray(k)
    if arr.ndim > 1:
        raise ValueError(f"{name} must be an int or a 1-D int array, got shape {arr.shape}")
    scalar = arr.ndim == 0
    arr = np.atleast_1d(arr)
    if arr.size == 0:
        raise ValueError(f"{name} is empty")
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise ValueError(f"{name} must be integers, got dtype {arr.dtype}")
    bad = ~np.isfinite(arr) | (arr != np.round(arr)) | (arr < 1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        where = "" if scalar else f" at index {i}"
        raise ValueError(f"{name} must be an integer ≥ 1: got {name}={arr[i].item()!r}{where}")
    # Budgets are used as float64 (exact below 2⁵³) and int64; larger ones would round or wrap.
    big = arr >= 2**53
    if big.any():
        i = int(np.flatnonzero(big)[0])
        where = "" if scalar else f" at index {i}"
        raise ValueError(f"{name} must be < 2⁵³: got {name}={arr[i].item()!r}{where}")
    return arr.astype(np.int64), scalar


def as_ks(k: object) -> np.ndarray:
    """Validate budgets ``k`` (:func:`as_budgets`). Returns int64 (K,)."""
    return as_budgets(k)[0]


def pow2_grid(n_max: int) -> np.ndarray:
    """The budget ladder 1, 2, 4, … ≤ n_max, plus n_max itself: int64 (K,)."""
    ks = [1 << i for i in range(max(1, n_max).bit_length()) if (1 << i) <= n_max]
    if n_max not in ks:
        ks.append(n_max)
    return np.array(ks, dtype=np.int64)


def log_grid(n_max: int, points: int = 48) -> np.ndarray:
    """About ``points`` log-spaced integers in 1..n_max (both ends included) with the powers of two: int64 (K,)."""
    raw = np.unique(np.round(np.geomspace(1, n_max, points)).astype(np.int64))
    return np.union1d(raw, pow2_grid(n_max))


#: Up to this n a default budget grid is every k in 1..n; beyond, :func:`log_grid` (a K × K
#: covariance or a (P, K) matrix of 10⁶ budgets does not fit in memory).
DENSE_GRID_MAX = 4096


def default_grid(n_max: int) -> np.ndarray:
    """The default budgets up to n_max: 1..n_max, or :func:`log_grid` beyond :data:`DENSE_GRID_MAX`."""
    return np.arange(1, n_max + 1, dtype=np.int64) if n_max <= DENSE_GRID_MAX else log_grid(n_max)


def check_seed(seed: object, name: str = "seed") -> int:
    """A random seed: an int in [0, 2⁶⁴) (numpy's SeedSequence takes no other)."""
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or not 0 <= int(seed) < 2**64:
        raise ValueError(f"{name} must be an integer in [0, 2⁶⁴), got {seed!r}")
    return int(seed)


def check_draws(n_boot: object, name: str = "n_boot") -> int:
    """A number of bootstrap draws: an int ≥ 2."""
    if isinstance(n_boot, (bool, np.bool_)) or not isinstance(n_boot, (int, np.integer)) or int(n_boot) < 2:
        raise ValueError(f"{name} must be an integer ≥ 2, got {n_boot!r}")
    return int(n_boot)


def check_level(level: object, name: str) -> float:
    """A probability strictly inside (0, 1): a confidence level or an error rate."""
    if isinstance(level, (bool, np.bool_)) or not isinstance(level, (int, float, np.integer, np.floating)) or not (
            0.0 < float(level) < 1.0):
        raise ValueError(f"{name} must be a number in (0, 1), got {level!r}")
    return float(level)


def check_policy(policy: object) -> KPolicy:
    """The policy for budgets a problem has too few samples for: "raise" or "nan"."""
    if policy not in ("raise", "nan"):
        raise ValueError(f"k_exceeds_n must be 'raise' or 'nan', got {policy!r}")
    return policy


def check_enough_samples(
    n: np.ndarray,
    need: np.ndarray,
    ks: np.ndarray,
    ids: Sequence[object] | np.ndarray | None,
    policy: KPolicy,
    what: str | None = None,
) -> np.ndarray:
    """Mask (P, K) of problems with fewer samples than budget k needs; raise unless ``policy == "nan"``.

    An estimand that is a degree-d polynomial in p has an unbiased estimator from n
    Bernoulli draws only when n ≥ d (Walder & Karkhanis 2025, App. A.1): pass@k needs
    n ≥ k, α̂_k n ≥ k − 1, ŝ_k n ≥ 2k. Such entries are an error, or NaN when the
    caller asked for that explicitly.

    Args:
      n: int (P,) samples per problem; need: int (K,) samples each budget needs;
      ks: int (K,) the budgets (for the message); ids: problem ids or None;
      policy: "raise" or "nan"; what: the estimator's name for the message (None:
        the pass@k message "k=… exceeds n=…").
    """
    check_policy(policy)
    short = n[:, None] < need[None, :]  # (P, K)
    if policy == "raise" and short.any():
        i, j = (int(v) for v in np.argwhere(short)[0])
        if what is None:
            count = int(short.any(axis=1).sum())
            raise ValueError(
                f"k={ks[j]} exceeds n={n[i]} for {problem_label(i, ids)}"
                f" ({count} problem(s) have n < max k); no unbiased estimate exists for k > n"
            )
        count = int(short[:, j].sum())
        raise ValueError(
            f"{what} needs n ≥ {need[j]} for k={ks[j]}: {problem_label(i, ids)} has n={n[i]}"
            f" ({count} problem(s) too small); no unbiased estimate exists from fewer samples"
        )
    return short


def check_k_le_n(
    n: np.ndarray, ks: np.ndarray, ids: Sequence[object] | np.ndarray | None, policy: KPolicy
) -> np.ndarray:
    """Mask (P, K) of entries with k > n (:func:`check_enough_samples` with need = k)."""
    return check_enough_samples(n, ks, ks, ids, policy)


def k_mask(
    n: np.ndarray, ks: np.ndarray, ids: Sequence[object] | np.ndarray | None, policy: KPolicy
) -> np.ndarray | None:
    """As :func:`check_k_le_n`, but None when no k exceeds any n — the common case,
    decided in O(P + K) without building the (P, K) mask."""
    check_policy(policy)
    if n.size == 0 or int(ks.max()) <= int(n.min()):  # (no problems: nothing exceeds)
        return None
    return check_k_le_n(n, ks, ids, policy)


def as_votes(
    votes: Sequence[object], correct: Sequence[object], ids: Sequence[object] | np.ndarray | None
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Validate the ragged vote counts and correctness flags; int64 and bool rows (A_i,)."""
    try:
        P, P2 = len(votes), len(correct)
    except TypeError:
        raise ValueError("votes and correct must be sequences with one entry per problem") from None
    if P != P2:
        raise ValueError(
            f"votes has {P} problems but correct has {P2}: "
            f"problem index {min(P, P2)} is missing from one of them"
        )
    if ids is not None and len(ids) != P:
        raise ValueError(f"ids has {len(ids)} entries for {P} problems")
    counts: list[np.ndarray] = []
    flags: list[np.ndarray] = []
    for i in range(P):
        who = problem_label(i, ids)
        v = np.asarray(votes[i])
        c = np.asarray(correct[i])
        if v.ndim != 1:
            raise ValueError(f"votes of {who} must be a 1-D array of answer counts, got shape {v.shape}")
        if c.ndim != 1:
            raise ValueError(f"correct of {who} must be a 1-D array of flags, got shape {c.shape}")
        if v.shape != c.shape:
            raise ValueError(f"{who} has {v.size} vote counts but {c.size} correctness flags")
        counts.append(_integral_counts(v, who))
        flags.append(_bool_flags(c, who))
        if int(counts[-1].sum()) == 0:
            raise ValueError(f"{who} has no samples (n = 0: every vote count is zero)")
    return counts, flags


def _integral_counts(v: np.ndarray, who: str) -> np.ndarray:
    """Vote counts as int64 ≥ 0; ValueError names the problem and the answer index."""
    if v.dtype == bool:
        raise ValueError(f"votes of {who} must be integer counts, got booleans")
    if np.issubdtype(v.dtype, np.integer):
        a = v.astype(np.int64)
    else:
        try:
            f = v.astype(np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"votes of {who} must be integer counts, got dtype {v.dtype}") from None
        bad = ~np.isfinite(f) | (f != np.round(f)) | (np.abs(f) >= 2**53)
        if bad.any():
            j = int(np.flatnonzero(bad)[0])
            raise ValueError(f"votes of {who} must be integer counts: answer {j} has count {v[j].item()!r}")
        a = f.astype(np.int64)
    if (a < 0).any():
        j = int(np.flatnonzero(a < 0)[0])
        raise ValueError(f"votes of {who} must be ≥ 0: answer {j} has count {int(a[j])}")
    return a


def _bool_flags(c: np.ndarray, who: str) -> np.ndarray:
    """Correctness flags as bool; 0/1 numbers are accepted, anything else is an error."""
    if c.dtype == bool:
        return c
    if c.size == 0 or (np.issubdtype(c.dtype, np.number) and np.isin(c, (0, 1)).all()):
        return c.astype(bool)
    raise ValueError(f"correct of {who} must hold booleans (or 0/1), got {c[:5]!r}")
