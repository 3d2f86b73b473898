"""A real RLVR loop on CPU (or GPU when present): tasks with verifiers, a small transformer,
a KV-cache sampler, a policy-gradient trainer using ``passlens.advantages``, evals as rows.

torch is needed (the ``rl`` extra) but is imported only when a torch-using name is accessed;
``passlens.rl.tasks`` and ``passlens.rl.tokenizer`` are pure Python.

Public names: :class:`Task`, :data:`TASKS`, :func:`make_task`, :class:`CharTokenizer`,
:class:`ModelConfig`, :class:`GPT`, :func:`sample`, :class:`Samples`, :func:`sequence_logprobs`,
:class:`WarmStartConfig`, :func:`warm_start`, :class:`TrainConfig`, :class:`Trainer`,
:func:`load_checkpoint`.
"""

from __future__ import annotations

import importlib
from typing import Any

from .tasks import TASKS, Problem, Task, make_task, register
from .tokenizer import CharTokenizer

__all__ = [
    "Task", "Problem", "TASKS", "make_task", "register", "CharTokenizer",
    "ModelConfig", "GPT", "sample", "Samples", "sequence_logprobs",
    "WarmStartConfig", "warm_start", "TrainConfig", "Trainer", "load_checkpoint",
]

_LAZY = {
    "ModelConfig": "model", "GPT": "model",
    "sample": "sampler", "Samples": "sampler", "sequence_logprobs": "sampler",
    "WarmStartConfig": "warmstart", "warm_start": "warmstart",
    "TrainConfig": "trainer", "Trainer": "trainer",
    "load_checkpoint": "checkpoint",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
