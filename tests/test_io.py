"""Ingestion: every shape and format gives the (n, c) of a plain Python loop; errors name file and line."""

from __future__ import annotations

import csv
import hashlib
import itertools
import json
import random
import re
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import passlens.io as pio
from passlens.io import InputError, ProblemTable, from_counts, from_frame, read
from passlens.io.formats import FORMATS as FORMAT_CLASSES
from passlens.io.formats.jsonl import _follow_fields, _kinds_clash
from passlens.io.sources import digest
from passlens.io.tables import group_order

FORMATS = ["jsonl", "csv", "parquet"]


# ---------------------------------------------------------------------------------------
# writers: one helper per format, from a list of dicts (None = null / empty CSV field)


def write(tmp_path: Path, name: str, rows: list[dict[str, Any]], fmt: str) -> Path:
    path = tmp_path / f"{name}.{fmt}"
    columns = list(dict.fromkeys(k for r in rows for k in r))
    if fmt == "jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    elif fmt == "csv":
        with open(path, "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(columns)
            for r in rows:
                w.writerow(["" if r.get(c) is None else r[c] for c in columns])
    else:
        pl.DataFrame({c: [r.get(c) for r in rows] for c in columns}, strict=False).write_parquet(path)
    return path


def random_samples(seed: int, problems: int = 12, with_answer: bool = True) -> list[dict[str, Any]]:
    """Per-sample rows in shuffled order: ids 'p0'…, n in 1..9, 0/1 rewards, answers from a small set."""
    rng = random.Random(seed)
    rows = []
    for i in range(problems):
        p = rng.random()
        for s in range(rng.randint(1, 9)):
            ok = rng.random() < p
            row: dict[str, Any] = {"problem_id": f"p{i}", "reward": int(ok), "sample_id": s}
            if with_answer:
                row["answer"] = "42" if ok else rng.choice(["7", "8", "x", ""])
            rows.append(row)
    rng.shuffle(rows)
    return rows


def loop_counts(
    rows: list[dict[str, Any]], id_key: str = "problem_id", r_key: str = "reward"
) -> dict[str, tuple[int, int]]:
    """The obvious loop: n = rows per problem, c = sum of rewards."""
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in rows:
        out[str(r[id_key])][0] += 1
        out[str(r[id_key])][1] += int(r[r_key])
    return {k: (v[0], v[1]) for k, v in out.items()}


def as_dict(table: ProblemTable) -> dict[str, tuple[int, int]]:
    assert table.c is not None
    return {i: (int(n), int(c)) for i, n, c in zip(table.ids, table.n, table.c)}


def single(ds: pio.Dataset) -> ProblemTable:
    assert list(ds.groups) == [""]
    return ds.groups[""]


def expect_error(pattern: str, *args: Any, **kwargs: Any) -> str:
    with pytest.raises(InputError) as info:
        read(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    assert re.search(pattern, message), message
    return message


# ---------------------------------------------------------------------------------------
# round trips


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_samples_round_trip(tmp_path: Path, fmt: str, seed: int) -> None:
    rows = random_samples(seed)
    ds = read(write(tmp_path, "s", rows, fmt))
    table = single(ds)
    assert ds.shape == "samples" and ds.rows == len(rows)
    assert as_dict(table) == loop_counts(rows)
    assert list(table.ids) == sorted(table.ids)
    assert (
        table.ids.dtype == object
        and table.n.dtype == np.int64
        and table.c is not None
        and table.c.dtype == np.int64
    )
    assert table.nonbinary_at is None and table.rewards is None


@pytest.mark.parametrize("fmt", FORMATS)
def test_counts_round_trip_and_agreement_with_samples(tmp_path: Path, fmt: str) -> None:
    rows = random_samples(5)
    expected = loop_counts(rows)
    counts = [{"problem_id": k, "num_correct": c, "num_samples": n} for k, (n, c) in expected.items()]
    ds = read(write(tmp_path, "c", counts, fmt))
    assert ds.shape == "counts" and ds.rows == len(counts)
    assert as_dict(single(ds)) == expected == as_dict(single(read(write(tmp_path, "s", rows, fmt))))


@pytest.mark.parametrize("fmt", FORMATS)
def test_integer_ids_become_strings(tmp_path: Path, fmt: str) -> None:
    rows = [{"task_id": i % 3, "passed": i % 2} for i in range(10)]
    table = single(read(write(tmp_path, "i", rows, fmt)))
    assert list(table.ids) == ["0", "1", "2"]
    assert as_dict(table) == loop_counts(rows, "task_id", "passed")


def test_row_order_does_not_matter(tmp_path: Path) -> None:
    rows = random_samples(3)
    a = single(read(write(tmp_path, "a", rows, "parquet")))
    b = single(read(write(tmp_path, "b", rows[::-1], "parquet")))
    assert as_dict(a) == as_dict(b)
    assert all(np.array_equal(x, y) for x, y in zip(a.votes or [], b.votes or []))


def test_files_are_hashed(tmp_path: Path) -> None:
    path = write(tmp_path, "s", random_samples(0), "jsonl")
    ds = read(path)
    assert ds.files == [str(path)]
    assert ds.sha256 == {str(path): hashlib.sha256(path.read_bytes()).hexdigest()}


# ---------------------------------------------------------------------------------------
# column detection and overrides


@pytest.mark.parametrize(
    "id_key,r_key",
    [
        ("task_id", "correct"),
        ("doc_id", "passed"),
        ("prompt_id", "score"),
        ("question_id", "acc"),
        ("id", "is_correct"),
        ("Problem_ID", "Reward"),
    ],
)
def test_sample_spellings(tmp_path: Path, id_key: str, r_key: str) -> None:
    rows = [
        {id_key: f"q{i % 4}", r_key: (i * 7) % 3 == 0, "extracted_answer": "ok" if (i * 7) % 3 == 0 else str(i % 2)}
        for i in range(20)
    ]
    table = single(read(write(tmp_path, "s", rows, "jsonl")))
    assert as_dict(table) == loop_counts(rows, id_key, r_key)
    assert table.votes is not None  # extracted_answer detected as the answer column


@pytest.mark.parametrize(
    "c_key,n_key",
    [
        ("c", "n"),
        ("n_correct", "n_samples"),
        ("correct_count", "samples"),
        ("successes", "trials"),
        ("successes", "total"),
        ("n_correct", "n_total"),
        ("num_passed", "num_attempts"),
        ("correct", "total"),  # `correct` next to an n-like column is a count
    ],
)
def test_count_spellings(tmp_path: Path, c_key: str, n_key: str) -> None:
    rows = [{"id": "a", c_key: 1, n_key: 4}, {"id": "b", c_key: 0, n_key: 2}]
    ds = read(write(tmp_path, "c", rows, "csv"))
    assert ds.shape == "counts" and as_dict(single(ds)) == {"a": (4, 1), "b": (2, 0)}


def test_correct_is_a_count_next_to_n_and_a_reward_otherwise(tmp_path: Path) -> None:
    counts = [{"problem_id": "a", "correct": 3, "n": 4}]
    ds = read(write(tmp_path, "c", counts, "jsonl"))
    assert ds.shape == "counts" and as_dict(single(ds)) == {"a": (4, 3)}
    samples = [{"problem_id": "a", "correct": 1}, {"problem_id": "a", "correct": 0}]
    ds = read(write(tmp_path, "s", samples, "jsonl"))
    assert ds.shape == "samples" and as_dict(single(ds)) == {"a": (2, 1)}
    # a sample-id column means per-sample rows even next to an `n` column
    with_sid = [
        {"problem_id": "a", "correct": 1, "n": 5, "sample_id": 0},
        {"problem_id": "a", "correct": 0, "n": 5, "sample_id": 1},
    ]
    ds = read(write(tmp_path, "s2", with_sid, "jsonl"))
    assert ds.shape == "samples" and as_dict(single(ds)) == {"a": (2, 1)}
    assert any("not used: n" in note for note in ds.notes)


def test_overrides(tmp_path: Path) -> None:
    rows = [
        {"qid": "a", "ok": 1, "guess": "x", "k": 0},
        {"qid": "a", "ok": 0, "guess": "y", "k": 1},
        {"qid": "b", "ok": 1, "guess": "x", "k": 0},
    ]
    path = write(tmp_path, "o", rows, "csv")
    expect_error(
        r"o\.csv: no problem-id column; columns are \['qid', 'ok', 'guess', 'k'\]; "
        r"accepted spellings: problem_id",
        path,
    )
    table = single(read(path, id_col="qid", reward_col="ok", answer_col="guess", sample_col="k"))
    assert as_dict(table) == {"a": (2, 1), "b": (1, 1)}
    assert table.votes is not None and [v.tolist() for v in table.votes] == [[1, 1], [1]]
    expect_error(
        r"o\.csv: column 'nope' \(reward_col\) not found; columns are", path, id_col="qid", reward_col="nope"
    )
    # count overrides; a reward-like column is then ignored
    crow = [{"pid": "a", "hits": 2, "tries": 3, "score": 0.5}]
    ds = read(write(tmp_path, "c", crow, "parquet"), id_col="pid", c_col="hits", n_col="tries")
    assert ds.shape == "counts" and as_dict(single(ds)) == {"a": (3, 2)}
    assert any("not used: score" in note for note in ds.notes)


def test_missing_reward_column_names_the_option_and_a_few_candidates(tmp_path: Path) -> None:
    path = write(tmp_path, "m", [{"problem_id": "a", "foo": 1, "note": "x"}], "jsonl")
    msg = expect_error(r"^.*m\.jsonl: no reward column \(correct, reward, score, …\); name it with --reward-col", path)
    assert msg.endswith("(candidates: 'foo'), or counts with --c-col and --n-col")  # numbers only: not 'note'
    assert "reward_col=" not in msg and len(msg) - len(str(path)) <= 202  # CLI words; ≤ 200 after "file: "
    # many numeric columns: three are named, long names cut
    wide = write(tmp_path, "w", [{"problem_id": "a", **{f"metric_with_a_long_name_{i}": i for i in range(9)}}], "csv")
    msg = expect_error(r"candidates: 'metric_with_a_long_…', 'metric_with_a_long_…', 'metric_with_a_long_…', …\)", wide)
    assert len(msg) - len(str(wide)) - 2 <= 200


# ---------------------------------------------------------------------------------------
# grouping


def test_group_by_model(tmp_path: Path) -> None:
    rows = [
        {"problem_id": f"p{i % 3}", "reward": (i // 3) % 2, "model": m}
        for m in ("beta", "alpha")
        for i in range(12)
    ]
    ds = read(write(tmp_path, "g", rows, "parquet"), by="model")
    assert list(ds.groups) == ["alpha", "beta"] and ds.by == "model"
    for m in ("alpha", "beta"):
        assert as_dict(ds.groups[m]) == loop_counts([r for r in rows if r["model"] == m])


@pytest.mark.parametrize("fmt", FORMATS)
def test_group_by_step_is_numeric(tmp_path: Path, fmt: str) -> None:
    rows = [{"problem_id": "p", "reward": s % 2, "step": s} for s in (100, 20, 3, 20)]
    ds = read(write(tmp_path, "s", rows, fmt), by="step")
    assert list(ds.groups) == ["3", "20", "100"]
    assert as_dict(ds.groups["20"]) == {"p": (2, 0)}


def test_natural_group_order() -> None:
    assert group_order(["ckpt-10", "ckpt-2", "ckpt-1"]) == ["ckpt-1", "ckpt-2", "ckpt-10"]
    assert group_order(["1e3", "50", "7.5"]) == ["7.5", "50", "1e3"]


def test_mixed_models_without_by_is_an_error(tmp_path: Path) -> None:
    rows = [
        {"problem_id": "a", "reward": 1, "model": "m1"},
        {"problem_id": "b", "reward": 1, "model": "m1"},
        {"problem_id": "a", "reward": 0, "model": "m2"},
    ]
    for fmt, where in (("jsonl", ":3"), ("csv", ":4"), ("parquet", ": row 3")):
        path = write(tmp_path, "mix", rows, fmt)
        msg = expect_error(
            rf"mix\.{fmt}{where}: problem 'a' has rows from several 'model' values \['m1', 'm2'\]", path
        )
        assert "--by model" in msg
    counts = [{"id": "a", "c": 1, "n": 2, "checkpoint": "x"}, {"id": "a", "c": 1, "n": 2, "checkpoint": "y"}]
    expect_error(
        r"mixc\.jsonl:2: problem 'a' has rows from several 'checkpoint' values",
        write(tmp_path, "mixc", counts, "jsonl"),
    )
    assert list(read(write(tmp_path, "mixc", counts, "jsonl"), by="checkpoint").groups) == ["x", "y"]


def test_other_group_columns_are_pooled_under_by(tmp_path: Path) -> None:
    rows = [
        {"problem_id": "a", "reward": 1, "model": "m", "step": 1},
        {"problem_id": "a", "reward": 0, "model": "m", "step": 2},
        {"problem_id": "b", "reward": 1, "model": "m", "step": 1},
    ]
    path = write(tmp_path, "ms", rows, "jsonl")
    expect_error(r"ms\.jsonl:2: problem 'a' has rows from several 'step' values \['1', '2'\]", path)
    ds = read(path, by="model")
    assert as_dict(ds.groups["m"]) == {"a": (2, 1), "b": (1, 1)}
    assert (
        "group 'm': 1 problem(s) (e.g. 'a') have rows from several 'step' values, pooled; "
        "filter the input to keep one step" in ds.notes
    )
    counts = [{"id": "a", "c": 1, "n": 2, "model": "m", "step": s} for s in (1, 2)]
    expect_error(
        r"c\.csv:3: duplicate problem id 'a' in group 'm' \(first at .*c\.csv:2\); the rows differ in 'step'",
        write(tmp_path, "c", counts, "csv"),
        by="model",
    )


def test_one_model_per_problem_is_noted_not_split(tmp_path: Path) -> None:
    rows = [{"problem_id": "a", "reward": 1, "model": "m1"}, {"problem_id": "b", "reward": 0, "model": "m2"}]
    ds = read(write(tmp_path, "d", rows, "jsonl"))
    assert list(ds.groups) == [""]
    assert any("'model' has 2 values" in note for note in ds.notes)


def test_several_files_group_by_stem(tmp_path: Path) -> None:
    a, b = random_samples(1, with_answer=False), random_samples(2, with_answer=False)
    ds = read([write(tmp_path, "run_b", b, "jsonl"), write(tmp_path, "run_a", a, "parquet")])
    assert list(ds.groups) == ["run_a", "run_b"] and ds.by == "file"
    assert as_dict(ds.groups["run_a"]) == loop_counts(a) and as_dict(ds.groups["run_b"]) == loop_counts(b)


def test_colliding_stems_get_their_folder(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "y").mkdir()
    rows = random_samples(1, with_answer=False)
    ds = read([write(tmp_path / "x", "s", rows, "csv"), write(tmp_path / "y", "s", rows, "csv")])
    assert list(ds.groups) == ["x/s", "y/s"]


def test_shards_of_one_model_are_pooled(tmp_path: Path) -> None:
    rows = [dict(r, model="m") for r in random_samples(4, with_answer=False)]
    half = len(rows) // 2
    ds = read(
        [write(tmp_path, "part0", rows[:half], "parquet"), write(tmp_path, "part1", rows[half:], "parquet")]
    )
    assert list(ds.groups) == [""] and ds.by is None
    assert as_dict(ds.groups[""]) == loop_counts(rows)
    assert any("pooled" in note for note in ds.notes)


def test_duplicate_sample_across_shards(tmp_path: Path) -> None:
    rows = [{"problem_id": "a", "reward": 1, "sample_id": 0, "model": "m"}]
    paths = [write(tmp_path, "part0", rows, "jsonl"), write(tmp_path, "part1", rows, "jsonl")]
    expect_error(r"part1\.jsonl:1: problem 'a': duplicate sample id '0' \(first at .*part0\.jsonl:1\)", paths)


def test_nonbinary_in_second_file(tmp_path: Path) -> None:
    a = write(tmp_path, "a", [{"problem_id": "p", "reward": 1}], "jsonl")
    b = write(tmp_path, "b", [{"problem_id": "p", "reward": 1}, {"problem_id": "p", "reward": 0.5}], "csv")
    ds = read([a, b])
    assert ds.groups["a"].nonbinary_at is None and ds.groups["a"].c is not None
    assert ds.groups["b"].nonbinary_at == f"{b}:3" and ds.groups["b"].c is None


def test_mixing_shapes_is_an_error(tmp_path: Path) -> None:
    paths = [
        write(tmp_path, "s", [{"id": "a", "reward": 1}], "jsonl"),
        write(tmp_path, "c", [{"id": "a", "c": 1, "n": 2}], "jsonl"),
    ]
    expect_error(r"inputs mix per-sample and count rows", paths)


# ---------------------------------------------------------------------------------------
# rewards: bools, thresholds, continuous values


@pytest.mark.parametrize("fmt", FORMATS)
def test_bool_rewards(tmp_path: Path, fmt: str) -> None:
    rows = [{"problem_id": "a", "is_correct": b} for b in (True, False, True)]
    assert as_dict(single(read(write(tmp_path, "b", rows, fmt)))) == {"a": (3, 2)}


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_late_surprises_in_text_files(tmp_path: Path, fmt: str) -> None:
    # a typed read infers numbers from the first rows; a late `true` forces a text re-read,
    # a late 0.5 must not fail an integer column, a late text id must not fail an integer id
    rows: list[dict[str, Any]] = [{"problem_id": i % 3, "reward": i % 2} for i in range(1500)]
    rows += [{"problem_id": "a", "reward": True}, {"problem_id": "a", "reward": 0.5}]
    ds = read(write(tmp_path, "late", rows, fmt), threshold=0.5)
    assert as_dict(single(ds)) == {"0": (500, 250), "1": (500, 250), "2": (500, 250), "a": (2, 2)}
    where = {"jsonl": ":1502", "csv": ":1503"}[fmt]
    assert single(ds).nonbinary_at == f"{tmp_path / ('late.' + fmt)}{where}"


def test_jsonl_key_appearing_late_is_read(tmp_path: Path) -> None:
    rows: list[dict[str, Any]] = [{"problem_id": "a", "reward": 1} for _ in range(1200)]
    rows.append({"problem_id": "a", "reward": 0, "answer": "x"})
    ds = read(write(tmp_path, "late", rows, "jsonl"))
    table = single(ds)
    assert table.votes is not None and table.votes[0].tolist() == [1200, 1]
    assert "1200 row(s) with missing or empty answer kept as answer class ''" in ds.notes


@pytest.mark.parametrize("ext", ["json", "ndjson", "pq"])
def test_other_extensions(tmp_path: Path, ext: str) -> None:
    rows = random_samples(2, with_answer=False)
    path = write(tmp_path, "e", rows, "parquet" if ext == "pq" else "jsonl")
    path = path.rename(path.with_suffix("." + ext))
    assert as_dict(single(read(path))) == loop_counts(rows)


def test_clean_input_never_rescans_in_python(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The happy path is polars only: no line-locating or diagnosing Python pass."""

    def forbidden(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("Python rescan on a clean input")

    for fmt_class in FORMAT_CLASSES:  # every error-path method of every format
        for method in ("diagnose", "locate", "raw_field", "first_value_at", "nested_rows"):
            monkeypatch.setattr(fmt_class, method, forbidden)
    for fmt in FORMATS:
        rows = random_samples(8)
        assert as_dict(single(read(write(tmp_path, "clean", rows, fmt)))) == loop_counts(rows)


@pytest.mark.parametrize("fmt", FORMATS)
def test_continuous_rewards(tmp_path: Path, fmt: str) -> None:
    rows = [
        {"problem_id": "a", "reward": 1},
        {"problem_id": "b", "reward": 0},
        {"problem_id": "a", "reward": 0.75},
        {"problem_id": "a", "reward": 0.25},
        {"problem_id": "b", "reward": 2.5},
    ]
    path = write(tmp_path, "cont", rows, fmt)
    where = {"jsonl": ":3", "csv": ":4", "parquet": ": row 3"}[fmt]
    ds = read(path)
    table = single(ds)
    assert table.c is None and table.nonbinary_at == f"{path}{where}"
    assert table.rewards is not None
    assert [t.tolist() for t in table.rewards] == [[0.25, 0.75, 1.0], [0.0, 2.5]]
    assert any("not all 0/1" in note for note in ds.notes)
    thr = single(read(path, threshold=0.5))
    assert as_dict(thr) == {"a": (3, 2), "b": (2, 1)} and thr.nonbinary_at == f"{path}{where}"
    dropped = single(read(path, threshold=0.5, keep_rewards=False))
    assert dropped.rewards is None and dropped.c is not None
    expect_error(
        rf"cont\.{fmt}{where}: problem 'a': reward 0\.75 is not 0 or 1; binary rewards were required",
        path,
        binary=True,
    )


def test_binary_required_out_of_range(tmp_path: Path) -> None:
    rows = [{"problem_id": "a", "reward": 1}, {"problem_id": "b", "reward": -1}]
    expect_error(
        r"r\.csv:3: problem 'b': reward -1 is outside \[0, 1\]",
        write(tmp_path, "r", rows, "csv"),
        binary=True,
    )


def test_keep_rewards_for_binary(tmp_path: Path) -> None:
    rows = random_samples(7, with_answer=False)
    table = single(read(write(tmp_path, "k", rows, "parquet"), keep_rewards=True))
    assert table.rewards is not None
    for pid, rew in zip(table.ids, table.rewards):
        assert rew.tolist() == sorted(float(r["reward"]) for r in rows if r["problem_id"] == pid)


def test_nonbinary_per_group(tmp_path: Path) -> None:
    rows = [
        {"problem_id": "a", "reward": 1, "model": "x"},
        {"problem_id": "a", "reward": 0.5, "model": "y"},
        {"problem_id": "a", "reward": 0.2, "model": "y"},
    ]
    path = write(tmp_path, "g", rows, "jsonl")
    ds = read(path, by="model")
    assert (
        ds.groups["x"].c is not None
        and ds.groups["x"].nonbinary_at is None
        and ds.groups["x"].rewards is None
    )
    assert ds.groups["y"].c is None and ds.groups["y"].nonbinary_at == f"{path}:2"


# ---------------------------------------------------------------------------------------
# answer votes


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("seed", [0, 11])
def test_votes_match_counter_loop(tmp_path: Path, fmt: str, seed: int) -> None:
    rows = random_samples(seed)
    table = single(read(write(tmp_path, "v", rows, fmt)))
    assert table.votes is not None and table.vote_correct is not None
    for pid, votes, ok in zip(table.ids, table.votes, table.vote_correct):
        mine = [r for r in rows if r["problem_id"] == pid]
        counter = Counter(r["answer"] for r in mine)
        answers = sorted(counter)
        assert votes.tolist() == [counter[a] for a in answers]
        assert ok.tolist() == [any(r["reward"] == 1 for r in mine if r["answer"] == a) for a in answers]
        assert votes.dtype == np.int64 and ok.dtype == bool


def test_missing_answers_are_one_class_and_noted(tmp_path: Path) -> None:
    rows = [
        {"problem_id": "a", "reward": 1, "answer": "5"},
        {"problem_id": "a", "reward": 0, "answer": None},
        {"problem_id": "a", "reward": 0, "answer": ""},
    ]
    ds = read(write(tmp_path, "m", rows, "jsonl"))
    table = single(ds)
    assert table.votes is not None and table.vote_correct is not None
    assert table.votes[0].tolist() == [2, 1] and table.vote_correct[0].tolist() == [False, True]
    assert "2 row(s) with missing or empty answer kept as answer class ''" in ds.notes


def test_votes_without_correctness_for_continuous_rewards(tmp_path: Path) -> None:
    rows = [
        {"problem_id": "a", "reward": 0.3, "answer": "5"},
        {"problem_id": "a", "reward": 0.9, "answer": "6"},
    ]
    table = single(read(write(tmp_path, "c", rows, "parquet")))
    assert table.votes is not None and table.vote_correct is None and table.c is None
    table = single(read(write(tmp_path, "c", rows, "parquet"), threshold=0.5))
    assert table.vote_correct is not None and table.vote_correct[0].tolist() == [False, True]


# ---------------------------------------------------------------------------------------
# errors: file and line in every message


def test_file_errors(tmp_path: Path) -> None:
    expect_error(r"nope\.jsonl: file not found", tmp_path / "nope.jsonl")
    (tmp_path / "x.txt").write_text("a")
    expect_error(r"x\.txt: unknown file extension '\.txt'", tmp_path / "x.txt")
    for name, text in (("e.jsonl", ""), ("b.ndjson", "\n\n"), ("e.csv", "")):
        (tmp_path / name).write_text(text)
        expect_error(rf"{re.escape(name)}: empty file \(no rows\)", tmp_path / name)
    (tmp_path / "h.csv").write_text("problem_id,reward\n")
    expect_error(r"h\.csv: no data rows \(header only\)", tmp_path / "h.csv")
    pl.DataFrame({"problem_id": ["a"], "reward": [1]}).head(0).write_parquet(tmp_path / "z.parquet")
    expect_error(r"z\.parquet: empty file \(no rows\)", tmp_path / "z.parquet")


def test_malformed_json(tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    path.write_text('{"problem_id": "a", "reward": 1}\n\n{"problem_id": "a", reward: 1}\n')
    expect_error(r"m\.jsonl:3: malformed JSON", path)
    path.write_text('{"problem_id": "a", "reward": NaN}\n')
    expect_error(r"m\.jsonl:1: malformed JSON \(bare NaN", path)
    path = tmp_path / "arr.jsonl"  # (a .json file holding an array is a JSON document: test_io_documents.py)
    path.write_text('[{"problem_id": "a", "reward": 1}]\n')
    expect_error(r"arr\.jsonl:1: expected one JSON object per line, got a JSON list", path)


def test_ragged_csv(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("problem_id,reward\na,1\nb,0,5\n")
    expect_error(r"r\.csv:3: expected 2 fields", path)


@pytest.mark.parametrize(
    "fmt,value,pattern",
    [
        ("jsonl", "abc", r"reward 'abc' is not a number"),
        ("csv", "abc", r"reward 'abc' is not a number"),
        ("parquet", "abc", r"reward 'abc' is not a number"),
        ("jsonl", None, r"missing reward"),
        ("csv", None, r"missing reward"),
        ("parquet", None, r"missing reward"),
        ("csv", "nan", r"reward is NaN"),
        ("parquet", "nan", r"reward is NaN"),
        ("csv", "inf", r"reward is infinite"),
    ],
)
def test_bad_reward_names_line(tmp_path: Path, fmt: str, value: Any, pattern: str) -> None:
    rewards: list[Any] = (
        ["1", "0", value, "1"] if value in ("abc",) or fmt == "csv" else [1.0, 0.0, value, 1.0]
    )
    if fmt == "parquet" and value == "nan":
        rewards = [1.0, 0.0, float("nan"), 1.0]
    rows = [{"problem_id": f"p{i}", "reward": r} for i, r in enumerate(rewards)]
    path = write(tmp_path, "bad", rows, fmt)
    where = {"jsonl": ":3", "csv": ":4", "parquet": ": row 3"}[fmt]
    expect_error(rf"bad\.{fmt}{where}: problem 'p2': {pattern}", path)


@pytest.mark.parametrize("fmt", FORMATS)
def test_missing_id_names_line(tmp_path: Path, fmt: str) -> None:
    rows = [{"problem_id": "a", "reward": 1}, {"problem_id": None, "reward": 0}]
    where = {"jsonl": ":2", "csv": ":3", "parquet": ": row 2"}[fmt]
    expect_error(
        rf"n\.{fmt}{where}: missing problem id \(column 'problem_id'\)", write(tmp_path, "n", rows, fmt)
    )


def test_csv_lines_count_blank_lines_and_quoted_newlines(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_text('problem_id,reward,answer\na,1,"multi\nline"\n\nb,oops,x\n')
    expect_error(r"q\.csv:5: problem 'b': reward 'oops' is not a number", path)


def test_jsonl_lines_count_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "b.jsonl"
    path.write_text('\n{"problem_id": "a", "reward": 1}\n\r\n\n{"problem_id": "b", "reward": "?"}\n')
    expect_error(r"b\.jsonl:5: problem 'b': reward '\?' is not a number", path)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    "row,pattern",
    [
        ({"id": "b", "c": 5, "n": 4}, r"problem 'b': c = 5 > n = 4"),
        ({"id": "b", "c": -1, "n": 4}, r"problem 'b': c = -1 < 0"),
        ({"id": "b", "c": 1.5, "n": 4}, r"problem 'b': count 'c' = 1\.5 is not an integer"),
        ({"id": "b", "c": 0, "n": 0}, r"problem 'b': n = 0 < 1"),
        ({"id": "b", "c": 0, "n": None}, r"problem 'b': missing or non-finite count 'n'"),
        ({"id": "b", "c": "x", "n": 3}, r"problem 'b': count 'c' = 'x' is not a number"),
        ({"id": None, "c": 0, "n": 3}, r"missing problem id"),
    ],
)
def test_bad_counts_name_line(tmp_path: Path, fmt: str, row: dict[str, Any], pattern: str) -> None:
    if fmt == "parquet" and row["c"] == "x":
        pytest.skip("a Parquet column has one type; a text count there is a whole-column type error")
    rows = [{"id": "a", "c": 1, "n": 4}, row]
    where = {"jsonl": ":2", "csv": ":3", "parquet": ": row 2"}[fmt]
    expect_error(rf"c\.{fmt}{where}: {pattern}", write(tmp_path, "c", rows, fmt))


def test_text_counts_column_in_parquet(tmp_path: Path) -> None:
    path = write(tmp_path, "t", [{"id": "a", "c": "1", "n": "4"}, {"id": "b", "c": "x", "n": "4"}], "parquet")
    expect_error(r"t\.parquet: row 2: problem 'b': count 'c' = 'x' is not a number", path)


@pytest.mark.parametrize("fmt", FORMATS)
def test_duplicate_count_rows(tmp_path: Path, fmt: str) -> None:
    rows = [{"id": "a", "c": 1, "n": 4}, {"id": "b", "c": 1, "n": 4}, {"id": "a", "c": 2, "n": 4}]
    where, first = {"jsonl": (":3", ":1"), "csv": (":4", ":2"), "parquet": (": row 3", ": row 1")}[fmt]
    expect_error(
        rf"d\.{fmt}{where}: duplicate problem id 'a' \(first at .*d\.{fmt}{first}\)",
        write(tmp_path, "d", rows, fmt),
    )
    grouped = [dict(r, model=m) for m in ("x", "y") for r in rows[:2]]
    ds = read(write(tmp_path, "g", grouped, fmt), by="model")
    assert list(ds.groups) == ["x", "y"] and as_dict(ds.groups["y"]) == {"a": (4, 1), "b": (4, 1)}


@pytest.mark.parametrize("fmt", FORMATS)
def test_duplicate_sample_ids_name_both_lines(tmp_path: Path, fmt: str) -> None:
    rows = [
        {"problem_id": "a", "reward": 1, "sample_idx": 0},
        {"problem_id": "a", "reward": 1, "sample_idx": 1},
        {"problem_id": "b", "reward": 1, "sample_idx": 0},
        {"problem_id": "a", "reward": 0, "sample_idx": 0},
    ]
    where, first = {"jsonl": (":4", ":1"), "csv": (":5", ":2"), "parquet": (": row 4", ": row 1")}[fmt]
    expect_error(
        rf"s\.{fmt}{where}: problem 'a': duplicate sample id '0' \(first at .*s\.{fmt}{first}\)",
        write(tmp_path, "s", rows, fmt),
    )


def test_duplicate_sample_ids_with_answers(tmp_path: Path) -> None:
    rows = [
        {"problem_id": "a", "reward": 1, "sample_id": 3, "answer": "x"},
        {"problem_id": "a", "reward": 0, "sample_id": 3, "answer": "y"},
    ]
    expect_error(
        r"s\.jsonl:2: problem 'a': duplicate sample id '3' \(first at .*s\.jsonl:1\)",
        write(tmp_path, "s", rows, "jsonl"),
    )


def test_missing_group_value(tmp_path: Path) -> None:
    rows = [{"problem_id": "a", "reward": 1, "model": "m"}, {"problem_id": "a", "reward": 1, "model": None}]
    expect_error(
        r"g\.jsonl:2: problem 'a': missing value in group column 'model'",
        write(tmp_path, "g", rows, "jsonl"),
        by="model",
    )
    expect_error(
        r"g\.jsonl: group column 'step' \(by\) not found", write(tmp_path, "g", rows, "jsonl"), by="step"
    )


def test_threshold_on_counts_is_noted(tmp_path: Path) -> None:
    ds = read(write(tmp_path, "c", [{"id": "a", "c": 1, "n": 2}], "jsonl"), threshold=0.5)
    assert "threshold ignored: the inputs hold counts, not rewards" in ds.notes


def test_bad_threshold() -> None:
    with pytest.raises(InputError, match="threshold must be finite"):
        read("whatever.jsonl", threshold=float("nan"))


# ---------------------------------------------------------------------------------------
# nothing silently dropped


def test_notes(tmp_path: Path) -> None:
    path = tmp_path / "n.jsonl"
    path.write_text(
        '{"problem_id": "a", "reward": 1, "source": "x"}\n\n\n'
        '{"problem_id": "a", "reward": 0, "source": "y"}\n{}\n'
    )
    ds = read(path)
    assert as_dict(single(ds)) == {"a": (2, 1)}
    assert f"{path}: 2 blank line(s) skipped" in ds.notes
    assert "1 empty row(s) (no 'problem_id', no 'reward') skipped" in ds.notes
    assert any(note.startswith("column(s) not used: source") for note in ds.notes)
    assert ds.rows == 3
    csv_path = tmp_path / "n.csv"
    csv_path.write_text("problem_id,reward\na,1\n\nb,0\n\n")
    ds = read(csv_path)
    assert as_dict(single(ds)) == {"a": (1, 1), "b": (1, 0)}
    assert "2 empty row(s) (no 'problem_id', no 'reward') skipped" in ds.notes
    clean = read(write(tmp_path, "clean", [{"problem_id": "a", "reward": 1}], "parquet"))
    assert clean.notes == []


def test_digest_counts_lines_across_chunks(tmp_path: Path) -> None:
    """The vectorised line count against a plain split, with lines straddling 4 MiB chunk edges."""
    rng = random.Random(3)
    parts = []
    size = 0
    while size < (1 << 22) * 2 + 1000:
        line = rng.choice(["", "\r", "x" * rng.randint(1, 300), "  "])
        parts.append(line)
        size += len(line) + 1
    text = "\n".join(parts) + rng.choice(["", "\n", "tail"])
    path = tmp_path / "big.jsonl"
    path.write_bytes(text.encode())
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    blank = sum(1 for x in lines if x in ("", "\r"))
    sha, nonblank, nblank = digest(path, count_lines=True)
    assert (nonblank, nblank) == (len(lines) - blank, blank)
    assert sha == hashlib.sha256(text.encode()).hexdigest()


# ---------------------------------------------------------------------------------------
# paths are literal; a file is read once


@pytest.mark.parametrize("fmt", FORMATS)
def test_paths_with_glob_characters_are_read_literally(tmp_path: Path, fmt: str) -> None:
    for name, pid in (("p1", "a"), ("p2", "b"), ("p?", "c"), ("q*", "d"), ("[bold]x", "e"), ("r]", "f")):
        write(tmp_path, name, [{"id": pid, "c": 1, "n": 4}], fmt)
    for name, pid in (("p?", "c"), ("q*", "d"), ("[bold]x", "e"), ("r]", "f")):
        path = tmp_path / f"{name}.{fmt}"
        ds = read(path)
        assert list(single(ds).ids) == [pid] and ds.files == [str(path)]
    folder = tmp_path / "d[1]"  # a glob character in a folder name, on the error path too
    folder.mkdir()
    if fmt == "jsonl":
        (folder / "x.jsonl").write_text('{"id": "a", "c": 1, "n": 4}\n{"id": "b", "c": [1], "n": 4}\n')
        expect_error(r"d\[1\]/x\.jsonl:2: field 'c' holds a JSON list", folder / "x.jsonl")


def test_a_file_given_twice_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "A", [{"id": "a", "c": 1, "n": 4}], "jsonl")
    expect_error(rf"^{re.escape(str(path))}: given twice$", [path, path])
    other = tmp_path / "sub" / ".." / "A.jsonl"
    (tmp_path / "sub").mkdir()
    expect_error(rf"^{re.escape(str(other))}: the same file as {re.escape(str(path))}, given twice$", [path, other])
    # a copy is another file: one group per file, as before
    copy = tmp_path / "B.jsonl"
    copy.write_bytes(path.read_bytes())
    assert list(read([path, copy]).groups) == ["A", "B"]


# ---------------------------------------------------------------------------------------
# an answer has one verdict


def conflict_of(ds: pio.Dataset, label: str = "") -> str:
    """The group's recorded answer conflict, which must also be one of the dataset's notes."""
    table = ds.groups[label]
    assert table.answer_conflict is not None and "\n" not in table.answer_conflict
    assert table.vote_correct is None and table.votes is not None  # counts kept, correctness off
    assert any(note.startswith(table.answer_conflict) for note in ds.notes), ds.notes
    return table.answer_conflict


@pytest.mark.parametrize("fmt", FORMATS)
def test_answer_both_correct_and_incorrect_is_located_and_turns_correctness_off(tmp_path: Path, fmt: str) -> None:
    rows = [
        {"problem_id": "q1", "reward": 1, "answer": "a"},
        {"problem_id": "q1", "reward": 0, "answer": "b"},
        {"problem_id": "q2", "reward": 1, "answer": "b"},
        {"problem_id": "q2", "reward": 0, "answer": "b"},
    ]
    here, there = {"jsonl": (":4", ":3"), "csv": (":5", ":4"), "parquet": (": row 4", ": row 3")}[fmt]
    ds = read(write(tmp_path, "x", rows, fmt))
    assert re.fullmatch(
        rf".*x\.{fmt}{here}: problem 'q2': answer 'b' has both correct and incorrect samples "
        rf"\(incorrect here, correct at .*x\.{fmt}{there}\)",
        conflict_of(ds),
    )
    # pass@k is still fine (e.g. flaky tests: one program, two verdicts): the counts are unchanged.
    assert single(ds).n.tolist() == [2, 2] and single(ds).c.tolist() == [1, 1]


def test_answer_verdicts_with_threshold_groups_and_missing_answers(tmp_path: Path) -> None:
    rows = [
        {"problem_id": "q1", "reward": 0.2, "answer": "7", "model": "m"},
        {"problem_id": "q1", "reward": 0.9, "answer": "7", "model": "m"},
    ]
    path = write(tmp_path, "t", rows, "jsonl")
    # continuous rewards without a threshold: answers have no correctness, nothing to disagree on
    assert single(read(path)).vote_correct is None and single(read(path)).answer_conflict is None
    assert re.fullmatch(
        r".*t\.jsonl:2: problem 'q1' in group 'm': answer '7' has both correct and incorrect samples "
        r"\(reward 0\.9 ≥ 0\.5 here, reward 0\.2 < 0\.5 at .*t\.jsonl:1\)",
        conflict_of(read(path, threshold=0.5, by="model"), "m"),
    )
    table = single(read(path, threshold=0.1))  # both correct under this threshold
    assert table.vote_correct is not None and table.vote_correct[0].tolist() == [True]
    assert table.answer_conflict is None
    missing = [
        {"problem_id": "q1", "reward": 0, "answer": None},
        {"problem_id": "q1", "reward": 1, "answer": ""},
    ]
    assert re.fullmatch(
        r".*m\.csv:3: problem 'q1': answer '' \(missing or empty\) has both correct and incorrect samples.*",
        conflict_of(read(write(tmp_path, "m", missing, "csv"))),
    )
    ds = from_frame(pl.DataFrame({"id": ["q1", "q1"], "correct": [True, False], "answer": ["x", "x"]}), source="f")
    assert conflict_of(ds).startswith("f: row 2: problem 'q1': answer 'x' has both")


# ---------------------------------------------------------------------------------------
# lines polars cannot read are named, in one line


def test_unreadable_json_numbers_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    good = '{"id": "p1", "c": 1, "n": 8}\n{"id": "p2", "c": 1, "n": 8}\n\n'
    path.write_text(good + '{"id": "p3", "c": 1e400, "n": 8}\n')
    expect_error(r"^.*big\.jsonl:4: field 'c': number out of range for a 64-bit float \(beyond ±1\.8e308\)$", path)
    path.write_text(good + '{"id": "p3", "c": 1, "n": %d}\n' % 2**130)
    expect_error(
        r"^.*big\.jsonl:4: field 'n': integer 13611294676837538538… is out of range \(over 128 bits\)$", path
    )


def test_json_field_changing_kind_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "k.jsonl"
    lines = ['{"id": "a%d", "c": 1, "n": 8}' % i for i in range(1500)]
    lines.insert(1200, '{"id": "b", "c": [1], "n": 8}')
    path.write_text("\n".join(lines) + "\n")
    expect_error(
        r"^.*k\.jsonl:1201: field 'c' holds a JSON list here but a number on line 1; "
        r"a field must hold one kind of value on every line$",
        path,
    )
    path.write_text('{"id": "a", "c": 1, "n": 8, "meta": {"x": 1}}\n{"id": "b", "c": 1, "n": 8, "meta": true}\n')
    expect_error(r"k\.jsonl:2: field 'meta' holds a JSON boolean here but an object on line 1", path)
    # a field that is a list on every line reads, but cannot be a count
    path.write_text('{"id": "a", "c": [1], "n": 8}\n{"id": "b", "c": [2], "n": 8}\n')
    expect_error(r"^.*k\.jsonl:1: count c column 'c' has type List\(Int64\); expected numbers$", path)
    # a list of rewards is one sample per element (test_list_rewards_*); a list of lists is no reward
    pl.DataFrame({"id": ["a"], "reward": [[[1.0]]]}).write_parquet(tmp_path / "k.parquet")
    expect_error(
        r"k\.parquet: row 1: reward column 'reward' has type List\(Float64\); expected numbers or booleans",
        tmp_path / "k.parquet",
    )


def test_kind_clash_model_matches_polars() -> None:
    """The rule used to name the field that breaks schema inference, against polars itself."""
    samples = {"null": "null", "boolean": "true", "number": "1", "string": '"x"', "list": "[1]", "object": '{"x": 1}'}
    for a, b in ((a, b) for a in samples for b in samples):
        text = f'{{"k": {samples[a]}}}\n{{"k": {samples[b]}}}\n'.encode()
        try:
            pl.scan_ndjson(text, infer_schema_length=None).collect_schema()
            fails = False
        except pl.exceptions.PolarsError:
            fails = True
        assert _kinds_clash(a, b) == fails, (a, b)
    # and merged in line order, as _follow_fields does, over every sequence of three kinds
    for seq in itertools.product(samples, repeat=3):
        text = "".join(f'{{"k": {samples[kind]}}}\n' for kind in seq).encode()
        try:
            pl.scan_ndjson(text, infer_schema_length=None).collect_schema()
            fails = False
        except pl.exceptions.PolarsError:
            fails = True
        kinds: dict[str, tuple[str, int]] = {}
        try:
            for lineno, kind in enumerate(seq, 1):
                _follow_fields("s", kinds, {"k": json.loads(samples[kind])}, lineno)
            clash = False
        except InputError:
            clash = True
        assert clash == fails, seq


def test_non_utf8_text_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "u.csv"
    path.write_bytes(b"problem_id,reward\na,1\nb,0\nc\xff,1\n")
    expect_error(r"^.*u\.csv:4: not valid UTF-8 \(byte 0xff at byte 2 of the line\); save the file as UTF-8$", path)
    path = tmp_path / "u.jsonl"
    path.write_bytes(b'{"problem_id": "a", "reward": 1}\n{"problem_id": "\xe9", "reward": 1}\n')
    expect_error(r"^.*u\.jsonl:2: not valid UTF-8 \(byte 0xe9 at byte 17 of the line\)", path)


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_byte_order_mark_is_accepted(tmp_path: Path, fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = random_samples(4)
    plain = write(tmp_path, "plain", rows, fmt)
    bom = tmp_path / f"bom.{fmt}"
    bom.write_bytes(b"\xef\xbb\xbf" + plain.read_bytes())
    for fmt_class in FORMAT_CLASSES:  # a clean BOM file is read without a Python rescan
        monkeypatch.setattr(fmt_class, "diagnose", None)
    table = single(read(bom))
    assert as_dict(table) == loop_counts(rows)
    assert table.votes is not None and [v.tolist() for v in table.votes] == [
        v.tolist() for v in single(read(plain)).votes or []
    ]
    monkeypatch.undo()
    bad = tmp_path / "bad.jsonl"  # line numbers count the BOM line as line 1
    bad.write_bytes(b'\xef\xbb\xbf{"problem_id": "a", "reward": 1}\n\n{"problem_id": "b", "reward": "x"}\n')
    expect_error(r"bad\.jsonl:3: problem 'b': reward 'x' is not a number", bad)


# ---------------------------------------------------------------------------------------
# counts are numbers, ids are not empty, values are shown exactly


@pytest.mark.parametrize("fmt", FORMATS)
def test_boolean_counts_are_errors(tmp_path: Path, fmt: str) -> None:
    where = {"jsonl": ":2", "csv": ":3", "parquet": ": row 2"}[fmt]
    # a whole boolean column (Parquet and JSON: typed as booleans; CSV: the text)
    rows = [{"id": "a", "c": False, "n": 8}, {"id": "b", "c": True, "n": 8}]
    row1 = {"jsonl": ":1", "csv": ":2", "parquet": ": row 1"}[fmt]
    expect_error(
        rf"b\.{fmt}{row1}: problem 'a': count 'c' = false is a boolean, not a count", write(tmp_path, "b", rows, fmt)
    )
    if fmt != "parquet":  # one Parquet column has one type
        rows = [{"id": "a", "c": 1, "n": 8}, {"id": "b", "c": 1, "n": True}]
        expect_error(
            rf"m\.{fmt}{where}: problem 'b': count 'n' = true is a boolean, not a count",
            write(tmp_path, "m", rows, fmt),
        )
    # booleans stay fine as rewards
    assert as_dict(single(read(write(tmp_path, "r", [{"id": "a", "reward": True}], fmt)))) == {"a": (1, 1)}


def test_count_text_in_csv_is_a_number(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text('id,c,n\na,"3",8\nb,3e0,8.0\n')
    assert as_dict(single(read(path))) == {"a": (8, 3), "b": (8, 3)}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("shape", ["samples", "counts"])
def test_empty_id_is_an_error(tmp_path: Path, fmt: str, shape: str) -> None:
    first, second = (
        ({"id": "a", "reward": 1}, {"id": "", "reward": 0})
        if shape == "samples"
        else ({"id": "a", "c": 1, "n": 4}, {"id": "", "c": 1, "n": 4})
    )
    path = write(tmp_path, "e", [first, second], fmt)
    if fmt == "csv":  # the writer leaves "" as an empty (missing) field; quote it to make it text
        path.write_text(path.read_text().replace("\n,", '\n"",'))
    where = {"jsonl": ":2", "csv": ":3", "parquet": ": row 2"}[fmt]
    expect_error(rf"^.*e\.{fmt}{where}: empty problem id \(column 'id'\)$", path)
    with pytest.raises(InputError, match=r"problem index 1: empty id"):
        from_counts(["a", ""], [2, 2], [1, 1])


def test_values_in_messages_are_not_rounded(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text('{"id": "a", "c": 1, "n": 8}\n{"id": "b", "c": 3.0000000000000004, "n": 8}\n')
    expect_error(r"r\.jsonl:2: problem 'b': count 'c' = 3\.0000000000000004 is not an integer$", path)
    path.write_text('{"id": "a", "reward": 0.1234567891}\n')
    expect_error(r"reward 0\.1234567891 is not 0 or 1", path, binary=True)


@pytest.mark.parametrize("shape", ["samples", "counts"])
def test_json_list_or_object_in_a_text_column_is_an_error(tmp_path: Path, shape: str) -> None:
    """A list or object id, sample id, answer or group value is not turned into its JSON text."""
    base: dict[str, Any] = {"reward": 1} if shape == "samples" else {"c": 1, "n": 4}
    path = tmp_path / "j.jsonl"

    def lines(*rows: dict[str, Any]) -> Path:
        path.write_text("".join(json.dumps(dict(r, **base)) + "\n" for r in rows))
        return path

    ok = {"id": "a", "model": "m"}
    for value, kind in ((["a"], "list"), ({"x": 1}, "object")):
        expect_error(
            rf"^.*j\.jsonl:2: problem id must be a string or a number, got a JSON {kind} \(column 'id'\)$",
            lines(ok, {"id": value, "model": "m"}),
        )
        expect_error(r"j\.jsonl:1: problem id must be .* got a JSON", lines({"id": value}, {"id": value}))
        expect_error(r"j\.jsonl:2: group value must be .* JSON " + kind, lines(ok, {"id": "b", "model": value}))
        expect_error(r"j\.jsonl:2: group value must be", lines(ok, {"id": "b", "model": value}), by="model")
        if shape == "samples":
            expect_error(
                rf"j\.jsonl:2: answer must be a string or a number, got a JSON {kind} \(column 'answer'\)",
                lines({"id": "a", "answer": "7"}, {"id": "a", "answer": value}),
            )
            expect_error(
                rf"j\.jsonl:2: sample id must be .* JSON {kind} \(column 'sample_id'\)",
                lines({"id": "a", "sample_id": "s0"}, {"id": "a", "sample_id": value}),
            )
    # text that merely looks like JSON is text; an earlier bad row is still named first
    table = single(read(lines({"id": "[b]", "model": "{m}"}, {"id": "{c}", "model": "{m}"})))
    assert list(table.ids) == ["[b]", "{c}"]
    if shape == "samples":
        ds = read(lines({"id": "a", "answer": "[0, 1)"}, {"id": "a", "answer": "{1, 2}"}))
        assert list(single(ds).votes[0]) == [1, 1]  # type: ignore[index]
        path.write_text('{"id": "a", "reward": null}\n{"id": ["a"], "reward": 1}\n')
        expect_error(r"j\.jsonl:1: problem 'a': missing reward", path)


def test_huge_counts_are_quoted_as_written(tmp_path: Path) -> None:
    """A count beyond 2^53 is named as the file writes it, not as the float it rounds to."""
    big = "99999999999999999999999"  # as a float: 99999999999999991611392
    path = tmp_path / "h.jsonl"
    path.write_text('{"id": "a", "c": 1, "n": 4}\n\n{"id": "b", "c": 1, "n": %s}\n' % big)
    expect_error(rf"^.*h\.jsonl:3: problem 'b': n = {big} is too large to count exactly", path)
    path.write_text('{"id": "a", "c": 1e23, "n": 4}\n')
    expect_error(r"h\.jsonl:1: problem 'a': c = 1e23 > n = 4$", path)
    csv_path = tmp_path / "h.csv"
    csv_path.write_text(f"id,c,n\na,1,4\nb,-{big},4\n")
    expect_error(rf"h\.csv:3: problem 'b': c = -{big} < 0$", csv_path)
    pl.DataFrame({"id": ["a"], "c": [1], "n": [2**53 + 1]}).write_parquet(tmp_path / "h.parquet")
    expect_error(r"h\.parquet: row 1: problem 'a': n = 9007199254740993 is too large", tmp_path / "h.parquet")


def test_repeated_csv_column_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    path.write_text("id,c,c,n\na,1,2,4\n")
    expect_error(r"^.*dup\.csv:1: column 'c' appears twice in the header$", path)
    path.write_text("\ufeffproblem_id,reward,answer,answer\na,1,x,y\n")
    expect_error(r"dup\.csv:1: column 'answer' appears twice in the header$", path)
    path.write_text("id,c,C,n\na,1,2,4\n")  # names differ in case: two columns, the exact spelling wins
    assert as_dict(single(read(path))) == {"a": (4, 1)}


# ---------------------------------------------------------------------------------------
# formats other tools write (small imitations: field names, nesting and types as they write them)


def lm_eval_rows(filters: tuple[str, ...], docs: int = 4) -> list[dict[str, Any]]:
    """lm-evaluation-harness ``--log_samples`` lines: one per (filter, doc), filters outermost."""
    rows = []
    for f, filt in enumerate(filters):
        for i in range(docs):
            pred = str(i) if (i + f) % 2 == 0 else "[invalid]"
            rows.append(
                {
                    "doc_id": i,
                    "doc": {"question": f"q{i}", "answer": f"#### {i}"},
                    "target": str(i),
                    "arguments": {"gen_args_0": {"arg_0": f"Question: q{i}", "arg_1": {"until": ["Q:"]}}},
                    "resps": [[f"The answer is {pred}."]],
                    "filtered_resps": [pred],
                    "filter": filt,
                    "metrics": ["exact_match"],
                    "doc_hash": "0" * 64,
                    "exact_match": float(pred == str(i)),
                }
            )
    return rows


def test_lm_eval_samples_keep_the_filters_apart(tmp_path: Path) -> None:
    rows = lm_eval_rows(("strict-match", "flexible-extract"))
    path = write(tmp_path, "samples_gsm8k_2024-05-01T12-00-00", rows, "jsonl")
    # the same doc graded by two filters is not two samples: an lm-eval samples file read alone is
    # split by filter (exact_match, the metric the lines name, is the reward)
    for ds in (read(path), read(path, by="filter")):
        assert list(ds.groups) == ["flexible-extract", "strict-match"] and ds.by == "filter"
        for filt, table in ds.groups.items():
            expected = {str(r["doc_id"]): (1, int(r["exact_match"])) for r in rows if r["filter"] == filt}
            assert as_dict(table) == expected
    one = write(tmp_path, "one_filter", [r for r in rows if r["filter"] == "strict-match"], "jsonl")
    assert as_dict(single(read(one))) == {"0": (1, 1), "1": (1, 0), "2": (1, 1), "3": (1, 0)}
    # a plain file with a filter column (no lm-eval signature) mixing filters: an error naming the line, and the fix
    plain = write(tmp_path, "plain", [{k: r[k] for k in ("doc_id", "filter", "exact_match")} for r in rows], "jsonl")
    expect_error(
        r"plain\.jsonl:5: problem '0' has rows from several 'filter' values "
        r"\['strict-match', 'flexible-extract'\]; pass by='filter' \(--by filter\)",
        plain,
    )


def test_a_filter_column_alone_does_not_make_files_shards(tmp_path: Path) -> None:
    # two models' logs of one task, both with filter 'none': two groups, not one pooled run
    a = lm_eval_rows(("none",))
    b = [dict(r, exact_match=1.0) for r in a]
    (tmp_path / "base").mkdir()
    (tmp_path / "rl").mkdir()
    ds = read(
        [write(tmp_path / "base", "samples_arc", a, "jsonl"), write(tmp_path / "rl", "samples_arc", b, "jsonl")]
    )
    assert list(ds.groups) == ["base/samples_arc", "rl/samples_arc"] and ds.by == "file"
    assert as_dict(ds.groups["rl/samples_arc"]) == {str(i): (1, 1) for i in range(4)}
    # with a model column of one value besides, they are shards again
    shards = read(
        [
            write(tmp_path, "part0", [dict(r, model="m") for r in a[:2]], "jsonl"),
            write(tmp_path, "part1", [dict(r, model="m") for r in a[2:]], "jsonl"),
        ]
    )
    assert list(shards.groups) == [""]


def test_count_column_without_n_names_the_n_spellings(tmp_path: Path) -> None:
    path = write(tmp_path, "c", [{"task_id": "a", "successes": 3, "tries_total": 8}], "csv")
    msg = expect_error(r"^.*c\.csv: count column 'successes' has no n column beside it; columns are", path)
    assert "num_samples" in msg and "total" in msg and "--n-col" in msg
    assert as_dict(single(read(path, n_col="tries_total"))) == {"a": (8, 3)}


def test_several_reward_like_columns_are_noted(tmp_path: Path) -> None:
    # verl's math_dapo dump: score is +1 / -1, acc a bool; the first spelling wins, the rest are named
    rows = [
        {"problem_id": "a", "score": 1.0, "acc": True},
        {"problem_id": "a", "score": -1.0, "acc": False},
    ]
    path = write(tmp_path, "v", rows, "jsonl")
    ds = read(path)
    note = f"reward column 'score' used; also reward-like: acc (in {path}); pass reward_col= / --reward-col to choose"
    assert note in ds.notes
    assert single(ds).c is None  # ±1 is not 0/1
    chosen = read(path, reward_col="acc")
    assert as_dict(single(chosen)) == {"a": (2, 1)} and not any("reward-like" in n for n in chosen.notes)


def test_unnamed_columns_are_quoted_in_notes(tmp_path: Path) -> None:
    # pandas DataFrame.to_csv() writes its index as a column with an empty name
    path = tmp_path / "pd.csv"
    path.write_text(",problem_id,correct\n0,a,True\n1,a,False\n2,b,True\n")
    ds = read(path)
    assert as_dict(single(ds)) == {"a": (2, 1), "b": (1, 1)}
    assert f"column(s) not used: '' (in {path})" in ds.notes


def grouped_rows() -> list[dict[str, Any]]:
    """One row per problem, samples as lists (group-sampling dumps), with a scalar reference answer."""
    return [
        {"problem_id": "p0", "answer": "4", "rewards": [1.0, 0.0, 1.0], "preds": ["4", "5", "4"]},
        {"problem_id": "p1", "answer": "9", "rewards": [0.0, 0.0], "preds": ["1", "2"]},
        {"problem_id": "p2", "answer": "7", "rewards": [True, True, False, True], "preds": ["7", "7", "8", "7"]},
    ]


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_list_rewards_are_one_sample_per_element(tmp_path: Path, fmt: str) -> None:
    rows = grouped_rows()
    if fmt == "parquet":
        rows[2]["rewards"] = [1.0, 1.0, 0.0, 1.0]  # a Parquet list has one element type
    path = write(tmp_path, "g", rows, fmt)
    ds = read(path)
    table = single(ds)
    loop = {r["problem_id"]: (len(r["rewards"]), int(sum(r["rewards"]))) for r in rows}
    assert as_dict(table) == loop == {"p0": (3, 2), "p1": (2, 0), "p2": (4, 3)}
    # the scalar `answer` is the reference answer, not the samples' answers: left out, and said so
    assert table.votes is None
    assert any("column 'answer' not used as the answer column" in note for note in ds.notes)
    assert any("column 'rewards' holds lists" in note for note in ds.notes)
    voted = single(read(path, answer_col="preds"))
    assert voted.votes is not None and [v.tolist() for v in voted.votes] == [[2, 1], [1, 1], [3, 1]]
    assert voted.vote_correct is not None and [v.tolist() for v in voted.vote_correct][0] == [True, False]


def test_list_rewards_from_a_frame() -> None:
    frame = pl.DataFrame({"task_id": ["x", "y"], "passed": [[True, False], [False]]})
    assert as_dict(single(from_frame(frame))) == {"x": (2, 1), "y": (1, 0)}


def test_list_rewards_errors_name_the_row(tmp_path: Path) -> None:
    rows = grouped_rows()
    rows[1]["rewards"] = []
    path = write(tmp_path, "g", rows, "jsonl")
    expect_error(r"^.*g\.jsonl:2: problem 'p1': empty list in reward column 'rewards'", path)
    rows = grouped_rows()
    rows[2]["preds"] = ["7", "7"]
    path = write(tmp_path, "g2", rows, "jsonl")
    expect_error(
        r"^.*g2\.jsonl:3: problem 'p2': 4 rewards \(column 'rewards'\) but 2 entries in column 'preds'; "
        r"the lists must hold one entry per sample$",
        path,
        answer_col="preds",
    )
    rows = grouped_rows()
    rows[1]["rewards"] = [0.0, None]
    path = write(tmp_path, "g3", rows, "jsonl")
    expect_error(r"^.*g3\.jsonl:2: problem 'p1': missing reward \(column 'rewards'\)$", path)
    # a named answer column must hold one answer per sample
    expect_error(
        r"^.*g4\.jsonl: reward column 'rewards' holds lists \(one row per problem\), so answer_col 'answer' "
        r"must hold a list of an answer per sample; it holds String values$",
        write(tmp_path, "g4", grouped_rows(), "jsonl"),
        answer_col="answer",
    )


# ---------------------------------------------------------------------------------------
# frames, arrays, bundled data


def test_from_frame_polars_and_arrow(tmp_path: Path) -> None:
    rows = random_samples(9)
    frame = pl.DataFrame(rows)
    expected = loop_counts(rows)
    assert as_dict(single(from_frame(frame))) == expected
    assert as_dict(single(from_frame(frame.lazy()))) == expected
    assert as_dict(single(from_frame(frame.to_arrow()))) == expected
    ds = from_frame(frame, source="mine")
    assert ds.files == ["mine"] and ds.sha256 == {}
    bad = pl.DataFrame({"problem_id": ["a", "b"], "reward": [1.0, None]})
    with pytest.raises(InputError, match=r"^mine: row 2: problem 'b': missing reward"):
        from_frame(bad, source="mine")
    with pytest.raises(InputError, match="empty frame"):
        from_frame(frame.head(0))
    with pytest.raises(InputError, match="unsupported frame type"):
        from_frame([1, 2, 3])


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    st.lists(
        st.tuples(st.sampled_from(["a", "b", "c", "10", "2"]), st.sampled_from(["x", "y", "", None])),
        min_size=1,
        max_size=40,
    )
)
def test_from_frame_matches_loop(drawn: list[tuple[str, str | None]]) -> None:
    # correctness is a function of (problem, answer): one answer is never both correct and incorrect
    rows = [(pid, (answer or "") == ("x" if pid < "b" else "y"), answer) for pid, answer in drawn]
    frame = pl.DataFrame(
        {"problem_id": [r[0] for r in rows], "correct": [r[1] for r in rows], "answer": [r[2] for r in rows]}
    )
    table = single(from_frame(frame))
    expected = loop_counts([{"problem_id": r[0], "reward": r[1]} for r in rows])
    assert as_dict(table) == expected and list(table.ids) == sorted(expected)
    assert table.votes is not None and table.vote_correct is not None
    for pid, votes, ok in zip(table.ids, table.votes, table.vote_correct):
        counter = Counter(r[2] or "" for r in rows if r[0] == pid)
        answers = sorted(counter)
        assert votes.tolist() == [counter[a] for a in answers]
        assert ok.tolist() == [any(r[1] for r in rows if r[0] == pid and (r[2] or "") == a) for a in answers]


def test_from_frame_pandas() -> None:
    pd = pytest.importorskip("pandas", reason="pandas is not installed")
    rows = random_samples(10)
    assert as_dict(single(from_frame(pd.DataFrame(rows)))) == loop_counts(rows)


def test_from_counts() -> None:
    table = from_counts(["b", "a", 3], [4, 5, 6], [1, 0, 6])
    assert list(table.ids) == ["3", "a", "b"] and table.n.tolist() == [6, 5, 4] and table.c is not None
    assert table.c.tolist() == [6, 0, 1] and table.n.dtype == np.int64
    with pytest.raises(InputError, match=r"group 'g': c > n: problem 'a'"):
        from_counts(["a"], [2], [3], group="g")
    with pytest.raises(InputError, match=r"duplicate problem id 'a' at indices 0 and 2"):
        from_counts(["a", "b", "a"], [2, 2, 2], [1, 1, 1])
    with pytest.raises(InputError, match=r"problem index 1: missing id"):
        from_counts(["a", None], [2, 2], [1, 1])
    with pytest.raises(InputError, match=r"ids has 2 entries for 3 problems"):
        from_counts(["a", "b"], [2, 2, 2], [1, 1, 1])


def test_bundled_deepscaler() -> None:
    base, rl = pio.bundled_deepscaler()
    assert base.name == "base.jsonl" and rl.name == "rl.jsonl"
    ds = read([base, rl])
    assert ds.shape == "counts" and list(ds.groups) == ["base", "rl"]
    for table in ds.groups.values():
        assert table.ids.size == 1060 and (table.n == 128).all()
    assert list(ds.groups["base"].ids) == list(ds.groups["rl"].ids)
    # the integrity hashes published beside the data
    assert ds.sha256[str(base)] == "184d3c7446d8f2ff389195909ca408a2b2bb0984ad726e4549c48adee8af1fc4"
    assert ds.sha256[str(rl)] == "9da1ffef9e04f951427112a7ee88d3105956952ab30229886a901e2864f5bb45"
    loop = {}
    for line in base.read_text().splitlines():
        rec = json.loads(line)
        loop[rec["id"]] = (rec["n"], rec["c"])
    assert as_dict(ds.groups["base"]) == loop


def test_public_surface() -> None:
    assert set(pio.__all__) == {
        "InputError",
        "MixedGroupError",
        "ProblemTable",
        "Dataset",
        "COLUMN_SPELLINGS",
        "read",
        "from_frame",
        "from_counts",
        "bundled_deepscaler",
    }
    assert issubclass(InputError, ValueError)


# ---------------------------------------------------------------------------------------
# answers given as one-element lists (lm-evaluation-harness's filtered_resps); long ids in messages


def test_one_element_list_answers_are_their_element(tmp_path: Path) -> None:
    rows = [{"problem_id": "a", "reward": int(x == "4"), "answer": [x]} for x in ("4", "4", "5")]
    table = single(read(write(tmp_path, "a", rows, "jsonl")))
    assert table.votes is not None and table.vote_correct is not None
    assert [v.tolist() for v in table.votes] == [[2, 1]] and [v.tolist() for v in table.vote_correct] == [[True, False]]
    typed = single(read(write(tmp_path, "a", rows, "parquet")))  # a list column of a typed input too
    assert typed.votes is not None and [v.tolist() for v in typed.votes] == [[2, 1]]
    rows[2]["answer"] = ["5", "6"]
    expect_error(
        r"a\.jsonl:3: problem 'a': answer column 'answer' holds a list of 2 values; one answer per sample is needed",
        write(tmp_path, "a", rows, "jsonl"),
    )


def test_long_problem_ids_are_cut_in_messages(tmp_path: Path) -> None:
    prompt = "Solve the following problem step by step. " * 10  # a prompt's text as the id (verl, TRL)
    path = write(tmp_path, "p", [{"problem_id": prompt, "reward": 1}, {"problem_id": prompt, "reward": "x"}], "jsonl")
    msg = expect_error(r"p\.jsonl:2: problem 'Solve the following", path)
    assert f"problem {prompt[:79] + '…'!r}: reward 'x' is not a number" in msg
