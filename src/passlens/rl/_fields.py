"""Typed, range-checked configuration fields with one-line errors naming the field. Pure Python.

Each run configuration (:class:`~passlens.rl.trainer.TrainConfig` and its ``model`` and
``warm`` sections) lists its fields with a checker below; its ``__post_init__`` runs them,
so the Python API, ``--config`` files, ``config.json`` on resume and CLI options are all
checked in one place. bool is never accepted as an int or a float (JSON ``true`` is not 1).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Mapping

__all__ = ["ConfigError", "Int", "Float", "Str", "check_fields", "build_section"]


class ConfigError(ValueError):
    """A configuration field with a bad type or value (one line).

    Attributes:
      fields: the field paths the message is about, e.g. ``("warm.steps",)``; a CLI maps them
        back to the options that set them.
    """

    def __init__(self, message: str, fields: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.fields = tuple(fields)


def _num(x: float) -> str:
    """A bound as written in messages: 1, 0.5, 1e-8."""
    if float(x).is_integer() and abs(x) < 1e16:
        return str(int(x))
    return f"{x:g}".replace("e-0", "e-").replace("e+0", "e+")


@dataclasses.dataclass(frozen=True)
class Int:
    """An int in [lo, hi] (None allowed when ``optional``)."""

    lo: int
    hi: int
    optional: bool = False

    def describe(self) -> str:
        return f"an int in [{self.lo}, {self.hi}]" + (" or null" if self.optional else "")

    def check(self, path: str, v: Any) -> Any:
        if v is None and self.optional:
            return None
        if isinstance(v, bool) or not isinstance(v, int) or not self.lo <= v <= self.hi:
            raise ConfigError(f"{path} must be {self.describe()}, got {v!r}", (path,))
        return int(v)


@dataclasses.dataclass(frozen=True)
class Float:
    """A finite number in the interval [lo, hi] (open at an end where ``lo_open`` / ``hi_open``;
    ``hi = inf`` means no upper bound). Ints are accepted and stored as floats."""

    lo: float
    hi: float = math.inf
    lo_open: bool = False
    hi_open: bool = False

    def describe(self) -> str:
        if math.isinf(self.hi):
            return f"a finite number {'>' if self.lo_open else '≥'} {_num(self.lo)}"
        return (f"a finite number in {'(' if self.lo_open else '['}{_num(self.lo)}, "
                f"{_num(self.hi)}{')' if self.hi_open else ']'}")

    def check(self, path: str, v: Any) -> float:
        ok = not isinstance(v, bool) and isinstance(v, (int, float))
        if ok:
            try:
                x = float(v)
            except OverflowError:  # an int beyond the float range
                ok = False
        if ok:
            ok = (math.isfinite(x) and (x > self.lo if self.lo_open else x >= self.lo)
                  and (x < self.hi if self.hi_open else x <= self.hi))
        if not ok:
            raise ConfigError(f"{path} must be {self.describe()}, got {v!r}", (path,))
        return x


@dataclasses.dataclass(frozen=True)
class Str:
    """A non-empty string (None allowed when ``optional``)."""

    optional: bool = False

    def describe(self) -> str:
        return "a non-empty string" + (" or null" if self.optional else "")

    def check(self, path: str, v: Any) -> Any:
        if v is None and self.optional:
            return None
        if not isinstance(v, str) or not v.strip():
            raise ConfigError(f"{path} must be {self.describe()}, got {v!r}", (path,))
        return v


def check_fields(obj: Any, specs: Mapping[str, Any], where: str) -> None:
    """Check (and normalize: ints given for floats become floats) each field of ``obj`` named in
    ``specs``; ``where`` prefixes the field names in messages ("" or "warm." …)."""
    for name, spec in specs.items():
        setattr(obj, name, spec.check(where + name, getattr(obj, name)))


def build_section(cls: type, value: Any, where: str) -> Any:
    """A nested config section (``model``, ``warm``) from an instance of ``cls`` or a mapping of its
    fields, checked with its fields named ``where.field``.

    ``cls`` must be a dataclass whose fields all have defaults and which has a
    ``_validate(where: str)`` method (its ``__post_init__`` calls ``_validate(cls.__name__ + ".")``).
    """
    if isinstance(value, cls):
        obj: Any = value  # rechecked under its path: its fields may have been changed since it was made
    elif isinstance(value, Mapping):
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(str(k) for k in value if k not in known)
        if unknown:
            raise ConfigError(f"{where} has unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}",
                              (where,))
        obj = cls()  # the defaults, then the given fields, checked together under their path
        for k, v in value.items():
            object.__setattr__(obj, k, v)
    else:
        raise ConfigError(f"{where} must be an object of {cls.__name__} fields, got {value!r}", (where,))
    obj._validate(where + ".")
    return obj
