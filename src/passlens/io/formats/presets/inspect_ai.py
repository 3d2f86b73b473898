"""Inspect AI eval logs in JSON (``inspect eval … --log-format json``, or ``inspect log convert --to json``).

An ``EvalLog`` (``inspect_ai/log/_log.py``, inspect-ai 0.3.285) dumped as JSON::

    {"version": 2, "status": "success", "eval": {"task": "...", "model": "...", ...},
     "results": {"scores": [{"name": "match", "scorer": "match", ...}, ...]},
     "samples": [{"id": "q1", "epoch": 1, "scores": {"match": {"value": "C", "answer": "2"}}, ...}, ...]}

Every sample is run once per epoch: the samples × epochs of one sample id are its n samples. Read:
``samples[i].id`` (the problem), ``.epoch`` (the sample id) and each scorer's
``scores[<scorer>].value`` as a reward column named after the scorer, converted as Inspect's
``value_to_float`` does: ``"C"`` → 1, ``"I"`` and ``"N"`` → 0, ``"P"`` → 0.5, ``yes`` / ``true`` →
1, ``no`` / ``false`` → 0, numbers (and numeric text) as they are; any other value is an error
naming the sample (Inspect would read it as 0 with a warning). A sample counts as correct at
1, as in Inspect's ``pass_at`` (threshold 1.0); partial credit makes the rewards non-binary
(``--threshold`` then decides). The reward is the first scorer of ``results.scores`` (the
others are offered with ``--reward-col``); its ``answer`` is the answer column (maj@k).
Scorers with list or dict values are not read (a note says so); samples that have no scores
(an error stopped them) are left out, and a note counts them.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from .base import Defaults, DocumentPreset, JsonPath, PresetError

__all__ = ["InspectLog"]

_SENTINELS = {"C": 1.0, "P": 0.5, "I": 0.0, "N": 0.0}
_WORDS = {"yes": 1.0, "true": 1.0, "no": 0.0, "false": 0.0}


def value_to_float(value: Any) -> float | None:
    """Inspect's default ``value_to_float`` for a scalar score; ``None`` for a value it would only
    warn about (and read as 0): a string that is no verdict and no number, or null."""
    if isinstance(value, str) and value in _SENTINELS:
        return _SENTINELS[value]
    if isinstance(value, (bool, int, float)):
        return float(value)
    if isinstance(value, str):
        low = value.lower()
        if low in _WORDS:
            return _WORDS[low]
        try:
            x = float(value)
        except ValueError:
            return None
        return x if math.isfinite(x) else None
    return None


class InspectLog(DocumentPreset):
    name = "inspect_ai"
    tool = "Inspect AI eval log"
    reads = (
        "samples[i].id, .epoch (sample id), .scores.<scorer>.value (C/I/P/N, yes/no, numbers) and "
        ".answer; n = epochs per sample"
    )

    def __init__(self, label: str) -> None:
        super().__init__(label)
        self.scorers: list[str] = []
        self.skipped_scorers: list[str] = []
        self.unscored = 0

    @classmethod
    def claims(cls, doc: Any) -> bool:
        return (
            isinstance(doc, dict)
            and isinstance(doc.get("eval"), dict)
            and "task" in doc["eval"]
            and "version" in doc
            and "status" in doc
        )

    def records(self, doc: Any) -> Iterator[tuple[JsonPath, dict[str, Any]]]:
        samples = doc.get("samples")
        if not isinstance(samples, list) or not samples:
            status = doc.get("status")
            raise self.fail(
                f"the log holds no samples (status {status!r}); passlens reads per-sample scores: "
                "write the log with samples (do not pass --no-log-samples)"
            )
        self.scorers = self._scorers(doc, samples)
        first = self.scorers[0] if self.scorers else None
        for i, sample in enumerate(samples):
            at: JsonPath = ("samples", i)
            if not isinstance(sample, dict):
                raise PresetError(at, "expected a sample record (a JSON object)")
            scores = sample.get("scores")
            if not scores:
                self.unscored += 1
                continue
            rec: dict[str, Any] = {"id": sample.get("id"), "epoch": sample.get("epoch")}
            for name in self.scorers:
                score = scores.get(name)
                if not isinstance(score, dict):
                    raise PresetError((*at, "scores"), f"no score from scorer {name!r}")
                raw = score.get("value")
                value = value_to_float(raw)
                # a string that is no verdict and no number stays as it is: the reward check names it
                rec[name] = raw if value is None else value
                if name == first:
                    rec["answer"] = score.get("answer")
            yield at, rec

    def _scorers(self, doc: Any, samples: list[Any]) -> list[str]:
        """Scorer names in the order of ``results.scores`` (else of the first scored sample), those
        with scalar values only."""
        names: list[str] = []
        results = doc.get("results")
        for entry in (results or {}).get("scores", []) if isinstance(results, dict) else []:
            if isinstance(entry, dict) and isinstance(entry.get("name"), str) and entry["name"] not in names:
                names.append(entry["name"])
        seen: dict[str, Any] = next((s["scores"] for s in samples if isinstance(s, dict) and s.get("scores")), {})
        names = [n for n in names if n in seen] + [n for n in seen if n not in names]
        keep = []
        for n in names:
            values = [
                s["scores"][n].get("value") for s in samples if isinstance(s, dict) and (s.get("scores") or {}).get(n)
            ]
            if all(not isinstance(v, (list, dict)) for v in values):
                keep.append(n)
            else:
                self.skipped_scorers.append(n)
        if not keep:
            raise self.fail(
                "no scorer with one value per sample (list or dict values: "
                f"{', '.join(self.skipped_scorers) or 'none'}); passlens reads scalar scores"
            )
        return keep

    def defaults(self) -> Defaults:
        reward = self.scorers[0]
        note = f"{self.label}: read as {self.tool}: reward = scorer {reward!r} (C = 1, P = 0.5, I/N = 0)"
        if self.unscored:
            note += f"; {self.unscored} sample(s) without scores (stopped by an error) left out"
        if self.skipped_scorers:
            note += f"; scorer(s) with list or dict values not read: {', '.join(self.skipped_scorers)}"
        return Defaults(
            tool=self.tool,
            columns={"id_col": "id", "reward_col": reward, "sample_col": "epoch", "answer_col": "answer"},
            rewards=tuple(self.scorers[1:]),
            note=note,
        )
