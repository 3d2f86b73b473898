"""The #20 experiment scripts end to end at a tiny size: experiments/lab_screen.py (the lab screen) and
experiments/pareto.py --smoke (the paired real-loop experiment: 2 seeds × 4 steps, eval 8 × 8). These
check the plumbing — runs, resume/skip, records, tables, figure — not any result."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(script: str, *args: str) -> str:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), OMP_NUM_THREADS="1")
    p = subprocess.run([sys.executable, str(ROOT / "experiments" / script), *args], capture_output=True, text=True, check=False,
                       env=env, cwd=ROOT, timeout=600)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    return p.stdout


def test_lab_screen_tiny(tmp_path: Path) -> None:
    out = tmp_path / "screen"
    objs = ["rloo", "coverage:k=8", "coverage:k=8/3/rloo", "rloo@0.5+coverage:k=8@0.5"]
    _run("lab_screen.py", "--out", str(out), "--objectives", *objs, "--steps", "6", "--problems", "40",
         "--heldout", "8", "--seeds", "2", "--log-every", "3")
    rows = list(csv.DictReader((out / "screen.csv").open()))
    assert [r["objective"] for r in rows] == objs
    assert all(r["seeds"] == "2" and r["step"] == "6" for r in rows)
    rec = json.loads((out / "config.json").read_text())
    assert rec["objectives"] == objs and rec["config"]["mode"] == "sampled" and rec["config"]["policy"] == "mlp"
    assert "| base (step 0) |" in (out / "screen.md").read_text()
    # a rerun with the same config reuses every candidate's part
    assert "s\n" not in _run("lab_screen.py", "--out", str(out), "--objectives", *objs, "--steps", "6",
                             "--problems", "40", "--heldout", "8", "--seeds", "2", "--log-every", "3").split("Lab screen")[0]


def test_pareto_smoke_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "pareto"
    args = ["--smoke", "--out", str(out), "--tasks", "countdown", "--objectives", "rloo", "coverage:k=8"]
    first = _run("pareto.py", *args)
    assert "4 run(s) to train or resume" in first
    task = out / "countdown"
    for obj in ("rloo", "coverage_k_8"):
        for seed in (0, 1):
            run = task / f"{obj}-s{seed}"
            assert (run / "evals" / "step_000004.json").exists()
            cfg = json.loads((run / "config.json").read_text())
            assert cfg["seed"] == seed and cfg["steps"] == 4 and cfg["eval_n"] == 8
            assert json.loads((task / f"{run.name}.cmd.json").read_text())["seed"] == seed
    paired = list(csv.DictReader((task / "paired.csv").open()))
    assert {(r["objective"], r["vs"]) for r in paired} == {("rloo", "coverage:k=8"), ("rloo", "base"),
                                                           ("coverage:k=8", "rloo"), ("coverage:k=8", "base")}
    assert all(r["seeds"] == "0 1" and r["problems"] == "16" for r in paired)
    assert (task / "pareto.png").stat().st_size > 0 and (task / "summary.md").exists()
    # finished runs are skipped: a rerun trains nothing and rewrites the same tables
    assert "0 run(s) to train or resume" in _run("pareto.py", *args)
    assert len((out / "experiment.jsonl").read_text().splitlines()) == 2
    # an analysis at a shorter horizon reads each run only up to that step (as for a run since extended past it)
    import importlib.util

    spec = importlib.util.spec_from_file_location("pareto", ROOT / "experiments" / "pareto.py")
    pareto = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(pareto)
    assert {r["step"] for r in pareto.collect(out, "countdown", ["rloo"], [0], 4)} == {0, 2, 4}
    assert {r["step"] for r in pareto.collect(out, "countdown", ["rloo"], [0], 2)} == {0, 2}
