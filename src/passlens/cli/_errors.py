"""click's usage errors (bad or missing values, unknown options) as one line ``<option>: <problem>``.

A helper at the bottom of :mod:`passlens.cli`, beside :mod:`._common`: it imports no command module.
"""

from __future__ import annotations

import re
import sys
from typing import Any

import typer

__all__ = ["click_exceptions", "one_line", "usage_message"]


def click_exceptions() -> Any:
    """The click exceptions module typer uses (its vendored copy in new typer, click itself in old)."""
    return sys.modules[typer.BadParameter.__module__]


def one_line(text: str) -> str:
    """A message as one line (a multi-line message from a library is joined, not cut)."""
    return " ".join(line.strip() for line in str(text).splitlines() if line.strip())


def _param_name(param: Any) -> str:
    """How the user wrote a parameter: its long option ('--n-boot') or, for an argument, its name ('FILES')."""
    opts = [o for o in (getattr(param, "opts", None) or []) if isinstance(o, str)]
    if getattr(param, "param_type_name", None) == "option" and opts:
        longs = [o for o in opts if o.startswith("--")]
        return (longs or opts)[0]
    return str(getattr(param, "metavar", None) or getattr(param, "name", None) or "argument").upper()


def _bad_value(exc: Any) -> str:
    """What is wrong with a value the option's type could not convert, e.g. "expected an integer, got '1.5'"."""
    cause = exc.__cause__
    errors = getattr(cause, "errors", None)
    if callable(errors):  # typer ≥ 0.2x converts with pydantic: take the first error
        try:
            first = errors()[0]
        except Exception:  # noqa: BLE001 - fall back to the exception's own message
            first = None
        if isinstance(first, dict):
            expected = {
                "int_parsing": "expected an integer",
                "int_from_float": "expected an integer",
                "float_parsing": "expected a number",
                "bool_parsing": "expected a boolean",
            }.get(str(first.get("type")))
            text = expected or str(first.get("msg", exc.message)).rstrip(".")
            if "input" in first:
                return f"{text[:1].lower()}{text[1:]}, got {first['input']!r}"
            return f"{text[:1].lower()}{text[1:]}"
    message = str(exc.message).rstrip(".")
    plain = _CLICK_NOT_VALID.fullmatch(message)  # click's own types (typer without pydantic conversion)
    if plain:
        return f"expected {_CLICK_KINDS[plain['kind']]}, got {plain['value']}"
    return message


# click's "'abc' is not a valid float." and the like, as older typer versions report a conversion.
_CLICK_NOT_VALID = re.compile(r"(?P<value>.+) is not a valid (?P<kind>float|integer|int|boolean|bool)(?: value)?")
_CLICK_KINDS = {"float": "a number", "integer": "an integer", "int": "an integer", "boolean": "a boolean", "bool": "a boolean"}


def usage_message(exc: Any) -> str:
    """One line '<option>: <problem>' for a click usage error (bad or missing value, unknown option, …)."""
    mod = click_exceptions()
    name = type(exc).__name__
    param = getattr(exc, "param", None)
    label: str | None
    if name == "MissingParameter":
        what = getattr(exc, "param_type", None) or getattr(param, "param_type_name", None) or "parameter"
        label = _param_name(param) if param is not None else one_line(exc.format_message())
        msg = f"{label}: missing {what}"
    elif isinstance(exc, mod.BadParameter):
        label = _param_name(param) if param is not None else None
        if label is None and exc.param_hint:
            hint = exc.param_hint
            label = hint if isinstance(hint, str) else " / ".join(hint)
        msg = f"{label}: {_bad_value(exc)}" if label else _bad_value(exc)
    elif isinstance(exc, mod.NoSuchOption):
        msg = f"{exc.option_name}: no such option"
        if exc.possibilities:
            msg += f" (did you mean {' or '.join(sorted(exc.possibilities))}?)"
    elif isinstance(exc, mod.BadOptionUsage):
        text = str(exc.message).rstrip(".")
        prefix = f"Option '{exc.option_name}' "
        msg = f"{exc.option_name}: {text[len(prefix):] if text.startswith(prefix) else text}"
    else:
        text = str(exc.format_message()).rstrip(".")
        msg = f"{text[:1].lower()}{text[1:]}"
    ctx = getattr(exc, "ctx", None)
    if isinstance(exc, mod.UsageError) and ctx is not None:
        msg += f" (see '{ctx.command_path} --help')"
    return one_line(msg)
