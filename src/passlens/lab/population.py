"""Problem populations for the collapse lab: P problems, M answer classes each, some correct.

A population fixes, per problem x, the 0/1 verifier mask V(x, a) over M answer
classes (a canonical form of each final answer) and the initial logits z₀(x, a)
of a softmax policy π₀(a | x) = softmax(z₀(x, ·))_a. The success probability of
problem x is p_x = J_1(x) = Σ_a π(a | x) V(x, a) (Yu 2025, arXiv 2511.16231, §2).

Two constructors:

* :func:`make_population` — seeded synthetic populations with a realistic spread
  of difficulty (a share of nearly unsolvable problems, many in between, some
  nearly solved) and uneven mass among the correct answers;
* :func:`population_from_counts` — a population whose initial p_x equals a real
  model's p̂_x = c_x / n_x (e.g. the bundled DeepScaleR counts), so the lab can
  start from a measured difficulty profile.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from .._validate import as_counts, problem_label

__all__ = ["Population", "make_population", "population_from_counts", "read_counts"]


@dataclass(frozen=True)
class Population:
    """P problems with M answer classes each.

    Attributes:
      logits: float64 (P, M), initial logits z₀(x, a).
      correct: bool (P, M), V(x, a); every problem has at least one correct and, unless
        all M are correct, one incorrect answer.
      ids: object (P,) problem ids (str).
      source: a short description of how it was made (goes into run configs).
    """

    logits: np.ndarray
    correct: np.ndarray
    ids: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=object))
    source: str = ""

    def __post_init__(self) -> None:
        z = np.asarray(self.logits, dtype=np.float64)
        v = np.asarray(self.correct)
        if z.ndim != 2 or z.shape[0] < 1 or z.shape[1] < 2:
            raise ValueError(f"Population: logits must have shape (P, M) with P ≥ 1, M ≥ 2, got {z.shape}")
        if v.shape != z.shape:
            raise ValueError(f"Population: correct must have the logits' shape {z.shape}, got {v.shape}")
        if v.dtype != bool:
            if not np.isin(v, (0, 1)).all():
                raise ValueError("Population: correct must be boolean or 0/1")
            v = v.astype(bool)
        bad = ~np.isfinite(z).all(axis=1)
        if bad.any():
            raise ValueError(f"Population: logits of {problem_label(int(np.flatnonzero(bad)[0]), None)} are not finite")
        none = ~v.any(axis=1)
        if none.any():
            i = int(np.flatnonzero(none)[0])
            raise ValueError(
                f"Population: {problem_label(i, None)} has no correct answer among its {z.shape[1]} classes"
                f" ({int(none.sum())} such problem(s)); nothing could ever be learned there"
            )
        ids = np.asarray(self.ids, dtype=object)
        if ids.size == 0:
            ids = np.array([f"x{i}" for i in range(z.shape[0])], dtype=object)
        if ids.shape != (z.shape[0],):
            raise ValueError(f"Population: ids must have shape ({z.shape[0]},), got {ids.shape}")
        object.__setattr__(self, "logits", z)
        object.__setattr__(self, "correct", v)
        object.__setattr__(self, "ids", ids)

    @property
    def P(self) -> int:
        """Number of problems."""
        return int(self.logits.shape[0])

    @property
    def M(self) -> int:
        """Answer classes per problem."""
        return int(self.logits.shape[1])

    def success(self) -> np.ndarray:
        """Initial p_x = Σ_a π₀(a|x) V(x, a), float64 (P,)."""
        z = self.logits - self.logits.max(axis=1, keepdims=True)  # max-shift: no overflow in exp
        w = np.exp(z)
        return (w * self.correct).sum(axis=1) / w.sum(axis=1)

    def describe(self) -> dict[str, object]:
        """Summary for configs and logs: sizes, difficulty quantiles, correct answers per problem."""
        p = self.success()
        q = np.quantile(p, [0.1, 0.5, 0.9])
        return {
            "source": self.source,
            "problems": self.P,
            "answers": self.M,
            "correct_per_problem_mean": float(self.correct.sum(axis=1).mean()),
            "pass@1": float(p.mean()),
            "p_q10_q50_q90": [float(v) for v in q],
            "frac_p_below_0.01": float((p < 0.01).mean()),
            "frac_p_above_0.99": float((p > 0.99).mean()),
        }


def _check_correct_range(M: int, n_correct: tuple[int, int]) -> tuple[int, int]:
    if M < 2:
        raise ValueError(f"answers M must be ≥ 2, got {M}")
    lo, hi = (int(v) for v in n_correct)
    if lo < 1 or hi < 1:
        raise ValueError(
            f"correct answers per problem must be ≥ 1, got range ({lo}, {hi}); a problem without a correct"
            " answer can never be solved"
        )
    if lo > hi:
        raise ValueError(f"correct answers per problem: min {lo} > max {hi}")
    if hi > M:
        raise ValueError(f"impossible population: {hi} correct answers requested but only M={M} answer classes")
    return lo, hi


def _place(
    p_target: np.ndarray, M: int, n_correct: tuple[int, int], spread: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Logits (P, M) and mask (P, M) whose softmax puts mass p_target on the correct classes.

    Within-class logits are N(0, spread²) (uneven mass among correct answers and
    among wrong ones); the correct block is then shifted by
    δ = logit(p) − LSE(z_correct) + LSE(z_wrong), so Σ_{a correct} π(a) = p exactly.
    """
    P: int = p_target.shape[0]
    lo, hi = n_correct
    k = rng.integers(lo, hi + 1, size=P)  # (P,) correct classes per problem
    order = np.argsort(rng.random((P, M)), axis=1)  # (P, M) random permutation per row
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(M)[None, :].repeat(P, axis=0), axis=1)
    correct = rank < k[:, None]  # (P, M): a uniformly random subset of size k per problem
    z = spread * rng.standard_normal((P, M))  # (P, M)
    all_correct = correct.all(axis=1)
    if (all_correct & (p_target < 1.0)).any():
        i = int(np.flatnonzero(all_correct & (p_target < 1.0))[0])
        raise ValueError(
            f"impossible population: {problem_label(i, None)} has all M={M} answers correct,"
            f" so its p is 1, not {p_target[i]:.4g}; use more answers or fewer correct ones"
        )
    z_c = np.where(correct, z, -np.inf)  # (P, M) correct block
    z_w = np.where(correct, -np.inf, z)  # (P, M) wrong block
    # log-sum-exp via logaddexp: no overflow/underflow for large spreads.
    lse_c = np.logaddexp.reduce(z_c, axis=1)
    lse_w = np.logaddexp.reduce(z_w, axis=1)
    pt = np.clip(p_target, 1e-300, 1.0)
    # log p − log1p(−p) instead of log(p/(1−p)): keeps the digits when p is within 1e-12 of 0 or 1.
    logit_p = np.where(all_correct, 0.0, np.log(pt) - np.log1p(-np.minimum(pt, 1 - 1e-16)))
    shift = np.where(all_correct, 0.0, logit_p - lse_c + lse_w)  # (P,)
    z = z + np.where(correct, shift[:, None], 0.0)
    return z, correct


def make_population(
    P: int = 2000,
    M: int = 16,
    *,
    seed: int = 0,
    n_correct: tuple[int, int] = (1, 4),
    hard: float = 0.3,
    easy: float = 0.1,
    spread: float = 1.0,
) -> Population:
    """A seeded synthetic population with a realistic difficulty spread.

    Per problem the initial success probability p_x is drawn from a mixture:

        hard   (prob. ``hard``):  log10 p ~ U(−4, −2)          (p ≈ 0: rarely or never sampled)
        easy   (prob. ``easy``):  log10(1 − p) ~ U(−3, −1)     (nearly solved)
        middle (the rest):        p ~ Beta(0.7, 1.3)            (mean 0.35, many in between)

    and the correct answers share p unevenly (log-normal weights, std ``spread``).
    The mixture mimics count tables of real reasoning models, where a share of
    problems is never solved in 128 samples and a share always is (e.g. the
    bundled DeepScaleR base counts); see :func:`population_from_counts` to use
    such a table directly.

    Args:
      P: number of problems ≥ 1.
      M: answer classes per problem ≥ 2.
      seed: RNG seed; the same arguments give the same population.
      n_correct: (min, max) correct classes per problem, 1 ≤ min ≤ max ≤ M
        (max = M only when every problem is meant to be solved with p = 1).
      hard, easy: mixture weights of the hard and easy components, ≥ 0, sum ≤ 1.
      spread: std of the within-group logits, ≥ 0.

    Returns:
      :class:`Population` with logits float64 (P, M) and correct bool (P, M).

    Raises:
      ValueError: P < 1, M < 2, n_correct outside 1..M, bad mixture weights.
    """
    if int(P) < 1:
        raise ValueError(f"problems P must be ≥ 1, got {P}")
    lo, hi = _check_correct_range(int(M), n_correct)
    if hi == M:
        raise ValueError(
            f"impossible population: up to {hi} of M={M} answers correct leaves no wrong answer,"
            " so those problems start solved (p = 1); use more answers"
        )
    if hard < 0 or easy < 0 or hard + easy > 1:
        raise ValueError(f"mixture weights must be ≥ 0 with hard + easy ≤ 1, got hard={hard}, easy={easy}")
    if spread < 0:
        raise ValueError(f"spread must be ≥ 0, got {spread}")
    rng = np.random.default_rng(seed)
    comp = rng.choice(3, size=int(P), p=[hard, easy, 1.0 - hard - easy])  # (P,)
    p = rng.beta(0.7, 1.3, size=int(P))
    p = np.where(comp == 0, 10.0 ** rng.uniform(-4, -2, size=int(P)), p)
    p = np.where(comp == 1, 1.0 - 10.0 ** rng.uniform(-3, -1, size=int(P)), p)
    p = np.clip(p, 1e-6, 1 - 1e-6)  # Beta can return values within an ulp of 0 or 1
    z, v = _place(p, int(M), (lo, hi), float(spread), rng)
    return Population(
        z, v, source=f"synthetic(P={P}, M={M}, seed={seed}, n_correct={lo}-{hi}, hard={hard}, easy={easy}, spread={spread})"
    )


def population_from_counts(
    n: object,
    c: object,
    *,
    M: int = 16,
    seed: int = 0,
    n_correct: tuple[int, int] = (1, 4),
    floor: float | None = None,
    spread: float = 1.0,
    ids: Sequence[object] | np.ndarray | None = None,
) -> Population:
    """A population whose initial success probabilities reproduce a count table.

        p_x = clip(c_x / n_x, f, 1 − f),   f = ``floor`` (default 1 / (2 max n))

    A softmax with finite logits cannot put exactly 0 or 1 on the correct set, so
    problems never (always) solved start at p = f (1 − f): below the resolution of
    the table (half a sample). Everything else reproduces p̂ = c/n to rounding.

    Args:
      n: int array (P,), samples per problem.
      c: int array (P,), correct samples, 0 ≤ c ≤ n.
      M: answer classes per problem ≥ 2.
      seed: RNG seed (correct-set sizes, within-set logits).
      n_correct: (min, max) correct classes, 1 ≤ min ≤ max < M.
      floor: f in (0, 0.5); default 1 / (2 max n).
      spread: std of within-set logits.
      ids: problem ids (P,), for messages and outputs.

    Returns:
      :class:`Population` float64 (P, M) logits, bool (P, M) mask.

    Raises:
      ValueError: bad counts (naming the problem), n_correct impossible for M, bad floor.
    """
    nn, cc = as_counts(n, c, ids)
    lo, hi = _check_correct_range(int(M), n_correct)
    if hi == M:
        raise ValueError(
            f"impossible population: up to {hi} of M={M} answers correct leaves no wrong answer; use more answers"
        )
    f = 1.0 / (2.0 * float(nn.max())) if floor is None else float(floor)
    if not 0.0 < f < 0.5:
        raise ValueError(f"floor must be in (0, 0.5), got {f}")
    p = np.clip(cc / nn, f, 1.0 - f)
    z, v = _place(p, int(M), (lo, hi), float(spread), np.random.default_rng(seed))
    out_ids = np.asarray(ids, dtype=object) if ids is not None else np.empty(0, dtype=object)
    return Population(z, v, ids=out_ids, source=f"counts(P={nn.size}, M={M}, seed={seed}, floor={f:.3g})")


def read_counts(path: str | Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(n, c, ids) of a per-problem count file (JSONL/CSV/Parquet with id, c, n) via :func:`passlens.io.read`.

    Returns:
      n int64 (P,), c int64 (P,), ids object (P,).
    """
    import passlens.io as pio

    data = pio.read([str(path)])
    if len(data.groups) != 1:
        raise ValueError(f"{path}: holds {len(data.groups)} groups; give one model's counts")
    table = next(iter(data.groups.values()))
    if table.c is None:
        raise ValueError(f"{path}: rewards are not 0/1; the lab needs correct/incorrect counts")
    return table.n, table.c, table.ids
