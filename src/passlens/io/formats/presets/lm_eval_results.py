"""lm-evaluation-harness ``results_<date>.json``: aggregates only, refused with a pointer to the samples.

Written by ``EvaluationTracker.save_results_aggregated`` (``lm_eval/loggers/evaluation_tracker.py``,
lm-eval 0.4.13)::

    {"results": {"gsm8k": {"alias": "gsm8k", "exact_match,strict-match": 0.41, ...}},
     "configs": {...}, "versions": {...}, "n-shot": {...}, "config": {...}, ...}

It holds one number per task and metric, not one per document: no (n, c) can be read from it.
The per-document scores are in the samples file written beside it with ``--log_samples``
(``samples_<task>_<date>.jsonl``, read by :mod:`.lm_eval_samples`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .base import Defaults, DocumentPreset, JsonPath

__all__ = ["LmEvalResults"]


class LmEvalResults(DocumentPreset):
    name = "lm_eval_results"
    tool = "lm-evaluation-harness results file"
    reads = "nothing: aggregated scores only (an error points to the samples_<task>_<date>.jsonl file)"

    @classmethod
    def claims(cls, doc: Any) -> bool:
        return (
            isinstance(doc, dict)
            and isinstance(doc.get("results"), dict)
            and bool({"configs", "versions", "n-shot"} & doc.keys())
        )

    def records(self, doc: Any) -> Iterator[tuple[JsonPath, dict[str, Any]]]:
        tasks = ", ".join(list(doc["results"])[:3]) or "?"
        raise self.fail(
            f"holds aggregated scores only (tasks {tasks}), not one per document; run lm_eval with "
            "--log_samples and give the samples_<task>_<date>.jsonl file written beside it"
        )

    def defaults(self) -> Defaults:  # pragma: no cover - records() always raises
        return Defaults(tool=self.tool)
