"""Exploration under three objectives on a real RLVR loop: rloo vs pkpo:k=8 vs coverage:k=8.

Every run starts from the same supervised base checkpoint and differs only in its advantage
estimator (and seed); all numbers are read back from the runs' held-out evaluations.

Run (2 cores, ~20 minutes with the defaults):

    .venv/bin/python experiments/rl_exploration.py --out runs/exp --workers 2

--objectives takes any registry spec, composites included (rloo@0.7+coverage:k=8@0.3,
coverage:k=8/300/rloo, pkpo:k=8-2,steps=0-300); the paired multi-seed successor is experiments/pareto.py.

Writes OUT/summary.md (a table per evaluated step, mean and range over seeds) and
OUT/trajectories.png (pass@1, pass@K, distinct correct answers, entropy against step).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

METRICS = {
    "pass@1": lambda s: s["pass_at_k"]["estimate"][0],
    "pass@K": lambda s: s["pass_at_k"]["estimate"][-1],
    "gap": lambda s: s["pass_at_k"]["estimate"][-1] - s["pass_at_k"]["estimate"][0],
    "distinct correct": lambda s: s["distinct_correct_mean"],
    "polarized": lambda s: s["polarized_fraction"],
    "entropy": lambda s: s["entropy"],
}


def _slug(obj: str) -> str:
    """Run-directory name of an objective: plain specs as before (coverage:k=8 → coverage_k8); a composite's
    '/', '@', '+' and ',' are kept out of the path (coverage:k=8/300/rloo → coverage_k8~300~rloo)."""
    return re.sub(r"[^A-Za-z0-9._~-]", "~", obj.replace(":", "_").replace("=", ""))


def _train(args: list[str], log: Path) -> None:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    with log.open("w") as fh:
        subprocess.run([sys.executable, "-m", "passlens", "train", *args, "--no-progress"], stdout=fh,
                       stderr=subprocess.STDOUT, env=env, check=True)


def _summaries(run: Path) -> dict[int, dict]:
    return {json.loads(p.read_text())["step"]: json.loads(p.read_text()) for p in sorted((run / "evals").glob("*.json"))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--task", default="countdown")
    ap.add_argument("--objectives", nargs="+", default=["rloo", "pkpo:k=8", "coverage:k=8"])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--eval-every", type=int, default=50)
    ap.add_argument("--eval-n", type=int, default=32)
    ap.add_argument("--eval-problems", type=int, default=48)
    ap.add_argument("--base", type=Path, default=None, help="base checkpoint (default: warm-start one into OUT/base)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path("runs/exp"))
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)

    base = a.base
    if base is None:
        base = a.out / "base" / "checkpoints" / "base.pt"
        if not base.exists():
            _train(["--task", a.task, "--steps", "1", "--eval-every", "0", "--eval-problems", "4", "--eval-n", "4",
                    "--out", str(a.out / "base")], a.out / "base.log")
    jobs = []
    for obj in a.objectives:
        for seed in a.seeds:
            run = a.out / f"{_slug(obj)}-s{seed}"
            if not (run / "config.json").exists():
                jobs.append((["--task", a.task, "--objective", obj, "--seed", str(seed), "--steps", str(a.steps),
                              "--eval-every", str(a.eval_every), "--eval-n", str(a.eval_n),
                              "--eval-problems", str(a.eval_problems), "--base", str(base), "--out", str(run)],
                             a.out / f"{run.name}.log"))
    with ThreadPoolExecutor(a.workers) as pool:  # each job is its own process; threads only wait
        list(pool.map(lambda j: _train(*j), jobs))

    table: dict[str, dict[int, dict[str, list[float]]]] = {}
    for obj in a.objectives:
        for seed in a.seeds:
            run = a.out / f"{_slug(obj)}-s{seed}"
            for step, s in _summaries(run).items():
                cell = table.setdefault(obj, {}).setdefault(step, {m: [] for m in METRICS})
                for m, f in METRICS.items():
                    cell[m].append(float(f(s)))
    K = a.eval_n
    lines = [f"Task {a.task}; {len(a.seeds)} seeds; {a.steps} RL steps; held-out {a.eval_problems} problems × "
             f"{a.eval_n} samples per evaluation; K = {K}. Mean over seeds [min, max].", "",
             "| objective | step | " + " | ".join(m.replace("K", str(K)) for m in METRICS) + " |",
             "|---|---:|" + "---:|" * len(METRICS)]
    for obj, steps in table.items():
        for step in sorted(steps):
            cells = [f"{np.mean(v):.3f} [{min(v):.3f}, {max(v):.3f}]" for v in steps[step].values()]
            lines.append(f"| {obj} | {step} | " + " | ".join(cells) + " |")
    (a.out / "summary.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = ["pass@1", "pass@K", "distinct correct", "entropy"]
    fig, axes = plt.subplots(1, len(shown), figsize=(4 * len(shown), 3.2))
    for ax, m in zip(axes, shown):
        for obj, steps in table.items():
            xs = sorted(steps)
            mean = [np.mean(steps[x][m]) for x in xs]
            ax.plot(xs, mean, marker="o", label=obj)
            ax.fill_between(xs, [min(steps[x][m]) for x in xs], [max(steps[x][m]) for x in xs], alpha=0.2)
        ax.set_xlabel("RL step")
        ax.set_title(m.replace("K", str(K)))
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(a.out / "trajectories.png", dpi=120)


if __name__ == "__main__":
    main()
