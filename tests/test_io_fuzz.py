"""Reader fuzz: valid JSON lines, CSV and JSON documents mutated (cut short, bytes flipped, inserted
or deleted, values swapped for other JSON types, huge numbers, lines repeated or dropped, gzip data
damaged). Two outcomes are allowed, and nothing else:

* a table, and where a plain Python reading of the mutated file is sure of the answer (every record
  an object with an id and a 0/1 verdict), the same per-problem (n, c);
* a one-line ``ValueError`` (``InputError``), and from the command line exit status 2 with one line
  on stderr and no traceback.

Derandomized (a fixed seed: the same cases on every run), bounded: :data:`CASES` per format, well
under a minute on two cores. The case count is recorded in ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from passlens.io import read

#: Examples per format (4 formats).
CASES = 250

ROWS: list[dict[str, Any]] = [
    {"problem_id": f"p{i % 4}", "correct": (i * 7 + i // 4) % 3 == 0, "answer": str(i % 3)} for i in range(16)
]

SWAPS = [
    b'"x"', b"null", b"true", b"[]", b"{}", b"[1,0]", b'{"a":1}', b"1e400", b"-1e400", b"NaN", b"Infinity",
    b"1" * 400, b"18446744073709551616", b"340282366920938463463374607431768211456", b"-0", b"0.5", b"2",
    b"-1", b'"1"', b'"\\ud800"', b'""', b"1.0", b"1e308",
]


def _jsonl() -> bytes:
    return "".join(json.dumps({**r, "correct": int(r["correct"])}) + "\n" for r in ROWS).encode()


def _csv() -> bytes:
    return ("problem_id,correct,answer\n" + "".join(f"{r['problem_id']},{int(r['correct'])},{r['answer']}\n" for r in ROWS)).encode()


def _document() -> bytes:
    return json.dumps({"samples": [{**r, "correct": int(r["correct"])} for r in ROWS]}, indent=1).encode()


FIXTURES = {"jsonl": _jsonl(), "csv": _csv(), "json": _document(), "jsonl.gz": gzip.compress(_jsonl(), mtime=0)}


@st.composite
def mutated_file(draw: Any, fmt: str) -> bytes:
    """A mutated fixture; a gzip file is mutated before it is compressed (2 cases in 3: the lines'
    errors through gzip) or after (damaged compressed data)."""
    if fmt.endswith(".gz") and draw(st.integers(0, 2)):
        return gzip.compress(draw(mutated(gzip.decompress(FIXTURES[fmt]))), mtime=0)
    return draw(mutated(FIXTURES[fmt]))


@st.composite
def mutated(draw: Any, base: bytes) -> bytes:
    """``base`` after one to three mutations."""
    data = bytearray(base)
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["cut", "flip", "insert", "delete", "swap", "line", "swap", "flip"]))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "cut":
            del data[pos:]
        elif kind == "flip" and data:
            data[pos] = draw(st.integers(0, 255))
        elif kind == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8) | st.sampled_from([b'"', b",", b"\n", b"{", b"\r\n", b"\xef\xbb\xbf"]))
        elif kind == "delete":
            del data[pos : pos + draw(st.integers(1, 12))]
        elif kind == "swap":
            # a value (after ':' in JSON, between commas in CSV) replaced by another type or a huge number
            text = bytes(data)
            seps = [i for i, b in enumerate(text) if b in b":,"]
            if seps:
                at = draw(st.sampled_from(seps)) + 1
                end = at
                while end < len(text) and text[end] not in b",}\n":
                    end += 1
                data[at:end] = draw(st.sampled_from(SWAPS))
        elif kind == "line":
            lines = bytes(data).split(b"\n")
            i = draw(st.integers(0, len(lines) - 1))
            j = draw(st.integers(0, len(lines) - 1))
            how = draw(st.sampled_from(["repeat", "drop", "move"]))
            if how == "repeat":
                lines.insert(j, lines[i])
            elif how == "drop":
                del lines[i]
            else:
                lines.insert(j, lines.pop(i))
            data = bytearray(b"\n".join(lines))
    return bytes(data)


def _verdict(v: Any) -> int | None:
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int) and v in (0, 1):
        return v
    if isinstance(v, float) and v in (0.0, 1.0):
        return int(v)
    return None


def _expected(fmt: str, data: bytes) -> dict[str, tuple[int, int]] | None:
    """Per-problem (n, c) as plain Python reads the file, when it is sure (else None)."""
    try:
        text = (gzip.decompress(data) if fmt.endswith(".gz") else data).decode("utf-8")
    except (OSError, EOFError, UnicodeDecodeError, ValueError):
        return None
    records: list[dict[str, Any]] = []
    try:
        if fmt.startswith("jsonl"):
            for line in text.removeprefix("\ufeff").splitlines():
                if line.strip():
                    pairs = json.loads(line, object_pairs_hook=list, parse_constant=lambda _: None)
                    if not isinstance(pairs, list) or len({k for k, _ in pairs}) != len(pairs):
                        return None
                    records.append(dict(pairs))
        elif fmt == "json":
            doc = json.loads(text, object_pairs_hook=list, parse_constant=lambda _: None)
            if not (isinstance(doc, list) and len(doc) == 1 and doc[0][0] == "samples" and isinstance(doc[0][1], list)):
                return None
            for pairs in doc[0][1]:
                if not isinstance(pairs, list) or len({k for k, _ in pairs}) != len(pairs):
                    return None
                records.append(dict(pairs))
        else:
            rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
            if not rows or rows[0] != ["problem_id", "correct", "answer"]:
                return None
            for r in rows[1:]:
                if not r:
                    continue
                if len(r) != 3 or r[1] not in ("0", "1") or not r[0].strip() or r[0] != r[0].strip():
                    return None
                records.append({"problem_id": r[0], "correct": int(r[1]), "answer": r[2]})
    except (ValueError, RecursionError):
        return None
    if not records:
        return None
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    answers: dict[tuple[str, str], set[int]] = defaultdict(set)
    for rec in records:
        if set(rec) != {"problem_id", "correct", "answer"}:
            return None
        pid, verdict, answer = rec["problem_id"], _verdict(rec["correct"]), rec["answer"]
        if not isinstance(pid, str) or not pid.strip() or pid != pid.strip() or verdict is None:
            return None
        if not isinstance(answer, str) or answer != answer.strip() or not answer:
            return None
        answers[(pid, answer)].add(verdict)
        counts[pid][0] += 1
        counts[pid][1] += verdict
    if any(len(v) > 1 for v in answers.values()):
        return None  # (an answer both right and wrong: an error the reader names)
    return {k: (n, c) for k, (n, c) in counts.items()}


def _check_read(path: Path, fmt: str, data: bytes) -> None:
    try:
        ds = read(path)
    except ValueError as e:
        msg = str(e)
        assert msg and "\n" not in msg, repr(msg)
        return
    except Exception as e:  # noqa: BLE001 - the point: nothing else may escape
        pytest.fail(f"{type(e).__name__} escaped read() on {data!r}: {e}")
    expected = _expected(fmt, data)
    if expected is not None:
        table = ds.groups[""]
        assert table.c is not None
        got = {str(i): (int(n), int(c)) for i, n, c in zip(table.ids, table.n, table.c)}
        assert got == expected, data
    for table in ds.groups.values():
        assert table.n.size and (table.n >= 1).all()
        if table.c is not None:
            assert ((table.c >= 0) & (table.c <= table.n)).all()
        if table.rewards is not None:
            assert all(math.isfinite(float(x)) for r in table.rewards for x in r)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@pytest.mark.parametrize("fmt", list(FIXTURES))
def test_fixtures_read_as_expected(folder: Path, fmt: str) -> None:
    path = folder / f"clean.{fmt}"
    path.write_bytes(FIXTURES[fmt])
    assert _expected(fmt, FIXTURES[fmt]) is not None
    _check_read(path, fmt, FIXTURES[fmt])


@pytest.mark.parametrize("fmt", list(FIXTURES))
def test_mutated_inputs_give_the_table_or_one_line(folder: Path, fmt: str, cli: Any) -> None:
    count = [0]

    @settings(max_examples=CASES, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(mutated_file(fmt))
    def run(data: bytes) -> None:
        count[0] += 1
        path = folder / f"m{count[0]}.{fmt}"
        path.write_bytes(data)
        _check_read(path, fmt, data)
        if count[0] % 4 == 0:  # the command line on a quarter of the cases (its error path is shared)
            res = cli.invoke("eval", str(path), "--k", "1", "--method", "analytic")
            assert res.returncode in (0, 2), (data, res.returncode, res.stderr)
            assert "Traceback" not in res.stderr + res.stdout
            if res.returncode == 2:
                cli.one_line_error(res)

    run()
    assert count[0] >= CASES // 2


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=6)
    | st.sampled_from(["p1", "p2", "1", "", " "]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6,
)


def _mostly(valid: list[Any], other: Any) -> Any:
    """A valid value 4 times in 5, else ``other``."""
    return st.integers(0, 4).flatmap(lambda i: st.sampled_from(valid) if i else other)


RECORDS = st.lists(
    st.fixed_dictionaries(
        {"problem_id": _mostly(["p1", "p2", "p3"], st.sampled_from([1, "1", 2.5, None, "", " p1"]) | JSON_VALUES)},
        optional={"correct": _mostly([0, 1, True, False], st.sampled_from([0.5, 2, -1, 1.0]) | JSON_VALUES),
                  "answer": _mostly(["x", "y"], JSON_VALUES), "sample_id": JSON_VALUES},
    ),
    min_size=1, max_size=8,
)
CSV_FIELDS = st.text(alphabet=st.sampled_from(list('ab01,"\n\r ;.-')), max_size=5)


@pytest.mark.parametrize("shape", ["jsonl", "json", "csv", "bytes"])
def test_random_structures_give_a_table_or_one_line(folder: Path, shape: str) -> None:
    """Random JSON records (any types, nesting, huge integers), random CSV fields through csv's
    quoting, random bytes: a table or a one-line ValueError."""
    count = [0]
    strategy: Any = {
        "jsonl": RECORDS.map(lambda rs: "".join(json.dumps(r) + "\n" for r in rs).encode()),
        "json": RECORDS.map(lambda rs: json.dumps(rs).encode()),
        "csv": st.lists(st.tuples(_mostly(["p1", "p2"], CSV_FIELDS), _mostly(["0", "1"], CSV_FIELDS), CSV_FIELDS),
                        min_size=1, max_size=6).map(_csv_text),
        "bytes": st.binary(max_size=64),
    }[shape]

    @settings(max_examples=CASES // 2, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(strategy)
    def run(data: bytes) -> None:
        count[0] += 1
        fmt = "jsonl" if shape == "bytes" else shape
        path = folder / f"r{shape}{count[0]}.{fmt}"
        path.write_bytes(data)
        _check_read(path, fmt, data)

    run()


def _csv_text(rows: list[tuple[str, str, str]]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["problem_id", "correct", "answer"])
    writer.writerows(rows)
    return buf.getvalue().encode()
