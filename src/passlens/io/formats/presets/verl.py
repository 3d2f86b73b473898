"""verl generation dumps: ``trainer.validation_data_dir`` (and ``trainer.rollout_data_dir``), ``<step>.jsonl``.

Written by ``RayPPOTrainer._write_generations`` (``verl/trainer/ppo/ray_trainer.py``, verl 0.9.1),
one line per generated sample::

    {"input": "<prompt text>", "output": "<response text>", "gts": "<ground truth>",
     "score": 1.0, "step": 40, "reward": 1.0, "acc": true, "pred": "42", ...}

plus every ``reward_extra_info`` key the reward function returned (``acc``, ``pred``, …). The
validation batch repeats each prompt ``val_kwargs.n`` times. Read: ``input`` (the prompt text is
the problem id), ``step`` (the group column: one file per step), the correctness — ``acc`` where
the reward function returns it (math_dapo and the like: ``score`` is then ±1), else ``score`` —
with the other numeric fields offered with ``--reward-col``, and ``pred`` as the answer where
present. Gives n = ``val_kwargs.n`` per prompt.
"""

from __future__ import annotations

import polars as pl

from .base import Defaults, TablePreset

__all__ = ["VerlDump"]

_TEXT = {"input", "output", "gts", "step", "pred", "request_id", "uid"}


class VerlDump(TablePreset):
    name = "verl"
    tool = "verl generation dump"
    reads = "input (the problem: the prompt text), step, acc (else score) as the reward, pred as the answer"

    @classmethod
    def claims(cls, schema: pl.Schema) -> bool:
        return {"input", "output", "gts", "score", "step"} <= set(schema.names())

    def view(self, schema: pl.Schema, lf: pl.LazyFrame) -> tuple[list[pl.Expr], Defaults]:
        numeric = [c for c, t in schema.items() if c not in _TEXT and (t.is_numeric() or t == pl.Boolean)]
        reward = "acc" if "acc" in schema else "score"  # (by name: a bad value in acc is an error, not a switch)
        others = tuple(c for c in numeric if c != reward)
        exprs = [pl.col("input").cast(pl.String), pl.col("step"), *(pl.col(c) for c in (reward, *others))]
        columns = {"id_col": "input", "reward_col": reward}
        if "pred" in schema and schema["pred"] == pl.String:
            exprs.append(pl.col("pred"))
            columns["answer_col"] = "pred"
        note = f"{self.label}: read as {self.tool}: problem = the prompt text (input), reward {reward!r}"
        return exprs, Defaults(tool=self.tool, columns=columns, rewards=others, note=note)
