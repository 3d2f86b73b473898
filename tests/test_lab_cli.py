"""``passlens lab run/show`` and ``passlens reproduce`` through the real entry point, in subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest


def test_lab_run_then_show(cli, tmp_path: Path) -> None:
    out = tmp_path / "run"
    r = cli.run("lab", "run", "--objective", "rloo", "--objective", "pkpo:k=4", "--objective", "coverage:k=4",
             "--seeds", "2", "--steps", "30", "--problems", "40", "--answers", "8", "--log-every", "10",
             "--out", str(out), "--workers", "2")
    assert r.returncode == 0, r.stderr
    assert (out / "metrics.parquet").exists() and (out / "trajectories.png").exists()
    cfg = json.loads((out / "config.json").read_text())["config"]
    assert cfg["objectives"] == ["rloo", "pkpo:k=4", "coverage:k=4"] and cfg["seeds"] == 2
    import polars as pl

    df = pl.read_parquet(out / "metrics.parquet")
    assert df.height == 3 * 2 * 4  # objectives × seeds × logged steps (0, 10, 20, 30)
    s = cli.run("lab", "show", str(out))
    assert s.returncode == 0, s.stderr
    for name in ("rloo", "pkpo:k=4", "coverage:k=4", "pass@1", "distinct_correct", "±"):
        assert name in s.stdout


def test_lab_run_sampled_linear_in_process(cli, tmp_path: Path) -> None:
    r = cli.run("lab", "run", "-o", "grpo", "--mode", "sampled", "--n", "8", "--policy", "linear", "--optimizer", "adam",
             "--lr", "0.05", "--seeds", "1", "--steps", "12", "--problems", "30", "--answers", "6", "--workers", "1",
             "--no-plots", "--out", str(tmp_path / "s"))
    assert r.returncode == 0, r.stderr
    assert "zero_adv_frac" in r.stdout



def test_lab_run_mlp_policy(cli, tmp_path: Path) -> None:
    out = tmp_path / "m"
    r = cli.run("lab", "run", "-o", "rloo", "--policy", "mlp", "--hidden", "4", "--seeds", "1", "--steps", "10",
             "--problems", "20", "--answers", "6", "--log-every", "5", "--workers", "1", "--no-plots", "--out", str(out))
    assert r.returncode == 0, r.stderr
    cfg = json.loads((out / "config.json").read_text())["config"]
    assert cfg["policy"] == "mlp" and cfg["hidden"] == 4
    assert "mlp" in r.stdout


def test_lab_run_heldout(cli, tmp_path: Path) -> None:
    out = tmp_path / "h"
    r = cli.run("lab", "run", "-o", "rloo", "--policy", "linear", "--heldout", "8", "--seeds", "1", "--steps", "10",
             "--problems", "40", "--answers", "6", "--log-every", "5", "--workers", "1", "--no-plots", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "held out" in r.stdout and "never trained on" in r.stdout
    df = __import__("polars").read_parquet(out / "metrics.parquet")
    assert {"heldout_pass@1", "heldout_distinct_correct"} <= set(df.columns)
    bad = cli.run("lab", "run", "-o", "rloo", "--heldout", "8", "--steps", "2", "--no-plots", "--out", str(tmp_path / "b"))
    assert bad.returncode == 2 and "shared policy" in bad.stderr and "Traceback" not in bad.stderr


def test_lab_from_bundled_counts(cli, tmp_path: Path, bundled: Path) -> None:
    counts = bundled / "base.jsonl"
    # two objectives → two worker processes after the parent has used polars (a fork here used to deadlock)
    r = cli.run("lab", "run", "-o", "rloo", "-o", "coverage:k=4", "--from-counts", str(counts), "--steps", "5", "--seeds", "1",
             "--no-plots", "--log-every", "5", "--workers", "2", "--out", str(tmp_path / "c"), timeout=120)
    assert r.returncode == 0, r.stderr
    cfg = json.loads((tmp_path / "c" / "config.json").read_text())["config"]
    assert cfg["from_counts"].endswith("base.jsonl")
    pop = json.loads((tmp_path / "c" / "config.json").read_text())["population_seed0"]
    assert pop["problems"] == 1060
    assert cfg["problems"] == 1060  # the table's P, not the unused --problems default
    assert "P=1060," in r.stdout
    s = cli.run("lab", "show", str(tmp_path / "c"))
    assert s.returncode == 0 and "P=1060," in s.stdout, s.stderr


def test_lab_from_counts_reports_the_tables_p_and_rejects_problems(cli, tmp_path: Path) -> None:
    counts = tmp_path / "ok.jsonl"
    counts.write_text('{"id":"a","c":1,"n":4}\n{"id":"b","c":1,"n":4}\n')
    base = ("lab", "run", "-o", "rloo", "--seeds", "1", "--steps", "2", "--answers", "8", "--no-plots", "--workers", "1",
            "--from-counts", str(counts))
    r = cli.run(*base, "--out", str(tmp_path / "r"))
    assert r.returncode == 0, r.stderr
    assert "P=2," in r.stdout and "P=2000" not in r.stdout
    assert json.loads((tmp_path / "r" / "config.json").read_text())["config"]["problems"] == 2
    for p in ("7", "2000"):  # explicit, even when equal to the default
        cli.one_line_error(cli.run(*base, "--problems", p, "--out", str(tmp_path / "x")),
                        "--problems: not used with --from-counts (the population is the file's N problems)")
    assert not (tmp_path / "x").exists()


def test_lab_show_of_an_old_from_counts_run_uses_the_recorded_population(cli, tmp_path: Path) -> None:
    d = _fake_run(tmp_path / "run")
    cfg = {"k_ref": 8, "mode": "exact", "policy": "tabular", "answers": 4, "problems": 2000, "from_counts": "ok.jsonl"}
    (d / "config.json").write_text(json.dumps({"config": cfg, "population_seed0": {"problems": 2}}))
    r = cli.run("lab", "show", str(d))
    assert r.returncode == 0, r.stderr
    assert "P=2," in r.stdout and "P=2000" not in r.stdout


@pytest.mark.parametrize(
    "args,needle",
    [
        (("-o", "bogus"), "valid: pass@1, rloo"),
        (("-o", "bogus", "--mode", "sampled"), "grpo, dr_grpo, pkpo"),
        (("-o", "pkpo:k=32", "--mode", "sampled", "--n", "16"), "exceeds n=16"),
        (("-o", "rloo", "--answers", "3"), "impossible population"),
        (("-o", "unlikeliness"), "no exact target"),
    ],
)
def test_lab_bad_input_exit_2(cli, tmp_path: Path, args: tuple[str, ...], needle: str) -> None:
    cli.one_line_error(cli.run("lab", "run", *args, "--out", str(tmp_path / "x")), needle)


def test_lab_show_not_a_run(cli, tmp_path: Path) -> None:
    r = cli.run("lab", "show", str(tmp_path))
    assert r.returncode == 2 and "not a lab run directory" in r.stderr


def test_reproduce_quick(cli, tmp_path: Path) -> None:
    r = cli.run("reproduce", "--quick", "--out", str(tmp_path / "rep"))
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr
    rows = json.loads((tmp_path / "rep" / "claims.json").read_text())
    ids = [row["id"] for row in rows]
    assert ids == [str(i) for i in range(1, 14)] + ["A7", "A8", "N1"]
    assert all(row["holds"] for row in rows)
    for i in ids:
        assert f"│ {i} " in r.stdout or f"┃ {i} " in r.stdout
    assert "16/16 hold" in r.stdout
    assert (tmp_path / "rep" / "N1_coverage_vs_rloo_pkpo.png").exists()


def test_reproduce_unknown_claim_exit_2(cli) -> None:
    r = cli.run("reproduce", "--quick", "--only", "99")
    assert r.returncode == 2 and "valid: 1, 2" in r.stderr


_TINY = ("-o", "rloo", "--seeds", "1", "--steps", "2", "--problems", "10", "--answers", "4", "--n-correct", "1",
         "--log-every", "1", "--workers", "1", "--no-plots")


@pytest.mark.parametrize("cmd", [("lab", "run", *_TINY), ("reproduce", "--quick", "--only", "4")])
def test_unusable_out_is_a_one_line_error(cli, tmp_path: Path, cmd: tuple[str, ...]) -> None:
    f = tmp_path / "good.jsonl"
    f.write_text("{}\n")
    cli.one_line_error(cli.run(*cmd, "--out", str(f)), f"cannot create output folder {f}: File exists")
    cli.one_line_error(cli.run(*cmd, "--out", "/proc/x"), "cannot create output folder /proc/x: No such file or directory")
    assert f.read_text() == "{}\n"


def test_lab_run_reuses_an_existing_out_and_prints_paths_literally(cli, tmp_path: Path) -> None:
    out = tmp_path / "[red]x :A:"
    for _ in range(2):  # an existing run directory is reused, its files replaced
        r = cli.run("lab", "run", *_TINY, "--out", str(out))
        assert r.returncode == 0, r.stderr
        assert f"{out / 'metrics.parquet'}" in r.stdout.replace("\n", "")
    assert (out / "metrics.parquet").exists() and (out / "config.json").exists()


@pytest.mark.parametrize(
    "args,needle",
    [
        (("--problems", "99999999999999999999"), "--problems must be between 1 and 10000000, got 99999999999999999999"),
        (("--answers", "99999999999999999999"), "--answers must be between 2 and 100000"),
        (("--seed", "-1"), "--seed must be between 0 and 4294967295, got -1"),
        (("--steps", "0"), "--steps must be between 1 and 10000000"),
        (("--hidden", "-3", "--policy", "mlp"), "--hidden must be between 1 and 100000"),
        (("--workers", "0"), "--workers must be between 1 and 1024, got 0"),
        (("--k", "1,99999999999999999999"), "--k must be between 1 and 1000000"),
        (("--k", "1,,2"), "--k: blank budget at position 2 of '1,,2'"),
        (("--k", ",4,"), "--k: blank budget at position 1 of ',4,'"),
        (("--k", "4", "--k", "1,"), "--k: blank budget at position 2 of '1,'"),
        (("--k", " , "), "--k: empty list of budgets ' , '"),
        (("--k", "1,x"), "--k: cannot parse 'x' in '1,x'"),
        (("--k", "1.5"), "--k: cannot parse '1.5' (use e.g."),
        (("--lr", "nan"), "--lr must be a finite number > 0, got nan"),
        (("--problems", "10000000", "--answers", "1000"), "run too large: --seeds 1 × --problems 10000000"),
    ],
)
def test_lab_run_numeric_options_are_bounded(cli, tmp_path: Path, args: tuple[str, ...], needle: str) -> None:
    cli.one_line_error(cli.run("lab", "run", *_TINY, *args, "--out", str(tmp_path / "x")), needle)
    assert not (tmp_path / "x").exists()


def _fake_run(d: Path, objectives: tuple[str, ...] = ("rloo",)) -> Path:
    import polars as pl

    d.mkdir()
    pl.DataFrame({"objective": list(objectives), "seed": [0] * len(objectives), "step": [5] * len(objectives),
                  "pass@1": [0.25] * len(objectives)}).write_parquet(d / "metrics.parquet")
    cfg = {"k_ref": 8, "mode": "exact", "policy": "tabular", "answers": 4, "problems": 10}
    (d / "config.json").write_text(json.dumps({"config": cfg}))
    return d


@pytest.mark.parametrize(
    "file,content,needle",
    [
        ("metrics.parquet", "garbage", "metrics.parquet: not a readable Parquet file"),
        ("config.json", "[]", "config.json: expected a JSON object with a 'config' object"),
        ("config.json", "{bad", "config.json: invalid JSON: Expecting property name enclosed in double quotes at line 1 column 2"),
        ("config.json", '{"config": {"mode": "exact"}}', "config.json: config.k_ref must be an integer, got None"),
    ],
)
def test_lab_show_damaged_run_names_the_file(cli, tmp_path: Path, file: str, content: str, needle: str) -> None:
    d = _fake_run(tmp_path / "run")
    (d / file).write_text(content + "\n")
    cli.one_line_error(cli.run("lab", "show", str(d)), needle)


def test_lab_show_prints_labels_literally(cli, tmp_path: Path) -> None:
    d = _fake_run(tmp_path / "run", objectives=("[red]x", ":A:"))
    r = cli.run("lab", "show", str(d))
    assert r.returncode == 0, r.stderr
    assert "[red]x" in r.stdout and ":A:" in r.stdout and "🅰" not in r.stdout


@pytest.mark.parametrize(
    "only,needle",
    [("", "--only: empty list of claim ids"), (" , ", "--only: empty list of claim ids"),
     ("1,,2", "--only: blank claim id at position 2 of '1,,2'"), ("1,99", "--only: unknown claim id(s) '99'; valid: 1, 2"),
     (":A:,[red]x", "--only: unknown claim id(s) ':A:', '[red]x'")],
)
def test_reproduce_only_rejects_empty_and_blank_ids(cli, only: str, needle: str) -> None:
    cli.one_line_error(cli.run("reproduce", "--quick", "--only", only), needle)


@pytest.mark.parametrize(
    "seed,needle",
    [("-1", "--seed must be between 0 and 4294967295, got -1"), ("4294967296", "--seed must be between 0 and 4294967295"),
     ("abc", "--seed: expected an integer, got 'abc'")],
)
def test_reproduce_rejects_a_bad_seed(cli, seed: str, needle: str) -> None:
    cli.one_line_error(cli.run("reproduce", "--quick", "--only", "4", f"--seed={seed}"), needle)


def test_reproduce_seed_is_in_the_title_and_claims_json(cli, tmp_path: Path) -> None:
    r = cli.run("reproduce", "--quick", "--only", "1,4", "--seed", "3", "--out", str(tmp_path / "rep"))
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr
    assert "[quick] [seed 3]" in r.stdout
    rows = json.loads((tmp_path / "rep" / "claims.json").read_text())
    assert [(row["id"], row["seed"]) for row in rows] == [("1", 3), ("4", 3)]
    r0 = cli.run("reproduce", "--quick", "--only", "4")
    assert r0.returncode == 0 and "[seed" not in r0.stdout  # seed 0: the published title


def test_lab_run_k_may_be_repeated(cli, tmp_path: Path) -> None:
    out = tmp_path / "k"
    r = cli.run("lab", "run", *_TINY, "--k", "4", "--k", "2,1", "--k-ref", "2", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert json.loads((out / "config.json").read_text())["config"]["ks"] == [1, 2, 4]


def _worker_pids(pid: int) -> list[int]:
    """Objective worker processes (spawned by the executor) among the children of ``pid``; Linux /proc."""
    found = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:  # the process has ended
        return found
    for task in tasks:
        try:
            children = (task / "children").read_text().split()
        except OSError:  # a thread that ended meanwhile
            continue
        for child in children:
            try:
                cmd = Path(f"/proc/{child}/cmdline").read_bytes()
            except OSError:
                continue
            if b"spawn_main" in cmd:
                found.append(int(child))
    return found


@pytest.mark.skipif(not Path(f"/proc/self/task/{os.getpid()}/children").exists(), reason="reads /proc/…/children")
def test_lab_run_stops_at_once_on_sigint_to_the_main_process(cli, tmp_path: Path) -> None:
    """`kill -INT` of the main process (not Ctrl-C's whole process group) ends a multi-worker run now,
    with the workers: an untimed wait on a worker's result never saw the signal, and the run went on
    until every objective had finished. The signal is sent as soon as the second worker exists, while the
    main process may still be starting it: an interrupt inside that start left the worker failing on its
    half-sent instructions (a traceback after "passlens: interrupted"), or unrecorded and never stopped.
    The timeouts guard against a hang only: the run, left alone, takes hours."""
    import signal
    import time

    p = cli.popen(
        "lab", "run", "-o", "rloo", "-o", "pass@1", "--seeds", "1", "--steps", "10000000", "--problems", "200",
        "--answers", "8", "--workers", "2", "--no-plots", "--out", str(tmp_path / "r"),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # a background shell may ignore SIGINT
    try:
        deadline = time.monotonic() + 300
        while len(workers := _worker_pids(p.pid)) < 2 and time.monotonic() < deadline and p.poll() is None:
            time.sleep(0.0005)
        assert len(workers) == 2, p.communicate(timeout=300)[1] if p.poll() is not None else "workers did not start"
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=300)  # to the end of stderr, which the workers share
        assert p.returncode == 130, err
        assert err.strip().splitlines()[-1] == "passlens: interrupted", err
        assert "Traceback" not in err, err
        assert not (tmp_path / "r" / "metrics.parquet").exists()
        for w in workers:  # ended (gone, or a zombie waiting for a reaper), not still running the objective
            try:
                state = Path(f"/proc/{w}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            assert state in ("Z", "X"), (w, state)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
        p.wait()
        if p.stderr is not None:
            p.stderr.close()


def test_lab_run_takes_a_composite_objective_and_refuses_a_bad_one(cli, tmp_path: Path) -> None:
    spec = "rloo@0.5+coverage:k=4@0.5/10-20/pkpo:k=4-2,steps=0-20"
    r = cli.run("lab", "run", "-o", spec, "--seeds", "1", "--steps", "20", "--problems", "30", "--answers", "6",
                "--workers", "1", "--no-plots", "--out", str(tmp_path / "mix"))
    assert r.returncode == 0, r.stderr
    import polars as pl

    df = pl.read_parquet(tmp_path / "mix" / "metrics.parquet")
    assert set(df["objective"]) == {spec} and df["objective_value"].is_finite().all()
    bad = cli.run("lab", "run", "-o", "rloo@x+coverage:k=4", "--steps", "5", "--out", str(tmp_path / "bad"))
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "objective 'rloo@x+coverage:k=4': weight 'x' is not a number" in bad.stderr
