"""Supervised warm start: a deliberately imperfect, diverse starting policy.

For each training problem a random subset of its reference solutions (1 … ``max_refs``
distinct answer classes) is kept, and with probability ``noise`` a corrupted (usually
wrong) answer is added. A short cross-entropy run on (prompt → answer) pairs then leaves
a spread of per-problem success rates and several correct classes per problem where the
task has them, which is the regime where the pass@k family of objectives differ.
"""

from __future__ import annotations

import dataclasses
import math
import random
from typing import Any, Callable, ClassVar

import torch

from ._fields import Float, Int, check_fields
from .model import GPT
from .sampler import Samples, left_pad, sequence_logprobs
from .tasks import Problem, Task
from .tokenizer import EOS, PAD, CharTokenizer

__all__ = ["WarmStartConfig", "sft_pairs", "warm_start", "sft_batch"]


@dataclasses.dataclass
class WarmStartConfig:
    """Attributes (ranges checked on construction; bool is not an int or a number):
    steps: optimizer steps (few = imperfect policy), an int in [0, 10000000]; 0 skips the warm start.
    batch: pairs per step, an int in [1, 65536].
    lr: AdamW learning rate, a finite number in (0, 1].
    max_refs: at most this many reference classes kept per problem, an int in [1, 1000].
    noise: probability of adding one corrupted answer per problem, in [0, 1].
    """

    steps: int = 300
    batch: int = 64
    lr: float = 1e-3
    max_refs: int = 3
    noise: float = 0.15

    _FIELDS: ClassVar[dict[str, Any]] = {
        "steps": Int(0, 10_000_000), "batch": Int(1, 65536), "lr": Float(0.0, 1.0, lo_open=True),
        "max_refs": Int(1, 1000), "noise": Float(0.0, 1.0),
    }

    def __post_init__(self) -> None:
        self._validate("WarmStartConfig.")

    def _validate(self, where: str) -> None:
        """Check every field; messages name them ``where`` + field (e.g. "warm.steps")."""
        check_fields(self, self._FIELDS, where)


def sft_pairs(task: Task, problems: list[Problem], cfg: WarmStartConfig, rng: random.Random) -> list[tuple[str, str]]:
    """(prompt, answer) pairs: per problem a random subset of references plus optional noise."""
    pairs: list[tuple[str, str]] = []
    for p in problems:
        refs = task.references(p)
        if not refs:
            continue
        keep = rng.sample(refs, rng.randint(1, min(cfg.max_refs, len(refs))))
        if rng.random() < cfg.noise:
            keep.append(task.corrupt(p, rng.choice(refs), rng))
        pairs.extend((task.prompt(p), a) for a in keep)
    if not pairs:
        raise ValueError(f"{task.name}: no reference solutions for the warm start")
    return pairs


def sft_batch(tok: CharTokenizer, pairs: list[tuple[str, str]], device: torch.device | str) -> Samples:
    """Teacher-forcing batch: prompts left-padded, answers + eos right-padded."""
    ptok, pvalid = left_pad([tok.encode(q) for q, _ in pairs], device)  # (B, Tp)
    answers = [tok.encode(a, bos=False) + [EOS] for _, a in pairs]
    M = max(len(a) for a in answers)
    atok = torch.full((len(pairs), M), PAD, dtype=torch.long)
    amask = torch.zeros((len(pairs), M), dtype=torch.bool)
    for i, a in enumerate(answers):
        atok[i, : len(a)] = torch.as_tensor(a)
        amask[i, : len(a)] = True
    return Samples(ptok, pvalid, atok.to(device), amask.to(device), torch.zeros(atok.shape, device=device), 1)


def warm_start(
    model: GPT,
    task: Task,
    problems: list[Problem],
    cfg: WarmStartConfig,
    *,
    seed: int = 0,
    tokenizer: CharTokenizer | None = None,
    on_step: Callable[[int, float], None] | None = None,
) -> list[float]:
    """Train ``model`` in place by cross-entropy on :func:`sft_pairs`; returns the loss per step."""
    tok = tokenizer or CharTokenizer()
    rng = random.Random(seed)
    pairs = sft_pairs(task, problems, cfg, rng)
    device = model.lm_head.weight.device
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=0.0)
    model.train()
    losses = []
    for step in range(cfg.steps):
        batch = sft_batch(tok, [pairs[rng.randrange(len(pairs))] for _ in range(cfg.batch)], device)
        lp, _ = sequence_logprobs(model, batch)  # (B, M)
        loss = -lp.sum() / batch.mask.sum()  # mean token cross-entropy
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gnorm = float(torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0))
        if not math.isfinite(gnorm):  # stop before a non-finite update poisons the weights
            raise ValueError(f"warm start step {step + 1}: the gradient is not finite; training diverged "
                             f"(lower warm.lr, now {cfg.lr:g})")
        opt.step()
        losses.append(float(loss.detach()))
        if on_step is not None:
            on_step(step, losses[-1])
    return losses
