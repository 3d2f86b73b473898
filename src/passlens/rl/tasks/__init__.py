"""Tasks with verifiable rewards: problem generators, prompts, verifiers, answer classes.

A :class:`Task` is everything the RL loop needs to know about a problem family:

* ``problems(split, count, seed)`` — seeded problems; the ``"train"`` and ``"test"``
  splits are disjoint by construction (a stable hash of the problem's key decides its
  split, so no seed or count can make them overlap);
* ``prompt(problem)`` — the text the policy sees;
* ``verify(problem, answer)`` — reward in [0, 1], computed by *parsing* the answer
  (never ``eval``);
* ``answer_class(problem, answer)`` — a canonical form of a correct answer (None
  when incorrect), so distinct solutions can be counted;
* ``references(problem)`` — some correct answers (for the supervised warm start);
  ``corrupt(problem, answer, rng)`` — a plausible wrong answer (warm-start noise).

A new task is a subclass implementing ``_make(rng)`` (one random problem),
``prompt``, ``verify``, ``answer_class`` and ``references`` (~30 lines), then
``register(MyTask)``. Prompts and answers must use the characters of
:data:`passlens.rl.tokenizer.ALPHABET`.
"""

from __future__ import annotations

import abc
import dataclasses
import hashlib
import random
from typing import Any, ClassVar, Mapping

__all__ = ["Problem", "Task", "TASKS", "register", "make_task", "stable_hash", "answer_id"]


@dataclasses.dataclass(frozen=True)
class Problem:
    """One problem instance.

    Attributes:
      id: stable string id (unique within a task and difficulty).
      data: task-specific payload (plain JSON-ready values).
    """

    id: str
    data: Mapping[str, Any]


def stable_hash(text: str) -> int:
    """A process-independent 56-bit hash of ``text`` (blake2b; Python's ``hash`` is salted)."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=7).digest(), "big")


def answer_id(text: str) -> int:
    """Integer answer-class id of an answer string (stable across runs), for ``passlens.advantages``."""
    return stable_hash("answer:" + text)


class Task(abc.ABC):
    """A family of problems with a verifier. Subclasses set ``name`` and implement the abstract methods.

    Args:
      difficulty: task-specific knob (larger = harder); ``None`` uses ``default_difficulty``.
      test_fraction: share of the problem space (by key hash) reserved for the ``"test"`` split.
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    default_difficulty: ClassVar[int] = 1
    max_answer_len: ClassVar[int] = 16

    def __init__(self, difficulty: int | None = None, test_fraction: float = 0.2) -> None:
        d = self.default_difficulty if difficulty is None else difficulty
        if isinstance(d, bool) or not isinstance(d, int) or d < 1:
            raise ValueError(f"{self.name}: difficulty must be an int ≥ 1, got {difficulty!r}")
        if not 0.0 < test_fraction < 1.0:
            raise ValueError(f"{self.name}: test_fraction must be in (0, 1), got {test_fraction!r}")
        self.difficulty = d
        self.test_fraction = float(test_fraction)

    # -- to implement -------------------------------------------------------------
    @abc.abstractmethod
    def _make(self, rng: random.Random) -> Problem | None:
        """One random problem (its ``id`` is its key), or None to skip this draw."""

    @abc.abstractmethod
    def prompt(self, problem: Problem) -> str:
        """The prompt text."""

    @abc.abstractmethod
    def verify(self, problem: Problem, answer: str) -> float:
        """Reward in [0, 1] of the completion text ``answer`` (parsed, never evaluated as code)."""

    @abc.abstractmethod
    def answer_class(self, problem: Problem, answer: str) -> str | None:
        """Canonical class of a correct answer (equal for equivalent solutions); None if incorrect."""

    @abc.abstractmethod
    def references(self, problem: Problem) -> list[str]:
        """Correct answers (one per class; a sample of them when there are many)."""

    def corrupt(self, problem: Problem, answer: str, rng: random.Random) -> str:
        """A wrong-looking variant of ``answer`` (default: one character replaced or dropped)."""
        if not answer:
            return answer
        i = rng.randrange(len(answer))
        if answer[i].isdigit():
            return answer[:i] + str((int(answer[i]) + rng.randrange(1, 10)) % 10) + answer[i + 1 :]
        return answer[:i] + answer[i + 1 :]

    # -- provided -----------------------------------------------------------------
    def split_of(self, problem_id: str) -> str:
        """``"test"`` or ``"train"``, decided by a stable hash of the id (disjoint splits)."""
        u = stable_hash(f"{self.name}:{self.difficulty}:{problem_id}") / float(1 << 56)
        return "test" if u < self.test_fraction else "train"

    def problems(self, split: str, count: int, seed: int = 0) -> list[Problem]:
        """``count`` distinct problems of ``split`` ("train" or "test"), reproducible from ``seed``.

        Raises:
          ValueError: bad split or count, or the problem space is too small for ``count``.
        """
        if split not in ("train", "test"):
            raise ValueError(f"{self.name}: split must be 'train' or 'test', got {split!r}")
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValueError(f"{self.name}: count must be an int ≥ 1, got {count!r}")
        rng = random.Random(stable_hash(f"{self.name}:{split}:{seed}"))
        out: dict[str, Problem] = {}
        tries = 0
        while len(out) < count:
            tries += 1
            if tries > 200 * count + 10_000:
                raise ValueError(
                    f"{self.name}: found only {len(out)} distinct {split} problems of {count} asked "
                    f"at difficulty {self.difficulty}; ask for fewer or raise the difficulty"
                )
            p = self._make(rng)
            if p is None or p.id in out or self.split_of(p.id) != split:
                continue
            out[p.id] = p
        return list(out.values())

    def to_config(self) -> dict[str, Any]:
        """JSON-ready constructor arguments (with ``name``)."""
        return {"name": self.name, "difficulty": self.difficulty, "test_fraction": self.test_fraction}


#: name → Task subclass.
TASKS: dict[str, type[Task]] = {}


def register(cls: type[Task]) -> type[Task]:
    """Add a Task subclass to :data:`TASKS` under ``cls.name`` (usable as a decorator)."""
    if not cls.name:
        raise ValueError(f"{cls.__name__}: set the class attribute name before registering")
    TASKS[cls.name] = cls
    return cls


def make_task(name: str, difficulty: int | None = None, **kwargs: Any) -> Task:
    """Instantiate a registered task; ValueError listing the valid names on an unknown one."""
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; valid tasks: {', '.join(sorted(TASKS))}")
    return TASKS[name](difficulty=difficulty, **kwargs)


def _register_builtin() -> None:
    from .addition import Addition
    from .countdown import Countdown
    from .graph_path import GraphPath

    for cls in (Addition, Countdown, GraphPath):
        register(cls)


_register_builtin()
