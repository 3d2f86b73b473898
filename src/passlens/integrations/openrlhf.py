"""passlens advantages in OpenRLHF (0.11.x): a pure function and a subclass recipe.

OpenRLHF hard-codes its group baselines: ``RemoteExperienceMaker.compute_advantages_and_returns``
(``openrlhf/trainer/ppo_utils/experience_maker.py``) puts the rewards of a rollout batch
back in prompt order (``experience.index``), reshapes them to (prompts,
n_samples_per_prompt), and branches on ``args.algo.advantage.estimator`` (``rloo``,
``reinforce_baseline`` / ``dr_grpo``, ``group_norm``, ``flash_reinforce``). Its package
needs deepspeed and flash-attn, so nothing here imports it:

* :func:`group_advantages` — ``passlens.advantage`` on that (prompts, n) reward tensor;
* :func:`replace_rewards` — the same on a list of OpenRLHF ``Experience`` objects, in place
  (rewards gathered by ``experience.index`` exactly as OpenRLHF does, scattered back);
* :func:`passlens_experience_maker` — a subclass of a given ``RemoteExperienceMaker`` class
  that replaces the rewards with passlens advantages, then runs OpenRLHF's own method with
  its baseline branch skipped;
* :func:`install` / :func:`setup_hook` / ``python -m passlens.integrations.openrlhf`` — put
  that subclass where OpenRLHF's ``PPOTrainer`` (a Ray actor, in its own process) builds
  its experience maker: ``openrlhf.trainer.ppo_trainer.RemoteExperienceMaker``.

The recipe (docs/integrations/openrlhf.md) runs it with
``--algo.advantage.estimator dr_grpo``: OpenRLHF then takes the cumulative-returns path
with γ = 1 and **no** global whitening (``reinforce``, ``reinforce_baseline`` and ``gae``
re-centre and rescale advantages over the whole batch, which breaks the registry's
unbiasedness). Length penalties (DAPO overlong, ProRL stop-properly), when enabled, are
applied by OpenRLHF after this replacement, so they add to the advantage instead of
passing through the estimator.
"""

from __future__ import annotations

import itertools
import os
import runpy
import sys
from typing import Any, Callable, Sequence

import numpy as np

from ..advantages import REGISTRY, advantage, parse_spec
from ..grouping import answer_ids, to_numpy

__all__ = [
    "group_advantages",
    "replace_rewards",
    "passlens_experience_maker",
    "install",
    "setup_hook",
    "main",
    "SKIP_BASELINE",
    "SPEC_ENV",
]

#: The estimator name the subclass sets while OpenRLHF shapes rewards: it matches none of
#: OpenRLHF's baseline branches nor its whitening list, so the passlens advantages pass through.
SKIP_BASELINE = "passlens"


def group_advantages(
    spec: str,
    rewards: Any,
    *,
    answers: Any = None,
    logprobs: Any = None,
    state: Any = None,
    prompt_ids: Any = None,
    **params: Any,
) -> Any:
    """The registry estimator ``spec`` on OpenRLHF's (prompts, n_samples_per_prompt) rewards.

    Args:
      spec: registry name or spec string (``"pkpo:k=8"``); ``params`` add to it.
      rewards: float (B, n) torch tensor (or numpy), one row per prompt, as OpenRLHF
        builds it with ``reshape(-1, n_samples_per_prompt)``.
      answers: (B, n) ints, or (B·n,) answers of any kind in row-major order
        (strings are mapped by :func:`passlens.integrations.answer_ids`).
      logprobs: float (B, n) sequence log-probabilities (``unlikeliness``).
      state, prompt_ids: for ``novelty`` (an ``AnswerCounts`` kept across steps; (B,) ids).

    Returns:
      float (B, n), same type, dtype and device as ``rewards``.
    """
    shape = tuple(np.shape(to_numpy(rewards)))
    if answers is not None:
        a = to_numpy(answers)
        answers = (a if a.dtype.kind in "iu" and a.ndim == 2 else answer_ids(a.reshape(-1))).reshape(shape)
    return advantage(spec, rewards, answers=answers, logprobs=logprobs, state=state, prompt_ids=prompt_ids, **params)


def _gather_order(experiences: Sequence[Any]) -> tuple[np.ndarray, list[int]]:
    """Positions in prompt order of every sample of the experiences, and each experience's size."""
    sizes = [len(e.index) for e in experiences]
    indices = np.fromiter(itertools.chain.from_iterable(e.index for e in experiences), dtype=np.int64)
    if indices.size and not np.array_equal(np.sort(indices), np.arange(indices.size)):
        raise ValueError("experience.index must number the samples 0..N−1 once each (OpenRLHF's rollout order)")
    return indices, sizes


def replace_rewards(
    experiences: Sequence[Any],
    spec: str,
    n_samples_per_prompt: int,
    *,
    answers: Sequence[Any] | None = None,
    use_logprobs: bool = False,
    state: Any = None,
    prompt_ids: Sequence[Any] | None = None,
    **params: Any,
) -> None:
    """Replace ``experience.rewards`` with the group advantages of ``spec``, in place.

    OpenRLHF's convention: ``experience.index[i]`` is the position of the experience's
    i-th sample in the rollout batch, whose samples are prompt-major (sample j of prompt
    p at p·n + j). The rewards are put in that order, reshaped to (prompts, n), passed
    through :func:`group_advantages`, and split back to the experiences.

    Args:
      experiences: OpenRLHF ``Experience`` objects (``.index``: list of ints, ``.rewards``:
        float (b,) tensor; with ``use_logprobs`` also ``.action_log_probs`` and
        ``.action_mask`` (b, T)).
      spec: registry spec; n_samples_per_prompt: n.
      answers: optional per-sample answers in the experiences' own order (concatenated).
      use_logprobs: pass sequence log-probs Σ_t action_log_probs·action_mask (``unlikeliness``).
      state, prompt_ids: for ``novelty``; ``prompt_ids`` one per prompt (B,).
    """
    if not experiences:
        return
    indices, sizes = _gather_order(experiences)
    N = indices.size
    n = int(n_samples_per_prompt)
    if n < 1 or N % n:
        raise ValueError(f"{N} samples do not split into groups of n_samples_per_prompt={n}")
    import torch

    raw = torch.cat([e.rewards for e in experiences])
    ordered = torch.empty_like(raw)
    pos = torch.as_tensor(indices, device=raw.device)
    ordered[pos] = raw  # prompt-major
    kw: dict[str, Any] = {"state": state, "prompt_ids": prompt_ids}
    if answers is not None:
        ids = answer_ids(answers)
        if ids.size != N:
            raise ValueError(f"answers has {ids.size} entries for {N} samples")
        a = np.empty(N, dtype=np.int64)
        a[indices] = ids
        kw["answers"] = a.reshape(-1, n)
    if use_logprobs:
        lp = torch.cat([(e.action_log_probs * e.action_mask).sum(-1) for e in experiences])
        lp_ordered = torch.empty_like(lp)
        lp_ordered[pos] = lp
        kw["logprobs"] = lp_ordered.reshape(-1, n)
    adv = group_advantages(spec, ordered.reshape(-1, n), **kw, **params).reshape(-1)
    for e, part in zip(experiences, adv[pos].split(sizes)):
        e.rewards = part.to(e.rewards.dtype)


def passlens_experience_maker(
    base: type,
    spec: str,
    *,
    answers_fn: Callable[[Sequence[Any]], Sequence[Any]] | None = None,
    state: Any = None,
    prompt_ids_fn: Callable[[Sequence[Any]], Sequence[Any]] | None = None,
    **params: Any,
) -> type:
    """A subclass of OpenRLHF's ``RemoteExperienceMaker`` (``base``) using passlens advantages.

    Its ``compute_advantages_and_returns`` replaces the rewards with the estimator's
    advantages (:func:`replace_rewards`), sets ``args.algo.advantage.estimator`` to
    :data:`SKIP_BASELINE` for the duration of OpenRLHF's own method (so no baseline branch
    fires and no whitening happens), and restores it. Start OpenRLHF with
    ``--algo.advantage.estimator dr_grpo`` so that its returns path is the cumulative one
    (γ = 1) — checked at the first call.

    Args:
      base: ``openrlhf.trainer.ppo_utils.experience_maker.RemoteExperienceMaker`` (or a subclass).
      spec: registry spec, e.g. ``"pkpo:k=8"``; ``params`` add to it.
      answers_fn: experiences → per-sample answers (concatenated in the experiences' order);
        required by ``coverage`` / ``novelty``.
      state: ``novelty``'s memory (default: a fresh one per subclass).
      prompt_ids_fn: experiences → one stable prompt id per prompt, in prompt order (``novelty``).

    Returns:
      the subclass.
    """
    name, spec_params = parse_spec(spec)
    est = REGISTRY[name]
    est.resolve({**spec_params, **params})  # bad parameters fail here, before any training
    if "answers" in est.inputs and answers_fn is None:
        raise ValueError(f"{name} needs answers: pass answers_fn=(experiences → one answer per sample)")
    if "prompt_ids" in est.inputs and prompt_ids_fn is None:
        raise ValueError(f"{name} needs a stable prompt key: pass prompt_ids_fn=(experiences → one id per prompt)")
    memory = state if state is not None else (est.new_state() if est.new_state else None)
    parent: Any = base

    def compute_advantages_and_returns(self: Any, experiences: list[Any]) -> list[Any]:
        args = self.strategy.args
        if getattr(self, "advantage_estimator", None) != "dr_grpo":
            raise ValueError(
                f"run OpenRLHF with --algo.advantage.estimator dr_grpo to use passlens {name} "
                f"(got {getattr(self, 'advantage_estimator', None)!r}: its whitening or baseline would bias the estimator)"
            )
        replace_rewards(
            experiences, spec, args.rollout.n_samples_per_prompt,
            answers=answers_fn(experiences) if answers_fn else None,
            use_logprobs="logprobs" in est.inputs, state=memory,
            prompt_ids=prompt_ids_fn(experiences) if prompt_ids_fn else None, **params,
        )
        chosen = args.algo.advantage.estimator
        args.algo.advantage.estimator = SKIP_BASELINE
        try:
            return parent.compute_advantages_and_returns(self, experiences)
        finally:
            args.algo.advantage.estimator = chosen

    return type(f"Passlens{base.__name__}", (base,), {
        "compute_advantages_and_returns": compute_advantages_and_returns,
        "passlens_spec": spec,
        "__doc__": f"{base.__name__} with passlens {spec} advantages (passlens.integrations.openrlhf).",
    })


#: Environment variable carrying the spec string to OpenRLHF's Ray workers (read by :func:`setup_hook`).
SPEC_ENV = "PASSLENS_OPENRLHF_SPEC"

_TRAINER_MODULE = "openrlhf.trainer.ppo_trainer"


def install(spec: str, **kwargs: Any) -> type:
    """Make OpenRLHF's PPO trainer build a passlens experience maker, in this process.

    Replaces ``openrlhf.trainer.ppo_trainer.RemoteExperienceMaker`` (the name its
    ``BasePPOTrainer`` — sync and async — instantiates) with
    :func:`passlens_experience_maker` of it. Idempotent: installing over an installed
    subclass wraps the original class, not the subclass.

    Args:
      spec: registry spec; ``kwargs``: as :func:`passlens_experience_maker`.

    Returns:
      the installed subclass.
    """
    import importlib

    module: Any = importlib.import_module(_TRAINER_MODULE)
    base = getattr(module.RemoteExperienceMaker, "passlens_base", module.RemoteExperienceMaker)
    cls = passlens_experience_maker(base, spec, **kwargs)
    cls.passlens_base = base  # type: ignore[attr-defined]
    module.RemoteExperienceMaker = cls
    return cls


def setup_hook() -> None:
    """Ray ``worker_process_setup_hook``: :func:`install` the spec in ``$PASSLENS_OPENRLHF_SPEC``.

    Runs in every Ray worker process at start; a no-op where the variable is unset.
    """
    spec = os.environ.get(SPEC_ENV)
    if spec:
        install(spec)


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m passlens.integrations.openrlhf --passlens-spec SPEC <openrlhf.cli.train_ppo_ray args>``.

    Starts Ray with :func:`setup_hook` as every worker's setup hook (and the spec in its
    environment, next to OpenRLHF's own defaults), then runs OpenRLHF's
    ``train_ppo_ray`` entry point with the remaining arguments. Estimators that need
    answers or prompt keys need code (``answers_fn``): write a launcher that calls
    :func:`install` in a setup hook of its own.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    spec = None
    for i, a in enumerate(args):
        if a == "--passlens-spec" and i + 1 < len(args):
            spec = args[i + 1]
            del args[i:i + 2]
            break
        if a.startswith("--passlens-spec="):
            spec = a.split("=", 1)[1]
            del args[i]
            break
    if not spec:
        raise SystemExit("usage: python -m passlens.integrations.openrlhf --passlens-spec SPEC "
                         "<openrlhf.cli.train_ppo_ray arguments, with --algo.advantage.estimator dr_grpo>")
    name, params = parse_spec(spec)  # a bad spec fails here, not inside a Ray actor
    est = REGISTRY[name]
    est.resolve(params)
    if {"answers", "prompt_ids"} & set(est.inputs):
        raise SystemExit(f"passlens: {name} needs answers_fn / prompt_ids_fn; write a launcher that calls "
                         "passlens.integrations.openrlhf.install(...) in a worker setup hook")
    import ray

    env = {SPEC_ENV: spec}
    for key, default in (("TOKENIZERS_PARALLELISM", "true"), ("NCCL_DEBUG", "WARN"),
                         ("RAY_ENABLE_ZERO_COPY_TORCH_TENSORS", "1")):  # what train_ppo_ray sets itself
        env[key] = os.environ.get(key, default)
    ray.init(runtime_env={"env_vars": env,
                          "worker_process_setup_hook": "passlens.integrations.openrlhf.setup_hook"})
    install(spec)
    sys.argv = ["openrlhf.cli.train_ppo_ray", *args]
    runpy.run_module("openrlhf.cli.train_ppo_ray", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
