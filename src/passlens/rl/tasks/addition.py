"""Multi-digit addition: a single-answer task (one answer class per problem)."""

from __future__ import annotations

import random

from . import Problem, Task

__all__ = ["Addition"]

MAX_DIGITS = 24


class Addition(Task):
    """``a+b=`` with a, b of ``difficulty`` digits (default 2); the answer is the decimal sum.

    The verifier accepts only an optionally whitespace-padded run of ASCII digits (leading zeros
    allowed), at most ``max(24, max_answer_len)`` of them so that every sum is accepted at any
    difficulty; anything else (signs, expressions, code) scores 0.
    """

    name = "addition"
    description = "a+b= with difficulty-digit operands; single answer"
    default_difficulty = 2

    @property
    def max_answer_len(self) -> int:  # type: ignore[override]  # per-instance value of the class default
        return self.difficulty + 2

    def _make(self, rng: random.Random) -> Problem:
        lo, hi = 10 ** (self.difficulty - 1) if self.difficulty > 1 else 0, 10**self.difficulty - 1
        a, b = rng.randint(lo, hi), rng.randint(lo, hi)
        return Problem(f"{a}+{b}", {"a": a, "b": b})

    def prompt(self, problem: Problem) -> str:
        return f"{problem.data['a']}+{problem.data['b']}="

    def _parse(self, answer: str) -> int | None:
        text = answer.strip()
        # ASCII digits only (isdigit alone would admit other scripts); a length cap before int()
        if not (len(text) <= max(MAX_DIGITS, self.max_answer_len) and text.isascii() and text.isdigit()):
            return None
        return int(text)

    def verify(self, problem: Problem, answer: str) -> float:
        return 1.0 if self._parse(answer) == problem.data["a"] + problem.data["b"] else 0.0

    def answer_class(self, problem: Problem, answer: str) -> str | None:
        v = self._parse(answer)
        return str(v) if v is not None and v == problem.data["a"] + problem.data["b"] else None

    def references(self, problem: Problem) -> list[str]:
        return [str(problem.data["a"] + problem.data["b"])]
