"""``passlens train`` through the real entry point (subprocesses, tiny config).

A real ``python -m passlens train`` run and ``--help`` each get their own interpreter; matrices
of further invocations go through the same ``passlens.cli.main`` inside ONE extra subprocess
(importing torch and polars costs seconds of CPU per interpreter on a shared 2-core machine).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cli_batch import run_cli_batch

pytest.importorskip("torch")

TINY = {
    "task": "addition", "difficulty": 1, "steps": 2, "prompts_per_step": 4, "n": 4, "train_problems": 40,
    "eval_problems": 4, "eval_every": 2, "eval_n": 8,
    "model": {"d_model": 32, "n_layer": 2, "n_head": 2, "block_size": 32},
    "warm": {"steps": 3, "batch": 8},
}


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, OMP_NUM_THREADS="1", COLUMNS="200")
    return subprocess.run([sys.executable, "-m", "passlens", *args], capture_output=True, text=True, timeout=300, env=env)


def run_many(argvs: list[list[str]]) -> list[tuple[int, str, str]]:
    """Each argv through passlens.cli.main inside one subprocess: [(exit code, stdout, stderr)]."""
    return run_cli_batch(argvs, env={"OMP_NUM_THREADS": "1", "COLUMNS": "200"})


def test_help_lists_tasks_and_objectives() -> None:
    p = run("train", "--help")
    assert p.returncode == 0
    text = " ".join(p.stdout.split())
    for name in ("addition", "countdown", "graph_path", "rloo", "pkpo", "coverage", "--resume", "--device"):
        assert name in text, name


BAD = [
    (["--task", "chess"], "unknown task 'chess'"),
    (["--objective", "magic"], "unknown advantage estimator 'magic'"),
    (["--objective", "pkpo:q=3"], "unknown parameter"),
    (["--resume", "/nonexistent/run"], "not a run directory"),
    (["--device", "tpu"], "device must be auto, cpu or cuda"),
    (["--resume", "/nonexistent/run", "--steps", "5"], "(only --device may change); drop --steps"),
]


def test_bad_options_exit_2_with_one_line() -> None:
    results = run_many([["train", *args, "--no-progress"] for args, _ in BAD])
    for (args, needle), (code, _out, err) in zip(BAD, results):
        assert code == 2, (args, err)
        assert needle in err and err.count("\n") == 1 and "Traceback" not in err, (args, err)


def test_train_resume_and_eval_smoke(tmp_path: Path) -> None:
    cfg = tmp_path / "tiny.json"
    cfg.write_text(json.dumps(TINY))
    out = tmp_path / "run"
    p = run("train", "--config", str(cfg), "--objective", "pkpo:k=2", "--out", str(out), "--device", "cpu", "--no-progress")
    assert p.returncode == 0, p.stderr
    assert "held-out pass@k at step 2" in p.stdout
    assert json.loads((out / "config.json").read_text())["objective"] == "pkpo:k=2"
    for f in ("metrics.parquet", "checkpoints/base.pt", "checkpoints/latest.pt", "evals/step_000002.parquet"):
        assert (out / f).is_file(), f
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"\x00garbage")
    evals = [str(f) for f in sorted((out / "evals").glob("*.parquet"))]
    again, corrupt, resumed, on_cpu, ev = run_many([
        ["train", "--config", str(cfg), "--out", str(out), "--no-progress"],
        ["train", "--config", str(cfg), "--base", str(bad), "--out", str(tmp_path / "x"), "--no-progress"],
        ["train", "--resume", str(out), "--no-progress"],
        ["train", "--resume", str(out), "--device", "cpu", "--no-progress"],  # the one option a resume takes
        ["eval", *evals, "--by", "step", "--k", "1,2,8", "--n-boot", "50"],
    ])
    assert again[0] == 2 and "already holds a run" in again[2]
    assert corrupt[0] == 2 and "corrupt" in corrupt[2] and "Traceback" not in corrupt[2]
    assert resumed[0] == 0 and "at step 2 of 2" in resumed[1], resumed[2]
    assert on_cpu[0] == 0 and "at step 2 of 2" in on_cpu[1], on_cpu[2]
    assert json.loads((out / "config.json").read_text())["device"] == "cpu"  # unchanged by the override
    assert ev[0] == 0, ev[2]
    assert "step=2" in ev[1] and "step=0" in ev[1]

def test_import_passlens_does_not_import_torch() -> None:
    code = "import sys, passlens, passlens.cli, passlens.rl.tasks; print('torch' in sys.modules)"
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.stdout.strip() == "False", p.stderr
