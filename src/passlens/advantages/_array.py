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
from typing import Any, Callable

import numpy as np

__all__ = [
    "is_torch",
    "as_rewards",
    "as_answers",
    "as_logprobs",
    "check_k",
    "require_binary",
    "require_min_n",
    "Restore",
    "sort_rows",
    "unsort_rows",
]

#: Puts a float64 (B, n) numpy result back into the caller's array type.
Restore = Callable[[np.ndarray], Any]


def is_torch(x: object) -> bool:
    """True for a ``torch.Tensor`` (without importing torch)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def _numpy_twin(torch_dtype: Any) -> np.dtype | None:
    """The numpy dtype with the same values as a torch float dtype (None for bfloat16)."""
    torch = sys.modules["torch"]
    return {torch.float64: np.dtype(np.float64), torch.float32: np.dtype(np.float32),
            torch.float16: np.dtype(np.float16)}.get(torch_dtype)


def _to_numpy(x: object) -> np.ndarray:
    """numpy view/copy of ``x`` (a tensor is detached and moved to the CPU first).

    Dtype casts are left to numpy: torch's CPU cast kernels are multithreaded, and
    on a busy machine waking their threads costs milliseconds for a (4096, 64) batch.
    """
    if is_torch(x):
        t = x.detach().cpu()  # type: ignore[union-attr]
        if t.dtype.is_floating_point and _numpy_twin(t.dtype) is None:
            t = t.float()  # bfloat16 has no numpy twin; float32 holds it exactly
        return np.asarray(t.numpy())
    return np.asarray(x)


def _restore_for(x: object) -> Restore:
    """A function that casts a float64 numpy result to ``x``'s type, dtype and device."""
    if is_torch(x):
        torch = sys.modules["torch"]
        dtype = x.dtype if x.dtype.is_floating_point else torch.get_default_dtype()  # type: ignore[union-attr]
        device = x.device  # type: ignore[union-attr]
        twin = _numpy_twin(dtype)
        if twin is not None:  # cast in numpy (single-threaded), then wrap without copying
            return lambda out: torch.from_numpy(np.ascontiguousarray(out, dtype=twin)).to(device=device)
        return lambda out: torch.from_numpy(np.ascontiguousarray(out)).to(device=device, dtype=dtype)
    arr = np.asarray(x)
    dtype_np = arr.dtype if np.issubdtype(arr.dtype, np.floating) else np.dtype(np.float64)
    return lambda out: out.astype(dtype_np, copy=False)


def _where(b: int, i: int) -> str:
    return f"group {b} (row {b}), sample {i}"


def as_rewards(rewards: object) -> tuple[np.ndarray, Restore]:
    """Validate a (B, n) batch of rewards; return it as float64 numpy and a restorer.

    Args:
      rewards: float (B, n), numpy array, torch tensor or nested lists; B groups
        (prompts) of n samples each. Integer and boolean rewards are accepted.

    Returns:
      (r, restore): r float64 (B, n) numpy; ``restore(out)`` casts a float64
      (B, n) result to the input's type and dtype (float64 for non-float input;
      torch's default dtype for a non-float tensor) and device.

    Raises:
      ValueError: not 2-D, empty, non-numeric, or a NaN/inf reward (named by group and sample).
    """
    raw = _to_numpy(rewards)
    if raw.ndim != 2:
        raise ValueError(f"rewards must be a 2-D array (B groups, n samples), got shape {raw.shape}")
    if raw.shape[0] == 0 or raw.shape[1] == 0:
        raise ValueError(f"rewards must hold at least one group of at least one sample, got shape {raw.shape}")
    if raw.dtype.kind not in "biuf":
        raise ValueError(f"rewards must be numeric, got dtype {raw.dtype}")
    r = raw.astype(np.float64)
    bad = ~np.isfinite(r)
    if bad.any():
        b, i = (int(v) for v in np.argwhere(bad)[0])
        raise ValueError(f"rewards must be finite: {_where(b, i)} has reward {r[b, i]!r}")
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
    """Validate sequence log-probabilities: finite float (B, n), same shape as the rewards."""
    if logprobs is None:
        raise ValueError(f"{who} needs logprobs= (float (B, n) sequence log-probabilities)")
    lp = _to_numpy(logprobs)
    if lp.shape != shape:
        raise ValueError(f"logprobs has shape {lp.shape}, rewards has shape {shape}; they must match")
    if lp.dtype.kind not in "iuf":
        raise ValueError(f"logprobs must be numeric, got dtype {lp.dtype}")
    lp = lp.astype(np.float64)
    bad = ~np.isfinite(lp)
    if bad.any():
        b, i = (int(v) for v in np.argwhere(bad)[0])
        raise ValueError(f"logprobs must be finite: {_where(b, i)} has logprob {lp[b, i]!r}")
    return lp


def check_k(k: object, n: int, who: str) -> int:
    """Validate a budget k: an int with 1 ≤ k ≤ n (no unbiased estimate exists for k > n)."""
    if isinstance(k, (bool, np.bool_)):
        raise ValueError(f"{who}: k must be an integer, got {k!r}")
    try:
        kk = operator.index(k)  # type: ignore[arg-type]
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
        raise ValueError(f"{who} needs binary rewards in {{0, 1}}: {_where(b, i)} has reward {r[b, i]!r}")


def require_min_n(r: np.ndarray, min_n: int, who: str) -> None:
    """Raise unless each group has at least ``min_n`` samples."""
    if r.shape[1] < min_n:
        raise ValueError(f"{who} needs n ≥ {min_n} samples per group, got n={r.shape[1]}")


def sort_rows(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sort each row of x (B, n); return (flat, xs) with xs = x.ravel()[flat].reshape(B, n).

    ``flat`` (B·n,) holds flat indices of the per-row argsort, so that gathering and
    scattering are 1-D fancy indexing (several times faster than take_along_axis /
    put_along_axis on many short rows).
    """
    B, n = x.shape
    flat = np.argsort(x, axis=1)
    flat += np.arange(0, B * n, n)[:, None]
    flat = flat.ravel()
    return flat, x.ravel()[flat].reshape(B, n)


def unsort_rows(flat: np.ndarray, ys: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Inverse of :func:`sort_rows`: out.ravel()[flat] = ys.ravel(); float/int (B, n).

    ``out`` (C-contiguous, same shape and dtype, not ``ys``) may be a buffer the
    caller no longer needs, e.g. the sorted input.
    """
    if out is None:
        out = np.empty_like(ys)
    out.ravel()[flat] = ys.ravel()
    return out
