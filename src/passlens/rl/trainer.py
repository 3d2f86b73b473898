"""The RLVR loop: sample → verify → registry advantages → clipped policy gradient, with evals and resume.

Loss per step (N = B·n samples, tokens t of completion y_i, ratio ρ_it = π_θ/π_old):

    L = −(1/N) Σ_i Σ_t min(ρ_it A_i, clip(ρ_it, 1 ± ε) A_i)  +  β_KL (1/N) Σ_i Σ_t k3_it  −  β_H · H̄

With one inner epoch ρ = 1 and ∇L = −(1/N) Σ_i A_i ∇log π(y_i), the gradient estimate of
``passlens.advantages`` (their scale convention: the group *mean* of A_i ∇log π(y_i)). The
sequence log-probability is a *sum* over tokens, so no length normalization biases it.
k3 = exp(r) − r − 1 with r = log π_base − log π_θ per token (Schulman 2020, "Approximating KL
divergence"), H̄ the mean per-token entropy. PPO clipping: Schulman et al. 2017, arXiv 1707.06347, Eq. 7.

Run directory: ``config.json``, ``metrics.parquet`` (one row per step), ``evals/step_XXXXXX.parquet``
(per-sample rows problem_id, sample_id, reward, answer, step; readable by ``passlens eval``) and
``evals/step_XXXXXX.json`` (summary), ``checkpoints/base.pt`` and ``checkpoints/latest.pt``.
Every file is written to a temporary name and renamed.
"""

from __future__ import annotations

import dataclasses
import json
import math
import random
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from ..advantages import REGISTRY, advantage, parse_spec
from .checkpoint import load_checkpoint, save_checkpoint, write_json, write_parquet
from .model import GPT, ModelConfig
from .sampler import Samples, sample, sequence_logprobs
from .tasks import Problem, Task, answer_id, make_task
from .tokenizer import CharTokenizer
from .warmstart import WarmStartConfig, warm_start

__all__ = ["TrainConfig", "Trainer", "resolve_device", "eval_rows", "eval_summary"]


@dataclasses.dataclass
class TrainConfig:
    """Everything a run depends on (stored as ``config.json``).

    Attributes:
      task, difficulty: task name and knob (None = the task's default).
      objective: advantage spec, e.g. "rloo" or "pkpo:k=8".
      steps: RL steps; prompts_per_step B and n samples each.
      lr, weight_decay, grad_clip: AdamW and gradient-norm clipping.
      ppo_epochs, clip_eps: inner epochs over each batch and PPO clip range.
      kl_coef, entropy_coef: KL-to-base (k3) and entropy-bonus weights.
      temperature, top_p, max_new: sampling (max_new None = task's answer length + 1).
      train_problems, eval_problems: sizes of the train pool and the held-out set.
      eval_every, eval_n: eval period (0 = only at the end) and samples per held-out problem.
      save_every: checkpoint period (None = eval_every, 0 = only at the end).
      seed: one seed for everything.
      device: "auto" | "cpu" | "cuda".
      model: architecture; warm: warm-start settings; base: path of a base checkpoint
        (skips the warm start).
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

    def __post_init__(self) -> None:
        if isinstance(self.model, dict):
            self.model = ModelConfig(**self.model)
        if isinstance(self.warm, dict):
            self.warm = WarmStartConfig(**self.warm)
        parse_spec(self.objective)  # ValueError listing valid names
        make_task(self.task, self.difficulty)  # ValueError listing valid tasks
        for name in ("steps", "prompts_per_step", "n", "ppo_epochs", "train_problems", "eval_problems", "eval_n"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be an int ≥ 1, got {v!r}")
        if self.eval_every < 0 or (self.save_every is not None and self.save_every < 0):
            raise ValueError("eval_every and save_every must be ≥ 0")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ValueError(f"device must be auto, cpu or cuda, got {self.device!r}")
        if not (self.temperature > 0 and 0 < self.top_p <= 1 and self.clip_eps > 0):
            raise ValueError("need temperature > 0, 0 < top_p ≤ 1 and clip_eps > 0")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"config has unknown field(s) {', '.join(unknown)}")
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
    from .. import theory
    from ..uncertainty import curve

    P = len(rows) // n
    R = np.array([r["reward"] for r in rows]).reshape(P, n)  # (P, n)
    c = (R >= 1.0).sum(1).astype(np.int64)  # (P,)
    nn_ = np.full(P, n, dtype=np.int64)  # (P,)
    ks = np.array(sorted({1 << i for i in range(n.bit_length()) if 1 << i <= n} | {n}), dtype=np.int64)
    cur = curve(nn_, c, ks, n_boot=1000, seed=seed)
    th = theory.summarize(nn_, c, ks=ks, group_size=min(group_size, n))
    distinct = [len({rows[i * n + j]["answer"] for j in range(n) if R[i, j] >= 1.0}) for i in range(P)]
    return {
        "problems": P,
        "n": n,
        "pass_at_k": cur.to_dict(),
        "gap": {int(k): (None if not math.isfinite(g) else float(g)) for k, g in zip(th.ks, th.gap_mean)},
        "theory": th.to_dict(),
        "polarized_fraction": float(np.mean((c == 0) | (c == n))),
        "never_solved": float(np.mean(c == 0)),
        "always_solved": float(np.mean(c == n)),
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
        if not _resume:
            if (self.out / "config.json").exists():
                raise ValueError(f"{self.out} already holds a run; use --resume {self.out} or another --out")
            try:
                for sub in ("evals", "checkpoints"):
                    (self.out / sub).mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ValueError(f"cannot create output folder {self.out}: {exc.strerror or exc}") from None
            write_json(self.out / "config.json", cfg.to_dict())
        self.tok = CharTokenizer()
        if cfg.model.vocab_size != self.tok.vocab_size:
            raise ValueError(f"model.vocab_size must be {self.tok.vocab_size} (the tokenizer's)")
        self.task = make_task(cfg.task, cfg.difficulty)
        self.train_set = self.task.problems("train", cfg.train_problems, cfg.seed)
        self.eval_set = self.task.problems("test", cfg.eval_problems, cfg.seed)
        self.max_new = cfg.max_new or self.task.max_answer_len + 1
        self.obj_name, self.obj_params = parse_spec(cfg.objective)
        spec = REGISTRY[self.obj_name]
        if "k" in self.obj_params and self.obj_params["k"] > cfg.n:
            raise ValueError(f"objective {cfg.objective}: k={self.obj_params['k']} exceeds n={cfg.n} samples per prompt")
        self.est_state = spec.new_state() if spec.new_state is not None else None
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
            self._init_base()

    # -- setup ------------------------------------------------------------------------
    def _init_base(self) -> None:
        base_path = self.out / "checkpoints" / "base.pt"
        if self.cfg.base:
            ck = load_checkpoint(self.cfg.base)
            try:
                self.model.load_state_dict(ck["model"])
            except RuntimeError:
                raise ValueError(f"--base {self.cfg.base}: its architecture differs from this run's model config") from None
        else:
            self.log(f"warm start: {self.cfg.warm.steps} supervised steps on {len(self.train_set)} problems")
            warm_start(self.model, self.task, self.train_set, self.cfg.warm, seed=self.cfg.seed, tokenizer=self.tok)
        save_checkpoint(base_path, {"model": self.model.state_dict(), "config": self.cfg.to_dict(), "step": 0})

    @classmethod
    def resume(cls, out: str | Path, *, progress: bool = False, log: Callable[[str], None] | None = None,
               device: str | None = None) -> "Trainer":
        """Reopen a run directory at its latest checkpoint (model, optimizer, RNG and estimator state).

        ``device`` overrides the run's configured device for this process (config.json is
        not changed); a checkpoint sampled on another device type continues reseeded (see
        :meth:`_restore_generator`).
        """
        out = Path(out)
        try:
            cfg = TrainConfig.from_dict(json.loads((out / "config.json").read_text()))
        except OSError:
            raise ValueError(f"--resume {out}: no config.json there (not a run directory)") from None
        except (json.JSONDecodeError, TypeError) as exc:
            raise ValueError(f"--resume {out}: config.json is unreadable ({exc})") from None
        if device is not None:
            cfg = dataclasses.replace(cfg, device=device)
        self = cls(cfg, out, progress=progress, log=log, _resume=True)
        latest, base = out / "checkpoints" / "latest.pt", out / "checkpoints" / "base.pt"
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
        return self

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

    def _base(self) -> GPT:
        if self.base_model is None:
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
        adv = advantage(self.obj_name, rewards, answers=answers, logprobs=seq_lp, state=self.est_state,
                        prompt_ids=idx.astype(np.int64), **self.obj_params)  # (B, n)
        A = torch.as_tensor(np.asarray(adv, dtype=np.float32).reshape(-1), device=self.device)  # (N,)
        old = s.logprobs  # (N, M)
        N = B * n
        base_lp = None
        if cfg.kl_coef > 0:
            with torch.no_grad():
                base_lp, _ = sequence_logprobs(self._base(), s, cfg.temperature)  # (N, M)
        stats: dict[str, float] = {}
        self.model.train()
        for _ in range(cfg.ppo_epochs):
            new, ent = sequence_logprobs(self.model, s, cfg.temperature, with_entropy=True)  # (N, M), (N, M)
            ratio = torch.exp(new - old)  # (N, M); = 1 on the first epoch
            pg = torch.minimum(ratio * A[:, None], ratio.clamp(1 - cfg.clip_eps, 1 + cfg.clip_eps) * A[:, None])
            loss = -(pg * s.mask).sum() / N  # sum over tokens, mean over samples
            ntok = s.mask.sum().clamp(min=1)
            ent_mean = ent.sum() / ntok
            loss = loss - cfg.entropy_coef * ent_mean
            kl = torch.zeros(())
            if base_lp is not None:
                r = (base_lp - new) * s.mask  # (N, M)
                kl = ((torch.exp(r) - r - 1) * s.mask).sum() / N  # k3 per sequence, mean over samples
                loss = loss + cfg.kl_coef * kl
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            gnorm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
            self.opt.step()
            clipped = ((ratio - 1).abs() > cfg.clip_eps) & s.mask
            stats = {"loss": float(loss.detach()), "entropy": float(ent_mean.detach()), "kl": float(kl.detach()),
                     "clip_frac": float(clipped.sum() / ntok), "grad_norm": float(gnorm)}
        self.step += 1
        self.last_batch = (s, rewards, adv)  # for inspection (tests, notebooks)
        distinct = [len({c for c in classes[g * n:(g + 1) * n] if c is not None}) for g in range(B)]
        return {
            "step": self.step,
            "reward": float(rewards.mean()),
            "pass1": float((rewards >= 1.0).mean()),
            "solved_groups": float((rewards >= 1.0).any(1).mean()),
            "zero_adv_frac": float((np.abs(adv) < 1e-12).all(1).mean()),
            "distinct_correct": float(np.mean(distinct)),
            "completion_len": float(s.mask.sum(1).float().mean()),
            **stats,
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

    # -- loop ---------------------------------------------------------------------------
    def run(self, stop_after: int | None = None) -> list[dict[str, Any]]:
        """Train until ``cfg.steps`` (or ``stop_after`` steps in total, to simulate a kill);
        evaluate at step 0 and every ``eval_every`` steps, checkpoint every ``save_every``."""
        cfg = self.cfg
        save_every = cfg.eval_every if cfg.save_every is None else cfg.save_every
        end = cfg.steps if stop_after is None else min(cfg.steps, stop_after)
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
                write_parquet(self.out / "metrics.parquet", self.metrics)
                if bar is not None:
                    bar.update(tid, advance=1, description=(
                        f"reward {m['reward']:.3f}  pass@1 {m['pass1']:.3f}  H {m['entropy']:.3f}  "
                        f"zero-adv {m['zero_adv_frac']:.2f}  {m['seconds']:.2f}s/step"))
                last = self.step == cfg.steps
                if cfg.eval_every and (self.step % cfg.eval_every == 0 or last):
                    ev = self.evaluate()
                    self.log(f"step {self.step}: held-out pass@1 {ev['pass_at_k']['estimate'][0]:.3f}")
                elif last:
                    self.evaluate()
                if (save_every and self.step % save_every == 0) or last:
                    self.save()
        finally:
            if bar is not None:
                bar.stop()
        return self.metrics
