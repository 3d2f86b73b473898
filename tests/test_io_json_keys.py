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


# ---------------------------------------------------------------------------------------
# a key twice written with escapes, or nested in a field a tool preset reads (issue #19)


@pytest.mark.parametrize(
    ("name", "text", "kwargs", "where", "key", "values"),
    [
        ("esc.jsonl", '{"id":"a","correct":1,"corr\\u0065ct":0}\n', {}, 1, "correct", "1 and 0"),
        ("esc_first.jsonl", '{"id":"a","correct":1}\n{"id":"a","CORR":1,"\\u0063orrect":1,"correct":0}\n', {}, 2,
         "correct", "1 and 0"),
        ("upper_hex.jsonl", '{"\\u0069\\u0044":"a","iD":"b","correct":1}\n', {"id_col": "iD"}, 1, "iD", '"a" and "b"'),
        ("ascii.jsonl", '{"id":"a","correct":1,"r\\u00e9ponse":"x","réponse":"y"}\n', {"answer_col": "réponse"}, 1,
         "réponse", '"x" and "y"'),
        ("solidus.jsonl", '{"id":"a","a/b":1,"a\\/b":0}\n', {"reward_col": "a/b"}, 1, "a/b", "1 and 0"),
        ("pair.jsonl", '{"id":"a","correct":1,"x🙂":"1","x\\ud83d\\ude42":"2"}\n', {"answer_col": "x🙂"}, 1, "x🙂",
         '"1" and "2"'),
    ],
)
def test_a_key_twice_in_escapes_is_refused(
    tmp_path: Path, name: str, text: str, kwargs: dict[str, Any], where: int, key: str, values: str
) -> None:
    """``"corr\\u0065ct"`` is ``"correct"`` to every JSON reader: polars took the first of the two,
    Python's json the last, and the literal count of ``"correct"`` did not see the second."""
    path = _write(tmp_path / name, text)
    with pytest.raises(InputError) as e:
        read(path, **kwargs)
    assert str(e.value).startswith(f"{path}:{where}: key {key!r} {ERR} (values {values})"), str(e.value)


def test_an_escaped_key_alone_is_the_key(tmp_path: Path) -> None:
    path = _write(tmp_path / "e.jsonl", '{"id":"a","corr\\u0065ct":0}\n{"\\u0069d":"b","correct":1}\n')
    t = read(path).groups[""]
    assert t.ids.tolist() == ["a", "b"] and t.c is not None and t.c.tolist() == [0, 1]


def _lighteval_line(doc_id: str, doc_extra: str = "", metric: str = '"pass@k:k=1&n=4":0.5') -> str:
    return (f'{{"doc":{{"query":"Q{doc_id}","id":"{doc_id}"{doc_extra}}},"metric":{{{metric}}},'
            '"model_response":{"text":["a"]}}\n')


@pytest.mark.parametrize(
    ("second", "key", "within", "values"),
    [
        (_lighteval_line("1", ',"id":"9"'), "id", "$.doc", '"1" and "9"'),
        (_lighteval_line("1", ',"\\u0069d":"9"'), "id", "$.doc", '"1" and "9"'),
        (_lighteval_line("1", metric='"pass@k:k=1&n=4":0.5,"pass@k:k=1\\u0026n=4":1.0'), "pass@k:k=1&n=4",
         "$.metric", "0.5 and 1.0"),
        (_lighteval_line("1") .replace('"doc":', '"doc":{"id":"7"},"doc":', 1), "doc", "", '{"id": "7"} and'),
    ],
)
def test_a_key_twice_on_a_nested_path_a_preset_reads_is_refused(
    tmp_path: Path, second: str, key: str, within: str, values: str
) -> None:
    """lighteval details as JSON lines: the problem is ``doc.id`` and c comes from ``metric.<pass@k…>``."""
    path = _write(tmp_path / "details.jsonl", _lighteval_line("0") + second)
    with pytest.raises(InputError) as e:
        read(path)
    at = f" at {within}" if within else ""
    assert str(e.value).startswith(f"{path}:2: key {key!r} {ERR}{at} (values {values}"), str(e.value)


def test_a_key_twice_in_a_nested_object_not_read_is_left_alone(tmp_path: Path) -> None:
    """Not read, so no reader's choice changes a count: JSON lines read the file (a JSON document,
    parsed whole by Python, refuses it: test below)."""
    ok = _write(tmp_path / "ok.jsonl", _lighteval_line("0") + _lighteval_line("1"))
    want = read(ok).groups[""]
    path = _write(tmp_path / "d.jsonl", _lighteval_line("0", ',"task":"x","task":"y"') + _lighteval_line("1"))
    t = read(path).groups[""]
    assert t.ids.tolist() == want.ids.tolist() == ["0", "1"] and t.c is not None and want.c is not None
    assert t.c.tolist() == want.c.tolist()
    plain = _write(tmp_path / "p.jsonl", '{"id":"a","correct":1,"meta":{"k":1,"k":2,"deep":{"z":1,"z":2}}}\n')
    assert read(plain).groups[""].n.tolist() == [1]


def test_a_key_twice_inside_a_value_read_whole_is_refused(tmp_path: Path) -> None:
    """A TRL completions log as JSON lines: the problem is the prompt's messages, read whole."""
    rows = [
        '{"step":1,"prompt":[{"role":"user","content":"1+1?"}],"completion":"2","advantage":0.5,"accuracy_reward":1.0}',
        '{"step":1,"prompt":[{"role":"user","content":"1+1?"}],"completion":"3","advantage":-0.5,"accuracy_reward":0.0}',
    ]
    ok = _write(tmp_path / "ok.jsonl", "\n".join(rows) + "\n")
    assert read(ok).groups
    bad = _write(tmp_path / "bad.jsonl", "\n".join([rows[0], rows[1].replace('"content"', '"content":"2+2?","content"')]) + "\n")
    with pytest.raises(InputError) as e:
        read(bad)
    assert str(e.value).startswith(f"{bad}:2: key 'content' {ERR} at $.prompt[0] (values \"2+2?\" and \"1+1?\")"), str(e.value)


@pytest.mark.parametrize(
    ("text", "where", "key"),
    [
        ('[{"id":"a","correct":1},\n {"id":"a","correct":1,"corr\\u0065ct":0}]\n', 2, "correct"),
        ('[{"id":"a","correct":1},\n {"id":"a","correct":1,"meta":{"k":1,"k":2}}]\n', 2, "k"),
    ],
)
def test_a_json_document_refuses_any_key_twice(tmp_path: Path, text: str, where: int, key: str) -> None:
    """A JSON document is parsed whole by Python before its columns are known: a key twice is
    refused in any object, read or not, escaped or not."""
    path = _write(tmp_path / "doc.json", text)
    with pytest.raises(InputError) as e:
        read(path)
    assert str(e.value).startswith(f"{path}:{where}: key {key!r} {ERR}"), str(e.value)
