"""lm-evaluation-harness samples (``lm_eval … --log_samples``: ``samples_<task>_<date>.jsonl``).

One line per (filter, document), written by ``EvaluationTracker.save_results_samples`` from the
record ``evaluate()`` builds (``lm_eval/evaluator.py``, lm-eval 0.4.13)::

    {"doc_id": 0, "doc": {...}, "target": "...", "arguments": {...}, "resps": [["..."]],
     "filtered_resps": ["42"], "filter": "strict-match", "metrics": ["exact_match"],
     "doc_hash": "...", "prompt_hash": "...", "target_hash": "...", "exact_match": 1.0}

Read: ``doc_id`` (the problem), ``filter`` (each filter is its own group when a file holds
several; one file read alone is split by filter), the per-document metric values (the keys
``metrics`` names: the first is the reward, the others are offered with ``--reward-col``), and
``filtered_resps`` as the answer where it holds one string per document (a one-element list,
read as its element).

What it gives: lm-eval scores each *document* once per filter. A task run with ``repeats: 64``
logs one metric value per document (computed from all repeats by the task's own aggregation, or
by a filter such as ``maj@64``), not one per repeat: such a file gives n = 1 per document.
pass@k for k > 1 needs the repeats scored one by one (a task whose ``process_results`` returns
a list, or a metric per repeat), which lm-eval does not write by default.
"""

from __future__ import annotations

import polars as pl

from .base import Defaults, TablePreset

__all__ = ["LmEvalSamples"]

#: The fields of a samples line that are not metric values.
_NOT_METRICS = {
    "doc_id",
    "doc",
    "target",
    "arguments",
    "resps",
    "filtered_resps",
    "filter",
    "metrics",
    "doc_hash",
    "prompt_hash",
    "target_hash",
}


class LmEvalSamples(TablePreset):
    name = "lm_eval_samples"
    tool = "lm-evaluation-harness samples"
    reads = (
        "doc_id, filter (one group per filter), the metric values named by metrics (the first is the reward), "
        "filtered_resps as the answer; n = 1 per document and filter"
    )

    @classmethod
    def claims(cls, schema: pl.Schema) -> bool:
        return {"doc_id", "resps", "filtered_resps"} <= set(schema.names())

    def view(self, schema: pl.Schema, lf: pl.LazyFrame) -> tuple[list[pl.Expr], Defaults]:
        numeric = [c for c, t in schema.items() if c not in _NOT_METRICS and (t.is_numeric() or t == pl.Boolean)]
        named: list[str] = []
        by = None
        cols = [c for c in ("metrics", "filter") if c in schema]
        if cols:
            first = lf.select(
                *([pl.col("metrics").first()] if "metrics" in schema else []),
                *([pl.col("filter").n_unique().alias("_filters")] if "filter" in schema else []),
            ).collect()
            if "metrics" in schema and isinstance(schema["metrics"], pl.List):
                listed = first["metrics"].to_list()[0] or []
                # (by name, whatever their type: a bad value is then an error, not a column skipped)
                named = [m for m in listed if m in schema and m not in _NOT_METRICS]
            if "filter" in schema and first["_filters"][0] > 1:
                by = "filter"
        metrics = named + [c for c in numeric if c not in named]
        if not metrics:
            raise self.fail("no numeric metric value per document (the keys listed in 'metrics')")
        exprs = [pl.col("doc_id").cast(pl.String), *(pl.col(m) for m in metrics)]
        columns = {"id_col": "doc_id", "reward_col": metrics[0]}
        if "filter" in schema:
            exprs.append(pl.col("filter").cast(pl.String))
        answer = schema["filtered_resps"]
        if isinstance(answer, pl.List) and answer.inner == pl.String:
            exprs.append(pl.col("filtered_resps"))
            columns["answer_col"] = "filtered_resps"
        note = f"{self.label}: read as {self.tool}: reward {metrics[0]!r} per document (n = 1 per document"
        note += ", one group per filter)" if by else ")"
        return exprs, Defaults(tool=self.tool, columns=columns, by=by, rewards=tuple(metrics[1:]), note=note)
