"""Streams as inputs: ``-`` (standard input), ``/dev/stdin`` and FIFOs are read once, never hang,
and their format is told by content when their name does not say it.

The command-line cases run the real entry point with a pipe on its standard input or a FIFO
with a writer (each under a timeout: a hang fails the test); the format cases run in this
interpreter with ``sys.stdin`` swapped for a pipe.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from passlens.io import InputError, read

ROWS = [{"id": "a", "correct": 1}, {"id": "a", "correct": 0}, {"id": "b", "correct": 1}, {"id": "b", "correct": 1}]
JSONL = "".join(json.dumps(r) + "\n" for r in ROWS).encode()
CSV = b"id,correct\n" + b"".join(f"{r['id']},{r['correct']}\n".encode() for r in ROWS)

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs need a POSIX system")


def _parquet() -> bytes:
    buf = io.BytesIO()
    pl.DataFrame(ROWS).write_parquet(buf)
    return buf.getvalue()


def _stdin(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    """``sys.stdin`` becomes the read end of a pipe that a thread fills with ``data`` and closes."""
    r, w = os.pipe()

    def feed() -> None:
        with os.fdopen(w, "wb") as f:
            f.write(data)

    threading.Thread(target=feed, daemon=True).start()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(os.fdopen(r, "rb")))


def _counts(data: Any, group: str = "") -> dict[str, tuple[int, int]]:
    t = data.groups[group]
    return {str(i): (int(n), int(c)) for i, n, c in zip(t.ids, t.n, t.c)}


EXPECTED = {"a": (2, 1), "b": (2, 2)}


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(JSONL, id="jsonl"),
        pytest.param(b"\xef\xbb\xbf" + JSONL, id="jsonl-bom"),
        pytest.param(json.dumps(ROWS).encode(), id="json-array"),
        pytest.param(json.dumps({"samples": ROWS}, indent=2).encode(), id="json-document"),
        pytest.param(CSV, id="csv"),
        pytest.param(gzip.compress(JSONL), id="jsonl-gz"),
        pytest.param(gzip.compress(CSV), id="csv-gz"),
        pytest.param(_parquet(), id="parquet"),
    ],
)
def test_stdin_format_is_told_by_content(monkeypatch: pytest.MonkeyPatch, content: bytes) -> None:
    _stdin(monkeypatch, content)
    data = read("-")
    assert _counts(data) == EXPECTED
    assert data.files == ["-"]
    import hashlib

    assert data.sha256["-"] == hashlib.sha256(content).hexdigest()  # the digest of the bytes read


def test_stdin_errors_name_the_stream_and_line(monkeypatch: pytest.MonkeyPatch) -> None:
    _stdin(monkeypatch, JSONL + b'{"id": "c", "correct": \n')
    with pytest.raises(InputError, match=r"^-:5: malformed JSON"):
        read("-")
    _stdin(monkeypatch, b"")
    with pytest.raises(InputError, match=r"^-: empty input \(no rows\)$"):
        read("-")
    _stdin(monkeypatch, JSONL)
    with pytest.raises(InputError, match=r"^-: given twice \(a stream can be read once\)$"):
        read(["-", "-"])


def test_stdin_is_read_with_a_file_and_grouped_as_stdin(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    other = tmp_path / "other.jsonl"
    other.write_bytes(JSONL)
    _stdin(monkeypatch, CSV)
    data = read(["-", str(other)])
    assert sorted(data.groups) == ["other", "stdin"]
    assert _counts(data, "stdin") == _counts(data, "other") == EXPECTED


def _fifo_writer(path: Path, data: bytes) -> threading.Thread:
    def write() -> None:
        with open(path, "wb") as f:  # (blocks until the reader opens the FIFO)
            f.write(data)

    t = threading.Thread(target=write, daemon=True)
    t.start()
    return t


def test_a_fifo_is_read_once_by_its_suffix_or_content(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spool = tmp_path / "tmp"
    spool.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool))
    for fifo, content in ((tmp_path / "runs.jsonl", JSONL), (tmp_path / "pipe", CSV)):
        os.mkfifo(fifo)
        writer = _fifo_writer(fifo, content)
        got: list[Any] = []
        reader = threading.Thread(target=lambda f=fifo: got.append(read(str(f))), daemon=True)
        reader.start()
        reader.join(60)  # (a hang fails the test instead of stopping the suite)
        writer.join(5)
        assert got, f"reading the FIFO {fifo.name} hung"
        assert _counts(got[0]) == EXPECTED
        assert list(spool.iterdir()) == []  # the stream's copy is gone once read


def test_cli_reads_a_fifo_and_stdin_without_hanging(tmp_path: Path, cli: Any) -> None:
    fifo = tmp_path / "samples.jsonl"
    os.mkfifo(fifo)
    proc = cli.popen("eval", str(fifo), "--k", "1", "--json", str(tmp_path / "fifo.json"),
                     stdout=-1, stderr=-1)
    with open(fifo, "wb") as f:  # (the writer: a FIFO read before the fix hung here or after)
        f.write(JSONL)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    for name in ("-", "/dev/stdin"):
        res = cli.run("eval", name, "--k", "1", "--json", "-", input=CSV.decode(), timeout=120)
        assert res.returncode == 0, res.stderr
        piped = json.loads(res.stdout)
        assert piped["files"] == [name]
        assert piped["groups"][""]["estimate"] == json.loads((tmp_path / "fifo.json").read_text())["groups"][""]["estimate"]
    empty = cli.run("eval", "-", input="", timeout=120)
    cli.one_line_error(empty, "-: empty input (no rows)")
    help_text = " ".join(cli.run("eval", "--help").stdout.split())
    assert "'-' (or /dev/stdin) reads standard input" in help_text


def test_estimate_from_stdin_matches_the_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    f = tmp_path / "s.jsonl"
    f.write_bytes(JSONL)
    _stdin(monkeypatch, JSONL)
    a, b = read("-").groups[""], read(str(f)).groups[""]
    assert a.c is not None and b.c is not None
    assert np.array_equal(a.n, b.n) and np.array_equal(a.c, b.c) and list(a.ids) == list(b.ids)


def test_only_descriptors_and_special_files_are_streams(tmp_path: Path) -> None:
    from passlens.io.sources import is_stream

    regular = tmp_path / "runs.jsonl"
    regular.write_bytes(JSONL)
    assert [is_stream(x) for x in ("-", "/dev/stdin", "/dev/fd/3", "/proc/self/fd/0", "/proc/12/fd/4")] == [True] * 5
    assert not is_stream(str(regular)) and not is_stream(str(tmp_path)) and not is_stream("/dev/shm/runs.jsonl")
    assert is_stream("/dev/null")  # (a character device)
