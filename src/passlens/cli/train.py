"""``passlens train``: a thin typer layer over :mod:`passlens.rl.trainer` (no math here).

torch is imported only when the command runs. Bad names, unwritable folders and corrupt
checkpoints raise ValueError with one line; the entry point prints it and exits 2.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import typer
from rich.markup import escape

from ..advantages import REGISTRY
from ..report.tables import held_out_table
from ..rl.tasks import TASKS
from ._common import Interrupted, console

__all__ = ["train_cmd"]

_TASKS = ", ".join(sorted(TASKS))
_OBJECTIVES = ", ".join(REGISTRY)


#: TrainConfig field → the option that sets it (errors name the option the user typed).
_OPTION = {
    "task": "--task", "objective": "--objective", "steps": "--steps", "device": "--device",
    "difficulty": "--difficulty", "prompts_per_step": "--prompts-per-step", "n": "--n", "lr": "--lr",
    "ppo_epochs": "--ppo-epochs", "clip_eps": "--clip-eps", "kl_coef": "--kl", "entropy_coef": "--entropy-bonus",
    "temperature": "--temperature", "top_p": "--top-p", "eval_every": "--eval-every", "eval_n": "--eval-n",
    "eval_problems": "--eval-problems", "seed": "--seed", "base": "--base", "warm.steps": "--warm-steps",
}


def _log(message: str) -> None:
    """A trainer status line, printed as text (it may hold paths: no markup)."""
    console.print(escape(message))


class _DuplicateKey(Exception):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """json object hook: a key given twice is an error (json.loads would keep the last silently)."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def train_cmd(
    task: Optional[str] = typer.Option(None, "--task", help=f"Task: {_TASKS}. Default countdown."),
    objective: Optional[str] = typer.Option(
        None, "--objective", help=f"Advantage estimator spec, e.g. rloo or pkpo:k=8. One of: {_OBJECTIVES}. Default rloo. "
        "Or a composite: a mix rloo@0.7+coverage:k=8@0.3, a schedule coverage:k=8/300/rloo (switch at step 300) "
        "or coverage:k=8/200-400/rloo (linear anneal), k over steps pkpo:k=16-2,steps=0-300."
    ),
    steps: Optional[int] = typer.Option(None, "--steps", help="RL steps (default 300)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Run directory to create (default runs/<task>-<objective>)."),
    resume: Optional[Path] = typer.Option(None, "--resume", help="Continue the run in this directory from its latest checkpoint (its config.json is used; "
                                           "--steps N with it extends the run to N steps)."),
    base: Optional[Path] = typer.Option(None, "--base", help="Start from this checkpoint instead of a supervised warm start."),
    config: Optional[Path] = typer.Option(None, "--config", help="JSON file of TrainConfig fields (options given here override it)."),
    device: Optional[str] = typer.Option(
        None, "--device", help="auto (GPU when present) | cpu | cuda. With --resume: this process only."
    ),
    difficulty: Optional[int] = typer.Option(None, "--difficulty", help="Task difficulty knob (default: the task's)."),
    batch: Optional[int] = typer.Option(None, "--prompts-per-step", help="Prompts per step (default 32)."),
    n: Optional[int] = typer.Option(None, "--n", help="Samples per prompt (default 8)."),
    lr: Optional[float] = typer.Option(None, "--lr", help="AdamW learning rate (default 3e-4)."),
    ppo_epochs: Optional[int] = typer.Option(None, "--ppo-epochs", help="Inner epochs per batch (default 1; >1 uses PPO clipping)."),
    clip_eps: Optional[float] = typer.Option(None, "--clip-eps", help="PPO clip range (default 0.2)."),
    kl_coef: Optional[float] = typer.Option(None, "--kl", help="KL-to-base weight (default 0)."),
    entropy_coef: Optional[float] = typer.Option(None, "--entropy-bonus", help="Entropy bonus weight (default 0)."),
    temperature: Optional[float] = typer.Option(None, "--temperature", help="Sampling temperature (default 1)."),
    top_p: Optional[float] = typer.Option(None, "--top-p", help="Nucleus mass (default 1)."),
    eval_every: Optional[int] = typer.Option(None, "--eval-every", help="Held-out eval period in steps (default 50; 0 = end only)."),
    eval_n: Optional[int] = typer.Option(None, "--eval-n", help="Samples per held-out problem (default 64)."),
    eval_problems: Optional[int] = typer.Option(None, "--eval-problems", help="Held-out problems (default 64)."),
    warm_steps: Optional[int] = typer.Option(None, "--warm-steps", help="Supervised warm-start steps (default 300)."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Seed of everything (default 0)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Live progress bar."),
) -> None:
    """RL with verifiable rewards on a small transformer: warm start, sample, verify, policy gradient.

    Example: passlens train --task countdown --objective pkpo:k=8 --steps 300 --out runs/pkpo8
    """
    from ..rl._fields import ConfigError
    from ..rl.trainer import TrainConfig, Trainer

    if resume is not None:
        given = {
            "--task": task, "--objective": objective, "--out": out, "--base": base,
            "--config": config, "--difficulty": difficulty, "--prompts-per-step": batch,
            "--n": n, "--lr": lr, "--ppo-epochs": ppo_epochs, "--clip-eps": clip_eps, "--kl": kl_coef,
            "--entropy-bonus": entropy_coef, "--temperature": temperature, "--top-p": top_p,
            "--eval-every": eval_every, "--eval-n": eval_n, "--eval-problems": eval_problems,
            "--warm-steps": warm_steps, "--seed": seed,
        }
        extra = [name for name, value in given.items() if value is not None]
        if extra:  # the run's config.json decides everything on resume; say so rather than ignore
            raise ValueError(f"--resume continues {resume} with its own config.json (only --device and --steps "
                             f"may change); "
                             f"drop {', '.join(extra)}")
        if device is not None and device not in ("auto", "cpu", "cuda"):  # checked before the run is loaded
            raise ValueError(f"--device: must be auto, cpu or cuda, got {device!r}")
        trainer = Trainer.resume(resume, progress=progress, log=_log, device=device, steps=steps)
        console.print(f"resuming {escape(str(resume))} at step {trainer.step} of {trainer.cfg.steps}")
    else:
        fields: dict[str, Any] = {}
        if config is not None:
            try:
                fields = json.loads(config.read_text(encoding="utf-8"), object_pairs_hook=_unique_keys)
            except UnicodeDecodeError as exc:
                raise ValueError(f"--config {config}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at byte "
                                 f"{exc.start + 1}); give a JSON object of TrainConfig fields") from None
            except (OSError, json.JSONDecodeError) as exc:
                raise ValueError(f"--config {config}: cannot read JSON ({exc})") from None
            except _DuplicateKey as exc:
                raise ValueError(f"--config {config}: field {exc.args[0]!r} is given twice") from None
            if not isinstance(fields, dict):
                raise ValueError(f"--config {config}: expected a JSON object of TrainConfig fields")
        given = {
            "task": task, "objective": objective, "steps": steps, "device": device, "difficulty": difficulty,
            "prompts_per_step": batch, "n": n, "lr": lr, "ppo_epochs": ppo_epochs, "clip_eps": clip_eps,
            "kl_coef": kl_coef, "entropy_coef": entropy_coef, "temperature": temperature, "top_p": top_p,
            "eval_every": eval_every, "eval_n": eval_n, "eval_problems": eval_problems, "seed": seed,
            "base": None if base is None else str(base),
        }
        from_options = {k for k, v in given.items() if v is not None}
        fields.update({k: given[k] for k in from_options})
        if warm_steps is not None:
            from_options.add("warm.steps")
            warm = fields.get("warm", {})  # a non-object "warm" in the file is reported as such below
            fields["warm"] = {**warm, "steps": warm_steps} if isinstance(warm, dict) else warm
        try:
            cfg = TrainConfig.from_dict(fields)
        except ConfigError as exc:  # name where the bad value came from: an option, else the file
            options = [_OPTION[f] for f in exc.fields if f in from_options]
            if options:
                raise ValueError(f"{', '.join(options)}: {exc}") from None
            where = f"--config {config}" if config is not None else "bad configuration"
            raise ValueError(f"{where}: {exc}") from None
        except TypeError as exc:
            raise ValueError(f"bad configuration: {exc}") from None
        if out is None:
            out = Path("runs") / f"{cfg.task}-{cfg.objective.replace(':', '_').replace(',', '_').replace('=', '').replace('/', '_')}"
        trainer = Trainer(cfg, out, progress=progress, log=_log)
        console.print(
            f"run {escape(str(out))}: task {escape(cfg.task)}, objective {escape(cfg.objective)}, "
            f"{trainer.model.num_params():,} parameters on {trainer.device}"
        )
    try:
        trainer.run()
    except KeyboardInterrupt:
        raise Interrupted(f"interrupted at step {trainer.step} of {trainer.cfg.steps}; "
                          f"'passlens train --resume {trainer.out}' continues from its last checkpoint") from None
    _print_last_eval(trainer.out)


def _print_last_eval(out: Path) -> None:
    evals = sorted((out / "evals").glob("step_*.json"))
    if not evals:
        return
    s = json.loads(evals[-1].read_text())
    console.print(held_out_table(s))
    console.print(
        f"  polarized {s['polarized_fraction']:.3f}   distinct correct/problem {s['distinct_correct_mean']:.2f}"
        f"   entropy {s['entropy']:.3f}   rows: {escape(str(evals[-1].with_suffix('.parquet')))}"
    )
