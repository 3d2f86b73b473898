"""Benchmark: collapse-lab throughput (tabular policy), exact and sampled mode, and scaling in P and M.

Run:  .venv/bin/python benchmarks/bench_lab.py [--steps 1000] [--problems 10000] [--answers 64] [--quick]

Floors (2 cores): exact mode P=10,000, M=64, 1000 steps ≤ 10 s; sampled mode
(n = 16, RLOO) ≤ 60 s; peak memory ≤ 2 GB. Tracking runs every ``--log-every``
steps (default 25, as in ``passlens lab run``). Each configuration runs in
this process; the machine may be shared, so the load average is printed with
the timings, each run reports wall and CPU seconds of this process, and the
scaling table reports CPU time per problem·answer·step.

Exact tabular mode is timed three ways in the same process, interleaved per
objective: the fused step of :mod:`passlens.lab.tabular_step` with its default
threads (all CPUs), the same with one thread, and the reference — the dense
logit-space update z ← z + ηG, softmax (``_MULTIPLICATIVE`` off) — so the
speed-up is a same-process ratio whatever the load.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time

import passlens.lab.dynamics as dyn
from passlens.lab import LabConfig, build_populations, run_objective


def _time(spec: str, cfg: LabConfig, *, dense: bool = False) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) of one run, population building excluded.

    ``dense``: the reference logit-space update instead of the fused multiplicative step.
    """
    pops = build_populations(cfg)
    dyn._MULTIPLICATIVE = not dense
    try:
        t0, c0 = time.perf_counter(), time.process_time()
        run_objective(spec, pops, cfg)
        return time.perf_counter() - t0, time.process_time() - c0
    finally:
        dyn._MULTIPLICATIVE = True


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--problems", type=int, default=10_000)
    ap.add_argument("--answers", type=int, default=64)
    ap.add_argument("--n", type=int, default=16)
    ap.add_argument("--log-every", type=int, default=25)
    ap.add_argument("--quick", action="store_true", help="100 steps, scaled up ×10 in the report")
    args = ap.parse_args()
    steps = 100 if args.quick else args.steps
    scale = args.steps / steps
    base = dict(steps=steps, seeds=1, problems=args.problems, answers=args.answers, log_every=args.log_every, lr=2.0)
    out: dict[str, object] = {"load_avg_start": os.getloadavg()[0], "cpus": os.cpu_count(), "steps": args.steps,
                              "P": args.problems, "M": args.answers}
    for spec in ("rloo", "pkpo:k=8", "coverage:k=8"):
        runs = {
            "fused": _time(spec, LabConfig(mode="exact", **base)),
            "fused 1 thread": _time(spec, LabConfig(mode="exact", threads=1, **base)),
            "dense reference": _time(spec, LabConfig(mode="exact", **base), dense=True),
        }
        for name, (w, c) in runs.items():
            out[f"exact float64 {spec} {name} wall/cpu s"] = [round(w * scale, 2), round(c * scale, 2)]
        ref = runs["dense reference"][0]
        out[f"exact float64 {spec} speed-up vs dense (wall): fused, 1 thread"] = [
            round(ref / runs["fused"][0], 2), round(ref / runs["fused 1 thread"][0], 2)]
    for spec in ("rloo", "pkpo:k=8", "coverage:k=8"):
        w, c = _time(spec, LabConfig(mode="exact", dtype="float32", **base))
        out[f"exact float32 {spec} wall/cpu s"] = [round(w * scale, 2), round(c * scale, 2)]
    for spec in ("rloo", "pkpo:k=8", "coverage:k=8"):
        w, c = _time(spec, LabConfig(mode="sampled", n=args.n, **base))
        out[f"sampled float64 n={args.n} {spec} wall/cpu s"] = [round(w * scale, 2), round(c * scale, 2)]
    out["peak_rss_MB"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    # scaling: exact pkpo:k=8 float64 (fused, 1 thread: CPU time is then the work), 100 steps, CPU ns per problem·answer·step
    scaling = []
    for P, M in ((2500, 64), (5000, 64), (10_000, 64), (20_000, 64), (10_000, 16), (10_000, 32), (10_000, 128)):
        cfg = LabConfig(mode="exact", steps=100, seeds=1, problems=P, answers=M, log_every=args.log_every, lr=2.0, threads=1)
        w, c = _time("pkpo:k=8", cfg)
        scaling.append({"P": P, "M": M, "cpu_s_per_100_steps": round(c, 3), "cpu_ns_per_elem_step": round(c / (P * M * 100) * 1e9, 2)})
    out["scaling"] = scaling
    out["load_avg_end"] = os.getloadavg()[0]
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
