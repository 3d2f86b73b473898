"""benchmarks/undecorate.py (the mutation run's rewrite of decorated functions) keeps what a module defines."""

from __future__ import annotations

import importlib.util
from pathlib import Path

_TOOL = Path(__file__).parents[1] / "benchmarks" / "undecorate.py"
_spec = importlib.util.spec_from_file_location("undecorate", _TOOL)
assert _spec is not None and _spec.loader is not None
undecorate_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(undecorate_module)

SOURCE = '''
import functools
from typing import overload
calls = []

def tag(name, *, order):
    def add(fn):
        calls.append((name, order, fn.__name__))
        fn.tagged = name
        return fn
    return add

@tag("outer", order=2)
@functools.lru_cache(maxsize=4)
def f(x):
    """doc"""
    return x + 1  # a comment

@overload
def g(x: int) -> int: ...
@overload
def g(x: str) -> str: ...
def g(x):
    return x

@tag(
    "multi-line",
    order=1,
)
def h():
    return f(1)
'''


def _run(text: str) -> dict:
    ns: dict = {}
    exec(compile(text, "<src>", "exec"), ns)
    return ns


def test_rewrite_defines_and_registers_the_same_things() -> None:
    text, names = undecorate_module.undecorate(SOURCE)
    assert names == ["f", "h"]  # @overload stubs (and their implementation) untouched
    assert "@tag" not in text and "@functools" not in text and text.count("@overload") == 2
    assert "# a comment" in text
    before, after = _run(SOURCE), _run(text)
    assert after["calls"] == before["calls"] == [("outer", 2, "f"), ("multi-line", 1, "h")]
    assert after["f"].tagged == "outer" and after["f"](2) == 3 and after["h"]() == 2
    assert after["f"].cache_info().hits == 0 and after["f"](2) == 3 and after["f"].cache_info().hits == 1
    assert after["f"].__doc__ == "doc"
