"""Vote tables read in parts (problems split by a hash of their id, one group-by per part) are the
tables of one pass, and the votes of an obvious Python loop; the parts are chosen from a sample."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_io import FORMATS, write

from passlens.io import InputError, aggregate, read


def _rows(seed: int) -> list[dict[str, Any]]:
    """Shuffled samples of 40 problems in two models: answers in every order (so each problem's
    answers arrive in a different order), unique ones, null and empty answers, non-ASCII text
    (sorted by code point), an answer both correct and incorrect, empty rows."""
    rng = random.Random(seed)
    pool = ["42", "7", "x", "", None, "é", "Z", "a b", "10", "9", "🙂"]
    rows: list[dict[str, Any]] = []
    for model in ("m1", "m2"):
        for i in range(40):
            p = rng.random()
            for s in range(rng.randint(1, 12)):
                ok = rng.random() < p
                answer = "42" if ok else rng.choice([*pool[1:], f"u{rng.getrandbits(40)}"])
                rows.append({"problem_id": f"p{i}", "reward": int(ok), "answer": answer, "model": model, "sample_id": s})
    rows.append({"problem_id": "p3", "reward": 0, "answer": "42", "model": "m2", "sample_id": 99})  # 42 both ways
    rows += [dict.fromkeys(["problem_id", "reward", "answer", "model", "sample_id"])] * 2  # empty rows
    rng.shuffle(rows)
    return rows


def _loop_votes(rows: list[dict[str, Any]], model: str, pid: str) -> tuple[list[int], list[bool]]:
    """The obvious loop: each distinct answer (null as '') in text order, its count and whether any is correct."""
    mine = [r for r in rows if r["model"] == model and r["problem_id"] == pid]
    counter = Counter(r["answer"] or "" for r in mine)
    answers = sorted(counter)
    return [counter[a] for a in answers], [any(r["reward"] == 1 for r in mine if (r["answer"] or "") == a) for a in answers]


def _read_in(monkeypatch: pytest.MonkeyPatch, parts: int, path: Path, **kwargs: Any) -> Any:
    monkeypatch.setattr(aggregate, "_passes", lambda plan: parts)
    return read(path, **kwargs)


def _same(a: Any, b: Any) -> None:
    assert a.notes == b.notes and list(a.groups) == list(b.groups) and a.rows == b.rows
    for x, y in zip(a.groups.values(), b.groups.values()):
        assert x.ids.tolist() == y.ids.tolist() and x.n.tolist() == y.n.tolist()
        assert (x.c is None) == (y.c is None) and (x.c is None or x.c.tolist() == y.c.tolist())
        assert x.answer_conflict == y.answer_conflict and x.nonbinary_at == y.nonbinary_at
        for name in ("votes", "vote_correct", "rewards"):
            u, v = getattr(x, name), getattr(y, name)
            assert (u is None) == (v is None)
            assert u is None or all(p.dtype == q.dtype and np.array_equal(p, q) for p, q in zip(u, v))


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("parts", [2, 3, 7, 64])
def test_votes_in_parts_are_the_votes_of_one_pass_and_of_a_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str, parts: int
) -> None:
    rows = _rows(parts)
    path = write(tmp_path, "v", rows, fmt)
    for kwargs in ({"by": "model", "sample_col": "sample_id"}, {"by": "model", "keep_rewards": True}):
        one = _read_in(monkeypatch, 1, path, **kwargs)
        many = _read_in(monkeypatch, parts, path, **kwargs)
        _same(one, many)
    assert "1 empty row(s)" not in " ".join(many.notes) and any("2 empty row(s)" in n for n in many.notes)
    assert many.groups["m2"].answer_conflict is not None and many.groups["m1"].answer_conflict is None
    for model, table in many.groups.items():
        assert table.votes is not None
        for pid, votes in zip(table.ids, table.votes):
            assert votes.tolist() == _loop_votes(rows, model, pid)[0]
    table = many.groups["m1"]
    assert table.vote_correct is not None
    for pid, ok in zip(table.ids, table.vote_correct):
        assert ok.tolist() == _loop_votes(rows, "m1", pid)[1]


@pytest.mark.parametrize("parts", [1, 4])
def test_continuous_rewards_and_one_group_in_parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parts: int) -> None:
    rng = random.Random(5)
    rows = [
        {"problem_id": i % 17, "reward": round(rng.random(), 3), "answer": rng.choice(["a", "b", "c", None])}
        for i in range(300)
    ]
    path = write(tmp_path, "c", rows, "parquet")  # (integer ids: the Int64 key is hashed)
    for kwargs in ({}, {"threshold": 0.5}):
        _same(_read_in(monkeypatch, 1, path, **kwargs), _read_in(monkeypatch, parts, path, **kwargs))


@pytest.mark.parametrize("parts", [3, 5])
def test_errors_in_parts_are_the_errors_of_one_pass(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parts: int) -> None:
    base = [{"problem_id": f"p{i % 9}", "reward": i % 2, "answer": str(i % 4), "sample_id": i} for i in range(60)]
    cases = {
        "bad reward": [*base[:40], {**base[40], "reward": "x"}, *base[41:]],
        "duplicate sample id": [*base, {**base[7], "answer": "zz"}],
        "mixed models": [{**r, "model": "a" if k != 33 else "b"} for k, r in enumerate(base)],
    }
    for name, rows in cases.items():
        path = write(tmp_path, name.replace(" ", "_"), rows, "jsonl")
        messages = []
        for k in (1, parts):
            with pytest.raises(InputError) as e:
                _read_in(monkeypatch, k, path, sample_col="sample_id")
            messages.append(str(e.value))
        assert messages[0] == messages[1], name


def test_parts_are_chosen_from_the_answers_of_a_sample(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Unique answers: ⌈rows × (distinct answers / sampled rows) / CELLS_PER_PASS⌉ parts; few answers: one."""
    chosen: list[int] = []
    passes = aggregate._passes
    monkeypatch.setattr(aggregate, "_passes", lambda plan: chosen.append(passes(plan)) or chosen[-1])
    monkeypatch.setattr(aggregate, "SAMPLE_ROWS", 100)
    monkeypatch.setattr(aggregate, "CELLS_PER_PASS", 150)
    monkeypatch.setattr(aggregate, "BYTES_PER_CELL", 10**9)  # (no larger budget for text files here)
    unique = [{"problem_id": f"p{i % 50}", "reward": int(i % 3 == 0), "answer": f"a{i}"} for i in range(1000)]
    few = [{**r, "answer": str(i % 3)} for i, r in enumerate(unique)]
    for fmt in ("jsonl", "parquet"):
        table = next(iter(read(write(tmp_path, "u", unique, fmt)).groups.values()))
        assert chosen[-1] == 7  # ⌈1000 × 1.0 / 150⌉
        assert table.votes is not None and sum(v.size for v in table.votes) == 1000
        assert all(v.tolist() == [1] * 20 for v in table.votes)
        read(write(tmp_path, "f", few, fmt))
        assert chosen[-1] == 1
    read(write(tmp_path, "small", unique[:99], "jsonl"))  # (fewer rows than the sample: one pass)
    assert chosen[-1] == 1
    # a text file may hold its own size in cells per pass (each pass parses it again)
    monkeypatch.setattr(aggregate, "BYTES_PER_CELL", 100)
    path = write(tmp_path, "u", unique, "jsonl")
    read(path)
    assert chosen[-1] == -(-1000 // max(150, path.stat().st_size // 100)) < 7
