"""numpy ↔ torch dispatch, input checks and per-row sorts shared by the advantage estimators.

Each estimator is written once, in numpy float64. A torch input is copied to a float64 numpy
array (detached, on the CPU) and the result goes back to a tensor with the input's dtype and
device; torch is never imported here (a tensor can only come from a caller that imported it).
Every check names the offending group (row b) and sample. The sorts serve the estimators that
rank each group by value (``pkpo`` on non-binary rewards, ``unlikeliness``): float64 rows are
sorted through packed int64 keys (SIMD sorts of plain int64 keys beat ``argsort``) and checked.
"""

from __future__ import annotations

import operator
import sys
from typing import TYPE_CHECKING, Any, Callable, TypeGuard

import numpy as np

if TYPE_CHECKING:
    import torch

__all__ = ["is_torch", "as_rewards", "MAX_REWARD", "as_answers", "as_logprobs", "check_k", "require_binary",
           "require_min_n", "Restore", "packed_order", "sort_cols", "cumsum_down"]

#: Puts a float64 (B, n) numpy result back into the caller's array type.
Restore = Callable[[np.ndarray], Any]


def is_torch(x: object) -> TypeGuard[torch.Tensor]:
    """True for a ``torch.Tensor`` (without importing torch)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def _numpy_twin(torch_dtype: Any) -> np.dtype | None:
    """The numpy dtype with the same values as a torch float dtype (None for bfloat16)."""
    name = str(torch_dtype).removeprefix("torch.")
    return np.dtype(name) if name in ("float64", "float32", "float16") else None


def _to_numpy(x: object) -> np.ndarray:
    """numpy view/copy of ``x`` (a tensor detached, on the CPU). Casts are left to numpy: waking
    torch's multithreaded CPU cast kernels costs milliseconds on a busy machine."""
    if is_torch(x):
        t = x.detach().cpu()
        if t.dtype.is_floating_point and _numpy_twin(t.dtype) is None:
            t = t.float()  # bfloat16 has no numpy twin; float32 holds it exactly
        return np.asarray(t.numpy())
    return np.asarray(x)


def _restore_for(x: object) -> Restore:
    """A function that casts a float64 numpy result to ``x``'s type, dtype and device."""
    if is_torch(x):
        torch = sys.modules["torch"]
        dtype = x.dtype if x.dtype.is_floating_point else torch.get_default_dtype()
        device, twin = x.device, _numpy_twin(dtype)
        # Cast in numpy (single-threaded) to the twin dtype and wrap without copying; bfloat16 casts in torch.
        return lambda out: torch.from_numpy(np.ascontiguousarray(out, dtype=np.float64 if twin is None else twin)
                                            ).to(device=device, dtype=dtype)
    arr = np.asarray(x)
    dtype_np = arr.dtype if np.issubdtype(arr.dtype, np.floating) else np.dtype(np.float64)
    return lambda out: out.astype(dtype_np, copy=False)


def _where(b: int, i: int) -> str:
    return f"group {b} (row {b}), sample {i}"


MAX_REWARD = 1e300  # |reward| bound: centring, leave-one-out means and PKPO's sums stay finite below it


def as_rewards(rewards: object) -> tuple[np.ndarray, Restore]:
    """Validate a (B, n) batch of rewards; return it as float64 numpy and a restorer.

    Args:
      rewards: float (B, n) (numpy, torch or nested lists; integer and boolean accepted).

    Returns:
      (r, restore): r float64 (B, n), a private C-contiguous copy the estimator may overwrite;
      ``restore(out)`` casts a float64 (B, n) result to the input's type, dtype (float64, or
      torch's default, for non-float input) and device.

    Raises:
      ValueError: not 2-D, empty, non-numeric, or a reward NaN, ±inf or beyond ±MAX_REWARD
        (named by group and sample).
    """
    raw = _to_numpy(rewards)
    if raw.ndim != 2:
        raise ValueError(f"rewards must be a 2-D array (B groups, n samples), got shape {raw.shape}")
    if raw.shape[0] == 0 or raw.shape[1] == 0:
        raise ValueError(f"rewards must hold at least one group of at least one sample, got shape {raw.shape}")
    if raw.dtype.kind not in "biuf":
        raise ValueError(f"rewards must be numeric, got dtype {raw.dtype}")
    r = raw.astype(np.float64, order="C")  # always a copy
    # Two reductions (NaN fails both comparisons); the offender is located only on failure.
    lo, hi = r.min(), r.max()
    if not (-MAX_REWARD <= lo and hi <= MAX_REWARD):
        b, i = (int(v) for v in np.argwhere(~(np.abs(r) <= MAX_REWARD))[0])
        raise ValueError(f"rewards must be finite and within ±{MAX_REWARD:g} (differences of larger ones overflow): "
                         f"{_where(b, i)} has reward {r[b, i].item()!r}")
    return r, _restore_for(rewards)


def as_answers(answers: object, shape: tuple[int, int], who: str) -> np.ndarray:
    """Validate answer-class ids: int (B, n), same shape as the rewards. Returns int64."""
    if answers is None:
        raise ValueError(f"{who} needs answers= (int (B, n) answer-class ids)")
    a = _to_numpy(answers)
    if a.shape != shape:
        raise ValueError(f"answers has shape {a.shape}, rewards has shape {shape}; they must match")
    if a.dtype.kind not in "iu":
        raise ValueError(f"answers must be integer answer-class ids, got dtype {a.dtype}")
    if a.dtype.kind == "u" and a.size and int(a.max()) >= 2**63:
        raise ValueError("answers must fit in int64")
    return a.astype(np.int64, copy=False)


def as_logprobs(logprobs: object, shape: tuple[int, int], who: str) -> np.ndarray:
    """Validate sequence log-probabilities: finite float (B, n), same shape as the rewards. Returns
    float64 (B, n), the input itself when it already is float64 numpy: read it, do not write it."""
    if logprobs is None:
        raise ValueError(f"{who} needs logprobs= (float (B, n) sequence log-probabilities)")
    lp = _to_numpy(logprobs)
    if lp.shape != shape:
        raise ValueError(f"logprobs has shape {lp.shape}, rewards has shape {shape}; they must match")
    if lp.dtype.kind not in "iuf":
        raise ValueError(f"logprobs must be numeric, got dtype {lp.dtype}")
    lp = np.asarray(lp, dtype=np.float64)  # read-only use: no copy of float64 input
    if not np.isfinite(lp).all():  # one pass; the offender is located only on failure
        b, i = (int(v) for v in np.argwhere(~np.isfinite(lp))[0])
        raise ValueError(f"logprobs must be finite: {_where(b, i)} has logprob {lp[b, i].item()!r}")
    return lp


def check_k(k: object, n: int, who: str) -> int:
    """Validate a budget k: an int with 1 ≤ k ≤ n (no unbiased estimate exists for k > n)."""
    if isinstance(k, (bool, np.bool_)):
        raise ValueError(f"{who}: k must be an integer, got {k!r}")
    try:
        kk = operator.index(k)  # type: ignore[arg-type]  # any object: TypeError is caught below
    except TypeError:
        raise ValueError(f"{who}: k must be an integer, got {k!r}") from None
    if kk < 1:
        raise ValueError(f"{who}: k must be ≥ 1, got {kk}")
    if kk > n:
        raise ValueError(f"{who}: k={kk} exceeds n={n} samples per group; no unbiased estimate exists for k > n")
    return kk


def require_binary(r: np.ndarray, who: str) -> None:
    """Raise unless every reward is exactly 0 or 1, naming the first offender."""
    bad = (r != 0.0) & (r != 1.0)
    if bad.any():
        b, i = (int(v) for v in np.argwhere(bad)[0])
        raise ValueError(f"{who} needs binary rewards in {{0, 1}}: {_where(b, i)} has reward {r[b, i].item()!r}")


def require_min_n(r: np.ndarray, min_n: int, who: str) -> None:
    """Raise unless each group has at least ``min_n`` samples."""
    if r.shape[1] < min_n:
        raise ValueError(f"{who} needs n ≥ {min_n} samples per group, got n={r.shape[1]}")


_SIGN_OFF = np.int64(0x7FFF_FFFF_FFFF_FFFF)


def packed_order(x: np.ndarray, check_distinct: bool = False, transposed: bool = True) -> tuple[np.ndarray, bool] | None:
    """Per-row argsort of float64 x (B, n) by one plain int64 sort, or None (n > 2²⁰ or not float64).

    Returns (flat_t, distinct): flat indices int64 (n, B), row j those of every group's (j+1)-th
    smallest value (``transposed`` false: (B, n), row b group b's ascending), and, with
    ``check_distinct``, whether every row's keys differ above the index bits (the order is
    exact, no ties; False says nothing). Each value becomes an order-preserving int64 (IEEE
    bits, negatives' magnitude bits flipped) whose low ⌈log₂ n⌉ bits hold the column index.
    Values equal but for those bits may come out misordered: :func:`sort_cols` re-sorts them.
    """
    B, n = x.shape
    bits = max(1, (n - 1).bit_length())
    if bits > 20 or x.dtype != np.float64:
        return None
    bits_x = np.ascontiguousarray(x).view(np.int64)
    low = (1 << bits) - 1
    key = np.bitwise_and(bits_x, ~np.int64(low))
    key |= np.arange(n, dtype=np.int64)
    # Negative floats: larger magnitude → smaller key, so their magnitude bits above the
    # index bits are flipped. Skipped for non-negative input.
    if key.min() < 0:  # some sign bit set
        if key.max() < 0:  # all negative (e.g. log-probabilities): one constant flip
            key ^= _SIGN_OFF & ~np.int64(low)
        else:
            sign = np.right_shift(bits_x, 63)  # −1 for a set sign bit, else 0
            key ^= sign & (_SIGN_OFF & ~np.int64(low))
            # The flip maps −0.0 one unit (2^bits) below +0.0's key; −0.0 == +0.0 is a tie, not an
            # order (check_distinct must not call it distinct), so every negative key moves up one unit.
            sign <<= bits  # −2^bits for negatives, else 0
            key -= sign
    key.sort(axis=1)
    distinct = False
    if check_distinct:
        # Neighbours whose keys differ above the index bits have strictly ascending values.
        step = np.bitwise_xor(key[:, 1:], key[:, :-1]).view(np.uint64)  # unsigned: sign bits differ too
        distinct = bool((step > low).all())
    starts = np.arange(0, B * n, n, dtype=np.int64)  # the flat index of each row's first element
    key &= low  # the column index of each sorted slot
    if not transposed:
        key += starts[:, None]
        return key, distinct
    key = _transpose(key)
    key += starts  # (along n long rows: faster than broadcasting over B short ones)
    return key, distinct


def _transpose(x: np.ndarray) -> np.ndarray:
    """C-contiguous x.T for x (B, n), in blocks of ≈ 4096 elements (one L1 cache): ~2× a strided copy."""
    B, n = x.shape
    out = np.empty((n, B), dtype=x.dtype)
    step = max(8, 4096 // max(n, 1))
    for s in range(0, B, step):
        np.copyto(out[:, s : s + step], x[s : s + step].T)
    return out


def sort_cols(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sort each row of x (B, n), laid out transposed: flat_t int64 (n, B) and gt = x.ravel()[flat_t],
    gt[:, b] row b ascending, exactly (columns the packed keys of :func:`packed_order` left
    misordered are re-sorted by ``argsort``). A running sum over ranks is then n − 1 contiguous
    vector adds (:func:`cumsum_down`). Undo with ``out.ravel()[flat_t] = yt``."""
    B, n = x.shape
    packed = packed_order(x)
    if packed is None:
        order = np.argsort(x, axis=1)
        order += np.arange(0, B * n, n)[:, None]
        flat_t = _transpose(order)
    else:
        flat_t = packed[0]
    gt = np.take(x.ravel(), flat_t)  # take: a little faster than fancy indexing for a plain gather
    if n > 1:
        bad = np.less(gt[1:], gt[:-1])
        if bad.any():  # rare: values equal in all but the packed key's low bits; re-sort exactly
            cols = np.flatnonzero(bad.any(axis=0))
            fix = np.argsort(x[cols], axis=1)
            fix += (cols * n)[:, None]
            flat_t[:, cols] = fix.T
            gt[:, cols] = x.ravel()[fix].T
    return flat_t, gt


def cumsum_down(x: np.ndarray) -> np.ndarray:
    """In place x[j] = x[j − 1] + x[j] down axis 0 of x (m, B), in row order; returns x. The additions of
    ``np.cumsum(x, axis=0)`` in its order (bit-identical), as m − 1 contiguous vector adds: ~20× faster
    than numpy's accumulate, which walks the columns one strided element at a time. x[::-1] sums upwards."""
    m, B = x.shape
    if B < 128:  # narrow: the Python loop's per-row overhead would dominate
        return np.cumsum(x, axis=0, out=x)
    prev = x[0]
    for j in range(1, m):
        row = x[j]
        np.add(prev, row, out=row)
        prev = row
    return x
