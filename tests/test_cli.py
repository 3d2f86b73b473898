"""The real ``passlens`` entry point, run in a subprocess: output and exit codes."""

from __future__ import annotations

import json

import numpy as np
import pytest

import passlens


@pytest.fixture(scope="module")
def cli(cli):
    """The entry point with nothing of the user's environment but PATH, 120 columns."""
    return cli.configured(clean_env=True, COLUMNS="120")


def test_compare_on_bundled_data_prints_the_published_verdict(cli, tmp_path):
    out = tmp_path / "cmp.json"
    res = cli.run("compare", "--json", str(out))
    assert res.returncode == 0, res.stderr
    assert "B better than A at k = 1–10" in res.stdout
    assert "inconclusive at k = 11–60" in res.stdout
    assert "B worse than A at k = 61–128" in res.stdout
    assert "first-loss budget set: [11, 61]" in res.stdout
    payload = json.loads(out.read_text())
    assert payload["first_loss_interval"] == [11, 61]
    assert payload["problems"] == 1060


def test_compare_two_explicit_files_matches_default(cli, bundled):
    res = cli.run("compare", str(bundled / "base.jsonl"), str(bundled / "rl.jsonl"), "--k", "1,8,128", "--n-boot", "500")
    assert res.returncode == 0, res.stderr
    assert "B better than A at k = 1, 8" in res.stdout
    assert "B worse than A at k = 128" in res.stdout


def test_eval_table_and_machine_output(cli, bundled, tmp_path):
    js, cs = tmp_path / "c.json", tmp_path / "c.csv"
    res = cli.run("eval", str(bundled / "rl.jsonl"), "--k", "1,2,128", "--json", str(js), "--csv", str(cs), "--method", "analytic")
    assert res.returncode == 0, res.stderr
    assert "pass@k" in res.stdout and "1060 problems" in res.stdout
    payload = json.loads(js.read_text())
    (group,) = payload["groups"].values()
    assert group["k"] == [1, 2, 128]
    assert group["estimate"][0] == pytest.approx(0.6801, abs=1e-4)
    assert cs.read_text().splitlines()[0].startswith("group,k,estimate,lo,hi,se,problems")


def test_eval_samples_by_model_and_metrics(cli, tmp_path, write_jsonl):
    rows = []
    for model, correct_answer in (("base", "4"), ("rl", "4")):
        for pid in range(6):
            for s in range(8):
                ans = correct_answer if (s + pid) % (3 if model == "base" else 2) == 0 else str(s % 3)
                rows.append({"problem_id": f"p{pid}", "sample_id": s, "model": model, "answer": ans, "correct": int(ans == correct_answer)})
    f = write_jsonl(tmp_path / "samples.jsonl", rows)
    for metric in ("pass", "passhat", "max", "maj", "coverage"):
        res = cli.run("eval", str(f), "--by", "model", "--metric", metric, "--k", "1,2,8", "--json", "-")
        assert res.returncode == 0, (metric, res.stderr)
        assert set(json.loads(res.stdout)["groups"]) == {"base", "rl"}  # stdout is the JSON alone
        assert "model=base" in res.stderr and "model=rl" in res.stderr  # the tables went to stderr
    # coverage@k end to end: the curve equals the estimator on the votes, with intervals
    res = cli.run("eval", str(f), "--by", "model", "--metric", "coverage", "--k", "1,8", "--json", "-")
    base = json.loads(res.stdout)["groups"]["base"]
    votes, flags = [], []
    for pid in range(6):
        answers = [r["answer"] for r in rows if r["model"] == "base" and r["problem_id"] == f"p{pid}"]
        values, counts = np.unique(answers, return_counts=True)
        votes.append(counts)
        flags.append(values == "4")
    np.testing.assert_allclose(base["estimate"], passlens.coverage_at_k(votes, flags, [1, 8]).mean(axis=0), rtol=1e-12)
    assert "coverage@k" in res.stderr and base["lo"][0] <= base["estimate"][0] <= base["hi"][0]
    no_answers = write_jsonl(tmp_path / "plain.jsonl", [{k: v for k, v in r.items() if k != "answer"} for r in rows])
    res = cli.run("eval", str(no_answers), "--by", "model", "--metric", "coverage")
    assert res.returncode == 2 and "--answer-col" in res.stderr and res.stderr.count("\n") == 1


@pytest.mark.parametrize(
    "content,message",
    [
        ('{"id": "a", "c": 1, "n": 4}\n{"id": "b", "c": 5, "n": 4}\n', "bad.jsonl:2: problem 'b': c = 5 > n = 4"),
        ('{"id": "a", "c": 1, "n": 4}\n{"id": "b", "c": 1, \n', "bad.jsonl:2: malformed JSON"),
        ("", "bad.jsonl: empty file"),
    ],
)
def test_bad_files_exit_2_with_one_line_and_no_traceback(cli, tmp_path, content, message):
    f = tmp_path / "bad.jsonl"
    f.write_text(content)
    cli.one_line_error(cli.run("eval", str(f)), message, "bad.jsonl")


def test_k_larger_than_n_is_an_error_unless_dropped(cli, tmp_path):
    f = tmp_path / "counts.jsonl"
    f.write_text('{"id": "a", "c": 1, "n": 4}\n{"id": "b", "c": 2, "n": 8}\n')
    res = cli.run("eval", str(f), "--k", "1,8")
    assert res.returncode == 2 and "k=8 exceeds n=4" in res.stderr and "'a'" in res.stderr
    res = cli.run("eval", str(f), "--k", "1,8", "--drop-small-n")
    assert res.returncode == 0, res.stderr
    assert "1 problem(s) with n < 8 left out" in res.stdout


def test_bad_options_exit_2(cli, bundled):
    assert cli.run("eval", str(bundled / "rl.jsonl"), "--metric", "nope").returncode == 2
    assert cli.run("compare", str(bundled / "rl.jsonl")).returncode == 2
    assert cli.run("nonsense").returncode == 2


def test_help_is_complete_with_examples(cli):
    res = cli.run("--help")
    assert res.returncode == 0 and "eval" in res.stdout and "compare" in res.stdout
    for cmd in ("eval", "compare"):
        res = cli.run(cmd, "--help")
        assert res.returncode == 0 and "Example:" in res.stdout
