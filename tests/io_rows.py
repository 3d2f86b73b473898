"""Rows, an independent (n, c) loop and file writers shared by the io tests of JSON documents and compressed files."""

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

from passlens.io import read

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
