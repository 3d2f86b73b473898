"""Speed of ``passlens report``: the bundled pair and a synthetic 10⁵ problems × 256 samples pair.

    .venv/bin/python benchmarks/bench_report.py                 # both cases
    .venv/bin/python benchmarks/bench_report.py --problems 20000 --samples 128

Each case runs the real entry point (``python -m passlens report``) in a fresh
process, ``--repeat`` times; the median wall time is reported (best in brackets)
with the CPU time of that child (user + system, all threads: the honest number on
a shared machine) and its peak RSS. A second, in-process pass splits one run
into stages (read, numbers, figures, HTML, write) to show where the time goes.

The synthetic pair: P problems, n samples each; p ~ Beta(0.4, 0.4) for A and a
sharpened p^0.7 for B (higher pass@1, more polarized), counts c ~ Bin(n, p),
seed 0, written as two CSV count files under a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"


def synthetic_pair(folder: Path, problems: int, samples: int, seed: int = 0) -> tuple[Path, Path]:
    rng = np.random.default_rng(seed)
    p = rng.beta(0.4, 0.4, problems)
    out = []
    for name, q in (("base", p), ("rl", p**0.7)):
        c = rng.binomial(samples, q)
        path = folder / f"{name}.csv"
        lines = ["problem_id,n,c"] + [f"q{i},{samples},{c[i]}" for i in range(problems)]
        path.write_text("\n".join(lines) + "\n")
        out.append(path)
    return out[0], out[1]


def run_cli(args: list[str]) -> tuple[float, float, int]:
    """(wall s, child CPU s, child peak RSS MiB) of one ``python -m passlens report`` run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-m", "passlens", "report", *args], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(SRC), "MPLBACKEND": "Agg"})
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if res.returncode != 0:
        raise SystemExit(f"report failed: {res.stderr.strip()}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, int(after.ru_maxrss / 1024)  # ru_maxrss: the largest child so far (KiB on Linux)


def stages(paths: list[Path], out: Path) -> dict[str, float]:
    """Seconds per stage of one in-process run."""
    from passlens.report import ReportSettings, build_report, load_groups, make_figures, render_html, write_report

    t = {}
    t0 = time.perf_counter()
    groups, inputs, label_name = load_groups(paths)
    t["read"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    rep = build_report(groups, ReportSettings(), inputs=inputs, label_name=label_name)
    t["numbers"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    figs = make_figures(rep)
    t["figures"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    page = render_html(rep, figs)
    t["html"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    write_report(rep.metrics, figs, out, html=page)
    t["write"] = time.perf_counter() - t0
    t["notes"] = rep.metrics["notes"]  # type: ignore[assignment]
    return t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--problems", type=int, default=100_000)
    ap.add_argument("--samples", type=int, default=256)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skip-bundled", action="store_true")
    args = ap.parse_args()
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, cpus {os.cpu_count()}, "
          f"load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        tmpd = Path(tmp)
        cases: list[tuple[str, list[str], list[Path]]] = []
        if not args.skip_bundled:
            cases.append(("bundled DeepScaleR (1060 × 128, pair)", [], []))
        a, b = synthetic_pair(tmpd, args.problems, args.samples)
        cases.append((f"synthetic {args.problems} × {args.samples} (pair)", [str(a), str(b)], [a, b]))
        for title, cli_args, paths in cases:
            runs = [run_cli([*cli_args, "--out", str(tmpd / "out")]) for _ in range(args.repeat)]
            walls = [r[0] for r in runs]
            med = sorted(runs)[len(runs) // 2]
            print(f"{title}: wall median {statistics.median(walls):.2f} s (best {min(walls):.2f}), "
                  f"CPU {med[1]:.2f} s, peak RSS {max(r[2] for r in runs)} MiB")
            if not paths:
                from passlens.io import bundled_deepscaler

                paths = list(bundled_deepscaler())
            st = stages(paths, tmpd / "out_inproc")
            notes = st.pop("notes")
            print("  in-process stages (s): " + ", ".join(f"{k} {v:.2f}" for k, v in st.items()))
            for n in notes:  # type: ignore[union-attr]
                if "large input" in n:
                    print(f"  note: {n}")


if __name__ == "__main__":
    main()
