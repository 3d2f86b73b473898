"""One-line texts shared by the readers: how values, ids and bad rows are named in messages.

Every message of :mod:`passlens.io` is one line, ``"<where>: <problem>"``, where ``<where>`` is
``file:line`` (JSON lines, CSV) or ``file: row r`` (Parquet, frames). Texts used in one
place only stay beside the check that raises them.
"""

from __future__ import annotations

import math
from typing import Any

from .columns import Mapping

__all__ = ["one_line", "pid", "num", "missing_id", "shown_name", "bad_row_message", "nested_message"]


def one_line(e: BaseException) -> str:
    """A library's error message on one line, cut at 300 characters."""
    text = " ".join(str(e).split())
    return text[:300] + ("…" if len(text) > 300 else "")


#: Longest problem id quoted whole in a message (a prompt's text is the id in verl and TRL logs).
PID_MAX = 80


def pid(value: Any) -> str:
    """A problem id as messages quote it (cut after :data:`PID_MAX` characters, with "…")."""
    text = str(value)
    return repr(text if len(text) <= PID_MAX else text[: PID_MAX - 1] + "…")


def num(x: float) -> str:
    """A number for a message, never rounded: 5 (not 5.0), 0.75, 3.0000000000000004."""
    x = float(x)  # (a NumPy scalar's repr would read "np.float64(…)")
    return str(int(x)) if math.isfinite(x) and x == int(x) else repr(x)


def missing_id(raw: Any, col: str) -> str:
    return f"{'empty' if raw == '' else 'missing'} problem id (column {col!r})"


def shown_name(col: str) -> str:
    """A column name for a list in a note: quoted when it would not show ('' from a pandas index)."""
    return col if col and col == col.strip() else repr(col)


def bad_row_message(rec: dict[str, Any], m: Mapping, binary: bool) -> str:
    """What is wrong with a flagged sample row (canonical columns, see ``normalize``)."""
    problem = rec["_id"]
    if problem is None:
        return missing_id(rec["_rawid"], m.id)
    who = f"problem {pid(problem)}: "
    r = rec["_r"]
    if rec["_rbad"]:
        return f"{who}reward {rec['_raw0']!r} is not a number (column {m.reward!r})"
    if r is None:
        return f"{who}missing reward (column {m.reward!r})"
    if math.isnan(r):
        return f"{who}reward is NaN (column {m.reward!r})"
    if math.isinf(r):
        return f"{who}reward is infinite (column {m.reward!r})"
    if binary and r not in (0.0, 1.0):
        why = "outside [0, 1]" if not 0.0 <= r <= 1.0 else "not 0 or 1"
        return f"{who}reward {num(r)} is {why}; binary rewards were required"
    if rec["_g"] is None:
        return f"{who}missing value in group column {m.by!r}"
    if m.sample is not None and rec["_s"] is None:
        return f"{who}missing sample id (column {m.sample!r})"
    return f"{who}invalid row"  # pragma: no cover - every flagged condition is named above


def nested_message(where: str, m: Mapping, col: str, kind: str) -> str:
    """A JSON list or object (``kind``) where a text column needs a string or a number."""
    what = {m.id: "problem id", m.sample: "sample id", m.answer: "answer"}.get(col, "group value")
    return f"{where}: {what} must be a string or a number, got a JSON {kind} (column {col!r})"
