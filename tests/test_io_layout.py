"""The shape of passlens.io: formats behind one protocol, no branch on the input's format elsewhere, one-way imports.

A new format is one module in ``passlens/io/formats/`` and one entry in ``FORMATS``; these
tests fail when it is not registered, when it misses part of the protocol, when it has no
contract case below, or when code outside ``formats/`` asks which format an input is. A new
tool preset is one module in ``passlens/io/formats/presets/`` and one entry in its registry;
the same holds for it (its fixture test lives in ``tests/test_io_presets.py``).
"""

from __future__ import annotations

import ast
import csv
import importlib
import inspect
import json
import pkgutil
import re
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import passlens.io as pio
from passlens.io import InputError, formats, from_frame, read
from passlens.io.formats import FORMATS, Format, presets
from passlens.io.formats.presets import DOCUMENT_PRESETS, PRESETS, TABLE_PRESETS, DocumentPreset, Preset, TablePreset

IO_DIR = Path(pio.__file__).parent
FORMATS_DIR = IO_DIR / "formats"
PRESETS_DIR = FORMATS_DIR / "presets"
FORMAT_NAMES = {fmt.name for fmt in FORMATS}
FORMAT_CLASS_NAMES = {fmt.__name__ for fmt in FORMATS}

#: Modules of passlens.io from the ground up: each imports only modules listed before it.
FLOORS = [
    "tables",
    "columns",
    "messages",
    "formats",
    "sources",
    "normalize",
    "lists",
    "job",
    "problems",
    "aggregate",
    "counts",
    "read",
    "__init__",
]

#: What code outside formats/ may import from it: the protocol and the registry (read.py also
#: builds frame inputs).
ALLOWED_FROM_FORMATS = {"Format", "ROW", "FORMATS", "for_path", "for_stream", "file_stem", "extensions"}
ALLOWED_EXTRA = {"read": {"Frame"}}


# ---------------------------------------------------------------------------------------
# no branch on the input's format outside formats/


def _is_format_name(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant) and node.value in FORMAT_NAMES:
        return True
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return any(_is_format_name(e) for e in node.elts)
    return False


def kind_branches(source: str) -> list[str]:
    """Every place in ``source`` that asks which format an input is, as ``line: reason``.

    Comparisons with a format's name or with a ``.kind`` / ``.name`` / ``.extensions``
    attribute, ``isinstance`` / ``type(...) is`` against a format class, and ``match`` on a
    format's name.
    """
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            if any(_is_format_name(o) for o in operands):
                found.append(f"{node.lineno}: comparison with a format name")
            if any(isinstance(o, ast.Attribute) and o.attr in ("kind", "name", "extensions") for o in operands):
                found.append(f"{node.lineno}: comparison with a format attribute")
            if any(isinstance(o, ast.Name) and o.id in FORMAT_CLASS_NAMES for o in operands):
                found.append(f"{node.lineno}: comparison with a format class")
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("isinstance", "issubclass"):
            names = {n.id for n in ast.walk(node.args[1]) if isinstance(n, ast.Name)} if len(node.args) > 1 else set()
            if names & FORMAT_CLASS_NAMES:
                found.append(f"{node.lineno}: {node.func.id} with a format class")
        elif isinstance(node, ast.match_case) and any(_is_format_name(n) for n in ast.walk(node.pattern)):
            found.append(f"{node.pattern.lineno}: match on a format name")
        elif isinstance(node, ast.Attribute) and node.attr == "kind":
            found.append(f"{node.lineno}: .kind")
    return found


def test_kind_branch_scanner_finds_the_old_branches() -> None:
    """The scanner below would have found what io.py did before formats/ existed."""
    old = '''
if src.kind == "jsonl":
    pass
if src.kind in ("jsonl", "csv"):
    pass
if kind != "parquet":
    pass
if isinstance(src, Csv):
    pass
if type(src) is JsonLines:
    pass
if src.name == fmt:
    pass
'''
    assert {int(hit.split(":")[0]) for hit in kind_branches(old)} == {2, 4, 6, 8, 10, 12}
    assert kind_branches('x = "jsonl"\nif src.text:\n    pass\nif kind == "list":\n    pass\n') == []


def io_modules_outside_formats() -> list[Path]:
    return sorted(p for p in IO_DIR.glob("*.py"))


def test_no_branch_on_the_input_format_outside_formats() -> None:
    problems = []
    for path in io_modules_outside_formats():
        problems += [f"{path.name}:{hit}" for hit in kind_branches(path.read_text())]
    assert problems == [], "ask the input's Format (a method or the text flag) instead:\n" + "\n".join(problems)


def test_only_the_protocol_is_imported_from_formats() -> None:
    problems = []
    for path in io_modules_outside_formats():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1 and (node.module or "").startswith("formats"):
                allowed = ALLOWED_FROM_FORMATS | ALLOWED_EXTRA.get(path.stem, set())
                problems += [f"{path.name}: {a.name}" for a in node.names if a.name not in allowed]
    assert problems == []


# ---------------------------------------------------------------------------------------
# one-way imports inside passlens.io


def _relative_imports(path: Path, package_depth: int) -> set[str]:
    """First component, below passlens.io, of each relative import of a module ``package_depth`` below it."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            up = node.level - 1 - package_depth  # levels above passlens/io
            if up == 0 or (up < 0 and package_depth):
                mod = (node.module or "").split(".")[0] if up == 0 else "formats"
                if mod:
                    out.add(mod)
                else:  # "from . import x"
                    out.update(a.name for a in node.names)
    return out


def test_io_modules_are_layered_without_circles() -> None:
    modules = {p.stem for p in IO_DIR.glob("*.py")} | {"formats"}
    assert modules == set(FLOORS), "add the new module to FLOORS (with its place in the data flow)"
    floor = {name: i for i, name in enumerate(FLOORS)}
    problems = []
    for path in IO_DIR.glob("*.py"):
        for dep in _relative_imports(path, 0) - {path.stem}:
            if dep in floor and floor[dep] >= floor[path.stem]:
                problems.append(f"{path.stem} imports {dep}")
    for path in FORMATS_DIR.glob("*.py"):  # formats/ stands on tables and messages only
        for dep in _relative_imports(path, 1) - {"formats"}:
            if dep in floor and floor[dep] >= floor["formats"]:
                problems.append(f"formats/{path.name} imports {dep}")
    for path in PRESETS_DIR.glob("*.py"):  # presets/ too, and never on the formats that use them
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                up = node.level - 1  # packages above presets/
                target = (node.module or "").split(".")[0]
                if up == 1 and target not in ("", "presets"):
                    problems.append(f"formats/presets/{path.name} imports formats/{target}")
                if up == 2 and target in floor and floor[target] >= floor["formats"]:
                    problems.append(f"formats/presets/{path.name} imports {target}")
    assert problems == []


def test_importing_passlens_stays_light() -> None:
    code = "import sys, passlens; print(sorted(m for m in ('polars', 'passlens.io', 'pyarrow') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ---------------------------------------------------------------------------------------
# the protocol: every format module registers one format that implements it


def _defined(module: Any, kind: type) -> list[type]:
    return [
        obj
        for obj in vars(module).values()
        if inspect.isclass(obj) and issubclass(obj, kind) and obj.__module__ == module.__name__
    ]


def test_every_format_module_is_registered() -> None:
    for info in pkgutil.iter_modules([str(FORMATS_DIR)]):
        if info.name == "base" or info.ispkg:
            continue
        module = importlib.import_module(f"passlens.io.formats.{info.name}")
        defined = _defined(module, Format)
        if info.name.startswith("_"):  # a helper of the formats (compression, JSON layout): no format
            assert defined == [], f"formats/{info.name}.py is a helper and should define no format"
            continue
        assert len(defined) == 1, f"formats/{info.name}.py should define one format, defines {defined}"
        assert defined[0] in FORMATS, f"{defined[0].__name__} is not in passlens.io.formats.FORMATS"


def test_every_preset_module_is_registered() -> None:
    for info in pkgutil.iter_modules([str(PRESETS_DIR)]):
        if info.name == "base":
            continue
        module = importlib.import_module(f"passlens.io.formats.presets.{info.name}")
        defined = _defined(module, Preset)
        assert len(defined) == 1, f"formats/presets/{info.name}.py should define one preset, defines {defined}"
        assert defined[0] in PRESETS, f"{defined[0].__name__} is not in passlens.io.formats.presets.PRESETS"
    assert len({p.name for p in PRESETS}) == len(PRESETS)
    assert set(DOCUMENT_PRESETS) <= {p for p in PRESETS if issubclass(p, DocumentPreset)}
    assert set(TABLE_PRESETS) <= {p for p in PRESETS if issubclass(p, TablePreset)}


@pytest.mark.parametrize("preset", PRESETS, ids=lambda p: p.name)
def test_preset_implements_the_protocol(preset: type[Preset]) -> None:
    assert not inspect.isabstract(preset) and re.fullmatch(r"[a-z][a-z0-9_]*", preset.name)
    assert preset.tool and preset.reads and "\n" not in preset.reads
    doc = inspect.getmodule(preset).__doc__ or ""  # type: ignore[union-attr]
    assert len(doc.splitlines()) > 3, f"{preset.name}: the module docstring says which fields it reads, what they give"
    base = DocumentPreset if issubclass(preset, DocumentPreset) else TablePreset
    for name, member in inspect.getmembers(base, inspect.isfunction):
        if not name.startswith("_"):
            assert inspect.signature(getattr(preset, name)) == inspect.signature(member), (preset.name, name)


def test_every_preset_has_a_fixture_test() -> None:
    from test_io_presets import CASES

    assert set(CASES) == {p.name for p in PRESETS}
    assert presets.PRESETS is PRESETS


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda f: f.name)
def test_format_implements_the_protocol(fmt: type[Format]) -> None:
    assert issubclass(fmt, Format) and not inspect.isabstract(fmt)
    assert re.fullmatch(r"[a-z][a-z0-9_]*", fmt.name)
    assert isinstance(fmt.text, bool)
    for ext in fmt.extensions:
        assert re.fullmatch(r"\.[a-z0-9]+", ext), ext
    if fmt.extensions:  # read from files: it opens them
        assert fmt.from_file.__func__ is not Format.from_file.__func__  # type: ignore[attr-defined]
    if fmt.text:  # messages name physical lines: it locates them
        assert fmt.locate is not Format.locate and fmt.diagnose is not Format.diagnose
    for name, member in inspect.getmembers(Format, inspect.isfunction):
        if not name.startswith("_"):  # same signature as the protocol's
            assert inspect.signature(getattr(fmt, name)) == inspect.signature(member), (fmt.name, name)


def test_names_and_extensions_are_unambiguous() -> None:
    assert len(FORMAT_NAMES) == len(FORMATS)
    claims: dict[str, list[type[Format]]] = {}
    for fmt in FORMATS:
        for ext in fmt.extensions:
            claims.setdefault(ext, []).append(fmt)
    for ext, fmts in claims.items():
        if len(fmts) > 1:  # shared suffixes are told apart by content
            assert all(f.detect is not Format.detect for f in fmts), ext


def test_a_shared_suffix_is_told_apart_by_content(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class Document(formats.JsonLines):
        """A made-up format sharing .json: a file starting with '['."""

        name = "json_document"

        @classmethod
        def detect(cls, path: Path, head: bytes) -> bool:
            return head.lstrip().startswith(b"[")

    class Lines(formats.JsonLines):
        @classmethod
        def detect(cls, path: Path, head: bytes) -> bool:
            return not head.lstrip().startswith(b"[")

    monkeypatch.setattr(formats, "FORMATS", (Lines, Document, formats.Csv))
    doc, lines = tmp_path / "a.json", tmp_path / "b.JSON"
    doc.write_text('[{"x": 1}]')
    lines.write_text('{"x": 1}\n')
    assert formats.for_path(str(doc), doc) is Document
    assert formats.for_path(str(lines), lines) is Lines
    assert formats.for_path("c.csv", Path("c.csv")) is formats.Csv
    expected = r"^d\.txt: unknown file extension '\.txt'; expected one of \.csv, \.json, \.jsonl, \.ndjson$"
    with pytest.raises(InputError, match=expected):
        formats.for_path("d.txt", Path("d.txt"))


# ---------------------------------------------------------------------------------------
# the contract: a clean input reads, a bad record is named where the format says it sits

ROWS = [
    {"problem_id": "a", "reward": 1},
    {"problem_id": "b", "reward": 0},
    {"problem_id": "a", "reward": "oops"},
    {"problem_id": "b", "reward": 1},
]


def _write_jsonl(tmp: Path, rows: list[dict[str, Any]]) -> Path:
    path = tmp / "in.jsonl"
    path.write_text('{"problem_id": "a", "reward": 1}\n\n' + "".join(json.dumps(r) + "\n" for r in rows[1:]))
    return path  # a blank line 2: record 2 (0-based) is on line 4


def _write_csv(tmp: Path, rows: list[dict[str, Any]]) -> Path:
    path = tmp / "in.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["problem_id", "reward"])
        for r in rows:
            w.writerow([r["problem_id"], r["reward"]])
    return path


def _parquet_rows(rows: list[dict[str, Any]]) -> pl.DataFrame:
    return pl.DataFrame({"problem_id": [r["problem_id"] for r in rows], "reward": [str(r["reward"]) for r in rows]})


def _write_parquet(tmp: Path, rows: list[dict[str, Any]]) -> Path:
    path = tmp / "in.parquet"
    _parquet_rows(rows).write_parquet(path)
    return path


def _write_inspect_eval(tmp: Path, rows: list[dict[str, Any]]) -> Path:
    """The rows as an Inspect .eval archive: each problem a sample, each row an epoch scored by scorer 'reward'."""
    path = tmp / "in.eval"
    epochs: dict[str, int] = {}
    with zipfile.ZipFile(path, "w") as z:
        header = {"version": 2, "status": "success", "eval": {"task": "t", "model": "m"},
                  "results": {"scores": [{"name": "reward", "scorer": "reward"}]}}
        z.writestr("header.json", json.dumps(header))
        for r in rows:
            epoch = epochs[r["problem_id"]] = epochs.get(r["problem_id"], 0) + 1
            sample = {"id": r["problem_id"], "epoch": epoch, "scores": {"reward": {"value": r["reward"]}}}
            z.writestr(f"samples/{r['problem_id']}_epoch_{epoch}.json", json.dumps(sample))
    return path  # records are named by their entry: record 2 is samples/a_epoch_2.json


def _write_document(tmp: Path, rows: list[dict[str, Any]]) -> Path:
    path = tmp / "in.json"
    path.write_text(json.dumps(rows, indent=2))
    return path  # records are named by their JSON path: record 2 is $[2]


#: per format: (write the rows, read them, where record 2 (0-based) sits)
CONTRACT: dict[str, tuple[Callable[[Path, list[dict[str, Any]]], Any], Callable[[Any], Any], Callable[[Any], str]]] = {
    "jsonl": (_write_jsonl, read, lambda p: f"{p}:4"),
    "json": (_write_document, read, lambda p: f"{p}: $[2]"),
    "inspect_eval": (_write_inspect_eval, read, lambda p: f"{p}: samples/a_epoch_2.json"),
    "csv": (_write_csv, read, lambda p: f"{p}:4"),
    "parquet": (_write_parquet, read, lambda p: f"{p}: row 3"),
    "frame": (lambda tmp, rows: _parquet_rows(rows), lambda f: from_frame(f, source="F"), lambda f: "F: row 3"),
}


def test_every_format_has_a_contract_case() -> None:
    assert set(CONTRACT) == FORMAT_NAMES


@pytest.mark.parametrize("name", sorted(CONTRACT))
def test_format_contract(tmp_path: Path, name: str) -> None:
    write, read_it, where = CONTRACT[name]
    clean = [dict(r, reward=0 if r["reward"] == "oops" else r["reward"]) for r in ROWS]
    table = read_it(write(tmp_path, clean)).groups[""]
    assert dict(zip(table.ids, zip(table.n.tolist(), table.c.tolist()))) == {"a": (2, 1), "b": (2, 1)}
    (tmp_path / "bad").mkdir()
    bad = write(tmp_path / "bad", ROWS)
    with pytest.raises(InputError) as info:
        read_it(bad)
    assert str(info.value) == f"{where(bad)}: problem 'a': reward 'oops' is not a number (column 'reward')"
