"""CRUXEval scored outputs (``evaluation/evaluate_generations.py --scored_results_path``).

Written by ``evaluate_generations`` (facebookresearch/cruxeval, commit 10d71b4)::

    {"raw_generations": {"sample_0": ["'abc'", ...], ...},
     "raw_scored_generations": {"sample_0": [true, false, ...], ...},
     "pass_at_1": 34.2, "pass_at_5": 40.3}

Read: the problem key (``sample_<i>``), ``raw_scored_generations[key]`` (one sample per element:
n = the generations per problem) and ``raw_generations[key]`` as the answers (the predicted
input or output, maj@k), when it holds one string per scored generation. ``pass_at_1`` and
``pass_at_5`` are CRUXEval's own numbers (in percent), not read.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .base import Defaults, DocumentPreset, JsonPath, PresetError

__all__ = ["CruxEval"]


class CruxEval(DocumentPreset):
    name = "cruxeval"
    tool = "CRUXEval scored results"
    reads = "raw_scored_generations.<sample_i> (one sample per element), raw_generations.<sample_i> as answers"

    def __init__(self, label: str) -> None:
        super().__init__(label)
        self.answers = False

    @classmethod
    def claims(cls, doc: Any) -> bool:
        return isinstance(doc, dict) and isinstance(doc.get("raw_scored_generations"), dict)

    def records(self, doc: Any) -> Iterator[tuple[JsonPath, dict[str, Any]]]:
        scored = doc["raw_scored_generations"]
        gens = doc.get("raw_generations")
        self.answers = isinstance(gens, dict) and all(
            isinstance(gens.get(k), list) and isinstance(v, list) and len(gens[k]) == len(v) for k, v in scored.items()
        )
        for key, scores in scored.items():
            at = ("raw_scored_generations", key)
            if not isinstance(scores, list):
                raise PresetError(at, f"expected a list of booleans, got a JSON {type(scores).__name__}")
            rec: dict[str, Any] = {"problem_id": key, "raw_scored_generations": scores}
            if self.answers:
                assert isinstance(gens, dict)
                rec["raw_generations"] = gens[key]
            yield at, rec

    def defaults(self) -> Defaults:
        columns = {"id_col": "problem_id", "reward_col": "raw_scored_generations"}
        if self.answers:
            columns["answer_col"] = "raw_generations"
        return Defaults(tool=self.tool, columns=columns, note=f"{self.label}: read as {self.tool}")
