"""A full disk under every command that writes: one line on stderr naming what could not be written,
exit status 2, no traceback, and the outputs of the run before untouched.

Two ways to fill the disk, each test run with both where the machine allows:

* ``tmpfs``: a real 32 MiB tmpfs mounted over the output folder (needs root and the right to mount;
  skipped elsewhere), filled to the last byte after the first run: every write fails with ENOSPC,
  as on a full disk;
* ``fsize``: the second run under ``RLIMIT_FSIZE`` = 0 (SIGXFSZ ignored): every write of a regular
  file fails with EFBIG, anywhere, without privileges.

The first runs (the old outputs) and the second runs (on the full disk) go through one subprocess
each (``cli.many``): a full-disk run pays no import of its own.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

TINY_TRAIN = {
    "task": "addition", "difficulty": 1, "steps": 2, "prompts_per_step": 4, "n": 4, "train_problems": 40,
    "eval_problems": 4, "eval_every": 2, "save_every": 2, "eval_n": 4, "seed": 3,
    "model": {"d_model": 32, "n_layer": 1, "n_head": 2, "block_size": 32},
    "warm": {"steps": 2, "batch": 8},
}
# (torch and matplotlib imported first: with no file writable at all, their imports fail looking for a
# temporary folder, before passlens runs; the tmpfs case keeps /tmp and shows the commands' own writes)
FSIZE = (
    "import importlib.util, resource, signal\n"
    "for m in ('torch', 'matplotlib.pyplot'):\n"
    "    if importlib.util.find_spec(m.split('.')[0]): __import__(m)\n"
    "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
    "resource.setrlimit(resource.RLIMIT_FSIZE, (0, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))\n"
)


def _can_mount() -> bool:
    if not sys.platform.startswith("linux") or os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    return True


@pytest.fixture(params=["tmpfs", "fsize"])
def disk(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """(mechanism, the output folder)."""
    out = tmp_path / "disk"
    out.mkdir()
    if request.param == "tmpfs":
        if not _can_mount():
            pytest.skip("mounting a tmpfs needs root on Linux")
        res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", str(out)], capture_output=True)
        if res.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {res.stderr.decode().strip()}")
        try:
            yield "tmpfs", out
        finally:
            subprocess.run(["umount", "-l", str(out)], check=False)
    else:
        yield "fsize", out


def _fill(folder: Path) -> None:
    """Write filler files until the file system says it is full (64 KiB blocks, then single bytes)."""
    for name, size in (("filler", 1 << 16), ("filler2", 1)):
        try:
            with open(folder / name, "wb", buffering=0) as f:
                while f.write(b"\0" * size):
                    pass
        except OSError:
            pass


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.name.startswith("filler")
    }


def test_every_writing_command_fails_in_one_line_and_keeps_the_old_outputs(
    disk: tuple[str, Path], cli: Any, bundled: Path, tmp_path: Path
) -> None:
    pytest.importorskip("matplotlib")
    how, d = disk
    base, rl = str(bundled / "base.jsonl"), str(bundled / "rl.jsonl")
    cfg = tmp_path / "tiny.json"  # (outside the full disk)
    cfg.write_text(json.dumps(TINY_TRAIN))
    lab = ["lab", "run", "-o", "rloo", "--seeds", "1", "--problems", "20", "--answers", "8", "--workers", "1"]
    first = [
        ["eval", base, "--k", "1,2", "--n-boot", "20", "--json", str(d / "e.json"), "--csv", str(d / "e.csv")],
        ["compare", "--k", "1,2", "--n-boot", "20", "--json", str(d / "c.json")],
        ["report", "--k", "1,2", "--n-boot", "20", "--out", str(d / "report")],
        [*lab, "--steps", "10", "--out", str(d / "lab")],
        ["reproduce", "--quick", "--only", "1", "--out", str(d / "claims")],
        ["theory", "--k", "1,4", "--p", "0.1,0.5", "--plot", str(d / "figs")],
    ]
    # the second runs change every output (other budgets, steps, claims)
    second = [
        (["eval", rl, "--k", "1,4", "--n-boot", "20", "--json", str(d / "e.json")], "--json " + str(d / "e.json")),
        (["eval", rl, "--k", "1,4", "--n-boot", "20", "--csv", str(d / "e.csv")], "--csv " + str(d / "e.csv")),
        (["compare", "--k", "1,4", "--n-boot", "20", "--json", str(d / "c.json")], "--json " + str(d / "c.json")),
        (["report", "--k", "1,4", "--n-boot", "20", "--out", str(d / "report")], str(d / "report")),
        ([*lab, "--steps", "12", "--out", str(d / "lab")], str(d / "lab")),
        (["reproduce", "--quick", "--only", "1,2", "--out", str(d / "claims")], str(d / "claims")),
        (["theory", "--k", "1,8", "--p", "0.1,0.5", "--plot", str(d / "figs")], str(d / "figs")),
        (["train", "--config", str(cfg), "--device", "cpu", "--no-progress", "--out", str(d / "run")], str(d / "run")),
    ]
    for res in cli.many(first):
        assert res.returncode == 0, (res.args, res.stderr)
    old = _snapshot(d)
    assert {"e.json", "e.csv", "c.json", "report/metrics.json", "lab/metrics.parquet", "claims/claims.json",
            "figs/alpha.png"} <= set(old)
    if how == "tmpfs":
        _fill(d)
    results = cli.many([argv for argv, _ in second], prelude=FSIZE if how == "fsize" else "")
    reason = "No space left on device" if how == "tmpfs" else "File too large"
    for res, (_, names) in zip(results, second):
        line = cli.one_line_error(res, reason)
        assert names in line, (res.args, line)
    assert _snapshot(d) == {**old, **{k: v for k, v in _snapshot(d).items() if k.startswith("run/")}}
    assert not [p for p in d.rglob("*") if ".tmp" in p.name or ".old" in p.name]  # no temporaries left


def test_stdout_on_a_full_disk_is_one_line(disk: tuple[str, Path], cli: Any, bundled: Path) -> None:
    """``passlens eval … > file`` and ``--json -`` on a full disk: the tables could not be written."""
    how, d = disk
    if how == "tmpfs":
        _fill(d)
    target = d / "out.txt"
    for extra in ([], ["--json", "-"]):
        with open(target, "wb") as out:
            res = subprocess.run(
                [sys.executable, "-c", (FSIZE if how == "fsize" else "") + "from passlens.cli import main; main()",
                 "eval", str(bundled / "base.jsonl"), "--k", "1", "--n-boot", "20", *extra],
                stdout=out, stderr=subprocess.PIPE, text=True, env=cli.environ(), timeout=300,
            )
        reason = "No space left on device" if how == "tmpfs" else "File too large"
        if extra:  # (the table went to stderr, as --json - asks; the error is the line after it)
            assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
            assert res.stderr.splitlines()[-1] == f"passlens: error: cannot write to standard output: {reason}"
        else:
            res.stdout = ""
            cli.one_line_error(res, f"cannot write to standard output: {reason}")
