"""JSON that readers disagree on: a key given twice in one record is refused with ``file:line`` and
the key (polars reads the first value, Python's json the last; passlens used to take the first
silently)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from passlens.io import InputError, read

ERR = "appears twice in one JSON object"


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("name", "text", "where", "key"),
    [
        ("lines.jsonl", '{"id":"a","correct":1}\n{"id":"a","correct":1,"correct":0}\n', "lines.jsonl:2", "correct"),
        ("spaced.jsonl", '{"id": "a", "correct": 1}\n\n{"id": "b", "id": "c", "correct": 0}\n', "spaced.jsonl:3", "id"),
        ("one.json", '{"id":"a","correct":1,"correct":0}\n', "one.json:1", "correct"),
        ("array.json", '[{"id":"a","correct":1},\n {"id":"a",\n  "correct":1,"correct":0}]\n', "array.json:2", "correct"),
        ("under.json", '{"samples":[{"id":"a","correct":1},{"id":"a","correct":0,"correct":1}]}\n', "under.json:1", "correct"),
        ("keyed.json", '{\n "a": {"correct": 1},\n "b": {"correct": 1, "correct": 0}\n}\n', "keyed.json:3", "correct"),
    ],
)
def test_a_key_twice_is_refused_naming_line_and_key(tmp_path: Path, name: str, text: str, where: str, key: str) -> None:
    path = _write(tmp_path / name, text)
    with pytest.raises(InputError) as e:
        read(path)
    msg = str(e.value)
    assert "\n" not in msg
    assert msg.startswith(f"{tmp_path / name}:{where.split(':')[1]}: key {key!r} {ERR}"), msg


def test_the_message_shows_both_values(tmp_path: Path) -> None:
    path = _write(tmp_path / "v.jsonl", '{"id":"a","correct":1,"correct":0}\n')
    with pytest.raises(InputError, match=r"v\.jsonl:1: key 'correct' appears twice in one JSON object \(values 1 and 0\)"):
        read(path)


def test_compressed_and_bom_lines_are_checked(tmp_path: Path) -> None:
    text = '{"id":"a","correct":1}\n{"id":"a","correct":1,"correct":0}\n'
    gz = tmp_path / "g.jsonl.gz"
    gz.write_bytes(gzip.compress(text.encode()))
    bom = tmp_path / "b.jsonl"
    bom.write_bytes(b"\xef\xbb\xbf" + text.encode())
    for path in (gz, bom):
        with pytest.raises(InputError, match=rf"^{path}:2: key 'correct' {ERR}"):
            read(path)


def test_look_alikes_are_not_duplicates(tmp_path: Path) -> None:
    """The key's spelling in a value, an escaped string or a nested object is no second key; a key
    twice in a column that is not read is left alone (JSON lines check the columns read)."""
    rows = [
        {"id": "a", "correct": 1, "meta": {"correct": 0, "id": "z"}, "note": '"correct": 0', "verdict": "correct"},
        {"id": "a", "correct": 0, "answer_text": "id"},
    ]
    path = _write(tmp_path / "ok.jsonl", "".join(json.dumps(r) + "\n" for r in rows)
                  + '{"id": "b", "correct": 1, "extra": 1, "extra": 2}\n')
    data = read(path)
    t = data.groups[""]
    assert dict(zip(map(str, t.ids), zip(t.n.tolist(), t.c.tolist()))) == {"a": (2, 1), "b": (1, 1)}


def test_a_tool_preset_checks_the_keys_behind_its_columns(tmp_path: Path) -> None:
    """A verl validation dump: ``acc`` is the reward behind the preset's column."""
    rows: list[dict[str, Any]] = [
        {"input": "q1", "output": "x", "gts": "1", "score": 1.0, "acc": 1.0, "step": 10},
        {"input": "q1", "output": "y", "gts": "1", "score": 0.0, "acc": 0.0, "step": 10},
    ]
    text = "".join(json.dumps(r) + "\n" for r in rows)
    ok = _write(tmp_path / "10.jsonl", text)
    assert read(ok).groups  # the dump reads
    bad = _write(tmp_path / "11.jsonl", text.replace('"acc": 0.0', '"acc": 0.0, "acc": 1.0'))
    with pytest.raises(InputError, match=rf"11\.jsonl:2: key 'acc' {ERR}"):
        read(bad)


def test_cli_says_it_in_one_line(tmp_path: Path, cli: Any) -> None:
    path = _write(tmp_path / "d.jsonl", '{"id":"a","correct":1}\n{"id":"a","correct":1,"correct":0}\n')
    cli.one_line_error(cli.invoke("eval", str(path)), f"{path}:2: key 'correct' {ERR}")


# ---------------------------------------------------------------------------------------
# a number written as ids of two JSON types (1, "1", 1.0): refused, naming both lines (issue #19;
# README, input files). Polars reads JSON ids as text: 1 and "1" were one problem, 1 and 1.0 two.


@pytest.mark.parametrize(
    ("name", "text", "msg"),
    [
        ("s_then_i.jsonl", '{"id":"1","c":1}\n{"id":"2","c":1}\n{"id":1,"c":0}\n',
         r's_then_i\.jsonl:3: id 1 is a JSON integer here but "1" is a JSON string on line 1; a number written in two '
         r'JSON types \(1, "1", 1\.0\) is one problem to some readers and two to others: write every id alike'),
        ("i_then_s.jsonl", '{"id":7,"c":1}\n\n{"id":"x","c":1}\n{"id":"8","c":0}\n',
         r'i_then_s\.jsonl:4: id "8" is a JSON string here but 7 is a JSON integer on line 1'),
        ("i_then_f.jsonl", '{"id":1,"c":1}\n{"id":2,"c":1}\n{"id":1.0,"c":0}\n',
         r"i_then_f\.jsonl:3: id 1\.0 is a JSON float here but 1 is a JSON integer on line 1"),
        ("spaced.jsonl", '{"id": "2", "c": 1}\n{"id" : 2, "c": 0}\n',
         r'spaced\.jsonl:2: id 2 is a JSON integer here but "2" is a JSON string on line 1'),
        ("doc.json", '[{"id":"1","c":1},{"id":1,"c":0}]',
         r'doc\.json: \$\[1\]: id 1 is a JSON integer here but "1" is a JSON string at \$\[0\]'),
    ],
)
def test_ids_of_mixed_json_types_are_refused_naming_both_lines(tmp_path: Path, name: str, text: str, msg: str) -> None:
    path = _write(tmp_path / name, text.replace('"c"', '"correct"'))
    with pytest.raises(InputError, match=msg) as e:
        read(path)
    assert "\n" not in str(e.value)


def test_ids_of_one_json_type_are_read(tmp_path: Path) -> None:
    """Strings, integers or floats alone are fine, and so are numbers beside strings that spell no
    number, or integers beside floats with a fraction; a nested or textual look-alike is no id."""
    cases = {
        "words.jsonl": '{"id":1,"correct":1}\n{"id":"a","correct":0}\n',
        "fractions.jsonl": '{"id":1,"correct":1}\n{"id":2.5,"correct":0}\n',
        "s.jsonl": '{"id":"1","correct":1,"meta":{"id":3}}\n{"id":"2","correct":0,"note":"id: 4"}\n',
        "i.jsonl": '{"id":1,"correct":1}\n{"id":2,"correct":0,"meta":{"id":"z"}}\n',
        "f.jsonl": '{"id":1.5,"correct":1}\n{"id":2.5,"correct":0}\n',
    }
    for name, text in cases.items():
        t = read(_write(tmp_path / name, text)).groups[""]
        assert t.n.tolist() == [1, 1] and t.c is not None and t.c.tolist() == [1, 0], name
