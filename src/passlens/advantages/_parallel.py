"""Row-block threading for the estimators that sort each group.

Groups (rows of a (B, n) batch) are independent, so an estimator's per-row kernel can
run on disjoint blocks of rows at once: numpy releases the GIL inside its sorts,
gathers and ufuncs. Every row is computed by the same operations in the same order
whatever the blocks, so results are bit-identical for any number of threads.

Only large batches are split (≥ :data:`MIN_PARALLEL` elements per thread): below that,
handing work to a second thread costs more than it saves. The calling thread runs the
first block itself; the others go to a small module-level pool, created on first use
and dropped in a forked child (its worker threads do not survive ``fork``).

The thread count is ``PASSLENS_NUM_THREADS`` if set, else the CPUs this process may
run on, capped at :data:`MAX_DEFAULT_THREADS` (the kernels take milliseconds; more
threads add hand-off cost faster than they remove work). :func:`set_num_threads`
changes it at run time (1 = never use the pool).
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

__all__ = ["get_num_threads", "set_num_threads", "row_blocks", "run_row_blocks", "MIN_PARALLEL"]

#: Fewest batch elements (B·n) per thread worth a hand-off (measured: a 4096 × 64 batch
#: on 2 threads runs pkpo's sorted path ≈ 1.5× faster; 1024 × 64 gains little).
MIN_PARALLEL = 1 << 16
#: Default cap on the thread count.
MAX_DEFAULT_THREADS = 4

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_pool_size = 0
_threads: int | None = None  # None: not resolved yet (env var / CPU count)


def _default_threads() -> int:
    env = os.environ.get("PASSLENS_NUM_THREADS", "").strip()
    if env:
        t = int(env) if env.isdigit() else 0  # digits only: no sign, no "1.5"
        if t < 1:
            raise ValueError(f"PASSLENS_NUM_THREADS must be a positive integer, got {env!r}")
        return t
    try:
        cpus = len(os.sched_getaffinity(0))  # the CPUs this process may use (Linux)
    except AttributeError:  # macOS, Windows
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, MAX_DEFAULT_THREADS))


def get_num_threads() -> int:
    """Threads the sort-based advantage estimators may use for one call (≥ 1)."""
    global _threads
    if _threads is None:
        _threads = _default_threads()
    return _threads


def set_num_threads(threads: int) -> None:
    """Set the threads the sort-based advantage estimators may use (1 = single-threaded).

    Args:
      threads: int ≥ 1. Results do not depend on it, only the wall time does.
    """
    global _threads
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"set_num_threads: threads must be an int ≥ 1, got {threads!r}")
    _threads = threads


def row_blocks(B: int, n: int) -> list[slice]:
    """Contiguous row ranges covering 0..B, one per thread that pays for itself (see module docstring)."""
    t = max(1, min(get_num_threads(), (B * n) // MIN_PARALLEL, B))
    bounds = [B * i // t for i in range(t + 1)]
    return [slice(bounds[i], bounds[i + 1]) for i in range(t)]


def _get_pool(workers: int) -> ThreadPoolExecutor:
    global _pool, _pool_size
    with _lock:
        if _pool is None or _pool_size < workers:
            # A larger pool replaces the old one without shutting it down: a call running on
            # another thread may still be submitting to it; unreferenced, its workers exit.
            _pool, _pool_size = ThreadPoolExecutor(workers, thread_name_prefix="passlens"), workers
        return _pool


def _forget_pool() -> None:
    """In a forked child: the parent's worker threads do not exist here."""
    global _pool, _pool_size, _lock
    _pool, _pool_size, _lock = None, 0, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def run_row_blocks(fn: Callable[[slice], None], B: int, n: int) -> None:
    """Call ``fn(rows)`` for each block of :func:`row_blocks`, the blocks at once on threads.

    ``fn`` must only touch its own rows of any shared array. The first block runs on the
    calling thread; an exception from any block is re-raised here after all have finished.
    """
    blocks = row_blocks(B, n)
    if len(blocks) == 1:
        fn(blocks[0])
        return
    pool = _get_pool(len(blocks) - 1)
    futures = [pool.submit(fn, rows) for rows in blocks[1:]]
    try:
        fn(blocks[0])
    finally:
        for f in futures:  # wait for every block before returning (or raising)
            f.exception()
    for f in futures:
        f.result()
