"""kill -9 of ``passlens train`` at a schedule of instants, then ``--resume``: the run ends bit for bit as an
uninterrupted one (metrics, evaluations, checkpoints with their optimizer and RNG states); kill -9 of
``passlens lab run`` over earlier results: the folder holds the old results or the new, whole, and the next
run ends as an uninterrupted one.

The schedule is deterministic and has two parts (36 kills in all):

* **every write**: the process kills itself with SIGKILL at the n-th rename of a temporary over its target
  (``passlens._output.write_file``'s commit), just before it (the temporary written whole, the target still
  the old one) — for every file the run writes, in order — and just after the last one. Between two renames
  only computation happens (and the run folder's creation), so these are every state the run's files pass
  through, each with a killed writer's temporary beside it. The order itself is asserted (:data:`TRAIN_WRITES`): a change in the commit
  order fails one named test instead of silently moving the kill points.
* **instants drawn by a seeded RNG** (one per stratum of (0, 1)) as fractions of the uninterrupted run's
  duration, measured on this machine (the faster of two uninterrupted runs), not fixed seconds, which a slow
  or fast machine moves out of the run. For ``train`` the delay runs from the moment its config.json is in place (before
  it, the process only imports and parses) to its exit. A kill that finds the run already finished (the
  exit status says which) is tried again at half the delay from a fresh start, and reported (a
  :class:`LateKill` warning in the test summary), so every trial kills a running process; each asserts it.

Start-up would dominate: a ``python -m passlens train`` spends ~5 s importing torch before its 0.2 s of
work. So the killed runs, and what follows them, are children of one server process that imported torch and
passlens once: ``fork``, then the CLI's ``main(argv)``, exactly what ``python -m passlens`` runs. It imports
no polars (whose import starts threads) and runs nothing before forking; that it has one thread is asserted.
The reference runs are real ``python -m passlens`` subprocesses, and the server's own uninterrupted runs
are checked against them bit for bit.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Iterator, NamedTuple

import pytest

pytest.importorskip("torch")

import passlens  # noqa: E402
from passlens.rl.checkpoint import RunLock, load_checkpoint  # noqa: E402

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists() or not hasattr(os, "fork"),
                                reason="forks a server; reads /proc/PID/stat")

SRC = Path(passlens.__file__).parents[1]
ENV = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
           PYTHONWARNINGS="ignore", COLUMNS="200", NO_COLOR="1",
           PYTHONPATH=os.pathsep.join(p for p in (str(SRC), os.environ.get("PYTHONPATH", "")) if p))
HANG = 300  # seconds: a guard against a hung process, never a measure of speed

# --------------------------------------------------------------------------- the fork server

_SERVER = r"""
import json, os, signal, sys, traceback
import torch, torch._dynamo  # torch.optim imports dynamo on first use: seconds of every run's start
import passlens.cli.lab, passlens.cli.train, passlens.diagnostics, passlens.grouping, passlens.lab.dynamics
import passlens.rl.trainer, passlens.rl.warmstart, pydantic, torch.profiler  # (what the commands import)
from passlens.cli import main

def renames(kill_at, trace):
    # the n-th rename (write_file's commit of a temporary over its target): SIGKILL before or after it
    real, seen = os.replace, [0]
    def replace(src, dst, *args, **kwargs):
        seen[0] += 1
        if trace:
            with open(trace, "a") as fh:
                fh.write(os.fspath(dst) + "\n")
        if kill_at and kill_at == [seen[0], "before"]:
            os.kill(os.getpid(), signal.SIGKILL)
        real(src, dst, *args, **kwargs)
        if kill_at and kill_at == [seen[0], "after"]:
            os.kill(os.getpid(), signal.SIGKILL)
    os.replace = replace

def child(req):
    code = 1
    try:
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        os.dup2(os.open(req["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), 1)
        os.dup2(os.open(req["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), 2)
        renames(req.get("kill_at"), req.get("trace"))
        sys.argv = ["passlens", *req["argv"]]
        main(req["argv"])
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)

threads = os.listdir("/proc/self/task")
print("ready" if len(threads) == 1 else f"{len(threads)} threads: forking would copy their locks", flush=True)
for line in sys.stdin:
    req = json.loads(line)
    if "wait" in req:
        print(os.waitpid(req["wait"], 0)[1], flush=True)
        continue
    pid = os.fork()
    if pid == 0:
        child(req)
    print(pid, flush=True)
"""


class Done(NamedTuple):
    code: int  # exit code; -9 when killed by SIGKILL
    stdout: str
    stderr: str


class Server:
    """``passlens ARGV`` in forked children of one process that imported torch and passlens once."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.count = 0  # children started
        self.started: dict[int, tuple[Path, Path]] = {}  # pid: its stdout and stderr files, until reaped
        self.p = subprocess.Popen([sys.executable, "-c", _SERVER], env=ENV, text=True,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert self.p.stdin is not None and self.p.stdout is not None
        self.stdin, self.stdout = self.p.stdin, self.p.stdout
        ready = self.stdout.readline().strip()
        assert ready == "ready", ready

    def _ask(self, req: dict[str, Any]) -> int:
        self.stdin.write(json.dumps(req) + "\n")
        self.stdin.flush()
        return int(self.stdout.readline())

    def start(self, *argv: str, kill_at: tuple[int, str] | None = None, trace: Path | None = None) -> int:
        """Start ``passlens ARGV``; its pid. ``kill_at=(n, "before"|"after")``: it kills itself at its n-th
        rename; ``trace``: a file it appends each rename's target to."""
        self.count += 1
        out, err = self.logs / f"{self.count}.out", self.logs / f"{self.count}.err"
        pid = self._ask({"argv": list(argv), "stdout": str(out), "stderr": str(err), "kill_at": kill_at,
                         "trace": str(trace) if trace else None})
        self.started[pid] = (out, err)
        return pid

    @staticmethod
    def finished(pid: int) -> bool:
        """Whether the child has ended (a zombie until :meth:`wait` has the server reap it)."""
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X")

    def wait(self, pid: int) -> Done:
        """Reap the child: its exit code (-9 when SIGKILL ended it) and output."""
        deadline = time.monotonic() + HANG
        while not self.finished(pid) and time.monotonic() < deadline:
            time.sleep(0.002)
        if not self.finished(pid):  # hung: end it (and the test fails on its exit code)
            os.kill(pid, signal.SIGKILL)
        code = os.waitstatus_to_exitcode(self._ask({"wait": pid}))
        out, err = self.started.pop(pid)
        return Done(code, out.read_text(), err.read_text())

    def run(self, *argv: str, trace: Path | None = None) -> Done:
        """``passlens ARGV`` to the end; asserts exit 0."""
        done = self.wait(self.start(*argv, trace=trace))
        assert done.code == 0, done.stderr
        return done

    def close(self) -> None:
        self.stdin.close()
        self.p.wait(timeout=60)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s = Server(tmp_path_factory.mktemp("server_logs"))
    yield s
    s.close()


def _kill_after(server: Server, argv: list[str], fraction: float, window: float, reset: Callable[[], None],
                after: Path | None = None) -> tuple[Done, int]:
    """Start ``passlens ARGV`` and SIGKILL it ``fraction`` of ``window`` seconds after it started (or after
    the file ``after`` appeared). A kill that finds the run finished is tried again at half the delay, after
    ``reset()`` (which puts the output folder back as it was). Returns the killed run's result and how many
    runs had ended before their kill."""
    for attempt in range(12):
        if attempt:
            reset()
        pid = server.start(*argv)
        while after is not None and not after.exists() and not server.finished(pid):
            time.sleep(0.0005)
        t0 = time.perf_counter()
        delay = fraction * window / 2 ** attempt
        while time.perf_counter() - t0 < delay and not server.finished(pid):
            time.sleep(0.0005)
        os.kill(pid, signal.SIGKILL)
        done = server.wait(pid)
        if done.code == -signal.SIGKILL:
            break
        assert done.code == 0, done.stderr
    if attempt:  # reported, not hidden: the trial's instant moved earlier
        warnings.warn(f"{attempt} kill(s) at {fraction:.3f} of the reference run's {window:.2f} s found the run "
                      f"ended; killed at {fraction / 2 ** attempt:.3f}", LateKill, stacklevel=2)
    return done, attempt


def _timed_run(server: Server, argv: list[str], trace: Path | None = None, after: Path | None = None) -> float:
    """Run ``passlens ARGV`` to the end (its renames traced to ``trace``); the seconds from its start (or from
    the moment the file ``after`` appeared) to its exit."""
    pid = server.start(*argv, trace=trace)
    while after is not None and not after.exists() and not server.finished(pid):
        time.sleep(0.0005)
    t0 = time.perf_counter()
    while not server.finished(pid):
        time.sleep(0.0005)
    seconds = time.perf_counter() - t0
    done = server.wait(pid)
    assert done.code == 0, done.stderr
    return seconds


class LateKill(UserWarning):
    """A timed kill that came after the run had ended (the machine ran faster than for the reference)."""


def _fractions(seed: int, count: int) -> list[float]:
    """``count`` kill instants in (0, 1) of a run's duration, spread (one per stratum) and seeded."""
    rng = random.Random(seed)
    return [round((i + rng.random()) / count, 3) for i in range(count)]


# --------------------------------------------------------------------------- passlens train

TINY = {
    "task": "addition", "difficulty": 1, "steps": 6, "prompts_per_step": 4, "n": 4, "train_problems": 40,
    "eval_problems": 4, "eval_every": 2, "save_every": 2, "eval_n": 4, "seed": 3,
    "model": {"d_model": 32, "n_layer": 1, "n_head": 2, "block_size": 32},
    "warm": {"steps": 2, "batch": 8},
}

#: Every file a TINY run writes, in order: config, the warm start, step 0's evaluation, then per step its
#: checkpoint (save points), its metrics row, its evaluation (eval points).
TRAIN_WRITES = [
    "config.json", "checkpoints/base.pt", "evals/step_000000.parquet", "evals/step_000000.json",
    "metrics.parquet",
    "checkpoints/latest.pt", "metrics.parquet", "evals/step_000002.parquet", "evals/step_000002.json",
    "metrics.parquet",
    "checkpoints/latest.pt", "metrics.parquet", "evals/step_000004.parquet", "evals/step_000004.json",
    "metrics.parquet",
    "checkpoints/latest.pt", "metrics.parquet", "evals/step_000006.parquet", "evals/step_000006.json",
]
TRAIN_POINTS: list[tuple[int, str]] = [(i + 1, "before") for i in range(len(TRAIN_WRITES))]
TRAIN_POINTS.append((len(TRAIN_WRITES), "after"))  # every file written; killed while printing the summary
TRAIN_FRACTIONS = _fractions(19, 8)


def _point_id(point: tuple[int, str], writes: list[str]) -> str:
    n, when = point
    return f"{when} rename {n} ({writes[n - 1]})"


def _train_argv(*args: str) -> list[str]:
    return ["train", *args, "--device", "cpu", "--no-progress"]


def _tensors(obj: Any) -> Any:
    """A checkpoint's payload with tensors as (dtype, shape, values), for exact comparison."""
    if hasattr(obj, "tolist") and hasattr(obj, "dtype"):
        return (str(obj.dtype), tuple(obj.shape), obj.tolist())
    if isinstance(obj, dict):
        return {k: _tensors(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_tensors(v) for v in obj]
    return obj


def _state(run: Path) -> dict[str, Any]:
    """What an uninterrupted run leaves, wall times left out: metrics rows, evaluations (rows and summaries),
    both checkpoints whole (weights, optimizer, RNG and estimator states, the metrics they carry)."""
    import polars as pl

    metrics = pl.read_parquet(run / "metrics.parquet").drop("seconds").to_dicts()
    evals: dict[str, Any] = {f.name: json.loads(f.read_text()) for f in sorted((run / "evals").glob("*.json"))}
    evals |= {f.name: pl.read_parquet(f).to_dicts() for f in sorted((run / "evals").glob("*.parquet"))}
    latest = load_checkpoint(run / "checkpoints" / "latest.pt")
    latest["metrics"] = [{k: v for k, v in row.items() if k != "seconds"} for row in json.loads(latest["metrics"])]
    base = load_checkpoint(run / "checkpoints" / "base.pt")
    return {"metrics": metrics, "evals": evals, "latest": _tensors(latest), "base": _tensors(base)}


class TrainReference(NamedTuple):
    config: Path
    state: dict[str, Any]
    writes: list[str]  # the files the server's uninterrupted run renamed into place, in order
    seconds: float  # its duration from the moment its config.json was in place to its exit (the faster of two)


@pytest.fixture(scope="module")
def train_reference(server: Server, tmp_path_factory: pytest.TempPathFactory) -> TrainReference:
    """An uninterrupted ``python -m passlens train`` (a real subprocess), and the same run in the server,
    timed and with its renames traced; the two end bit for bit the same."""
    root = tmp_path_factory.mktemp("faults")
    cfg = root / "tiny.json"
    cfg.write_text(json.dumps(TINY))
    p = subprocess.run([sys.executable, "-m", "passlens", *_train_argv("--config", str(cfg), "--out",
                        str(root / "reference"))], env=ENV, capture_output=True, text=True, timeout=HANG)
    assert p.returncode == 0, p.stderr
    want = _state(root / "reference")
    trace = root / "renames.txt"
    seconds = [_timed_run(server, _train_argv("--config", str(cfg), "--out", str(out)), trace if i == 0 else None,
                          after=out / "config.json") for i, out in enumerate([root / "forked", root / "again"])]
    assert _state(root / "forked") == want
    writes = [str(Path(line).relative_to(root / "forked")) for line in trace.read_text().splitlines()]
    return TrainReference(cfg, want, writes, min(seconds))  # the faster: a slow one moves kills past the end


def test_the_kill_points_are_every_write_of_the_run(train_reference: TrainReference) -> None:
    """The schedule of rename kill points follows the run's commit order; a change there must update it."""
    assert train_reference.writes == TRAIN_WRITES


def _resume_and_check(server: Server, ref: TrainReference, run: Path) -> None:
    if (run / "config.json").exists():
        server.run(*_train_argv("--resume", str(run)))
    else:  # killed before config.json was in place: a new start is the only way on
        server.run(*_train_argv("--config", str(ref.config), "--out", str(run)))
    assert _state(run) == ref.state
    assert not [f for f in run.rglob(".*.tmp*")]  # what the killed writer left was cleaned up


@pytest.mark.parametrize("point", TRAIN_POINTS, ids=[_point_id(p, TRAIN_WRITES) for p in TRAIN_POINTS])
def test_kill_9_at_a_write_then_resume_ends_as_the_uninterrupted_run(
        server: Server, train_reference: TrainReference, tmp_path: Path, point: tuple[int, str]) -> None:
    run = tmp_path / "run"
    done = server.wait(server.start(*_train_argv("--config", str(train_reference.config), "--out", str(run)),
                                    kill_at=point))
    assert done.code == -signal.SIGKILL, done.stderr  # the kill point was reached
    _resume_and_check(server, train_reference, run)


@pytest.mark.parametrize("fraction", TRAIN_FRACTIONS, ids=[f"at {f:.3f} of the run" for f in TRAIN_FRACTIONS])
def test_kill_9_at_an_instant_then_resume_ends_as_the_uninterrupted_run(
        server: Server, train_reference: TrainReference, tmp_path: Path, fraction: float) -> None:
    run = tmp_path / "run"
    argv = _train_argv("--config", str(train_reference.config), "--out", str(run))
    done, late = _kill_after(server, argv, fraction, train_reference.seconds,
                             reset=lambda: shutil.rmtree(run, ignore_errors=True), after=run / "config.json")
    assert done.code == -signal.SIGKILL, f"{late} kills came after the run had ended"
    _resume_and_check(server, train_reference, run)


def test_a_second_process_on_the_same_run_is_refused(server: Server, train_reference: TrainReference,
                                                     tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(train_reference.config.parent / "reference", run)
    (run / "checkpoints" / ".latest.pt.tmp999999").write_bytes(b"half a checkpoint")
    lock = RunLock(run)  # another process holds the run
    try:
        p = subprocess.run([sys.executable, "-m", "passlens", *_train_argv("--resume", str(run))], env=ENV,
                           capture_output=True, text=True, timeout=HANG)
        assert p.returncode == 2
        assert p.stderr.count("\n") == 1 and "is in use by another passlens train process" in p.stderr
        assert (run / "checkpoints" / ".latest.pt.tmp999999").exists()  # nothing touched without the lock
    finally:
        lock.release()
    server.run(*_train_argv("--resume", str(run)))
    assert not (run / "checkpoints" / ".latest.pt.tmp999999").exists()


# --------------------------------------------------------------------------- passlens lab run

LAB = ["-o", "rloo", "-o", "pkpo:k=8", "--seeds", "2", "--steps", "60", "--problems", "200", "--workers", "1",
       "--no-plots"]
#: What ``lab run`` writes: config.json, then metrics.parquet (the commit point, which carries its config).
LAB_WRITES = ["config.json", "metrics.parquet"]
LAB_POINTS = [(1, "before"), (2, "before"), (2, "after")]
LAB_FRACTIONS = _fractions(20, 5)


def _lab(*args: str) -> str:
    p = subprocess.run([sys.executable, "-m", "passlens", "lab", *args], env=ENV, capture_output=True, text=True,
                       timeout=HANG)
    assert p.returncode == 0, p.stderr
    return p.stdout


class LabReference(NamedTuple):
    old: Path  # a finished run with --seed 0: the results a rerun with --seed 1 replaces
    show_old: str
    show_new: str  # what ``lab show`` prints for the --seed 1 run
    writes: list[str]
    seconds: float  # the rerun's duration in the server (the faster of two)


@pytest.fixture(scope="module")
def lab_reference(server: Server, tmp_path_factory: pytest.TempPathFactory) -> LabReference:
    """Real ``python -m passlens lab`` runs with --seed 0 and --seed 1, what ``lab show`` prints for each, and
    the --seed 1 rerun over the --seed 0 results in the server: timed, its renames traced, the same output."""
    root = tmp_path_factory.mktemp("lab_faults")
    _lab("run", *LAB, "--seed", "0", "--out", str(root / "old"))
    _lab("run", *LAB, "--seed", "1", "--out", str(root / "new"))
    ref = LabReference(root / "old", _lab("show", str(root / "old")), _lab("show", str(root / "new")), [], 0.0)
    shutil.copytree(ref.old, root / "forked")
    trace = root / "renames.txt"
    seconds = _timed_run(server, ["lab", "run", *LAB, "--seed", "1", "--out", str(root / "forked")], trace)
    assert server.run("lab", "show", str(root / "forked")).stdout == ref.show_new
    shutil.copytree(ref.old, root / "again")
    seconds = min(seconds, _timed_run(server, ["lab", "run", *LAB, "--seed", "1", "--out", str(root / "again")]))
    writes = [str(Path(line).relative_to(root / "forked")) for line in trace.read_text().splitlines()]
    return ref._replace(writes=writes, seconds=seconds)


def test_the_lab_kill_points_are_every_write_of_the_run(lab_reference: LabReference) -> None:
    assert lab_reference.writes == LAB_WRITES


def _lab_rerun_and_check(server: Server, ref: LabReference, run: Path) -> None:
    """``lab show`` gives the old results or the new ones (never a mix of the new config.json with the old
    table), and the next run cleans up and ends as an uninterrupted one."""
    assert server.run("lab", "show", str(run)).stdout in (ref.show_old, ref.show_new)
    server.run("lab", "run", *LAB, "--seed", "1", "--out", str(run))
    assert server.run("lab", "show", str(run)).stdout == ref.show_new
    assert not list(run.glob(".*.tmp"))


@pytest.mark.parametrize("point", LAB_POINTS, ids=[_point_id(p, LAB_WRITES) for p in LAB_POINTS])
def test_kill_9_of_lab_run_at_a_write_leaves_the_old_results_or_the_new(
        server: Server, lab_reference: LabReference, tmp_path: Path, point: tuple[int, str]) -> None:
    run = tmp_path / "run"
    shutil.copytree(lab_reference.old, run)
    done = server.wait(server.start("lab", "run", *LAB, "--seed", "1", "--out", str(run), kill_at=point))
    assert done.code == -signal.SIGKILL, done.stderr
    _lab_rerun_and_check(server, lab_reference, run)


@pytest.mark.parametrize("fraction", LAB_FRACTIONS, ids=[f"at {f:.3f} of the run" for f in LAB_FRACTIONS])
def test_kill_9_of_lab_run_at_an_instant_leaves_the_old_results_or_the_new(
        server: Server, lab_reference: LabReference, tmp_path: Path, fraction: float) -> None:
    run = tmp_path / "run"
    shutil.copytree(lab_reference.old, run)
    argv = ["lab", "run", *LAB, "--seed", "1", "--out", str(run)]

    def reset() -> None:
        shutil.rmtree(run)
        shutil.copytree(lab_reference.old, run)

    done, late = _kill_after(server, argv, fraction, lab_reference.seconds, reset)
    assert done.code == -signal.SIGKILL, f"{late} kills came after the run had ended"
    _lab_rerun_and_check(server, lab_reference, run)


def test_lab_results_are_read_with_their_own_config(lab_reference: LabReference, tmp_path: Path) -> None:
    """The state a kill between the save's two files leaves, built directly: the newer config.json is not used."""
    run = tmp_path / "run"
    shutil.copytree(lab_reference.old, run)
    payload = json.loads((run / "config.json").read_text())
    payload["config"]["k_ref"] = 4  # a different run's configuration beside the old table
    (run / "config.json").write_text(json.dumps(payload))
    assert _lab("show", str(run)) == lab_reference.show_old


def test_a_second_lab_run_on_the_same_folder_is_refused(lab_reference: LabReference, tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(lab_reference.old, run)
    lock = RunLock(run)  # another process holds the folder
    try:
        p = subprocess.run([sys.executable, "-m", "passlens", "lab", "run", *LAB, "--seed", "1", "--out", str(run)],
                           env=ENV, capture_output=True, text=True, timeout=HANG)
        assert p.returncode == 2
        assert p.stderr.count("\n") == 1 and "is in use by another passlens lab run process" in p.stderr
    finally:
        lock.release()
    assert _lab("show", str(run)) == lab_reference.show_old
