"""lighteval details (``--save-details``: ``details/<model>/<date>/details_<task>_<date>.parquet``).

Written by ``EvaluationTracker.save`` (``lighteval/logging/evaluation_tracker.py``, lighteval
0.13.0): a ``datasets`` table of ``asdict(Detail)`` per document, columns sorted::

    doc            struct: query, choices, gold_index, …, id, task_name, num_samples, …
    metric         struct: one field per metric, e.g. "pass@k:k=1&n=16", "avg@n:n=16", "extractive_match"
    model_response struct: text (list of the n generations), …

lighteval keeps one value per document and metric, not one per generation. Read, per document
(a row: the problem is ``doc.id``, or ``doc.query`` where the id is empty): the count of correct
generations from a metric that is their mean — ``pass@k`` with ``k=1`` (lighteval's estimator
gives c/n there) or ``avg@n`` (the mean score), c = value × n with n from the metric's name
(the largest n first) — else a single-generation metric (``extractive_match``, ``em``, ``acc``,
…) as c out of n = 1. So the file gives (n, c) per document: pass@k and pass^k, not max@k, and
no answers for maj@k.
"""

from __future__ import annotations

import re

import polars as pl

from .base import Defaults, TablePreset

__all__ = ["LightevalDetails"]

#: Metrics scored on one generation per document.
SINGLE = ("extractive_match", "em", "exact_match", "acc", "qem", "pem", "pqem", "quasi_exact_match")

_MEAN = re.compile(r"(pass@k|avg@n):(?P<params>.*)")


def _mean_metric(name: str) -> int | None:
    """n of a metric that is the mean correctness of n generations (``pass@k:k=1&n=16`` → 16)."""
    m = _MEAN.fullmatch(name)
    if not m:
        return None
    params = dict(p.split("=", 1) for p in m["params"].split("&") if "=" in p)
    if name.startswith("pass@k") and params.get("k") != "1":
        return None
    try:
        n = int(params.get("n", ""))
    except ValueError:
        return None
    return n if n >= 1 else None


class LightevalDetails(TablePreset):
    name = "lighteval"
    tool = "lighteval details"
    reads = (
        "doc.id (else doc.query), metric.<pass@k:k=1&n=N | avg@n:n=N> × N as c of n = N, else a 0/1 metric with n = 1"
    )

    @classmethod
    def claims(cls, schema: pl.Schema) -> bool:
        return all(isinstance(schema.get(c), pl.Struct) for c in ("doc", "metric", "model_response"))

    def view(self, schema: pl.Schema, lf: pl.LazyFrame) -> tuple[list[pl.Expr], Defaults]:
        metric = schema["metric"]
        doc = schema["doc"]
        assert isinstance(metric, pl.Struct) and isinstance(doc, pl.Struct)
        fields = [f.name for f in metric.fields if f.dtype.is_numeric() or f.dtype == pl.Boolean]
        means = sorted(((n, f) for f in fields if (n := _mean_metric(f)) is not None), key=lambda t: -t[0])
        singles = [f for f in SINGLE if f in fields]
        if means:
            n, name = means[0]
            value = pl.col("metric").struct.field(name).cast(pl.Float64) * n
            # lighteval's pass@1 is 1 − Π(1 − 1/j): c/n up to rounding; a value more than 1e-6
            # from a whole count stays as it is, and the count check names it
            c = pl.when((value - value.round()).abs() <= 1e-6).then(value.round()).otherwise(value)
            what = f"c = {name!r} × {n} per document"
        elif singles:
            n, name = 1, singles[0]
            c = pl.col("metric").struct.field(name).cast(pl.Float64)
            what = f"c = {name!r} of n = 1 per document"
        else:
            raise self.fail(
                "no metric that counts correct generations (pass@k with k=1, avg@n, or one of "
                f"{', '.join(SINGLE[:4])}, …); metrics are {', '.join(fields) or 'none'}"
            )
        ids = [f.name for f in doc.fields]
        query = pl.col("doc").struct.field("query").cast(pl.String) if "query" in ids else pl.lit(None, pl.String)
        ident = pl.col("doc").struct.field("id").cast(pl.String) if "id" in ids else pl.lit(None, pl.String)
        problem = pl.when(ident.is_not_null() & (ident != "")).then(ident).otherwise(query)
        exprs = [problem.alias("problem_id"), c.alias("c"), pl.lit(n, pl.Int64).alias("n")]
        note = f"{self.label}: read as {self.tool}: {what}"
        return exprs, Defaults(tool=self.tool, columns={"id_col": "problem_id", "c_col": "c", "n_col": "n"}, note=note)
