"""numpy ↔ torch dispatch and input checks shared by every advantage estimator.

Each estimator is written once, in numpy float64. A torch input is copied to a
float64 numpy array (detached, on the CPU), the math runs in numpy, and the
result goes back to a tensor with the input's dtype and device. torch is never
imported here: a tensor can only reach us if the caller already imported torch,
so we look it up in ``sys.modules``.

Every check names the offending group (row ``b`` of the (B, n) batch) and sample
so that a bad row can be found in the caller's batch.
"""

from __future__ import annotations

import operator
import sys
from typing import TYPE_CHECKING, Any, Callable, Literal, TypeGuard, overload

import numpy as np

if TYPE_CHECKING:
    import torch

__all__ = [
    "is_torch",
    "as_rewards",
    "MAX_REWARD",
    "as_answers",
    "as_logprobs",
    "check_k",
    "require_binary",
    "require_min_n",
    "Restore",
    "packed_order",
    "sort_rows",
    "sort_cols",
    "cumsum_down",
    "repair_rows",
    "unsort_rows",
]

#: Puts a float64 (B, n) numpy result back into the caller's array type.
Restore = Callable[[np.ndarray], Any]


def is_torch(x: object) -> TypeGuard[torch.Tensor]:
    """True for a ``torch.Tensor`` (without importing torch)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def _numpy_twin(torch_dtype: Any) -> np.dtype | None:
    """The numpy dtype with the same values as a torch float dtype (None for bfloat16)."""
    torch = sys.modules["torch"]
    twins: dict[Any, np.dtype] = {torch.float64: np.dtype(np.float64), torch.float32: np.dtype(np.float32),
                                  torch.float16: np.dtype(np.float16)}
    return twins.get(torch_dtype)


def _to_numpy(x: object) -> np.ndarray:
    """numpy view/copy of ``x`` (a tensor is detached and moved to the CPU first).

    Dtype casts are left to numpy: torch's CPU cast kernels are multithreaded, and
    on a busy machine waking their threads costs milliseconds for a (4096, 64) batch.
    """
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
        device = x.device
        twin = _numpy_twin(dtype)
        if twin is not None:  # cast in numpy (single-threaded), then wrap without copying
            return lambda out: torch.from_numpy(np.ascontiguousarray(out, dtype=twin)).to(device=device)
        return lambda out: torch.from_numpy(np.ascontiguousarray(out)).to(device=device, dtype=dtype)
    arr = np.asarray(x)
    dtype_np = arr.dtype if np.issubdtype(arr.dtype, np.floating) else np.dtype(np.float64)
    return lambda out: out.astype(dtype_np, copy=False)


def _where(b: int, i: int) -> str:
    return f"group {b} (row {b}), sample {i}"


MAX_REWARD = 1e300  # |reward| bound: centring, leave-one-out means and PKPO's sums stay finite below it


def as_rewards(rewards: object) -> tuple[np.ndarray, Restore]:
    """Validate a (B, n) batch of rewards; return it as float64 numpy and a restorer.

    Args:
      rewards: float (B, n), numpy array, torch tensor or nested lists; B groups
        (prompts) of n samples each. Integer and boolean rewards are accepted.

    Returns:
      (r, restore): r float64 (B, n) numpy, a private C-contiguous copy the estimator may
      overwrite; ``restore(out)`` casts a float64
      (B, n) result to the input's type and dtype (float64 for non-float input;
      torch's default dtype for a non-float tensor) and device.

    Raises:
      ValueError: not 2-D, empty, non-numeric, or a NaN/inf reward or one beyond ±MAX_REWARD
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
    """Validate sequence log-probabilities: finite float (B, n), same shape as the rewards.

    Returns float64 (B, n), the input itself when it already is float64 numpy: read it, do not write it.
    """
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
        raise ValueError(f"logprobs must be finite: {_where(b, i)} has logprob {lp[b, i]!r}")
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
        raise ValueError(
            f"{who}: k={kk} exceeds n={n} samples per group; no unbiased estimate exists for k > n"
        )
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


@overload
def packed_order(x: np.ndarray, check_distinct: Literal[False] = False, transposed: bool = False) -> np.ndarray | None: ...
@overload
def packed_order(x: np.ndarray, check_distinct: Literal[True], transposed: bool = False) -> tuple[np.ndarray, bool] | None: ...
def packed_order(
    x: np.ndarray, check_distinct: bool = False, transposed: bool = False
) -> np.ndarray | tuple[np.ndarray, bool] | None:
    """Per-row argsort of float64 x (B, n) by one plain int64 sort; flat (B, n) indices, or None.

    With ``transposed``, the flat indices come laid out (n, B) (row j: the (j+1)-th smallest
    of every group), as :func:`sort_cols` wants them; the index arithmetic then runs on
    long contiguous rows instead of broadcasting over B short ones.

    With ``check_distinct``, returns (order, distinct) instead: distinct is True when every
    row's sorted keys differ above the index bits, i.e. the order is exact and no row has
    ties (False says nothing: check the values).

    Each value becomes an order-preserving int64 (IEEE bits, negatives' magnitude bits
    flipped) whose low ⌈log₂ n⌉ bits are replaced by the column index: numpy's SIMD sort of
    int64 keys is ~3× faster than argsort, and the index rides along in the key. Values
    that agree in all but those low bits may come out in the wrong order; the caller
    checks the gathered values and re-sorts such rows exactly (see :func:`sort_rows`).
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
    if check_distinct and n > 1:
        # Neighbours whose keys differ above the index bits have strictly ascending values.
        step = np.bitwise_xor(key[:, 1:], key[:, :-1]).view(np.uint64)  # unsigned: sign bits differ too
        distinct = bool((step > low).all())
    starts = np.arange(0, B * n, n, dtype=np.int64)  # flat index of each row's first element
    if transposed:
        key = _transpose(key)
        key &= low  # the column index of each sorted slot
        key += starts
    else:
        key &= low
        key += starts[:, None]
    return (key, distinct) if check_distinct else key


def sort_rows(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sort each row of x (B, n); return (flat, xs) with xs = x.ravel()[flat].reshape(B, n).

    ``flat`` (B·n,) holds flat indices of a per-row argsort (ties in any order), so that
    gathering and scattering are 1-D fancy indexing (several times faster than
    take_along_axis / put_along_axis on many short rows). float64 rows are sorted
    through packed int64 keys (:func:`packed_order`); any row that comes out not
    ascending is re-sorted by ``np.argsort``, so the result is always exact.
    """
    B, n = x.shape
    order = packed_order(x)
    if order is None:
        order = np.argsort(x, axis=1)
        order += np.arange(0, B * n, n)[:, None]
        flat = order.ravel()
        return flat, x.ravel()[flat].reshape(B, n)
    flat = order.ravel()
    xs = x.ravel()[flat].reshape(B, n)
    repair_rows(x, order, xs)
    return flat, xs


def repair_rows(x: np.ndarray, order: np.ndarray, xs: np.ndarray) -> None:
    """Re-sort exactly (``np.argsort``) every row of xs (B, n) that is not ascending, in place.

    order (B, n) holds the flat indices of a packed-key sort (:func:`packed_order`) and
    xs = x.ravel()[order]; both are fixed up together.
    """
    n = x.shape[1]
    if n > 1:
        bad = np.less(xs[:, 1:], xs[:, :-1])
        if bad.any():  # rare: values equal in all but the key's low bits
            rows = np.flatnonzero(bad.any(axis=1))
            fix = np.argsort(x[rows], axis=1)
            fix += (rows * n)[:, None]
            order[rows] = fix
            xs[rows] = x.ravel()[fix]


def _transpose(x: np.ndarray) -> np.ndarray:
    """C-contiguous x.T for x (B, n), copied in blocks of rows (cache-friendlier than one strided copy).

    A block of ≈ 4096 elements (32 KiB of float64/int64, one L1 data cache) is read and
    written while it is cached: ~1.7× faster than blocks of 512 rows at n = 64.
    """
    B, n = x.shape
    out = np.empty((n, B), dtype=x.dtype)
    step = max(8, 4096 // max(n, 1))
    for s in range(0, B, step):
        np.copyto(out[:, s : s + step], x[s : s + step].T)
    return out


def sort_cols(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sort each row of x (B, n), laid out transposed: (flat_t, gt) with gt = x.ravel()[flat_t].

    flat_t int64 (n, B) and gt float (n, B) are C-contiguous and gt[:, b] is row b sorted
    ascending (ties in any order). In this layout a running sum over ranks is n − 1
    vector adds of B contiguous values (:func:`cumsum_down`) instead of numpy's slow
    accumulate along short rows. Undo with ``out.ravel()[flat_t] = yt``.
    """
    B, n = x.shape
    flat_t = packed_order(x, transposed=True)
    if flat_t is None:
        order = np.argsort(x, axis=1)
        order += np.arange(0, B * n, n)[:, None]
        flat_t = _transpose(order)
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
    """In-place running sum down axis 0 of x (m, B): x[j] = x[j − 1] + x[j], in row order; returns x.

    The same additions in the same order as ``np.cumsum(x, axis=0)`` (so bit-identical),
    but for wide x as m − 1 contiguous vector adds, ~20× faster than numpy's accumulate
    (which walks the B columns one strided element at a time). A reversed view x[::-1]
    gives suffix sums.
    """
    m, B = x.shape
    if B < 128:  # narrow: the Python loop's per-row overhead would dominate
        return np.cumsum(x, axis=0, out=x)
    prev = x[0]
    for j in range(1, m):
        row = x[j]
        np.add(prev, row, out=row)
        prev = row
    return x


def unsort_rows(flat: np.ndarray, ys: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Inverse of :func:`sort_rows`: out.ravel()[flat] = ys.ravel(); float/int (B, n).

    ``out`` (C-contiguous, same shape and dtype, not ``ys``) may be a buffer the
    caller no longer needs, e.g. the sorted input.
    """
    if out is None:
        out = np.empty_like(ys)
    out.ravel()[flat] = ys.ravel()
    return out
