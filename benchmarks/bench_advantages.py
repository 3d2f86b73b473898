"""Benchmark: every registry advantage estimator on B groups × n samples, numpy and torch (CPU).

Run:  .venv/bin/python benchmarks/bench_advantages.py [--groups 4096] [--n 64] [--k 8] [--repeats 25]
      .venv/bin/python benchmarks/bench_advantages.py --variance     # the variance tables instead
      .venv/bin/python benchmarks/bench_advantages.py --stored       # novelty with ~1.3 M stored pairs

Prints a markdown table (median and minimum wall time per call, milliseconds) for
numpy float64 input and torch float32 CPU input (the torch path converts to
numpy float64 and back, so its cost is the numpy cost plus two copies).

On a VM, fresh multi-megabyte numpy temporaries can cost more in first-touch page
faults than in arithmetic; glibc's ``MALLOC_MMAP_THRESHOLD_`` / ``MALLOC_TRIM_THRESHOLD_``
(set before starting Python) keep freed buffers for reuse. RESULTS.md reports both. Binary
rewards are Bernoulli(p) with p ~ U(0, 1) per group; "continuous" rewards are
U(0, 1). Answer ids are classes 0..7, and for the estimators that read answers also the same
classes as 64-bit ids ("hashed ids", what ``passlens train`` passes: hashes of answer strings).
Log-probabilities are N(−20, 5) per sample, and for ``unlikeliness`` also tied within each
answer class ("tied logprobs": repeated completions have equal log-probabilities).
The budget is ≤ 5 ms per numpy call at B = 4096, n = 64, and ≤ 10 ms for ``novelty`` and
``coverage`` on hashed answer ids (also for ``novelty`` with many stored pairs: ``--stored``).

The host's speed drifts (other tenants), so each estimator's numpy calls alternate, in blocks
of five, with calls of a fixed reference — ``rloo`` on the binary rewards, a few passes over the batch —
and the table also gives the ratio of the two medians: the estimator's cost in units of the
reference, which does not move with the host's load the way milliseconds do. The estimators that
sort each group by value (``pkpo`` on non-binary rewards, ``unlikeliness``) run large batches on
``passlens.advantages.get_num_threads()`` threads (set with ``PASSLENS_NUM_THREADS``); every row
is also timed on one thread.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any, Callable

import numpy as np
import torch

from passlens.advantages import REGISTRY, AnswerCounts, advantage, coverage, format_spec, get_num_threads, set_num_threads
from passlens.lab.variance import toy_variance_table, variance_table

FLOOR_MS = 5.0
HASHED_BUDGET_MS = 10.0  # novelty and coverage on 64-bit hashed answer ids


def _paired_times_ms(fn: Callable[[], Any], ref: Callable[[], Any], repeats: int, block: int = 5) -> tuple[float, float, float]:
    """(median, min) wall time of ``fn`` in ms and median(fn)/median(ref).

    Blocks of ``block`` timed calls of fn and of ref alternate (warm caches within a block, the
    host's drift shared by both), ``repeats`` calls of each in all, after one warm-up call each.
    """
    fn()
    ref()
    t_fn: list[float] = []
    t_ref: list[float] = []
    while len(t_fn) < repeats:
        for f, acc in ((fn, t_fn), (ref, t_ref)):
            for _ in range(min(block, repeats - len(acc))):
                t0 = time.perf_counter()
                f()
                acc.append(time.perf_counter() - t0)
    med = statistics.median(t_fn)
    return 1e3 * med, 1e3 * min(t_fn), med / statistics.median(t_ref)


def _times_ms(fn: Callable[[], Any], repeats: int) -> tuple[float, float]:
    """(median, min) wall time of ``repeats`` calls in ms, after one warm-up call."""
    fn()  # warm-up (memoised tables, allocator)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times), 1e3 * min(times)


def _configs(k: int) -> list[tuple[str, dict[str, Any], str, str]]:
    """(name, params, reward kind, answer kind) rows: every registry entry, PKPO/RLOO also on
    continuous rewards, the answer-based ones also on hashed (64-bit) answer ids."""
    rows: list[tuple[str, dict[str, Any], str, str]] = []
    for name, spec in REGISTRY.items():
        takes_k = any(p.name == "k" for p in spec.params)
        base = {"k": k} if takes_k else {}
        variants = [p for p in spec.params if p.name == "variant"]
        param_sets = [dict(base, variant=v) for v in variants[0].choices] if variants else [base]
        for params in param_sets:
            rows.append((name, params, "binary", "small"))
            if not spec.binary_only and name in ("pkpo", "rloo", "grpo", "best_minus_second", "unlikeliness"):
                rows.append((name, params, "continuous", "small"))
            if "answers" in spec.inputs and params.get("variant", "rloo") == "rloo":
                rows.append((name, params, "binary", "hashed"))
            if "logprobs" in spec.inputs:
                rows.append((name, params, "binary", "tied"))
    return rows


def variance_tables(draws: int = 20000) -> None:
    """Print the pass@k gradient-variance tables, PKPO's Fig. 4 toy and the coverage variants."""
    ps = [0.05, 0.1, 0.3, 0.5]
    for k, n in ((4, 16), (4, 64)):
        rows = variance_table(k, n, ps, draws=draws, seed=0)
        by = {(r.estimator, r.p): r for r in rows}
        print(f"\nk = {k}, n = {n} (trace variance; value row: Var ρ with PKPO Cor. 3 in brackets)\n")
        print("| estimator | " + " | ".join(f"p = {p}" for p in ps) + " |")
        print("|---|" + "---:|" * len(ps))
        for est in dict.fromkeys(r.estimator for r in rows):
            cells = []
            for p in ps:
                r = by[(est, p)]
                extra = f" ({r.closed_form:.3g})" if r.closed_form is not None else ""
                cells.append(f"{r.variance:.3g}{extra}")
            print(f"| `{est}` | " + " | ".join(cells) + " |")
    ns = [8, 16, 32, 64]
    rows_t = toy_variance_table(4, ns, draws=draws, seed=0)
    by_t = {(r.estimator, r.n): r.variance for r in rows_t}
    print("\nPKPO Fig. 4 toy, k = 4, θ = 1\n")
    print("| estimator | " + " | ".join(f"n = {n}" for n in ns) + " |")
    print("|---|" + "---:|" * len(ns))
    for est in dict.fromkeys(r.estimator for r in rows_t):
        print(f"| `{est}` | " + " | ".join(f"{by_t[(est, n)]:.3g}" if (est, n) in by_t else "—" for n in ns) + " |")

    # coverage@k variants: 5 answer classes, the first 3 correct; trace variance of the logit gradient.
    print("\ncoverage@k gradient variants (5 classes, first 3 correct)\n")
    print("| π | n, k | rloo | loo-1 | s |")
    print("|---|---|---:|---:|---:|")
    correct = np.array([1.0, 1.0, 1.0, 0.0, 0.0])
    rng = np.random.default_rng(0)
    for pi in ([0.05, 0.1, 0.05, 0.4, 0.4], [0.3, 0.3, 0.2, 0.1, 0.1], [0.02, 0.02, 0.02, 0.47, 0.47]):
        pi_a = np.array(pi)
        for n, k in ((16, 4), (64, 8)):
            y = rng.choice(5, size=(draws, n), p=pi_a)  # (D, n) answer classes
            score = np.eye(5)[y] - pi_a  # (D, n, 5): ∇ log π(y) for a tabular softmax
            cells = []
            for variant in ("rloo", "loo-1", "s"):
                a = np.asarray(coverage(correct[y], y, k, variant=variant))
                g = (a[:, :, None] * score).mean(axis=1)  # (D, 5)
                cells.append(f"{np.trace(np.cov(g.T)):.3g}")
            print(f"| {' '.join(f'{q:g}' for q in pi)} | {n}, {k} | " + " | ".join(cells) + " |")


def discounted_updates(B: int, n: int, steps: int = 40, repeats: int = 20) -> None:
    """Steady-state ``AnswerCounts(discount=0.9).update`` on a large table (O(batch) per update)."""
    rng = np.random.default_rng(0)
    state = AnswerCounts(discount=0.9)
    for s in range(steps):  # grow the table: new prompts every step
        state.update(list(range(s * B, (s + 1) * B)), rng.integers(0, 8, size=(B, n)))
    answers = rng.integers(0, 8, size=(B, n))
    print(f"AnswerCounts(discount=0.9): {len(state):,} stored pairs, {state._table.capacity:,} slots; "
          f"update of {B} groups × {n} stored answers, median of {repeats}\n")
    for label, ids in (("distinct prompts", list(range(B))), ("prompts repeated in pairs", [i // 2 for i in range(B)])):
        med, low = _times_ms(lambda ids=ids: state.update(ids, answers), repeats)
        print(f"  {label:26s} median {med:6.2f} ms, min {low:6.2f} ms")


def stored_pairs(B: int, n: int, steps: int = 40, repeats: int = 25) -> None:
    """``novelty`` on hashed answer ids after ``steps`` steps of B new prompts (8 answers each): the
    table holds ~steps·B·8 pairs. Two cases, each alternating with the rloo reference: the prompts
    of the last step again (every pair stored), and B new prompts every call (every pair inserted)."""
    rng = np.random.default_rng(0)
    r = (rng.random((B, n)) < rng.random((B, 1))).astype(np.float64)

    def hashed_batch() -> np.ndarray:  # 8 answer classes per group, as 64-bit ids
        return np.take_along_axis(rng.integers(-(2**62), 2**62, size=(B, 8)), rng.integers(0, 8, size=(B, n)), axis=1)

    state = AnswerCounts()
    for s in range(steps):
        ids, a = list(range(s * B, (s + 1) * B)), hashed_batch()
        state.update(ids, a)
    print(f"novelty on hashed ids, B = {B} × n = {n}: {len(state):,} stored pairs after {steps} steps "
          f"(table of {state._table.capacity:,} slots); median/min of {repeats} calls alternating with rloo\n")
    fresh = iter([(list(range((steps + 1 + c) * B, (steps + 2 + c) * B)), hashed_batch()) for c in range(repeats + 6)])

    def new_prompts() -> Any:
        ids_c, a_c = next(fresh)
        return advantage("novelty", r, answers=a_c, state=state, prompt_ids=ids_c)

    cases = (("prompts of the last step again", lambda: advantage("novelty", r, answers=a, state=state, prompt_ids=ids)),
             ("new prompts every call", new_prompts))
    for label, fn in cases:
        med, low, ratio = _paired_times_ms(fn, lambda: advantage("rloo", r), repeats)
        ok = "yes" if med <= HASHED_BUDGET_MS else "**no**"
        print(f"  {label:32s} median {med:6.2f} ms, min {low:6.2f} ms, × rloo {ratio:5.1f}, ≤ 10 ms: {ok}")
    print(f"\n  {len(state):,} stored pairs at the end")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--groups", type=int, default=4096)
    ap.add_argument("--n", type=int, default=64)
    ap.add_argument("--k", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=25)
    ap.add_argument("--variance", action="store_true", help="print the variance tables instead of timings")
    ap.add_argument("--discounted", action="store_true", help="time discounted AnswerCounts updates on a large table")
    ap.add_argument("--stored", action="store_true", help="time novelty on hashed ids with ~1.3 M stored pairs")
    ap.add_argument("--torch-device", default="cpu", help="device of the torch inputs (cuda: the copies to and from "
                    "the host are timed too)")
    args = ap.parse_args()
    if args.variance:
        variance_tables()
        return
    if args.discounted:
        discounted_updates(args.groups, args.n)
        return
    if args.stored:
        stored_pairs(args.groups, args.n, repeats=args.repeats)
        return
    B, n = args.groups, args.n
    rng = np.random.default_rng(0)
    rewards = {
        "binary": (rng.random((B, n)) < rng.random((B, 1))).astype(np.float64),
        "continuous": rng.random((B, n)),
    }
    small = rng.integers(0, 8, size=(B, n))  # answer classes 0..7
    # The same classes as 64-bit ids (e.g. hashes of answer strings, as `passlens train` passes), per group.
    vocab = rng.integers(-(2**62), 2**62, size=(B, 8))
    answers = {"small": small, "hashed": np.take_along_axis(vocab, small, axis=1)}
    logprobs = {"small": rng.normal(-20.0, 5.0, size=(B, n))}
    # Realistic duplicates: samples of one answer class share one completion, hence one log-probability.
    logprobs["tied"] = np.take_along_axis(rng.normal(-20.0, 5.0, size=(B, 8)), small, axis=1)
    logprobs["hashed"] = logprobs["small"]
    answers["tied"] = small
    prompt_ids = list(range(B))
    dev = torch.device(args.torch_device)
    torch_in = {kind: torch.tensor(r, dtype=torch.float32, device=dev) for kind, r in rewards.items()}
    answers_t = {kind: torch.tensor(a, device=dev) for kind, a in answers.items()}
    logprobs_t = {kind: torch.tensor(lp, dtype=torch.float32, device=dev) for kind, lp in logprobs.items()}

    threads = get_num_threads()
    print(f"B = {B} groups × n = {n} samples, k = {args.k}, median/min of {args.repeats} calls "
          f"(numpy {np.__version__}, torch {torch.__version__}, {torch.get_num_threads()} torch threads, "
          f"{threads} passlens threads)\n")
    print("| estimator | inputs | numpy median (ms) | numpy min (ms) | × rloo (same process) | 1 thread: median (ms), × rloo "
          f"| torch f32 on {dev.type} median (ms) | within budget (5 ms; hashed ids 10 ms) |")
    print("|---|---|---:|---:|---:|---:|---:|:---:|")

    def reference() -> Any:
        return advantage("rloo", rewards["binary"])

    for name, params, kind, ids in _configs(args.k):
        state = AnswerCounts()
        if "state" in REGISTRY[name].inputs:
            state.update(prompt_ids, answers[ids])  # one earlier step of history

        def run_np(name=name, params=params, kind=kind, ids=ids, state=state) -> Any:
            return advantage(name, rewards[kind], answers=answers[ids], logprobs=logprobs[ids], state=state,
                             prompt_ids=prompt_ids, **params)

        def run_t(name=name, params=params, kind=kind, ids=ids, state=state) -> Any:
            out = advantage(name, torch_in[kind], answers=answers_t[ids], logprobs=logprobs_t[ids], state=state,
                            prompt_ids=prompt_ids, **params)
            if dev.type == "cuda":
                torch.cuda.synchronize(dev)  # the copy back to the device is part of the call
            return out

        t_np, t_np_min, ratio = _paired_times_ms(run_np, reference, args.repeats)
        set_num_threads(1)  # the same calls on one thread (only the sort-based estimators use more)
        t_1, _, ratio_1 = _paired_times_ms(run_np, reference, args.repeats)
        set_num_threads(threads)
        t_t, _ = _times_ms(run_t, args.repeats)
        ok = "yes" if t_np <= (HASHED_BUDGET_MS if ids == "hashed" else FLOOR_MS) else "**no**"
        inputs = kind + {"small": "", "hashed": ", hashed ids", "tied": ", tied logprobs"}[ids]
        print(f"| `{format_spec(name, params)}` | {inputs} | {t_np:.2f} | {t_np_min:.2f} | {ratio:.1f} | {t_1:.2f}, {ratio_1:.1f} "
              f"| {t_t:.2f} | {ok} |")


if __name__ == "__main__":
    main()
