"""Policy-gradient dynamics over problem populations: exact (n → ∞) and sampled.

One step, for every seed s and problem x at once (no Python loop over problems):

* **exact**: G = ∂J_x/∂z from the closed form (★) of :mod:`passlens.lab.objectives`
  — the expected policy gradient, i.e. the n → ∞ limit of any unbiased estimator;
* **sampled**: draw y_1..y_n ~ π(·|x), rewards r_i = V(x, y_i), advantages
  A = ``passlens.advantages.advantage(estimator, r, answers=y, logprobs=log π(y))``,
  and the REINFORCE estimate with the softmax score ∇_z log π(y) = e_y − π:

      Ĝ = (1/n) Σ_i A_i (e_{y_i} − π)                    (registry scale convention)

  (+ the exact gradient of β H(π) for entropy-regularized specs).

Then the policy pulls G back to its parameters and SGD (θ ← θ + η g) or Adam
(Kingma & Ba 2015, Alg. 1, ascent) takes a step. (Tabular SGD on an exact
objective runs the same step as π ← π·exp(ηG)/Σ, tested equal to the logit form.) Seeds are a leading batch
axis S: each seed has its own population draw (seed + s), and all seeds advance
together in one vectorized update. In sampled mode the groups of all S seeds are
drawn from one stream (seeded by ``seed``), so seed s's trajectory there also
depends on S; exact mode has no sampling and no such dependence. Diagnostics (:func:`passlens.lab.tracking.track`)
are computed exactly from π every ``log_every`` steps and at the last step.
"""

from __future__ import annotations

import json
import math
import contextlib
import multiprocessing
import os
import signal
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FuturesTimeout
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from .._output import write_file
from ..advantages import REGISTRY, advantage, set_num_threads
from ..theory import alpha
from .objectives import (
    Objective,
    correct_entries,
    exact_parts,
    logit_gradient,
    mix_objective_value,
    mix_score_weights,
    objective_value,
    parse_objective,
    row_sums,
    softmax,
)
from .policies import POLICIES, make_policy
from .population import Population, make_population, population_from_counts
from .tabular_step import TabularExactStep, auto_threads
from .tracking import track

__all__ = [
    "INT_OPTION_RANGES",
    "LabConfig",
    "check_int_option",
    "build_populations",
    "run_objective",
    "run_lab",
    "save_run",
    "RUN_METADATA_KEY",
    "make_out_dir",
    "inverse_cdf",
    "sample_answers",
    "sampled_logit_gradient",
]


#: Accepted range (inclusive) of each integer option of ``passlens lab run`` / :class:`LabConfig`.
INT_OPTION_RANGES: dict[str, tuple[int, int]] = {
    "steps": (1, 10_000_000),
    "seeds": (1, 10_000),
    "seed": (0, 2**32 - 1),
    "n": (1, 100_000),
    "problems": (1, 10_000_000),
    "answers": (2, 100_000),
    "log-every": (1, 10_000_000),
    "k-ref": (1, 1_000_000),
    "k": (1, 1_000_000),
    "hidden": (1, 100_000),
    "threads": (0, 1024),
    "heldout": (0, 10_000_000),
    "workers": (1, 1024),
}

#: Largest seeds × problems × answers (× policy width; × n when sampled) a synthetic run may allocate.
MAX_CELLS = 2**31


def check_int_option(name: str, value: Any) -> int:
    """``value`` as an int inside ``INT_OPTION_RANGES[name]``; ValueError naming ``--name`` otherwise."""
    lo, hi = INT_OPTION_RANGES[name]
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"--{name} must be an integer between {lo} and {hi}, got {value!r}")
    if not lo <= int(value) <= hi:
        raise ValueError(f"--{name} must be between {lo} and {hi}, got {value}")
    return int(value)


@dataclass(frozen=True)
class LabConfig:
    """Everything a lab run depends on (stored as JSON next to the tables).

    Attributes:
      objectives: objective specs (see :mod:`passlens.lab.objectives`).
      mode: "exact" or "sampled".
      policy: "tabular", "linear" (shared linear softmax) or "mlp" (shared one-hidden-layer tanh MLP softmax).
      steps: number of updates.
      seeds: number of seeds S (seed s uses population seed ``seed + s``).
      seed: base seed.
      n: samples per problem per step (sampled mode).
      lr: learning rate η.
      optimizer: "sgd" or "adam".
      problems, answers: P and M of synthetic populations (with ``from_counts`` every problem of the
        table is used and ``problems`` is not read; ``passlens lab run`` records the table's P there).
      n_correct: (min, max) correct answers per problem.
      from_counts: path of a count table (JSONL/CSV/Parquet with id, c, n) to start from, or None.
      ks: pass@k grid of the tracked metrics.
      k_ref: budget of the alpha / signal / coverage / cos_k_1 metrics (one per run).
      log_every: track every this many steps (and the last one).
      eps: ε of distinct_correct.
      dim: feature dimension of the linear policy.
      hidden: hidden width H of the mlp policy.
      dtype: "float64" (default) or "float32" for the policy state and updates (≈2× faster on
        large populations; diagnostics are always computed in float64).
      threads: threads of the fused tabular exact step (:mod:`passlens.lab.tabular_step`) and, in
        objective worker processes, of the registry's threaded estimators (sampled objectives);
        0 = the CPUs left per objective process. The result does not depend on it.
      heldout: problems of each population kept out of training (a seeded random subset, the
        same for every seed) and tracked as ``heldout_*`` metrics: how a shared policy's
        updates carry over to problems it never trains on. Needs a shared policy (linear, mlp).

    :meth:`validate` bounds every integer field by :data:`INT_OPTION_RANGES` and a synthetic
    run's largest array by :data:`MAX_CELLS`.
    """

    objectives: tuple[str, ...] = ("rloo", "pkpo:k=8", "coverage:k=8")
    mode: str = "exact"
    policy: str = "tabular"
    steps: int = 1000
    seeds: int = 3
    seed: int = 0
    n: int = 16
    lr: float = 2.0
    optimizer: str = "sgd"
    problems: int = 2000
    answers: int = 16
    n_correct: tuple[int, int] = (1, 4)
    from_counts: str | None = None
    ks: tuple[int, ...] = (1, 2, 4, 8, 16)
    k_ref: int = 8
    log_every: int = 10
    eps: float = 0.05
    dim: int = 16
    hidden: int = 32
    dtype: str = "float64"
    threads: int = 0
    heldout: int = 0

    def validate(self) -> list[Objective]:
        """Check every field; return the parsed objectives. ValueError with one line otherwise."""
        if self.mode not in ("exact", "sampled"):
            raise ValueError(f"--mode must be 'exact' or 'sampled', got {self.mode!r}")
        if self.policy not in POLICIES:
            raise ValueError(f"--policy must be one of {', '.join(POLICIES)}, got {self.policy!r}")
        if self.optimizer not in ("sgd", "adam"):
            raise ValueError(f"--optimizer must be 'sgd' or 'adam', got {self.optimizer!r}")
        for name, v in (("steps", self.steps), ("seeds", self.seeds), ("seed", self.seed), ("n", self.n),
                        ("problems", self.problems), ("answers", self.answers), ("log-every", self.log_every),
                        ("k-ref", self.k_ref), ("hidden", self.hidden), ("threads", self.threads),
                        ("heldout", self.heldout)):
            check_int_option(name, v)
        if self.mode == "sampled" and self.n < 2:
            raise ValueError(f"--n must be ≥ 2 in sampled mode (group baselines need two samples), got {self.n}")
        for kk in self.ks:
            check_int_option("k", kk)
        if not self.ks:
            raise ValueError("--k: give at least one budget")
        if self.from_counts is None:  # the population size of a count table is only known once it is read
            factors = [("--seeds", self.seeds), ("--problems", self.problems), ("--answers", self.answers)]
            if self.policy == "mlp":
                factors.append(("--hidden", self.hidden))
            elif self.policy == "linear":
                factors.append(("features", self.dim))
            if self.mode == "sampled" and self.n > math.prod(v for _, v in factors[2:]):
                factors = factors[:2] + [("--n", self.n)]
            cells = math.prod(v for _, v in factors)
            if cells > MAX_CELLS:
                raise ValueError(
                    f"run too large: {' × '.join(f'{a} {v}' for a, v in factors)} = {cells:,} array cells,"
                    f" more than {MAX_CELLS:,}; reduce one of them"
                )
        if self.heldout and self.policy == "tabular":
            raise ValueError("--heldout needs a shared policy (--policy linear or mlp): a tabular policy never moves a problem it does not train on")
        if self.heldout and self.from_counts is None and self.heldout >= self.problems:
            raise ValueError(f"--heldout {self.heldout} leaves no training problem of --problems {self.problems}")
        if self.dtype not in ("float64", "float32"):
            raise ValueError(f"--dtype must be 'float64' or 'float32', got {self.dtype!r}")
        if not (np.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"--lr must be a finite number > 0, got {self.lr}")
        if not self.objectives:
            raise ValueError("give at least one --objective")
        from .population import _check_correct_range

        try:
            lo, hi = _check_correct_range(int(self.answers), self.n_correct)
        except ValueError as exc:
            raise ValueError(f"--n-correct: {exc}") from None
        if hi >= self.answers:
            raise ValueError(
                f"impossible population: up to {hi} of M={self.answers} answers correct leaves no wrong answer; use more --answers"
            )
        if self.from_counts is not None and not Path(self.from_counts).exists():
            raise ValueError(f"--from-counts: no such file {self.from_counts}")
        objs = [parse_objective(s, self.mode, n=self.n) for s in self.objectives]
        if len({o.spec for o in objs}) != len(objs):
            raise ValueError("an objective is given twice")
        return objs

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict of every field (tuples as lists)."""
        d = asdict(self)
        d["objectives"] = list(self.objectives)
        d["n_correct"] = list(self.n_correct)
        d["ks"] = list(self.ks)
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "LabConfig":
        """Inverse of :meth:`to_json` (unknown keys are ignored, missing ones take defaults)."""
        d = dict(d)
        d["objectives"] = tuple(d["objectives"])
        d["n_correct"] = tuple(d["n_correct"])
        d["ks"] = tuple(d["ks"])
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


def build_populations(config: LabConfig) -> list[Population]:
    """One population per seed: synthetic (seed + s) or from the count table (seed + s for the class layout).

    With ``config.heldout = H`` each population's problems are reordered so that the last H are a
    seeded random subset (the same for every seed): :func:`run_objective` trains on the first
    P − H and tracks the rest as held out.
    """
    if config.from_counts is not None:
        from .population import read_counts

        n, c, ids = read_counts(config.from_counts)
        pops = [
            population_from_counts(n, c, M=config.answers, seed=config.seed + s, n_correct=config.n_correct, ids=ids)
            for s in range(config.seeds)
        ]
    else:
        pops = [
            make_population(config.problems, config.answers, seed=config.seed + s, n_correct=config.n_correct)
            for s in range(config.seeds)
        ]
    H = int(config.heldout)
    if H:
        P = pops[0].logits.shape[0]
        if H >= P:
            raise ValueError(f"--heldout {H} leaves no training problem of the {P} in the population")
        order = np.random.default_rng([config.seed, 31337]).permutation(P)  # (P,) train first, held-out last
        pops = [Population(p.logits[order], p.correct[order], p.ids[order], p.source) for p in pops]
    return pops


def inverse_cdf(cdf: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Per row r: #{a : cdf[r, a] ≤ u[r, i]} clipped to M − 1, i.e. ``searchsorted(cdf[r], u[r], side="right")``.

    Vectorized binary lifting over the M columns (⌈log₂ M⌉ gathers of shape (R, n)),
    instead of a Python loop over rows or one global searchsorted with random access.

    Args:
      cdf: float (R, M), non-decreasing rows.
      u: float (R, n), uniforms in [0, 1).

    Returns:
      int64 (R, n), values in 0..M−1.
    """
    R, M = cdf.shape
    flat = cdf.ravel()
    base = (np.arange(R, dtype=np.int64) * M)[:, None]  # (R, 1)
    pos = np.zeros(u.shape, dtype=np.int64)  # (R, n) entries ≤ u found so far
    bit = 1 << (M.bit_length() - 1)
    while bit:
        cand = pos + bit  # (R, n)
        ok = cand <= M
        look = np.take(flat, base + np.minimum(cand, M) - 1)  # cdf[r, cand − 1]
        pos = np.where(ok & (look <= u), cand, pos)
        bit >>= 1
    return np.minimum(pos, M - 1)


def sample_answers(pi: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """n i.i.d. answer classes per row of π by inverse-CDF sampling, vectorized over rows.

    Args:
      pi: float (R, M), rows summing to 1.
      n: draws per row.
      rng: generator (draws ``rng.random((R, n))``).

    Returns:
      int64 (R, n), values in 0..M−1.
    """
    cdf = np.cumsum(pi, axis=1)  # (R, M)
    cdf /= cdf[:, -1:]  # renormalize: the last entry is 1 up to rounding
    return inverse_cdf(cdf, rng.random((pi.shape[0], n)))


def sampled_logit_gradient(pi: np.ndarray, answers: np.ndarray, adv: np.ndarray) -> np.ndarray:
    """Ĝ = (1/n) Σ_i A_i (e_{y_i} − π) per row, vectorized.

    Args:
      pi: float (R, M); answers: int (R, n); adv: float (R, n).

    Returns:
      float64 (R, M).
    """
    R, M = pi.shape
    n = answers.shape[1]
    flat = (np.arange(R)[:, None] * M + answers).ravel()  # (R n,)
    # bincount with weights instead of np.add.at: the same scatter-add, ~10× faster.
    hit = np.bincount(flat, weights=adv.ravel(), minlength=R * M).reshape(R, M)
    return (hit - adv.sum(axis=1, keepdims=True) * pi) / n


#: use the multiplicative π-update for tabular SGD on exact objectives (tests switch it off to compare).
_MULTIPLICATIVE = True


class _Adam:
    """Adam for ascent (Kingma & Ba 2015, Alg. 1), β = (0.9, 0.999), ε = 1e-8."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.m = np.zeros(shape)
        self.v = np.zeros(shape)
        self.t = 0

    def step(self, g: np.ndarray, lr: float) -> np.ndarray:
        self.t += 1
        self.m = 0.9 * self.m + 0.1 * g
        self.v = 0.999 * self.v + 0.001 * g * g
        mh = self.m / (1 - 0.9**self.t)
        vh = self.v / (1 - 0.999**self.t)
        return lr * mh / (np.sqrt(vh) + 1e-8)


def _stack(pops: Sequence[Population]) -> tuple[np.ndarray, np.ndarray]:
    shapes = {p.logits.shape for p in pops}
    if len(shapes) != 1:
        raise ValueError(f"populations of one run must share (P, M), got {sorted(shapes)}")
    return np.stack([p.logits for p in pops]), np.stack([p.correct for p in pops])


def run_objective(
    objective: str | Objective,
    pops: Sequence[Population],
    config: LabConfig,
    *,
    progress: Callable[[int], None] | None = None,
    keep_policy: bool = False,
    workers: int = 1,
) -> dict[str, Any]:
    """Train one objective on the stacked populations (one per seed) and track it.

    Args:
      objective: spec string or parsed :class:`Objective`.
      pops: S populations of one shape (P, M).
      config: the run settings (mode, policy, steps, n, lr, optimizer, ks, k_ref, log_every, eps, dim, seed).
      progress: called with the number of steps just done (for progress bars).
      keep_policy: also return the final policy π (S, P, M).
      workers: objective processes running beside this one (divides the CPUs of ``threads=0``).

    Returns:
      dict with ``rows`` (list of dicts: objective, seed, step, metrics…) and, if
      asked, ``pi`` float (S, P, M).
    """
    obj = objective if isinstance(objective, Objective) else parse_objective(objective, config.mode, n=config.n)
    z0, V_all = _stack(pops)  # (S, P, M), (S, P, M)
    z0 = z0.astype(config.dtype)
    S, P, M = z0.shape
    H = int(config.heldout)  # the last H problems are held out (build_populations put a random subset there)
    Pt = P - H
    if Pt < 1:
        raise ValueError(f"--heldout {H} leaves no training problem of the {P} in the population")
    V = np.ascontiguousarray(V_all[:, :Pt])  # (S, Pt, M) the training problems
    k_ref = int(config.k_ref)  # one reference budget per run, so every objective's table has the same columns
    policy = make_policy(config.policy, z0, dim=config.dim, seed=config.seed, hidden=config.hidden)
    theta = policy.init()
    opt = _Adam(theta.shape) if config.optimizer == "adam" else None
    rng = np.random.default_rng([config.seed, 7919])
    state = None
    if obj.mode == "sampled":
        if obj.composite is None:
            entry = REGISTRY[obj.estimator]  # type: ignore[index]  # sampled objectives name an estimator
            state = entry.new_state() if entry.new_state is not None else None
        row_ids = np.arange(S * Pt)
    rows: list[dict[str, Any]] = []
    vflat = V.reshape(S * Pt, M)
    vf = V.astype(z0.dtype)
    masks = (vf, 1.0 - vf)  # float masks, converted once instead of every step
    masks64 = masks if vf.dtype == np.float64 else (V.astype(np.float64), (~V).astype(np.float64))
    v_index, v_row = correct_entries(V)  # the sparse correct set, for the logged sums

    def train(x: np.ndarray) -> np.ndarray:
        """The training problems' slice of an (S, P, M) array (a view)."""
        return x[:, :Pt] if H else x

    def pull(g: np.ndarray, pullback: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """A training-problem logit gradient (S, Pt, M) through ``policy.pullback`` (or
        ``dataset_gradient``) as the mean over the Pt training problems: held-out rows get G = 0,
        and the policy's 1/P becomes 1/Pt."""
        if not H:
            return pullback(g)
        full = np.zeros((S, P, M), dtype=g.dtype)
        full[:, :Pt] = g
        out = pullback(full)
        out *= P / Pt
        return out

    def log(step: int, pi_all: np.ndarray, g_asc: np.ndarray, zero_adv: np.ndarray) -> None:
        pi_all = pi_all.astype(np.float64, copy=False)  # diagnostics in float64 whatever the state dtype
        pi = train(pi_all)
        m = track(pi, V, config.ks, k_ref, eps=config.eps)
        held = track(pi_all[:, Pt:], V_all[:, Pt:], config.ks, k_ref, eps=config.eps) if H else {}
        pc = pi.reshape(-1)[v_index]  # (K,) π on the correct entries
        p = np.clip(row_sums(v_row, pc, (S, Pt)), 0.0, 1.0)  # (S, Pt)
        a = alpha(p, k_ref)  # (S, Pt)
        # dataset-level cos(∇J_k, ∇J_1) in parameter space (per problem they are collinear; Yu 2025, §3)
        if config.policy == "tabular":
            # per problem ∇J_k = α_k ∇p (collinear), so the dataset sums need only
            # ‖∇_z p_x‖² = Σ_a π_a² (V_a − p)² = q² Σ_{a∈V} π_a² + p² Σ_{b∉V} π_b²  (q, Σ_{b∉V} summed directly)
            xw = pi * masks64[1]  # (S, P, M) π on the wrong classes
            q = xw.sum(axis=-1)
            sq = q * q * row_sums(v_row, pc * pc, (S, Pt)) + p * p * np.einsum("spm,spm->sp", xw, xw)
            dot, n1, nk = (a * sq).sum(1), np.sqrt(sq.sum(1)), np.sqrt((a * a * sq).sum(1))
        else:
            gp = logit_gradient("pass@1", None, pi, V, p=p)  # (S, Pt, M) ∇_z p_x
            g1 = pull(gp, policy.dataset_gradient).reshape(S, -1)
            gk = pull(gp * a[..., None], policy.dataset_gradient).reshape(S, -1)
            dot, n1, nk = (g1 * gk).sum(axis=1), np.linalg.norm(g1, axis=1), np.linalg.norm(gk, axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            cos = np.where((n1 > 0) & (nk > 0), dot / (n1 * nk), np.nan)
        gd = g_asc if config.policy != "tabular" else g_asc / Pt  # dataset-mean gradient (shared policies: already the mean)
        gnorm = np.linalg.norm(gd.reshape(S, -1), axis=1)
        if obj.kind is not None:
            jval = objective_value(obj.kind, obj.k, pi, V, obj.beta).mean(axis=1)
        elif obj.composite is not None and obj.mode == "exact":
            jval = mix_objective_value(exact_parts(obj, step, config.n), pi, V, obj.beta).mean(axis=1)
        else:
            jval = np.full(S, np.nan)
        for s in range(S):
            row: dict[str, Any] = {"objective": obj.spec, "seed": config.seed + s, "step": step}
            row.update({key: float(val[s]) for key, val in m.items()})
            row.update({f"heldout_{key}": float(val[s]) for key, val in held.items()})
            row["objective_value"] = float(jval[s])
            row["grad_norm"] = float(gnorm[s])
            row["cos_k_1"] = float(cos[s])
            row["zero_adv_frac"] = float(zero_adv[s])
            rows.append(row)

    pi = softmax(policy.logits(theta))
    # Tabular SGD on an exact objective: z ← z + ηG is π ← π·exp(ηG)/Σ, fused over the sparse correct
    # set (passlens.lab.tabular_step): no logit array, no softmax row max, half the passes. Safe when
    # |ηG| cannot overflow exp: |G| ≤ max|w| ≤ k for pass@k / coverage@k, ≤ 1 for pass@1 / arcsin
    # (|π(V − p)c| ≤ √(pq) there).
    bound = float(obj.k or 1) if obj.kind in ("pass@k", "coverage") else 1.0
    fused = None
    if (
        _MULTIPLICATIVE and config.policy == "tabular" and config.optimizer == "sgd" and obj.mode == "exact"
        and obj.composite is None and not obj.beta and config.lr * bound <= 50.0
    ):
        threads = auto_threads(int(config.threads), pi.size, workers)
        fused = TabularExactStep(obj.kind, obj.k, V, config.lr, dtype=pi.dtype, threads=threads)  # type: ignore[arg-type]  # exact objectives have a kind
    try:
        step = 0
        while True:
            logging = step % config.log_every == 0 or step == config.steps
            if logging or fused is None:
                g_logit, zero_adv = _gradient(obj, train(pi), V, vflat, config, rng, state,
                                              row_ids if obj.mode == "sampled" else None, masks, step=step)
                g_asc = pull(g_logit, policy.pullback)
                if logging:
                    log(step, pi, g_asc, zero_adv)
            if step == config.steps:
                break
            if fused is not None:
                # every step up to the next logged one at once; G is recomputed from π inside
                todo = min(config.steps, (step // config.log_every + 1) * config.log_every) - step
                fused.step(pi, todo)
            else:
                todo = 1
                if opt is not None:
                    theta += opt.step(g_asc, config.lr)
                else:
                    g_asc *= config.lr  # in place: g_asc is a fresh array each step
                    theta += g_asc
                pi = softmax(policy.logits(theta))
            step += todo
            if progress is not None:
                progress(todo)
    finally:
        if fused is not None:
            fused.close()
    out: dict[str, Any] = {"rows": rows}
    if keep_policy:
        out["pi"] = pi
    return out


def _gradient(
    obj: Objective,
    pi: np.ndarray,
    V: np.ndarray,
    vflat: np.ndarray,
    config: LabConfig,
    rng: np.random.Generator,
    state: Any,
    row_ids: np.ndarray | None,
    masks: tuple[np.ndarray, np.ndarray] | None = None,
    *,
    step: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Logit gradient (S, P, M) of the objective (exact or sampled) at ``step`` (updates taken) and the
    zero-advantage share (S,)."""
    S, P, M = pi.shape
    if obj.mode == "exact" and obj.composite is not None:
        # (★) is linear in w: the mix Σ λ_i J_i has w = Σ λ_i w_i
        w = mix_score_weights(exact_parts(obj, step, config.n), pi, V)
        g = pi * (w - (pi * w).sum(axis=-1, keepdims=True))
        return g.astype(pi.dtype, copy=False), np.full(S, np.nan)
    if obj.mode == "exact":
        assert obj.kind is not None
        return logit_gradient(obj.kind, obj.k, pi, V, obj.beta, masks=masks), np.full(S, np.nan)
    n = config.n
    pflat = pi.reshape(S * P, M).astype(np.float64, copy=False)  # float64: the global-CDF offsets need the digits
    y = sample_answers(pflat, n, rng)  # (S P, n)
    r = np.take_along_axis(vflat, y, axis=1).astype(np.float64)  # (S P, n)
    logp = np.log(np.maximum(np.take_along_axis(pflat, y, axis=1), np.finfo(np.float64).tiny))
    spec = obj.composite if obj.composite is not None else obj.estimator
    adv = np.asarray(
        advantage(spec, r, answers=y, logprobs=logp, state=state, prompt_ids=row_ids, step=step, **obj.params)
    )  # (S P, n)
    g = sampled_logit_gradient(pflat, y, adv).reshape(S, P, M).astype(pi.dtype, copy=False)
    if obj.beta:
        # the entropy bonus is added exactly: β ∂H/∂z = −β π ⊙ (log π − Σ π log π)
        lp = np.log(np.maximum(pi, np.finfo(np.float64).tiny))
        g = g - obj.beta * pi * (lp - (pi * lp).sum(axis=-1, keepdims=True))
    zero = (adv == 0).all(axis=1).reshape(S, P).mean(axis=1)
    return g, zero


def _worker(args: tuple[str, dict[str, Any], int]) -> list[dict[str, Any]]:
    spec, cfg, workers = args
    config = LabConfig.from_json(cfg)
    # This process is one of ``workers`` sharing the CPUs: the registry's threaded estimators
    # (sampled objectives) get the same share as the fused step (--threads, or CPUs / workers).
    set_num_threads(int(config.threads) or max(1, (os.cpu_count() or 1) // max(1, workers)))
    pops = build_populations(config)
    return run_objective(spec, pops, config, workers=workers)["rows"]


def run_lab(
    config: LabConfig,
    *,
    workers: int | None = None,
    progress: Callable[[str, int], None] | None = None,
) -> Any:
    """Run every objective of ``config`` on the same populations and seeds.

    Objectives run in parallel processes (``concurrent.futures.ProcessPoolExecutor`` with the
    spawn start method, ``workers`` default min(#objectives, os.cpu_count())); seeds are vectorized
    inside each process. With ``workers=1`` everything runs in this process and
    ``progress(objective, steps_done)`` is called every step; with more workers it is
    called once per finished objective with all its steps.

    Returns:
      polars DataFrame, one row per (objective, seed, logged step).
    """
    import polars as pl

    objs = config.validate()
    w = min(len(objs), os.cpu_count() or 1) if workers is None else max(1, int(workers))
    rows: list[dict[str, Any]] = []
    if w == 1:
        pops = build_populations(config)
        for o in objs:
            cb = (lambda d, _s=o.spec: progress(_s, d)) if progress is not None else None
            rows.extend(run_objective(o, pops, config, progress=cb)["rows"])
    else:
        build_populations(config)  # fail fast on impossible populations before forking
        # spawn, not fork: forking a process whose polars/rich threads hold locks can deadlock the children
        ex = ProcessPoolExecutor(max_workers=w, mp_context=multiprocessing.get_context("spawn"))
        try:
            with _sigint_held():  # submit starts the workers: an interrupt is taken once they are all recorded
                futs = {o.spec: ex.submit(_worker, (o.spec, config.to_json(), w)) for o in objs}
            for o in objs:
                rows.extend(_result(futs[o.spec]))
                if progress is not None:
                    progress(o.spec, config.steps)
        except BaseException:
            _stop_workers(ex)
            raise
        ex.shutdown()
    return pl.DataFrame(rows)


@contextlib.contextmanager
def _sigint_held() -> Iterator[None]:
    """Hold a SIGINT (Ctrl-C, ``kill -INT``) back until the block ends, then deliver it as usual.

    ``ProcessPoolExecutor.submit`` spawns a worker: an interrupt raised inside it, between the child's start
    and the parent's handing it its instructions, leaves a child that fails on the half-sent start (an
    EOFError traceback after "passlens: interrupted"), or a worker the executor has not recorded yet, which
    :func:`_stop_workers` cannot end. Only the main thread handles signals; elsewhere nothing is held.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: held.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if held:
            signal.raise_signal(signal.SIGINT)  # as if it came now: KeyboardInterrupt, or whatever was set


def _result(fut: Future) -> Any:
    """``fut.result()`` in short timed waits. An untimed wait blocks the main thread in a lock that a signal
    delivered to another thread (the executor's, rich's) does not interrupt, so Ctrl-C sent to this process
    alone would only be seen when the objective finished."""
    while True:
        try:
            return fut.result(timeout=0.2)
        except FuturesTimeout:
            continue


def _stop_workers(ex: ProcessPoolExecutor) -> None:
    """End the objective processes of ``ex`` now. A Ctrl-C sent to this process only (``kill -INT``), or an
    objective that failed, would otherwise wait in ``shutdown`` for every other objective to finish its run."""
    procs = list((getattr(ex, "_processes", None) or {}).values())  # no public handle before Python 3.14
    ex.shutdown(wait=False, cancel_futures=True)
    for proc in procs:
        if proc.is_alive():
            proc.terminate()
    for proc in procs:
        proc.join(timeout=5)


def make_out_dir(out: str | Path) -> Path:
    """Create the output directory ``out`` (and its parents; an existing directory is reused).

    ValueError with one line ("cannot create output folder …: reason") when it cannot be made,
    e.g. when ``out`` is an existing file or lies on a read-only file system.
    """
    d = Path(out)
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(f"cannot create output folder {d}: {exc.strerror or exc}") from None
    return d


#: Key of the Parquet file-metadata entry that holds a lab run's ``config.json`` payload.
RUN_METADATA_KEY = "passlens_lab"


def save_run(df: Any, config: LabConfig, out: str | Path, extra: dict[str, Any] | None = None) -> Path:
    """Write ``config.json`` and ``metrics.parquet`` under ``out`` (created; existing files are replaced,
    each atomically: :func:`passlens._output.write_file`).

    ``metrics.parquet`` is written last and carries the same payload as ``config.json`` in its file
    metadata (key :data:`RUN_METADATA_KEY`): it is the commit point. A save killed between the two
    files leaves the previous ``metrics.parquet`` whole with its own configuration, which readers
    (``passlens lab show``) take from the Parquet file, not from the newer ``config.json`` beside it.
    Concurrent writers are the caller's to exclude (``passlens lab run`` holds a
    :class:`~passlens._output.RunLock` on ``out`` from start to end).

    Returns the directory. ValueError with one line when the directory or a file cannot be written.
    """
    d = make_out_dir(out)
    text = json.dumps({"config": config.to_json(), **(extra or {})}, indent=2) + "\n"
    write_file(d / "config.json", text)
    write_file(d / "metrics.parquet", lambda fh: df.write_parquet(fh, metadata={RUN_METADATA_KEY: text}))
    return d
