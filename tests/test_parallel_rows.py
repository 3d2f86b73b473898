"""Row-block threading of the sort-based advantage estimators (passlens.advantages._parallel)."""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading

import numpy as np
import pytest

from passlens.advantages import _parallel, advantage, get_num_threads, set_num_threads

# Estimators whose kernel runs on row blocks, with the inputs they read.
CASES = [
    ("pkpo", {"k": 3, "variant": "s"}),
    ("pkpo", {"k": 3, "variant": "loo"}),
    ("pkpo", {"k": 3, "variant": "loo-1"}),
    ("pkpo", {"k": 1, "variant": "s"}),
    ("unlikeliness", {"beta": 0.25}),
]


@pytest.fixture
def threads_restored():
    """Restore the thread count and the per-thread minimum after a test changes them."""
    saved, saved_min = get_num_threads(), _parallel.MIN_PARALLEL
    yield
    set_num_threads(saved)
    _parallel.MIN_PARALLEL = saved_min


def _batch(rng: np.random.Generator, B: int, n: int) -> dict[str, np.ndarray]:
    # Ties, negatives and −0.0 in the rewards; tied log-probabilities (identical samples).
    r = np.round(rng.normal(size=(B, n)), 1)
    r[0] = 0.0
    r[1, ::2] = -0.0
    lp = np.round(rng.normal(-10.0, 3.0, size=(B, n)), 1)
    return {"rewards": r, "logprobs": lp}


@pytest.mark.parametrize("name, params", CASES)
def test_results_bit_identical_for_any_thread_count(name, params, threads_restored):
    rng = np.random.default_rng(7)
    batch = _batch(rng, 37, 6)  # 37 rows: blocks of unequal size
    _parallel.MIN_PARALLEL = 1  # split even this small batch
    outs = []
    for t in (1, 2, 3, 5):
        set_num_threads(t)
        assert len(_parallel.row_blocks(37, 6)) == t
        outs.append(advantage(name, batch["rewards"], logprobs=batch["logprobs"], **params))
    for out in outs[1:]:
        assert np.array_equal(out, outs[0])


@pytest.mark.parametrize("name, params", CASES)
def test_non_contiguous_input(name, params, threads_restored):
    """Fortran-ordered and strided inputs give the C-ordered result (the kernels scatter through ravel())."""
    rng = np.random.default_rng(3)
    batch = _batch(rng, 20, 5)
    _parallel.MIN_PARALLEL = 1
    set_num_threads(2)
    want = advantage(name, batch["rewards"], logprobs=batch["logprobs"], **params)
    f_r = np.asfortranarray(batch["rewards"])
    f_lp = np.asfortranarray(batch["logprobs"])
    assert np.array_equal(advantage(name, f_r, logprobs=f_lp, **params), want)
    wide = np.zeros((20, 10))
    wide[:, ::2] = batch["rewards"]
    assert np.array_equal(advantage(name, wide[:, ::2], logprobs=batch["logprobs"], **params), want)


def test_row_blocks_cover_the_batch(threads_restored):
    set_num_threads(4)
    _parallel.MIN_PARALLEL = 1 << 16
    assert _parallel.row_blocks(4096, 64) == [slice(0, 1024), slice(1024, 2048), slice(2048, 3072), slice(3072, 4096)]
    assert _parallel.row_blocks(1024, 64) == [slice(0, 1024)]  # 2¹⁶ elements: one thread's worth
    assert _parallel.row_blocks(2048, 64) == [slice(0, 1024), slice(1024, 2048)]
    _parallel.MIN_PARALLEL = 1
    assert _parallel.row_blocks(3, 5) == [slice(0, 1), slice(1, 2), slice(2, 3)]  # never more blocks than rows
    set_num_threads(1)
    assert _parallel.row_blocks(10**6, 64) == [slice(0, 10**6)]


def test_exception_in_a_block_is_raised_after_all_blocks_finish(threads_restored):
    _parallel.MIN_PARALLEL = 1
    set_num_threads(3)
    done = []
    lock = threading.Lock()

    def fn(rows: slice) -> None:
        if rows.start == 4:
            raise RuntimeError("block failed")
        with lock:
            done.append(rows.start)

    with pytest.raises(RuntimeError, match="block failed"):
        _parallel.run_row_blocks(fn, 12, 4)
    assert sorted(done) == [0, 8]


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_set_num_threads_rejects(bad, threads_restored):
    with pytest.raises(ValueError, match="threads must be an int ≥ 1"):
        set_num_threads(bad)


def test_env_var(monkeypatch, threads_restored):
    monkeypatch.setattr(_parallel, "_threads", None)
    monkeypatch.setenv("PASSLENS_NUM_THREADS", "3")
    assert get_num_threads() == 3
    monkeypatch.setattr(_parallel, "_threads", None)
    monkeypatch.setenv("PASSLENS_NUM_THREADS", "zero")
    with pytest.raises(ValueError, match="PASSLENS_NUM_THREADS"):
        get_num_threads()
    monkeypatch.setattr(_parallel, "_threads", None)
    monkeypatch.delenv("PASSLENS_NUM_THREADS")
    assert 1 <= get_num_threads() <= _parallel.MAX_DEFAULT_THREADS


def _child(q) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(1)
    r = rng.random((64, 8))
    q.put(np.asarray(advantage("pkpo", r, k=2, variant="s")).tolist())


@pytest.mark.skipif(sys.platform != "linux" or not hasattr(os, "fork"), reason="fork start method (Linux)")
def test_forked_child_gets_a_fresh_pool(threads_restored):
    """A child forked after the pool started must not wait on the parent's (absent) worker threads."""
    _parallel.MIN_PARALLEL = 1
    set_num_threads(2)
    rng = np.random.default_rng(1)
    want = np.asarray(advantage("pkpo", rng.random((64, 8)), k=2, variant="s"))  # starts the pool here
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_child, args=(q,))
    p.start()
    got = np.array(q.get(timeout=60))
    p.join(timeout=60)
    assert p.exitcode == 0
    assert np.array_equal(got, want)


@pytest.mark.parametrize("variant", ["rloo", "loo-1", "s"])
def test_coverage_same_classes_from_wide_ids(variant, threads_restored):
    """Classes from 64-bit ids (hashed sort, on row blocks) give what the same classes as ids 0..K give."""
    from passlens.advantages import coverage, coverage_at_k

    rng = np.random.default_rng(11)
    B, n = 31, 9
    small = rng.integers(0, 4, size=(B, n))
    small[0] = 2  # one class
    r = (rng.random((B, n)) < 0.6).astype(float)
    vocab = rng.integers(-(2**62), 2**62, size=(B, 4))  # a different id for each class of each group
    vocab[1] = [-1, 0, 2**63 - 1, -(2**63)]  # extreme ids
    wide = np.take_along_axis(vocab, small, axis=1)
    want = coverage(r, small, 3, variant=variant)
    _parallel.MIN_PARALLEL = 1
    for t in (1, 3):
        set_num_threads(t)
        np.testing.assert_allclose(coverage(r, wide, 3, variant=variant), want, rtol=0, atol=1e-12)
        np.testing.assert_allclose(coverage_at_k(r, wide, 3), coverage_at_k(r, small, 3), rtol=0, atol=1e-12)


def test_concurrent_callers_and_a_growing_pool(threads_restored):
    """Estimator calls from several user threads at once, while the thread count changes, all succeed."""
    from concurrent.futures import ThreadPoolExecutor

    _parallel.MIN_PARALLEL = 1
    rng = np.random.default_rng(2)
    r = rng.normal(size=(40, 6))
    set_num_threads(1)
    want = advantage("pkpo", r, k=2, variant="loo")

    def call(i: int) -> np.ndarray:
        if i % 7 == 0:
            set_num_threads(2 + i % 3)  # grows the pool while others use it
        return advantage("pkpo", r, k=2, variant="loo")

    with ThreadPoolExecutor(4) as ex:
        outs = list(ex.map(call, range(40)))
    assert all(np.array_equal(o, want) for o in outs)


def test_env_var_one_and_the_cpu_count_fallbacks(monkeypatch, threads_restored):
    """PASSLENS_NUM_THREADS=1 is valid; without it, the CPUs this process may use (at least 1, at most
    MAX_DEFAULT_THREADS), from os.cpu_count() where sched_getaffinity does not exist (None read as 1)."""
    monkeypatch.setattr(_parallel, "_threads", None)
    monkeypatch.setenv("PASSLENS_NUM_THREADS", "1")
    assert get_num_threads() == 1
    monkeypatch.delenv("PASSLENS_NUM_THREADS")
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2}, raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 64)  # the affinity mask wins over the machine's count
    monkeypatch.setattr(_parallel, "_threads", None)
    assert get_num_threads() == 3
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    for cpus, want in [(None, 1), (1, 1), (3, 3), (64, _parallel.MAX_DEFAULT_THREADS)]:
        monkeypatch.setattr(os, "cpu_count", lambda cpus=cpus: cpus)
        monkeypatch.setattr(_parallel, "_threads", None)
        assert get_num_threads() == want, cpus


def test_pool_is_kept_grown_only_when_needed_and_names_its_threads(threads_restored):
    _parallel._forget_pool()  # (the at-fork reset) a fresh, pool-less state
    assert _parallel._pool is None and _parallel._pool_size == 0
    _parallel.MIN_PARALLEL = 1
    set_num_threads(3)
    _parallel.run_row_blocks(lambda rows: None, 12, 4)  # 3 blocks: the caller's thread and 2 workers
    pool = _parallel._pool
    assert _parallel._pool_size == 2
    assert _parallel._get_pool(2) is pool and _parallel._get_pool(1) is pool  # kept while large enough
    assert pool.submit(lambda: threading.current_thread().name).result().startswith("passlens_")
    bigger = _parallel._get_pool(3)
    assert bigger is not pool and _parallel._pool is bigger and _parallel._pool_size == 3
    lock = _parallel._lock
    _parallel._forget_pool()
    assert _parallel._pool is None and _parallel._lock is not lock  # a lock a forked child can take
    _parallel.run_row_blocks(lambda rows: None, 12, 4)  # a new pool after the reset
    assert _parallel._pool is not None and _parallel._pool is not bigger
