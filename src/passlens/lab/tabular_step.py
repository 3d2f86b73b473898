"""The tabular exact SGD step, fused over the sparse correct set and sharded over threads.

For a tabular softmax policy, SGD on the logits z ← z + η G is the multiplicative
update π ← π ⊙ exp(η G) / Σ (softmax(z + ηG) = softmax(z) ⊙ exp(ηG) / Σ). Every exact
target of :mod:`passlens.lab.objectives` has a gradient (★) G = π ⊙ (w − Σ_a π_a w_a)
whose weight w is non-zero only on the correct classes V, a few of M per problem. So
G is a per-row scalar times π on the wrong classes and needs the correct entries only
at the few (row, class) pairs of V:

    kind                wrong class b                 correct class a
    pass@1 / pass@k     −c(p) p π_b                   c(p) q π_a                c = 1, α_k(p), 1/√(pq) (arcsin)
    coverage@k          −m π_b                        π_a (w_a − m)             w_a = k (1 − π_a)^{k−1},  m = Σ_{a∈V} π_a w_a

with p = Σ_{a∈V} π_a and q = Σ_{b∉V} π_b (the wrong mass summed directly, not 1 − p:
it keeps its digits when p is within 1e-8 of 1). One step is then a gather and a
scatter over the correct entries plus five passes over (P, M) — a broadcast multiply,
``exp``, a multiply, a row sum and a divide; a sixth sums q for the pass@1 / pass@k / arcsin
family — instead of the ten of the dense path.
``exp`` in float64 dominates (numpy has no vectorized float64 ``exp`` on AVX2), so the
rows are split into shards processed by a thread pool (numpy releases the GIL inside
ufunc loops); every row is computed by the same operations in the same order
whatever the shard, so the result does not depend on the number of threads.
Tests: ``tests/test_lab.py`` checks it against the dense logit-space update.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Sequence

import numpy as np

from .objectives import correct_entries, row_sums

__all__ = ["TabularExactStep", "FUSED_KINDS", "auto_threads"]

#: exact kinds the fused step implements (entropy bonuses take the dense path).
FUSED_KINDS: tuple[str, ...] = ("pass@1", "pass@k", "arcsin", "coverage")

#: below this many (problem, answer) entries per shard a second thread costs more than it saves.
_MIN_SHARD = 1 << 16


def auto_threads(threads: int, elements: int, workers: int = 1) -> int:
    """Threads for a fused step: ``threads`` if ≥ 1, else the CPUs per worker process, at least one
    shard of :data:`_MIN_SHARD` entries each."""
    if threads >= 1:
        return int(threads)
    per_worker = max(1, (os.cpu_count() or 1) // max(1, workers))
    return max(1, min(per_worker, elements // _MIN_SHARD))


class _Shard:
    """Rows lo:hi of the stacked (R, M) policy, with the flat indices of their correct entries."""

    def __init__(self, correct: np.ndarray, wrong: np.ndarray, lo: int, hi: int, dtype: np.dtype) -> None:
        M = correct.shape[1]
        self.rows_slice = slice(lo, hi)
        self.n_rows = hi - lo
        self.index, self.row_of = correct_entries(correct[lo:hi])  # (K,) flat index and shard row of each entry of V
        self.wrong = wrong[lo:hi]  # (R_s, M) float mask 1 − V
        self.buf = np.empty((hi - lo, M), dtype=dtype)  # reused exponent / factor buffer

    def step(self, pi: np.ndarray, kind: str, k: int | None, lr: float) -> None:
        x = pi[self.rows_slice]  # (R_s, M), a view: updated in place
        buf, idx, row_of = self.buf, self.index, self.row_of
        pc = x.reshape(-1)[idx].astype(np.float64)  # (K,) π on the correct entries
        if kind == "coverage":
            assert k is not None
            w = k * np.clip(1.0 - pc, 0.0, 1.0) ** (k - 1)  # (K,) coverage weight k(1 − π_a)^{k−1}
            m = row_sums(row_of, pc * w, (self.n_rows,))  # (R_s,) Σ_{a∈V} π_a w_a
            np.multiply(x, (-lr * m).astype(x.dtype)[:, None], out=buf)  # wrong classes: −η m π_b
            buf.reshape(-1)[idx] = lr * pc * (w - m[row_of])  # correct: η π_a (w_a − m)
        else:
            p = row_sums(row_of, pc, (self.n_rows,))  # (R_s,)
            q = np.einsum("rm,rm->r", x, self.wrong).astype(np.float64)  # (R_s,) wrong mass, summed directly
            if kind == "pass@1":
                c = np.ones_like(p)
            elif kind == "pass@k":
                assert k is not None
                c = k * np.clip(q, 0.0, 1.0) ** (k - 1)  # α_k(p)
            else:  # arcsin: F'(p) = 1/√(p(1−p)) is infinite at {0, 1}, where π(V − p)F'(p) → 0; clip it away
                c = 1.0 / np.sqrt(np.clip(p, 1e-300, 1.0) * np.clip(q, 1e-300, 1.0))
            np.multiply(x, (-lr * c * p).astype(x.dtype)[:, None], out=buf)  # wrong classes: −η c p π_b
            buf.reshape(-1)[idx] = (lr * c * q)[row_of] * pc  # correct: η c q π_a
        np.exp(buf, out=buf)
        x *= buf
        x /= x.sum(axis=-1, keepdims=True)


class TabularExactStep:
    """π ← π ⊙ exp(η G) / Σ for an exact target, in place, over rows sharded across threads.

    Args:
      kind: one of :data:`FUSED_KINDS`.
      k: budget of pass@k / coverage@k (None otherwise).
      correct: bool (..., M), V; leading axes are flattened to rows.
      lr: step size η.
      dtype: dtype of the policy array the step will update.
      threads: worker threads (1: no pool).

    The caller guarantees |η G| cannot overflow ``exp`` (|G| ≤ k for pass@k and
    coverage@k, ≤ 1 for pass@1 and arcsin).
    """

    def __init__(self, kind: str, k: int | None, correct: np.ndarray, lr: float, *, dtype: object = np.float64,
                 threads: int = 1) -> None:
        if kind not in FUSED_KINDS:
            raise ValueError(f"fused step: unknown kind {kind!r}; valid: {', '.join(FUSED_KINDS)}")
        v = np.asarray(correct, dtype=bool)
        M = v.shape[-1]
        v = v.reshape(-1, M)
        R = v.shape[0]
        dt = np.dtype(dtype)  # type: ignore[call-overload]  # any dtype-like; numpy rejects others
        wrong = (~v).astype(dt)
        t = max(1, min(int(threads), R))
        bounds: Sequence[int] = [R * i // t for i in range(t + 1)]
        self.kind, self.k, self.lr = kind, k, float(lr)
        self.shards = [_Shard(v, wrong, bounds[i], bounds[i + 1], dt) for i in range(t)]
        self._pool = ThreadPoolExecutor(t) if t > 1 else None

    def step(self, pi: np.ndarray, steps: int = 1) -> None:
        """Apply ``steps`` updates to π (..., M), C-contiguous, in place.

        Rows never interact, so each shard runs all its steps without waiting for the others
        (one synchronization per call instead of one per step).
        """
        flat = pi.reshape(-1, pi.shape[-1])
        if not np.shares_memory(flat, pi):
            raise ValueError("fused step: pi must be C-contiguous (updated in place)")
        if self._pool is None:
            self._run(self.shards[0], flat, steps)
            return
        for f in [self._pool.submit(self._run, s, flat, steps) for s in self.shards]:
            f.result()

    def _run(self, shard: _Shard, flat: np.ndarray, steps: int) -> None:
        for _ in range(int(steps)):
            shard.step(flat, self.kind, self.k, self.lr)

    def close(self) -> None:
        """Stop the worker threads."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def __enter__(self) -> "TabularExactStep":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
