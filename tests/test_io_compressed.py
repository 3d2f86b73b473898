"""Compressed files: the same (n, c) as the plain rows they hold; errors name file and place.

Every case compares with the obvious loop over the rows written (``loop``), or with reading the
same rows uncompressed; bad inputs end in one line naming the file and the line, record or JSON
path, and ``passlens`` exits 2.
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
from passlens.io.formats import for_path

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
# compressed files


@pytest.mark.parametrize("kind", ["gz", "zst", "bz2"])
@pytest.mark.parametrize("fmt", ["jsonl", "csv", "json"])
def test_compressed_files_read_as_their_rows(tmp_path: Path, fmt: str, kind: str) -> None:
    text = {"jsonl": jsonl_text, "csv": csv_text, "json": lambda r: json.dumps(r, indent=1)}[fmt](ROWS)
    path = compress(tmp_path / f"s.{fmt}.{kind}", kind, text.encode())
    assert counts(path) == loop(ROWS)
    ds = read(path)
    assert list(ds.groups) == [""] and ds.rows == len(ROWS)


def test_compressed_files_keep_their_stem_and_need_no_compression_suffix(tmp_path: Path) -> None:
    base = compress(tmp_path / "base.jsonl.gz", "gz", jsonl_text(ROWS).encode())
    rl = compress(tmp_path / "rl.jsonl.gz", "gz", jsonl_text([dict(r, reward=1) for r in ROWS]).encode())
    assert list(read([base, rl]).groups) == ["base", "rl"]
    odd = compress(tmp_path / "plain_name.jsonl", "gz", jsonl_text(ROWS).encode())  # told by content
    assert counts(odd) == loop(ROWS)


def test_compressed_errors_name_the_line(tmp_path: Path) -> None:
    rows = [dict(r) for r in ROWS]
    rows[5]["reward"] = "oops"
    path = compress(tmp_path / "bad.jsonl.gz", "gz", jsonl_text(rows).encode())
    with pytest.raises(
        InputError, match=r"^.*bad\.jsonl\.gz:6: problem 'p1': reward 'oops' is not a number \(column 'reward'\)$"
    ):
        read(path)
    text = jsonl_text(ROWS).replace('"answer": "0"}', '"answer": "0"', 1)  # the first line, malformed
    bad = compress(tmp_path / "malformed.jsonl.bz2", "bz2", text.encode())
    with pytest.raises(InputError, match=r"malformed\.jsonl\.bz2:1: malformed JSON"):
        read(bad)
    csv_rows = csv_text(ROWS).replace("p2,0\n", "p2,0,7\n", 1)
    ragged = compress(tmp_path / "ragged.csv.gz", "gz", csv_rows.encode())
    with pytest.raises(InputError, match=r"ragged\.csv\.gz:\d+: expected 2 fields \(as in the header\), got 3"):
        read(ragged)


def test_truncated_and_empty_compressed_files(tmp_path: Path, cli: Any) -> None:
    whole = gzip.compress(jsonl_text(ROWS * 50).encode())
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    res = cli.run("eval", str(cut))
    cli.one_line_error(res, f"{cut}:", "the gzip data ends early (cut off?)")
    doc = tmp_path / "cut.json.gz"
    doc.write_bytes(gzip.compress(json.dumps(ROWS).encode())[:-12])
    with pytest.raises(InputError, match=r"cut\.json\.gz: the gzip data"):
        read(doc)
    empty = tmp_path / "empty.jsonl.gz"
    empty.write_bytes(gzip.compress(b"\n\n"))
    with pytest.raises(InputError, match=r"empty\.jsonl\.gz: empty file \(no rows\)$"):
        read(empty)
    header = tmp_path / "header.csv.zst"
    compress(header, "zst", b"problem_id,reward\n")
    with pytest.raises(InputError, match=r"header\.csv\.zst: no data rows \(header only\)$"):
        read(header)
    with pytest.raises(InputError, match=r"x\.txt\.gz: unknown file extension '\.txt\.gz'"):
        for_path("x.txt.gz", tmp_path / "x.txt.gz")


def test_a_byte_order_mark_inside_a_compressed_file(tmp_path: Path) -> None:
    path = compress(tmp_path / "bom.jsonl.gz", "gz", b"\xef\xbb\xbf" + jsonl_text(ROWS).encode())
    assert counts(path) == loop(ROWS)
