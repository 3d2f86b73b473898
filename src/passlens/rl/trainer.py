"""The RLVR loop: sample → verify → registry advantages → clipped policy gradient, with evals and resume.

Loss per step (N = B·n samples, tokens t of completion y_i, ratio ρ_it = π_θ/π_old):

    L = −(1/N) Σ_i Σ_t min(ρ_it A_i, clip(ρ_it, 1 ± ε) A_i)  +  β_KL (1/N) Σ_i Σ_t k3_it  −  β_H · H̄

With one inner epoch ρ = 1 and ∇L = −(1/N) Σ_i A_i ∇log π(y_i), the gradient estimate of
``passlens.advantages`` (their scale convention: the group *mean* of A_i ∇log π(y_i)). The
sequence log-probability is a *sum* over tokens, so no length normalization biases it.
k3 = exp(r) − r − 1 with r = log π_base − log π_θ per token (Schulman 2020, "Approximating KL
divergence"), H̄ the mean per-token entropy. PPO clipping: Schulman et al. 2017, arXiv 1707.06347, Eq. 7.
Each step's row logs the objective's term (``pg_loss``), ``kl`` and ``entropy`` apart from their sum
``loss``; a scheduled objective (a schedule or a k ramp, which takes the step t = updates already
taken, restored on resume) also logs the mix in force at the step (``objective_in_force``).

Run directory: ``config.json``, ``metrics.parquet`` (one row per step), ``evals/step_XXXXXX.parquet``
(per-sample rows problem_id, sample_id, reward, answer, step; readable by ``passlens eval``) and
``evals/step_XXXXXX.json`` (summary), ``checkpoints/base.pt`` and ``checkpoints/latest.pt``.
Every file is written to a temporary name and renamed. Only the latest step checkpoint is kept:
a resume continues from it, or from ``base.pt`` when the run stopped before its first save, and
refuses (one line) when the run directory shows a save that is no longer there.
"""

from __future__ import annotations

import dataclasses
import json
import math
import random
import time
from pathlib import Path
from typing import Any, Callable, ClassVar

import numpy as np
import torch

from .._validate import pow2_grid
from ..diagnostics import exploration_metrics
from ..advantages import REGISTRY, Composite, advantage, is_composite, parse_composite, parse_spec
from ._fields import ConfigError, Float, Int, Str, build_section, check_fields
from .checkpoint import RunLock, load_checkpoint, remove_stale_temporaries, save_checkpoint, write_json, write_parquet
from .losses import clipped_policy_loss, k3_kl, mean_token_entropy
from .model import GPT, ModelConfig
from .sampler import Samples, sample, sequence_logprobs
from .tasks import TASKS, Problem, Task, answer_id, make_task
from .tokenizer import CharTokenizer
from .warmstart import WarmStartConfig, warm_start

__all__ = ["TrainConfig", "Trainer", "resolve_device", "eval_rows", "eval_summary"]


@dataclasses.dataclass
class TrainConfig:
    """Everything a run depends on (stored as ``config.json``).

    Every field is checked on construction (so in the Python API, in ``--config`` files, in
    ``config.json`` on resume and for CLI options alike): a wrong type, a non-finite number or a
    value out of range raises :class:`ValueError` with one line naming the field, e.g.
    ``kl_coef must be a finite number ≥ 0, got nan``. bool is never accepted as an int or a number.
    Upper bounds keep sizes in what a CPU or one GPU can run and integers in what torch's
    generators and int64 tensors hold.

    Attributes:
      task: registered task name. difficulty: the task's knob, an int in [1, 1000] or None
        (the task's default).
      objective: advantage spec, e.g. "rloo" or "pkpo:k=8" (required parameters given; k in [1, n]), or a
        composite (:mod:`passlens.advantages.compose`): "rloo@0.7+coverage:k=8@0.3",
        "coverage:k=8/200-400/rloo", "pkpo:k=16-2,steps=0-300" — step t = updates already taken.
      steps: RL steps, an int in [1, 10⁷].
      prompts_per_step (B), n (samples each): ints in [1, 65536] with B·n ≤ 2²⁰ samples per step.
      lr: AdamW learning rate, in (0, 1]. weight_decay: AdamW decoupled decay, finite ≥ 0 with
        lr·weight_decay < 1 (each step multiplies the weights by 1 − lr·weight_decay).
      grad_clip: gradient-norm clipping threshold, finite > 0.
      ppo_epochs: inner epochs over each batch, an int in [1, 1000]. clip_eps: PPO clip range, finite > 0.
      kl_coef, entropy_coef: KL-to-base (k3) and entropy-bonus weights, finite ≥ 0.
      temperature: sampling temperature, finite ≥ 1e-8 (the sampler's floor; lower would be
        silently raised to it). top_p: nucleus mass in (0, 1].
      max_new: completion budget in tokens, an int in [1, model.block_size − 1] or None (the
        task's answer length + 1); the trainer also checks that the longest prompt fits.
      train_problems, eval_problems: sizes of the train pool and the held-out set, ints in [1, 10⁶].
      eval_every: eval period in steps, an int in [0, 10⁷] (0 = only at the end).
      eval_n: samples per held-out problem, an int in [1, 65536].
      save_every: checkpoint period, an int in [0, 10⁷] or None (None = eval_every, 0 = only at the end).
      seed: one seed for everything, an int in [0, 2³² − 1].
      device: "auto" | "cpu" | "cuda".
      model: architecture (:class:`~passlens.rl.model.ModelConfig`, or a mapping of its fields;
        ``vocab_size`` must be the character tokenizer's).
      warm: warm-start settings (:class:`~passlens.rl.warmstart.WarmStartConfig` or a mapping).
      base: path of a base checkpoint (skips the warm start), a non-empty string or None.
    """

    task: str = "countdown"
    difficulty: int | None = None
    objective: str = "rloo"
    steps: int = 300
    prompts_per_step: int = 32
    n: int = 8
    lr: float = 3e-4
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    ppo_epochs: int = 1
    clip_eps: float = 0.2
    kl_coef: float = 0.0
    entropy_coef: float = 0.0
    temperature: float = 1.0
    top_p: float = 1.0
    max_new: int | None = None
    train_problems: int = 1000
    eval_problems: int = 64
    eval_every: int = 50
    eval_n: int = 64
    save_every: int | None = None
    seed: int = 0
    device: str = "auto"
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    warm: WarmStartConfig = dataclasses.field(default_factory=WarmStartConfig)
    base: str | None = None

    _FIELDS: ClassVar[dict[str, Any]] = {
        "task": Str(), "difficulty": Int(1, 1000, optional=True), "objective": Str(),
        "steps": Int(1, 10_000_000), "prompts_per_step": Int(1, 65536), "n": Int(1, 65536),
        "lr": Float(0.0, 1.0, lo_open=True), "weight_decay": Float(0.0), "grad_clip": Float(0.0, lo_open=True),
        "ppo_epochs": Int(1, 1000), "clip_eps": Float(0.0, lo_open=True),
        "kl_coef": Float(0.0), "entropy_coef": Float(0.0),
        "temperature": Float(1e-8), "top_p": Float(0.0, 1.0, lo_open=True),
        "train_problems": Int(1, 1_000_000), "eval_problems": Int(1, 1_000_000),
        "eval_every": Int(0, 10_000_000), "eval_n": Int(1, 65536), "save_every": Int(0, 10_000_000, optional=True),
        "seed": Int(0, 2**32 - 1), "base": Str(optional=True),
    }

    def __post_init__(self) -> None:
        self.model = build_section(ModelConfig, self.model, "model")
        self.warm = build_section(WarmStartConfig, self.warm, "warm")
        check_fields(self, self._FIELDS, "")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ConfigError(f"device must be auto, cpu or cuda, got {self.device!r}", ("device",))
        if self.prompts_per_step * self.n > 1 << 20:
            raise ConfigError(f"prompts_per_step × n must be ≤ {1 << 20} samples per step, got "
                              f"{self.prompts_per_step} × {self.n}", ("prompts_per_step", "n"))
        if self.lr * self.weight_decay >= 1:
            raise ConfigError(f"lr × weight_decay must be < 1 (AdamW multiplies the weights by 1 − lr·weight_decay "
                              f"each step), got {self.lr:g} × {self.weight_decay:g}", ("lr", "weight_decay"))
        # the prompt needs ≥ 1 token (bos); the trainer checks the longest prompt once it has the problems
        self.max_new = Int(1, self.model.block_size - 1, optional=True).check("max_new", self.max_new)
        vocab = CharTokenizer().vocab_size
        if self.model.vocab_size != vocab:
            raise ConfigError(f"model.vocab_size must be {vocab} (the tokenizer's), got {self.model.vocab_size}",
                              ("model.vocab_size",))
        composite = is_composite(self.objective)
        try:
            if composite:  # every estimator some step uses (a k ramp at both ends), each checked below
                terms = [(t.estimator, t.params_dict()) for t in parse_composite(self.objective).concrete()]
            else:
                name, params = parse_spec(self.objective)  # ValueError listing valid names
                REGISTRY[name].resolve(params)  # missing required parameters, e.g. pkpo without k
                terms = [(name, params)]
        except ValueError as exc:  # a composite's message names the objective already
            raise ConfigError(str(exc) if composite else f"objective {self.objective!r}: {exc}",
                              ("objective",)) from None
        for name, params in terms:
            k = params.get("k")
            if k is not None and k > self.n:
                raise ConfigError(f"objective {self.objective}: k={k} exceeds n={self.n} samples per prompt",
                                  ("objective", "n"))
            if k is not None and k < 1:
                raise ConfigError(f"objective {self.objective}: k must be ≥ 1, got {k}", ("objective",))
            self._dry_run_objective(name, params)
        try:
            make_task(self.task, self.difficulty)  # ValueError listing valid tasks
        except ValueError as exc:  # an unknown task, else a difficulty the task refuses
            raise ConfigError(str(exc), ("task",) if self.task not in TASKS else ("difficulty",)) from None

    def _dry_run_objective(self, name: str, params: dict[str, Any]) -> None:
        """Call the objective once on one dummy group of n samples, so that what it needs of n
        (e.g. rloo: n ≥ 2) fails here, naming the fields, and not after the warm start."""
        spec = REGISTRY[name]
        n = self.n
        try:
            advantage(name, np.zeros((1, n)), answers=np.zeros((1, n), dtype=np.int64), logprobs=np.zeros((1, n)),
                      state=spec.new_state() if spec.new_state is not None else None, prompt_ids=[0], **params)
        except ValueError as exc:
            raise ConfigError(f"objective {self.objective} with n={n} samples per prompt: {exc}",
                              ("objective", "n")) from None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: Any) -> "TrainConfig":
        """A config from a mapping of its fields (``model`` and ``warm`` as nested mappings);
        ValueError (one line, naming the field) on unknown fields, wrong types or bad values."""
        if not isinstance(d, dict):
            raise ConfigError(f"a configuration must be a JSON object of TrainConfig fields, got {type(d).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(str(k) for k in d if k not in known)
        if unknown:
            raise ConfigError(f"config has unknown field(s) {', '.join(unknown)}", tuple(unknown))
        return cls(**d)


def resolve_device(name: str) -> torch.device:
    """"auto" → cuda when available, else cpu; "cuda" without a GPU is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda: no CUDA device is available (use --device auto or cpu; "
                         "a run can be resumed with --resume DIR --device cpu)")
    return torch.device(name)


def eval_rows(task: Task, problems: list[Problem], texts: list[str], n: int, step: int) -> list[dict[str, Any]]:
    """Per-sample rows (problem_id, sample_id, reward, answer, step); texts are grouped n per problem.

    ``answer`` is the canonical class of a correct answer, else the raw text (truncated to 64 chars)."""
    rows = []
    for i, text in enumerate(texts):
        p = problems[i // n]
        r = float(task.verify(p, text))
        cls = task.answer_class(p, text) if r > 0 else None
        rows.append({"problem_id": p.id, "sample_id": i % n, "reward": r,
                     "answer": cls if cls is not None else text[:64], "step": step})
    return rows


def eval_summary(rows: list[dict[str, Any]], n: int, group_size: int, entropy: float, seed: int = 0) -> dict[str, Any]:
    """Held-out summary: pass@k curve with bootstrap CIs, gap pass@k − pass@1, α̂/signal statistics
    (:func:`passlens.theory.summarize`), polarized fraction, distinct correct answers per problem.

    Args:
      rows: per-sample rows from :func:`eval_rows` (P·n of them, grouped by problem).
      n: samples per problem; group_size: training group size G (zero-signal fraction).
      entropy: mean per-token entropy estimate (−log π of sampled tokens).
    """
    from ..theory.summary import summarize
    from ..uncertainty import curve

    P = len(rows) // n
    R = np.array([r["reward"] for r in rows]).reshape(P, n)  # (P, n)
    c = (R >= 1.0).sum(1).astype(np.int64)  # (P,)
    nn_ = np.full(P, n, dtype=np.int64)  # (P,)
    ks = pow2_grid(n)
    cur = curve(nn_, c, ks, n_boot=1000, seed=seed)
    th = summarize(nn_, c, ks=ks, group_size=min(group_size, n))
    distinct = [len({rows[i * n + j]["answer"] for j in range(n) if R[i, j] >= 1.0}) for i in range(P)]
    # the collapse indicators as every other part of the package computes them (report, trainer adapters)
    m = exploration_metrics(R.reshape(-1) >= 1.0, np.repeat(np.arange(P), n), ks=[1])
    return {
        "problems": P,
        "n": n,
        "pass_at_k": cur.to_dict(),
        "gap": {int(k): (None if not math.isfinite(g) else float(g)) for k, g in zip(th.ks, th.gap_mean)},
        "theory": th.to_dict(),
        "polarized_fraction": m["polarized"],
        "never_solved": m["never_solved"],
        "always_solved": m["always_solved"],
        "distinct_correct_mean": float(np.mean(distinct)),
        "distinct_correct": distinct,
        "entropy": entropy,
    }


def _decode_all(tok: CharTokenizer, s: Samples) -> list[str]:
    return [tok.decode(r) for r in s.tokens.tolist()]


class Trainer:
    """One run. ``Trainer(cfg, out).run()`` starts it; ``Trainer.resume(out).run()`` continues it.

    Args:
      cfg: the run configuration.
      out: run directory (created; must not already hold a run unless resuming).
      progress: show a rich progress bar.
      log: called with one-line status messages (default: nothing).
    """

    def __init__(self, cfg: TrainConfig, out: str | Path, *, progress: bool = False,
                 log: Callable[[str], None] | None = None, _resume: bool = False) -> None:
        self.cfg = cfg
        self.out = Path(out)
        self.progress = progress
        self.log = log or (lambda msg: None)
        self.device = resolve_device(cfg.device)
        if not _resume and (self.out / "config.json").exists():
            raise ValueError(f"{self.out} already holds a run; use --resume {self.out} or another --out")
        self.tok = CharTokenizer()
        self.task = make_task(cfg.task, cfg.difficulty)
        self.train_set = self.task.problems("train", cfg.train_problems, cfg.seed)
        self.eval_set = self.task.problems("test", cfg.eval_problems, cfg.seed)
        self.max_new = cfg.max_new or self.task.max_answer_len + 1
        self._check_block_size()
        # the objective: a registry name and its params, or a composite (mix / schedule / k ramp) that
        # takes the step — the number of updates taken, which a resumed run reads from its checkpoint
        self.composite: Composite | None = parse_composite(cfg.objective) if is_composite(cfg.objective) else None
        if self.composite is None:
            self.obj_name, self.obj_params = parse_spec(cfg.objective)
            spec = REGISTRY[self.obj_name]
            self.est_state = spec.new_state() if spec.new_state is not None else None
        else:
            self.est_state = None  # parse_composite refuses estimators with a memory in composites
        torch.manual_seed(cfg.seed)
        self.model = GPT(cfg.model).to(self.device)
        self.base_model: GPT | None = None
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        self.gen = torch.Generator(device=self.device).manual_seed(cfg.seed)
        self.np_rng = np.random.default_rng(cfg.seed)
        self.py_rng = random.Random(cfg.seed)
        self.step = 0
        self.metrics: list[dict[str, Any]] = []
        if not _resume:
            if cfg.base:  # a missing or mismatched base fails here, before the run folder exists
                self._load_base(cfg.base)
            # Only once the configuration is known to run: a failed start leaves no run behind.
            try:
                for sub in ("evals", "checkpoints"):
                    (self.out / sub).mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ValueError(f"cannot create output folder {self.out}: {exc.strerror or exc}") from None
        # One process per run directory; what a killed writer left half-written is deleted (under the lock).
        self._lock = RunLock(self.out)
        gone = remove_stale_temporaries([self.out, self.out / "checkpoints", self.out / "evals"])
        if gone:
            self.log(f"removed {len(gone)} temporary file(s) left by an interrupted writer")
        if not _resume:
            write_json(self.out / "config.json", cfg.to_dict())
            self._init_base(base_loaded=True)

    # -- setup ------------------------------------------------------------------------
    def _check_block_size(self) -> None:
        """Prompt + completion (sampling: max_new tokens; warm start: a reference answer) must fit
        ``model.block_size``; checked before any work rather than failing after the warm start."""
        longest = max(len(self.tok.encode(self.task.prompt(p))) for p in self.train_set + self.eval_set)
        warm = 0 if (self.cfg.base or not self.cfg.warm.steps) else self.task.max_answer_len
        need = longest + max(self.max_new, warm)
        if need > self.cfg.model.block_size:
            raise ValueError(
                f"model.block_size={self.cfg.model.block_size} is too small for {self.task.name} at difficulty "
                f"{self.task.difficulty}: the longest prompt has {longest} tokens and completions up to "
                f"{max(self.max_new, warm)} (max_new), {need} in all; raise model.block_size or lower the difficulty")

    def _load_base(self, path: str) -> None:
        ck = load_checkpoint(path)
        try:
            self.model.load_state_dict(ck["model"])
        except RuntimeError:
            raise ValueError(f"--base {path}: its architecture differs from this run's model config") from None

    def _init_base(self, base_loaded: bool = False) -> None:
        """The run's base model: ``cfg.base`` (loaded now unless ``base_loaded``) or a warm start; saved as base.pt."""
        base_path = self.out / "checkpoints" / "base.pt"
        if self.cfg.base:
            if not base_loaded:
                self._load_base(self.cfg.base)
        else:
            self.log(f"warm start: {self.cfg.warm.steps} supervised steps on {len(self.train_set)} problems")
            warm_start(self.model, self.task, self.train_set, self.cfg.warm, seed=self.cfg.seed, tokenizer=self.tok)
        save_checkpoint(base_path, {"model": self.model.state_dict(), "config": self.cfg.to_dict(), "step": 0})

    @classmethod
    def resume(cls, out: str | Path, *, progress: bool = False, log: Callable[[str], None] | None = None,
               device: str | None = None, steps: int | None = None) -> "Trainer":
        """Reopen a run directory at its latest checkpoint (model, optimizer, RNG and estimator state).

        ``device`` overrides the run's configured device for this process (config.json is
        not changed); a checkpoint sampled on another device type continues reseeded (see
        :meth:`_restore_generator`).

        ``steps`` extends (or shortens, down to the step already reached) the run: config.json is
        rewritten with it before any training. Nothing in a step depends on the run's length (the
        learning rate is constant, schedules read the step itself, each evaluation's sampler is
        seeded by its step), so a 300-step run extended to 1000 reproduces a 1000-step run bit for
        bit; its old last step, a save and evaluation point, is one anyway when it is a multiple of
        ``eval_every``.
        """
        out = Path(out)
        try:
            raw = json.loads((out / "config.json").read_text())
        except OSError:
            raise ValueError(f"--resume {out}: no config.json there (not a run directory)") from None
        except json.JSONDecodeError as exc:
            raise ValueError(f"--resume {out}: config.json is unreadable ({exc})") from None
        try:
            cfg = TrainConfig.from_dict(raw)
        except ValueError as exc:
            raise ValueError(f"--resume {out}: config.json: {exc}") from None
        if device is not None:
            cfg = dataclasses.replace(cfg, device=device)
        if steps is not None and steps != cfg.steps:
            try:
                cfg = TrainConfig.from_dict(cfg.to_dict() | {"steps": steps})
            except ValueError as exc:
                raise ValueError(f"--resume {out} --steps: {exc}") from None
        else:
            steps = None  # nothing to rewrite
        self = cls(cfg, out, progress=progress, log=log, _resume=True)
        latest, base = out / "checkpoints" / "latest.pt", out / "checkpoints" / "base.pt"
        if not latest.exists():
            self._check_nothing_lost(latest, base)
        if not latest.exists() and not base.exists():
            # killed during the warm start (config.json is written first): redo it. It is seeded and
            # touches none of the loop's generators, so the run continues as if never interrupted.
            self.log("no checkpoint yet (the run stopped during its warm start): starting it again")
            (out / "checkpoints").mkdir(parents=True, exist_ok=True)
            (out / "evals").mkdir(parents=True, exist_ok=True)
            self._init_base()
            return self
        ck = load_checkpoint(latest if latest.exists() else base)  # CPU tensors: RNG states must stay on CPU
        self._load_state(ck)
        if steps is not None:
            if self.step > steps:
                self.close()
                raise ValueError(f"--resume {out} --steps {steps}: the run has already reached step {self.step}")
            on_disk = raw | {"steps": steps}  # the run's own config, device untouched, with its new length
            write_json(out / "config.json", on_disk)
            self.log(f"run length changed to {steps} steps (config.json rewritten)")
        self._complete_commit()
        return self

    def _recorded_progress(self) -> tuple[int, list[int]]:
        """(last step in metrics.parquet or 0, sorted steps of the evals under evals/)."""
        last = 0
        path = self.out / "metrics.parquet"
        if path.exists():
            import polars as pl

            try:
                steps = pl.read_parquet(path, columns=["step"])["step"]
            except Exception as exc:  # polars raises many types for a damaged file
                first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                raise ValueError(f"--resume {self.out}: metrics.parquet is unreadable ({first[:120]})") from None
            last = int(steps.max() or 0) if len(steps) else 0  # type: ignore[arg-type]  # polars types Series.max() as any literal; the step column is integer
        evals = set()
        for f in (self.out / "evals").glob("step_*.*"):
            if f.suffix in (".json", ".parquet") and f.stem[5:].isdigit():
                evals.add(int(f.stem[5:]))
        return last, sorted(evals)

    def _check_nothing_lost(self, latest: Path, base: Path) -> None:
        """With checkpoints/latest.pt absent, refuse to resume when the run shows it had saved one (or, without
        base.pt, that it went past its warm start): restarting would silently redo finished steps and
        overwrite metrics.parquet and evals/. A run killed before its first save continues from base.pt."""
        cfg = self.cfg
        last, evals = self._recorded_progress()
        save_every = cfg.eval_every if cfg.save_every is None else cfg.save_every
        # A step commits its checkpoint first, then its metrics row and evaluation (see run): a metrics
        # row or an eval at a save point shows that the save happened.
        reached = [e for e in evals if self._is_save_point(e)]
        if last:
            reached += [s for s in (last // save_every * save_every if save_every else 0, cfg.steps)
                        if s <= last and self._is_save_point(s)]
        shown = ", ".join(
            ([f"metrics.parquet records steps 1–{last}"] if last else [])
            + ([f"evals/ has step{'s' if len(evals) > 1 else ''} {', '.join(map(str, evals))}"] if evals else []))
        where = self.out / "checkpoints"
        if reached:
            raise ValueError(
                f"--resume {self.out}: {where / 'latest.pt'} is missing, but the run had saved it at step "
                f"{max(reached)} "
                f"({shown}); only the latest step checkpoint is kept, so there is none to continue from: "
                f"restore it, or start a new run with another --out")
        if not base.exists() and (last or evals):
            raise ValueError(
                f"--resume {self.out}: {where / 'base.pt'} is missing, but the run went past its warm start "
                f"({shown}); restore it, or start a new run with another --out")
        if last:
            first = min(save_every, cfg.steps) if save_every else cfg.steps
            self.log(f"note: no step checkpoint yet (the first is saved at step {first}): continuing from the base "
                     f"at step 0, so steps 1–{last} are run again")

    def _state(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "config": self.cfg.to_dict(),
            "model": self.model.state_dict(),
            "optimizer": self.opt.state_dict(),
            "rng": {
                "device": self.gen.device.type,  # a generator's state only fits generators of its device type
                "torch_generator": self.gen.get_state(),
                "torch_global": torch.get_rng_state(),
                # 128-bit PCG64 words as strings: checkpoints load with weights_only=True
                "numpy": json.dumps(self.np_rng.bit_generator.state),
                "python": json.dumps(self.py_rng.getstate()),
                # CPU float sums depend on how torch splits them over threads: the same count resumes bit-for-bit
                "torch_threads": torch.get_num_threads(),
            },
            "estimator_state": None if self.est_state is None else json.dumps(self.est_state.state_dict()),
            "metrics": json.dumps(self.metrics),
        }

    def _load_state(self, ck: dict[str, Any]) -> None:
        try:
            self.model.load_state_dict(ck["model"])
            self.step = int(ck.get("step", 0))
            if "optimizer" in ck:
                self.opt.load_state_dict(ck["optimizer"])
                rng = ck["rng"]
                self._restore_generator(rng)
                self._note_thread_count(rng.get("torch_threads"))
                torch.set_rng_state(rng["torch_global"])
                self.np_rng.bit_generator.state = json.loads(rng["numpy"])
                st = json.loads(rng["python"])
                self.py_rng.setstate((st[0], tuple(st[1]), st[2]))
                if self.est_state is not None and ck.get("estimator_state"):
                    self.est_state.load_state_dict(json.loads(ck["estimator_state"]))
                self.metrics = json.loads(ck["metrics"])
        except (KeyError, RuntimeError, TypeError, ValueError) as exc:
            raise ValueError(f"checkpoint does not match this run ({str(exc).splitlines()[0][:120]})") from None

    def _restore_generator(self, rng: dict[str, Any]) -> None:
        """Restore the sampling generator; reseed it (and say so) when the checkpoint's ran on another device.

        CPU and CUDA generators keep different states (Mersenne Twister vs Philox), so a run
        moved between devices cannot continue its draws: it continues from a fresh stream seeded
        by (seed, step), deterministic but not the stream an uninterrupted run would have used.
        Checkpoints without the "device" field are told apart by the size of their state.
        """
        state = rng["torch_generator"]
        mine = self.gen.get_state()
        saved = rng.get("device") or (self.gen.device.type if state.numel() == mine.numel() else "another device")
        if saved == self.gen.device.type and state.numel() == mine.numel():
            self.gen.set_state(state)
            return
        seed = int(np.random.SeedSequence([self.cfg.seed, self.step]).generate_state(1)[0])
        self.gen.manual_seed(seed)
        self.log(f"note: the checkpoint sampled on {saved}, this run continues on {self.gen.device.type}: "
                 f"the sampling stream is reseeded, so later steps differ from an uninterrupted run")

    def _note_thread_count(self, saved: object) -> None:
        """Say when a CPU run continues with another torch thread count than it was saved with: the run
        is as valid, but its float sums split differently, so it is not bit-for-bit an uninterrupted run."""
        now = torch.get_num_threads()
        if isinstance(saved, int) and saved != now and self.gen.device.type == "cpu":
            self.log(f"note: the checkpoint was written with {saved} torch threads, this process has {now}: later "
                     f"steps may differ from an uninterrupted run in the last bits (OMP_NUM_THREADS={saved} "
                     "continues it exactly)")

    def _base(self) -> GPT:
        if self.base_model is None:
            # its random init is overwritten at once; fork_rng keeps it from advancing the global generator,
            # whose state the checkpoints store (else a resumed run would save a different state)
            with torch.random.fork_rng(devices=[]):
                self.base_model = GPT(self.cfg.model).to(self.device)
            self.base_model.load_state_dict(load_checkpoint(self.out / "checkpoints" / "base.pt")["model"])
            self.base_model.requires_grad_(False)
        return self.base_model

    # -- one step -----------------------------------------------------------------------
    def train_step(self) -> dict[str, Any]:
        """Sample, verify, compute advantages and update once; returns the step's metrics."""
        cfg = self.cfg
        t0 = time.perf_counter()
        B, n = cfg.prompts_per_step, cfg.n
        idx = self.np_rng.choice(len(self.train_set), size=B, replace=len(self.train_set) < B)  # (B,)
        probs = [self.train_set[i] for i in idx]
        s = sample(self.model, [self.tok.encode(self.task.prompt(p)) for p in probs], n, max_new=self.max_new,
                   temperature=cfg.temperature, top_p=cfg.top_p, generator=self.gen)
        texts = _decode_all(self.tok, s)
        rewards = np.array([self.task.verify(probs[i // n], t) for i, t in enumerate(texts)]).reshape(B, n)  # (B, n)
        classes = [self.task.answer_class(probs[i // n], t) if rewards.flat[i] > 0 else None for i, t in enumerate(texts)]
        answers = np.array([answer_id(c if c is not None else "wrong:" + t) for c, t in zip(classes, texts)],
                           dtype=np.int64).reshape(B, n)  # (B, n)
        seq_lp = s.seq_logprobs.double().cpu().numpy().reshape(B, n)  # (B, n)
        in_force: str | None = None  # a scheduled objective's mix at this step, logged
        if self.composite is None:
            adv = advantage(self.obj_name, rewards, answers=answers, logprobs=seq_lp, state=self.est_state,
                            prompt_ids=idx.astype(np.int64), **self.obj_params)  # (B, n)
        else:
            adv = advantage(self.composite, rewards, answers=answers, logprobs=seq_lp,
                            prompt_ids=idx.astype(np.int64), step=self.step)  # (B, n)
            in_force = str(self.composite.at(self.step)) if self.composite.scheduled else None
        A = torch.as_tensor(np.asarray(adv, dtype=np.float32).reshape(-1), device=self.device)  # (N,)
        old = s.logprobs  # (N, M)
        base_lp = None
        if cfg.kl_coef > 0:
            with torch.no_grad():
                base_lp, _ = sequence_logprobs(self._base(), s, cfg.temperature)  # (N, M)
        stats: dict[str, float] = {}
        self.model.train()
        for _ in range(cfg.ppo_epochs):
            new, ent = sequence_logprobs(self.model, s, cfg.temperature, with_entropy=True)  # (N, M), (N, M)
            loss, ratio = clipped_policy_loss(new, old, A, s.mask, cfg.clip_eps)  # ratio = 1 on the first epoch
            pg_loss = loss.detach()  # the objective's part alone; loss adds the KL and entropy terms below
            ntok = s.mask.sum().clamp(min=1)
            ent_mean = mean_token_entropy(ent, s.mask)
            loss = loss - cfg.entropy_coef * ent_mean
            kl = torch.zeros(())
            if base_lp is not None:
                kl = k3_kl(base_lp, new, s.mask)
                loss = loss + cfg.kl_coef * kl
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            gnorm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
            if not math.isfinite(float(gnorm)):  # stop before a non-finite update poisons the weights and sampler
                raise ValueError(f"step {self.step + 1}: the gradient is not finite (loss {float(loss.detach()):g}); "
                                 f"training diverged (lower lr, now {cfg.lr:g}, or kl_coef / entropy_coef)")
            self.opt.step()
            clipped = ((ratio - 1).abs() > cfg.clip_eps) & s.mask
            stats = {"loss": float(loss.detach()), "pg_loss": float(pg_loss), "entropy": float(ent_mean.detach()),
                     "kl": float(kl.detach()),
                     "clip_frac": float(clipped.sum() / ntok), "grad_norm": float(gnorm)}
        self.step += 1
        self.last_batch = (s, rewards, adv)  # for inspection (tests, notebooks)
        distinct = [len({c for c in classes[g * n:(g + 1) * n] if c is not None}) for g in range(B)]
        m = exploration_metrics((rewards >= 1.0).reshape(-1), np.repeat(np.arange(B), n), ks=[1])
        return {
            "step": self.step,
            "reward": float(rewards.mean()),
            "pass1": m["pass@1"],
            "solved_groups": 1.0 - m["never_solved"],
            "zero_adv_frac": float((np.abs(adv) < 1e-12).all(1).mean()),
            "distinct_correct": float(np.mean(distinct)),
            "completion_len": float(s.mask.sum(1).float().mean()),
            **stats,
            **({"objective_in_force": in_force} if in_force is not None else {}),
            "seconds": time.perf_counter() - t0,
        }

    # -- evaluation ---------------------------------------------------------------------
    def evaluate(self, step: int | None = None, chunk: int = 16) -> dict[str, Any]:
        """Sample ``eval_n`` completions per held-out problem; write rows and summary under evals/."""
        cfg = self.cfg
        step = self.step if step is None else step
        gen = torch.Generator(device=self.device).manual_seed(cfg.seed * 1_000_003 + step)  # independent of training draws
        texts: list[str] = []
        nll, ntok = 0.0, 0
        for i in range(0, len(self.eval_set), chunk):
            part = self.eval_set[i:i + chunk]
            s = sample(self.model, [self.tok.encode(self.task.prompt(p)) for p in part], cfg.eval_n,
                       max_new=self.max_new, temperature=cfg.temperature, top_p=cfg.top_p, generator=gen)
            texts += _decode_all(self.tok, s)
            nll -= float(s.logprobs.sum())
            ntok += int(s.mask.sum())
        rows = eval_rows(self.task, self.eval_set, texts, cfg.eval_n, step)
        summary = eval_summary(rows, cfg.eval_n, cfg.n, nll / max(ntok, 1), seed=cfg.seed) | {"step": step}
        write_parquet(self.out / "evals" / f"step_{step:06d}.parquet", rows)
        write_json(self.out / "evals" / f"step_{step:06d}.json", summary)
        return summary

    def save(self) -> None:
        save_checkpoint(self.out / "checkpoints" / "latest.pt", self._state())

    def close(self) -> None:
        """Release the run directory (its lock) without running; :meth:`run` takes it again."""
        self._lock.release()

    def _is_save_point(self, step: int) -> bool:
        """Steps that save latest.pt: every ``save_every`` (default ``eval_every``) and the last."""
        save_every = self.cfg.eval_every if self.cfg.save_every is None else self.cfg.save_every
        return 1 <= step <= self.cfg.steps and (step == self.cfg.steps or bool(save_every) and step % save_every == 0)

    def _is_eval_point(self, step: int) -> bool:
        """Steps evaluated after training: every ``eval_every`` and the last."""
        return 1 <= step <= self.cfg.steps and (step == self.cfg.steps or bool(self.cfg.eval_every)
                                                 and step % self.cfg.eval_every == 0)

    def _complete_commit(self) -> None:
        """After loading a checkpoint: write what the step after its save may not have (a kill between
        the save and the rows): metrics.parquet as the checkpoint holds it (rows of later, unsaved steps
        are dropped; they are re-run), and the step's evaluation (its sampler is seeded by the step)."""
        if self.step == 0:
            return
        write_parquet(self.out / "metrics.parquet", self.metrics)
        if self._is_eval_point(self.step) and not (self.out / "evals" / f"step_{self.step:06d}.json").exists():
            self.log(f"writing the evaluation of step {self.step}, which the interrupted run had not")
            self.evaluate(self.step)

    # -- loop ---------------------------------------------------------------------------
    def run(self, stop_after: int | None = None) -> list[dict[str, Any]]:
        """Train until ``cfg.steps`` (or ``stop_after`` steps in total, to simulate a kill);
        evaluate at step 0 and every ``eval_every`` steps, checkpoint every ``save_every``.

        Each step commits in one order: the checkpoint (when it is a save point), then the
        metrics row, then the evaluation. The checkpoint is the commit point: a kill at any
        instant leaves either an older checkpoint (the steps after it are re-run, bit for bit)
        or this one, whose missing rows and evaluation :meth:`resume` writes from it.

        The run directory's lock (taken by the constructor) is released when this returns."""
        cfg = self.cfg
        end = cfg.steps if stop_after is None else min(cfg.steps, stop_after)
        self._lock.acquire()
        if self.step == 0 and not (self.out / "evals" / "step_000000.json").exists() and cfg.eval_every:
            self.evaluate(0)
        bar = None
        if self.progress:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            bar = Progress(TextColumn("[bold]train"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                           TextColumn("{task.description}"), transient=False)
            bar.start()
            tid = bar.add_task("", total=cfg.steps, completed=self.step)
        try:
            while self.step < end:
                m = self.train_step()
                self.metrics.append(m)
                if self._is_save_point(self.step):
                    self.save()
                write_parquet(self.out / "metrics.parquet", self.metrics)
                if bar is not None:
                    bar.update(tid, advance=1, description=(
                        f"reward {m['reward']:.3f}  pass@1 {m['pass1']:.3f}  H {m['entropy']:.3f}  "
                        f"zero-adv {m['zero_adv_frac']:.2f}  {m['seconds']:.2f}s/step"))
                if self._is_eval_point(self.step):
                    ev = self.evaluate()
                    if cfg.eval_every:
                        self.log(f"step {self.step}: held-out pass@1 {ev['pass_at_k']['estimate'][0]:.3f}")
        finally:
            if bar is not None:
                bar.stop()
            self._lock.release()  # done writing: another process (or a resume) may take the run now
        return self.metrics
