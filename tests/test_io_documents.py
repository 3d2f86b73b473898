"""JSON documents: the same (n, c) as the records they hold; errors name the file and the record's JSON path.

Every case compares with the obvious loop over the records written (``loop``); bad inputs end in
one line naming the file and the line (a document that is not JSON) or the record's JSON path,
and ``passlens`` exits 2.
"""

from __future__ import annotations

import bz2
import gzip
import json
import shutil
import subprocess
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from passlens.io import InputError, read
from passlens.io.formats import JsonDocument, JsonLines, for_path

ROWS = [{"problem_id": f"p{i % 4}", "reward": int((i * 7) % 3 == 0), "answer": str(i % 3)} for i in range(24)]
ZSTD = shutil.which("zstd")


def loop(rows: list[dict[str, Any]], key: str = "problem_id", reward: str = "reward") -> dict[str, tuple[int, int]]:
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in rows:
        out[str(r[key])][0] += 1
        out[str(r[key])][1] += int(r[reward])
    return {k: (v[0], v[1]) for k, v in out.items()}


def counts(path: Path, **kwargs: Any) -> dict[str, tuple[int, int]]:
    (table,) = read(path, **kwargs).groups.values()
    assert table.c is not None
    return {str(i): (int(n), int(c)) for i, n, c in zip(table.ids, table.n, table.c)}


def jsonl_text(rows: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


def csv_text(rows: list[dict[str, Any]]) -> str:
    return "problem_id,reward\n" + "".join(f"{r['problem_id']},{r['reward']}\n" for r in rows)


def compress(path: Path, kind: str, data: bytes) -> Path:
    if kind == "gz":
        path.write_bytes(gzip.compress(data))
    elif kind == "bz2":
        path.write_bytes(bz2.compress(data))
    else:
        if ZSTD is None:
            pytest.skip("the zstd command is not installed")
        subprocess.run([ZSTD, "-q", "-f", "-o", str(path)], input=data, check=True)
    return path


# ---------------------------------------------------------------------------------------
# JSON documents


@pytest.mark.parametrize("indent", [None, 2])
def test_an_array_of_records(tmp_path: Path, indent: int | None) -> None:
    path = tmp_path / "a.json"
    path.write_text(json.dumps(ROWS, indent=indent))
    assert for_path(str(path), path) is JsonDocument
    assert counts(path) == loop(ROWS)
    table = read(path).groups[""]
    assert table.votes is not None  # the answer column, as in JSON lines


def test_records_keyed_by_problem_id(tmp_path: Path) -> None:
    samples = {"p1": [{"reward": 1}, {"reward": 0}, {"reward": 1}], "p2": [{"reward": 0}]}
    path = tmp_path / "k.json"
    path.write_text(json.dumps(samples))
    assert counts(path) == {"p1": (3, 2), "p2": (1, 0)}
    per_problem = {"p1": {"c": 3, "n": 8}, "p2": {"c": 0, "n": 8}}  # count rows keyed by id
    path.write_text(json.dumps(per_problem, indent=2))
    assert read(path).shape == "counts" and counts(path) == {"p1": (8, 3), "p2": (8, 0)}
    rewards = {"p1": [1, 0, 1, 1], "p2": [True, False]}  # reward lists keyed by id
    path.write_text(json.dumps(rewards))
    assert counts(path) == {"p1": (4, 3), "p2": (2, 1)}


def test_records_under_a_known_key_and_a_single_record(tmp_path: Path) -> None:
    path = tmp_path / "log.json"
    path.write_text(json.dumps({"config": {"model": "m", "n": 4}, "samples": ROWS, "version": 3}, indent=2))
    assert counts(path) == loop(ROWS)
    one = tmp_path / "one.json"
    one.write_text(json.dumps({"problem_id": "a", "rewards": [1, 0, 0]}, indent=2))
    assert counts(one) == {"a": (3, 1)}


def test_json_lines_in_a_json_file_stay_lines(tmp_path: Path) -> None:
    path = tmp_path / "lines.json"
    path.write_text(jsonl_text(ROWS))
    assert for_path(str(path), path) is JsonLines and counts(path) == loop(ROWS)
    one = tmp_path / "one_line.json"  # one record on one line: a JSON-lines file of one row
    one.write_text(json.dumps(ROWS[0]) + "\n")
    assert for_path(str(one), one) is JsonLines
    long = tmp_path / "long.json"  # a first line longer than what detection first looks at
    rows = [dict(r, doc="x" * 100_000) for r in ROWS[:3]]
    long.write_text(jsonl_text(rows))
    assert for_path(str(long), long) is JsonLines and counts(long) == loop(rows)


def test_document_errors_name_the_record(tmp_path: Path, cli: Any) -> None:
    rows = [dict(r) for r in ROWS]
    rows[3]["reward"] = "oops"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"samples": rows}, indent=2))
    res = cli.run("eval", str(path))
    cli.one_line_error(res, f"{path}: $.samples[3]: problem 'p3': reward 'oops' is not a number (column 'reward')")
    keyed = tmp_path / "keyed.json"
    keyed.write_text(json.dumps({"p/1": [{"reward": 1}, {"reward": [1]}]}))
    with pytest.raises(
        InputError,
        match=r'keyed\.json: \$\["p/1"\]\[1\]: field \'reward\' holds a JSON list here '
        r'but a number at \$\["p/1"\]\[0\]',
    ):
        read(keyed)
    text = json.dumps(ROWS, indent=2)
    cut = tmp_path / "cut.json"
    cut.write_text(text[: len(text) // 2])
    with pytest.raises(
        InputError, match=r"cut\.json:\d+: malformed JSON \(.* at column \d+\); the document ends early"
    ):
        read(cut)
    nan = tmp_path / "nan.json"
    nan.write_text('[{"problem_id": "a", "reward": NaN}]')
    with pytest.raises(InputError, match=r"nan\.json: malformed JSON \(bare NaN is not valid JSON"):
        read(nan)
    latin = tmp_path / "latin.json"
    latin.write_bytes(b'[\n {"problem_id": "caf\xe9", "reward": 1}\n]')
    with pytest.raises(InputError, match=r"latin\.json:2: not valid UTF-8 \(byte 0xe9 at byte 21 of the line\)"):
        read(latin)


def test_a_document_passlens_does_not_know(tmp_path: Path, cli: Any) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"model": {"name": "m"}, "lr": 0.1}, indent=2))
    res = cli.run("eval", str(path))
    line = cli.one_line_error(
        res,
        "config.json: not a JSON document passlens reads (an object with keys 'model', 'lr')",
        "expected JSON lines (one record per line), an array of records",
    )
    assert len(line) - len(str(path)) < 250
    scalars = tmp_path / "numbers.json"
    scalars.write_text("[1, 2, 3]")
    with pytest.raises(
        InputError, match=r"numbers\.json: \$\[0\]: expected a record \(a JSON object\), got a JSON number"
    ):
        read(scalars)
