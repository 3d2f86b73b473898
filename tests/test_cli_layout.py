"""The shape of ``passlens.cli``, read from the source with ``ast``: one way down, no circle.

The package builds the app and mounts the commands; each command module imports the helper
modules at the bottom and the library, never another command nor the package; the helpers
import no command; and nothing outside the CLI imports it (the entry point aside).
"""

from __future__ import annotations

import ast
import importlib
import sys
from pathlib import Path

import pytest

import passlens

SRC = Path(passlens.__file__).parent
CLI = "passlens.cli"
HELPERS = {"passlens.cli._common", "passlens.cli._errors"}
#: Old module names kept for one release; each only re-exports its new home.
DEPRECATED_ALIASES = {
    "passlens.cli_lab": ("passlens.cli.lab", ("lab_app", "run_cmd", "show_cmd")),
    "passlens.cli_report": ("passlens.cli.report", ("parse_k_spec", "report_cmd")),
    "passlens.cli_theory": ("passlens.cli.theory", ("theory_app",)),
    "passlens.cli_train": ("passlens.cli.train", ("train_cmd",)),
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in SRC.rglob("*.py")}


def _imports(name: str) -> set[str]:
    """Every passlens module ``name`` imports, at the top or inside a function (``from . import x``
    counts as the submodule x where there is one)."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in MODULES)
    return {m for m in found if m in MODULES}


GRAPH = {name: _imports(name) for name in MODULES}


def _in_cli(name: str) -> bool:
    return name == CLI or name.startswith(CLI + ".")


def test_the_graph_sees_the_cli_package() -> None:
    commands = {m for m in MODULES if _in_cli(m)} - HELPERS - {CLI}
    assert commands == {f"{CLI}.{c}" for c in ("eval", "compare", "report", "theory", "train", "lab", "reproduce")}
    assert GRAPH[CLI] >= commands | HELPERS  # the package mounts every command
    assert GRAPH["passlens.__main__"] == {CLI}


def test_nothing_outside_the_cli_imports_it() -> None:
    allowed = {"passlens.__main__", *DEPRECATED_ALIASES}
    bad = {m: sorted(filter(_in_cli, deps)) for m, deps in GRAPH.items()
           if not _in_cli(m) and m not in allowed and any(map(_in_cli, deps))}
    assert not bad, f"modules outside passlens.cli import it: {bad}"


def test_no_module_of_the_cli_imports_the_package() -> None:
    bad = sorted(m for m, deps in GRAPH.items() if _in_cli(m) and m != CLI and CLI in deps)
    assert not bad, f"import passlens.cli (the package) from inside it: {bad}"


def test_helpers_import_no_command() -> None:
    for helper in HELPERS:
        cli_deps = {d for d in GRAPH[helper] if _in_cli(d)}
        assert cli_deps <= HELPERS, f"{helper} imports {sorted(cli_deps - HELPERS)}"


def test_commands_import_only_the_helpers_of_the_cli() -> None:
    for command in {m for m in MODULES if _in_cli(m)} - HELPERS - {CLI}:
        cli_deps = {d for d in GRAPH[command] if _in_cli(d)}
        assert cli_deps <= HELPERS, f"{command} imports {sorted(cli_deps - HELPERS)}"


def test_the_cli_has_no_circle() -> None:
    def visit(m: str, path: tuple[str, ...]) -> None:
        for d in GRAPH[m]:
            assert d not in path, f"import circle: {' → '.join((*path, d))}"
            if _in_cli(d) and d != m:
                visit(d, (*path, d))

    visit(CLI, (CLI,))


def test_report_tables_and_text_do_not_reach_back_into_the_cli() -> None:
    for name in ("passlens.report.text", "passlens.report.tables", "passlens.report.terminal"):
        if name in MODULES:
            assert not any(map(_in_cli, GRAPH[name])), name


@pytest.mark.parametrize("old", sorted(DEPRECATED_ALIASES))
def test_old_cli_module_names_are_deprecated_aliases(old: str) -> None:
    new, names = DEPRECATED_ALIASES[old]
    assert GRAPH[old] <= {new, "passlens.cli.reproduce", CLI}  # an alias and nothing else
    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=rf"{old} is deprecated .* use {new}"):
        mod = importlib.import_module(old)
    for name in names:
        assert getattr(mod, name) is getattr(importlib.import_module(new), name)
