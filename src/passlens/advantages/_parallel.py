"""Row-block threading for the estimators that sort each group by value (``pkpo``, ``unlikeliness``).

Groups (rows of a (B, n) batch) are independent and numpy releases the GIL in its sorts, gathers
and ufuncs, so disjoint blocks of ≥ :data:`MIN_PARALLEL` elements run at once, each row by the same
operations whatever the blocks: results are bit-identical for any thread count. The count is
``PASSLENS_NUM_THREADS``, else the CPUs available (at most 4); :func:`set_num_threads` changes it.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

__all__ = ["get_num_threads", "set_num_threads", "row_blocks", "run_row_blocks", "MIN_PARALLEL"]

MIN_PARALLEL = 1 << 16  #: fewest batch elements (B·n) per thread worth a hand-off
MAX_DEFAULT_THREADS = 4  #: default cap (the kernels take milliseconds: more threads add hand-off cost)

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_pool_size = 0
_threads: int | None = None  # None: not resolved yet (env var / CPU count)


def get_num_threads() -> int:
    """Threads the sort-based advantage estimators may use for one call (≥ 1)."""
    global _threads
    if _threads is None:
        env = os.environ.get("PASSLENS_NUM_THREADS", "").strip()
        if env and not (env.isdigit() and int(env) >= 1):  # digits only: no sign, no "1.5"
            raise ValueError(f"PASSLENS_NUM_THREADS must be a positive integer, got {env!r}")
        try:
            cpus = len(os.sched_getaffinity(0))  # the CPUs this process may use (Linux)
        except AttributeError:  # macOS, Windows
            cpus = os.cpu_count() or 1
        _threads = int(env) if env else max(1, min(cpus, MAX_DEFAULT_THREADS))
    return _threads


def set_num_threads(threads: int) -> None:
    """Set the threads the sort-based advantage estimators may use (int ≥ 1; 1 = single-threaded).
    Results do not depend on it, only the wall time does."""
    global _threads
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"set_num_threads: threads must be an int ≥ 1, got {threads!r}")
    _threads = threads


def row_blocks(B: int, n: int) -> list[slice]:
    """Contiguous row ranges covering 0..B, one per thread that pays for itself."""
    t = max(1, min(get_num_threads(), (B * n) // MIN_PARALLEL, B))
    bounds = [B * i // t for i in range(t + 1)]
    return [slice(bounds[i], bounds[i + 1]) for i in range(t)]


def _get_pool(workers: int) -> ThreadPoolExecutor:
    """The module's pool, grown to ``workers`` threads. Kept between calls: a fresh thread's first
    multi-megabyte arrays come from a fresh malloc arena and pay its page faults (2× slower, measured)."""
    global _pool, _pool_size
    with _lock:  # a larger pool replaces the old one, which finishes its work and exits unreferenced
        if _pool is None or _pool_size < workers:
            _pool, _pool_size = ThreadPoolExecutor(workers, thread_name_prefix="passlens"), workers
        return _pool


def _forget_pool() -> None:  # in a forked child: the parent's worker threads do not exist here
    global _pool, _pool_size, _lock
    _pool, _pool_size, _lock = None, 0, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def run_row_blocks(fn: Callable[[slice], None], B: int, n: int) -> None:
    """Call ``fn(rows)`` for each block of :func:`row_blocks`, at once: the first on the calling thread,
    the others on the pool. ``fn`` must only touch its own rows of a shared array; an exception
    from any block is re-raised after all have finished."""
    blocks = row_blocks(B, n)
    pool = _get_pool(len(blocks) - 1) if len(blocks) > 1 else None
    futures = [pool.submit(fn, rows) for rows in blocks[1:]] if pool else []
    try:
        fn(blocks[0])
    finally:
        for f in futures:  # wait for every block before returning (or raising)
            f.exception()
    for f in futures:
        f.result()
