"""HELM ``per_instance_stats.json`` (one per run directory, ``helm-run``).

A list of ``PerInstanceStats`` (``helm/benchmark/metrics/metric.py``, crfm-helm 0.5.16), written
by ``helm/benchmark/runner.py`` with ``asdict_without_nones``::

    [{"instance_id": "id123", "train_trial_index": 0,
      "stats": [{"name": {"name": "exact_match", "split": "test"}, "count": 1, "sum": 1.0,
                 "sum_squared": 1.0, "min": 1.0, "max": 1.0, "mean": 1.0, ...}, ...]},
     {"instance_id": "id123", "perturbation": {"name": "typos", ...}, ...}, ...]

Read: the unperturbed entries (no ``perturbation``; perturbed ones are counted in a note),
``instance_id`` as the problem, ``train_trial_index`` as the sample id, and every correctness
statistic HELM computes per instance (:data:`CORRECTNESS`, e.g. ``exact_match``,
``quasi_exact_match``, ``math_equiv_chain_of_thought``) as a reward column (its ``sum / count``).
The reward is the first of them the file holds; the others are offered with ``--reward-col``.

What it gives: HELM scores the *first* completion of each request (``exact_match``) and keeps
best-of-N only as ``exact_match@N``; the per-completion verdicts are not stored. So n per
instance = the number of train trials (usually 1), whatever ``num_outputs`` was.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .base import Defaults, DocumentPreset, JsonPath, PresetError

__all__ = ["Helm", "CORRECTNESS"]

#: HELM's per-instance correctness statistics (``evaluate_reference_metrics.py``), most common first.
CORRECTNESS = (
    "exact_match",
    "quasi_exact_match",
    "prefix_exact_match",
    "quasi_prefix_exact_match",
    "final_number_exact_match",
    "math_equiv",
    "math_equiv_chain_of_thought",
    "exact_match_indicator",
    "exact_set_match",
    "quasi_leave_articles_exact_match",
    "code_eval_acc",
    "cleva_math_result_match",
)


class Helm(DocumentPreset):
    name = "helm"
    tool = "HELM per_instance_stats.json"
    reads = (
        "[i].instance_id, .train_trial_index (sample id), .stats[j] named exact_match, quasi_exact_match, … "
        "(sum/count); unperturbed entries; n = train trials"
    )

    def __init__(self, label: str) -> None:
        super().__init__(label)
        self.found: list[str] = []
        self.perturbed = 0

    @classmethod
    def claims(cls, doc: Any) -> bool:
        return (
            isinstance(doc, list)
            and bool(doc)
            and isinstance(doc[0], dict)
            and {"instance_id", "stats"} <= doc[0].keys()
            and isinstance(doc[0]["stats"], list)
        )

    def records(self, doc: Any) -> Iterator[tuple[JsonPath, dict[str, Any]]]:
        present: set[str] = set()
        rows: list[tuple[JsonPath, dict[str, Any]]] = []
        for i, entry in enumerate(doc):
            if not isinstance(entry, dict) or not isinstance(entry.get("stats"), list):
                raise PresetError((i,), "expected an instance record with a list of stats")
            if entry.get("perturbation"):
                self.perturbed += 1
                continue
            rec: dict[str, Any] = {
                "instance_id": entry.get("instance_id"),
                "train_trial_index": entry.get("train_trial_index", 0),
            }
            for j, stat in enumerate(entry["stats"]):
                name = (stat.get("name") or {}).get("name") if isinstance(stat, dict) else None
                if name not in CORRECTNESS or (stat.get("name") or {}).get("perturbation"):
                    continue
                count, total = stat.get("count"), stat.get("sum")
                if (
                    not isinstance(count, int)
                    or isinstance(count, bool)
                    or count < 1
                    or not isinstance(total, (int, float))
                ):
                    raise PresetError(
                        (i, "stats", j), f"stat {name!r}: count {count!r} and sum {total!r} give no value"
                    )
                rec[name] = total / count
                present.add(name)
            rows.append(((i,), rec))
        self.found = [n for n in CORRECTNESS if n in present]
        if not self.found:
            expected = ", ".join(CORRECTNESS[:4])
            raise self.fail(f"no correctness statistic in the unperturbed instances (expected one of {expected}, …)")
        yield from rows

    def defaults(self) -> Defaults:
        note = f"{self.label}: read as {self.tool}: reward {self.found[0]!r} (the first completion of each request)"
        if self.perturbed:
            note += f"; {self.perturbed} perturbed instance(s) left out"
        return Defaults(
            tool=self.tool,
            columns={"id_col": "instance_id", "reward_col": self.found[0], "sample_col": "train_trial_index"},
            rewards=tuple(self.found[1:]),
            note=note,
        )
