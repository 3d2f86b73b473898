"""Rewrite decorated top-level functions as plain ones decorated after the fact, for a mutation run.

mutmut 3.8.1 never mutates a decorated function (its trampoline would run the decorator twice), so
the bodies of the registered estimators (``@register(...) def rloo``) and of the memoised helpers
(``@functools.lru_cache``) get no mutants. This tool rewrites, in place, in a *throw-away copy* of
the repository::

    @register("rloo", target=..., ...)          def rloo(rewards):
    def rloo(rewards):                   →          ...
        ...                                      rloo = register("rloo", target=..., ...)(rloo)

Decorators apply bottom-up (``@a @b def f`` is ``f = a(b(f))``), at the same point of the module's
execution as before (right after the ``def``), so the module registers and caches exactly what it did.
``@overload`` stubs, ``@staticmethod`` / ``@classmethod`` and methods are left alone (mutmut handles
or skips them; no estimator is one).

    python benchmarks/undecorate.py FILE...     # prints each function rewritten

Never run it on the working tree: the commands around it (benchmarks/RESULTS.md § Mutation score)
copy the repository first.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

__all__ = ["undecorate"]

_KEEP = {"overload", "staticmethod", "classmethod"}


def _name(decorator: ast.expr) -> str:
    """The decorator's last dotted name (``functools.lru_cache(maxsize=8)`` → ``lru_cache``)."""
    node = decorator.func if isinstance(decorator, ast.Call) else decorator
    return node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", "")


def undecorate(source: str) -> tuple[str, list[str]]:
    """``source`` with every decorated top-level function rewritten; returns it and the names rewritten.

    Line-based: the decorator lines are dropped and one assignment is inserted after the function's
    last line, so every other line (and every comment) is kept as it was.
    """
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    edits: list[tuple[int, int, int, str]] = []  # (first decorator line, def line, end line, assignment), 1-based
    for node in tree.body:
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) or not node.decorator_list:
            continue
        if any(_name(d) in _KEEP for d in node.decorator_list):
            continue
        wrapped = node.name
        for decorator in reversed(node.decorator_list):
            wrapped = f"({ast.get_source_segment(source, decorator)})({wrapped})"
        assert node.end_lineno is not None
        first = min(d.lineno for d in node.decorator_list)
        def_line = node.lineno  # ast puts a decorated def's lineno on the `def` itself
        edits.append((first, def_line, node.end_lineno, f"{node.name} = {wrapped}\n"))
    for first, def_line, end, assignment in reversed(edits):  # from the bottom: line numbers above stay valid
        lines[end:end] = [assignment]
        del lines[first - 1:def_line - 1]
    return "".join(lines), [e[3].split(" = ")[0] for e in edits]


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        print("usage: python benchmarks/undecorate.py FILE...", file=sys.stderr)
        return 2
    for arg in argv:
        path = Path(arg)
        text, names = undecorate(path.read_text())
        path.write_text(text)
        print(f"{path}: {', '.join(names) or '(nothing decorated)'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
