"""EvalPlus ``eval_results.json`` (``evalplus.evaluate``; HumanEval+ and MBPP+).

Written by ``evalplus/evaluate.py`` (evalplus 0.3.1)::

    {"date": "...", "hash": "...", "eval": {"HumanEval/0": [{"task_id": "HumanEval/0",
      "solution": "...", "base_status": "pass", "plus_status": "fail",
      "base_fail_tests": [...], "plus_fail_tests": [...]}, ...], ...}}

one entry per solution, in completion order. Read: ``task_id`` (the key under ``eval``), the
solution's index as its sample id, and two correctness columns, as evalplus counts them:
``base`` = ``base_status == "pass"`` (the original tests) and ``plus`` = base and
``plus_status == "pass"`` (the base and extra tests, HumanEval+ / MBPP+). The reward is
``plus`` when the plus tests were run (``plus_status`` not null), else ``base``; the other is
offered with ``--reward-col``. Gives n = the solutions per task; no answers (programs are not
voted on).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .base import Defaults, DocumentPreset, JsonPath, PresetError

__all__ = ["EvalPlus"]

_STATUSES = ("pass", "fail", "timeout")


class EvalPlus(DocumentPreset):
    name = "evalplus"
    tool = "EvalPlus eval_results.json"
    reads = "eval.<task_id>[i]: base_status, plus_status → base, plus (= base and plus pass); n = solutions per task"

    def __init__(self, label: str) -> None:
        super().__init__(label)
        self.plus_run = False

    @classmethod
    def claims(cls, doc: Any) -> bool:
        if not isinstance(doc, dict) or not isinstance(doc.get("eval"), dict) or "hash" not in doc:
            return False
        first = next(iter(doc["eval"].values()), None)
        return isinstance(first, list) and bool(first) and isinstance(first[0], dict) and "base_status" in first[0]

    def records(self, doc: Any) -> Iterator[tuple[JsonPath, dict[str, Any]]]:
        for task, solutions in doc["eval"].items():
            if not isinstance(solutions, list) or not solutions:
                raise PresetError(("eval", task), "expected a non-empty list of solutions")
            for i, sol in enumerate(solutions):
                at = ("eval", task, i)
                if not isinstance(sol, dict):
                    raise PresetError(at, "expected a solution record (a JSON object)")
                base, plus = sol.get("base_status"), sol.get("plus_status")
                for field, status in (("base_status", base), ("plus_status", plus)):
                    if status not in _STATUSES and not (field == "plus_status" and status is None):
                        raise PresetError(at, f"{field} is {status!r}; expected one of {', '.join(_STATUSES)}")
                self.plus_run = self.plus_run or plus is not None
                yield (
                    at,
                    {
                        "task_id": task,
                        "solution": i,
                        "base": base == "pass",
                        "plus": base == "pass" and plus == "pass",
                    },
                )

    def defaults(self) -> Defaults:
        reward, other = ("plus", "base") if self.plus_run else ("base", "plus")
        meaning = "base and plus tests pass" if self.plus_run else "base tests pass (no plus tests were run)"
        return Defaults(
            tool=self.tool,
            columns={"id_col": "task_id", "reward_col": reward, "sample_col": "solution"},
            rewards=(other,) if self.plus_run else (),
            note=f"{self.label}: read as {self.tool}: reward {reward!r} = {meaning}"
            + ("; --reward-col base for the base tests alone" if self.plus_run else ""),
        )
