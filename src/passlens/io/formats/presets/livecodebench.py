"""LiveCodeBench ``*_eval_all.json`` (``lcb_runner.runner.main`` with ``--evaluate``).

An array with one record per problem, written by ``insert_output_evaluation``
(``lcb_runner/benchmarks/code_generation.py``, ``code_execution.py``, ``test_output_prediction.py``)::

    [{"question_id": "...", "question_title": "...", ..., "output_list": [...],
      "code_list": [...], "graded_list": [true, false, ...], "pass@1": 0.5, "metadata": [...]}, ...]

(code execution and test output prediction write ``pred_list`` instead of ``code_list``). Read:
``question_id`` and ``graded_list`` (one sample per element: n = the generations per problem);
``pred_list``, where present, as the answers (maj@k over predicted outputs); ``code_list`` is
not voted on. ``pass@1`` is LiveCodeBench's own c/n, not read.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .base import Defaults, DocumentPreset, JsonPath, PresetError

__all__ = ["LiveCodeBench"]


class LiveCodeBench(DocumentPreset):
    name = "livecodebench"
    tool = "LiveCodeBench eval_all.json"
    reads = "[i].question_id, [i].graded_list (one sample per element), [i].pred_list as answers where present"

    def __init__(self, label: str) -> None:
        super().__init__(label)
        self.answers = False

    @classmethod
    def claims(cls, doc: Any) -> bool:
        if not isinstance(doc, list) or not doc or not isinstance(doc[0], dict):
            return False
        return {"question_id", "graded_list"} <= doc[0].keys() and bool({"output_list", "pass@1"} & doc[0].keys())

    def records(self, doc: Any) -> Iterator[tuple[JsonPath, dict[str, Any]]]:
        self.answers = all(isinstance(r, dict) and isinstance(r.get("pred_list"), list) for r in doc)
        for i, rec in enumerate(doc):
            if not isinstance(rec, dict):
                raise PresetError((i,), "expected a problem record (a JSON object)")
            graded = rec.get("graded_list")
            if not isinstance(graded, list):
                raise PresetError((i,), f"graded_list is {_shown(graded)}; expected a list of booleans")
            out: dict[str, Any] = {"question_id": rec.get("question_id"), "graded_list": graded}
            if self.answers:
                out["pred_list"] = rec["pred_list"]
            yield (i,), out

    def defaults(self) -> Defaults:
        columns = {"id_col": "question_id", "reward_col": "graded_list"}
        if self.answers:
            columns["answer_col"] = "pred_list"
        return Defaults(tool=self.tool, columns=columns, note=f"{self.label}: read as {self.tool}")


def _shown(value: Any) -> str:
    return "missing" if value is None else f"a JSON {type(value).__name__}"
