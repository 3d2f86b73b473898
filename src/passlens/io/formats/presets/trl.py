"""TRL completion logs (``GRPOConfig(log_completions=True)``: ``<output_dir>/completions/completions_<step>.parquet``).

Written by ``GRPOTrainer.log`` (``trl/trainer/grpo_trainer.py``, trl 1.16.0) from a pandas frame::

    step | prompt | completion | <one column per reward function> | <extra logged columns> | advantage

with the last generation batch (``generation_batch_size`` completions: ``num_generations`` per
prompt). ``prompt`` is text, or a conversation (a list of ``{role, content}`` messages). Read:
``prompt`` (the problem: its text, or its messages joined), ``step`` (the group column), and
the reward functions' columns: the reward is the one whose name says accuracy or correctness
(``accuracy_reward``, ``correctness_reward_func`` …), else the first; the others are offered
with ``--reward-col``. Gives n = ``num_generations`` per prompt; no answers.
"""

from __future__ import annotations

import polars as pl

from .base import Defaults, TablePreset

__all__ = ["TrlCompletions"]

_NOT_REWARDS = {"step", "advantage"}


class TrlCompletions(TablePreset):
    name = "trl"
    tool = "TRL completions log"
    reads = "prompt (the problem), step, the reward-function columns (accuracy/correctness first)"

    @classmethod
    def claims(cls, schema: pl.Schema) -> bool:
        return {"step", "prompt", "completion", "advantage"} <= set(schema.names())

    def view(self, schema: pl.Schema, lf: pl.LazyFrame) -> tuple[list[pl.Expr], Defaults]:
        rewards = [c for c, t in schema.items() if c not in _NOT_REWARDS and (t.is_numeric() or t == pl.Boolean)]
        if not rewards:
            raise self.fail("no reward-function column (numbers beside step, prompt, completion, advantage)")
        rewards.sort(key=lambda c: not any(w in c.lower() for w in ("accuracy", "correct")))
        prompt = schema["prompt"]
        if prompt == pl.String:
            ident = pl.col("prompt")
        elif isinstance(prompt, pl.List) and isinstance(prompt.inner, pl.Struct):
            # a conversation: its messages as JSON, one per line (the same prompt gives the same text)
            ident = pl.col("prompt").list.eval(pl.element().struct.json_encode()).list.join("\n")
        else:
            raise self.fail(f"column 'prompt' holds {prompt} values; expected text or a list of messages")
        exprs = [ident.alias("prompt"), pl.col("step"), *(pl.col(c) for c in rewards)]
        note = f"{self.label}: read as {self.tool}: problem = the prompt, reward {rewards[0]!r}"
        return exprs, Defaults(
            tool=self.tool,
            columns={"id_col": "prompt", "reward_col": rewards[0]},
            rewards=tuple(rewards[1:]),
            note=note,
        )
