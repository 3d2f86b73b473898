"""The paired exploration experiment on the real RLVR loop (#20 part 4): can one objective keep rloo's
pass@1 *and* the base model's pass@32 and diversity?

Per task, one base checkpoint (warm-started once into OUT/<task>/base, or --base); every run starts from
it and differs only in its objective and seed. The seed also draws the held-out problems and the
evaluation samples of step 0, so runs of one seed are paired: same problems, same base numbers.

Run directories are OUT/<task>/<objective slug>-s<seed>; each holds the trainer's config.json (the full
TrainConfig, seed included), metrics.parquet, evals/step_*.{json,parquet}, and next to it
<slug>-s<seed>.cmd.json (the command line) and .log. Finished runs (evaluated at --steps) are skipped,
unfinished ones resumed (passlens train --resume), so the script can be killed and rerun. Jobs go seed
by seed (every objective of seed 0, then seed 1, ...), so a partial experiment is paired. A larger
--steps extends runs made with a smaller one (``--resume RUN --steps N``, identical to a run made at N
steps), so the long horizon continues the 300-step runs and both are read from the same directories.

Full size, as the issue asks (≥ 5 seeds, 128 held-out problems × 64 samples every 50 steps, 300 steps;
2 shared cores, two runs at a time with one torch thread each):

    PYTHONPATH=src .venv/bin/python experiments/pareto.py --out runs/pareto --tasks countdown graph_path \\
        --objectives rloo coverage:k=8 pkpo:k=8 CANDIDATE... --seeds 0 1 2 3 4

Analysis only (whatever has finished; nothing is trained): add --analyze. Smoke test at a tiny size
(2 seeds × 4 steps, eval 8 × 8; about half a minute): --smoke.

Writes OUT/<task>/summary.md (mean [min, max] per objective and evaluated step), OUT/<task>/paired.md and
paired.csv (final-step differences against rloo, coverage:k=8 and the base, paired by seed: mean, 95%
t-interval and bootstrap interval over seeds; and passlens.compare on the held-out counts pooled over the
seeds' problems), OUT/<task>/runs.csv (one row per run and evaluated step) and OUT/<task>/pareto.png.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

REFERENCES = ("rloo", "coverage:k=8")  # the paired table's references (besides the base)


def slug(spec: str) -> str:
    """A file-name-safe form of an objective spec (rloo → rloo, coverage:k=8 → coverage_k_8)."""
    return re.sub(r"[^A-Za-z0-9.@+-]+", "_", spec)


def run_dir(out: Path, task: str, obj: str, seed: int) -> Path:
    return out / task / f"{slug(obj)}-s{seed}"


def _eval_path(run: Path, step: int, ext: str = "json") -> Path:
    return run / "evals" / f"step_{step:06d}.{ext}"


def finished(run: Path, steps: int) -> bool:
    return _eval_path(run, steps).exists()


def _train(args: list[str], log: Path, record: Path | None = None) -> None:
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "passlens", "train", *args, "--no-progress"]
    t0 = time.time()
    with log.open("a") as fh:
        subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env, check=True)
    if record is not None:
        rec = json.loads(record.read_text()) if record.exists() else {}
        rec.setdefault("wall_s", []).append(round(time.time() - t0, 1))
        record.write_text(json.dumps(rec, indent=2) + "\n")


def _base(a: argparse.Namespace, task: str) -> Path:
    if a.base is not None:
        return a.base
    base = a.out / task / "base" / "checkpoints" / "base.pt"
    if not base.exists():
        (a.out / task).mkdir(parents=True, exist_ok=True)
        _train(["--task", task, "--steps", "1", "--eval-every", "0", "--eval-problems", "4", "--eval-n", "4",
                "--warm-steps", str(a.warm_steps), "--prompts-per-step", str(a.prompts_per_step), "--n", str(a.n),
                "--out", str(a.out / task / "base")], a.out / task / "base.log")
    return base


def train_all(a: argparse.Namespace) -> None:
    """Train (or resume) every run that has not finished, `a.workers` at a time."""
    jobs = []
    for task in a.tasks:
        base = _base(a, task)
        for seed in a.seeds:
            for obj in a.objectives:
                run = run_dir(a.out, task, obj, seed)
                if finished(run, a.steps):
                    continue
                if (run / "config.json").exists():
                    args = ["--resume", str(run)]
                    if json.loads((run / "config.json").read_text())["steps"] < a.steps:
                        args += ["--steps", str(a.steps)]  # a longer horizon extends the run (bit for bit)
                else:
                    args = ["--task", task, "--objective", obj, "--seed", str(seed), "--steps", str(a.steps),
                            "--eval-every", str(a.eval_every), "--eval-n", str(a.eval_n),
                            "--eval-problems", str(a.eval_problems), "--prompts-per-step", str(a.prompts_per_step),
                            "--n", str(a.n), "--base", str(base), "--out", str(run)]
                record = run.parent / f"{run.name}.cmd.json"
                rec = json.loads(record.read_text()) if record.exists() else {}
                rec.setdefault("commands", []).append(["passlens", "train", *args])
                record.write_text(json.dumps(rec | {"task": task, "objective": obj, "seed": seed}, indent=2) + "\n")
                jobs.append((args, run.parent / f"{run.name}.log", record))
    print(f"{len(jobs)} run(s) to train or resume", flush=True)
    with ThreadPoolExecutor(a.workers) as pool:  # each job is its own process; threads only wait
        for f in [pool.submit(_train, *j) for j in jobs]:
            f.result()


# -- analysis --------------------------------------------------------------------------------------


def _evals(run: Path) -> dict[int, dict[str, Any]]:
    out = {}
    for p in sorted((run / "evals").glob("step_*.json")):
        s = json.loads(p.read_text())
        out[int(s["step"])] = s
    return out


def _metrics(s: dict[str, Any], K: int = 32) -> dict[str, float]:
    """pass@1, pass@K (K = 32, the target's budget, or the largest evaluated below it), the gap, distinct
    correct answers per problem (among all eval_n samples), polarized fraction, entropy."""
    ks, est = s["pass_at_k"]["k"], s["pass_at_k"]["estimate"]
    j = max(i for i, k in enumerate(ks) if k <= K)
    return {"pass@1": float(est[0]), "pass@K": float(est[j]), "gap": float(est[j] - est[0]),
            "distinct": float(s["distinct_correct_mean"]), "polarized": float(s["polarized_fraction"]),
            "entropy": float(s["entropy"])}


def _counts(run: Path, step: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-problem correct counts (c) of one evaluation, in held-out order, and the problem ids."""
    import polars as pl

    df = pl.read_parquet(_eval_path(run, step, "parquet"))
    ids = df["problem_id"].to_numpy().reshape(-1, n)[:, 0]
    c = (df["reward"].to_numpy() >= 1.0).reshape(-1, n).sum(axis=1)
    return ids, c


def t_interval(d: np.ndarray) -> tuple[float, float, float]:
    """Mean and 95% Student-t interval of paired differences (one per seed)."""
    from scipy import stats

    m = float(np.mean(d))
    if len(d) < 2:
        return m, float("nan"), float("nan")
    h = float(stats.t.ppf(0.975, len(d) - 1) * np.std(d, ddof=1) / math.sqrt(len(d)))
    return m, m - h, m + h


def boot_interval(d: np.ndarray, n_boot: int = 10000, seed: int = 0) -> tuple[float, float]:
    """95% percentile bootstrap interval of the mean of d (resampled with replacement)."""
    if len(d) < 2:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = d[rng.integers(0, len(d), size=(n_boot, len(d)))].mean(axis=1)
    return float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))


def collect(out: Path, task: str, objectives: list[str], seeds: list[int], steps: int) -> list[dict[str, Any]]:
    """One row per run and evaluated step up to ``steps`` (objective 'base' = step 0 of the seed's first run).

    Evaluations past ``steps`` (a run since extended to a longer horizon) are left out, so an analysis at
    300 steps describes step 300 even when some of its runs went on to 1000."""
    rows = []
    for seed in seeds:
        base_done = False
        for obj in objectives:
            run = run_dir(out, task, obj, seed)
            for step, s in _evals(run).items():
                if step > steps:
                    continue
                if step == 0:
                    if not base_done:
                        rows.append({"task": task, "objective": "base", "seed": seed, "step": 0} | _metrics(s))
                        base_done = True
                    continue
                rows.append({"task": task, "objective": obj, "seed": seed, "step": step} | _metrics(s))
    return rows


def paired(out: Path, task: str, objectives: list[str], seeds: list[int], steps: int, n: int) -> list[dict[str, Any]]:
    """Final-step differences of each objective against each reference, paired by seed."""
    from passlens import compare

    done = {(o, s) for o in objectives for s in seeds if finished(run_dir(out, task, o, s), steps)}
    refs = [r for r in REFERENCES if r in objectives] + ["base"]
    rows = []
    for obj in objectives:
        for ref in refs:
            if ref == obj:
                continue
            common = [s for s in seeds if (obj, s) in done and (ref == "base" or (ref, s) in done)]
            if not common:
                continue
            d: dict[str, list[float]] = {"pass@1": [], "pass@K": [], "distinct": []}
            ca, cb, dd = [], [], []
            for s in common:
                run = run_dir(out, task, obj, s)
                fin = json.loads(_eval_path(run, steps).read_text())
                other = (json.loads(_eval_path(run, 0).read_text()) if ref == "base"
                         else json.loads(_eval_path(run_dir(out, task, ref, s), steps).read_text()))
                mb, ma = _metrics(fin), _metrics(other)
                for m, vals in d.items():
                    vals.append(mb[m] - ma[m])
                ids_b, c_b = _counts(run, steps, n)
                ids_a, c_a = (_counts(run, 0, n) if ref == "base" else _counts(run_dir(out, task, ref, s), steps, n))
                if not np.array_equal(ids_a, ids_b):
                    raise ValueError(f"{task} seed {s}: {obj} and {ref} were evaluated on different problems")
                ca.append(c_a)
                cb.append(c_b)
                dd.append(np.asarray(fin["distinct_correct"], float) - np.asarray(other["distinct_correct"], float))
            K = min(32, 1 << (n.bit_length() - 1))  # the target's budget (the largest power of two ≤ n below it)
            c_a, c_b = np.concatenate(ca), np.concatenate(cb)
            nn = np.full(c_a.size, n)
            cmp = compare((nn, c_a), (nn, c_b), k=[1, K], n_boot=4000, seed=0)
            ddp = np.concatenate(dd)
            row: dict[str, Any] = {"task": task, "objective": obj, "vs": ref, "seeds": " ".join(map(str, common)),
                                   "problems": int(c_a.size), "K": K}
            for m, vals in d.items():
                arr = np.asarray(vals)
                mean, lo, hi = t_interval(arr)
                blo, bhi = boot_interval(arr)
                row |= {f"d {m}": mean, f"d {m} t_lo": lo, f"d {m} t_hi": hi, f"d {m} boot_lo": blo,
                        f"d {m} boot_hi": bhi}
            row |= {"compare d pass@1": float(cmp.diff[0]), "compare pass@1 lo": float(cmp.lo[0]),
                    "compare pass@1 hi": float(cmp.hi[0]), "compare d pass@K": float(cmp.diff[1]),
                    "compare pass@K lo": float(cmp.lo[1]), "compare pass@K hi": float(cmp.hi[1])}
            blo, bhi = boot_interval(ddp)
            row |= {"problem d distinct": float(ddp.mean()), "problem d distinct lo": blo, "problem d distinct hi": bhi}
            rows.append(row)
    return rows


def verdict(rows: list[dict[str, Any]], obj: str, min_seeds: int = 5) -> str:
    """The issue's target for one objective from its paired rows (countdown): pass@1's paired interval
    against rloo includes or exceeds 0, and pass@K and distinct correct answers not below the base's.

    Read over seeds (the t-interval, the issue's criterion) and, beside it, over problems (compare's band
    on the pooled counts). With fewer than ``min_seeds`` paired seeds the verdict is provisional: a
    t-interval over 2 or 3 seeds is wide enough to include 0 for almost any difference."""
    r1 = next((r for r in rows if r["objective"] == obj and r["vs"] == "rloo"), None)
    rb = next((r for r in rows if r["objective"] == obj and r["vs"] == "base"), None)
    if r1 is None or rb is None:
        return "not evaluated (no finished pair)"
    hi = r1["d pass@1 t_hi"]
    nseeds = len(r1["seeds"].split())
    okk, okd = rb["d pass@K"] >= 0, rb["d distinct"] >= 0
    if math.isnan(hi):  # one seed: no interval over seeds
        return (f"undetermined: one paired seed (Δpass@1 vs rloo {r1['d pass@1']:+.3f}, Δpass@K vs base "
                f"{rb['d pass@K']:+.3f}, Δdistinct vs base {rb['d distinct']:+.3f})")
    ok1 = hi >= 0
    ok1p = r1["compare pass@1 hi"] >= 0
    parts = [f"pass@1 vs rloo {'ok' if ok1 else 'below'} over seeds, {'ok' if ok1p else 'below'} over problems",
             f"pass@K vs base {'ok' if okk else 'below'}", f"distinct vs base {'ok' if okd else 'below'}"]
    head = "reached" if ok1 and okk and okd else "not reached"
    if nseeds < min_seeds:
        head = f"provisional, {nseeds} seeds < {min_seeds}: " + head
    return head + " (" + ", ".join(parts) + ")"


def _fmt_ci(m: float, lo: float, hi: float) -> str:
    return f"{m:+.3f}" if math.isnan(lo) else f"{m:+.3f} [{lo:+.3f}, {hi:+.3f}]"


def write_tables(out: Path, task: str, a: argparse.Namespace) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    import polars as pl

    K = min(32, 1 << (a.eval_n.bit_length() - 1))
    rows = collect(out, task, a.objectives, a.seeds, a.steps)
    tdir = out / task
    if not rows:
        return rows, []
    pl.DataFrame(rows).write_csv(tdir / "runs.csv")
    cells: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for r in rows:
        cells.setdefault((r["objective"], r["step"]), []).append(r)
    names = ["pass@1", "pass@K", "gap", "distinct", "polarized", "entropy"]
    lines = [(f"Task {task}; held-out {a.eval_problems} problems × {a.eval_n} samples; K = {K}; distinct correct answers "
              f"among all {a.eval_n} samples. Mean over the seeds "
              "that reached the step [min, max]; `seeds` = which."), "",
             "| objective | step | seeds | " + " | ".join(m.replace("K", str(K)) for m in names) + " |",
             "|---|---:|---|" + "---:|" * len(names)]
    order = ["base"] + list(a.objectives)
    for (obj, step), rs in sorted(cells.items(), key=lambda kv: (order.index(kv[0][0]), kv[0][1])):
        vals = [f"{np.mean([r[m] for r in rs]):.3f} [{min(r[m] for r in rs):.3f}, {max(r[m] for r in rs):.3f}]"
                for m in names]
        lines.append(f"| {obj} | {step} | {' '.join(str(r['seed']) for r in rs)} | " + " | ".join(vals) + " |")
    (tdir / "summary.md").write_text("\n".join(lines) + "\n")

    prow = paired(out, task, a.objectives, a.seeds, a.steps, a.eval_n)
    if prow:
        pl.DataFrame(prow).write_csv(tdir / "paired.csv")
        pk = f"pass@{prow[0]['K']}"
        pl_lines = [(f"Task {task}, step {a.steps}: B − A paired by seed. Per metric: mean [95% t-interval over seeds]; "
                     f"`compare`: passlens.compare on the held-out counts pooled over the seeds' problems "
                     f"(simultaneous 95% band over k ∈ {{1, {prow[0]['K']}}}, problems resampled, runs fixed); "
                     f"distinct (problems): paired bootstrap over the pooled problems."), "",
                    (f"| B | A | seeds | Δpass@1 | Δ{pk} | Δdistinct | compare Δpass@1 | compare Δ{pk} | "
                     f"Δdistinct (problems) |"), "|---|---|---|---:|---:|---:|---:|---:|---:|"]
        for r in prow:
            pl_lines.append(
                f"| {r['objective']} | {r['vs']} | {r['seeds']} | "
                f"{_fmt_ci(r['d pass@1'], r['d pass@1 t_lo'], r['d pass@1 t_hi'])} | "
                f"{_fmt_ci(r['d pass@K'], r['d pass@K t_lo'], r['d pass@K t_hi'])} | "
                f"{_fmt_ci(r['d distinct'], r['d distinct t_lo'], r['d distinct t_hi'])} | "
                f"{_fmt_ci(r['compare d pass@1'], r['compare pass@1 lo'], r['compare pass@1 hi'])} | "
                f"{_fmt_ci(r['compare d pass@K'], r['compare pass@K lo'], r['compare pass@K hi'])} | "
                f"{_fmt_ci(r['problem d distinct'], r['problem d distinct lo'], r['problem d distinct hi'])} |")
        pl_lines += ["", "Target (pass@1 paired interval vs rloo reaches 0; mean pass@K and distinct not below base):", ""]
        for obj in a.objectives:
            if obj != "rloo":
                pl_lines.append(f"- {obj}: {verdict(prow, obj)}")
        (tdir / "paired.md").write_text("\n".join(pl_lines) + "\n")
    return rows, prow


def figure(out: Path, task: str, rows: list[dict[str, Any]], a: argparse.Namespace) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    K = min(32, 1 << (a.eval_n.bit_length() - 1))
    objs = [o for o in a.objectives if any(r["objective"] == o for r in rows)]
    colors = {o: plt.get_cmap("tab10")(i % 10) for i, o in enumerate(objs)}
    fig, axes = plt.subplots(1, 4, figsize=(18, 4.2))
    ax = axes[0]
    base = {r["seed"]: r for r in rows if r["objective"] == "base"}
    for b in base.values():
        ax.plot(b["pass@1"], b["pass@K"], "k*", ms=10, zorder=3)
    for o in objs:
        for seed in a.seeds:
            rs = sorted((r for r in rows if r["objective"] == o and r["seed"] == seed), key=lambda r: r["step"])
            if not rs or seed not in base:
                continue
            last = rs[-1]
            ax.annotate("", xy=(last["pass@1"], last["pass@K"]), xytext=(base[seed]["pass@1"], base[seed]["pass@K"]),
                        arrowprops={"arrowstyle": "->", "color": colors[o], "alpha": 0.35, "lw": 1})
            ax.plot(last["pass@1"], last["pass@K"], "o", color=colors[o], ms=6,
                    label=o if seed == min(r["seed"] for r in rows if r["objective"] == o) else None,
                    mfc="none" if last["step"] < a.steps else colors[o])
    ax.set_xlabel("held-out pass@1")
    ax.set_ylabel(f"held-out pass@{K}")
    ax.set_title(f"{task}: each run, base (★) → last eval\n(hollow: run not finished)", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    for ax, m in zip(axes[1:], ["pass@1", "pass@K", "distinct"]):
        for o in objs:
            for seed in a.seeds:
                rs = sorted((r for r in rows if r["seed"] == seed and (r["objective"] == o or
                                                                      r["objective"] == "base")),
                            key=lambda r: r["step"])
                if len(rs) > 1:
                    ax.plot([r["step"] for r in rs], [r[m] for r in rs], color=colors[o], alpha=0.25, lw=1)
            steps = sorted({r["step"] for r in rows if r["objective"] == o})
            mean = [np.mean([r[m] for r in rows if r["objective"] in (o, "base") and r["step"] == s
                             and (s > 0 or r["objective"] == "base")]) for s in [0] + steps]
            ax.plot([0] + steps, mean, marker="o", ms=3, color=colors[o], label=o)
        ax.set_xlabel("RL step")
        ax.set_title({"pass@1": "held-out pass@1", "pass@K": f"held-out pass@{K}",
                      "distinct": "distinct correct answers / problem"}[m], fontsize=9)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / task / "pareto.png", dpi=110)
    plt.close(fig)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("runs/pareto"))
    ap.add_argument("--tasks", nargs="+", default=["countdown", "graph_path"])
    ap.add_argument("--objectives", nargs="+", default=["rloo", "pkpo:k=8", "coverage:k=8"])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--eval-every", type=int, default=50)
    ap.add_argument("--eval-n", type=int, default=64)
    ap.add_argument("--eval-problems", type=int, default=128)
    ap.add_argument("--prompts-per-step", type=int, default=32)
    ap.add_argument("--n", type=int, default=8, help="samples per prompt in training (the group size)")
    ap.add_argument("--warm-steps", type=int, default=300, help="supervised warm start of a base made here")
    ap.add_argument("--base", type=Path, default=None, help="base checkpoint for every task (default: one per task)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--analyze", action="store_true", help="only analyse the runs that exist; train nothing")
    ap.add_argument("--smoke", action="store_true",
                    help="SMOKE TEST, not the experiment: 2 seeds × 4 steps, eval 8 × 8, a 5-step warm start")
    a = ap.parse_args(argv)
    if a.smoke:
        a.seeds, a.steps, a.eval_every, a.eval_n, a.eval_problems = [0, 1], 4, 2, 8, 8
        a.prompts_per_step, a.warm_steps = 4, 5
    return a


def main(argv: list[str] | None = None) -> None:
    a = parse(argv)
    a.out.mkdir(parents=True, exist_ok=True)
    with (a.out / "experiment.jsonl").open("a") as fh:  # every invocation, so any row can be rerun
        fh.write(json.dumps({"argv": sys.argv[1:] if argv is None else argv,
                             "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(a).items()},
                             "time": time.strftime("%Y-%m-%d %H:%M:%S")}) + "\n")
    if not a.analyze:
        train_all(a)
    for task in a.tasks:
        rows, prow = write_tables(a.out, task, a)
        if rows:
            figure(a.out, task, rows, a)
            print((a.out / task / "summary.md").read_text())
            if prow:
                print((a.out / task / "paired.md").read_text())


if __name__ == "__main__":
    main()
