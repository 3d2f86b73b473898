"""The house: data flows one way. Every import inside ``passlens`` (at module level or inside a
function) goes to a lower layer or sideways, and the areas form no circle. The only upward
arrows are the deprecated aliases kept for one release, listed here by name."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import passlens

ROOT = Path(passlens.__file__).parent

#: Bottom to top. An area is a top-level module or sub-package of passlens.
LAYERS: list[set[str]] = [
    {"_version", "_validate", "_json", "_combinatorics", "_output", "_pairing", "_majority"},
    {"estimators", "gradient_estimators", "histogram"},
    {"metrics", "theory"},
    {"uncertainty", "advantages"},
    {"grouping", "diagnostics", "io"},
    {"lab", "rl"},
    {"report"},
    {"integrations"},
    {"cli", "cli_lab", "cli_report", "cli_theory", "cli_train", "__main__", "__init__"},
]

#: Deprecated aliases (one release): the names moved up the house and the old place still answers.
ALIASES = {
    ("passlens.advantages.variance", "passlens.lab.variance"),
    ("passlens.theory", "passlens.lab"),
    ("passlens.theory", "passlens.lab.shared_policy"),
    ("passlens.uncertainty", "passlens.report.text"),
}


def _modules() -> dict[str, Path]:
    out = {}
    for p in ROOT.rglob("*.py"):
        parts = list(p.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__" and len(parts) > 1:
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


def _imports(mods: dict[str, Path]) -> dict[str, set[str]]:
    edges: dict[str, set[str]] = defaultdict(set)
    for name, path in mods.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    module = ".".join(base + ([node.module] if node.module else []))
                else:
                    module = node.module or ""
                targets = [module] + [f"{module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            for t in targets:
                if t in mods and t != name and t.startswith("passlens"):
                    edges[name].add(t)
    return edges


def _area(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _layer(area: str) -> int:
    for i, layer in enumerate(LAYERS):
        if area in layer:
            return i
    raise AssertionError(f"area {area!r} is in no layer of tests/test_layout.py: place it in the house")


def test_every_import_goes_down_or_sideways() -> None:
    mods = _modules()
    upward = []
    for src, targets in _imports(mods).items():
        for dst in targets:
            a, b = _area(src), _area(dst)
            if a != b and _layer(b) > _layer(a) and (src, dst) not in ALIASES:
                upward.append(f"{src} -> {dst}")
    assert not upward, "upward imports: " + "; ".join(sorted(upward))


def test_the_areas_form_no_circle() -> None:
    graph: dict[str, set[str]] = defaultdict(set)
    for src, targets in _imports(_modules()).items():
        for dst in targets:
            if _area(src) != _area(dst) and (src, dst) not in ALIASES:
                graph[_area(src)].add(_area(dst))
    state: dict[str, int] = {}

    def visit(v: str, path: list[str]) -> None:
        state[v] = 1
        for w in sorted(graph.get(v, ())):
            assert state.get(w) != 1, "import circle: " + " -> ".join(path + [v, w])
            if w not in state:
                visit(w, path + [v])
        state[v] = 2

    for v in sorted(graph):
        if v not in state:
            visit(v, [])


def test_the_aliases_listed_still_exist() -> None:
    """An alias removed from the code is removed from this list too (the list does not hide new arrows)."""
    edges = _imports(_modules())
    for src, dst in ALIASES:
        assert dst in edges.get(src, set()), (src, dst)
