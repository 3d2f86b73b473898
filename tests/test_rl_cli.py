"""``passlens train`` through the real entry point (subprocesses, tiny config).

A real ``python -m passlens train`` run and ``--help`` each get their own interpreter; matrices
of further invocations go through the same ``passlens.cli.main`` inside ONE extra subprocess
(importing torch and polars costs seconds of CPU per interpreter on a shared 2-core machine).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")

TINY = {
    "task": "addition", "difficulty": 1, "steps": 2, "prompts_per_step": 4, "n": 4, "train_problems": 40,
    "eval_problems": 4, "eval_every": 2, "eval_n": 8,
    "model": {"d_model": 32, "n_layer": 2, "n_head": 2, "block_size": 32},
    "warm": {"steps": 3, "batch": 8},
}


def test_help_lists_tasks_and_objectives(cli) -> None:
    p = cli.run("train", "--help")
    assert p.returncode == 0
    text = " ".join(p.stdout.split())
    for name in ("addition", "countdown", "graph_path", "rloo", "pkpo", "coverage", "--resume", "--device"):
        assert name in text, name


BAD = [
    (["--task", "chess"], "unknown task 'chess'"),
    (["--objective", "magic"], "unknown advantage estimator 'magic'"),
    (["--objective", "pkpo:q=3"], "unknown parameter"),
    (["--objective", "rloo@x+coverage:k=4"], "objective 'rloo@x+coverage:k=4': weight 'x' is not a number"),
    (["--objective", "rloo/300"], "objective 'rloo/300': a schedule alternates phases and windows"),
    (["--resume", "/nonexistent/run"], "not a run directory"),
    (["--device", "tpu"], "device must be auto, cpu or cuda"),
    (["--resume", "/nonexistent/run", "--objective", "rloo"], "(only --device and --steps may change); drop --objective"),
    (["--resume", "/nonexistent/run", "--steps", "5"], "not a run directory"),
    (["--resume", "/nonexistent/run", "--device", "tpu"], "--device: must be auto, cpu or cuda, got 'tpu'"),
]


def test_bad_options_exit_2_with_one_line(cli) -> None:
    results = cli.many([["train", *args, "--no-progress"] for args, _ in BAD])
    for (args, needle), res in zip(BAD, results):
        cli.one_line_error(res, needle)
        assert res.stderr.count("\n") == 1, (args, res.stderr)


SMALL = ["--device", "cpu", "--task", "addition", "--steps", "2", "--warm-steps", "1", "--prompts-per-step", "2",
         "--n", "2", "--eval-n", "2", "--eval-problems", "2", "--eval-every", "0", "--no-progress"]

BAD_VALUES = [  # options: the error names the option and the field
    (["--entropy-bonus", "nan"], "--entropy-bonus: entropy_coef must be a finite number ≥ 0, got nan"),
    (["--entropy-bonus", "inf"], "--entropy-bonus: entropy_coef must be a finite number ≥ 0, got inf"),
    (["--entropy-bonus", "-1"], "--entropy-bonus: entropy_coef must be a finite number ≥ 0, got -1.0"),
    (["--kl", "inf"], "--kl: kl_coef must be a finite number ≥ 0, got inf"),
    (["--kl", "nan"], "--kl: kl_coef must be a finite number ≥ 0, got nan"),
    (["--kl", "-1"], "--kl: kl_coef must be a finite number ≥ 0, got -1.0"),
    (["--lr", "inf"], "--lr: lr must be a finite number in (0, 1], got inf"),
    (["--warm-steps", "-1"], "--warm-steps: warm.steps must be an int in [0, 10000000], got -1"),
    (["--temperature", "inf"], "--temperature: temperature must be a finite number ≥ 1e-8, got inf"),
    (["--seed", "-1"], "--seed: seed must be an int in [0, 4294967295], got -1"),
    (["--n", "99999999999999999999"], "--n: n must be an int in [1, 65536], got 99999999999999999999"),
    # what the objective needs of n fails before the warm start (a dry run on one dummy group)
    (["--n", "1"], "--n: objective rloo with n=1 samples per prompt: rloo needs n ≥ 2 samples per group, got n=1"),
    # a base checkpoint that is not there fails before the run folder is made
    (["--base", "/nonexistent/base.pt"], "checkpoint /nonexistent/base.pt does not exist"),
]

BAD_FILES = [  # --config files: the error names the file and the field path
    ({"grad_clip": -1}, "grad_clip must be a finite number > 0, got -1"),
    ({"warm": {"noise": -1}}, "warm.noise must be a finite number in [0, 1], got -1"),
    ({"max_new": 0}, "max_new must be an int in [1, 95] or null, got 0"),
    ({"kl_coef": True}, "kl_coef must be a finite number ≥ 0, got True"),
    ({"lr": "abc"}, "lr must be a finite number in (0, 1], got 'abc'"),
    ({"seed": "0"}, "seed must be an int in [0, 4294967295], got '0'"),
    ({"model": "abc"}, "model must be an object of ModelConfig fields, got 'abc'"),
    ({"warm": {"steps": "x"}}, "warm.steps must be an int in [0, 10000000], got 'x'"),
    ({"warm": "x"}, "warm must be an object of WarmStartConfig fields, got 'x'"),
    ({"top_p": None}, "top_p must be a finite number in (0, 1], got None"),
]


def test_bad_values_exit_2_naming_the_option_or_field(cli, tmp_path: Path) -> None:
    argvs, needles = [], []
    for args, needle in BAD_VALUES:
        argvs.append(["train", *SMALL, *args, "--out", str(tmp_path / f"run{len(argvs)}")])
        needles.append(f"passlens: error: {needle}\n")
    for fields, needle in BAD_FILES:
        cfg = tmp_path / f"c{len(argvs)}.json"
        cfg.write_text(json.dumps(fields))
        small = SMALL if "warm" not in fields else [a for a in SMALL if a not in ("--warm-steps", "1")]
        argvs.append(["train", *small, "--config", str(cfg), "--out", str(tmp_path / f"run{len(argvs)}")])
        needles.append(f"passlens: error: --config {cfg}: {needle}\n")
    dup = tmp_path / "dup.json"  # json.loads would keep the last "steps" silently
    dup.write_text('{"steps": 2, "steps": 3}')
    argvs.append(["train", *SMALL, "--config", str(dup), "--out", str(tmp_path / f"run{len(argvs)}")])
    needles.append(f"passlens: error: --config {dup}: field 'steps' is given twice\n")
    for argv, needle, res in zip(argvs, needles, cli.many(argvs)):
        assert res.returncode == 2 and res.stderr == needle, (argv, res.stderr)
    assert not list(tmp_path.glob("run*"))  # nothing trained, nothing written


def test_train_resume_and_eval_smoke(cli, tmp_path: Path) -> None:
    cfg = tmp_path / "tiny.json"
    cfg.write_text(json.dumps(TINY))
    out = tmp_path / "run"
    p = cli.run("train", "--config", str(cfg), "--objective", "pkpo:k=2", "--out", str(out), "--device", "cpu", "--no-progress")
    assert p.returncode == 0, p.stderr
    assert "held-out pass@k at step 2" in p.stdout
    assert json.loads((out / "config.json").read_text())["objective"] == "pkpo:k=2"
    for f in ("metrics.parquet", "checkpoints/base.pt", "checkpoints/latest.pt", "evals/step_000002.parquet"):
        assert (out / f).is_file(), f
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"\x00garbage")
    evals = [str(f) for f in sorted((out / "evals").glob("*.parquet"))]
    gone = tmp_path / "gone"  # a finished run whose checkpoints were deleted
    shutil.copytree(out, gone)
    shutil.rmtree(gone / "checkpoints")
    marked = tmp_path / "run_[bold]x[/bold]_:thumbs_up:"  # rich markup and an emoji code in a path
    shutil.copytree(out, marked)
    longer, shorter = tmp_path / "longer", tmp_path / "shorter"
    shutil.copytree(out, longer)
    shutil.copytree(out, shorter)
    again, corrupt, resumed, on_cpu, ev, lost, literal, extended, shortened = cli.many([
        ["train", "--config", str(cfg), "--out", str(out), "--no-progress"],
        ["train", "--config", str(cfg), "--base", str(bad), "--out", str(tmp_path / "x"), "--no-progress"],
        ["train", "--resume", str(out), "--no-progress"],
        ["train", "--resume", str(out), "--device", "cpu", "--no-progress"],  # the one option a resume takes
        ["eval", *evals, "--by", "step", "--k", "1,2,8", "--n-boot", "50"],
        ["train", "--resume", str(gone), "--no-progress"],
        ["train", "--resume", str(marked), "--no-progress"],
        ["train", "--resume", str(longer), "--steps", "3", "--no-progress"],  # a finished run, extended
        ["train", "--resume", str(shorter), "--steps", "1", "--no-progress"],
    ])
    assert lost.returncode == 2 and lost.stderr.count("\n") == 1 and "Traceback" not in lost.stderr, lost.stderr
    assert f"{gone / 'checkpoints' / 'latest.pt'} is missing, but the run had saved it at step 2" in lost.stderr
    assert not (gone / "checkpoints").exists()  # nothing restarted
    assert literal.returncode == 0, literal.stderr
    flat = "".join(literal.stdout.split())  # rich may wrap long lines
    assert f"resuming{marked}atstep2of2" in flat and f"rows:{marked}/evals/step_000002.parquet" in flat, literal.stdout
    assert again.returncode == 2 and "already holds a run" in again.stderr
    assert corrupt.returncode == 2 and "corrupt" in corrupt.stderr and "Traceback" not in corrupt.stderr
    assert resumed.returncode == 0 and "at step 2 of 2" in resumed.stdout, resumed.stderr
    assert on_cpu.returncode == 0 and "at step 2 of 2" in on_cpu.stdout, on_cpu.stderr
    assert json.loads((out / "config.json").read_text())["device"] == "cpu"  # unchanged by the override
    assert ev.returncode == 0, ev.stderr
    assert "step=2" in ev.stdout and "step=0" in ev.stdout
    assert extended.returncode == 0 and "at step 2 of 3" in extended.stdout, extended.stderr
    assert json.loads((longer / "config.json").read_text())["steps"] == 3
    assert (longer / "evals" / "step_000003.parquet").is_file()
    assert shortened.returncode == 2 and shortened.stderr.count("\n") == 1, shortened.stderr
    assert "--steps 1: the run has already reached step 2" in shortened.stderr
    assert json.loads((shorter / "config.json").read_text())["steps"] == 2

def test_import_passlens_does_not_import_torch() -> None:
    code = "import sys, passlens, passlens.cli, passlens.rl.tasks; print('torch' in sys.modules)"
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.stdout.strip() == "False", p.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_says_where_the_run_stopped_and_how_to_resume(cli, tmp_path: Path) -> None:
    import signal
    import time

    cfg = tmp_path / "tiny.json"
    cfg.write_text(json.dumps({**TINY, "steps": 100000, "eval_every": 100000}))
    out = tmp_path / "run"
    p = cli.popen(
        "train", "--config", str(cfg), "--out", str(out), "--no-progress", stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # a background shell may ignore SIGINT
    try:
        deadline = time.monotonic() + 120
        while not (out / "checkpoints" / "base.pt").exists() and time.monotonic() < deadline and p.poll() is None:
            time.sleep(0.05)
        time.sleep(0.5)  # into the RL steps
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()
    assert p.returncode == 130, err
    assert err.strip().splitlines()[-1].startswith("passlens: interrupted at step ")
    assert f"'passlens train --resume {out}' continues from its last checkpoint" in err
    assert "Traceback" not in err
