"""kill -9 of ``passlens train`` at chosen instants, then ``--resume``: the run ends bit for bit as an
uninterrupted one (metrics, evaluations, final weights); kill -9 of ``passlens lab run`` over earlier
results: the folder holds the old results or the new, whole. The kill points are a fixed schedule: the
moment a given file appears (the first metrics row, a checkpoint's temporary file, the checkpoint,
an evaluation) and a few fixed delays; the assertion holds whichever instant a delay lands on."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")

from passlens.rl.checkpoint import RunLock, load_checkpoint  # noqa: E402

TINY = {
    "task": "addition", "difficulty": 1, "steps": 6, "prompts_per_step": 4, "n": 4, "train_problems": 40,
    "eval_problems": 4, "eval_every": 2, "save_every": 2, "eval_n": 4, "seed": 3,
    "model": {"d_model": 32, "n_layer": 1, "n_head": 2, "block_size": 32},
    "warm": {"steps": 2, "batch": 8},
}
ENV = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONWARNINGS="ignore")


def _train(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "passlens", "train", *args, "--device", "cpu", "--no-progress"],
                            env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _finish(*args: str) -> None:
    p = _train(*args)
    _, err = p.communicate(timeout=300)
    assert p.returncode == 0, err.decode()


def _state(run: Path) -> dict[str, Any]:
    """What an uninterrupted run leaves: metrics rows (without wall times), evaluations, final weights."""
    import polars as pl

    metrics = pl.read_parquet(run / "metrics.parquet").drop("seconds").to_dicts()
    evals = {f.name: json.loads(f.read_text()) for f in sorted((run / "evals").glob("*.json"))}
    weights = load_checkpoint(run / "checkpoints" / "latest.pt")["model"]
    return {"metrics": metrics, "evals": evals, "weights": {k: v.tolist() for k, v in weights.items()}}


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    root = tmp_path_factory.mktemp("faults")
    cfg = root / "tiny.json"
    cfg.write_text(json.dumps(TINY))
    _finish("--config", str(cfg), "--out", str(root / "reference"))
    return cfg, _state(root / "reference")


def _kill_when(run: Path, trigger: str, started: float) -> bool:
    if trigger.startswith("after "):
        return time.perf_counter() - started >= float(trigger.split()[1])
    if trigger == "checkpoint temporary":
        return any((run / "checkpoints").glob(".latest.pt.tmp*")) if (run / "checkpoints").exists() else False
    return (run / trigger).exists()


TRIGGERS = [
    "metrics.parquet",  # the first step's row
    "checkpoint temporary",  # mid-write of the first step checkpoint
    "checkpoints/latest.pt",  # just after the first save, before its metrics row and evaluation
    "evals/step_000002.json",  # after step 2's evaluation
    "evals/step_000004.parquet",  # between an evaluation's rows and its summary
    "after 2.5",
    "after 4.0",
    "after 5.5",
]


@pytest.mark.parametrize("trigger", TRIGGERS)
def test_kill_9_then_resume_ends_as_the_uninterrupted_run(reference: Any, tmp_path: Path, trigger: str) -> None:
    cfg, want = reference
    run = tmp_path / "run"
    p = _train("--config", str(cfg), "--out", str(run))
    started = time.perf_counter()
    killed = False
    while p.poll() is None:
        if _kill_when(run, trigger, started):
            p.send_signal(signal.SIGKILL)
            killed = True
            break
        time.sleep(0.0005)
    p.wait(timeout=60)
    if not killed:  # the run finished before the trigger: nothing to resume, and it must still be right
        assert p.returncode == 0
    if (run / "config.json").exists():
        _finish("--resume", str(run))
    else:  # killed before the run folder was written: a new start is the only way on
        _finish("--config", str(cfg), "--out", str(run))
    assert _state(run) == want
    assert not [f for f in run.rglob(".*.tmp*")]  # what the killed writer left was cleaned up


def test_a_second_process_on_the_same_run_is_refused(reference: Any, tmp_path: Path) -> None:
    cfg, _ = reference
    run = tmp_path / "run"
    _finish("--config", str(cfg), "--out", str(run))
    (run / "checkpoints" / ".latest.pt.tmp999999").write_bytes(b"half a checkpoint")
    lock = RunLock(run)  # another process holds the run
    try:
        p = _train("--resume", str(run))
        _, err = p.communicate(timeout=120)
        assert p.returncode == 2
        msg = err.decode()
        assert msg.count("\n") == 1 and "is in use by another passlens train process" in msg
        assert (run / "checkpoints" / ".latest.pt.tmp999999").exists()  # nothing touched without the lock
    finally:
        lock.release()
    _finish("--resume", str(run))
    assert not (run / "checkpoints" / ".latest.pt.tmp999999").exists()


# --------------------------------------------------------------------------- passlens lab run

LAB = ["-o", "rloo", "-o", "pkpo:k=8", "--seeds", "2", "--steps", "60", "--problems", "200", "--workers", "1",
       "--no-plots"]


def _lab(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "passlens", "lab", *args], env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _lab_done(*args: str) -> str:
    p = _lab(*args)
    out, err = p.communicate(timeout=300)
    assert p.returncode == 0, err.decode()
    return out.decode()


@pytest.fixture(scope="module")
def lab_reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """A finished lab run with --seed 0 (the old results) and what ``lab show`` prints for it and for --seed 1."""
    root = tmp_path_factory.mktemp("lab_faults")
    _lab_done("run", *LAB, "--seed", "0", "--out", str(root / "old"))
    _lab_done("run", *LAB, "--seed", "1", "--out", str(root / "new"))
    return root / "old", _lab_done("show", str(root / "old")), _lab_done("show", str(root / "new"))


def _lab_kill_when(run: Path, trigger: str, started: float, old_config: bytes) -> bool:
    if trigger.startswith("after "):
        return time.perf_counter() - started >= float(trigger.split()[1])
    if trigger == "config.json replaced":  # between the two files of the save
        return (run / "config.json").read_bytes() != old_config
    return any(run.glob(f".{trigger}.*.tmp"))  # mid-write of that file (config.json's is too short to catch)


LAB_TRIGGERS = ["config.json replaced", "metrics.parquet", "after 0.5", "after 1.0", "after 1.5", "after 2.5"]


@pytest.mark.parametrize("trigger", LAB_TRIGGERS)
def test_kill_9_of_lab_run_leaves_the_old_results_or_the_new(lab_reference: Any, tmp_path: Path, trigger: str) -> None:
    """A rerun into a folder that holds results, killed at any instant: ``lab show`` gives the old results or
    the new ones (never a mix of the new config.json with the old table), and the next run cleans up and ends
    as an uninterrupted one."""
    import shutil

    old, show_old, show_new = lab_reference
    run = tmp_path / "run"
    shutil.copytree(old, run)
    old_config = (run / "config.json").read_bytes()
    p = _lab("run", *LAB, "--seed", "1", "--out", str(run))
    started = time.perf_counter()
    while p.poll() is None:
        if _lab_kill_when(run, trigger, started, old_config):
            p.send_signal(signal.SIGKILL)
            break
        time.sleep(0.0002)
    p.wait(timeout=60)
    assert _lab_done("show", str(run)) in (show_old, show_new)
    _lab_done("run", *LAB, "--seed", "1", "--out", str(run))
    assert _lab_done("show", str(run)) == show_new
    assert not list(run.glob(".*.tmp"))


def test_lab_results_are_read_with_their_own_config(lab_reference: Any, tmp_path: Path) -> None:
    """The state a kill between the save's two files leaves, built directly: the newer config.json is not used."""
    import shutil

    old, show_old, _ = lab_reference
    run = tmp_path / "run"
    shutil.copytree(old, run)
    payload = json.loads((run / "config.json").read_text())
    payload["config"]["k_ref"] = 4  # a different run's configuration beside the old table
    (run / "config.json").write_text(json.dumps(payload))
    assert _lab_done("show", str(run)) == show_old


def test_a_second_lab_run_on_the_same_folder_is_refused(lab_reference: Any, tmp_path: Path) -> None:
    import shutil

    old, show_old, _ = lab_reference
    run = tmp_path / "run"
    shutil.copytree(old, run)
    lock = RunLock(run)  # another process holds the folder
    try:
        p = _lab("run", *LAB, "--seed", "1", "--out", str(run))
        _, err = p.communicate(timeout=120)
        assert p.returncode == 2
        msg = err.decode()
        assert msg.count("\n") == 1 and "is in use by another passlens lab run process" in msg
    finally:
        lock.release()
    assert _lab_done("show", str(run)) == show_old
